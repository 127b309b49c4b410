//! Counting what happened: answered, connected, abandoned, talk time, waits and agent time.
//!
//! [`Tally`] is filled twice in a simulation, once from what the engine observed and once from the
//! simulator's ground truth, and summarised the same way ([`RateSummary`]) so the two can be set
//! side by side. [`AgentTime`] integrates logged-in agents over time for occupancy.
//!
//! Definitions (the release note's statistic is `abandon_rate`):
//! - `answered`: calls a person answered (answering machines excluded);
//! - `connected`: answered calls that reached an agent;
//! - `abandoned` = `answered` − `connected`: answered calls that never reached an agent;
//! - `abandon_rate` = `abandoned` / `answered`;
//! - `agent_occupancy` = talk time / logged-in agent time;
//! - `wait_ms`: from answer until an agent answered, over connected calls;
//! - `delayed_share`: answered persons who did not reach an agent at once (they waited, or never
//!   got one), over answered; Erlang's P(wait);
//! - `mean_wait_all_ms`: time from answer until an agent answered or the person gave up, over
//!   all answered persons; Erlang's E\[W\].
//!
//! Also small statistics for replications: mean and Student-t confidence intervals.
//!
//! Pure accumulation and arithmetic; no clocks.

use crate::time::{SimDuration, SimTime};
use hdrhistogram::Histogram;
use serde::Serialize;

/// Waits are kept in milliseconds up to one day, to three significant figures.
const WAIT_HISTOGRAM_MAX_MS: u64 = 86_400_000;

/// Counts and sums for one view of a run (engine or truth).
#[derive(Clone, Debug)]
pub struct Tally {
    pub attempts: u64,
    pub answered: u64,
    pub connected: u64,
    pub talk: SimDuration,
    /// Answered persons who did not reach an agent at once.
    pub delayed: u64,
    wait_ms: Histogram<u64>,
    wait_total: SimDuration,
    /// Waiting time of every answered person, connected or not.
    wait_all_total: SimDuration,
}

impl Default for Tally {
    fn default() -> Self {
        Tally::new()
    }
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            attempts: 0,
            answered: 0,
            connected: 0,
            talk: SimDuration::ZERO,
            delayed: 0,
            wait_ms: Histogram::new_with_bounds(1, WAIT_HISTOGRAM_MAX_MS, 3)
                .expect("constant histogram bounds are valid"),
            wait_total: SimDuration::ZERO,
            wait_all_total: SimDuration::ZERO,
        }
    }

    /// A person answered and reached an agent after `wait`.
    pub fn record_connected(&mut self, wait: SimDuration) {
        self.answered += 1;
        self.connected += 1;
        let wait_ms = (wait.as_micros() / 1_000).min(WAIT_HISTOGRAM_MAX_MS);
        self.wait_ms.saturating_record(wait_ms);
        self.wait_total += wait;
        self.wait_all_total += wait;
        if !wait.is_zero() {
            self.delayed += 1;
        }
    }

    /// A person answered and never reached an agent, after waiting `waited`.
    pub fn record_abandoned(&mut self, waited: SimDuration) {
        self.answered += 1;
        self.delayed += 1;
        self.wait_all_total += waited;
    }

    pub fn add_talk(&mut self, talk: SimDuration) {
        self.talk += talk;
    }

    pub fn abandoned(&self) -> u64 {
        self.answered - self.connected
    }

    /// Connected persons who waited longer than `threshold` for their agent.
    pub fn connected_after(&self, threshold: SimDuration) -> u64 {
        let threshold_ms = threshold.as_micros() / 1_000;
        if threshold_ms >= self.wait_ms.max() {
            return 0;
        }
        self.wait_ms
            .count_between(threshold_ms + 1, self.wait_ms.max())
    }

    /// Connected persons' waits in buckets `bucket_ms` wide: `(lower bound ms, count)`, from
    /// zero up to the longest wait.
    pub fn wait_buckets(&self, bucket_ms: u64) -> Vec<(u64, u64)> {
        let bucket_ms = bucket_ms.max(1);
        let mut buckets = Vec::new();
        if self.wait_ms.is_empty() {
            return buckets;
        }
        let mut lower = 0;
        while lower <= self.wait_ms.max() {
            let upper = lower + bucket_ms - 1;
            buckets.push((lower, self.wait_ms.count_between(lower, upper)));
            lower += bucket_ms;
        }
        buckets
    }

    pub fn summary(&self, agent_time: SimDuration) -> RateSummary {
        let abandoned = self.abandoned();
        RateSummary {
            attempts: self.attempts,
            answered: self.answered,
            connected: self.connected,
            abandoned,
            abandon_rate: ratio(abandoned as f64, self.answered as f64),
            agent_occupancy: ratio(self.talk.as_secs_f64(), agent_time.as_secs_f64()),
            talk_seconds: self.talk.as_secs_f64(),
            agent_seconds: agent_time.as_secs_f64(),
            delayed_share: ratio(self.delayed as f64, self.answered as f64),
            mean_wait_all_ms: ratio(self.wait_all_total.as_millis_f64(), self.answered as f64),
            wait_ms: WaitSummary {
                count: self.wait_ms.len(),
                mean: ratio(self.wait_total.as_millis_f64(), self.connected as f64),
                p50: self.wait_ms.value_at_quantile(0.50),
                p90: self.wait_ms.value_at_quantile(0.90),
                p99: self.wait_ms.value_at_quantile(0.99),
                max: self.wait_ms.max(),
            },
        }
    }
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

