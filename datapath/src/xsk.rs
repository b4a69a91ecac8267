//! AF_XDP sockets, their UMEM and their four rings: the only `unsafe` code in the datapath.
//!
//! One [`XskSocket`] serves one (PTP port, NIC RX queue) pair. It owns a UMEM split into RX
//! frames (circulating fill ring → RX ring → fill ring) and TX frames (free list → TX ring →
//! completion ring → free list), reads the `xptp_meta` block the XDP program writes right before
//! each received frame, and stamps every transmitted frame with CLOCK_TAI read immediately before
//! the kick (plus the NIC's timestamp where AF_XDP TX metadata is available).
//!
//! This module does not decide anything about a frame, does not allocate after [`XskSocket::open`]
//! and does not log on the packet path. It does not load the XDP program or fill its XSKMAP:
//! the caller registers [`XskSocket::fd`] with the loader.
//!
//! Facts this code relies on (DESIGN.md section 7): libxdp must be told not to install its own
//! program; xsk-rs `produce` is all-or-nothing, so we only produce what fits; copy mode moves TX
//! frames only on a `sendto` kick; veth binds in copy mode only. Unlike DESIGN.md's note, the
//! XDP program's metadata is not in the headroom before the descriptor address but the first
//! bytes of the frame's data: kernels may refuse `bpf_xdp_adjust_meta` (see xptp.bpf.c).

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use xptp_ebpf::abi::{
    XptpMeta, META_F_EVENT, META_F_L2, META_F_UDP4, META_F_UDP6, META_F_VLAN, META_LEN,
};
use xsk_rs::config::{
    BindFlags, FrameSize, Interface, LibxdpFlags, QueueSize, SocketConfig, UmemConfig,
};
use xsk_rs::{CompQueue, FillQueue, FrameDesc, RxQueue, Socket, TxQueue, Umem};

use crate::handoff::{PortId, Transport, TxDropReason, TxOutcome, TxToken};

mod stamp;
pub use stamp::{
    tai_minus_realtime_ns, Sent, Stamp, StampError, StampEvents, StampSocket, PENDING_CAP,
    STAMP_TIMEOUT_NS,
};

/// Errors setting up an AF_XDP socket. Each names the cause and the usual fix.
#[derive(Debug, thiserror::Error)]
pub enum XskError {
    /// A configuration value the kernel would reject.
    #[error("invalid AF_XDP configuration: {0}")]
    Config(String),
    /// The UMEM could not be created.
    #[error("creating the {bytes}-byte UMEM failed ({reason}); check RLIMIT_MEMLOCK (ulimit -l) or lower frame_count")]
    Umem {
        /// Requested size.
        bytes: u64,
        /// xsk-rs's reason.
        reason: String,
        /// The OS error, when known.
        #[source]
        source: Option<io::Error>,
    },
    /// Binding the socket failed in every allowed mode.
    #[error("binding an AF_XDP socket to {ifname} queue {queue_id} failed: {reason}; check that the interface exists, is up, has the XDP program attached and that queue {queue_id} exists")]
    Bind {
        /// Interface name.
        ifname: String,
        /// Queue.
        queue_id: u32,
        /// Both attempts, described.
        reason: String,
        /// The last OS error.
        #[source]
        source: Option<io::Error>,
    },
    /// The interface name is not a valid C string.
    #[error("interface name {0:?} contains a NUL byte")]
    IfName(String),
    /// Reading the interface's queue count failed.
    #[error("reading the RX queue count of {ifname} failed (ethtool -l and /sys/class/net/{ifname}/queues)")]
    Channels {
        /// Interface name.
        ifname: String,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

/// Whether to try zero-copy binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ZeroCopyPolicy {
    /// Try zero-copy, fall back to copy mode (the default).
    #[default]
    Try,
    /// Zero-copy or fail.
    Require,
    /// Copy mode only.
    Never,
}

/// The mode a socket ended up bound in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindMode {
    /// XDP_ZEROCOPY: the NIC DMAs straight into the UMEM.
    ZeroCopy,
    /// XDP_COPY: the kernel copies frames in and out (veth, drivers without AF_XDP ZC).
    Copy,
}

/// Sizes of one socket's UMEM and rings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XskConfig {
    /// UMEM frames in total (half serve RX, half TX; at least 4).
    pub frame_count: u32,
    /// Bytes per UMEM frame: a power of two, at least 2048.
    pub frame_size: u32,
    /// Entries of each of the four rings: a power of two.
    pub ring_size: u32,
    /// Descriptors handled per ring per pass.
    pub batch: usize,
    /// Zero-copy policy.
    pub zero_copy: ZeroCopyPolicy,
    /// Ask for NIC TX timestamps through AF_XDP TX metadata where available.
    pub want_hw_tx_timestamps: bool,
    /// Without NIC TX timestamps, send event messages through an `AF_PACKET` socket with
    /// kernel software TX timestamps (the driver-transmit stamp ptp4l's software mode gets)
    /// instead of stamping them with CLOCK_TAI before the AF_XDP kick.
    pub kernel_tx_timestamps: bool,
}

impl Default for XskConfig {
    fn default() -> Self {
        XskConfig {
            frame_count: 4096,
            frame_size: 2048,
            ring_size: 2048,
            batch: 64,
            zero_copy: ZeroCopyPolicy::Try,
            want_hw_tx_timestamps: true,
            kernel_tx_timestamps: true,
        }
    }
}

impl XskConfig {
    fn validate(&self) -> Result<(), XskError> {
        if !self.frame_size.is_power_of_two() || self.frame_size < 2048 {
            return Err(XskError::Config(format!(
                "frame_size {} must be a power of two >= 2048",
                self.frame_size
            )));
        }
        if !self.ring_size.is_power_of_two() {
            return Err(XskError::Config(format!(
                "ring_size {} must be a power of two",
                self.ring_size
            )));
        }
        if self.frame_count < 4 {
            return Err(XskError::Config(format!(
                "frame_count {} must be at least 4",
                self.frame_count
            )));
        }
        if self.batch == 0 {
            return Err(XskError::Config("batch must be at least 1".into()));
        }
        Ok(())
    }
}

