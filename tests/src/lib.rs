//! Test infrastructure: the deterministic network simulator and the netns/veth harness that runs
//! xptp against real linuxptp peers.
//!
//! The harness modules drive system tools (iproute2, ptp4l, pmc, dumpcap, tshark) through
//! `std::process::Command`. Everything they create (namespaces, veth links, processes, temporary
//! files) is owned by an RAII value and removed on drop, also while a failing test unwinds. They
//! never touch the host's clock or send outside the namespaces a test creates.
//!
//! - [`netns`]: namespaces, veth pairs, bridges, addresses, processes inside a namespace.
//! - [`linuxptp`]: ptp4l instances from generated configs, their logs, and pmc.
//! - [`tshark`]: packet captures and tshark field extraction / dissector checks.
//! - [`golden`]: byte-exact round trips and field-by-field comparison of `xptp decode` with
//!   tshark.
//! - [`fixtures`]: the committed ptp4l captures and their tshark field tables.
//! - [`sim`]: the deterministic discrete-event network simulator (seeded oscillators, links,
//!   timestamping noise, transparent clocks) that drives the sans-IO core in simulated time.

pub mod fixtures;
pub mod fuzz_corpus;
pub mod golden;
pub mod linuxptp;
pub mod netns;
pub mod sim;
pub mod tshark;
pub mod xptp_run;

use std::path::PathBuf;
use std::process::ExitStatus;

/// Everything the harness can fail with. Each variant names the cause and, where there is one,
/// the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A program could not be started at all (usually: not installed).
    #[error("cannot run `{command}`: {source} (is it installed? run scripts/setup as root)")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// A program ran and exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        command: String,
        status: ExitStatus,
        stderr: String,
    },
    /// A daemon the harness started (ptp4l, dumpcap) exited before it was up.
    #[error("`{command}` exited at start ({status}): {output}")]
    StartFailed {
        command: String,
        status: ExitStatus,
        output: String,
    },
    /// A file the harness reads or writes could not be accessed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Something the harness waited for did not happen in time.
    #[error("timed out after {waited_ms} ms waiting for {what}")]
    Timeout { what: String, waited_ms: u128 },
    /// A tool produced output the harness does not understand.
    #[error("cannot parse output of {tool}: {detail}")]
    Parse { tool: &'static str, detail: String },
    /// The caller asked for something the harness refuses to do.
    #[error("invalid harness request: {0}")]
    Invalid(String),
}

/// Result type of the harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub use netns::require_root;
