//! The webhook receiver: PortaSwitch POSTs call-state callbacks here (actix-web, on its own
//! worker threads).
//!
//! The path is `<path>/<secret>`: a request without the campaign's secret gets 404 (no such
//! path) or 401 (wrong secret). Bodies are limited in size (413 beyond). A JSON body becomes a
//! [`StateNotification`] through [`wire::parse_event`] and is handed to the backend with
//! `do_send`, which never blocks; a malformed body gets 400 with the reason, and a state the
//! dialer does not follow is acknowledged and counted. Idempotency and ordering are the call
//! machine's business: a repeated callback is acknowledged again and changes nothing.
//!
//! The receiver decides nothing about calls; it must not log bodies (they name the callee).

use super::client::Secret;
use super::wire::{self, EventError, EventNames, TimeBase};
use crate::mail::Mail;
use crate::switch::StateNotification;
use actix::Recipient;
use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
    pub names: EventNames,
    pub time_base: TimeBase,
}

/// What the receiver saw.
#[derive(Debug, Default)]
pub struct WebhookStats {
    pub received: AtomicU64,
    pub accepted: AtomicU64,
    pub unauthorized: AtomicU64,
    pub malformed: AtomicU64,
    pub ignored_states: AtomicU64,
}

/// A plain copy of [`WebhookStats`], for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WebhookCounts {
    pub received: u64,
    pub accepted: u64,
    pub unauthorized: u64,
    pub malformed: u64,
    pub ignored_states: u64,
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
        }
    }
}

struct ReceiverState {
    secret: Secret,
    names: EventNames,
    time_base: TimeBase,
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
        to,
        stats,
    });
    let route = format!("{}/{{secret}}", settings.path.trim_end_matches('/'));
    let limit = settings.body_limit;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(limit))
            .route(&route, web::post().to(receive))
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

async fn receive(
    secret: web::Path<String>,
    body: web::Bytes,
    state: web::Data<ReceiverState>,
) -> HttpResponse {
    let stats = &state.stats;
    stats.received.fetch_add(1, Ordering::Relaxed);
    if !same_secret(&secret, state.secret.expose()) {
        stats.unauthorized.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::Unauthorized().json(serde_json::json!({"error": "unauthorized"}));
    }
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
            HttpResponse::BadRequest().json(serde_json::json!({"error": error.to_string()}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("abcd", "abc"));
        assert!(!same_secret("", "abc"));
    }
}
