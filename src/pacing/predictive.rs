//! Predictive pacing: a closed-loop model of answers and agents over the next few seconds,
//! choosing how many dials to place so that the chance an answered call waits past the
//! compliance threshold stays within what the abandon budget allows now.
//!
//! Inputs (from the campaign's ledger): every dial in flight with its age; every busy agent with
//! the time their call started; agents in wrap-up with when it ends; calls waiting; and
//! distributions learned online from the campaign's own calls (time to a live answer, time to
//! any other end, talk time). From them, on a grid of look-ahead times `h` up to the time by
//! which 99% of live answers come:
//!
//! - **demand** D(h): callers waiting now, plus live answers by `h` from the dials in flight,
//!   each with `P(answered by a person within h | still ringing at its age)`, plus `n` new dials
//!   each with `P(answered by a person within h)`;
//! - **supply** S(h + θ): idle agents, plus each busy agent with
//!   `P(talk ends within h + θ − wrap-up | talked s so far)` (the conditional, not Issabel's
//!   unconditional CDF), plus wrap-ups ending by then; θ is the compliance threshold less the
//!   learned delays from answer to queue and from offer to agent.
//!
//! Callers are served first come first served, so a caller answered at `h` is connected in time
//! if the supply by `h + θ` exceeds the callers answered before them. With the sums treated as
//! normal (means and variances of independent Bernoulli terms, continuity corrected), the
//! probability that an answer in step `k` waits too long is
//! `P_k = Φ((E[D(h_{k−1})] + ½ new answers in the step − E[S(h_k + θ)] + ½) / σ)`.
//! The risk of `n` new dials is either the chance that the last new dial's answer waits too long
//! (`marginal`, the default) or the expected share of all answers in the look-ahead that wait too
//! long (`average`). The controller places the largest `n` whose risk is within the allowed rate
//! of the budget controller ([`super::abandon::allowed_rate`]); the budget's slack closes the
//! loop on the rate actually achieved.
//!
//! Until enough outcomes and talks are seen, the estimates are undefined: it dials like
//! progressive and says so in the trace (`warming_up`).
//!
//! Cost: O(look-ahead steps × (in-flight age groups + busy agents)) per decision; the supply
//! side is cached until an agent changes state or time moves on by a step. No allocation once
//! the scratch buffers have grown. A state machine over the input: no clock, no randomness.

use super::ledger::DetailTracker;
use super::progressive::Progressive;
use super::{Decision, PacingInput, PacingStrategy, Strategy, StrategyNote};
use crate::time::SimTime;
use serde::{Deserialize, Serialize};

/// How the risk of new dials is judged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    #[default]
    /// The chance that the last new dial's answer waits past the threshold.
    Marginal,
    /// The expected share of all answers in the look-ahead that wait past the threshold.
    Average,
}

impl Criterion {
    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::Marginal => "marginal",
            Criterion::Average => "average",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictiveSettings {
    /// Dial outcomes to see before the model is trusted.
    pub min_dial_outcomes: u32,
    /// Live answers to see before the model is trusted.
    pub min_live_answers: u32,
    /// Finished talks to see before the model is trusted.
    pub min_talks: u32,
    pub criterion: Criterion,
    /// Multiplies the budget's allowed rate before comparing it with the risk.
    pub aggressiveness: f64,
    /// Look-ahead step, in seconds.
    pub step_seconds: f64,
    /// Most dials one decision may add.
    pub max_dials_per_decision: u32,
}

impl Default for PredictiveSettings {
    fn default() -> Self {
        PredictiveSettings {
            min_dial_outcomes: 40,
            min_live_answers: 10,
            min_talks: 5,
            criterion: Criterion::Marginal,
            aggressiveness: 1.0,
            step_seconds: 1.0,
            max_dials_per_decision: 500,
        }
    }
}

/// The inputs, estimates and result of the last decision, for the trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PredictiveNote {
    /// True while the estimates are undefined and the strategy dials like progressive.
    pub warming_up: bool,
    pub criterion: Criterion,
    pub dial_outcomes: u64,
    pub live_answers: u64,
    pub talks: u64,
    /// Learned probability that a dial is answered by a person.
    pub p_live: f64,
    /// Learned mean time from dial to a live answer, seconds.
    pub mean_answer_seconds: f64,
    /// Learned mean talk time, seconds.
    pub mean_talk_seconds: f64,
    /// Look-ahead, seconds, and the effective threshold θ.
    pub horizon_seconds: f64,
    pub threshold_seconds: f64,
    pub idle_agents: u32,
    pub busy_agents: u32,
    pub dials_in_flight: u32,
    pub calls_waiting: u32,
    /// Agents expected to become free within the look-ahead plus θ.
    pub about_to_free: f64,
    /// Live answers expected within the look-ahead from the dials in flight.
    pub expected_answers: f64,
    /// The rate the risk was held to.
    pub allowed: f64,
    /// The risk with the dials chosen, and with one more.
    pub risk: f64,
    pub risk_next: f64,
    /// Dials chosen.
    pub chosen: u32,
    /// The abandon guard was engaged, so the model was not consulted (progressive).
    pub guard_engaged: bool,
}

