//! The one place that builds an actor System and chooses the switch behind the engine.
//!
//! A simulation runs the whole engine on one thread, in an actix System over a tokio
//! current-thread runtime whose clock is paused, with the simulated switch as the backend and
//! the calendar as the clock. Nothing in a simulation reads the wall clock or performs I/O other
//! than writing the trace, so a scenario and seed always give the same run.
//!
//! A live campaign ([`run_live`]) runs the same engine in an actix System over an unpaused
//! current-thread runtime, with the wall clock and the PortaSwitch backend; the webhook receiver
//! runs on its own actix-web worker threads and mails callbacks to the backend. A stored
//! campaign that the last run left with attempts in flight first asks the switch for its
//! active-call list through the backend's own request ([`backend::fetch_restart_list`]) and
//! hands it to the store's recovery; without a list, those attempts end as `unknown`.
//!
//! [`backend::fetch_restart_list`]: crate::portaswitch::backend::fetch_restart_list
//!
//! This module wires actors together; it holds no engine logic.

use crate::campaign::supervisor::{CampaignSupervisor, JournalSetup};
use crate::clock::Clock;
use crate::executor::actors::{self, ActorRef, EngineContext};
use crate::mail::SimulationGuard;
use crate::scenario::Scenario;
use crate::sim::calendar::Calendar;
use crate::sim::model::SimSwitchModel;
use crate::sim::switch::{Advance, IdleWake, Quiescence, SimCore, SimOutcome, SimSwitch};
use crate::time::SimDuration;
use crate::trace::TraceSink;
use actix::{Actor, AsyncContext};
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
    #[error(transparent)]
    Store(Box<crate::store::StoreError>),
    #[error("cannot start the webhook receiver on {address}: {source}")]
    Webhook {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up the PortaSwitch client: {0}")]
    Client(#[source] crate::portaswitch::client::PortaError),
    #[error("calling_hours.time_zone: {0}")]
    CallingHours(String),
    #[error(
        "PortaSwitch site `{site}` refused the campaign's login ({reason}); nothing was dialed: \
         check [switch] login and password or api_token"
    )]
    LoginRefused { site: String, reason: String },
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
    simulate_with_journal(scenario, seed, trace, options, JournalSetup::in_memory())
}

/// Runs `scenario` like [`simulate_with`], journaling through `journal` (a simulation never
/// does I/O: tests hand it a memory journal to inspect, or one that fails).
pub fn simulate_with_journal(
    scenario: &Scenario,
    seed: u64,
    trace: TraceSink,
    options: SimulationOptions,
    journal: JournalSetup,
) -> Result<SimulationRun, RuntimeError> {
    simulate_campaign(
        scenario,
        seed,
        trace,
        options,
        scenario.campaign_setup(seed),
        journal,
    )
}

/// A current-thread tokio runtime on paused (virtual) time, as every simulated System runs on:
/// timers follow the virtual clock and time jumps forward whenever nothing is runnable.
pub fn paused_runtime_builder() -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_time().start_paused(true);
    builder
}

/// An actix System on a paused runtime ([`paused_runtime_builder`]).
pub fn paused_system() -> std::io::Result<actix::SystemRunner> {
    let runtime = paused_runtime_builder().build()?;
    Ok(actix::System::with_tokio_rt(move || runtime))
}

