//! The campaign manager: owns the console's campaigns, live and played back.
//!
//! A live campaign is created from a campaign file (the `dialer run` format, as TOML or JSON,
//! with its leads in the file or uploaded as CSV) and waits until started. Started, it runs the
//! engine exactly as `dialer run` does ([`runtime::run_live_with`]: its own thread and actix
//! System, its own webhook receiver), with three hooks: a [`CampaignFeed`] of call changes, the
//! engine's handles (the supervisor's address, for pause, resume, pacing changes and status
//! queries, and the webhook and PortaSwitch counters for `/metrics`), and a channel of stop
//! requests. A sampler on the campaign's System asks the supervisor for its status every second,
//! keeps it (and an hour of history for the chart), and tells subscribers something changed.
//!
//! A playback campaign shows a recorded trace ([`super::playback`]) on its own thread.
//!
//! With a state file ([`super::state_file`]), every live campaign an admin creates is kept there
//! and every phase change is written as it happens, so the campaigns come back when the console
//! starts again: those that had not started come back `created`, those that ended come back
//! with how they ended, and those that were running, paused or stopping come back
//! `interrupted`, dialing nobody until an admin starts them again (a campaign with `[store]`
//! then resumes from its journal). Ids are never used twice. A write that fails is logged and
//! shown on the campaign (`state_error`); the order itself is carried out.
//!
//! The manager decides nothing about calls or pacing; it carries an admin's orders to the engine.

use super::leads_csv;
use super::playback::{self, Playback, PlaybackControl};
use super::state_file::{CampaignRecord, FileFormat, Progress, StateFile, StateFileError};
use crate::campaign::feed::{CampaignFeed, CampaignStatus};
use crate::campaign::hopper::{LeadList, LeadSource};
use crate::campaign::supervisor::{CampaignControl, CampaignSupervisor, LiveCallView, ask_status};
use crate::domain::AppState;
use crate::executor::actors::ActorRef;
use crate::live::campaign::LiveCampaign;
use crate::live::{LiveReport, LiveStatus};
use crate::mail::Mail;
use crate::pacing::{QueueGuard, Strategy};
use crate::portaswitch::backend::{BackendCounts, BackendStats, PortaSwitchBackend};
use crate::portaswitch::client::SiteClient;
use crate::portaswitch::webhook::{WebhookCounts, WebhookStats};
use crate::runtime::{self, LiveEngine, LiveHooks, StopRequest};
use crate::trace::TraceSink;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Where a campaign is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Created, not started.
    Created,
    Running,
    /// An admin paused dialing; calls in progress go on.
    Paused,
    /// Stopping: no new dials; waiting for the calls in progress.
    Stopping,
    Finished,
    /// It could not run (see `error`).
    Failed,
    /// The console stopped (a restart, a crash) while the campaign was running, paused or
    /// stopping. It dials nobody until an admin starts it again.
    Interrupted,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Created => "created",
            Phase::Running => "running",
            Phase::Paused => "paused",
            Phase::Stopping => "stopping",
            Phase::Finished => "finished",
            Phase::Failed => "failed",
            Phase::Interrupted => "interrupted",
        }
    }

    pub const ALL: [Phase; 7] = [
        Phase::Created,
        Phase::Running,
        Phase::Paused,
        Phase::Stopping,
        Phase::Finished,
        Phase::Failed,
        Phase::Interrupted,
    ];

    fn is_active(self) -> bool {
        matches!(self, Phase::Running | Phase::Paused | Phase::Stopping)
    }

    /// Whether an admin may start the campaign in this phase.
    fn can_start(self) -> bool {
        matches!(self, Phase::Created | Phase::Interrupted)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A campaign against PortaSwitch (or a fake switch).
    Live,
    /// A recorded trace played back.
    Playback,
}

/// Why an order could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error("no campaign {0}")]
    NotFound(u64),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    Invalid {
        message: String,
        problems: Vec<ProblemView>,
    },
    #[error("cannot start the campaign: {0}")]
    Start(String),
}

/// A problem in a campaign file, for the API.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ProblemView {
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

impl From<crate::scenario::ScenarioError> for ManagerError {
    fn from(error: crate::scenario::ScenarioError) -> Self {
        let problems = error
            .problems()
            .iter()
            .map(|p| ProblemView {
                path: p.path.clone(),
                line: p.line,
                message: p.message.clone(),
            })
            .collect();
        ManagerError::Invalid {
            message: error.to_string(),
            problems,
        }
    }
}

fn invalid(message: impl Into<String>) -> ManagerError {
    ManagerError::Invalid {
        message: message.into(),
        problems: Vec::new(),
    }
}

/// A campaign file as sent to the API.
#[derive(Debug, Clone)]
pub enum CampaignText {
    Toml(String),
    Json(serde_json::Value),
}

/// What it takes to create a live campaign.
#[derive(Debug, Clone)]
pub struct CreateLive {
    pub file: CampaignText,
    /// Leads as CSV, if the file has no `[leads]`.
    pub leads_csv: Option<String>,
    /// The abandon rate the console holds the campaign to (a fraction); default 3%.
    pub abandon_cap: Option<f64>,
    /// Keep it in the state file, if the console has one. The demo's own campaign is made
    /// afresh at every start and is not kept.
    pub keep: bool,
}

/// The default abandon cap shown against the abandon rate.
pub const DEFAULT_ABANDON_CAP: f64 = 0.03;

/// The chart's points.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sample {
    pub t_us: u64,
    pub dial_level: f64,
    pub occupancy: f64,
    pub queued: u32,
    pub dials_in_flight: u32,
    pub agents_logged_in: u32,
    pub abandon_rate: f64,
}

impl Sample {
    fn of(status: &CampaignStatus) -> Sample {
        Sample {
            t_us: status.now_us,
            dial_level: status.dial_level,
            occupancy: status.occupancy,
            queued: status.queued,
            dials_in_flight: status.dials_in_flight,
            agents_logged_in: status.agents.logged_in,
            abandon_rate: status.abandon_rate,
        }
    }
}

/// A call as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CallView {
    pub attempt: u64,
    pub lead: u64,
    pub callee: String,
    pub state: &'static str,
    pub outcome: Option<&'static str>,
    /// When it entered this state (µs of engine time).
    pub since_us: u64,
}

impl CallView {
    pub fn of(call: &LiveCallView) -> CallView {
        CallView {
            attempt: call.attempt.0,
            lead: call.lead.0,
            callee: call.callee.0.to_string(),
            state: call.state.as_str(),
            outcome: outcome_of(call.state),
            since_us: call.since.as_micros(),
        }
    }
}

