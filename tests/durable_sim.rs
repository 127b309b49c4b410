//! Compliance and the journal in simulation (`scenarios/compliance.toml`): every dial falls in
//! the callee's own calling window across the US DST change and a holiday, DNC numbers are
//! never dialed, no lead gets more than two attempts on a local day or is redialed within 72
//! hours of an abandon, every attempt is journaled before it is placed, and a journal that
//! cannot write stops the campaign before any call is placed.

use dialer::campaign::supervisor::JournalSetup;
use dialer::domain::AttemptId;
use dialer::journal::memory::MemoryJournal;
use dialer::runtime::{SimulationOptions, simulate_with_journal};
use dialer::scenario::Scenario;
use dialer::sim::switch::Quiescence;
use dialer::trace::TraceSink;
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::rc::Rc;

const ZONES: [&str; 4] = [
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Sydney",
];

/// A writer the test can read after the run.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `compliance.toml` with its abandon guard off: the guard keeps abandons so rare that the
/// 72-hour lockout after an abandon would hardly be exercised.
fn scenario() -> Scenario {
    Scenario::load(
        std::path::Path::new("scenarios/compliance.toml"),
        &["pacing.abandon.guard=false".to_string()],
    )
    .unwrap()
}

fn options() -> SimulationOptions {
    SimulationOptions {
        quiescence: Quiescence::MailCount,
        ..SimulationOptions::default()
    }
}

struct Dial {
    lead: u64,
    callee: String,
    at: Timestamp,
}

#[test]
fn the_rules_hold_for_every_dial_of_a_simulated_week() {
    let scenario = scenario();
    let buffer = Shared::default();
    let journal = MemoryJournal::keeping_all();
    let log = journal.log();
    let run = simulate_with_journal(
        &scenario,
        scenario.seed,
        TraceSink::writing_to(Box::new(buffer.clone())),
        options(),
        JournalSetup {
            journal: Box::new(journal),
            first_attempt: AttemptId(1),
        },
    )
    .unwrap();
    let text = String::from_utf8(buffer.0.borrow().clone()).unwrap();
    let start = scenario.start;
    let mut dials: BTreeMap<u64, Dial> = BTreeMap::new();
    let mut outcomes: Vec<(u64, String, Timestamp)> = Vec::new();
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let at = start
            .checked_add(jiff::SignedDuration::from_micros(
                record["t_us"].as_i64().unwrap(),
            ))
            .unwrap();
        match record["kind"].as_str().unwrap() {
            "dial" => {
                dials.insert(
                    record["attempt"].as_u64().unwrap(),
                    Dial {
                        lead: record["lead"].as_u64().unwrap(),
                        callee: record["callee"].as_str().unwrap().to_string(),
                        at,
                    },
                );
            }
            "outcome" => outcomes.push((
                record["attempt"].as_u64().unwrap(),
                record["outcome"].as_str().unwrap().to_string(),
                at,
            )),
            _ => {}
        }
    }
    assert!(dials.len() > 400, "the week should see hundreds of dials");
    let holiday = Date::constant(2026, 3, 10);
    let mut per_day: BTreeMap<(u64, Date), u32> = BTreeMap::new();
    let mut zones_dialed = [0u32; 4];
    let mut across_dst = false;
    for dial in dials.values() {
        let zone_index = (dial.lead % 4) as usize;
        let zone = TimeZone::get(ZONES[zone_index]).unwrap();
        let local = zone.to_datetime(dial.at);
        assert!(
            local.time() >= Time::constant(8, 0, 0, 0)
                && local.time() < Time::constant(21, 0, 0, 0),
            "lead {} dialed at {local} local time in {}",
            dial.lead,
            ZONES[zone_index]
        );
        assert_ne!(
            local.date(),
            holiday,
            "lead {} dialed on the holiday",
            dial.lead
        );
        assert!(
            !["+15550000003", "+15550000010", "+15550000101"].contains(&dial.callee.as_str()),
            "{} is on the DNC list",
            dial.callee
        );
        *per_day.entry((dial.lead, local.date())).or_default() += 1;
        zones_dialed[zone_index] += 1;
        if zone_index == 0 && local.date() == Date::constant(2026, 3, 8) {
            across_dst = true;
        }
    }
    assert!(
        zones_dialed.iter().all(|count| *count > 50),
        "{zones_dialed:?}"
    );
    assert!(across_dst, "New York leads are dialed on the DST day");
    assert!(
        per_day.values().all(|count| *count <= 2),
        "at most two attempts a local day"
    );
    let mut per_lead: BTreeMap<u64, Vec<Timestamp>> = BTreeMap::new();
    for dial in dials.values() {
        per_lead.entry(dial.lead).or_default().push(dial.at);
    }
    assert!(per_lead.values().all(|times| times.len() <= 5));
    // After an abandon, the lead's next dial is 72 hours later or more.
    let mut abandons = 0;
    for (attempt, outcome, at) in &outcomes {
        if outcome != "abandoned_in_queue" {
            continue;
        }
        abandons += 1;
        let lead = dials[attempt].lead;
        for next in &per_lead[&lead] {
            if next > at {
                assert!(
                    next.duration_since(*at) >= jiff::SignedDuration::from_hours(72),
                    "lead {lead} redialed {} after an abandon",
                    next.duration_since(*at)
                );
            }
        }
    }
    assert!(abandons > 5, "the scenario should abandon calls");
    // Everything was journaled: each dial before it was placed, and each outcome.
    let engine = run.outcome.engine.expect("the campaign finished");
    assert_eq!(engine.journal_error, None);
    assert_eq!(engine.leads.do_not_call, 3);
    log.read(|journal| {
        assert_eq!(journal.started, dials.len() as u64);
        assert_eq!(journal.ended, outcomes.len() as u64);
        assert!(journal.open_attempts().is_empty());
        assert_eq!(journal.set_aside.len(), 3);
        assert_eq!(
            journal.abandon_events.len() as u64,
            engine.outcomes.iter().sum::<u64>()
                - engine.outcomes[dialer::domain::Outcome::NoAnswer.index()]
                - engine.outcomes[dialer::domain::Outcome::Busy.index()]
        );
        // Same order: the journal's attempts are the trace's dials.
        let journaled: Vec<u64> = journal
            .ended_attempts
            .iter()
            .map(|a| a.attempt.0)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(journaled, dials.keys().copied().collect::<Vec<_>>());
    });
}

#[test]
fn a_journal_that_cannot_write_stops_the_campaign_before_any_call() {
    let scenario = scenario();
    let run = simulate_with_journal(
        &scenario,
        scenario.seed,
        TraceSink::hashing_only(),
        options(),
        JournalSetup {
            journal: Box::new(MemoryJournal::failing()),
            first_attempt: AttemptId(1),
        },
    )
    .unwrap();
    let engine = run.outcome.engine.expect("the campaign finished");
    assert_eq!(engine.tally.attempts, 0);
    assert!(engine.journal_error.is_some());
    // The switch never saw an originate.
    assert_eq!(run.outcome.truth.tally.attempts, 0);
}
