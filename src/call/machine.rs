//! One call attempt's life as a pure state machine: `(state, input, now) -> effects`.
//!
//! [`CallMachine::handle`] reads PortaSwitch notifications and timer expiries and answers with
//! [`Effect`]s: commands for the switch, timers to set, anomalies to count, and finally the
//! attempt's record. It performs no I/O, reads no clock and draws no randomness; time arrives
//! as an argument. [`crate::call::actor`] turns the effects into messages and timers.
//!
//! How PortaSwitch states map to the dialer's [`AppState`]s (portaswitch-api.md §3; the
//! vocabulary is documented, the sequence is our reading of it):
//!
//! | notification | means | app state |
//! |---|---|---|
//! | trying | the switch is placing the call | dialing |
//! | ringing | the callee's phone rings | ringing |
//! | connected, before any queueing | the callee answered | answered |
//! | queued | the auto-attendant put the callee in the call queue | queued |
//! | dequeued | the queue offers the callee to an agent, whose phone rings | offered |
//! | connected, after dequeued or queued | the agent answered | talking |
//! | held / connected after held | on hold / resumed | held / talking |
//! | transferred | the agent passed the callee on; the agent is free | transferred |
//! | terminated | the call is over; `reason` and `reason_code` say why | ended(outcome) |
//!
//! A notification that repeats one already handled (same state, tracking id and switch timestamp)
//! without moving the call on is a *duplicate*; one that would move the call backwards (ringing
//! after queued), or carries a switch timestamp older than one already taken, is *out of order*;
//! anything after the end is *late*. All three are ignored and reported as anomalies, never a
//! panic. A "terminated" right after "dequeued" is
//! the release note's limitation: the agent missed the call and the switch says nothing more, so
//! the outcome is `unknown_after_agent_miss`.
//!
//! Because of that limitation a "terminated" that arrives while the callee is queued or offered
//! to an agent (and no agent answered) does not end the call: the call becomes *suspect* and
//! keeps its place. The campaign asks the switch's active-call list about suspect calls
//! ([`Input::Listed`]); a suspect the list shows talking moves to talking, and only when the list
//! shows it gone is its outcome settled: `abandoned_in_queue` after queued,
//! `unknown_after_agent_miss` after an agent's miss, `completed` if it was seen talking. A call
//! the list no longer carries although the switch never said "terminated" has *vanished* and ends
//! as `unknown`.

use crate::domain::{AppState, AttemptId, LeadId, Outcome, PhoneNumber};
use crate::short_text::ShortText;
use crate::switch::reasons;
use crate::switch::{CallRef, CallStatus, StateNotification, SwitchEvent, tail_word};
use crate::time::{SimDuration, SimTime};
use serde::Serialize;
use smallvec::SmallVec;

/// Per-campaign settings a call needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallSettings {
    /// How long the callee's phone may ring (sent with the originate request).
    pub ring_timeout: SimDuration,
    /// How long past the ring timeout the dialer waits to hear "answered" or "terminated" before
    /// it hangs up by itself.
    pub dial_watchdog_grace: SimDuration,
    /// How long a connected call may go without any notification before the dialer considers
    /// it lost.
    pub connected_watchdog: SimDuration,
    /// How long after its own hangup request the dialer waits for "terminated".
    pub hangup_grace: SimDuration,
    /// How long a suspect call waits for the active-call list to settle it before the dialer
    /// gives up and settles it as if the "terminated" had been final.
    pub suspect_timeout: SimDuration,
}

impl CallSettings {
    /// When a call dialed at `dialed_at` should have been answered or ended, at the latest.
    pub fn dial_deadline(&self, dialed_at: SimTime) -> SimTime {
        dialed_at + self.ring_timeout + self.dial_watchdog_grace
    }
}

impl Default for CallSettings {
    fn default() -> Self {
        CallSettings {
            ring_timeout: SimDuration::from_secs(25),
            dial_watchdog_grace: SimDuration::from_secs(10),
            connected_watchdog: SimDuration::from_secs(4 * 3600),
            hangup_grace: SimDuration::from_secs(10),
            suspect_timeout: SimDuration::from_secs(30 * 60),
        }
    }
}

/// What can happen to a call.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// The attempt begins: originate the call.
    Start,
    Event(&'a SwitchEvent),
    /// The call's watchdog deadline may have passed (see [`CallMachine::watchdog_deadline`]).
    Watchdog,
    /// What the switch's active-call list says about this call.
    Listed(Presence),
    /// The switch let go of the call without ending it (its events can no longer arrive).
    SwitchLetGo,
}

/// A call's presence in the switch's active-call list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Listed, in this state (`None`: a state outside the vocabulary).
    Listed(Option<CallStatus>),
    /// Not listed: the switch no longer carries the call.
    Gone,
}

/// Something the machine saw that should not happen, reported and otherwise ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Anomaly {
    /// The same notification arrived twice.
    Duplicate,
    /// A notification would move the call backwards.
    OutOfOrder,
    /// A notification or reply arrived after the call ended.
    LateEvent,
    /// A notification named a different call id/tag than this attempt's.
    ForeignCall,
    /// The switch accepted or rejected an originate request twice.
    UnexpectedReply,
    /// The call went silent past its watchdog; the dialer stopped waiting.
    WatchdogExpired,
    /// An event arrived for a call nobody is tracking (counted by the backend).
    UnknownCall,
    /// The switch's active-call list stopped carrying a call it never said was terminated.
    Vanished,
}

