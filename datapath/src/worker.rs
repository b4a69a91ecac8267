//! The pinned, busy-polling datapath workers: each owns some [`XskSocket`]s, moves frames
//! between their rings and control's [`Link`], and counts everything it does.
//!
//! The loop does not allocate, lock or log: messages are fixed-size, lanes are lock-free and
//! bounded (a full lane drops and counts), counters are single-writer atomics read by control.
//! Per-frame decisions go through the [`Decide`] hook, a pure function of the frame and its
//! metadata: up to control, drop, or handled on this core — in which case the hook has put
//! replies or forwarded copies into the worker's [`Outbox`], which the worker enqueues on the
//! TX ring of the named port's socket (any socket of this worker). Frames the hook sends carry
//! a [`TxToken`] with [`FAST_TOKEN`] set: the worker lets the hook patch them right before the
//! kick ([`Decide::before_kick`]) and hands their completions back to it ([`Decide::tx_done`])
//! instead of reporting them to control.

use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam::utils::CachePadded;

use crate::handoff::{
    FrameBuf, Link, PortId, RxMessage, RxTimestamps, Transport, TxDropReason, TxOutcome, TxReport,
    TxToken,
};
use crate::xsk::{clock_tai_ns, event_of, transport_of, vlan_of, RxFrame, XskSocket};

