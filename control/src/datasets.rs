//! The PTP Instance data sets of IEEE 1588-2019 clause 8 (defaultDS, currentDS, parentDS,
//! timePropertiesDS, portDS) and the configuration that seeds them.
//!
//! [`ClockConfig`] and [`PortConfig`] hold what a ptp4l-style configuration file sets; every field
//! names its linuxptp key and defaults to linuxptp's default, so that a `ptp4l.conf` means the
//! same thing to xptp. The configuration parser (a later module) fills them; this module only
//! holds values and builds the initial data sets from them. It does no I/O and no validation
//! against a profile (see [`crate::profile`]).

use core::time::Duration;

use xptp_datapath::wire::{ClockIdentity, ClockQuality, PortIdentity};

use crate::port::state::PortState;
use crate::profile::Transport;
use crate::time::log_interval;

/// IEEE 1588-2019 8.2.15.4.4 / linuxptp `delay_mechanism`: how a port measures path delay.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum DelayMechanism {
    /// Delay request-response (11.3), linuxptp `E2E` (the default).
    #[default]
    E2E,
    /// Peer delay (11.4), linuxptp `P2P`.
    P2P,
    /// No delay measurement (offset only), linuxptp `NONE`.
    NoMechanism,
}

impl DelayMechanism {
    /// Parses linuxptp's spelling (`E2E`, `P2P`, `NONE`). linuxptp's `Auto` and `COMMON_P2P`
    /// are not supported and give `None`.
    pub fn from_linuxptp(s: &str) -> Option<Self> {
        match s {
            "E2E" => Some(Self::E2E),
            "P2P" => Some(Self::P2P),
            "NONE" => Some(Self::NoMechanism),
            _ => None,
        }
    }

    /// linuxptp's spelling.
    pub const fn as_linuxptp(self) -> &'static str {
        match self {
            Self::E2E => "E2E",
            Self::P2P => "P2P",
            Self::NoMechanism => "NONE",
        }
    }

    /// The value of portDS.delayMechanism on the wire and in management (Table 21).
    pub const fn to_wire(self) -> u8 {
        match self {
            Self::E2E => 0x01,
            Self::P2P => 0x02,
            Self::NoMechanism => 0xFE,
        }
    }
}

/// Which data set comparison (and thus which BMCA) the clock runs: linuxptp `dataset_comparison`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum DatasetComparison {
    /// IEEE 1588-2019 9.3.4 (linuxptp `ieee1588`, the default).
    #[default]
    Ieee1588,
    /// ITU-T G.8275.1/G.8275.2 alternate BMCA (linuxptp `G.8275.x`).
    G8275,
}

impl DatasetComparison {
    /// Parses linuxptp's spelling (`ieee1588`, `G.8275.x`).
    pub fn from_linuxptp(s: &str) -> Option<Self> {
        match s {
            "ieee1588" => Some(Self::Ieee1588),
            "G.8275.x" => Some(Self::G8275),
            _ => None,
        }
    }

    /// linuxptp's spelling.
    pub const fn as_linuxptp(self) -> &'static str {
        match self {
            Self::Ieee1588 => "ieee1588",
            Self::G8275 => "G.8275.x",
        }
    }
}

/// linuxptp `fault_reset_interval`: how long a port stays FAULTY before it re-initialises.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum FaultResetInterval {
    /// `ASAP`: clear the fault at the next opportunity.
    Asap,
    /// `2^n` seconds (default n = 4, 16 s; linuxptp range -128..=127).
    Log2Seconds(i8),
}

impl Default for FaultResetInterval {
    fn default() -> Self {
        Self::Log2Seconds(4)
    }
}

impl FaultResetInterval {
    /// The delay between entering FAULTY and the FAULT_CLEARED event the timer model raises.
    pub fn duration(self) -> Duration {
        match self {
            Self::Asap => Duration::ZERO,
            Self::Log2Seconds(n) => log_interval(n),
        }
    }
}