/// Runs the simulated world of `scenario` against a campaign set up elsewhere (its leads and
/// rules from the store, say), journaling through `journal`.
pub fn simulate_campaign(
    scenario: &Scenario,
    seed: u64,
    trace: TraceSink,
    options: SimulationOptions,
    setup: crate::campaign::supervisor::CampaignSetup,
    journal: JournalSetup,
) -> Result<SimulationRun, RuntimeError> {
    let quiescence = options.quiescence;
    let idle_wake = Arc::new(IdleWake::default());
    let mut builder = paused_runtime_builder();
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
        type Driver = Option<(Rc<RefCell<SimCore>>, ActorRef<SimSwitch>)>;
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
        let deadline = scenario.dialing.deadline;
        let wake = (quiescence == Quiescence::RuntimeIdle).then(|| idle_wake.clone());
        let core_slot: Rc<RefCell<Option<Rc<RefCell<SimCore>>>>> = Rc::new(RefCell::new(None));
        let core_out = core_slot.clone();
        let switch = actors::create(move |ctx: &mut EngineContext<SimSwitch>| {
            let supervisor = CampaignSupervisor::start_with(
                setup,
                journal,
                None,
                clock,
                ctx.address().port().into(),
                ctx.address().port().into(),
                trace_for_run.clone(),
            );
            let mut core = SimCore::new(
                model,
                calendar,
                supervisor.port(),
                trace_for_run,
                quiescence,
                wake,
                deadline,
                done_tx,
            );
            if let Some(every) = options.sample_every {
                core.sample_every(every);
            }
            core.inject_faults(&scenario.faults, seed);
            let core = Rc::new(RefCell::new(core));
            *core_out.borrow_mut() = Some(core.clone());
            SimSwitch::new(core)
        });
        idle_wake.set_target(switch.clone().port());
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

/// A finished live run.
pub struct LiveRun {
    pub status: crate::live::LiveStatus,
    /// What the engine observed: at the end, the deadline or a stop at once (calls still up
    /// counted as such). `None` only if the engine did not report within 5 s of being asked.
    pub engine: Option<crate::campaign::supervisor::EngineReport>,
    pub webhook: crate::portaswitch::webhook::WebhookCounts,
    pub switch: crate::portaswitch::backend::BackendCounts,
    pub wall_seconds: f64,
    pub trace_hash: u64,
    pub trace_records: u64,
    /// What the start did with the attempts the last run left in flight (`None` without a
    /// store).
    pub restart: Option<crate::live::RestartReport>,
}

/// Receives the campaign's end in a live run.
struct LiveDone {
    to: Option<oneshot::Sender<crate::campaign::supervisor::CampaignFinished>>,
}

impl Actor for LiveDone {
    type Context = actix::Context<Self>;
}

impl actix::Handler<crate::mail::Mail<crate::campaign::supervisor::CampaignFinished>> for LiveDone {
    type Result = ();

    fn handle(
        &mut self,
        mail: crate::mail::Mail<crate::campaign::supervisor::CampaignFinished>,
        _ctx: &mut actix::Context<Self>,
    ) {
        if let Some(to) = self.to.take() {
            let _ = to.send(mail.body);
        }
    }
}

/// How an admin asks a live run to stop (Ctrl-C at the terminal, or the console).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopRequest {
    /// Place no new calls; end once the calls in progress have ended.
    Graceful,
    /// End now, with calls possibly still up.
    Now,
}

/// A running live campaign's engine, handed to [`LiveHooks::on_engine`] once it runs.
pub struct LiveEngine {
    pub supervisor: ActorRef<CampaignSupervisor>,
    pub webhook_address: std::net::SocketAddr,
    pub webhook: Arc<crate::portaswitch::webhook::WebhookStats>,
    pub backend: Arc<crate::portaswitch::backend::BackendStats>,
    pub sites: Vec<crate::portaswitch::client::SiteClient>,
}

/// What a caller of [`run_live_with`] may attach to a live run.
#[derive(Default)]
pub struct LiveHooks {
    /// Hears the webhook receiver's bound address once it listens.
    pub on_ready: Option<Box<dyn FnOnce(std::net::SocketAddr)>>,
    /// Hears the engine's handles once it runs, on the run's own thread and System (so it may
    /// spawn local tasks there).
    pub on_engine: Option<Box<dyn FnOnce(LiveEngine)>>,
    /// Where the supervisor sends call changes.
    pub feed: Option<crate::campaign::feed::CampaignFeed>,
    /// Stop on Ctrl-C (once: gracefully; twice: now). The command line's `dialer run`.
    pub ctrl_c: bool,
    /// Stop requests from elsewhere (the console).
    pub stop: Option<tokio::sync::mpsc::UnboundedReceiver<StopRequest>>,
}

