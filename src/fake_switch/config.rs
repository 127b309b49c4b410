//! The fake switch's settings file (TOML, unknown keys refused) and its fault table.
//!
//! ```toml
//! [fake_switch]
//! login = "dialer"
//! password = "demo-password"     # or api_token = "..."
//! customer = 1                   # the i_customer it serves
//! auto_attendant = "aa-100"      # originate must name it as caller_id and bill_id (optional)
//! scenario = "../small.toml"     # the simulated world: agents, callees, queue
//! time_scale = 10.0              # simulated seconds per real second
//! seed = 1
//! operating_mode = "normal"      # what Generic/get_session_data answers
//!
//! [faults]
//! token_ttl = "15m"              # access tokens expire after this (real time)
//! fault_rate = 0.0               # probability of an HTTP 500 fault per authorised request
//! fault_methods = []             # limit faults to these Service/method names
//! latency = "0ms"                # added to every API answer
//! drop_callbacks = 0.0           # probabilities per callback
//! duplicate_callbacks = 0.0
//! reorder_callbacks = 0.0
//! late_callbacks = 0.0
//! late_by = "2s"
//! ```
//!
//! Reading only; the server is in the parent module.

use crate::scenario::file::RawDuration;
use crate::scenario::{Scenario, ScenarioError, parse_toml};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// Faults to inject.
#[derive(Clone, Debug, PartialEq)]
pub struct Faults {
    pub token_ttl: Duration,
    pub fault_rate: f64,
    pub fault_methods: Vec<String>,
    pub latency: Duration,
    pub drop_callbacks: f64,
    pub duplicate_callbacks: f64,
    pub reorder_callbacks: f64,
    pub late_callbacks: f64,
    pub late_by: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            token_ttl: Duration::from_secs(15 * 60),
            fault_rate: 0.0,
            fault_methods: Vec::new(),
            latency: Duration::ZERO,
            drop_callbacks: 0.0,
            duplicate_callbacks: 0.0,
            reorder_callbacks: 0.0,
            late_callbacks: 0.0,
            late_by: Duration::from_secs(2),
        }
    }
}

impl Faults {
    /// The delivery faults a world scenario's `[faults]` asks for, so the same scenario gives a
    /// bad day in simulation and on the fake switch: callback faults carry over, and originate
    /// faults become API faults on `CallControl/originate_advanced_call`. (A lost originate
    /// reply, `originate_timeouts`, has no fake-switch counterpart; the `/fake/control` black
    /// hole makes every request hang instead.)
    pub fn from_scenario(world: &crate::scenario::FaultSettings) -> Faults {
        let mut faults = Faults {
            drop_callbacks: world.drop_callbacks,
            duplicate_callbacks: world.duplicate_callbacks,
            reorder_callbacks: world.reorder_callbacks,
            late_callbacks: world.late_callbacks,
            late_by: Duration::from_secs_f64(world.late_by.mean_secs().max(0.0)),
            ..Faults::default()
        };
        if world.originate_errors > 0.0 {
            faults.fault_rate = world.originate_errors;
            faults.fault_methods = vec!["CallControl/originate_advanced_call".into()];
        }
        faults
    }
}

/// The fake switch's settings.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    pub login: String,
    pub password: Option<String>,
    pub api_token: Option<String>,
    pub customer: i64,
    pub auto_attendant: Option<String>,
    pub operating_mode: String,
    pub seed: u64,
    pub time_scale: f64,
    pub scenario: Scenario,
    pub faults: Faults,
}

impl FakeConfig {
    /// Settings for tests: `scenario` is the world, the rest defaults (login `dialer`,
    /// password `secret-password`, customer 1, auto-attendant `aa-100`).
    pub fn for_scenario(scenario: Scenario, time_scale: f64) -> FakeConfig {
        FakeConfig {
            login: "dialer".into(),
            password: Some("secret-password".into()),
            api_token: None,
            customer: 1,
            auto_attendant: Some("aa-100".into()),
            operating_mode: "normal".into(),
            seed: scenario.seed,
            time_scale,
            faults: Faults::from_scenario(&scenario.faults),
            scenario,
        }
    }