impl Anomaly {
    pub const ALL: [Anomaly; 8] = [
        Anomaly::Duplicate,
        Anomaly::OutOfOrder,
        Anomaly::LateEvent,
        Anomaly::ForeignCall,
        Anomaly::UnexpectedReply,
        Anomaly::WatchdogExpired,
        Anomaly::UnknownCall,
        Anomaly::Vanished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Anomaly::Duplicate => "duplicate",
            Anomaly::OutOfOrder => "out_of_order",
            Anomaly::LateEvent => "late_event",
            Anomaly::ForeignCall => "foreign_call",
            Anomaly::UnexpectedReply => "unexpected_reply",
            Anomaly::WatchdogExpired => "watchdog_expired",
            Anomaly::UnknownCall => "unknown_call",
            Anomaly::Vanished => "vanished",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Everything the dialer knows about one attempt once it has ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttemptRecord {
    pub attempt: AttemptId,
    pub lead: LeadId,
    pub callee: PhoneNumber,
    pub outcome: Outcome,
    pub dialed_at: SimTime,
    pub answered_at: Option<SimTime>,
    pub queued_at: Option<SimTime>,
    /// When an agent answered.
    pub agent_at: Option<SimTime>,
    pub ended_at: SimTime,
    /// Time with an agent, holds included, up to the end or a transfer.
    pub talk: SimDuration,
    pub switch_call: Option<CallRef>,
    pub tracking_id: Option<ShortText>,
    pub reason: Option<ShortText>,
    pub reason_code: Option<u16>,
}

impl AttemptRecord {
    /// An attempt ended `unknown` by the campaign, not by its call: nothing was heard of it
    /// after `dialed_at` (its actor died, or it belongs to an earlier run), so `reason` is all
    /// there is to say.
    pub fn unknown(
        attempt: AttemptId,
        lead: LeadId,
        callee: PhoneNumber,
        dialed_at: SimTime,
        ended_at: SimTime,
        reason: &str,
    ) -> AttemptRecord {
        AttemptRecord {
            attempt,
            lead,
            callee,
            outcome: Outcome::Unknown,
            dialed_at,
            answered_at: None,
            queued_at: None,
            agent_at: None,
            ended_at,
            talk: SimDuration::ZERO,
            switch_call: None,
            tracking_id: None,
            reason: Some(reason.into()),
            reason_code: None,
        }
    }

    /// An attempt of an earlier run (recovered at a restart) that ended with `outcome`, as its
    /// own "terminated" callback says (`reason`, `reason_code`); nothing else of it is known to
    /// this run.
    pub fn recovered(
        attempt: AttemptId,
        lead: LeadId,
        callee: PhoneNumber,
        ended_at: SimTime,
        outcome: Outcome,
        reason: Option<ShortText>,
        reason_code: Option<u16>,
    ) -> AttemptRecord {
        AttemptRecord {
            outcome,
            reason,
            reason_code,
            ..AttemptRecord::unknown(attempt, lead, callee, SimTime::ZERO, ended_at, "")
        }
    }

    /// From answer until an agent answered; `None` if no agent answered.
    pub fn wait_for_agent(&self) -> Option<SimDuration> {
        Some(self.agent_at? - self.answered_at?)
    }

    /// From answer until the callee gave up; `None` unless the person never reached an agent.
    pub fn wait_before_giving_up(&self) -> Option<SimDuration> {
        if self.outcome.was_answered_by_person() && !self.outcome.reached_agent() {
            Some(self.ended_at - self.answered_at?)
        } else {
            None
        }
    }
}

/// An instruction from the machine to its actor.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Originate {
        callee: PhoneNumber,
        ring_timeout: SimDuration,
    },
    Hangup {
        call: CallRef,
    },
    Anomaly(Anomaly),
    /// The attempt is over; this is its record. Emitted exactly once.
    Ended(Box<AttemptRecord>),
}

pub type Effects = SmallVec<[Effect; 4]>;

/// The pure state of one attempt.
#[derive(Clone, Debug)]
pub struct CallMachine {
    attempt: AttemptId,
    lead: LeadId,
    callee: PhoneNumber,
    settings: CallSettings,
    state: AppState,
    started: bool,
    switch_call: Option<CallRef>,
    tracking_id: Option<ShortText>,
    /// Fingerprints of notifications already handled, for spotting duplicates.
    seen: SmallVec<[u64; 6]>,
    /// The switch's timestamp of the latest notification taken.
    latest_update: Option<SimTime>,
    dialed_at: SimTime,
    answered_at: Option<SimTime>,
    queued_at: Option<SimTime>,
    agent_at: Option<SimTime>,
    talk_ended_at: Option<SimTime>,
    last_heard_at: SimTime,
    /// When the dialer asked the switch to hang up a silent dial.
    hangup_requested_at: Option<SimTime>,
    /// Set once the switch said "terminated" for a call still waiting for an agent: the switch
    /// will say nothing more about it (the limitation), only the active-call list will.
    detached: Option<Box<Detached>>,
}

