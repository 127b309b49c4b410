//! The console's JSON API, SSE stream and `/metrics`, against its demo (the embedded fake
//! PortaSwitch, over loopback): requests without the token and without the CSRF token are
//! refused; a campaign is created (with leads uploaded as CSV), started, paused (dialing stops),
//! resumed, re-paced and stopped; the SSE stream carries a snapshot and then call changes;
//! `/metrics` is scraped while a campaign runs; a simulation trace plays back. Also, with every
//! log at trace level, no secret reaches the logs of `dialer serve`.

use crate::support::serve::Serve;
use dialer::console::{ConsoleSettings, ConsoleThread};
use dialer::portaswitch::client::Secret;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub(crate) const TOKEN: &str = "console-test-token-0123456789";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A console with the demo, in this process.
fn console() -> ConsoleThread {
    let mut settings = ConsoleSettings::new("127.0.0.1:0".parse().unwrap(), Secret::new(TOKEN));
    settings.demo = true;
    settings.manager.sample_every = Duration::from_millis(250);
    ConsoleThread::spawn(settings).expect("the console starts")
}

/// A blocking HTTP client for one console (also used by `console_state`).
pub(crate) struct Client {
    runtime: tokio::runtime::Runtime,
    pub(crate) http: reqwest::Client,
    base: String,
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) text: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

impl Client {
    pub(crate) fn new(base: &str) -> Client {
        dialer::portaswitch::client::ensure_crypto_provider();
        Client {
            runtime: runtime(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            base: base.to_string(),
        }
    }

    pub(crate) fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        self.runtime.block_on(async {
            let response = request.send().await.expect("the console answers");
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let text = response.text().await.unwrap_or_default();
            Reply {
                status,
                headers,
                text,
            }
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.url(path)).bearer_auth(TOKEN))
    }