pub fn outcome_of(state: AppState) -> Option<&'static str> {
    match state {
        AppState::Ended(outcome) => Some(outcome.as_str()),
        _ => None,
    }
}

/// A campaign's last known status: from its engine (or playback) in this process, or as the
/// state file kept it from before a restart. Both show the same JSON.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum KnownStatus {
    Engine(Box<CampaignStatus>),
    Kept(serde_json::Value),
}

impl KnownStatus {
    /// The status from the engine; `None` for one kept from before a restart.
    pub fn engine(&self) -> Option<&CampaignStatus> {
        match self {
            KnownStatus::Engine(status) => Some(status.as_ref()),
            KnownStatus::Kept(_) => None,
        }
    }
}

/// The pacing a campaign runs with, as the API shows it.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct PacingView {
    #[serde(flatten)]
    pub strategy: Strategy,
    pub queue_guard: Option<GuardSettings>,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct GuardSettings {
    pub pause_at: u32,
    pub resume_at: u32,
}

fn pacing_view(strategy: Strategy, guard: Option<QueueGuard>) -> PacingView {
    PacingView {
        strategy,
        queue_guard: guard.map(|g| GuardSettings {
            pause_at: g.pause_at,
            resume_at: g.resume_at,
        }),
    }
}

/// The engine's handles a running live campaign keeps.
struct EngineLink {
    supervisor: Option<ActorRef<CampaignSupervisor>>,
    webhook: Arc<WebhookStats>,
    backend: Arc<BackendStats>,
    sites: Vec<SiteClient>,
}

struct Inner {
    name: String,
    description: String,
    phase: Phase,
    outcome: Option<LiveStatus>,
    error: Option<String>,
    /// The campaign file as submitted, for the state file. Holds secrets: never shown.
    submitted: Option<(FileFormat, String)>,
    /// The campaign file as checked (leads included), kept for pacing changes. Holds secrets:
    /// never shown.
    source: String,
    /// The uploaded lead list in effect (E.164 numbers, one a line), for the state file.
    uploaded_leads: Option<String>,
    /// The checked campaign; `None` for a playback, or a kept campaign whose file no longer
    /// checks (its reason is in `error`).
    campaign: Option<LiveCampaign>,
    leads_listed: Option<usize>,
    pacing: Option<PacingView>,
    started_unix_ms: Option<u64>,
    ended_unix_ms: Option<u64>,
    engine: Option<EngineLink>,
    stop: Option<mpsc::UnboundedSender<StopRequest>>,
    status: Option<CampaignStatus>,
    /// The last status as the state file kept it, until a new run starts.
    kept_status: Option<serde_json::Value>,
    /// The final report, as the API shows it.
    report: Option<serde_json::Value>,
    playback: Option<Arc<PlaybackControl>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Why the last write to the state file failed; cleared by the next that succeeds.
    state_error: Option<String>,
    /// The console is shutting down and ordered this run to end: it ends `interrupted`.
    shutdown_ordered: bool,
}

impl Inner {
    /// A campaign's state before anything happened to it.
    fn new(name: String, description: String) -> Inner {
        Inner {
            name,
            description,
            phase: Phase::Created,
            outcome: None,
            error: None,
            submitted: None,
            source: String::new(),
            uploaded_leads: None,
            campaign: None,
            leads_listed: None,
            pacing: None,
            started_unix_ms: None,
            ended_unix_ms: None,
            engine: None,
            stop: None,
            status: None,
            kept_status: None,
            report: None,
            playback: None,
            thread: None,
            state_error: None,
            shutdown_ordered: false,
        }
    }

    fn progress(&self) -> Progress {
        Progress {
            phase: self.phase,
            started_unix_ms: self.started_unix_ms,
            ended_unix_ms: self.ended_unix_ms,
            outcome: self.outcome,
            error: self.error.clone(),
            status: self.status.as_ref().map_or_else(
                || self.kept_status.clone(),
                |status| serde_json::to_value(status).ok(),
            ),
            report: self.report.clone(),
        }
    }

    fn known_status(&self) -> Option<KnownStatus> {
        match (&self.status, &self.kept_status) {
            (Some(status), _) => Some(KnownStatus::Engine(Box::new(status.clone()))),
            (None, Some(kept)) => Some(KnownStatus::Kept(kept.clone())),
            (None, None) => None,
        }
    }
}

/// What changed, for the state file: the phase and end summary only, or more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Saved {
    Progress,
    /// The campaign file or the leads too (or the campaign is new).
    Everything,
}

/// One campaign the console manages.
pub struct Managed {
    pub id: u64,
    pub kind: Kind,
    pub feed: CampaignFeed,
    pub abandon_cap: f64,
    pub created_unix_ms: u64,
    /// Where the campaign is kept, if it is.
    state: Option<Arc<StateFile>>,
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
    history: Mutex<VecDeque<Sample>>,
    history_len: usize,
}

/// Everything the API shows of a campaign.
#[derive(Clone, Debug, Serialize)]
pub struct CampaignView {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub kind: Kind,
    pub phase: Phase,
    /// How a finished live run ended.
    pub outcome: Option<LiveStatus>,
    pub error: Option<String>,
    pub created_unix_ms: u64,
    pub started_unix_ms: Option<u64>,
    pub ended_unix_ms: Option<u64>,
    pub abandon_cap: f64,
    pub pacing: Option<PacingView>,
    pub leads_listed: Option<usize>,
    /// Playback speed (engine seconds per real second).
    pub speed: Option<f64>,
    pub status: Option<KnownStatus>,
    pub webhook: Option<WebhookCounts>,
    pub switch: Option<BackendCounts>,
    /// The final report of the last run (kept across restarts).
    pub report: Option<serde_json::Value>,
    /// Kept in the console's state file: it comes back after a restart.
    pub kept: bool,
    /// The campaign file has `[store]`: a run started after an interruption resumes from the
    /// store's journal. Without it, a new run dials the campaign's list from the start.
    pub durable: bool,
    /// Why the console could not save the campaign's last change to its state file.
    pub state_error: Option<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn unix_ms() -> u64 {
    crate::clock::unix_now_micros() / 1000
}

/// How a campaign is made.
struct NewManaged {
    kind: Kind,
    abandon_cap: f64,
    created_unix_ms: u64,
    state: Option<Arc<StateFile>>,
    inner: Inner,
}

impl Managed {
    fn new(id: u64, new: NewManaged, history_len: usize) -> Managed {
        Managed {
            id,
            kind: new.kind,
            feed: CampaignFeed::new(),
            abandon_cap: new.abandon_cap,
            created_unix_ms: new.created_unix_ms,
            state: new.state,
            inner: Mutex::new(new.inner),
            changed: watch::channel(0).0,
            history: Mutex::new(VecDeque::new()),
            history_len,
        }
    }