/// A received frame as the worker sees it, valid until the next ring operation.
#[derive(Debug)]
pub struct RxFrame<'a> {
    /// The frame from the Ethernet destination address on.
    pub data: &'a [u8],
    /// The XDP program's metadata block, if present and valid.
    pub meta: Option<XptpMeta>,
}

impl RxFrame<'_> {
    /// Transport per the metadata flags.
    pub fn transport(&self) -> Transport {
        transport_of(self.meta.as_ref())
    }
}

/// Transport named by a metadata block.
pub fn transport_of(meta: Option<&XptpMeta>) -> Transport {
    match meta.map(|m| m.flags) {
        Some(f) if f & META_F_L2 != 0 => Transport::Ethernet,
        Some(f) if f & META_F_UDP4 != 0 => Transport::Udp4,
        Some(f) if f & META_F_UDP6 != 0 => Transport::Udp6,
        _ => Transport::Unknown,
    }
}

/// Whether the metadata says the frame carried a VLAN tag.
pub fn vlan_of(meta: Option<&XptpMeta>) -> bool {
    meta.is_some_and(|m| m.flags & META_F_VLAN != 0)
}

/// Whether the metadata says UDP port 319.
pub fn event_of(meta: Option<&XptpMeta>) -> bool {
    meta.is_some_and(|m| m.flags & META_F_EVENT != 0)
}

// ---------------------------------------------------------------------------------------------
// AF_XDP TX metadata (Linux 6.8+, include/uapi/linux/if_xdp.h)
// ---------------------------------------------------------------------------------------------

/// `XDP_TX_METADATA`: TX descriptor option saying a `struct xsk_tx_metadata` precedes the frame.
pub const XDP_TX_METADATA: u32 = 1 << 1;
/// `XDP_TXMD_FLAGS_TIMESTAMP`: ask the driver for the TX timestamp.
pub const XDP_TXMD_FLAGS_TIMESTAMP: u64 = 1 << 0;
/// Bytes of `struct xsk_tx_metadata` xptp registers (`flags` + the 16-byte request/completion
/// union of 6.15+; kernels 6.8–6.14 read only the first 16 of them).
pub const TX_META_LEN: usize = 24;

/// Writes a "timestamp this frame" request into the `TX_META_LEN` bytes preceding a frame.
/// Returns false when `buf` is short.
pub fn write_tx_ts_request(buf: &mut [u8]) -> bool {
    let Some(b) = buf.get_mut(..TX_META_LEN) else {
        return false;
    };
    b.fill(0);
    let (flags, _) = b.split_at_mut(8);
    flags.copy_from_slice(&XDP_TXMD_FLAGS_TIMESTAMP.to_ne_bytes());
    true
}

/// Reads `completion.tx_timestamp` from the metadata preceding a completed frame; `None` when
/// the request flag is gone, the slice is short or the driver left it zero.
pub fn read_tx_ts_completion(buf: &[u8]) -> Option<u64> {
    let flags = u64::from_ne_bytes(buf.get(..8)?.try_into().ok()?);
    if flags & XDP_TXMD_FLAGS_TIMESTAMP == 0 {
        return None;
    }
    let ts = u64::from_ne_bytes(buf.get(8..16)?.try_into().ok()?);
    (ts != 0).then_some(ts)
}

/// Why NIC TX timestamps are not in use on a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxHwTsFallback {
    /// Configuration did not ask for them.
    #[error("not requested")]
    NotRequested,
    /// AF_XDP TX metadata needs Linux 6.8.
    #[error("kernel {major}.{minor} predates AF_XDP TX metadata (6.8)")]
    KernelTooOld {
        /// Running kernel major.
        major: u32,
        /// Running kernel minor.
        minor: u32,
    },
    /// The UMEM was registered without `tx_metadata_len`.
    #[error("UMEM registered without tx_metadata_len (xsk-rs 0.11 / libxdp 1.6 cannot set it)")]
    UmemWithoutTxMetadata,
    /// The driver does not advertise the `tx-timestamp` xsk feature.
    #[error("driver does not advertise xsk-features tx-timestamp")]
    DriverLacksTxTimestamp,
    /// Copy-mode sockets: the skb path gives no NIC timestamp back through the ring.
    #[error("copy mode: no NIC TX timestamp through the completion ring")]
    CopyMode,
}

/// Whether a socket requests NIC TX timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxHwTs {
    /// Frames carry a timestamp request; completions carry the timestamp.
    Enabled {
        /// Bytes of metadata preceding each TX frame.
        meta_len: usize,
    },
    /// Software (CLOCK_TAI before the kick) timestamps only.
    Unavailable(TxHwTsFallback),
}

/// What the TX-timestamp capability decision looks at; [`TxHwTsProbe::decide`] is pure so that
/// it can be tested with fakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxHwTsProbe {
    /// Configuration asked for it.
    pub requested: bool,
    /// Running kernel (major, minor).
    pub kernel: (u32, u32),
    /// Bind mode.
    pub mode: BindMode,
    /// `tx_metadata_len` the UMEM was registered with.
    pub umem_tx_metadata_len: usize,
    /// The driver's `tx-timestamp` xsk feature, when known.
    pub driver_tx_timestamp: Option<bool>,
}

impl TxHwTsProbe {
    /// The decision, first failing condition wins.
    pub fn decide(&self) -> TxHwTs {
        use TxHwTsFallback as F;
        let (major, minor) = self.kernel;
        let fallback = if !self.requested {
            Some(F::NotRequested)
        } else if (major, minor) < (6, 8) {
            Some(F::KernelTooOld { major, minor })
        } else if self.mode == BindMode::Copy {
            Some(F::CopyMode)
        } else if self.umem_tx_metadata_len < 16 {
            Some(F::UmemWithoutTxMetadata)
        } else if self.driver_tx_timestamp == Some(false) {
            Some(F::DriverLacksTxTimestamp)
        } else {
            None
        };
        match fallback {
            Some(f) => TxHwTs::Unavailable(f),
            None => TxHwTs::Enabled {
                meta_len: self.umem_tx_metadata_len,
            },
        }
    }
}

/// Running kernel (major, minor) from `uname`; (0, 0) when unreadable.
pub fn kernel_version() -> (u32, u32) {
    let Ok(rel) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return (0, 0);
    };
    parse_kernel_version(&rel)
}

