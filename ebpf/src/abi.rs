//! The Rust mirror of `ebpf/include/xptp_meta.h`: the metadata block the XDP program writes
//! immediately before every frame it steers into an AF_XDP socket.
//!
//! The C header is the single source of truth; the const assertions below break the build when
//! this mirror drifts from it. This module only describes bytes: it never touches a socket.

/// `XPTP_META_MAGIC`: "XPTP".
pub const META_MAGIC: u32 = 0x5850_5450;
/// `XPTP_META_VERSION` (2: the block is the first bytes of the frame's data; 1 put it in the
/// XDP metadata area, which some kernels refuse to XDP programs).
pub const META_VERSION: u16 = 2;

/// `XPTP_META_F_TAI_VALID`: `xdp_tai_ns` holds CLOCK_TAI at XDP ingress.
pub const META_F_TAI_VALID: u16 = 1 << 0;
/// `XPTP_META_F_HW_VALID`: `hw_rx_ns` holds the NIC's RX timestamp.
pub const META_F_HW_VALID: u16 = 1 << 1;
/// `XPTP_META_F_VLAN`: the frame carries one VLAN tag.
pub const META_F_VLAN: u16 = 1 << 2;
/// `XPTP_META_F_L2`: PTP over Ethernet.
pub const META_F_L2: u16 = 1 << 3;
/// `XPTP_META_F_UDP4`: PTP over UDP/IPv4.
pub const META_F_UDP4: u16 = 1 << 4;
/// `XPTP_META_F_UDP6`: PTP over UDP/IPv6.
pub const META_F_UDP6: u16 = 1 << 5;
/// `XPTP_META_F_EVENT`: UDP destination port 319.
pub const META_F_EVENT: u16 = 1 << 6;
/// `XPTP_META_F_WIRE`: `xdp_tai_ns` is the peer veth's transmit time (a veth wire stamp), not
/// the XDP-ingress time.
pub const META_F_WIRE: u16 = 1 << 7;

/// `struct xptp_meta`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XptpMeta {
    pub magic: u32,
    pub version: u16,
    pub flags: u16,
    pub xdp_tai_ns: u64,
    pub hw_rx_ns: u64,
}

/// Size in bytes of the metadata block.
pub const META_LEN: usize = core::mem::size_of::<XptpMeta>();

const _: () = {
    assert!(META_LEN == 24);
    assert!(META_LEN.is_multiple_of(4));
    assert!(core::mem::align_of::<XptpMeta>() == 8);
    assert!(core::mem::offset_of!(XptpMeta, magic) == 0);
    assert!(core::mem::offset_of!(XptpMeta, version) == 4);
    assert!(core::mem::offset_of!(XptpMeta, flags) == 6);
    assert!(core::mem::offset_of!(XptpMeta, xdp_tai_ns) == 8);
    assert!(core::mem::offset_of!(XptpMeta, hw_rx_ns) == 16);
};

impl XptpMeta {
    /// Reads the block from the first `META_LEN` bytes of a frame as the socket received it
    /// (native byte order, as the XDP program wrote them). `None` when the slice is short, the
    /// magic is wrong or the version is not ours: the caller counts that as "no metadata".
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b: &[u8; META_LEN] = b.get(..META_LEN)?.try_into().ok()?;
        let u32_at = |o: usize| u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u16_at = |o: usize| u16::from_ne_bytes([b[o], b[o + 1]]);
        let u64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[o..o + 8]);
            u64::from_ne_bytes(a)
        };
        let m = XptpMeta {
            magic: u32_at(0),
            version: u16_at(4),
            flags: u16_at(6),
            xdp_tai_ns: u64_at(8),
            hw_rx_ns: u64_at(16),
        };
        (m.magic == META_MAGIC && m.version == META_VERSION).then_some(m)
    }

    /// The XDP-ingress CLOCK_TAI time, when valid.
    pub fn tai_ns(&self) -> Option<u64> {
        (self.flags & META_F_TAI_VALID != 0).then_some(self.xdp_tai_ns)
    }

    /// The NIC hardware RX timestamp, when valid.
    pub fn hw_ns(&self) -> Option<u64> {
        (self.flags & META_F_HW_VALID != 0).then_some(self.hw_rx_ns)
    }
}

