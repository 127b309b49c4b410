//! Pacing: how many calls to place now. Pure decisions over a [`PacingSnapshot`].
//!
//! Every strategy implements one trait, [`PacingStrategy`]: given a [`PacingInput`] (the
//! snapshot of counts, and when the strategy asks for them, the abandon accounting and the rich
//! view of the campaign) it answers with a [`Decision`]. Strategies with memory (the adaptive dial
//! level, preview reservations) are state machines, `(state, input) -> (state', decision)`: no
//! clock, no randomness, no messages. The queue guard, the abandon guard and the dialing limits
//! wrap every strategy the same way ([`pace`]). [`actor::PacingActor`] feeds inputs in and sends
//! the decisions to the campaign.
//!
//! Strategies, one file each:
//! - [`progressive`]: one dial in flight per idle agent;
//! - [`power`]: `ceil(ratio × idle agents)` dials in flight;
//! - [`rate`]: open loop at a mean rate with exponential gaps (the Erlang validation's Poisson
//!   arrivals; the actor draws the gaps, [`rate_gap`] turns a uniform draw into one);
//! - [`preview`]: agent first: reserve an idle agent, let them preview the lead, then dial;
//! - [`adaptive`]: VICIdial's ADAPT dial-level controller, as the familiar baseline;
//! - [`predictive`]: our closed-loop model of answers and agents against the abandon budget.
//!
//! Dispatch is by enum ([`Pacer`]), not `dyn`: the set of strategies is closed and known to the
//! scenario reader, the simple strategies stay inlined on the per-event path (the simulator's
//! speed target), strategies can be compared and swapped while running
//! (`PacingControl::SetStrategy`), and no allocation is needed to hold one. The trait is the
//! contract each strategy file implements and that the property tests check.
//!
//! Supporting modules: [`abandon`] (abandon accounting, budget and guard), [`limits`] (lines per
//! agent, calls per second), [`estimate`] (online-learned distributions), [`ledger`] (what the
//! campaign records for pacing), [`explain`] (plain-words explanations of traced decisions).
//!
//! Nothing here reads a clock, draws randomness or sends messages.

pub mod abandon;
pub mod actor;
pub mod adaptive;
pub mod estimate;
pub mod explain;
pub mod ledger;
pub mod limits;
pub mod power;
pub mod predictive;
pub mod preview;
pub mod progressive;
pub mod rate;

use crate::time::{SimDuration, SimTime};
use abandon::{AbandonView, guard_engaged, guard_room};
use adaptive::{AdaptiveNote, AdaptiveRatio, AdaptiveSettings};
use ledger::DetailTracker;
use limits::{CallRateLimiter, DialLimits};
use power::Power;
use predictive::{Predictive, PredictiveNote, PredictiveSettings};
use preview::Preview;
use progressive::Progressive;
use rate::Rate;
use serde::Serialize;

pub use rate::rate_gap;

/// The campaign's numbers at one instant, as pacing sees them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PacingSnapshot {
    pub now: SimTime,
    pub agents_logged_in: u32,
    /// Agents with a call ringing them, talking, or holding.
    pub agents_on_calls: u32,
    /// Agents the dialer believes are still in wrap-up after a call.
    pub agents_in_wrap_up: u32,
    /// Dials placed and not yet answered or failed, including orders the campaign has not yet
    /// placed (see [`actor::PacingActor`]).
    pub dials_in_flight: u32,
    /// Answered calls in the queue, waiting for an agent.
    pub calls_queued: u32,
    /// Leads that could be dialed right now.
    pub dialable_leads: u64,
    /// False once the campaign has stopped placing new calls.
    pub dialing_open: bool,
}

impl PacingSnapshot {
    /// Agents neither on a call nor in wrap-up.
    pub fn idle_agents(&self) -> u32 {
        self.agents_logged_in
            .saturating_sub(self.agents_on_calls)
            .saturating_sub(self.agents_in_wrap_up)
    }
}

