//! Phone numbers in E.164 and the time zones a region spans.
//!
//! [`normalize`] validates a number with the phonenumber crate (libphonenumber's metadata) and
//! writes it in E.164 (`+14155550123`). A number without a `+` country code needs a region
//! (ISO 3166 code such as `US` or `GB`) to be read. Digits other than 0-9 (Arabic-Indic,
//! full-width, superscripts) are refused with a message saying so, as the console's reader
//! does, rather than guessed at; a number with an extension (`ext. 45`, `x45`, `#45`) is
//! refused, since the dialer cannot dial one.
//!
//! [`zones_of_region`] gives the IANA zones a lead may be in when only its region is known. The
//! phonenumber crate has no number-to-zone map, so this is a short table: one zone for
//! single-zone countries, every mainland zone for the large ones (calling hours then apply in
//! all of them, the conservative reading). Regions not in the table need an explicit time zone.
//!
//! Pure functions: no I/O.

use crate::domain::PhoneNumber;
use phonenumber::country;

/// Why a number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("empty phone number")]
    Empty,
    #[error("`{number}` cannot be read as a phone number{hint}")]
    Unreadable { number: String, hint: &'static str },
    #[error("`{0}` is not a valid phone number for its country")]
    Invalid(String),
    #[error("`{0}` has digits other than 0-9; write the number in ASCII digits")]
    NonAsciiDigits(String),
    #[error(
        "`{number}` has an extension ({extension}), which the dialer cannot dial; give the number alone"
    )]
    Extension { number: String, extension: String },
    #[error("`{0}` is not a region code (ISO 3166, like US or GB)")]
    Region(String),
}

/// Reads a region code (`US`, `gb`).
pub fn region(text: &str) -> Result<country::Id, NumberError> {
    text.trim()
        .to_ascii_uppercase()
        .parse::<country::Id>()
        .map_err(|_| NumberError::Region(text.to_string()))
}

/// Validates `text` and writes it in E.164. `region` reads numbers written without `+`.
pub fn normalize(text: &str, region: Option<country::Id>) -> Result<PhoneNumber, NumberError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(NumberError::Empty);
    }
    if trimmed
        .chars()
        .any(|c| c.is_numeric() && !c.is_ascii_digit())
    {
        return Err(NumberError::NonAsciiDigits(trimmed.to_string()));
    }
    let international = trimmed.starts_with('+') || trimmed.starts_with("00");
    let hint = if !international && region.is_none() {
        " (no + country code and no region given)"
    } else {
        ""
    };
    let parsed = phonenumber::parse(region, trimmed).map_err(|_| NumberError::Unreadable {
        number: trimmed.to_string(),
        hint,
    })?;
    if !phonenumber::is_valid(&parsed) {
        return Err(NumberError::Invalid(trimmed.to_string()));
    }
    if let Some(extension) = parsed.extension() {
        return Err(NumberError::Extension {
            number: trimmed.to_string(),
            extension: extension.to_string(),
        });
    }
    let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
    Ok(PhoneNumber(e164.into()))
}

/// The region (ISO code) a valid E.164 number belongs to, if the metadata knows it.
pub fn region_of(number: &PhoneNumber) -> Option<String> {
    let parsed = phonenumber::parse(None, number.0.as_str()).ok()?;
    parsed.country().id().map(|id| id.as_ref().to_string())
}

/// IANA zones a lead in `region` may be in, when it has no zone of its own.
pub fn zones_of_region(region: &str) -> Option<&'static [&'static str]> {
    let upper = region.trim().to_ascii_uppercase();
    REGION_ZONES
        .iter()
        .find(|(code, _)| *code == upper)
        .map(|(_, zones)| *zones)
}

const REGION_ZONES: &[(&str, &[&str])] = &[
    (
        "US",
        &[
            "America/New_York",
            "America/Chicago",
            "America/Denver",
            "America/Phoenix",
            "America/Los_Angeles",
            "America/Anchorage",
            "Pacific/Honolulu",
        ],
    ),
    (
        "CA",
        &[
            "America/St_Johns",
            "America/Halifax",
            "America/Toronto",
            "America/Winnipeg",
            "America/Regina",
            "America/Edmonton",
            "America/Vancouver",
        ],
    ),
    (
        "AU",
        &[
            "Australia/Sydney",
            "Australia/Brisbane",
            "Australia/Adelaide",
            "Australia/Darwin",
            "Australia/Perth",
        ],
    ),
    (
        "MX",
        &[
            "America/Mexico_City",
            "America/Cancun",
            "America/Chihuahua",
            "America/Hermosillo",
            "America/Tijuana",
        ],
    ),
    ("GB", &["Europe/London"]),
    ("IE", &["Europe/Dublin"]),
    ("FR", &["Europe/Paris"]),
    ("DE", &["Europe/Berlin"]),
    ("ES", &["Europe/Madrid"]),
    ("IT", &["Europe/Rome"]),
    ("NL", &["Europe/Amsterdam"]),
    ("BE", &["Europe/Brussels"]),
    ("CH", &["Europe/Zurich"]),
    ("AT", &["Europe/Vienna"]),
    ("PL", &["Europe/Warsaw"]),
    ("SE", &["Europe/Stockholm"]),
    ("NO", &["Europe/Oslo"]),
    ("DK", &["Europe/Copenhagen"]),
    ("FI", &["Europe/Helsinki"]),
    ("PT", &["Europe/Lisbon"]),
    ("CZ", &["Europe/Prague"]),
    ("UA", &["Europe/Kyiv"]),
    ("GR", &["Europe/Athens"]),
    ("RO", &["Europe/Bucharest"]),
    ("IL", &["Asia/Jerusalem"]),
    ("IN", &["Asia/Kolkata"]),
    ("JP", &["Asia/Tokyo"]),
    ("ZA", &["Africa/Johannesburg"]),
    ("NZ", &["Pacific/Auckland"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_e164() {
        let us = region("us").unwrap();
        assert_eq!(
            normalize("(201) 555-0123", Some(us)).unwrap().0,
            "+12015550123"
        );
        assert_eq!(
            normalize("+44 20 7946 0958", None).unwrap().0,
            "+442079460958"
        );
        assert_eq!(
            normalize("020 7946 0958", Some(region("GB").unwrap()))
                .unwrap()
                .0,
            "+442079460958"
        );
    }

    #[test]
    fn bad_numbers_say_why() {
        assert_eq!(normalize("  ", None), Err(NumberError::Empty));
        assert!(matches!(
            normalize("2015550123", None),
            Err(NumberError::Unreadable { hint, .. }) if hint.contains("no region")
        ));
        assert!(matches!(
            normalize("+1 555", None),
            Err(NumberError::Invalid(_) | NumberError::Unreadable { .. })
        ));
        assert!(matches!(region("XX1"), Err(NumberError::Region(_))));
    }

    #[test]
    fn every_zone_in_the_region_table_exists() {
        for (code, zones) in REGION_ZONES {
            for zone in *zones {
                assert!(
                    jiff::tz::TimeZone::get(zone).is_ok(),
                    "{code}: unknown zone {zone}"
                );
            }
        }
        assert_eq!(zones_of_region("gb"), Some(&["Europe/London"][..]));
        assert_eq!(zones_of_region("ZZ"), None);
    }
}
