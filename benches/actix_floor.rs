//! The floor under the simulator's speed: what the actor machinery itself costs for one message
//! between two actors (a "hop"), and for spawning an actor that sends one message and stops, on
//! the same paused current-thread runtime the simulator uses. No engine code runs here. Each is
//! measured two ways: actix actors on actix's `Context` as tokio tasks (actix's own `start`), and
//! actix actors on the engine runner's own context (`dialer::executor::actors::EngineContext`),
//! which is what the engine's actors use.
//!
//! BENCHMARKS.md multiplies these by the hops each simulated attempt needs to show how much of
//! an attempt's time is the actor framework's.
//!
//! Run: `cargo bench --bench actix_floor`.

use actix::prelude::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;
use tokio::sync::oneshot;

#[global_allocator]
static ALLOCATOR: dialer::allocator::Allocator = dialer::allocator::Allocator;

#[derive(Message)]
#[rtype(result = "()")]
struct Ping(u64);

#[derive(Message)]
#[rtype(result = "()")]
struct SetPeer(Recipient<Ping>);

/// Passes a counter back and forth until it reaches zero.
struct Player {
    peer: Option<Recipient<Ping>>,
    done: Option<oneshot::Sender<()>>,
}

impl Actor for Player {
    type Context = Context<Self>;
}

impl Handler<SetPeer> for Player {
    type Result = ();
    fn handle(&mut self, message: SetPeer, _: &mut Context<Self>) {
        self.peer = Some(message.0);
    }
}

impl Handler<Ping> for Player {
    type Result = ();
    fn handle(&mut self, message: Ping, _: &mut Context<Self>) {
        if message.0 == 0 {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        } else if let Some(peer) = &self.peer {
            peer.do_send(Ping(message.0 - 1));
        }
    }
}

/// Counts the messages of short-lived actors.
struct Sink {
    left: u64,
    done: Option<oneshot::Sender<()>>,
}

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<Ping> for Sink {
    type Result = ();
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {
        self.left -= 1;
        if self.left == 0
            && let Some(done) = self.done.take()
        {
            let _ = done.send(());
        }
    }
}

/// Sends one message when it starts, then stops: the shape of a call attempt's actor.
struct OneShot {
    sink: Recipient<Ping>,
}

impl Actor for OneShot {
    type Context = Context<Self>;
    fn started(&mut self, ctx: &mut Context<Self>) {
        self.sink.do_send(Ping(1));
        ctx.stop();
    }
}

fn paused_system() -> actix::SystemRunner {
    dialer::runtime::paused_system().expect("runtime")
}

fn hops(count: u64) {
    paused_system().block_on(async move {
        let (done, finished) = oneshot::channel();
        let first = Player {
            peer: None,
            done: Some(done),
        }
        .start();
        let second = Player {
            peer: Some(first.clone().recipient()),
            done: None,
        }
        .start();
        first.do_send(SetPeer(second.recipient()));
        first.do_send(Ping(count));
        let _ = finished.await;
    });
}

fn spawns(count: u64) {
    paused_system().block_on(async move {
        let (done, finished) = oneshot::channel();
        let sink = Sink {
            left: count,
            done: Some(done),
        }
        .start()
        .recipient();
        for _ in 0..count {
            OneShot { sink: sink.clone() }.start();
        }
        let _ = finished.await;
    });
}

/// The same three actors on the engine's own context.
mod engine {
    use actix::prelude::*;
    use dialer::executor::actors::{self, EngineContext, Port};
    use tokio::sync::oneshot;

    pub struct Ping(pub u64);
    impl Message for Ping {
        type Result = ();
    }

    pub struct SetPeer(pub Port<Ping>);
    impl Message for SetPeer {
        type Result = ();
    }

    pub struct Player {
        pub peer: Option<Port<Ping>>,
        pub done: Option<oneshot::Sender<()>>,
    }

    impl Actor for Player {
        type Context = EngineContext<Self>;
    }

    impl Handler<SetPeer> for Player {
        type Result = ();
        fn handle(&mut self, message: SetPeer, _: &mut EngineContext<Self>) {
            self.peer = Some(message.0);
        }
    }

    impl Handler<Ping> for Player {
        type Result = ();
        fn handle(&mut self, message: Ping, _: &mut EngineContext<Self>) {
            if message.0 == 0 {
                self.peer = None;
                if let Some(done) = self.done.take() {
                    let _ = done.send(());
                }
            } else if let Some(peer) = &self.peer {
                peer.do_send(Ping(message.0 - 1));
            }
        }
    }

    pub struct Sink {
        pub left: u64,
        pub done: Option<oneshot::Sender<()>>,
    }

    impl Actor for Sink {
        type Context = EngineContext<Self>;
    }

    impl Handler<Ping> for Sink {
        type Result = ();
        fn handle(&mut self, _: Ping, _: &mut EngineContext<Self>) {
            self.left -= 1;
            if self.left == 0
                && let Some(done) = self.done.take()
            {
                let _ = done.send(());
            }
        }
    }

    pub struct OneShot {
        pub sink: Port<Ping>,
    }

    impl Actor for OneShot {
        type Context = EngineContext<Self>;
        fn started(&mut self, ctx: &mut EngineContext<Self>) {
            self.sink.do_send(Ping(1));
            ctx.stop();
        }
    }

    pub fn hops(count: u64) {
        super::paused_system().block_on(async move {
            let (done, finished) = oneshot::channel();
            let first = actors::start(Player {
                peer: None,
                done: Some(done),
            });
            let second = actors::start(Player {
                peer: Some(first.clone().port()),
                done: None,
            });
            first.do_send(SetPeer(second.port()));
            first.do_send(Ping(count));
            let _ = finished.await;
        });
    }

    pub fn spawns(count: u64) {
        super::paused_system().block_on(async move {
            let (done, finished) = oneshot::channel();
            let sink = actors::start(Sink {
                left: count,
                done: Some(done),
            })
            .port();
            for _ in 0..count {
                actors::start(OneShot { sink: sink.clone() });
            }
            let _ = finished.await;
        });
    }
}

fn actix_floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("actix_floor");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    let hop_count = 100_000;
    group.throughput(Throughput::Elements(hop_count));
    group.bench_function("hop (do_send + poll + handle)", |b| {
        b.iter(|| hops(hop_count))
    });
    group.bench_function("hop on the engine context", |b| {
        b.iter(|| engine::hops(hop_count))
    });
    let spawn_count = 20_000;
    group.throughput(Throughput::Elements(spawn_count));
    group.bench_function("spawn, send one message, stop", |b| {
        b.iter(|| spawns(spawn_count))
    });
    group.bench_function(
        "spawn, send one message, stop, on the engine context",
        |b| b.iter(|| engine::spawns(spawn_count)),
    );
    group.finish();
}

criterion_group!(benches, actix_floor);
criterion_main!(benches);
