//! Fuzzing the parsers that face users (proptest): mutated scenario files and hostile
//! `--set` overrides never panic, and every refusal names the file it is about. (CSV lead files
//! and webhook bodies: `fuzz_csv` and `fuzz_webhook`.) `PROPTEST_CASES=N` runs N cases per
//! target instead of the defaults.
//!
//! Mutations start from the shipped scenarios, so most inputs are nearly valid and reach deep
//! into the checks, where the subtle bugs live.

use crate::support::{all_scenarios, proptest_cases};
use dialer::scenario::Scenario;
use proptest::prelude::*;

fn shipped() -> Vec<String> {
    all_scenarios()
        .iter()
        .map(|path| std::fs::read_to_string(path).expect("readable scenario"))
        .collect()
}

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    ReplaceValue(usize, String),
    Truncate(usize),
    Insert(usize, String),
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    if lines.is_empty() {
        return String::new();
    }
    match mutation {
        Mutation::DeleteLine(at) => {
            lines.remove(at % lines.len());
        }
        Mutation::DuplicateLine(at) => {
            let line = lines[at % lines.len()].clone();
            lines.insert(at % lines.len(), line);
        }
        Mutation::ReplaceValue(at, value) => {
            let index = at % lines.len();
            if let Some((key, _)) = lines[index].split_once('=') {
                lines[index] = format!("{key}= {value}");
            }
        }
        Mutation::Truncate(at) => {
            let joined = lines.join("\n");
            let mut cut = at % (joined.len() + 1);
            while !joined.is_char_boundary(cut) {
                cut -= 1;
            }
            return joined[..cut].to_string();
        }
        Mutation::Insert(at, text) => {
            lines.insert(at % (lines.len() + 1), text.clone());
        }
    }
    lines.join("\n")
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just("\"\"".to_string()),
        Just("\"-3s\"".to_string()),
        Just("\"99999999999h\"".to_string()),
        Just("{ uniform = [\"9s\", \"1s\"] }".to_string()),
        Just("{ empirical = [] }".to_string()),
        Just("{ lognormal = { mean = \"0s\", sd = \"1s\" } }".to_string()),
        Just("[1, 2".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("18446744073709551616".to_string()),
        Just("0".to_string()),
        Just("true".to_string()),
        "[a-z0-9\"{}\\[\\]=., :-]{0,24}",
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), value()).prop_map(|(at, v)| Mutation::ReplaceValue(at, v)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), "\\PC{0,30}").prop_map(|(at, text)| Mutation::Insert(at, text)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(300), ..ProptestConfig::default() })]

    #[test]
    fn mutated_scenarios_never_panic_and_errors_name_the_file(
        which in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let texts = shipped();
        let mut text = texts[which % texts.len()].clone();
        for mutation in &mutations {
            text = apply(&text, mutation);
        }
        if let Err(error) = Scenario::from_toml("fuzzed.toml", &text, &[]) {
            let message = error.to_string();
            prop_assert!(message.contains("fuzzed.toml"), "{}", message);
        }
    }

    #[test]
    fn hostile_overrides_never_panic_and_are_named(
        key in "[a-z_.]{0,30}",
        value in value(),
    ) {
        let texts = shipped();
        let assignment = format!("{key}={value}");
        if let Err(error) = Scenario::from_toml("small.toml", &texts[0], std::slice::from_ref(&assignment)) {
            let message = error.to_string();
            prop_assert!(
                message.contains("small.toml") || message.contains(&assignment),
                "{}", message
            );
        }
    }
}
