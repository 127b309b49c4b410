//! Bad days: injected faults and drift never lose a call or break an invariant.
//!
//! `scenarios/chaos.toml` turns every fault on; property tests generate small scenarios with
//! random faults and run the whole engine on them. In every run each attempt ends with exactly
//! one outcome, the end-of-run invariants hold, and the dialer's view is compared attempt by
//! attempt with the truth.

use crate::support::{load, parallel, scenario_path};
use dialer::report::RunReport;
use dialer::runtime::simulate;
use dialer::scenario::Scenario;
use dialer::sim::switch::{Quiescence, RunStatus};
use dialer::trace::TraceSink;
use proptest::prelude::*;

fn run_full(scenario: &Scenario, seed: u64) -> (RunReport, dialer::runtime::SimulationRun) {
    let run = simulate(
        scenario,
        seed,
        TraceSink::hashing_only(),
        Quiescence::MailCount,
    )
    .unwrap_or_else(|error| panic!("simulation failed: {error}"));
    (RunReport::build(scenario, seed, &run), run)
}

fn assert_sound(report: &RunReport, what: &str) {
    assert!(
        report.invariants.ok,
        "{what}: invariants violated: {:?}",
        report.invariants.checks
    );
    assert_eq!(report.outcomes.total(), report.attempts, "{what}");
    assert_eq!(
        report.truth.outcomes.total(),
        report.truth.rates.attempts,
        "{what}"
    );
    assert_eq!(report.calls_still_up, 0, "{what}");
}

#[test]
fn the_chaos_day_keeps_every_invariant_on_many_seeds() {
    let scenario = load(&scenario_path("chaos.toml"), &[]);
    let seeds: Vec<u64> = (1..=8).collect();
    let runs = parallel(seeds.clone(), |seed| run_full(&scenario, seed));
    let mut faults_seen = std::collections::BTreeSet::new();
    for (seed, (report, run)) in seeds.iter().zip(&runs) {
        assert_eq!(report.status, RunStatus::Completed, "seed {seed}");
        assert_sound(report, &format!("chaos seed {seed}"));
        let truth = &run.outcome.truth;
        if truth.sudden_logouts > 0 {
            faults_seen.insert("sudden_logout");
        }
        if truth.agent_no_shows > 0 {
            faults_seen.insert("no_show");
        }
        if truth.machines_passed_as_persons > 0 {
            faults_seen.insert("machine_as_person");
        }
        if truth.persons_taken_for_machines > 0 {
            faults_seen.insert("person_as_machine");
        }
        let anomalies = &report.anomalies;
        if anomalies.duplicate > 0 {
            faults_seen.insert("duplicate_noticed");
        }
        if anomalies.out_of_order > 0 {
            faults_seen.insert("reorder_noticed");
        }
        if anomalies.unknown_call > 0 {
            faults_seen.insert("orphan_noticed");
        }
        // Faults make the two views differ, and the difference is counted, not hidden.
        assert!(report.invariants.engine_vs_truth.attempts_compared == report.attempts);
    }
    for expected in [
        "sudden_logout",
        "no_show",
        "machine_as_person",
        "person_as_machine",
        "duplicate_noticed",
        "reorder_noticed",
        "orphan_noticed",
    ] {
        assert!(
            faults_seen.contains(expected),
            "no {expected} in 8 chaos days"
        );
    }
}

#[test]
fn a_tampered_run_fails_its_checks() {
    let scenario = load(&scenario_path("small.toml"), &[]);
    let (report, mut run) = run_full(&scenario, 3);
    assert!(report.invariants.ok);
    let engine = run.outcome.engine.as_mut().expect("finished");
    engine.outcomes_recorded_twice = 1;
    engine.leads.done += 1;
    run.outcome.truth.offers_to_busy_agents = 2;
    engine.pacing_counters.guard_exceeded = 1;
    let checked = dialer::invariants::check_run(&run);
    assert!(!checked.ok);
    let violations = checked.violations();
    for name in [
        "one_outcome_per_attempt",
        "one_state_per_lead",
        "no_agent_given_two_calls",
        "abandon_guard_never_exceeded",
    ] {
        assert!(violations.contains(&name), "{violations:?}");
    }
}

