//! Management for `xptp run`: the [`ManagementView`] of the running [`PtpInstance`] that
//! [`crate::mgmt`] answers pmc's queries from, and the application of its SET commands.
//! It reads the instance's data sets and counters; it never answers a request itself. It also
//! counts what management over the network did ([`NetworkManagementCounters`]).

use std::collections::BTreeMap;

use xptp_datapath::wire::MessageType;

use super::transport::PortNet;
use crate::config::{Config, TimeStampingMode};
use crate::datasets::{CurrentDs, DefaultDs, ParentDs, TimePropertiesDs};
use crate::mgmt::network::NetworkOutcome;
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

/// linuxptp's timestamping type for a `time_stamping` mode (PORT_PROPERTIES_NP).
pub(crate) fn timestamping(m: TimeStampingMode) -> Timestamping {
    match m {
        TimeStampingMode::Hardware => Timestamping::Hardware,
        TimeStampingMode::Software => Timestamping::Software,
        TimeStampingMode::OneStep => Timestamping::OneStep,
        TimeStampingMode::P2p1Step => Timestamping::P2p1Step,
    }
}

/// PORT_STATS_NP counters from a (received, sent) count per message type.
pub(crate) fn port_stats(count: impl Fn(MessageType) -> (u64, u64)) -> PortStats {
    let mut s = PortStats::default();
    for n in 0..16u8 {
        if let Ok(t) = MessageType::from_nibble(n) {
            let (rx, tx) = count(t);
            if let Some(v) = s.rx_msg_type.get_mut(usize::from(n)) {
                *v = rx;
            }
            if let Some(v) = s.tx_msg_type.get_mut(usize::from(n)) {
                *v = tx;
            }
        }
    }
    s
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
                let stats = c.map(|c| port_stats(|t| (c.rx(t), c.tx(t))));
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

/// What management over the network (`pmc -2/-4/-6`, key `network_management`) did, for
/// status and metrics. Every Management frame a port receives lands in exactly one of
/// `answered` or `ignored`.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct NetworkManagementCounters {
    /// Management frames received on PTP ports.
    pub received: u64,
    /// Requests answered (including refused ones).
    pub answered: u64,
    /// SET and COMMAND requests refused (answered NOT_SUPPORTED: the network may only read).
    pub refused: u64,
    /// Answer frames handed to the datapath.
    pub responses_sent: u64,
    /// Answer frames that could not be sent (framing, full lane).
    pub responses_dropped: u64,
    /// Frames that got no answer, by [`NetworkIgnored::reason`] (`disabled` when the switch
    /// is off).
    pub ignored: BTreeMap<&'static str, u64>,
}

impl NetworkManagementCounters {
    /// Counts one handled frame.
    pub fn note(&mut self, out: &NetworkOutcome) {
        self.received += 1;
        match out.ignored {
            Some(why) => *self.ignored.entry(why.reason()).or_default() += 1,
            None => self.answered += 1,
        }
        if out.refused {
            self.refused += 1;
        }
    }

    /// The counters under the names status and metrics show (`network_management_*`).
    pub fn named(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = [
            ("received", self.received),
            ("answered", self.answered),
            ("refused", self.refused),
            ("responses_sent", self.responses_sent),
            ("responses_dropped", self.responses_dropped),
        ]
        .into_iter()
        .map(|(k, n)| (format!("network_management_{k}"), n))
        .collect();
        v.extend(
            self.ignored
                .iter()
                .map(|(k, n)| (format!("network_management_ignored_{k}"), *n)),
        );
        v
    }
}

/// Whether a PTP message (its first octet) is a Management message.
pub fn is_management(payload: &[u8]) -> bool {
    payload.first().map(|b| b & 0x0f) == Some(MessageType::Management as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mgmt::network::NetworkIgnored;

    #[test]
    fn network_counters_sum_and_name() {
        let mut c = NetworkManagementCounters::default();
        c.note(&NetworkOutcome {
            ignored: Some(NetworkIgnored::Disabled),
            ..NetworkOutcome::default()
        });
        c.note(&NetworkOutcome {
            frames: vec![vec![0; 60]],
            refused: true,
            ..NetworkOutcome::default()
        });
        assert_eq!((c.received, c.answered, c.refused), (2, 1, 1));
        let n = c.named();
        assert!(n.contains(&("network_management_ignored_disabled".into(), 1)));
        assert!(n.contains(&("network_management_refused".into(), 1)));
        assert!(is_management(&[0x0d, 2]) && is_management(&[0x1d]));
        assert!(!is_management(&[0x0b]) && !is_management(&[]));
    }
}
