//! PortaSwitch's JSON on the wire: request parameters we send and the responses and callback
//! bodies we read, with every name the research brief marks as unconfirmed taken from
//! configuration ([`ApiNames`]; defaults as documented in the README).
//!
//! Pure functions over `serde_json::Value`: no I/O, no clock. Times arrive as text and become
//! microseconds since the Unix epoch; [`TimeBase`] turns them into engine time.

use crate::domain::PhoneNumber;
use crate::short_text::ShortText;
use crate::switch::{CallRef, CallStatus, StateNotification};
use crate::text::shown;
use crate::time::{SimDuration, SimTime};
use serde_json::{Map, Value, json};

/// Names of the originate request and its response (portaswitch-api.md §2).
#[derive(Clone, Debug, PartialEq)]
pub struct OriginateNames {
    /// `Service/method` of the originate request.
    pub method: String,
    pub callee_param: String,
    pub caller_param: String,
    pub bill_param: String,
    pub receive_actions_param: String,
    /// The value of `caller_leg_receive_actions` (the release note's `{"voicemail": "allow"}`).
    pub receive_actions: Value,
    pub callback_param: String,
    pub events_param: String,
    /// The state names asked for in the events parameter.
    pub events: Vec<String>,
    /// If set, the ring timeout in seconds is sent under this name.
    pub ring_timeout_param: Option<String>,
    /// More parameters, sent as given.
    pub extra: Map<String, Value>,
    pub response_call_id: String,
    pub response_call_tag: String,
    pub response_tracking_id: String,
    /// `Service/method` that disconnects a call (not confirmed by any source); `None`: the
    /// dialer never asks the switch to hang up and waits for the call to end by itself.
    pub hangup_method: Option<String>,
}

impl Default for OriginateNames {
    fn default() -> Self {
        OriginateNames {
            method: "CallControl/originate_advanced_call".into(),
            callee_param: "callee_id".into(),
            caller_param: "caller_id".into(),
            bill_param: "bill_id".into(),
            receive_actions_param: "caller_leg_receive_actions".into(),
            receive_actions: json!({"voicemail": "allow"}),
            callback_param: "state_info_callback".into(),
            events_param: "state_info_events".into(),
            events: CallStatus::ALL
                .iter()
                .map(|state| state.as_str().to_string())
                .collect(),
            ring_timeout_param: None,
            extra: Map::new(),
            response_call_id: "call.id".into(),
            response_call_tag: "call.tag".into(),
            response_tracking_id: "tracking_id".into(),
            hangup_method: None,
        }
    }
}

/// Field names of a call-state callback body (portaswitch-api.md §3.2).
#[derive(Clone, Debug, PartialEq)]
pub struct EventNames {
    pub call_id: String,
    pub call_tag: String,
    pub tracking_id: String,
    pub state: String,
    pub reason: String,
    pub reason_code: String,
    pub update_time: String,
    /// The offset from UTC of times that carry none, in minutes.
    pub utc_offset_minutes: i32,
}

impl Default for EventNames {
    fn default() -> Self {
        EventNames {
            call_id: "call.id".into(),
            call_tag: "call.tag".into(),
            tracking_id: "tracking_id".into(),
            state: "state".into(),
            reason: "reason".into(),
            reason_code: "reason_code".into(),
            update_time: "update_time".into(),
            utc_offset_minutes: 0,
        }
    }
}

/// Names of the session subscription, the active-call list and the site probe (§1.4, §3.3).
#[derive(Clone, Debug, PartialEq)]
pub struct ListNames {
    pub subscribe_method: String,
    pub list_method: String,
    pub customer_param: String,
    /// More parameters for the list request.
    pub extra: Map<String, Value>,
    pub list_field: String,
    pub entry_call_id: String,
    pub entry_state: String,
    pub session_data_method: String,
    pub operating_mode_field: String,
}

impl Default for ListNames {
    fn default() -> Self {
        ListNames {
            subscribe_method: "CallControl/enable_api_notifications".into(),
            list_method: "CallControl/get_sip_calls_list".into(),
            customer_param: "i_customer".into(),
            extra: Map::new(),
            list_field: "calls_list".into(),
            entry_call_id: "call.id".into(),
            entry_state: "state".into(),
            session_data_method: "Generic/get_session_data".into(),
            operating_mode_field: "operating_mode".into(),
        }
    }
}

