//! The simulation's calendar: everything due to happen, in (time, sequence) order.
//!
//! Two kinds of entries share one timeline: the simulated switch's own steps (`I`), and engine
//! timers set through [`crate::clock::Clock`]. Entries at the same instant come out in the order
//! they were scheduled (the sequence number is the tie-break), so runs never depend on timer
//! ordering. The calendar's current time is the virtual "now" of the whole run.
//!
//! The calendar only stores and orders. The simulated switch decides when to take the next entry.

use crate::clock::VirtualTimeline;
use crate::time::SimTime;
use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Something due at a time.
pub enum Due<I> {
    /// A step of the simulated world.
    Item(I),
    /// An engine timer to fire.
    Timer(Box<dyn FnOnce()>),
}

struct Entry<I> {
    at: SimTime,
    seq: u64,
    payload: Payload<I>,
}

enum Payload<I> {
    Item(I),
    Timer { slot: u32, generation: u32 },
}

impl<I> PartialEq for Entry<I> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<I> Eq for Entry<I> {}

impl<I> PartialOrd for Entry<I> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<I> Ord for Entry<I> {
    /// Reversed, so the max-heap yields the earliest entry first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

struct TimerSlot {
    generation: u32,
    fire: Option<Box<dyn FnOnce()>>,
}

struct Inner<I> {
    heap: BinaryHeap<Entry<I>>,
    next_seq: u64,
    timers: Vec<TimerSlot>,
    free_timer_slots: Vec<u32>,
    live_timers: usize,
    live_items: usize,
}

/// The timeline of one simulation run.
pub struct Calendar<I> {
    now: Cell<SimTime>,
    inner: RefCell<Inner<I>>,
}

impl<I> Default for Calendar<I> {
    fn default() -> Self {
        Calendar::new()
    }
}

impl<I> Calendar<I> {
    pub fn new() -> Calendar<I> {
        Calendar {
            now: Cell::new(SimTime::ZERO),
            inner: RefCell::new(Inner {
                heap: BinaryHeap::new(),
                next_seq: 0,
                timers: Vec::new(),
                free_timer_slots: Vec::new(),
                live_timers: 0,
                live_items: 0,
            }),
        }
    }

    pub fn now(&self) -> SimTime {
        self.now.get()
    }

    /// Puts a world step on the calendar; times in the past mean "now".
    pub fn schedule_item(&self, at: SimTime, item: I) {
        let at = at.max(self.now.get());
        let mut inner = self.inner.borrow_mut();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.live_items += 1;
        inner.heap.push(Entry {
            at,
            seq,
            payload: Payload::Item(item),
        });
    }

    /// Takes the earliest entry, moving "now" to its time. Cancelled timers are skipped.
    pub fn pop(&self) -> Option<(SimTime, Due<I>)> {
        let mut inner = self.inner.borrow_mut();
        loop {
            let entry = inner.heap.pop()?;
            match entry.payload {
                Payload::Item(item) => {
                    inner.live_items -= 1;
                    self.now.set(entry.at);
                    return Some((entry.at, Due::Item(item)));
                }
                Payload::Timer { slot, generation } => {
                    let Some(fire) = take_timer(&mut inner, slot, generation) else {
                        continue;
                    };
                    self.now.set(entry.at);
                    return Some((entry.at, Due::Timer(fire)));
                }
            }
        }
    }

    /// Time of the earliest live entry, if any (cancelled timers at the front are dropped).
    pub fn peek_time(&self) -> Option<SimTime> {
        let mut inner = self.inner.borrow_mut();
        loop {
            let (at, timer) = match inner.heap.peek()? {
                Entry {
                    at,
                    payload: Payload::Timer { slot, generation },
                    ..
                } => (*at, Some((*slot, *generation))),
                Entry { at, .. } => (*at, None),
            };
            match timer {
                Some((slot, generation)) if !timer_is_live(&inner, slot, generation) => {
                    inner.heap.pop();
                }
                _ => return Some(at),
            }
        }
    }

    /// World steps still due.
    pub fn pending_items(&self) -> usize {
        self.inner.borrow().live_items
    }

    /// Engine timers still due.
    pub fn pending_timers(&self) -> usize {
        self.inner.borrow().live_timers
    }

