//! A deterministic discrete-event network simulator for the sans-IO protocol core and the
//! clock servos: whole PTP networks run in simulated integer nanoseconds, far faster than real
//! time, and every run is a pure function of its seed.
//!
//! - [`engine`]: the event queue and [`Simulator`]: nodes, links, frames, timers, clock
//!   actions, time-error sampling, scripted events;
//! - [`node`]: the [`SimNode`] trait (mirrors the core's `handle_message` /
//!   `handle_tx_timestamp` / `handle_timer` / `poll_timeout`, emitting the core's own
//!   [`Action`](xptp_control::port::Action)s) and [`NodeConfig`];
//! - [`oscillator`]: per-node oscillator (offset, frequency error, random-walk wander) and the
//!   disciplined PTP clock (the control crate's `VirtualClock`);
//! - [`link`]: point-to-point links with delay, asymmetry, jitter, loss;
//! - [`rng`]: seeded streams and the noise distributions (hardware/software timestamping);
//! - [`tc`]: a one-step E2E/P2P transparent clock editing real PTP messages;
//! - [`testnodes`]: reflector, sync source, sink, and the servo "measurement pair";
//! - [`report`]: time-error series, convergence and steady-state statistics, the servo table;
//! - [`trace`]: the digest (and optional list) of everything that happened;
//! - [`ptp_node`]: the real protocol core as a node; [`onestep`]: one-step insertion at
//!   egress; [`scenarios`]: configurations and the servo table's scenarios.
//!
//! Frames on the simulated wire are PTP messages (no Ethernet/UDP framing), as the core's
//! `Action::Send` produces them.
//!
//! # The port core in the simulator
//! [`PtpNode`](ptp_node::PtpNode) runs the real sans-IO
//! [`PtpInstance`](xptp_control::ptp::PtpInstance) on a node: its handlers forward to the
//! core's `handle_message` / `handle_tx_timestamp` / `handle_timer` / `poll_timeout` and
//! return the queued actions unchanged; [`add_ptp_node`](ptp_node::add_ptp_node) adds one
//! with its randomness derived from the run seed. The engine executes `Send` (with TX
//! timestamp tokens, and one-step insertion at egress: [`onestep`]), `AdjustClock` (on the
//! node's simulated PTP clock at that instant) and records `PortStateChanged`.
//! [`scenarios`] holds the configurations test networks are built from and the servo table's
//! scenarios (`scripts/servo-table` writes `tests/results/servo_table.md`).

pub mod engine;
pub mod link;
pub mod node;
pub mod onestep;
pub mod oscillator;
pub mod ptp_node;
pub mod report;
pub mod rng;
pub mod scenarios;
pub mod tc;
pub mod testnodes;
pub mod trace;

#[cfg(test)]
mod tests;

pub use engine::{NodeStats, SimError, Simulator, StateChange};
pub use link::{Direction, DirectionStats, LinkConfig, LinkId, NodeId, PortRef};
pub use node::{NodeConfig, NodeCtx, SimNode};
pub use oscillator::{Oscillator, OscillatorConfig};
pub use ptp_node::{add_ptp_node, clock_identity, PtpNode};
pub use report::{
    convergence_time, Reference, ScenarioRun, ServoTable, ServoTableSpec, TeSeries, WindowStats,
    README_COLUMNS,
};
pub use rng::{Noise, SimRng, Stream};
pub use tc::{TcMode, TransparentClock};

/// Nanoseconds per microsecond.
pub const US: i64 = 1_000;
/// Nanoseconds per millisecond.
pub const MS: i64 = 1_000_000;
/// Nanoseconds per second.
pub const SEC: i64 = 1_000_000_000;
