//! The common PTP message header (IEEE 1588-2019 13.3, Table 35): message types, the flag
//! field, controlField, and [`HeaderRepr`], the owned form of the header fields.
//!
//! The zero-copy view over a whole message (header + body + TLVs) is
//! [`super::packet::Message`]; this module only knows the 34 header octets.

use core::fmt;

use super::bytes::{arr, i64_at, u16_at, u32_at, u8_at};
use super::error::{need, WireError};
use super::time::TimeInterval;
use super::types::PortIdentity;

/// Byte ranges of the header fields (IEEE 1588-2019 Table 35).
pub(crate) mod field {
    use core::ops::Range;
    pub const SDO_TYPE: usize = 0;
    pub const VERSION: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const DOMAIN: usize = 4;
    pub const MINOR_SDO_ID: usize = 5;
    pub const FLAGS: Range<usize> = 6..8;
    pub const CORRECTION: Range<usize> = 8..16;
    pub const TYPE_SPECIFIC: Range<usize> = 16..20;
    pub const SOURCE_PORT: Range<usize> = 20..30;
    pub const SEQUENCE_ID: Range<usize> = 30..32;
    pub const CONTROL: usize = 32;
    pub const LOG_INTERVAL: usize = 33;
}

/// Length of the common header in octets.
pub const HEADER_LEN: usize = 34;

/// The only versionPTP this codec speaks.
pub const VERSION_PTP: u8 = 2;

/// IEEE 1588-2019 13.3.2.2, Table 36: messageType.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[repr(u8)]
pub enum MessageType {
    Sync = 0x0,
    DelayReq = 0x1,
    PdelayReq = 0x2,
    PdelayResp = 0x3,
    FollowUp = 0x8,
    DelayResp = 0x9,
    PdelayRespFollowUp = 0xA,
    Announce = 0xB,
    Signaling = 0xC,
    Management = 0xD,
}

impl MessageType {
    /// Every message type, in messageType order.
    pub const ALL: [MessageType; 10] = [
        MessageType::Sync,
        MessageType::DelayReq,
        MessageType::PdelayReq,
        MessageType::PdelayResp,
        MessageType::FollowUp,
        MessageType::DelayResp,
        MessageType::PdelayRespFollowUp,
        MessageType::Announce,
        MessageType::Signaling,
        MessageType::Management,
    ];

    /// Decodes the low nibble of octet 0.
    pub fn from_nibble(n: u8) -> Result<Self, WireError> {
        Ok(match n & 0x0f {
            0x0 => MessageType::Sync,
            0x1 => MessageType::DelayReq,
            0x2 => MessageType::PdelayReq,
            0x3 => MessageType::PdelayResp,
            0x8 => MessageType::FollowUp,
            0x9 => MessageType::DelayResp,
            0xA => MessageType::PdelayRespFollowUp,
            0xB => MessageType::Announce,
            0xC => MessageType::Signaling,
            0xD => MessageType::Management,
            other => return Err(WireError::UnknownMessageType(other)),
        })
    }

    /// Event messages are timestamped and go to UDP port 319 (IEEE 1588-2019 8.4.2.3).
    pub const fn is_event(self) -> bool {
        (self as u8) < 8
    }

    /// Length of header plus the fixed body, i.e. where the TLV suffix starts
    /// (IEEE 1588-2019 13.5–13.12).
    pub const fn fixed_len(self) -> usize {
        match self {
            MessageType::Sync | MessageType::DelayReq | MessageType::FollowUp => 44,
            MessageType::PdelayReq
            | MessageType::PdelayResp
            | MessageType::DelayResp
            | MessageType::PdelayRespFollowUp => 54,
            MessageType::Announce => 64,
            MessageType::Signaling => 44,
            MessageType::Management => 48,
        }
    }

    /// IEEE 1588-2019 13.3.2.13, Table 42: the legacy controlField value to emit.
    pub const fn control_field(self) -> u8 {
        match self {
            MessageType::Sync => 0,
            MessageType::DelayReq => 1,
            MessageType::FollowUp => 2,
            MessageType::DelayResp => 3,
            MessageType::Management => 4,
            _ => 5,
        }
    }