/// Runs a live campaign against PortaSwitch (or the fake switch) until every lead is worked
/// and every call has an outcome, or until the campaign's deadline. `on_ready` hears the
/// webhook receiver's bound address once it listens. Ctrl-C stops it.
pub fn run_live(
    campaign: &crate::live::campaign::LiveCampaign,
    trace: TraceSink,
    on_ready: Option<Box<dyn FnOnce(std::net::SocketAddr)>>,
) -> Result<LiveRun, RuntimeError> {
    let hooks = LiveHooks {
        on_ready,
        ctrl_c: true,
        ..LiveHooks::default()
    };
    run_live_with(campaign, trace, hooks)
}

/// [`run_live`] with the console's hooks: a feed of call changes, the engine's handles, and
/// stop requests.
pub fn run_live_with(
    campaign: &crate::live::campaign::LiveCampaign,
    trace: TraceSink,
    hooks: LiveHooks,
) -> Result<LiveRun, RuntimeError> {
    let LiveHooks {
        on_ready,
        on_engine,
        feed,
        ctrl_c,
        stop,
    } = hooks;
    use crate::portaswitch::backend::{self, BackendStats, PortaSwitchBackend};
    use crate::portaswitch::client::Secret;
    use crate::portaswitch::webhook::{self, WebhookStats};
    use crate::portaswitch::wire::TimeBase;

    let listener = webhook::bind(&campaign.webhook).map_err(|source| RuntimeError::Webhook {
        address: campaign.webhook.listen.to_string(),
        source,
    })?;
    let bound = listener
        .local_addr()
        .map_err(|source| RuntimeError::Webhook {
            address: campaign.webhook.listen.to_string(),
            source,
        })?;
    let base = campaign
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let callback_url = format!(
        "{}{}/{}",
        base.trim_end_matches('/'),
        campaign.webhook.path.trim_end_matches('/'),
        campaign.webhook.secret.expose()
    );
    let mut backend_settings = campaign.backend.clone();
    backend_settings.callback_url = Secret::new(callback_url);
    let sites = backend::build_sites(&backend_settings).map_err(RuntimeError::Client)?;
    let sites_for_counts = sites.clone();
    let sites_for_hooks = sites.clone();

    let system = actix::System::new();
    // The credentials are checked before any lead is touched: a mistyped password must end the
    // run here, not turn every lead's first attempt into a final `failed`. A site that does not
    // answer is left to the backend's failover.
    if let Some(first) = sites.first() {
        let names = &backend_settings.names.list;
        let params =
            crate::portaswitch::wire::customer_params(names, backend_settings.customer, false);
        if let Err(error @ crate::portaswitch::client::PortaError::LoginRefused { .. }) =
            system.block_on(first.call(&names.subscribe_method, params))
        {
            return Err(RuntimeError::LoginRefused {
                site: first.name().to_string(),
                reason: error.summary(),
            });
        }
    }
    let trace = trace.shared();
    let trace_for_run = trace.clone();
    let mut setup = campaign.setup.clone();
    // A stored campaign: settle what the last run left in flight against the switch's
    // active-call list (still on the switch: watched during this run; otherwise, or without a
    // list: `unknown`, never redialed blindly), load the leads where they stood and the DNC
    // list, and journal to the store.
    // Calling hours hold in every live campaign, from the wall clock at the start: engine time
    // zero.
    let epoch = crate::clock::wall_now();
    let hours = &campaign.calling_hours;
    let zone = crate::compliance::hours::zone(&hours.time_zone)
        .map_err(|error| RuntimeError::CallingHours(error.to_string()))?;
    let mut restart = None;
    let mut watched_calls = Vec::new();
    let journal = match &campaign.store {
        None => {
            // Replaces the rules the campaign file's engine scenario made with its own start as
            // time zero (a live file has no DNC list of its own: that lives in the store).
            setup.compliance = Some(crate::compliance::Compliance::new(
                epoch,
                Some(hours.hours.clone()),
                (&hours.time_zone, zone),
            ));
            JournalSetup::in_memory()
        }
        Some(store) => {
            let open = crate::store::open_attempt_count(&store.path, &store.campaign)
                .map_err(|error| RuntimeError::Store(Box::new(error)))?;
            let (list, active) = if open == 0 {
                (crate::live::RestartList::NotNeeded, None)
            } else {
                restart_list(&system, &sites, &backend_settings)
            };
            let plan = crate::store::prepare_run(
                &store.path,
                &store.campaign,
                crate::store::RunSettings {
                    epoch,
                    policy: &setup.redial,
                    hours: Some(hours.hours.clone()),
                    default_zone: (&hours.time_zone, zone),
                    active: active.as_ref(),
                    durability: crate::store::Durability::Normal,
                },
            )
            .map_err(|error| RuntimeError::Store(Box::new(error)))?;
            let report = crate::live::RestartReport {
                open: plan.recovery.open,
                active_calls: list,
                still_on_switch: plan.recovery.still_on_switch,
                marked_unknown: plan.recovery.marked_unknown,
                leads_waiting: plan.recovery.leads_waiting,
            };
            match &report.active_calls {
                crate::live::RestartList::NotNeeded => {}
                crate::live::RestartList::Fetched { .. } => {
                    tracing::info!("restart: {}", report.summary());
                }
                crate::live::RestartList::Unavailable { .. } => {
                    tracing::warn!("restart: {}", report.summary());
                }
            }
            restart = Some(report);
            watched_calls = plan
                .recovered
                .iter()
                .filter_map(|attempt| Some((attempt.attempt, attempt.switch_call.clone()?)))
                .collect();
            setup.leads = plan.leads;
            setup.compliance = Some(plan.compliance);
            setup.prior_answers = plan.prior_answers;
            setup.recovered = plan.recovered;
            plan.journal
        }
    };
    // Where this run starts, first in its trace, so a replay can start there too.
    crate::run_start::RunStart::of_run(
        epoch,
        journal.first_attempt,
        &setup,
        campaign.store.is_some(),
    )
    .record(&mut trace.borrow_mut());
    let deadline = campaign.deadline;
    let webhook_template = campaign.webhook.clone();
    let webhook_stats = Arc::new(WebhookStats::default());
    let backend_stats = Arc::new(BackendStats::default());
    let (webhook_stats_run, backend_stats_run) = (webhook_stats.clone(), backend_stats.clone());
    let backend_stats_hooks = backend_stats.clone();
    let started = tokio::time::Instant::now();
    let result = system.block_on(async move {
        // Its timers' firings go into the trace, for a replay to fire its own at those times.
        let clock = Clock::wall_starting_now().recording_timers(trace_for_run.clone());
        let mut webhook_settings = webhook_template;
        webhook_settings.time_base = TimeBase {
            origin_unix_micros: crate::clock::unix_now_micros(),
        };
        let (done_tx, done_rx) = oneshot::channel();
        let done = LiveDone { to: Some(done_tx) }.start();
        let supervisor_slot: Rc<RefCell<Option<ActorRef<CampaignSupervisor>>>> =
            Rc::new(RefCell::new(None));
        let supervisor_out = supervisor_slot.clone();
        let feed_port = feed.as_ref().map(crate::campaign::feed::CampaignFeed::port);
        let backend = PortaSwitchBackend::create(move |ctx| {
            let supervisor = CampaignSupervisor::start_with(
                setup,
                journal,
                feed_port,
                clock.clone(),
                ctx.address().recipient().into(),
                done.recipient().into(),
                trace_for_run.clone(),
            );
            *supervisor_out.borrow_mut() = Some(supervisor.clone());
            PortaSwitchBackend::new(
                backend_settings,
                sites,
                supervisor.port().into(),
                backend_stats_run,
                clock,
                trace_for_run,
            )
            .watching(watched_calls)
        });
        let receiver = webhook::start(
            listener,
            &webhook_settings,
            backend.recipient(),
            webhook_stats_run.clone(),
        )
        .map_err(|source| RuntimeError::Webhook {
            address: bound.to_string(),
            source,
        })?;
        if let Some(on_ready) = on_ready {
            on_ready(receiver.address);
        }
        let supervisor = supervisor_slot.borrow_mut().take();
        if let (Some(on_engine), Some(supervisor)) = (on_engine, &supervisor) {
            on_engine(LiveEngine {
                supervisor: supervisor.clone(),
                webhook_address: receiver.address,
                webhook: webhook_stats_run,
                backend: backend_stats_hooks,
                sites: sites_for_hooks,
            });
        }
        // A stop request (or Ctrl-C) once: no new dials, finish the calls in progress. Twice,
        // or `Now`: stop now.
        let mut done_rx = done_rx;
        let deadline = tokio::time::sleep(deadline);
        tokio::pin!(deadline);
        let mut stop = stop;
        let mut stopping = false;
        let mut stopped_at_once = false;
        let mut deadline_reached = false;
        let finished = loop {
            let request = tokio::select! {
                biased;
                finished = &mut done_rx => break finished.ok(),
                () = &mut deadline => {
                    // Nothing is lost at the deadline: the campaign reports what it knows.
                    deadline_reached = true;
                    break report_now(supervisor.as_ref(), &mut done_rx).await;
                }
                signal = actix_rt::signal::ctrl_c(), if ctrl_c => match signal {
                    Ok(()) if !stopping => StopRequest::Graceful,
                    _ => StopRequest::Now,
                },
                request = async {
                    match stop.as_mut() {
                        Some(requests) => requests.recv().await,
                        None => std::future::pending().await,
                    }
                } => match request {
                    Some(request) => request,
                    // Whoever could ask has gone: nobody can stop this run but its end.
                    None => {
                        stop = None;
                        continue;
                    }
                },
            };
            if stopping || request == StopRequest::Now {
                // Stopped at once: the campaign reports what it knows, as at the deadline.
                // `ReportNow` ends no attempt: calls still up stay open in a store, for the next
                // run's restart reconciliation.
                stopped_at_once = true;
                break report_now(supervisor.as_ref(), &mut done_rx).await;
            }
            stopping = true;
            tracing::warn!("stopping: no new dials; waiting for the calls in progress (stop again to end at once)");
            if let Some(supervisor) = &supervisor {
                supervisor.do_send(crate::mail::Mail::new(
                    crate::campaign::supervisor::CampaignControl::StopDialing,
                ));
            }
        };
        receiver.handle.stop(true).await;
        Ok::<_, RuntimeError>((finished, stopping, stopped_at_once, deadline_reached))
    });
    drop(system);
    let (finished, stopped_by_admin, stopped_at_once, deadline_reached) = result?;
    let mut sink = trace.borrow_mut();
    sink.finish().map_err(RuntimeError::Trace)?;
    Ok(LiveRun {
        status: match (finished.is_some(), stopped_by_admin) {
            _ if deadline_reached => crate::live::LiveStatus::DeadlineReached,
            // A stop at once (a second Ctrl-C, or an admin's "stop now" without a graceful stop
            // first) is an abort, not a deadline.
            _ if stopped_at_once => crate::live::LiveStatus::Aborted,
            (true, false) => crate::live::LiveStatus::Completed,
            (true, true) => crate::live::LiveStatus::Stopped,
            (false, true) => crate::live::LiveStatus::Aborted,
            (false, false) => crate::live::LiveStatus::DeadlineReached,
        },
        engine: finished.map(|f| f.report),
        webhook: webhook_stats.counts(),
        switch: PortaSwitchBackend::counts(&backend_stats, &sites_for_counts),
        wall_seconds: started.elapsed().as_secs_f64(),
        trace_hash: sink.hash(),
        trace_records: sink.records(),
        restart,
    })
}

