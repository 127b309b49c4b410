//! The lead hopper: which lead to dial next, and when a lead is dialed again.
//!
//! Leads come from a [`LeadSource`] in list order. After each attempt the [`RedialPolicy`]
//! decides the lead's fate: no answer and busy each have their own delay and maximum number of
//! attempts; every other outcome is final. Leads due for a redial go before fresh leads, oldest
//! due first.
//!
//! Pure bookkeeping: time comes in as an argument. Nothing here spawns, sends or reads a clock.

use crate::domain::{LeadId, Outcome, PhoneNumber};
use crate::time::{SimDuration, SimTime};
use compact_str::CompactString;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Where leads come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeadSource {
    /// `count` generated numbers (`None`: unlimited), `prefix` followed by the lead's index.
    Generated {
        count: Option<u64>,
        prefix: CompactString,
    },
    /// A fixed list of numbers.
    List(Vec<PhoneNumber>),
}

impl LeadSource {
    fn len(&self) -> Option<u64> {
        match self {
            LeadSource::Generated { count, .. } => *count,
            LeadSource::List(numbers) => Some(numbers.len() as u64),
        }
    }

    fn number(&self, lead: LeadId) -> PhoneNumber {
        match self {
            LeadSource::Generated { prefix, .. } => {
                PhoneNumber(crate::domain::numbered(prefix, lead.0, 7))
            }
            LeadSource::List(numbers) => numbers[lead.0 as usize].clone(),
        }
    }
}

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

/// Redial rules per outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RedialPolicy {
    pub no_answer: RedialRule,
    pub busy: RedialRule,
}

impl RedialPolicy {
    pub const NONE: RedialPolicy = RedialPolicy {
        no_answer: RedialRule::NEVER,
        busy: RedialRule::NEVER,
    };

    fn rule_for(&self, outcome: Outcome) -> Option<RedialRule> {
        match outcome {
            Outcome::NoAnswer => Some(self.no_answer),
            Outcome::Busy => Some(self.busy),
            _ => None,
        }
    }
}

/// What happens to a lead after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadFate {
    RedialAt(SimTime),
    Done,
}

/// Where a lead stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// An attempt is under way.
    Dialing,
    /// Waiting for a redial.
    AwaitingRedial,
    /// No more attempts: the last outcome is final.
    Done,
}

#[derive(Clone, Copy, Debug)]
struct LeadState {
    attempts: u32,
    status: LeadStatus,
    last_outcome: Option<Outcome>,
}

/// Lead counts by status, for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LeadTally {
    pub dialed: u64,
    pub dialing: u64,
    pub awaiting_redial: u64,
    pub done: u64,
    /// Leads on the list never dialed (`None` when the list is unlimited).
    pub never_dialed: Option<u64>,
}

pub struct Hopper {
    source: LeadSource,
    policy: RedialPolicy,
    next_fresh: u64,
    leads: Vec<LeadState>,
    /// Redials not yet due, earliest first.
    redials: BinaryHeap<Reverse<(SimTime, LeadId)>>,
    /// Redials that have come due, in due order.
    due: VecDeque<LeadId>,
}

impl Hopper {
    pub fn new(source: LeadSource, policy: RedialPolicy) -> Hopper {
        Hopper {
            source,
            policy,
            next_fresh: 0,
            leads: Vec::new(),
            redials: BinaryHeap::new(),
            due: VecDeque::new(),
        }
    }

    fn fresh_left(&self) -> Option<u64> {
        self.source
            .len()
            .map(|len| len.saturating_sub(self.next_fresh))
    }

    /// Moves redials that are due at `now` to the front of the line.
    fn release_due(&mut self, now: SimTime) {
        while let Some(Reverse((at, lead))) = self.redials.peek().copied() {
            if at > now {
                break;
            }
            self.redials.pop();
            self.due.push_back(lead);
        }
    }

    /// Leads that could be dialed at `now`; `u64::MAX` when the list is unlimited.
    pub fn dialable_at(&mut self, now: SimTime) -> u64 {
        self.release_due(now);
        match self.fresh_left() {
            None => u64::MAX,
            Some(fresh) => fresh.saturating_add(self.due.len() as u64),
        }
    }

    /// When the earliest redial that is not yet due becomes due.
    pub fn next_redial_due(&self) -> Option<SimTime> {
        self.redials.peek().map(|Reverse((at, _))| *at)
    }

    /// True once no lead can ever be dialed again.
    pub fn is_exhausted(&self) -> bool {
        self.fresh_left() == Some(0) && self.redials.is_empty() && self.due.is_empty()
    }

    /// Takes the next lead to dial at `now`: a due redial first, else a fresh lead.
    pub fn take_next(&mut self, now: SimTime) -> Option<(LeadId, PhoneNumber)> {
        self.release_due(now);
        let lead = if let Some(lead) = self.due.pop_front() {
            lead
        } else if self.fresh_left() != Some(0) {
            let lead = LeadId(self.next_fresh);
            self.next_fresh += 1;
            self.leads.push(LeadState {
                attempts: 0,
                status: LeadStatus::Dialing,
                last_outcome: None,
            });
            lead
        } else {
            return None;
        };
        let state = &mut self.leads[lead.0 as usize];
        state.attempts += 1;
        state.status = LeadStatus::Dialing;
        Some((lead, self.source.number(lead)))
    }

