//! What the campaign learns online from its own calls: how dials end and how long they take,
//! how long agents talk, and the small delays between an answer and an agent.
//!
//! - [`DialOutcomeModel`]: the time from dial to a live answer and to every other resolution
//!   (no answer, busy, machine, ...), as two histograms; together they give the answer
//!   probability and, for a dial still in flight at age `a`, the probability that a person
//!   answers within the next `h` seconds.
//! - [`TalkModel`]: the distribution of talk time, for the probability that an agent who has
//!   talked for `s` seconds finishes within the next `t` (the conditional, not the unconditional
//!   CDF).
//!
//! Every observation is O(1). Old observations fade: once a histogram's weight passes its
//! memory, every weight is halved (O(bins), rarely), so the estimates follow drift such as an
//! evening drop in answers. Cumulative tables are rebuilt lazily by [`Estimates::refresh`].
//!
//! Pure data and arithmetic: no clocks, no randomness.

use serde::Serialize;

/// Durations in fixed-width bins, plus one bin for everything past the last.
#[derive(Clone, Debug)]
pub struct DurationHistogram {
    bin_seconds: f64,
    weights: Vec<f64>,
    total: f64,
    weighted_sum: f64,
    observations: u64,
    memory: f64,
    /// `cumulative[i]` = weight of bins before `i`; rebuilt when `dirty`.
    cumulative: Vec<f64>,
    dirty: bool,
}

impl DurationHistogram {
    /// Bins of `bin_seconds` up to `max_seconds`; weights are halved once they pass `memory`.
    pub fn new(bin_seconds: f64, max_seconds: f64, memory: f64) -> DurationHistogram {
        let bins = (max_seconds / bin_seconds).ceil().max(1.0) as usize + 1;
        DurationHistogram {
            bin_seconds,
            weights: vec![0.0; bins],
            total: 0.0,
            weighted_sum: 0.0,
            observations: 0,
            memory,
            cumulative: vec![0.0; bins + 1],
            dirty: false,
        }
    }

    fn bin_of(&self, seconds: f64) -> usize {
        let last = self.weights.len() - 1;
        if seconds.is_nan() || seconds <= 0.0 {
            return 0;
        }
        ((seconds / self.bin_seconds) as usize).min(last)
    }

    pub fn record(&mut self, seconds: f64) {
        let bin = self.bin_of(seconds);
        self.weights[bin] += 1.0;
        self.total += 1.0;
        self.weighted_sum += seconds.max(0.0);
        self.observations += 1;
        self.dirty = true;
        if self.total > self.memory {
            self.fade();
        }
    }

    /// Rebuilds the cumulative table if observations arrived since.
    pub fn refresh(&mut self) {
        if !self.dirty {
            return;
        }
        let mut running = 0.0;
        self.cumulative[0] = 0.0;
        for (index, weight) in self.weights.iter().enumerate() {
            running += weight;
            self.cumulative[index + 1] = running;
        }
        self.dirty = false;
    }

    /// Observations ever recorded (not faded).
    pub fn observations(&self) -> u64 {
        self.observations
    }

    /// Current (faded) weight of all observations.
    pub fn total(&self) -> f64 {
        self.total
    }

    pub fn mean(&self) -> f64 {
        if self.total > 0.0 {
            self.weighted_sum / self.total
        } else {
            0.0
        }
    }

    /// Weight of observations at or below `seconds`, spreading each bin evenly over its width.
    /// The overflow bin counts only at infinity. Uses the table of the last [`refresh`].
    ///
    /// [`refresh`]: DurationHistogram::refresh
    pub fn weight_up_to(&self, seconds: f64) -> f64 {
        if seconds.is_nan() || seconds <= 0.0 {
            return 0.0;
        }
        let last = self.weights.len() - 1;
        let position = seconds / self.bin_seconds;
        if position >= last as f64 {
            if seconds.is_infinite() {
                return self.cumulative[last + 1];
            }
            return self.cumulative[last];
        }
        let bin = position as usize;
        let within = position - bin as f64;
        self.cumulative[bin] + within * (self.cumulative[bin + 1] - self.cumulative[bin])
    }

