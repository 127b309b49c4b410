//! The store: a campaign's durable state in SQLite (bundled, WAL mode).
//!
//! It holds campaigns, leads (imported from CSV, deduplicated by E.164 number), attempts with
//! their outcomes, call events, the do-not-call list and the abandon log. [`Store`] is the
//! synchronous API for everything but the hot path: opening (with schema migrations, see
//! [`schema`]), importing leads, editing the DNC list, loading a campaign to run it, recovering
//! attempts left in flight by a crash, and reading the abandon log back. The hot path, the
//! attempts of a running campaign, goes through [`SqliteJournal`] (in [`writer`]): one writer
//! thread fed by a channel, with batched commits.
//!
//! Durability: WAL with `synchronous=NORMAL` by default. A commit is in the WAL file when it
//! returns, so a process crash (even SIGKILL) loses nothing committed; a power loss or OS crash
//! may lose the last commits since the last WAL sync (at checkpoints). `Durability::Full`
//! syncs the WAL at every commit instead (BENCHMARKS.md gives both costs).
//!
//! One campaign runner per database at a time; admin edits (import, DNC) may run beside it
//! (WAL readers never block, writers wait up to the busy timeout).
//!
//! This module does I/O and nothing else: no clock (times come in), no decisions beyond
//! applying the rules it is handed.

pub mod schema;
pub mod writer;

pub use writer::{Durability, SqliteJournal};

use crate::campaign::hopper::{LeadList, ListedLead, PriorStatus};
use crate::compliance::rules::{LeadFate, RedialPolicy};
use crate::compliance::{Compliance, ZoneId};
use crate::domain::{AttemptId, LeadId, Outcome, PhoneNumber};
use crate::journal::recovery::{
    self, OpenAttempt, RecoveredAttempt, Resolution, SwitchActiveCalls,
};
use crate::journal::{AbandonKind, SetAsideReason};
use crate::pacing::abandon::PriorAnswer;
use crate::time::{SimDuration, SimTime};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for the database lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {action}: {source}")]
    Sqlite {
        path: String,
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{path}: the database has schema version {found}, newer than this dialer knows ({known}); use a newer dialer"
    )]
    NewerSchema {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("no campaign named `{0}` in the store")]
    NoCampaign(String),
}

/// A campaign's row id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CampaignId(pub i64);

/// A lead to add to a campaign (already validated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLead {
    pub phone: PhoneNumber,
    pub time_zone: Option<String>,
    pub region: Option<String>,
    pub priority: i32,
    /// Custom fields as a JSON object.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Where it came from, like `leads.csv:12`.
    pub source: String,
}

/// What adding leads did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsertCounts {
    /// New leads.
    pub inserted: u64,
    /// Leads whose number the campaign already had: merged into the existing lead.
    pub merged: u64,
}

/// An abandon-log entry read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredAbandonEvent {
    pub at: Timestamp,
    pub attempt: AttemptId,
    pub kind: AbandonKind,
    /// The columns below came with schema version 2; rows written before are read as: answered
    /// when the fate was known, reached the queue, an agent at once if connected, and a true
    /// abandon if abandoned.
    pub answered_at: Timestamp,
    pub reached_queue: bool,
    pub wait_for_agent: Option<SimDuration>,
    pub abandoned_in_queue: bool,
}

/// A campaign loaded to run: its leads as the hopper takes them.
#[derive(Clone, Debug)]
pub struct LoadedCampaign {
    pub id: CampaignId,
    pub leads: LeadList,
    /// The store's row id of each lead, by [`LeadId`].
    pub lead_rows: Vec<i64>,
    /// The id the next attempt gets.
    pub next_attempt: AttemptId,
    /// Leads whose stored zone is unknown to this build's tz database (they get the default).
    pub unknown_zones: u64,
}

