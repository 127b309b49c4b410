//! Integration tests, in one binary so they link once.
//!
//! - `build_profile`: which builds the rustc wrapper gives the committed profile (PGO) to.
//! - `bad_input`: the corpus of hostile files in tests/bad_input/ (scenarios, lead CSV files,
//!   webhook bodies over HTTP), each with the exact error it must produce.
//! - `chaos`: injected faults and drift lose no call and keep every invariant (proptest too).
//! - `cli`: the command line as a user runs it: outputs, exit codes, errors, the trace file.
//! - `determinism`: every scenario, run twice in separate processes, gives the same trace.
//! - `reference_workload`: the benchmark workload reproduces its published table, and agrees
//!   with an independent plain event loop.
//! - `erlang_validation`: rate-paced queues match Erlang C and Erlang A.
//! - `fuzz_inputs`: mutated scenario files and hostile overrides never panic; errors name the file.
//! - `fuzz_csv`, `fuzz_webhook`: mutated lead CSV files (both readers) and webhook bodies (the
//!   parser and the receiver over HTTP) never panic; errors name their line, field or place.
//! - `webhook_limits`: the webhook's rate limit (429, Retry-After, nothing accepted lost) and body
//!   limit over loopback, and their settings in campaign files.
//! - `call_props`, `model_props`: property tests of the call machine and the switch model.
//! - `engine_context_props`: actors on the engine context follow actix's rules: random scripts
//!   of mail give the same log as on actix's own context.
//! - `live`: live campaigns against the fake PortaSwitch server over loopback.
//! - `live_processes`: the fake switch and the engine as separate processes, hand-written
//!   callbacks, faults mid-campaign, and no secret in logs or traces.
//! - `portaswitch_contract`: request shapes of the PortaSwitch client, captured on loopback.
//! - `scenarios_behaviour`: the limitation, the queue guard and redials do what they say.
//! - `pacing`: abandon accounting against the trace, the guard, limits, strategy changes,
//!   preview, adaptive-ratio, predictive's warm-up, `dialer explain` and `dialer compare`.
//! - `sweep`: sweeps, shards and merge, resuming after Ctrl-C, HTML reports, bad sweeps.
//! - `compliance_props`, `rules_props`: calling hours across DST changes in nine zones; the
//!   hopper under every attempt rule, calling hours and the DNC list.
//! - `store`: the SQLite store and journal.
//! - `durable_sim`, `durable_resume`: compliance and the journal in simulation; a campaign
//!   killed mid-run and resumed from the store.
//! - `durable_live`: the SIGKILL test: `dialer run` on a stored campaign against `dialer
//!   fake-switch`, killed at random points and restarted.
//! - `durable_restart`: a stored live campaign stopped with calls up and started again: calls
//!   the switch's active-call list still carries are watched until they end, their agents
//!   counted busy by pacing meanwhile; without the list they end as `unknown` at once.
//! - `console_api`: the console's API, auth and CSRF, SSE, metrics, playback, and no secret in
//!   its logs, against its demo (an embedded fake switch).
//! - `console_state`: `dialer serve --state FILE`: campaigns kept in SQLite across restarts (and
//!   a SIGKILL), `interrupted` campaigns started again, ids never reused, failed writes shown,
//!   bad state files refused with exit code 2.
//! - `console_browser`: the console in headless Chromium, as an admin uses it; screenshots in
//!   target/screenshots/.

mod support;

mod bad_input;
mod build_profile;
mod call_props;
mod chaos;
mod cli;
mod compliance_props;
mod console_api;
mod console_browser;
mod console_state;
mod determinism;
mod durable_live;
mod durable_restart;
mod durable_resume;
mod durable_sim;
mod engine_context_props;
mod erlang_validation;
mod fuzz_csv;
mod fuzz_inputs;
mod fuzz_webhook;
mod live;
mod live_processes;
mod model_props;
mod pacing;
mod portaswitch_contract;
mod reference_workload;
mod rules_props;
mod scenarios_behaviour;
mod store;
mod sweep;
mod webhook_limits;
