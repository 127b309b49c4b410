//! The lead hopper: which lead to dial next, and when a lead is dialed again.
//!
//! Leads come from a [`LeadSource`]: generated numbers in index order, or a list (imported into
//! the store) in order of priority (highest first), then age (oldest first). After each attempt
//! the [`RedialPolicy`] (see [`crate::compliance::rules`]) decides the lead's fate. Leads due for
//! a redial go before fresh leads of the same priority, in the order they came due.
//!
//! When the campaign has [`Compliance`] rules, each lead taken is checked before it is dialed:
//! a number on the do-not-call list is set aside for good; a lead outside its calling window,
//! or over its attempts for the local day, is deferred to the time it may be dialed (kept,
//! never dropped) and the next lead is tried. Without rules, none of that costs anything.
//!
//! Pure bookkeeping: time comes in as an argument. Nothing here spawns, sends or reads a clock.
//! Each take or outcome costs O(log n) in the leads waiting.

pub use crate::compliance::rules::{LeadFate, RedialPolicy, RedialRule};

use crate::compliance::{Compliance, Gate, ZoneId};
use crate::domain::{CountingText, LeadId, Outcome, PhoneNumber};
use crate::short_text::ShortText;
use crate::time::{SimDuration, SimTime};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Where leads come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeadSource {
    /// `count` generated numbers (`None`: unlimited), `prefix` followed by the lead's index.
    /// Lead `i` is in `zones[i % zones.len()]` (empty: the campaign's default zone).
    Generated {
        count: Option<u64>,
        prefix: ShortText,
        zones: Vec<ZoneId>,
    },
    /// A fixed list, such as leads loaded from the store.
    List(LeadList),
}

/// Where a listed lead stood when the list was loaded (a campaign resumed from the store).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriorStatus {
    /// Never dialed.
    Fresh,
    /// Waiting for a redial (or a deferral) due at this engine time.
    Waiting(SimTime),
    /// An attempt is still in flight on the switch (found at a restart): not dialable until
    /// its outcome is known.
    Dialing,
    /// No more attempts.
    Done,
    /// On the do-not-call list when it came up.
    DoNotCall,
}

/// One lead of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedLead {
    pub number: PhoneNumber,
    /// `None`: the campaign's default zone.
    pub zone: Option<ZoneId>,
    /// Higher goes first.
    pub priority: i32,
    /// When the lead was added (any increasing number, e.g. unix microseconds): older first.
    pub added: i64,
    pub status: PriorStatus,
    /// Attempts made before the list was loaded.
    pub attempts: u32,
    /// Attempts on the lead's local day `day` (for the per-day limit).
    pub attempts_today: u32,
    pub day: i32,
    pub last_outcome: Option<Outcome>,
}

impl ListedLead {
    /// A lead never dialed.
    pub fn fresh(number: PhoneNumber) -> ListedLead {
        ListedLead {
            number,
            zone: None,
            priority: 0,
            added: 0,
            status: PriorStatus::Fresh,
            attempts: 0,
            attempts_today: 0,
            day: 0,
            last_outcome: None,
        }
    }
}

/// Leads of a list; a lead's id is its index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadList(pub Vec<ListedLead>);

