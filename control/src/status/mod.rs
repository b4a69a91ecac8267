//! What `xptp status` and the metrics endpoint show: one [`Status`] snapshot of the running
//! daemon (clock, parent, servo, per-port state and counters, datapath mode, histograms),
//! built by the control loop about once a second and on demand, and published through a
//! [`StatusHub`] that the status socket and the metrics thread read.
//!
//! The snapshot is plain data (serde), so the same value is rendered as the `show ptp`-style
//! table ([`table`]), sent as JSON over the status socket ([`socket`]) and encoded as
//! OpenMetrics text ([`crate::metrics`]). Readers never touch the protocol core or a ring:
//! they see the last published copy, and at most ask the control loop for a fresher one.

pub mod socket;
pub mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Version of the status document; bumped when a field changes meaning or disappears.
pub const STATUS_FORMAT: u32 = 1;

/// The status socket of a daemon whose management socket (`uds_address`) is `uds`:
/// `<uds_address>.status`.
pub fn default_status_path(uds: &Path) -> PathBuf {
    let mut s = uds.as_os_str().to_owned();
    s.push(".status");
    PathBuf::from(s)
}

/// One snapshot of the daemon.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// [`STATUS_FORMAT`].
    pub format: u32,
    /// xptp's version.
    pub version: String,
    /// Process id of the daemon.
    pub pid: u32,
    /// Seconds since the daemon started.
    pub uptime_s: f64,
    /// The clock and what it follows.
    pub clock: ClockStatus,
    /// One entry per PTP port, in port order.
    pub ports: Vec<PortStatus>,
    /// One entry per datapath worker.
    pub workers: Vec<WorkerStatus>,
    /// What the control loop itself counted (framing, lanes, clock errors, management).
    pub control: BTreeMap<String, u64>,
    /// Conditions an operator should look at (empty when all is well).
    pub alarms: Vec<String>,
    /// Histograms (offset, residence time, Delay_Req handling time).
    pub histograms: Vec<HistogramStatus>,
    /// Rogue masters and security alarms (absent in documents of older daemons).
    #[serde(default)]
    pub security: SecurityStatus,
    /// The phc2sys task, when it runs (`--phc2sys`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phc2sys: Option<Phc2SysStatus>,
}

/// Rogue masters held off by `grandmaster_block` ports and the alarms of
/// [`crate::security`] (IEEE 1588-2019 17.6 acceptable masters, sudden grandmaster changes,
/// time jumps).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SecurityStatus {
    /// Every sender blocked on a `grandmaster_block` port (a bounded table, most recent kept).
    pub rogue_masters: Vec<RogueMasterStatus>,
    /// Entries pushed out of the bounded table by newer rogues.
    pub rogue_masters_evicted: u64,
    /// Alarms raised since start by kind (`rogue_master`, `grandmaster_changed`,
    /// `time_jump`), and `dropped`: alarms lost because the core's queue was full.
    pub alarm_counts: BTreeMap<String, u64>,
    /// The latest alarms, oldest first.
    pub recent_alarms: Vec<AlarmStatus>,
}

/// One rogue master: a sender that tried to lead on a port that must only lead.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RogueMasterStatus {
    /// The port (1-based) it was seen on.
    pub port: u16,
    /// That port's interface.
    pub interface: String,
    /// Its sourcePortIdentity (linuxptp spelling).
    pub identity: String,
    /// Its latest source address (MAC for L2, IP for UDP), when known.
    pub address: Option<String>,
    /// grandmasterIdentity of its latest Announce, if it sent one.
    pub grandmaster_identity: Option<String>,
    /// grandmasterPriority1 of its latest Announce.
    pub priority1: Option<u8>,
    /// Frames dropped by message type (`Announce`, `Sync`, `Follow_Up`).
    pub frames: BTreeMap<String, u64>,
    /// All frames dropped from it.
    pub total: u64,
    /// Seconds since it was first seen.
    pub first_seen_ago_s: f64,
    /// Seconds since it was last seen.
    pub last_seen_ago_s: f64,
}

/// One alarm.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmStatus {
    /// `rogue_master`, `grandmaster_changed` or `time_jump`.
    pub kind: String,
    /// The port concerned, if one.
    pub port: Option<u16>,
    /// What happened, in words.
    pub detail: String,
    /// Seconds since it was raised.
    pub ago_s: f64,
}

