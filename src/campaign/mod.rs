//! The campaign: its leads, its supervisor actor, and what it reports.
//!
//! [`hopper`] decides which lead to dial next and when to redial (pure); [`supervisor`] is the
//! actor that spawns calls, follows them and ends the campaign; [`deadlines`] is its queue of
//! watchdog deadlines; [`feed`] is what a running campaign shows the console (call changes and
//! status snapshots).

pub mod deadlines;
pub mod feed;
pub mod hopper;
pub mod supervisor;
