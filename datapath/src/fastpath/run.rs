//! Stands the fast path up on real interfaces: one XDP steering program and one AF_XDP socket
//! per interface (queue 0), one worker owning all sockets with [`FastPath`] as its hook, and a
//! small control thread that drains what goes up to control and, for a P2P transparent clock,
//! measures each port's meanLinkDelay with its own Pdelay_Req (IEEE 1588-2019 11.4) and sends
//! it to the worker as [`ConfigUpdate::MeanLinkDelay`].
//!
//! Management messages the worker copies up ([`FastPathConfig::tc_management_to_control`])
//! are passed on through [`Running::management_up`] for the daemon to answer, and its answers
//! go down with [`Running::send_management`].
//!
//! Minimal on purpose: the `xptp run` daemon replaces this with the full control plane. Used by
//! `examples/xptp_tc.rs` and the netns integration tests.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::config::{ConfigUpdate, FastPathConfig, PortConfig, TcMode, MAX_PORTS};
use super::engine::{FastPath, FastPathHandles};
use crate::delay_filter::{DelayFilter, DelayFilterKind, NEGATIVE_DELAY_TOLERANCE_NS};
use crate::handoff::{
    FrameBuf, Lane, Link, LinkConfig, PortId, RxMessage, TxOutcome, TxRequest, TxToken,
};
use crate::wire::frame::{self, Transport};
use crate::wire::{
    Body, ClockIdentity, HeaderRepr, Message, MessageRepr, MessageType, PortIdentity, TimeInterval,
    Timestamp,
};
use crate::worker::{self, Counter, CounterSnapshot, IdlePolicy, WorkerConfig, WorkerHandle};
use crate::xsk::{XskConfig, XskError, XskSocket};

/// Why the fast path could not be started.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Attaching the XDP program failed.
    #[error("attaching XDP steering to {ifname}: {source}")]
    Xdp {
        /// Interface.
        ifname: String,
        /// Cause.
        #[source]
        source: xptp_ebpf::LoadError,
    },
    /// Opening the AF_XDP socket failed.
    #[error("opening the AF_XDP socket on {ifname}: {source}")]
    Xsk {
        /// Interface.
        ifname: String,
        /// Cause.
        #[source]
        source: XskError,
    },
    /// Reading the interface's MAC address failed.
    #[error("reading the MAC address of {ifname} (/sys/class/net/{ifname}/address): {source}")]
    Mac {
        /// Interface.
        ifname: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Between 1 and [`MAX_PORTS`] interfaces are supported.
    #[error("{0} interfaces given: between 1 and {MAX_PORTS} are supported")]
    PortCount(usize),
    /// The worker thread could not be started.
    #[error("starting the worker thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Interfaces, in port order (port id = index, portNumber = index + 1).
    pub ifaces: Vec<String>,
    /// Configuration; `ports[i].mac` and `clock_identity` are filled from the interfaces when
    /// left zero.
    pub cfg: FastPathConfig,
    /// Worker core.
    pub core: Option<usize>,
    /// Worker idle policy.
    pub idle: IdlePolicy,
    /// SCHED_FIFO priority of the worker thread ([`WorkerConfig::rt_priority`]).
    pub rt_priority: Option<u8>,
    /// For P2P ports: send Pdelay_Req at 2^this seconds and feed meanLinkDelay to the worker.
    pub log_min_pdelay_req_interval: Option<i8>,
    /// The filter over those link-delay samples (linuxptp `delay_filter`, default moving
    /// median) ...
    pub delay_filter: DelayFilterKind,
    /// ... and its window (`delay_filter_length`, default 10, as ptp4l's).
    pub delay_filter_length: usize,
    /// Start the built-in minimal control thread (true), or leave the worker's [`Link`] to
    /// the caller ([`Running::link`]), who then drains what goes up to control and sends TX
    /// requests itself (tests that put a `PtpInstance` behind the fast path).
    pub control_thread: bool,
}

impl RunOptions {
    /// Options for `ifaces` with `cfg`, busy-polling unpinned, no link-delay measurement.
    pub fn new(ifaces: &[&str], cfg: FastPathConfig) -> Self {
        RunOptions {
            ifaces: ifaces.iter().map(|s| s.to_string()).collect(),
            cfg,
            core: None,
            idle: IdlePolicy::YieldAfter(64),
            rt_priority: None,
            log_min_pdelay_req_interval: None,
            delay_filter: DelayFilterKind::MovingMedian,
            delay_filter_length: 10,
            control_thread: true,
        }
    }
}