/// An over-eager fixed ratio on the chaos day: the guard must engage, and no decision may dial
/// beyond progressive while it holds.
#[test]
fn the_abandon_guard_holds_an_over_eager_ratio_on_a_bad_day() {
    let overrides = [
        "pacing.ratio=4.0".to_string(),
        "pacing.abandon.guard=true".to_string(),
    ];
    let scenario = load(&scenario_path("chaos.toml"), &overrides);
    for seed in 1..=3 {
        let (report, run) = run_full(&scenario, seed);
        let counters = run
            .outcome
            .engine
            .as_ref()
            .expect("finished")
            .pacing_counters;
        assert!(
            counters.guard_fallbacks > 0,
            "seed {seed}: the guard never engaged"
        );
        assert_eq!(counters.guard_exceeded, 0, "seed {seed}");
        assert!(
            report.invariants.ok,
            "seed {seed}: {:?}",
            report.invariants.violations()
        );
    }
}

#[test]
fn the_fake_switch_takes_its_delivery_faults_from_the_world_scenario() {
    let scenario = load(&scenario_path("chaos.toml"), &[]);
    let config = dialer::fake_switch::FakeConfig::for_scenario(scenario.clone(), 10.0);
    assert_eq!(config.faults.drop_callbacks, scenario.faults.drop_callbacks);
    assert_eq!(config.faults.late_callbacks, scenario.faults.late_callbacks);
    assert_eq!(config.faults.fault_rate, scenario.faults.originate_errors);
    assert_eq!(
        config.faults.fault_methods,
        vec!["CallControl/originate_advanced_call".to_string()]
    );
}

/// A small random day with random faults, as scenario text.
fn random_day() -> impl Strategy<Value = String> {
    (
        (1u32..6, 10u32..50, 0.05f64..0.6, 0u8..3),
        (0.0f64..0.2, 0.0f64..0.2, 0.0f64..0.2, 0.0f64..0.2),
        (0.0f64..0.1, 0.0f64..0.1, 0.0f64..0.3, 0.0f64..2.0),
        (0.0f64..0.3, 0.0f64..0.2, 0.0f64..0.15, any::<bool>()),
    )
        .prop_map(
            |(
                (agents, leads, answer, strategy),
                (drop, duplicate, reorder, late),
                (errors, timeouts, no_shows, logouts),
                (machine_as_person, person_as_machine, agent_miss, reconcile),
            )| {
                let pacing = match strategy {
                    0 => "strategy = \"progressive\"".to_string(),
                    1 => "strategy = \"power\"\nratio = 2.0".to_string(),
                    _ => "strategy = \"rate\"\nrate_per_minute = 6.0".to_string(),
                };
                let rest = 1.0 - answer;
                let reconcile = if reconcile {
                    "[reconcile]\ninterval = \"30s\"\n"
                } else {
                    ""
                };
                format!(
                    r#"
[scenario]
name = "random"
[agents]
count = {agents}
answer_after = {{ uniform = ["0s", "3s"] }}
wrap_up = "5s"
no_answer = {agent_miss}
[queue]
max_wait = "2m"
[callees]
ringing_after = {{ uniform = ["0s", "3s"] }}
patience = {{ exponential = "30s" }}
talk = {{ exponential = "60s" }}
answer = {{ probability = {answer}, after = {{ uniform = ["2s", "10s"] }} }}
no_answer = {{ probability = {no_answer} }}
busy = {{ probability = {busy}, after = "3s" }}
machine = {{ probability = {machine}, after = "6s", detect = "2s" }}
[dialing]
ring_timeout = "20s"
[leads]
count = {leads}
[redial.no_answer]
delay = "5m"
max_attempts = 2
[pacing]
{pacing}
{reconcile}
[faults]
originate_errors = {errors}
originate_timeouts = {timeouts}
drop_callbacks = {drop}
duplicate_callbacks = {duplicate}
reorder_callbacks = {reorder}
late_callbacks = {late}
agent_no_shows = {no_shows}
agent_logouts_per_hour = {logouts}
answer_drift = {{ every = "5m", sd = 0.05 }}
machine_as_person = {machine_as_person}
person_as_machine = {person_as_machine}
"#,
                    no_answer = rest * 0.5,
                    busy = rest * 0.25,
                    machine = rest * 0.25,
                )
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_bad_days_lose_no_call(text in random_day(), seed in 1u64..1_000) {
        let scenario = Scenario::from_toml("random.toml", &text, &[])
            .unwrap_or_else(|error| panic!("{error}\n{text}"));
        let (report, _) = run_full(&scenario, seed);
        prop_assert!(
            matches!(report.status, RunStatus::Completed),
            "status {:?}", report.status
        );
        prop_assert!(report.invariants.ok, "{:?}\n{}", report.invariants.checks, text);
        prop_assert_eq!(report.outcomes.total(), report.attempts);
        prop_assert_eq!(report.calls_still_up, 0);
        // The same day twice is the same day.
        let (again, _) = run_full(&scenario, seed);
        prop_assert_eq!(&again.trace_hash, &report.trace_hash);
    }
}
