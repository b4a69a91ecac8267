//! The state decision algorithm (IEEE 1588-2019 9.3.3, Figure 33) and the data set updates it
//! implies (9.3.5, Tables 30-33), over all ports of one PTP Instance.
//!
//! Input: D0 (defaultDS) and, per port, its state and its Erbest. Output: per port a decision
//! code and recommended state, and one clock-wide data set update. Pure: the caller feeds the
//! recommendations to each port's state machine and applies the update with
//! [`apply_update`].

use xptp_datapath::wire::PortIdentity;

use super::compare::{compare, ComparisonDataset, DatasetOrdering};
use super::AnnounceInfo;
use crate::datasets::{CurrentDs, DatasetComparison, DefaultDs, ParentDs, TimePropertiesDs};
use crate::port::state::{PortState, RecommendedState};

/// The decision points of Figure 33.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DecisionCode {
    /// Grandmaster-class D0 (clockClass ≤ 127) better than this port's Erbest.
    M1,
    /// D0 better than Ebest: this instance is grandmaster.
    M2,
    /// Master on a port whose Erbest is not better-by-topology than Ebest.
    M3,
    /// Ebest was received on this port: slave.
    S1,
    /// Grandmaster-class D0 not better than this port's Erbest.
    P1,
    /// Ebest is better by topology than this port's Erbest (a redundant path): passive.
    P2,
}

impl DecisionCode {
    /// The recommended state carried by the STATE_DECISION_EVENT (9.3.3).
    pub const fn recommended_state(self) -> RecommendedState {
        match self {
            Self::M1 | Self::M2 => RecommendedState::GrandMaster,
            Self::M3 => RecommendedState::Master,
            Self::S1 => RecommendedState::Slave,
            Self::P1 | Self::P2 => RecommendedState::Passive,
        }
    }
}

/// One port as the state decision sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PortInput {
    /// portDS.portIdentity (the "receiver" of its Erbest).
    pub identity: PortIdentity,
    /// portDS.portState.
    pub state: PortState,
    /// portDS.masterOnly (G.8275.1 notSlave): its Erbest is left out of Ebest.
    pub master_only: bool,
    /// portDS.localPriority (G.8275.1).
    pub local_priority: u8,
    /// The best qualified Announce received on this port, if any.
    pub erbest: Option<AnnounceInfo>,
}

/// The decision for one port.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PortDecision {
    /// Index of the port in the input slice.
    pub index: usize,
    /// Its portIdentity.port_number.
    pub port_number: u16,
    pub code: DecisionCode,
    pub recommended: RecommendedState,
}

/// The clock-wide data set update a round of decisions implies (9.3.5).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DataSetUpdate {
    /// Only M3/P2 decisions (Tables 31, 32): no change.
    Unchanged,
    /// M1/M2/P1 (Table 30): this instance is its own grandmaster.
    OwnGrandmaster,
    /// S1 (Table 33): follow Ebest.
    FromMaster(AnnounceInfo),
}

/// The outcome of one run of the state decision algorithm.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StateDecision {
    /// Ports that received a decision; ports absent here keep their state (LISTENING with no
    /// Erbest, INITIALIZING/FAULTY/DISABLED, or nothing to follow with gmCapable off).
    pub decisions: Vec<PortDecision>,
    /// Index (in the input) of the port Ebest was received on.
    pub ebest_index: Option<usize>,
    pub update: DataSetUpdate,
}

fn better(a: &ComparisonDataset, b: Option<&ComparisonDataset>, alg: DatasetComparison) -> bool {
    match b {
        None => true,
        Some(b) => compare(a, b, alg).a_wins(),
    }
}

