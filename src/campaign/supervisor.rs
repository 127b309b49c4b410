//! `CampaignSupervisor`: owns the lead hopper, the live call table, the counts pacing needs and
//! the campaign's statistics, and ends the campaign.
//!
//! It spawns one [`CallActor`] per dial ordered by pacing, hears every state change of every call
//! ([`CallUpdate`]) and every campaign-wide notice from the switch, keeps the counts that pacing
//! works from (sending them to the [`PacingActor`] on each change), applies the redial policy to
//! each outcome, and reports a [`CampaignFinished`] once nothing is left to dial and no call is
//! live.
//!
//! Agents are inferred the way a dialer on PortaSwitch must: logged-in agents come from the
//! switch; an agent is busy while one of our calls rings or talks to them, and stays busy for the
//! campaign's assumed wrap-up after the call. The switch's call queue knows better; reports set
//! the simulator's truth beside this view.
//!
//! It also keeps every live call's watchdog deadline and sweeps them on a short period, poking
//! calls whose deadline has passed (the call machine decides what that means) and recording a
//! call whose actor has died as `unknown`, so no attempt is ever left without an outcome.
//!
//! It also keeps the campaign's pacing ledger ([`crate::pacing::ledger`]): the abandon accounting
//! (each answered call counted once, when its fate is known), and, only while the strategy asks
//! for it, the rich view of dials in flight, busy agents and learned estimates, each in O(1) per
//! call event.
//!
//! Reconciliation with the switch's active-call list is also the supervisor's: while any call is
//! suspect (the release note's limitation, see [`crate::call::machine`]), and at the configured
//! interval if one is set, it asks the switch for the list (one request in flight), tells each
//! suspect call what the list says, and ends calls the list no longer carries although the
//! switch never said they ended (after `vanish_after` complete lists in a row). Suspect calls keep
//! their place in the counts pacing uses until the list settles them. In a simulation with no
//! suspects and no interval, nothing is polled.
//!
//! A stored campaign run again after a crash may start with *recovered* attempts: attempts of
//! the earlier run that the switch still carried at the restart
//! ([`crate::journal::recovery::RecoveredAttempt`]). They have no call actor (the switch's
//! events for them went to the dead process); their leads stay dialing. The supervisor watches
//! them on the active-call list like suspect calls, and ends each one as `unknown` once
//! `vanish_after` lists in a row no longer carry it; its lead then follows the redial rule for
//! unknown outcomes. A "terminated" callback of its own ends it sooner, with the outcome the call
//! machine would give, where that is certain (`recovered_outcome`: a dial in flight by its
//! disconnect reason, a call an agent answered as completed). Until then each counts in pacing's
//! numbers by the state the latest list gave it (a dial in flight, a call queued, or an agent on a
//! call; an agent on a call while no list has said, see `CallLoad::of_recovered`), or a newer
//! callback of its own (`heard_state`), so that an agent still talking on one is not taken for idle
//! right after the restart. In the rich view a recovered call counts only as a dial in flight,
//! while it is one (`RecoveredCall::move_to`); the agents recovered calls hold stay out of it. The
//! campaign does not finish while any is left. A simulation has none.
//!
//! Before a dial is placed, the hopper has checked the lead against the campaign's compliance
//! rules (DNC, calling hours, attempt limits), and the attempt is written to the campaign's
//! [`Journal`]: the dials of one pacing order are journaled together, and their call actors
//! (whose first act is the originate request) are spawned only once the journal has committed
//! them. If the journal cannot write, the dials are not placed, their leads are given back, and
//! dialing stops. Every state change, outcome (with the lead's fate), lead set aside and
//! abandon-accounting entry goes to the journal too.
//!
//! For the console it also takes an admin's orders ([`CampaignControl`]: pause, resume, stop,
//! a new pacing strategy), answers [`StatusQuery`] with a [`CampaignStatus`], and sends call
//! changes to a [`FeedPort`] when one is attached (never in a simulation; see
//! [`crate::campaign::feed`]).
//!
//! The supervisor decides nothing about pacing or about a single call.

use super::deadlines::{DeadlineQueue, Stream};
use super::feed::{AgentsView, CallChange, CallsByState, CampaignStatus, FeedPort, GuardView};
use super::hopper::{Hopper, LeadFate, LeadSource, LeadTally, RedialPolicy, SetAside};
use crate::attempt_window::AttemptWindow;
use crate::call::actor::{
    CallActor, CallEnv, CallUpdate, Reconciled, SwitchCallNamed, WatchdogPoke,
};
use crate::call::machine::{Anomaly, AttemptRecord, CallMachine, CallSettings, Presence};
use crate::clock::{Clock, OwnAddress, TimerHandle};
use crate::compliance::Compliance;
use crate::domain::{AppState, AttemptId, LeadId, Outcome, PhoneNumber};
use crate::executor::actors::{self, ActorRef, EngineContext, WeakActorRef};
use crate::journal::memory::MemoryJournal;
use crate::journal::recovery::{RECOVERED_GONE, RecoveredAttempt};
use crate::journal::{
    AbandonEvent, AbandonKind, AttemptStarted, Journal, JournalError, SetAsideReason,
};
use crate::mail::{Address, InFlight, Mail};
use crate::pacing::GuardTransition;
use crate::pacing::abandon::{AbandonCounts, AbandonSettings, AnsweredCall, PriorAnswer};
use crate::pacing::actor::{
    CampaignNumbers, PacingActor, PacingControl, PacingCounters, PacingOrder, PacingSetup,
};
use crate::pacing::ledger::{DetailTracker, PacingLedger, SharedLedger};
use crate::pacing::{PacingSnapshot, Strategy};
use crate::stats::{AgentTime, Tally};
use crate::switch::{ActiveCallList, CallStatus, SwitchCommand, SwitchNotice};
use crate::time::{SimDuration, SimTime};
use crate::trace::{self, SharedTrace, TraceRecord};
use actix::{Actor, Handler, Message};
use serde::Serialize;
use std::collections::VecDeque;
use std::rc::Rc;

/// How a campaign is set up.
#[derive(Clone, Debug)]
pub struct CampaignSetup {
    pub leads: LeadSource,
    pub redial: RedialPolicy,
    /// Calling hours and the DNC list, checked before every dial (`None`: no restrictions).
    pub compliance: Option<Compliance>,
    pub call_settings: CallSettings,
    /// How long the dialer assumes an agent needs after each call before the next.
    pub assumed_wrap_up: SimDuration,
    /// Stop placing calls after this many attempts.
    pub max_attempts: Option<u64>,
    /// Stop placing calls at this time.
    pub dial_until: Option<SimTime>,
    /// How often to check calls' watchdog deadlines.
    pub watchdog_sweep: SimDuration,
    pub pacing: PacingSetup,
    /// What counts as an abandon, the cap and its window.
    pub abandon: AbandonSettings,
    /// Pacing strategy changes while the campaign runs, in time order.
    pub pacing_changes: Vec<(SimTime, Strategy)>,
    pub reconcile: ReconcileSettings,
    /// Answered calls of the campaign's earlier runs (a stored campaign run again), counted in
    /// its abandon windows from the start. Empty for a first run and in simulation.
    pub prior_answers: Vec<PriorAnswer>,
    /// Attempts of an earlier run the switch still carried when this run started, watched on
    /// the active-call list until they end. Empty for a first run and in simulation.
    pub recovered: Vec<RecoveredAttempt>,
}

/// How the campaign reconciles its calls with the switch's active-call list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconcileSettings {
    /// Fetch the whole list this often; `None`: only while calls are suspect.
    pub interval: Option<SimDuration>,
    /// How often to ask about suspect calls while there are any.
    pub suspect_interval: SimDuration,
    /// Complete lists in a row a call must be missing from before it counts as vanished.
    pub vanish_after: u32,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        ReconcileSettings {
            interval: None,
            suspect_interval: SimDuration::from_secs(5),
            vanish_after: 2,
        }
    }
}

/// What reconciliation did over a campaign.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileTally {
    /// Active-call lists asked for.
    pub requests: u64,
    /// Lists received (asked for, or sent by the backend after a failover).
    pub lists: u64,
    /// Requests that failed.
    pub failures: u64,
    /// Calls that became suspect.
    pub suspects: u64,
    /// Suspect calls the list showed talking to an agent.
    pub suspects_seen_talking: u64,
    /// Calls ended because the list no longer carried them.
    pub settled_by_list: u64,
    /// Times the backend changed sites.
    pub site_changes: u64,
    /// Attempts of an earlier run the switch still carried when this run started.
    pub recovered: u64,
    /// Of those, ended as `unknown` once the list no longer carried them.
    pub recovered_settled: u64,
    /// Of those, ended by their own "terminated" callback, with the outcome it gives.
    pub recovered_ended: u64,
}

/// The campaign has finished: nothing left to dial and no call live.
#[derive(Debug)]
pub struct CampaignFinished {
    pub at: SimTime,
    pub report: EngineReport,
}

/// What the engine observed over a campaign.
#[derive(Clone, Debug)]
pub struct EngineReport {
    pub tally: Tally,
    pub outcomes: [u64; Outcome::ALL.len()],
    pub anomalies: [u64; Anomaly::ALL.len()],
    pub agent_time: AgentTime,
    pub pauses: u64,
    pub paused: SimDuration,
    pub max_queued: u32,
    pub leads: LeadTally,
    /// Dials pacing ordered that could not be placed (no lead, or dialing closed).
    pub dials_unfilled: u64,
    pub reconcile: ReconcileTally,
    /// The outcome recorded for each attempt, by attempt number (index 0 unused).
    pub outcome_of_attempt: Vec<Option<Outcome>>,
    /// Attempts whose outcome was recorded a second time (an invariant: always zero).
    pub outcomes_recorded_twice: u64,
    /// Why the journal stopped the campaign from dialing, if it did.
    pub journal_error: Option<String>,
    pub abandon: AbandonReport,
    pub pacing_counters: PacingCounters,
}

/// The abandon accounting at the end of a campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct AbandonReport {
    pub settings: AbandonSettings,
    pub campaign_to_date: AbandonCounts,
    pub rolling_24h: AbandonCounts,
    pub rolling_30d: AbandonCounts,
}

/// Where a campaign journals its attempts, and the id its first attempt gets (after the
/// attempts of earlier runs of the same campaign).
pub struct JournalSetup {
    pub journal: Box<dyn Journal>,
    pub first_attempt: AttemptId,
}

impl JournalSetup {
    /// A fresh in-memory journal that only counts, attempts numbered from 1 (simulations: nobody
    /// restarts them or reads their journal back).
    pub fn in_memory() -> JournalSetup {
        JournalSetup {
            journal: Box::new(MemoryJournal::counting()),
            first_attempt: AttemptId(1),
        }
    }
}

/// An edit of the do-not-call list for a running campaign (the store holds the list; this
/// tells the campaign at once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DncUpdate {
    Add(PhoneNumber),
    Remove(PhoneNumber),
}

/// A call the campaign is following, as shown to people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveCallView {
    pub attempt: AttemptId,
    pub lead: LeadId,
    pub callee: PhoneNumber,
    pub state: AppState,
    pub since: SimTime,
}

