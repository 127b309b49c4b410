//! The live PortaSwitch backend: the JSON API client, the wire formats, the webhook receiver for
//! call-state callbacks, and the backend actor that serves the engine's switch commands.
//!
//! - [`wire`]: request parameters, responses and callback bodies, with configurable names;
//! - [`client`]: one site's HTTP client and session (login, refresh, re-login on faults);
//! - [`webhook`]: the actix-web receiver that hands callbacks to the backend;
//! - [`backend`]: the actor behind the switch seam, with reconciliation lists and failover.
//!
//! Only live runs use this module; a simulation never does I/O.

pub mod backend;
pub mod client;
pub mod webhook;
pub mod wire;
