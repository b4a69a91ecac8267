//! Typed loader of the XDP steering program: loads one of the two embedded builds, attaches it
//! to an interface through a bpf_link, and gives the AF_XDP code its XSKMAP and counters.
//!
//! Owns the lifetime of the attachment: the link descriptor lives in [`XdpSteering`] and the
//! kernel detaches the program when it is closed (on `Drop`, or when the process dies in any
//! way, SIGKILL included). It never falls back to the legacy netlink attachment, which would
//! outlive the process. It does not create sockets or touch frames.
//!
//! Why libbpf and not aya: the hardware-timestamp build calls a kfunc and must be loaded
//! device-bound (`prog_ifindex` + `BPF_F_XDP_DEV_BOUND_ONLY`), which aya 0.14 cannot do; aya's
//! XDP attach also silently falls back to netlink when `BPF_LINK_CREATE` returns EINVAL. One
//! loader for both builds keeps one code path and one set of guarantees.

use std::{
    fmt, io,
    os::fd::{AsFd, BorrowedFd, OwnedFd},
    sync::{Arc, Mutex, Weak},
};

use crate::{
    abi::{cnt, META_LEN},
    sys,
};

/// Aligns an embedded object to 8 bytes, as ELF readers expect of 64-bit structures.
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

static PORTABLE_OBJ: &Aligned<[u8]> =
    &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/xptp.bpf.o")));
static HWTS_OBJ: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/xptp_hwts.bpf.o"
)));

const PROG_NAME: &str = "xptp_steer";
const XSKMAP_NAME: &str = "xsks";
const COUNTERS_NAME: &str = "xptp_counters";
/// The BTF tracepoint program (net_dev_start_xmit) that records veth wire stamps (see `xptp.bpf.c`).
const WIRE_PROG_NAME: &str = "xptp_veth_wire";
const WIRE_MAP_NAME: &str = "xptp_wire";
/// Environment switch: `XPTP_VETH_WIRE_STAMPS=0` keeps XDP-ingress times on veth ports.
pub const WIRE_ENV: &str = "XPTP_VETH_WIRE_STAMPS";
/// `max_entries` of the XSKMAP in `xptp.bpf.c`: the highest usable RX queue id is one less.
pub const MAX_QUEUES: u32 = 256;

/// Which build of `xptp.bpf.c` is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// No kfunc: loads and attaches anywhere (native or generic XDP). Metadata carries only the
    /// XDP-ingress CLOCK_TAI time.
    Portable,
    /// Calls `bpf_xdp_metadata_rx_timestamp`: device-bound, native mode only. Metadata carries
    /// the NIC RX timestamp when the driver provides one (`META_F_HW_VALID`).
    HwTimestamp,
}

impl Build {
    fn object(self) -> &'static [u8] {
        match self {
            Build::Portable => &PORTABLE_OBJ.0,
            Build::HwTimestamp => &HWTS_OBJ.0,
        }
    }
}

impl fmt::Display for Build {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Build::Portable => "portable (no hardware RX timestamp)",
            Build::HwTimestamp => "hardware RX timestamp (kfunc, device-bound)",
        })
    }
}

/// Requested attach mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttachMode {
    /// Native when the driver supports it, generic otherwise (the kernel decides).
    #[default]
    Auto,
    /// Driver (native) XDP; fails when the driver has none.
    Native,
    /// Generic (skb) XDP: works everywhere, slowest, no hardware timestamps.
    Skb,
}

impl AttachMode {
    pub(crate) fn flags(self) -> u32 {
        match self {
            AttachMode::Auto => 0,
            AttachMode::Native => libbpf_sys::XDP_FLAGS_DRV_MODE,
            AttachMode::Skb => libbpf_sys::XDP_FLAGS_SKB_MODE,
        }
    }
}

/// Mode the kernel reports for the attached program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveMode {
    /// Driver (native) XDP.
    Native,
    /// Generic (skb) XDP.
    Skb,
    /// Offloaded to the NIC.
    Hardware,
    /// The kernel reported something else (value of `XDP_ATTACHED_*`).
    Other(u8),
}

