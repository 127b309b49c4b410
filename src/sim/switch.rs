//! `SimSwitch`: the simulated PortaSwitch as an actor, and the driver of virtual time.
//!
//! It answers the engine's [`SwitchCommand`]s through the pure [`SimSwitchModel`], delivers the
//! model's notifications to each call as a [`CallEvents`] batch (one batch per call per step), and
//! records every notification in the trace.
//!
//! It also moves virtual time. It takes the calendar's next entry (a world step or an engine
//! timer) only once every consequence of the previous entry has been handled. In the default mode
//! that is when no [`crate::mail::Mail`] is in flight: the in-flight counter's quiet callback
//! calls [`SimCore::advance`] directly (or sends [`Advance`] if the core is busy). In the
//! [`Quiescence::RuntimeIdle`] mode, used by tests to check the first, tokio's park hook sends
//! [`Advance`] when the paused runtime has nothing left to run. When the campaign has finished, engine timers are dropped and
//! the world runs until the last call and wrap-up are over; then the run's [`SimOutcome`] is sent.
//!
//! The switch never looks inside the engine: it sees commands and recipients only.

use super::calendar::{Calendar, Due, Next};
use super::model::{CallKey, EventBatch, SimSwitchModel, Step, SwitchItem, Truth};
use super::rng::{self, Purpose};
use super::sampler::{Sample, Sampler};
use crate::attempt_window::AttemptWindow;
use crate::campaign::supervisor::{CampaignFinished, EngineReport};
use crate::domain::AttemptId;
use crate::executor::actors::{EngineContext, Port};
use crate::mail::{self, InFlight, Mail};
use crate::scenario::FaultSettings;
use crate::switch::{
    ActiveCallList, CallEvents, CallStatus, ListedCall, SwitchCommand, SwitchEvent, SwitchNotice,
};
use crate::time::{SimDuration, SimTime};
use crate::trace::{SharedTrace, TraceRecord};
use actix::{Actor, Handler, Message};
use rand::rngs::ChaCha8Rng;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// How the driver knows the engine has finished reacting to the last calendar entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Quiescence {
    /// No engine mail in flight (fast; the default).
    #[default]
    MailCount,
    /// tokio's runtime is about to park: nothing at all is runnable (slow; a cross-check).
    RuntimeIdle,
}

/// Asks the driver to move time forward if it may. Not engine mail: it is not counted.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Advance;

/// Wakes the driver from tokio's park hook, in [`Quiescence::RuntimeIdle`] mode.
#[derive(Default)]
pub struct IdleWake {
    armed: AtomicBool,
    target: Mutex<Option<Port<Advance>>>,
}

impl IdleWake {
    pub fn set_target(&self, target: Port<Advance>) {
        if let Ok(mut slot) = self.target.lock() {
            *slot = Some(target);
        }
    }

    /// Called by the runtime just before it parks.
    pub fn on_park(&self) {
        if self.armed.swap(false, Ordering::AcqRel)
            && let Ok(slot) = self.target.lock()
            && let Some(target) = slot.as_ref()
        {
            target.do_send(Advance);
        }
    }

    /// Asks for one `Advance` at the next idle point.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::Release);
    }
}

/// How a simulation run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The campaign finished and every call and wrap-up is over.
    Completed,
    /// The scenario's deadline came first.
    DeadlineReached,
    /// Nothing was left on the calendar, yet the campaign had not finished.
    Stalled,
}

/// Everything a simulation run produced.
pub struct SimOutcome {
    pub status: RunStatus,
    pub ended_at: SimTime,
    /// The engine's view; `None` if the campaign never finished.
    pub engine: Option<EngineReport>,
    pub campaign_finished_at: Option<SimTime>,
    pub truth: Truth,
    /// Notifications delivered to calls.
    pub events_delivered: u64,
    pub calls_still_up: usize,
    /// The switch's state over time, when sampling was asked for (see [`Sampler`]).
    pub samples: Option<Vec<Sample>>,
    /// The switch model's own consistency at the end (queue, agents, calls).
    pub model_check: Result<(), String>,
}

