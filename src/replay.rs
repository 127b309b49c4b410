//! `dialer replay`: re-runs the engine's decisions over a recorded trace (the tester's replay).
//!
//! A trace (from `dialer run --record` or `dialer simulate --trace`) holds what the switch told
//! the engine and when. [`replay`] runs the same engine code (supervisor, pacing, call actors)
//! against a [`ReplaySwitch`] that plays the recording back: each attempt gets the events recorded
//! for the attempt with the same number (at their recorded times when the replay dials the
//! recorded number about when it was recorded, else at the same offsets from its own dial);
//! agent counts, unknown calls and site changes come at their recorded times; an active-call list
//! asked for is answered with the first list recorded at or after that moment, when it came.
//! Time is virtual: the replay's own calendar ([`ReplayCore`]), to the microsecond, which the
//! engine's timers share (firing when the recorded run's fired, [`ReplayTimeline`]) and which
//! moves on only when the engine has finished with the last entry, so each recorded callback is
//! its own engine turn, as in a simulation. A replay takes milliseconds.
//! The result compares the replayed dials and outcomes with the recorded ones and names the
//! first difference. A live run's trace says where the run started
//! ([`crate::run_start`]: the real instant of engine time zero, the first attempt's number, and
//! for a stored campaign its leads where they stood, earlier answers and calls still up), and
//! the replay starts there; recorded callbacks of calls recovered from an earlier run come back
//! at their times, and so do an admin's orders (`control`: pause, resume, stop, a new pacing
//! strategy, a stop at once; `dnc_edit`: the do-not-call list edited), those the recorded
//! campaign had before its engine's first turn before this one's. A later run's trace without
//! start records (written before they existed) is refused ([`LaterRun`]) rather than compared
//! with a fresh campaign.
//!
//! Replay never performs I/O beyond reading the trace and writing the replayed one.

use crate::campaign::supervisor::{
    CampaignControl, CampaignFinished, CampaignSetup, CampaignSupervisor, DncUpdate, JournalSetup,
};
use crate::clock::{Clock, VirtualTimeline, timer_label};
use crate::domain::AttemptId;
use crate::executor::actors::Port;
use crate::mail::{Mail, SimulationGuard};
use crate::run_start::{RunStart, RunStartError, RunStartReader};
use crate::sim::calendar::{Calendar, Due, Next};
use crate::sim::switch::Advance;
use crate::switch::{
    ActiveCallList, CallEvents, ListedCall, SwitchCommand, SwitchEvent, SwitchNotice,
};
use crate::time::{SimDuration, SimTime};
use crate::trace::{TraceBuffer, TraceSink};
use actix::{Actor, AsyncContext, Context, Handler};
use serde::Serialize;
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::oneshot;

/// What a recorded trace holds that a replay needs.
#[derive(Debug, Default, Clone)]
pub struct Recording {
    /// Per attempt: when it was dialed (µs) and its switch events with their times.
    pub attempts: BTreeMap<u64, RecordedAttempt>,
    /// Notices at their recorded times (µs), in order.
    pub notices: Vec<(u64, SwitchNotice)>,
    /// Orders from outside the engine (an admin's controls, do-not-call edits) handled before
    /// the engine's first turn (recorded before its first `pacing_strategy` record).
    pub initial_orders: Vec<Order>,
    /// The other orders, at their recorded times (µs), in order.
    pub orders: Vec<(u64, Order)>,
    /// Answers to list requests with their times (µs), in order (`None`: the list could not be
    /// fetched).
    pub lists: Vec<(u64, Option<ActiveCallList>)>,
    /// Outcomes by attempt.
    pub outcomes: BTreeMap<u64, String>,
    /// When the recorded run's engine timers fired, by timer name (`timer` records, live runs):
    /// (due, fired) in µs, in order of due time.
    pub timers: BTreeMap<String, Vec<(u64, u64)>>,
    /// The last record's time (µs).
    pub last_t_us: u64,
    /// Where the recorded run started, if the trace says ([`crate::run_start`]; live runs).
    pub run_start: Option<RunStart>,
    /// Why the trace is of a later run of a stored campaign that it does not say where it
    /// started, if it is (see [`LaterRun`]).
    pub later_run: Option<LaterRun>,
}

/// The sign that a trace is of a later run of a stored campaign (one started again after a
/// stop or a crash) without its start records: its attempts do not start at 1, or it holds
/// callbacks of calls recovered from an earlier run. Such a run started from the store's state
/// (each lead's earlier attempts and due redials, earlier answers in the abandon windows, the
/// calls still up); traces written before `run_start` records existed do not hold it, so a
/// replay, which would start a fresh campaign, cannot follow them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaterRun {
    pub file: String,
    /// The line of the record that shows it.
    pub line: usize,
    /// What that record shows.
    pub evidence: String,
}

/// An order from outside the engine that reached the campaign (`control` and `dnc_edit`
/// records).
#[derive(Debug, Clone, PartialEq)]
pub enum Order {
    Control(CampaignControl),
    Dnc(DncUpdate),
}

