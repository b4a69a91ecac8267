//! Kernel software TX timestamps for event messages in copy mode: an `AF_PACKET` socket on the
//! port's interface with `SO_TIMESTAMPING` (`SOF_TIMESTAMPING_TX_SOFTWARE`), so that a Sync,
//! Delay_Req, Pdelay_Req or two-step Pdelay_Resp is stamped where the driver hands it on
//! (`skb_tx_timestamp` in the driver's xmit), the same stamp ptp4l's `time_stamping software`
//! gets, instead of a CLOCK_TAI reading taken before an AF_XDP kick whose copy-mode transmit
//! can run microseconds later.
//!
//! IEEE 1588-2019 7.3.4.2: the timestamp of an event message is taken when its message
//! timestamp point crosses the reference plane; without hardware, the closest software
//! approximation is the driver's transmit call.
//!
//! This module owns the socket and the matching of error-queue stamps (by
//! `SOF_TIMESTAMPING_OPT_ID` key) to the frames sent; it does not decide which frames go
//! through it (see [`super::XskSocket`]) and does not allocate after [`StampSocket::open`]. It
//! receives nothing: the socket is bound with protocol 0, so no frame is delivered to it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Frames sent whose stamp has not come back yet, at most.
pub const PENDING_CAP: usize = 128;

/// A stamp not back after this long is given up on (the pre-send reading is reported instead,
/// and counted).
pub const STAMP_TIMEOUT_NS: u64 = 20_000_000;

/// `SOF_TIMESTAMPING_*` bits (include/uapi/linux/net_tstamp.h).
const SOF_TX_SOFTWARE: u32 = 1 << 1;
const SOF_SOFTWARE: u32 = 1 << 4;
const SOF_OPT_ID: u32 = 1 << 7;
const SOF_OPT_TSONLY: u32 = 1 << 11;
/// `SO_EE_ORIGIN_TIMESTAMPING` (include/uapi/linux/errqueue.h).
const SO_EE_ORIGIN_TIMESTAMPING: u8 = 4;
/// `SCM_TSTAMP_SND`: the driver-transmit stamp.
const SCM_TSTAMP_SND: u32 = 0;

/// A frame handed to the kernel whose stamp is awaited.
#[derive(Clone, Copy, Debug, Default)]
struct Pending<T: Copy + Default> {
    key: u32,
    tag: T,
    pre_tai_ns: u64,
    /// The frame's key in the veth wire-stamp table, when one is in use.
    wire_key: Option<xptp_ebpf::wire::WireKey>,
    live: bool,
}

/// The longest a wire stamp may precede the driver's TX stamp of the same frame and still be
/// taken as that frame's (a slot reused by another frame with the same key is older). Used where
/// kernel stamps stay on (see [`StampSocket::set_wire_table`]).
pub const WIRE_MAX_LEAD_NS: u64 = 1_000_000;

/// How long after its send a frame on a wire-stamped veth may still find its wire stamp. On a
/// veth without a qdisc the transmit hook runs inside `sendto`, so the stamp is there when the
/// call returns; a qdisc (or a busy queue) defers the transmit, and the frame is looked up again
/// on each poll until this long has passed (then reported with its pre-send reading, counted).
pub const WIRE_WAIT_NS: u64 = 2_000_000;

/// What became of a frame handed to [`StampSocket::send`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Its stamp is awaited: [`StampSocket::poll`] reports it.
    Awaited,
    /// Its stamp is known already (its wire stamp, or its pre-send reading when nothing can
    /// be awaited): report it now.
    Stamped(Stamp),
}

/// What became of a frame sent through the stamping socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// The kernel's software TX timestamp, converted to CLOCK_TAI.
    Kernel(u64),
    /// No stamp came back in time (or the pending table was full): the CLOCK_TAI reading
    /// taken right before the send.
    PreSend(u64),
    /// veth: the time the frame passed the transmit hook of the wire-stamp table (see
    /// `xptp_ebpf::wire`), the same point the receive side stamps frames at.
    Wire(u64),
}

impl Stamp {
    /// The CLOCK_TAI time, whichever kind.
    pub fn tai_ns(self) -> u64 {
        match self {
            Stamp::Kernel(t) | Stamp::PreSend(t) | Stamp::Wire(t) => t,
        }
    }
}