/// A pacing strategy and its settings, as a scenario or a control message names it (and as a
/// trace records it, read back by a replay).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum Strategy {
    Progressive,
    Power {
        ratio: f64,
    },
    Rate {
        per_minute: f64,
    },
    Preview {
        /// How long an agent looks at the lead before the call is placed.
        preview_seconds: f64,
    },
    AdaptiveRatio(AdaptiveSettings),
    Predictive(PredictiveSettings),
}

impl Strategy {
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Progressive => "progressive",
            Strategy::Power { .. } => "power",
            Strategy::Rate { .. } => "rate",
            Strategy::Preview { .. } => "preview",
            Strategy::AdaptiveRatio(_) => "adaptive_ratio",
            Strategy::Predictive(_) => "predictive",
        }
    }

    /// True when the strategy dials on its own schedule rather than on state changes.
    pub fn is_open_loop(&self) -> bool {
        matches!(self, Strategy::Rate { .. })
    }

    /// True when the decision can change with the passage of time alone, so the pacing actor
    /// must re-evaluate on its tick even without news from the campaign.
    ///
    /// Progressive and power decide from the campaign's counts only, and the campaign reports
    /// every change of those counts (wrap-ups ending and redials falling due included), each
    /// answered by an evaluation at once; a tick in between would see the same counts and,
    /// because dials already ordered count as in flight, decide to dial nothing. Rate dials on
    /// its own arrival timer; preview on the wake-ups it asks for. Adaptive-ratio samples every
    /// second and predictive's ages and elapsed times grow with time: these two need the tick.
    pub fn needs_tick(&self) -> bool {
        match self {
            Strategy::Progressive
            | Strategy::Power { .. }
            | Strategy::Rate { .. }
            | Strategy::Preview { .. } => false,
            Strategy::AdaptiveRatio(_) | Strategy::Predictive(_) => true,
        }
    }

    /// True when the strategy may dial more calls than there are idle agents, and so can
    /// abandon answered calls: the abandon guard watches these.
    pub fn dials_ahead(&self) -> bool {
        matches!(
            self,
            Strategy::Power { .. } | Strategy::AdaptiveRatio(_) | Strategy::Predictive(_)
        )
    }

    /// How many dials to place now, for closed-loop strategies that need nothing but the
    /// snapshot (progressive and power); a convenience for tests and tools.
    pub fn decide(&self, snapshot: &PacingSnapshot) -> Decision {
        Pacer::new(*self).decide(&PacingInput::counts_only(snapshot))
    }
}

/// What a strategy sees when it decides.
#[derive(Clone, Copy, Debug)]
pub struct PacingInput<'a> {
    pub snapshot: &'a PacingSnapshot,
    /// Abandon counts and budget; present when the strategy or the abandon guard needs them.
    pub abandon: Option<&'a AbandonView>,
    /// The rich view; present when the strategy asks for it ([`PacingStrategy::needs_detail`]).
    pub detail: Option<&'a DetailTracker>,
    /// Dials ordered but not yet placed by the campaign: counted in
    /// `snapshot.dials_in_flight`, absent from `detail` (they are zero seconds old).
    pub unplaced_dials: u32,
    /// The abandon guard is engaged: whatever the strategy decides is held to progressive, so
    /// it may skip expensive work (set by [`pace`]).
    pub guard_engaged: bool,
}

impl<'a> PacingInput<'a> {
    pub fn counts_only(snapshot: &'a PacingSnapshot) -> PacingInput<'a> {
        PacingInput {
            snapshot,
            abandon: None,
            detail: None,
            unplaced_dials: 0,
            guard_engaged: false,
        }
    }
}

/// The contract of a pacing strategy.
pub trait PacingStrategy {
    fn name(&self) -> &'static str;

    /// The strategy's settings, for the trace and for reconfiguration.
    fn settings(&self) -> Strategy;

    /// True when the decision can change with time alone (ages and elapsed times grow, samples
    /// are due), so the actor must re-evaluate on its periodic tick.
    fn needs_tick(&self) -> bool {
        false
    }

