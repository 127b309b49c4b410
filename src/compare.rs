//! Strategies side by side: every pacing strategy on the same scenarios and the same seeds, with
//! occupancy, compliance abandon and contacts per agent hour as mean ± 95% confidence interval,
//! and the best fixed power ratio chosen in hindsight.
//!
//! Each run is a whole simulation on one OS thread ([`crate::runtime::simulate`] builds its own
//! actor system on the calling thread); runs are spread over the machine's cores with a shared
//! job counter, and results are put back in job order, so the output does not depend on the
//! number of threads.
//!
//! The hindsight-best fixed ratio is the highest power ratio on a 0.1 grid whose compliance
//! abandon stays within the cap in at least 95% of the seeds (the same rule the targets use). It
//! is found by stepping the ratio up by 0.5 until the rule fails, then by 0.1 from the last ratio
//! that passed; this assumes abandons grow with the ratio, which they do on these workloads.
//!
//! Static and baseline strategies run without the abandon guard (power as a fixed setting,
//! adaptive-ratio as VICIdial has it); predictive runs as the scenario configures it. The
//! adaptive-ratio rows are set up as a careful VICIdial admin would for the same cap: the drop
//! percentage at the budget's target (`pacing.abandon.target_percent`), and the latest server
//! time at the end of the dialing day, all three ADAPT variants.
//!
//! This module runs simulations and summarises them; it decides nothing about pacing.

use crate::pacing::Strategy;
use crate::pacing::adaptive::{AdaptVariant, AdaptiveSettings};
use crate::report::RunReport;
use crate::runtime::{self, RuntimeError};
use crate::scenario::{PREVIEW_TIME_DEFAULT_SECONDS, Scenario};
use crate::sim::switch::Quiescence;
use crate::stats::mean_and_half_width_at;
use crate::trace::TraceSink;
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The share of seeds that must stay within the cap.
pub const SEEDS_WITHIN_CAP: f64 = 0.95;

/// What one run contributes to a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RunMetrics {
    pub seed: u64,
    pub occupancy: f64,
    pub compliance_abandon: f64,
    pub true_abandon: f64,
    pub contacts_per_agent_hour: f64,
    pub within_cap: bool,
}

impl RunMetrics {
    fn of(report: &RunReport) -> RunMetrics {
        let compliance = report.compliance.as_ref();
        RunMetrics {
            seed: report.seed,
            occupancy: report.truth.rates.agent_occupancy,
            compliance_abandon: compliance.map_or(0.0, |c| c.window_rate),
            true_abandon: compliance.map_or(0.0, |c| c.true_abandon_rate),
            contacts_per_agent_hour: report.contacts_per_agent_hour,
            within_cap: compliance.is_none_or(|c| c.within_cap),
        }
    }
}

/// Mean and 95% half-width.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub half_width: f64,
}

impl Estimate {
    fn of(values: &[f64]) -> Estimate {
        let (mean, half_width) = mean_and_half_width_at(values, 0.95);
        Estimate { mean, half_width }
    }
}

/// One strategy on one scenario over every seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub label: String,
    pub strategy: String,
    pub occupancy: Estimate,
    pub compliance_abandon: Estimate,
    pub true_abandon: Estimate,
    pub contacts_per_agent_hour: Estimate,
    /// Seeds whose compliance abandon stayed within the cap, out of `seeds`.
    pub seeds_within_cap: usize,
    pub seeds: usize,
    #[serde(skip)]
    pub runs: Vec<RunMetrics>,
}

impl Row {
    fn new(label: String, strategy: &str, runs: Vec<RunMetrics>) -> Row {
        let column = |pick: fn(&RunMetrics) -> f64| -> Vec<f64> { runs.iter().map(pick).collect() };
        Row {
            label,
            strategy: strategy.to_string(),
            occupancy: Estimate::of(&column(|r| r.occupancy)),
            compliance_abandon: Estimate::of(&column(|r| r.compliance_abandon)),
            true_abandon: Estimate::of(&column(|r| r.true_abandon)),
            contacts_per_agent_hour: Estimate::of(&column(|r| r.contacts_per_agent_hour)),
            seeds_within_cap: runs.iter().filter(|r| r.within_cap).count(),
            seeds: runs.len(),
            runs,
        }
    }

