//! The PortaSwitch JSON API client for one site: `POST /rest/<Service>/<method>` with
//! `{"params": {...}}` and a Bearer access token (portaswitch-api.md §1).
//!
//! It owns the site's session: it logs in on first use (`Session/login` with a password or an
//! API token), refreshes the access token when 80% of its lifetime has passed
//! (`Session/refresh_access_token`), and on a session fault (§1.3) logs in again once and
//! replays the request. Only one login or refresh runs at a time. Faults (HTTP 500 with
//! `faultcode`/`faultstring`) become [`PortaError::Fault`]; requests have a timeout, at most
//! `max_in_flight` run at once, and connection failures are retried with exponential backoff.
//!
//! Credentials and tokens are held as [`Secret`]s, whose `Debug` and `Display` print `***`; no
//! error or log line carries them. The client decides nothing about calls.

use crate::clock;
use serde_json::{Value, json};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};

/// A credential or token: printed as `***`, never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret's text, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How the dialer logs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub login: String,
    pub secret: LoginSecret,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginSecret {
    Password(Secret),
    ApiToken(Secret),
}

/// Per-site client settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientSettings {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_in_flight: usize,
    /// Extra tries after a connection failure (the request never reached the site).
    pub connect_retries: u32,
    /// The first backoff; it doubles with each retry.
    pub backoff: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            timeout: Duration::from_secs(25),
            connect_timeout: Duration::from_secs(5),
            max_in_flight: 20,
            connect_retries: 2,
            backoff: Duration::from_millis(200),
        }
    }
}

/// How a transport failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// The connection could not be made: the request never reached the site.
    Connect,
    Timeout,
    Other,
}

/// Why an API call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PortaError {
    /// The method failed: HTTP 500 with a fault body.
    #[error("fault {code}: {string}")]
    Fault { code: String, string: String },
    /// Login was refused.
    #[error("login refused: {code}: {string}")]
    LoginRefused { code: String, string: String },
    #[error("transport error ({kind:?}): {message}")]
    Transport {
        kind: TransportKind,
        message: String,
    },
    /// Any other HTTP status.
    #[error("HTTP status {0}")]
    Http(u16),
    #[error("unexpected response: {0}")]
    BadResponse(String),
}

impl PortaError {
    /// A fault that a new login fixes (portaswitch-api.md §1.3).
    pub fn is_session_fault(&self) -> bool {
        match self {
            PortaError::Fault { code, .. } => is_session_fault_code(code),
            _ => false,
        }
    }

    /// The site did not answer: a reason to try the other site.
    pub fn is_site_down(&self) -> bool {
        matches!(
            self,
            PortaError::Transport {
                kind: TransportKind::Connect | TransportKind::Timeout,
                ..
            }
        )
    }

    pub fn is_connect_failure(&self) -> bool {
        matches!(
            self,
            PortaError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        )
    }

    /// A short text for traces and reports.
    pub fn summary(&self) -> String {
        match self {
            PortaError::Fault { code, .. } | PortaError::LoginRefused { code, .. } => code.clone(),
            PortaError::Transport { kind, .. } => format!("transport: {kind:?}").to_lowercase(),
            PortaError::Http(status) => format!("http {status}"),
            PortaError::BadResponse(_) => "bad response".into(),
        }
    }
}

/// Session fault codes: the token is missing, expired or from another site.
pub fn is_session_fault_code(code: &str) -> bool {
    code.contains("check_auth")
}

/// Counters of one site's traffic.
#[derive(Debug, Default)]
pub struct ClientStats {
    pub requests: AtomicU64,
    pub faults: AtomicU64,
    pub transport_errors: AtomicU64,
    pub logins: AtomicU64,
    pub refreshes: AtomicU64,
    pub relogins_after_fault: AtomicU64,
}

struct Session {
    access: Secret,
    refresh: Option<Secret>,
    /// Refresh the access token once the Unix time passes this (µs).
    refresh_after: Option<u64>,
    generation: u64,
}

struct SiteInner {
    name: String,
    base: String,
    http: reqwest::Client,
    credentials: Credentials,
    settings: ClientSettings,
    session: Mutex<Option<Session>>,
    generation: AtomicU64,
    permits: Semaphore,
    stats: ClientStats,
    /// A request to repeat after every login (the session-bound subscription).
    after_login: Option<(String, Value)>,
}