#[derive(Debug, Default, Clone)]
pub struct RecordedAttempt {
    pub dialed_at_us: u64,
    pub callee: String,
    pub events: Vec<(u64, SwitchEvent)>,
}

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{file}: cannot read the trace: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: not a trace record: {message}")]
    Record {
        file: String,
        line: usize,
        message: String,
    },
    #[error(
        "{}:{}: {}: this is the trace of a later run of a stored campaign, which started from the \
         store's state (each lead's earlier attempts and due redials, earlier answers in the \
         abandon windows, calls still up); the trace has no run_start records to say what that \
         state was (it was written by a dialer older than them), and a replay would start a \
         fresh campaign, so it cannot follow this run. Record the run again with this dialer, \
         or fit this trace with `dialer backtest`, which needs only its events",
        .0.file,
        .0.line,
        .0.evidence
    )]
    LaterRun(LaterRun),
    #[error("the trace's run_start records cannot be used: {0}")]
    RunStart(#[from] RunStartError),
    #[error("cannot start the replay runtime: {0}")]
    Start(#[source] std::io::Error),
    #[error("the replay ended without a result")]
    NoResult,
}

impl Recording {
    /// Reads a JSON-lines trace.
    pub fn parse(file: &str, text: &str) -> Result<Recording, ReplayError> {
        let mut recording = Recording::default();
        // The lowest attempt dialed, with its line; and the first recovered call's line.
        let mut lowest_dial: Option<(u64, usize)> = None;
        let mut first_recovered: Option<(u64, usize)> = None;
        let mut start = RunStartReader::default();
        let mut engine_started = false;
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let fail = |message: String| ReplayError::Record {
                file: file.to_string(),
                line: index + 1,
                message,
            };
            let record: Value = serde_json::from_str(line).map_err(|e| fail(e.to_string()))?;
            let t_us = record["t_us"]
                .as_u64()
                .ok_or_else(|| fail("no t_us".into()))?;
            recording.last_t_us = recording.last_t_us.max(t_us);
            let attempt = record["attempt"].as_u64();
            let kind = record["kind"].as_str().unwrap_or("");
            if start.read(index + 1, kind, &record).map_err(fail)? {
                continue;
            }
            match kind {
                "dial" => {
                    let attempt = attempt.ok_or_else(|| fail("dial without attempt".into()))?;
                    if lowest_dial.is_none_or(|(lowest, _)| attempt < lowest) {
                        lowest_dial = Some((attempt, index + 1));
                    }
                    let entry = recording.attempts.entry(attempt).or_default();
                    entry.dialed_at_us = t_us;
                    entry.callee = record["callee"].as_str().unwrap_or("").to_string();
                }
                "switch" => {
                    let event: SwitchEvent = serde_json::from_value(record["event"].clone())
                        .map_err(|e| fail(format!("bad switch event: {e}")))?;
                    recording
                        .attempts
                        .entry(attempt.ok_or_else(|| fail("switch without attempt".into()))?)
                        .or_default()
                        .events
                        .push((t_us, event));
                }
                "outcome" => {
                    recording.outcomes.insert(
                        attempt.ok_or_else(|| fail("outcome without attempt".into()))?,
                        record["outcome"].as_str().unwrap_or("").to_string(),
                    );
                }
                "agents" => {
                    let count = record["logged_in"].as_u64().unwrap_or(0) as u32;
                    recording
                        .notices
                        .push((t_us, SwitchNotice::AgentsLoggedIn { count }));
                }
                "active_calls" => {
                    let calls: Vec<ListedCall> = serde_json::from_value(record["calls"].clone())
                        .map_err(|e| fail(format!("bad list: {e}")))?;
                    let list = ActiveCallList {
                        listed: calls,
                        complete: record["complete"].as_bool().unwrap_or(false),
                        unmatched: record["unmatched"].as_u64().unwrap_or(0) as u32,
                        rebuild: record["rebuild"].as_bool().unwrap_or(false),
                    };
                    if list.rebuild {
                        recording
                            .notices
                            .push((t_us, SwitchNotice::ActiveCalls(list)));
                    } else {
                        recording.lists.push((t_us, Some(list)));
                    }
                }
                "active_calls_unavailable" => recording.lists.push((t_us, None)),
                "timer" => {
                    let timer = record["timer"]
                        .as_str()
                        .ok_or_else(|| fail("timer without its name".into()))?;
                    let due_us = record["due_us"]
                        .as_u64()
                        .ok_or_else(|| fail("timer without due_us".into()))?;
                    let firings = recording.timers.entry(timer.to_string()).or_default();
                    firings.push((due_us, t_us));
                }
                "pacing_strategy" => engine_started = true,
                "control" | "dnc_edit" => {
                    let order = order_of(kind, &record).map_err(fail)?;
                    if engine_started {
                        recording.orders.push((t_us, order));
                    } else {
                        recording.initial_orders.push(order);
                    }
                }
                "recovered_call" => {
                    let attempt =
                        attempt.ok_or_else(|| fail("recovered_call without attempt".into()))?;
                    if first_recovered.is_none() {
                        first_recovered = Some((attempt, index + 1));
                    }
                    let state = record["state"]
                        .as_str()
                        .and_then(crate::switch::CallStatus::parse)
                        .ok_or_else(|| fail("recovered_call without a known state".into()))?;
                    recording.notices.push((
                        t_us,
                        SwitchNotice::RecoveredCallState {
                            attempt: AttemptId(attempt),
                            state,
                            reason: record["reason"].as_str().map(Into::into),
                            reason_code: record["reason_code"]
                                .as_u64()
                                .and_then(|code| u16::try_from(code).ok()),
                        },
                    ));
                }
                "site_changed" => recording.notices.push((
                    t_us,
                    SwitchNotice::SiteChanged {
                        site: record["site"].as_str().unwrap_or("").into(),
                    },
                )),
                "login_refused" => recording.notices.push((
                    t_us,
                    SwitchNotice::LoginRefused {
                        site: record["site"].as_str().unwrap_or("").into(),
                        reason: record["reason"].as_str().unwrap_or("").into(),
                    },
                )),
                "login_restored" => recording.notices.push((
                    t_us,
                    SwitchNotice::LoginRestored {
                        site: record["site"].as_str().unwrap_or("").into(),
                    },
                )),
                "unknown_call" | "event_after_end" => {
                    let call = record["call"].as_str().unwrap_or("");
                    let (id, tag) = call.split_once('/').unwrap_or((call, ""));
                    let state = record["state"]
                        .as_str()
                        .and_then(crate::switch::CallStatus::parse);
                    if let Some(state) = state {
                        let call = crate::switch::CallRef {
                            id: id.into(),
                            tag: tag.into(),
                        };
                        recording.notices.push((
                            t_us,
                            if record["kind"] == "unknown_call" {
                                SwitchNotice::UnknownCall { call, state }
                            } else {
                                SwitchNotice::EventAfterEnd { call, state }
                            },
                        ));
                    }
                }
                _ => {}
            }
        }
        for firings in recording.timers.values_mut() {
            firings.sort_by_key(|&(due_us, _)| due_us);
        }
        recording.run_start = start
            .finish()
            .map_err(|(line, message)| ReplayError::Record {
                file: file.to_string(),
                line,
                message,
            })?;
        let later_run = |(line, evidence): (usize, String)| LaterRun {
            file: file.to_string(),
            line,
            evidence,
        };
        if recording.run_start.is_some() {
            // The trace says where its run started: a replay starts there.
            return Ok(recording);
        }
        recording.later_run = lowest_dial
            .filter(|&(lowest, _)| lowest != 1)
            .map(|(lowest, line)| (line, format!("its first attempt is {lowest}, not 1")))
            .or_else(|| {
                first_recovered.map(|(attempt, line)| {
                    (
                        line,
                        format!("a callback of attempt {attempt}, recovered from an earlier run"),
                    )
                })
            })
            .map(later_run);
        Ok(recording)
    }

    pub fn load(path: &std::path::Path) -> Result<Recording, ReplayError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ReplayError::Read {
            file: file.clone(),
            source,
        })?;
        Recording::parse(&file, &text)
    }
}

