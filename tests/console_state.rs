//! The console's state file (`dialer serve --state FILE`), with real parts: a real SQLite file
//! in a temporary directory, the console's HTTP server over loopback, and the fake PortaSwitch
//! the demo uses (in this process, so that it outlives the consoles).
//!
//! - Campaigns created through the API come back after a restart (stop the server, start a
//!   new one on the same file): uploaded and replaced leads, pacing changes, the abandon cap,
//!   creation times, the final report of one that ended; one running when the console shut
//!   down comes back `interrupted` and starts again; ids are never used twice, not even a
//!   played-back trace's (not kept).
//! - `dialer serve` killed with SIGKILL while a stored (`[store]`) campaign runs: the new server
//!   shows it `interrupted`, dialing nobody, and it can be started again.
//! - A write to the state file that fails is shown on the campaign, the order is carried out,
//!   and the next write that succeeds saves everything.
//! - A corrupt, foreign, uncreatable or unreadable state file, or one another console has open,
//!   stops `dialer serve` with the path named and exit code 2.

use crate::console_api::{Client, TOKEN, leads_csv};
use crate::support::serve::Serve;
use dialer::console::demo;
use dialer::console::{ConsoleSettings, ConsoleThread};
use dialer::fake_switch::{FakeConfig, FakeSwitchThread};
use dialer::portaswitch::client::Secret;
use dialer::scenario::Scenario;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A trace of one call: the least a playback takes.
const TINY_TRACE: &str = "{\"t_us\":0,\"kind\":\"dial\",\"attempt\":1,\"lead\":1,\"callee\":\"+15550100001\"}\n\
{\"t_us\":2000000,\"kind\":\"outcome\",\"attempt\":1,\"outcome\":\"no_answer\"}\n";

/// The demo's fake switch, on its own thread in this process.
struct FakeSwitch {
    thread: FakeSwitchThread,
    password: String,
}

impl FakeSwitch {
    fn start() -> FakeSwitch {
        let world = Scenario::from_toml("(demo world)", demo::WORLD, &[]).expect("the demo world");
        let config = FakeConfig::for_scenario(world, demo::TIME_SCALE);
        let password = config.password.clone().expect("a password");
        let thread = FakeSwitchThread::spawn(config, "127.0.0.1:0".parse().unwrap())
            .expect("the fake switch starts");
        FakeSwitch { thread, password }
    }

    /// A campaign file for this switch: the demo's template, filled in.
    fn campaign(&self, name: &str) -> String {
        demo::CAMPAIGN_TEMPLATE
            .replace("{{NAME}}", name)
            .replace("{{DESCRIPTION}}", "a campaign kept across restarts")
            .replace("{{SWITCH_URL}}", &self.thread.url())
            .replace("{{SWITCH_PASSWORD}}", &self.password)
            .replace("{{WEBHOOK_SECRET}}", "state-test-webhook-secret-0123")
    }
}

/// A console in this process, keeping its campaigns in `state`.
fn console_on(state: &Path) -> ConsoleThread {
    let mut settings = ConsoleSettings::new("127.0.0.1:0".parse().unwrap(), Secret::new(TOKEN));
    settings.manager.sample_every = Duration::from_millis(250);
    settings.state_file = Some(state.to_path_buf());
    ConsoleThread::spawn(settings).expect("the console starts")
}

fn create(client: &Client, body: &Value) -> Value {
    let reply = client.post_json("/api/campaigns", body);
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

fn id_of(view: &Value) -> u64 {
    view["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no id: {view}"))
}

fn control(client: &Client, id: u64, order: &str) -> Value {
    let reply = client.post(&format!("/api/campaigns/{id}/{order}"));
    assert_eq!(reply.status, 200, "{order} {id}: {}", reply.text);
    reply.json()
}

