//! `xptp run`: the appliance. It reads a ptp4l-style configuration, checks the host, stands
//! the datapath up (XDP steering, one AF_XDP socket per port, pinned workers running the fast
//! path) and drives the sans-IO [`PtpInstance`](crate::ptp::PtpInstance) from a control loop
//! until SIGINT/SIGTERM, then tears everything down and logs the final counters. SIGHUP
//! re-reads the `sa_file` and rotates the keys in place ([`sa_reload`]).
//!
//! Modules: [`setup`] (configuration, preflight checks, datapath, instance), [`control`] (the
//! non-blocking control loop), [`transport`] (framing per `network_transport`), [`clock`]
//! (timescale conversion and the disciplined clock), [`logging`] (ptp4l's `-m -q -l`),
//! [`snapshot`] (what `xptp status` and `--metrics` show, published about once a second),
//! [`alarms`] (security alarms and rogue masters for logs and status), [`faults`] (link
//! state and the datapath heartbeat), [`privilege`] (capabilities dropped after setup),
//! [`sa_reload`] (SIGHUP: the sa_file re-read and the new keys sent to the fast path).
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
pub mod phc2sys;
pub mod privilege;
pub mod sa_reload;
pub mod setup;
pub mod snapshot;
pub mod stall;
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

/// `--worker-idle`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum WorkerIdleArg {
    /// Spin: lowest latency on a dedicated (isolated) core.
    Busy,
    /// Sleep in epoll until the next frame or transmit request: for cores shared with other
    /// work, where a spinning worker loses whole time slices to the scheduler.
    Sleep,
}

/// Default SCHED_FIFO priority of sleeping datapath workers (ptp4l is commonly run under
/// `chrt -f` at a similar level).
pub const DEFAULT_WORKER_RT_PRIORITY: u8 = 40;

impl RunArgs {
    /// The workers' idle policy and real-time priority: `--worker-idle` (default: busy with
    /// `--cores`, sleep without) and `--worker-rt-priority` (default: 40 for sleeping workers,
    /// none for busy ones; 0 = none).
    pub fn worker_sched(&self) -> (xptp_datapath::worker::IdlePolicy, Option<u8>) {
        use xptp_datapath::worker::IdlePolicy;
        let idle = self.worker_idle.unwrap_or(if self.cores.is_some() {
            WorkerIdleArg::Busy
        } else {
            WorkerIdleArg::Sleep
        });
        let policy = match idle {
            WorkerIdleArg::Busy => IdlePolicy::BusyPoll,
            WorkerIdleArg::Sleep => IdlePolicy::SleepAfter(64),
        };
        let rt = match (self.worker_rt_priority, idle) {
            (Some(0), _) => None,
            (Some(p), _) => Some(p),
            (None, WorkerIdleArg::Sleep) => Some(DEFAULT_WORKER_RT_PRIORITY),
            (None, WorkerIdleArg::Busy) => None,
        };
        (policy, rt)
    }
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
    /// What an idle datapath worker does: `busy` spins (the default with --cores), `sleep`
    /// waits in epoll for the next frame or transmit request (the default without).
    #[arg(long, value_enum)]
    pub worker_idle: Option<WorkerIdleArg>,
    /// SCHED_FIFO priority of the datapath workers, 1-99, or 0 for normal scheduling (default:
    /// 40 for sleeping workers, 0 for busy ones). A sleeping worker preempts other work the
    /// moment a frame arrives; a real-time worker that has not slept for 2 ms (spinning, or
    /// under a flood) rests 100 us, leaving its core to others about 5 % of the time.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=99))]
    pub worker_rt_priority: Option<u8>,
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
    /// Run the phc2sys task (phc2sys 1): keep --phc2sys-target disciplined to the port's PHC
    /// on its own thread, like linuxptp's phc2sys next to ptp4l.
    #[arg(long)]
    pub phc2sys: bool,
    /// phc2sys target [-c] (phc2sys_target): CLOCK_REALTIME, /dev/ptpN, or virtual (a lab
    /// clock keeping UTC, for measuring the task; the only target the virtual clock may feed).
    #[arg(long, value_name = "CLOCK")]
    pub phc2sys_target: Option<String>,
    /// phc2sys offset [-O] (phc2sys_offset): target − source in seconds, or auto
    /// (−currentUtcOffset for a UTC target).
    #[arg(long, value_name = "SECS|auto", allow_hyphen_values = true)]
    pub phc2sys_offset: Option<String>,
    /// phc2sys updates per second [-R] (phc2sys_rate).
    #[arg(long, value_name = "HZ")]
    pub phc2sys_rate: Option<f64>,
    /// phc2sys PHC readings per update [-N] (phc2sys_readings, 1-25).
    #[arg(long, value_name = "N")]
    pub phc2sys_readings: Option<u32>,
    /// phc2sys step threshold in seconds [-S] (phc2sys_step_threshold; 0: only the first
    /// step).
    #[arg(long, value_name = "SECS")]
    pub phc2sys_step_threshold: Option<f64>,
    /// phc2sys first step threshold in seconds [-F] (phc2sys_first_step_threshold).
    #[arg(long, value_name = "SECS")]
    pub phc2sys_first_step_threshold: Option<f64>,
    /// phc2sys servo (phc2sys_servo): pi, linreg or kalman.
    #[arg(long, value_name = "SERVO")]
    pub phc2sys_servo: Option<String>,
    /// Lab target (--phc2sys-target virtual): its initial error from UTC (ns).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub phc2sys_virtual_offset_ns: i64,
    /// Lab target (--phc2sys-target virtual): its oscillator error (ppb).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub phc2sys_virtual_freq_ppb: f64,
    /// Grandmaster start (phc_set_from_system 1): set the PHC to CLOCK_REALTIME + utc_offset
    /// once, like `phc_ctl IFACE set` on the TAI timescale. Refused for slaveOnly, gmCapable
    /// 0, transparent clocks and clocks other than a PHC.
    #[arg(long)]
    pub phc_set_from_system: bool,
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

/// Runs the daemon until `stop` is set (the binary sets it on SIGINT/SIGTERM); each time
/// `reload` is set (SIGHUP) the loop clears it and re-reads the `sa_file`.
pub fn run(
    args: &RunArgs,
    stop: &AtomicBool,
    reload: &AtomicBool,
) -> Result<RunReport, DaemonError> {
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
            reload,
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
