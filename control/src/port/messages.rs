//! Building the messages a port sends (IEEE 1588-2019 13.3-13.11) as [`MessageRepr`]s, and
//! reading the BMCA-relevant content of a received Announce ([`announce_info`]).
//!
//! Header conventions (Table 42 logMessageInterval values): Announce carries
//! portDS.logAnnounceInterval, Sync and Follow_Up portDS.logSyncInterval, Delay_Resp
//! portDS.logMinDelayReqInterval, every other message 0x7F.

use xptp_datapath::wire::tlv::{OrganizationExtensionTlv, C37_238_OUI};
use xptp_datapath::wire::{
    AnnounceBody, Body, FlagField, HeaderRepr, MessageRepr, PortIdentity, TimeInterval, Timestamp,
    TlvRepr,
};

use crate::bmca::{AnnounceInfo, TimeFlags};
use crate::datasets::TimePropertiesDs;
use crate::profile::{C37238Version, C37238};

/// logMessageInterval for messages that have none (Table 42).
pub const NO_INTERVAL: i8 = 0x7F;

/// The header fields a port chooses for one message.
#[derive(Clone, Copy, Debug)]
pub struct Head {
    pub domain: u8,
    pub source: PortIdentity,
    pub sequence_id: u16,
    pub log_interval: i8,
    pub flags: FlagField,
    /// correctionField, scaled ns.
    pub correction: i64,
}

impl Head {
    pub fn repr(&self) -> HeaderRepr {
        HeaderRepr {
            domain_number: self.domain,
            flags: self.flags,
            correction: TimeInterval(self.correction),
            source_port_identity: self.source,
            sequence_id: self.sequence_id,
            log_message_interval: self.log_interval,
            ..HeaderRepr::default()
        }
    }
}

/// The timePropertiesDS flags in flagField octet 7 (13.3.2.8).
pub fn time_flags(tp: &TimePropertiesDs) -> FlagField {
    let f = TimeFlags {
        leap61: tp.leap61,
        leap59: tp.leap59,
        current_utc_offset_valid: tp.current_utc_offset_valid,
        ptp_timescale: tp.ptp_timescale,
        time_traceable: tp.time_traceable,
        frequency_traceable: tp.frequency_traceable,
    };
    FlagField(u16::from(f.to_octet()))
}

/// Local nanoseconds → a wire Timestamp (`None` outside the 48-bit seconds range).
pub fn ts(ns: i128) -> Option<Timestamp> {
    Timestamp::from_nanos(ns).ok()
}

/// A message with the given header and body.
pub fn message(head: &Head, body: Body) -> MessageRepr {
    MessageRepr::new(head.repr(), body)
}

/// The AnnounceInfo of a received Announce (13.5 fields, header identity, sequence, interval
/// and time flags).
pub fn announce_info(h: &HeaderRepr, a: &AnnounceBody) -> AnnounceInfo {
    AnnounceInfo {
        source_port_identity: h.source_port_identity,
        sequence_id: h.sequence_id,
        log_message_interval: h.log_message_interval,
        current_utc_offset: a.current_utc_offset,
        grandmaster_priority1: a.grandmaster_priority1,
        grandmaster_clock_quality: a.grandmaster_clock_quality,
        grandmaster_priority2: a.grandmaster_priority2,
        grandmaster_identity: a.grandmaster_identity,
        steps_removed: a.steps_removed,
        time_source: a.time_source,
        flags: TimeFlags::from_octet((h.flags.0 & 0xFF) as u8),
    }
}

/// The IEEE C37.238 values a grandmaster announces (linuxptp `power_profile.*` keys).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct C37238Local {
    /// `power_profile.grandmasterID` (the 16-bit power-profile grandmaster ID).
    pub grandmaster_id: u16,
    /// `power_profile.2011.grandmasterTimeInaccuracy` (ns).
    pub grandmaster_time_inaccuracy: u32,
    /// `power_profile.2011.networkTimeInaccuracy` (ns).
    pub network_time_inaccuracy: u32,
    /// `power_profile.2017.totalTimeInaccuracy` (ns).
    pub total_time_inaccuracy: u32,
}

/// The C37.238 ORGANIZATION_EXTENSION TLV of `profile`'s edition with `local`'s values
/// (2011: subtype 1, grandmasterID, grandmasterTimeInaccuracy, networkTimeInaccuracy;
/// 2017: subtype 2, grandmasterID, totalTimeInaccuracy; each with its reserved octets).
pub fn c37_238_tlv(profile: &C37238, local: &C37238Local) -> TlvRepr {
    let mut data = Vec::with_capacity(12);
    data.extend_from_slice(&local.grandmaster_id.to_be_bytes());
    let subtype = match profile.version {
        C37238Version::V2011 => {
            data.extend_from_slice(&local.grandmaster_time_inaccuracy.to_be_bytes());
            data.extend_from_slice(&local.network_time_inaccuracy.to_be_bytes());
            1
        }
        C37238Version::V2017 => {
            data.extend_from_slice(&[0; 4]);
            data.extend_from_slice(&local.total_time_inaccuracy.to_be_bytes());
            2
        }
    };
    data.extend_from_slice(&[0; 2]);
    TlvRepr::OrganizationExtension(OrganizationExtensionTlv {
        tlv_type: xptp_datapath::wire::tlv::tlv_type::ORGANIZATION_EXTENSION,
        organization_id: C37_238_OUI,
        organization_sub_type: [0, 0, subtype],
        data,
    })
}

/// The C37.238 TLV among `tlvs`, if any.
pub fn find_c37_238(tlvs: &[TlvRepr]) -> Option<&TlvRepr> {
    tlvs.iter().find(|t| match t {
        TlvRepr::OrganizationExtension(o) => o.c37_238().is_some(),
        _ => false,
    })
}

/// The PATH_TRACE list among `tlvs`, if any.
pub fn find_path_trace(tlvs: &[TlvRepr]) -> Option<&[xptp_datapath::wire::ClockIdentity]> {
    tlvs.iter().find_map(|t| match t {
        TlvRepr::PathTrace(p) => Some(p.as_slice()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xptp_datapath::wire::tlv::C37238Tlv;

    #[test]
    fn c37_tlv_round_trips_through_the_codec() {
        let local = C37238Local {
            grandmaster_id: 3,
            grandmaster_time_inaccuracy: 50,
            network_time_inaccuracy: 100,
            total_time_inaccuracy: 200,
        };
        for (v, want) in [
            (
                C37238Version::V2011,
                C37238Tlv::V2011 {
                    grandmaster_id: 3,
                    grandmaster_time_inaccuracy: 50,
                    network_time_inaccuracy: 100,
                },
            ),
            (
                C37238Version::V2017,
                C37238Tlv::V2017 {
                    grandmaster_id: 3,
                    total_time_inaccuracy: 200,
                },
            ),
        ] {
            let t = c37_238_tlv(
                &C37238 {
                    version: v,
                    require_tlv: true,
                },
                &local,
            );
            assert_eq!(t.buffer_len(), 22, "lengthField 18 as on the wire");
            let TlvRepr::OrganizationExtension(o) = &t else {
                panic!("not an organization extension")
            };
            assert_eq!(o.c37_238(), Some(want));
            assert!(find_c37_238(std::slice::from_ref(&t)).is_some());
        }
    }
}
