//! Abandon accounting: how many answered calls the campaign failed, over which window, and how
//! much of the regulator's cap is left to spend.
//!
//! Two kinds of abandon are counted for every call a person answered:
//! - **compliance abandon**: the call was not connected to an agent within the threshold `N`
//!   (default 2 s) of the answer, whatever happened next (FCC, Ofcom, Genesys' "compliance
//!   abandon");
//! - **true abandon**: the person never reached an agent and the call ended in the queue (they
//!   hung up, or the queue dropped them: outcome `abandoned_in_queue`).
//!
//! The rate is compliance abandons over a configurable denominator: all live answers
//! (`live_answers`, FCC) or the answered calls that reached the queue (`reached_queue`, Genesys'
//! CALLS_THAT_REACHED_QUEUE). Counts are kept campaign to date, over a rolling 24 hours (Ofcom)
//! and a rolling 30 days (FCC), plus the last minute and "today since midnight" that VICIdial's
//! adaptive controller reads. Each answered call is counted once, when its fate is known (it
//! connected, or it ended), in the bucket of its answer time. Every update is O(1).
//!
//! On top of the counts sit two pure rules:
//! - the **budget controller** ([`allowed_rate`]): the abandon rate pacing may aim at for the
//!   next stretch, so that the configured window ends at the target: the target plus the unspent
//!   (or overspent) budget spread over the answers expected in the next `spend_horizon`;
//! - the **hard guard** ([`guard_engaged`]): true whenever one more abandon, with every call now
//!   waiting also abandoned, would put the windowed rate above the cap. Pacing then falls back to
//!   progressive (one dial per idle agent) for that decision. For strategies that do not estimate
//!   their own abandons, [`guard_room`] also bounds a decision by the worst case: every answer
//!   expected beyond the idle agents abandoned.
//!
//! A campaign that runs again (a durable campaign restarted, or resumed after a crash) starts
//! with the answers of its earlier runs ([`AbandonLedger::carry_in`]): each counts campaign to
//! date, and in the 24-hour and 30-day windows until it is older than the window, so a restart
//! never resets the regulator's window.
//!
//! No clocks, no actors: times arrive as arguments.

use crate::time::{SimDuration, SimTime};
use serde::Serialize;

/// What the compliance rate is divided by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Denominator {
    /// Every call a person answered (FCC: "calls answered live by a person").
    LiveAnswers,
    /// Answered calls that reached the call queue.
    ReachedQueue,
}

impl Denominator {
    pub fn as_str(self) -> &'static str {
        match self {
            Denominator::LiveAnswers => "live_answers",
            Denominator::ReachedQueue => "reached_queue",
        }
    }
}

/// The window the cap applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AbandonWindow {
    CampaignToDate,
    /// Ofcom: any 24 hours.
    Rolling24h,
    /// FCC: each 30-day period of a campaign.
    Rolling30d,
}

impl AbandonWindow {
    pub fn as_str(self) -> &'static str {
        match self {
            AbandonWindow::CampaignToDate => "campaign_to_date",
            AbandonWindow::Rolling24h => "rolling_24h",
            AbandonWindow::Rolling30d => "rolling_30d",
        }
    }
}

/// How abandons are counted and capped.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AbandonSettings {
    /// An answered call not connected within this is a compliance abandon.
    pub threshold: SimDuration,
    pub denominator: Denominator,
    /// The regulator's cap, as a fraction (0.03 for 3%).
    pub cap: f64,
    /// The rate the budget controller aims at, as a fraction (at most the cap).
    pub target: f64,
    /// The window the cap, the budget and the guard use.
    pub window: AbandonWindow,
    /// Fall back to progressive whenever the windowed rate would pass the cap.
    pub guard: bool,
    /// The budget controller spreads unspent budget over the answers expected in this time.
    pub spend_horizon: SimDuration,
}

impl Default for AbandonSettings {
    fn default() -> Self {
        AbandonSettings {
            threshold: SimDuration::from_secs(2),
            denominator: Denominator::LiveAnswers,
            cap: 0.03,
            target: 0.025,
            window: AbandonWindow::Rolling30d,
            guard: true,
            spend_horizon: SimDuration::from_secs(30 * 60),
        }
    }
}