    /// The standard's name, e.g. `Delay_Req`.
    pub const fn name(self) -> &'static str {
        match self {
            MessageType::Sync => "Sync",
            MessageType::DelayReq => "Delay_Req",
            MessageType::PdelayReq => "Pdelay_Req",
            MessageType::PdelayResp => "Pdelay_Resp",
            MessageType::FollowUp => "Follow_Up",
            MessageType::DelayResp => "Delay_Resp",
            MessageType::PdelayRespFollowUp => "Pdelay_Resp_Follow_Up",
            MessageType::Announce => "Announce",
            MessageType::Signaling => "Signaling",
            MessageType::Management => "Management",
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// IEEE 1588-2019 13.3.2.8, Table 37: flagField, as the big-endian 16-bit value of octets 6–7.
///
/// Octet 6 is the high byte, octet 7 the low byte. Bits without a name are kept as they are.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlagField(pub u16);

impl FlagField {
    /// Octet 6 bit 0: alternateMasterFlag.
    pub const ALTERNATE_MASTER: u16 = 0x0100;
    /// Octet 6 bit 1: twoStepFlag.
    pub const TWO_STEP: u16 = 0x0200;
    /// Octet 6 bit 2: unicastFlag.
    pub const UNICAST: u16 = 0x0400;
    /// Octet 6 bit 5: PTP profile Specific 1.
    pub const PROFILE_SPECIFIC_1: u16 = 0x2000;
    /// Octet 6 bit 6: PTP profile Specific 2.
    pub const PROFILE_SPECIFIC_2: u16 = 0x4000;
    /// Octet 7 bit 0: leap61.
    pub const LEAP61: u16 = 0x0001;
    /// Octet 7 bit 1: leap59.
    pub const LEAP59: u16 = 0x0002;
    /// Octet 7 bit 2: currentUtcOffsetValid.
    pub const CURRENT_UTC_OFFSET_VALID: u16 = 0x0004;
    /// Octet 7 bit 3: ptpTimescale.
    pub const PTP_TIMESCALE: u16 = 0x0008;
    /// Octet 7 bit 4: timeTraceable.
    pub const TIME_TRACEABLE: u16 = 0x0010;
    /// Octet 7 bit 5: frequencyTraceable.
    pub const FREQUENCY_TRACEABLE: u16 = 0x0020;
    /// Octet 7 bit 6: synchronizationUncertain (new in 1588-2019).
    pub const SYNCHRONIZATION_UNCERTAIN: u16 = 0x0040;

    const NAMES: [(u16, &'static str); 12] = [
        (Self::ALTERNATE_MASTER, "alternateMaster"),
        (Self::TWO_STEP, "twoStep"),
        (Self::UNICAST, "unicast"),
        (Self::PROFILE_SPECIFIC_1, "profileSpecific1"),
        (Self::PROFILE_SPECIFIC_2, "profileSpecific2"),
        (Self::LEAP61, "leap61"),
        (Self::LEAP59, "leap59"),
        (Self::CURRENT_UTC_OFFSET_VALID, "currentUtcOffsetValid"),
        (Self::PTP_TIMESCALE, "ptpTimescale"),
        (Self::TIME_TRACEABLE, "timeTraceable"),
        (Self::FREQUENCY_TRACEABLE, "frequencyTraceable"),
        (Self::SYNCHRONIZATION_UNCERTAIN, "synchronizationUncertain"),
    ];

    /// Whether all bits of `mask` are set.
    pub const fn contains(self, mask: u16) -> bool {
        self.0 & mask == mask
    }
    /// Returns a copy with `mask` set or cleared.
    #[must_use]
    pub const fn with(self, mask: u16, on: bool) -> Self {
        if on {
            FlagField(self.0 | mask)
        } else {
            FlagField(self.0 & !mask)
        }
    }
    pub const fn alternate_master(self) -> bool {
        self.contains(Self::ALTERNATE_MASTER)
    }
    pub const fn two_step(self) -> bool {
        self.contains(Self::TWO_STEP)
    }
    pub const fn unicast(self) -> bool {
        self.contains(Self::UNICAST)
    }
    pub const fn profile_specific_1(self) -> bool {
        self.contains(Self::PROFILE_SPECIFIC_1)
    }
    pub const fn profile_specific_2(self) -> bool {
        self.contains(Self::PROFILE_SPECIFIC_2)
    }
    pub const fn leap61(self) -> bool {
        self.contains(Self::LEAP61)
    }
    pub const fn leap59(self) -> bool {
        self.contains(Self::LEAP59)
    }
    pub const fn current_utc_offset_valid(self) -> bool {
        self.contains(Self::CURRENT_UTC_OFFSET_VALID)
    }
    pub const fn ptp_timescale(self) -> bool {
        self.contains(Self::PTP_TIMESCALE)
    }
    pub const fn time_traceable(self) -> bool {
        self.contains(Self::TIME_TRACEABLE)
    }
    pub const fn frequency_traceable(self) -> bool {
        self.contains(Self::FREQUENCY_TRACEABLE)
    }
    pub const fn synchronization_uncertain(self) -> bool {
        self.contains(Self::SYNCHRONIZATION_UNCERTAIN)
    }

    /// Names of the set bits, in Table 37 order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(m, _)| self.contains(*m))
            .map(|(_, n)| n)
    }
}

/// `FlagField(0x0208: twoStep|ptpTimescale)`.
impl fmt::Debug for FlagField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FlagField({:#06x}", self.0)?;
        let mut sep = ": ";
        for n in self.names() {
            write!(f, "{sep}{n}")?;
            sep = "|";
        }
        f.write_str(")")
    }
}

/// The header fields a sender chooses (IEEE 1588-2019 13.3.1). messageType and messageLength
/// are not here: they follow from the body and TLVs when a [`super::MessageRepr`] is emitted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HeaderRepr {
    /// majorSdoId (formerly transportSpecific), 4 bits: 0 default, 1 for 802.1AS.
    pub major_sdo_id: u8,
    /// minorVersionPTP, 4 bits: 1 for IEEE 1588-2019, 0 for 2008 senders.
    pub minor_version: u8,
    pub domain_number: u8,
    /// minorSdoId (reserved in 2008).
    pub minor_sdo_id: u8,
    pub flags: FlagField,
    pub correction: TimeInterval,
    /// messageTypeSpecific (reserved in 2008).
    pub message_type_specific: u32,
    pub source_port_identity: PortIdentity,
    pub sequence_id: u16,
    /// `None` emits the Table 42 legacy value for the message type; parsing yields `None`
    /// whenever the received value is that legacy value, so round trips are exact.
    pub control_field: Option<u8>,
    pub log_message_interval: i8,
}

impl Default for HeaderRepr {
    fn default() -> Self {
        HeaderRepr {
            major_sdo_id: 0,
            minor_version: 1,
            domain_number: 0,
            minor_sdo_id: 0,
            flags: FlagField::default(),
            correction: TimeInterval::ZERO,
            message_type_specific: 0,
            source_port_identity: PortIdentity::default(),
            sequence_id: 0,
            control_field: None,
            log_message_interval: 0x7f,
        }
    }
}

impl HeaderRepr {
    /// Parses the header fields from the first 34 octets of `buf` and returns them with the
    /// message type and messageLength. Does not look at the body.
    pub fn parse(buf: &[u8]) -> Result<(Self, MessageType, u16), WireError> {
        need(buf, HEADER_LEN, "PTP header")?;
        let version = u8_at(buf, field::VERSION);
        if version & 0x0f != VERSION_PTP {
            return Err(WireError::UnsupportedVersion(version & 0x0f));
        }
        let b0 = u8_at(buf, field::SDO_TYPE);
        let mtype = MessageType::from_nibble(b0)?;
        let control = u8_at(buf, field::CONTROL);
        let repr = HeaderRepr {
            major_sdo_id: b0 >> 4,
            minor_version: version >> 4,
            domain_number: u8_at(buf, field::DOMAIN),
            minor_sdo_id: u8_at(buf, field::MINOR_SDO_ID),
            flags: FlagField(u16_at(buf, field::FLAGS.start)),
            correction: TimeInterval(i64_at(buf, field::CORRECTION.start)),
            message_type_specific: u32_at(buf, field::TYPE_SPECIFIC.start),
            source_port_identity: PortIdentity::from_slice(&arr::<10>(
                buf,
                field::SOURCE_PORT.start,
            ))
            .unwrap_or_default(),
            sequence_id: u16_at(buf, field::SEQUENCE_ID.start),
            control_field: (control != mtype.control_field()).then_some(control),
            log_message_interval: u8_at(buf, field::LOG_INTERVAL) as i8,
        };
        Ok((repr, mtype, u16_at(buf, field::LENGTH.start)))
    }

