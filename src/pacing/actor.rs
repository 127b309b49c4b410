//! `PacingActor`: turns the campaign's numbers into dial orders, on every change, on a tick for
//! strategies whose decision changes with time alone, and when a strategy or limit asks to be
//! woken.
//!
//! The campaign supervisor sends a [`CampaignNumbers`] whenever its counts change. The actor runs
//! one pacing decision ([`crate::pacing::pace`]: the strategy, the queue guard, the abandon guard
//! and the dialing limits, all pure) and mails the supervisor a [`PacingOrder`] when there is
//! something to dial. Open-loop rate pacing runs on its own timer instead, with exponential gaps
//! drawn from the actor's seeded generator.
//!
//! Strategies that need more than the counts read the campaign's [`SharedLedger`]: the abandon
//! accounting, and the rich view the supervisor keeps only while the strategy asks for it. The
//! periodic tick is armed only for strategies that need it ([`PacingStrategy::needs_tick`]).
//!
//! Orders and counts cross in the mail: a snapshot can be taken before an earlier order was
//! placed. The actor therefore counts dials it ordered and the supervisor counts dials it
//! handled; the difference is added to the dials in flight, so the same idle agent is never
//! dialed for twice.
//!
//! Every order goes into the trace with the numbers behind it and, for strategies with more
//! inputs, the estimates and the abandon budget; so do strategy changes, the abandon guard
//! engaging and releasing, and strategy updates such as a new adaptive dial level.

use super::abandon::{AbandonView, guard_engaged};
use super::ledger::SharedLedger;
use super::limits::{CallRateLimiter, DialLimits};
use super::progressive::Progressive;
use super::{
    AbandonNote, Decision, GuardTransition, Limit, Paced, Pacer, PacingInput, PacingSnapshot,
    PacingStrategy, QueueGuard, Strategy, Why, Wrapping, pace, rate_gap,
};
use crate::clock::{Clock, OwnAddress, TimerHandle};
use crate::executor::actors::{EngineContext, Port};
use crate::mail::{InFlight, Mail};
use crate::time::{SimDuration, SimTime};
use crate::trace::{SharedTrace, TraceRecord};
use actix::{Actor, Handler};
use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};

/// The campaign's numbers, sent on every change.
#[derive(Debug, Clone, Copy)]
pub struct CampaignNumbers {
    pub snapshot: PacingSnapshot,
    /// Dials the supervisor has handled from orders so far, placed or not.
    pub dials_handled_total: u64,
}

/// Control messages for the pacing actor.
#[derive(Debug, Clone, Copy)]
pub enum PacingControl {
    /// The campaign will not dial again; stop timers.
    Stop,
    /// Replace the strategy or its settings, effective at once.
    SetStrategy(Strategy),
}

/// What pacing tells the campaign.
#[derive(Debug, Clone, Copy)]
pub enum PacingOrder {
    /// Place this many dials now.
    Dial { count: u32 },
    /// The queue guard paused or resumed dialing.
    GuardChanged(GuardTransition),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacingTimer {
    Tick,
    RateArrival,
    /// A strategy or the calls-per-second limit asked to decide again.
    Wake,
}

/// How pacing is set up for one run.
#[derive(Debug, Clone, Copy)]
pub struct PacingSetup {
    pub strategy: Strategy,
    pub queue_guard: Option<QueueGuard>,
    /// Re-evaluate this often, for strategies that need it; `None` for events only.
    pub tick: Option<SimDuration>,
    /// Seed for open-loop gaps.
    pub seed: u64,
    pub limits: DialLimits,
    /// Fall back to progressive when the abandon rate would pass the cap.
    pub abandon_guard: bool,
}

/// What pacing did that the report shows; kept in the ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PacingCounters {
    /// Decisions taken while the abandon guard was engaged (held to progressive).
    pub guard_fallbacks: u64,
    /// Dials the strategy asked for that the guard held back (predictive does not ask for more
    /// than progressive while the guard is engaged, so this counts the other strategies).
    pub dials_held_by_guard: u64,
    /// Decisions cut by the lines-per-agent limit, and by the calls-per-second cap.
    pub lines_limited: u64,
    pub calls_per_second_limited: u64,
    /// Decisions that, by an independent check of the abandon view, placed more dials than
    /// progressive while the hard guard should have held them to it (an invariant: always 0).
    pub guard_exceeded: u64,
    /// Decisions checked that way.
    pub guard_checked: u64,
}

