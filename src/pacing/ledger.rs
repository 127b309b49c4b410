//! The pacing ledger: what the campaign supervisor records for pacing beyond the compact counts,
//! shared by the supervisor (which writes it) and the pacing actor (which reads it), both on the
//! campaign's thread.
//!
//! It always holds the abandon accounting ([`AbandonLedger`]), which every strategy's guard and
//! the report need. The rich view ([`DetailTracker`]: every dial in flight with its age, every
//! busy agent with the time their call started, agents in wrap-up, and the learned estimates)
//! exists only while the strategy asks for it ([`PacingLedger::want_detail`]), so the simple
//! strategies pay nothing for it. The supervisor builds it from its live-call table the first
//! time it sees it wanted, and keeps it up to date in O(1) per call event.
//!
//! Plain data: it decides nothing and sends nothing.

use super::abandon::{AbandonLedger, AbandonSettings};
use super::actor::PacingCounters;
use super::estimate::Estimates;
use crate::attempt_window::AttemptWindow;
use crate::domain::AttemptId;
use crate::time::{SimDuration, SimTime};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// How often the learned estimates' tables are rebuilt: they move slowly, and every rebuild
/// invalidates the predictive strategy's cached supply of agents.
pub const REFRESH_EVERY: SimDuration = SimDuration(1_000_000);

/// The ledger of one campaign, shared on its thread.
pub type SharedLedger = Rc<RefCell<PacingLedger>>;

pub struct PacingLedger {
    pub abandon: AbandonLedger,
    /// What pacing's guard and limits did, for the report.
    pub counters: PacingCounters,
    detail_wanted: bool,
    detail: Option<DetailTracker>,
    /// Ring timeout plus grace, in seconds: the longest a dial can stay in flight.
    max_dial_seconds: f64,
    /// The wrap-up the campaign assumes after each call, in seconds.
    assumed_wrap_up: f64,
}

impl PacingLedger {
    pub fn new(
        settings: AbandonSettings,
        max_dial_seconds: f64,
        assumed_wrap_up: f64,
    ) -> PacingLedger {
        PacingLedger {
            abandon: AbandonLedger::new(settings),
            counters: PacingCounters::default(),
            detail_wanted: false,
            detail: None,
            max_dial_seconds,
            assumed_wrap_up,
        }
    }

    pub fn shared(self) -> SharedLedger {
        Rc::new(RefCell::new(self))
    }

    /// Pacing asks for (or no longer needs) the rich view.
    pub fn want_detail(&mut self, wanted: bool) {
        self.detail_wanted = wanted;
        if !wanted {
            self.detail = None;
        }
    }

    /// True if the rich view is wanted but not built yet: the supervisor should build it.
    pub fn detail_missing(&self) -> bool {
        self.detail_wanted && self.detail.is_none()
    }

    /// Starts an empty tracker (the supervisor then fills in its live calls).
    pub fn start_detail(&mut self) -> &mut DetailTracker {
        let (max_dial, wrap_up) = (self.max_dial_seconds, self.assumed_wrap_up);
        self.detail
            .get_or_insert_with(|| DetailTracker::new(max_dial, wrap_up))
    }

    /// True while the rich view is kept.
    pub fn has_detail(&self) -> bool {
        self.detail.is_some()
    }

    pub fn detail(&self) -> Option<&DetailTracker> {
        self.detail.as_ref()
    }

    pub fn detail_mut(&mut self) -> Option<&mut DetailTracker> {
        self.detail.as_mut()
    }
}

/// The rich view of the campaign for strategies that look past the counts.
#[derive(Clone, Debug)]
pub struct DetailTracker {
    /// When each dial in flight was placed.
    inflight: AttemptWindow<SimTime>,
    /// Each call holding an agent, with when the agent got it.
    busy: Vec<(AttemptId, SimTime)>,
    /// When each agent in (assumed) wrap-up becomes free, in order.
    wrap_ups: VecDeque<SimTime>,
    /// Calls answered (person or machine) and not yet in the queue.
    pub answered_unqueued: u32,
    pub estimates: Estimates,
    /// The wrap-up the campaign assumes after each call, in seconds.
    pub assumed_wrap_up: f64,
    refreshed_at: Option<SimTime>,
    /// Changes whenever an agent becomes busy or free, or a wrap-up ends (for caches).
    agents_version: u64,
}

