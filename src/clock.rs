//! Where engine actors get "now" and how they set timers: the one place that knows whether time
//! is virtual (simulation) or real (live).
//!
//! A [`Clock`] is handed to every engine actor by [`crate::runtime`]. In simulation it reads the
//! simulated switch's calendar and puts timers into it, so timers and switch events share one
//! ordered timeline. Live, it reads tokio's clock, and a timer is a local tokio task that mails
//! the actor when it is due. A live timer fires a little after it is due (tokio counts in
//! milliseconds, then the thread gets to it), and a callback that comes in between is handled
//! first; so a live run's timers write a `timer` record to the trace when they fire (which
//! timer, when it was due), and a replay fires its own at those times ([`crate::replay`]).
//!
//! Nothing else in the engine may read a clock: no `Instant::now`, `SystemTime::now`, or tokio
//! timers outside this module.

use crate::executor::actors::{ActorRef, EngineContext};
use crate::mail::Mail;
use crate::time::{SimDuration, SimTime};
use crate::trace::{SharedTrace, TraceRecord};
use actix::{Actor, Handler};
use std::fmt::Debug;
use std::rc::Rc;

/// A virtual timeline that engine timers can be put on. Implemented by the simulator's calendar.
pub trait VirtualTimeline {
    /// The current virtual instant.
    fn now(&self) -> SimTime;
    /// Runs `fire` at `at` (or now, if `at` has passed), in calendar order. Returns an id for
    /// [`VirtualTimeline::cancel`].
    fn schedule(&self, at: SimTime, fire: Box<dyn FnOnce()>) -> u64;
    /// Cancels a timer that has not fired yet; cancelling a fired timer does nothing.
    fn cancel(&self, id: u64);
    /// When an engine timer set for `at` fires: at `at`, unless the timeline plays back a live
    /// run, whose timers fired when they did (the replay's). `timer` is the message it sends.
    fn timer_due(&self, at: SimTime, _timer: &dyn Debug) -> SimTime {
        at
    }
}

/// A timer's name in `timer` trace records: its message in snake case (`wrap_up_ends`,
/// `pacing_change(2)`), the same in the live run that writes it and the replay that reads it.
pub fn timer_label(timer: &dyn Debug) -> String {
    let text = format!("{timer:?}");
    let mut label = String::with_capacity(text.len() + 4);
    let mut in_word = false;
    for character in text.chars() {
        if character.is_ascii_uppercase() {
            if in_word {
                label.push('_');
            }
            label.push(character.to_ascii_lowercase());
        } else {
            label.push(character);
        }
        in_word = character.is_ascii_alphanumeric();
    }
    label
}

/// Engine time: virtual in simulation, real in live mode.
#[derive(Clone)]
pub enum Clock {
    Virtual(Rc<dyn VirtualTimeline>),
    Wall {
        origin: tokio::time::Instant,
        /// Where timers write a `timer` record when they fire (a live run's trace).
        timers_to: Option<SharedTrace>,
    },
}

/// An actor's own handle, made on first use and shared by every timer the actor sets (a clone
/// of an `Rc` per timer, instead of a new strong handle). Holding its own handle keeps an actor
/// alive until its System stops, so only actors that live for the whole run (the supervisor,
/// pacing) use timers.
pub struct OwnAddress<A>(Option<Rc<ActorRef<A>>>);

impl<A> Default for OwnAddress<A> {
    fn default() -> Self {
        OwnAddress(None)
    }
}

impl<A> OwnAddress<A>
where
    A: Actor<Context = EngineContext<A>>,
{
    fn get(&mut self, ctx: &mut EngineContext<A>) -> Rc<ActorRef<A>> {
        self.0.get_or_insert_with(|| Rc::new(ctx.address())).clone()
    }
}

/// A timer set through a [`Clock`], for cancelling it.
#[derive(Debug)]
pub enum TimerHandle {
    Virtual(u64),
    Wall(tokio::task::AbortHandle),
}

/// The real time now, for stamps in the store (import times, DNC edits, a live run's epoch).
/// Never used in a simulation.
pub fn wall_now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// A monotonic instant, for real-time components outside the engine: the fake PortaSwitch
/// server's world time and its token lifetimes. Never used in a simulation.
pub fn monotonic_now() -> std::time::Instant {
    std::time::Instant::now()
}

/// The wall clock as Unix microseconds. Live mode only (the PortaSwitch client's token lifetimes,
/// and the switch's timestamps); a simulation never calls it.
pub fn unix_now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        })
}

impl Clock {
    /// A wall clock whose time zero is the moment of this call.
    pub fn wall_starting_now() -> Clock {
        Clock::Wall {
            origin: tokio::time::Instant::now(),
            timers_to: None,
        }
    }

    /// The same clock, its timers writing a `timer` record to `trace` when they fire (a wall
    /// clock's; a virtual clock's timers fire when due, and it is returned as it is).
    pub fn recording_timers(self, trace: SharedTrace) -> Clock {
        match self {
            Clock::Wall { origin, .. } => Clock::Wall {
                origin,
                timers_to: Some(trace),
            },
            virtual_clock => virtual_clock,
        }
    }

