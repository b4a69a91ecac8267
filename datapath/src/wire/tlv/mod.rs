//! TLVs (IEEE 1588-2019 clause 14): the type-length-value entities that follow a message's
//! fixed body.
//!
//! [`TlvIter`] walks a suffix zero-copy, yielding [`Tlv`] views (type + value slice) and an error
//! if a lengthField overruns the message. [`TlvRepr`] is the owned form: typed for the TLVs this
//! codec understands, [`TlvRepr::Unknown`] (octets kept verbatim) for every other type, so that
//! a message re-emits byte-identically whatever it carries.

mod ext;
pub mod management;
mod text;

use crate::wire::bytes::{u16_at, u32_at};
use crate::wire::error::WireError;
use crate::wire::types::ClockIdentity;

pub use ext::{
    AlternateTimeOffsetIndicatorTlv, AuthenticationTlv, C37238Tlv, OrganizationExtensionTlv,
    C37_238_OUI,
};
pub use management::{ManagementData, ManagementErrorStatusTlv, ManagementTlv};
pub use text::PtpText;

/// tlvType values (IEEE 1588-2019 14.1.1, Table 52).
pub mod tlv_type {
    pub const MANAGEMENT: u16 = 0x0001;
    pub const MANAGEMENT_ERROR_STATUS: u16 = 0x0002;
    pub const ORGANIZATION_EXTENSION: u16 = 0x0003;
    pub const REQUEST_UNICAST_TRANSMISSION: u16 = 0x0004;
    pub const GRANT_UNICAST_TRANSMISSION: u16 = 0x0005;
    pub const CANCEL_UNICAST_TRANSMISSION: u16 = 0x0006;
    pub const ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION: u16 = 0x0007;
    pub const PATH_TRACE: u16 = 0x0008;
    pub const ALTERNATE_TIME_OFFSET_INDICATOR: u16 = 0x0009;
    pub const ORGANIZATION_EXTENSION_PROPAGATE: u16 = 0x4000;
    pub const ENHANCED_ACCURACY_METRICS: u16 = 0x4001;
    pub const ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE: u16 = 0x8000;
    pub const L1_SYNC: u16 = 0x8001;
    pub const PORT_COMMUNICATION_AVAILABILITY: u16 = 0x8002;
    pub const PROTOCOL_ADDRESS: u16 = 0x8003;
    pub const SLAVE_RX_SYNC_TIMING_DATA: u16 = 0x8004;
    pub const SLAVE_RX_SYNC_COMPUTED_DATA: u16 = 0x8005;
    pub const SLAVE_TX_EVENT_TIMESTAMPS: u16 = 0x8006;
    pub const CUMULATIVE_RATE_RATIO: u16 = 0x8007;
    pub const PAD: u16 = 0x8008;
    pub const AUTHENTICATION: u16 = 0x8009;

    /// The standard's name of a tlvType, if known.
    pub fn name(t: u16) -> Option<&'static str> {
        Some(match t {
            MANAGEMENT => "MANAGEMENT",
            MANAGEMENT_ERROR_STATUS => "MANAGEMENT_ERROR_STATUS",
            ORGANIZATION_EXTENSION => "ORGANIZATION_EXTENSION",
            REQUEST_UNICAST_TRANSMISSION => "REQUEST_UNICAST_TRANSMISSION",
            GRANT_UNICAST_TRANSMISSION => "GRANT_UNICAST_TRANSMISSION",
            CANCEL_UNICAST_TRANSMISSION => "CANCEL_UNICAST_TRANSMISSION",
            ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION => "ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION",
            PATH_TRACE => "PATH_TRACE",
            ALTERNATE_TIME_OFFSET_INDICATOR => "ALTERNATE_TIME_OFFSET_INDICATOR",
            ORGANIZATION_EXTENSION_PROPAGATE => "ORGANIZATION_EXTENSION_PROPAGATE",
            ENHANCED_ACCURACY_METRICS => "ENHANCED_ACCURACY_METRICS",
            ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE => "ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE",
            L1_SYNC => "L1_SYNC",
            PORT_COMMUNICATION_AVAILABILITY => "PORT_COMMUNICATION_AVAILABILITY",
            PROTOCOL_ADDRESS => "PROTOCOL_ADDRESS",
            SLAVE_RX_SYNC_TIMING_DATA => "SLAVE_RX_SYNC_TIMING_DATA",
            SLAVE_RX_SYNC_COMPUTED_DATA => "SLAVE_RX_SYNC_COMPUTED_DATA",
            SLAVE_TX_EVENT_TIMESTAMPS => "SLAVE_TX_EVENT_TIMESTAMPS",
            CUMULATIVE_RATE_RATIO => "CUMULATIVE_RATE_RATIO",
            PAD => "PAD",
            AUTHENTICATION => "AUTHENTICATION",
            _ => return None,
        })
    }
}

/// A zero-copy view of one TLV: its tlvType and its value (lengthField octets).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Tlv<'a> {
    pub tlv_type: u16,
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The owned, typed form of this TLV.
    pub fn to_repr(&self) -> Result<TlvRepr, WireError> {
        TlvRepr::parse(self.tlv_type, self.value)
    }
}

