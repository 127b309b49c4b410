//! The event trace: every switch event, pacing decision and attempt outcome, in order, with a hash.
//!
//! Each record gets the engine time, a sequence number (the tie-break for records at the same
//! instant) and, for call records, the attempt. Records are always folded into a 64-bit
//! `trace_hash`: each field of a record, as 64-bit words (strings as their length and then 8
//! bytes at a time), goes through an FxHash-style step `h = (rotl(h, 5) ^ word) * K`, and the
//! final value through a SplitMix64 finaliser. Hashing therefore costs no formatting; with
//! `--trace FILE` the records are also written as JSON lines. The same scenario and seed give the
//! same hash and a byte-identical file. The hash detects any divergence between runs; it is not
//! a cryptographic digest.
//!
//! The sink is shared by the actors of one run on one thread. It must not decide anything.

use crate::domain::{AttemptId, LeadId, Outcome, PhoneNumber};
use crate::pacing::{
    AbandonNote, Decision, GuardTransition, PacingSnapshot, Strategy, StrategyNote, Why,
};
use crate::switch::{ListedCall, SwitchEvent, SwitchNotice, tail_word};
use crate::time::SimTime;
use serde::Serialize;
use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

/// The trace of one run, shared by its actors.
pub type SharedTrace = Rc<RefCell<TraceSink>>;