/// Mirror of `ebpf/include/xptp_counters.h`: indices into the per-CPU counter array
/// (`xptp_counters`). Every frame increments exactly one decision counter (`PASS_*`/`STEER_*`);
/// the others annotate frames already counted.
pub mod cnt {
    /// `XPTP_CNT_ABI_VERSION`.
    pub const ABI_VERSION: u32 = 2;
    /// Not PTP (other Ethertype, IP protocol or UDP port): passed to the kernel.
    pub const PASS_NON_PTP: u32 = 0;
    /// Truncated Ethernet/VLAN/IP/UDP/PTP header or invalid IP header: passed.
    pub const PASS_MALFORMED: u32 = 1;
    /// IPv4 fragment or IPv6 Fragment header: passed for kernel reassembly.
    pub const PASS_IP_FRAGMENT: u32 = 2;
    /// IPv6 with an extension header (not walked): passed.
    pub const PASS_IPV6_EXT: u32 = 3;
    /// PTP over Ethernet handed to the XSKMAP redirect.
    pub const STEER_L2: u32 = 4;
    /// PTP over UDP/IPv4 handed to the XSKMAP redirect.
    pub const STEER_UDP4: u32 = 5;
    /// PTP over UDP/IPv6 handed to the XSKMAP redirect.
    pub const STEER_UDP6: u32 = 6;
    /// Frame carried one VLAN tag (any decision).
    pub const VLAN: u32 = 7;
    /// Steered frame that could not take the metadata block (`bpf_xdp_adjust_head` failed):
    /// passed to the kernel instead (dropped, if even the block could not be taken off again).
    pub const META_FAILED: u32 = 8;
    /// Steered frame fell back to the kernel: no AF_XDP socket registered for its RX queue.
    pub const NO_SOCKET: u32 = 9;
    /// Hardware-timestamp build: the kfunc returned no RX timestamp.
    pub const HW_TS_MISSING: u32 = 10;
    /// Event frame whose ingress time is its veth wire stamp (`META_F_WIRE`).
    pub const WIRE_STAMPED: u32 = 11;
    /// A wire stamp with the frame's key was found but was stale: the XDP time was used.
    pub const WIRE_STALE: u32 = 12;
    /// `XPTP_CNT_MAX`: number of entries in the array.
    pub const MAX: u32 = 13;

    const _: () = {
        // Decisions are 0..=6, annotations follow, and MAX closes the list without gaps.
        assert!(PASS_NON_PTP == 0 && PASS_MALFORMED == 1 && PASS_IP_FRAGMENT == 2);
        assert!(PASS_IPV6_EXT == 3 && STEER_L2 == 4 && STEER_UDP4 == 5 && STEER_UDP6 == 6);
        assert!(VLAN == 7 && META_FAILED == 8 && NO_SOCKET == 9 && HW_TS_MISSING == 10);
        assert!(WIRE_STAMPED == 11 && WIRE_STALE == 12 && MAX == 13);
    };
}

/// The C header text, embedded so a test can check this mirror against it.
pub const COUNTERS_HEADER: &str = include_str!("../include/xptp_counters.h");
/// The metadata header text, embedded for the same reason.
pub const META_HEADER: &str = include_str!("../include/xptp_meta.h");

#[cfg(test)]
mod tests {
    use super::*;

