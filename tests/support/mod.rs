//! Helpers shared by the integration tests.

#![allow(dead_code)]

pub mod plain_loop;
pub mod receiver;
pub mod serve;
pub mod webdriver;

use dialer::report::RunReport;
use dialer::scenario::Scenario;
use dialer::sim::switch::Quiescence;
use dialer::trace::TraceSink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn scenario_path(name: &str) -> PathBuf {
    root().join("scenarios").join(name)
}

/// Every scenario file shipped in `scenarios/`, sorted.
pub fn all_scenarios() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/ exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

/// How many cases a fuzz target runs: `default` (chosen so the fuzz modules take seconds), or
/// `PROPTEST_CASES` when it is set, e.g. `PROPTEST_CASES=100000 cargo test --release fuzz_`.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .filter(|cases| *cases > 0)
        .unwrap_or(default)
}

/// Runs the `dialer` binary.
pub fn dialer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dialer"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the dialer binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `dialer simulate --json` and parses the report.
pub fn simulate_json(args: &[&str]) -> serde_json::Value {
    let mut full = vec!["simulate"];
    full.extend_from_slice(args);
    full.push("--json");
    let output = dialer(&full);
    assert!(
        output.status.success(),
        "dialer {full:?} failed: {}",
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

/// Loads a scenario with overrides, in process.
pub fn load(path: &Path, overrides: &[String]) -> Scenario {
    Scenario::load(path, overrides).unwrap_or_else(|error| panic!("{error}"))
}

/// Runs a scenario in process and builds its report.
pub fn run(scenario: &Scenario, seed: u64) -> RunReport {
    run_with(scenario, seed, Quiescence::MailCount)
}

pub fn run_with(scenario: &Scenario, seed: u64, quiescence: Quiescence) -> RunReport {
    let run = dialer::runtime::simulate(scenario, seed, TraceSink::hashing_only(), quiescence)
        .unwrap_or_else(|error| panic!("simulation failed: {error}"));
    RunReport::build(scenario, seed, &run)
}

/// Runs `jobs` on up to two threads (this machine has two cores), keeping input order.
pub fn parallel<T: Send, R: Send>(jobs: Vec<T>, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let work = &work;
    let mut results: Vec<Option<R>> = Vec::new();
    results.resize_with(jobs.len(), || None);
    let jobs: Vec<(usize, T)> = jobs.into_iter().enumerate().collect();
    let (even, odd): (Vec<_>, Vec<_>) = jobs.into_iter().partition(|(index, _)| index % 2 == 0);
    std::thread::scope(|scope| {
        let handles: Vec<_> = [even, odd]
            .into_iter()
            .map(|share| {
                scope.spawn(move || {
                    share
                        .into_iter()
                        .map(|(index, job)| (index, work(job)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            for (index, result) in handle.join().expect("worker thread") {
                results[index] = Some(result);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Mean and the half-width of a 95% confidence interval (Student t) over replications.
pub fn mean_and_half_width(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    // t quantiles (0.975) for small samples.
    let t = match values.len() {
        2 => 12.706,
        3 => 4.303,
        4 => 3.182,
        5 => 2.776,
        6 => 2.571,
        7 => 2.447,
        8 => 2.365,
        9 => 2.306,
        10 => 2.262,
        _ => 2.0,
    };
    (mean, t * (variance / n).sqrt())
}
