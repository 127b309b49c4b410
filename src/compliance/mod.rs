//! Compliance: the rules a campaign obeys before every dial, as pure functions.
//!
//! - [`hours`]: calling hours in the callee's local time (jiff, bundled tzdb), holidays, DST.
//! - [`rules`]: attempt rules: retries per outcome, attempts per lead and per day, the Ofcom
//!   72-hour lockout after an abandon.
//! - [`dnc`]: the do-not-call list.
//! - [`phone`]: E.164 normalisation and the zones of a region.
//!
//! [`Compliance`] joins them for the campaign's hopper: it maps engine time to real instants
//! through the campaign's epoch (the wall time of engine time zero: the start of a live run, or
//! the scenario's simulated start), interns the zones leads are in, and answers
//! [`Compliance::gate`] for a lead at an instant. It memoises the current window per zone, so a
//! dial costs a comparison, not a time-zone conversion, until the window changes; the memo
//! gives the same answers as the pure functions (tested).
//!
//! No clock is read and nothing is written here: time comes in as an argument.

pub mod dnc;
pub mod hours;
pub mod phone;
pub mod rules;

use crate::domain::PhoneNumber;
use crate::time::{SimDuration, SimTime};
use dnc::DncList;
use hours::{CallingHours, Window, ZoneSet};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::BTreeMap;

/// A zone set interned by [`Compliance::intern_zone`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZoneId(pub u16);

/// What the rules say about dialing a lead now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    Dial,
    /// Not now: the lead may be dialed from this time on (its window opens, or its next day).
    DeferUntil(SimTime),
    /// The lead's window never opens within the search horizon (every day a holiday): it is
    /// kept, undialed.
    NoWindow,
    /// The number is on the do-not-call list.
    DoNotCall,
}

/// What one zone's memo holds: an answer valid for engine times in `[from, to)`.
#[derive(Clone, Copy, Debug)]
struct Memo {
    from: SimTime,
    to: SimTime,
    open: bool,
}

/// The local calendar day a memo covers: `[start, end)` in engine time, and its number.
#[derive(Clone, Copy, Debug)]
struct DayMemo {
    start: SimTime,
    end: SimTime,
    day: i32,
}

/// Calling hours, the DNC list and the zones of a campaign's leads.
#[derive(Clone, Debug)]
pub struct Compliance {
    /// The real instant of engine time zero.
    epoch: Timestamp,
    /// `None`: no calling-hours restriction.
    hours: Option<CallingHours>,
    zones: Vec<ZoneSet>,
    zone_names: BTreeMap<String, ZoneId>,
    default_zone: ZoneId,
    window_memo: Vec<Option<Memo>>,
    day_memo: Vec<Option<DayMemo>>,
    pub dnc: DncList,
}

impl Compliance {
    /// Rules for a campaign whose engine time zero is `epoch`; leads without a zone are in
    /// `default_zone` (`name` is how it is shown).
    pub fn new(
        epoch: Timestamp,
        hours: Option<CallingHours>,
        default_zone: (&str, TimeZone),
    ) -> Compliance {
        let mut compliance = Compliance {
            epoch,
            hours,
            zones: Vec::new(),
            zone_names: BTreeMap::new(),
            default_zone: ZoneId(0),
            window_memo: Vec::new(),
            day_memo: Vec::new(),
            dnc: DncList::new(),
        };
        compliance.default_zone =
            compliance.intern_zone(default_zone.0, || ZoneSet::one(default_zone.1.clone()));
        compliance
    }

    /// The id of the zone set known as `name`, making it with `make` the first time.
    pub fn intern_zone(&mut self, name: &str, make: impl FnOnce() -> ZoneSet) -> ZoneId {
        if let Some(id) = self.zone_names.get(name) {
            return *id;
        }
        let id = ZoneId(self.zones.len() as u16);
        self.zones.push(make());
        self.zone_names.insert(name.to_string(), id);
        self.window_memo.push(None);
        self.day_memo.push(None);
        id
    }

    /// The zone set a stored lead or a run's trace names: an IANA zone (`America/New_York`) or
    /// a region's zones (`region:US`, see [`region_zone_name`]). `None` for a name this build
    /// does not know.
    pub fn intern_named_zone(&mut self, name: &str) -> Option<ZoneId> {
        let set = match name.strip_prefix("region:") {
            Some(region) => ZoneSet(
                phone::zones_of_region(region)?
                    .iter()
                    .filter_map(|zone| hours::zone(zone).ok())
                    .collect(),
            ),
            None => ZoneSet::one(hours::zone(name).ok()?),
        };
        Some(self.intern_zone(name, || set))
    }

