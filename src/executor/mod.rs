//! The runner for the engine's actors: one loop on the System's own thread that runs every call,
//! the campaign supervisor, pacing and the simulated switch, with none of the per-task atomics of
//! tokio's `LocalSet`.
//!
//! A simulated day starts one call actor per attempt and passes several messages per attempt,
//! so what starting an actor and delivering a message cost is paid hundreds of thousands of
//! times per run (BENCHMARKS.md). The runner holds two kinds of work in one slab, in one FIFO
//! queue of ready entries:
//!
//! - **futures**: actix actors on actix's own `Context` (started with [`start`] or [`create`]),
//!   polled like tokio would poll them, but a wake on the runner's thread is a queue push;
//! - **engine actors** ([`actors`]): actix actors whose context is the runner's own
//!   [`actors::EngineContext`]. Their mail goes straight into an inbox in their slot and their
//!   handlers are called directly: no thread-safe mailbox, no future, no waker.
//!
//! Both follow actix's rules, so moving an actor from one kind to the other changes no order:
//! an entry is queued when it is woken (spawned, sent mail, or left by its last strong handle)
//! and not already queued; when its turn comes it handles all the mail it has, in the order it
//! was sent, and then stops if it asked to or if nobody holds a strong handle to it.
//!
//! The runner is itself one task on the System's `LocalSet`, so actix, tokio's timers (live
//! mode) and everything else work unchanged. Actors that other threads talk to all the time
//! (the live backend, the console) stay on tokio's `LocalSet`. A wake or a message from another
//! thread is legal: it goes through a locked queue and wakes the runner's task.
//!
//! There is one runner per thread, started by the first spawn and ended when its System's
//! `LocalSet` is dropped (the simulator, sweeps and tests run Systems one after another on a
//! thread, each dropped before the next starts; two Systems alive on one thread at once would
//! share a runner).
//!
//! Must not: decide anything. Entries run in the order they were woken, one at a time, so the
//! order is as deterministic as the messages that woke them. It must not run an actor, poll a
//! task or drop anything of theirs while it holds a borrow of its own state (they may send
//! mail, spawn others, or wake others as they are dropped).

pub mod actors;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// A message on its way to an engine actor: the actor's handler, with the message inside.
/// Returns whether the actor is still running after it.
pub(crate) type Job = Box<dyn FnOnce(&mut dyn actors::Cell) -> bool + Send>;

/// How many entries one turn of the runner runs before it lets the rest of the `LocalSet` run.
const ENTRIES_PER_TURN: usize = 4096;

/// Spawns `task` on this thread's runner, starting the runner if this thread has none. Must be
/// called inside an actix System (the runner is a task of its `LocalSet`).
pub fn spawn(task: impl Future<Output = ()> + 'static) {
    current_or_start().spawn(Box::pin(task));
}

/// Starts an actor on actix's own `Context` on this thread's runner: actix's `Actor::start`,
/// run here.
pub fn start<A>(actor: A) -> actix::Addr<A>
where
    A: actix::Actor<Context = actix::Context<A>>,
{
    create(|_| actor)
}

/// Creates an actor on actix's own `Context`, with access to its context before it runs
/// (actix's `Actor::create`), on this thread's runner.
pub fn create<A, F>(build: F) -> actix::Addr<A>
where
    A: actix::Actor<Context = actix::Context<A>>,
    F: FnOnce(&mut actix::Context<A>) -> A,
{
    let mut context = actix::Context::new();
    let actor = build(&mut context);
    let address = actix::AsyncContext::address(&context);
    spawn(context.into_future(actor));
    address
}

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
/// directly); dropped if that runner is gone.
fn send_remote(id: u64, op: RemoteOp) {
    let remote = REMOTES
        .lock()
        .ok()
        .and_then(|remotes| remotes.get(&id).and_then(Weak::upgrade));
    if let Some(remote) = remote {
        remote.push(op);
    }
}

