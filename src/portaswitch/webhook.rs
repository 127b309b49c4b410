//! The webhook receiver: PortaSwitch POSTs call-state callbacks here (actix-web, on its own
//! worker threads).
//!
//! The path is `<path>/<secret>`: a request without the campaign's secret gets 404 (no such
//! path) or 401 (wrong secret). Then, in this order and before anything of the body is read:
//! the campaign's rate limit (a token bucket, [`RateLimit`]: 429 with `Retry-After` beyond it)
//! and the size limit (413 for a declared or received body over `body_limit`). A JSON body
//! becomes a [`StateNotification`] through [`wire::parse_event`] and is handed to the backend
//! with `do_send`, which never blocks; a malformed body gets 400 with the reason, and a state
//! the dialer does not follow is acknowledged and counted. Idempotency and ordering are the
//! call machine's business: a repeated callback is acknowledged again and changes nothing.
//!
//! The secret is checked before the rate limit, so strangers who do not know it cannot spend
//! the campaign's budget; their requests cost a comparison and a 401, and no body is read.
//!
//! The receiver decides nothing about calls; it must not log bodies (they name the callee) or
//! paths (they carry the secret). It reads the wall clock (for the rate limit) and is never
//! part of a simulation.

use super::client::Secret;
use super::wire::{self, EventError, EventNames, TimeBase};
use crate::mail::Mail;
use crate::switch::StateNotification;
use actix::Recipient;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::StreamExt;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A callback body the receiver accepted, for the backend.
#[derive(Debug)]
pub struct InboundEvent(pub StateNotification);

/// How the receiver is set up.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    pub listen: SocketAddr,
    /// The path before the secret, like `/portaswitch/events`.
    pub path: String,
    pub secret: Secret,
    pub body_limit: usize,
    pub workers: usize,
    /// Callbacks accepted per second, with a burst; checked before the body is read.
    pub rate_limit: RateLimit,
    pub names: EventNames,
    pub time_base: TimeBase,
}

/// How many callbacks a campaign's receiver takes: `per_second` on average, and up to `burst`
/// at once. The default (5,000 per second, bursts of 10,000) is far above what a campaign of
/// 10,000 simultaneous calls sends (about 1,000 to 1,500 a second: each call sends 3 to 8
/// callbacks over a life of 20 s to several minutes) and far below what one receiver ingests
/// (about 20,000 a second with p99 under 5 ms on 2 cores; see BENCHMARKS.md): it stops a
/// runaway sender from flooding the engine, not a real campaign.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    per_second: f64,
    burst: u32,
}

/// Why a rate limit was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RateLimitError {
    #[error("{0} requests per second: the rate must be more than zero")]
    NotPositive(f64),
    #[error("{0} requests per second is more than {max}", max = RateLimit::MAX_PER_SECOND)]
    TooHigh(f64),
    #[error("a burst of {0} requests: it must be at least 1")]
    BurstTooSmall(i64),
    #[error("a burst of {0} requests is more than {max}", max = RateLimit::MAX_BURST)]
    BurstTooLarge(i64),
}

impl RateLimit {
    pub const MAX_PER_SECOND: f64 = 1_000_000.0;
    pub const MAX_BURST: u32 = 10_000_000;

    /// A checked limit.
    pub fn new(per_second: f64, burst: i64) -> Result<RateLimit, RateLimitError> {
        if per_second.is_nan() || per_second <= 0.0 {
            return Err(RateLimitError::NotPositive(per_second));
        }
        if per_second > RateLimit::MAX_PER_SECOND {
            return Err(RateLimitError::TooHigh(per_second));
        }
        if burst < 1 {
            return Err(RateLimitError::BurstTooSmall(burst));
        }
        let burst = u32::try_from(burst)
            .ok()
            .filter(|burst| *burst <= RateLimit::MAX_BURST)
            .ok_or(RateLimitError::BurstTooLarge(burst))?;
        Ok(RateLimit { per_second, burst })
    }

    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    pub fn burst(&self) -> u32 {
        self.burst
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 5_000.0,
            burst: 10_000,
        }
    }
}

/// A token bucket kept as one number, the generic cell rate algorithm: the theoretical arrival
/// time of the next request. O(1), no allocation, integer nanoseconds, and pure: the caller
/// says what time it is, so tests drive it with made-up times.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// Nanoseconds one request uses up.
    interval: u64,
    /// How far ahead of time the bucket may run: `(burst - 1) * interval`.
    tolerance: u64,
    /// When the bucket would be full again, in nanoseconds since its time zero.
    full_at: u64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit) -> TokenBucket {
        let interval = ((1e9 / limit.per_second).round() as u64).max(1);
        TokenBucket {
            interval,
            tolerance: interval.saturating_mul(u64::from(limit.burst) - 1),
            full_at: 0,
        }
    }

    /// Takes one request at `now` (nanoseconds since the bucket's time zero, never going
    /// back), or says how long until one would be taken.
    pub fn admit(&mut self, now: u64) -> Result<(), Duration> {
        let due = self.full_at.max(now);
        let ahead = due - now;
        if ahead > self.tolerance {
            return Err(Duration::from_nanos(ahead - self.tolerance));
        }
        self.full_at = due.saturating_add(self.interval);
        Ok(())
    }
}

