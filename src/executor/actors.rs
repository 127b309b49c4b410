//! Engine actors: actix actors (`Actor`, `Handler`) that run on the engine's runner with its own
//! context, [`EngineContext`], instead of actix's `Context`.
//!
//! actix's `Context` runs every actor as a future behind a mailbox that any thread may send to:
//! each message takes a compare-and-swap, two allocations and a waker round trip, and each
//! actor a channel, a boxed future and a waker of its own. An attempt's call actor lives for a
//! few messages, so on a simulated day that machinery costs more than the call itself
//! (BENCHMARKS.md). Here an actor is a slot in the runner's slab: a message is one boxed
//! handler call pushed onto the slot's inbox, and the runner calls the actor's `Handler`
//! directly when the slot's turn comes.
//!
//! The rules are actix's, so an actor behaves the same on either context:
//! - mail is handled in the order it was sent, all of it at each turn (mail that arrives during
//!   the turn too), and a turn comes in the order the actors were woken (by being started, sent
//!   mail while idle, or left by their last strong handle while idle);
//! - `started` runs at the first turn; `ctx.stop()` ends the actor after the handler that asked,
//!   and an actor nobody holds a strong handle to ([`ActorRef`], [`Port`]) stops once its mail
//!   is handled; `stopped` runs then, and mail still waiting is dropped with the actor;
//! - a message to an actor that has stopped is dropped.
//!
//! Handles are plain numbers (runner, slot, generation), so they may cross threads; mail sent
//! from another thread reaches the actor through the runner's locked queue. A [`WeakActorRef`]
//! can be upgraded only on the runner's own thread.
//!
//! Must not: decide anything, or run an actor while the runner's state is borrowed.

use super::{Job, RemoteOp, Runner, current_or_start, live_actor, send_remote, with_local};
use actix::{Actor, ActorContext, ActorState, Handler, Message, Running};
use std::any::Any;
use std::collections::VecDeque;
use std::marker::PhantomData;

/// The context of an engine actor: its own handles, and whether it is stopping.
pub struct EngineContext<A> {
    runner: u64,
    slot: u32,
    generation: u32,
    state: ActorState,
    _actor: PhantomData<fn() -> A>,
}

impl<A> ActorContext for EngineContext<A> {
    fn stop(&mut self) {
        if self.state == ActorState::Running {
            self.state = ActorState::Stopping;
        }
    }

    fn terminate(&mut self) {
        self.state = ActorState::Stopped;
    }

    fn state(&self) -> ActorState {
        self.state
    }
}

impl<A> EngineContext<A> {
    /// Neither stopping nor stopped.
    fn is_running(&self) -> bool {
        !matches!(self.state, ActorState::Stopping | ActorState::Stopped)
    }
}

impl<A> EngineContext<A>
where
    A: Actor<Context = EngineContext<A>>,
{
    /// A strong handle to this actor (it keeps the actor alive while it exists).
    pub fn address(&self) -> ActorRef<A> {
        retain_at(self.runner, self.slot, self.generation);
        ActorRef::new(self.runner, self.slot, self.generation)
    }
}

/// Starts `actor` on this thread's runner.
pub fn start<A>(actor: A) -> ActorRef<A>
where
    A: Actor<Context = EngineContext<A>>,
{
    create(|_| actor)
}

/// Creates an actor with access to its context before it runs (its handles, say), and starts it
/// on this thread's runner. Its first turn (and `started`) comes after the entries already
/// woken. Must be called inside an actix System.
pub fn create<A, F>(build: F) -> ActorRef<A>
where
    A: Actor<Context = EngineContext<A>>,
    F: FnOnce(&mut EngineContext<A>) -> A,
{
    let runner = current_or_start();
    let inbox = runner.spare_inboxes.borrow_mut().pop().unwrap_or_default();
    // One sender from the start: the handle this returns. Queued from the start: its first
    // turn is pushed once it is built, and mail sent meanwhile waits for it.
    let (slot, generation) = runner.occupy(ActorSlot {
        cell: None,
        inbox,
        queued: true,
        started: false,
        senders: 1,
    });
    let mut context = EngineContext {
        runner: runner.id,
        slot,
        generation,
        state: ActorState::Running,
        _actor: PhantomData,
    };
    // The box first, then the actor made into it: not made on the stack and copied
    // (BENCHMARKS.md, eleventh session).
    let place = Box::<ActorCell<A>>::new_uninit();
    let cell: Box<ActorCell<A>> = Box::write(
        place,
        ActorCell {
            actor: build(&mut context),
            context,
        },
    );
    let cell: Box<dyn Cell> = cell;
    if let Some(actor_slot) = live_actor(&mut runner.slots.borrow_mut(), slot, generation) {
        actor_slot.cell = Some(cell);
    }
    runner.push_ready(slot, generation);
    ActorRef::new(runner.id, slot, generation)
}

