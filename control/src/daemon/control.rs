//! The control loop of `xptp run`: it moves received frames from the workers' up-lanes into
//! the [`PtpInstance`] (with their timestamps on the disciplined clock's scale), hands the
//! instance's actions to the workers, the clock and the log, feeds TX timestamps back, fires
//! timers, keeps the fast path's timescale offset current, and logs the ptp4l-style summary.
//!
//! It never blocks on a lane: each pass polls everything, and only an idle pass sleeps, for at
//! most [`MAX_IDLE_SLEEP`] or until the next timer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use xptp_datapath::fastpath::config::{ConfigUpdate, TcMode};
use xptp_datapath::fastpath::run::Datapath;
use xptp_datapath::handoff::{FrameBuf, PortId, TxOutcome, TxRequest, TxToken as DpToken};
use xptp_datapath::worker::FAST_TOKEN;

use super::alarms::{AlarmLog, SecuritySnapshot};
use super::clock::DaemonClock;
use super::faults::{FaultAction, FaultMonitor};
use super::management::{
    is_management, port_stats, timestamping, InstanceView, NetworkManagementCounters,
};
use super::sa_reload::{self, PendingUpdates, ReloadCounters};
use super::setup::{Mode, Plan};
use super::snapshot::{Observer, Sources};
use super::transport::{self, PortNet, RxReject};
use super::{privilege, DaemonError, RunArgs};
use crate::config::{ClockType, Config};
use crate::datasets::DelayMechanism;
use crate::mgmt::network::{handle_network_management, IngressPort, NetworkIgnored};
use crate::mgmt::tc::{TcPortSnapshot, TcSnapshot};
use crate::mgmt::uds::UdsServer;
use crate::mgmt::{ManagementCommand, SyncUncertain};
use crate::port::state::PortState;
use crate::port::{Action, ClockAdjustment, TxToken};
use crate::ptp::PtpInstance;
use crate::servo::ServoState;
use crate::status::socket::StatusServer;
use crate::status::StatusHub;
use crate::time::Instant;

/// Longest sleep of an idle pass.
pub const MAX_IDLE_SLEEP: Duration = Duration::from_micros(500);
/// Received frames handled per lane per pass (timers are serviced between batches).
const RX_BATCH: usize = 256;
/// Token bit of frames that need no TX timestamp (the core's ids never reach it).
const NO_TS: u64 = 1 << 62;
/// The fast path's timescale offset is refreshed when it is off by more than this (ns).
const TAI_TO_PTP_TOLERANCE_NS: i64 = 20;

/// What the shell itself counted (the core and the datapath count their own).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShellCounters {
    /// Frames that did not parse as Ethernet/IP/UDP carrying PTP.
    pub rx_unparseable: u64,
    /// Frames on a transport the port is not configured for.
    pub rx_wrong_transport: u64,
    /// Frames for a port this process does not have.
    pub rx_unknown_port: u64,
    /// Frames without an XDP-ingress timestamp (the worker's later reading was used).
    pub rx_worker_timestamp: u64,
    /// Messages the core wanted sent that could not be framed.
    pub tx_framing_failed: u64,
    /// Transmit requests dropped because the down-lane was full.
    pub tx_lane_full: u64,
    /// Transmit requests the worker or the kernel dropped.
    pub tx_dropped: u64,
    /// TX reports for no pending token.
    pub tx_unknown_report: u64,
    /// Pending TX tokens discarded unanswered after a second.
    pub tx_report_lost: u64,
    /// Clock adjustments that failed.
    pub clock_errors: u64,
    /// Timescale updates the fast path's config lane refused (full).
    pub fastpath_update_dropped: u64,
    /// Times the control loop did not run for more than [`super::stall::STALL_THRESHOLD`].
    pub control_stalls: u64,
    /// The longest of those gaps (ms).
    pub control_stall_max_ms: u64,
    /// SIGHUP: re-read sa_files applied, and refused (see [`super::sa_reload`]).
    pub sa_reload: ReloadCounters,
}

/// What a run ended with.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Which timestamps fed the core.
    pub timestamp_source: String,
    /// The shell's counters.
    pub shell: ShellCounters,
    /// The virtual clock's true error at exit (ns).
    pub true_error_ns: Option<i64>,
}

/// Where the daemon shows itself: the status socket and the metrics endpoint.
#[derive(Clone, Debug)]
pub struct OpsOptions {
    /// The status socket (`xptp status -s PATH`).
    pub status_path: std::path::PathBuf,
    /// The metrics endpoint, when enabled.
    pub metrics: Option<std::net::SocketAddr>,
}

/// The status socket and metrics servers (stopped when dropped).
#[derive(Debug)]
struct OpsServers {
    _status: StatusServer,
    _metrics: Option<crate::metrics::MetricsServer>,
}