    pub fn name(&self) -> String {
        lock(&self.inner).name.clone()
    }

    pub fn phase(&self) -> Phase {
        lock(&self.inner).phase
    }

    /// Whether the campaign is kept in the state file (and comes back after a restart).
    pub fn kept(&self) -> bool {
        self.state.is_some()
    }

    /// The whole campaign as the state file keeps it; `None` if it is not kept.
    fn kept_record(&self, inner: &Inner) -> Option<CampaignRecord> {
        let (format, text) = inner.submitted.clone()?;
        Some(CampaignRecord {
            id: self.id,
            name: inner.name.clone(),
            description: inner.description.clone(),
            submitted_format: format,
            submitted_text: text,
            source: inner.source.clone(),
            uploaded_leads: inner.uploaded_leads.clone(),
            leads_listed: inner.leads_listed,
            abandon_cap: self.abandon_cap,
            created_unix_ms: self.created_unix_ms,
            progress: inner.progress(),
        })
    }

    /// Writes what changed to the state file, if the campaign is kept. Called with the
    /// campaign locked, so writes land in the order the changes were made. After a failed
    /// write the next one writes the whole campaign.
    fn save(&self, inner: &mut Inner, saved: Saved) {
        let Some(state) = &self.state else { return };
        let result = if saved == Saved::Everything || inner.state_error.is_some() {
            match self.kept_record(inner) {
                Some(record) => state.save_campaign(&record),
                None => return,
            }
        } else {
            state.save_progress(self.id, &inner.progress())
        };
        self.note_saved(inner, result);
    }

    fn note_saved(&self, inner: &mut Inner, result: Result<(), StateFileError>) {
        match result {
            Ok(()) => inner.state_error = None,
            Err(error) => {
                tracing::error!(
                    campaign = self.id,
                    %error,
                    "the campaign's change is not saved: it may be lost at a restart"
                );
                inner.state_error = Some(error.to_string());
            }
        }
    }

    /// Wakes whoever watches this campaign (SSE streams).
    fn touch(&self) {
        self.changed.send_modify(|version| *version += 1);
    }

    /// Hears about every status sample and phase change.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn record(&self, status: CampaignStatus) {
        {
            let mut history = lock(&self.history);
            let sample = Sample::of(&status);
            if history.back().is_some_and(|last| last.t_us == sample.t_us) {
                history.pop_back();
            }
            history.push_back(sample);
            while history.len() > self.history_len {
                history.pop_front();
            }
        }
        lock(&self.inner).status = Some(status);
        self.touch();
    }

    pub fn history(&self) -> Vec<Sample> {
        lock(&self.history).iter().copied().collect()
    }

    pub fn last_sample(&self) -> Option<Sample> {
        lock(&self.history).back().copied()
    }

    /// The supervisor, while the engine runs.
    fn supervisor(&self) -> Option<ActorRef<CampaignSupervisor>> {
        lock(&self.inner)
            .engine
            .as_ref()
            .and_then(|engine| engine.supervisor.clone())
    }

    /// The campaign as the API shows it, with its last sampled status.
    pub fn view(&self) -> CampaignView {
        let inner = lock(&self.inner);
        let engine = inner.engine.as_ref();
        CampaignView {
            id: self.id,
            name: inner.name.clone(),
            description: inner.description.clone(),
            kind: self.kind,
            phase: inner.phase,
            outcome: inner.outcome,
            error: inner.error.clone(),
            created_unix_ms: self.created_unix_ms,
            started_unix_ms: inner.started_unix_ms,
            ended_unix_ms: inner.ended_unix_ms,
            abandon_cap: self.abandon_cap,
            pacing: inner.pacing,
            leads_listed: inner.leads_listed,
            speed: inner.playback.as_ref().map(|p| p.speed()),
            status: inner.known_status(),
            webhook: engine.map(|e| e.webhook.counts()),
            switch: engine.map(|e| PortaSwitchBackend::counts(&e.backend, &e.sites)),
            report: inner.report.clone(),
            kept: self.kept(),
            durable: inner
                .campaign
                .as_ref()
                .is_some_and(|campaign| campaign.store.is_some()),
            state_error: inner.state_error.clone(),
        }
    }

    /// PortaSwitch API latency per site: `(site, histogram)`.
    pub fn latencies(&self) -> Vec<(String, crate::portaswitch::latency::LatencySnapshot)> {
        let inner = lock(&self.inner);
        inner.engine.as_ref().map_or_else(Vec::new, |engine| {
            engine
                .sites
                .iter()
                .map(|site| (site.name().to_string(), site.stats().latency.snapshot()))
                .collect()
        })
    }

    /// A fresh status and the live calls: asked of the engine while it runs, else the last known.
    pub async fn snapshot(&self) -> (Option<CampaignStatus>, Vec<CallView>) {
        if let Some(supervisor) = self.supervisor()
            && let Some(reply) = ask_status(&supervisor, true).await
        {
            let calls = reply.calls.unwrap_or_default();
            return (Some(reply.status), calls.iter().map(CallView::of).collect());
        }
        let playback = lock(&self.inner).playback.clone();
        if let Some(control) = playback {
            let board = lock(&control.board);
            let calls = board.calls();
            return (
                Some(board.status()),
                calls.iter().map(CallView::of).collect(),
            );
        }
        (lock(&self.inner).status.clone(), Vec::new())
    }

    /// A fresh status if the engine runs, else the last known.
    pub async fn fresh_status(&self) -> Option<KnownStatus> {
        if let Some(supervisor) = self.supervisor()
            && let Some(reply) = ask_status(&supervisor, false).await
        {
            return Some(KnownStatus::Engine(Box::new(reply.status)));
        }
        lock(&self.inner).known_status()
    }
}

/// How the manager runs campaigns.
#[derive(Clone, Debug)]
pub struct ManagerSettings {
    /// Write each live campaign's trace to `DIR/campaign-ID.jsonl`.
    pub record_dir: Option<PathBuf>,
    /// How often running campaigns are sampled.
    pub sample_every: Duration,
    /// Samples kept per campaign.
    pub history_len: usize,
}

impl Default for ManagerSettings {
    fn default() -> Self {
        ManagerSettings {
            record_dir: None,
            sample_every: Duration::from_secs(1),
            history_len: 3600,
        }
    }
}

