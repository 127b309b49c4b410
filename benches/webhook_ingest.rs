//! Webhook ingest: PortaSwitch callbacks per second through the real receiver, backend and call
//! actors, with 10,000 calls live, and the latency from sending a callback to the call's state
//! change; beside an actix-web hello-world endpoint driven by the same client on the same
//! machine.
//!
//! Each iteration starts 10,000 fresh call actors (registered with the backend as if
//! originated) and posts six callbacks per call (ringing, connected, queued, dequeued,
//! connected, terminated): 60,000 events, every one a state change. A minimal HTTP/1.1 client
//! with keep-alive connections sends them, each call always on the same connection so its
//! events stay in order. Latency is measured from the moment the client starts sending a
//! callback to the moment the campaign (here a stand-in that records times) hears of the state
//! change, so it includes the client and loopback, an upper bound on receipt-to-state-change.
//!
//! `cargo bench --bench webhook_ingest`; `WEBHOOK_BENCH_WORKERS` sets the receiver's worker
//! threads (default 1) and `WEBHOOK_BENCH_CONNECTIONS` the client's connections (default 32).

use actix::{Actor, Context, Handler, Recipient};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dialer::call::actor::{CallActor, CallEnv, CallUpdate};
use dialer::call::machine::{CallMachine, CallSettings};
use dialer::clock::Clock;
use dialer::domain::{AttemptId, LeadId, PhoneNumber};
use dialer::mail::Mail;
use dialer::portaswitch::backend::{
    AdoptCall, BackendSettings, BackendStats, PortaSwitchBackend, SiteSpec, build_sites,
};
use dialer::portaswitch::client::{ClientSettings, Credentials, LoginSecret, Secret};
use dialer::portaswitch::webhook::{self, WebhookSettings, WebhookStats};
use dialer::portaswitch::wire::{ApiNames, EventNames, TimeBase};
use dialer::switch::{CallRef, SwitchCommand};
use dialer::trace::TraceSink;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CALLS: usize = 10_000;
const STATES: [&str; 6] = [
    "ringing",
    "connected",
    "queued",
    "dequeued",
    "connected",
    "terminated",
];
const SECRET: &str = "bench-webhook-secret-0123456789";

/// Nanoseconds since the benchmark's epoch, per (call, step).
struct Times {
    epoch: Instant,
    sent: Vec<AtomicU64>,
    changed: Vec<AtomicU64>,
}

