//! Adaptive ratio: a re-implementation of VICIdial's ADAPT dial-level controller
//! (`AST_VDadapt.pl`, `calculate_dial_level`, and the placement rule of `AST_VDauto_dial.pl`),
//! the baseline users coming from VICIdial know. Described in §2.1 of the pacing brief.
//!
//! **Sampling** (every tick, one per second): ready agents R (idle), answered calls waiting for
//! an agent W, logged-in agents A. The last 15 samples are kept.
//!
//! **Dial level update** (every 15 samples): with means R̄, W̄, Ā over the 15 samples (sums
//! divided by 15), the differential Δ = R̄ − W̄ plus the target T (`diff_target`); the relative
//! error m = (Δ + T)/Ā (0 if either is 0); intensity I (percent): m′ = m·(1 + I/100) if m ≥ 0,
//! m·|I/100 − 1| if m < 0; the new level L′ = L·(1 + m′), rounded to 3 decimals, clamped to
//! [1, `maximum_level`]. Then the drop overrides:
//! - more than 20 calls in the last minute and more than 50% of them dropped: L′ ← L′/2;
//! - more than 50 calls today and today's drops over answers above `dropped_percentage`:
//!   HARD_LIMIT sets L′ = 1; AVERAGE halves it; TAPERED multiplies it by min(1, h/1000) where
//!   h = `latest_server_time` − now, both as HHMM integers (VICIdial's arithmetic, so 21:00 −
//!   19:55 = 145), or sets 1 once past the latest time;
//! - fewer logged-in agents than `level_threshold_agents`: L′ = 1;
//! - finally L′ ≥ 1.
//!
//! A "drop" is a compliance abandon (not connected within the campaign's threshold, VICIdial's
//! `drop_call_seconds`); "calls" are dials; "today" is since the last midnight of engine time.
//!
//! **Placement** (at most every `placement_interval`, 2.5 s like the auto-dial loop): agents
//! counted C = ready + in-call (only ready with `available_only_tally`), goal = round(L × C),
//! dials = goal − active calls (dialing, ringing, waiting in the queue, with agents).
//!
//! A state machine: `(level, samples, last placement) + input -> decision`. No clock.

use super::{Decision, PacingInput, PacingStrategy, Strategy, StrategyNote, secs};
use crate::time::SimTime;
use serde::{Deserialize, Serialize};

/// VICIdial's three ADAPT dial methods, which differ in what today's drop rate does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdaptVariant {
    /// ADAPT_HARD_LIMIT: dial level 1 once today's drop rate passes the limit.
    HardLimit,
    /// ADAPT_AVERAGE: halve the level.
    Average,
    /// ADAPT_TAPERED: taper towards the latest server time.
    Tapered,
}

impl AdaptVariant {
    pub fn as_str(self) -> &'static str {
        match self {
            AdaptVariant::HardLimit => "hard_limit",
            AdaptVariant::Average => "average",
            AdaptVariant::Tapered => "tapered",
        }
    }
}

/// VICIdial's campaign settings for ADAPT, under their VICIdial names where they have one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveSettings {
    pub variant: AdaptVariant,
    /// `auto_dial_level` at the start.
    pub initial_level: f64,
    /// `adaptive_maximum_level` (VICIdial's default 3.0).
    pub maximum_level: f64,
    /// `adaptive_dropped_percentage` (default 3).
    pub dropped_percentage: f64,
    /// `adaptive_intensity`, percent (default 0).
    pub intensity: f64,
    /// `adaptive_dl_diff_target`: −1 aims at one idle agent, +1 at one waiting call.
    pub diff_target: f64,
    /// `adaptive_latest_server_time`, HHMM (default 2100).
    pub latest_server_time: u32,
    /// How often calls are placed, in seconds (the auto-dial loop: 2.5 s).
    pub placement_interval: f64,
    /// `available_only_ratio_tally`: count only ready agents.
    pub available_only_tally: bool,
    /// `dial_level_threshold` with LOGGED-IN_AGENTS: below this many agents, level 1 (0: off).
    pub level_threshold_agents: u32,
}

