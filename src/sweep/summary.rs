//! What a sweep's runs say about each setting: means with 95% confidence intervals, the
//! probability of breaching the abandon cap over a 30-day window, the Pareto frontier of
//! occupancy against abandon, and the recommended setting.
//!
//! The breach probability treats each run as one campaign day. A 30-day window is 30 days
//! drawn with replacement from the setting's runs (a bootstrap, with a fixed seed per setting),
//! its compliance abandon rate is pooled over the window (abandons over answered persons, as
//! regulators count), and the share of 4,000 windows above the cap is the estimate.
//!
//! Pure arithmetic over [`JobResult`]s, which are sorted by (setting, seed) first, so the
//! summary of a sweep run in one go, in shards, or resumed after an interruption is the same.

use super::results::{JobResult, RunMetrics};
use super::{Constraints, Setting, SweepSpec};
use crate::stats::mean_and_half_width;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Days in the regulator's window (FCC: 30 days per campaign).
pub const WINDOW_DAYS: usize = 30;
/// Bootstrap windows drawn per setting.
pub const BOOTSTRAP_WINDOWS: usize = 4_000;

/// A mean and the half-width of its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub mean: f64,
    pub ci95: f64,
}

impl Estimate {
    fn of(values: &[f64]) -> Estimate {
        let (mean, ci95) = mean_and_half_width(values);
        Estimate { mean, ci95 }
    }
}

/// One setting's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingSummary {
    pub index: usize,
    pub setting: Setting,
    /// Runs (seeds) summarised.
    pub runs: usize,
    pub occupancy: Estimate,
    pub compliance_abandon: Estimate,
    pub true_abandon: Estimate,
    pub contacts_per_agent_hour: Estimate,
    pub wait_p90_ms: Estimate,
    /// Runs that worked through the whole list.
    pub exhausted_runs: usize,
    /// Time to exhaust the list, over the runs that did.
    pub exhausted_after_s: Option<Estimate>,
    /// Estimated probability that a 30-day window's compliance abandon rate exceeds the cap.
    pub breach_probability: f64,
    /// Within the constraints (breach probability at most the limit).
    pub feasible: bool,
    pub on_frontier: bool,
}

/// The whole sweep's conclusions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub settings: Vec<SettingSummary>,
    /// Index of the recommended setting: the highest mean occupancy among feasible settings.
    pub recommended: Option<usize>,
    /// Indices of the settings on the frontier, by increasing compliance abandon.
    pub frontier: Vec<usize>,
}

/// Summarises `results` (any order) for `spec`. Settings without runs are left out.
pub fn summarise(spec: &SweepSpec, results: &[JobResult]) -> SweepSummary {
    let mut sorted: Vec<&JobResult> = results.iter().collect();
    sorted.sort_by_key(|result| (result.setting, result.seed));
    let mut settings = Vec::new();
    let mut start = 0;
    while start < sorted.len() {
        let index = sorted[start].setting;
        let end = start
            + sorted[start..]
                .iter()
                .take_while(|result| result.setting == index)
                .count();
        let runs: Vec<RunMetrics> = sorted[start..end].iter().map(|r| r.metrics).collect();
        settings.push(summarise_setting(
            index,
            spec.setting(index),
            &runs,
            &spec.constraints,
        ));
        start = end;
    }
    mark_frontier(&mut settings);
    let recommended = settings
        .iter()
        .filter(|summary| summary.feasible)
        .max_by(|a, b| {
            a.occupancy
                .mean
                .total_cmp(&b.occupancy.mean)
                .then(
                    b.compliance_abandon
                        .mean
                        .total_cmp(&a.compliance_abandon.mean),
                )
                .then(b.index.cmp(&a.index))
        })
        .map(|summary| summary.index);
    let mut frontier: Vec<&SettingSummary> = settings.iter().filter(|s| s.on_frontier).collect();
    frontier.sort_by(|a, b| {
        a.compliance_abandon
            .mean
            .total_cmp(&b.compliance_abandon.mean)
            .then(a.index.cmp(&b.index))
    });
    let frontier = frontier.iter().map(|summary| summary.index).collect();
    SweepSummary {
        settings,
        recommended,
        frontier,
    }
}

fn summarise_setting(
    index: usize,
    setting: Setting,
    runs: &[RunMetrics],
    constraints: &Constraints,
) -> SettingSummary {
    let column = |pick: fn(&RunMetrics) -> f64| -> Vec<f64> { runs.iter().map(pick).collect() };
    let exhausted: Vec<f64> = runs.iter().filter_map(|r| r.exhausted_after_s).collect();
    let breach_probability = breach_probability(index, runs, constraints.abandon_cap);
    SettingSummary {
        index,
        setting,
        runs: runs.len(),
        occupancy: Estimate::of(&column(|r| r.occupancy)),
        compliance_abandon: Estimate::of(&column(|r| r.compliance_abandon)),
        true_abandon: Estimate::of(&column(|r| r.true_abandon)),
        contacts_per_agent_hour: Estimate::of(&column(|r| r.contacts_per_agent_hour)),
        wait_p90_ms: Estimate::of(&column(|r| r.wait_p90_ms)),
        exhausted_runs: exhausted.len(),
        exhausted_after_s: (!exhausted.is_empty()).then(|| Estimate::of(&exhausted)),
        breach_probability,
        feasible: breach_probability <= constraints.max_breach_probability,
        on_frontier: false,
    }
}

