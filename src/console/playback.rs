//! Trace playback: a recorded trace (`dialer simulate --trace FILE`, or `dialer run --record`)
//! shown in the console as if the campaign were running, at a chosen speed.
//!
//! [`Playback::parse`] reads the JSON lines into compact steps. [`PlaybackBoard`] is a pure
//! model of what the console shows: each attempt's state comes from the engine's own
//! [`CallMachine`] fed the recorded switch events (so states mean exactly what they mean live),
//! the recorded outcome closes the attempt, and agents, the queue guard and wrap-ups come from
//! their records. [`run`] moves a board along the trace in real time times the speed, on its
//! own thread, publishing call changes to a [`CampaignFeed`] and a status every second.
//!
//! Playback only shows a trace; it never runs the engine's decisions again (that is
//! `dialer replay`).

use crate::call::machine::{CallMachine, CallSettings, Effects, Input};
use crate::campaign::feed::{
    AgentsView, CallChange, CallsByState, CampaignFeed, CampaignStatus, GuardView,
};
use crate::campaign::hopper::LeadTally;
use crate::campaign::supervisor::{LiveCallView, ReconcileTally};
use crate::domain::{AppState, AttemptId, LeadId, Outcome, PhoneNumber};
use crate::report::OutcomeCounts;
use crate::switch::SwitchEvent;
use crate::time::{SimDuration, SimTime};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The fastest and slowest playback.
pub const SPEED_RANGE: (f64, f64) = (0.1, 10_000.0);

/// One thing a trace recorded that playback shows.
#[derive(Debug, Clone)]
enum Step {
    Dial {
        attempt: u64,
        lead: u64,
        callee: PhoneNumber,
    },
    Switch {
        attempt: u64,
        event: SwitchEvent,
    },
    Outcome {
        attempt: u64,
        outcome: Outcome,
    },
    Agents(u32),
    GuardPaused(u32),
    GuardResumed,
    WrapUp(u32),
}

/// A parsed trace.
#[derive(Debug, Clone, Default)]
pub struct Playback {
    steps: Vec<(u64, Step)>,
}

/// Why a trace could not be played.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlaybackError {
    #[error("line {line}: not a trace record: {message}")]
    Record { line: usize, message: String },
    #[error("the trace has no dials")]
    Empty,
}

impl Playback {
    /// Reads a JSON-lines trace; kinds playback does not show are skipped.
    pub fn parse(text: &str) -> Result<Playback, PlaybackError> {
        let mut steps = Vec::new();
        let mut dials = 0;
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let fail = |message: String| PlaybackError::Record {
                line: index + 1,
                message,
            };
            let record: Value = serde_json::from_str(line).map_err(|e| fail(e.to_string()))?;
            let t_us = record["t_us"]
                .as_u64()
                .ok_or_else(|| fail("no t_us".into()))?;
            let attempt = || {
                record["attempt"]
                    .as_u64()
                    .ok_or_else(|| fail("no attempt".into()))
            };
            let step = match record["kind"].as_str().unwrap_or("") {
                "dial" => {
                    dials += 1;
                    Step::Dial {
                        attempt: attempt()?,
                        lead: record["lead"].as_u64().unwrap_or(0),
                        callee: PhoneNumber(record["callee"].as_str().unwrap_or("").into()),
                    }
                }
                "switch" => Step::Switch {
                    attempt: attempt()?,
                    event: serde_json::from_value(record["event"].clone())
                        .map_err(|e| fail(format!("bad switch event: {e}")))?,
                },
                "outcome" => {
                    let name = record["outcome"].as_str().unwrap_or("");
                    let outcome = Outcome::ALL
                        .into_iter()
                        .find(|o| o.as_str() == name)
                        .ok_or_else(|| fail(format!("unknown outcome {name:?}")))?;
                    Step::Outcome {
                        attempt: attempt()?,
                        outcome,
                    }
                }
                "agents" => Step::Agents(record["logged_in"].as_u64().unwrap_or(0) as u32),
                "queue_guard" => {
                    let transition = &record["transition"];
                    match transition.get("paused") {
                        Some(paused) => {
                            Step::GuardPaused(paused["queued"].as_u64().unwrap_or(0) as u32)
                        }
                        None => Step::GuardResumed,
                    }
                }
                "pacing" => Step::WrapUp(
                    record["snapshot"]["agents_in_wrap_up"]
                        .as_u64()
                        .unwrap_or(0) as u32,
                ),
                _ => continue,
            };
            steps.push((t_us, step));
        }
        if dials == 0 {
            return Err(PlaybackError::Empty);
        }
        // Records are written in order; keep that order for equal times.
        steps.sort_by_key(|(t_us, _)| *t_us);
        Ok(Playback { steps })
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Engine time of the last record (µs).
    pub fn last_t_us(&self) -> u64 {
        self.steps.last().map_or(0, |(t, _)| *t)
    }
}

