//! Restart reconciliation of a stored live campaign, in process, against the fake PortaSwitch
//! over loopback with a SQLite store on disk.
//!
//! A first run dials two leads whose callees answer at once and talk for 2 s (100 s of the fake
//! world at 50 times real time) and is stopped at once (`StopRequest::Now`, as a crash would
//! leave it) while both calls are up: their attempts stay in flight in the store, each with the
//! switch's call id, journaled as soon as the switch named the call. Then:
//! - with the active-call list available, a second run finds both calls on the list: they are
//!   not marked `unknown` at the start, their leads are not dialed while the calls are up, and
//!   each attempt ends as `unknown` once the list no longer carries its call; its lead then
//!   follows the redial rule for unknown outcomes (here: one more attempt). Meanwhile the agents
//!   talking on them count as busy: with fresh leads to dial at the restart (dialing held by an
//!   admin's pause until the first list has shown both calls talking), the status shows two of
//!   the three agents on calls, and pacing dials for the one idle agent, not for all three;
//! - with the list failing (an injected fault), the second run falls back to marking them
//!   `unknown` at once (never redialed blindly), and says so in its report.

use crate::live::{assert_one_outcome_each, campaign_text, load, traced};
use crate::live_processes::free_port;
use dialer::campaign::feed::{AgentsView, CampaignStatus};
use dialer::campaign::supervisor::{CampaignControl, ask_status};
use dialer::fake_switch::{FakeConfig, FakeSwitchThread, Faults};
use dialer::journal::recovery::{RECOVERED_GONE, UnknownBecause};
use dialer::live::{LiveStatus, RestartList};
use dialer::mail::Mail;
use dialer::runtime::{self, LiveEngine, LiveHooks, LiveRun, StopRequest};
use dialer::scenario::Scenario;
use dialer::store::{NewLead, Store};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

const LEADS: [&str; 2] = ["+12015550101", "+12015550102"];
/// Leads imported after the first run: dialable at once when the second run starts.
const FRESH_LEADS: [&str; 4] = [
    "+12015550103",
    "+12015550104",
    "+12015550105",
    "+12015550106",
];
/// How long each call talks, in real time.
const TALK: Duration = Duration::from_secs(2);

/// Every callee answers after 3 s (60 ms real) and talks 100 s (2 s real); agents to spare.
const WORLD: &str = r#"
[scenario]
name = "restart-world"
seed = 11

[agents]
count = 4

[queue]
entry_delay = "200ms"

[callees]
ringing_after = "1s"
patience = "10m"
talk = "100s"
answer = { probability = 1.0, after = "3s" }

[dialing]
ring_timeout = "20s"

[leads]
count = 10

[pacing]
strategy = "progressive"
"#;

fn fake_switch() -> FakeSwitchThread {
    fake_switch_of(WORLD, 50.0)
}

/// Nobody answers: each call rings for 15 s of the fake world (1.5 s real at 10 times real
/// time), then ends with the switch's no-answer reason.
const NOBODY_ANSWERS: &str = r#"
[scenario]
name = "restart-unanswered"
seed = 11

[agents]
count = 4

[callees]
ringing_after = "1s"
patience = "10m"
talk = "100s"
no_answer = { probability = 1.0 }

[dialing]
ring_timeout = "15s"

[leads]
count = 10

[pacing]
strategy = "progressive"
"#;

fn fake_switch_of(world: &str, time_scale: f64) -> FakeSwitchThread {
    let world = Scenario::from_toml("restart-world.toml", world, &[]).expect("a valid world");
    FakeSwitchThread::spawn(
        FakeConfig::for_scenario(world, time_scale),
        "127.0.0.1:0".parse().unwrap(),
    )
    .expect("the fake switch starts")
}

/// A store with the campaign `restart` and its two leads.
fn store_with_leads(db: &Path) {
    add_leads(db, &LEADS);
}

/// Imports these leads into the campaign `restart` (created if need be).
fn add_leads(db: &Path, phones: &[&str]) {
    let mut store = Store::open(db).unwrap();
    let now = jiff::Timestamp::now();
    let campaign = store.campaign("restart", now).unwrap();
    let leads: Vec<NewLead> = phones
        .iter()
        .map(|phone| NewLead {
            phone: dialer::domain::PhoneNumber((*phone).into()),
            time_zone: None,
            region: None,
            priority: 0,
            fields: Default::default(),
            source: "test".into(),
        })
        .collect();
    store.insert_leads(campaign, &leads, now).unwrap();
}