/// A counter written by one worker thread and read by any.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning worker calls this, so load + store (no locked RMW) suffices;
    /// Relaxed because readers want a recent value, not an ordering with other memory.
    #[inline]
    pub fn add(&self, n: u64) {
        let v = self.0.load(Ordering::Relaxed);
        self.0.store(v.wrapping_add(n), Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// One worker's counters. Every dropped frame lands in exactly one `*_drop*`/`*_full` counter.
#[derive(Debug, Default)]
pub struct WorkerCounters {
    /// Loop passes.
    pub loops: Counter,
    /// Frames taken off RX rings.
    pub rx_frames: Counter,
    /// ... carried over Ethernet (Annex E).
    pub rx_l2: Counter,
    /// ... over UDP/IPv4 (Annex C).
    pub rx_udp4: Counter,
    /// ... over UDP/IPv6 (Annex D).
    pub rx_udp6: Counter,
    /// ... with a VLAN tag (also counted by transport).
    pub rx_vlan: Counter,
    /// ... without a valid metadata block (no XDP timestamp).
    pub rx_no_metadata: Counter,
    /// ... longer than a [`FrameBuf`]: dropped.
    pub rx_too_long: Counter,
    /// ... dropped by the decision hook.
    pub rx_decided_drop: Counter,
    /// ... handed up to control.
    pub rx_to_control: Counter,
    /// ... dropped because the RX lane to control was full.
    pub rx_queue_full: Counter,
    /// Passes after which RX frames still waited for fill-ring room.
    pub fill_ring_shortfall: Counter,
    /// Transmit requests taken from control.
    pub tx_requests: Counter,
    /// Frames put on TX rings.
    pub tx_frames: Counter,
    /// Frames completed by the kernel.
    pub tx_completed: Counter,
    /// Requests dropped: no socket for the port.
    pub tx_unknown_port: Counter,
    /// Requests dropped: no free UMEM frame.
    pub tx_no_free_frame: Counter,
    /// Requests dropped: frame too long for a UMEM frame.
    pub tx_too_long: Counter,
    /// Passes on which the TX ring could not take every pending frame.
    pub tx_ring_full: Counter,
    /// Kick errors.
    pub tx_kick_errors: Counter,
    /// TX reports dropped because the report lane was full.
    pub tx_report_queue_full: Counter,
    /// Event messages sent through the kernel-timestamp socket (stamped at driver transmit).
    pub tx_kernel_stamped: Counter,
    /// Event messages the kernel-timestamp socket refused (sent through the ring instead).
    pub tx_stamp_send_errors: Counter,
    /// Event messages reported with their pre-send reading: the kernel stamp did not come
    /// back in time.
    pub tx_stamp_fallbacks: Counter,
    /// Event messages whose TX time is their veth wire stamp (same hook as the RX side).
    pub tx_wire_stamped: Counter,
    /// Event messages on a wire-stamped veth whose wire stamp was gone (kernel stamp used).
    pub tx_wire_missed: Counter,
    /// Frames handled on this core by the decision hook (answered or forwarded).
    pub rx_fast_handled: Counter,
    /// Frames the hook sent (replies, forwarded copies) enqueued on a TX ring.
    pub fast_tx_enqueued: Counter,
    /// Frames the hook sent that could not be enqueued (unknown port, no free frame, too long).
    pub fast_tx_dropped: Counter,
    /// Idle sleeps ([`IdlePolicy::SleepAfter`]).
    pub sleeps: Counter,
    /// Forced rests of a real-time worker after [`BUSY_BUDGET_NS`] without an idle sleep.
    pub forced_rests: Counter,
}

/// A plain copy of [`WorkerCounters`] for display and assertions.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    pub loops: u64,
    pub rx_frames: u64,
    pub rx_l2: u64,
    pub rx_udp4: u64,
    pub rx_udp6: u64,
    pub rx_vlan: u64,
    pub rx_no_metadata: u64,
    pub rx_too_long: u64,
    pub rx_decided_drop: u64,
    pub rx_to_control: u64,
    pub rx_queue_full: u64,
    pub fill_ring_shortfall: u64,
    pub tx_requests: u64,
    pub tx_frames: u64,
    pub tx_completed: u64,
    pub tx_unknown_port: u64,
    pub tx_no_free_frame: u64,
    pub tx_too_long: u64,
    pub tx_ring_full: u64,
    pub tx_kick_errors: u64,
    pub tx_report_queue_full: u64,
    pub tx_kernel_stamped: u64,
    pub tx_stamp_send_errors: u64,
    pub tx_stamp_fallbacks: u64,
    pub tx_wire_stamped: u64,
    pub tx_wire_missed: u64,
    pub rx_fast_handled: u64,
    pub fast_tx_enqueued: u64,
    pub fast_tx_dropped: u64,
    pub sleeps: u64,
    pub forced_rests: u64,
}

impl WorkerCounters {
    /// Reads every counter.
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            loops: self.loops.get(),
            rx_frames: self.rx_frames.get(),
            rx_l2: self.rx_l2.get(),
            rx_udp4: self.rx_udp4.get(),
            rx_udp6: self.rx_udp6.get(),
            rx_vlan: self.rx_vlan.get(),
            rx_no_metadata: self.rx_no_metadata.get(),
            rx_too_long: self.rx_too_long.get(),
            rx_decided_drop: self.rx_decided_drop.get(),
            rx_to_control: self.rx_to_control.get(),
            rx_queue_full: self.rx_queue_full.get(),
            fill_ring_shortfall: self.fill_ring_shortfall.get(),
            tx_requests: self.tx_requests.get(),
            tx_frames: self.tx_frames.get(),
            tx_completed: self.tx_completed.get(),
            tx_unknown_port: self.tx_unknown_port.get(),
            tx_no_free_frame: self.tx_no_free_frame.get(),
            tx_too_long: self.tx_too_long.get(),
            tx_ring_full: self.tx_ring_full.get(),
            tx_kick_errors: self.tx_kick_errors.get(),
            tx_report_queue_full: self.tx_report_queue_full.get(),
            tx_kernel_stamped: self.tx_kernel_stamped.get(),
            tx_stamp_send_errors: self.tx_stamp_send_errors.get(),
            tx_stamp_fallbacks: self.tx_stamp_fallbacks.get(),
            tx_wire_stamped: self.tx_wire_stamped.get(),
            tx_wire_missed: self.tx_wire_missed.get(),
            rx_fast_handled: self.rx_fast_handled.get(),
            fast_tx_enqueued: self.fast_tx_enqueued.get(),
            fast_tx_dropped: self.fast_tx_dropped.get(),
            sleeps: self.sleeps.get(),
            forced_rests: self.forced_rests.get(),
        }
    }
}

/// What the metadata and the worker know about a received frame, for [`Decide`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxInfo {
    /// Ingress port.
    pub port: PortId,
    /// RX queue.
    pub queue_id: u32,
    /// Carriage.
    pub transport: Transport,
    /// VLAN-tagged.
    pub vlan: bool,
    /// UDP port 319.
    pub udp_event: bool,
    /// Timestamps.
    pub ts: RxTimestamps,
}

