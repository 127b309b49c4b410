//! The corpus of hostile input under `tests/bad_input/`: every file must be refused with exit
//! code 2, nothing on stdout, no panic, and a message that names where the problem is. Each
//! `NAME.toml` (or other input) has a `NAME.expected` beside it listing, one per line, texts the
//! error message must contain.

use crate::support::{dialer, root, stderr, stdout};
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