/// The bootstrap estimate described in the module docs.
fn breach_probability(index: usize, runs: &[RunMetrics], cap: f64) -> f64 {
    if runs.is_empty() {
        return f64::NAN;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0000 ^ index as u64);
    let mut breaches = 0;
    for _ in 0..BOOTSTRAP_WINDOWS {
        let (mut abandoned, mut answered) = (0u64, 0u64);
        for _ in 0..WINDOW_DAYS {
            let day = &runs[rng.random_range(0..runs.len())];
            abandoned += day.compliance_abandoned;
            answered += day.answered;
        }
        if answered > 0 && abandoned as f64 / answered as f64 > cap {
            breaches += 1;
        }
    }
    breaches as f64 / BOOTSTRAP_WINDOWS as f64
}

/// Marks settings that no other setting beats on both occupancy (higher) and compliance
/// abandon (lower).
fn mark_frontier(settings: &mut [SettingSummary]) {
    let points: Vec<(f64, f64)> = settings
        .iter()
        .map(|s| (s.occupancy.mean, s.compliance_abandon.mean))
        .collect();
    for (index, summary) in settings.iter_mut().enumerate() {
        let (occupancy, abandon) = points[index];
        summary.on_frontier = !points.iter().enumerate().any(|(other, &(o, a))| {
            other != index && o >= occupancy && a <= abandon && (o > occupancy || a < abandon)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Axis;

    fn spec(values: &[f64], seeds: u64) -> SweepSpec {
        SweepSpec {
            scenario: "s".into(),
            scenario_file: "s.toml".into(),
            scenario_hash: String::new(),
            fixed: vec![],
            axes: vec![Axis {
                key: "pacing.ratio".into(),
                values: values.to_vec(),
            }],
            first_seed: 1,
            seeds,
            constraints: Constraints::default(),
        }
    }

    fn metrics(occupancy: f64, abandon: f64) -> RunMetrics {
        RunMetrics {
            occupancy,
            compliance_abandon: abandon,
            true_abandon: abandon / 2.0,
            contacts_per_agent_hour: 10.0,
            wait_p90_ms: 1000.0,
            exhausted_after_s: None,
            answered: 1000,
            compliance_abandoned: (abandon * 1000.0).round() as u64,
            abandoned: (abandon * 500.0).round() as u64,
        }
    }

    fn results(per_setting: &[(f64, f64)], seeds: u64) -> Vec<JobResult> {
        let mut out = Vec::new();
        for (setting, &(occupancy, abandon)) in per_setting.iter().enumerate() {
            for seed in 1..=seeds {
                // A little spread so the intervals are not empty.
                let wobble = (seed as f64 - 2.0) * 0.001;
                out.push(JobResult {
                    setting,
                    seed,
                    metrics: metrics(occupancy + wobble, abandon),
                });
            }
        }
        out
    }

    #[test]
    fn recommends_the_busiest_setting_within_the_cap() {
        let per_setting = [(0.70, 0.005), (0.80, 0.02), (0.85, 0.04), (0.60, 0.03)];
        let summary = summarise(&spec(&[1.0, 1.5, 2.0, 2.5], 3), &results(&per_setting, 3));
        assert_eq!(summary.settings.len(), 4);
        let by_index = |i: usize| &summary.settings[i];
        assert_eq!(by_index(0).breach_probability, 0.0);
        assert_eq!(by_index(2).breach_probability, 1.0);
        assert!(by_index(1).feasible && !by_index(2).feasible);
        assert_eq!(summary.recommended, Some(1));
        // Setting 3 is beaten on both counts by setting 1; the others are on the frontier.
        assert_eq!(summary.frontier, vec![0, 1, 2]);
        assert!((by_index(1).occupancy.mean - 0.80).abs() < 1e-9);
        assert!(by_index(1).occupancy.ci95 > 0.0);
    }

    #[test]
    fn order_of_results_does_not_matter() {
        let per_setting = [(0.70, 0.005), (0.80, 0.029)];
        let mut shuffled = results(&per_setting, 5);
        let in_order = summarise(&spec(&[1.0, 2.0], 5), &shuffled);
        shuffled.reverse();
        shuffled.swap(1, 6);
        assert_eq!(summarise(&spec(&[1.0, 2.0], 5), &shuffled), in_order);
    }

    #[test]
    fn a_rate_near_the_cap_breaches_sometimes() {
        let mut runs: Vec<RunMetrics> = (0..20).map(|_| metrics(0.8, 0.02)).collect();
        runs[0] = metrics(0.8, 0.40);
        let p = breach_probability(0, &runs, 0.03);
        // A window breaches when it draws the bad day at least once: 1 - (19/20)^30 = 0.785.
        assert!((p - 0.785).abs() < 0.03, "{p}");
    }
}