/// Counters of the stamping socket, taken by the worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StampEvents {
    /// Frames sent through the socket.
    pub sent: u64,
    /// Sends the kernel refused (the frame went through the AF_XDP ring instead).
    pub send_errors: u64,
    /// Frames reported with their pre-send reading: stamp timed out or table full.
    pub fallbacks: u64,
    /// Frames reported with their veth wire stamp ([`Stamp::Wire`]).
    pub wire: u64,
    /// Frames that should have had a wire stamp but did not find it (the kernel stamp, or
    /// with kernel stamps off the pre-send reading, was used).
    pub wire_missed: u64,
}

/// The stamping socket of one port. `T` is the caller's tag for a frame (a TX token).
#[derive(Debug)]
pub struct StampSocket<T: Copy + Default> {
    fd: OwnedFd,
    ifindex: i32,
    next_key: u32,
    pending: [Pending<T>; PENDING_CAP],
    live: usize,
    events: StampEvents,
    wire: Option<std::sync::Arc<xptp_ebpf::WireTable>>,
    /// Whether the kernel stamps sent frames (`SOF_TIMESTAMPING_TX_SOFTWARE`); switched off
    /// on a transparent clock's wire-stamped port ([`Self::set_wire_table`]).
    kernel_stamps: bool,
}