/// Clock-wide configuration (linuxptp `[global]` keys that feed defaultDS and timePropertiesDS).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ClockConfig {
    /// `clockIdentity` (linuxptp: `000000.0000.000000` = derive from the first port's MAC).
    /// `None` here means "derive"; the shell fills it before the data sets are built.
    pub clock_identity: Option<ClockIdentity>,
    /// `twoStepFlag` (default 1): defaultDS.twoStepFlag (8.2.1.2.1).
    pub two_step_flag: bool,
    /// `slaveOnly` / `clientOnly` (default 0): defaultDS.slaveOnly (8.2.1.4.3).
    pub slave_only: bool,
    /// `gmCapable` (default 1): when 0 the clock never selects itself as grandmaster
    /// (M1/M2 are withheld; IEEE 802.1AS-style, linuxptp semantics).
    pub gm_capable: bool,
    /// `priority1` (default 128, 0..=255): defaultDS.priority1 (8.2.1.4.1).
    pub priority1: u8,
    /// `priority2` (default 128): defaultDS.priority2 (8.2.1.4.2).
    pub priority2: u8,
    /// `domainNumber` (default 0): defaultDS.domainNumber (8.2.1.4.4).
    pub domain_number: u8,
    /// `clockClass` (default 248), `clockAccuracy` (default 0xFE, unknown),
    /// `offsetScaledLogVariance` (default 0xFFFF): defaultDS.clockQuality (8.2.1.3.1).
    pub clock_quality: ClockQuality,
    /// `dataset_comparison` (default `ieee1588`).
    pub dataset_comparison: DatasetComparison,
    /// `G.8275.defaultDS.localPriority` (default 128, 1..=255): G.8275.1 6.3.2.
    pub local_priority: u8,
    /// `maxStepsRemoved` (default 255, 2..=255): Announces with stepsRemoved at or above this
    /// are not qualified (IEEE 1588-2019 9.3.2.5 d uses 255).
    pub max_steps_removed: u16,
    /// `timeSource` (default 0xA0, internal oscillator): timePropertiesDS.timeSource when GM.
    pub time_source: u8,
    /// `utc_offset` (default 37): timePropertiesDS.currentUtcOffset when GM.
    pub utc_offset: i16,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            clock_identity: None,
            two_step_flag: true,
            slave_only: false,
            gm_capable: true,
            priority1: 128,
            priority2: 128,
            domain_number: 0,
            clock_quality: ClockQuality {
                clock_class: 248,
                clock_accuracy: 0xFE,
                offset_scaled_log_variance: 0xFFFF,
            },
            dataset_comparison: DatasetComparison::Ieee1588,
            local_priority: 128,
            max_steps_removed: 255,
            time_source: 0xA0,
            utc_offset: 37,
        }
    }
}

