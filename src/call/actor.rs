//! `CallActor`: one actor per attempt, a thin shell over [`CallMachine`].
//!
//! Each handler reads the clock, feeds the machine, and carries out the machine's effects: switch
//! commands become mail to the backend, and what the campaign must know becomes one
//! [`CallUpdate`] per handled message, with the machine's current watchdog deadline. The
//! campaign keeps those deadlines and pokes silent calls ([`WatchdogPoke`]), so a call sets no
//! timers of its own. The actor stops itself when the attempt has ended.
//!
//! The shell decides nothing about the call. It must not draw randomness or read a clock other
//! than through `Clock`.

use super::machine::{
    Anomaly, AttemptRecord, CallMachine, CallSettings, Effect, Effects, Input, Presence,
};
use crate::clock::Clock;
use crate::domain::{AppState, AttemptId};
use crate::mail::{InFlight, Mail};
use crate::switch::{CallEvents, OriginateRequest, SwitchCommand};
use crate::time::SimTime;
use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Recipient};
use smallvec::SmallVec;
use std::rc::Rc;

/// What every call of a campaign shares: the clock, where to send commands and updates, and the
/// campaign's call settings.
pub struct CallEnv {
    pub clock: Clock,
    pub switch: Recipient<Mail<SwitchCommand>>,
    pub supervisor: Recipient<Mail<CallUpdate>>,
    pub settings: CallSettings,
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

/// The campaign's sweep found this call's watchdog deadline passed.
#[derive(Debug, Clone, Copy)]
pub struct WatchdogPoke;

/// What the switch's active-call list said about this call (sent by the campaign).
#[derive(Debug, Clone, Copy)]
pub struct Reconciled(pub Presence);

pub struct CallActor {
    machine: CallMachine,
    env: Rc<CallEnv>,
    /// Keeps a simulation's clock still between the spawn and `started`.
    startup: Option<InFlight>,
}

impl CallActor {
    pub fn new(machine: CallMachine, env: Rc<CallEnv>) -> CallActor {
        CallActor {
            machine,
            env,
            startup: Some(InFlight::new()),
        }
    }

    fn run(&mut self, input: Input<'_>, ctx: &mut Context<Self>) {
        let now = self.env.clock.now();
        let before = self.machine.state();
        let mut effects = Effects::new();
        self.machine.handle(input, now, &mut effects);
        let must_report = matches!(input, Input::Watchdog | Input::Listed(_));
        self.apply(before, now, effects, must_report, ctx);
    }

    /// Carries out effects. `must_report` forces an update even without news (a watchdog poke
    /// must be answered with the new deadline).
    fn apply(
        &mut self,
        before: AppState,
        now: SimTime,
        effects: Effects,
        must_report: bool,
        ctx: &mut Context<Self>,
    ) {
        let mut anomalies = SmallVec::new();
        let mut record = None;
        for effect in effects {
            match effect {
                Effect::Originate {
                    callee,
                    ring_timeout,
                } => {
                    let request = OriginateRequest {
                        attempt: self.machine.attempt(),
                        callee,
                        ring_timeout,
                        events_to: ctx.address().recipient(),
                    };
                    self.env
                        .switch
                        .do_send(Mail::new(SwitchCommand::Originate(request)));
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
        if must_report || after != before || !anomalies.is_empty() || record.is_some() {
            self.env.supervisor.do_send(Mail::new(CallUpdate {
                attempt: self.machine.attempt(),
                from: before,
                to: after,
                at: now,
                anomalies,
                watchdog_at: self.machine.watchdog_deadline(),
                record,
            }));
        }
        if self.machine.is_ended() {
            ctx.stop();
        }
    }
}

impl Actor for CallActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.run(Input::Start, ctx);
        self.startup = None;
    }
}

impl Handler<Mail<CallEvents>> for CallActor {
    type Result = ();

    fn handle(&mut self, mail: Mail<CallEvents>, ctx: &mut Context<Self>) {
        let now = self.env.clock.now();
        let before = self.machine.state();
        let mut effects = Effects::new();
        for event in &mail.body.0 {
            self.machine.handle(Input::Event(event), now, &mut effects);
        }
        self.apply(before, now, effects, false, ctx);
    }
}

impl Handler<Mail<WatchdogPoke>> for CallActor {
    type Result = ();

    fn handle(&mut self, _mail: Mail<WatchdogPoke>, ctx: &mut Context<Self>) {
        self.run(Input::Watchdog, ctx);
    }
}

impl Handler<Mail<Reconciled>> for CallActor {
    type Result = ();

    fn handle(&mut self, mail: Mail<Reconciled>, ctx: &mut Context<Self>) {
        self.run(Input::Listed(mail.body.0), ctx);
    }
}