    /// Value of `#define NAME value` in a C header.
    fn c_define(header: &str, name: &str) -> Option<u64> {
        header.lines().find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some("#define") && it.next() == Some(name)).then(|| {
                let v = it.next().unwrap_or("").trim_end_matches('u');
                match v.strip_prefix("0x") {
                    Some(h) => u64::from_str_radix(h, 16).unwrap(),
                    None => v.parse().unwrap(),
                }
            })
        })
    }

    #[test]
    fn counter_indices_match_the_c_header() {
        let h = COUNTERS_HEADER;
        let pairs = [
            ("XPTP_CNT_ABI_VERSION", cnt::ABI_VERSION),
            ("XPTP_CNT_PASS_NON_PTP", cnt::PASS_NON_PTP),
            ("XPTP_CNT_PASS_MALFORMED", cnt::PASS_MALFORMED),
            ("XPTP_CNT_PASS_IP_FRAGMENT", cnt::PASS_IP_FRAGMENT),
            ("XPTP_CNT_PASS_IPV6_EXT", cnt::PASS_IPV6_EXT),
            ("XPTP_CNT_STEER_L2", cnt::STEER_L2),
            ("XPTP_CNT_STEER_UDP4", cnt::STEER_UDP4),
            ("XPTP_CNT_STEER_UDP6", cnt::STEER_UDP6),
            ("XPTP_CNT_VLAN", cnt::VLAN),
            ("XPTP_CNT_META_FAILED", cnt::META_FAILED),
            ("XPTP_CNT_NO_SOCKET", cnt::NO_SOCKET),
            ("XPTP_CNT_HW_TS_MISSING", cnt::HW_TS_MISSING),
            ("XPTP_CNT_WIRE_STAMPED", cnt::WIRE_STAMPED),
            ("XPTP_CNT_WIRE_STALE", cnt::WIRE_STALE),
            ("XPTP_CNT_MAX", cnt::MAX),
        ];
        for (name, v) in pairs {
            assert_eq!(c_define(h, name), Some(u64::from(v)), "{name}");
        }
    }

    #[test]
    fn meta_constants_match_the_c_header() {
        let h = META_HEADER;
        assert_eq!(c_define(h, "XPTP_META_MAGIC"), Some(u64::from(META_MAGIC)));
        assert_eq!(
            c_define(h, "XPTP_META_VERSION"),
            Some(u64::from(META_VERSION))
        );
        for (name, v) in [
            ("XPTP_META_F_TAI_VALID", META_F_TAI_VALID),
            ("XPTP_META_F_HW_VALID", META_F_HW_VALID),
            ("XPTP_META_F_VLAN", META_F_VLAN),
            ("XPTP_META_F_L2", META_F_L2),
            ("XPTP_META_F_UDP4", META_F_UDP4),
            ("XPTP_META_F_UDP6", META_F_UDP6),
            ("XPTP_META_F_EVENT", META_F_EVENT),
            ("XPTP_META_F_WIRE", META_F_WIRE),
        ] {
            let shift = h
                .lines()
                .find(|l| l.starts_with(&format!("#define {name} ")))
                .and_then(|l| l.split("<<").nth(1))
                .and_then(|r| {
                    let d: String = r
                        .trim_start()
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    d.parse::<u32>().ok()
                });
            assert_eq!(shift.map(|s| 1u16 << s), Some(v), "{name}");
        }
    }

    #[test]
    fn reads_what_c_would_write() {
        let mut b = Vec::new();
        b.extend_from_slice(&META_MAGIC.to_ne_bytes());
        b.extend_from_slice(&META_VERSION.to_ne_bytes());
        b.extend_from_slice(&(META_F_TAI_VALID | META_F_L2).to_ne_bytes());
        b.extend_from_slice(&123_456_789u64.to_ne_bytes());
        b.extend_from_slice(&0u64.to_ne_bytes());
        let m = XptpMeta::from_bytes(&b).unwrap();
        assert_eq!(m.tai_ns(), Some(123_456_789));
        assert_eq!(m.hw_ns(), None);
        assert!(XptpMeta::from_bytes(&b[..23]).is_none());
        b[0] ^= 1;
        assert!(
            XptpMeta::from_bytes(&b).is_none(),
            "wrong magic must not be trusted"
        );
    }
}