fn start_runner() -> Rc<Runner> {
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

/// One entry in the slab. `generation` tells a stale reference (to a finished task or actor
/// whose slot was reused) from a live one.
pub(crate) struct Slot {
    generation: u32,
    occupant: Occupant,
}

enum Occupant {
    Free,
    Task(TaskSlot),
    Actor(actors::ActorSlot),
}

/// What an entry's turn takes out of its slot.
enum Due {
    Task((Task, Waker)),
    Actor(actors::Turn),
}

/// A future's place. `waker` is made from `wake` once, at spawn: making it per poll would cost
/// a reference-count increment and decrement each time; `wake` stays for its `queued` flag.
/// `task` and `waker` are out while the task is being polled.
struct TaskSlot {
    task: Option<Task>,
    waker: Option<Waker>,
    wake: Option<Arc<TaskWake>>,
}

pub(crate) struct Runner {
    id: u64,
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
    /// Entries to run, in the order they were woken: (slot, generation).
    ready: RefCell<VecDeque<(u32, u32)>>,
    /// True while the runner's task is running entries (no need to wake it then).
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
    /// Wake the task in (slot, generation).
    Wake(u32, u32),
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
    /// Takes a free slot (or a new one) for `occupant`; returns (slot, generation).
    fn occupy(&self, occupant: Occupant) -> (u32, u32) {
        let index = self.free.borrow_mut().pop();
        let mut slots = self.slots.borrow_mut();
        let index = match index {
            Some(index) => index,
            None => {
                slots.push(Slot {
                    generation: 0,
                    occupant: Occupant::Free,
                });
                (slots.len() - 1) as u32
            }
        };
        let slot = &mut slots[index as usize];
        slot.occupant = occupant;
        (index, slot.generation)
    }

    /// Frees a slot whose occupant has already been taken out.
    fn vacate(&self, index: u32) {
        {
            let mut slots = self.slots.borrow_mut();
            let slot = &mut slots[index as usize];
            slot.occupant = Occupant::Free;
            slot.generation = slot.generation.wrapping_add(1);
        }
        self.free.borrow_mut().push(index);
    }

    fn spawn(&self, task: Task) {
        let (index, generation) = self.occupy(Occupant::Task(TaskSlot {
            task: None,
            waker: None,
            wake: None,
        }));
        let wake = Arc::new(TaskWake {
            runner: self.id,
            index,
            generation,
            queued: AtomicBool::new(true),
            remote: self.remote.clone(),
        });
        if let Occupant::Task(slot) = &mut self.slots.borrow_mut()[index as usize].occupant {
            slot.task = Some(task);
            slot.waker = Some(Waker::from(wake.clone()));
            slot.wake = Some(wake);
        }
        self.push_ready(index, generation);
    }

    fn push_ready(&self, index: u32, generation: u32) {
        self.ready.borrow_mut().push_back((index, generation));
        if !self.running.get()
            && let Some(waker) = self.turn_waker.borrow().as_ref()
        {
            waker.wake_by_ref();
        }
    }

    /// Runs ready entries until none is left or the turn's budget is spent. Returns true if
    /// entries are still ready.
    fn run_turn(&self) -> bool {
        self.take_remote_ops();
        for _ in 0..ENTRIES_PER_TURN {
            let next = self.ready.borrow_mut().pop_front();
            let Some((index, generation)) = next else {
                return false;
            };
            let due = {
                let mut slots = self.slots.borrow_mut();
                match slots.get_mut(index as usize) {
                    Some(slot) if slot.generation == generation => match &mut slot.occupant {
                        Occupant::Task(task) => {
                            if let Some(wake) = &task.wake {
                                wake.queued.store(false, Ordering::Relaxed);
                            }
                            task.task.take().zip(task.waker.take()).map(Due::Task)
                        }
                        Occupant::Actor(actor) => actors::take_turn(actor).map(Due::Actor),
                        Occupant::Free => None,
                    },
                    _ => None,
                }
            };
            match due {
                Some(Due::Task((task, waker))) => self.poll_task(index, task, waker),
                Some(Due::Actor(cell)) => actors::run(self, index, cell),
                None => {}
            }
        }
        self.take_remote_ops();
        !self.ready.borrow().is_empty()
    }

    fn poll_task(&self, index: u32, mut task: Task, waker: Waker) {
        // A task that panics is dropped and the others go on, as under tokio (the campaign's
        // watchdog then finds the call that stopped without an outcome).
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            task.as_mut().poll(&mut Context::from_waker(&waker))
        }))
        .unwrap_or(Poll::Ready(()));
        match outcome {
            Poll::Pending => {
                if let Occupant::Task(slot) = &mut self.slots.borrow_mut()[index as usize].occupant
                {
                    slot.task = Some(task);
                    slot.waker = Some(waker);
                }
            }
            Poll::Ready(()) => {
                let wake = match &mut self.slots.borrow_mut()[index as usize].occupant {
                    Occupant::Task(slot) => slot.wake.take(),
                    _ => None,
                };
                self.vacate(index);
                // Dropping a finished task can wake others: no borrow is held here.
                drop(task);
                drop(waker);
                drop(wake);
            }
        }
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
                RemoteOp::Wake(index, generation) => self.push_ready(index, generation),
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

/// A task's waker: queues the task on its runner once until it is polled again.
struct TaskWake {
    runner: u64,
    index: u32,
    generation: u32,
    queued: AtomicBool,
    remote: Arc<Remote>,
}

