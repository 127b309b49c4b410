//! Integration tests, in one binary so they link once.
//!
//! - `bad_input`: the corpus of malformed files in tests/bad_input/, each refused with its place.
//! - `chaos`: injected faults and drift lose no call and keep every invariant (proptest too).
//! - `cli`: the command line as a user runs it: outputs, exit codes, errors, the trace file.
//! - `determinism`: every scenario, run twice in separate processes, gives the same trace.
//! - `reference_workload`: the benchmark workload reproduces its published table, and agrees
//!   with an independent plain event loop.
//! - `erlang_validation`: rate-paced queues match Erlang C and Erlang A.
//! - `fuzz_inputs`: mutated scenario files and hostile overrides never panic; errors name the file.
//! - `call_props`, `model_props`: property tests of the call machine and the switch model.
//! - `live`: live campaigns against the fake PortaSwitch server over loopback.
//! - `live_processes`: the fake switch and the engine as separate processes, hand-written
//!   callbacks, faults mid-campaign, and no secret in logs or traces.
//! - `portaswitch_contract`: request shapes of the PortaSwitch client, captured on loopback.
//! - `scenarios_behaviour`: the limitation, the queue guard and redials do what they say.
//! - `pacing`: abandon accounting against the trace, the guard, limits, strategy changes,
//!   preview, adaptive-ratio, predictive's warm-up, `dialer explain` and `dialer compare`.
//! - `sweep`: sweeps, shards and merge, resuming after Ctrl-C, HTML reports, bad sweeps.

mod support;

mod bad_input;
mod call_props;
mod chaos;
mod cli;
mod determinism;
mod erlang_validation;
mod fuzz_inputs;
mod live;
mod live_processes;
mod model_props;
mod pacing;
mod portaswitch_contract;
mod reference_workload;
mod scenarios_behaviour;
mod sweep;