#[derive(Clone, Debug)]
pub struct Predictive {
    settings: PredictiveSettings,
    note: PredictiveNote,
    /// Cumulative demand from what is already in flight or waiting, mean and variance, at h_k.
    demand_mean: Vec<f64>,
    demand_var: Vec<f64>,
    /// Supply of busy agents and wrap-ups by h_k + θ, mean and variance (idle agents are
    /// added in [`Predictive::expected_abandons`]); cached under `supply_key`.
    supply_mean: Vec<f64>,
    /// Idle agents now.
    idle: f64,
    /// Agents in wrap-up free by h_k + θ.
    wrap_up_supply: Vec<f64>,
    supply_var: Vec<f64>,
    supply_key: Option<SupplyKey>,
    /// A fresh dial's probability of a live answer by h_k.
    fresh: Vec<f64>,
    /// (age, count) groups of dials in flight.
    groups: Vec<(f64, f64)>,
    /// Scratch for table walks.
    along: Vec<f64>,
}

/// What the cached supply depends on.
#[derive(Clone, Copy, Debug, PartialEq)]
struct SupplyKey {
    agents_version: u64,
    /// Time in whole look-ahead steps.
    step: u64,
    steps: usize,
    threshold: f64,
}

impl Predictive {
    pub fn new(settings: PredictiveSettings) -> Predictive {
        Predictive {
            settings,
            note: PredictiveNote::default(),
            demand_mean: Vec::new(),
            demand_var: Vec::new(),
            supply_mean: Vec::new(),
            supply_var: Vec::new(),
            supply_key: None,
            idle: 0.0,
            wrap_up_supply: Vec::new(),
            fresh: Vec::new(),
            groups: Vec::new(),
            along: Vec::new(),
        }
    }

    pub fn set_settings(&mut self, settings: PredictiveSettings) {
        self.settings = settings;
        self.supply_key = None;
    }

    fn warm_up(&mut self, input: &PacingInput<'_>, mut note: PredictiveNote) -> Decision {
        note.warming_up = true;
        let decision = Progressive.decide(input);
        note.chosen = decision.dial;
        self.note = note;
        decision
    }

    /// Demand from callers waiting and dials in flight, at each h_k.
    fn build_demand(
        &mut self,
        detail: &DetailTracker,
        now: SimTime,
        steps: usize,
        step: f64,
        waiting: f64,
        unplaced: u32,
    ) {
        let dials = &detail.estimates.dials;
        self.groups.clear();
        // Dials in flight, oldest first, grouped by age in half steps.
        let half = step / 2.0;
        for dialed_at in detail.inflight() {
            let age = now.saturating_since(dialed_at).as_secs_f64();
            let bucket = (age / half).floor() * half;
            match self.groups.last_mut() {
                Some((group_age, count)) if *group_age == bucket => *count += 1.0,
                _ => self.groups.push((bucket, 1.0)),
            }
        }
        if unplaced > 0 {
            self.groups.push((0.0, f64::from(unplaced)));
        }
        self.demand_mean.clear();
        self.demand_var.clear();
        self.demand_mean.resize(steps + 1, waiting);
        self.demand_var.resize(steps + 1, 0.0);
        self.along.resize(steps + 1, 0.0);
        for &(age, count) in &self.groups {
            let remaining = dials.unresolved_weight(age);
            if remaining <= 1e-9 {
                continue;
            }
            // along[k] = live weight by age + k·step; along[0] is the weight before.
            dials.live_weights_along(age, step, &mut self.along);
            let before = self.along[0];
            let scale = 1.0 / remaining;
            for ((mean, var), weight) in self
                .demand_mean
                .iter_mut()
                .zip(self.demand_var.iter_mut())
                .zip(&self.along)
                .skip(1)
            {
                let p = ((weight - before) * scale).clamp(0.0, 1.0);
                *mean += count * p;
                *var += count * p * (1.0 - p);
            }
        }
    }

