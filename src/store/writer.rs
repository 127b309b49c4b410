//! `SqliteJournal`: the journal of a live campaign, written by one thread with batched commits.
//!
//! The campaign's actor thread never touches SQLite. It sends each record down a channel to a
//! dedicated writer thread, which owns its own connection. The writer takes whatever has
//! queued up (up to [`MAX_BATCH`] records) into one transaction and commits it, so the cost of
//! a commit is shared by every record that arrived meanwhile. [`Journal::attempts_started`]
//! sends the attempts and then a barrier, and waits for the barrier's reply, which the writer
//! sends only after the commit that holds them: the originate requests leave after that.
//!
//! The first write error is kept: every later barrier answers with it, so a campaign whose
//! store fails stops dialing instead of dialing unrecorded.
//!
//! The switch's name of a call is written to `attempts.switch_call` (with `tracking_id`) as
//! soon as the campaign hears it ([`Journal::switch_call`]), not only when the attempt ends: an
//! attempt in flight at a crash then carries it, and the restart can look it up on the
//! switch's active-call list ([`super::Store::recover`]). It is stored as `id/tag`
//! ([`stored_call`]); [`call_id_of_stored`] reads the id back.
//!
//! This thread is live-mode only: a simulation uses [`crate::journal::memory::MemoryJournal`]
//! (no threads, no I/O, no wall clock).

use super::{StoreError, configure, set_aside_status};
use crate::call::machine::AttemptRecord;
use crate::compliance::rules::LeadFate;
use crate::domain::{AppState, AttemptId, LeadId};
use crate::journal::{AbandonEvent, AttemptStarted, Journal, JournalError, SetAsideReason};
use crate::short_text::ShortText;
use crate::switch::CallRef;
use crate::time::SimTime;
use jiff::Timestamp;
use rusqlite::{Connection, params};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::thread::JoinHandle;

/// Most records in one transaction.
pub const MAX_BATCH: usize = 8192;

/// How hard a commit tries to reach the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// WAL, `synchronous=NORMAL`: a commit survives a process crash; a power loss may lose the
    /// commits since the last checkpoint. The default.
    #[default]
    Normal,
    /// WAL, `synchronous=FULL`: the WAL is synced at every commit; survives a power loss.
    Full,
}

impl Durability {
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        }
    }
}

/// How `attempts.switch_call` holds a call's identity: `id/tag`.
pub fn stored_call(call: &CallRef) -> String {
    format!("{}/{}", call.id, call.tag)
}

/// The call id of an `attempts.switch_call` value: what comes before its last `/` (a SIP tag,
/// being a token, has no `/`; a call id may). A value without `/` is taken whole.
pub fn call_id_of_stored(stored: &str) -> &str {
    stored.rsplit_once('/').map_or(stored, |(id, _tag)| id)
}

enum Record {
    Started(Vec<AttemptStarted>),
    State(AttemptId, SimTime, AppState),
    SwitchCall(AttemptId, String, ShortText),
    Ended(Box<AttemptRecord>, LeadFate, u32),
    SetAside(LeadId, SetAsideReason),
    Abandon(AbandonEvent),
    Barrier(SyncSender<Result<(), String>>),
}

/// A campaign's journal in SQLite. See the module doc.
pub struct SqliteJournal {
    to_writer: Option<Sender<Record>>,
    writer: Option<JoinHandle<()>>,
}

/// What the writer needs to turn engine records into rows.
struct Rows {
    campaign: i64,
    /// Unix microseconds of engine time zero.
    epoch: i64,
    /// The store row of each lead, by lead id.
    lead_rows: Vec<i64>,
}

impl Rows {
    fn at(&self, at: SimTime) -> i64 {
        self.epoch.saturating_add(at.as_micros() as i64)
    }

    fn lead(&self, lead: LeadId) -> Option<i64> {
        self.lead_rows.get(lead.0 as usize).copied()
    }
}

