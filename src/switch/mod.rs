//! The seam between the engine and a telephone switch: commands to it, events from it.
//!
//! Everything the engine says to a switch is a [`SwitchCommand`]; everything a switch says back
//! is a [`CallEvents`] batch (to the one call it concerns) or a [`SwitchNotice`] (to the
//! campaign). The events use PortaSwitch's vocabulary (portaswitch-api.md §3): a call is
//! identified by `id` + `tag`, carries a `tracking_id`, and moves through the states
//! trying, ringing, connected, queued, dequeued, terminated, held and transferred; "terminated"
//! carries the disconnect `reason` text and a `reason_code`.
//!
//! A backend is any actor that accepts `Mail<SwitchCommand>`: the simulated switch
//! ([`crate::sim`]), real PortaSwitch ([`crate::portaswitch`]) or a recorded trace
//! ([`crate::replay`]). [`crate::runtime`] picks one; the engine never
//! names the backend's type, and backends never name the engine's actor types.
//!
//! This module defines data only. It must not perform I/O or decide anything.

pub mod reasons;

use crate::domain::{AttemptId, PhoneNumber};
use crate::executor::actors::Port;
use crate::mail::Mail;
use crate::short_text::ShortText;
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A PortaSwitch call-state name, as it appears in a notification's `state` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Trying,
    Ringing,
    Connected,
    Queued,
    Dequeued,
    Terminated,
    Held,
    Transferred,
}

impl CallStatus {
    pub const ALL: [CallStatus; 8] = [
        CallStatus::Trying,
        CallStatus::Ringing,
        CallStatus::Connected,
        CallStatus::Queued,
        CallStatus::Dequeued,
        CallStatus::Terminated,
        CallStatus::Held,
        CallStatus::Transferred,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Trying => "trying",
            CallStatus::Ringing => "ringing",
            CallStatus::Connected => "connected",
            CallStatus::Queued => "queued",
            CallStatus::Dequeued => "dequeued",
            CallStatus::Terminated => "terminated",
            CallStatus::Held => "held",
            CallStatus::Transferred => "transferred",
        }
    }

    /// Reads a state name; `None` for names outside the documented vocabulary.
    pub fn parse(name: &str) -> Option<CallStatus> {
        CallStatus::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A switch's identity for a call: PortaSwitch's `call.id` + `call.tag`. A call machine
/// compares it with every notification's; for short ids (the simulator's, most tags) that is
/// three word comparisons per text ([`ShortText`]'s equality).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallRef {
    pub id: ShortText,
    pub tag: ShortText,
}

/// The last 1 to 7 bytes of a string as a little-endian word padded with zeros: the same word as
/// copying them into a zeroed `[u8; 8]`, read with two overlapping loads (4 to 7 bytes) or three
/// single ones (1 to 3 bytes) instead of a call to `memcpy` for a variable length. The trace
/// hashes every identifier this way, and a call machine each notification's tracking id.
#[inline]
pub fn tail_word(rest: &[u8]) -> u64 {
    let len = rest.len();
    debug_assert!((1..8).contains(&len));
    if len >= 4 {
        let low = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let high = u32::from_le_bytes([rest[len - 4], rest[len - 3], rest[len - 2], rest[len - 1]]);
        u64::from(low) | (u64::from(high) << (8 * (len - 4)))
    } else {
        u64::from(rest[0])
            | (u64::from(rest[len / 2]) << (8 * (len / 2)))
            | (u64::from(rest[len - 1]) << (8 * (len - 1)))
    }
}

impl fmt::Display for CallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.id, self.tag)
    }
}

/// One call-state notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateNotification {
    pub call: CallRef,
    pub tracking_id: ShortText,
    pub state: CallStatus,
    /// Disconnect reason text; set on "terminated".
    pub reason: Option<ShortText>,
    /// SIP-style disconnect code; set on "terminated".
    pub reason_code: Option<u16>,
    /// The switch's own timestamp of the change, in engine time when known.
    pub update_time: Option<SimTime>,
}

/// Something a switch tells one call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SwitchEvent {
    /// The switch accepted the originate request and named the call.
    Accepted {
        call: CallRef,
        tracking_id: ShortText,
    },
    /// The switch refused the originate request.
    Rejected { reason: ShortText },
    /// A call-state notification.
    State(StateNotification),
}

/// Events for one call, in the order the switch produced them. A simulated switch groups the
/// events of one call that happen at the same instant; a live switch sends one at a time.
///
/// A `Vec` rather than inline storage: the batch's events then stay where they were built while
/// the message moves from the switch to the call (a pointer moves instead of some 260 bytes, four
/// times per batch; BENCHMARKS.md).
#[derive(Debug)]
pub struct CallEvents(pub Vec<SwitchEvent>);

