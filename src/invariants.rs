//! What must hold at the end of every simulation, checked and reported in its JSON.
//!
//! - every attempt ends with exactly one outcome, in the dialer's records and in the truth;
//! - attempts equal the sum of outcomes, in both views;
//! - every lead of the list is in exactly one state (never dialed, waiting, dialing, awaiting a
//!   redial, deferred to its calling window, done, on the do-not-call list), none dialing at the
//!   end;
//! - the abandon hard guard is never exceeded: no decision dials beyond progressive while one
//!   more abandon would put the windowed rate over the cap (checked apart from the pacing code,
//!   on every decision made with the guard on);
//! - no agent is ever given two calls (the simulated queue offers only to idle agents);
//! - the simulated switch is consistent with itself (queue, agents and calls agree).
//!
//! Beside the checks, the difference between the dialer's view and the ground truth is
//! counted attempt by attempt: how many attempts the dialer recorded with another outcome than
//! really happened, by pair. That is not a violation (PortaSwitch's limitation and injected
//! faults make it expected), but it is never hidden.
//!
//! Pure: a function of a finished run. `dialer simulate` exits with code 3 when a check fails.

use crate::domain::Outcome;
use crate::runtime::SimulationRun;
use crate::sim::switch::RunStatus;
use serde::Serialize;
use std::collections::BTreeMap;

/// One check and its verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// What was compared, in numbers.
    pub detail: String,
}

/// Attempts whose recorded outcome differs from the true one.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EngineVsTruth {
    pub attempts_compared: u64,
    pub differ: u64,
    /// `"recorded -> true"` and how many attempts.
    pub by_outcome: BTreeMap<String, u64>,
}

/// The end-of-run verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InvariantReport {
    pub ok: bool,
    pub checks: Vec<Check>,
    pub engine_vs_truth: EngineVsTruth,
}

impl InvariantReport {
    /// The names of the failed checks.
    pub fn violations(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|check| !check.ok)
            .map(|check| check.name)
            .collect()
    }
}

fn check(name: &'static str, ok: bool, detail: String) -> Check {
    Check { name, ok, detail }
}

/// Checks a finished run. Runs stopped at their deadline still have calls up, so the checks
/// that need every call ended apply only to completed runs.
pub fn check_run(run: &SimulationRun) -> InvariantReport {
    let outcome = &run.outcome;
    let truth = &outcome.truth;
    let completed = outcome.status == RunStatus::Completed;
    let mut checks = Vec::new();

    let truth_sum: u64 = truth.outcomes.iter().sum();
    let truth_attempts = truth.tally.attempts;
    let truth_open = outcome.calls_still_up as u64;
    checks.push(check(
        "truth_attempts_equal_outcomes",
        truth_sum + truth_open == truth_attempts,
        format!("{truth_attempts} attempts, {truth_sum} outcomes, {truth_open} calls still up"),
    ));

    match &outcome.engine {
        Some(engine) => {
            let attempts = engine.tally.attempts;
            let sum: u64 = engine.outcomes.iter().sum();
            checks.push(check(
                "attempts_equal_outcomes",
                sum == attempts,
                format!("{attempts} attempts, {sum} outcomes recorded"),
            ));
            let recorded = engine
                .outcome_of_attempt
                .iter()
                .skip(1)
                .filter(|outcome| outcome.is_some())
                .count() as u64;
            let without = attempts.saturating_sub(recorded);
            checks.push(check(
                "one_outcome_per_attempt",
                without == 0 && engine.outcomes_recorded_twice == 0 && recorded == attempts,
                format!(
                    "{recorded} attempts with an outcome, {without} without, {} recorded twice",
                    engine.outcomes_recorded_twice
                ),
            ));
            let leads = &engine.leads;
            let accounted = leads.accounted();
            let mut ok = leads.listed.is_none_or(|listed| accounted == listed);
            let mut detail = format!(
                "{} leads: {} never dialed, {} waiting, {} dialing, {} awaiting a redial, {} deferred, \
                 {} without a window, {} done, {} on the do-not-call list",
                leads
                    .listed
                    .map_or_else(|| "unlimited".to_string(), |listed| listed.to_string()),
                leads.never_dialed.unwrap_or(0),
                leads.waiting,
                leads.dialing,
                leads.awaiting_redial,
                leads.deferred,
                leads.no_window,
                leads.done,
                leads.do_not_call
            );
            if completed && leads.dialing > 0 {
                ok = false;
                detail.push_str("; leads still dialing after the campaign finished");
            }
            checks.push(check("one_state_per_lead", ok, detail));
            let pacing = &engine.pacing_counters;
            checks.push(check(
                "abandon_guard_never_exceeded",
                pacing.guard_exceeded == 0,
                format!(
                    "{} decisions checked against the abandon view, {} while the guard held \
                     dialing to progressive, {} dialed beyond it",
                    pacing.guard_checked, pacing.guard_fallbacks, pacing.guard_exceeded
                ),
            ));
        }
        None => checks.push(check(
            "campaign_finished",
            !completed,
            "the campaign never reported its end".into(),
        )),
    }

    checks.push(check(
        "no_agent_given_two_calls",
        truth.offers_to_busy_agents == 0,
        format!(
            "{} offers to an agent who was not idle",
            truth.offers_to_busy_agents
        ),
    ));
    checks.push(check(
        "switch_model_consistent",
        outcome.model_check.is_ok(),
        match &outcome.model_check {
            Ok(()) => "queue, agents and calls agree".into(),
            Err(problem) => problem.clone(),
        },
    ));

    let engine_vs_truth = compare(
        outcome
            .engine
            .as_ref()
            .map_or(&[][..], |e| &e.outcome_of_attempt[..]),
        &truth.outcome_of_attempt,
    );
    InvariantReport {
        ok: checks.iter().all(|check| check.ok),
        checks,
        engine_vs_truth,
    }
}

fn compare(engine: &[Option<Outcome>], truth: &[Option<Outcome>]) -> EngineVsTruth {
    let mut result = EngineVsTruth::default();
    for (index, recorded) in engine.iter().enumerate().skip(1) {
        let Some(recorded) = recorded else {
            continue;
        };
        let real = truth.get(index).copied().flatten();
        result.attempts_compared += 1;
        if real != Some(*recorded) {
            result.differ += 1;
            let real = real.map_or("still up", Outcome::as_str);
            *result
                .by_outcome
                .entry(format!("{} -> {real}", recorded.as_str()))
                .or_insert(0) += 1;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_counted_by_pair() {
        let engine = [
            None,
            Some(Outcome::Completed),
            Some(Outcome::UnknownAfterAgentMiss),
            Some(Outcome::Machine),
            Some(Outcome::UnknownAfterAgentMiss),
        ];
        let truth = [
            None,
            Some(Outcome::Completed),
            Some(Outcome::Completed),
            Some(Outcome::AbandonedInQueue),
            Some(Outcome::Completed),
        ];
        let result = compare(&engine, &truth);
        assert_eq!(result.attempts_compared, 4);
        assert_eq!(result.differ, 3);
        assert_eq!(
            result.by_outcome["unknown_after_agent_miss -> completed"],
            2
        );
        assert_eq!(result.by_outcome["machine -> abandoned_in_queue"], 1);
    }
}
