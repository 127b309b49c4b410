//! The console's HTTP surface (actix-web): the JSON API, the SSE stream, `/metrics`, the login
//! form and the embedded web pages.
//!
//! Routes (everything but `/login`, `/assets/*` and `/healthz` needs the admin token or a
//! session; see [`super::auth`]):
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the console page (a session, else a redirect to `/login`) |
//! | `GET /login`, `POST /login`, `POST /logout` | the login form; the session cookie |
//! | `GET /api/session` | who is calling, the session's CSRF token, whether campaigns are kept |
//! | `GET /api/campaigns`, `POST /api/campaigns` | list; create (TOML, or JSON with `toml` or `campaign`, `leads_csv`, `abandon_cap`) |
//! | `GET /api/campaigns/{id}` | one campaign with its latest numbers |
//! | `GET /api/campaigns/{id}/stats`, `/calls`, `/history` | a fresh status; live calls; the chart's samples |
//! | `GET /api/campaigns/{id}/events` | SSE: `snapshot`, then `calls` (batches of state changes) and `campaign` (numbers, phase) |
//! | `POST /api/campaigns/{id}/start`, `/pause`, `/resume`, `/stop[?now=true]` | control (start: a created or interrupted campaign) |
//! | `POST /api/campaigns/{id}/pacing` | change pacing (`[pacing]` keys as JSON; `null` removes one) |
//! | `POST /api/campaigns/{id}/leads` | replace the lead list (CSV) before the start |
//! | `POST /api/campaigns/{id}/speed` | a playback's speed |
//! | `POST /api/playbacks?name=&speed=` | load a trace (JSON lines) to play back |
//! | `GET /api/demo/template` | a campaign file for the demo's fake switch (`--demo` only) |
//! | `GET /metrics` | Prometheus text format |
//!
//! Each request is logged with its method, path and status only: never headers, bodies or
//! query strings. Handlers translate HTTP to manager calls and decide nothing themselves.

use super::assets;
use super::auth::{self, Caller, Refusal, RequestAuth};
use super::manager::{CallView, CampaignManager, CampaignText, CreateLive, Managed, ManagerError};
use super::metrics::{self, MetricsInput};
use crate::campaign::feed::CallChange;
use crate::portaswitch::client::Secret;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// Largest campaign file or lead list accepted.
pub const BODY_LIMIT: usize = 16 << 20;
/// Largest trace accepted for playback.
pub const TRACE_LIMIT: usize = 512 << 20;
/// Call changes sent in one SSE event at most.
const SSE_BATCH: usize = 500;

/// What every handler shares.
pub struct ConsoleState {
    pub manager: Arc<CampaignManager>,
    pub token: Secret,
    pub sessions: auth::Sessions,
    pub cookie_secure: bool,
    /// The demo's campaign template, in `--demo`.
    pub demo_template: Option<String>,
}

/// Registers every route on an actix-web app.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/", web::get().to(index))
        .route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/healthz", web::get().to(healthz))
        .route("/assets/{name}", web::get().to(asset))
        .route("/metrics", web::get().to(metrics_text))
        .service(
            web::scope("/api")
                .wrap(actix_web::middleware::from_fn(require_auth))
                .route("/session", web::get().to(session))
                .route("/campaigns", web::get().to(list_campaigns))
                .route("/campaigns", web::post().to(create_campaign))
                .route("/campaigns/{id}", web::get().to(get_campaign))
                .route("/campaigns/{id}/stats", web::get().to(get_stats))
                .route("/campaigns/{id}/calls", web::get().to(get_calls))
                .route("/campaigns/{id}/history", web::get().to(get_history))
                .route("/campaigns/{id}/events", web::get().to(events))
                .route("/campaigns/{id}/start", web::post().to(start))
                .route("/campaigns/{id}/pause", web::post().to(pause))
                .route("/campaigns/{id}/resume", web::post().to(resume))
                .route("/campaigns/{id}/stop", web::post().to(stop))
                .route("/campaigns/{id}/pacing", web::post().to(set_pacing))
                .route("/campaigns/{id}/leads", web::post().to(set_leads))
                .route("/campaigns/{id}/speed", web::post().to(set_speed))
                .service(
                    web::resource("/playbacks")
                        .app_data(web::PayloadConfig::new(TRACE_LIMIT))
                        .route(web::post().to(create_playback)),
                )
                .route("/demo/template", web::get().to(demo_template)),
        );
}

