//! The store and its journal on real SQLite files in temporary directories: migrations, lead
//! import and merging, the DNC list, the writer thread's journal, crash recovery, campaign
//! loading and the abandon log.

use dialer::call::machine::AttemptRecord;
use dialer::campaign::hopper::{PriorStatus, RedialPolicy, RedialRule};
use dialer::compliance::Compliance;
use dialer::compliance::rules::LeadFate;
use dialer::domain::{AppState, AttemptId, LeadId, Outcome, PhoneNumber};
use dialer::journal::recovery::SwitchActiveCalls;
use dialer::journal::{AbandonEvent, AbandonKind, AttemptStarted, Journal, SetAsideReason};
use dialer::store::schema::CURRENT_VERSION;
use dialer::store::{Durability, NewLead, SqliteJournal, Store, StoreError};
use dialer::time::{SimDuration, SimTime};
use jiff::Timestamp;
use jiff::tz::TimeZone;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn number(text: &str) -> PhoneNumber {
    PhoneNumber(text.into())
}

/// Attempts 1 to 3 of leads 0 to 2, started at time zero.
fn three_started() -> Vec<AttemptStarted> {
    (0..3)
        .map(|index| AttemptStarted {
            attempt: AttemptId(index + 1),
            lead: LeadId(index),
            callee: number(&format!("+1201555010{}", index + 1)),
            at: SimTime::ZERO,
        })
        .collect()
}

fn lead(phone: &str, zone: Option<&str>, priority: i32, field: Option<(&str, &str)>) -> NewLead {
    let mut fields = serde_json::Map::new();
    if let Some((key, value)) = field {
        fields.insert(key.into(), value.into());
    }
    NewLead {
        phone: number(phone),
        time_zone: zone.map(Into::into),
        region: Some("US".into()),
        priority,
        fields,
        source: "test".into(),
    }
}

fn record(attempt: u64, lead: u64, callee: &str, outcome: Outcome, ended: u64) -> AttemptRecord {
    AttemptRecord {
        attempt: AttemptId(attempt),
        lead: LeadId(lead),
        callee: number(callee),
        outcome,
        dialed_at: SimTime::ZERO,
        answered_at: None,
        queued_at: None,
        agent_at: None,
        ended_at: SimTime::from_secs(ended),
        talk: SimDuration::ZERO,
        switch_call: None,
        tracking_id: None,
        reason: None,
        reason_code: None,
    }
}

fn compliance(epoch: &str) -> Compliance {
    Compliance::new(
        ts(epoch),
        None,
        (
            "America/New_York",
            TimeZone::get("America/New_York").unwrap(),
        ),
    )
}

#[test]
fn a_new_store_is_migrated_in_wal_mode_and_a_newer_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dialer.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
    drop(store);
    // Reopening applies nothing twice.
    assert_eq!(
        Store::open(&path).unwrap().schema_version().unwrap(),
        CURRENT_VERSION
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    match Store::open(&path) {
        Err(StoreError::NewerSchema { found: 99, .. }) => {}
        Err(other) => panic!("expected a newer-schema error, got {other}"),
        Ok(_) => panic!("a store from a newer dialer must be refused"),
    }
}

#[test]
fn leads_with_a_known_number_are_merged_not_duplicated() {
    let mut store = Store::open_in_memory().unwrap();
    let now = ts("2026-03-01T12:00:00Z");
    let campaign = store.campaign("spring", now).unwrap();
    assert_eq!(store.campaign("spring", now).unwrap(), campaign);
    let first = store
        .insert_leads(
            campaign,
            &[
                lead("+12015550123", None, 1, Some(("name", "Ann"))),
                lead("+12015550124", Some("America/Chicago"), 0, None),
            ],
            now,
        )
        .unwrap();
    assert_eq!((first.inserted, first.merged), (2, 0));
    let second = store
        .insert_leads(
            campaign,
            &[
                lead(
                    "+12015550123",
                    Some("America/New_York"),
                    7,
                    Some(("name", "Other")),
                ),
                lead("+12015550125", None, 0, None),
            ],
            now,
        )
        .unwrap();
    assert_eq!((second.inserted, second.merged), (1, 1));
    let mut compliance = compliance("2026-03-02T15:00:00Z");
    let loaded = store.load_campaign("spring", &mut compliance).unwrap();
    assert_eq!(loaded.leads.0.len(), 3);
    let ann = &loaded.leads.0[0];
    // The first values stand, what was missing is filled, the priority is the higher.
    assert_eq!(ann.priority, 7);
    assert!(ann.zone.is_some());
    assert_eq!(store.lead_counts(campaign).unwrap()["new"], 3);
}

