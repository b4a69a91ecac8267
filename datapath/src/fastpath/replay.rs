//! Replay protection for authenticated requests on the fast path (IEEE 1588-2019 16.14,
//! Annex P.2.2: the ICV covers sequenceId, so a replayed frame is recognised by its
//! sequenceId not being fresh).
//!
//! One slot per (port, message class, requester sourcePortIdentity), direct-mapped into a
//! fixed table: a request is fresh when its sequenceId is 1..=`window` ahead of the last
//! accepted one from the same requester, modulo 2^16. A requester silent for
//! [`STALE_NS`] (four one-second intervals, as control's `security::replay` counts
//! Delay_Req's "no interval") is resynchronised with its next signed request, and so is one
//! whose slot another requester took (the table is bounded; a replay then needs that
//! collision and a frame the genuine requester signed earlier). Consulted only after the ICV
//! check, so forged frames cannot move a slot. No allocation after construction, no panic.

use crate::handoff::PortId;
use crate::wire::PortIdentity;

/// Slots in the table (a power of two).
pub const REPLAY_SLOTS: usize = 1024;
/// Silence after which a requester's sequence starts over (ns).
pub const STALE_NS: u64 = 4_000_000_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot {
    used: bool,
    port: PortId,
    class: u8,
    id: PortIdentity,
    last: u16,
    at_ns: u64,
}

/// The table.
#[derive(Debug)]
pub struct ReplayTable {
    slots: Box<[Slot]>,
}

impl Default for ReplayTable {
    fn default() -> Self {
        ReplayTable {
            slots: vec![Slot::default(); REPLAY_SLOTS].into_boxed_slice(),
        }
    }
}

fn index(port: PortId, class: u8, id: &PortIdentity) -> usize {
    // FNV-1a over the identity, the port and the class.
    let mut h: u32 = 0x811c_9dc5;
    for b in id
        .to_bytes()
        .iter()
        .chain(port.to_be_bytes().iter())
        .chain(core::iter::once(&class))
    {
        h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
    }
    h as usize & (REPLAY_SLOTS - 1)
}

impl ReplayTable {
    /// Whether `seq` from `id` (message class `class`, on `port`, at `now_ns`) is fresh;
    /// records it when it is.
    pub fn fresh(
        &mut self,
        port: PortId,
        class: u8,
        id: PortIdentity,
        seq: u16,
        window: u16,
        now_ns: u64,
    ) -> bool {
        let Some(s) = self.slots.get_mut(index(port, class, &id)) else {
            return true;
        };
        let same = s.used && s.port == port && s.class == class && s.id == id;
        if !same || now_ns.saturating_sub(s.at_ns) > STALE_NS {
            *s = Slot {
                used: true,
                port,
                class,
                id,
                last: seq,
                at_ns: now_ns,
            };
            return true;
        }
        let ahead = seq.wrapping_sub(s.last);
        if ahead >= 1 && ahead <= window {
            s.last = seq;
            s.at_ns = now_ns;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ClockIdentity;

    #[test]
    fn sequence_must_move_forward_within_the_window() {
        let id = PortIdentity::new(ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]), 1);
        let mut t = ReplayTable::default();
        let s = 1_000_000_000;
        assert!(t.fresh(0, 0, id, 10, 3, s));
        assert!(!t.fresh(0, 0, id, 10, 3, s + 1), "same sequenceId again");
        assert!(t.fresh(0, 0, id, 11, 3, s + 2));
        assert!(!t.fresh(0, 0, id, 9, 3, s + 3), "older");
        assert!(t.fresh(0, 0, id, 14, 3, s + 4), "3 ahead is in the window");
        assert!(!t.fresh(0, 0, id, 18, 3, s + 5), "4 ahead is not");
        // Another port or class is another stream.
        assert!(t.fresh(1, 0, id, 14, 3, s + 6));
        // Silence resynchronises.
        assert!(t.fresh(0, 0, id, 2, 3, s + 5 + STALE_NS + 1));
        // Wrap-around.
        assert!(t.fresh(0, 0, id, 0xffff, 3, s + 2 * STALE_NS + 10));
        assert!(t.fresh(0, 0, id, 1, 3, s + 2 * STALE_NS + 11));
    }
}
