//! Integration tests, in one binary so they link once.
//!
//! - `cli`: the command line as a user runs it: outputs, exit codes, errors, the trace file.
//! - `determinism`: every scenario, run twice in separate processes, gives the same trace.
//! - `reference_workload`: the benchmark workload reproduces its published table, and agrees
//!   with an independent plain event loop.
//! - `erlang_validation`: rate-paced queues match Erlang C and Erlang A.
//! - `call_props`, `model_props`: property tests of the call machine and the switch model.
//! - `scenarios_behaviour`: the limitation, the queue guard and redials do what they say.
//! - `pacing`: abandon accounting against the trace, the guard, limits, strategy changes,
//!   preview, adaptive-ratio, predictive's warm-up, `dialer explain` and `dialer compare`.

mod support;

mod call_props;
mod cli;
mod determinism;
mod erlang_validation;
mod model_props;
mod pacing;
mod reference_workload;
mod scenarios_behaviour;
