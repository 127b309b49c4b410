//! The attempt journal: what a campaign writes down so that a crash loses no lead and dials no
//! lead twice against the rules.
//!
//! The campaign supervisor writes through the [`Journal`] trait:
//! - [`Journal::attempts_started`] before the originate requests leave: it returns only once
//!   the attempts are committed (to the store's durability level), and a failure stops them
//!   from being dialed at all;
//! - [`Journal::call_state`] for every state a call goes through (the events);
//! - [`Journal::switch_call`] when the switch names a call, before it ends (a store keeps it,
//!   so that a restart can look the attempt up on the switch's active-call list);
//! - [`Journal::attempt_ended`] with the outcome and the lead's fate (its next due time, or done);
//! - [`Journal::lead_set_aside`] for leads the rules set aside (DNC, no calling window);
//! - [`Journal::abandon_event`] for the abandon accounting of 24-hour and 30-day windows, which
//!   the store keeps across restarts.
//!
//! Only `attempts_started` and `flush` wait; everything else is queued. Two implementations:
//! [`memory::MemoryJournal`] (simulation and tests: no I/O, deterministic) and
//! [`crate::store::SqliteJournal`] (live: SQLite on disk, one writer thread, batched commits).
//! [`recovery`] decides what becomes of attempts found in flight after a crash.
//!
//! The journal records; it decides nothing about leads or calls.

pub mod memory;
pub mod recovery;

use crate::call::machine::AttemptRecord;
use crate::compliance::rules::LeadFate;
use crate::domain::{AppState, AttemptId, LeadId, PhoneNumber};
use crate::switch::CallRef;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};

/// An attempt about to be originated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptStarted {
    pub attempt: AttemptId,
    pub lead: LeadId,
    pub callee: PhoneNumber,
    pub at: SimTime,
}

/// Why the rules set a lead aside without dialing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetAsideReason {
    /// The number is on the do-not-call list.
    DoNotCall,
    /// The lead's calling window never opens.
    NoWindow,
}

/// One entry of the abandon accounting: an answered call and whether it was abandoned.
///
/// Kept per call (not per bucket), so any window (the US 30-day, the UK 24-hour) and any
/// formula (Ofcom's, which discounts machines) can be computed from them after a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbandonKind {
    /// A person answered and reached an agent.
    LiveConnected,
    /// A person answered and never reached an agent.
    LiveAbandoned,
    /// An answering machine answered.
    Machine,
}

impl AbandonKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AbandonKind::LiveConnected => "live_connected",
            AbandonKind::LiveAbandoned => "live_abandoned",
            AbandonKind::Machine => "machine",
        }
    }

    pub fn parse(text: &str) -> Option<AbandonKind> {
        Some(match text {
            "live_connected" => AbandonKind::LiveConnected,
            "live_abandoned" => AbandonKind::LiveAbandoned,
            "machine" => AbandonKind::Machine,
            _ => return None,
        })
    }

    /// The entry an outcome makes, if any (calls nobody answered make none).
    pub fn of_outcome(outcome: crate::domain::Outcome) -> Option<AbandonKind> {
        use crate::domain::Outcome;
        match outcome {
            Outcome::Completed => Some(AbandonKind::LiveConnected),
            Outcome::AbandonedInQueue | Outcome::UnknownAfterAgentMiss => {
                Some(AbandonKind::LiveAbandoned)
            }
            Outcome::Machine => Some(AbandonKind::Machine),
            _ => None,
        }
    }
}

/// An abandon-accounting entry at engine time `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbandonEvent {
    pub at: SimTime,
    pub attempt: AttemptId,
    pub kind: AbandonKind,
    /// When the call was answered (the abandon windows count it there).
    pub answered_at: SimTime,
    /// It reached the call queue (the `reached_queue` denominator).
    pub reached_queue: bool,
    /// From the answer to an agent; `None` if it never reached one (the compliance abandon is
    /// judged against the threshold of whichever run reads it back).
    pub wait_for_agent: Option<crate::time::SimDuration>,
    /// It ended in the queue without an agent (a true abandon).
    pub abandoned_in_queue: bool,
}

/// Why the journal could not record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    #[error("the journal cannot write: {0}")]
    Write(String),
    #[error("the journal's writer has stopped: {0}")]
    Stopped(String),
}

/// Where a campaign writes down its attempts. See the module doc.
pub trait Journal {
    /// Records attempts about to be originated; returns once they are committed. The caller
    /// must not originate them if this fails.
    fn attempts_started(&mut self, started: &[AttemptStarted]) -> Result<(), JournalError>;

    /// A call reached a new state (queued; never waits).
    fn call_state(&mut self, attempt: AttemptId, at: SimTime, state: AppState);

    /// Whether this journal keeps every state a call passes through, "ringing" included (a
    /// store does). If it does not, calls need not report changes nobody decides on.
    fn keeps_call_states(&self) -> bool {
        true
    }

    /// The switch named an attempt's call (queued). Only called when
    /// [`Journal::keeps_switch_calls`]; the attempt's end record names it again.
    fn switch_call(&mut self, _attempt: AttemptId, _call: &CallRef, _tracking_id: &str) {}

    /// Whether this journal keeps the switch's name of a call before the call ends (a store
    /// does, for restarts; a simulation's journal does not, and its calls then never send it).
    fn keeps_switch_calls(&self) -> bool {
        false
    }

    /// An attempt ended; `fate` is the lead's, after `lead_attempts` attempts (queued).
    fn attempt_ended(&mut self, record: &AttemptRecord, fate: LeadFate, lead_attempts: u32);

    /// The rules set a lead aside without dialing it (queued).
    fn lead_set_aside(&mut self, lead: LeadId, at: SimTime, reason: SetAsideReason);

    /// An entry of the abandon accounting (queued).
    fn abandon_event(&mut self, event: AbandonEvent);

    /// Waits until everything recorded so far is committed.
    fn flush(&mut self) -> Result<(), JournalError>;
}
