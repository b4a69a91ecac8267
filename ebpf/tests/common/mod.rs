//! Shared helpers of the root-only integration tests.
#![allow(dead_code)]

/// True when the test may run. Not root: prints why and returns false, unless
/// XPTP_REQUIRE_ROOT=1 (CI), in which case it panics so the skip cannot go unnoticed.
pub fn require_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("XPTP_REQUIRE_ROOT").as_deref() == Ok("1") {
        panic!("{test}: needs root (XPTP_REQUIRE_ROOT=1 is set)");
    }
    eprintln!(
        "SKIP {test}: needs root (BPF_PROG_LOAD, netns); set XPTP_REQUIRE_ROOT=1 to fail instead"
    );
    false
}

/// CLOCK_TAI now, in ns.
pub fn tai_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_TAI, &mut ts) };
    assert_eq!(r, 0, "clock_gettime(CLOCK_TAI)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

use std::{os::fd::AsRawFd, process::Command};

/// Runs `ip` with `args`; panics with its stderr on failure.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("running ip(8)");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Output of `ip args...` (stdout).
pub fn ip_out(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("running ip(8)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two network namespaces joined by a veth pair, 10.<n>.0.1/24 (a) and 10.<n>.0.2/24 (b),
/// IPv6 disabled to keep the counters quiet. Deleted on drop (which destroys the veth too).
pub struct VethPair {
    pub ns_a: String,
    pub ns_b: String,
    pub if_a: String,
    pub if_b: String,
    pub addr_a: std::net::Ipv4Addr,
    pub addr_b: std::net::Ipv4Addr,
}

impl VethPair {
    /// `tag` keeps names unique between tests of one process (with the pid).
    pub fn new(tag: &str) -> Self {
        let pid = std::process::id();
        let n = (pid % 200 + 20) as u8;
        let v = VethPair {
            ns_a: format!("xptp-{tag}-a-{pid}"),
            ns_b: format!("xptp-{tag}-b-{pid}"),
            if_a: format!("xe{tag}a{}", pid % 100000),
            if_b: format!("xe{tag}b{}", pid % 100000),
            addr_a: std::net::Ipv4Addr::new(10, n, 0, 1),
            addr_b: std::net::Ipv4Addr::new(10, n, 0, 2),
        };
        ip(&["netns", "add", &v.ns_a]);
        ip(&["netns", "add", &v.ns_b]);
        ip(&[
            "link", "add", &v.if_a, "netns", &v.ns_a, "type", "veth", "peer", "name", &v.if_b,
            "netns", &v.ns_b,
        ]);
        for (ns, ifn, addr) in [(&v.ns_a, &v.if_a, v.addr_a), (&v.ns_b, &v.if_b, v.addr_b)] {
            for knob in [
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ] {
                let _ = Command::new("ip")
                    .args(["netns", "exec", ns, "sysctl", "-qw", knob])
                    .status();
            }
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", ifn]);
            ip(&["-n", ns, "link", "set", ifn, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        v
    }

    /// `ip -d link show` of side a's interface.
    pub fn link_a(&self) -> String {
        ip_out(&["-n", &self.ns_a, "-d", "link", "show", "dev", &self.if_a])
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns_a])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns_b])
            .status();
    }
}

/// Runs `f` on a fresh thread that has joined network namespace `ns`: sockets, interface
/// lookups and XDP attachments made inside belong to `ns` and stay usable afterwards.
pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::scope(|s| {
        s.spawn(|| {
            let file = std::fs::File::open(&path).expect("opening the netns handle");
            // SAFETY: setns on this thread only (CLONE_NEWNET), with a valid netns descriptor.
            let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns({path}): {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("netns thread panicked")
    })
}

/// A minimal AF_XDP socket (copy mode) bound to one queue: UMEM registered, rings sized but
/// never mapped or filled. Enough for the XSKMAP to accept it and for redirects to target it;
/// frames redirected to it are dropped by the kernel (empty fill ring), which is all a loader
/// test needs. The real datapath lives in xptp-datapath.
pub struct RawXsk {
    pub fd: std::os::fd::OwnedFd,
    umem: *mut libc::c_void,
    umem_len: usize,
}

// SAFETY: the UMEM pointer is only passed to munmap in Drop; nothing dereferences it.
unsafe impl Send for RawXsk {}

impl RawXsk {
    pub fn bind(ifname: &str, queue: u32) -> std::io::Result<Self> {
        use std::os::fd::FromRawFd;
        let last = std::io::Error::last_os_error;
        let ifindex = {
            let c = std::ffi::CString::new(ifname).unwrap();
            // SAFETY: NUL-terminated name.
            unsafe { libc::if_nametoindex(c.as_ptr()) }
        };
        if ifindex == 0 {
            return Err(last());
        }
        // SAFETY: plain socket(2).
        let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(last());
        }
        // SAFETY: fresh descriptor we own.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        let umem_len = 64 * 2048;
        // SAFETY: anonymous private mapping; checked for MAP_FAILED.
        let umem = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                umem_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if umem == libc::MAP_FAILED {
            return Err(last());
        }
        let me = RawXsk { fd, umem, umem_len };
        let raw = me.fd.as_raw_fd();
        let reg = libc::xdp_umem_reg {
            addr: umem as u64,
            len: umem_len as u64,
            chunk_size: 2048,
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        };
        let setopt = |name: libc::c_int, val: *const libc::c_void, len: usize| {
            // SAFETY: `val` points at `len` readable bytes for the call.
            let r = unsafe { libc::setsockopt(raw, libc::SOL_XDP, name, val, len as u32) };
            if r != 0 {
                Err(last())
            } else {
                Ok(())
            }
        };
        setopt(
            libc::XDP_UMEM_REG,
            (&reg as *const libc::xdp_umem_reg).cast(),
            std::mem::size_of_val(&reg),
        )?;
        let n: libc::c_int = 64;
        for opt in [
            libc::XDP_UMEM_FILL_RING,
            libc::XDP_UMEM_COMPLETION_RING,
            libc::XDP_RX_RING,
        ] {
            setopt(
                opt,
                (&n as *const libc::c_int).cast(),
                std::mem::size_of_val(&n),
            )?;
        }
        // SAFETY: sockaddr_xdp is plain data; zero is valid.
        let mut sa: libc::sockaddr_xdp = unsafe { std::mem::zeroed() };
        sa.sxdp_family = libc::AF_XDP as u16;
        sa.sxdp_flags = libc::XDP_COPY;
        sa.sxdp_ifindex = ifindex;
        sa.sxdp_queue_id = queue;
        // SAFETY: `sa` is a valid sockaddr_xdp of the size passed.
        let r = unsafe {
            libc::bind(
                raw,
                (&sa as *const libc::sockaddr_xdp).cast(),
                std::mem::size_of_val(&sa) as u32,
            )
        };
        if r != 0 {
            return Err(last());
        }
        Ok(me)
    }
}

impl Drop for RawXsk {
    fn drop(&mut self) {
        // This body runs before `fd` is closed. Unmapping first is still sound: the kernel
        // holds its own pins on the UMEM pages until the socket is released.
        // SAFETY: the region was mapped in `bind` with this length and is unmapped once.
        unsafe { libc::munmap(self.umem, self.umem_len) };
    }
}
