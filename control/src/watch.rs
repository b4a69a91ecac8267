//! `xptp watch`: the datapath made visible. It attaches the XDP steering program and one AF_XDP
//! socket to an interface, runs a datapath worker, and prints every PTP frame that arrives through
//! the kernel bypass with its XDP-ingress CLOCK_TAI timestamp, then a summary of what was steered,
//! what reached control, what was dropped and why, and how long frames took from XDP ingress to
//! the control thread.
//!
//! It owns no protocol logic: frames are decoded with [`crate::decode::Decoder`] and dropped after
//! printing. While it runs, PTP on that interface (and queue) goes to xptp, not to the kernel, so
//! a ptp4l on the same interface stops hearing PTP; every other frame passes untouched.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use xptp_datapath::handoff::{Link, LinkConfig};
use xptp_datapath::worker::{self, CounterSnapshot, IdlePolicy, ToControl, WorkerConfig};
use xptp_datapath::xsk::{self, XskConfig, XskError, XskSocket};
use xptp_ebpf::{preflight, AttachMode, AttachStatus, Counters, LoadError, XdpSteering};

use crate::decode::{DecodeError, Decoder, Format, Summary};

/// What to watch and for how long.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Interface to attach to.
    pub ifname: String,
    /// RX queue to bind the AF_XDP socket to.
    pub queue: u32,
    /// XDP attach mode.
    pub mode: AttachMode,
    /// Try the NIC hardware RX timestamp build first.
    pub hw_timestamps: bool,
    /// Core to pin the worker to.
    pub core: Option<usize>,
    /// Stop after this many PTP frames.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Output format of the per-frame lines.
    pub format: Format,
}

/// What a watch saw.
#[derive(Debug)]
pub struct WatchReport {
    /// Which XDP build is attached, in which mode, and why hardware timestamps are not in use.
    pub attach: AttachStatus,
    /// AF_XDP bind mode (zero-copy or copy) and why.
    pub bind: String,
    /// RX queues of the interface without a socket: PTP arriving there goes to the kernel.
    pub uncovered_queues: Vec<u32>,
    /// Decoded frames.
    pub decode: Summary,
    /// The XDP program's per-CPU decision counters, summed.
    pub xdp: Counters,
    /// The worker's counters.
    pub worker: CounterSnapshot,
    /// Frames dropped because the worker→control queue was full.
    pub up_queue_dropped: u64,
    /// XDP ingress → control thread, nanoseconds (p50, p99, max), when any frame carried a stamp.
    pub ingress_to_control_ns: Option<(u64, u64, u64)>,
}

