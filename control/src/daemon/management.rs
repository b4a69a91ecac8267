//! Management for `xptp run`: the [`ManagementView`] of the running [`PtpInstance`] that
//! [`crate::mgmt`] answers pmc's queries from, and the application of its SET commands.
//! It reads the instance's data sets and counters; it never answers a request itself.

use xptp_datapath::wire::MessageType;

use super::transport::PortNet;
use crate::config::{Config, TimeStampingMode};
use crate::datasets::{CurrentDs, DefaultDs, ParentDs, TimePropertiesDs};
use crate::mgmt::{ManagementView, PortStats, PortView, SyncUncertain, TimeStatus, Timestamping};
use crate::ptp::PtpInstance;

/// A read-only view over the instance for one poll of the management sockets.
#[derive(Debug)]
pub struct InstanceView<'a> {
    /// The instance.
    pub inst: &'a PtpInstance,
    /// Port interfaces.
    pub nets: &'a [PortNet],
    /// The configuration.
    pub cfg: &'a Config,
    /// The synchronization-uncertain flag set over management.
    pub sync_uncertain: SyncUncertain,
}

fn timestamping(m: TimeStampingMode) -> Timestamping {
    match m {
        TimeStampingMode::Hardware => Timestamping::Hardware,
        TimeStampingMode::Software => Timestamping::Software,
        TimeStampingMode::OneStep => Timestamping::OneStep,
        TimeStampingMode::P2p1Step => Timestamping::P2p1Step,
    }
}

impl ManagementView for InstanceView<'_> {
    fn default_ds(&self) -> DefaultDs {
        *self.inst.default_ds()
    }

    fn current_ds(&self) -> CurrentDs {
        *self.inst.current_ds()
    }

    fn parent_ds(&self) -> ParentDs {
        *self.inst.parent_ds()
    }

    fn time_properties_ds(&self) -> TimePropertiesDs {
        *self.inst.time_properties_ds()
    }

    fn ports(&self) -> Vec<PortView> {
        (1..=self.nets.len() as u16)
            .filter_map(|p| {
                let ds = *self.inst.port_ds(p)?;
                let c = self.inst.port_counters(p);
                let stats = c.map(|c| {
                    let mut s = PortStats::default();
                    for n in 0..16u8 {
                        if let Ok(t) = MessageType::from_nibble(n) {
                            s.rx_msg_type[usize::from(n)] = c.rx(t);
                            s.tx_msg_type[usize::from(n)] = c.tx(t);
                        }
                    }
                    s
                });
                let pc = self.cfg.ports.get(usize::from(p - 1)).map(|(_, pc)| pc);
                Some(PortView {
                    ds,
                    interface: self
                        .nets
                        .get(usize::from(p - 1))
                        .map(|n| n.ifname.clone())
                        .unwrap_or_default(),
                    timestamping: timestamping(self.cfg.time_stamping),
                    as_capable: true,
                    neighbor_prop_delay_thresh_ns: pc
                        .map(|pc| pc.neighbor_prop_delay_thresh_ns)
                        .unwrap_or(20_000_000),
                    stats,
                })
            })
            .collect()
    }

    fn time_status(&self) -> TimeStatus {
        let m = (1..=self.nets.len() as u16).find_map(|p| self.inst.last_measurement(p));
        match m {
            Some(m) => TimeStatus {
                master_offset_ns: m.offset_from_master.nanos_round(),
                ingress_time_ns: i64::try_from(m.t2).unwrap_or(0),
                ..TimeStatus::default()
            },
            None => TimeStatus::default(),
        }
    }

    fn sync_uncertain(&self) -> SyncUncertain {
        self.sync_uncertain
    }
}
