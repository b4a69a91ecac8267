//! PTP management (IEEE 1588-2019 clause 15) as linuxptp's `pmc` speaks it.
//!
//! This module owns the answer to a management message and the sockets that carry them:
//! * [`handle_management`] is the sans-IO core: one request (the PTP message octets) and a
//!   read-only [`ManagementView`] of the instance in, the response messages and at most one
//!   [`ManagementCommand`] out. It never mutates the instance: a SET is answered with the new
//!   value and the change is handed to the daemon as a command, which applies it (and runs a
//!   state decision for a priority change) before the next poll.
//! * [`uds`] is the local transport: a `SOCK_DGRAM` UNIX socket at `uds_address` (read-write)
//!   and a read-only socket beside it, answering each datagram to its sender's address.
//! * [`network`] answers management messages that arrived in a frame on a PTP port
//!   (`pmc -2/-4/-6`), when the configuration allows it.
//! * [`tc`] is the view of a transparent clock, which has no PTP Instance: a pure function
//!   from its configuration and measured link delays and counters to a [`ManagementSnapshot`].
//!
//! Behaviour follows linuxptp 3.1.1's `clock_manage`/`port_manage` where the standard leaves
//! room (which IDs are clock- or port-scoped, one response per addressed port, WRONG_VALUE for a
//! port that does not exist, NO_SUCH_ID for an unknown ID, WRONG_LENGTH for a SET without data),
//! so that scripts written against ptp4l see the same answers. Where xptp differs it says so
//! in [`handle_management`]'s documentation. It must not read clocks or sockets (the view
//! does) and must not forward requests to other ports (boundaryHops forwarding, 15.3.3, is the
//! daemon's job).

mod handler;
pub mod network;
pub mod tc;
pub mod uds;

#[cfg(test)]
mod tests;

use xptp_datapath::wire::tlv::management::ScaledNs;
use xptp_datapath::wire::{ClockIdentity, ClockQuality, PortIdentity};

use crate::datasets::{CurrentDs, DefaultDs, ParentDs, PortDs, TimePropertiesDs};

pub use handler::{handle_management, Access, Ignored, ManagementOutcome};

/// linuxptp `enum timestamp_type`, as PORT_PROPERTIES_NP reports it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[repr(u8)]
pub enum Timestamping {
    /// Software timestamps (xptp's XDP ingress and TX-completion timestamps count here).
    #[default]
    Software = 0,
    Hardware = 1,
    LegacyHardware = 2,
    OneStep = 3,
    P2p1Step = 4,
}

/// What the management core needs to know about one PTP port.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PortView {
    /// portDS (its portIdentity.portNumber addresses the port).
    pub ds: PortDs,
    /// The interface name PORT_PROPERTIES_NP reports (e.g. `eth0`).
    pub interface: String,
    pub timestamping: Timestamping,
    /// linuxptp's `asCapable` (PORT_DATA_SET_NP): the port may carry time (802.1AS 10.2.4.1);
    /// for a plain 1588 port, true once it is operational.
    pub as_capable: bool,
    /// linuxptp `neighborPropDelayThresh` in ns (PORT_DATA_SET_NP).
    pub neighbor_prop_delay_thresh_ns: u32,
    /// Received and transmitted message counts per messageType nibble (PORT_STATS_NP), if the
    /// daemon keeps them; `None` answers PORT_STATS_NP with NOT_SUPPORTED.
    pub stats: Option<PortStats>,
}

/// Per-port message counters for PORT_STATS_NP, indexed by messageType nibble.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct PortStats {
    pub rx_msg_type: [u64; 16],
    pub tx_msg_type: [u64; 16],
}

/// The clock's synchronisation status as linuxptp's TIME_STATUS_NP reports it. gmPresent and
/// gmIdentity come from parentDS and are filled in by the core.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TimeStatus {
    /// The last offset from master in ns (0 before the first measurement).
    pub master_offset_ns: i64,
    /// Local ingress time of the last Sync in ns (0 before the first).
    pub ingress_time_ns: i64,
    /// 802.1AS FOLLOW_UP information TLV: (rateRatio − 1) × 2^41 (0 without it).
    pub cumulative_scaled_rate_offset: i32,
    pub scaled_last_gm_phase_change: i32,
    pub gm_time_base_indicator: u16,
    pub last_gm_phase_change: ScaledNs,
}

/// linuxptp GRANDMASTER_SETTINGS_NP: what the clock announces when it is grandmaster.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GrandmasterSettings {
    pub clock_quality: ClockQuality,
    pub utc_offset: i16,
    /// timePropertiesDS flags as in the second octet of flagField (leap61 = bit 0 ...).
    pub time_flags: u8,
    pub time_source: u8,
}