impl SqliteJournal {
    /// Starts the writer for `campaign` on the store at `path`. `epoch` is the real instant of
    /// engine time zero; `lead_rows` maps lead ids to store rows ([`super::LoadedCampaign`]).
    pub fn start(
        path: &Path,
        campaign: super::CampaignId,
        epoch: Timestamp,
        lead_rows: Vec<i64>,
        durability: Durability,
    ) -> Result<SqliteJournal, StoreError> {
        let shown = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: shown.clone(),
            action: "cannot open the database for the journal",
            source,
        })?;
        configure(&conn, durability).map_err(|source| StoreError::Sqlite {
            path: shown.clone(),
            action: "cannot configure the journal's connection",
            source,
        })?;
        let rows = Rows {
            campaign: campaign.0,
            epoch: epoch.as_microsecond(),
            lead_rows,
        };
        let (to_writer, from_campaign) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || write_loop(conn, rows, from_campaign))
            .map_err(|error| StoreError::Sqlite {
                path: shown,
                action: "cannot start the journal's writer thread",
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(error)),
            })?;
        Ok(SqliteJournal {
            to_writer: Some(to_writer),
            writer: Some(writer),
        })
    }

    fn send(&self, record: Record) {
        if let Some(to_writer) = &self.to_writer {
            // A stopped writer is reported by the next barrier.
            let _ = to_writer.send(record);
        }
    }

    fn barrier(&self) -> Result<(), JournalError> {
        let (reply_to, reply) = mpsc::sync_channel(1);
        let stopped = || JournalError::Stopped("the writer thread is gone".into());
        self.to_writer
            .as_ref()
            .ok_or_else(stopped)?
            .send(Record::Barrier(reply_to))
            .map_err(|_| stopped())?;
        match reply.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(JournalError::Write(message)),
            Err(_) => Err(stopped()),
        }
    }

    /// Commits everything and stops the writer.
    pub fn close(mut self) -> Result<(), JournalError> {
        let result = self.barrier();
        self.to_writer = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        result
    }
}