/// Every configurable name, together.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApiNames {
    pub originate: OriginateNames,
    pub events: EventNames,
    pub list: ListNames,
    pub agents: AgentNames,
}

/// Names of the hunt-group list the logged-in agents are read from (portaswitch-api.md §4.1:
/// `Customer/get_huntgroup_list`, each group with `assigned_extensions[]{..., hunt_active}`).
/// Known from PortaOne's own adapter code, not from documentation: every name is configurable.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentNames {
    pub method: String,
    pub customer_param: String,
    pub list_field: String,
    /// The field of a hunt group that names it (matched against `[agents] huntgroup`).
    pub group_id_field: String,
    pub extensions_field: String,
    /// The field of an extension that says whether it takes the group's calls, and its value
    /// when it does.
    pub active_field: String,
    pub active_value: String,
    /// Hunt groups asked for per request (`limit`/`offset` paging).
    pub page_size: u32,
}

impl Default for AgentNames {
    fn default() -> Self {
        AgentNames {
            method: "Customer/get_huntgroup_list".into(),
            customer_param: "i_customer".into(),
            list_field: "huntgroup_list".into(),
            group_id_field: "huntgroup_id".into(),
            extensions_field: "assigned_extensions".into(),
            active_field: "hunt_active".into(),
            active_value: "Y".into(),
            page_size: 500,
        }
    }
}

/// The parameters of one page of the hunt-group list.
pub fn agents_params(names: &AgentNames, customer: i64, page: u32) -> Value {
    let mut params = Map::new();
    set_path(&mut params, &names.customer_param, json!(customer));
    params.insert("limit".into(), json!(names.page_size));
    params.insert("offset".into(), json!(page * names.page_size));
    Value::Object(params)
}

/// One page of the hunt-group list: how many of `group`'s extensions are active, if the group
/// is on this page, and how many groups the page held (fewer than a page: the last one).
pub fn parse_active_agents(
    value: &Value,
    names: &AgentNames,
    group: &str,
) -> Result<(Option<u32>, usize), String> {
    let groups = lookup(value, &names.list_field)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("the response has no list `{}`", names.list_field))?;
    let Some(found) = groups
        .iter()
        .find(|entry| id_at(entry, &names.group_id_field).as_deref() == Some(group))
    else {
        return Ok((None, groups.len()));
    };
    let extensions = lookup(found, &names.extensions_field)
        .and_then(Value::as_array)
        .ok_or_else(|| {
            format!(
                "hunt group `{group}` has no list `{}`",
                names.extensions_field
            )
        })?;
    let active = extensions
        .iter()
        .filter(|extension| {
            text_at(extension, &names.active_field) == Some(names.active_value.as_str())
        })
        .count();
    Ok((Some(active as u32), groups.len()))
}

/// Maps the switch's timestamps (Unix microseconds) to engine time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeBase {
    /// The Unix time of engine time zero, in microseconds.
    pub origin_unix_micros: u64,
}

impl TimeBase {
    pub fn engine_time(&self, unix_micros: u64) -> SimTime {
        SimTime(unix_micros.saturating_sub(self.origin_unix_micros))
    }
}

/// Follows a dotted path (`call.id`) into a JSON value.
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |current, key| current.as_object()?.get(key))
}

/// Sets a dotted path in a JSON object, creating objects on the way.
pub fn set_path(target: &mut Map<String, Value>, path: &str, value: Value) {
    let mut keys = path.split('.').peekable();
    let mut current = target;
    while let Some(key) = keys.next() {
        if keys.peek().is_none() {
            current.insert(key.to_string(), value);
            return;
        }
        let entry = current
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        current = entry.as_object_mut().expect("made an object above");
    }
}

fn text_at<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    lookup(value, path)?.as_str()
}

/// Text or a number, as text (ids are sometimes numbers).
fn id_at(value: &Value, path: &str) -> Option<ShortText> {
    match lookup(value, path)? {
        Value::String(text) if !text.is_empty() => Some(text.as_str().into()),
        Value::Number(number) => Some(number.to_string().into()),
        _ => None,
    }
}

