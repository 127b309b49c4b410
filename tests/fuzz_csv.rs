//! Fuzzing lead CSV files (proptest): the files of `tests/bad_input/csv/` and a clean file,
//! mutated (quotes, bad UTF-8, NUL bytes, BOMs, CRLF, huge fields, extra columns, formula
//! text), through `dialer import`'s reader (`import::read_leads`) and the console's
//! (`console::leads_csv::parse_bytes`). Nothing panics; every refused row names its line, and
//! its column where a column is at fault; messages stay short whatever the input; every lead
//! that comes out has an E.164 number.
//!
//! `PROPTEST_CASES=N` runs N cases per target.

use crate::support::{proptest_cases, root};
use dialer::console::leads_csv::{self, CsvError};
use dialer::import::{ImportError, ImportOptions, read_leads};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const CLEAN: &str = "phone,time_zone,region,priority,name,note\n\
+12015550123,America/New_York,US,3,Ann,first\n\
(201) 555-0124,,US,,Bob,\"say \"\"hi\"\"\"\n\
+442079460958,,,1,Carl,\n\
020 7946 0959,Europe/London,GB,-2,Di,\"a, b\"\n";

/// The corpus's small files and a clean one.
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![CLEAN.as_bytes().to_vec()];
    let dir = root().join("tests/bad_input/csv");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "csv"))
        .collect();
    paths.sort();
    for path in paths {
        let bytes = std::fs::read(&path).unwrap();
        if bytes.len() < 4096 {
            seeds.push(bytes);
        }
    }
    seeds
}

#[derive(Clone, Debug)]
enum Mutation {
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Flip(usize, u8),
    DuplicateLine(usize),
    Crlf,
    Bom,
    HugeField(usize, usize),
    ExtraColumn(String),
}

fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"\"".to_vec()),
        Just(b"\"\"".to_vec()),
        Just(b",".to_vec()),
        Just(b";".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(vec![0]),
        Just(vec![0xFF]),
        Just(vec![0xC3]),
        Just(vec![0xED, 0xA0, 0x80]),
        Just(vec![0xEF, 0xBB, 0xBF]),
        Just(vec![0xFF, 0xFE]),
        Just(b"=cmd|' /C calc'!A0".to_vec()),
        Just(b"+".to_vec()),
        Just(" ext. 45".as_bytes().to_vec()),
        Just("\u{661}\u{662}\u{663}".as_bytes().to_vec()),
        Just("\u{ff11}\u{ff12}".as_bytes().to_vec()),
        Just(b"+1 201 555 0199".to_vec()),
        Just(b"Mars/Olympus".to_vec()),
        Just(b"99999999999999999999".to_vec()),
        proptest::collection::vec(any::<u8>(), 1..6),
        "\\PC{1,6}".prop_map(String::into_bytes),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), fragment()).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        1 => (any::<usize>(), 1usize..16).prop_map(|(at, n)| Mutation::Delete(at, n)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => Just(Mutation::Crlf),
        1 => Just(Mutation::Bom),
        1 => (any::<usize>(), prop_oneof![1000usize..5000, 60_000usize..200_000])
            .prop_map(|(at, n)| Mutation::HugeField(at, n)),
        1 => "[a-zA-Z_ ]{0,8}".prop_map(Mutation::ExtraColumn),
    ]
}

fn apply(mut bytes: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
    let len = bytes.len();
    match mutation {
        Mutation::Insert(at, new) => {
            let at = at % (len + 1);
            bytes.splice(at..at, new.iter().copied());
        }
        Mutation::Delete(at, n) if len > 0 => {
            let start = at % len;
            bytes.drain(start..(start + n).min(len));
        }
        Mutation::Flip(at, byte) if len > 0 => bytes[at % len] = *byte,
        Mutation::DuplicateLine(at) => {
            let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
            let line = lines[at % lines.len()].to_vec();
            bytes.extend_from_slice(b"\n");
            bytes.extend_from_slice(&line);
        }
        Mutation::Crlf => {
            let mut out = Vec::with_capacity(len + len / 8);
            for byte in bytes {
                if byte == b'\n' {
                    out.push(b'\r');
                }
                out.push(byte);
            }
            bytes = out;
        }
        Mutation::Bom => bytes.splice(0..0, [0xEF, 0xBB, 0xBF]).for_each(drop),
        Mutation::HugeField(at, n) => {
            let at = at % (len + 1);
            bytes.splice(at..at, std::iter::repeat_n(b'7', *n));
        }
        Mutation::ExtraColumn(name) => {
            let mut out = Vec::new();
            for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
                if index > 0 {
                    out.push(b'\n');
                }
                out.extend_from_slice(line);
                if !line.is_empty() {
                    out.push(b',');
                    out.extend_from_slice(if index == 0 { name.as_bytes() } else { b"v" });
                }
            }
            bytes = out;
        }
        _ => {}
    }
    bytes
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds();
    (0..seeds.len(), proptest::collection::vec(mutation(), 1..5))
        .prop_map(move |(which, mutations)| mutations.iter().fold(seeds[which].clone(), apply))
}