/// The console's campaigns.
pub struct CampaignManager {
    campaigns: Mutex<BTreeMap<u64, Arc<Managed>>>,
    next_id: AtomicU64,
    settings: ManagerSettings,
    /// Where campaigns are kept; `None`: in memory only.
    state: Option<Arc<StateFile>>,
}

/// Reads environment variables for `*_env` keys of campaign files.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Turns a JSON campaign into TOML text (the file format's other spelling).
fn json_to_toml(value: &serde_json::Value) -> Result<String, ManagerError> {
    if !value.is_object() {
        return Err(invalid("a JSON campaign must be an object"));
    }
    toml::to_string(value).map_err(|error| invalid(format!("the JSON campaign: {error}")))
}

/// Uploaded leads: the campaign file with them appended, and the numbers (E.164), one a line.
struct WithLeads {
    text: String,
    numbers: String,
    count: usize,
}

/// Appends uploaded leads to a campaign file that has none.
fn with_leads(text: &str, csv: &str) -> Result<WithLeads, ManagerError> {
    let table: toml::Table = text
        .parse()
        .map_err(|error: toml::de::Error| invalid(format!("not valid TOML: {error}")))?;
    if table.contains_key("leads") {
        return Err(invalid(
            "the campaign file has a [leads] section; remove it to upload leads as CSV",
        ));
    }
    let list = leads_csv::parse(csv).map_err(|error| invalid(error.to_string()))?;
    let numbers: Vec<toml::Value> = list
        .numbers
        .iter()
        .map(|n| toml::Value::String(n.0.to_string()))
        .collect();
    let count = numbers.len();
    let mut leads = toml::Table::new();
    leads.insert("numbers".into(), toml::Value::Array(numbers));
    let mut section = toml::Table::new();
    section.insert("leads".into(), toml::Value::Table(leads));
    let appended = toml::to_string(&section)
        .map_err(|error| invalid(format!("cannot write the lead list: {error}")))?;
    Ok(WithLeads {
        text: format!("{}\n\n{appended}", text.trim_end()),
        numbers: numbers_text(&list.numbers),
        count,
    })
}

/// Numbers one a line, as the lead reader reads them back.
fn numbers_text(numbers: &[crate::domain::PhoneNumber]) -> String {
    numbers.iter().fold(String::new(), |mut text, number| {
        text.push_str(&number.0);
        text.push('\n');
        text
    })
}

/// Checks a kept campaign's file again, with its uploaded leads.
fn check_kept(source: &str, uploaded_leads: Option<&str>) -> Result<LiveCampaign, String> {
    let mut campaign = LiveCampaign::from_toml("(campaign)", source, &[], &env)
        .map_err(|error| format!("its campaign file no longer checks: {error}"))?;
    if let Some(numbers) = uploaded_leads {
        let list = leads_csv::parse(numbers)
            .map_err(|error| format!("its uploaded leads no longer read: {error}"))?;
        campaign.setup.leads = LeadSource::List(LeadList::from_numbers(list.numbers));
    }
    Ok(campaign)
}

/// Where a run's trace goes: `DIR/campaign-ID.jsonl`, or for a later run of the same campaign
/// (started again after an interruption) `DIR/campaign-ID.2.jsonl`, `.3`, ...: never over an
/// earlier run's trace.
fn create_trace_file(dir: &std::path::Path, id: u64) -> Result<std::fs::File, ManagerError> {
    for run in 1..=1000u32 {
        let name = if run == 1 {
            format!("campaign-{id}.jsonl")
        } else {
            format!("campaign-{id}.{run}.jsonl")
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok(file),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(ManagerError::Start(format!(
                    "cannot create {}: {error}",
                    path.display()
                )));
            }
        }
    }
    Err(ManagerError::Start(format!(
        "{} already holds 1000 traces of campaign {id}",
        dir.display()
    )))
}

