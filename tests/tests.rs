//! Integration tests, in one binary so they link once.
//!
//! - `cli`: the command line as a user runs it: outputs, exit codes, errors, the trace file.
//! - `determinism`: every scenario, run twice in separate processes, gives the same trace.
//! - `reference_workload`: the benchmark workload reproduces its published table, and agrees
//!   with an independent plain event loop.
//! - `erlang_validation`: rate-paced queues match Erlang C and Erlang A.
//! - `call_props`, `model_props`: property tests of the call machine and the switch model.
//! - `scenarios_behaviour`: the limitation, the queue guard and redials do what they say.
//! - `sweep`: sweeps, shards and merge, resuming after Ctrl-C, HTML reports, bad sweeps.
//! - `compliance_props`, `rules_props`: calling hours across DST changes in nine zones; the
//!   hopper under every attempt rule, calling hours and the DNC list.
//! - `import_corpus`, `store`: broken CSV files and their errors; the SQLite store and journal.
//! - `durable_sim`, `durable_resume`: compliance and the journal in simulation; a campaign
//!   killed mid-run and resumed from the store.

mod support;

mod call_props;
mod cli;
mod compliance_props;
mod determinism;
mod durable_resume;
mod durable_sim;
mod erlang_validation;
mod import_corpus;
mod model_props;
mod reference_workload;
mod rules_props;
mod scenarios_behaviour;
mod store;
mod sweep;