/// A call the campaign is following.
struct LiveCall {
    lead: LeadId,
    callee: PhoneNumber,
    state: AppState,
    since: SimTime,
    dialed_at: SimTime,
    /// When it stopped being a dial in flight (answered, by a person or a machine).
    answered_at: Option<SimTime>,
    /// When an agent first answered it.
    agent_at: Option<SimTime>,
    /// It went through the call queue.
    reached_queue: bool,
    /// Its abandon accounting is done.
    fate_recorded: bool,
    /// The call machine's current watchdog deadline.
    watchdog_at: Option<SimTime>,
    /// The deadline this call has in the sweep queue, if any.
    watchdog_queued: Option<SimTime>,
    /// A sweep found the actor stopped; the next one records the call as lost.
    presumed_dead: bool,
    /// The switch stopped notifying this call (it became suspect): only the list can end it.
    /// Holds the number of list requests sent before it became suspect.
    detached_after_request: Option<u64>,
    /// Complete active-call lists in a row that did not carry this call.
    missing_from_lists: u32,
    /// Weak: the switch holds the call's one strong address (see [`CallActor::spawn`]).
    actor: WeakActorRef<CallActor>,
}

/// Live calls by attempt id: a window from the oldest live attempt to the newest.
type LiveCalls = AttemptWindow<LiveCall>;

/// An attempt of an earlier run the switch still carried when this run started (see the
/// module doc).
struct RecoveredCall {
    attempt: AttemptId,
    lead: Option<LeadId>,
    callee: PhoneNumber,
    /// Lists in a row that did not carry it.
    missing_from_lists: u32,
    /// The state the latest list that carried it gave it: `None` until a list carries it, or
    /// when the switch named a state outside the vocabulary. Kept while lists miss it, until
    /// it is settled.
    state: Option<CallStatus>,
    /// Since when this run has seen it as a dial in flight (trying or ringing); `None` while
    /// it is not one. Its age in pacing's rich view counts from here: younger than the dial
    /// really is, so the predictive strategy expects more of its answers to come, not fewer.
    dial_seen_at: Option<SimTime>,
    /// This run has seen an agent answer it: connected after dequeued, held or transferred.
    reached_agent: bool,
}

impl RecoveredCall {
    /// Moves the call to `state`, keeping the rich view's dials in flight (`detail`, when
    /// pacing keeps one) in step: a call that becomes a dial in flight joins them at `now`,
    /// one that stops being one leaves them.
    fn move_to(
        &mut self,
        state: Option<CallStatus>,
        now: SimTime,
        detail: Option<&mut DetailTracker>,
    ) {
        let (was_dial, is_dial) = (is_a_dial(self.state), is_a_dial(state));
        self.reached_agent |= matches!(
            (self.state, state),
            (Some(CallStatus::Dequeued), Some(CallStatus::Connected))
                | (_, Some(CallStatus::Held | CallStatus::Transferred))
        );
        self.state = state;
        if was_dial == is_dial {
            return;
        }
        self.dial_seen_at = is_dial.then_some(now);
        if let Some(detail) = detail {
            if is_dial {
                detail.dial_placed(self.attempt, now);
            } else {
                detail.dial_left(self.attempt);
            }
        }
    }
}

/// How a recovered attempt ended.
enum RecoveredEnding {
    /// The list no longer carries it: `unknown`.
    Gone,
    /// Its own "terminated" callback said how ([`recovered_outcome`]).
    Heard {
        outcome: Outcome,
        reason: Option<crate::short_text::ShortText>,
        reason_code: Option<u16>,
    },
}

impl RecoveredEnding {
    fn outcome(&self) -> Outcome {
        match self {
            RecoveredEnding::Gone => Outcome::Unknown,
            RecoveredEnding::Heard { outcome, .. } => *outcome,
        }
    }
}

/// Calls as pacing counts them: dials in flight, calls waiting in the queue, agents on calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct CallLoad {
    dials_in_flight: u32,
    calls_queued: u32,
    agents_on_calls: u32,
}

impl CallLoad {
    /// This run's calls, from their app states.
    fn of_live(counts: &StateCounts) -> CallLoad {
        CallLoad {
            dials_in_flight: counts.get(AppState::Dialing) + counts.get(AppState::Ringing),
            // A suspect caller may still wait in the queue: it keeps its place until the list
            // settles it.
            calls_queued: counts.get(AppState::Queued) + counts.get(AppState::Suspect),
            agents_on_calls: counts.get(AppState::Offered)
                + counts.get(AppState::Talking)
                + counts.get(AppState::Held),
        }
    }

    /// Recovered calls (attempts of an earlier run still on the switch), by the state the
    /// switch's active-call list last gave each:
    /// - trying, ringing: a dial in flight;
    /// - queued: a call waiting in the queue;
    /// - connected, dequeued, held, transferred: an agent on a call (connected may also be the
    ///   callee's answer before the queue, and a transferred call may have freed its agent, but
    ///   the list cannot tell, so each holds one);
    /// - unknown (no list has carried it yet, or the switch named a state outside the
    ///   vocabulary): an agent on a call too. Conservative on purpose: after a restart most calls
    ///   still up are talking, and taking an agent busy on one for idle would over-dial right
    ///   after the restart (abandons);
    /// - terminated but still listed: nothing; the call is over and the list will drop it.
    fn of_recovered(states: impl IntoIterator<Item = Option<CallStatus>>) -> CallLoad {
        let mut load = CallLoad::default();
        for state in states {
            let slot = match state {
                Some(CallStatus::Trying | CallStatus::Ringing) => &mut load.dials_in_flight,
                Some(CallStatus::Queued) => &mut load.calls_queued,
                Some(
                    CallStatus::Connected
                    | CallStatus::Dequeued
                    | CallStatus::Held
                    | CallStatus::Transferred,
                )
                | None => &mut load.agents_on_calls,
                Some(CallStatus::Terminated) => continue,
            };
            *slot += 1;
        }
        load
    }

    /// This run's calls and the recovered ones together, as the snapshot counts them. The
    /// agents recovered calls hold count only up to the logged-in agents this run's calls leave
    /// free: some are counted on a guess (above), and pacing must never see more agents busy
    /// than are logged in (idle agents saturate at zero anyway, but the adaptive dial level
    /// counts busy agents too).
    fn for_pacing(live: CallLoad, recovered: CallLoad, agents_logged_in: u32) -> CallLoad {
        let free = agents_logged_in.saturating_sub(live.agents_on_calls);
        CallLoad {
            dials_in_flight: live.dials_in_flight + recovered.dials_in_flight,
            calls_queued: live.calls_queued + recovered.calls_queued,
            agents_on_calls: live.agents_on_calls + recovered.agents_on_calls.min(free),
        }
    }

    /// The agents pacing counted busy on recovered calls at `before` and no longer counts at
    /// `after` (this run's calls `live` and the agents logged in being the same). Of the agents
    /// freed by recovered calls that ended, only these are assumed to wrap up: one the cap of
    /// [`CallLoad::for_pacing`] left out was never taken from pacing's idle agents.
    fn agents_released(
        live: CallLoad,
        before: CallLoad,
        after: CallLoad,
        agents_logged_in: u32,
    ) -> u32 {
        let counted =
            |recovered| CallLoad::for_pacing(live, recovered, agents_logged_in).agents_on_calls;
        counted(before).saturating_sub(counted(after))
    }
}

/// The state a recovered call counts in after a callback reported `heard`, when it counted in
/// `before`. A callback is newer than the last list, so it replaces the listed state, with two
/// exceptions for "terminated", which frees nothing where it may be the release note's
/// limitation (an agent missed the call, and the caller still waits in the queue):
/// - after queued or dequeued (offered to an agent) the call keeps counting as it did;
/// - while no list has said where the call is (`None`) it keeps counting as an agent on a call.
///
/// The active-call list settles both, as it settles this run's suspect calls.
fn heard_state(before: Option<CallStatus>, heard: CallStatus) -> Option<CallStatus> {
    match (before, heard) {
        (None | Some(CallStatus::Queued | CallStatus::Dequeued), CallStatus::Terminated) => before,
        _ => Some(heard),
    }
}

/// The outcome a recovered call's "terminated" callback gives it, where that is certain, as the
/// call machine would give its own call: a dial in flight (`before` trying or ringing) by the
/// disconnect reason; a call an agent answered (`reached_agent`) as completed. `None` where the
/// callback may be the release note's limitation (an agent missed the call while the caller
/// still waits: after queued or dequeued) or where this run does not know the call's history
/// (no state yet, or connected without a dequeued before it, which may be the callee's answer
/// before the queue): the list settles those.
fn recovered_outcome(
    before: Option<CallStatus>,
    reached_agent: bool,
    reason: Option<&str>,
    reason_code: Option<u16>,
) -> Option<Outcome> {
    if reached_agent {
        return Some(Outcome::Completed);
    }
    match before? {
        CallStatus::Trying | CallStatus::Ringing => {
            Some(crate::switch::reasons::classify_early(reason, reason_code).outcome())
        }
        _ => None,
    }
}

/// Whether a recovered call in this state counts as an agent on a call
/// ([`CallLoad::of_recovered`]). When one ends in such a state, its agent wraps up.
fn holds_an_agent(state: Option<CallStatus>) -> bool {
    CallLoad::of_recovered([state]).agents_on_calls == 1
}

/// Whether a recovered call in this state counts as a dial in flight
/// ([`CallLoad::of_recovered`]).
fn is_a_dial(state: Option<CallStatus>) -> bool {
    CallLoad::of_recovered([state]).dials_in_flight == 1
}

/// Orders to the campaign from outside the engine (an admin at the command line or console).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CampaignControl {
    /// Place no more calls; finish once the calls in progress have ended.
    StopDialing,
    /// Place no new calls until [`CampaignControl::Resume`]; calls in progress go on.
    Pause,
    Resume,
    /// Pace with this strategy from now on.
    SetPacing(Strategy),
    /// The run is ending now (a live run's deadline, or an admin's stop at once): stop dialing
    /// and report what is known, calls still up included as such (their leads count as
    /// dialing). Nothing is ended or journaled as ended: the journal is flushed and attempts
    /// still up stay open in a store, for the next run's restart reconciliation.
    ReportNow,
}

impl CampaignControl {
    /// Its name in the trace's `control` records.
    pub fn action(&self) -> &'static str {
        match self {
            CampaignControl::StopDialing => "stop_dialing",
            CampaignControl::Pause => "pause",
            CampaignControl::Resume => "resume",
            CampaignControl::SetPacing(_) => "set_pacing",
            CampaignControl::ReportNow => "report_now",
        }
    }

    /// The order a `control` record names (`strategy` for `set_pacing`); `None` for an action
    /// this build does not know.
    pub fn from_action(action: &str, strategy: Option<Strategy>) -> Option<CampaignControl> {
        Some(match action {
            "stop_dialing" => CampaignControl::StopDialing,
            "pause" => CampaignControl::Pause,
            "resume" => CampaignControl::Resume,
            "set_pacing" => CampaignControl::SetPacing(strategy?),
            "report_now" => CampaignControl::ReportNow,
            _ => return None,
        })
    }
}

/// Asks for the campaign's [`CampaignStatus`] and, with `with_calls`, its live calls; the answer
/// goes to `reply`. Not engine mail: only the console asks, from outside the engine (see
/// [`ask_status`]).
#[derive(Debug)]
pub struct StatusQuery {
    pub with_calls: bool,
    pub reply: tokio::sync::oneshot::Sender<StatusReply>,
}

