//! The dialer's own vocabulary: attempts, leads, phone numbers, app-level call states and outcomes.
//!
//! These are the engine's words, independent of any switch. The mapping from PortaSwitch's
//! notification states to these lives in [`crate::call::machine`].
//!
//! This module holds plain data only: no I/O, no clocks, no actors.

use crate::short_text::ShortText;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One dial of one lead, numbered from 1 in the order the campaign placed them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttemptId(pub u64);

/// A prospect on the campaign's list, numbered from 0 in list order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeadId(pub u64);

/// A dialable phone number, as sent to the switch in `callee_id`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(pub ShortText);

/// `prefix` followed by `number` in decimal, zero-padded to at least `width` digits, built
/// without `format!`. For numbers that come one after another, see [`CountingText`].
pub fn numbered(prefix: &str, number: u64, width: usize) -> ShortText {
    let mut digits = itoa::Buffer::new();
    prefixed(prefix, digits.format(number), width)
}

/// `prefix` followed by `number` in decimal (zero-padded to at least `width` digits) for one
/// number after another: the text for the next number is made by adding one to the digits of
/// the last one, in place.
///
/// Why not [`numbered`] each time: the processor cannot hand bytes it has just stored one or a
/// few at a time to a wider load of the same place, and building a short text, then copying it
/// into a `ShortText`, then moving that, is just such a chain. In a sampling profile of a
/// simulated day, `numbered`'s builder took about 8% of the wall time (a little under 2% of the
/// instructions), most of it waiting on two such loads (BENCHMARKS.md). Here the text handed
/// out is a copy of one made a whole call earlier, and adding one stores a byte or two.
#[derive(Clone, Debug)]
pub struct CountingText {
    prefix_len: usize,
    width: usize,
    number: u64,
    text: ShortText,
}

impl CountingText {
    pub fn starting_at(prefix: &str, number: u64, width: usize) -> CountingText {
        CountingText {
            prefix_len: prefix.len(),
            width,
            number,
            text: numbered(prefix, number, width),
        }
    }

    /// The number whose text [`CountingText::take`] gives next.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The text for [`CountingText::number`]; then moves on to the next number. The copy is
    /// inlined into the caller; adding one, with its carries, is not.
    #[inline(always)]
    pub fn take(&mut self) -> ShortText {
        let text = self.text.clone();
        self.advance();
        text
    }

    #[inline(never)]
    fn advance(&mut self) {
        let Some(next) = self.number.checked_add(1) else {
            self.number = 0;
            self.rebuild();
            return;
        };
        self.number = next;
        if !self.text.add_one_to_digits(self.prefix_len) {
            // Every digit was a nine: the number needs one more digit.
            self.rebuild();
        }
    }

    #[cold]
    #[inline(never)]
    fn rebuild(&mut self) {
        let prefix = ShortText::new(&self.text[..self.prefix_len]);
        self.text = numbered(&prefix, self.number, self.width);
    }
}

/// `prefix` followed by `digits`, zero-padded to at least `width` digits.
fn prefixed(prefix: &str, digits: &str, width: usize) -> ShortText {
    let padding = width.saturating_sub(digits.len());
    let length = prefix.len() + padding + digits.len();
    // Short texts (every simulated id and number) are built on the stack and copied once.
    let mut text = [b'0'; SHORT_TEXT];
    if length > text.len() {
        return long_prefixed(prefix, digits, padding);
    }
    put_short(&mut text, 0, prefix.as_bytes());
    put_short(&mut text, prefix.len() + padding, digits.as_bytes());
    // SAFETY: `text[..length]` is `prefix`, ASCII zeros and `digits`: two `str`s (valid UTF-8)
    // with ASCII between them, which is valid UTF-8. Checking it again cost a third of this
    // function on every simulated call.
    ShortText::new(unsafe { std::str::from_utf8_unchecked(&text[..length]) })
}

/// The longest text [`prefixed`] builds on the stack: what a [`ShortText`] holds inline.
const SHORT_TEXT: usize = ShortText::INLINE;