/// `CLOCK_REALTIME − CLOCK_TAI` in ns: the timescale offset that makes the fast path's
/// timestamps comparable with software-timestamping peers (linuxptp stamps in CLOCK_REALTIME).
pub fn realtime_minus_tai_ns() -> i64 {
    -crate::xsk::tai_minus_realtime_ns()
}

fn read_mac(ifname: &str) -> Result<[u8; 6], RunError> {
    let err = |source| RunError::Mac {
        ifname: ifname.to_owned(),
        source,
    };
    let s = std::fs::read_to_string(format!("/sys/class/net/{ifname}/address")).map_err(err)?;
    let mut mac = [0u8; 6];
    let mut n = 0;
    for (i, part) in s.trim().split(':').enumerate() {
        let v = u8::from_str_radix(part, 16)
            .map_err(|e| err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        if let Some(m) = mac.get_mut(i) {
            *m = v;
            n += 1;
        }
    }
    if n != 6 {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not a MAC address: {s:?}"),
        )));
    }
    Ok(mac)
}

/// Where one interface goes: its port id (index into [`FastPathConfig::ports`]) and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortIface {
    /// The port id (the worker's socket port, `FastPathConfig::ports` index).
    pub port: PortId,
    /// The interface.
    pub ifname: String,
}

/// How to stand one worker's datapath up (no control thread): [`stand_up`].
#[derive(Clone, Debug)]
pub struct DatapathOptions {
    /// The interfaces this worker serves, with their port ids.
    pub ports: Vec<PortIface>,
    /// Configuration; for each served port, `mac` and `port_number` are filled from the
    /// interface / port id when left zero, a disabled slot is enabled, and `clock_identity`
    /// is derived from the first port's MAC when left zero.
    pub cfg: FastPathConfig,
    /// Worker core.
    pub core: Option<usize>,
    /// Worker idle policy.
    pub idle: IdlePolicy,
    /// XDP attach mode.
    pub attach_mode: xptp_ebpf::AttachMode,
    /// Try the NIC hardware-RX-timestamp build of the XDP program first.
    pub want_hw_ts: bool,
    /// UMEM and ring sizes of each socket.
    pub xsk: XskConfig,
    /// Worker thread name.
    pub name: String,
    /// The worker thread drops all its capabilities once started (see
    /// [`WorkerConfig::drop_capabilities`]); the daemon sets it.
    pub drop_worker_capabilities: bool,
    /// SCHED_FIFO priority of the worker thread ([`WorkerConfig::rt_priority`]).
    pub rt_priority: Option<u8>,
}

impl DatapathOptions {
    /// Options for `ifaces` (port id = index) with `cfg`: native XDP, busy-polling unpinned
    /// worker yielding when idle, 2048-frame UMEMs.
    pub fn new(ifaces: &[String], cfg: FastPathConfig) -> Self {
        DatapathOptions {
            ports: ifaces
                .iter()
                .enumerate()
                .map(|(i, n)| PortIface {
                    port: i as PortId,
                    ifname: n.clone(),
                })
                .collect(),
            cfg,
            core: None,
            idle: IdlePolicy::YieldAfter(64),
            attach_mode: xptp_ebpf::AttachMode::Native,
            want_hw_ts: false,
            xsk: XskConfig {
                frame_count: 2048,
                ring_size: 512,
                ..XskConfig::default()
            },
            name: "xptp-fastpath".into(),
            drop_worker_capabilities: false,
            rt_priority: None,
        }
    }
}

/// One worker's datapath: XDP steering on its interfaces, one AF_XDP socket per interface
/// (queue 0), the worker running [`FastPath`], and the control-side ends (the [`Link`] lanes
/// and the [`FastPathHandles`]). Whoever holds it drives control; dropping it stops the worker
/// (freeing the rings) and detaches XDP.
#[derive(Debug)]
pub struct Datapath {
    link: Arc<Link>,
    handles: FastPathHandles,
    cfg: FastPathConfig,
    worker: Option<WorkerHandle>,
    steering: Vec<xptp_ebpf::XdpSteering>,
    sockets: Vec<crate::xsk::XskStatus>,
    ports: Vec<PortIface>,
}

