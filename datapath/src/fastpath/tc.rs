//! Transparent-clock arithmetic and matching state (IEEE 1588-2019 10.2 E2E, 10.3 P2P), pure:
//! residence time from the ingress and egress CLOCK_TAI readings (optionally scaled by the rate
//! ratio to the grandmaster), the per-message forwarding rule, and two bounded tables that
//! match a two-step Sync with its Follow_Up and an E2E Delay_Req with its Delay_Resp.
//!
//! Tables have a fixed capacity chosen at construction, never grow, evict entries older than
//! the configured timeout, and report "full" instead of allocating.

use super::config::{TcMode, MAX_PORTS};
use super::error::FastPathError;
use crate::handoff::{FrameBuf, PortId};
use crate::wire::{MessageType, PortIdentity, TimeInterval};

/// Residence time in correctionField units (2^-16 ns): `(egress − ingress)` nanoseconds,
/// multiplied by the rate ratio `1 + rate_ratio_offset / 2^41` when syntonized
/// (IEEE 1588-2019 10.2 b, 10.3). Negative when the readings run backwards.
pub fn residence(
    ingress_tai_ns: u64,
    egress_tai_ns: u64,
    rate_ratio_offset: i64,
) -> Result<TimeInterval, FastPathError> {
    let d = i128::from(egress_tai_ns) - i128::from(ingress_tai_ns);
    let scaled = d << 16;
    let adj = (scaled * i128::from(rate_ratio_offset)) >> 41;
    i64::try_from(scaled + adj)
        .map(TimeInterval)
        .map_err(|_| FastPathError::CorrectionOverflow)
}

/// The correction a TC adds on one egress port: residence plus, for a P2P TC, the ingress
/// port's meanLinkDelay (IEEE 1588-2019 10.3: added to Sync when one-step, to Follow_Up when
/// two-step).
pub fn tc_correction(
    residence: TimeInterval,
    link_delay: TimeInterval,
) -> Result<TimeInterval, FastPathError> {
    residence
        .checked_add(link_delay)
        .ok_or(FastPathError::CorrectionOverflow)
}

/// The rate ratio offset (units of 2^-41, see [`residence`]) from two (origin, local) pairs:
/// `Δorigin / Δlocal − 1`. `None` when the local interval is not positive.
pub fn rate_ratio_offset(prev: (i128, u64), cur: (i128, u64)) -> Option<i64> {
    let dl = i128::from(cur.1) - i128::from(prev.1);
    let dorig = cur.0 - prev.0;
    if dl <= 0 {
        return None;
    }
    let off = ((dorig - dl) << 41) / dl;
    i64::try_from(off).ok()
}

/// What a transparent clock does with one received message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcAction {
    /// Forward byte-identically to the other ports.
    Plain,
    /// One-step Sync: forward; residence (+ link delay for P2P) added just before the kick.
    SyncOneStep,
    /// Two-step Sync: forward unchanged; remember its ingress time for the Follow_Up.
    SyncTwoStep,
    /// Follow_Up: held until the Sync's TX timestamps are known, then forwarded with residence
    /// (+ link delay for P2P) added.
    FollowUp,
    /// Delay_Req (E2E): forward; its residence per egress port is remembered.
    DelayReq,
    /// Delay_Resp (E2E): forward with the matching Delay_Req's residence added.
    DelayResp,
    /// Not forwarded (counted).
    Drop,
    /// Not the TC's business (e.g. peer-delay responses meant for our own link measurement).
    ToControl,
}

/// IEEE 1588-2019 10.2 / 10.3: the forwarding rule per message type.
pub fn tc_action(mode: TcMode, mtype: MessageType, two_step: bool) -> TcAction {
    use MessageType as M;
    match (mode, mtype) {
        (TcMode::Off, _) => TcAction::ToControl,
        (_, M::Sync) if two_step => TcAction::SyncTwoStep,
        (_, M::Sync) => TcAction::SyncOneStep,
        (_, M::FollowUp) => TcAction::FollowUp,
        (TcMode::E2e, M::DelayReq) => TcAction::DelayReq,
        (TcMode::E2e, M::DelayResp) => TcAction::DelayResp,
        // A P2P TC does not forward the E2E mechanism's messages.
        (TcMode::P2p, M::DelayReq | M::DelayResp) => TcAction::Drop,
        // E2E TC: peer-delay messages cross it like general traffic.
        (TcMode::E2e, M::PdelayReq | M::PdelayResp | M::PdelayRespFollowUp) => TcAction::Plain,
        // P2P TC: peer delay is link-local, answered or measured here, never forwarded.
        (TcMode::P2p, M::PdelayReq | M::PdelayResp | M::PdelayRespFollowUp) => TcAction::ToControl,
        (_, M::Announce | M::Management | M::Signaling) => TcAction::Plain,
    }
}

