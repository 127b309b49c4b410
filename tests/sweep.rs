//! `dialer sweep` and `dialer merge` as a strategist uses them: results that do not depend on
//! threads, shards that merge into exactly the whole sweep, resuming after Ctrl-C, the HTML
//! report, and bad input refused with its name.

use crate::support::{dialer, root, stderr, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dialer-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("results file")).expect("json")
}

const GRID: [&str; 4] = ["--grid", "pacing.ratio=1,2", "--grid", "agents.count=4,6"];

fn sweep(extra: &[&str]) -> std::process::Output {
    let mut args = vec!["sweep", "scenarios/small.toml", "--seeds", "3"];
    args.extend_from_slice(&GRID);
    args.extend_from_slice(extra);
    dialer(&args)
}

#[test]
fn results_do_not_depend_on_threads_and_shards_merge_exactly() {
    let dir = temp_dir("shards");
    let path = |name: &str| dir.join(name).display().to_string();
    let one = sweep(&["--threads", "1", "--json", &path("one.json")]);
    assert!(one.status.success(), "{}", stderr(&one));
    let two = sweep(&["--threads", "2", "--json", &path("two.json")]);
    assert!(two.status.success(), "{}", stderr(&two));
    assert_eq!(
        read_json(&dir.join("one.json")),
        read_json(&dir.join("two.json"))
    );
    assert_eq!(stdout(&one), stdout(&two));

    let whole = read_json(&dir.join("one.json"));
    assert_eq!(whole["complete"], true);
    assert_eq!(whole["runs"].as_array().unwrap().len(), 12);
    let settings = whole["summary"]["settings"].as_array().unwrap();
    assert_eq!(settings.len(), 4);
    for setting in settings {
        let occupancy = &setting["occupancy"];
        assert!(occupancy["mean"].as_f64().unwrap() > 0.0);
        assert!(occupancy["ci95"].as_f64().unwrap() >= 0.0);
        let p = setting["breach_probability"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
    }

    for shard in ["0/3", "1/3", "2/3"] {
        let name = format!("shard{}.json", &shard[..1]);
        let output = sweep(&["--shard", shard, "--json", &path(&name)]);
        assert!(output.status.success(), "{}", stderr(&output));
        let part = read_json(&dir.join(&name));
        assert_eq!(part["complete"], false);
        assert_eq!(part["runs"].as_array().unwrap().len(), 4);
    }
    let merged = dialer(&[
        "merge",
        &path("shard0.json"),
        &path("shard1.json"),
        &path("shard2.json"),
        "--json",
        &path("merged.json"),
        "--csv",
        &path("merged.csv"),
    ]);
    assert!(merged.status.success(), "{}", stderr(&merged));
    let merged_json = read_json(&dir.join("merged.json"));
    assert_eq!(merged_json["runs"], whole["runs"]);
    assert_eq!(merged_json["summary"], whole["summary"]);
    assert_eq!(stdout(&merged), stdout(&one));
    let csv = std::fs::read_to_string(dir.join("merged.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.starts_with("pacing.ratio,agents.count,runs,occupancy_mean"));

    // A shard twice is refused, and so is a shard of another sweep.
    let twice = dialer(&["merge", &path("shard0.json"), &path("shard0.json")]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(
        stderr(&twice).contains("appears twice"),
        "{}",
        stderr(&twice)
    );
    let other = dialer(&[
        "sweep",
        "scenarios/small.toml",
        "--seeds",
        "2",
        "--grid",
        "pacing.ratio=1,2",
        "--shard",
        "0/2",
        "--json",
        &path("other.json"),
    ]);
    assert!(other.status.success());
    let mixed = dialer(&["merge", &path("shard1.json"), &path("other.json")]);
    assert_eq!(mixed.status.code(), Some(2));
    assert!(
        stderr(&mixed).contains("different sweep"),
        "{}",
        stderr(&mixed)
    );
}

#[test]
fn the_table_and_html_name_the_recommendation() {
    let dir = temp_dir("html");
    let html = dir.join("sweep.html");
    let output = dialer(&[
        "sweep",
        "scenarios/small.toml",
        "--seeds",
        "4",
        "--grid",
        "pacing.ratio=1:2:0.5",
        "--compliance-wait",
        "60",
        "--html",
        &html.display().to_string(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = stdout(&output);
    assert!(table.contains("recommended:"), "{table}");
    assert!(table.contains("pacing.ratio"), "{table}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.matches("<svg").count() >= 2, "frontier and axis plots");
    assert!(page.contains("Pareto frontier"));
    assert!(!page.contains("http://") && !page.contains("https://") || page.contains("xmlns"));
}

#[test]
fn simulate_writes_an_html_day() {
    let dir = temp_dir("day");
    let html = dir.join("day.html");
    let output = dialer(&[
        "simulate",
        "scenarios/small.toml",
        "--html",
        &html.display().to_string(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let page = std::fs::read_to_string(&html).unwrap();
    for needle in [
        "Agents",
        "Queue and dials in flight",
        "Dial level",
        "Abandon rate, trailing 30 minutes",
        "Wait from answer to agent",
    ] {
        assert!(page.contains(needle), "missing {needle}");
    }
    assert!(page.matches("<svg").count() >= 5);
}

#[test]
fn bad_sweeps_are_refused_and_named() {
    for (args, needle) in [
        (vec!["--grid", "pacing.ratoi=1,2"], "pacing.ratoi"),
        (vec!["--grid", "pacing.ratio="], "empty"),
        (vec!["--grid", "pacing.ratio=3:1:0.5"], "empty"),
        (vec!["--grid", "pacing.ratio=1,x"], "\"x\" is not a number"),
        (vec![], "at least one --grid"),
        (
            vec!["--grid", "pacing.ratio=1,2", "--seeds", "0"],
            "--seeds",
        ),
        (
            vec!["--grid", "pacing.ratio=1,2", "--shard", "0/2"],
            "--json",
        ),
        (
            vec![
                "--grid",
                "pacing.ratio=1,2",
                "--shard",
                "2/2",
                "--json",
                "x.json",
            ],
            "--shard",
        ),
        (vec!["--grid", "agents.count=-3,2"], "agents.count"),
    ] {
        let mut full = vec!["sweep", "scenarios/small.toml", "--seeds", "2"];
        full.extend_from_slice(&args);
        let output = dialer(&full);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(needle),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
}

#[test]
fn ctrl_c_keeps_finished_runs_and_resume_completes_the_same_sweep() {
    let dir = temp_dir("resume");
    let saved = dir.join("partial.json");
    let args = |extra: &[String]| {
        let mut args: Vec<String> = [
            "sweep",
            "scenarios/default.toml",
            "--seeds",
            "20",
            "--threads",
            "1",
            "--grid",
            "pacing.ratio=1.5,2",
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(saved.display().to_string());
        args.extend_from_slice(extra);
        args
    };
    let child = Command::new(env!("CARGO_BIN_EXE_dialer"))
        .args(args(&[]))
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // Let a few runs finish (each takes a few hundred milliseconds in a test build), then
    // press Ctrl-C.
    std::thread::sleep(Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let output = child.wait_with_output().expect("finishes");
    let message = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(130), "{message}");
    assert!(message.contains("--resume"), "{message}");
    let partial = read_json(&saved);
    let finished = partial["runs"].as_array().unwrap().len();
    assert!(finished < 40, "the sweep should have been interrupted");
    assert_eq!(partial["complete"], false);

    let resumed = dialer(
        &args(&["--resume".to_string(), saved.display().to_string()])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let complete = read_json(&saved);
    assert_eq!(complete["complete"], true);
    assert_eq!(complete["runs"].as_array().unwrap().len(), 40);
    // The runs that finished before Ctrl-C are kept as they were.
    for run in partial["runs"].as_array().unwrap() {
        assert!(complete["runs"].as_array().unwrap().contains(run));
    }
}