impl Default for AdaptiveSettings {
    fn default() -> Self {
        AdaptiveSettings {
            variant: AdaptVariant::HardLimit,
            initial_level: 1.0,
            maximum_level: 3.0,
            dropped_percentage: 3.0,
            intensity: 0.0,
            diff_target: 0.0,
            latest_server_time: 2100,
            placement_interval: 2.5,
            available_only_tally: false,
            level_threshold_agents: 0,
        }
    }
}

/// Samples the controller keeps (VICIdial's `$stat_it`).
const SAMPLES: usize = 15;

/// One second's sample.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Sample {
    ready: u32,
    waiting: u32,
    agents: u32,
}

/// The level controller's inputs and result at the last update, and the last placement.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AdaptiveNote {
    pub level: f64,
    pub variant: AdaptVariant,
    /// Agents counted and active calls at the last placement.
    pub agents_counted: u32,
    pub active_calls: u32,
    pub goal: u32,
    /// The last update's differential R̄ − W̄ + T and mean agents Ā.
    pub differential: f64,
    pub mean_agents: f64,
    /// Which drop override, if any, cut the level at the last update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_rule: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AdaptiveRatio {
    settings: AdaptiveSettings,
    level: f64,
    samples: [Sample; SAMPLES],
    sampled: usize,
    since_update: usize,
    last_placement: Option<SimTime>,
    note: AdaptiveNote,
}

impl AdaptiveRatio {
    pub fn new(settings: AdaptiveSettings) -> AdaptiveRatio {
        let level = settings.initial_level.max(1.0);
        AdaptiveRatio {
            settings,
            level,
            samples: [Sample::default(); SAMPLES],
            sampled: 0,
            since_update: 0,
            last_placement: None,
            note: AdaptiveNote {
                level,
                variant: settings.variant,
                agents_counted: 0,
                active_calls: 0,
                goal: 0,
                differential: 0.0,
                mean_agents: 0.0,
                override_rule: None,
            },
        }
    }

    /// New settings, keeping the current level and samples (as VICIdial does when an admin
    /// edits the campaign).
    pub fn set_settings(&mut self, settings: AdaptiveSettings) {
        self.settings = settings;
        self.level = self.level.clamp(1.0, settings.maximum_level.max(1.0));
        self.note.variant = settings.variant;
    }

    pub fn level(&self) -> f64 {
        self.level
    }

    /// Takes one sample; true if it completed 15 and the level was recalculated.
    fn sample(&mut self, input: &PacingInput<'_>) -> bool {
        let snapshot = input.snapshot;
        self.samples[self.sampled % SAMPLES] = Sample {
            ready: snapshot.idle_agents(),
            waiting: snapshot.calls_queued,
            agents: snapshot.agents_logged_in,
        };
        self.sampled += 1;
        self.since_update += 1;
        if self.since_update >= SAMPLES {
            self.since_update = 0;
            self.update_level(input);
            return true;
        }
        false
    }

