//! A stored campaign that dies mid-run and resumes, in process: the engine runs against the
//! simulated switch with the SQLite journal; at a chosen commit the journal "dies" (nothing
//! more reaches the store and no further dial is allowed, as when the process is killed), and a
//! second run prepares the campaign again from the store. Every dial placed was journaled
//! first, the attempts left in flight become `unknown` (never blindly redialed), no lead is
//! lost, and no lead gets more attempts than the policy allows.
//!
//! The SIGKILL test of a live campaign against the fake PortaSwitch (issue 3's `dialer run`)
//! builds on the same pieces; see the README.

use dialer::call::machine::AttemptRecord;
use dialer::campaign::hopper::{RedialPolicy, RedialRule};
use dialer::campaign::supervisor::JournalSetup;
use dialer::compliance::hours::CallingHours;
use dialer::compliance::rules::LeadFate;
use dialer::domain::{AppState, AttemptId, LeadId, PhoneNumber};
use dialer::journal::{AbandonEvent, AttemptStarted, Journal, JournalError, SetAsideReason};
use dialer::runtime::{SimulationOptions, simulate_campaign};
use dialer::scenario::Scenario;
use dialer::sim::switch::Quiescence;
use dialer::store::{Durability, NewLead, RunSettings, Store, prepare_run};
use dialer::time::{SimDuration, SimTime};
use dialer::trace::TraceSink;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::cell::Cell;
use std::rc::Rc;

const WORLD: &str = r#"
[scenario]
name = "resume-world"
seed = 3
[agents]
count = 3
wrap_up = "5s"
[callees]
patience = { exponential = "10s" }
talk = { exponential = "60s" }
answer = { probability = 0.3, after = { uniform = ["3s", "8s"] } }
no_answer = { probability = 0.4 }
busy = { probability = 0.15, after = "2s" }
machine = { probability = 0.15, after = "4s", detect = "2s" }
[dialing]
ring_timeout = "20s"
dial_until = "72h"
[leads]
count = 1
[pacing]
strategy = "power"
ratio = 2.0
"#;

const LEADS: u64 = 40;
const MAX_ATTEMPTS: u32 = 4;

fn policy() -> RedialPolicy {
    let rule = |minutes: u64, max_attempts| RedialRule {
        delay: SimDuration::from_secs(minutes * 60),
        max_attempts,
    };
    RedialPolicy {
        no_answer: rule(10, 4),
        busy: rule(5, 3),
        machine: rule(30, 2),
        abandoned: rule(60, 2),
        unknown: rule(30, 3),
        max_attempts: Some(MAX_ATTEMPTS),
        ..RedialPolicy::NONE
    }
}

/// A journal that dies after `commits` commits: no further dial is allowed and nothing more
/// reaches the store, as when the process is killed.
struct DyingJournal {
    inner: Box<dyn Journal>,
    commits_left: Rc<Cell<u32>>,
}

impl DyingJournal {
    fn dead(&self) -> bool {
        self.commits_left.get() == 0
    }
}

impl Journal for DyingJournal {
    fn attempts_started(&mut self, started: &[AttemptStarted]) -> Result<(), JournalError> {
        if self.dead() {
            return Err(JournalError::Stopped("killed".into()));
        }
        self.commits_left.set(self.commits_left.get() - 1);
        self.inner.attempts_started(started)
    }
    fn call_state(&mut self, attempt: AttemptId, at: SimTime, state: AppState) {
        if !self.dead() {
            self.inner.call_state(attempt, at, state);
        }
    }
    fn attempt_ended(&mut self, record: &AttemptRecord, fate: LeadFate, attempts: u32) {
        if !self.dead() {
            self.inner.attempt_ended(record, fate, attempts);
        }
    }
    fn lead_set_aside(&mut self, lead: LeadId, at: SimTime, reason: SetAsideReason) {
        if !self.dead() {
            self.inner.lead_set_aside(lead, at, reason);
        }
    }
    fn abandon_event(&mut self, event: AbandonEvent) {
        if !self.dead() {
            self.inner.abandon_event(event);
        }
    }
    fn flush(&mut self) -> Result<(), JournalError> {
        // The last commit before the death is on disk; flushing makes sure it has landed.
        self.inner.flush()
    }
}