/// The simulated switch's state and the time driver, shared by the actor and by the in-flight
/// counter's quiet callback (which drives time directly, without a message round trip).
pub struct SimCore {
    model: SimSwitchModel,
    calendar: Rc<Calendar<SwitchItem>>,
    /// Where each live call's notifications go, by model slot.
    recipients: Vec<Option<Port<Mail<CallEvents>>>>,
    /// The model's key for each attempt whose call may still be up, for hangups and the
    /// active-call list.
    keys_by_attempt: AttemptWindow<CallKey>,
    notices_to: Port<Mail<SwitchNotice>>,
    trace: SharedTrace,
    step: Step,
    events_delivered: u64,
    quiescence: Quiescence,
    idle_wake: Option<Arc<IdleWake>>,
    deadline: SimTime,
    engine: Option<(SimTime, EngineReport)>,
    done: Option<oneshot::Sender<SimOutcome>>,
    sampler: Option<Sampler>,
    /// Delivery faults (`[faults]`), when any is configured.
    faults: Option<DeliveryFaults>,
}

/// Lets go of the keys of the oldest attempts whose calls the model no longer carries, so a day of
/// a million attempts holds only the window of calls in progress. A key, once dead, never lives
/// again (slots change generation on reuse), so dropping it changes no answer.
fn forget_ended_calls(keys: &mut AttemptWindow<CallKey>, is_live: impl Fn(CallKey) -> bool) {
    while let Some((oldest, &key)) = keys.front() {
        if is_live(key) {
            break;
        }
        keys.remove(oldest);
    }
}

/// Sends a step's notifications in order, one batch per call (the model produces each call's
/// events of one step together), without faults: the hot path of every simulation. Each batch
/// goes to its call as it was built (events are large: call id, tag and tracking id).
fn deliver_plain(
    batches: &mut Vec<EventBatch>,
    trace: &SharedTrace,
    recipients: &mut [Option<Port<Mail<CallEvents>>>],
    events_delivered: &mut u64,
    now: SimTime,
) {
    let mut trace = trace.borrow_mut();
    // Taken out one by one and cleared after: cheaper than a drain, whose drop is a call.
    for EventBatch {
        slot,
        attempt,
        events,
    } in batches.iter_mut()
    {
        let (slot, attempt, batch) = (*slot, *attempt, std::mem::take(events));
        let mut ends = false;
        for event in &batch {
            trace.record(now, &TraceRecord::Switch { attempt, event });
            if let SwitchEvent::State(note) = event {
                ends |= note.state == CallStatus::Terminated;
            }
        }
        *events_delivered += batch.len() as u64;
        if let Some(recipient) = recipients.get(slot as usize).and_then(Option::as_ref) {
            recipient.do_send(Mail::new(CallEvents(batch)));
        }
        if ends && let Some(recipient) = recipients.get_mut(slot as usize) {
            // The engine hears nothing after "terminated".
            *recipient = None;
        }
    }
    batches.clear();
}

/// The state of injected delivery faults: callbacks held back for later, and calls whose
/// originate reply was lost.
struct DeliveryFaults {
    settings: FaultSettings,
    rng: ChaCha8Rng,
    /// Held-back callbacks, by the index their calendar entry carries; each keeps its own
    /// address of the call, since the call's slot may be reused meanwhile.
    held: Vec<Option<HeldCallback>>,
    /// Calls whose originate reply was lost: their events reach nobody, but their actors
    /// live on until their own watchdog ends them.
    orphans: Vec<Port<Mail<CallEvents>>>,
    orphan_slots: Vec<bool>,
    /// Calls whose "terminated" was lost: the switch has no more to say, but, like a live
    /// backend that never heard the end, it does not let go of them either.
    parked: Vec<Port<Mail<CallEvents>>>,
}