impl LeadList {
    pub fn from_numbers(numbers: impl IntoIterator<Item = PhoneNumber>) -> LeadList {
        LeadList(numbers.into_iter().map(ListedLead::fresh).collect())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where a lead stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// Not dialed yet.
    Fresh,
    /// An attempt is under way.
    Dialing,
    /// Waiting for a redial.
    AwaitingRedial,
    /// Waiting for its calling window or its next local day.
    Deferred,
    /// Its calling window never opens: kept, undialed.
    NoWindow,
    /// No more attempts: the last outcome is final.
    Done,
    /// On the do-not-call list.
    DoNotCall,
}

#[derive(Clone, Copy, Debug)]
struct LeadState {
    attempts: u32,
    status: LeadStatus,
    last_outcome: Option<Outcome>,
}

/// A lead's attempts on its current local day, kept only when a per-day limit applies.
#[derive(Clone, Copy, Debug, Default)]
struct DayCount {
    day: i32,
    attempts: u32,
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
    /// Leads waiting for their calling window or next local day.
    #[serde(skip_serializing_if = "is_zero")]
    pub deferred: u64,
    /// Leads whose calling window never opens.
    #[serde(skip_serializing_if = "is_zero")]
    pub no_window: u64,
    /// Leads set aside because their number is on the do-not-call list.
    #[serde(skip_serializing_if = "is_zero")]
    pub do_not_call: u64,
    /// Leads taken from the list but not dialed yet.
    #[serde(skip_serializing_if = "is_zero")]
    pub waiting: u64,
    /// The list's length (`None` when unlimited).
    #[serde(skip)]
    pub listed: Option<u64>,
}

impl LeadTally {
    /// Leads in some state: every lead of a finite list must be in exactly one.
    pub fn accounted(&self) -> u64 {
        self.never_dialed.unwrap_or(0)
            + self.waiting
            + self.dialing
            + self.awaiting_redial
            + self.deferred
            + self.no_window
            + self.done
            + self.do_not_call
    }
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// A lead the rules set aside while looking for one to dial, for the campaign to record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetAside {
    DoNotCall(LeadId),
    NoWindow(LeadId),
}

pub struct Hopper {
    source: LeadSource,
    policy: RedialPolicy,
    compliance: Option<Compliance>,
    /// Fresh leads taken so far (an index into `fresh_order` for lists).
    next_fresh: u64,
    /// For lists: fresh lead ids in dialing order.
    fresh_order: Vec<u32>,
    /// Per lead, by id: every lead of a list; generated leads once taken.
    leads: Vec<LeadState>,
    /// Per lead, by id, when the policy limits attempts per day (else empty).
    days: Vec<DayCount>,
    /// Redials and deferrals not yet due, earliest first.
    redials: BinaryHeap<Reverse<(SimTime, LeadId)>>,
    /// Leads that have come due: highest priority first, then in the order they came due.
    due: BinaryHeap<Reverse<(i64, u64, LeadId)>>,
    due_seq: u64,
    /// Leads set aside since the campaign last asked.
    set_aside: Vec<SetAside>,
    /// Generated leads: the number of the lead after the last one dialed, ready
    /// ([`CountingText`]: fresh leads are dialed in order).
    next_generated_number: Option<CountingText>,
}

impl Hopper {
    pub fn new(source: LeadSource, policy: RedialPolicy) -> Hopper {
        Hopper::with_compliance(source, policy, None)
    }

    /// A hopper whose leads are checked against `compliance` before each dial.
    pub fn with_compliance(
        source: LeadSource,
        policy: RedialPolicy,
        compliance: Option<Compliance>,
    ) -> Hopper {
        let mut hopper = Hopper {
            source,
            policy,
            compliance,
            next_fresh: 0,
            fresh_order: Vec::new(),
            leads: Vec::new(),
            days: Vec::new(),
            redials: BinaryHeap::new(),
            due: BinaryHeap::new(),
            due_seq: 0,
            set_aside: Vec::new(),
            next_generated_number: None,
        };
        if let LeadSource::List(list) = &hopper.source {
            let mut fresh = Vec::new();
            let mut waiting = Vec::new();
            let mut states = Vec::with_capacity(list.0.len());
            for (index, lead) in list.0.iter().enumerate() {
                let status = match lead.status {
                    PriorStatus::Fresh => {
                        fresh.push(index as u32);
                        LeadStatus::Fresh
                    }
                    PriorStatus::Waiting(at) => {
                        waiting.push(Reverse((at, LeadId(index as u64))));
                        LeadStatus::AwaitingRedial
                    }
                    PriorStatus::Dialing => LeadStatus::Dialing,
                    PriorStatus::Done => LeadStatus::Done,
                    PriorStatus::DoNotCall => LeadStatus::DoNotCall,
                };
                states.push(LeadState {
                    attempts: lead.attempts,
                    status,
                    last_outcome: lead.last_outcome,
                });
                if hopper.policy.needs_local_day() {
                    hopper.days.push(DayCount {
                        day: lead.day,
                        attempts: lead.attempts_today,
                    });
                }
            }
            // Highest priority first, then oldest, then list order.
            fresh.sort_by_key(|&index| {
                let lead = &list.0[index as usize];
                (Reverse(lead.priority), lead.added, index)
            });
            hopper.fresh_order = fresh;
            hopper.leads = states;
            hopper.redials = BinaryHeap::from(waiting);
        }
        hopper
    }