fn run(
    path: &std::path::Path,
    epoch: Timestamp,
    dies_after: Option<u32>,
) -> (
    dialer::store::RunPlan,
    u64,
    dialer::campaign::supervisor::AbandonReport,
) {
    let world = Scenario::from_toml("resume-world.toml", WORLD, &[]).unwrap();
    let policy = policy();
    let mut plan = prepare_run(
        path,
        "resume",
        RunSettings {
            epoch,
            policy: &policy,
            hours: Some(CallingHours::default()),
            default_zone: (
                "America/New_York",
                TimeZone::get("America/New_York").unwrap(),
            ),
            active: None,
            durability: Durability::Normal,
        },
    )
    .unwrap();
    let mut setup = world.campaign_setup(world.seed);
    setup.leads = plan.leads.clone();
    setup.compliance = Some(plan.compliance.clone());
    setup.prior_answers = plan.prior_answers.clone();
    setup.redial = policy;
    let journal = std::mem::replace(&mut plan.journal, JournalSetup::in_memory());
    let journal = match dies_after {
        None => journal,
        Some(commits) => JournalSetup {
            first_attempt: journal.first_attempt,
            journal: Box::new(DyingJournal {
                inner: journal.journal,
                commits_left: Rc::new(Cell::new(commits)),
            }),
        },
    };
    let options = SimulationOptions {
        quiescence: Quiescence::MailCount,
        ..SimulationOptions::default()
    };
    let result = simulate_campaign(
        &world,
        world.seed,
        TraceSink::hashing_only(),
        options,
        setup,
        journal,
    )
    .unwrap();
    let engine = result.outcome.engine.expect("the campaign finished");
    (plan, engine.tally.attempts, engine.abandon)
}

#[test]
fn a_campaign_killed_mid_run_resumes_without_losing_or_overdialing_a_lead() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dialer.db");
    // 14:00 in New York: open.
    let epoch: Timestamp = "2026-03-02T19:00:00Z".parse().unwrap();
    {
        let mut store = Store::open(&path).unwrap();
        let campaign = store.campaign("resume", epoch).unwrap();
        let leads: Vec<NewLead> = (0..LEADS)
            .map(|lead| NewLead {
                phone: PhoneNumber(format!("+1201555{:04}", 100 + lead).into()),
                time_zone: None,
                region: Some("US".into()),
                priority: 0,
                fields: serde_json::Map::new(),
                source: "test".into(),
            })
            .collect();
        store.insert_leads(campaign, &leads, epoch).unwrap();
        store
            .dnc_add(&PhoneNumber("+12015550105".into()), "test", epoch)
            .unwrap();
    }

    // The first run dies after 20 commits (late enough that calls were answered).
    let (first, placed, _) = run(&path, epoch, Some(20));
    assert_eq!(first.recovery.open, 0);
    assert!(first.prior_answers.is_empty());
    let store = Store::open(&path).unwrap();
    let stored = store.attempts_per_phone(first.campaign).unwrap();
    // Every dial placed was journaled before it was placed.
    assert_eq!(stored.values().sum::<u64>(), placed);
    let in_flight = store.open_attempts(first.campaign).unwrap().len() as u64;
    assert!(in_flight > 0, "the death should leave attempts in flight");

    // The second run starts later, recovers and works the campaign out.
    let later = epoch
        .checked_add(jiff::SignedDuration::from_hours(1))
        .unwrap();
    let (second, _, abandon) = run(&path, later, None);
    assert_eq!(second.recovery.open, in_flight);
    assert_eq!(second.recovery.marked_unknown, in_flight);
    let store = Store::open(&path).unwrap();
    assert!(store.open_attempts(second.campaign).unwrap().is_empty());
    let outcomes = store.outcome_counts(second.campaign).unwrap();
    assert_eq!(outcomes.get("unknown").copied(), Some(in_flight));
    // No lead lost: every lead was worked to an end (or set aside for the DNC list).
    let leads = store.lead_counts(second.campaign).unwrap();
    assert_eq!(leads.values().sum::<u64>(), LEADS);
    assert_eq!(leads.get("dnc").copied(), Some(1));
    assert_eq!(leads.get("done").copied(), Some(LEADS - 1), "{leads:?}");
    // No lead dialed more often than the policy allows, across both runs; the DNC number never.
    let attempts = store.attempts_per_phone(second.campaign).unwrap();
    assert!(
        attempts.values().all(|n| *n <= u64::from(MAX_ATTEMPTS)),
        "{attempts:?}"
    );
    assert!(!attempts.contains_key("+12015550105"));
    assert_eq!(attempts.len() as u64, LEADS - 1);
    // The abandon windows span the restart: the second run started from the first run's
    // answered calls, and ended counting every answered call of both runs.
    assert!(
        !second.prior_answers.is_empty(),
        "the first run answered calls"
    );
    let logged = store
        .abandon_events_since(second.campaign, epoch)
        .unwrap()
        .iter()
        .filter(|event| event.kind != dialer::journal::AbandonKind::Machine)
        .count() as u64;
    assert!(logged > second.prior_answers.len() as u64);
    assert_eq!(abandon.campaign_to_date.live_answers, logged);
    assert_eq!(abandon.rolling_24h.live_answers, logged);
    assert_eq!(abandon.rolling_30d.live_answers, logged);
}
