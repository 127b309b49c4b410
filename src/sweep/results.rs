//! A sweep's results: the metrics of each run, the results file, CSV and the table.
//!
//! The results file (JSON) holds the spec, every finished run and, when complete, the summary.
//! It is what `--json` writes, what `--shard` jobs leave behind, what `dialer merge` combines
//! and what `--resume` continues from. Files are merged only when their specs are identical, and
//! no (setting, seed) may appear twice or be missing, so a merged sweep is exactly the sweep run
//! in one go.
//!
//! Formatting and bookkeeping only; runs happen in [`super::run`].

use super::summary::{Estimate, SettingSummary, SweepSummary, summarise};
use super::{Constraints, Shard, SweepSpec, View, format_value};
use crate::report::RunReport;
use crate::runtime::SimulationRun;
use crate::scenario::Scenario;
use crate::stats::Tally;
use crate::time::SimDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

/// The results file's format tag.
pub const FORMAT: &str = "dialer-sweep/1";

/// What one run measured (the engine's view: what the campaign's own statistics will show).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Talk time over logged-in agent time.
    pub occupancy: f64,
    /// Answered persons not connected to an agent within the compliance wait, over answered.
    pub compliance_abandon: f64,
    /// Answered persons who never reached an agent, over answered.
    pub true_abandon: f64,
    /// Connected calls per logged-in agent-hour.
    pub contacts_per_agent_hour: f64,
    /// 90th percentile of the wait from answer to agent, over connected calls.
    pub wait_p90_ms: f64,
    /// When the list was worked through (`None` if the run ended with leads left).
    pub exhausted_after_s: Option<f64>,
    pub answered: u64,
    pub compliance_abandoned: u64,
    pub abandoned: u64,
}

impl RunMetrics {
    pub fn from_run(
        scenario: &Scenario,
        seed: u64,
        run: &SimulationRun,
        constraints: &Constraints,
    ) -> RunMetrics {
        let report = RunReport::build(scenario, seed, run);
        let wait = SimDuration::from_secs_f64(constraints.compliance_wait_s);
        let end = run.outcome.ended_at;
        let (rates, late) = match (constraints.view, &run.outcome.engine) {
            (View::Engine, Some(engine)) => (
                engine.tally.summary(engine.agent_time.until(end)),
                engine.tally.connected_after(wait),
            ),
            (View::Engine, None) => (Tally::new().summary(SimDuration::ZERO), 0),
            (View::Truth, _) => {
                let truth = &run.outcome.truth;
                (
                    truth.tally.summary(truth.agent_time.until(end)),
                    truth.tally.connected_after(wait),
                )
            }
        };
        let compliance_abandoned = rates.abandoned + late;
        let agent_hours = rates.agent_seconds / 3600.0;
        let leads = &report.leads;
        let exhausted = leads.never_dialed == Some(0)
            && leads.awaiting_redial == 0
            && leads.dialing == 0
            && report.campaign_seconds.is_some();
        RunMetrics {
            occupancy: rates.agent_occupancy,
            compliance_abandon: ratio(compliance_abandoned, rates.answered),
            true_abandon: rates.abandon_rate,
            contacts_per_agent_hour: if agent_hours > 0.0 {
                rates.connected as f64 / agent_hours
            } else {
                0.0
            },
            wait_p90_ms: rates.wait_ms.p90 as f64,
            exhausted_after_s: if exhausted {
                report.campaign_seconds
            } else {
                None
            },
            answered: rates.answered,
            compliance_abandoned,
            abandoned: rates.abandoned,
        }
    }
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// One finished job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    pub setting: usize,
    pub seed: u64,
    pub metrics: RunMetrics,
}

/// The results file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultsFile {
    pub format: String,
    pub spec: SweepSpec,
    /// The part of the jobs this file covers, if it came from a shard.
    pub shard: Option<Shard>,
    /// True when every job of the spec is in `runs`.
    pub complete: bool,
    /// Finished runs, ordered by (setting, seed).
    pub runs: Vec<JobResult>,
    /// Present when complete.
    pub summary: Option<SweepSummary>,
}

/// Why results cannot be read or combined.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a sweep results file: {reason}")]
    Format { path: String, reason: String },
    #[error("{path} comes from a different sweep ({what} differs) than {first}")]
    Mismatch {
        path: String,
        first: String,
        what: &'static str,
    },
    #[error("setting {setting}, seed {seed} appears twice ({path})")]
    Duplicate {
        setting: usize,
        seed: u64,
        path: String,
    },
    #[error("no results files given")]
    Nothing,
}