/// What the engine asks of a switch.
#[derive(Debug)]
pub enum SwitchCommand {
    /// Place a call to `callee` and route it, once answered, to the campaign's call queue.
    Originate(OriginateRequest),
    /// Disconnect a call the engine no longer wants.
    Hangup { attempt: AttemptId, call: CallRef },
    /// Ask which calls the switch carries now (PortaSwitch's `get_sip_calls_list`). The backend
    /// answers with one [`SwitchNotice::ActiveCalls`] or [`SwitchNotice::ActiveCallsUnavailable`].
    /// With `only`, the answer may be limited to those attempts (the engine asks about its
    /// suspect calls only); without it, the answer covers every call the switch listed.
    ListActiveCalls { only: Option<Vec<AttemptId>> },
}

/// The parameters of one outbound call.
#[derive(Debug)]
pub struct OriginateRequest {
    pub attempt: AttemptId,
    pub callee: PhoneNumber,
    /// How long the callee's phone may ring before the switch gives up.
    pub ring_timeout: SimDuration,
    /// Where this call's events go (the call's one strong handle: see
    /// [`crate::call::actor::CallActor::spawn`]).
    pub events_to: Port<Mail<CallEvents>>,
}

/// What a switch tells the campaign as a whole.
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchNotice {
    /// Agents now logged in to the campaign's queue.
    AgentsLoggedIn { count: u32 },
    /// An event arrived for a call the backend does not know.
    UnknownCall { call: CallRef, state: CallStatus },
    /// An event arrived for a call whose attempt has already ended.
    EventAfterEnd { call: CallRef, state: CallStatus },
    /// The answer to [`SwitchCommand::ListActiveCalls`], or a list the backend fetched on its own
    /// (after a failover: the rebuild of the active calls).
    ActiveCalls(ActiveCallList),
    /// The active-call list could not be fetched.
    ActiveCallsUnavailable { reason: ShortText },
    /// The backend now talks to another PortaSwitch site (failover or switch-back).
    SiteChanged { site: ShortText },
    /// The switch refused the dialer's login (its password or API token no longer works): the
    /// campaign places no calls until [`SwitchNotice::LoginRestored`].
    LoginRefused { site: ShortText, reason: ShortText },
    /// The login works again after a [`SwitchNotice::LoginRefused`].
    LoginRestored { site: ShortText },
    /// A callback for an attempt of an earlier run, still on the switch at a restart (its call
    /// actor died with the earlier process): the state it reported, for the campaign's counts,
    /// and a "terminated" callback's disconnect reason, for the attempt's outcome.
    RecoveredCallState {
        attempt: AttemptId,
        state: CallStatus,
        reason: Option<ShortText>,
        reason_code: Option<u16>,
    },
}

/// Which of the engine's calls a switch listed as active, and in which state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActiveCallList {
    /// Listed calls the backend could match to an attempt, in attempt order.
    pub listed: Vec<ListedCall>,
    /// True when the list covers every call (no `only` filter was applied): a call of the engine
    /// missing from it is not carried by the switch.
    pub complete: bool,
    /// Listed calls the backend could not match to any attempt.
    pub unmatched: u32,
    /// Sent by the backend on its own after a failover, not in answer to a request.
    pub rebuild: bool,
}

/// One entry of an [`ActiveCallList`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedCall {
    pub attempt: AttemptId,
    /// The call's state as listed; `None` when the switch named a state outside the vocabulary.
    pub state: Option<CallStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strings_last_bytes_make_the_zero_padded_word() {
        let bytes: Vec<u8> = (0..16u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(0x91))
            .collect();
        for start in 0..8 {
            for len in 1..8 {
                let rest = &bytes[start..start + len];
                let mut padded = [0u8; 8];
                padded[..len].copy_from_slice(rest);
                assert_eq!(tail_word(rest), u64::from_le_bytes(padded), "{start} {len}");
            }
        }
    }

    use proptest::prelude::*;

    #[test]
    fn ids_compare_at_every_length_and_difference() {
        for len in 0..=40 {
            let a: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            let same = |a: &str, b: &str| ShortText::new(a) == ShortText::new(b);
            assert!(same(&a, &a.clone()), "len {len}");
            for at in 0..len {
                let mut b = a.clone().into_bytes();
                b[at] = b'Z';
                let b = String::from_utf8(b).unwrap();
                assert!(!same(&a, &b), "len {len}, differs at {at}");
            }
            assert!(!same(&a, &format!("{a}x")), "len {len} against longer");
        }
    }

    proptest! {
        #[test]
        fn call_refs_compare_as_their_texts(a in "[a-c]{0,30}", b in "[a-c]{0,30}") {
            let call = |id: &str, tag: &str| CallRef { id: id.into(), tag: tag.into() };
            prop_assert_eq!(call(&a, &b) == call(&b, &a), a == b);
        }
    }
}
