//! Closed-form queueing formulas: Erlang B, Erlang C (M/M/c) and Erlang A
//! (M/M/c+M, Palm's model with exponential patience).
//!
//! This module owns the pure mathematics only. It is used to validate the
//! discrete-event call-center simulator against theory and, later, by a
//! pacing strategy that needs expected blocking, waiting and abandonment.
//!
//! It must not do any I/O, draw random numbers or run a simulation: every
//! function is a deterministic, side-effect-free function of its arguments.
//!
//! # Units
//!
//! * Offered load (`load`) is in erlangs: arrival rate × mean service time.
//! * Rates (`arrival_rate`) are per second.
//! * Times (`mean_service`, `mean_patience`, `t_seconds`, waits) are in seconds.
//!
//! Any consistent time unit works as long as rates and times agree; the field
//! docs say "seconds" because that is what the simulator uses.
//!
//! # Invalid input
//!
//! No function panics. Functions returning `Option` return `None` when an
//! argument is invalid (zero servers, negative / NaN / infinite rates or times,
//! an unstable Erlang C system with `load >= servers`) or when the numerical
//! evaluation cannot produce a trustworthy finite answer. The two functions
//! returning a bare `f64` document their fallback value.

/// Relative size below which the ignored tail of the Erlang A chain is
/// considered negligible (compared with the running sums it would add to).
const TAIL_RELATIVE_TOLERANCE: f64 = 1e-16;

/// Hard cap on the number of Erlang A states above `servers` (callers queued
/// at once) that are summed before giving up with `None`.
const MAX_QUEUED_STATES: u32 = 100_000;

/// Unnormalised Erlang A state weights are rescaled to 1 whenever they grow
/// above this value, so they never overflow.
const RESCALE_ABOVE: f64 = 1e100;

/// Maximum number of bisection steps in [`erlang_b_load_for_blocking`].
const MAX_BISECTION_STEPS: u32 = 200;

/// Maximum number of doublings when bracketing the load in
/// [`erlang_b_load_for_blocking`].
const MAX_BRACKET_DOUBLINGS: u32 = 2_000;

/// Performance of an M/M/c (Erlang C) queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmcResult {
    /// Offered load `a = λ · mean_service`, in erlangs.
    pub load: f64,
    /// Erlang C: probability that an arrival has to wait (all servers busy).
    pub prob_wait: f64,
    /// Mean waiting time in queue over all arrivals, in seconds:
    /// `C / (c·μ − λ)`.
    pub mean_wait: f64,
    /// Mean fraction of servers busy, `a / c` (dimensionless, 0..1).
    pub occupancy: f64,
}

/// Performance of an M/M/c+M (Erlang A) queue with exponential patience.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErlangAResult {
    /// Probability that an arrival finds all servers busy and has to wait
    /// (PASTA: the stationary probability of `servers` or more in system).
    pub prob_wait: f64,
    /// Probability that an arrival abandons before being served:
    /// `θ · E[Q] / λ`.
    pub prob_abandon: f64,
    /// Mean time spent waiting in queue, in seconds, averaged over all
    /// arrivals (those served without waiting count as zero): `E[Q] / λ`.
    pub mean_wait: f64,
    /// Mean number of callers waiting in queue, `E[Q]` (callers).
    pub mean_queue: f64,
    /// Mean fraction of servers busy: `E[min(N, c)] / c` (dimensionless, 0..1).
    pub occupancy: f64,
}

/// Erlang B blocking probability for `servers` servers and offered load
/// `load` (erlangs): the probability that an arrival to an M/M/c/c loss
/// system finds every server busy and is lost.
///
/// Uses the numerically stable recursion `B(0) = 1`,
/// `B(k) = a·B(k−1) / (k + a·B(k−1))`, which never overflows (every
/// intermediate value lies in `[0, 1]`) and costs `O(servers)`; it is
/// accurate for `servers` well beyond 10 000.
///
/// Edge cases (no panic):
/// * `servers == 0` returns `1.0` (the recursion's base case: with no server
///   every call is blocked);
/// * `load == +∞` returns `1.0` (the limit);
/// * a negative or NaN `load` is invalid and returns `0.0`.
#[must_use]
pub fn erlang_b(servers: u32, load: f64) -> f64 {
    if load.is_nan() || load < 0.0 {
        return 0.0;
    }
    if load.is_infinite() {
        return 1.0;
    }
    erlang_b_with_complement(servers, load).blocking
}

