//! Memory per active call: how many heap bytes one call in progress costs the whole engine (its
//! actor and mailbox, the supervisor's table entry, the simulated switch's record and calendar
//! entries).
//!
//! Two runs differ only in how many calls are up at once: rate pacing with every callee letting
//! the phone ring to a long timeout keeps `rate × ring_timeout` calls dialing. The growth of peak
//! heap between them, divided by the growth in concurrent calls, is the cost per active call.
//!
//! Run: `cargo bench --bench memory_per_call`.

use dialer::scenario::Scenario;
use dialer::sim::switch::Quiescence;
use dialer::trace::TraceSink;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak heap bytes of a run where about `concurrent` calls are up at once.
fn peak_bytes(concurrent: u64) -> usize {
    let ring_timeout_s = 600;
    let rate_per_minute = concurrent as f64 * 60.0 / ring_timeout_s as f64;
    let text = format!(
        r#"
[scenario]
name = "memory"

[agents]
count = 10

[callees]
patience = "30s"
talk = "60s"
no_answer = {{ probability = 1.0 }}

[dialing]
ring_timeout = "{ring_timeout_s}s"
max_attempts = {attempts}

[pacing]
strategy = "rate"
rate_per_minute = {rate_per_minute}
tick = "0s"
"#,
        attempts = concurrent * 3,
    );
    let scenario = Scenario::from_toml("memory.toml", &text, &[]).expect("valid scenario");
    LIVE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    let before = LIVE.load(Ordering::Relaxed);
    let run = dialer::runtime::simulate(
        &scenario,
        1,
        TraceSink::hashing_only(),
        Quiescence::MailCount,
    )
    .expect("runs");
    assert_eq!(
        run.outcome.engine.expect("finishes").tally.attempts,
        concurrent * 3
    );
    PEAK.load(Ordering::Relaxed) - before
}

fn main() {
    // Criterion passes `--bench`; nothing to parse.
    let small = 1_000;
    let large = 20_000;
    let peak_small = peak_bytes(small);
    let peak_large = peak_bytes(large);
    let per_call = (peak_large - peak_small) as f64 / (large - small) as f64;
    println!("peak heap with ~{small} calls up: {peak_small} bytes");
    println!("peak heap with ~{large} calls up: {peak_large} bytes");
    println!("memory per active call: {per_call:.0} bytes");
}
