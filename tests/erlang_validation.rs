//! The simulator against queueing theory.
//!
//! Rate pacing with answer probability 1 and no ring time makes answered calls reach the queue
//! as a Poisson stream; with exponential talk (and exponential patience) the queue is M/M/c
//! (M/M/c+M), whose waiting probability, wait distribution, abandon probability and mean wait
//! are Erlang C (Erlang A). Each configuration runs as independent replications (one seed
//! each). Every closed-form value must lie inside its simulated 95% confidence interval
//! (Student t over the replications), made simultaneous for all the checks of one test by
//! Bonferroni (each interval at 1 − 0.05/k), so a correct simulator fails a test at most 5% of
//! the time on fresh parameters; and within a small relative distance, so that a biased
//! simulator cannot hide behind a wide interval.
//!
//! Checked: for Erlang C, P(W > 0), E[W], occupancy and P(W > t) (through the dialer's own
//! compliance-abandon accounting with threshold t); for Erlang A, P(wait), P(abandon), E[W] and
//! occupancy. Cases: the published one (λ = 3.5/min, 3-minute talk, 13 agents: E[W] = 26.56 s;
//! with mean patience 60 s P(ab) = 0.0615, with 180 s P(ab) = 0.0418) and configurations drawn
//! at random from a seed, so they are not hand-picked to pass.
//!
//! Each replication starts empty and dials for a fixed time (about 40,000 or 100,000 calls);
//! occupancy is measured by flow balance (the talk of every call that arrived, over the agents'
//! time while calls arrived), so neither the empty start nor the drain at the end biases it.
//!
//! Light variants run always (8 replications of 40,000 calls). Heavy variants are `#[ignore]`d:
//! `cargo test --release --test tests erlang -- --ignored` (24 replications of 100,000 calls,
//! more and larger random configurations). Other parameters without editing code:
//! `DIALER_ERLANG_SEED=N` draws other random configurations, and
//! `DIALER_ERLANG_CASES="agents:calls_per_minute:mean_talk_s[:mean_patience_s];..."` runs given
//! cases (in `explicit_cases_from_the_environment`).

use crate::support::parallel;
use dialer::erlang;
use dialer::scenario::Scenario;
use dialer::stats::mean_and_half_width_at;
use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};

/// How many replications of how many calls.
#[derive(Clone, Copy, Debug)]
struct Effort {
    replications: u64,
    arrivals: u64,
}

const LIGHT: Effort = Effort {
    replications: 8,
    arrivals: 40_000,
};

const HEAVY: Effort = Effort {
    replications: 24,
    arrivals: 100_000,
};

/// The compliance threshold used to check P(W > t) for Erlang C, in seconds.
const WAIT_THRESHOLD: f64 = 20.0;

#[derive(Clone, Copy, Debug)]
struct Queue {
    agents: u32,
    /// Calls per second.
    arrival_rate: f64,
    mean_talk: f64,
    /// `None`: callers never give up (Erlang C).
    mean_patience: Option<f64>,
}