/// The per-frame verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Copy the frame up to control.
    ToControl,
    /// Drop it (counted as `rx_decided_drop`).
    Drop,
    /// Handled on this core: replies / forwarded copies, if any, are in the [`Outbox`]
    /// (counted as `rx_fast_handled`).
    Handled,
    /// Handled on this core (as [`Decision::Handled`]) and copied up to control as well
    /// (a Management message a transparent clock forwards and control answers).
    HandledAndToControl,
}

/// Token bit of frames sent by the decision hook (the rest of the token is the hook's).
/// Control's tokens must leave it clear.
pub const FAST_TOKEN: u64 = 1 << 63;

/// One frame the decision hook wants sent.
#[derive(Clone, Copy, Debug)]
pub struct Outgoing {
    /// Egress port (a socket of this worker).
    pub port: PortId,
    /// Token, with [`FAST_TOKEN`] set.
    pub token: TxToken,
    /// The frame.
    pub frame: FrameBuf,
}

/// A fixed-capacity batch of frames the hook sends, allocated once with the worker.
pub struct Outbox {
    items: Box<[Outgoing]>,
    len: usize,
}

impl core::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Outbox")
            .field("capacity", &self.items.len())
            .field("len", &self.len)
            .finish()
    }
}

impl Outbox {
    /// An outbox of `capacity` frames.
    pub fn new(capacity: usize) -> Self {
        Outbox {
            items: vec![
                Outgoing {
                    port: 0,
                    token: TxToken(0),
                    frame: FrameBuf::new(),
                };
                capacity.max(1)
            ]
            .into_boxed_slice(),
            len: 0,
        }
    }

    /// Builds a frame in the next free slot with `f` (which returns the length) and queues it
    /// for `port`. Returns `full` when no slot is free; `f`'s error leaves nothing queued.
    pub fn push_with<E>(
        &mut self,
        port: PortId,
        token: TxToken,
        full: E,
        f: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<(), E> {
        let Some(slot) = self.items.get_mut(self.len) else {
            return Err(full);
        };
        slot.frame.write_with(f)?;
        slot.port = port;
        slot.token = TxToken(token.0 | FAST_TOKEN);
        self.len += 1;
        Ok(())
    }

    /// Frames queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The queued frames.
    pub fn items(&self) -> &[Outgoing] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// Empties the outbox.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

/// Capacity of a worker's [`Outbox`]: a full RX batch answered, with room for fan-out.
pub const OUTBOX_CAP: usize = 256;

/// The per-frame decision hook: a function of the frame bytes and what is known about it.
/// The fast path ([`crate::fastpath::FastPath`]) answers Delay_Req/Pdelay_Req and forwards as
/// a transparent clock through the [`Outbox`].
pub trait Decide: Send + 'static {
    /// Decides what happens to one received frame; frames to send go into `out`.
    fn decide(&mut self, frame: &[u8], info: &RxInfo, out: &mut Outbox) -> Decision;

    /// Called for each frame with a [`FAST_TOKEN`] token right before it goes on the TX ring,
    /// with the CLOCK_TAI reading that becomes its software TX timestamp: the place to write a
    /// one-step correction.
    fn before_kick(
        &mut self,
        _port: PortId,
        _token: TxToken,
        _frame: &mut [u8],
        _kick_tai_ns: u64,
    ) {
    }

    /// The fate of a frame the hook sent (TX timestamp or drop); may queue more frames (a
    /// two-step Follow_Up).
    fn tx_done(&mut self, _port: PortId, _token: TxToken, _outcome: TxOutcome, _out: &mut Outbox) {}

    /// Called about every millisecond and when idle: table expiry, configuration, statistics.
    fn tick(&mut self, _now_tai_ns: u64, _out: &mut Outbox) {}
}

/// Sends every frame up to control.
#[derive(Clone, Copy, Debug, Default)]
pub struct ToControl;

impl Decide for ToControl {
    #[inline]
    fn decide(&mut self, _frame: &[u8], _info: &RxInfo, _out: &mut Outbox) -> Decision {
        Decision::ToControl
    }
}

/// What a worker does when a pass found nothing to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IdlePolicy {
    /// Spin (lowest latency; the core is dedicated).
    #[default]
    BusyPoll,
    /// `sched_yield` after this many empty passes (tests).
    YieldAfter(u32),
    /// After this many empty passes, sleep in `epoll_wait` on the sockets' RX rings and the
    /// link's doorbell (at most [`SLEEP_MAX_NS`]) until a frame or a transmit request comes:
    /// for cores shared with other work, where a spinning thread is descheduled for whole
    /// time slices while a sleeping one is woken (and, with a real-time priority, run) as
    /// soon as the kernel hands it a frame.
    SleepAfter(u32),
}

