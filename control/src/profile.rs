//! PTP profiles as data (IEEE 1588-2019 clause 20 and Annex I, IEC/IEEE 61850-9-3,
//! IEEE C37.238, ITU-T G.8275.1): default values and permitted ranges of the attributes a
//! profile constrains. A profile seeds a [`ClockConfig`]/[`PortConfig`] pair
//! ([`Profile::apply`]); a configuration file may then override values, and
//! [`Profile::validate`] reports each one that leaves the profile's range.
//!
//! Values here carry facts from the standards (not their text). Where a profile leaves an
//! attribute free, its range is the full range of the type.

use crate::datasets::{ClockConfig, DatasetComparison, DelayMechanism, PortConfig};

/// The network transports of Annexes C, D, E and F (linuxptp `network_transport`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Transport {
    /// IEEE 802.3 / Ethernet (Annex E), linuxptp `L2`.
    L2,
    /// UDP over IPv4 (Annex C).
    UdpIpv4,
    /// UDP over IPv6 (Annex D).
    UdpIpv6,
}

impl Transport {
    /// Parses linuxptp's spelling (`L2`, `UDPv4`, `UDPv6`; case-insensitive like ptp4l).
    pub fn from_linuxptp(s: &str) -> Option<Self> {
        [Self::L2, Self::UdpIpv4, Self::UdpIpv6]
            .into_iter()
            .find(|t| t.as_linuxptp().eq_ignore_ascii_case(s))
    }

    /// linuxptp's spelling.
    pub const fn as_linuxptp(self) -> &'static str {
        match self {
            Self::L2 => "L2",
            Self::UdpIpv4 => "UDPv4",
            Self::UdpIpv6 => "UDPv6",
        }
    }
}

/// An inclusive range with a default, for one profile attribute.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Range<T> {
    pub default: T,
    pub min: T,
    pub max: T,
}

impl<T: Copy + PartialOrd> Range<T> {
    /// A range with a single permitted value.
    pub const fn fixed(v: T) -> Self {
        Range {
            default: v,
            min: v,
            max: v,
        }
    }

    /// `default` within `[min, max]`.
    pub const fn new(default: T, min: T, max: T) -> Self {
        Range { default, min, max }
    }

    pub fn contains(&self, v: T) -> bool {
        self.min <= v && v <= self.max
    }
}

/// The IEEE C37.238 (power profile) requirement on Announce: the IEEE_C37_238 organization
/// extension TLV (OUI 1C-12-9D) carrying grandmaster ID and time inaccuracy.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct C37238 {
    /// 2011 or 2017 (linuxptp `power_profile.version`).
    pub version: C37238Version,
    /// Drop Announces that lack the TLV (strict), or accept them and treat the
    /// inaccuracy as unknown (lenient; what a mixed network with plain 1588 masters needs).
    pub require_tlv: bool,
}

/// IEEE C37.238 edition.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum C37238Version {
    V2011,
    V2017,
}

/// A PTP profile: identity, transport, delay mechanism, BMCA and attribute ranges.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Profile {
    /// The name accepted by [`Profile::by_name`].
    pub name: &'static str,
    /// 20.3.3 profileIdentifier (6 octets), as announced in management CLOCK_DESCRIPTION.
    pub profile_identifier: [u8; 6],
    /// Permitted transports; the first is the default.
    pub transports: &'static [Transport],
    pub delay_mechanism: DelayMechanism,
    pub dataset_comparison: DatasetComparison,
    pub domain_number: Range<u8>,
    pub priority1: Range<u8>,
    pub priority2: Range<u8>,
    /// Default clockClass for a clock that can be grandmaster (248 unless the profile says).
    pub clock_class: u8,
    pub log_announce_interval: Range<i8>,
    pub log_sync_interval: Range<i8>,
    pub log_min_delay_req_interval: Range<i8>,
    pub log_min_pdelay_req_interval: Range<i8>,
    pub announce_receipt_timeout: Range<u8>,
    /// G.8275.1 localPriority (defaultDS and portDS); full range elsewhere.
    pub local_priority: Range<u8>,
    /// linuxptp `ptp_dst_mac` for L2 (01-1B-19-00-00-00 forwardable, or the non-forwardable
    /// 01-80-C2-00-00-0E).
    pub ptp_dst_mac: [u8; 6],
    /// 802.1Q tagging required (power profiles: priority 4).
    pub vlan_priority: Option<u8>,
    /// IEEE C37.238 TLV requirement.
    pub c37_238: Option<C37238>,
}