pub struct PacingActor {
    pacer: Pacer,
    /// What the strategy needs (cached from the pacer).
    needs_abandon: bool,
    needs_detail: bool,
    guard: Option<QueueGuard>,
    abandon_guard: bool,
    guard_engaged: bool,
    limits: DialLimits,
    limiter: Option<CallRateLimiter>,
    ledger: SharedLedger,
    latest: Option<PacingSnapshot>,
    dials_ordered_total: u64,
    dials_handled_total: u64,
    clock: Clock,
    own_address: OwnAddress<Self>,
    campaign: Port<Mail<PacingOrder>>,
    trace: SharedTrace,
    tick: Option<SimDuration>,
    tick_timer: Option<TimerHandle>,
    arrival_timer: Option<TimerHandle>,
    wake_timer: Option<(SimTime, TimerHandle)>,
    rng: ChaCha8Rng,
    stopped: bool,
    startup: Option<InFlight>,
}

impl PacingActor {
    pub fn new(
        setup: PacingSetup,
        clock: Clock,
        campaign: Port<Mail<PacingOrder>>,
        trace: SharedTrace,
        ledger: SharedLedger,
    ) -> PacingActor {
        let pacer = Pacer::new(setup.strategy);
        let mut actor = PacingActor {
            pacer,
            needs_abandon: false,
            needs_detail: false,
            guard: setup.queue_guard,
            abandon_guard: setup.abandon_guard,
            guard_engaged: false,
            limits: setup.limits,
            limiter: setup.limits.max_calls_per_second.map(CallRateLimiter::new),
            ledger,
            latest: None,
            dials_ordered_total: 0,
            dials_handled_total: 0,
            clock,
            own_address: OwnAddress::default(),
            campaign,
            trace,
            tick: setup.tick,
            tick_timer: None,
            arrival_timer: None,
            wake_timer: None,
            rng: ChaCha8Rng::seed_from_u64(setup.seed),
            stopped: false,
            startup: Some(InFlight::new()),
        };
        actor.learn_needs();
        actor
    }

    /// Ordered dials the supervisor has not handled yet.
    fn outstanding(&self) -> u32 {
        u32::try_from(
            self.dials_ordered_total
                .saturating_sub(self.dials_handled_total),
        )
        .unwrap_or(u32::MAX)
    }

    /// The latest snapshot with ordered-but-unhandled dials counted as in flight, and as leads
    /// already taken.
    fn effective_snapshot(&self) -> Option<PacingSnapshot> {
        let mut snapshot = self.latest?;
        let outstanding = self.outstanding();
        snapshot.dials_in_flight = snapshot.dials_in_flight.saturating_add(outstanding);
        snapshot.dialable_leads = snapshot
            .dialable_leads
            .saturating_sub(u64::from(outstanding));
        snapshot.now = self.clock.now();
        Some(snapshot)
    }

    fn is_paused(&self) -> bool {
        self.guard.is_some_and(|guard| guard.is_paused())
    }

    fn record_strategy(&self) {
        let settings = self.pacer.settings();
        self.trace.borrow_mut().record(
            self.clock.now(),
            &TraceRecord::PacingStrategy {
                strategy: &settings,
            },
        );
    }

    /// Caches what the strategy needs, so the per-event path asks nothing of it.
    fn learn_needs(&mut self) {
        self.needs_abandon =
            self.pacer.needs_abandon() || (self.abandon_guard && self.pacer.dials_ahead());
        self.needs_detail = self.pacer.needs_detail();
        self.ledger.borrow_mut().want_detail(self.needs_detail);
    }

    /// One decision. `tick`: this is the periodic tick (strategies sample first).
    fn evaluate(&mut self, ctx: &mut EngineContext<Self>, tick: bool) {
        if self.stopped || self.pacer.is_open_loop() {
            return;
        }
        let Some(snapshot) = self.effective_snapshot() else {
            return;
        };
        let wrapping = Wrapping {
            queue_paused: self.is_paused(),
            abandon_guard: self.abandon_guard,
            limits: &self.limits,
            limiter: self.limiter.as_ref(),
        };
        if !(self.needs_abandon || self.needs_detail || tick) {
            // The simple strategies: counts only.
            let input = PacingInput::counts_only(&snapshot);
            let paced = pace(&mut self.pacer, &input, &wrapping);
            self.after_decision(ctx, &snapshot, paced, None);
            return;
        }
        let now = snapshot.now;
        let ledger = self.ledger.clone();
        let abandon = if self.needs_abandon {
            Some(ledger.borrow_mut().abandon.view(now))
        } else {
            None
        };
        if self.needs_detail {
            let mut ledger = ledger.borrow_mut();
            match ledger.detail_mut() {
                Some(detail) => detail.refresh(now),
                None => ledger.want_detail(true),
            }
        }
        let (paced, update) = {
            let ledger = ledger.borrow();
            let input = PacingInput {
                snapshot: &snapshot,
                abandon: abandon.as_ref(),
                detail: if self.needs_detail {
                    ledger.detail()
                } else {
                    None
                },
                unplaced_dials: self.outstanding(),
                guard_engaged: false,
            };
            let update = if tick {
                self.pacer.on_tick(&input)
            } else {
                None
            };
            (pace(&mut self.pacer, &input, &wrapping), update)
        };
        if let Some(note) = update {
            self.trace
                .borrow_mut()
                .record(now, &TraceRecord::StrategyUpdate { note: &note });
        }
        self.after_decision(ctx, &snapshot, paced, abandon.as_ref());
    }