/// IEEE 1588-2019 9.3.3, Figure 33, for every port of the instance.
///
/// - Ports in INITIALIZING, FAULTY or DISABLED take no part; a LISTENING port with no Erbest
///   stays LISTENING (no decision).
/// - Ebest is the best Erbest over the ports that are not masterOnly; a masterOnly port is
///   recommended MASTER (M1/M3) where it would otherwise be PASSIVE (P1/P2).
/// - D0 with clockClass ≤ 127: M1 where D0 beats the port's Erbest, otherwise P1.
/// - Otherwise: M2 where D0 beats Ebest; S1 on the port Ebest came from; P2 where Ebest beats
///   the port's Erbest by topology; M3 elsewhere.
/// - defaultDS.slaveOnly or gmCapable off: D0 is never a candidate (no M1/M2/P1). With no
///   Ebest such a clock makes no port decisions and resets its data sets to its own
///   (the ports fall back to LISTENING through their announce receipt timeouts; slave-only
///   ports map every non-slave recommendation to LISTENING, Figure 31).
pub fn state_decision(
    d0: &DefaultDs,
    algorithm: DatasetComparison,
    ports: &[PortInput],
) -> StateDecision {
    let d0_ds = ComparisonDataset::from_default_ds(d0);
    let d0_candidate = d0.gm_capable && !d0.slave_only;
    let active = |p: &PortInput| {
        !matches!(
            p.state,
            PortState::Initializing | PortState::Faulty | PortState::Disabled
        )
    };
    let erbests: Vec<Option<ComparisonDataset>> = ports
        .iter()
        .map(|p| {
            p.erbest
                .filter(|_| active(p))
                .map(|a| ComparisonDataset::from_announce(&a, p.identity, p.local_priority))
        })
        .collect();

    let mut ebest: Option<(usize, ComparisonDataset)> = None;
    for (i, (p, e)) in ports.iter().zip(&erbests).enumerate() {
        let Some(e) = e else { continue };
        if p.master_only {
            continue;
        }
        if better(e, ebest.as_ref().map(|(_, b)| b), algorithm) {
            ebest = Some((i, *e));
        }
    }

    let gm_class = d0_candidate && d0.clock_quality.clock_class <= 127;
    let d0_wins = d0_candidate && better(&d0_ds, ebest.as_ref().map(|(_, b)| b), algorithm);

    let mut decisions = Vec::with_capacity(ports.len());
    for (i, (p, erbest)) in ports.iter().zip(&erbests).enumerate() {
        if !active(p) || (erbest.is_none() && p.state == PortState::Listening) {
            continue;
        }
        let code = if gm_class {
            if better(&d0_ds, erbest.as_ref(), algorithm) {
                DecisionCode::M1
            } else {
                DecisionCode::P1
            }
        } else if d0_wins {
            DecisionCode::M2
        } else if let Some((bi, best)) = &ebest {
            if *bi == i {
                DecisionCode::S1
            } else if erbest
                .as_ref()
                .is_some_and(|e| compare(best, e, algorithm) == DatasetOrdering::ABetterByTopology)
            {
                DecisionCode::P2
            } else {
                DecisionCode::M3
            }
        } else {
            // No Ebest and D0 may not be grandmaster: nothing to recommend.
            continue;
        };
        // portDS.masterOnly (8.2.15.5.4): the port only leads. Its Erbest never becomes Ebest
        // (so never S1) and it is not parked in PASSIVE either: where another port would go
        // PASSIVE, it stays MASTER.
        let code = match (p.master_only, code) {
            (true, DecisionCode::P1) => DecisionCode::M1,
            (true, DecisionCode::P2) => DecisionCode::M3,
            (_, c) => c,
        };
        decisions.push(PortDecision {
            index: i,
            port_number: p.identity.port_number,
            code,
            recommended: code.recommended_state(),
        });
    }

    let ebest_index = ebest.map(|(i, _)| i);
    let update = if gm_class || d0_wins {
        DataSetUpdate::OwnGrandmaster
    } else if let Some(a) = ebest_index
        .and_then(|i| ports.get(i))
        .and_then(|p| p.erbest)
    {
        DataSetUpdate::FromMaster(a)
    } else {
        DataSetUpdate::OwnGrandmaster
    };
    StateDecision {
        decisions,
        ebest_index,
        update,
    }
}

/// Applies a [`DataSetUpdate`] (IEEE 1588-2019 9.3.5, Tables 30 and 33). `local_time` is the
/// timePropertiesDS this instance announces when it is grandmaster. Returns whether
/// parentDS.parentPortIdentity changed (a new master for the slave port).
pub fn apply_update(
    update: &DataSetUpdate,
    d0: &DefaultDs,
    local_time: &TimePropertiesDs,
    current: &mut CurrentDs,
    parent: &mut ParentDs,
    time_properties: &mut TimePropertiesDs,
) -> bool {
    let before = parent.parent_port_identity;
    match update {
        DataSetUpdate::Unchanged => {}
        DataSetUpdate::OwnGrandmaster => {
            *current = CurrentDs::default();
            *parent = ParentDs::own(d0);
            *time_properties = *local_time;
        }
        DataSetUpdate::FromMaster(a) => {
            current.steps_removed = a.steps_removed.saturating_add(1);
            let keep_stats = parent.parent_port_identity == a.source_port_identity;
            let fresh = ParentDs {
                parent_port_identity: a.source_port_identity,
                parent_stats: false,
                observed_parent_offset_scaled_log_variance: 0xFFFF,
                observed_parent_clock_phase_change_rate: 0x7FFF_FFFF,
                grandmaster_identity: a.grandmaster_identity,
                grandmaster_clock_quality: a.grandmaster_clock_quality,
                grandmaster_priority1: a.grandmaster_priority1,
                grandmaster_priority2: a.grandmaster_priority2,
            };
            *parent = if keep_stats {
                ParentDs {
                    parent_stats: parent.parent_stats,
                    observed_parent_offset_scaled_log_variance: parent
                        .observed_parent_offset_scaled_log_variance,
                    observed_parent_clock_phase_change_rate: parent
                        .observed_parent_clock_phase_change_rate,
                    ..fresh
                }
            } else {
                fresh
            };
            *time_properties = TimePropertiesDs {
                current_utc_offset: a.current_utc_offset,
                current_utc_offset_valid: a.flags.current_utc_offset_valid,
                leap59: a.flags.leap59,
                leap61: a.flags.leap61,
                time_traceable: a.flags.time_traceable,
                frequency_traceable: a.flags.frequency_traceable,
                ptp_timescale: a.flags.ptp_timescale,
                time_source: a.time_source,
            };
        }
    }
    parent.parent_port_identity != before
}
