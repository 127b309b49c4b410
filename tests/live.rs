//! Live campaigns over loopback: the engine with the PortaSwitch backend against the fake
//! PortaSwitch server, with and without faults, in one process and as separate processes. Every
//! attempt must end with exactly one outcome, no call may be lost, and nothing may panic.
//!
//! The fake switch runs its world 50 times faster than real time, and the campaigns' own times
//! are set to match, so each campaign takes a few seconds.

use dialer::fake_switch::{FakeConfig, FakeSwitchThread, Faults};
use dialer::live::campaign::LiveCampaign;
use dialer::runtime::{self, LiveRun};
use dialer::scenario::Scenario;
use dialer::trace::TraceSink;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

pub const PASSWORD: &str = "secret-password";
pub const WEBHOOK_SECRET: &str = "test-webhook-secret-4f1d2c9a";

/// A small call centre: 3 agents who often miss calls, so the limitation shows.
pub fn world(overrides: &[&str]) -> Scenario {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    Scenario::from_toml("live-test-world.toml", WORLD, &overrides).expect("a valid world")
}

const WORLD: &str = r#"
[scenario]
name = "live-test-world"
seed = 5

[agents]
count = 3
answer_after = { uniform = ["1s", "2s"] }
wrap_up = "5s"
no_answer = 0.15
no_answer_timeout = "8s"
decline = 0.1
decline_after = "2s"

[queue]
entry_delay = "200ms"
max_wait = "90s"

[callees]
ringing_after = "1s"
patience = { exponential = "40s" }
talk = { exponential = "30s" }
answer = { probability = 0.5, after = { uniform = ["2s", "8s"] } }
no_answer = { probability = 0.2 }
busy = { probability = 0.15, after = "2s" }
invalid_number = { probability = 0.05, after = "1s" }
machine = { probability = 0.1, after = "4s", detect = "2s" }

[dialing]
ring_timeout = "20s"

[leads]
count = 100

[pacing]
strategy = "progressive"
"#;

pub fn fake(faults: Faults) -> FakeSwitchThread {
    let mut config = FakeConfig::for_scenario(world(&[]), 50.0);
    config.faults = faults;
    FakeSwitchThread::spawn(config, "127.0.0.1:0".parse().unwrap()).expect("the fake switch starts")
}

/// A campaign against `url` (times are real: the world runs 50 times faster).
pub fn campaign_text(url: &str, leads: u32) -> String {
    format!(
        r#"
[campaign]
name = "live-test"

[switch]
url = "{url}"
login = "dialer"
password = "{PASSWORD}"
customer = 1
auto_attendant = "aa-100"
timeout = "2s"
connect_timeout = "500ms"
connect_retries = 1
probe_interval = "300ms"
unknown_grace = "1s"

[webhook]
listen = "127.0.0.1:0"
secret = "{WEBHOOK_SECRET}"

[reconcile]
interval = "500ms"
suspect_interval = "200ms"
suspect_timeout = "30s"

[agents]
count = 3
wrap_up = "100ms"

[dialing]
# Short calls keep the real-time tests quick; the regulatory floor does not apply here.
ring_timeout = "1s"
allow_short_ring_timeout = true
watchdog_grace = "3s"
deadline = "60s"

[leads]
count = {leads}

[pacing]
strategy = "power"
ratio = 1.5
tick = "200ms"

# These tests exercise the switch seam; pacing stays plain power (no abandon guard).
[pacing.abandon]
guard = false

# The tests run at any hour of the day (the default window is 08:00 to 21:00).
[calling_hours]
open = "00:00"
close = "24:00"
"#
    )
}

pub fn load(text: &str, overrides: &[&str]) -> LiveCampaign {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    LiveCampaign::from_toml("live-test.toml", text, &overrides, &|_| None)
        .unwrap_or_else(|error| panic!("{error}"))
}