impl Datapath {
    /// The lanes to and from the worker.
    pub fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// The control-side handles (updates, counters, events, requester reports).
    pub fn handles(&self) -> &FastPathHandles {
        &self.handles
    }

    /// The configuration the worker started with (MACs and clock identity filled in).
    pub fn config(&self) -> &FastPathConfig {
        &self.cfg
    }

    /// The served ports.
    pub fn ports(&self) -> &[PortIface] {
        &self.ports
    }

    /// Whether the worker serves `port`.
    pub fn serves(&self, port: PortId) -> bool {
        self.ports.iter().any(|p| p.port == port)
    }

    /// The worker's counters.
    pub fn worker_counters(&self) -> CounterSnapshot {
        self.worker
            .as_ref()
            .map(|w| w.counters().snapshot())
            .unwrap_or_default()
    }

    /// The worker's pass counter (its heartbeat: it grows on every pass, idle or not).
    pub fn worker_loops(&self) -> u64 {
        self.worker.as_ref().map_or(0, |w| w.counters().loops.get())
    }

    /// Whether the worker thread has ended (stopped, or died).
    pub fn worker_finished(&self) -> bool {
        self.worker.as_ref().is_none_or(|w| w.is_finished())
    }

    /// Test aid: makes the worker stop making passes (see [`WorkerHandle::test_stall`]).
    pub fn test_stall_worker(&self) {
        if let Some(w) = &self.worker {
            w.test_stall();
        }
    }

    /// Test aid: makes the worker thread return (see [`WorkerHandle::test_exit`]).
    pub fn test_exit_worker(&self) {
        if let Some(w) = &self.worker {
            w.test_exit();
        }
    }

    /// Whether the worker thread is pinned to its core.
    pub fn pinned(&self) -> bool {
        self.worker.as_ref().is_some_and(|w| w.pinned())
    }

    /// The worker's real-time priority, or why it has none (`None`: not asked for).
    pub fn realtime(&self) -> Option<Result<u8, String>> {
        self.worker.as_ref().and_then(|w| w.realtime().cloned())
    }

    /// What each XDP attach ended up as, in port order.
    pub fn attach_status(&self) -> Vec<xptp_ebpf::AttachStatus> {
        self.steering.iter().map(|s| s.status().clone()).collect()
    }

    /// How each AF_XDP socket is bound, in port order.
    pub fn socket_status(&self) -> &[crate::xsk::XskStatus] {
        &self.sockets
    }

    /// XDP program counters of every interface, in port order.
    pub fn xdp_counters(&self) -> Vec<Option<xptp_ebpf::Counters>> {
        self.steering.iter().map(|s| s.counters().ok()).collect()
    }

    /// Stops the worker (its sockets and rings are freed) and detaches XDP (idempotent).
    pub fn stop_in_place(&mut self) {
        if let Some(w) = self.worker.take() {
            drop(w.stop());
        }
        for s in self.steering.drain(..) {
            s.detach();
        }
    }
}

impl Drop for Datapath {
    fn drop(&mut self) {
        self.stop_in_place();
    }
}