/// Counts over one stretch of time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AbandonCounts {
    /// Dials placed (campaign to date, last minute and today only).
    pub dials: u64,
    /// Answered by a person, fate known.
    pub live_answers: u64,
    /// Of those, reached the call queue.
    pub reached_queue: u64,
    /// Not connected within the threshold of the answer.
    pub compliance_abandons: u64,
    /// Never reached an agent and ended in the queue.
    pub true_abandons: u64,
}

impl AbandonCounts {
    fn add(&mut self, other: &AbandonCounts) {
        self.dials += other.dials;
        self.live_answers += other.live_answers;
        self.reached_queue += other.reached_queue;
        self.compliance_abandons += other.compliance_abandons;
        self.true_abandons += other.true_abandons;
    }

    fn subtract(&mut self, other: &AbandonCounts) {
        self.dials -= other.dials;
        self.live_answers -= other.live_answers;
        self.reached_queue -= other.reached_queue;
        self.compliance_abandons -= other.compliance_abandons;
        self.true_abandons -= other.true_abandons;
    }

    /// The denominator of the compliance rate.
    pub fn denominator(&self, denominator: Denominator) -> u64 {
        match denominator {
            Denominator::LiveAnswers => self.live_answers,
            Denominator::ReachedQueue => self.reached_queue,
        }
    }

    /// Compliance abandons over the denominator (0 with nothing to divide by).
    pub fn compliance_rate(&self, denominator: Denominator) -> f64 {
        ratio(
            self.compliance_abandons as f64,
            self.denominator(denominator) as f64,
        )
    }

    /// True abandons over the same denominator.
    pub fn true_rate(&self, denominator: Denominator) -> f64 {
        ratio(
            self.true_abandons as f64,
            self.denominator(denominator) as f64,
        )
    }

    /// Compliance abandons over dials: VICIdial's last-minute drop percentage.
    pub fn drops_per_dial(&self) -> f64 {
        ratio(self.compliance_abandons as f64, self.dials as f64)
    }
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

/// Counts in a ring of equal buckets: the sum over the last `buckets × bucket_len`.
///
/// Adding at the newest bucket (the common case: events arrive in time order) is a comparison
/// and a few additions; only moving to a new bucket divides.
#[derive(Clone, Debug)]
pub struct RollingCounts {
    bucket_len: u64,
    buckets: Vec<AbandonCounts>,
    /// Number of the newest bucket (time / bucket_len), its start in µs and its ring index.
    newest: u64,
    newest_start: u64,
    newest_index: usize,
    totals: AbandonCounts,
}

impl RollingCounts {
    pub fn new(bucket_len: SimDuration, buckets: usize) -> RollingCounts {
        RollingCounts {
            bucket_len: bucket_len.as_micros().max(1),
            buckets: vec![AbandonCounts::default(); buckets.max(1)],
            newest: 0,
            newest_start: 0,
            newest_index: 0,
            totals: AbandonCounts::default(),
        }
    }

    /// The whole span this window covers.
    pub fn span(&self) -> SimDuration {
        SimDuration(self.bucket_len * self.buckets.len() as u64)
    }

    /// Drops buckets that have left the window by `now`. Amortised O(1).
    pub fn advance(&mut self, now: SimTime) {
        let micros = now.as_micros();
        if micros < self.newest_start + self.bucket_len {
            return;
        }
        let target = micros / self.bucket_len;
        let len = self.buckets.len() as u64;
        let steps = (target - self.newest).min(len);
        for step in 1..=steps {
            let index = ((self.newest + step) % len) as usize;
            let expired = self.buckets[index];
            self.totals.subtract(&expired);
            self.buckets[index] = AbandonCounts::default();
        }
        self.newest = target;
        self.newest_start = target * self.bucket_len;
        self.newest_index = (target % len) as usize;
    }