fn start_ops(ops: &OpsOptions, hub: &Arc<StatusHub>) -> Result<OpsServers, DaemonError> {
    let status = StatusServer::spawn(&ops.status_path, hub.clone())?;
    tracing::info!(path = %status.path().display(), "status (xptp status -s PATH) listening");
    let metrics = match ops.metrics {
        Some(addr) => {
            let m = crate::metrics::MetricsServer::spawn(addr, hub.clone())?;
            if !m.local_addr().ip().is_loopback() {
                tracing::warn!(
                    "metrics on {}: reachable from the network, without authentication",
                    m.local_addr()
                );
            }
            tracing::info!(addr = %m.local_addr(), "metrics (GET http://{}/metrics) listening", m.local_addr());
            Some(m)
        }
        None => None,
    };
    Ok(OpsServers {
        _status: status,
        _metrics: metrics,
    })
}

/// Runs the plan until `stop` is set; re-reads the sa_file whenever `reload` is set
/// (SIGHUP); tears the datapath down before returning.
pub fn run(
    plan: Plan,
    args: &RunArgs,
    stop: &AtomicBool,
    reload: &AtomicBool,
    ops: &OpsOptions,
) -> Result<RunReport, DaemonError> {
    let Plan {
        cfg,
        clock,
        nets,
        timestamp_source,
        mode,
        phc2sys,
    } = plan;
    tracing::info!(clock = clock.name(), "timestamps: {timestamp_source}");
    // Before any capability drop: the task's thread keeps what it needs itself.
    let phc2sys = phc2sys
        .map(|p| p.spawn(args.keep_privileges))
        .transpose()
        .map_err(|e| DaemonError::Unsupported(format!("phc2sys: cannot start its thread: {e}")))?;
    let hub = StatusHub::new();
    match mode {
        Mode::Transparent { running, mode, uds } => {
            let dps: Vec<&Datapath> = running.datapath().into_iter().collect();
            let mut observer = Observer::new(hub.clone(), &dps, nets.len());
            if let Some(p) = &phc2sys {
                observer.show_phc2sys(p.shared().clone());
            }
            let servers = start_ops(ops, &hub)?;
            if !args.keep_privileges {
                privilege::drop_after_setup(cfg.clock_source);
            }
            run_transparent(
                running,
                mode,
                *uds,
                &TcShow {
                    cfg: &cfg,
                    clock: &clock,
                    nets: &nets,
                    timestamp_source: &timestamp_source,
                },
                observer,
                stop,
                reload,
            );
            drop(servers);
            drop(phc2sys);
            Ok(RunReport {
                timestamp_source,
                ..RunReport::default()
            })
        }
        Mode::Instance {
            dps,
            port_dp,
            instance,
            uds,
        } => {
            let dp_refs: Vec<&Datapath> = dps.iter().collect();
            let mut observer = Observer::new(hub.clone(), &dp_refs, nets.len());
            if let Some(p) = &phc2sys {
                observer.show_phc2sys(p.shared().clone());
            }
            let servers = start_ops(ops, &hub)?;
            let mut c = Control::new(cfg, clock, nets, dps, port_dp, instance, uds, observer);
            c.phc2sys = phc2sys;
            c.timestamp_source = timestamp_source.clone();
            c.faults = FaultMonitor::new(
                args.fault_config(),
                &c.nets.iter().map(|n| n.ifname.clone()).collect::<Vec<_>>(),
                &c.port_dp,
                c.dps.len(),
                args.test_fault(),
            );
            if !args.keep_privileges {
                privilege::drop_after_setup(c.cfg.clock_source);
            }
            tracing::info!(
                clock_identity = %c.inst.default_ds().clock_identity,
                ports = c.nets.len(),
                "xptp run: {} {} clock on {}",
                c.cfg.clock_type.as_linuxptp(),
                c.cfg.time_stamping.as_linuxptp(),
                c.nets
                    .iter()
                    .map(|n| format!("{} ({})", n.ifname, n.transport.as_linuxptp()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if c.cfg.network_management.enabled {
                tracing::info!(
                    "network_management 1: answering management GETs on the PTP ports (SET and COMMAND refused)"
                );
            }
            // Acquire: pairs with the signal handler's store.
            while !stop.load(Ordering::Acquire) && c.fatal.is_none() {
                // AcqRel: pairs with the signal handler's store; clears the request.
                if reload.swap(false, Ordering::AcqRel) {
                    c.reload_sa_file();
                }
                c.pass();
            }
            drop(servers);
            let fatal = c.fatal.take();
            let report = c.shutdown(timestamp_source);
            match fatal {
                Some(why) => Err(DaemonError::DatapathFailed(why)),
                None => Ok(report),
            }
        }
    }
}

/// What a transparent clock shows (it has no instance).
struct TcShow<'a> {
    cfg: &'a Config,
    clock: &'a DaemonClock,
    nets: &'a [PortNet],
    timestamp_source: &'a str,
}

fn run_transparent(
    mut running: Box<xptp_datapath::fastpath::run::Running>,
    mode: TcMode,
    mut uds: UdsServer,
    show: &TcShow<'_>,
    mut observer: Observer,
    stop: &AtomicBool,
    reload: &AtomicBool,
) {
    let cfg = show.cfg;
    let mut shell = ShellCounters::default();
    let mut auth_updates = PendingUpdates::default();
    // The associations in force (the fast path's copy; a TC has no instance).
    let mut security = cfg.security.clone();
    tracing::info!(
        "xptp run: {} on {} (fast path forwarding on the worker core)",
        cfg.clock_type.as_linuxptp(),
        cfg.ports
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if cfg.network_management.enabled {
        tracing::info!(
            "network_management 1: answering management GETs on the PTP ports (SET and COMMAND refused); the TC forwards them too"
        );
    }
    let mut tc = tc_snapshot(cfg, &running);
    let mut net_mgmt = NetworkManagementCounters::default();
    let mut last = std::time::Instant::now();
    while !stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(if uds.has_pending() {
            2
        } else {
            10
        }));
        while observer.drain_events(running.handles()) {}
        // AcqRel: pairs with the signal handler's store; clears the request.
        if reload.swap(false, Ordering::AcqRel) {
            if let Some(db) = sa_reload::reread(cfg, security.as_deref(), &mut shell.sa_reload) {
                auth_updates.replace(sa_reload::fast_path_updates(cfg, &db));
                security = Some(db);
            }
        }
        auth_updates.flush(|_, u| running.handles().updates.push(*u));
        // Bounded like the instance's loop: a GET behind a SET sees it applied.
        for _ in 0..16 {
            let counters = &running.handles().counters;
            for (p, port) in tc.ports.iter_mut().enumerate() {
                port.mean_link_delay_ns = running.mean_link_delay_ns(p as PortId);
                port.stats = Some(port_stats(|t| counters.tc_port_counts(p, t)));
            }
            let cmds = uds.poll(&tc.management_view());
            if cmds.is_empty() {
                break;
            }
            for c in cmds {
                tracing::info!(command = ?c, "management SET applied");
                tc.apply(c);
            }
        }
        tc_network_management(&running, show, &tc, &mut net_mgmt);
        if observer.due() {
            let dps: Vec<&Datapath> = running.datapath().into_iter().collect();
            observer.publish(&Sources {
                cfg,
                clock: show.clock,
                nets: show.nets,
                dps: &dps,
                inst: None,
                freq_ppb: 0.0,
                timestamp_detail: show.timestamp_source,
                shell,
                management: Some(uds.counters()),
                network_management: Some(&net_mgmt),
                security: None,
                tc_link_delay_ns: (0..show.nets.len())
                    .map(|p| running.mean_link_delay_ns(p as PortId))
                    .collect(),
            });
        }
        if last.elapsed() >= Duration::from_secs(1) {
            last = std::time::Instant::now();
            let c = &running.handles().counters;
            let links: Vec<String> = (0..cfg.ports.len())
                .filter_map(|p| {
                    let d = running.mean_link_delay_ns(p as PortId)?;
                    // Below -10 us or above 1 s: a clock step mid-exchange or a bad timestamp.
                    let rejected = match running.link_delay_rejected(p as PortId) {
                        0 => String::new(),
                        n => format!(" ({n} broken samples rejected)"),
                    };
                    Some(format!("port {} link delay {d}{rejected}", p + 1))
                })
                .collect();
            tracing::info!(
                forwarded = c.tc_forwarded.get(),
                follow_ups = c.tc_follow_up_sent.get(),
                pdelay_resp = c.pdelay_resp_sent.get(),
                "tc {:?}: {} frames forwarded{}{}",
                mode,
                c.tc_forwarded.get(),
                if links.is_empty() { "" } else { ", " },
                links.join(", ")
            );
        }
    }
    let w = running.worker_counters();
    let c = running.handles().counters.clone();
    running.stop_in_place();
    tracing::info!(
        worker = ?w,
        drops = ?c.drop_summary(),
        management = ?uds.counters(),
        network_management = ?net_mgmt,
        "stopped: datapath detached; final counters"
    );
}

/// Answers the Management frames the TC's worker copied up (`network_management 1`; the
/// worker forwarded them as well), GET only, out of the port each arrived on.
fn tc_network_management(
    running: &xptp_datapath::fastpath::run::Running,
    show: &TcShow<'_>,
    tc: &TcSnapshot,
    counters: &mut NetworkManagementCounters,
) {
    let mut view = None;
    while let Some(m) = running.management_up().pop() {
        let Some(net) = show.nets.get(usize::from(m.port)) else {
            continue;
        };
        let ingress = IngressPort {
            port_number: m.port + 1,
            mac: net.mac,
            ipv4: net.ipv4,
            ipv6: net.ipv6,
        };
        let view = view.get_or_insert_with(|| tc.management_view());
        let out = handle_network_management(
            m.frame.as_slice(),
            &ingress,
            view,
            show.cfg.network_management,
        );
        counters.note(&out);
        for f in out.frames {
            let seq = counters.responses_sent + counters.responses_dropped;
            let sent = FrameBuf::from_slice(&f)
                .ok()
                .is_some_and(|fb| running.send_management(m.port, fb, seq));
            if sent {
                counters.responses_sent += 1;
            } else {
                counters.responses_dropped += 1;
            }
        }
    }
}

/// What a transparent clock's management answers from at start-up (link delays are
/// refreshed before each poll).
fn tc_snapshot(cfg: &Config, running: &xptp_datapath::fastpath::run::Running) -> TcSnapshot {
    TcSnapshot {
        clock: cfg.clock.clone(),
        clock_identity: running
            .datapath()
            .map(|d| d.config().clock_identity)
            .unwrap_or_default(),
        delay_mechanism: if cfg.clock_type == ClockType::P2pTransparent {
            DelayMechanism::P2P
        } else {
            DelayMechanism::E2E
        },
        timestamping: timestamping(cfg.time_stamping),
        sync_uncertain: SyncUncertain::DontCare,
        ports: cfg
            .ports
            .iter()
            .map(|(name, pc)| TcPortSnapshot {
                interface: name.clone(),
                config: pc.clone(),
                mean_link_delay_ns: None,
                stats: None,
            })
            .collect(),
    }
}

struct Control {
    cfg: Config,
    clock: DaemonClock,
    nets: Vec<PortNet>,
    dps: Vec<Datapath>,
    port_dp: Vec<usize>,
    inst: Box<PtpInstance>,
    uds: Box<UdsServer>,
    sync_uncertain: SyncUncertain,
    pending: HashMap<u64, (TxToken, std::time::Instant)>,
    next_plain: u64,
    shell: ShellCounters,
    epoch: std::time::Instant,
    freq_ppb: f64,
    pushed_tai_to_ptp: i64,
    next_summary: std::time::Instant,
    summary_period: Duration,
    last_logged: Vec<Option<(u16, i128)>>,
    observer: Observer,
    timestamp_source: String,
    alarms: AlarmLog,
    faults: FaultMonitor,
    /// Management over the network (`network_management`).
    net_mgmt: NetworkManagementCounters,
    /// Set when a datapath failure ends the run.
    fatal: Option<String>,
    /// The phc2sys task (stopped when the loop ends).
    phc2sys: Option<super::phc2sys::Phc2SysHandle>,
    /// Gaps between passes of this loop.
    stall: super::stall::StallWatch,
    /// New keys for the fast path waiting for room on a worker's config lane.
    auth_updates: PendingUpdates,
}

impl Control {
    // One argument per owned part of the plan; a builder would only rename them.
    #[allow(clippy::too_many_arguments)]
    fn new(
        cfg: Config,
        clock: DaemonClock,
        nets: Vec<PortNet>,
        dps: Vec<Datapath>,
        port_dp: Vec<usize>,
        inst: Box<PtpInstance>,
        uds: Box<UdsServer>,
        observer: Observer,
    ) -> Self {
        let pushed = dps.first().map(|d| d.config().tai_to_ptp_ns).unwrap_or(0);
        let n = nets.len();
        let summary_period =
            Duration::from_secs_f64(2f64.powi(cfg.log.summary_interval.clamp(-4, 16)));
        let now = std::time::Instant::now();
        Control {
            cfg,
            clock,
            nets,
            dps,
            port_dp,
            inst,
            uds,
            sync_uncertain: SyncUncertain::DontCare,
            pending: HashMap::new(),
            next_plain: 0,
            shell: ShellCounters::default(),
            epoch: now,
            freq_ppb: 0.0,
            pushed_tai_to_ptp: pushed,
            next_summary: now + summary_period,
            summary_period,
            last_logged: vec![None; n],
            observer,
            timestamp_source: String::new(),
            alarms: AlarmLog::default(),
            faults: FaultMonitor::disabled(),
            net_mgmt: NetworkManagementCounters::default(),
            fatal: None,
            phc2sys: None,
            stall: super::stall::StallWatch::new(super::stall::STALL_THRESHOLD),
            auth_updates: PendingUpdates::default(),
        }
    }

    /// Whether the PTP clock is synchronized, as phc2sys's `-w` asks ptp4l: a port SLAVE with
    /// the servo locked, or, with no port taking time, a port MASTER (this clock is
    /// grandmaster).
    fn synchronized(&self) -> bool {
        let states: Vec<PortState> = (1..=self.nets.len() as u16)
            .filter_map(|p| self.inst.port_state(p))
            .collect();
        if states
            .iter()
            .any(|s| matches!(s, PortState::Slave | PortState::Uncalibrated))
        {
            states.contains(&PortState::Slave) && self.inst.servo_state() == ServoState::Locked
        } else {
            states.contains(&PortState::Master)
        }
    }

    /// Security alarms and rogue masters for status and metrics (see [`super::alarms`]).
    pub fn security_snapshot(&self) -> SecuritySnapshot {
        self.alarms.snapshot(&self.inst, self.now())
    }

    /// SIGHUP: re-reads the sa_file and, when it is accepted, signs and verifies with the new
    /// associations in the instance at once and in the fast path as soon as each worker
    /// drains its config lane (IEEE 1588-2019 16.14). A refused file changes nothing.
    fn reload_sa_file(&mut self) {
        let current = self.cfg.security.as_deref();
        let Some(db) = sa_reload::reread(&self.cfg, current, &mut self.shell.sa_reload) else {
            return;
        };
        self.inst.set_security(db.clone());
        self.auth_updates
            .replace(sa_reload::fast_path_updates(&self.cfg, &db));
        self.cfg.security = Some(db);
        self.push_auth_updates();
    }

    /// Hands waiting key updates to the workers (a full lane: retried next pass).
    fn push_auth_updates(&mut self) {
        let (dps, port_dp) = (&self.dps, &self.port_dp);
        self.auth_updates.flush(|idx, u| {
            port_dp
                .get(idx)
                .and_then(|&g| dps.get(g))
                .is_none_or(|dp| dp.handles().updates.push(*u))
        });
    }

    /// Link and heartbeat faults: FAULT_DETECTED / FAULT_CLEARED into the core, or the end
    /// of the run (see [`super::faults`]).
    fn check_faults(&mut self) -> bool {
        let inst = &self.inst;
        let acts = self
            .faults
            .poll(&self.dps, |p| inst.port_state(p) == Some(PortState::Faulty));
        let any = !acts.is_empty();
        for a in acts {
            let now = self.now();
            match a {
                FaultAction::Fault { port } => self.inst.handle_fault(now, port),
                FaultAction::Clear { port } => self.inst.handle_fault_cleared(now, port),
                FaultAction::Fatal(why) => self.fatal = Some(why),
            }
            self.drain_actions();
        }
        any
    }

    fn now(&self) -> Instant {
        Instant::from_nanos(self.epoch.elapsed().as_nanos() as u64)
    }

    /// One pass over every input; sleeps when nothing happened.
    fn pass(&mut self) {
        if let Some(s) = self
            .stall
            .pass(std::time::Instant::now(), super::stall::SchedStat::current)
        {
            self.shell.control_stalls = self.stall.stalls;
            self.shell.control_stall_max_ms = self.stall.worst_ns / 1_000_000;
            tracing::warn!(
                gap_ms = s.gap.as_millis() as u64,
                waiting_for_cpu_ms = s.waiting_for_cpu.map(|w| w.as_millis() as u64),
                "{}",
                s.explain()
            );
        }
        if let Some(p) = &self.phc2sys {
            let tp = self.inst.time_properties_ds();
            p.shared()
                .set_time_properties(tp.current_utc_offset, tp.ptp_timescale);
            p.shared().set_synced(self.synchronized());
        }
        let mut busy = false;
        for d in 0..self.dps.len() {
            busy |= self.drain_tx_reports(d);
            busy |= self.drain_rx(d);
            if let Some(dp) = self.dps.get(d) {
                busy |= self.observer.drain_events(dp.handles());
            }
        }
        if busy {
            self.observer.note_measurements(&self.inst);
        }
        let now = self.now();
        if self.inst.poll_timeout().is_some_and(|t| t <= now) {
            self.inst.handle_timer(now);
            self.drain_actions();
            self.expire_pending();
            busy = true;
        }
        busy |= self.management();
        busy |= self.check_faults();
        if let Err(e) = self.clock.maintain() {
            self.shell.clock_errors += 1;
            tracing::warn!("clock upkeep: {e}");
        }
        self.refresh_timescale();
        if !self.auth_updates.is_empty() {
            self.push_auth_updates();
        }
        if self.observer.due() {
            self.publish_status();
        }
        if std::time::Instant::now() >= self.next_summary {
            self.next_summary += self.summary_period;
            self.summary();
        }
        if !busy {
            let until = self
                .inst
                .poll_timeout()
                .map(|t| Duration::from_nanos(t.as_nanos().saturating_sub(self.now().as_nanos())))
                .unwrap_or(MAX_IDLE_SLEEP);
            let d = until.min(MAX_IDLE_SLEEP);
            if !d.is_zero() {
                std::thread::sleep(d);
            }
        }
    }

    /// Publishes a status snapshot (`xptp status`, metrics).
    fn publish_status(&self) {
        let dps: Vec<&Datapath> = self.dps.iter().collect();
        let security = self.security_snapshot();
        self.observer.publish(&Sources {
            cfg: &self.cfg,
            clock: &self.clock,
            nets: &self.nets,
            dps: &dps,
            inst: Some(&self.inst),
            freq_ppb: self.freq_ppb,
            timestamp_detail: &self.timestamp_source,
            shell: self.shell,
            management: Some(self.uds.counters()),
            network_management: Some(&self.net_mgmt),
            security: Some(&security),
            tc_link_delay_ns: Vec::new(),
        });
    }

    /// Answers a Management frame that arrived on port index `idx` (`pmc -2/-4/-6`), when
    /// `network_management` is on; GET only (see [`crate::mgmt::network`]). Never hands the
    /// frame to the core.
    fn network_management(&mut self, idx: usize, frame: &[u8]) {
        let Some(net) = self.nets.get(idx) else {
            return;
        };
        let ingress = IngressPort {
            port_number: idx as u16 + 1,
            mac: net.mac,
            ipv4: net.ipv4,
            ipv6: net.ipv6,
        };
        let view = InstanceView {
            inst: &self.inst,
            nets: &self.nets,
            cfg: &self.cfg,
            sync_uncertain: self.sync_uncertain,
        };
        let out = handle_network_management(frame, &ingress, &view, self.cfg.network_management);
        self.net_mgmt.note(&out);
        if matches!(out.ignored, Some(NetworkIgnored::Disabled))
            && self.net_mgmt.ignored.get("disabled") == Some(&1)
        {
            tracing::info!(
                port = idx + 1,
                "management request over the network ignored: network_management is off (set network_management 1 to answer GETs from pmc -2/-4/-6); further ones are only counted"
            );
        }
        if out.refused {
            tracing::info!(
                port = idx + 1,
                "management SET/COMMAND over the network refused (NOT_SUPPORTED): use pmc -u on the daemon's host"
            );
        }
        for f in out.frames {
            let sent = FrameBuf::from_slice(&f)
                .ok()
                .is_some_and(|fb| self.enqueue(idx, fb, None));
            if sent {
                self.net_mgmt.responses_sent += 1;
            } else {
                self.net_mgmt.responses_dropped += 1;
            }
        }
    }

    /// Answers pmc over the UNIX sockets; applies SETs before answering what queued behind.
    fn management(&mut self) -> bool {
        let mut any = false;
        // Bounded: the server stops after each SET so later GETs see it applied.
        for _ in 0..16 {
            let view = InstanceView {
                inst: &self.inst,
                nets: &self.nets,
                cfg: &self.cfg,
                sync_uncertain: self.sync_uncertain,
            };
            let cmds = self.uds.poll(&view);
            if cmds.is_empty() {
                break;
            }
            any = true;
            for c in cmds {
                tracing::info!(command = ?c, "management SET applied");
                let now = self.now();
                match c {
                    ManagementCommand::SetPriority1(v) => {
                        self.inst.set_priorities(now, Some(v), None)
                    }
                    ManagementCommand::SetPriority2(v) => {
                        self.inst.set_priorities(now, None, Some(v))
                    }
                    ManagementCommand::SetSyncUncertain(s) => self.sync_uncertain = s,
                }
                self.drain_actions();
            }
        }
        any
    }

    fn drain_rx(&mut self, d: usize) -> bool {
        let mut any = false;
        for _ in 0..RX_BATCH {
            let Some(m) = self.dps.get(d).and_then(|dp| dp.link().rx_up.pop()) else {
                break;
            };
            any = true;
            let idx = usize::from(m.port);
            let Some(net) = self.nets.get(idx) else {
                self.shell.rx_unknown_port += 1;
                continue;
            };
            let (payload, source) = match transport::accept_from(net, m.frame.as_slice()) {
                Ok((p, _)) if is_management(p) => {
                    self.network_management(idx, m.frame.as_slice());
                    continue;
                }
                Ok(p) => p,
                Err(RxReject::Unparseable) => {
                    self.shell.rx_unparseable += 1;
                    continue;
                }
                Err(RxReject::WrongTransport) => {
                    self.shell.rx_wrong_transport += 1;
                    continue;
                }
            };
            let (ts, from_ingress) = self.clock.rx_timestamp(&m.ts);
            if !from_ingress {
                self.shell.rx_worker_timestamp += 1;
            }
            let latency = self
                .cfg
                .ports
                .get(idx)
                .map(|(_, p)| i128::from(p.ingress_latency_ns))
                .unwrap_or(0);
            let now = self.now();
            self.inst
                .handle_message_from(now, idx as u16 + 1, payload, ts - latency, Some(source));
            self.drain_actions();
        }
        any
    }

    fn drain_tx_reports(&mut self, d: usize) -> bool {
        let mut any = false;
        while let Some(r) = self.dps.get(d).and_then(|dp| dp.link().tx_reports_up.pop()) {
            any = true;
            if r.token.0 & NO_TS != 0 {
                if matches!(r.outcome, TxOutcome::Dropped(_)) {
                    self.shell.tx_dropped += 1;
                }
                continue;
            }
            let Some((tok, _)) = self.pending.remove(&r.token.0) else {
                self.shell.tx_unknown_report += 1;
                continue;
            };
            match r.outcome {
                TxOutcome::Sent { sw_tai_ns, hw_ns } => {
                    let latency = self
                        .cfg
                        .ports
                        .get(usize::from(r.port))
                        .map(|(_, p)| i128::from(p.egress_latency_ns))
                        .unwrap_or(0);
                    let ts = self.clock.tx_timestamp(sw_tai_ns, hw_ns) + latency;
                    self.inst.handle_tx_timestamp(tok, ts);
                    self.drain_actions();
                }
                TxOutcome::Dropped(why) => {
                    self.shell.tx_dropped += 1;
                    tracing::debug!(port = r.port + 1, "transmit dropped: {why}");
                }
            }
        }
        any
    }

    fn expire_pending(&mut self) {
        let before = self.pending.len();
        self.pending
            .retain(|_, (_, at)| at.elapsed() < Duration::from_secs(1));
        self.shell.tx_report_lost += (before - self.pending.len()) as u64;
    }

    fn drain_actions(&mut self) {
        self.alarms.drain(&mut self.inst);
        while let Some(a) = self.inst.poll_action() {
            match a {
                Action::Send {
                    port,
                    data,
                    token,
                    one_step,
                    ..
                } => {
                    if one_step.is_some() {
                        // Refused at start-up; a message asking for it would carry an estimate.
                        tracing::debug!(port, "one-step message sent without egress insertion");
                    }
                    self.send(port, &data, token);
                }
                Action::AdjustClock(adj) => self.adjust(adj),
                Action::PortStateChanged(sc) => {
                    tracing::info!(
                        port = sc.port,
                        from = %sc.from,
                        to = %sc.to,
                        "{sc}"
                    );
                    let idx = usize::from(sc.port.saturating_sub(1));
                    if let Some(dp) = self.port_dp.get(idx).and_then(|&g| self.dps.get(g)) {
                        let u = ConfigUpdate::Master {
                            port: idx as PortId,
                            master: sc.to == PortState::Master,
                        };
                        if !dp.handles().updates.push(u) {
                            self.shell.fastpath_update_dropped += 1;
                        }
                    }
                    if sc.to == PortState::Uncalibrated {
                        let gm = self.inst.parent_ds().grandmaster_identity;
                        tracing::info!(grandmaster = %gm, "selected best master clock {gm}");
                    }
                }
            }
        }
    }

    fn send(&mut self, port: u16, data: &[u8], token: Option<TxToken>) {
        let idx = usize::from(port.saturating_sub(1));
        let Some(net) = self.nets.get(idx) else {
            self.shell.tx_framing_failed += 1;
            return;
        };
        let frame = match net.frame(data) {
            Ok(f) => f,
            Err(e) => {
                self.shell.tx_framing_failed += 1;
                tracing::warn!(port, "cannot frame a message from the core: {e}");
                return;
            }
        };
        self.enqueue(idx, frame, token);
    }

    /// Hands a complete frame to port index `idx`'s worker; false when it was not queued
    /// (counted in `tx_lane_full` or `tx_framing_failed`).
    fn enqueue(&mut self, idx: usize, frame: FrameBuf, token: Option<TxToken>) -> bool {
        let Some(dp) = self.port_dp.get(idx).and_then(|&g| self.dps.get(g)) else {
            self.shell.tx_framing_failed += 1;
            return false;
        };
        let id = match &token {
            Some(t) => t.id() & !(FAST_TOKEN | NO_TS),
            None => {
                self.next_plain = self.next_plain.wrapping_add(1);
                NO_TS | (self.next_plain & !(FAST_TOKEN | NO_TS))
            }
        };
        let req = TxRequest {
            port: idx as PortId,
            token: DpToken(id),
            frame,
        };
        if !dp.link().send_down(req) {
            self.shell.tx_lane_full += 1;
            return false;
        }
        if let Some(t) = token {
            self.pending.insert(id, (t, std::time::Instant::now()));
        }
        true
    }

    fn adjust(&mut self, adj: ClockAdjustment) {
        match self.clock.apply(adj) {
            Ok(f) => {
                if let Some(f) = f {
                    self.freq_ppb = f;
                }
                if let ClockAdjustment::Step { offset_ns } = adj {
                    tracing::info!(
                        clock = self.clock.name(),
                        step_ns = offset_ns,
                        "clock stepped by {offset_ns} ns"
                    );
                }
                self.refresh_timescale();
            }
            Err(e) => {
                self.shell.clock_errors += 1;
                tracing::error!("adjusting {}: {e}", self.clock.name());
            }
        }
    }

    /// Keeps the fast path's CLOCK_TAI → clock offset within tolerance.
    fn refresh_timescale(&mut self) {
        let off = self.clock.minus_tai_now();
        if (off - self.pushed_tai_to_ptp).abs() <= TAI_TO_PTP_TOLERANCE_NS {
            return;
        }
        self.pushed_tai_to_ptp = off;
        for dp in &self.dps {
            if !dp.handles().updates.push(ConfigUpdate::TaiToPtp(off)) {
                self.shell.fastpath_update_dropped += 1;
            }
        }
    }

    /// ptp4l's line, once per summary interval per slave port with a new measurement.
    fn summary(&mut self) {
        let servo = match self.inst.servo_state() {
            ServoState::Unlocked => 0,
            ServoState::Jump => 1,
            ServoState::Locked => 2,
        };
        let true_error = self.clock.true_error_ns();
        for p in 1..=self.nets.len() as u16 {
            let Some(m) = self.inst.last_measurement(p) else {
                continue;
            };
            let key = Some((m.sequence_id, m.t2));
            let slot = self.last_logged.get_mut(usize::from(p - 1));
            match slot {
                Some(s) if *s != key => *s = key,
                _ => continue,
            }
            let offset = m.offset_from_master.nanos_round();
            let delay = m.mean_delay.nanos_round();
            let freq = self.freq_ppb;
            match true_error {
                Some(te) => tracing::info!(
                    port = p,
                    offset_ns = offset,
                    servo,
                    freq_ppb = freq.round() as i64,
                    path_delay_ns = delay,
                    true_error_ns = te,
                    "master offset {offset} s{servo} freq {freq:+.0} path delay {delay}"
                ),
                None => tracing::info!(
                    port = p,
                    offset_ns = offset,
                    servo,
                    freq_ppb = freq.round() as i64,
                    path_delay_ns = delay,
                    "master offset {offset} s{servo} freq {freq:+.0} path delay {delay}"
                ),
            }
        }
    }

    fn shutdown(mut self, timestamp_source: String) -> RunReport {
        let true_error_ns = self.clock.true_error_ns();
        for dp in &mut self.dps {
            let w = dp.worker_counters();
            let fp = dp.handles().counters.clone();
            let xdp = dp.xdp_counters();
            dp.stop_in_place();
            tracing::info!(
                worker = ?w,
                fastpath_delay_resp = fp.delay_resp_sent.get(),
                fastpath_pdelay_resp = fp.pdelay_resp_sent.get(),
                fastpath_drops = ?fp.drop_summary(),
                xdp_steered = ?xdp.iter().map(|c| c.as_ref().map(|c| c.steered())).collect::<Vec<_>>(),
                up_lane_dropped = dp.link().rx_up.dropped(),
                "datapath stopped: XDP detached, AF_XDP rings freed"
            );
        }
        for p in 1..=self.nets.len() as u16 {
            if let (Some(s), Some(c)) = (self.inst.port_state(p), self.inst.port_counters(p)) {
                tracing::info!(
                    port = p,
                    state = %s,
                    rejected = c.rejected_total(),
                    counters = ?c,
                    "final port counters"
                );
            }
        }
        let sec = self.security_snapshot();
        for r in &sec.rogue_masters {
            tracing::warn!(
                port = r.port,
                source = %r.source,
                address = ?r.address.map(|a| a.to_string()),
                dropped = r.total(),
                "rogue master seen on port {}: {} (grandmaster {:?}, priority1 {:?}) from {}, {} frames dropped",
                r.port,
                r.source,
                r.grandmaster.map(|g| g.to_string()),
                r.priority1,
                r.address.map(|a| a.to_string()).unwrap_or_else(|| "?".into()),
                r.total()
            );
        }
        tracing::info!(
            shell = ?self.shell,
            alarms = ?sec.counts,
            management = ?self.uds.counters(),
            network_management = ?self.net_mgmt,
            true_error_ns = ?true_error_ns,
            "xptp run stopped"
        );
        RunReport {
            timestamp_source,
            shell: self.shell,
            true_error_ns,
        }
    }
}