    /// `out[k] = weight_up_to(start + k × stride)` for every `k`, walking the table once
    /// (no division per point).
    pub fn weights_along(&self, start: f64, stride: f64, out: &mut [f64]) {
        let last = self.weights.len() - 1;
        let increment = stride / self.bin_seconds;
        let mut position = start / self.bin_seconds;
        for slot in out.iter_mut() {
            *slot = if position <= 0.0 || position.is_nan() {
                0.0
            } else if position >= last as f64 {
                self.cumulative[last]
            } else {
                let bin = position as usize;
                let within = position - bin as f64;
                let low = self.cumulative[bin];
                low + within * (self.cumulative[bin + 1] - low)
            };
            position += increment;
        }
    }

    /// The largest finite value the bins can tell apart.
    pub fn range_seconds(&self) -> f64 {
        self.bin_seconds * (self.weights.len() - 1) as f64
    }

    /// The smallest `x` with at least `share` of the weight at or below it (within the bins).
    pub fn quantile(&self, share: f64) -> f64 {
        let goal = share * self.cumulative[self.weights.len()];
        for bin in 0..self.weights.len() - 1 {
            if self.cumulative[bin + 1] >= goal && self.weights[bin] > 0.0 {
                let within = (goal - self.cumulative[bin]) / self.weights[bin];
                return (bin as f64 + within.clamp(0.0, 1.0)) * self.bin_seconds;
            }
        }
        self.range_seconds()
    }
}

/// How dials end: live answers and everything else, by time from the dial.
#[derive(Clone, Debug)]
pub struct DialOutcomeModel {
    live: DurationHistogram,
    other: DurationHistogram,
}

impl DialOutcomeModel {
    /// Dial outcomes remembered at full weight before all weights are halved.
    const MEMORY: f64 = 6_000.0;

    pub fn new(max_seconds: f64) -> DialOutcomeModel {
        DialOutcomeModel {
            live: DurationHistogram::new(0.25, max_seconds, f64::INFINITY),
            other: DurationHistogram::new(0.25, max_seconds, f64::INFINITY),
        }
    }

    /// A dial ended `seconds` after it was placed; `live` if a person answered.
    pub fn record(&mut self, seconds: f64, live: bool) {
        if live {
            self.live.record(seconds);
        } else {
            self.other.record(seconds);
        }
        // Both sides fade together, so their proportions stay right.
        if self.total() > Self::MEMORY {
            self.live.fade();
            self.other.fade();
        }
    }

    pub fn refresh(&mut self) {
        self.live.refresh();
        self.other.refresh();
    }

    /// Dials whose end has been seen.
    pub fn observations(&self) -> u64 {
        self.live.observations() + self.other.observations()
    }

    pub fn live_observations(&self) -> u64 {
        self.live.observations()
    }

    fn total(&self) -> f64 {
        self.live.total() + self.other.total()
    }

    /// Probability that a dial is answered by a person.
    pub fn p_live(&self) -> f64 {
        let total = self.total();
        if total > 0.0 {
            self.live.total() / total
        } else {
            0.0
        }
    }

    /// Mean time from dial to a live answer, in seconds.
    pub fn mean_time_to_answer(&self) -> f64 {
        self.live.mean()
    }

    /// Probability that a fresh dial is answered by a person within `seconds`.
    pub fn live_by(&self, seconds: f64) -> f64 {
        let total = self.total();
        if total > 0.0 {
            self.live.weight_up_to(seconds) / total
        } else {
            0.0
        }
    }

    /// Probability that a dial still unresolved at `age` is answered by a person within the
    /// next `within` seconds.
    pub fn live_within(&self, age: f64, within: f64) -> f64 {
        let live_before = self.live.weight_up_to(age);
        let remaining = self.total() - live_before - self.other.weight_up_to(age);
        if remaining <= 1e-9 {
            return 0.0;
        }
        ((self.live.weight_up_to(age + within) - live_before) / remaining).clamp(0.0, 1.0)
    }

    /// Weight of live answers that came within `seconds` of their dial (unnormalised; divide
    /// by [`DialOutcomeModel::unresolved_weight`] for conditional probabilities).
    pub fn live_weight_by(&self, seconds: f64) -> f64 {
        self.live.weight_up_to(seconds)
    }

    /// `out[k]` = weight of live answers within `start + k × stride` of their dial.
    pub fn live_weights_along(&self, start: f64, stride: f64, out: &mut [f64]) {
        self.live.weights_along(start, stride, out);
    }

    /// Weight of dials not yet resolved at `age`: the denominator of conditional probabilities
    /// for a dial that old.
    pub fn unresolved_weight(&self, age: f64) -> f64 {
        self.total() - self.live.weight_up_to(age) - self.other.weight_up_to(age)
    }