/// A client for one PortaSwitch site. Cheap to clone; clones share the session.
#[derive(Clone)]
pub struct SiteClient {
    inner: Arc<SiteInner>,
}

impl fmt::Debug for SiteClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteClient")
            .field("name", &self.inner.name)
            .field("base", &self.inner.base)
            .finish_non_exhaustive()
    }
}

/// Installs the TLS crypto provider once per process (rustls with ring). Every reqwest client
/// needs it; call before building one.
pub fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl SiteClient {
    /// `base` is the site's URL, like `https://portabilling.example:443`.
    pub fn new(
        name: &str,
        base: &str,
        credentials: Credentials,
        settings: ClientSettings,
    ) -> Result<SiteClient, PortaError> {
        ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .pool_max_idle_per_host(settings.max_in_flight)
            .build()
            .map_err(|error| {
                PortaError::BadResponse(format!("cannot build the client: {error}"))
            })?;
        Ok(SiteClient {
            inner: Arc::new(SiteInner {
                name: name.to_string(),
                base: base.trim_end_matches('/').to_string(),
                http,
                credentials,
                settings,
                session: Mutex::new(None),
                generation: AtomicU64::new(0),
                permits: Semaphore::new(settings.max_in_flight.max(1)),
                stats: ClientStats::default(),
                after_login: None,
            }),
        })
    }

    /// Repeats `method` with `params` after every login: PortaSwitch binds the call-state
    /// subscription to the session (portaswitch-api.md §3.3). Call before sharing the client.
    pub fn after_login(mut self, method: String, params: Value) -> SiteClient {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.after_login = Some((method, params));
        }
        self
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub fn stats(&self) -> &ClientStats {
        &self.inner.stats
    }

    /// Calls `Service/method` with `params` in the current session; on a session fault logs in
    /// again once and replays.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, PortaError> {
        let (token, generation) = self.session_token().await?;
        match self.post(method, &params, Some(&token)).await {
            Err(error) if error.is_session_fault() => {
                self.inner
                    .stats
                    .relogins_after_fault
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(site = %self.inner.name, method, "session fault; logging in again");
                self.drop_session(generation).await;
                let (token, _) = self.session_token().await?;
                self.post(method, &params, Some(&token)).await
            }
            other => other,
        }
    }

    /// Forgets the session, so the next call logs in (after a failover or a switch-back).
    pub async fn reset_session(&self) {
        *self.inner.session.lock().await = None;
    }

    async fn drop_session(&self, generation: u64) {
        let mut session = self.inner.session.lock().await;
        if session.as_ref().is_some_and(|s| s.generation == generation) {
            *session = None;
        }
    }

    /// The current access token, logging in or refreshing first if needed.
    async fn session_token(&self) -> Result<(Secret, u64), PortaError> {
        let mut slot = self.inner.session.lock().await;
        if let Some(session) = slot.as_ref() {
            let due = session
                .refresh_after
                .is_some_and(|after| clock::unix_now_micros() >= after);
            if !due {
                return Ok((session.access.clone(), session.generation));
            }
            if let Some(refresh) = session.refresh.clone() {
                match self.refresh(&refresh).await {
                    Ok(renewed) => {
                        let token = (renewed.access.clone(), renewed.generation);
                        *slot = Some(renewed);
                        return Ok(token);
                    }
                    Err(error) => {
                        tracing::info!(site = %self.inner.name, error = %error.summary(), "token refresh failed; logging in again");
                    }
                }
            }
        }
        let session = self.login().await?;
        let token = (session.access.clone(), session.generation);
        *slot = Some(session);
        if let Some((method, params)) = &self.inner.after_login
            && let Err(error) = self.post(method, params, Some(&token.0)).await
        {
            tracing::warn!(site = %self.inner.name, method, error = %error.summary(), "cannot renew the subscription after login");
        }
        Ok(token)
    }

    async fn login(&self) -> Result<Session, PortaError> {
        let credentials = &self.inner.credentials;
        let params = match &credentials.secret {
            LoginSecret::Password(password) => {
                json!({"login": credentials.login, "password": password.expose()})
            }
            LoginSecret::ApiToken(token) => {
                json!({"login": credentials.login, "token": token.expose()})
            }
        };
        self.inner.stats.logins.fetch_add(1, Ordering::Relaxed);
        tracing::info!(site = %self.inner.name, login = %credentials.login, "logging in");
        let started = clock::unix_now_micros();
        let reply =
            self.post("Session/login", &params, None)
                .await
                .map_err(|error| match error {
                    PortaError::Fault { code, string } => PortaError::LoginRefused { code, string },
                    other => other,
                })?;
        self.session_from(&reply, None, started)
    }

    async fn refresh(&self, refresh: &Secret) -> Result<Session, PortaError> {
        self.inner.stats.refreshes.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(site = %self.inner.name, "refreshing the access token");
        let started = clock::unix_now_micros();
        let reply = self
            .post(
                "Session/refresh_access_token",
                &json!({"refresh_token": refresh.expose()}),
                None,
            )
            .await?;
        self.session_from(&reply, Some(refresh.clone()), started)
    }

    fn session_from(
        &self,
        reply: &Value,
        previous_refresh: Option<Secret>,
        started: u64,
    ) -> Result<Session, PortaError> {
        let access = reply
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                PortaError::BadResponse("no access_token in the session reply".into())
            })?;
        let refresh = reply
            .get("refresh_token")
            .and_then(Value::as_str)
            .map(Secret::new)
            .or(previous_refresh);
        let expires_at = reply.get("expires_at").and_then(|value| match value {
            Value::Number(n) => n.as_u64().map(|secs| secs * 1_000_000),
            Value::String(text) => super::wire::parse_switch_time(text, 0),
            _ => None,
        });
        let refresh_after =
            expires_at.map(|expires| started + expires.saturating_sub(started) / 5 * 4);
        Ok(Session {
            access: Secret::new(access),
            refresh,
            refresh_after,
            generation: self.inner.generation.fetch_add(1, Ordering::Relaxed) + 1,
        })
    }

    /// One request, retried with backoff while the connection cannot be made.
    async fn post(
        &self,
        method: &str,
        params: &Value,
        bearer: Option<&Secret>,
    ) -> Result<Value, PortaError> {
        let mut attempt = 0;
        loop {
            match self.post_once(method, params, bearer).await {
                Err(error)
                    if error.is_connect_failure()
                        && attempt < self.inner.settings.connect_retries =>
                {
                    let wait = self.inner.settings.backoff * 2u32.pow(attempt);
                    attempt += 1;
                    tracing::debug!(site = %self.inner.name, method, attempt, "cannot connect; retrying");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    async fn post_once(
        &self,
        method: &str,
        params: &Value,
        bearer: Option<&Secret>,
    ) -> Result<Value, PortaError> {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| PortaError::BadResponse("the client was closed".into()))?;
        let stats = &self.inner.stats;
        stats.requests.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}/rest/{}", self.inner.base, method);
        let mut request = self
            .inner
            .http
            .post(&url)
            .header("Content-Type", "application/json")
            .body(json!({ "params": params }).to_string());
        if let Some(token) = bearer {
            request = request.header("Authorization", format!("Bearer {}", token.expose()));
        }
        let response = request.send().await.map_err(|error| {
            stats.transport_errors.fetch_add(1, Ordering::Relaxed);
            transport_error(&error)
        })?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|error| {
            stats.transport_errors.fetch_add(1, Ordering::Relaxed);
            transport_error(&error)
        })?;
        match status {
            200 => serde_json::from_slice(&body)
                .map_err(|error| PortaError::BadResponse(format!("{method}: not JSON: {error}"))),
            500 => {
                let fault: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                match fault.get("faultcode").and_then(Value::as_str) {
                    Some(code) => {
                        stats.faults.fetch_add(1, Ordering::Relaxed);
                        let string = fault
                            .get("faultstring")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        tracing::debug!(site = %self.inner.name, method, code, "fault");
                        Err(PortaError::Fault {
                            code: code.to_string(),
                            string,
                        })
                    }
                    None => Err(PortaError::Http(500)),
                }
            }
            other => Err(PortaError::Http(other)),
        }
    }
}

/// Describes a reqwest failure (its text names the URL, which carries no credential).
fn transport_error(error: &reqwest::Error) -> PortaError {
    let kind = if error.is_timeout() {
        TransportKind::Timeout
    } else if error.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    };
    PortaError::Transport {
        kind,
        message: error.to_string(),
    }
}
