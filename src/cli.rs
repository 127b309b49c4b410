//! The command line: `dialer simulate`, `dialer check`, `dialer compare` and `dialer explain`.
//!
//! Parses arguments (clap), loads the scenario, runs it, and prints the report. Exit codes:
//! 0 success, 1 a failure while running, 2 bad input (a scenario that does not load or a bad
//! argument), with nothing written to stdout or to the trace file in that case.
//!
//! Decisions live in the library; this module only connects them to the terminal.

use crate::compare;
use crate::report::RunReport;
use crate::runtime::{self, RuntimeError};
use crate::scenario::{Scenario, ScenarioError};
use crate::sim::switch::{Quiescence, RunStatus};
use crate::trace::TraceSink;
use clap::{Parser, Subcommand};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "dialer",
    version,
    about = "An outbound auto-dialer engine for PortaSwitch, with a deterministic simulator"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a campaign day from a scenario file.
    Simulate {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Seed for the run; defaults to the scenario's own seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
        /// Write every switch event and pacing decision to FILE as JSON lines.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Override a scenario setting, like `--set pacing.ratio=2.5` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Detect idle points through tokio's runtime instead of counting mail (slower; a
        /// cross-check of the simulator itself).
        #[arg(long, hide = true)]
        runtime_idle: bool,
    },
    /// Check a scenario file and report every problem, without running it.
    Check {
        scenario: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Run every pacing strategy on the same scenarios and seeds, side by side.
    Compare {
        /// Scenario files; default the reference pacing days (10, 50 and 200 agents).
        scenarios: Vec<PathBuf>,
        /// Seeds per strategy and scenario.
        #[arg(long, default_value_t = 20)]
        seeds: u64,
        /// The first seed; seeds run from here up.
        #[arg(long, default_value_t = 1)]
        first_seed: u64,
        /// Threads (default: one per core).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Only these strategies (comma-separated): progressive, preview, power, adaptive_ratio,
        /// predictive.
        #[arg(long, value_delimiter = ',')]
        strategies: Vec<String>,
        /// Override a scenario setting in every scenario (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Print one JSON object instead of the tables.
        #[arg(long)]
        json: bool,
    },
    /// Explain pacing decisions in a trace file in plain words.
    Explain {
        /// A trace written by `dialer simulate --trace FILE`.
        trace: PathBuf,
        /// The moment to explain, `HH:MM:SS[.mmm]`; without it, a summary of the trace.
        #[arg(long)]
        at: Option<String>,
    },
}

/// The reference scenarios `dialer compare` runs by default.
pub const REFERENCE_PACING_SCENARIOS: [&str; 3] = [
    "scenarios/pacing-10.toml",
    "scenarios/pacing-50.toml",
    "scenarios/pacing-200.toml",
];

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("cannot create the trace file {path}: {source}")]
    TraceFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(
        "the simulation stalled at {at}: nothing was left to happen but the campaign had not finished"
    )]
    Stalled { at: String },
    #[error("cannot write the report: {0}")]
    Output(#[source] std::io::Error),
    #[error("{0}")]
    Explain(#[from] crate::pacing::explain::ExplainError),
}

impl CliError {
    /// 2 for bad input, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Scenario(_) => 2,
            CliError::Explain(error) if error.is_bad_input() => 2,
            _ => 1,
        }
    }
}

/// Runs a parsed command; the report goes to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<(), CliError> {
    match cli.command {
        Command::Simulate {
            scenario,
            seed,
            json,
            trace,
            overrides,
            runtime_idle,
        } => {
            let scenario = Scenario::load(&scenario, &overrides)?;
            let seed = seed.unwrap_or(scenario.seed);
            let quiescence = if runtime_idle {
                Quiescence::RuntimeIdle
            } else {
                Quiescence::MailCount
            };
            let report = simulate_to(&scenario, seed, trace.as_deref(), quiescence)?;
            let text = if json {
                let mut text =
                    serde_json::to_string(&report).map_err(|e| CliError::Output(e.into()))?;
                text.push('\n');
                text
            } else {
                report.to_table()
            };
            out.write_all(text.as_bytes()).map_err(CliError::Output)?;
            if report.status == RunStatus::Stalled {
                return Err(CliError::Stalled {
                    at: format!("{:.3} s", report.simulated_seconds),
                });
            }
            Ok(())
        }
        Command::Check {
            scenario,
            overrides,
        } => {
            let loaded = Scenario::load(&scenario, &overrides)?;
            writeln!(out, "{}: ok ({})", scenario.display(), loaded.name).map_err(CliError::Output)
        }
        Command::Compare {
            scenarios,
            seeds,
            first_seed,
            jobs,
            strategies,
            overrides,
            json,
        } => {
            let paths: Vec<PathBuf> = if scenarios.is_empty() {
                REFERENCE_PACING_SCENARIOS
                    .iter()
                    .map(PathBuf::from)
                    .collect()
            } else {
                scenarios
            };
            let loaded = paths
                .iter()
                .map(|path| Scenario::load(path, &overrides))
                .collect::<Result<Vec<_>, _>>()?;
            let options = compare::CompareOptions {
                seeds: seeds.max(1),
                first_seed,
                jobs,
                strategies,
            };
            let mut comparisons = Vec::new();
            for scenario in &loaded {
                let mut progress = |line: &str| eprintln!("{line}");
                comparisons.push(compare::compare_scenario(
                    scenario,
                    &options,
                    &mut progress,
                )?);
            }
            let text = if json {
                let mut text =
                    serde_json::to_string(&comparisons).map_err(|e| CliError::Output(e.into()))?;
                text.push('\n');
                text
            } else {
                compare::to_markdown(&comparisons, options.seeds)
            };
            out.write_all(text.as_bytes()).map_err(CliError::Output)
        }
        Command::Explain { trace, at } => {
            let text = crate::pacing::explain::explain_file(&trace, at.as_deref())?;
            out.write_all(text.as_bytes()).map_err(CliError::Output)
        }
    }
}

/// Runs a scenario, writing the trace (if asked) through a temporary file that is renamed into
/// place only when the run succeeds.
pub fn simulate_to(
    scenario: &Scenario,
    seed: u64,
    trace_path: Option<&Path>,
    quiescence: Quiescence,
) -> Result<RunReport, CliError> {
    let Some(path) = trace_path else {
        let run = runtime::simulate(scenario, seed, TraceSink::hashing_only(), quiescence)?;
        return Ok(RunReport::build(scenario, seed, &run));
    };
    let partial = partial_path(path);
    let file = File::create(&partial).map_err(|source| CliError::TraceFile {
        path: partial.display().to_string(),
        source,
    })?;
    let sink = TraceSink::writing_to(Box::new(BufWriter::with_capacity(1 << 16, file)));
    let result = runtime::simulate(scenario, seed, sink, quiescence);
    match result {
        Ok(run) => {
            std::fs::rename(&partial, path).map_err(|source| CliError::TraceFile {
                path: path.display().to_string(),
                source,
            })?;
            Ok(RunReport::build(scenario, seed, &run))
        }
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error.into())
        }
    }
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}