/// A strong handle to an engine actor: sends it any message it handles. The actor stays alive
/// while a strong handle to it exists.
pub struct ActorRef<A> {
    runner: u64,
    slot: u32,
    generation: u32,
    _actor: PhantomData<fn() -> A>,
}

impl<A> ActorRef<A> {
    fn new(runner: u64, slot: u32, generation: u32) -> ActorRef<A> {
        ActorRef {
            runner,
            slot,
            generation,
            _actor: PhantomData,
        }
    }
}

impl<A> ActorRef<A>
where
    A: Actor<Context = EngineContext<A>>,
{
    /// Sends `message`; it is dropped if the actor has stopped.
    pub fn do_send<M>(&self, message: M)
    where
        A: Handler<M, Result = ()>,
        M: Message<Result = ()> + Send + 'static,
    {
        send_at(
            self.runner,
            self.slot,
            self.generation,
            job_for::<A, M>(message),
        );
    }

    /// True while the actor has not stopped.
    pub fn connected(&self) -> bool {
        is_alive(self.runner, self.slot, self.generation)
    }

    pub fn downgrade(&self) -> WeakActorRef<A> {
        WeakActorRef {
            runner: self.runner,
            slot: self.slot,
            generation: self.generation,
            _actor: PhantomData,
        }
    }

    /// This handle as a handle for one kind of message, which does not name the actor's type
    /// (actix's `Addr::recipient`).
    pub fn port<M>(self) -> Port<M>
    where
        A: Handler<M, Result = ()>,
        M: Message<Result = ()> + Send + 'static,
    {
        let port = Port {
            runner: self.runner,
            slot: self.slot,
            generation: self.generation,
            make_job: job_for::<A, M>,
        };
        // The strong count moves to the port.
        std::mem::forget(self);
        port
    }
}

impl<A> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        retain_at(self.runner, self.slot, self.generation);
        ActorRef::new(self.runner, self.slot, self.generation)
    }
}

impl<A> Drop for ActorRef<A> {
    fn drop(&mut self) {
        release_at(self.runner, self.slot, self.generation);
    }
}

impl<A> std::fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ActorRef({}:{}:{})",
            self.runner, self.slot, self.generation
        )
    }
}

/// A weak handle to an engine actor: does not keep it alive.
pub struct WeakActorRef<A> {
    runner: u64,
    slot: u32,
    generation: u32,
    _actor: PhantomData<fn() -> A>,
}

impl<A> Clone for WeakActorRef<A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A> Copy for WeakActorRef<A> {}

impl<A> std::fmt::Debug for WeakActorRef<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WeakActorRef({}:{}:{})",
            self.runner, self.slot, self.generation
        )
    }
}

impl<A> WeakActorRef<A>
where
    A: Actor<Context = EngineContext<A>>,
{
    /// A strong handle, if the actor has not stopped. Only on the runner's own thread: `None`
    /// elsewhere.
    pub fn upgrade(&self) -> Option<ActorRef<A>> {
        let upgraded = with_local(self.runner, |runner| {
            match live_actor(&mut runner.slots.borrow_mut(), self.slot, self.generation) {
                Some(actor) => {
                    actor.senders += 1;
                    true
                }
                None => false,
            }
        });
        upgraded
            .unwrap_or(false)
            .then(|| ActorRef::new(self.runner, self.slot, self.generation))
    }
}

/// A strong handle to an engine actor for one kind of message, without the actor's type: what
/// a backend holds to reach a call (actix's `Recipient`).
pub struct Port<M> {
    runner: u64,
    slot: u32,
    generation: u32,
    make_job: fn(M) -> Job,
}

impl<M> Port<M> {
    /// Sends `message`; it is dropped if the actor has stopped.
    pub fn do_send(&self, message: M) {
        send_at(
            self.runner,
            self.slot,
            self.generation,
            (self.make_job)(message),
        );
    }

    /// True while the actor has not stopped.
    pub fn connected(&self) -> bool {
        is_alive(self.runner, self.slot, self.generation)
    }
}

