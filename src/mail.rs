//! Mail between engine actors, and the in-flight count that lets a simulation advance its clock.
//!
//! Every message one engine actor sends another is a [`Mail<M>`]. Mail carries an [`InFlight`]
//! token. While a simulation runs on this thread, tokens are counted: creating one adds one,
//! dropping it (when the receiving handler is done with the message) takes one away. When the
//! count returns to zero, every consequence of the last calendar entry has been handled, so the
//! simulated switch may move virtual time to the next entry; the callback installed with
//! [`SimulationGuard::install`] tells it so.
//!
//! Why not let tokio's paused clock find the idle points? It can, and a test runs every scenario
//! that way too (see `tests/determinism.rs`), but each idle round trip through the runtime's
//! park path costs about 250 ns, several times the rest of an event's work (BENCHMARKS.md).
//!
//! In live mode nothing is installed and tokens cost one thread-local read.
//!
//! An [`Address`] is where one kind of mail goes when the receiver may be either kind of actor:
//! an engine actor on the runner ([`crate::executor::actors`]) or an actix actor on actix's own
//! context (the live backend, a test's recorder).
//!
//! This module must not know about any particular actor or message.

use crate::executor::actors::Port;
use std::cell::{Cell, RefCell};

thread_local! {
    static SIMULATION_ACTIVE: Cell<bool> = const { Cell::new(false) };
    static IN_FLIGHT: Cell<u64> = const { Cell::new(0) };
    static ON_QUIET: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

/// One undelivered or unfinished piece of engine work. See the module docs.
#[derive(Debug)]
pub struct InFlight {
    counted: bool,
}

impl InFlight {
    /// Starts tracking a piece of work. Hold it until the work's handler has run.
    pub fn new() -> InFlight {
        let counted = SIMULATION_ACTIVE.with(Cell::get);
        if counted {
            IN_FLIGHT.with(|count| count.set(count.get() + 1));
        }
        InFlight { counted }
    }
}

impl Default for InFlight {
    fn default() -> Self {
        InFlight::new()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        let remaining = IN_FLIGHT.with(|count| {
            let next = count.get().saturating_sub(1);
            count.set(next);
            next
        });
        if remaining == 0 {
            on_quiet();
        }
    }
}

/// Calls the installed callback: the last piece of work in flight is done. One copy out of line,
/// where inlined it would be repeated wherever mail is dropped (every handler of every actor).
#[inline(never)]
fn on_quiet() {
    ON_QUIET.with(|callback| {
        if let Some(callback) = callback.borrow().as_ref() {
            callback();
        }
    });
}

/// Number of engine messages sent but not yet handled on this thread's simulation.
pub fn in_flight() -> u64 {
    IN_FLIGHT.with(Cell::get)
}

/// A message between engine actors. `body` is the message; the token keeps a simulation's
/// clock still until the receiver has handled it.
#[derive(Debug)]
pub struct Mail<M> {
    pub body: M,
    _in_flight: InFlight,
}

impl<M> Mail<M> {
    pub fn new(body: M) -> Mail<M> {
        Mail {
            body,
            _in_flight: InFlight::new(),
        }
    }
}

impl<M: 'static> actix::Message for Mail<M> {
    type Result = ();
}

/// Where mail of one kind is delivered: an engine actor's [`Port`] or an actix actor's
/// `Recipient`.
pub enum Address<M: actix::Message<Result = ()> + Send> {
    Engine(Port<M>),
    Actix(actix::Recipient<M>),
}

impl<M> Address<M>
where
    M: actix::Message<Result = ()> + Send,
{
    /// Sends `message`; it is dropped if the receiver has stopped.
    pub fn do_send(&self, message: M) {
        match self {
            Address::Engine(port) => port.do_send(message),
            Address::Actix(recipient) => recipient.do_send(message),
        }
    }

    /// True while the receiver has not stopped.
    pub fn connected(&self) -> bool {
        match self {
            Address::Engine(port) => port.connected(),
            Address::Actix(recipient) => recipient.connected(),
        }
    }
}

impl<M: actix::Message<Result = ()> + Send> Clone for Address<M> {
    fn clone(&self) -> Self {
        match self {
            Address::Engine(port) => Address::Engine(port.clone()),
            Address::Actix(recipient) => Address::Actix(recipient.clone()),
        }
    }
}

impl<M: actix::Message<Result = ()> + Send> From<Port<M>> for Address<M> {
    fn from(port: Port<M>) -> Self {
        Address::Engine(port)
    }
}

impl<M: actix::Message<Result = ()> + Send> From<actix::Recipient<M>> for Address<M> {
    fn from(recipient: actix::Recipient<M>) -> Self {
        Address::Actix(recipient)
    }
}

impl<M: actix::Message<Result = ()> + Send> std::fmt::Debug for Address<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Engine(port) => write!(f, "Address::Engine({port:?})"),
            Address::Actix(_) => f.write_str("Address::Actix"),
        }
    }
}

/// Turns in-flight counting on for this thread while a simulation runs, and off again when
/// dropped. Only one simulation can run on a thread at a time.
pub struct SimulationGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl SimulationGuard {
    /// `on_quiet` runs each time the in-flight count drops to zero.
    pub fn install(on_quiet: Box<dyn Fn()>) -> SimulationGuard {
        let already = SIMULATION_ACTIVE.with(|active| active.replace(true));
        assert!(!already, "a simulation is already running on this thread");
        IN_FLIGHT.with(|count| count.set(0));
        ON_QUIET.with(|callback| *callback.borrow_mut() = Some(on_quiet));
        SimulationGuard {
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for SimulationGuard {
    fn drop(&mut self) {
        ON_QUIET.with(|callback| callback.borrow_mut().take());
        SIMULATION_ACTIVE.with(|active| active.set(false));
        IN_FLIGHT.with(|count| count.set(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn tokens_are_free_outside_a_simulation() {
        let token = InFlight::new();
        assert_eq!(in_flight(), 0);
        drop(token);
        assert_eq!(in_flight(), 0);
    }

    #[test]
    fn quiet_callback_fires_when_the_last_token_drops() {
        let quiet_calls = Rc::new(Cell::new(0));
        let seen = quiet_calls.clone();
        let guard = SimulationGuard::install(Box::new(move || seen.set(seen.get() + 1)));
        let first = Mail::new(1u8);
        let second = Mail::new(2u8);
        assert_eq!(in_flight(), 2);
        drop(first);
        assert_eq!(quiet_calls.get(), 0);
        drop(second);
        assert_eq!(quiet_calls.get(), 1);
        drop(guard);
        let after = InFlight::new();
        assert_eq!(in_flight(), 0);
        drop(after);
    }
}