    /// The name `zone` was interned under (`None` for an id this campaign did not make).
    pub fn zone_name(&self, zone: ZoneId) -> Option<&str> {
        self.zone_names
            .iter()
            .find(|(_, id)| **id == zone)
            .map(|(name, _)| name.as_str())
    }

    /// Moves engine time zero to `epoch` (a replay takes the recorded run's); the memos start
    /// again.
    pub fn rebase(&mut self, epoch: Timestamp) {
        self.epoch = epoch;
        self.window_memo.iter_mut().for_each(|memo| *memo = None);
        self.day_memo.iter_mut().for_each(|memo| *memo = None);
    }

    pub fn default_zone(&self) -> ZoneId {
        self.default_zone
    }

    pub fn epoch(&self) -> Timestamp {
        self.epoch
    }

    pub fn hours(&self) -> Option<&CallingHours> {
        self.hours.as_ref()
    }

    /// The real instant of an engine time.
    pub fn instant(&self, at: SimTime) -> Timestamp {
        let micros = i64::try_from(at.as_micros()).unwrap_or(i64::MAX);
        self.epoch
            .checked_add(jiff::SignedDuration::from_micros(micros))
            .unwrap_or(Timestamp::MAX)
    }

    /// The engine time of a real instant (zero if it is before the epoch).
    pub fn engine_time(&self, instant: Timestamp) -> SimTime {
        let micros = instant.as_microsecond() - self.epoch.as_microsecond();
        SimTime(u64::try_from(micros).unwrap_or(0))
    }

    /// Whether the calling window is open for a lead in `zone` at `now`, and until when; or
    /// when it opens. Memoised per zone.
    pub fn window(&mut self, zone: ZoneId, now: SimTime) -> Gate {
        let Some(hours) = &self.hours else {
            return Gate::Dial;
        };
        let index = zone.0 as usize;
        if let Some(memo) = self.window_memo[index]
            && memo.from <= now
            && now < memo.to
        {
            return if memo.open {
                Gate::Dial
            } else {
                Gate::DeferUntil(memo.to)
            };
        }
        let instant = self.instant(now);
        let (memo, gate) = match hours.window_in_all(&self.zones[index], instant) {
            Window::Open { until } => {
                let to = self.engine_time(until);
                (
                    Memo {
                        from: now,
                        to,
                        open: true,
                    },
                    Gate::Dial,
                )
            }
            Window::Closed { opens: Some(opens) } => {
                let to = self.engine_time(opens).max(now + SimDuration(1));
                (
                    Memo {
                        from: now,
                        to,
                        open: false,
                    },
                    Gate::DeferUntil(to),
                )
            }
            Window::Closed { opens: None } => (
                Memo {
                    from: now,
                    to: SimTime(u64::MAX),
                    open: false,
                },
                Gate::NoWindow,
            ),
        };
        self.window_memo[index] = Some(memo);
        gate
    }

    /// The lead's local calendar day at `now` (days since 1970-01-01 in its primary zone) and
    /// when the next one starts. Memoised per zone.
    pub fn local_day(&mut self, zone: ZoneId, now: SimTime) -> (i32, SimTime) {
        let index = zone.0 as usize;
        if let Some(memo) = self.day_memo[index]
            && memo.start <= now
            && now < memo.end
        {
            return (memo.day, memo.end);
        }
        let tz = self.zones[index].primary().clone();
        let local = tz.to_datetime(self.instant(now)).date();
        let day = self.day_number(zone, self.instant(now));
        let start = tz
            .to_ambiguous_timestamp(local.to_datetime(jiff::civil::Time::MIN))
            .earlier()
            .map(|start| self.engine_time(start))
            .unwrap_or(now);
        let end = local
            .tomorrow()
            .ok()
            .and_then(|next| {
                tz.to_ambiguous_timestamp(next.to_datetime(jiff::civil::Time::MIN))
                    .earlier()
                    .ok()
            })
            .map(|end| self.engine_time(end))
            .unwrap_or(SimTime(u64::MAX))
            .max(now + SimDuration(1));
        self.day_memo[index] = Some(DayMemo {
            start: start.min(now),
            end,
            day,
        });
        (day, end)
    }

    /// The local calendar day of a real instant in `zone` (days since 1970-01-01 in its
    /// primary zone). Pure: no memo.
    pub fn day_number(&self, zone: ZoneId, instant: Timestamp) -> i32 {
        let local = self.zones[zone.0 as usize]
            .primary()
            .to_datetime(instant)
            .date();
        local
            .duration_since(jiff::civil::Date::constant(1970, 1, 1))
            .as_secs()
            .div_euclid(86_400) as i32
    }

