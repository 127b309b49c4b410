//! `MemoryJournal`: the journal of a simulation, in memory.
//!
//! No I/O and nothing but the calls it receives, so a simulation stays deterministic and fast.
//! By default it keeps what a recovery needs, the attempts in flight (a window over attempt
//! ids from the oldest in flight, like the campaign's live-call table: constant time and no
//! allocation at steady state), and counts the rest:
//! a simulated day has hundreds of thousands of attempts, and keeping them all would double a
//! simulation's memory. [`MemoryJournal::counting`] (a simulation's, which nobody restarts)
//! keeps not even those, and [`MemoryJournal::keeping_all`] keeps every ended attempt, call
//! state, set-aside lead and abandon entry as well, for tests. A [`MemoryLog`] handle reads what was
//! written, during or after a run.
//!
//! It must not decide anything; it must not read a clock.

use super::{AbandonEvent, AttemptStarted, Journal, JournalError, SetAsideReason};
use crate::attempt_window::AttemptWindow;
use crate::call::machine::AttemptRecord;
use crate::compliance::rules::LeadFate;
use crate::domain::{AppState, AttemptId, LeadId, Outcome};
use crate::time::SimTime;
use std::cell::RefCell;
use std::rc::Rc;

/// One attempt as the memory journal holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryAttempt {
    pub attempt: AttemptId,
    pub lead: LeadId,
    pub started_at: SimTime,
    /// `None` while in flight.
    pub ended: Option<(SimTime, Outcome)>,
    /// The lead's fate after this attempt.
    pub fate: Option<LeadFate>,
}

/// What a memory journal was told.
#[derive(Debug, Default)]
pub struct MemoryContents {
    /// Attempts in flight (lead, start).
    open: AttemptWindow<(LeadId, SimTime)>,
    /// Counts.
    pub started: u64,
    pub ended: u64,
    pub states_seen: u64,
    pub set_aside_count: u64,
    pub abandon_count: u64,
    /// `attempts_started` calls (each one a commit in a real store).
    pub commits: u64,
    /// Kept only by [`MemoryJournal::keeping_all`]:
    pub ended_attempts: Vec<MemoryAttempt>,
    pub states: Vec<(AttemptId, SimTime, AppState)>,
    pub set_aside: Vec<(LeadId, SimTime, SetAsideReason)>,
    pub abandon_events: Vec<AbandonEvent>,
}

impl MemoryContents {
    /// Attempts started and not ended, in attempt order.
    pub fn open_attempts(&self) -> Vec<MemoryAttempt> {
        self.open
            .iter()
            .map(|(attempt, &(lead, started_at))| MemoryAttempt {
                attempt,
                lead,
                started_at,
                ended: None,
                fate: None,
            })
            .collect()
    }

    fn take_open(&mut self, attempt: AttemptId) -> Option<MemoryAttempt> {
        let (lead, started_at) = self.open.remove(attempt)?;
        Some(MemoryAttempt {
            attempt,
            lead,
            started_at,
            ended: None,
            fate: None,
        })
    }
}

/// A handle to read a memory journal.
#[derive(Clone, Debug, Default)]
pub struct MemoryLog(Rc<RefCell<MemoryContents>>);

impl MemoryLog {
    pub fn read<T>(&self, f: impl FnOnce(&MemoryContents) -> T) -> T {
        f(&self.0.borrow())
    }
}

pub struct MemoryJournal {
    log: MemoryLog,
    /// Keep the attempts in flight (all but [`MemoryJournal::counting`]).
    keep_open: bool,
    keep_all: bool,
    /// Fail every write from now on (tests of a failing store).
    fail_writes: bool,
}

impl Default for MemoryJournal {
    fn default() -> Self {
        MemoryJournal::new()
    }
}

impl MemoryJournal {
    /// A journal that keeps the attempts in flight and counts the rest.
    pub fn new() -> MemoryJournal {
        MemoryJournal {
            log: MemoryLog::default(),
            keep_open: true,
            keep_all: false,
            fail_writes: false,
        }
    }

    /// A journal that only counts what it is told: for runs nobody restarts or reads back (a
    /// simulation, a replay). It spares each attempt the window's insert and removal, on the
    /// simulator's hot path (BENCHMARKS.md).
    pub fn counting() -> MemoryJournal {
        MemoryJournal {
            keep_open: false,
            ..MemoryJournal::new()
        }
    }

    /// A journal that keeps everything it is told.
    pub fn keeping_all() -> MemoryJournal {
        MemoryJournal {
            keep_all: true,
            ..MemoryJournal::new()
        }
    }

    /// A journal whose writes fail, like a full disk.
    pub fn failing() -> MemoryJournal {
        MemoryJournal {
            fail_writes: true,
            ..MemoryJournal::keeping_all()
        }
    }

    pub fn log(&self) -> MemoryLog {
        self.log.clone()
    }
}

