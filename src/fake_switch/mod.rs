//! `dialer fake-switch`: a fake PortaSwitch *server* that speaks the JSON API over HTTP, for
//! tests, demos, training and load tests.
//!
//! It serves `Session/login`, `Session/refresh_access_token`, `Session/ping`,
//! `CallControl/originate_advanced_call`, `CallControl/enable_api_notifications`,
//! `CallControl/get_sip_calls_list` and `Generic/get_session_data`, with PortaSwitch's envelope
//! (`{"params": ...}`, Bearer tokens, faults as HTTP 500 with `faultcode`/`faultstring`).
//! Behind them runs the simulator's pure [`SimSwitchModel`](crate::sim::model::SimSwitchModel) (callees, the call queue, agents),
//! driven in real time times a scale factor ([`world`]), and call-state callbacks are POSTed to
//! each call's `state_info_callback` in PortaSwitch's shape. The release note's limitation is
//! reproduced because the model reproduces it: after an agent's miss the call is told
//! "terminated" and nothing more, yet stays in `get_sip_calls_list`.
//!
//! Faults are injected by configuration and can be changed while it runs (`POST /fake/control`):
//! token expiry and revocation, 500 faults, latency, a black hole (requests hang), and dropped,
//! duplicated, reordered or late callbacks. `GET /fake/state` shows counters.
//!
//! This is a test double of the outside world; the engine never links to it.

pub mod config;
pub mod world;

use crate::clock;
use crate::clock::monotonic_now;
use crate::domain::PhoneNumber;
use crate::portaswitch::wire::format_switch_time;
use crate::switch::CallStatus;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
pub use config::{FakeConfig, Faults};
use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use world::{Callback, World};

/// Counters of the fake switch, as `GET /fake/state` shows them.
#[derive(Debug, Default)]
pub struct FakeStats {
    pub requests: AtomicU64,
    pub logins: AtomicU64,
    pub originates: AtomicU64,
    pub faults_injected: AtomicU64,
    pub session_faults: AtomicU64,
    pub callbacks_sent: AtomicU64,
    pub callbacks_failed: AtomicU64,
    pub callbacks_dropped: AtomicU64,
    pub callbacks_duplicated: AtomicU64,
    pub callbacks_reordered: AtomicU64,
    pub callbacks_late: AtomicU64,
}

struct Token {
    expires: Instant,
    subscribed: BTreeSet<i64>,
}

struct Sessions {
    access: HashMap<String, Token>,
    refresh: HashMap<String, ()>,
    /// Every token issued, for tests that check none leaks into logs.
    issued: Vec<String>,
}

/// Mutable settings: the faults and the operating mode.
struct Control {
    faults: Faults,
    operating_mode: String,
    blackhole: bool,
    /// A password set while running (an admin changed it), in place of the configured one.
    password: Option<String>,
}

/// The id of the fake switch's one hunt group (the campaign's queue), whose extensions are its
/// world's agents: `[agents] huntgroup` of a campaign that reads its agents from the switch.
pub const FAKE_HUNTGROUP: &str = "7001";

/// The fake switch's shared state.
pub struct FakeState {
    config: FakeConfig,
    world: Mutex<World>,
    sessions: Mutex<Sessions>,
    control: Mutex<Control>,
    rng: Mutex<ChaCha8Rng>,
    outbox: mpsc::UnboundedSender<Callback>,
    pub stats: FakeStats,
}