impl ResultsFile {
    pub fn new(spec: SweepSpec, shard: Option<Shard>, mut runs: Vec<JobResult>) -> ResultsFile {
        runs.sort_by_key(|run| (run.setting, run.seed));
        let complete = runs.len() == spec.job_count();
        let summary = complete.then(|| summarise(&spec, &runs));
        ResultsFile {
            format: FORMAT.to_string(),
            spec,
            shard,
            complete,
            runs,
            summary,
        }
    }

    /// (setting, seed) of every finished run.
    pub fn done(&self) -> BTreeSet<(usize, u64)> {
        self.runs
            .iter()
            .map(|run| (run.setting, run.seed))
            .collect()
    }

    pub fn load(path: &Path) -> Result<ResultsFile, ResultsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ResultsError::Read {
            path: shown.clone(),
            source,
        })?;
        let file: ResultsFile =
            serde_json::from_str(&text).map_err(|error| ResultsError::Format {
                path: shown.clone(),
                reason: error.to_string(),
            })?;
        if file.format != FORMAT {
            return Err(ResultsError::Format {
                path: shown,
                reason: format!("format {:?}, expected {FORMAT:?}", file.format),
            });
        }
        let jobs = file.spec.setting_count();
        if let Some(bad) = file
            .runs
            .iter()
            .find(|run| run.setting >= jobs || run.seed < file.spec.first_seed)
        {
            return Err(ResultsError::Format {
                path: shown,
                reason: format!(
                    "run (setting {}, seed {}) is outside the sweep",
                    bad.setting, bad.seed
                ),
            });
        }
        Ok(file)
    }

    /// Combines shard or partial files of one sweep into one.
    pub fn merge(files: Vec<(String, ResultsFile)>) -> Result<ResultsFile, ResultsError> {
        let mut files = files.into_iter();
        let (first_path, first) = files.next().ok_or(ResultsError::Nothing)?;
        let spec = first.spec.clone();
        let mut seen = first.done();
        let mut runs = first.runs;
        for (path, file) in files {
            if let Some(what) = spec_difference(&spec, &file.spec) {
                return Err(ResultsError::Mismatch {
                    path,
                    first: first_path,
                    what,
                });
            }
            for run in file.runs {
                if !seen.insert((run.setting, run.seed)) {
                    return Err(ResultsError::Duplicate {
                        setting: run.setting,
                        seed: run.seed,
                        path,
                    });
                }
                runs.push(run);
            }
        }
        Ok(ResultsFile::new(spec, None, runs))
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// One row per setting, with every estimate and the verdicts.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let Some(summary) = &self.summary else {
            return out;
        };
        for axis in &self.spec.axes {
            let _ = write!(out, "{},", axis.key);
        }
        out.push_str(
            "runs,occupancy_mean,occupancy_ci95,compliance_abandon_mean,compliance_abandon_ci95,\
             true_abandon_mean,true_abandon_ci95,contacts_per_agent_hour_mean,\
             contacts_per_agent_hour_ci95,wait_p90_ms_mean,wait_p90_ms_ci95,exhausted_runs,\
             exhausted_after_s_mean,exhausted_after_s_ci95,breach_probability,feasible,\
             on_frontier,recommended\n",
        );
        for setting in &summary.settings {
            for value in &setting.setting.values {
                let _ = write!(out, "{},", format_value(*value));
            }
            let estimate = |e: Estimate| format!("{},{}", e.mean, e.ci95);
            let exhausted = setting
                .exhausted_after_s
                .map_or_else(|| ",".to_string(), estimate);
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                setting.runs,
                estimate(setting.occupancy),
                estimate(setting.compliance_abandon),
                estimate(setting.true_abandon),
                estimate(setting.contacts_per_agent_hour),
                estimate(setting.wait_p90_ms),
                setting.exhausted_runs,
                exhausted,
                setting.breach_probability,
                setting.feasible,
                setting.on_frontier,
                summary.recommended == Some(setting.index),
            );
        }
        out
    }

    /// The readable table, with the recommendation.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let spec = &self.spec;
        let Some(summary) = &self.summary else {
            let _ = writeln!(
                out,
                "sweep of {}: {} of {} runs finished (incomplete; no summary)",
                spec.scenario,
                self.runs.len(),
                spec.job_count()
            );
            return out;
        };
        let cap = spec.constraints.abandon_cap * 100.0;
        let _ = writeln!(
            out,
            "sweep of {} ({}): {} settings x {} seeds (seeds {}..={}), mean ± 95% CI",
            spec.scenario,
            spec.scenario_file,
            spec.setting_count(),
            spec.seeds,
            spec.first_seed,
            spec.first_seed + spec.seeds - 1
        );
        let _ = writeln!(
            out,
            "{}; compliance abandon: not connected within {} s of answer; P(breach): chance a 30-day window exceeds {cap}%\n",
            match spec.constraints.view {
                View::Engine => "the dialer's view",
                View::Truth => "the simulator's ground truth",
            },
            spec.constraints.compliance_wait_s
        );
        let width = spec
            .axes
            .iter()
            .map(|axis| axis.key.len().max(8))
            .collect::<Vec<_>>();
        for (axis, width) in spec.axes.iter().zip(&width) {
            let _ = write!(out, "{:>width$} ", axis.key);
        }
        let show_exhaust = summary.settings.iter().any(|s| s.exhausted_runs > 0);
        let _ = write!(
            out,
            "{:>15} {:>15} {:>15} {:>12} {:>13} ",
            "occupancy %", "compl. aband. %", "true aband. %", "contacts/ah", "wait p90 s"
        );
        if show_exhaust {
            let _ = write!(out, "{:>16} ", "list done h");
        }
        let _ = writeln!(out, "{:>9}  ", "P(breach)");
        for setting in &summary.settings {
            for (value, width) in setting.setting.values.iter().zip(&width) {
                let _ = write!(out, "{:>width$} ", format_value(*value));
            }
            let percent = |e: Estimate| format!("{:.2} ± {:.2}", e.mean * 100.0, e.ci95 * 100.0);
            let _ = write!(
                out,
                "{:>15} {:>15} {:>15} {:>12} {:>13} ",
                percent(setting.occupancy),
                percent(setting.compliance_abandon),
                percent(setting.true_abandon),
                format!(
                    "{:.2} ± {:.2}",
                    setting.contacts_per_agent_hour.mean, setting.contacts_per_agent_hour.ci95
                ),
                format!(
                    "{:.1} ± {:.1}",
                    setting.wait_p90_ms.mean / 1000.0,
                    setting.wait_p90_ms.ci95 / 1000.0
                ),
            );
            if show_exhaust {
                let _ = write!(out, "{:>16} ", describe_exhausted(setting));
            }
            let _ = write!(out, "{:>9.3}  ", setting.breach_probability);
            let mut marks = Vec::new();
            if summary.recommended == Some(setting.index) {
                marks.push("RECOMMENDED");
            }
            if setting.on_frontier {
                marks.push("frontier");
            }
            if !setting.feasible {
                marks.push("breach risk");
            }
            let _ = writeln!(out, "{}", marks.join(", "));
        }
        if show_exhaust {
            let _ = writeln!(
                out,
                "\nlist done h: hours until every lead was worked, over the runs that got there (n/N)"
            );
        }
        let _ = writeln!(out);
        match summary.recommended {
            Some(index) => {
                let best = &summary.settings[summary
                    .settings
                    .iter()
                    .position(|s| s.index == index)
                    .unwrap_or(0)];
                let _ = writeln!(
                    out,
                    "recommended: {} (occupancy {:.2}% ± {:.2}, compliance abandon {:.2}% ± {:.2}, P(breach {cap}% over 30 days) = {:.3} <= {})",
                    spec.describe(&best.setting),
                    best.occupancy.mean * 100.0,
                    best.occupancy.ci95 * 100.0,
                    best.compliance_abandon.mean * 100.0,
                    best.compliance_abandon.ci95 * 100.0,
                    best.breach_probability,
                    spec.constraints.max_breach_probability
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "recommended: none: every setting's chance of breaching {cap}% over 30 days exceeds {}",
                    spec.constraints.max_breach_probability
                );
            }
        }
        out
    }
}

fn describe_exhausted(setting: &SettingSummary) -> String {
    match setting.exhausted_after_s {
        Some(estimate) if setting.exhausted_runs == setting.runs => format!(
            "{:.2} ± {:.2}",
            estimate.mean / 3600.0,
            estimate.ci95 / 3600.0
        ),
        Some(estimate) => format!(
            "{:.2} ({}/{})",
            estimate.mean / 3600.0,
            setting.exhausted_runs,
            setting.runs
        ),
        None => "-".to_string(),
    }
}

/// Which part of two specs differs, if any.
fn spec_difference(a: &SweepSpec, b: &SweepSpec) -> Option<&'static str> {
    if a.scenario_hash != b.scenario_hash || a.fixed != b.fixed {
        Some("the scenario")
    } else if a.axes != b.axes {
        Some("the grid")
    } else if a.first_seed != b.first_seed || a.seeds != b.seeds {
        Some("the seeds")
    } else if a.constraints != b.constraints {
        Some("the constraints")
    } else {
        None
    }
}
