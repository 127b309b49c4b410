//! The result of a simulation: one JSON object, or a readable table.
//!
//! The report puts the engine's view (what the dialer observed through switch events) beside the
//! simulator's ground truth, with the same rates computed both ways, so the cost of the
//! PortaSwitch limitation and of pacing on inferred agent states is visible. Everything in it is
//! a function of the scenario and seed: no wall-clock figures, so two runs can be compared byte
//! for byte.
//!
//! Formatting only; nothing here runs a simulation.

use crate::call::machine::Anomaly;
use crate::campaign::hopper::LeadTally;
use crate::campaign::supervisor::AbandonReport;
use crate::domain::Outcome;
use crate::invariants::InvariantReport;
use crate::pacing::abandon::{AbandonCounts, Denominator};
use crate::pacing::actor::PacingCounters;
use crate::runtime::SimulationRun;
use crate::scenario::Scenario;
use crate::sim::switch::RunStatus;
use crate::stats::{RateSummary, Tally, WaitSummary};
use crate::time::SimTime;
use serde::Serialize;
use std::fmt::Write as _;

/// Counts per outcome, in a fixed order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutcomeCounts {
    pub completed: u64,
    pub no_answer: u64,
    pub busy: u64,
    pub declined: u64,
    pub invalid_number: u64,
    pub failed: u64,
    pub machine: u64,
    pub abandoned_in_queue: u64,
    pub unknown_after_agent_miss: u64,
    pub unknown: u64,
}

impl OutcomeCounts {
    pub fn from_array(counts: &[u64; Outcome::ALL.len()]) -> OutcomeCounts {
        let get = |outcome: Outcome| counts[outcome.index()];
        OutcomeCounts {
            completed: get(Outcome::Completed),
            no_answer: get(Outcome::NoAnswer),
            busy: get(Outcome::Busy),
            declined: get(Outcome::Declined),
            invalid_number: get(Outcome::InvalidNumber),
            failed: get(Outcome::Failed),
            machine: get(Outcome::Machine),
            abandoned_in_queue: get(Outcome::AbandonedInQueue),
            unknown_after_agent_miss: get(Outcome::UnknownAfterAgentMiss),
            unknown: get(Outcome::Unknown),
        }
    }

    pub fn total(&self) -> u64 {
        self.completed
            + self.no_answer
            + self.busy
            + self.declined
            + self.invalid_number
            + self.failed
            + self.machine
            + self.abandoned_in_queue
            + self.unknown_after_agent_miss
            + self.unknown
    }
}

/// Anomalies the engine met, by kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnomalyCounts {
    pub total: u64,
    pub duplicate: u64,
    pub out_of_order: u64,
    pub late_event: u64,
    pub foreign_call: u64,
    pub unexpected_reply: u64,
    pub watchdog_expired: u64,
    pub unknown_call: u64,
    pub vanished: u64,
}

impl AnomalyCounts {
    pub fn from_array(counts: &[u64; Anomaly::ALL.len()]) -> AnomalyCounts {
        let get = |anomaly: Anomaly| counts[anomaly.index()];
        AnomalyCounts {
            total: counts.iter().sum(),
            duplicate: get(Anomaly::Duplicate),
            out_of_order: get(Anomaly::OutOfOrder),
            late_event: get(Anomaly::LateEvent),
            foreign_call: get(Anomaly::ForeignCall),
            unexpected_reply: get(Anomaly::UnexpectedReply),
            watchdog_expired: get(Anomaly::WatchdogExpired),
            unknown_call: get(Anomaly::UnknownCall),
            vanished: get(Anomaly::Vanished),
        }
    }
}

/// The simulator's ground truth, with the same rates as the engine's view.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TruthReport {
    #[serde(flatten)]
    pub rates: RateSummary,
    pub outcomes: OutcomeCounts,
    /// Offers agents missed or declined: each one is the release note's limitation.
    pub agent_misses: u64,
    /// Callers who reached an agent after the dialer had been told "terminated".
    pub connected_after_engine_lost_them: u64,
    pub max_queue: u32,
}

/// Pacing's side of the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PacingReport {
    pub strategy: &'static str,
    pub pauses: u64,
    pub paused_seconds: f64,
    pub max_queued: u32,
    pub dials_unfilled: u64,
}

/// Abandon counts and rates over one window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowReport {
    /// Dials placed (counted campaign to date only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dials: Option<u64>,
    pub live_answers: u64,
    pub reached_queue: u64,
    pub compliance_abandons: u64,
    pub true_abandons: u64,
    /// Compliance abandons over the configured denominator.
    pub compliance_abandon_rate: f64,
    /// True abandons over the same denominator.
    pub true_abandon_rate: f64,
}

