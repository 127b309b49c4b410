//! The fake switch's world: the simulator's pure [`SimSwitchModel`] on a small calendar, driven
//! by real time times a scale factor, turning the model's notifications into callbacks.
//!
//! World time is `elapsed real time × time_scale`; calendar steps run at their own scheduled
//! world time, in order, so the model sees exactly what it sees in a simulation. A callback's
//! `update_time` is the fake's start (Unix time) plus world time.

use super::callback_body;
use super::config::FakeConfig;
use crate::domain::{AttemptId, PhoneNumber};
use crate::short_text::ShortText;
use crate::sim::model::{SimSwitchModel, Step, SwitchItem};
use crate::switch::{CallRef, CallStatus, SwitchEvent};
use crate::time::{SimDuration, SimTime};
use serde_json::{Value, json};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

/// A callback to post.
#[derive(Clone, Debug)]
pub struct Callback {
    pub url: String,
    pub body: Value,
}

struct Due {
    at: SimTime,
    seq: u64,
    item: SwitchItem,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Where one call's callbacks go.
struct Hook {
    url: Option<String>,
    /// Bit per [`CallStatus`] asked for.
    events: u16,
}

pub struct World {
    model: SimSwitchModel,
    calendar: BinaryHeap<Reverse<Due>>,
    seq: u64,
    step: Step,
    now: SimTime,
    hooks: HashMap<u64, Hook>,
    next_attempt: u64,
    epoch_unix_micros: u64,
    /// When the world started (real time, read through [`crate::clock::monotonic_now`]).
    started: std::time::Instant,
    time_scale: f64,
    ring_timeout: SimDuration,
}

impl World {
    pub fn new(config: &FakeConfig, epoch_unix_micros: u64) -> World {
        let mut world = World {
            model: SimSwitchModel::new(&config.scenario, config.seed),
            calendar: BinaryHeap::new(),
            seq: 0,
            step: Step::default(),
            now: SimTime::ZERO,
            hooks: HashMap::new(),
            next_attempt: 0,
            epoch_unix_micros,
            started: crate::clock::monotonic_now(),
            time_scale: config.time_scale,
            ring_timeout: config.scenario.dialing.ring_timeout,
        };
        let mut step = std::mem::take(&mut world.step);
        world.model.start(SimTime::ZERO, &mut step);
        world.absorb(&mut step, &mut Vec::new());
        world.step = step;
        world
    }

    fn world_time(&self) -> SimTime {
        let real = crate::clock::monotonic_now()
            .duration_since(self.started)
            .as_secs_f64();
        SimTime((real * self.time_scale * 1e6) as u64).max(self.now)
    }

    /// Runs every step due by now; returns the callbacks they produced.
    pub fn advance_to_now(&mut self) -> Vec<Callback> {
        let target = self.world_time();
        let mut out = Vec::new();
        let mut step = std::mem::take(&mut self.step);
        while let Some(Reverse(due)) = self.calendar.peek() {
            if due.at > target {
                break;
            }
            let Reverse(due) = self.calendar.pop().expect("peeked");
            self.now = due.at;
            self.model.handle(due.item, due.at, &mut step);
            self.absorb(&mut step, &mut out);
        }
        self.now = target;
        self.step = step;
        out
    }

    /// Places a call now; returns its identity. Its first callbacks go into `out`.
    pub fn originate(
        &mut self,
        callee: &PhoneNumber,
        url: Option<String>,
        events: Option<Vec<CallStatus>>,
        out: &mut Vec<Callback>,
    ) -> (CallRef, ShortText) {
        self.next_attempt += 1;
        let attempt = self.next_attempt;
        let mask = match events {
            Some(states) => states.iter().fold(0u16, |mask, s| mask | (1 << *s as u16)),
            None => u16::MAX,
        };
        self.hooks.insert(attempt, Hook { url, events: mask });
        let mut step = std::mem::take(&mut self.step);
        self.model.originate(
            self.now,
            AttemptId(attempt),
            callee,
            self.ring_timeout,
            &mut step,
        );
        let identity = step.events().find_map(|event| match event {
            SwitchEvent::Accepted { call, tracking_id } => {
                Some((call.clone(), tracking_id.clone()))
            }
            _ => None,
        });
        self.absorb(&mut step, out);
        self.step = step;
        identity.expect("the model accepts every originate")
    }

    /// What one model step produced: calendar entries and callbacks.
    fn absorb(&mut self, step: &mut Step, out: &mut Vec<Callback>) {
        for (at, item) in step.schedule.drain(..) {
            self.seq += 1;
            self.calendar.push(Reverse(Due {
                at,
                seq: self.seq,
                item,
            }));
        }
        let events = step.batches.drain(..).flat_map(|batch| {
            batch
                .events
                .into_iter()
                .map(move |event| (batch.attempt, event))
        });
        for (attempt, event) in events {
            let SwitchEvent::State(note) = event else {
                continue;
            };
            let Some(hook) = self.hooks.get(&attempt.0) else {
                continue;
            };
            if let Some(url) = &hook.url
                && hook.events & (1 << note.state as u16) != 0
            {
                out.push(Callback {
                    url: url.clone(),
                    body: callback_body(&note, self.epoch_unix_micros),
                });
            }
            if note.state == CallStatus::Terminated {
                // The model says nothing more about this call (or the limitation hides it).
                self.hooks.remove(&attempt.0);
            }
        }
        step.clear();
    }

    /// `get_sip_calls_list`'s entries: every call the switch carries.
    pub fn calls_list(&self) -> Vec<Value> {
        self.model
            .active_calls()
            .map(|(_, call, tracking, state)| {
                json!({
                    "call": {"id": call.id.as_str(), "tag": call.tag.as_str()},
                    "tracking_id": tracking.as_str(),
                    "state": state.as_str(),
                })
            })
            .collect()
    }

    pub fn live_calls(&self) -> usize {
        self.model.live_calls()
    }

    /// The agents of the world and how many of them are logged in.
    pub fn agents(&self) -> (usize, usize) {
        (
            self.model.agent_count(),
            self.model.agents_logged_in() as usize,
        )
    }
}