/// Identifies a Sync/Follow_Up pair or a Delay_Req/Delay_Resp pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MatchKey {
    /// Sync's sourcePortIdentity / Delay_Req's sourcePortIdentity (= Delay_Resp's
    /// requestingPortIdentity).
    pub port_identity: PortIdentity,
    /// sequenceId.
    pub sequence_id: u16,
    /// domainNumber.
    pub domain: u8,
}

/// One two-step Sync in flight through the TC.
#[derive(Clone, Debug)]
pub struct SyncEntry {
    /// In use.
    pub used: bool,
    /// Its key.
    pub key: MatchKey,
    /// Ingress port.
    pub ingress_port: PortId,
    /// XDP-ingress CLOCK_TAI of the Sync.
    pub ingress_tai_ns: u64,
    /// Ports the Sync was sent on (bit per port).
    pub egress_mask: u16,
    /// Ports whose Sync TX failed: no Follow_Up goes there.
    pub failed_mask: u16,
    /// Residence per egress port, once its TX timestamp is known.
    pub residence: [Option<TimeInterval>; MAX_PORTS],
    /// Ports the Follow_Up has been sent on.
    pub sent_mask: u16,
    /// The held Follow_Up, once it arrived.
    pub follow_up: Option<FrameBuf>,
}

impl SyncEntry {
    const EMPTY: SyncEntry = SyncEntry {
        used: false,
        key: MatchKey {
            port_identity: PortIdentity::new(crate::wire::ClockIdentity([0; 8]), 0),
            sequence_id: 0,
            domain: 0,
        },
        ingress_port: 0,
        ingress_tai_ns: 0,
        egress_mask: 0,
        failed_mask: 0,
        residence: [None; MAX_PORTS],
        sent_mask: 0,
        follow_up: None,
    };

    /// Ports on which the Follow_Up can go now (residence known, not yet sent).
    pub fn ready_mask(&self) -> u16 {
        if self.follow_up.is_none() {
            return 0;
        }
        let mut m = 0u16;
        for (i, r) in self.residence.iter().enumerate() {
            if r.is_some() {
                m |= 1 << i;
            }
        }
        m & !self.sent_mask & !self.failed_mask
    }

    /// Every egress port has had its Follow_Up (or failed).
    pub fn complete(&self) -> bool {
        self.follow_up.is_some()
            && (self.sent_mask | self.failed_mask) & self.egress_mask == self.egress_mask
    }
}

/// A fixed-capacity table of two-step Syncs awaiting their Follow_Up.
#[derive(Debug)]
pub struct SyncTable {
    entries: Box<[SyncEntry]>,
}

/// Outcome counts of table maintenance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evictions {
    /// Entries removed because they were older than the timeout before completing.
    pub timed_out: u64,
}

impl SyncTable {
    /// A table of `capacity` entries (allocated here, never again).
    pub fn new(capacity: usize) -> Self {
        SyncTable {
            entries: vec![SyncEntry::EMPTY; capacity.max(1)].into_boxed_slice(),
        }
    }

