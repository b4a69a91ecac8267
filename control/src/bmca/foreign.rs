//! Per-port foreign master records and Announce qualification (IEEE 1588-2019 9.3.2.4.5,
//! 9.3.2.5 and 9.5.3): which senders of Announce messages a port may consider, and its Erbest.
//!
//! The list is bounded (a port facing a flood of forged senders keeps its memory bounded and
//! counts the refusals); it stores, per sender, the latest Announce and the arrival instants of
//! the Announces inside the qualification window.

use core::time::Duration;

use xptp_datapath::wire::{ClockIdentity, PortIdentity};

use super::compare::{compare, ComparisonDataset};
use super::AnnounceInfo;
use crate::datasets::DatasetComparison;
use crate::time::{log_interval_times, Instant};

/// IEEE 1588-2019 9.3.2.4.5: Announces needed within the window to qualify a foreign master.
pub const FOREIGN_MASTER_THRESHOLD: usize = 2;
/// IEEE 1588-2019 9.3.2.4.5: the window, in announce intervals.
pub const FOREIGN_MASTER_TIME_WINDOW: u32 = 4;
/// Default bound on the records per port.
pub const DEFAULT_FOREIGN_MASTER_CAPACITY: usize = 16;

/// Why an Announce was not recorded (each variant is a drop counter).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
pub enum AnnounceRejected {
    /// 9.3.2.5 a: sent by this PTP Instance (this port or another port of the same clock).
    #[error("Announce sent by this clock (own clockIdentity); not a foreign master")]
    FromOwnClock,
    /// 9.3.2.5 b: not newer than the last Announce recorded from that sender.
    #[error("Announce sequenceId is not newer than the last one from this sender")]
    NotMostRecent,
    /// 9.3.2.5 d: stepsRemoved at or above the configured maximum (255 by default;
    /// linuxptp `maxStepsRemoved`).
    #[error("Announce stepsRemoved {0} reaches maxStepsRemoved")]
    StepsRemovedTooLarge(u16),
    /// The per-port record table is full of live senders; raise its capacity if legitimate.
    #[error("foreign master table full; raise its capacity if this many masters are real")]
    TableFull,
}

/// What recording an Announce changed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AnnounceRecorded {
    /// The sender is qualified now (≥ FOREIGN_MASTER_THRESHOLD Announces in the window).
    pub qualified: bool,
    /// The sender became qualified with this message, or its BMCA-relevant content changed:
    /// a state decision should run (9.2.6.8).
    pub bmca_relevant_change: bool,
}

/// One foreign master as seen by one port.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ForeignMasterRecord {
    /// The latest (most recent sequenceId) Announce from this sender.
    pub latest: AnnounceInfo,
    /// Arrival instants of the last FOREIGN_MASTER_THRESHOLD Announces, newest last.
    arrivals: [Option<Instant>; FOREIGN_MASTER_THRESHOLD],
}

impl ForeignMasterRecord {
    /// The sender's port identity.
    pub fn sender(&self) -> PortIdentity {
        self.latest.source_port_identity
    }

    /// Newest arrival instant.
    pub fn last_arrival(&self) -> Option<Instant> {
        self.arrivals.iter().rev().flatten().next().copied()
    }

    /// 9.3.2.4.5: at least FOREIGN_MASTER_THRESHOLD arrivals within `window` before `now`.
    pub fn is_qualified(&self, now: Instant, window: Duration) -> bool {
        self.arrivals
            .iter()
            .all(|a| a.is_some_and(|t| now.saturating_duration_since(t) <= window))
    }

    fn push_arrival(&mut self, now: Instant) {
        self.arrivals.rotate_left(1);
        if let Some(last) = self.arrivals.last_mut() {
            *last = Some(now);
        }
    }
}

/// True when the BMCA-relevant fields of two Announces differ (sequenceId excluded).
fn bmca_fields_differ(a: &AnnounceInfo, b: &AnnounceInfo) -> bool {
    let strip = |x: &AnnounceInfo| AnnounceInfo {
        sequence_id: 0,
        ..*x
    };
    strip(a) != strip(b)
}

/// The foreign master table of one port (IEEE 1588-2019 9.3.2.4.5, 9.5.3).
#[derive(Clone, Debug)]
pub struct ForeignMasterList {
    records: Vec<ForeignMasterRecord>,
    capacity: usize,
}

impl Default for ForeignMasterList {
    fn default() -> Self {
        Self::new(DEFAULT_FOREIGN_MASTER_CAPACITY)
    }
}

