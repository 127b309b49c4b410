//! The simulated switch as a pure model: callees, the call queue, the agents, and the truth.
//!
//! The model answers originate requests by drawing what the callee will do (from a seeded stream
//! per callee and dial), and then walks each call through the switch: ringing, answer, the
//! auto-attendant, the FIFO call queue with its maximum size and wait, agents who answer, miss or
//! decline, holds, transfers, talk and wrap-up. Each step is a [`SwitchItem`] on the calendar;
//! [`SimSwitchModel::handle`] takes one step and returns a [`Step`]: what to schedule, which
//! PortaSwitch notifications to deliver to which call, and notices for the campaign.
//!
//! The release note's limitation is modelled as documented: when an offered agent does not
//! answer or declines, the app is told "terminated" and nothing more, while the callee goes back
//! to the head of the queue and may still reach another agent or hang up. The model keeps the
//! truth of every call ([`Truth`]) next to what it told the engine.
//!
//! No actors, no clocks, no I/O: time arrives as an argument and randomness comes from the
//! per-call streams of [`super::rng`].

use super::rng::CallStream;
use super::rng::{self, Purpose};
use crate::domain::{AttemptId, CountingText, Outcome, PhoneNumber};
use crate::scenario::{CalleeMix, Scenario, TimelineAction, TimelineEvent};
use crate::short_text::ShortText;
use crate::stats::{AgentTime, Tally};
use crate::switch::reasons::sim_reasons;
use crate::switch::{CallRef, CallStatus, StateNotification, SwitchEvent, SwitchNotice};
use crate::time::{SimDuration, SimTime};
use rand::rngs::ChaCha8Rng;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// A call's slot in the model, with a generation so stale calendar steps are recognised after
/// the slot is reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallKey {
    pub slot: u32,
    pub generation: u32,
}

/// A step of the simulated world, due at a time on the calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchItem {
    Call(CallKey, CallStep),
    /// An agent finishes wrap-up (or a missed offer) and is free again.
    AgentFree {
        agent: u32,
        epoch: u32,
    },
    /// The scenario timeline's event with this index.
    Timeline(u32),
    /// An injected fault or drift takes effect (`[faults]`).
    Fault(WorldFault),
    /// A held-back callback is due (delivery faults; handled by the switch actor, not here).
    LateCallback(u32),
}

/// Faults and drift of the simulated world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorldFault {
    /// An agent logs out without the dialer being told.
    SuddenLogout,
    /// The answer probability takes a random step.
    AnswerDrift,
}

/// A wrong verdict of answering-machine detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AmdError {
    None,
    /// A machine passed for a person: it goes to the queue and an agent hears it.
    MachineAsPerson,
    /// A person taken for a machine: the switch hangs up on them.
    PersonAsMachine,
}

/// How long an agent listens to a machine before hanging up.
const AGENT_HANGS_UP_ON_MACHINE: SimDuration = SimDuration(8_000_000);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallStep {
    Ringing,
    /// The callee's side does what was drawn at dial time.
    Resolve,
    MachineHangsUp,
    EntersQueue,
    /// Patience runs out, or the queue's maximum wait.
    GivesUp,
    AgentAnswers {
        offer: u32,
    },
    AgentMisses {
        offer: u32,
        declined: bool,
    },
    HoldStarts,
    HoldEnds,
    TalkEnds,
    TransferEnds,
}

/// What the callee's side does with a dial, drawn at dial time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CalleeClass {
    Answer,
    NoAnswer,
    Busy,
    Declined,
    InvalidNumber,
    Failed,
    Machine,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Dialing,
    Ringing,
    /// Answered, on the way to the queue.
    Answered,
    Queued,
    Offered {
        agent: u32,
    },
    Talking {
        agent: u32,
    },
    Held {
        agent: u32,
    },
    Transferred,
}

struct SimCall {
    generation: u32,
    attempt: AttemptId,
    call: CallRef,
    tracking_id: ShortText,
    rng: CallStream,
    class: CalleeClass,
    phase: Phase,
    /// The engine still hears about this call.
    attached: bool,
    answered_at: Option<SimTime>,
    give_up_at: SimTime,
    give_up_is_timeout: bool,
    /// A `GivesUp` step is on the calendar (only once the caller actually waits).
    give_up_scheduled: bool,
    reached_agent: bool,
    offers: u32,
    talk_started: SimTime,
    talk_plan: TalkPlan,
    amd_error: AmdError,
}

impl SimCall {
    /// The switch's verdict on an answer: a machine (it hangs up) or a person (to the queue).
    fn detected_as_machine(&self) -> bool {
        match self.class {
            CalleeClass::Machine => self.amd_error != AmdError::MachineAsPerson,
            _ => self.amd_error == AmdError::PersonAsMachine,
        }
    }