#[derive(Clone, Default)]
pub struct SharedBuffer(pub Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs a campaign in this thread; returns the run and its trace records.
pub fn run(campaign: &LiveCampaign) -> (LiveRun, Vec<Value>) {
    traced(|sink| runtime::run_live(campaign, sink, None))
}

/// Runs `live` with a trace sink kept in memory; returns the run and its trace records.
pub fn traced(
    live: impl FnOnce(TraceSink) -> Result<LiveRun, runtime::RuntimeError>,
) -> (LiveRun, Vec<Value>) {
    let buffer = SharedBuffer::default();
    let sink = TraceSink::writing_to(Box::new(buffer.clone()));
    let run = live(sink).expect("the live run works");
    let text = String::from_utf8(buffer.0.borrow().clone()).unwrap();
    let records = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("trace lines are JSON"))
        .collect();
    (run, records)
}

/// Every dialed attempt has exactly one outcome in the trace.
pub fn assert_one_outcome_each(records: &[Value]) -> usize {
    let mut dials: BTreeMap<u64, u32> = BTreeMap::new();
    let mut outcomes: BTreeMap<u64, u32> = BTreeMap::new();
    for record in records {
        let attempt = record["attempt"].as_u64();
        match record["kind"].as_str() {
            Some("dial") => *dials.entry(attempt.unwrap()).or_default() += 1,
            Some("outcome") => *outcomes.entry(attempt.unwrap()).or_default() += 1,
            _ => {}
        }
    }
    assert!(!dials.is_empty(), "nothing was dialed");
    for (attempt, count) in &dials {
        assert_eq!(*count, 1, "attempt {attempt} dialed {count} times");
        assert_eq!(
            outcomes.get(attempt),
            Some(&1),
            "attempt {attempt} must have exactly one outcome"
        );
    }
    assert_eq!(
        dials.len(),
        outcomes.len(),
        "outcomes for undialed attempts"
    );
    dials.len()
}

fn engine_totals(run: &LiveRun) -> (u64, u64) {
    let engine = run.engine.as_ref().expect("the campaign finished");
    (engine.tally.attempts, engine.outcomes.iter().sum())
}

/// A live campaign keeps its calling hours: on a day that is a holiday in the leads' zone it
/// dials nobody, and says why.
#[test]
fn a_live_campaign_outside_its_calling_hours_dials_nobody() {
    let fake = fake(Faults::default());
    let today = jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    let holidays: Vec<String> = [today.yesterday(), Ok(today), today.tomorrow()]
        .into_iter()
        .map(|day| format!("\"{}\"", day.unwrap()))
        .collect();
    let text = campaign_text(&fake.url(), 5).replace(
        "open = \"00:00\"\nclose = \"24:00\"",
        &format!("time_zone = \"UTC\"\nholidays = [{}]", holidays.join(", ")),
    );
    let campaign = load(&text, &["dialing.deadline=\"3s\""]);
    assert_eq!(campaign.calling_hours.hours.holidays.len(), 3);
    let (run, records) = run(&campaign);
    // The leads wait for their window, past the deadline; the switch was reachable all along.
    assert_eq!(run.status, dialer::live::LiveStatus::DeadlineReached);
    assert!(
        run.switch.logins >= 1 && run.switch.lists >= 1,
        "{:?}",
        run.switch
    );
    assert_eq!(
        run.switch.originates, 0,
        "nothing may be dialed on a holiday"
    );
    assert!(!records.iter().any(|r| r["kind"] == "dial"));
    // At the deadline the campaign still reports: every lead deferred to its window.
    let engine = run.engine.as_ref().expect("a report at the deadline");
    assert_eq!(engine.tally.attempts, 0);
    assert_eq!(engine.leads.deferred, 5, "{:?}", engine.leads);
}

#[test]
fn live_calling_hours_default_to_eight_to_nine_and_are_checked() {
    let fake = fake(Faults::default());
    let text = campaign_text(&fake.url(), 5).replace("open = \"00:00\"\nclose = \"24:00\"", "");
    let campaign = load(&text, &[]);
    let default = dialer::compliance::hours::CallingHours::default();
    assert_eq!(campaign.calling_hours.hours, default);
    assert_eq!(campaign.calling_hours.time_zone, "UTC");
    let bad = campaign_text(&fake.url(), 5).replace("close = \"24:00\"", "close = \"00:00\"");
    let error = LiveCampaign::from_toml("bad.toml", &bad, &[], &|_| None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("calling_hours.close"), "{error}");
}