    /// Adds counts that belong to instant `at`; counts older than the window are dropped.
    #[inline]
    pub fn add(&mut self, at: SimTime, counts: &AbandonCounts) {
        let micros = at.as_micros();
        if micros >= self.newest_start {
            self.advance(at);
            self.buckets[self.newest_index].add(counts);
            self.totals.add(counts);
            return;
        }
        let bucket = micros / self.bucket_len;
        let len = self.buckets.len() as u64;
        if bucket + len <= self.newest {
            return;
        }
        let index = (bucket % len) as usize;
        self.buckets[index].add(counts);
        self.totals.add(counts);
    }

    pub fn totals(&self) -> AbandonCounts {
        self.totals
    }
}

/// The campaign's abandon counts, in every window.
#[derive(Clone, Debug)]
pub struct AbandonLedger {
    settings: AbandonSettings,
    campaign: AbandonCounts,
    last_minute: RollingCounts,
    rolling_24h: RollingCounts,
    rolling_30d: RollingCounts,
    today: AbandonCounts,
    today_index: u64,
    /// Start of the current day, in µs.
    today_start: u64,
    latest: SimTime,
    /// Counts of the minute starting at `minute_start` (µs), not yet in the long windows.
    minute: AbandonCounts,
    minute_start: u64,
    /// Answers of earlier runs still inside each long window, expiring in engine time.
    carried_24h: CarriedCounts,
    carried_30d: CarriedCounts,
}

/// An answered call of an earlier run of the campaign, as the store kept it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriorAnswer {
    /// How long before this run's engine time zero the person answered.
    pub age: SimDuration,
    pub reached_queue: bool,
    /// From the answer to an agent; `None` if it never reached one.
    pub wait_for_agent: Option<SimDuration>,
    /// Ended in the queue without an agent.
    pub abandoned_in_queue: bool,
}

/// Counts from before engine time zero, each leaving its window at a known engine time.
#[derive(Clone, Debug, Default)]
struct CarriedCounts {
    /// (expires at, in µs of engine time; counts), in order of expiry.
    entries: std::collections::VecDeque<(u64, AbandonCounts)>,
    totals: AbandonCounts,
}

impl CarriedCounts {
    /// Entries must come in order of expiry; equal expiries are merged.
    fn push(&mut self, expires_at: u64, counts: &AbandonCounts) {
        self.totals.add(counts);
        match self.entries.back_mut() {
            Some((last, last_counts)) if *last == expires_at => last_counts.add(counts),
            _ => self.entries.push_back((expires_at, *counts)),
        }
    }

    fn advance(&mut self, now: u64) {
        while let Some(&(expires_at, counts)) = self.entries.front() {
            if expires_at > now {
                break;
            }
            self.totals.subtract(&counts);
            self.entries.pop_front();
        }
    }
}

const MINUTE: u64 = 60_000_000;

const DAY: SimDuration = SimDuration(86_400_000_000);

/// The fate of one answered call, once known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnsweredCall {
    pub answered_at: SimTime,
    pub reached_queue: bool,
    /// Connected to an agent within the threshold.
    pub connected_in_time: bool,
    /// Ended in the queue without reaching an agent.
    pub abandoned_in_queue: bool,
}

impl AbandonLedger {
    pub fn new(settings: AbandonSettings) -> AbandonLedger {
        AbandonLedger {
            settings,
            campaign: AbandonCounts::default(),
            last_minute: RollingCounts::new(SimDuration::from_secs(1), 60),
            rolling_24h: RollingCounts::new(SimDuration::from_secs(60), 24 * 60),
            rolling_30d: RollingCounts::new(SimDuration::from_secs(3600), 30 * 24),
            today: AbandonCounts::default(),
            today_index: 0,
            today_start: 0,
            latest: SimTime::ZERO,
            minute: AbandonCounts::default(),
            minute_start: 0,
            carried_24h: CarriedCounts::default(),
            carried_30d: CarriedCounts::default(),
        }
    }

