//! `PortaSwitchBackend`: the live switch backend. An actor on the engine's System that accepts
//! `Mail<SwitchCommand>` exactly as the simulated switch does, and answers through the same
//! seam: [`CallEvents`] to each call, [`SwitchNotice`]s to the campaign.
//!
//! - **Originate**: `originate_advanced_call` with the release note's values; the response's
//!   `call.id`/`call.tag`/`tracking_id` become the call's `Accepted` event, a fault its
//!   `Rejected`.
//! - **Events**: callbacks arrive from the webhook receiver ([`InboundEvent`]) and are routed to
//!   the call by `call.id`. A callback can overtake the originate response: while originates are
//!   in flight, events for unknown ids wait up to `unknown_grace`, then count as unknown calls.
//!   Events for calls whose attempt ended are reported as such.
//! - **Active-call list**: `get_sip_calls_list`, matched to attempts by `call.id`. The session
//!   subscription (`enable_api_notifications`) is renewed after every login. At a restart of a
//!   stored campaign the runner asks for it once before the engine starts
//!   ([`fetch_restart_list`]); the attempts of the earlier run that it still carries are given
//!   to the backend ([`PortaSwitchBackend::watching`]) and matched in every later list by their
//!   journaled `call.id`. Callbacks for them (their call actors died with the earlier process)
//!   are counted (`events_recovered`), not reported as unknown calls, and their states go to the
//!   campaign ([`SwitchNotice::RecoveredCallState`]) for its counts.
//! - **Failover**: when the active site does not answer (connection error or timeout) and a
//!   second site is configured, the backend switches site, logs in, re-subscribes and sends the
//!   campaign a rebuilt active-call list; commands wait meanwhile. While on the secondary site
//!   it probes the main site's `Generic/get_session_data` and switches back after
//!   `switch_back_after` consecutive `normal` answers.
//!
//! HTTP runs as futures this actor spawns on the engine's thread; their results come back as
//! messages, so nothing blocks the engine. The backend decides nothing about calls.

use super::client::{ClientSettings, Credentials, PortaError, Secret, SiteClient};
use super::webhook::InboundEvent;
use super::wire::{self, ApiNames, ListEntry};
use crate::clock::Clock;
use crate::domain::AttemptId;
use crate::executor::actors::Port;
use crate::mail::{Address, Mail};
use crate::short_text::ShortText;
use crate::switch::{
    ActiveCallList, CallEvents, CallRef, ListedCall, OriginateRequest, StateNotification,
    SwitchCommand, SwitchEvent, SwitchNotice,
};
use crate::trace::{SharedTrace, TraceRecord};
use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, Message, WrapFuture};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// One PortaSwitch site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteSpec {
    pub name: String,
    pub url: String,
}

/// How the backend is set up.
#[derive(Clone, Debug)]
pub struct BackendSettings {
    /// The main site first, then the secondary, if any.
    pub sites: Vec<SiteSpec>,
    pub credentials: Credentials,
    pub client: ClientSettings,
    pub names: ApiNames,
    /// The customer whose calls are listed (`i_customer`).
    pub customer: i64,
    /// The auto-attendant account: `bill_id` and `caller_id`.
    pub auto_attendant: String,
    /// Where PortaSwitch sends callbacks; it carries the webhook secret.
    pub callback_url: Secret,
    /// Agents logged in to the campaign's queue, as configured (until the first reading, when
    /// they are read from the switch).
    pub agents_logged_in: u32,
    pub agents_source: AgentsSource,
    pub unknown_grace: Duration,
    pub probe_interval: Duration,
    pub switch_back_after: u32,
}

/// Where the number of agents logged in to the campaign's queue comes from.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum AgentsSource {
    /// `[agents] count`, throughout.
    #[default]
    Config,
    /// The active extensions of a PortaSwitch hunt group, read every `refresh`
    /// ([`crate::portaswitch::wire::AgentNames`]).
    Switch {
        huntgroup: String,
        refresh: Duration,
    },
}