/// The campaign file: the live tests' campaign, on a fixed webhook port (callbacks for the
/// first run's calls then reach the second run, as they would with a fixed public URL), with
/// the store and the given redial rule for unknown outcomes.
fn campaign(
    api: &str,
    port: u16,
    db: &Path,
    redial_unknown: &str,
) -> dialer::live::campaign::LiveCampaign {
    load(&campaign_file(api, port, db, redial_unknown), &[])
}

/// The text of [`campaign`]'s file.
fn campaign_file(api: &str, port: u16, db: &Path, redial_unknown: &str) -> String {
    campaign_text(api, LEADS.len() as u32).replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    ) + &format!(
        "\n{redial_unknown}\n[store]\npath = \"{}\"\ncampaign = \"restart\"\n",
        db.display()
    )
}

fn run_with(
    campaign: &dialer::live::campaign::LiveCampaign,
    hooks: LiveHooks,
) -> (LiveRun, Vec<Value>) {
    traced(|sink| runtime::run_live_with(campaign, sink, hooks))
}

/// Runs the campaign until both leads' calls are up with their switch ids in the store, then
/// stops it at once: both attempts are left in flight. Returns the open attempts' call ids.
fn first_run_left_in_flight(
    campaign: &dialer::live::campaign::LiveCampaign,
    db: &Path,
) -> Vec<String> {
    let (stop, stop_requests) = tokio::sync::mpsc::unbounded_channel();
    let db_path = db.to_path_buf();
    let watcher = std::thread::spawn(move || {
        let began = Instant::now();
        let conn = rusqlite::Connection::open(&db_path).unwrap();
        loop {
            let named: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM attempts WHERE outcome IS NULL AND switch_call IS NOT NULL",
                    [],
                    |row| row.get(0),
                )
                .unwrap_or(0);
            if named as usize == LEADS.len() || began.elapsed() > Duration::from_secs(20) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = stop.send(StopRequest::Now);
    });
    let hooks = LiveHooks {
        stop: Some(stop_requests),
        ..LiveHooks::default()
    };
    let (run, _records) = run_with(campaign, hooks);
    watcher.join().unwrap();
    // Stopped at once: the campaign never finished, and says it was aborted.
    assert_eq!(run.status, LiveStatus::Aborted);
    // It still reports what it saw: both leads dialed, both calls up, no outcome yet.
    let engine = run
        .engine
        .as_ref()
        .expect("a stop at once still reports the engine's counts");
    assert_eq!(engine.tally.attempts, LEADS.len() as u64);
    assert!(engine.tally.answered <= engine.tally.attempts);
    assert_eq!(
        engine.outcomes.iter().sum::<u64>(),
        0,
        "no attempt ended: {:?}",
        engine.outcomes
    );
    assert_eq!(
        (engine.leads.dialed, engine.leads.dialing, engine.leads.done),
        (LEADS.len() as u64, LEADS.len() as u64, 0),
        "{:?}",
        engine.leads
    );
    assert_eq!(
        attempts(db).len(),
        LEADS.len(),
        "the report counts what was dialed"
    );
    assert_eq!(
        run.restart.as_ref().map(|r| &r.active_calls),
        Some(&RestartList::NotNeeded),
        "a first run has nothing to reconcile"
    );
    let store = Store::open(db).unwrap();
    let id = store.find_campaign("restart").unwrap().unwrap();
    let open = store.open_attempts(id).unwrap();
    assert_eq!(open.len(), LEADS.len(), "both calls were left in flight");
    // The journal kept each call's switch id while the call was up.
    open.into_iter()
        .map(|attempt| {
            attempt
                .switch_call
                .expect("the switch's call id is journaled before the call ends")
                .to_string()
        })
        .collect()
}

struct AttemptRow {
    attempt: i64,
    phone: String,
    started_at: i64,
    ended_at: Option<i64>,
    outcome: Option<String>,
    reason: Option<String>,
}

