//! Pacing: how many calls to place now. Pure decisions over a [`PacingSnapshot`].
//!
//! A strategy looks at the campaign's current numbers (agents idle, dials in flight, calls
//! waiting) and answers with a [`Decision`]. The [`QueueGuard`] wraps every strategy: it pauses
//! dialing while too many answered calls wait in the queue, as the release note's app does.
//! [`actor::PacingActor`] feeds snapshots in and sends the decisions to the campaign.
//!
//! Strategies here:
//! - **progressive**: one dial in flight per idle agent;
//! - **power**: `ceil(ratio × idle agents)` dials in flight;
//! - **rate**: open loop, dials at a mean rate with exponential gaps, so answered calls reach the
//!   queue as a Poisson stream (the actor draws the gaps; [`rate_gap`] turns a uniform draw into
//!   one).
//!
//! Nothing here reads a clock, draws randomness or sends messages.

pub mod actor;

use crate::time::{SimDuration, SimTime};
use serde::Serialize;

/// The campaign's numbers at one instant, as pacing sees them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PacingSnapshot {
    pub now: SimTime,
    pub agents_logged_in: u32,
    /// Agents with a call ringing them, talking, or holding.
    pub agents_on_calls: u32,
    /// Agents the dialer believes are still in wrap-up after a call.
    pub agents_in_wrap_up: u32,
    /// Dials placed and not yet answered or failed, including orders the campaign has not yet
    /// placed (see [`actor::PacingActor`]).
    pub dials_in_flight: u32,
    /// Answered calls in the queue, waiting for an agent.
    pub calls_queued: u32,
    /// Leads that could be dialed right now.
    pub dialable_leads: u64,
    /// False once the campaign has stopped placing new calls.
    pub dialing_open: bool,
}

impl PacingSnapshot {
    /// Agents neither on a call nor in wrap-up.
    pub fn idle_agents(&self) -> u32 {
        self.agents_logged_in
            .saturating_sub(self.agents_on_calls)
            .saturating_sub(self.agents_in_wrap_up)
    }
}

/// A pacing strategy and its settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum Strategy {
    Progressive,
    Power { ratio: f64 },
    Rate { per_minute: f64 },
}

impl Strategy {
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Progressive => "progressive",
            Strategy::Power { .. } => "power",
            Strategy::Rate { .. } => "rate",
        }
    }

    /// True when the strategy dials on its own schedule rather than on state changes.
    pub fn is_open_loop(&self) -> bool {
        matches!(self, Strategy::Rate { .. })
    }

    /// True when the decision can change with the passage of time alone, so the pacing actor
    /// must re-evaluate on its tick even without news from the campaign.
    ///
    /// Progressive and power decide from the campaign's counts only, and the campaign reports
    /// every change of those counts (wrap-ups ending and redials falling due included), each
    /// answered by an evaluation at once; a tick in between would see the same counts and,
    /// because dials already ordered count as in flight, decide to dial nothing. Rate dials on
    /// its own arrival timer.
    pub fn needs_tick(&self) -> bool {
        match self {
            Strategy::Progressive | Strategy::Power { .. } | Strategy::Rate { .. } => false,
        }
    }

    /// How many dials to place now, for closed-loop strategies. Open-loop strategies answer
    /// zero here; their dials come from [`rate_gap`] arrivals.
    pub fn decide(&self, snapshot: &PacingSnapshot) -> Decision {
        let idle = snapshot.idle_agents();
        let target = match *self {
            Strategy::Progressive => idle,
            Strategy::Power { ratio } => (ratio * f64::from(idle)).ceil() as u32,
            Strategy::Rate { .. } => 0,
        };
        let wanted = target.saturating_sub(snapshot.dials_in_flight);
        Decision::capped(wanted, target, snapshot)
    }
}

/// What pacing decided, with the number it aimed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Dials to place now.
    pub dial: u32,
    /// Dials the strategy wants in flight.
    pub target: u32,
    /// Why fewer than wanted, if so.
    pub limited_by: Option<Limit>,
}

/// What held a decision below what the strategy wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    Paused,
    NoLeads,
    DialingClosed,
}

impl Decision {
    pub fn none(target: u32) -> Decision {
        Decision {
            dial: 0,
            target,
            limited_by: None,
        }
    }

    /// Caps `wanted` by what the campaign can dial now.
    pub fn capped(wanted: u32, target: u32, snapshot: &PacingSnapshot) -> Decision {
        if wanted == 0 {
            return Decision::none(target);
        }
        if !snapshot.dialing_open {
            return Decision {
                dial: 0,
                target,
                limited_by: Some(Limit::DialingClosed),
            };
        }
        let available = u32::try_from(snapshot.dialable_leads).unwrap_or(u32::MAX);
        if available < wanted {
            return Decision {
                dial: available,
                target,
                limited_by: Some(Limit::NoLeads),
            };
        }
        Decision {
            dial: wanted,
            target,
            limited_by: None,
        }
    }