/// Iterates over the TLVs of a message suffix (IEEE 1588-2019 14.1). After the first error it
/// yields `None`.
#[derive(Clone, Debug)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> TlvIter<'a> {
    /// Iterates over `suffix`, the octets between the fixed body and messageLength.
    pub fn new(suffix: &'a [u8]) -> Self {
        TlvIter {
            rest: suffix,
            failed: false,
        }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        if self.rest.len() < 4 {
            self.failed = true;
            return Some(Err(WireError::Truncated {
                what: "TLV header",
                need: 4,
                have: self.rest.len(),
            }));
        }
        let tlv_type = u16_at(self.rest, 0);
        let length = u16_at(self.rest, 2);
        let end = 4 + usize::from(length);
        match (self.rest.get(4..end), self.rest.get(end..)) {
            (Some(value), Some(rest)) => {
                self.rest = rest;
                Some(Ok(Tlv { tlv_type, value }))
            }
            _ => {
                self.failed = true;
                Some(Err(WireError::TlvOverrun {
                    tlv_type,
                    length,
                    remaining: self.rest.len() - 4,
                }))
            }
        }
    }
}

/// The owned form of one TLV.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum TlvRepr {
    /// IEEE 1588-2019 15.5.2.
    Management(ManagementTlv),
    /// IEEE 1588-2019 15.5.4.
    ManagementErrorStatus(ManagementErrorStatusTlv),
    /// IEEE 1588-2019 14.3 (tlvType 0x0003, 0x4000 or 0x8000); carries C37.238's TLVs.
    OrganizationExtension(OrganizationExtensionTlv),
    /// IEEE 1588-2019 16.2: PATH_TRACE, the clock identities the Announce passed through.
    PathTrace(Vec<ClockIdentity>),
    /// IEEE 1588-2019 16.3.
    AlternateTimeOffsetIndicator(AlternateTimeOffsetIndicatorTlv),
    /// IEEE 1588-2019 16.14.
    Authentication(AuthenticationTlv),
    /// Any other tlvType, value octets verbatim.
    Unknown { tlv_type: u16, value: Vec<u8> },
}

impl TlvRepr {
    /// Parses a TLV from its tlvType and value.
    pub fn parse(tlv_type: u16, value: &[u8]) -> Result<Self, WireError> {
        Ok(match tlv_type {
            tlv_type::MANAGEMENT => TlvRepr::Management(ManagementTlv::parse(value)?),
            tlv_type::MANAGEMENT_ERROR_STATUS => {
                TlvRepr::ManagementErrorStatus(ManagementErrorStatusTlv::parse(value)?)
            }
            tlv_type::ORGANIZATION_EXTENSION
            | tlv_type::ORGANIZATION_EXTENSION_PROPAGATE
            | tlv_type::ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE => {
                TlvRepr::OrganizationExtension(OrganizationExtensionTlv::parse(tlv_type, value)?)
            }
            tlv_type::PATH_TRACE => {
                if !value.len().is_multiple_of(ClockIdentity::LEN) {
                    return Err(WireError::BadTlvLength {
                        what: "PATH_TRACE",
                        length: value.len() as u16,
                    });
                }
                TlvRepr::PathTrace(
                    value
                        .chunks_exact(ClockIdentity::LEN)
                        .filter_map(ClockIdentity::from_slice)
                        .collect(),
                )
            }
            tlv_type::ALTERNATE_TIME_OFFSET_INDICATOR => TlvRepr::AlternateTimeOffsetIndicator(
                AlternateTimeOffsetIndicatorTlv::parse(value)?,
            ),
            tlv_type::AUTHENTICATION => TlvRepr::Authentication(AuthenticationTlv::parse(value)?),
            other => TlvRepr::Unknown {
                tlv_type: other,
                value: value.to_vec(),
            },
        })
    }

    /// The tlvType this TLV is emitted with.
    pub fn tlv_type(&self) -> u16 {
        match self {
            TlvRepr::Management(_) => tlv_type::MANAGEMENT,
            TlvRepr::ManagementErrorStatus(_) => tlv_type::MANAGEMENT_ERROR_STATUS,
            TlvRepr::OrganizationExtension(o) => o.tlv_type,
            TlvRepr::PathTrace(_) => tlv_type::PATH_TRACE,
            TlvRepr::AlternateTimeOffsetIndicator(_) => tlv_type::ALTERNATE_TIME_OFFSET_INDICATOR,
            TlvRepr::Authentication(_) => tlv_type::AUTHENTICATION,
            TlvRepr::Unknown { tlv_type, .. } => *tlv_type,
        }
    }

    /// Appends the value octets (without type and length) to `out`.
    pub fn emit_value(&self, out: &mut Vec<u8>) {
        match self {
            TlvRepr::Management(m) => m.emit_value(out),
            TlvRepr::ManagementErrorStatus(m) => m.emit_value(out),
            TlvRepr::OrganizationExtension(o) => o.emit_value(out),
            TlvRepr::PathTrace(ids) => ids.iter().for_each(|i| out.extend_from_slice(&i.0)),
            TlvRepr::AlternateTimeOffsetIndicator(a) => a.emit_value(out),
            TlvRepr::Authentication(a) => a.emit_value(out),
            TlvRepr::Unknown { value, .. } => out.extend_from_slice(value),
        }
    }

    /// Appends the whole TLV (type, length, value) to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len();
        out.extend_from_slice(&self.tlv_type().to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        self.emit_value(out);
        let len = u16::try_from(out.len() - start - 4).map_err(|_| WireError::FieldOverflow {
            what: "TLV lengthField",
        })?;
        if let Some(l) = out.get_mut(start + 2..start + 4) {
            l.copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    }

    /// Wire length: 4 plus the value length.
    pub fn buffer_len(&self) -> usize {
        let mut v = Vec::new();
        self.emit_value(&mut v);
        4 + v.len()
    }
}

/// Reads a u32 at `off` (used by the TLV submodules).
pub(crate) fn be32(b: &[u8], off: usize) -> u32 {
    u32_at(b, off)
}