    /// Reads a settings file; `scenario` paths are relative to it.
    pub fn load(path: &Path, overrides: &[String]) -> Result<FakeConfig, ScenarioError> {
        let file_name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            file: file_name.clone(),
            source,
        })?;
        let raw: RawFakeFile = parse_toml(&file_name, &text, overrides)?;
        let mut problems = Vec::new();
        let mut fail = |key: &str, message: String| {
            problems.push(crate::scenario::Problem {
                path: key.to_string(),
                line: crate::scenario::locate_key(&text, key),
                message,
            })
        };
        let section = raw.fake_switch;
        if section.password.is_none() && section.api_token.is_none() {
            fail(
                "fake_switch.password",
                "set a password or an api_token to log in with".into(),
            );
        }
        let time_scale = section.time_scale.unwrap_or(1.0);
        if !(time_scale.is_finite() && time_scale > 0.0) {
            fail(
                "fake_switch.time_scale",
                format!("{time_scale} must be a positive number"),
            );
        }
        let raw_faults = raw.faults.unwrap_or_default();
        // Checked against the defaults first, so every problem of the file is reported at once.
        if let Err((key, message)) = apply_faults(&Faults::default(), &raw_faults) {
            fail(&format!("faults.{key}"), message);
        }
        if !problems.is_empty() {
            return Err(ScenarioError::Invalid {
                file: file_name,
                problems,
            });
        }
        let scenario_path = path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&section.scenario);
        let scenario = Scenario::load(&scenario_path, &[])?;
        // The world's own faults first; this file's `[faults]` table overrides them.
        let base = Faults::from_scenario(&scenario.faults);
        let faults = apply_faults(&base, &raw_faults).unwrap_or(base);
        Ok(FakeConfig {
            login: section.login,
            password: section.password,
            api_token: section.api_token,
            customer: section.customer.unwrap_or(1),
            auto_attendant: section.auto_attendant,
            operating_mode: section.operating_mode.unwrap_or_else(|| "normal".into()),
            seed: section.seed.unwrap_or(scenario.seed),
            time_scale,
            scenario,
            faults,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFakeFile {
    fake_switch: RawFakeSection,
    #[serde(default)]
    faults: Option<RawFaults>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFakeSection {
    login: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    api_token: Option<String>,
    #[serde(default)]
    customer: Option<i64>,
    #[serde(default)]
    auto_attendant: Option<String>,
    scenario: String,
    #[serde(default)]
    time_scale: Option<f64>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    operating_mode: Option<String>,
}

/// The `[faults]` table, every key optional (also the body of `POST /fake/control`'s `faults`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFaults {
    #[serde(default)]
    token_ttl: Option<RawDuration>,
    #[serde(default)]
    fault_rate: Option<f64>,
    #[serde(default)]
    fault_methods: Option<Vec<String>>,
    #[serde(default)]
    latency: Option<RawDuration>,
    #[serde(default)]
    drop_callbacks: Option<f64>,
    #[serde(default)]
    duplicate_callbacks: Option<f64>,
    #[serde(default)]
    reorder_callbacks: Option<f64>,
    #[serde(default)]
    late_callbacks: Option<f64>,
    #[serde(default)]
    late_by: Option<RawDuration>,
}

fn apply_faults(base: &Faults, raw: &RawFaults) -> Result<Faults, (&'static str, String)> {
    let probability = |key: &'static str, value: Option<f64>, current: f64| match value {
        None => Ok(current),
        Some(p) if (0.0..=1.0).contains(&p) => Ok(p),
        Some(p) => Err((key, format!("{p} is not a probability between 0 and 1"))),
    };
    let duration =
        |value: Option<RawDuration>, current: Duration| value.map_or(current, |d| d.0.to_std());
    let token_ttl = duration(raw.token_ttl, base.token_ttl);
    if token_ttl.is_zero() {
        return Err(("token_ttl", "must be longer than zero".into()));
    }
    Ok(Faults {
        token_ttl,
        fault_rate: probability("fault_rate", raw.fault_rate, base.fault_rate)?,
        fault_methods: raw
            .fault_methods
            .clone()
            .unwrap_or_else(|| base.fault_methods.clone()),
        latency: duration(raw.latency, base.latency),
        drop_callbacks: probability("drop_callbacks", raw.drop_callbacks, base.drop_callbacks)?,
        duplicate_callbacks: probability(
            "duplicate_callbacks",
            raw.duplicate_callbacks,
            base.duplicate_callbacks,
        )?,
        reorder_callbacks: probability(
            "reorder_callbacks",
            raw.reorder_callbacks,
            base.reorder_callbacks,
        )?,
        late_callbacks: probability("late_callbacks", raw.late_callbacks, base.late_callbacks)?,
        late_by: duration(raw.late_by, base.late_by),
    })
}

/// Applies a partial fault table given as JSON.
pub fn merge_faults(base: &Faults, json: &serde_json::Value) -> Result<Faults, String> {
    let raw: RawFaults = serde_json::from_value(json.clone()).map_err(|e| e.to_string())?;
    apply_faults(base, &raw).map_err(|(key, message)| format!("faults.{key}: {message}"))
}
