//! One call attempt: a pure state machine ([`machine`]) inside a thin actor ([`actor`]).

pub mod actor;
pub mod machine;