fn header_str(request: &HttpRequest, name: impl header::AsHeaderName) -> Option<&str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

fn check(request: &HttpRequest, state: &ConsoleState) -> Result<Caller, Refusal> {
    let method = request.method();
    let auth = RequestAuth {
        safe_method: matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS),
        authorization: header_str(request, header::AUTHORIZATION),
        cookie: header_str(request, header::COOKIE),
        csrf: header_str(request, auth::CSRF_HEADER),
        origin: header_str(request, header::ORIGIN),
        host: header_str(request, header::HOST),
    };
    auth::check(&auth, &state.token, &state.sessions)
}

fn refusal(refusal: Refusal) -> HttpResponse {
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"dialer\""));
    }
    response.json(serde_json::json!({ "error": refusal.message() }))
}

/// Lets in only authorised requests; the [`Caller`] goes into the request's extensions.
async fn require_auth(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = request.app_data::<web::Data<ConsoleState>>().cloned();
    let outcome = match &state {
        Some(state) => check(request.request(), state),
        None => Err(Refusal::NotLoggedIn),
    };
    match outcome {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.call(request)
                .await
                .map(ServiceResponse::map_into_left_body)
        }
        Err(refused) => {
            tracing::info!(
                method = %request.method(),
                path = request.path(),
                reason = ?refused,
                "request refused"
            );
            Ok(request
                .into_response(refusal(refused))
                .map_into_right_body())
        }
    }
}

/// Logs each request (method, path, status, time) and adds the security headers.
pub async fn log_and_harden(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = request.method().clone();
    let path = request.path().to_string();
    let started = tokio::time::Instant::now();
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    if path.starts_with("/api/") && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(response)
}

fn error_response(error: &ManagerError) -> HttpResponse {
    match error {
        ManagerError::NotFound(_) => {
            HttpResponse::NotFound().json(serde_json::json!({ "error": error.to_string() }))
        }
        ManagerError::Conflict(_) => {
            HttpResponse::Conflict().json(serde_json::json!({ "error": error.to_string() }))
        }
        ManagerError::Invalid { message, problems } => HttpResponse::BadRequest()
            .json(serde_json::json!({ "error": message, "problems": problems })),
        ManagerError::Start(_) => HttpResponse::InternalServerError()
            .json(serde_json::json!({ "error": error.to_string() })),
    }
}