/// Counters of what the backend did.
#[derive(Debug, Default)]
pub struct BackendStats {
    pub originates: AtomicU64,
    pub originates_rejected: AtomicU64,
    pub events_routed: AtomicU64,
    pub events_unknown: AtomicU64,
    pub events_after_end: AtomicU64,
    pub lists: AtomicU64,
    pub list_failures: AtomicU64,
    pub failovers: AtomicU64,
    pub switch_backs: AtomicU64,
    /// Times the switch refused the login mid-run (each pauses dialing until it works again).
    pub login_refusals: AtomicU64,
    /// Readings of the agents logged in that failed (the last count stays).
    pub agent_read_failures: AtomicU64,
    /// Callbacks for attempts of an earlier run, still on the switch at the restart.
    pub events_recovered: AtomicU64,
}

/// A plain copy of [`BackendStats`], with the sites' traffic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BackendCounts {
    pub originates: u64,
    pub originates_rejected: u64,
    pub events_routed: u64,
    pub events_unknown: u64,
    pub events_after_end: u64,
    pub lists: u64,
    pub list_failures: u64,
    pub failovers: u64,
    pub switch_backs: u64,
    pub login_refusals: u64,
    pub agent_read_failures: u64,
    pub events_recovered: u64,
    pub requests: u64,
    pub faults: u64,
    pub transport_errors: u64,
    pub logins: u64,
    pub refreshes: u64,
    pub relogins_after_fault: u64,
}

/// Where a known call's events go.
struct Route {
    attempt: AttemptId,
    to: Port<Mail<CallEvents>>,
}

/// Ended calls remembered so that late callbacks are recognised.
const FINISHED_MEMORY: usize = 200_000;

pub struct PortaSwitchBackend {
    settings: Arc<BackendSettings>,
    sites: Vec<SiteClient>,
    active: usize,
    notices_to: Address<Mail<SwitchNotice>>,
    routes: HashMap<ShortText, Route>,
    by_attempt: BTreeMap<AttemptId, CallRef>,
    /// Calls of an earlier run still on the switch at the restart, by `call.id`: matched in
    /// active-call lists; they have no route.
    recovered: BTreeMap<ShortText, AttemptId>,
    /// Originates sent and not yet answered.
    waiting: BTreeMap<AttemptId, Port<Mail<CallEvents>>>,
    /// Events for call ids not known yet, with when they arrived.
    pending: VecDeque<(Instant, StateNotification)>,
    finished: HashSet<ShortText>,
    finished_order: VecDeque<ShortText>,
    /// A site change is under way; commands wait in `held`.
    switching: bool,
    held: Vec<SwitchCommand>,
    normal_probes: u32,
    probing: bool,
    /// The switch refused the login; the campaign was told and waits for `LoginRestored`.
    login_refused: bool,
    /// A login check is on its way.
    login_checking: bool,
    /// Agents logged in, as last told to the campaign; a reading of them is on its way.
    agents_told: u32,
    agents_reading: bool,
    stats: Arc<BackendStats>,
    clock: Clock,
    trace: SharedTrace,
}

/// Routes a call placed elsewhere to this backend: its callbacks will reach `events_to`. Used by
/// the webhook benchmark, which places no real calls.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AdoptCall {
    pub attempt: AttemptId,
    pub call: CallRef,
    pub events_to: Port<Mail<CallEvents>>,
}

/// Internal results of spawned requests.
#[derive(Message)]
#[rtype(result = "()")]
enum Done {
    Originate {
        attempt: AttemptId,
        site: usize,
        request: OriginateRequest,
        result: Result<Value, PortaError>,
    },
    List {
        only: Option<Vec<AttemptId>>,
        site: usize,
        result: Result<Vec<ListEntry>, PortaError>,
    },
    SiteReady {
        site: usize,
        result: Result<Vec<ListEntry>, PortaError>,
    },
    Subscribed {
        site: usize,
        result: Result<Value, PortaError>,
    },
    Probe {
        result: Result<Value, PortaError>,
    },
    LoginCheck {
        site: usize,
        result: Result<Value, PortaError>,
    },
    Agents {
        result: Result<u32, String>,
    },
}