/// Longest sleep of an [`IdlePolicy::SleepAfter`] worker: its periodic work (fast-path timers,
/// Pdelay_Req of a P2P transparent clock) runs at least this often.
pub const SLEEP_MAX_NS: u64 = 1_000_000;

/// A worker with a real-time priority sleeps for [`FORCED_REST_NS`] after this long without
/// an idle sleep (busy-polling, or a flood), so that it cannot starve the rest of its core
/// (control, softirqs, per-CPU kernel threads) of CPU.
pub const BUSY_BUDGET_NS: u64 = 2_000_000;
/// See [`BUSY_BUDGET_NS`]: about 5 % of the core.
pub const FORCED_REST_NS: u64 = 100_000;

/// Worker settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Core to pin to (`core_affinity` id); `None` leaves the thread unpinned.
    pub core: Option<usize>,
    /// Idle behaviour.
    pub idle: IdlePolicy,
    /// Drop every capability of the worker thread once it has pinned itself (a running
    /// worker needs none: it only touches rings it already owns and kicks with `sendto`).
    /// Capabilities are per thread on Linux, so the daemon's privilege drop cannot reach it.
    pub drop_capabilities: bool,
    /// Run the worker thread under SCHED_FIFO with this priority (1–99); `None` keeps the
    /// normal policy. Failure (no CAP_SYS_NICE, RLIMIT_RTPRIO) is reported in
    /// [`WorkerHandle::realtime`], not fatal.
    pub rt_priority: Option<u8>,
}

/// Puts the calling thread under SCHED_FIFO at `prio` (the worker threads call it; public for
/// tests that reproduce their scheduling).
pub fn set_realtime(prio: u8) -> Result<u8, String> {
    use thread_priority::unix::{
        set_thread_priority_and_policy, thread_native_id, RealtimeThreadSchedulePolicy,
        ThreadSchedulePolicy,
    };
    use thread_priority::{ScheduleParams, ThreadPriority};
    let policy = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
    let p = ThreadPriority::from_posix(ScheduleParams {
        sched_priority: i32::from(prio),
    });
    set_thread_priority_and_policy(thread_native_id(), p, policy)
        .map(|()| prio)
        .map_err(|e| {
            format!("SCHED_FIFO {prio} refused ({e:?}): needs CAP_SYS_NICE or RLIMIT_RTPRIO; running at normal priority")
        })
}

/// Values of a worker's run flag. The loop reads the flag once per pass (as it always had to
/// for stopping), so the test aids below cost nothing in the hot loop.
const RUN: u8 = 0;
const STOP: u8 = 1;
/// Test aid: stop making passes (a stalled worker) until stopped.
const STALL: u8 = 2;
/// Test aid: return from the thread at once, as a worker that died would.
const EXIT: u8 = 3;

/// A running worker.
#[derive(Debug)]
pub struct WorkerHandle {
    stop: Arc<AtomicU8>,
    counters: Arc<CachePadded<WorkerCounters>>,
    link: Arc<Link>,
    pinned: bool,
    realtime: Option<Result<u8, String>>,
    thread: Option<JoinHandle<Vec<XskSocket>>>,
}

impl WorkerHandle {
    /// The real-time priority the worker runs at, or why it could not get it; `None` when
    /// none was asked for.
    pub fn realtime(&self) -> Option<&Result<u8, String>> {
        self.realtime.as_ref()
    }

    /// The worker's counters.
    pub fn counters(&self) -> &WorkerCounters {
        &self.counters
    }

    /// The worker's lanes.
    pub fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// Whether pinning to the requested core succeeded (false when none was requested).
    pub fn pinned(&self) -> bool {
        self.pinned
    }

    /// Whether the worker thread has ended (asked to stop, or died).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Test aid (fault-injection tests of the control thread's heartbeat): the worker stops
    /// making passes, as if stuck, until it is stopped.
    pub fn test_stall(&self) {
        // Release: pairs with the worker's Acquire load of the flag.
        self.stop.store(STALL, Ordering::Release);
    }