/// What the receiver saw.
#[derive(Debug, Default)]
pub struct WebhookStats {
    pub received: AtomicU64,
    pub accepted: AtomicU64,
    pub unauthorized: AtomicU64,
    pub malformed: AtomicU64,
    pub ignored_states: AtomicU64,
    /// Refused with 429: over the rate limit.
    pub rate_limited: AtomicU64,
    /// Refused with 413: over the body limit.
    pub too_large: AtomicU64,
}

/// A plain copy of [`WebhookStats`], for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WebhookCounts {
    pub received: u64,
    pub accepted: u64,
    pub unauthorized: u64,
    pub malformed: u64,
    pub ignored_states: u64,
    pub rate_limited: u64,
    pub too_large: u64,
}

impl WebhookStats {
    pub fn counts(&self) -> WebhookCounts {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        WebhookCounts {
            received: get(&self.received),
            accepted: get(&self.accepted),
            unauthorized: get(&self.unauthorized),
            malformed: get(&self.malformed),
            ignored_states: get(&self.ignored_states),
            rate_limited: get(&self.rate_limited),
            too_large: get(&self.too_large),
        }
    }
}

struct ReceiverState {
    secret: Secret,
    names: EventNames,
    time_base: TimeBase,
    body_limit: usize,
    bucket: Mutex<TokenBucket>,
    /// The bucket's time zero.
    started: Instant,
    to: Recipient<Mail<InboundEvent>>,
    stats: Arc<WebhookStats>,
}

/// A running receiver.
pub struct Webhook {
    pub handle: actix_web::dev::ServerHandle,
    pub address: SocketAddr,
}

/// Binds the receiver's address (before anything needs the callback URL).
pub fn bind(settings: &WebhookSettings) -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(settings.listen)
}

/// Starts serving on `listener`, on the current actix System. `to` hears every accepted event.
pub fn start(
    listener: std::net::TcpListener,
    settings: &WebhookSettings,
    to: Recipient<Mail<InboundEvent>>,
    stats: Arc<WebhookStats>,
) -> std::io::Result<Webhook> {
    let state = web::Data::new(ReceiverState {
        secret: settings.secret.clone(),
        names: settings.names.clone(),
        time_base: settings.time_base,
        body_limit: settings.body_limit,
        bucket: Mutex::new(TokenBucket::new(settings.rate_limit)),
        started: Instant::now(),
        to,
        stats,
    });
    let route = format!("{}/{{secret}}", settings.path.trim_end_matches('/'));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route(&route, web::post().to(receive))
            .default_service(web::to(not_found))
    })
    .workers(settings.workers.max(1))
    .disable_signals()
    .listen(listener)?;
    let address = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("the webhook receiver bound no address"))?;
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Ok(Webhook { handle, address })
}

/// Compares without stopping at the first difference.
fn same_secret(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    let mut difference = given.len() ^ expected.len();
    for (index, byte) in expected.iter().enumerate() {
        difference |= usize::from(byte ^ given.get(index).copied().unwrap_or(0));
    }
    difference == 0
}

/// Any other path or method: 404, counted with the unauthorized. Taking the payload (unread)
/// lets actix close the connection at once instead of waiting for a body nobody will read.
async fn not_found(_payload: web::Payload, state: web::Data<ReceiverState>) -> HttpResponse {
    state.stats.received.fetch_add(1, Ordering::Relaxed);
    state.stats.unauthorized.fetch_add(1, Ordering::Relaxed);
    refuse(actix_web::http::StatusCode::NOT_FOUND, "not found")
}

fn refuse(status: actix_web::http::StatusCode, reason: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": reason }))
}

/// Why a body could not be read.
enum BodyError {
    TooLarge,
    Broken,
}

