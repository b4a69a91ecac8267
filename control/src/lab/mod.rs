//! The lab: network namespaces, veth links, linuxptp peers and `xptp run` instances on one
//! machine, and `xptp lab`, the demo that puts them together.
//!
//! - [`netns`]: namespaces, veth pairs, bridges, addresses, processes inside a namespace (RAII:
//!   everything is removed on drop, also while a panic unwinds).
//! - [`linuxptp`]: ptp4l instances from generated configs (always `free_running 1`), their logs,
//!   and pmc.
//! - [`xptp_run`]: the `xptp run` binary as a lab peer and its summary-line parser.
//! - [`demo`]: `xptp lab`, a grandmaster, an xptp transparent or boundary clock and two slaves
//!   (xptp and ptp4l) with a live table, a summary and a plot.
//!
//! These are also the harness of the integration tests (the `xptp-tests` crate re-exports
//! them). Everything here drives system tools (iproute2, ptp4l, pmc) through
//! `std::process::Command`; it never touches the host's clock, never sends outside the
//! namespaces it creates, and never signals a process it did not start.

pub mod demo;
pub mod linuxptp;
pub mod netns;
pub mod xptp_run;

use std::path::PathBuf;
use std::process::ExitStatus;

/// Everything the lab harness can fail with. Each variant names the cause and, where there is
/// one, the fix.
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
    /// A daemon the harness started (ptp4l, dumpcap, xptp run) exited before it was up.
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

/// Result type of the lab harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;