/// One profile violation.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown profile {0:?}; known: default-e2e, default-p2p, iec61850-9-3, c37.238-2011, c37.238-2017, g8275.1")]
    Unknown(String),
    #[error("{key} = {value} is outside profile {profile}'s range {min}..={max}")]
    OutOfRange {
        profile: &'static str,
        key: &'static str,
        value: i32,
        min: i32,
        max: i32,
    },
    #[error(
        "delay_mechanism {found:?} is not allowed by profile {profile} (requires {required:?})"
    )]
    DelayMechanism {
        profile: &'static str,
        found: DelayMechanism,
        required: DelayMechanism,
    },
    #[error(
        "dataset_comparison {found:?} is not allowed by profile {profile} (requires {required:?})"
    )]
    DatasetComparison {
        profile: &'static str,
        found: DatasetComparison,
        required: DatasetComparison,
    },
    #[error(
        "network_transport {found:?} is not allowed by profile {profile} (allowed: {allowed:?})"
    )]
    Transport {
        profile: &'static str,
        found: Transport,
        allowed: &'static [Transport],
    },
}

const FULL_U8: Range<u8> = Range::new(128, 0, 255);
const FWD_MAC: [u8; 6] = [0x01, 0x1B, 0x19, 0x00, 0x00, 0x00];
const NON_FWD_MAC: [u8; 6] = [0x01, 0x80, 0xC2, 0x00, 0x00, 0x0E];
const ANY_TRANSPORT: &[Transport] = &[Transport::UdpIpv4, Transport::UdpIpv6, Transport::L2];
const L2_ONLY: &[Transport] = &[Transport::L2];

/// IEEE 1588-2019 Annex I.3: Delay Request-Response Default PTP profile.
pub const DEFAULT_E2E: Profile = Profile {
    name: "default-e2e",
    profile_identifier: [0x00, 0x1B, 0x19, 0x00, 0x01, 0x00],
    transports: ANY_TRANSPORT,
    delay_mechanism: DelayMechanism::E2E,
    dataset_comparison: DatasetComparison::Ieee1588,
    domain_number: Range::new(0, 0, 127),
    priority1: FULL_U8,
    priority2: FULL_U8,
    clock_class: 248,
    log_announce_interval: Range::new(1, 0, 4),
    log_sync_interval: Range::new(0, -1, 1),
    log_min_delay_req_interval: Range::new(0, 0, 5),
    log_min_pdelay_req_interval: Range::new(0, 0, 5),
    announce_receipt_timeout: Range::new(3, 2, 255),
    local_priority: FULL_U8,
    ptp_dst_mac: FWD_MAC,
    vlan_priority: None,
    c37_238: None,
};

/// IEEE 1588-2019 Annex I.4: Peer-to-Peer Default PTP profile.
pub const DEFAULT_P2P: Profile = Profile {
    name: "default-p2p",
    profile_identifier: [0x00, 0x1B, 0x19, 0x00, 0x02, 0x00],
    delay_mechanism: DelayMechanism::P2P,
    ..DEFAULT_E2E
};

