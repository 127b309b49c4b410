//! Crash recovery: what becomes of attempts that were in flight when the process died.
//!
//! An attempt is journaled before its originate request leaves, so after a crash the journal
//! may hold attempts with no outcome. Such a call may have been placed, may still be up, or may
//! never have reached the switch; the dialer cannot tell from its own records. It must never
//! dial the lead again blindly. [`resolve`] decides per attempt, from the switch's active-call
//! list when one could be had:
//! - the switch still carries a call with that call id (or to that number): the attempt stays
//!   open, and its lead stays "dialing"; the new run watches it as a [`RecoveredAttempt`] on
//!   the active-call list and ends it as `unknown` once the list no longer carries it (see
//!   [`crate::campaign::supervisor`]), so nothing is left in flight at the end of the run;
//! - otherwise (not listed, or no list at all): the attempt ends with outcome `unknown`, and the
//!   lead's fate follows the campaign's rule for unknown outcomes (by default: no redial).
//!
//! Calls are matched by the switch's call id, which the journal keeps from the moment the
//! switch names the call (see [`crate::store::writer`]); an attempt whose originate was still
//! on its way at the crash has none. The list may also give callee numbers: a campaign has at
//! most one attempt in flight per lead, and leads are unique by number, so a number identifies
//! the attempt too. PortaSwitch's `get_sip_calls_list` is not known to carry the callee's
//! number (portaswitch-api.md §3.3), so the live runner matches by call id only.
//!
//! Pure: the list and the open attempts come in, decisions go out.

use crate::domain::{AttemptId, LeadId, PhoneNumber};
use crate::short_text::ShortText;
use std::collections::BTreeSet;

/// An attempt the journal holds without an outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenAttempt {
    pub attempt: AttemptId,
    /// The lead (read from a store: its row id there).
    pub lead: LeadId,
    pub callee: PhoneNumber,
    /// The switch's call id, if it was journaled before the crash.
    pub switch_call: Option<ShortText>,
}

/// An attempt of an earlier run that the switch still carried when this run started: the
/// campaign watches it on the active-call list until the switch no longer carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveredAttempt {
    pub attempt: AttemptId,
    /// The lead, as this run numbers its leads (`None`: the attempt's lead is not in the run's
    /// list; only the attempt is settled).
    pub lead: Option<LeadId>,
    pub callee: PhoneNumber,
    /// The switch's call id the list is matched on (`None`: matched by number at the restart;
    /// later lists cannot find it, and it is settled after `vanish_after` of them).
    pub switch_call: Option<ShortText>,
}

/// Why a recovered attempt ended (its `reason` in the store).
pub const RECOVERED_GONE: &str = "in flight at a restart and still on the switch then; the active-call list no longer carries it";

/// What the switch says is up now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SwitchActiveCalls {
    /// Callee numbers (E.164) of active calls.
    pub callees: BTreeSet<PhoneNumber>,
    /// Call ids of active calls.
    pub call_ids: BTreeSet<ShortText>,
}

/// The decision for one open attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The switch still carries the call: keep the attempt open, and ask again later.
    StillOnSwitch,
    /// End the attempt with outcome `unknown`, for this reason.
    OutcomeUnknown(UnknownBecause),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownBecause {
    /// The active-call list does not carry it.
    NotOnSwitch,
    /// No active-call list could be had.
    NoList,
}

impl UnknownBecause {
    pub fn as_str(self) -> &'static str {
        match self {
            UnknownBecause::NotOnSwitch => {
                "in flight at a restart; the switch's active-call list does not carry it"
            }
            UnknownBecause::NoList => "in flight at a restart; no active-call list could be had",
        }
    }
}

/// Decides each open attempt's fate from the switch's active calls (`None`: no list).
pub fn resolve(
    open: &[OpenAttempt],
    active: Option<&SwitchActiveCalls>,
) -> Vec<(AttemptId, Resolution)> {
    open.iter()
        .map(|attempt| {
            let resolution = match active {
                None => Resolution::OutcomeUnknown(UnknownBecause::NoList),
                Some(active) => {
                    let by_id = attempt
                        .switch_call
                        .as_ref()
                        .is_some_and(|id| active.call_ids.contains(id));
                    if by_id || active.callees.contains(&attempt.callee) {
                        Resolution::StillOnSwitch
                    } else {
                        Resolution::OutcomeUnknown(UnknownBecause::NotOnSwitch)
                    }
                }
            };
            (attempt.attempt, resolution)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(attempt: u64, callee: &str, call: Option<&str>) -> OpenAttempt {
        OpenAttempt {
            attempt: AttemptId(attempt),
            lead: LeadId(attempt),
            callee: PhoneNumber(callee.into()),
            switch_call: call.map(Into::into),
        }
    }

    #[test]
    fn listed_calls_stay_open_and_the_rest_become_unknown() {
        let attempts = [
            open(1, "+1a", None),
            open(2, "+1b", Some("c2")),
            open(3, "+1c", None),
        ];
        let active = SwitchActiveCalls {
            callees: [PhoneNumber("+1a".into())].into_iter().collect(),
            call_ids: ["c2".into()].into_iter().collect(),
        };
        assert_eq!(
            resolve(&attempts, Some(&active)),
            [
                (AttemptId(1), Resolution::StillOnSwitch),
                (AttemptId(2), Resolution::StillOnSwitch),
                (
                    AttemptId(3),
                    Resolution::OutcomeUnknown(UnknownBecause::NotOnSwitch)
                ),
            ]
        );
    }

    #[test]
    fn without_a_list_nothing_is_redialed_blindly() {
        let attempts = [open(1, "+1a", None)];
        assert_eq!(
            resolve(&attempts, None),
            [(
                AttemptId(1),
                Resolution::OutcomeUnknown(UnknownBecause::NoList)
            )]
        );
    }
}