/// linuxptp SYNCHRONIZATION_UNCERTAIN_NP values (`SYNC_UNCERTAIN_*`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum SyncUncertain {
    /// 0: synchronisation is certain; a free-running slave reports LOCKED (and so reaches
    /// SLAVE) only in this state.
    False,
    /// 1: synchronisation is uncertain.
    True,
    /// 0xFF: no opinion (linuxptp's default).
    #[default]
    DontCare,
}

impl SyncUncertain {
    pub const fn to_wire(self) -> u8 {
        match self {
            Self::False => 0,
            Self::True => 1,
            Self::DontCare => 0xFF,
        }
    }

    pub const fn from_wire(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::False),
            1 => Some(Self::True),
            0xFF => Some(Self::DontCare),
            _ => None,
        }
    }
}

/// A read-only view of the PTP Instance for management. The daemon implements it over its
/// live state; tests implement it over fixed values. Methods return owned copies: management
/// is not on a hot path.
pub trait ManagementView {
    fn default_ds(&self) -> DefaultDs;
    fn current_ds(&self) -> CurrentDs;
    fn parent_ds(&self) -> ParentDs;
    fn time_properties_ds(&self) -> TimePropertiesDs;
    /// Every PTP port, in port-number order.
    fn ports(&self) -> Vec<PortView>;
    fn time_status(&self) -> TimeStatus;
    /// The current SYNCHRONIZATION_UNCERTAIN_NP setting.
    fn sync_uncertain(&self) -> SyncUncertain;
    /// GRANDMASTER_SETTINGS_NP; `None` answers it with NOT_SUPPORTED.
    fn grandmaster_settings(&self) -> Option<GrandmasterSettings> {
        None
    }
}

/// A change a SET asked for. The core has already answered it (with the new value); the daemon
/// must apply it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ManagementCommand {
    /// defaultDS.priority1 := value, then a state decision (linuxptp runs one at once).
    SetPriority1(u8),
    /// defaultDS.priority2 := value, then a state decision.
    SetPriority2(u8),
    /// linuxptp `local_sync_uncertain` := value.
    SetSyncUncertain(SyncUncertain),
}

impl ManagementCommand {
    /// Whether the daemon must run a state decision (BMCA) after applying it: a changed
    /// priority changes defaultDS and so D0 (IEEE 1588-2019 9.3.3).
    pub const fn needs_state_decision(self) -> bool {
        matches!(self, Self::SetPriority1(_) | Self::SetPriority2(_))
    }
}

/// The identity a clock-scoped answer comes from when the request arrived on a UNIX socket:
/// the clock identity with port number 0, as ptp4l's UDS port.
pub(crate) fn uds_responder(clock: ClockIdentity) -> PortIdentity {
    PortIdentity::new(clock, 0)
}

/// An owned copy of everything management reads: the simplest [`ManagementView`]. The daemon
/// may fill one from its state before polling the servers; tests build them directly.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ManagementSnapshot {
    pub default_ds: DefaultDs,
    pub current_ds: CurrentDs,
    pub parent_ds: ParentDs,
    pub time_properties_ds: TimePropertiesDs,
    pub ports: Vec<PortView>,
    pub time_status: TimeStatus,
    pub sync_uncertain: SyncUncertain,
    pub grandmaster_settings: Option<GrandmasterSettings>,
}

impl ManagementSnapshot {
    /// Applies a command to the snapshot as the daemon applies it to its data sets (without
    /// the state decision a priority change triggers).
    pub fn apply(&mut self, c: ManagementCommand) {
        match c {
            ManagementCommand::SetPriority1(v) => self.default_ds.priority1 = v,
            ManagementCommand::SetPriority2(v) => self.default_ds.priority2 = v,
            ManagementCommand::SetSyncUncertain(s) => self.sync_uncertain = s,
        }
    }
}

impl ManagementView for ManagementSnapshot {
    fn default_ds(&self) -> DefaultDs {
        self.default_ds
    }
    fn current_ds(&self) -> CurrentDs {
        self.current_ds
    }
    fn parent_ds(&self) -> ParentDs {
        self.parent_ds
    }
    fn time_properties_ds(&self) -> TimePropertiesDs {
        self.time_properties_ds
    }
    fn ports(&self) -> Vec<PortView> {
        self.ports.clone()
    }
    fn time_status(&self) -> TimeStatus {
        self.time_status
    }
    fn sync_uncertain(&self) -> SyncUncertain {
        self.sync_uncertain
    }
    fn grandmaster_settings(&self) -> Option<GrandmasterSettings> {
        self.grandmaster_settings
    }
}
