//! The runner for the engine's actors: one loop on the System's own thread that runs every call,
//! the campaign supervisor, pacing and the simulated switch, with none of the per-task atomics of
//! tokio's `LocalSet` or of actix's mailboxes.
//!
//! A simulated day starts one call actor per attempt and passes several messages per attempt,
//! so what starting an actor and delivering a message cost is paid hundreds of thousands of
//! times per run (BENCHMARKS.md). The engine's actors are actix actors (`Actor`, `Handler`) on
//! the runner's own context ([`actors::EngineContext`]): each is a slot in the runner's slab,
//! its mail goes straight into an inbox in that slot, and the runner calls its handlers when its
//! turn comes, in one FIFO queue of ready slots. The rules are actix's (see [`actors`]): an
//! actor's turn is queued when it is woken (started, sent mail, or left by its last strong
//! handle) and not already queued; at its turn it handles all the mail it has, in the order it
//! was sent, then stops if it asked to or if nobody holds a strong handle to it.
//!
//! The runner is itself one task on the System's `LocalSet`, so actix, tokio's timers (live
//! mode) and everything else work unchanged. Actors that other threads talk to all the time
//! (the live backend, the console) stay on actix's own `Context`. Mail from another thread is
//! legal: it goes through a locked queue and wakes the runner's task.
//!
//! There is one runner per thread, started by the first actor and ended when its System's
//! `LocalSet` is dropped (the simulator, sweeps and tests run Systems one after another on a
//! thread, each dropped before the next starts; two Systems alive on one thread at once would
//! share a runner).
//!
//! Must not: decide anything. Actors take turns in the order they were woken, one at a time, so
//! the order is as deterministic as the messages that woke them. It must not run an actor or
//! drop anything of theirs while it holds a borrow of its own state (they may send mail, start
//! others, or wake others as they are dropped).

pub mod actors;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};

/// A message on its way to an engine actor: the actor's handler, with the message inside.
/// Returns whether the actor is still running after it.
pub(crate) type Job = Box<dyn FnOnce(&mut dyn actors::Cell) -> bool + Send>;

/// How many actors' turns one poll of the runner runs before it lets the rest of the `LocalSet`
/// run.
const TURNS_PER_POLL: usize = 4096;

thread_local! {
    /// The runner of the System running on this thread, while its task is alive.
    static CURRENT: RefCell<Option<Rc<Runner>>> = const { RefCell::new(None) };
}

/// Every runner's queue for work from other threads, by runner id.
static REMOTES: Mutex<BTreeMap<u64, Weak<Remote>>> = Mutex::new(BTreeMap::new());

static NEXT_RUNNER_ID: AtomicU64 = AtomicU64::new(1);

fn current() -> Option<Rc<Runner>> {
    CURRENT
        .try_with(|current| current.try_borrow().ok().and_then(|c| c.clone()))
        .ok()
        .flatten()
}

fn current_or_start() -> Rc<Runner> {
    match current() {
        Some(runner) => runner,
        None => start_runner(),
    }
}

/// Runs `work` with this thread's runner if it is the runner `id`; `None` otherwise (another
/// thread, or the runner is gone).
fn with_local<R>(id: u64, work: impl FnOnce(&Runner) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| match current.try_borrow() {
            Ok(current) => match current.as_ref() {
                Some(runner) if runner.id == id => Some(work(runner)),
                _ => None,
            },
            Err(_) => None,
        })
        .ok()
        .flatten()
}

/// Hands `op` to runner `id` from a thread that is not its own (or while it cannot be reached
/// directly); dropped if that runner is gone. Out of line: the runner's own thread (every
/// message of a simulation) never comes here.
#[cold]
#[inline(never)]
fn send_remote(id: u64, op: RemoteOp) {
    let remote = REMOTES
        .lock()
        .ok()
        .and_then(|remotes| remotes.get(&id).and_then(Weak::upgrade));
    if let Some(remote) = remote {
        remote.push(op);
    }
}

