//! `dialer backtest`: fits the callees and agents seen in a recorded trace, and simulates the
//! campaign again with another pacing setting.
//!
//! From each recorded attempt's events (times measured from its dial) it takes: the share of
//! each outcome of the callee's side (answered, no answer, busy, declined, invalid number,
//! failed, machine); empirical distributions of ringing, answer, busy/declined/invalid/failed and
//! machine times; the time from answer to the call queue; talk times (agent answer to end); the
//! time answered callers waited before giving up (patience); agents' answer times and how often
//! an offered agent missed the call; and how many agents were logged in, when. These become a
//! scenario file (empirical distributions, at most [`MAX_SAMPLES`] values each; the agents'
//! count as a timeline), which is then simulated with the recorded pacing and with the pacing
//! given by `--set`.
//!
//! "The recorded pacing" is the whole of the recorded engine's setup, not its strategy alone:
//! the queue guard, the abandon accounting and its guard, the dial limits, the tick, the
//! strategy changes, the redial rules, the watchdog grace and reconciliation with the
//! active-call list go into the scenario too. The leads are the distinct numbers the trace
//! dialed, and the day ends at the campaign's `dial_until`, or else at the trace's last dial.
//! Without these the two runs would differ from the recording, and a default that the recording
//! did not have (the abandon guard) can hold both to progressive and hide what the proposed
//! setting does. Calling hours and time zones are not carried.
//!
//! Pure text in, text out; the simulation itself is [`crate::runtime::simulate`].

use crate::campaign::hopper::{RedialPolicy, RedialRule};
use crate::campaign::supervisor::CampaignSetup;
use crate::pacing::Strategy;
use crate::replay::Recording;
use crate::switch::{CallStatus, SwitchEvent, SwitchNotice};
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
    /// From the callee's answer until the call entered the queue.
    pub queue_entry_after: Vec<f64>,
    pub offers: u64,
    pub agent_misses: u64,
    /// The largest number of agents logged in.
    pub agents: u32,
    /// Agents logged in, as recorded: (seconds from the start, count), in time order.
    pub agents_logged_in: Vec<(f64, u32)>,
    /// Distinct numbers dialed: the leads the recorded run reached.
    pub leads: u64,
    /// When the recorded run placed its last dial, in seconds from the start.
    pub last_dial: f64,
}

