//! Calling hours: when a callee may be called, in the callee's own local time.
//!
//! A [`CallingHours`] is a daily window of local wall-clock time (default 08:00 to 21:00), the
//! weekdays it applies to, and a list of holidays (local dates with no calls at all). Whether an
//! instant is inside the window is decided in the callee's time zone through jiff, with the
//! IANA database compiled into the binary (`tzdb-bundle-always`), so the answer never depends on
//! the host's tzdata.
//!
//! DST edges are resolved conservatively: a window never contains an instant whose local time is
//! outside `[open, close)`. When the opening time falls in a gap (clocks jump forward) or a fold
//! (clocks go back), the window opens at the later of the candidate instants; the closing time
//! takes the earlier one.
//!
//! A lead whose number may be in any of several zones (a region spanning zones, with no zone of
//! its own) is callable only while the window is open in all of them ([`ZoneSet`]).
//!
//! Pure functions of a zone and an instant: no clock, no I/O.

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use std::collections::BTreeSet;

/// Where an instant stands against the calling window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Calls are allowed now and until `until` (exclusive).
    Open { until: Timestamp },
    /// Calls are not allowed now; the window next opens at `opens` (`None`: not within the
    /// search horizon, e.g. every day is a holiday).
    Closed { opens: Option<Timestamp> },
}

/// How far ahead a closed window looks for the next opening, in days.
const SEARCH_DAYS: usize = 400;

/// A daily calling window in local time, with allowed weekdays and holidays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallingHours {
    /// Local time calls may start (inclusive).
    pub open: Time,
    /// Local time calls must stop (exclusive). Later than `open`.
    pub close: Time,
    /// Allowed weekdays, Monday first.
    pub weekdays: [bool; 7],
    /// Local dates without calls.
    pub holidays: BTreeSet<Date>,
}

impl Default for CallingHours {
    /// 08:00 to 21:00 every day, no holidays (the FCC/TSR hours).
    fn default() -> Self {
        CallingHours {
            open: Time::constant(8, 0, 0, 0),
            close: Time::constant(21, 0, 0, 0),
            weekdays: [true; 7],
            holidays: BTreeSet::new(),
        }
    }
}

/// Why calling hours could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("`{0}` is not a time of day like \"08:00\" or \"20:30\"")]
    Time(String),
    #[error("the window must close after it opens (open {open}, close {close})")]
    Empty { open: String, close: String },
    #[error("`{0}` is not a weekday (mon, tue, wed, thu, fri, sat, sun)")]
    Weekday(String),
    #[error("`{0}` is not a date like \"2026-12-25\"")]
    Date(String),
    #[error("`{0}` is not a known IANA time zone (like \"America/New_York\")")]
    Zone(String),
}

/// Reads a time of day, `HH:MM` or `HH:MM:SS`. `24:00` means the end of the day.
pub fn parse_time_of_day(text: &str) -> Result<Time, HoursError> {
    let text = text.trim();
    if text == "24:00" || text == "24:00:00" {
        return Ok(Time::MAX);
    }
    text.parse::<Time>()
        .map_err(|_| HoursError::Time(text.to_string()))
}

pub fn parse_weekday(text: &str) -> Result<Weekday, HoursError> {
    Ok(match text.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Monday,
        "tue" | "tuesday" => Weekday::Tuesday,
        "wed" | "wednesday" => Weekday::Wednesday,
        "thu" | "thursday" => Weekday::Thursday,
        "fri" | "friday" => Weekday::Friday,
        "sat" | "saturday" => Weekday::Saturday,
        "sun" | "sunday" => Weekday::Sunday,
        _ => return Err(HoursError::Weekday(text.to_string())),
    })
}

pub fn parse_date(text: &str) -> Result<Date, HoursError> {
    text.trim()
        .parse::<Date>()
        .map_err(|_| HoursError::Date(text.to_string()))
}

/// Looks a zone up in the bundled IANA database.
pub fn zone(name: &str) -> Result<TimeZone, HoursError> {
    TimeZone::get(name.trim()).map_err(|_| HoursError::Zone(name.to_string()))
}

impl CallingHours {
    /// A window from `open` to `close` every day, no holidays.
    pub fn new(open: Time, close: Time) -> Result<CallingHours, HoursError> {
        if close <= open {
            return Err(HoursError::Empty {
                open: open.to_string(),
                close: close.to_string(),
            });
        }
        Ok(CallingHours {
            open,
            close,
            ..CallingHours::default()
        })
    }

    /// True if calls may be made on this local date at all.
    pub fn is_calling_day(&self, date: Date) -> bool {
        let weekday = date.weekday().to_monday_zero_offset() as usize;
        self.weekdays[weekday] && !self.holidays.contains(&date)
    }

