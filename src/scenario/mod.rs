//! Scenarios: a simulated day described in TOML, read and checked into a [`Scenario`].
//!
//! Reading goes in two steps, raw then validated: [`file::ScenarioFile`] mirrors the TOML and
//! refuses unknown keys; [`Scenario::from_file`] checks every value and fills defaults. Every
//! error names the file, the key path and the rule broken, and all problems found are reported
//! together. `--set key.path=value` overrides are applied to the TOML before either step, so they
//! are checked the same way. See the README for the format.
//!
//! This module reads files and text; it does not run anything.

pub mod file;

use crate::call::machine::CallSettings;
use crate::campaign::hopper::{LeadSource, RedialPolicy, RedialRule};
use crate::campaign::supervisor::{CampaignSetup, ReconcileSettings};
use crate::compliance::hours::{self, CallingHours, ZoneSet};
use crate::compliance::{Compliance, phone};
use crate::domain::PhoneNumber;
use crate::pacing::abandon::{AbandonSettings, AbandonWindow, Denominator};
use crate::pacing::actor::PacingSetup;
use crate::pacing::adaptive::{AdaptVariant, AdaptiveSettings};
use crate::pacing::limits::DialLimits;
use crate::pacing::predictive::{Criterion, PredictiveSettings};
use crate::pacing::{QueueGuard, Strategy};
use crate::sim::dist::Dist;
use crate::sim::rng::{Purpose, stream_seed};
use crate::time::{SimDuration, SimTime};
use file::{RawDist, RawDuration, ScenarioFile, TimedOutcome};
use std::fmt;
use std::path::Path;

/// A checked scenario, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The seed used when none is given on the command line.
    pub seed: u64,
    pub agents: AgentSettings,
    pub queue: QueueSettings,
    pub callees: CalleeSettings,
    pub dialing: DialingSettings,
    pub leads: LeadSettings,
    pub redial: RedialPolicy,
    pub pacing: PacingSettings,
    /// The wall-clock instant of simulated time zero (calling hours and local days use it).
    pub start: jiff::Timestamp,
    /// Calling hours, if the scenario restricts them.
    pub calling_hours: Option<CallingHoursSettings>,
    pub reconcile: ReconcileSettings,
    /// How long a suspect call waits for the active-call list before it is settled anyway.
    pub suspect_timeout: SimDuration,
    /// Faults and drift the switch injects (all off by default).
    pub faults: FaultSettings,
    /// Scripted events, in time order (ties keep file order).
    pub timeline: Vec<TimelineEvent>,
}

/// Faults and drift for a bad day (`[faults]`); every probability is per event.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSettings {
    pub originate_errors: f64,
    pub originate_timeouts: f64,
    pub drop_callbacks: f64,
    pub duplicate_callbacks: f64,
    pub reorder_callbacks: f64,
    pub late_callbacks: f64,
    /// How late a late callback is.
    pub late_by: Dist,
    pub agent_no_shows: f64,
    pub agent_logouts_per_hour: f64,
    /// Every `.0`, the answer probability moves by a normal step with sd `.1`.
    pub answer_drift: Option<(SimDuration, f64)>,
    pub machine_as_person: f64,
    pub person_as_machine: f64,
}

impl Default for FaultSettings {
    fn default() -> Self {
        FaultSettings {
            originate_errors: 0.0,
            originate_timeouts: 0.0,
            drop_callbacks: 0.0,
            duplicate_callbacks: 0.0,
            reorder_callbacks: 0.0,
            late_callbacks: 0.0,
            late_by: Dist::Constant(5.0),
            agent_no_shows: 0.0,
            agent_logouts_per_hour: 0.0,
            answer_drift: None,
            machine_as_person: 0.0,
            person_as_machine: 0.0,
        }
    }
}

impl FaultSettings {
    /// True when any callback or originate fault is on (the switch then draws for them).
    pub fn touches_delivery(&self) -> bool {
        self.originate_errors > 0.0
            || self.originate_timeouts > 0.0
            || self.drop_callbacks > 0.0
            || self.duplicate_callbacks > 0.0
            || self.reorder_callbacks > 0.0
            || self.late_callbacks > 0.0
    }

    /// True when answering-machine detection can be wrong.
    pub fn misclassifies(&self) -> bool {
        self.machine_as_person > 0.0 || self.person_as_machine > 0.0
    }
}
/// Calling hours of a scenario, and the zone of leads without one of their own.
#[derive(Clone, Debug, PartialEq)]
pub struct CallingHoursSettings {
    pub hours: CallingHours,
    pub time_zone: String,
}

/// The default start of a simulated day: Monday 2026-01-05, 00:00 UTC.
pub const DEFAULT_START: &str = "2026-01-05T00:00:00Z";

#[derive(Clone, Debug, PartialEq)]
pub struct AgentSettings {
    /// Agents logged in at the start.
    pub count: u32,
    /// How long an offered agent's phone rings before the agent answers.
    pub answer_after: Dist,
    pub wrap_up: Dist,
    /// Probability an offered agent lets the call ring out (the release note's limitation).
    pub no_answer_probability: f64,
    pub no_answer_timeout: SimDuration,
    /// Probability an offered agent declines (also the limitation).
    pub decline_probability: f64,
    pub decline_after: Dist,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueueSettings {
    /// Callers the queue holds; one more is disconnected at once.
    pub max_size: Option<u32>,
    /// Longest a caller may wait before the queue disconnects them.
    pub max_wait: Option<SimDuration>,
    /// From answer until the auto-attendant puts the caller in the queue.
    pub entry_delay: Dist,
}

/// Probabilities of what the callee's side does with a dial; they sum to 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalleeMix {
    pub answer: f64,
    pub no_answer: f64,
    pub busy: f64,
    pub declined: f64,
    pub invalid_number: f64,
    pub failed: f64,
    pub machine: f64,
}

impl CalleeMix {
    pub fn total(&self) -> f64 {
        self.answer
            + self.no_answer
            + self.busy
            + self.declined
            + self.invalid_number
            + self.failed
            + self.machine
    }

    /// The mix with the answer probability set to `answer` and the rest rescaled so the total
    /// stays 1. If nothing else had any weight, the remainder goes to no answer.
    pub fn with_answer_probability(&self, answer: f64) -> CalleeMix {
        let others = self.total() - self.answer;
        let remainder = 1.0 - answer;
        if others <= 0.0 {
            return CalleeMix {
                answer,
                no_answer: remainder,
                ..CalleeMix::none()
            };
        }
        let scale = remainder / others;
        CalleeMix {
            answer,
            no_answer: self.no_answer * scale,
            busy: self.busy * scale,
            declined: self.declined * scale,
            invalid_number: self.invalid_number * scale,
            failed: self.failed * scale,
            machine: self.machine * scale,
        }
    }