/// Asks a live campaign to report now ([`CampaignControl::ReportNow`]: at its deadline or an
/// admin's stop at once) and waits up to 5 s for the report. `None` without a supervisor, or if
/// no report came in time.
///
/// [`CampaignControl::ReportNow`]: crate::campaign::supervisor::CampaignControl::ReportNow
async fn report_now(
    supervisor: Option<&ActorRef<CampaignSupervisor>>,
    done: &mut oneshot::Receiver<crate::campaign::supervisor::CampaignFinished>,
) -> Option<crate::campaign::supervisor::CampaignFinished> {
    let supervisor = supervisor?;
    supervisor.do_send(crate::mail::Mail::new(
        crate::campaign::supervisor::CampaignControl::ReportNow,
    ));
    tokio::time::timeout(std::time::Duration::from_secs(5), done)
        .await
        .ok()
        .and_then(Result::ok)
}

/// Asks the switch for its active calls at the restart of a stored campaign, through the
/// backend's own request (sites in order, its client with its session, timeouts and retries).
/// Any failure gives no list, and says why: the store then settles every attempt left in
/// flight as `unknown`.
fn restart_list(
    system: &actix::SystemRunner,
    sites: &[crate::portaswitch::client::SiteClient],
    settings: &crate::portaswitch::backend::BackendSettings,
) -> (
    crate::live::RestartList,
    Option<crate::journal::recovery::SwitchActiveCalls>,
) {
    use crate::live::RestartList;
    if settings.names.list.list_method.trim().is_empty() {
        let reason = "no active-call list method is configured (`calls_list.list_method`)";
        return (
            RestartList::Unavailable {
                reason: reason.into(),
            },
            None,
        );
    }
    match system.block_on(crate::portaswitch::backend::fetch_restart_list(
        sites, settings,
    )) {
        Ok((entries, site)) => {
            let active = crate::journal::recovery::SwitchActiveCalls {
                // PortaSwitch's list is not known to name the callee: calls match by id.
                callees: Default::default(),
                call_ids: entries.iter().map(|entry| entry.call_id.clone()).collect(),
            };
            let calls = entries.len() as u64;
            (RestartList::Fetched { site, calls }, Some(active))
        }
        Err(error) => (
            RestartList::Unavailable {
                reason: error.summary(),
            },
            None,
        ),
    }
}