fn parse_kernel_version(rel: &str) -> (u32, u32) {
    let mut it = rel
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|s| s.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------------------------

/// CLOCK_TAI now, in nanoseconds (the clock `bpf_ktime_get_tai_ns` reads).
#[inline]
pub fn clock_tai_ns() -> u64 {
    stamp::read_clock(libc::CLOCK_TAI)
}

// ---------------------------------------------------------------------------------------------
// Multi-queue pitfall
// ---------------------------------------------------------------------------------------------

/// The RX queues of an interface and the ones with an xptp socket: frames hashed to any other
/// queue bypass the XDP redirect to a socket and reach the kernel stack instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueCoverage {
    /// Interface.
    pub ifname: String,
    /// Active RX queues (ethtool channels: rx + combined).
    pub rx_queues: u32,
    /// Queues with a bound socket.
    pub bound: Vec<u32>,
}

impl QueueCoverage {
    /// Queues that have no socket.
    pub fn uncovered(&self) -> Vec<u32> {
        (0..self.rx_queues)
            .filter(|q| !self.bound.contains(q))
            .collect()
    }

    /// A warning for the operator when some queue is uncovered.
    pub fn warning(&self) -> Option<String> {
        let missing = self.uncovered();
        (!missing.is_empty()).then(|| {
            format!(
                "{} has {} RX queues but AF_XDP sockets only on {:?}: PTP frames hashed to queues \
                 {:?} go to the kernel and are never seen. Bind a socket per queue, or reduce to \
                 one queue (`ethtool -L {} combined 1`), or steer PTP to a bound queue with an \
                 ntuple rule",
                self.ifname, self.rx_queues, self.bound, missing, self.ifname
            )
        })
    }
}

/// Reads `ifname`'s RX queue count and compares it with the queues that have a socket,
/// logging a warning when frames could bypass xptp (setup time only, never in the loop).
pub fn queue_coverage(ifname: &str, bound: &[u32]) -> Result<QueueCoverage, XskError> {
    let c = QueueCoverage {
        ifname: ifname.to_owned(),
        rx_queues: rx_queue_count(ifname)?,
        bound: bound.to_vec(),
    };
    if let Some(w) = c.warning() {
        tracing::warn!("{w}");
    }
    Ok(c)
}

const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GCHANNELS: u32 = 0x3c;

#[repr(C)]
#[derive(Default)]
struct EthtoolChannels {
    cmd: u32,
    max_rx: u32,
    max_tx: u32,
    max_other: u32,
    max_combined: u32,
    rx_count: u32,
    tx_count: u32,
    other_count: u32,
    combined_count: u32,
}

#[repr(C)]
struct IfreqData {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

/// Active RX queues of `ifname` in the calling thread's network namespace: ETHTOOL_GCHANNELS
/// (rx + combined), else the count of `/sys/class/net/<if>/queues/rx-*`.
pub fn rx_queue_count(ifname: &str) -> Result<u32, XskError> {
    match ethtool_channels(ifname) {
        Ok(ch) if ch.rx_count + ch.combined_count > 0 => Ok(ch.rx_count + ch.combined_count),
        first => {
            let dir = format!("/sys/class/net/{ifname}/queues");
            match std::fs::read_dir(&dir) {
                Ok(rd) => Ok(rd
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                    .count() as u32),
                Err(source) => Err(XskError::Channels {
                    ifname: ifname.to_owned(),
                    source: first.err().unwrap_or(source),
                }),
            }
        }
    }
}

fn ethtool_channels(ifname: &str) -> io::Result<EthtoolChannels> {
    let name = ifname.as_bytes();
    if name.len() >= libc::IFNAMSIZ || name.contains(&0) {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    let mut ch = EthtoolChannels {
        cmd: ETHTOOL_GCHANNELS,
        ..Default::default()
    };
    let mut ifr = IfreqData {
        name: [0; libc::IFNAMSIZ],
        data: (&mut ch as *mut EthtoolChannels).cast(),
        _pad: [0; 16],
    };
    for (d, s) in ifr.name.iter_mut().zip(name) {
        *d = *s as libc::c_char;
    }
    // SAFETY: plain socket(2) call with constant arguments.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `ifr` is a valid ifreq whose data pointer targets `ch`, an ethtool_channels that
    // outlives the call; SIOCETHTOOL with ETHTOOL_GCHANNELS writes only within `ch`.
    let rc = unsafe { libc::ioctl(fd, SIOCETHTOOL as _, &mut ifr as *mut IfreqData) };
    let err = io::Error::last_os_error();
    // SAFETY: `fd` is the socket opened above and closed exactly once here.
    unsafe { libc::close(fd) };
    if rc < 0 {
        Err(err)
    } else {
        Ok(ch)
    }
}

// ---------------------------------------------------------------------------------------------
// The socket
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, Default)]
struct TxSlot {
    token: TxToken,
    sw_tai_ns: u64,
    /// The patch hook has already run on this frame (it must not run twice: corrections add).
    patched: bool,
    /// It carries an event message and leaves through the stamp socket (classified once, at
    /// enqueue, not on every pass while it waits).
    event: bool,
}

/// The software TX timestamp of event messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxSwTs {
    /// The NIC stamps them ([`TxHwTs::Enabled`]); software stamps are not used.
    NotNeeded,
    /// Sent through an `AF_PACKET` socket: the kernel's software stamp at the driver's transmit
    /// (`SO_TIMESTAMPING`), as ptp4l's `time_stamping software` gets.
    Kernel,
    /// veth: sent through the `AF_PACKET` socket and timed by the wire-stamp table at the
    /// transmit hook, the point the receive side is stamped at. `kernel_stamps`: whether the
    /// kernel still stamps them too (off on transparent-clock ports, so that its stamping work
    /// does not hold frames back on their way to the peer; see `StampSocket::set_wire_table`).
    Wire {
        /// Kernel software stamps still requested.
        kernel_stamps: bool,
    },
    /// CLOCK_TAI read immediately before the AF_XDP kick, with the reason the kernel stamp is
    /// not used.
    PreKick(String),
}