    fn none() -> CalleeMix {
        CalleeMix {
            answer: 0.0,
            no_answer: 0.0,
            busy: 0.0,
            declined: 0.0,
            invalid_number: 0.0,
            failed: 0.0,
            machine: 0.0,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CalleeSettings {
    pub mix: CalleeMix,
    /// Time from dial until the callee's phone rings.
    pub ringing_after: Dist,
    pub answer_after: Dist,
    pub busy_after: Dist,
    pub declined_after: Dist,
    pub invalid_number_after: Dist,
    pub failed_after: Dist,
    pub machine_after: Dist,
    pub machine_detect: Dist,
    /// How long an answered caller waits in the queue before hanging up.
    pub patience: Dist,
    /// Talk time with an agent.
    pub talk: Dist,
    pub hold: Option<HoldSettings>,
    pub transfer: Option<TransferSettings>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HoldSettings {
    pub probability: f64,
    pub duration: Dist,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TransferSettings {
    pub probability: f64,
    /// How long the callee stays on after the transfer.
    pub duration: Dist,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DialingSettings {
    pub ring_timeout: SimDuration,
    pub max_attempts: Option<u64>,
    pub dial_until: Option<SimTime>,
    pub watchdog_grace: SimDuration,
    /// The simulation stops here even if calls are still up (a safety net).
    pub deadline: SimTime,
    /// The shortest ring timeout allowed without an explicit override.
    pub ring_timeout_floor: SimDuration,
    /// Lines per agent and calls per second.
    pub limits: DialLimits,
}

/// The shortest ring timeout the FCC and Ofcom allow (15 s or 4 rings).
pub const DEFAULT_RING_TIMEOUT_FLOOR: SimDuration = SimDuration(15_000_000);

/// The budget controller aims at this share of the cap unless told otherwise.
pub const DEFAULT_TARGET_SHARE_OF_CAP: f64 = 0.8;

#[derive(Clone, Debug, PartialEq)]
pub struct LeadSettings {
    /// `None`: unlimited.
    pub count: Option<u64>,
    pub prefix: String,
    /// IANA zones of the generated leads, assigned in turn (empty: the calling-hours zone).
    pub time_zones: Vec<String>,
    /// Numbers on the do-not-call list (E.164).
    pub do_not_call: Vec<PhoneNumber>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PacingSettings {
    pub strategy: Strategy,
    pub tick: Option<SimDuration>,
    pub assumed_wrap_up: SimDuration,
    /// `(pause_at, resume_at)` queued calls.
    pub queue_guard: Option<(u32, u32)>,
    /// Abandon accounting, the cap, the budget and the guard.
    pub abandon: AbandonSettings,
    /// Strategy changes while running, in time order.
    pub changes: Vec<(SimTime, Strategy)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEvent {
    pub at: SimTime,
    pub action: TimelineAction,
    /// Free text shown in the trace.
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimelineAction {
    SetAgents(u32),
    LoginAgents(u32),
    LogoutAgents(u32),
    AnswerProbability(f64),
}

impl fmt::Display for TimelineAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimelineAction::SetAgents(n) => write!(f, "set agents to {n}"),
            TimelineAction::LoginAgents(n) => write!(f, "{n} agents log in"),
            TimelineAction::LogoutAgents(n) => write!(f, "{n} agents log out"),
            TimelineAction::AnswerProbability(p) => write!(f, "answer probability becomes {p}"),
        }
    }
}

/// One thing wrong with a scenario: where, and which rule it breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, like `callees.answer.probability`.
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: `{}`: {}", self.path, self.message),
            None => write!(f, "`{}`: {}", self.path, self.message),
        }
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: cannot read the scenario: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: not valid TOML: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: invalid scenario:{}", list_problems(problems))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
    #[error("--set {assignment}: {message}")]
    Override { assignment: String, message: String },
}

fn list_problems(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

impl ScenarioError {
    /// The problems found, if the file parsed but broke rules.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ScenarioError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

impl Scenario {
    /// Reads and checks a scenario file, applying `key.path=value` overrides first.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        let file_name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            file: file_name.clone(),
            source,
        })?;
        Scenario::from_toml(&file_name, &text, overrides)
    }

    /// Parses and checks scenario text; `file_name` is used in messages.
    pub fn from_toml(
        file_name: &str,
        text: &str,
        overrides: &[String],
    ) -> Result<Scenario, ScenarioError> {
        let raw: ScenarioFile = parse_toml(file_name, text, overrides)?;
        Scenario::from_file(raw).map_err(|problems| ScenarioError::Invalid {
            file: file_name.to_string(),
            problems: problems
                .into_iter()
                .map(|mut problem| {
                    problem.line = problem.line.or_else(|| locate_key(text, &problem.path));
                    problem
                })
                .collect(),
        })
    }

    /// Checks a raw scenario; returns every problem found.
    pub fn from_file(raw: ScenarioFile) -> Result<Scenario, Vec<Problem>> {
        let mut check = Checker::default();
        let scenario = build(&raw, &mut check);
        if check.problems.is_empty() {
            Ok(scenario)
        } else {
            Err(check.problems)
        }
    }
}

impl Scenario {
    /// The campaign side of the scenario: what the dialer itself is configured with.
    pub fn campaign_setup(&self, seed: u64) -> CampaignSetup {
        let mut compliance = self.compliance();
        let zones = match compliance.as_mut() {
            Some(compliance) => self
                .leads
                .time_zones
                .iter()
                .map(|name| {
                    compliance.intern_zone(name, || {
                        ZoneSet::one(hours::zone(name).expect("checked when the scenario loaded"))
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        CampaignSetup {
            leads: LeadSource::Generated {
                count: self.leads.count,
                prefix: self.leads.prefix.as_str().into(),
                zones,
            },
            redial: self.redial,
            compliance,
            call_settings: CallSettings {
                ring_timeout: self.dialing.ring_timeout,
                dial_watchdog_grace: self.dialing.watchdog_grace,
                suspect_timeout: self.suspect_timeout,
                ..CallSettings::default()
            },
            assumed_wrap_up: self.pacing.assumed_wrap_up,
            max_attempts: self.dialing.max_attempts,
            dial_until: self.dialing.dial_until,
            watchdog_sweep: SimDuration::from_secs(5),
            pacing: PacingSetup {
                strategy: self.pacing.strategy,
                queue_guard: self
                    .pacing
                    .queue_guard
                    .map(|(pause_at, resume_at)| QueueGuard::new(pause_at, resume_at)),
                tick: self.pacing.tick,
                seed: stream_seed(seed, Purpose::Pacing, 0, 0),
                limits: self.dialing.limits,
                abandon_guard: self.pacing.abandon.guard,
            },
            abandon: self.pacing.abandon,
            pacing_changes: self.pacing.changes.clone(),
            reconcile: self.reconcile,
            prior_answers: Vec::new(),
            recovered: Vec::new(),
        }
    }

    /// The compliance rules the scenario asks for; `None` when it uses none, so a scenario
    /// without them pays nothing per dial.
    pub fn compliance(&self) -> Option<Compliance> {
        let uses_rules = self.calling_hours.is_some()
            || !self.leads.time_zones.is_empty()
            || !self.leads.do_not_call.is_empty()
            || self.redial.max_per_day.is_some();
        if !uses_rules {
            return None;
        }
        let zone_name = self
            .calling_hours
            .as_ref()
            .map_or("UTC", |settings| settings.time_zone.as_str());
        let zone = hours::zone(zone_name).expect("checked when the scenario loaded");
        let mut compliance = Compliance::new(
            self.start,
            self.calling_hours
                .as_ref()
                .map(|settings| settings.hours.clone()),
            (zone_name, zone),
        );
        for number in &self.leads.do_not_call {
            compliance.dnc.add(number.clone());
        }
        Some(compliance)
    }
}

/// Parses TOML text into any raw settings type, applying `key.path=value` overrides first; errors
/// name the file, the key path and the line, as for scenarios. Shared with the live campaign and
/// fake-switch files.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    file_name: &str,
    text: &str,
    overrides: &[String],
) -> Result<T, ScenarioError> {
    if overrides.is_empty() {
        parse_direct(file_name, text)
    } else {
        parse_with_overrides(file_name, text, overrides)
    }
}

fn parse_direct<T: serde::de::DeserializeOwned>(
    file_name: &str,
    text: &str,
) -> Result<T, ScenarioError> {
    let deserializer =
        toml::Deserializer::parse(text).map_err(|error| syntax(file_name, text, &error))?;
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let line = inner
            .span()
            .map(|span| line_and_column(text, span.start).0)
            .or_else(|| locate_key(text, &path));
        invalid(file_name, &path, line, inner.message())
    })
}

fn parse_with_overrides<T: serde::de::DeserializeOwned>(
    file_name: &str,
    text: &str,
    overrides: &[String],
) -> Result<T, ScenarioError> {
    let mut table: toml::Table = text
        .parse()
        .map_err(|error: toml::de::Error| syntax(file_name, text, &error))?;
    for assignment in overrides {
        apply_override(&mut table, assignment)?;
    }
    serde_path_to_error::deserialize(table).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        invalid(file_name, &path, locate_key(text, &path), inner.message())
    })
}

fn syntax(file_name: &str, text: &str, error: &toml::de::Error) -> ScenarioError {
    let (line, column) = error
        .span()
        .map(|span| line_and_column(text, span.start))
        .unwrap_or((1, 1));
    ScenarioError::Syntax {
        file: file_name.to_string(),
        line,
        column,
        message: error.message().to_string(),
    }
}

fn invalid(file_name: &str, path: &str, line: Option<usize>, message: &str) -> ScenarioError {
    ScenarioError::Invalid {
        file: file_name.to_string(),
        problems: vec![Problem {
            path: if path.is_empty() || path == "." {
                "(top level)".to_string()
            } else {
                path.to_string()
            },
            line,
            message: message.to_string(),
        }],
    }
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// Best-effort line of a dotted key in the TOML text: the key's line inside its table, the
/// table's own header when the path names a table (`callees`, `pacing.queue_guard`), or, for an
/// entry of an array of tables (`timeline[2]`, `timeline[2].at`), the key inside that entry or
/// the entry's `[[timeline]]` header.
pub(crate) fn locate_key(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    if let Some((table, index, rest)) = array_entry(path) {
        return locate_in_array_entry(&lines, table, index, rest).map(|found| found + 1);
    }
    if let Some(found) = lines
        .iter()
        .position(|line| header_of(line).is_some_and(|(name, _)| name == path))
    {
        return Some(found + 1);
    }
    let parts: Vec<&str> = path
        .split('.')
        .filter(|part| !part.is_empty() && !part.starts_with('['))
        .collect();
    if parts.is_empty() {
        return None;
    }
    for split in (0..parts.len()).rev() {
        let header = parts[..split].join(".");
        let key = parts[split];
        let mut in_table = header.is_empty();
        for (index, line) in lines.iter().enumerate() {
            if let Some((name, _)) = header_of(line) {
                in_table = name == header;
                continue;
            }
            if in_table && assigns(line, key) {
                return Some(index + 1);
            }
        }
        if split > 0 && !header.is_empty() {
            let header_line = lines
                .iter()
                .position(|line| header_of(line).is_some_and(|(name, _)| name == header));
            if let Some(found) = header_line {
                return Some(found + 1);
            }
        }
    }
    None
}

/// `timeline[2].at` -> (`timeline`, 2, Some(`at`)); `timeline[2]` -> (`timeline`, 2, None).
fn array_entry(path: &str) -> Option<(&str, usize, Option<&str>)> {
    let (table, after) = path.split_once('[')?;
    let (index, rest) = after.split_once(']')?;
    if table.is_empty() || table.contains('.') {
        return None;
    }
    let index = index.parse().ok()?;
    let rest = rest.strip_prefix('.').filter(|rest| !rest.is_empty());
    Some((table, index, rest))
}

/// The 0-based line of `key` inside entry `index` of the array of tables `table`, or of the
/// entry's header when the key is not written there (or none is asked for).
fn locate_in_array_entry(
    lines: &[&str],
    table: &str,
    index: usize,
    key: Option<&str>,
) -> Option<usize> {
    let header = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| header_of(line) == Some((table, true)))
        .map(|(position, _)| position)
        .nth(index)?;
    let key = key.and_then(|key| key.split('.').next());
    let mut body = lines[header + 1..]
        .iter()
        .take_while(|line| header_of(line).is_none());
    let found = key.and_then(|key| body.position(|line| assigns(line, key)));
    Some(found.map_or(header, |offset| header + 1 + offset))
}

/// The table a header line opens, and whether it is an entry of an array of tables
/// (`[[timeline]]`); `None` for any other line. A comment after the header is allowed.
fn header_of(line: &str) -> Option<(&str, bool)> {
    let trimmed = line.trim();
    if let Some(inner) = trimmed.strip_prefix("[[") {
        return inner.split_once("]]").map(|(name, _)| (name.trim(), true));
    }
    let inner = trimmed.strip_prefix('[')?;
    inner.split_once(']').map(|(name, _)| (name.trim(), false))
}

/// Whether the line sets `key` (`key = ...`).
fn assigns(line: &str, key: &str) -> bool {
    line.trim()
        .split('=')
        .next()
        .map(str::trim)
        .is_some_and(|name| name == key)
}

fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<(), ScenarioError> {
    let fail = |message: String| ScenarioError::Override {
        assignment: assignment.to_string(),
        message,
    };
    let Some((path, value_text)) = assignment.split_once('=') else {
        return Err(fail("expected key.path=value".to_string()));
    };
    let path = path.trim();
    let keys: Vec<&str> = path.split('.').collect();
    if keys.iter().any(|key| key.is_empty()) {
        return Err(fail(format!(
            "`{path}` is not a key path like `pacing.ratio`"
        )));
    }
    let value = parse_override_value(value_text.trim());
    let (last, parents) = keys.split_last().expect("split of a non-empty path");
    let mut current = table;
    for key in parents {
        let entry = current
            .entry(key.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(inner) => inner,
            _ => {
                return Err(fail(format!(
                    "`{key}` is not a table, so `{path}` cannot be set"
                )));
            }
        };
    }
    current.insert(last.to_string(), value);
    Ok(())
}

/// Reads an override value as TOML (`3`, `2.5`, `"15s"`, `{ exponential = "20s" }`); anything
/// that is not valid TOML is taken as a string, so `15s` works unquoted.
fn parse_override_value(text: &str) -> toml::Value {
    let document = format!("value = {text}");
    match document.parse::<toml::Table>() {
        Ok(mut table) => table
            .remove("value")
            .unwrap_or_else(|| toml::Value::String(text.to_string())),
        Err(_) => toml::Value::String(text.to_string()),
    }
}

/// Collects problems while building a scenario.
#[derive(Default)]
pub(crate) struct Checker {
    pub(crate) problems: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            line: None,
            message: message.into(),
        });
    }