fn reply<T: Serialize>(result: Result<T, ManagerError>) -> HttpResponse {
    match result {
        Ok(value) => HttpResponse::Ok().json(value),
        Err(error) => error_response(&error),
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    match assets::get(&name) {
        Some((content_type, body)) => HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(body),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn index(request: HttpRequest, state: web::Data<ConsoleState>) -> HttpResponse {
    match check(&request, &state) {
        Ok(_) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(assets::INDEX_HTML),
        Err(_) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/login"))
            .finish(),
    }
}

async fn login_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(assets::login_html(None))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(
    request: HttpRequest,
    form: web::Form<LoginForm>,
    state: web::Data<ConsoleState>,
) -> HttpResponse {
    if let (Some(origin), Some(host)) = (
        header_str(&request, header::ORIGIN),
        header_str(&request, header::HOST),
    ) && !auth::same_origin(origin, host)
    {
        return HttpResponse::Forbidden().body("login from another origin refused");
    }
    if !auth::same_secret(form.token.trim(), state.token.expose()) {
        tracing::info!("login refused: wrong token");
        // Slows down guessing.
        tokio::time::sleep(Duration::from_millis(300)).await;
        return HttpResponse::Unauthorized()
            .content_type("text/html; charset=utf-8")
            .body(assets::login_html(Some("That is not the admin token.")));
    }
    match state.sessions.open() {
        Ok((id, _csrf)) => {
            tracing::info!("logged in");
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/"))
                .insert_header((
                    header::SET_COOKIE,
                    auth::session_cookie(&id, state.cookie_secure),
                ))
                .finish()
        }
        Err(error) => HttpResponse::InternalServerError().body(format!("cannot log in: {error}")),
    }
}

async fn logout(request: HttpRequest, state: web::Data<ConsoleState>) -> HttpResponse {
    match check(&request, &state) {
        Ok(Caller::Session { id, .. }) => {
            state.sessions.close(&id);
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/login"))
                .insert_header((
                    header::SET_COOKIE,
                    auth::expired_cookie(state.cookie_secure),
                ))
                .finish()
        }
        Ok(Caller::Bearer) => HttpResponse::NoContent().finish(),
        Err(refused) => refusal(refused),
    }
}

#[derive(Serialize)]
struct SessionView {
    caller: &'static str,
    csrf: Option<String>,
    demo: bool,
    /// Campaigns are kept in a state file and come back after a restart.
    kept: bool,
}

async fn session(request: HttpRequest, state: web::Data<ConsoleState>) -> HttpResponse {
    let caller = request.extensions().get::<Caller>().cloned();
    let view = match caller {
        Some(Caller::Session { csrf, .. }) => SessionView {
            caller: "session",
            csrf: Some(csrf),
            demo: state.demo_template.is_some(),
            kept: state.manager.state_file().is_some(),
        },
        _ => SessionView {
            caller: "bearer",
            csrf: None,
            demo: state.demo_template.is_some(),
            kept: state.manager.state_file().is_some(),
        },
    };
    HttpResponse::Ok().json(view)
}

async fn metrics_text(request: HttpRequest, state: web::Data<ConsoleState>) -> HttpResponse {
    if let Err(refused) = check(&request, &state) {
        return refusal(refused);
    }
    let inputs: Vec<MetricsInput> = state
        .manager
        .list()
        .iter()
        .map(|managed| MetricsInput {
            view: managed.view(),
            latencies: managed.latencies(),
            subscribers: managed.feed.subscribers(),
        })
        .collect();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics::render(&inputs))
}

#[derive(Serialize)]
struct CampaignList {
    campaigns: Vec<super::manager::CampaignView>,
}

async fn list_campaigns(state: web::Data<ConsoleState>) -> HttpResponse {
    let campaigns = state.manager.list().iter().map(|m| m.view()).collect();
    HttpResponse::Ok().json(CampaignList { campaigns })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateJson {
    #[serde(default)]
    toml: Option<String>,
    #[serde(default)]
    campaign: Option<serde_json::Value>,
    #[serde(default)]
    leads_csv: Option<String>,
    #[serde(default)]
    abandon_cap: Option<f64>,
}

#[derive(Deserialize)]
struct CreateQuery {
    #[serde(default)]
    abandon_cap: Option<f64>,
}

fn is_json(request: &HttpRequest) -> bool {
    header_str(request, header::CONTENT_TYPE)
        .is_some_and(|t| t.trim_start().starts_with("application/json"))
}

fn bad_request(message: impl Into<String>) -> HttpResponse {
    HttpResponse::BadRequest().json(serde_json::json!({ "error": message.into() }))
}

async fn create_campaign(
    request: HttpRequest,
    body: Bytes,
    query: web::Query<CreateQuery>,
    state: web::Data<ConsoleState>,
) -> HttpResponse {
    let create = if is_json(&request) {
        let parsed: CreateJson = match serde_json::from_slice(&body) {
            Ok(parsed) => parsed,
            Err(error) => return bad_request(format!("not a campaign request: {error}")),
        };
        let file = match (parsed.toml, parsed.campaign) {
            (Some(text), None) => CampaignText::Toml(text),
            (None, Some(value)) => CampaignText::Json(value),
            _ => return bad_request("give the campaign as `toml` (text) or `campaign` (JSON)"),
        };
        CreateLive {
            file,
            leads_csv: parsed.leads_csv,
            abandon_cap: parsed.abandon_cap.or(query.abandon_cap),
            keep: true,
        }
    } else {
        let Ok(text) = String::from_utf8(body.to_vec()) else {
            return bad_request("the campaign file is not UTF-8 text");
        };
        CreateLive {
            file: CampaignText::Toml(text),
            leads_csv: None,
            abandon_cap: query.abandon_cap,
            keep: true,
        }
    };
    match state.manager.create_live(create) {
        Ok(managed) => HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/api/campaigns/{}", managed.id)))
            .json(managed.view()),
        Err(error) => error_response(&error),
    }
}

fn managed(state: &ConsoleState, id: u64) -> Result<Arc<Managed>, ManagerError> {
    state.manager.get(id)
}

async fn get_campaign(id: web::Path<u64>, state: web::Data<ConsoleState>) -> HttpResponse {
    reply(managed(&state, *id).map(|m| m.view()))
}

async fn get_stats(id: web::Path<u64>, state: web::Data<ConsoleState>) -> HttpResponse {
    match managed(&state, *id) {
        Ok(m) => HttpResponse::Ok().json(m.fresh_status().await),
        Err(error) => error_response(&error),
    }
}

#[derive(Serialize)]
struct CallsView {
    status: Option<crate::campaign::feed::CampaignStatus>,
    calls: Vec<CallView>,
}

async fn get_calls(id: web::Path<u64>, state: web::Data<ConsoleState>) -> HttpResponse {
    match managed(&state, *id) {
        Ok(m) => {
            let (status, calls) = m.snapshot().await;
            HttpResponse::Ok().json(CallsView { status, calls })
        }
        Err(error) => error_response(&error),
    }
}

async fn get_history(id: web::Path<u64>, state: web::Data<ConsoleState>) -> HttpResponse {
    reply(managed(&state, *id).map(|m| serde_json::json!({ "samples": m.history() })))
}

async fn start(id: web::Path<u64>, state: web::Data<ConsoleState>) -> HttpResponse {
    control(&state, *id, state.manager.start(*id))
}

async fn pause(id: web::Path<u64>, state: web::Data<ConsoleState>) -> HttpResponse {
    control(&state, *id, state.manager.pause(*id))
}

async fn resume(id: web::Path<u64>, state: web::Data<ConsoleState>) -> HttpResponse {
    control(&state, *id, state.manager.resume(*id))
}

#[derive(Deserialize)]
struct StopQuery {
    #[serde(default)]
    now: bool,
}

async fn stop(
    id: web::Path<u64>,
    query: web::Query<StopQuery>,
    state: web::Data<ConsoleState>,
) -> HttpResponse {
    control(&state, *id, state.manager.stop(*id, query.now))
}

fn control(state: &ConsoleState, id: u64, result: Result<(), ManagerError>) -> HttpResponse {
    reply(result.and_then(|()| managed(state, id)).map(|m| m.view()))
}

async fn set_pacing(
    id: web::Path<u64>,
    body: web::Json<serde_json::Map<String, serde_json::Value>>,
    state: web::Data<ConsoleState>,
) -> HttpResponse {
    reply(state.manager.set_pacing(*id, &body))
}

async fn set_leads(
    id: web::Path<u64>,
    body: Bytes,
    state: web::Data<ConsoleState>,
) -> HttpResponse {
    let Ok(text) = std::str::from_utf8(&body) else {
        // Names the line and the character where the text stops being UTF-8.
        return match super::leads_csv::parse_bytes(&body) {
            Err(error) => bad_request(error.to_string()),
            Ok(_) => bad_request("the lead list is not UTF-8 text"),
        };
    };
    reply(
        state
            .manager
            .set_leads(*id, text)
            .map(|count| serde_json::json!({ "leads": count })),
    )
}

#[derive(Deserialize)]
struct SpeedBody {
    speed: f64,
}

async fn set_speed(
    id: web::Path<u64>,
    body: web::Json<SpeedBody>,
    state: web::Data<ConsoleState>,
) -> HttpResponse {
    reply(
        state
            .manager
            .set_speed(*id, body.speed)
            .map(|speed| serde_json::json!({ "speed": speed })),
    )
}

#[derive(Deserialize)]
struct PlaybackQuery {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    speed: Option<f64>,
}

async fn create_playback(
    body: Bytes,
    query: web::Query<PlaybackQuery>,
    state: web::Data<ConsoleState>,
) -> HttpResponse {
    let Ok(text) = std::str::from_utf8(&body) else {
        return bad_request("the trace is not UTF-8 text");
    };
    let name = query.name.clone().unwrap_or_default();
    let speed = query.speed.unwrap_or(10.0);
    match state.manager.create_playback(&name, text, speed) {
        Ok(managed) => HttpResponse::Created().json(managed.view()),
        Err(error) => error_response(&error),
    }
}

async fn demo_template(state: web::Data<ConsoleState>) -> HttpResponse {
    match &state.demo_template {
        Some(text) => HttpResponse::Ok()
            .content_type("application/toml; charset=utf-8")
            .body(text.clone()),
        None => HttpResponse::NotFound()
            .json(serde_json::json!({ "error": "not in demo mode (start with --demo)" })),
    }
}

/// A call change as the SSE stream sends it.
#[derive(Serialize)]
struct ChangeView {
    seq: u64,
    attempt: u64,
    lead: u64,
    callee: String,
    from: Option<&'static str>,
    to: &'static str,
    outcome: Option<&'static str>,
    at_us: u64,
}

impl ChangeView {
    fn of(change: &CallChange) -> ChangeView {
        ChangeView {
            seq: change.seq,
            attempt: change.attempt.0,
            lead: change.lead.0,
            callee: change.callee.0.to_string(),
            from: change.from.map(crate::domain::AppState::as_str),
            to: change.to.as_str(),
            outcome: super::manager::outcome_of(change.to),
            at_us: change.at.as_micros(),
        }
    }
}

fn sse_event(name: &str, data: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}

/// The `snapshot` event, and the sequence number of the last change it includes.
async fn snapshot_event(managed: &Managed) -> (Bytes, u64) {
    let (status, calls) = managed.snapshot().await;
    let seq = status.as_ref().map_or(0, |status| status.seq);
    let mut view = managed.view();
    if status.is_some() {
        view.status = status.map(|status| super::manager::KnownStatus::Engine(Box::new(status)));
    }
    let event = sse_event(
        "snapshot",
        &serde_json::json!({
            "campaign": view,
            "calls": calls,
            "history": managed.history(),
        }),
    );
    (event, seq)
}

struct SseStream {
    managed: Arc<Managed>,
    subscription: crate::campaign::feed::Subscription,
    changed: tokio::sync::watch::Receiver<u64>,
    heartbeat: tokio::time::Interval,
    first: Option<Bytes>,
    /// Changes up to this number are in the last snapshot sent: skip them.
    after_seq: u64,
}

async fn next_event(stream: &mut SseStream) -> Option<Bytes> {
    if let Some(first) = stream.first.take() {
        return Some(first);
    }
    tokio::select! {
        received = stream.subscription.receiver.recv() => match received {
            Ok(change) => {
                let after = stream.after_seq;
                let mut batch: Vec<ChangeView> = (change.seq > after)
                    .then(|| ChangeView::of(&change))
                    .into_iter()
                    .collect();
                while batch.len() < SSE_BATCH {
                    match stream.subscription.receiver.try_recv() {
                        Ok(change) if change.seq > after => batch.push(ChangeView::of(&change)),
                        Ok(_) => {}
                        Err(TryRecvError::Empty | TryRecvError::Closed | TryRecvError::Lagged(_)) => break,
                    }
                }
                if batch.is_empty() {
                    // Only changes the snapshot already had: send a comment, wait for more.
                    return Some(Bytes::from_static(b": caught up\n\n"));
                }
                Some(sse_event("calls", &batch))
            }
            // Fell behind: start again from a fresh snapshot.
            Err(RecvError::Lagged(_)) => {
                let (event, seq) = snapshot_event(&stream.managed).await;
                stream.after_seq = seq;
                Some(event)
            }
            Err(RecvError::Closed) => None,
        },
        changed = stream.changed.changed() => match changed {
            Ok(()) => {
                let view = stream.managed.view();
                let sample = stream.managed.last_sample();
                Some(sse_event("campaign", &serde_json::json!({ "campaign": view, "sample": sample })))
            }
            Err(_) => None,
        },
        _ = stream.heartbeat.tick() => Some(Bytes::from_static(b": keep-alive\n\n")),
    }
}

async fn events(id: web::Path<u64>, state: web::Data<ConsoleState>) -> HttpResponse {
    let managed = match managed(&state, *id) {
        Ok(managed) => managed,
        Err(error) => return error_response(&error),
    };
    // Subscribe first, then take the snapshot: no change falls between them (the client
    // applies only changes numbered after the snapshot's `seq`).
    let subscription = managed.feed.subscribe();
    let mut changed = managed.watch();
    changed.mark_unchanged();
    let (first, after_seq) = snapshot_event(&managed).await;
    let mut heartbeat = tokio::time::interval(Duration::from_secs(15));
    heartbeat.reset();
    let stream = SseStream {
        managed,
        subscription,
        changed,
        heartbeat,
        first: Some(first),
        after_seq,
    };
    let body = futures_util::stream::unfold(stream, |mut stream| async move {
        let event = next_event(&mut stream).await?;
        Some((Ok::<_, actix_web::Error>(event), stream))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}