#[test]
fn the_dnc_list_is_edited_through_the_store() {
    let mut store = Store::open_in_memory().unwrap();
    let now = ts("2026-03-01T12:00:00Z");
    assert!(store.dnc_add(&number("+12015550123"), "test", now).unwrap());
    assert!(!store.dnc_add(&number("+12015550123"), "test", now).unwrap());
    assert_eq!(
        store
            .dnc_add_all(
                &[number("+12015550124"), number("+12015550123")],
                "file",
                now
            )
            .unwrap(),
        1
    );
    assert!(store.dnc_contains(&number("+12015550124")).unwrap());
    assert!(store.dnc_remove(&number("+12015550124")).unwrap());
    assert!(!store.dnc_remove(&number("+12015550124")).unwrap());
    assert_eq!(store.dnc_list().unwrap(), [number("+12015550123")]);
    // A campaign loaded to run carries the list into its rules.
    let campaign = store.campaign("c", now).unwrap();
    store
        .insert_leads(campaign, &[lead("+12015550125", None, 0, None)], now)
        .unwrap();
    let mut rules = compliance("2026-03-02T15:00:00Z");
    store.load_campaign("c", &mut rules).unwrap();
    assert!(rules.dnc.contains(&number("+12015550123")));
}

/// A campaign of three leads in a store on disk, and its journal.
fn campaign_on_disk(dir: &std::path::Path, epoch: &str) -> (Store, dialer::store::LoadedCampaign) {
    let path = dir.join("dialer.db");
    let mut store = Store::open(&path).unwrap();
    let campaign = store.campaign("c", ts(epoch)).unwrap();
    store
        .insert_leads(
            campaign,
            &[
                lead("+12015550101", Some("America/New_York"), 0, None),
                lead("+12015550102", Some("America/New_York"), 0, None),
                lead("+12015550103", Some("America/New_York"), 0, None),
            ],
            ts(epoch),
        )
        .unwrap();
    let loaded = store.load_campaign("c", &mut compliance(epoch)).unwrap();
    (store, loaded)
}

#[test]
fn the_journal_commits_attempts_before_returning_and_records_outcomes_and_fates() {
    let dir = tempfile::tempdir().unwrap();
    let epoch = "2026-03-02T15:00:00Z";
    let (store, loaded) = campaign_on_disk(dir.path(), epoch);
    let mut journal = SqliteJournal::start(
        &store.path(),
        loaded.id,
        ts(epoch),
        loaded.lead_rows.clone(),
        Durability::Normal,
    )
    .unwrap();
    let started = [
        AttemptStarted {
            attempt: AttemptId(1),
            lead: LeadId(0),
            callee: number("+12015550101"),
            at: SimTime::from_secs(1),
        },
        AttemptStarted {
            attempt: AttemptId(2),
            lead: LeadId(1),
            callee: number("+12015550102"),
            at: SimTime::from_secs(1),
        },
    ];
    journal.attempts_started(&started).unwrap();
    // Committed when it returns: another connection sees both attempts in flight.
    assert_eq!(store.open_attempts(loaded.id).unwrap().len(), 2);
    journal.call_state(AttemptId(1), SimTime::from_secs(2), AppState::Ringing);
    journal.attempt_ended(
        &record(1, 0, "+12015550101", Outcome::NoAnswer, 30),
        LeadFate::RedialAt(SimTime::from_secs(630)),
        1,
    );
    journal.abandon_event(AbandonEvent {
        at: SimTime::from_secs(40),
        attempt: AttemptId(2),
        kind: AbandonKind::LiveAbandoned,
        answered_at: SimTime::from_secs(25),
        reached_queue: true,
        wait_for_agent: None,
        abandoned_in_queue: true,
    });
    journal.attempt_ended(
        &record(2, 1, "+12015550102", Outcome::AbandonedInQueue, 40),
        LeadFate::Done,
        1,
    );
    journal.lead_set_aside(LeadId(2), SimTime::from_secs(41), SetAsideReason::DoNotCall);
    journal.close().unwrap();

    assert!(store.open_attempts(loaded.id).unwrap().is_empty());
    let outcomes = store.outcome_counts(loaded.id).unwrap();
    assert_eq!(outcomes["no_answer"], 1);
    assert_eq!(outcomes["abandoned_in_queue"], 1);
    let leads = store.lead_counts(loaded.id).unwrap();
    assert_eq!((leads["waiting"], leads["done"], leads["dnc"]), (1, 1, 1));
    let events = store
        .abandon_events_since(loaded.id, ts("2026-03-01T00:00:00Z"))
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].at, ts("2026-03-02T15:00:40Z"));
    assert_eq!(events[0].answered_at, ts("2026-03-02T15:00:25Z"));
    assert!(events[0].reached_queue && events[0].abandoned_in_queue);
    assert_eq!(events[0].wait_for_agent, None);
    // The next run, an hour later, starts its abandon windows with this answer.
    let prior = store
        .prior_answers(loaded.id, ts("2026-03-02T16:00:25Z"))
        .unwrap();
    assert_eq!(
        prior,
        [dialer::pacing::abandon::PriorAnswer {
            age: dialer::time::SimDuration::from_secs(3600),
            reached_queue: true,
            wait_for_agent: None,
            abandoned_in_queue: true,
        }]
    );

    // A new run resumes each lead where it stood; its redial time is kept in real time.
    let mut rules = compliance("2026-03-02T15:05:00Z");
    let resumed = store.load_campaign("c", &mut rules).unwrap();
    assert_eq!(
        resumed.leads.0[0].status,
        PriorStatus::Waiting(SimTime::from_secs(330))
    );
    assert_eq!(resumed.leads.0[0].attempts, 1);
    assert_eq!(resumed.leads.0[0].attempts_today, 1);
    assert_eq!(resumed.leads.0[1].status, PriorStatus::Done);
    assert_eq!(resumed.leads.0[2].status, PriorStatus::DoNotCall);
    assert_eq!(resumed.next_attempt, AttemptId(3));
}

