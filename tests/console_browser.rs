//! The console in a real browser (Debian's headless Chromium through chromedriver), used as a
//! new admin would: `dialer serve --demo` starts; log in; create a campaign from the form with
//! leads uploaded as CSV; change its pacing; start it and see calls change state live; pause
//! and see dialing stop; resume and see it dial again; then play back a simulation trace and see
//! the automatic-pause banner. Screenshots of each step go to `target/screenshots/`.
//!
//! Installs chromium and chromium-driver with apt-get if they are missing (see
//! `support::webdriver::ensure_browser`).

use crate::support::root;
use crate::support::serve::Serve;
use crate::support::webdriver::{Driver, Session};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TOKEN: &str = "browser-test-token-0123456789";

fn shot(session: &Session<'_>, name: &str) -> PathBuf {
    let path = root().join("target").join("screenshots").join(name);
    session.screenshot(&path);
    path
}

fn phase(session: &Session<'_>) -> String {
    session.text_of("#campaign-phase")
}

fn attempts(session: &Session<'_>) -> u64 {
    session
        .text_of("#totals dd[data-key=attempts]")
        .parse()
        .unwrap_or(0)
}

fn visible(session: &Session<'_>, css: &str) -> bool {
    session.find(css).is_some_and(|element| {
        !session
            .property(&element, "className")
            .as_str()
            .unwrap_or("hidden")
            .contains("hidden")
    })
}

