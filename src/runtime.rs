//! The one place that builds an actor System and chooses the switch behind the engine.
//!
//! A simulation runs the whole engine on one thread, in an actix System over a tokio
//! current-thread runtime whose clock is paused, with the simulated switch as the backend and
//! the calendar as the clock. Nothing in a simulation reads the wall clock or performs I/O other
//! than writing the trace, so a scenario and seed always give the same run. (Live PortaSwitch
//! runs will be built here too, on an unpaused runtime with the HTTP backend.)
//!
//! This module wires actors together; it holds no engine logic.

use crate::campaign::supervisor::CampaignSupervisor;
use crate::clock::Clock;
use crate::mail::SimulationGuard;
use crate::scenario::Scenario;
use crate::sim::calendar::Calendar;
use crate::sim::model::SimSwitchModel;
use crate::sim::switch::{Advance, IdleWake, Quiescence, SimCore, SimOutcome, SimSwitch};
use crate::time::SimDuration;
use crate::trace::TraceSink;
use actix::{Actor, Addr, AsyncContext};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot start the simulation runtime: {0}")]
    Start(#[source] std::io::Error),
    #[error("the simulation ended without a result (an actor stopped unexpectedly)")]
    NoResult,
    #[error("cannot write the trace: {0}")]
    Trace(#[source] std::io::Error),
}

/// A finished simulation: what happened, and the trace's hash.
pub struct SimulationRun {
    pub outcome: SimOutcome,
    pub trace_hash: u64,
    pub trace_records: u64,
}

/// How to carry out a simulation run, beyond the scenario and seed.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimulationOptions {
    pub quiescence: Quiescence,
    /// Sample the switch's state this often, for plots; `None` for no samples.
    pub sample_every: Option<SimDuration>,
}

/// Runs `scenario` with `seed` to the end, on the current thread.
pub fn simulate(
    scenario: &Scenario,
    seed: u64,
    trace: TraceSink,
    quiescence: Quiescence,
) -> Result<SimulationRun, RuntimeError> {
    let options = SimulationOptions {
        quiescence,
        sample_every: None,
    };
    simulate_with(scenario, seed, trace, options)
}

/// Runs `scenario` with `seed` to the end, on the current thread, as `options` say.
pub fn simulate_with(
    scenario: &Scenario,
    seed: u64,
    trace: TraceSink,
    options: SimulationOptions,
) -> Result<SimulationRun, RuntimeError> {
    let quiescence = options.quiescence;
    let idle_wake = Arc::new(IdleWake::default());
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_time().start_paused(true);
    if quiescence == Quiescence::RuntimeIdle {
        let wake = idle_wake.clone();
        builder.on_thread_park(move || wake.on_park());
    }
    let tokio_runtime = builder.build().map_err(RuntimeError::Start)?;
    let system = actix::System::with_tokio_rt(move || tokio_runtime);

    let trace = trace.shared();
    let trace_for_run = trace.clone();
    let scenario = scenario.clone();
    let outcome = system.block_on(async move {
        let calendar = Rc::new(Calendar::new());
        let clock = Clock::Virtual(calendar.clone());
        let (done_tx, done_rx) = oneshot::channel();
        type Driver = Option<(Rc<RefCell<SimCore>>, Addr<SimSwitch>)>;
        let driver: Rc<RefCell<Driver>> = Rc::new(RefCell::new(None));
        let guard = (quiescence == Quiescence::MailCount).then(|| {
            let driver = driver.clone();
            SimulationGuard::install(Box::new(move || {
                let Ok(driver) = driver.try_borrow() else {
                    return;
                };
                if let Some((core, address)) = driver.as_ref() {
                    // Everything has settled: move time on now, or by mail if the core is busy.
                    match core.try_borrow_mut() {
                        Ok(mut core) => core.advance(),
                        Err(_) => address.do_send(Advance),
                    }
                }
            }))
        });
        let model = SimSwitchModel::new(&scenario, seed);
        let setup = scenario.campaign_setup(seed);
        let deadline = scenario.dialing.deadline;
        let wake = (quiescence == Quiescence::RuntimeIdle).then(|| idle_wake.clone());
        let core_slot: Rc<RefCell<Option<Rc<RefCell<SimCore>>>>> = Rc::new(RefCell::new(None));
        let core_out = core_slot.clone();
        let switch = SimSwitch::create(move |ctx| {
            let supervisor = CampaignSupervisor::start(
                setup,
                clock,
                ctx.address().recipient(),
                ctx.address().recipient(),
                trace_for_run.clone(),
            );
            let mut core = SimCore::new(
                model,
                calendar,
                supervisor.recipient(),
                trace_for_run,
                quiescence,
                wake,
                deadline,
                done_tx,
            );
            if let Some(every) = options.sample_every {
                core.sample_every(every);
            }
            let core = Rc::new(RefCell::new(core));
            *core_out.borrow_mut() = Some(core.clone());
            SimSwitch::new(core)
        });
        idle_wake.set_target(switch.clone().recipient());
        if let Some(core) = core_slot.borrow_mut().take() {
            *driver.borrow_mut() = Some((core, switch.clone()));
        }
        match quiescence {
            // Wakes the driver; it moves time only once the start-up mail has settled.
            Quiescence::MailCount => switch.do_send(Advance),
            // The first idle point starts time.
            Quiescence::RuntimeIdle => idle_wake.arm(),
        }
        let outcome = done_rx.await;
        drop(guard);
        outcome
    });
    drop(system);
    let outcome = outcome.map_err(|_| RuntimeError::NoResult)?;
    let mut sink = trace.borrow_mut();
    sink.finish().map_err(RuntimeError::Trace)?;
    Ok(SimulationRun {
        outcome,
        trace_hash: sink.hash(),
        trace_records: sink.records(),
    })
}
