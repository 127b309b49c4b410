//! The simulated switch: a deterministic, seeded PortaSwitch with a call queue and agents, running
//! on virtual time.
//!
//! - [`dist`]: duration distributions, drawn by inverse CDF;
//! - [`rng`]: seeded random streams per purpose and callee;
//! - [`calendar`]: the ordered timeline of world steps and engine timers;
//! - [`model`]: the switch, queue, agents and ground truth as a pure model;
//! - [`sampler`]: the switch's state at fixed intervals, for plots;
//! - [`switch`]: the actor that serves the engine's commands and drives virtual time.
//!
//! Nothing here may read the wall clock or the system's entropy.

pub mod calendar;
pub mod dist;
pub mod model;
pub mod rng;
pub mod sampler;
pub mod switch;
