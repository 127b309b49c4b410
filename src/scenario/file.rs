//! The scenario file exactly as written: serde structures mirroring the TOML, with no checks
//! beyond types and known keys (`deny_unknown_fields` everywhere).
//!
//! [`super::Scenario::from_file`] turns a [`ScenarioFile`] into a validated scenario. Nothing here
//! decides what a value means.

use crate::time::{SimDuration, duration_from_whole_seconds, parse_duration};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub scenario: ScenarioSection,
    pub agents: AgentsSection,
    #[serde(default)]
    pub queue: QueueSection,
    pub callees: CalleesSection,
    #[serde(default)]
    pub dialing: DialingSection,
    #[serde(default)]
    pub leads: LeadsSection,
    #[serde(default)]
    pub redial: RedialSection,
    pub pacing: PacingSection,
    #[serde(default)]
    pub calling_hours: Option<CallingHoursSection>,
    #[serde(default)]
    pub reconcile: ReconcileSection,
    #[serde(default)]
    pub faults: FaultsSection,
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
}

/// Faults and drift the simulated switch (and the fake switch) inject: a bad day on purpose.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsSection {
    /// Probability that an originate request fails with an API fault.
    #[serde(default)]
    pub originate_errors: Option<f64>,
    /// Probability that an originate request times out: the call is placed, the reply lost.
    #[serde(default)]
    pub originate_timeouts: Option<f64>,
    /// Per state callback: probability it is lost.
    #[serde(default)]
    pub drop_callbacks: Option<f64>,
    /// Per state callback: probability it arrives twice.
    #[serde(default)]
    pub duplicate_callbacks: Option<f64>,
    /// Per state callback: probability it is held back (0.2-2 s) so a later one can overtake it.
    #[serde(default)]
    pub reorder_callbacks: Option<f64>,
    /// Per state callback: probability it arrives late, by `late_by`.
    #[serde(default)]
    pub late_callbacks: Option<f64>,
    #[serde(default)]
    pub late_by: Option<RawDist>,
    /// Probability that each agent of `agents.count` never logs in (the dialer is not told).
    #[serde(default)]
    pub agent_no_shows: Option<f64>,
    /// Sudden logouts per logged-in agent per hour (the dialer is not told).
    #[serde(default)]
    pub agent_logouts_per_hour: Option<f64>,
    /// A random walk of the answer probability.
    #[serde(default)]
    pub answer_drift: Option<DriftSection>,
    /// Probability that answering-machine detection takes a machine for a person (it reaches
    /// an agent).
    #[serde(default)]
    pub machine_as_person: Option<f64>,
    /// Probability that answering-machine detection takes a person for a machine (the switch
    /// hangs up on them).
    #[serde(default)]
    pub person_as_machine: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftSection {
    /// How often the answer probability moves.
    pub every: RawDuration,
    /// Standard deviation of each move.
    pub sd: f64,
}