/// The answer to a [`StatusQuery`].
#[derive(Debug, Clone)]
pub struct StatusReply {
    pub status: CampaignStatus,
    pub calls: Option<Vec<LiveCallView>>,
}

impl Message for StatusQuery {
    type Result = ();
}

/// Asks a running campaign for its status (and its live calls, with `with_calls`), from any
/// thread. `None` if the campaign's supervisor has stopped.
pub async fn ask_status(
    supervisor: &ActorRef<CampaignSupervisor>,
    with_calls: bool,
) -> Option<StatusReply> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    supervisor.do_send(StatusQuery { with_calls, reply });
    answer.await.ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupervisorTimer {
    /// An agent's assumed wrap-up ends.
    WrapUpEnds,
    /// A redial becomes due.
    RedialDue,
    /// The dialing window closes.
    DialingCloses,
    /// Time to check watchdog deadlines.
    WatchdogSweep,
    /// A scheduled change of pacing (the index into the setup's changes) is due.
    PacingChange(u32),
    /// Time to ask for the active-call list.
    Reconcile,
}

/// Calls per app state (ended calls are not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct StateCounts([u32; 9]);

impl StateCounts {
    fn slot(state: AppState) -> Option<usize> {
        Some(match state {
            AppState::Dialing => 0,
            AppState::Ringing => 1,
            AppState::Answered => 2,
            AppState::Queued => 3,
            AppState::Offered => 4,
            AppState::Talking => 5,
            AppState::Held => 6,
            AppState::Transferred => 7,
            AppState::Suspect => 8,
            AppState::Ended(_) => return None,
        })
    }

    fn add(&mut self, state: AppState) {
        if let Some(slot) = StateCounts::slot(state) {
            self.0[slot] += 1;
        }
    }

    fn remove(&mut self, state: AppState) {
        if let Some(slot) = StateCounts::slot(state) {
            self.0[slot] = self.0[slot].saturating_sub(1);
        }
    }

    fn get(&self, state: AppState) -> u32 {
        StateCounts::slot(state).map_or(0, |slot| self.0[slot])
    }

    fn view(&self) -> CallsByState {
        let [
            dialing,
            ringing,
            answered,
            queued,
            offered,
            talking,
            held,
            transferred,
            suspect,
        ] = self.0;
        CallsByState {
            dialing,
            ringing,
            answered,
            queued,
            offered,
            talking,
            held,
            transferred,
            suspect,
        }
    }
}

pub struct CampaignSupervisor {
    clock: Clock,
    own_address: OwnAddress<Self>,
    call_env: Rc<CallEnv>,
    pacer: ActorRef<PacingActor>,
    ledger: SharedLedger,
    pacing_changes: Vec<(SimTime, Strategy)>,
    /// An answered call not connected within this is a compliance abandon.
    compliance_threshold: SimDuration,
    /// The numbers pacing works from: the last sent, adjusted for dials placed since.
    pacer_view: Option<CampaignNumbers>,
    done_to: Address<Mail<CampaignFinished>>,
    trace: SharedTrace,
    hopper: Hopper,
    live: LiveCalls,
    watchdogs: DeadlineQueue,
    watchdog_sweep: SimDuration,
    counts: StateCounts,
    assumed_wrap_up: SimDuration,
    wrap_up_ends: VecDeque<SimTime>,
    wrap_up_timer: Option<(SimTime, TimerHandle)>,
    redial_timer: Option<(SimTime, TimerHandle)>,
    sweep_timer: Option<(SimTime, TimerHandle)>,
    /// Calls found dead by the sweep, to be recorded as unknown.
    pending_lost: Vec<CallUpdate>,
    /// Each attempt's recorded outcome, for the end-of-run checks.
    outcome_of_attempt: Vec<Option<Outcome>>,
    outcomes_recorded_twice: u64,
    agents: AgentTime,
    max_attempts: Option<u64>,
    dial_until: Option<SimTime>,
    dialing_closed: bool,
    finished: bool,
    next_attempt: u64,
    dials_handled_total: u64,
    dials_unfilled: u64,
    tally: Tally,
    outcomes: [u64; Outcome::ALL.len()],
    anomalies: [u64; Anomaly::ALL.len()],
    pauses: u64,
    paused_since: Option<SimTime>,
    paused: SimDuration,
    max_queued: u32,
    journal: Box<dyn Journal>,
    journal_error: Option<String>,
    /// Dials of the pacing order being placed, journaled together (reused, no allocation).
    starting: Vec<AttemptStarted>,
    reconcile: ReconcileSettings,
    reconcile_timer: Option<(SimTime, TimerHandle)>,
    /// A list request is on its way: the number of requests sent so far and the attempts
    /// placed when it left.
    list_in_flight: Option<(u64, u64)>,
    /// Live calls the switch no longer notifies (suspect, or seen talking after that).
    detached_live: u32,
    /// Attempts of an earlier run still on the switch, in attempt order (see the module doc).
    recovered: Vec<RecoveredCall>,
    /// What `recovered` adds to pacing's counts, kept current with it
    /// ([`CampaignSupervisor::refresh_recovered_load`]): kept rather than summed in `snapshot`,
    /// where even a skipped call or loop costs a simulation about 20 instructions per attempt.
    recovered_load: CallLoad,
    reconcile_tally: ReconcileTally,
    startup: Option<InFlight>,
    /// Where call changes go for the console; `None` in every simulation.
    feed: Option<FeedPort>,
    /// An admin paused dialing.
    admin_paused: bool,
    /// PortaSwitch refused the login ([`SwitchNotice::LoginRefused`]): no dials until it works.
    login_refused: bool,
    /// Calls queued when the queue guard paused, while it is paused.
    guard_queued_at_pause: Option<u32>,
}

impl CampaignSupervisor {
    /// Starts the supervisor and its pacing actor, journaling in memory. `switch` receives the
    /// campaign's commands; `done_to` hears when the campaign has finished.
    pub fn start(
        setup: CampaignSetup,
        clock: Clock,
        switch: Address<Mail<SwitchCommand>>,
        done_to: Address<Mail<CampaignFinished>>,
        trace: SharedTrace,
    ) -> ActorRef<CampaignSupervisor> {
        CampaignSupervisor::start_with(
            setup,
            JournalSetup::in_memory(),
            None,
            clock,
            switch,
            done_to,
            trace,
        )
    }

    /// Starts the supervisor with the given journal (live campaigns: the store's), sending
    /// call changes to `feed` when one is given (the console's live runs).
    #[allow(clippy::too_many_arguments)]
    pub fn start_with(
        setup: CampaignSetup,
        journal: JournalSetup,
        feed: Option<FeedPort>,
        clock: Clock,
        switch: Address<Mail<SwitchCommand>>,
        done_to: Address<Mail<CampaignFinished>>,
        trace: SharedTrace,
    ) -> ActorRef<CampaignSupervisor> {
        actors::create(move |ctx: &mut EngineContext<CampaignSupervisor>| {
            let me = ctx.address();
            let max_dial =
                setup.call_settings.ring_timeout + setup.call_settings.dial_watchdog_grace;
            let mut ledger = PacingLedger::new(
                setup.abandon,
                max_dial.as_secs_f64(),
                setup.assumed_wrap_up.as_secs_f64(),
            );
            ledger.abandon.carry_in(&setup.prior_answers);
            let ledger = ledger.shared();
            let pacer = actors::start(PacingActor::new(
                setup.pacing,
                clock.clone(),
                me.clone().port(),
                trace.clone(),
                ledger.clone(),
            ));
            let mut recovered: Vec<RecoveredCall> = setup
                .recovered
                .into_iter()
                .map(|attempt| RecoveredCall {
                    attempt: attempt.attempt,
                    lead: attempt.lead,
                    callee: attempt.callee,
                    missing_from_lists: 0,
                    state: None,
                    dial_seen_at: None,
                    reached_agent: false,
                })
                .collect();
            recovered.sort_by_key(|call| call.attempt);
            recovered.dedup_by_key(|call| call.attempt);
            let recovered_count = recovered.len() as u64;
            let recovered_load = CallLoad::of_recovered(recovered.iter().map(|call| call.state));
            let call_env = Rc::new(CallEnv {
                clock: clock.clone(),
                switch,
                supervisor: me.port().into(),
                settings: setup.call_settings,
                report_ringing: feed.is_some() || journal.journal.keeps_call_states(),
                switch_calls: journal
                    .journal
                    .keeps_switch_calls()
                    .then(|| ctx.address().port().into()),
            });
            CampaignSupervisor {
                clock,
                own_address: OwnAddress::default(),
                call_env,
                pacer,
                ledger,
                pacing_changes: setup.pacing_changes,
                compliance_threshold: setup.abandon.threshold,
                pacer_view: None,
                done_to,
                trace,
                hopper: Hopper::with_compliance(setup.leads, setup.redial, setup.compliance),
                live: LiveCalls::new(),
                watchdogs: DeadlineQueue::default(),
                watchdog_sweep: setup.watchdog_sweep,
                counts: StateCounts::default(),
                assumed_wrap_up: setup.assumed_wrap_up,
                wrap_up_ends: VecDeque::new(),
                wrap_up_timer: None,
                redial_timer: None,
                sweep_timer: None,
                pending_lost: Vec::new(),
                outcome_of_attempt: Vec::new(),
                outcomes_recorded_twice: 0,
                agents: AgentTime::default(),
                max_attempts: setup.max_attempts,
                dial_until: setup.dial_until,
                dialing_closed: false,
                finished: false,
                next_attempt: journal.first_attempt.0.saturating_sub(1),
                dials_handled_total: 0,
                dials_unfilled: 0,
                tally: Tally::new(),
                outcomes: [0; Outcome::ALL.len()],
                anomalies: [0; Anomaly::ALL.len()],
                pauses: 0,
                paused_since: None,
                paused: SimDuration::ZERO,
                max_queued: 0,
                journal: journal.journal,
                journal_error: None,
                starting: Vec::new(),
                reconcile: setup.reconcile,
                reconcile_timer: None,
                list_in_flight: None,
                detached_live: 0,
                recovered,
                recovered_load,
                reconcile_tally: ReconcileTally {
                    recovered: recovered_count,
                    ..ReconcileTally::default()
                },
                startup: Some(InFlight::new()),
                feed,
                admin_paused: false,
                login_refused: false,
                guard_queued_at_pause: None,
            }
        })
    }

    /// The calls being followed now, in attempt order.
    pub fn live_calls(&self) -> Vec<LiveCallView> {
        self.live
            .iter()
            .map(|(attempt, call)| LiveCallView {
                attempt,
                lead: call.lead,
                callee: call.callee.clone(),
                state: call.state,
                since: call.since,
            })
            .collect()
    }

    fn queue_watchdog(&mut self, attempt: AttemptId, deadline: Option<SimTime>, stream: Stream) {
        let Some(call) = self.live.get_mut(attempt) else {
            return;
        };
        call.watchdog_at = deadline;
        let Some(deadline) = deadline else {
            return;
        };
        // A later deadline is found when the earlier queued one comes up.
        if call.watchdog_queued.is_none_or(|queued| deadline < queued) {
            call.watchdog_queued = Some(deadline);
            self.watchdogs.push(deadline, attempt, stream);
        }
    }