    /// Drops every engine timer (the engine has finished; nothing may wake it).
    pub fn cancel_all_timers(&self) {
        let mut inner = self.inner.borrow_mut();
        for slot in 0..inner.timers.len() {
            if inner.timers[slot].fire.take().is_some() {
                inner.timers[slot].generation = inner.timers[slot].generation.wrapping_add(1);
                inner.free_timer_slots.push(slot as u32);
            }
        }
        inner.live_timers = 0;
    }

    fn add_timer(&self, at: SimTime, fire: Box<dyn FnOnce()>) -> u64 {
        let at = at.max(self.now.get());
        let mut inner = self.inner.borrow_mut();
        let slot = match inner.free_timer_slots.pop() {
            Some(slot) => slot,
            None => {
                inner.timers.push(TimerSlot {
                    generation: 0,
                    fire: None,
                });
                (inner.timers.len() - 1) as u32
            }
        };
        let generation = inner.timers[slot as usize].generation;
        inner.timers[slot as usize].fire = Some(fire);
        inner.live_timers += 1;
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.heap.push(Entry {
            at,
            seq,
            payload: Payload::Timer { slot, generation },
        });
        (u64::from(generation) << 32) | u64::from(slot)
    }

    fn remove_timer(&self, id: u64) {
        let slot = (id & 0xffff_ffff) as u32;
        let generation = (id >> 32) as u32;
        let mut inner = self.inner.borrow_mut();
        drop(take_timer(&mut inner, slot, generation));
    }
}

fn timer_is_live<I>(inner: &Inner<I>, slot: u32, generation: u32) -> bool {
    inner
        .timers
        .get(slot as usize)
        .is_some_and(|timer| timer.generation == generation && timer.fire.is_some())
}

fn take_timer<I>(inner: &mut Inner<I>, slot: u32, generation: u32) -> Option<Box<dyn FnOnce()>> {
    if !timer_is_live(inner, slot, generation) {
        return None;
    }
    let timer = &mut inner.timers[slot as usize];
    let fire = timer.fire.take();
    timer.generation = timer.generation.wrapping_add(1);
    inner.free_timer_slots.push(slot);
    inner.live_timers -= 1;
    fire
}

impl<I> VirtualTimeline for Calendar<I> {
    fn now(&self) -> SimTime {
        Calendar::now(self)
    }

    fn schedule(&self, at: SimTime, fire: Box<dyn FnOnce()>) -> u64 {
        self.add_timer(at, fire)
    }

    fn cancel(&self, id: u64) {
        self.remove_timer(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn entries_come_out_by_time_then_by_scheduling_order() {
        let calendar: Calendar<&str> = Calendar::new();
        calendar.schedule_item(SimTime::from_secs(5), "late");
        calendar.schedule_item(SimTime::from_secs(1), "first");
        calendar.schedule_item(SimTime::from_secs(1), "second");
        let order: Vec<&str> = std::iter::from_fn(|| match calendar.pop()? {
            (_, Due::Item(item)) => Some(item),
            (_, Due::Timer(_)) => None,
        })
        .collect();
        assert_eq!(order, ["first", "second", "late"]);
        assert_eq!(calendar.now(), SimTime::from_secs(5));
    }

    #[test]
    fn cancelled_timers_never_fire_and_slots_are_reused_safely() {
        let calendar: Calendar<()> = Calendar::new();
        let fired = Rc::new(Cell::new(0));
        let counter = fired.clone();
        let cancelled = calendar.add_timer(
            SimTime::from_secs(1),
            Box::new(move || counter.set(counter.get() + 1)),
        );
        calendar.remove_timer(cancelled);
        let counter = fired.clone();
        let kept = calendar.add_timer(
            SimTime::from_secs(2),
            Box::new(move || counter.set(counter.get() + 10)),
        );
        // Cancelling the stale id again must not hit the reused slot.
        calendar.remove_timer(cancelled);
        assert_eq!(calendar.pending_timers(), 1);
        while let Some((_, due)) = calendar.pop() {
            if let Due::Timer(fire) = due {
                fire();
            }
        }
        assert_eq!(fired.get(), 10);
        assert_ne!(kept, cancelled);
    }

    #[test]
    fn the_past_is_now() {
        let calendar: Calendar<u8> = Calendar::new();
        calendar.schedule_item(SimTime::from_secs(10), 1);
        calendar.pop();
        calendar.schedule_item(SimTime::from_secs(3), 2);
        assert_eq!(calendar.peek_time(), Some(SimTime::from_secs(10)));
    }
}
