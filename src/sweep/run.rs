//! Runs a sweep's jobs on worker threads, one simulation (and one actor System) at a time per
//! thread, and hands each finished job back in completion order.
//!
//! Jobs are independent: a worker takes the next job index from a shared counter, runs the
//! simulation on its own thread and sends the metrics back. The results do not depend on which
//! thread ran what: they are keyed by (setting, seed) and ordered before anything is summed.
//!
//! A stop flag (set by Ctrl-C) lets running jobs finish and starts no new one. This module must
//! not decide anything about the results.

use super::results::{JobResult, RunMetrics};
use super::{Shard, SweepSpec};
use crate::runtime::{self, RuntimeError};
use crate::scenario::Scenario;
use crate::sim::switch::{Quiescence, RunStatus};
use crate::trace::TraceSink;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("setting {setting}, seed {seed} failed")]
    Runtime {
        setting: String,
        seed: u64,
        #[source]
        source: RuntimeError,
    },
    #[error(
        "setting {setting}, seed {seed}: the simulation stalled (nothing left to happen, campaign unfinished)"
    )]
    Stalled { setting: String, seed: u64 },
}

/// Which jobs to run and how.
pub struct JobPlan<'a> {
    pub spec: &'a SweepSpec,
    pub scenarios: &'a [Scenario],
    pub threads: usize,
    pub shard: Option<Shard>,
    /// Jobs already done (when resuming), as (setting, seed).
    pub done: &'a BTreeSet<(usize, u64)>,
    /// Set to stop starting new jobs.
    pub stop: &'a AtomicBool,
}

impl JobPlan<'_> {
    /// The job indices this process must run.
    pub fn pending(&self) -> Vec<usize> {
        (0..self.spec.job_count())
            .filter(|job| self.shard.is_none_or(|shard| shard.owns(*job)))
            .filter(|job| !self.done.contains(&self.spec.job(*job)))
            .collect()
    }

    /// Runs the pending jobs; `on_done` sees each result as it arrives. Returns the results
    /// that finished (all of them unless stopped) and the first failure, if any (after which no
    /// new job starts).
    pub fn run(&self, mut on_done: impl FnMut(&JobResult)) -> (Vec<JobResult>, Option<JobError>) {
        let pending = self.pending();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let threads = self.threads.clamp(1, pending.len().max(1));
        let (sender, receiver) = mpsc::channel::<Result<JobResult, JobError>>();
        let mut results = Vec::with_capacity(pending.len());
        let mut first_error = None;
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let sender = sender.clone();
                let (pending, next, failed) = (&pending, &next, &failed);
                scope.spawn(move || {
                    loop {
                        if self.stop.load(Ordering::Relaxed) || failed.load(Ordering::Relaxed) {
                            break;
                        }
                        let slot = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&job) = pending.get(slot) else {
                            break;
                        };
                        let result = self.run_job(job);
                        if result.is_err() {
                            failed.store(true, Ordering::Relaxed);
                        }
                        if sender.send(result).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(sender);
            for result in receiver {
                match result {
                    Ok(result) => {
                        on_done(&result);
                        results.push(result);
                    }
                    Err(error) => {
                        first_error.get_or_insert(error);
                    }
                }
            }
        });
        (results, first_error)
    }

    fn run_job(&self, job: usize) -> Result<JobResult, JobError> {
        let (setting, seed) = self.spec.job(job);
        let scenario = &self.scenarios[setting];
        let describe = || self.spec.describe(&self.spec.setting(setting));
        let run = runtime::simulate(
            scenario,
            seed,
            TraceSink::hashing_only(),
            Quiescence::MailCount,
        )
        .map_err(|source| JobError::Runtime {
            setting: describe(),
            seed,
            source,
        })?;
        if run.outcome.status == RunStatus::Stalled {
            return Err(JobError::Stalled {
                setting: describe(),
                seed,
            });
        }
        Ok(JobResult {
            setting,
            seed,
            metrics: RunMetrics::from_run(scenario, seed, &run, &self.spec.constraints),
        })
    }
}