    fn sweep_watchdogs(&mut self, now: SimTime) {
        while let Some((deadline, attempt)) = self.watchdogs.pop_due(now) {
            let Some(call) = self.live.get_mut(attempt) else {
                continue;
            };
            if call.watchdog_queued != Some(deadline) {
                continue;
            }
            call.watchdog_queued = None;
            if let Some(later) = call.watchdog_at.filter(|at| *at > now) {
                self.queue_watchdog(attempt, Some(later), Stream::Later);
                continue;
            }
            match call.actor.upgrade().filter(ActorRef::connected) {
                Some(actor) if call.watchdog_at.is_some() => {
                    actor.do_send(Mail::new(WatchdogPoke));
                }
                Some(_) => {}
                None if call.presumed_dead => self.lose_call(attempt, now),
                None => {
                    // Its last update may still be on the way; give it one more sweep.
                    call.presumed_dead = true;
                    let recheck = now + self.watchdog_sweep;
                    call.watchdog_queued = Some(recheck);
                    self.watchdogs.push(recheck, attempt, Stream::Later);
                }
            }
        }
    }

    /// A call's actor died without reporting an end: record the attempt as unknown.
    fn lose_call(&mut self, attempt: AttemptId, now: SimTime) {
        let Some(call) = self.live.get_mut(attempt) else {
            return;
        };
        let update = CallUpdate {
            attempt,
            from: call.state,
            to: AppState::Ended(Outcome::Unknown),
            at: now,
            anomalies: smallvec::smallvec![Anomaly::WatchdogExpired],
            watchdog_at: None,
            record: Some(Box::new(AttemptRecord::unknown(
                attempt,
                call.lead,
                call.callee.clone(),
                call.dialed_at,
                now,
                "call actor stopped without an outcome",
            ))),
        };
        self.pending_lost.push(update);
    }

    fn attempts_left(&self) -> u64 {
        match self.max_attempts {
            Some(max) => max.saturating_sub(self.tally.attempts),
            None => u64::MAX,
        }
    }

    fn snapshot(&mut self, now: SimTime) -> PacingSnapshot {
        self.release_wrap_ups(now);
        let dialable_leads = if self.dialing_closed || self.dialing_held() {
            0
        } else {
            self.hopper.dialable_at(now).min(self.attempts_left())
        };
        let agents_logged_in = self.agents.logged_in();
        // Attempts of an earlier run still on the switch count as the list last showed them
        // (see `CallLoad::of_recovered`); none in a simulation, which skips the sum (the
        // snapshot is on the simulator's hot path).
        let live = CallLoad::of_live(&self.counts);
        let load = if self.recovered.is_empty() {
            live
        } else {
            CallLoad::for_pacing(live, self.recovered_load, agents_logged_in)
        };
        PacingSnapshot {
            now,
            agents_logged_in,
            agents_on_calls: load.agents_on_calls,
            agents_in_wrap_up: self.wrap_up_ends.len() as u32,
            dials_in_flight: load.dials_in_flight,
            calls_queued: load.calls_queued,
            dialable_leads,
            dialing_open: !self.dialing_closed && !self.dialing_held(),
        }
    }

    /// Dialing waits for someone: an admin paused it, or the switch refused the login.
    fn dialing_held(&self) -> bool {
        self.admin_paused || self.login_refused
    }

    /// The campaign's numbers now, for the console.
    fn status(&mut self) -> CampaignStatus {
        let now = self.clock.now();
        let snapshot = self.snapshot(now);
        let agents = AgentsView {
            logged_in: snapshot.agents_logged_in,
            on_calls: snapshot.agents_on_calls,
            wrap_up: snapshot.agents_in_wrap_up,
            idle: snapshot.idle_agents(),
        };
        let (answered, connected) = (self.tally.answered, self.tally.connected);
        let (abandon_rate, dial_level, occupancy) =
            super::feed::rates(answered, connected, agents, snapshot.dials_in_flight);
        let paused_now = self
            .paused_since
            .map_or(SimDuration::ZERO, |since| now - since);
        CampaignStatus {
            now_us: now.as_micros(),
            seq: self.feed.as_ref().map_or(0, FeedPort::seq),
            finished: self.finished,
            dialing_closed: self.dialing_closed,
            admin_paused: self.admin_paused,
            switch_login_refused: self.login_refused,
            queue_guard: GuardView {
                paused: self.paused_since.is_some(),
                since_us: self.paused_since.map(SimTime::as_micros),
                queued_at_pause: self.guard_queued_at_pause,
            },
            calls: self.counts.view(),
            agents,
            dials_in_flight: snapshot.dials_in_flight,
            queued: snapshot.calls_queued,
            attempts: self.tally.attempts,
            answered,
            connected,
            abandoned: answered.saturating_sub(connected),
            abandon_rate,
            dial_level,
            occupancy,
            outcomes: crate::report::OutcomeCounts::from_array(&self.outcomes),
            anomalies: self.anomalies.iter().sum(),
            pauses: self.pauses,
            paused_seconds: (self.paused + paused_now).as_secs_f64(),
            max_queued: self.max_queued,
            leads: self.hopper.tally(),
            dialable_leads: snapshot.dialable_leads,
            dials_unfilled: self.dials_unfilled,
            reconcile: self.reconcile_tally,
        }
    }

    /// Sends pacing the campaign's numbers, unless they are what pacing already knows.
    fn send_numbers(&mut self) {
        if self.finished {
            return;
        }
        let now = self.clock.now();
        let numbers = CampaignNumbers {
            snapshot: self.snapshot(now),
            dials_handled_total: self.dials_handled_total,
        };
        self.max_queued = self.max_queued.max(numbers.snapshot.calls_queued);
        if self.pacer_knows(&numbers) {
            return;
        }
        self.pacer_view = Some(numbers);
        self.pacer.do_send(Mail::new(numbers));
    }

    /// True if pacing's view already equals `numbers` (the time of the snapshot aside).
    fn pacer_knows(&self, numbers: &CampaignNumbers) -> bool {
        self.pacer_view.is_some_and(|known| {
            known.dials_handled_total == numbers.dials_handled_total
                && PacingSnapshot {
                    now: numbers.snapshot.now,
                    ..known.snapshot
                } == numbers.snapshot
        })
    }

    fn release_wrap_ups(&mut self, now: SimTime) {
        while self.wrap_up_ends.front().is_some_and(|end| *end <= now) {
            self.wrap_up_ends.pop_front();
        }
    }

    fn arm_wrap_up_timer(&mut self, ctx: &mut EngineContext<Self>) {
        let Some(&next) = self.wrap_up_ends.front() else {
            return;
        };
        self.clock.schedule_no_later(
            ctx,
            &mut self.own_address,
            &mut self.wrap_up_timer,
            next,
            SupervisorTimer::WrapUpEnds,
        );
    }

    fn arm_redial_timer(&mut self, ctx: &mut EngineContext<Self>) {
        let Some(next) = self.hopper.next_redial_due() else {
            return;
        };
        self.clock.schedule_no_later(
            ctx,
            &mut self.own_address,
            &mut self.redial_timer,
            next,
            SupervisorTimer::RedialDue,
        );
    }

    fn arm_sweep(&mut self, ctx: &mut EngineContext<Self>) {
        if self.finished || self.watchdog_sweep.is_zero() {
            return;
        }
        let at = self.clock.now() + self.watchdog_sweep;
        let handle = self.clock.schedule(
            ctx,
            &mut self.own_address,
            at,
            SupervisorTimer::WatchdogSweep,
        );
        self.sweep_timer = Some((at, handle));
    }

    /// Takes the next lead that may be dialed now and numbers its attempt; the attempt is
    /// placed by [`CampaignSupervisor::place_started`] once journaled.
    fn take_dial(&mut self, now: SimTime) -> bool {
        if self.dialing_closed
            || self.dialing_held()
            || self.attempts_left() <= self.starting.len() as u64
        {
            return false;
        }
        let Some((lead, callee)) = self.hopper.take_next(now) else {
            return false;
        };
        self.next_attempt += 1;
        self.starting.push(AttemptStarted {
            attempt: AttemptId(self.next_attempt),
            lead,
            callee,
            at: now,
        });
        true
    }

    /// Journals the dials taken, then places them: trace, call actor (which originates), live
    /// table. Returns how many were placed; none if the journal failed.
    fn place_started(&mut self, now: SimTime) -> u32 {
        self.record_set_aside(now);
        if self.starting.is_empty() {
            return 0;
        }
        if let Err(error) = self.journal.attempts_started(&self.starting) {
            self.unjournaled_starts(error, now);
            return 0;
        }
        let mut starting = std::mem::take(&mut self.starting);
        let placed = starting.len() as u32;
        for start in starting.drain(..) {
            self.place_dial(start, now);
        }
        self.starting = starting;
        placed
    }

    /// The journal could not record the attempts about to start. Not recorded, so not dialed:
    /// gives the leads back and stops dialing.
    #[cold]
    #[inline(never)]
    fn unjournaled_starts(&mut self, error: JournalError, now: SimTime) {
        for start in self.starting.drain(..).rev() {
            self.hopper.put_back(start.lead, now);
            self.next_attempt -= 1;
        }
        self.journal_error.get_or_insert_with(|| error.to_string());
        self.close_dialing();
    }

    /// Journals the leads the rules set aside while looking for leads to dial.
    fn record_set_aside(&mut self, now: SimTime) {
        if self.hopper.has_set_aside() {
            self.journal_set_aside(now);
        }
    }

    /// Out of line: most campaigns set nothing aside most of the time.
    #[inline(never)]
    fn journal_set_aside(&mut self, now: SimTime) {
        for set_aside in self.hopper.drain_set_aside() {
            let (lead, reason) = match set_aside {
                SetAside::DoNotCall(lead) => (lead, SetAsideReason::DoNotCall),
                SetAside::NoWindow(lead) => (lead, SetAsideReason::NoWindow),
            };
            self.journal.lead_set_aside(lead, now, reason);
        }
    }

    fn place_dial(&mut self, start: AttemptStarted, now: SimTime) {
        let AttemptStarted {
            attempt,
            lead,
            callee,
            ..
        } = start;
        self.trace.borrow_mut().record(
            now,
            &TraceRecord::Dial {
                attempt,
                lead,
                callee: &callee,
            },
        );
        self.tally.attempts += 1;
        let settings = self.call_env.settings;
        let machine = CallMachine::boxed(attempt, lead, callee.clone(), settings);
        let actor = CallActor::spawn(machine, self.call_env.clone());
        self.live.insert(
            attempt,
            LiveCall {
                lead,
                callee,
                state: AppState::Dialing,
                since: now,
                dialed_at: now,
                answered_at: None,
                agent_at: None,
                reached_queue: false,
                fate_recorded: false,
                watchdog_at: None,
                watchdog_queued: None,
                presumed_dead: false,
                detached_after_request: None,
                missing_from_lists: 0,
                actor,
            },
        );
        self.queue_watchdog(attempt, Some(settings.dial_deadline(now)), Stream::Dial);
        self.counts.add(AppState::Dialing);
        if let Some(feed) = self.feed.as_mut()
            && let Some(call) = self.live.get_mut(attempt)
        {
            feed.changed(|seq| CallChange {
                seq,
                attempt,
                lead,
                callee: call.callee.clone(),
                from: None,
                to: AppState::Dialing,
                at: now,
            });
        }
        let mut ledger = self.ledger.borrow_mut();
        ledger.abandon.record_dial(now);
        if let Some(detail) = ledger.detail_mut() {
            detail.dial_placed(attempt, now);
        }
    }