struct HeldCallback {
    attempt: AttemptId,
    event: SwitchEvent,
    to: Option<Port<Mail<CallEvents>>>,
}

/// What happens to one callback.
enum CallbackFate {
    Deliver,
    Drop,
    Duplicate,
    HoldFor(SimDuration),
}

impl SimCore {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        model: SimSwitchModel,
        calendar: Rc<Calendar<SwitchItem>>,
        notices_to: Port<Mail<SwitchNotice>>,
        trace: SharedTrace,
        quiescence: Quiescence,
        idle_wake: Option<Arc<IdleWake>>,
        deadline: SimTime,
        done: oneshot::Sender<SimOutcome>,
    ) -> SimCore {
        SimCore {
            model,
            calendar,
            recipients: Vec::new(),
            keys_by_attempt: AttemptWindow::new(),
            notices_to,
            trace,
            step: Step::default(),
            events_delivered: 0,
            quiescence,
            idle_wake,
            deadline,
            engine: None,
            done: Some(done),
            sampler: None,
            faults: None,
        }
    }

    /// Turns on the delivery faults the scenario configures (if any), with their own seeded
    /// stream: runs without delivery faults draw nothing.
    pub fn inject_faults(&mut self, settings: &FaultSettings, seed: u64) {
        if settings.touches_delivery() {
            self.faults = Some(DeliveryFaults {
                settings: settings.clone(),
                rng: rng::stream(seed, Purpose::Delivery, 0, 0),
                held: Vec::new(),
                orphans: Vec::new(),
                orphan_slots: Vec::new(),
                parked: Vec::new(),
            });
        }
    }

    fn callback_fate(&mut self, event: &SwitchEvent) -> CallbackFate {
        let Some(faults) = self.faults.as_mut() else {
            return CallbackFate::Deliver;
        };
        if !matches!(event, SwitchEvent::State(_)) {
            return CallbackFate::Deliver;
        }
        let settings = &faults.settings;
        let u = rng::unit(&mut faults.rng);
        let mut edge = settings.drop_callbacks;
        if u < edge {
            return CallbackFate::Drop;
        }
        edge += settings.duplicate_callbacks;
        if u < edge {
            return CallbackFate::Duplicate;
        }
        edge += settings.reorder_callbacks;
        if u < edge {
            let delay = 0.2 + 1.8 * rng::unit(&mut faults.rng);
            return CallbackFate::HoldFor(SimDuration::from_secs_f64(delay));
        }
        edge += settings.late_callbacks;
        if u < edge {
            let delay = settings.late_by.sample(rng::unit(&mut faults.rng));
            return CallbackFate::HoldFor(delay);
        }
        CallbackFate::Deliver
    }

    /// Delivers a held-back callback that has come due.
    fn deliver_held(&mut self, index: u32) {
        let Some(faults) = self.faults.as_mut() else {
            return;
        };
        let Some(held) = faults.held.get_mut(index as usize).and_then(Option::take) else {
            return;
        };
        let now = self.now();
        self.trace.borrow_mut().record(
            now,
            &TraceRecord::Switch {
                attempt: held.attempt,
                event: &held.event,
            },
        );
        self.events_delivered += 1;
        match held.to.filter(|to| to.connected()) {
            Some(to) => to.do_send(Mail::new(CallEvents(vec![held.event]))),
            None => {
                // The attempt is over: the live backend would report the same.
                if let SwitchEvent::State(note) = held.event {
                    self.notices_to
                        .do_send(Mail::new(SwitchNotice::EventAfterEnd {
                            call: note.call,
                            state: note.state,
                        }));
                }
            }
        }
    }

    /// Samples the switch's state every `every` of virtual time (for plots).
    pub fn sample_every(&mut self, every: SimDuration) {
        self.sampler = Some(Sampler::new(every));
    }

    fn now(&self) -> SimTime {
        self.calendar.now()
    }

    /// Carries out what the model's last step produced. The step's buffers are kept for the
    /// next step (taken out one at a time while `self` is borrowed, and put back).
    /// Each buffer is drained only if it holds something: a drain's own setup and teardown
    /// cost more than the check, and most steps leave notices (and some leave events) empty.
    fn flush(&mut self) {
        if !self.step.schedule.is_empty() {
            self.calendar.schedule_items(self.step.schedule.drain(..));
        }
        let now = self.now();
        if !self.step.batches.is_empty() {
            if self.faults.is_none() {
                // Drained where it is: no stand-in buffer to drop afterwards.
                deliver_plain(
                    &mut self.step.batches,
                    &self.trace,
                    &mut self.recipients,
                    &mut self.events_delivered,
                    now,
                );
            } else {
                let mut batches = std::mem::take(&mut self.step.batches);
                self.deliver_with_faults(&mut batches, now);
                self.step.batches = batches;
            }
        }
        if !self.step.notices.is_empty() {
            for notice in self.step.notices.drain(..) {
                self.notices_to.do_send(Mail::new(notice));
            }
        }
        if !self.step.timeline.is_empty() {
            let mut trace = self.trace.borrow_mut();
            for action in self.step.timeline.drain(..) {
                trace.record(now, &TraceRecord::Timeline { action: &action });
            }
        }
    }

    /// Delivery with faults (see [`deliver_plain`] for the order): each callback may be lost,
    /// doubled or held back.
    fn deliver_with_faults(&mut self, batches: &mut Vec<EventBatch>, now: SimTime) {
        let trace = self.trace.clone();
        let mut trace = trace.borrow_mut();
        let mut pending = std::mem::take(batches);
        for EventBatch {
            slot,
            attempt,
            events,
        } in pending.drain(..)
        {
            let mut batch = Vec::new();
            let mut ends = false;
            let mut end_lost = false;
            for event in events {
                let terminated = matches!(
                    &event,
                    SwitchEvent::State(note) if note.state == CallStatus::Terminated
                );
                ends |= terminated;
                let fate = self.callback_fate(&event);
                end_lost |= terminated && matches!(fate, CallbackFate::Drop);
                let state = match &event {
                    SwitchEvent::State(note) => Some(note.state),
                    _ => None,
                };
                let mut fault = |fault: &'static str| {
                    trace.record(
                        now,
                        &TraceRecord::Fault {
                            attempt,
                            fault,
                            state,
                        },
                    );
                };
                match fate {
                    CallbackFate::Deliver => {
                        trace.record(
                            now,
                            &TraceRecord::Switch {
                                attempt,
                                event: &event,
                            },
                        );
                        batch.push(event);
                    }
                    CallbackFate::Drop => fault("callback_lost"),
                    CallbackFate::Duplicate => {
                        fault("callback_duplicated");
                        trace.record(
                            now,
                            &TraceRecord::Switch {
                                attempt,
                                event: &event,
                            },
                        );
                        trace.record(
                            now,
                            &TraceRecord::Switch {
                                attempt,
                                event: &event,
                            },
                        );
                        batch.push(event.clone());
                        batch.push(event);
                    }
                    CallbackFate::HoldFor(delay) => {
                        fault("callback_held_back");
                        let to = self.recipients.get(slot as usize).cloned().flatten();
                        if let Some(faults) = self.faults.as_mut() {
                            faults.held.push(Some(HeldCallback { attempt, event, to }));
                            let index = (faults.held.len() - 1) as u32;
                            self.calendar
                                .schedule_item(now + delay, SwitchItem::LateCallback(index));
                        }
                    }
                }
            }
            if self.is_orphan(slot) {
                // The originate reply was lost: nobody knows this call.
                for event in batch {
                    if let SwitchEvent::State(note) = event {
                        self.notices_to
                            .do_send(Mail::new(SwitchNotice::UnknownCall {
                                call: note.call,
                                state: note.state,
                            }));
                    }
                }
                if ends && let Some(faults) = self.faults.as_mut() {
                    faults.orphan_slots[slot as usize] = false;
                }
                continue;
            }
            self.events_delivered += batch.len() as u64;
            if !batch.is_empty()
                && let Some(recipient) = self.recipients.get(slot as usize).and_then(Option::as_ref)
            {
                recipient.do_send(Mail::new(CallEvents(batch)));
            }
            if ends && let Some(recipient) = self.recipients.get_mut(slot as usize) {
                // The engine hears nothing after "terminated".
                let recipient = recipient.take();
                if end_lost
                    && let (Some(recipient), Some(faults)) = (recipient, self.faults.as_mut())
                {
                    faults.parked.push(recipient);
                }
            }
        }
        *batches = pending;
    }

    fn is_orphan(&self, slot: u32) -> bool {
        self.faults.as_ref().is_some_and(|faults| {
            faults
                .orphan_slots
                .get(slot as usize)
                .copied()
                .unwrap_or(false)
        })
    }

    /// How an originate request fares: placed normally, refused with a fault, or placed with its
    /// reply lost.
    fn originate_fate(&mut self) -> (bool, bool) {
        let Some(faults) = self.faults.as_mut() else {
            return (false, false);
        };
        let errors = faults.settings.originate_errors;
        let timeouts = faults.settings.originate_timeouts;
        if errors + timeouts <= 0.0 {
            return (false, false);
        }
        let u = rng::unit(&mut faults.rng);
        (u < errors, u >= errors && u < errors + timeouts)
    }

    fn may_continue(&self) -> bool {
        match self.quiescence {
            Quiescence::MailCount => mail::in_flight() == 0,
            Quiescence::RuntimeIdle => false,
        }
    }

    /// Takes calendar entries while the engine is quiet.
    pub fn advance(&mut self) {
        if self.done.is_none() {
            return;
        }
        if self.quiescence == Quiescence::MailCount && mail::in_flight() > 0 {
            return;
        }
        loop {
            if self.engine.is_some()
                && (self.calendar.pending_items() == 0 || self.model.is_quiet())
            {
                self.complete(RunStatus::Completed);
                return;
            }
            let (next_at, due) = match self.calendar.pop_not_after(self.deadline) {
                Next::Due(at, due) => (at, due),
                Next::Later(_) => {
                    self.complete(RunStatus::DeadlineReached);
                    return;
                }
                Next::Empty => {
                    self.complete(RunStatus::Stalled);
                    return;
                }
            };
            // The model as it was up to the entry's time (taking it changed only "now").
            if let Some(sampler) = self.sampler.as_mut() {
                sampler.catch_up(next_at, &self.model);
            }
            match due {
                Due::Item(SwitchItem::LateCallback(index)) => self.deliver_held(index),
                Due::Item(item) => {
                    self.model.handle(item, next_at, &mut self.step);
                    self.flush();
                }
                Due::Timer(fire) => fire(),
            }
            if !self.may_continue() {
                if let Some(wake) = &self.idle_wake {
                    wake.arm();
                }
                return;
            }
        }
    }

    fn complete(&mut self, status: RunStatus) {
        let Some(done) = self.done.take() else {
            return;
        };
        let ended_at = match status {
            RunStatus::DeadlineReached => self.deadline,
            _ => self.now(),
        };
        if let Some(sampler) = self.sampler.as_mut() {
            sampler.catch_up(ended_at, &self.model);
        }
        let (campaign_finished_at, engine) = match self.engine.take() {
            Some((at, report)) => (Some(at), Some(report)),
            None => (None, None),
        };
        let _ = done.send(SimOutcome {
            status,
            ended_at,
            engine,
            campaign_finished_at,
            truth: self.model.truth().clone(),
            events_delivered: self.events_delivered,
            calls_still_up: self.model.live_calls(),
            samples: self.sampler.take().map(Sampler::into_samples),
            model_check: self.model.check_invariants(),
        });
    }
}