/// IEC/IEEE 61850-9-3:2016 power utility profile: Layer 2, peer delay, 1 s intervals,
/// domain 0, announceReceiptTimeout 3, VLAN priority 4.
pub const IEC_61850_9_3: Profile = Profile {
    name: "iec61850-9-3",
    profile_identifier: [0x00, 0x0C, 0xCD, 0x00, 0x01, 0x00],
    transports: L2_ONLY,
    delay_mechanism: DelayMechanism::P2P,
    dataset_comparison: DatasetComparison::Ieee1588,
    domain_number: Range::new(0, 0, 255),
    priority1: FULL_U8,
    priority2: FULL_U8,
    clock_class: 248,
    log_announce_interval: Range::fixed(0),
    log_sync_interval: Range::fixed(0),
    log_min_delay_req_interval: Range::fixed(0),
    log_min_pdelay_req_interval: Range::fixed(0),
    announce_receipt_timeout: Range::fixed(3),
    local_priority: FULL_U8,
    ptp_dst_mac: FWD_MAC,
    vlan_priority: Some(4),
    c37_238: None,
};

/// IEEE C37.238-2011 power profile: like 61850-9-3 on the wire, plus the IEEE_C37_238 TLV
/// (and ALTERNATE_TIME_OFFSET_INDICATOR) in every Announce.
pub const C37_238_2011: Profile = Profile {
    name: "c37.238-2011",
    profile_identifier: [0x1C, 0x12, 0x9D, 0x00, 0x00, 0x00],
    c37_238: Some(C37238 {
        version: C37238Version::V2011,
        require_tlv: true,
    }),
    ..IEC_61850_9_3
};

/// IEEE C37.238-2017: an extension of 61850-9-3 whose default domain is 254; its TLV carries
/// totalTimeInaccuracy.
pub const C37_238_2017: Profile = Profile {
    name: "c37.238-2017",
    profile_identifier: [0x1C, 0x12, 0x9D, 0x00, 0x02, 0x00],
    domain_number: Range::new(254, 0, 255),
    c37_238: Some(C37238 {
        version: C37238Version::V2017,
        require_tlv: true,
    }),
    ..IEC_61850_9_3
};

/// ITU-T G.8275.1 telecom profile (phase/time, full timing support): Layer 2 multicast,
/// E2E, alternate BMCA, domain 24 (24..=43), 8 Announce/s, 16 Sync and Delay_Req/s,
/// priority1 fixed at 128, localPriority 1..=255.
pub const G8275_1: Profile = Profile {
    name: "g8275.1",
    profile_identifier: [0x00, 0x19, 0xA7, 0x01, 0x02, 0x03],
    transports: L2_ONLY,
    delay_mechanism: DelayMechanism::E2E,
    dataset_comparison: DatasetComparison::G8275,
    domain_number: Range::new(24, 24, 43),
    priority1: Range::fixed(128),
    priority2: Range::new(128, 0, 255),
    clock_class: 248,
    log_announce_interval: Range::fixed(-3),
    log_sync_interval: Range::fixed(-4),
    log_min_delay_req_interval: Range::fixed(-4),
    log_min_pdelay_req_interval: Range::fixed(-4),
    announce_receipt_timeout: Range::fixed(3),
    local_priority: Range::new(128, 1, 255),
    // Both the forwardable and the non-forwardable address are permitted; linuxptp's
    // example configuration uses the non-forwardable one.
    ptp_dst_mac: NON_FWD_MAC,
    vlan_priority: None,
    c37_238: None,
};

/// Every built-in profile.
pub const ALL: &[Profile] = &[
    DEFAULT_E2E,
    DEFAULT_P2P,
    IEC_61850_9_3,
    C37_238_2011,
    C37_238_2017,
    G8275_1,
];

