//! [`Message`]: a zero-copy view over one PTP message, for the fast path.
//!
//! Contract: once [`Message::new_checked`] has returned `Ok`, no accessor or setter panics,
//! whatever the octets: the header is complete, versionPTP is 2, messageType is known,
//! messageLength covers the fixed body and lies within the buffer, and the body's timestamp has
//! nanoseconds below 10^9. TLVs are not checked up front; [`Message::tlvs`] reports overruns
//! as it walks them.

use super::body::{field as bf, port_identity_at, timestamp_at};
use super::bytes::{arr, i64_at, put, put_u16, u16_at, u32_at, u8_at};
use super::error::WireError;
use super::header::{field, FlagField, MessageType, HEADER_LEN, VERSION_PTP};
use super::message::checked_message;
use super::time::TimeInterval;
use super::tlv::TlvIter;
use super::types::{ClockIdentity, ClockQuality, PortIdentity, Timestamp};

/// A view of a PTP message in a byte buffer (which may extend past messageLength).
#[derive(Clone, Copy, Debug)]
pub struct Message<T: AsRef<[u8]>> {
    buffer: T,
    mtype: MessageType,
}

impl<T: AsRef<[u8]>> Message<T> {
    /// Checks the buffer (see the module contract) and wraps it.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let b = buffer.as_ref();
        super::error::need(b, HEADER_LEN, "PTP header")?;
        let version = u8_at(b, field::VERSION) & 0x0f;
        if version != VERSION_PTP {
            return Err(WireError::UnsupportedVersion(version));
        }
        let mtype = MessageType::from_nibble(u8_at(b, field::SDO_TYPE))?;
        checked_message(b, mtype, u16_at(b, field::LENGTH.start))?;
        if !matches!(mtype, MessageType::Signaling | MessageType::Management) {
            timestamp_at(b, bf::TS, "timestamp")?;
        }
        Ok(Message { buffer, mtype })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn message_type(&self) -> MessageType {
        self.mtype
    }
    /// majorSdoId (transportSpecific), high nibble of octet 0.
    pub fn major_sdo_id(&self) -> u8 {
        u8_at(self.b(), field::SDO_TYPE) >> 4
    }
    pub fn minor_version(&self) -> u8 {
        u8_at(self.b(), field::VERSION) >> 4
    }
    pub fn message_length(&self) -> u16 {
        u16_at(self.b(), field::LENGTH.start)
    }
    pub fn domain_number(&self) -> u8 {
        u8_at(self.b(), field::DOMAIN)
    }
    pub fn minor_sdo_id(&self) -> u8 {
        u8_at(self.b(), field::MINOR_SDO_ID)
    }
    pub fn flags(&self) -> FlagField {
        FlagField(u16_at(self.b(), field::FLAGS.start))
    }
    pub fn correction_field(&self) -> TimeInterval {
        TimeInterval(i64_at(self.b(), field::CORRECTION.start))
    }
    pub fn message_type_specific(&self) -> u32 {
        u32_at(self.b(), field::TYPE_SPECIFIC.start)
    }
    pub fn source_port_identity(&self) -> PortIdentity {
        port_identity_at(self.b(), field::SOURCE_PORT.start)
    }
    pub fn sequence_id(&self) -> u16 {
        u16_at(self.b(), field::SEQUENCE_ID.start)
    }
    pub fn control_field(&self) -> u8 {
        u8_at(self.b(), field::CONTROL)
    }
    pub fn log_message_interval(&self) -> i8 {
        u8_at(self.b(), field::LOG_INTERVAL) as i8
    }

    /// The body's timestamp (originTimestamp, preciseOriginTimestamp, receiveTimestamp,
    /// requestReceiptTimestamp or responseOriginTimestamp); `None` for Signaling and Management.
    pub fn timestamp(&self) -> Option<Timestamp> {
        match self.mtype {
            MessageType::Signaling | MessageType::Management => None,
            _ => timestamp_at(self.b(), bf::TS, "timestamp").ok(),
        }
    }

    /// requestingPortIdentity of Delay_Resp, Pdelay_Resp and Pdelay_Resp_Follow_Up.
    pub fn requesting_port_identity(&self) -> Option<PortIdentity> {
        match self.mtype {
            MessageType::DelayResp | MessageType::PdelayResp | MessageType::PdelayRespFollowUp => {
                Some(port_identity_at(self.b(), bf::REQ_PORT))
            }
            _ => None,
        }
    }