/// One thing worth recording.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceRecord<'a> {
    /// The campaign placed a call.
    Dial {
        attempt: AttemptId,
        lead: LeadId,
        callee: &'a PhoneNumber,
    },
    /// The switch told a call something.
    Switch {
        attempt: AttemptId,
        event: &'a SwitchEvent,
    },
    /// An attempt ended.
    Outcome {
        attempt: AttemptId,
        outcome: Outcome,
    },
    /// Pacing placed dials (or reserved agents for a preview), with the numbers it decided on
    /// and, for strategies with more inputs, why.
    Pacing {
        strategy: &'static str,
        snapshot: &'a PacingSnapshot,
        idle_agents: u32,
        decision: &'a Decision,
        #[serde(skip_serializing_if = "Option::is_none")]
        why: Option<&'a Why>,
    },
    /// The pacing strategy and its settings, at the start and whenever they change.
    PacingStrategy { strategy: &'a Strategy },
    /// The abandon guard engaged (pacing falls back to progressive) or released.
    AbandonGuard {
        engaged: bool,
        abandon: &'a AbandonNote,
    },
    /// A strategy changed its state on a tick (a new adaptive dial level).
    StrategyUpdate { note: &'a StrategyNote },
    /// The queue guard paused or resumed dialing.
    QueueGuard { transition: GuardTransition },
    /// The switch reported the number of logged-in agents.
    Agents { logged_in: u32 },
    /// A scripted scenario event took effect.
    Timeline { action: &'a str },
    /// An event arrived for a call nobody tracks.
    UnknownCall { call: &'a str, state: &'a str },
    /// An event arrived for a call whose attempt had ended.
    EventAfterEnd { call: &'a str, state: &'a str },
    /// The switch's active-call list, as matched to attempts.
    ActiveCalls {
        complete: bool,
        rebuild: bool,
        unmatched: u32,
        calls: &'a [ListedCall],
    },
    /// The active-call list could not be fetched.
    ActiveCallsUnavailable { reason: &'a str },
    /// The backend moved to another PortaSwitch site.
    SiteChanged { site: &'a str },
    /// The switch refused the login: dialing stops until it works again.
    LoginRefused { site: &'a str, reason: &'a str },
    /// The login works again: dialing resumes.
    LoginRestored { site: &'a str },
    /// A callback for an attempt of an earlier run, still on the switch at the restart, with
    /// a "terminated" callback's disconnect reason.
    RecoveredCall {
        attempt: AttemptId,
        state: crate::switch::CallStatus,
        reason: Option<&'a str>,
        reason_code: Option<u16>,
    },
    /// An order from outside the engine (an admin at the command line or console, or a live
    /// run's deadline) reached the campaign: `pause`, `resume`, `stop_dialing`, `set_pacing`
    /// (with the strategy) or `report_now`.
    Control {
        action: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        strategy: Option<&'a Strategy>,
    },
    /// The do-not-call list was edited while the campaign ran.
    DncEdit {
        added: bool,
        number: &'a PhoneNumber,
    },
    /// A live run began: the real instant of its engine time zero and its first attempt's
    /// number; for a stored campaign, how many `run_lead`, `run_prior_answer` and
    /// `run_recovered` records follow (see [`crate::run_start`]).
    RunStart {
        epoch: &'a str,
        first_attempt: AttemptId,
        stored: bool,
        leads: u64,
        prior_answers: u64,
        recovered: u64,
    },
    /// A stored campaign's lead where it stood when the run began.
    RunLead {
        lead: LeadId,
        number: &'a PhoneNumber,
        /// Its zone's name; `None`: the campaign's default zone.
        zone: Option<&'a str>,
        priority: i32,
        added: i64,
        status: &'static str,
        /// When a waiting lead is due (engine time, µs).
        #[serde(skip_serializing_if = "Option::is_none")]
        due_us: Option<u64>,
        attempts: u32,
        attempts_today: u32,
        day: i32,
        last_outcome: Option<Outcome>,
        do_not_call: bool,
    },
    /// An answered call of an earlier run, in the abandon windows when the run began.
    RunPriorAnswer {
        age_us: u64,
        reached_queue: bool,
        wait_for_agent_us: Option<u64>,
        abandoned_in_queue: bool,
    },
    /// An attempt of an earlier run the switch still carried when the run began.
    RunRecovered {
        attempt: AttemptId,
        lead: Option<LeadId>,
        callee: &'a PhoneNumber,
        switch_call: Option<&'a str>,
    },
    /// The simulated switch injected a fault (`[faults]`): what, to which attempt, and the
    /// state of the callback concerned, if any.
    Fault {
        attempt: AttemptId,
        fault: &'static str,
        state: Option<crate::switch::CallStatus>,
    },
    /// An engine timer fired in a live run (at the record's time), with when it was due
    /// ([`crate::clock::timer_label`] names it). Simulated timers fire when due and write none.
    Timer { timer: &'a str, due_us: u64 },
}

#[derive(Serialize)]
struct Line<'a> {
    seq: u64,
    t_us: u64,
    at: String,
    #[serde(flatten)]
    record: &'a TraceRecord<'a>,
}

/// A trace's JSON lines kept in memory (a replay's trace, tests); clones share the bytes.
#[derive(Clone, Default)]
pub struct TraceBuffer(Rc<RefCell<Vec<u8>>>);

impl TraceBuffer {
    /// The bytes written so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.borrow().clone()
    }
}

impl Write for TraceBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Collects the trace: a running hash, a count, and optionally a JSON-lines writer.
pub struct TraceSink {
    next_seq: u64,
    hash: WordHasher,
    writer: Option<Box<dyn Write>>,
    write_error: Option<io::Error>,
}

impl TraceSink {
    /// A sink that only hashes.
    pub fn hashing_only() -> TraceSink {
        TraceSink {
            next_seq: 0,
            hash: WordHasher::default(),
            writer: None,
            write_error: None,
        }
    }

    /// A sink that hashes and writes JSON lines to `writer`.
    pub fn writing_to(writer: Box<dyn Write>) -> TraceSink {
        TraceSink {
            writer: Some(writer),
            ..TraceSink::hashing_only()
        }
    }

    pub fn shared(self) -> SharedTrace {
        Rc::new(RefCell::new(self))
    }

    /// Records one entry at engine time `at`.
    ///
    /// Inlined, so that where the caller builds the record the compiler knows its kind and
    /// hashes just that kind's words: no call, and no dispatch on the kind at run time. Writing
    /// the JSON line (only with `--trace FILE`) stays out of line.
    #[inline(always)]
    pub fn record(&mut self, at: SimTime, record: &TraceRecord<'_>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        canonical_words(seq, at, record, &mut self.hash);
        if self.writer.is_some() {
            self.write_line(seq, at, record);
        }
    }

    #[cold]
    #[inline(never)]
    fn write_line(&mut self, seq: u64, at: SimTime, record: &TraceRecord<'_>) {
        if let Some(writer) = self.writer.as_mut()
            && self.write_error.is_none()
        {
            let line = Line {
                seq,
                t_us: at.as_micros(),
                at: at.to_string(),
                record,
            };
            let result = serde_json::to_writer(&mut *writer, &line)
                .map_err(io::Error::from)
                .and_then(|()| writer.write_all(b"\n"));
            if let Err(error) = result {
                self.write_error = Some(error);
            }
        }
    }

    pub fn records(&self) -> u64 {
        self.next_seq
    }

    pub fn hash(&self) -> u64 {
        self.hash.finish()
    }

    /// Flushes the writer and reports the first write error, if any.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(error) = self.write_error.take() {
            return Err(error);
        }
        if let Some(writer) = self.writer.as_mut() {
            writer.flush()?;
        }
        Ok(())
    }
}

/// The first word a record of each kind is hashed with. Each kind has its own value (the
/// compiler rejects a repeated discriminant); changing one changes the hash of every trace that
/// holds a record of that kind. 13 to 15 were given on 2026-12-06 to three kinds that had
/// shared 9 to 11 with older ones.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Kind {
    Dial = 1,
    Switch = 2,
    Outcome = 3,
    Pacing = 4,
    QueueGuard = 5,
    Agents = 6,
    Timeline = 7,
    UnknownCall = 8,
    PacingStrategy = 9,
    ActiveCalls = 10,
    ActiveCallsUnavailable = 11,
    SiteChanged = 12,
    EventAfterEnd = 13,
    AbandonGuard = 14,
    StrategyUpdate = 15,
    Fault = 20,
    LoginRefused = 21,
    LoginRestored = 22,
    RecoveredCall = 23,
    RunStart = 24,
    RunLead = 25,
    RunPriorAnswer = 26,
    RunRecovered = 27,
    Control = 28,
    DncEdit = 29,
    Timer = 30,
}

fn put_kind(out: &mut WordHasher, kind: Kind) {
    out.word(kind as u64);
}

/// The words a record is hashed over: numbers, strings with their length, the record's
/// [`Kind`] and a tag per variant. Changing this changes every trace hash.
#[inline(always)]
fn canonical_words(seq: u64, at: SimTime, record: &TraceRecord<'_>, out: &mut WordHasher) {
    put_u64(out, seq);
    put_u64(out, at.as_micros());
    match record {
        TraceRecord::Dial {
            attempt,
            lead,
            callee,
        } => {
            put_kind(out, Kind::Dial);
            put_u64(out, attempt.0);
            put_u64(out, lead.0);
            put_str(out, &callee.0);
        }
        TraceRecord::Switch { attempt, event } => {
            put_kind(out, Kind::Switch);
            put_u64(out, attempt.0);
            match event {
                SwitchEvent::Accepted { call, tracking_id } => {
                    put_tag(out, 1);
                    put_str(out, &call.id);
                    put_str(out, &call.tag);
                    put_str(out, tracking_id);
                }
                SwitchEvent::Rejected { reason } => {
                    put_tag(out, 2);
                    put_str(out, reason);
                }
                SwitchEvent::State(note) => {
                    // The call's identity was hashed with its Accepted event; a notification
                    // adds its state, code and time, and its texts only where they carry news.
                    put_tag(out, 3);
                    put_tag(out, note.state as u8);
                    put_u64(out, note.reason_code.map_or(u64::MAX, u64::from));
                    put_u64(out, note.update_time.map_or(u64::MAX, |t| t.0));
                    if note.state == crate::switch::CallStatus::Terminated {
                        put_str(out, note.reason.as_deref().unwrap_or(""));
                    }
                }
            }
        }
        TraceRecord::Outcome { attempt, outcome } => {
            put_kind(out, Kind::Outcome);
            put_u64(out, attempt.0);
            put_tag(out, *outcome as u8);
        }
        TraceRecord::Pacing {
            strategy,
            snapshot,
            idle_agents,
            decision,
            why,
        } => {
            put_kind(out, Kind::Pacing);
            put_str(out, strategy);
            for value in [
                snapshot.agents_logged_in,
                snapshot.agents_on_calls,
                snapshot.agents_in_wrap_up,
                snapshot.dials_in_flight,
                snapshot.calls_queued,
                *idle_agents,
                decision.dial,
                decision.target,
            ] {
                put_u64(out, u64::from(value));
            }
            put_u64(out, snapshot.dialable_leads);
            put_tag(out, u8::from(snapshot.dialing_open));
            put_tag(out, decision.limited_by.map_or(0, |limit| limit as u8 + 1));
            if decision.reserve > 0 {
                put_u64(out, u64::from(decision.reserve));
            }
            if let Some(why) = why {
                put_why(out, why);
            }
        }
        TraceRecord::PacingStrategy { strategy } => {
            put_kind(out, Kind::PacingStrategy);
            put_strategy(out, strategy);
        }
        TraceRecord::AbandonGuard { engaged, abandon } => {
            put_kind(out, Kind::AbandonGuard);
            put_tag(out, u8::from(*engaged));
            put_abandon(out, abandon);
        }
        TraceRecord::StrategyUpdate { note } => {
            put_kind(out, Kind::StrategyUpdate);
            put_note(out, note);
        }
        TraceRecord::QueueGuard { transition } => {
            put_kind(out, Kind::QueueGuard);
            let (kind, queued) = match transition {
                GuardTransition::Paused { queued } => (1, queued),
                GuardTransition::Resumed { queued } => (2, queued),
            };
            put_tag(out, kind);
            put_u64(out, u64::from(*queued));
        }
        TraceRecord::Agents { logged_in } => {
            put_kind(out, Kind::Agents);
            put_u64(out, u64::from(*logged_in));
        }
        TraceRecord::Timeline { action } => {
            put_kind(out, Kind::Timeline);
            put_str(out, action);
        }
        TraceRecord::UnknownCall { call, state } => {
            put_kind(out, Kind::UnknownCall);
            put_str(out, call);
            put_str(out, state);
        }
        TraceRecord::EventAfterEnd { call, state } => {
            put_kind(out, Kind::EventAfterEnd);
            put_str(out, call);
            put_str(out, state);
        }
        TraceRecord::ActiveCalls {
            complete,
            rebuild,
            unmatched,
            calls,
        } => {
            put_kind(out, Kind::ActiveCalls);
            put_tag(out, u8::from(*complete) | (u8::from(*rebuild) << 1));
            put_u64(out, u64::from(*unmatched));
            put_u64(out, calls.len() as u64);
            for call in calls.iter() {
                put_u64(out, call.attempt.0);
                put_tag(out, call.state.map_or(u8::MAX, |state| state as u8));
            }
        }
        TraceRecord::ActiveCallsUnavailable { reason } => {
            put_kind(out, Kind::ActiveCallsUnavailable);
            put_str(out, reason);
        }
        TraceRecord::SiteChanged { site } => {
            put_kind(out, Kind::SiteChanged);
            put_str(out, site);
        }
        TraceRecord::LoginRefused { site, reason } => {
            put_kind(out, Kind::LoginRefused);
            put_str(out, site);
            put_str(out, reason);
        }
        TraceRecord::LoginRestored { site } => {
            put_kind(out, Kind::LoginRestored);
            put_str(out, site);
        }
        TraceRecord::RecoveredCall {
            attempt,
            state,
            reason,
            reason_code,
        } => {
            put_kind(out, Kind::RecoveredCall);
            put_u64(out, attempt.0);
            put_tag(out, *state as u8);
            put_str(out, reason.unwrap_or(""));
            put_u64(out, reason_code.map_or(u64::MAX, u64::from));
        }
        TraceRecord::Control { action, strategy } => {
            put_kind(out, Kind::Control);
            put_str(out, action);
            if let Some(strategy) = strategy {
                put_strategy(out, strategy);
            }
        }
        TraceRecord::DncEdit { added, number } => {
            put_kind(out, Kind::DncEdit);
            put_tag(out, u8::from(*added));
            put_str(out, &number.0);
        }
        TraceRecord::RunStart {
            epoch,
            first_attempt,
            stored,
            leads,
            prior_answers,
            recovered,
        } => {
            put_kind(out, Kind::RunStart);
            put_str(out, epoch);
            put_u64(out, first_attempt.0);
            put_tag(out, u8::from(*stored));
            put_u64(out, *leads);
            put_u64(out, *prior_answers);
            put_u64(out, *recovered);
        }
        TraceRecord::RunLead {
            lead,
            number,
            zone,
            priority,
            added,
            status,
            due_us,
            attempts,
            attempts_today,
            day,
            last_outcome,
            do_not_call,
        } => {
            put_kind(out, Kind::RunLead);
            put_u64(out, lead.0);
            put_str(out, &number.0);
            put_str(out, zone.unwrap_or(""));
            put_u64(out, *priority as u64);
            put_u64(out, *added as u64);
            put_str(out, status);
            put_u64(out, due_us.unwrap_or(u64::MAX));
            put_u64(out, u64::from(*attempts));
            put_u64(out, u64::from(*attempts_today));
            put_u64(out, *day as u64);
            put_tag(out, last_outcome.map_or(u8::MAX, |outcome| outcome as u8));
            put_tag(out, u8::from(*do_not_call));
        }
        TraceRecord::RunPriorAnswer {
            age_us,
            reached_queue,
            wait_for_agent_us,
            abandoned_in_queue,
        } => {
            put_kind(out, Kind::RunPriorAnswer);
            put_u64(out, *age_us);
            put_tag(
                out,
                u8::from(*reached_queue) | (u8::from(*abandoned_in_queue) << 1),
            );
            put_u64(out, wait_for_agent_us.unwrap_or(u64::MAX));
        }
        TraceRecord::RunRecovered {
            attempt,
            lead,
            callee,
            switch_call,
        } => {
            put_kind(out, Kind::RunRecovered);
            put_u64(out, attempt.0);
            put_u64(out, lead.map_or(u64::MAX, |lead| lead.0));
            put_str(out, &callee.0);
            put_str(out, switch_call.unwrap_or(""));
        }
        TraceRecord::Fault {
            attempt,
            fault,
            state,
        } => {
            put_kind(out, Kind::Fault);
            put_u64(out, attempt.0);
            put_str(out, fault);
            put_tag(out, state.map_or(u8::MAX, |state| state as u8));
        }
        TraceRecord::Timer { timer, due_us } => {
            put_kind(out, Kind::Timer);
            put_str(out, timer);
            put_u64(out, *due_us);
        }
    }
}

fn put_f64(out: &mut WordHasher, value: f64) {
    out.word(value.to_bits());
}

fn put_why(out: &mut WordHasher, why: &Why) {
    put_tag(out, 1);
    put_tag(out, u8::from(why.guard_engaged));
    put_u64(out, u64::from(why.wanted));
    if let Some(abandon) = &why.abandon {
        put_abandon(out, abandon);
    }
    if let Some(note) = &why.note {
        put_note(out, note);
    }
}

fn put_abandon(out: &mut WordHasher, abandon: &AbandonNote) {
    put_str(out, abandon.window);
    put_u64(out, abandon.answers);
    put_u64(out, abandon.abandons);
    for value in [
        abandon.rate,
        abandon.cap,
        abandon.allowed_rate,
        abandon.budget_left,
    ] {
        put_f64(out, value);
    }
}

fn put_note(out: &mut WordHasher, note: &StrategyNote) {
    match note {
        StrategyNote::Preview {
            previewing,
            preview_seconds,
        } => {
            put_tag(out, 1);
            put_u64(out, u64::from(*previewing));
            put_f64(out, *preview_seconds);
        }
        StrategyNote::Adaptive(note) => {
            put_tag(out, 2);
            for value in [note.level, note.differential, note.mean_agents] {
                put_f64(out, value);
            }
            for value in [note.agents_counted, note.active_calls, note.goal] {
                put_u64(out, u64::from(value));
            }
            put_str(out, note.override_rule.unwrap_or(""));
        }
        StrategyNote::Predictive(note) => {
            put_tag(out, 3);
            put_tag(out, u8::from(note.warming_up));
            put_tag(out, note.criterion as u8);
            put_tag(out, u8::from(note.guard_engaged));
            for value in [note.dial_outcomes, note.live_answers, note.talks] {
                put_u64(out, value);
            }
            for value in [
                note.idle_agents,
                note.busy_agents,
                note.dials_in_flight,
                note.calls_waiting,
                note.chosen,
            ] {
                put_u64(out, u64::from(value));
            }
            for value in [
                note.p_live,
                note.mean_answer_seconds,
                note.mean_talk_seconds,
                note.horizon_seconds,
                note.threshold_seconds,
                note.about_to_free,
                note.expected_answers,
                note.allowed,
                note.risk,
                note.risk_next,
            ] {
                put_f64(out, value);
            }
        }
    }
}

/// Strategy settings, through their JSON form (rare records: at the start and on changes).
fn put_strategy(out: &mut WordHasher, strategy: &Strategy) {
    let text = serde_json::to_string(strategy).unwrap_or_default();
    put_str(out, &text);
}

fn put_u64(out: &mut WordHasher, value: u64) {
    out.word(value);
}

fn put_tag(out: &mut WordHasher, tag: u8) {
    out.word(u64::from(tag));
}

#[inline]
fn put_str(out: &mut WordHasher, text: &str) {
    out.word(text.len() as u64);
    let mut chunks = text.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        out.word(u64::from_le_bytes(
            chunk.try_into().expect("chunks of eight"),
        ));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        out.word(tail_word(rest));
    }
}