struct Shown {
    lead: LeadId,
    callee: PhoneNumber,
    machine: CallMachine,
    state: AppState,
    since: SimTime,
}

/// What the console shows of a trace at one instant. Pure.
pub struct PlaybackBoard {
    calls: BTreeMap<u64, Shown>,
    counts: CallsByState,
    outcomes: [u64; Outcome::ALL.len()],
    attempts: u64,
    answered: u64,
    connected: u64,
    agents: u32,
    wrap_up: u32,
    guard: GuardView,
    pauses: u64,
    paused_total: SimDuration,
    max_queued: u32,
    seq: u64,
    now: SimTime,
    next_step: usize,
    finished: bool,
    /// The playback's clock has stopped for an admin's pause (set by [`run`]).
    pause_held: bool,
    effects: Effects,
}

impl Default for PlaybackBoard {
    fn default() -> Self {
        PlaybackBoard::new()
    }
}

fn count_slot(counts: &mut CallsByState, state: AppState) -> Option<&mut u32> {
    Some(match state {
        AppState::Dialing => &mut counts.dialing,
        AppState::Ringing => &mut counts.ringing,
        AppState::Answered => &mut counts.answered,
        AppState::Queued => &mut counts.queued,
        AppState::Offered => &mut counts.offered,
        AppState::Talking => &mut counts.talking,
        AppState::Held => &mut counts.held,
        AppState::Transferred => &mut counts.transferred,
        AppState::Suspect => &mut counts.suspect,
        AppState::Ended(_) => return None,
    })
}

impl PlaybackBoard {
    pub fn new() -> PlaybackBoard {
        PlaybackBoard {
            calls: BTreeMap::new(),
            counts: CallsByState::default(),
            outcomes: [0; Outcome::ALL.len()],
            attempts: 0,
            answered: 0,
            connected: 0,
            agents: 0,
            wrap_up: 0,
            guard: GuardView::default(),
            pauses: 0,
            paused_total: SimDuration::ZERO,
            max_queued: 0,
            seq: 0,
            now: SimTime::ZERO,
            next_step: 0,
            finished: false,
            pause_held: false,
            effects: Effects::new(),
        }
    }

    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Applies every step of `playback` up to engine time `until`; returns the call changes.
    pub fn advance_to(&mut self, playback: &Playback, until: SimTime) -> Vec<CallChange> {
        let mut changes = Vec::new();
        while let Some((t_us, step)) = playback.steps.get(self.next_step) {
            if *t_us > until.as_micros() {
                break;
            }
            self.now = SimTime(*t_us);
            self.apply(step, &mut changes);
            self.next_step += 1;
        }
        if until > self.now {
            self.now = until.min(SimTime(playback.last_t_us()).max(self.now));
        }
        if self.next_step >= playback.steps.len() {
            self.finished = true;
        }
        changes
    }

    fn set_state(&mut self, attempt: u64, to: AppState, changes: &mut Vec<CallChange>) {
        let now = self.now;
        let Some(call) = self.calls.get_mut(&attempt) else {
            return;
        };
        let from = call.state;
        if from == to {
            return;
        }
        if let Some(slot) = count_slot(&mut self.counts, from) {
            *slot = slot.saturating_sub(1);
        }
        if let Some(slot) = count_slot(&mut self.counts, to) {
            *slot += 1;
        }
        call.state = to;
        call.since = now;
        self.seq += 1;
        changes.push(CallChange {
            seq: self.seq,
            attempt: AttemptId(attempt),
            lead: call.lead,
            callee: call.callee.clone(),
            from: Some(from),
            to,
            at: now,
        });
    }

