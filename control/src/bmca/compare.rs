//! The data set comparison algorithms: IEEE 1588-2019 9.3.4 (Figures 34 and 35) and the
//! ITU-T G.8275.1 alternate comparison (G.8275.1 6.3, Figure 4). Pure functions over
//! [`ComparisonDataset`] values; no state, no allocation.

use xptp_datapath::wire::{ClockIdentity, ClockQuality, PortIdentity};

use super::AnnounceInfo;
use crate::datasets::{DatasetComparison, DefaultDs};

/// The values the comparison reads for one candidate (9.3.4: "data set A/B"), either built from
/// a received Announce ([`ComparisonDataset::from_announce`]) or from this instance's defaultDS
/// ([`ComparisonDataset::from_default_ds`], the D0 of 9.3.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ComparisonDataset {
    pub gm_priority1: u8,
    pub gm_identity: ClockIdentity,
    pub gm_clock_quality: ClockQuality,
    pub gm_priority2: u8,
    pub steps_removed: u16,
    /// "Identity of sender": the Announce's sourcePortIdentity.
    pub sender: PortIdentity,
    /// "Identity of receiver": the portIdentity of the port that received the Announce.
    pub receiver: PortIdentity,
    /// G.8275.1 localPriority: portDS.localPriority of the receiving port, or
    /// defaultDS.localPriority for D0. Ignored by the IEEE 1588 comparison.
    pub local_priority: u8,
}

impl ComparisonDataset {
    /// A received Announce as seen by the port `receiver` (with its portDS.localPriority).
    pub fn from_announce(a: &AnnounceInfo, receiver: PortIdentity, local_priority: u8) -> Self {
        ComparisonDataset {
            gm_priority1: a.grandmaster_priority1,
            gm_identity: a.grandmaster_identity,
            gm_clock_quality: a.grandmaster_clock_quality,
            gm_priority2: a.grandmaster_priority2,
            steps_removed: a.steps_removed,
            sender: a.source_port_identity,
            receiver,
            local_priority,
        }
    }

    /// D0 (9.3.3, 9.3.4): this instance's defaultDS, with stepsRemoved 0 and sender and receiver
    /// both `(defaultDS.clockIdentity, 0)`.
    pub fn from_default_ds(d: &DefaultDs) -> Self {
        let me = PortIdentity::new(d.clock_identity, 0);
        ComparisonDataset {
            gm_priority1: d.priority1,
            gm_identity: d.clock_identity,
            gm_clock_quality: d.clock_quality,
            gm_priority2: d.priority2,
            steps_removed: 0,
            sender: me,
            receiver: me,
            local_priority: d.local_priority,
        }
    }
}

/// The outcome of comparing data set A with data set B (9.3.4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DatasetOrdering {
    /// A is better (a grandmaster attribute, or stepsRemoved differing by more than 1).
    ABetter,
    /// A is better by topology only (same grandmaster, A is the shorter or preferred path).
    ABetterByTopology,
    /// B is better.
    BBetter,
    /// B is better by topology only.
    BBetterByTopology,
    /// Figure 35 "error-1": stepsRemoved differ by one and the receiver of the longer path is
    /// its own sender (a message received back on the port that sent it).
    Error1,
    /// Figure 35 "error-2": the two data sets are indistinguishable (same grandmaster, same
    /// stepsRemoved, same sender, same receiving port): a duplicate, not a choice.
    Error2,
}

impl DatasetOrdering {
    /// A better, by grandmaster or by topology.
    pub const fn a_wins(self) -> bool {
        matches!(self, Self::ABetter | Self::ABetterByTopology)
    }

    /// B better, by grandmaster or by topology.
    pub const fn b_wins(self) -> bool {
        matches!(self, Self::BBetter | Self::BBetterByTopology)
    }

    /// The same comparison seen from the other side (B against A).
    pub const fn reverse(self) -> Self {
        match self {
            Self::ABetter => Self::BBetter,
            Self::ABetterByTopology => Self::BBetterByTopology,
            Self::BBetter => Self::ABetter,
            Self::BBetterByTopology => Self::ABetterByTopology,
            e => e,
        }
    }
}

/// Runs the comparison the clock is configured for.
pub fn compare(
    a: &ComparisonDataset,
    b: &ComparisonDataset,
    algorithm: DatasetComparison,
) -> DatasetOrdering {
    match algorithm {
        DatasetComparison::Ieee1588 => compare_ieee1588(a, b),
        DatasetComparison::G8275 => compare_g8275(a, b),
    }
}

/// Compares `x` and `y` where the smaller value is better; `None` when equal.
fn lower_wins<T: Ord>(x: T, y: T) -> Option<DatasetOrdering> {
    match x.cmp(&y) {
        core::cmp::Ordering::Less => Some(DatasetOrdering::ABetter),
        core::cmp::Ordering::Greater => Some(DatasetOrdering::BBetter),
        core::cmp::Ordering::Equal => None,
    }
}