/// The phc2sys task: which clock follows which, how they are compared, and the last update.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Phc2SysStatus {
    /// The source clock (`/dev/ptp0`, `virtual`).
    pub source: String,
    /// The target clock (`CLOCK_REALTIME`, `/dev/ptp1`, `virtual`).
    pub target: String,
    /// How they are compared (`PTP_SYS_OFFSET_EXTENDED`, ..., `clock_gettime`).
    pub method: String,
    /// Servo state of the last update (`s0`, `s1`, `s2`; empty before the first).
    pub state: String,
    /// Waiting for the PTP clock to synchronize before the first update
    /// (`phc2sys_wait_sync`).
    pub waiting_for_sync: bool,
    /// Target − (source + offset) at the last update (ns).
    pub offset_ns: Option<i64>,
    /// The servo's frequency adjustment (ppb).
    pub freq_ppb: f64,
    /// Width of the last read window (ns): phc2sys's "delay".
    pub delay_ns: Option<i64>,
    /// The `-O` in use (target − source, seconds).
    pub sync_offset_s: i64,
    /// Updates per second.
    pub rate_hz: f64,
    /// Updates done.
    pub updates: u64,
    /// Steps applied to the target.
    pub steps: u64,
    /// Updates that failed.
    pub errors: u64,
    /// Why the latest update failed (None once one succeeds again).
    pub last_error: Option<String>,
    /// A virtual target's true error against the source (ns; labs only).
    pub true_error_ns: Option<i64>,
}

/// The clock (defaultDS, parentDS, currentDS, servo and the disciplined clock).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClockStatus {
    /// defaultDS.clockIdentity (linuxptp spelling).
    pub clock_identity: String,
    /// `OC`, `BC`, `E2E_TC`, `P2P_TC`.
    pub clock_type: String,
    /// defaultDS.domainNumber.
    pub domain: u8,
    /// defaultDS.priority1 / priority2.
    pub priority1: u8,
    /// defaultDS.priority2.
    pub priority2: u8,
    /// defaultDS.clockQuality.clockClass.
    pub clock_class: u8,
    /// defaultDS.slaveOnly.
    pub slave_only: bool,
    /// parentDS.grandmasterIdentity.
    pub grandmaster_identity: String,
    /// parentDS.grandmasterPriority1.
    pub grandmaster_priority1: u8,
    /// parentDS.grandmasterClockQuality.clockClass.
    pub grandmaster_clock_class: u8,
    /// parentDS.parentPortIdentity.
    pub parent_port_identity: String,
    /// currentDS.stepsRemoved.
    pub steps_removed: u16,
    /// This clock is the grandmaster (parentDS names itself).
    pub is_grandmaster: bool,
    /// The latest offsetFromMaster (ns), when a port is slave.
    pub offset_from_master_ns: Option<i64>,
    /// The latest meanPathDelay (ns) used with it.
    pub mean_path_delay_ns: Option<i64>,
    /// `s0` (unlocked), `s1` (jump), `s2` (locked), as ptp4l prints it.
    pub servo_state: String,
    /// The frequency adjustment in effect (ppb).
    pub frequency_ppb: f64,
    /// `virtual`, `phc` or `system`.
    pub clock_source: String,
    /// The clock's name (`virtual`, `/dev/ptpN`, `CLOCK_REALTIME`).
    pub clock_name: String,
    /// The virtual clock's true error against its truth (ns); none for real clocks.
    pub true_error_ns: Option<i64>,
    /// `hardware` or `XDP-ingress software`.
    pub timestamp_source: String,
    /// The timestamp path in words.
    pub timestamp_detail: String,
    /// `time_stamping` from the configuration.
    pub time_stamping: String,
    /// timePropertiesDS.currentUtcOffset.
    pub current_utc_offset: i16,
    /// timePropertiesDS.ptpTimescale.
    pub ptp_timescale: bool,
}

/// One PTP port.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PortStatus {
    /// portNumber (1-based).
    pub port_number: u16,
    /// portDS.portIdentity.
    pub port_identity: String,
    /// Interface.
    pub interface: String,
    /// portDS.portState (`MASTER`, `SLAVE`, …).
    pub state: String,
    /// IEEE 1588 numeric portState (1 INITIALIZING … 9 SLAVE).
    pub state_code: u8,
    /// `E2E`, `P2P` or `NONE`.
    pub delay_mechanism: String,
    /// `L2`, `UDPv4`, `UDPv6`.
    pub transport: String,
    /// The filtered meanPathDelay (E2E slave) or meanLinkDelay (P2P) (ns).
    pub mean_delay_ns: Option<i64>,
    /// neighborRateRatio (P2P ports).
    pub neighbor_rate_ratio: Option<f64>,
    /// Messages received per message type (core view: after XDP, the fast path and framing).
    pub rx: BTreeMap<String, u64>,
    /// Messages sent per message type by the core.
    pub tx: BTreeMap<String, u64>,
    /// Messages answered on the datapath core for this port (Delay_Resp, Pdelay_Resp, …),
    /// which the core never sees; only exact when the port has a worker of its own.
    pub fast_path_tx: BTreeMap<String, u64>,
    /// Received messages the core dropped, per reason (all reasons, zeros included).
    pub rejected: BTreeMap<String, u64>,
    /// Other per-port counters of the core (TX timestamp timeouts, missing responses, …).
    pub events: BTreeMap<String, u64>,
    /// The XDP program's counters on this interface (steered, passed, …).
    pub xdp: BTreeMap<String, u64>,
    /// `hardware` or `XDP-ingress software`.
    pub timestamp_source: String,
    /// The datapath serving this port.
    pub datapath: DatapathStatus,
}