    /// Probability that a dial still unresolved at `age` will be answered by a person at all.
    pub fn live_eventually(&self, age: f64) -> f64 {
        self.live_within(age, f64::INFINITY)
    }

    /// The time by which nearly all live answers have come (99th percentile), in seconds.
    pub fn answer_horizon(&self) -> f64 {
        self.live.quantile(0.99)
    }
}

impl DurationHistogram {
    /// Halves every weight now (used to fade two histograms together).
    fn fade(&mut self) {
        for weight in &mut self.weights {
            *weight *= 0.5;
        }
        self.total *= 0.5;
        self.weighted_sum *= 0.5;
        self.dirty = true;
    }
}

/// How long agents talk.
#[derive(Clone, Debug)]
pub struct TalkModel {
    talk: DurationHistogram,
}

impl TalkModel {
    pub fn new() -> TalkModel {
        TalkModel {
            talk: DurationHistogram::new(2.0, 3_600.0, 1_500.0),
        }
    }

    pub fn record(&mut self, seconds: f64) {
        self.talk.record(seconds);
    }

    pub fn refresh(&mut self) {
        self.talk.refresh();
    }

    pub fn observations(&self) -> u64 {
        self.talk.observations()
    }

    pub fn mean(&self) -> f64 {
        self.talk.mean()
    }

    /// For a talk already `elapsed` long: `(F(elapsed), 1 − F(elapsed))` as weights, or `None`
    /// when too little was seen that long to condition on (then use [`TalkModel::tail_ends_within`]).
    pub fn condition_on(&self, elapsed: f64) -> Option<(f64, f64)> {
        let total = self.talk.total();
        let done = self.talk.weight_up_to(elapsed);
        let remaining = total - done;
        if total <= 0.0 || remaining <= 0.02 * total || elapsed >= self.talk.range_seconds() {
            None
        } else {
            Some((done, remaining))
        }
    }

    /// `out[k]` = weight of talks at or below `start + k × stride`.
    pub fn weights_along(&self, start: f64, stride: f64, out: &mut [f64]) {
        self.talk.weights_along(start, stride, out);
    }

    /// Weight of talks at or below `seconds` (unnormalised).
    pub fn weight_up_to(&self, seconds: f64) -> f64 {
        self.talk.weight_up_to(seconds)
    }

    /// Past everything seen: an exponential tail with the mean talk time.
    pub fn tail_ends_within(&self, within: f64) -> f64 {
        if within <= 0.0 {
            return 0.0;
        }
        let mean = self.mean().max(1.0);
        1.0 - (-within / mean).exp()
    }

    /// Probability that a talk already `elapsed` seconds long ends within the next `within`:
    /// `(F(s + t) − F(s)) / (1 − F(s))`. Past everything seen so far, an exponential tail with
    /// the mean talk time.
    pub fn ends_within(&self, elapsed: f64, within: f64) -> f64 {
        if within <= 0.0 || self.talk.total() <= 0.0 {
            return 0.0;
        }
        match self.condition_on(elapsed) {
            Some((done, remaining)) => {
                ((self.talk.weight_up_to(elapsed + within) - done) / remaining).clamp(0.0, 1.0)
            }
            None => self.tail_ends_within(within),
        }
    }
}

impl Default for TalkModel {
    fn default() -> Self {
        TalkModel::new()
    }
}

/// A mean that follows recent values (exponentially weighted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct RecentMean {
    value: f64,
    count: u64,
}

impl RecentMean {
    const WEIGHT: f64 = 0.05;

    pub fn record(&mut self, value: f64) {
        self.count += 1;
        let weight = Self::WEIGHT.max(1.0 / self.count as f64);
        self.value += weight * (value - self.value);
    }

    pub fn value(&self) -> f64 {
        self.value
    }

    pub fn count(&self) -> u64 {
        self.count
    }
}

/// Everything learned so far.
#[derive(Clone, Debug)]
pub struct Estimates {
    pub dials: DialOutcomeModel,
    pub talk: TalkModel,
    /// From a person's answer until they are in the queue.
    pub queue_entry_delay: RecentMean,
    /// From an agent being offered a call until the agent answers.
    pub agent_answer_delay: RecentMean,
    /// Answered calls (person or machine) that turned out to be a person.
    pub person_answers: u64,
    pub machine_answers: u64,
}

