//! The do-not-call list: E.164 numbers that must never be dialed.
//!
//! The campaign checks it before every dial ([`DncList::contains`]). It is loaded from the
//! store, imported from a file (one number per line, `#` comments, or a CSV whose first column
//! is the number) and edited through the store's API; a running campaign hears edits as mail.
//!
//! An ordered set, so listing it is deterministic. Plain data: no I/O.

use crate::domain::PhoneNumber;
use std::collections::BTreeSet;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DncList {
    numbers: BTreeSet<PhoneNumber>,
}

impl DncList {
    pub fn new() -> DncList {
        DncList::default()
    }

    pub fn contains(&self, number: &PhoneNumber) -> bool {
        !self.numbers.is_empty() && self.numbers.contains(number)
    }

    /// Adds a number; false if it was already listed.
    pub fn add(&mut self, number: PhoneNumber) -> bool {
        self.numbers.insert(number)
    }

    /// Removes a number; false if it was not listed.
    pub fn remove(&mut self, number: &PhoneNumber) -> bool {
        self.numbers.remove(number)
    }

    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &PhoneNumber> {
        self.numbers.iter()
    }
}

impl FromIterator<PhoneNumber> for DncList {
    fn from_iter<I: IntoIterator<Item = PhoneNumber>>(iter: I) -> Self {
        DncList {
            numbers: iter.into_iter().collect(),
        }
    }
}
