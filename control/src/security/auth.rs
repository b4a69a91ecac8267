//! The AUTHENTICATION TLV with immediate security processing (IEEE 1588-2019 16.14, Annex P):
//! signing outgoing messages and verifying received ones with HMAC-SHA256.
//!
//! Layout (16.14.3) as xptp emits it: tlvType 0x8009, lengthField, SPP, secParamIndicator 0
//! (immediate processing: no disclosedKey, no sequenceNo, no RES), keyID, ICV. The ICV is the
//! HMAC over the message octets from the start of the header up to, not including, the ICV
//! field: the header (with messageLength already counting the TLV), the body, every TLV
//! before, and the AUTHENTICATION TLV's own type, length, SPP, secParamIndicator and keyID.
//! With the association's `allow_mutable`, correctionField is taken as zero for the ICV so a
//! transparent clock may rewrite it. The AUTHENTICATION TLV must be the last TLV (as linuxptp
//! requires); the ICV is compared in constant time (the `hmac` crate's `verify_*`).
//!
//! Pure functions over byte slices: no clock, no state (replay protection is [`super::replay`]).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use xptp_datapath::wire::tlv::tlv_type;
use xptp_datapath::wire::{MessageType, HEADER_LEN};

use super::sa_file::{SaKey, SecurityAssociation};

type HmacSha256 = Hmac<Sha256>;

/// Octets of the AUTHENTICATION TLV before the ICV: type, length, SPP, secParamIndicator, keyID.
pub const AUTH_TLV_FIXED_LEN: usize = 4 + 6;

/// correctionField in the common header (13.3.1, Table 35).
const CORRECTION: core::ops::Range<usize> = 8..16;

/// Why a received message failed authentication.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
pub enum AuthFailure {
    /// No AUTHENTICATION TLV.
    #[error("no AUTHENTICATION TLV")]
    Missing,
    /// An SPP or keyID this port has no key for.
    #[error("SPP {spp} / keyID {key_id} is not in the security association")]
    UnknownKey { spp: u8, key_id: u32 },
    /// The TLV is malformed for its association (length, secParamIndicator, not last), or
    /// the ICV does not match.
    #[error("ICV check failed")]
    BadIcv,
}

/// Why a message could not be signed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum SignError {
    #[error("message shorter than its header or messageLength")]
    Truncated,
    #[error("keyID {0} is not in the security association")]
    UnknownKey(u32),
    #[error("the signed message would exceed 65535 octets")]
    TooLong,
}

fn mac_over(key: &SaKey, data: &[u8], mutable: bool) -> HmacSha256 {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key.secret()) {
        Ok(m) => m,
        Err(_) => HmacSha256::new(&Default::default()),
    };
    if mutable && data.len() >= CORRECTION.end {
        mac.update(data.get(..CORRECTION.start).unwrap_or(&[]));
        mac.update(&[0u8; 8]);
        mac.update(data.get(CORRECTION.end..).unwrap_or(&[]));
    } else {
        mac.update(data);
    }
    mac
}

fn message_length(msg: &[u8]) -> Option<usize> {
    let l = msg.get(2..4)?;
    Some(usize::from(u16::from_be_bytes([*l.first()?, *l.get(1)?])))
}