/// The order a `control` or `dnc_edit` record holds.
fn order_of(kind: &str, record: &Value) -> Result<Order, String> {
    if kind == "dnc_edit" {
        let number = record["number"].as_str().ok_or("dnc_edit without number")?;
        let number = crate::domain::PhoneNumber(number.into());
        return Ok(Order::Dnc(match record["added"].as_bool() {
            Some(true) => DncUpdate::Add(number),
            Some(false) => DncUpdate::Remove(number),
            None => return Err("dnc_edit without added".into()),
        }));
    }
    let action = record["action"].as_str().ok_or("control without action")?;
    let strategy = match &record["strategy"] {
        Value::Null => None,
        value => Some(
            serde_json::from_value(value.clone())
                .map_err(|e| format!("control's strategy: {e}"))?,
        ),
    };
    CampaignControl::from_action(action, strategy)
        .map(Order::Control)
        .ok_or_else(|| format!("control with action {action:?}"))
}

/// How much earlier than recorded a replayed dial to the same number may be placed and still be
/// the recorded call, whose events then come at their recorded times (see [`ReplayCore`]).
const SAME_CALL_WINDOW_US: u64 = 2_000_000;

/// How long after the engine's request for the active-call list the recorded answer may have
/// come for the replay to give it then (a later one is given at once: the replay has parted
/// from the recorded run, which asked at another time).
const LIST_ANSWER_WINDOW_US: u64 = 2_000_000;

/// How far a replayed engine timer's due time may be from a recorded one's for it to fire when
/// that one fired (see [`ReplayTimeline`]).
const TIMER_MATCH_WINDOW_US: u64 = 50_000;

/// The replay's calendar as the engine's clock. An engine timer fires when the recorded run's
/// timer of the same name due nearest its due time fired (within [`TIMER_MATCH_WINDOW_US`]),
/// if that was later: a live timer fires a little after it is due, and callbacks that came in
/// between were handled first (see [`crate::clock`]). Without a recorded firing (a simulated
/// trace, whose timers fire when due, or a trace written before `timer` records) it fires when
/// due. The replay's due times are those of the live run to within the engine's reaction times
/// (microseconds to milliseconds), which the window covers.
struct ReplayTimeline {
    calendar: Rc<Calendar<ReplayItem>>,
    recording: Rc<Recording>,
}

impl VirtualTimeline for ReplayTimeline {
    fn now(&self) -> SimTime {
        self.calendar.now()
    }

    fn schedule(&self, at: SimTime, fire: Box<dyn FnOnce()>) -> u64 {
        self.calendar.schedule(at, fire)
    }

    fn cancel(&self, id: u64) {
        self.calendar.cancel(id);
    }

    fn timer_due(&self, at: SimTime, timer: &dyn std::fmt::Debug) -> SimTime {
        match self.recording.timers.get(&timer_label(timer)) {
            Some(firings) => {
                recorded_firing(firings, at.0).map_or(at, |fired| at.max(SimTime(fired)))
            }
            None => at,
        }
    }
}

/// When the recorded timer due nearest `due_us` (within the window) fired, from `firings`
/// (due, fired) in order of due time.
fn recorded_firing(firings: &[(u64, u64)], due_us: u64) -> Option<u64> {
    let after = firings.partition_point(|&(due, _)| due < due_us);
    [after.checked_sub(1), Some(after)]
        .into_iter()
        .flatten()
        .filter_map(|index| firings.get(index))
        .filter(|(due, _)| due.abs_diff(due_us) <= TIMER_MATCH_WINDOW_US)
        .min_by_key(|(due, _)| due.abs_diff(due_us))
        .map(|&(_, fired)| fired)
}

/// What the replay's calendar holds besides the engine's timers: the recording's entries, each
/// due at its time.
enum ReplayItem {
    /// An attempt's recorded events `from..to` (those recorded at one instant), for its call.
    Events {
        attempt: u64,
        from: usize,
        to: usize,
        call: Port<Mail<CallEvents>>,
    },
    /// The recording's notice with this index.
    Notice(usize),
    /// The recording's order (with its time) with this index.
    Order(usize),
    /// The answer to the engine's request for the active-call list, due when the recorded
    /// run's came.
    Answer(Box<SwitchNotice>),
}

/// The recording played back behind the switch seam, on the replay's own calendar.
///
/// Recorded notices and orders are due at their recorded times. An attempt the replay dials to
/// the recorded number, no later than recorded and at most [`SAME_CALL_WINDOW_US`] earlier, is
/// the recorded call: its events are due at their recorded times too. (A live engine dials a
/// little after what prompted it, where the replay dials at once; counted from the replay's
/// own dial, every call's events would come that much early, the shifts adding up along the
/// chain of calls whose ends prompt the next dials.) Any other dial gets the recorded events at
/// the same offsets from its own dial. A call still up when the recording ended (no outcome
/// recorded) stays up after its last event. The engine's timers share the calendar
/// ([`Clock::Virtual`]). As in a simulation, the next entry is taken only when the engine has
/// finished with the last one (no engine mail in flight, see [`crate::mail`]), so every recorded
/// callback is its own engine turn in recorded order, to the microsecond, however close
/// together the callbacks came.
pub struct ReplayCore {
    recording: Rc<Recording>,
    calendar: Rc<Calendar<ReplayItem>>,
    notices_to: Port<Mail<SwitchNotice>>,
    controls_to: Port<Mail<CampaignControl>>,
    dnc_to: Port<Mail<DncUpdate>>,
    /// Nothing is taken after this time (the replay then ends as not finished).
    limit: SimTime,
    /// Set once the replayed campaign has finished: nothing more is taken.
    finished: Rc<Cell<bool>>,
    /// Attempts dialed that the recording does not hold.
    unrecorded: u64,
    /// Calls still up when the recording ended (see [`ReplayCore::hold_if_still_up`]).
    still_up: Vec<Port<Mail<CallEvents>>>,
}

impl ReplayCore {
    /// Puts the recorded notices and orders on the calendar at their times.
    fn schedule_timed(&self) {
        let recording = &self.recording;
        self.calendar.schedule_items(
            (recording.notices.iter().enumerate())
                .map(|(index, (t_us, _))| (SimTime(*t_us), ReplayItem::Notice(index))),
        );
        self.calendar.schedule_items(
            (recording.orders.iter().enumerate())
                .map(|(index, (t_us, _))| (SimTime(*t_us), ReplayItem::Order(index))),
        );
    }

    /// Orders the recorded campaign had before its engine's first turn (an admin's pause sent
    /// at the start, say), sent before this one's.
    fn send_initial_orders(&self) {
        for order in &self.recording.initial_orders {
            self.send_order(order.clone());
        }
    }

    fn send_order(&self, order: Order) {
        match order {
            Order::Control(control) => self.controls_to.do_send(Mail::new(control)),
            Order::Dnc(update) => self.dnc_to.do_send(Mail::new(update)),
        }
    }