#[cold]
#[inline(never)]
fn start_runner() -> Rc<Runner> {
    // The engine's thread allocates and frees a few small blocks per message: it keeps the
    // recently freed ones at hand (see `crate::allocator`).
    crate::allocator::keep_recent_blocks();
    let id = NEXT_RUNNER_ID.fetch_add(1, Ordering::Relaxed);
    let remote = Arc::new(Remote::default());
    if let Ok(mut remotes) = REMOTES.lock() {
        remotes.insert(id, Arc::downgrade(&remote));
    }
    let runner = Rc::new(Runner {
        id,
        slots: RefCell::new(Vec::new()),
        free: RefCell::new(Vec::new()),
        ready: RefCell::new(VecDeque::new()),
        running: Cell::new(false),
        turn_waker: RefCell::new(None),
        remote,
        spare_inboxes: RefCell::new(Vec::new()),
    });
    CURRENT.with(|current| *current.borrow_mut() = Some(runner.clone()));
    actix::spawn(tokio::task::unconstrained(RunnerTask(runner.clone())));
    runner
}

/// One entry in the slab: an actor's place, or a free one. `generation` tells a stale handle
/// (to an actor that ended, whose slot was reused) from a live one.
pub(crate) struct Slot {
    generation: u32,
    actor: Option<actors::ActorSlot>,
}

/// The live actor in `slot` of `generation`, if there is one.
fn live_actor(slots: &mut [Slot], slot: u32, generation: u32) -> Option<&mut actors::ActorSlot> {
    let entry = slots.get_mut(slot as usize)?;
    if entry.generation == generation {
        entry.actor.as_mut()
    } else {
        None
    }
}

pub(crate) struct Runner {
    id: u64,
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
    /// Actors whose turn has come, in the order they were woken: (slot, generation).
    ready: RefCell<VecDeque<(u32, u32)>>,
    /// True while the runner's task is running turns (no need to wake it then).
    running: Cell<bool>,
    /// The runner's own waker, kept while it waits for work. `remote.runner_waker` holds the same
    /// waker for other threads; this copy spares local wakes the lock.
    turn_waker: RefCell<Option<Waker>>,
    remote: Arc<Remote>,
    /// Emptied inboxes of ended actors, kept for the next ones (a day starts an actor per
    /// attempt).
    spare_inboxes: RefCell<Vec<VecDeque<Job>>>,
}

/// Work handed over by other threads.
#[derive(Default)]
struct Remote {
    /// Set when `ops` may hold something: checked without taking the lock.
    any: AtomicBool,
    ops: Mutex<Vec<RemoteOp>>,
    runner_waker: Mutex<Option<Waker>>,
}

/// Something another thread asked of a runner.
pub(crate) enum RemoteOp {
    /// Deliver a message to the engine actor in (slot, generation).
    Mail(u32, u32, Job),
    /// A strong handle to the engine actor in (slot, generation) was made or dropped there.
    Retain(u32, u32),
    Release(u32, u32),
}

impl Remote {
    fn push(&self, op: RemoteOp) {
        if let Ok(mut ops) = self.ops.lock() {
            ops.push(op);
        }
        self.any.store(true, Ordering::Release);
        if let Ok(waker) = self.runner_waker.lock()
            && let Some(waker) = waker.as_ref()
        {
            waker.wake_by_ref();
        }
    }
}

impl Runner {
    /// Takes a free slot (or a new one) for `actor`; returns (slot, generation).
    fn occupy(&self, actor: actors::ActorSlot) -> (u32, u32) {
        let index = self.free.borrow_mut().pop();
        let mut slots = self.slots.borrow_mut();
        let index = match index {
            Some(index) => index,
            None => {
                slots.push(Slot {
                    generation: 0,
                    actor: None,
                });
                (slots.len() - 1) as u32
            }
        };
        let slot = &mut slots[index as usize];
        slot.actor = Some(actor);
        (index, slot.generation)
    }

    /// Frees a slot whose actor's parts have already been taken out.
    fn vacate(&self, index: u32) {
        {
            let mut slots = self.slots.borrow_mut();
            let slot = &mut slots[index as usize];
            slot.actor = None;
            slot.generation = slot.generation.wrapping_add(1);
        }
        self.free.borrow_mut().push(index);
    }

    #[inline]
    fn push_ready(&self, index: u32, generation: u32) {
        self.ready.borrow_mut().push_back((index, generation));
        if !self.running.get() {
            self.wake_task();
        }
    }