impl WindowReport {
    fn of(counts: &AbandonCounts, denominator: Denominator, with_dials: bool) -> WindowReport {
        WindowReport {
            dials: with_dials.then_some(counts.dials),
            live_answers: counts.live_answers,
            reached_queue: counts.reached_queue,
            compliance_abandons: counts.compliance_abandons,
            true_abandons: counts.true_abandons,
            compliance_abandon_rate: counts.compliance_rate(denominator),
            true_abandon_rate: counts.true_rate(denominator),
        }
    }
}

/// The windows abandons are counted over, at the end of the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AbandonWindows {
    pub campaign_to_date: WindowReport,
    pub rolling_24h: WindowReport,
    pub rolling_30d: WindowReport,
}

/// Abandon accounting as the regulator sees it: compliance and true abandons, the cap, the
/// window, and what the guard and the dialing limits did (the dialer's view).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComplianceReport {
    /// An answered call not connected within this is a compliance abandon.
    pub threshold_seconds: f64,
    pub denominator: &'static str,
    pub cap: f64,
    /// What the budget controller aims at.
    pub target: f64,
    /// The window the cap, the budget and the guard use.
    pub window: &'static str,
    pub guard: bool,
    /// Campaign to date: compliance abandons over the denominator.
    pub compliance_abandon_rate: f64,
    pub true_abandon_rate: f64,
    /// The configured window's rate at the end, and whether it is within the cap.
    pub window_rate: f64,
    pub within_cap: bool,
    pub windows: AbandonWindows,
    pub pacing: PacingCounters,
}

impl ComplianceReport {
    fn build(abandon: &AbandonReport, counters: PacingCounters) -> ComplianceReport {
        let settings = abandon.settings;
        let denominator = settings.denominator;
        let window_counts = match settings.window {
            crate::pacing::abandon::AbandonWindow::CampaignToDate => abandon.campaign_to_date,
            crate::pacing::abandon::AbandonWindow::Rolling24h => abandon.rolling_24h,
            crate::pacing::abandon::AbandonWindow::Rolling30d => abandon.rolling_30d,
        };
        let window_rate = window_counts.compliance_rate(denominator);
        ComplianceReport {
            threshold_seconds: settings.threshold.as_secs_f64(),
            denominator: denominator.as_str(),
            cap: settings.cap,
            target: settings.target,
            window: settings.window.as_str(),
            guard: settings.guard,
            compliance_abandon_rate: abandon.campaign_to_date.compliance_rate(denominator),
            true_abandon_rate: abandon.campaign_to_date.true_rate(denominator),
            window_rate,
            within_cap: window_rate <= settings.cap,
            windows: AbandonWindows {
                campaign_to_date: WindowReport::of(&abandon.campaign_to_date, denominator, true),
                rolling_24h: WindowReport::of(&abandon.rolling_24h, denominator, false),
                rolling_30d: WindowReport::of(&abandon.rolling_30d, denominator, false),
            },
            pacing: counters,
        }
    }
}

/// How far the engine's view is from the truth (engine minus truth).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Divergence {
    pub answered: i64,
    pub connected: i64,
    pub abandoned: i64,
    pub abandon_rate: f64,
    pub agent_occupancy: f64,
}

/// The report of one simulation run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunReport {
    pub scenario: String,
    pub seed: u64,
    pub status: RunStatus,
    pub attempts: u64,
    pub answered: u64,
    pub connected: u64,
    pub abandoned: u64,
    pub abandon_rate: f64,
    pub agent_occupancy: f64,
    pub wait_ms: WaitSummary,
    pub talk_seconds: f64,
    pub agent_seconds: f64,
    /// Switch events delivered to calls.
    pub events: u64,
    pub anomalies: AnomalyCounts,
    /// XXH3-64 chain over the trace records, as 16 hex digits.
    pub trace_hash: String,
    pub trace_records: u64,
    /// From the start until the last call and wrap-up were over.
    pub simulated_seconds: f64,
    /// When the campaign stopped following calls (the engine's end).
    pub campaign_seconds: Option<f64>,
    pub outcomes: OutcomeCounts,
    pub leads: LeadTally,
    pub pacing: PacingReport,
    pub truth: TruthReport,
    pub divergence: Divergence,
    /// Calls the switch still carried when the run stopped (non-zero only past a deadline).
    pub calls_still_up: usize,
    /// Calls connected to an agent per logged-in agent hour (truth).
    pub contacts_per_agent_hour: f64,
    /// Compliance and true abandons, windows, the cap and the guard (the dialer's view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance: Option<ComplianceReport>,
    /// The end-of-run checks, and the attempts whose recorded outcome differs from the truth.
    pub invariants: InvariantReport,
}