    /// Supply of busy agents by h_k + θ at each step, cached within one look-ahead step while
    /// no agent changes state (elapsed times are then at most one step stale).
    fn build_supply(
        &mut self,
        detail: &DetailTracker,
        now: SimTime,
        steps: usize,
        step: f64,
        threshold: f64,
    ) {
        let key = SupplyKey {
            agents_version: detail.agents_version(),
            step: (now.as_secs_f64() / step) as u64,
            steps,
            threshold,
        };
        if self.supply_key == Some(key) {
            return;
        }
        self.supply_key = Some(key);
        let talk = &detail.estimates.talk;
        let wrap_up = detail.assumed_wrap_up;
        self.supply_mean.clear();
        self.supply_var.clear();
        self.supply_mean.resize(steps + 1, 0.0);
        self.supply_var.resize(steps + 1, 0.0);
        self.along.resize(steps + 1, 0.0);
        for since in detail.busy_since() {
            let elapsed = now.saturating_since(since).as_secs_f64();
            // The agent is free once the talk ends and the wrap-up is over: within
            // k·step + θ − wrap-up of talk from now.
            let offset = threshold - wrap_up;
            match talk.condition_on(elapsed) {
                Some((done, remaining)) => {
                    talk.weights_along(elapsed + offset, step, &mut self.along);
                    let scale = 1.0 / remaining;
                    for ((mean, var), weight) in self
                        .supply_mean
                        .iter_mut()
                        .zip(self.supply_var.iter_mut())
                        .zip(&self.along)
                    {
                        // Below `done` means the free time has not come yet: probability 0.
                        let q = ((weight - done) * scale).clamp(0.0, 1.0);
                        *mean += q;
                        *var += q * (1.0 - q);
                    }
                }
                None => {
                    for k in 0..=steps {
                        let q = talk.tail_ends_within(k as f64 * step + offset);
                        self.supply_mean[k] += q;
                        self.supply_var[k] += q * (1.0 - q);
                    }
                }
            }
        }
    }

    /// Agents in wrap-up free at known times: counted afresh at every decision (a cached count
    /// would count an agent twice once the wrap-up ends and the agent shows up as idle).
    fn build_wrap_up_supply(
        &mut self,
        detail: &DetailTracker,
        now: SimTime,
        steps: usize,
        step: f64,
        threshold: f64,
    ) {
        self.wrap_up_supply.clear();
        self.wrap_up_supply.resize(steps + 1, 0.0);
        for end in detail.wrap_up_ends() {
            if end <= now {
                continue;
            }
            let frees_in = end.saturating_since(now).as_secs_f64();
            let first = ((frees_in - threshold) / step).ceil().max(0.0) as usize;
            for count in self.wrap_up_supply.iter_mut().skip(first) {
                *count += 1.0;
            }
        }
    }

    /// Expected compliance abandons and live answers among the answers of the look-ahead, with
    /// `n` new dials.
    fn expected_abandons(&self, n: f64, steps: usize) -> (f64, f64) {
        let mut abandons = 0.0;
        let mut answers = 0.0;
        for k in 1..=steps {
            let fresh_step = self.fresh[k] - self.fresh[k - 1];
            let step_answers =
                (self.demand_mean[k] - self.demand_mean[k - 1]).max(0.0) + n * fresh_step;
            let before = self.demand_mean[k - 1] + n * self.fresh[k - 1] + 0.5 * step_answers;
            let variance = self.demand_var[k - 1]
                + n * self.fresh[k - 1] * (1.0 - self.fresh[k - 1])
                + self.supply_var[k]
                + 0.25;
            let supply = self.idle + self.wrap_up_supply[k] + self.supply_mean[k];
            let z = (before - supply + 0.5) / variance.sqrt();
            abandons += step_answers * normal_cdf(z);
            answers += step_answers;
        }
        (abandons, answers)
    }