/// The clients of the configured sites, main first; each renews the subscription after login.
pub fn build_sites(settings: &BackendSettings) -> Result<Vec<SiteClient>, PortaError> {
    let subscribe = (
        settings.names.list.subscribe_method.clone(),
        wire::customer_params(&settings.names.list, settings.customer, false),
    );
    settings
        .sites
        .iter()
        .map(|site| {
            SiteClient::new(
                &site.name,
                &site.url,
                settings.credentials.clone(),
                settings.client,
            )
            .map(|client| client.after_login(subscribe.0.clone(), subscribe.1.clone()))
        })
        .collect()
}

impl PortaSwitchBackend {
    /// `sites` from [`build_sites`]. Every event delivered to a call goes into `trace`, as the
    /// simulated switch records its own.
    pub fn new(
        settings: BackendSettings,
        sites: Vec<SiteClient>,
        notices_to: Address<Mail<SwitchNotice>>,
        stats: Arc<BackendStats>,
        clock: Clock,
        trace: SharedTrace,
    ) -> PortaSwitchBackend {
        PortaSwitchBackend {
            settings: Arc::new(settings),
            sites,
            active: 0,
            notices_to,
            routes: HashMap::new(),
            by_attempt: BTreeMap::new(),
            recovered: BTreeMap::new(),
            waiting: BTreeMap::new(),
            pending: VecDeque::new(),
            finished: HashSet::new(),
            finished_order: VecDeque::new(),
            switching: false,
            held: Vec::new(),
            normal_probes: 0,
            probing: false,
            login_refused: false,
            login_checking: false,
            agents_told: 0,
            agents_reading: false,
            stats,
            clock,
            trace,
        }
    }

    /// Matches these calls of an earlier run (attempt and `call.id`, still on the switch at the
    /// restart) in active-call lists, for the campaign's recovered attempts.
    pub fn watching(mut self, calls: impl IntoIterator<Item = (AttemptId, ShortText)>) -> Self {
        for (attempt, call_id) in calls {
            self.recovered.insert(call_id, attempt);
        }
        self
    }

    /// Records and delivers one event to a call.
    fn deliver(&self, attempt: AttemptId, to: &Port<Mail<CallEvents>>, event: SwitchEvent) {
        self.trace.borrow_mut().record(
            self.clock.now(),
            &TraceRecord::Switch {
                attempt,
                event: &event,
            },
        );
        to.do_send(Mail::new(CallEvents(vec![event])));
    }

    /// Sums this backend's counters and its sites' traffic.
    pub fn counts(stats: &BackendStats, sites: &[SiteClient]) -> BackendCounts {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut counts = BackendCounts {
            originates: get(&stats.originates),
            originates_rejected: get(&stats.originates_rejected),
            events_routed: get(&stats.events_routed),
            events_unknown: get(&stats.events_unknown),
            events_after_end: get(&stats.events_after_end),
            lists: get(&stats.lists),
            list_failures: get(&stats.list_failures),
            failovers: get(&stats.failovers),
            switch_backs: get(&stats.switch_backs),
            login_refusals: get(&stats.login_refusals),
            agent_read_failures: get(&stats.agent_read_failures),
            events_recovered: get(&stats.events_recovered),
            ..BackendCounts::default()
        };
        for site in sites {
            let traffic = site.stats();
            counts.requests += get(&traffic.requests);
            counts.faults += get(&traffic.faults);
            counts.transport_errors += get(&traffic.transport_errors);
            counts.logins += get(&traffic.logins);
            counts.refreshes += get(&traffic.refreshes);
            counts.relogins_after_fault += get(&traffic.relogins_after_fault);
        }
        counts
    }

    fn notice(&self, notice: SwitchNotice) {
        self.notices_to.do_send(Mail::new(notice));
    }

    fn command(&mut self, command: SwitchCommand, ctx: &mut Context<Self>) {
        if self.switching {
            self.held.push(command);
            return;
        }
        match command {
            SwitchCommand::Originate(request) => self.originate(request, ctx),
            SwitchCommand::Hangup { attempt, call } => self.hangup(attempt, call, ctx),
            SwitchCommand::ListActiveCalls { only } => self.list(only, ctx),
        }
    }

