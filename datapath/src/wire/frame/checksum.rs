//! The Internet checksum (RFC 1071) over IPv4 headers and UDP with its IPv4/IPv6 pseudo-headers,
//! and the incremental update of RFC 1624 used when correctionField changes in place.

use core::net::{Ipv4Addr, Ipv6Addr};

/// Adds `data` as big-endian 16-bit words (odd tail padded with zero) to `sum`.
pub(crate) fn accumulate(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        if let [a, b] = c {
            sum = sum.wrapping_add(u32::from(u16::from_be_bytes([*a, *b])));
        }
    }
    if let [a] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([*a, 0])));
    }
    // Fold early so that long inputs cannot overflow.
    (sum & 0xffff) + (sum >> 16)
}

/// Folds a 32-bit accumulator to 16 bits (one's complement sum).
pub(crate) fn fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The checksum of `data` (the complement of its one's complement sum).
pub fn checksum(data: &[u8]) -> u16 {
    !fold(accumulate(0, data))
}

/// The IP pseudo-header part of the UDP checksum (RFC 768 / RFC 8200 8.1).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pseudo {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

/// The UDP checksum of `udp` (header with its checksum field zeroed or as received, plus
/// payload) under the pseudo-header. Over a datagram whose checksum field holds the right value
/// this returns 0.
pub(crate) fn udp_checksum(pseudo: Pseudo, udp: &[u8]) -> u16 {
    let len = udp.len() as u32;
    let mut sum = match pseudo {
        Pseudo::V4(s, d) => {
            let s = accumulate(0, &s.octets());
            let s = accumulate(s, &d.octets());
            s + 17 + len
        }
        Pseudo::V6(s, d) => {
            let s = accumulate(0, &s.octets());
            let s = accumulate(s, &d.octets());
            s + 17 + (len >> 16) + (len & 0xffff)
        }
    };
    sum = accumulate(sum, udp);
    !fold(sum)
}

/// RFC 1624 eqn. 3: the new checksum after the covered octets `old` were replaced by `new`
/// (same length, even, 16-bit aligned within the checksummed data).
pub(crate) fn update(hc: u16, old: &[u8], new: &[u8]) -> u16 {
    let mut sum = u32::from(!hc);
    for (o, n) in old.chunks_exact(2).zip(new.chunks_exact(2)) {
        if let ([o0, o1], [n0, n1]) = (o, n) {
            sum += u32::from(!u16::from_be_bytes([*o0, *o1]));
            sum += u32::from(u16::from_be_bytes([*n0, *n1]));
        }
    }
    !fold(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example: sum of these words is 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(accumulate(0, &data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn incremental_matches_full() {
        let mut data = [0x12u8, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x02];
        let hc = checksum(&data);
        let old = [data[2], data[3], data[4], data[5]];
        data[2..6].copy_from_slice(&[0xff, 0xff, 0x00, 0x01]);
        let inc = update(hc, &old, &data[2..6]);
        // Equal as one's-complement values (0x0000 and 0xffff are the same number).
        let full = checksum(&data);
        assert!(inc == full || (inc == 0xffff && full == 0) || (inc == 0 && full == 0xffff));
    }
}
