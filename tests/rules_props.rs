//! Property tests of the hopper under compliance rules: whatever the outcomes, a lead is never
//! dialed outside its calling window, more than the policy's attempts in all or per local day,
//! within the lockout after an abandon, or at all when it is on the DNC list; and no lead is
//! lost: each ends done, set aside, or waiting with a due time.

use dialer::campaign::hopper::{
    Hopper, LeadFate, LeadList, LeadSource, LeadStatus, ListedLead, RedialPolicy, RedialRule,
};
use dialer::compliance::Compliance;
use dialer::compliance::hours::{CallingHours, ZoneSet};
use dialer::domain::{LeadId, Outcome, PhoneNumber};
use dialer::time::{SimDuration, SimTime};
use jiff::civil::Time;
use jiff::tz::TimeZone;
use proptest::prelude::*;
use std::collections::BTreeMap;

const ZONES: [&str; 3] = ["America/New_York", "Europe/London", "Australia/Sydney"];

fn outcome_strategy() -> impl Strategy<Value = Outcome> {
    prop::sample::select(Outcome::ALL.to_vec())
}

fn rule(minutes: u64, max_attempts: u32) -> RedialRule {
    RedialRule {
        delay: SimDuration::from_secs(minutes * 60),
        max_attempts,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_rules_hold_whatever_the_outcomes(
        outcomes in prop::collection::vec(outcome_strategy(), 1..400),
        leads in 1usize..12,
        step_minutes in 1u64..180,
        max_total in 1u32..6,
        max_per_day in 1u32..4,
        // 2026-03-01 .. 2026-04-10: both DST changes of the northern spring, Sydney's autumn one.
        start_hours in 0i64..(40 * 24),
    ) {
        let epoch = jiff::Timestamp::from_second(1_772_323_200 + start_hours * 3600).unwrap();
        let hours = CallingHours::new(Time::constant(8, 0, 0, 0), Time::constant(21, 0, 0, 0)).unwrap();
        let mut compliance = Compliance::new(
            epoch,
            Some(hours.clone()),
            (ZONES[0], TimeZone::get(ZONES[0]).unwrap()),
        );
        let zone_ids: Vec<_> = ZONES
            .iter()
            .map(|name| compliance.intern_zone(name, || ZoneSet::one(TimeZone::get(name).unwrap())))
            .collect();
        let dnc = PhoneNumber("+1000".into());
        compliance.dnc.add(dnc.clone());
        let list = LeadList(
            (0..leads)
                .map(|index| ListedLead {
                    zone: Some(zone_ids[index % ZONES.len()]),
                    ..ListedLead::fresh(PhoneNumber(format!("+100{index}").into()))
                })
                .collect(),
        );
        let lockout = SimDuration::from_secs(72 * 3600);
        let policy = RedialPolicy {
            no_answer: rule(30, 10),
            busy: rule(10, 10),
            machine: rule(120, 10),
            abandoned: rule(60, 10),
            unknown: rule(60, 10),
            max_attempts: Some(max_total),
            max_per_day: Some(max_per_day),
            abandon_lockout: Some(lockout),
        };
        let mut hopper = Hopper::with_compliance(LeadSource::List(list.clone()), policy, Some(compliance.clone()));
        let mut now = SimTime::ZERO;
        let mut dials: BTreeMap<LeadId, Vec<SimTime>> = BTreeMap::new();
        let mut last_abandon: BTreeMap<LeadId, SimTime> = BTreeMap::new();
        for outcome in outcomes {
            now += SimDuration::from_secs(step_minutes * 60);
            let Some((lead, number)) = hopper.take_next(now) else {
                continue;
            };
            prop_assert_ne!(&number, &dnc);
            // Inside the window, in the lead's own zone.
            let zone = TimeZone::get(ZONES[lead.0 as usize % ZONES.len()]).unwrap();
            let local = zone.to_datetime(compliance.instant(now));
            prop_assert!(local.time() >= hours.open && local.time() < hours.close, "dialed at {local}");
            if let Some(abandoned) = last_abandon.get(&lead) {
                prop_assert!(now >= *abandoned + lockout, "redialed within the lockout");
            }
            let times = dials.entry(lead).or_default();
            times.push(now);
            prop_assert!(times.len() as u32 <= max_total);
            let today = local.date();
            let same_day = times
                .iter()
                .filter(|t| zone.to_datetime(compliance.instant(**t)).date() == today)
                .count() as u32;
            prop_assert!(same_day <= max_per_day, "{same_day} attempts on {today}");
            let fate = hopper.on_outcome(lead, outcome, now);
            if RedialPolicy::is_abandon(outcome) {
                last_abandon.insert(lead, now);
                if let LeadFate::RedialAt(at) = fate {
                    prop_assert!(at >= now + lockout);
                }
            }
        }
        // No lead lost: each is fresh, waiting, done or set aside; none is stuck dialing.
        for index in 0..leads {
            let status = hopper.status_of(LeadId(index as u64));
            prop_assert!(status != Some(LeadStatus::Dialing));
        }
    }
}