/// Per-port configuration (linuxptp keys allowed in an interface section).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PortConfig {
    /// `logAnnounceInterval` (default 1): portDS.logAnnounceInterval (8.2.15.4.1).
    pub log_announce_interval: i8,
    /// `logSyncInterval` (default 0): portDS.logSyncInterval (8.2.15.4.3).
    pub log_sync_interval: i8,
    /// `logMinDelayReqInterval` (default 0): portDS.logMinDelayReqInterval (8.2.15.3.1).
    pub log_min_delay_req_interval: i8,
    /// `logMinPdelayReqInterval` (default 0): portDS.logMinPdelayReqInterval (8.2.15.5.2).
    pub log_min_pdelay_req_interval: i8,
    /// `announceReceiptTimeout` (default 3, 2..=255): portDS.announceReceiptTimeout (8.2.15.4.2).
    pub announce_receipt_timeout: u8,
    /// `syncReceiptTimeout` (default 0 = disabled): Sync intervals without a Sync before
    /// the slave raises SYNCHRONIZATION_FAULT.
    pub sync_receipt_timeout: u8,
    /// `delay_mechanism` (default E2E): portDS.delayMechanism (8.2.15.4.4).
    pub delay_mechanism: DelayMechanism,
    /// `delayAsymmetry` (default 0 ns): portDS.delayAsymmetry (8.2.15.4.8 / 16.8).
    pub delay_asymmetry_ns: i64,
    /// `masterOnly` / `serverOnly` (default 0): portDS.masterOnly (8.2.15.5.4), G.8275.1
    /// `notSlave`: the port never becomes SLAVE and its Erbest is left out of Ebest.
    pub master_only: bool,
    /// `G.8275.portDS.localPriority` (default 128, 1..=255): G.8275.1 6.3.2.
    pub local_priority: u8,
    /// `fault_reset_interval` (default 4 = 16 s, or `ASAP`).
    pub fault_reset_interval: FaultResetInterval,
    /// `neighborPropDelayThresh` (default 20000000 ns): P2P link delay above this makes the
    /// port not asCapable (linuxptp semantics).
    pub neighbor_prop_delay_thresh_ns: u32,
    /// `inhibit_announce` (default 0): do not send Announce as master.
    pub inhibit_announce: bool,
    /// `ignore_source_id` (default 0): accept Sync/Follow_Up from any source port.
    pub ignore_source_id: bool,
    /// `network_transport` (default UDPv4): Annex C, D or E.
    pub network_transport: Transport,
    /// `ptp_dst_mac` (default 01:1B:19:00:00:00): L2 destination of all but peer-delay messages.
    pub ptp_dst_mac: [u8; 6],
    /// `p2p_dst_mac` (default 01:80:C2:00:00:0E): L2 destination of peer-delay messages.
    pub p2p_dst_mac: [u8; 6],
    /// `udp_ttl` (default 1): IPv4 TTL / IPv6 hop limit of PTP datagrams.
    pub udp_ttl: u8,
    /// `udp6_scope` (default 0x0E, global): multicast scope nibble of the IPv6 destination
    /// (FF0X::181 / FF02::6B).
    pub udp6_scope: u8,
    /// `egressLatency` (default 0 ns): added to transmit timestamps (PHY latency).
    pub egress_latency_ns: i32,
    /// `ingressLatency` (default 0 ns): subtracted from receive timestamps (PHY latency).
    pub ingress_latency_ns: i32,
    /// Authentication (`spp`, `active_key_id`, `allow_unauth`) and rogue-master protection
    /// (`grandmaster_block`, `acceptable_master_table`).
    pub security: crate::security::PortSecurity,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            log_announce_interval: 1,
            log_sync_interval: 0,
            log_min_delay_req_interval: 0,
            log_min_pdelay_req_interval: 0,
            announce_receipt_timeout: 3,
            sync_receipt_timeout: 0,
            delay_mechanism: DelayMechanism::E2E,
            delay_asymmetry_ns: 0,
            master_only: false,
            local_priority: 128,
            fault_reset_interval: FaultResetInterval::default(),
            neighbor_prop_delay_thresh_ns: 20_000_000,
            inhibit_announce: false,
            ignore_source_id: false,
            network_transport: Transport::UdpIpv4,
            ptp_dst_mac: [0x01, 0x1B, 0x19, 0x00, 0x00, 0x00],
            p2p_dst_mac: [0x01, 0x80, 0xC2, 0x00, 0x00, 0x0E],
            udp_ttl: 1,
            udp6_scope: 0x0E,
            egress_latency_ns: 0,
            ingress_latency_ns: 0,
            security: crate::security::PortSecurity::default(),
        }
    }
}

/// IEEE 1588-2019 8.2.1: defaultDS, plus G.8275.1's defaultDS.localPriority.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DefaultDs {
    /// 8.2.1.2.1
    pub two_step_flag: bool,
    /// 8.2.1.2.2
    pub clock_identity: ClockIdentity,
    /// 8.2.1.2.3: the number of PTP Ports of the instance.
    pub number_ports: u16,
    /// 8.2.1.3.1
    pub clock_quality: ClockQuality,
    /// 8.2.1.4.1
    pub priority1: u8,
    /// 8.2.1.4.2
    pub priority2: u8,
    /// 8.2.1.4.3
    pub domain_number: u8,
    /// 8.2.1.4.4
    pub slave_only: bool,
    /// ITU-T G.8275.1 6.3.2 (only the alternate BMCA reads it).
    pub local_priority: u8,
    /// linuxptp `gmCapable` (not a 1588 member; kept here because the BMCA reads it).
    pub gm_capable: bool,
}

impl DefaultDs {
    /// Builds defaultDS from the configuration. `identity` is the resolved clock identity.
    pub fn new(cfg: &ClockConfig, identity: ClockIdentity, number_ports: u16) -> Self {
        DefaultDs {
            two_step_flag: cfg.two_step_flag,
            clock_identity: identity,
            number_ports,
            clock_quality: cfg.clock_quality,
            priority1: cfg.priority1,
            priority2: cfg.priority2,
            domain_number: cfg.domain_number,
            slave_only: cfg.slave_only,
            local_priority: cfg.local_priority,
            gm_capable: cfg.gm_capable,
        }
    }
}