impl RunReport {
    pub fn build(scenario: &Scenario, seed: u64, run: &SimulationRun) -> RunReport {
        let outcome = &run.outcome;
        let end = outcome.ended_at;
        let engine = outcome.engine.clone();
        let (tally, outcomes, anomalies, agent_time, leads, pacing) = match &engine {
            Some(report) => (
                report.tally.clone(),
                OutcomeCounts::from_array(&report.outcomes),
                AnomalyCounts::from_array(&report.anomalies),
                report.agent_time.until(end),
                report.leads,
                PacingReport {
                    strategy: scenario.pacing.strategy.name(),
                    pauses: report.pauses,
                    paused_seconds: report.paused.as_secs_f64(),
                    max_queued: report.max_queued,
                    dials_unfilled: report.dials_unfilled,
                },
            ),
            None => (
                Tally::new(),
                OutcomeCounts::from_array(&[0; Outcome::ALL.len()]),
                AnomalyCounts::from_array(&[0; Anomaly::ALL.len()]),
                crate::time::SimDuration::ZERO,
                LeadTally::default(),
                PacingReport {
                    strategy: scenario.pacing.strategy.name(),
                    pauses: 0,
                    paused_seconds: 0.0,
                    max_queued: 0,
                    dials_unfilled: 0,
                },
            ),
        };
        let compliance = engine
            .as_ref()
            .map(|report| ComplianceReport::build(&report.abandon, report.pacing_counters));
        let rates = tally.summary(agent_time);

        let truth_rates = outcome
            .truth
            .tally
            .summary(outcome.truth.agent_time.until(end));
        let contacts_per_agent_hour = if truth_rates.agent_seconds > 0.0 {
            truth_rates.connected as f64 / (truth_rates.agent_seconds / 3600.0)
        } else {
            0.0
        };
        let divergence = Divergence {
            answered: rates.answered as i64 - truth_rates.answered as i64,
            connected: rates.connected as i64 - truth_rates.connected as i64,
            abandoned: rates.abandoned as i64 - truth_rates.abandoned as i64,
            abandon_rate: rates.abandon_rate - truth_rates.abandon_rate,
            agent_occupancy: rates.agent_occupancy - truth_rates.agent_occupancy,
        };
        RunReport {
            scenario: scenario.name.clone(),
            seed,
            status: outcome.status,
            attempts: rates.attempts,
            answered: rates.answered,
            connected: rates.connected,
            abandoned: rates.abandoned,
            abandon_rate: rates.abandon_rate,
            agent_occupancy: rates.agent_occupancy,
            wait_ms: rates.wait_ms.clone(),
            talk_seconds: rates.talk_seconds,
            agent_seconds: rates.agent_seconds,
            events: outcome.events_delivered,
            anomalies,
            trace_hash: format!("{:016x}", run.trace_hash),
            trace_records: run.trace_records,
            simulated_seconds: end.as_secs_f64(),
            campaign_seconds: outcome.campaign_finished_at.map(SimTime::as_secs_f64),
            outcomes,
            leads,
            pacing,
            truth: TruthReport {
                rates: truth_rates,
                outcomes: OutcomeCounts::from_array(&outcome.truth.outcomes),
                agent_misses: outcome.truth.agent_misses,
                connected_after_engine_lost_them: outcome.truth.connected_after_engine_lost_them,
                max_queue: outcome.truth.max_queue,
            },
            contacts_per_agent_hour,
            divergence,
            calls_still_up: outcome.calls_still_up,
            compliance,
            invariants: crate::invariants::check_run(run),
        }
    }

