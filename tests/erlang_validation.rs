//! The simulator against queueing theory.
//!
//! Rate pacing with answer probability 1 and no ring time makes answered calls reach the queue
//! as a Poisson stream; with exponential talk (and exponential patience) the queue is M/M/c
//! (M/M/c+M), whose waiting probability, abandon probability and mean wait are Erlang C (Erlang
//! A). Each configuration runs as independent replications; the closed-form value must lie
//! within four standard errors of the replication mean (about a 1-in-15,000 chance of a false
//! alarm per check), and within a small relative distance, so that a biased simulator fails.
//!
//! Besides the published textbook case, configurations are drawn at random from a fixed seed,
//! so they are not hand-picked to pass.

use crate::support::{mean_and_half_width, parallel, run};
use dialer::erlang;
use dialer::scenario::Scenario;
use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};

const REPLICATIONS: u64 = 8;
const ARRIVALS_PER_REPLICATION: u64 = 40_000;

#[derive(Clone, Copy, Debug)]
struct Queue {
    agents: u32,
    /// Calls per second.
    arrival_rate: f64,
    mean_talk: f64,
    /// `None`: callers never give up (Erlang C).
    mean_patience: Option<f64>,
}

fn scenario(queue: Queue) -> Scenario {
    let patience = match queue.mean_patience {
        Some(mean) => format!("{{ exponential = \"{mean}s\" }}"),
        // A constant far beyond any wait: nobody gives up.
        None => "\"1000h\"".to_string(),
    };
    let text = format!(
        r#"
[scenario]
name = "erlang"

[agents]
count = {agents}

[callees]
patience = {patience}
talk = {{ exponential = "{talk}s" }}
answer = {{ probability = 1.0, after = "0s" }}

[dialing]
max_attempts = {attempts}

[pacing]
strategy = "rate"
rate_per_minute = {rate}
tick = "0s"
assumed_wrap_up = "0s"
"#,
        agents = queue.agents,
        talk = queue.mean_talk,
        attempts = ARRIVALS_PER_REPLICATION,
        rate = queue.arrival_rate * 60.0,
    );
    Scenario::from_toml("erlang.toml", &text, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// Replication results: (P(wait), P(abandon), E[W] in seconds, occupancy).
fn simulate(queue: Queue) -> Vec<(f64, f64, f64, f64)> {
    let scenario = scenario(queue);
    parallel((1..=REPLICATIONS).collect(), |seed| {
        let report = run(&scenario, seed);
        let truth = &report.truth.rates;
        // No limitation in play: the dialer's view is the truth.
        assert_eq!(report.abandoned, truth.abandoned);
        (
            truth.delayed_share,
            truth.abandon_rate,
            truth.mean_wait_all_ms / 1000.0,
            truth.agent_occupancy,
        )
    })
}

fn check(name: &str, queue: Queue, values: &[f64], expected: f64, relative: f64) {
    let (mean, half_width) = mean_and_half_width(values);
    let standard_error = half_width / 2.365; // t(0.975, 7) for eight replications
    let off = (mean - expected).abs();
    assert!(
        off <= 4.0 * standard_error + 1e-9 && off <= relative * expected.abs() + 1e-4,
        "{name} for {queue:?}: simulated {mean:.5} ± {half_width:.5} (95%), theory {expected:.5}"
    );
}

fn validate(queue: Queue) {
    let results = simulate(queue);
    let column = |index: usize| -> Vec<f64> {
        results
            .iter()
            .map(|r| [r.0, r.1, r.2, r.3][index])
            .collect()
    };
    match queue.mean_patience {
        Some(patience) => {
            let theory =
                erlang::erlang_a(queue.agents, queue.arrival_rate, queue.mean_talk, patience)
                    .expect("a valid Erlang A configuration");
            check("P(wait)", queue, &column(0), theory.prob_wait, 0.05);
            check("P(abandon)", queue, &column(1), theory.prob_abandon, 0.08);
            check("E[W]", queue, &column(2), theory.mean_wait, 0.08);
            check("occupancy", queue, &column(3), theory.occupancy, 0.02);
        }
        None => {
            let theory = erlang::mmc(queue.agents, queue.arrival_rate, queue.mean_talk)
                .expect("a stable M/M/c configuration");
            check("P(wait)", queue, &column(0), theory.prob_wait, 0.05);
            check("E[W]", queue, &column(2), theory.mean_wait, 0.10);
            check("occupancy", queue, &column(3), theory.occupancy, 0.02);
            let abandoned: f64 = column(1).iter().sum();
            assert_eq!(abandoned, 0.0, "nobody gives up in M/M/c");
        }
    }
}

#[test]
fn erlang_c_textbook_case() {
    // λ = 3.5/min, 3-minute calls, 13 agents: C = 0.3688, E[W] = 26.56 s.
    validate(Queue {
        agents: 13,
        arrival_rate: 3.5 / 60.0,
        mean_talk: 180.0,
        mean_patience: None,
    });
}

#[test]
fn erlang_a_textbook_cases() {
    for patience in [60.0, 180.0] {
        validate(Queue {
            agents: 13,
            arrival_rate: 3.5 / 60.0,
            mean_talk: 180.0,
            mean_patience: Some(patience),
        });
    }
}

#[test]
fn randomly_drawn_queues_match_erlang_a_and_c() {
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_123);
    let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    for round in 0..3 {
        let agents = 5 + (unit() * 35.0) as u32;
        let mean_talk = 60.0 + unit() * 240.0;
        let utilisation = 0.75 + unit() * 0.17;
        let arrival_rate = utilisation * f64::from(agents) / mean_talk;
        let mean_patience = if round == 0 {
            None
        } else {
            Some(20.0 + unit() * 280.0)
        };
        validate(Queue {
            agents,
            arrival_rate,
            mean_talk,
            mean_patience,
        });
    }
}