    /// The window's open and close instants on `date` in `zone`, or `None` if the date has no
    /// calls or its window is empty (a DST change swallowed it).
    pub fn window_on(&self, zone: &TimeZone, date: Date) -> Option<(Timestamp, Timestamp)> {
        if !self.is_calling_day(date) {
            return None;
        }
        let open = zone
            .to_ambiguous_timestamp(date.to_datetime(self.open))
            .later()
            .ok()?;
        let close = if self.close == Time::MAX {
            // The end of the day: the start of the next local day.
            let next = date.tomorrow().ok()?;
            zone.to_ambiguous_timestamp(next.to_datetime(Time::MIN))
                .earlier()
                .ok()?
        } else {
            zone.to_ambiguous_timestamp(date.to_datetime(self.close))
                .earlier()
                .ok()?
        };
        (open < close).then_some((open, close))
    }

    /// Where `at` stands against the window in `zone`.
    pub fn window_at(&self, zone: &TimeZone, at: Timestamp) -> Window {
        let mut date = zone.to_datetime(at).date();
        // The local date before can still be open at `at` only if its window reaches past
        // midnight, which `close <= 24:00` rules out; start from the local date of `at`.
        for _ in 0..SEARCH_DAYS {
            if let Some((open, close)) = self.window_on(zone, date)
                && at < close
            {
                return if at >= open {
                    Window::Open { until: close }
                } else {
                    Window::Closed { opens: Some(open) }
                };
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        Window::Closed { opens: None }
    }

    /// Where `at` stands against the window in every zone of `zones` at once: open only where
    /// all are open.
    pub fn window_in_all(&self, zones: &ZoneSet, at: Timestamp) -> Window {
        if let [zone] = zones.0.as_slice() {
            return self.window_at(zone, at);
        }
        let mut probe = at;
        // Each round either finds every zone open at `probe` or moves `probe` forward to the
        // latest opening among the closed zones; the bound covers the search horizon.
        for _ in 0..SEARCH_DAYS * zones.0.len().max(1) * 2 {
            let mut until: Option<Timestamp> = None;
            let mut latest_opening: Option<Timestamp> = None;
            for zone in &zones.0 {
                match self.window_at(zone, probe) {
                    Window::Open { until: end } => {
                        until = Some(until.map_or(end, |u| u.min(end)));
                    }
                    Window::Closed { opens: None } => return Window::Closed { opens: None },
                    Window::Closed { opens: Some(opens) } => {
                        latest_opening = Some(latest_opening.map_or(opens, |o| o.max(opens)));
                    }
                }
            }
            match (latest_opening, until) {
                (None, Some(until)) if probe == at => return Window::Open { until },
                (None, Some(_)) => return Window::Closed { opens: Some(probe) },
                (None, None) => return Window::Closed { opens: None },
                (Some(opens), _) => probe = opens,
            }
        }
        Window::Closed { opens: None }
    }
}

/// The zones a callee may be in: one for most leads, several for a region that spans zones.
#[derive(Clone, Debug)]
pub struct ZoneSet(pub Vec<TimeZone>);

impl ZoneSet {
    pub fn one(zone: TimeZone) -> ZoneSet {
        ZoneSet(vec![zone])
    }

    /// The zone whose calendar days count for per-day limits: the first.
    pub fn primary(&self) -> &TimeZone {
        &self.0[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn ny() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    fn hours(open: (i8, i8), close: (i8, i8)) -> CallingHours {
        CallingHours::new(
            Time::constant(open.0, open.1, 0, 0),
            Time::constant(close.0, close.1, 0, 0),
        )
        .unwrap()
    }

    #[test]
    fn default_window_is_eight_to_nine_local() {
        let h = CallingHours::default();
        // 2026-01-15 in New York is EST (UTC-5): 08:00 local = 13:00Z, 21:00 local = 02:00Z.
        assert_eq!(
            h.window_at(&ny(), ts("2026-01-15T12:59:59Z")),
            Window::Closed {
                opens: Some(ts("2026-01-15T13:00:00Z"))
            }
        );
        assert_eq!(
            h.window_at(&ny(), ts("2026-01-15T13:00:00Z")),
            Window::Open {
                until: ts("2026-01-16T02:00:00Z")
            }
        );
        // At 21:00 sharp the window is closed until the next morning.
        assert_eq!(
            h.window_at(&ny(), ts("2026-01-16T02:00:00Z")),
            Window::Closed {
                opens: Some(ts("2026-01-16T13:00:00Z"))
            }
        );
    }

    #[test]
    fn spring_forward_moves_the_window_an_hour_earlier_in_utc() {
        let h = CallingHours::default();
        // 2026-03-08: New York springs forward at 02:00; 08:00 EDT is 12:00Z.
        assert_eq!(
            h.window_at(&ny(), ts("2026-03-08T11:30:00Z")),
            Window::Closed {
                opens: Some(ts("2026-03-08T12:00:00Z"))
            }
        );
        // The evening before was still EST: the window closed at 02:00Z.
        assert_eq!(
            h.window_at(&ny(), ts("2026-03-08T01:59:59Z")),
            Window::Open {
                until: ts("2026-03-08T02:00:00Z")
            }
        );
    }

    #[test]
    fn fall_back_moves_it_an_hour_later() {
        let h = CallingHours::default();
        // 2026-11-01: New York falls back at 02:00; 08:00 EST is 13:00Z.
        assert_eq!(
            h.window_at(&ny(), ts("2026-11-01T12:30:00Z")),
            Window::Closed {
                opens: Some(ts("2026-11-01T13:00:00Z"))
            }
        );
        // London leaves BST on 2026-10-25: 08:00 GMT is 08:00Z, 21:00 is 21:00Z.
        let london = TimeZone::get("Europe/London").unwrap();
        assert_eq!(
            h.window_at(&london, ts("2026-10-25T07:30:00Z")),
            Window::Closed {
                opens: Some(ts("2026-10-25T08:00:00Z"))
            }
        );
        assert_eq!(
            h.window_at(&london, ts("2026-10-24T19:30:00Z")),
            Window::Open {
                until: ts("2026-10-24T20:00:00Z")
            }
        );
    }

    #[test]
    fn opening_in_a_gap_waits_for_the_gap_to_pass_and_closing_in_one_comes_early() {
        // A window 02:30-23:00: on 2026-03-08 02:30 does not exist in New York.
        let h = hours((2, 30), (23, 0));
        // Conservative: it opens at 03:30 EDT (07:30Z), never at a local time before 02:30.
        assert_eq!(
            h.window_on(&ny(), date(2026, 3, 8)),
            Some((ts("2026-03-08T07:30:00Z"), ts("2026-03-09T03:00:00Z")))
        );
        // A window 00:00-02:30 closes at 01:30 EST (06:30Z), before the gap.
        let early = hours((0, 0), (2, 30));
        assert_eq!(
            early.window_on(&ny(), date(2026, 3, 8)),
            Some((ts("2026-03-08T05:00:00Z"), ts("2026-03-08T06:30:00Z")))
        );
    }

    #[test]
    fn in_a_fold_the_window_opens_on_the_second_pass_and_closes_on_the_first() {
        // 2026-11-01 01:30 happens twice in New York: 05:30Z (EDT) and 06:30Z (EST).
        let opens_in_fold = hours((1, 30), (20, 0));
        assert_eq!(
            opens_in_fold.window_on(&ny(), date(2026, 11, 1)).unwrap().0,
            ts("2026-11-01T06:30:00Z")
        );
        let closes_in_fold = hours((0, 0), (1, 30));
        assert_eq!(
            closes_in_fold
                .window_on(&ny(), date(2026, 11, 1))
                .unwrap()
                .1,
            ts("2026-11-01T05:30:00Z")
        );
    }

    #[test]
    fn holidays_and_weekdays_are_skipped() {
        let mut h = CallingHours::default();
        h.holidays.insert(date(2026, 12, 25));
        // Sundays off.
        h.weekdays[6] = false;
        // 2026-12-25 is a Friday: the next opening is Saturday 26th, 08:00 EST.
        assert_eq!(
            h.window_at(&ny(), ts("2026-12-25T15:00:00Z")),
            Window::Closed {
                opens: Some(ts("2026-12-26T13:00:00Z"))
            }
        );
        // Saturday evening after 21:00: Sunday is off, so Monday 28th.
        assert_eq!(
            h.window_at(&ny(), ts("2026-12-27T02:30:00Z")),
            Window::Closed {
                opens: Some(ts("2026-12-28T13:00:00Z"))
            }
        );
        let never = CallingHours {
            weekdays: [false; 7],
            ..CallingHours::default()
        };
        assert_eq!(
            never.window_at(&ny(), ts("2026-12-25T15:00:00Z")),
            Window::Closed { opens: None }
        );
    }

    #[test]
    fn a_region_spanning_zones_is_open_only_where_all_are() {
        let h = CallingHours::default();
        let zones = ZoneSet(vec![ny(), TimeZone::get("America/Los_Angeles").unwrap()]);
        // 12:30Z on 2026-01-15: 07:30 in New York, 04:30 in Los Angeles. Opens when LA does,
        // 08:00 PST = 16:00Z, and closes when New York does, 21:00 EST = 02:00Z.
        assert_eq!(
            h.window_in_all(&zones, ts("2026-01-15T12:30:00Z")),
            Window::Closed {
                opens: Some(ts("2026-01-15T16:00:00Z"))
            }
        );
        assert_eq!(
            h.window_in_all(&zones, ts("2026-01-15T16:00:00Z")),
            Window::Open {
                until: ts("2026-01-16T02:00:00Z")
            }
        );
    }

    #[test]
    fn parses_times_days_and_dates() {
        assert_eq!(
            parse_time_of_day("08:30").unwrap(),
            Time::constant(8, 30, 0, 0)
        );
        assert_eq!(parse_time_of_day("24:00").unwrap(), Time::MAX);
        assert!(parse_time_of_day("25:00").is_err());
        assert_eq!(parse_weekday("Sat").unwrap(), Weekday::Saturday);
        assert!(parse_weekday("someday").is_err());
        assert_eq!(parse_date("2026-12-25").unwrap(), date(2026, 12, 25));
        assert!(parse_date("25/12/2026").is_err());
        assert!(zone("Mars/Olympus").is_err());
        assert!(CallingHours::new(Time::constant(9, 0, 0, 0), Time::constant(8, 0, 0, 0)).is_err());
    }
}