#[test]
fn a_campaign_against_the_fake_switch_reconciles_every_call() {
    let fake = fake(Faults::default());
    let campaign = load(&campaign_text(&fake.url(), 25), &[]);
    let (run, records) = run(&campaign);
    assert_eq!(run.status, dialer::live::LiveStatus::Completed);
    let (attempts, outcomes) = engine_totals(&run);
    assert_eq!(attempts, outcomes);
    assert_eq!(assert_one_outcome_each(&records) as u64, attempts);
    let engine = run.engine.as_ref().unwrap();
    assert!(engine.tally.answered > 0, "somebody answered");
    assert!(engine.tally.connected > 0, "somebody reached an agent");
    // Without faults nothing is unknown, duplicated or out of order.
    let anomalies: u64 = engine.anomalies.iter().sum();
    assert_eq!(anomalies, 0, "{:?}", engine.anomalies);
    assert!(run.webhook.accepted > 0);
    assert_eq!(run.webhook.malformed + run.webhook.unauthorized, 0);
    assert_eq!(run.switch.originates, attempts);
    assert_eq!(
        fake.state.live_calls(),
        0,
        "every call is over on the switch"
    );
    // Every event the backend delivered is in the trace.
    let switch_records = records.iter().filter(|r| r["kind"] == "switch").count() as u64;
    assert_eq!(switch_records, run.switch.events_routed + attempts);
}

#[test]
fn faults_in_callbacks_and_the_api_still_give_every_call_one_outcome() {
    let faults = Faults {
        token_ttl: Duration::from_millis(1500),
        fault_rate: 0.05,
        drop_callbacks: 0.05,
        duplicate_callbacks: 0.15,
        reorder_callbacks: 0.15,
        late_callbacks: 0.05,
        late_by: Duration::from_millis(700),
        latency: Duration::from_millis(5),
        ..Faults::default()
    };
    let fake = fake(faults);
    let campaign = load(&campaign_text(&fake.url(), 25), &[]);
    // Mid-campaign (once calls are up, so requests must follow), the switch forgets every
    // session.
    let state = fake.state.clone();
    let revoker = std::thread::spawn(move || {
        let began = std::time::Instant::now();
        while state.live_calls() < 2 && began.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(10));
        }
        state.revoke_tokens();
    });
    let (run, records) = run(&campaign);
    revoker.join().unwrap();
    assert_eq!(run.status, dialer::live::LiveStatus::Completed);
    let (attempts, outcomes) = engine_totals(&run);
    assert_eq!(attempts, outcomes);
    assert_eq!(assert_one_outcome_each(&records) as u64, attempts);
    let engine = run.engine.as_ref().unwrap();
    let duplicates = engine.anomalies[dialer::call::machine::Anomaly::Duplicate.index()];
    assert!(duplicates > 0, "duplicated callbacks are recognised");
    assert!(
        run.switch.faults > 0,
        "faults were injected: {:?}",
        run.switch
    );
    assert!(
        run.switch.refreshes > 0,
        "short-lived tokens were refreshed: {:?}",
        run.switch
    );
    assert!(
        run.switch.relogins_after_fault > 0 && run.switch.logins > 1,
        "revoked tokens led to a new login and a replay: {:?}",
        run.switch
    );
}