/// What recovering a crashed run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryCounts {
    /// Attempts found without an outcome.
    pub open: u64,
    /// Of those, still carried by the switch: left open.
    pub still_on_switch: u64,
    /// Ended with outcome `unknown`.
    pub marked_unknown: u64,
    /// Of those, leads the unknown rule lets be redialed later.
    pub leads_waiting: u64,
}

/// The store. See the module doc.
pub struct Store {
    conn: Connection,
    path: String,
}

fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

fn instant(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Sets the connection up for the store: WAL, the durability level, the busy timeout.
pub(crate) fn configure(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // An in-memory database answers "memory"; a file switches to WAL once and stays.
    let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
    conn.pragma_update(None, "synchronous", durability.pragma())?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl Store {
    /// Opens (or creates) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: shown.clone(),
            action: "cannot open the database",
            source,
        })?;
        Store::with_connection(conn, shown)
    }

    /// A store in memory (tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Sqlite {
            path: ":memory:".into(),
            action: "cannot open the database",
            source,
        })?;
        Store::with_connection(conn, ":memory:".into())
    }

    fn with_connection(conn: Connection, path: String) -> Result<Store, StoreError> {
        let mut store = Store { conn, path };
        configure(&store.conn, Durability::Normal).map_err(|e| store.err("cannot configure", e))?;
        store.migrate()?;
        Ok(store)
    }

    fn err(&self, action: &'static str, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            action,
            source,
        }
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from(&self.path)
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| self.err("cannot read the schema version", e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        if found > schema::CURRENT_VERSION {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found,
                known: schema::CURRENT_VERSION,
            });
        }
        for (index, migration) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
            let version = index as i64 + 1;
            let path = self.path.clone();
            let fail = |source| StoreError::Sqlite {
                path: path.clone(),
                action: "cannot migrate the schema",
                source,
            };
            let tx = self.conn.transaction().map_err(fail)?;
            tx.execute_batch(migration).map_err(fail)?;
            tx.pragma_update(None, "user_version", version)
                .map_err(fail)?;
            tx.commit().map_err(fail)?;
        }
        Ok(())
    }

    /// The campaign named `name`, created at `now` if it does not exist.
    pub fn campaign(&mut self, name: &str, now: Timestamp) -> Result<CampaignId, StoreError> {
        self.conn
            .execute(
                "INSERT INTO campaigns (name, created_at) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
                params![name, micros(now)],
            )
            .map_err(|e| self.err("cannot create the campaign", e))?;
        self.find_campaign(name)?
            .ok_or_else(|| StoreError::NoCampaign(name.to_string()))
    }

    pub fn find_campaign(&self, name: &str) -> Result<Option<CampaignId>, StoreError> {
        self.conn
            .query_row(
                "SELECT id FROM campaigns WHERE name = ?1",
                params![name],
                |row| row.get(0).map(CampaignId),
            )
            .optional()
            .map_err(|e| self.err("cannot read campaigns", e))
    }

    /// Adds leads to a campaign in one transaction. A number the campaign already has is
    /// merged: the existing lead keeps its values and its history, and gains the fields,
    /// zone and region it lacked; its priority becomes the higher of the two.
    pub fn insert_leads(
        &mut self,
        campaign: CampaignId,
        leads: &[NewLead],
        now: Timestamp,
    ) -> Result<InsertCounts, StoreError> {
        let path = self.path.clone();
        let fail = |source| StoreError::Sqlite {
            path: path.clone(),
            action: "cannot add leads",
            source,
        };
        let tx = self.conn.transaction().map_err(fail)?;
        let mut counts = InsertCounts::default();
        {
            let mut exists = tx
                .prepare("SELECT 1 FROM leads WHERE campaign_id = ?1 AND phone = ?2")
                .map_err(fail)?;
            let mut upsert = tx
                .prepare(
                    "INSERT INTO leads (campaign_id, phone, time_zone, region, priority, fields, created_at, source)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (campaign_id, phone) DO UPDATE SET
                        time_zone = COALESCE(leads.time_zone, excluded.time_zone),
                        region = COALESCE(leads.region, excluded.region),
                        priority = MAX(leads.priority, excluded.priority),
                        fields = json_patch(excluded.fields, leads.fields)",
                )
                .map_err(fail)?;
            for lead in leads {
                let existed = exists
                    .exists(params![campaign.0, lead.phone.0.as_str()])
                    .map_err(fail)?;
                let fields = serde_json::Value::Object(lead.fields.clone()).to_string();
                upsert
                    .execute(params![
                        campaign.0,
                        lead.phone.0.as_str(),
                        lead.time_zone,
                        lead.region,
                        lead.priority,
                        fields,
                        micros(now),
                        lead.source,
                    ])
                    .map_err(fail)?;
                if existed {
                    counts.merged += 1;
                } else {
                    counts.inserted += 1;
                }
            }
        }
        tx.commit().map_err(fail)?;
        Ok(counts)
    }

    /// Leads of a campaign by status (`new`, `dialing`, `waiting`, `done`, `dnc`, `no_window`).
    pub fn lead_counts(&self, campaign: CampaignId) -> Result<BTreeMap<String, u64>, StoreError> {
        self.count_by(
            "SELECT status, COUNT(*) FROM leads WHERE campaign_id = ?1 GROUP BY status",
            campaign,
            "cannot count leads",
        )
    }

    /// Attempts per outcome of a campaign (`in_flight` for those without one).
    pub fn outcome_counts(
        &self,
        campaign: CampaignId,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        self.count_by(
            "SELECT COALESCE(outcome, 'in_flight'), COUNT(*) FROM attempts WHERE campaign_id = ?1 GROUP BY 1",
            campaign,
            "cannot count attempts",
        )
    }

    /// Attempts made per lead phone number (for checks: no lead dialed more than allowed).
    pub fn attempts_per_phone(
        &self,
        campaign: CampaignId,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        self.count_by(
            "SELECT phone, COUNT(*) FROM attempts WHERE campaign_id = ?1 GROUP BY phone",
            campaign,
            "cannot count attempts",
        )
    }

    /// Runs a `SELECT key, COUNT(*) ... WHERE campaign_id = ?1 GROUP BY key` query.
    fn count_by(
        &self,
        sql: &str,
        campaign: CampaignId,
        what: &'static str,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut statement = self.conn.prepare(sql).map_err(|e| self.err(what, e))?;
        let rows = statement
            .query_map(params![campaign.0], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| self.err(what, e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| self.err(what, e))
    }

    // ---- The do-not-call list ----

    /// Adds a number to the DNC list; false if it was already there.
    pub fn dnc_add(
        &mut self,
        number: &PhoneNumber,
        source: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.conn
            .execute(
                "INSERT INTO dnc (phone, added_at, source) VALUES (?1, ?2, ?3) ON CONFLICT(phone) DO NOTHING",
                params![number.0.as_str(), micros(now), source],
            )
            .map(|changed| changed > 0)
            .map_err(|e| self.err("cannot add to the DNC list", e))
    }

    /// Adds many numbers in one transaction; returns how many were new.
    pub fn dnc_add_all(
        &mut self,
        numbers: &[PhoneNumber],
        source: &str,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let path = self.path.clone();
        let fail = |source| StoreError::Sqlite {
            path: path.clone(),
            action: "cannot add to the DNC list",
            source,
        };
        let tx = self.conn.transaction().map_err(fail)?;
        let mut added = 0;
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO dnc (phone, added_at, source) VALUES (?1, ?2, ?3) ON CONFLICT(phone) DO NOTHING",
                )
                .map_err(fail)?;
            for number in numbers {
                added += insert
                    .execute(params![number.0.as_str(), micros(now), source])
                    .map_err(fail)? as u64;
            }
        }
        tx.commit().map_err(fail)?;
        Ok(added)
    }

    /// Removes a number from the DNC list; false if it was not there.
    pub fn dnc_remove(&mut self, number: &PhoneNumber) -> Result<bool, StoreError> {
        self.conn
            .execute(
                "DELETE FROM dnc WHERE phone = ?1",
                params![number.0.as_str()],
            )
            .map(|changed| changed > 0)
            .map_err(|e| self.err("cannot remove from the DNC list", e))
    }

    pub fn dnc_contains(&self, number: &PhoneNumber) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT 1 FROM dnc WHERE phone = ?1")
            .and_then(|mut s| s.exists(params![number.0.as_str()]))
            .map_err(|e| self.err("cannot read the DNC list", e))
    }

    /// The whole DNC list, in number order.
    pub fn dnc_list(&self) -> Result<Vec<PhoneNumber>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT phone FROM dnc ORDER BY phone")
            .map_err(|e| self.err("cannot read the DNC list", e))?;
        let rows = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(|e| self.err("cannot read the DNC list", e))?;
        rows.map(|row| row.map(|phone| PhoneNumber(phone.into())))
            .collect::<Result<_, _>>()
            .map_err(|e| self.err("cannot read the DNC list", e))
    }

    // ---- The abandon log (the 24-hour and 30-day windows) ----

    /// Abandon-log entries of a campaign at or after `since`, oldest first.
    pub fn abandon_events_since(
        &self,
        campaign: CampaignId,
        since: Timestamp,
    ) -> Result<Vec<StoredAbandonEvent>, StoreError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT at, attempt, kind, answered_at, reached_queue, wait_us, true_abandon \
                 FROM abandon_log WHERE campaign_id = ?1 AND at >= ?2 ORDER BY at, rowid",
            )
            .map_err(|e| self.err("cannot read the abandon log", e))?;
        let rows = statement
            .query_map(params![campaign.0, micros(since)], |row| {
                Ok((
                    (
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                    ),
                    (
                        row.get::<_, Option<i64>>(3)?,
                        row.get::<_, Option<bool>>(4)?,
                        row.get::<_, Option<i64>>(5)?,
                        row.get::<_, Option<bool>>(6)?,
                    ),
                ))
            })
            .map_err(|e| self.err("cannot read the abandon log", e))?;
        let mut events = Vec::new();
        for row in rows {
            let ((at, attempt, kind), (answered_at, reached_queue, wait_us, true_abandon)) =
                row.map_err(|e| self.err("cannot read the abandon log", e))?;
            // A kind this build does not know is skipped, not guessed at.
            let Some(kind) = AbandonKind::parse(&kind) else {
                continue;
            };
            let version_1_wait = (kind == AbandonKind::LiveConnected).then_some(SimDuration::ZERO);
            events.push(StoredAbandonEvent {
                at: instant(at),
                attempt: AttemptId(attempt as u64),
                kind,
                answered_at: instant(answered_at.unwrap_or(at)),
                reached_queue: reached_queue.unwrap_or(true),
                wait_for_agent: match wait_us {
                    Some(wait) => Some(SimDuration(wait.max(0) as u64)),
                    None if answered_at.is_some() => None,
                    None => version_1_wait,
                },
                abandoned_in_queue: true_abandon.unwrap_or(kind == AbandonKind::LiveAbandoned),
            });
        }
        Ok(events)
    }

    /// Every answered call of the campaign's runs before `epoch` (this run's engine time zero),
    /// for its abandon accounting: campaign to date, and the windows it is still inside.
    pub fn prior_answers(
        &self,
        campaign: CampaignId,
        epoch: Timestamp,
    ) -> Result<Vec<PriorAnswer>, StoreError> {
        let events = self.abandon_events_since(campaign, Timestamp::MIN)?;
        Ok(events
            .into_iter()
            .filter(|event| event.kind != AbandonKind::Machine)
            .map(|event| PriorAnswer {
                age: SimDuration(
                    epoch
                        .as_microsecond()
                        .saturating_sub(event.answered_at.as_microsecond())
                        .max(0) as u64,
                ),
                reached_queue: event.reached_queue,
                wait_for_agent: event.wait_for_agent,
                abandoned_in_queue: event.abandoned_in_queue,
            })
            .collect())
    }

    /// Deletes abandon-log entries older than `before` (past every window); returns how many.
    pub fn prune_abandon_events(
        &mut self,
        campaign: CampaignId,
        before: Timestamp,
    ) -> Result<u64, StoreError> {
        self.conn
            .execute(
                "DELETE FROM abandon_log WHERE campaign_id = ?1 AND at < ?2",
                params![campaign.0, micros(before)],
            )
            .map(|n| n as u64)
            .map_err(|e| self.err("cannot prune the abandon log", e))
    }

    // ---- Running and recovering a campaign ----

    /// Attempts of a campaign that have no outcome (in flight when the last run stopped).
    pub fn open_attempts(&self, campaign: CampaignId) -> Result<Vec<OpenAttempt>, StoreError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT attempt, lead_id, phone, switch_call FROM attempts
                 WHERE campaign_id = ?1 AND outcome IS NULL ORDER BY attempt",
            )
            .map_err(|e| self.err("cannot read open attempts", e))?;
        let rows = statement
            .query_map(params![campaign.0], |row| {
                Ok(OpenAttempt {
                    attempt: AttemptId(row.get::<_, i64>(0)? as u64),
                    lead: LeadId(row.get::<_, Option<i64>>(1)?.unwrap_or(-1) as u64),
                    callee: PhoneNumber(row.get::<_, String>(2)?.into()),
                    switch_call: row
                        .get::<_, Option<String>>(3)?
                        .map(|stored| writer::call_id_of_stored(&stored).into()),
                })
            })
            .map_err(|e| self.err("cannot read open attempts", e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| self.err("cannot read open attempts", e))
    }

    /// Settles the attempts a crash left in flight: each is matched against the switch's
    /// active calls ([`recovery::resolve`]); those not on the switch end as `unknown` at `now`
    /// and their leads follow `policy`'s rule for unknown outcomes. Nothing is redialed
    /// blindly: a lead whose call the switch still carries stays `dialing`.
    pub fn recover(
        &mut self,
        campaign: CampaignId,
        active: Option<&SwitchActiveCalls>,
        policy: &RedialPolicy,
        now: Timestamp,
    ) -> Result<RecoveryCounts, StoreError> {
        let open = self.open_attempts(campaign)?;
        let decisions = recovery::resolve(&open, active);
        let mut counts = RecoveryCounts {
            open: open.len() as u64,
            ..RecoveryCounts::default()
        };
        let path = self.path.clone();
        let fail = |source| StoreError::Sqlite {
            path: path.clone(),
            action: "cannot record recovered attempts",
            source,
        };
        let tx = self.conn.transaction().map_err(fail)?;
        for (attempt, (id, resolution)) in open.iter().zip(decisions) {
            let Resolution::OutcomeUnknown(because) = resolution else {
                counts.still_on_switch += 1;
                continue;
            };
            tx.execute(
                "UPDATE attempts SET outcome = 'unknown', ended_at = ?3, reason = ?4
                 WHERE campaign_id = ?1 AND attempt = ?2",
                params![campaign.0, id.0 as i64, micros(now), because.as_str()],
            )
            .map_err(fail)?;
            counts.marked_unknown += 1;
            let attempts: Option<i64> = tx
                .query_row(
                    "SELECT attempts FROM leads WHERE phone = ?1 AND campaign_id = ?2",
                    params![attempt.callee.0.as_str(), campaign.0],
                    |row| row.get(0),
                )
                .optional()
                .map_err(fail)?;
            let Some(attempts) = attempts else { continue };
            // Engine time zero is `now` for the decision.
            let (status, next_at) =
                match policy.fate_after(attempts as u32, Outcome::Unknown, SimTime::ZERO) {
                    LeadFate::RedialAt(at) => {
                        counts.leads_waiting += 1;
                        ("waiting", Some(micros(now) + at.as_micros() as i64))
                    }
                    LeadFate::Done => ("done", None),
                };
            tx.execute(
                "UPDATE leads SET status = ?3, next_at = ?4, last_outcome = 'unknown'
                 WHERE campaign_id = ?1 AND phone = ?2",
                params![campaign.0, attempt.callee.0.as_str(), status, next_at],
            )
            .map_err(fail)?;
        }
        tx.commit().map_err(fail)?;
        Ok(counts)
    }

    /// Loads a campaign's leads for a run whose engine time zero is `compliance`'s epoch:
    /// zones are interned into `compliance`, the DNC list is loaded into it, and each lead
    /// resumes where it stood (attempts, next due time, attempts on its current local day).
    pub fn load_campaign(
        &self,
        name: &str,
        compliance: &mut Compliance,
    ) -> Result<LoadedCampaign, StoreError> {
        let id = self
            .find_campaign(name)?
            .ok_or_else(|| StoreError::NoCampaign(name.to_string()))?;
        let read = |e| self.err("cannot load the campaign", e);
        let mut statement = self
            .conn
            .prepare(
                "SELECT id, phone, time_zone, region, priority, created_at, status, attempts, next_at, last_outcome
                 FROM leads WHERE campaign_id = ?1 ORDER BY id",
            )
            .map_err(read)?;
        struct Row {
            id: i64,
            phone: String,
            time_zone: Option<String>,
            region: Option<String>,
            priority: i64,
            created_at: i64,
            status: String,
            attempts: i64,
            next_at: Option<i64>,
            last_outcome: Option<String>,
        }
        let rows = statement
            .query_map(params![id.0], |row| {
                Ok(Row {
                    id: row.get(0)?,
                    phone: row.get(1)?,
                    time_zone: row.get(2)?,
                    region: row.get(3)?,
                    priority: row.get(4)?,
                    created_at: row.get(5)?,
                    status: row.get(6)?,
                    attempts: row.get(7)?,
                    next_at: row.get(8)?,
                    last_outcome: row.get(9)?,
                })
            })
            .map_err(read)?
            .collect::<Result<Vec<Row>, _>>()
            .map_err(read)?;
        let mut row_index = BTreeMap::new();
        let mut leads = Vec::with_capacity(rows.len());
        let mut lead_rows = Vec::with_capacity(rows.len());
        let mut unknown_zones = 0;
        for row in rows {
            let zone = lead_zone(compliance, row.time_zone.as_deref(), row.region.as_deref());
            if zone.is_err() {
                unknown_zones += 1;
            }
            let status = match row.status.as_str() {
                "new" => PriorStatus::Fresh,
                "waiting" => {
                    PriorStatus::Waiting(compliance.engine_time(instant(row.next_at.unwrap_or(0))))
                }
                "dialing" => PriorStatus::Dialing,
                "dnc" => PriorStatus::DoNotCall,
                // A lead without a window last time is looked at again.
                "no_window" => PriorStatus::Waiting(SimTime::ZERO),
                _ => PriorStatus::Done,
            };
            row_index.insert(row.id, leads.len());
            lead_rows.push(row.id);
            leads.push(ListedLead {
                number: PhoneNumber(row.phone.into()),
                zone: zone.ok().flatten(),
                priority: row.priority.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
                added: row.created_at,
                status,
                attempts: row.attempts.max(0) as u32,
                attempts_today: 0,
                day: 0,
                last_outcome: row.last_outcome.as_deref().and_then(outcome_from_str),
            });
        }
        // Attempts of each lead's current local day, for the per-day limit.
        let since = micros(compliance.epoch()) - 48 * 3_600_000_000;
        let mut recent = self
            .conn
            .prepare("SELECT lead_id, started_at FROM attempts WHERE campaign_id = ?1 AND started_at >= ?2")
            .map_err(read)?;
        let recent = recent
            .query_map(params![id.0, since], |row| {
                Ok((row.get::<_, Option<i64>>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(read)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read)?;
        let default_zone = compliance.default_zone();
        for (lead, started) in recent {
            let Some(&index) = lead.and_then(|lead| row_index.get(&lead)) else {
                continue;
            };
            let zone = leads[index].zone.unwrap_or(default_zone);
            let today = compliance.day_number(zone, compliance.epoch());
            if compliance.day_number(zone, instant(started)) == today {
                leads[index].day = today;
                leads[index].attempts_today += 1;
            }
        }
        let last: Option<i64> = self
            .conn
            .query_row(
                "SELECT MAX(attempt) FROM attempts WHERE campaign_id = ?1",
                params![id.0],
                |row| row.get(0),
            )
            .map_err(read)?;
        for number in self.dnc_list()? {
            compliance.dnc.add(number);
        }
        Ok(LoadedCampaign {
            id,
            leads: LeadList(leads),
            lead_rows,
            next_attempt: AttemptId(last.unwrap_or(0) as u64 + 1),
            unknown_zones,
        })
    }

    /// Appends abandon entries directly (tests and tools; a running campaign writes through
    /// its journal).
    pub fn append_abandon_event(
        &mut self,
        campaign: CampaignId,
        at: Timestamp,
        attempt: AttemptId,
        kind: AbandonKind,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO abandon_log (campaign_id, at, attempt, kind) VALUES (?1, ?2, ?3, ?4)",
                params![campaign.0, micros(at), attempt.0 as i64, kind.as_str()],
            )
            .map(drop)
            .map_err(|e| self.err("cannot append to the abandon log", e))
    }

    /// Marks a lead set aside (tests and tools; a running campaign writes through its journal).
    pub fn set_lead_aside(
        &mut self,
        lead_row: i64,
        reason: SetAsideReason,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE leads SET status = ?2 WHERE id = ?1",
                params![lead_row, set_aside_status(reason)],
            )
            .map(drop)
            .map_err(|e| self.err("cannot update the lead", e))
    }
}

