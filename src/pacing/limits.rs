//! Dialing limits that hold whatever the strategy wants: a maximum of lines (dials in flight) per
//! logged-in agent, and a calls-per-second cap.
//!
//! The calls-per-second cap is a generic cell-rate algorithm on integer microseconds: dials are
//! spaced `1 / rate` apart on average, with a burst of up to one second's worth. It says how many
//! dials may go now and, when it holds some back, when the next one may go. (The ring-timeout
//! floor is a scenario rule, checked when the scenario is read.)
//!
//! Pure arithmetic; the pacing actor keeps the state and sets the timer.

use crate::time::{SimDuration, SimTime};
use serde::Serialize;

/// Limits on dialing, from the scenario's `[dialing]` section.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct DialLimits {
    /// Dials in flight may not exceed this many per logged-in agent.
    pub max_lines_per_agent: Option<f64>,
    /// Dials placed per second, at most.
    pub max_calls_per_second: Option<f64>,
}

impl DialLimits {
    /// The most dials that may be in flight with `agents_logged_in` agents.
    pub fn max_lines(&self, agents_logged_in: u32) -> Option<u32> {
        self.max_lines_per_agent
            .map(|per_agent| (per_agent * f64::from(agents_logged_in)).floor() as u32)
    }
}

/// The calls-per-second cap: a generic cell-rate algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallRateLimiter {
    /// Spacing between dials, in microseconds.
    spacing: u64,
    /// How far ahead of now the theoretical schedule may run (the burst).
    tolerance: u64,
    /// When the schedule is next free (theoretical arrival time).
    next_free: u64,
}

impl CallRateLimiter {
    /// A limiter for `per_second` dials a second (must be above 0), allowing a burst of one
    /// second's worth (at least one dial).
    pub fn new(per_second: f64) -> CallRateLimiter {
        let spacing = (1_000_000.0 / per_second).round().max(1.0) as u64;
        let burst = per_second.floor().max(1.0) as u64;
        CallRateLimiter {
            spacing,
            tolerance: spacing * (burst - 1),
            next_free: 0,
        }
    }

    /// How many dials may go at `now`.
    pub fn available(&self, now: SimTime) -> u32 {
        let now = now.as_micros();
        let start = self.next_free.max(now);
        let horizon = now + self.tolerance;
        if start > horizon {
            return 0;
        }
        u32::try_from((horizon - start) / self.spacing + 1).unwrap_or(u32::MAX)
    }

    /// Records `count` dials placed at `now`.
    pub fn take(&mut self, now: SimTime, count: u32) {
        let start = self.next_free.max(now.as_micros());
        self.next_free = start + self.spacing * u64::from(count);
    }

    /// When the next dial may go, if none may go at `now`.
    pub fn next_allowed(&self, now: SimTime) -> SimTime {
        let earliest = self.next_free.saturating_sub(self.tolerance);
        SimTime(earliest.max(now.as_micros()))
    }

    pub fn spacing(&self) -> SimDuration {
        SimDuration(self.spacing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn max_lines_scale_with_agents() {
        let limits = DialLimits {
            max_lines_per_agent: Some(2.5),
            max_calls_per_second: None,
        };
        assert_eq!(limits.max_lines(10), Some(25));
        assert_eq!(limits.max_lines(3), Some(7));
        assert_eq!(DialLimits::default().max_lines(10), None);
    }

    #[test]
    fn the_rate_limiter_allows_a_burst_then_spaces_dials() {
        let mut limiter = CallRateLimiter::new(5.0);
        let t0 = SimTime::from_secs(100);
        assert_eq!(limiter.available(t0), 5);
        limiter.take(t0, 5);
        assert_eq!(limiter.available(t0), 0);
        assert_eq!(limiter.next_allowed(t0), t0 + SimDuration::from_millis(200));
        assert_eq!(limiter.available(t0 + SimDuration::from_millis(200)), 1);
        assert_eq!(limiter.available(t0 + SimDuration::from_secs(1)), 5);
    }

    proptest! {
        /// However dials are requested, no one-second span holds more than the rate's burst
        /// plus the rate.
        #[test]
        fn the_rate_limiter_never_exceeds_its_rate(
            rate in 0.5f64..50.0,
            requests in proptest::collection::vec((0u64..3_000_000, 1u32..40), 1..80),
        ) {
            let mut limiter = CallRateLimiter::new(rate);
            let mut now = 0u64;
            let mut placed: Vec<u64> = Vec::new();
            for (gap, wanted) in requests {
                now += gap;
                let at = SimTime(now);
                let count = wanted.min(limiter.available(at));
                limiter.take(at, count);
                placed.extend(std::iter::repeat_n(now, count as usize));
            }
            let burst = rate.floor().max(1.0);
            for (index, start) in placed.iter().enumerate() {
                let in_second = placed[index..].iter().take_while(|t| **t < start + 1_000_000).count();
                prop_assert!(
                    in_second as f64 <= burst + rate + 1.0,
                    "{} dials in one second at rate {}", in_second, rate
                );
            }
        }
    }
}