    fn close_dialing_if_due(&mut self, now: SimTime) {
        if self.dialing_closed {
            return;
        }
        let out_of_attempts = self.attempts_left() == 0;
        let past_window = self.dial_until.is_some_and(|until| now >= until);
        if out_of_attempts || past_window {
            self.close_dialing();
        }
    }

    /// No more dials: pacing is told to stop. Every way a run stops dialing comes here (out of
    /// attempts or past the window, an admin's stop, the journal failing, the end); out of
    /// line, since every call update checks whether it is due.
    #[cold]
    #[inline(never)]
    fn close_dialing(&mut self) {
        self.dialing_closed = true;
        self.pacer.do_send(Mail::new(PacingControl::Stop));
    }

    fn finish_if_done(&mut self) {
        if self.finished || !self.live.is_empty() || !self.recovered.is_empty() {
            return;
        }
        if !(self.dialing_closed || self.hopper.is_exhausted()) {
            return;
        }
        self.finish();
    }

    /// Stops dialing and the timers, flushes the journal and reports the campaign.
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let now = self.clock.now();
        if let Some(since) = self.paused_since.take() {
            self.paused += now - since;
        }
        if !self.dialing_closed {
            self.close_dialing();
        }
        for timer in [
            self.wrap_up_timer.take(),
            self.redial_timer.take(),
            self.sweep_timer.take(),
            self.reconcile_timer.take(),
        ]
        .into_iter()
        .flatten()
        {
            self.clock.cancel(timer.1);
        }
        if !self.recovered.is_empty() {
            tracing::warn!(
                attempts = self.recovered.len(),
                "attempts of an earlier run were still on the switch when this run ended; they stay in flight in the store"
            );
        }
        if let Err(error) = self.journal.flush() {
            self.journal_error.get_or_insert_with(|| error.to_string());
        }
        let report = EngineReport {
            tally: self.tally.clone(),
            outcomes: self.outcomes,
            anomalies: self.anomalies,
            agent_time: self.agents,
            pauses: self.pauses,
            paused: self.paused,
            max_queued: self.max_queued,
            leads: self.hopper.tally(),
            dials_unfilled: self.dials_unfilled,
            journal_error: self.journal_error.clone(),
            abandon: self.abandon_report(now),
            pacing_counters: self.ledger.borrow().counters,
            reconcile: self.reconcile_tally,
            outcome_of_attempt: std::mem::take(&mut self.outcome_of_attempt),
            outcomes_recorded_twice: self.outcomes_recorded_twice,
        };
        if self.feed.is_some() {
            let status = self.status();
            if let Some(feed) = &self.feed {
                feed.finished(status);
            }
        }
        self.done_to
            .do_send(Mail::new(CampaignFinished { at: now, report }));
    }

    fn on_call_update(&mut self, update: CallUpdate, ctx: &mut EngineContext<Self>) {
        let now = update.at;
        if self.live.get_mut(update.attempt).is_none() {
            // The attempt was already recorded (as lost); never count it twice.
            self.anomalies[Anomaly::LateEvent.index()] += 1;
            return;
        }
        for anomaly in &update.anomalies {
            self.anomalies[anomaly.index()] += 1;
        }
        let changed = update.from != update.to;
        if changed {
            self.counts.remove(update.from);
            self.counts.add(update.to);
            self.track_for_pacing(update.attempt, update.from, update.to, now);
            let agent_released = matches!(update.from, AppState::Talking | AppState::Held)
                && matches!(update.to, AppState::Ended(_) | AppState::Transferred);
            if agent_released && !self.assumed_wrap_up.is_zero() {
                self.wrap_up_ends.push_back(now + self.assumed_wrap_up);
                self.arm_wrap_up_timer(ctx);
            }
            let requests = self.reconcile_tally.requests;
            let mut detached_now = false;
            if let Some(call) = self.live.get_mut(update.attempt) {
                call.state = update.to;
                call.since = now;
                if update.to == AppState::Suspect && call.detached_after_request.is_none() {
                    call.detached_after_request = Some(requests);
                    detached_now = true;
                }
                if let Some(feed) = self.feed.as_mut() {
                    feed.changed(|seq| CallChange {
                        seq,
                        attempt: update.attempt,
                        lead: call.lead,
                        callee: call.callee.clone(),
                        from: Some(update.from),
                        to: update.to,
                        at: now,
                    });
                }
            }
            if detached_now {
                self.detached_live += 1;
                self.reconcile_tally.suspects += 1;
                self.arm_reconcile(ctx);
            }
            self.journal.call_state(update.attempt, now, update.to);
        }
        if update.record.is_none() {
            self.queue_watchdog(update.attempt, update.watchdog_at, Stream::Later);
        }
        if let Some(record) = update.record {
            let unrecorded_fate = self
                .live
                .get_mut(update.attempt)
                .filter(|call| !call.fate_recorded && record.outcome.was_answered_by_person())
                .map(|call| (call.answered_at, call.reached_queue));
            if let Some((answered_at, reached_queue)) = unrecorded_fate {
                self.record_fate(answered_at, reached_queue, &record, now);
            }
            let removed = self.live.remove(update.attempt);
            let reached_queue = removed.as_ref().is_some_and(|call| call.reached_queue);
            if removed.is_some_and(|call| call.detached_after_request.is_some()) {
                self.detached_live -= 1;
            }
            let outcome = record.outcome;
            self.outcomes[outcome.index()] += 1;
            let index = record.attempt.0 as usize;
            if self.outcome_of_attempt.len() <= index {
                self.outcome_of_attempt.resize(index + 1, None);
            }
            if self.outcome_of_attempt[index].replace(outcome).is_some() {
                self.outcomes_recorded_twice += 1;
            }
            if outcome.reached_agent() {
                self.tally
                    .record_connected(record.wait_for_agent().unwrap_or_default());
            } else if outcome.was_answered_by_person() {
                self.tally
                    .record_abandoned(record.wait_before_giving_up().unwrap_or_default());
            }
            self.tally.add_talk(record.talk);
            self.trace.borrow_mut().record(
                now,
                &TraceRecord::Outcome {
                    attempt: record.attempt,
                    outcome,
                },
            );
            let fate = self.hopper.on_outcome(record.lead, outcome, now);
            if let LeadFate::RedialAt(_) = fate {
                self.arm_redial_timer(ctx);
            }
            if let Some(kind) = AbandonKind::of_outcome(outcome) {
                self.journal.abandon_event(AbandonEvent {
                    at: now,
                    attempt: record.attempt,
                    kind,
                    answered_at: record.answered_at.unwrap_or(now),
                    reached_queue: reached_queue || record.queued_at.is_some(),
                    wait_for_agent: record.wait_for_agent(),
                    abandoned_in_queue: outcome == Outcome::AbandonedInQueue,
                });
            }
            let lead_attempts = self.hopper.attempts_of(record.lead);
            self.journal.attempt_ended(&record, fate, lead_attempts);
        }
        if changed {
            self.close_dialing_if_due(now);
            self.send_numbers();
        }
        self.finish_if_done();
    }

    /// Builds the rich view from the live calls when pacing has just asked for it.
    fn build_detail_if_wanted(&mut self, now: SimTime) {
        let mut ledger = self.ledger.borrow_mut();
        if !ledger.detail_missing() {
            return;
        }
        let detail = ledger.start_detail();
        for (attempt, call) in self.live.iter() {
            if call.state.is_dial_in_flight() {
                detail.dial_placed(attempt, call.dialed_at);
            } else if call.state.holds_agent() {
                detail.agent_busy(attempt, call.agent_at.unwrap_or(call.since));
            }
        }
        // Recovered calls join as dials in flight only: pacing's counts cap the agents they
        // hold by the agents logged in, which a list of busy agents cannot, so those agents
        // (and their wrap-ups) stay out, and the strategy expects none of them to free up.
        for call in &self.recovered {
            if let Some(seen_at) = call.dial_seen_at {
                detail.dial_placed(call.attempt, seen_at);
            }
        }
        for end in &self.wrap_up_ends {
            if *end > now {
                detail.add_wrap_up(*end);
            }
        }
        detail.answered_unqueued = self.counts.get(AppState::Answered);
    }

    /// Abandon accounting and the rich view, for one change of a call's state (before the
    /// call's own `state` and `since` are updated).
    fn track_for_pacing(&mut self, attempt: AttemptId, from: AppState, to: AppState, now: SimTime) {
        if self.ledger.borrow().detail_missing() {
            self.build_detail_if_wanted(now);
        }
        let threshold = self.compliance_threshold;
        let answered_unqueued = self.counts.get(AppState::Answered);
        let assumed_wrap_up = self.assumed_wrap_up;
        let Some(call) = self.live.get_mut(attempt) else {
            return;
        };
        let left_flight = from.is_dial_in_flight() && !to.is_dial_in_flight();
        if left_flight {
            call.answered_at = Some(now);
        }
        let person_for_sure = matches!(
            to,
            AppState::Queued
                | AppState::Offered
                | AppState::Talking
                | AppState::Held
                | AppState::Transferred
        );
        if person_for_sure {
            call.reached_queue = true;
        }
        let was_with_agent = matches!(from, AppState::Talking | AppState::Held);
        let connected = !was_with_agent
            && matches!(
                to,
                AppState::Talking | AppState::Held | AppState::Transferred
            );
        let newly_connected = connected && call.agent_at.is_none();
        if !newly_connected && !self.ledger.borrow().has_detail() {
            return;
        }
        let mut ledger = self.ledger.borrow_mut();
        if newly_connected {
            call.agent_at = Some(now);
            if !call.fate_recorded {
                call.fate_recorded = true;
                let answered_at = call.answered_at.unwrap_or(now);
                ledger.abandon.record_answered(
                    now,
                    AnsweredCall {
                        answered_at,
                        reached_queue: true,
                        connected_in_time: now - answered_at <= threshold,
                        abandoned_in_queue: false,
                    },
                );
            }
        }
        let Some(detail) = ledger.detail_mut() else {
            return;
        };
        if left_flight {
            detail.dial_left(attempt);
        }
        let estimates = &mut detail.estimates;
        if left_flight {
            let age = (now - call.dialed_at).as_secs_f64();
            match to {
                AppState::Answered => {}
                AppState::Ended(outcome) => {
                    let person = outcome.was_answered_by_person();
                    estimates.dials.record(age, person);
                    if person {
                        estimates.person_answers += 1;
                    }
                }
                _ => {
                    estimates.dials.record(age, true);
                    estimates.person_answers += 1;
                    estimates.queue_entry_delay.record(0.0);
                }
            }
        }
        if from == AppState::Answered && to != AppState::Answered {
            let answered_at = call.answered_at.unwrap_or(now);
            let age = (answered_at - call.dialed_at).as_secs_f64();
            let person =
                !matches!(to, AppState::Ended(outcome) if !outcome.was_answered_by_person());
            estimates.dials.record(age, person);
            if person {
                estimates.person_answers += 1;
                if person_for_sure {
                    estimates
                        .queue_entry_delay
                        .record((now - answered_at).as_secs_f64());
                }
            } else {
                estimates.machine_answers += 1;
            }
        }
        if from == AppState::Offered && to == AppState::Talking {
            estimates
                .agent_answer_delay
                .record((now - call.since).as_secs_f64());
        }
        let with_agent_before = from.holds_agent();
        let with_agent_after = to.holds_agent();
        if !with_agent_before && with_agent_after {
            detail.agent_busy(attempt, now);
        } else if with_agent_before && !with_agent_after {
            if let Some(agent_at) = call.agent_at {
                detail.estimates.talk.record((now - agent_at).as_secs_f64());
            }
            let released =
                was_with_agent && matches!(to, AppState::Ended(_) | AppState::Transferred);
            let free_at = if released { now + assumed_wrap_up } else { now };
            detail.agent_released(attempt, now, free_at);
        }
        detail.answered_unqueued = answered_unqueued;
    }

    /// An answered call ended before any connection was seen: count its fate from its record.
    fn record_fate(
        &mut self,
        answered_at: Option<SimTime>,
        reached_queue: bool,
        record: &AttemptRecord,
        now: SimTime,
    ) {
        let answered_at = record.answered_at.or(answered_at).unwrap_or(now);
        let connected_in_time = record
            .wait_for_agent()
            .is_some_and(|wait| wait <= self.compliance_threshold);
        self.ledger.borrow_mut().abandon.record_answered(
            now,
            AnsweredCall {
                answered_at,
                reached_queue: reached_queue || record.queued_at.is_some(),
                connected_in_time,
                abandoned_in_queue: record.outcome == Outcome::AbandonedInQueue,
            },
        );
    }

    fn abandon_report(&self, now: SimTime) -> AbandonReport {
        let mut ledger = self.ledger.borrow_mut();
        ledger.abandon.advance(now);
        AbandonReport {
            settings: *ledger.abandon.settings(),
            campaign_to_date: ledger.abandon.campaign(),
            rolling_24h: ledger.abandon.rolling_24h(),
            rolling_30d: ledger.abandon.rolling_30d(),
        }
    }

    /// Sets the reconcile timer if a list is wanted: while calls are detached, or at the
    /// configured interval.
    fn arm_reconcile(&mut self, ctx: &mut EngineContext<Self>) {
        if self.finished || self.list_in_flight.is_some() {
            return;
        }
        let watching = self.detached_live > 0 || !self.recovered.is_empty();
        let wait = match (watching, self.reconcile.interval) {
            (true, Some(every)) => every.min(self.reconcile.suspect_interval),
            (true, None) => self.reconcile.suspect_interval,
            (false, Some(every)) => every,
            (false, None) => return,
        };
        let at = self.clock.now() + wait;
        self.clock.schedule_no_later(
            ctx,
            &mut self.own_address,
            &mut self.reconcile_timer,
            at,
            SupervisorTimer::Reconcile,
        );
    }

    fn request_list(&mut self, ctx: &mut EngineContext<Self>) {
        self.reconcile_timer = None;
        if self.finished || self.list_in_flight.is_some() {
            return;
        }
        let only = if self.reconcile.interval.is_some() {
            None
        } else {
            // Recovered attempts are older than this run's, so the list stays in order.
            let watched: Vec<AttemptId> = self
                .recovered
                .iter()
                .map(|call| call.attempt)
                .chain(
                    self.live
                        .iter()
                        .filter(|(_, call)| call.detached_after_request.is_some())
                        .map(|(attempt, _)| attempt),
                )
                .collect();
            if watched.is_empty() {
                return;
            }
            Some(watched)
        };
        self.reconcile_tally.requests += 1;
        self.list_in_flight = Some((self.reconcile_tally.requests, self.next_attempt));
        self.call_env
            .switch
            .do_send(Mail::new(SwitchCommand::ListActiveCalls { only }));
        let _ = ctx;
    }

    /// Applies an active-call list: tells detached calls what it says, and ends calls that a
    /// run of complete lists no longer carries.
    fn on_active_calls(&mut self, list: ActiveCallList, ctx: &mut EngineContext<Self>) {
        self.reconcile_tally.lists += 1;
        // Which calls this list can judge: those placed (and detached) before it was asked for.
        let (requests_before, attempts_before) = if list.rebuild {
            (u64::MAX, self.next_attempt)
        } else {
            self.list_in_flight
                .take()
                .unwrap_or((self.reconcile_tally.requests, self.next_attempt))
        };
        let mut listed = list.listed;
        listed.sort_by_key(|entry| entry.attempt);
        let vanish_after = self.reconcile.vanish_after.max(1);
        let mut settled = 0;
        let mut seen_talking = 0;
        for (attempt, call) in self.live.iter_mut() {
            let entry = listed
                .binary_search_by_key(&attempt, |entry| entry.attempt)
                .ok()
                .map(|index| listed[index].state);
            let judged_detached = call
                .detached_after_request
                .is_some_and(|before| before < requests_before);
            let presence = match entry {
                Some(state) => {
                    call.missing_from_lists = 0;
                    if !judged_detached {
                        continue;
                    }
                    if call.state == AppState::Suspect
                        && matches!(
                            state,
                            Some(
                                crate::switch::CallStatus::Connected
                                    | crate::switch::CallStatus::Held
                                    | crate::switch::CallStatus::Transferred
                            )
                        )
                    {
                        seen_talking += 1;
                    }
                    Presence::Listed(state)
                }
                None if judged_detached => {
                    settled += 1;
                    Presence::Gone
                }
                None if list.complete && attempt.0 <= attempts_before => {
                    call.missing_from_lists += 1;
                    if call.missing_from_lists < vanish_after {
                        continue;
                    }
                    settled += 1;
                    Presence::Gone
                }
                None => continue,
            };
            if let Some(actor) = call.actor.upgrade() {
                actor.do_send(Mail::new(Reconciled(presence)));
            }
        }
        self.reconcile_tally.settled_by_list += settled;
        self.reconcile_tally.suspects_seen_talking += seen_talking;
        if !self.recovered.is_empty() {
            self.reconcile_recovered(&listed, vanish_after, ctx);
        }
        self.arm_reconcile(ctx);
    }

    /// Counts the recovered attempts again (see [`CallLoad::of_recovered`]); true if their load
    /// changed. `ended_on_agents` of them have just ended (or left the list) while counted as
    /// an agent on a call: those agents, as far as pacing had counted them, are assumed to wrap
    /// up first, as the agents of this run's calls are. Counted idle at once, they would be
    /// dialed for while still busy, right after a restart.
    fn refresh_recovered_load(
        &mut self,
        ended_on_agents: u32,
        ctx: &mut EngineContext<Self>,
    ) -> bool {
        let load = CallLoad::of_recovered(self.recovered.iter().map(|call| call.state));
        let released = ended_on_agents.min(CallLoad::agents_released(
            CallLoad::of_live(&self.counts),
            self.recovered_load,
            load,
            self.agents.logged_in(),
        ));
        if released > 0 && !self.assumed_wrap_up.is_zero() {
            let ends = self.clock.now() + self.assumed_wrap_up;
            self.wrap_up_ends
                .extend(std::iter::repeat_n(ends, released as usize));
            self.arm_wrap_up_timer(ctx);
        }
        let changed = load != self.recovered_load;
        self.recovered_load = load;
        changed
    }

    /// Applies a list to the recovered attempts (every list covers them: they are in every
    /// filtered request): one missing from `vanish_after` lists in a row has ended.
    fn reconcile_recovered(
        &mut self,
        listed: &[crate::switch::ListedCall],
        vanish_after: u32,
        ctx: &mut EngineContext<Self>,
    ) {
        let mut gone = Vec::new();
        let mut ended_on_agents = 0;
        let now = self.clock.now();
        let ledger = self.ledger.clone();
        let mut ledger = ledger.borrow_mut();
        self.recovered.retain_mut(|call| {
            if let Ok(index) = listed.binary_search_by_key(&call.attempt, |entry| entry.attempt) {
                let state = listed[index].state;
                if state == Some(CallStatus::Terminated) && holds_an_agent(call.state) {
                    ended_on_agents += 1;
                }
                call.missing_from_lists = 0;
                call.move_to(state, now, ledger.detail_mut());
                return true;
            }
            call.missing_from_lists += 1;
            if call.missing_from_lists < vanish_after {
                return true;
            }
            if holds_an_agent(call.state) {
                ended_on_agents += 1;
            }
            // Settled: it leaves the rich view as it leaves the counts.
            call.move_to(None, now, ledger.detail_mut());
            gone.push((call.attempt, call.lead, call.callee.clone()));
            false
        });
        drop(ledger);
        // Settled calls leave the counts with `recovered`; the others count as this list
        // shows them.
        let load_changed = self.refresh_recovered_load(ended_on_agents, ctx);
        if gone.is_empty() && !load_changed {
            return;
        }
        for (attempt, lead, callee) in gone {
            self.settle_recovered(attempt, lead, callee, now, RecoveredEnding::Gone, ctx);
        }
        self.send_numbers();
        self.finish_if_done();
    }

    /// A callback for a recovered attempt: its state counts in pacing's numbers from now on,
    /// without waiting for the next list (see [`heard_state`]). A "terminated" one whose
    /// outcome is certain ([`recovered_outcome`]) ends the attempt with it; the list settles
    /// the others. Live runs after a restart only: kept out of the notice handler's code.
    #[cold]
    #[inline(never)]
    fn on_recovered_state(
        &mut self,
        attempt: AttemptId,
        state: CallStatus,
        (reason, reason_code): (Option<crate::short_text::ShortText>, Option<u16>),
        ctx: &mut EngineContext<Self>,
    ) {
        let Ok(index) = self
            .recovered
            .binary_search_by_key(&attempt, |call| call.attempt)
        else {
            return;
        };
        let now = self.clock.now();
        let call = &mut self.recovered[index];
        if state == CallStatus::Terminated
            && let Some(outcome) = recovered_outcome(
                call.state,
                call.reached_agent,
                reason.as_deref(),
                reason_code,
            )
        {
            let mut call = self.recovered.remove(index);
            let ended_on_agent = holds_an_agent(call.state);
            // It leaves the rich view as it leaves the counts.
            call.move_to(None, now, self.ledger.borrow_mut().detail_mut());
            self.refresh_recovered_load(u32::from(ended_on_agent), ctx);
            let ending = RecoveredEnding::Heard {
                outcome,
                reason,
                reason_code,
            };
            self.settle_recovered(call.attempt, call.lead, call.callee, now, ending, ctx);
            self.send_numbers();
            self.finish_if_done();
            return;
        }
        let heard = heard_state(call.state, state);
        let ended_on_agent = heard == Some(CallStatus::Terminated) && holds_an_agent(call.state);
        call.move_to(heard, now, self.ledger.borrow_mut().detail_mut());
        if self.refresh_recovered_load(u32::from(ended_on_agent), ctx) {
            self.send_numbers();
        }
    }

    /// Ends a recovered attempt in the journal as `ending` says (`unknown` when the list no
    /// longer carries it); its lead follows the redial rule for that outcome. Not counted in
    /// this run's attempts or outcomes, nor traced: the attempt belongs to the earlier run.
    #[cold]
    #[inline(never)]
    fn settle_recovered(
        &mut self,
        attempt: AttemptId,
        lead: Option<LeadId>,
        callee: PhoneNumber,
        now: SimTime,
        ending: RecoveredEnding,
        ctx: &mut EngineContext<Self>,
    ) {
        let outcome = ending.outcome();
        let fate = match lead {
            Some(lead) => self.hopper.on_outcome(lead, outcome, now),
            None => LeadFate::Done,
        };
        if let LeadFate::RedialAt(_) = fate {
            self.arm_redial_timer(ctx);
        }
        let lead_attempts = lead.map_or(0, |lead| self.hopper.attempts_of(lead));
        tracing::info!(
            attempt = attempt.0,
            outcome = outcome.as_str(),
            fate = ?fate,
            "an attempt of an earlier run ended"
        );
        // No lead of this run: the journal then touches no lead.
        let journal_lead = lead.unwrap_or(LeadId(u64::MAX));
        let record = match ending {
            RecoveredEnding::Gone => {
                self.reconcile_tally.recovered_settled += 1;
                AttemptRecord::unknown(
                    attempt,
                    journal_lead,
                    callee,
                    SimTime::ZERO,
                    now,
                    RECOVERED_GONE,
                )
            }
            RecoveredEnding::Heard {
                outcome,
                reason,
                reason_code,
            } => {
                self.reconcile_tally.recovered_ended += 1;
                AttemptRecord::recovered(
                    attempt,
                    journal_lead,
                    callee,
                    now,
                    outcome,
                    reason,
                    reason_code,
                )
            }
        };
        self.journal.attempt_ended(&record, fate, lead_attempts);
    }

    fn on_guard(&mut self, transition: GuardTransition) {
        let now = self.clock.now();
        match transition {
            GuardTransition::Paused { queued } => {
                self.pauses += 1;
                self.paused_since = Some(now);
                self.guard_queued_at_pause = Some(queued);
            }
            GuardTransition::Resumed { .. } => {
                self.guard_queued_at_pause = None;
                if let Some(since) = self.paused_since.take() {
                    self.paused += now - since;
                }
            }
        }
    }
}

