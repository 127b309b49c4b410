//! The console's state file (`dialer serve --state FILE`): the campaigns the console was given,
//! kept in SQLite so that they come back after a restart.
//!
//! For each live campaign it keeps what it takes to show it and to start it again: its id,
//! name and description, the campaign file as submitted (TOML or JSON text) and as it runs (TOML,
//! pacing changes applied), the uploaded leads (the parsed numbers, one a line), the abandon
//! cap, when it was created, started and ended, its last known phase, and how it ended (the
//! outcome, the error text, the last status and the final report as JSON). It also keeps the
//! next campaign id, so that ids are never used twice, not even those of campaigns it does not
//! keep (played-back traces, the demo's own campaign).
//!
//! The file is opened in WAL mode with `synchronous = FULL` (a console writes a few times a
//! minute; each write is one small transaction, on disk when it returns), is created readable
//! by its owner only (it holds campaign files, and so any password written inline in them), and
//! has a schema version table (`console_schema`) that later versions migrate from. One console
//! at a time: the file is locked (`flock`, beside SQLite's own locks) while it is open, and a
//! second console on it is refused (after waiting two seconds for the first to let go).
//!
//! This module reads and writes records; it must not decide phases, check campaign files or
//! run anything: the manager ([`super::manager`]) does, and tells it what to keep.

use super::manager::Phase;
use crate::live::LiveStatus;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The schema, one migration per version: `MIGRATIONS[0]` takes an empty file to version 1.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE console_counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    CREATE TABLE console_campaigns (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        submitted_format TEXT NOT NULL,
        submitted_text TEXT NOT NULL,
        source TEXT NOT NULL,
        uploaded_leads TEXT,
        leads_listed INTEGER,
        abandon_cap REAL NOT NULL,
        created_unix_ms INTEGER NOT NULL,
        phase TEXT NOT NULL,
        started_unix_ms INTEGER,
        ended_unix_ms INTEGER,
        outcome TEXT,
        error TEXT,
        final_status TEXT,
        report TEXT
    );
"];

/// The schema version this dialer writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The counter holding the next campaign id.
const NEXT_ID: &str = "next_campaign_id";

/// How long a write waits for another connection's lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long opening waits for another console to let go of the file (one still shutting
/// down) before it gives up.
const IN_USE_WAIT: Duration = Duration::from_secs(2);

/// Why the state file could not be opened, read or written. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("the console state file {path} cannot be created: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the console state file {path} is in use by another console (another `dialer serve --state` on the same file)"
    )]
    InUse { path: String },
    #[error("the console state file {path} cannot be locked: {source}")]
    Lock {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the console state file {path} cannot be read: {action}: {source}")]
    Unreadable {
        path: String,
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{path} is an SQLite database but not a console state file (it has the tables {tables} and no console_schema); give `dialer serve --state` a file of its own"
    )]
    NotAStateFile { path: String, tables: String },
    #[error(
        "the console state file {path} has schema version {found}, newer than this dialer knows ({known}); use a newer dialer"
    )]
    NewerSchema {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("the console state file {path}: campaign {id}: {message}")]
    BadRecord {
        path: String,
        id: i64,
        message: String,
    },
    #[error("the console state file {path} is closed: the console has shut down")]
    Closed { path: String },
    #[error("cannot write to the console state file {path}: {action}: {source}")]
    Write {
        path: String,
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },
}

/// How a campaign file was submitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Toml,
    Json,
}

impl FileFormat {
    fn as_str(self) -> &'static str {
        match self {
            FileFormat::Toml => "toml",
            FileFormat::Json => "json",
        }
    }

    fn parse(text: &str) -> Option<FileFormat> {
        [FileFormat::Toml, FileFormat::Json]
            .into_iter()
            .find(|format| format.as_str() == text)
    }
}

/// Every way a live run ends, for reading them back.
const OUTCOMES: [LiveStatus; 4] = [
    LiveStatus::Completed,
    LiveStatus::DeadlineReached,
    LiveStatus::Stopped,
    LiveStatus::Aborted,
];