impl Estimates {
    /// `max_dial_seconds`: the longest a dial can take to resolve (ring timeout plus grace).
    pub fn new(max_dial_seconds: f64) -> Estimates {
        Estimates {
            dials: DialOutcomeModel::new(max_dial_seconds),
            talk: TalkModel::new(),
            queue_entry_delay: RecentMean::default(),
            agent_answer_delay: RecentMean::default(),
            person_answers: 0,
            machine_answers: 0,
        }
    }

    pub fn refresh(&mut self) {
        self.dials.refresh();
        self.talk.refresh();
    }

    /// Share of answered calls (in the `answered` state) that are persons, not machines.
    pub fn person_share_of_answers(&self) -> f64 {
        let total = self.person_answers + self.machine_answers;
        if total == 0 {
            1.0
        } else {
            self.person_answers as f64 / total as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_dial_model_learns_the_answer_probability_and_timing() {
        let mut model = DialOutcomeModel::new(40.0);
        for i in 0..1000 {
            let live = i % 10 < 3;
            let seconds = if live { 3.0 + (i % 13) as f64 } else { 25.0 };
            model.record(seconds, live);
        }
        model.refresh();
        assert!((model.p_live() - 0.3).abs() < 0.01, "{}", model.p_live());
        assert!(model.live_by(2.0) < 1e-9);
        assert!((model.live_by(30.0) - model.p_live()).abs() < 1e-9);
        // A dial still ringing at 20 s will not be answered by a person: all answers came by 15 s.
        assert!(model.live_within(20.0, 10.0) < 1e-9);
        // At age 0 the chance within 40 s is the answer probability.
        assert!((model.live_within(0.0, 40.0) - model.p_live()).abs() < 1e-9);
    }

    #[test]
    fn talk_is_conditional_on_elapsed_time() {
        let mut model = TalkModel::new();
        // Talks of exactly 100 s or exactly 300 s.
        for i in 0..400 {
            model.record(if i % 2 == 0 { 100.0 } else { 300.0 });
        }
        model.refresh();
        // Fresh talk: half end by ~110 s.
        assert!((model.ends_within(0.0, 110.0) - 0.5).abs() < 0.02);
        // Having passed 110 s, it is one of the 300-s talks: none ends in the next 100 s.
        assert!(model.ends_within(110.0, 100.0) < 1e-9);
        assert!(model.ends_within(110.0, 200.0) > 0.98);
    }

    #[test]
    fn weights_along_agree_with_point_lookups() {
        let mut histogram = DurationHistogram::new(0.25, 40.0, f64::INFINITY);
        for i in 0..500 {
            histogram.record(f64::from(i % 97) * 0.37);
        }
        histogram.refresh();
        for (start, stride) in [(0.3, 1.0), (3.1, 0.5), (7.77, 0.3), (39.0, 1.0), (0.0, 1.0)] {
            let mut along = [0.0; 12];
            histogram.weights_along(start, stride, &mut along);
            for (k, value) in along.iter().enumerate() {
                let expected = histogram.weight_up_to(start + k as f64 * stride);
                assert!((value - expected).abs() < 1e-9, "{start} {stride} {k}");
            }
        }
    }

    #[test]
    fn recent_mean_follows_values() {
        let mut mean = RecentMean::default();
        mean.record(4.0);
        assert_eq!(mean.value(), 4.0);
        for _ in 0..200 {
            mean.record(1.0);
        }
        assert!((mean.value() - 1.0).abs() < 1e-3);
    }

    proptest! {
        #[test]
        fn conditional_probabilities_are_probabilities_and_grow_with_time(
            samples in proptest::collection::vec((0.0f64..60.0, any::<bool>()), 1..200),
            age in 0.0f64..40.0,
            a in 0.0f64..30.0,
            b in 0.0f64..30.0,
        ) {
            let mut model = DialOutcomeModel::new(40.0);
            let mut talk = TalkModel::new();
            for (seconds, live) in &samples {
                model.record(*seconds, *live);
                talk.record(seconds * 10.0);
            }
            model.refresh();
            talk.refresh();
            let (short, long) = if a < b { (a, b) } else { (b, a) };
            let p_short = model.live_within(age, short);
            let p_long = model.live_within(age, long);
            prop_assert!((0.0..=1.0).contains(&p_short));
            prop_assert!(p_short <= p_long + 1e-12);
            let t_short = talk.ends_within(age * 10.0, short * 10.0);
            let t_long = talk.ends_within(age * 10.0, long * 10.0);
            prop_assert!((0.0..=1.0).contains(&t_short));
            prop_assert!(t_short <= t_long + 1e-12);
        }
    }
}