pub(crate) fn set_aside_status(reason: SetAsideReason) -> &'static str {
    match reason {
        SetAsideReason::DoNotCall => "dnc",
        SetAsideReason::NoWindow => "no_window",
    }
}

/// The zone a stored lead is in: its own, else its region's, else the default (`None`).
/// `Err` for a name this build does not know (the lead gets the default zone).
fn lead_zone(
    compliance: &mut Compliance,
    time_zone: Option<&str>,
    region: Option<&str>,
) -> Result<Option<ZoneId>, ()> {
    if let Some(name) = time_zone {
        if name.starts_with("region:") {
            return Err(());
        }
        return compliance.intern_named_zone(name).map(Some).ok_or(());
    }
    let Some(region) = region else {
        return Ok(None);
    };
    // A region not in the table: the default zone.
    Ok(compliance.intern_named_zone(&crate::compliance::region_zone_name(region)))
}

pub(crate) fn outcome_from_str(text: &str) -> Option<Outcome> {
    Outcome::ALL.into_iter().find(|o| o.as_str() == text)
}

/// A stored campaign made ready to run: recovered, loaded, and its journal started.
pub struct RunPlan {
    pub campaign: CampaignId,
    /// The campaign's leads, each where it stood.
    pub leads: crate::campaign::hopper::LeadSource,
    /// Its rules, with its leads' zones and the DNC list loaded.
    pub compliance: Compliance,
    /// Its journal, numbering attempts after the last run's.
    pub journal: crate::campaign::supervisor::JournalSetup,
    /// What recovering the last run's attempts in flight did.
    pub recovery: RecoveryCounts,
    /// The attempts the switch still carried ([`RecoveryCounts::still_on_switch`]): the run
    /// watches them on the active-call list until they end (their leads stay dialing).
    pub recovered: Vec<RecoveredAttempt>,
    /// The answered calls of earlier runs, for the abandon windows
    /// ([`crate::pacing::abandon::AbandonLedger::carry_in`]).
    pub prior_answers: Vec<PriorAnswer>,
    pub unknown_zones: u64,
}