impl FakeState {
    /// Tokens issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.sessions
            .lock()
            .map(|s| s.issued.clone())
            .unwrap_or_default()
    }

    /// Forgets every access token: the next request of each session gets a session fault.
    pub fn revoke_tokens(&self) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.access.clear();
        }
    }

    /// Changes the password the switch accepts (as an admin would on PortaSwitch); `None` goes
    /// back to the configured one. Sessions already open stay valid until revoked.
    pub fn set_password(&self, password: Option<&str>) {
        if let Ok(mut control) = self.control.lock() {
            control.password = password.map(String::from);
        }
    }

    /// Makes every API request hang (a site that stopped answering) or answer again.
    pub fn set_blackhole(&self, on: bool) {
        if let Ok(mut control) = self.control.lock() {
            control.blackhole = on;
        }
    }

    /// Replaces the faults injected from now on (as `POST /fake/control` does).
    pub fn set_faults(&self, faults: Faults) {
        if let Ok(mut control) = self.control.lock() {
            control.faults = faults;
        }
    }

    /// What `Generic/get_session_data` answers as `operating_mode`.
    pub fn set_operating_mode(&self, mode: &str) {
        if let Ok(mut control) = self.control.lock() {
            control.operating_mode = mode.to_string();
        }
    }

    /// Calls the switch carries now.
    pub fn live_calls(&self) -> usize {
        self.world.lock().map_or(0, |w| w.live_calls())
    }

    fn chance(&self, probability: f64) -> bool {
        probability > 0.0
            && self
                .rng
                .lock()
                .map(|mut rng| unit(rng.next_u64()) < probability)
                .unwrap_or(false)
    }

    fn faults(&self) -> Faults {
        self.control
            .lock()
            .map(|c| c.faults.clone())
            .unwrap_or_default()
    }

    fn state_json(&self) -> Value {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let stats = &self.stats;
        let (mode, blackhole) = self
            .control
            .lock()
            .map(|c| (c.operating_mode.clone(), c.blackhole))
            .unwrap_or_default();
        json!({
            "operating_mode": mode,
            "blackhole": blackhole,
            "live_calls": self.live_calls(),
            "requests": get(&stats.requests),
            "logins": get(&stats.logins),
            "originates": get(&stats.originates),
            "faults_injected": get(&stats.faults_injected),
            "session_faults": get(&stats.session_faults),
            "callbacks_sent": get(&stats.callbacks_sent),
            "callbacks_failed": get(&stats.callbacks_failed),
            "callbacks_dropped": get(&stats.callbacks_dropped),
            "callbacks_duplicated": get(&stats.callbacks_duplicated),
            "callbacks_reordered": get(&stats.callbacks_reordered),
            "callbacks_late": get(&stats.callbacks_late),
        })
    }
}

fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A running fake switch.
pub struct FakeSwitch {
    pub address: SocketAddr,
    pub handle: actix_web::dev::ServerHandle,
    pub state: Arc<FakeState>,
}

/// Starts the fake switch on the current actix System.
pub fn start(config: FakeConfig, listen: SocketAddr) -> std::io::Result<FakeSwitch> {
    let (outbox, inbox) = mpsc::unbounded_channel();
    let epoch = clock::unix_now_micros();
    let world = World::new(&config, epoch);
    let state = Arc::new(FakeState {
        world: Mutex::new(world),
        sessions: Mutex::new(Sessions {
            access: HashMap::new(),
            refresh: HashMap::new(),
            issued: Vec::new(),
        }),
        control: Mutex::new(Control {
            faults: config.faults.clone(),
            operating_mode: config.operating_mode.clone(),
            blackhole: false,
            password: None,
        }),
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed)),
        outbox,
        stats: FakeStats::default(),
        config,
    });
    let data = web::Data::from(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(1 << 20))
            .route("/rest/{service}/{method}", web::post().to(api))
            .route("/fake/state", web::get().to(show_state))
            .route("/fake/control", web::post().to(control))
    })
    .workers(2)
    .disable_signals()
    .bind(listen)?;
    let address = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("the fake switch bound no address"))?;
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    actix_rt::spawn(drive_world(state.clone()));
    actix_rt::spawn(send_callbacks(state.clone(), inbox));
    Ok(FakeSwitch {
        address,
        handle,
        state,
    })
}

/// A fake switch on its own thread and System, for tests and benchmarks.
pub struct FakeSwitchThread {
    pub address: SocketAddr,
    pub state: Arc<FakeState>,
    server: crate::runtime::ServerThread,
}

impl FakeSwitchThread {
    pub fn spawn(config: FakeConfig, listen: SocketAddr) -> std::io::Result<FakeSwitchThread> {
        let (fake, server) = crate::runtime::ServerThread::spawn(
            move || start(config, listen),
            |fake: &FakeSwitch| fake.handle.clone(),
        )
        .ok_or_else(|| std::io::Error::other("the fake switch thread died"))??;
        Ok(FakeSwitchThread {
            address: fake.address,
            state: fake.state,
            server,
        })
    }

    /// The base URL of the API.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops serving: further connections are refused.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.server.stop();
    }
}

impl Drop for FakeSwitchThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Moves the world along in real time and posts what happened.
async fn drive_world(state: Arc<FakeState>) {
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let callbacks = match state.world.lock() {
            Ok(mut world) => world.advance_to_now(),
            Err(_) => return,
        };
        for callback in callbacks {
            let _ = state.outbox.send(callback);
        }
    }
}