impl ActiveMode {
    pub(crate) fn from_attach_mode(m: u8) -> Self {
        match u32::from(m) {
            libbpf_sys::XDP_ATTACHED_DRV => ActiveMode::Native,
            libbpf_sys::XDP_ATTACHED_SKB => ActiveMode::Skb,
            libbpf_sys::XDP_ATTACHED_HW => ActiveMode::Hardware,
            m => ActiveMode::Other(m as u8),
        }
    }
}

/// What [`XdpSteering::attach`] ended up doing, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachStatus {
    /// Interface name.
    pub ifname: String,
    /// Interface index.
    pub ifindex: u32,
    /// Build that is attached.
    pub build: Build,
    /// Mode the kernel reports.
    pub mode: ActiveMode,
    /// Kernel id of the attached program (as `bpftool prog show id N` knows it).
    pub prog_id: u32,
    /// When the hardware-timestamp build was wanted but not attached: the reason.
    pub hw_ts_fallback: Option<String>,
    /// veth wire stamps are on: event frames take the peer's `veth_xmit` time as their
    /// ingress time (`META_F_WIRE`) instead of the later XDP-ingress time.
    pub wire_stamps: bool,
    /// On a veth port without wire stamps: why (disabled, or the tracepoint program could not be
    /// loaded or attached). `None` on other drivers, where they do not apply.
    pub wire_fallback: Option<String>,
}

/// Errors of loading and attaching, each naming the cause and the fix.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The interface name cannot be passed to the kernel.
    #[error("invalid interface name {ifname:?}")]
    InvalidInterfaceName {
        /// The name.
        ifname: String,
    },
    /// ENODEV: no such interface.
    #[error("interface {ifname:?} does not exist (check `ip link show`; inside a network namespace run xptp there)")]
    NoSuchInterface {
        /// The name.
        ifname: String,
    },
    /// EPERM/EACCES from the bpf syscall.
    #[error("{op}: permission denied: run as root or grant CAP_BPF and CAP_NET_ADMIN (AF_XDP sockets also need CAP_NET_RAW; systemd: AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_NET_RAW)")]
    PermissionDenied {
        /// Operation that failed.
        op: &'static str,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// The verifier (or libbpf's relocation step) rejected the program.
    #[error("loading the {build} build failed while {stage}: {source}; kernel/libbpf log:\n{log}")]
    Rejected {
        /// Build that was being loaded.
        build: Build,
        /// Step that failed.
        stage: String,
        /// libbpf and verifier messages.
        log: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The verifier (or libbpf) rejected an object loaded through [`crate::generic`].
    #[error(
        "loading XDP object {object:?} failed while {stage}: {source}; kernel/libbpf log:\n{log}"
    )]
    ObjectRejected {
        /// Object name.
        object: String,
        /// Step that failed.
        stage: String,
        /// libbpf and verifier messages.
        log: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Another XDP program is attached (EBUSY/EEXIST).
    #[error("interface {ifname:?} already has an XDP program (id {prog_id}): remove it with `ip link set dev {ifname} xdp off` (or `bpftool net detach xdp dev {ifname}`), or stop the process holding its link")]
    AlreadyAttached {
        /// Interface.
        ifname: String,
        /// Kernel id of the attached program, 0 if unknown.
        prog_id: u32,
    },
    /// ERANGE: MTU too large for a native XDP program without frags support.
    #[error("interface {ifname:?}: MTU {mtu} is too large for native XDP without multi-buffer support (veth: the peer's MTU must be at most 3506): lower it with `ip link set dev <if> mtu 1500` on both ends, or attach in skb (generic) mode")]
    MtuTooHigh {
        /// Interface.
        ifname: String,
        /// Its MTU.
        mtu: u32,
    },
    /// EOPNOTSUPP in native mode.
    #[error("interface {ifname:?}: the driver has no native XDP support: use mode auto or skb")]
    NativeUnsupported {
        /// Interface.
        ifname: String,
    },
    /// Queue id beyond the XSKMAP.
    #[error("RX queue {queue} is beyond the XSKMAP's {max} entries")]
    QueueOutOfRange {
        /// Queue id.
        queue: u32,
        /// Number of entries.
        max: u32,
    },
    /// The descriptor given to `register_xsk` is not a bound AF_XDP socket.
    #[error("registering the socket for RX queue {queue} failed: the fd must be an AF_XDP socket bound to this interface and queue ({source})")]
    NotAnXsk {
        /// Queue id.
        queue: u32,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// Any other failing system call.
    #[error("{op} failed: {source}")]
    Syscall {
        /// Operation.
        op: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

fn is_perm(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES))
}

/// Per-CPU counters of the program, summed over CPUs. Field names follow `abi::cnt`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Raw sums, indexed by `abi::cnt::*`.
    pub raw: [u64; cnt::MAX as usize],
}