    /// Test aid: the worker thread returns at once, as if it had died.
    pub fn test_exit(&self) {
        // Release: pairs with the worker's Acquire load of the flag.
        self.stop.store(EXIT, Ordering::Release);
    }

    /// Asks the worker to stop and waits for it, returning its sockets.
    pub fn stop(mut self) -> Vec<XskSocket> {
        self.stop.store(STOP, Ordering::Release);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        // Release: pairs with the worker's Acquire load of the flag.
        self.stop.store(STOP, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Empties the calling thread's effective, permitted and inheritable capability sets.
/// Capabilities are per thread on Linux: every long-lived thread the daemon starts before its
/// control thread drops privileges (workers, the status and metrics servers) calls this first.
pub fn drop_thread_capabilities() {
    let none = rustix::thread::CapabilitySet::empty();
    let sets = rustix::thread::CapabilitySets {
        effective: none,
        permitted: none,
        inheritable: none,
    };
    if let Err(e) = rustix::thread::set_capabilities(None, sets) {
        tracing::warn!("thread: cannot drop its capabilities: {e}");
    }
}

/// Starts a worker thread owning `sockets`, talking to control through `link`.
pub fn spawn<D: Decide>(
    name: &str,
    cfg: WorkerConfig,
    sockets: Vec<XskSocket>,
    link: Arc<Link>,
    decide: D,
) -> std::io::Result<WorkerHandle> {
    let stop = Arc::new(AtomicU8::new(RUN));
    let counters = Arc::new(CachePadded::new(WorkerCounters::default()));
    let (pin_tx, pin_rx) = std::sync::mpsc::channel();
    let thread = {
        let stop = stop.clone();
        let counters = counters.clone();
        let link = link.clone();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let pinned = cfg
                    .core
                    .is_some_and(|id| core_affinity::set_for_current(core_affinity::CoreId { id }));
                // Before the capability drop: SCHED_FIFO needs CAP_SYS_NICE.
                let rt = cfg.rt_priority.map(set_realtime);
                let realtime = matches!(rt, Some(Ok(_)));
                if cfg.drop_capabilities {
                    drop_thread_capabilities();
                }
                let _ = pin_tx.send((pinned, rt));
                let mut w = Worker {
                    sockets,
                    link,
                    counters,
                    decide,
                    outbox: Outbox::new(OUTBOX_CAP),
                    last_tick: 0,
                };
                w.run(&stop, cfg.idle, realtime);
                w.sockets
            })?
    };
    let (pinned, realtime) = pin_rx.recv().unwrap_or((false, None));
    Ok(WorkerHandle {
        stop,
        counters,
        link,
        pinned,
        realtime,
        thread: Some(thread),
    })
}

/// The loop state. Public so that benchmarks and tests can drive passes on their own thread.
pub struct Worker<D> {
    sockets: Vec<XskSocket>,
    link: Arc<Link>,
    counters: Arc<CachePadded<WorkerCounters>>,
    decide: D,
    outbox: Outbox,
    last_tick: u64,
}

impl<D> core::fmt::Debug for Worker<D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Worker")
            .field("sockets", &self.sockets)
            .finish_non_exhaustive()
    }
}

/// TX requests taken from the down lane per pass.
const TX_BATCH: usize = 64;

/// Free TX frames per socket that the decision hook's frames never take: kept for control's
/// TX requests, so that a flood of fast-path replies cannot starve Sync/Announce. (At most a
/// quarter of the socket's TX frames, for small UMEMs.)
pub const CONTROL_TX_RESERVE: usize = TX_BATCH;

fn control_reserve(s: &XskSocket) -> usize {
    CONTROL_TX_RESERVE.min(s.status().tx_frames as usize / 4)
}

impl<D: Decide> Worker<D> {
    /// A worker that the caller drives with [`Self::pass`].
    pub fn new(sockets: Vec<XskSocket>, link: Arc<Link>, decide: D) -> Self {
        Worker {
            sockets,
            link,
            counters: Arc::new(CachePadded::new(WorkerCounters::default())),
            decide,
            outbox: Outbox::new(OUTBOX_CAP),
            last_tick: 0,
        }
    }

    /// The decision hook.
    pub fn decide(&self) -> &D {
        &self.decide
    }

    /// Counters.
    pub fn counters(&self) -> &WorkerCounters {
        &self.counters
    }