fn attempts(db: &Path) -> Vec<AttemptRow> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn
        .prepare(
            "SELECT attempt, phone, started_at, ended_at, outcome, reason FROM attempts ORDER BY attempt",
        )
        .unwrap();
    statement
        .query_map([], |row| {
            Ok(AttemptRow {
                attempt: row.get(0)?,
                phone: row.get(1)?,
                started_at: row.get(2)?,
                ended_at: row.get(3)?,
                outcome: row.get(4)?,
                reason: row.get(5)?,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The restarted run's trace starts with its `run_start` records, and a replay of it with the
/// campaign file starts from them: the same leads where they stood (the recovered attempts'
/// leads dialing, the fresh ones new), attempts numbered after the recovered ones, the admin's
/// pause and resume at their times, and the recovered calls followed by the recorded callbacks
/// and lists. So it dials the recorded run's first attempt first, and nearly every attempt ends
/// as recorded: live timing is replayed to the millisecond, and two callbacks a few
/// milliseconds apart may come to pacing together, which can move a dial (4 of 6 in about one
/// run in six of the restart test; without the start records none of the 6 replays).
fn replays_from_where_it_started(
    records: &[Value],
    recovered: &[u64],
    leads: usize,
    orders: u64,
    campaign: &dialer::live::campaign::LiveCampaign,
) {
    assert_eq!(records[0]["kind"], "run_start", "{}", records[0]);
    let text: Vec<String> = records.iter().map(Value::to_string).collect();
    let recording =
        dialer::replay::Recording::parse("restarted.jsonl", &text.join("\n")).expect("a trace");
    assert_eq!(recording.later_run, None);
    let start = recording.run_start.as_ref().expect("its start records");
    let first = recovered.iter().max().expect("recovered attempts") + 1;
    assert_eq!(start.first_attempt.0, first);
    let stored = start.stored.as_ref().expect("a stored campaign's start");
    assert_eq!(stored.leads.len(), leads);
    let mut recovered_at_start: Vec<u64> = stored.recovered.iter().map(|r| r.attempt.0).collect();
    recovered_at_start.sort_unstable();
    assert_eq!(recovered_at_start, recovered);
    let (report, replayed) =
        dialer::replay::replay(&recording, campaign.setup.clone()).expect("a replay");
    assert!(report.finished, "{report:?}");
    let started_from = report
        .started_from
        .as_ref()
        .expect("where the replay started");
    assert_eq!(
        (
            started_from.first_attempt,
            started_from.stored_leads,
            started_from.recovered
        ),
        (first, leads as u64, recovered.len() as u64),
        "{report:?}"
    );
    assert_eq!(started_from.orders, orders, "{report:?}");
    let replayed: Vec<Value> = String::from_utf8_lossy(&replayed)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a replayed record"))
        .collect();
    let dials = |trace: &[Value]| -> Vec<(u64, u64, String)> {
        trace
            .iter()
            .filter(|record| record["kind"] == "dial")
            .map(|dial| {
                (
                    dial["t_us"].as_u64().expect("a time"),
                    dial["attempt"].as_u64().expect("an attempt"),
                    dial["callee"].as_str().expect("a callee").to_string(),
                )
            })
            .collect()
    };
    let (recorded_dials, replayed_dials) = (dials(records), dials(&replayed));
    // Numbered on from the store's attempts, starting with a lead the recorded run dialed
    // first (leads dialed in the same instant may come in either order).
    let first_at = recorded_dials.first().expect("the run dialed").0;
    let dialed_first: Vec<&str> = recorded_dials
        .iter()
        .filter(|(at, _, _)| *at == first_at)
        .map(|(_, _, callee)| callee.as_str())
        .collect();
    let (_, attempt, callee) = replayed_dials.first().expect("the replay dialed");
    assert_eq!(*attempt, first, "{report:?}");
    assert!(
        dialed_first.contains(&callee.as_str()),
        "{callee} dialed first; recorded first: {dialed_first:?}"
    );
    // Both traces go with a failure: where a replay parts from a live run is found in them.
    let lines = |trace: &[Value]| {
        trace
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        report.same_outcome * 3 >= report.recorded_attempts * 2,
        "nearly every outcome replays: {report:?}\nrecorded:\n{}\nreplayed:\n{}",
        text.join("\n"),
        lines(&replayed)
    );
}

/// The second run hears the first run's callbacks (the same webhook URL): each recovered call
/// is seen dequeued to an agent, connected and then terminated, so it ends `completed` by its
/// own callback, and its lead is done, not dialed again.
#[test]
fn calls_still_on_the_switch_at_a_restart_are_watched_and_end_as_their_own_callbacks_say() {
    let (rows, recovered) = restart_with_calls_up(Callbacks::ReachTheSecondRun);
    assert_eq!(
        rows.len(),
        LEADS.len() + FRESH_LEADS.len(),
        "one recovered attempt per lead, one attempt per fresh lead"
    );
    for phone in LEADS {
        let of_lead: Vec<&AttemptRow> = rows.iter().filter(|row| row.phone == phone).collect();
        let [only] = of_lead.as_slice() else {
            panic!("{phone}: {} attempts", of_lead.len());
        };
        assert!(recovered.contains(&(only.attempt as u64)));
        assert_eq!(only.outcome.as_deref(), Some("completed"), "{phone}");
        assert_eq!(only.reason.as_deref(), Some("BYE Received"), "{phone}");
        talked_before_it_ended(only);
    }
}

/// The second run listens on another port, so the first run's callbacks are lost: the list
/// alone follows the recovered calls, and each ends `unknown` once the list no longer carries
/// it; its lead then follows the redial rule for unknown outcomes (one more attempt), and is
/// never dialed while its call is up.
#[test]
fn calls_still_on_the_switch_at_a_restart_that_leave_the_list_unheard_end_unknown_then_are_redialed()
 {
    let (rows, recovered) = restart_with_calls_up(Callbacks::AreLost);
    assert_eq!(
        rows.len(),
        2 * LEADS.len() + FRESH_LEADS.len(),
        "one recovered attempt and one redial per lead, one attempt per fresh lead"
    );
    for phone in LEADS {
        let of_lead: Vec<&AttemptRow> = rows.iter().filter(|row| row.phone == phone).collect();
        let [first, redial] = of_lead.as_slice() else {
            panic!("{phone}: {} attempts", of_lead.len());
        };
        assert!(recovered.contains(&(first.attempt as u64)));
        assert!(first.attempt < redial.attempt);
        assert_eq!(first.outcome.as_deref(), Some("unknown"));
        assert_eq!(first.reason.as_deref(), Some(RECOVERED_GONE));
        let ended = talked_before_it_ended(first);
        // Never dialed again while its call was up.
        assert!(
            redial.started_at >= ended,
            "{phone}: redialed before the end"
        );
        assert_eq!(redial.outcome.as_deref(), Some("completed"));
    }
}

/// Whether the first run's callbacks reach the second run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Callbacks {
    ReachTheSecondRun,
    AreLost,
}

/// A recovered attempt was settled only once its call had really ended (it talked for TALK),
/// not at the start; returns when it ended.
fn talked_before_it_ended(row: &AttemptRow) -> i64 {
    let ended = row.ended_at.expect("the recovered attempt ended");
    assert!(
        ended - row.started_at >= TALK.as_micros() as i64,
        "{}: settled {} ms after its dial",
        row.phone,
        (ended - row.started_at) / 1000
    );
    ended
}

/// A first run left both leads' calls up (talking) and stopped; fresh leads were imported; a
/// second run finds both calls on the list, watches them (their agents counted busy) until they
/// end, and dials the fresh leads (and whatever the rules say for the recovered attempts'
/// leads). Returns the store's attempts and the recovered attempts' numbers.
fn restart_with_calls_up(callbacks: Callbacks) -> (Vec<AttemptRow>, Vec<u64>) {
    let dir = crate::cli::tempdir("restart-listed");
    let fake = fake_switch();
    let db = dir.join("dialer.db");
    store_with_leads(&db);
    let redial_unknown = "[redial.unknown]\ndelay = \"300ms\"\nmax_attempts = 2\n";
    let first_run = campaign(&fake.url(), free_port(), &db, redial_unknown);
    let call_ids = first_run_left_in_flight(&first_run, &db);
    assert_eq!(
        fake.state.live_calls(),
        LEADS.len(),
        "both calls are still up"
    );
    let recovered: Vec<u64> = attempts(&db).iter().map(|row| row.attempt as u64).collect();
    assert_eq!(recovered.len(), LEADS.len());
    add_leads(&db, &FRESH_LEADS);
    let campaign = match callbacks {
        Callbacks::ReachTheSecondRun => first_run,
        // The first run's calls keep calling back to its port, where nobody listens now.
        Callbacks::AreLost => campaign(&fake.url(), free_port(), &db, redial_unknown),
    };

    let restarted = Instant::now();
    let (hooks, probe) = paused_until_the_first_list();
    let (run, records) = run_with(&campaign, hooks);
    assert_eq!(run.status, LiveStatus::Completed);
    status_counted_the_recovered_calls(probe.borrow().as_ref());
    // The list had both calls: nothing was marked unknown at the start.
    let restart = run
        .restart
        .clone()
        .expect("a stored campaign reports its restart");
    assert_eq!(restart.open, 2, "{restart:?}");
    assert!(
        matches!(restart.active_calls, RestartList::Fetched { calls, .. } if calls >= 2),
        "{restart:?}"
    );
    assert_eq!(
        (restart.still_on_switch, restart.marked_unknown),
        (2, 0),
        "{restart:?}"
    );
    let engine = run.engine.as_ref().expect("the campaign finished");
    let heard = callbacks == Callbacks::ReachTheSecondRun;
    assert_eq!(
        (
            engine.reconcile.recovered,
            engine.reconcile.recovered_settled,
            engine.reconcile.recovered_ended,
        ),
        if heard { (2, 0, 2) } else { (2, 2, 0) },
        "{:?}",
        engine.reconcile
    );
    if heard {
        // The first run's callbacks reached this run (same webhook URL) and were recognised
        // as belonging to recovered attempts, not counted as unknown calls.
        assert!(run.switch.events_recovered >= 2, "{:?}", run.switch);
    } else {
        assert_eq!(run.switch.events_recovered, 0, "{:?}", run.switch);
    }
    assert_eq!(
        engine.anomalies[dialer::call::machine::Anomaly::UnknownCall.index()],
        0
    );
    // This run dialed each fresh lead once, and each recovered attempt's lead once more if its
    // attempt ended unknown; it traced only its own attempts.
    let dialed = FRESH_LEADS.len() + if heard { 0 } else { LEADS.len() };
    assert_eq!(engine.tally.attempts, dialed as u64);
    assert_eq!(assert_one_outcome_each(&records), dialed);
    agents_on_recovered_calls_were_not_dialed_into(&records, &recovered, callbacks);
    // The trace says where this later run started (the store's leads, the recovered attempts,
    // the first attempt's number), so `dialer replay` starts there too and follows it.
    replays_from_where_it_started(
        &records,
        &recovered,
        LEADS.len() + FRESH_LEADS.len(),
        // The admin's pause at the start and resume once the first list came.
        2,
        &campaign,
    );

    let rows = attempts(&db);
    for phone in FRESH_LEADS {
        let of_lead: Vec<&AttemptRow> = rows.iter().filter(|row| row.phone == phone).collect();
        let [only] = of_lead.as_slice() else {
            panic!("{phone}: {} attempts", of_lead.len());
        };
        assert_eq!(only.outcome.as_deref(), Some("completed"), "{phone}");
    }
    let store = Store::open(&db).unwrap();
    let id = store.find_campaign("restart").unwrap().unwrap();
    assert!(store.open_attempts(id).unwrap().is_empty());
    let leads = store.lead_counts(id).unwrap();
    assert_eq!(
        leads.get("done").copied(),
        Some((LEADS.len() + FRESH_LEADS.len()) as u64),
        "{leads:?}"
    );
    assert_eq!(fake.state.live_calls(), 0);
    eprintln!(
        "restart with the list ({callbacks:?}): calls {call_ids:?} watched; second run {:?}",
        restarted.elapsed()
    );
    (rows, recovered)
}

/// Hooks that hold the run's dialing (an admin's pause, sent before the engine's first turn)
/// until the campaign has applied its first active-call list, then resume it; the campaign's
/// status at that moment goes to the returned slot.
fn paused_until_the_first_list() -> (LiveHooks, Rc<RefCell<Option<CampaignStatus>>>) {
    paused_until(|status| status.reconcile.lists > 0)
}

/// Hooks that hold the run's dialing (an admin's pause, sent before the engine's first turn)
/// until the campaign's status meets `ready` (asked every 10 ms, for at most 10 s), then resume
/// it; that status goes to the returned slot (nothing if it never came).
fn paused_until(
    ready: impl Fn(&CampaignStatus) -> bool + 'static,
) -> (LiveHooks, Rc<RefCell<Option<CampaignStatus>>>) {
    let probe = Rc::new(RefCell::new(None));
    let slot = probe.clone();
    let on_engine = move |engine: LiveEngine| {
        let supervisor = engine.supervisor;
        supervisor.do_send(Mail::new(CampaignControl::Pause));
        actix::spawn(async move {
            let began = Instant::now();
            while began.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(10)).await;
                let Some(reply) = ask_status(&supervisor, false).await else {
                    break;
                };
                if ready(&reply.status) {
                    *slot.borrow_mut() = Some(reply.status);
                    break;
                }
            }
            supervisor.do_send(Mail::new(CampaignControl::Resume));
        });
    };
    let hooks = LiveHooks {
        on_engine: Some(Box::new(on_engine)),
        ..LiveHooks::default()
    };
    (hooks, probe)
}

/// The status while dialing was held, once the first list had shown the recovered calls
/// talking: both agents on them are on calls (this run has no call up yet), one is idle.
fn status_counted_the_recovered_calls(status: Option<&CampaignStatus>) {
    let status = status.expect("the campaign applied an active-call list within 10 s");
    assert!(status.admin_paused);
    assert_eq!(status.calls.total(), 0, "{status:?}");
    assert_eq!(
        (
            status.reconcile.recovered,
            status.reconcile.recovered_settled
        ),
        (2, 0),
        "{status:?}"
    );
    assert_eq!(
        status.agents,
        AgentsView {
            logged_in: 3,
            on_calls: 2,
            wrap_up: 0,
            idle: 1
        },
        "{status:?}"
    );
    assert_eq!(
        (status.dials_in_flight, status.queued),
        (0, 0),
        "{status:?}"
    );
    assert!((status.occupancy - 2.0 / 3.0).abs() < 1e-9, "{status:?}");
}

/// Checks the second run's pacing against the recovered calls (`recovered`: their attempt
/// numbers): agents talking on them are never taken for idle.
/// - The first decision (once dialing resumes, after the first list showed both recovered calls
///   connected) counts both as agents on calls and dials for the one idle agent of three:
///   `ceil(1.5 x 1) = 2` dials, where taking all three agents for idle would dial all four fresh
///   leads.
/// - Every decision taken while some recovered calls are talking, by the latest list or a newer
///   callback of theirs, leaves at most the agents they do not hold idle; and each recovered
///   call's "terminated" callback reached the campaign (`recovered_call` records).
fn agents_on_recovered_calls_were_not_dialed_into(
    records: &[Value],
    recovered: &[u64],
    callbacks: Callbacks,
) {
    let count = |value: &Value| value.as_u64().expect("a count") as u32;
    let pacing: Vec<&Value> = records
        .iter()
        .filter(|record| record["kind"] == "pacing" && count(&record["decision"]["dial"]) > 0)
        .collect();
    let first = pacing.first().expect("the second run dialed");
    let snapshot = &first["snapshot"];
    assert_eq!(
        (
            count(&snapshot["agents_logged_in"]),
            count(&snapshot["agents_on_calls"]),
            count(&first["idle_agents"]),
            count(&first["decision"]["dial"]),
        ),
        (3, 2, 1, 2),
        "the first decision after the restart: {first}"
    );
    assert!(
        snapshot["dialable_leads"].as_u64() >= Some(FRESH_LEADS.len() as u64),
        "fresh leads were there to dial: {first}"
    );

    // Where each recovered call stands before each record, as the campaign keeps it: the
    // latest list that carried it, or a newer callback for it (a "terminated" after queued,
    // dequeued or before any list may be the release note's limitation and changes nothing).
    let mut standing: BTreeMap<u64, String> = BTreeMap::new();
    let mut terminated_by_callback = BTreeSet::new();
    let mut seen_talking = false;
    let mut decisions_while_talking = 0;
    for record in records {
        if record["kind"] == "active_calls" {
            // Every list covers the recovered calls: one it does not carry is taken as gone
            // here (the campaign waits for `vanish_after` lists, so it counts at least these).
            standing.clear();
            for call in record["calls"].as_array().expect("listed calls") {
                let attempt = call["attempt"].as_u64().unwrap_or(0);
                if recovered.contains(&attempt) {
                    let state = call["state"].as_str().unwrap_or("unknown").to_string();
                    standing.insert(attempt, state);
                }
            }
        } else if record["kind"] == "recovered_call" {
            let attempt = record["attempt"].as_u64().expect("an attempt");
            assert!(recovered.contains(&attempt), "{record}");
            let state = record["state"].as_str().expect("a state");
            let before = standing.get(&attempt).map(String::as_str);
            let may_be_the_limitation = matches!(before, None | Some("queued" | "dequeued"));
            if state == "terminated" {
                terminated_by_callback.insert(attempt);
                if may_be_the_limitation {
                    continue;
                }
            }
            standing.insert(attempt, state.to_string());
        }
        let talking_on_recovered = standing
            .values()
            .filter(|state| matches!(state.as_str(), "connected" | "dequeued" | "held"))
            .count() as u32;
        seen_talking |= talking_on_recovered > 0;
        if record["kind"] == "pacing" && talking_on_recovered > 0 {
            decisions_while_talking += 1;
            let snapshot = &record["snapshot"];
            let logged_in = count(&snapshot["agents_logged_in"]);
            assert!(
                count(&snapshot["agents_on_calls"]) >= talking_on_recovered.min(logged_in),
                "{talking_on_recovered} agents on recovered calls not counted: {record}"
            );
            assert!(
                count(&record["idle_agents"]) <= logged_in.saturating_sub(talking_on_recovered),
                "an agent on a recovered call taken for idle: {record}"
            );
        }
    }
    // The recovered calls' own callbacks reached the campaign, their end included, unless
    // they were lost.
    let expected = match callbacks {
        Callbacks::ReachTheSecondRun => recovered.len(),
        Callbacks::AreLost => 0,
    };
    assert_eq!(
        terminated_by_callback.len(),
        expected,
        "a \"terminated\" callback for each recovered call heard: {terminated_by_callback:?}"
    );
    assert!(
        seen_talking,
        "the list showed the recovered calls talking to agents"
    );
    assert!(
        decisions_while_talking > 0,
        "pacing decided while the recovered calls were talking"
    );
}

/// The agents talking on the recovered calls are freed when those calls end, and then wrap up
/// (the campaign's assumed wrap-up, 3 s here) before pacing dials for them, as the agents of
/// this run's own calls do. Dialing is held until the recovered calls have ended; the status
/// then shows both agents in wrap-up, and the first decision dials for the one idle agent.
#[test]
fn agents_freed_by_recovered_calls_wrap_up_before_they_are_dialed_for() {
    let dir = crate::cli::tempdir("restart-wrap-up");
    let fake = fake_switch();
    let db = dir.join("dialer.db");
    store_with_leads(&db);
    let file = campaign_file(
        &fake.url(),
        free_port(),
        &db,
        // The recovered attempts' leads are not dialed again: only the fresh ones are.
        "[redial.unknown]\ndelay = \"1s\"\nmax_attempts = 1\n",
    );
    assert!(file.contains("wrap_up = \"100ms\""), "{file}");
    let campaign = load(
        &file.replace("wrap_up = \"100ms\"", "wrap_up = \"3s\""),
        &[],
    );
    first_run_left_in_flight(&campaign, &db);
    add_leads(&db, &FRESH_LEADS);

    // Once a list has shown the recovered calls, and no agent is on a call any more: both ended.
    let (hooks, probe) =
        paused_until(|status| status.reconcile.lists > 0 && status.agents.on_calls == 0);
    let (run, records) = run_with(&campaign, hooks);
    assert_eq!(run.status, LiveStatus::Completed);
    let status = probe
        .borrow()
        .clone()
        .expect("both recovered calls ended within 10 s");
    assert_eq!(
        status.agents,
        AgentsView {
            logged_in: 3,
            on_calls: 0,
            wrap_up: 2,
            idle: 1
        },
        "the two agents freed by the recovered calls wrap up: {status:?}"
    );
    let count = |value: &Value| value.as_u64().expect("a count");
    let first = records
        .iter()
        .find(|record| record["kind"] == "pacing" && count(&record["decision"]["dial"]) > 0)
        .expect("the second run dialed");
    assert_eq!(
        (
            count(&first["snapshot"]["agents_in_wrap_up"]),
            count(&first["idle_agents"]),
            count(&first["decision"]["dial"]),
        ),
        (2, 1, 2),
        "the first decision dials for the one idle agent (ceil(1.5 x 1)), not three: {first}"
    );
    let engine = run.engine.as_ref().expect("the campaign finished");
    assert_eq!(engine.tally.attempts, FRESH_LEADS.len() as u64);
    assert_eq!(assert_one_outcome_each(&records), FRESH_LEADS.len());
}

/// Dials still ringing at a restart end with the outcome their own "terminated" callback gives
/// (no answer, by the switch's reason), not `unknown`, and their leads follow the no-answer
/// redial rule: each is dialed once more.
#[test]
fn dials_still_ringing_at_a_restart_end_as_their_callback_says_and_are_redialed_by_its_rule() {
    let dir = crate::cli::tempdir("restart-ringing");
    let fake = fake_switch_of(NOBODY_ANSWERS, 10.0);
    let db = dir.join("dialer.db");
    store_with_leads(&db);
    let campaign = campaign(
        &fake.url(),
        free_port(),
        &db,
        "[redial.no_answer]\ndelay = \"300ms\"\nmax_attempts = 2\n",
    );
    first_run_left_in_flight(&campaign, &db);
    let recovered: Vec<u64> = attempts(&db).iter().map(|row| row.attempt as u64).collect();

    let (run, records) = run_with(&campaign, LiveHooks::default());
    assert_eq!(run.status, LiveStatus::Completed);
    let restart = run.restart.clone().expect("a restart report");
    assert_eq!(
        (
            restart.open,
            restart.still_on_switch,
            restart.marked_unknown
        ),
        (2, 2, 0),
        "both dials were still ringing at the restart: {restart:?}"
    );
    let engine = run.engine.as_ref().expect("the campaign finished");
    assert_eq!(
        (
            engine.reconcile.recovered,
            engine.reconcile.recovered_ended,
            engine.reconcile.recovered_settled
        ),
        (2, 2, 0),
        "each ended by its own callback, none by the list: {:?}",
        engine.reconcile
    );
    // This run dialed each lead once more, by the no-answer rule.
    assert_eq!(engine.tally.attempts, LEADS.len() as u64);
    assert_eq!(assert_one_outcome_each(&records), LEADS.len());
    let rows = attempts(&db);
    for phone in LEADS {
        let of_lead: Vec<&AttemptRow> = rows.iter().filter(|row| row.phone == phone).collect();
        let [first, redial] = of_lead.as_slice() else {
            panic!("{phone}: {} attempts", of_lead.len());
        };
        assert!(recovered.contains(&(first.attempt as u64)));
        assert_eq!(first.outcome.as_deref(), Some("no_answer"), "{phone}");
        assert_eq!(
            first.reason.as_deref(),
            Some("Temporarily Unavailable"),
            "{phone}"
        );
        assert!(first.ended_at.is_some());
        assert_eq!(redial.outcome.as_deref(), Some("no_answer"), "{phone}");
    }
    let store = Store::open(&db).unwrap();
    let id = store.find_campaign("restart").unwrap().unwrap();
    assert!(store.open_attempts(id).unwrap().is_empty());
    assert_eq!(
        store.lead_counts(id).unwrap().get("done").copied(),
        Some(LEADS.len() as u64),
        "two no-answer attempts each: done"
    );
    // The callbacks that ended them are in the trace, and a replay ends them the same way.
    let ended_by_callback = records
        .iter()
        .filter(|record| record["kind"] == "recovered_call" && record["state"] == "terminated")
        .inspect(|record| assert_eq!(record["reason_code"], 480, "{record}"))
        .count();
    assert_eq!(ended_by_callback, LEADS.len());
    // No orders from outside the engine reached this run.
    replays_from_where_it_started(&records, &recovered, LEADS.len(), 0, &campaign);
}

#[test]
fn without_the_active_call_list_a_restart_marks_calls_in_flight_unknown() {
    let dir = crate::cli::tempdir("restart-no-list");
    let fake = fake_switch();
    let db = dir.join("dialer.db");
    store_with_leads(&db);
    // The default rule for unknown outcomes: no redial.
    let campaign = campaign(&fake.url(), free_port(), &db, "");
    first_run_left_in_flight(&campaign, &db);
    // The list request now fails with a fault, every time.
    fake.state.set_faults(Faults {
        fault_rate: 1.0,
        fault_methods: vec!["CallControl/get_sip_calls_list".into()],
        ..Faults::default()
    });

    let (run, records) = run_with(&campaign, LiveHooks::default());
    assert_eq!(run.status, LiveStatus::Completed);
    let restart = run
        .restart
        .clone()
        .expect("a stored campaign reports its restart");
    assert!(
        matches!(&restart.active_calls, RestartList::Unavailable { reason } if reason.contains("internal_error")),
        "{restart:?}"
    );
    assert_eq!(
        (
            restart.open,
            restart.still_on_switch,
            restart.marked_unknown
        ),
        (2, 0, 2),
        "{restart:?}"
    );
    let report = dialer::live::LiveReport::build("restart", &run);
    assert!(
        report.to_table().contains("no active-call list"),
        "{}",
        report.to_table()
    );
    // Nothing dialed, nothing watched; the calls are still up, but the dialer cannot know.
    let engine = run.engine.as_ref().expect("the campaign finished");
    assert_eq!(engine.tally.attempts, 0);
    assert_eq!(engine.reconcile.recovered, 0);
    assert!(!records.iter().any(|record| record["kind"] == "dial"));
    assert_eq!(fake.state.live_calls(), LEADS.len());

    let rows = attempts(&db);
    assert_eq!(rows.len(), 2, "no lead was dialed again");
    for row in &rows {
        assert_eq!(row.outcome.as_deref(), Some("unknown"));
        assert_eq!(row.reason.as_deref(), Some(UnknownBecause::NoList.as_str()));
    }
    let store = Store::open(&db).unwrap();
    let id = store.find_campaign("restart").unwrap().unwrap();
    assert!(store.open_attempts(id).unwrap().is_empty());
    assert_eq!(store.lead_counts(id).unwrap().get("done").copied(), Some(2));
}