#[cold]
#[inline(never)]
fn long_prefixed(prefix: &str, digits: &str, padding: usize) -> ShortText {
    let mut long = String::with_capacity(prefix.len() + padding + digits.len());
    long.push_str(prefix);
    long.extend(std::iter::repeat_n('0', padding));
    long.push_str(digits);
    ShortText::from(long)
}

/// Writes `bytes` (at most [`SHORT_TEXT`]) to `text[at..at + bytes.len()]` with a few fixed-size
/// moves, overlapping where the length is not a multiple of their size: a variable-length
/// `copy_from_slice` is a call to `memcpy`, two of them for each simulated id. Nothing outside
/// that range is written.
#[inline]
fn put_short(text: &mut [u8; SHORT_TEXT], at: usize, bytes: &[u8]) {
    let len = bytes.len();
    let out = &mut text[at..at + len];
    if len >= 8 {
        out[..8].copy_from_slice(&bytes[..8]);
        if len > 16 {
            out[8..16].copy_from_slice(&bytes[8..16]);
        }
        out[len - 8..].copy_from_slice(&bytes[len - 8..]);
    } else if len >= 4 {
        out[..4].copy_from_slice(&bytes[..4]);
        out[len - 4..].copy_from_slice(&bytes[len - 4..]);
    } else if len > 0 {
        out[0] = bytes[0];
        out[len / 2] = bytes[len / 2];
        out[len - 1] = bytes[len - 1];
    }
}

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a{}", self.0)
    }
}

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lead{}", self.0)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an attempt ended. Every attempt ends with exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A person answered and talked with an agent.
    Completed,
    /// Nobody answered before the ring timeout.
    NoAnswer,
    Busy,
    /// The callee rejected the call while it rang.
    Declined,
    InvalidNumber,
    /// The switch refused or lost the call for another reason.
    Failed,
    /// An answering machine answered.
    Machine,
    /// A person answered and hung up (or was dropped by the queue) before reaching an agent.
    AbandonedInQueue,
    /// PortaSwitch's documented limitation: an agent was offered the call, did not answer or
    /// declined, and the switch reported "terminated" and nothing more. The callee may still be
    /// waiting in the queue or talking to another agent; the dialer cannot know.
    UnknownAfterAgentMiss,
    /// The dialer lost track of a connected call: no final event arrived before its watchdog.
    Unknown,
}