#[test]
fn attempts_in_flight_at_a_crash_are_reconciled_never_redialed_blindly() {
    let dir = tempfile::tempdir().unwrap();
    let epoch = "2026-03-02T15:00:00Z";
    let (mut store, loaded) = campaign_on_disk(dir.path(), epoch);
    {
        let mut journal = SqliteJournal::start(
            &store.path(),
            loaded.id,
            ts(epoch),
            loaded.lead_rows.clone(),
            Durability::Normal,
        )
        .unwrap();
        let started = three_started();
        journal.attempts_started(&started).unwrap();
        // The process dies here: no outcome is ever written.
    }
    let policy = RedialPolicy {
        unknown: RedialRule {
            delay: SimDuration::from_secs(3600),
            max_attempts: 2,
        },
        ..RedialPolicy::NONE
    };
    // The switch still carries the call to the first lead.
    let active = SwitchActiveCalls {
        callees: [number("+12015550101")].into_iter().collect(),
        ..SwitchActiveCalls::default()
    };
    let now = ts("2026-03-02T15:10:00Z");
    let counts = store
        .recover(loaded.id, Some(&active), &policy, now)
        .unwrap();
    assert_eq!(
        (
            counts.open,
            counts.still_on_switch,
            counts.marked_unknown,
            counts.leads_waiting
        ),
        (3, 1, 2, 2)
    );
    assert_eq!(store.open_attempts(loaded.id).unwrap().len(), 1);
    let mut rules = compliance("2026-03-02T15:10:00Z");
    let resumed = store.load_campaign("c", &mut rules).unwrap();
    assert_eq!(resumed.leads.0[0].status, PriorStatus::Dialing);
    // Unknown outcomes wait for the rule's delay, counted from the recovery.
    assert_eq!(
        resumed.leads.0[1].status,
        PriorStatus::Waiting(SimTime::from_secs(3600))
    );
    // Without a list, and with the default rule (no redial after an unknown outcome), the
    // last open attempt ends unknown and its lead is done.
    let counts = store
        .recover(loaded.id, None, &RedialPolicy::NONE, now)
        .unwrap();
    assert_eq!(
        (counts.open, counts.marked_unknown, counts.leads_waiting),
        (1, 1, 0)
    );
    assert_eq!(store.outcome_counts(loaded.id).unwrap()["unknown"], 3);
}