/// The simulated switch as an actor: a thin shell over a shared [`SimCore`].
pub struct SimSwitch {
    core: Rc<RefCell<SimCore>>,
    /// Keeps time still until the switch has logged its agents in.
    startup: Option<InFlight>,
}

impl SimSwitch {
    pub fn new(core: Rc<RefCell<SimCore>>) -> SimSwitch {
        SimSwitch {
            core,
            startup: Some(InFlight::new()),
        }
    }
}

impl SimCore {
    fn start(&mut self) {
        let now = self.now();
        self.model.start(now, &mut self.step);
        self.flush();
    }

    fn command(&mut self, command: SwitchCommand) {
        let now = self.now();
        match command {
            SwitchCommand::Originate(request) => {
                let (refused, reply_lost) = self.originate_fate();
                if refused {
                    let event = SwitchEvent::Rejected {
                        reason: "Server.Fault: simulated API fault".into(),
                    };
                    {
                        let mut trace = self.trace.borrow_mut();
                        trace.record(
                            now,
                            &TraceRecord::Fault {
                                attempt: request.attempt,
                                fault: "originate_fault",
                                state: None,
                            },
                        );
                        trace.record(
                            now,
                            &TraceRecord::Switch {
                                attempt: request.attempt,
                                event: &event,
                            },
                        );
                    }
                    self.model.record_refused(request.attempt);
                    self.events_delivered += 1;
                    request
                        .events_to
                        .do_send(Mail::new(CallEvents(vec![event])));
                    return;
                }
                let key = self.model.originate(
                    now,
                    request.attempt,
                    &request.callee,
                    request.ring_timeout,
                    &mut self.step,
                );
                let slot = key.slot as usize;
                if self.recipients.len() <= slot {
                    self.recipients.resize(slot + 1, None);
                }
                if reply_lost && let Some(faults) = self.faults.as_mut() {
                    self.trace.borrow_mut().record(
                        now,
                        &TraceRecord::Fault {
                            attempt: request.attempt,
                            fault: "originate_reply_lost",
                            state: None,
                        },
                    );
                    if faults.orphan_slots.len() <= slot {
                        faults.orphan_slots.resize(slot + 1, false);
                    }
                    faults.orphan_slots[slot] = true;
                    faults.orphans.push(request.events_to);
                    self.recipients[slot] = None;
                    // The reply with the call's name is lost with the rest.
                    for batch in &mut self.step.batches {
                        batch
                            .events
                            .retain(|event| !matches!(event, SwitchEvent::Accepted { .. }));
                    }
                    self.step.batches.retain(|batch| !batch.events.is_empty());
                } else {
                    if let Some(faults) = self.faults.as_mut()
                        && let Some(orphan) = faults.orphan_slots.get_mut(slot)
                    {
                        *orphan = false;
                    }
                    self.recipients[slot] = Some(request.events_to);
                }
                forget_ended_calls(&mut self.keys_by_attempt, |key| self.model.is_live(key));
                self.keys_by_attempt.insert(request.attempt, key);
                self.flush();
            }
            SwitchCommand::Hangup { attempt, .. } => {
                if let Some(&key) = self.keys_by_attempt.get(attempt) {
                    self.model.hangup(now, key, &mut self.step);
                    self.flush();
                }
            }
            SwitchCommand::ListActiveCalls { only } => {
                let list = self.active_calls(only);
                self.notices_to
                    .do_send(Mail::new(SwitchNotice::ActiveCalls(list)));
            }
        }
    }

