//! Property tests of the simulated switch model: for random small configurations and random
//! command sequences, no agent ever holds two calls, callers never wait while an agent idles,
//! and every call placed ends exactly once, both in truth and in what the dialer is told.

use dialer::domain::{AttemptId, PhoneNumber};
use dialer::scenario::Scenario;
use dialer::sim::calendar::{Calendar, Due};
use dialer::sim::model::{CallKey, SimSwitchModel, Step, SwitchItem};
use dialer::switch::{CallStatus, SwitchEvent};
use dialer::time::{SimDuration, SimTime};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct Config {
    agents: u32,
    agent_no_answer: f64,
    agent_decline: f64,
    agent_answer_after: u32,
    max_size: Option<u32>,
    max_wait: Option<u32>,
    hold: f64,
    transfer: f64,
    logout_at: Option<(u32, u32)>,
}

fn config() -> impl Strategy<Value = Config> {
    (
        0u32..5,
        0.0..0.5f64,
        0.0..0.3f64,
        0u32..6,
        prop::option::of(0u32..4),
        prop::option::of(5u32..120),
        0.0..0.5f64,
        0.0..0.5f64,
        prop::option::of((10u32..600, 1u32..4)),
    )
        .prop_map(
            |(
                agents,
                no_answer,
                decline,
                answer_after,
                max_size,
                max_wait,
                hold,
                transfer,
                logout_at,
            )| Config {
                agents,
                agent_no_answer: no_answer,
                agent_decline: decline,
                agent_answer_after: answer_after,
                max_size,
                max_wait,
                hold,
                transfer,
                logout_at,
            },
        )
}

fn scenario(config: &Config) -> Scenario {
    let mut text = format!(
        r#"
[scenario]
name = "model-props"

[agents]
count = {agents}
answer_after = "{answer_after}s"
wrap_up = {{ uniform = ["0s", "20s"] }}
no_answer = {no_answer}
decline = {decline}

[queue]
entry_delay = {{ uniform = ["0s", "2s"] }}
{max_size}
{max_wait}

[callees]
ringing_after = {{ uniform = ["0s", "3s"] }}
patience = {{ exponential = "30s" }}
talk = {{ exponential = "60s" }}
answer = {{ probability = 0.5, after = {{ uniform = ["1s", "20s"] }} }}
no_answer = {{ probability = 0.2 }}
busy = {{ probability = 0.1, after = "2s" }}
machine = {{ probability = 0.2, after = {{ uniform = ["2s", "10s"] }}, detect = "2s" }}
hold = {{ probability = {hold}, duration = {{ exponential = "20s" }} }}
transfer = {{ probability = {transfer}, duration = {{ exponential = "30s" }} }}

[leads]
count = 10

[pacing]
strategy = "progressive"
"#,
        agents = config.agents,
        answer_after = config.agent_answer_after,
        no_answer = config.agent_no_answer,
        decline = config.agent_decline,
        max_size = config
            .max_size
            .map_or(String::new(), |n| format!("max_size = {n}")),
        max_wait = config
            .max_wait
            .map_or(String::new(), |s| format!("max_wait = \"{s}s\"")),
        hold = config.hold,
        transfer = config.transfer,
    );
    if let Some((at, count)) = config.logout_at {
        text.push_str(&format!(
            "\n[[timeline]]\nat = \"{at}s\"\nlogout_agents = {count}\n\n[[timeline]]\nat = \"{}s\"\nlogin_agents = {count}\n",
            at * 2
        ));
    }
    Scenario::from_toml("model-props.toml", &text, &[]).unwrap_or_else(|e| panic!("{e}"))
}

#[derive(Clone, Debug)]
enum Command {
    Dial,
    Hangup(usize),
    Advance(u8),
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => Just(Command::Dial),
        1 => (0usize..64).prop_map(Command::Hangup),
        6 => (1u8..6).prop_map(Command::Advance),
    ]
}

struct Harness {
    model: SimSwitchModel,
    calendar: Calendar<SwitchItem>,
    keys: Vec<CallKey>,
    terminated: BTreeMap<AttemptId, u32>,
}

impl Harness {
    fn absorb(&mut self, mut step: Step) -> Result<(), TestCaseError> {
        for (at, item) in step.schedule.drain(..) {
            self.calendar.schedule_item(at, item);
        }
        for batch in step.batches.drain(..) {
            for event in &batch.events {
                if let SwitchEvent::State(note) = event
                    && note.state == CallStatus::Terminated
                {
                    *self.terminated.entry(batch.attempt).or_default() += 1;
                }
            }
        }
        if let Err(problem) = self.model.check_invariants() {
            return Err(TestCaseError::fail(problem));
        }
        Ok(())
    }

    fn advance(&mut self, steps: u8) -> Result<bool, TestCaseError> {
        for _ in 0..steps {
            let Some((at, due)) = self.calendar.pop() else {
                return Ok(false);
            };
            if let Due::Item(item) = due {
                let mut step = Step::default();
                self.model.handle(item, at, &mut step);
                self.absorb(step)?;
            }
        }
        Ok(true)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn agents_are_conserved_and_every_call_ends_once(
        config in config(),
        seed in any::<u64>(),
        commands in prop::collection::vec(command(), 1..80),
    ) {
        let scenario = scenario(&config);
        let mut harness = Harness {
            model: SimSwitchModel::new(&scenario, seed),
            calendar: Calendar::new(),
            keys: Vec::new(),
            terminated: BTreeMap::new(),
        };
        let mut step = Step::default();
        harness.model.start(SimTime::ZERO, &mut step);
        harness.absorb(step)?;
        for command in commands {
            match command {
                Command::Dial => {
                    let attempt = AttemptId(harness.keys.len() as u64 + 1);
                    let number = PhoneNumber(format!("+1555{}", attempt.0 % 7).into());
                    let mut step = Step::default();
                    let now = harness.calendar.now();
                    let key = harness.model.originate(now, attempt, &number, SimDuration::from_secs(25), &mut step);
                    harness.keys.push(key);
                    harness.absorb(step)?;
                }
                Command::Hangup(index) => {
                    if let Some(&key) = harness.keys.get(index) {
                        let mut step = Step::default();
                        let now = harness.calendar.now();
                        harness.model.hangup(now, key, &mut step);
                        harness.absorb(step)?;
                    }
                }
                Command::Advance(steps) => {
                    harness.advance(steps)?;
                }
            }
        }
        // Run the world out: every call must finish.
        while harness.advance(50)? {}
        let attempts = harness.keys.len() as u64;
        prop_assert_eq!(harness.model.live_calls(), 0);
        let truth = harness.model.truth();
        prop_assert_eq!(truth.tally.attempts, attempts);
        prop_assert_eq!(truth.outcomes.iter().sum::<u64>(), attempts, "one true outcome per call");
        prop_assert_eq!(truth.tally.answered, truth.tally.connected + truth.tally.abandoned());
        for index in 1..=attempts {
            prop_assert_eq!(
                harness.terminated.get(&AttemptId(index)).copied(),
                Some(1),
                "attempt {} must be told terminated exactly once",
                index
            );
        }
    }
}
