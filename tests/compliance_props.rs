//! Property tests of calling hours: in every zone, including those with DST changes at
//! midnight or of 30 minutes, an instant the window calls open has a local time inside
//! `[open, close)` on a calling day, and a closed answer names the first instant that is open.

use dialer::compliance::hours::{CallingHours, Window, ZoneSet};
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use proptest::prelude::*;

const ZONES: &[&str] = &[
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Lord_Howe", // 30-minute DST change
    "America/Havana",      // DST changes at midnight
    "America/Santiago",    // DST changes at midnight, southern hemisphere
    "Asia/Kathmandu",      // +05:45, no DST
    "Pacific/Chatham",     // +12:45/+13:45
];

fn hours_strategy() -> impl Strategy<Value = CallingHours> {
    (
        0u8..23,
        1u8..=24,
        0u8..4,
        prop::collection::vec(any::<bool>(), 7),
        0u16..60,
    )
        .prop_filter_map(
            "window must be non-empty",
            |(open_h, span, quarter, days, holiday)| {
                let open = Time::new(open_h as i8, (quarter * 15) as i8, 0, 0).ok()?;
                let close_h = open_h as u16 + span as u16;
                let close = if close_h >= 24 {
                    Time::MAX
                } else {
                    Time::new(close_h as i8, (quarter * 15) as i8, 0, 0).ok()?
                };
                let mut hours = CallingHours::new(open, close).ok()?;
                for (slot, allowed) in hours.weekdays.iter_mut().zip(days) {
                    *slot = allowed;
                }
                hours.weekdays[2] = true; // at least one calling weekday
                hours.holidays.insert(
                    Date::constant(2026, 1, 1)
                        .checked_add(jiff::Span::new().days(holiday as i64 * 6))
                        .ok()?,
                );
                Some(hours)
            },
        )
}

fn is_open(window: Window) -> bool {
    matches!(window, Window::Open { .. })
}

/// True if the zone's offset changes within three hours of `at`.
fn near_offset_change(zone: &TimeZone, at: Timestamp) -> bool {
    let span = jiff::SignedDuration::from_hours(3);
    let offset = zone.to_offset(at);
    zone.to_offset(at - span) != offset || zone.to_offset(at + span) != offset
}

fn local_ok(hours: &CallingHours, zone: &TimeZone, at: Timestamp) -> bool {
    let local = zone.to_datetime(at);
    let time = local.time();
    let before_close = hours.close == Time::MAX || time < hours.close;
    hours.is_calling_day(local.date()) && time >= hours.open && before_close
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn open_means_local_time_inside_the_window(
        hours in hours_strategy(),
        zone_index in 0..ZONES.len(),
        seconds in 1_735_689_600i64..1_893_456_000, // 2025..2030
    ) {
        let zone = TimeZone::get(ZONES[zone_index]).unwrap();
        let at = Timestamp::from_second(seconds).unwrap();
        match hours.window_at(&zone, at) {
            Window::Open { until } => {
                prop_assert!(until > at);
                prop_assert!(local_ok(&hours, &zone, at), "open at {at} in {}", ZONES[zone_index]);
                let last = until - jiff::SignedDuration::from_secs(1);
                prop_assert!(local_ok(&hours, &zone, last), "still open at {last}");
                // At its end the window reopens at once (a day ending at 24:00 meets the next), or the
                // wall clock has left it, or a DST edge closed it early (conservative).
                prop_assert!(
                    !local_ok(&hours, &zone, until)
                        || is_open(hours.window_at(&zone, until))
                        || near_offset_change(&zone, until)
                );
            }
            Window::Closed { opens: Some(opens) } => {
                prop_assert!(opens > at);
                // Closed although the wall clock is inside: only at a DST edge, where the
                // window is conservative (a fold's first pass, a gap's shifted opening).
                if local_ok(&hours, &zone, at) {
                    prop_assert!(near_offset_change(&zone, at), "closed at {at} but local time is inside");
                }
                prop_assert!(is_open(hours.window_at(&zone, opens)));
                let midway = Timestamp::from_second((at.as_second() + opens.as_second()) / 2).unwrap();
                if midway < opens {
                    prop_assert!(!is_open(hours.window_at(&zone, midway)));
                }
            }
            Window::Closed { opens: None } => {
                prop_assert!(!local_ok(&hours, &zone, at));
            }
        }
    }

    #[test]
    fn a_zone_set_is_open_only_where_every_zone_is(
        first in 0..ZONES.len(),
        second in 0..ZONES.len(),
        seconds in 1_735_689_600i64..1_893_456_000,
    ) {
        let hours = CallingHours::default();
        let zones = ZoneSet(vec![
            TimeZone::get(ZONES[first]).unwrap(),
            TimeZone::get(ZONES[second]).unwrap(),
        ]);
        let at = Timestamp::from_second(seconds).unwrap();
        match hours.window_in_all(&zones, at) {
            Window::Open { until } => {
                prop_assert!(until > at);
                for zone in &zones.0 {
                    prop_assert!(local_ok(&hours, zone, at));
                }
            }
            Window::Closed { opens: Some(opens) } => {
                prop_assert!(opens > at);
                prop_assert!(zones.0.iter().any(|zone| !local_ok(&hours, zone, at)));
                for zone in &zones.0 {
                    prop_assert!(local_ok(&hours, zone, opens));
                }
            }
            Window::Closed { opens: None } => {}
        }
    }
}