    fn after_decision(
        &mut self,
        ctx: &mut EngineContext<Self>,
        snapshot: &PacingSnapshot,
        paced: Paced,
        abandon: Option<&AbandonView>,
    ) {
        if self.abandon_guard
            && self.pacer.dials_ahead()
            && let Some(view) = abandon
        {
            self.check_guard(snapshot, view, paced.decision.dial);
        }
        let abandon = abandon.map(AbandonNote::of);
        if let Some(abandon) = &abandon {
            self.follow_guard(snapshot.now, paced.guard_engaged, abandon);
        }
        if paced.decision.limited_by.is_some() || paced.guard_engaged {
            self.count(&paced);
        }
        let decision = paced.decision;
        if decision.dial > 0 || decision.reserve > 0 {
            let why = (abandon.is_some() || self.pacer.has_notes()).then(|| Why {
                note: self.pacer.note(),
                abandon,
                guard_engaged: paced.guard_engaged,
                wanted: paced.wanted,
            });
            self.order(snapshot, &decision, why.as_ref());
        }
        if self.pacer.may_wake() || decision.limited_by == Some(Limit::CallsPerSecond) {
            self.schedule_wake(ctx, &decision, snapshot.now);
        }
    }

    /// The end-of-run invariant "the abandon hard guard is never exceeded", checked apart from
    /// [`pace`]: whenever one more abandon would put the windowed rate over the cap, no decision
    /// may dial more than progressive would.
    fn check_guard(&mut self, snapshot: &PacingSnapshot, view: &AbandonView, dialed: u32) {
        let mut ledger = self.ledger.borrow_mut();
        let counters = &mut ledger.counters;
        counters.guard_checked += 1;
        if guard_engaged(view, snapshot.calls_queued) {
            let progressive = Progressive.decide(&PacingInput::counts_only(snapshot)).dial;
            if dialed > progressive {
                counters.guard_exceeded += 1;
            }
        }
    }

    /// Traces the abandon guard engaging and releasing.
    fn follow_guard(&mut self, now: SimTime, engaged: bool, abandon: &AbandonNote) {
        if !self.abandon_guard || !self.pacer.dials_ahead() || engaged == self.guard_engaged {
            return;
        }
        self.guard_engaged = engaged;
        self.trace
            .borrow_mut()
            .record(now, &TraceRecord::AbandonGuard { engaged, abandon });
    }

    fn count(&mut self, paced: &Paced) {
        let held = paced.wanted.saturating_sub(paced.decision.dial);
        let mut ledger = self.ledger.borrow_mut();
        let counters = &mut ledger.counters;
        if paced.guard_engaged {
            counters.guard_fallbacks += 1;
        }
        match paced.decision.limited_by {
            Some(Limit::AbandonGuard) => counters.dials_held_by_guard += u64::from(held),
            Some(Limit::LinesPerAgent) => counters.lines_limited += 1,
            Some(Limit::CallsPerSecond) => counters.calls_per_second_limited += 1,
            _ => {}
        }
    }

    fn order(&mut self, snapshot: &PacingSnapshot, decision: &Decision, why: Option<&Why>) {
        self.trace.borrow_mut().record(
            snapshot.now,
            &TraceRecord::Pacing {
                strategy: self.pacer.name(),
                snapshot,
                idle_agents: snapshot.idle_agents(),
                decision,
                why,
            },
        );
        if decision.dial == 0 {
            return;
        }
        if let Some(limiter) = self.limiter.as_mut() {
            limiter.take(snapshot.now, decision.dial);
        }
        self.dials_ordered_total += u64::from(decision.dial);
        self.campaign.do_send(Mail::new(PacingOrder::Dial {
            count: decision.dial,
        }));
    }

    fn observe_guard(&mut self, queued: u32) {
        let Some(guard) = self.guard.as_mut() else {
            return;
        };
        if let Some(transition) = guard.observe(queued) {
            self.trace
                .borrow_mut()
                .record(self.clock.now(), &TraceRecord::QueueGuard { transition });
            self.campaign
                .do_send(Mail::new(PacingOrder::GuardChanged(transition)));
        }
    }