impl Wake for TaskWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // A plain load and store: on the runner's thread nothing races, and a race with another
        // thread costs at most one extra poll.
        if self.queued.load(Ordering::Relaxed) {
            return;
        }
        self.queued.store(true, Ordering::Relaxed);
        let local = with_local(self.runner, |runner| {
            runner.push_ready(self.index, self.generation);
        });
        if local.is_none() {
            self.remote
                .push(RemoteOp::Wake(self.index, self.generation));
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
        let more = runner.run_turn();
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
    /// The System is going away: its tasks and actors go with it, as tokio's would.
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
        // Nothing may wake this task once it is going: forget its waker before the tasks,
        // whose destructors may wake others.
        runner.turn_waker.borrow_mut().take();
        if let Ok(mut waker) = runner.remote.runner_waker.lock() {
            waker.take();
        }
        let occupants: Vec<Occupant> = runner
            .slots
            .borrow_mut()
            .iter_mut()
            .map(|slot| std::mem::replace(&mut slot.occupant, Occupant::Free))
            .collect();
        drop(occupants);
        runner.slots.borrow_mut().clear();
        runner.ready.borrow_mut().clear();
        if let Ok(mut ops) = runner.remote.ops.lock() {
            ops.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn system() -> actix::SystemRunner {
        crate::runtime::paused_system().expect("runtime")
    }

    /// Pending once (waking itself), then done; logs each poll.
    struct TwoPolls {
        name: &'static str,
        polls: u32,
        log: Rc<RefCell<Vec<String>>>,
    }

    impl Future for TwoPolls {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
            self.polls += 1;
            let entry = format!("{}{}", self.name, self.polls);
            self.log.borrow_mut().push(entry);
            if self.polls == 1 {
                context.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        }
    }

    #[test]
    fn tasks_run_in_the_order_they_were_spawned_and_woken() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let seen = log.clone();
        system().block_on(async move {
            for name in ["a", "b", "c"] {
                spawn(TwoPolls {
                    name,
                    polls: 0,
                    log: log.clone(),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        });
        assert_eq!(*seen.borrow(), ["a1", "b1", "c1", "a2", "b2", "c2"]);
    }

    #[test]
    fn a_stale_waker_does_not_poll_the_task_that_took_its_slot() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let seen = log.clone();
        let stale: Rc<RefCell<Option<Waker>>> = Rc::new(RefCell::new(None));
        let keep = stale.clone();
        system().block_on(async move {
            let first_log = log.clone();
            spawn(std::future::poll_fn(move |context| {
                // Finishes at once, leaving its waker behind.
                *keep.borrow_mut() = Some(context.waker().clone());
                first_log.borrow_mut().push("first".to_string());
                Poll::Ready(())
            }));
            tokio::task::yield_now().await;
            // The second task takes the first one's slot.
            let second_log = log.clone();
            spawn(std::future::poll_fn(move |_| {
                second_log.borrow_mut().push("second".to_string());
                Poll::<()>::Pending
            }));
            tokio::task::yield_now().await;
            if let Some(waker) = stale.borrow_mut().take() {
                waker.wake();
            }
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
        });
        assert_eq!(*seen.borrow(), ["first", "second"]);
    }

    #[test]
    fn a_wake_from_another_thread_runs_the_task() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let seen = log.clone();
        system().block_on(async move {
            let (waker_to, waker_from) = std::sync::mpsc::channel::<Waker>();
            let task_log = log.clone();
            let mut polls = 0;
            spawn(std::future::poll_fn(move |context| {
                polls += 1;
                task_log.borrow_mut().push(format!("poll{polls}"));
                if polls == 1 {
                    let _ = waker_to.send(context.waker().clone());
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            }));
            tokio::task::yield_now().await;
            let waker = waker_from.recv().expect("the task ran");
            std::thread::spawn(move || waker.wake())
                .join()
                .expect("thread");
            // Real time: the paused clock does not wait for another thread.
            for _ in 0..100 {
                tokio::task::yield_now().await;
                if log.borrow().len() == 2 {
                    break;
                }
            }
        });
        assert_eq!(*seen.borrow(), ["poll1", "poll2"]);
    }

    #[test]
    fn a_task_that_panics_is_dropped_and_the_others_go_on() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let seen = log.clone();
        system().block_on(async move {
            spawn(async { panic!("a call actor broke its promise") });
            spawn(TwoPolls {
                name: "calm",
                polls: 0,
                log: log.clone(),
            });
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            spawn(TwoPolls {
                name: "later",
                polls: 0,
                log: log.clone(),
            });
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
        });
        assert_eq!(*seen.borrow(), ["calm1", "calm2", "later1", "later2"]);
    }

    #[test]
    fn tasks_are_dropped_with_their_system_and_a_new_system_gets_a_new_runner() {
        struct Flag(Rc<RefCell<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                *self.0.borrow_mut() = true;
            }
        }
        let dropped = Rc::new(RefCell::new(false));
        let flag = Flag(dropped.clone());
        system().block_on(async move {
            spawn(async move {
                let _flag = flag;
                std::future::pending::<()>().await;
            });
            tokio::task::yield_now().await;
        });
        assert!(
            *dropped.borrow(),
            "the pending task was dropped with its System"
        );
        let ran = Rc::new(RefCell::new(false));
        let mark = ran.clone();
        system().block_on(async move {
            spawn(async move { *mark.borrow_mut() = true });
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
        });
        assert!(
            *ran.borrow(),
            "a second System on the same thread runs its tasks"
        );
    }
}
