//! Codec tests: byte tables written from the standard's layouts (not produced by the emitter),
//! round trips, property tests, and the in-place correction update.

mod correction;
mod frames;
mod messages;
mod props;
mod tlvs;

use super::*;

/// The clock identity used throughout the tables: 00:11:22:ff:fe:33:44:55.
pub(super) const CID: [u8; 8] = [0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55];

pub(super) fn port(n: u16) -> PortIdentity {
    PortIdentity::new(ClockIdentity(CID), n)
}

/// Concatenates byte-table pieces.
pub(super) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}