    /// Gives a hopper without rules some (a DNC edit reaching a campaign that had none).
    pub fn set_compliance(&mut self, compliance: Compliance) {
        self.compliance = Some(compliance);
    }

    /// The rules this hopper applies, if any (to edit the DNC list of a running campaign).
    pub fn compliance_mut(&mut self) -> Option<&mut Compliance> {
        self.compliance.as_mut()
    }

    fn fresh_total(&self) -> Option<u64> {
        match &self.source {
            LeadSource::Generated { count, .. } => *count,
            LeadSource::List(_) => Some(self.fresh_order.len() as u64),
        }
    }

    fn fresh_left(&self) -> Option<u64> {
        self.fresh_total()
            .map(|len| len.saturating_sub(self.next_fresh))
    }

    fn priority_of(&self, lead: LeadId) -> i32 {
        match &self.source {
            LeadSource::Generated { .. } => 0,
            LeadSource::List(list) => list.0[lead.0 as usize].priority,
        }
    }

    fn number_of(&mut self, lead: LeadId) -> PhoneNumber {
        match &self.source {
            LeadSource::Generated { prefix, .. } => {
                let next = match &mut self.next_generated_number {
                    Some(next) if next.number() == lead.0 => next,
                    // The first dial, or a redial out of line: count on from this lead.
                    other => other.insert(CountingText::starting_at(prefix, lead.0, 7)),
                };
                PhoneNumber(next.take())
            }
            LeadSource::List(list) => list.0[lead.0 as usize].number.clone(),
        }
    }

    fn zone_of(&self, lead: LeadId, default: ZoneId) -> ZoneId {
        match &self.source {
            LeadSource::Generated { zones, .. } if !zones.is_empty() => {
                zones[(lead.0 % zones.len() as u64) as usize]
            }
            LeadSource::Generated { .. } => default,
            LeadSource::List(list) => list.0[lead.0 as usize].zone.unwrap_or(default),
        }
    }

    /// Moves redials that are due at `now` to the front of the line.
    fn release_due(&mut self, now: SimTime) {
        while let Some(Reverse((at, lead))) = self.redials.peek().copied() {
            if at > now {
                break;
            }
            self.redials.pop();
            self.push_due(lead);
        }
    }

    fn push_due(&mut self, lead: LeadId) {
        let priority = self.priority_of(lead);
        self.due_seq += 1;
        self.due
            .push(Reverse((-i64::from(priority), self.due_seq, lead)));
    }

    /// Leads that could be dialed at `now`; `u64::MAX` when the list is unlimited. Leads the
    /// rules will defer when they come up are counted until then.
    pub fn dialable_at(&mut self, now: SimTime) -> u64 {
        self.release_due(now);
        match self.fresh_left() {
            None => u64::MAX,
            Some(fresh) => fresh.saturating_add(self.due.len() as u64),
        }
    }

    /// When the earliest redial (or deferral) that is not yet due becomes due.
    pub fn next_redial_due(&self) -> Option<SimTime> {
        self.redials.peek().map(|Reverse((at, _))| *at)
    }

    /// True once no lead can ever be dialed again.
    pub fn is_exhausted(&self) -> bool {
        self.fresh_left() == Some(0) && self.redials.is_empty() && self.due.is_empty()
    }