impl Journal for MemoryJournal {
    fn attempts_started(&mut self, started: &[AttemptStarted]) -> Result<(), JournalError> {
        if self.fail_writes {
            return Err(JournalError::Write(
                "the memory journal was told to fail".into(),
            ));
        }
        let mut log = self.log.0.borrow_mut();
        log.commits += 1;
        log.started += started.len() as u64;
        if self.keep_open {
            for start in started {
                log.open.insert(start.attempt, (start.lead, start.at));
            }
        }
        Ok(())
    }

    /// Only a journal keeping all keeps the states; the default one just counts them.
    fn keeps_call_states(&self) -> bool {
        self.keep_all
    }

    fn call_state(&mut self, attempt: AttemptId, at: SimTime, state: AppState) {
        let mut log = self.log.0.borrow_mut();
        log.states_seen += 1;
        if self.keep_all {
            log.states.push((attempt, at, state));
        }
    }

    fn attempt_ended(&mut self, record: &AttemptRecord, fate: LeadFate, _lead_attempts: u32) {
        let mut log = self.log.0.borrow_mut();
        if !self.keep_open {
            log.ended += 1;
            return;
        }
        let Some(mut entry) = log.take_open(record.attempt) else {
            return;
        };
        log.ended += 1;
        if self.keep_all {
            entry.ended = Some((record.ended_at, record.outcome));
            entry.fate = Some(fate);
            log.ended_attempts.push(entry);
        }
    }

    fn lead_set_aside(&mut self, lead: LeadId, at: SimTime, reason: SetAsideReason) {
        let mut log = self.log.0.borrow_mut();
        log.set_aside_count += 1;
        if self.keep_all {
            log.set_aside.push((lead, at, reason));
        }
    }

    fn abandon_event(&mut self, event: AbandonEvent) {
        let mut log = self.log.0.borrow_mut();
        log.abandon_count += 1;
        if self.keep_all {
            log.abandon_events.push(event);
        }
    }

    fn flush(&mut self) -> Result<(), JournalError> {
        if self.fail_writes {
            return Err(JournalError::Write(
                "the memory journal was told to fail".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PhoneNumber;

    fn start(attempt: u64) -> AttemptStarted {
        AttemptStarted {
            attempt: AttemptId(attempt),
            lead: LeadId(attempt),
            callee: PhoneNumber("+1".into()),
            at: SimTime::from_secs(attempt),
        }
    }

    fn ended(attempt: u64) -> AttemptRecord {
        AttemptRecord {
            attempt: AttemptId(attempt),
            lead: LeadId(attempt),
            callee: PhoneNumber("+1".into()),
            outcome: Outcome::Busy,
            dialed_at: SimTime::ZERO,
            answered_at: None,
            queued_at: None,
            agent_at: None,
            ended_at: SimTime::from_secs(100),
            talk: crate::time::SimDuration::ZERO,
            switch_call: None,
            tracking_id: None,
            reason: None,
            reason_code: None,
        }
    }

    #[test]
    fn keeps_attempts_in_flight_until_they_end() {
        let mut journal = MemoryJournal::new();
        let log = journal.log();
        journal
            .attempts_started(&[start(1), start(2), start(3)])
            .unwrap();
        journal.attempt_ended(&ended(2), LeadFate::Done, 1);
        let open: Vec<u64> = log.read(|c| c.open_attempts().iter().map(|a| a.attempt.0).collect());
        assert_eq!(open, [1, 3]);
        journal.attempt_ended(&ended(1), LeadFate::Done, 1);
        journal.attempt_ended(&ended(3), LeadFate::Done, 1);
        // An end without a start (or twice) is ignored.
        journal.attempt_ended(&ended(3), LeadFate::Done, 1);
        log.read(|c| {
            assert!(c.open_attempts().is_empty());
            assert_eq!((c.started, c.ended, c.commits), (3, 3, 1));
            assert!(c.ended_attempts.is_empty(), "not kept by default");
        });
    }

    #[test]
    fn counting_counts_and_keeps_nothing() {
        let mut journal = MemoryJournal::counting();
        let log = journal.log();
        journal.attempts_started(&[start(1), start(2)]).unwrap();
        journal.attempts_started(&[start(3)]).unwrap();
        journal.attempt_ended(&ended(2), LeadFate::Done, 1);
        log.read(|c| {
            assert!(c.open_attempts().is_empty());
            assert_eq!((c.started, c.ended, c.commits), (3, 1, 2));
        });
    }

    #[test]
    fn keeping_all_keeps_ended_attempts_with_their_fates() {
        let mut journal = MemoryJournal::keeping_all();
        let log = journal.log();
        journal.attempts_started(&[start(5)]).unwrap();
        journal.attempt_ended(&ended(5), LeadFate::RedialAt(SimTime::from_secs(160)), 1);
        log.read(|c| {
            assert_eq!(c.ended_attempts.len(), 1);
            assert_eq!(
                c.ended_attempts[0].fate,
                Some(LeadFate::RedialAt(SimTime::from_secs(160)))
            );
        });
        assert!(
            MemoryJournal::failing()
                .attempts_started(&[start(1)])
                .is_err()
        );
    }
}