    /// Sockets.
    pub fn sockets(&self) -> &[XskSocket] {
        &self.sockets
    }

    fn run(&mut self, stop: &AtomicU8, idle: IdlePolicy, realtime: bool) {
        let mut empty = 0u32;
        let mut sleeper = match idle {
            IdlePolicy::SleepAfter(_) => Sleeper::new(&self.sockets, &self.link),
            _ => None,
        };
        let mut busy_since = clock_tai_ns();
        loop {
            // Acquire: pairs with the Release stores in WorkerHandle.
            match stop.load(Ordering::Acquire) {
                RUN => {}
                STALL => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                }
                EXIT => return,
                _ => break,
            }
            if realtime {
                // A real-time worker that has not slept for BUSY_BUDGET_NS (spinning, or a
                // flood) rests briefly, leaving its core to the rest of the system (control,
                // softirqs, per-CPU kernel threads) about 5 % of the time.
                let now = clock_tai_ns();
                if now.saturating_sub(busy_since) > BUSY_BUDGET_NS {
                    self.counters.forced_rests.inc();
                    std::thread::sleep(std::time::Duration::from_nanos(FORCED_REST_NS));
                    busy_since = clock_tai_ns();
                }
            }
            if self.pass() == 0 {
                empty = empty.saturating_add(1);
                match idle {
                    IdlePolicy::BusyPoll => core::hint::spin_loop(),
                    IdlePolicy::YieldAfter(n) => {
                        if empty >= n {
                            std::thread::yield_now();
                        } else {
                            core::hint::spin_loop();
                        }
                    }
                    IdlePolicy::SleepAfter(n) => {
                        if empty >= n {
                            // Only a real sleep restarts the real-time budget: a sleep cut
                            // short because control has queued work does not rest the core.
                            if self.sleep(sleeper.as_mut()) {
                                busy_since = clock_tai_ns();
                            }
                            empty = 0;
                        } else {
                            core::hint::spin_loop();
                        }
                    }
                }
            } else {
                empty = 0;
            }
        }
        // Drain what is in flight so tokens are answered before the sockets go away.
        for _ in 0..16 {
            if self.pass() == 0 {
                break;
            }
        }
    }

    /// Sleeps until a frame arrives on a socket, control rings the doorbell, or
    /// [`SLEEP_MAX_NS`] passes (without an epoll set: just that long). False when control's
    /// lane already held work, so it did not sleep.
    fn sleep(&mut self, sleeper: Option<&mut Sleeper>) -> bool {
        let c = &**self.counters;
        let db = &self.link.doorbell;
        db.going_to_sleep();
        // Re-check after announcing the sleep (see Doorbell::ring): a request queued before
        // the announcement is seen here, one queued after it rings the eventfd.
        if !self.link.tx_down.is_empty() {
            db.awake();
            return false;
        }
        c.sleeps.inc();
        match sleeper {
            Some(s) => s.wait(),
            None => std::thread::sleep(std::time::Duration::from_nanos(SLEEP_MAX_NS)),
        }
        db.awake();
        true
    }

    /// One pass over every socket: TX requests from control first (they have priority over
    /// fast-path replies for ring slots and UMEM frames), RX batch (fast-path replies enqueued
    /// at once), flush (with the hook's pre-kick patch), completions (fast-path ones back to the hook),
    /// and a second flush of what completions produced. Returns the amount of work done
    /// (0 = idle).
    #[inline]
    pub fn pass(&mut self) -> usize {
        let c = &**self.counters;
        c.loops.inc();
        let mut work = 0;
        let link = &*self.link;
        let decide = &mut self.decide;
        let outbox = &mut self.outbox;
        // Control's TX requests (Sync, Announce, Follow_Up, ...) go on the rings first: when a
        // request flood fills the rings with fast-path replies, those replies are what is
        // refused (and counted), never the clock's own messages.
        for _ in 0..TX_BATCH {
            let Some(req) = link.tx_down.pop() else { break };
            work += 1;
            c.tx_requests.inc();
            let Some(s) = self.sockets.iter_mut().find(|s| s.port() == req.port) else {
                c.tx_unknown_port.inc();
                report(
                    c,
                    link,
                    req.port,
                    req.token,
                    TxOutcome::Dropped(TxDropReason::UnknownPort),
                );
                continue;
            };
            if s.tx_free_frames() == 0 {
                // Reclaim before giving up on the request.
                let port = req.port;
                s.poll_completions(|token, outcome| {
                    c.tx_completed.inc();
                    completed(c, link, decide, outbox, port, token, outcome);
                });
            }
            if let Err(reason) = s.enqueue_tx(req.token, req.frame.as_slice()) {
                match reason {
                    TxDropReason::NoFreeFrame => c.tx_no_free_frame.inc(),
                    TxDropReason::TooLong => c.tx_too_long.inc(),
                    _ => {}
                }
                report(c, link, req.port, req.token, TxOutcome::Dropped(reason));
            }
        }

        for i in 0..self.sockets.len() {
            let Some(s) = self.sockets.get_mut(i) else {
                break;
            };
            let port = s.port();
            let queue_id = s.status().queue_id;
            // Read once per batch, after the ring handed the batch over.
            let mut user_tai_ns = 0;
            work += s.poll_rx(|f: RxFrame<'_>| {
                if user_tai_ns == 0 {
                    user_tai_ns = clock_tai_ns();
                }
                handle_rx(c, link, decide, outbox, port, queue_id, user_tai_ns, &f);
            });
            drain_outbox(c, &mut self.sockets, decide, outbox);
        }

        for round in 0..2 {
            for i in 0..self.sockets.len() {
                let Some(s) = self.sockets.get_mut(i) else {
                    break;
                };
                let port = s.port();
                let sent = s.flush_tx_with(|token, frame, now| {
                    if token.0 & FAST_TOKEN != 0 {
                        decide.before_kick(port, token, frame, now);
                    }
                });
                c.tx_frames.add(sent as u64);
                work += sent;
                work += s.poll_completions(|token, outcome| {
                    c.tx_completed.inc();
                    completed(c, link, decide, outbox, port, token, outcome);
                });
                let ev = s.take_events();
                c.fill_ring_shortfall.add(ev.fill_shortfall);
                c.tx_ring_full.add(ev.tx_ring_full);
                c.tx_kick_errors.add(ev.kick_errors);
                c.tx_kernel_stamped.add(ev.stamp.sent);
                c.tx_stamp_send_errors.add(ev.stamp.send_errors);
                c.tx_stamp_fallbacks.add(ev.stamp.fallbacks);
                c.tx_wire_stamped.add(ev.stamp.wire);
                c.tx_wire_missed.add(ev.stamp.wire_missed);
            }
            // Completions may have produced frames (two-step Follow_Ups): send them now.
            if outbox.is_empty() || round == 1 {
                break;
            }
            drain_outbox(c, &mut self.sockets, decide, outbox);
        }

        let passes = c.loops.get();
        if work == 0 || passes.wrapping_sub(self.last_tick) >= 1024 {
            self.last_tick = passes;
            decide.tick(clock_tai_ns(), outbox);
            drain_outbox(c, &mut self.sockets, decide, outbox);
        }
        work
    }
}