impl Counters {
    fn at(&self, idx: u32) -> u64 {
        self.raw.get(idx as usize).copied().unwrap_or(0)
    }
    /// Frames passed because they are not PTP.
    pub fn passed_non_ptp(&self) -> u64 {
        self.at(cnt::PASS_NON_PTP)
    }
    /// Frames passed because a header was truncated or invalid.
    pub fn passed_malformed(&self) -> u64 {
        self.at(cnt::PASS_MALFORMED)
    }
    /// IP fragments passed to the kernel.
    pub fn passed_ip_fragment(&self) -> u64 {
        self.at(cnt::PASS_IP_FRAGMENT)
    }
    /// IPv6 frames with extension headers passed to the kernel.
    pub fn passed_ipv6_ext(&self) -> u64 {
        self.at(cnt::PASS_IPV6_EXT)
    }
    /// PTP over Ethernet frames steered.
    pub fn steered_l2(&self) -> u64 {
        self.at(cnt::STEER_L2)
    }
    /// PTP over UDP/IPv4 frames steered.
    pub fn steered_udp4(&self) -> u64 {
        self.at(cnt::STEER_UDP4)
    }
    /// PTP over UDP/IPv6 frames steered.
    pub fn steered_udp6(&self) -> u64 {
        self.at(cnt::STEER_UDP6)
    }
    /// Frames carrying a VLAN tag.
    pub fn vlan(&self) -> u64 {
        self.at(cnt::VLAN)
    }
    /// Steered frames that went without metadata.
    pub fn meta_failed(&self) -> u64 {
        self.at(cnt::META_FAILED)
    }
    /// Steered frames that fell back to the kernel because no socket serves their queue.
    pub fn no_socket(&self) -> u64 {
        self.at(cnt::NO_SOCKET)
    }
    /// Steered frames without a hardware RX timestamp (hardware-timestamp build only).
    pub fn hw_ts_missing(&self) -> u64 {
        self.at(cnt::HW_TS_MISSING)
    }
    /// Event frames whose ingress time is their veth wire stamp.
    pub fn wire_stamped(&self) -> u64 {
        self.at(cnt::WIRE_STAMPED)
    }
    /// Event frames whose wire stamp was stale (XDP-ingress time used instead).
    pub fn wire_stale(&self) -> u64 {
        self.at(cnt::WIRE_STALE)
    }
    /// All steered frames.
    pub fn steered(&self) -> u64 {
        self.steered_l2() + self.steered_udp4() + self.steered_udp6()
    }
    /// All frames the program has seen (the sum of the decision counters).
    pub fn seen(&self) -> u64 {
        self.steered()
            + self.passed_non_ptp()
            + self.passed_malformed()
            + self.passed_ip_fragment()
            + self.passed_ipv6_ext()
    }
}

/// Result of one `BPF_PROG_TEST_RUN` of the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRunOutput {
    /// XDP action returned (`XDP_PASS` = 2, `XDP_REDIRECT` = 4, ...).
    pub action: u32,
    /// The metadata block the program put in front of a redirected frame (empty when the
    /// frame was not redirected).
    pub meta: Vec<u8>,
    /// The frame after the program ran.
    pub frame: Vec<u8>,
}

