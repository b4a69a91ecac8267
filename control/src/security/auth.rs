//! The AUTHENTICATION TLV with immediate security processing (IEEE 1588-2019 16.14, Annex P):
//! signing outgoing messages and verifying received ones with HMAC-SHA256 against a
//! [`SecurityAssociation`].
//!
//! The TLV layout and the ICV computation live in [`xptp_datapath::wire::auth`] (the fast
//! path signs its Delay_Resp / Pdelay_Resp with the same code); this module binds them to the
//! sa_file's associations. Pure functions: no clock, no state (replay protection is
//! [`super::replay`]).

use xptp_datapath::wire::auth::{self as wire_auth, KeyRef};
pub use xptp_datapath::wire::auth::{
    find_auth_tlv, AuthFailure, AuthTlvAt, SignError, AUTH_TLV_FIXED_LEN,
};
use xptp_datapath::wire::{MessageType, HEADER_LEN};

use super::sa_file::{SaKey, SecurityAssociation};

fn key_ref(k: &SaKey) -> KeyRef<'_> {
    KeyRef {
        key_id: k.key_id,
        icv_len: k.algorithm.icv_len(),
        secret: k.secret(),
    }
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
    msg.resize(len + wire_auth::tlv_len(key.algorithm.icv_len()), 0);
    let total = wire_auth::append_signed(msg, len, sa.spp, key_ref(key), sa.allow_mutable)?;
    msg.truncate(total);
    Ok(())
}

/// Verifies the AUTHENTICATION TLV of `msg` (type `mtype`) against `sa` (the association the
/// receiving port is configured with). Returns the keyID used.
pub fn verify(
    msg: &[u8],
    mtype: MessageType,
    sa: &SecurityAssociation,
) -> Result<u32, AuthFailure> {
    wire_auth::verify(
        msg,
        mtype,
        sa.spp,
        |id| sa.key(id).map(key_ref),
        sa.allow_mutable,
    )
}
