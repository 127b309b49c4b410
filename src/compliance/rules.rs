//! Attempt rules: how often and how soon a lead may be dialed again.
//!
//! After each attempt, [`RedialPolicy::fate_after`] decides from the outcome and the lead's
//! attempt count whether the lead is done or when it may be dialed again: each retryable
//! outcome (no answer, busy, machine, abandoned, unknown) has its own delay and maximum; a
//! campaign-wide maximum of attempts per lead caps them all; and the optional Ofcom-style
//! lockout keeps a lead whose call was abandoned from being redialed unattended for 72 hours.
//! [`RedialPolicy::day_limit_reached`] caps attempts per lead per local calendar day.
//!
//! Pure functions of the policy, the lead's counts and the time: no clock, no I/O.

use crate::domain::Outcome;
use crate::time::{SimDuration, SimTime};
use serde::Serialize;

/// When to dial a lead again after one kind of outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RedialRule {
    pub delay: SimDuration,
    /// The most attempts a lead gets while this outcome keeps happening, the first included.
    pub max_attempts: u32,
}

impl RedialRule {
    pub const NEVER: RedialRule = RedialRule {
        delay: SimDuration::ZERO,
        max_attempts: 1,
    };
}

/// The Ofcom rule's lockout after an abandoned call: 72 hours.
pub const OFCOM_ABANDON_LOCKOUT: SimDuration = SimDuration(72 * 3600 * 1_000_000);

/// Redial rules per outcome, and limits per lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RedialPolicy {
    pub no_answer: RedialRule,
    pub busy: RedialRule,
    /// An answering machine answered.
    pub machine: RedialRule,
    /// A person answered and never reached an agent (abandoned in the queue, or lost after an
    /// agent missed the call: the dialer cannot tell that one from an abandon).
    pub abandoned: RedialRule,
    /// The outcome could not be known (a lost call, or an attempt in flight at a crash).
    pub unknown: RedialRule,
    /// Most attempts a lead gets in all, whatever the outcomes.
    pub max_attempts: Option<u32>,
    /// Most attempts a lead gets per calendar day in its own time zone.
    pub max_per_day: Option<u32>,
    /// After an abandon, no redial before this long (Ofcom: 72 h without a guaranteed live
    /// operator; this dialer never reserves an agent, so every redial is unattended).
    pub abandon_lockout: Option<SimDuration>,
}

/// What happens to a lead after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadFate {
    RedialAt(SimTime),
    Done,
}

impl RedialPolicy {
    pub const NONE: RedialPolicy = RedialPolicy {
        no_answer: RedialRule::NEVER,
        busy: RedialRule::NEVER,
        machine: RedialRule::NEVER,
        abandoned: RedialRule::NEVER,
        unknown: RedialRule::NEVER,
        max_attempts: None,
        max_per_day: None,
        abandon_lockout: None,
    };

    /// The rule for an outcome; `None` for final outcomes (completed, declined, invalid, failed).
    pub fn rule_for(&self, outcome: Outcome) -> Option<RedialRule> {
        match outcome {
            Outcome::NoAnswer => Some(self.no_answer),
            Outcome::Busy => Some(self.busy),
            Outcome::Machine => Some(self.machine),
            Outcome::AbandonedInQueue | Outcome::UnknownAfterAgentMiss => Some(self.abandoned),
            Outcome::Unknown => Some(self.unknown),
            Outcome::Completed | Outcome::Declined | Outcome::InvalidNumber | Outcome::Failed => {
                None
            }
        }
    }

    /// True if an outcome counts as an abandon for the lockout.
    pub fn is_abandon(outcome: Outcome) -> bool {
        matches!(
            outcome,
            Outcome::AbandonedInQueue | Outcome::UnknownAfterAgentMiss
        )
    }

    /// The lead's fate after an attempt that ended at `now` with `outcome`, the lead having had
    /// `attempts` attempts so far (this one included).
    pub fn fate_after(&self, attempts: u32, outcome: Outcome, now: SimTime) -> LeadFate {
        let Some(rule) = self.rule_for(outcome) else {
            return LeadFate::Done;
        };
        let under_total = self.max_attempts.is_none_or(|max| attempts < max);
        if attempts >= rule.max_attempts || !under_total {
            return LeadFate::Done;
        }
        let mut delay = rule.delay;
        if RedialPolicy::is_abandon(outcome)
            && let Some(lockout) = self.abandon_lockout
        {
            delay = delay.max(lockout);
        }
        LeadFate::RedialAt(now + delay)
    }

