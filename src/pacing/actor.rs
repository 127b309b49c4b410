//! `PacingActor`: turns the campaign's numbers into dial orders, on every change and, for strategies
//! whose decision can change with time alone, on a tick.
//!
//! The campaign supervisor sends a [`CampaignNumbers`] whenever its counts change. The actor runs
//! the queue guard and the strategy (both pure, in [`crate::pacing`]) and mails the supervisor a
//! [`PacingOrder`] when there is something to dial. Open-loop rate pacing runs on its own timer
//! instead, with exponential gaps drawn from the actor's seeded generator.
//!
//! Orders and counts cross in the mail: a snapshot can be taken before an earlier order was
//! placed. The actor therefore counts dials it ordered and the supervisor counts dials it
//! handled; the difference is added to the dials in flight, so the same idle agent is never
//! dialed for twice.
//!
//! Every order, and every pause or resume, goes into the trace with the numbers behind it.

use super::{Decision, GuardTransition, PacingSnapshot, QueueGuard, Strategy, rate_gap};
use crate::clock::{Clock, OwnAddress, TimerHandle};
use crate::mail::{InFlight, Mail};
use crate::time::SimDuration;
use crate::trace::{SharedTrace, TraceRecord};
use actix::{Actor, Context, Handler, Recipient};
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
    /// Replace the strategy, effective at once.
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
}

/// How pacing is set up for one run.
#[derive(Debug, Clone, Copy)]
pub struct PacingSetup {
    pub strategy: Strategy,
    pub queue_guard: Option<QueueGuard>,
    /// Re-evaluate this often even without news; `None` for events only.
    pub tick: Option<SimDuration>,
    /// Seed for open-loop gaps.
    pub seed: u64,
}

pub struct PacingActor {
    strategy: Strategy,
    guard: Option<QueueGuard>,
    latest: Option<PacingSnapshot>,
    dials_ordered_total: u64,
    dials_handled_total: u64,
    clock: Clock,
    own_address: OwnAddress<Self>,
    campaign: Recipient<Mail<PacingOrder>>,
    trace: SharedTrace,
    tick: Option<SimDuration>,
    tick_timer: Option<TimerHandle>,
    arrival_timer: Option<TimerHandle>,
    rng: ChaCha8Rng,
    stopped: bool,
    startup: Option<InFlight>,
}

impl PacingActor {
    pub fn new(
        setup: PacingSetup,
        clock: Clock,
        campaign: Recipient<Mail<PacingOrder>>,
        trace: SharedTrace,
    ) -> PacingActor {
        PacingActor {
            strategy: setup.strategy,
            guard: setup.queue_guard,
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
            rng: ChaCha8Rng::seed_from_u64(setup.seed),
            stopped: false,
            startup: Some(InFlight::new()),
        }
    }

    /// The latest snapshot with ordered-but-unhandled dials counted as in flight, and as leads
    /// already taken.
    fn effective_snapshot(&self) -> Option<PacingSnapshot> {
        let mut snapshot = self.latest?;
        let outstanding = self
            .dials_ordered_total
            .saturating_sub(self.dials_handled_total);
        snapshot.dials_in_flight = snapshot
            .dials_in_flight
            .saturating_add(u32::try_from(outstanding).unwrap_or(u32::MAX));
        snapshot.dialable_leads = snapshot.dialable_leads.saturating_sub(outstanding);
        snapshot.now = self.clock.now();
        Some(snapshot)
    }

    fn is_paused(&self) -> bool {
        self.guard.is_some_and(|guard| guard.is_paused())
    }

    fn evaluate_closed_loop(&mut self) {
        if self.stopped || self.strategy.is_open_loop() {
            return;
        }
        let Some(snapshot) = self.effective_snapshot() else {
            return;
        };
        let decision = if self.is_paused() {
            Decision::paused(self.strategy.decide(&snapshot).target)
        } else {
            self.strategy.decide(&snapshot)
        };
        self.order(&snapshot, &decision);
    }

    fn order(&mut self, snapshot: &PacingSnapshot, decision: &Decision) {
        if decision.dial == 0 {
            return;
        }
        self.trace.borrow_mut().record(
            snapshot.now,
            &TraceRecord::Pacing {
                strategy: self.strategy.name(),
                snapshot,
                idle_agents: snapshot.idle_agents(),
                decision,
            },
        );
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

    /// Arms the next tick, if the strategy's decision can change with time alone (see
    /// [`Strategy::needs_tick`]); other strategies are evaluated on every change of the numbers.
    fn schedule_tick(&mut self, ctx: &mut Context<Self>) {
        if self.tick_timer.is_some() || !self.strategy.needs_tick() {
            return;
        }
        if let Some(every) = self.tick
            && !every.is_zero()
            && !self.stopped
        {
            let at = self.clock.now() + every;
            self.tick_timer =
                Some(
                    self.clock
                        .schedule(ctx, &mut self.own_address, at, PacingTimer::Tick),
                );
        }
    }

    fn schedule_arrival(&mut self, ctx: &mut Context<Self>) {
        if let Strategy::Rate { per_minute } = self.strategy
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

    fn on_rate_arrival(&mut self, ctx: &mut Context<Self>) {
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
            self.order(&snapshot, &decision);
        }
        self.schedule_arrival(ctx);
    }

    fn cancel_timers(&mut self, ctx: &mut Context<Self>) {
        for timer in [self.tick_timer.take(), self.arrival_timer.take()]
            .into_iter()
            .flatten()
        {
            self.clock.cancel(ctx, timer);
        }
    }
}

/// Maps 64 random bits to a uniform draw in [0, 1) with 53 bits of precision.
pub fn unit_interval(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl Actor for PacingActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.schedule_tick(ctx);
        self.schedule_arrival(ctx);
        self.startup = None;
    }
}

impl Handler<Mail<CampaignNumbers>> for PacingActor {
    type Result = ();

    fn handle(&mut self, mail: Mail<CampaignNumbers>, _ctx: &mut Context<Self>) {
        let numbers = mail.body;
        self.dials_handled_total = numbers.dials_handled_total;
        self.latest = Some(numbers.snapshot);
        self.observe_guard(numbers.snapshot.calls_queued);
        self.evaluate_closed_loop();
    }
}

impl Handler<Mail<PacingControl>> for PacingActor {
    type Result = ();

    fn handle(&mut self, mail: Mail<PacingControl>, ctx: &mut Context<Self>) {
        match mail.body {
            PacingControl::Stop => {
                self.stopped = true;
                self.cancel_timers(ctx);
            }
            PacingControl::SetStrategy(strategy) => {
                let was_open_loop = self.strategy.is_open_loop();
                self.strategy = strategy;
                if let Some(timer) = self.arrival_timer.take() {
                    self.clock.cancel(ctx, timer);
                }
                if strategy.is_open_loop() || was_open_loop {
                    self.schedule_arrival(ctx);
                }
                if !strategy.needs_tick()
                    && let Some(timer) = self.tick_timer.take()
                {
                    self.clock.cancel(ctx, timer);
                }
                self.schedule_tick(ctx);
                self.evaluate_closed_loop();
            }
        }
    }
}

impl Handler<Mail<PacingTimer>> for PacingActor {
    type Result = ();

    fn handle(&mut self, mail: Mail<PacingTimer>, ctx: &mut Context<Self>) {
        match mail.body {
            PacingTimer::Tick => {
                self.tick_timer = None;
                self.evaluate_closed_loop();
                self.schedule_tick(ctx);
            }
            PacingTimer::RateArrival => self.on_rate_arrival(ctx),
        }
    }
}
