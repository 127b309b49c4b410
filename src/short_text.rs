//! [`ShortText`]: the engine's short, owned texts (call ids and tags, tracking ids, phone numbers,
//! disconnect reasons) as one 24-byte block that is copied as a block.
//!
//! Why not `compact_str::CompactString`, which has the same size and also keeps short texts
//! inline: its representation starts with a pointer, so the compiler keeps a copy of it in
//! registers as 8 + 16 bytes while it moves it through memory as 16 + 8. A load that spans two
//! stores cannot take its bytes from them before they reach the cache, and every id copied in a
//! simulated call waited on one (BENCHMARKS.md, eleventh session). Here the bytes are a plain
//! byte array, which is copied whole.
//!
//! Layout: a text of at most [`ShortText::INLINE`] (23) bytes sits in the block itself, padded with
//! zeros, with its length in the last byte (`0xC0 + len`; a 23-byte text's own last byte is
//! below `0xC0`, as the last byte of any UTF-8 text is). A longer text lives on the heap (or, for
//! a `&'static str`, where it is), the block holding its address and length. A text is inline
//! exactly when it is short, so two inline blocks are equal exactly when their bytes are.
//!
//! This module owns the representation and nothing else: no I/O, no policy.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// A short owned text, copied as one 24-byte block (see the module's note).
#[repr(C, align(8))]
pub struct ShortText {
    raw: [u8; 24],
}

/// The last byte of an inline text shorter than 23 bytes: `INLINE_LENGTH + len`.
const INLINE_LENGTH: u8 = 0xC0;
/// The last byte of a text that owns a heap allocation.
const HEAP: u8 = 0xFF;
/// The last byte of a text that points at a `&'static str`.
const STATIC: u8 = 0xFE;

impl ShortText {
    /// The longest text kept in the block itself.
    pub const INLINE: usize = 23;

    /// The empty text.
    pub const fn empty() -> ShortText {
        let mut raw = [0u8; 24];
        raw[23] = INLINE_LENGTH;
        ShortText { raw }
    }

    pub fn new(text: &str) -> ShortText {
        if text.len() <= ShortText::INLINE {
            ShortText::inline(text)
        } else {
            ShortText::on_heap(text.as_bytes().into())
        }
    }

    /// A text that may point at `text` instead of copying it when it is long.
    pub fn from_static(text: &'static str) -> ShortText {
        if text.len() <= ShortText::INLINE {
            ShortText::inline(text)
        } else {
            ShortText::long(text.as_ptr().expose_provenance(), text.len(), STATIC)
        }
    }

    #[inline]
    fn inline(text: &str) -> ShortText {
        let mut raw = [0u8; 24];
        raw[..text.len()].copy_from_slice(text.as_bytes());
        if text.len() < ShortText::INLINE {
            raw[23] = INLINE_LENGTH + text.len() as u8;
        }
        ShortText { raw }
    }

    #[cold]
    #[inline(never)]
    fn on_heap(bytes: Box<[u8]>) -> ShortText {
        let len = bytes.len();
        let address = Box::into_raw(bytes).cast::<u8>().expose_provenance();
        ShortText::long(address, len, HEAP)
    }

    fn long(address: usize, len: usize, kind: u8) -> ShortText {
        let mut raw = [0u8; 24];
        raw[..8].copy_from_slice(&address.to_ne_bytes());
        raw[8..16].copy_from_slice(&len.to_ne_bytes());
        raw[23] = kind;
        ShortText { raw }
    }

