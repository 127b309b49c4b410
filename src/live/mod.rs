//! Live campaigns: the campaign file ([`campaign`]) and what a live run reports ([`LiveReport`]).
//! [`crate::runtime::run_live`] builds the System and runs it.
//!
//! Reading settings and formatting results only.

pub mod campaign;

use crate::campaign::supervisor::ReconcileTally;
use crate::portaswitch::backend::BackendCounts;
use crate::portaswitch::webhook::WebhookCounts;
use crate::report::{AnomalyCounts, OutcomeCounts};
use serde::Serialize;
use std::fmt::Write as _;

/// How a live run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveStatus {
    /// Every lead was worked and every call reconciled to an outcome.
    Completed,
    /// The campaign's deadline came first; calls may still have been up.
    DeadlineReached,
    /// Stopped by Ctrl-C: no new dials were placed, and every call in progress was reconciled.
    Stopped,
    /// Stopped at once (a second Ctrl-C, or an admin's "stop now") before the calls in progress
    /// had ended; they stay open in a store, for the next run's restart reconciliation.
    Aborted,
}

/// What the start of a stored campaign's run did with the attempts the last run left in
/// flight (a crash, a kill): see [`crate::journal::recovery`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RestartReport {
    /// Attempts found without an outcome.
    pub open: u64,
    /// Whether the switch's active-call list could be had to reconcile them.
    pub active_calls: RestartList,
    /// Still on the switch: watched on the active-call list during the run, and ended by
    /// their own "terminated" callback where its outcome is certain
    /// (`reconcile.recovered_ended`), else as `unknown` once the list no longer carries them
    /// (`reconcile.recovered_settled`).
    pub still_on_switch: u64,
    /// Ended as `unknown` at the start.
    pub marked_unknown: u64,
    /// Of those, leads the rule for unknown outcomes lets be redialed later.
    pub leads_waiting: u64,
}

/// The active-call list at a restart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RestartList {
    /// Nothing was left in flight: no list was asked for.
    #[default]
    NotNeeded,
    /// The list came from `site`, with `calls` calls on it.
    Fetched { site: String, calls: u64 },
    /// No list could be had (a fault, a timeout, no list method configured): every attempt
    /// left in flight ended as `unknown`, never redialed blindly.
    Unavailable { reason: String },
}

impl RestartReport {
    /// One line for the log and the table.
    pub fn summary(&self) -> String {
        let list = match &self.active_calls {
            RestartList::NotNeeded => return "nothing was left in flight".to_string(),
            RestartList::Fetched { site, calls } => {
                format!("the active-call list of `{site}` ({calls} calls)")
            }
            RestartList::Unavailable { reason } => {
                format!("no active-call list ({reason}): all of them ended as unknown")
            }
        };
        format!(
            "{} attempts left in flight; {list}; {} still on the switch (watched), {} ended as unknown ({} leads to redial)",
            self.open, self.still_on_switch, self.marked_unknown, self.leads_waiting
        )
    }
}

/// What a live run did.
#[derive(Clone, Debug, Serialize)]
pub struct LiveReport {
    pub campaign: String,
    pub status: LiveStatus,
    pub wall_seconds: f64,
    pub attempts: u64,
    pub answered: u64,
    pub connected: u64,
    pub abandoned: u64,
    pub abandon_rate: f64,
    pub outcomes: OutcomeCounts,
    pub anomalies: AnomalyCounts,
    pub reconcile: ReconcileTally,
    /// A stored campaign's restart (`None` without `[store]`).
    pub restart: Option<RestartReport>,
    pub webhook: WebhookCounts,
    pub switch: BackendCounts,
    pub trace_hash: String,
    pub trace_records: u64,
}

impl LiveReport {
    pub fn build(campaign: &str, run: &crate::runtime::LiveRun) -> LiveReport {
        let (status, engine, webhook, switch) = (
            run.status,
            run.engine.as_ref(),
            run.webhook,
            run.switch.clone(),
        );
        let (wall_seconds, trace_hash, trace_records) =
            (run.wall_seconds, run.trace_hash, run.trace_records);
        let empty_outcomes = [0; crate::domain::Outcome::ALL.len()];
        let empty_anomalies = [0; crate::call::machine::Anomaly::ALL.len()];
        let (attempts, answered, connected) = engine.map_or((0, 0, 0), |e| {
            (e.tally.attempts, e.tally.answered, e.tally.connected)
        });
        let abandoned = answered.saturating_sub(connected);
        LiveReport {
            campaign: campaign.to_string(),
            status,
            wall_seconds,
            attempts,
            answered,
            connected,
            abandoned,
            abandon_rate: if answered == 0 {
                0.0
            } else {
                abandoned as f64 / answered as f64
            },
            outcomes: OutcomeCounts::from_array(engine.map_or(&empty_outcomes, |e| &e.outcomes)),
            anomalies: AnomalyCounts::from_array(engine.map_or(&empty_anomalies, |e| &e.anomalies)),
            reconcile: engine.map(|e| e.reconcile).unwrap_or_default(),
            restart: run.restart.clone(),
            webhook,
            switch,
            trace_hash: format!("{trace_hash:016x}"),
            trace_records,
        }
    }

    /// A short readable summary.
    pub fn to_table(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "campaign {}: {:?} after {:.1} s",
            self.campaign, self.status, self.wall_seconds
        );
        let _ = writeln!(
            text,
            "  attempts {}, answered {}, connected {}, abandon rate {:.2}%",
            self.attempts,
            self.answered,
            self.connected,
            self.abandon_rate * 100.0
        );
        let _ = writeln!(
            text,
            "  outcomes {}",
            serde_json::to_string(&self.outcomes).unwrap_or_default()
        );
        let _ = writeln!(
            text,
            "  anomalies {}",
            serde_json::to_string(&self.anomalies).unwrap_or_default()
        );
        let _ = writeln!(
            text,
            "  reconcile {}",
            serde_json::to_string(&self.reconcile).unwrap_or_default()
        );
        if let Some(restart) = &self.restart {
            let _ = writeln!(text, "  restart: {}", restart.summary());
        }
        let _ = writeln!(
            text,
            "  webhook {}",
            serde_json::to_string(&self.webhook).unwrap_or_default()
        );
        let _ = writeln!(
            text,
            "  switch {}",
            serde_json::to_string(&self.switch).unwrap_or_default()
        );
        let _ = writeln!(
            text,
            "  trace {} ({} records)",
            self.trace_hash, self.trace_records
        );
        text
    }
}
