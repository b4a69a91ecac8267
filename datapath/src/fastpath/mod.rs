//! The fast path on the datapath cores (IEEE 1588-2019 11.3, 11.4, 10.2, 10.3): Delay_Req
//! answered with Delay_Resp on MASTER ports, Pdelay_Req answered with Pdelay_Resp (and
//! Pdelay_Resp_Follow_Up) on P2P ports in any state, and the transparent clock that forwards
//! Sync / Follow_Up / Delay_Req / Delay_Resp / Announce / Management / Signaling between the
//! ports of a group with residence time (and for P2P the ingress link delay) added to
//! correctionField.
//!
//! * [`reply`] and [`tc`] are pure per-frame functions and bounded tables: no allocation, no
//!   panic, no logging, a [`FastPathError`] per refusal.
//! * [`engine::FastPath`] is the stateful [`crate::worker::Decide`] hook that wires them into a
//!   worker; [`config`] is what control tells it, over a lock-free lane; [`sketch`] keeps the
//!   per-requester Delay_Req view in fixed memory; [`ratelimit`] holds the per-port and
//!   per-requester token buckets that shed Delay_Req / Pdelay_Req / Management floods.
//! * [`run`] stands the whole thing up on real interfaces (XDP steering, AF_XDP sockets, a
//!   worker and a minimal control loop) for the example binary and the integration tests.
//!
//! This module never reads a clock itself: ingress times come from the XDP metadata, egress
//! times from the worker's pre-kick CLOCK_TAI reading (except in [`run`], which is control).

pub mod config;
pub mod engine;
pub mod error;
pub mod ratelimit;
pub mod replay;
pub mod reply;
pub mod run;
pub mod sketch;
pub mod tc;

#[cfg(test)]
mod auth_tests;
#[cfg(test)]
mod tests;

pub use config::{
    AuthKey, ConfigUpdate, FastPathConfig, PdelayMode, PortAuth, PortConfig, TcMode, MAX_AUTH_KEYS,
    MAX_PORTS,
};
pub use engine::{
    EventKind, FastPath, FastPathCounters, FastPathEvent, FastPathHandles, RequesterReport,
};
pub use error::FastPathError;
pub use ratelimit::{ClassLimits, LimitedClass, RateLimit, RateLimits};
pub use run::{run_master_responder, run_tc, RunOptions, Running};
