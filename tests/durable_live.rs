//! The SIGKILL test: a live campaign stored in SQLite runs against the fake PortaSwitch (both
//! as separate processes); the engine is killed with SIGKILL at random points (seeded) and
//! started again, then left to finish. No lead is lost (every lead ends worked out), none is
//! dialed more often than the policy allows (two attempts, no answer being the only outcome
//! redialed), attempts left in flight by a kill end as `unknown` and are never redialed, and
//! nothing stays in flight at the end. Each restart asks the fake switch for its active-call
//! list: an attempt whose call it still carries is watched until the call ends and then ends
//! `unknown`; the others end `unknown` at once (`tests/durable_restart.rs` checks both branches
//! deterministically).

use crate::cli::tempdir;
use crate::live::campaign_text;
use crate::live_processes::{Process, free_port, start_fake_switch};
use crate::support::{dialer, root, stderr, stdout};
use rand::{RngExt, SeedableRng};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LEADS: u32 = 60;
const KILLS: usize = 3;

#[test]
fn a_live_campaign_killed_at_random_points_loses_no_lead_and_overdials_none() {
    let dir = tempdir("durable-live");
    let (_fake, api) = start_fake_switch(&dir);
    let db = dir.join("dialer.db");
    let leads = dir.join("leads.csv");
    let mut csv = String::from("phone\n");
    for lead in 0..LEADS {
        csv.push_str(&format!("+1201555{:04}\n", 2000 + lead));
    }
    std::fs::write(&leads, csv).unwrap();
    let output = dialer(&[
        "import",
        "crash",
        leads.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    // One number is on the do-not-call list: it must never be dialed.
    let output = dialer(&["dnc", "add", "+12015552007", "--db", db.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));

    let port = free_port();
    let campaign = campaign_text(&api, LEADS).replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    ) + &format!(
        "\n[redial.no_answer]\ndelay = \"300ms\"\nmax_attempts = 2\n\n[store]\npath = \"{}\"\ncampaign = \"crash\"\n",
        db.display()
    );
    let campaign_path = dir.join("campaign.toml");
    std::fs::write(&campaign_path, campaign).unwrap();
    let start_engine = || {
        Command::new(env!("CARGO_BIN_EXE_dialer"))
            .arg("run")
            .arg(&campaign_path)
            .arg("--json")
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the engine starts")
    };

    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(5);
    for _ in 0..KILLS {
        let mut engine = Process(start_engine());
        std::thread::sleep(Duration::from_millis(rng.random_range(250..1000)));
        // `Child::kill` sends SIGKILL on Unix: no destructor, no flush.
        engine.0.kill().unwrap();
        engine.0.wait().unwrap();
    }
    let began = Instant::now();
    let output = start_engine().wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the last run failed after {:?}: {}",
        began.elapsed(),
        String::from_utf8_lossy(&output.stderr)
    );

    // The restart asked the healthy fake switch for its active calls whenever something was
    // left in flight.
    let report: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("the last run's report is JSON");
    let list = report["restart"]["active_calls"]["status"].as_str();
    assert!(
        matches!(list, Some("fetched" | "not_needed")),
        "{}",
        report["restart"]
    );
    let store = dialer::store::Store::open(&db).unwrap();
    let campaign = store.find_campaign("crash").unwrap().unwrap();
    // Nothing in flight, every lead worked out.
    assert!(store.open_attempts(campaign).unwrap().is_empty());
    let leads = store.lead_counts(campaign).unwrap();
    assert_eq!(leads.values().sum::<u64>(), u64::from(LEADS), "{leads:?}");
    assert_eq!(leads.get("dnc").copied(), Some(1), "{leads:?}");
    assert_eq!(
        leads.get("done").copied(),
        Some(u64::from(LEADS) - 1),
        "{leads:?}"
    );
    // No lead dialed more often than the policy allows; the DNC number never.
    let attempts = store.attempts_per_phone(campaign).unwrap();
    assert!(attempts.values().all(|n| *n <= 2), "{attempts:?}");
    assert!(!attempts.contains_key("+12015552007"));
    // An attempt the kill left in flight ends `unknown`, and its lead is not dialed again.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let redialed_after_unknown: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM attempts a JOIN attempts b
               ON a.lead_id = b.lead_id AND b.attempt > a.attempt
             WHERE a.outcome = 'unknown' AND a.campaign_id = ?1",
            [campaign.0],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(redialed_after_unknown, 0);
    let unknown = store
        .outcome_counts(campaign)
        .unwrap()
        .get("unknown")
        .copied()
        .unwrap_or(0);
    assert!(unknown > 0, "the kills should have left attempts in flight");
    // The abandon accounting spans the runs: `dialer status` counts every answered call of all
    // of them, campaign to date.
    let answered: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM abandon_log WHERE campaign_id = ?1 AND kind != 'machine'",
            [campaign.0],
            |row| row.get(0),
        )
        .unwrap();
    assert!(answered > 0, "people answered");
    let status = stdout(&dialer(&["status", "crash", "--db", db.to_str().unwrap()]));
    assert!(
        status.contains(&format!(" of {answered}); cap 3.0%")),
        "{answered} answered: {status}"
    );
    eprintln!(
        "kills {KILLS}: attempts {}, unknown after a kill {unknown}, last restart {}, last run {:?}: {}",
        attempts.values().sum::<u64>(),
        report["restart"],
        began.elapsed(),
        stdout(&output)
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(120)
            .collect::<String>()
    );
}