fn scenario(queue: Queue, effort: Effort) -> Scenario {
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
dial_until = "{dial_seconds}s"

[pacing]
strategy = "rate"
rate_per_minute = {rate}
tick = "0s"
assumed_wrap_up = "0s"

[pacing.abandon]
threshold = "{threshold}s"
"#,
        agents = queue.agents,
        talk = queue.mean_talk,
        dial_seconds = dialing_seconds(queue, effort),
        rate = queue.arrival_rate * 60.0,
        threshold = WAIT_THRESHOLD,
    );
    Scenario::from_toml("erlang.toml", &text, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// One replication's measurements.
#[derive(Clone, Copy, Debug)]
struct Measured {
    prob_wait: f64,
    prob_abandon: f64,
    mean_wait: f64,
    /// Carried load per agent: talk time of the calls that arrived, over agent time while they
    /// arrived.
    occupancy: f64,
    /// Share of answered calls not connected within [`WAIT_THRESHOLD`], from the dialer's
    /// compliance-abandon accounting.
    wait_exceeds: f64,
}

/// Calls arrive for this long, so that about `effort.arrivals` arrive.
fn dialing_seconds(queue: Queue, effort: Effort) -> f64 {
    (effort.arrivals as f64 / queue.arrival_rate).round()
}

fn simulate(queue: Queue, effort: Effort) -> Vec<Measured> {
    let scenario = scenario(queue, effort);
    let dialing = dialing_seconds(queue, effort);
    parallel((1..=effort.replications).collect(), |seed| {
        let report = crate::support::run(&scenario, seed);
        let truth = &report.truth.rates;
        // No limitation in play: the dialer's view is the truth.
        assert_eq!(report.abandoned, truth.abandoned);
        let compliance = report.compliance.expect("a campaign report");
        Measured {
            prob_wait: truth.delayed_share,
            prob_abandon: truth.abandon_rate,
            mean_wait: truth.mean_wait_all_ms / 1000.0,
            // Every call that arrived while dialing was open, over the agents' time while it
            // was: unbiased by the empty start and the drain after the last call (flow balance).
            occupancy: truth.talk_seconds / (f64::from(queue.agents) * dialing),
            wait_exceeds: compliance.compliance_abandon_rate,
        }
    })
}

/// One closed-form value against one measured column.
struct Check {
    name: &'static str,
    values: Vec<f64>,
    theory: f64,
    /// The largest relative distance tolerated whatever the interval.
    relative: f64,
}

/// Asserts every check: inside its simultaneous 95% interval and within its relative bound.
fn assert_all(queue: Queue, checks: &[Check], family_size: usize) {
    let level = 1.0 - 0.05 / family_size as f64;
    for check in checks {
        let (mean, half_width) = mean_and_half_width_at(&check.values, level);
        let off = (mean - check.theory).abs();
        assert!(
            off <= half_width + 1e-12 && off <= check.relative * check.theory.abs() + 1e-4,
            "{} for {queue:?}: simulated {mean:.5} ± {half_width:.5} ({:.2}% interval), theory {:.5}",
            check.name,
            level * 100.0,
            check.theory
        );
    }
}

/// The checks for one queue.
fn checks_for(queue: Queue, effort: Effort) -> Vec<Check> {
    let results = simulate(queue, effort);
    let column = |pick: fn(&Measured) -> f64| results.iter().map(pick).collect::<Vec<f64>>();
    match queue.mean_patience {
        Some(patience) => {
            let theory =
                erlang::erlang_a(queue.agents, queue.arrival_rate, queue.mean_talk, patience)
                    .expect("a valid Erlang A configuration");
            vec![
                Check {
                    name: "P(wait)",
                    values: column(|m| m.prob_wait),
                    theory: theory.prob_wait,
                    relative: 0.05,
                },
                Check {
                    name: "P(abandon)",
                    values: column(|m| m.prob_abandon),
                    theory: theory.prob_abandon,
                    relative: 0.08,
                },
                Check {
                    name: "E[W]",
                    values: column(|m| m.mean_wait),
                    theory: theory.mean_wait,
                    relative: 0.08,
                },
                Check {
                    name: "occupancy",
                    values: column(|m| m.occupancy),
                    theory: theory.occupancy,
                    relative: 0.02,
                },
            ]
        }
        None => {
            let theory = erlang::mmc(queue.agents, queue.arrival_rate, queue.mean_talk)
                .expect("a stable M/M/c configuration");
            let exceeds = erlang::mmc_prob_wait_exceeds(
                queue.agents,
                queue.arrival_rate,
                queue.mean_talk,
                WAIT_THRESHOLD,
            )
            .expect("a stable M/M/c configuration");
            let abandoned: f64 = column(|m| m.prob_abandon).iter().sum();
            assert_eq!(abandoned, 0.0, "nobody gives up in M/M/c");
            vec![
                Check {
                    name: "P(W > 0)",
                    values: column(|m| m.prob_wait),
                    theory: theory.prob_wait,
                    relative: 0.05,
                },
                Check {
                    name: "E[W]",
                    values: column(|m| m.mean_wait),
                    theory: theory.mean_wait,
                    relative: 0.10,
                },
                Check {
                    name: "occupancy",
                    values: column(|m| m.occupancy),
                    theory: theory.occupancy,
                    relative: 0.02,
                },
                Check {
                    name: "P(W > 20 s) (compliance abandons)",
                    values: column(|m| m.wait_exceeds),
                    theory: exceeds,
                    relative: 0.10,
                },
            ]
        }
    }
}

/// Validates all `queues` as one family of simultaneous intervals.
fn validate_all(queues: &[Queue], effort: Effort) {
    let per_queue: Vec<(Queue, Vec<Check>)> = queues
        .iter()
        .map(|queue| (*queue, checks_for(*queue, effort)))
        .collect();
    let family: usize = per_queue.iter().map(|(_, checks)| checks.len()).sum();
    for (queue, checks) in &per_queue {
        assert_all(*queue, checks, family);
    }
}

/// λ = 3.5/min, 3-minute calls, 13 agents.
fn textbook(mean_patience: Option<f64>) -> Queue {
    Queue {
        agents: 13,
        arrival_rate: 3.5 / 60.0,
        mean_talk: 180.0,
        mean_patience,
    }
}

#[test]
fn the_published_values_are_what_the_closed_forms_give() {
    let c = erlang::mmc(13, 3.5 / 60.0, 180.0).unwrap();
    assert!((c.prob_wait - 0.3688).abs() < 0.0005, "{c:?}");
    assert!((c.mean_wait - 26.56).abs() < 0.01, "{c:?}");
    let a60 = erlang::erlang_a(13, 3.5 / 60.0, 180.0, 60.0).unwrap();
    assert!((a60.prob_abandon - 0.0615).abs() < 0.0005, "{a60:?}");
    let a180 = erlang::erlang_a(13, 3.5 / 60.0, 180.0, 180.0).unwrap();
    assert!((a180.prob_abandon - 0.0418).abs() < 0.0005, "{a180:?}");
}

#[test]
fn erlang_c_textbook_case() {
    // C = 0.3688, E[W] = 26.56 s.
    validate_all(&[textbook(None)], LIGHT);
}

#[test]
fn erlang_a_textbook_cases() {
    // Patience 60 s: P(ab) = 0.0615; 180 s: P(ab) = 0.0418.
    validate_all(&[textbook(Some(60.0)), textbook(Some(180.0))], LIGHT);
}

/// Queues drawn at random: 5–40 agents, 1–5 minute talks, utilisation 75–92%, Erlang C for the
/// first and Erlang A (mean patience 20–300 s) for the rest.
fn random_queues(seed: u64, count: usize, max_agents: u32) -> Vec<Queue> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (0..count)
        .map(|round| {
            let agents = 5 + (unit() * f64::from(max_agents - 5)) as u32;
            let mean_talk = 60.0 + unit() * 240.0;
            let utilisation = 0.75 + unit() * 0.17;
            let arrival_rate = utilisation * f64::from(agents) / mean_talk;
            let mean_patience = (round != 0).then(|| 20.0 + unit() * 280.0);
            Queue {
                agents,
                arrival_rate,
                mean_talk,
                mean_patience,
            }
        })
        .collect()
}