    fn originate(&mut self, request: OriginateRequest, ctx: &mut Context<Self>) {
        self.stats.originates.fetch_add(1, Ordering::Relaxed);
        let settings = &self.settings;
        let params = wire::originate_params(
            &settings.names.originate,
            &request.callee,
            &settings.auto_attendant,
            settings.callback_url.expose(),
            request.ring_timeout,
        );
        let attempt = request.attempt;
        self.waiting.insert(attempt, request.events_to.clone());
        let site = self.active;
        let client = self.sites[site].clone();
        let method = settings.names.originate.method.clone();
        ctx.spawn(
            async move { client.call(&method, params).await }
                .into_actor(self)
                .map(move |result, _actor, ctx| {
                    ctx.notify(Done::Originate {
                        attempt,
                        site,
                        request,
                        result,
                    })
                }),
        );
    }

    fn on_originated(
        &mut self,
        attempt: AttemptId,
        site: usize,
        request: OriginateRequest,
        result: Result<Value, PortaError>,
        ctx: &mut Context<Self>,
    ) {
        let names = &self.settings.names.originate;
        let outcome = result.and_then(|value| {
            wire::parse_originate_response(&value, names).map_err(PortaError::BadResponse)
        });
        match outcome {
            Ok((call, tracking_id)) => {
                let to = self
                    .waiting
                    .remove(&attempt)
                    .unwrap_or_else(|| request.events_to.clone());
                self.deliver(
                    attempt,
                    &to,
                    SwitchEvent::Accepted {
                        call: call.clone(),
                        tracking_id,
                    },
                );
                self.by_attempt.insert(attempt, call.clone());
                self.routes.insert(call.id.clone(), Route { attempt, to });
                self.retry_pending();
            }
            Err(error) if error.is_connect_failure() && self.can_fail_over_from(site) => {
                // The request never reached the site: place it again on the other one.
                self.waiting.remove(&attempt);
                self.held.push(SwitchCommand::Originate(request));
                self.fail_over(site, &error, ctx);
            }
            Err(error) => {
                self.stats
                    .originates_rejected
                    .fetch_add(1, Ordering::Relaxed);
                let to = self
                    .waiting
                    .remove(&attempt)
                    .unwrap_or_else(|| request.events_to.clone());
                tracing::warn!(attempt = attempt.0, error = %error.summary(), "originate failed");
                self.deliver(
                    attempt,
                    &to,
                    SwitchEvent::Rejected {
                        reason: error.summary().into(),
                    },
                );
                if error.is_site_down() {
                    self.fail_over(site, &error, ctx);
                }
                if matches!(error, PortaError::LoginRefused { .. }) {
                    self.on_login_refused(site, &error, ctx);
                }
                self.retry_pending();
            }
        }
    }

    fn hangup(&mut self, attempt: AttemptId, call: CallRef, ctx: &mut Context<Self>) {
        let Some(method) = self.settings.names.originate.hangup_method.clone() else {
            tracing::debug!(
                attempt = attempt.0,
                "no hangup method configured; waiting for the call to end"
            );
            return;
        };
        let client = self.sites[self.active].clone();
        let params = json!({"call": {"id": call.id.as_str(), "tag": call.tag.as_str()}});
        ctx.spawn(
            async move { client.call(&method, params).await }
                .into_actor(self)
                .map(move |result, _actor, _ctx| {
                    if let Err(error) = result {
                        tracing::warn!(attempt = attempt.0, error = %error.summary(), "hangup failed");
                    }
                }),
        );
    }

    fn list(&mut self, only: Option<Vec<AttemptId>>, ctx: &mut Context<Self>) {
        let site = self.active;
        let future = fetch_list(self.sites[site].clone(), self.settings.clone());
        ctx.spawn(
            future
                .into_actor(self)
                .map(move |result, _actor, ctx| ctx.notify(Done::List { only, site, result })),
        );
    }