    /// The model's ground truth as PortaSwitch's active-call list: every call it carries, or
    /// only the attempts asked about.
    fn active_calls(&self, only: Option<Vec<AttemptId>>) -> ActiveCallList {
        let key_of = |attempt: AttemptId| self.keys_by_attempt.get(attempt).copied();
        match only {
            Some(attempts) => ActiveCallList {
                listed: attempts
                    .into_iter()
                    .filter_map(|attempt| {
                        let state = self.model.listed_state(key_of(attempt)?)?;
                        Some(ListedCall {
                            attempt,
                            state: Some(state),
                        })
                    })
                    .collect(),
                complete: false,
                unmatched: 0,
                rebuild: false,
            },
            None => {
                let mut listed: Vec<ListedCall> = self
                    .model
                    .active_calls()
                    .map(|(attempt, _, _, state)| ListedCall {
                        attempt,
                        state: Some(state),
                    })
                    .collect();
                listed.sort_by_key(|entry| entry.attempt);
                ActiveCallList {
                    listed,
                    complete: true,
                    unmatched: 0,
                    rebuild: false,
                }
            }
        }
    }

    fn campaign_finished(&mut self, finished: CampaignFinished) {
        self.engine = Some((finished.at, finished.report));
        // Nothing may wake the engine any more; the world runs out on its own.
        self.calendar.cancel_all_timers();
    }
}

