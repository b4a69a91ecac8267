//! The best master clock algorithm of IEEE 1588-2019 9.3 and the ITU-T G.8275.1 alternate
//! BMCA: Announce content ([`AnnounceInfo`]), per-port foreign master records with
//! qualification ([`foreign`]), the data set comparison ([`compare`]) and the state decision
//! with its data set updates ([`decision`]).
//!
//! Everything here is pure: values in, values out. It never sees message bytes (the port builds
//! an [`AnnounceInfo`] from a parsed Announce) and never reads a clock (`now` is an input).

mod announce;
pub mod compare;
pub mod decision;
pub mod foreign;

pub use announce::{AnnounceInfo, TimeFlags};
pub use compare::{
    compare, compare_g8275, compare_ieee1588, compare_topology, ComparisonDataset, DatasetOrdering,
};
pub use decision::{
    apply_update, state_decision, DataSetUpdate, DecisionCode, PortDecision, PortInput,
    StateDecision,
};
pub use foreign::{
    AnnounceRecorded, AnnounceRejected, ForeignMasterList, ForeignMasterRecord,
    FOREIGN_MASTER_THRESHOLD, FOREIGN_MASTER_TIME_WINDOW,
};

#[cfg(test)]
mod tests;