/// How a port's frames reach xptp.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DatapathStatus {
    /// Worker index.
    pub worker: usize,
    /// `zero-copy` or `copy`.
    pub mode: String,
    /// Why zero-copy is not in use, when it was tried.
    pub mode_reason: Option<String>,
    /// RX queue of the AF_XDP socket.
    pub queue: u32,
    /// XDP program build (`portable`, `hw-timestamp`).
    pub xdp_build: String,
    /// XDP attach mode the kernel reports (`native`, `skb`, …).
    pub xdp_mode: String,
    /// Kernel program id (`bpftool prog show id N`).
    pub xdp_prog_id: u32,
    /// Why the hardware-timestamp build is not attached, when it was wanted.
    pub hw_ts_fallback: Option<String>,
    /// NIC TX timestamps: `hardware` or the reason they are not used.
    pub tx_timestamps: String,
    /// veth wire stamps in use: event frames are timed where the sending veth put them on the
    /// wire (net_dev_start_xmit), not at the later XDP ingress.
    pub wire_stamps: bool,
    /// On a veth port without wire stamps: why. `None` on other drivers.
    pub wire_fallback: Option<String>,
    /// RX queues without an AF_XDP socket (PTP frames hashed there bypass xptp).
    pub uncovered_queues: Vec<u32>,
}

/// One datapath worker.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerStatus {
    /// Index.
    pub index: usize,
    /// Port numbers served.
    pub ports: Vec<u16>,
    /// Pinned to its core.
    pub pinned: bool,
    /// The worker's counters (frames, lanes, rings).
    pub counters: BTreeMap<String, u64>,
    /// The fast path's counters (replies sent, TC forwarding).
    pub fast_path: BTreeMap<String, u64>,
    /// Drops, by stage (`worker`, `fastpath`, `lane`) and reason; zeros included.
    pub dropped: Vec<DropCount>,
}

/// A drop counter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropCount {
    /// Where: `worker`, `fastpath`, `lane`.
    pub stage: String,
    /// Why.
    pub reason: String,
    /// How many.
    pub count: u64,
}

/// A histogram with fixed bucket bounds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistogramStatus {
    /// Metric name (`xptp_offset_abs_ns`, …).
    pub name: String,
    /// Port number, for per-port histograms.
    pub port: Option<u16>,
    /// Upper bounds (inclusive) of the finite buckets, ascending.
    pub bounds: Vec<f64>,
    /// Observations per bucket (not cumulative); one more than `bounds` (the +Inf bucket).
    pub counts: Vec<u64>,
    /// Sum of the observations.
    pub sum: f64,
}

