//! `dialer`: an outbound auto-dialer engine for call centers on PortaSwitch, and a deterministic
//! simulator to tune it before a campaign goes live.
//!
//! The engine places calls through a switch, follows each call through the switch's real-time
//! events, connects answered calls to agents through the switch's call queue, paces dialing, and
//! redials prospects who did not answer. The same engine runs against the simulated switch and
//! against real PortaSwitch.
//!
//! Module tour, from the inside out:
//! - [`time`], [`domain`]: engine time and the dialer's vocabulary (attempts, outcomes, states).
//! - [`switch`]: the seam to a switch: commands, PortaSwitch-style events, notices.
//! - [`call`]: a call as a pure state machine ([`call::machine`]) inside a thin actor.
//! - [`pacing`]: pure pacing strategies and the queue guard, and the pacing actor.
//! - [`campaign`]: the lead hopper and redial policy, and the campaign supervisor actor.
//! - [`mail`], [`clock`]: how actors talk and tell time, the same way live and simulated;
//!   [`executor`]: the single-thread runner of the engine's actors and the context they run on.
//! - [`sim`]: the simulated PortaSwitch: callees, queue, agents, truth, and virtual time.
//! - [`scenario`]: scenario files, raw and validated.
//! - [`compliance`]: calling hours in the callee's zone, attempt rules, the DNC list (pure).
//! - [`journal`], [`store`]: what a campaign writes down (in memory in a simulation, SQLite live),
//!   crash recovery, and the store's schema; [`import`]: CSV leads into the store.
//! - [`stats`], [`report`], [`trace`]: what a run counted, reports, and the event trace.
//! - [`portaswitch`]: the live backend: API client, webhook receiver, backend actor, failover.
//! - [`fake_switch`]: a fake PortaSwitch server over HTTP, on the simulator's model.
//! - [`live`]: live campaign files and reports.
//! - [`console`]: `dialer serve`: the web console, its JSON API, SSE, metrics and trace playback.
//! - [`replay`], [`backtest`]: a recorded trace through the engine again; fitting a trace and
//!   simulating another pacing. [`run_start`]: where a live run started, written into its trace
//!   so a replay can start there too.
//! - [`erlang`]: Erlang B, C and A, for checking the simulator against queueing theory.
//! - [`sweep`]: parameter sweeps with confidence intervals, the frontier and a recommendation.
//! - [`html`]: self-contained HTML reports with SVG plots.
//! - [`invariants`]: what must hold at the end of every simulation.
//! - [`runtime`]: the one place that builds the actor system and chooses the backend.
//! - [`compare`]: every pacing strategy side by side over many seeds.
//! - [`text`]: quoting untrusted input back in messages, escaped and cut.
//! - [`cli`]: the command line.

pub mod allocator;
pub mod attempt_window;
pub mod backtest;
pub mod call;
pub mod campaign;
pub mod cli;
pub mod clock;
pub mod compare;
pub mod compliance;
pub mod console;
pub mod domain;
pub mod erlang;
pub mod executor;
pub mod fake_switch;
pub mod html;
pub mod import;
pub mod invariants;
pub mod journal;
pub mod live;
pub mod mail;
pub mod pacing;
pub mod portaswitch;
pub mod replay;
pub mod report;
pub mod run_start;
pub mod runtime;
pub mod scenario;
pub mod short_text;
pub mod sim;
pub mod stats;
pub mod store;
pub mod sweep;
pub mod switch;
pub mod text;
pub mod time;
pub mod trace;