/// The parameters of one originate request.
pub fn originate_params(
    names: &OriginateNames,
    callee: &PhoneNumber,
    auto_attendant: &str,
    callback_url: &str,
    ring_timeout: SimDuration,
) -> Value {
    let mut params = names.extra.clone();
    set_path(&mut params, &names.callee_param, json!(callee.0.as_str()));
    set_path(&mut params, &names.caller_param, json!(auto_attendant));
    set_path(&mut params, &names.bill_param, json!(auto_attendant));
    set_path(
        &mut params,
        &names.receive_actions_param,
        names.receive_actions.clone(),
    );
    set_path(&mut params, &names.callback_param, json!(callback_url));
    set_path(&mut params, &names.events_param, json!(names.events));
    if let Some(param) = &names.ring_timeout_param {
        set_path(
            &mut params,
            param,
            json!(ring_timeout.as_micros().div_ceil(1_000_000)),
        );
    }
    Value::Object(params)
}

/// Reads the call's identity from an originate response.
pub fn parse_originate_response(
    value: &Value,
    names: &OriginateNames,
) -> Result<(CallRef, ShortText), String> {
    let id = id_at(value, &names.response_call_id)
        .ok_or_else(|| format!("the response has no `{}`", names.response_call_id))?;
    let tag = id_at(value, &names.response_call_tag).unwrap_or_default();
    let tracking = id_at(value, &names.response_tracking_id).unwrap_or_default();
    Ok((CallRef { id, tag }, tracking))
}

/// Parameters naming the customer, for the subscription and the list.
pub fn customer_params(names: &ListNames, customer: i64, with_extra: bool) -> Value {
    let mut params = if with_extra {
        names.extra.clone()
    } else {
        Map::new()
    };
    set_path(&mut params, &names.customer_param, json!(customer));
    Value::Object(params)
}

/// One entry of `get_sip_calls_list`.
#[derive(Clone, Debug, PartialEq)]
pub struct ListEntry {
    pub call_id: ShortText,
    pub state: Option<CallStatus>,
}

/// Reads the active-call list.
pub fn parse_calls_list(value: &Value, names: &ListNames) -> Result<Vec<ListEntry>, String> {
    let entries = lookup(value, &names.list_field)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("the response has no list `{}`", names.list_field))?;
    Ok(entries
        .iter()
        .filter_map(|entry| {
            Some(ListEntry {
                call_id: id_at(entry, &names.entry_call_id)?,
                state: text_at(entry, &names.entry_state).and_then(CallStatus::parse),
            })
        })
        .collect())
}

/// Why a callback body was refused. Every reason names the field (in backquotes) or the place
/// in the text (line and column); values quoted back are cut to [`crate::text::SHOWN_CHARS`] characters and
/// escaped, so a hostile body cannot make a long or unprintable answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the body is empty")]
    Empty,
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    /// The same key twice in one object: JSON, but ambiguous.
    #[error("the body is ambiguous: {0}")]
    DuplicateKey(String),
    #[error("the body is not a JSON object")]
    NotAnObject,
    #[error("`{0}` is missing")]
    Missing(String),
    #[error("`{0}` is empty")]
    EmptyField(String),
    #[error("`{field}` must be {expected}, not {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: String,
    },
    #[error("`{field}` is not a time: {text}")]
    BadTime { field: String, text: String },
    #[error("`{field}` is not a number from 0 to 65535: {text}")]
    BadNumber { field: String, text: String },
    /// A state name outside the vocabulary the dialer follows (e.g. "early", "parked"): not
    /// malformed, but nothing to act on.
    #[error("state {0:?} is not one the dialer follows")]
    UnsupportedState(String),
}

/// A JSON value for an error message.
fn shown_value(value: &Value) -> String {
    shown(&value.to_string())
}

/// What a JSON value is, in words.
fn kind_of(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(number) => format!("the number {}", shown(&number.to_string())),
        Value::String(_) => "text".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// A JSON value read with every object's keys checked for repeats: a body with the same key
/// twice (`"state"` once "ringing" and once "terminated") means different things to different
/// readers, so it is refused rather than read as its last key. serde_json's recursion limit
/// (128 levels) still holds, so deep nesting is refused without exhausting the stack.
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "the key `{}` appears twice",
                    shown(&key)
                )));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// The value at `path`, if there is one that is not null.
fn present<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    lookup(value, path).filter(|found| !found.is_null())
}