/// The epoll set a sleeping worker waits on: every socket's RX ring and the doorbell.
struct Sleeper {
    epoll: std::os::fd::OwnedFd,
    events: [rustix::event::epoll::Event; 8],
}

impl Sleeper {
    fn new(sockets: &[XskSocket], link: &Link) -> Option<Self> {
        use rustix::event::epoll;
        let ep = epoll::create(epoll::CreateFlags::CLOEXEC).ok()?;
        for (i, s) in sockets.iter().enumerate() {
            epoll::add(
                &ep,
                s.as_fd(),
                epoll::EventData::new_u64(i as u64),
                epoll::EventFlags::IN,
            )
            .ok()?;
        }
        if let Some(fd) = link.doorbell.fd() {
            epoll::add(
                &ep,
                fd,
                epoll::EventData::new_u64(u64::MAX),
                epoll::EventFlags::IN,
            )
            .ok()?;
        }
        let ev = epoll::Event {
            flags: epoll::EventFlags::empty(),
            data: epoll::EventData::new_u64(0),
        };
        Some(Sleeper {
            epoll: ep,
            events: [ev; 8],
        })
    }

    fn wait(&mut self) {
        let t = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: SLEEP_MAX_NS as _,
        };
        // EINTR or any other error: wake up and make a pass, as after a timeout.
        let _ = rustix::event::epoll::wait(&self.epoll, &mut self.events[..], Some(&t));
    }
}