impl Times {
    fn new() -> Times {
        let slots = CALLS * STATES.len();
        Times {
            epoch: Instant::now(),
            sent: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            changed: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

/// Stands in for the campaign: records when each call's state changed.
struct Recorder {
    times: Arc<Times>,
    steps: Vec<u8>,
    base: u64,
}

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<Mail<CallUpdate>> for Recorder {
    type Result = ();

    fn handle(&mut self, mail: Mail<CallUpdate>, _ctx: &mut Context<Self>) {
        let update = mail.body;
        if update.from == update.to {
            return;
        }
        let call = (update.attempt.0 - self.base) as usize;
        if let Some(step) = self.steps.get_mut(call) {
            let slot = call * STATES.len() + *step as usize;
            if let Some(cell) = self.times.changed.get(slot) {
                cell.store(self.times.now(), Ordering::Relaxed);
            }
            *step += 1;
        }
    }
}

/// Stands in for the switch: adopts each originated call into the backend.
struct Adopter {
    backend: Recipient<AdoptCall>,
}

impl Actor for Adopter {
    type Context = Context<Self>;
}

impl Handler<Mail<SwitchCommand>> for Adopter {
    type Result = ();

    fn handle(&mut self, mail: Mail<SwitchCommand>, _ctx: &mut Context<Self>) {
        if let SwitchCommand::Originate(request) = mail.body {
            self.backend.do_send(AdoptCall {
                attempt: request.attempt,
                call: call_ref(request.attempt.0),
                events_to: request.events_to,
            });
        }
    }
}

fn call_ref(attempt: u64) -> CallRef {
    CallRef {
        id: format!("c{attempt}").into(),
        tag: "t".into(),
    }
}

/// Commands to the engine thread.
enum EngineCommand {
    /// Start 10,000 calls numbered from `base`; reply when they are adopted.
    StartCalls {
        base: u64,
        times: Arc<Times>,
        done: mpsc::Sender<()>,
    },
}

/// The engine side: backend, receiver and call actors on one actix System thread.
fn start_engine(workers: usize) -> (SocketAddr, mpsc::Sender<EngineCommand>) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (command_tx, command_rx) = mpsc::channel::<EngineCommand>();
    std::thread::spawn(move || {
        let system = actix::System::new();
        system.block_on(async move {
            let settings = BackendSettings {
                sites: vec![SiteSpec {
                    name: "main".into(),
                    url: "http://127.0.0.1:9".into(),
                }],
                credentials: Credentials {
                    login: "bench".into(),
                    secret: LoginSecret::Password(Secret::new("x")),
                },
                client: ClientSettings {
                    connect_retries: 0,
                    ..ClientSettings::default()
                },
                names: ApiNames::default(),
                customer: 1,
                auto_attendant: "aa".into(),
                callback_url: Secret::new(""),
                agents_logged_in: 0,
                agents_source: Default::default(),
                unknown_grace: Duration::from_secs(5),
                probe_interval: Duration::from_secs(3600),
                switch_back_after: 2,
            };
            let sites = build_sites(&settings).unwrap();
            let clock = Clock::wall_starting_now();
            let notices = Sink.start();
            let backend = PortaSwitchBackend::new(
                settings,
                sites,
                notices.recipient().into(),
                Arc::new(BackendStats::default()),
                clock.clone(),
                TraceSink::hashing_only().shared(),
            )
            .start();
            let webhook_settings = WebhookSettings {
                listen: "127.0.0.1:0".parse().unwrap(),
                path: "/hook".into(),
                secret: Secret::new(SECRET),
                body_limit: 64 * 1024,
                workers,
                // Far above what the client sends, so every request pays for the check and
                // none is refused.
                rate_limit: webhook::RateLimit::new(1_000_000.0, 1_000_000).unwrap(),
                names: EventNames::default(),
                time_base: TimeBase {
                    origin_unix_micros: 0,
                },
            };
            let listener = webhook::bind(&webhook_settings).unwrap();
            let receiver = webhook::start(
                listener,
                &webhook_settings,
                backend.clone().recipient(),
                Arc::new(WebhookStats::default()),
            )
            .unwrap();
            ready_tx.send(receiver.address).unwrap();
            let adopter = Adopter {
                backend: backend.recipient(),
            }
            .start();
            // Commands from the benchmark thread, polled without blocking the System.
            loop {
                match command_rx.try_recv() {
                    Ok(EngineCommand::StartCalls { base, times, done }) => {
                        let recorder = Recorder {
                            times,
                            steps: vec![0; CALLS],
                            base,
                        }
                        .start();
                        let env = Rc::new(CallEnv {
                            clock: clock.clone(),
                            switch: adopter.clone().recipient().into(),
                            supervisor: recorder.recipient().into(),
                            settings: CallSettings {
                                dial_watchdog_grace: dialer::time::SimDuration::from_secs(3600),
                                ..CallSettings::default()
                            },
                            // Every callback reaches the recorder, as the console would see it.
                            report_ringing: true,
                            switch_calls: None,
                        });
                        for index in 0..CALLS as u64 {
                            let attempt = base + index;
                            let machine = CallMachine::boxed(
                                AttemptId(attempt),
                                LeadId(attempt),
                                PhoneNumber("+15550000000".into()),
                                env.settings,
                            );
                            let _ = CallActor::spawn(machine, env.clone());
                        }
                        // Let the adoptions through before the load starts.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        let _ = done.send(());
                    }
                    Err(mpsc::TryRecvError::Empty) => {
                        tokio::time::sleep(Duration::from_millis(5)).await
                    }
                    Err(mpsc::TryRecvError::Disconnected) => break,
                }
            }
        });
    });
    (ready_rx.recv().unwrap(), command_tx)
}

struct Sink;

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<Mail<dialer::switch::SwitchNotice>> for Sink {
    type Result = ();
    fn handle(&mut self, _: Mail<dialer::switch::SwitchNotice>, _: &mut Context<Self>) {}
}

/// An actix-web endpoint that answers every POST with `{"success":1}`.
fn start_hello_world(workers: usize) -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let system = actix::System::new();
        system.block_on(async move {
            let server = actix_web::HttpServer::new(|| {
                actix_web::App::new().default_service(actix_web::web::to(
                    |_body: actix_web::web::Bytes| async {
                        actix_web::HttpResponse::Ok().json(serde_json::json!({"success": 1}))
                    },
                ))
            })
            .workers(workers)
            .disable_signals()
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    rx.recv().unwrap()
}

fn body(attempt: u64, step: usize) -> String {
    let state = STATES[step];
    let reason = if state == "terminated" {
        r#","reason":"BYE Received","reason_code":487"#
    } else {
        ""
    };
    format!(
        r#"{{"call":{{"id":"c{attempt}","tag":"t"}},"tracking_id":"trk{attempt}","state":"{state}","update_time":"2026-01-01 00:00:0{step}"{reason}}}"#
    )
}

/// Posts every call's six callbacks over `connections` keep-alive connections; returns the
/// elapsed time.
fn load(
    address: SocketAddr,
    path: &str,
    base: u64,
    times: &Arc<Times>,
    connections: usize,
    rate: Option<f64>,
) -> Duration {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let started = Instant::now();
    local.block_on(&runtime, async {
        let mut tasks = Vec::new();
        for connection in 0..connections {
            let calls: Vec<usize> = (connection..CALLS).step_by(connections).collect();
            let requests: Vec<(usize, Vec<u8>)> = (0..STATES.len())
                .flat_map(|step| calls.iter().map(move |call| (*call, step)))
                .map(|(call, step)| {
                    let body = body(base + call as u64, step);
                    let request = format!(
                        "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    (call * STATES.len() + step, request.into_bytes())
                })
                .collect();
            let times = times.clone();
            // Open loop at `rate` events/s in all: each connection sends on its own schedule.
            let gap = rate.map(|rate| Duration::from_secs_f64(connections as f64 / rate));
            tasks.push(tokio::task::spawn_local(async move {
                let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut buffer = vec![0u8; 4096];
                let start = tokio::time::Instant::now();
                for (index, (slot, request)) in requests.iter().enumerate() {
                    if let Some(gap) = gap {
                        tokio::time::sleep_until(start + gap * index as u32).await;
                    }
                    times.sent[*slot].store(times.now(), Ordering::Relaxed);
                    stream.write_all(request).await.unwrap();
                    read_response(&mut stream, &mut buffer).await;
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    started.elapsed()
}

/// Reads one HTTP/1.1 response with a Content-Length body.
async fn read_response(stream: &mut tokio::net::TcpStream, buffer: &mut [u8]) {
    let mut filled = 0;
    loop {
        let read = stream.read(&mut buffer[filled..]).await.unwrap();
        assert!(read > 0, "the server closed the connection");
        filled += read;
        let text = &buffer[..filled];
        if let Some(end) = text.windows(4).position(|w| w == b"\r\n\r\n") {
            let headers = std::str::from_utf8(&text[..end])
                .unwrap()
                .to_ascii_lowercase();
            assert!(headers.starts_with("http/1.1 200"), "{headers}");
            let length: usize = headers
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if filled >= end + 4 + length {
                return;
            }
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index] as f64 / 1e6
}

fn webhook_ingest(c: &mut Criterion) {
    let workers: usize = std::env::var("WEBHOOK_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let connections: usize = std::env::var("WEBHOOK_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let events = (CALLS * STATES.len()) as u64;
    let (engine_address, engine) = start_engine(workers);
    let hello_address = start_hello_world(workers);
    let latencies = Mutex::new(Vec::<u64>::new());
    let missing = AtomicU64::new(0);
    let next_base = AtomicU64::new(1);

    let mut group = c.benchmark_group("webhook_ingest");
    group.throughput(Throughput::Elements(events));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(15));
    for (name, rate) in [
        ("engine_10k_calls", None),
        ("engine_10k_calls_offered_20k_per_s", Some(20_000.0)),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let base = next_base.fetch_add(CALLS as u64, Ordering::Relaxed);
                    let times = Arc::new(Times::new());
                    let (done_tx, done_rx) = mpsc::channel();
                    engine
                        .send(EngineCommand::StartCalls {
                            base,
                            times: times.clone(),
                            done: done_tx,
                        })
                        .unwrap();
                    done_rx.recv().unwrap();
                    total += load(
                        engine_address,
                        &format!("/hook/{SECRET}"),
                        base,
                        &times,
                        connections,
                        rate,
                    );
                    // Let the last state changes land, then collect latencies.
                    std::thread::sleep(Duration::from_millis(100));
                    let mut all = latencies.lock().unwrap();
                    for (sent, changed) in times.sent.iter().zip(&times.changed) {
                        let (sent, changed) = (
                            sent.load(Ordering::Relaxed),
                            changed.load(Ordering::Relaxed),
                        );
                        if changed == 0 || changed < sent {
                            missing.fetch_add(1, Ordering::Relaxed);
                        } else {
                            all.push(changed - sent);
                        }
                    }
                }
                total
            })
        });
        let mut all = std::mem::take(&mut *latencies.lock().unwrap());
        all.sort_unstable();
        eprintln!(
            "webhook_ingest/{name}: receipt-to-state-change latency over {} events ({} without a state \
         change): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; {} worker(s), {} connections",
            all.len(),
            missing.load(Ordering::Relaxed),
            percentile(&all, 0.50),
            percentile(&all, 0.99),
            percentile(&all, 1.0),
            workers,
            connections
        );
        missing.store(0, Ordering::Relaxed);
    }
    let hello_times = Arc::new(Times::new());
    group.bench_function("actix_hello_world", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| load(hello_address, "/hello", 1, &hello_times, connections, None))
                .sum()
        })
    });
    group.finish();
}

/// What the receiver adds per callback before the engine sees it: the rate check (lock, clock,
/// token bucket) and the body parser (strict JSON with the duplicate-key check, then the
/// fields), beside plain `serde_json::Value` parsing of the same body.
fn receiver_checks(c: &mut Criterion) {
    let body = br#"{"call":{"id":"3f2a-1","tag":"a9b1"},"tracking_id":"t-77","state":"terminated","update_time":"2026-01-05 10:00:12","reason":"Normal call clearing","reason_code":16}"#;
    let names = EventNames::default();
    let base = TimeBase {
        origin_unix_micros: 0,
    };
    let mut group = c.benchmark_group("webhook_checks");
    group.bench_function("rate_check", |b| {
        let bucket = Mutex::new(webhook::TokenBucket::new(
            webhook::RateLimit::new(1_000_000.0, 1_000_000).unwrap(),
        ));
        let started = Instant::now();
        b.iter(|| {
            let now = started.elapsed().as_nanos() as u64;
            std::hint::black_box(bucket.lock().unwrap().admit(now))
        })
    });
    group.bench_function("parse_callback", |b| {
        b.iter(|| std::hint::black_box(dialer::portaswitch::wire::parse_event(body, &names, base)))
    });
    group.bench_function("serde_json_value_only", |b| {
        b.iter(|| std::hint::black_box(serde_json::from_slice::<serde_json::Value>(body)))
    });
    group.finish();
}

criterion_group!(benches, webhook_ingest, receiver_checks);
criterion_main!(benches);
