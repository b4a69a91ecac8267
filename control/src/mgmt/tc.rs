//! Management of a transparent clock: the [`ManagementSnapshot`] that pmc's queries to
//! `xptp run` as `E2E_TC` / `P2P_TC` are answered from, as a pure function of a
//! [`TcSnapshot`] (configuration plus what the fast path measured).
//!
//! A transparent clock (IEEE 1588-2019 10.2, 10.3) runs no BMCA and no port state machine and
//! has no servo, so most of what management reports is its configuration: defaultDS from the
//! clock keys (numberPorts = its ports), currentDS zero, parentDS and timePropertiesDS its own
//! (it has no parent), TIME_STATUS_NP with gmPresent false. Each port reports portState
//! MASTER (see [`TC_PORT_STATE`]), the delay mechanism of the clock type, and for a P2P
//! transparent clock peerMeanPathDelay = the meanLinkDelay the fast path measured on it
//! (8.2.15.3.3; 0 until the first measurement and for E2E); PORT_STATS_NP counts what the TC
//! received and sent on the port per message type. The TC data sets of IEEE
//! 1588-2008 15.5.3.9/15.5.3.10 are answered NOT_SUPPORTED: the codec does not carry them and
//! pmc 3.1.1 cannot ask for them.
//!
//! linuxptp 3.1.1 as a TC answers no management at all (its UNIX-socket port is opened with
//! the TC event handler, which forwards MANAGEMENT onto the network ports, e2e_tc.c /
//! p2p_tc.c): xptp answers as ptp4l answers an OC for the same IDs, from the TC's state.
//! This module reads no socket and no clock.

use xptp_datapath::wire::ClockIdentity;

use super::{
    ManagementCommand, ManagementSnapshot, PortStats, PortView, SyncUncertain, TimeStatus,
    Timestamping,
};
use crate::datasets::{
    ClockConfig, CurrentDs, DefaultDs, DelayMechanism, ParentDs, PortConfig, PortDs,
    TimePropertiesDs,
};
use crate::port::state::PortState;

/// The portState a transparent clock's port reports. It forwards in both directions and runs
/// no state machine; MASTER is the state of a port that carries time away from the clock and
/// what ptp4l's own TC ports show while no foreign master is known. `xptp status` shows
/// these ports as `TRANSPARENT`.
pub const TC_PORT_STATE: PortState = PortState::Master;

/// One transparent-clock port as management sees it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TcPortSnapshot {
    /// The interface name (PORT_PROPERTIES_NP).
    pub interface: String,
    /// The port's configuration (intervals, neighborPropDelayThresh).
    pub config: PortConfig,
    /// meanLinkDelay measured by the fast path (ns), P2P only; `None` before the first.
    pub mean_link_delay_ns: Option<i64>,
    /// Messages the TC received and sent on the port per type (PORT_STATS_NP); `None`
    /// answers NOT_SUPPORTED.
    pub stats: Option<PortStats>,
}

/// Everything a transparent clock's management answers from.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TcSnapshot {
    /// The clock keys (priorities, clockQuality, domain, twoStepFlag, utc_offset ...).
    pub clock: ClockConfig,
    /// The clock identity the fast path uses.
    pub clock_identity: ClockIdentity,
    /// E2E for `E2E_TC`, P2P for `P2P_TC`.
    pub delay_mechanism: DelayMechanism,
    /// time_stamping as PORT_PROPERTIES_NP reports it.
    pub timestamping: Timestamping,
    /// SYNCHRONIZATION_UNCERTAIN_NP as last set.
    pub sync_uncertain: SyncUncertain,
    /// The ports, in port-number order.
    pub ports: Vec<TcPortSnapshot>,
}

impl TcSnapshot {
    /// Applies a SET the management core accepted: priorities and the uncertain flag are
    /// stored and reported (a TC has no BMCA for them to influence).
    pub fn apply(&mut self, c: ManagementCommand) {
        match c {
            ManagementCommand::SetPriority1(v) => self.clock.priority1 = v,
            ManagementCommand::SetPriority2(v) => self.clock.priority2 = v,
            ManagementCommand::SetSyncUncertain(s) => self.sync_uncertain = s,
        }
    }

