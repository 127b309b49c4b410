//! The simulation's calendar: everything due to happen, in (time, scheduling) order.
//!
//! Two kinds of entries share one timeline: the simulated switch's own steps (`I`), and engine
//! timers set through [`crate::clock::Clock`]. Entries at the same instant come out in the order
//! they were scheduled, so runs never depend on timer ordering. The calendar's current time is
//! the virtual "now" of the whole run.
//!
//! The entries wait in a radix heap ([`TimeQueue`]) rather than a binary heap: the calendar is
//! monotone (nothing is scheduled before the time of the entry last taken), so an entry is
//! filed by the highest bit in which its time differs from that time, and moves to a lower
//! bucket only when every entry below it is gone. Entries at the same time share a bucket and
//! keep their scheduling order in it, so the order is exactly that of a heap ordered on (time,
//! sequence number), which the calendar used before (BENCHMARKS.md).
//!
//! The calendar only stores and orders. The simulated switch decides when to take the next entry.

use crate::clock::VirtualTimeline;
use crate::time::SimTime;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

/// Something due at a time.
pub enum Due<I> {
    /// A step of the simulated world.
    Item(I),
    /// An engine timer to fire.
    Timer(Box<dyn FnOnce()>),
}

/// What [`Calendar::pop_not_after`] found.
pub enum Next<I> {
    /// The earliest entry, taken: "now" is its time.
    Due(SimTime, Due<I>),
    /// The earliest entry is due after the limit, at this time; it stays, and "now" stays.
    Later(SimTime),
    /// Nothing is due.
    Empty,
}

struct Entry<I> {
    at: SimTime,
    payload: Payload<I>,
}

enum Payload<I> {
    Item(I),
    Timer { slot: u32, generation: u32 },
}

/// The calendar's entries in (time, scheduling) order: a radix heap on time.
///
/// Every entry's time is at least `base`, the time of the entry last taken out (or found
/// earliest). Entries at `base` wait in `front`; any other entry waits in the bucket of the
/// highest bit in which its time differs from `base`, so every entry in a lower bucket is earlier
/// than every entry in a higher one. When `front` is empty, the lowest bucket's earliest time
/// becomes the new `base` and that bucket's entries are filed again, each into `front` or a
/// lower bucket: an entry moves at most 64 times in its life, and in practice a few.
///
/// Entries at the same time stay in scheduling order: they share a bucket, a new entry goes to
/// the back of its bucket, and a bucket is filed again only into buckets that are empty, in its
/// own order. An entry scheduled before `base` (possible only after a look at the front that
/// took nothing: [`Calendar::peek_time`], or [`Calendar::pop_not_after`] finding the earliest
/// entry past its limit) rebuilds the queue from its entries, sorted by time and otherwise left
/// in order.
struct TimeQueue<I> {
    base: u64,
    front: VecDeque<Entry<I>>,
    buckets: [Vec<Entry<I>>; 64],
    /// Bit `b` is set while `buckets[b]` holds an entry.
    occupied: u64,
}

impl<I> TimeQueue<I> {
    fn new() -> TimeQueue<I> {
        TimeQueue {
            base: 0,
            front: VecDeque::new(),
            buckets: std::array::from_fn(|_| Vec::new()),
            occupied: 0,
        }
    }

    #[inline]
    fn push(&mut self, entry: Entry<I>) {
        let at = entry.at.as_micros();
        if at < self.base {
            self.rebuild_with(entry);
            return;
        }
        self.file(entry);
    }

    /// Puts an entry no earlier than `base` where it belongs.
    #[inline]
    fn file(&mut self, entry: Entry<I>) {
        let differs = entry.at.as_micros() ^ self.base;
        if differs == 0 {
            self.front.push_back(entry);
        } else {
            let bucket = 63 - differs.leading_zeros();
            self.buckets[bucket as usize].push(entry);
            self.occupied |= 1 << bucket;
        }
    }

    /// The earliest entry, if any.
    #[inline]
    fn peek(&mut self) -> Option<&Entry<I>> {
        if self.front.is_empty() {
            self.refill();
        }
        self.front.front()
    }

    /// Takes the earliest entry, if any.
    #[inline]
    fn pop(&mut self) -> Option<Entry<I>> {
        if self.front.is_empty() {
            self.refill();
        }
        self.front.pop_front()
    }

    /// Fills the empty `front` with the earliest entries, if there are any: moves `base` to the
    /// earliest time in the lowest bucket and files that bucket's entries again.
    fn refill(&mut self) {
        if self.occupied == 0 {
            return;
        }
        let lowest = self.occupied.trailing_zeros() as usize;
        let mut occupied = self.occupied & !(1 << lowest);
        let mut bucket = std::mem::take(&mut self.buckets[lowest]);
        let base = bucket
            .iter()
            .map(|entry| entry.at.as_micros())
            .min()
            .expect("an occupied bucket holds an entry");
        self.base = base;
        // As `file`, with `base` and `occupied` kept out of memory.
        for entry in bucket.drain(..) {
            let differs = entry.at.as_micros() ^ base;
            if differs == 0 {
                self.front.push_back(entry);
            } else {
                let lower = 63 - differs.leading_zeros();
                self.buckets[lower as usize].push(entry);
                occupied |= 1 << lower;
            }
        }
        self.occupied = occupied;
        // Its buffer is kept for the entries to come.
        self.buckets[lowest] = bucket;
    }