/// Why a watch could not run. Each message names the cause and the fix.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Preflight(#[from] preflight::PreflightError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Xsk(#[from] XskError),
    #[error("cannot start the datapath worker thread: {0}")]
    Worker(#[source] std::io::Error),
    #[error(transparent)]
    Output(#[from] DecodeError),
}

/// Runs until `stop` is set, `count` frames were seen or `duration` elapsed.
pub fn watch(
    opts: &WatchOptions,
    stop: &AtomicBool,
    out: &mut dyn Write,
) -> Result<WatchReport, WatchError> {
    let xcfg = XskConfig::default();
    let umem_bytes = u64::from(xcfg.frame_count) * u64::from(xcfg.frame_size);
    preflight::check_caps()?;
    preflight::check_af_xdp()?;
    preflight::check_interface(&opts.ifname, opts.mode == AttachMode::Native)?;
    preflight::ensure_memlock(umem_bytes)?;

    let steering = XdpSteering::attach(&opts.ifname, opts.mode, opts.hw_timestamps)?;
    let attach = steering.status().clone();
    tracing::info!(
        ifname = %attach.ifname,
        build = %attach.build,
        mode = ?attach.mode,
        prog_id = attach.prog_id,
        "XDP steering attached"
    );
    if let Some(why) = &attach.hw_ts_fallback {
        tracing::warn!("hardware RX timestamps not in use: {why}; using XDP-ingress CLOCK_TAI");
    }
    if attach.wire_stamps {
        tracing::info!(
            "veth wire stamps on: event frames timed at the sender's net_dev_start_xmit"
        );
    }
    let sock = XskSocket::open(0, &opts.ifname, opts.queue, &xcfg)?;
    let bind = match &sock.status().zero_copy_error {
        Some(why) => format!("{:?} (zero-copy refused: {why})", sock.status().mode),
        None => format!("{:?}", sock.status().mode),
    };
    tracing::info!(queue = opts.queue, bind = %bind, "AF_XDP socket bound");
    steering.register_xsk(opts.queue, sock.as_fd())?;
    let coverage = xsk::queue_coverage(&opts.ifname, &[opts.queue])?;
    if let Some(w) = coverage.warning() {
        tracing::warn!("{w}");
    }

    let link = Arc::new(Link::new(LinkConfig::default()));
    let cfg = WorkerConfig {
        core: opts.core,
        idle: IdlePolicy::YieldAfter(64),
        drop_capabilities: false,
        rt_priority: None,
    };
    let handle = worker::spawn("xptp-watch", cfg, vec![sock], link.clone(), ToControl)
        .map_err(WatchError::Worker)?;

    let mut hist = Histogram::<u64>::new(3).ok();
    let mut dec = Decoder::new(opts.format, out);
    let started = Instant::now();
    let mut seen = 0u64;
    loop {
        if stop.load(Ordering::Relaxed)
            || opts.count.is_some_and(|c| seen >= c)
            || opts.duration.is_some_and(|d| started.elapsed() >= d)
        {
            break;
        }
        let Some(msg) = link.rx_up.pop() else {
            std::thread::sleep(Duration::from_micros(20));
            continue;
        };
        let now = xsk::clock_tai_ns();
        let ingress = msg.ts.hw_ns.or(msg.ts.xdp_tai_ns);
        if let (Some(h), Some(t)) = (hist.as_mut(), msg.ts.xdp_tai_ns) {
            let _ = h.record(now.saturating_sub(t));
        }
        let time = Duration::from_nanos(ingress.unwrap_or(msg.ts.user_tai_ns));
        dec.ethernet_frame(time, msg.frame.as_slice())?;
        seen += 1;
    }
    let worker = handle.counters().snapshot();
    drop(handle);
    let xdp = steering.counters()?;
    let decode = dec.finish()?;
    Ok(WatchReport {
        attach,
        bind,
        uncovered_queues: coverage.uncovered(),
        decode,
        xdp,
        worker,
        up_queue_dropped: link.rx_up.dropped(),
        ingress_to_control_ns: hist
            .filter(|h| !h.is_empty())
            .map(|h| (h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.max())),
    })
}

impl std::fmt::Display for WatchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = &self.attach;
        writeln!(
            f,
            "datapath: XDP {} build, {:?} mode (prog id {}); AF_XDP {}",
            a.build, a.mode, a.prog_id, self.bind
        )?;
        writeln!(
            f,
            "timestamps: {}",
            match &a.hw_ts_fallback {
                None if a.build == xptp_ebpf::Build::HwTimestamp =>
                    "NIC hardware RX where the driver stamps, else XDP-ingress CLOCK_TAI"
                        .to_string(),
                None => "XDP-ingress CLOCK_TAI (software)".to_string(),
                Some(why) => format!("XDP-ingress CLOCK_TAI (software): {why}"),
            }
        )?;
        if a.wire_stamps {
            writeln!(
                f,
                "veth wire stamps: event frames timed at the sender's net_dev_start_xmit ({} stamped, {} stale)",
                self.xdp.wire_stamped(),
                self.xdp.wire_stale()
            )?;
        } else if let Some(why) = &a.wire_fallback {
            writeln!(f, "veth wire stamps: off ({why})")?;
        }
        if !self.uncovered_queues.is_empty() {
            writeln!(
                f,
                "warning: RX queues {:?} have no AF_XDP socket: PTP arriving there went to the kernel",
                self.uncovered_queues
            )?;
        }
        let x = &self.xdp;
        writeln!(
            f,
            "XDP: {} frames seen, steered {} (L2 {}, UDPv4 {}, UDPv6 {}; VLAN {}), passed to the kernel {} \
             (not PTP {}, malformed {}, IP fragment {}, IPv6 ext hdr {}), no socket {}, metadata failed {}",
            x.seen(),
            x.steered(),
            x.steered_l2(),
            x.steered_udp4(),
            x.steered_udp6(),
            x.vlan(),
            x.seen() - x.steered(),
            x.passed_non_ptp(),
            x.passed_malformed(),
            x.passed_ip_fragment(),
            x.passed_ipv6_ext(),
            x.no_socket(),
            x.meta_failed()
        )?;
        let w = &self.worker;
        writeln!(
            f,
            "worker: {} frames received, {} to control, dropped: up-queue full {}, no metadata {}, too long {}; \
             fill-ring shortfall {}",
            w.rx_frames,
            w.rx_to_control,
            w.rx_queue_full,
            w.rx_no_metadata,
            w.rx_too_long,
            w.fill_ring_shortfall
        )?;
        match self.ingress_to_control_ns {
            Some((p50, p99, max)) => writeln!(
                f,
                "XDP ingress -> control thread: p50 {:.1} us, p99 {:.1} us, max {:.1} us",
                p50 as f64 / 1e3,
                p99 as f64 / 1e3,
                max as f64 / 1e3
            ),
            None => writeln!(f, "XDP ingress -> control thread: no stamped frame"),
        }
    }
}
