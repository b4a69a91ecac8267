//! The daemon's side of `xptp status` and `--metrics`: the [`Observer`] the control loop
//! owns. It drains the fast path's measurement events into histograms every pass (so the
//! event lane never fills), notes each new offset measurement, and about once a second, or
//! when a reader asks, builds a [`Status`] from the instance, the datapath counters and the
//! clock and publishes it to the [`StatusHub`]. It reads; it never changes the instance, a
//! ring or the clock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use xptp_datapath::fastpath::engine::EventKind;
use xptp_datapath::fastpath::run::Datapath;
use xptp_datapath::fastpath::{FastPathCounters, FastPathError, FastPathHandles};
use xptp_datapath::wire::{MessageType, PortIdentity};
use xptp_datapath::worker::CounterSnapshot;
use xptp_datapath::xsk::{self, BindMode, TxHwTs};
use xptp_ebpf::{ActiveMode, Build};

use super::clock::DaemonClock;
use super::control::ShellCounters;
use super::phc2sys::Phc2SysShared;
use super::transport::PortNet;
use crate::config::{Config, TimeStampingMode};
use crate::ptp::PtpInstance;
use crate::status::{
    port_state_code, servo_name, ClockStatus, DatapathStatus, DropCount, HistogramStatus,
    PortStatus, Status, StatusHub, WorkerStatus, STATUS_FORMAT,
};

/// How often a snapshot is published without being asked.
pub const PUBLISH_PERIOD: Duration = Duration::from_secs(1);
/// Bucket bounds of |offsetFromMaster| (ns).
pub const OFFSET_BOUNDS_NS: &[f64] = &[
    10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6, 1e7, 1e8,
];
/// Bucket bounds of the datapath latencies (s): 1 µs … 100 ms.
pub const LATENCY_BOUNDS_S: &[f64] = &[
    1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 1e-1,
];
/// Fast-path events drained per lane per pass (the rest waits for the next pass).
const EVENT_BATCH: usize = 1024;

/// Which histogram a fast-path event feeds.
fn event_histogram(k: EventKind) -> Option<&'static str> {
    match k {
        EventKind::DelayResp => Some("xptp_delay_req_handling_seconds"),
        EventKind::PdelayTurnaround => Some("xptp_pdelay_turnaround_seconds"),
        EventKind::SyncOneStep | EventKind::SyncTwoStep | EventKind::DelayReq => {
            Some("xptp_residence_time_seconds")
        }
        EventKind::FollowUp | EventKind::DelayResp2 | EventKind::AuthRejected => None,
    }
}

/// The static facts of one port's datapath (read once at start-up).
fn datapath_facts(dps: &[&Datapath], n_ports: usize) -> Vec<DatapathStatus> {
    let mut out = vec![DatapathStatus::default(); n_ports];
    for (g, dp) in dps.iter().enumerate() {
        for (a, s) in dp.attach_status().iter().zip(dp.socket_status()) {
            let Some(slot) = out.get_mut(usize::from(s.port)) else {
                continue;
            };
            let uncovered = xsk::queue_coverage(&a.ifname, &[s.queue_id])
                .map(|c| c.uncovered())
                .unwrap_or_default();
            *slot = DatapathStatus {
                worker: g,
                mode: match s.mode {
                    BindMode::ZeroCopy => "zero-copy",
                    BindMode::Copy => "copy",
                }
                .into(),
                mode_reason: s.zero_copy_error.clone(),
                queue: s.queue_id,
                xdp_build: match a.build {
                    Build::Portable => "portable",
                    Build::HwTimestamp => "hw-timestamp",
                }
                .into(),
                xdp_mode: match a.mode {
                    ActiveMode::Native => "native".into(),
                    ActiveMode::Skb => "skb".into(),
                    ActiveMode::Hardware => "offload".into(),
                    ActiveMode::Other(v) => format!("other({v})"),
                },
                xdp_prog_id: a.prog_id,
                hw_ts_fallback: a.hw_ts_fallback.clone(),
                tx_timestamps: match &s.tx_hw_ts {
                    TxHwTs::Enabled { .. } => "hardware".into(),
                    TxHwTs::Unavailable(why) => {
                        format!("software: {} (no NIC stamp: {why})", s.tx_sw_ts.describe())
                    }
                },
                uncovered_queues: uncovered,
                wire_stamps: a.wire_stamps,
                wire_fallback: a.wire_fallback.clone(),
            };
        }
    }
    out
}

