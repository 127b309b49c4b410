//! The command line: `dialer simulate`, `dialer check`, `dialer sweep`, `dialer merge`, `dialer run`
//! (a live campaign), `dialer fake-switch`, `dialer replay`, `dialer backtest`, `dialer compare`,
//! `dialer explain`, `dialer serve` (the web console); and for the store, `dialer import`,
//! `dialer dnc` and `dialer status`.
//!
//! Parses arguments (clap), loads the scenario, runs it, and prints the report. Exit codes:
//! 0 success, 1 a failure while running, 2 bad input (a scenario that does not load, a CSV file
//! without a usable header, a bad number or argument), with nothing written to stdout or to the
//! trace file in that case. An import with bad rows succeeds: the rows are reported.
//!
//! Decisions live in the library; this module only connects them to the terminal.

use crate::compare;
use crate::fake_switch::{self, FakeConfig};
use crate::live::LiveReport;
use crate::live::campaign::LiveCampaign;
use crate::report::RunReport;
use crate::runtime::{self, RuntimeError, SimulationOptions, SimulationRun};
use crate::scenario::{Scenario, ScenarioError};
use crate::sim::switch::{Quiescence, RunStatus};
use crate::sweep::command::SweepArgs;
use crate::sweep::{Constraints, View};
use crate::time::SimDuration;
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
        /// Write a self-contained HTML report with plots of the day to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Run a scenario over a grid of settings with many seeds, and recommend a setting.
    Sweep {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// An axis of the grid: a numeric setting and its values, `KEY=V1,V2,...` or
        /// `KEY=START:STOP:STEP` (repeatable; every combination runs).
        #[arg(long = "grid", value_name = "KEY=VALUES")]
        grid: Vec<String>,
        /// Seeds per setting (every setting runs the same seeds).
        #[arg(long, default_value_t = 20)]
        seeds: u64,
        /// The first seed; seeds run from here upwards.
        #[arg(long, default_value_t = 1)]
        first_seed: u64,
        /// Worker threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
        /// Override a setting for every run, like `--set agents.count=30` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// The abandon cap, as a fraction; default the scenario's `[pacing.abandon] cap_percent`.
        #[arg(long)]
        abandon_cap: Option<f64>,
        /// The highest acceptable chance of breaching the cap over a 30-day window.
        #[arg(long, default_value_t = 0.05)]
        max_breach: f64,
        /// Seconds within which an answered person must reach an agent not to count as a
        /// compliance abandon; default the scenario's `[pacing.abandon] threshold`.
        #[arg(long)]
        compliance_wait: Option<f64>,
        /// Whose numbers to summarise: the dialer's view, or the simulator's ground truth.
        #[arg(long, value_enum, default_value_t = View::Engine)]
        view: View,
        /// Write the results (every run and the summary) as JSON to FILE.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write one CSV row per setting to FILE.
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Write a self-contained HTML report with the frontier to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Run only shard I of N (0 <= I < N) and save its runs with --json, for `dialer merge`.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Continue an interrupted sweep from its saved results.
        #[arg(long, value_name = "FILE")]
        resume: Option<PathBuf>,
    },
    /// Merge the results of sweep shards (or partial runs) into one sweep.
    Merge {
        /// Results files written by `dialer sweep --json`.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Check a scenario file and report every problem, without running it.
    Check {
        scenario: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Import leads from a CSV file into a campaign of the store (created if new).
    Import {
        /// The campaign's name.
        campaign: String,
        /// The CSV file: a header with a `phone` column; optional `time_zone`, `region`,
        /// `priority`; other columns are kept as custom fields.
        file: PathBuf,
        /// The store (SQLite file).
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// Region (ISO code, like US) for numbers written without a + country code.
        #[arg(long)]
        region: Option<String>,
        /// Time zone for leads whose zone cannot be told from the row or the number.
        #[arg(long)]
        default_zone: Option<String>,
    },
    /// The do-not-call list of the store.
    Dnc {
        #[command(subcommand)]
        action: DncAction,
        /// The store (SQLite file).
        #[arg(long, default_value = DEFAULT_DB, global = true)]
        db: PathBuf,
        /// Region (ISO code) for numbers written without a + country code.
        #[arg(long, global = true)]
        region: Option<String>,
    },
    /// Leads by status, attempts by outcome and the abandon windows of a campaign in the store.
    Status {
        campaign: String,
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
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
    /// Run a live campaign against PortaSwitch (or a fake switch).
    Run {
        /// The campaign file (TOML).
        campaign: PathBuf,
        /// Write the live event trace to FILE as JSON lines (the format of `simulate --trace`).
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
        /// Print one JSON object instead of the summary.
        #[arg(long)]
        json: bool,
        /// Override a campaign setting, like `--set pacing.ratio=1.5` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Only check the campaign file.
        #[arg(long)]
        check: bool,
    },
    /// Re-run the engine's decisions over a recorded trace (from `run --record` or
    /// `simulate --trace`), with the settings of the campaign or scenario that produced it.
    Replay {
        /// The recorded trace (JSON lines).
        trace: PathBuf,
        /// The live campaign file the trace was recorded with.
        #[arg(
            long,
            conflicts_with = "scenario",
            required_unless_present = "scenario"
        )]
        campaign: Option<PathBuf>,
        /// The scenario file the trace was simulated from.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Seed of the simulated run (pacing's random stream); default the scenario's.
        #[arg(long)]
        seed: Option<u64>,
        /// Write the replayed trace to FILE.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Fit callees and agents from a recorded trace and simulate the campaign with the recorded
    /// pacing and with another one (`--set pacing.ratio=2.0`, ...).
    Backtest {
        /// The recorded trace (JSON lines).
        trace: PathBuf,
        /// The live campaign file the trace was recorded with.
        #[arg(
            long,
            conflicts_with = "scenario",
            required_unless_present = "scenario"
        )]
        campaign: Option<PathBuf>,
        /// The scenario file the trace was simulated from.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Settings of the pacing to try, applied to the fitted scenario (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Write the fitted scenario to FILE.
        #[arg(long, value_name = "FILE")]
        write_scenario: Option<PathBuf>,
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Serve the campaign console: a web UI and JSON API to create, run and watch campaigns,
    /// with Prometheus metrics at /metrics.
    Serve {
        /// Address to listen on (port 0 picks a free port; the address is printed).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Start an embedded fake PortaSwitch and a running demo campaign against it.
        #[arg(long)]
        demo: bool,
        /// Read the admin token from this environment variable (default DIALER_ADMIN_TOKEN);
        /// without it (or --token-file) a random token is made and printed once.
        #[arg(long, value_name = "NAME", default_value = "DIALER_ADMIN_TOKEN")]
        token_env: String,
        /// Read the admin token from this file instead.
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// Mark the session cookie Secure (serve behind HTTPS).
        #[arg(long)]
        cookie_secure: bool,
        /// Record each live campaign's trace to DIR/campaign-ID.jsonl.
        #[arg(long, value_name = "DIR")]
        record_dir: Option<PathBuf>,
        /// Keep the campaigns in this SQLite file (created if missing) and bring them back at
        /// start; campaigns that were running come back `interrupted`, to be started again by
        /// an admin. Without it, campaigns live in memory and a restart forgets them.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// Load a trace (from `simulate --trace` or `run --record`) to play back, and start it.
        #[arg(long, value_name = "FILE")]
        playback: Option<PathBuf>,
        /// Playback speed: engine seconds per real second.
        #[arg(long, default_value_t = 10.0)]
        speed: f64,
    },
    /// Serve a fake PortaSwitch over HTTP: the API, a simulated call queue in real time, and
    /// callbacks, with configurable faults.
    FakeSwitch {
        /// Address to listen on, like 127.0.0.1:8790 (port 0 picks a free port).
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// The fake switch's settings file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Override a setting, like `--set faults.fault_rate=0.1` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
}

/// The store used when `--db` is not given.
pub const DEFAULT_DB: &str = "dialer.db";

#[derive(Debug, Subcommand)]
pub enum DncAction {
    /// Add numbers.
    Add { numbers: Vec<String> },
    /// Remove numbers.
    Remove { numbers: Vec<String> },
    /// Print the list, one number a line.
    List,
    /// Add every number of a file: one a line (`#` comments), or a CSV whose first column is
    /// the number.
    Import { file: PathBuf },
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
    #[error(transparent)]
    Replay(#[from] crate::replay::ReplayError),
    #[error("cannot start the fake switch on {address}: {source}")]
    FakeSwitch {
        address: String,
        #[source]
        source: std::io::Error,
    },
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
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Sweep(#[from] crate::sweep::command::CommandError),
    #[error(transparent)]
    Console(#[from] crate::console::ConsoleError),
    #[error(transparent)]
    Token(#[from] crate::console::auth::TokenError),
    #[error("cannot read the trace {path}: {message}")]
    Playback { path: String, message: String },
    #[error("the run broke its invariants: {violated} (details in the report)")]
    Invariants { violated: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// 2 for bad input, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Scenario(_) | CliError::Import(_) | CliError::BadInput(_) => 2,
            CliError::Explain(error) if error.is_bad_input() => 2,
            CliError::Replay(crate::replay::ReplayError::Read { .. })
            | CliError::Replay(crate::replay::ReplayError::Record { .. })
            | CliError::Replay(crate::replay::ReplayError::LaterRun(_))
            | CliError::Replay(crate::replay::ReplayError::RunStart(_)) => 2,
            CliError::Sweep(error) => error.exit_code(),
            CliError::Token(_) | CliError::Playback { .. } => 2,
            CliError::Console(error) if error.is_bad_input() => 2,
            CliError::Invariants { .. } => 3,
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
            html,
        } => {
            let scenario = Scenario::load(&scenario, &overrides)?;
            let seed = seed.unwrap_or(scenario.seed);
            let options = SimulationOptions {
                quiescence: if runtime_idle {
                    Quiescence::RuntimeIdle
                } else {
                    Quiescence::MailCount
                },
                sample_every: html.is_some().then(|| SimDuration::from_secs(60)),
            };
            let (report, run) = simulate_to(&scenario, seed, trace.as_deref(), options)?;
            if let Some(path) = &html {
                write_html(path, &report, &run)?;
            }
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
            if !report.invariants.ok {
                return Err(CliError::Invariants {
                    violated: report.invariants.violations().join(", "),
                });
            }
            Ok(())
        }
        Command::Sweep {
            scenario,
            grid,
            seeds,
            first_seed,
            threads,
            overrides,
            abandon_cap,
            max_breach,
            compliance_wait,
            view,
            json,
            csv,
            html,
            shard,
            resume,
        } => {
            // The dialer's own abandon accounting decides by default: the same cap and
            // threshold as the scenario's `[pacing.abandon]`.
            let abandon = Scenario::load(&scenario, &overrides)?.pacing.abandon;
            let abandon_cap = abandon_cap.unwrap_or(abandon.cap);
            let compliance_wait = compliance_wait.unwrap_or(abandon.threshold.as_secs_f64());
            let args = SweepArgs {
                scenario,
                grid,
                seeds,
                first_seed,
                threads,
                overrides,
                constraints: Constraints {
                    abandon_cap,
                    max_breach_probability: max_breach,
                    compliance_wait_s: compliance_wait,
                    view,
                },
                json,
                csv,
                html,
                shard,
                resume,
            };
            Ok(crate::sweep::command::sweep(args, out)?)
        }
        Command::Merge {
            files,
            json,
            csv,
            html,
        } => Ok(crate::sweep::command::merge(
            &files,
            json.as_deref(),
            csv.as_deref(),
            html.as_deref(),
            out,
        )?),
        Command::Check {
            scenario,
            overrides,
        } => {
            let loaded = Scenario::load(&scenario, &overrides)?;
            writeln!(out, "{}: ok ({})", scenario.display(), loaded.name).map_err(CliError::Output)
        }
        Command::Import {
            campaign,
            file,
            db,
            region,
            default_zone,
        } => import_leads(&campaign, &file, &db, region, default_zone, out),
        Command::Dnc { action, db, region } => dnc(action, &db, region.as_deref(), out),
        Command::Status { campaign, db } => status(&campaign, &db, out),
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
        Command::Run {
            campaign,
            record,
            json,
            overrides,
            check,
        } => {
            let loaded = LiveCampaign::load(&campaign, &overrides)?;
            if check {
                return writeln!(out, "{}: ok ({})", campaign.display(), loaded.name)
                    .map_err(CliError::Output);
            }
            let report = run_live_to(&loaded, record.as_deref())?;
            let text = if json {
                let mut text =
                    serde_json::to_string(&report).map_err(|e| CliError::Output(e.into()))?;
                text.push('\n');
                text
            } else {
                report.to_table()
            };
            out.write_all(text.as_bytes()).map_err(CliError::Output)
        }
        Command::Replay {
            trace,
            campaign,
            scenario,
            seed,
            out: replayed_to,
            overrides,
        } => {
            let setup = match (campaign, scenario) {
                (Some(campaign), _) => LiveCampaign::load(&campaign, &overrides)?.setup,
                (None, Some(scenario)) => {
                    let scenario = Scenario::load(&scenario, &overrides)?;
                    scenario.campaign_setup(seed.unwrap_or(scenario.seed))
                }
                (None, None) => unreachable!("clap requires one of them"),
            };
            let recording = crate::replay::Recording::load(&trace)?;
            let (report, replayed) = crate::replay::replay(&recording, setup)?;
            if let Some(path) = replayed_to {
                std::fs::write(&path, replayed).map_err(|source| CliError::TraceFile {
                    path: path.display().to_string(),
                    source,
                })?;
            }
            let mut text =
                serde_json::to_string(&report).map_err(|e| CliError::Output(e.into()))?;
            text.push('\n');
            out.write_all(text.as_bytes()).map_err(CliError::Output)
        }
        Command::Backtest {
            trace,
            campaign,
            scenario,
            overrides,
            write_scenario,
            seed,
        } => {
            let setup = match (campaign, scenario) {
                (Some(campaign), _) => LiveCampaign::load(&campaign, &[])?.setup,
                (None, Some(scenario)) => {
                    let scenario = Scenario::load(&scenario, &[])?;
                    scenario.campaign_setup(scenario.seed)
                }
                (None, None) => unreachable!("clap requires one of them"),
            };
            let recording = crate::replay::Recording::load(&trace)?;
            let fit = crate::backtest::fit(&recording);
            let text = crate::backtest::scenario_text(&fit, "backtest", &setup);
            if let Some(path) = write_scenario {
                std::fs::write(&path, &text).map_err(|source| CliError::TraceFile {
                    path: path.display().to_string(),
                    source,
                })?;
            }
            let fitted = Scenario::from_toml("(fitted scenario)", &text, &[])?;
            let proposed = Scenario::from_toml("(fitted scenario)", &text, &overrides)?;
            let seed = seed.unwrap_or(1);
            let (recorded, _) = simulate_to(&fitted, seed, None, SimulationOptions::default())?;
            let (proposed, _) = simulate_to(&proposed, seed, None, SimulationOptions::default())?;
            let summary = serde_json::json!({
                "fitted_attempts": fit.attempts,
                "agents": fit.agents,
                "recorded_pacing": recorded,
                "proposed_pacing": proposed,
            });
            let mut text =
                serde_json::to_string(&summary).map_err(|e| CliError::Output(e.into()))?;
            text.push('\n');
            out.write_all(text.as_bytes()).map_err(CliError::Output)
        }
        Command::Serve {
            listen,
            demo,
            token_env,
            token_file,
            cookie_secure,
            record_dir,
            state,
            playback,
            speed,
        } => {
            let (token, generated) = crate::console::auth::load_token(
                token_file.as_deref(),
                std::env::var(&token_env).ok(),
            )?;
            let playback = match playback {
                None => None,
                Some(path) => {
                    let text =
                        std::fs::read_to_string(&path).map_err(|error| CliError::Playback {
                            path: path.display().to_string(),
                            message: error.to_string(),
                        })?;
                    crate::console::playback::Playback::parse(&text).map_err(|error| {
                        CliError::Playback {
                            path: path.display().to_string(),
                            message: error.to_string(),
                        }
                    })?;
                    let name = path
                        .file_stem()
                        .map_or("playback".into(), |s| s.to_string_lossy().to_string());
                    Some((name, text))
                }
            };
            let mut settings = crate::console::ConsoleSettings::new(listen, token.clone());
            settings.demo = demo;
            settings.cookie_secure = cookie_secure;
            settings.manager.record_dir = record_dir;
            if state.is_none() && !demo {
                tracing::warn!(
                    "no --state file: campaigns live in memory and a restart of the console forgets them"
                );
            }
            settings.state_file = state;
            crate::console::serve(settings, |console| {
                if let Some((name, text)) = &playback
                    && let Ok(managed) = console.manager.create_playback(name, text, speed)
                {
                    let _ = console.manager.start(managed.id);
                }
                writeln!(out, "console listening on http://{}", console.address)?;
                if let Some(demo) = &console.demo {
                    writeln!(
                        out,
                        "demo: fake PortaSwitch at {}; campaign {} is running",
                        demo.fake.url(),
                        demo.campaign
                    )?;
                }
                if generated {
                    // Shown once, to whoever started the server; never logged.
                    writeln!(
                        out,
                        "admin token (set {token_env} to choose one): {}",
                        token.expose()
                    )?;
                }
                if let Some(path) = console.manager.state_file() {
                    let campaigns = console.manager.list();
                    let interrupted = campaigns
                        .iter()
                        .filter(|c| c.phase() == crate::console::manager::Phase::Interrupted)
                        .count();
                    writeln!(
                        out,
                        "console state: {path}: {} campaigns kept, {interrupted} interrupted",
                        campaigns.iter().filter(|c| c.kept()).count()
                    )?;
                }
                out.flush()
            })?;
            Ok(())
        }
        Command::FakeSwitch {
            listen,
            config,
            overrides,
        } => {
            let config = FakeConfig::load(&config, &overrides)?;
            serve_fake_switch(config, listen, out)
        }
    }
}

/// Serves the fake switch until the process is stopped. Prints the address it listens on.
fn serve_fake_switch(
    config: FakeConfig,
    listen: std::net::SocketAddr,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let system = actix::System::new();
    let started = system.block_on(async move { fake_switch::start(config, listen) });
    let fake = started.map_err(|source| CliError::FakeSwitch {
        address: listen.to_string(),
        source,
    })?;
    writeln!(out, "fake switch listening on http://{}", fake.address).map_err(CliError::Output)?;
    out.flush().map_err(CliError::Output)?;
    system.run().map_err(|source| CliError::FakeSwitch {
        address: listen.to_string(),
        source,
    })
}

/// Runs a live campaign, recording the trace (if asked) through a temporary file renamed into
/// place when the run ends.
pub fn run_live_to(campaign: &LiveCampaign, record: Option<&Path>) -> Result<LiveReport, CliError> {
    let (sink, partial) = match record {
        None => (TraceSink::hashing_only(), None),
        Some(path) => {
            let partial = partial_path(path);
            let file = File::create(&partial).map_err(|source| CliError::TraceFile {
                path: partial.display().to_string(),
                source,
            })?;
            (
                TraceSink::writing_to(Box::new(BufWriter::with_capacity(1 << 16, file))),
                Some(partial),
            )
        }
    };
    let result = runtime::run_live(campaign, sink, None);
    match (result, record, partial) {
        (Ok(run), record, partial) => {
            if let (Some(path), Some(partial)) = (record, partial) {
                std::fs::rename(&partial, path).map_err(|source| CliError::TraceFile {
                    path: path.display().to_string(),
                    source,
                })?;
            }
            Ok(LiveReport::build(&campaign.name, &run))
        }
        (Err(error), _, partial) => {
            if let Some(partial) = partial {
                let _ = std::fs::remove_file(&partial);
            }
            Err(error.into())
        }
    }
}

fn import_leads(
    campaign: &str,
    file: &Path,
    db: &Path,
    region: Option<String>,
    default_zone: Option<String>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let name = file.display().to_string();
    let input = File::open(file).map_err(|source| crate::import::ImportError::Read {
        file: name.clone(),
        source,
    })?;
    let options = crate::import::ImportOptions {
        default_region: region,
        default_zone,
    };
    let read = crate::import::read_leads(&name, std::io::BufReader::new(input), &options)?;
    let mut store = crate::store::Store::open(db)?;
    let now = crate::clock::wall_now();
    let id = store.campaign(campaign, now)?;
    let counts = store.insert_leads(id, &read.leads, now)?;
    let mut dnc = 0;
    for lead in &read.leads {
        if store.dnc_contains(&lead.phone)? {
            dnc += 1;
        }
    }
    let mut text = format!(
        "{name}: {} rows into campaign `{campaign}`: {} leads added, {} merged into leads the campaign had, {} duplicate rows merged, {} rows rejected\n",
        read.rows,
        counts.inserted,
        counts.merged,
        read.duplicates,
        read.errors.len()
    );
    if dnc > 0 {
        text.push_str(&format!(
            "  {dnc} of the imported numbers are on the do-not-call list and will not be dialed\n"
        ));
    }
    for error in &read.errors {
        text.push_str(&format!("  {name}: {error}\n"));
    }
    out.write_all(text.as_bytes()).map_err(CliError::Output)
}

fn dnc(
    action: DncAction,
    db: &Path,
    region: Option<&str>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let region = region
        .map(crate::compliance::phone::region)
        .transpose()
        .map_err(|e| CliError::BadInput(format!("--region: {e}")))?;
    let normalize_all = |numbers: &[String]| -> Result<Vec<crate::domain::PhoneNumber>, CliError> {
        numbers
            .iter()
            .map(|n| {
                crate::compliance::phone::normalize(n, region)
                    .map_err(|e| CliError::BadInput(format!("`{n}`: {e}")))
            })
            .collect()
    };
    let mut store = crate::store::Store::open(db)?;
    let now = crate::clock::wall_now();
    let text = match action {
        DncAction::Add { numbers } => {
            let numbers = normalize_all(&numbers)?;
            let added = store.dnc_add_all(&numbers, "cli", now)?;
            format!(
                "{added} added, {} already listed\n",
                numbers.len() as u64 - added
            )
        }
        DncAction::Remove { numbers } => {
            let mut removed = 0;
            for number in normalize_all(&numbers)? {
                removed += u64::from(store.dnc_remove(&number)?);
            }
            format!(
                "{removed} removed, {} were not listed\n",
                numbers.len() as u64 - removed
            )
        }
        DncAction::List => store
            .dnc_list()?
            .iter()
            .map(|number| format!("{number}\n"))
            .collect(),
        DncAction::Import { file } => {
            let name = file.display().to_string();
            let input = std::fs::read_to_string(&file).map_err(|source| {
                crate::import::ImportError::Read {
                    file: name.clone(),
                    source,
                }
            })?;
            let (numbers, errors) = crate::import::read_dnc(&input, region);
            let added = store.dnc_add_all(&numbers, &name, now)?;
            let mut text = format!(
                "{name}: {} numbers, {added} added, {} already listed, {} lines rejected\n",
                numbers.len(),
                numbers.len() as u64 - added,
                errors.len()
            );
            for error in errors {
                text.push_str(&format!("  {name}: {error}\n"));
            }
            text
        }
    };
    out.write_all(text.as_bytes()).map_err(CliError::Output)
}

fn status(campaign: &str, db: &Path, out: &mut dyn Write) -> Result<(), CliError> {
    let store = crate::store::Store::open(db)?;
    let id = store.find_campaign(campaign)?.ok_or_else(|| {
        CliError::BadInput(format!(
            "no campaign named `{campaign}` in {}",
            db.display()
        ))
    })?;
    let leads = store.lead_counts(id)?;
    let outcomes = store.outcome_counts(id)?;
    let mut text = format!("campaign `{campaign}`\n  leads:");
    for (status, count) in &leads {
        text.push_str(&format!(" {status} {count},"));
    }
    text.pop();
    text.push_str("\n  attempts:");
    if outcomes.is_empty() {
        text.push_str(" none");
    }
    for (outcome, count) in &outcomes {
        text.push_str(&format!(" {outcome} {count},"));
    }
    if !outcomes.is_empty() {
        text.pop();
    }
    text.push('\n');
    text.push_str(&abandon_status(&store, id)?);
    out.write_all(text.as_bytes()).map_err(CliError::Output)
}

/// The abandon windows of a stored campaign as of now, with the default accounting (not
/// connected within 2 s, over live answers), from its abandon log.
fn abandon_status(
    store: &crate::store::Store,
    campaign: crate::store::CampaignId,
) -> Result<String, CliError> {
    use crate::pacing::abandon::{AbandonCounts, AbandonLedger, AbandonSettings};
    let settings = AbandonSettings::default();
    let prior = store.prior_answers(campaign, crate::clock::wall_now())?;
    if prior.is_empty() {
        return Ok("  abandons: no call answered yet\n".to_string());
    }
    let mut ledger = AbandonLedger::new(settings);
    ledger.carry_in(&prior);
    let show = |counts: AbandonCounts| {
        format!(
            "{:.2}% ({} of {})",
            100.0 * counts.compliance_rate(settings.denominator),
            counts.compliance_abandons,
            counts.denominator(settings.denominator)
        )
    };
    Ok(format!(
        "  abandons (not connected within {} s, over live answers): last 24 h {}, last 30 days {}, \
         campaign to date {}; cap {:.1}%\n",
        settings.threshold.as_secs_f64(),
        show(ledger.rolling_24h()),
        show(ledger.rolling_30d()),
        show(ledger.campaign()),
        100.0 * settings.cap
    ))
}

/// Writes the HTML report of a run: the report, the switch's samples and the engine's waits.
fn write_html(path: &Path, report: &RunReport, run: &SimulationRun) -> Result<(), CliError> {
    let samples = run.outcome.samples.as_deref().unwrap_or(&[]);
    let tally = run.outcome.engine.as_ref().map(|engine| &engine.tally);
    let longest = report.wait_ms.max;
    // About forty bars, in whole tenths of a second.
    let bucket_ms = (longest / 40).div_ceil(100).max(1) * 100;
    let waits = tally.map_or_else(Vec::new, |tally| tally.wait_buckets(bucket_ms));
    let page = crate::html::simulation_page(report, samples, &waits, bucket_ms);
    std::fs::write(path, page).map_err(|source| CliError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// Runs a scenario, writing the trace (if asked) through a temporary file that is renamed into
/// place only when the run succeeds.
pub fn simulate_to(
    scenario: &Scenario,
    seed: u64,
    trace_path: Option<&Path>,
    options: SimulationOptions,
) -> Result<(RunReport, SimulationRun), CliError> {
    let Some(path) = trace_path else {
        let run = runtime::simulate_with(scenario, seed, TraceSink::hashing_only(), options)?;
        return Ok((RunReport::build(scenario, seed, &run), run));
    };
    let partial = partial_path(path);
    let file = File::create(&partial).map_err(|source| CliError::TraceFile {
        path: partial.display().to_string(),
        source,
    })?;
    let sink = TraceSink::writing_to(Box::new(BufWriter::with_capacity(1 << 16, file)));
    let result = runtime::simulate_with(scenario, seed, sink, options);
    match result {
        Ok(run) => {
            std::fs::rename(&partial, path).map_err(|source| CliError::TraceFile {
                path: path.display().to_string(),
                source,
            })?;
            Ok((RunReport::build(scenario, seed, &run), run))
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
