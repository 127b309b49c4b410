//! `dialer backtest`: fits the callees and agents seen in a recorded trace, and simulates the
//! campaign again with another pacing setting.
//!
//! From each recorded attempt's events (times measured from its dial) it takes: the share of
//! each outcome of the callee's side (answered, no answer, busy, declined, invalid number,
//! failed, machine); empirical distributions of ringing, answer, busy/declined/invalid/failed and
//! machine times; talk times (agent answer to end); the time answered callers waited before
//! giving up (patience); agents' answer times and how often an offered agent missed the call;
//! and the largest number of agents logged in. These become a scenario file (empirical
//! distributions, at most [`MAX_SAMPLES`] values each), which is then simulated with the
//! recorded pacing and with the pacing given by `--set`.
//!
//! Pure text in, text out; the simulation itself is [`crate::runtime::simulate`].

use crate::pacing::Strategy;
use crate::replay::Recording;
use crate::switch::{CallStatus, SwitchEvent};
use std::fmt::Write as _;

/// The most values an empirical distribution keeps (evenly spaced order statistics).
pub const MAX_SAMPLES: usize = 400;

/// What was measured in the trace, in seconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fit {
    pub attempts: u64,
    pub answered: u64,
    pub no_answer: u64,
    pub busy: u64,
    pub declined: u64,
    pub invalid_number: u64,
    pub failed: u64,
    pub machine: u64,
    pub ringing_after: Vec<f64>,
    pub answer_after: Vec<f64>,
    pub busy_after: Vec<f64>,
    pub declined_after: Vec<f64>,
    pub invalid_after: Vec<f64>,
    pub failed_after: Vec<f64>,
    pub machine_after: Vec<f64>,
    pub machine_detect: Vec<f64>,
    pub talk: Vec<f64>,
    pub patience: Vec<f64>,
    pub agent_answer_after: Vec<f64>,
    pub offers: u64,
    pub agent_misses: u64,
    pub agents: u32,
}

/// Fits callees and agents from a recording; outcomes come from the recorded `outcome` records.
pub fn fit(recording: &Recording) -> Fit {
    let mut fit = Fit::default();
    for (_, notice) in &recording.notices {
        if let crate::switch::SwitchNotice::AgentsLoggedIn { count } = notice {
            fit.agents = fit.agents.max(*count);
        }
    }
    for (attempt, recorded) in &recording.attempts {
        let Some(outcome) = recording.outcomes.get(attempt) else {
            continue;
        };
        fit.attempts += 1;
        let since = |t_us: u64| t_us.saturating_sub(recorded.dialed_at_us) as f64 / 1e6;
        let mut first: [Option<f64>; 8] = [None; 8];
        let mut connects = Vec::new();
        let mut dequeued_at = None;
        let mut end = None;
        for (t_us, event) in &recorded.events {
            let SwitchEvent::State(note) = event else {
                continue;
            };
            let at = since(*t_us);
            let slot = &mut first[note.state as usize];
            slot.get_or_insert(at);
            match note.state {
                CallStatus::Connected => connects.push(at),
                CallStatus::Dequeued => {
                    fit.offers += 1;
                    dequeued_at = Some(at);
                }
                CallStatus::Terminated => {
                    end.get_or_insert(at);
                    if dequeued_at.is_some() && connects.len() < 2 {
                        fit.agent_misses += 1;
                    }
                }
                _ => {}
            }
        }
        if let Some(ringing) = first[CallStatus::Ringing as usize] {
            fit.ringing_after.push(ringing);
        }
        let end = end.unwrap_or(0.0);
        match outcome.as_str() {
            "no_answer" => fit.no_answer += 1,
            "busy" => {
                fit.busy += 1;
                fit.busy_after.push(end);
            }
            "declined" => {
                fit.declined += 1;
                fit.declined_after.push(end);
            }
            "invalid_number" => {
                fit.invalid_number += 1;
                fit.invalid_after.push(end);
            }
            "failed" => {
                fit.failed += 1;
                fit.failed_after.push(end);
            }
            "machine" => {
                fit.machine += 1;
                if let Some(answer) = connects.first() {
                    fit.machine_after.push(*answer);
                    fit.machine_detect.push((end - answer).max(0.0));
                }
            }
            _ => {
                fit.answered += 1;
                let answer = connects.first().copied();
                if let Some(answer) = answer {
                    fit.answer_after.push(answer);
                }
                if let (Some(agent), Some(offered)) = (connects.get(1), dequeued_at) {
                    fit.agent_answer_after.push((agent - offered).max(0.0));
                }
                match (outcome.as_str(), answer, connects.get(1)) {
                    ("completed", _, Some(agent)) => fit.talk.push((end - agent).max(0.0)),
                    ("abandoned_in_queue", Some(answer), _) => {
                        fit.patience.push((end - answer).max(0.0))
                    }
                    _ => {}
                }
            }
        }
    }
    fit
}

/// Evenly spaced order statistics of `values`, at most [`MAX_SAMPLES`], as a TOML list.
fn empirical(values: &[f64], fallback: &str) -> String {
    if values.is_empty() {
        return format!("\"{fallback}\"");
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let keep = sorted.len().min(MAX_SAMPLES);
    let picked: Vec<String> = (0..keep)
        .map(|i| {
            let index = if keep == 1 {
                0
            } else {
                i * (sorted.len() - 1) / (keep - 1)
            };
            format!("\"{:.3}s\"", sorted[index].max(0.001))
        })
        .collect();
    format!("{{ empirical = [{}] }}", picked.join(", "))
}

fn share(count: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        count as f64 / total as f64
    }
}

