//! The webhook receiver alone, in process, on 127.0.0.1:0: the real actix-web receiver of live
//! campaigns with a stand-in for the backend that records every event it is handed. And a
//! minimal HTTP/1.1 client over a plain TCP stream (one connection per request), so tests see
//! exactly the status, headers and body the receiver sent.

use actix::{Actor, Context, Handler};
use dialer::mail::Mail;
use dialer::portaswitch::client::Secret;
use dialer::portaswitch::webhook::{self, InboundEvent, RateLimit, WebhookSettings, WebhookStats};
use dialer::portaswitch::wire::{EventNames, TimeBase};
use dialer::switch::StateNotification;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const SECRET: &str = "receiver-test-secret-0123456789";
pub const PATH: &str = "/portaswitch/events";

/// Records what the receiver hands the backend.
struct Recorder(Arc<Mutex<Vec<StateNotification>>>);

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<Mail<InboundEvent>> for Recorder {
    type Result = ();

    fn handle(&mut self, mail: Mail<InboundEvent>, _ctx: &mut Context<Self>) {
        if let Ok(mut events) = self.0.lock() {
            events.push(mail.body.0);
        }
    }
}

/// A running receiver; stopped when dropped.
pub struct Receiver {
    pub address: SocketAddr,
    pub stats: Arc<WebhookStats>,
    pub events: Arc<Mutex<Vec<StateNotification>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The settings of a test receiver.
pub fn settings(body_limit: usize, rate_limit: RateLimit) -> WebhookSettings {
    WebhookSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        path: PATH.into(),
        secret: Secret::new(SECRET),
        body_limit,
        workers: 1,
        rate_limit,
        names: EventNames::default(),
        time_base: TimeBase {
            origin_unix_micros: 0,
        },
    }
}

impl Receiver {
    pub fn start(settings: WebhookSettings) -> Receiver {
        let stats = Arc::new(WebhookStats::default());
        let events = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (stats_run, events_run) = (stats.clone(), events.clone());
        let thread = std::thread::spawn(move || {
            let system = actix::System::new();
            system.block_on(async move {
                let recorder = Recorder(events_run).start();
                let listener = webhook::bind(&settings).expect("binds 127.0.0.1:0");
                let hook = webhook::start(listener, &settings, recorder.recipient(), stats_run)
                    .expect("the receiver starts");
                address_tx.send(hook.address).unwrap();
                let _ = stop_rx.await;
                hook.handle.stop(true).await;
            });
        });
        let address = address_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the receiver listens");
        Receiver {
            address,
            stats,
            events,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The callback path with the secret.
    pub fn path(&self) -> String {
        format!("{PATH}/{SECRET}")
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Response {
        post(self.address, path, body)
    }

    /// Waits (at most `limit`) until the recorder has `count` events, and returns them.
    pub fn wait_for_events(&self, count: usize, limit: Duration) -> Vec<StateNotification> {
        let deadline = Instant::now() + limit;
        loop {
            let events = self.events.lock().unwrap().clone();
            if events.len() >= count || Instant::now() > deadline {
                return events;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What came back.
#[derive(Clone, Debug)]
pub struct Response {
    /// 0 when the connection failed before a status line arrived.
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// POSTs `body` to `path` with `Connection: close` and reads the whole answer. The body is
/// written from another thread, so a server that answers before reading it all (413) is seen.
pub fn post(address: SocketAddr, path: &str, body: &[u8]) -> Response {
    let mut stream = TcpStream::connect(address).expect("connects");
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut writer = stream.try_clone().unwrap();
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&request);
    });
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buffer[..n]),
            // A reset after the answer arrived (the server closed with the body unread).
            Err(_) => break,
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = sender.join();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Response {
            status: 0,
            headers: Vec::new(),
            body: text.into_owned(),
        };
    };
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}