impl DetailTracker {
    pub fn new(max_dial_seconds: f64, assumed_wrap_up: f64) -> DetailTracker {
        DetailTracker {
            inflight: AttemptWindow::new(),
            busy: Vec::new(),
            wrap_ups: VecDeque::new(),
            answered_unqueued: 0,
            estimates: Estimates::new(max_dial_seconds),
            assumed_wrap_up,
            refreshed_at: None,
            agents_version: 0,
        }
    }

    /// Changes whenever the busy agents or wrap-ups change, or the estimates are refreshed.
    pub fn agents_version(&self) -> u64 {
        self.agents_version
    }

    pub fn dial_placed(&mut self, attempt: AttemptId, at: SimTime) {
        self.inflight.insert(attempt, at);
    }

    /// A dial stopped being in flight; returns when it was placed.
    pub fn dial_left(&mut self, attempt: AttemptId) -> Option<SimTime> {
        self.inflight.remove(attempt)
    }

    pub fn agent_busy(&mut self, attempt: AttemptId, since: SimTime) {
        if !self.busy.iter().any(|(a, _)| *a == attempt) {
            self.busy.push((attempt, since));
            self.agents_version += 1;
        }
    }

    /// The call no longer holds an agent; the agent is free at `free_at` (after wrap-up).
    pub fn agent_released(&mut self, attempt: AttemptId, now: SimTime, free_at: SimTime) {
        if let Some(position) = self.busy.iter().position(|(a, _)| *a == attempt) {
            self.busy.swap_remove(position);
        }
        if free_at > now {
            self.wrap_ups.push_back(free_at);
        }
        self.agents_version += 1;
    }

    /// An agent already in wrap-up, free at `end` (when the tracker starts mid-run).
    pub fn add_wrap_up(&mut self, end: SimTime) {
        self.wrap_ups.push_back(end);
        self.agents_version += 1;
    }

    /// Forgets wrap-ups that are over by `now`.
    pub fn release_wrap_ups(&mut self, now: SimTime) {
        // Ended wrap-ups only leave the list: when they end was known all along, so views
        // built from the list stay right and need no rebuild.
        while self.wrap_ups.front().is_some_and(|end| *end <= now) {
            self.wrap_ups.pop_front();
        }
    }

    /// Rebuilds the estimates' tables, at most once every [`REFRESH_EVERY`] of engine time.
    pub fn refresh(&mut self, now: SimTime) {
        self.release_wrap_ups(now);
        let due = self
            .refreshed_at
            .is_none_or(|at| now.saturating_since(at) >= REFRESH_EVERY);
        if due {
            self.estimates.refresh();
            self.refreshed_at = Some(now);
            self.agents_version += 1;
        }
    }

    /// When each dial in flight was placed, oldest first.
    pub fn inflight(&self) -> impl Iterator<Item = SimTime> + '_ {
        self.inflight.iter().map(|(_, at)| *at)
    }

    pub fn inflight_count(&self) -> usize {
        self.inflight.len()
    }

    /// When each busy agent's call started.
    pub fn busy_since(&self) -> impl Iterator<Item = SimTime> + '_ {
        self.busy.iter().map(|(_, since)| *since)
    }

    pub fn busy_count(&self) -> usize {
        self.busy.len()
    }

    /// When each agent in wrap-up becomes free.
    pub fn wrap_up_ends(&self) -> impl Iterator<Item = SimTime> + '_ {
        self.wrap_ups.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracker_follows_agents_and_wrap_ups() {
        let mut tracker = DetailTracker::new(35.0, 10.0);
        tracker.agent_busy(AttemptId(1), SimTime::from_secs(10));
        tracker.agent_busy(AttemptId(2), SimTime::from_secs(12));
        tracker.agent_released(
            AttemptId(1),
            SimTime::from_secs(100),
            SimTime::from_secs(110),
        );
        assert_eq!(tracker.busy_count(), 1);
        assert_eq!(tracker.wrap_up_ends().count(), 1);
        tracker.refresh(SimTime::from_secs(111));
        assert_eq!(tracker.wrap_up_ends().count(), 0);
    }
}