/// Why a required field is not there: a step of its path that is not an object, or missing.
fn absent(value: &Value, path: &str) -> EventError {
    let keys: Vec<&str> = path.split('.').collect();
    let mut current = value;
    for (index, key) in keys.iter().enumerate() {
        match current.get(*key) {
            Some(next) if index + 1 < keys.len() && !next.is_object() && !next.is_null() => {
                return EventError::WrongType {
                    field: keys[..=index].join("."),
                    expected: "an object",
                    found: kind_of(next),
                };
            }
            Some(next) => current = next,
            None => break,
        }
    }
    EventError::Missing(path.to_string())
}

/// An identifier: text, or a whole number (ids are sometimes numbers). Empty text is `None`.
fn event_id(value: &Value, path: &str) -> Result<Option<ShortText>, EventError> {
    let wrong = |found: String| EventError::WrongType {
        field: path.to_string(),
        expected: "text or a whole number",
        found,
    };
    match present(value, path) {
        None => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.as_str().into())),
        Some(found @ Value::Number(number)) => match number.as_u64() {
            Some(id) => Ok(Some(id.to_string().into())),
            None => Err(wrong(kind_of(found))),
        },
        Some(other) => Err(wrong(kind_of(other))),
    }
}

/// Text, if there is some; anything else but null is refused.
fn event_text<'a>(value: &'a Value, path: &str) -> Result<Option<&'a str>, EventError> {
    match present(value, path) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(EventError::WrongType {
            field: path.to_string(),
            expected: "text",
            found: kind_of(other),
        }),
    }
}

/// The last second a callback's `update_time` may name as a number: 9999-12-31 23:59:59 UTC.
const LATEST_UNIX_SECONDS: f64 = 253_402_300_799.0;

/// Reads one call-state callback body.
pub fn parse_event(
    body: &[u8],
    names: &EventNames,
    time_base: TimeBase,
) -> Result<StateNotification, EventError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(EventError::Empty);
    }
    let StrictValue(value) = serde_json::from_slice(body).map_err(|error| {
        // Data errors come only from the duplicate-key check; the rest are syntax.
        if error.classify() == serde_json::error::Category::Data {
            EventError::DuplicateKey(error.to_string())
        } else {
            EventError::NotJson(error.to_string())
        }
    })?;
    if !value.is_object() {
        return Err(EventError::NotAnObject);
    }
    let id = match event_id(&value, &names.call_id)? {
        Some(id) => id,
        None if present(&value, &names.call_id).is_some() => {
            return Err(EventError::EmptyField(names.call_id.clone()));
        }
        None => return Err(absent(&value, &names.call_id)),
    };
    let tag = event_id(&value, &names.call_tag)?.unwrap_or_default();
    let tracking_id = event_id(&value, &names.tracking_id)?.unwrap_or_default();
    let state_text =
        event_text(&value, &names.state)?.ok_or_else(|| absent(&value, &names.state))?;
    if state_text.trim().is_empty() {
        return Err(EventError::EmptyField(names.state.clone()));
    }
    let state = CallStatus::parse(state_text)
        .ok_or_else(|| EventError::UnsupportedState(shown(state_text)))?;
    let reason = event_text(&value, &names.reason)?
        .filter(|text| !text.is_empty())
        .map(ShortText::from);
    let bad_number = |text: String| EventError::BadNumber {
        field: names.reason_code.clone(),
        text,
    };
    let reason_code = match present(&value, &names.reason_code) {
        None => None,
        Some(Value::Number(number)) => Some(
            number
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| bad_number(shown(&number.to_string())))?,
        ),
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => Some(
            text.trim()
                .parse::<u16>()
                .map_err(|_| bad_number(format!("\"{}\"", shown(text))))?,
        ),
        Some(other) => return Err(bad_number(shown_value(other))),
    };
    let bad_time = |text: String| EventError::BadTime {
        field: names.update_time.clone(),
        text,
    };
    let update_time = match present(&value, &names.update_time) {
        None => None,
        Some(Value::String(text)) if text.is_empty() => None,
        Some(Value::String(text)) => Some(
            time_base.engine_time(
                parse_switch_time(text, names.utc_offset_minutes)
                    .ok_or_else(|| bad_time(format!("\"{}\"", shown(text))))?,
            ),
        ),
        Some(Value::Number(number)) => {
            let secs = number
                .as_f64()
                .filter(|secs| (0.0..=LATEST_UNIX_SECONDS).contains(secs))
                .ok_or_else(|| bad_time(shown(&number.to_string())))?;
            Some(time_base.engine_time((secs * 1e6).round() as u64))
        }
        Some(other) => return Err(bad_time(shown_value(other))),
    };
    Ok(StateNotification {
        call: CallRef { id, tag },
        tracking_id,
        state,
        reason,
        reason_code,
        update_time,
    })
}