fn random_seed() -> u64 {
    std::env::var("DIALER_ERLANG_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20_261_123)
}

#[test]
fn randomly_drawn_queues_match_erlang_a_and_c() {
    validate_all(&random_queues(random_seed(), 3, 40), LIGHT);
}

/// Cases from `DIALER_ERLANG_CASES`, e.g. `"13:3.5:180;13:3.5:180:60"`; nothing to do without it.
#[test]
fn explicit_cases_from_the_environment() {
    let Ok(text) = std::env::var("DIALER_ERLANG_CASES") else {
        return;
    };
    let queues: Vec<Queue> = text
        .split(';')
        .filter(|case| !case.trim().is_empty())
        .map(|case| {
            let numbers: Vec<f64> = case
                .split(':')
                .map(|n| {
                    n.trim()
                        .parse()
                        .unwrap_or_else(|_| panic!("bad case {case}"))
                })
                .collect();
            assert!(
                (3..=4).contains(&numbers.len()),
                "a case is agents:calls_per_minute:mean_talk_s[:mean_patience_s], got {case}"
            );
            Queue {
                agents: numbers[0] as u32,
                arrival_rate: numbers[1] / 60.0,
                mean_talk: numbers[2],
                mean_patience: numbers.get(3).copied(),
            }
        })
        .collect();
    validate_all(&queues, LIGHT);
}

#[test]
#[ignore = "heavy: cargo test --release --test tests erlang -- --ignored"]
fn heavy_textbook_cases() {
    validate_all(
        &[textbook(None), textbook(Some(60.0)), textbook(Some(180.0))],
        HEAVY,
    );
}

#[test]
#[ignore = "heavy: cargo test --release --test tests erlang -- --ignored"]
fn heavy_random_queues_up_to_200_agents() {
    validate_all(&random_queues(random_seed() ^ 0x5eed, 8, 200), HEAVY);
}
