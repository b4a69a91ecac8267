//! Shared by the hostile-input tests (`malformed.rs`, `flood.rs`): PTP frames from a peer
//! grandmaster, AF_PACKET sockets for the peer namespace (sendmmsg floods, a receiver that
//! ignores its own outgoing frames), the test's own control loop with a `PtpInstance` behind
//! xptp's fast path, and the process's resident set size.
#![allow(dead_code)]

use std::ffi::CString;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use xptp_control::datasets::PortConfig as PtpPortConfig;
use xptp_control::port::counters::RejectReason;
use xptp_control::port::Action;
use xptp_control::ptp::{InstanceConfig, PtpInstance};
use xptp_control::time::Instant;
use xptp_datapath::handoff::Link;
use xptp_datapath::wire::frame::{self, Transport};
use xptp_datapath::wire::{
    AnnounceBody, Body, ClockIdentity, ClockQuality, FlagField, HeaderRepr, Message, MessageRepr,
    MessageType, PortIdentity, Timestamp,
};

/// The peer grandmaster in namespace b.
pub const GM: PortIdentity =
    PortIdentity::new(ClockIdentity([0x02, 0, 0, 0xff, 0xfe, 0, 0, 0x02]), 1);

/// Ethernet (Annex E) or UDP/IPv4 (Annex C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carriage {
    L2,
    Udp4,
}

/// The peer's transport for `mtype` (source MAC 02:..:02, IPv4 10.77.0.2).
pub fn transport(c: Carriage, mtype: MessageType) -> Transport {
    match c {
        Carriage::L2 => Transport::l2_multicast(super::support::MAC_B, mtype),
        Carriage::Udp4 => {
            Transport::udp4_multicast(super::support::MAC_B, Ipv4Addr::new(10, 77, 0, 2), mtype)
        }
    }
}

/// A header from `src` with sequenceId `seq` (domain 0).
pub fn header(src: PortIdentity, seq: u16) -> HeaderRepr {
    HeaderRepr {
        source_port_identity: src,
        sequence_id: seq,
        log_message_interval: 0,
        ..HeaderRepr::default()
    }
}

/// A one-step Sync from the GM (no Follow_Up expected).
pub fn sync(seq: u16) -> MessageRepr {
    MessageRepr::new(
        header(GM, seq),
        Body::Sync {
            origin_timestamp: Timestamp {
                seconds: 1_700_000_000,
                nanoseconds: 0,
            },
        },
    )
}

/// A Follow_Up from the GM.
pub fn follow_up(seq: u16) -> MessageRepr {
    MessageRepr::new(
        header(GM, seq),
        Body::FollowUp {
            precise_origin_timestamp: Timestamp {
                seconds: 1_700_000_000,
                nanoseconds: 0,
            },
        },
    )
}

/// An Announce from `src` for grandmaster `gm` with priority1 `p1`.
pub fn announce_from(src: PortIdentity, gm: ClockIdentity, p1: u8, seq: u16) -> MessageRepr {
    MessageRepr::new(
        HeaderRepr {
            flags: FlagField(FlagField::PTP_TIMESCALE),
            ..header(src, seq)
        },
        Body::Announce(AnnounceBody {
            origin_timestamp: Timestamp::default(),
            current_utc_offset: 37,
            grandmaster_priority1: p1,
            grandmaster_clock_quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: 0x21,
                offset_scaled_log_variance: 0x4e5d,
            },
            grandmaster_priority2: 1,
            grandmaster_identity: gm,
            steps_removed: 0,
            time_source: 0x20,
        }),
    )
}

/// The GM's Announce (priority1 1: better than any default clock).
pub fn announce(seq: u16) -> MessageRepr {
    announce_from(GM, GM.clock_identity, 1, seq)
}

/// A Delay_Req from `src`.
pub fn delay_req(src: PortIdentity, seq: u16) -> MessageRepr {
    MessageRepr::new(
        HeaderRepr {
            log_message_interval: 0x7f,
            ..header(src, seq)
        },
        Body::DelayReq {
            origin_timestamp: Timestamp::default(),
        },
    )
}

/// A Pdelay_Req from `src`.
pub fn pdelay_req(src: PortIdentity, seq: u16) -> MessageRepr {
    MessageRepr::new(
        HeaderRepr {
            log_message_interval: 0x7f,
            ..header(src, seq)
        },
        Body::PdelayReq {
            origin_timestamp: Timestamp::default(),
        },
    )
}

/// A Delay_Resp from the GM to `requester`.
pub fn delay_resp(requester: PortIdentity, seq: u16) -> MessageRepr {
    MessageRepr::new(
        header(GM, seq),
        Body::DelayResp {
            receive_timestamp: Timestamp {
                seconds: 1_700_000_000,
                nanoseconds: 0,
            },
            requesting_port_identity: requester,
        },
    )
}

/// `m` framed for `c` (padded to 60 octets).
pub fn build(c: Carriage, m: &MessageRepr) -> Vec<u8> {
    frame::build(&transport(c, m.message_type()), m).expect("build frame")
}