/// IEEE 1588-2019 9.3.4, Figure 34: grandmaster attributes in order (priority1, clockClass,
/// clockAccuracy, offsetScaledLogVariance, priority2, grandmaster identity); when both data sets
/// describe the same grandmaster, the topology comparison of Figure 35 decides.
pub fn compare_ieee1588(a: &ComparisonDataset, b: &ComparisonDataset) -> DatasetOrdering {
    if a.gm_identity == b.gm_identity {
        return compare_topology(a, b);
    }
    let (qa, qb) = (&a.gm_clock_quality, &b.gm_clock_quality);
    lower_wins(a.gm_priority1, b.gm_priority1)
        .or_else(|| lower_wins(qa.clock_class, qb.clock_class))
        .or_else(|| lower_wins(qa.clock_accuracy, qb.clock_accuracy))
        .or_else(|| lower_wins(qa.offset_scaled_log_variance, qb.offset_scaled_log_variance))
        .or_else(|| lower_wins(a.gm_priority2, b.gm_priority2))
        .or_else(|| lower_wins(a.gm_identity, b.gm_identity))
        .unwrap_or(DatasetOrdering::Error2)
}

/// ITU-T G.8275.1 6.3 (alternate BMCA), Figure 4: priority1 is not used; the order is
/// clockClass, clockAccuracy, offsetScaledLogVariance, priority2, localPriority. When all of
/// these tie and the class is a grandmaster class (≤ 127), the topology decides (two T-GMs of
/// equal quality are equivalent; the nearer one wins); otherwise the grandmaster identity
/// breaks the tie, and equal identities go to the topology comparison.
pub fn compare_g8275(a: &ComparisonDataset, b: &ComparisonDataset) -> DatasetOrdering {
    let (qa, qb) = (&a.gm_clock_quality, &b.gm_clock_quality);
    let attr = lower_wins(qa.clock_class, qb.clock_class)
        .or_else(|| lower_wins(qa.clock_accuracy, qb.clock_accuracy))
        .or_else(|| lower_wins(qa.offset_scaled_log_variance, qb.offset_scaled_log_variance))
        .or_else(|| lower_wins(a.gm_priority2, b.gm_priority2))
        .or_else(|| lower_wins(a.local_priority, b.local_priority));
    if let Some(o) = attr {
        return o;
    }
    if qa.clock_class <= 127 {
        return compare_topology(a, b);
    }
    lower_wins(a.gm_identity, b.gm_identity).unwrap_or_else(|| compare_topology(a, b))
}

/// IEEE 1588-2019 9.3.4, Figure 35: the comparison of two paths to the same grandmaster.
///
/// - stepsRemoved differing by more than one: the shorter path is simply better.
/// - differing by exactly one: the shorter path is better, "by topology" when the longer
///   path's receiver is ordered after its sender; equal receiver and sender is error-1.
/// - equal stepsRemoved: the sender identities decide (lower better, by topology); equal senders
///   fall to the receivers' port numbers; equal again is error-2.
///
/// Identities compare as (clockIdentity, portNumber), clockIdentity first, octet by octet.
pub fn compare_topology(a: &ComparisonDataset, b: &ComparisonDataset) -> DatasetOrdering {
    use DatasetOrdering as O;
    let (sa, sb) = (u32::from(a.steps_removed), u32::from(b.steps_removed));
    if sa + 1 < sb {
        return O::ABetter;
    }
    if sb + 1 < sa {
        return O::BBetter;
    }
    if sa < sb {
        // B is one step longer: check B's receiver against B's sender.
        return match b.receiver.cmp(&b.sender) {
            core::cmp::Ordering::Less => O::ABetter,
            core::cmp::Ordering::Greater => O::ABetterByTopology,
            core::cmp::Ordering::Equal => O::Error1,
        };
    }
    if sb < sa {
        return match a.receiver.cmp(&a.sender) {
            core::cmp::Ordering::Less => O::BBetter,
            core::cmp::Ordering::Greater => O::BBetterByTopology,
            core::cmp::Ordering::Equal => O::Error1,
        };
    }
    match a.sender.cmp(&b.sender) {
        core::cmp::Ordering::Less => O::ABetterByTopology,
        core::cmp::Ordering::Greater => O::BBetterByTopology,
        core::cmp::Ordering::Equal => match a.receiver.port_number.cmp(&b.receiver.port_number) {
            core::cmp::Ordering::Less => O::ABetterByTopology,
            core::cmp::Ordering::Greater => O::BBetterByTopology,
            core::cmp::Ordering::Equal => O::Error2,
        },
    }
}