/// Fits callees and agents from a recording; outcomes come from the recorded `outcome` records.
pub fn fit(recording: &Recording) -> Fit {
    let mut fit = Fit::default();
    for (t_us, notice) in &recording.notices {
        if let SwitchNotice::AgentsLoggedIn { count } = notice {
            fit.agents = fit.agents.max(*count);
            fit.agents_logged_in.push((*t_us as f64 / 1e6, *count));
        }
    }
    let numbers: std::collections::BTreeSet<&str> = recording
        .attempts
        .values()
        .map(|recorded| recorded.callee.as_str())
        .collect();
    fit.leads = numbers.len() as u64;
    fit.last_dial = recording
        .attempts
        .values()
        .map(|recorded| recorded.dialed_at_us)
        .max()
        .map_or(0.0, |t_us| t_us as f64 / 1e6);
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
                if let (Some(answer), Some(queued)) = (answer, first[CallStatus::Queued as usize]) {
                    fit.queue_entry_after.push((queued - answer).max(0.0));
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

/// The fitted world as a scenario file, dialed by the engine as `engine` (the recorded
/// campaign's setup) sets it up: its ring timeout, its assumed wrap-up (which stands for agents'
/// wrap-up, since events do not show it) and the whole of its pacing (see the module's doc).
pub fn scenario_text(fit: &Fit, name: &str, engine: &CampaignSetup) -> String {
    let total = fit.attempts.max(1);
    let assumed_wrap_up_secs = engine.assumed_wrap_up.as_secs_f64();
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
    let first_count = fit
        .agents_logged_in
        .first()
        .map_or(fit.agents, |&(_, count)| count);
    let _ = writeln!(
        text,
        "[agents]\ncount = {}\nanswer_after = {}\nwrap_up = \"{:.3}s\"\nno_answer = {:.4}\n",
        first_count.max(1),
        empirical(&fit.agent_answer_after, "0s"),
        assumed_wrap_up_secs,
        misses
    );
    let entry_delay = if fit.queue_entry_after.iter().all(|&value| value < 0.0005) {
        "\"0s\"".to_string()
    } else {
        empirical(&fit.queue_entry_after, "0s")
    };
    let _ = writeln!(text, "[queue]\nentry_delay = {entry_delay}\n");
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
    let ring_timeout_secs = engine.call_settings.ring_timeout.as_secs_f64();
    // A recorded ring timeout under the regulatory floor was allowed where it was recorded.
    let short = if ring_timeout_secs < 15.0 {
        "allow_short_ring_timeout = true\n"
    } else {
        ""
    };
    let limits = engine.pacing.limits;
    let mut limit_lines = String::new();
    if let Some(per_agent) = limits.max_lines_per_agent {
        let _ = writeln!(limit_lines, "max_lines_per_agent = {per_agent}");
    }
    if let Some(per_second) = limits.max_calls_per_second {
        let _ = writeln!(limit_lines, "max_calls_per_second = {per_second}");
    }
    // The same dialing day: the campaign's own end, or else the recorded run's last dial (a
    // run stopped by hand, or at its deadline, dialed no later).
    let dial_until = engine
        .dial_until
        .map_or(fit.last_dial + 1e-6, |until| until.as_secs_f64());
    if let Some(max_attempts) = engine.max_attempts {
        let _ = writeln!(limit_lines, "max_attempts = {max_attempts}");
    }
    let _ = writeln!(
        text,
        "\n[dialing]\nring_timeout = \"{ring_timeout_secs:.3}s\"\nwatchdog_grace = \"{}s\"\ndial_until = \"{dial_until:.6}s\"\n{short}{limit_lines}\n[leads]\ncount = {}\n",
        engine.call_settings.dial_watchdog_grace.as_secs_f64(),
        fit.leads.max(1)
    );
    write_redial(&mut text, &engine.redial);
    write_reconcile(&mut text, engine);
    write_pacing(&mut text, engine, assumed_wrap_up_secs);
    write_agents_timeline(&mut text, &fit.agents_logged_in);
    text
}

/// `[redial]` as the recorded campaign redialed its leads.
fn write_redial(text: &mut String, redial: &RedialPolicy) {
    let rules = [
        ("no_answer", redial.no_answer),
        ("busy", redial.busy),
        ("machine", redial.machine),
        ("abandoned", redial.abandoned),
        ("unknown", redial.unknown),
    ];
    for (name, rule) in rules {
        if rule != RedialRule::NEVER {
            let _ = writeln!(
                text,
                "[redial.{name}]\ndelay = \"{}s\"\nmax_attempts = {}\n",
                rule.delay.as_secs_f64(),
                rule.max_attempts
            );
        }
    }
    let mut limits = String::new();
    if let Some(max) = redial.max_attempts {
        let _ = writeln!(limits, "max_attempts = {max}");
    }
    if let Some(max) = redial.max_per_day {
        let _ = writeln!(limits, "max_per_day = {max}");
    }
    if let Some(lockout) = redial.abandon_lockout {
        let _ = writeln!(limits, "abandon_lockout = \"{}s\"", lockout.as_secs_f64());
    }
    if !limits.is_empty() {
        let _ = writeln!(text, "[redial]\n{limits}");
    }
}

/// `[reconcile]` as the recorded engine asked for the active-call list: how long a call the
/// switch reported "terminated" after an agent missed it is held as suspect, and so counted busy
/// by pacing, depends on it.
fn write_reconcile(text: &mut String, engine: &CampaignSetup) {
    let reconcile = &engine.reconcile;
    let _ = writeln!(text, "[reconcile]");
    if let Some(interval) = reconcile.interval {
        let _ = writeln!(text, "interval = \"{}s\"", interval.as_secs_f64());
    }
    let _ = writeln!(
        text,
        "suspect_interval = \"{}s\"\nvanish_after = {}\nsuspect_timeout = \"{}s\"\n",
        reconcile.suspect_interval.as_secs_f64(),
        reconcile.vanish_after,
        engine.call_settings.suspect_timeout.as_secs_f64(),
    );
}

/// `[pacing]` with everything the recorded engine paced by.
fn write_pacing(text: &mut String, engine: &CampaignSetup, assumed_wrap_up_secs: f64) {
    let pacing = &engine.pacing;
    let _ = writeln!(text, "[pacing]");
    write_strategy_keys(text, pacing.strategy);
    let _ = writeln!(text, "assumed_wrap_up = \"{assumed_wrap_up_secs:.3}s\"");
    if let Some(tick) = pacing.tick {
        let _ = writeln!(text, "tick = \"{}s\"", tick.as_secs_f64());
    }
    write_strategy_tables(text, "pacing", pacing.strategy);
    if let Some(guard) = pacing.queue_guard {
        let _ = writeln!(
            text,
            "\n[pacing.queue_guard]\npause_at = {}\nresume_at = {}",
            guard.pause_at, guard.resume_at
        );
    }
    let abandon = &engine.abandon;
    let _ = writeln!(
        text,
        "\n[pacing.abandon]\nthreshold = \"{}s\"\ndenominator = \"{}\"\ncap_percent = {}\ntarget_percent = {}\nwindow = \"{}\"\nguard = {}\nspend_horizon = \"{}s\"",
        abandon.threshold.as_secs_f64(),
        abandon.denominator.as_str(),
        abandon.cap * 100.0,
        abandon.target * 100.0,
        abandon.window.as_str(),
        pacing.abandon_guard,
        abandon.spend_horizon.as_secs_f64(),
    );
    for (at, strategy) in &engine.pacing_changes {
        let _ = writeln!(text, "\n[[pacing.changes]]\nat = \"{}s\"", at.as_secs_f64());
        write_strategy_keys(text, *strategy);
        write_strategy_tables(text, "pacing.changes", *strategy);
    }
}

/// `strategy = ...` and the strategy's own keys.
fn write_strategy_keys(text: &mut String, strategy: Strategy) {
    let _ = writeln!(text, "strategy = \"{}\"", strategy.name());
    match strategy {
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
}

/// The strategy's settings table, under `table` (`pacing`, or the last `pacing.changes`).
fn write_strategy_tables(text: &mut String, table: &str, strategy: Strategy) {
    match strategy {
        Strategy::AdaptiveRatio(adaptive) => {
            let _ = writeln!(
                text,
                "\n[{table}.adaptive]\nvariant = \"{}\"\ninitial_level = {}\nmaximum_level = {}\ndropped_percent = {}\nintensity = {}\ndiff_target = {}\nlatest_server_time = {}\nplacement_interval = \"{}s\"\navailable_only_tally = {}\nlevel_threshold_agents = {}",
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
                "\n[{table}.predictive]\ncriterion = \"{}\"\naggressiveness = {}\nmin_dial_outcomes = {}\nmin_live_answers = {}\nmin_talks = {}\nstep = \"{}s\"\nmax_dials_per_decision = {}",
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
}

/// The recorded changes of the agents' count, as `[[timeline]]` entries after the first count.
fn write_agents_timeline(text: &mut String, logged_in: &[(f64, u32)]) {
    let Some(&(_, mut current)) = logged_in.first() else {
        return;
    };
    for &(at, count) in &logged_in[1..] {
        if count == current {
            continue;
        }
        current = count;
        let _ = writeln!(
            text,
            "\n[[timeline]]\nat = \"{at:.6}s\"\nset_agents = {count}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Scenario, TimelineAction};
    use crate::time::{SimDuration, SimTime};

    /// A campaign that uses every pacing setting the backtest must carry over.
    const RECORDED: &str = r#"
[scenario]
name = "recorded"

[agents]
count = 8

[callees]
patience = "30s"
talk = "2m"
answer = { probability = 0.5, after = "5s" }
no_answer = { probability = 0.5 }

[dialing]
ring_timeout = "12s"
watchdog_grace = "4s"
allow_short_ring_timeout = true
dial_until = "3h"
max_attempts = 900
max_lines_per_agent = 2.5
max_calls_per_second = 4

[leads]
count = 400

[redial]
max_attempts = 4
max_per_day = 2
abandon_lockout = "72h"

[redial.no_answer]
delay = "30m"
max_attempts = 3

[redial.machine]
delay = "2h"
max_attempts = 2

[reconcile]
interval = "3s"
suspect_interval = "1s"
vanish_after = 3
suspect_timeout = "2m"

[pacing]
strategy = "adaptive_ratio"
tick = "2s"
assumed_wrap_up = "20s"

[pacing.adaptive]
variant = "hard_limit"
maximum_level = 3.5

[pacing.queue_guard]
pause_at = 6
resume_at = 2

[pacing.abandon]
threshold = "3s"
denominator = "reached_queue"
cap_percent = 5
target_percent = 4
window = "rolling_24h"
guard = false
spend_horizon = "10m"

[[pacing.changes]]
at = "01:00"
strategy = "power"
ratio = 1.7

[[pacing.changes]]
at = "02:00"
strategy = "predictive"

[pacing.changes.predictive]
aggressiveness = 1.2
"#;

    fn fit() -> Fit {
        Fit {
            attempts: 10,
            answered: 5,
            no_answer: 5,
            answer_after: vec![4.0, 6.0],
            talk: vec![100.0, 140.0],
            queue_entry_after: vec![0.5, 1.5],
            agents: 8,
            agents_logged_in: vec![(0.0, 8), (1800.0, 8), (3600.5, 5), (5400.0, 8)],
            leads: 7,
            last_dial: 9000.0,
            ..Fit::default()
        }
    }

    #[test]
    fn the_fitted_scenario_paces_as_the_recorded_campaign_did() {
        let recorded = Scenario::from_toml("recorded.toml", RECORDED, &[]).unwrap();
        let engine = recorded.campaign_setup(1);
        let text = scenario_text(&fit(), "backtest", &engine);
        let fitted =
            Scenario::from_toml("(fitted)", &text, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let again = fitted.campaign_setup(1);
        assert_eq!(again.pacing.strategy, engine.pacing.strategy);
        assert_eq!(again.pacing.queue_guard, engine.pacing.queue_guard);
        assert_eq!(again.pacing.tick, engine.pacing.tick);
        assert_eq!(again.pacing.limits, engine.pacing.limits);
        assert!(!again.pacing.abandon_guard);
        assert_eq!(again.abandon, engine.abandon);
        assert_eq!(again.pacing_changes, engine.pacing_changes);
        assert_eq!(again.redial, engine.redial);
        assert_eq!(again.dial_until, Some(SimTime::from_secs(3 * 3600)));
        assert_eq!(again.max_attempts, Some(900));
        assert_eq!(again.assumed_wrap_up, SimDuration::from_secs(20));
        assert_eq!(again.call_settings, engine.call_settings);
        assert_eq!(again.call_settings.ring_timeout, SimDuration::from_secs(12));
        assert_eq!(again.reconcile, engine.reconcile);
        assert_eq!(again.reconcile.interval, Some(SimDuration::from_secs(3)));
        // The world: the recorded numbers as leads, the agents' count as it went.
        assert_eq!(fitted.leads.count, Some(7));
        assert_eq!(fitted.agents.count, 8);
        let timeline: Vec<(SimTime, TimelineAction)> = fitted
            .timeline
            .iter()
            .map(|event| (event.at, event.action))
            .collect();
        assert_eq!(
            timeline,
            [
                (SimTime(3_600_500_000), TimelineAction::SetAgents(5)),
                (SimTime::from_secs(5400), TimelineAction::SetAgents(8)),
            ]
        );
    }

    #[test]
    fn without_an_end_of_its_own_the_fitted_day_ends_at_the_last_recorded_dial() {
        let recorded = Scenario::from_toml(
            "recorded.toml",
            &RECORDED.replace("dial_until = \"3h\"\n", ""),
            &[],
        )
        .unwrap();
        let engine = recorded.campaign_setup(1);
        assert_eq!(engine.dial_until, None);
        let text = scenario_text(&fit(), "backtest", &engine);
        let fitted =
            Scenario::from_toml("(fitted)", &text, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(
            fitted.campaign_setup(1).dial_until,
            Some(SimTime(9_000_000_001))
        );
    }
}