    /// What the DNC list and calling hours say about dialing `number` in `zone` at `now`.
    pub fn gate(&mut self, number: &PhoneNumber, zone: ZoneId, now: SimTime) -> Gate {
        if self.dnc.contains(number) {
            return Gate::DoNotCall;
        }
        self.window(zone, now)
    }

    /// True if this campaign restricts anything: calling hours or a DNC list.
    pub fn restricts(&self) -> bool {
        self.hours.is_some() || !self.dnc.is_empty()
    }
}

/// The name a region's zone set is interned under (see [`Compliance::intern_named_zone`]).
pub fn region_zone_name(region: &str) -> String {
    format!("region:{}", region.trim().to_ascii_uppercase())
}

/// The instant for `text`, an RFC 3339 timestamp with an offset, or a civil time with a zone
/// name in brackets (`2026-03-08T01:00:00-05:00`, `2026-03-08T01:00[America/New_York]`).
pub fn parse_instant(text: &str) -> Result<Timestamp, String> {
    if let Ok(ts) = text.trim().parse::<Timestamp>() {
        return Ok(ts);
    }
    text.trim()
        .parse::<jiff::ZonedDateTime>()
        .map(|zoned| zoned.timestamp())
        .map_err(|_| {
            format!(
                "`{text}` is not an instant; write it like \"2026-03-08T06:00:00Z\", \"2026-03-08T01:00:00-05:00\" or \"2026-03-08T01:00[America/New_York]\""
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::Time;

    fn ny() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    #[test]
    fn engine_time_maps_to_instants_and_back() {
        let epoch: Timestamp = "2026-03-08T06:00:00Z".parse().unwrap();
        let c = Compliance::new(epoch, None, ("America/New_York", ny()));
        let t = SimTime::from_secs(3600);
        assert_eq!(c.instant(t).to_string(), "2026-03-08T07:00:00Z");
        assert_eq!(c.engine_time(c.instant(t)), t);
        assert_eq!(
            c.engine_time("2020-01-01T00:00:00Z".parse().unwrap()),
            SimTime::ZERO
        );
    }

    #[test]
    fn the_memo_agrees_with_the_pure_window_over_a_fortnight() {
        // 2026-03-08 is the US spring-forward day; 2026-03-29 the EU one.
        let epoch: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        let hours =
            CallingHours::new(Time::constant(8, 0, 0, 0), Time::constant(21, 0, 0, 0)).unwrap();
        let mut c = Compliance::new(epoch, Some(hours.clone()), ("America/New_York", ny()));
        let london = c.intern_zone("Europe/London", || {
            ZoneSet::one(TimeZone::get("Europe/London").unwrap())
        });
        let ny_zone = c.default_zone();
        let mut t = SimTime::ZERO;
        while t < SimTime::from_secs(31 * 86_400) {
            for zone in [ny_zone, london] {
                let memo = c.window(zone, t);
                let pure = match hours.window_in_all(&c.zones[zone.0 as usize], c.instant(t)) {
                    Window::Open { .. } => Gate::Dial,
                    Window::Closed { opens: Some(o) } => Gate::DeferUntil(c.engine_time(o)),
                    Window::Closed { opens: None } => Gate::NoWindow,
                };
                assert_eq!(memo, pure, "zone {zone:?} at {}", c.instant(t));
            }
            t += SimDuration::from_secs(7 * 60 + 13);
        }
    }

    #[test]
    fn local_days_follow_the_zone() {
        let epoch: Timestamp = "2026-03-08T04:59:00Z".parse().unwrap(); // 23:59 EST on the 7th
        let mut c = Compliance::new(epoch, None, ("America/New_York", ny()));
        let zone = c.default_zone();
        let (day, next) = c.local_day(zone, SimTime::ZERO);
        assert_eq!(next, SimTime::from_secs(60));
        let (after, following) = c.local_day(zone, SimTime::from_secs(60));
        assert_eq!(after, day + 1);
        // The 8th is 23 hours long in New York (spring forward).
        assert_eq!(following, SimTime::from_secs(60 + 23 * 3600));
    }

    #[test]
    fn dnc_numbers_are_never_dialed() {
        let mut c = Compliance::new(Timestamp::UNIX_EPOCH, None, ("UTC", TimeZone::UTC));
        let number = PhoneNumber("+12015550123".into());
        let zone = c.default_zone();
        assert_eq!(c.gate(&number, zone, SimTime::ZERO), Gate::Dial);
        c.dnc.add(number.clone());
        assert_eq!(c.gate(&number, zone, SimTime::ZERO), Gate::DoNotCall);
        c.dnc.remove(&number);
        assert_eq!(c.gate(&number, zone, SimTime::ZERO), Gate::Dial);
    }
}
