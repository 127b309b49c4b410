//! Samples of the simulated switch's state at fixed virtual intervals, for the HTML report's
//! time series.
//!
//! The sampler reads the model between calendar entries; it sends no message and draws no
//! randomness, so a run with samples has the same trace as one without. It owns no engine
//! state and must not influence the run.

use super::model::{Gauges, SimSwitchModel};
use crate::time::{SimDuration, SimTime};
use serde::Serialize;

/// The switch at one instant, with the ground truth's running counts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sample {
    pub at: SimTime,
    #[serde(flatten)]
    pub gauges: Gauges,
    /// Calls placed so far.
    pub attempts: u64,
    /// Persons who answered so far.
    pub answered: u64,
    /// Answered persons who reached an agent so far.
    pub connected: u64,
}

/// Takes a [`Sample`] at every multiple of its period.
#[derive(Clone, Debug)]
pub struct Sampler {
    every: SimDuration,
    next: SimTime,
    samples: Vec<Sample>,
}

impl Sampler {
    /// Samples every `every` from time zero. A zero period is taken as one minute.
    pub fn new(every: SimDuration) -> Sampler {
        let every = if every.is_zero() {
            SimDuration::from_secs(60)
        } else {
            every
        };
        Sampler {
            every,
            next: SimTime::ZERO,
            samples: Vec::new(),
        }
    }

    /// Records a sample for every period boundary up to and including `until`. Call it before
    /// the model takes an entry at `until`: the model then shows every entry before it.
    pub fn catch_up(&mut self, until: SimTime, model: &SimSwitchModel) {
        if self.next > until {
            return;
        }
        let gauges = model.gauges();
        let tally = &model.truth().tally;
        while self.next <= until {
            self.samples.push(Sample {
                at: self.next,
                gauges,
                attempts: tally.attempts,
                answered: tally.answered,
                connected: tally.connected,
            });
            self.next += self.every;
        }
    }

    pub fn period(&self) -> SimDuration {
        self.every
    }

    pub fn into_samples(self) -> Vec<Sample> {
        self.samples
    }
}
