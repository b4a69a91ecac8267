//! The port timer model: a small deadline set ([`Deadlines`]) with `poll_timeout()`, and the
//! timeout durations of IEEE 1588-2019 9.2.6 computed in integers.
//!
//! Randomness (the announce receipt timeout's random extension) is an input: the caller passes
//! a `u32` drawn from its own seeded generator, so the simulator stays deterministic.

use core::time::Duration;

use crate::datasets::{FaultResetInterval, PortDs};
use crate::port::state::PortState;
use crate::time::{log_interval, log_interval_times, Instant};

/// What a deadline is for.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum TimerKind {
    /// 9.2.6.12: ANNOUNCE_RECEIPT_TIMEOUT_EXPIRES.
    AnnounceReceipt,
    /// SYNCHRONIZATION_FAULT when no Sync arrives (linuxptp `syncReceiptTimeout`).
    SyncReceipt,
    /// 9.2.6.11: QUALIFICATION_TIMEOUT_EXPIRES in PRE_MASTER.
    Qualification,
    /// FAULT_CLEARED after linuxptp's `fault_reset_interval`.
    FaultReset,
    /// Next Announce transmission (master).
    AnnounceTx,
    /// Next Sync transmission (master).
    SyncTx,
    /// Next Delay_Req (E2E slave).
    DelayReq,
    /// Next Pdelay_Req (P2P, any state but FAULTY/DISABLED).
    PdelayReq,
    /// Clock-wide: the periodic state decision (port number 0).
    StateDecision,
}

/// A deadline's identity: a port number (0 for clock-wide timers) and a kind. Setting a timer
/// that exists moves it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TimerId {
    pub port: u16,
    pub kind: TimerKind,
}

impl TimerId {
    pub const fn new(port: u16, kind: TimerKind) -> Self {
        TimerId { port, kind }
    }
}

/// A set of deadlines, one per [`TimerId`]. Linear scans: an instance has a handful of ports
/// and a handful of timers per port, far below where a heap would pay off.
#[derive(Clone, Debug, Default)]
pub struct Deadlines {
    entries: Vec<(TimerId, Instant)>,
}

impl Deadlines {
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms (or re-arms) `id` to fire at `at`.
    pub fn set(&mut self, id: TimerId, at: Instant) {
        match self.entries.iter_mut().find(|(i, _)| *i == id) {
            Some(e) => e.1 = at,
            None => self.entries.push((id, at)),
        }
    }

    /// Disarms `id`; returns whether it was armed.
    pub fn cancel(&mut self, id: TimerId) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(i, _)| *i != id);
        before != self.entries.len()
    }

    /// Disarms every timer of `port`.
    pub fn cancel_port(&mut self, port: u16) {
        self.entries.retain(|(i, _)| i.port != port);
    }

    /// When `id` fires, if armed.
    pub fn get(&self, id: TimerId) -> Option<Instant> {
        self.entries.iter().find(|(i, _)| *i == id).map(|e| e.1)
    }

    /// The earliest deadline: when the shell must call back at the latest.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.entries.iter().map(|e| e.1).min()
    }

    /// Removes and returns the earliest timer due at `now` (deadline ≤ now), ties broken by
    /// [`TimerId`] order so that runs are reproducible. Call until `None`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<TimerId> {
        let (pos, _) = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, (_, at))| *at <= now)
            .min_by_key(|(_, (id, at))| (*at, *id))?;
        Some(self.entries.swap_remove(pos).0)
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// IEEE 1588-2019 9.2.6.12 / 7.7.3.1: announceReceiptTimeout × 2^logAnnounceInterval, plus a
/// random extension so that clocks that lost the same master do not all claim mastership in
/// the same instant. Like linuxptp, the extension is uniform in (0, 1] announce interval;
/// `random` is a uniformly drawn `u32` supplied by the caller.
pub fn announce_receipt_timeout(
    announce_receipt_timeout: u8,
    log_announce: i8,
    random: u32,
) -> Duration {
    let interval = log_interval(log_announce);
    let base = interval.saturating_mul(u32::from(announce_receipt_timeout));
    let interval_ns = interval.as_nanos();
    let extra = (interval_ns * (u128::from(random) + 1)) >> 32;
    base.saturating_add(Duration::from_nanos(
        u64::try_from(extra).unwrap_or(u64::MAX),
    ))
}