/// A loaded (not attached) steering program with its maps.
#[derive(Debug)]
pub struct SteeringProgram {
    build: Build,
    prog: OwnedFd,
    /// The veth wire stamper (loaded, not yet attached), when asked for.
    wire_prog: Option<OwnedFd>,
    /// The wire-stamp table (`xptp_wire`).
    wire_map: OwnedFd,
    xsks: OwnedFd,
    counters: OwnedFd,
    ncpus: usize,
}

impl SteeringProgram {
    /// Loads the portable build (no device binding). Needs CAP_BPF (or root).
    pub fn load_portable() -> Result<Self, LoadError> {
        Self::load(Build::Portable, None)
    }

    /// Loads `build`; the hardware-timestamp build needs the interface index it will be bound
    /// to (`dev_ifindex`), the portable build ignores it.
    pub fn load(build: Build, dev_ifindex: Option<u32>) -> Result<Self, LoadError> {
        Self::load_with(build, dev_ifindex, WireLoad::Without)
    }

    /// As [`SteeringProgram::load`], with the wire-stamp table as `wire` says.
    fn load_with(
        build: Build,
        dev_ifindex: Option<u32>,
        wire: WireLoad<'_>,
    ) -> Result<Self, LoadError> {
        let dev_bound = match (build, dev_ifindex) {
            (Build::HwTimestamp, Some(ifx)) => Some((ifx, libbpf_sys::BPF_F_XDP_DEV_BOUND_ONLY)),
            (Build::HwTimestamp, None) => {
                return Err(LoadError::Syscall {
                    op: "loading the hardware-timestamp build",
                    source: io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "a device-bound build needs an interface index",
                    ),
                })
            }
            (Build::Portable, _) => None,
        };
        let _ = sys::take_log();
        let loaded = sys::load_object(
            build.object(),
            "xptp",
            PROG_NAME,
            if matches!(wire, WireLoad::NewStamper) {
                &[WIRE_PROG_NAME]
            } else {
                &[]
            },
            dev_bound,
            &[XSKMAP_NAME, COUNTERS_NAME, WIRE_MAP_NAME],
            &match wire {
                WireLoad::Share(fd) => vec![(WIRE_MAP_NAME, fd)],
                _ => vec![],
            },
        )
        .map_err(|(stage, source)| {
            let log = sys::take_log();
            if is_perm(&source) {
                return LoadError::PermissionDenied {
                    op: "loading the XDP program (bpf syscall)",
                    source,
                };
            }
            LoadError::Rejected {
                build,
                stage: stage.to_string(),
                log,
                source,
            }
        })?;
        let mut maps = loaded.maps.into_iter();
        let (Some(xsks), Some(counters), Some(wire_map)) = (maps.next(), maps.next(), maps.next())
        else {
            return Err(LoadError::Syscall {
                op: "finding the program's maps",
                source: io::Error::from_raw_os_error(libc::ENOENT),
            });
        };
        let ncpus = sys::possible_cpus().map_err(|source| LoadError::Syscall {
            op: "reading /sys/devices/system/cpu/possible",
            source,
        })?;
        Ok(SteeringProgram {
            build,
            prog: loaded.prog,
            wire_prog: loaded.extra.into_iter().next(),
            wire_map,
            xsks,
            counters,
            ncpus,
        })
    }

    /// Build in use.
    pub fn build(&self) -> Build {
        self.build
    }

    /// The program descriptor.
    pub fn prog_fd(&self) -> BorrowedFd<'_> {
        self.prog.as_fd()
    }

    /// The XSKMAP descriptor (key: RX queue id, value: AF_XDP socket fd).
    pub fn xskmap_fd(&self) -> BorrowedFd<'_> {
        self.xsks.as_fd()
    }

    /// Inserts the AF_XDP socket `xsk` as the target for frames steered from RX queue
    /// `queue_id`. The socket must already be bound to this interface and queue. Replaces any
    /// previous socket for that queue. Frames of queues without a socket go to the kernel.
    pub fn register_xsk(&self, queue_id: u32, xsk: BorrowedFd<'_>) -> Result<(), LoadError> {
        use std::os::fd::AsRawFd;
        if queue_id >= MAX_QUEUES {
            return Err(LoadError::QueueOutOfRange {
                queue: queue_id,
                max: MAX_QUEUES,
            });
        }
        let fd = u32::try_from(xsk.as_raw_fd()).map_err(|_| LoadError::NotAnXsk {
            queue: queue_id,
            source: io::Error::from_raw_os_error(libc::EBADF),
        })?;
        sys::map_update_u32(self.xsks.as_fd(), queue_id, fd).map_err(|source| {
            if is_perm(&source) {
                LoadError::PermissionDenied {
                    op: "updating the XSKMAP",
                    source,
                }
            } else {
                LoadError::NotAnXsk {
                    queue: queue_id,
                    source,
                }
            }
        })
    }

    /// Removes the socket of `queue_id` (its frames go to the kernel again). Removing a queue
    /// that has no socket is not an error.
    pub fn unregister_xsk(&self, queue_id: u32) -> Result<(), LoadError> {
        if queue_id >= MAX_QUEUES {
            return Err(LoadError::QueueOutOfRange {
                queue: queue_id,
                max: MAX_QUEUES,
            });
        }
        match sys::map_delete_u32(self.xsks.as_fd(), queue_id) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            Err(source) => Err(LoadError::Syscall {
                op: "deleting from the XSKMAP",
                source,
            }),
        }
    }

    /// Reads the per-CPU counters and sums them over CPUs.
    pub fn counters(&self) -> Result<Counters, LoadError> {
        let mut c = Counters::default();
        let mut per_cpu = vec![0u64; self.ncpus];
        for (idx, slot) in c.raw.iter_mut().enumerate() {
            sys::percpu_lookup_u64(self.counters.as_fd(), idx as u32, &mut per_cpu).map_err(
                |source| LoadError::Syscall {
                    op: "reading the per-CPU counters",
                    source,
                },
            )?;
            *slot = per_cpu.iter().copied().fold(0u64, u64::wrapping_add);
        }
        Ok(c)
    }

    /// Runs the program once on `frame` (`BPF_PROG_TEST_RUN`) as if received on `rx_queue`.
    /// Counters are updated as for a real frame. Not available for the device-bound build.
    pub fn test_run(&self, frame: &[u8], rx_queue: u32) -> Result<TestRunOutput, LoadError> {
        let r = sys::xdp_test_run(self.prog.as_fd(), frame, rx_queue).map_err(|source| {
            LoadError::Syscall {
                op: "BPF_PROG_TEST_RUN",
                source,
            }
        })?;
        // Output starts at data_meta (empty: the program does not use the XDP metadata
        // area); a redirected frame starts with the program's block (xptp_meta.h).
        let start = (r.ctx.data as usize).min(r.data.len());
        let out = &r.data[start..];
        let meta_len = if r.retval == libbpf_sys::XDP_REDIRECT && out.len() >= META_LEN {
            META_LEN
        } else {
            0
        };
        let (meta, frame) = out.split_at(meta_len);
        Ok(TestRunOutput {
            action: r.retval,
            meta: meta.to_vec(),
            frame: frame.to_vec(),
        })
    }
}

