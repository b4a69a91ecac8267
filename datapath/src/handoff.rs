//! The handoff between the datapath workers and the control thread: fixed-size frame buffers,
//! the messages that cross (received frames with their timestamps, transmit requests, TX
//! timestamp reports) and the bounded lock-free queues that carry them.
//!
//! This module owns the queue discipline and nothing else: a full queue drops the newest item
//! and counts it, it never blocks and never allocates after construction. It does not know
//! about rings, sockets or PTP semantics; the worker fills messages, control drains them.

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crossbeam::queue::ArrayQueue;
use crossbeam::utils::CachePadded;

/// Capacity of a [`FrameBuf`]: an untagged Ethernet frame of 1500 bytes of payload plus its
/// header and two VLAN tags fits; anything longer is not a PTP frame xptp handles.
pub const FRAME_CAP: usize = 1536;

/// The port a frame arrived on or must leave by: an index into the daemon's port table
/// (IEEE 1588-2019 `portNumber` minus one, by convention of the control crate).
pub type PortId = u16;

/// A frame copied out of (or into) a UMEM frame: inline bytes, so moving it through a queue
/// never allocates.
#[derive(Clone, Copy)]
pub struct FrameBuf {
    len: u16,
    data: [u8; FRAME_CAP],
}

/// A frame longer than [`FRAME_CAP`] was offered to a [`FrameBuf`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("frame of {len} bytes exceeds the {cap}-byte frame buffer", cap = FRAME_CAP)]
pub struct FrameTooLong {
    /// The offered length.
    pub len: usize,
}

impl FrameBuf {
    /// An empty buffer.
    pub const fn new() -> Self {
        FrameBuf {
            len: 0,
            data: [0; FRAME_CAP],
        }
    }

    /// Copies `bytes` into a new buffer.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, FrameTooLong> {
        let mut b = Self::new();
        b.set(bytes)?;
        Ok(b)
    }

    /// Replaces the contents with `bytes`.
    pub fn set(&mut self, bytes: &[u8]) -> Result<(), FrameTooLong> {
        let dst = self
            .data
            .get_mut(..bytes.len())
            .ok_or(FrameTooLong { len: bytes.len() })?;
        dst.copy_from_slice(bytes);
        self.len = bytes.len() as u16;
        Ok(())
    }

    /// The frame's bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.data.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Lets `f` write the frame into the whole buffer and return its length (clamped to
    /// [`FRAME_CAP`]); on error the buffer is left empty. No copy through a temporary.
    pub fn write_with<E>(
        &mut self,
        f: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        self.len = 0;
        let n = f(&mut self.data)?.min(FRAME_CAP);
        self.len = n as u16;
        Ok(n)
    }

    /// The frame's bytes, writable in place.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.data
            .get_mut(..usize::from(self.len))
            .unwrap_or(&mut [])
    }

    /// The frame's length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for FrameBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for FrameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameBuf").field("len", &self.len).finish()
    }
}

impl PartialEq for FrameBuf {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for FrameBuf {}

/// How PTP was carried, as the XDP program classified it (IEEE 1588-2019 Annexes C, E, F).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Annex E: Ethernet, Ethertype 0x88F7 (tagged or not).
    Ethernet,
    /// Annex C: UDP over IPv4.
    Udp4,
    /// Annex D: UDP over IPv6.
    Udp6,
    /// No metadata, or metadata naming no transport.
    Unknown,
}

/// Receive timestamps of one frame, integer nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxTimestamps {
    /// CLOCK_TAI read by the XDP program at ingress (`xptp_meta.xdp_tai_ns`), when valid.
    pub xdp_tai_ns: Option<u64>,
    /// The NIC's hardware RX timestamp (`xptp_meta.hw_rx_ns`), when valid.
    pub hw_ns: Option<u64>,
    /// CLOCK_TAI read by the worker when it took the batch off the RX ring.
    pub user_tai_ns: u64,
}

/// A received frame on its way up to control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxMessage {
    /// The PTP port it arrived on.
    pub port: PortId,
    /// The NIC RX queue it arrived on.
    pub queue_id: u32,
    /// Carriage as classified by the XDP program.
    pub transport: Transport,
    /// The frame carried a VLAN tag.
    pub vlan: bool,
    /// UDP destination port 319 (event message) per the XDP program; always false for L2.
    pub udp_event: bool,
    /// Its timestamps.
    pub ts: RxTimestamps,
    /// The whole frame from the Ethernet destination address on.
    pub frame: FrameBuf,
}

/// Identifies one transmit request; handed back with its TX timestamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxToken(pub u64);

/// A frame control wants sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxRequest {
    /// The egress port.
    pub port: PortId,
    /// Returned in the [`TxReport`].
    pub token: TxToken,
    /// The complete frame from the Ethernet destination address on.
    pub frame: FrameBuf,
}

