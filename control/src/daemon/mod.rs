//! `xptp run`: the appliance. It reads a ptp4l-style configuration, checks the host, stands
//! the datapath up (XDP steering, one AF_XDP socket per port, pinned workers running the fast
//! path) and drives the sans-IO [`PtpInstance`](crate::ptp::PtpInstance) from a control loop
//! until SIGINT/SIGTERM, then tears everything down and logs the final counters.
//!
//! Modules: [`setup`] (configuration, preflight checks, datapath, instance), [`control`] (the
//! non-blocking control loop), [`transport`] (framing per `network_transport`), [`clock`]
//! (timescale conversion and the disciplined clock), [`logging`] (ptp4l's `-m -q -l`),
//! [`snapshot`] (what `xptp status` and `--metrics` show, published about once a second),
//! [`alarms`] (security alarms and rogue masters for logs and status), [`faults`] (link
//! state and the datapath heartbeat), [`privilege`] (capabilities dropped after setup).
//!
//! Exit status of `xptp run`: 0 after SIGINT/SIGTERM, 1 when start-up fails,
//! [`EXIT_DATAPATH_FAILED`] (3) when a datapath worker died or stayed stalled (the daemon
//! shut down cleanly; a service manager with `Restart=on-failure` starts it again).
//! Transparent clocks (`clock_type E2E_TC` / `P2P_TC`) run the fast path's TC mode instead of
//! the instance.
//!
//! This module owns no protocol logic (that is the core's) and no ring (that is the
//! datapath's); it moves bytes, timestamps and actions between them.

pub mod alarms;
pub mod clock;
pub mod control;
pub mod faults;
pub mod logging;
pub mod management;
pub mod privilege;
pub mod setup;
pub mod snapshot;
pub mod transport;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub use clock::{DaemonClock, VirtualOptions, VirtualTruth};
pub use control::RunReport;

use crate::clock::{ClockError, ClockSource};
use crate::config::ConfigError;

/// `--clock`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum ClockArg {
    /// The PTP hardware clock of the first interface.
    Phc,
    /// A software clock over CLOCK_TAI (labs, tests, NICs without a PHC).
    Virtual,
    /// CLOCK_REALTIME: steers the machine's time.
    System,
}

impl From<ClockArg> for ClockSource {
    fn from(c: ClockArg) -> Self {
        match c {
            ClockArg::Phc => ClockSource::Phc,
            ClockArg::Virtual => ClockSource::Virtual,
            ClockArg::System => ClockSource::System,
        }
    }
}

/// `--xdp-mode`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, clap::ValueEnum)]
pub enum XdpModeArg {
    /// Native, else generic (the kernel decides).
    Auto,
    /// Driver (native) XDP only.
    #[default]
    Native,
    /// Generic (skb) XDP.
    Skb,
}