    /// The last byte, read as part of the block's last word so that the block is never taken
    /// apart into pieces smaller than its copies.
    #[inline(always)]
    fn last(&self) -> u8 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.raw[16..]);
        (u64::from_le_bytes(word) >> 56) as u8
    }

    #[inline(always)]
    fn is_long(&self) -> bool {
        self.last() >= STATIC
    }

    #[inline(always)]
    fn long_parts(&self) -> (usize, usize) {
        let mut address = [0u8; 8];
        let mut len = [0u8; 8];
        address.copy_from_slice(&self.raw[..8]);
        len.copy_from_slice(&self.raw[8..16]);
        (usize::from_ne_bytes(address), usize::from_ne_bytes(len))
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor stores valid UTF-8: inline, the first `len` bytes of the
        // block; long, `len` bytes at `address`, owned by this text (HEAP) or `'static`
        // (STATIC), with the provenance exposed when the address was stored.
        unsafe { std::str::from_utf8_unchecked(self.bytes()) }
    }

    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        let last = self.last();
        if last >= STATIC {
            return self.long_bytes();
        }
        // `last - INLINE_LENGTH` is the length of a text shorter than 23 bytes; for a 23-byte
        // text `last` is its own last byte, below `INLINE_LENGTH`, and the difference wraps
        // to at least 0x40.
        &self.raw[..usize::from(last.wrapping_sub(INLINE_LENGTH)).min(ShortText::INLINE)]
    }

    #[inline(never)]
    fn long_bytes(&self) -> &[u8] {
        let (address, len) = self.long_parts();
        // SAFETY: see `as_str`.
        unsafe { std::slice::from_raw_parts(std::ptr::with_exposed_provenance(address), len) }
    }

    /// Adds one to the decimal number the text ends with, in place: the last byte that is not
    /// a nine goes up by one and the nines after it become zeros. Returns false, changing
    /// nothing, when that byte is not a digit or lies before `from` (every byte from `from` on is
    /// a nine: the number needs one more digit, which the caller must build).
    pub fn add_one_to_digits(&mut self, from: usize) -> bool {
        let bytes = self.bytes_mut();
        let mut at = bytes.len();
        while at > from {
            at -= 1;
            match bytes[at] {
                b'9' => bytes[at] = b'0',
                b'0'..=b'8' => {
                    bytes[at] += 1;
                    return true;
                }
                _ => break,
            }
        }
        // Put back the nines made zeros on the way.
        for byte in &mut bytes[at..] {
            if *byte == b'0' {
                *byte = b'9';
            }
        }
        false
    }

    /// The text's bytes, to change ASCII digits to other ASCII digits (which keeps it UTF-8).
    fn bytes_mut(&mut self) -> &mut [u8] {
        let last = self.last();
        if last < STATIC {
            &mut self.raw[..usize::from(last.wrapping_sub(INLINE_LENGTH)).min(ShortText::INLINE)]
        } else {
            if last == STATIC {
                *self = ShortText::on_heap(self.as_bytes().into());
            }
            let (address, len) = self.long_parts();
            // SAFETY: a HEAP text owns its `len` bytes at `address`, and `&mut self` is the only
            // way to them.
            unsafe {
                std::slice::from_raw_parts_mut(std::ptr::with_exposed_provenance_mut(address), len)
            }
        }
    }
}

impl Drop for ShortText {
    #[inline]
    fn drop(&mut self) {
        if self.last() == HEAP {
            drop_heap(self);
        }
    }
}

#[cold]
#[inline(never)]
fn drop_heap(text: &mut ShortText) {
    let (address, len) = text.long_parts();
    // SAFETY: a HEAP text's address and length are those of the `Box<[u8]>` that `on_heap`
    // gave up, and nothing else frees it.
    drop(unsafe {
        Box::from_raw(std::ptr::slice_from_raw_parts_mut(
            std::ptr::with_exposed_provenance_mut::<u8>(address),
            len,
        ))
    });
}

impl Clone for ShortText {
    #[inline(always)]
    fn clone(&self) -> ShortText {
        if self.last() == HEAP {
            clone_heap(self)
        } else {
            ShortText { raw: self.raw }
        }
    }
}

#[cold]
#[inline(never)]
fn clone_heap(text: &ShortText) -> ShortText {
    ShortText::on_heap(text.as_bytes().into())
}

impl Default for ShortText {
    fn default() -> ShortText {
        ShortText::empty()
    }
}