/// The running trace hash over 64-bit words (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
struct WordHasher {
    state: u64,
}

impl WordHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn word(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }

    fn finish(&self) -> u64 {
        let mut z = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Records a notice from the switch.
pub fn record_notice(trace: &SharedTrace, at: SimTime, notice: &SwitchNotice) {
    let mut sink = trace.borrow_mut();
    match notice {
        SwitchNotice::AgentsLoggedIn { count } => {
            sink.record(at, &TraceRecord::Agents { logged_in: *count })
        }
        SwitchNotice::UnknownCall { call, state } => sink.record(
            at,
            &TraceRecord::UnknownCall {
                call: &call.to_string(),
                state: state.as_str(),
            },
        ),
        SwitchNotice::EventAfterEnd { call, state } => sink.record(
            at,
            &TraceRecord::EventAfterEnd {
                call: &call.to_string(),
                state: state.as_str(),
            },
        ),
        SwitchNotice::ActiveCalls(list) => sink.record(
            at,
            &TraceRecord::ActiveCalls {
                complete: list.complete,
                rebuild: list.rebuild,
                unmatched: list.unmatched,
                calls: &list.listed,
            },
        ),
        SwitchNotice::ActiveCallsUnavailable { reason } => {
            sink.record(at, &TraceRecord::ActiveCallsUnavailable { reason })
        }
        SwitchNotice::SiteChanged { site } => sink.record(at, &TraceRecord::SiteChanged { site }),
        SwitchNotice::LoginRefused { site, reason } => {
            sink.record(at, &TraceRecord::LoginRefused { site, reason })
        }
        SwitchNotice::LoginRestored { site } => {
            sink.record(at, &TraceRecord::LoginRestored { site })
        }
        SwitchNotice::RecoveredCallState {
            attempt,
            state,
            reason,
            reason_code,
        } => sink.record(
            at,
            &TraceRecord::RecoveredCall {
                attempt: *attempt,
                state: *state,
                reason: reason.as_deref(),
                reason_code: *reason_code,
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writing_does_not_change_the_hash() {
        let buffer = TraceBuffer::default();
        let mut writing = TraceSink::writing_to(Box::new(buffer.clone()));
        let mut hashing = TraceSink::hashing_only();
        let record = TraceRecord::Agents { logged_in: 12 };
        for sink in [&mut writing, &mut hashing] {
            sink.record(SimTime::from_secs(3), &record);
            sink.record(
                SimTime::from_secs(4),
                &TraceRecord::Timeline { action: "x" },
            );
        }
        writing.finish().unwrap();
        assert_eq!(writing.hash(), hashing.hash());
        let text = String::from_utf8(buffer.bytes()).unwrap();
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            r#"{"seq":0,"t_us":3000000,"at":"00:00:03.000","kind":"agents","logged_in":12}"#
        );
    }

    #[test]
    fn order_and_time_change_the_hash() {
        let mut a = TraceSink::hashing_only();
        let mut b = TraceSink::hashing_only();
        a.record(SimTime::from_secs(1), &TraceRecord::Agents { logged_in: 1 });
        b.record(SimTime::from_secs(2), &TraceRecord::Agents { logged_in: 1 });
        assert_ne!(a.hash(), b.hash());
    }
}