    fn apply(&mut self, step: &Step, changes: &mut Vec<CallChange>) {
        let now = self.now;
        match step {
            Step::Dial {
                attempt,
                lead,
                callee,
            } => {
                let mut machine = CallMachine::new(
                    AttemptId(*attempt),
                    LeadId(*lead),
                    callee.clone(),
                    CallSettings::default(),
                );
                self.effects.clear();
                machine.handle(Input::Start, now, &mut self.effects);
                self.attempts += 1;
                self.counts.dialing += 1;
                self.seq += 1;
                changes.push(CallChange {
                    seq: self.seq,
                    attempt: AttemptId(*attempt),
                    lead: LeadId(*lead),
                    callee: callee.clone(),
                    from: None,
                    to: AppState::Dialing,
                    at: now,
                });
                self.calls.insert(
                    *attempt,
                    Shown {
                        lead: LeadId(*lead),
                        callee: callee.clone(),
                        machine,
                        state: AppState::Dialing,
                        since: now,
                    },
                );
            }
            Step::Switch { attempt, event } => {
                let Some(call) = self.calls.get_mut(attempt) else {
                    return;
                };
                self.effects.clear();
                call.machine
                    .handle(Input::Event(event), now, &mut self.effects);
                let state = call.machine.state();
                // The outcome record closes the attempt, with the engine's final word.
                if !state.is_ended() {
                    self.set_state(*attempt, state, changes);
                }
            }
            Step::Outcome { attempt, outcome } => {
                self.set_state(*attempt, AppState::Ended(*outcome), changes);
                if self.calls.remove(attempt).is_some() {
                    self.outcomes[outcome.index()] += 1;
                    if outcome.was_answered_by_person() {
                        self.answered += 1;
                    }
                    if outcome.reached_agent() {
                        self.connected += 1;
                    }
                }
            }
            Step::Agents(count) => self.agents = *count,
            Step::WrapUp(count) => self.wrap_up = *count,
            Step::GuardPaused(queued) => {
                if !self.guard.paused {
                    self.pauses += 1;
                }
                self.guard = GuardView {
                    paused: true,
                    since_us: Some(now.as_micros()),
                    queued_at_pause: Some(*queued),
                };
            }
            Step::GuardResumed => {
                if let Some(since) = self.guard.since_us {
                    self.paused_total += now - SimTime(since);
                }
                self.guard = GuardView::default();
            }
        }
        self.max_queued = self
            .max_queued
            .max(self.counts.queued + self.counts.suspect);
    }

    /// The calls shown now, in attempt order.
    pub fn calls(&self) -> Vec<LiveCallView> {
        self.calls
            .iter()
            .map(|(attempt, call)| LiveCallView {
                attempt: AttemptId(*attempt),
                lead: call.lead,
                callee: call.callee.clone(),
                state: call.state,
                since: call.since,
            })
            .collect()
    }

    pub fn status(&self) -> CampaignStatus {
        let c = self.counts;
        let on_calls = c.offered + c.talking + c.held;
        let agents = AgentsView {
            logged_in: self.agents,
            on_calls,
            wrap_up: self.wrap_up,
            idle: self
                .agents
                .saturating_sub(on_calls)
                .saturating_sub(self.wrap_up),
        };
        let in_flight = c.dialing + c.ringing;
        let (abandon_rate, dial_level, occupancy) =
            crate::campaign::feed::rates(self.answered, self.connected, agents, in_flight);
        let paused_now = self
            .guard
            .since_us
            .map_or(SimDuration::ZERO, |since| self.now - SimTime(since));
        let done = self.outcomes.iter().sum::<u64>();
        CampaignStatus {
            now_us: self.now.as_micros(),
            seq: self.seq,
            finished: self.finished,
            dialing_closed: self.finished,
            admin_paused: self.pause_held,
            switch_login_refused: false,
            queue_guard: self.guard,
            calls: c,
            agents,
            dials_in_flight: in_flight,
            queued: c.queued + c.suspect,
            attempts: self.attempts,
            answered: self.answered,
            connected: self.connected,
            abandoned: self.answered.saturating_sub(self.connected),
            abandon_rate,
            dial_level,
            occupancy,
            outcomes: OutcomeCounts::from_array(&self.outcomes),
            anomalies: 0,
            pauses: self.pauses,
            paused_seconds: (self.paused_total + paused_now).as_secs_f64(),
            max_queued: self.max_queued,
            leads: LeadTally {
                dialed: self.attempts,
                dialing: self.calls.len() as u64,
                awaiting_redial: 0,
                done,
                never_dialed: None,
                ..LeadTally::default()
            },
            dialable_leads: 0,
            dials_unfilled: 0,
            reconcile: ReconcileTally::default(),
        }
    }
}

/// Shared controls of a running playback.
pub struct PlaybackControl {
    speed_bits: AtomicU64,
    paused: AtomicBool,
    stop: AtomicBool,
    pub board: Mutex<PlaybackBoard>,
}

impl PlaybackControl {
    pub fn new(speed: f64) -> PlaybackControl {
        PlaybackControl {
            speed_bits: AtomicU64::new(clamp_speed(speed).to_bits()),
            paused: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            board: Mutex::new(PlaybackBoard::new()),
        }
    }

    pub fn speed(&self) -> f64 {
        f64::from_bits(self.speed_bits.load(Ordering::Relaxed))
    }

