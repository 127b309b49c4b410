//! Engine time: [`SimTime`] instants and [`SimDuration`] spans, both whole microseconds.
//!
//! Owns the one representation of time that every engine component uses, in simulation and in
//! live mode alike: microseconds since the run started. Integer time keeps arithmetic exact and
//! traces byte-identical across machines.
//!
//! This module must not read any clock. Where "now" comes from is decided by [`crate::clock`].

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Microseconds in one millisecond, second, minute and hour.
const MICROS_PER_MS: u64 = 1_000;
const MICROS_PER_SEC: u64 = 1_000_000;
const MICROS_PER_MIN: u64 = 60 * MICROS_PER_SEC;
const MICROS_PER_HOUR: u64 = 60 * MICROS_PER_MIN;

/// An instant of engine time: microseconds since the start of the run.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(pub u64);

/// A span of engine time in microseconds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimDuration(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);

    pub fn as_micros(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_SEC as f64
    }

    pub fn as_millis(self) -> u64 {
        self.0 / MICROS_PER_MS
    }

    /// Time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    pub fn from_secs(secs: u64) -> SimTime {
        SimTime(secs * MICROS_PER_SEC)
    }
}

/// `x.round() as u64` for a positive `x`, without a call into the maths library: the baseline
/// x86-64 instruction set has no rounding instruction, so `f64::round` is a function call, and
/// every sampled duration of a simulation goes through here (BENCHMARKS.md, twelfth session).
/// Gives exactly what `round` gives (halves away from zero; saturating at `u64::MAX`).
#[inline]
pub fn round_positive(x: f64) -> u64 {
    // From 2^52 up every f64 is a whole number (and the conversion saturates as `round`'s does).
    const WHOLE_FROM: f64 = 4_503_599_627_370_496.0;
    let whole = x as u64;
    if x >= WHOLE_FROM {
        return whole;
    }
    // Exact: `whole` is `x` without its fraction, both below 2^52.
    let fraction = x - whole as f64;
    if fraction >= 0.5 { whole + 1 } else { whole }
}

/// `x.ceil() as u32` for any `x`, without a call into the maths library (see
/// [`round_positive`]): the same result, NaN and negatives giving 0 and large values
/// `u32::MAX`.
#[inline]
pub fn ceil_to_u32(x: f64) -> u32 {
    let whole = x as u32;
    if f64::from(whole) < x {
        whole.saturating_add(1)
    } else {
        whole
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub fn from_micros(micros: u64) -> SimDuration {
        SimDuration(micros)
    }

    pub fn from_millis(ms: u64) -> SimDuration {
        SimDuration(ms * MICROS_PER_MS)
    }

    pub fn from_secs(secs: u64) -> SimDuration {
        SimDuration(secs * MICROS_PER_SEC)
    }

    /// Converts fractional seconds, rounding to the nearest microsecond. Negative and
    /// non-finite inputs give zero; callers validate ranges before converting.
    pub fn from_secs_f64(secs: f64) -> SimDuration {
        if secs.is_finite() && secs > 0.0 {
            SimDuration(round_positive(secs * MICROS_PER_SEC as f64))
        } else {
            SimDuration::ZERO
        }
    }

    pub fn as_micros(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_SEC as f64
    }

    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_MS as f64
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_micros(self.0)
    }

    pub fn from_std(d: std::time::Duration) -> SimDuration {
        SimDuration(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, rhs: SimDuration) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// Saturating: a later instant minus an earlier one, never negative.
    fn sub(self, rhs: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(rhs.0))
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for SimDuration {
    fn add_assign(&mut self, rhs: SimDuration) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl fmt::Display for SimTime {
    /// `HH:MM:SS.mmm` since the start of the run, the way testers read a timeline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total_ms = self.0 / MICROS_PER_MS;
        let hours = total_ms / 3_600_000;
        let minutes = (total_ms / 60_000) % 60;
        let seconds = (total_ms / 1_000) % 60;
        let millis = total_ms % 1_000;
        write!(f, "{hours:02}:{minutes:02}:{seconds:02}.{millis:03}")
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.as_secs_f64();
        if secs >= 3600.0 {
            write!(f, "{:.2}h", secs / 3600.0)
        } else if secs >= 60.0 {
            write!(f, "{:.1}m", secs / 60.0)
        } else {
            write!(f, "{secs:.3}s")
        }
    }
}

/// Why a duration text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationParseError {
    #[error("empty duration")]
    Empty,
    #[error("negative duration `{0}`; durations must be zero or positive")]
    Negative(String),
    #[error(
        "cannot read `{0}` as a duration; write a number with a unit, like `250ms`, `15s`, `2m30s`, `1.5h` or `08:30:00`"
    )]
    Malformed(String),
    #[error("duration `{0}` is too large")]
    TooLarge(String),
}

