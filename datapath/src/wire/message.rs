//! [`MessageRepr`]: a whole PTP message (header, body, TLV suffix) as an owned value, for the
//! control plane. Parsing reads up to messageLength and ignores trailing octets (padding);
//! emitting computes messageType, messageLength and, unless overridden, controlField.

use super::body::Body;
use super::error::{need, WireError};
use super::header::{HeaderRepr, MessageType, HEADER_LEN};
use super::tlv::{TlvIter, TlvRepr};

/// A PTP message: common header fields, the typed body, and the TLVs that follow it
/// (IEEE 1588-2019 13.3–13.12, clause 14).
///
/// For Management messages the MANAGEMENT (or MANAGEMENT_ERROR_STATUS) TLV is `tlvs[0]`
/// (see [`MessageRepr::management_tlv`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MessageRepr {
    pub header: HeaderRepr,
    pub body: Body,
    pub tlvs: Vec<TlvRepr>,
}

impl MessageRepr {
    /// A message with no TLVs.
    pub fn new(header: HeaderRepr, body: Body) -> Self {
        MessageRepr {
            header,
            body,
            tlvs: Vec::new(),
        }
    }

    /// The message type (from the body).
    pub fn message_type(&self) -> MessageType {
        self.body.message_type()
    }

    /// Parses one message from `buf`. `buf` may extend past messageLength (Ethernet padding);
    /// those octets are ignored.
    pub fn parse(buf: &[u8]) -> Result<Self, WireError> {
        let (header, mtype, length) = HeaderRepr::parse(buf)?;
        let msg = checked_message(buf, mtype, length)?;
        let body = Body::parse(mtype, msg)?;
        let suffix = msg.get(mtype.fixed_len()..).unwrap_or(&[]);
        let tlvs = TlvIter::new(suffix)
            .map(|t| t.and_then(|t| t.to_repr()))
            .collect::<Result<Vec<_>, _>>()?;
        if mtype == MessageType::Management
            && !matches!(
                tlvs.first(),
                Some(TlvRepr::Management(_) | TlvRepr::ManagementErrorStatus(_))
            )
        {
            return Err(WireError::MissingManagementTlv);
        }
        Ok(MessageRepr { header, body, tlvs })
    }

    /// The octets this message occupies (its messageLength).
    pub fn buffer_len(&self) -> usize {
        self.message_type().fixed_len() + self.tlvs.iter().map(TlvRepr::buffer_len).sum::<usize>()
    }

    /// Writes the message into the start of `buf` and returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let v = self.to_vec()?;
        let have = buf.len();
        let out = buf.get_mut(..v.len()).ok_or(WireError::BufferTooSmall {
            need: v.len(),
            have,
        })?;
        out.copy_from_slice(&v);
        Ok(v.len())
    }

    /// The message as a new vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, WireError> {
        self.header.check()?;
        let mtype = self.message_type();
        let mut out = vec![0u8; mtype.fixed_len()];
        self.body.emit(&mut out);
        for t in &self.tlvs {
            t.emit(&mut out)?;
        }
        let len = u16::try_from(out.len()).map_err(|_| WireError::FieldOverflow {
            what: "messageLength",
        })?;
        self.header.emit(mtype, len, &mut out);
        Ok(out)
    }

    /// The management TLV of a Management message.
    pub fn management_tlv(&self) -> Option<&super::tlv::ManagementTlv> {
        match (self.message_type(), self.tlvs.first()) {
            (MessageType::Management, Some(TlvRepr::Management(m))) => Some(m),
            _ => None,
        }
    }
}

/// Validates messageLength against the type's fixed length and the buffer, and returns the
/// message octets `buf[..messageLength]`.
pub(crate) fn checked_message(
    buf: &[u8],
    mtype: MessageType,
    length: u16,
) -> Result<&[u8], WireError> {
    need(buf, HEADER_LEN, "PTP header")?;
    let min = mtype.fixed_len();
    let bad = WireError::BadMessageLength {
        length,
        min,
        available: buf.len(),
    };
    if usize::from(length) < min {
        return Err(bad);
    }
    buf.get(..usize::from(length)).ok_or(bad)
}
