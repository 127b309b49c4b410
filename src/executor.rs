//! The task runner for the engine's actors (calls, the campaign supervisor, pacing, the simulated
//! switch): polls each actor's future on the System's own thread, with none of the per-task
//! atomics of tokio's `LocalSet`.
//!
//! A simulated day spawns one call actor per attempt and wakes the engine's actors several times
//! per attempt, so what a task spawn and a task wake cost is paid hundreds of thousands of times
//! per run. tokio's `LocalSet`
//! pays for being usable from anywhere (reference-counted task headers, state transitions by
//! compare-and-swap, a join handle per task); this runner keeps the tasks in a slab and the ready
//! ones in a FIFO queue, all owned by one thread. It is itself one task on the System's
//! `LocalSet`, so actix, tokio's timers (live mode) and everything else work unchanged; the
//! actors stay actix actors (`Context`, `Addr`, handlers), only the loop that polls them is ours.
//! Actors that other threads talk to all the time (the live backend, the console) stay on
//! tokio's `LocalSet`.
//!
//! Owns: the slab of tasks, the ready queue, and the wakers handed to the tasks. A wake from
//! another thread is legal (wakers are `Send`): it goes through a locked queue and wakes the
//! runner's task.
//!
//! There is one runner per thread, started by the first spawn and ended when its System's
//! `LocalSet` is dropped (the simulator, sweeps and tests run Systems one after another on a
//! thread, each dropped before the next starts; two Systems alive on one thread at once would
//! share a runner).
//!
//! Must not: decide anything. Tasks run in the order they were woken, one at a time, so the order
//! is as deterministic as the messages that woke them. It must not run a task while it holds a
//! borrow of its own state (a task may spawn or wake others, or be dropped and wake others).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// How many tasks one turn of the runner polls before it lets the rest of the `LocalSet` run.
const TASKS_PER_TURN: usize = 4096;

/// Spawns `task` on this thread's runner, starting the runner if this thread has none. Must be
/// called inside an actix System (the runner is a task of its `LocalSet`).
pub fn spawn(task: impl Future<Output = ()> + 'static) {
    let runner = CURRENT.with(|current| current.borrow().clone());
    let runner = match runner {
        Some(runner) => runner,
        None => start_runner(),
    };
    runner.spawn(Box::pin(task));
}

/// Starts an actor on this thread's runner: actix's `Actor::start`, run here.
pub fn start<A>(actor: A) -> actix::Addr<A>
where
    A: actix::Actor<Context = actix::Context<A>>,
{
    create(|_| actor)
}

/// Creates an actor with access to its context before it runs (actix's `Actor::create`), on
/// this thread's runner.
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

fn start_runner() -> Rc<Runner> {
    let runner = Rc::new(Runner {
        slots: RefCell::new(Vec::new()),
        free: RefCell::new(Vec::new()),
        ready: RefCell::new(VecDeque::new()),
        running: Cell::new(false),
        turn_waker: RefCell::new(None),
        remote: Arc::new(Remote::default()),
    });
    CURRENT.with(|current| *current.borrow_mut() = Some(runner.clone()));
    actix::spawn(tokio::task::unconstrained(RunnerTask(runner.clone())));
    runner
}

/// One task in the slab. `generation` tells a stale wake (from a finished task whose slot was
/// reused) from a live one. `waker` is made from `wake` once, at spawn: making it per poll
/// would cost a reference-count increment and decrement each time; `wake` stays for its
/// `queued` flag.
struct Slot {
    generation: u32,
    task: Option<Task>,
    waker: Option<Waker>,
    wake: Option<Arc<TaskWake>>,
}

struct Runner {
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
    /// Tasks to poll, in the order they were woken: (slot, generation).
    ready: RefCell<VecDeque<(u32, u32)>>,
    /// True while the runner's task is polling tasks (no need to wake it then).
    running: Cell<bool>,
    /// The runner's own waker, kept while it waits for work. `remote.runner_waker` holds the same
    /// waker for other threads; this copy spares local wakes the lock.
    turn_waker: RefCell<Option<Waker>>,
    remote: Arc<Remote>,
}

/// Wakes that came from other threads.
#[derive(Default)]
struct Remote {
    /// Set when `woken` may hold something: checked without taking the lock.
    any: AtomicBool,
    woken: Mutex<Vec<(u32, u32)>>,
    runner_waker: Mutex<Option<Waker>>,
}