impl Actor for CampaignSupervisor {
    type Context = EngineContext<Self>;

    fn started(&mut self, ctx: &mut EngineContext<Self>) {
        if let Some(until) = self.dial_until {
            self.clock.schedule(
                ctx,
                &mut self.own_address,
                until,
                SupervisorTimer::DialingCloses,
            );
        }
        for index in 0..self.pacing_changes.len() {
            let at = self.pacing_changes[index].0;
            self.clock.schedule(
                ctx,
                &mut self.own_address,
                at,
                SupervisorTimer::PacingChange(index as u32),
            );
        }
        self.arm_sweep(ctx);
        self.arm_reconcile(ctx);
        self.startup = None;
    }
}

impl Handler<Mail<CallUpdate>> for CampaignSupervisor {
    type Result = ();

    fn handle(&mut self, mail: Mail<CallUpdate>, ctx: &mut EngineContext<Self>) {
        self.on_call_update(mail.body, ctx);
    }
}

impl Handler<Mail<SwitchCallNamed>> for CampaignSupervisor {
    type Result = ();

    /// A call's switch identity, for the journal (live campaigns with a store only; a rare
    /// repeat writes the same again).
    fn handle(&mut self, mail: Mail<SwitchCallNamed>, _ctx: &mut EngineContext<Self>) {
        let named = mail.body;
        if self.live.get_mut(named.attempt).is_some() {
            self.journal
                .switch_call(named.attempt, &named.call, &named.tracking_id);
        }
    }
}