    /// The risk of `n` new dials by the criterion: the abandons the `n`-th dial adds (its own
    /// and those it causes to callers answered after it) per live answer it brings
    /// (`marginal`), or the share of all answers in the look-ahead that wait too long
    /// (`average`).
    fn risk(&self, n: u32, steps: usize) -> f64 {
        let (abandons, answers) = self.expected_abandons(f64::from(n), steps);
        match self.settings.criterion {
            Criterion::Average => {
                if answers > 0.0 {
                    abandons / answers
                } else {
                    0.0
                }
            }
            Criterion::Marginal => {
                let fresh_total = self.fresh[steps];
                if n == 0 || fresh_total <= 0.0 {
                    return 0.0;
                }
                let (before, _) = self.expected_abandons(f64::from(n - 1), steps);
                ((abandons - before) / fresh_total).max(0.0)
            }
        }
    }
}

impl PacingStrategy for Predictive {
    fn name(&self) -> &'static str {
        "predictive"
    }

    fn settings(&self) -> Strategy {
        Strategy::Predictive(self.settings)
    }

    fn needs_tick(&self) -> bool {
        true
    }

    fn needs_detail(&self) -> bool {
        true
    }

    fn needs_abandon(&self) -> bool {
        true
    }

    fn decide(&mut self, input: &PacingInput<'_>) -> Decision {
        let snapshot = input.snapshot;
        let now = snapshot.now;
        let idle = snapshot.idle_agents();
        let mut note = PredictiveNote {
            criterion: self.settings.criterion,
            idle_agents: idle,
            busy_agents: snapshot.agents_on_calls + snapshot.agents_in_wrap_up,
            dials_in_flight: snapshot.dials_in_flight,
            calls_waiting: snapshot.calls_queued,
            ..PredictiveNote::default()
        };
        let (Some(detail), Some(abandon)) = (input.detail, input.abandon) else {
            return self.warm_up(input, note);
        };
        let estimates = &detail.estimates;
        note.dial_outcomes = estimates.dials.observations();
        note.live_answers = estimates.dials.live_observations();
        note.talks = estimates.talk.observations();
        note.p_live = estimates.dials.p_live();
        note.mean_answer_seconds = estimates.dials.mean_time_to_answer();
        note.mean_talk_seconds = estimates.talk.mean();
        let settings = self.settings;
        if note.dial_outcomes < u64::from(settings.min_dial_outcomes)
            || note.live_answers < u64::from(settings.min_live_answers)
            || note.talks < u64::from(settings.min_talks)
        {
            return self.warm_up(input, note);
        }
        if !snapshot.dialing_open || snapshot.dialable_leads == 0 {
            self.note = note;
            return Decision::capped(0, 0, snapshot);
        }
        if input.guard_engaged {
            // The abandon guard will hold this decision to progressive: no need for the model.
            note.guard_engaged = true;
            let decision = Progressive.decide(input);
            note.chosen = decision.dial;
            self.note = note;
            return decision;
        }

        let step = settings.step_seconds.max(0.05);
        let horizon = estimates.dials.answer_horizon().max(step);
        let steps = (horizon / step).ceil() as usize;
        let threshold = (abandon.settings.threshold.as_secs_f64()
            - estimates.queue_entry_delay.value()
            - estimates.agent_answer_delay.value())
        .max(0.0);
        note.horizon_seconds = steps as f64 * step;
        note.threshold_seconds = threshold;

        let waiting = f64::from(snapshot.calls_queued)
            + f64::from(detail.answered_unqueued) * estimates.person_share_of_answers();
        self.build_demand(detail, now, steps, step, waiting, input.unplaced_dials);
        self.build_supply(detail, now, steps, step, threshold);
        self.build_wrap_up_supply(detail, now, steps, step, threshold);
        self.idle = f64::from(idle);
        self.fresh.clear();
        self.fresh
            .extend((0..=steps).map(|k| estimates.dials.live_by(k as f64 * step)));
        note.about_to_free = self.supply_mean[steps] + self.wrap_up_supply[steps];
        note.expected_answers = self.demand_mean[steps] - waiting;

        let allowed = abandon.allowed_rate * settings.aggressiveness;
        note.allowed = allowed;
        // One dial in flight per idle agent is always safe: start from progressive.
        let safe = Progressive.decide(input).dial;
        let most = settings
            .max_dials_per_decision
            .max(safe)
            .min(u32::try_from(snapshot.dialable_leads).unwrap_or(u32::MAX));
        // The risk grows with the number of dials: gallop up from the safe count, then halve the
        // last step, so a decision costs O(log n) risk evaluations.
        let acceptable = |this: &Self, n: u32| n <= most && this.risk(n, steps) <= allowed;
        let mut chosen = safe;
        let mut step = 1u32;
        while acceptable(self, chosen.saturating_add(step)) {
            chosen += step;
            step = step.saturating_mul(2);
        }
        while step > 1 {
            step /= 2;
            if acceptable(self, chosen.saturating_add(step)) {
                chosen += step;
            }
        }
        let risk = self.risk(chosen, steps);
        let risk_next = self.risk(chosen.saturating_add(1), steps);
        note.risk = risk;
        note.risk_next = risk_next;
        note.chosen = chosen;
        self.note = note;
        let target = snapshot.dials_in_flight + chosen;
        Decision::capped(chosen, target, snapshot)
    }

    fn note(&self) -> Option<StrategyNote> {
        Some(StrategyNote::Predictive(self.note))
    }
}

