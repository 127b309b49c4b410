//! Lead lists uploaded to the console as CSV: one phone number per line, or a table whose phone
//! column is named `phone`, `number`, `callee`, `phone_number` or `msisdn` in a header line.
//!
//! Separators may be commas, semicolons or tabs; fields may be quoted. Spaces, dashes, dots and
//! parentheses inside a number are dropped (`+1 (555) 010-0001` is `+15550100001`); what remains
//! must be an optional `+` and 4 to 20 digits 0-9 (other scripts' digits, extensions and
//! letters are refused). Blank lines and lines starting with `#` are skipped; a UTF-8 byte
//! order mark and CRLF line ends are accepted; a number listed twice is dialed once. Every bad
//! line is reported with its line number (the first [`MAX_PROBLEMS`]), and a file with any bad
//! line is refused whole: a quote left open, bytes that are not UTF-8 (with the column), a NUL
//! byte. Values quoted back in messages are escaped and cut short. Only the phone column is
//! read; other columns are ignored, never evaluated (the console exports no CSV).
//!
//! Parsing only. (A fuller lead importer with fields, time zones and do-not-call lists belongs to
//! the durable campaigns; this reads what the console needs.)

use crate::domain::PhoneNumber;
use crate::text::shown;

/// Problems reported at most.
pub const MAX_PROBLEMS: usize = 20;

const PHONE_COLUMNS: [&str; 5] = ["phone", "number", "callee", "phone_number", "msisdn"];

/// A parsed lead list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadList {
    pub numbers: Vec<PhoneNumber>,
    /// Numbers dropped because they were listed before.
    pub duplicates: usize,
}

/// A bad line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvProblem {
    pub line: usize,
    pub message: String,
}

/// Why a lead file was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("the lead file has no phone numbers")]
    Empty,
    #[error("the lead file has a header line but no column named {}", PHONE_COLUMNS.join(", "))]
    NoPhoneColumn,
    #[error("bad lead file: {}", describe(.problems, *.more))]
    Bad {
        problems: Vec<CsvProblem>,
        /// Bad lines beyond those listed.
        more: usize,
    },
}

fn describe(problems: &[CsvProblem], more: usize) -> String {
    let mut text = problems
        .iter()
        .map(|p| format!("line {}: {}", p.line, p.message))
        .collect::<Vec<_>>()
        .join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    text
}

/// Splits one line into fields, honouring double quotes (`""` inside quotes is a quote). A
/// quote left open is an error.
fn fields(line: &str, separator: char) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == separator && !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    if quoted {
        return Err(format!(
            "column {}: a quote is left open (a field cannot run over lines)",
            out.len() + 1
        ));
    }
    out.push(field);
    Ok(out)
}

/// A number with its punctuation dropped, if it is one.
pub fn normalise(text: &str) -> Result<PhoneNumber, String> {
    let text = text.trim();
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
        .collect();
    let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
    let quoted = || format!("\"{}\"", shown(text));
    if digits
        .chars()
        .any(|c| c.is_numeric() && !c.is_ascii_digit())
    {
        return Err(format!(
            "{} has digits other than 0-9; write the number in ASCII digits",
            quoted()
        ));
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{} is not a phone number", quoted()));
    }
    if !(4..=20).contains(&digits.len()) {
        return Err(format!(
            "{} has {} digits; a phone number has 4 to 20",
            quoted(),
            digits.len()
        ));
    }
    Ok(PhoneNumber(cleaned.into()))
}

/// Parses a lead file as uploaded: bytes that must be UTF-8. A file that is not is refused
/// with the line and column of the first bad byte.
pub fn parse_bytes(bytes: &[u8]) -> Result<LeadList, CsvError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(error) => {
            let good = &bytes[..error.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = good
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |at| at + 1);
            let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
            let message = if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
                "the file is UTF-16 text; save it as UTF-8".to_string()
            } else {
                format!("character {column}: the text is not UTF-8; save the file as UTF-8")
            };
            Err(CsvError::Bad {
                problems: vec![CsvProblem { line, message }],
                more: 0,
            })
        }
    }
}