    fn probability(&mut self, path: &str, value: f64) -> f64 {
        if !(0.0..=1.0).contains(&value) || value.is_nan() {
            self.fail(
                path,
                format!("{value} is not a probability; it must be between 0 and 1"),
            );
            return 0.0;
        }
        value
    }

    fn count(&mut self, path: &str, value: i64, min: i64, max: i64) -> u64 {
        if value < min || value > max {
            self.fail(
                path,
                format!("{value} is out of range; it must be between {min} and {max}"),
            );
            return min.max(0) as u64;
        }
        value as u64
    }

    fn positive_duration(&mut self, path: &str, value: SimDuration) -> SimDuration {
        if value.is_zero() {
            self.fail(path, "must be longer than zero");
        }
        value
    }

    fn dist(&mut self, path: &str, raw: &RawDist) -> Dist {
        let secs = |d: &SimDuration| d.as_secs_f64();
        match raw {
            RawDist::Constant(value) => Dist::Constant(secs(value)),
            RawDist::Exponential(mean) => Dist::Exponential { mean: secs(mean) },
            RawDist::Uniform(low, high) => {
                if low > high {
                    self.fail(
                        path,
                        format!("uniform bounds are reversed: low {low} is above high {high}"),
                    );
                }
                Dist::Uniform {
                    low: secs(low),
                    high: secs(high),
                }
            }
            RawDist::LogNormal { mean, sd } => {
                if mean.is_zero() && !sd.is_zero() {
                    self.fail(path, "a lognormal with mean 0 must have sd 0");
                }
                Dist::LogNormal {
                    mean: secs(mean),
                    sd: secs(sd),
                }
            }
            RawDist::Empirical(values) => {
                if values.is_empty() {
                    self.fail(path, "an empirical distribution needs at least one value");
                }
                Dist::Empirical(values.iter().map(secs).collect())
            }
        }
    }

    fn optional_dist(&mut self, path: &str, raw: &Option<RawDist>, default: Dist) -> Dist {
        match raw {
            Some(raw) => self.dist(path, raw),
            None => default,
        }
    }

    fn timed(&mut self, path: &str, outcome: &Option<TimedOutcome>) -> (f64, Dist) {
        let Some(outcome) = outcome else {
            return (0.0, Dist::ZERO);
        };
        let probability = self.probability(&format!("{path}.probability"), outcome.probability);
        let after = match &outcome.after {
            Some(raw) => self.dist(&format!("{path}.after"), raw),
            None if probability > 0.0 => {
                self.fail(
                    &format!("{path}.after"),
                    "required when the probability is above 0: how long until it happens",
                );
                Dist::ZERO
            }
            None => Dist::ZERO,
        };
        (probability, after)
    }
}

fn duration_or(raw: Option<RawDuration>, default: SimDuration) -> SimDuration {
    raw.map_or(default, |d| d.0)
}

