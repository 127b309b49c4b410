//! Lead import: a CSV file checked row by row into leads for the store.
//!
//! The file has a header. Columns (names are case-insensitive):
//! - `phone` (required): the number, in any usual format; normalised to E.164;
//! - `time_zone` (or `timezone`, `tz`): the lead's IANA zone;
//! - `region` (or `country`): ISO 3166 code, to read numbers written without `+` and to find
//!   the lead's zone when it has none;
//! - `priority`: an integer, higher dialed first (default 0);
//! - any other column: a custom field, kept with the lead.
//!
//! A lead's zone is its `time_zone`, else the zones of its region (the row's, or its number's
//! country), else the import's default zone; a lead whose zone cannot be told is refused,
//! since calling hours depend on it. Each bad row is reported with its line number and reason
//! (naming the column at fault) and the others are imported. Rows with the same E.164 number
//! are merged into one lead: the first row's values stand, later rows fill what it lacked, and
//! the priority is the highest.
//!
//! Hostile files: a UTF-8 byte order mark is skipped; a UTF-16 file is refused whole; a field
//! with a control character (NUL included; tab allowed) or over [`MAX_FIELD_BYTES`] refuses its
//! row, as does a phone, zone, region or priority over [`MAX_KEY_CHARS`] characters, so every
//! value quoted back in a message is short and printable. Custom fields are kept as text and
//! never evaluated: `=cmd|' /C calc'!A0` stays those characters (nothing here writes CSV, so
//! there is no spreadsheet to defuse it for). A number with an extension, or with digits other
//! than 0-9 (Arabic-Indic, full-width), is refused with a message saying so.
//!
//! Reading and checking only; [`crate::store::Store::insert_leads`] writes.

use crate::compliance::{hours, phone};
use crate::store::NewLead;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

/// The longest field a row may have, in bytes.
pub const MAX_FIELD_BYTES: usize = 4096;

/// The longest phone, time zone, region or priority, in characters.
pub const MAX_KEY_CHARS: usize = 64;

/// Header names listed at most in a message.
const NAMES_SHOWN: usize = 12;

/// How to read a file.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Region for numbers without `+` in rows without a region.
    pub default_region: Option<String>,
    /// Zone for leads whose zone cannot be told otherwise.
    pub default_zone: Option<String>,
}

/// A row that was not imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Why a whole file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Header { file: String, message: String },
    #[error("{file}: {message}")]
    Option { file: String, message: String },
}

/// The checked contents of a file.
#[derive(Clone, Debug, Default)]
pub struct ReadLeads {
    /// One per distinct number, in order of first appearance.
    pub leads: Vec<NewLead>,
    pub errors: Vec<RowError>,
    /// Data rows read.
    pub rows: u64,
    /// Rows merged into an earlier row with the same number.
    pub duplicates: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Phone,
    TimeZone,
    Region,
    Priority,
    Field,
}

fn column_of(name: &str) -> Column {
    match name {
        "phone" => Column::Phone,
        "time_zone" | "timezone" | "tz" => Column::TimeZone,
        "region" | "country" => Column::Region,
        "priority" => Column::Priority,
        _ => Column::Field,
    }
}

