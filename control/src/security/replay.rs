//! Replay protection by sequenceId (IEEE 1588-2019 P.2.2 / 16.14: the ICV covers the
//! sequenceId, so a replayed frame can only be recognised by its sequenceId being old).
//!
//! One record per (sender's sourcePortIdentity, messageType) stream, for the streams whose
//! sequenceIds a sender increments by one per message: Announce, Sync, Follow_Up, Delay_Req,
//! Pdelay_Req. (Responses carry the requester's sequenceId and are only accepted for the one
//! outstanding request, which already rules replays out.) A message is fresh when its
//! sequenceId is 1..=`window` ahead of the last accepted one, modulo 2^16; anything else —
//! the same number, an older one, or a jump further ahead — is a replay. A sender that
//! restarts (its sequence starts over) is resynchronised once its stream has been silent for
//! four of its message intervals (at least one second): a replay is only possible while the
//! genuine sender is silent that long, and then only of a frame it signed earlier.
//!
//! The table is bounded (oldest stream evicted), so a flood of forged identities cannot grow
//! it; forged frames never reach it because it is consulted only after the ICV check.

use core::time::Duration;

use xptp_datapath::wire::{MessageType, PortIdentity};

use crate::time::Instant;

/// Streams remembered per port.
pub const REPLAY_CAPACITY: usize = 64;

#[derive(Clone, Copy, Debug)]
struct Stream {
    source: PortIdentity,
    mtype: MessageType,
    last: u16,
    at: Instant,
    log_interval: i8,
}

/// Replay state of one port.
#[derive(Clone, Debug, Default)]
pub struct ReplayGuard {
    streams: Vec<Stream>,
}

/// Whether `mtype` is a stream the guard checks.
pub fn is_sequenced(mtype: MessageType) -> bool {
    matches!(
        mtype,
        MessageType::Announce
            | MessageType::Sync
            | MessageType::FollowUp
            | MessageType::DelayReq
            | MessageType::PdelayReq
    )
}

fn stale_after(log_interval: i8) -> Duration {
    // 0x7F ("no interval", Delay_Req/Pdelay_Req) counts as one second.
    let log = if log_interval == 0x7F {
        0
    } else {
        log_interval.clamp(-7, 6)
    };
    let four = if log >= 0 {
        Duration::from_secs(4u64 << log)
    } else {
        Duration::from_nanos((4_000_000_000u64) >> (-log))
    };
    four.max(Duration::from_secs(1))
}

impl ReplayGuard {
    /// Checks a verified message and, when fresh, records it. `window` 0 accepts everything.
    pub fn accept(
        &mut self,
        now: Instant,
        source: PortIdentity,
        mtype: MessageType,
        sequence_id: u16,
        log_interval: i8,
        window: u16,
    ) -> bool {
        if window == 0 || !is_sequenced(mtype) {
            return true;
        }
        if let Some(s) = self
            .streams
            .iter_mut()
            .find(|s| s.source == source && s.mtype == mtype)
        {
            let ahead = sequence_id.wrapping_sub(s.last);
            let fresh = (1..=window).contains(&ahead);
            let resync = now.saturating_duration_since(s.at) > stale_after(s.log_interval);
            if !fresh && !resync {
                return false;
            }
            s.last = sequence_id;
            s.at = now;
            s.log_interval = log_interval;
            return true;
        }
        if self.streams.len() >= REPLAY_CAPACITY {
            if let Some(oldest) = self
                .streams
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| s.at)
                .map(|(i, _)| i)
            {
                self.streams.swap_remove(oldest);
            }
        }
        self.streams.push(Stream {
            source,
            mtype,
            last: sequence_id,
            at: now,
            log_interval,
        });
        true
    }

    /// Forgets every stream.
    pub fn clear(&mut self) {
        self.streams.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xptp_datapath::wire::ClockIdentity;

    const MS: u64 = 1_000_000;

    fn src() -> PortIdentity {
        PortIdentity {
            clock_identity: ClockIdentity([1; 8]),
            port_number: 1,
        }
    }

    #[test]
    fn window_replay_wrap_and_resync() {
        let mut g = ReplayGuard::default();
        let t = |ms: u64| Instant(ms * MS);
        let a =
            |g: &mut ReplayGuard, ms, seq| g.accept(t(ms), src(), MessageType::Sync, seq, -3, 3);
        assert!(a(&mut g, 0, 65534), "first message of a stream");
        assert!(a(&mut g, 125, 65535));
        assert!(a(&mut g, 250, 1), "wraps, two lost: within the window of 3");
        assert!(!a(&mut g, 300, 1), "same sequenceId again");
        assert!(!a(&mut g, 310, 65535), "older");
        assert!(!a(&mut g, 320, 5), "4 ahead: outside the window");
        assert!(a(&mut g, 375, 2));
        // Silent for more than max(4 × 125 ms, 1 s): a restarted sender is taken back.
        assert!(a(&mut g, 1_400, 0));
        assert!(a(&mut g, 1_500, 1));
        // Other streams are independent; window 0 disables; responses are not checked.
        assert!(g.accept(t(1_500), src(), MessageType::FollowUp, 1, -3, 3));
        assert!(g.accept(t(1_500), src(), MessageType::Sync, 1, -3, 0));
        assert!(g.accept(t(1_500), src(), MessageType::DelayResp, 1, 0, 3));
        assert!(g.accept(t(1_500), src(), MessageType::DelayResp, 1, 0, 3));
    }

    #[test]
    fn table_is_bounded() {
        let mut g = ReplayGuard::default();
        for i in 0..(REPLAY_CAPACITY as u16 + 10) {
            let s = PortIdentity {
                clock_identity: ClockIdentity([2; 8]),
                port_number: i,
            };
            assert!(g.accept(Instant(u64::from(i)), s, MessageType::Announce, 0, 1, 3));
        }
        assert_eq!(g.streams.len(), REPLAY_CAPACITY);
    }
}