    /// Matches list entries to attempts.
    fn active_call_list(
        &self,
        entries: &[ListEntry],
        only: Option<&[AttemptId]>,
        rebuild: bool,
    ) -> ActiveCallList {
        let mut listed = Vec::new();
        let mut unmatched = 0;
        for entry in entries {
            let attempt = match self.routes.get(&entry.call_id) {
                Some(route) => Some(route.attempt),
                None => self.recovered.get(&entry.call_id).copied(),
            };
            match attempt {
                Some(attempt) => {
                    if only.is_none_or(|wanted| wanted.binary_search(&attempt).is_ok()) {
                        listed.push(ListedCall {
                            attempt,
                            state: entry.state,
                        });
                    }
                }
                None => unmatched += 1,
            }
        }
        listed.sort_by_key(|entry| entry.attempt);
        listed.dedup_by_key(|entry| entry.attempt);
        ActiveCallList {
            listed,
            complete: only.is_none(),
            unmatched,
            rebuild,
        }
    }

    fn on_event(&mut self, note: StateNotification, arrived: Instant) {
        if let Some(route) = self.routes.get(&note.call.id) {
            if route.to.connected() {
                self.stats.events_routed.fetch_add(1, Ordering::Relaxed);
                self.deliver(route.attempt, &route.to, SwitchEvent::State(note));
                return;
            }
            let id = note.call.id.clone();
            self.forget(&id);
        }
        if let Some(&attempt) = self.recovered.get(&note.call.id) {
            // Its call actor died with the earlier process: the campaign keeps its state for
            // pacing's counts, and the list settles it.
            self.stats.events_recovered.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(attempt = attempt.0, state = %note.state, "callback for an attempt of an earlier run");
            self.notice(SwitchNotice::RecoveredCallState {
                attempt,
                state: note.state,
                reason: note.reason,
                reason_code: note.reason_code,
            });
            return;
        }
        if self.finished.contains(&note.call.id) {
            self.stats.events_after_end.fetch_add(1, Ordering::Relaxed);
            self.notice(SwitchNotice::EventAfterEnd {
                call: note.call,
                state: note.state,
            });
            return;
        }
        if !self.waiting.is_empty() && arrived.elapsed() < self.settings.unknown_grace {
            // The originate response may still be on its way.
            self.pending.push_back((arrived, note));
            return;
        }
        self.stats.events_unknown.fetch_add(1, Ordering::Relaxed);
        self.notice(SwitchNotice::UnknownCall {
            call: note.call,
            state: note.state,
        });
    }

    fn retry_pending(&mut self) {
        for (arrived, note) in std::mem::take(&mut self.pending) {
            self.on_event(note, arrived);
        }
    }

    /// Moves a call whose attempt ended from the routes to the finished memory.
    fn forget(&mut self, call_id: &ShortText) {
        if let Some(route) = self.routes.remove(call_id) {
            self.by_attempt.remove(&route.attempt);
        }
        if self.finished.insert(call_id.clone()) {
            self.finished_order.push_back(call_id.clone());
            if self.finished_order.len() > FINISHED_MEMORY
                && let Some(oldest) = self.finished_order.pop_front()
            {
                self.finished.remove(&oldest);
            }
        }
    }

    /// Once a second: settle waiting events whose grace ran out, and forget ended calls.
    fn housekeeping(&mut self) {
        let grace = self.settings.unknown_grace;
        while self
            .pending
            .front()
            .is_some_and(|(arrived, _)| arrived.elapsed() >= grace)
        {
            let (arrived, note) = self.pending.pop_front().expect("checked above");
            self.on_event(note, arrived);
        }
        let ended: Vec<ShortText> = self
            .routes
            .iter()
            .filter(|(_, route)| !route.to.connected())
            .map(|(id, _)| id.clone())
            .collect();
        for id in ended {
            self.forget(&id);
        }
    }

    fn can_fail_over_from(&self, site: usize) -> bool {
        self.sites.len() > 1 && site == self.active
    }

    /// The site `from` does not answer: move to the other one.
    fn fail_over(&mut self, from: usize, error: &PortaError, ctx: &mut Context<Self>) {
        if !self.can_fail_over_from(from) || self.switching {
            return;
        }
        let to = (from + 1) % self.sites.len();
        tracing::warn!(
            from = %self.sites[from].name(),
            to = %self.sites[to].name(),
            error = %error.summary(),
            "site does not answer; failing over"
        );
        self.stats.failovers.fetch_add(1, Ordering::Relaxed);
        self.change_site(to, ctx);
    }

