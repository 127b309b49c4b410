//! The reference workload (benchmark-workload.md): `scenarios/bench-power.toml` must reproduce
//! the published occupancy and abandon figures, and agree with an independent plain event loop.

use crate::support::plain_loop::{self, PlainConfig};
use crate::support::{load, median, parallel, run, scenario_path};

const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

/// Median (occupancy, abandon rate) of the engine over `SEEDS`.
fn engine_medians(agents: u32, ratio: f64) -> (f64, f64) {
    let overrides = vec![
        format!("agents.count={agents}"),
        format!("pacing.ratio={ratio}"),
    ];
    let scenario = load(&scenario_path("bench-power.toml"), &overrides);
    let reports = parallel(SEEDS.to_vec(), |seed| run(&scenario, seed));
    for report in &reports {
        assert_eq!(report.attempts, 100_000);
        // Nothing in this workload hides calls from the dialer: its view is the truth.
        assert_eq!(report.connected, report.truth.rates.connected);
        assert_eq!(report.abandoned, report.truth.rates.abandoned);
        assert_eq!(report.anomalies.total, 0);
    }
    (
        median(reports.iter().map(|r| r.agent_occupancy).collect()),
        median(reports.iter().map(|r| r.abandon_rate).collect()),
    )
}

fn assert_cell(agents: u32, ratio: f64, known: (f64, f64), abandon_tolerance_pp: f64) {
    let (occupancy, abandon) = engine_medians(agents, ratio);
    assert!(
        (occupancy - known.0).abs() <= 0.01,
        "{agents} agents, ratio {ratio}: occupancy {occupancy:.4}, published {:.3}",
        known.0
    );
    assert!(
        (abandon - known.1).abs() * 100.0 <= abandon_tolerance_pp,
        "{agents} agents, ratio {ratio}: abandon {:.3}%, published {:.2}%",
        abandon * 100.0,
        known.1 * 100.0
    );
}

#[test]
fn ten_agents_ratio_two() {
    assert_cell(10, 2.0, (0.850, 0.039), 0.5);
}

#[test]
fn ten_agents_ratio_one_and_a_half() {
    assert_cell(10, 1.5, (0.827, 0.024), 0.5);
}

#[test]
fn fifty_agents_ratio_four() {
    assert_cell(50, 4.0, (0.898, 0.029), 0.3);
}

#[test]
fn two_hundred_agents_ratio_three() {
    assert_cell(200, 3.0, (0.858, 0.0005), 0.3);
}

#[test]
fn the_engine_agrees_with_a_plain_event_loop() {
    // The default workload (100 agents, ratio 2) has no published figure; an independent
    // implementation of the same spec stands in for one.
    let (occupancy, abandon) = engine_medians(100, 2.0);
    let plain: Vec<_> = SEEDS
        .iter()
        .map(|&seed| plain_loop::run(PlainConfig::default(), seed))
        .collect();
    let plain_occupancy = median(plain.iter().map(|r| r.occupancy).collect());
    let plain_abandon = median(plain.iter().map(|r| r.abandon_rate).collect());
    assert!(
        (occupancy - plain_occupancy).abs() <= 0.006,
        "engine {occupancy:.4} vs plain loop {plain_occupancy:.4}"
    );
    assert!(
        (abandon - plain_abandon).abs() <= 0.001,
        "engine {abandon:.5} vs plain loop {plain_abandon:.5}"
    );
}