    pub fn now(&self) -> SimTime {
        match self {
            Clock::Virtual(timeline) => timeline.now(),
            Clock::Wall { origin, .. } => wall_elapsed(*origin),
        }
    }

    pub fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual(_))
    }

    /// Delivers `message` to the actor owning `ctx` as `Mail` at `at`. `own` is the actor's
    /// cached handle (see [`OwnAddress`]).
    pub fn schedule<A, M>(
        &self,
        ctx: &mut EngineContext<A>,
        own: &mut OwnAddress<A>,
        at: SimTime,
        message: M,
    ) -> TimerHandle
    where
        A: Actor<Context = EngineContext<A>> + Handler<Mail<M>, Result = ()>,
        M: Debug + Send + 'static,
    {
        let address = own.get(ctx);
        match self {
            Clock::Virtual(timeline) => {
                let at = timeline.timer_due(at, &message);
                let id =
                    timeline.schedule(at, Box::new(move || address.do_send(Mail::new(message))));
                TimerHandle::Virtual(id)
            }
            Clock::Wall { origin, timers_to } => {
                schedule_wall(*origin, timers_to.clone(), at, address, message)
            }
        }
    }

    /// Arms the timer kept in `slot` for `at`, unless it is already armed for `at` or earlier
    /// (whoever handles that earlier wake re-arms for what is then due); a later timer is
    /// cancelled and replaced.
    pub fn schedule_no_later<A, M>(
        &self,
        ctx: &mut EngineContext<A>,
        own: &mut OwnAddress<A>,
        slot: &mut Option<(SimTime, TimerHandle)>,
        at: SimTime,
        message: M,
    ) where
        A: Actor<Context = EngineContext<A>> + Handler<Mail<M>, Result = ()>,
        M: Debug + Send + 'static,
    {
        if slot.as_ref().is_some_and(|(armed, _)| *armed <= at) {
            return;
        }
        if let Some((_, old)) = slot.take() {
            self.cancel(old);
        }
        *slot = Some((at, self.schedule(ctx, own, at, message)));
    }

    pub fn cancel(&self, handle: TimerHandle) {
        match (self, handle) {
            (Clock::Virtual(timeline), TimerHandle::Virtual(id)) => timeline.cancel(id),
            (Clock::Wall { .. }, TimerHandle::Wall(timer)) => cancel_wall(timer),
            // A handle from the other kind of clock cannot exist: one run uses one clock.
            _ => {}
        }
    }
}

// The wall clock's side of a `Clock`, out of line. Live mode takes these paths and pays a call
// for each (nothing next to its network round trips); a simulation never takes them, and inlined
// into every caller they would sit between the simulator's hot instructions and crowd them out
// of the instruction cache (BENCHMARKS.md, seventh pass).

#[cold]
#[inline(never)]
fn wall_elapsed(origin: tokio::time::Instant) -> SimTime {
    SimTime(SimDuration::from_std(origin.elapsed()).as_micros())
}

#[cold]
#[inline(never)]
fn schedule_wall<A, M>(
    origin: tokio::time::Instant,
    timers_to: Option<SharedTrace>,
    at: SimTime,
    address: Rc<ActorRef<A>>,
    message: M,
) -> TimerHandle
where
    A: Actor<Context = EngineContext<A>> + Handler<Mail<M>, Result = ()>,
    M: Debug + Send + 'static,
{
    let due = origin + at.saturating_since(SimTime::ZERO).to_std();
    let timer = tokio::task::spawn_local(async move {
        tokio::time::sleep_until(due).await;
        // Recorded as the mail is sent: its place in the trace is its place among the
        // callbacks handed to the engine.
        if let Some(trace) = timers_to {
            trace.borrow_mut().record(
                wall_elapsed(origin),
                &TraceRecord::Timer {
                    timer: &timer_label(&message),
                    due_us: at.as_micros(),
                },
            );
        }
        address.do_send(Mail::new(message));
    });
    TimerHandle::Wall(timer.abort_handle())
}

#[cold]
#[inline(never)]
fn cancel_wall(timer: tokio::task::AbortHandle) {
    timer.abort();
}

#[cfg(test)]
mod tests {
    use super::timer_label;
    use crate::campaign::supervisor::SupervisorTimer;
    use crate::pacing::actor::PacingTimer;

    #[test]
    fn timer_labels_are_their_messages_in_snake_case() {
        assert_eq!(timer_label(&SupervisorTimer::WrapUpEnds), "wrap_up_ends");
        assert_eq!(
            timer_label(&SupervisorTimer::PacingChange(12)),
            "pacing_change(12)"
        );
        assert_eq!(timer_label(&PacingTimer::RateArrival), "rate_arrival");
        assert_eq!(timer_label(&PacingTimer::Tick), "tick");
    }
}