/// What the dialer knew when a waiting call's "terminated" made it suspect.
#[derive(Clone, Debug)]
struct Detached {
    /// Queued or offered: where the call was when the switch stopped talking about it.
    from: AppState,
    since: SimTime,
    reason: Option<ShortText>,
    reason_code: Option<u16>,
}

impl CallMachine {
    pub fn new(
        attempt: AttemptId,
        lead: LeadId,
        callee: PhoneNumber,
        settings: CallSettings,
    ) -> CallMachine {
        CallMachine {
            attempt,
            lead,
            callee,
            settings,
            state: AppState::Dialing,
            started: false,
            switch_call: None,
            tracking_id: None,
            seen: SmallVec::new(),
            latest_update: None,
            dialed_at: SimTime::ZERO,
            answered_at: None,
            queued_at: None,
            agent_at: None,
            talk_ended_at: None,
            last_heard_at: SimTime::ZERO,
            hangup_requested_at: None,
            detached: None,
        }
    }

    /// [`CallMachine::new`] on the heap, made in its box: the call's actor keeps its machine
    /// boxed, and a machine made on the stack and then copied into a box waits on loads that
    /// span several stores (BENCHMARKS.md, eleventh session).
    pub fn boxed(
        attempt: AttemptId,
        lead: LeadId,
        callee: PhoneNumber,
        settings: CallSettings,
    ) -> Box<CallMachine> {
        let place = Box::new_uninit();
        Box::write(place, CallMachine::new(attempt, lead, callee, settings))
    }

    pub fn state(&self) -> AppState {
        self.state
    }

    pub fn attempt(&self) -> AttemptId {
        self.attempt
    }

    pub fn is_ended(&self) -> bool {
        self.state.is_ended()
    }

    /// The switch's identity of the call and its tracking id, once the switch has named it.
    pub fn switch_call(&self) -> Option<(&CallRef, &str)> {
        let call = self.switch_call.as_ref()?;
        Some((call, self.tracking_id.as_deref().unwrap_or_default()))
    }

    /// Feeds one input; effects are appended to `out`.
    pub fn handle(&mut self, input: Input<'_>, now: SimTime, out: &mut Effects) {
        match input {
            Input::Start => self.start(now, out),
            Input::Event(event) => self.on_event(event, now, out),
            Input::Watchdog => self.on_watchdog(now, out),
            Input::Listed(presence) => self.on_presence(presence, now, out),
            Input::SwitchLetGo => self.on_switch_let_go(now, out),
        }
    }

    /// Nothing more can be heard of this call: settle a suspect as the list would, and record
    /// anything else as unknown.
    fn on_switch_let_go(&mut self, now: SimTime, out: &mut Effects) {
        if self.is_ended() || !self.started {
            return;
        }
        if self.state == AppState::Suspect {
            self.on_presence(Presence::Gone, now, out);
            return;
        }
        report_anomaly(out, Anomaly::Vanished);
        self.end(
            Outcome::Unknown,
            now,
            Some("the switch stopped reporting the call before it ended".into()),
            None,
            out,
        );
    }

    fn start(&mut self, now: SimTime, out: &mut Effects) {
        if self.started {
            return;
        }
        self.started = true;
        self.dialed_at = now;
        self.last_heard_at = now;
        out.push(Effect::Originate {
            callee: self.callee.clone(),
            ring_timeout: self.settings.ring_timeout,
        });
    }

    /// When the dialer stops waiting for news of this call: the ring timeout plus grace while
    /// dialing, the hangup grace after asking the switch to hang up, and a long silence once
    /// connected. `None` once ended. Whoever keeps time pokes the machine with
    /// [`Input::Watchdog`] when this passes; an early poke changes nothing.
    pub fn watchdog_deadline(&self) -> Option<SimTime> {
        if !self.started || self.is_ended() {
            return None;
        }
        if self.state.is_dial_in_flight() {
            Some(match self.hangup_requested_at {
                Some(at) => at + self.settings.hangup_grace,
                None => self.settings.dial_deadline(self.dialed_at),
            })
        } else if let (AppState::Suspect, Some(detached)) = (self.state, &self.detached) {
            Some(detached.since + self.settings.suspect_timeout)
        } else {
            Some(self.last_heard_at + self.settings.connected_watchdog)
        }
    }

    fn on_event(&mut self, event: &SwitchEvent, now: SimTime, out: &mut Effects) {
        match event {
            SwitchEvent::Accepted { call, tracking_id } => {
                if self.is_ended() {
                    report_anomaly(out, Anomaly::LateEvent);
                    return;
                }
                match &self.switch_call {
                    None => {
                        self.switch_call = Some(call.clone());
                        self.tracking_id = Some(tracking_id.clone());
                    }
                    Some(known) if known == call => {
                        report_anomaly(out, Anomaly::Duplicate);
                    }
                    Some(_) => report_anomaly(out, Anomaly::UnexpectedReply),
                }
            }
            SwitchEvent::Rejected { reason } => {
                if self.is_ended() {
                    report_anomaly(out, Anomaly::LateEvent);
                } else if self.switch_call.is_some() || self.state != AppState::Dialing {
                    report_anomaly(out, Anomaly::UnexpectedReply);
                } else {
                    self.end(Outcome::Failed, now, Some(reason.clone()), None, out);
                }
            }
            SwitchEvent::State(notification) => self.on_notification(notification, now, out),
        }
    }