/// Three attempts in flight when the process dies; the switch had named the first two (a call id
/// may hold a `/`), the third's originate was still on its way.
fn three_in_flight_two_named(
    dir: &std::path::Path,
    epoch: &str,
) -> (Store, dialer::store::LoadedCampaign) {
    use dialer::switch::CallRef;
    let (store, loaded) = campaign_on_disk(dir, epoch);
    let mut journal = SqliteJournal::start(
        &store.path(),
        loaded.id,
        ts(epoch),
        loaded.lead_rows.clone(),
        Durability::Normal,
    )
    .unwrap();
    assert!(journal.keeps_switch_calls());
    let started = three_started();
    journal.attempts_started(&started).unwrap();
    let call = |id: &str, tag: &str| CallRef {
        id: id.into(),
        tag: tag.into(),
    };
    journal.switch_call(AttemptId(1), &call("a1@10.0.0.1", "t1"), "trk1");
    journal.switch_call(AttemptId(2), &call("b/2", "t2"), "trk2");
    journal.flush().unwrap();
    // The process dies here.
    drop(journal);
    (store, loaded)
}

/// Reads one attempt's `switch_call`, `tracking_id` and `reason`.
fn identity_of(store: &Store, attempt: u64) -> (Option<String>, Option<String>, Option<String>) {
    rusqlite::Connection::open(store.path())
        .unwrap()
        .query_row(
            "SELECT switch_call, tracking_id, reason FROM attempts WHERE attempt = ?1",
            [attempt as i64],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap()
}

/// The journal writes a call's switch identity while the call is up, not only when it ends, so
/// an attempt in flight at a crash carries the call id a restart looks for on the switch's
/// active-call list; an end record without one keeps it.
#[test]
fn switch_call_ids_are_journaled_while_calls_are_up() {
    let dir = tempfile::tempdir().unwrap();
    let epoch = "2026-03-02T15:00:00Z";
    let (store, loaded) = three_in_flight_two_named(dir.path(), epoch);
    let open = store.open_attempts(loaded.id).unwrap();
    let ids: Vec<Option<&str>> = open.iter().map(|a| a.switch_call.as_deref()).collect();
    assert_eq!(ids, [Some("a1@10.0.0.1"), Some("b/2"), None]);
    let (stored, tracking, _) = identity_of(&store, 2);
    assert_eq!(
        (stored.as_deref(), tracking.as_deref()),
        (Some("b/2/t2"), Some("trk2"))
    );
    // The attempt ends later with a record that does not name the call (a lost actor): the
    // identity stays.
    let mut journal = SqliteJournal::start(
        &store.path(),
        loaded.id,
        ts(epoch),
        loaded.lead_rows.clone(),
        Durability::Normal,
    )
    .unwrap();
    journal.attempt_ended(
        &record(2, 1, "+12015550102", Outcome::Unknown, 30),
        LeadFate::Done,
        1,
    );
    journal.close().unwrap();
    let (stored, tracking, _) = identity_of(&store, 2);
    assert_eq!(
        (stored.as_deref(), tracking.as_deref()),
        (Some("b/2/t2"), Some("trk2"))
    );
    assert_eq!(store.open_attempts(loaded.id).unwrap().len(), 2);
}

/// At a restart the switch lists one of the calls in flight (by its journaled call id):
/// `prepare_run` leaves that attempt open, hands it to the next run with that run's lead id,
/// and settles the others as `unknown`; the next run's journal then ends it.
#[test]
fn prepare_run_hands_the_attempts_still_on_the_switch_to_the_next_run() {
    use dialer::journal::recovery::{RECOVERED_GONE, RecoveredAttempt};
    let dir = tempfile::tempdir().unwrap();
    let epoch = "2026-03-02T15:00:00Z";
    let (store, loaded) = three_in_flight_two_named(dir.path(), epoch);
    // The switch lists the second call, and one of someone else's.
    let active = SwitchActiveCalls {
        call_ids: ["b/2".into(), "stranger".into()].into_iter().collect(),
        ..SwitchActiveCalls::default()
    };
    let policy = RedialPolicy::NONE;
    let mut plan = dialer::store::prepare_run(
        &store.path(),
        "c",
        dialer::store::RunSettings {
            epoch: ts("2026-03-02T15:10:00Z"),
            policy: &policy,
            hours: None,
            default_zone: (
                "America/New_York",
                TimeZone::get("America/New_York").unwrap(),
            ),
            active: Some(&active),
            durability: Durability::Normal,
        },
    )
    .unwrap();
    assert_eq!(
        (
            plan.recovery.open,
            plan.recovery.still_on_switch,
            plan.recovery.marked_unknown
        ),
        (3, 1, 2)
    );
    assert_eq!(
        plan.recovered,
        [RecoveredAttempt {
            attempt: AttemptId(2),
            lead: Some(LeadId(1)),
            callee: number("+12015550102"),
            switch_call: Some("b/2".into()),
        }]
    );
    let leads = store.lead_counts(loaded.id).unwrap();
    assert_eq!((leads["dialing"], leads["done"]), (1, 2));
    // The next run ends it once the list no longer carries it.
    let mut ended = record(2, 1, "+12015550102", Outcome::Unknown, 30);
    ended.reason = Some(RECOVERED_GONE.into());
    plan.journal
        .journal
        .attempt_ended(&ended, LeadFate::Done, 1);
    plan.journal.journal.flush().unwrap();
    assert!(store.open_attempts(loaded.id).unwrap().is_empty());
    let (stored, _, reason) = identity_of(&store, 2);
    assert_eq!(stored.as_deref(), Some("b/2/t2"));
    assert_eq!(reason.as_deref(), Some(RECOVERED_GONE));
    assert_eq!(store.lead_counts(loaded.id).unwrap()["done"], 3);
}

#[test]
fn a_failing_journal_refuses_further_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let epoch = "2026-03-02T15:00:00Z";
    let (store, loaded) = campaign_on_disk(dir.path(), epoch);
    let mut journal = SqliteJournal::start(
        &store.path(),
        loaded.id,
        ts(epoch),
        loaded.lead_rows.clone(),
        Durability::Full,
    )
    .unwrap();
    let start = AttemptStarted {
        attempt: AttemptId(1),
        lead: LeadId(0),
        callee: number("+12015550101"),
        at: SimTime::ZERO,
    };
    journal
        .attempts_started(std::slice::from_ref(&start))
        .unwrap();
    // The same attempt id twice breaks a constraint: the write fails, and stays failed.
    assert!(
        journal
            .attempts_started(std::slice::from_ref(&start))
            .is_err()
    );
    let next = AttemptStarted {
        attempt: AttemptId(2),
        ..start
    };
    assert!(journal.attempts_started(&[next]).is_err());
    assert!(journal.flush().is_err());
}