    /// A machine that passed for a person: its end is never a person's.
    fn is_hidden_machine(&self) -> bool {
        self.amd_error == AmdError::MachineAsPerson
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct TalkPlan {
    talk: SimDuration,
    hold_at: Option<SimDuration>,
    hold_for: SimDuration,
    transfer_for: Option<SimDuration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AgentState {
    Idle,
    Ringing,
    Talking,
    WrapUp,
    Gone,
}

#[derive(Clone, Copy, Debug)]
struct SimAgent {
    state: AgentState,
    /// Logged out while busy: leaves when next free.
    leaving: bool,
    epoch: u32,
}

/// The simulator's ground truth.
#[derive(Clone, Debug, Default)]
pub struct Truth {
    pub tally: Tally,
    pub outcomes: [u64; Outcome::ALL.len()],
    /// Agents present (logged in, or finishing a call after logging out), over time.
    pub agent_time: AgentTime,
    /// Callers who reached an agent after the engine was told "terminated" (the limitation).
    pub connected_after_engine_lost_them: u64,
    /// Offers an agent missed or declined.
    pub agent_misses: u64,
    pub max_queue: u32,
    /// The true outcome of each attempt, by attempt number (index 0 unused).
    pub outcome_of_attempt: Vec<Option<Outcome>>,
    /// Offers made to an agent who was not idle (an invariant: always zero).
    pub offers_to_busy_agents: u64,
    /// Agents who never logged in, and sudden logouts: the dialer was not told of either.
    pub agent_no_shows: u32,
    pub sudden_logouts: u32,
    /// Answering-machine detection's wrong verdicts.
    pub machines_passed_as_persons: u64,
    pub persons_taken_for_machines: u64,
}

/// The switch's state at one instant, as plots show it (see [`SimSwitchModel::gauges`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Gauges {
    /// Agents the switch reports as logged in.
    pub logged_in: u32,
    /// Agents ringing or talking.
    pub agents_on_calls: u32,
    pub agents_in_wrap_up: u32,
    pub agents_idle: u32,
    /// Answered callers waiting in the queue (or on their way to it).
    pub queued: u32,
    /// Calls dialing or ringing: nobody has answered yet.
    pub dialing: u32,
}

/// What one step produced.
#[derive(Default)]
pub struct Step {
    pub schedule: Vec<(SimTime, SwitchItem)>,
    /// Notifications for calls, in order: one batch per run of events for the same call.
    pub batches: Vec<EventBatch>,
    pub notices: Vec<SwitchNotice>,
    /// Timeline actions that took effect, for the trace.
    pub timeline: Vec<String>,
}

/// Events of one step for one call, in order. Each event is built in its batch's buffer, which
/// is what the call receives: events are large (call id, tag and tracking id), so they are not
/// moved again on the way.
pub struct EventBatch {
    pub slot: u32,
    pub attempt: AttemptId,
    pub events: Vec<SwitchEvent>,
}

/// Room for a batch's usual events (accepted and trying; or connected, queued, dequeued and
/// connected again when an agent is free), so a batch rarely grows.
const BATCH_CAPACITY: usize = 4;

/// `vec.push(make())`, but with room made first and `make` called after, so that the value
/// can be written where it goes instead of on the stack (`Vec::push` must hold it across its
/// growth path). A value just written field by field on the stack and then copied whole
/// makes the copy's wide loads wait for the narrow stores (BENCHMARKS.md, eleventh session).
#[inline(always)]
fn push_in_place<T>(vec: &mut Vec<T>, make: impl FnOnce() -> T) {
    vec.reserve(1);
    let len = vec.len();
    vec.spare_capacity_mut()[0].write(make());
    // SAFETY: the element at `len`, within the capacity reserved above, was just written.
    unsafe { vec.set_len(len + 1) };
}

impl Step {
    pub fn clear(&mut self) {
        self.schedule.clear();
        self.batches.clear();
        self.notices.clear();
        self.timeline.clear();
    }

    /// Appends a notification for the call in `slot`: to the last batch if it is that call's,
    /// else in a new batch. The event is made only once its place in the batch is ready, so
    /// that it is written there directly rather than built on the stack and copied: a copy of
    /// 128 bytes just written field by field waits on loads that span several stores
    /// (BENCHMARKS.md, eleventh session).
    #[inline(always)]
    pub fn push_event(
        &mut self,
        slot: u32,
        attempt: AttemptId,
        make_event: impl FnOnce() -> SwitchEvent,
    ) {
        if !matches!(self.batches.last(), Some(batch) if batch.slot == slot) {
            self.start_batch(slot, attempt);
        }
        let batch = self
            .batches
            .last_mut()
            .expect("a batch was just made if there was none");
        push_in_place(&mut batch.events, make_event);
    }

    #[inline(never)]
    fn start_batch(&mut self, slot: u32, attempt: AttemptId) {
        push_in_place(&mut self.batches, || EventBatch {
            slot,
            attempt,
            events: Vec::with_capacity(BATCH_CAPACITY),
        });
    }

    /// Every notification of the step, in order.
    pub fn events(&self) -> impl Iterator<Item = &SwitchEvent> {
        self.batches.iter().flat_map(|batch| &batch.events)
    }
}

/// The simulated switch.
pub struct SimSwitchModel {
    seed: u64,
    scenario: Scenario,
    mix: CalleeMix,
    calls: Vec<Option<SimCall>>,
    generations: Vec<u32>,
    free_slots: Vec<u32>,
    live_calls: usize,
    agents: Vec<SimAgent>,
    idle_agents: VecDeque<u32>,
    queue: VecDeque<CallKey>,
    /// Agents the switch reports as logged in.
    logged_in: u32,
    /// Agents present, including those finishing a call after logging out.
    present: u32,
    /// Times each number was dialed, for per-dial random streams, by [`count_key`]. Looked up,
    /// never iterated.
    dials_per_number: HashMap<u64, u64, BuildHasherDefault<CountKeyHasher>>,
    /// The switch's names for the next call: its id, tag and tracking id (`sim-N`, `tN`,
    /// `trk-N`), N counting calls from 1. Three fields, not an array: an array of texts built
    /// one by one and then moved made the processor wait (BENCHMARKS.md).
    next_call_id: CountingText,
    next_call_tag: CountingText,
    next_tracking_id: CountingText,
    truth: Truth,
    /// Draws for world faults; used only when a fault is configured.
    fault_rng: ChaCha8Rng,
    /// Agents missing without the dialer being told (no-shows and sudden logouts): reports of
    /// logged-in agents still count them.
    unreported_absent: u32,
}

/// How many numbers a run may dial, as far as the scenario bounds it (its leads, its attempts),
/// capped at 131,072 (about 4 MB of table): the room reserved up front for [`SimSwitchModel`]'s
/// dial counts, so a day does not rehash them as they grow (BENCHMARKS.md). A run that dials
/// more grows the table from there as before.
fn expected_numbers(scenario: &Scenario) -> usize {
    const MOST_RESERVED: u64 = 1 << 17;
    let bound = match (scenario.leads.count, scenario.dialing.max_attempts) {
        (Some(leads), Some(attempts)) => leads.min(attempts),
        (Some(bound), None) | (None, Some(bound)) => bound,
        (None, None) => 0,
    };
    bound.min(MOST_RESERVED) as usize
}

impl SimSwitchModel {
    pub fn new(scenario: &Scenario, seed: u64) -> SimSwitchModel {
        SimSwitchModel {
            seed,
            mix: scenario.callees.mix,
            scenario: scenario.clone(),
            calls: Vec::new(),
            generations: Vec::new(),
            free_slots: Vec::new(),
            live_calls: 0,
            agents: Vec::new(),
            idle_agents: VecDeque::new(),
            queue: VecDeque::new(),
            logged_in: 0,
            present: 0,
            dials_per_number: HashMap::with_capacity_and_hasher(
                expected_numbers(scenario),
                Default::default(),
            ),
            next_call_id: CountingText::starting_at("sim-", 1, 0),
            next_call_tag: CountingText::starting_at("t", 1, 0),
            next_tracking_id: CountingText::starting_at("trk-", 1, 0),
            truth: Truth::default(),
            fault_rng: rng::stream(seed, Purpose::Faults, 0, 0),
            unreported_absent: 0,
        }
    }

    /// Logs in the starting agents and puts the timeline on the calendar.
    pub fn start(&mut self, now: SimTime, step: &mut Step) {
        let count = self.scenario.agents.count;
        let no_show = self.scenario.faults.agent_no_shows;
        let shown = if no_show > 0.0 {
            (0..count)
                .filter(|_| rng::unit(&mut self.fault_rng) >= no_show)
                .count() as u32
        } else {
            count
        };
        self.unreported_absent = count - shown;
        self.truth.agent_no_shows = count - shown;
        self.login(now, shown, step);
        step.notices.push(SwitchNotice::AgentsLoggedIn {
            count: self.reported_logged_in(),
        });
        self.schedule_sudden_logout(now, step);
        if let Some((every, _)) = self.scenario.faults.answer_drift {
            step.schedule
                .push((now + every, SwitchItem::Fault(WorldFault::AnswerDrift)));
        }
        for (index, event) in self.scenario.timeline.iter().enumerate() {
            step.schedule
                .push((event.at, SwitchItem::Timeline(index as u32)));
        }
    }

    pub fn truth(&self) -> &Truth {
        &self.truth
    }

    /// Logged-in agents as the switch reports them: absences the dialer was not told of still
    /// count.
    fn reported_logged_in(&self) -> u32 {
        self.logged_in + self.unreported_absent
    }

    /// Puts the next sudden logout on the calendar: exponential gaps at the configured rate per
    /// logged-in agent.
    fn schedule_sudden_logout(&mut self, now: SimTime, step: &mut Step) {
        let per_hour = self.scenario.faults.agent_logouts_per_hour;
        if per_hour <= 0.0 {
            return;
        }
        let agents = f64::from(self.logged_in.max(1));
        let u = rng::unit(&mut self.fault_rng);
        let gap_s = -(1.0 - u).ln() * 3600.0 / (per_hour * agents);
        step.schedule.push((
            now + SimDuration::from_secs_f64(gap_s),
            SwitchItem::Fault(WorldFault::SuddenLogout),
        ));
    }

    fn apply_fault(&mut self, fault: WorldFault, now: SimTime, step: &mut Step) {
        match fault {
            WorldFault::SuddenLogout => {
                if self.logged_in > 0 {
                    self.logout(now, 1);
                    self.unreported_absent += 1;
                    self.truth.sudden_logouts += 1;
                    step.timeline
                        .push("fault: an agent logged out suddenly (not reported)".into());
                }
                self.schedule_sudden_logout(now, step);
            }
            WorldFault::AnswerDrift => {
                let Some((every, sd)) = self.scenario.faults.answer_drift else {
                    return;
                };
                // A standard normal step by Box-Muller.
                let (u1, u2) = (
                    rng::unit(&mut self.fault_rng),
                    rng::unit(&mut self.fault_rng),
                );
                let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let answer = (self.mix.answer + sd * z).clamp(0.01, 0.99);
                self.mix = self.scenario.callees.mix.with_answer_probability(answer);
                step.timeline
                    .push(format!("fault: answer probability drifted to {answer:.3}"));
                step.schedule
                    .push((now + every, SwitchItem::Fault(WorldFault::AnswerDrift)));
            }
        }
    }

    /// Calls the switch still carries (including those the engine no longer hears about).
    pub fn live_calls(&self) -> usize {
        self.live_calls
    }

    /// True when no call is up and no agent is busy or wrapping up: the world has nothing left
    /// to do but scripted timeline events and stale steps.
    pub fn is_quiet(&self) -> bool {
        self.live_calls == 0
            && self
                .agents
                .iter()
                .all(|agent| matches!(agent.state, AgentState::Idle | AgentState::Gone))
    }

    /// The switch's state now. Scans every agent and call: meant for sampling a few hundred
    /// times a run, not for every event.
    pub fn gauges(&self) -> Gauges {
        let mut gauges = Gauges {
            logged_in: self.logged_in,
            queued: self.queue.len() as u32,
            ..Gauges::default()
        };
        for agent in &self.agents {
            match agent.state {
                AgentState::Idle => gauges.agents_idle += 1,
                AgentState::Ringing | AgentState::Talking => gauges.agents_on_calls += 1,
                AgentState::WrapUp => gauges.agents_in_wrap_up += 1,
                AgentState::Gone => {}
            }
        }
        for call in self.calls.iter().flatten() {
            match call.phase {
                Phase::Dialing | Phase::Ringing => gauges.dialing += 1,
                Phase::Answered => gauges.queued += 1,
                _ => {}
            }
        }
        gauges
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Agents currently on a call (ringing or talking), by the switch's truth.
    pub fn agents_on_calls(&self) -> usize {
        self.agents
            .iter()
            .filter(|agent| matches!(agent.state, AgentState::Ringing | AgentState::Talking))
            .count()
    }

    /// Places a call; returns its slot. The first notifications go out in `step`.
    pub fn originate(
        &mut self,
        now: SimTime,
        attempt: AttemptId,
        callee: &PhoneNumber,
        ring_timeout: SimDuration,
        step: &mut Step,
    ) -> CallKey {
        let number_key = rng::text_key(&callee.0);
        let ordinal = {
            let count = self
                .dials_per_number
                .entry(count_key(&callee.0, number_key))
                .or_insert(0);
            *count += 1;
            *count
        };
        let mut stream = CallStream::new(rng::stream_seed(
            self.seed,
            Purpose::Callee,
            number_key,
            ordinal,
        ));
        let callees = &self.scenario.callees;
        // Draw order is fixed whatever the branch, so settings compare on the same callees.
        let u_class = stream.unit();
        let u_after = stream.unit();
        let u_ringing = stream.unit();
        let class = pick_class(&self.mix, u_class);
        let after = match class {
            CalleeClass::Answer => callees.answer_after.sample(u_after),
            CalleeClass::NoAnswer => ring_timeout,
            CalleeClass::Busy => callees.busy_after.sample(u_after),
            CalleeClass::Declined => callees.declined_after.sample(u_after),
            CalleeClass::InvalidNumber => callees.invalid_number_after.sample(u_after),
            CalleeClass::Failed => callees.failed_after.sample(u_after),
            CalleeClass::Machine => callees.machine_after.sample(u_after),
        };
        let rings = matches!(
            class,
            CalleeClass::Answer
                | CalleeClass::NoAnswer
                | CalleeClass::Declined
                | CalleeClass::Machine
        );
        // A callee who would pick up after the ring timeout never gets the chance.
        let (class, after) = if rings && after >= ring_timeout {
            (CalleeClass::NoAnswer, ring_timeout)
        } else {
            (class, after)
        };
        let ringing_after = callees.ringing_after.sample(u_ringing);
        // Drawn last, and only with faults on, so runs without them keep their draws.
        let faults = &self.scenario.faults;
        let amd_error = if faults.misclassifies() {
            let u_amd = stream.unit();
            match class {
                CalleeClass::Machine if u_amd < faults.machine_as_person => {
                    AmdError::MachineAsPerson
                }
                CalleeClass::Answer if u_amd < faults.person_as_machine => {
                    AmdError::PersonAsMachine
                }
                _ => AmdError::None,
            }
        } else {
            AmdError::None
        };

        let (id, tag) = (self.next_call_id.take(), self.next_call_tag.take());
        let tracking_id = self.next_tracking_id.take();
        let key = self.allocate(SimCall {
            generation: 0,
            attempt,
            call: CallRef { id, tag },
            tracking_id,
            rng: stream,
            class,
            phase: Phase::Dialing,
            attached: true,
            answered_at: None,
            give_up_at: SimTime::ZERO,
            give_up_is_timeout: false,
            give_up_scheduled: false,
            reached_agent: false,
            offers: 0,
            talk_started: SimTime::ZERO,
            talk_plan: TalkPlan::default(),
            amd_error,
        });
        self.truth.tally.attempts += 1;
        let call = call_in(&mut self.calls, key).expect("just allocated");
        step.push_event(key.slot, attempt, || SwitchEvent::Accepted {
            call: call.call.clone(),
            tracking_id: call.tracking_id.clone(),
        });
        self.notify(key, now, CallStatus::Trying, None, step);
        if rings && ringing_after < after {
            if ringing_after.is_zero() {
                self.handle_call(key, CallStep::Ringing, now, step);
            } else {
                step.schedule.push((
                    now + ringing_after,
                    SwitchItem::Call(key, CallStep::Ringing),
                ));
            }
        }
        if after.is_zero() {
            self.handle_call(key, CallStep::Resolve, now, step);
        } else {
            step.schedule
                .push((now + after, SwitchItem::Call(key, CallStep::Resolve)));
        }
        key
    }

    /// The engine asks to disconnect a call.
    pub fn hangup(&mut self, now: SimTime, key: CallKey, step: &mut Step) {
        let Some(call) = call_in(&mut self.calls, key) else {
            return;
        };
        match call.phase {
            Phase::Dialing | Phase::Ringing => {
                self.finish(
                    key,
                    now,
                    Outcome::NoAnswer,
                    Some(sim_reasons::CANCELLED_BY_API),
                    step,
                );
            }
            Phase::Answered => {
                let outcome = self.leaves_unserved(key, now);
                self.finish(key, now, outcome, Some(sim_reasons::CANCELLED_BY_API), step);
            }
            Phase::Queued => {
                self.queue.retain(|queued| *queued != key);
                let outcome = self.leaves_unserved(key, now);
                self.finish(key, now, outcome, Some(sim_reasons::CANCELLED_BY_API), step);
            }
            Phase::Offered { agent } => {
                let outcome = self.leaves_unserved(key, now);
                self.release_agent_now(agent, now, step);
                self.finish(key, now, outcome, Some(sim_reasons::CANCELLED_BY_API), step);
            }
            Phase::Talking { .. } | Phase::Held { .. } | Phase::Transferred => {
                self.end_talk(key, now, step, true);
            }
        }
    }

    /// Takes one calendar step.
    pub fn handle(&mut self, item: SwitchItem, now: SimTime, step: &mut Step) {
        match item {
            SwitchItem::Call(key, what) => self.handle_call(key, what, now, step),
            SwitchItem::AgentFree { agent, epoch } => {
                if self.agents[agent as usize].epoch == epoch
                    && self.agents[agent as usize].state == AgentState::WrapUp
                {
                    self.agent_becomes_free(agent, now, step);
                }
            }
            SwitchItem::Timeline(index) => self.apply_timeline(index as usize, now, step),
            SwitchItem::Fault(fault) => self.apply_fault(fault, now, step),
            // Delivery is the switch actor's business.
            SwitchItem::LateCallback(_) => {}
        }
    }

    fn handle_call(&mut self, key: CallKey, what: CallStep, now: SimTime, step: &mut Step) {
        let Some(call) = call_in(&mut self.calls, key) else {
            return;
        };
        let phase = call.phase;
        match (what, phase) {
            (CallStep::Ringing, Phase::Dialing) => {
                call.phase = Phase::Ringing;
                self.notify(key, now, CallStatus::Ringing, None, step);
            }
            (CallStep::Resolve, Phase::Dialing | Phase::Ringing) => self.resolve(key, now, step),
            (CallStep::MachineHangsUp, Phase::Answered) => {
                if call.amd_error == AmdError::PersonAsMachine {
                    // A person, hung up on as a machine: answered and never served.
                    let waited = waited(call, now);
                    self.truth.persons_taken_for_machines += 1;
                    self.truth.tally.record_abandoned(waited);
                    self.finish(
                        key,
                        now,
                        Outcome::AbandonedInQueue,
                        Some(sim_reasons::MACHINE),
                        step,
                    );
                } else {
                    self.finish(key, now, Outcome::Machine, Some(sim_reasons::MACHINE), step);
                }
            }
            (CallStep::EntersQueue, Phase::Answered) => self.enter_queue(key, now, step),
            (CallStep::GivesUp, Phase::Queued | Phase::Offered { .. })
                if call.give_up_at == now =>
            {
                self.give_up(key, now, step);
            }
            (CallStep::AgentAnswers { offer }, Phase::Offered { agent })
                if offer == call.offers =>
            {
                self.agent_answers(key, agent, now, step);
            }
            (CallStep::AgentMisses { offer, declined }, Phase::Offered { agent })
                if offer == call.offers =>
            {
                self.agent_misses(key, agent, declined, now, step);
            }
            (CallStep::HoldStarts, Phase::Talking { agent }) => {
                call.phase = Phase::Held { agent };
                let resume_at = now + call.talk_plan.hold_for;
                self.notify(key, now, CallStatus::Held, None, step);
                step.schedule
                    .push((resume_at, SwitchItem::Call(key, CallStep::HoldEnds)));
            }
            (CallStep::HoldEnds, Phase::Held { agent }) => {
                call.phase = Phase::Talking { agent };
                let plan = call.talk_plan;
                let talk_ends = call.talk_started + plan.talk + plan.hold_for;
                self.notify(key, now, CallStatus::Connected, None, step);
                step.schedule
                    .push((talk_ends, SwitchItem::Call(key, CallStep::TalkEnds)));
            }
            (CallStep::TalkEnds, Phase::Talking { .. }) => self.end_talk(key, now, step, false),
            (CallStep::TransferEnds, Phase::Transferred) => {
                self.finish(
                    key,
                    now,
                    Outcome::Completed,
                    Some(sim_reasons::NORMAL_CLEARING),
                    step,
                );
            }
            // Anything else is a step overtaken by events (say, patience after connecting).
            _ => {}
        }
    }

    fn resolve(&mut self, key: CallKey, now: SimTime, step: &mut Step) {
        let call = call_in(&mut self.calls, key).expect("resolve of a live call");
        match call.class {
            CalleeClass::NoAnswer => self.finish(
                key,
                now,
                Outcome::NoAnswer,
                Some(sim_reasons::NO_ANSWER),
                step,
            ),
            CalleeClass::Busy => {
                self.finish(key, now, Outcome::Busy, Some(sim_reasons::BUSY), step)
            }
            CalleeClass::Declined => self.finish(
                key,
                now,
                Outcome::Declined,
                Some(sim_reasons::DECLINED),
                step,
            ),
            CalleeClass::InvalidNumber => self.finish(
                key,
                now,
                Outcome::InvalidNumber,
                Some(sim_reasons::INVALID_NUMBER),
                step,
            ),
            CalleeClass::Failed => {
                self.finish(key, now, Outcome::Failed, Some(sim_reasons::FAILED), step)
            }
            // Answering-machine detection decides which way an answer goes, rightly or not.
            CalleeClass::Machine | CalleeClass::Answer if call.detected_as_machine() => {
                call.phase = Phase::Answered;
                if call.amd_error == AmdError::PersonAsMachine {
                    call.answered_at = Some(now);
                }
                let detect = self.scenario.callees.machine_detect.sample(call.rng.unit());
                self.notify(key, now, CallStatus::Connected, None, step);
                step.schedule.push((
                    now + detect,
                    SwitchItem::Call(key, CallStep::MachineHangsUp),
                ));
            }
            CalleeClass::Machine | CalleeClass::Answer => {
                if call.amd_error == AmdError::MachineAsPerson {
                    self.truth.machines_passed_as_persons += 1;
                }
                let call = call_in(&mut self.calls, key).expect("resolving a live call");
                call.phase = Phase::Answered;
                call.answered_at = Some(now);
                let callees = &self.scenario.callees;
                let u_patience = call.rng.unit();
                let u_entry = call.rng.unit();
                let patience = callees.patience.sample(u_patience);
                let entry_delay = self.scenario.queue.entry_delay.sample(u_entry);
                call.give_up_at = now + entry_delay + patience;
                self.notify(key, now, CallStatus::Connected, None, step);
                if entry_delay.is_zero() {
                    self.enter_queue(key, now, step);
                } else {
                    step.schedule.push((
                        now + entry_delay,
                        SwitchItem::Call(key, CallStep::EntersQueue),
                    ));
                }
            }
        }
    }

    fn enter_queue(&mut self, key: CallKey, now: SimTime, step: &mut Step) {
        // The limit is on callers held waiting; a caller who finds an idle agent is not held.
        if let Some(max) = self.scenario.queue.max_size
            && self.idle_agents.is_empty()
            && self.queue.len() >= max as usize
        {
            let outcome = self.leaves_unserved(key, now);
            self.finish(key, now, outcome, Some(sim_reasons::QUEUE_FULL), step);
            return;
        }
        let max_wait = self.scenario.queue.max_wait;
        let call = call_in(&mut self.calls, key).expect("queueing a live call");
        call.phase = Phase::Queued;
        if let Some(max_wait) = max_wait
            && now + max_wait < call.give_up_at
        {
            call.give_up_at = now + max_wait;
            call.give_up_is_timeout = true;
        }
        self.notify(key, now, CallStatus::Queued, None, step);
        self.queue.push_back(key);
        self.truth.max_queue = self.truth.max_queue.max(self.queue.len() as u32);
        self.dispatch(now, step);
        self.schedule_give_up_if_waiting(key, step);
    }

    /// Puts the caller's patience (or the queue's maximum wait) on the calendar once the caller
    /// is actually waiting; a caller who reached an agent at once never needs it.
    fn schedule_give_up_if_waiting(&mut self, key: CallKey, step: &mut Step) {
        let Some(call) = call_in(&mut self.calls, key) else {
            return;
        };
        if call.give_up_scheduled || !matches!(call.phase, Phase::Queued | Phase::Offered { .. }) {
            return;
        }
        call.give_up_scheduled = true;
        step.schedule
            .push((call.give_up_at, SwitchItem::Call(key, CallStep::GivesUp)));
    }

    /// Offers waiting callers to idle agents, longest-waiting caller and longest-idle agent first.
    fn dispatch(&mut self, now: SimTime, step: &mut Step) {
        while !self.queue.is_empty() {
            let Some(agent) = self.idle_agents.pop_front() else {
                return;
            };
            let key = self.queue.pop_front().expect("queue is not empty");
            self.offer(key, agent, now, step);
        }
    }

    fn offer(&mut self, key: CallKey, agent: u32, now: SimTime, step: &mut Step) {
        if self.agents[agent as usize].state != AgentState::Idle {
            self.truth.offers_to_busy_agents += 1;
        }
        self.agents[agent as usize].state = AgentState::Ringing;
        let settings = &self.scenario.agents;
        let call = call_in(&mut self.calls, key).expect("offering a live call");
        call.phase = Phase::Offered { agent };
        call.offers += 1;
        let offer = call.offers;
        let u_response = call.rng.unit();
        let u_time = call.rng.unit();
        self.notify(key, now, CallStatus::Dequeued, None, step);
        if u_response < settings.no_answer_probability {
            let at = now + settings.no_answer_timeout;
            step.schedule.push((
                at,
                SwitchItem::Call(
                    key,
                    CallStep::AgentMisses {
                        offer,
                        declined: false,
                    },
                ),
            ));
        } else if u_response < settings.no_answer_probability + settings.decline_probability {
            let at = now + settings.decline_after.sample(u_time);
            step.schedule.push((
                at,
                SwitchItem::Call(
                    key,
                    CallStep::AgentMisses {
                        offer,
                        declined: true,
                    },
                ),
            ));
        } else {
            let after = settings.answer_after.sample(u_time);
            if after.is_zero() {
                self.agent_answers(key, agent, now, step);
            } else {
                step.schedule.push((
                    now + after,
                    SwitchItem::Call(key, CallStep::AgentAnswers { offer }),
                ));
            }
        }
    }

    fn agent_answers(&mut self, key: CallKey, agent: u32, now: SimTime, step: &mut Step) {
        self.agents[agent as usize].state = AgentState::Talking;
        let callees = &self.scenario.callees;
        let call = call_in(&mut self.calls, key).expect("connecting a live call");
        let wait = now - call.answered_at.unwrap_or(now);
        call.phase = Phase::Talking { agent };
        call.reached_agent = true;
        call.talk_started = now;
        let draws: [f64; 6] = std::array::from_fn(|_| call.rng.unit());
        let hidden_machine = call.is_hidden_machine();
        let talk = if hidden_machine {
            // The agent hears a recording and hangs up.
            callees.talk.sample(draws[0]).min(AGENT_HANGS_UP_ON_MACHINE)
        } else {
            callees.talk.sample(draws[0])
        };
        let mut plan = TalkPlan {
            talk,
            ..TalkPlan::default()
        };
        if let Some(hold) = &callees.hold
            && draws[1] < hold.probability
            && !hidden_machine
        {
            plan.hold_at = Some(SimDuration::from_secs_f64(talk.as_secs_f64() * draws[2]));
            plan.hold_for = hold.duration.sample(draws[3]);
        }
        if let Some(transfer) = &callees.transfer
            && draws[4] < transfer.probability
            && !hidden_machine
        {
            plan.transfer_for = Some(transfer.duration.sample(draws[5]));
        }
        call.talk_plan = plan;
        let attached = call.attached;
        if !hidden_machine {
            self.truth.tally.record_connected(wait);
            if !attached {
                self.truth.connected_after_engine_lost_them += 1;
            }
        }
        self.notify(key, now, CallStatus::Connected, None, step);
        match plan.hold_at {
            Some(offset) => step
                .schedule
                .push((now + offset, SwitchItem::Call(key, CallStep::HoldStarts))),
            None => step
                .schedule
                .push((now + plan.talk, SwitchItem::Call(key, CallStep::TalkEnds))),
        }
    }

    /// The release note's limitation: the app hears "terminated" and nothing more; the callee
    /// goes back to the head of the queue.
    fn agent_misses(
        &mut self,
        key: CallKey,
        agent: u32,
        declined: bool,
        now: SimTime,
        step: &mut Step,
    ) {
        self.truth.agent_misses += 1;
        let reason = if declined {
            sim_reasons::AGENT_DECLINED
        } else {
            sim_reasons::AGENT_NO_ANSWER
        };
        self.notify(key, now, CallStatus::Terminated, Some(reason), step);
        let call = call_in(&mut self.calls, key).expect("a missed offer of a live call");
        call.attached = false;
        call.phase = Phase::Queued;
        self.queue.push_front(key);
        self.agents[agent as usize].state = AgentState::Idle;
        self.agent_becomes_free(agent, now, step);
        self.schedule_give_up_if_waiting(key, step);
    }

    fn give_up(&mut self, key: CallKey, now: SimTime, step: &mut Step) {
        let call = call_in(&mut self.calls, key).expect("a live caller gives up");
        let phase = call.phase;
        let reason = if call.give_up_is_timeout {
            sim_reasons::QUEUE_TIMEOUT
        } else {
            sim_reasons::NORMAL_CLEARING
        };
        match phase {
            Phase::Queued => self.queue.retain(|queued| *queued != key),
            Phase::Offered { agent } => self.release_agent_now(agent, now, step),
            _ => return,
        }
        let outcome = self.leaves_unserved(key, now);
        self.finish(key, now, outcome, Some(reason), step);
    }

    /// An answered caller leaves without an agent: counted as an abandoned person, unless the
    /// caller was a machine that passed for one. Returns the true outcome.
    fn leaves_unserved(&mut self, key: CallKey, now: SimTime) -> Outcome {
        let Some(call) = self.call_ref(key) else {
            return Outcome::AbandonedInQueue;
        };
        if call.is_hidden_machine() {
            return Outcome::Machine;
        }
        let waited = waited(call, now);
        self.truth.tally.record_abandoned(waited);
        Outcome::AbandonedInQueue
    }

    fn release_agent_now(&mut self, agent: u32, now: SimTime, step: &mut Step) {
        self.agents[agent as usize].state = AgentState::Idle;
        self.agent_becomes_free(agent, now, step);
    }

    fn end_talk(&mut self, key: CallKey, now: SimTime, step: &mut Step, hung_up_by_api: bool) {
        let call = call_in(&mut self.calls, key).expect("ending a live talk");
        let agent = match call.phase {
            Phase::Talking { agent } | Phase::Held { agent } => Some(agent),
            _ => None,
        };
        let talk = now - call.talk_started;
        let transfer_for = call.talk_plan.transfer_for;
        let wrap_draw = call.rng.unit();
        if let Some(agent) = agent {
            self.truth.tally.add_talk(talk);
            self.start_wrap_up(agent, wrap_draw, now, step);
        }
        match transfer_for {
            Some(duration) if !hung_up_by_api && agent.is_some() => {
                let call = call_in(&mut self.calls, key).expect("transferring a live call");
                call.phase = Phase::Transferred;
                self.notify(key, now, CallStatus::Transferred, None, step);
                step.schedule.push((
                    now + duration,
                    SwitchItem::Call(key, CallStep::TransferEnds),
                ));
            }
            _ => {
                let reason = if hung_up_by_api {
                    sim_reasons::CANCELLED_BY_API
                } else {
                    sim_reasons::NORMAL_CLEARING
                };
                let hidden_machine = self.call_ref(key).is_some_and(SimCall::is_hidden_machine);
                let outcome = if hidden_machine {
                    Outcome::Machine
                } else {
                    Outcome::Completed
                };
                self.finish(key, now, outcome, Some(reason), step);
            }
        }
    }

    fn start_wrap_up(&mut self, agent: u32, draw: f64, now: SimTime, step: &mut Step) {
        let wrap = self.scenario.agents.wrap_up.sample(draw);
        let record = &mut self.agents[agent as usize];
        record.state = AgentState::WrapUp;
        record.epoch = record.epoch.wrapping_add(1);
        let epoch = record.epoch;
        if wrap.is_zero() {
            self.agent_becomes_free(agent, now, step);
        } else {
            step.schedule
                .push((now + wrap, SwitchItem::AgentFree { agent, epoch }));
        }
    }

    /// The agent is free: idle (and offered the longest-waiting caller), or gone if logging out.
    /// A leaving agent still dispatches: a missed offer has just put its caller back at the head
    /// of the queue, and another agent may be idle (found by `tests/model_props.rs`).
    fn agent_becomes_free(&mut self, agent: u32, now: SimTime, step: &mut Step) {
        let record = &mut self.agents[agent as usize];
        if record.leaving {
            record.leaving = false;
            record.state = AgentState::Gone;
            self.present -= 1;
            self.truth.agent_time.set(now, self.present);
            self.dispatch(now, step);
            return;
        }
        record.state = AgentState::Idle;
        self.idle_agents.push_back(agent);
        self.dispatch(now, step);
    }

    fn finish(
        &mut self,
        key: CallKey,
        now: SimTime,
        outcome: Outcome,
        reason: Option<(&'static str, u16)>,
        step: &mut Step,
    ) {
        self.notify(key, now, CallStatus::Terminated, reason, step);
        self.truth.outcomes[outcome.index()] += 1;
        if let Some(call) = self.call_ref(key) {
            let index = call.attempt.0 as usize;
            let outcomes = &mut self.truth.outcome_of_attempt;
            if outcomes.len() <= index {
                outcomes.resize(index + 1, None);
            }
            outcomes[index] = Some(outcome);
        }
        self.release(key);
    }

    /// Sends a notification to the engine, if it still hears about this call.
    fn notify(
        &self,
        key: CallKey,
        now: SimTime,
        state: CallStatus,
        reason: Option<(&'static str, u16)>,
        step: &mut Step,
    ) {
        let Some(call) = self.call_ref(key) else {
            return;
        };
        if !call.attached {
            return;
        }
        step.push_event(key.slot, call.attempt, || {
            SwitchEvent::State(StateNotification {
                call: call.call.clone(),
                tracking_id: call.tracking_id.clone(),
                state,
                reason: reason.map(|(text, _)| ShortText::from_static(text)),
                reason_code: reason.map(|(_, code)| code),
                update_time: Some(now),
            })
        });
    }

    fn apply_timeline(&mut self, index: usize, now: SimTime, step: &mut Step) {
        let Some(TimelineEvent { action, note, .. }) = self.scenario.timeline.get(index).cloned()
        else {
            return;
        };
        let before = self.logged_in;
        match action {
            TimelineAction::SetAgents(target) => {
                if target > self.logged_in {
                    self.login(now, target - self.logged_in, step);
                } else {
                    self.logout(now, self.logged_in - target);
                }
            }
            TimelineAction::LoginAgents(count) => self.login(now, count, step),
            TimelineAction::LogoutAgents(count) => self.logout(now, count),
            TimelineAction::AnswerProbability(p) => {
                self.mix = self.scenario.callees.mix.with_answer_probability(p);
            }
        }
        if self.logged_in != before {
            step.notices.push(SwitchNotice::AgentsLoggedIn {
                count: self.reported_logged_in(),
            });
        }
        step.timeline.push(match note {
            Some(note) => format!("{action} ({note})"),
            None => action.to_string(),
        });
    }

    fn login(&mut self, now: SimTime, count: u32, step: &mut Step) {
        let mut remaining = count;
        // Agents on their way out who are still busy simply stay.
        for agent in &mut self.agents {
            if remaining == 0 {
                break;
            }
            if agent.leaving {
                agent.leaving = false;
                remaining -= 1;
            }
        }
        self.logged_in += count - remaining;
        for _ in 0..remaining {
            self.agents.push(SimAgent {
                state: AgentState::Idle,
                leaving: false,
                epoch: 0,
            });
            self.idle_agents.push_back((self.agents.len() - 1) as u32);
            self.logged_in += 1;
            self.present += 1;
        }
        self.truth.agent_time.set(now, self.present);
        self.dispatch(now, step);
    }

    fn logout(&mut self, now: SimTime, count: u32) {
        let mut remaining = count.min(self.logged_in);
        self.logged_in -= remaining;
        // Idle agents leave at once, most recently idle first.
        while remaining > 0 {
            let Some(agent) = self.idle_agents.pop_back() else {
                break;
            };
            self.agents[agent as usize].state = AgentState::Gone;
            self.present -= 1;
            remaining -= 1;
        }
        // Busy agents finish their call first.
        for agent in self.agents.iter_mut().rev() {
            if remaining == 0 {
                break;
            }
            if !agent.leaving && !matches!(agent.state, AgentState::Gone | AgentState::Idle) {
                agent.leaving = true;
                remaining -= 1;
            }
        }
        self.truth.agent_time.set(now, self.present);
    }

    fn allocate(&mut self, mut call: SimCall) -> CallKey {
        self.live_calls += 1;
        match self.free_slots.pop() {
            Some(slot) => {
                let generation = self.generations[slot as usize].wrapping_add(1);
                self.generations[slot as usize] = generation;
                call.generation = generation;
                self.calls[slot as usize] = Some(call);
                CallKey { slot, generation }
            }
            None => {
                self.calls.push(Some(call));
                self.generations.push(0);
                CallKey {
                    slot: (self.calls.len() - 1) as u32,
                    generation: 0,
                }
            }
        }
    }

    fn release(&mut self, key: CallKey) {
        if let Some(call) = self.calls.get_mut(key.slot as usize)
            && call
                .as_ref()
                .is_some_and(|c| c.generation == key.generation)
        {
            *call = None;
            self.free_slots.push(key.slot);
            self.live_calls -= 1;
        }
    }

    fn call_ref(&self, key: CallKey) -> Option<&SimCall> {
        self.calls
            .get(key.slot as usize)?
            .as_ref()
            .filter(|call| call.generation == key.generation)
    }

    /// An originate request the switch refused with a fault: counted as placed and failed, so
    /// the truth accounts for every attempt.
    pub fn record_refused(&mut self, attempt: AttemptId) {
        self.truth.tally.attempts += 1;
        self.truth.outcomes[Outcome::Failed.index()] += 1;
        let index = attempt.0 as usize;
        let outcomes = &mut self.truth.outcome_of_attempt;
        if outcomes.len() <= index {
            outcomes.resize(index + 1, None);
        }
        outcomes[index] = Some(Outcome::Failed);
    }

    pub fn faults(&self) -> &crate::scenario::FaultSettings {
        &self.scenario.faults
    }

    /// The state the switch lists for a call, as `get_sip_calls_list` would show it; `None`
    /// once the call is over. Calls the engine no longer hears about are listed too: that is
    /// how a dialer learns what became of them.
    /// Agents the world knows of, logged in or not.
    pub fn agent_count(&self) -> usize {
        self.agents.len()
    }

    /// Agents logged in now, by the switch's truth.
    pub fn agents_logged_in(&self) -> u32 {
        self.logged_in
    }

    /// Whether the call `key` names is still carried (a key, once dead, never lives again).
    pub fn is_live(&self, key: CallKey) -> bool {
        self.call_ref(key).is_some()
    }

    pub fn listed_state(&self, key: CallKey) -> Option<CallStatus> {
        self.call_ref(key).map(|call| listed_status(call.phase))
    }

    /// Every call the switch carries, in slot order: attempt, identity, tracking id and listed
    /// state.
    pub fn active_calls(
        &self,
    ) -> impl Iterator<Item = (AttemptId, &CallRef, &ShortText, CallStatus)> {
        self.calls.iter().flatten().map(|call| {
            (
                call.attempt,
                &call.call,
                &call.tracking_id,
                listed_status(call.phase),
            )
        })
    }

    /// Checks internal consistency; used by tests. Returns a description of the first problem.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut holders = vec![0u32; self.agents.len()];
        for call in self.calls.iter().flatten() {
            if let Phase::Offered { agent } | Phase::Talking { agent } | Phase::Held { agent } =
                call.phase
            {
                holders[agent as usize] += 1;
            }
        }
        for (index, (agent, held)) in self.agents.iter().zip(&holders).enumerate() {
            let busy = matches!(agent.state, AgentState::Ringing | AgentState::Talking);
            if *held > 1 {
                return Err(format!("agent {index} holds {held} calls"));
            }
            if busy != (*held == 1) {
                return Err(format!(
                    "agent {index} is {:?} but holds {held} calls",
                    agent.state
                ));
            }
        }
        for &agent in &self.idle_agents {
            if self.agents[agent as usize].state != AgentState::Idle {
                return Err(format!(
                    "agent {agent} is listed idle but is {:?}",
                    self.agents[agent as usize].state
                ));
            }
        }
        for key in &self.queue {
            match self.call_ref(*key) {
                Some(call) if call.phase == Phase::Queued => {}
                _ => return Err(format!("queue holds a call that is not queued: {key:?}")),
            }
        }
        if !self.queue.is_empty() && !self.idle_agents.is_empty() {
            return Err("callers wait while agents are idle".to_string());
        }
        Ok(())
    }
}

/// The dial-count table's key for the callee `number` (whose hash is `number_key`): the number's
/// own value when it is plain digits, so that numbers dialed one after another (a generated list,
/// a list sorted by number) have neighbouring places in the table; else its hash.
///
/// A table placed by hash alone put every new number on a cold cache line: the processor waited
/// for the read there, and the write held up the stores after it. With neighbouring places,
/// `originate`'s share of a simulated day's wall time in a sampling profile fell from 12% to 6%
/// (BENCHMARKS.md).
///
/// Plain digits are an optional `+` and 1 to 18 digits, the first not zero, so the value and the
/// `+` give back the text: the key is the value, with bit 60 for the `+`. Other texts get their
/// hash with bit 63 set, so the two kinds never meet.
fn count_key(number: &str, number_key: u64) -> u64 {
    const PLUS: u64 = 1 << 60;
    const HASHED: u64 = 1 << 63;
    let (plus, digits) = match number.strip_prefix('+') {
        Some(rest) => (PLUS, rest.as_bytes()),
        None => (0, number.as_bytes()),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) || digits.len() > 18 {
        return number_key | HASHED;
    }
    let mut value = 0u64;
    for digit in digits {
        let digit = digit.wrapping_sub(b'0');
        if digit > 9 {
            return number_key | HASHED;
        }
        value = value * 10 + u64::from(digit);
    }
    value | plus
}

/// The dial-count table's hasher: a key's low 57 bits place it (neighbouring numbers get
/// neighbouring places, see [`count_key`]), and the top 7 bits, which the table keeps as a tag
/// to tell keys in one group apart, come from a multiplicative mix of the whole key.
#[derive(Default)]
struct CountKeyHasher(u64);

impl Hasher for CountKeyHasher {
    fn finish(&self) -> u64 {
        const PLACE: u64 = (1 << 57) - 1;
        let mixed = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (self.0 & PLACE) | (mixed & !PLACE)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*byte) ^ (self.0 >> 56);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// The state a call in `phase` has in the switch's active-call list.
fn listed_status(phase: Phase) -> CallStatus {
    match phase {
        Phase::Dialing => CallStatus::Trying,
        Phase::Ringing => CallStatus::Ringing,
        Phase::Answered | Phase::Talking { .. } => CallStatus::Connected,
        Phase::Queued => CallStatus::Queued,
        Phase::Offered { .. } => CallStatus::Dequeued,
        Phase::Held { .. } => CallStatus::Held,
        Phase::Transferred => CallStatus::Transferred,
    }
}

/// How long a caller has waited since answering.
fn waited(call: &SimCall, now: SimTime) -> SimDuration {
    now - call.answered_at.unwrap_or(now)
}

fn call_in(calls: &mut [Option<SimCall>], key: CallKey) -> Option<&mut SimCall> {
    calls
        .get_mut(key.slot as usize)?
        .as_mut()
        .filter(|call| call.generation == key.generation)
}

/// The callee classes in the order their probabilities add up in [`pick_class`].
const CLASS_ORDER: [CalleeClass; 7] = [
    CalleeClass::Answer,
    CalleeClass::NoAnswer,
    CalleeClass::Busy,
    CalleeClass::Declined,
    CalleeClass::InvalidNumber,
    CalleeClass::Failed,
    CalleeClass::Machine,
];

fn probability_of(mix: &CalleeMix, class: CalleeClass) -> f64 {
    match class {
        CalleeClass::Answer => mix.answer,
        CalleeClass::NoAnswer => mix.no_answer,
        CalleeClass::Busy => mix.busy,
        CalleeClass::Declined => mix.declined,
        CalleeClass::InvalidNumber => mix.invalid_number,
        CalleeClass::Failed => mix.failed,
        CalleeClass::Machine => mix.machine,
    }
}

/// The class whose slice of [0, 1) holds `u`. The probabilities are read straight from `mix`:
/// an array of (probability, class) pairs built on the stack and copied into an iterator made
/// the processor wait on every call (its copy read bytes back across the pairs' padding, which
/// stores cannot forward): more than a quarter of `originate`'s samples in a sampling profile of
/// a profile-guided build fell on that one copy (BENCHMARKS.md).
fn pick_class(mix: &CalleeMix, u: f64) -> CalleeClass {
    let mut cumulative = 0.0;
    for class in CLASS_ORDER {
        cumulative += probability_of(mix, class);
        if u < cumulative {
            return class;
        }
    }
    // Rounding left a sliver above the last boundary: give it to the last outcome with weight.
    CLASS_ORDER
        .into_iter()
        .rev()
        .find(|class| probability_of(mix, *class) > 0.0)
        .unwrap_or(CalleeClass::NoAnswer)
}

/// Draws are reproducible per callee; this helper exists for tests of the class boundaries.
#[cfg(test)]
fn class_for(mix: &CalleeMix, u: f64) -> CalleeClass {
    pick_class(mix, u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_keys_keep_numbers_apart_and_neighbours_together() {
        let key = |text: &str| count_key(text, rng::text_key(text));
        let texts = [
            "+15550000042",
            "15550000042",
            "+15550000043",
            "015550000042",
            "5",
            "+5",
            "999999999999999999",
            "9999999999999999999",
            "+1 555 000",
            "",
            "+",
        ];
        let keys: Vec<u64> = texts.iter().map(|text| key(text)).collect();
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate() {
                assert_eq!(i == j, a == b, "{} and {}", texts[i], texts[j]);
            }
        }
        assert_eq!(key("+15550000043"), key("+15550000042") + 1);
        assert_eq!(key("15550000042"), 15_550_000_042);
        // Leading zeros, too many digits and other characters go by hash.
        for text in ["015550000042", "9999999999999999999", "+1 555 000", "", "+"] {
            assert_eq!(key(text) >> 63, 1, "{text}");
        }
        // Neighbouring keys get neighbouring places and (mostly) different tags.
        let hash = |key: u64| {
            let mut hasher = CountKeyHasher::default();
            hasher.write_u64(key);
            hasher.finish()
        };
        let base = key("+15550000000");
        let tags: std::collections::BTreeSet<u64> =
            (0..64).map(|offset| hash(base + offset) >> 57).collect();
        assert_eq!(hash(base + 1) & 0xFFFF, (hash(base) + 1) & 0xFFFF);
        assert!(tags.len() > 32, "{} tags", tags.len());
    }
    use crate::domain::numbered;

    fn scenario(text_overrides: &[&str]) -> Scenario {
        let base = r#"
[scenario]
name = "model-test"

[agents]
count = 2

[callees]
patience = { exponential = "20s" }
talk = { exponential = "60s" }
answer = { probability = 1.0, after = "5s" }

[leads]
count = 10

[pacing]
strategy = "progressive"
"#;
        let overrides: Vec<String> = text_overrides.iter().map(|s| s.to_string()).collect();
        Scenario::from_toml("model-test.toml", base, &overrides).expect("valid test scenario")
    }

    fn statuses(step: &Step) -> Vec<&'static str> {
        step.events()
            .map(|event| match event {
                SwitchEvent::Accepted { .. } => "accepted",
                SwitchEvent::Rejected { .. } => "rejected",
                SwitchEvent::State(note) => note.state.as_str(),
            })
            .collect()
    }

    /// Runs the model alone: a tiny calendar loop.
    fn drain(
        model: &mut SimSwitchModel,
        pending: &mut Vec<(SimTime, SwitchItem)>,
        log: &mut Vec<&'static str>,
    ) {
        while !pending.is_empty() {
            pending.sort_by_key(|(at, _)| *at);
            let (at, item) = pending.remove(0);
            let mut step = Step::default();
            model.handle(item, at, &mut step);
            log.extend(statuses(&step));
            pending.append(&mut step.schedule);
            model.check_invariants().expect("invariants hold");
        }
    }

    #[test]
    fn an_answered_call_reaches_an_idle_agent_at_once() {
        let scenario = scenario(&[]);
        let mut model = SimSwitchModel::new(&scenario, 1);
        let mut step = Step::default();
        model.start(SimTime::ZERO, &mut step);
        let mut pending: Vec<_> = step.schedule.drain(..).collect();
        let mut step = Step::default();
        model.originate(
            SimTime::ZERO,
            AttemptId(1),
            &PhoneNumber("+1555".into()),
            SimDuration::from_secs(25),
            &mut step,
        );
        assert_eq!(statuses(&step), ["accepted", "trying", "ringing"]);
        pending.append(&mut step.schedule);
        let mut log = Vec::new();
        drain(&mut model, &mut pending, &mut log);
        assert_eq!(
            log,
            ["connected", "queued", "dequeued", "connected", "terminated"]
        );
        let truth = model.truth();
        assert_eq!((truth.tally.answered, truth.tally.connected), (1, 1));
        assert_eq!(model.live_calls(), 0);
    }

    #[test]
    fn a_missed_offer_tells_the_engine_terminated_and_nothing_more() {
        let scenario = scenario(&[
            "agents.count=1",
            "agents.no_answer=1.0",
            "callees.patience=\"40s\"",
        ]);
        let mut model = SimSwitchModel::new(&scenario, 3);
        let mut step = Step::default();
        model.start(SimTime::ZERO, &mut step);
        let mut pending: Vec<_> = step.schedule.drain(..).collect();
        let mut step = Step::default();
        model.originate(
            SimTime::ZERO,
            AttemptId(1),
            &PhoneNumber("+1555".into()),
            SimDuration::from_secs(25),
            &mut step,
        );
        pending.append(&mut step.schedule);
        let mut log = Vec::new();
        drain(&mut model, &mut pending, &mut log);
        // Answer at 5 s, offered, missed after 15 s; the engine hears terminated once. Unseen by
        // the engine, the caller is re-offered at 20 s (missed at 35 s) and at 35 s, and hangs up
        // at 45 s while that third offer rings.
        assert_eq!(log, ["connected", "queued", "dequeued", "terminated"]);
        let truth = model.truth();
        assert_eq!(truth.agent_misses, 2);
        assert_eq!(truth.tally.answered - truth.tally.connected, 1);
        assert_eq!(truth.outcomes[Outcome::AbandonedInQueue.index()], 1);
    }

    #[test]
    fn class_boundaries_follow_the_mix() {
        let mix = CalleeMix {
            answer: 0.3,
            no_answer: 0.45,
            busy: 0.15,
            declined: 0.0,
            invalid_number: 0.1,
            failed: 0.0,
            machine: 0.0,
        };
        assert_eq!(class_for(&mix, 0.29), CalleeClass::Answer);
        assert_eq!(class_for(&mix, 0.30), CalleeClass::NoAnswer);
        assert_eq!(class_for(&mix, 0.80), CalleeClass::Busy);
        assert_eq!(class_for(&mix, 0.95), CalleeClass::InvalidNumber);
        assert_eq!(class_for(&mix, 0.999_999_999_9), CalleeClass::InvalidNumber);
    }

    #[test]
    fn a_full_queue_disconnects_at_once_and_logout_waits_for_busy_agents() {
        let scenario = scenario(&["agents.count=1", "queue.max_size=0"]);
        let mut model = SimSwitchModel::new(&scenario, 5);
        let mut step = Step::default();
        model.start(SimTime::ZERO, &mut step);
        let mut pending: Vec<_> = step.schedule.drain(..).collect();
        for attempt in 1..=2 {
            let mut step = Step::default();
            model.originate(
                SimTime::ZERO,
                AttemptId(attempt),
                &PhoneNumber(numbered("+1555", attempt, 0)),
                SimDuration::from_secs(25),
                &mut step,
            );
            pending.append(&mut step.schedule);
        }
        let mut log = Vec::new();
        drain(&mut model, &mut pending, &mut log);
        let truth = model.truth();
        assert_eq!(truth.tally.connected, 1);
        assert_eq!(truth.outcomes[Outcome::AbandonedInQueue.index()], 1);
    }
}