impl Outcome {
    pub const ALL: [Outcome; 10] = [
        Outcome::Completed,
        Outcome::NoAnswer,
        Outcome::Busy,
        Outcome::Declined,
        Outcome::InvalidNumber,
        Outcome::Failed,
        Outcome::Machine,
        Outcome::AbandonedInQueue,
        Outcome::UnknownAfterAgentMiss,
        Outcome::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::NoAnswer => "no_answer",
            Outcome::Busy => "busy",
            Outcome::Declined => "declined",
            Outcome::InvalidNumber => "invalid_number",
            Outcome::Failed => "failed",
            Outcome::Machine => "machine",
            Outcome::AbandonedInQueue => "abandoned_in_queue",
            Outcome::UnknownAfterAgentMiss => "unknown_after_agent_miss",
            Outcome::Unknown => "unknown",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// A live person answered (machines do not count).
    pub fn was_answered_by_person(self) -> bool {
        matches!(
            self,
            Outcome::Completed | Outcome::AbandonedInQueue | Outcome::UnknownAfterAgentMiss
        )
    }

    /// The person reached an agent.
    pub fn reached_agent(self) -> bool {
        self == Outcome::Completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_are_put_exactly_in_place() {
        let source: Vec<u8> = (0..SHORT_TEXT as u8).map(|i| b'a' + i).collect();
        for len in 0..=SHORT_TEXT {
            for at in 0..=SHORT_TEXT - len {
                let mut text = [b'0'; SHORT_TEXT];
                put_short(&mut text, at, &source[..len]);
                let mut expected = [b'0'; SHORT_TEXT];
                expected[at..at + len].copy_from_slice(&source[..len]);
                assert_eq!(text, expected, "length {len} at {at}");
            }
        }
    }

    #[test]
    fn texts_too_long_to_keep_inline_are_built_too() {
        let long_prefix = "p".repeat(20);
        assert_eq!(
            numbered(&long_prefix, 42, 6).as_str(),
            format!("{long_prefix}000042")
        );
    }

    #[test]
    fn numbered_pads_and_prefixes() {
        assert_eq!(numbered("+1555", 42, 7), "+15550000042");
        assert_eq!(numbered("sim-", 12345, 0), "sim-12345");
        assert_eq!(numbered("", 123_456_789, 3), "123456789");
        let long_prefix = "+".repeat(45);
        assert_eq!(numbered(&long_prefix, 7, 5), format!("{long_prefix}00007"));
        assert_eq!(numbered("x", 5, 45), format!("x{}5", "0".repeat(44)));
    }

    #[test]
    fn counting_text_gives_what_numbered_gives() {
        for (prefix, start, width) in [
            ("sim-", 1, 0),
            ("t", 0, 0),
            ("+1555", 9_990, 7),
            ("x", 99_999_995, 3),
            ("", 0, 0),
            ("+", 9_999_990, 7),
        ] {
            let mut counting = CountingText::starting_at(prefix, start, width);
            for number in start..start + 25 {
                assert_eq!(counting.number(), number);
                assert_eq!(
                    counting.take(),
                    numbered(prefix, number, width),
                    "{prefix} {number}"
                );
            }
        }
        let long = "p".repeat(30);
        let mut counting = CountingText::starting_at(&long, 98, 0);
        assert_eq!(counting.take(), format!("{long}98"));
        assert_eq!(counting.take(), format!("{long}99"));
        assert_eq!(counting.take(), format!("{long}100"));
        let mut last = CountingText::starting_at("n", u64::MAX, 0);
        assert_eq!(last.take(), format!("n{}", u64::MAX));
        assert_eq!(last.take(), "n0");
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A call's state as the dialer shows it, derived from the switch's notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "outcome")]
pub enum AppState {
    /// Originate sent; nothing heard yet, or "trying".
    Dialing,
    Ringing,
    /// The callee picked up; not yet in the queue.
    Answered,
    /// Waiting in the call queue for an agent.
    Queued,
    /// Taken out of the queue and ringing an agent.
    Offered,
    /// Talking with an agent.
    Talking,
    Held,
    /// The agent transferred the callee elsewhere; the agent is free again.
    Transferred,
    /// The switch said "terminated" while the callee was queued or offered to an agent, without
    /// an agent answering: the release note's limitation. The callee may still be waiting in
    /// the queue, so the call keeps its place until the switch's active-call list shows it gone.
    Suspect,
    Ended(Outcome),
}

impl AppState {
    pub fn as_str(self) -> &'static str {
        match self {
            AppState::Dialing => "dialing",
            AppState::Ringing => "ringing",
            AppState::Answered => "answered",
            AppState::Queued => "queued",
            AppState::Offered => "offered",
            AppState::Talking => "talking",
            AppState::Held => "held",
            AppState::Transferred => "transferred",
            AppState::Suspect => "suspect",
            AppState::Ended(_) => "ended",
        }
    }

    /// Dialed and not yet answered or failed: what pacing calls "in flight".
    pub fn is_dial_in_flight(self) -> bool {
        matches!(self, AppState::Dialing | AppState::Ringing)
    }

    /// The call occupies an agent (ringing one, talking, or on hold).
    pub fn holds_agent(self) -> bool {
        matches!(self, AppState::Offered | AppState::Talking | AppState::Held)
    }

    pub fn is_waiting_for_agent(self) -> bool {
        matches!(
            self,
            AppState::Answered | AppState::Queued | AppState::Suspect
        )
    }

    pub fn is_ended(self) -> bool {
        matches!(self, AppState::Ended(_))
    }
}

impl fmt::Display for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppState::Ended(outcome) => write!(f, "ended({outcome})"),
            other => f.write_str(other.as_str()),
        }
    }
}