    /// `calculate_dial_level`.
    fn update_level(&mut self, input: &PacingInput<'_>) {
        let settings = self.settings;
        let count = self.sampled.min(SAMPLES);
        let sum = |field: fn(&Sample) -> u32| -> f64 {
            self.samples[..count]
                .iter()
                .map(|s| f64::from(field(s)))
                .sum::<f64>()
        };
        let ready = sum(|s| s.ready) / SAMPLES as f64;
        let waiting = sum(|s| s.waiting) / SAMPLES as f64;
        let agents = sum(|s| s.agents) / SAMPLES as f64;
        let differential = ready - waiting + settings.diff_target;
        let relative = if differential != 0.0 && agents != 0.0 {
            differential / agents
        } else {
            0.0
        };
        let intensity = settings.intensity / 100.0;
        let adjusted = if relative < 0.0 {
            relative * (intensity - 1.0).abs()
        } else {
            relative * (intensity + 1.0)
        };
        let mut level = round_to(self.level * (adjusted + 1.0), 3);
        if level > settings.maximum_level {
            level = settings.maximum_level;
        }
        if level < 1.0 {
            level = 1.0;
        }
        let mut override_rule = None;
        if let Some(abandon) = input.abandon {
            let minute = abandon.last_minute;
            let minute_drop_percent = round_to(minute.drops_per_dial() * 100.0, 2);
            if minute.dials > 20 && minute_drop_percent > 50.0 {
                level /= 2.0;
                override_rule = Some("last_minute_over_50_percent");
            }
            let today = abandon.today;
            let today_drop_percent = if today.live_answers > 0 {
                round_to(
                    today.compliance_abandons as f64 / today.live_answers as f64 * 100.0,
                    2,
                )
            } else {
                0.0
            };
            if today.dials > 50 && today_drop_percent > settings.dropped_percentage {
                match settings.variant {
                    AdaptVariant::HardLimit => {
                        level = 1.0;
                        override_rule = Some("hard_limit");
                    }
                    AdaptVariant::Average => {
                        level /= 2.0;
                        override_rule = Some("average");
                    }
                    AdaptVariant::Tapered => {
                        let left =
                            tapered_hours_left(settings.latest_server_time, input.snapshot.now);
                        if left < 0 {
                            level = 1.0;
                        } else {
                            level *= tapered_rate(left);
                        }
                        override_rule = Some("tapered");
                    }
                }
            }
        }
        if settings.level_threshold_agents > input.snapshot.agents_logged_in {
            level = 1.0;
            override_rule = Some("level_threshold_agents");
        }
        if level < 1.0 {
            level = 1.0;
        }
        self.level = level;
        self.note.level = level;
        self.note.differential = differential;
        self.note.mean_agents = agents;
        self.note.override_rule = override_rule;
    }
}