/// The fitted world as a scenario file. `pacing` and `ring_timeout_secs` describe the engine as
/// recorded; `assumed_wrap_up_secs` stands for agents' wrap-up, which events do not show.
pub fn scenario_text(
    fit: &Fit,
    name: &str,
    pacing: Strategy,
    ring_timeout_secs: f64,
    assumed_wrap_up_secs: f64,
) -> String {
    let total = fit.attempts.max(1);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Fitted by `dialer backtest` from {} recorded attempts.\n",
        fit.attempts
    );
    let _ = writeln!(
        text,
        "[scenario]\nname = \"{name}\"\ndescription = \"fitted from a recorded trace\"\nseed = 1\n"
    );
    let misses = share(fit.agent_misses, fit.offers).min(0.95);
    let _ = writeln!(
        text,
        "[agents]\ncount = {}\nanswer_after = {}\nwrap_up = \"{:.3}s\"\nno_answer = {:.4}\n",
        fit.agents.max(1),
        empirical(&fit.agent_answer_after, "0s"),
        assumed_wrap_up_secs,
        misses
    );
    let _ = writeln!(
        text,
        "[callees]\nringing_after = {}\npatience = {}\ntalk = {}",
        empirical(&fit.ringing_after, "0s"),
        if fit.patience.len() >= 5 {
            empirical(&fit.patience, "60s")
        } else {
            "{ exponential = \"60s\" }".to_string()
        },
        empirical(&fit.talk, "60s"),
    );
    let timed = |label: &str, count: u64, values: &[f64]| {
        if count == 0 {
            String::new()
        } else {
            format!(
                "{label} = {{ probability = {:.9}, after = {} }}\n",
                share(count, total),
                empirical(values, "1s")
            )
        }
    };
    let mut outcomes = String::new();
    outcomes += &timed("answer", fit.answered, &fit.answer_after);
    if fit.no_answer > 0 {
        outcomes += &format!(
            "no_answer = {{ probability = {:.9} }}\n",
            share(fit.no_answer, total)
        );
    }
    outcomes += &timed("busy", fit.busy, &fit.busy_after);
    outcomes += &timed("declined", fit.declined, &fit.declined_after);
    outcomes += &timed("invalid_number", fit.invalid_number, &fit.invalid_after);
    outcomes += &timed("failed", fit.failed, &fit.failed_after);
    if fit.machine > 0 {
        outcomes += &format!(
            "machine = {{ probability = {:.9}, after = {}, detect = {} }}\n",
            share(fit.machine, total),
            empirical(&fit.machine_after, "5s"),
            empirical(&fit.machine_detect, "2s")
        );
    }
    if outcomes.is_empty() {
        outcomes = "no_answer = { probability = 1.0 }\n".into();
    }
    text += &outcomes;
    // A recorded ring timeout under the regulatory floor was allowed where it was recorded.
    let short = if ring_timeout_secs < 15.0 {
        "allow_short_ring_timeout = true\n"
    } else {
        ""
    };
    let _ = writeln!(
        text,
        "\n[dialing]\nring_timeout = \"{ring_timeout_secs:.3}s\"\n{short}\n[leads]\ncount = {}\n",
        fit.attempts.max(1)
    );
    let _ = writeln!(text, "[pacing]\nstrategy = \"{}\"", pacing.name());
    match pacing {
        Strategy::Power { ratio } => {
            let _ = writeln!(text, "ratio = {ratio}");
        }
        Strategy::Rate { per_minute } => {
            let _ = writeln!(text, "rate_per_minute = {per_minute}");
        }
        Strategy::Preview { preview_seconds } => {
            let _ = writeln!(text, "preview_time = \"{preview_seconds}s\"");
        }
        Strategy::Progressive | Strategy::AdaptiveRatio(_) | Strategy::Predictive(_) => {}
    }
    let _ = writeln!(text, "assumed_wrap_up = \"{assumed_wrap_up_secs:.3}s\"");
    match pacing {
        Strategy::AdaptiveRatio(adaptive) => {
            let _ = writeln!(
                text,
                "\n[pacing.adaptive]\nvariant = \"{}\"\ninitial_level = {}\nmaximum_level = {}\ndropped_percent = {}\nintensity = {}\ndiff_target = {}\nlatest_server_time = {}\nplacement_interval = \"{}s\"\navailable_only_tally = {}\nlevel_threshold_agents = {}",
                adaptive.variant.as_str(),
                adaptive.initial_level,
                adaptive.maximum_level,
                adaptive.dropped_percentage,
                adaptive.intensity,
                adaptive.diff_target,
                adaptive.latest_server_time,
                adaptive.placement_interval,
                adaptive.available_only_tally,
                adaptive.level_threshold_agents,
            );
        }
        Strategy::Predictive(predictive) => {
            let _ = writeln!(
                text,
                "\n[pacing.predictive]\ncriterion = \"{}\"\naggressiveness = {}\nmin_dial_outcomes = {}\nmin_live_answers = {}\nmin_talks = {}\nstep = \"{}s\"\nmax_dials_per_decision = {}",
                predictive.criterion.as_str(),
                predictive.aggressiveness,
                predictive.min_dial_outcomes,
                predictive.min_live_answers,
                predictive.min_talks,
                predictive.step_seconds,
                predictive.max_dials_per_decision,
            );
        }
        _ => {}
    }
    text
}