/// Posts callbacks in order, applying the callback faults.
async fn send_callbacks(state: Arc<FakeState>, mut inbox: mpsc::UnboundedReceiver<Callback>) {
    crate::portaswitch::client::ensure_crypto_provider();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "the fake switch cannot post callbacks");
            return;
        }
    };
    let mut held: Option<Callback> = None;
    while let Some(callback) = inbox.recv().await {
        let faults = state.faults();
        let stats = &state.stats;
        if state.chance(faults.drop_callbacks) {
            stats.callbacks_dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if state.chance(faults.late_callbacks) {
            stats.callbacks_late.fetch_add(1, Ordering::Relaxed);
            let (client, state) = (client.clone(), state.clone());
            actix_rt::spawn(async move {
                tokio::time::sleep(faults.late_by).await;
                post(&client, &state, &callback).await;
            });
            continue;
        }
        if held.is_none() && state.chance(faults.reorder_callbacks) {
            stats.callbacks_reordered.fetch_add(1, Ordering::Relaxed);
            held = Some(callback);
            continue;
        }
        post(&client, &state, &callback).await;
        if state.chance(faults.duplicate_callbacks) {
            stats.callbacks_duplicated.fetch_add(1, Ordering::Relaxed);
            post(&client, &state, &callback).await;
        }
        if let Some(earlier) = held.take() {
            post(&client, &state, &earlier).await;
        }
    }
}