/// Reads the body, stopping as soon as it passes `limit` bytes.
async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, BodyError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn receive(
    request: HttpRequest,
    secret: web::Path<String>,
    payload: web::Payload,
    state: web::Data<ReceiverState>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let stats = &state.stats;
    stats.received.fetch_add(1, Ordering::Relaxed);
    if !same_secret(&secret, state.secret.expose()) {
        stats.unauthorized.fetch_add(1, Ordering::Relaxed);
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let now = u64::try_from(state.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let admitted = match state.bucket.lock() {
        Ok(mut bucket) => bucket.admit(now),
        // `admit` cannot panic, but a poisoned lock still holds a valid bucket: keep using it.
        Err(poisoned) => poisoned.into_inner().admit(now),
    };
    if let Err(wait) = admitted {
        stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", seconds.max(1).to_string()))
            .json(serde_json::json!({ "error": "over the campaign's callback rate limit" }));
    }
    let too_large = || {
        stats.too_large.fetch_add(1, Ordering::Relaxed);
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is larger than {} bytes", state.body_limit),
        )
    };
    let declared = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    if declared.is_some_and(|length| length > state.body_limit as u64) {
        return too_large();
    }
    let body = match read_body(payload, state.body_limit).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return too_large(),
        Err(BodyError::Broken) => {
            stats.malformed.fetch_add(1, Ordering::Relaxed);
            return refuse(StatusCode::BAD_REQUEST, "the body could not be read");
        }
    };
    match wire::parse_event(&body, &state.names, state.time_base) {
        Ok(note) => {
            stats.accepted.fetch_add(1, Ordering::Relaxed);
            state.to.do_send(Mail::new(InboundEvent(note)));
            HttpResponse::Ok().json(serde_json::json!({"success": 1}))
        }
        Err(EventError::UnsupportedState(name)) => {
            stats.ignored_states.fetch_add(1, Ordering::Relaxed);
            HttpResponse::Ok().json(serde_json::json!({"success": 1, "ignored": name}))
        }
        Err(error) => {
            stats.malformed.fetch_add(1, Ordering::Relaxed);
            refuse(StatusCode::BAD_REQUEST, &error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{RateLimit, RateLimitError, TokenBucket, same_secret};
    use std::time::Duration;

    const MS: u64 = 1_000_000;

    #[test]
    fn the_bucket_lets_a_burst_through_then_the_rate() {
        // 10 a second, bursts of 3.
        let mut bucket = TokenBucket::new(RateLimit::new(10.0, 3).unwrap());
        for _ in 0..3 {
            assert_eq!(bucket.admit(0), Ok(()));
        }
        assert_eq!(bucket.admit(0), Err(Duration::from_millis(100)));
        assert_eq!(bucket.admit(40 * MS), Err(Duration::from_millis(60)));
        assert_eq!(bucket.admit(100 * MS), Ok(()));
        assert_eq!(bucket.admit(100 * MS), Err(Duration::from_millis(100)));
        // A quiet second refills it, never beyond the burst.
        let later = 2_000 * MS;
        for _ in 0..3 {
            assert_eq!(bucket.admit(later), Ok(()));
        }
        assert!(bucket.admit(later).is_err());
        // A steady rate at the limit always passes.
        let mut steady = TokenBucket::new(RateLimit::new(10.0, 1).unwrap());
        for step in 0..1000 {
            assert_eq!(steady.admit(step * 100 * MS), Ok(()), "step {step}");
        }
        assert!(steady.admit(999 * 100 * MS + 50 * MS).is_err());
    }

    #[test]
    fn the_bucket_survives_extreme_settings_and_times() {
        let mut slow = TokenBucket::new(RateLimit::new(1e-9, RateLimit::MAX_BURST as i64).unwrap());
        assert_eq!(slow.admit(u64::MAX), Ok(()));
        let mut fast = TokenBucket::new(RateLimit::new(RateLimit::MAX_PER_SECOND, 1).unwrap());
        assert_eq!(fast.admit(0), Ok(()));
        assert_eq!(fast.admit(0), Err(Duration::from_micros(1)));
        assert_eq!(fast.admit(u64::MAX), Ok(()));
    }

    #[test]
    fn limits_that_are_not_positive_are_refused() {
        assert_eq!(
            RateLimit::new(0.0, 5),
            Err(RateLimitError::NotPositive(0.0))
        );
        assert_eq!(
            RateLimit::new(-1.0, 5),
            Err(RateLimitError::NotPositive(-1.0))
        );
        assert!(matches!(
            RateLimit::new(f64::NAN, 5),
            Err(RateLimitError::NotPositive(_))
        ));
        assert_eq!(
            RateLimit::new(f64::INFINITY, 5),
            Err(RateLimitError::TooHigh(f64::INFINITY))
        );
        assert_eq!(
            RateLimit::new(5.0, 0),
            Err(RateLimitError::BurstTooSmall(0))
        );
        assert_eq!(
            RateLimit::new(5.0, i64::MAX),
            Err(RateLimitError::BurstTooLarge(i64::MAX))
        );
        assert_eq!(
            RateLimitError::NotPositive(-20.0).to_string(),
            "-20 requests per second: the rate must be more than zero"
        );
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("abcd", "abc"));
        assert!(!same_secret("", "abc"));
    }
}
