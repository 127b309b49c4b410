//! Parameter sweeps: one scenario run over a grid of settings, each with the same seeds.
//!
//! A strategist asks "which setting maximises occupancy while the chance of breaching 3% abandon
//! stays under 5%?". A sweep answers with numbers: every combination of the grid's axes (any
//! numeric scenario setting, named by its key path as in `--set`) runs with N seeds, in parallel
//! on every core, and each setting gets the mean and 95% confidence interval of the metrics that
//! matter, an estimated probability of breaching the abandon cap over a 30-day window, its place
//! on the Pareto frontier of occupancy against abandon, and a recommendation.
//!
//! Every setting runs the same seeds, and the simulator draws each callee's behaviour from the
//! seed and the callee's number, so two settings meet the same callees: comparisons between
//! settings are paired (common random numbers).
//!
//! - [`SweepSpec`] (this file): what to run, parsed and checked before anything runs;
//! - [`run`]: runs jobs on worker threads (one actor System per thread), with progress,
//!   sharding and a stop flag;
//! - [`summary`]: per-setting statistics, the breach probability, the frontier, the
//!   recommendation;
//! - [`results`]: the results file (for `dialer merge` and resuming), CSV and the table;
//! - [`command`]: `dialer sweep` and `dialer merge`.
//!
//! Nothing here changes how a single simulation runs; a sweep only chooses scenarios and seeds.

pub mod command;
pub mod results;
pub mod run;
pub mod summary;

use crate::scenario::{Scenario, ScenarioError};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Why a sweep cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("--grid {given:?}: {reason}")]
    Axis { given: String, reason: String },
    #[error("a sweep needs at least one --grid axis, like --grid pacing.ratio=1.5,2,2.5")]
    NoAxes,
    #[error("--grid {key}: the setting appears in more than one axis")]
    RepeatedAxis { key: String },
    #[error("--seeds must be at least 1")]
    NoSeeds,
    #[error("--shard {given:?}: {reason}")]
    Shard { given: String, reason: String },
    #[error("{name} must be between 0 and 1, got {value}")]
    Fraction { name: &'static str, value: f64 },
    #[error("the setting {setting} is not a valid scenario")]
    Setting {
        setting: String,
        #[source]
        source: ScenarioError,
    },
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

/// One axis of the grid: a setting's key path and the values it takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub key: String,
    pub values: Vec<f64>,
}

impl Axis {
    /// Reads `key=v1,v2,...` or `key=start:stop:step` (both ends included).
    pub fn parse(given: &str) -> Result<Axis, SweepError> {
        let fail = |reason: String| SweepError::Axis {
            given: given.to_string(),
            reason,
        };
        let (key, list) = given
            .split_once('=')
            .ok_or_else(|| fail("expected KEY=VALUES, like pacing.ratio=1.5,2,2.5".into()))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(|part| part.trim().is_empty()) {
            return Err(fail("the setting's key path is empty".into()));
        }
        let list = list.trim();
        if list.is_empty() {
            return Err(fail("the grid is empty: give at least one value".into()));
        }
        let number = |text: &str| -> Result<f64, SweepError> {
            let value: f64 = text
                .trim()
                .parse()
                .map_err(|_| fail(format!("{:?} is not a number", text.trim())))?;
            if value.is_finite() {
                Ok(value)
            } else {
                Err(fail(format!("{:?} is not a finite number", text.trim())))
            }
        };
        let values = if list.contains(':') {
            let parts: Vec<&str> = list.split(':').collect();
            let [start, stop, step] = parts[..] else {
                return Err(fail("a range is START:STOP:STEP, like 1:3:0.5".into()));
            };
            let (start, stop, step) = (number(start)?, number(stop)?, number(step)?);
            if step <= 0.0 {
                return Err(fail(format!("the step must be positive, got {step}")));
            }
            if stop < start {
                return Err(fail(format!(
                    "the grid is empty: the range ends ({stop}) before it starts ({start})"
                )));
            }
            let count = ((stop - start) / step + 1e-9).floor() as u64 + 1;
            if count > 10_000 {
                return Err(fail(format!("{count} values is too many for one axis")));
            }
            // Computed from the index, not accumulated, so 0.1 steps stay on the grid.
            (0..count)
                .map(|index| round_to_grid(start + step * index as f64))
                .collect()
        } else {
            list.split(',').map(number).collect::<Result<Vec<_>, _>>()?
        };
        let mut seen = Vec::new();
        for value in &values {
            if seen.contains(value) {
                return Err(fail(format!("{} is listed twice", format_value(*value))));
            }
            seen.push(*value);
        }
        Ok(Axis {
            key: key.to_string(),
            values,
        })
    }
}

/// Rounds away floating-point noise from a computed grid value (12 significant digits).
fn round_to_grid(value: f64) -> f64 {
    if value == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(11 - value.abs().log10().floor() as i32);
    (value * scale).round() / scale
}