/// Carried-load occupancy of an Erlang B loss system: `a·(1 − B) / servers`,
/// the mean fraction of servers busy (dimensionless, 0..1).
///
/// `1 − B` is evaluated through its own recursion, so the result stays
/// accurate even when `B` is within rounding of 1.
///
/// Returns `0.0` for `servers == 0` or a negative / NaN `load`, and `1.0`
/// (the limit) for `load == +∞`.
#[must_use]
pub fn erlang_b_occupancy(servers: u32, load: f64) -> f64 {
    if servers == 0 || load.is_nan() || load < 0.0 {
        return 0.0;
    }
    if load.is_infinite() {
        return 1.0;
    }
    let b = erlang_b_with_complement(servers, load);
    load * b.not_blocking / f64::from(servers)
}

/// Offered load (erlangs) at which `servers` servers block exactly
/// `target_blocking` of the calls under Erlang B, found by bisection
/// (Erlang B is strictly increasing in the load).
///
/// Returns `None` if `servers == 0` or `target_blocking` is not strictly
/// between 0 and 1. The result is accurate to about 1e-12 relative.
#[must_use]
pub fn erlang_b_load_for_blocking(servers: u32, target_blocking: f64) -> Option<f64> {
    let target_is_valid = target_blocking > 0.0 && target_blocking < 1.0;
    if servers == 0 || !target_is_valid {
        return None;
    }
    let upper = bracket_load_for_blocking(servers, target_blocking)?;
    Some(bisect_load_for_blocking(
        servers,
        target_blocking,
        0.0,
        upper,
    ))
}

/// Erlang C: the probability that an arrival to an M/M/c queue with
/// `servers` servers and offered load `load` (erlangs) has to wait.
///
/// Computed from Erlang B as `C = B / (1 − (a/c)·(1 − B))`.
///
/// Returns `None` if `servers == 0`, `load` is negative, NaN or infinite, or
/// `load >= servers` (the queue is unstable and has no steady state).
/// A load of exactly 0 gives `Some(0.0)`.
#[must_use]
pub fn erlang_c(servers: u32, load: f64) -> Option<f64> {
    if servers == 0 || !is_finite_non_negative(load) || load >= f64::from(servers) {
        return None;
    }
    let b = erlang_b_with_complement(servers, load);
    let utilisation = load / f64::from(servers);
    Some(b.blocking / (1.0 - utilisation * b.not_blocking))
}

/// M/M/c performance for `servers` servers, Poisson arrivals at
/// `arrival_rate` per second and exponential service with mean
/// `mean_service` seconds.
///
/// With `a = λ·s`, `μ = 1/s` and `C` the Erlang C probability:
/// `mean_wait = C / (c·μ − λ) = C·s / (c − a)` seconds, `occupancy = a / c`.
///
/// Returns `None` if `servers == 0`, `arrival_rate` is negative or not
/// finite, `mean_service` is not a finite positive number, or the load
/// `a >= servers` (unstable).
#[must_use]
pub fn mmc(servers: u32, arrival_rate: f64, mean_service: f64) -> Option<MmcResult> {
    let load = offered_load(arrival_rate, mean_service)?;
    let prob_wait = erlang_c(servers, load)?;
    let spare_servers = f64::from(servers) - load;
    Some(MmcResult {
        load,
        prob_wait,
        mean_wait: prob_wait * mean_service / spare_servers,
        occupancy: load / f64::from(servers),
    })
}

/// Probability that an M/M/c arrival waits longer than `t_seconds` seconds:
/// `P(W > t) = C · exp(−(c·μ − λ)·t)`, with `μ = 1/mean_service`.
///
/// At `t = 0` this is the Erlang C probability itself; `1 − P(W > t)` is the
/// usual "service level" (share answered within `t`).
///
/// Returns `None` for the same invalid inputs as [`mmc`], or if `t_seconds`
/// is negative or NaN. `t_seconds == +∞` gives `Some(0.0)`.
#[must_use]
pub fn mmc_prob_wait_exceeds(
    servers: u32,
    arrival_rate: f64,
    mean_service: f64,
    t_seconds: f64,
) -> Option<f64> {
    if t_seconds.is_nan() || t_seconds < 0.0 {
        return None;
    }
    let result = mmc(servers, arrival_rate, mean_service)?;
    let decay_rate = (f64::from(servers) - result.load) / mean_service;
    if result.prob_wait == 0.0 {
        return Some(0.0);
    }
    Some(result.prob_wait * (-decay_rate * t_seconds).exp())
}