async fn post(client: &reqwest::Client, state: &FakeState, callback: &Callback) {
    let sent = client
        .post(&callback.url)
        .header("Content-Type", "application/json")
        .body(callback.body.to_string())
        .send()
        .await;
    let counter = match sent {
        Ok(response) if response.status().is_success() => &state.stats.callbacks_sent,
        _ => &state.stats.callbacks_failed,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

fn fault(code: &str, text: &str) -> HttpResponse {
    HttpResponse::InternalServerError().json(json!({"faultcode": code, "faultstring": text}))
}

fn new_token(state: &FakeState, kind: &str) -> String {
    let bits = state
        .rng
        .lock()
        .map(|mut rng| (rng.next_u64(), rng.next_u64()))
        .unwrap_or((0, 0));
    format!("fake-{kind}-{:016x}{:016x}", bits.0, bits.1)
}

fn issue_session(state: &FakeState) -> HttpResponse {
    let access = new_token(state, "access");
    let refresh = new_token(state, "refresh");
    let ttl = state.faults().token_ttl;
    let Ok(mut sessions) = state.sessions.lock() else {
        return fault("Server.internal", "lock poisoned");
    };
    sessions.access.insert(
        access.clone(),
        Token {
            expires: monotonic_now() + ttl,
            subscribed: BTreeSet::new(),
        },
    );
    sessions.refresh.insert(refresh.clone(), ());
    sessions.issued.push(access.clone());
    sessions.issued.push(refresh.clone());
    state.stats.logins.fetch_add(1, Ordering::Relaxed);
    let expires_at = format_switch_time(clock::unix_now_micros() + ttl.as_micros() as u64);
    HttpResponse::Ok().json(json!({
        "access_token": access,
        "refresh_token": refresh,
        "expires_at": expires_at,
        "session_id": new_token(state, "session"),
    }))
}

fn bearer(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get("Authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_string)
}

async fn api(
    path: web::Path<(String, String)>,
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<FakeState>,
) -> HttpResponse {
    state.stats.requests.fetch_add(1, Ordering::Relaxed);
    let (service, method) = path.into_inner();
    let full = format!("{service}/{method}");
    let (latency, blackhole) = {
        let control = state.control.lock();
        control.map_or((Duration::ZERO, false), |c| (c.faults.latency, c.blackhole))
    };
    if blackhole {
        tokio::time::sleep(Duration::from_secs(120)).await;
        return fault("Server.unavailable", "black hole");
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let envelope: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => return fault("Client.check_auth.envelope_missed", "the body is not JSON"),
    };
    let Some(params) = envelope.get("params").filter(|p| p.is_object()) else {
        return fault("Client.check_auth.envelope_missed", "no params object");
    };
    match full.as_str() {
        "Session/login" => login(&state, params),
        "Session/refresh_access_token" => {
            let token = params
                .get("refresh_token")
                .and_then(Value::as_str)
                .unwrap_or("");
            let known = state
                .sessions
                .lock()
                .map(|s| s.refresh.contains_key(token))
                .unwrap_or(false);
            if known {
                issue_session(&state)
            } else {
                fault(
                    "Server.Session.refresh_access_token.invalid",
                    "unknown refresh token",
                )
            }
        }
        "Session/ping" => HttpResponse::Ok().json(json!({"user_id": 1})),
        _ => authorised(&state, &request, &full, params),
    }
}

fn login(state: &FakeState, params: &Value) -> HttpResponse {
    let config = &state.config;
    let login = params.get("login").and_then(Value::as_str);
    let password = params.get("password").and_then(Value::as_str);
    let token = params.get("token").and_then(Value::as_str);
    let good_login = login == Some(config.login.as_str());
    let changed = state
        .control
        .lock()
        .ok()
        .and_then(|control| control.password.clone());
    let good_secret = match (password, token) {
        (Some(given), _) => changed.as_deref().or(config.password.as_deref()) == Some(given),
        (None, Some(given)) => config.api_token.as_deref() == Some(given),
        (None, None) => false,
    };
    if good_login && good_secret {
        issue_session(state)
    } else {
        fault("Server.Session.auth_failed", "wrong login or password")
    }
}

/// Methods that need a valid access token.
fn authorised(
    state: &FakeState,
    request: &HttpRequest,
    method: &str,
    params: &Value,
) -> HttpResponse {
    let Some(token) = bearer(request) else {
        state.stats.session_faults.fetch_add(1, Ordering::Relaxed);
        return fault(
            "Client.Session.check_auth.failed_to_process_access_token",
            "no access token",
        );
    };
    let subscribed = {
        let Ok(sessions) = state.sessions.lock() else {
            return fault("Server.internal", "lock poisoned");
        };
        match sessions.access.get(&token) {
            Some(info) if info.expires > monotonic_now() => info.subscribed.clone(),
            _ => {
                state.stats.session_faults.fetch_add(1, Ordering::Relaxed);
                return fault(
                    "Server.Session.check_auth.auth_failed",
                    "the access token is invalid or expired",
                );
            }
        }
    };
    let faults = state.faults();
    let targeted =
        faults.fault_methods.is_empty() || faults.fault_methods.iter().any(|name| name == method);
    if targeted && state.chance(faults.fault_rate) {
        state.stats.faults_injected.fetch_add(1, Ordering::Relaxed);
        return fault("Server.CallControl.internal_error", "injected fault");
    }
    match method {
        "CallControl/originate_advanced_call" => originate(state, params),
        "CallControl/enable_api_notifications" => {
            let customer = params.get("i_customer").and_then(Value::as_i64);
            if customer != Some(state.config.customer) {
                return fault(
                    "Server.CallControl.enable_api_notifications.access_denied",
                    "unknown i_customer",
                );
            }
            if let Ok(mut sessions) = state.sessions.lock()
                && let Some(info) = sessions.access.get_mut(&token)
            {
                info.subscribed.insert(state.config.customer);
            }
            HttpResponse::Ok().json(json!({"success": 1}))
        }
        "CallControl/get_sip_calls_list" => {
            let customer = params.get("i_customer").and_then(Value::as_i64);
            if customer != Some(state.config.customer) {
                return fault(
                    "Server.CallControl.get_sip_calls_list.access_denied",
                    "unknown i_customer",
                );
            }
            if !subscribed.contains(&state.config.customer) {
                return fault(
                    "Server.CallControl.sip.disabled_api_notifications",
                    "call this session's enable_api_notifications first",
                );
            }
            let (list, callbacks) = match state.world.lock() {
                Ok(mut world) => {
                    let callbacks = world.advance_to_now();
                    (world.calls_list(), callbacks)
                }
                Err(_) => return fault("Server.internal", "lock poisoned"),
            };
            for callback in callbacks {
                let _ = state.outbox.send(callback);
            }
            HttpResponse::Ok().json(json!({ "calls_list": list }))
        }
        "Customer/get_huntgroup_list" => {
            let customer = params.get("i_customer").and_then(Value::as_i64);
            if customer != Some(state.config.customer) {
                return fault(
                    "Server.Customer.get_huntgroup_list.access_denied",
                    "unknown i_customer",
                );
            }
            let offset = params.get("offset").and_then(Value::as_u64).unwrap_or(0);
            let (agents, callbacks) = match state.world.lock() {
                Ok(mut world) => {
                    let callbacks = world.advance_to_now();
                    (world.agents(), callbacks)
                }
                Err(_) => return fault("Server.internal", "lock poisoned"),
            };
            for callback in callbacks {
                let _ = state.outbox.send(callback);
            }
            // One hunt group, the campaign's queue: its extensions are the world's agents.
            let groups = if offset == 0 {
                let (total, logged_in) = agents;
                let extensions: Vec<Value> = (0..total)
                    .map(|index| {
                        json!({
                            "id": format!("agent-{}", index + 1),
                            "type": "account",
                            "hunt_active": if index < logged_in { "Y" } else { "N" },
                        })
                    })
                    .collect();
                vec![json!({
                    "huntgroup_id": FAKE_HUNTGROUP,
                    "name": "dialer queue",
                    "assigned_extensions": extensions,
                })]
            } else {
                Vec::new()
            };
            HttpResponse::Ok().json(json!({ "huntgroup_list": groups }))
        }
        "Generic/get_session_data" => {
            let mode = state
                .control
                .lock()
                .map(|c| c.operating_mode.clone())
                .unwrap_or_default();
            HttpResponse::Ok().json(json!({"operating_mode": mode, "user_id": 1}))
        }
        other => fault(
            "Server.unknown_method",
            &format!("the fake switch does not serve {other}"),
        ),
    }
}

fn invalid(text: &str) -> HttpResponse {
    fault(
        "Client.CallControl.originate_advanced_call.invalid_params",
        text,
    )
}

fn originate(state: &FakeState, params: &Value) -> HttpResponse {
    state.stats.originates.fetch_add(1, Ordering::Relaxed);
    let config = &state.config;
    let Some(callee) = params
        .get("callee_id")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
    else {
        return invalid("callee_id is required");
    };
    let caller = params.get("caller_id").and_then(Value::as_str);
    let bill = params.get("bill_id").and_then(Value::as_str);
    if caller.is_none() || caller != bill {
        return invalid("caller_id and bill_id must name the same auto-attendant account");
    }
    if let Some(expected) = &config.auto_attendant
        && caller != Some(expected.as_str())
    {
        return invalid("caller_id is not the campaign's auto-attendant");
    }
    if params.get("caller_leg_receive_actions") != Some(&json!({"voicemail": "allow"})) {
        return invalid("caller_leg_receive_actions must be {\"voicemail\": \"allow\"}");
    }
    let callback = params
        .get("state_info_callback")
        .and_then(Value::as_str)
        .map(str::to_string);
    let events: Option<Vec<CallStatus>> = params
        .get("state_info_events")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.as_str().and_then(CallStatus::parse))
                .collect()
        });
    let (reply, callbacks) = match state.world.lock() {
        Ok(mut world) => {
            let mut callbacks = world.advance_to_now();
            let (call, tracking) = world.originate(
                &PhoneNumber(callee.into()),
                callback,
                events,
                &mut callbacks,
            );
            (
                json!({"call": {"id": call.id.as_str(), "tag": call.tag.as_str()}, "tracking_id": tracking.as_str()}),
                callbacks,
            )
        }
        Err(_) => return fault("Server.internal", "lock poisoned"),
    };
    for callback in callbacks {
        let _ = state.outbox.send(callback);
    }
    HttpResponse::Ok().json(reply)
}