    fn schedule_tick(&mut self, ctx: &mut EngineContext<Self>) {
        if let Some(every) = self.tick
            && !every.is_zero()
            && !self.stopped
            && self.pacer.needs_tick()
            && self.tick_timer.is_none()
        {
            let at = self.clock.now() + every;
            self.tick_timer =
                Some(
                    self.clock
                        .schedule(ctx, &mut self.own_address, at, PacingTimer::Tick),
                );
        }
    }

    /// Arms the wake timer for the strategy's next wish, or for when the calls-per-second cap
    /// lets the next dial go.
    fn schedule_wake(&mut self, ctx: &mut EngineContext<Self>, decision: &Decision, now: SimTime) {
        let mut wake = self.pacer.wake_at();
        if decision.limited_by == Some(Limit::CallsPerSecond)
            && let Some(limiter) = self.limiter.as_ref()
        {
            let next = limiter.next_allowed(now);
            wake = Some(wake.map_or(next, |at| at.min(next)));
        }
        let Some(at) = wake.filter(|at| *at > now) else {
            return;
        };
        // An earlier wake decides again and re-arms for this one.
        self.clock.schedule_no_later(
            ctx,
            &mut self.own_address,
            &mut self.wake_timer,
            at,
            PacingTimer::Wake,
        );
    }

    fn schedule_arrival(&mut self, ctx: &mut EngineContext<Self>) {
        if let Strategy::Rate { per_minute } = self.pacer.settings()
            && !self.stopped
        {
            let uniform = unit_interval(self.rng.next_u64());
            let at = self.clock.now() + rate_gap(per_minute, uniform);
            self.arrival_timer =
                Some(
                    self.clock
                        .schedule(ctx, &mut self.own_address, at, PacingTimer::RateArrival),
                );
        }
    }

    fn on_rate_arrival(&mut self, ctx: &mut EngineContext<Self>) {
        self.arrival_timer = None;
        if self.stopped {
            return;
        }
        if let Some(snapshot) = self.effective_snapshot() {
            let decision = if self.is_paused() {
                Decision::paused(1)
            } else {
                Decision::capped(1, 1, &snapshot)
            };
            if decision.dial > 0 {
                self.order(&snapshot, &decision, None);
            }
        }
        self.schedule_arrival(ctx);
    }

    fn cancel_timers(&mut self) {
        let wake = self.wake_timer.take().map(|(_, handle)| handle);
        for timer in [self.tick_timer.take(), self.arrival_timer.take(), wake]
            .into_iter()
            .flatten()
        {
            self.clock.cancel(timer);
        }
    }
}

/// Maps 64 random bits to a uniform draw in [0, 1) with 53 bits of precision.
pub fn unit_interval(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl Actor for PacingActor {
    type Context = EngineContext<Self>;

    fn started(&mut self, ctx: &mut EngineContext<Self>) {
        self.record_strategy();
        self.schedule_tick(ctx);
        self.schedule_arrival(ctx);
        self.startup = None;
    }
}

impl Handler<Mail<CampaignNumbers>> for PacingActor {
    type Result = ();

    fn handle(&mut self, mail: Mail<CampaignNumbers>, ctx: &mut EngineContext<Self>) {
        let numbers = mail.body;
        self.dials_handled_total = numbers.dials_handled_total;
        self.latest = Some(numbers.snapshot);
        self.observe_guard(numbers.snapshot.calls_queued);
        self.evaluate(ctx, false);
    }
}

impl Handler<Mail<PacingControl>> for PacingActor {
    type Result = ();

    fn handle(&mut self, mail: Mail<PacingControl>, ctx: &mut EngineContext<Self>) {
        match mail.body {
            PacingControl::Stop => {
                self.stopped = true;
                self.cancel_timers();
            }
            PacingControl::SetStrategy(strategy) => {
                let was_open_loop = self.pacer.is_open_loop();
                self.pacer.reconfigure(strategy);
                self.learn_needs();
                if !self.pacer.needs_tick()
                    && let Some(timer) = self.tick_timer.take()
                {
                    self.clock.cancel(timer);
                }
                self.record_strategy();
                if let Some(timer) = self.arrival_timer.take() {
                    self.clock.cancel(timer);
                }
                if strategy.is_open_loop() || was_open_loop {
                    self.schedule_arrival(ctx);
                }
                self.schedule_tick(ctx);
                self.evaluate(ctx, false);
            }
        }
    }
}

impl Handler<Mail<PacingTimer>> for PacingActor {
    type Result = ();

    fn handle(&mut self, mail: Mail<PacingTimer>, ctx: &mut EngineContext<Self>) {
        match mail.body {
            PacingTimer::Tick => {
                self.tick_timer = None;
                self.evaluate(ctx, true);
                self.schedule_tick(ctx);
            }
            PacingTimer::RateArrival => self.on_rate_arrival(ctx),
            PacingTimer::Wake => {
                self.wake_timer = None;
                self.evaluate(ctx, false);
            }
        }
    }
}