    pub fn paused(target: u32) -> Decision {
        Decision {
            dial: 0,
            target,
            limited_by: Some(Limit::Paused),
        }
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

/// The release note's automatic pause: stop dialing when `pause_at` answered calls are queued,
/// start again once the queue is down to `resume_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QueueGuard {
    pub pause_at: u32,
    pub resume_at: u32,
    paused: bool,
}

/// A change of the queue guard's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardTransition {
    Paused { queued: u32 },
    Resumed { queued: u32 },
}

impl QueueGuard {
    /// `resume_at` must be below `pause_at`; the scenario validator guarantees it.
    pub fn new(pause_at: u32, resume_at: u32) -> QueueGuard {
        QueueGuard {
            pause_at,
            resume_at,
            paused: false,
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Looks at the current queue length and says whether the guard changed state.
    pub fn observe(&mut self, queued: u32) -> Option<GuardTransition> {
        if !self.paused && queued >= self.pause_at {
            self.paused = true;
            Some(GuardTransition::Paused { queued })
        } else if self.paused && queued <= self.resume_at {
            self.paused = false;
            Some(GuardTransition::Resumed { queued })
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(logged_in: u32, on_calls: u32, wrap: u32, in_flight: u32) -> PacingSnapshot {
        PacingSnapshot {
            now: SimTime::ZERO,
            agents_logged_in: logged_in,
            agents_on_calls: on_calls,
            agents_in_wrap_up: wrap,
            dials_in_flight: in_flight,
            calls_queued: 0,
            dialable_leads: 1_000,
            dialing_open: true,
        }
    }

    #[test]
    fn progressive_keeps_one_dial_per_idle_agent() {
        let decision = Strategy::Progressive.decide(&snapshot(10, 4, 2, 1));
        assert_eq!(decision.target, 4);
        assert_eq!(decision.dial, 3);
    }

    #[test]
    fn power_rounds_the_target_up() {
        let power = Strategy::Power { ratio: 2.5 };
        let decision = power.decide(&snapshot(10, 7, 0, 2));
        assert_eq!(decision.target, 8); // ceil(2.5 * 3)
        assert_eq!(decision.dial, 6);
        assert_eq!(power.decide(&snapshot(10, 10, 0, 0)).dial, 0);
        assert_eq!(power.decide(&snapshot(10, 7, 0, 9)).dial, 0);
    }

    #[test]
    fn decisions_respect_leads_and_closed_dialing() {
        let mut few_leads = snapshot(10, 0, 0, 0);
        few_leads.dialable_leads = 3;
        let decision = Strategy::Progressive.decide(&few_leads);
        assert_eq!(
            (decision.dial, decision.limited_by),
            (3, Some(Limit::NoLeads))
        );
        let mut closed = snapshot(10, 0, 0, 0);
        closed.dialing_open = false;
        assert_eq!(Strategy::Progressive.decide(&closed).dial, 0);
    }

    #[test]
    fn a_repeated_evaluation_of_unchanged_counts_dials_nothing() {
        // Why counts-only strategies need no tick: once the dials ordered count as in flight,
        // the same counts ask for nothing more.
        for strategy in [Strategy::Progressive, Strategy::Power { ratio: 2.3 }] {
            assert!(!strategy.needs_tick());
            let mut counts = snapshot(20, 6, 3, 4);
            let first = strategy.decide(&counts);
            assert!(first.dial > 0);
            counts.dials_in_flight += first.dial;
            assert_eq!(strategy.decide(&counts).dial, 0);
        }
    }

    #[test]
    fn more_agents_busy_than_logged_in_means_no_idle_agents() {
        assert_eq!(snapshot(3, 5, 1, 0).idle_agents(), 0);
    }

    #[test]
    fn queue_guard_has_hysteresis() {
        let mut guard = QueueGuard::new(5, 2);
        assert_eq!(guard.observe(4), None);
        assert_eq!(
            guard.observe(5),
            Some(GuardTransition::Paused { queued: 5 })
        );
        assert_eq!(guard.observe(9), None);
        assert_eq!(guard.observe(3), None);
        assert!(guard.is_paused());
        assert_eq!(
            guard.observe(2),
            Some(GuardTransition::Resumed { queued: 2 })
        );
        assert!(!guard.is_paused());
    }

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
