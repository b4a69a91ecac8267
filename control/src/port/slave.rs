//! The slave side's Sync / Follow_Up matching (IEEE 1588-2019 9.5.4, 11.3.2): pairs a two-step
//! Sync with its Follow_Up by sequenceId and sourcePortIdentity in either order of arrival,
//! rejects duplicated and out-of-order Syncs, and yields a [`SyncSample`] per completed Sync.
//!
//! Pure state: the caller has already checked the domain, the port state and that the sender
//! is the selected master; this module only looks at sequence numbers and timestamps.

use xptp_datapath::wire::PortIdentity;

use super::counters::{PortCounters, RejectReason};
use super::delay::SyncSample;

/// A received Sync, as the matcher needs it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SyncRx {
    pub source: PortIdentity,
    pub sequence_id: u16,
    pub two_step: bool,
    /// originTimestamp (meaningful for one-step), ns.
    pub origin: i128,
    /// correctionField, scaled ns.
    pub correction: i128,
    pub log_interval: i8,
    /// Ingress timestamp t2, local ns.
    pub t2: i128,
}

/// A received Follow_Up.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FollowUpRx {
    pub source: PortIdentity,
    pub sequence_id: u16,
    /// preciseOriginTimestamp t1, ns.
    pub precise_origin: i128,
    /// correctionField, scaled ns.
    pub correction: i128,
}

/// `a` is newer than `b` in 16-bit sequence space (wraps at 65535 → 0).
pub fn seq_newer(a: u16, b: u16) -> bool {
    (a.wrapping_sub(b) as i16) > 0
}

/// The matcher.
#[derive(Clone, Debug, Default)]
pub struct SyncMatcher {
    last_sync: Option<u16>,
    pending_sync: Option<SyncRx>,
    pending_follow_up: Option<FollowUpRx>,
}

impl SyncMatcher {
    /// Forgets everything (new master, clock step, leaving the slave states).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Drops the half-matched messages but keeps the sequence history (after a clock step
    /// the pending t2 is on the old timescale).
    pub fn drop_pending(&mut self) {
        self.pending_sync = None;
        self.pending_follow_up = None;
    }

    /// A Sync arrived. Returns the completed sample for a one-step Sync, or for a two-step
    /// Sync whose Follow_Up came first.
    pub fn on_sync(&mut self, s: SyncRx, c: &mut PortCounters) -> Option<SyncSample> {
        if let Some(last) = self.last_sync {
            if s.sequence_id == last {
                c.reject(RejectReason::DuplicateSequence);
                return None;
            }
            if !seq_newer(s.sequence_id, last) {
                c.reject(RejectReason::OutOfOrderSequence);
                return None;
            }
        }
        self.last_sync = Some(s.sequence_id);
        if self.pending_sync.take().is_some() {
            c.reject(RejectReason::SyncWithoutFollowUp);
        }
        if !s.two_step {
            return Some(SyncSample {
                sequence_id: s.sequence_id,
                t1: s.origin,
                t2: s.t2,
                correction: s.correction,
                log_interval: s.log_interval,
            });
        }
        match self.pending_follow_up.take() {
            Some(f) if f.sequence_id == s.sequence_id && f.source == s.source => {
                Some(complete(&s, &f))
            }
            Some(f) => {
                if seq_newer(f.sequence_id, s.sequence_id) {
                    // A Follow_Up for a later Sync: keep waiting for that one.
                    self.pending_follow_up = Some(f);
                } else {
                    c.reject(RejectReason::FollowUpWithoutSync);
                }
                self.pending_sync = Some(s);
                None
            }
            None => {
                self.pending_sync = Some(s);
                None
            }
        }
    }

    /// A Follow_Up arrived.
    pub fn on_follow_up(&mut self, f: FollowUpRx, c: &mut PortCounters) -> Option<SyncSample> {
        if let Some(s) = self.pending_sync {
            if s.sequence_id == f.sequence_id && s.source == f.source {
                self.pending_sync = None;
                return Some(complete(&s, &f));
            }
        }
        let ahead = self.last_sync.is_none_or(|l| seq_newer(f.sequence_id, l));
        if !ahead {
            c.reject(RejectReason::FollowUpWithoutSync);
            return None;
        }
        // Follow_Up before its Sync: hold it (replacing an older one whose Sync was lost).
        if self.pending_follow_up.replace(f).is_some() {
            c.reject(RejectReason::FollowUpWithoutSync);
        }
        None
    }
}

fn complete(s: &SyncRx, f: &FollowUpRx) -> SyncSample {
    SyncSample {
        sequence_id: s.sequence_id,
        t1: f.precise_origin,
        t2: s.t2,
        correction: s.correction + f.correction,
        log_interval: s.log_interval,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xptp_datapath::wire::ClockIdentity;

    const M: PortIdentity = PortIdentity {
        clock_identity: ClockIdentity([1; 8]),
        port_number: 1,
    };

    fn sync(seq: u16) -> SyncRx {
        SyncRx {
            source: M,
            sequence_id: seq,
            two_step: true,
            origin: 0,
            correction: 7,
            log_interval: 0,
            t2: i128::from(seq) * 1000 + 10,
        }
    }

    fn fup(seq: u16) -> FollowUpRx {
        FollowUpRx {
            source: M,
            sequence_id: seq,
            precise_origin: i128::from(seq) * 1000,
            correction: 3,
        }
    }

    #[test]
    fn either_order_and_wrap() {
        let mut m = SyncMatcher::default();
        let mut c = PortCounters::default();
        assert_eq!(m.on_sync(sync(65535), &mut c), None);
        let s = m.on_follow_up(fup(65535), &mut c).unwrap();
        assert_eq!((s.t1, s.correction), (65_535_000, 10));
        // Follow_Up first, across the wrap.
        assert_eq!(m.on_follow_up(fup(0), &mut c), None);
        let s = m.on_sync(sync(0), &mut c).unwrap();
        assert_eq!((s.sequence_id, s.t2 - s.t1), (0, 10));
        assert_eq!(c.rejected_total(), 0);
    }

    #[test]
    fn rejections() {
        let mut m = SyncMatcher::default();
        let mut c = PortCounters::default();
        m.on_sync(sync(10), &mut c);
        m.on_sync(sync(10), &mut c);
        assert_eq!(c.rejected(RejectReason::DuplicateSequence), 1);
        m.on_sync(sync(9), &mut c);
        assert_eq!(c.rejected(RejectReason::OutOfOrderSequence), 1);
        // Sync 10's Follow_Up never came.
        m.on_sync(sync(11), &mut c);
        assert_eq!(c.rejected(RejectReason::SyncWithoutFollowUp), 1);
        // A stale Follow_Up.
        m.on_follow_up(fup(10), &mut c);
        assert_eq!(c.rejected(RejectReason::FollowUpWithoutSync), 1);
        // The right one completes.
        assert!(m.on_follow_up(fup(11), &mut c).is_some());
        // One-step needs no Follow_Up.
        let mut one = sync(12);
        one.two_step = false;
        one.origin = 12_000;
        assert_eq!(m.on_sync(one, &mut c).unwrap().t1, 12_000);
        assert!(seq_newer(0, 65535) && !seq_newer(65535, 0) && !seq_newer(5, 5));
    }
}