/// `xptp run` options: ptp4l's command line plus xptp's own.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct RunArgs {
    /// Configuration file (ptp4l.conf syntax).
    #[arg(short = 'f', value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Interface (a PTP port; repeatable, in port order).
    #[arg(short = 'i', value_name = "IFACE")]
    pub interfaces: Vec<String>,
    /// IEEE 802.3 transport (network_transport L2).
    #[arg(short = '2')]
    pub l2: bool,
    /// UDP/IPv4 transport.
    #[arg(short = '4')]
    pub udp4: bool,
    /// UDP/IPv6 transport.
    #[arg(short = '6')]
    pub udp6: bool,
    /// End-to-end delay mechanism.
    #[arg(short = 'E')]
    pub e2e: bool,
    /// Peer-to-peer delay mechanism.
    #[arg(short = 'P')]
    pub p2p: bool,
    /// Software timestamping.
    #[arg(short = 'S')]
    pub software: bool,
    /// Hardware timestamping.
    #[arg(short = 'H')]
    pub hardware: bool,
    /// Slave only (slaveOnly 1).
    #[arg(short = 's')]
    pub slave_only: bool,
    /// Print messages to stdout (verbose 1).
    #[arg(short = 'm')]
    pub verbose: bool,
    /// Do not use syslog (use_syslog 0; xptp never does).
    #[arg(short = 'q')]
    pub quiet: bool,
    /// Logging level, syslog numbering 0-7 (logging_level).
    #[arg(short = 'l', value_name = "N", value_parser = clap::value_parser!(u8).range(0..=7))]
    pub level: Option<u8>,
    /// Profile preset, applied before the file (default-e2e, default-p2p, iec61850-9-3,
    /// c37.238-2011, c37.238-2017, g8275.1).
    #[arg(long)]
    pub profile: Option<String>,
    /// A configuration override KEY=VALUE after the file, like ptp4l's --KEY VALUE
    /// (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Datapath worker cores, e.g. `2` or `2,3` or `2-5`: one worker per core, ports spread
    /// over them round-robin (a transparent clock uses the first only). Default: one unpinned
    /// worker for all ports.
    #[arg(long, value_name = "LIST", value_parser = parse_cores)]
    pub cores: Option<Cores>,
    /// The clock to discipline (clock_source): phc, virtual or system (CLOCK_REALTIME,
    /// changes the machine's time).
    #[arg(long, value_enum)]
    pub clock: Option<ClockArg>,
    /// Virtual clock: initial offset from its truth (ns).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub virtual_offset_ns: i64,
    /// Virtual clock: oscillator frequency error (ppb).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub virtual_freq_ppb: f64,
    /// Virtual clock: what its offset and reported true error are relative to.
    #[arg(long, value_enum, default_value = "tai")]
    pub virtual_truth: VirtualTruth,
    /// Serve OpenMetrics/Prometheus text on `GET /metrics` at ADDR (HOST:PORT, or a bare
    /// PORT on 127.0.0.1; `--metrics` alone: 127.0.0.1:9184). Off by default. No
    /// authentication: bind beyond loopback deliberately.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "",
          value_parser = crate::metrics::parse_metrics_addr)]
    pub metrics: Option<SocketAddr>,
    /// The status socket `xptp status` reads (default: `<uds_address>.status`).
    #[arg(long, value_name = "PATH")]
    pub status_socket: Option<PathBuf>,
    /// XDP attach mode.
    #[arg(long, value_enum, default_value = "native")]
    pub xdp_mode: XdpModeArg,
    /// A datapath worker that made no pass for this long (ms) is stalled: its ports go
    /// FAULTY until it runs again.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub heartbeat_timeout_ms: u64,
    /// A worker stalled this long (ms), or whose thread ended, makes xptp run shut down and
    /// exit with status 3.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub heartbeat_exit_ms: u64,
    /// Keep every capability after setup (debugging; by default they are dropped).
    #[arg(long)]
    pub keep_privileges: bool,
    /// TEST AID, not for production: stall datapath worker 0 after SECS seconds.
    #[arg(long, value_name = "SECS", hide = true)]
    pub test_stall_worker_after: Option<f64>,
    /// TEST AID, not for production: end datapath worker 0's thread after SECS seconds.
    #[arg(long, value_name = "SECS", hide = true)]
    pub test_kill_worker_after: Option<f64>,
}

impl RunArgs {
    /// The heartbeat limits from the command line.
    pub fn fault_config(&self) -> faults::FaultConfig {
        let stall = Duration::from_millis(self.heartbeat_timeout_ms.max(10));
        faults::FaultConfig {
            stall_after: stall,
            exit_after: Duration::from_millis(self.heartbeat_exit_ms).max(stall),
        }
    }

    /// The fault-injection test aid requested, if any.
    pub fn test_fault(&self) -> Option<faults::TestFault> {
        let secs = |s: f64| Duration::from_secs_f64(s.clamp(0.0, 1e6));
        match (self.test_stall_worker_after, self.test_kill_worker_after) {
            (Some(s), _) => Some(faults::TestFault::Stall(secs(s))),
            (None, Some(s)) => Some(faults::TestFault::Kill(secs(s))),
            (None, None) => None,
        }
    }
}

