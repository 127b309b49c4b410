//! `MemoryJournal`: the journal of a simulation, in memory.
//!
//! No I/O and nothing but the calls it receives, so a simulation stays deterministic and fast.
//! It keeps every attempt (compact), every set-aside lead and every abandon entry; the states of
//! calls are counted, and kept only when asked for ([`MemoryJournal::keeping_states`]), since a
//! simulated day has hundreds of thousands of them. A [`MemoryLog`] handle reads what was
//! written, during or after a run.
//!
//! It must not decide anything; it must not read a clock.

use super::{AbandonEvent, AttemptStarted, Journal, JournalError, SetAsideReason};
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

/// Everything a memory journal was told.
#[derive(Debug, Default)]
pub struct MemoryContents {
    pub attempts: Vec<MemoryAttempt>,
    /// Call states, when kept.
    pub states: Vec<(AttemptId, SimTime, AppState)>,
    pub states_seen: u64,
    pub set_aside: Vec<(LeadId, SimTime, SetAsideReason)>,
    pub abandon_events: Vec<AbandonEvent>,
    /// `attempts_started` calls (each one a commit in a real store).
    pub commits: u64,
    /// Index of attempt ids in `attempts`: attempt id minus this is the index.
    first_attempt: Option<u64>,
}

impl MemoryContents {
    /// The attempt with this id, if it was journaled.
    pub fn attempt(&self, attempt: AttemptId) -> Option<&MemoryAttempt> {
        let first = self.first_attempt?;
        let index = attempt.0.checked_sub(first)? as usize;
        self.attempts.get(index).filter(|a| a.attempt == attempt)
    }

    /// Attempts started and not ended.
    pub fn open_attempts(&self) -> impl Iterator<Item = &MemoryAttempt> {
        self.attempts.iter().filter(|a| a.ended.is_none())
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
    keep_states: bool,
    /// Fail every `attempts_started` from now on (for tests of a failing store).
    fail_writes: bool,
}

impl Default for MemoryJournal {
    fn default() -> Self {
        MemoryJournal::new()
    }
}

impl MemoryJournal {
    /// A journal that counts call states without keeping them.
    pub fn new() -> MemoryJournal {
        MemoryJournal {
            log: MemoryLog::default(),
            keep_states: false,
            fail_writes: false,
        }
    }

    /// A journal that keeps every call state too.
    pub fn keeping_states() -> MemoryJournal {
        MemoryJournal {
            keep_states: true,
            ..MemoryJournal::new()
        }
    }

    /// A journal whose writes fail, like a full disk.
    pub fn failing() -> MemoryJournal {
        MemoryJournal {
            fail_writes: true,
            ..MemoryJournal::new()
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
        for start in started {
            if log.first_attempt.is_none() {
                log.first_attempt = Some(start.attempt.0);
            }
            log.attempts.push(MemoryAttempt {
                attempt: start.attempt,
                lead: start.lead,
                started_at: start.at,
                ended: None,
                fate: None,
            });
        }
        Ok(())
    }

    fn call_state(&mut self, attempt: AttemptId, at: SimTime, state: AppState) {
        let mut log = self.log.0.borrow_mut();
        log.states_seen += 1;
        if self.keep_states {
            log.states.push((attempt, at, state));
        }
    }

    fn attempt_ended(&mut self, record: &AttemptRecord, fate: LeadFate, _lead_attempts: u32) {
        let mut log = self.log.0.borrow_mut();
        let Some(first) = log.first_attempt else {
            return;
        };
        let Some(index) = record.attempt.0.checked_sub(first) else {
            return;
        };
        if let Some(entry) = log.attempts.get_mut(index as usize)
            && entry.attempt == record.attempt
        {
            entry.ended = Some((record.ended_at, record.outcome));
            entry.fate = Some(fate);
        }
    }

    fn lead_set_aside(&mut self, lead: LeadId, at: SimTime, reason: SetAsideReason) {
        self.log.0.borrow_mut().set_aside.push((lead, at, reason));
    }

    fn abandon_event(&mut self, event: AbandonEvent) {
        self.log.0.borrow_mut().abandon_events.push(event);
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