impl Drop for SqliteJournal {
    fn drop(&mut self) {
        self.to_writer = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Journal for SqliteJournal {
    fn attempts_started(&mut self, started: &[AttemptStarted]) -> Result<(), JournalError> {
        self.send(Record::Started(started.to_vec()));
        self.barrier()
    }

    fn call_state(&mut self, attempt: AttemptId, at: SimTime, state: AppState) {
        self.send(Record::State(attempt, at, state));
    }

    fn switch_call(&mut self, attempt: AttemptId, call: &CallRef, tracking_id: &str) {
        self.send(Record::SwitchCall(
            attempt,
            stored_call(call),
            tracking_id.into(),
        ));
    }

    fn keeps_switch_calls(&self) -> bool {
        true
    }

    fn attempt_ended(&mut self, record: &AttemptRecord, fate: LeadFate, lead_attempts: u32) {
        self.send(Record::Ended(Box::new(record.clone()), fate, lead_attempts));
    }

    fn lead_set_aside(&mut self, lead: LeadId, _at: SimTime, reason: SetAsideReason) {
        self.send(Record::SetAside(lead, reason));
    }

    fn abandon_event(&mut self, event: AbandonEvent) {
        self.send(Record::Abandon(event));
    }

    fn flush(&mut self) -> Result<(), JournalError> {
        self.barrier()
    }
}

fn write_loop(mut conn: Connection, rows: Rows, from_campaign: Receiver<Record>) {
    let mut failure: Option<String> = None;
    let mut barriers = Vec::new();
    let mut batch = Vec::with_capacity(256);
    while let Ok(first) = from_campaign.recv() {
        batch.push(first);
        let mut disconnected = false;
        while batch.len() < MAX_BATCH {
            match from_campaign.try_recv() {
                Ok(record) => batch.push(record),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    disconnected = true;
                    break;
                }
            }
        }
        let result = write_batch(&mut conn, &rows, &mut batch, &mut barriers);
        if let Err(error) = result
            && failure.is_none()
        {
            failure = Some(error.to_string());
        }
        for barrier in barriers.drain(..) {
            let _ = barrier.send(match &failure {
                None => Ok(()),
                Some(message) => Err(message.clone()),
            });
        }
        if disconnected {
            break;
        }
    }
}

fn write_batch(
    conn: &mut Connection,
    rows: &Rows,
    batch: &mut Vec<Record>,
    barriers: &mut Vec<SyncSender<Result<(), String>>>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let mut first_error = None;
    for record in batch.drain(..) {
        if let Record::Barrier(reply) = record {
            barriers.push(reply);
            continue;
        }
        if let Err(error) = write_record(&tx, rows, record)
            && first_error.is_none()
        {
            first_error = Some(error);
        }
    }
    tx.commit()?;
    first_error.map_or(Ok(()), Err)
}

fn write_record(
    tx: &rusqlite::Transaction<'_>,
    rows: &Rows,
    record: Record,
) -> rusqlite::Result<()> {
    match record {
        Record::Started(started) => {
            let mut insert = tx.prepare_cached(
                "INSERT INTO attempts (campaign_id, attempt, lead_id, phone, started_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut lead = tx.prepare_cached(
                "UPDATE leads SET status = 'dialing', attempts = attempts + 1, next_at = NULL WHERE id = ?1",
            )?;
            for start in started {
                let lead_row = rows.lead(start.lead);
                insert.execute(params![
                    rows.campaign,
                    start.attempt.0 as i64,
                    lead_row,
                    start.callee.0.as_str(),
                    rows.at(start.at),
                ])?;
                if let Some(lead_row) = lead_row {
                    lead.execute(params![lead_row])?;
                }
            }
        }
        Record::State(attempt, at, state) => {
            tx.prepare_cached(
                "INSERT INTO call_events (campaign_id, attempt, at, state) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                rows.campaign,
                attempt.0 as i64,
                rows.at(at),
                state.as_str()
            ])?;
        }
        Record::SwitchCall(attempt, call, tracking_id) => {
            // An attempt that has ended already keeps what its end wrote.
            tx.prepare_cached(
                "UPDATE attempts SET switch_call = ?3, tracking_id = ?4
                 WHERE campaign_id = ?1 AND attempt = ?2 AND outcome IS NULL",
            )?
            .execute(params![
                rows.campaign,
                attempt.0 as i64,
                call,
                tracking_id.as_str()
            ])?;
        }
        Record::Ended(record, fate, lead_attempts) => {
            tx.prepare_cached(
                "UPDATE attempts SET ended_at = ?3, outcome = ?4, answered_at = ?5, agent_at = ?6,
                    talk_us = ?7, switch_call = COALESCE(?8, switch_call),
                    tracking_id = COALESCE(?9, tracking_id), reason = ?10, reason_code = ?11
                 WHERE campaign_id = ?1 AND attempt = ?2",
            )?
            .execute(params![
                rows.campaign,
                record.attempt.0 as i64,
                rows.at(record.ended_at),
                record.outcome.as_str(),
                record.answered_at.map(|at| rows.at(at)),
                record.agent_at.map(|at| rows.at(at)),
                record.talk.as_micros() as i64,
                record.switch_call.as_ref().map(stored_call),
                record.tracking_id.as_deref(),
                record.reason.as_deref(),
                record.reason_code,
            ])?;
            if let Some(lead_row) = rows.lead(record.lead) {
                let (status, next_at) = match fate {
                    LeadFate::RedialAt(at) => ("waiting", Some(rows.at(at))),
                    LeadFate::Done => ("done", None),
                };
                tx.prepare_cached(
                    "UPDATE leads SET status = ?2, next_at = ?3, last_outcome = ?4, attempts = ?5 WHERE id = ?1",
                )?
                .execute(params![
                    lead_row,
                    status,
                    next_at,
                    record.outcome.as_str(),
                    lead_attempts
                ])?;
            }
        }
        Record::SetAside(lead, reason) => {
            if let Some(lead_row) = rows.lead(lead) {
                tx.prepare_cached("UPDATE leads SET status = ?2 WHERE id = ?1")?
                    .execute(params![lead_row, set_aside_status(reason)])?;
            }
        }
        Record::Abandon(event) => {
            tx.prepare_cached(
                "INSERT INTO abandon_log (campaign_id, at, attempt, kind, answered_at, reached_queue, \
                 wait_us, true_abandon) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                rows.campaign,
                rows.at(event.at),
                event.attempt.0 as i64,
                event.kind.as_str(),
                rows.at(event.answered_at),
                event.reached_queue,
                event.wait_for_agent.map(|wait| wait.as_micros() as i64),
                event.abandoned_in_queue,
            ])?;
        }
        Record::Barrier(_) => {}
    }
    Ok(())
}