    /// True if a lead that had `attempts_today` attempts on its current local day may not be
    /// dialed again that day.
    pub fn day_limit_reached(&self, attempts_today: u32) -> bool {
        self.max_per_day.is_some_and(|max| attempts_today >= max)
    }

    /// True if any rule needs the lead's local calendar day.
    pub fn needs_local_day(&self) -> bool {
        self.max_per_day.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RedialPolicy {
        RedialPolicy {
            no_answer: RedialRule {
                delay: SimDuration::from_secs(600),
                max_attempts: 4,
            },
            busy: RedialRule {
                delay: SimDuration::from_secs(60),
                max_attempts: 3,
            },
            machine: RedialRule {
                delay: SimDuration::from_secs(3600),
                max_attempts: 2,
            },
            abandoned: RedialRule {
                delay: SimDuration::from_secs(1800),
                max_attempts: 3,
            },
            ..RedialPolicy::NONE
        }
    }

    #[test]
    fn each_outcome_has_its_own_delay_and_maximum() {
        let p = policy();
        let now = SimTime::from_secs(100);
        assert_eq!(
            p.fate_after(1, Outcome::NoAnswer, now),
            LeadFate::RedialAt(SimTime::from_secs(700))
        );
        assert_eq!(
            p.fate_after(1, Outcome::Busy, now),
            LeadFate::RedialAt(SimTime::from_secs(160))
        );
        assert_eq!(
            p.fate_after(1, Outcome::Machine, now),
            LeadFate::RedialAt(SimTime::from_secs(3700))
        );
        assert_eq!(p.fate_after(2, Outcome::Machine, now), LeadFate::Done);
        assert_eq!(
            p.fate_after(2, Outcome::AbandonedInQueue, now),
            LeadFate::RedialAt(SimTime::from_secs(1900))
        );
        assert_eq!(p.fate_after(3, Outcome::Busy, now), LeadFate::Done);
        assert_eq!(p.fate_after(1, Outcome::Unknown, now), LeadFate::Done);
        for final_outcome in [
            Outcome::Completed,
            Outcome::Declined,
            Outcome::InvalidNumber,
            Outcome::Failed,
        ] {
            assert_eq!(p.fate_after(1, final_outcome, now), LeadFate::Done);
        }
    }

    #[test]
    fn the_total_maximum_caps_every_outcome() {
        let p = RedialPolicy {
            max_attempts: Some(2),
            ..policy()
        };
        assert!(matches!(
            p.fate_after(1, Outcome::NoAnswer, SimTime::ZERO),
            LeadFate::RedialAt(_)
        ));
        assert_eq!(
            p.fate_after(2, Outcome::NoAnswer, SimTime::ZERO),
            LeadFate::Done
        );
    }

    #[test]
    fn ofcom_lockout_keeps_an_abandoned_lead_for_72_hours() {
        let p = RedialPolicy {
            abandon_lockout: Some(OFCOM_ABANDON_LOCKOUT),
            ..policy()
        };
        let now = SimTime::from_secs(10);
        assert_eq!(
            p.fate_after(1, Outcome::AbandonedInQueue, now),
            LeadFate::RedialAt(now + SimDuration::from_secs(72 * 3600))
        );
        // The agent-miss limitation counts as an abandon: the dialer cannot tell them apart.
        assert_eq!(
            p.fate_after(1, Outcome::UnknownAfterAgentMiss, now),
            LeadFate::RedialAt(now + SimDuration::from_secs(72 * 3600))
        );
        // Other outcomes keep their own delays.
        assert_eq!(
            p.fate_after(1, Outcome::Busy, now),
            LeadFate::RedialAt(SimTime::from_secs(70))
        );
        // A delay longer than the lockout stands.
        let long = RedialPolicy {
            abandoned: RedialRule {
                delay: SimDuration::from_secs(100 * 3600),
                max_attempts: 2,
            },
            ..p
        };
        assert_eq!(
            long.fate_after(1, Outcome::AbandonedInQueue, now),
            LeadFate::RedialAt(now + SimDuration::from_secs(100 * 3600))
        );
    }

    #[test]
    fn the_day_limit_counts_attempts_of_the_local_day() {
        let p = RedialPolicy {
            max_per_day: Some(2),
            ..policy()
        };
        assert!(!p.day_limit_reached(0));
        assert!(!p.day_limit_reached(1));
        assert!(p.day_limit_reached(2));
        assert!(!RedialPolicy::NONE.day_limit_reached(100));
    }
}