    /// A readable summary, engine and truth side by side.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let truth = &self.truth.rates;
        let _ = writeln!(
            out,
            "scenario {} (seed {}): {} after {} simulated",
            self.scenario,
            self.seed,
            match self.status {
                RunStatus::Completed => "completed",
                RunStatus::DeadlineReached => "STOPPED AT DEADLINE",
                RunStatus::Stalled => "STALLED",
            },
            SimTime::from_secs(0) + crate::time::SimDuration::from_secs_f64(self.simulated_seconds)
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "  {:<28} {:>14} {:>14}", "", "dialer saw", "truth");
        let rows: [(&str, String, String); 9] = [
            (
                "attempts",
                self.attempts.to_string(),
                truth.attempts.to_string(),
            ),
            (
                "answered by a person",
                self.answered.to_string(),
                truth.answered.to_string(),
            ),
            (
                "connected to an agent",
                self.connected.to_string(),
                truth.connected.to_string(),
            ),
            (
                "never reached an agent",
                self.abandoned.to_string(),
                truth.abandoned.to_string(),
            ),
            (
                "abandon rate",
                percent(self.abandon_rate),
                percent(truth.abandon_rate),
            ),
            (
                "agent occupancy",
                percent(self.agent_occupancy),
                percent(truth.agent_occupancy),
            ),
            (
                "wait for agent p50",
                millis(self.wait_ms.p50),
                millis(truth.wait_ms.p50),
            ),
            (
                "wait for agent p90",
                millis(self.wait_ms.p90),
                millis(truth.wait_ms.p90),
            ),
            (
                "wait for agent p99",
                millis(self.wait_ms.p99),
                millis(truth.wait_ms.p99),
            ),
        ];
        for (label, engine, truth) in rows {
            let _ = writeln!(out, "  {label:<28} {engine:>14} {truth:>14}");
        }
        let _ = writeln!(out);
        let o = &self.outcomes;
        let _ = writeln!(
            out,
            "  outcomes: completed {}, no answer {}, busy {}, declined {}, invalid {}, failed {}, machine {}, abandoned in queue {}, unknown after agent miss {}, unknown {}",
            o.completed,
            o.no_answer,
            o.busy,
            o.declined,
            o.invalid_number,
            o.failed,
            o.machine,
            o.abandoned_in_queue,
            o.unknown_after_agent_miss,
            o.unknown
        );
        let _ = writeln!(
            out,
            "  leads: {} dialed, {} done, {} awaiting redial{}{}",
            self.leads.dialed,
            self.leads.done,
            self.leads.awaiting_redial,
            self.leads
                .never_dialed
                .map_or(String::new(), |n| format!(", {n} never dialed")),
            compliance_counts(&self.leads)
        );
        let _ = writeln!(
            out,
            "  pacing: {}, paused {} times for {:.0} s, max queued {}",
            self.pacing.strategy,
            self.pacing.pauses,
            self.pacing.paused_seconds,
            self.pacing.max_queued
        );
        if let Some(compliance) = &self.compliance {
            let windows = &compliance.windows;
            let _ = writeln!(
                out,
                "  abandons (not connected within {} s, over {}): compliance {} campaign to date, {} last 24 h, {} last 30 days; true (hung up in queue) {}",
                compliance.threshold_seconds,
                compliance.denominator.replace('_', " "),
                percent(windows.campaign_to_date.compliance_abandon_rate),
                percent(windows.rolling_24h.compliance_abandon_rate),
                percent(windows.rolling_30d.compliance_abandon_rate),
                percent(compliance.true_abandon_rate),
            );
            let _ = writeln!(
                out,
                "  cap {} over {}: {}; guard {}{}; contacts per agent hour {:.2}",
                percent(compliance.cap),
                compliance.window.replace('_', " "),
                if compliance.within_cap {
                    "within"
                } else {
                    "EXCEEDED"
                },
                if compliance.guard { "on" } else { "off" },
                if compliance.guard {
                    format!(
                        " ({} fallbacks to progressive, {} dials held)",
                        compliance.pacing.guard_fallbacks, compliance.pacing.dials_held_by_guard
                    )
                } else {
                    String::new()
                },
                self.contacts_per_agent_hour,
            );
        }
        let _ = writeln!(
            out,
            "  limitation: {} agent misses, {} callers connected after the dialer was told terminated",
            self.truth.agent_misses, self.truth.connected_after_engine_lost_them
        );
        let _ = writeln!(
            out,
            "  events {}, anomalies {}, trace {} ({} records)",
            self.events, self.anomalies.total, self.trace_hash, self.trace_records
        );
        let checks = &self.invariants;
        let differ = checks.engine_vs_truth.differ;
        if checks.ok {
            let _ = writeln!(
                out,
                "  invariants: all {} hold; {differ} attempts recorded with another outcome than the truth's",
                checks.checks.len()
            );
        } else {
            let _ = writeln!(
                out,
                "  INVARIANTS VIOLATED: {}",
                checks.violations().join(", ")
            );
            for check in checks.checks.iter().filter(|check| !check.ok) {
                let _ = writeln!(out, "    {}: {}", check.name, check.detail);
            }
        }
        out
    }
}

fn percent(value: f64) -> String {
    format!("{:.2}%", value * 100.0)
}

fn millis(value: u64) -> String {
    format!("{value} ms")
}

/// The compliance part of the leads line: only what happened (nothing for a scenario without
/// rules, so its table is unchanged).
fn compliance_counts(leads: &LeadTally) -> String {
    let mut text = String::new();
    for (count, what) in [
        (
            leads.deferred,
            "deferred to their calling window or next day",
        ),
        (leads.no_window, "without a calling window"),
        (leads.do_not_call, "on the do-not-call list"),
    ] {
        if count > 0 {
            text.push_str(&format!(", {count} {what}"));
        }
    }
    text
}
