//! Power pacing: `ceil(ratio × idle agents)` dials in flight, a fixed number of lines per idle
//! agent. Simple and static; with hindsight its ratio can be tuned to a campaign, which makes it
//! the strongest simple rival of predictive pacing.
//!
//! Pure: a function of the snapshot's counts.

use super::{Decision, PacingInput, PacingStrategy, Strategy};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Power {
    /// Lines per idle agent, at least 1.
    pub ratio: f64,
}

impl PacingStrategy for Power {
    fn name(&self) -> &'static str {
        "power"
    }

    fn settings(&self) -> Strategy {
        Strategy::Power { ratio: self.ratio }
    }

    #[inline(always)]
    fn decide(&mut self, input: &PacingInput<'_>) -> Decision {
        let snapshot = input.snapshot;
        let target = crate::time::ceil_to_u32(self.ratio * f64::from(snapshot.idle_agents()));
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
    fn rounds_the_target_up() {
        let mut power = Power { ratio: 2.5 };
        let decide = |power: &mut Power, s| power.decide(&PacingInput::counts_only(&s));
        let decision = decide(&mut power, snapshot(10, 7, 0, 2));
        assert_eq!((decision.target, decision.dial), (8, 6)); // ceil(2.5 * 3)
        assert_eq!(decide(&mut power, snapshot(10, 10, 0, 0)).dial, 0);
        assert_eq!(decide(&mut power, snapshot(10, 7, 0, 9)).dial, 0);
    }

    proptest! {
        #[test]
        fn keeps_at_most_ratio_lines_per_idle_agent(ratio in 1.0f64..6.0, snapshot in any_snapshot()) {
            let decision = Power { ratio }.decide(&PacingInput::counts_only(&snapshot));
            let most = (ratio * f64::from(snapshot.idle_agents())).ceil() as u32;
            prop_assert!(decision.dial == 0 || decision.dial + snapshot.dials_in_flight <= most);
        }

        #[test]
        fn a_higher_ratio_never_dials_less(a in 1.0f64..6.0, b in 1.0f64..6.0, snapshot in any_snapshot()) {
            let (low, high) = if a < b { (a, b) } else { (b, a) };
            let input = PacingInput::counts_only(&snapshot);
            let more = Power { ratio: high }.decide(&input).dial;
            let fewer = Power { ratio: low }.decide(&input).dial;
            prop_assert!(more >= fewer);
        }
    }
}