    /// Starts from the answers of earlier runs (any order). Each counts campaign to date, and
    /// in the 24-hour and 30-day windows until its answer is older than the window (expiries
    /// rounded up to the minute, as the windows' own buckets are). Whether it was connected in
    /// time is judged by this run's threshold. Call before this run records anything.
    pub fn carry_in(&mut self, prior: &[PriorAnswer]) {
        let mut by_age: Vec<&PriorAnswer> = prior.iter().collect();
        by_age.sort_by_key(|answer| std::cmp::Reverse(answer.age));
        for answer in by_age {
            let counts = AbandonCounts {
                dials: 0,
                live_answers: 1,
                reached_queue: u64::from(answer.reached_queue),
                compliance_abandons: u64::from(
                    answer
                        .wait_for_agent
                        .is_none_or(|wait| wait > self.settings.threshold),
                ),
                true_abandons: u64::from(answer.abandoned_in_queue),
            };
            self.campaign.add(&counts);
            let age = answer.age.as_micros();
            for (carried, span) in [
                (&mut self.carried_24h, DAY.as_micros()),
                (&mut self.carried_30d, 30 * DAY.as_micros()),
            ] {
                if age < span {
                    let expires_at = (span - age).div_ceil(MINUTE) * MINUTE;
                    carried.push(expires_at, &counts);
                }
            }
        }
    }

    pub fn settings(&self) -> &AbandonSettings {
        &self.settings
    }

    /// Changes what counts as an abandon from now on (counts so far are kept).
    pub fn set_settings(&mut self, settings: AbandonSettings) {
        self.settings = settings;
    }

    #[inline]
    fn add(&mut self, at: SimTime, counts: AbandonCounts) {
        self.campaign.add(&counts);
        self.last_minute.add(at, &counts);
        let micros = at.as_micros();
        // The long windows have minute and hour buckets: gather the current minute first.
        if micros >= self.minute_start && micros < self.minute_start + MINUTE {
            self.minute.add(&counts);
        } else if micros >= self.minute_start {
            self.fold_minute();
            self.minute_start = micros - micros % MINUTE;
            self.minute = counts;
        } else {
            self.rolling_24h.add(at, &counts);
            self.rolling_30d.add(at, &counts);
        }
        if micros >= self.today_start && micros < self.today_start + DAY.as_micros() {
            self.today.add(&counts);
        } else if micros >= self.today_start {
            self.advance(at);
            self.today.add(&counts);
        }
    }

    /// Folds the gathered minute into the long windows.
    fn fold_minute(&mut self) {
        if self.minute != AbandonCounts::default() {
            let minute = std::mem::take(&mut self.minute);
            self.rolling_24h.add(SimTime(self.minute_start), &minute);
            self.rolling_30d.add(SimTime(self.minute_start), &minute);
        }
    }

    /// Moves every window to `now`.
    pub fn advance(&mut self, now: SimTime) {
        if now <= self.latest {
            return;
        }
        self.latest = now;
        if now.as_micros() >= self.minute_start + MINUTE {
            self.fold_minute();
        }
        self.last_minute.advance(now);
        self.rolling_24h.advance(now);
        self.rolling_30d.advance(now);
        let micros = now.as_micros();
        self.carried_24h.advance(micros);
        self.carried_30d.advance(micros);
        if micros >= self.today_start + DAY.as_micros() {
            self.today_index = micros / DAY.as_micros();
            self.today_start = self.today_index * DAY.as_micros();
            self.today = AbandonCounts::default();
        }
    }

    /// A dial was placed at `at`. Dials are counted campaign to date, in the last minute and
    /// today (what VICIdial's controller reads), not in the 24-hour and 30-day windows.
    pub fn record_dial(&mut self, at: SimTime) {
        self.campaign.dials += 1;
        let counts = AbandonCounts {
            dials: 1,
            ..AbandonCounts::default()
        };
        self.last_minute.add(at, &counts);
        let micros = at.as_micros();
        if micros >= self.today_start + DAY.as_micros() {
            self.advance(at);
        }
        if micros >= self.today_start {
            self.today.dials += 1;
        }
    }

