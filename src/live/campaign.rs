//! Live campaign files: what `dialer run` reads. TOML, unknown keys refused; every error names
//! the file, the key path and the line, and a bad file exits with code 2, as for scenarios.
//!
//! The engine's sections (`[agents]`, `[dialing]`, `[leads]`, `[redial]`, `[pacing]`,
//! `[reconcile]`) are the scenario format's and are checked by the same code; the live sections
//! (`[switch]`, `[webhook]`, `[originate]`, `[events]`, `[calls_list]`) say how to reach
//! PortaSwitch and name every API field the research brief marks as unconfirmed, with defaults.
//! Secrets may be given inline or, better, through environment variables (`*_env` keys).
//!
//! Reading and checking only; [`crate::runtime`] runs the campaign.

use crate::campaign::hopper::{LeadList, LeadSource};
use crate::campaign::supervisor::CampaignSetup;
use crate::domain::PhoneNumber;
use crate::portaswitch::backend::{AgentsSource, BackendSettings, SiteSpec};
use crate::portaswitch::client::{ClientSettings, Credentials, LoginSecret, Secret};
use crate::portaswitch::webhook::{RateLimit, WebhookSettings};
use crate::portaswitch::wire::{
    AgentNames, ApiNames, EventNames, ListNames, OriginateNames, TimeBase,
};
use crate::scenario::file::{
    AgentsSection, CalleesSection, CallingHoursSection, DialingSection, PacingSection, RawDist,
    RawDuration, ReconcileSection, RedialSection, ScenarioFile, ScenarioSection, TimedOutcome,
};
use crate::scenario::{
    CallingHoursSettings, Problem, Scenario, ScenarioError, locate_key, parse_toml,
};
use crate::time::SimDuration;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// A checked live campaign.
#[derive(Clone, Debug)]
pub struct LiveCampaign {
    pub name: String,
    pub description: String,
    pub setup: CampaignSetup,
    /// The backend's settings; `callback_url` is filled in once the webhook is bound.
    pub backend: BackendSettings,
    pub webhook: WebhookSettings,
    /// The URL PortaSwitch reaches the webhook at; default `http://<bound address>`.
    pub public_url: Option<String>,
    /// Stop the run after this long even if calls are still up.
    pub deadline: Duration,
    /// The store holding the campaign's leads and journal, if any.
    pub store: Option<StoreSettings>,
    /// When calls may be placed (always set for a live campaign: 08:00 to 21:00 by default).
    pub calling_hours: CallingHoursSettings,
}