    /// targetPortIdentity of Signaling and Management.
    pub fn target_port_identity(&self) -> Option<PortIdentity> {
        match self.mtype {
            MessageType::Signaling | MessageType::Management => {
                Some(port_identity_at(self.b(), bf::TARGET_PORT))
            }
            _ => None,
        }
    }

    /// The Announce fields that the BMCA compares (IEEE 1588-2019 9.3.4); `None` for other types.
    pub fn announce(&self) -> Option<AnnounceView> {
        if self.mtype != MessageType::Announce {
            return None;
        }
        let b = self.b();
        Some(AnnounceView {
            current_utc_offset: u16_at(b, bf::ANN_UTC_OFFSET) as i16,
            grandmaster_priority1: u8_at(b, bf::ANN_PRIORITY1),
            grandmaster_clock_quality: ClockQuality::from_slice(&arr::<4>(b, bf::ANN_QUALITY))
                .unwrap_or(ClockQuality {
                    clock_class: 0,
                    clock_accuracy: 0,
                    offset_scaled_log_variance: 0,
                }),
            grandmaster_priority2: u8_at(b, bf::ANN_PRIORITY2),
            grandmaster_identity: ClockIdentity(arr(b, bf::ANN_GM_ID)),
            steps_removed: u16_at(b, bf::ANN_STEPS),
            time_source: u8_at(b, bf::ANN_TIME_SOURCE),
        })
    }

    /// The TLV suffix: octets between the fixed body and messageLength.
    pub fn suffix(&self) -> &[u8] {
        let end = usize::from(self.message_length());
        self.b().get(self.mtype.fixed_len()..end).unwrap_or(&[])
    }

    /// Walks the TLVs of the suffix.
    pub fn tlvs(&self) -> TlvIter<'_> {
        TlvIter::new(self.suffix())
    }

    /// The message octets, `buffer[..messageLength]`.
    pub fn message_bytes(&self) -> &[u8] {
        let end = usize::from(self.message_length());
        self.b().get(..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Message<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
    pub fn set_correction_field(&mut self, v: TimeInterval) {
        put(self.bm(), field::CORRECTION.start, &v.0.to_be_bytes());
    }
    /// Adds `delta` to correctionField (no transport checksum fix-up: use
    /// [`super::frame::add_correction`] on a whole frame).
    pub fn add_correction(&mut self, delta: TimeInterval) -> Result<(), WireError> {
        let v = self
            .correction_field()
            .checked_add(delta)
            .ok_or(WireError::CorrectionOverflow)?;
        self.set_correction_field(v);
        Ok(())
    }
    pub fn set_sequence_id(&mut self, v: u16) {
        put_u16(self.bm(), field::SEQUENCE_ID.start, v);
    }
    pub fn set_domain_number(&mut self, v: u8) {
        super::bytes::put_u8(self.bm(), field::DOMAIN, v);
    }
    pub fn set_flags(&mut self, v: FlagField) {
        put_u16(self.bm(), field::FLAGS.start, v.0);
    }
    pub fn set_source_port_identity(&mut self, v: PortIdentity) {
        put(self.bm(), field::SOURCE_PORT.start, &v.to_bytes());
    }
    pub fn set_log_message_interval(&mut self, v: i8) {
        super::bytes::put_u8(self.bm(), field::LOG_INTERVAL, v as u8);
    }
    /// Sets the body's timestamp; no effect on Signaling and Management.
    pub fn set_timestamp(&mut self, t: Timestamp) {
        if !matches!(self.mtype, MessageType::Signaling | MessageType::Management) {
            put(self.bm(), bf::TS, &t.to_bytes());
        }
    }
    /// Sets requestingPortIdentity; no effect on types without one.
    pub fn set_requesting_port_identity(&mut self, p: PortIdentity) {
        if self.requesting_port_identity().is_some() {
            put(self.bm(), bf::REQ_PORT, &p.to_bytes());
        }
    }
}

/// The Announce body fields, read through a [`Message`] view.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AnnounceView {
    pub current_utc_offset: i16,
    pub grandmaster_priority1: u8,
    pub grandmaster_clock_quality: ClockQuality,
    pub grandmaster_priority2: u8,
    pub grandmaster_identity: ClockIdentity,
    pub steps_removed: u16,
    pub time_source: u8,
}