    /// An answered call's fate became known at `now`.
    pub fn record_answered(&mut self, now: SimTime, call: AnsweredCall) {
        let counts = AbandonCounts {
            dials: 0,
            live_answers: 1,
            reached_queue: u64::from(call.reached_queue),
            compliance_abandons: u64::from(!call.connected_in_time),
            true_abandons: u64::from(call.abandoned_in_queue),
        };
        self.add(call.answered_at.min(now), counts);
    }

    pub fn campaign(&self) -> AbandonCounts {
        self.campaign
    }

    // The window accessors below see counts up to the last `advance` (or `view`).

    pub fn last_minute(&self) -> AbandonCounts {
        self.last_minute.totals()
    }

    pub fn rolling_24h(&self) -> AbandonCounts {
        let mut counts = self.rolling_24h.totals();
        counts.add(&self.minute);
        counts.add(&self.carried_24h.totals);
        counts
    }

    pub fn rolling_30d(&self) -> AbandonCounts {
        let mut counts = self.rolling_30d.totals();
        counts.add(&self.minute);
        counts.add(&self.carried_30d.totals);
        counts
    }

    pub fn today(&self) -> AbandonCounts {
        self.today
    }

    pub fn window(&self, window: AbandonWindow) -> AbandonCounts {
        match window {
            AbandonWindow::CampaignToDate => self.campaign,
            AbandonWindow::Rolling24h => self.rolling_24h(),
            AbandonWindow::Rolling30d => self.rolling_30d(),
        }
    }

    /// Live answers per second over the last 24 hours (or since the start).
    /// Only this run's answers count: the span is measured from its start.
    pub fn answer_rate(&self, now: SimTime) -> f64 {
        let span = now.as_secs_f64().min(self.rolling_24h.span().as_secs_f64());
        let answers = self.rolling_24h.totals().live_answers + self.minute.live_answers;
        ratio(answers as f64, span)
    }

    /// What pacing needs to know about abandons at `now`.
    pub fn view(&mut self, now: SimTime) -> AbandonView {
        self.advance(now);
        let settings = self.settings;
        let window = self.window(settings.window);
        let denominator = window.denominator(settings.denominator);
        let campaign = self.campaign;
        AbandonView {
            settings,
            answers_per_dial: if campaign.dials >= MIN_DIALS_FOR_ANSWER_SHARE {
                campaign.live_answers as f64 / campaign.dials as f64
            } else {
                1.0
            },
            window_denominator: denominator,
            window_abandons: window.compliance_abandons,
            window_rate: window.compliance_rate(settings.denominator),
            allowed_rate: allowed_rate(
                &settings,
                denominator,
                window.compliance_abandons,
                self.answer_rate(now),
            ),
            last_minute: self.last_minute(),
            today: self.today,
        }
    }
}

/// Abandon counts and budget as pacing sees them at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AbandonView {
    #[serde(skip)]
    pub settings: AbandonSettings,
    /// Live answers per dial so far (1 until enough dials were seen: the worst case).
    #[serde(skip)]
    pub answers_per_dial: f64,
    /// The denominator in the configured window.
    pub window_denominator: u64,
    /// Compliance abandons in the configured window.
    pub window_abandons: u64,
    pub window_rate: f64,
    /// The abandon rate pacing may aim at now (the budget controller's answer).
    pub allowed_rate: f64,
    #[serde(skip)]
    pub last_minute: AbandonCounts,
    #[serde(skip)]
    pub today: AbandonCounts,
}

impl AbandonView {
    /// Abandons the window can still take before its rate passes the cap.
    pub fn budget_left(&self) -> f64 {
        self.settings.cap * self.window_denominator as f64 - self.window_abandons as f64
    }
}

/// Below this many expected answers in the spending horizon, the budget is spread as if there
/// were this many, so that a slow start does not turn a small surplus into a large rate.
pub const MIN_HORIZON_ANSWERS: f64 = 20.0;

/// The allowed rate never goes above this many times the cap, however much budget is unspent.
/// (Predictive's default criterion is the risk of the last dial, which runs well above the
/// average rate it produces; with 10 agents the budget is spent only up to about 4× the cap.)
pub const MAX_ALLOWED_TIMES_CAP: f64 = 4.0;