impl LiveCampaign {
    /// Reads and checks a campaign file, applying `key.path=value` overrides first.
    pub fn load(path: &Path, overrides: &[String]) -> Result<LiveCampaign, ScenarioError> {
        let file_name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            file: file_name.clone(),
            source,
        })?;
        LiveCampaign::from_toml(&file_name, &text, overrides, &|name| {
            std::env::var(name).ok()
        })
    }

    /// Parses and checks campaign text; `env` reads environment variables.
    pub fn from_toml(
        file_name: &str,
        text: &str,
        overrides: &[String],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<LiveCampaign, ScenarioError> {
        let raw: RawCampaignFile = parse_toml(file_name, text, overrides)?;
        let mut problems = Vec::new();
        let campaign = build(raw, env, &mut problems);
        if problems.is_empty()
            && let Some(campaign) = campaign
        {
            return Ok(campaign);
        }
        Err(ScenarioError::Invalid {
            file: file_name.to_string(),
            problems: problems
                .into_iter()
                .map(|mut problem: Problem| {
                    problem.line = problem.line.or_else(|| locate_key(text, &problem.path));
                    problem
                })
                .collect(),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaignFile {
    campaign: RawCampaignSection,
    switch: RawSwitchSection,
    webhook: RawWebhookSection,
    #[serde(default)]
    originate: RawOriginateSection,
    #[serde(default)]
    events: RawEventsSection,
    #[serde(default)]
    calls_list: RawListSection,
    /// Names of the hunt-group list the logged-in agents are read from (`[agents] source =
    /// "portaswitch"`).
    #[serde(default)]
    agents_list: RawAgentsListSection,
    #[serde(default)]
    reconcile: ReconcileSection,
    agents: RawAgentsSection,
    #[serde(default)]
    dialing: DialingSection,
    #[serde(default)]
    leads: RawLeadsSection,
    #[serde(default)]
    redial: RedialSection,
    pacing: PacingSection,
    /// The campaign's leads and journal in the store (SQLite); without it, leads come from
    /// `[leads]` and the journal stays in memory.
    #[serde(default)]
    store: Option<RawStoreSection>,
    /// When calls may be placed, in each lead's local time; default 08:00 to 21:00 every day,
    /// leads without a zone of their own in `time_zone` (default UTC).
    #[serde(default)]
    calling_hours: CallingHoursSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStoreSection {
    /// The SQLite file.
    path: String,
    /// The campaign's name in the store; default `[campaign] name`.
    #[serde(default)]
    campaign: Option<String>,
}

/// Where a live campaign keeps its leads and journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreSettings {
    pub path: std::path::PathBuf,
    pub campaign: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaignSection {
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSwitchSection {
    url: String,
    #[serde(default)]
    secondary_url: Option<String>,
    login: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_env: Option<String>,
    #[serde(default)]
    api_token: Option<String>,
    #[serde(default)]
    api_token_env: Option<String>,
    customer: i64,
    auto_attendant: String,
    #[serde(default)]
    timeout: Option<RawDuration>,
    #[serde(default)]
    connect_timeout: Option<RawDuration>,
    #[serde(default)]
    max_in_flight: Option<i64>,
    #[serde(default)]
    connect_retries: Option<i64>,
    #[serde(default)]
    probe_interval: Option<RawDuration>,
    #[serde(default)]
    switch_back_after: Option<i64>,
    #[serde(default)]
    unknown_grace: Option<RawDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhookSection {
    listen: String,
    #[serde(default)]
    public_url: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    secret_env: Option<String>,
    #[serde(default)]
    body_limit: Option<i64>,
    #[serde(default)]
    workers: Option<i64>,
    /// Callbacks per second (default 5,000).
    #[serde(default)]
    rate_limit: Option<f64>,
    /// Callbacks at once (default 10,000).
    #[serde(default)]
    rate_burst: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOriginateSection {
    method: Option<String>,
    callee_param: Option<String>,
    caller_param: Option<String>,
    bill_param: Option<String>,
    receive_actions_param: Option<String>,
    receive_actions: Option<toml::Table>,
    callback_param: Option<String>,
    events_param: Option<String>,
    events: Option<Vec<String>>,
    ring_timeout_param: Option<String>,
    extra: Option<toml::Table>,
    response_call_id: Option<String>,
    response_call_tag: Option<String>,
    response_tracking_id: Option<String>,
    hangup_method: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEventsSection {
    call_id: Option<String>,
    call_tag: Option<String>,
    tracking_id: Option<String>,
    state: Option<String>,
    reason: Option<String>,
    reason_code: Option<String>,
    update_time: Option<String>,
    /// `+HH:MM` offset of times without one.
    utc_offset: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListSection {
    subscribe_method: Option<String>,
    list_method: Option<String>,
    customer_param: Option<String>,
    extra: Option<toml::Table>,
    list_field: Option<String>,
    entry_call_id: Option<String>,
    entry_state: Option<String>,
    session_data_method: Option<String>,
    operating_mode_field: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgentsSection {
    count: i64,
    #[serde(default)]
    wrap_up: Option<RawDist>,
    /// `"config"` (default): `count` agents throughout; `"portaswitch"`: `count` until the
    /// first reading, then the active extensions of `huntgroup`, read every `refresh`.
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    huntgroup: Option<String>,
    #[serde(default)]
    refresh: Option<RawDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgentsListSection {
    method: Option<String>,
    customer_param: Option<String>,
    list_field: Option<String>,
    group_id_field: Option<String>,
    extensions_field: Option<String>,
    active_field: Option<String>,
    active_value: Option<String>,
    page_size: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLeadsSection {
    #[serde(default)]
    numbers: Option<Vec<String>>,
    /// A text file with one number per line, relative to the working directory.
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    count: Option<i64>,
    #[serde(default)]
    prefix: Option<String>,
}

fn problem(path: &str, message: impl Into<String>) -> Problem {
    Problem {
        path: path.to_string(),
        line: None,
        message: message.into(),
    }
}

fn json_table(table: Option<toml::Table>) -> serde_json::Map<String, serde_json::Value> {
    match table.map(serde_json::to_value) {
        Some(Ok(serde_json::Value::Object(map))) => map,
        _ => serde_json::Map::new(),
    }
}

/// Reads a secret given inline or through an environment variable.
fn secret(
    path: &str,
    inline: Option<String>,
    env_name: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) -> Option<Secret> {
    match (inline, env_name) {
        (Some(_), Some(_)) => {
            problems.push(problem(
                &format!("{path}_env"),
                format!("give `{path}` or `{path}_env`, not both"),
            ));
            None
        }
        (Some(text), None) => Some(Secret::new(text)),
        (None, Some(name)) => match env(&name) {
            Some(text) if !text.is_empty() => Some(Secret::new(text)),
            _ => {
                problems.push(problem(
                    &format!("{path}_env"),
                    format!("the environment variable {name} is not set"),
                ));
                None
            }
        },
        (None, None) => None,
    }
}

/// `[webhook] rate_limit` and `rate_burst`, checked; the default where a key is missing.
fn webhook_rate_limit(
    per_second: Option<f64>,
    burst: Option<i64>,
    problems: &mut Vec<Problem>,
) -> RateLimit {
    use crate::portaswitch::webhook::RateLimitError;
    let default = RateLimit::default();
    let per_second = per_second.unwrap_or(default.per_second());
    let burst = burst.unwrap_or(i64::from(default.burst()));
    RateLimit::new(per_second, burst).unwrap_or_else(|error| {
        let key = match error {
            RateLimitError::NotPositive(_) | RateLimitError::TooHigh(_) => "webhook.rate_limit",
            RateLimitError::BurstTooSmall(_) | RateLimitError::BurstTooLarge(_) => {
                "webhook.rate_burst"
            }
        };
        problems.push(problem(key, error.to_string()));
        default
    })
}

fn duration(raw: Option<RawDuration>, default: Duration) -> Duration {
    raw.map_or(default, |d| d.0.to_std())
}

fn parse_offset(text: &str) -> Option<i32> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "0"));
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 60 + minutes))
}

fn build(
    raw: RawCampaignFile,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) -> Option<LiveCampaign> {
    // Leads.
    let leads_raw = raw.leads;
    let mut numbers: Option<Vec<PhoneNumber>> = None;
    match (&leads_raw.numbers, &leads_raw.file) {
        (Some(_), Some(_)) => {
            problems.push(problem("leads.file", "give `numbers` or `file`, not both"))
        }
        (Some(list), None) => {
            numbers = Some(list.iter().map(|n| PhoneNumber(n.trim().into())).collect())
        }
        (None, Some(file)) => match std::fs::read_to_string(file) {
            Ok(text) => {
                numbers = Some(
                    text.lines()
                        .map(str::trim)
                        .filter(|line| !line.is_empty() && !line.starts_with('#'))
                        .map(|line| PhoneNumber(line.into()))
                        .collect(),
                )
            }
            Err(error) => problems.push(problem(
                "leads.file",
                format!("cannot read {file}: {error}"),
            )),
        },
        (None, None) => {}
    }
    if let Some(list) = &numbers {
        if list.is_empty() {
            problems.push(problem("leads", "the lead list is empty"));
        }
        if leads_raw.count.is_some() || leads_raw.prefix.is_some() {
            problems.push(problem(
                "leads.count",
                "`count` and `prefix` generate numbers; they cannot be combined with a list",
            ));
        }
        for (index, number) in list.iter().enumerate() {
            let digits = number.0.strip_prefix('+').unwrap_or(&number.0);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                problems.push(problem(
                    &format!("leads.numbers[{index}]"),
                    format!("{:?} is not a phone number", number.0),
                ));
            }
        }
    }

    // The engine's sections, checked by the scenario code.
    let constant = |secs| RawDist::Constant(SimDuration::from_secs(secs));
    let scenario_file = ScenarioFile {
        scenario: ScenarioSection {
            name: raw.campaign.name.clone(),
            description: raw.campaign.description.clone(),
            seed: None,
            start: None,
        },
        agents: AgentsSection {
            count: raw.agents.count,
            answer_after: None,
            wrap_up: raw.agents.wrap_up,
            no_answer: None,
            no_answer_timeout: None,
            decline: None,
            decline_after: None,
        },
        queue: Default::default(),
        faults: Default::default(),
        callees: CalleesSection {
            ringing_after: None,
            patience: constant(1),
            talk: constant(1),
            answer: Some(TimedOutcome {
                probability: 1.0,
                after: Some(constant(1)),
            }),
            no_answer: None,
            busy: None,
            declined: None,
            invalid_number: None,
            failed: None,
            machine: None,
            hold: None,
            transfer: None,
        },
        dialing: raw.dialing,
        leads: crate::scenario::file::LeadsSection {
            count: numbers
                .as_ref()
                .map(|list| list.len().max(1) as i64)
                .or(leads_raw.count),
            prefix: leads_raw.prefix.clone(),
            time_zones: Vec::new(),
            do_not_call: Vec::new(),
        },
        redial: raw.redial,
        pacing: raw.pacing,
        reconcile: raw.reconcile,
        calling_hours: Some(raw.calling_hours),
        timeline: Vec::new(),
    };
    let engine = match Scenario::from_file(scenario_file) {
        Ok(scenario) => Some(scenario),
        Err(found) => {
            problems.extend(found);
            None
        }
    };

    // The switch.
    let switch = raw.switch;
    let password = secret(
        "switch.password",
        switch.password,
        switch.password_env,
        env,
        problems,
    );
    let api_token = secret(
        "switch.api_token",
        switch.api_token,
        switch.api_token_env,
        env,
        problems,
    );
    let login_secret = match (password, api_token) {
        (Some(password), None) => Some(LoginSecret::Password(password)),
        (None, Some(token)) => Some(LoginSecret::ApiToken(token)),
        (Some(_), Some(_)) => {
            problems.push(problem(
                "switch.api_token",
                "give a password or an API token, not both",
            ));
            None
        }
        (None, None) => {
            problems.push(problem(
                "switch.password",
                "set password, password_env, api_token or api_token_env to log in",
            ));
            None
        }
    };
    for (path, url) in [
        ("switch.url", Some(&switch.url)),
        ("switch.secondary_url", switch.secondary_url.as_ref()),
    ] {
        if let Some(url) = url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problems.push(problem(
                path,
                format!("{url:?} is not an http:// or https:// URL"),
            ));
        }
    }
    let count = |path: &str,
                 value: Option<i64>,
                 default: i64,
                 min: i64,
                 max: i64,
                 problems: &mut Vec<Problem>| {
        let value = value.unwrap_or(default);
        if value < min || value > max {
            problems.push(problem(
                path,
                format!("{value} is out of range; it must be between {min} and {max}"),
            ));
            default as u64
        } else {
            value as u64
        }
    };
    let client = ClientSettings {
        timeout: duration(switch.timeout, Duration::from_secs(25)),
        connect_timeout: duration(switch.connect_timeout, Duration::from_secs(5)),
        max_in_flight: count(
            "switch.max_in_flight",
            switch.max_in_flight,
            20,
            1,
            1000,
            problems,
        ) as usize,
        connect_retries: count(
            "switch.connect_retries",
            switch.connect_retries,
            2,
            0,
            10,
            problems,
        ) as u32,
        backoff: Duration::from_millis(200),
    };
    if client.timeout.is_zero() {
        problems.push(problem("switch.timeout", "must be longer than zero"));
    }
    let mut sites = vec![SiteSpec {
        name: "main".into(),
        url: switch.url.clone(),
    }];
    if let Some(url) = switch.secondary_url {
        sites.push(SiteSpec {
            name: "secondary".into(),
            url,
        });
    }

    // Names.
    let defaults = ApiNames::default();
    let o = raw.originate;
    let originate = OriginateNames {
        method: o.method.unwrap_or(defaults.originate.method),
        callee_param: o.callee_param.unwrap_or(defaults.originate.callee_param),
        caller_param: o.caller_param.unwrap_or(defaults.originate.caller_param),
        bill_param: o.bill_param.unwrap_or(defaults.originate.bill_param),
        receive_actions_param: o
            .receive_actions_param
            .unwrap_or(defaults.originate.receive_actions_param),
        receive_actions: o
            .receive_actions
            .map_or(defaults.originate.receive_actions, |table| {
                serde_json::Value::Object(json_table(Some(table)))
            }),
        callback_param: o
            .callback_param
            .unwrap_or(defaults.originate.callback_param),
        events_param: o.events_param.unwrap_or(defaults.originate.events_param),
        events: o.events.unwrap_or(defaults.originate.events),
        ring_timeout_param: o.ring_timeout_param,
        extra: json_table(o.extra),
        response_call_id: o
            .response_call_id
            .unwrap_or(defaults.originate.response_call_id),
        response_call_tag: o
            .response_call_tag
            .unwrap_or(defaults.originate.response_call_tag),
        response_tracking_id: o
            .response_tracking_id
            .unwrap_or(defaults.originate.response_tracking_id),
        hangup_method: o.hangup_method,
    };
    let e = raw.events;
    let utc_offset_minutes = match &e.utc_offset {
        None => 0,
        Some(text) => parse_offset(text).unwrap_or_else(|| {
            problems.push(problem(
                "events.utc_offset",
                format!("{text:?} is not an offset like \"+06:00\""),
            ));
            0
        }),
    };
    let events = EventNames {
        call_id: e.call_id.unwrap_or(defaults.events.call_id),
        call_tag: e.call_tag.unwrap_or(defaults.events.call_tag),
        tracking_id: e.tracking_id.unwrap_or(defaults.events.tracking_id),
        state: e.state.unwrap_or(defaults.events.state),
        reason: e.reason.unwrap_or(defaults.events.reason),
        reason_code: e.reason_code.unwrap_or(defaults.events.reason_code),
        update_time: e.update_time.unwrap_or(defaults.events.update_time),
        utc_offset_minutes,
    };
    let l = raw.calls_list;
    let list = ListNames {
        subscribe_method: l.subscribe_method.unwrap_or(defaults.list.subscribe_method),
        list_method: l.list_method.unwrap_or(defaults.list.list_method),
        customer_param: l.customer_param.unwrap_or(defaults.list.customer_param),
        extra: json_table(l.extra),
        list_field: l.list_field.unwrap_or(defaults.list.list_field),
        entry_call_id: l.entry_call_id.unwrap_or(defaults.list.entry_call_id),
        entry_state: l.entry_state.unwrap_or(defaults.list.entry_state),
        session_data_method: l
            .session_data_method
            .unwrap_or(defaults.list.session_data_method),
        operating_mode_field: l
            .operating_mode_field
            .unwrap_or(defaults.list.operating_mode_field),
    };

    let a = raw.agents_list;
    let agent_names = AgentNames {
        method: a.method.unwrap_or(defaults.agents.method),
        customer_param: a.customer_param.unwrap_or(defaults.agents.customer_param),
        list_field: a.list_field.unwrap_or(defaults.agents.list_field),
        group_id_field: a.group_id_field.unwrap_or(defaults.agents.group_id_field),
        extensions_field: a
            .extensions_field
            .unwrap_or(defaults.agents.extensions_field),
        active_field: a.active_field.unwrap_or(defaults.agents.active_field),
        active_value: a.active_value.unwrap_or(defaults.agents.active_value),
        page_size: count(
            "agents_list.page_size",
            a.page_size,
            i64::from(defaults.agents.page_size),
            1,
            10_000,
            problems,
        ) as u32,
    };
    let agents_source = match raw.agents.source.as_deref() {
        None | Some("config") => AgentsSource::Config,
        Some("portaswitch") => match raw.agents.huntgroup.clone() {
            Some(huntgroup) if !huntgroup.is_empty() => AgentsSource::Switch {
                huntgroup,
                refresh: duration(raw.agents.refresh, Duration::from_secs(30)),
            },
            _ => {
                problems.push(problem(
                    "agents.huntgroup",
                    "name the hunt group whose extensions are the agents (source = \"portaswitch\")",
                ));
                AgentsSource::Config
            }
        },
        Some(other) => {
            problems.push(problem(
                "agents.source",
                format!("{other:?} is not \"config\" or \"portaswitch\""),
            ));
            AgentsSource::Config
        }
    };

    // The webhook.
    let w = raw.webhook;
    let listen: Option<SocketAddr> = match w.listen.parse() {
        Ok(address) => Some(address),
        Err(_) => {
            problems.push(problem(
                "webhook.listen",
                format!("{:?} is not an address like \"127.0.0.1:8080\"", w.listen),
            ));
            None
        }
    };
    let webhook_secret = secret("webhook.secret", w.secret, w.secret_env, env, problems);
    match &webhook_secret {
        None => problems.push(problem(
            "webhook.secret",
            "set secret or secret_env: the callback path carries it",
        )),
        Some(secret) => {
            let text = secret.expose();
            if text.len() < 16
                || !text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                problems.push(problem(
                    "webhook.secret",
                    "must be at least 16 characters of letters, digits, '-' or '_'",
                ));
            }
        }
    }
    let path = w.path.unwrap_or_else(|| "/portaswitch/events".into());
    if !path.starts_with('/') {
        problems.push(problem("webhook.path", "must start with '/'"));
    }
    let body_limit = count(
        "webhook.body_limit",
        w.body_limit,
        64 * 1024,
        256,
        16 << 20,
        problems,
    ) as usize;
    let workers = count("webhook.workers", w.workers, 1, 1, 64, problems) as usize;
    let rate_limit = webhook_rate_limit(w.rate_limit, w.rate_burst, problems);
    let agents = count(
        "agents.count",
        Some(raw.agents.count),
        0,
        0,
        100_000,
        problems,
    ) as u32;
    let probe_interval = duration(switch.probe_interval, Duration::from_secs(60));
    let switch_back_after = count(
        "switch.switch_back_after",
        switch.switch_back_after,
        2,
        1,
        100,
        problems,
    ) as u32;
    let unknown_grace = duration(switch.unknown_grace, Duration::from_secs(5));

    let engine = engine?;
    let login_secret = login_secret?;
    let listen = listen?;
    let webhook_secret = webhook_secret?;
    if !problems.is_empty() {
        return None;
    }
    let store_settings = raw.store.as_ref().map(|store| StoreSettings {
        path: std::path::PathBuf::from(&store.path),
        campaign: store
            .campaign
            .clone()
            .unwrap_or_else(|| engine.name.clone()),
    });
    let mut setup = engine.campaign_setup(engine.seed);
    if let Some(list) = numbers {
        setup.leads = LeadSource::List(LeadList::from_numbers(list));
    }
    // Live, the whole list is fetched periodically unless the file says otherwise.
    if setup.reconcile.interval.is_none() {
        setup.reconcile.interval = Some(SimDuration::from_secs(5));
    }
    Some(LiveCampaign {
        name: engine.name.clone(),
        description: engine.description.clone(),
        deadline: engine
            .dialing
            .deadline
            .saturating_since(crate::time::SimTime::ZERO)
            .to_std(),
        setup,
        backend: BackendSettings {
            sites,
            credentials: Credentials {
                login: switch.login,
                secret: login_secret,
            },
            client,
            names: ApiNames {
                originate,
                events: events.clone(),
                list,
                agents: agent_names,
            },
            customer: switch.customer,
            auto_attendant: switch.auto_attendant,
            callback_url: Secret::new(""),
            agents_logged_in: agents,
            agents_source,
            unknown_grace,
            probe_interval,
            switch_back_after,
        },
        webhook: WebhookSettings {
            listen,
            path,
            secret: webhook_secret,
            body_limit,
            workers,
            rate_limit,
            names: events,
            time_base: TimeBase {
                origin_unix_micros: 0,
            },
        },
        public_url: w.public_url,
        store: store_settings,
        // Always set: the file's section (or its defaults) went into the engine scenario.
        calling_hours: engine
            .calling_hours
            .clone()
            .unwrap_or_else(|| CallingHoursSettings {
                hours: crate::compliance::hours::CallingHours::default(),
                time_zone: "UTC".to_string(),
            }),
    })
}