fn build(raw: &ScenarioFile, check: &mut Checker) -> Scenario {
    let agents = &raw.agents;
    let agent_no_answer = check.probability("agents.no_answer", agents.no_answer.unwrap_or(0.0));
    let agent_decline = check.probability("agents.decline", agents.decline.unwrap_or(0.0));
    if agent_no_answer + agent_decline > 1.0 + 1e-9 {
        check.fail(
            "agents.decline",
            format!(
                "agents.no_answer + agents.decline is {}, it cannot exceed 1",
                agent_no_answer + agent_decline
            ),
        );
    }
    let wrap_up = check.optional_dist("agents.wrap_up", &agents.wrap_up, Dist::ZERO);
    let agent_settings = AgentSettings {
        count: check.count("agents.count", agents.count, 0, 100_000) as u32,
        answer_after: check.optional_dist("agents.answer_after", &agents.answer_after, Dist::ZERO),
        wrap_up: wrap_up.clone(),
        no_answer_probability: agent_no_answer,
        no_answer_timeout: check.positive_duration(
            "agents.no_answer_timeout",
            duration_or(agents.no_answer_timeout, SimDuration::from_secs(15)),
        ),
        decline_probability: agent_decline,
        decline_after: check.optional_dist(
            "agents.decline_after",
            &agents.decline_after,
            Dist::Constant(2.0),
        ),
    };

    let queue = QueueSettings {
        max_size: raw
            .queue
            .max_size
            .map(|size| check.count("queue.max_size", size, 0, 1_000_000) as u32),
        max_wait: raw
            .queue
            .max_wait
            .map(|wait| check.positive_duration("queue.max_wait", wait.0)),
        entry_delay: check.optional_dist("queue.entry_delay", &raw.queue.entry_delay, Dist::ZERO),
    };

    let callees = build_callees(raw, check);

    let dialing_raw = &raw.dialing;
    let dial_until = dialing_raw
        .dial_until
        .map(|until| SimTime::ZERO + check.positive_duration("dialing.dial_until", until.0));
    let max_attempts = dialing_raw
        .max_attempts
        .map(|max| check.count("dialing.max_attempts", max, 1, i64::MAX));
    let leads = LeadSettings {
        count: raw
            .leads
            .count
            .map(|count| check.count("leads.count", count, 1, i64::MAX)),
        prefix: raw
            .leads
            .prefix
            .clone()
            .unwrap_or_else(|| "+1555".to_string()),
        time_zones: raw
            .leads
            .time_zones
            .iter()
            .enumerate()
            .filter_map(|(index, name)| match hours::zone(name) {
                Ok(_) => Some(name.trim().to_string()),
                Err(error) => {
                    check.fail(&format!("leads.time_zones[{index}]"), error.to_string());
                    None
                }
            })
            .collect(),
        do_not_call: raw
            .leads
            .do_not_call
            .iter()
            .enumerate()
            .filter_map(|(index, number)| match phone::normalize(number, None) {
                Ok(number) => Some(number),
                // Simulated numbers need not be real: take an E.164-looking text as it is.
                Err(_) if is_e164_like(number) => Some(PhoneNumber(number.trim().into())),
                Err(error) => {
                    check.fail(&format!("leads.do_not_call[{index}]"), error.to_string());
                    None
                }
            })
            .collect(),
    };
    if leads.count.is_none() && max_attempts.is_none() && dial_until.is_none() {
        check.fail(
            "dialing",
            "the scenario never stops dialing: set leads.count, dialing.max_attempts or dialing.dial_until",
        );
    }
    let default_deadline = dial_until.map_or(SimTime::from_secs(30 * 86_400), |until| {
        until + SimDuration::from_secs(86_400)
    });
    let ring_timeout_floor =
        duration_or(dialing_raw.ring_timeout_floor, DEFAULT_RING_TIMEOUT_FLOOR);
    let ring_timeout = check.positive_duration(
        "dialing.ring_timeout",
        duration_or(dialing_raw.ring_timeout, SimDuration::from_secs(25)),
    );
    if ring_timeout < ring_timeout_floor && dialing_raw.allow_short_ring_timeout != Some(true) {
        check.fail(
            "dialing.ring_timeout",
            format!(
                "{ring_timeout} is under the ring-timeout floor of {ring_timeout_floor} (FCC and Ofcom: let it ring at least 15 s); set dialing.allow_short_ring_timeout = true to override"
            ),
        );
    }
    let max_lines_per_agent = dialing_raw.max_lines_per_agent.inspect(|&lines| {
        if !(lines.is_finite() && lines >= 1.0) {
            check.fail(
                "dialing.max_lines_per_agent",
                format!("{lines} is out of range; it must be at least 1 (one line for each agent)"),
            );
        }
    });
    let max_calls_per_second = dialing_raw.max_calls_per_second.inspect(|&rate| {
        if !(rate.is_finite() && rate > 0.0) {
            check.fail(
                "dialing.max_calls_per_second",
                format!("{rate} must be above 0"),
            );
        }
    });
    let dialing = DialingSettings {
        ring_timeout,
        ring_timeout_floor,
        limits: DialLimits {
            max_lines_per_agent,
            max_calls_per_second,
        },
        max_attempts,
        dial_until,
        watchdog_grace: duration_or(dialing_raw.watchdog_grace, SimDuration::from_secs(10)),
        deadline: dialing_raw.deadline.map_or(default_deadline, |d| {
            SimTime::ZERO + check.positive_duration("dialing.deadline", d.0)
        }),
    };
    if let (Some(until), deadline) = (dial_until, dialing.deadline)
        && deadline < until
    {
        check.fail("dialing.deadline", "must not be before dialing.dial_until");
    }

    let redial_rule =
        |check: &mut Checker, path: &str, entry: &Option<file::RedialEntry>| match entry {
            None => RedialRule::NEVER,
            Some(entry) => RedialRule {
                delay: entry.delay.0,
                max_attempts: check.count(
                    &format!("{path}.max_attempts"),
                    entry.max_attempts,
                    1,
                    1000,
                ) as u32,
            },
        };
    let redial = RedialPolicy {
        no_answer: redial_rule(check, "redial.no_answer", &raw.redial.no_answer),
        busy: redial_rule(check, "redial.busy", &raw.redial.busy),
        machine: redial_rule(check, "redial.machine", &raw.redial.machine),
        abandoned: redial_rule(check, "redial.abandoned", &raw.redial.abandoned),
        unknown: redial_rule(check, "redial.unknown", &raw.redial.unknown),
        max_attempts: raw
            .redial
            .max_attempts
            .map(|max| check.count("redial.max_attempts", max, 1, 1000) as u32),
        max_per_day: raw
            .redial
            .max_per_day
            .map(|max| check.count("redial.max_per_day", max, 1, 1000) as u32),
        abandon_lockout: raw.redial.abandon_lockout.map(|lockout| lockout.0),
    };
    let start = match &raw.scenario.start {
        None => DEFAULT_START.parse().expect("a valid default start"),
        Some(text) => match crate::compliance::parse_instant(text) {
            Ok(start) => start,
            Err(message) => {
                check.fail("scenario.start", message);
                DEFAULT_START.parse().expect("a valid default start")
            }
        },
    };
    let calling_hours = raw
        .calling_hours
        .as_ref()
        .map(|section| build_calling_hours(section, check));

    let pacing = build_pacing(raw, &wrap_up, check);
    let timeline = build_timeline(raw, &callees, check);
    let (reconcile, suspect_timeout) = build_reconcile(&raw.reconcile, check);
    let faults = build_faults(&raw.faults, check);

    Scenario {
        name: raw.scenario.name.clone(),
        description: raw.scenario.description.clone(),
        seed: raw.scenario.seed.unwrap_or(1),
        agents: agent_settings,
        queue,
        callees,
        dialing,
        leads,
        redial,
        pacing,
        start,
        calling_hours,
        reconcile,
        suspect_timeout,
        faults,
        timeline,
    }
}

fn build_faults(raw: &file::FaultsSection, check: &mut Checker) -> FaultSettings {
    let mut probability = |key: &str, value: Option<f64>| {
        value.map_or(0.0, |value| {
            check.probability(&format!("faults.{key}"), value)
        })
    };
    let mut faults = FaultSettings {
        originate_errors: probability("originate_errors", raw.originate_errors),
        originate_timeouts: probability("originate_timeouts", raw.originate_timeouts),
        drop_callbacks: probability("drop_callbacks", raw.drop_callbacks),
        duplicate_callbacks: probability("duplicate_callbacks", raw.duplicate_callbacks),
        reorder_callbacks: probability("reorder_callbacks", raw.reorder_callbacks),
        late_callbacks: probability("late_callbacks", raw.late_callbacks),
        agent_no_shows: probability("agent_no_shows", raw.agent_no_shows),
        machine_as_person: probability("machine_as_person", raw.machine_as_person),
        person_as_machine: probability("person_as_machine", raw.person_as_machine),
        ..FaultSettings::default()
    };
    if faults.originate_errors + faults.originate_timeouts > 1.0 + 1e-9 {
        check.fail(
            "faults.originate_timeouts",
            "faults.originate_errors + faults.originate_timeouts cannot exceed 1",
        );
    }
    if faults.drop_callbacks
        + faults.duplicate_callbacks
        + faults.reorder_callbacks
        + faults.late_callbacks
        > 1.0 + 1e-9
    {
        check.fail(
            "faults.late_callbacks",
            "the callback fault probabilities (drop, duplicate, reorder, late) cannot sum above 1",
        );
    }
    faults.late_by = check.optional_dist("faults.late_by", &raw.late_by, Dist::Constant(5.0));
    if let Some(rate) = raw.agent_logouts_per_hour {
        if !(0.0..=60.0).contains(&rate) || !rate.is_finite() {
            check.fail(
                "faults.agent_logouts_per_hour",
                format!("{rate} is out of range; it must be between 0 and 60"),
            );
        } else {
            faults.agent_logouts_per_hour = rate;
        }
    }
    if let Some(drift) = &raw.answer_drift {
        let every = check.positive_duration("faults.answer_drift.every", drift.every.0);
        if !(0.0..=1.0).contains(&drift.sd) || !drift.sd.is_finite() {
            check.fail(
                "faults.answer_drift.sd",
                format!("{} is out of range; it must be between 0 and 1", drift.sd),
            );
        } else {
            faults.answer_drift = Some((every, drift.sd));
        }
    }
    faults
}