    fn on_notification(&mut self, note: &StateNotification, now: SimTime, out: &mut Effects) {
        let fingerprint = fingerprint(note);
        let seen_before = fingerprint.is_some_and(|print| self.seen.contains(&print));
        if self.is_ended() {
            report_anomaly(
                out,
                if seen_before {
                    Anomaly::Duplicate
                } else {
                    Anomaly::LateEvent
                },
            );
            return;
        }
        match &self.switch_call {
            Some(known) if *known != note.call => {
                report_anomaly(out, Anomaly::ForeignCall);
                return;
            }
            Some(_) => {}
            // The notification overtook the originate reply: adopt its identity.
            None => self.switch_call = Some(note.call.clone()),
        }
        // The switch's clock never runs backwards for one call: an older notification is a
        // late copy or arrived out of order.
        if let (Some(at), Some(latest)) = (note.update_time, self.latest_update)
            && at < latest
        {
            report_anomaly(
                out,
                if seen_before {
                    Anomaly::Duplicate
                } else {
                    Anomaly::OutOfOrder
                },
            );
            return;
        }
        let step = transition(self.state, note.state);
        match step {
            Transition::End if seen_before && self.state == AppState::Suspect => {
                report_anomaly(out, Anomaly::Duplicate);
                return;
            }
            Transition::Stay | Transition::Backwards if seen_before => {
                report_anomaly(out, Anomaly::Duplicate);
                return;
            }
            Transition::Backwards => {
                report_anomaly(out, Anomaly::OutOfOrder);
                return;
            }
            Transition::Stay | Transition::To(_) | Transition::End => {}
        }
        if let Some(print) = fingerprint
            && !seen_before
        {
            self.seen.push(print);
        }
        if note.update_time.is_some() {
            self.latest_update = note.update_time;
        }
        if self.tracking_id.as_ref() != Some(&note.tracking_id) {
            self.tracking_id = Some(note.tracking_id.clone());
        }
        self.last_heard_at = now;
        match step {
            Transition::End
                if matches!(self.state, AppState::Queued | AppState::Offered)
                    && self.detached.is_none() =>
            {
                self.detach(note, now);
            }
            Transition::End => {
                let outcome = self.outcome_of_termination(note);
                self.end(outcome, now, note.reason.clone(), note.reason_code, out);
            }
            Transition::To(next) => self.enter(next, now),
            Transition::Stay | Transition::Backwards => {}
        }
    }

    /// The switch said "terminated" for a call still waiting for an agent (the limitation): it
    /// becomes a suspect until the active-call list or a later event settles it. Out of line:
    /// rare next to the notifications every call gets.
    #[cold]
    #[inline(never)]
    fn detach(&mut self, note: &StateNotification, now: SimTime) {
        self.detached = Some(Box::new(Detached {
            from: self.state,
            since: now,
            reason: note.reason.clone(),
            reason_code: note.reason_code,
        }));
        self.state = AppState::Suspect;
    }

    fn enter(&mut self, next: AppState, now: SimTime) {
        if matches!(
            next,
            AppState::Answered | AppState::Queued | AppState::Offered
        ) && self.answered_at.is_none()
        {
            self.answered_at = Some(now);
        }
        if next == AppState::Queued && self.queued_at.is_none() {
            self.queued_at = Some(now);
        }
        if next == AppState::Talking && self.agent_at.is_none() {
            self.agent_at = Some(now);
        }
        if next == AppState::Transferred && self.talk_ended_at.is_none() {
            self.talk_ended_at = Some(now);
        }
        self.state = next;
    }

    fn outcome_of_termination(&self, note: &StateNotification) -> Outcome {
        let reason = note.reason.as_deref();
        match self.state {
            AppState::Dialing | AppState::Ringing => {
                reasons::classify_early(reason, note.reason_code).outcome()
            }
            AppState::Answered if reasons::is_machine(reason) => Outcome::Machine,
            AppState::Answered | AppState::Queued => Outcome::AbandonedInQueue,
            AppState::Offered => Outcome::UnknownAfterAgentMiss,
            AppState::Suspect => self.suspect_outcome(),
            AppState::Talking | AppState::Held | AppState::Transferred => Outcome::Completed,
            AppState::Ended(outcome) => outcome,
        }
    }

    /// How a suspect call that never reached an agent is settled.
    fn suspect_outcome(&self) -> Outcome {
        match self.detached.as_deref().map(|d| d.from) {
            Some(AppState::Offered) => Outcome::UnknownAfterAgentMiss,
            _ => Outcome::AbandonedInQueue,
        }
    }