/// The outcome's name, as the API spells it.
fn outcome_name(outcome: LiveStatus) -> &'static str {
    match outcome {
        LiveStatus::Completed => "completed",
        LiveStatus::DeadlineReached => "deadline_reached",
        LiveStatus::Stopped => "stopped",
        LiveStatus::Aborted => "aborted",
    }
}

/// Where a campaign stands and how it ended: what changes as it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub phase: Phase,
    pub started_unix_ms: Option<u64>,
    pub ended_unix_ms: Option<u64>,
    pub outcome: Option<LiveStatus>,
    pub error: Option<String>,
    /// The last status (the numbers the console shows), as the API shows it.
    pub status: Option<serde_json::Value>,
    /// The final report, as the API shows it.
    pub report: Option<serde_json::Value>,
}

/// One kept campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignRecord {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub submitted_format: FileFormat,
    /// The campaign file as submitted (JSON as re-written by the console).
    pub submitted_text: String,
    /// The campaign file as it runs: TOML, with the leads uploaded at creation and pacing
    /// changes applied.
    pub source: String,
    /// The uploaded lead list in effect (E.164 numbers, one a line), if the leads were uploaded.
    pub uploaded_leads: Option<String>,
    pub leads_listed: Option<usize>,
    pub abandon_cap: f64,
    pub created_unix_ms: u64,
    pub progress: Progress,
}

/// What the state file held when it was opened.
#[derive(Debug, Default)]
pub struct Loaded {
    /// In the order of their ids.
    pub campaigns: Vec<CampaignRecord>,
    /// The first id never given out.
    pub next_id: u64,
}