impl Profile {
    /// Looks a profile up by name (`default-e2e`, `default-p2p`, `iec61850-9-3`,
    /// `c37.238-2011`, `c37.238-2017`, `g8275.1`).
    pub fn by_name(name: &str) -> Result<&'static Profile, ProfileError> {
        ALL.iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| ProfileError::Unknown(name.to_owned()))
    }

    /// Writes the profile's defaults into a clock and a port configuration.
    pub fn apply(&self, clock: &mut ClockConfig, port: &mut PortConfig) {
        clock.domain_number = self.domain_number.default;
        clock.priority1 = self.priority1.default;
        clock.priority2 = self.priority2.default;
        clock.clock_quality.clock_class = self.clock_class;
        clock.dataset_comparison = self.dataset_comparison;
        clock.local_priority = self.local_priority.default;
        port.delay_mechanism = self.delay_mechanism;
        port.log_announce_interval = self.log_announce_interval.default;
        port.log_sync_interval = self.log_sync_interval.default;
        port.log_min_delay_req_interval = self.log_min_delay_req_interval.default;
        port.log_min_pdelay_req_interval = self.log_min_pdelay_req_interval.default;
        port.announce_receipt_timeout = self.announce_receipt_timeout.default;
        port.local_priority = self.local_priority.default;
        if let Some(t) = self.transports.first() {
            port.network_transport = *t;
        }
        port.ptp_dst_mac = self.ptp_dst_mac;
    }

    /// The profile's defaults as a fresh configuration pair.
    pub fn configs(&self) -> (ClockConfig, PortConfig) {
        let (mut c, mut p) = (ClockConfig::default(), PortConfig::default());
        self.apply(&mut c, &mut p);
        (c, p)
    }

    /// Every value of `clock`/`port` outside this profile (empty: conforming). The key names
    /// are linuxptp's, so the message points at the line to change.
    pub fn validate(&self, clock: &ClockConfig, port: &PortConfig) -> Vec<ProfileError> {
        let mut errs = Vec::new();
        let mut check = |key: &'static str, v: i32, r: (i32, i32)| {
            if v < r.0 || v > r.1 {
                errs.push(ProfileError::OutOfRange {
                    profile: self.name,
                    key,
                    value: v,
                    min: r.0,
                    max: r.1,
                });
            }
        };
        let u = |r: Range<u8>| (i32::from(r.min), i32::from(r.max));
        let s = |r: Range<i8>| (i32::from(r.min), i32::from(r.max));
        check(
            "domainNumber",
            clock.domain_number.into(),
            u(self.domain_number),
        );
        check("priority1", clock.priority1.into(), u(self.priority1));
        check("priority2", clock.priority2.into(), u(self.priority2));
        check(
            "G.8275.defaultDS.localPriority",
            clock.local_priority.into(),
            u(self.local_priority),
        );
        check(
            "logAnnounceInterval",
            port.log_announce_interval.into(),
            s(self.log_announce_interval),
        );
        check(
            "logSyncInterval",
            port.log_sync_interval.into(),
            s(self.log_sync_interval),
        );
        match self.delay_mechanism {
            DelayMechanism::E2E => check(
                "logMinDelayReqInterval",
                port.log_min_delay_req_interval.into(),
                s(self.log_min_delay_req_interval),
            ),
            DelayMechanism::P2P => check(
                "logMinPdelayReqInterval",
                port.log_min_pdelay_req_interval.into(),
                s(self.log_min_pdelay_req_interval),
            ),
            DelayMechanism::NoMechanism => {}
        }
        check(
            "announceReceiptTimeout",
            port.announce_receipt_timeout.into(),
            u(self.announce_receipt_timeout),
        );
        check(
            "G.8275.portDS.localPriority",
            port.local_priority.into(),
            u(self.local_priority),
        );
        if port.delay_mechanism != self.delay_mechanism {
            errs.push(ProfileError::DelayMechanism {
                profile: self.name,
                found: port.delay_mechanism,
                required: self.delay_mechanism,
            });
        }
        if !self.transports.contains(&port.network_transport) {
            errs.push(ProfileError::Transport {
                profile: self.name,
                found: port.network_transport,
                allowed: self.transports,
            });
        }
        if clock.dataset_comparison != self.dataset_comparison {
            errs.push(ProfileError::DatasetComparison {
                profile: self.name,
                found: clock.dataset_comparison,
                required: self.dataset_comparison,
            });
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_by_name() {
        for n in [
            "default-e2e",
            "default-p2p",
            "iec61850-9-3",
            "c37.238-2011",
            "c37.238-2017",
            "g8275.1",
            "G8275.1",
        ] {
            assert!(Profile::by_name(n).is_ok(), "{n}");
        }
        let e = Profile::by_name("g8275.2").unwrap_err();
        assert!(e.to_string().contains("known: default-e2e"));
    }

    #[test]
    fn profile_values() {
        let e2e = Profile::by_name("default-e2e").unwrap();
        assert_eq!(e2e.delay_mechanism, DelayMechanism::E2E);
        assert_eq!(e2e.log_announce_interval, Range::new(1, 0, 4));
        assert_eq!(e2e.log_sync_interval, Range::new(0, -1, 1));
        assert_eq!(e2e.announce_receipt_timeout, Range::new(3, 2, 255));
        assert_eq!(e2e.domain_number, Range::new(0, 0, 127));
        let p2p = Profile::by_name("default-p2p").unwrap();
        assert_eq!(p2p.delay_mechanism, DelayMechanism::P2P);
        assert_eq!(p2p.profile_identifier, [0x00, 0x1B, 0x19, 0x00, 0x02, 0x00]);

        let pu = Profile::by_name("iec61850-9-3").unwrap();
        assert_eq!(pu.transports, &[Transport::L2]);
        assert_eq!(pu.delay_mechanism, DelayMechanism::P2P);
        assert_eq!(pu.log_sync_interval, Range::fixed(0));
        assert_eq!(pu.log_announce_interval, Range::fixed(0));
        assert_eq!(pu.announce_receipt_timeout.default, 3);
        assert_eq!(pu.domain_number.default, 0);
        assert_eq!(pu.vlan_priority, Some(4));
        assert_eq!(pu.c37_238, None);

        let c11 = Profile::by_name("c37.238-2011").unwrap();
        assert_eq!(
            c11.c37_238,
            Some(C37238 {
                version: C37238Version::V2011,
                require_tlv: true
            })
        );
        assert_eq!(c11.delay_mechanism, DelayMechanism::P2P);
        let c17 = Profile::by_name("c37.238-2017").unwrap();
        assert_eq!(c17.c37_238.map(|c| c.version), Some(C37238Version::V2017));
        assert_eq!(c17.domain_number.default, 254);

        let g = Profile::by_name("g8275.1").unwrap();
        assert_eq!(g.dataset_comparison, DatasetComparison::G8275);
        assert_eq!(g.domain_number, Range::new(24, 24, 43));
        assert_eq!(g.priority1, Range::fixed(128));
        assert_eq!(g.log_sync_interval.default, -4);
        assert_eq!(g.log_announce_interval.default, -3);
        assert_eq!(g.log_min_delay_req_interval.default, -4);
        assert_eq!(g.local_priority, Range::new(128, 1, 255));
        assert_eq!(g.ptp_dst_mac, [0x01, 0x80, 0xC2, 0x00, 0x00, 0x0E]);
        assert_eq!(g.transports, &[Transport::L2]);
    }

    #[test]
    fn defaults_validate_and_overrides_are_checked() {
        for p in ALL {
            let (c, port) = p.configs();
            assert_eq!(p.validate(&c, &port), vec![], "{}", p.name);
        }
        let g = &G8275_1;
        let (mut c, mut port) = g.configs();
        assert_eq!(c.domain_number, 24);
        assert_eq!(port.log_sync_interval, -4);
        c.priority1 = 100;
        c.domain_number = 44;
        port.log_announce_interval = 1;
        port.delay_mechanism = DelayMechanism::P2P;
        let errs = g.validate(&c, &port);
        let keys: Vec<&str> = errs
            .iter()
            .filter_map(|e| match e {
                ProfileError::OutOfRange { key, .. } => Some(*key),
                _ => None,
            })
            .collect();
        assert_eq!(
            keys,
            vec!["domainNumber", "priority1", "logAnnounceInterval"]
        );
        assert!(errs
            .iter()
            .any(|e| matches!(e, ProfileError::DelayMechanism { .. })));
        assert!(errs[0].to_string().contains("domainNumber = 44"));
        // A power-profile override within range is accepted.
        let (mut c, port) = C37_238_2017.configs();
        c.domain_number = 0;
        assert!(C37_238_2017.validate(&c, &port).is_empty());
    }
}