/// The budget controller: the rate to aim at over the next `spend_horizon`, so that the window
/// ends at the target. Unspent budget (`target × answers − abandons`) is spread over the answers
/// expected in the horizon; overspending lowers the rate the same way. Never below 0 nor above
/// [`MAX_ALLOWED_TIMES_CAP`] times the cap.
pub fn allowed_rate(
    settings: &AbandonSettings,
    denominator: u64,
    abandons: u64,
    answers_per_second: f64,
) -> f64 {
    let slack = settings.target * denominator as f64 - abandons as f64;
    let horizon_answers =
        (answers_per_second * settings.spend_horizon.as_secs_f64()).max(MIN_HORIZON_ANSWERS);
    (settings.target + slack / horizon_answers).clamp(0.0, MAX_ALLOWED_TIMES_CAP * settings.cap)
}

/// Dials seen before the campaign's own answer share is used by the guard's projection.
pub const MIN_DIALS_FOR_ANSWER_SHARE: u64 = 20;

/// The hard guard: true when one more abandon, with every call now waiting also abandoned,
/// would put the windowed rate above the cap.
pub fn guard_engaged(view: &AbandonView, calls_waiting: u32) -> bool {
    let waiting = u64::from(calls_waiting);
    let abandons = view.window_abandons + waiting + 1;
    let denominator = view.window_denominator + waiting + 1;
    abandons as f64 > view.settings.cap * denominator as f64
}

