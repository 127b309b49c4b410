//! `CallActor`: one actor per attempt, a thin shell over [`CallMachine`].
//!
//! Each handler reads the clock, feeds the machine, and carries out the machine's effects: switch
//! commands become mail to the backend, and what the campaign must know becomes one
//! [`CallUpdate`] per handled message, with the machine's current watchdog deadline. A change
//! the campaign only shows or stores ("dialing -> ringing", see [`shown_only`]) is reported when
//! something shows or stores it ([`CallEnv::report_ringing`]), and otherwise rides along as the
//! `from` of the next update. The campaign keeps the deadlines and pokes silent calls
//! ([`WatchdogPoke`]), so a call sets no timers of its own. The actor stops itself when the
//! attempt has ended.
//!
//! When the campaign's journal keeps them ([`CallEnv::switch_calls`], a store), the switch's
//! name for the call goes to the campaign once, as a [`SwitchCallNamed`] sent right after the
//! first update that follows its naming (a store hears every change, "ringing" included), so
//! that an attempt in flight at a crash can be found on the switch's active-call list at the
//! restart. Simulations never ask for it: their calls send nothing more, and [`CallUpdate`]
//! stays as it was (it is on the simulator's hot path; BENCHMARKS.md): a simulation pays one
//! flag set per call and checked per update.
//!
//! The shell decides nothing about the call. It must not draw randomness or read a clock other
//! than through `Clock`.

use super::machine::{
    Anomaly, AttemptRecord, CallMachine, CallSettings, Effect, Effects, Input, Presence,
};
use crate::clock::Clock;
use crate::domain::{AppState, AttemptId};
use crate::executor::actors::{self, ActorRef, EngineContext, Port, WeakActorRef};
use crate::mail::{Address, Mail};
use crate::short_text::ShortText;
use crate::switch::{CallEvents, CallRef, OriginateRequest, SwitchCommand};
use crate::time::SimTime;
use actix::{Actor, ActorContext, Handler};
use smallvec::SmallVec;
use std::rc::Rc;

/// What every call of a campaign shares: the clock, where to send commands and updates, and the
/// campaign's call settings.
pub struct CallEnv {
    pub clock: Clock,
    pub switch: Address<Mail<SwitchCommand>>,
    pub supervisor: Address<Mail<CallUpdate>>,
    pub settings: CallSettings,
    /// Whether the campaign wants to hear "dialing -> ringing" (see [`shown_only`]): yes when
    /// something shows or keeps each call's state (a console feed, a store).
    pub report_ringing: bool,
    /// Where each call's switch identity goes as soon as it is known ([`SwitchCallNamed`]):
    /// set when the campaign's journal keeps it (a store); `None` in simulations.
    pub switch_calls: Option<Address<Mail<SwitchCallNamed>>>,
}

/// A change of state that only shows on screens and in stored histories: the campaign decides
/// nothing on it, because a dial in flight is one whether its phone rings yet or not. Skipping
/// it saves one message per dial on the simulator's hot path (BENCHMARKS.md); the campaign then
/// hears `from: Dialing` with the next change. `tests/determinism.rs` checks that hearing it
/// or not gives the same trace and report.
pub fn shown_only(from: AppState, to: AppState) -> bool {
    from == AppState::Dialing && to == AppState::Ringing
}

/// What a call tells its campaign after handling a message.
#[derive(Debug)]
pub struct CallUpdate {
    pub attempt: AttemptId,
    pub from: AppState,
    pub to: AppState,
    pub at: SimTime,
    pub anomalies: SmallVec<[Anomaly; 1]>,
    /// When the call's watchdog should be poked next (`None` once ended).
    pub watchdog_at: Option<SimTime>,
    /// Present once, when the attempt ends.
    pub record: Option<Box<AttemptRecord>>,
}

/// The switch's identity of a call, sent once to [`CallEnv::switch_calls`] (not when the call
/// has ended by then: its record carries it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchCallNamed {
    pub attempt: AttemptId,
    pub call: CallRef,
    pub tracking_id: ShortText,
}

/// The campaign's sweep found this call's watchdog deadline passed.
#[derive(Debug, Clone, Copy)]
pub struct WatchdogPoke;

/// What the switch's active-call list said about this call (sent by the campaign).
#[derive(Debug, Clone, Copy)]
pub struct Reconciled(pub Presence);

pub struct CallActor {
    /// Boxed: the actor is moved several times as it is built and put in the runner's slab;
    /// without the box a day costs about 50 more instructions per attempt (BENCHMARKS.md).
    machine: Box<CallMachine>,
    env: Rc<CallEnv>,
    /// The handle the switch will send this call's events to, until the originate request
    /// carries it away.
    events_to: Option<Port<Mail<CallEvents>>>,
    /// While the call is suspect the switch has let go of it, but the campaign's active-call
    /// list has yet to settle it: the actor keeps itself alive until it ends.
    keep_alive: Option<ActorRef<CallActor>>,
    /// The state the campaign last heard of: the `from` of the next update.
    reported: AppState,
    /// The campaign has the switch's name for this call, or does not want it.
    switch_call_told: bool,
}