/// An actix-web server on its own thread and actix System, for callers that need it in the
/// background (the fake switch and the console in tests, benchmarks and `serve --demo`).
pub struct ServerThread {
    handle: actix_web::dev::ServerHandle,
    system: actix::System,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Runs `start` inside a new System on a new thread and keeps that System running until
    /// [`ServerThread::stop`]; `handle` says which server to stop then. `None` if the thread
    /// died before `start` returned.
    pub fn spawn<T, E>(
        start: impl FnOnce() -> Result<T, E> + Send + 'static,
        handle: impl FnOnce(&T) -> actix_web::dev::ServerHandle,
    ) -> Option<Result<(T, ServerThread), E>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix::System::new();
            system.block_on(async move {
                let _ = tx.send(start().map(|built| (built, actix::System::current())));
            });
            let _ = system.run();
        });
        let started = rx.recv().ok()?;
        Some(started.map(|(built, system)| {
            let server = ServerThread {
                handle: handle(&built),
                system,
                thread: Some(thread),
            };
            (built, server)
        }))
    }

    /// Stops the server from outside its thread, then its System, and waits for the thread.
    /// Idempotent.
    pub fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let handle = self.handle.clone();
        let system = self.system.clone();
        let stopper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(handle.stop(false));
            }
            system.stop();
        });
        let _ = stopper.join();
        let _ = thread.join();
    }
}