/// An admin changes the dialer's password on PortaSwitch in the middle of a campaign. The dials
/// already on their way fail; then the campaign places nothing until the login works again (it
/// must not burn through its leads with calls that can only fail), and goes on by itself when the
/// password is put back.
#[test]
fn a_login_refused_mid_run_pauses_dialing_until_the_login_works_again() {
    let fake = fake(Faults::default());
    let leads = 30;
    let campaign = load(&campaign_text(&fake.url(), leads), &[]);
    let state = fake.state.clone();
    let admin = std::thread::spawn(move || {
        let began = std::time::Instant::now();
        while state.live_calls() < 2 && began.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(10));
        }
        state.set_password(Some("changed-by-an-admin"));
        state.revoke_tokens();
        // A few of the dialer's login checks (every 300 ms here) are refused meanwhile.
        std::thread::sleep(Duration::from_millis(2500));
        state.set_password(None);
    });
    let (run, records) = run(&campaign);
    admin.join().unwrap();
    assert_eq!(run.status, dialer::live::LiveStatus::Completed);
    let (attempts, outcomes) = engine_totals(&run);
    assert_eq!(attempts, outcomes);
    assert_eq!(assert_one_outcome_each(&records) as u64, attempts);
    assert_eq!(run.switch.login_refusals, 1, "{:?}", run.switch);

    let position = |kind: &str| {
        records
            .iter()
            .position(|record| record["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} record in the trace"))
    };
    let (refused, restored) = (position("login_refused"), position("login_restored"));
    assert!(refused < restored);
    let dials_while_refused = records[refused..restored]
        .iter()
        .filter(|record| record["kind"] == "dial")
        .count();
    assert_eq!(
        dials_while_refused, 0,
        "a call was placed while the login was refused"
    );

    // Only the dials already placed when the switch refused failed for it.
    let failed = records
        .iter()
        .filter(|record| record["kind"] == "outcome" && record["outcome"] == "failed")
        .count();
    assert!((1..=10).contains(&failed), "{failed} attempts failed");
    // Every lead was dialed in the end: the campaign went on after the pause.
    let leads_dialed: std::collections::BTreeSet<u64> = records
        .iter()
        .filter(|record| record["kind"] == "dial")
        .map(|record| record["lead"].as_u64().unwrap())
        .collect();
    assert_eq!(leads_dialed.len(), leads as usize);
}

/// A campaign that reads its agents from PortaSwitch (`[agents] source = "portaswitch"`) follows
/// them logging out and back in: the count it paces on is the hunt group's active extensions.
#[test]
fn agents_read_from_the_switch_follow_logouts_and_logins() {
    // 2 of the 3 agents log out one world minute in (1.2 s here) and back in at three minutes.
    let text = format!(
        "{WORLD}\n[[timeline]]\nat = \"00:01\"\nlogout_agents = 2\n\n\
         [[timeline]]\nat = \"00:03\"\nlogin_agents = 2\n"
    );
    let scenario = Scenario::from_toml("live-test-world.toml", &text, &[]).unwrap();
    let fake = FakeSwitchThread::spawn(
        FakeConfig::for_scenario(scenario, 50.0),
        "127.0.0.1:0".parse().unwrap(),
    )
    .expect("the fake switch starts");
    let huntgroup = format!(
        "agents.huntgroup=\"{}\"",
        dialer::fake_switch::FAKE_HUNTGROUP
    );
    let campaign = load(
        &campaign_text(&fake.url(), 60),
        &[
            "agents.source=\"portaswitch\"",
            &huntgroup,
            "agents.refresh=\"100ms\"",
        ],
    );
    let (run, records) = run(&campaign);
    assert_eq!(run.status, dialer::live::LiveStatus::Completed);
    assert_eq!(run.switch.agent_read_failures, 0, "{:?}", run.switch);
    let logged_in: Vec<u64> = records
        .iter()
        .filter(|record| record["kind"] == "agents")
        .map(|record| record["logged_in"].as_u64().unwrap())
        .collect();
    assert_eq!(logged_in.first(), Some(&3), "{logged_in:?}");
    let out = logged_in
        .iter()
        .position(|count| *count == 1)
        .unwrap_or_else(|| panic!("the logouts were not seen: {logged_in:?}"));
    assert!(
        logged_in[out..].contains(&3),
        "the logins were not seen: {logged_in:?}"
    );
    let (attempts, outcomes) = engine_totals(&run);
    assert_eq!(attempts, outcomes);
}

/// Reading agents from the switch needs the hunt group; a wrong source is named.
#[test]
fn agents_from_the_switch_need_a_hunt_group() {
    let text = campaign_text("http://127.0.0.1:9", 5);
    for (overrides, key) in [
        (vec!["agents.source=\"portaswitch\""], "agents.huntgroup"),
        (vec!["agents.source=\"crm\""], "agents.source"),
    ] {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        let error = LiveCampaign::from_toml("live-test.toml", &text, &overrides, &|_| None)
            .expect_err("refused");
        assert!(error.to_string().contains(key), "{error}");
    }
}