/// Rates of one view of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RateSummary {
    pub attempts: u64,
    pub answered: u64,
    pub connected: u64,
    pub abandoned: u64,
    pub abandon_rate: f64,
    pub agent_occupancy: f64,
    pub talk_seconds: f64,
    pub agent_seconds: f64,
    pub delayed_share: f64,
    pub mean_wait_all_ms: f64,
    pub wait_ms: WaitSummary,
}

/// Wait for an agent, over connected calls, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WaitSummary {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

/// Logged-in agents integrated over time.
#[derive(Clone, Copy, Debug, Default)]
pub struct AgentTime {
    logged_in: u32,
    since: SimTime,
    /// Agent-microseconds up to `since`.
    total: u128,
}

impl AgentTime {
    pub fn set(&mut self, now: SimTime, logged_in: u32) {
        self.total += u128::from((now - self.since).as_micros()) * u128::from(self.logged_in);
        self.since = self.since.max(now);
        self.logged_in = logged_in;
    }

    pub fn logged_in(&self) -> u32 {
        self.logged_in
    }

    /// Agent time from the start up to `end`.
    pub fn until(&self, end: SimTime) -> SimDuration {
        let total =
            self.total + u128::from((end - self.since).as_micros()) * u128::from(self.logged_in);
        SimDuration(u64::try_from(total).unwrap_or(u64::MAX))
    }
}

/// A sample's mean and the half-width of its two-sided 95% confidence interval (Student's t).
/// The half-width is zero for fewer than two values.
pub fn mean_and_half_width(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, 0.0);
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (
        mean,
        student_t_975(n as u64 - 1) * (variance / n as f64).sqrt(),
    )
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom: tabulated up to 30, then the
/// Cornish-Fisher expansion (within 1e-4 of the exact value there).
pub fn student_t_975(df: u64) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df as usize - 1],
        _ => {
            let z: f64 = 1.959_963_984_540_054;
            let n = df as f64;
            let z3 = z.powi(3);
            let z5 = z.powi(5);
            let z7 = z.powi(7);
            z + (z3 + z) / (4.0 * n)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * n * n)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * n * n * n)
        }
    }
}

/// Like [`mean_and_half_width`] at any confidence `level` (0.95 for 95%; simultaneous intervals
/// need higher ones), with the exact Student t quantile for `n − 1` degrees of freedom.
pub fn mean_and_half_width_at(values: &[f64], level: f64) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, 0.0);
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = student_t_quantile(0.5 + level / 2.0, (n - 1) as f64);
    (mean, t * (variance / n as f64).sqrt())
}

/// The `p` quantile of Student's t distribution with `df` degrees of freedom (bisection on the
/// CDF; accurate to about 1e-10).
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p < 0.5 {
        return -student_t_quantile(1.0 - p, df);
    }
    let (mut low, mut high) = (0.0, 1.0);
    while student_t_cdf(high, df) < p {
        high *= 2.0;
        if high > 1e12 {
            return high;
        }
    }
    for _ in 0..200 {
        let middle = 0.5 * (low + high);
        if student_t_cdf(middle, df) < p {
            low = middle;
        } else {
            high = middle;
        }
        if high - low < 1e-12 * high.max(1.0) {
            break;
        }
    }
    0.5 * (low + high)
}

/// The CDF of Student's t distribution with `df` degrees of freedom.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * regularized_incomplete_beta(x, df / 2.0, 0.5);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// The regularized incomplete beta function I_x(a, b) (continued fraction, Lentz's method).
pub fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_continued_fraction(1.0 - x, b, a) / b
    }
}

fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut result = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        for numerator in [
            even,
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + numerator * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + numerator / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            result *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    result
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; about 15 significant digits).
pub fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (index, coefficient) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += coefficient / (x + index as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        assert!((student_t_975(1) - 12.706).abs() < 1e-3);
        assert!((student_t_975(30) - 2.042).abs() < 1e-3);
        // Published: t(40) = 2.0211, t(60) = 2.0003, t(120) = 1.9799.
        assert!((student_t_975(40) - 2.0211).abs() < 2e-4);
        assert!((student_t_975(60) - 2.0003).abs() < 2e-4);
        assert!((student_t_975(120) - 1.9799).abs() < 2e-4);
    }

    #[test]
    fn confidence_interval_of_a_known_sample() {
        let (mean, half) = mean_and_half_width(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!((mean - 3.0).abs() < 1e-12);
        // sd = sqrt(2.5), se = sd / sqrt(5), t(4) = 2.776.
        assert!((half - 2.776 * (2.5f64 / 5.0).sqrt()).abs() < 1e-3);
        assert_eq!(mean_and_half_width(&[7.0]), (7.0, 0.0));
    }

    #[test]
    fn waits_over_a_threshold_and_buckets() {
        let mut tally = Tally::new();
        for ms in [0, 500, 1999, 2000, 2001, 4500] {
            tally.record_connected(SimDuration::from_millis(ms));
        }
        assert_eq!(tally.connected_after(SimDuration::from_secs(2)), 2);
        assert_eq!(tally.connected_after(SimDuration::from_secs(10)), 0);
        let buckets = tally.wait_buckets(1000);
        assert_eq!(buckets.len(), 5);
        assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), 6);
        assert_eq!(buckets[0], (0, 2));
        assert_eq!(buckets[2], (2000, 2));
    }

    #[test]
    fn exact_t_quantiles_match_tables() {
        for (df, expected) in [
            (1.0, 12.706_204_7),
            (7.0, 2.364_624_3),
            (19.0, 2.093_024_1),
            (1e6, 1.959_966_4),
        ] {
            let t = student_t_quantile(0.975, df);
            assert!((t - expected).abs() < 1e-5, "df {df}: {t}");
        }
        assert!((student_t_quantile(0.995, 7.0) - 3.499_483_3).abs() < 1e-5);
        assert!((student_t_quantile(0.025, 19.0) + 2.093_024_1).abs() < 1e-5);
    }

    #[test]
    fn confidence_intervals_at_any_level_use_t() {
        let (mean, half) = mean_and_half_width_at(&[1.0, 2.0, 3.0, 4.0], 0.95);
        assert!((mean - 2.5).abs() < 1e-12);
        // sd = 1.290994, n = 4: t(0.975, 3) = 3.182446.
        assert!((half - 3.182_446 * 1.290_994 / 2.0).abs() < 1e-5, "{half}");
        assert_eq!(mean_and_half_width_at(&[5.0], 0.95), (5.0, 0.0));
        let table = mean_and_half_width(&[1.0, 2.0, 3.0, 4.0]).1;
        assert!((table - half).abs() < 1e-3, "{table} vs {half}");
    }

    #[test]
    fn summary_is_consistent() {
        let mut tally = Tally::new();
        tally.attempts = 10;
        tally.record_connected(SimDuration::from_millis(1500));
        tally.record_connected(SimDuration::ZERO);
        tally.record_abandoned(SimDuration::from_secs(3));
        tally.add_talk(SimDuration::from_secs(300));
        let summary = tally.summary(SimDuration::from_secs(600));
        assert_eq!(
            (summary.answered, summary.connected, summary.abandoned),
            (3, 2, 1)
        );
        assert!((summary.abandon_rate - 1.0 / 3.0).abs() < 1e-12);
        assert!((summary.agent_occupancy - 0.5).abs() < 1e-12);
        assert_eq!(summary.wait_ms.max, 1500);
        assert!((summary.wait_ms.mean - 750.0).abs() < 1e-9);
        assert!((summary.delayed_share - 2.0 / 3.0).abs() < 1e-12);
        assert!((summary.mean_wait_all_ms - 1500.0).abs() < 1e-9);
    }

    #[test]
    fn agent_time_integrates_changes() {
        let mut time = AgentTime::default();
        time.set(SimTime::ZERO, 10);
        time.set(SimTime::from_secs(100), 5);
        assert_eq!(
            time.until(SimTime::from_secs(200)),
            SimDuration::from_secs(1500)
        );
    }
}