/// `sprintf("%.Nf")`: rounds half away from zero at `places` decimals.
fn round_to(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// `adaptive_latest_server_time − current HHMM`, as VICIdial subtracts them: integers.
pub fn tapered_hours_left(latest_hhmm: u32, now: SimTime) -> i64 {
    let seconds_of_day = (now.as_micros() / 1_000_000) % 86_400;
    let hhmm = (seconds_of_day / 3600) * 100 + (seconds_of_day % 3600) / 60;
    i64::from(latest_hhmm) - hhmm as i64
}

/// The TAPERED factor: 1 with more than 1000 "HHMM units" left, else left/1000.
pub fn tapered_rate(hours_left: i64) -> f64 {
    if hours_left > 1000 {
        1.0
    } else {
        hours_left as f64 / 1000.0
    }
}

impl PacingStrategy for AdaptiveRatio {
    fn name(&self) -> &'static str {
        "adaptive_ratio"
    }

    fn settings(&self) -> Strategy {
        Strategy::AdaptiveRatio(self.settings)
    }

    fn needs_tick(&self) -> bool {
        true
    }

    fn needs_abandon(&self) -> bool {
        true
    }

    fn on_tick(&mut self, input: &PacingInput<'_>) -> Option<StrategyNote> {
        self.sample(input)
            .then_some(StrategyNote::Adaptive(self.note))
    }

    fn decide(&mut self, input: &PacingInput<'_>) -> Decision {
        let snapshot = input.snapshot;
        let interval = secs(self.settings.placement_interval);
        if let Some(last) = self.last_placement
            && snapshot.now < last + interval
        {
            return Decision::none(self.note.goal);
        }
        self.last_placement = Some(snapshot.now);
        let ready = snapshot.idle_agents();
        let counted = if self.settings.available_only_tally {
            ready
        } else {
            ready + snapshot.agents_on_calls
        };
        let goal = (self.level * f64::from(counted)).round() as u32;
        let active = snapshot.dials_in_flight + snapshot.calls_queued + snapshot.agents_on_calls;
        self.note.agents_counted = counted;
        self.note.active_calls = active;
        self.note.goal = goal;
        Decision::capped(goal.saturating_sub(active), goal, snapshot)
    }

    fn wake_at(&self) -> Option<SimTime> {
        self.last_placement
            .map(|last| last + secs(self.settings.placement_interval))
    }

    fn note(&self) -> Option<StrategyNote> {
        Some(StrategyNote::Adaptive(self.note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pacing::PacingSnapshot;
    use crate::pacing::abandon::{AbandonCounts, AbandonSettings, AbandonView};
    use crate::pacing::test_support::{any_snapshot, snapshot};
    use proptest::prelude::*;

    fn view(minute: AbandonCounts, today: AbandonCounts) -> AbandonView {
        AbandonView {
            settings: AbandonSettings::default(),
            answers_per_dial: 0.3,
            window_denominator: 0,
            window_abandons: 0,
            window_rate: 0.0,
            allowed_rate: 0.0,
            last_minute: minute,
            today,
        }
    }

    /// Feeds 15 one-second samples of the same snapshot.
    fn run_15_seconds(
        adaptive: &mut AdaptiveRatio,
        snapshot: PacingSnapshot,
        abandon: &AbandonView,
    ) {
        for second in 0..15 {
            let mut at = snapshot;
            at.now = snapshot.now + secs(f64::from(second));
            adaptive.on_tick(&PacingInput {
                abandon: Some(abandon),
                ..PacingInput::counts_only(&at)
            });
        }
    }

    #[test]
    fn idle_agents_raise_the_level_proportionally() {
        let mut adaptive = AdaptiveRatio::new(AdaptiveSettings::default());
        let calm = view(AbandonCounts::default(), AbandonCounts::default());
        // 20 agents, 5 idle: m = 5/20, L = 1 × 1.25.
        run_15_seconds(&mut adaptive, snapshot(20, 15, 0, 0), &calm);
        assert!(
            (adaptive.level() - 1.25).abs() < 1e-12,
            "{}",
            adaptive.level()
        );
        // Callers waiting push it back down, never below 1.
        let mut waiting = snapshot(20, 20, 0, 0);
        waiting.calls_queued = 10;
        run_15_seconds(&mut adaptive, waiting, &calm);
        assert_eq!(adaptive.level(), 1.0);
    }

    #[test]
    fn intensity_speeds_increases() {
        let settings = AdaptiveSettings {
            intensity: 40.0,
            ..AdaptiveSettings::default()
        };
        let mut adaptive = AdaptiveRatio::new(settings);
        let calm = view(AbandonCounts::default(), AbandonCounts::default());
        run_15_seconds(&mut adaptive, snapshot(20, 15, 0, 0), &calm);
        assert!(
            (adaptive.level() - 1.35).abs() < 1e-12,
            "{}",
            adaptive.level()
        );
    }

    #[test]
    fn the_level_is_capped_at_the_maximum() {
        let mut adaptive = AdaptiveRatio::new(AdaptiveSettings {
            initial_level: 2.8,
            ..AdaptiveSettings::default()
        });
        let calm = view(AbandonCounts::default(), AbandonCounts::default());
        run_15_seconds(&mut adaptive, snapshot(20, 0, 0, 0), &calm);
        assert_eq!(adaptive.level(), 3.0);
    }

    fn over_limit_today() -> AbandonCounts {
        AbandonCounts {
            dials: 200,
            live_answers: 60,
            reached_queue: 60,
            compliance_abandons: 3,
            true_abandons: 0,
        }
    }

    #[test]
    fn drop_overrides_follow_the_variant() {
        let today = over_limit_today(); // 5% of answers dropped
        let settings = |variant| AdaptiveSettings {
            variant,
            initial_level: 2.0,
            ..AdaptiveSettings::default()
        };
        let at = |hhmm_secs: u64| {
            let mut s = snapshot(20, 20, 0, 0);
            s.now = SimTime::from_secs(hhmm_secs);
            s
        };
        let over = view(AbandonCounts::default(), today);
        let mut hard = AdaptiveRatio::new(settings(AdaptVariant::HardLimit));
        run_15_seconds(&mut hard, at(3600), &over);
        assert_eq!(hard.level(), 1.0);
        let mut average = AdaptiveRatio::new(settings(AdaptVariant::Average));
        run_15_seconds(&mut average, at(3600), &over);
        assert_eq!(average.level(), 1.0, "2.0 halved");
        // Tapered at 19:55 with latest 21:00: HHMM 2100 − 1955 = 145 → ×0.145, floored at 1.
        let mut tapered = AdaptiveRatio::new(AdaptiveSettings {
            initial_level: 3.0,
            ..settings(AdaptVariant::Tapered)
        });
        run_15_seconds(&mut tapered, at(19 * 3600 + 55 * 60 - 14), &over);
        assert_eq!(tapered.level(), 1.0);
        assert_eq!(
            tapered_hours_left(2100, SimTime::from_secs(19 * 3600 + 55 * 60)),
            145
        );
        assert!((tapered_rate(145) - 0.145).abs() < 1e-12);
        // Early in the day the taper has full strength.
        let mut early = AdaptiveRatio::new(AdaptiveSettings {
            initial_level: 3.0,
            ..settings(AdaptVariant::Tapered)
        });
        run_15_seconds(&mut early, at(9 * 3600), &over);
        assert_eq!(early.level(), 3.0);
    }

    #[test]
    fn a_minute_of_mostly_drops_halves_the_level() {
        let minute = AbandonCounts {
            dials: 30,
            live_answers: 20,
            reached_queue: 20,
            compliance_abandons: 16,
            true_abandons: 0,
        };
        let mut adaptive = AdaptiveRatio::new(AdaptiveSettings {
            initial_level: 3.0,
            ..AdaptiveSettings::default()
        });
        run_15_seconds(
            &mut adaptive,
            snapshot(20, 20, 0, 0),
            &view(minute, AbandonCounts::default()),
        );
        assert_eq!(adaptive.level(), 1.5);
    }

    #[test]
    fn places_goal_minus_active_calls_every_interval() {
        let mut adaptive = AdaptiveRatio::new(AdaptiveSettings {
            initial_level: 2.0,
            ..AdaptiveSettings::default()
        });
        // 10 agents: 4 ready, 6 in call; 3 dials in flight, 1 waiting.
        let mut s = snapshot(10, 6, 0, 3);
        s.calls_queued = 1;
        let decision = adaptive.decide(&PacingInput::counts_only(&s));
        assert_eq!((decision.target, decision.dial), (20, 10)); // 20 − (3 + 1 + 6)
        // Within the placement interval nothing is placed.
        s.now = SimTime::from_secs(2);
        assert_eq!(adaptive.decide(&PacingInput::counts_only(&s)).dial, 0);
        assert_eq!(adaptive.wake_at(), Some(SimTime::ZERO + secs(2.5)));
    }

    proptest! {
        /// The level stays within [1, maximum] whatever happens.
        #[test]
        fn the_level_stays_within_bounds(
            initial in 1.0f64..3.0,
            maximum in 1.0f64..5.0,
            intensity in -40.0f64..40.0,
            snapshots in proptest::collection::vec(any_snapshot(), 15..60),
        ) {
            let settings = AdaptiveSettings {
                initial_level: initial.min(maximum),
                maximum_level: maximum,
                intensity,
                ..AdaptiveSettings::default()
            };
            let mut adaptive = AdaptiveRatio::new(settings);
            for snapshot in &snapshots {
                adaptive.on_tick(&PacingInput::counts_only(snapshot));
                prop_assert!(adaptive.level() >= 1.0 && adaptive.level() <= maximum.max(1.0) + 1e-9);
            }
        }

        /// More ready agents never lower the number placed at a placement.
        #[test]
        fn placement_is_monotone_in_ready_agents(
            level in 1.0f64..3.0,
            base in any_snapshot(),
            extra in 0u32..10,
        ) {
            let settings = AdaptiveSettings { initial_level: level, ..AdaptiveSettings::default() };
            let mut more = base;
            more.agents_logged_in += extra;
            let fewer_dials = AdaptiveRatio::new(settings).decide(&PacingInput::counts_only(&base)).dial;
            let more_dials = AdaptiveRatio::new(settings).decide(&PacingInput::counts_only(&more)).dial;
            prop_assert!(more_dials >= fewer_dials);
        }
    }
}