/// What a run of a stored campaign is made of, besides the store.
pub struct RunSettings<'a> {
    /// The real instant of the run's engine time zero (the wall clock at start, in live mode).
    pub epoch: Timestamp,
    pub policy: &'a RedialPolicy,
    pub hours: Option<crate::compliance::hours::CallingHours>,
    /// The zone of leads that have none (name, zone).
    pub default_zone: (&'a str, jiff::tz::TimeZone),
    /// The switch's active calls, to reconcile attempts a crash left in flight (`None`: no
    /// list could be had; they all end as `unknown`). The live runner fetches them at the
    /// start, matched by the call ids the journal kept.
    pub active: Option<&'a SwitchActiveCalls>,
    pub durability: Durability,
}

/// How many attempts of the stored campaign `name` have no outcome (the last run left them in
/// flight): the live runner asks the switch for its active calls at the start only if any.
pub fn open_attempt_count(path: &Path, name: &str) -> Result<usize, StoreError> {
    let store = Store::open(path)?;
    let id = store
        .find_campaign(name)?
        .ok_or_else(|| StoreError::NoCampaign(name.to_string()))?;
    Ok(store.open_attempts(id)?.len())
}

/// Prepares a run of the stored campaign `name`: settles the attempts the last run left in
/// flight ([`Store::recover`]), loads the leads and the DNC list, and starts the journal. The
/// live runner gives the plan's leads, compliance and journal to the campaign supervisor, and
/// the attempts still on the switch ([`RunPlan::recovered`]) to the supervisor and the backend.
pub fn prepare_run(
    path: &Path,
    name: &str,
    settings: RunSettings<'_>,
) -> Result<RunPlan, StoreError> {
    let mut store = Store::open(path)?;
    let id = store
        .find_campaign(name)?
        .ok_or_else(|| StoreError::NoCampaign(name.to_string()))?;
    let recovery = store.recover(id, settings.active, settings.policy, settings.epoch)?;
    // What `recover` left open is what the switch still carries.
    let still_open = store.open_attempts(id)?;
    let prior_answers = store.prior_answers(id, settings.epoch)?;
    let mut compliance = Compliance::new(settings.epoch, settings.hours, settings.default_zone);
    let loaded = store.load_campaign(name, &mut compliance)?;
    let lead_of_row: BTreeMap<i64, LeadId> = loaded
        .lead_rows
        .iter()
        .enumerate()
        .map(|(index, row)| (*row, LeadId(index as u64)))
        .collect();
    let recovered = still_open
        .into_iter()
        .map(|open| RecoveredAttempt {
            attempt: open.attempt,
            // `OpenAttempt::lead` holds the store's row id.
            lead: i64::try_from(open.lead.0)
                .ok()
                .and_then(|row| lead_of_row.get(&row).copied()),
            callee: open.callee,
            switch_call: open.switch_call,
        })
        .collect();
    let journal = SqliteJournal::start(
        path,
        id,
        settings.epoch,
        loaded.lead_rows,
        settings.durability,
    )?;
    Ok(RunPlan {
        campaign: id,
        leads: crate::campaign::hopper::LeadSource::List(loaded.leads),
        compliance,
        journal: crate::campaign::supervisor::JournalSetup {
            journal: Box::new(journal),
            first_attempt: loaded.next_attempt,
        },
        recovery,
        recovered,
        prior_answers,
        unknown_zones: loaded.unknown_zones,
    })
}