/// Attaches XDP steering and opens one AF_XDP socket (queue 0) per interface, then spawns the
/// worker with [`FastPath`] as its hook. No control thread: see [`start`] for a minimal one,
/// and the daemon for the full control plane.
pub fn stand_up(opts: DatapathOptions) -> Result<Datapath, RunError> {
    let n = opts.ports.len();
    if n == 0 || n > MAX_PORTS || opts.ports.iter().any(|p| usize::from(p.port) >= MAX_PORTS) {
        return Err(RunError::PortCount(n));
    }
    let mut cfg = opts.cfg;
    let mut sockets = Vec::with_capacity(n);
    let mut statuses = Vec::with_capacity(n);
    let mut steering = Vec::with_capacity(n);
    for (k, pi) in opts.ports.iter().enumerate() {
        let (i, ifname) = (usize::from(pi.port), &pi.ifname);
        let given = cfg.ports.get(i).map(|p| p.mac).unwrap_or_default();
        // /sys shows the namespace it was mounted in: callers that moved a thread into another
        // namespace pass the MAC instead.
        let mac = if given == [0; 6] {
            read_mac(ifname)?
        } else {
            given
        };
        if let Some(p) = cfg.ports.get_mut(i) {
            if !p.enabled {
                *p = PortConfig::new(i as u16 + 1, mac);
            }
            if p.mac == [0; 6] {
                p.mac = mac;
            }
            if p.port_number == 0 {
                p.port_number = i as u16 + 1;
            }
        }
        if k == 0 && cfg.clock_identity == ClockIdentity([0; 8]) {
            cfg.clock_identity = ClockIdentity::from_mac(mac);
        }
        let st = xptp_ebpf::XdpSteering::attach(ifname, opts.attach_mode, opts.want_hw_ts)
            .map_err(|source| RunError::Xdp {
                ifname: ifname.clone(),
                source,
            })?;
        let mut sock =
            XskSocket::open(pi.port, ifname, 0, &opts.xsk).map_err(|source| RunError::Xsk {
                ifname: ifname.clone(),
                source,
            })?;
        if let Some(t) = st.wire_table() {
            // A transparent clock's frames must not wait for the kernel's stamping work; an
            // ordinary port keeps it, as its software-stamping peers do (see
            // `StampSocket::set_wire_table`).
            let tc = cfg.ports.get(i).is_some_and(|p| p.tc);
            if !sock.set_wire_table(t, !tc) {
                tracing::warn!(
                    ifname = %ifname,
                    "veth wire stamps on RX only: no kernel-timestamp socket for TX, so TX \
                     times are taken at the kick, a different point"
                );
            }
        }
        st.register_xsk(0, sock.as_fd())
            .map_err(|source| RunError::Xdp {
                ifname: ifname.clone(),
                source,
            })?;
        statuses.push(sock.status().clone());
        sockets.push(sock);
        steering.push(st);
    }
    let (fp, handles) = FastPath::new(cfg);
    let link = Arc::new(Link::new(LinkConfig::default()));
    let worker = worker::spawn(
        &opts.name,
        WorkerConfig {
            core: opts.core,
            idle: opts.idle,
            drop_capabilities: opts.drop_worker_capabilities,
            rt_priority: opts.rt_priority,
        },
        sockets,
        link.clone(),
        fp,
    )
    .map_err(RunError::Spawn)?;
    Ok(Datapath {
        link,
        handles,
        cfg,
        worker: Some(worker),
        steering,
        sockets: statuses,
        ports: opts.ports,
    })
}

/// Token bit of the management answers sent with [`Running::send_management`]; their TX
/// reports are not peer-delay timestamps.
pub const MANAGEMENT_TOKEN: u64 = 1 << 61;
/// Management messages waiting for the daemon (more are dropped and counted by the lane).
const MANAGEMENT_LANE: usize = 64;

/// A running fast path with its minimal control thread.
#[derive(Debug)]
pub struct Running {
    stop: Arc<AtomicBool>,
    management: Arc<Lane<RxMessage>>,
    control: Option<JoinHandle<()>>,
    dp: Option<Datapath>,
    handles: FastPathHandles,
    link_delays: Arc<[LinkDelay; MAX_PORTS]>,
    link: Arc<Link>,
}

impl Running {
    /// The worker's lanes to and from control. With [`RunOptions::control_thread`] set, the
    /// built-in control thread drains them too.
    pub fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// The XDP program's counters of every interface (steered, passed by reason).
    pub fn steering_counters(&self) -> Vec<xptp_ebpf::Counters> {
        self.dp
            .as_ref()
            .map(|d| d.xdp_counters().into_iter().flatten().collect())
            .unwrap_or_default()
    }

    /// The control-side handles (updates, counters, events, requester reports).
    pub fn handles(&self) -> &FastPathHandles {
        &self.handles
    }

    /// The datapath (until stopped).
    pub fn datapath(&self) -> Option<&Datapath> {
        self.dp.as_ref()
    }

    /// The worker's counters.
    pub fn worker_counters(&self) -> CounterSnapshot {
        self.dp
            .as_ref()
            .map(Datapath::worker_counters)
            .unwrap_or_default()
    }

    /// Management messages copied up by the worker (see the module docs), for the daemon.
    pub fn management_up(&self) -> &Lane<RxMessage> {
        &self.management
    }

    /// Sends a management answer `frame` out of `port` (no TX timestamp wanted); false when
    /// the lane to the worker is full.
    pub fn send_management(&self, port: PortId, frame: FrameBuf, seq: u64) -> bool {
        self.link.send_down(TxRequest {
            port,
            token: TxToken(MANAGEMENT_TOKEN | (seq & (MANAGEMENT_TOKEN - 1))),
            frame,
        })
    }

