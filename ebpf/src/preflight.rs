//! Startup checks run before anything is loaded or bound: capabilities, RLIMIT_MEMLOCK for the
//! UMEM, kernel BTF, AF_XDP support, interface presence/state/MTU. Each failure is an error that
//! says what is wrong and what to type to fix it.
//!
//! The decision logic is pure (capability masks, limit arithmetic, MTU bounds) and tested with
//! fakes; the thin readers around it look at /proc, /sys and one socket(2) call. Nothing here
//! changes system state except [`ensure_memlock`], which only raises this process's own limit.

use std::{fs, io, path::Path};

/// Path of the kernel's own BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Capability bit numbers (linux/capability.h).
pub mod cap {
    /// CAP_NET_ADMIN: attach XDP programs.
    pub const NET_ADMIN: u32 = 12;
    /// CAP_NET_RAW: create AF_XDP sockets.
    pub const NET_RAW: u32 = 13;
    /// CAP_IPC_LOCK: lock memory without limit; the kernel does not charge a UMEM to
    /// RLIMIT_MEMLOCK for a holder (`xdp_umem_account_pages`).
    pub const IPC_LOCK: u32 = 14;
    /// CAP_SYS_ADMIN: covers CAP_BPF on kernels before 5.8.
    pub const SYS_ADMIN: u32 = 21;
    /// CAP_SYS_RESOURCE: raise RLIMIT_MEMLOCK above the hard limit.
    pub const SYS_RESOURCE: u32 = 24;
    /// CAP_BPF: load programs and create maps.
    pub const BPF: u32 = 39;
}

/// Largest MTU for native XDP without multi-buffer ("frags") support on 4 KiB pages: one page
/// minus XDP headroom (256) and skb_shared_info (320), minus the Ethernet header. veth enforces
/// exactly this on the peer's MTU; most drivers have a similar single-buffer bound.
pub const NATIVE_XDP_MAX_MTU: u32 = 3506;

/// What a preflight check found wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreflightError {
    /// Capabilities missing from the effective set.
    #[error("missing capabilities {missing:?}: run as root, or grant them (systemd: AmbientCapabilities={fix}; binary: setcap {setcap}+ep <path>)", fix = missing.join(" "), setcap = missing.iter().map(|c| c.to_lowercase()).collect::<Vec<_>>().join(","))]
    MissingCaps {
        /// Capability names, e.g. "CAP_BPF".
        missing: Vec<String>,
    },
    /// /proc/self/status could not be read or parsed.
    #[error("cannot determine capabilities from /proc/self/status: {0}")]
    CapsUnknown(String),
    /// RLIMIT_MEMLOCK below what the UMEM pins.
    #[error("RLIMIT_MEMLOCK is {current} bytes but the UMEM needs {needed} bytes ({needed_kib} KiB) locked: run `ulimit -l {needed_kib}` (or `ulimit -l unlimited`) before starting, or set LimitMEMLOCK=infinity in the systemd unit", current = fmt_limit(*current), needed_kib = needed.div_ceil(1024))]
    MemlockTooLow {
        /// Current soft limit (`u64::MAX` = unlimited).
        current: u64,
        /// Bytes needed.
        needed: u64,
    },
    /// No kernel BTF.
    #[error("{VMLINUX_BTF} is missing: the kernel was built without CONFIG_DEBUG_INFO_BTF; hardware RX timestamps in XDP need it (use a distribution kernel with BTF, or run without hardware timestamps)")]
    NoBtf,
    /// socket(AF_XDP) failed.
    #[error("AF_XDP sockets are not available ({0}): the kernel needs CONFIG_XDP_SOCKETS=y (Linux 4.18+)")]
    NoAfXdp(String),
    /// Interface absent.
    #[error("interface {0:?} does not exist (see `ip link show`)")]
    NoSuchInterface(String),
    /// Interface administratively down.
    #[error("interface {0:?} is down: `ip link set dev {0} up`")]
    InterfaceDown(String),
    /// MTU above the native-XDP single-buffer bound.
    #[error("interface {ifname:?} has MTU {mtu}, above {max} which native XDP without multi-buffer supports: `ip link set dev {ifname} mtu 1500` (on veth: on both ends), or use skb mode")]
    MtuTooHigh {
        /// Interface.
        ifname: String,
        /// Its MTU.
        mtu: u32,
        /// The bound.
        max: u32,
    },
}