async fn show_state(state: web::Data<FakeState>) -> HttpResponse {
    HttpResponse::Ok().json(state.state_json())
}

/// Changes faults and modes while running: any of `faults` (a partial table, as in the config
/// file), `operating_mode`, `blackhole`, `revoke_tokens`, `password` (a string, or null for the
/// configured one).
async fn control(body: web::Json<Value>, state: web::Data<FakeState>) -> HttpResponse {
    let body = body.into_inner();
    if let Some(faults) = body.get("faults") {
        let current = state.faults();
        match config::merge_faults(&current, faults) {
            Ok(merged) => {
                if let Ok(mut control) = state.control.lock() {
                    control.faults = merged;
                }
            }
            Err(error) => return HttpResponse::BadRequest().json(json!({"error": error})),
        }
    }
    if let Ok(mut control) = state.control.lock() {
        if let Some(mode) = body.get("operating_mode").and_then(Value::as_str) {
            control.operating_mode = mode.to_string();
        }
        if let Some(blackhole) = body.get("blackhole").and_then(Value::as_bool) {
            control.blackhole = blackhole;
        }
        if let Some(password) = body.get("password") {
            control.password = password.as_str().map(String::from);
        }
    }
    if body.get("revoke_tokens").and_then(Value::as_bool) == Some(true)
        && let Ok(mut sessions) = state.sessions.lock()
    {
        sessions.access.clear();
    }
    HttpResponse::Ok().json(state.state_json())
}

/// The callback body PortaSwitch would send for one notification.
pub fn callback_body(note: &crate::switch::StateNotification, epoch_unix_micros: u64) -> Value {
    let update_time = note
        .update_time
        .map(|at| format_switch_time(epoch_unix_micros + at.as_micros()));
    let mut body = json!({
        "call": {"id": note.call.id.as_str(), "tag": note.call.tag.as_str()},
        "tracking_id": note.tracking_id.as_str(),
        "state": note.state.as_str(),
        "update_time": update_time,
    });
    if let Some(reason) = &note.reason
        && let Some(object) = body.as_object_mut()
    {
        object.insert("reason".into(), json!(reason.as_str()));
        object.insert("reason_code".into(), json!(note.reason_code));
    }
    body
}