/// True for `+` and 4 to 15 digits: the shape of E.164, without asking whether it is assigned.
fn is_e164_like(text: &str) -> bool {
    let text = text.trim();
    text.strip_prefix('+').is_some_and(|digits| {
        (4..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

fn build_calling_hours(
    section: &file::CallingHoursSection,
    check: &mut Checker,
) -> CallingHoursSettings {
    let defaults = CallingHours::default();
    let mut time_of_day = |path: &str, text: &Option<String>, default| match text {
        None => default,
        Some(text) => hours::parse_time_of_day(text).unwrap_or_else(|error| {
            check.fail(path, error.to_string());
            default
        }),
    };
    let open = time_of_day("calling_hours.open", &section.open, defaults.open);
    let close = time_of_day("calling_hours.close", &section.close, defaults.close);
    let mut calling_hours = match CallingHours::new(open, close) {
        Ok(hours) => hours,
        Err(error) => {
            check.fail("calling_hours.close", error.to_string());
            defaults
        }
    };
    if let Some(days) = &section.weekdays {
        calling_hours.weekdays = [false; 7];
        for (index, day) in days.iter().enumerate() {
            match hours::parse_weekday(day) {
                Ok(day) => calling_hours.weekdays[day.to_monday_zero_offset() as usize] = true,
                Err(error) => check.fail(
                    &format!("calling_hours.weekdays[{index}]"),
                    error.to_string(),
                ),
            }
        }
    }
    for (index, day) in section.holidays.iter().enumerate() {
        match hours::parse_date(day) {
            Ok(date) => {
                calling_hours.holidays.insert(date);
            }
            Err(error) => check.fail(
                &format!("calling_hours.holidays[{index}]"),
                error.to_string(),
            ),
        }
    }
    let time_zone = section
        .time_zone
        .clone()
        .unwrap_or_else(|| "UTC".to_string());
    if let Err(error) = hours::zone(&time_zone) {
        check.fail("calling_hours.time_zone", error.to_string());
    }
    CallingHoursSettings {
        hours: calling_hours,
        time_zone: time_zone.trim().to_string(),
    }
}

/// Reads `[reconcile]`; shared with live campaign files.
pub(crate) fn build_reconcile(
    raw: &file::ReconcileSection,
    check: &mut Checker,
) -> (ReconcileSettings, SimDuration) {
    let defaults = ReconcileSettings::default();
    let settings = ReconcileSettings {
        interval: raw
            .interval
            .map(|every| check.positive_duration("reconcile.interval", every.0)),
        suspect_interval: check.positive_duration(
            "reconcile.suspect_interval",
            duration_or(raw.suspect_interval, defaults.suspect_interval),
        ),
        vanish_after: raw.vanish_after.map_or(defaults.vanish_after, |count| {
            check.count("reconcile.vanish_after", count, 1, 100) as u32
        }),
    };
    let suspect_timeout = check.positive_duration(
        "reconcile.suspect_timeout",
        duration_or(raw.suspect_timeout, CallSettings::default().suspect_timeout),
    );
    (settings, suspect_timeout)
}

fn build_callees(raw: &ScenarioFile, check: &mut Checker) -> CalleeSettings {
    let section = &raw.callees;
    let (answer, answer_after) = check.timed("callees.answer", &section.answer);
    let (busy, busy_after) = check.timed("callees.busy", &section.busy);
    let (declined, declined_after) = check.timed("callees.declined", &section.declined);
    let (invalid_number, invalid_number_after) =
        check.timed("callees.invalid_number", &section.invalid_number);
    let (failed, failed_after) = check.timed("callees.failed", &section.failed);
    let no_answer = section.no_answer.as_ref().map_or(0.0, |o| {
        check.probability("callees.no_answer.probability", o.probability)
    });
    let (machine, machine_after, machine_detect) = match &section.machine {
        None => (0.0, Dist::ZERO, Dist::ZERO),
        Some(outcome) => {
            let timed = TimedOutcome {
                probability: outcome.probability,
                after: outcome.after.clone(),
            };
            let (probability, after) = check.timed("callees.machine", &Some(timed));
            let detect = check.optional_dist("callees.machine.detect", &outcome.detect, Dist::ZERO);
            (probability, after, detect)
        }
    };
    let mix = CalleeMix {
        answer,
        no_answer,
        busy,
        declined,
        invalid_number,
        failed,
        machine,
    };
    let total = mix.total();
    if (total - 1.0).abs() > 1e-6 {
        check.fail(
            "callees",
            format!(
                "probabilities of callee outcomes (answer, no_answer, busy, declined, invalid_number, failed, machine) sum to {}, they must sum to 1",
                round_for_message(total)
            ),
        );
    }
    let hold = section.hold.as_ref().map(|hold| HoldSettings {
        probability: check.probability("callees.hold.probability", hold.probability),
        duration: check.dist("callees.hold.duration", &hold.duration),
    });
    let transfer = section.transfer.as_ref().map(|transfer| TransferSettings {
        probability: check.probability("callees.transfer.probability", transfer.probability),
        duration: check.dist("callees.transfer.duration", &transfer.duration),
    });
    CalleeSettings {
        mix,
        ringing_after: check.optional_dist(
            "callees.ringing_after",
            &section.ringing_after,
            Dist::ZERO,
        ),
        answer_after,
        busy_after,
        declined_after,
        invalid_number_after,
        failed_after,
        machine_after,
        machine_detect,
        patience: check.dist("callees.patience", &section.patience),
        talk: check.dist("callees.talk", &section.talk),
        hold,
        transfer,
    }
}

fn round_for_message(value: f64) -> f64 {
    (value * 1e9).round() / 1e9
}

/// The keys that name a strategy and its settings, in `[pacing]` or a `[[pacing.changes]]` entry.
struct StrategyKeys<'a> {
    /// Key path prefix, like `pacing` or `pacing.changes[0]`.
    prefix: String,
    strategy: &'a str,
    ratio: Option<f64>,
    rate_per_minute: Option<f64>,
    preview_time: Option<RawDuration>,
    adaptive: Option<&'a file::AdaptiveSection>,
    predictive: Option<&'a file::PredictiveSection>,
}

fn build_strategy(keys: &StrategyKeys<'_>, check: &mut Checker) -> Strategy {
    let path = |key: &str| format!("{}.{key}", keys.prefix);
    let strategy = match keys.strategy {
        "progressive" => Strategy::Progressive,
        "power" => match keys.ratio {
            Some(ratio) if ratio.is_finite() && (1.0..=100.0).contains(&ratio) => {
                Strategy::Power { ratio }
            }
            Some(ratio) => {
                check.fail(
                    &path("ratio"),
                    format!(
                        "{ratio} is out of range; it must be at least 1 (power keeps ratio × idle agents dials in flight) and at most 100"
                    ),
                );
                Strategy::Power { ratio: 1.0 }
            }
            None => {
                check.fail(
                    &path("ratio"),
                    "required for strategy \"power\": lines per idle agent",
                );
                Strategy::Power { ratio: 1.0 }
            }
        },
        "rate" => match keys.rate_per_minute {
            Some(rate) if rate.is_finite() && rate > 0.0 => Strategy::Rate { per_minute: rate },
            Some(rate) => {
                check.fail(&path("rate_per_minute"), format!("{rate} must be above 0"));
                Strategy::Rate { per_minute: 1.0 }
            }
            None => {
                check.fail(
                    &path("rate_per_minute"),
                    "required for strategy \"rate\": mean dials per minute",
                );
                Strategy::Rate { per_minute: 1.0 }
            }
        },
        "preview" => Strategy::Preview {
            preview_seconds: keys
                .preview_time
                .map_or(PREVIEW_TIME_DEFAULT_SECONDS, |d| d.0.as_secs_f64()),
        },
        "adaptive_ratio" => Strategy::AdaptiveRatio(build_adaptive(
            &path("adaptive"),
            keys.adaptive.unwrap_or(&Default::default()),
            check,
        )),
        "predictive" => Strategy::Predictive(build_predictive(
            &path("predictive"),
            keys.predictive.unwrap_or(&Default::default()),
            check,
        )),
        other => {
            check.fail(
                &path("strategy"),
                format!(
                    "unknown strategy \"{other}\"; choose \"progressive\", \"power\", \"rate\", \"preview\", \"adaptive_ratio\" or \"predictive\""
                ),
            );
            Strategy::Progressive
        }
    };
    let mut only_for = |present: bool, key: &str, applies_to: &str| {
        if present && keys.strategy != applies_to {
            check.fail(
                &path(key),
                format!(
                    "only applies to strategy \"{applies_to}\", not \"{}\"",
                    keys.strategy
                ),
            );
        }
    };
    only_for(keys.ratio.is_some(), "ratio", "power");
    only_for(keys.rate_per_minute.is_some(), "rate_per_minute", "rate");
    only_for(keys.preview_time.is_some(), "preview_time", "preview");
    only_for(keys.adaptive.is_some(), "adaptive", "adaptive_ratio");
    only_for(keys.predictive.is_some(), "predictive", "predictive");
    strategy
}

fn build_pacing(raw: &ScenarioFile, wrap_up: &Dist, check: &mut Checker) -> PacingSettings {
    let section = &raw.pacing;
    let strategy = build_strategy(
        &StrategyKeys {
            prefix: "pacing".to_string(),
            strategy: &section.strategy,
            ratio: section.ratio,
            rate_per_minute: section.rate_per_minute,
            preview_time: section.preview_time,
            adaptive: section.adaptive.as_ref(),
            predictive: section.predictive.as_ref(),
        },
        check,
    );
    let mut changes = Vec::with_capacity(section.changes.len());
    for (index, change) in section.changes.iter().enumerate() {
        let prefix = format!("pacing.changes[{index}]");
        let changed = build_strategy(
            &StrategyKeys {
                prefix: prefix.clone(),
                strategy: &change.strategy,
                ratio: change.ratio,
                rate_per_minute: change.rate_per_minute,
                preview_time: change.preview_time,
                adaptive: change.adaptive.as_ref(),
                predictive: change.predictive.as_ref(),
            },
            check,
        );
        if changed.is_open_loop() != strategy.is_open_loop() {
            check.fail(
                &format!("{prefix}.strategy"),
                "cannot switch between \"rate\" (open loop, for validation) and the closed-loop strategies",
            );
        }
        changes.push((SimTime::ZERO + change.at.0, changed));
    }
    changes.sort_by_key(|(at, _)| *at);
    let queue_guard = section.queue_guard.as_ref().map(|guard| {
        let pause_at = check.count("pacing.queue_guard.pause_at", guard.pause_at, 1, 1_000_000);
        let resume_at = check.count(
            "pacing.queue_guard.resume_at",
            guard.resume_at,
            0,
            1_000_000,
        );
        if resume_at >= pause_at {
            check.fail(
                "pacing.queue_guard.resume_at",
                format!("must be below pause_at ({pause_at}), or dialing would never stay paused"),
            );
        }
        (pause_at as u32, resume_at as u32)
    });
    let tick = duration_or(section.tick, SimDuration::from_secs(1));
    if tick.is_zero()
        && matches!(
            strategy,
            Strategy::AdaptiveRatio(_) | Strategy::Predictive(_)
        )
    {
        check.fail(
            "pacing.tick",
            format!(
                "strategy \"{}\" decides with time as well as events; the tick must be above 0 (1s samples like VICIdial)",
                if strategy.needs_tick() { strategy.name() } else { "adaptive_ratio or predictive (in pacing.changes)" }
            ),
        );
    }
    let abandon = build_abandon(
        section.abandon.as_ref().unwrap_or(&Default::default()),
        check,
    );
    PacingSettings {
        strategy,
        tick: (!tick.is_zero()).then_some(tick),
        assumed_wrap_up: section
            .assumed_wrap_up
            .map_or_else(|| SimDuration::from_secs_f64(wrap_up.mean_secs()), |d| d.0),
        queue_guard,
        abandon,
        changes,
    }
}

/// Preview time when `pacing.preview_time` is not given.
pub const PREVIEW_TIME_DEFAULT_SECONDS: f64 = 10.0;

fn build_adaptive(
    prefix: &str,
    section: &file::AdaptiveSection,
    check: &mut Checker,
) -> AdaptiveSettings {
    let defaults = AdaptiveSettings::default();
    let variant = match section.variant.as_deref() {
        None => defaults.variant,
        Some("hard_limit") => AdaptVariant::HardLimit,
        Some("average") => AdaptVariant::Average,
        Some("tapered") => AdaptVariant::Tapered,
        Some(other) => {
            check.fail(
                &format!("{prefix}.variant"),
                format!(
                    "unknown variant \"{other}\"; choose \"hard_limit\", \"average\" or \"tapered\" (VICIdial's ADAPT_HARD_LIMIT, ADAPT_AVERAGE, ADAPT_TAPERED)"
                ),
            );
            defaults.variant
        }
    };
    let maximum_level = section.maximum_level.unwrap_or(defaults.maximum_level);
    if !(maximum_level.is_finite() && (1.0..=100.0).contains(&maximum_level)) {
        check.fail(
            &format!("{prefix}.maximum_level"),
            format!("{maximum_level} is out of range; it must be between 1 and 100"),
        );
    }
    let initial_level = section.initial_level.unwrap_or(defaults.initial_level);
    if !(initial_level.is_finite() && initial_level >= 1.0 && initial_level <= maximum_level) {
        check.fail(
            &format!("{prefix}.initial_level"),
            format!("{initial_level} is out of range; it must be between 1 and maximum_level ({maximum_level})"),
        );
    }
    let dropped_percentage = section
        .dropped_percent
        .unwrap_or(defaults.dropped_percentage);
    if !(0.0..=100.0).contains(&dropped_percentage) {
        check.fail(
            &format!("{prefix}.dropped_percent"),
            format!("{dropped_percentage} is not a percentage; it must be between 0 and 100"),
        );
    }
    let intensity = section.intensity.unwrap_or(defaults.intensity);
    if !(-100.0..=100.0).contains(&intensity) {
        check.fail(
            &format!("{prefix}.intensity"),
            format!("{intensity} is out of range; it must be between -100 and 100 (percent)"),
        );
    }
    let diff_target = section.diff_target.unwrap_or(defaults.diff_target);
    if !diff_target.is_finite() {
        check.fail(&format!("{prefix}.diff_target"), "must be a number");
    }
    let latest_server_time = match section.latest_server_time {
        None => defaults.latest_server_time,
        Some(hhmm) if (0..=2400).contains(&hhmm) && hhmm % 100 < 60 => hhmm as u32,
        Some(hhmm) => {
            check.fail(
                &format!("{prefix}.latest_server_time"),
                format!("{hhmm} is not a time of day written HHMM, like 2100"),
            );
            defaults.latest_server_time
        }
    };
    let placement_interval = section
        .placement_interval
        .map_or(defaults.placement_interval, |d| {
            check.positive_duration(&format!("{prefix}.placement_interval"), d.0);
            d.0.as_secs_f64()
        });
    let level_threshold_agents = section.level_threshold_agents.map_or(0, |n| {
        check.count(&format!("{prefix}.level_threshold_agents"), n, 0, 100_000) as u32
    });
    AdaptiveSettings {
        variant,
        initial_level,
        maximum_level,
        dropped_percentage,
        intensity,
        diff_target,
        latest_server_time,
        placement_interval,
        available_only_tally: section.available_only_tally.unwrap_or(false),
        level_threshold_agents,
    }
}

fn build_predictive(
    prefix: &str,
    section: &file::PredictiveSection,
    check: &mut Checker,
) -> PredictiveSettings {
    let defaults = PredictiveSettings::default();
    let criterion = match section.criterion.as_deref() {
        None => defaults.criterion,
        Some("marginal") => Criterion::Marginal,
        Some("average") => Criterion::Average,
        Some(other) => {
            check.fail(
                &format!("{prefix}.criterion"),
                format!("unknown criterion \"{other}\"; choose \"marginal\" or \"average\""),
            );
            defaults.criterion
        }
    };
    let aggressiveness = section.aggressiveness.unwrap_or(defaults.aggressiveness);
    if !(aggressiveness.is_finite() && aggressiveness > 0.0 && aggressiveness <= 100.0) {
        check.fail(
            &format!("{prefix}.aggressiveness"),
            format!("{aggressiveness} is out of range; it must be above 0 and at most 100"),
        );
    }
    let count = |check: &mut Checker, key: &str, value: Option<i64>, default: u32, min: i64| {
        value.map_or(default, |n| {
            check.count(&format!("{prefix}.{key}"), n, min, 1_000_000) as u32
        })
    };
    let step_seconds = section.step.map_or(defaults.step_seconds, |d| {
        if d.0 < SimDuration::from_millis(50) || d.0 > SimDuration::from_secs(10) {
            check.fail(
                &format!("{prefix}.step"),
                format!("{} is out of range; it must be between 50ms and 10s", d.0),
            );
        }
        d.0.as_secs_f64()
    });
    PredictiveSettings {
        min_dial_outcomes: count(
            check,
            "min_dial_outcomes",
            section.min_dial_outcomes,
            defaults.min_dial_outcomes,
            1,
        ),
        min_live_answers: count(
            check,
            "min_live_answers",
            section.min_live_answers,
            defaults.min_live_answers,
            1,
        ),
        min_talks: count(check, "min_talks", section.min_talks, defaults.min_talks, 1),
        criterion,
        aggressiveness,
        step_seconds,
        max_dials_per_decision: count(
            check,
            "max_dials_per_decision",
            section.max_dials_per_decision,
            defaults.max_dials_per_decision,
            1,
        ),
    }
}

fn build_abandon(section: &file::AbandonSection, check: &mut Checker) -> AbandonSettings {
    let defaults = AbandonSettings::default();
    let percent = |check: &mut Checker, key: &str, value: f64| -> f64 {
        if !(value.is_finite() && (0.0..=100.0).contains(&value)) {
            check.fail(
                &format!("pacing.abandon.{key}"),
                format!("{value}% is not a possible cap; it must be between 0 and 100 (percent)"),
            );
            return 0.0;
        }
        value / 100.0
    };
    let cap = section
        .cap_percent
        .map_or(defaults.cap, |value| percent(check, "cap_percent", value));
    let target = match section.target_percent {
        Some(value) => {
            let target = percent(check, "target_percent", value);
            if target > cap {
                check.fail(
                    "pacing.abandon.target_percent",
                    format!(
                        "{value}% is above the cap ({}%); the budget must aim at or below the cap",
                        cap * 100.0
                    ),
                );
            }
            target
        }
        None => cap * DEFAULT_TARGET_SHARE_OF_CAP,
    };
    let denominator = match section.denominator.as_deref() {
        None => defaults.denominator,
        Some("live_answers") => Denominator::LiveAnswers,
        Some("reached_queue") => Denominator::ReachedQueue,
        Some(other) => {
            check.fail(
                "pacing.abandon.denominator",
                format!(
                    "unknown denominator \"{other}\"; choose \"live_answers\" (every call a person answered) or \"reached_queue\" (answered calls that reached the queue)"
                ),
            );
            defaults.denominator
        }
    };
    let window = match section.window.as_deref() {
        None => defaults.window,
        Some("campaign_to_date") => AbandonWindow::CampaignToDate,
        Some("rolling_24h") => AbandonWindow::Rolling24h,
        Some("rolling_30d") => AbandonWindow::Rolling30d,
        Some(other) => {
            check.fail(
                "pacing.abandon.window",
                format!(
                    "unknown window \"{other}\"; choose \"campaign_to_date\", \"rolling_24h\" (Ofcom) or \"rolling_30d\" (FCC)"
                ),
            );
            defaults.window
        }
    };
    let spend_horizon = section.spend_horizon.map_or(defaults.spend_horizon, |d| {
        check.positive_duration("pacing.abandon.spend_horizon", d.0)
    });
    AbandonSettings {
        threshold: section.threshold.map_or(defaults.threshold, |d| d.0),
        denominator,
        cap,
        target,
        window,
        guard: section.guard.unwrap_or(defaults.guard),
        spend_horizon,
    }
}

fn build_timeline(
    raw: &ScenarioFile,
    callees: &CalleeSettings,
    check: &mut Checker,
) -> Vec<TimelineEvent> {
    let mut events = Vec::with_capacity(raw.timeline.len());
    for (index, entry) in raw.timeline.iter().enumerate() {
        let path = format!("timeline[{index}]");
        let mut actions = Vec::new();
        if let Some(n) = entry.set_agents {
            actions.push(TimelineAction::SetAgents(check.count(
                &format!("{path}.set_agents"),
                n,
                0,
                100_000,
            ) as u32));
        }
        if let Some(n) = entry.login_agents {
            actions.push(TimelineAction::LoginAgents(check.count(
                &format!("{path}.login_agents"),
                n,
                0,
                100_000,
            ) as u32));
        }
        if let Some(n) = entry.logout_agents {
            actions.push(TimelineAction::LogoutAgents(check.count(
                &format!("{path}.logout_agents"),
                n,
                0,
                100_000,
            ) as u32));
        }
        if let Some(p) = entry.answer_probability {
            let p = check.probability(&format!("{path}.answer_probability"), p);
            if p > 0.0 && callees.mix.answer == 0.0 && callees.answer_after == Dist::ZERO {
                check.fail(
                    &format!("{path}.answer_probability"),
                    "callees.answer.after must be set for calls to be answered",
                );
            }
            actions.push(TimelineAction::AnswerProbability(p));
        }
        match actions.as_slice() {
            [action] => events.push(TimelineEvent {
                at: SimTime::ZERO + entry.at.0,
                action: *action,
                note: entry.note.clone(),
            }),
            [] => check.fail(
                &path,
                "names no action; use one of set_agents, login_agents, logout_agents, answer_probability",
            ),
            _ => check.fail(&path, "names more than one action; write one [[timeline]] entry per action"),
        }
    }
    events.sort_by_key(|event| event.at);
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[scenario]
name = "t"

[agents]
count = 3

[callees]
patience = { exponential = "20s" }
talk = "3m"
answer = { probability = 0.5, after = { uniform = ["3s", "15s"] } }
no_answer = { probability = 0.5 }

[leads]
count = 10

[pacing]
strategy = "progressive"
"#;

    fn problems_of(text: &str) -> Vec<Problem> {
        match Scenario::from_toml("t.toml", text, &[]) {
            Ok(_) => panic!("expected problems"),
            Err(error) => error.problems().to_vec(),
        }
    }

    #[test]
    fn a_minimal_scenario_gets_defaults() {
        let scenario = Scenario::from_toml("t.toml", MINIMAL, &[]).unwrap();
        assert_eq!(scenario.dialing.ring_timeout, SimDuration::from_secs(25));
        assert_eq!(scenario.callees.talk, Dist::Constant(180.0));
        assert_eq!(scenario.pacing.tick, Some(SimDuration::from_secs(1)));
        assert_eq!(scenario.seed, 1);
    }

    #[test]
    fn unknown_keys_are_named_with_their_path_and_line() {
        let text = MINIMAL.replace("count = 3", "count = 3\ncuont = 4");
        let error = Scenario::from_toml("t.toml", &text, &[]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("t.toml"), "{message}");
        assert!(message.contains("agents.cuont"), "{message}");
        assert!(message.contains("unknown field"), "{message}");
        assert!(message.contains("line 7"), "{message}");
    }

    #[test]
    fn problems_of_a_table_with_a_comment_after_its_header_point_into_it() {
        let text =
            format!("{MINIMAL}\n[pacing.queue_guard] # pause early\npause_at = 2\nresume_at = 5\n");
        let problems = problems_of(&text);
        assert_eq!(problems[0].path, "pacing.queue_guard.resume_at");
        assert_eq!(problems[0].line, Some(22), "{problems:?}");
    }

    #[test]
    fn problems_in_a_timeline_entry_point_into_that_entry() {
        let text = format!(
            "{MINIMAL}\n[[timeline]]\nat = \"01:00\"\nlogout_agents = 1\n\n[[timeline]]\nat = \"02:00\"\n\n[[timeline]]\nat = \"03:00\"\nlogout_agents = -1\n"
        );
        let problems = problems_of(&text);
        let lines: Vec<(&str, Option<usize>)> = problems
            .iter()
            .map(|problem| (problem.path.as_str(), problem.line))
            .collect();
        assert_eq!(
            lines,
            [
                ("timeline[1]", Some(24)),
                ("timeline[2].logout_agents", Some(29))
            ],
            "{problems:?}"
        );
    }

    #[test]
    fn locating_keys_tells_tables_keys_and_entries_apart() {
        let text = "top = 1\n[a]\nx = 1\n[a.b]  # note\ny = 2\n[[t]]\nx = 3\n[[t]]\nz = 4\n";
        assert_eq!(locate_key(text, "top"), Some(1));
        assert_eq!(locate_key(text, "a"), Some(2));
        assert_eq!(locate_key(text, "a.x"), Some(3));
        assert_eq!(locate_key(text, "a.b"), Some(4));
        assert_eq!(locate_key(text, "a.b.y"), Some(5));
        // A key not written falls back to its table's header.
        assert_eq!(locate_key(text, "a.b.missing"), Some(4));
        assert_eq!(locate_key(text, "t[0].x"), Some(7));
        assert_eq!(locate_key(text, "t[1]"), Some(8));
        assert_eq!(locate_key(text, "t[1].x"), Some(8));
        assert_eq!(locate_key(text, "t[1].z"), Some(9));
        assert_eq!(locate_key(text, "t[2]"), None);
        assert_eq!(locate_key(text, "nowhere"), None);
    }

    #[test]
    fn probabilities_must_sum_to_one() {
        let text = MINIMAL.replace(
            "probability = 0.5 }\n\n[leads]",
            "probability = 0.6 }\n\n[leads]",
        );
        let problems = problems_of(&text);
        assert_eq!(problems[0].path, "callees");
        // A rule about the whole table points at its header.
        assert_eq!(problems[0].line, Some(8), "{problems:?}");
        assert!(problems[0].message.contains("sum to 1.1"), "{:?}", problems);
    }

    #[test]
    fn negative_durations_are_refused_with_the_key() {
        let text = MINIMAL.replace("talk = \"3m\"", "talk = \"-3m\"");
        let message = Scenario::from_toml("t.toml", &text, &[])
            .unwrap_err()
            .to_string();
        assert!(message.contains("callees.talk"), "{message}");
        assert!(message.contains("negative duration"), "{message}");
    }

    #[test]
    fn several_problems_are_reported_together() {
        let text = MINIMAL
            .replace("strategy = \"progressive\"", "strategy = \"power\"")
            .replace("count = 10", "count = 0");
        let paths: Vec<String> = problems_of(&text).into_iter().map(|p| p.path).collect();
        assert!(paths.contains(&"pacing.ratio".to_string()), "{paths:?}");
        assert!(paths.contains(&"leads.count".to_string()), "{paths:?}");
    }

    #[test]
    fn overrides_apply_and_are_checked() {
        let scenario = Scenario::from_toml(
            "t.toml",
            MINIMAL,
            &[
                "agents.count=7".to_string(),
                "dialing.ring_timeout=30s".to_string(),
            ],
        )
        .unwrap();
        assert_eq!(scenario.agents.count, 7);
        assert_eq!(scenario.dialing.ring_timeout, SimDuration::from_secs(30));
        let error =
            Scenario::from_toml("t.toml", MINIMAL, &["agents.cuont=7".to_string()]).unwrap_err();
        assert!(error.to_string().contains("agents.cuont"), "{error}");
    }

    #[test]
    fn a_scenario_must_stop() {
        let text = MINIMAL.replace("[leads]\ncount = 10", "");
        let problems = problems_of(&text);
        assert!(problems[0].message.contains("never stops"), "{problems:?}");
    }

    #[test]
    fn answer_probability_shift_rescales_the_rest() {
        let mix = CalleeMix {
            answer: 0.3,
            no_answer: 0.45,
            busy: 0.15,
            declined: 0.0,
            invalid_number: 0.1,
            failed: 0.0,
            machine: 0.0,
        };
        let shifted = mix.with_answer_probability(0.2);
        assert!((shifted.total() - 1.0).abs() < 1e-12);
        assert!((shifted.no_answer / shifted.busy - 3.0).abs() < 1e-12);
    }

    fn problems_with(overrides: &[&str]) -> Vec<Problem> {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        match Scenario::from_toml("t.toml", MINIMAL, &overrides) {
            Ok(_) => panic!("expected problems with {overrides:?}"),
            Err(error) => error.problems().to_vec(),
        }
    }

    fn has(problems: &[Problem], path: &str, text: &str) -> bool {
        problems
            .iter()
            .any(|p| p.path == path && p.message.contains(text))
    }

    #[test]
    fn impossible_abandon_caps_are_refused_with_the_reason() {
        for cap in ["150", "-1"] {
            let problems = problems_with(&[&format!("pacing.abandon.cap_percent={cap}")]);
            assert!(
                has(&problems, "pacing.abandon.cap_percent", "between 0 and 100"),
                "{problems:?}"
            );
        }
        let problems = problems_with(&[
            "pacing.abandon.cap_percent=3",
            "pacing.abandon.target_percent=4",
        ]);
        assert!(has(
            &problems,
            "pacing.abandon.target_percent",
            "above the cap"
        ));
        let problems = problems_with(&["pacing.abandon.denominator=\"calls\""]);
        assert!(has(&problems, "pacing.abandon.denominator", "live_answers"));
        let problems = problems_with(&["pacing.abandon.window=\"week\""]);
        assert!(has(&problems, "pacing.abandon.window", "rolling_30d"));
    }

    #[test]
    fn the_ring_timeout_floor_needs_an_explicit_override() {
        let problems = problems_with(&["dialing.ring_timeout=10s"]);
        assert!(
            has(
                &problems,
                "dialing.ring_timeout",
                "under the ring-timeout floor of 15"
            ),
            "{problems:?}"
        );
        assert!(problems[0].message.contains("allow_short_ring_timeout"));
        let allowed = Scenario::from_toml(
            "t.toml",
            MINIMAL,
            &[
                "dialing.ring_timeout=10s".to_string(),
                "dialing.allow_short_ring_timeout=true".to_string(),
            ],
        )
        .unwrap();
        assert_eq!(allowed.dialing.ring_timeout, SimDuration::from_secs(10));
        let lower_floor = Scenario::from_toml(
            "t.toml",
            MINIMAL,
            &[
                "dialing.ring_timeout=10s".to_string(),
                "dialing.ring_timeout_floor=8s".to_string(),
            ],
        );
        assert!(lower_floor.is_ok());
    }

    #[test]
    fn power_needs_a_ratio_of_at_least_one() {
        let problems = problems_with(&["pacing.strategy=\"power\"", "pacing.ratio=0.8"]);
        assert!(has(&problems, "pacing.ratio", "at least 1"), "{problems:?}");
    }

    #[test]
    fn dialing_limits_are_checked() {
        let problems = problems_with(&["dialing.max_lines_per_agent=0.5"]);
        assert!(has(&problems, "dialing.max_lines_per_agent", "at least 1"));
        let problems = problems_with(&["dialing.max_calls_per_second=0"]);
        assert!(has(&problems, "dialing.max_calls_per_second", "above 0"));
        let ok = Scenario::from_toml(
            "t.toml",
            MINIMAL,
            &[
                "dialing.max_lines_per_agent=2.5".to_string(),
                "dialing.max_calls_per_second=8".to_string(),
            ],
        )
        .unwrap();
        assert_eq!(ok.dialing.limits.max_lines_per_agent, Some(2.5));
        assert_eq!(ok.dialing.limits.max_calls_per_second, Some(8.0));
    }

    #[test]
    fn strategy_settings_are_checked_and_belong_to_their_strategy() {
        let problems = problems_with(&[
            "pacing.strategy=\"adaptive_ratio\"",
            "pacing.adaptive.initial_level=4",
            "pacing.adaptive.maximum_level=3",
            "pacing.adaptive.latest_server_time=2575",
            "pacing.adaptive.variant=\"fast\"",
        ]);
        assert!(has(
            &problems,
            "pacing.adaptive.initial_level",
            "maximum_level"
        ));
        assert!(has(&problems, "pacing.adaptive.latest_server_time", "HHMM"));
        assert!(has(&problems, "pacing.adaptive.variant", "hard_limit"));
        let problems = problems_with(&["pacing.adaptive.intensity=10"]);
        assert!(has(
            &problems,
            "pacing.adaptive",
            "only applies to strategy \"adaptive_ratio\""
        ));
        let problems = problems_with(&["pacing.strategy=\"predictive\"", "pacing.tick=0s"]);
        assert!(has(&problems, "pacing.tick", "above 0"), "{problems:?}");
        let problems = problems_with(&[
            "pacing.strategy=\"predictive\"",
            "pacing.predictive.aggressiveness=0",
        ]);
        assert!(has(
            &problems,
            "pacing.predictive.aggressiveness",
            "above 0"
        ));
        let problems = problems_with(&["pacing.strategy=\"slow\""]);
        assert!(has(&problems, "pacing.strategy", "predictive"));
    }

    #[test]
    fn strategies_and_their_defaults_are_read() {
        let load = |overrides: &[&str]| {
            let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
            Scenario::from_toml("t.toml", MINIMAL, &overrides).unwrap()
        };
        let preview = load(&["pacing.strategy=\"preview\"", "pacing.preview_time=12s"]);
        assert_eq!(
            preview.pacing.strategy,
            Strategy::Preview {
                preview_seconds: 12.0
            }
        );
        let adaptive = load(&[
            "pacing.strategy=\"adaptive_ratio\"",
            "pacing.adaptive.variant=\"tapered\"",
            "pacing.adaptive.dropped_percent=2.5",
        ]);
        let Strategy::AdaptiveRatio(settings) = adaptive.pacing.strategy else {
            panic!("not adaptive");
        };
        assert_eq!(settings.variant, AdaptVariant::Tapered);
        assert_eq!(settings.dropped_percentage, 2.5);
        assert_eq!(settings.maximum_level, 3.0);
        let predictive = load(&["pacing.strategy=\"predictive\""]);
        assert!(matches!(
            predictive.pacing.strategy,
            Strategy::Predictive(_)
        ));
        let abandon = predictive.pacing.abandon;
        assert_eq!(abandon.threshold, SimDuration::from_secs(2));
        assert!((abandon.cap - 0.03).abs() < 1e-12);
        assert!((abandon.target - 0.024).abs() < 1e-12);
        assert!(abandon.guard);
    }

    #[test]
    fn pacing_can_change_while_running() {
        let text = format!(
            "{MINIMAL}\n[[pacing.changes]]\nat = \"01:00\"\nstrategy = \"power\"\nratio = 2.0\n\n[[pacing.changes]]\nat = \"00:30\"\nstrategy = \"predictive\"\n"
        );
        let scenario = Scenario::from_toml("t.toml", &text, &[]).unwrap();
        assert_eq!(scenario.pacing.changes.len(), 2);
        assert_eq!(scenario.pacing.changes[0].0, SimTime::from_secs(1800));
        assert!(matches!(scenario.pacing.changes[1].1, Strategy::Power { ratio } if ratio == 2.0));
        let bad = format!(
            "{MINIMAL}\n[[pacing.changes]]\nat = \"01:00\"\nstrategy = \"power\"\nratio = 0.5\n"
        );
        let problems = problems_of(&bad);
        assert!(
            has(&problems, "pacing.changes[0].ratio", "at least 1"),
            "{problems:?}"
        );
        let to_rate = format!(
            "{MINIMAL}\n[[pacing.changes]]\nat = \"01:00\"\nstrategy = \"rate\"\nrate_per_minute = 3.0\n"
        );
        assert!(has(
            &problems_of(&to_rate),
            "pacing.changes[0].strategy",
            "open loop"
        ));
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let error = Scenario::from_toml("t.toml", "[agents\ncount = 1", &[]).unwrap_err();
        assert!(
            matches!(error, ScenarioError::Syntax { line: 1, .. }),
            "{error}"
        );
    }
}