    /// The filtered meanLinkDelay of `port` (ns), once link delay is measured there. It may
    /// be slightly negative on a link without propagation delay (see
    /// [`NEGATIVE_DELAY_TOLERANCE_NS`]).
    pub fn mean_link_delay_ns(&self, port: PortId) -> Option<i64> {
        self.link_delays
            .get(usize::from(port))
            .map(|c| c.filtered.load(Ordering::Relaxed))
            .filter(|v| *v != LinkDelay::UNKNOWN)
    }

    /// Link-delay samples of `port` rejected as broken since start: below
    /// −[`NEGATIVE_DELAY_TOLERANCE_NS`] or above 1 s.
    pub fn link_delay_rejected(&self, port: PortId) -> u64 {
        self.link_delays
            .get(usize::from(port))
            .map_or(0, |c| c.rejected.get())
    }

    /// XDP program counters of every interface: (steered, seen).
    pub fn xdp_counters(&self) -> Vec<(u64, u64)> {
        self.dp
            .as_ref()
            .map(|d| {
                d.xdp_counters()
                    .into_iter()
                    .flatten()
                    .map(|c| (c.steered(), c.seen()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops the worker and the control thread and detaches XDP.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// [`Self::stop`] through a mutable reference (idempotent).
    pub fn stop_in_place(&mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(c) = self.control.take() {
            let _ = c.join();
        }
        if let Some(mut d) = self.dp.take() {
            d.stop_in_place();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the fast path as configured, with the minimal control thread (P2P link delay).
pub fn start(opts: RunOptions) -> Result<Running, RunError> {
    let mut d = DatapathOptions::new(&opts.ifaces, opts.cfg);
    d.core = opts.core;
    d.idle = opts.idle;
    d.rt_priority = opts.rt_priority;
    let dp = stand_up(d)?;
    let stop = Arc::new(AtomicBool::new(false));
    let link_delays: Arc<[LinkDelay; MAX_PORTS]> = Arc::new(Default::default());
    let link = dp.link().clone();
    let management = Arc::new(Lane::new(MANAGEMENT_LANE));
    let control = if opts.control_thread {
        let up = management.clone();
        let stop = stop.clone();
        let link = link.clone();
        let handles = dp.handles().clone();
        let cfg = *dp.config();
        let delays = link_delays.clone();
        let measure = LinkDelayOptions {
            log_interval: opts.log_min_pdelay_req_interval,
            filter: opts.delay_filter,
            filter_length: opts.delay_filter_length,
        };
        Some(
            std::thread::Builder::new()
                .name("xptp-fp-control".into())
                .spawn(move || control_loop(&stop, &link, &handles, cfg, measure, &delays, &up))
                .map_err(RunError::Spawn)?,
        )
    } else {
        None
    };
    Ok(Running {
        stop,
        management,
        control,
        handles: dp.handles().clone(),
        dp: Some(dp),
        link_delays,
        link,
    })
}

/// A transparent clock over `ifaces` in `mode` (E2E or P2P), two-step Pdelay responder on
/// every port for P2P, link delay measured at 2^-2 s.
pub fn run_tc(ifaces: &[&str], mode: TcMode) -> Result<Running, RunError> {
    let mut cfg = FastPathConfig {
        tc_mode: mode,
        tai_to_ptp_ns: realtime_minus_tai_ns(),
        ..FastPathConfig::default()
    };
    for (i, p) in cfg.ports.iter_mut().enumerate().take(ifaces.len()) {
        *p = PortConfig {
            tc: true,
            p2p: mode == TcMode::P2p,
            ..PortConfig::new(i as u16 + 1, [0; 6])
        };
    }
    let mut o = RunOptions::new(ifaces, cfg);
    if mode == TcMode::P2p {
        o.log_min_pdelay_req_interval = Some(-2);
    }
    start(o)
}

/// A Delay_Req responder (port MASTER) on `iface`, with `cfg` (port 0 is forced MASTER).
pub fn run_master_responder(iface: &str, mut cfg: FastPathConfig) -> Result<Running, RunError> {
    if let Some(p) = cfg.ports.get_mut(0) {
        if !p.enabled {
            *p = PortConfig::new(1, [0; 6]);
        }
        p.master = true;
    }
    start(RunOptions::new(&[iface], cfg))
}

/// One P2P port's meanLinkDelay, as the control thread measures it.
#[derive(Debug)]
struct LinkDelay {
    /// The filtered value (ns), [`Self::UNKNOWN`] before the first sample.
    filtered: AtomicI64,
    /// Samples rejected as broken.
    rejected: Counter,
}

impl LinkDelay {
    const UNKNOWN: i64 = i64::MIN;
}

impl Default for LinkDelay {
    fn default() -> Self {
        LinkDelay {
            filtered: AtomicI64::new(Self::UNKNOWN),
            rejected: Counter::default(),
        }
    }
}

/// How the control thread measures link delay.
#[derive(Clone, Copy, Debug)]
struct LinkDelayOptions {
    /// Pdelay_Req every 2^this seconds; `None`: not measured.
    log_interval: Option<i8>,
    filter: DelayFilterKind,
    filter_length: usize,
}

/// One outstanding peer-delay measurement.
#[derive(Clone, Copy, Debug, Default)]
struct PdelayProbe {
    seq: u16,
    t1: Option<u64>,
    t2_t3_c: Option<(i128, TimeInterval)>,
    t4: Option<u64>,
    t3_c: Option<(i128, TimeInterval)>,
}

fn control_loop(
    stop: &AtomicBool,
    link: &Link,
    h: &FastPathHandles,
    cfg: FastPathConfig,
    measure: LinkDelayOptions,
    delays: &[LinkDelay; MAX_PORTS],
    management: &Lane<RxMessage>,
) {
    let period = measure
        .log_interval
        .map(|l| Duration::from_secs_f64(2f64.powi(i32::from(l))));
    let mut probes = [PdelayProbe::default(); MAX_PORTS];
    let mut filt: Vec<DelayFilter> = (0..MAX_PORTS)
        .map(|_| DelayFilter::new(measure.filter, measure.filter_length))
        .collect();
    let mut next = std::time::Instant::now();
    let mut seq: u16 = 0;
    // Acquire: pairs with the Release store in Running::shutdown.
    while !stop.load(Ordering::Acquire) {
        let mut idle = true;
        if let Some(p) = period {
            if std::time::Instant::now() >= next {
                next += p;
                seq = seq.wrapping_add(1);
                for (i, pc) in cfg.ports.iter().enumerate() {
                    if !(pc.enabled && pc.p2p) {
                        continue;
                    }
                    if let Some(pr) = probes.get_mut(i) {
                        *pr = PdelayProbe {
                            seq,
                            ..PdelayProbe::default()
                        };
                    }
                    if let Ok(f) = pdelay_req_frame(&cfg, pc, seq) {
                        let _ = link.send_down(TxRequest {
                            port: i as PortId,
                            token: TxToken(i as u64),
                            frame: f,
                        });
                    }
                }
            }
        }
        while let Some(r) = link.tx_reports_up.pop() {
            idle = false;
            if r.token.0 & MANAGEMENT_TOKEN != 0 {
                continue;
            }
            if let (TxOutcome::Sent { sw_tai_ns, .. }, Some(pr)) =
                (r.outcome, probes.get_mut(usize::from(r.port)))
            {
                pr.t1 = Some(sw_tai_ns);
            }
        }
        while let Some(m) = link.rx_up.pop() {
            idle = false;
            let port = usize::from(m.port);
            let (Some(pr), Some(pc)) = (probes.get_mut(port), cfg.ports.get(port)) else {
                continue;
            };
            let bytes = m.frame.as_slice();
            let Ok(f) = frame::parse(bytes) else { continue };
            let Ok(msg) = Message::new_checked(f.payload(bytes)) else {
                continue;
            };
            if msg.message_type() == MessageType::Management {
                // Counted by the lane when the daemon does not keep up.
                let _ = management.push(m);
                continue;
            }
            let ours = PortIdentity::new(cfg.clock_identity, pc.port_number);
            if msg.requesting_port_identity() != Some(ours) || msg.sequence_id() != pr.seq {
                continue;
            }
            let ts = msg.timestamp().map(|t| t.to_nanos()).unwrap_or(0);
            match msg.message_type() {
                MessageType::PdelayResp => {
                    pr.t2_t3_c = Some((ts, msg.correction_field()));
                    pr.t4 = m.ts.xdp_tai_ns;
                    if !msg.flags().two_step() {
                        pr.t3_c = Some((ts, TimeInterval::ZERO));
                    }
                }
                MessageType::PdelayRespFollowUp => pr.t3_c = Some((ts, msg.correction_field())),
                _ => continue,
            }
            if let (Some(t1), Some((t2, c1)), Some(t4), Some((t3, c2))) =
                (pr.t1, pr.t2_t3_c, pr.t4, pr.t3_c)
            {
                // IEEE 1588-2019 11.4.2: [(t4 − t1) − (t3 − t2) − corrections] / 2; for a
                // one-step responder t2 = t3 = 0 and the turnaround is in c1.
                let t3 = if msg.flags().two_step() || t3 != 0 {
                    t3
                } else {
                    t2
                };
                let corr = (c1.scaled_i128() + c2.scaled_i128()) >> 16;
                let d = ((i128::from(t4) - i128::from(t1)) - (t3 - t2) - corr) / 2;
                let d = d as i64;
                pr.t1 = None;
                let (Some(f), Some(cell)) = (filt.get_mut(port), delays.get(port)) else {
                    continue;
                };
                if let Some(v) = filter_link_delay(f, d) {
                    cell.filtered.store(v, Ordering::Relaxed);
                    let _ = h.updates.push(ConfigUpdate::MeanLinkDelay {
                        port: port as PortId,
                        delay: TimeInterval::from_nanos_saturating(v),
                    });
                } else {
                    cell.rejected.add(1);
                }
            }
        }
        if idle {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
}

/// Feeds one meanLinkDelay sample `d` (ns) to `f` and gives the filtered value, or `None` when
/// the sample is broken (below −[`NEGATIVE_DELAY_TOLERANCE_NS`], or above 1 s). Negative
/// samples are kept: on a veth or a short link they scatter around zero, and dropping them
/// would bias every corrected Sync by the positive half's mean. The filter is ptp4l's for peer
/// delay (moving median of 10 by default), so that one late Pdelay_Resp moves no correction.
fn filter_link_delay(f: &mut DelayFilter, d: i64) -> Option<i64> {
    (-NEGATIVE_DELAY_TOLERANCE_NS..1_000_000_000)
        .contains(&d)
        .then(|| f.push(d))
}

fn pdelay_req_frame(cfg: &FastPathConfig, pc: &PortConfig, seq: u16) -> Result<FrameBuf, ()> {
    let repr = MessageRepr::new(
        HeaderRepr {
            domain_number: cfg.domain_number,
            source_port_identity: PortIdentity::new(cfg.clock_identity, pc.port_number),
            sequence_id: seq,
            log_message_interval: 0x7f,
            ..HeaderRepr::default()
        },
        Body::PdelayReq {
            origin_timestamp: Timestamp::default(),
        },
    );
    let bytes = frame::build(
        &Transport::l2_multicast(pc.mac, MessageType::PdelayReq),
        &repr,
    )
    .map_err(|_| ())?;
    FrameBuf::from_slice(&bytes).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A veth-like link: samples around 0 (timestamp noise, half of them negative) with a late
    /// Pdelay_Resp every tenth exchange. What a P2P TC adds to each Sync must stay at the
    /// noise's centre; the filter this replaced (negative samples dropped, then an average
    /// with gain 1/4) gave +120..+155 ns before the first late response and +2.1..+8.3 µs
    /// after, and every corrected Sync, so the slave's offset, moved with it.
    #[test]
    fn link_delay_keeps_negative_samples_and_ignores_late_responses() {
        let mut f = DelayFilter::new(DelayFilterKind::MovingMedian, 10);
        let noise = [-310, 120, -40, 260, -220, 30, -150, 200, -90];
        let mut last = None;
        for i in 0..40 {
            let d = if i % 10 == 9 { 25_000 } else { noise[i % 9] };
            last = filter_link_delay(&mut f, d).or(last);
        }
        let v = last.expect("samples accepted");
        assert!(
            v.abs() < 100,
            "filtered link delay {v} ns, noise centred on 0"
        );
        // A broken sample is refused and leaves the filter alone.
        assert_eq!(filter_link_delay(&mut f, -50_000), None);
        assert_eq!(filter_link_delay(&mut f, 2_000_000_000), None);
        assert_eq!(f.value(), Some(v));
    }
}