/// Parses a lead file.
pub fn parse(text: &str) -> Result<LeadList, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<(usize, &str)> = text
        .split('\n')
        .enumerate()
        .map(|(index, line)| (index + 1, line.strip_suffix('\r').unwrap_or(line)))
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .collect();
    let Some(&(_, first)) = lines.first() else {
        return Err(CsvError::Empty);
    };
    let separator = [',', ';', '\t']
        .into_iter()
        .find(|sep| first.contains(*sep))
        .unwrap_or(',');
    let header: Vec<String> = fields(first, separator)
        .unwrap_or_default()
        .into_iter()
        .map(|field| field.trim().to_ascii_lowercase())
        .collect();
    let named = header
        .iter()
        .position(|name| PHONE_COLUMNS.contains(&name.as_str()));
    let (column, body) = match named {
        Some(column) => (column, &lines[1..]),
        // Several columns, none a number: a header without a phone column.
        None if header.len() > 1 && header.iter().all(|field| normalise(field).is_err()) => {
            return Err(CsvError::NoPhoneColumn);
        }
        None => (0, &lines[..]),
    };
    let mut numbers = Vec::with_capacity(body.len());
    let mut seen = std::collections::HashSet::with_capacity(body.len());
    let mut problems = Vec::new();
    let mut more = 0;
    let mut duplicates = 0;
    for &(line, text) in body {
        let result = if text.contains('\0') {
            Err("the line contains a NUL byte: is the file UTF-16 or binary?".to_string())
        } else {
            fields(text, separator).and_then(|row| {
                row.get(column)
                    .ok_or_else(|| format!("no field {} (the phone column)", column + 1))
                    .and_then(|field| {
                        normalise(field).map_err(|message| {
                            if row.len() > 1 {
                                format!("column {}: {message}", column + 1)
                            } else {
                                message
                            }
                        })
                    })
            })
        };
        match result {
            Ok(number) => {
                if seen.insert(number.0.clone()) {
                    numbers.push(number);
                } else {
                    duplicates += 1;
                }
            }
            Err(message) if problems.len() < MAX_PROBLEMS => {
                problems.push(CsvProblem { line, message })
            }
            Err(_) => more += 1,
        }
    }
    if !problems.is_empty() {
        return Err(CsvError::Bad { problems, more });
    }
    if numbers.is_empty() {
        return Err(CsvError::Empty);
    }
    Ok(LeadList {
        numbers,
        duplicates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(list: &LeadList) -> Vec<&str> {
        list.numbers.iter().map(|n| n.0.as_str()).collect()
    }

    #[test]
    fn one_number_per_line() {
        let list = parse("+15550100001\n\n# a comment\n+1 (555) 010-0002\r\n15550100003\n")
            .expect("valid");
        assert_eq!(
            numbers(&list),
            ["+15550100001", "+15550100002", "15550100003"]
        );
        assert_eq!(list.duplicates, 0);
    }

    #[test]
    fn a_header_names_the_phone_column() {
        let text = "\u{feff}name;Phone;note\n\"Doe; Jane\";+44 20 7946 0001;x\nBob;+442079460002;\"say \"\"hi\"\"\"\n";
        let list = parse(text).expect("valid");
        assert_eq!(numbers(&list), ["+442079460001", "+442079460002"]);
        assert_eq!(
            parse("name,email\nJane,j@example.com\n"),
            Err(CsvError::NoPhoneColumn)
        );
    }

    #[test]
    fn duplicates_are_dialed_once() {
        let list = parse("+15550100001\n+1-555-010-0001\n+15550100002\n").expect("valid");
        assert_eq!(numbers(&list), ["+15550100001", "+15550100002"]);
        assert_eq!(list.duplicates, 1);
    }

    #[test]
    fn bad_lines_are_named() {
        let error = parse("phone\n+15550100001\nnot-a-number\n12\n+1555x\n").unwrap_err();
        let CsvError::Bad { problems, more } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(*more, 0);
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert!(
            error.to_string().contains("line 4: \"12\" has 2 digits"),
            "{error}"
        );
        assert_eq!(parse(""), Err(CsvError::Empty));
        assert_eq!(parse("# only a comment\n\n"), Err(CsvError::Empty));
        assert_eq!(parse("phone\n"), Err(CsvError::Empty));
    }

    #[test]
    fn many_bad_lines_are_summarised() {
        let text = "x\n".repeat(MAX_PROBLEMS + 5);
        let error = parse(&format!("+15550100001\n{text}")).unwrap_err();
        assert!(error.to_string().ends_with("; and 5 more"), "{error}");
    }
}