    fn on_presence(&mut self, presence: Presence, now: SimTime, out: &mut Effects) {
        if self.is_ended() || !self.started {
            return;
        }
        match presence {
            Presence::Listed(state) => {
                if self.detached.is_none() {
                    return;
                }
                self.last_heard_at = now;
                let with_agent = matches!(
                    state,
                    Some(CallStatus::Connected | CallStatus::Held | CallStatus::Transferred)
                );
                if self.state == AppState::Suspect && with_agent {
                    self.enter(AppState::Talking, now);
                }
            }
            Presence::Gone => match (self.state, self.detached.as_deref()) {
                (AppState::Suspect, Some(detached)) => {
                    let (since, reason, code) = (
                        detached.since,
                        detached.reason.clone(),
                        detached.reason_code,
                    );
                    let outcome = self.suspect_outcome();
                    self.end(outcome, since.min(now), reason, code, out);
                }
                (_, Some(_)) => self.end(Outcome::Completed, now, None, None, out),
                (_, None) => {
                    report_anomaly(out, Anomaly::Vanished);
                    self.end(
                        Outcome::Unknown,
                        now,
                        Some("vanished from the active-call list".into()),
                        None,
                        out,
                    );
                }
            },
        }
    }

    fn on_watchdog(&mut self, now: SimTime, out: &mut Effects) {
        let Some(deadline) = self.watchdog_deadline() else {
            return;
        };
        if now < deadline {
            return;
        }
        if self.state == AppState::Suspect {
            // The list never settled it: take the "terminated" as final after all.
            report_anomaly(out, Anomaly::WatchdogExpired);
            let (reason, code) = self
                .detached
                .as_deref()
                .map_or((None, None), |d| (d.reason.clone(), d.reason_code));
            let outcome = self.suspect_outcome();
            self.end(outcome, now, reason, code, out);
            return;
        }
        if !self.state.is_dial_in_flight() {
            report_anomaly(out, Anomaly::WatchdogExpired);
            self.end(Outcome::Unknown, now, None, None, out);
            return;
        }
        if self.hangup_requested_at.is_some() {
            report_anomaly(out, Anomaly::WatchdogExpired);
            self.end(Outcome::NoAnswer, now, None, None, out);
            return;
        }
        match &self.switch_call {
            Some(call) => {
                self.hangup_requested_at = Some(now);
                out.push(Effect::Hangup { call: call.clone() });
            }
            None => {
                // The switch never named the call, so it cannot be hung up.
                report_anomaly(out, Anomaly::WatchdogExpired);
                self.end(Outcome::Failed, now, None, None, out);
            }
        }
    }

    fn end(
        &mut self,
        outcome: Outcome,
        now: SimTime,
        reason: Option<ShortText>,
        reason_code: Option<u16>,
        out: &mut Effects,
    ) {
        let talk = match self.agent_at {
            Some(start) => self.talk_ended_at.unwrap_or(now) - start,
            None => SimDuration::ZERO,
        };
        self.state = AppState::Ended(outcome);
        // The box is allocated before the record is made, so the record is written straight
        // into it rather than built on the stack and copied (BENCHMARKS.md, eleventh session).
        let record = Box::new_uninit();
        out.push(Effect::Ended(Box::write(
            record,
            AttemptRecord {
                attempt: self.attempt,
                lead: self.lead,
                callee: self.callee.clone(),
                outcome,
                dialed_at: self.dialed_at,
                answered_at: self.answered_at,
                queued_at: self.queued_at,
                agent_at: self.agent_at,
                ended_at: now,
                talk,
                switch_call: self.switch_call.clone(),
                tracking_id: self.tracking_id.clone(),
                reason,
                reason_code,
            },
        )));
    }
}

/// What a notification does to a call in a given state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transition {
    /// Moves the call on.
    To(AppState),
    /// Ends the call.
    End,
    /// Repeats the current state: no news.
    Stay,
    /// Would move the call backwards.
    Backwards,
}

/// The mapping of PortaSwitch notifications onto app states (see the module docs).
fn transition(state: AppState, status: CallStatus) -> Transition {
    use AppState as S;
    use CallStatus as N;
    match (state, status) {
        (S::Ended(_), _) => Transition::Backwards,
        (_, N::Terminated) => Transition::End,
        (S::Dialing, N::Trying)
        | (S::Ringing, N::Ringing)
        | (S::Answered, N::Connected)
        | (S::Queued, N::Queued)
        | (S::Offered, N::Dequeued)
        | (S::Talking, N::Connected)
        | (S::Held, N::Held)
        | (S::Transferred, N::Connected | N::Held | N::Transferred)
        | (S::Suspect, N::Queued | N::Dequeued) => Transition::Stay,
        (S::Dialing, N::Ringing) => Transition::To(S::Ringing),
        (S::Dialing | S::Ringing, N::Connected) => Transition::To(S::Answered),
        (S::Dialing | S::Ringing | S::Answered | S::Offered, N::Queued) => {
            Transition::To(S::Queued)
        }
        (S::Dialing | S::Ringing | S::Answered | S::Queued, N::Dequeued) => {
            Transition::To(S::Offered)
        }
        (S::Queued | S::Offered | S::Held | S::Suspect, N::Connected) => Transition::To(S::Talking),
        (S::Talking, N::Held) => Transition::To(S::Held),
        (S::Talking | S::Held, N::Transferred) => Transition::To(S::Transferred),
        _ => Transition::Backwards,
    }
}

/// Adds an anomaly to the effects. One copy out of line for the machine's many anomaly paths,
/// which would otherwise each inline a push between the instructions every call runs.
#[cold]
#[inline(never)]
fn report_anomaly(out: &mut Effects, anomaly: Anomaly) {
    out.push(Effect::Anomaly(anomaly));
}

