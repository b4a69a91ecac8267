//! xptp's control plane: a sans-IO protocol core (BMCA, port state machines, delay computation,
//! servo) plus the shell around it (clocks, configuration, management, metrics) and the
//! user-facing tools behind the `xptp` binary.
//!
//! The protocol core ([`datasets`], [`bmca`], [`port`], [`instance`], [`profile`]) never reads a
//! clock or a socket: time and timestamps are inputs, actions are outputs. [`servo`] turns
//! measurements into clock adjustments; [`clock`] applies them to a PHC, the system clock or a
//! virtual clock. [`security`] holds authentication and rogue-master protection. [`config`]
//! reads ptp4l.conf-style configuration into the typed configurations of all of these.

pub mod bmca;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod datasets;
pub mod decode;
pub mod instance;
pub mod lab;
pub mod metrics;
pub mod mgmt;
pub mod port;
pub mod profile;
pub mod ptp;
pub mod security;
pub mod servo;
pub mod status;
pub mod time;
pub mod utc;
pub mod watch;
