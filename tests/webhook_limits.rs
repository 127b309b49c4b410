//! The webhook receiver's limits over real HTTP on loopback: the per-campaign rate limit (a
//! burst beyond it gets 429 with Retry-After, requests under it pass, nothing accepted is lost,
//! the check comes before the body is read and strangers without the secret cannot spend the
//! campaign's budget), the body size limit, and the campaign file's checks of both.

use crate::live::campaign_text;
use crate::support::receiver::{Receiver, SECRET, settings};
use dialer::live::campaign::LiveCampaign;
use dialer::portaswitch::webhook::RateLimit;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn body(id: &str) -> Vec<u8> {
    format!(
        r#"{{"call":{{"id":"{id}","tag":"t"}},"tracking_id":"tr","state":"ringing","update_time":"2026-01-05 10:00:00"}}"#
    )
    .into_bytes()
}

#[test]
fn a_burst_beyond_the_limit_gets_429_and_nothing_accepted_is_lost() {
    let limit = RateLimit::new(10.0, 10).unwrap();
    let receiver = Receiver::start(settings(64 * 1024, limit));
    let path = receiver.path();

    // A burst of 60 as fast as one connection after another allows.
    let started = Instant::now();
    let mut accepted = BTreeSet::new();
    let mut limited = 0u64;
    for index in 0..60 {
        let id = format!("burst-{index}");
        let response = receiver.post(&path, &body(&id));
        match response.status {
            200 => {
                accepted.insert(id);
            }
            429 => {
                limited += 1;
                let retry: u64 = response
                    .header("Retry-After")
                    .expect("a 429 says when to retry")
                    .parse()
                    .expect("Retry-After is whole seconds");
                assert!((1..=2).contains(&retry), "Retry-After {retry}");
                assert!(
                    response.body.contains("rate limit"),
                    "the reason is given: {}",
                    response.body
                );
            }
            other => panic!("unexpected status {other}: {}", response.body),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The burst passes, then one request per 100 ms at most.
    let most = 10 + (elapsed * 10.0).ceil() as usize + 1;
    assert!(
        accepted.len() >= 10 && accepted.len() <= most,
        "{} accepted in {elapsed:.3} s (at most {most})",
        accepted.len()
    );
    assert_eq!(accepted.len() as u64 + limited, 60);
    assert!(limited >= 25, "{limited} refused");

    // Over the limit, the body is not even read: a malformed one gets 429, not 400.
    let response = receiver.post(&path, b"{not json");
    assert_eq!(response.status, 429, "{}", response.body);

    // Under the limit everything passes: 10 requests at 5 per second after the bucket refilled.
    std::thread::sleep(Duration::from_millis(1100));
    for index in 0..10 {
        let id = format!("steady-{index}");
        let response = receiver.post(&path, &body(&id));
        assert_eq!(response.status, 200, "steady {index}: {}", response.body);
        accepted.insert(id);
        std::thread::sleep(Duration::from_millis(200));
    }

    // Every accepted callback reached the backend, once, and nothing refused did.
    let events = receiver.wait_for_events(accepted.len(), Duration::from_secs(5));
    let delivered: Vec<String> = events.iter().map(|e| e.call.id.to_string()).collect();
    let unique: BTreeSet<String> = delivered.iter().cloned().collect();
    assert_eq!(delivered.len(), unique.len(), "no event delivered twice");
    assert_eq!(unique, accepted);
    let counts = receiver.stats.counts();
    assert_eq!(counts.accepted, accepted.len() as u64);
    assert_eq!(counts.rate_limited, limited + 1);
    assert_eq!(counts.malformed, 0);
    assert_eq!(counts.received, 60 + 1 + 10);
}

#[test]
fn strangers_without_the_secret_do_not_spend_the_budget() {
    let limit = RateLimit::new(1.0, 5).unwrap();
    let receiver = Receiver::start(settings(64 * 1024, limit));
    for _ in 0..30 {
        let response = receiver.post("/portaswitch/events/not-the-secret-at-all", &body("x"));
        assert_eq!(response.status, 401);
    }
    let response = receiver.post("/portaswitch/events", &body("x"));
    assert_eq!(response.status, 404);
    assert_eq!(response.body, r#"{"error":"not found"}"#);
    for index in 0..5 {
        let response = receiver.post(&receiver.path(), &body(&format!("own-{index}")));
        assert_eq!(response.status, 200, "{}", response.body);
    }
    let response = receiver.post(&receiver.path(), &body("one-too-many"));
    assert_eq!(response.status, 429);
    let counts = receiver.stats.counts();
    assert_eq!(
        (counts.unauthorized, counts.accepted, counts.rate_limited),
        (31, 5, 1)
    );
}

#[test]
fn bodies_over_the_limit_get_413_before_they_are_read() {
    let receiver = Receiver::start(settings(1024, RateLimit::default()));
    let path = receiver.path();
    let mut large = body("large");
    large.truncate(large.len() - 1);
    large.extend_from_slice(format!(r#","reason":"{}"}}"#, "x".repeat(2000)).as_bytes());
    for size in [1025, 4096, 2 << 20] {
        let mut padded = body("pad");
        padded.resize(size, b' ');
        let response = receiver.post(&path, &padded);
        assert_eq!(response.status, 413, "{size} bytes: {}", response.body);
        assert!(response.body.contains("1024"), "{}", response.body);
    }
    assert_eq!(receiver.post(&path, &large).status, 413);
    let mut fits = body("fits");
    fits.resize(1024, b' ');
    assert_eq!(receiver.post(&path, &fits).status, 200);
    let counts = receiver.stats.counts();
    assert_eq!((counts.too_large, counts.accepted), (4, 1));
}

#[test]
fn the_campaign_file_sets_the_limit_and_refuses_a_rate_that_is_not_positive() {
    let text = campaign_text("http://127.0.0.1:9", 5);
    let load = |overrides: &[&str]| {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        LiveCampaign::from_toml("limits.toml", &text, &overrides, &|_| None)
    };
    let campaign = load(&[]).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(campaign.webhook.rate_limit, RateLimit::default());
    assert_eq!(
        (
            RateLimit::default().per_second(),
            RateLimit::default().burst()
        ),
        (5000.0, 10_000)
    );
    let campaign = load(&["webhook.rate_limit=250", "webhook.rate_burst=40"])
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        campaign.webhook.rate_limit,
        RateLimit::new(250.0, 40).unwrap()
    );
    let campaign = load(&["webhook.rate_limit=0.5"]).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(campaign.webhook.rate_limit.per_second(), 0.5);

    for (overrides, needle) in [
        (
            &["webhook.rate_limit=0"][..],
            "`webhook.rate_limit`: 0 requests per second: the rate must be more than zero",
        ),
        (
            &["webhook.rate_limit=-20"][..],
            "`webhook.rate_limit`: -20 requests per second: the rate must be more than zero",
        ),
        (
            &["webhook.rate_limit=nan"][..],
            "`webhook.rate_limit`: NaN requests per second: the rate must be more than zero",
        ),
        (
            &["webhook.rate_limit=2e9"][..],
            "`webhook.rate_limit`: 2000000000 requests per second is more than 1000000",
        ),
        (
            &["webhook.rate_burst=0"][..],
            "`webhook.rate_burst`: a burst of 0 requests: it must be at least 1",
        ),
        (
            &["webhook.rate_burst=-3"][..],
            "`webhook.rate_burst`: a burst of -3 requests: it must be at least 1",
        ),
    ] {
        let error = load(overrides).expect_err("refused").to_string();
        assert!(error.contains("limits.toml"), "{error}");
        assert!(error.contains(needle), "{overrides:?}: {error}");
    }
    // The secret never shows in the checks' messages.
    let error = load(&["webhook.rate_limit=0"]).unwrap_err().to_string();
    assert!(!error.contains(SECRET) && !error.contains(crate::live::WEBHOOK_SECRET));
}