/// IEEE 1588-2019 8.2.2: currentDS. Offsets are in TimeInterval units (ns × 2^16), as on the
/// wire and in management.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct CurrentDs {
    /// 8.2.2.2: hops between this instance and the grandmaster (0 when we are the GM).
    pub steps_removed: u16,
    /// 8.2.2.3, scaled ns (2^-16 ns units).
    pub offset_from_master: i64,
    /// 8.2.2.4, scaled ns (2^-16 ns units).
    pub mean_delay: i64,
}

/// IEEE 1588-2019 8.2.3: parentDS.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ParentDs {
    /// 8.2.3.2: the master port we synchronise to, or (our identity, 0) when we are GM.
    pub parent_port_identity: PortIdentity,
    /// 8.2.3.3
    pub parent_stats: bool,
    /// 8.2.3.4 (0xFFFF when not computed).
    pub observed_parent_offset_scaled_log_variance: u16,
    /// 8.2.3.5 (0x7FFFFFFF when not computed).
    pub observed_parent_clock_phase_change_rate: i32,
    /// 8.2.3.6
    pub grandmaster_identity: ClockIdentity,
    /// 8.2.3.7
    pub grandmaster_clock_quality: ClockQuality,
    /// 8.2.3.8
    pub grandmaster_priority1: u8,
    /// 8.2.3.9
    pub grandmaster_priority2: u8,
}

impl ParentDs {
    /// parentDS of an instance that is its own grandmaster (8.2.3 initialisation, Table 30).
    pub fn own(d: &DefaultDs) -> Self {
        ParentDs {
            parent_port_identity: PortIdentity::new(d.clock_identity, 0),
            parent_stats: false,
            observed_parent_offset_scaled_log_variance: 0xFFFF,
            observed_parent_clock_phase_change_rate: 0x7FFF_FFFF,
            grandmaster_identity: d.clock_identity,
            grandmaster_clock_quality: d.clock_quality,
            grandmaster_priority1: d.priority1,
            grandmaster_priority2: d.priority2,
        }
    }
}

/// IEEE 1588-2019 8.2.4: timePropertiesDS.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TimePropertiesDs {
    /// 8.2.4.2 (seconds, TAI − UTC).
    pub current_utc_offset: i16,
    /// 8.2.4.3
    pub current_utc_offset_valid: bool,
    /// 8.2.4.4
    pub leap59: bool,
    /// 8.2.4.5
    pub leap61: bool,
    /// 8.2.4.6
    pub time_traceable: bool,
    /// 8.2.4.7
    pub frequency_traceable: bool,
    /// 8.2.4.8
    pub ptp_timescale: bool,
    /// 8.2.4.9 (Table 6 values, e.g. 0xA0 internal oscillator, 0x20 GNSS).
    pub time_source: u8,
}

impl TimePropertiesDs {
    /// What a grandmaster with only its own oscillator announces (linuxptp's defaults:
    /// PTP timescale, configured UTC offset not asserted valid, not traceable).
    pub fn own(cfg: &ClockConfig) -> Self {
        TimePropertiesDs {
            current_utc_offset: cfg.utc_offset,
            current_utc_offset_valid: false,
            leap59: false,
            leap61: false,
            time_traceable: false,
            frequency_traceable: false,
            ptp_timescale: true,
            time_source: cfg.time_source,
        }
    }
}

/// IEEE 1588-2019 8.2.15: portDS (with G.8275.1's portDS.localPriority).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PortDs {
    /// 8.2.15.2.1
    pub port_identity: PortIdentity,
    /// 8.2.15.3.1
    pub port_state: PortState,
    /// 8.2.15.3.2
    pub log_min_delay_req_interval: i8,
    /// 8.2.15.3.3, scaled ns (2^-16 ns units); P2P only.
    pub mean_link_delay: i64,
    /// 8.2.15.4.1
    pub log_announce_interval: i8,
    /// 8.2.15.4.2
    pub announce_receipt_timeout: u8,
    /// 8.2.15.4.3
    pub log_sync_interval: i8,
    /// 8.2.15.4.4
    pub delay_mechanism: DelayMechanism,
    /// 8.2.15.4.5
    pub log_min_pdelay_req_interval: i8,
    /// 8.2.15.4.6 (always 2).
    pub version_number: u8,
    /// 8.2.15.4.7 (1 for IEEE 1588-2019).
    pub minor_version_number: u8,
    /// 8.2.15.4.8, in ns.
    pub delay_asymmetry_ns: i64,
    /// 8.2.15.5.4
    pub master_only: bool,
    /// G.8275.1 6.3.2
    pub local_priority: u8,
}