    /// Takes calendar entries while the engine is quiet.
    fn advance(&mut self) {
        while !self.finished.get() && crate::mail::in_flight() == 0 {
            match self.calendar.pop_not_after(self.limit) {
                Next::Due(_, Due::Item(item)) => self.deliver(item),
                Next::Due(_, Due::Timer(fire)) => fire(),
                // Nothing more to take: the engine waits for nothing, and the replay's limit
                // ends it as not finished.
                Next::Later(_) | Next::Empty => return,
            }
        }
    }

    fn deliver(&mut self, item: ReplayItem) {
        let recording = self.recording.clone();
        match item {
            ReplayItem::Events {
                attempt,
                from,
                to,
                call,
            } => {
                let events = &recording.attempts[&attempt].events;
                let batch = events[from..to]
                    .iter()
                    .map(|(_, event)| event.clone())
                    .collect();
                call.do_send(Mail::new(CallEvents(batch)));
                if to == events.len() {
                    self.hold_if_still_up(attempt, call);
                }
            }
            ReplayItem::Notice(index) => {
                let notice = recording.notices[index].1.clone();
                self.notices_to.do_send(Mail::new(notice));
            }
            ReplayItem::Order(index) => self.send_order(recording.orders[index].1.clone()),
            ReplayItem::Answer(notice) => self.notices_to.do_send(Mail::new(*notice)),
        }
    }

    /// Keeps the way to an attempt's call open after its last recorded event when the
    /// recording has no outcome for it: the call was still up when the recording ended, and
    /// letting go of it would end it at once ("the switch stopped reporting the call").
    fn hold_if_still_up(&mut self, attempt: u64, call: Port<Mail<CallEvents>>) {
        if !self.recording.outcomes.contains_key(&attempt) {
            self.still_up.push(call);
        }
    }

    fn command(&mut self, command: SwitchCommand) {
        match command {
            SwitchCommand::Originate(request) => {
                let Some(recorded) = self.recording.attempts.get(&request.attempt.0) else {
                    self.unrecorded += 1;
                    request
                        .events_to
                        .do_send(Mail::new(CallEvents(vec![SwitchEvent::Rejected {
                            reason: "not in the recording".into(),
                        }])));
                    return;
                };
                if recorded.events.is_empty() {
                    self.hold_if_still_up(request.attempt.0, request.events_to);
                    return;
                }
                let attempt = request.attempt.0;
                let origin_us = self.calendar.now().0;
                let same_call = request.callee.0.as_str() == recorded.callee
                    && origin_us <= recorded.dialed_at_us
                    && recorded.dialed_at_us - origin_us <= SAME_CALL_WINDOW_US;
                // One entry per recorded instant: events recorded together come together.
                let events = &recorded.events;
                let mut entries = Vec::new();
                let mut from = 0;
                while from < events.len() {
                    let t_us = events[from].0;
                    let to = from + events[from..].partition_point(|(t, _)| *t == t_us);
                    let due = if same_call {
                        t_us.max(origin_us)
                    } else {
                        origin_us + t_us.saturating_sub(recorded.dialed_at_us)
                    };
                    entries.push((
                        SimTime(due),
                        ReplayItem::Events {
                            attempt,
                            from,
                            to,
                            call: request.events_to.clone(),
                        },
                    ));
                    from = to;
                }
                self.calendar.schedule_items(entries);
            }
            SwitchCommand::Hangup { .. } => {}
            SwitchCommand::ListActiveCalls { only } => {
                // The first list recorded at or after this moment: the answer the recorded run
                // got to the request it made at about this time.
                let now = self.calendar.now().0;
                let lists = &self.recording.lists;
                let next = lists.get(lists.partition_point(|(t_us, _)| *t_us < now));
                let answered_at = next.map(|(t_us, _)| *t_us);
                let answer = next.or_else(|| lists.last()).map(|(_, list)| list.clone());
                let notice = match answer {
                    Some(Some(mut list)) => {
                        if let Some(only) = only {
                            list.listed.retain(|entry| only.contains(&entry.attempt));
                            list.complete = false;
                        }
                        SwitchNotice::ActiveCalls(list)
                    }
                    Some(None) => SwitchNotice::ActiveCallsUnavailable {
                        reason: "recorded failure".into(),
                    },
                    None => SwitchNotice::ActiveCallsUnavailable {
                        reason: "not in the recording".into(),
                    },
                };
                // The answer comes when it came: callbacks that came while the recorded run
                // waited for it were handled before it.
                match answered_at.filter(|at| at - now <= LIST_ANSWER_WINDOW_US) {
                    Some(at) if at > now => self
                        .calendar
                        .schedule_item(SimTime(at), ReplayItem::Answer(Box::new(notice))),
                    _ => self.notices_to.do_send(Mail::new(notice)),
                }
            }
        }
    }
}

/// The replay's switch as an actor: a thin shell over a shared [`ReplayCore`].
pub struct ReplaySwitch {
    core: Rc<RefCell<ReplayCore>>,
}

impl Actor for ReplaySwitch {
    type Context = Context<Self>;
}

impl Handler<Advance> for ReplaySwitch {
    type Result = ();

    fn handle(&mut self, _: Advance, _ctx: &mut Context<Self>) {
        self.core.borrow_mut().advance();
    }
}

impl Handler<Mail<SwitchCommand>> for ReplaySwitch {
    type Result = ();

    fn handle(&mut self, mail: Mail<SwitchCommand>, _ctx: &mut Context<Self>) {
        let Mail { body, .. } = mail;
        self.core.borrow_mut().command(body);
    }
}

/// How a replay compares with its recording.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReplayReport {
    pub recorded_attempts: u64,
    pub replayed_attempts: u64,
    /// Attempts whose replayed outcome equals the recorded one.
    pub same_outcome: u64,
    /// Attempts dialed in the replay that the recording does not hold.
    pub unrecorded_attempts: u64,
    pub finished: bool,
    /// The first attempt whose outcome differs, with both outcomes.
    pub first_difference: Option<(u64, String, String)>,
    pub trace_hash: String,
    /// Where the replay started, when the trace said where its run started (live runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_from: Option<StartedFrom>,
}

/// What a replay took from the trace's start records ([`crate::run_start`]).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StartedFrom {
    /// The real instant of the recorded run's engine time zero (RFC 3339).
    pub epoch: String,
    pub first_attempt: u64,
    /// A stored campaign's leads, earlier answers and recovered attempts; all zero for a run
    /// without a store.
    pub stored_leads: u64,
    pub prior_answers: u64,
    pub recovered: u64,
    /// Orders from outside the engine (an admin's controls, do-not-call edits) replayed.
    pub orders: u64,
}