    pub(crate) fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.send(self.http.post(self.url(path)).bearer_auth(TOKEN).json(body))
    }

    pub(crate) fn post(&self, path: &str) -> Reply {
        self.send(self.http.post(self.url(path)).bearer_auth(TOKEN))
    }

    pub(crate) fn status(&self, id: u64) -> Value {
        let reply = self.get(&format!("/api/campaigns/{id}/stats"));
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()
    }

    pub(crate) fn view(&self, id: u64) -> Value {
        let reply = self.get(&format!("/api/campaigns/{id}"));
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()
    }

    /// Waits until `check` holds for the campaign's fresh status.
    pub(crate) fn wait_for(
        &self,
        id: u64,
        what: &str,
        limit: Duration,
        check: impl Fn(&Value) -> bool,
    ) {
        let started = Instant::now();
        loop {
            let status = self.status(id);
            if check(&status) {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "timed out waiting for {what}; status: {status}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub(crate) fn leads_csv(count: usize) -> String {
    let mut text = String::from("name,phone\n");
    for i in 0..count {
        text.push_str(&format!("Lead {i},+1 (555) 700-{i:04}\n"));
    }
    text
}

#[test]
fn requests_without_the_token_are_refused() {
    let console = console();
    let client = Client::new(&console.url());
    let paths = [
        ("GET", "/api/session"),
        ("GET", "/api/campaigns"),
        ("POST", "/api/campaigns"),
        ("GET", "/api/campaigns/1"),
        ("GET", "/api/campaigns/1/stats"),
        ("GET", "/api/campaigns/1/calls"),
        ("GET", "/api/campaigns/1/history"),
        ("GET", "/api/campaigns/1/events"),
        ("POST", "/api/campaigns/1/start"),
        ("POST", "/api/campaigns/1/pause"),
        ("POST", "/api/campaigns/1/resume"),
        ("POST", "/api/campaigns/1/stop"),
        ("POST", "/api/campaigns/1/pacing"),
        ("POST", "/api/campaigns/1/leads"),
        ("POST", "/api/campaigns/1/speed"),
        ("POST", "/api/playbacks"),
        ("GET", "/api/demo/template"),
        ("GET", "/metrics"),
    ];
    for (method, path) in paths {
        let request = |auth: Option<&str>| {
            let builder = match method {
                "GET" => client.http.get(client.url(path)),
                _ => client.http.post(client.url(path)),
            };
            match auth {
                Some(header) => builder.header("Authorization", header),
                None => builder,
            }
        };
        for auth in [
            None,
            Some("Bearer wrong-token-0123456789"),
            Some("Basic ZGlhbGVyOnNlY3JldA=="),
            Some("Bearer "),
        ] {
            let reply = client.send(request(auth));
            assert_eq!(
                reply.status, 401,
                "{method} {path} with {auth:?}: {}",
                reply.text
            );
            assert!(reply.headers.contains_key("www-authenticate"));
            assert!(!reply.text.contains(TOKEN));
        }
        // A session cookie that was never issued is no better.
        let reply = client.send(request(None).header("Cookie", "dialer_session=forged"));
        assert_eq!(reply.status, 401, "{method} {path} with a forged cookie");
    }
    // Nothing changed: the demo campaign still runs.
    assert_eq!(client.view(1)["phase"], "running");
    // The login page, assets and the health check are public; the console page redirects.
    let public = client.send(client.http.get(client.url("/login")));
    assert_eq!(public.status, 200);
    assert!(public.text.contains("<form"));
    for asset in [
        "/assets/app.js",
        "/assets/app.css",
        "/assets/favicon.svg",
        "/healthz",
    ] {
        assert_eq!(
            client.send(client.http.get(client.url(asset))).status,
            200,
            "{asset}"
        );
    }
    let index = client.send(client.http.get(client.url("/")));
    assert_eq!(index.status, 303);
    assert_eq!(index.headers["location"], "/login");
    let csp = index.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

/// Logs in through the form; returns the cookie header and the session's CSRF token.
fn log_in(client: &Client) -> (String, String) {
    let wrong = client.send(
        client
            .http
            .post(client.url("/login"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("token={}", "not-the-token-at-all")),
    );
    assert_eq!(wrong.status, 401);
    assert!(!wrong.headers.contains_key("set-cookie"));
    let reply = client.send(
        client
            .http
            .post(client.url("/login"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("token={}", TOKEN)),
    );
    assert_eq!(reply.status, 303, "{}", reply.text);
    let cookie = reply.headers["set-cookie"].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_string();
    assert!(
        !pair.contains(TOKEN),
        "the cookie must not carry the admin token"
    );
    let session = client.send(
        client
            .http
            .get(client.url("/api/session"))
            .header("Cookie", &pair),
    );
    assert_eq!(session.status, 200, "{}", session.text);
    let csrf = session.json()["csrf"].as_str().unwrap().to_string();
    (pair, csrf)
}

#[test]
fn changes_made_with_the_cookie_need_the_csrf_token() {
    let console = console();
    let client = Client::new(&console.url());
    let (cookie, csrf) = log_in(&client);
    let pause = || {
        client
            .http
            .post(client.url("/api/campaigns/1/pause"))
            .header("Cookie", &cookie)
    };

    // Reading with the cookie alone is fine; changing is not.
    let read = client.send(
        client
            .http
            .get(client.url("/api/campaigns/1"))
            .header("Cookie", &cookie),
    );
    assert_eq!(read.status, 200);
    let index = client.send(client.http.get(client.url("/")).header("Cookie", &cookie));
    assert_eq!(index.status, 200);
    assert!(index.text.contains("/assets/app.js"));

    let refused = [
        client.send(pause()),
        client.send(pause().header("X-CSRF-Token", "0".repeat(64))),
        client.send(pause().header("X-CSRF-Token", &csrf[..32])),
        client.send(
            pause()
                .header("X-CSRF-Token", &csrf)
                .header("Origin", "http://evil.example"),
        ),
    ];
    for reply in &refused {
        assert_eq!(reply.status, 403, "{}", reply.text);
    }
    assert_eq!(
        client.view(1)["phase"],
        "running",
        "a refused change did nothing"
    );
    let host = console.address.to_string();
    let accepted = client.send(
        pause()
            .header("X-CSRF-Token", &csrf)
            .header("Origin", format!("http://{host}")),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.json()["phase"], "paused");

    // A login from another origin is refused.
    let cross = client.send(
        client
            .http
            .post(client.url("/login"))
            .header("Origin", "http://evil.example")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("token={}", TOKEN)),
    );
    assert_eq!(cross.status, 403);

    // Logging out ends the session.
    let out = client.send(
        client
            .http
            .post(client.url("/logout"))
            .header("Cookie", &cookie)
            .header("X-CSRF-Token", &csrf),
    );
    assert_eq!(out.status, 303);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = client.send(
        client
            .http
            .get(client.url("/api/campaigns"))
            .header("Cookie", &cookie),
    );
    assert_eq!(after.status, 401);
}

#[test]
fn a_campaign_is_created_started_paused_resumed_repaced_and_stopped() {
    let console = console();
    let client = Client::new(&console.url());
    let template = client.get("/api/demo/template");
    assert_eq!(template.status, 200);
    let created = client.post_json(
        "/api/campaigns",
        &json!({ "toml": template.text, "leads_csv": leads_csv(400), "abandon_cap": 0.05 }),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let view = created.json();
    let id = view["id"].as_u64().unwrap();
    assert_eq!(view["phase"], "created");
    assert_eq!(view["leads_listed"], 400);
    assert_eq!(view["abandon_cap"], 0.05);
    assert_eq!(view["pacing"]["strategy"], "power");
    assert!(
        !created.text.contains("secret-password") && !created.text.contains("secret ="),
        "no secret of the campaign file is shown: {}",
        created.text
    );
    let listed = client.get("/api/campaigns").json();
    assert!(
        listed["campaigns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id)
    );

    // Pause before the start is refused; the start runs it.
    assert_eq!(
        client.post(&format!("/api/campaigns/{id}/pause")).status,
        409
    );
    let started = client.post(&format!("/api/campaigns/{id}/start"));
    assert_eq!(started.status, 200, "{}", started.text);
    assert_eq!(started.json()["phase"], "running");
    assert_eq!(
        client.post(&format!("/api/campaigns/{id}/start")).status,
        409
    );
    client.wait_for(id, "calls to be placed", Duration::from_secs(20), |s| {
        s["attempts"].as_u64().unwrap_or(0) >= 3
    });
    let calls = client.get(&format!("/api/campaigns/{id}/calls")).json();
    let first = &calls["calls"][0];
    assert!(
        first["callee"].as_str().unwrap().starts_with("+1555700"),
        "{calls}"
    );
    assert!(first["state"].is_string() && first["since_us"].is_u64());

    // Paused: no new dials. Calls already dialing finish; then the attempts stay put.
    let paused = client.post(&format!("/api/campaigns/{id}/pause"));
    assert_eq!(paused.json()["phase"], "paused");
    client.wait_for(
        id,
        "the admin pause to take effect",
        Duration::from_secs(5),
        |s| s["admin_paused"] == true,
    );
    let attempts_at_pause = client.status(id)["attempts"].as_u64().unwrap();
    client.wait_for(id, "dials in flight to end", Duration::from_secs(30), |s| {
        s["dials_in_flight"] == 0
    });
    let held = client.status(id)["attempts"].as_u64().unwrap();
    assert_eq!(held, attempts_at_pause, "no dial placed after the pause");
    std::thread::sleep(Duration::from_millis(1500));
    let status = client.status(id);
    assert_eq!(status["attempts"].as_u64().unwrap(), held, "{status}");
    assert_eq!(status["calls"]["dialing"], 0);

    // Resumed: dialing goes on.
    let resumed = client.post(&format!("/api/campaigns/{id}/resume"));
    assert_eq!(resumed.json()["phase"], "running");
    client.wait_for(id, "dialing to resume", Duration::from_secs(20), |s| {
        s["attempts"].as_u64().unwrap() > held
    });

    // Pacing changes while it runs: the strategy may change, the queue guard may not.
    let repaced = client.post_json(
        &format!("/api/campaigns/{id}/pacing"),
        &json!({ "strategy": "progressive", "ratio": null }),
    );
    assert_eq!(repaced.status, 200, "{}", repaced.text);
    assert_eq!(repaced.json()["strategy"], "progressive");
    assert_eq!(client.view(id)["pacing"]["strategy"], "progressive");
    let bad = client.post_json(
        &format!("/api/campaigns/{id}/pacing"),
        &json!({ "strategy": "power", "ratio": 0 }),
    );
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("pacing.ratio"), "{}", bad.text);
    let guard = client.post_json(
        &format!("/api/campaigns/{id}/pacing"),
        &json!({ "queue_guard": { "pause_at": 9, "resume_at": 2 } }),
    );
    assert_eq!(guard.status, 409, "{}", guard.text);
    assert_eq!(
        client.post(&format!("/api/campaigns/{id}/leads")).status,
        409
    );

    // History for the chart.
    let history = client.get(&format!("/api/campaigns/{id}/history")).json();
    assert!(!history["samples"].as_array().unwrap().is_empty());

    // Stop: no new dials, the calls in progress end, and the run reports "stopped".
    let stopping = client.post(&format!("/api/campaigns/{id}/stop"));
    assert_eq!(stopping.status, 200, "{}", stopping.text);
    assert_eq!(stopping.json()["phase"], "stopping");
    let started = Instant::now();
    let view = loop {
        let view = client.view(id);
        if view["phase"] == "finished" {
            break view;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{view}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(view["outcome"], "stopped");
    let report = &view["report"];
    assert_eq!(report["attempts"], view["status"]["attempts"]);
    let outcomes: u64 = report["outcomes"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        outcomes,
        report["attempts"].as_u64().unwrap(),
        "one outcome per attempt"
    );
    assert_eq!(
        client.post(&format!("/api/campaigns/{id}/resume")).status,
        409
    );
}

#[test]
fn bad_campaign_files_and_lead_lists_are_refused_with_where() {
    let console = console();
    let client = Client::new(&console.url());
    let template = client.get("/api/demo/template").text;

    let broken = client.send(
        client
            .http
            .post(client.url("/api/campaigns"))
            .bearer_auth(TOKEN)
            .header("Content-Type", "application/toml")
            .body("[campaign]\nname = \"x\"\n[agents]\ncount = -3\n"),
    );
    assert_eq!(broken.status, 400, "{}", broken.text);
    let problems = broken.json()["problems"].clone();
    assert!(
        problems.as_array().is_some_and(|p| !p.is_empty()),
        "{problems}"
    );

    let bad_pacing = template.replace("ratio = 2.0", "ratio = 0.0");
    let reply = client.post_json(
        "/api/campaigns",
        &json!({ "toml": bad_pacing, "leads_csv": "+15550100001\n" }),
    );
    assert_eq!(reply.status, 400);
    let problem = &reply.json()["problems"][0];
    assert_eq!(problem["path"], "pacing.ratio", "{problem}");
    assert!(
        problem["line"].is_u64(),
        "the problem names its line: {problem}"
    );

    let reply = client.post_json(
        "/api/campaigns",
        &json!({ "toml": template, "leads_csv": "phone\n+15550100001\nnot a number\n" }),
    );
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("line 3"), "{}", reply.text);

    let reply = client.post_json(
        "/api/campaigns",
        &json!({ "toml": format!("{template}\n[leads]\ncount = 3\n"), "leads_csv": "+15550100001\n" }),
    );
    assert_eq!(reply.status, 400);
    assert!(reply.text.contains("[leads]"), "{}", reply.text);

    let reply = client.post_json("/api/campaigns", &json!({ "toml": template }));
    assert_eq!(reply.status, 400, "a campaign needs leads: {}", reply.text);

    let reply = client.post_json(
        "/api/campaigns",
        &json!({ "toml": template, "leads_csv": "+15550100001\n", "abandon_cap": 3 }),
    );
    assert_eq!(reply.status, 400, "{}", reply.text);

    // JSON campaigns are the same file in another spelling.
    let table: toml::Table = format!("{template}\n[leads]\ncount = 5\n").parse().unwrap();
    let as_json = serde_json::to_value(&table).unwrap();
    let reply = client.post_json("/api/campaigns", &json!({ "campaign": as_json }));
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.json()["id"].as_u64().unwrap();
    // Leads may be replaced before the start.
    let replaced = client.send(
        client
            .http
            .post(client.url(&format!("/api/campaigns/{id}/leads")))
            .bearer_auth(TOKEN)
            .body(leads_csv(7)),
    );
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(client.view(id)["leads_listed"], 7);

    // A campaign that cannot run (its webhook address is taken) fails with the reason.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let clash = template.replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"{address}\""),
    );
    let reply = client.post_json(
        "/api/campaigns",
        &json!({ "toml": clash, "leads_csv": "+15550100001\n" }),
    );
    assert_eq!(reply.status, 201, "{}", reply.text);
    let failing = reply.json()["id"].as_u64().unwrap();
    assert_eq!(
        client
            .post(&format!("/api/campaigns/{failing}/start"))
            .status,
        200
    );
    let started = Instant::now();
    let view = loop {
        let view = client.view(failing);
        if view["phase"] == "failed" {
            break view;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{view}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let error = view["error"].as_str().unwrap();
    assert!(error.contains(&address), "{error}");
    drop(taken);

    assert_eq!(client.get("/api/campaigns/999").status, 404);
    assert_eq!(client.post("/api/campaigns/999/start").status, 404);
}

/// Reads SSE events from a response body until `enough` says so, or the time is up.
fn read_events(
    client: &Client,
    path: &str,
    limit: Duration,
    mut enough: impl FnMut(&str, &Value) -> bool,
) -> Vec<(String, Value)> {
    client.runtime.block_on(async {
        // A client of its own, dropped (and its connection closed) before the block ends.
        let http = reqwest::Client::new();
        let mut response = http
            .get(client.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut buffer = String::new();
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + limit;
        let mut done = false;
        while !done {
            let chunk = tokio::time::timeout_at(deadline, response.chunk()).await;
            let Ok(Ok(Some(chunk))) = chunk else { break };
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(rest) = line.strip_prefix("event: ") {
                        name = rest.to_string();
                    } else if let Some(rest) = line.strip_prefix("data: ") {
                        data.push_str(rest);
                    }
                }
                if name.is_empty() {
                    continue;
                }
                let value: Value = serde_json::from_str(&data).unwrap();
                done = enough(&name, &value);
                events.push((name, value));
                if done {
                    break;
                }
            }
        }
        drop(response);
        drop(http);
        tokio::time::sleep(Duration::from_millis(100)).await;
        events
    })
}

#[test]
fn sse_streams_a_snapshot_then_call_changes_and_numbers() {
    let console = console();
    let client = Client::new(&console.url());
    let mut changes = 0;
    let mut numbers = 0;
    let events = read_events(
        &client,
        "/api/campaigns/1/events",
        Duration::from_secs(30),
        |name, value| {
            match name {
                "calls" => changes += 1,
                // Right after the start the engine may not have reported its numbers yet.
                "campaign" if !value["campaign"]["status"].is_null() => numbers += 1,
                _ => {}
            }
            changes >= 3 && numbers >= 2
        },
    );
    assert!(changes >= 3 && numbers >= 2, "{events:?}");
    let (first, snapshot) = &events[0];
    assert_eq!(first, "snapshot");
    assert_eq!(snapshot["campaign"]["id"], 1);
    assert!(snapshot["calls"].is_array());
    let mut last_seq = snapshot["campaign"]["status"]["seq"].as_u64().unwrap_or(0);
    let mut seen_numbers = false;
    for (name, value) in &events[1..] {
        match name.as_str() {
            "calls" => {
                for change in value.as_array().unwrap() {
                    let seq = change["seq"].as_u64().unwrap();
                    assert!(seq > last_seq, "changes come in order after the snapshot");
                    last_seq = seq;
                    assert!(change["to"].is_string() && change["attempt"].is_u64());
                }
            }
            "campaign" => {
                let status = &value["campaign"]["status"];
                if !status.is_null() {
                    seen_numbers = true;
                    assert!(status["attempts"].is_u64(), "{value}");
                } else {
                    assert!(!seen_numbers, "numbers, once there, stay: {value}");
                }
            }
            other => panic!("unexpected event {other}"),
        }
    }
    // Nobody listens once the stream is gone.
    let started = Instant::now();
    while console.manager.get(1).unwrap().feed.subscribers() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the subscription ended"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn metrics_are_scraped_while_a_campaign_runs() {
    let console = console();
    let client = Client::new(&console.url());
    client.wait_for(1, "answered calls", Duration::from_secs(40), |s| {
        s["attempts"].as_u64().unwrap_or(0) >= 5
    });
    std::thread::sleep(Duration::from_millis(400));
    let reply = client.get("/metrics");
    assert_eq!(reply.status, 200);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = reply.text;
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("dialer_campaigns{phase=\"running\"}"), 1.0);
    assert!(value("dialer_attempts_total{campaign=\"1\"}") >= 5.0);
    assert_eq!(
        value("dialer_agents{campaign=\"1\",state=\"logged_in\"}"),
        6.0
    );
    assert!(value("dialer_webhook_requests_total{campaign=\"1\",result=\"accepted\"}") > 0.0);
    let requests =
        value("dialer_portaswitch_api_latency_seconds_count{campaign=\"1\",site=\"main\"}");
    assert!(
        requests >= 5.0,
        "latency recorded for the originates at least"
    );
    assert_eq!(
        value(
            "dialer_portaswitch_api_latency_seconds_bucket{campaign=\"1\",site=\"main\",le=\"+Inf\"}"
        ),
        requests
    );
    for family in [
        "dialer_calls{campaign=\"1\",state=\"ringing\"}",
        "dialer_call_outcomes_total{campaign=\"1\",outcome=\"completed\"}",
        "dialer_abandon_rate{campaign=\"1\"}",
        "dialer_abandon_cap{campaign=\"1\"}",
        "dialer_dial_level{campaign=\"1\"}",
        "dialer_queue_length{campaign=\"1\"}",
        "dialer_dialing_paused{campaign=\"1\",reason=\"queue_guard\"}",
    ] {
        value(family);
    }
    assert!(!text.contains(TOKEN));
}

#[test]
fn a_simulation_trace_plays_back_at_speed() {
    let console = console();
    let client = Client::new(&console.url());
    let dir = crate::cli::tempdir("console-playback");
    let trace = dir.join("small.jsonl");
    let output = crate::support::dialer(&[
        "simulate",
        "scenarios/small.toml",
        "--json",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let text = std::fs::read_to_string(&trace).unwrap();

    let bad = client.send(
        client
            .http
            .post(client.url("/api/playbacks"))
            .bearer_auth(TOKEN)
            .body("{\"t_us\": 0, \"kind\": \"dial\"}\n"),
    );
    assert_eq!(bad.status, 400, "{}", bad.text);

    let created = client.send(
        client
            .http
            .post(client.url("/api/playbacks?name=small&speed=50"))
            .bearer_auth(TOKEN)
            .body(text),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["id"].as_u64().unwrap();
    assert_eq!(created.json()["kind"], "playback");
    assert_eq!(
        client.post(&format!("/api/campaigns/{id}/start")).status,
        200
    );
    client.wait_for(id, "the playback to move", Duration::from_secs(10), |s| {
        s["now_us"].as_u64().unwrap_or(0) > 0
    });
    // Paused, its clock stands still. The status says so once the playback has taken its last
    // step: read the clock from then on.
    let paused = client.post(&format!("/api/campaigns/{id}/pause"));
    assert_eq!(paused.json()["phase"], "paused");
    client.wait_for(
        id,
        "the playback's clock to stop",
        Duration::from_secs(10),
        |s| s["admin_paused"] == true,
    );
    let now_us =
        || client.get(&format!("/api/campaigns/{id}/calls")).json()["status"]["now_us"].clone();
    let at_pause = now_us();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(now_us(), at_pause, "a paused playback stands still");
    let resumed = client.post(&format!("/api/campaigns/{id}/resume"));
    assert_eq!(resumed.json()["phase"], "running");
    let speed = client.post_json(
        &format!("/api/campaigns/{id}/speed"),
        &json!({ "speed": 5000 }),
    );
    assert_eq!(speed.json()["speed"], 5000.0);
    assert_eq!(
        client
            .post_json(
                &format!("/api/campaigns/{id}/pacing"),
                &json!({ "strategy": "power" })
            )
            .status,
        409
    );
    let started = Instant::now();
    let view = loop {
        let view = client.view(id);
        if view["phase"] == "finished" {
            break view;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{view}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let status = &view["status"];
    assert_eq!(status["attempts"], report["attempts"]);
    assert_eq!(status["answered"], report["answered"]);
    assert_eq!(status["connected"], report["connected"]);
    assert_eq!(status["outcomes"], report["outcomes"]);
}

#[test]
fn no_secret_reaches_the_logs() {
    let serve = Serve::start(
        &["--demo"],
        &[("DIALER_ADMIN_TOKEN", TOKEN), ("DIALER_LOG", "trace")],
    );
    let client = Client::new(&serve.url);
    let (cookie, csrf) = log_in(&client);
    let template = client.send(
        client
            .http
            .get(client.url("/api/demo/template"))
            .header("Cookie", &cookie),
    );
    let secret_line = template
        .text
        .lines()
        .find(|line| line.starts_with("secret = "))
        .unwrap()
        .to_string();
    let webhook_secret = secret_line.split('"').nth(1).unwrap().to_string();
    let password = template
        .text
        .lines()
        .find(|line| line.starts_with("password = "))
        .unwrap()
        .split('"')
        .nth(1)
        .unwrap()
        .to_string();
    let created = client.send(
        client
            .http
            .post(client.url("/api/campaigns"))
            .header("Cookie", &cookie)
            .header("X-CSRF-Token", &csrf)
            .json(&json!({ "toml": template.text, "leads_csv": leads_csv(20) })),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["id"].as_u64().unwrap();
    let started = client.send(
        client
            .http
            .post(client.url(&format!("/api/campaigns/{id}/start")))
            .header("Cookie", &cookie)
            .header("X-CSRF-Token", &csrf),
    );
    assert_eq!(started.status, 200);
    // Refused tries carry secrets too.
    client.send(
        client
            .http
            .post(client.url(&format!("/api/campaigns/{id}/pause")))
            .header("Cookie", &cookie)
            .header("X-CSRF-Token", "a-wrong-csrf-token-value"),
    );
    client.send(
        client
            .http
            .post(client.url("/login"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("token={}", "guess-0123456789abcdef")),
    );
    std::thread::sleep(Duration::from_secs(3));
    let metrics = client.get("/metrics");
    assert_eq!(metrics.status, 200);
    let logs = serve.stop();
    assert!(logs.contains("request"), "the requests were logged: {logs}");
    let session_id = cookie.split('=').nth(1).unwrap().to_string();
    for (what, secret) in [
        ("the admin token", TOKEN),
        ("the session id", session_id.as_str()),
        ("the CSRF token", csrf.as_str()),
        ("the switch password", password.as_str()),
        ("the webhook secret", webhook_secret.as_str()),
        ("a guessed token", "guess-0123456789abcdef"),
    ] {
        assert!(!logs.contains(secret), "{what} is in the logs");
    }
}
