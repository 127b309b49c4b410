//! The command line as a user meets it: the report, the trace file, and what bad input does.

use crate::support::{dialer, root, simulate_json, stderr, stdout};
use std::fs;

const REQUIRED_KEYS: [&str; 15] = [
    "scenario",
    "seed",
    "attempts",
    "answered",
    "connected",
    "abandoned",
    "abandon_rate",
    "agent_occupancy",
    "wait_ms",
    "events",
    "anomalies",
    "trace_hash",
    "simulated_seconds",
    "truth",
    "outcomes",
];

#[test]
fn json_report_has_every_key_and_consistent_numbers() {
    let report = simulate_json(&["scenarios/small.toml", "--seed", "3"]);
    for key in REQUIRED_KEYS {
        assert!(report.get(key).is_some(), "missing key {key}");
    }
    for key in ["p50", "p90", "p99", "max"] {
        assert!(
            report["wait_ms"].get(key).is_some(),
            "missing wait_ms.{key}"
        );
    }
    assert_eq!(report["scenario"], "small");
    assert_eq!(report["seed"], 3);
    for view in [&report, &report["truth"]] {
        let answered = view["answered"].as_u64().unwrap();
        let connected = view["connected"].as_u64().unwrap();
        let abandoned = view["abandoned"].as_u64().unwrap();
        assert_eq!(answered, connected + abandoned);
        let rate = view["abandon_rate"].as_f64().unwrap();
        assert!((rate - abandoned as f64 / answered as f64).abs() < 1e-12);
        let occupancy = view["agent_occupancy"].as_f64().unwrap();
        assert!(occupancy > 0.0 && occupancy < 1.0, "occupancy {occupancy}");
        let wait = &view["wait_ms"];
        assert!(wait["p50"].as_u64() <= wait["p90"].as_u64());
        assert!(wait["p90"].as_u64() <= wait["p99"].as_u64());
        assert!(wait["p99"].as_u64() <= wait["max"].as_u64());
    }
    // Every attempt has exactly one outcome.
    let outcomes: u64 = report["outcomes"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(outcomes, report["attempts"].as_u64().unwrap());
    assert_eq!(report["attempts"], report["truth"]["attempts"]);
    assert_eq!(report["status"], "completed");
    assert_eq!(report["trace_hash"].as_str().unwrap().len(), 16);
    assert!(report["simulated_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn the_table_is_the_default_output() {
    let output = dialer(&["simulate", "scenarios/small.toml"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("dialer saw"), "{text}");
    assert!(text.contains("abandon rate"), "{text}");
    assert!(text.contains("truth"), "{text}");
}

#[test]
fn the_trace_file_has_one_json_line_per_record() {
    let dir = tempdir("trace");
    let trace = dir.join("small.jsonl");
    let report = simulate_json(&["scenarios/small.toml", "--trace", trace.to_str().unwrap()]);
    let text = fs::read_to_string(&trace).expect("trace written");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len() as u64,
        report["trace_records"].as_u64().unwrap()
    );
    let mut kinds = std::collections::BTreeSet::new();
    for (index, line) in lines.iter().enumerate() {
        let record: serde_json::Value = serde_json::from_str(line).expect("valid JSON line");
        assert_eq!(record["seq"].as_u64(), Some(index as u64));
        assert!(record["t_us"].is_u64());
        kinds.insert(record["kind"].as_str().unwrap().to_string());
        if record["kind"] == "switch" {
            assert!(record["attempt"].is_u64(), "call id on {line}");
        }
    }
    for kind in ["dial", "switch", "outcome", "pacing", "agents", "timeline"] {
        assert!(kinds.contains(kind), "no {kind} record in {kinds:?}");
    }
    assert!(!dir.join("small.jsonl.partial").exists());
}

/// The README shows what its first command, `cargo run --release -- simulate
/// scenarios/default.toml`, prints: this keeps that block true.
#[test]
fn the_readme_shows_what_the_default_simulation_prints() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## What a simulation prints")
        .nth(1)
        .expect("README.md has a section *What a simulation prints*");
    let block = section
        .split("```")
        .nth(1)
        .expect("the section opens with a code block");
    let output = dialer(&["simulate", "scenarios/default.toml"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    assert_eq!(
        block.trim_matches('\n'),
        printed.trim_end(),
        "README.md's *What a simulation prints* is out of date: put the output of \
         `cargo run --release -- simulate scenarios/default.toml` in its block"
    );
}

#[test]
fn the_check_command_validates_without_running() {
    let output = dialer(&["check", "scenarios/default.toml"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("ok"));
}

/// Writes `text` as a scenario, runs it, and returns (exit code, stdout, stderr).
fn run_bad(name: &str, text: &str, extra: &[&str]) -> (i32, String, String) {
    let dir = tempdir("bad");
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    let trace = dir.join(format!("{name}.jsonl"));
    let mut args = vec![
        "simulate",
        path.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = dialer(&args);
    assert!(!trace.exists(), "no trace may be written for bad input");
    (
        output.status.code().unwrap_or(-1),
        stdout(&output),
        stderr(&output),
    )
}

fn small_with(from: &str, to: &str) -> String {
    let text = fs::read_to_string(root().join("scenarios/small.toml")).unwrap();
    assert!(text.contains(from), "fixture text {from:?} not found");
    text.replacen(from, to, 1)
}

#[test]
fn an_unknown_key_exits_2_and_names_the_key() {
    let (code, out, err) = run_bad(
        "typo.toml",
        &small_with("count = 5", "count = 5\nwrapup = \"5s\""),
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("typo.toml"), "{err}");
    assert!(err.contains("agents.wrapup"), "{err}");
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn probabilities_that_do_not_sum_to_one_exit_2() {
    let (code, out, err) = run_bad(
        "sum.toml",
        &small_with(
            "no_answer = { probability = 0.35 }",
            "no_answer = { probability = 0.45 }",
        ),
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    // The rule is about the whole table, so the line is its header's.
    let callees_line = small_with("", "")
        .lines()
        .position(|line| line == "[callees]")
        .expect("small.toml has a [callees] table")
        + 1;
    assert!(
        err.contains(&format!("line {callees_line}: `callees`")),
        "{err}"
    );
    assert!(err.contains("sum to 1.1"), "{err}");
}

#[test]
fn a_negative_duration_exits_2_and_names_the_key() {
    let (code, _, err) = run_bad(
        "negative.toml",
        &small_with("ring_timeout = \"25s\"", "ring_timeout = \"-25s\""),
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("dialing.ring_timeout"), "{err}");
    assert!(err.contains("negative"), "{err}");
}

#[test]
fn broken_toml_exits_2_with_a_line_number() {
    let (code, _, err) = run_bad("broken.toml", &small_with("[queue]", "[queue"), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("broken.toml:"), "{err}");
    assert!(err.contains("not valid TOML"), "{err}");
}

#[test]
fn a_bad_override_exits_2_and_names_it() {
    let (code, _, err) = run_bad("ok.toml", &small_with("", ""), &["--set", "pacing.ratoi=2"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("pacing.ratoi"), "{err}");
}

#[test]
fn a_missing_file_exits_2() {
    let output = dialer(&["simulate", "scenarios/does-not-exist.toml"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("does-not-exist.toml"), "{err}");
    // The system's reason is given once, not again as a "caused by" line.
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(stdout(&output).is_empty());
}

/// A fresh directory under the target dir for one test.
pub fn tempdir(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = root().join("target").join("test-tmp").join(format!(
        "{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn import_dnc_and_status_work_on_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dialer.db");
    let db = db.to_str().unwrap();
    let leads = dir.path().join("leads.csv");
    fs::write(
        &leads,
        "phone,time_zone,priority,name\n(201) 555-0123,,2,Ann\n+1 201 555 0124,America/Chicago,,Bob\n12,,,Bad\n+12015550123,,,Again\n",
    )
    .unwrap();
    let leads = leads.to_str().unwrap();
    let output = dialer(&["import", "spring", leads, "--db", db, "--region", "US"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("4 rows into campaign `spring`: 2 leads added, 0 merged into leads the campaign had, 1 duplicate rows merged, 1 rows rejected"),
        "{text}"
    );
    assert!(
        text.contains("line 4: phone: `12` cannot be read"),
        "{text}"
    );

    let output = dialer(&["dnc", "add", "+1 201 555 0124", "--db", db]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&dialer(&["dnc", "list", "--db", db])),
        "+12015550124\n"
    );
    let output = dialer(&["dnc", "add", "not a number", "--db", db]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("not a number"));

    let status = stdout(&dialer(&["status", "spring", "--db", db]));
    assert!(status.contains("leads: new 2"), "{status}");
    assert!(status.contains("attempts: none"), "{status}");
    assert!(
        status.contains("abandons: no call answered yet"),
        "{status}"
    );

    // A file without a phone column is bad input: exit 2, nothing imported.
    let bad = dir.path().join("bad.csv");
    fs::write(&bad, "number\n+12015550125\n").unwrap();
    let output = dialer(&["import", "spring", bad.to_str().unwrap(), "--db", db]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no `phone` column"),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&dialer(&["status", "spring", "--db", db])).contains("leads: new 2"));
}
