//! The fake switch and the engine as separate processes, as an admin runs them: hand-written
//! webhook bodies go in mid-campaign (malformed, without or with a wrong secret, too large, for
//! unknown calls, duplicated and out of order), faults are switched on mid-campaign through the
//! fake switch's control endpoint, and every call must still end with one outcome. With every
//! log at trace level, no credential, token or webhook secret may appear in the logs, the
//! report or the recorded trace.

use crate::cli::tempdir;
use crate::live::{PASSWORD, WEBHOOK_SECRET, assert_one_outcome_each, campaign_text};
use crate::support::{dialer, root, stderr};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_fake_switch(dir: &std::path::Path) -> (Process, String) {
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

fn free_port() -> u16 {
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
