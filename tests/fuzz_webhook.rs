//! Fuzzing webhook bodies (proptest): real callback bodies (the fake switch's, and examples of
//! PortaSwitch's shape), mutated byte by byte and field by field, go through the body parser
//! (`wire::parse_event`) and over real HTTP to a running receiver. Nothing panics; a body the
//! parser refuses gets 400 with the parser's reason, which names the field or the position in
//! the text; a wrong secret gets 401, none 404; a body over the limit 413.
//!
//! `PROPTEST_CASES=N` runs N cases per target.

use crate::support::proptest_cases;
use crate::support::receiver::{Receiver, settings};
use dialer::portaswitch::webhook::RateLimit;
use dialer::portaswitch::wire::{EventError, EventNames, TimeBase, parse_event};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

const BODY_LIMIT: usize = 4096;

/// Callback bodies as the switch sends them.
fn seeds() -> Vec<Value> {
    let note = |id: &str, state: dialer::switch::CallStatus, reason: Option<(&str, u16)>| {
        dialer::switch::StateNotification {
            call: dialer::switch::CallRef {
                id: id.into(),
                tag: "a9b1".into(),
            },
            tracking_id: "t-77".into(),
            state,
            reason: reason.map(|(text, _)| text.into()),
            reason_code: reason.map(|(_, code)| code),
            update_time: Some(dialer::time::SimTime::from_secs(12)),
        }
    };
    use dialer::switch::CallStatus::*;
    let mut bodies: Vec<Value> = [
        note("3f2a-1", Trying, None),
        note("3f2a-1", Ringing, None),
        note("3f2a-1", Connected, None),
        note("3f2a-1", Queued, None),
        note("3f2a-1", Terminated, Some(("Normal call clearing", 16))),
        note("91", Terminated, Some(("busy", 486))),
    ]
    .iter()
    .map(|n| dialer::fake_switch::callback_body(n, 1_767_607_200_000_000))
    .collect();
    bodies.push(
        json!({"call": {"id": 4242, "tag": "x"}, "state": "dequeued",
                       "update_time": 1_767_607_212.5}),
    );
    bodies.push(json!({"call": {"id": "9"}, "state": "held", "reason": "",
                       "reason_code": "", "update_time": "2026-01-05T10:00:12.250+02:00"}));
    bodies
}

/// A hostile JSON value to put somewhere.
fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
        Just(json!("terminated")),
        Just(json!("parked")),
        Just(json!("2026-02-30 25:61:61")),
        Just(json!([])),
        Just(json!({})),
        Just(json!([[[[[[[["deep"]]]]]]]])),
        (0usize..300).prop_map(|n| json!("x".repeat(n * 40))),
    ]
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Replace the value at one of the known paths.
    SetField(usize, Value),
    RemoveField(usize),
    /// Wrap the body in an array, or nest it under a key.
    Wrap(bool),
    /// Text mutations after serialising.
    FlipByte(usize, u8),
    DeleteRange(usize, usize),
    InsertBytes(usize, Vec<u8>),
    Truncate(usize),
    DuplicateKey(usize, Value),
    DeepNesting(usize),
    Pad(usize),
}

const PATHS: [&str; 8] = [
    "call.id",
    "call.tag",
    "call",
    "tracking_id",
    "state",
    "reason",
    "reason_code",
    "update_time",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (0..PATHS.len(), hostile_value()).prop_map(|(at, v)| Mutation::SetField(at, v)),
        2 => (0..PATHS.len()).prop_map(Mutation::RemoveField),
        1 => any::<bool>().prop_map(Mutation::Wrap),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::FlipByte(at, b)),
        1 => (any::<usize>(), 0usize..20).prop_map(|(at, n)| Mutation::DeleteRange(at, n)),
        2 => (
            any::<usize>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 1..8),
                Just(vec![0xEF, 0xBB, 0xBF]),
                Just(vec![0]),
                Just(vec![0xFF, 0xFE]),
                Just(b"\\ud800".to_vec()),
                Just(b"\",\"".to_vec()),
            ]
        )
            .prop_map(|(at, bytes)| Mutation::InsertBytes(at, bytes)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (0..PATHS.len(), hostile_value()).prop_map(|(at, v)| Mutation::DuplicateKey(at, v)),
        1 => prop_oneof![1usize..200, 100usize..3000].prop_map(Mutation::DeepNesting),
        1 => prop_oneof![0usize..100, 3000usize..6000].prop_map(Mutation::Pad),
    ]
}