/// The steering program attached to one interface. Dropping it detaches the program.
#[derive(Debug)]
pub struct XdpSteering {
    program: SteeringProgram,
    // Declared after `program`: dropped last would not matter, the link holds its own program
    // reference. Closing this descriptor is what detaches.
    link: OwnedFd,
    /// The process's veth wire stamper, when this port uses it.
    wire: Option<Arc<WireStamper>>,
    status: AttachStatus,
}

/// Whether veth wire stamps apply to `ifname` and are wanted: `(applies, wanted)`.
fn wire_stamps_wanted(ifname: &str) -> (bool, bool) {
    let veth = sys::if_driver(ifname).as_deref() == Some("veth");
    let wanted = veth && std::env::var(WIRE_ENV).map_or(true, |v| v.trim() != "0");
    (veth, wanted)
}

/// How a steering program gets its wire-stamp table.
#[derive(Clone, Copy, Debug)]
enum WireLoad<'a> {
    /// Its own table, unused (not a veth, or wire stamps off).
    Without,
    /// Its own table, with the stamper program loaded for it (the process's first veth port).
    NewStamper,
    /// The table of the process's running stamper.
    Share(BorrowedFd<'a>),
}

/// The process's veth wire stamper: the net_dev_start_xmit program, attached, and its table.
/// Every veth port's steering program is loaded with this one table (`WireLoad::Share`), so
/// that the ingress and egress stamps of a residence come from one hook (see xptp.bpf.c).
/// Detached when the last port holding it is dropped.
#[derive(Debug)]
struct WireStamper {
    /// The tracepoint link: closing it detaches the stamper.
    _link: OwnedFd,
    /// The mapped table; it also holds the map descriptor later ports are loaded with.
    table: Arc<crate::WireTable>,
}