    /// True if the compliance abandon stayed within the cap in at least 95% of the seeds.
    pub fn compliant(&self) -> bool {
        self.seeds > 0 && self.seeds_within_cap as f64 >= SEEDS_WITHIN_CAP * self.seeds as f64
    }
}

/// The comparison on one scenario.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScenarioComparison {
    pub scenario: String,
    pub agents: u32,
    pub cap: f64,
    pub rows: Vec<Row>,
    /// The hindsight-best fixed power ratio, if any ratio passed.
    pub best_ratio: Option<f64>,
    /// Ratios tried while searching, with the seeds within the cap.
    pub ratios_tried: Vec<(f64, usize)>,
    pub targets: Vec<TargetCheck>,
}

/// One of the targets, checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetCheck {
    pub target: String,
    pub met: bool,
    pub detail: String,
}

/// How to run a comparison.
#[derive(Clone, Debug)]
pub struct CompareOptions {
    pub seeds: u64,
    pub first_seed: u64,
    /// Threads; 0 for one per core.
    pub jobs: usize,
    /// Strategies to run, by name (`progressive`, `preview`, `power`, `adaptive_ratio`,
    /// `predictive`); empty for all.
    pub strategies: Vec<String>,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            seeds: 20,
            first_seed: 1,
            jobs: 0,
            strategies: Vec::new(),
        }
    }
}

impl CompareOptions {
    fn wants(&self, name: &str) -> bool {
        self.strategies.is_empty() || self.strategies.iter().any(|s| s == name)
    }