/// Erlang A (M/M/c+M, Palm): `servers` servers, Poisson arrivals at
/// `arrival_rate` per second, exponential service with mean `mean_service`
/// seconds and exponential patience with mean `mean_patience` seconds
/// (`θ = 1/mean_patience`; a waiting caller abandons at rate `θ`).
///
/// The number in system is a birth–death chain with up-rate `λ` and
/// down-rate `k·μ` for `k ≤ c`, `c·μ + (k−c)·θ` for `k > c`. Its stationary
/// weights are `π_k ∝ a^k / k!` up to `c`, then multiplied by
/// `λ / (c·μ + (k−c)·θ)` per state above `c`. From them:
/// `P(wait) = Σ_{k≥c} π_k` (PASTA), `E[Q] = Σ_{k>c} (k−c)·π_k`,
/// `P(abandon) = θ·E[Q]/λ`, `E[W] = E[Q]/λ` (Little) and
/// `occupancy = Σ_k min(k, c)·π_k / c`.
///
/// The weights are accumulated in linear space with periodic rescaling (no
/// overflow for thousands of servers) and the infinite tail is cut once a
/// geometric bound on everything left is below 1e-16 of the running sums.
/// Cost is `O(servers + queued states summed)`. Unlike Erlang C this is
/// stable for `load >= servers`, because abandonment drains the queue.
///
/// `mean_patience == f64::INFINITY` (or so large that `θ/μ` underflows)
/// reduces exactly to Erlang C, and then returns `None` when
/// `load >= servers`.
///
/// Returns `None` if `servers == 0`, `arrival_rate` is negative or not
/// finite, `mean_service` is not finite and positive, `mean_patience` is not
/// positive (or NaN), or the tail does not converge within 100 000 queued
/// states (patience so long relative to service that the overloaded system
/// is practically unstable). `arrival_rate == 0` gives an all-zero result.
#[must_use]
pub fn erlang_a(
    servers: u32,
    arrival_rate: f64,
    mean_service: f64,
    mean_patience: f64,
) -> Option<ErlangAResult> {
    let patience_is_valid = !mean_patience.is_nan() && mean_patience > 0.0;
    if servers == 0 || !patience_is_valid {
        return None;
    }
    let load = offered_load(arrival_rate, mean_service)?;
    // θ/μ: abandonment rate of one waiting caller per unit service rate.
    let patience_ratio = mean_service / mean_patience;
    if !patience_ratio.is_finite() {
        return None;
    }
    if load == 0.0 {
        return Some(ErlangAResult::idle());
    }
    if patience_ratio == 0.0 {
        return erlang_a_without_abandonment(servers, arrival_rate, mean_service);
    }
    let sums = erlang_a_state_sums(servers, load, patience_ratio)?;
    sums.into_result(servers, arrival_rate, load, patience_ratio)
}

/// Erlang B value together with its complement, each from its own recursion
/// so that neither suffers cancellation.
struct ErlangB {
    /// `B(c, a)`.
    blocking: f64,
    /// `1 − B(c, a)`, computed as `k / (k + a·B(k−1))`.
    not_blocking: f64,
}

/// Runs the Erlang B recursion for a finite, non-negative `load`.
fn erlang_b_with_complement(servers: u32, load: f64) -> ErlangB {
    let mut blocking = 1.0;
    let mut not_blocking = 0.0;
    for k in 1..=servers {
        let k = f64::from(k);
        let denominator = k + load * blocking;
        not_blocking = k / denominator;
        blocking = load * blocking / denominator;
    }
    ErlangB {
        blocking,
        not_blocking,
    }
}

/// Finds a load (erlangs) at which Erlang B is at least `target` by doubling,
/// starting from `servers` erlangs. `None` if the search overflows.
fn bracket_load_for_blocking(servers: u32, target: f64) -> Option<f64> {
    let mut upper = f64::from(servers);
    for _ in 0..MAX_BRACKET_DOUBLINGS {
        if erlang_b(servers, upper) >= target {
            return Some(upper);
        }
        upper *= 2.0;
        if !upper.is_finite() {
            return None;
        }
    }
    None
}

/// Bisects `[lower, upper]` (erlangs) for the load where Erlang B equals
/// `target`; assumes `B(lower) <= target <= B(upper)`.
fn bisect_load_for_blocking(servers: u32, target: f64, lower: f64, upper: f64) -> f64 {
    let (mut lower, mut upper) = (lower, upper);
    for _ in 0..MAX_BISECTION_STEPS {
        let middle = 0.5 * (lower + upper);
        if erlang_b(servers, middle) < target {
            lower = middle;
        } else {
            upper = middle;
        }
        if upper - lower <= 1e-12 * upper {
            break;
        }
    }
    0.5 * (lower + upper)
}