/// Arbitrary PTP octets framed for `c` as if they were a message of `mtype` (IP/UDP lengths
/// and checksum computed over them), padded to 60 octets.
pub fn build_raw(c: Carriage, mtype: MessageType, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    transport(c, mtype)
        .emit(payload, &mut out)
        .expect("emit transport");
    if out.len() < 60 {
        out.resize(60, 0);
    }
    out
}

/// Offset of the PTP payload in frames built by [`build`] / [`build_raw`].
pub fn payload_at(c: Carriage) -> usize {
    match c {
        Carriage::L2 => 14,
        Carriage::Udp4 => 42,
    }
}

/// The `xptp status` document of a running `xptp run`.
pub fn status_of(x: &xptp_tests::xptp_run::XptpRun) -> xptp_control::status::Status {
    let path = xptp_control::status::default_status_path(&x.uds());
    xptp_control::status::socket::query(&path, Duration::from_secs(3)).expect("xptp status")
}

/// VmRSS of this process in kB.
pub fn rss_kb() -> u64 {
    rss_kb_of("self")
}

/// VmRSS in kB of process `pid` (a number or `self`); 0 when it cannot be read.
pub fn rss_kb_of(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Spawns a thread that joins namespace `ns` and runs `f` (not scoped: for threads that run
/// alongside the test's own loop).
pub fn spawn_in_netns<R: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> std::thread::JoinHandle<R> {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open netns");
        // SAFETY: a valid namespace fd; setns affects only this thread.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
}

/// An AF_PACKET socket for floods and for receiving without seeing its own namespace's
/// outgoing frames (PACKET_IGNORE_OUTGOING), with a large receive buffer.
pub struct Packet {
    fd: OwnedFd,
    ifindex: i32,
}

impl Packet {
    pub fn open(ifname: &str) -> Packet {
        Self::open_with(ifname, true)
    }

    /// [`Packet::open`], seeing the interface's outgoing frames too unless `ignore_outgoing`.
    pub fn open_with(ifname: &str, ignore_outgoing: bool) -> Packet {
        let proto = (libc::ETH_P_ALL as u16).to_be() as i32;
        // SAFETY: plain socket(2).
        let fd =
            unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
        assert!(fd >= 0, "AF_PACKET: {}", std::io::Error::last_os_error());
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
        assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
        let set = |level, opt, v: libc::c_int| {
            // SAFETY: an int option on our socket.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    level,
                    opt,
                    (&v as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as u32,
                )
            }
        };
        // PACKET_IGNORE_OUTGOING (Linux 4.20): the flood we send does not fill our own buffer.
        if ignore_outgoing {
            set(libc::SOL_PACKET, 23, 1);
        }
        set(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 16 << 20);
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 50_000,
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
        Packet { fd, ifindex }
    }

    fn addr(&self) -> libc::sockaddr_ll {
        // SAFETY: zeroed sockaddr_ll is valid.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = self.ifindex;
        sll.sll_halen = 6;
        sll
    }

    /// Sends one frame; false when the kernel refused it (e.g. shorter than an Ethernet
    /// header).
    pub fn send(&self, frame: &[u8]) -> bool {
        let sll = self.addr();
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
        n == frame.len() as isize
    }

    /// PACKET_QDISC_BYPASS: frames go straight to the driver (a flood skips the qdisc).
    pub fn bypass_qdisc(&self) {
        self.set_int(libc::SOL_PACKET, libc::PACKET_QDISC_BYPASS, 1);
    }

    /// Sends `frames` with one sendmmsg(2) call; returns how many the kernel took.
    pub fn send_batch(&self, frames: &[Vec<u8>]) -> usize {
        let sll = self.addr();
        let mut iovs: Vec<libc::iovec> = frames
            .iter()
            .map(|f| libc::iovec {
                iov_base: f.as_ptr() as *mut libc::c_void,
                iov_len: f.len(),
            })
            .collect();
        let mut msgs: Vec<libc::mmsghdr> = iovs
            .iter_mut()
            .map(|iov| {
                // SAFETY: zeroed mmsghdr is a valid value.
                let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
                m.msg_hdr.msg_name = (&sll as *const libc::sockaddr_ll) as *mut libc::c_void;
                m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
                m.msg_hdr.msg_iov = iov;
                m.msg_hdr.msg_iovlen = 1;
                m
            })
            .collect();
        // SAFETY: msgs points at iovecs and an address that live across the call.
        let n =
            unsafe { libc::sendmmsg(self.fd.as_raw_fd(), msgs.as_mut_ptr(), msgs.len() as u32, 0) };
        n.max(0) as usize
    }

    /// SO_TIMESTAMPNS: [`Packet::recv_stamped`] reports when the stack saw each frame.
    pub fn enable_timestamps(&self) {
        self.set_int(libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1);
    }

    fn set_int(&self, level: libc::c_int, opt: libc::c_int, v: libc::c_int) {
        // SAFETY: an int option on our socket.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                opt,
                (&v as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            )
        };
        assert_eq!(
            rc,
            0,
            "setsockopt {level}/{opt}: {}",
            std::io::Error::last_os_error()
        );
    }

    /// The next frame (either direction when opened with `ignore_outgoing` false), whether
    /// the interface sent it, and the kernel's CLOCK_REALTIME stamp of it in ns (with
    /// [`Packet::enable_timestamps`]; else None); None after the receive timeout.
    pub fn recv_stamped(&self, buf: &mut [u8]) -> Option<(usize, bool, Option<i128>)> {
        // SAFETY: zeroed sockaddr_ll / msghdr are valid values.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut ctrl = [0u64; 16];
        // SAFETY: as above.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut sll as *mut libc::sockaddr_ll).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctrl.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&ctrl);
        // SAFETY: msg points at buffers that live across the call.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, 0) };
        if n <= 0 {
            return None;
        }
        let mut at = None;
        // SAFETY: CMSG_* walk the control buffer the kernel filled, within msg_controllen.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                    let ts = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                    at = Some(i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec));
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        Some((n as usize, sll.sll_pkttype == libc::PACKET_OUTGOING, at))
    }

    /// The next incoming frame, or None after the 50 ms receive timeout.
    pub fn recv(&self, buf: &mut [u8]) -> Option<usize> {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        (n > 0).then_some(n as usize)
    }
}

