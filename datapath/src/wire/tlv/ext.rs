//! The non-management TLVs with typed access: ORGANIZATION_EXTENSION (IEEE 1588-2019 14.3, and
//! the IEEE C37.238 profile TLVs carried in it), ALTERNATE_TIME_OFFSET_INDICATOR (16.3) and
//! AUTHENTICATION (16.14).

use crate::wire::bytes::{arr, u16_at, u48_at, u8_at};
use crate::wire::error::WireError;

use super::be32;
use super::text::PtpText;

/// The IEEE C37.238 (power profile) OUI.
pub const C37_238_OUI: [u8; 3] = [0x1C, 0x12, 0x9D];

/// IEEE 1588-2019 14.3.2: an organization extension TLV.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OrganizationExtensionTlv {
    /// 0x0003 (ORGANIZATION_EXTENSION), 0x4000 (…_PROPAGATE) or 0x8000 (…_DO_NOT_PROPAGATE).
    pub tlv_type: u16,
    pub organization_id: [u8; 3],
    pub organization_sub_type: [u8; 3],
    pub data: Vec<u8>,
}

impl OrganizationExtensionTlv {
    pub fn parse(tlv_type: u16, value: &[u8]) -> Result<Self, WireError> {
        if value.len() < 6 {
            return Err(WireError::BadTlvLength {
                what: "ORGANIZATION_EXTENSION",
                length: value.len() as u16,
            });
        }
        Ok(OrganizationExtensionTlv {
            tlv_type,
            organization_id: arr(value, 0),
            organization_sub_type: arr(value, 3),
            data: value.get(6..).unwrap_or(&[]).to_vec(),
        })
    }

    pub fn emit_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.organization_id);
        out.extend_from_slice(&self.organization_sub_type);
        out.extend_from_slice(&self.data);
    }

    /// The C37.238 profile TLV carried here, if the OUI and subtype are C37.238's.
    pub fn c37_238(&self) -> Option<C37238Tlv> {
        if self.organization_id != C37_238_OUI {
            return None;
        }
        let d = &self.data;
        match self.organization_sub_type {
            [0, 0, 1] if d.len() >= 10 => Some(C37238Tlv::V2011 {
                grandmaster_id: u16_at(d, 0),
                grandmaster_time_inaccuracy: be32(d, 2),
                network_time_inaccuracy: be32(d, 6),
            }),
            [0, 0, 2] if d.len() >= 10 => Some(C37238Tlv::V2017 {
                grandmaster_id: u16_at(d, 0),
                total_time_inaccuracy: be32(d, 6),
            }),
            _ => None,
        }
    }
}

/// The IEEE C37.238 profile TLV (Announce), in its 2011 and 2017 forms.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum C37238Tlv {
    /// C37.238-2011, subtype 1.
    V2011 {
        grandmaster_id: u16,
        grandmaster_time_inaccuracy: u32,
        network_time_inaccuracy: u32,
    },
    /// C37.238-2017, subtype 2.
    V2017 {
        grandmaster_id: u16,
        total_time_inaccuracy: u32,
    },
}

/// IEEE 1588-2019 16.3.3: ALTERNATE_TIME_OFFSET_INDICATOR.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AlternateTimeOffsetIndicatorTlv {
    pub key_field: u8,
    pub current_offset: i32,
    pub jump_seconds: i32,
    /// UInteger48 seconds.
    pub time_of_next_jump: u64,
    pub display_name: PtpText,
}

impl AlternateTimeOffsetIndicatorTlv {
    pub fn parse(value: &[u8]) -> Result<Self, WireError> {
        let bad = WireError::BadTlvLength {
            what: "ALTERNATE_TIME_OFFSET_INDICATOR",
            length: value.len() as u16,
        };
        if value.len() < 16 {
            return Err(bad);
        }
        let (display_name, used) = PtpText::parse(value.get(15..).unwrap_or(&[]), "displayName")?;
        let total = 15 + used;
        if value.len() != total + (total & 1) {
            return Err(bad);
        }
        Ok(AlternateTimeOffsetIndicatorTlv {
            key_field: u8_at(value, 0),
            current_offset: be32(value, 1) as i32,
            jump_seconds: be32(value, 5) as i32,
            time_of_next_jump: u48_at(value, 9),
            display_name,
        })
    }