/// The running stamper, if a port holds one.
static STAMPER: Mutex<Weak<WireStamper>> = Mutex::new(Weak::new());

impl WireStamper {
    /// Attaches the stamper `program` was loaded with and maps its table.
    fn start(program: &mut SteeringProgram) -> Result<Self, String> {
        let prog = program
            .wire_prog
            .take()
            .ok_or("the stamper program was not loaded")?;
        let link = sys::tp_btf_attach(prog.as_fd())
            .map_err(|e| format!("attaching the net_dev_start_xmit tracepoint program: {e}"))?;
        // TX stamps need the table mapped; without it RX and TX stamps would be taken at
        // different points, which is worse than neither: no stamper then.
        let table = program
            .wire_map
            .try_clone()
            .and_then(crate::WireTable::map)
            .map_err(|e| format!("mapping the wire-stamp table (mmap): {e}"))?;
        Ok(WireStamper {
            _link: link,
            table: Arc::new(table),
        })
    }
}

/// Loads `build`; with `wire`, joins the process's wire stamper, starting it when none runs.
/// When that fails the program is loaded without it and the reason lands in `fallback`.
fn load_program(
    build: Build,
    dev_ifindex: Option<u32>,
    wire: bool,
    fallback: &mut Option<String>,
) -> Result<(SteeringProgram, Option<Arc<WireStamper>>), LoadError> {
    if wire {
        // Held across the load, so that two ports attaching at once start one stamper.
        let mut running = STAMPER.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(st) = running.upgrade() {
            match SteeringProgram::load_with(build, dev_ifindex, WireLoad::Share(st.table.map_fd()))
            {
                Ok(p) => return Ok((p, Some(st))),
                Err(e) => {
                    *fallback = Some(format!("loading with the shared wire-stamp table: {e}"))
                }
            }
        } else {
            match SteeringProgram::load_with(build, dev_ifindex, WireLoad::NewStamper) {
                Ok(mut p) => {
                    return Ok(match WireStamper::start(&mut p) {
                        Ok(st) => {
                            let st = Arc::new(st);
                            *running = Arc::downgrade(&st);
                            (p, Some(st))
                        }
                        Err(why) => {
                            *fallback = Some(why);
                            (p, None)
                        }
                    })
                }
                Err(e) => {
                    *fallback = Some(format!(
                        "the net_dev_start_xmit tracepoint program did not load ({e}); needs \
                         kernel BTF (CONFIG_DEBUG_INFO_BTF) and BTF tracepoints (kernel >= 5.5)"
                    ))
                }
            }
        }
    }
    Ok((
        SteeringProgram::load_with(build, dev_ifindex, WireLoad::Without)?,
        None,
    ))
}

