//! Preview pacing, agent first: reserve an idle agent, let them look at the lead for the preview
//! time, then place the call while the agent waits for it. At most one dial (placed or pending)
//! per idle agent, so an answered call always finds its agent; the cost is the preview time.
//!
//! A state machine over the snapshot: it remembers when each reservation's preview ends and asks
//! to be woken then ([`PacingStrategy::wake_at`]). A preview time of zero is progressive.

use super::{Decision, PacingInput, PacingStrategy, Strategy, StrategyNote, secs};
use crate::time::SimTime;
use std::collections::VecDeque;

#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    preview_seconds: f64,
    /// When each reserved agent's preview ends, in order.
    previews: VecDeque<SimTime>,
}

impl Preview {
    pub fn new(preview_seconds: f64) -> Preview {
        Preview {
            preview_seconds,
            previews: VecDeque::new(),
        }
    }

    pub fn set_preview_seconds(&mut self, preview_seconds: f64) {
        self.preview_seconds = preview_seconds;
    }

    /// Agents now previewing a lead.
    pub fn previewing(&self) -> u32 {
        self.previews.len() as u32
    }
}

impl PacingStrategy for Preview {
    fn name(&self) -> &'static str {
        "preview"
    }

    fn settings(&self) -> Strategy {
        Strategy::Preview {
            preview_seconds: self.preview_seconds,
        }
    }

    fn decide(&mut self, input: &PacingInput<'_>) -> Decision {
        let snapshot = input.snapshot;
        let now = snapshot.now;
        if !snapshot.dialing_open {
            self.previews.clear();
            return Decision::capped(0, 0, snapshot);
        }
        let idle = snapshot.idle_agents();
        let uncovered = idle.saturating_sub(snapshot.dials_in_flight);
        // Previews that are over become dials, as long as their agents are still idle.
        let mut due = 0u32;
        while self.previews.front().is_some_and(|end| *end <= now) {
            self.previews.pop_front();
            due += 1;
        }
        let due = due.min(uncovered);
        // Agents who left (logged out, took another call) take their reservations with them.
        while self.previewing() > uncovered - due {
            self.previews.pop_back();
        }
        let leads_left = snapshot.dialable_leads.saturating_sub(u64::from(due));
        let previewing = self.previewing();
        let free = uncovered.saturating_sub(due).saturating_sub(previewing);
        let reserve =
            u32::try_from(u64::from(free).min(leads_left.saturating_sub(u64::from(previewing))))
                .unwrap_or(0);
        let mut decision = Decision::capped(due, idle, snapshot);
        if self.preview_seconds <= 0.0 {
            // No preview: reserving and dialing are the same instant.
            decision = Decision::capped(due + reserve, idle, snapshot);
        } else {
            let end = now + secs(self.preview_seconds);
            for _ in 0..reserve {
                self.previews.push_back(end);
            }
            decision.reserve = reserve;
        }
        decision
    }

    fn wake_at(&self) -> Option<SimTime> {
        self.previews.front().copied()
    }

    fn note(&self) -> Option<StrategyNote> {
        Some(StrategyNote::Preview {
            previewing: self.previewing(),
            preview_seconds: self.preview_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pacing::test_support::{any_snapshot, snapshot};
    use crate::time::SimDuration;
    use proptest::prelude::*;

    fn at(mut s: crate::pacing::PacingSnapshot, secs: u64) -> crate::pacing::PacingSnapshot {
        s.now = SimTime::from_secs(secs);
        s
    }

    #[test]
    fn reserves_then_dials_when_the_preview_ends() {
        let mut preview = Preview::new(10.0);
        let first = preview.decide(&PacingInput::counts_only(&at(snapshot(5, 2, 0, 0), 100)));
        assert_eq!((first.dial, first.reserve), (0, 3));
        assert_eq!(
            preview.wake_at(),
            Some(SimTime::from_secs(100) + SimDuration::from_secs(10))
        );
        // Nothing new during the preview.
        let during = preview.decide(&PacingInput::counts_only(&at(snapshot(5, 2, 0, 0), 105)));
        assert_eq!((during.dial, during.reserve), (0, 0));
        let after = preview.decide(&PacingInput::counts_only(&at(snapshot(5, 2, 0, 0), 110)));
        assert_eq!((after.dial, after.reserve), (3, 0));
        assert_eq!(preview.wake_at(), None);
    }

    #[test]
    fn without_preview_time_it_is_progressive() {
        let mut preview = Preview::new(0.0);
        let decision = preview.decide(&PacingInput::counts_only(&snapshot(10, 4, 2, 1)));
        assert_eq!((decision.dial, decision.reserve), (3, 0));
    }

    proptest! {
        /// Placed dials plus reservations never exceed the idle agents.
        #[test]
        fn never_more_dials_and_previews_than_idle_agents(
            preview_seconds in 0.0f64..20.0,
            snapshots in proptest::collection::vec(any_snapshot(), 1..20),
        ) {
            let mut preview = Preview::new(preview_seconds);
            let mut sorted = snapshots;
            sorted.sort_by_key(|s| s.now);
            for snapshot in sorted {
                let decision = preview.decide(&PacingInput::counts_only(&snapshot));
                if decision.dial > 0 || decision.reserve > 0 {
                    prop_assert!(
                        decision.dial + snapshot.dials_in_flight + preview.previewing()
                            <= snapshot.idle_agents()
                    );
                }
                prop_assert!(u64::from(decision.dial) <= snapshot.dialable_leads);
            }
        }
    }
}