impl TxSwTs {
    /// A short description for logs and status.
    pub fn describe(&self) -> String {
        match self {
            TxSwTs::NotNeeded => "NIC".into(),
            TxSwTs::Kernel => "kernel software (SO_TIMESTAMPING at driver transmit)".into(),
            TxSwTs::Wire {
                kernel_stamps: false,
            } => "veth wire stamp at net_dev_start_xmit (kernel TX stamping off)".into(),
            TxSwTs::Wire {
                kernel_stamps: true,
            } => "veth wire stamp at net_dev_start_xmit (kernel TX stamping on, as at a software-stamping peer)".into(),
            TxSwTs::PreKick(why) => format!("CLOCK_TAI before the AF_XDP kick ({why})"),
        }
    }
}

/// Whether `frame` (Ethernet onwards) carries a PTP event message (IEEE 1588-2019 Table 36:
/// messageType 0–7), i.e. one whose transmission needs a timestamp.
pub fn is_event_frame(frame: &[u8]) -> bool {
    let Ok(f) = crate::wire::frame::parse(frame) else {
        return false;
    };
    f.payload(frame).first().is_some_and(|b| b & 0x0f < 8)
}

/// What the socket reports to control's status view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XskStatus {
    /// PTP port.
    pub port: PortId,
    /// Interface.
    pub ifname: String,
    /// RX queue.
    pub queue_id: u32,
    /// Mode in use.
    pub mode: BindMode,
    /// Why zero-copy was not used, when it was tried and failed.
    pub zero_copy_error: Option<String>,
    /// NIC TX timestamps in use, or why not.
    pub tx_hw_ts: TxHwTs,
    /// Where event messages get their software TX timestamp when there is no NIC one.
    pub tx_sw_ts: TxSwTs,
    /// UMEM frames serving RX.
    pub rx_frames: u32,
    /// UMEM frames serving TX.
    pub tx_frames: u32,
}

/// Ring-level events the worker turns into counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingEvents {
    /// RX frames waiting for fill-ring room after a pass (the fill ring could not take them).
    pub fill_shortfall: u64,
    /// TX descriptors left pending because the TX ring was full.
    pub tx_ring_full: u64,
    /// Kick (`sendto`) errors other than the transient EAGAIN/EBUSY/ENOBUFS/ENETDOWN.
    pub kick_errors: u64,
    /// The kernel-timestamp socket's counters.
    pub stamp: StampEvents,
}

/// One AF_XDP socket with its UMEM and rings. See the module documentation.
pub struct XskSocket {
    port: PortId,
    status: XskStatus,
    umem: Umem,
    fq: FillQueue,
    cq: CompQueue,
    rx: RxQueue,
    tx: TxQueue,
    frame_shift: u32,
    fill_stash: Vec<FrameDesc>,
    tx_free: Vec<FrameDesc>,
    tx_pending: Vec<FrameDesc>,
    tx_slots: Vec<TxSlot>,
    rx_scratch: Vec<FrameDesc>,
    comp_scratch: Vec<FrameDesc>,
    tx_meta_len: usize,
    events: RingEvents,
    stamp: Option<StampSocket<TxToken>>,
    /// Frames sent through `stamp` whose stamp (CLOCK_TAI) was known at the send: their wire
    /// stamp, or their pre-send reading when the pending table was full.
    stamp_ready: Vec<(TxToken, u64)>,
}

impl std::fmt::Debug for XskSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XskSocket")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

