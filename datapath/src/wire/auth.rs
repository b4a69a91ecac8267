//! The AUTHENTICATION TLV with immediate security processing (IEEE 1588-2019 16.14, Annex P):
//! the pure, allocation-free ICV builder and checker that control (`xptp_control::security`)
//! and the fast path both use.
//!
//! Layout (16.14.3) as xptp emits it: tlvType 0x8009, lengthField, SPP, secParamIndicator 0
//! (immediate processing: no disclosedKey, no sequenceNo, no RES), keyID, ICV. The ICV is the
//! HMAC-SHA256 (P.3.2) over the message octets from the start of the header up to, not
//! including, the ICV field: the header (with messageLength already counting the TLV), the
//! body, every TLV before, and the AUTHENTICATION TLV's own type, length, SPP,
//! secParamIndicator and keyID. With `mutable` (the association's `allow_mutable`),
//! correctionField is taken as zero for the ICV so a transparent clock may rewrite it. The
//! AUTHENTICATION TLV must be the last TLV (as linuxptp requires); the ICV is compared in
//! constant time (the `hmac` crate's `verify_*`).
//!
//! Functions over byte slices only: no clock, no state (replay protection is the caller's),
//! no allocation, no panic.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::bytes::{put, put_u16, put_u8};
use super::tlv::tlv_type;
use super::{MessageType, HEADER_LEN};

type HmacSha256 = Hmac<Sha256>;

/// Octets of the AUTHENTICATION TLV before the ICV: type, length, SPP, secParamIndicator, keyID.
pub const AUTH_TLV_FIXED_LEN: usize = 4 + 6;
/// The longest ICV (HMAC-SHA256, 256 bits).
pub const MAX_ICV_LEN: usize = 32;
/// The longest AUTHENTICATION TLV xptp emits.
pub const MAX_AUTH_TLV_LEN: usize = AUTH_TLV_FIXED_LEN + MAX_ICV_LEN;
/// HMAC-SHA256's block size: longer keys are hashed first (RFC 2104 section 2).
pub const HMAC_BLOCK_LEN: usize = 64;

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
    #[error("no room for the AUTHENTICATION TLV in the buffer")]
    BufferTooSmall,
}

/// A key as the ICV functions take it.
#[derive(Clone, Copy)]
pub struct KeyRef<'a> {
    /// keyID of the AUTHENTICATION TLV.
    pub key_id: u32,
    /// Octets of the ICV field: 16 (SHA256-128) or 32 (SHA256).
    pub icv_len: usize,
    /// The secret.
    pub secret: &'a [u8],
}

impl core::fmt::Debug for KeyRef<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyRef")
            .field("key_id", &self.key_id)
            .field("icv_len", &self.icv_len)
            .finish_non_exhaustive()
    }
}

/// `secret` as an HMAC-SHA256 key of at most [`HMAC_BLOCK_LEN`] octets with the same MACs
/// (longer keys are replaced by their SHA-256, as HMAC itself does): (octets, length).
pub fn compact_key(secret: &[u8]) -> ([u8; HMAC_BLOCK_LEN], usize) {
    let mut out = [0u8; HMAC_BLOCK_LEN];
    if secret.len() > HMAC_BLOCK_LEN {
        let h = Sha256::digest(secret);
        put(&mut out, 0, &h);
        (out, h.len())
    } else {
        put(&mut out, 0, secret);
        (out, secret.len())
    }
}

fn mac_over(secret: &[u8], data: &[u8], mutable: bool) -> HmacSha256 {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(secret) {
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

/// Octets an AUTHENTICATION TLV with an ICV of `icv_len` adds to a message.
pub const fn tlv_len(icv_len: usize) -> usize {
    AUTH_TLV_FIXED_LEN + icv_len
}

/// Appends an AUTHENTICATION TLV signed with `key` under `spp` to the message in
/// `buf[..msg_len]`, fixing messageLength, and returns the new message length. `buf` must
/// have room for the TLV; octets past `msg_len` are overwritten.
pub fn append_signed(
    buf: &mut [u8],
    msg_len: usize,
    spp: u8,
    key: KeyRef<'_>,
    mutable: bool,
) -> Result<usize, SignError> {
    if msg_len < HEADER_LEN {
        return Err(SignError::Truncated);
    }
    let total = msg_len + tlv_len(key.icv_len);
    let total16 = u16::try_from(total).map_err(|_| SignError::TooLong)?;
    if buf.len() < total || key.icv_len > MAX_ICV_LEN {
        return Err(SignError::BufferTooSmall);
    }
    put_u16(buf, msg_len, tlv_type::AUTHENTICATION);
    put_u16(buf, msg_len + 2, (6 + key.icv_len) as u16);
    put_u8(buf, msg_len + 4, spp);
    put_u8(buf, msg_len + 5, 0); // secParamIndicator: immediate processing
    put(buf, msg_len + 6, &key.key_id.to_be_bytes());
    put_u16(buf, 2, total16);
    resign(
        buf.get_mut(..total).ok_or(SignError::BufferTooSmall)?,
        key,
        mutable,
    )?;
    Ok(total)
}

/// Recomputes the ICV of `msg` (a message whose last `AUTH_TLV_FIXED_LEN + key.icv_len`
/// octets are its AUTHENTICATION TLV) after fields it covers were changed in place.
pub fn resign(msg: &mut [u8], key: KeyRef<'_>, mutable: bool) -> Result<(), SignError> {
    let icv_at = msg
        .len()
        .checked_sub(key.icv_len)
        .filter(|&a| a >= HEADER_LEN + AUTH_TLV_FIXED_LEN)
        .ok_or(SignError::Truncated)?;
    let tag = mac_over(key.secret, msg.get(..icv_at).unwrap_or(&[]), mutable)
        .finalize()
        .into_bytes();
    let icv = msg.get_mut(icv_at..).ok_or(SignError::Truncated)?;
    icv.copy_from_slice(tag.get(..icv.len()).ok_or(SignError::BufferTooSmall)?);
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

/// Verifies the AUTHENTICATION TLV of `msg` (type `mtype`) for a port whose association has
/// SPP `spp`, keys found by `key_of(keyID)`, and `allow_mutable` = `mutable`. Returns the
/// keyID used.
pub fn verify<'k>(
    msg: &[u8],
    mtype: MessageType,
    spp: u8,
    key_of: impl Fn(u32) -> Option<KeyRef<'k>>,
    mutable: bool,
) -> Result<u32, AuthFailure> {
    let at = find_auth_tlv(msg, mtype).ok_or(AuthFailure::Missing)?;
    let unknown = AuthFailure::UnknownKey {
        spp: at.spp,
        key_id: at.key_id,
    };
    if at.spp != spp {
        return Err(unknown);
    }
    let key = key_of(at.key_id).ok_or(unknown)?;
    if !at.last || at.sec_param_indicator != 0 || at.rest_len != key.icv_len {
        return Err(AuthFailure::BadIcv);
    }
    let icv_at = at.offset + AUTH_TLV_FIXED_LEN;
    let (covered, icv) = (
        msg.get(..icv_at).ok_or(AuthFailure::BadIcv)?,
        msg.get(icv_at..icv_at + key.icv_len)
            .ok_or(AuthFailure::BadIcv)?,
    );
    mac_over(key.secret, covered, mutable)
        .verify_truncated_left(icv)
        .map_err(|_| AuthFailure::BadIcv)?;
    Ok(at.key_id)
}