    /// Logs in on `to`, re-subscribes and fetches the active calls; commands wait meanwhile.
    fn change_site(&mut self, to: usize, ctx: &mut Context<Self>) {
        self.switching = true;
        self.active = to;
        self.normal_probes = 0;
        let client = self.sites[to].clone();
        let settings = self.settings.clone();
        ctx.spawn(
            async move {
                client.reset_session().await;
                fetch_list(client, settings).await
            }
            .into_actor(self)
            .map(move |result, _actor, ctx| ctx.notify(Done::SiteReady { site: to, result })),
        );
    }

    fn on_site_ready(
        &mut self,
        site: usize,
        result: Result<Vec<ListEntry>, PortaError>,
        ctx: &mut Context<Self>,
    ) {
        match result {
            Ok(entries) => {
                self.switching = false;
                tracing::info!(site = %self.sites[site].name(), calls = entries.len(), "site ready");
                self.notice(SwitchNotice::SiteChanged {
                    site: self.sites[site].name().into(),
                });
                let list = self.active_call_list(&entries, None, true);
                self.notice(SwitchNotice::ActiveCalls(list));
                for command in std::mem::take(&mut self.held) {
                    self.command(command, ctx);
                }
            }
            Err(error) => {
                tracing::warn!(site = %self.sites[site].name(), error = %error.summary(), "site not ready");
                // Try the other site again shortly; commands keep waiting.
                let other = (site + 1) % self.sites.len();
                ctx.run_later(Duration::from_secs(1), move |actor, ctx| {
                    actor.change_site(other, ctx);
                });
            }
        }
    }

    /// The switch refused the login (the password or API token changed): the campaign is told
    /// once, so that it stops placing calls that can only fail, and the login is tried again
    /// every `probe_interval` until it works.
    fn on_login_refused(&mut self, site: usize, error: &PortaError, ctx: &mut Context<Self>) {
        if self.login_refused {
            return;
        }
        self.login_refused = true;
        self.stats.login_refusals.fetch_add(1, Ordering::Relaxed);
        self.notice(SwitchNotice::LoginRefused {
            site: self.sites[site].name().into(),
            reason: error.summary().into(),
        });
        ctx.run_later(self.settings.probe_interval, |actor, ctx| {
            actor.check_login(ctx)
        });
    }

    fn check_login(&mut self, ctx: &mut Context<Self>) {
        if !self.login_refused || self.login_checking {
            return;
        }
        self.login_checking = true;
        let site = self.active;
        let client = self.sites[site].clone();
        let method = self.settings.names.list.session_data_method.clone();
        ctx.spawn(
            async move {
                client.reset_session().await;
                client.call(&method, json!({})).await
            }
            .into_actor(self)
            .map(move |result, _actor, ctx| ctx.notify(Done::LoginCheck { site, result })),
        );
    }

    fn on_login_check(
        &mut self,
        site: usize,
        result: Result<Value, PortaError>,
        ctx: &mut Context<Self>,
    ) {
        self.login_checking = false;
        match result {
            Ok(_) => {
                self.login_refused = false;
                tracing::info!(site = %self.sites[site].name(), "the switch accepts the login again");
                self.notice(SwitchNotice::LoginRestored {
                    site: self.sites[site].name().into(),
                });
            }
            Err(error) => {
                tracing::warn!(
                    site = %self.sites[site].name(),
                    error = %error.summary(),
                    "the login still fails; trying again later"
                );
                ctx.run_later(self.settings.probe_interval, |actor, ctx| {
                    actor.check_login(ctx)
                });
            }
        }
    }

    /// Reads how many of the hunt group's extensions take its calls (`AgentsSource::Switch`).
    fn read_agents(&mut self, ctx: &mut Context<Self>) {
        let AgentsSource::Switch { huntgroup, .. } = &self.settings.agents_source else {
            return;
        };
        if self.agents_reading {
            return;
        }
        self.agents_reading = true;
        let client = self.sites[self.active].clone();
        let names = self.settings.names.agents.clone();
        let customer = self.settings.customer;
        let group = huntgroup.clone();
        ctx.spawn(
            fetch_active_agents(client, names, customer, group)
                .into_actor(self)
                .map(|result, _actor, ctx| ctx.notify(Done::Agents { result })),
        );
    }