/// Replays `recording` through the engine configured by `setup`; returns the comparison and
/// the replayed trace (JSON lines).
pub fn replay(
    recording: &Recording,
    mut setup: CampaignSetup,
) -> Result<(ReplayReport, Vec<u8>), ReplayError> {
    if let Some(later_run) = &recording.later_run {
        return Err(ReplayError::LaterRun(later_run.clone()));
    }
    let journal = match &recording.run_start {
        Some(start) => start.apply(&mut setup)?,
        None => JournalSetup::in_memory(),
    };
    let buffer = TraceBuffer::default();
    let trace = TraceSink::writing_to(Box::new(buffer.clone()));
    let system = crate::runtime::paused_system().map_err(ReplayError::Start)?;
    let trace = trace.shared();
    let trace_for_run = trace.clone();
    let recording_rc = Rc::new(recording.clone());
    let limit = SimTime(recording.last_t_us) + SimDuration::from_secs(24 * 3600);
    let finished_flag = Rc::new(Cell::new(false));
    // The core and its actor, for the on-quiet driver (set when the actor is made) and for the
    // report.
    type Driver = Option<(Rc<RefCell<ReplayCore>>, actix::Addr<ReplaySwitch>)>;
    let driver: Rc<RefCell<Driver>> = Rc::new(RefCell::new(None));
    let driver_in = driver.clone();
    let finished = system.block_on(async move {
        let calendar = Rc::new(Calendar::new());
        let clock = Clock::Virtual(Rc::new(ReplayTimeline {
            calendar: calendar.clone(),
            recording: recording_rc.clone(),
        }));
        let (done_tx, done_rx) = oneshot::channel();
        let done = Done {
            to: Some(done_tx),
            finished: finished_flag.clone(),
        }
        .start();
        let on_quiet = driver_in.clone();
        // Each time the engine has finished with the last entry: the next one.
        let guard = SimulationGuard::install(Box::new(move || {
            let Ok(driver) = on_quiet.try_borrow() else {
                return;
            };
            if let Some((core, address)) = driver.as_ref() {
                match core.try_borrow_mut() {
                    Ok(mut core) => core.advance(),
                    Err(_) => address.do_send(Advance),
                }
            }
        }));
        let switch = ReplaySwitch::create(move |ctx| {
            let supervisor = CampaignSupervisor::start_with(
                setup,
                journal,
                None,
                clock,
                ctx.address().recipient().into(),
                done.recipient().into(),
                trace_for_run,
            );
            let core = ReplayCore {
                recording: recording_rc,
                calendar,
                notices_to: supervisor.clone().port(),
                controls_to: supervisor.clone().port(),
                dnc_to: supervisor.port(),
                limit,
                finished: finished_flag,
                unrecorded: 0,
                still_up: Vec::new(),
            };
            core.schedule_timed();
            core.send_initial_orders();
            let core = Rc::new(RefCell::new(core));
            *driver_in.borrow_mut() = Some((core.clone(), ctx.address()));
            ReplaySwitch { core }
        });
        // Time starts once the start-up mail has settled.
        switch.do_send(Advance);
        // When the calendar has nothing left for an engine that is waiting for something, the
        // paused runtime has nothing to run and jumps to this timer: the replay did not finish.
        let finished = tokio::select! {
            biased;
            finished = done_rx => finished.ok(),
            () = tokio::time::sleep(Duration::from_micros(limit.0)) => None,
        };
        drop(guard);
        finished
    });
    drop(system);
    let mut sink = trace.borrow_mut();
    let _ = sink.finish();
    let replayed = finished
        .as_ref()
        .map(|f| f.report.tally.attempts)
        .unwrap_or(0);
    let bytes = buffer.bytes();
    let outcomes = outcomes_in(&bytes);
    let mut same = 0;
    let mut first_difference = None;
    for (attempt, recorded) in &recording.outcomes {
        match outcomes.get(attempt) {
            Some(replayed) if replayed == recorded => same += 1,
            other => {
                if first_difference.is_none() {
                    first_difference = Some((
                        *attempt,
                        recorded.clone(),
                        other.cloned().unwrap_or_else(|| "none".into()),
                    ));
                }
            }
        }
    }
    let report = ReplayReport {
        recorded_attempts: recording.attempts.len() as u64,
        replayed_attempts: replayed,
        same_outcome: same,
        unrecorded_attempts: driver
            .borrow()
            .as_ref()
            .map_or(0, |(core, _)| core.borrow().unrecorded),
        finished: finished.is_some(),
        first_difference,
        trace_hash: format!("{:016x}", sink.hash()),
        started_from: recording.run_start.as_ref().map(|start| {
            let stored = start.stored.as_ref();
            let count = |of: fn(&crate::run_start::StoredStart) -> usize| {
                stored.map_or(0, |stored| of(stored) as u64)
            };
            StartedFrom {
                epoch: start.epoch.to_string(),
                first_attempt: start.first_attempt.0,
                stored_leads: count(|stored| stored.leads.len()),
                prior_answers: count(|stored| stored.prior_answers.len()),
                recovered: count(|stored| stored.recovered.len()),
                orders: (recording.initial_orders.len() + recording.orders.len()) as u64,
            }
        }),
    };
    Ok((report, bytes))
}

fn outcomes_in(trace: &[u8]) -> BTreeMap<u64, String> {
    String::from_utf8_lossy(trace)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|record| record["kind"] == "outcome")
        .filter_map(|record| {
            Some((
                record["attempt"].as_u64()?,
                record["outcome"].as_str()?.to_string(),
            ))
        })
        .collect()
}

struct Done {
    to: Option<oneshot::Sender<CampaignFinished>>,
    /// Tells the replay's switch to take no more entries.
    finished: Rc<Cell<bool>>,
}

impl Actor for Done {
    type Context = Context<Self>;
}

impl Handler<Mail<CampaignFinished>> for Done {
    type Result = ();