/// The worker's counters by name (every field: a new one fails to compile here).
fn worker_counters(s: &CounterSnapshot) -> BTreeMap<String, u64> {
    let CounterSnapshot {
        loops,
        rx_frames,
        rx_l2,
        rx_udp4,
        rx_udp6,
        rx_vlan,
        rx_no_metadata,
        rx_too_long,
        rx_decided_drop,
        rx_to_control,
        rx_queue_full,
        fill_ring_shortfall,
        tx_requests,
        tx_frames,
        tx_completed,
        tx_unknown_port,
        tx_no_free_frame,
        tx_too_long,
        tx_ring_full,
        tx_kick_errors,
        tx_report_queue_full,
        tx_kernel_stamped,
        tx_stamp_send_errors,
        tx_stamp_fallbacks,
        tx_wire_stamped,
        tx_wire_missed,
        rx_fast_handled,
        fast_tx_enqueued,
        fast_tx_dropped,
        sleeps,
        forced_rests,
    } = *s;
    [
        ("loops", loops),
        ("rx_frames", rx_frames),
        ("rx_l2", rx_l2),
        ("rx_udp4", rx_udp4),
        ("rx_udp6", rx_udp6),
        ("rx_vlan", rx_vlan),
        ("rx_no_metadata", rx_no_metadata),
        ("rx_too_long", rx_too_long),
        ("rx_decided_drop", rx_decided_drop),
        ("rx_to_control", rx_to_control),
        ("rx_queue_full", rx_queue_full),
        ("fill_ring_shortfall", fill_ring_shortfall),
        ("tx_requests", tx_requests),
        ("tx_frames", tx_frames),
        ("tx_completed", tx_completed),
        ("tx_unknown_port", tx_unknown_port),
        ("tx_no_free_frame", tx_no_free_frame),
        ("tx_too_long", tx_too_long),
        ("tx_ring_full", tx_ring_full),
        ("tx_kick_errors", tx_kick_errors),
        ("tx_report_queue_full", tx_report_queue_full),
        ("tx_kernel_stamped", tx_kernel_stamped),
        ("tx_stamp_send_errors", tx_stamp_send_errors),
        ("tx_stamp_fallbacks", tx_stamp_fallbacks),
        ("tx_wire_stamped", tx_wire_stamped),
        ("tx_wire_missed", tx_wire_missed),
        ("rx_fast_handled", rx_fast_handled),
        ("fast_tx_enqueued", fast_tx_enqueued),
        ("fast_tx_dropped", fast_tx_dropped),
        ("sleeps", sleeps),
        ("forced_rests", forced_rests),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn fast_path_counters(c: &FastPathCounters) -> BTreeMap<String, u64> {
    [
        ("delay_resp_sent", c.delay_resp_sent.get()),
        ("pdelay_resp_sent", c.pdelay_resp_sent.get()),
        (
            "pdelay_resp_follow_up_sent",
            c.pdelay_resp_follow_up_sent.get(),
        ),
        ("tc_forwarded", c.tc_forwarded.get()),
        ("tc_follow_up_sent", c.tc_follow_up_sent.get()),
        ("tc_delay_resp_unmatched", c.tc_delay_resp_unmatched.get()),
        ("tc_sync_timed_out", c.tc_sync_timed_out.get()),
        ("tc_delay_req_timed_out", c.tc_delay_req_timed_out.get()),
        ("tx_failed", c.tx_failed.get()),
        ("inflight_overwritten", c.inflight_overwritten.get()),
        ("events_dropped", c.events_dropped.get()),
        ("config_updates", c.config_updates.get()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Every frame-drop counter of a worker, by stage and reason (zeros included).
fn worker_drops(w: &CounterSnapshot, fp: &FastPathCounters, up_lane: u64) -> Vec<DropCount> {
    let d = |stage: &str, reason: &str, count| DropCount {
        stage: stage.into(),
        reason: reason.into(),
        count,
    };
    let mut v = vec![
        d("worker", "rx_too_long", w.rx_too_long),
        d("worker", "tx_unknown_port", w.tx_unknown_port),
        d("worker", "tx_no_free_frame", w.tx_no_free_frame),
        d("worker", "tx_too_long", w.tx_too_long),
        d("worker", "tx_kick_errors", w.tx_kick_errors),
        d("worker", "fast_tx_dropped", w.fast_tx_dropped),
        d("lane", "rx_to_control_full", w.rx_queue_full.max(up_lane)),
        d("lane", "tx_report_full", w.tx_report_queue_full),
    ];
    for (name, c) in FastPathError::NAMES.iter().zip(fp.drops.iter()) {
        v.push(d("fastpath", name, c.get()));
    }
    v
}

fn xdp_counters(c: &xptp_ebpf::Counters) -> BTreeMap<String, u64> {
    [
        ("passed_non_ptp", c.passed_non_ptp()),
        ("passed_malformed", c.passed_malformed()),
        ("passed_ip_fragment", c.passed_ip_fragment()),
        ("passed_ipv6_ext", c.passed_ipv6_ext()),
        ("steered_l2", c.steered_l2()),
        ("steered_udp4", c.steered_udp4()),
        ("steered_udp6", c.steered_udp6()),
        ("vlan", c.vlan()),
        ("meta_failed", c.meta_failed()),
        ("no_socket", c.no_socket()),
        ("hw_ts_missing", c.hw_ts_missing()),
        ("wire_stamped", c.wire_stamped()),
        ("wire_stale", c.wire_stale()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// What the control loop shows the outside world.
#[derive(Debug)]
pub struct Observer {
    hub: Arc<StatusHub>,
    started: Instant,
    next_publish: Instant,
    facts: Vec<DatapathStatus>,
    histograms: Vec<HistogramStatus>,
    last_measurement: Vec<Option<(u16, i128)>>,
    phc2sys: Option<Arc<Phc2SysShared>>,
    /// Requests the fast path refused by authentication, per (port, requester), counts by
    /// reason in [`AUTH_REASONS`] order; at most [`AUTH_REQUESTERS`] requesters, the rest
    /// under the zero identity.
    auth_rejected: BTreeMap<(u16, PortIdentity), [u64; 4]>,
}

/// Requesters whose authentication failures are reported one by one.
pub const AUTH_REQUESTERS: usize = 32;
/// The fast path's authentication drop reasons, in the order of the counts above.
const AUTH_REASONS: [FastPathError; 4] = [
    FastPathError::AuthMissing,
    FastPathError::AuthUnknownKey,
    FastPathError::AuthBadIcv,
    FastPathError::AuthReplay,
];

/// Everything a snapshot is built from (borrowed from the control loop for one call).
#[derive(Debug)]
pub struct Sources<'a> {
    /// The configuration.
    pub cfg: &'a Config,
    /// The clock.
    pub clock: &'a DaemonClock,
    /// Per port framing.
    pub nets: &'a [PortNet],
    /// The workers.
    pub dps: &'a [&'a Datapath],
    /// The instance (none for a transparent clock).
    pub inst: Option<&'a PtpInstance>,
    /// The frequency in effect (ppb).
    pub freq_ppb: f64,
    /// Timestamp path in words.
    pub timestamp_detail: &'a str,
    /// The shell's counters.
    pub shell: ShellCounters,
    /// Management socket counters.
    pub management: Option<&'a crate::mgmt::uds::UdsCounters>,
    /// Rogue masters and alarms (none for a transparent clock).
    pub security: Option<&'a super::alarms::SecuritySnapshot>,
    /// Management-over-the-network counters.
    pub network_management: Option<&'a super::management::NetworkManagementCounters>,
    /// Per port mean link delay measured outside the instance (transparent clock).
    pub tc_link_delay_ns: Vec<Option<i64>>,
}

impl Observer {
    /// An observer for `n_ports` ports served by `dps`.
    pub fn new(hub: Arc<StatusHub>, dps: &[&Datapath], n_ports: usize) -> Self {
        let now = Instant::now();
        let mut histograms = vec![HistogramStatus::new(
            "xptp_offset_abs_ns",
            None,
            OFFSET_BOUNDS_NS,
        )];
        for name in [
            "xptp_residence_time_seconds",
            "xptp_delay_req_handling_seconds",
            "xptp_pdelay_turnaround_seconds",
        ] {
            for p in 1..=n_ports as u16 {
                histograms.push(HistogramStatus::new(name, Some(p), LATENCY_BOUNDS_S));
            }
        }
        Observer {
            hub,
            started: now,
            next_publish: now,
            facts: datapath_facts(dps, n_ports),
            histograms,
            last_measurement: vec![None; n_ports],
            phc2sys: None,
            auth_rejected: BTreeMap::new(),
        }
    }

    /// Shows the phc2sys task in every snapshot from now on.
    pub fn show_phc2sys(&mut self, shared: Arc<Phc2SysShared>) {
        self.phc2sys = Some(shared);
    }

    fn histogram(&mut self, name: &str, port: Option<u16>) -> Option<&mut HistogramStatus> {
        self.histograms
            .iter_mut()
            .find(|h| h.name == name && h.port == port)
    }

    /// Drains the fast path's measurement events into the histograms.
    pub fn drain_events(&mut self, h: &FastPathHandles) -> bool {
        let mut any = false;
        for _ in 0..EVENT_BATCH {
            let Some(ev) = h.events.pop() else { break };
            any = true;
            if ev.kind == EventKind::AuthRejected {
                self.note_auth_rejected(ev.port + 1, ev.port_identity, ev.value_ns);
                continue;
            }
            if let Some(name) = event_histogram(ev.kind) {
                let port = ev.port + 1;
                if let Some(hist) = self.histogram(name, Some(port)) {
                    hist.observe(ev.value_ns.max(0) as f64 * 1e-9);
                }
            }
        }
        any
    }

    fn note_auth_rejected(&mut self, port: u16, who: PortIdentity, reason_index: i64) {
        let Some(r) = AUTH_REASONS
            .iter()
            .position(|e| e.index() as i64 == reason_index)
        else {
            return;
        };
        let known = self.auth_rejected.contains_key(&(port, who));
        let key = if known || self.auth_rejected.len() < AUTH_REQUESTERS {
            (port, who)
        } else {
            (port, PortIdentity::default())
        };
        if let Some(c) = self.auth_rejected.entry(key).or_default().get_mut(r) {
            *c += 1;
        }
    }

    /// Notes new offset measurements of the instance.
    pub fn note_measurements(&mut self, inst: &PtpInstance) {
        for p in 1..=self.last_measurement.len() as u16 {
            let Some(m) = inst.last_measurement(p) else {
                continue;
            };
            let key = Some((m.sequence_id, m.t2));
            let Some(slot) = self.last_measurement.get_mut(usize::from(p - 1)) else {
                continue;
            };
            if *slot == key {
                continue;
            }
            *slot = key;
            let off = m.offset_from_master.nanos_round().unsigned_abs() as f64;
            if let Some(h) = self.histogram("xptp_offset_abs_ns", None) {
                h.observe(off);
            }
        }
    }

    /// Whether a snapshot is due (periodic, or a reader asked).
    pub fn due(&mut self) -> bool {
        let now = Instant::now();
        if self.hub.take_request() || now >= self.next_publish {
            self.next_publish = now + PUBLISH_PERIOD;
            true
        } else {
            false
        }
    }

    /// Builds and publishes a snapshot.
    pub fn publish(&self, src: &Sources<'_>) {
        self.hub.publish(self.build(src));
    }

    /// Builds a snapshot.
    pub fn build(&self, src: &Sources<'_>) -> Status {
        let cfg = src.cfg;
        let n = src.nets.len();
        let mut alarms = Vec::new();
        let hw_wanted = cfg.time_stamping == TimeStampingMode::Hardware;
        let port_hw = |i: usize| {
            matches!(src.clock, DaemonClock::Phc { .. })
                && self
                    .facts
                    .get(i)
                    .is_some_and(|f| f.xdp_build == "hw-timestamp")
        };
        let ts_name = |hw: bool| {
            if hw {
                "hardware"
            } else {
                "XDP-ingress software"
            }
        };

        // Workers.
        let mut workers = Vec::with_capacity(src.dps.len());
        let mut xdp_per_port: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); n];
        let mut fast_tx_per_port: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); n];
        for (g, dp) in src.dps.iter().enumerate() {
            let w = dp.worker_counters();
            let fp = &dp.handles().counters;
            let ports: Vec<u16> = dp.ports().iter().map(|p| p.port + 1).collect();
            for (pi, c) in dp.ports().iter().zip(dp.xdp_counters()) {
                if let (Some(slot), Some(c)) = (xdp_per_port.get_mut(usize::from(pi.port)), c) {
                    *slot = xdp_counters(&c);
                }
            }
            if let [only] = dp.ports() {
                if let Some(slot) = fast_tx_per_port.get_mut(usize::from(only.port)) {
                    for (t, v) in [
                        (MessageType::DelayResp, fp.delay_resp_sent.get()),
                        (MessageType::PdelayResp, fp.pdelay_resp_sent.get()),
                        (
                            MessageType::PdelayRespFollowUp,
                            fp.pdelay_resp_follow_up_sent.get(),
                        ),
                    ] {
                        if v > 0 {
                            slot.insert(t.name().to_owned(), v);
                        }
                    }
                }
            }
            let dropped = worker_drops(&w, fp, dp.link().rx_up.dropped());
            let lane_drops: u64 = dropped
                .iter()
                .filter(|d| d.stage == "lane")
                .map(|d| d.count)
                .sum();
            if lane_drops > 0 {
                alarms.push(format!(
                    "datapath worker {g}: {lane_drops} frames or reports lost on a full lane to control (control loop too slow?)"
                ));
            }
            workers.push(WorkerStatus {
                index: g,
                ports,
                pinned: dp.pinned(),
                counters: worker_counters(&w),
                fast_path: fast_path_counters(fp),
                dropped,
            });
        }

        // Ports.
        let mut ports = Vec::with_capacity(n);
        for (i, net) in src.nets.iter().enumerate() {
            let pn = i as u16 + 1;
            let pc = cfg.ports.get(i).map(|(_, p)| p);
            let facts = self.facts.get(i).cloned().unwrap_or_default();
            let hw = port_hw(i);
            if hw_wanted && !hw {
                alarms.push(format!(
                    "port {pn} ({}): time_stamping hardware requested, but RX timestamps are XDP-ingress software{}",
                    net.ifname,
                    facts
                        .hw_ts_fallback
                        .as_ref()
                        .map(|w| format!(": {w}"))
                        .unwrap_or_default()
                ));
            }
            if !facts.uncovered_queues.is_empty() {
                alarms.push(format!(
                    "port {pn} ({}): RX queues {:?} have no AF_XDP socket; PTP frames hashed there bypass xptp",
                    net.ifname, facts.uncovered_queues
                ));
            }
            let mut st = PortStatus {
                port_number: pn,
                interface: net.ifname.clone(),
                transport: net.transport.as_linuxptp().into(),
                delay_mechanism: pc
                    .map(|p| p.delay_mechanism.as_linuxptp())
                    .unwrap_or("E2E")
                    .into(),
                timestamp_source: ts_name(hw).into(),
                xdp: xdp_per_port.get(i).cloned().unwrap_or_default(),
                fast_path_tx: fast_tx_per_port.get(i).cloned().unwrap_or_default(),
                datapath: facts,
                mean_delay_ns: src.tc_link_delay_ns.get(i).copied().flatten(),
                ..PortStatus::default()
            };
            if let Some(inst) = src.inst {
                if let Some(ds) = inst.port_ds(pn) {
                    st.port_identity = ds.port_identity.to_string();
                    st.state = ds.port_state.name().into();
                    st.state_code = port_state_code(ds.port_state);
                    if ds.port_state == crate::port::state::PortState::Faulty {
                        alarms.push(format!("port {pn} ({}): FAULTY", net.ifname));
                    }
                }
                st.mean_delay_ns = inst.mean_delay(pn).map(|d| d.nanos_round());
                if st.delay_mechanism == "P2P" {
                    st.neighbor_rate_ratio = inst.neighbor_rate_ratio(pn);
                }
                if let Some(c) = inst.port_counters(pn) {
                    for t in MessageType::ALL {
                        st.rx.insert(t.name().into(), c.rx(t));
                        st.tx.insert(t.name().into(), c.tx(t));
                    }
                    for (r, v) in c.rejections() {
                        st.rejected.insert(r.name().into(), v);
                    }
                    for (k, v) in [
                        ("tx_timestamp_timeout", c.tx_timestamp_timeout),
                        ("response_missing", c.response_missing),
                        ("tx_build_error", c.tx_build_error),
                        ("link_delay_above_threshold", c.link_delay_above_threshold),
                        ("delay_sync_reused", c.delay_sync_reused),
                    ] {
                        st.events.insert(k.into(), v);
                    }
                }
            } else {
                // A transparent clock has no port state machine: its ports forward. RX/TX
                // are what its fast path received and sent on the port, per message type.
                if let Some(dp) = src.dps.first() {
                    let c = &dp.handles().counters;
                    for t in MessageType::ALL {
                        let (rx, tx) = c.tc_port_counts(i, t);
                        st.rx.insert(t.name().into(), rx);
                        st.tx.insert(t.name().into(), tx);
                    }
                }
                st.state = "TRANSPARENT".into();
                st.port_identity = format!(
                    "{}-{pn}",
                    src.dps
                        .first()
                        .map(|d| d.config().clock_identity)
                        .unwrap_or_default()
                );
            }
            ports.push(st);
        }

        // The clock.
        let any_hw = (0..n).any(port_hw);
        let mut clock = ClockStatus {
            clock_type: cfg.clock_type.as_linuxptp().into(),
            clock_source: cfg.clock_source.as_str().into(),
            clock_name: src.clock.name().into(),
            true_error_ns: src.clock.true_error_ns(),
            timestamp_source: ts_name(any_hw).into(),
            timestamp_detail: src.timestamp_detail.into(),
            time_stamping: cfg.time_stamping.as_linuxptp().into(),
            frequency_ppb: src.freq_ppb,
            domain: cfg.clock.domain_number,
            ..ClockStatus::default()
        };
        match src.inst {
            Some(inst) => {
                let d = inst.default_ds();
                let p = inst.parent_ds();
                let cur = inst.current_ds();
                let tp = inst.time_properties_ds();
                clock.clock_identity = d.clock_identity.to_string();
                clock.domain = d.domain_number;
                clock.priority1 = d.priority1;
                clock.priority2 = d.priority2;
                clock.clock_class = d.clock_quality.clock_class;
                clock.slave_only = d.slave_only;
                clock.grandmaster_identity = p.grandmaster_identity.to_string();
                clock.grandmaster_priority1 = p.grandmaster_priority1;
                clock.grandmaster_clock_class = p.grandmaster_clock_quality.clock_class;
                clock.parent_port_identity = p.parent_port_identity.to_string();
                clock.steps_removed = cur.steps_removed;
                clock.is_grandmaster = p.grandmaster_identity == d.clock_identity;
                clock.servo_state = servo_name(inst.servo_state()).into();
                clock.current_utc_offset = tp.current_utc_offset;
                clock.ptp_timescale = tp.ptp_timescale;
                let m = (1..=n as u16).find_map(|p| {
                    let slave = inst.port_state(p) == Some(crate::port::state::PortState::Slave)
                        || inst.port_state(p) == Some(crate::port::state::PortState::Uncalibrated);
                    slave.then(|| inst.last_measurement(p)).flatten()
                });
                if let Some(m) = m {
                    clock.offset_from_master_ns = Some(m.offset_from_master.nanos_round());
                    clock.mean_path_delay_ns = Some(m.mean_delay.nanos_round());
                }
            }
            None => {
                clock.clock_identity = src
                    .dps
                    .first()
                    .map(|d| d.config().clock_identity.to_string())
                    .unwrap_or_default();
                clock.servo_state = "s0".into();
                clock.priority1 = cfg.clock.priority1;
                clock.priority2 = cfg.clock.priority2;
                clock.clock_class = cfg.clock.clock_quality.clock_class;
            }
        }

        let sh = src.shell;
        let mut control: BTreeMap<String, u64> = [
            ("rx_unparseable", sh.rx_unparseable),
            ("rx_wrong_transport", sh.rx_wrong_transport),
            ("rx_unknown_port", sh.rx_unknown_port),
            ("rx_worker_timestamp", sh.rx_worker_timestamp),
            ("tx_framing_failed", sh.tx_framing_failed),
            ("tx_lane_full", sh.tx_lane_full),
            ("tx_dropped", sh.tx_dropped),
            ("tx_unknown_report", sh.tx_unknown_report),
            ("tx_report_lost", sh.tx_report_lost),
            ("clock_errors", sh.clock_errors),
            ("fastpath_update_dropped", sh.fastpath_update_dropped),
            ("control_stalls", sh.control_stalls),
            ("control_stall_max_ms", sh.control_stall_max_ms),
            ("sa_file_reloads_ok", sh.sa_reload.ok),
            ("sa_file_reloads_failed", sh.sa_reload.failed),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(m) = src.management {
            control.insert("management_received".into(), m.received);
            control.insert("management_responses_sent".into(), m.responses_sent);
            control.insert("management_commands".into(), m.commands);
            control.insert(
                "management_ignored".into(),
                m.ignored.values().copied().sum(),
            );
        }
        if let Some(n) = src.network_management {
            control.extend(n.named());
        }
        if sh.sa_reload.last_refused {
            alarms.push(format!(
                "the sa_file re-read on SIGHUP was refused ({} of {} reloads); the keys loaded before are in force (see the log for the line and the fix)",
                sh.sa_reload.failed,
                sh.sa_reload.failed + sh.sa_reload.ok
            ));
        }
        if sh.clock_errors > 0 {
            alarms.push(format!(
                "{} clock adjustments failed (see the log)",
                sh.clock_errors
            ));
        }
        for ((port, who), counts) in &self.auth_rejected {
            let who = if *who == PortIdentity::default() {
                "other requesters".to_owned()
            } else {
                who.to_string()
            };
            let by: Vec<String> = AUTH_REASONS
                .iter()
                .zip(counts)
                .filter(|(_, n)| **n > 0)
                .map(|(e, n)| {
                    format!(
                        "{} {n}",
                        FastPathError::NAMES.get(e.index()).unwrap_or(&"?")
                    )
                })
                .collect();
            alarms.push(format!(
                "port {port}: requests from {who} refused by authentication: {}",
                by.join(", ")
            ));
        }

        let security = match src.security {
            Some(sec) => {
                alarms.extend(sec.alarm_lines());
                sec.to_status(|p| {
                    src.nets
                        .get(usize::from(p.saturating_sub(1)))
                        .map(|n| n.ifname.clone())
                        .unwrap_or_default()
                })
            }
            None => crate::status::SecurityStatus::default(),
        };
        let phc2sys = self.phc2sys.as_ref().map(|p| p.status());
        if let Some(p) = &phc2sys {
            if let Some(e) = &p.last_error {
                alarms.push(format!("phc2sys: {} updates failed; last: {e}", p.errors));
            }
        }
        Status {
            phc2sys,
            format: STATUS_FORMAT,
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            uptime_s: self.started.elapsed().as_secs_f64(),
            clock,
            ports,
            workers,
            control,
            alarms,
            histograms: self.histograms.clone(),
            security,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_rejections_are_kept_per_requester_and_bounded() {
        use xptp_datapath::wire::ClockIdentity;
        let mut o = Observer::new(StatusHub::new(), &[], 1);
        let id = |k: u8| PortIdentity::new(ClockIdentity([0xcc, 0, 0, 0, 0, 0, 0, k]), 1);
        o.note_auth_rejected(1, id(0), FastPathError::AuthBadIcv.index() as i64);
        o.note_auth_rejected(1, id(0), FastPathError::AuthBadIcv.index() as i64);
        o.note_auth_rejected(1, id(0), FastPathError::AuthReplay.index() as i64);
        o.note_auth_rejected(1, id(0), FastPathError::OutboxFull.index() as i64);
        assert_eq!(o.auth_rejected[&(1, id(0))], [0, 0, 2, 1]);
        for k in 1..40 {
            o.note_auth_rejected(1, id(k), FastPathError::AuthMissing.index() as i64);
        }
        assert_eq!(o.auth_rejected.len(), AUTH_REQUESTERS + 1);
        assert_eq!(
            o.auth_rejected[&(1, PortIdentity::default())],
            [(40 - AUTH_REQUESTERS) as u64, 0, 0, 0],
            "requesters beyond the table counted together"
        );
    }

    #[test]
    fn events_map_to_histograms() {
        assert_eq!(
            event_histogram(EventKind::DelayResp),
            Some("xptp_delay_req_handling_seconds")
        );
        assert_eq!(
            event_histogram(EventKind::SyncTwoStep),
            Some("xptp_residence_time_seconds")
        );
        assert_eq!(event_histogram(EventKind::FollowUp), None);
    }

    #[test]
    fn worker_counters_are_all_named() {
        let m = worker_counters(&CounterSnapshot {
            fast_tx_dropped: 3,
            ..CounterSnapshot::default()
        });
        assert_eq!(m.len(), 31);
        assert_eq!(m["fast_tx_dropped"], 3);
        let fp = FastPathCounters::default();
        let d = worker_drops(&CounterSnapshot::default(), &fp, 2);
        assert_eq!(
            d.iter().filter(|d| d.stage == "fastpath").count(),
            FastPathError::COUNT
        );
        assert!(d
            .iter()
            .any(|d| d.reason == "rx_to_control_full" && d.count == 2));
    }
}