    fn on_agents(&mut self, result: Result<u32, String>) {
        self.agents_reading = false;
        match result {
            Ok(count) if count != self.agents_told => {
                tracing::info!(
                    from = self.agents_told,
                    to = count,
                    "agents logged in changed"
                );
                self.agents_told = count;
                self.notice(SwitchNotice::AgentsLoggedIn { count });
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %error, "cannot read the agents logged in; keeping {}", self.agents_told);
                self.stats
                    .agent_read_failures
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn probe_main(&mut self, ctx: &mut Context<Self>) {
        if self.active == 0 || self.switching || self.probing {
            return;
        }
        self.probing = true;
        let client = self.sites[0].clone();
        let method = self.settings.names.list.session_data_method.clone();
        ctx.spawn(
            async move { client.call(&method, json!({})).await }
                .into_actor(self)
                .map(|result, _actor, ctx| ctx.notify(Done::Probe { result })),
        );
    }

    fn on_probe(&mut self, result: Result<Value, PortaError>, ctx: &mut Context<Self>) {
        self.probing = false;
        let field = &self.settings.names.list.operating_mode_field;
        let mode = result.ok().and_then(|value| {
            wire::lookup(&value, field)
                .and_then(Value::as_str)
                .map(String::from)
        });
        if mode.as_deref() == Some("normal") {
            self.normal_probes += 1;
        } else {
            self.normal_probes = 0;
        }
        if self.normal_probes >= self.settings.switch_back_after.max(1) && self.active != 0 {
            tracing::info!("main site reports normal operation; switching back");
            self.stats.switch_backs.fetch_add(1, Ordering::Relaxed);
            self.change_site(0, ctx);
        }
    }
}

/// Pages through the customer's hunt groups until `group` is found; returns how many of its
/// extensions are active.
async fn fetch_active_agents(
    client: SiteClient,
    names: wire::AgentNames,
    customer: i64,
    group: String,
) -> Result<u32, String> {
    /// A customer with more hunt groups than this many pages is not served (lists are capped).
    const MAX_PAGES: u32 = 100;
    for page in 0..MAX_PAGES {
        let params = wire::agents_params(&names, customer, page);
        let reply = client
            .call(&names.method, params)
            .await
            .map_err(|error| error.summary())?;
        let (found, on_page) = wire::parse_active_agents(&reply, &names, &group)?;
        if let Some(count) = found {
            return Ok(count);
        }
        if on_page < names.page_size as usize {
            break;
        }
    }
    Err(format!(
        "hunt group `{group}` is not in the customer's hunt-group list"
    ))
}

/// The active-call list at the restart of a stored campaign, before the engine starts: asked
/// of each site in turn (main first) as the backend would, moving on to the next only when a
/// site does not answer (connection error or timeout: [`PortaError::is_site_down`]). Returns
/// the entries and the name of the site that answered. Any other error (a fault, a bad
/// response) is returned as is: the runner then settles the attempts left in flight as
/// `unknown`, as it must without a list.
pub async fn fetch_restart_list(
    sites: &[SiteClient],
    settings: &BackendSettings,
) -> Result<(Vec<ListEntry>, String), PortaError> {
    let settings = Arc::new(settings.clone());
    let mut last = None;
    for site in sites {
        match fetch_list(site.clone(), settings.clone()).await {
            Ok(entries) => return Ok((entries, site.name().to_string())),
            Err(error) if error.is_site_down() => {
                tracing::warn!(site = %site.name(), error = %error.summary(), "no active-call list from this site at the restart");
                last = Some(error);
            }
            Err(error) => return Err(error),
        }
    }
    Err(last.unwrap_or(PortaError::BadResponse(
        "no PortaSwitch site is configured".into(),
    )))
}

/// Fetches the active-call list, subscribing first if the session is not subscribed.
async fn fetch_list(
    client: SiteClient,
    settings: Arc<BackendSettings>,
) -> Result<Vec<ListEntry>, PortaError> {
    let names = &settings.names.list;
    let params = wire::customer_params(names, settings.customer, true);
    let reply = match client.call(&names.list_method, params.clone()).await {
        Err(PortaError::Fault { code, .. }) if code.contains("disabled_api_notifications") => {
            client
                .call(
                    &names.subscribe_method,
                    wire::customer_params(names, settings.customer, false),
                )
                .await?;
            client.call(&names.list_method, params).await?
        }
        other => other?,
    };
    wire::parse_calls_list(&reply, names).map_err(PortaError::BadResponse)
}

impl Actor for PortaSwitchBackend {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(usize::MAX);
        self.agents_told = self.settings.agents_logged_in;
        self.notice(SwitchNotice::AgentsLoggedIn {
            count: self.settings.agents_logged_in,
        });
        if let AgentsSource::Switch { refresh, .. } = self.settings.agents_source.clone() {
            self.read_agents(ctx);
            ctx.run_interval(refresh, |actor, ctx| actor.read_agents(ctx));
        }
        // Log in and subscribe at once, so the first dials find a session.
        let site = self.active;
        let client = self.sites[site].clone();
        let names = self.settings.names.list.clone();
        let customer = self.settings.customer;
        ctx.spawn(
            async move {
                client
                    .call(
                        &names.subscribe_method,
                        wire::customer_params(&names, customer, false),
                    )
                    .await
            }
            .into_actor(self)
            .map(move |result, _actor, ctx| ctx.notify(Done::Subscribed { site, result })),
        );
        ctx.run_interval(Duration::from_secs(1), |actor, _ctx| actor.housekeeping());
        let probe_every = self.settings.probe_interval.max(Duration::from_millis(10));
        if self.sites.len() > 1 {
            ctx.run_interval(probe_every, |actor, ctx| actor.probe_main(ctx));
        }
    }
}

impl Handler<Mail<SwitchCommand>> for PortaSwitchBackend {
    type Result = ();