#[test]
fn the_abandon_log_is_read_by_window_and_pruned() {
    let mut store = Store::open_in_memory().unwrap();
    let campaign = store.campaign("c", ts("2026-03-01T00:00:00Z")).unwrap();
    for (at, kind) in [
        ("2026-02-01T10:00:00Z", AbandonKind::LiveConnected),
        ("2026-03-01T10:00:00Z", AbandonKind::LiveAbandoned),
        ("2026-03-02T09:00:00Z", AbandonKind::Machine),
        ("2026-03-02T10:00:00Z", AbandonKind::LiveConnected),
    ] {
        store
            .append_abandon_event(campaign, ts(at), AttemptId(1), kind)
            .unwrap();
    }
    // The last 24 hours at 2026-03-02T12:00Z.
    let day = store
        .abandon_events_since(campaign, ts("2026-03-01T12:00:00Z"))
        .unwrap();
    assert_eq!(
        day.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [AbandonKind::Machine, AbandonKind::LiveConnected]
    );
    // The last 30 days keep the abandon of the 1st, not February's call.
    let month = store
        .abandon_events_since(campaign, ts("2026-01-31T12:00:00Z"))
        .unwrap();
    assert_eq!(month.len(), 4);
    // Rows without the version-2 columns: answered when logged, an agent at once if connected.
    assert_eq!(month[0].answered_at, ts("2026-02-01T10:00:00Z"));
    assert_eq!(
        month[0].wait_for_agent,
        Some(dialer::time::SimDuration::ZERO)
    );
    assert!(month[1].abandoned_in_queue && month[1].wait_for_agent.is_none());
    // Machines are not live answers: three prior answers for the abandon windows.
    assert_eq!(
        store
            .prior_answers(campaign, ts("2026-03-02T12:00:00Z"))
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        store
            .prune_abandon_events(campaign, ts("2026-02-15T00:00:00Z"))
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .abandon_events_since(campaign, ts("2026-01-01T00:00:00Z"))
            .unwrap()
            .len(),
        3
    );
}
