//! The engine context keeps actix's rules: the same actors, given the same mail, do the same
//! things in the same order whether they run on actix's own `Context` (tokio tasks) or on the
//! engine runner's `EngineContext`.
//!
//! Each case starts a few actors and sends them a random script of work from outside; a piece
//! of work is logged when handled, may send more work to other actors (which may send once
//! more), and may ask its actor to stop. The script may also drop the outside's strong handle to
//! an actor, which then stops once its mail is handled. The logs of the two runs (mail handled,
//! `started`, `stopped`) must be identical.

use actix::prelude::*;
use dialer::executor::actors::{self, ActorRef, EngineContext};
use proptest::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Clone, Debug)]
struct Work {
    id: u32,
    /// Sent on when this is handled: (actor, work).
    then: Vec<(usize, Work)>,
    stop_after: bool,
}

impl Message for Work {
    type Result = ();
}

#[derive(Clone, Debug)]
enum Op {
    Send(usize, Work),
    DropHandle(usize),
}

type Log = Rc<RefCell<Vec<String>>>;

/// The actors' handles, as the outside and the actors themselves see them.
type Directory<H> = Rc<RefCell<Vec<Option<H>>>>;

fn work(depth: u32, actors: usize) -> impl Strategy<Value = Work> {
    let then = if depth == 0 {
        Just(Vec::new()).boxed()
    } else {
        prop::collection::vec((0..actors, work(depth - 1, actors)), 0..3).boxed()
    };
    (0u32..1000, then, prop::bool::weighted(0.12)).prop_map(|(id, then, stop_after)| Work {
        id,
        then,
        stop_after,
    })
}

fn script() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (1usize..5).prop_flat_map(|actors| {
        let op = prop_oneof![
            8 => (0..actors, work(2, actors)).prop_map(|(to, work)| Op::Send(to, work)),
            1 => (0..actors).prop_map(Op::DropHandle),
        ];
        (Just(actors), prop::collection::vec(op, 0..14))
    })
}

/// What a node does with a piece of work, whichever context it runs on: logs it and sends on
/// the work it carries through `send`. Returns whether the work asks its actor to stop.
fn handle_work<H: Clone>(
    name: usize,
    log: &Log,
    directory: &Directory<H>,
    work: Work,
    send: impl Fn(&H, Work),
) -> bool {
    log.borrow_mut().push(format!("{name} handles {}", work.id));
    for (to, next) in work.then {
        let address = directory.borrow()[to].clone();
        match address {
            Some(address) => send(&address, next),
            None => log.borrow_mut().push(format!("{to} unreachable")),
        }
    }
    work.stop_after
}

/// The node on actix's own context.
struct ActixNode {
    name: usize,
    log: Log,
    directory: Directory<Addr<ActixNode>>,
}

impl Actor for ActixNode {
    type Context = Context<Self>;
    fn started(&mut self, _: &mut Context<Self>) {
        self.log.borrow_mut().push(format!("{} started", self.name));
    }
    fn stopped(&mut self, _: &mut Context<Self>) {
        self.log.borrow_mut().push(format!("{} stopped", self.name));
    }
}

impl Handler<Work> for ActixNode {
    type Result = ();
    fn handle(&mut self, work: Work, ctx: &mut Context<Self>) {
        if handle_work(self.name, &self.log, &self.directory, work, |to, next| {
            to.do_send(next)
        }) {
            ctx.stop();
        }
    }
}

/// The same node on the engine context.
struct EngineNode {
    name: usize,
    log: Log,
    directory: Directory<ActorRef<EngineNode>>,
}

impl Actor for EngineNode {
    type Context = EngineContext<Self>;
    fn started(&mut self, _: &mut EngineContext<Self>) {
        self.log.borrow_mut().push(format!("{} started", self.name));
    }
    fn stopped(&mut self, _: &mut EngineContext<Self>) {
        self.log.borrow_mut().push(format!("{} stopped", self.name));
    }
}

impl Handler<Work> for EngineNode {
    type Result = ();
    fn handle(&mut self, work: Work, ctx: &mut EngineContext<Self>) {
        if handle_work(self.name, &self.log, &self.directory, work, |to, next| {
            to.do_send(next)
        }) {
            ctx.stop();
        }
    }
}

/// Plays `ops` on a fresh paused System: starts `actors` nodes with `start`, sends from outside
/// through `send`, lets everything settle, then drops every outside handle. Returns the log.
fn run_script<H: Clone + 'static>(
    actors: usize,
    ops: &[Op],
    start: impl Fn(usize, Log, Directory<H>) -> H + 'static,
    send: impl Fn(&H, Work) + 'static,
) -> Vec<String> {
    let log = Log::default();
    let seen = log.clone();
    let ops = ops.to_vec();
    dialer::runtime::paused_system()
        .expect("runtime")
        .block_on(async move {
            let directory: Directory<H> = Rc::default();
            for name in 0..actors {
                let node = start(name, log.clone(), directory.clone());
                directory.borrow_mut().push(Some(node));
            }
            for op in ops {
                match op {
                    Op::Send(to, work) => {
                        let address = directory.borrow()[to].clone();
                        if let Some(address) = address {
                            send(&address, work);
                        }
                    }
                    Op::DropHandle(to) => {
                        let dropped = directory.borrow_mut()[to].take();
                        drop(dropped);
                    }
                }
            }
            quiet().await;
            directory.borrow_mut().clear();
            quiet().await;
        });
    seen.take()
}

async fn quiet() {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
}

fn run_on_actix(actors: usize, ops: &[Op]) -> Vec<String> {
    run_script(
        actors,
        ops,
        |name, log, directory| {
            ActixNode {
                name,
                log,
                directory,
            }
            .start()
        },
        |to: &Addr<ActixNode>, work| to.do_send(work),
    )
}

fn run_on_engine(actors: usize, ops: &[Op]) -> Vec<String> {
    run_script(
        actors,
        ops,
        |name, log, directory| {
            actors::start(EngineNode {
                name,
                log,
                directory,
            })
        },
        |to: &ActorRef<EngineNode>, work| to.do_send(work),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_context_keeps_actix_rules((actors, ops) in script()) {
        let on_actix = run_on_actix(actors, &ops);
        let on_engine = run_on_engine(actors, &ops);
        prop_assert_eq!(on_engine, on_actix, "actors {}, script {:?}", actors, ops);
    }
}

/// A case written out: work that stops its actor while more waits, a relay through an actor
/// whose outside handle was dropped, and mail to an actor that has stopped.
#[test]
fn a_written_case_agrees_too() {
    let leaf = |id| Work {
        id,
        then: Vec::new(),
        stop_after: false,
    };
    let ops = vec![
        Op::Send(
            0,
            Work {
                id: 1,
                then: vec![(1, leaf(2)), (0, leaf(3))],
                stop_after: true,
            },
        ),
        Op::Send(0, leaf(4)),
        Op::DropHandle(1),
        Op::Send(
            2,
            Work {
                id: 5,
                then: vec![(1, leaf(6)), (0, leaf(7))],
                stop_after: false,
            },
        ),
    ];
    let on_actix = run_on_actix(3, &ops);
    let on_engine = run_on_engine(3, &ops);
    assert!(on_actix.contains(&"0 stopped".to_string()));
    assert!(on_actix.contains(&"1 stopped".to_string()));
    assert_eq!(on_engine, on_actix);
}