    /// Records an attempt's outcome and decides the lead's fate.
    pub fn on_outcome(&mut self, lead: LeadId, outcome: Outcome, now: SimTime) -> LeadFate {
        let Some(state) = self.leads.get_mut(lead.0 as usize) else {
            return LeadFate::Done;
        };
        state.last_outcome = Some(outcome);
        match self.policy.rule_for(outcome) {
            Some(rule) if state.attempts < rule.max_attempts => {
                let at = now + rule.delay;
                state.status = LeadStatus::AwaitingRedial;
                self.redials.push(Reverse((at, lead)));
                LeadFate::RedialAt(at)
            }
            _ => {
                state.status = LeadStatus::Done;
                LeadFate::Done
            }
        }
    }

    /// Attempts made on a lead so far.
    pub fn attempts_of(&self, lead: LeadId) -> u32 {
        self.leads.get(lead.0 as usize).map_or(0, |s| s.attempts)
    }

    pub fn tally(&self) -> LeadTally {
        let mut tally = LeadTally {
            dialed: self.leads.len() as u64,
            never_dialed: self.fresh_left(),
            ..LeadTally::default()
        };
        for state in &self.leads {
            match state.status {
                LeadStatus::Dialing => tally.dialing += 1,
                LeadStatus::AwaitingRedial => tally.awaiting_redial += 1,
                LeadStatus::Done => tally.done += 1,
            }
        }
        tally
    }

    /// Final outcome counts by lead (the last outcome of each lead that was dialed).
    pub fn last_outcomes(&self) -> impl Iterator<Item = Option<Outcome>> + '_ {
        self.leads.iter().map(|state| state.last_outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hopper(count: u64) -> Hopper {
        Hopper::new(
            LeadSource::Generated {
                count: Some(count),
                prefix: "+1555".into(),
            },
            RedialPolicy {
                no_answer: RedialRule {
                    delay: SimDuration::from_secs(600),
                    max_attempts: 3,
                },
                busy: RedialRule {
                    delay: SimDuration::from_secs(60),
                    max_attempts: 2,
                },
            },
        )
    }

    #[test]
    fn fresh_leads_come_in_list_order_with_generated_numbers() {
        let mut hopper = hopper(2);
        let (lead, number) = hopper.take_next(SimTime::ZERO).unwrap();
        assert_eq!((lead, number.0.as_str()), (LeadId(0), "+15550000000"));
        assert_eq!(hopper.take_next(SimTime::ZERO).unwrap().0, LeadId(1));
        assert!(hopper.take_next(SimTime::ZERO).is_none());
    }

    #[test]
    fn no_answer_is_redialed_until_its_maximum() {
        let mut hopper = hopper(1);
        let mut now = SimTime::ZERO;
        for attempt in 1..=3 {
            let (lead, _) = hopper.take_next(now).expect("dialable");
            let fate = hopper.on_outcome(lead, Outcome::NoAnswer, now);
            if attempt < 3 {
                assert_eq!(fate, LeadFate::RedialAt(now + SimDuration::from_secs(600)));
                assert!(hopper.take_next(now).is_none(), "not due yet");
                now += SimDuration::from_secs(600);
            } else {
                assert_eq!(fate, LeadFate::Done);
            }
        }
        assert!(hopper.is_exhausted());
        assert_eq!(hopper.attempts_of(LeadId(0)), 3);
    }

    #[test]
    fn busy_has_its_own_rule_and_completion_is_final() {
        let mut hopper = hopper(2);
        let (first, _) = hopper.take_next(SimTime::ZERO).unwrap();
        let (second, _) = hopper.take_next(SimTime::ZERO).unwrap();
        assert_eq!(
            hopper.on_outcome(first, Outcome::Busy, SimTime::ZERO),
            LeadFate::RedialAt(SimTime::from_secs(60))
        );
        assert_eq!(
            hopper.on_outcome(second, Outcome::Completed, SimTime::ZERO),
            LeadFate::Done
        );
        let (again, _) = hopper.take_next(SimTime::from_secs(60)).unwrap();
        assert_eq!(again, first);
        assert_eq!(
            hopper.on_outcome(first, Outcome::Busy, SimTime::from_secs(61)),
            LeadFate::Done
        );
        let tally = hopper.tally();
        assert_eq!(
            (tally.dialed, tally.done, tally.never_dialed),
            (2, 2, Some(0))
        );
    }

    #[test]
    fn due_redials_go_before_fresh_leads() {
        let mut hopper = hopper(5);
        let (first, _) = hopper.take_next(SimTime::ZERO).unwrap();
        hopper.on_outcome(first, Outcome::Busy, SimTime::ZERO);
        assert_eq!(hopper.dialable_at(SimTime::from_secs(60)), 5);
        assert_eq!(hopper.take_next(SimTime::from_secs(60)).unwrap().0, first);
    }
}