/// `(attempt, state)` of every row in the live call table.
fn rows(session: &Session<'_>) -> Vec<(u64, String)> {
    let value = session.run_script(
        "return [...document.querySelectorAll('#call-rows tr[data-attempt]')]\
         .map(r => [Number(r.dataset.attempt), r.dataset.state || '']);",
        json!([]),
    );
    value
        .as_array()
        .map(|list| {
            list.iter()
                .map(|pair| {
                    (
                        pair[0].as_u64().unwrap_or(0),
                        pair[1].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What the admin banner says of the engine: "pausing" until the engine's numbers show an
/// admin's pause, "paused" once they do, "" when no admin pause is asked for.
fn admin_banner_engine(session: &Session<'_>) -> String {
    session
        .run_script(
            "const b = document.querySelector('#admin-banner'); return b ? (b.dataset.engine || '') : '';",
            json!([]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn wait_phase(session: &Session<'_>, wanted: &str) {
    session.wait_until(
        &format!("the phase badge to say {wanted}"),
        Duration::from_secs(15),
        || (phase(session) == wanted).then_some(()),
    );
}

#[test]
fn an_admin_runs_a_campaign_in_the_browser() {
    let started = Instant::now();
    let dir = crate::cli::tempdir("console-browser");
    let csv = dir.join("leads.csv");
    let mut leads = String::from("phone\n");
    for i in 0..300 {
        leads.push_str(&format!("+1 555 800 {i:04}\n"));
    }
    std::fs::write(&csv, leads).unwrap();
    let trace = dir.join("queue-guard.jsonl");
    let output = crate::support::dialer(&[
        "simulate",
        "scenarios/queue-guard.toml",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(output.status.success());

    let serve = Serve::start(&["--demo"], &[("DIALER_ADMIN_TOKEN", TOKEN)]);
    let driver = Driver::start();
    let session = driver.session(dir.join("chromium-profile"));

    // Log in.
    session.goto(&serve.url);
    let token_input = session.wait_for("#token", Duration::from_secs(20));
    assert!(session.url().ends_with("/login"), "{}", session.url());
    shot(&session, "01-login.png");
    session.type_text(&token_input, "not-the-token");
    session.click(&session.find("#login-button").unwrap());
    session.wait_for(".login-error", Duration::from_secs(10));
    let token_input = session.wait_for("#token", Duration::from_secs(5));
    session.type_text(&token_input, TOKEN);
    session.click(&session.find("#login-button").unwrap());

    // The campaign list shows the running demo campaign; the form holds the demo's template.
    session.wait_until(
        "the demo campaign in the list",
        Duration::from_secs(15),
        || {
            session
                .find_all("#campaign-rows a.campaign-link")
                .iter()
                .any(|link| session.text(link) == "demo")
                .then_some(())
        },
    );
    let textarea = session.wait_for("#campaign-toml", Duration::from_secs(5));
    session.wait_until("the template in the form", Duration::from_secs(10), || {
        session
            .property(&textarea, "value")
            .as_str()
            .is_some_and(|text| text.contains("[switch]"))
            .then_some(())
    });
    shot(&session, "02-campaigns.png");

    // Create a campaign: a name, a queue guard that leaves room, and leads as CSV.
    session.run_script(
        "const box = arguments[0];\
         box.value = box.value.replace('name = \"new-campaign\"', 'name = \"browser-campaign\"')\
           .replace('pause_at = 3', 'pause_at = 40').replace('resume_at = 1', 'resume_at = 20');",
        json!([textarea.as_arg()]),
    );
    session.type_text(&session.find("#leads-csv").unwrap(), csv.to_str().unwrap());
    let cap = session.find("#abandon-cap").unwrap();
    session.clear(&cap);
    session.type_text(&cap, "5");
    session.click(&session.find("#create-campaign").unwrap());
    session.wait_until("the new campaign's page", Duration::from_secs(15), || {
        (session.text_of("#campaign-name") == "browser-campaign").then_some(())
    });
    wait_phase(&session, "created");

    // Pace it open-loop at 40 dials a minute, from the pacing form.
    session.click(&session.find("#pacing-strategy option[value=rate]").unwrap());
    let rate = session.find("#pacing-rate").unwrap();
    session.clear(&rate);
    session.type_text(&rate, "40");
    session.click(&session.find("#pacing-apply").unwrap());
    session.wait_until("the pacing change", Duration::from_secs(10), || {
        session
            .text_of("#pacing-message")
            .contains("rate 40/min")
            .then_some(())
    });
    assert!(session.text_of("#campaign-pacing").contains("rate 40/min"));

    // Start it, and see calls change state live.
    session.click(&session.find("#btn-start").unwrap());
    wait_phase(&session, "running");
    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    let (attempt, from, to) = session.wait_until(
        "a call to change state in the table",
        Duration::from_secs(25),
        || {
            for (attempt, state) in rows(&session) {
                match seen.get(&attempt) {
                    Some(before) if *before != state => {
                        return Some((attempt, before.clone(), state));
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(attempt, state);
                    }
                }
            }
            None
        },
    );
    eprintln!("attempt {attempt} went from {from} to {to} in the browser");
    let time_in_state = session.text_of("#call-rows tr[data-attempt] td.time-in-state");
    assert!(
        time_in_state.ends_with(" s") || time_in_state.contains(':'),
        "{time_in_state:?}"
    );
    // Let the chart gather a few samples before the picture.
    session.wait_until("a few seconds of chart", Duration::from_secs(20), || {
        (session.find_all("#chart path.line-level").len() == 1 && attempts(&session) >= 4)
            .then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    shot(&session, "03-running.png");

    // Pause: the banner shows, and once the engine's numbers say the pause holds, no new call
    // is placed. Until then the banner says it is pausing, and the page's numbers may date from
    // before the pause. A CI run that read them at a fixed 2.5 s after the badge saw 8 more
    // attempts in the paused window; its cause was not reproduced.
    session.click(&session.find("#btn-pause").unwrap());
    wait_phase(&session, "paused");
    assert!(visible(&session, "#admin-banner"));
    session.wait_until(
        "the engine to confirm the pause",
        Duration::from_secs(30),
        || (admin_banner_engine(&session) == "paused").then_some(()),
    );
    assert!(
        session
            .text_of("#admin-banner")
            .contains("Paused by an admin")
    );
    // The totals come from the same engine numbers as the confirmation, or later ones.
    let at_pause = attempts(&session);
    let newest_at_pause = rows(&session).iter().map(|(a, _)| *a).max().unwrap_or(0);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(attempts(&session), at_pause, "no dial while paused");
    let newest = rows(&session).iter().map(|(a, _)| *a).max().unwrap_or(0);
    assert!(newest <= newest_at_pause, "no new call row while paused");
    assert!(
        rows(&session).iter().all(|(_, state)| state != "dialing"),
        "nothing left dialing: {:?}",
        rows(&session)
    );
    shot(&session, "04-paused.png");

    // Resume: dialing goes on.
    session.click(&session.find("#btn-resume").unwrap());
    wait_phase(&session, "running");
    assert!(!visible(&session, "#admin-banner"));
    session.wait_until("a dial after resuming", Duration::from_secs(20), || {
        (attempts(&session) > at_pause).then_some(())
    });
    shot(&session, "05-resumed.png");

    // Play back a simulation whose queue guard pauses dialing: the automatic-pause banner.
    session.goto(&format!("{}/#/", serve.url));
    let trace_input = session.wait_for("#trace-file", Duration::from_secs(10));
    session.type_text(&trace_input, trace.to_str().unwrap());
    session.click(&session.find("#playback-speed option[value='10']").unwrap());
    session.click(&session.find("#load-trace").unwrap());
    session.wait_until("the playback's page", Duration::from_secs(20), || {
        (session.text_of("#campaign-name") == "queue-guard").then_some(())
    });
    wait_phase(&session, "created");
    session.click(&session.find("#btn-start").unwrap());
    session.wait_until(
        "the automatic-pause banner",
        Duration::from_secs(20),
        || visible(&session, "#guard-banner").then_some(()),
    );
    let banner = session.text_of("#guard-banner");
    assert!(
        banner.contains("Dialing paused automatically") && banner.contains("waiting in the queue"),
        "{banner}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    shot(&session, "06-playback-auto-pause.png");

    // The demo campaign, running since the console started.
    session.goto(&format!("{}/#/campaigns/1", serve.url));
    session.wait_until("the demo campaign's calls", Duration::from_secs(20), || {
        (session.text_of("#campaign-name") == "demo" && !rows(&session).is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    shot(&session, "07-demo.png");

    drop(session);
    drop(driver);
    let logs = serve.stop();
    assert!(!logs.contains(TOKEN), "the admin token is not logged");
    eprintln!("browser test took {:.1} s", started.elapsed().as_secs_f64());
}