impl XdpSteering {
    /// Loads and attaches the steering program to `ifname`.
    ///
    /// With `want_hw_ts`, first tries the hardware-timestamp build (device-bound, native mode);
    /// when that is impossible (skb mode requested, kernel or driver refuses) it falls back to
    /// the portable build and records why in [`AttachStatus::hw_ts_fallback`] (also logged).
    pub fn attach(ifname: &str, mode: AttachMode, want_hw_ts: bool) -> Result<Self, LoadError> {
        if ifname.is_empty() || ifname.len() >= libc::IF_NAMESIZE || ifname.contains('\0') {
            return Err(LoadError::InvalidInterfaceName {
                ifname: ifname.to_string(),
            });
        }
        let ifindex = sys::if_index(ifname).ok_or_else(|| LoadError::NoSuchInterface {
            ifname: ifname.to_string(),
        })?;
        if let Ok(false) = crate::preflight::interface_is_up(ifname) {
            tracing::warn!(ifname, "interface is down: the program attaches but sees no traffic until `ip link set dev {ifname} up`");
        }
        // Refuse early, with the id, when someone else's program is there.
        match sys::xdp_query(ifindex) {
            Ok(q)
                if q.prog_id != 0
                    || q.drv_prog_id != 0
                    || q.skb_prog_id != 0
                    || q.hw_prog_id != 0 =>
            {
                let prog_id = [q.prog_id, q.drv_prog_id, q.skb_prog_id, q.hw_prog_id]
                    .into_iter()
                    .find(|&i| i != 0)
                    .unwrap_or(0);
                return Err(LoadError::AlreadyAttached {
                    ifname: ifname.to_string(),
                    prog_id,
                });
            }
            Ok(_) => {}
            Err(source) if is_perm(&source) => {
                return Err(LoadError::PermissionDenied {
                    op: "querying the interface's XDP state (netlink)",
                    source,
                })
            }
            Err(e) => tracing::debug!(ifname, error = %e, "XDP query failed; attaching anyway"),
        }

        let (veth, wire) = wire_stamps_wanted(ifname);
        let mut wire_fallback = (veth && !wire).then(|| format!("disabled by {WIRE_ENV}=0"));
        let mut hw_ts_fallback = None;
        if want_hw_ts {
            match Self::try_attach_hw(ifname, ifindex, mode, wire) {
                Ok(s) => return Ok(s),
                Err(reason) => {
                    tracing::warn!(
                        ifname,
                        %reason,
                        "hardware-timestamp XDP build not attached; falling back to the portable build"
                    );
                    hw_ts_fallback = Some(reason);
                }
            }
        }
        let (program, stamper) = load_program(Build::Portable, None, wire, &mut wire_fallback)?;
        let link = Self::link(&program, ifname, ifindex, mode.flags(), mode)?;
        let s = Self::finish(
            program,
            link,
            ifname,
            ifindex,
            hw_ts_fallback,
            (stamper, wire_fallback),
        );
        Ok(s)
    }

    fn try_attach_hw(
        ifname: &str,
        ifindex: u32,
        mode: AttachMode,
        wire: bool,
    ) -> Result<Self, String> {
        if mode == AttachMode::Skb {
            return Err("skb (generic) mode was requested; device-bound programs attach in native mode only".into());
        }
        if !crate::preflight::btf_available() {
            return Err(format!(
                "{} is missing: the kfunc cannot be resolved without kernel BTF (CONFIG_DEBUG_INFO_BTF=y)",
                crate::preflight::VMLINUX_BTF
            ));
        }
        let mut wire_fallback = None;
        let (program, stamper) =
            load_program(Build::HwTimestamp, Some(ifindex), wire, &mut wire_fallback)
                .map_err(|e| format!("loading device-bound: {e}"))?;
        let link = Self::link(
            &program,
            ifname,
            ifindex,
            libbpf_sys::XDP_FLAGS_DRV_MODE,
            AttachMode::Native,
        )
        .map_err(|e| format!("attaching in native mode: {e}"))?;
        Ok(Self::finish(
            program,
            link,
            ifname,
            ifindex,
            None,
            (stamper, wire_fallback),
        ))
    }