/// Enqueues the hook's frames on their ports' sockets; failures go back to the hook.
#[inline]
fn drain_outbox<D: Decide>(
    c: &WorkerCounters,
    sockets: &mut [XskSocket],
    decide: &mut D,
    outbox: &mut Outbox,
) {
    // Frames whose completion handling queues more frames land in the outbox again; they are
    // taken by the next drain.
    let n = outbox.len();
    for k in 0..n {
        let Some(o) = outbox.items().get(k).copied() else {
            break;
        };
        let res = match sockets.iter_mut().find(|s| s.port() == o.port) {
            None => Err(TxDropReason::UnknownPort),
            Some(s) if s.tx_free_frames() <= control_reserve(s) => Err(TxDropReason::NoFreeFrame),
            Some(s) => s.enqueue_tx(o.token, o.frame.as_slice()),
        };
        match res {
            Ok(()) => c.fast_tx_enqueued.inc(),
            Err(reason) => {
                c.fast_tx_dropped.inc();
                decide.tx_done(o.port, o.token, TxOutcome::Dropped(reason), outbox);
            }
        }
    }
    // Frames queued by tx_done above sit after `n`: move them to the front.
    let extra = outbox.len().saturating_sub(n);
    if extra > 0 {
        let items = &mut outbox.items;
        for k in 0..extra {
            if let (Some(src), true) = (items.get(n + k).copied(), k < items.len()) {
                if let Some(dst) = items.get_mut(k) {
                    *dst = src;
                }
            }
        }
    }
    outbox.len = extra;
}

#[inline]
fn completed<D: Decide>(
    c: &WorkerCounters,
    link: &Link,
    decide: &mut D,
    outbox: &mut Outbox,
    port: PortId,
    token: TxToken,
    outcome: TxOutcome,
) {
    if token.0 & FAST_TOKEN != 0 {
        decide.tx_done(port, token, outcome, outbox);
    } else {
        report(c, link, port, token, outcome);
    }
}

#[inline]
fn report(
    c: &WorkerCounters,
    link: &Link,
    port: PortId,
    token: crate::handoff::TxToken,
    outcome: TxOutcome,
) {
    if !link.tx_reports_up.push(TxReport {
        port,
        token,
        outcome,
    }) {
        c.tx_report_queue_full.inc();
    }
}

#[inline]
#[allow(clippy::too_many_arguments)]
fn handle_rx<D: Decide>(
    c: &WorkerCounters,
    link: &Link,
    decide: &mut D,
    outbox: &mut Outbox,
    port: PortId,
    queue_id: u32,
    user_tai_ns: u64,
    f: &RxFrame<'_>,
) {
    c.rx_frames.inc();
    let meta = f.meta.as_ref();
    let transport = transport_of(meta);
    match transport {
        Transport::Ethernet => c.rx_l2.inc(),
        Transport::Udp4 => c.rx_udp4.inc(),
        Transport::Udp6 => c.rx_udp6.inc(),
        Transport::Unknown => {}
    }
    let vlan = vlan_of(meta);
    if vlan {
        c.rx_vlan.inc();
    }
    if meta.is_none() {
        c.rx_no_metadata.inc();
    }
    let info = RxInfo {
        port,
        queue_id,
        transport,
        vlan,
        udp_event: event_of(meta),
        ts: RxTimestamps {
            xdp_tai_ns: meta.and_then(|m| m.tai_ns()),
            hw_ns: meta.and_then(|m| m.hw_ns()),
            user_tai_ns,
        },
    };
    let d = decide.decide(f.data, &info, outbox);
    match d {
        Decision::Drop => c.rx_decided_drop.inc(),
        Decision::Handled => c.rx_fast_handled.inc(),
        Decision::ToControl | Decision::HandledAndToControl => {
            if d == Decision::HandledAndToControl {
                c.rx_fast_handled.inc();
            }
            let Ok(frame) = FrameBuf::from_slice(f.data) else {
                c.rx_too_long.inc();
                return;
            };
            let msg = RxMessage {
                port,
                queue_id,
                transport,
                vlan,
                udp_event: info.udp_event,
                ts: info.ts,
                frame,
            };
            if link.rx_up.push(msg) {
                c.rx_to_control.inc();
            } else {
                c.rx_queue_full.inc();
            }
        }
    }
}