impl<M> Clone for Port<M> {
    fn clone(&self) -> Self {
        retain_at(self.runner, self.slot, self.generation);
        Port {
            runner: self.runner,
            slot: self.slot,
            generation: self.generation,
            make_job: self.make_job,
        }
    }
}

impl<M> Drop for Port<M> {
    fn drop(&mut self) {
        release_at(self.runner, self.slot, self.generation);
    }
}

impl<M> std::fmt::Debug for Port<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Port({}:{}:{})", self.runner, self.slot, self.generation)
    }
}

/// An engine actor's place in the runner's slab. `cell` is out while the actor runs.
pub(crate) struct ActorSlot {
    cell: Option<Box<dyn Cell>>,
    inbox: VecDeque<Job>,
    /// A turn is waiting in the ready queue or running: mail wakes it no further.
    queued: bool,
    /// Its first turn (`started`) has come.
    started: bool,
    /// Strong handles alive.
    senders: u32,
}

/// An actor and its context, with the actor's type erased for the slab.
pub(crate) trait Cell: Any {
    /// Runs `started` (at the first turn). True if the actor is still running after it.
    fn start(&mut self) -> bool;
    /// Called once its mail is handled: runs `stopping` and `stopped` if the actor ends now
    /// (it asked to, or `orphaned`: nobody holds a strong handle to it). True if it has ended.
    fn settle(&mut self, orphaned: bool) -> bool;
}

struct ActorCell<A: Actor<Context = EngineContext<A>>> {
    actor: A,
    context: EngineContext<A>,
}

impl<A> Cell for ActorCell<A>
where
    A: Actor<Context = EngineContext<A>>,
{
    fn start(&mut self) -> bool {
        self.actor.started(&mut self.context);
        self.context.is_running()
    }

    fn settle(&mut self, orphaned: bool) -> bool {
        let ends = match self.context.state {
            ActorState::Stopped => true,
            ActorState::Stopping => true,
            ActorState::Running | ActorState::Started => orphaned,
        };
        if !ends {
            return false;
        }
        if self.context.state != ActorState::Stopped
            && self.actor.stopping(&mut self.context) == Running::Continue
        {
            self.context.state = ActorState::Running;
            return false;
        }
        self.context.state = ActorState::Stopped;
        self.actor.stopped(&mut self.context);
        true
    }
}

fn job_for<A, M>(message: M) -> Job
where
    A: Actor<Context = EngineContext<A>> + Handler<M, Result = ()>,
    M: Message<Result = ()> + Send + 'static,
{
    Box::new(
        // `Cell: Any`, so the cell is its own `dyn Any` (trait upcasting: no call).
        move |cell: &mut dyn Cell| match (cell as &mut dyn Any).downcast_mut::<ActorCell<A>>() {
            Some(cell) => {
                cell.actor.handle(message, &mut cell.context);
                cell.context.is_running()
            }
            None => true,
        },
    )
}

fn send_at(runner: u64, slot: u32, generation: u32, job: Job) {
    let mut job = Some(job);
    let local = with_local(runner, |local| {
        if let Some(job) = job.take() {
            deliver(local, slot, generation, job);
        }
    });
    if local.is_none()
        && let Some(job) = job.take()
    {
        send_remote(runner, RemoteOp::Mail(slot, generation, job));
    }
}

fn retain_at(runner: u64, slot: u32, generation: u32) {
    if with_local(runner, |local| retain(local, slot, generation)).is_none() {
        send_remote(runner, RemoteOp::Retain(slot, generation));
    }
}

fn release_at(runner: u64, slot: u32, generation: u32) {
    if with_local(runner, |local| release(local, slot, generation)).is_none() {
        send_remote(runner, RemoteOp::Release(slot, generation));
    }
}

fn is_alive(runner: u64, slot: u32, generation: u32) -> bool {
    with_local(runner, |local| {
        live_actor(&mut local.slots.borrow_mut(), slot, generation).is_some()
    })
    // Seen from another thread, an actor is taken to be alive: mail to it is dropped if not.
    .unwrap_or(true)
}

/// Puts `job` in the actor's inbox and wakes it; drops it if the actor has stopped. Inlined
/// into `send_at`, the way of almost every message.
#[inline(always)]
pub(super) fn deliver(runner: &Runner, slot: u32, generation: u32, job: Job) {
    let mut rejected = None;
    let wake = match live_actor(&mut runner.slots.borrow_mut(), slot, generation) {
        Some(actor) => {
            actor.inbox.push_back(job);
            !std::mem::replace(&mut actor.queued, true)
        }
        None => {
            rejected = Some(job);
            false
        }
    };
    // Outside the borrow: the message may hold handles and tokens whose drops do work.
    drop(rejected);
    if wake {
        runner.push_ready(slot, generation);
    }
}