/// Parses a human duration: `250ms`, `15s`, `2.5s`, `2m30s`, `1h`, `1h30m`, or a clock-style
/// `HH:MM[:SS]` offset (used by timelines, "at 02:00"). A bare number means seconds.
pub fn parse_duration(text: &str) -> Result<SimDuration, DurationParseError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationParseError::Empty);
    }
    if trimmed.starts_with('-') {
        return Err(DurationParseError::Negative(trimmed.to_string()));
    }
    if trimmed.contains(':') {
        return parse_clock_offset(trimmed);
    }
    if let Ok(secs) = trimmed.parse::<f64>() {
        return seconds_to_duration(secs, trimmed);
    }
    let mut total_micros: f64 = 0.0;
    let mut rest = trimmed;
    let mut parsed_any = false;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(DurationParseError::Malformed(trimmed.to_string()));
        }
        let value: f64 = rest[..number_len]
            .parse()
            .map_err(|_| DurationParseError::Malformed(trimmed.to_string()))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = &rest[unit_len..];
        let micros_per_unit = match unit {
            "us" | "µs" => 1.0,
            "ms" => MICROS_PER_MS as f64,
            "s" | "sec" | "secs" => MICROS_PER_SEC as f64,
            "m" | "min" | "mins" => MICROS_PER_MIN as f64,
            "h" | "hr" | "hrs" => MICROS_PER_HOUR as f64,
            "d" => 24.0 * MICROS_PER_HOUR as f64,
            _ => return Err(DurationParseError::Malformed(trimmed.to_string())),
        };
        total_micros += value * micros_per_unit;
        parsed_any = true;
    }
    if !parsed_any {
        return Err(DurationParseError::Malformed(trimmed.to_string()));
    }
    seconds_to_duration(total_micros / MICROS_PER_SEC as f64, trimmed)
}

fn parse_clock_offset(text: &str) -> Result<SimDuration, DurationParseError> {
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(DurationParseError::Malformed(text.to_string()));
    }
    let mut secs = 0.0;
    for (index, part) in parts.iter().enumerate() {
        let value: f64 = part
            .parse()
            .map_err(|_| DurationParseError::Malformed(text.to_string()))?;
        if value < 0.0 || (index > 0 && value >= 60.0) {
            return Err(DurationParseError::Malformed(text.to_string()));
        }
        let scale = match index {
            0 => 3600.0,
            1 => 60.0,
            _ => 1.0,
        };
        secs += value * scale;
    }
    seconds_to_duration(secs, text)
}

/// A duration written as a bare whole number of seconds (`talk = 180` in a scenario), with the
/// same upper limit as a written duration: a huge number is an error, not an overflow.
pub fn duration_from_whole_seconds(secs: u64) -> Result<SimDuration, DurationParseError> {
    if secs > MAX_DURATION_SECS as u64 {
        return Err(DurationParseError::TooLarge(secs.to_string()));
    }
    Ok(SimDuration::from_secs(secs))
}

/// Ten thousand years: far beyond any campaign and far below u64 microseconds.
const MAX_DURATION_SECS: f64 = 3.2e11;