/// Identifies a notification for duplicate detection: state, tracking id and the switch's
/// timestamp. Two genuine notifications can share all three (an answer and an agent's answer in
/// the same second are both "connected"), so a repeat counts as a duplicate only when it would
/// not move the call on; without a timestamp nothing is called a duplicate.
fn fingerprint(note: &StateNotification) -> Option<u64> {
    const MIX: u64 = 0x9E37_79B9_7F4A_7C15;
    let update_time = note.update_time?;
    let mut hash = (note.state as u64 + 1).wrapping_mul(MIX) ^ update_time.0;
    let mut mix = |word: u64| hash = (hash ^ word).wrapping_mul(MIX).rotate_left(29);
    let mut chunks = note.tracking_id.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        mix(u64::from_le_bytes(
            chunk.try_into().expect("chunks of eight"),
        ));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // The zero-padded word of the last bytes, without a `memcpy` call.
        mix(tail_word(rest));
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_the_switch_let_go_of_ends_unknown_once() {
        let mut machine = CallMachine::new(
            AttemptId(1),
            LeadId(1),
            PhoneNumber("+15550000001".into()),
            CallSettings::default(),
        );
        let mut out = Effects::new();
        machine.handle(Input::Start, SimTime::ZERO, &mut out);
        out.clear();
        machine.handle(Input::SwitchLetGo, SimTime::from_secs(3), &mut out);
        assert_eq!(machine.state(), AppState::Ended(Outcome::Unknown));
        assert!(out.contains(&Effect::Anomaly(Anomaly::Vanished)));
        assert_eq!(
            out.iter().filter(|e| matches!(e, Effect::Ended(_))).count(),
            1
        );
        out.clear();
        machine.handle(Input::SwitchLetGo, SimTime::from_secs(4), &mut out);
        assert!(out.is_empty(), "an ended call absorbs it");
    }
    use crate::switch::reasons::sim_reasons;

    fn call_ref() -> CallRef {
        CallRef {
            id: "c1".into(),
            tag: "t1".into(),
        }
    }

    fn note(state: CallStatus, at_secs: u64) -> SwitchEvent {
        let reason = (state == CallStatus::Terminated).then_some(sim_reasons::NORMAL_CLEARING);
        SwitchEvent::State(StateNotification {
            call: call_ref(),
            tracking_id: "trk1".into(),
            state,
            reason: reason.map(|(text, _)| text.into()),
            reason_code: reason.map(|(_, code)| code),
            update_time: Some(SimTime::from_secs(at_secs)),
        })
    }

    fn terminated_with(reason: (&str, u16), at_secs: u64) -> SwitchEvent {
        SwitchEvent::State(StateNotification {
            call: call_ref(),
            tracking_id: "trk1".into(),
            state: CallStatus::Terminated,
            reason: Some(reason.0.into()),
            reason_code: Some(reason.1),
            update_time: Some(SimTime::from_secs(at_secs)),
        })
    }

    fn started() -> (CallMachine, Effects) {
        let mut machine = CallMachine::new(
            AttemptId(1),
            LeadId(7),
            PhoneNumber("+15550001".into()),
            CallSettings::default(),
        );
        let mut out = Effects::new();
        machine.handle(Input::Start, SimTime::ZERO, &mut out);
        (machine, out)
    }

    fn feed(machine: &mut CallMachine, event: &SwitchEvent, at_secs: u64) -> Effects {
        let mut out = Effects::new();
        machine.handle(Input::Event(event), SimTime::from_secs(at_secs), &mut out);
        out
    }

    fn ended_record(effects: &Effects) -> Option<&AttemptRecord> {
        effects.iter().find_map(|effect| match effect {
            Effect::Ended(record) => Some(record.as_ref()),
            _ => None,
        })
    }

    #[test]
    fn start_originates_and_arms_the_dial_watchdog() {
        let (machine, out) = started();
        assert!(matches!(out.as_slice(), [Effect::Originate { .. }]));
        assert_eq!(machine.watchdog_deadline(), Some(SimTime::from_secs(35)));
    }

    #[test]
    fn a_full_answered_call_walks_every_state_and_completes() {
        let (mut machine, _) = started();
        let steps = [
            (CallStatus::Trying, 0, AppState::Dialing),
            (CallStatus::Ringing, 1, AppState::Ringing),
            (CallStatus::Connected, 5, AppState::Answered),
            (CallStatus::Queued, 5, AppState::Queued),
            (CallStatus::Dequeued, 9, AppState::Offered),
            (CallStatus::Connected, 11, AppState::Talking),
            (CallStatus::Held, 30, AppState::Held),
            (CallStatus::Connected, 40, AppState::Talking),
        ];
        for (status, at, expected) in steps {
            let out = feed(&mut machine, &note(status, at), at);
            assert_eq!(machine.state(), expected, "after {status}");
            assert!(!out.iter().any(|e| matches!(e, Effect::Anomaly(_))));
        }
        let out = feed(&mut machine, &note(CallStatus::Terminated, 100), 100);
        let record = ended_record(&out).expect("ended");
        assert_eq!(record.outcome, Outcome::Completed);
        assert_eq!(record.wait_for_agent(), Some(SimDuration::from_secs(6)));
        assert_eq!(record.talk, SimDuration::from_secs(89));
    }

    #[test]
    fn terminated_after_dequeued_is_the_documented_limitation() {
        let (mut machine, _) = started();
        feed(&mut machine, &note(CallStatus::Connected, 5), 5);
        feed(&mut machine, &note(CallStatus::Queued, 5), 5);
        feed(&mut machine, &note(CallStatus::Dequeued, 6), 6);
        let out = feed(
            &mut machine,
            &terminated_with(sim_reasons::AGENT_NO_ANSWER, 21),
            21,
        );
        // The callee may still wait in the queue: the call is suspect and keeps its place.
        assert!(ended_record(&out).is_none());
        assert_eq!(machine.state(), AppState::Suspect);
        assert_eq!(
            machine.watchdog_deadline(),
            Some(SimTime::from_secs(21 + 30 * 60))
        );
        // Still queued in the list: nothing settles.
        let mut out = Effects::new();
        machine.handle(
            Input::Listed(Presence::Listed(Some(CallStatus::Queued))),
            SimTime::from_secs(25),
            &mut out,
        );
        assert!(out.is_empty());
        machine.handle(
            Input::Listed(Presence::Gone),
            SimTime::from_secs(30),
            &mut out,
        );
        let record = ended_record(&out).expect("the list settles it");
        assert_eq!(record.outcome, Outcome::UnknownAfterAgentMiss);
        assert_eq!(record.ended_at, SimTime::from_secs(21));
    }

    #[test]
    fn a_suspect_seen_talking_in_the_list_completes_when_it_is_gone() {
        let (mut machine, _) = started();
        feed(&mut machine, &note(CallStatus::Connected, 5), 5);
        feed(&mut machine, &note(CallStatus::Queued, 5), 5);
        feed(&mut machine, &note(CallStatus::Dequeued, 6), 6);
        feed(
            &mut machine,
            &terminated_with(sim_reasons::AGENT_DECLINED, 8),
            8,
        );
        let mut out = Effects::new();
        machine.handle(
            Input::Listed(Presence::Listed(Some(CallStatus::Connected))),
            SimTime::from_secs(10),
            &mut out,
        );
        assert_eq!(machine.state(), AppState::Talking);
        machine.handle(
            Input::Listed(Presence::Gone),
            SimTime::from_secs(70),
            &mut out,
        );
        let record = ended_record(&out).unwrap();
        assert_eq!(record.outcome, Outcome::Completed);
        assert_eq!(record.talk, SimDuration::from_secs(60));
    }

    #[test]
    fn a_suspect_the_list_never_settles_ends_at_its_timeout() {
        let (mut machine, _) = started();
        feed(&mut machine, &note(CallStatus::Queued, 5), 5);
        feed(&mut machine, &note(CallStatus::Terminated, 9), 9);
        let mut out = Effects::new();
        machine.handle(Input::Watchdog, SimTime::from_secs(9 + 30 * 60), &mut out);
        assert!(out.contains(&Effect::Anomaly(Anomaly::WatchdogExpired)));
        assert_eq!(
            ended_record(&out).unwrap().outcome,
            Outcome::AbandonedInQueue
        );
    }

    #[test]
    fn a_call_gone_from_the_list_without_terminated_has_vanished() {
        let (mut machine, _) = started();
        feed(&mut machine, &note(CallStatus::Queued, 5), 5);
        feed(&mut machine, &note(CallStatus::Connected, 6), 6);
        let mut out = Effects::new();
        machine.handle(
            Input::Listed(Presence::Listed(Some(CallStatus::Connected))),
            SimTime::from_secs(8),
            &mut out,
        );
        assert!(
            out.is_empty(),
            "a listed call that is followed needs nothing"
        );
        machine.handle(
            Input::Listed(Presence::Gone),
            SimTime::from_secs(20),
            &mut out,
        );
        assert!(out.contains(&Effect::Anomaly(Anomaly::Vanished)));
        assert_eq!(ended_record(&out).unwrap().outcome, Outcome::Unknown);
    }

    #[test]
    fn early_disconnects_are_classified_by_reason() {
        for (reason, outcome) in [
            (sim_reasons::BUSY, Outcome::Busy),
            (sim_reasons::NO_ANSWER, Outcome::NoAnswer),
            (sim_reasons::DECLINED, Outcome::Declined),
            (sim_reasons::INVALID_NUMBER, Outcome::InvalidNumber),
            (sim_reasons::FAILED, Outcome::Failed),
        ] {
            let (mut machine, _) = started();
            let out = feed(&mut machine, &terminated_with(reason, 3), 3);
            assert_eq!(ended_record(&out).unwrap().outcome, outcome, "{reason:?}");
        }
    }

    #[test]
    fn machine_answers_and_queue_abandons() {
        let (mut machine, _) = started();
        feed(&mut machine, &note(CallStatus::Connected, 5), 5);
        let out = feed(&mut machine, &terminated_with(sim_reasons::MACHINE, 7), 7);
        assert_eq!(ended_record(&out).unwrap().outcome, Outcome::Machine);

        let (mut machine, _) = started();
        feed(&mut machine, &note(CallStatus::Queued, 5), 5);
        let out = feed(&mut machine, &note(CallStatus::Terminated, 25), 25);
        assert!(
            ended_record(&out).is_none(),
            "suspect until the list settles it"
        );
        let mut out = Effects::new();
        machine.handle(
            Input::Listed(Presence::Gone),
            SimTime::from_secs(27),
            &mut out,
        );
        let record = ended_record(&out).unwrap();
        assert_eq!(record.outcome, Outcome::AbandonedInQueue);
        assert_eq!(
            record.wait_before_giving_up(),
            Some(SimDuration::from_secs(20))
        );
    }

    #[test]
    fn duplicates_regressions_and_late_events_are_anomalies() {
        let (mut machine, _) = started();
        feed(&mut machine, &note(CallStatus::Ringing, 1), 1);
        let out = feed(&mut machine, &note(CallStatus::Ringing, 1), 1);
        assert_eq!(out.as_slice(), [Effect::Anomaly(Anomaly::Duplicate)]);
        feed(&mut machine, &note(CallStatus::Queued, 4), 4);
        let out = feed(&mut machine, &note(CallStatus::Ringing, 5), 5);
        assert_eq!(out.as_slice(), [Effect::Anomaly(Anomaly::OutOfOrder)]);
        assert_eq!(machine.state(), AppState::Queued);
        feed(&mut machine, &note(CallStatus::Terminated, 9), 9);
        let mut out = Effects::new();
        machine.handle(
            Input::Listed(Presence::Gone),
            SimTime::from_secs(9),
            &mut out,
        );
        assert!(machine.is_ended());
        let out = feed(&mut machine, &note(CallStatus::Connected, 10), 10);
        assert_eq!(out.as_slice(), [Effect::Anomaly(Anomaly::LateEvent)]);
        let out = feed(&mut machine, &note(CallStatus::Terminated, 9), 10);
        assert_eq!(out.as_slice(), [Effect::Anomaly(Anomaly::Duplicate)]);
    }

    #[test]
    fn a_foreign_call_is_ignored() {
        let (mut machine, _) = started();
        let accepted = SwitchEvent::Accepted {
            call: call_ref(),
            tracking_id: "trk1".into(),
        };
        feed(&mut machine, &accepted, 0);
        let stranger = SwitchEvent::State(StateNotification {
            call: CallRef {
                id: "other".into(),
                tag: "x".into(),
            },
            tracking_id: "trk9".into(),
            state: CallStatus::Connected,
            reason: None,
            reason_code: None,
            update_time: Some(SimTime::from_secs(3)),
        });
        let out = feed(&mut machine, &stranger, 3);
        assert_eq!(out.as_slice(), [Effect::Anomaly(Anomaly::ForeignCall)]);
        assert_eq!(machine.state(), AppState::Dialing);
    }

    #[test]
    fn a_rejected_originate_fails_the_attempt() {
        let (mut machine, _) = started();
        let out = feed(
            &mut machine,
            &SwitchEvent::Rejected {
                reason: "Server.CallControl.fault".into(),
            },
            0,
        );
        assert_eq!(ended_record(&out).unwrap().outcome, Outcome::Failed);
    }

    #[test]
    fn a_silent_dial_is_hung_up_then_given_up() {
        let (mut machine, _) = started();
        feed(
            &mut machine,
            &SwitchEvent::Accepted {
                call: call_ref(),
                tracking_id: "trk1".into(),
            },
            0,
        );
        let mut out = Effects::new();
        machine.handle(Input::Watchdog, SimTime::from_secs(34), &mut out);
        assert!(out.is_empty(), "an early poke changes nothing");
        machine.handle(Input::Watchdog, SimTime::from_secs(35), &mut out);
        assert!(matches!(out[0], Effect::Hangup { .. }));
        assert_eq!(machine.watchdog_deadline(), Some(SimTime::from_secs(45)));
        let mut out = Effects::new();
        machine.handle(Input::Watchdog, SimTime::from_secs(45), &mut out);
        assert!(out.contains(&Effect::Anomaly(Anomaly::WatchdogExpired)));
        assert_eq!(ended_record(&out).unwrap().outcome, Outcome::NoAnswer);
        assert_eq!(machine.watchdog_deadline(), None);
    }

    #[test]
    fn the_connected_watchdog_moves_with_each_notification() {
        let (mut machine, _) = started();
        feed(&mut machine, &note(CallStatus::Queued, 5), 5);
        feed(&mut machine, &note(CallStatus::Connected, 6), 6);
        feed(&mut machine, &note(CallStatus::Held, 3600), 3600);
        assert_eq!(
            machine.watchdog_deadline(),
            Some(SimTime::from_secs(3600 + 4 * 3600))
        );
        let mut out = Effects::new();
        machine.handle(Input::Watchdog, SimTime::from_secs(5 + 4 * 3600), &mut out);
        assert!(out.is_empty());
        machine.handle(
            Input::Watchdog,
            SimTime::from_secs(3600 + 4 * 3600),
            &mut out,
        );
        assert_eq!(ended_record(&out).unwrap().outcome, Outcome::Unknown);
    }
}