fn campaign_with_secondary(main: &str, secondary: &str, leads: u32) -> LiveCampaign {
    let text = campaign_text(main, leads).replace(
        "login = \"dialer\"",
        &format!("secondary_url = \"{secondary}\"\nlogin = \"dialer\""),
    );
    load(&text, &[])
}

#[test]
fn a_main_site_that_stops_answering_fails_over_and_switches_back() {
    let main = fake(Faults::default());
    let secondary = fake(Faults::default());
    let campaign = campaign_with_secondary(&main.url(), &secondary.url(), 60);
    let state = main.state.clone();
    let chaos = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        state.set_operating_mode("secondary");
        state.set_blackhole(true);
        std::thread::sleep(Duration::from_millis(1500));
        state.set_blackhole(false);
        std::thread::sleep(Duration::from_millis(300));
        state.set_operating_mode("normal");
    });
    let (run, records) = run(&campaign);
    chaos.join().unwrap();
    assert_eq!(run.status, dialer::live::LiveStatus::Completed);
    let (attempts, outcomes) = engine_totals(&run);
    assert_eq!(attempts, outcomes);
    assert_eq!(assert_one_outcome_each(&records) as u64, attempts);
    assert!(run.switch.failovers >= 1, "{:?}", run.switch);
    assert!(run.switch.switch_backs >= 1, "{:?}", run.switch);
    let sites: Vec<&str> = records
        .iter()
        .filter(|r| r["kind"] == "site_changed")
        .filter_map(|r| r["site"].as_str())
        .collect();
    assert!(
        sites.starts_with(&["secondary"]) && sites.contains(&"main"),
        "{sites:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "active_calls" && r["rebuild"] == true),
        "the active calls were rebuilt from the list"
    );
    assert!(
        secondary.state.issued_tokens().len() >= 2,
        "logged in on the secondary"
    );
}

#[test]
fn a_main_site_that_dies_leaves_its_calls_unknown_and_the_campaign_goes_on() {
    let main = fake(Faults::default());
    let secondary = fake(Faults::default());
    let campaign = campaign_with_secondary(&main.url(), &secondary.url(), 30);
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(900));
        main.stop();
    });
    let (run, records) = run(&campaign);
    killer.join().unwrap();
    assert_eq!(run.status, dialer::live::LiveStatus::Completed);
    let (attempts, outcomes) = engine_totals(&run);
    assert_eq!(attempts, outcomes);
    assert_eq!(assert_one_outcome_each(&records) as u64, attempts);
    assert!(run.switch.failovers >= 1, "{:?}", run.switch);
    assert!(run.switch.originates > 0);
    assert_eq!(secondary.state.live_calls(), 0);
}

#[test]
fn a_recorded_live_campaign_replays_through_the_engine() {
    let fake = fake(Faults::default());
    let campaign = load(&campaign_text(&fake.url(), 20), &[]);
    let (run, records) = run(&campaign);
    let text: Vec<String> = records.iter().map(Value::to_string).collect();
    let recording = dialer::replay::Recording::parse("live", &text.join("\n")).unwrap();
    let (report, replayed) = dialer::replay::replay(&recording, campaign.setup.clone()).unwrap();
    let attempts = run.engine.as_ref().unwrap().tally.attempts;
    assert!(report.finished, "{report:?}");
    assert_eq!(report.recorded_attempts, attempts);
    // Live timing is not replayed to the microsecond, so a few decisions may differ.
    assert!(
        report.same_outcome * 10 >= attempts * 8,
        "most outcomes replay identically: {report:?}"
    );
    assert!(!replayed.is_empty());
}