impl HistogramStatus {
    /// An empty histogram over `bounds` (ascending).
    pub fn new(name: &str, port: Option<u16>, bounds: &[f64]) -> Self {
        HistogramStatus {
            name: name.to_owned(),
            port,
            bounds: bounds.to_vec(),
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    /// Adds one observation.
    pub fn observe(&mut self, v: f64) {
        let i = self.bounds.partition_point(|b| *b < v);
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        self.sum += v;
    }

    /// Observations in total.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The smallest bucket bound below which at least `q` (0..=1) of the observations lie
    /// (`None` when empty or in the +Inf bucket).
    pub fn quantile_bound(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let want = (q * n as f64).ceil().max(1.0) as u64;
        let mut acc = 0;
        for (i, c) in self.counts.iter().enumerate() {
            acc += c;
            if acc >= want {
                return self.bounds.get(i).copied();
            }
        }
        None
    }
}

/// Where the control loop publishes snapshots and readers take them.
#[derive(Debug, Default)]
pub struct StatusHub {
    latest: Mutex<(u64, Option<Arc<Status>>)>,
    published: Condvar,
    want_fresh: AtomicBool,
}

impl StatusHub {
    /// An empty hub.
    pub fn new() -> Arc<Self> {
        Arc::new(StatusHub::default())
    }

    /// Publishes a snapshot (control loop).
    pub fn publish(&self, s: Status) {
        let mut g = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        g.1 = Some(Arc::new(s));
        drop(g);
        self.published.notify_all();
    }

    /// Whether a reader asked for a fresh snapshot since the last call (control loop; one
    /// atomic swap per pass).
    pub fn take_request(&self) -> bool {
        // Relaxed: the flag carries no data; the snapshot itself goes through the mutex.
        self.want_fresh.load(Ordering::Relaxed) && self.want_fresh.swap(false, Ordering::Relaxed)
    }

    /// The last published snapshot.
    pub fn latest(&self) -> Option<Arc<Status>> {
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }

    /// Asks the control loop for a new snapshot and waits up to `wait` for it; returns the
    /// newest one there is (possibly the previous one, if the loop did not answer in time).
    pub fn fresh(&self, wait: Duration) -> Option<Arc<Status>> {
        let g = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        let seen = g.0;
        self.want_fresh.store(true, Ordering::Relaxed);
        let (g, _) = self
            .published
            .wait_timeout_while(g, wait, |v| v.0 == seen)
            .unwrap_or_else(|e| e.into_inner());
        g.1.clone()
    }
}

/// ptp4l's servo state names: `s0` unlocked, `s1` jump (clock stepped), `s2` locked.
pub fn servo_name(s: crate::servo::ServoState) -> &'static str {
    match s {
        crate::servo::ServoState::Unlocked => "s0",
        crate::servo::ServoState::Jump => "s1",
        crate::servo::ServoState::Locked => "s2",
    }
}

/// The IEEE 1588-2019 portState enumeration value (8.2.15.3.1, Table 20).
pub fn port_state_code(s: crate::port::state::PortState) -> u8 {
    use crate::port::state::PortState as P;
    match s {
        P::Initializing => 1,
        P::Faulty => 2,
        P::Disabled => 3,
        P::Listening => 4,
        P::PreMaster => 5,
        P::Master => 6,
        P::Passive => 7,
        P::Uncalibrated => 8,
        P::Slave => 9,
    }
}

/// Starts a server thread `name` running `serve(stop)` until the returned flag is set. The
/// thread serves a socket bound before it starts, so it first drops its capabilities
/// (capabilities are per thread: the daemon's later drop would not reach it). Shared by the
/// status socket and the metrics endpoint.
pub(crate) fn spawn_server(
    name: &str,
    serve: impl FnOnce(&AtomicBool) + Send + 'static,
) -> std::io::Result<(Arc<AtomicBool>, std::thread::JoinHandle<()>)> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            xptp_datapath::worker::drop_thread_capabilities();
            serve(&flag)
        })?;
    Ok((stop, thread))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_inclusive_upper_bounds() {
        let mut h = HistogramStatus::new("x", None, &[10.0, 100.0]);
        for v in [1.0, 10.0, 11.0, 100.0, 1e9] {
            h.observe(v);
        }
        assert_eq!(h.counts, vec![2, 2, 1]);
        assert_eq!(h.count(), 5);
        assert_eq!(h.sum, 1.0 + 10.0 + 11.0 + 100.0 + 1e9);
        assert_eq!(h.quantile_bound(0.4), Some(10.0));
        assert_eq!(h.quantile_bound(0.8), Some(100.0));
        assert_eq!(h.quantile_bound(1.0), None);
        assert_eq!(
            HistogramStatus::new("y", None, &[1.0]).quantile_bound(0.5),
            None
        );
    }

    #[test]
    fn hub_hands_out_fresh_snapshots_on_request() {
        let hub = StatusHub::new();
        assert!(hub.latest().is_none());
        assert!(!hub.take_request());
        let h2 = hub.clone();
        let t = std::thread::spawn(move || h2.fresh(Duration::from_secs(5)));
        // The "control loop": answers the request.
        let start = std::time::Instant::now();
        while !hub.take_request() {
            assert!(start.elapsed() < Duration::from_secs(5), "no request seen");
            std::thread::sleep(Duration::from_millis(1));
        }
        hub.publish(Status {
            pid: 7,
            ..Status::default()
        });
        assert_eq!(t.join().unwrap().unwrap().pid, 7);
        // Nobody answers: the previous snapshot after the wait.
        assert_eq!(hub.fresh(Duration::from_millis(10)).unwrap().pid, 7);
    }

    #[test]
    fn status_path_sits_next_to_the_management_socket() {
        assert_eq!(
            default_status_path(Path::new("/var/run/xptp")),
            PathBuf::from("/var/run/xptp.status")
        );
    }
}
