//! Journal throughput: attempts per second the SQLite journal records, as a live campaign
//! writes them (WAL, one writer thread, batched commits).
//!
//! One attempt is what the supervisor writes for it: the attempt, committed before its
//! originate (`attempts_started`, which waits for the commit), five call states, the outcome
//! with the lead's fate, and (for three attempts in ten, the answered ones) an abandon-log
//! entry. Three ways of placing them:
//! - `normal/1_per_commit`: `synchronous=NORMAL` and one dial per pacing order, so one commit
//!   waited for per attempt: the worst case for the default durability;
//! - `normal/10_per_commit`: ten dials per pacing order, one commit for the ten;
//! - `full/1_per_commit`: `synchronous=FULL` (the WAL synced at every commit), one per commit.
//!
//! Run: `cargo bench --bench journal_throughput`. Each sample writes 1,000 attempts to a store
//! in a temporary directory holding 20,000 leads.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dialer::call::machine::AttemptRecord;
use dialer::compliance::Compliance;
use dialer::compliance::rules::LeadFate;
use dialer::domain::{AppState, AttemptId, LeadId, Outcome, PhoneNumber};
use dialer::journal::{AbandonEvent, AbandonKind, AttemptStarted, Journal};
use dialer::store::{Durability, NewLead, SqliteJournal, Store};
use dialer::time::{SimDuration, SimTime};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: dialer::allocator::Allocator = dialer::allocator::Allocator;

const LEADS: u64 = 20_000;
const ATTEMPTS_PER_SAMPLE: u64 = 1_000;

fn number(lead: u64) -> PhoneNumber {
    PhoneNumber(format!("+1201{:07}", lead).into())
}

struct Bench {
    _dir: tempfile::TempDir,
    journal: SqliteJournal,
    next_attempt: u64,
}

fn setup(durability: Durability) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let epoch: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
    let mut store = Store::open(&path).unwrap();
    let campaign = store.campaign("bench", epoch).unwrap();
    let leads: Vec<NewLead> = (0..LEADS)
        .map(|lead| NewLead {
            phone: number(lead),
            time_zone: Some("America/New_York".into()),
            region: Some("US".into()),
            priority: 0,
            fields: serde_json::Map::new(),
            source: "bench".into(),
        })
        .collect();
    store.insert_leads(campaign, &leads, epoch).unwrap();
    let mut compliance = Compliance::new(
        epoch,
        None,
        (
            "America/New_York",
            jiff::tz::TimeZone::get("America/New_York").unwrap(),
        ),
    );
    let loaded = store.load_campaign("bench", &mut compliance).unwrap();
    let journal =
        SqliteJournal::start(&path, loaded.id, epoch, loaded.lead_rows, durability).unwrap();
    Bench {
        _dir: dir,
        journal,
        next_attempt: 1,
    }
}

/// Journals `count` attempts, `per_commit` per `attempts_started`, and waits for the last
/// commit.
fn journal_attempts(bench: &mut Bench, count: u64, per_commit: u64) {
    let mut batch = Vec::with_capacity(per_commit as usize);
    let mut placed = 0;
    while placed < count {
        batch.clear();
        for _ in 0..per_commit.min(count - placed) {
            let attempt = bench.next_attempt;
            bench.next_attempt += 1;
            batch.push(AttemptStarted {
                attempt: AttemptId(attempt),
                lead: LeadId(attempt % LEADS),
                callee: number(attempt % LEADS),
                at: SimTime::from_secs(attempt),
            });
        }
        bench.journal.attempts_started(&batch).unwrap();
        for start in &batch {
            let journal = &mut bench.journal;
            for (offset, state) in [
                AppState::Ringing,
                AppState::Answered,
                AppState::Queued,
                AppState::Offered,
                AppState::Talking,
            ]
            .into_iter()
            .enumerate()
            {
                journal.call_state(
                    start.attempt,
                    start.at + SimDuration::from_secs(offset as u64),
                    state,
                );
            }
            let answered = start.attempt.0 % 10 < 3;
            let outcome = if answered {
                Outcome::Completed
            } else {
                Outcome::NoAnswer
            };
            let record = AttemptRecord {
                attempt: start.attempt,
                lead: start.lead,
                callee: start.callee.clone(),
                outcome,
                dialed_at: start.at,
                answered_at: None,
                queued_at: None,
                agent_at: None,
                ended_at: start.at + SimDuration::from_secs(30),
                talk: SimDuration::ZERO,
                switch_call: None,
                tracking_id: Some("tracking".into()),
                reason: Some("normal clearing".into()),
                reason_code: Some(16),
            };
            if answered {
                journal.abandon_event(AbandonEvent {
                    at: record.ended_at,
                    attempt: start.attempt,
                    kind: AbandonKind::LiveConnected,
                    answered_at: start.at + SimDuration::from_secs(8),
                    reached_queue: true,
                    wait_for_agent: Some(SimDuration::from_millis(900)),
                    abandoned_in_queue: false,
                });
            }
            journal.attempt_ended(
                &record,
                LeadFate::RedialAt(record.ended_at + SimDuration::from_secs(600)),
                1,
            );
        }
        placed += batch.len() as u64;
    }
    bench.journal.flush().unwrap();
}

fn journal_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("journal");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(ATTEMPTS_PER_SAMPLE));
    for (name, durability, per_commit) in [
        ("normal/1_per_commit", Durability::Normal, 1),
        ("normal/10_per_commit", Durability::Normal, 10),
        ("full/1_per_commit", Durability::Full, 1),
    ] {
        let mut bench = setup(durability);
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let start = Instant::now();
                for _ in 0..iterations {
                    journal_attempts(&mut bench, ATTEMPTS_PER_SAMPLE, per_commit);
                }
                start.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, journal_throughput);
criterion_main!(benches);