    /// The next lead in line without checking rules: a due redial, or a fresh lead of higher
    /// priority.
    fn pop_candidate(&mut self) -> Option<LeadId> {
        let fresh = if self.fresh_left() == Some(0) {
            None
        } else {
            Some(match &self.source {
                LeadSource::Generated { .. } => (LeadId(self.next_fresh), 0),
                LeadSource::List(list) => {
                    let index = self.fresh_order[self.next_fresh as usize];
                    (LeadId(u64::from(index)), list.0[index as usize].priority)
                }
            })
        };
        let due_priority = self.due.peek().map(|Reverse((negated, _, _))| -*negated);
        let take_due = match (due_priority, fresh) {
            (Some(due), Some((_, fresh))) => due >= i64::from(fresh),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if take_due {
            return self.due.pop().map(|Reverse((_, _, lead))| lead);
        }
        let (lead, _) = fresh?;
        self.next_fresh += 1;
        if let LeadSource::Generated { .. } = self.source {
            self.leads.push(LeadState {
                attempts: 0,
                status: LeadStatus::Fresh,
                last_outcome: None,
            });
            if self.policy.needs_local_day() {
                self.days.push(DayCount::default());
            }
        }
        Some(lead)
    }

    /// What the rules say about dialing `lead` (numbered `number`) at `now`.
    fn gate(&mut self, lead: LeadId, number: &PhoneNumber, now: SimTime) -> Gate {
        let Some(compliance) = self.compliance.as_ref() else {
            return Gate::Dial;
        };
        let zone = self.zone_of(lead, compliance.default_zone());
        let compliance = self.compliance.as_mut().expect("checked above");
        let gate = compliance.gate(number, zone, now);
        if gate != Gate::Dial || !self.policy.needs_local_day() {
            return gate;
        }
        let (day, next_day) = compliance.local_day(zone, now);
        let count = &mut self.days[lead.0 as usize];
        if count.day != day {
            *count = DayCount { day, attempts: 0 };
        }
        if self.policy.day_limit_reached(count.attempts) {
            Gate::DeferUntil(next_day)
        } else {
            Gate::Dial
        }
    }

    /// Takes the next lead to dial at `now`: a due redial first, else a fresh lead; leads the
    /// rules refuse now are deferred or set aside, and the next is tried.
    pub fn take_next(&mut self, now: SimTime) -> Option<(LeadId, PhoneNumber)> {
        self.release_due(now);
        loop {
            let lead = self.pop_candidate()?;
            let number = self.number_of(lead);
            match self.gate(lead, &number, now) {
                Gate::Dial => {
                    let state = &mut self.leads[lead.0 as usize];
                    state.attempts += 1;
                    state.status = LeadStatus::Dialing;
                    if let Some(count) = self.days.get_mut(lead.0 as usize) {
                        count.attempts += 1;
                    }
                    return Some((lead, number));
                }
                Gate::DeferUntil(at) => {
                    self.leads[lead.0 as usize].status = LeadStatus::Deferred;
                    // Always strictly later, so a deferred lead is never met again in this loop.
                    let at = at.max(now + SimDuration(1));
                    self.redials.push(Reverse((at, lead)));
                }
                Gate::NoWindow => {
                    self.leads[lead.0 as usize].status = LeadStatus::NoWindow;
                    self.set_aside.push(SetAside::NoWindow(lead));
                }
                Gate::DoNotCall => {
                    self.leads[lead.0 as usize].status = LeadStatus::DoNotCall;
                    self.set_aside.push(SetAside::DoNotCall(lead));
                }
            }
        }
    }

    /// Leads set aside since the last call, in the order it happened.
    pub fn drain_set_aside(&mut self) -> std::vec::Drain<'_, SetAside> {
        self.set_aside.drain(..)
    }

    /// True if leads were set aside since [`Hopper::drain_set_aside`] last ran.
    pub fn has_set_aside(&self) -> bool {
        !self.set_aside.is_empty()
    }

    /// Gives back a lead taken at `now` but never dialed (its attempt could not be recorded):
    /// it is due again at once, and the take does not count.
    pub fn put_back(&mut self, lead: LeadId, now: SimTime) {
        let Some(state) = self.leads.get_mut(lead.0 as usize) else {
            return;
        };
        state.attempts = state.attempts.saturating_sub(1);
        if let Some(count) = self.days.get_mut(lead.0 as usize) {
            count.attempts = count.attempts.saturating_sub(1);
        }
        state.status = LeadStatus::AwaitingRedial;
        self.redials.push(Reverse((now, lead)));
    }

    /// Records an attempt's outcome and decides the lead's fate.
    ///
    /// Always inlined: it runs once per simulated attempt inside the supervisor's update
    /// handler, and a second, rare caller (attempts recovered at a restart) would otherwise
    /// make the compiler call it out of line there (about 10 instructions per attempt more).
    #[inline(always)]
    pub fn on_outcome(&mut self, lead: LeadId, outcome: Outcome, now: SimTime) -> LeadFate {
        let Some(state) = self.leads.get_mut(lead.0 as usize) else {
            return LeadFate::Done;
        };
        state.last_outcome = Some(outcome);
        let fate = self.policy.fate_after(state.attempts, outcome, now);
        match fate {
            LeadFate::RedialAt(at) => {
                state.status = LeadStatus::AwaitingRedial;
                self.redials.push(Reverse((at, lead)));
            }
            LeadFate::Done => state.status = LeadStatus::Done,
        }
        fate
    }