/// A setting's value as it goes into a scenario override: whole numbers without a decimal
/// point, so integer settings (agent counts) accept them.
pub fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Whose numbers a sweep summarises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// What the dialer observed through switch events: what the campaign's own statistics
    /// will show (PortaSwitch's limitation included).
    #[default]
    Engine,
    /// What really happened in the simulated switch.
    Truth,
}

/// The rule a recommendation must satisfy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    /// The abandon cap, as a fraction (0.03: 3%).
    pub abandon_cap: f64,
    /// The highest acceptable probability of breaching the cap over a 30-day window.
    pub max_breach_probability: f64,
    /// A person not connected within this many seconds of answering counts as a compliance
    /// abandon.
    pub compliance_wait_s: f64,
    /// Whose numbers are summarised.
    pub view: View,
}

impl Default for Constraints {
    fn default() -> Self {
        Constraints {
            abandon_cap: 0.03,
            max_breach_probability: 0.05,
            compliance_wait_s: 2.0,
            view: View::Engine,
        }
    }
}

/// Which part of the jobs this process runs: jobs whose index modulo `count` is `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Reads `I/N` with 0 <= I < N (array job indices are zero-based in Slurm and Kubernetes).
    pub fn parse(given: &str) -> Result<Shard, SweepError> {
        let fail = |reason: &str| SweepError::Shard {
            given: given.to_string(),
            reason: reason.to_string(),
        };
        let (index, count) = given
            .split_once('/')
            .ok_or_else(|| fail("expected I/N, like 0/4"))?;
        let index: u32 = index
            .trim()
            .parse()
            .map_err(|_| fail("I is not a whole number"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| fail("N is not a whole number"))?;
        if count == 0 {
            return Err(fail("N must be at least 1"));
        }
        if index >= count {
            return Err(fail("I counts from 0 and must be below N"));
        }
        Ok(Shard { index, count })
    }

    pub fn owns(&self, job: usize) -> bool {
        job % self.count as usize == self.index as usize
    }
}

/// Everything that defines a sweep's results: two result files can be merged only if their
/// specs are equal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file as given.
    pub scenario_file: String,
    /// Hash of the scenario text and the fixed overrides, so results of an edited file are not
    /// mixed with older ones.
    pub scenario_hash: String,
    /// Overrides applied to every setting (`--set`).
    pub fixed: Vec<String>,
    pub axes: Vec<Axis>,
    pub first_seed: u64,
    pub seeds: u64,
    pub constraints: Constraints,
}

/// One point of the grid: a value per axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    pub values: Vec<f64>,
}