/// How the campaign reconciles with the switch's active-call list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileSection {
    /// Fetch the whole list this often (default: only while calls are suspect).
    #[serde(default)]
    pub interval: Option<RawDuration>,
    /// How often to ask about suspect calls (default 5 s).
    #[serde(default)]
    pub suspect_interval: Option<RawDuration>,
    /// Complete lists in a row a call must be missing from to count as vanished (default 2).
    #[serde(default)]
    pub vanish_after: Option<i64>,
    /// How long a suspect call may wait for the list before the dialer settles it anyway
    /// (default 30 min).
    #[serde(default)]
    pub suspect_timeout: Option<RawDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSection {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: Option<u64>,
    /// The wall-clock instant the simulated day starts at (RFC 3339).
    #[serde(default)]
    pub start: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsSection {
    pub count: i64,
    /// How long an offered agent's phone rings before the agent answers.
    #[serde(default)]
    pub answer_after: Option<RawDist>,
    #[serde(default)]
    pub wrap_up: Option<RawDist>,
    /// Probability an offered agent lets the call ring out.
    #[serde(default)]
    pub no_answer: Option<f64>,
    #[serde(default)]
    pub no_answer_timeout: Option<RawDuration>,
    /// Probability an offered agent declines.
    #[serde(default)]
    pub decline: Option<f64>,
    #[serde(default)]
    pub decline_after: Option<RawDist>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSection {
    #[serde(default)]
    pub max_size: Option<i64>,
    #[serde(default)]
    pub max_wait: Option<RawDuration>,
    #[serde(default)]
    pub entry_delay: Option<RawDist>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalleesSection {
    #[serde(default)]
    pub ringing_after: Option<RawDist>,
    pub patience: RawDist,
    pub talk: RawDist,
    #[serde(default)]
    pub answer: Option<TimedOutcome>,
    #[serde(default)]
    pub no_answer: Option<UntimedOutcome>,
    #[serde(default)]
    pub busy: Option<TimedOutcome>,
    #[serde(default)]
    pub declined: Option<TimedOutcome>,
    #[serde(default)]
    pub invalid_number: Option<TimedOutcome>,
    #[serde(default)]
    pub failed: Option<TimedOutcome>,
    #[serde(default)]
    pub machine: Option<MachineOutcome>,
    #[serde(default)]
    pub hold: Option<HoldSection>,
    #[serde(default)]
    pub transfer: Option<TransferSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedOutcome {
    pub probability: f64,
    #[serde(default)]
    pub after: Option<RawDist>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UntimedOutcome {
    pub probability: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineOutcome {
    pub probability: f64,
    #[serde(default)]
    pub after: Option<RawDist>,
    /// From answer until the switch recognises the machine and hangs up.
    #[serde(default)]
    pub detect: Option<RawDist>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldSection {
    pub probability: f64,
    pub duration: RawDist,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferSection {
    pub probability: f64,
    /// How long the callee stays on after the agent transfers them.
    pub duration: RawDist,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialingSection {
    #[serde(default)]
    pub ring_timeout: Option<RawDuration>,
    #[serde(default)]
    pub max_attempts: Option<i64>,
    #[serde(default)]
    pub dial_until: Option<RawDuration>,
    #[serde(default)]
    pub watchdog_grace: Option<RawDuration>,
    #[serde(default)]
    pub deadline: Option<RawDuration>,
    /// The shortest ring timeout allowed (default 15 s: FCC and Ofcom).
    #[serde(default)]
    pub ring_timeout_floor: Option<RawDuration>,
    /// Allows a ring timeout under the floor.
    #[serde(default)]
    pub allow_short_ring_timeout: Option<bool>,
    #[serde(default)]
    pub max_lines_per_agent: Option<f64>,
    #[serde(default)]
    pub max_calls_per_second: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadsSection {
    #[serde(default)]
    pub count: Option<i64>,
    #[serde(default)]
    pub prefix: Option<String>,
    /// IANA zones of the generated leads, assigned in turn.
    #[serde(default)]
    pub time_zones: Vec<String>,
    /// Numbers on the do-not-call list.
    #[serde(default)]
    pub do_not_call: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedialSection {
    #[serde(default)]
    pub no_answer: Option<RedialEntry>,
    #[serde(default)]
    pub busy: Option<RedialEntry>,
    #[serde(default)]
    pub machine: Option<RedialEntry>,
    #[serde(default)]
    pub abandoned: Option<RedialEntry>,
    #[serde(default)]
    pub unknown: Option<RedialEntry>,
    /// Most attempts per lead, whatever the outcomes.
    #[serde(default)]
    pub max_attempts: Option<i64>,
    /// Most attempts per lead per local calendar day.
    #[serde(default)]
    pub max_per_day: Option<i64>,
    /// No redial this soon after an abandon (Ofcom: "72h").
    #[serde(default)]
    pub abandon_lockout: Option<RawDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallingHoursSection {
    #[serde(default)]
    pub open: Option<String>,
    #[serde(default)]
    pub close: Option<String>,
    #[serde(default)]
    pub weekdays: Option<Vec<String>>,
    #[serde(default)]
    pub holidays: Vec<String>,
    /// The zone of leads without one of their own.
    #[serde(default)]
    pub time_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedialEntry {
    pub delay: RawDuration,
    pub max_attempts: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacingSection {
    pub strategy: String,
    #[serde(default)]
    pub ratio: Option<f64>,
    #[serde(default)]
    pub rate_per_minute: Option<f64>,
    #[serde(default)]
    pub tick: Option<RawDuration>,
    #[serde(default)]
    pub assumed_wrap_up: Option<RawDuration>,
    #[serde(default)]
    pub queue_guard: Option<QueueGuardSection>,
    /// Preview time, for strategy "preview".
    #[serde(default)]
    pub preview_time: Option<RawDuration>,
    #[serde(default)]
    pub adaptive: Option<AdaptiveSection>,
    #[serde(default)]
    pub predictive: Option<PredictiveSection>,
    #[serde(default)]
    pub abandon: Option<AbandonSection>,
    /// Strategy changes while the campaign runs.
    #[serde(default)]
    pub changes: Vec<PacingChange>,
}

/// A change of strategy (or of its settings) at a time: the same keys as `[pacing]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacingChange {
    pub at: RawDuration,
    pub strategy: String,
    #[serde(default)]
    pub ratio: Option<f64>,
    #[serde(default)]
    pub rate_per_minute: Option<f64>,
    #[serde(default)]
    pub preview_time: Option<RawDuration>,
    #[serde(default)]
    pub adaptive: Option<AdaptiveSection>,
    #[serde(default)]
    pub predictive: Option<PredictiveSection>,
}

/// VICIdial ADAPT settings, for strategy "adaptive_ratio".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptiveSection {
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub initial_level: Option<f64>,
    #[serde(default)]
    pub maximum_level: Option<f64>,
    #[serde(default)]
    pub dropped_percent: Option<f64>,
    #[serde(default)]
    pub intensity: Option<f64>,
    #[serde(default)]
    pub diff_target: Option<f64>,
    /// HHMM, like VICIdial's `adaptive_latest_server_time` (2100).
    #[serde(default)]
    pub latest_server_time: Option<i64>,
    #[serde(default)]
    pub placement_interval: Option<RawDuration>,
    #[serde(default)]
    pub available_only_tally: Option<bool>,
    #[serde(default)]
    pub level_threshold_agents: Option<i64>,
}

/// Settings of strategy "predictive".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictiveSection {
    #[serde(default)]
    pub criterion: Option<String>,
    #[serde(default)]
    pub aggressiveness: Option<f64>,
    #[serde(default)]
    pub min_dial_outcomes: Option<i64>,
    #[serde(default)]
    pub min_live_answers: Option<i64>,
    #[serde(default)]
    pub min_talks: Option<i64>,
    #[serde(default)]
    pub step: Option<RawDuration>,
    #[serde(default)]
    pub max_dials_per_decision: Option<i64>,
}

/// Abandon accounting, the cap and its guard.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbandonSection {
    #[serde(default)]
    pub threshold: Option<RawDuration>,
    #[serde(default)]
    pub denominator: Option<String>,
    #[serde(default)]
    pub cap_percent: Option<f64>,
    #[serde(default)]
    pub target_percent: Option<f64>,
    #[serde(default)]
    pub window: Option<String>,
    #[serde(default)]
    pub guard: Option<bool>,
    #[serde(default)]
    pub spend_horizon: Option<RawDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueGuardSection {
    pub pause_at: i64,
    pub resume_at: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntry {
    pub at: RawDuration,
    #[serde(default)]
    pub set_agents: Option<i64>,
    #[serde(default)]
    pub login_agents: Option<i64>,
    #[serde(default)]
    pub logout_agents: Option<i64>,
    #[serde(default)]
    pub answer_probability: Option<f64>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A duration written as text with a unit (`"15s"`) or as a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawDuration(pub SimDuration);

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(DurationVisitor)
            .map(RawDuration)
    }
}

struct DurationVisitor;

impl<'de> Visitor<'de> for DurationVisitor {
    type Value = SimDuration;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a duration like \"15s\", \"2m30s\" or a number of seconds")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<SimDuration, E> {
        parse_duration(text).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<SimDuration, E> {
        if value < 0 {
            return Err(E::custom(format!(
                "negative duration {value}; durations must be zero or positive"
            )));
        }
        self.visit_u64(value as u64)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<SimDuration, E> {
        duration_from_whole_seconds(value).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<SimDuration, E> {
        parse_duration(&value.to_string()).map_err(E::custom)
    }
}

/// A distribution as written: a bare duration (constant), or a one-key table naming the family:
/// `{ constant = "10s" }`, `{ uniform = ["3s", "15s"] }`, `{ exponential = "20s" }` (the mean),
/// `{ lognormal = { mean = "3m", sd = "1m" } }`, `{ empirical = ["10s", "12s", "40s"] }`.
#[derive(Debug, Clone, PartialEq)]
pub enum RawDist {
    Constant(SimDuration),
    Uniform(SimDuration, SimDuration),
    Exponential(SimDuration),
    LogNormal { mean: SimDuration, sd: SimDuration },
    Empirical(Vec<SimDuration>),
}

const DIST_FAMILIES: &[&str] = &[
    "constant",
    "uniform",
    "exponential",
    "lognormal",
    "empirical",
];

impl<'de> Deserialize<'de> for RawDist {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DistVisitor)
    }
}

struct DistVisitor;

impl<'de> Visitor<'de> for DistVisitor {
    type Value = RawDist;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a duration, or a table with one of `constant`, `uniform`, `exponential`, `lognormal`, `empirical`",
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<RawDist, E> {
        DurationVisitor.visit_str(text).map(RawDist::Constant)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawDist, E> {
        DurationVisitor.visit_i64(value).map(RawDist::Constant)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawDist, E> {
        DurationVisitor.visit_u64(value).map(RawDist::Constant)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawDist, E> {
        DurationVisitor.visit_f64(value).map(RawDist::Constant)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawDist, A::Error> {
        let Some(family) = map.next_key::<String>()? else {
            return Err(de::Error::custom(
                "empty distribution table; name one of `constant`, `uniform`, `exponential`, `lognormal`, `empirical`",
            ));
        };
        let dist = match family.as_str() {
            "constant" => RawDist::Constant(map.next_value::<RawDuration>()?.0),
            "exponential" => RawDist::Exponential(map.next_value::<RawDuration>()?.0),
            "uniform" => {
                let bounds: Vec<RawDuration> = map.next_value()?;
                match bounds.as_slice() {
                    [low, high] => RawDist::Uniform(low.0, high.0),
                    _ => {
                        return Err(de::Error::custom(format!(
                            "`uniform` takes two durations [low, high], got {}",
                            bounds.len()
                        )));
                    }
                }
            }
            "lognormal" => {
                let params: LogNormalParams = map.next_value()?;
                RawDist::LogNormal {
                    mean: params.mean.0,
                    sd: params.sd.0,
                }
            }
            "empirical" => {
                let values: EmpiricalValues = map.next_value()?;
                RawDist::Empirical(values.0)
            }
            other => return Err(de::Error::unknown_variant(other, DIST_FAMILIES)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a distribution names one family; found `{family}` and `{extra}`"
            )));
        }
        Ok(dist)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogNormalParams {
    mean: RawDuration,
    sd: RawDuration,
}

struct EmpiricalValues(Vec<SimDuration>);

impl<'de> Deserialize<'de> for EmpiricalValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValuesVisitor;
        impl<'de> Visitor<'de> for ValuesVisitor {
            type Value = EmpiricalValues;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of durations")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EmpiricalValues, A::Error> {
                let mut values = Vec::new();
                while let Some(value) = seq.next_element::<RawDuration>()? {
                    values.push(value.0);
                }
                Ok(EmpiricalValues(values))
            }
        }
        deserializer.deserialize_seq(ValuesVisitor)
    }
}