pub(super) fn retain(runner: &Runner, slot: u32, generation: u32) {
    if let Some(actor) = live_actor(&mut runner.slots.borrow_mut(), slot, generation) {
        actor.senders += 1;
    }
}

/// A strong handle is gone; the last one wakes the actor, which then stops (actix's rule).
pub(super) fn release(runner: &Runner, slot: u32, generation: u32) {
    let wake = match live_actor(&mut runner.slots.borrow_mut(), slot, generation) {
        Some(actor) => {
            actor.senders = actor.senders.saturating_sub(1);
            actor.senders == 0 && !std::mem::replace(&mut actor.queued, true)
        }
        None => false,
    };
    if wake {
        runner.push_ready(slot, generation);
    }
}

/// What a turn takes out of the actor's slot: the actor, whether this is its first turn, and
/// its oldest message (the rest stays in the inbox, which may grow meanwhile).
pub(crate) struct Turn {
    cell: Box<dyn Cell>,
    first: bool,
    mail: Option<Job>,
}

/// Takes the actor out of its slot for its turn. It stays queued until its turn ends: mail that
/// arrives meanwhile (its own, or sent by whatever its handlers set off) is handled in this turn,
/// and wakes nothing (actix's rule: the waker that queued a turn is used up until the mailbox is
/// found empty again).
pub(super) fn take_turn(actor: &mut ActorSlot) -> Option<Turn> {
    let cell = actor.cell.take()?;
    let first = !std::mem::replace(&mut actor.started, true);
    Some(Turn {
        cell,
        first,
        mail: actor.inbox.pop_front(),
    })
}

/// The actor's turn: start it if new, hand it its mail, and let it go if it has ended.
pub(super) fn run(runner: &Runner, slot: u32, generation: u32, turn: Turn) {
    // An actor that panics is dropped and the others go on, as a task would be.
    let ended = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        play(runner, slot, generation, turn)
    })) {
        Ok(None) => return,
        Ok(Some(cell)) => Some(cell),
        Err(_) => None,
    };
    let inbox = live_actor(&mut runner.slots.borrow_mut(), slot, generation)
        .map(|actor| std::mem::take(&mut actor.inbox))
        .unwrap_or_default();
    runner.vacate(slot);
    // The actor first, then the mail it never read (actix's order); neither under a borrow.
    drop(ended);
    let mut inbox = inbox;
    inbox.clear();
    runner.spare_inboxes.borrow_mut().push(inbox);
}