impl ForeignMasterList {
    /// An empty table holding at most `capacity` senders (at least 1).
    pub fn new(capacity: usize) -> Self {
        ForeignMasterList {
            records: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    /// FOREIGN_MASTER_TIME_WINDOW announce intervals of `log_announce_interval`.
    pub fn window(log_announce_interval: i8) -> Duration {
        log_interval_times(FOREIGN_MASTER_TIME_WINDOW, log_announce_interval)
    }

    /// All records, qualified or not.
    pub fn records(&self) -> &[ForeignMasterRecord] {
        &self.records
    }

    /// Forgets every record (on entering FAULTY/DISABLED/INITIALIZING).
    pub fn clear(&mut self) {
        self.records.clear();
    }

    /// Records an Announce received at `now` on a port of the clock `own_clock`, applying the
    /// qualification rules of 9.3.2.5 (a: own clock, b: most recent, d: stepsRemoved).
    /// `log_announce_interval` is the receiving port's portDS.logAnnounceInterval, which
    /// sizes the qualification window.
    pub fn record(
        &mut self,
        now: Instant,
        ann: AnnounceInfo,
        own_clock: ClockIdentity,
        max_steps_removed: u16,
        log_announce_interval: i8,
    ) -> Result<AnnounceRecorded, AnnounceRejected> {
        if ann.source_port_identity.clock_identity == own_clock {
            return Err(AnnounceRejected::FromOwnClock);
        }
        if ann.steps_removed >= max_steps_removed {
            return Err(AnnounceRejected::StepsRemovedTooLarge(ann.steps_removed));
        }
        let window = Self::window(log_announce_interval);
        let sender = ann.source_port_identity;
        if let Some(rec) = self.records.iter_mut().find(|r| r.sender() == sender) {
            // Sequence numbers wrap: "newer" is a positive signed 16-bit distance.
            let delta = ann.sequence_id.wrapping_sub(rec.latest.sequence_id) as i16;
            if delta <= 0 {
                return Err(AnnounceRejected::NotMostRecent);
            }
            let was_qualified = rec.is_qualified(now, window);
            let changed = bmca_fields_differ(&rec.latest, &ann);
            rec.latest = ann;
            rec.push_arrival(now);
            let qualified = rec.is_qualified(now, window);
            return Ok(AnnounceRecorded {
                qualified,
                bmca_relevant_change: qualified && (!was_qualified || changed),
            });
        }
        if self.records.len() >= self.capacity {
            self.prune(now, log_announce_interval);
            if self.records.len() >= self.capacity {
                return Err(AnnounceRejected::TableFull);
            }
        }
        let mut rec = ForeignMasterRecord {
            latest: ann,
            arrivals: [None; FOREIGN_MASTER_THRESHOLD],
        };
        rec.push_arrival(now);
        let qualified = rec.is_qualified(now, window);
        self.records.push(rec);
        Ok(AnnounceRecorded {
            qualified,
            bmca_relevant_change: qualified,
        })
    }

    /// Drops senders with no Announce inside the window (9.5.3: a record ages out once it can
    /// no longer be qualified). Returns how many were dropped.
    pub fn prune(&mut self, now: Instant, log_announce_interval: i8) -> usize {
        let window = Self::window(log_announce_interval);
        let before = self.records.len();
        self.records.retain(|r| {
            r.last_arrival()
                .is_some_and(|t| now.saturating_duration_since(t) <= window)
        });
        before - self.records.len()
    }

    /// Drops senders whose latest Announce is more than `max_age` old (on an announce receipt
    /// timeout: the silent master's record goes, a newly heard master's stays). Returns how
    /// many were dropped.
    pub fn forget_silent(&mut self, now: Instant, max_age: Duration) -> usize {
        let before = self.records.len();
        self.records.retain(|r| {
            r.last_arrival()
                .is_some_and(|t| now.saturating_duration_since(t) <= max_age)
        });
        before - self.records.len()
    }

    /// The qualified records at `now`.
    pub fn qualified(
        &self,
        now: Instant,
        log_announce_interval: i8,
    ) -> impl Iterator<Item = &ForeignMasterRecord> + '_ {
        let window = Self::window(log_announce_interval);
        self.records
            .iter()
            .filter(move |r| r.is_qualified(now, window))
    }

    /// Erbest (9.3.2.3): the best qualified Announce received on this port, compared as seen by
    /// `receiver` with its `local_priority` (G.8275.1). Ties and comparison errors keep the
    /// earlier record.
    pub fn erbest(
        &self,
        now: Instant,
        log_announce_interval: i8,
        receiver: PortIdentity,
        local_priority: u8,
        algorithm: DatasetComparison,
    ) -> Option<&AnnounceInfo> {
        let mut best: Option<(&AnnounceInfo, ComparisonDataset)> = None;
        for r in self.qualified(now, log_announce_interval) {
            let ds = ComparisonDataset::from_announce(&r.latest, receiver, local_priority);
            match &best {
                Some((_, b)) if !compare(&ds, b, algorithm).a_wins() => {}
                _ => best = Some((&r.latest, ds)),
            }
        }
        best.map(|(a, _)| a)
    }
}