impl Runner {
    fn spawn(&self, task: Task) {
        let index = self.free.borrow_mut().pop();
        let mut slots = self.slots.borrow_mut();
        let index = match index {
            Some(index) => index,
            None => {
                slots.push(Slot {
                    generation: 0,
                    task: None,
                    waker: None,
                    wake: None,
                });
                (slots.len() - 1) as u32
            }
        };
        let slot = &mut slots[index as usize];
        let wake = Arc::new(TaskWake {
            index,
            generation: slot.generation,
            queued: AtomicBool::new(true),
            remote: self.remote.clone(),
        });
        slot.task = Some(task);
        slot.waker = Some(Waker::from(wake.clone()));
        slot.wake = Some(wake);
        let generation = slot.generation;
        drop(slots);
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

    /// Polls ready tasks until none is left or the turn's budget is spent. Returns true if
    /// tasks are still ready.
    fn run_turn(&self) -> bool {
        self.take_remote_wakes();
        for _ in 0..TASKS_PER_TURN {
            let next = self.ready.borrow_mut().pop_front();
            let Some((index, generation)) = next else {
                return false;
            };
            let taken = {
                let mut slots = self.slots.borrow_mut();
                let slot = &mut slots[index as usize];
                if slot.generation != generation || slot.task.is_none() {
                    None
                } else {
                    if let Some(wake) = &slot.wake {
                        wake.queued.store(false, Ordering::Relaxed);
                    }
                    slot.task.take().zip(slot.waker.take())
                }
            };
            let Some((mut task, waker)) = taken else {
                continue;
            };
            // A task that panics is dropped and the others go on, as under tokio (the campaign's
            // watchdog then finds the call that stopped without an outcome).
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                task.as_mut().poll(&mut Context::from_waker(&waker))
            }))
            .unwrap_or(Poll::Ready(()));
            match outcome {
                Poll::Pending => {
                    let mut slots = self.slots.borrow_mut();
                    let slot = &mut slots[index as usize];
                    slot.task = Some(task);
                    slot.waker = Some(waker);
                }
                Poll::Ready(()) => {
                    let wake = {
                        let mut slots = self.slots.borrow_mut();
                        let slot = &mut slots[index as usize];
                        slot.generation = slot.generation.wrapping_add(1);
                        slot.wake.take()
                    };
                    // Dropping a finished task can wake others: no borrow is held here.
                    drop(task);
                    drop(waker);
                    drop(wake);
                    self.free.borrow_mut().push(index);
                }
            }
        }
        self.take_remote_wakes();
        !self.ready.borrow().is_empty()
    }

    fn take_remote_wakes(&self) {
        if !self.remote.any.load(Ordering::Acquire) {
            return;
        }
        self.remote.any.store(false, Ordering::Release);
        let woken = match self.remote.woken.lock() {
            Ok(mut woken) if !woken.is_empty() => std::mem::take(&mut *woken),
            _ => return,
        };
        self.ready.borrow_mut().extend(woken);
    }
}

/// A task's waker: queues the task on its runner once until it is polled again.
struct TaskWake {
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
        let local = CURRENT
            .try_with(|current| match current.try_borrow() {
                Ok(current) => match current.as_ref() {
                    Some(runner) if Arc::ptr_eq(&runner.remote, &self.remote) => {
                        runner.push_ready(self.index, self.generation);
                        true
                    }
                    _ => false,
                },
                Err(_) => false,
            })
            .unwrap_or(false);
        if local {
            return;
        }
        if let Ok(mut woken) = self.remote.woken.lock() {
            woken.push((self.index, self.generation));
        }
        self.remote.any.store(true, Ordering::Release);
        if let Ok(waker) = self.remote.runner_waker.lock()
            && let Some(waker) = waker.as_ref()
        {
            waker.wake_by_ref();
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
        // A remote wake may have arrived after the turn looked.
        if runner.remote.any.load(Ordering::Acquire) {
            context.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl Drop for RunnerTask {
    /// The System is going away: its tasks go with it, as tokio's would.
    fn drop(&mut self) {
        let runner = &self.0;
        CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            if current.as_ref().is_some_and(|c| Rc::ptr_eq(c, runner)) {
                *current = None;
            }
        });
        // Nothing may wake this task once it is going: forget its waker before the tasks,
        // whose destructors may wake others.
        runner.turn_waker.borrow_mut().take();
        if let Ok(mut waker) = runner.remote.runner_waker.lock() {
            waker.take();
        }
        let tasks: Vec<Task> = runner
            .slots
            .borrow_mut()
            .iter_mut()
            .filter_map(|slot| slot.task.take())
            .collect();
        drop(tasks);
        runner.slots.borrow_mut().clear();
        runner.ready.borrow_mut().clear();
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