fn fmt_limit(v: u64) -> String {
    if v == u64::MAX {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

/// Parses the `CapEff:` line of /proc/<pid>/status (hex mask).
pub fn parse_cap_eff(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// Capabilities xptp needs that `cap_eff` lacks. CAP_SYS_ADMIN stands in for CAP_BPF.
pub fn missing_caps(cap_eff: u64) -> Vec<String> {
    let has = |c: u32| cap_eff & (1u64 << c) != 0;
    let mut missing = Vec::new();
    if !has(cap::BPF) && !has(cap::SYS_ADMIN) {
        missing.push("CAP_BPF".to_string());
    }
    if !has(cap::NET_ADMIN) {
        missing.push("CAP_NET_ADMIN".to_string());
    }
    if !has(cap::NET_RAW) {
        missing.push("CAP_NET_RAW".to_string());
    }
    missing
}

/// Whether this process has CAP_IPC_LOCK in its effective set.
pub fn has_ipc_lock() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| parse_cap_eff(&s))
        .is_some_and(|eff| eff & (1u64 << cap::IPC_LOCK) != 0)
}

/// Checks this process's effective capabilities.
pub fn check_caps() -> Result<(), PreflightError> {
    let status = fs::read_to_string("/proc/self/status")
        .map_err(|e| PreflightError::CapsUnknown(e.to_string()))?;
    let eff = parse_cap_eff(&status)
        .ok_or_else(|| PreflightError::CapsUnknown("no CapEff line".into()))?;
    let missing = missing_caps(eff);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PreflightError::MissingCaps { missing })
    }
}

/// Bytes of locked memory a UMEM of `umem_bytes` pins: whole pages.
pub fn memlock_needed(umem_bytes: u64, page_size: u64) -> u64 {
    let page = page_size.max(1);
    umem_bytes.div_ceil(page).saturating_mul(page)
}

/// Pure check of a soft limit against a UMEM size (`u64::MAX` = unlimited).
pub fn check_memlock_limit(
    soft: u64,
    umem_bytes: u64,
    page_size: u64,
) -> Result<(), PreflightError> {
    let needed = memlock_needed(umem_bytes, page_size);
    if soft == u64::MAX || soft >= needed {
        Ok(())
    } else {
        Err(PreflightError::MemlockTooLow {
            current: soft,
            needed,
        })
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

fn memlock_rlimit() -> io::Result<libc::rlimit> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

fn as_limit(v: libc::rlim_t) -> u64 {
    if v == libc::RLIM_INFINITY {
        u64::MAX
    } else {
        #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not on every target
        {
            v as u64
        }
    }
}

/// Checks RLIMIT_MEMLOCK against `umem_bytes` (the sum over all UMEMs the process creates).
pub fn check_memlock(umem_bytes: u64) -> Result<(), PreflightError> {
    let r = memlock_rlimit().map_err(|e| PreflightError::CapsUnknown(e.to_string()))?;
    check_memlock_limit(as_limit(r.rlim_cur), umem_bytes, page_size())
}

/// Raises this process's RLIMIT_MEMLOCK soft limit so `umem_bytes` can be locked (up to the
/// hard limit, or beyond with CAP_SYS_RESOURCE); errors with the fix when it cannot. A process
/// with CAP_IPC_LOCK needs no limit at all (root in a container without CAP_SYS_RESOURCE, whose
/// hard limit is often 8 MiB: three ports' UMEMs already exceed it).
pub fn ensure_memlock(umem_bytes: u64) -> Result<(), PreflightError> {
    let r = memlock_rlimit().map_err(|e| PreflightError::CapsUnknown(e.to_string()))?;
    let needed = memlock_needed(umem_bytes, page_size());
    if check_memlock_limit(as_limit(r.rlim_cur), umem_bytes, page_size()).is_ok() {
        return Ok(());
    }
    let target = libc::rlimit {
        rlim_cur: needed as libc::rlim_t,
        rlim_max: if as_limit(r.rlim_max) >= needed {
            r.rlim_max
        } else {
            needed as libc::rlim_t
        },
    };
    // SAFETY: `target` is a valid rlimit; setrlimit only affects this process.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &target) } == 0 {
        tracing::info!(needed, "raised RLIMIT_MEMLOCK for the UMEM");
        return Ok(());
    }
    if has_ipc_lock() {
        tracing::info!(
            needed,
            "RLIMIT_MEMLOCK below the UMEM size, but CAP_IPC_LOCK exempts it from the limit"
        );
        return Ok(());
    }
    Err(PreflightError::MemlockTooLow {
        current: as_limit(r.rlim_cur),
        needed,
    })
}

/// Whether the kernel exposes its BTF.
pub fn btf_available() -> bool {
    Path::new(VMLINUX_BTF).exists()
}

/// Checks kernel BTF.
pub fn check_btf() -> Result<(), PreflightError> {
    if btf_available() {
        Ok(())
    } else {
        Err(PreflightError::NoBtf)
    }
}

/// Checks that AF_XDP sockets can be created (kernel support and CAP_NET_RAW).
pub fn check_af_xdp() -> Result<(), PreflightError> {
    // SAFETY: plain socket(2); the descriptor is closed right away when created.
    let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => PreflightError::MissingCaps {
                missing: vec!["CAP_NET_RAW".into()],
            },
            _ => PreflightError::NoAfXdp(e.to_string()),
        });
    }
    // SAFETY: `fd` was just created by us and is closed once.
    unsafe { libc::close(fd) };
    Ok(())
}