    /// Files every entry again, with `entry`, around the earliest time of all.
    #[cold]
    fn rebuild_with(&mut self, entry: Entry<I>) {
        let mut all: Vec<Entry<I>> = self.front.drain(..).collect();
        for bucket in &mut self.buckets {
            all.append(bucket);
        }
        all.push(entry);
        // Stable: entries at one time come out of one bucket (or the front), in their order.
        all.sort_by_key(|entry| entry.at);
        self.occupied = 0;
        self.base = all[0].at.as_micros();
        for entry in all {
            self.file(entry);
        }
    }
}

struct TimerSlot {
    generation: u32,
    fire: Option<Box<dyn FnOnce()>>,
}

struct Inner<I> {
    queue: TimeQueue<I>,
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
                queue: TimeQueue::new(),
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
        self.schedule_items(std::iter::once((at, item)));
    }

    /// Puts world steps on the calendar, in order; times in the past mean "now".
    pub fn schedule_items(&self, items: impl IntoIterator<Item = (SimTime, I)>) {
        let now = self.now.get();
        let mut inner = self.inner.borrow_mut();
        for (at, item) in items {
            inner.live_items += 1;
            inner.queue.push(Entry {
                at: at.max(now),
                payload: Payload::Item(item),
            });
        }
    }

    /// Takes the earliest entry, moving "now" to its time. Cancelled timers are skipped.
    pub fn pop(&self) -> Option<(SimTime, Due<I>)> {
        match self.pop_not_after(SimTime(u64::MAX)) {
            Next::Due(at, due) => Some((at, due)),
            Next::Later(_) | Next::Empty => None,
        }
    }

    /// Takes the earliest entry if it is due no later than `limit`, moving "now" to its time.
    /// Cancelled timers at the front are dropped. One look where [`Calendar::peek_time`] and
    /// [`Calendar::pop`] take two.
    pub fn pop_not_after(&self, limit: SimTime) -> Next<I> {
        let mut inner = self.inner.borrow_mut();
        let Some(at) = earliest_live(&mut inner) else {
            return Next::Empty;
        };
        if at > limit {
            return Next::Later(at);
        }
        let entry = inner.queue.pop().expect("the entry just looked at");
        let due = match entry.payload {
            Payload::Item(item) => {
                inner.live_items -= 1;
                Due::Item(item)
            }
            Payload::Timer { slot, generation } => {
                Due::Timer(take_timer(&mut inner, slot, generation).expect("a live timer"))
            }
        };
        self.now.set(at);
        Next::Due(at, due)
    }

    /// Time of the earliest live entry, if any (cancelled timers at the front are dropped).
    pub fn peek_time(&self) -> Option<SimTime> {
        earliest_live(&mut self.inner.borrow_mut())
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
        inner.queue.push(Entry {
            at,
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

/// Time of the earliest entry, after dropping the cancelled timers in front of it.
#[inline]
fn earliest_live<I>(inner: &mut Inner<I>) -> Option<SimTime> {
    loop {
        let (at, timer) = match inner.queue.peek()? {
            Entry {
                at,
                payload: Payload::Timer { slot, generation },
            } => (*at, Some((*slot, *generation))),
            Entry { at, .. } => (*at, None),
        };
        match timer {
            Some((slot, generation)) if !timer_is_live(inner, slot, generation) => {
                inner.queue.pop();
            }
            _ => return Some(at),
        }
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

    /// Against a plain ordered set: random schedules (many at equal times, some before a time
    /// only looked at), looks and takes come out in exactly (time, scheduling) order.
    #[test]
    fn the_radix_queue_takes_entries_in_time_then_scheduling_order() {
        use std::collections::BTreeSet;
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20 {
            let calendar: Calendar<u64> = Calendar::new();
            let mut expected: BTreeSet<(SimTime, u64)> = BTreeSet::new();
            let mut scheduled = 0u64;
            for _ in 0..3000 {
                let now = calendar.now();
                match next() % 10 {
                    0..=5 => {
                        let span = [4, 1 << 12, 1 << 20, 1 << 34][(next() % 4) as usize];
                        let delay = if next() % 5 == 0 { 0 } else { next() % span };
                        let at = SimTime(now.0 + delay);
                        calendar.schedule_item(at, scheduled);
                        expected.insert((at, scheduled));
                        scheduled += 1;
                    }
                    6 => {
                        // A look moves the queue's base ahead of "now"; then an earlier entry.
                        let peeked = calendar.peek_time();
                        assert_eq!(peeked, expected.first().map(|&(at, _)| at), "{round}");
                        if let Some(peeked) = peeked
                            && peeked > now
                        {
                            let at = SimTime(now.0 + next() % (peeked.0 - now.0));
                            calendar.schedule_item(at, scheduled);
                            expected.insert((at, scheduled));
                            scheduled += 1;
                        }
                    }
                    _ => {
                        let taken = match calendar.pop() {
                            Some((at, Due::Item(item))) => Some((at, item)),
                            Some((_, Due::Timer(_))) => unreachable!("no timers here"),
                            None => None,
                        };
                        assert_eq!(taken, expected.pop_first(), "round {round}");
                    }
                }
                assert_eq!(calendar.pending_items(), expected.len());
            }
            while let Some((at, due)) = calendar.pop() {
                let Due::Item(item) = due else {
                    unreachable!("no timers here")
                };
                assert_eq!(Some((at, item)), expected.pop_first(), "round {round}");
            }
            assert!(expected.is_empty());
        }
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