fn wait_for_phase(client: &Client, id: u64, phase: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let view = client.view(id);
        if view["phase"] == phase {
            return view;
        }
        assert!(
            started.elapsed() < limit,
            "campaign {id} never became {phase}: {view}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn attempts(status: &Value) -> u64 {
    status["attempts"].as_u64().unwrap_or(0)
}

/// Every lead of a status's tally, in whatever state it is.
fn leads_accounted(status: &Value) -> u64 {
    [
        "never_dialed",
        "waiting",
        "dialing",
        "awaiting_redial",
        "deferred",
        "no_window",
        "done",
        "do_not_call",
    ]
    .iter()
    .map(|key| status["leads"][key].as_u64().unwrap_or(0))
    .sum()
}

#[test]
fn kept_campaigns_come_back_after_a_restart_and_ids_are_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("console.db");
    let fake = FakeSwitch::start();

    let console = console_on(&state);
    let client = Client::new(&console.url());
    assert_eq!(client.get("/api/session").json()["kept"], true);

    // Created with leads uploaded as CSV.
    let uploaded = create(
        &client,
        &json!({ "toml": fake.campaign("uploaded"), "leads_csv": leads_csv(30), "abandon_cap": 0.05 }),
    );
    let uploaded_id = id_of(&uploaded);
    assert_eq!(uploaded["kept"], true);
    // A JSON campaign whose leads are replaced and whose pacing changes before its start.
    let table: toml::Table = format!("{}\n[leads]\ncount = 5\n", fake.campaign("replaced"))
        .parse()
        .unwrap();
    let replaced_id = id_of(&create(
        &client,
        &json!({ "campaign": serde_json::to_value(&table).unwrap() }),
    ));
    let reply = client.send(
        client
            .http
            .post(client.url(&format!("/api/campaigns/{replaced_id}/leads")))
            .bearer_auth(TOKEN)
            .body(leads_csv(7)),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = client.post_json(
        &format!("/api/campaigns/{replaced_id}/pacing"),
        &json!({ "strategy": "progressive", "ratio": null }),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    // A played-back trace is shown, not kept; its id is given out all the same.
    let playback = client.send(
        client
            .http
            .post(client.url("/api/playbacks?name=tiny"))
            .bearer_auth(TOKEN)
            .body(TINY_TRACE),
    );
    assert_eq!(playback.status, 201, "{}", playback.text);
    let playback_id = id_of(&playback.json());
    assert_eq!(playback.json()["kept"], false);
    // One that runs and is stopped: it ends with its numbers.
    let ended_id = id_of(&create(
        &client,
        &json!({ "toml": fake.campaign("ended"), "leads_csv": leads_csv(40) }),
    ));
    control(&client, ended_id, "start");
    client.wait_for(ended_id, "dials", Duration::from_secs(15), |s| {
        attempts(s) >= 2
    });
    control(&client, ended_id, "stop?now=true");
    let ended = wait_for_phase(&client, ended_id, "finished", Duration::from_secs(15));
    assert!(attempts(&ended["status"]) >= 2, "{ended}");
    assert_eq!(
        ended["outcome"], "aborted",
        "a stop at once is an abort: {ended}"
    );
    // An aborted run's report has the engine's counts: those of its last numbers.
    assert!(ended["report"]["attempts"].as_u64() >= Some(2), "{ended}");
    assert_eq!(
        ended["report"]["attempts"], ended["status"]["attempts"],
        "{ended}"
    );
    assert_eq!(ended["status"]["finished"], true, "{ended}");
    // One still running when the console shuts down.
    let running_id = id_of(&create(
        &client,
        &json!({ "toml": fake.campaign("running"), "leads_csv": leads_csv(40) }),
    ));
    let started = control(&client, running_id, "start");
    client.wait_for(running_id, "dials", Duration::from_secs(15), |s| {
        attempts(s) >= 2
    });
    drop(console);

    // A new console on the same file.
    let console = console_on(&state);
    let client = Client::new(&console.url());
    let listed: Vec<u64> = client.get("/api/campaigns").json()["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(
        listed,
        vec![uploaded_id, replaced_id, ended_id, running_id],
        "every live campaign is back, the playback is not"
    );
    let view = client.view(uploaded_id);
    assert_eq!(view["phase"], "created");
    assert_eq!(view["name"], "uploaded");
    assert_eq!(view["leads_listed"], 30);
    assert_eq!(view["abandon_cap"], 0.05);
    assert_eq!(view["created_unix_ms"], uploaded["created_unix_ms"]);
    assert_eq!(view["pacing"]["strategy"], "power");
    assert_eq!(view["kept"], true);
    let view = client.view(replaced_id);
    assert_eq!(view["phase"], "created");
    assert_eq!(view["leads_listed"], 7);
    assert_eq!(view["pacing"]["strategy"], "progressive");
    let view = client.view(ended_id);
    assert_eq!(view["phase"], "finished");
    assert_eq!(view["outcome"], ended["outcome"]);
    assert_eq!(view["status"], ended["status"], "the last numbers, exactly");
    assert_eq!(view["report"], ended["report"], "the final report, exactly");
    assert_eq!(view["ended_unix_ms"], ended["ended_unix_ms"]);
    assert_eq!(
        client
            .post(&format!("/api/campaigns/{ended_id}/start"))
            .status,
        409,
        "an ended campaign is read-only"
    );
    let view = client.view(running_id);
    assert_eq!(view["phase"], "interrupted", "{view}");
    assert_eq!(view["started_unix_ms"], started["started_unix_ms"]);
    assert_eq!(view["durable"], false);
    assert!(view["error"].is_null(), "{view}");
    assert!(
        attempts(&view["status"]) >= 2,
        "the numbers of the run cut short: {view}"
    );
    assert_eq!(
        client
            .post(&format!("/api/campaigns/{running_id}/pause"))
            .status,
        409,
        "an interrupted campaign runs nothing to pause"
    );

    // Ids go on from the highest ever given out.
    let next_id = id_of(&create(
        &client,
        &json!({ "toml": fake.campaign("after"), "leads_csv": leads_csv(3) }),
    ));
    assert_eq!(next_id, playback_id.max(running_id) + 1);

    // The interrupted campaign starts again; the replaced list and pacing are in effect.
    let again = control(&client, running_id, "start");
    assert_eq!(again["phase"], "running");
    assert!(again["report"].is_null(), "a new run: {again}");
    client.wait_for(
        running_id,
        "dials after the restart",
        Duration::from_secs(15),
        |s| attempts(s) >= 1,
    );
    control(&client, replaced_id, "start");
    client.wait_for(
        replaced_id,
        "the replaced list's dials",
        Duration::from_secs(15),
        |s| attempts(s) >= 1 && leads_accounted(s) == 7,
    );
    let calls = client.get(&format!("/api/campaigns/{replaced_id}/calls"));
    for call in calls.json()["calls"].as_array().unwrap() {
        assert!(
            call["callee"].as_str().unwrap().starts_with("+1555700"),
            "dialed from the uploaded list: {call}"
        );
    }
    for id in [running_id, replaced_id] {
        control(&client, id, "stop?now=true");
        wait_for_phase(&client, id, "finished", Duration::from_secs(15));
    }
}

#[test]
fn a_failed_write_is_shown_on_the_campaign_and_the_next_saves_everything() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("console.db");
    let fake = FakeSwitch::start();
    let console = console_on(&state);
    let client = Client::new(&console.url());
    let id = id_of(&create(
        &client,
        &json!({ "toml": fake.campaign("unsaved"), "leads_csv": leads_csv(5) }),
    ));

    // Another hand refuses every change to the file's campaigns.
    let other = rusqlite::Connection::open(&state).unwrap();
    other
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE UPDATE ON console_campaigns \
             BEGIN SELECT RAISE(ABORT, 'the disk says no'); END;",
        )
        .unwrap();
    let reply = client.post_json(
        &format!("/api/campaigns/{id}/pacing"),
        &json!({ "strategy": "progressive", "ratio": null }),
    );
    assert_eq!(
        reply.status, 200,
        "the order is carried out: {}",
        reply.text
    );
    let view = client.view(id);
    assert_eq!(view["pacing"]["strategy"], "progressive");
    let error = view["state_error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&state.display().to_string()) && error.contains("the disk says no"),
        "{view}"
    );

    // The file takes writes again: the next change saves the campaign whole.
    other.execute_batch("DROP TRIGGER refuse;").unwrap();
    drop(other);
    let stopped = control(&client, id, "stop");
    assert_eq!(stopped["phase"], "finished");
    assert!(stopped["state_error"].is_null(), "{stopped}");
    drop(console);

    let console = console_on(&state);
    let client = Client::new(&console.url());
    let view = client.view(id);
    assert_eq!(view["phase"], "finished");
    assert_eq!(view["outcome"], "stopped");
    assert_eq!(
        view["pacing"]["strategy"], "progressive",
        "the change whose write failed was saved by the next"
    );
}