/// Why the stamping socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StampError {
    /// `socket(AF_PACKET, SOCK_RAW, 0)` failed.
    #[error("opening an AF_PACKET socket for kernel TX timestamps failed: {0} (needs CAP_NET_RAW at start-up)")]
    Socket(#[source] io::Error),
    /// The interface has no index.
    #[error("interface {ifname} not found for the TX-timestamp socket")]
    NoSuchInterface {
        /// Interface.
        ifname: String,
    },
    /// `SO_TIMESTAMPING` was refused.
    #[error("SO_TIMESTAMPING (software TX) refused on {ifname}: {source}")]
    Timestamping {
        /// Interface.
        ifname: String,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// `bind` failed.
    #[error("binding the TX-timestamp socket to {ifname} failed: {source}")]
    Bind {
        /// Interface.
        ifname: String,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

/// CLOCK_TAI − CLOCK_REALTIME in whole seconds (the kernel's TAI offset), in nanoseconds.
pub fn tai_minus_realtime_ns() -> i64 {
    let real = read_clock(libc::CLOCK_REALTIME);
    let tai = read_clock(libc::CLOCK_TAI);
    let diff = tai as i64 - real as i64;
    // The offset is an integer number of seconds; the two reads are nanoseconds apart.
    (diff + 500_000_000).div_euclid(1_000_000_000) * 1_000_000_000
}

/// `clock_gettime(id)` in nanoseconds.
#[inline]
pub(super) fn read_clock(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_TAI and CLOCK_REALTIME (the only ids
    // passed) exist on every kernel xptp supports, so the call cannot fail on a valid pointer.
    unsafe { libc::clock_gettime(id, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

impl<T: Copy + Default> StampSocket<T> {
    /// Opens the socket on `ifname` and turns on software TX timestamps with per-frame keys.
    pub fn open(ifname: &str) -> Result<Self, StampError> {
        let cname = std::ffi::CString::new(ifname).map_err(|_| StampError::NoSuchInterface {
            ifname: ifname.to_owned(),
        })?;
        // SAFETY: `cname` is a valid NUL-terminated string for the duration of the call.
        let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        if ifindex == 0 {
            return Err(StampError::NoSuchInterface {
                ifname: ifname.to_owned(),
            });
        }
        // SAFETY: plain socket(2) with constant arguments; protocol 0 receives nothing.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if raw < 0 {
            return Err(StampError::Socket(io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a descriptor we just opened and own exclusively.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        set_timestamping(
            &fd,
            SOF_TX_SOFTWARE | SOF_SOFTWARE | SOF_OPT_ID | SOF_OPT_TSONLY,
        )
        .map_err(|source| StampError::Timestamping {
            ifname: ifname.to_owned(),
            source,
        })?;
        let mut sll: libc::sockaddr_ll = sockaddr_ll_zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = ifindex as i32;
        sll.sll_protocol = 0;
        // SAFETY: `sll` is a fully initialised sockaddr_ll and the length is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                core::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(StampError::Bind {
                ifname: ifname.to_owned(),
                source: io::Error::last_os_error(),
            });
        }
        Ok(StampSocket {
            fd,
            ifindex: ifindex as i32,
            next_key: 0,
            pending: [Pending::default(); PENDING_CAP],
            live: 0,
            events: StampEvents::default(),
            wire: None,
            kernel_stamps: true,
        })
    }

    /// Reports event messages' TX times from the veth wire-stamp table from now on; with
    /// `kernel_stamps` false, also stops asking the kernel for software TX stamps.
    ///
    /// The kernel's stamp is not free on the wire: `skb_tx_timestamp` runs in the driver's
    /// transmit *before* a veth hands the frame to its peer, and it clones the frame, queues
    /// the clone on this socket's error queue and wakes whoever waits there, all between
    /// xptp's transmit hook and the peer's receive stamp. A transparent clock wants none of it:
    /// with it, the P2P TC's link delay to a ptp4l master was 0.8–1.3 µs on a zero-delay veth
    /// and the slave's offset −0.2 … −2.1 µs; without, −0.35 … +0.75 µs and mostly within
    /// ±450 ns. An ordinary port keeps it, because its software-stamping peers pay the same
    /// on their own event messages and a slave behind a bridge cancels it only when both
    /// directions carry it (without, an xptp slave behind a bridge measured its path delay
    /// 7 µs short of a ptp4l slave's beside it, and its mean true error was −6 … −12 µs).
    ///
    /// While kernel stamps stay on (asked for, or the socket refused to stop them), the wire
    /// stamp is taken when the kernel's comes back (within [`WIRE_MAX_LEAD_NS`] before it).
    pub fn set_wire_table(
        &mut self,
        table: std::sync::Arc<xptp_ebpf::WireTable>,
        kernel_stamps: bool,
    ) {
        self.wire = Some(table);
        if !kernel_stamps && self.live == 0 && set_timestamping(&self.fd, 0).is_ok() {
            self.kernel_stamps = false;
        }
    }

    /// Whether the kernel still stamps sent frames (see [`Self::set_wire_table`]).
    pub fn kernel_stamps(&self) -> bool {
        self.kernel_stamps
    }

    /// Sends one complete Ethernet frame, remembering `tag` until its stamp comes back.
    /// `pre_tai_ns` is the CLOCK_TAI reading taken right before (the fallback stamp). Returns
    /// [`Sent::Stamped`] when the stamp is known at once (the wire stamp, found as the call
    /// returns; or the pre-send reading when the pending table is full) and [`Sent::Awaited`]
    /// otherwise. On an error nothing is remembered: the caller sends the frame another way.
    pub fn send(&mut self, frame: &[u8], tag: T, pre_tai_ns: u64) -> Result<Sent, io::Error> {
        let mut sll: libc::sockaddr_ll = sockaddr_ll_zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = self.ifindex;
        sll.sll_halen = 6;
        if let Some(dst) = frame.get(..6) {
            for (d, s) in sll.sll_addr.iter_mut().zip(dst) {
                *d = *s;
            }
        }
        // SAFETY: `frame` is valid for `frame.len()` bytes; `sll` is an initialised
        // sockaddr_ll whose size is passed; the socket is ours.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                libc::MSG_DONTWAIT,
                (&sll as *const libc::sockaddr_ll).cast(),
                core::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            self.events.send_errors += 1;
            return Err(io::Error::last_os_error());
        }
        // Keys count datagrams from 0 on this socket (SOF_TIMESTAMPING_OPT_ID): one per
        // successful send.
        let key = self.next_key;
        self.next_key = self.next_key.wrapping_add(1);
        self.events.sent += 1;
        let wire_key = self.wire.as_ref().and_then(|_| {
            let f = crate::wire::frame::parse(frame).ok()?;
            xptp_ebpf::wire::key_of(f.payload(frame))
        });
        if let (false, Some(k)) = (self.kernel_stamps, &wire_key) {
            if let Some(w) = self.sent_wire_stamp(k, pre_tai_ns, read_clock(libc::CLOCK_TAI)) {
                self.events.wire += 1;
                return Ok(Sent::Stamped(Stamp::Wire(w)));
            }
        }
        let Some(slot) = self.pending.iter_mut().find(|p| !p.live) else {
            self.events.fallbacks += 1;
            if wire_key.is_some() && !self.kernel_stamps {
                self.events.wire_missed += 1;
            }
            return Ok(Sent::Stamped(Stamp::PreSend(pre_tai_ns)));
        };
        *slot = Pending {
            key,
            tag,
            pre_tai_ns,
            wire_key,
            live: true,
        };
        self.live += 1;
        Ok(Sent::Awaited)
    }

    /// The wire stamp of a frame sent (with kernel stamps off) between `pre_tai_ns` and
    /// `now_tai_ns`: the table's entry for its key, if it was written in that interval (an
    /// older entry is an earlier frame's with the same key).
    fn sent_wire_stamp(
        &self,
        key: &xptp_ebpf::wire::WireKey,
        pre_tai_ns: u64,
        now_tai_ns: u64,
    ) -> Option<u64> {
        self.wire
            .as_ref()?
            .lookup(key)
            .filter(|&w| pre_tai_ns <= w && w <= now_tai_ns)
    }

    /// Frames whose stamp is awaited.
    pub fn pending(&self) -> usize {
        self.live
    }

    /// Counters since the last call (and resets them).
    pub fn take_events(&mut self) -> StampEvents {
        core::mem::take(&mut self.events)
    }

    /// Drains the error queue, handing each awaited frame's tag and stamp to `f`; then gives up
    /// on frames older than [`STAMP_TIMEOUT_NS`] at `now_tai_ns` (reported with their
    /// pre-send reading). Returns the number of frames reported.
    pub fn poll<F: FnMut(T, Stamp)>(&mut self, now_tai_ns: u64, mut f: F) -> usize {
        if self.live == 0 {
            return 0;
        }
        if !self.kernel_stamps {
            return self.poll_wire(now_tai_ns, f);
        }
        let mut n = 0;
        let mut tai_off = None;
        while let Some((key, real_ns)) = self.recv_stamp() {
            let Some(p) = self.pending.iter_mut().find(|p| p.live && p.key == key) else {
                continue;
            };
            p.live = false;
            self.live -= 1;
            let off = *tai_off.get_or_insert_with(tai_minus_realtime_ns);
            let kernel = real_ns.wrapping_add_signed(off);
            let wire = match (&self.wire, &p.wire_key) {
                (Some(t), Some(k)) => t
                    .lookup(k)
                    .filter(|&w| w <= kernel && kernel - w <= WIRE_MAX_LEAD_NS),
                _ => None,
            };
            match wire {
                Some(w) => {
                    self.events.wire += 1;
                    f(p.tag, Stamp::Wire(w));
                }
                None => {
                    if p.wire_key.is_some() {
                        self.events.wire_missed += 1;
                    }
                    f(p.tag, Stamp::Kernel(kernel));
                }
            }
            n += 1;
            if self.live == 0 {
                return n;
            }
        }
        for p in self.pending.iter_mut().filter(|p| p.live) {
            if now_tai_ns.saturating_sub(p.pre_tai_ns) > STAMP_TIMEOUT_NS {
                p.live = false;
                self.live -= 1;
                self.events.fallbacks += 1;
                f(p.tag, Stamp::PreSend(p.pre_tai_ns));
                n += 1;
            }
        }
        n
    }

    /// [`Self::poll`] with kernel stamps off: frames whose wire stamp was not there as their
    /// send returned (a deferred transmit) are looked up again, and after [`WIRE_WAIT_NS`]
    /// reported with their pre-send reading.
    fn poll_wire<F: FnMut(T, Stamp)>(&mut self, now_tai_ns: u64, mut f: F) -> usize {
        let mut n = 0;
        for i in 0..self.pending.len() {
            let Some(p) = self.pending.get(i).copied().filter(|p| p.live) else {
                continue;
            };
            let wire = p
                .wire_key
                .as_ref()
                .and_then(|k| self.sent_wire_stamp(k, p.pre_tai_ns, now_tai_ns));
            let stamp = match wire {
                Some(w) => {
                    self.events.wire += 1;
                    Stamp::Wire(w)
                }
                None if now_tai_ns.saturating_sub(p.pre_tai_ns) > WIRE_WAIT_NS => {
                    self.events.wire_missed += 1;
                    self.events.fallbacks += 1;
                    Stamp::PreSend(p.pre_tai_ns)
                }
                None => continue,
            };
            if let Some(slot) = self.pending.get_mut(i) {
                slot.live = false;
            }
            self.live -= 1;
            f(p.tag, stamp);
            n += 1;
        }
        n
    }

    /// One message off the error queue: (OPT_ID key, CLOCK_REALTIME software stamp), or
    /// `None` when the queue is empty. Messages that are not driver-transmit stamps are
    /// skipped.
    fn recv_stamp(&mut self) -> Option<(u32, u64)> {
        loop {
            let mut control = [0u64; 64];
            let mut msg: libc::msghdr = msghdr_zeroed();
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = core::mem::size_of_val(&control) as _;
            // SAFETY: `msg` points at `control`, a writable buffer of the stated length that
            // outlives the call, and at no iovec (OPT_TSONLY: no payload comes back).
            let rc = unsafe {
                libc::recvmsg(
                    self.fd.as_raw_fd(),
                    &mut msg,
                    libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
                )
            };
            if rc < 0 {
                return None;
            }
            let mut key = None;
            let mut stamp = None;
            // SAFETY: `msg` was filled by recvmsg; CMSG_FIRSTHDR/NXTHDR stay within
            // `msg_control[..msg_controllen]` and return null past the end.
            let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
            while !cmsg.is_null() {
                // SAFETY: `cmsg` is non-null and points at a complete cmsghdr inside
                // `control` (guaranteed by CMSG_FIRSTHDR/CMSG_NXTHDR).
                let h = unsafe { &*cmsg };
                // SAFETY: as above; CMSG_DATA points at the payload of this header.
                let data = unsafe { libc::CMSG_DATA(cmsg) };
                if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SO_TIMESTAMPING {
                    // struct scm_timestamping { struct timespec ts[3]; }: ts[0] is software.
                    // SAFETY: the kernel wrote a scm_timestamping (three timespecs) here;
                    // read_unaligned copes with the cmsg payload's alignment.
                    let ts: libc::timespec = unsafe { core::ptr::read_unaligned(data.cast()) };
                    if ts.tv_sec != 0 || ts.tv_nsec != 0 {
                        stamp = Some(
                            (ts.tv_sec as u64)
                                .wrapping_mul(1_000_000_000)
                                .wrapping_add(ts.tv_nsec as u64),
                        );
                    }
                } else if h.cmsg_level == SOL_PACKET && h.cmsg_type == PACKET_TX_TIMESTAMP {
                    // SAFETY: the kernel wrote a sock_extended_err here (see above).
                    let ee: libc::sock_extended_err =
                        unsafe { core::ptr::read_unaligned(data.cast()) };
                    if ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING && ee.ee_info == SCM_TSTAMP_SND {
                        key = Some(ee.ee_data);
                    }
                }
                // SAFETY: `cmsg` came from CMSG_FIRSTHDR/CMSG_NXTHDR on this `msg`.
                cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
            }
            if let (Some(k), Some(s)) = (key, stamp) {
                return Some((k, s));
            }
        }
    }
}

/// `setsockopt(SO_TIMESTAMPING, flags)` on `fd`.
fn set_timestamping(fd: &OwnedFd, flags: u32) -> io::Result<()> {
    // SAFETY: `flags` is a u32 that outlives the call; the length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPING,
            (&flags as *const u32).cast(),
            core::mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `SOL_PACKET` and `PACKET_TX_TIMESTAMP` (include/linux/socket.h, uapi/linux/if_packet.h): the
/// error-queue cmsg of a packet socket.
const SOL_PACKET: libc::c_int = 263;
const PACKET_TX_TIMESTAMP: libc::c_int = 16;

fn msghdr_zeroed() -> libc::msghdr {
    // SAFETY: msghdr is a plain C struct of integers and pointers; all-zero (null pointers,
    // zero lengths) is a valid empty value.
    unsafe { core::mem::zeroed() }
}

fn sockaddr_ll_zeroed() -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is a plain C struct of integers and byte arrays, for which all-zero
    // bytes are a valid value.
    unsafe { core::mem::zeroed() }
}