    /// Starts an entry. Replaces an entry with the same key; else takes a free slot; else
    /// evicts the oldest entry if it is older than `timeout_ns` (counted); else `TableFull`.
    pub fn insert(
        &mut self,
        key: MatchKey,
        ingress_port: PortId,
        ingress_tai_ns: u64,
        timeout_ns: u64,
        ev: &mut Evictions,
    ) -> Result<usize, FastPathError> {
        let idx = self
            .entries
            .iter()
            .position(|e| e.used && e.key == key)
            .or_else(|| self.entries.iter().position(|e| !e.used))
            .or_else(|| {
                let (i, e) = self
                    .entries
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, e)| e.ingress_tai_ns)?;
                (ingress_tai_ns.saturating_sub(e.ingress_tai_ns) > timeout_ns).then(|| {
                    ev.timed_out += 1;
                    i
                })
            })
            .ok_or(FastPathError::TableFull)?;
        if let Some(e) = self.entries.get_mut(idx) {
            *e = SyncEntry {
                used: true,
                key,
                ingress_port,
                ingress_tai_ns,
                ..SyncEntry::EMPTY
            };
        }
        Ok(idx)
    }

    /// The entry for `key`.
    pub fn find(&mut self, key: &MatchKey) -> Option<&mut SyncEntry> {
        self.entries.iter_mut().find(|e| e.used && e.key == *key)
    }

    /// Frees `key`'s entry.
    pub fn remove(&mut self, key: &MatchKey) {
        if let Some(e) = self.find(key) {
            e.used = false;
            e.follow_up = None;
        }
    }

    /// Frees entries older than `timeout_ns` at `now`.
    pub fn expire(&mut self, now_tai_ns: u64, timeout_ns: u64, ev: &mut Evictions) {
        for e in self.entries.iter_mut().filter(|e| e.used) {
            if now_tai_ns.saturating_sub(e.ingress_tai_ns) > timeout_ns {
                e.used = false;
                e.follow_up = None;
                ev.timed_out += 1;
            }
        }
    }

    /// Entries in use.
    pub fn len(&self) -> usize {
        self.entries.iter().filter(|e| e.used).count()
    }

    /// No entry in use.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One E2E Delay_Req forwarded by the TC, awaiting its Delay_Resp.
#[derive(Clone, Copy, Debug, Default)]
struct DelayReqEntry {
    used: bool,
    key: MatchKey,
    ingress_tai_ns: u64,
    residence: [Option<TimeInterval>; MAX_PORTS],
}

/// A fixed-capacity table of Delay_Req residence times, keyed by requesting port identity and
/// sequenceId (IEEE 1588-2019 10.2 b: the Delay_Req's residence goes into the Delay_Resp).
#[derive(Debug)]
pub struct DelayReqTable {
    entries: Box<[DelayReqEntry]>,
    next: usize,
}

impl DelayReqTable {
    /// A table of `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        DelayReqTable {
            entries: vec![DelayReqEntry::default(); capacity.max(1)].into_boxed_slice(),
            next: 0,
        }
    }

    /// Starts an entry. Slots are reused round-robin; overwriting an entry younger than
    /// `timeout_ns` is refused (`TableFull`), an older unfinished one is counted as timed out.
    pub fn insert(
        &mut self,
        key: MatchKey,
        ingress_tai_ns: u64,
        timeout_ns: u64,
        ev: &mut Evictions,
    ) -> Result<(), FastPathError> {
        let n = self.entries.len();
        if let Some(e) = self.entries.iter_mut().find(|e| e.used && e.key == key) {
            *e = DelayReqEntry {
                used: true,
                key,
                ingress_tai_ns,
                residence: [None; MAX_PORTS],
            };
            return Ok(());
        }
        for k in 0..n {
            let i = (self.next + k) % n;
            let Some(e) = self.entries.get_mut(i) else {
                continue;
            };
            let stale = ingress_tai_ns.saturating_sub(e.ingress_tai_ns) > timeout_ns;
            if !e.used || stale {
                if e.used {
                    ev.timed_out += 1;
                }
                *e = DelayReqEntry {
                    used: true,
                    key,
                    ingress_tai_ns,
                    residence: [None; MAX_PORTS],
                };
                self.next = (i + 1) % n;
                return Ok(());
            }
        }
        Err(FastPathError::TableFull)
    }

    /// Records the residence of the Delay_Req on `egress`.
    pub fn set_residence(&mut self, key: &MatchKey, egress: PortId, r: TimeInterval) -> bool {
        match self
            .entries
            .iter_mut()
            .find(|e| e.used && e.key == *key)
            .and_then(|e| e.residence.get_mut(usize::from(egress)))
        {
            Some(slot) => {
                *slot = Some(r);
                true
            }
            None => false,
        }
    }

    /// The residence of the Delay_Req that left on `port` (where its Delay_Resp came back);
    /// frees the entry.
    pub fn take(&mut self, key: &MatchKey, port: PortId) -> Option<TimeInterval> {
        let e = self.entries.iter_mut().find(|e| e.used && e.key == *key)?;
        let r = e.residence.get(usize::from(port)).copied().flatten();
        e.used = false;
        r
    }

    /// Entries in use.
    pub fn len(&self) -> usize {
        self.entries.iter().filter(|e| e.used).count()
    }

    /// No entry in use.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