/// Applies pacing changes (`key: value`, `null` removes the key) to a campaign file.
fn with_pacing(
    text: &str,
    changes: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, ManagerError> {
    let mut table: toml::Table = text
        .parse()
        .map_err(|error: toml::de::Error| invalid(format!("not valid TOML: {error}")))?;
    let pacing = table
        .entry("pacing")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let toml::Value::Table(pacing) = pacing else {
        return Err(invalid("`pacing` is not a table"));
    };
    for (key, value) in changes {
        if value.is_null() {
            pacing.remove(key);
            continue;
        }
        let value = toml::Value::try_from(value)
            .map_err(|error| invalid(format!("pacing.{key}: {error}")))?;
        pacing.insert(key.clone(), value);
    }
    toml::to_string(&table).map_err(|error| invalid(error.to_string()))
}

impl Default for CampaignManager {
    fn default() -> Self {
        CampaignManager::new(ManagerSettings::default())
    }
}

impl CampaignManager {
    /// A manager that keeps its campaigns in memory only.
    pub fn new(settings: ManagerSettings) -> CampaignManager {
        CampaignManager {
            campaigns: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            settings,
            state: None,
        }
    }

    /// A manager that keeps its live campaigns in `state`, with the campaigns kept there.
    /// Those that were running, paused or stopping when the console stopped come back
    /// `interrupted` (and are saved so); none is started.
    pub fn with_state_file(
        settings: ManagerSettings,
        state: StateFile,
    ) -> Result<CampaignManager, StateFileError> {
        let state = Arc::new(state);
        let loaded = state.load()?;
        let mut campaigns = BTreeMap::new();
        for record in loaded.campaigns {
            let managed = Arc::new(restore(record, &state, settings.history_len));
            campaigns.insert(managed.id, managed);
        }
        tracing::info!(
            state_file = state.path(),
            campaigns = campaigns.len(),
            next_id = loaded.next_id,
            "console state loaded"
        );
        Ok(CampaignManager {
            campaigns: Mutex::new(campaigns),
            next_id: AtomicU64::new(loaded.next_id),
            settings,
            state: Some(state),
        })
    }

    /// The state file's path, if campaigns are kept.
    pub fn state_file(&self) -> Option<&str> {
        self.state.as_ref().map(|state| state.path())
    }

    pub fn list(&self) -> Vec<Arc<Managed>> {
        lock(&self.campaigns).values().cloned().collect()
    }

    pub fn get(&self, id: u64) -> Result<Arc<Managed>, ManagerError> {
        lock(&self.campaigns)
            .get(&id)
            .cloned()
            .ok_or(ManagerError::NotFound(id))
    }

    /// Gives the campaign the next id (noted in the state file, if there is one, so that no id
    /// is given twice even for campaigns not kept) and lists it. A kept campaign is written
    /// whole.
    fn insert(&self, kind: Kind, abandon_cap: f64, keep: bool, inner: Inner) -> Arc<Managed> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let reserved = self
            .state
            .as_ref()
            .map(|state| state.reserve_ids_below(id.saturating_add(1)));
        let managed = Arc::new(Managed::new(
            id,
            NewManaged {
                kind,
                abandon_cap,
                created_unix_ms: unix_ms(),
                state: self.state.clone().filter(|_| keep),
                inner,
            },
            self.settings.history_len,
        ));
        {
            let mut inner = lock(&managed.inner);
            if let Some(Err(error)) = reserved {
                managed.note_saved(&mut inner, Err(error));
            }
            managed.save(&mut inner, Saved::Everything);
        }
        lock(&self.campaigns).insert(id, managed.clone());
        managed
    }

    /// Checks a campaign file and keeps it, not started.
    pub fn create_live(&self, request: CreateLive) -> Result<Arc<Managed>, ManagerError> {
        let abandon_cap = request.abandon_cap.unwrap_or(DEFAULT_ABANDON_CAP);
        if !(abandon_cap > 0.0 && abandon_cap < 1.0) {
            return Err(invalid(format!(
                "abandon_cap {abandon_cap} must be a fraction between 0 and 1"
            )));
        }
        let (submitted, text) = match &request.file {
            CampaignText::Toml(text) => ((FileFormat::Toml, text.clone()), text.clone()),
            CampaignText::Json(value) => {
                ((FileFormat::Json, value.to_string()), json_to_toml(value)?)
            }
        };
        let (text, leads_listed, uploaded_leads) = match &request.leads_csv {
            Some(csv) => {
                let with = with_leads(&text, csv)?;
                (with.text, Some(with.count), Some(with.numbers))
            }
            None => (text, None, None),
        };
        let campaign = LiveCampaign::from_toml("(campaign)", &text, &[], &env)?;
        if let LeadSource::Generated { count: None, .. } = campaign.setup.leads {
            return Err(invalid(
                "the campaign has no leads: upload them as CSV, or give [leads] numbers, file or count",
            ));
        }
        let leads_listed = leads_listed.or(match &campaign.setup.leads {
            LeadSource::List(list) => Some(list.len()),
            _ => None,
        });
        let mut inner = Inner::new(campaign.name.clone(), campaign.description.clone());
        inner.submitted = Some(submitted);
        inner.source = text;
        inner.uploaded_leads = uploaded_leads;
        inner.pacing = Some(pacing_view(
            campaign.setup.pacing.strategy,
            campaign.setup.pacing.queue_guard,
        ));
        inner.campaign = Some(campaign);
        inner.leads_listed = leads_listed;
        let managed = self.insert(Kind::Live, abandon_cap, request.keep, inner);
        tracing::info!(campaign = managed.id, "campaign created");
        Ok(managed)
    }

    /// Replaces the lead list of a campaign not yet started.
    pub fn set_leads(&self, id: u64, csv: &str) -> Result<usize, ManagerError> {
        let managed = self.get(id)?;
        let mut inner = lock(&managed.inner);
        if inner.phase != Phase::Created || managed.kind != Kind::Live {
            return Err(ManagerError::Conflict(
                "leads can be replaced only before a live campaign starts".into(),
            ));
        }
        let list = leads_csv::parse(csv).map_err(|error| invalid(error.to_string()))?;
        let count = list.numbers.len();
        inner.uploaded_leads = Some(numbers_text(&list.numbers));
        if let Some(campaign) = inner.campaign.as_mut() {
            campaign.setup.leads = LeadSource::List(LeadList::from_numbers(list.numbers));
        }
        inner.leads_listed = Some(count);
        managed.save(&mut inner, Saved::Everything);
        drop(inner);
        managed.touch();
        Ok(count)
    }

    /// Loads a trace to play back; it starts when started.
    pub fn create_playback(
        &self,
        name: &str,
        trace: &str,
        speed: f64,
    ) -> Result<Arc<Managed>, ManagerError> {
        let playback =
            Playback::parse(trace).map_err(|error| invalid(format!("the trace: {error}")))?;
        let control = Arc::new(PlaybackControl::new(speed));
        let mut inner = Inner::new(
            if name.trim().is_empty() {
                "playback".into()
            } else {
                name.trim().to_string()
            },
            format!(
                "a recorded trace of {} records, {:.0} s of engine time",
                playback.len(),
                playback.last_t_us() as f64 / 1e6
            ),
        );
        inner.playback = Some(control.clone());
        // A played-back trace is not kept: it is a view of a file, not a campaign.
        let managed = self.insert(Kind::Playback, DEFAULT_ABANDON_CAP, false, inner);
        let runner = managed.clone();
        // A played-back day moves faster than real time: sample it more often for the chart.
        let every = self.settings.sample_every.min(Duration::from_millis(250));
        let thread = std::thread::Builder::new()
            .name(format!("playback-{}", managed.id))
            .spawn(move || {
                // Wait for the start order.
                while runner.phase() == Phase::Created {
                    if control.is_paused() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                playback::run(&playback, &control, &runner.feed, every, |status| {
                    runner.record(status)
                });
                let mut inner = lock(&runner.inner);
                if inner.phase.is_active() {
                    inner.phase = Phase::Finished;
                    inner.ended_unix_ms = Some(unix_ms());
                }
                drop(inner);
                runner.touch();
            })
            .map_err(|error| ManagerError::Start(error.to_string()))?;
        lock(&managed.inner).thread = Some(thread);
        Ok(managed)
    }

    /// Starts a created campaign, or one interrupted by a restart of the console (a campaign
    /// with `[store]` resumes from its journal; one without dials its list from the start).
    pub fn start(&self, id: u64) -> Result<(), ManagerError> {
        let managed = self.get(id)?;
        let mut inner = lock(&managed.inner);
        if !inner.phase.can_start() {
            return Err(ManagerError::Conflict(format!(
                "campaign {id} is {}; only a created or interrupted campaign can start",
                inner.phase.as_str()
            )));
        }
        if managed.kind == Kind::Playback {
            inner.started_unix_ms = Some(unix_ms());
            inner.phase = Phase::Running;
            drop(inner);
            managed.touch();
            return Ok(());
        }
        let Some(campaign) = inner.campaign.clone() else {
            let reason = inner
                .error
                .clone()
                .unwrap_or_else(|| "the campaign has no settings".into());
            return Err(ManagerError::Conflict(format!(
                "campaign {id} cannot start: {reason}"
            )));
        };
        let record = match &self.settings.record_dir {
            None => None,
            Some(dir) => Some(create_trace_file(dir, id)?),
        };
        let (stop_tx, stop_rx) = mpsc::unbounded_channel();
        inner.stop = Some(stop_tx);
        let again = inner.phase == Phase::Interrupted;
        inner.phase = Phase::Running;
        inner.started_unix_ms = Some(unix_ms());
        // A new run: what the last one left is history.
        inner.ended_unix_ms = None;
        inner.outcome = None;
        inner.error = None;
        inner.report = None;
        inner.status = None;
        inner.kept_status = None;
        managed.save(&mut inner, Saved::Progress);
        drop(inner);
        let runner = managed.clone();
        let sample_every = self.settings.sample_every;
        let thread = std::thread::Builder::new()
            .name(format!("campaign-{id}"))
            .spawn(move || {
                let sink = match record {
                    None => TraceSink::hashing_only(),
                    Some(file) => TraceSink::writing_to(Box::new(
                        std::io::BufWriter::with_capacity(1 << 16, file),
                    )),
                };
                run_campaign(runner, campaign, sink, stop_rx, sample_every)
            });
        let mut inner = lock(&managed.inner);
        let thread = match thread {
            Ok(thread) => thread,
            Err(error) => {
                inner.phase = Phase::Failed;
                inner.error = Some(format!("cannot start the campaign's thread: {error}"));
                inner.ended_unix_ms = Some(unix_ms());
                managed.save(&mut inner, Saved::Progress);
                drop(inner);
                managed.touch();
                return Err(ManagerError::Start(error.to_string()));
            }
        };
        inner.thread = Some(thread);
        drop(inner);
        managed.touch();
        tracing::info!(campaign = id, again, "campaign started");
        Ok(())
    }

    fn active(&self, id: u64) -> Result<Arc<Managed>, ManagerError> {
        let managed = self.get(id)?;
        let phase = managed.phase();
        if !phase.is_active() {
            return Err(ManagerError::Conflict(format!(
                "campaign {id} is {}, not running",
                phase.as_str()
            )));
        }
        Ok(managed)
    }

    /// Pauses dialing (playback: the clock).
    pub fn pause(&self, id: u64) -> Result<(), ManagerError> {
        self.pause_or_resume(id, true)
    }

    pub fn resume(&self, id: u64) -> Result<(), ManagerError> {
        self.pause_or_resume(id, false)
    }

    fn pause_or_resume(&self, id: u64, pause: bool) -> Result<(), ManagerError> {
        let managed = self.active(id)?;
        let mut inner = lock(&managed.inner);
        match (inner.phase, pause) {
            (Phase::Stopping, _) => {
                return Err(ManagerError::Conflict(format!("campaign {id} is stopping")));
            }
            (Phase::Paused, true) | (Phase::Running, false) => return Ok(()),
            _ => {}
        }
        if let Some(control) = &inner.playback {
            control.set_paused(pause);
        } else {
            let supervisor = inner
                .engine
                .as_ref()
                .and_then(|engine| engine.supervisor.clone())
                .ok_or_else(|| ManagerError::Conflict("the engine is still starting".into()))?;
            let order = if pause {
                CampaignControl::Pause
            } else {
                CampaignControl::Resume
            };
            supervisor.do_send(Mail::new(order));
        }
        inner.phase = if pause { Phase::Paused } else { Phase::Running };
        managed.save(&mut inner, Saved::Progress);
        drop(inner);
        managed.touch();
        tracing::info!(
            campaign = id,
            pause,
            "dialing paused or resumed by an admin"
        );
        Ok(())
    }

    /// Stops: gracefully (no new dials, calls in progress end), or `now`.
    pub fn stop(&self, id: u64, now: bool) -> Result<(), ManagerError> {
        let managed = self.get(id)?;
        let mut inner = lock(&managed.inner);
        match inner.phase {
            Phase::Created | Phase::Interrupted => {
                inner.phase = Phase::Finished;
                inner.outcome = Some(LiveStatus::Stopped);
                inner.ended_unix_ms = Some(unix_ms());
                if let Some(control) = &inner.playback {
                    // Tells the waiting playback thread to leave.
                    control.set_paused(true);
                }
            }
            Phase::Finished | Phase::Failed => {
                return Err(ManagerError::Conflict(format!(
                    "campaign {id} has already ended"
                )));
            }
            Phase::Stopping if !now => return Ok(()),
            _ => {
                if let Some(control) = &inner.playback {
                    control.stop();
                } else if let Some(stop) = &inner.stop {
                    let request = if now {
                        StopRequest::Now
                    } else {
                        StopRequest::Graceful
                    };
                    let _ = stop.send(request);
                }
                inner.phase = Phase::Stopping;
            }
        }
        managed.save(&mut inner, Saved::Progress);
        drop(inner);
        managed.touch();
        tracing::info!(campaign = id, now, "campaign stop ordered");
        Ok(())
    }

    /// Changes pacing: `changes` are `[pacing]` keys (`null` removes one). Before the start
    /// anything in `[pacing]` may change; while running, the strategy and its settings.
    pub fn set_pacing(
        &self,
        id: u64,
        changes: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<PacingView, ManagerError> {
        let managed = self.get(id)?;
        if managed.kind != Kind::Live {
            return Err(ManagerError::Conflict(
                "a played-back trace has no pacing to change".into(),
            ));
        }
        let mut inner = lock(&managed.inner);
        let running = inner.phase.is_active();
        if !running && !inner.phase.can_start() {
            return Err(ManagerError::Conflict(format!("campaign {id} has ended")));
        }
        if running && inner.phase == Phase::Stopping {
            return Err(ManagerError::Conflict(format!("campaign {id} is stopping")));
        }
        if running
            && let Some(key) = changes
                .keys()
                .find(|key| matches!(key.as_str(), "queue_guard" | "tick" | "assumed_wrap_up"))
        {
            return Err(ManagerError::Conflict(format!(
                "pacing.{key} cannot change while the campaign runs; only the strategy and its settings can"
            )));
        }
        let text = with_pacing(&inner.source, changes)?;
        let checked = LiveCampaign::from_toml("(campaign)", &text, &[], &env)?;
        let strategy = checked.setup.pacing.strategy;
        if running {
            let supervisor = inner
                .engine
                .as_ref()
                .and_then(|engine| engine.supervisor.clone())
                .ok_or_else(|| ManagerError::Conflict("the engine is still starting".into()))?;
            supervisor.do_send(Mail::new(CampaignControl::SetPacing(strategy)));
        }
        if let Some(campaign) = inner.campaign.as_mut() {
            let leads = campaign.setup.leads.clone();
            *campaign = checked.clone();
            // Uploaded leads live beside the file.
            campaign.setup.leads = leads;
        }
        inner.source = text;
        let view = pacing_view(strategy, checked.setup.pacing.queue_guard);
        inner.pacing = Some(view);
        managed.save(&mut inner, Saved::Everything);
        drop(inner);
        managed.touch();
        tracing::info!(campaign = id, strategy = strategy.name(), "pacing changed");
        Ok(view)
    }

    /// Sets a playback's speed.
    pub fn set_speed(&self, id: u64, speed: f64) -> Result<f64, ManagerError> {
        let managed = self.get(id)?;
        let control = lock(&managed.inner)
            .playback
            .clone()
            .ok_or_else(|| ManagerError::Conflict("only a playback has a speed".into()))?;
        if !(speed.is_finite() && speed > 0.0) {
            return Err(invalid(format!("speed {speed} must be a positive number")));
        }
        control.set_speed(speed);
        managed.touch();
        Ok(control.speed())
    }

    /// Stops every running campaign at once and waits for their threads (server shutdown).
    /// Live campaigns cut short end `interrupted`, to be started again after the restart. Then
    /// the state file is closed, free for the next console.
    ///
    /// Every campaign is told to stop before any is waited for: a campaign waits up to 5 s for
    /// its engine's last report, so the shutdown takes as long as the slowest one, not the sum.
    pub fn shutdown(&self) {
        let threads: Vec<_> = self
            .list()
            .iter()
            .filter_map(|managed| managed.order_stop_for_shutdown())
            .collect();
        for thread in threads {
            let _ = thread.join();
        }
        if let Some(state) = &self.state {
            state.close();
        }
    }
}

impl Managed {
    /// Tells the campaign to stop at once for the console's shutdown, and hands over its
    /// thread (if it runs one) to be waited for.
    fn order_stop_for_shutdown(&self) -> Option<std::thread::JoinHandle<()>> {
        let mut inner = lock(&self.inner);
        // A kept campaign comes back after the restart, to be started again; one not kept
        // simply ends.
        if inner.stop.is_some() && inner.phase.is_active() && self.kept() {
            inner.shutdown_ordered = true;
        }
        if let Some(stop) = &inner.stop {
            let _ = stop.send(StopRequest::Now);
        }
        if let Some(control) = &inner.playback {
            control.stop();
            control.set_paused(true);
        }
        inner.thread.take()
    }
}

/// Runs one live campaign to its end, on the calling (dedicated) thread.
fn run_campaign(
    managed: Arc<Managed>,
    campaign: LiveCampaign,
    sink: TraceSink,
    stop: mpsc::UnboundedReceiver<StopRequest>,
    sample_every: Duration,
) {
    let on_engine = {
        let managed = managed.clone();
        move |engine: LiveEngine| {
            lock(&managed.inner).engine = Some(EngineLink {
                supervisor: Some(engine.supervisor.clone()),
                webhook: engine.webhook,
                backend: engine.backend,
                sites: engine.sites,
            });
            managed.touch();
            let supervisor = engine.supervisor;
            actix_rt::spawn(async move {
                let mut tick = tokio::time::interval(sample_every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tick.tick().await;
                    match ask_status(&supervisor, false).await {
                        Some(reply) => managed.record(reply.status),
                        None => break,
                    }
                }
            });
        }
    };
    let hooks = LiveHooks {
        on_ready: None,
        on_engine: Some(Box::new(on_engine)),
        feed: Some(managed.feed.clone()),
        ctrl_c: false,
        stop: Some(stop),
    };
    let result = runtime::run_live_with(&campaign, sink, hooks);
    let final_status = managed.feed.final_status();
    if let Some(status) = &final_status {
        managed.record(status.clone());
    }
    let mut inner = lock(&managed.inner);
    inner.ended_unix_ms = Some(unix_ms());
    if let Some(engine) = inner.engine.as_mut() {
        engine.supervisor = None;
    }
    match result {
        // The console's shutdown cut the run short: it was not the campaign's end. (A run
        // stopped at once reports itself aborted, or at its deadline; one that completed, or
        // finished an admin's graceful stop first, ended for real.)
        Ok(run)
            if inner.shutdown_ordered
                && matches!(
                    run.status,
                    LiveStatus::Aborted | LiveStatus::DeadlineReached
                ) =>
        {
            inner.phase = Phase::Interrupted;
            inner.report = report_json(&LiveReport::build(&campaign.name, &run));
            tracing::warn!(
                campaign = managed.id,
                "campaign interrupted by the console's shutdown; start it again after the restart"
            );
        }
        Ok(run) => {
            inner.phase = Phase::Finished;
            inner.outcome = Some(run.status);
            inner.report = report_json(&LiveReport::build(&campaign.name, &run));
            tracing::info!(campaign = managed.id, status = ?run.status, "campaign ended");
        }
        Err(error) => {
            inner.phase = Phase::Failed;
            inner.error = Some(error.to_string());
            tracing::warn!(campaign = managed.id, %error, "campaign failed");
        }
    }
    managed.save(&mut inner, Saved::Progress);
    drop(inner);
    managed.touch();
}

/// The report as the API shows it (and the state file keeps it).
fn report_json(report: &LiveReport) -> Option<serde_json::Value> {
    match serde_json::to_value(report) {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::error!(%error, "cannot write the campaign's report as JSON");
            None
        }
    }
}

/// A kept campaign as the console finds it at start. One that was running, paused or stopping
/// when the console stopped is `interrupted` (and saved so at once); nothing is started.
fn restore(record: CampaignRecord, state: &Arc<StateFile>, history_len: usize) -> Managed {
    let id = record.id;
    let progress = record.progress.clone();
    let mut inner = Inner::new(record.name.clone(), record.description.clone());
    inner.phase = progress.phase;
    inner.outcome = progress.outcome;
    inner.error = progress.error;
    inner.report = progress.report;
    inner.kept_status = progress.status;
    inner.started_unix_ms = progress.started_unix_ms;
    inner.ended_unix_ms = progress.ended_unix_ms;
    inner.submitted = Some((record.submitted_format, record.submitted_text));
    inner.leads_listed = record.leads_listed;
    let was = inner.phase;
    if was.is_active() {
        inner.phase = Phase::Interrupted;
        // Numbers from some moment of a run that went on after it: not shown as its last.
        inner.kept_status = None;
        tracing::warn!(
            campaign = id,
            name = %record.name,
            "the campaign was {} when the console stopped: it is interrupted and dials nobody until an admin starts it again",
            was.as_str()
        );
    }
    if inner.phase.can_start() {
        match check_kept(&record.source, record.uploaded_leads.as_deref()) {
            Ok(campaign) => {
                inner.pacing = Some(pacing_view(
                    campaign.setup.pacing.strategy,
                    campaign.setup.pacing.queue_guard,
                ));
                inner.campaign = Some(campaign);
            }
            Err(reason) => {
                tracing::warn!(campaign = id, %reason, "a kept campaign cannot start");
                inner.error = Some(reason);
            }
        }
    } else if let Ok(campaign) = LiveCampaign::from_toml("(campaign)", &record.source, &[], &env) {
        // Ended: only shown.
        inner.pacing = Some(pacing_view(
            campaign.setup.pacing.strategy,
            campaign.setup.pacing.queue_guard,
        ));
    }
    inner.source = record.source;
    inner.uploaded_leads = record.uploaded_leads;
    let managed = Managed::new(
        id,
        NewManaged {
            kind: Kind::Live,
            abandon_cap: record.abandon_cap,
            created_unix_ms: record.created_unix_ms,
            state: Some(state.clone()),
            inner,
        },
        history_len,
    );
    if was != managed.phase() {
        let mut inner = lock(&managed.inner);
        managed.save(&mut inner, Saved::Progress);
    }
    managed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each campaign thread, once told to stop, waits (up to 10 s) until every campaign has been
    /// told: with a shutdown that waited for one campaign before telling the next, the first
    /// would wait in vain.
    #[test]
    fn shutdown_tells_every_campaign_to_stop_before_waiting_for_any() {
        let manager = CampaignManager::new(ManagerSettings::default());
        let told = Arc::new((Mutex::new(0usize), std::sync::Condvar::new()));
        let saw_all = Arc::new(AtomicU64::new(0));
        let campaigns = 3;
        for n in 0..campaigns {
            let (stop, mut stops) = mpsc::unbounded_channel();
            let (told, saw_all) = (told.clone(), saw_all.clone());
            let thread = std::thread::spawn(move || {
                assert_eq!(stops.blocking_recv(), Some(StopRequest::Now));
                let (count, changed) = &*told;
                let mut count = count.lock().expect("count");
                *count += 1;
                changed.notify_all();
                let (count, _) = changed
                    .wait_timeout_while(count, Duration::from_secs(10), |count| *count < campaigns)
                    .expect("count");
                if *count == campaigns {
                    saw_all.fetch_add(1, Ordering::SeqCst);
                }
            });
            let mut inner = Inner::new(format!("campaign {n}"), String::new());
            inner.stop = Some(stop);
            inner.thread = Some(thread);
            manager.insert(Kind::Live, 0.03, false, inner);
        }
        manager.shutdown();
        assert_eq!(saw_all.load(Ordering::SeqCst), campaigns as u64);
        for managed in manager.list() {
            assert!(lock(&managed.inner).thread.is_none(), "every thread joined");
        }
    }

    #[test]
    fn uploaded_leads_are_appended_as_a_list() {
        let with = with_leads(
            "[campaign]\nname = \"x\"\n",
            "phone\n+15550100001\n+15550100002\n",
        )
        .expect("valid");
        assert_eq!(with.count, 2);
        assert_eq!(with.numbers, "+15550100001\n+15550100002\n");
        let table: toml::Table = with.text.parse().expect("toml");
        assert_eq!(table["leads"]["numbers"].as_array().map(Vec::len), Some(2));
        let error = with_leads("[leads]\ncount = 3\n", "+15550100001\n")
            .err()
            .expect("refused");
        assert!(error.to_string().contains("[leads]"), "{error}");
        let error = with_leads("[campaign]\n", "nonsense\n")
            .err()
            .expect("refused");
        assert!(error.to_string().contains("line 1"), "{error}");
    }

    #[test]
    fn a_kept_campaign_whose_file_no_longer_checks_comes_back_saying_why() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("state.db");
        let state = StateFile::open(&path).expect("a state file");
        state
            .save_campaign(&CampaignRecord {
                id: 4,
                name: "broken".into(),
                description: String::new(),
                submitted_format: FileFormat::Toml,
                submitted_text: "[agents]\ncount = -3\n".into(),
                source: "[agents]\ncount = -3\n".into(),
                uploaded_leads: None,
                leads_listed: None,
                abandon_cap: 0.03,
                created_unix_ms: 1,
                progress: Progress {
                    phase: Phase::Paused,
                    started_unix_ms: Some(2),
                    ended_unix_ms: None,
                    outcome: None,
                    error: None,
                    status: Some(serde_json::json!({"attempts": 3})),
                    report: None,
                },
            })
            .expect("saved");
        let manager =
            CampaignManager::with_state_file(ManagerSettings::default(), state).expect("loaded");
        let view = manager.get(4).expect("kept").view();
        assert_eq!(view.phase, Phase::Interrupted);
        assert!(view.status.is_none(), "no numbers from the middle of a run");
        assert!(view.kept && !view.durable);
        let reason = view.error.expect("the reason");
        assert!(reason.contains("no longer checks"), "{reason}");
        let refused = manager.start(4).expect_err("cannot start").to_string();
        assert!(
            refused.contains("campaign 4 cannot start") && refused.contains("no longer checks"),
            "{refused}"
        );
        // Saved as interrupted, and the next id is past the kept one.
        drop(manager);
        let loaded = StateFile::open(&path)
            .expect("reopened")
            .load()
            .expect("loads");
        assert_eq!(loaded.campaigns[0].progress.phase, Phase::Interrupted);
        assert_eq!(loaded.next_id, 5);
    }

    #[test]
    fn pacing_changes_set_and_remove_keys() {
        let text = "[pacing]\nstrategy = \"power\"\nratio = 1.5\n";
        let mut changes = serde_json::Map::new();
        changes.insert("strategy".into(), "rate".into());
        changes.insert("rate_per_minute".into(), 30.into());
        changes.insert("ratio".into(), serde_json::Value::Null);
        let changed: toml::Table = with_pacing(text, &changes)
            .expect("valid")
            .parse()
            .expect("toml");
        let pacing = changed["pacing"].as_table().expect("table");
        assert_eq!(pacing["strategy"].as_str(), Some("rate"));
        assert_eq!(pacing["rate_per_minute"].as_integer(), Some(30));
        assert!(!pacing.contains_key("ratio"));
    }

    #[test]
    fn json_campaigns_become_toml() {
        let json = serde_json::json!({"campaign": {"name": "j"}, "agents": {"count": 3}});
        let text = json_to_toml(&json).expect("valid");
        let table: toml::Table = text.parse().expect("toml");
        assert_eq!(table["agents"]["count"].as_integer(), Some(3));
        assert!(json_to_toml(&serde_json::json!([1, 2])).is_err());
    }
}
