//! `AttemptWindow`: values keyed by attempt id, for things that live while an attempt is in
//! progress (the campaign's live calls, the dials pacing sees in flight, the journal's open
//! attempts, the simulated switch's call keys).
//!
//! Attempt ids are dense and grow, and an attempt lives a short while, so the table is a window
//! from the oldest attempt still held to the newest: constant-time insert, lookup and removal,
//! iteration in attempt order, and no allocation at steady state. Removing the oldest entry
//! slides the window forward; a window that empties starts again at the next insert.
//!
//! It holds values and nothing else: it must not decide what lives or dies.

use crate::domain::AttemptId;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct AttemptWindow<T> {
    /// The attempt id of `slots[0]`.
    first: u64,
    slots: VecDeque<Option<T>>,
    len: usize,
}

impl<T> Default for AttemptWindow<T> {
    fn default() -> Self {
        AttemptWindow {
            first: 0,
            slots: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T> AttemptWindow<T> {
    pub fn new() -> AttemptWindow<T> {
        AttemptWindow::default()
    }

    /// Holds `value` for `attempt`, in place of any value it had. An attempt older than the
    /// window widens it: nothing is dropped.
    pub fn insert(&mut self, attempt: AttemptId, value: T) {
        if self.len == 0 {
            self.first = attempt.0;
            self.slots.clear();
        }
        if attempt.0 < self.first {
            self.widen_back_to(attempt.0);
        }
        let index = (attempt.0 - self.first) as usize;
        // The usual case: the attempt after the newest held.
        if index == self.slots.len() {
            self.slots.push_back(None);
        } else if index > self.slots.len() {
            self.widen_forward_to(index);
        }
        if self.slots[index].replace(value).is_none() {
            self.len += 1;
        }
    }

    // The window's rare ways of growing, out of line: every simulated attempt inserts into
    // four windows, and inlined these would sit in the middle of the simulator's hot code.

    #[cold]
    #[inline(never)]
    fn widen_back_to(&mut self, first: u64) {
        while first < self.first {
            self.slots.push_front(None);
            self.first -= 1;
        }
    }

    #[cold]
    #[inline(never)]
    fn widen_forward_to(&mut self, index: usize) {
        self.slots.resize_with(index + 1, || None);
    }

    pub fn get(&self, attempt: AttemptId) -> Option<&T> {
        let index = attempt.0.checked_sub(self.first)? as usize;
        self.slots.get(index)?.as_ref()
    }

    pub fn get_mut(&mut self, attempt: AttemptId) -> Option<&mut T> {
        let index = attempt.0.checked_sub(self.first)? as usize;
        self.slots.get_mut(index)?.as_mut()
    }

    /// Takes the value of `attempt` out; the window slides past empty places at its front.
    pub fn remove(&mut self, attempt: AttemptId) -> Option<T> {
        let index = attempt.0.checked_sub(self.first)? as usize;
        let value = self.slots.get_mut(index)?.take()?;
        self.len -= 1;
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.first += 1;
        }
        Some(value)
    }

    /// The oldest attempt held, with its value. The window never starts with an empty place
    /// (`insert` fills its first place, `remove` slides past empty ones), so this is its first.
    pub fn front(&self) -> Option<(AttemptId, &T)> {
        let value = self.slots.front()?.as_ref()?;
        Some((AttemptId(self.first), value))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Places in the window, held or empty (what it costs in memory).
    pub fn span(&self) -> usize {
        self.slots.len()
    }

    /// The values held, oldest attempt first.
    pub fn iter(&self) -> impl Iterator<Item = (AttemptId, &T)> {
        let first = self.first;
        self.slots
            .iter()
            .enumerate()
            .filter_map(move |(index, slot)| {
                Some((AttemptId(first + index as u64), slot.as_ref()?))
            })
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (AttemptId, &mut T)> {
        let first = self.first;
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(move |(index, slot)| {
                Some((AttemptId(first + index as u64), slot.as_mut()?))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(window: &AttemptWindow<&str>) -> Vec<u64> {
        window.iter().map(|(attempt, _)| attempt.0).collect()
    }

    #[test]
    fn slides_forward_as_the_oldest_attempts_end() {
        let mut window = AttemptWindow::new();
        for attempt in 5..=8 {
            window.insert(AttemptId(attempt), "up");
        }
        assert_eq!((window.len(), window.span()), (4, 4));
        assert_eq!(window.remove(AttemptId(6)), Some("up"));
        assert_eq!(window.span(), 4, "a hole in the middle stays");
        assert_eq!(window.remove(AttemptId(5)), Some("up"));
        assert_eq!(window.span(), 2, "the front slides past the hole");
        assert_eq!(ids(&window), [7, 8]);
        assert_eq!(
            window.front().map(|(attempt, _)| attempt),
            Some(AttemptId(7))
        );
        assert_eq!(window.remove(AttemptId(5)), None);
        assert_eq!(window.get(AttemptId(9)), None);
        *window.get_mut(AttemptId(8)).unwrap() = "changed";
        assert_eq!(window.get(AttemptId(8)), Some(&"changed"));
    }

    #[test]
    fn dial_times_keep_order_and_shrink() {
        // Pacing's dials in flight (formerly `pacing::ledger::AttemptTimes`).
        use crate::time::SimTime;
        let mut times = AttemptWindow::new();
        for id in 1..=5 {
            times.insert(AttemptId(id), SimTime::from_secs(id));
        }
        assert_eq!(times.remove(AttemptId(3)), Some(SimTime::from_secs(3)));
        assert_eq!(times.remove(AttemptId(1)), Some(SimTime::from_secs(1)));
        assert_eq!(times.remove(AttemptId(1)), None);
        let left: Vec<u64> = times
            .iter()
            .map(|(_, t)| t.as_micros() / 1_000_000)
            .collect();
        assert_eq!(left, [2, 4, 5]);
        assert_eq!(times.len(), 3);
        for id in [2, 4, 5] {
            times.remove(AttemptId(id));
        }
        assert!(times.is_empty());
        times.insert(AttemptId(9), SimTime::from_secs(9));
        assert_eq!(times.iter().count(), 1);
    }

    #[test]
    fn an_older_attempt_widens_the_window_and_an_empty_one_restarts() {
        let mut window = AttemptWindow::new();
        window.insert(AttemptId(10), "a");
        window.insert(AttemptId(8), "b");
        assert_eq!(ids(&window), [8, 10]);
        window.insert(AttemptId(10), "c");
        assert_eq!(window.len(), 2, "replacing a value counts it once");
        window.remove(AttemptId(8));
        window.remove(AttemptId(10));
        assert!(window.is_empty());
        window.insert(AttemptId(1_000), "d");
        assert_eq!(
            window.span(),
            1,
            "an empty window starts again where it is used"
        );
    }

    #[test]
    fn a_later_attempt_past_a_gap_widens_it_with_empty_places() {
        let mut window = AttemptWindow::new();
        window.insert(AttemptId(5), "a");
        window.insert(AttemptId(9), "b");
        assert_eq!((window.len(), window.span()), (2, 5));
        assert_eq!(ids(&window), [5, 9]);
        assert_eq!(window.get(AttemptId(7)), None);
        window.insert(AttemptId(10), "c");
        assert_eq!((window.len(), window.span()), (3, 6));
    }

    proptest::proptest! {
        /// Any sequence of inserts and removals leaves the window holding exactly what an
        /// ordered map would, in the same order.
        #[test]
        fn holds_what_an_ordered_map_holds(
            operations in proptest::collection::vec((proptest::bool::ANY, 0u64..40, 0u32..1000), 0..200)
        ) {
            let mut window = AttemptWindow::new();
            let mut model = std::collections::BTreeMap::new();
            for (insert, attempt, value) in operations {
                if insert {
                    window.insert(AttemptId(attempt), value);
                    model.insert(attempt, value);
                } else {
                    proptest::prop_assert_eq!(window.remove(AttemptId(attempt)), model.remove(&attempt));
                }
                proptest::prop_assert_eq!(window.len(), model.len());
                let held: Vec<(u64, u32)> = window.iter().map(|(a, v)| (a.0, *v)).collect();
                let expected: Vec<(u64, u32)> = model.iter().map(|(a, v)| (*a, *v)).collect();
                proptest::prop_assert_eq!(held, expected);
                proptest::prop_assert_eq!(
                    window.front().map(|(a, v)| (a.0, *v)),
                    model.iter().next().map(|(a, v)| (*a, *v))
                );
            }
        }
    }
}
