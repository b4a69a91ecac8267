//! Test and benchmark support: network namespaces joined by a veth pair, running code inside a
//! namespace, attaching xptp's XDP steering program, raw AF_PACKET sockets and hand-built frames.
//! Shared by `tests/netns.rs` and `examples/xsk_bench.rs` (via `#[path]`).
#![allow(dead_code)]

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// True when running as root. When not root: fails if XPTP_REQUIRE_ROOT=1, else prints a skip.
pub fn require_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("XPTP_REQUIRE_ROOT").as_deref() == Ok("1") {
        panic!("{test} needs root (XPTP_REQUIRE_ROOT=1)");
    }
    println!("skipping {test}: needs root");
    false
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two namespaces `a` and `b` joined by veth `va` (in a) — `vb` (in b), with IPv4 10.77.0.1/.2,
/// IPv6 fd77::1/::2 and MACs 02:00:00:00:00:01/02. Deleted on drop.
pub struct Lab {
    pub a: String,
    pub b: String,
    pub va: String,
    pub vb: String,
}

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
pub const PTP_MCAST_MAC: [u8; 6] = [0x01, 0x1b, 0x19, 0, 0, 0];

impl Lab {
    pub fn new(tag: &str) -> Lab {
        static N: AtomicU32 = AtomicU32::new(0);
        let id = format!(
            "{}{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let lab = Lab {
            a: format!("xptp-{id}-{tag}-a"),
            b: format!("xptp-{id}-{tag}-b"),
            va: format!("xa{id}"),
            vb: format!("xb{id}"),
        };
        ip(&["netns", "add", &lab.a]);
        ip(&["netns", "add", &lab.b]);
        ip(&[
            "link",
            "add",
            &lab.va,
            "netns",
            &lab.a,
            "address",
            "02:00:00:00:00:01",
            "type",
            "veth",
            "peer",
            "name",
            &lab.vb,
            "netns",
            &lab.b,
            "address",
            "02:00:00:00:00:02",
        ]);
        for (ns, dev, v4, v6) in [
            (&lab.a, &lab.va, "10.77.0.1/24", "fd77::1/64"),
            (&lab.b, &lab.vb, "10.77.0.2/24", "fd77::2/64"),
        ] {
            ip(&["-n", ns, "addr", "add", v4, "dev", dev]);
            ip(&["-n", ns, "addr", "add", v6, "dev", dev, "nodad"]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        lab
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.a]).status();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).status();
    }
}

