//! `DeadlineQueue`: the supervisor's queue of watchdog deadlines, earliest first.
//!
//! Two streams make up almost all deadlines, and each comes close to the order it falls due:
//! - dial deadlines, a call's dial time plus a constant (the ring timeout and a grace), queued
//!   as the call is placed: exactly in order;
//! - later deadlines, chiefly a connected call's (its last news plus a long constant), queued
//!   when its dial deadline comes up: in the order of the dial deadlines rather than of the news,
//!   so out of order by a ring timeout at most.
//!
//! The caller names the stream ([`Stream`]), and each stream is a sorted run: an entry is
//! inserted from the back, which moves past no entry for a dial deadline and a few for a later
//! one. An entry that would move past more than [`MOST_MOVED`] goes to a binary heap instead.
//! Taking the earliest looks at the front of both runs and the heap's top. Whatever stream the
//! caller names, the order is exactly a binary heap's of `(deadline, attempt)` pairs (ties by
//! attempt), so swapping one for the other changes no run; on the simulator's hot path the runs
//! spare each attempt a heap push and a pop through a heap of every call answered in the last
//! hours (an ended call's entry stays until it comes up) (BENCHMARKS.md).
//!
//! It must not decide anything: what is due, and what to do about it, is the supervisor's.

use crate::domain::AttemptId;
use crate::time::SimTime;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

type Entry = (SimTime, AttemptId);

/// The most entries a push moves past in its run before it gives up and uses the heap.
const MOST_MOVED: usize = 64;

/// Which run an entry joins: a hint for speed, never for order (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// A dial deadline, queued as its call is placed.
    Dial,
    /// Any other deadline.
    Later,
}

/// Watchdog deadlines, earliest first (ties by attempt). See the module docs.
#[derive(Debug, Default)]
pub struct DeadlineQueue {
    /// One sorted run per [`Stream`]: each front is its run's earliest.
    runs: [VecDeque<Entry>; 2],
    /// Entries that would have moved too far in their run.
    far_out_of_order: BinaryHeap<Reverse<Entry>>,
}

impl DeadlineQueue {
    pub fn push(&mut self, deadline: SimTime, attempt: AttemptId, stream: Stream) {
        let entry = (deadline, attempt);
        let run = &mut self.runs[stream as usize];
        if run.back().is_none_or(|last| *last <= entry) {
            run.push_back(entry);
            return;
        }
        let later = run
            .iter()
            .rev()
            .take(MOST_MOVED + 1)
            .take_while(|queued| **queued > entry)
            .count();
        if later <= MOST_MOVED {
            run.insert(run.len() - later, entry);
        } else {
            self.far_out_of_order.push(Reverse(entry));
        }
    }

    /// The earliest entry, if it is due at `now` (at or before it), taken out of the queue.
    pub fn pop_due(&mut self, now: SimTime) -> Option<(SimTime, AttemptId)> {
        let [dial, later] = &self.runs;
        // 0 and 1: the runs; 2: the heap.
        let fronts = [
            dial.front().copied(),
            later.front().copied(),
            self.far_out_of_order.peek().map(|Reverse(entry)| *entry),
        ];
        let (from, earliest) = fronts
            .iter()
            .enumerate()
            .filter_map(|(from, entry)| entry.map(|entry| (from, entry)))
            .min_by_key(|(_, entry)| *entry)?;
        if earliest.0 > now {
            return None;
        }
        match self.runs.get_mut(from) {
            Some(run) => {
                run.pop_front();
            }
            None => {
                self.far_out_of_order.pop();
            }
        }
        Some(earliest)
    }

    pub fn len(&self) -> usize {
        self.runs.iter().map(VecDeque::len).sum::<usize>() + self.far_out_of_order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SimTime {
        SimTime::from_secs(secs)
    }

    #[test]
    fn gives_the_earliest_due_entry_whichever_order_they_came_in() {
        let mut queue = DeadlineQueue::default();
        queue.push(at(10), AttemptId(1), Stream::Dial);
        queue.push(at(20), AttemptId(2), Stream::Dial);
        queue.push(at(5), AttemptId(3), Stream::Dial); // moves past two
        queue.push(at(20), AttemptId(1), Stream::Later);
        queue.push(at(15), AttemptId(5), Stream::Later); // moves past one
        queue.push(at(1), AttemptId(6), Stream::Later); // to its run's front
        queue.push(at(30), AttemptId(4), Stream::Dial);
        assert_eq!(queue.len(), 7);
        assert_eq!(queue.pop_due(at(0)), None);
        assert_eq!(queue.pop_due(at(4)), Some((at(1), AttemptId(6))));
        assert_eq!(queue.pop_due(at(4)), None);
        assert_eq!(queue.pop_due(at(25)), Some((at(5), AttemptId(3))));
        assert_eq!(queue.pop_due(at(25)), Some((at(10), AttemptId(1))));
        assert_eq!(queue.pop_due(at(25)), Some((at(15), AttemptId(5))));
        assert_eq!(queue.pop_due(at(25)), Some((at(20), AttemptId(1))));
        assert_eq!(queue.pop_due(at(25)), Some((at(20), AttemptId(2))));
        assert_eq!(queue.pop_due(at(25)), None);
        assert_eq!(queue.pop_due(at(30)), Some((at(30), AttemptId(4))));
        assert!(queue.is_empty());
        assert_eq!(queue.pop_due(at(100)), None);
    }

    #[test]
    fn an_entry_far_out_of_order_goes_to_the_heap_and_still_comes_out_first() {
        let mut queue = DeadlineQueue::default();
        for second in 0..=MOST_MOVED as u64 {
            queue.push(at(100 + second), AttemptId(2), Stream::Later);
        }
        queue.push(at(50), AttemptId(3), Stream::Later); // would move past MOST_MOVED + 1
        assert_eq!(queue.far_out_of_order.len(), 1);
        assert_eq!(queue.pop_due(at(2_000)), Some((at(50), AttemptId(3))));
        assert_eq!(queue.pop_due(at(2_000)), Some((at(100), AttemptId(2))));
    }

    proptest::proptest! {
        /// Any interleaving of pushes and pops takes entries out exactly as a binary heap of
        /// `(deadline, attempt)` would.
        #[test]
        fn takes_entries_out_in_a_binary_heap_s_order(
            operations in proptest::collection::vec(
                (0u8..3, 0u64..200, 0u64..8, 0u64..200),
                0..600,
            )
        ) {
            let mut queue = DeadlineQueue::default();
            let mut model: BinaryHeap<Reverse<Entry>> = BinaryHeap::new();
            for (operation, deadline, attempt, now) in operations {
                if operation < 2 {
                    let stream = if operation == 0 { Stream::Dial } else { Stream::Later };
                    queue.push(at(deadline), AttemptId(attempt), stream);
                    model.push(Reverse((at(deadline), AttemptId(attempt))));
                } else {
                    let expected = match model.peek() {
                        Some(Reverse(entry)) if entry.0 <= at(now) => {
                            let entry = *entry;
                            model.pop();
                            Some(entry)
                        }
                        _ => None,
                    };
                    proptest::prop_assert_eq!(queue.pop_due(at(now)), expected);
                }
                proptest::prop_assert_eq!(queue.len(), model.len());
            }
        }
    }
}
