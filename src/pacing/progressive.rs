//! Progressive pacing: one dial in flight per idle agent, so an answered call always finds an
//! agent (abandon risk near zero); the agent waits through every unanswered dial.
//!
//! Pure: a function of the snapshot's counts. Also the abandon guard's fallback.

use super::{Decision, PacingInput, PacingStrategy, Strategy};

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progressive;

impl PacingStrategy for Progressive {
    fn name(&self) -> &'static str {
        "progressive"
    }

    fn settings(&self) -> Strategy {
        Strategy::Progressive
    }

    #[inline(always)]
    fn decide(&mut self, input: &PacingInput<'_>) -> Decision {
        let snapshot = input.snapshot;
        let target = snapshot.idle_agents();
        Decision::capped(
            target.saturating_sub(snapshot.dials_in_flight),
            target,
            snapshot,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pacing::test_support::{any_snapshot, snapshot};
    use proptest::prelude::*;

    #[test]
    fn dials_for_idle_agents_not_yet_covered() {
        let mut progressive = Progressive;
        let decision = progressive.decide(&PacingInput::counts_only(&snapshot(10, 4, 2, 1)));
        assert_eq!((decision.target, decision.dial), (4, 3));
        let covered = progressive.decide(&PacingInput::counts_only(&snapshot(10, 4, 2, 4)));
        assert_eq!(covered.dial, 0);
    }

    proptest! {
        #[test]
        fn never_more_dials_in_flight_than_idle_agents(snapshot in any_snapshot()) {
            let decision = Progressive.decide(&PacingInput::counts_only(&snapshot));
            prop_assert!(decision.dial == 0 || decision.dial + snapshot.dials_in_flight <= snapshot.idle_agents());
        }
    }
}