fn seconds_to_duration(secs: f64, original: &str) -> Result<SimDuration, DurationParseError> {
    if !secs.is_finite() {
        return Err(DurationParseError::Malformed(original.to_string()));
    }
    if secs < 0.0 {
        return Err(DurationParseError::Negative(original.to_string()));
    }
    if secs > MAX_DURATION_SECS {
        return Err(DurationParseError::TooLarge(original.to_string()));
    }
    Ok(SimDuration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Values where rounding is easy to get wrong: just below a half, halves, the edge of the
    /// whole numbers (2^52) and of the conversions.
    const EDGES: [f64; 16] = [
        0.499_999_999_999_999_94,
        0.5,
        1.5,
        2.5,
        1.0 - f64::EPSILON / 2.0,
        4_503_599_627_370_495.5,
        4_503_599_627_370_496.0,
        9_007_199_254_740_993.0,
        4_294_967_295.5,
        4_294_967_296.0,
        1.8e19,
        1e300,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::INFINITY,
        1e-300,
    ];

    #[test]
    fn the_rounding_helpers_agree_with_the_library_at_the_edges() {
        for x in EDGES {
            assert_eq!(round_positive(x), x.round() as u64, "round {x:e}");
            assert_eq!(ceil_to_u32(x), x.ceil() as u32, "ceil {x:e}");
            assert_eq!(ceil_to_u32(-x), (-x).ceil() as u32, "ceil {:e}", -x);
        }
        assert_eq!(ceil_to_u32(f64::NAN), 0);
        assert_eq!(ceil_to_u32(f64::NEG_INFINITY), 0);
    }

    proptest! {
        #[test]
        fn round_positive_is_round(x in 0.0f64..1e20, bits in any::<u64>()) {
            prop_assert_eq!(round_positive(x), x.round() as u64);
            let any = f64::from_bits(bits).abs();
            if any.is_finite() && any > 0.0 {
                prop_assert_eq!(round_positive(any), any.round() as u64);
            }
        }

        #[test]
        fn ceil_to_u32_is_ceil(x in -10.0f64..1e10, bits in any::<u64>()) {
            prop_assert_eq!(ceil_to_u32(x), x.ceil() as u32);
            let any = f64::from_bits(bits);
            prop_assert_eq!(ceil_to_u32(any), any.ceil() as u32);
        }
    }

    #[test]
    fn whole_seconds_beyond_ten_thousand_years_are_refused_not_overflowed() {
        assert_eq!(
            duration_from_whole_seconds(180),
            Ok(SimDuration::from_secs(180))
        );
        assert_eq!(
            duration_from_whole_seconds(u64::MAX),
            Err(DurationParseError::TooLarge(u64::MAX.to_string()))
        );
        assert!(duration_from_whole_seconds(320_000_000_000).is_ok());
        assert!(duration_from_whole_seconds(320_000_000_001).is_err());
    }

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(parse_duration("250ms"), Ok(SimDuration::from_millis(250)));
        assert_eq!(parse_duration("15s"), Ok(SimDuration::from_secs(15)));
        assert_eq!(parse_duration("2.5s"), Ok(SimDuration::from_millis(2500)));
        assert_eq!(parse_duration("2m30s"), Ok(SimDuration::from_secs(150)));
        assert_eq!(parse_duration("1h30m"), Ok(SimDuration::from_secs(5400)));
        assert_eq!(parse_duration("20"), Ok(SimDuration::from_secs(20)));
        assert_eq!(parse_duration("02:00"), Ok(SimDuration::from_secs(7200)));
        assert_eq!(parse_duration("01:02:03"), Ok(SimDuration::from_secs(3723)));
    }

    #[test]
    fn rejects_bad_text_with_reasons() {
        assert!(matches!(
            parse_duration("-5s"),
            Err(DurationParseError::Negative(_))
        ));
        assert!(matches!(
            parse_duration("5 parsecs"),
            Err(DurationParseError::Malformed(_))
        ));
        assert!(matches!(
            parse_duration("s"),
            Err(DurationParseError::Malformed(_))
        ));
        assert!(matches!(parse_duration(""), Err(DurationParseError::Empty)));
        assert!(matches!(
            parse_duration("01:99"),
            Err(DurationParseError::Malformed(_))
        ));
    }

    #[test]
    fn displays_clock_style() {
        assert_eq!(
            (SimTime::ZERO + SimDuration::from_millis(3_723_004)).to_string(),
            "01:02:03.004"
        );
    }
}
