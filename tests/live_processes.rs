//! The fake switch and the engine as separate processes, as an admin runs them: hand-written
//! webhook bodies go in mid-campaign (malformed, without or with a wrong secret, too large, for
//! unknown calls, duplicated and out of order), faults are switched on mid-campaign through the
//! fake switch's control endpoint, and every call must still end with one outcome. With every
//! log at trace level, no credential, token or webhook secret may appear in the logs, the
//! report or the recorded trace.
//!
//! And the proof that no secret leaks anywhere: a stored campaign run from `dialer serve`
//! against `dialer fake-switch`, every process at trace level, with a refused admin token, a
//! campaign whose switch password is wrong, and sessions revoked mid-run; the
//! switch password, the access and refresh tokens, the admin token and the webhook secret
//! appear in none of: every process's stdout and stderr, `dialer import`'s output, the
//! recorded trace, the SQLite store (with its WAL), the campaign's report and `/metrics`.

use crate::cli::tempdir;
use crate::live::{PASSWORD, WEBHOOK_SECRET, assert_one_outcome_each, campaign_text};
use crate::support::{dialer, root, stderr};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
pub(crate) struct Process(pub(crate) Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn start_fake_switch(dir: &std::path::Path) -> (Process, String) {
    let world = include_str!("../scenarios/live/world.toml");
    std::fs::write(dir.join("world.toml"), world).unwrap();
    let config = format!(
        r#"
[fake_switch]
login = "dialer"
password = "{PASSWORD}"
customer = 1
auto_attendant = "aa-100"
scenario = "world.toml"
time_scale = 50.0
"#
    );
    let config_path = dir.join("fake.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dialer"))
        .args(["fake-switch", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_path)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the fake switch starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("fake switch listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (Process(child), url)
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, String) {
    match client
        .post(url)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
        Err(error) => (0, error.to_string()),
    }
}

/// Waits until the webhook receiver answers.
async fn wait_for(client: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if post(client, url, "{}").await.0 != 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the webhook receiver never answered at {url}");
}

/// Calls the fake switch's API as a second client, to learn real call ids.
async fn live_call_ids(client: &reqwest::Client, api: &str) -> Vec<String> {
    let call = |method: &str, token: Option<&str>, params: Value| {
        let mut request = client
            .post(format!("{api}/rest/{method}"))
            .json(&json!({ "params": params }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let login: Value = call(
        "Session/login",
        None,
        json!({"login": "dialer", "password": PASSWORD}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let token = login["access_token"].as_str().unwrap().to_string();
    call(
        "CallControl/enable_api_notifications",
        Some(&token),
        json!({"i_customer": 1}),
    )
    .await
    .unwrap();
    let list: Value = call(
        "CallControl/get_sip_calls_list",
        Some(&token),
        json!({"i_customer": 1}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    list["calls_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["call"]["id"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn separate_processes_survive_hand_written_callbacks_and_mid_campaign_faults() {
    let dir = tempdir("live-processes");
    let (_fake, api) = start_fake_switch(&dir);
    let port = free_port();
    let campaign = campaign_text(&api, 40).replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    let campaign_path = dir.join("campaign.toml");
    std::fs::write(&campaign_path, campaign).unwrap();
    let trace_path = dir.join("run.jsonl");
    let engine = Command::new(env!("CARGO_BIN_EXE_dialer"))
        .arg("run")
        .arg(&campaign_path)
        .arg("--json")
        .arg("--record")
        .arg(&trace_path)
        .env("DIALER_LOG", "trace")
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the engine starts");
    let mut engine = Process(engine);
    // Drain the engine's output from the start: trace-level logs would fill a pipe.
    let collected = engine.0.collect_output();

    let hook = format!("http://127.0.0.1:{port}/portaswitch/events/{WEBHOOK_SECRET}");
    dialer::portaswitch::client::ensure_crypto_provider();
    let statuses = runtime().block_on(async {
        let client = reqwest::Client::new();
        wait_for(&client, &hook).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let mut statuses = Vec::new();
        statuses.push(("malformed", post(&client, &hook, "{\"call\": ").await));
        statuses.push(("no call id", post(&client, &hook, r#"{"state":"ringing"}"#).await));
        statuses.push((
            "bad time",
            post(&client, &hook, r#"{"call":{"id":"x"},"state":"ringing","update_time":"soon"}"#).await,
        ));
        statuses.push((
            "no secret",
            post(&client, &format!("http://127.0.0.1:{port}/portaswitch/events"), "{}").await,
        ));
        statuses.push((
            "wrong secret",
            post(&client, &format!("http://127.0.0.1:{port}/portaswitch/events/guess"), "{}").await,
        ));
        statuses.push(("too large", post(&client, &hook, vec![b' '; 100_000]).await));
        statuses.push((
            "unknown call",
            post(
                &client,
                &hook,
                r#"{"call":{"id":"nobody","tag":"x"},"tracking_id":"t","state":"queued","update_time":"2026-01-01 00:00:00"}"#,
            )
            .await,
        ));
        statuses.push((
            "unsupported state",
            post(&client, &hook, r#"{"call":{"id":"nobody"},"state":"parked"}"#).await,
        ));
        // Real calls: a stale "ringing" (out of order) and the same one again (duplicate).
        for id in live_call_ids(&client, &api).await.iter().take(3) {
            let body = json!({"call": {"id": id, "tag": "x"}, "tracking_id": "t", "state": "ringing",
                              "update_time": "1970-01-01 00:00:01"})
            .to_string();
            statuses.push(("stale ringing", post(&client, &hook, body.clone()).await));
            statuses.push(("stale ringing again", post(&client, &hook, body).await));
        }
        // Faults on, mid-campaign: API faults, callback faults, and every session revoked.
        let control = json!({"revoke_tokens": true, "faults": {
            "fault_rate": 0.05, "duplicate_callbacks": 0.2, "reorder_callbacks": 0.2,
            "late_callbacks": 0.05, "late_by": "500ms", "token_ttl": "2s"}});
        let reply = client
            .post(format!("{api}/fake/control"))
            .json(&control)
            .send()
            .await
            .unwrap();
        assert!(reply.status().is_success());
        statuses
    });
    let output = engine.0.wait_collected(collected);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("the report is JSON; stderr tail: {}", tail(&output.stderr)));
    assert!(output.status.success(), "{}", tail(&output.stderr));

    let expect = |name: &str, code: u16| {
        for (label, (status, body)) in &statuses {
            if *label == name {
                assert_eq!(*status, code, "{name}: {body}");
            }
        }
    };
    expect("malformed", 400);
    expect("no call id", 400);
    expect("bad time", 400);
    expect("no secret", 404);
    expect("wrong secret", 401);
    expect("too large", 413);
    expect("unknown call", 200);
    expect("unsupported state", 200);
    expect("stale ringing", 200);
    expect("stale ringing again", 200);
    let malformed = statuses.iter().find(|(l, _)| *l == "no call id").unwrap();
    assert!(
        malformed.1.1.contains("call.id"),
        "the reason is given: {}",
        malformed.1.1
    );

    assert_eq!(report["status"], "completed");
    let attempts = report["attempts"].as_u64().unwrap();
    let outcomes: u64 = report["outcomes"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(outcomes, attempts);
    assert!(report["webhook"]["malformed"].as_u64().unwrap() >= 3);
    assert!(report["webhook"]["unauthorized"].as_u64().unwrap() >= 1);
    assert!(
        report["anomalies"]["unknown_call"].as_u64().unwrap() >= 1,
        "{report}"
    );
    let trace = std::fs::read_to_string(&trace_path).unwrap();
    let records: Vec<Value> = trace
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(assert_one_outcome_each(&records) as u64, attempts);

    // No secret anywhere a person or a file could see it.
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(logs.contains("logging in"), "trace-level logs were written");
    for (name, text) in [
        ("logs", logs.as_ref()),
        ("report", &String::from_utf8_lossy(&output.stdout)),
        ("trace", &trace),
    ] {
        for secret in [
            PASSWORD,
            WEBHOOK_SECRET,
            "fake-access-",
            "fake-refresh-",
            "Bearer ",
        ] {
            assert!(!text.contains(secret), "{secret:?} appears in the {name}");
        }
    }
}

/// `dialer fake-switch` at trace level, its stdout and stderr collected.
fn start_logged_fake_switch(dir: &std::path::Path) -> (Process, String, Collected) {
    let world = include_str!("../scenarios/live/world.toml");
    std::fs::write(dir.join("world.toml"), world).unwrap();
    let config = format!(
        "[fake_switch]\nlogin = \"dialer\"\npassword = \"{PASSWORD}\"\ncustomer = 1\n\
         auto_attendant = \"aa-100\"\nscenario = \"world.toml\"\ntime_scale = 50.0\n"
    );
    let config_path = dir.join("fake.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dialer"))
        .args(["fake-switch", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_path)
        .env("DIALER_LOG", "trace")
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the fake switch starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("fake switch listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    let mut err = child.stderr.take().unwrap();
    let first = line.clone();
    let collected = (
        std::thread::spawn(move || {
            use std::io::Read;
            let mut bytes = first.into_bytes();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        }),
        std::thread::spawn(move || {
            use std::io::Read;
            let mut bytes = Vec::new();
            let _ = err.read_to_end(&mut bytes);
            bytes
        }),
    );
    (Process(child), url, collected)
}

#[test]
fn no_secret_reaches_any_output_of_a_stored_live_campaign_run_from_the_console() {
    const ADMIN_TOKEN: &str = "admin-token-never-logged-0123456789";
    const WRONG_PASSWORD: &str = "wrong-password-never-logged-4242";
    let dir = tempdir("no-secret");
    let (mut fake, api, fake_output) = start_logged_fake_switch(&dir);

    // Leads into the store, as an admin imports them.
    let db = dir.join("campaign.db");
    let leads = dir.join("leads.csv");
    let mut csv = String::from("phone,name\n");
    for i in 0..20 {
        csv.push_str(&format!("+1201555{:04},lead {i}\n", 100 + i));
    }
    std::fs::write(&leads, csv).unwrap();
    let import = Command::new(env!("CARGO_BIN_EXE_dialer"))
        .args(["import", "live-test"])
        .arg(&leads)
        .arg("--db")
        .arg(&db)
        .env("DIALER_LOG", "trace")
        .current_dir(root())
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", stderr(&import));

    let record_dir = dir.join("records");
    std::fs::create_dir_all(&record_dir).unwrap();
    let serve = crate::support::serve::Serve::start(
        &["--record-dir", record_dir.to_str().unwrap()],
        &[("DIALER_ADMIN_TOKEN", ADMIN_TOKEN), ("DIALER_LOG", "trace")],
    );
    // The leads come from the store (`[leads] count` only says when dialing stops).
    let campaign = campaign_text(&api, 20) + &format!("\n[store]\npath = \"{}\"\n", db.display());
    let wrong = campaign_text(&api, 3).replace(PASSWORD, WRONG_PASSWORD);

    dialer::portaswitch::client::ensure_crypto_provider();
    let (view, metrics, failed_view) = runtime().block_on(async {
        let client = reqwest::Client::new();
        let base = serve.url.clone();
        let call = |method: reqwest::Method, path: &str, token: &str| {
            client
                .request(method, format!("{base}{path}"))
                .bearer_auth(token)
        };
        // Refused tries carry secrets too.
        let refused = call(
            reqwest::Method::GET,
            "/api/campaigns",
            "guess-admin-token-000000",
        )
        .send()
        .await
        .unwrap();
        assert_eq!(refused.status(), 401);
        let create = |toml: String| {
            call(reqwest::Method::POST, "/api/campaigns", ADMIN_TOKEN)
                .json(&json!({ "toml": toml }))
                .send()
        };
        let created: Value = create(campaign.clone())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("{created}"));
        let failing: Value = create(wrong.clone()).await.unwrap().json().await.unwrap();
        let failing_id = failing["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("{failing}"));
        for campaign in [id, failing_id] {
            let started = call(
                reqwest::Method::POST,
                &format!("/api/campaigns/{campaign}/start"),
                ADMIN_TOKEN,
            )
            .send()
            .await
            .unwrap();
            assert_eq!(started.status(), 200);
        }
        // Mid-run: every session revoked (the engine logs in again).
        tokio::time::sleep(Duration::from_millis(800)).await;
        let reply = client
            .post(format!("{api}/fake/control"))
            .json(&json!({"revoke_tokens": true}))
            .send()
            .await
            .unwrap();
        assert!(reply.status().is_success());
        let deadline = Instant::now() + Duration::from_secs(60);
        let view = loop {
            let view: Value = call(
                reqwest::Method::GET,
                &format!("/api/campaigns/{id}"),
                ADMIN_TOKEN,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
            if view["phase"] == "finished" || view["phase"] == "failed" {
                break view;
            }
            assert!(
                Instant::now() < deadline,
                "the campaign never finished: {view}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let failed_view = call(
            reqwest::Method::GET,
            &format!("/api/campaigns/{failing_id}"),
            ADMIN_TOKEN,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        let metrics = call(reqwest::Method::GET, "/metrics", ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        (view, metrics, failed_view)
    });
    assert_eq!(view["phase"], "finished", "{view}");
    assert!(
        view["switch"]["logins"].as_u64().unwrap() >= 2,
        "the engine logged in again after its session was revoked: {view}"
    );
    let report = view.to_string();
    assert!(report.contains("\"attempts\""), "{report}");
    // The wrong password was refused by the switch before any lead was touched: the campaign
    // failed at its start, saying why, and dialed nobody.
    let failed: Value = serde_json::from_str(&failed_view).unwrap();
    assert_eq!(failed["phase"], "failed", "{failed_view}");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|error| error.contains("refused the campaign's login")
                && error.contains("nothing was dialed")),
        "the campaign with a wrong password could not log in: {failed_view}"
    );
    assert!(failed["report"].is_null(), "{failed_view}");
    let (serve_stdout, serve_stderr) = serve.stop_with_output();
    let _ = fake.0.kill();
    let fake_stdout = fake_output.0.join().unwrap();
    let fake_stderr = fake_output.1.join().unwrap();
    let _ = fake.0.wait();

    // Everything a person or a file could see.
    let mut outputs: Vec<(String, Vec<u8>)> = vec![
        ("`dialer serve` stdout".into(), serve_stdout),
        ("`dialer serve` logs".into(), serve_stderr.clone()),
        ("`dialer fake-switch` stdout".into(), fake_stdout),
        ("`dialer fake-switch` logs".into(), fake_stderr),
        ("`dialer import` stdout".into(), import.stdout),
        ("`dialer import` logs".into(), import.stderr),
        ("the campaign's report".into(), report.into_bytes()),
        ("the failed campaign".into(), failed_view.into_bytes()),
        ("/metrics".into(), metrics.clone().into_bytes()),
    ];
    let mut records = 0;
    for entry in std::fs::read_dir(&record_dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        records += bytes.iter().filter(|b| **b == b'\n').count();
        outputs.push((path.display().to_string(), bytes));
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("campaign.db") {
            outputs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    // The outputs are real: trace-level logs, a recorded trace, a store with attempts.
    let logs = String::from_utf8_lossy(&serve_stderr);
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "trace-level logs: {logs:.400}"
    );
    assert!(
        logs.contains("logging in"),
        "the engine's logs are in the console's: {logs:.400}"
    );
    assert!(records > 20, "the trace was recorded ({records} records)");
    assert!(
        metrics.contains("dialer_webhook_requests_total"),
        "{metrics:.400}"
    );
    let store = rusqlite::Connection::open(&db).unwrap();
    let attempts: i64 = store
        .query_row("SELECT count(*) FROM attempts", [], |row| row.get(0))
        .unwrap();
    assert!(attempts >= 20, "{attempts} attempts journaled");
    drop(store);

    let secrets = [
        ("the switch password", PASSWORD),
        ("a wrong switch password", WRONG_PASSWORD),
        ("an access token", "fake-access-"),
        ("a refresh token", "fake-refresh-"),
        ("a session id", "fake-session-"),
        ("the admin token", ADMIN_TOKEN),
        ("a guessed admin token", "guess-admin-token-000000"),
        ("the webhook secret", WEBHOOK_SECRET),
        ("an Authorization header", "Bearer "),
    ];
    for (name, bytes) in &outputs {
        for (what, secret) in secrets {
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "{what} ({secret:?}) appears in {name}"
            );
        }
    }
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

type Collected = (
    std::thread::JoinHandle<Vec<u8>>,
    std::thread::JoinHandle<Vec<u8>>,
);

trait CollectOutput {
    fn collect_output(&mut self) -> Collected;
    fn wait_collected(&mut self, collected: Collected) -> std::process::Output;
}

impl CollectOutput for Child {
    /// Starts reading stdout and stderr on threads.
    fn collect_output(&mut self) -> Collected {
        use std::io::Read;
        let mut out = self.stdout.take().unwrap();
        let mut err = self.stderr.take().unwrap();
        (
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = out.read_to_end(&mut bytes);
                bytes
            }),
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = err.read_to_end(&mut bytes);
                bytes
            }),
        )
    }

    /// Waits for the process (at most two minutes) and returns what it printed.
    fn wait_collected(&mut self, collected: Collected) -> std::process::Output {
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.kill();
                break self.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::process::Output {
            status,
            stdout: collected.0.join().unwrap(),
            stderr: collected.1.join().unwrap(),
        }
    }
}

#[test]
fn a_bad_campaign_file_exits_2_naming_the_file_and_key() {
    let dir = tempdir("live-bad");
    let text = campaign_text("ftp://nowhere", 5).replace("ratio = 1.5", "ratio = -1.0");
    let path = dir.join("bad.toml");
    std::fs::write(&path, text).unwrap();
    let output = dialer(&["run", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("bad.toml"), "{message}");
    assert!(message.contains("`switch.url`"), "{message}");
    assert!(message.contains("`pacing.ratio`"), "{message}");
    assert!(output.stdout.is_empty());
    // The shipped examples are valid.
    let output = dialer(&["run", "scenarios/live/demo.toml", "--check"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let fake =
        dialer::fake_switch::FakeConfig::load(&root().join("scenarios/live/fake-switch.toml"), &[])
            .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(fake.scenario.name, "live-demo-world");
    let bad = dir.join("fake.toml");
    std::fs::write(
        &bad,
        "[fake_switch]\nlogin = \"x\"\nscenario = \"nowhere.toml\"\n[faults]\nfault_rate = 2.0\n",
    )
    .unwrap();
    let error = dialer::fake_switch::FakeConfig::load(&bad, &[])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("faults.fault_rate") && error.contains("fake_switch.password"),
        "{error}"
    );
    let unknown = dir.join("unknown.toml");
    std::fs::write(
        &unknown,
        campaign_text("http://x", 5) + "\n[switch_extra]\nx = 1\n",
    )
    .unwrap();
    let output = dialer(&["run", unknown.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("switch_extra"),
        "{}",
        stderr(&output)
    );
}