impl Handler<Mail<PacingOrder>> for CampaignSupervisor {
    type Result = ();

    fn handle(&mut self, mail: Mail<PacingOrder>, ctx: &mut EngineContext<Self>) {
        match mail.body {
            PacingOrder::Dial { count } => {
                let now = self.clock.now();
                self.dials_handled_total += u64::from(count);
                let mut taken = 0;
                while taken < count && self.take_dial(now) {
                    taken += 1;
                }
                let placed = self.place_started(now);
                if taken > 0 {
                    // Deferrals set by the rules may come due before any redial timer.
                    self.arm_redial_timer(ctx);
                }
                self.close_dialing_if_due(now);
                if placed < count {
                    // Pacing counted these as in flight; tell it they never will be.
                    self.dials_unfilled += u64::from(count - placed);
                    self.send_numbers();
                    self.finish_if_done();
                } else if self.pacer_view.is_some() {
                    // Pacing already counts these dials as in flight: its view is current.
                    let current = CampaignNumbers {
                        snapshot: self.snapshot(now),
                        dials_handled_total: self.dials_handled_total,
                    };
                    self.pacer_view = Some(current);
                }
            }
            PacingOrder::GuardChanged(transition) => self.on_guard(transition),
        }
    }
}

impl Handler<Mail<SwitchNotice>> for CampaignSupervisor {
    type Result = ();

    fn handle(&mut self, mail: Mail<SwitchNotice>, ctx: &mut EngineContext<Self>) {
        let now = self.clock.now();
        trace::record_notice(&self.trace, now, &mail.body);
        match mail.body {
            SwitchNotice::AgentsLoggedIn { count } => {
                self.agents.set(now, count);
                self.send_numbers();
            }
            SwitchNotice::UnknownCall { .. } => {
                self.anomalies[Anomaly::UnknownCall.index()] += 1;
            }
            SwitchNotice::EventAfterEnd { .. } => {
                self.anomalies[Anomaly::LateEvent.index()] += 1;
            }
            SwitchNotice::ActiveCalls(list) => self.on_active_calls(list, ctx),
            SwitchNotice::ActiveCallsUnavailable { .. } => {
                self.list_in_flight = None;
                self.reconcile_tally.failures += 1;
                self.arm_reconcile(ctx);
            }
            SwitchNotice::SiteChanged { .. } => {
                self.reconcile_tally.site_changes += 1;
            }
            SwitchNotice::LoginRefused { site, reason } => {
                tracing::error!(
                    site = %site,
                    reason = %reason,
                    "PortaSwitch refused the login: no calls are placed until it works again"
                );
                self.login_refused = true;
                self.send_numbers();
            }
            SwitchNotice::LoginRestored { site } => {
                tracing::warn!(site = %site, "the login works again: dialing resumes");
                self.login_refused = false;
                self.send_numbers();
            }
            SwitchNotice::RecoveredCallState {
                attempt,
                state,
                reason,
                reason_code,
            } => {
                self.on_recovered_state(attempt, state, (reason, reason_code), ctx);
            }
        }
    }
}

impl Handler<Mail<SupervisorTimer>> for CampaignSupervisor {
    type Result = ();

    fn handle(&mut self, mail: Mail<SupervisorTimer>, ctx: &mut EngineContext<Self>) {
        let now = self.clock.now();
        match mail.body {
            SupervisorTimer::WrapUpEnds => {
                self.wrap_up_timer = None;
                self.release_wrap_ups(now);
                self.arm_wrap_up_timer(ctx);
            }
            SupervisorTimer::RedialDue => {
                self.redial_timer = None;
                self.hopper.dialable_at(now);
                self.arm_redial_timer(ctx);
            }
            SupervisorTimer::DialingCloses => self.close_dialing_if_due(now),
            SupervisorTimer::PacingChange(index) => {
                if let Some((_, strategy)) = self.pacing_changes.get(index as usize)
                    && !self.dialing_closed
                {
                    self.pacer
                        .do_send(Mail::new(PacingControl::SetStrategy(*strategy)));
                }
            }
            SupervisorTimer::Reconcile => self.request_list(ctx),
            SupervisorTimer::WatchdogSweep => {
                self.sweep_timer = None;
                self.sweep_watchdogs(now);
                for lost in std::mem::take(&mut self.pending_lost) {
                    self.on_call_update(lost, ctx);
                }
                self.arm_sweep(ctx);
            }
        }
        self.send_numbers();
        self.finish_if_done();
    }
}

impl Handler<Mail<CampaignControl>> for CampaignSupervisor {
    type Result = ();

    fn handle(&mut self, mail: Mail<CampaignControl>, _ctx: &mut EngineContext<Self>) {
        let strategy = match &mail.body {
            CampaignControl::SetPacing(strategy) => Some(strategy),
            _ => None,
        };
        self.trace.borrow_mut().record(
            self.clock.now(),
            &TraceRecord::Control {
                action: mail.body.action(),
                strategy,
            },
        );
        match mail.body {
            CampaignControl::StopDialing => {
                if !self.dialing_closed {
                    self.close_dialing();
                }
                self.send_numbers();
                self.finish_if_done();
            }
            CampaignControl::Pause => {
                self.admin_paused = true;
                self.send_numbers();
            }
            CampaignControl::Resume => {
                self.admin_paused = false;
                self.send_numbers();
            }
            CampaignControl::SetPacing(strategy) => {
                if !self.dialing_closed {
                    self.pacer
                        .do_send(Mail::new(PacingControl::SetStrategy(strategy)));
                }
            }
            CampaignControl::ReportNow => self.finish(),
        }
    }
}

impl Handler<Mail<DncUpdate>> for CampaignSupervisor {
    type Result = ();

    fn handle(&mut self, mail: Mail<DncUpdate>, _ctx: &mut EngineContext<Self>) {
        let (added, number) = match &mail.body {
            DncUpdate::Add(number) => (true, number),
            DncUpdate::Remove(number) => (false, number),
        };
        self.trace
            .borrow_mut()
            .record(self.clock.now(), &TraceRecord::DncEdit { added, number });
        let compliance = match self.hopper.compliance_mut() {
            Some(compliance) => compliance,
            None => {
                self.hopper.set_compliance(Compliance::new(
                    jiff::Timestamp::UNIX_EPOCH,
                    None,
                    ("UTC", jiff::tz::TimeZone::UTC),
                ));
                self.hopper
                    .compliance_mut()
                    .expect("compliance was just set")
            }
        };
        match mail.body {
            DncUpdate::Add(number) => {
                compliance.dnc.add(number);
            }
            DncUpdate::Remove(number) => {
                compliance.dnc.remove(&number);
            }
        }
    }
}

impl Handler<StatusQuery> for CampaignSupervisor {
    type Result = ();