#[test]
fn a_simulated_trace_replays_and_backtests_from_the_command_line() {
    let dir = crate::cli::tempdir("replay");
    let trace = dir.join("small.jsonl");
    let output = crate::support::dialer(&[
        "simulate",
        "scenarios/small.toml",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    let replayed_trace = dir.join("replayed.jsonl");
    let output = crate::support::dialer(&[
        "replay",
        trace.to_str().unwrap(),
        "--scenario",
        "scenarios/small.toml",
        "--out",
        replayed_trace.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        crate::support::stderr(&output)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let recorded = report["recorded_attempts"].as_u64().unwrap();
    assert!(report["finished"].as_bool().unwrap());
    assert_eq!(
        report["same_outcome"].as_u64().unwrap(),
        recorded,
        "every outcome replays: {report}"
    );
    // The replay runs on virtual time to the microsecond, each recorded event its own engine
    // turn, as the simulation did: the engine dials the same numbers at the same microseconds.
    // (The first difference in this run comes at dial 365, where a recorded dequeue and the
    // engine's wrap-up timer fall on the same microsecond and the replay cannot tell which came
    // first; outcomes stay the same.)
    let dials = |path: &std::path::Path| -> Vec<(u64, u64, String)> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|record| record["kind"] == "dial")
            .map(|dial| {
                (
                    dial["t_us"].as_u64().unwrap(),
                    dial["attempt"].as_u64().unwrap(),
                    dial["callee"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (recorded_dials, replayed_dials) = (dials(&trace), dials(&replayed_trace));
    assert_eq!(recorded_dials.len() as u64, recorded);
    assert_eq!(recorded_dials[..300], replayed_dials[..300]);
    let fitted = dir.join("fitted.toml");
    let output = crate::support::dialer(&[
        "backtest",
        trace.to_str().unwrap(),
        "--scenario",
        "scenarios/small.toml",
        "--set",
        "pacing.ratio=2.5",
        "--write-scenario",
        fitted.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        crate::support::stderr(&output)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["fitted_attempts"].as_u64().unwrap(), recorded);
    for run in ["recorded_pacing", "proposed_pacing"] {
        assert_eq!(report[run]["status"], "completed", "{run}");
        assert!(report[run]["answered"].as_u64().unwrap() > 0, "{run}");
    }
    assert_ne!(
        report["recorded_pacing"]["trace_hash"],
        report["proposed_pacing"]["trace_hash"]
    );
    // The recorded pacing is the recorded campaign's whole setup: small.toml dials its 300 leads
    // with their redials for two hours, its abandon guard off (left on, the guard held both runs
    // to progressive and they came out the same). So the fitted day is like the recorded one,
    // and the proposed ratio changes it.
    let (recorded_run, proposed_run) = (&report["recorded_pacing"], &report["proposed_pacing"]);
    assert_eq!(recorded_run["compliance"]["guard"], false);
    assert_eq!(recorded_run["leads"]["dialed"], 300);
    let fitted_attempts = recorded_run["attempts"].as_u64().unwrap();
    assert!(
        fitted_attempts.abs_diff(recorded) * 10 <= recorded,
        "{fitted_attempts} attempts fitted against {recorded} recorded"
    );
    assert_ne!(
        recorded_run["agent_occupancy"],
        proposed_run["agent_occupancy"]
    );
    // The fitted scenario is a scenario file like any other.
    let output = crate::support::dialer(&["check", fitted.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        crate::support::stderr(&output)
    );
    let output =
        crate::support::dialer(&["replay", "Cargo.toml", "--scenario", "scenarios/small.toml"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a file that is not a trace is bad input"
    );

    // The trace of a later run of a stored campaign (its attempts start past 1) is refused,
    // saying where and why, with nothing on stdout.
    let later = dir.join("campaign-1.2.jsonl");
    std::fs::write(
        &later,
        concat!(
            r#"{"seq":0,"t_us":0,"at":"00:00:00.000","kind":"agents","logged_in":2}"#,
            "\n",
            r#"{"seq":1,"t_us":10,"at":"00:00:00.000","kind":"dial","attempt":17,"lead":3,"callee":"+15550103"}"#,
            "\n",
        ),
    )
    .unwrap();
    let output = crate::support::dialer(&[
        "replay",
        later.to_str().unwrap(),
        "--scenario",
        "scenarios/small.toml",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = crate::support::stderr(&output);
    assert!(
        stderr.contains(&format!(
            "{}:2: its first attempt is 17, not 1",
            later.display()
        )) && stderr.contains("later run of a stored campaign"),
        "{stderr}"
    );
}
