//! What a running campaign shows the outside world (the console): a feed of call-state changes,
//! and a status snapshot on request.
//!
//! The supervisor holds an optional [`FeedPort`]. Every simulation runs without one, so a change
//! of a call's state costs one untaken branch there. With a feed attached and nobody listening,
//! a change costs a counter increment and one atomic load; only while a subscriber listens is a
//! [`CallChange`] built and broadcast (tokio `broadcast`, bounded: a subscriber that falls
//! behind is told it lagged and fetches a fresh snapshot).
//!
//! Every change carries a sequence number, and so does every [`CampaignStatus`]: a subscriber
//! that subscribes first and then takes a snapshot applies only changes numbered after it.
//!
//! Plain data and channels only: this module decides nothing about calls or pacing.

use crate::campaign::hopper::LeadTally;
use crate::campaign::supervisor::ReconcileTally;
use crate::domain::{AppState, AttemptId, LeadId, PhoneNumber};
use crate::report::OutcomeCounts;
use crate::time::SimTime;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Changes a slow subscriber may fall behind by before it is told it lagged.
const FEED_CAPACITY: usize = 4096;

/// One call changed state (or was placed: `from` is `None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallChange {
    pub seq: u64,
    pub attempt: AttemptId,
    pub lead: LeadId,
    pub callee: PhoneNumber,
    pub from: Option<AppState>,
    pub to: AppState,
    /// Engine time of the change (µs since the campaign started).
    #[serde(rename = "at_us")]
    pub at: SimTime,
}

/// Live calls per state (ended calls are not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CallsByState {
    pub dialing: u32,
    pub ringing: u32,
    pub answered: u32,
    pub queued: u32,
    pub offered: u32,
    pub talking: u32,
    pub held: u32,
    pub transferred: u32,
    pub suspect: u32,
}

impl CallsByState {
    pub fn total(&self) -> u32 {
        self.dialing
            + self.ringing
            + self.answered
            + self.queued
            + self.offered
            + self.talking
            + self.held
            + self.transferred
            + self.suspect
    }

    /// `(state name, count)` in the order of a call's life.
    pub fn named(&self) -> [(&'static str, u32); 9] {
        [
            ("dialing", self.dialing),
            ("ringing", self.ringing),
            ("answered", self.answered),
            ("queued", self.queued),
            ("offered", self.offered),
            ("talking", self.talking),
            ("held", self.held),
            ("transferred", self.transferred),
            ("suspect", self.suspect),
        ]
    }
}

/// Agents as the dialer infers them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AgentsView {
    pub logged_in: u32,
    pub on_calls: u32,
    pub wrap_up: u32,
    pub idle: u32,
}

/// The queue guard's (the release note's automatic pause) current state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GuardView {
    pub paused: bool,
    /// When the current pause began (µs of engine time).
    pub since_us: Option<u64>,
    /// Calls queued when it paused.
    pub queued_at_pause: Option<u32>,
}

/// A campaign's numbers at one instant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CampaignStatus {
    /// Engine time (µs since the campaign started).
    pub now_us: u64,
    /// The sequence number of the last call change before this snapshot.
    pub seq: u64,
    pub finished: bool,
    /// No more calls will be placed (stopped, out of attempts, or past the dialing window).
    pub dialing_closed: bool,
    /// An admin paused dialing.
    pub admin_paused: bool,
    /// PortaSwitch refused the dialer's login: no calls are placed until it works again.
    pub switch_login_refused: bool,
    pub queue_guard: GuardView,
    /// This run's calls (attempts of an earlier run still on the switch are not among them;
    /// see `reconcile.recovered`).
    pub calls: CallsByState,
    /// As pacing counts them: agents on calls include those on attempts of an earlier run
    /// still on the switch.
    pub agents: AgentsView,
    /// Dialing or ringing (attempts of an earlier run the switch lists so included, as pacing
    /// counts them).
    pub dials_in_flight: u32,
    /// Answered and waiting for an agent (suspect calls, and attempts of an earlier run the
    /// switch lists as queued, included, as pacing counts them).
    pub queued: u32,
    pub attempts: u64,
    pub answered: u64,
    pub connected: u64,
    pub abandoned: u64,
    pub abandon_rate: f64,
    /// Dials in flight per logged-in agent.
    pub dial_level: f64,
    /// Agents on calls per logged-in agent.
    pub occupancy: f64,
    pub outcomes: OutcomeCounts,
    pub anomalies: u64,
    /// Automatic pauses so far, and the time spent paused by them (s).
    pub pauses: u64,
    pub paused_seconds: f64,
    pub max_queued: u32,
    pub leads: LeadTally,
    pub dialable_leads: u64,
    pub dials_unfilled: u64,
    pub reconcile: ReconcileTally,
}

/// Builds the derived rates of a status from its counts.
pub fn rates(answered: u64, connected: u64, agents: AgentsView, in_flight: u32) -> (f64, f64, f64) {
    let abandoned = answered.saturating_sub(connected);
    let abandon_rate = if answered == 0 {
        0.0
    } else {
        abandoned as f64 / answered as f64
    };
    let per_agent = |value: u32| {
        if agents.logged_in == 0 {
            0.0
        } else {
            f64::from(value) / f64::from(agents.logged_in)
        }
    };
    (
        abandon_rate,
        per_agent(in_flight),
        per_agent(agents.on_calls),
    )
}