    /// True when [`PacingInput::detail`] must be provided.
    fn needs_detail(&self) -> bool {
        false
    }

    /// True when [`PacingInput::abandon`] must be provided.
    fn needs_abandon(&self) -> bool {
        false
    }

    /// Called on each periodic tick, before [`PacingStrategy::decide`] (sampling). Returns a
    /// note when the tick changed something worth tracing (a new dial level).
    fn on_tick(&mut self, _input: &PacingInput<'_>) -> Option<StrategyNote> {
        None
    }

    /// How many dials to place now.
    fn decide(&mut self, input: &PacingInput<'_>) -> Decision;

    /// A time at which the strategy wants to decide again even without news (a preview ends,
    /// a placement interval is over).
    fn wake_at(&self) -> Option<SimTime> {
        None
    }

    /// The inputs and estimates behind the last decision, for the trace.
    fn note(&self) -> Option<StrategyNote> {
        None
    }
}

/// A running strategy: its settings and whatever it remembers.
#[derive(Clone, Debug)]
pub enum Pacer {
    Progressive(Progressive),
    Power(Power),
    Rate(Rate),
    Preview(Preview),
    AdaptiveRatio(Box<AdaptiveRatio>),
    Predictive(Box<Predictive>),
}

macro_rules! dispatch {
    ($self:expr, $pacer:ident => $body:expr) => {
        match $self {
            Pacer::Progressive($pacer) => $body,
            Pacer::Power($pacer) => $body,
            Pacer::Rate($pacer) => $body,
            Pacer::Preview($pacer) => $body,
            Pacer::AdaptiveRatio($pacer) => $body,
            Pacer::Predictive($pacer) => $body,
        }
    };
}

impl Pacer {
    pub fn new(strategy: Strategy) -> Pacer {
        match strategy {
            Strategy::Progressive => Pacer::Progressive(Progressive),
            Strategy::Power { ratio } => Pacer::Power(Power { ratio }),
            Strategy::Rate { per_minute } => Pacer::Rate(Rate { per_minute }),
            Strategy::Preview { preview_seconds } => Pacer::Preview(Preview::new(preview_seconds)),
            Strategy::AdaptiveRatio(settings) => {
                Pacer::AdaptiveRatio(Box::new(AdaptiveRatio::new(settings)))
            }
            Strategy::Predictive(settings) => {
                Pacer::Predictive(Box::new(Predictive::new(settings)))
            }
        }
    }

    /// Changes the settings while running. The same strategy keeps what it remembers (the
    /// adaptive dial level, preview reservations); another strategy starts fresh. Learned
    /// estimates live in the campaign's ledger and survive either way.
    pub fn reconfigure(&mut self, strategy: Strategy) {
        match (&mut *self, strategy) {
            (Pacer::AdaptiveRatio(adaptive), Strategy::AdaptiveRatio(settings)) => {
                adaptive.set_settings(settings)
            }
            (Pacer::Predictive(predictive), Strategy::Predictive(settings)) => {
                predictive.set_settings(settings)
            }
            (Pacer::Preview(preview), Strategy::Preview { preview_seconds }) => {
                preview.set_preview_seconds(preview_seconds)
            }
            _ => *self = Pacer::new(strategy),
        }
    }

    pub fn is_open_loop(&self) -> bool {
        matches!(self, Pacer::Rate(_))
    }

    /// True for strategies with notes worth tracing ([`PacingStrategy::note`]).
    pub fn has_notes(&self) -> bool {
        matches!(
            self,
            Pacer::Preview(_) | Pacer::AdaptiveRatio(_) | Pacer::Predictive(_)
        )
    }

    /// True for strategies that estimate their own abandons (predictive, against the budget);
    /// the guard's worst-case projection is for the others.
    pub fn models_abandons(&self) -> bool {
        matches!(self, Pacer::Predictive(_))
    }

