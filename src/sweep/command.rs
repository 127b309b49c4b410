//! `dialer sweep` and `dialer merge`: from arguments to files and a table.
//!
//! Parses the grid, loads and checks every setting before any run starts (bad input exits with
//! code 2 and writes nothing), runs the jobs with a progress bar on a terminal, and writes the
//! table to stdout and the results as JSON, CSV and HTML where asked. On Ctrl-C the runs that
//! finished are saved and the message says how to resume. Exit codes: 0, 1 (a run failed or a
//! file could not be written), 2 (bad input), 130 (interrupted).

use super::results::{ResultsError, ResultsFile};
use super::run::{JobError, JobPlan};
use super::{Axis, Constraints, Shard, SweepError, SweepSpec};
use crate::html;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The arguments of `dialer sweep`.
#[derive(Clone, Debug)]
pub struct SweepArgs {
    pub scenario: PathBuf,
    pub grid: Vec<String>,
    pub seeds: u64,
    pub first_seed: u64,
    pub threads: Option<usize>,
    pub overrides: Vec<String>,
    pub constraints: Constraints,
    pub json: Option<PathBuf>,
    pub csv: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub shard: Option<String>,
    pub resume: Option<PathBuf>,
}

/// Why a sweep or merge stopped.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Sweep(#[from] SweepError),
    #[error(transparent)]
    Results(#[from] ResultsError),
    #[error("--resume {path}: {reason}")]
    Resume { path: String, reason: String },
    #[error("a shard's results must be kept: add --json FILE")]
    ShardNeedsJson,
    #[error("{0}")]
    Job(#[from] JobError),
    #[error(
        "interrupted: {finished} of {total} runs finished and were saved to {saved}; run the same command with --resume {saved} to continue"
    )]
    Interrupted {
        finished: usize,
        total: usize,
        saved: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl CommandError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Sweep(_)
            | CommandError::Results(_)
            | CommandError::Resume { .. }
            | CommandError::ShardNeedsJson => 2,
            CommandError::Interrupted { .. } => 130,
            CommandError::Job(_) | CommandError::Write { .. } => 1,
        }
    }
}

/// The process-wide Ctrl-C flag (a handler can be installed once per process).
fn interrupted_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let setter = flag.clone();
        // Without a handler Ctrl-C simply ends the process, as before.
        let _ = ctrlc::set_handler(move || setter.store(true, Ordering::SeqCst));
        flag
    })
    .clone()
}

fn write_file(path: &Path, text: &str) -> Result<(), CommandError> {
    std::fs::write(path, text).map_err(|source| CommandError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn write_out(out: &mut dyn Write, text: &str) -> Result<(), CommandError> {
    out.write_all(text.as_bytes())
        .map_err(|source| CommandError::Write {
            path: "stdout".into(),
            source,
        })
}

/// Writes what was asked for: the table to `out`, and JSON, CSV, HTML files.
fn deliver(
    results: &ResultsFile,
    json: Option<&Path>,
    csv: Option<&Path>,
    html_path: Option<&Path>,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    if let Some(path) = json {
        write_file(path, &results.to_json())?;
    }
    if results.complete {
        if let Some(path) = csv {
            write_file(path, &results.to_csv())?;
        }
        if let Some(path) = html_path {
            write_file(path, &html::sweep_page(results))?;
        }
    }
    write_out(out, &results.to_table())
}

pub fn sweep(args: SweepArgs, out: &mut dyn Write) -> Result<(), CommandError> {
    let file = args.scenario.display().to_string();
    let text = std::fs::read_to_string(&args.scenario).map_err(|source| {
        SweepError::Scenario(crate::scenario::ScenarioError::Read {
            file: file.clone(),
            source,
        })
    })?;
    let axes = args
        .grid
        .iter()
        .map(|given| Axis::parse(given))
        .collect::<Result<Vec<_>, _>>()?;
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    if shard.is_some() && args.json.is_none() {
        return Err(CommandError::ShardNeedsJson);
    }
    let (spec, scenarios) = SweepSpec::build(
        &file,
        &text,
        args.overrides.clone(),
        axes,
        args.first_seed,
        args.seeds,
        args.constraints,
    )?;
    let earlier = match &args.resume {
        Some(path) => {
            let earlier = ResultsFile::load(path)?;
            if earlier.spec != spec {
                return Err(CommandError::Resume {
                    path: path.display().to_string(),
                    reason:
                        "it comes from a different sweep (scenario, grid, seeds or constraints)"
                            .into(),
                });
            }
            earlier.runs
        }
        None => Vec::new(),
    };
    let done: BTreeSet<(usize, u64)> = earlier.iter().map(|r| (r.setting, r.seed)).collect();
    let stop = interrupted_flag();
    stop.store(false, Ordering::SeqCst);
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let plan = JobPlan {
        spec: &spec,
        scenarios: &scenarios,
        threads,
        shard,
        done: &done,
        stop: &stop,
    };
    let pending = plan.pending().len();
    let progress = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(pending as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    progress.set_style(
        ProgressStyle::with_template(
            "{bar:40.cyan/blue} {pos}/{len} runs  {elapsed_precise} elapsed, ETA {eta_precise}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (finished, failure) = plan.run(|_| progress.inc(1));
    progress.finish_and_clear();
    let finished_now = finished.len();
    let mut runs = earlier;
    runs.extend(finished);
    let results = ResultsFile::new(spec, shard, runs);
    if let Some(error) = failure {
        return Err(error.into());
    }
    if finished_now < pending {
        // Stopped by Ctrl-C: keep what finished.
        let saved = args
            .json
            .clone()
            .unwrap_or_else(|| partial_path(&args.scenario));
        write_file(&saved, &results.to_json())?;
        return Err(CommandError::Interrupted {
            finished: results.runs.len(),
            total: match shard {
                Some(_) => done.len() + pending,
                None => results.spec.job_count(),
            },
            saved: saved.display().to_string(),
        });
    }
    deliver(
        &results,
        args.json.as_deref(),
        args.csv.as_deref(),
        args.html.as_deref(),
        out,
    )
}

/// Where an interrupted sweep without `--json` keeps its runs: beside the current directory's
/// other files, named after the scenario.
fn partial_path(scenario: &Path) -> PathBuf {
    let stem = scenario.file_stem().map_or_else(
        || "sweep".into(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    PathBuf::from(format!("{stem}.sweep-partial.json"))
}

/// `dialer merge`: combines shard (or partial) results into one sweep.
pub fn merge(
    files: &[PathBuf],
    json: Option<&Path>,
    csv: Option<&Path>,
    html_path: Option<&Path>,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let mut loaded = Vec::with_capacity(files.len());
    for path in files {
        loaded.push((path.display().to_string(), ResultsFile::load(path)?));
    }
    let merged = ResultsFile::merge(loaded)?;
    deliver(&merged, json, csv, html_path, out)
}