    fn handle(&mut self, mail: Mail<SwitchCommand>, ctx: &mut Context<Self>) {
        let Mail { body, .. } = mail;
        self.command(body, ctx);
    }
}

impl Handler<Mail<InboundEvent>> for PortaSwitchBackend {
    type Result = ();

    fn handle(&mut self, mail: Mail<InboundEvent>, _ctx: &mut Context<Self>) {
        let Mail { body, .. } = mail;
        self.on_event(body.0, Instant::now());
    }
}

impl Handler<Done> for PortaSwitchBackend {
    type Result = ();

    fn handle(&mut self, done: Done, ctx: &mut Context<Self>) {
        match done {
            Done::Originate {
                attempt,
                site,
                request,
                result,
            } => self.on_originated(attempt, site, request, result, ctx),
            Done::List { only, site, result } => match result {
                Ok(entries) => {
                    self.stats.lists.fetch_add(1, Ordering::Relaxed);
                    let list = self.active_call_list(&entries, only.as_deref(), false);
                    self.notice(SwitchNotice::ActiveCalls(list));
                }
                Err(error) => {
                    self.stats.list_failures.fetch_add(1, Ordering::Relaxed);
                    self.notice(SwitchNotice::ActiveCallsUnavailable {
                        reason: error.summary().into(),
                    });
                    if error.is_site_down() {
                        self.fail_over(site, &error, ctx);
                    }
                }
            },
            Done::SiteReady { site, result } => self.on_site_ready(site, result, ctx),
            Done::Subscribed { site, result } => {
                if let Err(error) = result {
                    tracing::warn!(site = %self.sites[site].name(), error = %error.summary(), "cannot subscribe");
                    if error.is_site_down() {
                        self.fail_over(site, &error, ctx);
                    }
                }
            }
            Done::Probe { result } => self.on_probe(result, ctx),
            Done::LoginCheck { site, result } => self.on_login_check(site, result, ctx),
            Done::Agents { result } => self.on_agents(result),
        }
    }
}

impl Handler<AdoptCall> for PortaSwitchBackend {
    type Result = ();

    fn handle(&mut self, adopt: AdoptCall, _ctx: &mut Context<Self>) {
        self.by_attempt.insert(adopt.attempt, adopt.call.clone());
        self.routes.insert(
            adopt.call.id,
            Route {
                attempt: adopt.attempt,
                to: adopt.events_to,
            },
        );
    }
}