/// Exit status of `xptp run` when a datapath worker died or could not recover from a stall.
pub const EXIT_DATAPATH_FAILED: i32 = 3;

/// A core list.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Cores(pub Vec<usize>);

/// Parses `2`, `2,3`, `2-5`, `0,2-3`.
pub fn parse_cores(s: &str) -> Result<Cores, String> {
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |x: &str| {
            x.trim()
                .parse::<usize>()
                .map_err(|_| format!("{x:?} in core list {s:?} is not a core number"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("core range {part:?} runs backwards"));
                }
                v.extend(a..=b);
            }
            None => v.push(num(part)?),
        }
    }
    if v.is_empty() {
        return Err(format!("empty core list {s:?}"));
    }
    Ok(Cores(v))
}

/// Why `xptp run` could not start (or stopped).
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// A `--set` without `=`.
    #[error("--set {0}: expected KEY=VALUE")]
    BadSet(String),
    /// No interface.
    #[error(
        "no interface: give one with -i IFACE or an [IFACE] section in the configuration file"
    )]
    NoInterface,
    /// A host check failed.
    #[error("host checks failed:\n  {}", .0.join("\n  "))]
    Preflight(Vec<String>),
    /// The clock could not be opened or adjusted.
    #[error("clock: {0}")]
    Clock(#[from] ClockError),
    /// An interface cannot carry the configured transport.
    #[error("{0}")]
    Address(#[from] transport::AddressError),
    /// The datapath could not be stood up.
    #[error("datapath: {0}")]
    Datapath(#[from] xptp_datapath::fastpath::run::RunError),
    /// The management sockets could not be bound.
    #[error("management: {0}")]
    Management(#[from] crate::mgmt::uds::UdsError),
    /// The status socket could not be served.
    #[error("{0}")]
    Status(#[from] crate::status::socket::StatusServerError),
    /// The metrics endpoint could not be served.
    #[error("{0}")]
    Metrics(#[from] crate::metrics::MetricsError),
    /// A configuration xptp run does not implement.
    #[error("{0}")]
    Unsupported(String),
    /// A datapath worker died or stayed stalled; the daemon stopped.
    #[error(
        "datapath failed: {0}; stopped so that the service manager restarts xptp (exit status 3)"
    )]
    DatapathFailed(String),
}

impl DaemonError {
    /// The process exit status for this error: [`EXIT_DATAPATH_FAILED`] for a datapath
    /// failure at run time, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            DaemonError::DatapathFailed(_) => EXIT_DATAPATH_FAILED,
            _ => 1,
        }
    }
}

/// Runs the daemon until `stop` is set (the binary sets it on SIGINT/SIGTERM).
pub fn run(args: &RunArgs, stop: &AtomicBool) -> Result<RunReport, DaemonError> {
    let cfg = setup::load_config(args)?;
    logging::init(&cfg.log);
    for w in &cfg.warnings {
        tracing::warn!("configuration: {w}");
    }
    let status_path = args
        .status_socket
        .clone()
        .unwrap_or_else(|| crate::status::default_status_path(&cfg.uds_address));
    let r = setup::prepare(args, cfg).and_then(|plan| {
        control::run(
            plan,
            args,
            stop,
            &control::OpsOptions {
                status_path,
                metrics: args.metrics,
            },
        )
    });
    // Lines are written by the log thread: let it finish before the process exits.
    logging::flush(Duration::from_secs(2));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_lists() {
        assert_eq!(parse_cores("2"), Ok(Cores(vec![2])));
        assert_eq!(parse_cores("0,2-4"), Ok(Cores(vec![0, 2, 3, 4])));
        assert!(parse_cores("3-1").is_err());
        assert!(parse_cores("x").is_err());
        assert!(parse_cores("").is_err());
    }
}