/// The guard's projection for strategies that do not model abandons themselves (power,
/// adaptive-ratio): the most new dials such that, if every answer expected from the dials in
/// flight and the new ones beyond the idle agents were abandoned (and every caller waiting, and
/// one more), the windowed rate would still be within the cap. `None`: no limit (cap 100%).
pub fn guard_room(
    view: &AbandonView,
    calls_waiting: u32,
    idle_agents: u32,
    dials_in_flight: u32,
) -> Option<u32> {
    let cap = view.settings.cap;
    if cap >= 1.0 {
        return None;
    }
    let waiting = f64::from(calls_waiting);
    let abandons = view.window_abandons as f64;
    let denominator = view.window_denominator as f64;
    // Expected answers x beyond the idle agents are abandons:
    // A + Q + (x − idle) + 1 ≤ cap · (D + Q + x + 1).
    let most_answers = (cap * (denominator + waiting + 1.0) - (abandons + waiting + 1.0)
        + f64::from(idle_agents))
        / (1.0 - cap);
    let per_dial = view.answers_per_dial.max(1e-6);
    let most_dials = (most_answers / per_dial).floor() - f64::from(dials_in_flight);
    Some(most_dials.clamp(0.0, f64::from(u32::MAX)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn answered(at: u64, in_time: bool) -> AnsweredCall {
        AnsweredCall {
            answered_at: SimTime::from_secs(at),
            reached_queue: true,
            connected_in_time: in_time,
            abandoned_in_queue: false,
        }
    }

    #[test]
    fn windows_forget_old_answers() {
        let mut ledger = AbandonLedger::new(AbandonSettings::default());
        ledger.record_answered(SimTime::from_secs(10), answered(10, false));
        ledger.record_answered(SimTime::from_secs(20), answered(20, true));
        ledger.advance(SimTime::from_secs(20));
        assert_eq!(ledger.last_minute().live_answers, 2);
        assert_eq!(ledger.rolling_24h().compliance_abandons, 1);
        ledger.advance(SimTime::from_secs(75));
        assert_eq!(
            ledger.last_minute().live_answers,
            1,
            "the first left the minute"
        );
        ledger.advance(SimTime::from_secs(86_400 + 15 * 60));
        assert_eq!(ledger.rolling_24h().live_answers, 0);
        assert_eq!(ledger.rolling_30d().live_answers, 2);
        assert_eq!(ledger.campaign().live_answers, 2);
        assert_eq!(ledger.today().live_answers, 0, "a new day began");
    }

    #[test]
    fn denominators_differ_for_calls_that_never_queued() {
        let mut ledger = AbandonLedger::new(AbandonSettings::default());
        ledger.record_answered(SimTime::from_secs(5), answered(5, true));
        ledger.record_answered(
            SimTime::from_secs(6),
            AnsweredCall {
                reached_queue: false,
                connected_in_time: false,
                abandoned_in_queue: true,
                ..answered(6, false)
            },
        );
        let counts = ledger.campaign();
        assert_eq!(counts.compliance_rate(Denominator::LiveAnswers), 0.5);
        assert_eq!(counts.compliance_rate(Denominator::ReachedQueue), 1.0);
        assert_eq!(counts.true_rate(Denominator::LiveAnswers), 0.5);
    }

    #[test]
    fn the_guard_holds_until_one_abandon_fits_under_the_cap() {
        let settings = AbandonSettings::default();
        let view = |denominator, abandons| AbandonView {
            settings,
            answers_per_dial: 0.3,
            window_denominator: denominator,
            window_abandons: abandons,
            window_rate: 0.0,
            allowed_rate: 0.0,
            last_minute: AbandonCounts::default(),
            today: AbandonCounts::default(),
        };
        assert!(
            guard_engaged(&view(0, 0), 0),
            "the first answer could be lost"
        );
        assert!(guard_engaged(&view(32, 0), 0));
        assert!(!guard_engaged(&view(33, 0), 0), "1 of 34 is under 3%");
        assert!(
            guard_engaged(&view(33, 0), 1),
            "a waiting call could be lost too"
        );
        assert!(guard_engaged(&view(1000, 30), 0));
        assert!(!guard_engaged(&view(1000, 28), 0));
        // Room for the worst case: 1000 answers, 20 abandons, cap 3%: x ≤ (30.03 − 21 + 5)/0.97
        // expected answers beyond nothing waiting, at 0.3 answers a dial, less 10 in flight.
        let room = guard_room(&view(1000, 20), 0, 5, 10).unwrap();
        let x: f64 = (0.03 * 1001.0 - 21.0 + 5.0) / 0.97;
        assert_eq!(room, ((x / 0.3).floor() - 10.0) as u32);
        // Nothing answered yet: only what the idle agents can take (the literal rule holds the
        // decision to progressive anyway).
        assert_eq!(guard_room(&view(0, 0), 0, 5, 0), Some(13));
        assert_eq!(guard_room(&view(0, 0), 0, 0, 0), Some(0));
        let mut no_cap = view(0, 0);
        no_cap.settings.cap = 1.0;
        assert_eq!(guard_room(&no_cap, 3, 0, 0), None);
    }

    #[test]
    fn the_budget_controller_spends_surplus_and_repays_debt() {
        let settings = AbandonSettings::default();
        let on_target = allowed_rate(&settings, 1000, 25, 0.1);
        assert!((on_target - settings.target).abs() < 1e-12);
        let under = allowed_rate(&settings, 1000, 5, 0.1);
        assert!(under > settings.target, "unspent budget raises the rate");
        let over = allowed_rate(&settings, 1000, 40, 0.1);
        assert!(over < settings.target, "overspending lowers it");
        assert_eq!(allowed_rate(&settings, 1000, 400, 0.1), 0.0);
        assert_eq!(
            allowed_rate(&settings, 100_000, 0, 0.01),
            MAX_ALLOWED_TIMES_CAP * settings.cap
        );
    }

    proptest! {
        #[test]
        fn rolling_totals_equal_the_sum_of_recent_answers(
            answers in proptest::collection::vec((0u64..400, any::<bool>()), 0..60),
            end in 0u64..500,
        ) {
            let mut sorted = answers.clone();
            sorted.sort();
            let mut ledger = AbandonLedger::new(AbandonSettings::default());
            for (at, in_time) in &sorted {
                ledger.record_answered(SimTime::from_secs(*at), answered(*at, *in_time));
            }
            let last = sorted.last().map_or(0, |a| a.0);
            let now = last.max(end);
            ledger.advance(SimTime::from_secs(now));
            // The last minute holds answers in whole seconds after now - 60.
            let expected = sorted.iter().filter(|(at, _)| at + 60 > now).count() as u64;
            prop_assert_eq!(ledger.last_minute().live_answers, expected);
            prop_assert_eq!(ledger.campaign().live_answers, sorted.len() as u64);
            let abandons = sorted.iter().filter(|(_, ok)| !ok).count() as u64;
            prop_assert_eq!(ledger.rolling_24h().compliance_abandons, abandons);
        }

        #[test]
        fn the_allowed_rate_is_bounded_and_falls_with_abandons(
            denominator in 0u64..10_000,
            abandons in 0u64..500,
            rate in 0.0f64..5.0,
        ) {
            let settings = AbandonSettings::default();
            let allowed = allowed_rate(&settings, denominator, abandons, rate);
            prop_assert!((0.0..=MAX_ALLOWED_TIMES_CAP * settings.cap).contains(&allowed));
            let more = allowed_rate(&settings, denominator, abandons + 1, rate);
            prop_assert!(more <= allowed);
        }
    }

    #[test]
    fn answers_of_earlier_runs_count_until_they_leave_each_window() {
        let mut ledger = AbandonLedger::new(AbandonSettings::default());
        let h = |hours: u64| SimDuration::from_secs(3600 * hours);
        let connected = |age: SimDuration| PriorAnswer {
            age,
            reached_queue: true,
            wait_for_agent: Some(SimDuration::from_millis(500)),
            abandoned_in_queue: false,
        };
        let abandoned = |age: SimDuration| PriorAnswer {
            age,
            reached_queue: true,
            wait_for_agent: None,
            abandoned_in_queue: true,
        };
        let late = PriorAnswer {
            age: h(2),
            reached_queue: true,
            wait_for_agent: Some(SimDuration::from_secs(5)),
            abandoned_in_queue: false,
        };
        // Out of order on purpose: carry_in sorts.
        ledger.carry_in(&[
            connected(h(1)),
            abandoned(h(30)),
            late,
            abandoned(h(24 * 40)),
            connected(h(23)),
        ]);
        let campaign = ledger.campaign();
        assert_eq!(campaign.live_answers, 5);
        assert_eq!(
            campaign.compliance_abandons, 3,
            "late, and the two abandoned"
        );
        assert_eq!(campaign.true_abandons, 2);
        let view = |ledger: &mut AbandonLedger, at: SimDuration| {
            ledger.advance(SimTime::ZERO + at);
            (ledger.rolling_24h(), ledger.rolling_30d())
        };
        let (day, month) = view(&mut ledger, SimDuration::ZERO);
        assert_eq!((day.live_answers, day.compliance_abandons), (3, 1));
        assert_eq!((month.live_answers, month.compliance_abandons), (4, 2));
        // After 1 h 1 min the answer of 23 h ago is 24 h 1 min old: out of the day.
        let (day, _) = view(&mut ledger, h(1) + SimDuration::from_secs(60));
        assert_eq!(day.live_answers, 2);
        // After 22 h, only the answer of 1 h ago (now 23 h old) is left in the day.
        let (day, month) = view(&mut ledger, h(22));
        assert_eq!((day.live_answers, day.compliance_abandons), (1, 0));
        assert_eq!(month.live_answers, 4);
        // After 30 days nothing carried is left in either window; the campaign keeps all.
        let (day, month) = view(&mut ledger, h(24 * 30));
        assert_eq!(day, AbandonCounts::default());
        assert_eq!(month, AbandonCounts::default());
        assert_eq!(ledger.campaign().live_answers, 5);
        // This run's answers add on top, and the answer rate counts only them.
        ledger.record_answered(
            SimTime::ZERO + h(24 * 30),
            AnsweredCall {
                answered_at: SimTime::ZERO + h(24 * 30),
                reached_queue: true,
                connected_in_time: true,
                abandoned_in_queue: false,
            },
        );
        assert_eq!(ledger.campaign().live_answers, 6);
    }
}
