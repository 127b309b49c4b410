//! The corpus of hostile input under `tests/bad_input/`, each file with the outcome it must
//! produce beside it:
//!
//! - `scenarios/NAME.toml`: refused by `dialer check` and `dialer simulate` with exit code 2,
//!   nothing on stdout, no panic; `NAME.expected` lists, one per line, texts the message must
//!   contain.
//! - `csv/NAME.csv`: lead files. `NAME.expected` is exactly what `dialer import`'s reader makes
//!   of it (a summary, each refused row with its line and reason, each lead; or `error:` and
//!   the whole-file error); `NAME.console.expected` what the console's lead list reader makes
//!   of it (the numbers, or `error:` and its message).
//! - `webhook/NAME.json`: callback bodies POSTed over HTTP to a webhook receiver on loopback
//!   (default limits: 64 KiB bodies); `NAME.expected` holds the HTTP status on its first line
//!   and the response body, exactly, on the second.
//!
//! `BLESS_BAD_INPUT=1 cargo test bad_input` rewrites the `.expected` files of `csv/` and
//! `webhook/` from what the code does now: review the diff before committing it.

use crate::support::receiver::{Receiver, settings};
use crate::support::{dialer, root, stderr, stdout};
use dialer::console::leads_csv;
use dialer::import::{ImportOptions, read_leads};
use dialer::portaswitch::webhook::RateLimit;
use std::path::{Path, PathBuf};

fn corpus(kind: &str) -> Vec<(PathBuf, Vec<String>)> {
    let dir = root().join("tests/bad_input").join(kind);
    let mut cases: Vec<(PathBuf, Vec<String>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext != "expected"))
        .map(|path| {
            let expected = path.with_extension("expected");
            let text = std::fs::read_to_string(&expected)
                .unwrap_or_else(|error| panic!("{}: {error}", expected.display()));
            let needles = text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(String::from)
                .collect();
            (path, needles)
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    cases
}

fn assert_refused(args: &[&str], file: &Path, needles: &[String]) {
    let output = dialer(args);
    let message = stderr(&output);
    let name = file.display();
    assert_eq!(output.status.code(), Some(2), "{name}: {message}");
    assert!(stdout(&output).is_empty(), "{name}: wrote to stdout");
    assert!(!message.contains("panicked"), "{name}: {message}");
    for needle in needles {
        assert!(
            message.contains(needle.as_str()),
            "{name}: expected {needle:?} in\n{message}"
        );
    }
}

#[test]
fn malformed_scenarios_are_refused_with_their_place() {
    for (file, needles) in corpus("scenarios") {
        let path = file.display().to_string();
        assert_refused(&["check", &path], &file, &needles);
        assert_refused(&["simulate", &path, "--json"], &file, &needles);
    }
}

/// The files of `tests/bad_input/KIND/` with the extension `ext`, sorted.
fn inputs(kind: &str, ext: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/bad_input").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

/// Compares `actual` with the file `expected` (or writes it when blessing); returns a failure.
fn compare(input: &Path, expected: &Path, actual: &str) -> Option<String> {
    if std::env::var_os("BLESS_BAD_INPUT").is_some() {
        std::fs::write(expected, actual).unwrap();
        return None;
    }
    let wanted = std::fs::read_to_string(expected)
        .unwrap_or_else(|_| panic!("{} is missing", expected.display()));
    (wanted != actual).then(|| {
        format!(
            "{}:\n--- expected ({})\n{wanted}--- actual\n{actual}",
            input.display(),
            expected.display()
        )
    })
}

/// What `dialer import`'s reader makes of a file (no default region or zone).
fn import_outcome(path: &Path) -> String {
    let name = path.file_name().unwrap().to_str().unwrap();
    let file = std::fs::File::open(path).unwrap();
    match read_leads(name, file, &ImportOptions::default()) {
        Err(error) => format!("error: {error}\n"),
        Ok(read) => {
            let mut text = format!(
                "summary: rows={} leads={} duplicates={} rejected={}\n",
                read.rows,
                read.leads.len(),
                read.duplicates,
                read.errors.len()
            );
            for error in &read.errors {
                text.push_str(&format!("{error}\n"));
            }
            for lead in &read.leads {
                text.push_str(&format!(
                    "lead {} zone={} region={} priority={} fields={}\n",
                    lead.phone,
                    lead.time_zone.as_deref().unwrap_or("-"),
                    lead.region.as_deref().unwrap_or("-"),
                    lead.priority,
                    serde_json::Value::Object(lead.fields.clone())
                ));
            }
            text
        }
    }
}

/// What the console's lead list reader makes of a file.
fn console_outcome(path: &Path) -> String {
    match leads_csv::parse_bytes(&std::fs::read(path).unwrap()) {
        Err(error) => format!("error: {error}\n"),
        Ok(list) => {
            let mut text = format!(
                "numbers={} duplicates={}\n",
                list.numbers.len(),
                list.duplicates
            );
            for number in &list.numbers {
                text.push_str(&format!("{}\n", number.0));
            }
            text
        }
    }
}

#[test]
fn hostile_csv_files_give_their_exact_errors() {
    let files = inputs("csv", "csv");
    assert!(files.len() >= 20, "the corpus is missing files: {files:?}");
    let mut failures = Vec::new();
    for path in files {
        let (import, console) = (import_outcome(&path), console_outcome(&path));
        for message in import.lines() {
            assert!(
                message.len() < 400,
                "{}: a long message: {message:.200}",
                path.display()
            );
        }
        // The console lists up to 20 bad lines in one message.
        assert!(console.len() < 4000, "{}: {console:.200}", path.display());
        failures.extend(compare(&path, &path.with_extension("expected"), &import));
        failures.extend(compare(
            &path,
            &path.with_extension("console.expected"),
            &console,
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hostile_webhook_bodies_get_their_exact_status_and_reason() {
    let files = inputs("webhook", "json");
    assert!(files.len() >= 30, "the corpus is missing files: {files:?}");
    let receiver = Receiver::start(settings(
        64 * 1024,
        RateLimit::new(1_000_000.0, 1_000_000).unwrap(),
    ));
    let mut failures = Vec::new();
    let mut accepted = 0;
    for path in &files {
        let body = std::fs::read(path).unwrap();
        let response = receiver.post(&receiver.path(), &body);
        if response.status == 200 && !response.body.contains("ignored") {
            accepted += 1;
        }
        let actual = format!("{}\n{}\n", response.status, response.body);
        failures.extend(compare(path, &path.with_extension("expected"), &actual));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The receiver is still up, and handed the backend exactly the bodies it accepted.
    let events = receiver.wait_for_events(accepted, std::time::Duration::from_secs(5));
    assert_eq!(events.len(), accepted);
    let counts = receiver.stats.counts();
    assert_eq!(counts.received, files.len() as u64);
    assert_eq!(counts.accepted, accepted as u64);
}