    /// Writes the 34 header octets into `buf[..34]`, which the caller has sized.
    pub(crate) fn emit(&self, mtype: MessageType, message_length: u16, buf: &mut [u8]) {
        use super::bytes::{put, put_u16, put_u32, put_u8};
        put_u8(buf, field::SDO_TYPE, (self.major_sdo_id << 4) | mtype as u8);
        put_u8(buf, field::VERSION, (self.minor_version << 4) | VERSION_PTP);
        put_u16(buf, field::LENGTH.start, message_length);
        put_u8(buf, field::DOMAIN, self.domain_number);
        put_u8(buf, field::MINOR_SDO_ID, self.minor_sdo_id);
        put_u16(buf, field::FLAGS.start, self.flags.0);
        put(
            buf,
            field::CORRECTION.start,
            &self.correction.0.to_be_bytes(),
        );
        put_u32(buf, field::TYPE_SPECIFIC.start, self.message_type_specific);
        put(
            buf,
            field::SOURCE_PORT.start,
            &self.source_port_identity.to_bytes(),
        );
        put_u16(buf, field::SEQUENCE_ID.start, self.sequence_id);
        put_u8(
            buf,
            field::CONTROL,
            self.control_field.unwrap_or(mtype.control_field()),
        );
        put_u8(buf, field::LOG_INTERVAL, self.log_message_interval as u8);
    }

    /// Checks the 4-bit fields before emitting.
    pub(crate) fn check(&self) -> Result<(), WireError> {
        if self.major_sdo_id > 0x0f {
            return Err(WireError::FieldOverflow { what: "majorSdoId" });
        }
        if self.minor_version > 0x0f {
            return Err(WireError::FieldOverflow {
                what: "minorVersionPTP",
            });
        }
        Ok(())
    }
}