    /// True for strategies that may ask to be woken ([`PacingStrategy::wake_at`]).
    pub fn may_wake(&self) -> bool {
        matches!(self, Pacer::Preview(_) | Pacer::AdaptiveRatio(_))
    }

    /// See [`Strategy::dials_ahead`].
    pub fn dials_ahead(&self) -> bool {
        matches!(
            self,
            Pacer::Power(_) | Pacer::AdaptiveRatio(_) | Pacer::Predictive(_)
        )
    }
}

impl PacingStrategy for Pacer {
    fn name(&self) -> &'static str {
        dispatch!(self, pacer => pacer.name())
    }

    fn settings(&self) -> Strategy {
        dispatch!(self, pacer => pacer.settings())
    }

    fn needs_tick(&self) -> bool {
        dispatch!(self, pacer => pacer.needs_tick())
    }

    fn needs_detail(&self) -> bool {
        dispatch!(self, pacer => pacer.needs_detail())
    }

    fn needs_abandon(&self) -> bool {
        dispatch!(self, pacer => pacer.needs_abandon())
    }

    fn on_tick(&mut self, input: &PacingInput<'_>) -> Option<StrategyNote> {
        dispatch!(self, pacer => pacer.on_tick(input))
    }

    #[inline(always)]
    fn decide(&mut self, input: &PacingInput<'_>) -> Decision {
        dispatch!(self, pacer => pacer.decide(input))
    }

    fn wake_at(&self) -> Option<SimTime> {
        dispatch!(self, pacer => pacer.wake_at())
    }

    fn note(&self) -> Option<StrategyNote> {
        dispatch!(self, pacer => pacer.note())
    }
}

/// What pacing decided, with the number it aimed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Dials to place now.
    pub dial: u32,
    /// Dials the strategy wants in flight.
    pub target: u32,
    /// Why fewer than wanted, if so.
    pub limited_by: Option<Limit>,
    /// Agents reserved now for a preview (their dials come when the preview ends).
    #[serde(skip_serializing_if = "is_zero")]
    pub reserve: u32,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// What held a decision below what the strategy wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    Paused,
    NoLeads,
    DialingClosed,
    /// The abandon guard fell back to progressive.
    AbandonGuard,
    /// The maximum of lines per agent.
    LinesPerAgent,
    /// The calls-per-second cap.
    CallsPerSecond,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Paused => "paused",
            Limit::NoLeads => "no_leads",
            Limit::DialingClosed => "dialing_closed",
            Limit::AbandonGuard => "abandon_guard",
            Limit::LinesPerAgent => "lines_per_agent",
            Limit::CallsPerSecond => "calls_per_second",
        }
    }
}

impl Decision {
    pub fn none(target: u32) -> Decision {
        Decision {
            dial: 0,
            target,
            limited_by: None,
            reserve: 0,
        }
    }

    /// Caps `wanted` by what the campaign can dial now.
    #[inline]
    pub fn capped(wanted: u32, target: u32, snapshot: &PacingSnapshot) -> Decision {
        if wanted == 0 {
            return Decision::none(target);
        }
        if !snapshot.dialing_open {
            return Decision {
                limited_by: Some(Limit::DialingClosed),
                ..Decision::none(target)
            };
        }
        let available = u32::try_from(snapshot.dialable_leads).unwrap_or(u32::MAX);
        if available < wanted {
            return Decision {
                dial: available,
                limited_by: Some(Limit::NoLeads),
                ..Decision::none(target)
            };
        }
        Decision {
            dial: wanted,
            ..Decision::none(target)
        }
    }

    pub fn paused(target: u32) -> Decision {
        Decision {
            limited_by: Some(Limit::Paused),
            ..Decision::none(target)
        }
    }

    /// Lowers the dials to `most`, naming the limit, if they were above it.
    fn limit_to(&mut self, most: u32, limit: Limit) {
        if self.dial > most {
            self.dial = most;
            self.limited_by = Some(limit);
        }
    }
}

