//! Pacing end to end: the abandon accounting against the trace, the guard, the dialing limits,
//! strategy changes while running, preview and adaptive-ratio at work, predictive's
//! conservative start, and `dialer explain` and `dialer compare` as a user runs them.

use crate::cli::tempdir;
use crate::support::{dialer, simulate_json, stderr, stdout};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn read_trace(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Simulates with a trace; returns the report and the records.
fn traced(name: &str, args: &[&str]) -> (Value, Vec<Value>) {
    let dir = tempdir("pacing");
    let trace = dir.join(format!("{name}.jsonl"));
    let mut full: Vec<&str> = args.to_vec();
    let trace_text = trace.to_str().unwrap().to_string();
    full.push("--trace");
    full.push(&trace_text);
    let report = simulate_json(&full);
    (report, read_trace(&trace))
}

fn campaign_window(report: &Value) -> &Value {
    &report["compliance"]["windows"]["campaign_to_date"]
}

#[test]
fn compliance_abandons_match_what_the_trace_shows() {
    let (report, records) = traced(
        "accounting",
        &[
            "scenarios/pacing-50.toml",
            "--set",
            "dialing.dial_until=40m",
        ],
    );
    // From the switch events alone: a person answered (first "connected") and reached an
    // agent (the next "connected") within 2 s, or not.
    let mut connected: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut outcome: BTreeMap<u64, String> = BTreeMap::new();
    for record in &records {
        let attempt = record["attempt"].as_u64();
        match record["kind"].as_str().unwrap() {
            "switch" if record["event"]["state"] == "connected" => {
                let at = record["event"]["update_time"].as_u64().unwrap();
                connected.entry(attempt.unwrap()).or_default().push(at);
            }
            "outcome" => {
                outcome.insert(
                    attempt.unwrap(),
                    record["outcome"].as_str().unwrap().to_string(),
                );
            }
            _ => {}
        }
    }
    let person = |o: &str| {
        matches!(
            o,
            "completed" | "abandoned_in_queue" | "unknown_after_agent_miss"
        )
    };
    let (mut answers, mut late) = (0u64, 0u64);
    for (attempt, o) in &outcome {
        if !person(o) {
            continue;
        }
        answers += 1;
        let times = &connected[attempt];
        let in_time = times.len() >= 2 && times[1] - times[0] <= 2_000_000;
        if !in_time {
            late += 1;
        }
    }
    let window = campaign_window(&report);
    assert_eq!(window["live_answers"].as_u64(), Some(answers));
    assert_eq!(window["compliance_abandons"].as_u64(), Some(late));
    assert!(answers > 500, "{answers} answers");
    let rate = report["compliance"]["compliance_abandon_rate"]
        .as_f64()
        .unwrap();
    assert!((rate - late as f64 / answers as f64).abs() < 1e-12);
    // The true abandons are the callers who hung up in the queue.
    assert_eq!(
        window["true_abandons"].as_u64(),
        report["outcomes"]["abandoned_in_queue"].as_u64()
    );
    assert!(report["contacts_per_agent_hour"].as_f64().unwrap() > 10.0);
}

#[test]
fn the_guard_keeps_aggressive_power_within_the_cap() {
    let run = |guard: &str| {
        simulate_json(&[
            "scenarios/pacing-10.toml",
            "--set",
            "pacing.strategy=\"power\"",
            "--set",
            "pacing.ratio=3.0",
            "--set",
            "dialing.dial_until=3h",
            "--set",
            &format!("pacing.abandon.guard={guard}"),
        ])
    };
    let without = run("false");
    let with = run("true");
    let rate = |report: &Value| report["compliance"]["window_rate"].as_f64().unwrap();
    assert!(
        rate(&without) > 0.05,
        "power 3.0 unguarded: {}",
        rate(&without)
    );
    assert_eq!(without["compliance"]["within_cap"], false);
    assert!(rate(&with) <= 0.03, "guarded: {}", rate(&with));
    assert_eq!(with["compliance"]["within_cap"], true);
    let fallbacks = with["compliance"]["pacing"]["guard_fallbacks"]
        .as_u64()
        .unwrap();
    assert!(fallbacks > 0);
    // It still dials ahead when the budget allows: better occupancy than progressive alone.
    let progressive = simulate_json(&[
        "scenarios/pacing-10.toml",
        "--set",
        "pacing.strategy=\"progressive\"",
        "--set",
        "dialing.dial_until=3h",
    ]);
    let occupancy = |report: &Value| report["truth"]["agent_occupancy"].as_f64().unwrap();
    assert!(occupancy(&with) > occupancy(&progressive));
    // VICIdial's controller bursts at the start of the day; the guard's worst-case projection
    // keeps even that within the cap.
    let adaptive = simulate_json(&[
        "scenarios/pacing-50.toml",
        "--set",
        "pacing.strategy=\"adaptive_ratio\"",
        "--set",
        "dialing.dial_until=3h",
    ]);
    assert!(
        rate(&adaptive) <= 0.03,
        "guarded adaptive: {}",
        rate(&adaptive)
    );
}

#[test]
fn lines_per_agent_and_calls_per_second_hold_in_every_decision() {
    let (report, records) = traced(
        "limits",
        &[
            "scenarios/pacing-50.toml",
            "--set",
            "pacing.strategy=\"power\"",
            "--set",
            "pacing.ratio=4.0",
            "--set",
            "pacing.abandon.guard=false",
            "--set",
            "dialing.max_lines_per_agent=1.5",
            "--set",
            "dialing.max_calls_per_second=2",
            "--set",
            "dialing.dial_until=20m",
        ],
    );
    let mut dial_times = Vec::new();
    for record in &records {
        match record["kind"].as_str().unwrap() {
            "pacing" => {
                let snapshot = &record["snapshot"];
                let lines = (1.5 * snapshot["agents_logged_in"].as_f64().unwrap()).floor() as u64;
                let in_flight = snapshot["dials_in_flight"].as_u64().unwrap();
                let dial = record["decision"]["dial"].as_u64().unwrap();
                assert!(in_flight + dial <= lines.max(in_flight), "{record}");
            }
            "dial" => dial_times.push(record["t_us"].as_u64().unwrap()),
            _ => {}
        }
    }
    for (index, start) in dial_times.iter().enumerate() {
        let in_second = dial_times[index..]
            .iter()
            .take_while(|t| **t < start + 1_000_000)
            .count();
        assert!(
            in_second <= 4,
            "{in_second} dials in the second from {start} µs"
        );
    }
    let counters = &report["compliance"]["pacing"];
    assert!(
        counters["lines_limited"].as_u64().unwrap()
            + counters["calls_per_second_limited"].as_u64().unwrap()
            > 0
    );
}

#[test]
fn the_strategy_can_change_while_the_campaign_runs() {
    let dir = tempdir("changes");
    let scenario = dir.join("changes.toml");
    let base = std::fs::read_to_string("scenarios/pacing-10.toml")
        .unwrap()
        .replace(
            "strategy = \"predictive\"",
            "strategy = \"power\"\nratio = 1.5",
        )
        .replace("dial_until = \"8h\"", "dial_until = \"1h\"");
    std::fs::write(
        &scenario,
        format!(
            "{base}\n[[pacing.changes]]\nat = \"00:20\"\nstrategy = \"predictive\"\n\n[[pacing.changes]]\nat = \"00:40\"\nstrategy = \"preview\"\npreview_time = \"5s\"\n"
        ),
    )
    .unwrap();
    let (_, records) = traced("changes", &[scenario.to_str().unwrap()]);
    let changes: Vec<(u64, String)> = records
        .iter()
        .filter(|r| r["kind"] == "pacing_strategy")
        .map(|r| {
            (
                r["t_us"].as_u64().unwrap() / 1_000_000,
                r["strategy"]["strategy"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            (0, "power".to_string()),
            (1200, "predictive".to_string()),
            (2400, "preview".to_string())
        ]
    );
    for record in records.iter().filter(|r| r["kind"] == "pacing") {
        let t = record["t_us"].as_u64().unwrap() / 1_000_000;
        let expected = match t {
            0..1200 => "power",
            1200..2400 => "predictive",
            _ => "preview",
        };
        assert_eq!(record["strategy"], expected, "{record}");
    }
}

#[test]
fn preview_reserves_an_agent_before_each_dial() {
    let (report, records) = traced(
        "preview",
        &[
            "scenarios/pacing-10.toml",
            "--set",
            "pacing.strategy=\"preview\"",
            "--set",
            "pacing.preview_time=10s",
            "--set",
            "dialing.dial_until=30m",
        ],
    );
    let first_decision = records.iter().find(|r| r["kind"] == "pacing").unwrap();
    assert_eq!(first_decision["decision"]["reserve"], 10);
    assert_eq!(first_decision["decision"]["dial"], 0);
    let first_dial = records.iter().find(|r| r["kind"] == "dial").unwrap();
    assert_eq!(
        first_dial["t_us"], 10_000_000,
        "dials come when previews end"
    );
    // An agent waits for every call: nothing is abandoned for want of an agent.
    assert_eq!(campaign_window(&report)["compliance_abandons"], 0);
}

#[test]
fn adaptive_ratio_recalculates_its_level_every_15_seconds() {
    let (_, records) = traced(
        "adaptive",
        &[
            "scenarios/pacing-50.toml",
            "--set",
            "pacing.strategy=\"adaptive_ratio\"",
            "--set",
            "dialing.dial_until=10m",
        ],
    );
    let updates: Vec<u64> = records
        .iter()
        .filter(|r| r["kind"] == "strategy_update")
        .map(|r| r["t_us"].as_u64().unwrap())
        .collect();
    assert!(updates.len() >= 38, "{} updates", updates.len());
    for pair in updates.windows(2) {
        assert_eq!(pair[1] - pair[0], 15_000_000);
    }
    for record in records.iter().filter(|r| r["kind"] == "pacing") {
        let level = record["why"]["note"]["level"].as_f64().unwrap();
        assert!((1.0..=3.0).contains(&level), "{record}");
    }
}

#[test]
fn predictive_starts_conservatively_and_says_so() {
    let (_, records) = traced(
        "warm-up",
        &[
            "scenarios/pacing-50.toml",
            "--set",
            "dialing.dial_until=20m",
        ],
    );
    let decisions: Vec<&Value> = records.iter().filter(|r| r["kind"] == "pacing").collect();
    let first = &decisions[0]["why"]["note"];
    assert_eq!(first["kind"], "predictive");
    assert_eq!(first["warming_up"], true);
    // One dial per idle agent while warming up.
    assert_eq!(decisions[0]["decision"]["dial"], 50);
    let ready = decisions
        .iter()
        .position(|d| d["why"]["note"]["warming_up"] == false && d["why"]["guard_engaged"] == false)
        .expect("the estimates become ready");
    let later = &decisions[ready]["why"]["note"];
    assert!(later["p_live"].as_f64().unwrap() > 0.2);
    assert!(later["mean_talk_seconds"].as_f64().unwrap() > 60.0);
    // The guard starts engaged: no answers yet, so one abandon would pass any cap.
    let guard = records
        .iter()
        .find(|r| r["kind"] == "abandon_guard")
        .unwrap();
    assert_eq!(guard["engaged"], true);
}

#[test]
fn explain_says_why_it_dialed() {
    let dir = tempdir("explain");
    let trace = dir.join("trace.jsonl");
    let trace_text = trace.to_str().unwrap();
    simulate_json(&[
        "scenarios/pacing-50.toml",
        "--set",
        "dialing.dial_until=30m",
        "--trace",
        trace_text,
    ]);
    let records = read_trace(&trace);
    let decision = records
        .iter()
        .filter(|r| r["kind"] == "pacing")
        .find(|r| r["why"]["note"]["warming_up"] == false && r["why"]["guard_engaged"] == false)
        .expect("a model decision");
    let at = decision["at"].as_str().unwrap();
    let output = dialer(&["explain", trace_text, "--at", at]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let dial = decision["decision"]["dial"].as_u64().unwrap();
    assert!(
        text.contains(&format!("pacing (predictive) dialed {dial}")),
        "{text}"
    );
    for words in [
        "idle",
        "expected to free",
        "dials in flight",
        "Abandon budget",
        "allowed",
    ] {
        assert!(text.contains(words), "missing {words:?} in {text}");
    }
    // A second with no decision names the last one before it.
    let quiet = dialer(&["explain", trace_text, "--at", "00:00:00.500"]);
    assert!(stdout(&quiet).contains("No pacing decision placed a dial at"));
    let summary = dialer(&["explain", trace_text]);
    assert!(stdout(&summary).contains("pacing decisions placed"));
    let bad = dialer(&["explain", trace_text, "--at", "ten past"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("HH:MM:SS"), "{}", stderr(&bad));
}

#[test]
fn compare_runs_every_strategy_with_confidence_intervals() {
    let output = dialer(&[
        "compare",
        "scenarios/pacing-10.toml",
        "--seeds",
        "3",
        "--jobs",
        "2",
        "--set",
        "dialing.dial_until=20m",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let comparisons: Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = comparisons[0]["rows"].as_array().unwrap();
    let strategies: Vec<&str> = rows
        .iter()
        .map(|row| row["strategy"].as_str().unwrap())
        .collect();
    for strategy in [
        "progressive",
        "preview",
        "power",
        "adaptive_ratio",
        "predictive",
    ] {
        assert!(strategies.contains(&strategy), "{strategies:?}");
    }
    for row in rows {
        assert_eq!(row["seeds"], 3);
        let occupancy = &row["occupancy"];
        assert!(occupancy["mean"].as_f64().unwrap() > 0.3);
        assert!(occupancy["half_width"].as_f64().unwrap() >= 0.0);
    }
    assert!(comparisons[0]["best_ratio"].as_f64().unwrap() >= 1.0);
    assert!(!comparisons[0]["targets"].as_array().unwrap().is_empty());
}

#[test]
fn bad_pacing_input_is_refused_with_the_reason() {
    let cases = [
        (
            "pacing.abandon.cap_percent=120",
            "pacing.abandon.cap_percent",
            "between 0 and 100",
        ),
        (
            "dialing.ring_timeout=10s",
            "dialing.ring_timeout",
            "ring-timeout floor",
        ),
        ("pacing.strategy=\"power\"", "pacing.ratio", "required"),
    ];
    for (setting, path, reason) in cases {
        let output = dialer(&["check", "scenarios/pacing-10.toml", "--set", setting]);
        assert_eq!(output.status.code(), Some(2), "{setting}");
        let err = stderr(&output);
        assert!(err.contains("scenarios/pacing-10.toml"), "{err}");
        assert!(
            err.contains(path) && err.contains(reason),
            "{setting}: {err}"
        );
    }
    let power = dialer(&[
        "check",
        "scenarios/pacing-10.toml",
        "--set",
        "pacing.strategy=\"power\"",
        "--set",
        "pacing.ratio=0.7",
    ]);
    assert!(stderr(&power).contains("at least 1"), "{}", stderr(&power));
}