/// An open state file. Writes are serialised; each is one transaction.
pub struct StateFile {
    path: String,
    /// `None` once closed.
    conn: Mutex<Option<Connection>>,
    /// Held open for its lock (one console per file) until closed.
    lock: Mutex<Option<std::fs::File>>,
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl StateFile {
    /// Opens the state file at `path`, creating it (readable by its owner only) if it does not
    /// exist, and brings its schema up to date.
    pub fn open(path: &Path) -> Result<StateFile, StateFileError> {
        let shown = path.display().to_string();
        if !path.exists() {
            create_private(path).map_err(|source| StateFileError::Create {
                path: shown.clone(),
                source,
            })?;
        }
        let lock = lock_for_one_console(path, &shown)?;
        let conn = Connection::open(path).map_err(|source| StateFileError::Unreadable {
            path: shown.clone(),
            action: "cannot open it",
            source,
        })?;
        let unreadable = |action: &'static str| {
            let path = shown.clone();
            move |source| StateFileError::Unreadable {
                path,
                action,
                source,
            }
        };
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(unreadable("cannot set it up"))?;
        // The first read: a file that is not a database fails here.
        conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| {
            row.get::<_, i64>(0)
        })
        .map_err(unreadable("cannot read its tables"))?;
        let _mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .map_err(unreadable("cannot switch it to WAL mode"))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(unreadable("cannot set it up"))?;
        let state = StateFile {
            path: shown,
            conn: Mutex::new(Some(conn)),
            lock: Mutex::new(Some(lock)),
        };
        state.migrate()?;
        Ok(state)
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The connection, `None` once closed; writes wait for each other here.
    fn connection(&self) -> MutexGuard<'_, Option<Connection>> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn closed(&self) -> StateFileError {
        StateFileError::Closed {
            path: self.path.clone(),
        }
    }

    /// Closes the file and lets another console open it (the console shuts down). Later
    /// writes fail with [`StateFileError::Closed`].
    pub fn close(&self) {
        self.connection().take();
        self.lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
    }

    fn unreadable(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> StateFileError {
        let path = self.path.clone();
        move |source| StateFileError::Unreadable {
            path,
            action,
            source,
        }
    }

    fn write_error(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> StateFileError {
        let path = self.path.clone();
        move |source| StateFileError::Write {
            path,
            action,
            source,
        }
    }

    /// The schema version, or `None` for a file without the version table.
    fn schema_version(&self, conn: &Connection) -> Result<Option<i64>, StateFileError> {
        let has_table: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'console_schema'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.unreadable("cannot list its tables"))?;
        if has_table.is_none() {
            return Ok(None);
        }
        conn.query_row("SELECT MAX(version) FROM console_schema", [], |row| {
            row.get::<_, Option<i64>>(0)
        })
        .map(|version| Some(version.unwrap_or(0)))
        .map_err(self.unreadable("cannot read the schema version"))
    }

    fn migrate(&self) -> Result<(), StateFileError> {
        let mut guard = self.connection();
        let conn = guard.as_mut().ok_or_else(|| self.closed())?;
        let found = match self.schema_version(conn)? {
            Some(version) => version,
            None => {
                let mut statement = conn
                    .prepare(
                        "SELECT name FROM sqlite_master WHERE type = 'table' \
                         AND name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 6",
                    )
                    .map_err(self.unreadable("cannot list its tables"))?;
                let tables: Vec<String> = statement
                    .query_map([], |row| row.get(0))
                    .and_then(|rows| rows.collect())
                    .map_err(self.unreadable("cannot list its tables"))?;
                drop(statement);
                if !tables.is_empty() {
                    return Err(StateFileError::NotAStateFile {
                        path: self.path.clone(),
                        tables: tables.join(", "),
                    });
                }
                conn.execute_batch(
                    "CREATE TABLE console_schema (version INTEGER NOT NULL);
                     INSERT INTO console_schema (version) VALUES (0);",
                )
                .map_err(self.write_error("cannot create the schema version table"))?;
                0
            }
        };
        if found > SCHEMA_VERSION {
            return Err(StateFileError::NewerSchema {
                path: self.path.clone(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
            let version = index as i64 + 1;
            let tx = conn
                .transaction()
                .map_err(self.write_error("cannot migrate the schema"))?;
            tx.execute_batch(migration)
                .map_err(self.write_error("cannot migrate the schema"))?;
            tx.execute("UPDATE console_schema SET version = ?1", params![version])
                .map_err(self.write_error("cannot migrate the schema"))?;
            tx.commit()
                .map_err(self.write_error("cannot migrate the schema"))?;
        }
        Ok(())
    }

    /// Everything kept, and the next id to give out.
    pub fn load(&self) -> Result<Loaded, StateFileError> {
        let guard = self.connection();
        let conn = guard.as_ref().ok_or_else(|| self.closed())?;
        let counter: Option<i64> = conn
            .query_row(
                "SELECT value FROM console_counters WHERE name = ?1",
                params![NEXT_ID],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.unreadable("cannot read the next campaign id"))?;
        let mut statement = conn
            .prepare(
                "SELECT id, name, description, submitted_format, submitted_text, source,
                        uploaded_leads, leads_listed, abandon_cap, created_unix_ms, phase,
                        started_unix_ms, ended_unix_ms, outcome, error, final_status, report
                 FROM console_campaigns ORDER BY id",
            )
            .map_err(self.unreadable("cannot read its campaigns"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(RawRecord {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    description: row.get(2)?,
                    submitted_format: row.get(3)?,
                    submitted_text: row.get(4)?,
                    source: row.get(5)?,
                    uploaded_leads: row.get(6)?,
                    leads_listed: row.get(7)?,
                    abandon_cap: row.get(8)?,
                    created_unix_ms: row.get(9)?,
                    phase: row.get(10)?,
                    started_unix_ms: row.get(11)?,
                    ended_unix_ms: row.get(12)?,
                    outcome: row.get(13)?,
                    error: row.get(14)?,
                    final_status: row.get(15)?,
                    report: row.get(16)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<RawRecord>, _>>())
            .map_err(self.unreadable("cannot read its campaigns"))?;
        let campaigns = rows
            .into_iter()
            .map(|raw| raw.into_record(&self.path))
            .collect::<Result<Vec<_>, _>>()?;
        let after_last = campaigns.last().map_or(1, |c| c.id.saturating_add(1));
        let next_id = counter.map_or(1, to_u64).max(after_last).max(1);
        Ok(Loaded { campaigns, next_id })
    }

    /// Notes that ids below `next_id` have been given out.
    pub fn reserve_ids_below(&self, next_id: u64) -> Result<(), StateFileError> {
        let guard = self.connection();
        let conn = guard.as_ref().ok_or_else(|| self.closed())?;
        conn.execute(
            "INSERT INTO console_counters (name, value) VALUES (?1, ?2)
                 ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value)",
            params![NEXT_ID, to_i64(next_id)],
        )
        .map(drop)
        .map_err(self.write_error("cannot save the next campaign id"))
    }

    /// Writes a whole campaign, new or not.
    pub fn save_campaign(&self, record: &CampaignRecord) -> Result<(), StateFileError> {
        let progress = &record.progress;
        let status = json_text(progress.status.as_ref());
        let report = json_text(progress.report.as_ref());
        let guard = self.connection();
        let conn = guard.as_ref().ok_or_else(|| self.closed())?;
        conn.execute(
            "INSERT INTO console_campaigns (id, name, description, submitted_format,
                     submitted_text, source, uploaded_leads, leads_listed, abandon_cap,
                     created_unix_ms, phase, started_unix_ms, ended_unix_ms, outcome, error,
                     final_status, report)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name,
                     description = excluded.description,
                     submitted_format = excluded.submitted_format,
                     submitted_text = excluded.submitted_text, source = excluded.source,
                     uploaded_leads = excluded.uploaded_leads,
                     leads_listed = excluded.leads_listed, abandon_cap = excluded.abandon_cap,
                     created_unix_ms = excluded.created_unix_ms, phase = excluded.phase,
                     started_unix_ms = excluded.started_unix_ms,
                     ended_unix_ms = excluded.ended_unix_ms, outcome = excluded.outcome,
                     error = excluded.error, final_status = excluded.final_status,
                     report = excluded.report",
            params![
                to_i64(record.id),
                record.name,
                record.description,
                record.submitted_format.as_str(),
                record.submitted_text,
                record.source,
                record.uploaded_leads,
                record.leads_listed.map(|n| to_i64(n as u64)),
                record.abandon_cap,
                to_i64(record.created_unix_ms),
                progress.phase.as_str(),
                progress.started_unix_ms.map(to_i64),
                progress.ended_unix_ms.map(to_i64),
                progress.outcome.map(outcome_name),
                progress.error,
                status,
                report,
            ],
        )
        .map(drop)
        .map_err(self.write_error("cannot save the campaign"))
    }

    /// Writes a kept campaign's phase and end summary.
    pub fn save_progress(&self, id: u64, progress: &Progress) -> Result<(), StateFileError> {
        let status = json_text(progress.status.as_ref());
        let report = json_text(progress.report.as_ref());
        let guard = self.connection();
        let conn = guard.as_ref().ok_or_else(|| self.closed())?;
        let changed = conn
            .execute(
                "UPDATE console_campaigns SET phase = ?2, started_unix_ms = ?3,
                     ended_unix_ms = ?4, outcome = ?5, error = ?6, final_status = ?7, report = ?8
                 WHERE id = ?1",
                params![
                    to_i64(id),
                    progress.phase.as_str(),
                    progress.started_unix_ms.map(to_i64),
                    progress.ended_unix_ms.map(to_i64),
                    progress.outcome.map(outcome_name),
                    progress.error,
                    status,
                    report,
                ],
            )
            .map_err(self.write_error("cannot save the campaign's phase"))?;
        if changed == 0 {
            return Err(StateFileError::Write {
                path: self.path.clone(),
                action: "cannot save the campaign's phase",
                source: rusqlite::Error::QueryReturnedNoRows,
            });
        }
        Ok(())
    }
}

fn json_text(value: Option<&serde_json::Value>) -> Option<String> {
    value.map(serde_json::Value::to_string)
}

/// Locks the file for this console: an advisory `flock`, which SQLite's own (`fcntl`) locks do
/// not see, held until the returned file is dropped. Waits up to [`IN_USE_WAIT`] for a console
/// that is letting go of it.
fn lock_for_one_console(path: &Path, shown: &str) -> Result<std::fs::File, StateFileError> {
    let lock_error = |source| StateFileError::Lock {
        path: shown.to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(lock_error)?;
    let started = crate::clock::monotonic_now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < IN_USE_WAIT => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StateFileError::InUse {
                    path: shown.to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(source)) => return Err(lock_error(source)),
        }
    }
}

/// Creates an empty file only its owner can read and write.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Someone else created it meanwhile: open that one.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

/// A row as stored, before its values are checked.
struct RawRecord {
    id: i64,
    name: String,
    description: String,
    submitted_format: String,
    submitted_text: String,
    source: String,
    uploaded_leads: Option<String>,
    leads_listed: Option<i64>,
    abandon_cap: f64,
    created_unix_ms: i64,
    phase: String,
    started_unix_ms: Option<i64>,
    ended_unix_ms: Option<i64>,
    outcome: Option<String>,
    error: Option<String>,
    final_status: Option<String>,
    report: Option<String>,
}

impl RawRecord {
    fn into_record(self, path: &str) -> Result<CampaignRecord, StateFileError> {
        let id = self.id;
        let bad = |message: String| StateFileError::BadRecord {
            path: path.to_string(),
            id,
            message,
        };
        if id < 1 {
            return Err(bad("the id must be a positive number".into()));
        }
        let quoted = |text: &str| format!("\"{}\"", crate::text::shown(text));
        let submitted_format = FileFormat::parse(&self.submitted_format).ok_or_else(|| {
            bad(format!(
                "submitted_format {} is not toml or json",
                quoted(&self.submitted_format)
            ))
        })?;
        let phase = Phase::ALL
            .into_iter()
            .find(|phase| phase.as_str() == self.phase)
            .ok_or_else(|| bad(format!("phase {} is not a phase", quoted(&self.phase))))?;
        let outcome = match &self.outcome {
            None => None,
            Some(text) => Some(
                OUTCOMES
                    .into_iter()
                    .find(|outcome| outcome_name(*outcome) == text)
                    .ok_or_else(|| bad(format!("outcome {} is not an outcome", quoted(text))))?,
            ),
        };
        let json = |what: &str, text: &Option<String>| match text {
            None => Ok(None),
            Some(text) => serde_json::from_str(text)
                .map(Some)
                .map_err(|error| bad(format!("{what} is not JSON: {error}"))),
        };
        let status = json("the final status", &self.final_status)?;
        let report = json("the report", &self.report)?;
        if !(self.abandon_cap > 0.0 && self.abandon_cap < 1.0) {
            return Err(bad(format!(
                "abandon_cap {} is not a fraction between 0 and 1",
                self.abandon_cap
            )));
        }
        Ok(CampaignRecord {
            id: to_u64(id),
            name: self.name,
            description: self.description,
            submitted_format,
            submitted_text: self.submitted_text,
            source: self.source,
            uploaded_leads: self.uploaded_leads,
            leads_listed: self.leads_listed.map(|n| to_u64(n) as usize),
            abandon_cap: self.abandon_cap,
            created_unix_ms: to_u64(self.created_unix_ms),
            progress: Progress {
                phase,
                started_unix_ms: self.started_unix_ms.map(to_u64),
                ended_unix_ms: self.ended_unix_ms.map(to_u64),
                outcome,
                error: self.error,
                status,
                report,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, phase: Phase) -> CampaignRecord {
        CampaignRecord {
            id,
            name: format!("campaign {id}"),
            description: "kept".into(),
            submitted_format: FileFormat::Json,
            submitted_text: "{\"campaign\": {}}".into(),
            source: "[campaign]\nname = \"x\"\n".into(),
            uploaded_leads: Some("+15550100001\n+15550100002\n".into()),
            leads_listed: Some(2),
            abandon_cap: 0.05,
            created_unix_ms: 1_700_000_000_000,
            progress: Progress {
                phase,
                started_unix_ms: None,
                ended_unix_ms: None,
                outcome: None,
                error: None,
                status: None,
                report: None,
            },
        }
    }

    fn temp_path(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join(name);
        (dir, path)
    }

    #[test]
    fn campaigns_and_the_next_id_survive_reopening() {
        let (_dir, path) = temp_path("state.db");
        {
            let state = StateFile::open(&path).expect("a new state file");
            let loaded = state.load().expect("loads");
            assert!(loaded.campaigns.is_empty());
            assert_eq!(loaded.next_id, 1);
            state.reserve_ids_below(4).expect("saved");
            state
                .save_campaign(&record(2, Phase::Created))
                .expect("saved");
            state
                .save_campaign(&record(3, Phase::Created))
                .expect("saved");
            let finished = Progress {
                phase: Phase::Finished,
                started_unix_ms: Some(1),
                ended_unix_ms: Some(2),
                outcome: Some(LiveStatus::DeadlineReached),
                error: None,
                status: Some(serde_json::json!({"attempts": 13, "abandon_rate": 0.1})),
                report: Some(serde_json::json!({"attempts": 12})),
            };
            state.save_progress(3, &finished).expect("saved");
            assert!(state.save_progress(9, &finished).is_err(), "no campaign 9");
            // A lower id never lowers the counter.
            state.reserve_ids_below(2).expect("saved");
        }
        let state = StateFile::open(&path).expect("reopened");
        let loaded = state.load().expect("loads");
        assert_eq!(loaded.next_id, 4);
        assert_eq!(loaded.campaigns.len(), 2);
        assert_eq!(loaded.campaigns[0], record(2, Phase::Created));
        let third = &loaded.campaigns[1];
        assert_eq!(third.progress.phase, Phase::Finished);
        assert_eq!(third.progress.outcome, Some(LiveStatus::DeadlineReached));
        assert_eq!(
            third.progress.report,
            Some(serde_json::json!({"attempts": 12}))
        );
        assert_eq!(
            third.progress.status,
            Some(serde_json::json!({"attempts": 13, "abandon_rate": 0.1}))
        );
        let mode: String = state
            .connection()
            .as_ref()
            .expect("open")
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .expect("a mode");
        assert_eq!(mode, "wal");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "only its owner may read it: {mode:o}");
        }
    }

    #[test]
    fn files_that_are_not_state_files_are_refused_with_their_path() {
        let (_dir, path) = temp_path("garbage.db");
        std::fs::write(
            &path,
            b"this is not an SQLite database, just some text\n".repeat(100),
        )
        .expect("written");
        let error = StateFile::open(&path).err().expect("refused").to_string();
        assert!(error.contains(&path.display().to_string()), "{error}");
        assert!(error.contains("not a database"), "{error}");

        let (_dir, path) = temp_path("other.db");
        let other = Connection::open(&path).expect("a database");
        other
            .execute_batch("CREATE TABLE leads (phone TEXT);")
            .expect("a table");
        drop(other);
        let error = StateFile::open(&path).err().expect("refused").to_string();
        assert!(error.contains("not a console state file"), "{error}");
        assert!(error.contains("leads"), "{error}");

        let (_dir, path) = temp_path("in-use.db");
        let first = StateFile::open(&path).expect("created");
        let error = StateFile::open(&path).err().expect("refused").to_string();
        assert!(error.contains("in use by another console"), "{error}");
        first.close();
        let error = first.load().expect_err("closed").to_string();
        assert!(error.contains("is closed"), "{error}");
        StateFile::open(&path).expect("free again");

        let (_dir, path) = temp_path("newer.db");
        StateFile::open(&path).expect("created");
        let conn = Connection::open(&path).expect("opens");
        conn.execute("UPDATE console_schema SET version = 99", [])
            .expect("updated");
        drop(conn);
        let error = StateFile::open(&path).err().expect("refused").to_string();
        assert!(error.contains("schema version 99"), "{error}");

        let (_dir, path) = temp_path("bad-phase.db");
        let state = StateFile::open(&path).expect("created");
        state
            .save_campaign(&record(1, Phase::Created))
            .expect("saved");
        state
            .connection()
            .as_ref()
            .expect("open")
            .execute("UPDATE console_campaigns SET phase = 'dancing'", [])
            .expect("updated");
        let error = state.load().expect_err("refused").to_string();
        assert!(
            error.contains("campaign 1") && error.contains("\"dancing\" is not a phase"),
            "{error}"
        );
    }
}