/// Offered load `λ·s` in erlangs, or `None` if the rate is not finite and
/// non-negative, the mean service time is not finite and positive, or the
/// product overflows.
fn offered_load(arrival_rate: f64, mean_service: f64) -> Option<f64> {
    let service_is_valid = mean_service.is_finite() && mean_service > 0.0;
    if !is_finite_non_negative(arrival_rate) || !service_is_valid {
        return None;
    }
    let load = arrival_rate * mean_service;
    load.is_finite().then_some(load)
}

/// True for finite numbers `>= 0` (false for NaN and infinities).
fn is_finite_non_negative(value: f64) -> bool {
    value.is_finite() && value >= 0.0
}

/// Erlang A with infinite patience: the M/M/c (Erlang C) answer expressed as
/// an [`ErlangAResult`]. `None` if `load >= servers`.
fn erlang_a_without_abandonment(
    servers: u32,
    arrival_rate: f64,
    mean_service: f64,
) -> Option<ErlangAResult> {
    let result = mmc(servers, arrival_rate, mean_service)?;
    Some(ErlangAResult {
        prob_wait: result.prob_wait,
        prob_abandon: 0.0,
        mean_wait: result.mean_wait,
        mean_queue: arrival_rate * result.mean_wait,
        occupancy: result.occupancy,
    })
}

/// Unnormalised sums over the Erlang A states, all sharing one scale factor.
#[derive(Debug, Default)]
struct StateSums {
    /// `Σ_k w_k` (normalising constant).
    total: f64,
    /// `Σ_{k≥c} w_k` (all servers busy).
    waiting: f64,
    /// `Σ_{k>c} (k−c)·w_k` (callers in queue).
    queued: f64,
    /// `Σ_k min(k, c)·w_k` (busy servers).
    busy: f64,
}

impl StateSums {
    /// Adds a state with `busy` busy servers and at least one free server.
    fn add_with_free_server(&mut self, weight: f64, busy: f64) {
        self.total += weight;
        self.busy += busy * weight;
    }

    /// Adds a state with all `servers` busy and `queued` callers waiting.
    fn add_all_busy(&mut self, weight: f64, servers: f64, queued: f64) {
        self.total += weight;
        self.waiting += weight;
        self.queued += queued * weight;
        self.busy += servers * weight;
    }

    /// Multiplies every sum by `factor` (used when rescaling weights).
    fn rescale(&mut self, factor: f64) {
        self.total *= factor;
        self.waiting *= factor;
        self.queued *= factor;
        self.busy *= factor;
    }

    /// True if the states after the one with weight `weight` and `queued`
    /// callers waiting are negligible. Every later step multiplies the
    /// weight by at most `next_ratio < 1`, so the remaining mass is at most
    /// `w·r/(1−r)` and the remaining queue mass at most
    /// `w·(n·r/(1−r) + r/(1−r)²)`.
    fn tail_is_negligible(&self, weight: f64, queued: f64, next_ratio: f64) -> bool {
        let geometric = next_ratio / (1.0 - next_ratio);
        let tail_total = weight * geometric;
        let tail_queued = weight * (queued * geometric + geometric / (1.0 - next_ratio));
        tail_total <= TAIL_RELATIVE_TOLERANCE * self.total
            && tail_queued <= TAIL_RELATIVE_TOLERANCE * self.queued
    }

    /// Normalises the sums into an [`ErlangAResult`]. `None` if the numbers
    /// are not finite (numerical failure).
    fn into_result(
        self,
        servers: u32,
        arrival_rate: f64,
        load: f64,
        patience_ratio: f64,
    ) -> Option<ErlangAResult> {
        let mean_queue = self.queued / self.total;
        let result = ErlangAResult {
            prob_wait: (self.waiting / self.total).clamp(0.0, 1.0),
            // θ·E[Q]/λ = (θ/μ)·E[Q]/a.
            prob_abandon: (patience_ratio * mean_queue / load).clamp(0.0, 1.0),
            mean_wait: mean_queue / arrival_rate,
            mean_queue,
            occupancy: (self.busy / self.total / f64::from(servers)).clamp(0.0, 1.0),
        };
        result.is_finite().then_some(result)
    }
}

impl ErlangAResult {
    /// The empty system (no arrivals).
    fn idle() -> Self {
        ErlangAResult {
            prob_wait: 0.0,
            prob_abandon: 0.0,
            mean_wait: 0.0,
            mean_queue: 0.0,
            occupancy: 0.0,
        }
    }

    /// True if every field is finite (clamp passes NaN through).
    fn is_finite(&self) -> bool {
        [
            self.prob_wait,
            self.prob_abandon,
            self.mean_wait,
            self.mean_queue,
            self.occupancy,
        ]
        .iter()
        .all(|value| value.is_finite())
    }
}