/// Reads and checks a CSV file of leads. `file` names it in messages and lead sources.
pub fn read_leads(
    file: &str,
    input: impl Read,
    options: &ImportOptions,
) -> Result<ReadLeads, ImportError> {
    let option_error = |message: String| ImportError::Option {
        file: file.to_string(),
        message,
    };
    let default_region = options
        .default_region
        .as_deref()
        .map(phone::region)
        .transpose()
        .map_err(|e| option_error(format!("--region: {e}")))?;
    if let Some(zone) = &options.default_zone {
        hours::zone(zone).map_err(|e| option_error(format!("--default-zone: {e}")))?;
    }
    let header_error = |message: String| ImportError::Header {
        file: file.to_string(),
        message,
    };
    let mut input = std::io::BufReader::new(input);
    let head = std::io::BufRead::fill_buf(&mut input).map_err(|source| ImportError::Read {
        file: file.to_string(),
        source,
    })?;
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(header_error(
            "the file is UTF-16 text (it starts with a UTF-16 byte order mark); save it as UTF-8 CSV"
                .into(),
        ));
    }
    // Records end at `\n` (the `\r` of a CRLF file is trimmed with the other white space): the
    // csv crate's CRLF mode ends a record at the `\r` and counts the line it starts on before
    // the `\n`, which puts every row of a CRLF file one line early in messages.
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .trim(csv::Trim::All)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(input);
    let header = reader.byte_headers().map_err(|error| match error.kind() {
        csv::ErrorKind::Io(_) => ImportError::Read {
            file: file.to_string(),
            source: std::io::Error::other(error.to_string()),
        },
        _ => header_error(format!("line 1: cannot read the header: {error}")),
    })?;
    if header.is_empty() || header.iter().all(|name| name.is_empty()) {
        return Err(header_error(
            "the file is empty: the first line must be a header naming the columns, with a `phone` column"
                .into(),
        ));
    }
    let mut names = Vec::new();
    for (index, name) in header.iter().enumerate() {
        let name = std::str::from_utf8(name)
            .map_err(|_| header_error(format!("line 1: column {} is not valid UTF-8", index + 1)))?
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
        if let Some(c) = name.chars().find(|c| c.is_control()) {
            return Err(header_error(format!(
                "line 1: the name of column {} contains the control character U+{:04X}: is the file UTF-16 or binary? Save it as UTF-8 CSV",
                index + 1,
                u32::from(c)
            )));
        }
        if name.chars().count() > MAX_KEY_CHARS {
            return Err(header_error(format!(
                "line 1: the name of column {} is {} characters long; a name has at most {MAX_KEY_CHARS}",
                index + 1,
                name.chars().count()
            )));
        }
        if name.is_empty() {
            return Err(header_error(format!(
                "line 1: column {} has no name",
                index + 1
            )));
        }
        if names.contains(&name) {
            return Err(header_error(format!(
                "line 1: column `{name}` appears twice"
            )));
        }
        names.push(name);
    }
    let columns: Vec<Column> = names.iter().map(|name| column_of(name)).collect();
    for kind in [Column::TimeZone, Column::Region] {
        if columns.iter().filter(|c| **c == kind).count() > 1 {
            return Err(header_error(format!(
                "line 1: more than one {} column",
                if kind == Column::TimeZone {
                    "time-zone"
                } else {
                    "region"
                }
            )));
        }
    }
    if !columns.contains(&Column::Phone) {
        let mut listed = names
            .iter()
            .take(NAMES_SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if names.len() > NAMES_SHOWN {
            listed.push_str(&format!(" and {} more", names.len() - NAMES_SHOWN));
        }
        let hint = if names
            .iter()
            .any(|name| name.contains(';') || name.contains('\t'))
        {
            "; is the file separated by semicolons or tabs? Columns are separated by commas"
        } else {
            ""
        };
        return Err(header_error(format!(
            "line 1: no `phone` column (the header names: {listed}){hint}"
        )));
    }

    let mut read = ReadLeads::default();
    let mut by_number: BTreeMap<String, usize> = BTreeMap::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                read.rows += 1;
                let line = error.position().map_or(line, |p| p.line());
                read.errors.push(RowError {
                    line,
                    reason: format!("cannot read the row: {error}"),
                });
                // A broken quote can swallow the rest of the file; stop at a non-row error.
                if !matches!(error.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.iter().all(|field| field.is_empty()) {
            continue; // a blank line
        }
        read.rows += 1;
        // A quote left open swallows the lines after it into one field: refuse the row and
        // name the lines, so nothing disappears silently.
        if record
            .iter()
            .any(|field| field.contains(&b'\n') || field.contains(&b'\r'))
        {
            let last = reader.position().line().saturating_sub(1).max(line);
            read.errors.push(RowError {
                line,
                reason: format!(
                    "the row runs over lines {line} to {last}: a quote left open? (line breaks inside a field are not accepted)"
                ),
            });
            continue;
        }
        match check_row(
            file,
            line,
            &names,
            &columns,
            &record,
            default_region,
            options,
        ) {
            Ok(lead) => match by_number.get(lead.phone.0.as_str()) {
                Some(&index) => {
                    merge(&mut read.leads[index], lead);
                    read.duplicates += 1;
                }
                None => {
                    by_number.insert(lead.phone.0.to_string(), read.leads.len());
                    read.leads.push(lead);
                }
            },
            Err(reason) => read.errors.push(RowError { line, reason }),
        }
    }
    Ok(read)
}

/// Folds a later row into the first one with the same number.
fn merge(first: &mut NewLead, later: NewLead) {
    first.time_zone = first.time_zone.take().or(later.time_zone);
    first.region = first.region.take().or(later.region);
    first.priority = first.priority.max(later.priority);
    for (key, value) in later.fields {
        first.fields.entry(key).or_insert(value);
    }
}