    pub fn emit_value(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(self.key_field);
        out.extend_from_slice(&self.current_offset.to_be_bytes());
        out.extend_from_slice(&self.jump_seconds.to_be_bytes());
        let t = self.time_of_next_jump.to_be_bytes();
        out.extend_from_slice(t.get(2..).unwrap_or(&[]));
        self.display_name.emit(out);
        if (out.len() - start) % 2 == 1 {
            out.push(0);
        }
    }
}

/// IEEE 1588-2019 16.14.3: the AUTHENTICATION TLV.
///
/// The lengths of the optional disclosedKey, sequenceNo and RES fields and of the ICV are set
/// by the security parameters (the SPP), not by the TLV itself, so the octets after keyID are
/// kept together in `rest`; [`AuthenticationTlv::split`] cuts them once the lengths are known.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AuthenticationTlv {
    /// Security Parameter Pointer.
    pub spp: u8,
    /// secParamIndicator: bit 0 disclosedKey present, bit 1 sequenceNo, bit 2 RES.
    pub sec_param_indicator: u8,
    pub key_id: u32,
    /// Optional fields (per `sec_param_indicator`) followed by the ICV.
    pub rest: Vec<u8>,
}

/// The parts of an AUTHENTICATION TLV after keyID.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AuthenticationParts<'a> {
    pub disclosed_key: Option<&'a [u8]>,
    pub sequence_no: Option<&'a [u8]>,
    pub res: Option<&'a [u8]>,
    pub icv: &'a [u8],
}

impl AuthenticationTlv {
    /// secParamIndicator bit: disclosedKey present.
    pub const DISCLOSED_KEY: u8 = 0x01;
    /// secParamIndicator bit: sequenceNo present.
    pub const SEQUENCE_NO: u8 = 0x02;
    /// secParamIndicator bit: RES present.
    pub const RES: u8 = 0x04;

    pub fn parse(value: &[u8]) -> Result<Self, WireError> {
        if value.len() < 6 {
            return Err(WireError::BadTlvLength {
                what: "AUTHENTICATION",
                length: value.len() as u16,
            });
        }
        Ok(AuthenticationTlv {
            spp: u8_at(value, 0),
            sec_param_indicator: u8_at(value, 1),
            key_id: be32(value, 2),
            rest: value.get(6..).unwrap_or(&[]).to_vec(),
        })
    }

    pub fn emit_value(&self, out: &mut Vec<u8>) {
        out.push(self.spp);
        out.push(self.sec_param_indicator);
        out.extend_from_slice(&self.key_id.to_be_bytes());
        out.extend_from_slice(&self.rest);
    }

    /// Splits `rest` given the lengths the SPP's security parameters define for each optional
    /// field; fields whose secParamIndicator bit is clear take no octets. Returns `None` if
    /// `rest` is shorter than the present fields.
    pub fn split(
        &self,
        disclosed_key_len: usize,
        sequence_no_len: usize,
        res_len: usize,
    ) -> Option<AuthenticationParts<'_>> {
        let mut r: &[u8] = &self.rest;
        let mut take = |bit: u8, n: usize| -> Option<Option<&[u8]>> {
            if self.sec_param_indicator & bit == 0 {
                return Some(None);
            }
            let (a, b) = (r.get(..n)?, r.get(n..)?);
            r = b;
            Some(Some(a))
        };
        let disclosed_key = take(Self::DISCLOSED_KEY, disclosed_key_len)?;
        let sequence_no = take(Self::SEQUENCE_NO, sequence_no_len)?;
        let res = take(Self::RES, res_len)?;
        Some(AuthenticationParts {
            disclosed_key,
            sequence_no,
            res,
            icv: r,
        })
    }
}