/// Reads `YYYY-MM-DD HH:MM:SS` (or with `T`), with optional fractional seconds and an optional
/// `Z`, `+HH`, `+HH:MM` or `+HHMM` offset; times without an offset are at `default_offset`
/// minutes from UTC. Returns Unix microseconds.
pub fn parse_switch_time(text: &str, default_offset_minutes: i32) -> Option<u64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 19 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b' ' | b'T') {
        return None;
    }
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut micros: i64 = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits: String = fraction.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
        let mut padded = digits.clone();
        padded.truncate(6);
        while padded.len() < 6 {
            padded.push('0');
        }
        micros = padded.parse().ok()?;
        rest = &fraction[digits.len()..];
    }
    let offset_minutes: i64 = match rest {
        "" => i64::from(default_offset_minutes),
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let (hours, minutes) = match digits.len() {
                2 => (digits.parse::<i64>().ok()?, 0),
                4 => (
                    digits[..2].parse::<i64>().ok()?,
                    digits[2..].parse::<i64>().ok()?,
                ),
                _ => return None,
            };
            sign * (hours * 60 + minutes)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    let total = seconds.checked_mul(1_000_000)?.checked_add(micros)?;
    u64::try_from(total).ok()
}

/// Formats Unix microseconds as `YYYY-MM-DD HH:MM:SS` in UTC (what the fake switch sends).
pub fn format_switch_time(unix_micros: u64) -> String {
    let seconds = (unix_micros / 1_000_000) as i64;
    let (days, in_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        in_day / 3600,
        (in_day / 60) % 60,
        in_day % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_agents_are_counted_in_the_named_hunt_group_only() {
        let names = AgentNames::default();
        let page = json!({"huntgroup_list": [
            {"huntgroup_id": "100", "assigned_extensions": [{"id": "a", "hunt_active": "Y"}]},
            {"huntgroup_id": 7001, "assigned_extensions": [
                {"id": "b", "hunt_active": "Y"},
                {"id": "c", "hunt_active": "N"},
                {"id": "d", "hunt_active": "Y"},
                {"id": "e"},
            ]},
        ]});
        assert_eq!(parse_active_agents(&page, &names, "7001"), Ok((Some(2), 2)));
        assert_eq!(parse_active_agents(&page, &names, "9"), Ok((None, 2)));
        let broken = json!({"huntgroup_list": [{"huntgroup_id": "9"}]});
        assert!(
            parse_active_agents(&broken, &names, "9")
                .unwrap_err()
                .contains("assigned_extensions")
        );
        assert!(
            parse_active_agents(&json!({}), &names, "9")
                .unwrap_err()
                .contains("huntgroup_list")
        );
        let params = agents_params(&names, 12, 2);
        assert_eq!(
            params,
            json!({"i_customer": 12, "limit": 500, "offset": 1000})
        );
    }

    #[test]
    fn switch_times_parse_with_and_without_offsets() {
        let base = parse_switch_time("2026-11-24 10:00:00", 0).unwrap();
        assert_eq!(base, 1_795_514_400_000_000);
        assert_eq!(
            parse_switch_time("2026-11-24T12:00:00+02", 0).unwrap(),
            base
        );
        assert_eq!(parse_switch_time("2026-11-24 10:00:00Z", 0).unwrap(), base);
        assert_eq!(
            parse_switch_time("2026-11-24 16:00:00", 6 * 60).unwrap(),
            base
        );
        assert_eq!(
            parse_switch_time("2026-11-24 10:00:00.25", 0).unwrap(),
            base + 250_000
        );
        assert_eq!(format_switch_time(base), "2026-11-24 10:00:00");
        for bad in [
            "",
            "2026-11-24",
            "2026-13-01 00:00:00",
            "2026-11-24 10:00:00 junk",
        ] {
            assert_eq!(parse_switch_time(bad, 0), None, "{bad:?}");
        }
    }

    #[test]
    fn a_callback_body_becomes_a_notification() {
        let body = br#"{"call":{"id":"c-1","tag":"t-1"},"tracking_id":"trk","state":"terminated",
            "reason":"BYE Received","reason_code":"487","update_time":"1970-01-01 00:00:10"}"#;
        let base = TimeBase {
            origin_unix_micros: 4_000_000,
        };
        let note = parse_event(body, &EventNames::default(), base).unwrap();
        assert_eq!(note.call.id, "c-1");
        assert_eq!(note.state, CallStatus::Terminated);
        assert_eq!(note.reason_code, Some(487));
        assert_eq!(note.update_time, Some(SimTime::from_secs(6)));
    }

    #[test]
    fn malformed_bodies_say_why() {
        let names = EventNames::default();
        let base = TimeBase {
            origin_unix_micros: 0,
        };
        let check = |body: &[u8]| parse_event(body, &names, base).unwrap_err().to_string();
        assert!(check(b"{nope").contains("not JSON"));
        assert!(check(b"[1]").contains("not a JSON object"));
        assert!(check(br#"{"state":"ringing"}"#).contains("call.id"));
        assert!(
            check(br#"{"call":{"id":"x"},"state":"ringing","update_time":"yesterday"}"#)
                .contains("not a time")
        );
        assert!(matches!(
            parse_event(br#"{"call":{"id":"x"},"state":"parked"}"#, &names, base),
            Err(EventError::UnsupportedState(_))
        ));
        assert_eq!(check(b" \n"), "the body is empty");
        assert_eq!(
            check(br#"{"call":{"id":"x"},"state":"ringing","state":"terminated"}"#),
            "the body is ambiguous: the key `state` appears twice at line 1 column 44"
        );
        assert_eq!(
            check(br#"{"call":{"id":true},"state":"ringing"}"#),
            "`call.id` must be text or a whole number, not a boolean"
        );
        assert_eq!(
            check(br#"{"call":{"id":"x","tag":[1]},"state":"ringing"}"#),
            "`call.tag` must be text or a whole number, not an array"
        );
        assert_eq!(
            check(br#"{"call":{"id":"x"},"state":7}"#),
            "`state` must be text, not the number 7"
        );
        let long = format!(
            r#"{{"call":{{"id":"x"}},"state":"ringing","update_time":"{}"}}"#,
            "\\u0000".repeat(500)
        );
        let message = check(long.as_bytes());
        assert!(message.len() < 200, "{message}");
        assert!(message.contains("\\0\\0"), "{message}");
    }

    #[test]
    fn deep_nesting_is_refused_at_the_recursion_limit() {
        let names = EventNames::default();
        let base = TimeBase {
            origin_unix_micros: 0,
        };
        let body = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        let error = parse_event(body.as_bytes(), &names, base).unwrap_err();
        assert!(
            error.to_string().contains("recursion limit exceeded"),
            "{error}"
        );
        let within = format!(
            r#"{{"call":{{"id":"x"}},"state":"ringing","extra":{}{}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(parse_event(within.as_bytes(), &names, base).is_ok());
    }

    #[test]
    fn originate_params_follow_the_release_note_and_the_names() {
        let mut names = OriginateNames::default();
        names.extra.insert("custom".into(), json!(1));
        names.ring_timeout_param = Some("timeout".into());
        let params = originate_params(
            &names,
            &PhoneNumber("+15550001".into()),
            "aa-7",
            "http://h/x/s",
            SimDuration::from_secs(25),
        );
        assert_eq!(params["callee_id"], "+15550001");
        assert_eq!(params["caller_id"], "aa-7");
        assert_eq!(params["bill_id"], "aa-7");
        assert_eq!(
            params["caller_leg_receive_actions"],
            json!({"voicemail": "allow"})
        );
        assert_eq!(params["state_info_callback"], "http://h/x/s");
        assert_eq!(params["state_info_events"].as_array().unwrap().len(), 8);
        assert_eq!(params["timeout"], 25);
        assert_eq!(params["custom"], 1);
    }
}