/// Hands the actor its mail, one message at a time, until none is left or it stops. Returns
/// `None` once the actor is back in its slot, still running, or the actor if it has ended.
/// Each step takes the next message, or puts the actor back, under one borrow.
fn play(runner: &Runner, slot: u32, generation: u32, turn: Turn) -> Option<Box<dyn Cell>> {
    let Turn {
        mut cell,
        first,
        mut mail,
    } = turn;
    let mut running = !first || cell.start();
    loop {
        if running && let Some(job) = mail.take() {
            running = job(&mut *cell);
        }
        let mut slots = runner.slots.borrow_mut();
        let Some(actor) = live_actor(&mut slots, slot, generation) else {
            return Some(cell);
        };
        if let Some(unread) = mail.take() {
            // It stopped before reading this: it waits with the rest, to be dropped after it.
            actor.inbox.push_front(unread);
        }
        if running && let Some(next) = actor.inbox.pop_front() {
            mail = Some(next);
            continue;
        }
        let orphaned = actor.senders == 0;
        if running && !orphaned {
            actor.cell = Some(cell);
            actor.queued = false;
            return None;
        }
        drop(slots);
        if cell.settle(orphaned) {
            return Some(cell);
        }
        // Its `stopping` chose to go on: it waits for its next turn like any running actor.
        let mut slots = runner.slots.borrow_mut();
        let Some(actor) = live_actor(&mut slots, slot, generation) else {
            return Some(cell);
        };
        actor.cell = Some(cell);
        let wake = !actor.inbox.is_empty();
        actor.queued = wake;
        drop(slots);
        if wake {
            runner.push_ready(slot, generation);
        }
        return None;
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

    type Log = Rc<RefCell<Vec<String>>>;

    struct Note(&'static str);
    impl Message for Note {
        type Result = ();
    }

    struct StopNow;
    impl Message for StopNow {
        type Result = ();
    }

    struct Recorder {
        name: &'static str,
        log: Log,
    }

    impl Actor for Recorder {
        type Context = EngineContext<Self>;
        fn started(&mut self, _: &mut EngineContext<Self>) {
            self.log.borrow_mut().push(format!("{} started", self.name));
        }
        fn stopped(&mut self, _: &mut EngineContext<Self>) {
            self.log.borrow_mut().push(format!("{} stopped", self.name));
        }
    }

    impl Handler<Note> for Recorder {
        type Result = ();
        fn handle(&mut self, note: Note, _: &mut EngineContext<Self>) {
            self.log
                .borrow_mut()
                .push(format!("{} {}", self.name, note.0));
        }
    }

    impl Handler<StopNow> for Recorder {
        type Result = ();
        fn handle(&mut self, _: StopNow, ctx: &mut EngineContext<Self>) {
            self.log
                .borrow_mut()
                .push(format!("{} stopping", self.name));
            ctx.stop();
        }
    }

    fn recorder(name: &'static str, log: &Log) -> Recorder {
        Recorder {
            name,
            log: log.clone(),
        }
    }

    async fn settle() {
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn mail_is_handled_in_order_after_started_and_actors_take_turns_as_woken() {
        let log = Log::default();
        let seen = log.clone();
        system().block_on(async move {
            let a = start(recorder("a", &log));
            let b = start(recorder("b", &log));
            a.do_send(Note("1"));
            b.do_send(Note("1"));
            a.do_send(Note("2"));
            settle().await;
            // Woken again in the order b, a.
            b.do_send(Note("3"));
            a.do_send(Note("3"));
            settle().await;
            drop((a, b));
            settle().await;
        });
        assert_eq!(
            *seen.borrow(),
            [
                "a started",
                "a 1",
                "a 2",
                "b started",
                "b 1",
                "b 3",
                "a 3",
                "a stopped",
                "b stopped"
            ]
        );
    }

    #[test]
    fn an_actor_stops_when_asked_and_later_mail_is_dropped() {
        let log = Log::default();
        let seen = log.clone();
        system().block_on(async move {
            let a = start(recorder("a", &log));
            a.do_send(Note("1"));
            a.do_send(StopNow);
            a.do_send(Note("never"));
            settle().await;
            assert!(!a.connected());
            a.do_send(Note("after"));
            settle().await;
        });
        assert_eq!(
            *seen.borrow(),
            ["a started", "a 1", "a stopping", "a stopped"]
        );
    }

    #[test]
    fn the_last_strong_handle_ends_the_actor_and_weak_handles_do_not_keep_it() {
        let log = Log::default();
        let seen = log.clone();
        system().block_on(async move {
            let a = start(recorder("a", &log));
            let weak = a.downgrade();
            let port: Port<Note> = a.clone().port();
            drop(a);
            port.do_send(Note("via port"));
            settle().await;
            assert!(port.connected());
            let upgraded = weak.upgrade().expect("alive while the port is");
            drop(port);
            upgraded.do_send(Note("via upgrade"));
            drop(upgraded);
            settle().await;
            assert!(weak.upgrade().is_none(), "gone with its last strong handle");
        });
        assert_eq!(
            *seen.borrow(),
            ["a started", "a via port", "a via upgrade", "a stopped"]
        );
    }

    #[test]
    fn a_stale_handle_does_not_reach_the_actor_that_took_its_slot() {
        let log = Log::default();
        let seen = log.clone();
        system().block_on(async move {
            let first = start(recorder("first", &log));
            let stale = first.downgrade();
            let stale_port: Port<Note> = first.clone().port();
            first.do_send(StopNow);
            drop(first);
            settle().await;
            let second = start(recorder("second", &log));
            stale_port.do_send(Note("stale"));
            assert!(stale.upgrade().is_none());
            drop(stale_port);
            second.do_send(Note("fresh"));
            settle().await;
            drop(second);
            settle().await;
        });
        assert_eq!(
            *seen.borrow(),
            [
                "first started",
                "first stopping",
                "first stopped",
                "second started",
                "second fresh",
                "second stopped"
            ]
        );
    }

    #[test]
    fn mail_from_another_thread_arrives() {
        let log = Log::default();
        let seen = log.clone();
        system().block_on(async move {
            let a = start(recorder("a", &log));
            let port: Port<Note> = a.clone().port();
            std::thread::spawn(move || {
                port.do_send(Note("from afar"));
                drop(port);
            })
            .join()
            .expect("thread");
            for _ in 0..100 {
                tokio::task::yield_now().await;
                if log.borrow().len() == 2 {
                    break;
                }
            }
            drop(a);
            settle().await;
        });
        assert_eq!(*seen.borrow(), ["a started", "a from afar", "a stopped"]);
    }

    /// Stops in `started`, or refuses the first request to stop.
    struct Wilful {
        log: Log,
        stop_at_start: bool,
        refusals_left: u32,
    }

    impl Actor for Wilful {
        type Context = EngineContext<Self>;
        fn started(&mut self, ctx: &mut EngineContext<Self>) {
            self.log.borrow_mut().push("started".to_string());
            if self.stop_at_start {
                ctx.stop();
            }
        }
        fn stopping(&mut self, _: &mut EngineContext<Self>) -> Running {
            if self.refusals_left > 0 {
                self.refusals_left -= 1;
                self.log.borrow_mut().push("goes on".to_string());
                return Running::Continue;
            }
            Running::Stop
        }
        fn stopped(&mut self, _: &mut EngineContext<Self>) {
            self.log.borrow_mut().push("stopped".to_string());
        }
    }

    impl Handler<Note> for Wilful {
        type Result = ();
        fn handle(&mut self, note: Note, _: &mut EngineContext<Self>) {
            self.log.borrow_mut().push(note.0.to_string());
        }
    }

    impl Handler<StopNow> for Wilful {
        type Result = ();
        fn handle(&mut self, _: StopNow, ctx: &mut EngineContext<Self>) {
            ctx.stop();
        }
    }

    #[test]
    fn an_actor_that_stops_in_started_reads_none_of_its_mail() {
        let log = Log::default();
        let seen = log.clone();
        system().block_on(async move {
            let wilful = start(Wilful {
                log: log.clone(),
                stop_at_start: true,
                refusals_left: 0,
            });
            wilful.do_send(Note("unread"));
            settle().await;
            assert!(!wilful.connected());
        });
        assert_eq!(*seen.borrow(), ["started", "stopped"]);
    }

    #[test]
    fn stopping_may_keep_an_actor_running() {
        let log = Log::default();
        let seen = log.clone();
        system().block_on(async move {
            let wilful = start(Wilful {
                log: log.clone(),
                stop_at_start: false,
                refusals_left: 1,
            });
            wilful.do_send(StopNow);
            wilful.do_send(Note("after the refusal"));
            settle().await;
            assert!(wilful.connected());
            wilful.do_send(Note("later"));
            settle().await;
            drop(wilful);
            settle().await;
        });
        assert_eq!(
            *seen.borrow(),
            [
                "started",
                "goes on",
                "after the refusal",
                "later",
                "stopped"
            ]
        );
    }

    struct Fragile;
    impl Actor for Fragile {
        type Context = EngineContext<Self>;
    }
    impl Handler<Note> for Fragile {
        type Result = ();
        fn handle(&mut self, _: Note, _: &mut EngineContext<Self>) {
            panic!("an actor broke its promise");
        }
    }

    #[test]
    fn an_actor_that_panics_is_dropped_and_the_others_go_on() {
        let log = Log::default();
        let seen = log.clone();
        system().block_on(async move {
            let fragile = start(Fragile);
            let calm = start(recorder("calm", &log));
            fragile.do_send(Note("x"));
            calm.do_send(Note("1"));
            settle().await;
            assert!(!fragile.connected());
            calm.do_send(Note("2"));
            settle().await;
        });
        assert_eq!(*seen.borrow(), ["calm started", "calm 1", "calm 2"]);
    }

    #[test]
    fn actors_are_dropped_with_their_system() {
        struct Flag(Rc<RefCell<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                *self.0.borrow_mut() = true;
            }
        }
        struct Holder(#[allow(dead_code)] Flag);
        impl Actor for Holder {
            type Context = EngineContext<Self>;
        }
        let dropped = Rc::new(RefCell::new(false));
        let flag = Flag(dropped.clone());
        let mut keep = None;
        system().block_on(async {
            keep = Some(start(Holder(flag)));
            settle().await;
        });
        assert!(*dropped.borrow(), "the actor was dropped with its System");
        drop(keep);
    }
}