/// Why a transmit request did not reach the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum TxDropReason {
    /// No worker socket serves the requested port.
    #[error("no AF_XDP socket serves this port")]
    UnknownPort,
    /// Every UMEM TX frame was in flight.
    #[error("no free UMEM frame for transmission")]
    NoFreeFrame,
    /// The TX ring had no free slot.
    #[error("TX ring full")]
    RingFull,
    /// The frame does not fit a UMEM frame.
    #[error("frame longer than the UMEM frame")]
    TooLong,
}

/// What became of a transmit request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxOutcome {
    /// The kernel completed the frame.
    Sent {
        /// CLOCK_TAI read immediately before the kick that handed the frame to the kernel.
        sw_tai_ns: u64,
        /// The NIC's TX timestamp, when the driver supports AF_XDP TX metadata.
        hw_ns: Option<u64>,
    },
    /// It was dropped.
    Dropped(TxDropReason),
}

/// The TX timestamp report for one [`TxRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxReport {
    /// The egress port.
    pub port: PortId,
    /// The request's token.
    pub token: TxToken,
    /// Its fate.
    pub outcome: TxOutcome,
}

/// A bounded lock-free queue that never blocks: a push onto a full queue drops the item and
/// counts it. Either side may be on any thread; with one producer, the consumer never waits
/// for it either (see [`Lane::pop`]).
pub struct Lane<T> {
    q: ArrayQueue<T>,
    /// Completed pushes (counted after the item is in its slot).
    pushed: CachePadded<AtomicU64>,
    /// Completed pops.
    taken: CachePadded<AtomicU64>,
    dropped: CachePadded<AtomicU64>,
}