impl PortDs {
    /// Builds portDS for port `number` (1-based) of the clock `clock_identity`.
    pub fn new(cfg: &PortConfig, clock_identity: ClockIdentity, number: u16) -> Self {
        PortDs {
            port_identity: PortIdentity::new(clock_identity, number),
            port_state: PortState::Initializing,
            log_min_delay_req_interval: cfg.log_min_delay_req_interval,
            mean_link_delay: 0,
            log_announce_interval: cfg.log_announce_interval,
            announce_receipt_timeout: cfg.announce_receipt_timeout,
            log_sync_interval: cfg.log_sync_interval,
            delay_mechanism: cfg.delay_mechanism,
            log_min_pdelay_req_interval: cfg.log_min_pdelay_req_interval,
            version_number: 2,
            minor_version_number: 1,
            delay_asymmetry_ns: cfg.delay_asymmetry_ns,
            master_only: cfg.master_only,
            local_priority: cfg.local_priority,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_linuxptp_default_cfg() {
        let c = ClockConfig::default();
        assert!(c.two_step_flag && !c.slave_only && c.gm_capable);
        assert_eq!((c.priority1, c.priority2, c.domain_number), (128, 128, 0));
        assert_eq!(c.clock_quality.clock_class, 248);
        assert_eq!(c.clock_quality.clock_accuracy, 0xFE);
        assert_eq!(c.clock_quality.offset_scaled_log_variance, 0xFFFF);
        assert_eq!(c.dataset_comparison, DatasetComparison::Ieee1588);
        assert_eq!((c.local_priority, c.max_steps_removed), (128, 255));
        assert_eq!((c.time_source, c.utc_offset), (0xA0, 37));
        let p = PortConfig::default();
        assert_eq!(p.log_announce_interval, 1);
        assert_eq!(p.log_sync_interval, 0);
        assert_eq!(p.log_min_delay_req_interval, 0);
        assert_eq!(p.log_min_pdelay_req_interval, 0);
        assert_eq!(p.announce_receipt_timeout, 3);
        assert_eq!(p.sync_receipt_timeout, 0);
        assert_eq!(p.delay_mechanism, DelayMechanism::E2E);
        assert_eq!(p.fault_reset_interval.duration(), Duration::from_secs(16));
        assert_eq!(p.neighbor_prop_delay_thresh_ns, 20_000_000);
    }

    #[test]
    fn enum_spellings() {
        assert_eq!(
            DelayMechanism::from_linuxptp("P2P"),
            Some(DelayMechanism::P2P)
        );
        assert_eq!(
            DelayMechanism::from_linuxptp("NONE"),
            Some(DelayMechanism::NoMechanism)
        );
        assert_eq!(DelayMechanism::from_linuxptp("Auto"), None);
        assert_eq!(
            DatasetComparison::from_linuxptp("G.8275.x"),
            Some(DatasetComparison::G8275)
        );
        assert_eq!(FaultResetInterval::Asap.duration(), Duration::ZERO);
    }

    #[test]
    fn initial_data_sets() {
        let id = ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]);
        let d = DefaultDs::new(&ClockConfig::default(), id, 2);
        let p = ParentDs::own(&d);
        assert_eq!(p.parent_port_identity, PortIdentity::new(id, 0));
        assert_eq!(p.grandmaster_identity, id);
        assert_eq!(p.grandmaster_priority1, 128);
        let pd = PortDs::new(&PortConfig::default(), id, 2);
        assert_eq!(pd.port_identity.port_number, 2);
        assert_eq!(pd.port_state, PortState::Initializing);
        assert_eq!((pd.version_number, pd.minor_version_number), (2, 1));
    }
}