    fn threads(&self) -> usize {
        if self.jobs > 0 {
            self.jobs
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    fn seed_list(&self) -> Vec<u64> {
        (0..self.seeds).map(|i| self.first_seed + i).collect()
    }
}

/// Runs `work` over `jobs` on `threads` OS threads, keeping job order.
pub fn parallel_map<T: Sync, R: Send>(
    jobs: &[T],
    threads: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<R>> = Vec::new();
    results.resize_with(jobs.len(), || None);
    let threads = threads.clamp(1, jobs.len().max(1));
    let finished: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(index) else {
                            break;
                        };
                        done.push((index, work(job)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a comparison worker panicked"))
            .collect()
    });
    for (index, result) in finished.into_iter().flatten() {
        results[index] = Some(result);
    }
    results
        .into_iter()
        .map(|result| result.expect("every job ran"))
        .collect()
}

fn simulate(scenario: &Scenario, seed: u64) -> Result<RunMetrics, RuntimeError> {
    let run = runtime::simulate(
        scenario,
        seed,
        TraceSink::hashing_only(),
        Quiescence::MailCount,
    )?;
    Ok(RunMetrics::of(&RunReport::build(scenario, seed, &run)))
}

/// Runs `scenario` with `strategy` on every seed. The abandon guard is on only if `guard`.
fn run_cell(
    base: &Scenario,
    strategy: Strategy,
    guard: bool,
    options: &CompareOptions,
) -> Result<Vec<RunMetrics>, RuntimeError> {
    let mut scenario = base.clone();
    scenario.pacing.strategy = strategy;
    scenario.pacing.abandon.guard = guard;
    if matches!(
        strategy,
        Strategy::AdaptiveRatio(_) | Strategy::Predictive(_)
    ) && scenario.pacing.tick.is_none()
    {
        scenario.pacing.tick = Some(crate::time::SimDuration::from_secs(1));
    }
    parallel_map(&options.seed_list(), options.threads(), |seed| {
        simulate(&scenario, *seed)
    })
    .into_iter()
    .collect()
}

/// Compares every wanted strategy on one scenario. `progress` hears one line per cell.
pub fn compare_scenario(
    scenario: &Scenario,
    options: &CompareOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<ScenarioComparison, RuntimeError> {
    let mut rows = Vec::new();
    let guard_as_configured = scenario.pacing.abandon.guard;
    let cell = |label: String,
                name: &str,
                strategy: Strategy,
                guard: bool,
                rows: &mut Vec<Row>,
                progress: &mut dyn FnMut(&str)|
     -> Result<(), RuntimeError> {
        let runs = run_cell(scenario, strategy, guard, options)?;
        let row = Row::new(label, name, runs);
        progress(&format!(
            "{}: {} occupancy {:.3}, compliance abandon {:.2}%, within cap {}/{}",
            scenario.name,
            row.label,
            row.occupancy.mean,
            row.compliance_abandon.mean * 100.0,
            row.seeds_within_cap,
            row.seeds
        ));
        rows.push(row);
        Ok(())
    };
    if options.wants("progressive") {
        cell(
            "progressive".into(),
            "progressive",
            Strategy::Progressive,
            false,
            &mut rows,
            progress,
        )?;
    }
    if options.wants("preview") {
        cell(
            format!("preview ({PREVIEW_TIME_DEFAULT_SECONDS} s)"),
            "preview",
            Strategy::Preview {
                preview_seconds: PREVIEW_TIME_DEFAULT_SECONDS,
            },
            false,
            &mut rows,
            progress,
        )?;
    }
    let mut best_ratio = None;
    let mut ratios_tried = Vec::new();
    if options.wants("power") {
        let (best, tried) = search_best_ratio(scenario, options, progress)?;
        ratios_tried = tried;
        if let Some((ratio, runs)) = best {
            best_ratio = Some(ratio);
            rows.push(Row::new(
                format!("power, hindsight-best ratio {ratio:.1}"),
                "power",
                runs,
            ));
        }
    }
    if options.wants("adaptive_ratio") {
        for variant in [
            AdaptVariant::HardLimit,
            AdaptVariant::Average,
            AdaptVariant::Tapered,
        ] {
            let settings = AdaptiveSettings {
                variant,
                dropped_percentage: scenario.pacing.abandon.target * 100.0,
                latest_server_time: latest_server_time(scenario),
                ..AdaptiveSettings::default()
            };
            cell(
                format!("adaptive_ratio ({})", variant.as_str()),
                "adaptive_ratio",
                Strategy::AdaptiveRatio(settings),
                false,
                &mut rows,
                progress,
            )?;
        }
    }
    if options.wants("predictive") {
        let settings = match scenario.pacing.strategy {
            Strategy::Predictive(settings) => settings,
            _ => Default::default(),
        };
        cell(
            "predictive".into(),
            "predictive",
            Strategy::Predictive(settings),
            guard_as_configured,
            &mut rows,
            progress,
        )?;
    }
    let targets = check_targets(&rows);
    Ok(ScenarioComparison {
        scenario: scenario.name.clone(),
        agents: scenario.agents.count,
        cap: scenario.pacing.abandon.cap,
        rows,
        best_ratio,
        ratios_tried,
        targets,
    })
}

/// VICIdial's `adaptive_latest_server_time` for a scenario: the end of its dialing window as
/// HHMM of engine time (the whole day if it has none), so TAPERED tapers over the calling day.
fn latest_server_time(scenario: &Scenario) -> u32 {
    let end = scenario
        .dialing
        .dial_until
        .map_or(86_400, |until| until.as_micros() / 1_000_000)
        .min(86_400);
    ((end / 3600) * 100 + (end % 3600) / 60) as u32
}

type BestRatio = (Option<(f64, Vec<RunMetrics>)>, Vec<(f64, usize)>);

/// Finds the highest power ratio on a 0.1 grid that stays within the cap in 95% of the seeds.
fn search_best_ratio(
    scenario: &Scenario,
    options: &CompareOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BestRatio, RuntimeError> {
    const MAX_TENTHS: u32 = 200;
    let mut tried = Vec::new();
    let mut best: Option<(u32, Vec<RunMetrics>)> = None;
    let mut try_ratio = |tenths: u32,
                         tried: &mut Vec<(f64, usize)>|
     -> Result<(bool, Vec<RunMetrics>), RuntimeError> {
        let ratio = f64::from(tenths) / 10.0;
        let runs = run_cell(scenario, Strategy::Power { ratio }, false, options)?;
        let within = runs.iter().filter(|r| r.within_cap).count();
        tried.push((ratio, within));
        let passed = within as f64 >= SEEDS_WITHIN_CAP * runs.len() as f64;
        progress(&format!(
            "{}: power {ratio:.1}: within cap {within}/{}",
            scenario.name,
            runs.len()
        ));
        Ok((passed, runs))
    };
    // Coarse: up by 0.5 until the rule fails.
    let mut tenths = 10;
    let mut failed_at = None;
    while tenths <= MAX_TENTHS {
        let (passed, runs) = try_ratio(tenths, &mut tried)?;
        if passed {
            best = Some((tenths, runs));
            tenths += 5;
        } else {
            failed_at = Some(tenths);
            break;
        }
    }
    // Fine: up by 0.1 from the last ratio that passed.
    if let (Some(failed), Some((passed, _))) = (failed_at, best.as_ref()) {
        let mut fine = passed + 1;
        while fine < failed {
            let (ok, runs) = try_ratio(fine, &mut tried)?;
            if !ok {
                break;
            }
            best = Some((fine, runs));
            fine += 1;
        }
    }
    tried.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok((
        best.map(|(tenths, runs)| (f64::from(tenths) / 10.0, runs)),
        tried,
    ))
}

/// The targets on one scenario's rows.
fn check_targets(rows: &[Row]) -> Vec<TargetCheck> {
    let mut checks = Vec::new();
    let Some(predictive) = rows.iter().find(|r| r.strategy == "predictive") else {
        return checks;
    };
    checks.push(TargetCheck {
        target: "predictive: compliance abandon within the cap in at least 95% of seeds".into(),
        met: predictive.compliant(),
        detail: format!("{}/{} seeds", predictive.seeds_within_cap, predictive.seeds),
    });
    let best_adaptive = rows
        .iter()
        .filter(|r| r.strategy == "adaptive_ratio")
        .max_by(|a, b| a.occupancy.mean.total_cmp(&b.occupancy.mean));
    if let Some(adaptive) = best_adaptive {
        let gap = (predictive.occupancy.mean - adaptive.occupancy.mean) * 100.0;
        checks.push(TargetCheck {
            target:
                "predictive at least 5 occupancy points above adaptive-ratio (its best variant)"
                    .into(),
            met: gap >= 5.0,
            detail: format!("{gap:+.1} points over {}", adaptive.label),
        });
    }
    if let Some(power) = rows.iter().find(|r| r.strategy == "power") {
        let gap = (predictive.occupancy.mean - power.occupancy.mean) * 100.0;
        let half = (predictive.occupancy.half_width.powi(2) + power.occupancy.half_width.powi(2))
            .sqrt()
            * 100.0;
        checks.push(TargetCheck {
            target: "predictive against the hindsight-best fixed power ratio".into(),
            met: gap > 0.0,
            detail: format!(
                "{gap:+.2} ± {half:.2} occupancy points over {} (above: {}; level within the CI: {})",
                power.label,
                if gap - half > 0.0 { "yes" } else { "no" },
                if gap + half >= 0.0 { "yes" } else { "no" },
            ),
        });
    }
    checks
}

fn pm(estimate: &Estimate, scale: f64, decimals: usize) -> String {
    format!(
        "{:.*} ± {:.*}",
        decimals,
        estimate.mean * scale,
        decimals,
        estimate.half_width * scale
    )
}

/// The comparison as a Markdown table, one block per scenario.
pub fn to_markdown(comparisons: &[ScenarioComparison], seeds: u64) -> String {
    let mut out = String::new();
    for comparison in comparisons {
        let _ = writeln!(
            out,
            "\n**{}** ({} agents, cap {}%, {} seeds; mean ± 95% CI)\n",
            comparison.scenario,
            comparison.agents,
            comparison.cap * 100.0,
            seeds
        );
        let _ = writeln!(
            out,
            "| strategy | occupancy % | compliance abandon % | true abandon % | contacts / agent-hour | seeds within cap |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for row in &comparison.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {}/{} |",
                row.label,
                pm(&row.occupancy, 100.0, 1),
                pm(&row.compliance_abandon, 100.0, 2),
                pm(&row.true_abandon, 100.0, 2),
                pm(&row.contacts_per_agent_hour, 1.0, 2),
                row.seeds_within_cap,
                row.seeds
            );
        }
        if !comparison.ratios_tried.is_empty() {
            let tried: Vec<String> = comparison
                .ratios_tried
                .iter()
                .map(|(ratio, within)| format!("{ratio:.1}: {within}"))
                .collect();
            let _ = writeln!(
                out,
                "\nPower ratios tried (seeds within cap): {}",
                tried.join(", ")
            );
        }
        for check in &comparison.targets {
            let _ = writeln!(
                out,
                "- {} {}: {}",
                if check.met { "MET" } else { "NOT MET" },
                check.target,
                check.detail
            );
        }
    }
    out
}