/// Whether interface flags (`SIOCGIFFLAGS`) say administratively up.
pub fn flags_up(flags: u32) -> bool {
    flags & libc::IFF_UP as u32 != 0
}

/// Whether `ifname` is administratively up in the calling thread's network namespace (`Err`
/// when it does not exist there).
pub fn interface_is_up(ifname: &str) -> Result<bool, PreflightError> {
    crate::sys::if_flags_mtu(ifname)
        .map(|(flags, _)| flags_up(flags))
        .ok_or_else(|| PreflightError::NoSuchInterface(ifname.to_string()))
}

/// MTU of `ifname` in the calling thread's network namespace.
pub fn interface_mtu(ifname: &str) -> Option<u32> {
    crate::sys::if_flags_mtu(ifname).map(|(_, mtu)| mtu)
}

/// Pure MTU check for native XDP without multi-buffer support.
pub fn check_mtu_value(ifname: &str, mtu: u32) -> Result<(), PreflightError> {
    if mtu > NATIVE_XDP_MAX_MTU {
        Err(PreflightError::MtuTooHigh {
            ifname: ifname.to_string(),
            mtu,
            max: NATIVE_XDP_MAX_MTU,
        })
    } else {
        Ok(())
    }
}

/// Checks that `ifname` exists, is up, and (for native mode) has an MTU native XDP accepts.
pub fn check_interface(ifname: &str, native: bool) -> Result<(), PreflightError> {
    if !interface_is_up(ifname)? {
        return Err(PreflightError::InterfaceDown(ifname.to_string()));
    }
    if native {
        if let Some(mtu) = interface_mtu(ifname) {
            check_mtu_value(ifname, mtu)?;
        }
    }
    Ok(())
}