fn set_path(value: &mut Value, path: &str, new: Option<Value>) {
    let mut keys: Vec<&str> = path.split('.').collect();
    let last = keys.pop().unwrap();
    let mut current = value;
    for key in keys {
        match current.get_mut(key) {
            Some(next) if next.is_object() => current = next,
            _ => return,
        }
    }
    if let Some(object) = current.as_object_mut() {
        match new {
            Some(new) => {
                object.insert(last.to_string(), new);
            }
            None => {
                object.remove(last);
            }
        }
    }
}

fn apply(seed: &Value, mutations: &[Mutation]) -> Vec<u8> {
    let mut value = seed.clone();
    let mut text: Option<Vec<u8>> = None;
    for mutation in mutations {
        let bytes = text.get_or_insert_with(Vec::new);
        match mutation {
            Mutation::SetField(at, new) if bytes.is_empty() => {
                set_path(&mut value, PATHS[*at], Some(new.clone()))
            }
            Mutation::RemoveField(at) if bytes.is_empty() => set_path(&mut value, PATHS[*at], None),
            Mutation::Wrap(array) if bytes.is_empty() => {
                value = if *array {
                    json!([value])
                } else {
                    json!({ "params": value })
                }
            }
            Mutation::SetField(..) | Mutation::RemoveField(..) | Mutation::Wrap(..) => {}
            other => {
                if bytes.is_empty() {
                    *bytes = value.to_string().into_bytes();
                }
                let len = bytes.len();
                match other {
                    Mutation::FlipByte(at, byte) if len > 0 => bytes[at % len] = *byte,
                    Mutation::DeleteRange(at, n) if len > 0 => {
                        let start = at % len;
                        let end = (start + n).min(len);
                        bytes.drain(start..end);
                    }
                    Mutation::InsertBytes(at, new) => {
                        let at = at % (len + 1);
                        bytes.splice(at..at, new.iter().copied());
                    }
                    Mutation::Truncate(at) => bytes.truncate(at % (len + 1)),
                    // A second top-level key of the same name, just before the end.
                    Mutation::DuplicateKey(at, new) if bytes.last() == Some(&b'}') => {
                        bytes.pop();
                        let key = PATHS[*at].split('.').next().unwrap();
                        bytes.extend_from_slice(format!(",\"{key}\":{new}}}").as_bytes());
                    }
                    Mutation::DeepNesting(depth) => {
                        let mut deep = b"[".repeat(*depth);
                        deep.extend_from_slice(bytes);
                        deep.extend_from_slice(&b"]".repeat(*depth));
                        *bytes = deep;
                    }
                    Mutation::Pad(n) => bytes.extend(std::iter::repeat_n(b' ', *n)),
                    _ => {}
                }
            }
        }
    }
    text.filter(|bytes| !bytes.is_empty() || mutations.is_empty())
        .unwrap_or_else(|| value.to_string().into_bytes())
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds();
    (
        0..seeds.len(),
        proptest::collection::vec(mutation(), 0..4),
        0u8..20,
    )
        .prop_map(move |(which, mutations, raw)| {
            if raw == 0 {
                // Sometimes no JSON at all.
                return b"state=ringing&call_id=1".to_vec();
            }
            apply(&seeds[which], &mutations)
        })
}