/// What the test's control plane did with one message from the up-lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// messageType, when the message parsed far enough.
    pub mtype: Option<MessageType>,
    pub sequence_id: u16,
    /// The rejection the instance counted, or None when it took the message.
    pub reject: Option<RejectReason>,
}

/// The test's control plane: a one-port E2E `PtpInstance` (free running) behind the fast
/// path's up-lane. Messages it wants to send are counted, not sent (the tests look at what
/// it receives).
pub struct Control {
    pub inst: PtpInstance,
    pub link: Arc<Link>,
    t0: std::time::Instant,
    /// Verdicts, recorded while `Some`.
    pub log: Option<Vec<Verdict>>,
    pub verdicts: u64,
    pub actions_send: u64,
    pub tx_reports: u64,
}

impl Control {
    pub fn new(link: Arc<Link>, ours: ClockIdentity) -> Control {
        let cfg = InstanceConfig {
            free_running: true,
            ..InstanceConfig::default()
        };
        let inst = PtpInstance::new(
            cfg,
            vec![PtpPortConfig::default()],
            ours,
            Box::new(rand::rngs::Xoshiro256PlusPlus::seed_from_u64(3)),
        );
        Control {
            inst,
            link,
            t0: std::time::Instant::now(),
            log: Some(Vec::new()),
            verdicts: 0,
            actions_send: 0,
            tx_reports: 0,
        }
    }

    fn now(&self) -> Instant {
        Instant(self.t0.elapsed().as_nanos() as u64)
    }

    fn rejections(&self) -> Vec<u64> {
        let c = self.inst.port_counters(1).expect("port 1");
        RejectReason::ALL.iter().map(|r| c.rejected(*r)).collect()
    }

    /// Drains the up-lanes into the instance, runs due timers; returns the messages handled.
    pub fn pump(&mut self) -> usize {
        let mut n = 0;
        while let Some(m) = self.link.rx_up.pop() {
            n += 1;
            let bytes = m.frame.as_slice();
            let (payload, mtype, seq) = match frame::parse(bytes) {
                Ok(f) => {
                    let p = f.payload(bytes);
                    let v = Message::new_checked(p).ok();
                    (
                        p,
                        v.map(|v| v.message_type()),
                        v.map(|v| v.sequence_id()).unwrap_or(0),
                    )
                }
                Err(_) => (&[][..], None, 0),
            };
            let before = self.rejections();
            let now = self.now();
            let ts = i128::from(m.ts.xdp_tai_ns.unwrap_or(m.ts.user_tai_ns));
            self.inst.handle_message(now, 1, payload, ts);
            let after = self.rejections();
            let reject = RejectReason::ALL
                .iter()
                .zip(before.iter().zip(after.iter()))
                .find(|(_, (b, a))| a > b)
                .map(|(r, _)| *r);
            self.verdicts += 1;
            if let Some(log) = self.log.as_mut() {
                log.push(Verdict {
                    mtype,
                    sequence_id: seq,
                    reject,
                });
            }
            self.drain_actions();
        }
        while self.link.tx_reports_up.pop().is_some() {
            self.tx_reports += 1;
        }
        let now = self.now();
        if self.inst.poll_timeout().is_some_and(|t| t <= now) {
            self.inst.handle_timer(now);
            self.drain_actions();
        }
        n
    }

    fn drain_actions(&mut self) {
        while let Some(a) = self.inst.poll_action() {
            if matches!(a, Action::Send { .. }) {
                self.actions_send += 1;
            }
        }
    }

    /// Pumps for `d`.
    pub fn pump_for(&mut self, d: Duration) {
        let end = std::time::Instant::now() + d;
        while std::time::Instant::now() < end {
            if self.pump() == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
}
