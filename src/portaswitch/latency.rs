//! A latency histogram with fixed buckets and atomic counters, for PortaSwitch API requests.
//!
//! Recording is one atomic add per bucket boundary crossed plus two for the count and sum, from
//! any thread, without locks. The buckets are Prometheus's defaults (5 ms to 10 s); the console
//! renders them as a Prometheus histogram.
//!
//! Counting only; the caller measures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in microseconds (Prometheus's default buckets).
pub const BUCKET_BOUNDS_US: [u64; 11] = [
    5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
    10_000_000,
];

/// Request latencies: counts per bucket (not cumulative), total count and sum.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; BUCKET_BOUNDS_US.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

/// A plain copy of a [`LatencyHistogram`], with cumulative bucket counts as Prometheus wants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencySnapshot {
    /// `(upper bound in µs, requests at or below it)`, cumulative.
    pub cumulative: Vec<(u64, u64)>,
    pub count: u64,
    pub sum_us: u64,
}

impl LatencyHistogram {
    pub fn record(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        if let Some(index) = BUCKET_BOUNDS_US.iter().position(|bound| micros <= *bound) {
            self.buckets[index].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> LatencySnapshot {
        let mut running = 0;
        let cumulative = BUCKET_BOUNDS_US
            .iter()
            .zip(&self.buckets)
            .map(|(bound, bucket)| {
                running += bucket.load(Ordering::Relaxed);
                (*bound, running)
            })
            .collect();
        LatencySnapshot {
            cumulative,
            count: self.count.load(Ordering::Relaxed),
            sum_us: self.sum_us.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_slow_requests_count_only_in_the_total() {
        let histogram = LatencyHistogram::default();
        histogram.record(Duration::from_millis(3));
        histogram.record(Duration::from_millis(5));
        histogram.record(Duration::from_millis(70));
        histogram.record(Duration::from_secs(30));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 4);
        assert_eq!(snapshot.sum_us, 3_000 + 5_000 + 70_000 + 30_000_000);
        assert_eq!(snapshot.cumulative[0], (5_000, 2));
        assert_eq!(snapshot.cumulative[3], (50_000, 2));
        assert_eq!(snapshot.cumulative[4], (100_000, 3));
        assert_eq!(snapshot.cumulative.last(), Some(&(10_000_000, 3)));
    }
}