/// The standard normal CDF, through the complementary error function (fractional error below
/// 1.2e-7, Numerical Recipes' `erfcc`).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 { value } else { 2.0 - value }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AttemptId;
    use crate::pacing::PacingSnapshot;
    use crate::pacing::abandon::{AbandonCounts, AbandonSettings, AbandonView};
    use crate::pacing::test_support::snapshot;
    use proptest::prelude::*;

    /// A tracker that has learned: 30% live answers after 4–14 s, the rest end at 25 s (or 3 s
    /// for 15%), talks of 60–300 s.
    fn learned_tracker() -> DetailTracker {
        learned_tracker_with_wrap_up(10.0)
    }

    fn learned_tracker_with_wrap_up(wrap_up: f64) -> DetailTracker {
        let mut tracker = DetailTracker::new(35.0, wrap_up);
        for i in 0..2_000u32 {
            let live = i % 10 < 3;
            let seconds = if live {
                4.0 + f64::from(i % 11)
            } else if i % 10 < 5 {
                3.0
            } else {
                25.0
            };
            tracker.estimates.dials.record(seconds, live);
        }
        for i in 0..300u32 {
            tracker.estimates.talk.record(60.0 + f64::from(i % 241));
        }
        tracker.refresh(SimTime::ZERO);
        tracker
    }

    fn abandon_view(allowed: f64) -> AbandonView {
        AbandonView {
            settings: AbandonSettings::default(),
            answers_per_dial: 0.3,
            window_denominator: 1_000,
            window_abandons: 20,
            window_rate: 0.02,
            allowed_rate: allowed,
            last_minute: AbandonCounts::default(),
            today: AbandonCounts::default(),
        }
    }

    fn decide(
        predictive: &mut Predictive,
        tracker: &DetailTracker,
        snapshot: &PacingSnapshot,
        allowed: f64,
    ) -> Decision {
        let view = abandon_view(allowed);
        predictive.decide(&PacingInput {
            snapshot,
            abandon: Some(&view),
            detail: Some(tracker),
            unplaced_dials: 0,
            guard_engaged: false,
        })
    }

    #[test]
    fn normal_cdf_is_accurate() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975_002).abs() < 1e-6);
        assert!((normal_cdf(-1.0) - 0.158_655_3).abs() < 1e-6);
        assert!(normal_cdf(-40.0) >= 0.0 && normal_cdf(40.0) <= 1.0);
    }

    #[test]
    fn warms_up_like_progressive_and_says_so() {
        let mut predictive = Predictive::new(PredictiveSettings::default());
        let empty = DetailTracker::new(35.0, 10.0);
        let decision = decide(&mut predictive, &empty, &snapshot(10, 4, 0, 1), 0.03);
        assert_eq!(decision.dial, 5);
        let Some(StrategyNote::Predictive(note)) = predictive.note() else {
            panic!("no note");
        };
        assert!(note.warming_up);
    }

    #[test]
    fn dials_ahead_of_idle_agents_with_budget_and_less_without() {
        let tracker = learned_tracker();
        let mut predictive = Predictive::new(PredictiveSettings::default());
        let idle = snapshot(20, 10, 0, 0);
        let generous = decide(&mut predictive, &tracker, &idle, 0.05).dial;
        assert!(
            generous > 10,
            "10 idle agents, 30% answer: dials {generous}"
        );
        let strict = decide(&mut predictive, &tracker, &idle, 0.001).dial;
        assert!(strict < generous, "{strict} vs {generous}");
        assert!(strict >= 1, "one dial per idle agent is safe: {strict}");
    }

    #[test]
    fn busy_agents_about_to_free_draw_dials_and_fresh_calls_do_not() {
        // No wrap-up, so agents are free the moment their talk ends.
        let mut tracker = learned_tracker_with_wrap_up(0.0);
        let now = SimTime::from_secs(1_000);
        // All 10 agents busy, 290 s into talks of 60–300 s: each ends within 10 s.
        for id in 0..10 {
            tracker.agent_busy(AttemptId(id), SimTime::from_secs(710));
        }
        tracker.refresh(now);
        let mut full = snapshot(10, 10, 0, 0);
        full.now = now;
        let mut predictive = Predictive::new(PredictiveSettings::default());
        let late = decide(&mut predictive, &tracker, &full, 0.03).dial;
        let mut fresh = learned_tracker_with_wrap_up(0.0);
        for id in 0..10 {
            fresh.agent_busy(AttemptId(id), SimTime::from_secs(999));
        }
        fresh.refresh(now);
        let mut predictive = Predictive::new(PredictiveSettings::default());
        let early = decide(&mut predictive, &fresh, &full, 0.03).dial;
        assert!(
            late > early,
            "agents about to free: {late}, just started: {early}"
        );
        assert_eq!(early, 0);
    }

    #[test]
    fn an_agent_out_of_wrap_up_is_counted_once() {
        let mut tracker = learned_tracker();
        tracker.add_wrap_up(SimTime::from_secs(105));
        tracker.refresh(SimTime::from_secs(100));
        let mut predictive = Predictive::new(PredictiveSettings::default());
        let mut before = snapshot(5, 4, 1, 0);
        before.now = SimTime::from_secs(100);
        decide(&mut predictive, &tracker, &before, 0.03);
        let Some(StrategyNote::Predictive(note)) = predictive.note() else {
            panic!("no note");
        };
        assert!((note.about_to_free - 1.0).abs() < 1e-9, "{note:?}");
        // Half a second after the wrap-up ended the agent is idle, and only idle.
        let mut after = snapshot(5, 4, 0, 0);
        after.now = SimTime::from_secs(105) + crate::time::SimDuration::from_millis(500);
        decide(&mut predictive, &tracker, &after, 0.03);
        let Some(StrategyNote::Predictive(note)) = predictive.note() else {
            panic!("no note");
        };
        assert_eq!(note.about_to_free, 0.0, "{note:?}");
        assert_eq!(note.idle_agents, 1);
    }

    proptest! {
        /// More idle agents never mean fewer dials; a larger allowance never means fewer.
        #[test]
        fn monotone_in_idle_agents_and_allowance(
            logged_in in 1u32..60,
            busy in 0u32..60,
            in_flight in 0u32..40,
            extra in 0u32..10,
            allowed in 0.0f64..0.1,
            more_allowed in 0.0f64..0.05,
        ) {
            let tracker = learned_tracker();
            let busy = busy.min(logged_in);
            let base = snapshot(logged_in, busy, 0, in_flight);
            let mut more_idle = base;
            more_idle.agents_logged_in += extra;
            let mut predictive = Predictive::new(PredictiveSettings::default());
            let dials = decide(&mut predictive, &tracker, &base, allowed).dial;
            let with_more_idle = decide(&mut predictive, &tracker, &more_idle, allowed).dial;
            let with_more_allowed = decide(&mut predictive, &tracker, &base, allowed + more_allowed).dial;
            prop_assert!(with_more_idle >= dials);
            prop_assert!(with_more_allowed >= dials);
        }
    }
}