    fn handle(&mut self, mail: Mail<CampaignFinished>, _ctx: &mut Context<Self>) {
        self.finished.set(true);
        if let Some(to) = self.to.take() {
            let _ = to.send(mail.body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dial(seq: u64, attempt: u64) -> String {
        format!(
            r#"{{"seq":{seq},"t_us":{seq},"kind":"dial","attempt":{attempt},"lead":0,"callee":"+15550100"}}"#
        )
    }

    #[test]
    fn a_first_run_is_not_a_later_run() {
        let text = [dial(0, 2), dial(1, 1)].join("\n");
        let recording = Recording::parse("first.jsonl", &text).expect("a trace");
        assert_eq!(recording.later_run, None);
        assert_eq!(recording.attempts.len(), 2);
    }

    #[test]
    fn attempts_that_do_not_start_at_one_mark_a_later_run_at_the_lowest_dial() {
        let text = [
            r#"{"seq":0,"t_us":0,"kind":"agents","logged_in":3}"#.to_string(),
            dial(1, 42),
            dial(2, 41),
        ]
        .join("\n");
        let recording = Recording::parse("second.jsonl", &text).expect("a trace");
        assert_eq!(
            recording.later_run,
            Some(LaterRun {
                file: "second.jsonl".into(),
                line: 3,
                evidence: "its first attempt is 41, not 1".into(),
            })
        );
        let message = ReplayError::LaterRun(recording.later_run.unwrap()).to_string();
        assert!(
            message.starts_with("second.jsonl:3: its first attempt is 41, not 1: ")
                && message.contains("later run of a stored campaign")
                && message.contains("dialer backtest"),
            "{message}"
        );
    }

    #[test]
    fn a_recovered_call_marks_a_later_run_even_when_nothing_was_dialed() {
        let text = [
            r#"{"seq":0,"t_us":0,"kind":"agents","logged_in":3}"#,
            r#"{"seq":1,"t_us":5,"kind":"recovered_call","attempt":7,"state":"terminated"}"#,
            r#"{"seq":2,"t_us":9,"kind":"recovered_call","attempt":8,"state":"terminated"}"#,
        ]
        .join("\n");
        let recording = Recording::parse("recovered.jsonl", &text).expect("a trace");
        let later_run = recording.later_run.expect("a later run");
        assert_eq!(later_run.line, 2);
        assert_eq!(
            later_run.evidence,
            "a callback of attempt 7, recovered from an earlier run"
        );
    }

    #[test]
    fn a_later_run_that_says_where_it_started_is_read_with_its_recovered_callbacks() {
        let text = [
            r#"{"seq":0,"t_us":0,"kind":"run_start","epoch":"2026-12-06T14:00:00Z","first_attempt":41,"stored":true,"leads":1,"prior_answers":0,"recovered":1}"#.to_string(),
            r#"{"seq":1,"t_us":0,"kind":"run_lead","lead":0,"number":"+15550100","zone":null,"priority":0,"added":0,"status":"dialing","attempts":1,"attempts_today":1,"day":20428,"last_outcome":null,"do_not_call":false}"#.to_string(),
            r#"{"seq":2,"t_us":0,"kind":"run_recovered","attempt":40,"lead":0,"callee":"+15550100","switch_call":"c-40"}"#.to_string(),
            r#"{"seq":3,"t_us":5,"kind":"recovered_call","attempt":40,"state":"terminated","reason":"Temporarily Unavailable","reason_code":480}"#.to_string(),
            dial(4, 41),
        ]
        .join("\n");
        let recording = Recording::parse("later.jsonl", &text).expect("a trace");
        assert_eq!(recording.later_run, None);
        let start = recording.run_start.as_ref().expect("its start");
        assert_eq!(start.first_attempt, AttemptId(41));
        let stored = start.stored.as_ref().expect("a stored campaign's");
        assert_eq!((stored.leads.len(), stored.recovered.len()), (1, 1));
        assert_eq!(
            recording.notices,
            vec![(
                5,
                SwitchNotice::RecoveredCallState {
                    attempt: AttemptId(40),
                    state: crate::switch::CallStatus::Terminated,
                    reason: Some("Temporarily Unavailable".into()),
                    reason_code: Some(480),
                }
            )]
        );
    }

    /// The replayed trace's dials: (time in µs, callee).
    fn dials_in(trace: &[u8]) -> Vec<(u64, String)> {
        String::from_utf8_lossy(trace)
            .lines()
            .filter_map(|line| {
                let record: Value = serde_json::from_str(line).ok()?;
                (record["kind"] == "dial").then(|| {
                    (
                        record["t_us"].as_u64().unwrap_or(0),
                        record["callee"].as_str().unwrap_or("").to_string(),
                    )
                })
            })
            .collect()
    }

    #[test]
    fn calling_hours_are_reckoned_from_the_recorded_run_s_epoch() {
        // The campaign file's rules start at noon, in the window; the recorded run started at
        // 22:00 UTC, after it closed, and dialed nobody: the replay waits for 08:00 too.
        const CAMPAIGN: &str = r#"
            [scenario]
            name = "hours"
            start = "2026-03-09T12:00:00Z"
            [agents]
            count = 2
            [callees]
            patience = "10s"
            talk = "60s"
            answer = { probability = 1.0, after = "5s" }
            [leads]
            count = 3
            [calling_hours]
            open = "08:00"
            close = "21:00"
            time_zone = "UTC"
            [pacing]
            strategy = "progressive"
        "#;
        let setup = || {
            crate::scenario::Scenario::from_toml("hours.toml", CAMPAIGN, &[])
                .expect("a valid campaign")
                .campaign_setup(1)
        };
        let recorded = r#"{"seq":0,"t_us":0,"kind":"run_start","epoch":"2026-03-09T22:00:00Z","first_attempt":1,"stored":false,"leads":0,"prior_answers":0,"recovered":0}
{"seq":1,"t_us":0,"kind":"agents","logged_in":2}"#;
        let recording = Recording::parse("night.jsonl", recorded).expect("a trace");
        let (report, replayed) = replay(&recording, setup()).expect("a replay");
        assert_eq!(
            report.started_from,
            Some(StartedFrom {
                epoch: "2026-03-09T22:00:00Z".into(),
                first_attempt: 1,
                stored_leads: 0,
                prior_answers: 0,
                recovered: 0,
                orders: 0,
            })
        );
        assert_eq!(
            dials_in(&replayed).first().map(|dial| dial.0),
            Some(10 * 3_600_000_000)
        );
        // Without its start record, the replay reckons from the campaign file's start.
        let without = Recording::parse("night.jsonl", recorded.lines().nth(1).unwrap()).unwrap();
        let (report, replayed) = replay(&without, setup()).expect("a replay");
        assert_eq!(report.started_from, None);
        assert_eq!(dials_in(&replayed).first().map(|dial| dial.0), Some(0));
    }

    /// Replays `records` (trace lines) through the campaign `setup`.
    fn replay_records(setup: CampaignSetup, records: &[String]) -> (ReplayReport, Vec<u8>) {
        let recording = Recording::parse("test.jsonl", &records.join("\n")).expect("a trace");
        replay(&recording, setup).expect("a replay")
    }

    /// The switch's reply naming attempt 1's call (`c1`, tag `t1`, tracking id `k1`).
    fn accepted(seq: u64, t_us: u64) -> String {
        format!(
            r#"{{"seq":{seq},"t_us":{t_us},"kind":"switch","attempt":1,"event":{{"kind":"accepted","call":{{"id":"c1","tag":"t1"}},"tracking_id":"k1"}}}}"#
        )
    }

    /// A state notification for attempt 1's call; `reason` is JSON (`null` or a string).
    fn state(seq: u64, t_us: u64, state: &str, reason: &str) -> String {
        format!(
            r#"{{"seq":{seq},"t_us":{t_us},"kind":"switch","attempt":1,"event":{{"kind":"state","call":{{"id":"c1","tag":"t1"}},"tracking_id":"k1","state":"{state}","reason":{reason},"reason_code":null,"update_time":{t_us}}}}}"#
        )
    }

    /// A campaign with one agent and two leads, paced progressively.
    fn one_agent_two_leads() -> CampaignSetup {
        one_agent_two_leads_with("0s", "")
    }

    /// The same, the agent wrapping up for `wrap_up` after each call, with `more` sections.
    fn one_agent_two_leads_with(wrap_up: &str, more: &str) -> CampaignSetup {
        let campaign = format!(
            r#"
            [scenario]
            name = "one-agent"
            [agents]
            count = 1
            wrap_up = "{wrap_up}"
            [callees]
            patience = "10s"
            talk = "60s"
            answer = {{ probability = 1.0, after = "5s" }}
            [leads]
            count = 2
            [pacing]
            strategy = "progressive"
            {more}
        "#
        );
        crate::scenario::Scenario::from_toml("one-agent.toml", &campaign, &[])
            .expect("a valid campaign")
            .campaign_setup(1)
    }

    #[test]
    fn a_recorded_call_keeps_its_recorded_times_and_stays_up_as_long_as_it_was_recorded_up() {
        let setup = one_agent_two_leads;
        let run = |records: &[String]| replay_records(setup(), records);
        let agents = r#"{"seq":0,"t_us":0,"kind":"agents","logged_in":1}"#.to_string();
        let started =
            r#"{"seq":1,"t_us":0,"kind":"pacing_strategy","strategy":{"strategy":"progressive"}}"#
                .to_string();
        let (_, first) = run(&[agents.clone(), started.clone()]);
        let (_, callee) = dials_in(&first).first().cloned().expect("a dial");
        // The live engine dialed 300 µs after its trigger (the replay dials at once); the
        // callee answered and was put through to the one agent at once, and the call was still
        // up when an admin stopped the run at 10 s.
        let mut records = vec![
            agents,
            started,
            format!(
                r#"{{"seq":2,"t_us":300,"kind":"dial","attempt":1,"lead":0,"callee":"{callee}"}}"#
            ),
            accepted(3, 800),
            state(4, 900, "trying", "null"),
            state(5, 1_000_300, "ringing", "null"),
            state(6, 3_000_300, "connected", "null"),
            state(7, 3_000_300, "queued", "null"),
            state(8, 3_000_300, "dequeued", "null"),
            state(9, 3_500_300, "connected", "null"),
        ];
        let stop = r#"{"seq":10,"t_us":10000000,"kind":"control","action":"report_now"}"#;
        let (report, replayed) = run(&[records.clone(), vec![stop.to_string()]].concat());
        // The call holds the agent to the end: nothing else is dialed.
        assert_eq!(dials_in(&replayed), vec![(0, callee.clone())]);
        assert_eq!(report.unrecorded_attempts, 0, "{report:?}");
        assert!(report.finished, "{report:?}");

        // Ended by the callee at 4.2 s: the outcome comes at the recorded time, not 300 µs
        // early as it would at the recorded offsets from the replay's own dial.
        records.push(state(10, 4_200_300, "terminated", r#""BYE Received""#));
        records.push(
            r#"{"seq":11,"t_us":4200310,"kind":"outcome","attempt":1,"outcome":"completed"}"#
                .to_string(),
        );
        let (report, replayed) = run(&records);
        assert_eq!(report.same_outcome, 1, "{report:?}");
        let outcome_at = String::from_utf8_lossy(&replayed)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|record| record["kind"] == "outcome" && record["attempt"] == 1)
            .and_then(|record| record["t_us"].as_u64());
        assert_eq!(outcome_at, Some(4_200_300));
    }

    #[test]
    fn engine_timers_fire_when_the_recorded_run_s_fired_and_callbacks_in_between_come_first() {
        let setup = || one_agent_two_leads_with("5s", "");
        let run = |records: &[String]| replay_records(setup(), records);
        let agents = |seq: u64, t_us: u64, count: u32| {
            format!(r#"{{"seq":{seq},"t_us":{t_us},"kind":"agents","logged_in":{count}}}"#)
        };
        let started =
            r#"{"seq":1,"t_us":0,"kind":"pacing_strategy","strategy":{"strategy":"progressive"}}"#
                .to_string();
        let (_, first) = run(&[agents(0, 0, 1), started.clone()]);
        let (_, callee) = dials_in(&first).first().cloned().expect("a dial");
        // The first call talks to the one agent and ends at 4.2 s; the agent then wraps up
        // (the campaign's assumed wrap-up) before the second lead is dialed.
        let call = vec![
            agents(0, 0, 1),
            started,
            format!(
                r#"{{"seq":2,"t_us":0,"kind":"dial","attempt":1,"lead":0,"callee":"{callee}"}}"#
            ),
            accepted(3, 10),
            state(4, 1_000_000, "connected", "null"),
            state(5, 1_000_000, "queued", "null"),
            state(6, 1_000_000, "dequeued", "null"),
            state(7, 1_500_000, "connected", "null"),
            state(8, 4_200_000, "terminated", r#""BYE Received""#),
            r#"{"seq":9,"t_us":4200000,"kind":"outcome","attempt":1,"outcome":"completed"}"#
                .to_string(),
        ];
        let (_, replayed) = run(&call);
        let dials = dials_in(&replayed);
        assert_eq!(dials.len(), 2, "{dials:?}");
        let due = dials[1].0;
        assert!(
            due > 4_200_000,
            "the second dial waits for the wrap-up: {dials:?}"
        );

        // The recorded run's wrap-up timer fired 700 µs late: so does the replay's, and the
        // second dial comes then.
        let fired = due + 700;
        let timer = format!(
            r#"{{"seq":10,"t_us":{fired},"kind":"timer","timer":"wrap_up_ends","due_us":{due}}}"#
        );
        let (_, replayed) = run(&[call.clone(), vec![timer.clone()]].concat());
        assert_eq!(dials_in(&replayed)[1].0, fired);
        // A timer of another name, or due too far from this one's time, changes nothing.
        for other in [
            timer.replace("wrap_up_ends", "redial_due"),
            timer.replace(&format!(":{due}}}"), &format!(":{}}}", due - 60_000)),
        ] {
            let (_, replayed) = run(&[call.clone(), vec![other.clone()]].concat());
            assert_eq!(dials_in(&replayed)[1].0, due, "{other}");
        }

        // The agent logged out 300 µs after the wrap-up was due, before the late timer fired:
        // the recorded run saw no agent left and dialed nobody, and so does the replay. Without
        // the timer's record the replay dials at the due time, a dial the recording lacks.
        let logout = agents(10, due + 300, 0);
        let timer = timer.replace(r#""seq":10"#, r#""seq":11"#);
        let (report, replayed) = run(&[call.clone(), vec![logout.clone(), timer]].concat());
        assert_eq!(dials_in(&replayed).len(), 1, "{report:?}");
        assert_eq!(report.unrecorded_attempts, 0, "{report:?}");
        let (report, _) = run(&[call, vec![logout]].concat());
        assert_eq!(report.unrecorded_attempts, 1, "{report:?}");
    }

    #[test]
    fn the_active_call_list_is_answered_when_the_recorded_run_s_answer_came() {
        // The campaign asks for the whole list every 2 s.
        let setup = || one_agent_two_leads_with("0s", "[reconcile]\ninterval = \"2s\"");
        let lists_at = |answered_at: u64| {
            let records = [
                r#"{"seq":0,"t_us":0,"kind":"agents","logged_in":1}"#.to_string(),
                r#"{"seq":1,"t_us":0,"kind":"pacing_strategy","strategy":{"strategy":"progressive"}}"#.to_string(),
                // The first call rings on past the end of the recording.
                dial(2, 1),
                accepted(3, 10),
                format!(
                    r#"{{"seq":4,"t_us":{answered_at},"kind":"active_calls","complete":true,"rebuild":false,"unmatched":0,"calls":[{{"attempt":1,"state":"ringing"}}]}}"#
                ),
                r#"{"seq":5,"t_us":2500000,"kind":"control","action":"report_now"}"#.to_string(),
            ];
            let (_, replayed) = replay_records(setup(), &records);
            String::from_utf8_lossy(&replayed)
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|record| record["kind"] == "active_calls")
                .filter_map(|record| record["t_us"].as_u64())
                .collect::<Vec<_>>()
        };
        // The recorded answer came 400 µs after the request at 2 s: so does the replay's.
        assert_eq!(lists_at(2_000_400), vec![2_000_400]);
        // An answer recorded more than 2 s after the request answers another one: given at
        // once.
        assert_eq!(lists_at(4_100_000).first(), Some(&2_000_000));
    }

    #[test]
    fn a_recorded_firing_is_matched_by_the_nearest_due_time_within_the_window() {
        let firings = [(1_000, 1_400), (30_000, 30_900), (200_000, 200_050)];
        assert_eq!(recorded_firing(&firings, 1_000), Some(1_400));
        assert_eq!(recorded_firing(&firings, 1_200), Some(1_400));
        assert_eq!(recorded_firing(&firings, 20_000), Some(30_900));
        assert_eq!(recorded_firing(&firings, 120_000), None);
        assert_eq!(recorded_firing(&firings, 260_000), None);
        assert_eq!(recorded_firing(&[], 5), None);
    }

    #[test]
    fn an_admin_s_orders_reach_the_replayed_campaign_when_they_reached_the_recorded_one() {
        let setup = one_agent_two_leads;
        let replayed = |records: &[&str]| {
            let recording = Recording::parse("orders.jsonl", &records.join("\n")).expect("a trace");
            dials_in(&replay(&recording, setup()).expect("a replay").1)
        };
        let agents = r#"{"seq":0,"t_us":0,"kind":"agents","logged_in":1}"#;
        let started =
            r#"{"seq":2,"t_us":0,"kind":"pacing_strategy","strategy":{"strategy":"progressive"}}"#;
        let unpaused = replayed(&[agents, started]);
        let (first_at, first_callee) = unpaused.first().cloned().expect("a dial");
        assert_eq!(first_at, 0);

        // Paused before the engine's first turn (recorded before pacing started), resumed at
        // 7 s: nothing is dialed before 7 s.
        let pause = r#"{"seq":1,"t_us":12,"kind":"control","action":"pause"}"#;
        let resume = r#"{"seq":3,"t_us":7000000,"kind":"control","action":"resume"}"#;
        let paused = replayed(&[agents, pause, started, resume]);
        assert_eq!(paused.first().map(|dial| dial.0), Some(7_000_000));

        // The first lead's number put on the do-not-call list at the start: never dialed.
        let dnc = format!(
            r#"{{"seq":1,"t_us":5,"kind":"dnc_edit","added":true,"number":"{first_callee}"}}"#
        );
        let without_first = replayed(&[agents, &dnc, started]);
        assert!(!without_first.is_empty());
        assert!(
            without_first
                .iter()
                .all(|(_, callee)| *callee != first_callee),
            "{without_first:?}"
        );

        // A strategy set while running is read back with its settings.
        let set = r#"{"seq":3,"t_us":9,"kind":"control","action":"set_pacing","strategy":{"strategy":"power","ratio":2.5}}"#;
        let recording =
            Recording::parse("orders.jsonl", &[agents, started, set].join("\n")).unwrap();
        assert_eq!(
            recording.orders,
            vec![(
                9,
                Order::Control(CampaignControl::SetPacing(crate::pacing::Strategy::Power {
                    ratio: 2.5
                }))
            )]
        );
        let unknown = r#"{"seq":3,"t_us":9,"kind":"control","action":"dance"}"#;
        assert_eq!(
            Recording::parse("orders.jsonl", &[agents, unknown].join("\n"))
                .unwrap_err()
                .to_string(),
            "orders.jsonl:2: not a trace record: control with action \"dance\""
        );
    }

    #[test]
    fn start_records_that_do_not_add_up_are_refused_at_the_run_start_line() {
        let text = [
            r#"{"seq":0,"t_us":0,"kind":"agents","logged_in":3}"#,
            r#"{"seq":1,"t_us":0,"kind":"run_start","epoch":"2026-12-06T14:00:00Z","first_attempt":1,"stored":true,"leads":2,"prior_answers":0,"recovered":0}"#,
            r#"{"seq":2,"t_us":0,"kind":"run_lead","lead":0,"number":"+15550100","zone":null,"priority":0,"added":0,"status":"fresh","attempts":0,"attempts_today":0,"day":0,"last_outcome":null,"do_not_call":false}"#,
        ]
        .join("\n");
        let error = Recording::parse("cut.jsonl", &text).expect_err("cut short");
        assert_eq!(
            error.to_string(),
            "cut.jsonl:2: not a trace record: run_start announces 2 run_lead records, the trace \
             holds 1 (a trace cut short?)"
        );
    }
}