    /// Attempts made on a lead so far.
    pub fn attempts_of(&self, lead: LeadId) -> u32 {
        self.leads.get(lead.0 as usize).map_or(0, |s| s.attempts)
    }

    /// Where a lead stands (`None` for a generated lead not yet taken).
    pub fn status_of(&self, lead: LeadId) -> Option<LeadStatus> {
        self.leads.get(lead.0 as usize).map(|s| s.status)
    }

    pub fn tally(&self) -> LeadTally {
        let mut tally = LeadTally {
            never_dialed: self.fresh_left(),
            listed: self.fresh_total(),
            ..LeadTally::default()
        };
        for state in &self.leads {
            if state.attempts > 0 {
                tally.dialed += 1;
            }
            match state.status {
                LeadStatus::Fresh => tally.waiting += 1,
                LeadStatus::Dialing => tally.dialing += 1,
                LeadStatus::AwaitingRedial => tally.awaiting_redial += 1,
                LeadStatus::Deferred => tally.deferred += 1,
                LeadStatus::NoWindow => tally.no_window += 1,
                LeadStatus::Done => tally.done += 1,
                LeadStatus::DoNotCall => tally.do_not_call += 1,
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
                zones: Vec::new(),
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
                ..RedialPolicy::NONE
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

    fn listed(number: &str, priority: i32, added: i64) -> ListedLead {
        ListedLead {
            priority,
            added,
            ..ListedLead::fresh(PhoneNumber(number.into()))
        }
    }

    fn numbers_in_order(hopper: &mut Hopper, now: SimTime) -> Vec<String> {
        std::iter::from_fn(|| hopper.take_next(now))
            .map(|(_, number)| number.0.to_string())
            .collect()
    }

    #[test]
    fn listed_leads_go_by_priority_then_age() {
        let list = LeadList(vec![
            listed("+1a", 0, 30),
            listed("+1b", 5, 20),
            listed("+1c", 0, 10),
            listed("+1d", 5, 40),
        ]);
        let mut hopper = Hopper::new(LeadSource::List(list), RedialPolicy::NONE);
        assert_eq!(
            numbers_in_order(&mut hopper, SimTime::ZERO),
            ["+1b", "+1d", "+1c", "+1a"]
        );
    }

    #[test]
    fn a_due_redial_yields_to_a_fresh_lead_of_higher_priority_only() {
        let list = LeadList(vec![
            listed("+1low", 0, 0),
            listed("+1high", 9, 5),
            listed("+1mid", 0, 9),
        ]);
        let policy = RedialPolicy {
            busy: RedialRule {
                delay: SimDuration::ZERO,
                max_attempts: 2,
            },
            ..RedialPolicy::NONE
        };
        let mut hopper = Hopper::new(LeadSource::List(list), policy);
        let (high, _) = hopper.take_next(SimTime::ZERO).unwrap();
        assert_eq!(high, LeadId(1));
        let (low, _) = hopper.take_next(SimTime::ZERO).unwrap();
        assert_eq!(low, LeadId(0));
        hopper.on_outcome(low, Outcome::Busy, SimTime::ZERO);
        // The busy redial of priority 0 is due, and goes before the fresh lead of priority 0.
        assert_eq!(hopper.take_next(SimTime::ZERO).unwrap().0, low);
        assert_eq!(hopper.take_next(SimTime::ZERO).unwrap().0, LeadId(2));
    }

    #[test]
    fn prior_statuses_resume_where_the_store_left_off() {
        let mut waiting = listed("+1w", 0, 0);
        waiting.status = PriorStatus::Waiting(SimTime::from_secs(50));
        waiting.attempts = 1;
        let mut done = listed("+1d", 0, 0);
        done.status = PriorStatus::Done;
        let mut dialing = listed("+1x", 0, 0);
        dialing.status = PriorStatus::Dialing;
        let list = LeadList(vec![waiting, done, dialing, listed("+1f", 0, 0)]);
        let mut hopper = Hopper::new(LeadSource::List(list), RedialPolicy::NONE);
        assert_eq!(numbers_in_order(&mut hopper, SimTime::ZERO), ["+1f"]);
        assert_eq!(hopper.next_redial_due(), Some(SimTime::from_secs(50)));
        assert_eq!(
            numbers_in_order(&mut hopper, SimTime::from_secs(50)),
            ["+1w"]
        );
        assert_eq!(hopper.attempts_of(LeadId(0)), 2);
        assert_eq!(hopper.status_of(LeadId(2)), Some(LeadStatus::Dialing));
        assert!(hopper.is_exhausted());
    }

    fn ny_compliance(epoch: &str) -> Compliance {
        use crate::compliance::hours::CallingHours;
        Compliance::new(
            epoch.parse().unwrap(),
            Some(CallingHours::default()),
            (
                "America/New_York",
                jiff::tz::TimeZone::get("America/New_York").unwrap(),
            ),
        )
    }

    #[test]
    fn leads_outside_their_window_are_deferred_not_dropped() {
        // Engine time zero is 07:00 in New York; London is already open (12:00).
        let mut compliance = ny_compliance("2026-01-15T12:00:00Z");
        let london = compliance.intern_zone("Europe/London", || {
            crate::compliance::hours::ZoneSet::one(
                jiff::tz::TimeZone::get("Europe/London").unwrap(),
            )
        });
        let mut uk = listed("+44a", 0, 1);
        uk.zone = Some(london);
        let list = LeadList(vec![listed("+1ny", 0, 0), uk]);
        let mut hopper =
            Hopper::with_compliance(LeadSource::List(list), RedialPolicy::NONE, Some(compliance));
        // New York is closed: its lead is deferred to 08:00 local (one hour on); London's goes.
        assert_eq!(numbers_in_order(&mut hopper, SimTime::ZERO), ["+44a"]);
        assert_eq!(hopper.status_of(LeadId(0)), Some(LeadStatus::Deferred));
        assert_eq!(hopper.next_redial_due(), Some(SimTime::from_secs(3600)));
        assert!(!hopper.is_exhausted());
        assert_eq!(hopper.tally().deferred, 1);
        assert_eq!(
            numbers_in_order(&mut hopper, SimTime::from_secs(3600)),
            ["+1ny"]
        );
    }

    #[test]
    fn numbers_on_the_dnc_list_are_set_aside() {
        let mut compliance = ny_compliance("2026-01-15T15:00:00Z");
        compliance.dnc.add(PhoneNumber("+1b".into()));
        let list = LeadList(vec![
            listed("+1a", 0, 0),
            listed("+1b", 0, 1),
            listed("+1c", 0, 2),
        ]);
        let mut hopper =
            Hopper::with_compliance(LeadSource::List(list), RedialPolicy::NONE, Some(compliance));
        assert_eq!(numbers_in_order(&mut hopper, SimTime::ZERO), ["+1a", "+1c"]);
        assert_eq!(
            hopper.drain_set_aside().collect::<Vec<_>>(),
            [SetAside::DoNotCall(LeadId(1))]
        );
        assert_eq!(hopper.tally().do_not_call, 1);
    }

    #[test]
    fn the_per_day_limit_defers_to_the_next_local_day() {
        // 15:00 in New York on the 15th.
        let compliance = ny_compliance("2026-01-15T20:00:00Z");
        let policy = RedialPolicy {
            no_answer: RedialRule {
                delay: SimDuration::from_secs(60),
                max_attempts: 10,
            },
            max_per_day: Some(2),
            ..RedialPolicy::NONE
        };
        let list = LeadList(vec![listed("+1a", 0, 0)]);
        let mut hopper = Hopper::with_compliance(LeadSource::List(list), policy, Some(compliance));
        let mut now = SimTime::ZERO;
        for _ in 0..2 {
            let (lead, _) = hopper.take_next(now).unwrap();
            hopper.on_outcome(lead, Outcome::NoAnswer, now);
            now += SimDuration::from_secs(60);
        }
        // Two attempts today: the third waits for the next local day (midnight is 9 h after
        // 15:00), and then for 08:00.
        assert!(hopper.take_next(now).is_none());
        let midnight = SimTime::from_secs(9 * 3600);
        assert_eq!(hopper.next_redial_due(), Some(midnight));
        assert!(hopper.take_next(midnight).is_none());
        let eight = SimTime::from_secs(17 * 3600);
        assert_eq!(hopper.next_redial_due(), Some(eight));
        assert_eq!(
            hopper.take_next(eight).map(|(lead, _)| lead),
            Some(LeadId(0))
        );
        assert_eq!(hopper.attempts_of(LeadId(0)), 3);
    }
}