/// Runs `f` on a new thread that has joined namespace `ns`; sockets it creates live there.
pub fn in_netns<R: Send, F: FnOnce() -> R + Send>(ns: &str, f: F) -> R {
    std::thread::scope(|s| {
        s.spawn(|| {
            let path = format!("/var/run/netns/{ns}");
            let file = std::fs::File::open(&path).expect("open netns");
            // SAFETY: a valid namespace fd; setns affects only this thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {ns}: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("netns thread panicked")
    })
}

/// Attaches xptp's real steering program (the `xptp-ebpf` loader) to `ifname` in native mode
/// in this thread's namespace; detaches on drop.
pub fn attach_steering(ifname: &str) -> xptp_ebpf::XdpSteering {
    xptp_ebpf::XdpSteering::attach(ifname, xptp_ebpf::AttachMode::Native, false)
        .expect("attach xptp's XDP steering program")
}

/// A raw AF_PACKET socket bound to one interface (all protocols).
pub struct RawSock {
    fd: OwnedFd,
    ifindex: i32,
}

impl RawSock {
    pub fn open(ifname: &str) -> RawSock {
        let proto = (libc::ETH_P_ALL as u16).to_be() as i32;
        // SAFETY: plain socket(2).
        let fd =
            unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
        assert!(
            fd >= 0,
            "AF_PACKET socket: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: fd was just returned by socket(2) and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let name = CString::new(ifname).unwrap();
        // SAFETY: valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) } as i32;
        assert!(ifindex > 0, "no interface {ifname}");
        // SAFETY: zeroed sockaddr_ll is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto as u16;
        sll.sll_ifindex = ifindex;
        // SAFETY: sll is a valid sockaddr_ll of the given length.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(rc, 0, "bind AF_PACKET: {}", std::io::Error::last_os_error());
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        // SAFETY: valid timeval option.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        let one: libc::c_int = 1;
        // SAFETY: valid int option. The kernel strips VLAN tags into skb metadata before
        // AF_PACKET sees a frame; PACKET_AUXDATA hands the tag back so `recv` can reinsert it.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_AUXDATA,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            )
        };
        RawSock { fd, ifindex }
    }

    pub fn send(&self, frame: &[u8]) {
        // SAFETY: zeroed sockaddr_ll is valid.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = self.ifindex;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: frame and sll are valid for the lengths given.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(
            n,
            frame.len() as isize,
            "AF_PACKET send: {}",
            std::io::Error::last_os_error()
        );
    }

    /// Next frame received (incoming only, VLAN tag reinserted), waiting up to `timeout`.
    pub fn recv(&self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 2048];
        let mut cbuf = [0u64; 16];
        while Instant::now() < deadline {
            // SAFETY: zeroed sockaddr_ll / msghdr are valid values.
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            // SAFETY: as above.
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_name = (&mut sll as *mut libc::sockaddr_ll).cast();
            msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&cbuf);
            // SAFETY: msg points at live buffers of the stated lengths.
            let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, 0) };
            if n <= 0 || sll.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            let mut frame = buf[..n as usize].to_vec();
            // SAFETY: walking the control messages the kernel just wrote into cbuf.
            let mut c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
            while !c.is_null() {
                // SAFETY: c points at a valid cmsghdr inside cbuf.
                let h = unsafe { &*c };
                if h.cmsg_level == libc::SOL_PACKET && h.cmsg_type == libc::PACKET_AUXDATA {
                    // SAFETY: PACKET_AUXDATA carries a tpacket_auxdata; read unaligned.
                    let aux: libc::tpacket_auxdata =
                        unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(c).cast()) };
                    if aux.tp_status & libc::TP_STATUS_VLAN_VALID != 0 && frame.len() >= 12 {
                        let tpid = if aux.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                            aux.tp_vlan_tpid
                        } else {
                            0x8100
                        };
                        let mut tag = tpid.to_be_bytes().to_vec();
                        tag.extend_from_slice(&aux.tp_vlan_tci.to_be_bytes());
                        frame.splice(12..12, tag);
                    }
                }
                // SAFETY: iterating within msg's control buffer.
                c = unsafe { libc::CMSG_NXTHDR(&msg, c) };
            }
            return Some(frame);
        }
        None
    }
}

/// A 44-byte PTPv2 Sync-like message (IEEE 1588-2019 13.6) with `seq` as sequenceId and a
/// 32-bit marker in the origin timestamp.
pub fn ptp_payload(msg_type: u8, seq: u16, marker: u32) -> Vec<u8> {
    let mut p = vec![0u8; 44];
    p[0] = msg_type & 0x0f;
    p[1] = 2; // versionPTP
    p[2..4].copy_from_slice(&44u16.to_be_bytes());
    p[20..28].copy_from_slice(&[0x02, 0, 0, 0xff, 0xfe, 0, 0, 0x02]);
    p[28..30].copy_from_slice(&1u16.to_be_bytes());
    p[30..32].copy_from_slice(&seq.to_be_bytes());
    p[40..44].copy_from_slice(&marker.to_be_bytes());
    p
}

/// The marker written by [`ptp_payload`], found at the end of any frame carrying one.
pub fn marker_of(frame: &[u8]) -> Option<u32> {
    let t = frame.get(frame.len().checked_sub(4)?..)?;
    Some(u32::from_be_bytes(t.try_into().ok()?))
}

/// Ethernet frame with Ethertype 0x88F7, optionally tagged with `vlan` (802.1Q).
pub fn l2_frame(dst: [u8; 6], src: [u8; 6], vlan: Option<u16>, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(vid) = vlan {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    f.extend_from_slice(&0x88F7u16.to_be_bytes());
    f.extend_from_slice(payload);
    f
}