/// A refusal's reason says where: a field (in backquotes) or a place in the text.
fn names_its_place(error: &EventError) -> bool {
    let message = error.to_string();
    match error {
        EventError::NotJson(_) | EventError::DuplicateKey(_) => {
            message.contains(" at line ") && message.contains(" column ")
        }
        EventError::Empty | EventError::NotAnObject => true,
        _ => message.contains('`'),
    }
}

#[test]
fn fuzzed_bodies_never_panic_the_parser_and_refusals_name_their_place() {
    let names = EventNames::default();
    let base = TimeBase {
        origin_unix_micros: 1_767_607_200_000_000,
    };
    let mut runner = TestRunner::new(Config {
        cases: proptest_cases(3000),
        ..Config::default()
    });
    runner
        .run(&input(), |body| {
            match parse_event(&body, &names, base) {
                Ok(note) => {
                    prop_assert!(!note.call.id.is_empty());
                }
                Err(EventError::UnsupportedState(name)) => {
                    prop_assert!(
                        !dialer::switch::CallStatus::ALL
                            .iter()
                            .any(|s| s.as_str().eq_ignore_ascii_case(&name))
                    );
                }
                Err(error) => {
                    prop_assert!(
                        names_its_place(&error),
                        "{:?}: {}",
                        String::from_utf8_lossy(&body),
                        error
                    );
                    prop_assert!(error.to_string().len() < 400, "{}", error);
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn fuzzed_bodies_over_http_get_the_parsers_answer() {
    let receiver = Receiver::start(settings(
        BODY_LIMIT,
        RateLimit::new(1_000_000.0, 1_000_000).unwrap(),
    ));
    let names = EventNames::default();
    let mut runner = TestRunner::new(Config {
        cases: proptest_cases(250),
        ..Config::default()
    });
    let accepted = std::cell::Cell::new(0u64);
    let strategy = (input(), 0u8..10);
    runner
        .run(&strategy, |(body, door)| {
            let path = match door {
                0 => "/portaswitch/events/not-the-secret-0123".to_string(),
                1 => "/portaswitch/events".to_string(),
                _ => receiver.path(),
            };
            let response = receiver.post(&path, &body);
            let expected = match door {
                0 => 401,
                1 => 404,
                _ if body.len() > BODY_LIMIT => 413,
                _ => match parse_event(
                    &body,
                    &names,
                    TimeBase {
                        origin_unix_micros: 0,
                    },
                ) {
                    Ok(_) => {
                        accepted.set(accepted.get() + 1);
                        200
                    }
                    Err(EventError::UnsupportedState(_)) => 200,
                    Err(error) => {
                        let reason: Value =
                            serde_json::from_str(&response.body).unwrap_or_else(|_| json!({}));
                        let message = error.to_string();
                        prop_assert_eq!(reason["error"].as_str(), Some(message.as_str()));
                        400
                    }
                },
            };
            prop_assert_eq!(
                response.status,
                expected,
                "{:?} -> {}",
                String::from_utf8_lossy(&body[..body.len().min(300)]),
                response.body
            );
            Ok(())
        })
        .unwrap();
    // Accepted bodies all reached the backend.
    let accepted = accepted.get();
    let events = receiver.wait_for_events(accepted as usize, std::time::Duration::from_secs(5));
    assert_eq!(events.len() as u64, accepted);
    assert_eq!(receiver.stats.counts().accepted, accepted);
}

#[test]
fn nesting_far_beyond_the_limit_is_refused_without_exhausting_the_stack() {
    let names = EventNames::default();
    let base = TimeBase {
        origin_unix_micros: 0,
    };
    for depth in [129, 10_000, 1_000_000] {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let body = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            let error = parse_event(body.as_bytes(), &names, base).unwrap_err();
            assert!(
                error.to_string().contains("recursion limit exceeded"),
                "{depth}: {error}"
            );
        }
    }
}