impl Deref for ShortText {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ShortText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for ShortText {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for ShortText {
    #[inline]
    fn eq(&self, other: &ShortText) -> bool {
        if self.is_long() && other.is_long() {
            self.as_str() == other.as_str()
        } else {
            // A short text is always inline and padded with zeros, and a long one never is.
            self.raw == other.raw
        }
    }
}

impl Eq for ShortText {}

impl PartialEq<str> for ShortText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ShortText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for ShortText {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<ShortText> for str {
    fn eq(&self, other: &ShortText) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<ShortText> for &str {
    fn eq(&self, other: &ShortText) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<ShortText> for String {
    fn eq(&self, other: &ShortText) -> bool {
        self == other.as_str()
    }
}

impl PartialOrd for ShortText {
    fn partial_cmp(&self, other: &ShortText) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ShortText {
    fn cmp(&self, other: &ShortText) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// As `str` hashes, so that maps keyed by texts can be searched with a `&str`.
impl Hash for ShortText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for ShortText {
    fn from(text: &str) -> ShortText {
        ShortText::new(text)
    }
}

impl From<&String> for ShortText {
    fn from(text: &String) -> ShortText {
        ShortText::new(text)
    }
}

impl From<String> for ShortText {
    fn from(text: String) -> ShortText {
        if text.len() <= ShortText::INLINE {
            ShortText::inline(&text)
        } else {
            ShortText::on_heap(text.into_bytes().into_boxed_slice())
        }
    }
}

impl From<ShortText> for String {
    fn from(text: ShortText) -> String {
        text.as_str().to_owned()
    }
}

impl std::str::FromStr for ShortText {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<ShortText, Self::Err> {
        Ok(ShortText::new(text))
    }
}

impl Serialize for ShortText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ShortText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ShortText, D::Error> {
        struct ShortTextVisitor;
        impl serde::de::Visitor<'_> for ShortTextVisitor {
            type Value = ShortText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<ShortText, E> {
                Ok(ShortText::new(text))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<ShortText, E> {
                Ok(ShortText::from(text))
            }
        }
        deserializer.deserialize_str(ShortTextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn every_length_round_trips_inline_heap_and_static() {
        let long = "0123456789abcdefghijklmnopqrstuvwxyzé-ü";
        for end in 0..=long.len() {
            let Some(piece) = long.get(..end) else {
                continue;
            };
            let text = ShortText::new(piece);
            assert_eq!(text.as_str(), piece);
            assert_eq!(text.len(), piece.len());
            assert_eq!(text.is_long(), piece.len() > ShortText::INLINE, "{piece:?}");
            assert_eq!(text.clone(), text);
            assert_eq!(ShortText::from(piece.to_owned()), text);
            let leaked: &'static str = Box::leak(piece.to_owned().into_boxed_str());
            assert_eq!(ShortText::from_static(leaked), text);
            assert_eq!(hash_of(&text), hash_of(piece), "hashes as str does");
        }
        assert_eq!(ShortText::default(), ShortText::new(""));
        assert_eq!(ShortText::empty().as_str(), "");
    }

    #[test]
    fn a_23_byte_text_ending_in_a_multibyte_character_stays_inline() {
        let piece = "twenty-one bytes.....é"; // 21 ASCII + 2 bytes
        assert_eq!(piece.len(), 23);
        let text = ShortText::new(piece);
        assert!(!text.is_long());
        assert_eq!(text.as_str(), piece);
    }

    #[test]
    fn adds_one_with_carries_and_refuses_when_a_digit_is_needed() {
        let mut text = ShortText::new("sim-199");
        assert!(text.add_one_to_digits(4));
        assert_eq!(text, "sim-200");
        let mut nines = ShortText::new("t99");
        assert!(!nines.add_one_to_digits(1));
        assert_eq!(nines, "t99");
        let mut not_digits = ShortText::new("a1b");
        assert!(!not_digits.add_one_to_digits(1));
        assert_eq!(not_digits, "a1b");
        let mut nines_after_the_prefix = ShortText::new("8-99");
        assert!(!nines_after_the_prefix.add_one_to_digits(2));
        let long = "a-prefix-long-enough-for-the-heap-";
        let mut on_heap = ShortText::new(&format!("{long}0419"));
        assert!(on_heap.add_one_to_digits(long.len()));
        assert_eq!(on_heap, format!("{long}0420").as_str());
        let mut from_static = ShortText::from_static("a-static-prefix-long-enough-for-the-heap-7");
        assert!(from_static.add_one_to_digits(41));
        assert_eq!(from_static, "a-static-prefix-long-enough-for-the-heap-8");
    }

    #[test]
    fn serializes_as_a_json_string() {
        let text = ShortText::new("sim-42");
        assert_eq!(serde_json::to_string(&text).unwrap(), "\"sim-42\"");
        let back: ShortText = serde_json::from_str("\"sim-42\"").unwrap();
        assert_eq!(back, text);
        let long: ShortText =
            serde_json::from_str("\"a text longer than twenty-three bytes\"").unwrap();
        assert_eq!(long, "a text longer than twenty-three bytes");
        assert!(serde_json::from_str::<ShortText>("42").is_err());
    }

    proptest! {
        #[test]
        fn behaves_as_the_string_it_holds(a in ".{0,40}", b in ".{0,40}") {
            let (text_a, text_b) = (ShortText::new(&a), ShortText::new(&b));
            prop_assert_eq!(text_a.as_str(), a.as_str());
            prop_assert_eq!(text_a == text_b, a == b);
            prop_assert_eq!(text_a.cmp(&text_b), a.cmp(&b));
            let copy = text_a.clone();
            prop_assert_eq!(copy.as_str(), a.as_str());
            prop_assert_eq!(format!("{text_a:?}"), format!("{a:?}"));
        }
    }
}