/// Appends an AUTHENTICATION TLV signed with `key_id` of `sa` to `msg` (a complete PTP
/// message) and fixes messageLength. Octets past messageLength are dropped first.
pub fn sign(msg: &mut Vec<u8>, sa: &SecurityAssociation, key_id: u32) -> Result<(), SignError> {
    let key = sa.key(key_id).ok_or(SignError::UnknownKey(key_id))?;
    let len = message_length(msg)
        .filter(|l| *l >= HEADER_LEN && *l <= msg.len())
        .ok_or(SignError::Truncated)?;
    msg.truncate(len);
    let icv_len = key.algorithm.icv_len();
    let total =
        u16::try_from(len + AUTH_TLV_FIXED_LEN + icv_len).map_err(|_| SignError::TooLong)?;
    let tlv_len = (6 + icv_len) as u16;
    msg.extend_from_slice(&tlv_type::AUTHENTICATION.to_be_bytes());
    msg.extend_from_slice(&tlv_len.to_be_bytes());
    msg.push(sa.spp);
    msg.push(0); // secParamIndicator: immediate processing, no optional fields
    msg.extend_from_slice(&key_id.to_be_bytes());
    if let Some(l) = msg.get_mut(2..4) {
        l.copy_from_slice(&total.to_be_bytes());
    }
    let tag = mac_over(key, msg, sa.allow_mutable).finalize().into_bytes();
    msg.extend_from_slice(tag.get(..icv_len).unwrap_or(&tag));
    Ok(())
}

/// Where the AUTHENTICATION TLV of a message is, if it has one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AuthTlvAt {
    /// Offset of the TLV (its tlvType) in the message.
    pub offset: usize,
    pub spp: u8,
    pub sec_param_indicator: u8,
    pub key_id: u32,
    /// Octets after keyID (optional fields + ICV).
    pub rest_len: usize,
    /// Whether it is the last TLV.
    pub last: bool,
}

/// Finds the (first) AUTHENTICATION TLV of `msg` (a message of type `mtype`, at least
/// messageLength long). `None` if there is none or the TLVs do not parse.
pub fn find_auth_tlv(msg: &[u8], mtype: MessageType) -> Option<AuthTlvAt> {
    let end = message_length(msg)?.min(msg.len());
    let mut off = mtype.fixed_len();
    let mut found = None;
    while off + 4 <= end {
        let h = msg.get(off..off + 4)?;
        let t = u16::from_be_bytes([*h.first()?, *h.get(1)?]);
        let l = usize::from(u16::from_be_bytes([*h.get(2)?, *h.get(3)?]));
        let next = off + 4 + l;
        if next > end {
            return None;
        }
        if t == tlv_type::AUTHENTICATION && found.is_none() && l >= 6 {
            let v = msg.get(off + 4..next)?;
            found = Some(AuthTlvAt {
                offset: off,
                spp: *v.first()?,
                sec_param_indicator: *v.get(1)?,
                key_id: u32::from_be_bytes([*v.get(2)?, *v.get(3)?, *v.get(4)?, *v.get(5)?]),
                rest_len: l - 6,
                last: next == end,
            });
        }
        off = next;
    }
    found
}

/// Verifies the AUTHENTICATION TLV of `msg` (type `mtype`) against `sa` (the association the
/// receiving port is configured with). Returns the keyID used.
pub fn verify(
    msg: &[u8],
    mtype: MessageType,
    sa: &SecurityAssociation,
) -> Result<u32, AuthFailure> {
    let at = find_auth_tlv(msg, mtype).ok_or(AuthFailure::Missing)?;
    if at.spp != sa.spp {
        return Err(AuthFailure::UnknownKey {
            spp: at.spp,
            key_id: at.key_id,
        });
    }
    let key = sa.key(at.key_id).ok_or(AuthFailure::UnknownKey {
        spp: at.spp,
        key_id: at.key_id,
    })?;
    let icv_len = key.algorithm.icv_len();
    if !at.last || at.sec_param_indicator != 0 || at.rest_len != icv_len {
        return Err(AuthFailure::BadIcv);
    }
    let icv_at = at.offset + AUTH_TLV_FIXED_LEN;
    let (covered, icv) = (
        msg.get(..icv_at).ok_or(AuthFailure::BadIcv)?,
        msg.get(icv_at..icv_at + icv_len)
            .ok_or(AuthFailure::BadIcv)?,
    );
    mac_over(key, covered, sa.allow_mutable)
        .verify_truncated_left(icv)
        .map_err(|_| AuthFailure::BadIcv)?;
    Ok(at.key_id)
}
