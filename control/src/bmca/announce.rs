//! [`AnnounceInfo`]: the part of a received Announce message the BMCA reads (IEEE 1588-2019
//! 13.5 fields plus the header's sourcePortIdentity, sequenceId, logMessageInterval and the
//! timeProperties flags). The port builds it from a parsed Announce; nothing here touches bytes.

use xptp_datapath::wire::{ClockIdentity, ClockQuality, PortIdentity};

/// The timePropertiesDS flags carried in the second octet of an Announce's flagField
/// (IEEE 1588-2019 13.3.2.8, Table 37).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TimeFlags {
    pub leap61: bool,
    pub leap59: bool,
    pub current_utc_offset_valid: bool,
    pub ptp_timescale: bool,
    pub time_traceable: bool,
    pub frequency_traceable: bool,
}

impl TimeFlags {
    /// Decodes flagField octet 1 (bits 0..=5: leap61, leap59, currentUtcOffsetValid,
    /// ptpTimescale, timeTraceable, frequencyTraceable).
    pub const fn from_octet(b: u8) -> Self {
        TimeFlags {
            leap61: b & 0x01 != 0,
            leap59: b & 0x02 != 0,
            current_utc_offset_valid: b & 0x04 != 0,
            ptp_timescale: b & 0x08 != 0,
            time_traceable: b & 0x10 != 0,
            frequency_traceable: b & 0x20 != 0,
        }
    }

    /// Encodes into flagField octet 1.
    pub const fn to_octet(self) -> u8 {
        (self.leap61 as u8)
            | (self.leap59 as u8) << 1
            | (self.current_utc_offset_valid as u8) << 2
            | (self.ptp_timescale as u8) << 3
            | (self.time_traceable as u8) << 4
            | (self.frequency_traceable as u8) << 5
    }
}

/// The BMCA-relevant content of one received Announce message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AnnounceInfo {
    /// Header sourcePortIdentity: the sender of the message ("identity of sender", 9.3.4).
    pub source_port_identity: PortIdentity,
    /// Header sequenceId (9.3.2.5 b: only the most recent message per foreign master counts).
    pub sequence_id: u16,
    /// Header logMessageInterval: the sender's logAnnounceInterval.
    pub log_message_interval: i8,
    /// 13.5.2.2
    pub current_utc_offset: i16,
    /// 13.5.2.3
    pub grandmaster_priority1: u8,
    /// 13.5.2.4
    pub grandmaster_clock_quality: ClockQuality,
    /// 13.5.2.5
    pub grandmaster_priority2: u8,
    /// 13.5.2.6
    pub grandmaster_identity: ClockIdentity,
    /// 13.5.2.7
    pub steps_removed: u16,
    /// 13.5.2.8 (Table 6)
    pub time_source: u8,
    /// Header flagField octet 1.
    pub flags: TimeFlags,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_every_bit() {
        for bit in 0..6 {
            let b = 1u8 << bit;
            assert_eq!(TimeFlags::from_octet(b).to_octet(), b);
        }
        let f = TimeFlags::from_octet(0x3C);
        assert!(f.current_utc_offset_valid && f.ptp_timescale && f.time_traceable);
        assert!(f.frequency_traceable && !f.leap59 && !f.leap61);
        // Reserved bits 6 and 7 are ignored.
        assert_eq!(TimeFlags::from_octet(0xC0), TimeFlags::default());
    }
}