/// Rescales `weight` to 1 (and the sums with it) once it exceeds
/// [`RESCALE_ABOVE`], keeping every weight and sum far from overflow.
fn rescale_if_large(weight: &mut f64, sums: &mut StateSums) {
    if *weight > RESCALE_ABOVE {
        sums.rescale(1.0 / *weight);
        *weight = 1.0;
    }
}

/// Accumulates the Erlang A birth–death weights for `servers ≥ 1`,
/// `load > 0` erlangs and `patience_ratio = θ/μ > 0`.
///
/// Step ratios are `a/k` up to `c`, then `a/(c + n·θ/μ)` for `n` queued:
/// a non-increasing sequence, so the weights are unimodal and a geometric
/// bound on the tail is valid once a ratio drops below 1.
/// `None` if the tail has not converged after [`MAX_QUEUED_STATES`].
fn erlang_a_state_sums(servers: u32, load: f64, patience_ratio: f64) -> Option<StateSums> {
    let servers_f = f64::from(servers);
    let mut sums = StateSums::default();
    let mut weight = 1.0;
    sums.add_with_free_server(weight, 0.0);
    for k in 1..servers {
        weight *= load / f64::from(k);
        rescale_if_large(&mut weight, &mut sums);
        sums.add_with_free_server(weight, f64::from(k));
    }
    weight *= load / servers_f;
    rescale_if_large(&mut weight, &mut sums);
    sums.add_all_busy(weight, servers_f, 0.0);

    let step_ratio = |queued: u32| load / (servers_f + f64::from(queued) * patience_ratio);
    for queued in 1..=MAX_QUEUED_STATES {
        weight *= step_ratio(queued);
        rescale_if_large(&mut weight, &mut sums);
        sums.add_all_busy(weight, servers_f, f64::from(queued));
        let next_ratio = step_ratio(queued + 1);
        if next_ratio < 1.0 && sums.tail_is_negligible(weight, f64::from(queued), next_ratio) {
            return Some(sums);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Textbook example: 3.5 calls per minute, 3-minute calls, 13 agents.
    const ARRIVAL_RATE: f64 = 3.5 / 60.0;
    const MEAN_SERVICE: f64 = 180.0;
    const AGENTS: u32 = 13;

    fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{what}: got {actual}, expected {expected} ± {tolerance}"
        );
    }

    #[test]
    fn erlang_b_matches_hand_computed_values() {
        assert_close(erlang_b(1, 1.0), 0.5, 1e-15, "B(1, 1)");
        assert_close(erlang_b(2, 1.0), 0.2, 1e-15, "B(2, 1)");
        // B(3, 2) = (8/6) / (1 + 2 + 2 + 8/6) = 4/19.
        assert_close(erlang_b(3, 2.0), 4.0 / 19.0, 1e-15, "B(3, 2)");
        assert_eq!(erlang_b(5, 0.0), 0.0);
    }

    #[test]
    fn erlang_b_is_stable_for_ten_thousand_servers() {
        for load in [1.0, 9_000.0, 10_000.0, 12_000.0, 1e6] {
            let blocking = erlang_b(10_000, load);
            assert!(
                blocking.is_finite() && (0.0..=1.0).contains(&blocking),
                "B(10000, {load}) = {blocking}"
            );
        }
        // Far overload: B ≈ 1 − c/a, carried load → c.
        assert_close(erlang_b_occupancy(10, 1e300), 1.0, 1e-12, "occupancy");
    }

    #[test]
    fn erlang_b_edge_cases_do_not_panic() {
        assert_eq!(erlang_b(0, 3.0), 1.0);
        assert_eq!(erlang_b(4, f64::INFINITY), 1.0);
        assert_eq!(erlang_b(4, -1.0), 0.0);
        assert_eq!(erlang_b(4, f64::NAN), 0.0);
        assert_eq!(erlang_b_occupancy(0, 3.0), 0.0);
        assert_eq!(erlang_b_occupancy(4, -1.0), 0.0);
        assert_eq!(erlang_b_occupancy(4, f64::NAN), 0.0);
        assert_eq!(erlang_b_occupancy(4, f64::INFINITY), 1.0);
    }

    #[test]
    fn erlang_b_occupancy_at_three_percent_blocking_matches_table() {
        let table = [(10, 0.54), (25, 0.72), (50, 0.81), (100, 0.88), (200, 0.93)];
        for (servers, expected_occupancy) in table {
            let load = erlang_b_load_for_blocking(servers, 0.03);
            let load = load.unwrap_or_else(|| panic!("no load for {servers} servers"));
            assert_close(
                erlang_b(servers, load),
                0.03,
                1e-9,
                "blocking at found load",
            );
            let occupancy = erlang_b_occupancy(servers, load);
            assert_close(occupancy, expected_occupancy, 0.005, "occupancy");
        }
    }

    #[test]
    fn erlang_b_load_for_blocking_rejects_invalid_input() {
        assert_eq!(erlang_b_load_for_blocking(0, 0.03), None);
        for target in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert_eq!(erlang_b_load_for_blocking(10, target), None, "{target}");
        }
    }

    #[test]
    fn erlang_c_matches_textbook_example() {
        let load = ARRIVAL_RATE * MEAN_SERVICE;
        assert_close(load, 10.5, 1e-12, "load");
        let prob_wait = erlang_c(AGENTS, load).unwrap_or(f64::NAN);
        assert_close(prob_wait, 0.3688, 0.0005, "Erlang C");
    }

    #[test]
    fn mmc_matches_textbook_example() {
        let result = mmc(AGENTS, ARRIVAL_RATE, MEAN_SERVICE);
        let result = result.unwrap_or_else(|| panic!("mmc returned None"));
        assert_close(result.load, 10.5, 1e-12, "load");
        assert_close(result.prob_wait, 0.3688, 0.0005, "P(wait)");
        assert_close(result.mean_wait, 26.56, 0.05, "E[W] seconds");
        assert_close(result.occupancy, 10.5 / 13.0, 1e-12, "occupancy");
    }

    #[test]
    fn erlang_c_single_server_is_utilisation() {
        // M/M/1: C = ρ.
        assert_close(erlang_c(1, 0.7).unwrap_or(f64::NAN), 0.7, 1e-15, "M/M/1");
        assert_eq!(erlang_c(3, 0.0), Some(0.0));
    }

    #[test]
    fn erlang_c_and_mmc_reject_invalid_input() {
        assert_eq!(erlang_c(0, 0.5), None);
        assert_eq!(erlang_c(13, 13.0), None);
        assert_eq!(erlang_c(13, 20.0), None);
        assert_eq!(erlang_c(13, -1.0), None);
        assert_eq!(erlang_c(13, f64::NAN), None);
        assert_eq!(erlang_c(13, f64::INFINITY), None);
        assert_eq!(mmc(0, ARRIVAL_RATE, MEAN_SERVICE), None);
        assert_eq!(mmc(AGENTS, -1.0, MEAN_SERVICE), None);
        assert_eq!(mmc(AGENTS, f64::NAN, MEAN_SERVICE), None);
        assert_eq!(mmc(AGENTS, ARRIVAL_RATE, 0.0), None);
        assert_eq!(mmc(AGENTS, ARRIVAL_RATE, -180.0), None);
        assert_eq!(mmc(AGENTS, ARRIVAL_RATE, f64::INFINITY), None);
        assert_eq!(mmc(AGENTS, 1.0, MEAN_SERVICE), None);
    }

    #[test]
    fn prob_wait_exceeds_starts_at_erlang_c_and_integrates_to_mean_wait() {
        let at_zero = mmc_prob_wait_exceeds(AGENTS, ARRIVAL_RATE, MEAN_SERVICE, 0.0);
        assert_close(at_zero.unwrap_or(f64::NAN), 0.3688, 0.0005, "P(W > 0)");
        // E[W] = ∫ P(W > t) dt; trapezoid rule with 0.1 s steps over 3000 s.
        let step = 0.1;
        let mut integral = 0.0;
        let mut previous = at_zero.unwrap_or(f64::NAN);
        for i in 1..=30_000 {
            let t = f64::from(i) * step;
            let current = mmc_prob_wait_exceeds(AGENTS, ARRIVAL_RATE, MEAN_SERVICE, t);
            let current = current.unwrap_or(f64::NAN);
            assert!(current <= previous, "P(W > t) must not increase");
            integral += 0.5 * (previous + current) * step;
            previous = current;
        }
        assert_close(integral, 26.56, 0.05, "∫ P(W > t) dt");
        let never = mmc_prob_wait_exceeds(AGENTS, ARRIVAL_RATE, MEAN_SERVICE, f64::INFINITY);
        assert_eq!(never, Some(0.0));
    }

    #[test]
    fn prob_wait_exceeds_rejects_invalid_input() {
        let wait = |t| mmc_prob_wait_exceeds(AGENTS, ARRIVAL_RATE, MEAN_SERVICE, t);
        assert_eq!(wait(-1.0), None);
        assert_eq!(wait(f64::NAN), None);
        assert_eq!(
            mmc_prob_wait_exceeds(0, ARRIVAL_RATE, MEAN_SERVICE, 20.0),
            None
        );
        assert_eq!(mmc_prob_wait_exceeds(AGENTS, 1.0, MEAN_SERVICE, 20.0), None);
        assert_eq!(
            mmc_prob_wait_exceeds(AGENTS, 0.0, MEAN_SERVICE, 20.0),
            Some(0.0)
        );
    }

    fn textbook_erlang_a(mean_patience: f64) -> ErlangAResult {
        erlang_a(AGENTS, ARRIVAL_RATE, MEAN_SERVICE, mean_patience)
            .unwrap_or_else(|| panic!("erlang_a returned None"))
    }

    #[test]
    fn erlang_a_matches_published_values_for_one_minute_patience() {
        let result = textbook_erlang_a(60.0);
        assert_close(result.prob_wait, 0.206, 0.001, "P(wait)");
        assert_close(result.prob_abandon, 0.0615, 0.001, "P(abandon)");
        assert_close(result.mean_wait, 3.69, 0.02, "E[W] seconds");
    }

    #[test]
    fn erlang_a_matches_published_values_for_three_minute_patience() {
        let result = textbook_erlang_a(180.0);
        assert_close(result.prob_wait, 0.258, 0.001, "P(wait)");
        assert_close(result.prob_abandon, 0.0418, 0.001, "P(abandon)");
        assert_close(result.mean_wait, 7.52, 0.02, "E[W] seconds");
    }

    #[test]
    fn erlang_a_satisfies_flow_balance() {
        // Served rate c·occupancy·μ equals λ·(1 − P(abandon)), i.e.
        // carried load c·occupancy = a·(1 − P(abandon)).
        for mean_patience in [1.0, 60.0, 180.0, 1e4] {
            let result = textbook_erlang_a(mean_patience);
            let carried = f64::from(AGENTS) * result.occupancy;
            let expected = 10.5 * (1.0 - result.prob_abandon);
            assert_close(carried, expected, 1e-9, "carried load");
            assert_close(
                result.mean_queue,
                ARRIVAL_RATE * result.mean_wait,
                1e-12,
                "Little's law",
            );
        }
    }

    #[test]
    fn erlang_a_with_huge_patience_approaches_erlang_c() {
        let erlang_a_result = textbook_erlang_a(1e9);
        let erlang_c_result = mmc(AGENTS, ARRIVAL_RATE, MEAN_SERVICE);
        let erlang_c_result = erlang_c_result.unwrap_or_else(|| panic!("mmc returned None"));
        assert_close(
            erlang_a_result.prob_wait,
            erlang_c_result.prob_wait,
            1e-6,
            "P(wait)",
        );
        assert_close(
            erlang_a_result.mean_wait,
            erlang_c_result.mean_wait,
            1e-4,
            "E[W]",
        );
        assert_close(
            erlang_a_result.occupancy,
            erlang_c_result.occupancy,
            1e-6,
            "occ",
        );
        assert!(erlang_a_result.prob_abandon < 1e-6);
    }

    #[test]
    fn erlang_a_with_infinite_patience_is_erlang_c() {
        let result = textbook_erlang_a(f64::INFINITY);
        let expected = mmc(AGENTS, ARRIVAL_RATE, MEAN_SERVICE);
        let expected = expected.unwrap_or_else(|| panic!("mmc returned None"));
        assert_eq!(result.prob_wait, expected.prob_wait);
        assert_eq!(result.mean_wait, expected.mean_wait);
        assert_eq!(result.prob_abandon, 0.0);
        assert_eq!(erlang_a(AGENTS, 1.0, MEAN_SERVICE, f64::INFINITY), None);
    }

    /// Independent reference: the same birth–death chain evaluated in log
    /// space with a fixed, generous number of states.
    fn reference_erlang_a(servers: u32, load: f64, patience_ratio: f64) -> (f64, f64, f64) {
        let c = f64::from(servers);
        let mut log_weights = vec![0.0_f64];
        for k in 1..=(servers + 20_000) {
            let k = f64::from(k);
            let down = if k <= c {
                k
            } else {
                c + (k - c) * patience_ratio
            };
            let previous = log_weights[log_weights.len() - 1];
            log_weights.push(previous + (load / down).ln());
        }
        let peak = log_weights
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max);
        let (mut total, mut waiting, mut queued) = (0.0, 0.0, 0.0);
        for (k, log_weight) in log_weights.iter().enumerate() {
            let weight = (log_weight - peak).exp();
            let k = k as f64;
            total += weight;
            if k >= c {
                waiting += weight;
                queued += (k - c) * weight;
            }
        }
        let mean_queue = queued / total;
        (
            waiting / total,
            patience_ratio * mean_queue / load,
            mean_queue,
        )
    }

    #[test]
    fn erlang_a_agrees_with_log_space_reference() {
        let cases = [
            (AGENTS, 10.5, MEAN_SERVICE / 60.0),
            (AGENTS, 10.5, MEAN_SERVICE / 180.0),
            (500, 520.0, MEAN_SERVICE / 60.0),
            (500, 520.0, MEAN_SERVICE / 600.0),
            (2_000, 2_050.0, MEAN_SERVICE / 120.0),
        ];
        for (servers, load, patience_ratio) in cases {
            let mean_patience = MEAN_SERVICE / patience_ratio;
            let result = erlang_a(servers, load / MEAN_SERVICE, MEAN_SERVICE, mean_patience);
            let result = result.unwrap_or_else(|| panic!("None for {servers}, {load}"));
            let (prob_wait, prob_abandon, mean_queue) =
                reference_erlang_a(servers, load, patience_ratio);
            assert_close(result.prob_wait, prob_wait, 1e-9, "P(wait)");
            assert_close(result.prob_abandon, prob_abandon, 1e-9, "P(abandon)");
            assert_close(result.mean_queue, mean_queue, 1e-9 * mean_queue, "E[Q]");
        }
    }

    #[test]
    fn erlang_a_overloaded_large_centre_is_finite_and_sensible() {
        // c = 500, a = 520: λ = 520/180 per second, 3-minute calls.
        let servers = 500;
        let load = 520.0;
        // At least the excess (a − c)/a must abandon: carried load ≤ c.
        let overload_share = (load - f64::from(servers)) / load;
        for mean_patience in [10.0, 60.0, 180.0, 600.0] {
            let result = erlang_a(servers, load / MEAN_SERVICE, MEAN_SERVICE, mean_patience);
            let result = result.unwrap_or_else(|| panic!("None at patience {mean_patience}"));
            assert!(result.is_finite(), "{result:?}");
            assert!(
                result.prob_abandon >= overload_share - 1e-12 && result.prob_abandon < 0.1,
                "P(abandon) {} vs overload share {overload_share}",
                result.prob_abandon
            );
            assert!(
                result.prob_wait > 0.0 && result.prob_wait <= 1.0,
                "{result:?}"
            );
            assert!(
                result.occupancy > 0.9 && result.occupancy <= 1.0,
                "{result:?}"
            );
            assert!(
                result.mean_wait > 0.0 && result.mean_queue > 0.0,
                "{result:?}"
            );
        }
    }

    #[test]
    fn erlang_a_handles_two_thousand_servers_near_and_above_capacity() {
        for load in [1_900.0, 1_999.0, 2_000.0, 2_100.0, 4_000.0] {
            let result = erlang_a(2_000, load / MEAN_SERVICE, MEAN_SERVICE, 120.0);
            let result = result.unwrap_or_else(|| panic!("None at load {load}"));
            assert!(result.is_finite(), "{result:?}");
            assert!((0.0..=1.0).contains(&result.prob_wait), "{result:?}");
            assert!((0.0..=1.0).contains(&result.prob_abandon), "{result:?}");
            let carried = 2_000.0 * result.occupancy;
            assert_close(
                carried,
                load * (1.0 - result.prob_abandon),
                1e-6 * load,
                "flow",
            );
        }
    }

    #[test]
    fn erlang_a_rejects_invalid_input() {
        let call = |servers, rate, service, patience| erlang_a(servers, rate, service, patience);
        assert_eq!(call(0, ARRIVAL_RATE, MEAN_SERVICE, 60.0), None);
        assert_eq!(call(AGENTS, -1.0, MEAN_SERVICE, 60.0), None);
        assert_eq!(call(AGENTS, f64::NAN, MEAN_SERVICE, 60.0), None);
        assert_eq!(call(AGENTS, f64::INFINITY, MEAN_SERVICE, 60.0), None);
        assert_eq!(call(AGENTS, ARRIVAL_RATE, 0.0, 60.0), None);
        assert_eq!(call(AGENTS, ARRIVAL_RATE, f64::NAN, 60.0), None);
        assert_eq!(call(AGENTS, ARRIVAL_RATE, MEAN_SERVICE, 0.0), None);
        assert_eq!(call(AGENTS, ARRIVAL_RATE, MEAN_SERVICE, -60.0), None);
        assert_eq!(call(AGENTS, ARRIVAL_RATE, MEAN_SERVICE, f64::NAN), None);
        // Nearly unstable: patience so long the queue needs > 100 000 states.
        assert_eq!(call(500, 520.0 / MEAN_SERVICE, MEAN_SERVICE, 1e9), None);
        assert_eq!(
            call(AGENTS, 0.0, MEAN_SERVICE, 60.0),
            Some(ErlangAResult::idle())
        );
    }
}