    /// The management view of this transparent clock (see the module docs).
    pub fn management_view(&self) -> ManagementSnapshot {
        let n = self.ports.len() as u16;
        let default_ds = DefaultDs::new(&self.clock, self.clock_identity, n);
        let ports = self
            .ports
            .iter()
            .zip(1..)
            .map(|(p, number)| {
                let mut ds = PortDs::new(&p.config, self.clock_identity, number);
                ds.port_state = TC_PORT_STATE;
                ds.delay_mechanism = self.delay_mechanism;
                ds.mean_link_delay = match self.delay_mechanism {
                    DelayMechanism::P2P => {
                        p.mean_link_delay_ns.unwrap_or(0).saturating_mul(1 << 16)
                    }
                    _ => 0,
                };
                PortView {
                    ds,
                    interface: p.interface.clone(),
                    timestamping: self.timestamping,
                    as_capable: true,
                    neighbor_prop_delay_thresh_ns: p.config.neighbor_prop_delay_thresh_ns,
                    stats: p.stats,
                }
            })
            .collect();
        ManagementSnapshot {
            default_ds,
            current_ds: CurrentDs::default(),
            parent_ds: ParentDs::own(&default_ds),
            time_properties_ds: TimePropertiesDs::own(&self.clock),
            ports,
            time_status: TimeStatus::default(),
            sync_uncertain: self.sync_uncertain,
            grandmaster_settings: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use xptp_datapath::wire::tlv::management::{error_id, id, ManagementData, ManagementTlv};
    use xptp_datapath::wire::tlv::ManagementErrorStatusTlv;
    use xptp_datapath::wire::{
        Body, HeaderRepr, ManagementAction, ManagementBody, MessageRepr, PortIdentity, TlvRepr,
    };

    use super::*;
    use crate::mgmt::{handle_management, Access};

    const ID: ClockIdentity = ClockIdentity([2, 0, 0, 0xff, 0xfe, 0, 0, 7]);

    fn tc(mech: DelayMechanism) -> TcSnapshot {
        let port = |name: &str, d| TcPortSnapshot {
            interface: name.into(),
            config: PortConfig {
                log_min_pdelay_req_interval: -2,
                ..PortConfig::default()
            },
            mean_link_delay_ns: d,
            stats: None,
        };
        TcSnapshot {
            clock: ClockConfig {
                domain_number: 4,
                priority1: 200,
                ..ClockConfig::default()
            },
            clock_identity: ID,
            delay_mechanism: mech,
            timestamping: Timestamping::Software,
            sync_uncertain: SyncUncertain::DontCare,
            ports: vec![port("tc0", Some(1500)), port("tc1", None)],
        }
    }

    fn get(s: &TcSnapshot, mid: u16, port: u16) -> Vec<TlvRepr> {
        let req = MessageRepr {
            header: HeaderRepr {
                domain_number: s.clock.domain_number,
                source_port_identity: PortIdentity::new(ClockIdentity([7; 8]), 1),
                ..HeaderRepr::default()
            },
            body: Body::Management(ManagementBody {
                target_port_identity: PortIdentity::new(ClockIdentity::ALL, port),
                starting_boundary_hops: 0,
                boundary_hops: 0,
                action: ManagementAction::Get,
            }),
            tlvs: vec![TlvRepr::Management(ManagementTlv {
                management_id: mid,
                data: ManagementData::Empty,
            })],
        }
        .to_vec()
        .unwrap();
        let out = handle_management(&req, &s.management_view(), Access::UdsReadOnly);
        assert!(out.ignored.is_none());
        out.responses
            .iter()
            .map(|r| MessageRepr::parse(r).unwrap().tlvs.remove(0))
            .collect()
    }

    #[test]
    fn default_data_set_is_the_tc_configuration() {
        let s = tc(DelayMechanism::P2P);
        let r = get(&s, id::DEFAULT_DATA_SET, 0xFFFF);
        let [TlvRepr::Management(ManagementTlv {
            data: ManagementData::DefaultDataSet(d),
            ..
        })] = &r[..]
        else {
            panic!("{r:?}")
        };
        assert_eq!((d.number_ports, d.priority1, d.domain_number), (2, 200, 4));
        assert_eq!(d.clock_identity, ID);
        assert!(!d.slave_only);
    }

    #[test]
    fn port_data_set_reports_the_measured_link_delay_for_p2p_only() {
        for (mech, want) in [(DelayMechanism::P2P, 1500 << 16), (DelayMechanism::E2E, 0)] {
            let r = get(&tc(mech), id::PORT_DATA_SET, 0xFFFF);
            assert_eq!(r.len(), 2, "one answer per port");
            let ManagementData::PortDataSet(p) = (match &r[0] {
                TlvRepr::Management(t) => t.data.clone(),
                o => panic!("{o:?}"),
            }) else {
                panic!()
            };
            assert_eq!(p.peer_mean_path_delay.0, want);
            assert_eq!(p.port_state, TC_PORT_STATE.to_wire());
            assert_eq!(p.delay_mechanism, mech.to_wire());
            assert_eq!(p.log_min_pdelay_req_interval, -2);
            assert_eq!(p.port_identity, PortIdentity::new(ID, 1));
        }
    }

    #[test]
    fn unanswerable_ids_are_not_supported_and_sets_are_kept() {
        let mut s = tc(DelayMechanism::E2E);
        for mid in [
            id::GRANDMASTER_SETTINGS_NP,
            id::PORT_STATS_NP,
            0x4000,
            0x4001,
        ] {
            let r = get(&s, mid, 1);
            assert!(
                matches!(
                    &r[..],
                    [TlvRepr::ManagementErrorStatus(ManagementErrorStatusTlv {
                        management_error_id: error_id::NOT_SUPPORTED,
                        ..
                    })]
                ),
                "{mid:#x}: {r:?}"
            );
        }
        s.apply(ManagementCommand::SetPriority1(7));
        assert_eq!(s.management_view().default_ds.priority1, 7);
        let r = get(&s, id::TIME_STATUS_NP, 0);
        let [TlvRepr::Management(ManagementTlv {
            data: ManagementData::TimeStatusNp(t),
            ..
        })] = &r[..]
        else {
            panic!("{r:?}")
        };
        assert_eq!((t.gm_present, t.gm_identity), (0, ID));
    }
}