/// syncReceiptTimeout × 2^logSyncInterval, or `None` when the timeout is disabled (0).
pub fn sync_receipt_timeout(sync_receipt_timeout: u8, log_sync: i8) -> Option<Duration> {
    (sync_receipt_timeout != 0)
        .then(|| log_interval_times(u32::from(sync_receipt_timeout), log_sync))
}

/// IEEE 1588-2019 9.2.6.11: the PRE_MASTER qualification timeout, (N + 1) announce intervals
/// where N is currentDS.stepsRemoved.
pub fn qualification_timeout(steps_removed: u16, log_announce: i8) -> Duration {
    log_interval_times(u32::from(steps_removed) + 1, log_announce)
}

/// Re-arms the state-dependent timers of one port after it entered `state`
/// (9.2.5, Table 27 "actions on entering"):
/// - LISTENING, UNCALIBRATED, SLAVE, PASSIVE: announce receipt timeout (randomised);
/// - UNCALIBRATED, SLAVE: sync receipt timeout, if configured;
/// - PRE_MASTER: qualification timeout;
/// - FAULTY: fault reset;
/// - every other timer of the port is cancelled (transmission timers are the master/slave
///   roles' business and are armed by them).
#[allow(clippy::too_many_arguments)]
pub fn arm_for_state(
    deadlines: &mut Deadlines,
    now: Instant,
    ds: &PortDs,
    state: PortState,
    steps_removed: u16,
    sync_receipt: u8,
    fault_reset: FaultResetInterval,
    random: u32,
) {
    let port = ds.port_identity.port_number;
    for kind in [
        TimerKind::AnnounceReceipt,
        TimerKind::SyncReceipt,
        TimerKind::Qualification,
        TimerKind::FaultReset,
    ] {
        deadlines.cancel(TimerId::new(port, kind));
    }
    match state {
        PortState::Listening | PortState::Uncalibrated | PortState::Slave | PortState::Passive => {
            let t = announce_receipt_timeout(
                ds.announce_receipt_timeout,
                ds.log_announce_interval,
                random,
            );
            deadlines.set(TimerId::new(port, TimerKind::AnnounceReceipt), now + t);
            if state.is_slave_side() {
                if let Some(t) = sync_receipt_timeout(sync_receipt, ds.log_sync_interval) {
                    deadlines.set(TimerId::new(port, TimerKind::SyncReceipt), now + t);
                }
            }
        }
        PortState::PreMaster => {
            let t = qualification_timeout(steps_removed, ds.log_announce_interval);
            deadlines.set(TimerId::new(port, TimerKind::Qualification), now + t);
        }
        PortState::Faulty => {
            deadlines.set(
                TimerId::new(port, TimerKind::FaultReset),
                now + fault_reset.duration(),
            );
        }
        PortState::Initializing | PortState::Disabled | PortState::Master => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::PortConfig;
    use xptp_datapath::wire::ClockIdentity;

    const S: u64 = 1_000_000_000;

    #[test]
    fn announce_receipt_timeout_is_n_intervals_plus_random_fraction() {
        // 3 × 2 s plus (0, 2 s].
        // The extension is (r + 1) / 2^32 of an interval: r = 0 rounds to 0 ns.
        assert_eq!(
            announce_receipt_timeout(3, 1, 0),
            Duration::from_nanos(6 * S)
        );
        assert_eq!(
            announce_receipt_timeout(3, 1, 3),
            Duration::from_nanos(6 * S + 1)
        );
        assert_eq!(
            announce_receipt_timeout(3, 1, u32::MAX),
            Duration::from_secs(8)
        );
        assert_eq!(
            announce_receipt_timeout(3, 1, 1 << 31),
            Duration::from_nanos(7 * S)
        );
        // G.8275.1: 3 × 125 ms + up to 125 ms.
        assert_eq!(
            announce_receipt_timeout(3, -3, u32::MAX),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn other_timeouts() {
        assert_eq!(sync_receipt_timeout(0, 0), None);
        assert_eq!(
            sync_receipt_timeout(3, -1),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(qualification_timeout(0, 1), Duration::from_secs(2));
        assert_eq!(qualification_timeout(2, 0), Duration::from_secs(3));
        assert_eq!(
            FaultResetInterval::Log2Seconds(4).duration(),
            Duration::from_secs(16)
        );
    }

    #[test]
    fn deadlines_poll_and_pop_in_order() {
        let mut d = Deadlines::new();
        assert_eq!(d.poll_timeout(), None);
        d.set(TimerId::new(1, TimerKind::AnnounceReceipt), Instant(30));
        d.set(TimerId::new(2, TimerKind::SyncTx), Instant(10));
        d.set(TimerId::new(1, TimerKind::SyncTx), Instant(10));
        d.set(TimerId::new(0, TimerKind::StateDecision), Instant(20));
        assert_eq!(d.poll_timeout(), Some(Instant(10)));
        // Re-arming moves, does not duplicate.
        d.set(TimerId::new(1, TimerKind::AnnounceReceipt), Instant(40));
        assert_eq!(d.len(), 4);
        assert_eq!(d.pop_expired(Instant(5)), None);
        assert_eq!(
            d.pop_expired(Instant(25)),
            Some(TimerId::new(1, TimerKind::SyncTx))
        );
        assert_eq!(
            d.pop_expired(Instant(25)),
            Some(TimerId::new(2, TimerKind::SyncTx))
        );
        assert_eq!(
            d.pop_expired(Instant(25)),
            Some(TimerId::new(0, TimerKind::StateDecision))
        );
        assert_eq!(d.pop_expired(Instant(25)), None);
        assert_eq!(d.poll_timeout(), Some(Instant(40)));
        assert!(d.cancel(TimerId::new(1, TimerKind::AnnounceReceipt)));
        assert!(d.is_empty());
    }

    #[test]
    fn arming_follows_the_state() {
        let cfg = PortConfig::default();
        let ds = PortDs::new(&cfg, ClockIdentity([1; 8]), 1);
        let mut d = Deadlines::new();
        let now = Instant(100 * S);
        let id = |k| TimerId::new(1, k);
        let fri = FaultResetInterval::Log2Seconds(4);
        arm_for_state(&mut d, now, &ds, PortState::Slave, 1, 3, fri, u32::MAX);
        assert_eq!(
            d.get(id(TimerKind::AnnounceReceipt)),
            Some(Instant(108 * S))
        );
        assert_eq!(d.get(id(TimerKind::SyncReceipt)), Some(Instant(103 * S)));
        arm_for_state(&mut d, now, &ds, PortState::PreMaster, 1, 3, fri, 0);
        assert_eq!(d.get(id(TimerKind::AnnounceReceipt)), None);
        assert_eq!(d.get(id(TimerKind::SyncReceipt)), None);
        assert_eq!(d.get(id(TimerKind::Qualification)), Some(Instant(104 * S)));
        arm_for_state(&mut d, now, &ds, PortState::Faulty, 1, 3, fri, 0);
        assert_eq!(d.get(id(TimerKind::FaultReset)), Some(Instant(116 * S)));
        assert_eq!(d.len(), 1);
        arm_for_state(&mut d, now, &ds, PortState::Master, 1, 3, fri, 0);
        assert!(d.is_empty());
    }
}