impl SweepSpec {
    /// Checks the spec and loads every setting's scenario (so a bad key or value is reported
    /// before any run starts). Returns the scenarios in setting order.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        scenario_file: &str,
        text: &str,
        fixed: Vec<String>,
        axes: Vec<Axis>,
        first_seed: u64,
        seeds: u64,
        constraints: Constraints,
    ) -> Result<(SweepSpec, Vec<Scenario>), SweepError> {
        if axes.is_empty() {
            return Err(SweepError::NoAxes);
        }
        for (index, axis) in axes.iter().enumerate() {
            if axes[..index].iter().any(|other| other.key == axis.key) {
                return Err(SweepError::RepeatedAxis {
                    key: axis.key.clone(),
                });
            }
            if axis.values.is_empty() {
                return Err(SweepError::Axis {
                    given: axis.key.clone(),
                    reason: "the grid is empty".into(),
                });
            }
        }
        if seeds == 0 {
            return Err(SweepError::NoSeeds);
        }
        for (name, value) in [
            ("--abandon-cap", constraints.abandon_cap),
            ("--max-breach", constraints.max_breach_probability),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(SweepError::Fraction { name, value });
            }
        }
        let mut spec = SweepSpec {
            scenario: String::new(),
            scenario_file: scenario_file.to_string(),
            scenario_hash: String::new(),
            fixed,
            axes,
            first_seed,
            seeds,
            constraints,
        };
        let mut identity = text.to_string();
        for assignment in &spec.fixed {
            let _ = write!(identity, "\n--set {assignment}");
        }
        spec.scenario_hash = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(identity.as_bytes()));
        let mut scenarios = Vec::with_capacity(spec.setting_count());
        for index in 0..spec.setting_count() {
            let setting = spec.setting(index);
            let mut overrides = spec.fixed.clone();
            overrides.extend(spec.overrides(&setting));
            let scenario =
                Scenario::from_toml(scenario_file, text, &overrides).map_err(|source| {
                    SweepError::Setting {
                        setting: spec.describe(&setting),
                        source,
                    }
                })?;
            scenarios.push(scenario);
        }
        spec.scenario = scenarios[0].name.clone();
        Ok((spec, scenarios))
    }

    pub fn setting_count(&self) -> usize {
        self.axes.iter().map(|axis| axis.values.len()).product()
    }

    pub fn job_count(&self) -> usize {
        self.setting_count() * self.seeds as usize
    }

    /// The `index`-th setting, the first axis varying slowest.
    pub fn setting(&self, index: usize) -> Setting {
        let mut rest = index;
        let mut values = vec![0.0; self.axes.len()];
        for (slot, axis) in self.axes.iter().enumerate().rev() {
            values[slot] = axis.values[rest % axis.values.len()];
            rest /= axis.values.len();
        }
        Setting { values }
    }

    /// Job `job` is setting `job / seeds` with seed `first_seed + job % seeds`.
    pub fn job(&self, job: usize) -> (usize, u64) {
        let seeds = self.seeds as usize;
        (job / seeds, self.first_seed + (job % seeds) as u64)
    }

    pub fn overrides(&self, setting: &Setting) -> Vec<String> {
        self.axes
            .iter()
            .zip(&setting.values)
            .map(|(axis, value)| format!("{}={}", axis.key, format_value(*value)))
            .collect()
    }

    /// `pacing.ratio=2, agents.count=50`.
    pub fn describe(&self, setting: &Setting) -> String {
        self.overrides(setting).join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = r#"
[scenario]
name = "tiny"
[agents]
count = 2
[callees]
patience = "20s"
talk = "60s"
answer = { probability = 1.0, after = "5s" }
[dialing]
max_attempts = 20
[pacing]
strategy = "power"
ratio = 1.5
"#;

    #[test]
    fn axes_read_lists_and_ranges() {
        let axis = Axis::parse("pacing.ratio=1,1.5, 2").unwrap();
        assert_eq!(axis.key, "pacing.ratio");
        assert_eq!(axis.values, [1.0, 1.5, 2.0]);
        let range = Axis::parse("pacing.ratio=1:2:0.1").unwrap();
        assert_eq!(range.values.len(), 11);
        assert_eq!(range.values[3], 1.3);
        assert_eq!(range.values[10], 2.0);
    }

    #[test]
    fn bad_axes_are_named() {
        for (given, needle) in [
            ("pacing.ratio", "KEY=VALUES"),
            ("pacing.ratio=", "empty"),
            ("pacing.ratio=3:1:0.5", "empty"),
            ("pacing.ratio=1:3:0", "positive"),
            ("pacing.ratio=1,abc", "\"abc\" is not a number"),
            ("pacing.ratio=1,1", "twice"),
            ("=1,2", "key path"),
        ] {
            let error = Axis::parse(given).unwrap_err().to_string();
            assert!(error.contains(needle), "{given}: {error}");
            assert!(error.contains(given), "{given}: {error}");
        }
    }

    #[test]
    fn specs_refuse_unknown_settings_empty_grids_and_no_seeds() {
        let axis = || vec![Axis::parse("pacing.ratio=1,2").unwrap()];
        let build = |axes, seeds| {
            SweepSpec::build(
                "tiny.toml",
                SCENARIO,
                vec![],
                axes,
                1,
                seeds,
                Constraints::default(),
            )
        };
        assert!(matches!(build(vec![], 3), Err(SweepError::NoAxes)));
        assert!(matches!(build(axis(), 0), Err(SweepError::NoSeeds)));
        let unknown = build(vec![Axis::parse("pacing.ratoi=1,2").unwrap()], 3)
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("pacing.ratoi"), "{unknown}");
        let (spec, scenarios) = build(axis(), 3).unwrap();
        assert_eq!(scenarios.len(), 2);
        assert_eq!(spec.job_count(), 6);
        assert_eq!(spec.job(4), (1, 2));
    }

    #[test]
    fn settings_enumerate_the_first_axis_slowest() {
        let spec = SweepSpec {
            scenario: "s".into(),
            scenario_file: "s.toml".into(),
            scenario_hash: String::new(),
            fixed: vec![],
            axes: vec![
                Axis::parse("a=1,2").unwrap(),
                Axis::parse("b=10,20,30").unwrap(),
            ],
            first_seed: 1,
            seeds: 1,
            constraints: Constraints::default(),
        };
        assert_eq!(spec.setting_count(), 6);
        assert_eq!(spec.setting(0).values, [1.0, 10.0]);
        assert_eq!(spec.setting(2).values, [1.0, 30.0]);
        assert_eq!(spec.setting(3).values, [2.0, 10.0]);
        assert_eq!(spec.describe(&spec.setting(5)), "a=2, b=30");
    }

    #[test]
    fn shards_split_jobs_without_overlap() {
        let shards: Vec<Shard> = (0..3)
            .map(|index| Shard::parse(&format!("{index}/3")).unwrap())
            .collect();
        for job in 0..30 {
            assert_eq!(shards.iter().filter(|shard| shard.owns(job)).count(), 1);
        }
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("a/2").is_err());
    }

    #[test]
    fn values_format_for_overrides() {
        assert_eq!(format_value(50.0), "50");
        assert_eq!(format_value(1.5), "1.5");
    }
}