/// The strategy-specific inputs and estimates behind a decision.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StrategyNote {
    Preview {
        /// Agents now looking at a lead before their dial.
        previewing: u32,
        preview_seconds: f64,
    },
    Adaptive(AdaptiveNote),
    Predictive(PredictiveNote),
}

/// Why a decision came out as it did: the strategy's note, the abandon accounting consulted,
/// and the guard.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Why {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<StrategyNote>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abandon: Option<AbandonNote>,
    /// The abandon guard replaced the strategy's decision by progressive's.
    pub guard_engaged: bool,
    /// What the strategy wanted before the guard and limits.
    pub wanted: u32,
}

/// The abandon accounting a decision saw.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AbandonNote {
    pub window: &'static str,
    /// Denominator and compliance abandons in the window.
    pub answers: u64,
    pub abandons: u64,
    pub rate: f64,
    pub cap: f64,
    /// The budget controller's allowed rate.
    pub allowed_rate: f64,
    /// Abandons the window can still take before passing the cap.
    pub budget_left: f64,
}

impl AbandonNote {
    pub fn of(view: &AbandonView) -> AbandonNote {
        AbandonNote {
            window: view.settings.window.as_str(),
            answers: view.window_denominator,
            abandons: view.window_abandons,
            rate: view.window_rate,
            cap: view.settings.cap,
            allowed_rate: view.allowed_rate,
            budget_left: view.budget_left(),
        }
    }
}

/// Everything around the strategy: the queue guard's state, whether the abandon guard applies,
/// the dialing limits and the calls-per-second limiter.
#[derive(Clone, Copy, Debug)]
pub struct Wrapping<'a> {
    pub queue_paused: bool,
    /// Apply the abandon guard (needs `input.abandon`).
    pub abandon_guard: bool,
    pub limits: &'a DialLimits,
    pub limiter: Option<&'a CallRateLimiter>,
}

/// The result of one pacing decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paced {
    pub decision: Decision,
    /// What the strategy wanted before the guard and limits.
    pub wanted: u32,
    /// The abandon guard replaced the strategy's decision by progressive's.
    pub guard_engaged: bool,
}

/// One pacing decision: the strategy, then the abandon guard (falling back to progressive when
/// the windowed rate would pass the cap), then the lines-per-agent and calls-per-second limits.
/// Pure: the caller records the dials with the limiter, and asks the strategy for its note
/// ([`PacingStrategy::note`]) when it traces the decision.
#[inline(always)]
pub fn pace(pacer: &mut Pacer, input: &PacingInput<'_>, wrapping: &Wrapping<'_>) -> Paced {
    let snapshot = input.snapshot;
    if wrapping.queue_paused {
        return Paced {
            decision: Decision::paused(0),
            wanted: 0,
            guard_engaged: false,
        };
    }
    let guard = wrapping.abandon_guard
        && pacer.dials_ahead()
        && input
            .abandon
            .is_some_and(|view| guard_engaged(view, snapshot.calls_queued));
    let mut decision = if guard {
        pacer.decide(&PacingInput {
            guard_engaged: true,
            ..*input
        })
    } else {
        pacer.decide(input)
    };
    let wanted = decision.dial;
    if guard {
        let safe = Progressive.decide(input);
        if safe.dial < decision.dial {
            decision.dial = safe.dial;
            decision.limited_by = Some(Limit::AbandonGuard);
        }
    } else if wrapping.abandon_guard
        && pacer.dials_ahead()
        && !pacer.models_abandons()
        && let Some(view) = input.abandon
        && let Some(room) = guard_room(
            view,
            snapshot.calls_queued,
            snapshot.idle_agents(),
            snapshot.dials_in_flight,
        )
    {
        let most = room.max(Progressive.decide(input).dial);
        decision.limit_to(most, Limit::AbandonGuard);
    }
    if let Some(max_lines) = wrapping.limits.max_lines(snapshot.agents_logged_in) {
        let room = max_lines.saturating_sub(snapshot.dials_in_flight);
        decision.limit_to(room, Limit::LinesPerAgent);
    }
    if let Some(limiter) = wrapping.limiter {
        decision.limit_to(limiter.available(snapshot.now), Limit::CallsPerSecond);
    }
    Paced {
        decision,
        wanted,
        guard_engaged: guard,
    }
}