impl Actor for SimSwitch {
    type Context = EngineContext<Self>;

    fn started(&mut self, _ctx: &mut EngineContext<Self>) {
        self.core.borrow_mut().start();
        self.startup = None;
    }
}

impl Handler<Advance> for SimSwitch {
    type Result = ();

    fn handle(&mut self, _: Advance, _ctx: &mut EngineContext<Self>) {
        self.core.borrow_mut().advance();
    }
}

impl Handler<Mail<SwitchCommand>> for SimSwitch {
    type Result = ();

    fn handle(&mut self, mail: Mail<SwitchCommand>, _ctx: &mut EngineContext<Self>) {
        let Mail { body, .. } = mail;
        self.core.borrow_mut().command(body);
    }
}

impl Handler<Mail<CampaignFinished>> for SimSwitch {
    type Result = ();

    fn handle(&mut self, mail: Mail<CampaignFinished>, _ctx: &mut EngineContext<Self>) {
        let Mail { body, .. } = mail;
        self.core.borrow_mut().campaign_finished(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn key(slot: u32) -> CallKey {
        CallKey {
            slot,
            generation: 0,
        }
    }

    #[test]
    fn call_keys_are_kept_while_their_calls_may_be_up_and_dropped_after() {
        let mut keys = AttemptWindow::new();
        let mut live: BTreeSet<u32> = BTreeSet::new();
        let remember = |keys: &mut AttemptWindow<CallKey>, live: &BTreeSet<u32>, attempt: u64| {
            forget_ended_calls(keys, |k| live.contains(&k.slot));
            keys.insert(AttemptId(attempt), key(attempt as u32));
        };
        for attempt in 1..=5 {
            live.insert(attempt as u32);
            remember(&mut keys, &live, attempt);
        }
        assert_eq!(keys.get(AttemptId(3)), Some(&key(3)));
        // Calls 1, 2 and 4 end; the next insert lets go of 1 and 2 (the front), not of 4,
        // which is behind a call still up.
        for ended in [1, 2, 4] {
            live.remove(&ended);
        }
        live.insert(6);
        remember(&mut keys, &live, 6);
        assert_eq!(keys.front().map(|(attempt, _)| attempt), Some(AttemptId(3)));
        assert_eq!(keys.get(AttemptId(1)), None);
        assert_eq!(keys.get(AttemptId(2)), None);
        assert_eq!(keys.get(AttemptId(4)), Some(&key(4)));
        assert_eq!(keys.get(AttemptId(6)), Some(&key(6)));
        assert_eq!(keys.get(AttemptId(7)), None);
        // When every call is over, the window starts again at the next attempt.
        live.clear();
        live.insert(9);
        remember(&mut keys, &live, 9);
        assert_eq!(keys.front().map(|(attempt, _)| attempt), Some(AttemptId(9)));
        assert_eq!(keys.span(), 1);
    }
}