fn io_source(e: &(dyn std::error::Error + 'static)) -> Option<io::Error> {
    e.source()
        .and_then(|s| s.downcast_ref::<io::Error>())
        .and_then(|e| e.raw_os_error())
        .map(io::Error::from_raw_os_error)
}

impl XskSocket {
    /// Creates the UMEM and binds a socket to `ifname`/`queue_id` for PTP port `port`, trying
    /// zero-copy first per `cfg.zero_copy`, with XDP_USE_NEED_WAKEUP and without letting libxdp
    /// load a program. The XDP program must redirect to this socket ([`Self::fd`]) for frames
    /// to arrive.
    pub fn open(
        port: PortId,
        ifname: &str,
        queue_id: u32,
        cfg: &XskConfig,
    ) -> Result<Self, XskError> {
        cfg.validate()?;
        let iface: Interface = ifname
            .parse()
            .map_err(|_| XskError::IfName(ifname.to_owned()))?;
        let ring = QueueSize::new(cfg.ring_size).map_err(|e| XskError::Config(e.to_string()))?;
        let umem_cfg = UmemConfig::builder()
            .frame_size(
                FrameSize::new(cfg.frame_size).map_err(|e| XskError::Config(e.to_string()))?,
            )
            .fill_queue_size(ring)
            .comp_queue_size(ring)
            .frame_headroom(0)
            .build()
            .map_err(|e| XskError::Config(e.to_string()))?;
        let count = core::num::NonZeroU32::new(cfg.frame_count)
            .ok_or(XskError::Config("frame_count 0".into()))?;

        let attempts: &[BindMode] = match cfg.zero_copy {
            ZeroCopyPolicy::Try => &[BindMode::ZeroCopy, BindMode::Copy],
            ZeroCopyPolicy::Require => &[BindMode::ZeroCopy],
            ZeroCopyPolicy::Never => &[BindMode::Copy],
        };
        let mut zc_error = None;
        let mut last_src = None;
        for &mode in attempts {
            // A fresh UMEM per attempt: a failed bind leaves libxdp state on the old one.
            let (umem, descs) = Umem::new(umem_cfg, count, false).map_err(|e| XskError::Umem {
                bytes: u64::from(cfg.frame_count) * u64::from(cfg.frame_size),
                reason: e.to_string(),
                source: io_source(&e),
            })?;
            let bind = match mode {
                BindMode::ZeroCopy => BindFlags::XDP_ZEROCOPY,
                BindMode::Copy => BindFlags::XDP_COPY,
            } | BindFlags::XDP_USE_NEED_WAKEUP;
            let sock_cfg = SocketConfig::builder()
                .rx_queue_size(ring)
                .tx_queue_size(ring)
                .libxdp_flags(LibxdpFlags::XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD)
                .bind_flags(bind)
                .build();
            // SAFETY: the UMEM was created just above and is not shared, so no other socket is
            // bound with it to this (ifname, queue_id); INHIBIT_PROG_LOAD is set anyway, which
            // is what xsk-rs requires for shared UMEMs.
            match unsafe { Socket::new(sock_cfg, &umem, &iface, queue_id) } {
                Ok((tx, rx, Some((fq, cq)))) => {
                    return Self::assemble(
                        port, ifname, queue_id, cfg, mode, zc_error, umem, descs, fq, cq, rx, tx,
                    );
                }
                Ok((_, _, None)) => {
                    return Err(XskError::Bind {
                        ifname: ifname.to_owned(),
                        queue_id,
                        reason: "libxdp returned no fill/completion rings for a fresh UMEM".into(),
                        source: None,
                    })
                }
                Err(e) => {
                    let src = io_source(&e);
                    let msg = match &src {
                        Some(s) => format!("{mode:?}: {e}: {s}"),
                        None => format!("{mode:?}: {e}"),
                    };
                    if mode == BindMode::ZeroCopy {
                        zc_error = Some(msg);
                    } else {
                        zc_error = Some(match zc_error {
                            Some(z) => format!("{z}; {msg}"),
                            None => msg,
                        });
                    }
                    last_src = src;
                }
            }
        }
        Err(XskError::Bind {
            ifname: ifname.to_owned(),
            queue_id,
            reason: zc_error.unwrap_or_default(),
            source: last_src,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        port: PortId,
        ifname: &str,
        queue_id: u32,
        cfg: &XskConfig,
        mode: BindMode,
        zero_copy_error: Option<String>,
        umem: Umem,
        mut descs: Vec<FrameDesc>,
        mut fq: FillQueue,
        cq: CompQueue,
        rx: RxQueue,
        tx: TxQueue,
    ) -> Result<Self, XskError> {
        let total = descs.len();
        let rx_n = (total / 2).min(cfg.ring_size as usize).max(1);
        let tx_descs = descs.split_off(rx_n);
        // The fill ring is empty and holds ring_size >= rx_n entries, so this all fits.
        // SAFETY: the descriptors are fresh frames of this UMEM that nobody else holds.
        let produced = unsafe { fq.produce(&descs) };
        let mut fill_stash = Vec::with_capacity(rx_n);
        if produced != descs.len() {
            fill_stash.extend_from_slice(&descs);
        }
        let tx_n = tx_descs.len();
        let probe = TxHwTsProbe {
            requested: cfg.want_hw_tx_timestamps,
            kernel: kernel_version(),
            mode,
            umem_tx_metadata_len: 0,
            driver_tx_timestamp: None,
        };
        let tx_hw_ts = probe.decide();
        let tx_meta_len = match tx_hw_ts {
            TxHwTs::Enabled { meta_len } => meta_len,
            TxHwTs::Unavailable(_) => 0,
        };
        let (stamp, tx_sw_ts) = match (&tx_hw_ts, cfg.kernel_tx_timestamps) {
            (TxHwTs::Enabled { .. }, _) => (None, TxSwTs::NotNeeded),
            (_, false) => (
                None,
                TxSwTs::PreKick("kernel TX timestamps not requested".into()),
            ),
            (_, true) => match StampSocket::open(ifname) {
                Ok(s) => (Some(s), TxSwTs::Kernel),
                Err(e) => (None, TxSwTs::PreKick(e.to_string())),
            },
        };
        let frame_shift = cfg.frame_size.trailing_zeros();
        let mut tx_free = Vec::with_capacity(tx_n);
        tx_free.extend(tx_descs);
        Ok(XskSocket {
            port,
            status: XskStatus {
                port,
                ifname: ifname.to_owned(),
                queue_id,
                mode,
                zero_copy_error,
                tx_hw_ts,
                tx_sw_ts,
                rx_frames: rx_n as u32,
                tx_frames: tx_n as u32,
            },
            umem,
            fq,
            cq,
            rx,
            tx,
            frame_shift,
            fill_stash,
            tx_pending: Vec::with_capacity(tx_n),
            tx_slots: vec![TxSlot::default(); total],
            tx_free,
            rx_scratch: vec![FrameDesc::default(); cfg.batch],
            comp_scratch: vec![FrameDesc::default(); cfg.batch],
            tx_meta_len,
            events: RingEvents::default(),
            stamp,
            stamp_ready: Vec::with_capacity(tx_n),
        })
    }

    /// The socket's file descriptor, for the XDP program's XSKMAP.
    pub fn fd(&self) -> RawFd {
        self.rx.fd().as_raw_fd()
    }

    /// The socket's file descriptor, borrowed, for `XdpSteering::register_xsk`.
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        // SAFETY: the descriptor belongs to the xsk-rs socket this struct owns (through its
        // rings), which stays open at least as long as the `&self` borrow the result carries.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd()) }
    }

    /// The PTP port.
    pub fn port(&self) -> PortId {
        self.port
    }

    /// Status for control.
    pub fn status(&self) -> &XskStatus {
        &self.status
    }

    /// Ring events since the last call (and resets them).
    pub fn take_events(&mut self) -> RingEvents {
        let mut ev = core::mem::take(&mut self.events);
        if let Some(st) = self.stamp.as_mut() {
            ev.stamp = st.take_events();
        }
        ev
    }

    /// The kernel's statistics for this socket (a syscall: not for the hot loop).
    pub fn kernel_stats(&self) -> io::Result<xsk_rs::socket::XdpStatistics> {
        self.rx.fd().xdp_statistics()
    }

    /// Returns consumed RX frames to the fill ring, as many as it has room for.
    fn refill(&mut self) {
        let n = self.fill_stash.len();
        if n == 0 {
            return;
        }
        let room = (self.fq.nb_free(n as u32) as usize).min(n);
        if room > 0 {
            let start = n - room;
            if let Some(batch) = self.fill_stash.get(start..) {
                // SAFETY: these frames belong to this UMEM and came off our RX ring; the
                // caller's closure borrowed them only during `poll_rx`, so nothing references
                // them now. `room` never exceeds the free count, so the all-or-nothing produce
                // takes them all.
                let done = unsafe { self.fq.produce(batch) };
                if done == room {
                    self.fill_stash.truncate(start);
                }
            }
        }
        if !self.fill_stash.is_empty() {
            self.events.fill_shortfall += 1;
        }
        if self.fq.needs_wakeup() {
            // Zero-copy drivers need a poke to start using new fill entries; errors here only
            // delay reception and show up as fill-ring-empty in the kernel stats.
            let _ = self.fq.wakeup(self.rx.fd_mut(), 0);
        }
    }

    /// Takes up to one batch off the RX ring, handing each frame and its metadata to `f`, then
    /// recycles the frames into the fill ring. Returns the number of frames.
    #[inline]
    pub fn poll_rx<F: FnMut(RxFrame<'_>)>(&mut self, mut f: F) -> usize {
        // SAFETY: the scratch descriptors are only written by the RX ring of this socket, whose
        // frames belong to this socket's UMEM.
        let n = unsafe { self.rx.consume(&mut self.rx_scratch) };
        for desc in self.rx_scratch.iter().take(n) {
            // SAFETY: `desc` came off this socket's RX ring, so it names a frame of this UMEM
            // that the kernel has handed over and will not write until we put it back on the
            // fill ring, which happens only after this loop.
            let data = unsafe { self.umem.data(desc) }.contents();
            // xptp's XDP program puts its metadata block in front of every frame it redirects
            // (ebpf/include/xptp_meta.h); a frame without a valid block is used whole and
            // timestamped on arrival here.
            let (data, meta) = match XptpMeta::from_bytes(data) {
                Some(m) => (data.get(META_LEN..).unwrap_or_default(), Some(m)),
                None => (data, None),
            };
            f(RxFrame { data, meta });
        }
        // Capacity is the RX frame count and every RX frame is either in the kernel or here,
        // so this never reallocates.
        self.fill_stash
            .extend(self.rx_scratch.iter().take(n).copied());
        self.refill();
        n
    }

    /// Reclaims completed TX frames, reporting each token with its timestamps to `f`.
    #[inline]
    pub fn poll_completions<F: FnMut(TxToken, TxOutcome)>(&mut self, mut f: F) -> usize {
        // SAFETY: the scratch descriptors are only written by this socket's completion ring,
        // whose frames belong to this UMEM.
        let n = unsafe { self.cq.consume(&mut self.comp_scratch) };
        for desc in self.comp_scratch.iter().take(n) {
            let idx = desc.addr() >> self.frame_shift;
            let slot = self.tx_slots.get(idx).copied().unwrap_or_default();
            let hw_ns = if self.tx_meta_len > 0 {
                self.meta_before(desc, self.tx_meta_len)
                    .and_then(|m| read_tx_ts_completion(&m))
            } else {
                None
            };
            f(
                slot.token,
                TxOutcome::Sent {
                    sw_tai_ns: slot.sw_tai_ns,
                    hw_ns,
                },
            );
            self.tx_free.push(*desc);
        }
        n + self.poll_stamps(&mut f)
    }

    /// Reports frames sent through the kernel-timestamp socket whose stamp came back (or timed
    /// out, or was never awaited).
    fn poll_stamps<F: FnMut(TxToken, TxOutcome)>(&mut self, f: &mut F) -> usize {
        let mut n = 0;
        for (token, stamp) in self.stamp_ready.drain(..) {
            f(
                token,
                TxOutcome::Sent {
                    sw_tai_ns: stamp,
                    hw_ns: None,
                },
            );
            n += 1;
        }
        let Some(st) = self.stamp.as_mut() else {
            return n;
        };
        if st.pending() == 0 {
            return n;
        }
        n + st.poll(clock_tai_ns(), |token, stamp| {
            let sw_tai_ns = stamp.tai_ns();
            f(
                token,
                TxOutcome::Sent {
                    sw_tai_ns,
                    hw_ns: None,
                },
            );
        })
    }

    fn meta_before(&self, desc: &FrameDesc, len: usize) -> Option<[u8; TX_META_LEN]> {
        let frame_mask = (1usize << self.frame_shift) - 1;
        if len > TX_META_LEN || desc.addr() & frame_mask < len {
            return None;
        }
        let mut raw = [0u8; TX_META_LEN];
        // SAFETY: the descriptor came off the completion ring, so the frame is back in our
        // hands; `len` bytes before its data lie in the same UMEM frame (checked above).
        let data = unsafe { self.umem.data(desc) }.contents();
        // SAFETY: as above; `raw` holds TX_META_LEN >= len bytes.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr().sub(len), raw.as_mut_ptr(), len) };
        Some(raw)
    }

    /// veth: take event messages' TX times from the wire-stamp table of this port's XDP
    /// program (`XdpSteering::wire_table`), so that they are taken at the same hook as the
    /// ingress stamps; `kernel_stamps`: keep asking the kernel for its software stamps too
    /// (see `StampSocket::set_wire_table`: true for ordinary ports, false for a transparent
    /// clock's). Returns whether it applies (only event messages sent through the
    /// kernel-timestamp socket pass the hook; AF_XDP copy-mode TX bypasses it).
    pub fn set_wire_table(
        &mut self,
        table: std::sync::Arc<xptp_ebpf::WireTable>,
        kernel_stamps: bool,
    ) -> bool {
        match self.stamp.as_mut() {
            Some(st) => {
                st.set_wire_table(table, kernel_stamps);
                self.status.tx_sw_ts = TxSwTs::Wire {
                    kernel_stamps: st.kernel_stamps(),
                };
                true
            }
            None => false,
        }
    }

    /// Free TX frames (not in flight).
    pub fn tx_free_frames(&self) -> usize {
        self.tx_free.len()
    }

    /// Copies `frame` into a free TX frame and queues it for the next [`Self::flush_tx`].
    #[inline]
    pub fn enqueue_tx(&mut self, token: TxToken, frame: &[u8]) -> Result<(), TxDropReason> {
        let mut desc = self.tx_free.pop().ok_or(TxDropReason::NoFreeFrame)?;
        let meta_len = self.tx_meta_len;
        let written = {
            // SAFETY: `desc` came from our free list: a frame of this UMEM that is in neither
            // the TX ring nor the completion ring, so nothing else reads or writes it.
            let mut data = unsafe { self.umem.data_mut(&mut desc) };
            let mut cur = data.cursor();
            cur.set_pos(0);
            frame.len() <= cur.buf_len() && std::io::Write::write_all(&mut cur, frame).is_ok()
        };
        if !written {
            self.tx_free.push(desc);
            return Err(TxDropReason::TooLong);
        }
        if meta_len > 0 {
            let frame_mask = (1usize << self.frame_shift) - 1;
            if desc.addr() & frame_mask >= meta_len {
                // SAFETY: as above the frame is exclusively ours; the `meta_len` bytes before
                // its data lie inside the same UMEM frame (checked), within the mapping.
                let data = unsafe { self.umem.data_mut(&mut desc) };
                let mut req = [0u8; TX_META_LEN];
                if write_tx_ts_request(&mut req) {
                    // SAFETY: see the block above; source and destination do not overlap.
                    unsafe {
                        core::ptr::copy_nonoverlapping(
                            req.as_ptr(),
                            data.as_ref().as_ptr().cast_mut().sub(meta_len),
                            meta_len.min(TX_META_LEN),
                        )
                    };
                    desc.set_options(XDP_TX_METADATA);
                }
            }
        }
        let event = self.stamp.is_some() && is_event_frame(frame);
        if let Some(slot) = self.tx_slots.get_mut(desc.addr() >> self.frame_shift) {
            *slot = TxSlot {
                token,
                sw_tai_ns: 0,
                patched: false,
                event,
            };
        }
        self.tx_pending.push(desc);
        Ok(())
    }

    /// Puts queued TX frames on the ring (as many as fit), stamps them with CLOCK_TAI and kicks
    /// the kernel. Returns how many went onto the ring.
    #[inline]
    pub fn flush_tx(&mut self) -> usize {
        self.flush_tx_with(|_, _, _| {})
    }

    /// [`Self::flush_tx`], first handing each frame about to go on the ring to `patch` with
    /// its token and the CLOCK_TAI reading that becomes its software TX timestamp, so that a
    /// one-step correction (TC residence, Pdelay turnaround) can be written into the frame
    /// right before the kick.
    #[inline]
    pub fn flush_tx_with<F: FnMut(TxToken, &mut [u8], u64)>(&mut self, mut patch: F) -> usize {
        let via_socket = self.send_events_via_socket(&mut patch);
        via_socket + self.flush_ring_with(patch)
    }

    /// Sends the pending event messages through the kernel-timestamp socket (when there is
    /// one), each patched right before its send with the CLOCK_TAI reading that is its
    /// fallback stamp; the UMEM frame is free again at once (the kernel copied it). A frame
    /// the socket refuses stays pending for the ring. Returns how many were sent.
    fn send_events_via_socket<F: FnMut(TxToken, &mut [u8], u64)>(
        &mut self,
        patch: &mut F,
    ) -> usize {
        let Some(st) = self.stamp.as_mut() else {
            return 0;
        };
        if self.tx_pending.is_empty() {
            return 0;
        }
        let frame_shift = self.frame_shift;
        let umem = &self.umem;
        let slots = &mut self.tx_slots;
        let tx_free = &mut self.tx_free;
        let ready = &mut self.stamp_ready;
        let mut sent = 0;
        self.tx_pending.retain_mut(|d| {
            let idx = d.addr() >> frame_shift;
            let Some(slot) = slots.get_mut(idx) else {
                return true;
            };
            if !slot.event {
                return true;
            }
            // SAFETY: the frame was written by `enqueue_tx` and is not yet on the TX ring, so
            // this socket is its only user.
            let mut data = unsafe { umem.data_mut(d) };
            let pre = clock_tai_ns();
            if !slot.patched {
                patch(slot.token, data.contents_mut(), pre);
                slot.patched = true;
            }
            match st.send(data.contents(), slot.token, pre) {
                Ok(outcome) => {
                    if let Sent::Stamped(stamp) = outcome {
                        ready.push((slot.token, stamp.tai_ns()));
                    }
                    tx_free.push(*d);
                    sent += 1;
                    false
                }
                Err(_) => true,
            }
        });
        sent
    }

    fn flush_ring_with<F: FnMut(TxToken, &mut [u8], u64)>(&mut self, mut patch: F) -> usize {
        let n = self.tx_pending.len();
        if n == 0 {
            // Copy mode moves only a bounded batch per kick: while frames are on the ring but
            // not completed, keep kicking or they wait for the next unrelated send.
            let outstanding = (self.status.tx_frames as usize)
                .saturating_sub(self.tx_free.len() + self.tx_pending.len());
            if outstanding > 0 && self.status.mode == BindMode::Copy && self.tx.wakeup().is_err() {
                self.events.kick_errors += 1;
            }
            return 0;
        }
        let room = (self.tx.nb_free(n as u32) as usize).min(n);
        if room < n {
            self.events.tx_ring_full += 1;
        }
        if room == 0 {
            return 0;
        }
        // The software TX timestamp: CLOCK_TAI immediately before the frames go on the ring
        // and the kick.
        let now = clock_tai_ns();
        let frame_shift = self.frame_shift;
        if let Some(batch) = self.tx_pending.get_mut(..room) {
            for d in batch.iter_mut() {
                let Some(slot) = self.tx_slots.get_mut(d.addr() >> frame_shift) else {
                    continue;
                };
                if slot.patched {
                    continue;
                }
                slot.patched = true;
                // SAFETY: the frame was written by `enqueue_tx` and is not yet on the TX ring,
                // so this socket is its only user.
                let mut data = unsafe { self.umem.data_mut(d) };
                patch(slot.token, data.contents_mut(), now);
            }
        }
        let Some(batch) = self.tx_pending.get(..room) else {
            return 0;
        };
        // SAFETY: these frames belong to this UMEM, were written by `enqueue_tx` and are held
        // by nothing else; `room` never exceeds the ring's free count, so all are produced.
        let done = unsafe { self.tx.produce(batch) };
        let kick = self.status.mode == BindMode::Copy || self.tx.needs_wakeup();
        if kick && self.tx.wakeup().is_err() {
            self.events.kick_errors += 1;
        }
        for d in batch.iter().take(done) {
            if let Some(slot) = self.tx_slots.get_mut(d.addr() >> self.frame_shift) {
                slot.sw_tai_ns = now;
            }
        }
        self.tx_pending.drain(..done);
        done
    }

    /// TX frames written but not yet on the ring.
    pub fn tx_pending(&self) -> usize {
        self.tx_pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An untagged or 802.1Q-tagged L2 PTP frame with a 44-octet message of `msg_type`.
    fn l2(msg_type: u8, vlan: bool) -> Vec<u8> {
        let mut f = vec![0x01, 0x1b, 0x19, 0, 0, 0, 2, 0, 0, 0, 0, 1];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
        }
        f.extend_from_slice(&[0x88, 0xf7]);
        let mut m = [0u8; 44];
        m[0] = msg_type;
        m[1] = 2;
        m[3] = 44;
        f.extend_from_slice(&m);
        f
    }

    #[test]
    fn event_frames_are_told_from_general_ones() {
        // IEEE 1588-2019 Table 36: Sync 0, Delay_Req 1, Pdelay_Req 2, Pdelay_Resp 3 are
        // event messages; Follow_Up 8 .. Management 0xD are general.
        for t in 0..4u8 {
            assert!(is_event_frame(&l2(t, false)), "type {t}");
            assert!(is_event_frame(&l2(t, true)), "type {t} tagged");
            // majorSdoId in the high nibble does not change the type.
            assert!(is_event_frame(&l2(0x10 | t, false)), "type {t}, sdoId 1");
        }
        for t in [0x8u8, 0x9, 0xa, 0xb, 0xc, 0xd] {
            assert!(!is_event_frame(&l2(t, false)), "type {t:#x}");
        }
        // Not PTP, or too short to say: never sent through the stamp socket.
        let mut ip = l2(0, false);
        ip[12..14].copy_from_slice(&[0x08, 0x00]);
        assert!(!is_event_frame(&ip));
        assert!(!is_event_frame(&l2(0, false)[..14]));
        assert!(!is_event_frame(&[]));
    }

    #[test]
    fn tx_sw_ts_says_where_stamps_come_from() {
        assert!(TxSwTs::Kernel.describe().contains("SO_TIMESTAMPING"));
        let why = "opening an AF_PACKET socket failed";
        let d = TxSwTs::PreKick(why.into()).describe();
        assert!(
            d.contains("before the AF_XDP kick") && d.contains(why),
            "{d}"
        );
    }

    #[test]
    fn tx_metadata_request_and_completion() {
        let mut m = [0xffu8; TX_META_LEN];
        assert!(write_tx_ts_request(&mut m));
        assert_eq!(&m[..8], &XDP_TXMD_FLAGS_TIMESTAMP.to_ne_bytes());
        assert!(m[8..].iter().all(|&b| b == 0));
        // Driver left it zero: no timestamp.
        assert_eq!(read_tx_ts_completion(&m), None);
        // Fake driver completion.
        m[8..16].copy_from_slice(&1_700_000_000_123_456_789u64.to_ne_bytes());
        assert_eq!(read_tx_ts_completion(&m), Some(1_700_000_000_123_456_789));
        // Request flag absent: not ours to trust.
        m[..8].copy_from_slice(&0u64.to_ne_bytes());
        assert_eq!(read_tx_ts_completion(&m), None);
        assert!(!write_tx_ts_request(&mut [0u8; 8]));
        assert_eq!(read_tx_ts_completion(&[0u8; 4]), None);
    }

    #[test]
    fn hw_tx_timestamp_capability_table() {
        use TxHwTsFallback as F;
        let ok = TxHwTsProbe {
            requested: true,
            kernel: (6, 8),
            mode: BindMode::ZeroCopy,
            umem_tx_metadata_len: 24,
            driver_tx_timestamp: Some(true),
        };
        let cases = [
            (ok, TxHwTs::Enabled { meta_len: 24 }),
            (
                TxHwTsProbe {
                    driver_tx_timestamp: None,
                    ..ok
                },
                TxHwTs::Enabled { meta_len: 24 },
            ),
            (
                TxHwTsProbe {
                    requested: false,
                    ..ok
                },
                TxHwTs::Unavailable(F::NotRequested),
            ),
            (
                TxHwTsProbe {
                    kernel: (6, 7),
                    ..ok
                },
                TxHwTs::Unavailable(F::KernelTooOld { major: 6, minor: 7 }),
            ),
            (
                TxHwTsProbe {
                    mode: BindMode::Copy,
                    ..ok
                },
                TxHwTs::Unavailable(F::CopyMode),
            ),
            (
                TxHwTsProbe {
                    umem_tx_metadata_len: 0,
                    ..ok
                },
                TxHwTs::Unavailable(F::UmemWithoutTxMetadata),
            ),
            (
                TxHwTsProbe {
                    driver_tx_timestamp: Some(false),
                    ..ok
                },
                TxHwTs::Unavailable(F::DriverLacksTxTimestamp),
            ),
        ];
        for (probe, want) in cases {
            assert_eq!(probe.decide(), want, "{probe:?}");
        }
    }

    #[test]
    fn kernel_versions_parse() {
        assert_eq!(parse_kernel_version("6.18.44-fc-v669\n"), (6, 18));
        assert_eq!(parse_kernel_version("5.10.0"), (5, 10));
        assert_eq!(parse_kernel_version("garbage"), (0, 0));
        assert!(kernel_version() >= (3, 0));
    }

    #[test]
    fn queue_coverage_warns_only_when_a_queue_is_uncovered() {
        let mut c = QueueCoverage {
            ifname: "eth0".into(),
            rx_queues: 4,
            bound: vec![0, 2],
        };
        assert_eq!(c.uncovered(), vec![1, 3]);
        let w = c.warning().unwrap();
        assert!(w.contains("[1, 3]") && w.contains("ethtool -L eth0"), "{w}");
        c.bound = vec![0, 1, 2, 3];
        assert_eq!(c.warning(), None);
    }

    #[test]
    fn loopback_has_a_queue_count() {
        // lo has one RX queue in sysfs even where ETHTOOL_GCHANNELS is unsupported.
        assert!(rx_queue_count("lo").unwrap() >= 1);
        assert!(rx_queue_count("no-such-if-xptp").is_err());
    }

    #[test]
    fn config_is_validated() {
        let bad = XskConfig {
            frame_size: 3000,
            ..Default::default()
        };
        assert!(matches!(bad.validate(), Err(XskError::Config(_))));
        assert!(XskConfig::default().validate().is_ok());
    }
}