#[test]
fn a_campaign_running_when_the_server_is_killed_comes_back_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("console.db");
    let fake = FakeSwitch::start();

    // A stored campaign: its leads imported into the store, as an admin does.
    let store = dir.path().join("leads.db");
    let leads = dir.path().join("leads.csv");
    let mut csv = String::from("phone\n");
    for i in 0..60 {
        csv.push_str(&format!("+1201555{:04}\n", 100 + i));
    }
    std::fs::write(&leads, csv).unwrap();
    let import = crate::support::dialer(&[
        "import",
        "killed",
        leads.to_str().unwrap(),
        "--db",
        store.to_str().unwrap(),
    ]);
    assert!(
        import.status.success(),
        "{}",
        crate::support::stderr(&import)
    );
    let campaign = format!(
        "{}\n[leads]\ncount = 60\n\n[store]\npath = \"{}\"\n",
        fake.campaign("killed"),
        store.display()
    );

    let args = ["--state", state.to_str().unwrap()];
    let env = [("DIALER_ADMIN_TOKEN", TOKEN)];
    let serve = Serve::start(&args, &env);
    let client = Client::new(&serve.url);
    let id = id_of(&create(&client, &json!({ "toml": campaign })));
    control(&client, id, "start");
    client.wait_for(id, "dials", Duration::from_secs(15), |s| attempts(s) >= 3);
    serve.kill();

    let serve = Serve::start(&args, &env);
    let client = Client::new(&serve.url);
    let view = client.view(id);
    assert_eq!(view["phase"], "interrupted", "{view}");
    assert_eq!(view["durable"], true);
    assert!(view["status"].is_null(), "nothing runs: {view}");
    // Nobody is dialed until an admin says so.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(client.view(id)["phase"], "interrupted");
    assert_eq!(
        client.post(&format!("/api/campaigns/{id}/resume")).status,
        409
    );
    let again = control(&client, id, "start");
    assert_eq!(again["phase"], "running");
    client.wait_for(
        id,
        "dials from the store after the restart",
        Duration::from_secs(15),
        |s| attempts(s) >= 1,
    );
    control(&client, id, "stop?now=true");
    wait_for_phase(&client, id, "finished", Duration::from_secs(15));
    let next = id_of(&create(
        &client,
        &json!({ "toml": fake.campaign("next"), "leads_csv": leads_csv(2) }),
    ));
    assert_eq!(next, id + 1);
    let (stdout, _) = serve.stop_with_output();
    let stdout = String::from_utf8_lossy(&stdout);
    assert!(
        stdout.contains(&format!(
            "console state: {}: 1 campaigns kept, 1 interrupted",
            state.display()
        )),
        "{stdout}"
    );
}