    /// Wakes the runner's task for work queued while it was not running. Out of line: in a
    /// simulation almost every actor is woken by another's turn, with the runner running.
    #[cold]
    #[inline(never)]
    fn wake_task(&self) {
        if let Some(waker) = self.turn_waker.borrow().as_ref() {
            waker.wake_by_ref();
        }
    }

    /// Runs ready actors' turns until none is left or the turn's budget is spent. Returns true
    /// if actors are still ready.
    fn run_turns(&self) -> bool {
        self.take_remote_ops();
        for _ in 0..TURNS_PER_POLL {
            let next = self.ready.borrow_mut().pop_front();
            let Some((index, generation)) = next else {
                return false;
            };
            let turn = live_actor(&mut self.slots.borrow_mut(), index, generation)
                .and_then(actors::take_turn);
            if let Some(turn) = turn {
                actors::run(self, index, generation, turn);
            }
        }
        self.take_remote_ops();
        !self.ready.borrow().is_empty()
    }

    fn take_remote_ops(&self) {
        if !self.remote.any.load(Ordering::Acquire) {
            return;
        }
        self.remote.any.store(false, Ordering::Release);
        let ops = match self.remote.ops.lock() {
            Ok(mut ops) if !ops.is_empty() => std::mem::take(&mut *ops),
            _ => return,
        };
        for op in ops {
            match op {
                RemoteOp::Mail(index, generation, job) => {
                    actors::deliver(self, index, generation, job);
                }
                RemoteOp::Retain(index, generation) => actors::retain(self, index, generation),
                RemoteOp::Release(index, generation) => {
                    actors::release(self, index, generation);
                }
            }
        }
    }
}

/// The runner as a task of the System's `LocalSet`.
struct RunnerTask(Rc<Runner>);

impl Future for RunnerTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        let runner = &self.0;
        runner.running.set(true);
        let more = runner.run_turns();
        runner.running.set(false);
        if more {
            context.waker().wake_by_ref();
            return Poll::Pending;
        }
        let mut turn_waker = runner.turn_waker.borrow_mut();
        if !turn_waker
            .as_ref()
            .is_some_and(|waker| waker.will_wake(context.waker()))
        {
            *turn_waker = Some(context.waker().clone());
            if let Ok(mut remote) = runner.remote.runner_waker.lock() {
                *remote = Some(context.waker().clone());
            }
        }
        drop(turn_waker);
        // Remote work may have arrived after the turn looked.
        if runner.remote.any.load(Ordering::Acquire) {
            context.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl Drop for RunnerTask {
    /// The System is going away: its actors go with it, as tokio's tasks would.
    fn drop(&mut self) {
        let runner = &self.0;
        CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            if current.as_ref().is_some_and(|c| Rc::ptr_eq(c, runner)) {
                *current = None;
            }
        });
        if let Ok(mut remotes) = REMOTES.lock() {
            remotes.remove(&runner.id);
        }
        // Nothing may wake this task once it is going: forget its waker before the actors,
        // whose destructors may send mail.
        runner.turn_waker.borrow_mut().take();
        if let Ok(mut waker) = runner.remote.runner_waker.lock() {
            waker.take();
        }
        let actors: Vec<actors::ActorSlot> = runner
            .slots
            .borrow_mut()
            .iter_mut()
            .filter_map(|slot| slot.actor.take())
            .collect();
        drop(actors);
        runner.slots.borrow_mut().clear();
        runner.ready.borrow_mut().clear();
        if let Ok(mut ops) = runner.remote.ops.lock() {
            ops.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::actors::{self, EngineContext};
    use std::cell::RefCell;
    use std::rc::Rc;

    fn system() -> actix::SystemRunner {
        crate::runtime::paused_system().expect("runtime")
    }

    struct Marker(Rc<RefCell<Vec<&'static str>>>, &'static str);

    impl actix::Actor for Marker {
        type Context = EngineContext<Self>;
        fn started(&mut self, _: &mut EngineContext<Self>) {
            self.0.borrow_mut().push(self.1);
        }
    }

    #[test]
    fn each_system_gets_its_own_runner_on_the_same_thread() {
        let log = Rc::new(RefCell::new(Vec::new()));
        for name in ["first", "second"] {
            let log = log.clone();
            system().block_on(async move {
                let _marker = actors::start(Marker(log, name));
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
            });
        }
        assert_eq!(*log.borrow(), ["first", "second"]);
    }
}
