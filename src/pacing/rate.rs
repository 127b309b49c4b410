//! Rate pacing: open loop, dials at a mean rate with exponential gaps, so answered calls reach
//! the queue as a Poisson stream. It ignores agents entirely; it exists to check the simulator
//! against Erlang C and Erlang A. The pacing actor draws the gaps from its seeded generator;
//! [`rate_gap`] turns a uniform draw into one.
//!
//! Pure: no state, no clock.

use super::{Decision, PacingInput, PacingStrategy, Strategy};
use crate::time::SimDuration;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_minute: f64,
}

impl PacingStrategy for Rate {
    fn name(&self) -> &'static str {
        "rate"
    }

    fn settings(&self) -> Strategy {
        Strategy::Rate {
            per_minute: self.per_minute,
        }
    }

    /// Closed-loop decisions are none: the dials come from [`rate_gap`] arrivals.
    fn decide(&mut self, _input: &PacingInput<'_>) -> Decision {
        Decision::none(0)
    }
}

/// The gap before the next open-loop dial at `per_minute` dials a minute, from a uniform draw
/// `u` in [0, 1): an exponential gap by inversion, so arrivals form a Poisson stream.
pub fn rate_gap(per_minute: f64, u: f64) -> SimDuration {
    let per_second = per_minute / 60.0;
    if per_second <= 0.0 {
        return SimDuration(u64::MAX / 4);
    }
    SimDuration::from_secs_f64(-(1.0 - u).ln() / per_second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_gaps_have_the_requested_mean() {
        let draws = 100_000;
        let total: f64 = (0..draws)
            .map(|i| rate_gap(30.0, (i as f64 + 0.5) / draws as f64).as_secs_f64())
            .sum();
        let mean = total / draws as f64;
        assert!((mean - 2.0).abs() < 0.01, "mean gap {mean}");
    }
}