struct Shared {
    subscribers: AtomicUsize,
    changes: broadcast::Sender<CallChange>,
    final_status: Mutex<Option<CampaignStatus>>,
}

/// The outside end of a campaign's feed: subscribe to changes, read the final status.
#[derive(Clone)]
pub struct CampaignFeed {
    shared: Arc<Shared>,
}

impl Default for CampaignFeed {
    fn default() -> Self {
        CampaignFeed::new()
    }
}

impl std::fmt::Debug for CampaignFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CampaignFeed")
            .field("subscribers", &self.subscribers())
            .finish_non_exhaustive()
    }
}

impl CampaignFeed {
    pub fn new() -> CampaignFeed {
        let (changes, _) = broadcast::channel(FEED_CAPACITY);
        CampaignFeed {
            shared: Arc::new(Shared {
                subscribers: AtomicUsize::new(0),
                changes,
                final_status: Mutex::new(None),
            }),
        }
    }

    /// Starts receiving call changes; they flow only while a subscription is alive.
    pub fn subscribe(&self) -> Subscription {
        let receiver = self.shared.changes.subscribe();
        self.shared.subscribers.fetch_add(1, Ordering::SeqCst);
        Subscription {
            receiver,
            shared: self.shared.clone(),
        }
    }

    pub fn subscribers(&self) -> usize {
        self.shared.subscribers.load(Ordering::Relaxed)
    }

    /// The status the campaign had when it finished, once it has.
    pub fn final_status(&self) -> Option<CampaignStatus> {
        self.shared
            .final_status
            .lock()
            .ok()
            .and_then(|status| status.clone())
    }

    /// Records the final status (the engine calls this once, when the campaign finishes).
    pub fn set_final_status(&self, status: CampaignStatus) {
        if let Ok(mut slot) = self.shared.final_status.lock() {
            *slot = Some(status);
        }
    }

    /// Sends a change to the subscribers (for feeds not driven by an engine: trace playback).
    pub fn publish(&self, change: CallChange) {
        if self.subscribers() > 0 {
            let _ = self.shared.changes.send(change);
        }
    }

    /// A port for the engine's side.
    pub fn port(&self) -> FeedPort {
        FeedPort {
            feed: self.clone(),
            seq: 0,
        }
    }
}

/// A live subscription to call changes. Dropping it stops the flow if it was the last.
pub struct Subscription {
    pub receiver: broadcast::Receiver<CallChange>,
    shared: Arc<Shared>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.shared.subscribers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The engine's end of a feed, owned by the supervisor: numbers changes and sends them only
/// while someone listens.
pub struct FeedPort {
    feed: CampaignFeed,
    seq: u64,
}

impl FeedPort {
    /// The sequence number of the last change.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// A call was placed or changed state; `build` makes the details only if someone listens.
    #[inline]
    pub fn changed(&mut self, build: impl FnOnce(u64) -> CallChange) {
        self.seq += 1;
        if self.feed.subscribers() > 0 {
            let _ = self.feed.shared.changes.send(build(self.seq));
        }
    }

    pub fn finished(&self, status: CampaignStatus) {
        self.feed.set_final_status(status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: u64) -> CallChange {
        CallChange {
            seq,
            attempt: AttemptId(seq),
            lead: LeadId(0),
            callee: PhoneNumber("+15550001".into()),
            from: None,
            to: AppState::Dialing,
            at: SimTime::ZERO,
        }
    }

    #[test]
    fn changes_are_built_only_while_someone_listens() {
        let feed = CampaignFeed::new();
        let mut port = feed.port();
        let mut built = 0;
        port.changed(|seq| {
            built += 1;
            change(seq)
        });
        assert_eq!((built, port.seq()), (0, 1));

        let mut subscription = feed.subscribe();
        port.changed(|seq| {
            built += 1;
            change(seq)
        });
        assert_eq!(built, 1);
        let received = subscription.receiver.try_recv().expect("a change");
        assert_eq!(received.seq, 2);

        drop(subscription);
        assert_eq!(feed.subscribers(), 0);
        port.changed(|seq| {
            built += 1;
            change(seq)
        });
        assert_eq!((built, port.seq()), (1, 3));
    }

    #[test]
    fn rates_are_zero_without_answers_or_agents() {
        let (abandon, level, occupancy) = rates(0, 0, AgentsView::default(), 3);
        assert_eq!((abandon, level, occupancy), (0.0, 0.0, 0.0));
        let agents = AgentsView {
            logged_in: 4,
            on_calls: 3,
            wrap_up: 0,
            idle: 1,
        };
        let (abandon, level, occupancy) = rates(10, 9, agents, 6);
        assert!((abandon - 0.1).abs() < 1e-12);
        assert!((level - 1.5).abs() < 1e-12);
        assert!((occupancy - 0.75).abs() < 1e-12);
    }
}