/// Runs `dialer serve --state FILE` and expects it to refuse to start: returns the exit code
/// and stderr. A server that starts anyway is killed and the test fails.
fn serve_refuses(state: &Path) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dialer"))
        .args(["serve", "--listen", "127.0.0.1:0", "--state"])
        .arg(state)
        .env("DIALER_ADMIN_TOKEN", TOKEN)
        .current_dir(crate::support::root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dialer serve starts");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "dialer serve started on {}: {}",
                state.display(),
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_corrupt_foreign_unreadable_or_busy_state_file_stops_the_server_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, "not a database at all\n".repeat(400)).unwrap();
    let foreign = dir.path().join("foreign.db");
    let conn = rusqlite::Connection::open(&foreign).unwrap();
    conn.execute_batch("CREATE TABLE leads (phone TEXT); INSERT INTO leads VALUES ('+1');")
        .unwrap();
    drop(conn);
    let missing_dir = dir.path().join("no-such-dir").join("console.db");
    let a_directory = dir.path().to_path_buf();
    // A file another console has open.
    let busy = dir.path().join("busy.db");
    let console = console_on(&busy);
    for (path, says) in [
        (&garbage, "file is not a database"),
        (
            &foreign,
            "not a console state file (it has the tables leads",
        ),
        (&missing_dir, "cannot be created"),
        (&a_directory, "cannot be read"),
        (&busy, "is in use by another console"),
    ] {
        let (code, stdout, stderr) = serve_refuses(path);
        assert_eq!(code, Some(2), "{}: {stderr}", path.display());
        assert!(
            stderr.contains(&path.display().to_string()) && stderr.contains(says),
            "{}: {stderr}",
            path.display()
        );
        assert!(
            !stdout.contains("console listening"),
            "it never listened: {stdout}"
        );
    }
    drop(console);
}