fn check_row(
    file: &str,
    line: u64,
    names: &[String],
    columns: &[Column],
    record: &csv::ByteRecord,
    default_region: Option<phonenumber::country::Id>,
    options: &ImportOptions,
) -> Result<NewLead, String> {
    if record.len() != columns.len() {
        return Err(format!(
            "{} fields, but the header has {} columns",
            record.len(),
            columns.len()
        ));
    }
    let mut phone_text = "";
    let mut zone_text = None;
    let mut region_text = None;
    let mut priority = 0;
    let mut fields = serde_json::Map::new();
    for (index, raw) in record.iter().enumerate() {
        let name = &names[index];
        if raw.len() > MAX_FIELD_BYTES {
            return Err(format!(
                "column `{name}` is {} bytes long; a field holds at most {MAX_FIELD_BYTES}",
                raw.len()
            ));
        }
        let value = std::str::from_utf8(raw).map_err(|error| {
            format!(
                "column `{name}` is not valid UTF-8 (at byte {} of the field)",
                error.valid_up_to() + 1
            )
        })?;
        if let Some(c) = value.chars().find(|c| c.is_control() && *c != '\t') {
            return Err(format!(
                "column `{name}` contains the control character U+{:04X}",
                u32::from(c)
            ));
        }
        if columns[index] != Column::Field && value.chars().count() > MAX_KEY_CHARS {
            return Err(format!(
                "{}: the value is {} characters long; at most {MAX_KEY_CHARS}",
                match columns[index] {
                    Column::Phone => "phone",
                    Column::TimeZone => "time_zone",
                    Column::Region => "region",
                    _ => "priority",
                },
                value.chars().count()
            ));
        }
        match columns[index] {
            Column::Phone => phone_text = value,
            Column::TimeZone if !value.is_empty() => zone_text = Some(value),
            Column::Region if !value.is_empty() => region_text = Some(value),
            Column::Priority if !value.is_empty() => {
                priority = value
                    .parse::<i32>()
                    .map_err(|_| format!("priority: `{value}` is not a whole number"))?;
            }
            Column::Field if !value.is_empty() => {
                fields.insert(
                    names[index].clone(),
                    serde_json::Value::String(value.into()),
                );
            }
            _ => {}
        }
    }
    let region = match region_text {
        Some(text) => Some(phone::region(text).map_err(|e| format!("region: {e}"))?),
        None => default_region,
    };
    let number = phone::normalize(phone_text, region).map_err(|e| format!("phone: {e}"))?;
    let time_zone = match zone_text {
        Some(name) => {
            hours::zone(name).map_err(|e| format!("time_zone: {e}"))?;
            Some(name.to_string())
        }
        None => None,
    };
    // The region that tells the lead's zones: the row's, else its number's country.
    let region_code = region_text
        .map(|text| text.trim().to_ascii_uppercase())
        .or_else(|| phone::region_of(&number));
    let zone_known = time_zone.is_some()
        || region_code
            .as_deref()
            .is_some_and(|code| phone::zones_of_region(code).is_some());
    let time_zone = match (zone_known, &options.default_zone) {
        (true, _) => time_zone,
        (false, Some(default)) => Some(default.clone()),
        (false, None) => {
            return Err(format!(
                "cannot tell the time zone of {} (region {}): add a time_zone column or give --default-zone",
                number,
                region_code.as_deref().unwrap_or("unknown")
            ));
        }
    };
    Ok(NewLead {
        phone: number,
        time_zone,
        region: region_code,
        priority,
        fields,
        source: format!("{file}:{line}"),
    })
}

/// Reads a DNC file: one number per line (`#` starts a comment), or a CSV whose first column
/// is the number (a header line that is not a number is skipped). Returns the numbers and the
/// lines that were not numbers.
pub fn read_dnc(
    input: &str,
    default_region: Option<phonenumber::country::Id>,
) -> (Vec<crate::domain::PhoneNumber>, Vec<RowError>) {
    let mut numbers = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let text = line.split('#').next().unwrap_or("");
        let text = text
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        if text.is_empty() {
            continue;
        }
        match phone::normalize(text, default_region) {
            Ok(number) => numbers.push(number),
            Err(_) if index == 0 && !text.chars().any(|c| c.is_ascii_digit()) => {} // a header
            Err(error) => errors.push(RowError {
                line: index as u64 + 1,
                reason: error.to_string(),
            }),
        }
    }
    (numbers, errors)
}