/// Runs every check for one port and returns all problems at once (empty = ready).
/// `want_hw_ts` makes missing BTF an error rather than a silent fallback.
pub fn check_all(
    ifname: &str,
    umem_bytes: u64,
    native: bool,
    want_hw_ts: bool,
) -> Vec<PreflightError> {
    let mut errs = Vec::new();
    errs.extend(check_caps().err());
    errs.extend(check_memlock(umem_bytes).err());
    if want_hw_ts {
        errs.extend(check_btf().err());
    }
    errs.extend(check_af_xdp().err());
    errs.extend(check_interface(ifname, native).err());
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_ROOT: &str = "Name:\tcat\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n";
    const STATUS_USER: &str = "Name:\tcat\nCapEff:\t0000000000000000\n";

    #[test]
    fn cap_eff_parses_from_proc_status_text() {
        assert_eq!(parse_cap_eff(STATUS_ROOT), Some(0x1ff_ffff_ffff));
        assert_eq!(parse_cap_eff(STATUS_USER), Some(0));
        assert_eq!(parse_cap_eff("Name: x\n"), None);
        assert_eq!(parse_cap_eff("CapEff:\tzz\n"), None);
    }

    #[test]
    fn root_has_everything_and_user_lacks_three() {
        assert!(missing_caps(0x1ff_ffff_ffff).is_empty());
        assert_eq!(
            missing_caps(0),
            vec!["CAP_BPF", "CAP_NET_ADMIN", "CAP_NET_RAW"]
        );
    }

    #[test]
    fn sys_admin_stands_in_for_cap_bpf() {
        let eff = (1 << cap::SYS_ADMIN) | (1 << cap::NET_ADMIN) | (1 << cap::NET_RAW);
        assert!(missing_caps(eff).is_empty());
        let eff = (1u64 << cap::BPF) | (1 << cap::NET_RAW);
        assert_eq!(missing_caps(eff), vec!["CAP_NET_ADMIN"]);
    }

    #[test]
    fn missing_caps_message_names_the_fix() {
        let e = PreflightError::MissingCaps {
            missing: vec!["CAP_BPF".into(), "CAP_NET_RAW".into()],
        };
        let m = e.to_string();
        assert!(m.contains("AmbientCapabilities=CAP_BPF CAP_NET_RAW"), "{m}");
        assert!(m.contains("setcap cap_bpf,cap_net_raw+ep"), "{m}");
    }

    #[test]
    fn memlock_rounds_up_to_pages() {
        assert_eq!(memlock_needed(0, 4096), 0);
        assert_eq!(memlock_needed(1, 4096), 4096);
        assert_eq!(memlock_needed(4096, 4096), 4096);
        assert_eq!(memlock_needed(4097, 4096), 8192);
        assert_eq!(memlock_needed(u64::MAX, 4096), u64::MAX);
    }

    #[test]
    fn memlock_limit_decisions() {
        // 4096 frames of 4 KiB = 16 MiB UMEM against the common 8 MiB default.
        let umem = 4096 * 4096;
        let err = check_memlock_limit(8 * 1024 * 1024, umem, 4096).unwrap_err();
        assert_eq!(
            err,
            PreflightError::MemlockTooLow {
                current: 8 * 1024 * 1024,
                needed: umem
            }
        );
        let m = err.to_string();
        assert!(m.contains("ulimit -l 16384"), "{m}");
        assert!(m.contains("LimitMEMLOCK=infinity"), "{m}");
        assert!(check_memlock_limit(umem, umem, 4096).is_ok());
        assert!(check_memlock_limit(u64::MAX, umem, 4096).is_ok());
    }

    #[test]
    fn mtu_bound_is_the_veth_native_limit() {
        assert!(check_mtu_value("v0", 1500).is_ok());
        assert!(check_mtu_value("v0", 3506).is_ok());
        let e = check_mtu_value("v0", 9000).unwrap_err();
        assert!(e.to_string().contains("ip link set dev v0 mtu 1500"), "{e}");
    }

    #[test]
    fn interface_flags_decide_up() {
        assert!(flags_up(0x1003));
        assert!(!flags_up(0x1002));
    }

    #[test]
    fn loopback_exists_and_reports_an_mtu() {
        assert!(interface_mtu("lo").is_some_and(|m| m >= 1500));
    }

    #[test]
    fn absent_interface_is_reported_by_name() {
        let e = interface_is_up("xptp-nonexistent0").unwrap_err();
        assert_eq!(
            e,
            PreflightError::NoSuchInterface("xptp-nonexistent0".into())
        );
        assert!(interface_is_up("../etc").is_err());
    }
}
