//! Sweep speed and its scaling with threads: a 4-setting × 5-seed sweep of
//! `scenarios/default.toml` (a 50-agent, 8-hour day) on 1 and on 2 worker threads.
//!
//! The full-size target (20 settings × 50 seeds in under 60 s on 2 cores) is timed on
//! the command line; see BENCHMARKS.md.
//!
//! Run: `cargo bench --bench sweep_throughput`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dialer::sweep::run::JobPlan;
use dialer::sweep::{Axis, Constraints, SweepSpec};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

#[global_allocator]
static ALLOCATOR: dialer::allocator::Allocator = dialer::allocator::Allocator;

fn sweep_throughput(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.toml");
    let text = std::fs::read_to_string(&path).expect("default.toml");
    let axes = vec![Axis::parse("pacing.ratio=1.5,2,2.5,3").expect("axis")];
    let (spec, scenarios) = SweepSpec::build(
        "default.toml",
        &text,
        vec![],
        axes,
        1,
        5,
        Constraints::default(),
    )
    .expect("valid sweep");
    let done = BTreeSet::new();
    let stop = AtomicBool::new(false);
    let mut group = c.benchmark_group("sweep_throughput");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(spec.job_count() as u64));
    for threads in [1, 2] {
        let plan = JobPlan {
            spec: &spec,
            scenarios: &scenarios,
            threads,
            shard: None,
            done: &done,
            stop: &stop,
        };
        group.bench_function(format!("4x5 default.toml, {threads} thread(s)"), |b| {
            b.iter(|| {
                let (results, failure) = plan.run(|_| {});
                assert!(failure.is_none());
                results.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sweep_throughput);
criterion_main!(benches);