impl CallActor {
    /// Starts the attempt: builds the actor, feeds the machine its start (which originates the
    /// call) and starts the actor on the engine's runner. Returns a weak handle for the
    /// campaign, which pokes the call through it only when its watchdog is due.
    ///
    /// Three choices keep each attempt cheap, because a simulated day starts one of these per
    /// dial. The actor runs on the runner's own context ([`EngineContext`]): no thread-safe
    /// mailbox, future or waker of its own. The originate request leaves before the actor's
    /// first turn, so the switch's first reply and the actor's start are handled in one turn.
    /// And the actor has a single strong handle, the one the switch delivers events through:
    /// the switch lets go of it after "terminated", and the actor stops itself once the
    /// attempt has ended.
    pub fn spawn(machine: Box<CallMachine>, env: Rc<CallEnv>) -> WeakActorRef<CallActor> {
        let address = actors::create(|ctx: &mut EngineContext<CallActor>| {
            let switch_call_told = env.switch_calls.is_none();
            let mut actor = CallActor {
                machine,
                env,
                events_to: Some(ctx.address().port()),
                keep_alive: None,
                reported: AppState::Dialing,
                switch_call_told,
            };
            actor.run(Input::Start, ctx);
            actor
        });
        address.downgrade()
    }

    fn run(&mut self, input: Input<'_>, ctx: &mut EngineContext<Self>) {
        let now = self.env.clock.now();
        let mut effects = Effects::new();
        self.machine.handle(input, now, &mut effects);
        let must_report = matches!(input, Input::Watchdog | Input::Listed(_));
        self.apply(now, &mut effects, must_report, ctx);
    }

    /// Carries out effects (taken out of `effects`, which stays where the handler made it).
    /// `must_report` forces an update even without news (a watchdog poke must be answered with
    /// the new deadline).
    fn apply(
        &mut self,
        now: SimTime,
        effects: &mut Effects,
        must_report: bool,
        ctx: &mut EngineContext<Self>,
    ) {
        let mut anomalies = SmallVec::new();
        let mut record = None;
        for effect in effects.drain(..) {
            match effect {
                Effect::Originate {
                    callee,
                    ring_timeout,
                } => {
                    // The machine originates once; a second request could not be told apart.
                    if let Some(events_to) = self.events_to.take() {
                        let request = OriginateRequest {
                            attempt: self.machine.attempt(),
                            callee,
                            ring_timeout,
                            events_to,
                        };
                        self.env
                            .switch
                            .do_send(Mail::new(SwitchCommand::Originate(request)));
                    }
                }
                Effect::Hangup { call } => {
                    self.env.switch.do_send(Mail::new(SwitchCommand::Hangup {
                        attempt: self.machine.attempt(),
                        call,
                    }));
                }
                Effect::Anomaly(anomaly) => anomalies.push(anomaly),
                Effect::Ended(ended) => record = Some(ended),
            }
        }
        let after = self.machine.state();
        let from = self.reported;
        let news = after != from && (self.env.report_ringing || !shown_only(from, after));
        if must_report || news || !anomalies.is_empty() || record.is_some() {
            self.reported = after;
            self.env.supervisor.do_send(Mail::new(CallUpdate {
                attempt: self.machine.attempt(),
                from,
                to: after,
                at: now,
                anomalies,
                watchdog_at: self.machine.watchdog_deadline(),
                record,
            }));
            if !self.switch_call_told {
                self.tell_switch_call();
            }
        }
        if self.machine.is_ended() {
            self.keep_alive = None;
            ctx.stop();
        } else if after == AppState::Suspect && self.keep_alive.is_none() {
            self.keep_alive = Some(ctx.address());
        }
    }
}

impl CallActor {
    /// Sends the switch's name for the call, the first time it is known (live campaigns with a
    /// store only). An ended call's record carries it already.
    #[cold]
    #[inline(never)]
    fn tell_switch_call(&mut self) {
        let Some((call, tracking_id)) = self.machine.switch_call() else {
            return;
        };
        self.switch_call_told = true;
        if self.machine.is_ended() {
            return;
        }
        if let Some(to) = &self.env.switch_calls {
            to.do_send(Mail::new(SwitchCallNamed {
                attempt: self.machine.attempt(),
                call: call.clone(),
                tracking_id: tracking_id.into(),
            }));
        }
    }
}

impl Actor for CallActor {
    type Context = EngineContext<Self>;

    /// An actor stops by itself once its attempt has ended. If it stops before (the switch let
    /// go of it and nobody else holds it), the attempt is recorded as unknown rather than lost.
    fn stopped(&mut self, ctx: &mut EngineContext<Self>) {
        if !self.machine.is_ended() {
            self.run(Input::SwitchLetGo, ctx);
        }
    }
}

impl Handler<Mail<CallEvents>> for CallActor {
    type Result = ();

    fn handle(&mut self, mail: Mail<CallEvents>, ctx: &mut EngineContext<Self>) {
        let now = self.env.clock.now();
        let mut effects = Effects::new();
        for event in &mail.body.0 {
            self.machine.handle(Input::Event(event), now, &mut effects);
        }
        self.apply(now, &mut effects, false, ctx);
    }
}

impl Handler<Mail<WatchdogPoke>> for CallActor {
    type Result = ();

    fn handle(&mut self, _mail: Mail<WatchdogPoke>, ctx: &mut EngineContext<Self>) {
        self.run(Input::Watchdog, ctx);
    }
}

impl Handler<Mail<Reconciled>> for CallActor {
    type Result = ();

    fn handle(&mut self, mail: Mail<Reconciled>, ctx: &mut EngineContext<Self>) {
        self.run(Input::Listed(mail.body.0), ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dialing_to_ringing_is_shown_only() {
        assert!(shown_only(AppState::Dialing, AppState::Ringing));
        for (from, to) in [
            (AppState::Ringing, AppState::Queued),
            (AppState::Dialing, AppState::Queued),
            (AppState::Dialing, AppState::Talking),
            (AppState::Queued, AppState::Offered),
            (AppState::Talking, AppState::Held),
            (AppState::Ringing, AppState::Dialing),
        ] {
            assert!(!shown_only(from, to), "{from:?} -> {to:?}");
        }
    }
}