    fn handle(&mut self, query: StatusQuery, _ctx: &mut EngineContext<Self>) {
        let _ = query.reply.send(StatusReply {
            status: self.status(),
            calls: query.with_calls.then(|| self.live_calls()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::switch::reasons::sim_reasons;
    use proptest::prelude::*;

    fn live(states: &[AppState]) -> CallLoad {
        let mut counts = StateCounts::default();
        for state in states {
            counts.add(*state);
        }
        CallLoad::of_live(&counts)
    }

    fn load(dials_in_flight: u32, calls_queued: u32, agents_on_calls: u32) -> CallLoad {
        CallLoad {
            dials_in_flight,
            calls_queued,
            agents_on_calls,
        }
    }

    /// A recovered call no list has shown yet.
    fn recovered_call() -> RecoveredCall {
        RecoveredCall {
            attempt: AttemptId(7),
            lead: None,
            callee: PhoneNumber("+12015550101".into()),
            missing_from_lists: 0,
            state: None,
            dial_seen_at: None,
            reached_agent: false,
        }
    }

    #[test]
    fn a_recovered_call_is_in_the_rich_view_exactly_while_it_is_a_dial_in_flight() {
        use CallStatus::*;
        let mut call = recovered_call();
        let mut detail = DetailTracker::new(60.0, 10.0);
        let at = |secs| SimTime::ZERO + SimDuration::from_secs(secs);
        let inflight = |detail: &DetailTracker| detail.inflight().collect::<Vec<_>>();

        // Not listed yet: assumed with an agent, not a dial.
        call.move_to(None, at(1), Some(&mut detail));
        assert!(inflight(&detail).is_empty());
        // Listed ringing: a dial in flight from when this run saw it so.
        call.move_to(Some(Ringing), at(5), Some(&mut detail));
        assert_eq!(inflight(&detail), [at(5)]);
        assert_eq!(call.dial_seen_at, Some(at(5)));
        // Still a dial: it keeps its age and is not counted twice.
        call.move_to(Some(Trying), at(8), Some(&mut detail));
        assert_eq!(inflight(&detail), [at(5)]);
        // Answered: no longer a dial.
        call.move_to(Some(Connected), at(9), Some(&mut detail));
        assert!(inflight(&detail).is_empty());
        assert_eq!(call.dial_seen_at, None);

        // Without a rich view the call still keeps its own time, for a view built later.
        call.move_to(Some(Ringing), at(20), None);
        assert_eq!(call.dial_seen_at, Some(at(20)));
        call.move_to(Some(Terminated), at(21), Some(&mut detail));
        assert_eq!(call.dial_seen_at, None);
        assert!(inflight(&detail).is_empty());
    }

    #[test]
    fn each_listed_state_of_a_recovered_call_counts_where_pacing_expects_it() {
        use CallStatus::*;
        let one = |state| CallLoad::of_recovered([state]);
        assert_eq!(one(Some(Trying)), load(1, 0, 0));
        assert_eq!(one(Some(Ringing)), load(1, 0, 0));
        assert_eq!(one(Some(Queued)), load(0, 1, 0));
        for holds_agent in [Connected, Dequeued, Held, Transferred] {
            assert_eq!(one(Some(holds_agent)), load(0, 0, 1), "{holds_agent:?}");
        }
        // Not listed yet, or a state outside the vocabulary: assumed talking to an agent.
        assert_eq!(one(None), load(0, 0, 1));
        // Over, though still listed.
        assert_eq!(one(Some(Terminated)), CallLoad::default());
        assert_eq!(
            CallLoad::of_recovered([None, Some(Ringing), Some(Connected), Some(Terminated)]),
            load(1, 0, 2)
        );
    }

    #[test]
    fn an_agent_talking_on_a_recovered_call_is_not_idle() {
        // Three agents logged in, two still talking on calls of the earlier run, none of this
        // run's calls up yet: one agent is idle, not three.
        let recovered = CallLoad::of_recovered([Some(CallStatus::Connected), None]);
        let counted = CallLoad::for_pacing(CallLoad::default(), recovered, 3);
        let snapshot = PacingSnapshot {
            now: SimTime::ZERO,
            agents_logged_in: 3,
            agents_on_calls: counted.agents_on_calls,
            agents_in_wrap_up: 0,
            dials_in_flight: counted.dials_in_flight,
            calls_queued: counted.calls_queued,
            dialable_leads: 10,
            dialing_open: true,
        };
        assert_eq!(snapshot.idle_agents(), 1);
        // With this run's calls too: one talking, one ringing, one queued.
        let this_run = live(&[AppState::Talking, AppState::Ringing, AppState::Queued]);
        assert_eq!(this_run, load(1, 1, 1));
        assert_eq!(CallLoad::for_pacing(this_run, recovered, 3), load(1, 1, 3));
        // Never more agents busy than logged in: the guessed ones give way.
        assert_eq!(CallLoad::for_pacing(this_run, recovered, 2), load(1, 1, 2));
        assert_eq!(CallLoad::for_pacing(this_run, recovered, 0), load(1, 1, 1));
    }

    #[test]
    fn agents_freed_by_recovered_calls_are_the_ones_pacing_had_counted() {
        use CallStatus::*;
        let recovered = |states: &[Option<CallStatus>]| CallLoad::of_recovered(states.to_vec());
        let talking = recovered(&[Some(Connected), Some(Held), None]);
        // All three end (or leave the list): three agents freed, with agents to spare.
        let none = recovered(&[]);
        assert_eq!(
            CallLoad::agents_released(load(0, 0, 0), talking, none, 5),
            3
        );
        // One ends, one goes back to the queue: two agents freed.
        let after = recovered(&[Some(Terminated), Some(Queued), None]);
        assert_eq!(
            CallLoad::agents_released(load(0, 0, 0), talking, after, 5),
            2
        );
        // A ringing call ending frees no agent.
        let ringing = recovered(&[Some(Ringing)]);
        assert_eq!(
            CallLoad::agents_released(load(0, 0, 0), ringing, none, 5),
            0
        );
        // Four agents logged in, this run's calls on two: pacing counted only two of the three
        // recovered agents, so only two are freed when all three end.
        assert_eq!(
            CallLoad::agents_released(load(0, 0, 2), talking, none, 4),
            2
        );
        // And none while this run's calls hold every agent.
        assert_eq!(
            CallLoad::agents_released(load(1, 0, 4), talking, none, 4),
            0
        );
        // New agents held (a call dequeued to one) free nothing.
        let dequeued = recovered(&[Some(Connected), Some(Dequeued), Some(Held), None]);
        assert_eq!(
            CallLoad::agents_released(load(0, 0, 0), talking, dequeued, 5),
            0
        );
    }

    #[test]
    fn a_callback_moves_a_recovered_call_except_a_terminated_that_may_be_the_limitation() {
        use CallStatus::*;
        // A newer state replaces the listed one.
        assert_eq!(heard_state(Some(Ringing), Connected), Some(Connected));
        assert_eq!(heard_state(None, Queued), Some(Queued));
        assert_eq!(heard_state(Some(Queued), Dequeued), Some(Dequeued));
        // The end of a call talking or ringing frees what it held.
        for before in [Trying, Ringing, Connected, Held, Transferred] {
            assert_eq!(heard_state(Some(before), Terminated), Some(Terminated));
            assert_eq!(
                CallLoad::of_recovered([heard_state(Some(before), Terminated)]),
                CallLoad::default()
            );
        }
        // "terminated" while queued or offered may be an agent's miss with the caller still
        // waiting; unknown, it may be too: the call keeps counting until the list settles it.
        for before in [Some(Queued), Some(Dequeued), None] {
            assert_eq!(heard_state(before, Terminated), before);
        }
    }

    #[test]
    fn a_recovered_call_s_own_terminated_ends_it_where_its_outcome_is_certain() {
        use CallStatus::*;
        let (busy, no_answer, clearing) = (
            sim_reasons::BUSY,
            sim_reasons::NO_ANSWER,
            sim_reasons::NORMAL_CLEARING,
        );
        let ends = |before, reached_agent, (reason, code): (&str, u16)| {
            recovered_outcome(before, reached_agent, Some(reason), Some(code))
        };
        // A dial in flight ends as its disconnect reason says, as the call machine's would.
        assert_eq!(ends(Some(Ringing), false, busy), Some(Outcome::Busy));
        assert_eq!(
            ends(Some(Trying), false, no_answer),
            Some(Outcome::NoAnswer)
        );
        // A call an agent answered is completed, whatever the reason text.
        assert_eq!(
            ends(Some(Connected), true, clearing),
            Some(Outcome::Completed)
        );
        assert_eq!(ends(Some(Held), true, clearing), Some(Outcome::Completed));
        // Queued, dequeued (the limitation), connected with no dequeued seen (perhaps the
        // callee's answer before the queue) or never seen: the list settles it.
        for before in [Some(Queued), Some(Dequeued), Some(Connected), None] {
            assert_eq!(ends(before, false, clearing), None, "{before:?}");
        }
    }

    #[test]
    fn an_agent_answering_a_recovered_call_is_seen_in_the_states_it_moves_through() {
        use CallStatus::*;
        let reached = |states: &[CallStatus]| {
            let mut call = recovered_call();
            for state in states {
                call.move_to(Some(*state), SimTime::ZERO, None);
            }
            call.reached_agent
        };
        assert!(reached(&[Queued, Dequeued, Connected]));
        assert!(reached(&[Connected, Held]));
        assert!(reached(&[Transferred]));
        // Connected before the queue is the callee's answer; dequeued alone is an offer.
        assert!(!reached(&[Ringing, Connected, Queued]));
        assert!(!reached(&[Queued, Dequeued]));
        assert!(!reached(&[Connected]));
    }

    fn any_listed_state() -> impl proptest::strategy::Strategy<Value = Option<CallStatus>> {
        prop::option::of(prop::sample::select(CallStatus::ALL.to_vec()))
    }

    fn any_app_state() -> impl proptest::strategy::Strategy<Value = AppState> {
        prop::sample::select(vec![
            AppState::Dialing,
            AppState::Ringing,
            AppState::Answered,
            AppState::Queued,
            AppState::Offered,
            AppState::Talking,
            AppState::Held,
            AppState::Transferred,
            AppState::Suspect,
            AppState::Ended(Outcome::Completed),
        ])
    }

    proptest! {
        #[test]
        fn every_recovered_call_not_terminated_counts_once(
            states in prop::collection::vec(any_listed_state(), 0..40),
        ) {
            let counted = CallLoad::of_recovered(states.iter().copied());
            let up = states
                .iter()
                .filter(|state| **state != Some(CallStatus::Terminated))
                .count() as u32;
            prop_assert_eq!(
                counted.dials_in_flight + counted.calls_queued + counted.agents_on_calls,
                up
            );
            let unknown = states.iter().filter(|state| state.is_none()).count() as u32;
            prop_assert!(counted.agents_on_calls >= unknown);
        }

        #[test]
        fn recovered_calls_add_to_this_runs_counts_without_passing_the_agents_logged_in(
            this_run in prop::collection::vec(any_app_state(), 0..40),
            states in prop::collection::vec(any_listed_state(), 0..40),
            logged_in in 0u32..40,
            wrap_up in 0u32..10,
        ) {
            let live = live(&this_run);
            let recovered = CallLoad::of_recovered(states.iter().copied());
            let counted = CallLoad::for_pacing(live, recovered, logged_in);
            // No recovered call: this run's counts, unchanged (simulations).
            prop_assert_eq!(CallLoad::for_pacing(live, CallLoad::default(), logged_in), live);
            prop_assert_eq!(counted.dials_in_flight, live.dials_in_flight + recovered.dials_in_flight);
            prop_assert_eq!(counted.calls_queued, live.calls_queued + recovered.calls_queued);
            // Recovered calls only ever add busy agents, all of them while there are agents
            // for them, and never more than are logged in.
            prop_assert!(counted.agents_on_calls >= live.agents_on_calls);
            prop_assert!(counted.agents_on_calls <= logged_in.max(live.agents_on_calls));
            if live.agents_on_calls + recovered.agents_on_calls <= logged_in {
                prop_assert_eq!(
                    counted.agents_on_calls,
                    live.agents_on_calls + recovered.agents_on_calls
                );
            }
            let snapshot = |agents_on_calls| PacingSnapshot {
                now: SimTime::ZERO,
                agents_logged_in: logged_in,
                agents_on_calls,
                agents_in_wrap_up: wrap_up,
                dials_in_flight: counted.dials_in_flight,
                calls_queued: counted.calls_queued,
                dialable_leads: 0,
                dialing_open: true,
            };
            let idle = snapshot(counted.agents_on_calls).idle_agents();
            prop_assert!(idle <= snapshot(live.agents_on_calls).idle_agents());
            prop_assert_eq!(
                idle,
                logged_in
                    .saturating_sub(counted.agents_on_calls)
                    .saturating_sub(wrap_up)
            );
        }
    }
}