    fn link(
        program: &SteeringProgram,
        ifname: &str,
        ifindex: u32,
        flags: u32,
        mode: AttachMode,
    ) -> Result<OwnedFd, LoadError> {
        sys::xdp_link_create(program.prog_fd(), ifindex, flags).map_err(|source| {
            let ifname = ifname.to_string();
            match source.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => LoadError::PermissionDenied {
                    op: "attaching the XDP program (BPF_LINK_CREATE)",
                    source,
                },
                Some(libc::ENODEV) => LoadError::NoSuchInterface { ifname },
                Some(libc::EBUSY) | Some(libc::EEXIST) => {
                    let prog_id = sys::xdp_query(ifindex).map(|q| q.prog_id).unwrap_or(0);
                    LoadError::AlreadyAttached { ifname, prog_id }
                }
                Some(libc::ERANGE) => LoadError::MtuTooHigh {
                    mtu: crate::preflight::interface_mtu(&ifname).unwrap_or(0),
                    ifname,
                },
                Some(libc::EOPNOTSUPP) if mode == AttachMode::Native => {
                    LoadError::NativeUnsupported { ifname }
                }
                _ => LoadError::Syscall {
                    op: "attaching the XDP program (BPF_LINK_CREATE)",
                    source,
                },
            }
        })
    }

    fn finish(
        program: SteeringProgram,
        link: OwnedFd,
        ifname: &str,
        ifindex: u32,
        hw_ts_fallback: Option<String>,
        (wire, wire_fallback): (Option<Arc<WireStamper>>, Option<String>),
    ) -> Self {
        let q = sys::xdp_query(ifindex).unwrap_or_default();
        let mode = match u32::from(q.attach_mode) {
            libbpf_sys::XDP_ATTACHED_DRV => ActiveMode::Native,
            libbpf_sys::XDP_ATTACHED_SKB => ActiveMode::Skb,
            libbpf_sys::XDP_ATTACHED_HW => ActiveMode::Hardware,
            m => ActiveMode::Other(m as u8),
        };
        let status = AttachStatus {
            ifname: ifname.to_string(),
            ifindex,
            build: program.build(),
            mode,
            prog_id: q.prog_id,
            hw_ts_fallback,
            wire_stamps: wire.is_some(),
            wire_fallback,
        };
        if let Some(why) = &status.wire_fallback {
            tracing::warn!(
                ifname,
                reason = %why,
                "veth port without wire stamps: event frames are stamped at XDP ingress, a \
                 variable softirq delay after the peer sent them"
            );
        }
        tracing::info!(
            ifname,
            ifindex,
            build = %status.build,
            mode = ?status.mode,
            prog_id = status.prog_id,
            hw_ts_fallback = status.hw_ts_fallback.as_deref().unwrap_or("-"),
            wire_stamps = status.wire_stamps,
            "XDP steering program attached (bpf_link)"
        );
        XdpSteering {
            program,
            link,
            wire,
            status,
        }
    }

    /// What is attached, in which mode, and why the hardware-timestamp build is not (if so).
    pub fn status(&self) -> &AttachStatus {
        &self.status
    }

    /// The loaded program and its maps.
    pub fn program(&self) -> &SteeringProgram {
        &self.program
    }

    /// See [`SteeringProgram::register_xsk`].
    pub fn register_xsk(&self, queue_id: u32, xsk: BorrowedFd<'_>) -> Result<(), LoadError> {
        self.program.register_xsk(queue_id, xsk)
    }

    /// See [`SteeringProgram::unregister_xsk`].
    pub fn unregister_xsk(&self, queue_id: u32) -> Result<(), LoadError> {
        self.program.unregister_xsk(queue_id)
    }

    /// See [`SteeringProgram::counters`].
    pub fn counters(&self) -> Result<Counters, LoadError> {
        self.program.counters()
    }

    /// The bpf_link descriptor (closing it detaches).
    pub fn link_fd(&self) -> BorrowedFd<'_> {
        self.link.as_fd()
    }

    /// The wire-stamp table, for TX stamps taken at the same hook as the RX ones (see
    /// [`crate::wire`]); `None` when wire stamps are off.
    pub fn wire_table(&self) -> Option<Arc<crate::WireTable>> {
        self.wire.as_ref().map(|w| Arc::clone(&w.table))
    }

    /// Detaches now (same as dropping). The kernel detaches when the last reference to the
    /// link is closed: a child forked at this moment holds a copy until it execs (bpf
    /// descriptors are close-on-exec), so the detach can trail by that window.
    pub fn detach(self) {
        drop(self);
    }
}

impl Drop for XdpSteering {
    fn drop(&mut self) {
        tracing::info!(
            ifname = %self.status.ifname,
            prog_id = self.status.prog_id,
            "detaching XDP steering program"
        );
    }
}
