//! Simulation speed: attempts per wall-clock second on the reference workload
//! (`scenarios/bench-power.toml`) and on a 200-agent 8-hour day (`scenarios/bench-200x8h.toml`),
//! with the independent plain event loop on the same reference workload beside them.
//!
//! Run: `cargo bench --bench sim_throughput`. Criterion reports time per run; with
//! `Throughput::Elements(attempts)` it also reports attempts per second.
//!
//! With `SIM_THROUGHPUT_TRAIN` set it benchmarks nothing: it runs the training scenarios of
//! `scripts/pgo-build` (every scenario but the two benchmark files, seeds 1 and 2) and exits.
//! An instrumented build of this bench needs its own profile, because its copy of the library
//! is a separate build whose functions have other symbol names than the `dialer` binary's.

use criterion::{Criterion, Throughput, criterion_group};
use dialer::scenario::Scenario;
use dialer::sim::switch::Quiescence;
use dialer::trace::TraceSink;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

#[path = "../tests/support/plain_loop.rs"]
#[allow(dead_code)]
mod plain_loop;

#[global_allocator]
static ALLOCATOR: dialer::allocator::Allocator = dialer::allocator::Allocator;

fn load(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    Scenario::load(&path, &[]).unwrap_or_else(|error| panic!("{error}"))
}

fn attempts_of(scenario: &Scenario) -> u64 {
    let run = dialer::runtime::simulate(
        scenario,
        scenario.seed,
        TraceSink::hashing_only(),
        Quiescence::MailCount,
    )
    .expect("the benchmark scenario runs");
    run.outcome
        .engine
        .expect("the campaign finishes")
        .tally
        .attempts
}

fn sim_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("sim_throughput");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .warm_up_time(Duration::from_secs(2));
    for name in ["bench-power.toml", "bench-200x8h.toml"] {
        let scenario = load(name);
        group.throughput(Throughput::Elements(attempts_of(&scenario)));
        group.bench_function(name.trim_end_matches(".toml"), |b| {
            b.iter(|| {
                let run = dialer::runtime::simulate(
                    black_box(&scenario),
                    scenario.seed,
                    TraceSink::hashing_only(),
                    Quiescence::MailCount,
                )
                .expect("runs");
                black_box(run.trace_hash)
            })
        });
    }
    let config = plain_loop::PlainConfig::default();
    group.throughput(Throughput::Elements(config.attempts));
    group.bench_function("plain-event-loop (bench-power workload)", |b| {
        b.iter(|| black_box(plain_loop::run(black_box(config), 1)))
    });
    group.finish();
}

/// The training runs for a profile-guided build of this bench (see the module docs).
fn train() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("the scenarios directory")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".toml") && !name.starts_with("bench-"))
        .collect();
    names.sort();
    for name in &names {
        let scenario = load(name);
        for seed in [1, 2] {
            dialer::runtime::simulate(
                &scenario,
                seed,
                TraceSink::hashing_only(),
                Quiescence::MailCount,
            )
            .unwrap_or_else(|error| panic!("{name} seed {seed}: {error}"));
        }
    }
    println!("trained on {} runs", names.len() * 2);
}

criterion_group!(benches, sim_throughput);

fn main() {
    if std::env::var_os("SIM_THROUGHPUT_TRAIN").is_some() {
        train();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