    pub fn set_speed(&self, speed: f64) {
        self.speed_bits
            .store(clamp_speed(speed).to_bits(), Ordering::Relaxed);
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Keeps a speed within [`SPEED_RANGE`] (and a non-number at 1).
pub fn clamp_speed(speed: f64) -> f64 {
    if speed.is_finite() {
        speed.clamp(SPEED_RANGE.0, SPEED_RANGE.1)
    } else {
        1.0
    }
}

/// Plays `playback` to its end (or until stopped) on the calling thread: every `step` of real
/// time, engine time moves on by `step × speed` unless paused. Changes go to `feed`;
/// `on_status` hears the status about every `sample_every` of real time, at the end, and at the
/// first step after a pause or resume takes hold. Its `admin_paused` says whether the clock has
/// stopped: set once the playback has taken its last step before the pause, as a live campaign's
/// status says it once the engine holds the pause.
pub fn run(
    playback: &Playback,
    control: &Arc<PlaybackControl>,
    feed: &CampaignFeed,
    sample_every: Duration,
    mut on_status: impl FnMut(CampaignStatus),
) {
    let step = Duration::from_millis(50);
    let mut engine_now = SimTime(playback.steps.first().map_or(0, |(t, _)| *t));
    let mut since_sample = sample_every;
    // Whether the clock has stopped for a pause: the status's `admin_paused`.
    let mut pause_held = false;
    loop {
        if control.stop.load(Ordering::Relaxed) {
            break;
        }
        let (changes, status, finished) = {
            let Ok(mut board) = control.board.lock() else {
                return;
            };
            let changes = board.advance_to(playback, engine_now);
            board.pause_held = pause_held;
            let finished = board.is_finished();
            let due = since_sample >= sample_every || finished;
            (changes, due.then(|| board.status()), finished)
        };
        for change in changes {
            feed.publish(change);
        }
        if let Some(status) = status {
            since_sample = Duration::ZERO;
            on_status(status);
        }
        if finished {
            break;
        }
        std::thread::sleep(step);
        since_sample += step;
        let paused = control.is_paused();
        if paused != pause_held {
            pause_held = paused;
            // Heard at the next step, not at the next sample.
            since_sample = sample_every;
        }
        if !paused {
            engine_now += SimDuration::from_std(step.mul_f64(control.speed()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = r#"{"seq":0,"t_us":0,"at":"00:00:00.000","kind":"agents","logged_in":2}
{"seq":1,"t_us":0,"at":"00:00:00.000","kind":"dial","attempt":1,"lead":0,"callee":"+15550000000"}
{"seq":2,"t_us":0,"at":"00:00:00.000","kind":"switch","attempt":1,"event":{"kind":"accepted","call":{"id":"sim-1","tag":"t1"},"tracking_id":"trk-1"}}
{"seq":3,"t_us":1000000,"at":"00:00:01.000","kind":"switch","attempt":1,"event":{"kind":"state","call":{"id":"sim-1","tag":"t1"},"tracking_id":"trk-1","state":"ringing","reason":null,"reason_code":null,"update_time":1000000}}
{"seq":4,"t_us":3000000,"at":"00:00:03.000","kind":"switch","attempt":1,"event":{"kind":"state","call":{"id":"sim-1","tag":"t1"},"tracking_id":"trk-1","state":"connected","reason":null,"reason_code":null,"update_time":3000000}}
{"seq":5,"t_us":3500000,"at":"00:00:03.500","kind":"queue_guard","transition":{"paused":{"queued":1}}}
{"seq":6,"t_us":4000000,"at":"00:00:04.000","kind":"switch","attempt":1,"event":{"kind":"state","call":{"id":"sim-1","tag":"t1"},"tracking_id":"trk-1","state":"queued","reason":null,"reason_code":null,"update_time":4000000}}
{"seq":7,"t_us":9000000,"at":"00:00:09.000","kind":"switch","attempt":1,"event":{"kind":"state","call":{"id":"sim-1","tag":"t1"},"tracking_id":"trk-1","state":"terminated","reason":"caller hung up","reason_code":null,"update_time":9000000}}
{"seq":8,"t_us":9000000,"at":"00:00:09.000","kind":"outcome","attempt":1,"outcome":"abandoned_in_queue"}
{"seq":9,"t_us":9000000,"at":"00:00:09.000","kind":"queue_guard","transition":{"resumed":{"queued":0}}}
"#;

    #[test]
    fn the_board_follows_the_calls_states_through_the_call_machine() {
        let playback = Playback::parse(TRACE).expect("valid trace");
        let mut board = PlaybackBoard::new();
        let changes = board.advance_to(&playback, SimTime::ZERO);
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].from, changes[0].to), (None, AppState::Dialing));
        let changes = board.advance_to(&playback, SimTime(3_600_000));
        let states: Vec<AppState> = changes.iter().map(|c| c.to).collect();
        assert_eq!(states, [AppState::Ringing, AppState::Answered]);
        let status = board.status();
        assert!(status.queue_guard.paused);
        assert_eq!(status.queue_guard.queued_at_pause, Some(1));
        assert_eq!(status.calls.answered, 1);
        assert_eq!(status.agents.logged_in, 2);
        assert_eq!(board.calls().len(), 1);

        let changes = board.advance_to(&playback, SimTime(60_000_000));
        let states: Vec<AppState> = changes.iter().map(|c| c.to).collect();
        // "terminated" while queued makes the call suspect (the release note's limitation),
        // exactly as live; the recorded outcome then closes it.
        assert_eq!(
            states,
            [
                AppState::Queued,
                AppState::Suspect,
                AppState::Ended(Outcome::AbandonedInQueue)
            ]
        );
        assert!(board.is_finished());
        let status = board.status();
        assert_eq!(
            (status.answered, status.connected, status.abandoned),
            (1, 0, 1)
        );
        assert_eq!(status.abandon_rate, 1.0);
        assert_eq!(status.calls.total(), 0);
        assert!(!status.queue_guard.paused);
        assert_eq!(status.pauses, 1);
        assert!((status.paused_seconds - 5.5).abs() < 1e-9);
        assert_eq!(status.seq, 6);
        assert_eq!(board.now(), SimTime(9_000_000));
    }

    #[test]
    fn bad_traces_are_refused_with_the_line() {
        assert_eq!(
            Playback::parse("{\"t_us\":0,\"kind\":\"agents\",\"logged_in\":1}\n").unwrap_err(),
            PlaybackError::Empty
        );
        let error =
            Playback::parse("{\"t_us\":0,\"kind\":\"dial\",\"attempt\":1}\nnope\n").unwrap_err();
        assert!(
            matches!(error, PlaybackError::Record { line: 2, .. }),
            "{error}"
        );
        let error =
            Playback::parse("{\"t_us\":0,\"kind\":\"outcome\",\"attempt\":1,\"outcome\":\"x\"}\n")
                .unwrap_err();
        assert!(error.to_string().contains("unknown outcome"), "{error}");
    }

    #[test]
    fn playback_runs_at_speed_and_stops() {
        let playback = Playback::parse(TRACE).expect("valid trace");
        let control = Arc::new(PlaybackControl::new(1_000.0));
        let feed = CampaignFeed::new();
        let mut subscription = feed.subscribe();
        let mut statuses = Vec::new();
        run(&playback, &control, &feed, Duration::from_secs(1), |s| {
            statuses.push(s)
        });
        let last = statuses.last().expect("a final status");
        assert!(last.finished);
        assert_eq!(last.attempts, 1);
        let mut received = 0;
        while subscription.receiver.try_recv().is_ok() {
            received += 1;
        }
        assert_eq!(received, 6);
        assert_eq!(clamp_speed(f64::NAN), 1.0);
        assert_eq!(clamp_speed(1e9), SPEED_RANGE.1);
    }

    #[test]
    fn a_pause_is_reported_at_the_next_step_once_the_clock_has_stopped() {
        let playback = Playback::parse(TRACE).expect("valid trace");
        let control = Arc::new(PlaybackControl::new(1.0));
        control.set_paused(true);
        let (statuses, heard) = std::sync::mpsc::channel();
        let player = {
            let control = control.clone();
            std::thread::spawn(move || {
                let feed = CampaignFeed::new();
                run(&playback, &control, &feed, Duration::from_secs(60), |s| {
                    let _ = statuses.send(s);
                });
            })
        };
        let next = || {
            heard
                .recv_timeout(Duration::from_secs(10))
                .expect("a status")
        };
        // The first status comes before the first step; the pause is heard at that step, long
        // before the next sample is due.
        let first = next();
        assert!(!first.admin_paused);
        let held = next();
        assert!(held.admin_paused, "{held:?}");
        assert_eq!(held.now_us, first.now_us, "the clock did not move");
        // The resume is heard at the next step too, and the playback then runs to its end.
        control.set_speed(SPEED_RANGE.1);
        control.set_paused(false);
        let resumed = next();
        assert!(!resumed.admin_paused, "{resumed:?}");
        let mut last = resumed;
        while !last.finished {
            last = next();
            assert!(!last.admin_paused);
        }
        assert_eq!(last.attempts, 1);
        player.join().expect("the playback ends");
    }
}