/// The lines a reader may name: 1 to one past the last line break.
fn line_count(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .filter(|b| **b == b'\n' || **b == b'\r')
        .count() as u64
        + 1
}

/// A row error says which column is at fault when the fault is in one column's value.
const ROW_REASONS: [&str; 9] = [
    "phone: ",
    "time_zone: ",
    "region: ",
    "priority: ",
    "column `",
    "cannot read the row: ",
    "the row runs over lines ",
    " fields, but the header has ",
    "cannot tell the time zone of ",
];

#[test]
fn fuzzed_files_never_panic_the_importer_and_errors_name_their_line() {
    let options = ImportOptions::default();
    let with_defaults = ImportOptions {
        default_region: Some("US".into()),
        default_zone: Some("America/Chicago".into()),
    };
    let mut runner = TestRunner::new(Config {
        cases: proptest_cases(400),
        ..Config::default()
    });
    runner
        .run(&(input(), any::<bool>()), |(bytes, defaults)| {
            let options = if defaults { &with_defaults } else { &options };
            let lines = line_count(&bytes);
            match read_leads("fuzzed.csv", bytes.as_slice(), options) {
                Err(error) => {
                    let message = error.to_string();
                    prop_assert!(message.starts_with("fuzzed.csv: "), "{}", message);
                    prop_assert!(message.len() < 400, "{}", message);
                    match &error {
                        ImportError::Header { .. } => prop_assert!(
                            message.contains("line 1") || message.contains("the file is"),
                            "{}",
                            message
                        ),
                        other => prop_assert!(false, "unexpected error {}", other),
                    }
                }
                Ok(read) => {
                    for error in &read.errors {
                        prop_assert!(
                            (2..=lines).contains(&error.line),
                            "line {} of {}: {}",
                            error.line,
                            lines,
                            error
                        );
                        prop_assert!(error.reason.len() < 400, "{}", error.reason);
                        prop_assert!(
                            ROW_REASONS.iter().any(|r| error.reason.contains(r)),
                            "the reason names its column: {}",
                            error.reason
                        );
                    }
                    prop_assert!(read.leads.len() as u64 + read.duplicates <= read.rows);
                    for lead in &read.leads {
                        let number = lead.phone.0.as_str();
                        prop_assert!(
                            number.starts_with('+')
                                && number.len() > 4
                                && number[1..].bytes().all(|b| b.is_ascii_digit()),
                            "{}",
                            number
                        );
                        for value in lead.fields.values() {
                            let text = value.as_str().unwrap_or_default();
                            prop_assert!(!text.contains('\0'));
                            prop_assert!(text.len() <= dialer::import::MAX_FIELD_BYTES);
                        }
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn fuzzed_files_never_panic_the_console_reader_and_errors_name_their_line() {
    let mut runner = TestRunner::new(Config {
        cases: proptest_cases(600),
        ..Config::default()
    });
    runner
        .run(&input(), |bytes| {
            let lines = line_count(&bytes) as usize;
            match leads_csv::parse_bytes(&bytes) {
                Ok(list) => {
                    prop_assert!(!list.numbers.is_empty());
                    for number in &list.numbers {
                        let digits = number.0.strip_prefix('+').unwrap_or(&number.0);
                        prop_assert!(
                            (4..=20).contains(&digits.len())
                                && digits.bytes().all(|b| b.is_ascii_digit()),
                            "{}",
                            number.0
                        );
                    }
                }
                Err(CsvError::Bad { problems, .. }) => {
                    prop_assert!(!problems.is_empty());
                    for problem in &problems {
                        prop_assert!(
                            (1..=lines).contains(&problem.line),
                            "line {} of {}",
                            problem.line,
                            lines
                        );
                        prop_assert!(problem.message.len() < 300, "{}", problem.message);
                    }
                }
                Err(CsvError::Empty | CsvError::NoPhoneColumn) => {}
            }
            Ok(())
        })
        .unwrap();
}