/// The release note's automatic pause: stop dialing when `pause_at` answered calls are queued,
/// start again once the queue is down to `resume_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QueueGuard {
    pub pause_at: u32,
    pub resume_at: u32,
    paused: bool,
}

/// A change of the queue guard's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardTransition {
    Paused { queued: u32 },
    Resumed { queued: u32 },
}

impl QueueGuard {
    /// `resume_at` must be below `pause_at`; the scenario validator guarantees it.
    pub fn new(pause_at: u32, resume_at: u32) -> QueueGuard {
        QueueGuard {
            pause_at,
            resume_at,
            paused: false,
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Looks at the current queue length and says whether the guard changed state.
    pub fn observe(&mut self, queued: u32) -> Option<GuardTransition> {
        if !self.paused && queued >= self.pause_at {
            self.paused = true;
            Some(GuardTransition::Paused { queued })
        } else if self.paused && queued <= self.resume_at {
            self.paused = false;
            Some(GuardTransition::Resumed { queued })
        } else {
            None
        }
    }
}

/// Seconds as a duration, for settings written in seconds.
pub(crate) fn secs(value: f64) -> SimDuration {
    SimDuration::from_secs_f64(value)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use proptest::prelude::{Just, any, prop_oneof};
    use proptest::strategy::Strategy as Generator;

    pub fn snapshot(logged_in: u32, on_calls: u32, wrap: u32, in_flight: u32) -> PacingSnapshot {
        PacingSnapshot {
            now: SimTime::ZERO,
            agents_logged_in: logged_in,
            agents_on_calls: on_calls,
            agents_in_wrap_up: wrap,
            dials_in_flight: in_flight,
            calls_queued: 0,
            dialable_leads: 1_000,
            dialing_open: true,
        }
    }

    /// Arbitrary snapshots, small enough to reason about.
    pub fn any_snapshot() -> impl Generator<Value = PacingSnapshot> {
        (
            0u32..60,
            0u32..60,
            0u32..20,
            0u32..150,
            0u32..20,
            0u64..200,
            any::<bool>(),
            0u64..36_000,
        )
            .prop_map(
                |(logged_in, on_calls, wrap, in_flight, queued, leads, open, secs)| {
                    PacingSnapshot {
                        now: SimTime::from_secs(secs),
                        agents_logged_in: logged_in,
                        agents_on_calls: on_calls.min(logged_in),
                        agents_in_wrap_up: wrap,
                        dials_in_flight: in_flight,
                        calls_queued: queued,
                        dialable_leads: leads,
                        dialing_open: open,
                    }
                },
            )
    }

    /// Arbitrary settings of every closed-loop strategy.
    pub fn any_strategy() -> impl Generator<Value = super::Strategy> {
        prop_oneof![
            Just(super::Strategy::Progressive),
            (1.0f64..5.0).prop_map(|ratio| super::Strategy::Power { ratio }),
            (0.0f64..30.0).prop_map(|preview_seconds| super::Strategy::Preview { preview_seconds }),
            (1.0f64..3.0, 1.0f64..4.0).prop_map(|(initial, max)| {
                super::Strategy::AdaptiveRatio(AdaptiveSettings {
                    initial_level: initial,
                    maximum_level: max.max(initial),
                    ..AdaptiveSettings::default()
                })
            }),
            Just(super::Strategy::Predictive(PredictiveSettings::default())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use crate::pacing::abandon::{AbandonCounts, AbandonSettings};
    use proptest::prelude::{any, prop_assert, prop_assert_eq, proptest};

    #[test]
    fn progressive_keeps_one_dial_per_idle_agent() {
        let decision = Strategy::Progressive.decide(&snapshot(10, 4, 2, 1));
        assert_eq!(decision.target, 4);
        assert_eq!(decision.dial, 3);
    }

    #[test]
    fn decisions_respect_leads_and_closed_dialing() {
        let mut few_leads = snapshot(10, 0, 0, 0);
        few_leads.dialable_leads = 3;
        let decision = Strategy::Progressive.decide(&few_leads);
        assert_eq!(
            (decision.dial, decision.limited_by),
            (3, Some(Limit::NoLeads))
        );
        let mut closed = snapshot(10, 0, 0, 0);
        closed.dialing_open = false;
        assert_eq!(Strategy::Progressive.decide(&closed).dial, 0);
    }

    #[test]
    fn a_repeated_evaluation_of_unchanged_counts_dials_nothing() {
        // Why counts-only strategies need no tick: once the dials ordered count as in flight,
        // the same counts ask for nothing more.
        for strategy in [Strategy::Progressive, Strategy::Power { ratio: 2.3 }] {
            assert!(!strategy.needs_tick());
            let mut counts = snapshot(20, 6, 3, 4);
            let first = strategy.decide(&counts);
            assert!(first.dial > 0);
            counts.dials_in_flight += first.dial;
            assert_eq!(strategy.decide(&counts).dial, 0);
        }
    }

    #[test]
    fn every_strategy_says_the_same_about_the_tick_as_its_settings() {
        for strategy in [
            Strategy::Progressive,
            Strategy::Power { ratio: 2.0 },
            Strategy::Rate { per_minute: 6.0 },
            Strategy::Preview {
                preview_seconds: 5.0,
            },
            Strategy::AdaptiveRatio(AdaptiveSettings::default()),
            Strategy::Predictive(PredictiveSettings::default()),
        ] {
            assert_eq!(Pacer::new(strategy).needs_tick(), strategy.needs_tick());
        }
    }

    #[test]
    fn more_agents_busy_than_logged_in_means_no_idle_agents() {
        assert_eq!(snapshot(3, 5, 1, 0).idle_agents(), 0);
    }

    #[test]
    fn queue_guard_has_hysteresis() {
        let mut guard = QueueGuard::new(5, 2);
        assert_eq!(guard.observe(4), None);
        assert_eq!(
            guard.observe(5),
            Some(GuardTransition::Paused { queued: 5 })
        );
        assert_eq!(guard.observe(9), None);
        assert_eq!(guard.observe(3), None);
        assert!(guard.is_paused());
        assert_eq!(
            guard.observe(2),
            Some(GuardTransition::Resumed { queued: 2 })
        );
        assert!(!guard.is_paused());
    }

    fn view(denominator: u64, abandons: u64) -> AbandonView {
        AbandonView {
            settings: AbandonSettings::default(),
            answers_per_dial: 0.3,
            window_denominator: denominator,
            window_abandons: abandons,
            window_rate: 0.0,
            allowed_rate: 0.025,
            last_minute: AbandonCounts::default(),
            today: AbandonCounts::default(),
        }
    }

    #[test]
    fn the_abandon_guard_falls_back_to_progressive() {
        let snapshot = snapshot(10, 7, 0, 0);
        let mut power = Pacer::new(Strategy::Power { ratio: 3.0 });
        let limits = DialLimits::default();
        let wrapping = Wrapping {
            queue_paused: false,
            abandon_guard: true,
            limits: &limits,
            limiter: None,
        };
        let at_start = view(0, 0);
        let input = PacingInput {
            abandon: Some(&at_start),
            ..PacingInput::counts_only(&snapshot)
        };
        let paced = pace(&mut power, &input, &wrapping);
        assert!(paced.guard_engaged);
        assert_eq!((paced.wanted, paced.decision.dial), (9, 3));
        assert_eq!(paced.decision.limited_by, Some(Limit::AbandonGuard));
        let settled = view(2_000, 10);
        let input = PacingInput {
            abandon: Some(&settled),
            ..input
        };
        let paced = pace(&mut power, &input, &wrapping);
        assert!(!paced.guard_engaged);
        assert_eq!(paced.decision.dial, 9);
    }

    #[test]
    fn limits_hold_lines_and_calls_per_second() {
        let snapshot = snapshot(10, 0, 0, 5);
        let mut power = Pacer::new(Strategy::Power { ratio: 3.0 });
        let limits = DialLimits {
            max_lines_per_agent: Some(2.0),
            max_calls_per_second: None,
        };
        let wrapping = Wrapping {
            queue_paused: false,
            abandon_guard: false,
            limits: &limits,
            limiter: None,
        };
        let decision = pace(&mut power, &PacingInput::counts_only(&snapshot), &wrapping).decision;
        assert_eq!(
            (decision.dial, decision.limited_by),
            (15, Some(Limit::LinesPerAgent))
        );
        let limiter = CallRateLimiter::new(4.0);
        let wrapping = Wrapping {
            limiter: Some(&limiter),
            ..wrapping
        };
        let decision = pace(&mut power, &PacingInput::counts_only(&snapshot), &wrapping).decision;
        assert_eq!(
            (decision.dial, decision.limited_by),
            (4, Some(Limit::CallsPerSecond))
        );
    }

    proptest! {
        /// Every strategy, whatever it remembers: no dial while paused, with no leads or with
        /// dialing closed; never more than the leads; never past the lines-per-agent limit or the
        /// calls-per-second cap.
        #[test]
        fn every_strategy_respects_pauses_leads_and_limits(
            strategy in any_strategy(),
            snapshots in proptest::collection::vec(any_snapshot(), 1..30),
            paused in any::<bool>(),
            max_lines in proptest::option::of(1.0f64..4.0),
            cps in proptest::option::of(0.5f64..20.0),
            guard in any::<bool>(),
            denominator in 0u64..3000,
        ) {
            let mut pacer = Pacer::new(strategy);
            let limits = DialLimits { max_lines_per_agent: max_lines, max_calls_per_second: cps };
            let mut limiter = cps.map(CallRateLimiter::new);
            let abandon = view(denominator, denominator / 40);
            let mut sorted = snapshots.clone();
            sorted.sort_by_key(|s| s.now);
            for snapshot in &sorted {
                let input = PacingInput {
                    abandon: Some(&abandon),
                    ..PacingInput::counts_only(snapshot)
                };
                pacer.on_tick(&input);
                let wrapping = Wrapping {
                    queue_paused: paused,
                    abandon_guard: guard,
                    limits: &limits,
                    limiter: limiter.as_ref(),
                };
                let decision = pace(&mut pacer, &input, &wrapping).decision;
                if paused || !snapshot.dialing_open || snapshot.dialable_leads == 0 {
                    prop_assert_eq!(decision.dial, 0);
                }
                prop_assert!(u64::from(decision.dial) <= snapshot.dialable_leads);
                if let Some(max) = limits.max_lines(snapshot.agents_logged_in) {
                    prop_assert!(
                        decision.dial == 0 || decision.dial + snapshot.dials_in_flight <= max
                    );
                }
                if let Some(limiter) = limiter.as_mut() {
                    prop_assert!(decision.dial <= limiter.available(snapshot.now));
                    limiter.take(snapshot.now, decision.dial);
                }
                if guard && pacer.dials_ahead() && abandon::guard_engaged(&abandon, snapshot.calls_queued) {
                    prop_assert!(decision.dial <= snapshot.idle_agents().saturating_sub(snapshot.dials_in_flight));
                }
            }
        }

        /// Progressive and power dial more, never fewer, when more agents are idle.
        #[test]
        fn progressive_and_power_are_monotone_in_idle_agents(
            ratio in 1.0f64..5.0,
            base in any_snapshot(),
            extra in 0u32..10,
        ) {
            let mut more_idle = base;
            more_idle.agents_logged_in += extra;
            for strategy in [Strategy::Progressive, Strategy::Power { ratio }] {
                prop_assert!(strategy.decide(&more_idle).dial >= strategy.decide(&base).dial);
            }
        }
    }
}