impl<T> fmt::Debug for Lane<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lane")
            .field("capacity", &self.q.capacity())
            .field("len", &self.len())
            .field("pushed", &self.pushed())
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl<T> Lane<T> {
    /// A lane holding at most `capacity` items (at least one).
    pub fn new(capacity: usize) -> Self {
        Lane {
            q: ArrayQueue::new(capacity.max(1)),
            pushed: CachePadded::new(AtomicU64::new(0)),
            taken: CachePadded::new(AtomicU64::new(0)),
            dropped: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// Offers `item`; returns false (and counts a drop) when the lane is full.
    #[inline]
    pub fn push(&self, item: T) -> bool {
        match self.q.push(item) {
            Ok(()) => {
                // SeqCst (Release would do for `pop`): a consumer that sees this count finds
                // the item's slot fully written; SeqCst also orders it before the producer's
                // SeqCst load in `Doorbell::ring`, against the worker's SeqCst store in
                // `going_to_sleep` and its `is_empty` re-check (the store/load pattern needs
                // SeqCst on both sides). On x86 the RMW is a full barrier either way.
                self.pushed.fetch_add(1, Ordering::SeqCst);
                true
            }
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Takes the oldest item whose push has completed, if any.
    ///
    /// `ArrayQueue::pop` spins while the slot at the head is claimed by a push that has not
    /// written it yet. If that producer is a normal thread preempted on this CPU by a
    /// real-time consumer (a SCHED_FIFO worker draining control's lane), it never gets to
    /// finish: the consumer spins until the kernel's real-time throttling stops it, about a
    /// second later, and everything else on the CPU (control included) stands still. Only
    /// items counted as pushed are taken, so with one producer the head slot is always
    /// complete and this never waits.
    #[inline]
    pub fn pop(&self) -> Option<T> {
        // Relaxed: `taken` is only compared with `pushed`; the Acquire load below orders the
        // slot's contents.
        if self.taken.load(Ordering::Relaxed) >= self.pushed.load(Ordering::Acquire) {
            return None;
        }
        let v = self.q.pop();
        if v.is_some() {
            self.taken.fetch_add(1, Ordering::Relaxed);
        }
        v
    }

    /// Items accepted so far.
    pub fn pushed(&self) -> u64 {
        self.pushed.load(Ordering::Relaxed)
    }

    /// Items dropped because the lane was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Items waiting now (whose push has completed).
    pub fn len(&self) -> usize {
        // SeqCst: see `push` (the worker's sleep re-check); `taken` is only compared.
        let pushed = self.pushed.load(Ordering::SeqCst);
        pushed.saturating_sub(self.taken.load(Ordering::Relaxed)) as usize
    }

    /// Whether no completed item is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most items the lane ever holds.
    pub fn capacity(&self) -> usize {
        self.q.capacity()
    }
}

/// Queue capacities of one worker's [`Link`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    /// Received frames going up.
    pub rx_up: usize,
    /// TX timestamp reports going up (kept apart so an RX flood cannot starve them).
    pub tx_reports_up: usize,
    /// Transmit requests going down.
    pub tx_down: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        // 1024 x ~1.6 KB = ~1.6 MB for the RX lane: a few ms of a heavy PTP flood.
        LinkConfig {
            rx_up: 1024,
            tx_reports_up: 1024,
            tx_down: 1024,
        }
    }
}

/// The three lanes between one worker and control.
#[derive(Debug)]
pub struct Link {
    /// Worker → control: received frames.
    pub rx_up: Lane<RxMessage>,
    /// Worker → control: TX timestamp reports.
    pub tx_reports_up: Lane<TxReport>,
    /// Control → worker: transmit requests. Push with [`Link::send_down`], which wakes a
    /// sleeping worker.
    pub tx_down: Lane<TxRequest>,
    /// Wakes a worker that sleeps while idle when a transmit request arrives.
    pub doorbell: Doorbell,
}

impl Link {
    /// Allocates the lanes (the only allocation; none happens per frame).
    pub fn new(cfg: LinkConfig) -> Self {
        Link {
            rx_up: Lane::new(cfg.rx_up),
            tx_reports_up: Lane::new(cfg.tx_reports_up),
            tx_down: Lane::new(cfg.tx_down),
            doorbell: Doorbell::new(),
        }
    }

    /// Queues a transmit request for the worker and wakes it if it sleeps; false (counted as a
    /// lane drop) when the lane is full.
    #[inline]
    pub fn send_down(&self, req: TxRequest) -> bool {
        let ok = self.tx_down.push(req);
        if ok {
            self.doorbell.ring();
        }
        ok
    }
}

/// A worker's wake-up: an eventfd it waits on while asleep, rung by control after queueing a
/// transmit request. Without an eventfd (creation failed) a sleeping worker still wakes on its
/// sleep timeout ([`Doorbell::fd`] is then `None`).
#[derive(Debug)]
pub struct Doorbell {
    fd: Option<OwnedFd>,
    asleep: CachePadded<AtomicBool>,
    rung: CachePadded<AtomicU64>,
}

impl Default for Doorbell {
    fn default() -> Self {
        Self::new()
    }
}

impl Doorbell {
    /// Creates the eventfd (non-blocking, close-on-exec).
    pub fn new() -> Self {
        let fd = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::NONBLOCK | rustix::event::EventfdFlags::CLOEXEC,
        )
        .ok();
        Doorbell {
            fd,
            asleep: CachePadded::new(AtomicBool::new(false)),
            rung: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// The eventfd, for the worker's epoll set.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|f| f.as_fd())
    }

    /// Wakes the worker if it said it is going to sleep. Called after the item is queued.
    #[inline]
    pub fn ring(&self) {
        // SeqCst pairs with the worker's SeqCst store in `going_to_sleep` followed by its
        // re-check of the lane: either the worker sees the queued item, or this load sees
        // `asleep` and writes the eventfd (whose count persists until the worker reads it).
        if self.asleep.load(Ordering::SeqCst) {
            if let Some(fd) = &self.fd {
                let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
                // Relaxed: a statistic.
                self.rung.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The worker announces that it will sleep; it must re-check its lanes afterwards.
    #[inline]
    pub fn going_to_sleep(&self) {
        // SeqCst: see `ring`.
        self.asleep.store(true, Ordering::SeqCst);
    }

    /// The worker is awake again: clears the flag and the eventfd's count.
    #[inline]
    pub fn awake(&self) {
        // Relaxed: only the worker reads this flag's transitions back; a ring that races with
        // this store at worst writes the eventfd once more, which the next sleep drains.
        self.asleep.store(false, Ordering::Relaxed);
        if let Some(fd) = &self.fd {
            let mut buf = [0u8; 8];
            let _ = rustix::io::read(fd, &mut buf);
        }
    }

    /// Wake-ups written so far.
    pub fn rung(&self) -> u64 {
        // Relaxed: a statistic.
        self.rung.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_buf_round_trip_and_limit() {
        let b = FrameBuf::from_slice(&[1, 2, 3]).unwrap();
        assert_eq!(b.as_slice(), &[1, 2, 3]);
        assert_eq!(b.len(), 3);
        assert!(FrameBuf::from_slice(&[0; FRAME_CAP]).is_ok());
        assert_eq!(
            FrameBuf::from_slice(&[0; FRAME_CAP + 1]),
            Err(FrameTooLong { len: FRAME_CAP + 1 })
        );
    }

    #[test]
    fn full_lane_drops_and_counts() {
        let l = Lane::new(2);
        assert!(l.push(1));
        assert!(l.push(2));
        assert!(!l.push(3));
        assert_eq!((l.pushed(), l.dropped(), l.len()), (2, 1, 2));
        assert_eq!(l.pop(), Some(1));
        assert!(l.push(4));
        assert_eq!(l.pop(), Some(2));
        assert_eq!(l.pop(), Some(4));
        assert_eq!(l.pop(), None);
    }
}
