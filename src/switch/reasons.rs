//! Reading a "terminated" notification's disconnect reason: what did the callee's side do?
//!
//! PortaSwitch reports a reason text and a SIP-style code (portaswitch-api.md §3.2). The codes are
//! not clean SIP final responses for the answered leg (a normal BYE reports 487), so the call
//! machine classifies by the call's history first and uses this table only for calls that
//! ended before anyone answered, and to spot answering machines.
//!
//! Pure functions; the texts the simulated switch sends are defined here too, so the two agree.

use crate::domain::Outcome;

/// What a disconnect before answer means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EarlyDisconnect {
    NoAnswer,
    Busy,
    Declined,
    InvalidNumber,
    Machine,
    Failed,
}

impl EarlyDisconnect {
    /// The attempt's outcome.
    pub fn outcome(self) -> Outcome {
        match self {
            EarlyDisconnect::NoAnswer => Outcome::NoAnswer,
            EarlyDisconnect::Busy => Outcome::Busy,
            EarlyDisconnect::Declined => Outcome::Declined,
            EarlyDisconnect::InvalidNumber => Outcome::InvalidNumber,
            EarlyDisconnect::Machine => Outcome::Machine,
            EarlyDisconnect::Failed => Outcome::Failed,
        }
    }
}

/// Reason texts and codes the simulated switch uses, modelled on what public PortaSwitch
/// clients observe (portaswitch-api.md §3.2).
pub mod sim_reasons {
    pub const NORMAL_CLEARING: (&str, u16) = ("BYE Received", 487);
    pub const NO_ANSWER: (&str, u16) = ("Temporarily Unavailable", 480);
    pub const BUSY: (&str, u16) = ("Busy Here", 486);
    pub const DECLINED: (&str, u16) = ("Declined", 603);
    pub const INVALID_NUMBER: (&str, u16) = ("Not Found", 404);
    pub const FAILED: (&str, u16) = ("Service Unavailable", 503);
    pub const MACHINE: (&str, u16) = ("Answering Machine Detected", 487);
    pub const CANCELLED_BY_API: (&str, u16) = ("Answer Leg Disconnected Via Call Control API", 487);
    pub const QUEUE_FULL: (&str, u16) = ("Call Queue Full", 503);
    pub const QUEUE_TIMEOUT: (&str, u16) = ("Call Queue Timeout", 408);
    pub const AGENT_NO_ANSWER: (&str, u16) = ("Request Timeout", 408);
    pub const AGENT_DECLINED: (&str, u16) = ("Decline", 603);
}

/// True when the reason text says an answering machine picked up.
pub fn is_machine(reason: Option<&str>) -> bool {
    reason.is_some_and(|text| {
        contains_ignoring_case(text, "machine") || contains_ignoring_case(text, "voicemail")
    })
}

/// ASCII case-insensitive substring test; `needle` must be lower case.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    let bytes = haystack.as_bytes();
    let mut lowered = [0u8; 128];
    if bytes.len() <= lowered.len() {
        for (slot, byte) in lowered.iter_mut().zip(bytes) {
            *slot = byte.to_ascii_lowercase();
        }
        // Lower-casing ASCII keeps the text valid UTF-8.
        return std::str::from_utf8(&lowered[..bytes.len()])
            .is_ok_and(|lower| lower.contains(needle));
    }
    let needle = needle.as_bytes();
    bytes
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

/// Classifies a disconnect that happened before the callee answered.
pub fn classify_early(reason: Option<&str>, code: Option<u16>) -> EarlyDisconnect {
    let text = reason.unwrap_or("");
    match code {
        Some(486 | 600) => EarlyDisconnect::Busy,
        Some(603) => EarlyDisconnect::Declined,
        Some(404 | 410 | 484 | 485 | 604) => EarlyDisconnect::InvalidNumber,
        // A relayed "Auth Failed" means the number cannot be reached (portaswitch-api.md §3.2).
        Some(401 | 403) if contains_ignoring_case(text, "auth failed") => {
            EarlyDisconnect::InvalidNumber
        }
        Some(408 | 480) => EarlyDisconnect::NoAnswer,
        // 487 is also what a normal clearing reports; only the text tells a machine apart.
        Some(487) if is_machine(reason) => EarlyDisconnect::Machine,
        Some(487) => EarlyDisconnect::NoAnswer,
        Some(_) => EarlyDisconnect::Failed,
        None if is_machine(reason) => EarlyDisconnect::Machine,
        None if contains_ignoring_case(text, "auth failed") => EarlyDisconnect::InvalidNumber,
        None => classify_by_text(text),
    }
}

/// For notifications without a code: a best guess from the reason text.
fn classify_by_text(text: &str) -> EarlyDisconnect {
    let has = |needle| contains_ignoring_case(text, needle);
    if has("busy") {
        EarlyDisconnect::Busy
    } else if has("declin") || has("reject") {
        EarlyDisconnect::Declined
    } else if has("not found") || has("invalid") {
        EarlyDisconnect::InvalidNumber
    } else if has("no answer") || has("temporarily unavailable") {
        EarlyDisconnect::NoAnswer
    } else {
        EarlyDisconnect::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::sim_reasons::*;
    use super::*;

    fn classify(pair: (&str, u16)) -> EarlyDisconnect {
        classify_early(Some(pair.0), Some(pair.1))
    }

    #[test]
    fn the_simulator_reasons_classify_as_intended() {
        assert_eq!(classify(NO_ANSWER), EarlyDisconnect::NoAnswer);
        assert_eq!(classify(BUSY), EarlyDisconnect::Busy);
        assert_eq!(classify(DECLINED), EarlyDisconnect::Declined);
        assert_eq!(classify(INVALID_NUMBER), EarlyDisconnect::InvalidNumber);
        assert_eq!(classify(FAILED), EarlyDisconnect::Failed);
        assert_eq!(classify(MACHINE), EarlyDisconnect::Machine);
        assert_eq!(classify(CANCELLED_BY_API), EarlyDisconnect::NoAnswer);
    }

    #[test]
    fn observed_third_party_reasons() {
        assert_eq!(
            classify_early(Some("Relayed Response: Auth Failed"), Some(403)),
            EarlyDisconnect::InvalidNumber
        );
        assert_eq!(
            classify_early(Some("Temporarily Unavailable"), Some(480)),
            EarlyDisconnect::NoAnswer
        );
        assert_eq!(classify_early(None, None), EarlyDisconnect::Failed);
        assert_eq!(
            classify_early(Some("User Busy"), None),
            EarlyDisconnect::Busy
        );
        assert_eq!(
            classify_early(Some("Service Unavailable"), Some(503)),
            EarlyDisconnect::Failed
        );
    }
}
