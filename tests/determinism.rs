//! Determinism: the same scenario and seed give a byte-identical trace, in separate processes;
//! another seed gives another; and the fast idle detection agrees with tokio's own.

use crate::cli::tempdir;
use crate::support::{all_scenarios, dialer, load, parallel, run_with, simulate_json, stderr};
use dialer::sim::switch::Quiescence;

fn hash_of(report: &serde_json::Value) -> String {
    report["trace_hash"].as_str().unwrap().to_string()
}

#[test]
fn every_scenario_gives_the_same_hash_twice_and_another_seed_differs() {
    let scenarios = all_scenarios();
    assert!(
        scenarios.len() >= 7,
        "expected the shipped scenarios, got {scenarios:?}"
    );
    let results = parallel(scenarios, |path| {
        let path_text = path.to_str().unwrap().to_string();
        let first = simulate_json(&[&path_text, "--seed", "7"]);
        let second = simulate_json(&[&path_text, "--seed", "7"]);
        let other = simulate_json(&[&path_text, "--seed", "8"]);
        (
            path_text,
            hash_of(&first),
            hash_of(&second),
            hash_of(&other),
            first,
            second,
        )
    });
    for (path, first, second, other, first_report, second_report) in results {
        assert_eq!(first, second, "{path}: same seed, different trace");
        assert_eq!(
            first_report, second_report,
            "{path}: same seed, different report"
        );
        assert_ne!(first, other, "{path}: seeds 7 and 8 gave the same trace");
    }
}

#[test]
fn trace_files_are_byte_identical_across_processes() {
    let dir = tempdir("determinism");
    for name in ["small.toml", "default.toml", "limitation.toml"] {
        let scenario = format!("scenarios/{name}");
        let mut contents = Vec::new();
        for run in 0..2 {
            let trace = dir.join(format!("{name}.{run}.jsonl"));
            let output = dialer(&["simulate", &scenario, "--trace", trace.to_str().unwrap()]);
            assert!(output.status.success(), "{}", stderr(&output));
            contents.push(std::fs::read(&trace).unwrap());
        }
        assert!(!contents[0].is_empty());
        assert!(contents[0] == contents[1], "{name}: trace files differ");
    }
}

/// Every scenario but the large workloads: the speed benchmarks, and the 200-agent predictive
/// day, whose model evaluation dominates the time and exercises nothing the others do not.
fn light_scenarios() -> Vec<std::path::PathBuf> {
    all_scenarios()
        .into_iter()
        .filter(|path| {
            let name = path.to_str().unwrap();
            !name.contains("bench-") && !name.contains("pacing-200")
        })
        .collect()
}

#[test]
fn counting_mail_finds_the_same_idle_points_as_the_runtime() {
    // The simulator moves time when no engine mail is in flight. tokio's paused runtime knows
    // the same thing independently (it is about to park); both must give the same trace.
    // The large workloads are left out here (their traces are still compared across processes
    // above): the speed benchmarks, and the 200-agent predictive day, whose model evaluation
    // dominates the time and exercises no extra idle-point logic.
    let results = parallel(light_scenarios(), |path| {
        let scenario = load(&path, &[]);
        let by_mail = run_with(&scenario, 5, Quiescence::MailCount);
        let by_runtime = run_with(&scenario, 5, Quiescence::RuntimeIdle);
        (path, by_mail, by_runtime)
    });
    for (path, by_mail, by_runtime) in results {
        assert_eq!(
            by_mail.trace_hash,
            by_runtime.trace_hash,
            "{}: the two idle detections disagree",
            path.display()
        );
        assert_eq!(by_mail, by_runtime);
    }
    // The benchmark workloads too, shortened.
    let bench = load(
        &crate::support::scenario_path("bench-power.toml"),
        &["dialing.max_attempts=5000".to_string()],
    );
    assert_eq!(
        run_with(&bench, 2, Quiescence::MailCount).trace_hash,
        run_with(&bench, 2, Quiescence::RuntimeIdle).trace_hash
    );
}

#[test]
fn hearing_of_ringing_or_not_changes_no_decision() {
    // Calls report "dialing -> ringing" only when something shows or keeps call states
    // (`call::actor::shown_only`). A journal that keeps every state asks for it; the default
    // simulation journal does not. Both runs must take the same decisions: same trace, same
    // report, and the keeping journal must really have heard the phones ring.
    use dialer::campaign::supervisor::JournalSetup;
    use dialer::domain::{AppState, AttemptId};
    use dialer::journal::memory::MemoryJournal;
    use dialer::report::RunReport;
    use dialer::runtime::{SimulationOptions, simulate_with_journal};
    use dialer::trace::TraceSink;

    let results = parallel(light_scenarios(), |path| {
        let scenario = load(&path, &[]);
        let options = SimulationOptions {
            quiescence: Quiescence::MailCount,
            ..SimulationOptions::default()
        };
        let quiet = run_with(&scenario, 3, Quiescence::MailCount);
        let keeping = MemoryJournal::keeping_all();
        let log = keeping.log();
        let run = simulate_with_journal(
            &scenario,
            3,
            TraceSink::hashing_only(),
            options,
            JournalSetup {
                journal: Box::new(keeping),
                first_attempt: AttemptId(1),
            },
        )
        .unwrap_or_else(|error| panic!("simulation failed: {error}"));
        let heard = RunReport::build(&scenario, 3, &run);
        let rang = log.read(|contents| {
            contents
                .states
                .iter()
                .filter(|(_, _, state)| *state == AppState::Ringing)
                .count()
        });
        (path, quiet, heard, rang)
    });
    for (path, quiet, heard, rang) in results {
        assert!(rang > 0, "{}: no ringing state was kept", path.display());
        assert_eq!(
            quiet.trace_hash,
            heard.trace_hash,
            "{}: hearing of ringing changed a decision",
            path.display()
        );
        assert_eq!(quiet, heard, "{}", path.display());
    }
}
