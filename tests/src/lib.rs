//! Test infrastructure: the deterministic network simulator and the netns/veth harness that runs
//! xptp against real linuxptp peers.
//!
//! The harness modules drive system tools (iproute2, ptp4l, pmc, dumpcap, tshark) through
//! `std::process::Command`. Everything they create (namespaces, veth links, processes, temporary
//! files) is owned by an RAII value and removed on drop, also while a failing test unwinds. They
//! never touch the host's clock or send outside the namespaces a test creates.
//!
//! - [`netns`], [`linuxptp`], [`xptp_run`]: namespaces, veth pairs, bridges and processes inside
//!   a namespace; ptp4l instances, their logs and pmc; `xptp run` as a lab peer. They live in
//!   [`xptp_control::lab`] (which `xptp lab` uses) and are re-exported here.
//! - [`tshark`]: packet captures and tshark field extraction / dissector checks.
//! - [`golden`]: byte-exact round trips and field-by-field comparison of `xptp decode` with
//!   tshark.
//! - [`fixtures`]: the committed ptp4l captures and their tshark field tables.
//! - [`scrape`]: `xptp run --metrics` scraped inside a namespace and read through a strict
//!   OpenMetrics parser.
//! - [`tc_chain`]: the master — TC — slave namespace chain, ptp4l as its TC, `wait_until`.
//! - [`sim`]: the deterministic discrete-event network simulator (seeded oscillators, links,
//!   timestamping noise, transparent clocks) that drives the sans-IO core in simulated time.

pub mod fixtures;
pub mod fuzz_corpus;
pub mod golden;
pub mod scrape;
pub mod sim;
pub mod tc_chain;
pub mod tshark;

// One implementation: the lab harness lives in the control crate, where `xptp lab` uses it.
pub use xptp_control::lab::{linuxptp, netns, xptp_run, Error, Result};

pub use netns::require_root;
