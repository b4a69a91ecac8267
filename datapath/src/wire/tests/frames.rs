//! Frame byte tables for every framing (IEEE 1588-2019 Annex C, D, E). Checksums in the tables
//! were computed independently of this crate (by hand with a separate script), not by the
//! emitter.

use core::net::{Ipv4Addr, Ipv6Addr};

use super::messages::{announce_bytes, announce_repr};
use super::*;
use crate::wire::frame::{
    self, EthernetRepr, FrameRepr, NetworkRepr, Transport, TransportKind, VlanTag,
};

const MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
const SRC: [u8; 10] = [0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, 0x00, 0x01];
const TS: [u8; 10] = [0x00, 0x00, 0x65, 0x00, 0x00, 0x01, 0x3b, 0x9a, 0xc9, 0xff];

pub(super) fn delay_req_bytes() -> Vec<u8> {
    cat(&[
        &[0x01, 0x12, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00],
        &[0; 8],
        &[0; 4],
        &SRC,
        &[0x00, 0x05, 0x01, 0x7f],
        &TS,
    ])
}

fn pdelay_req_bytes() -> Vec<u8> {
    cat(&[
        &[0x02, 0x12, 0x00, 0x36, 0x00, 0x00, 0x00, 0x00],
        &[0; 8],
        &[0; 4],
        &SRC,
        &[0x00, 0x06, 0x05, 0x00],
        &TS,
        &[0; 10],
    ])
}

/// L2 Delay_Req, padded to 60 octets as a NIC sends it.
pub(super) fn l2_frame() -> Vec<u8> {
    cat(&[
        &[0x01, 0x1b, 0x19, 0x00, 0x00, 0x00],
        &MAC,
        &[0x88, 0xf7],
        &delay_req_bytes(),
        &[0x00, 0x00],
    ])
}

/// 802.1Q (VID 100, PCP 7) tagged L2 Pdelay_Req to the peer-delay address.
pub(super) fn l2_vlan_frame() -> Vec<u8> {
    cat(&[
        &[0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e],
        &MAC,
        &[0x81, 0x00, 0xe0, 0x64],
        &[0x88, 0xf7],
        &pdelay_req_bytes(),
    ])
}

/// UDPv4 Delay_Req 192.168.1.10:319 → 224.0.1.129:319, TTL 1.
pub(super) fn udp4_frame() -> Vec<u8> {
    cat(&[
        &[0x01, 0x00, 0x5e, 0x00, 0x01, 0x81],
        &MAC,
        &[0x08, 0x00],
        &[0x45, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x00],
        &[0x01, 0x11, 0x16, 0x72],
        &[192, 168, 1, 10, 224, 0, 1, 129],
        &[0x01, 0x3f, 0x01, 0x3f, 0x00, 0x34, 0x86, 0xdc],
        &delay_req_bytes(),
    ])
}

/// UDPv6 Announce [fe80::211:22ff:fe33:4455]:320 → [ff0e::181]:320, hop limit 1.
pub(super) fn udp6_frame() -> Vec<u8> {
    cat(&[
        &[0x33, 0x33, 0x00, 0x00, 0x01, 0x81],
        &MAC,
        &[0x86, 0xdd],
        &[0x60, 0x00, 0x00, 0x00, 0x00, 0x48, 0x11, 0x01],
        &[
            0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55,
        ],
        &[0xff, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x81],
        &[0x01, 0x40, 0x01, 0x40, 0x00, 0x48, 0x45, 0xbd],
        &announce_bytes(),
    ])
}

/// 802.1ad (VID 5) UDPv4 Pdelay_Req to 224.0.0.107, TOS 0xb8, ident 0x1234, DF.
pub(super) fn udp4_qinq_frame() -> Vec<u8> {
    cat(&[
        &[0x01, 0x00, 0x5e, 0x00, 0x00, 0x6b],
        &MAC,
        &[0x88, 0xa8, 0x00, 0x05],
        &[0x08, 0x00],
        &[0x45, 0xb8, 0x00, 0x52, 0x12, 0x34, 0x40, 0x00],
        &[0x01, 0x11, 0xc4, 0x91],
        &[192, 168, 1, 10, 224, 0, 0, 107],
        &[0x01, 0x3f, 0x01, 0x3f, 0x00, 0x3e, 0x83, 0x52],
        &pdelay_req_bytes(),
    ])
}

fn delay_req_repr() -> MessageRepr {
    MessageRepr::parse(&delay_req_bytes()).unwrap()
}

fn roundtrip(bytes: &[u8]) -> FrameRepr {
    let f = FrameRepr::parse(bytes).unwrap();
    assert_eq!(f.emit().unwrap(), bytes);
    let parsed = frame::parse(bytes).unwrap();
    parsed.verify_udp_checksum(bytes).unwrap();
    f
}

#[test]
fn l2() {
    let b = l2_frame();
    let f = frame::parse(&b).unwrap();
    assert_eq!(f.transport.kind(), TransportKind::L2);
    assert_eq!(f.transport.ethernet.dst, frame::MAC_PRIMARY);
    assert_eq!(f.transport.ethernet.src, MAC);
    assert_eq!(f.payload, 14..60);
    assert_eq!(f.udp_checksum_at, None);
    let r = roundtrip(&b);
    assert_eq!(r.trailer, vec![0, 0]);
    let t = Transport::l2_multicast(MAC, MessageType::DelayReq);
    assert_eq!(t, f.transport);
    assert_eq!(frame::build(&t, &delay_req_repr()).unwrap(), b);
}

#[test]
fn l2_vlan() {
    let b = l2_vlan_frame();
    let f = frame::parse(&b).unwrap();
    assert_eq!(
        f.transport.ethernet.vlan,
        Some(VlanTag {
            tpid: 0x8100,
            pcp: 7,
            dei: false,
            vid: 100
        })
    );
    assert_eq!(f.payload, 18..72);
    roundtrip(&b);
    let t = Transport::l2_multicast(MAC, MessageType::PdelayReq).with_vlan(VlanTag::dot1q(100, 7));
    let m = MessageRepr::parse(&pdelay_req_bytes()).unwrap();
    assert_eq!(frame::build(&t, &m).unwrap(), b);
}

#[test]
fn udp4() {
    let b = udp4_frame();
    let f = frame::parse(&b).unwrap();
    assert_eq!(
        f.transport.network,
        NetworkRepr::Udp4 {
            src: Ipv4Addr::new(192, 168, 1, 10),
            dst: frame::IPV4_PRIMARY,
            src_port: 319,
            dst_port: 319,
            tos: 0,
            identification: 0,
            dont_fragment: false,
            ttl: 1
        }
    );
    assert_eq!(f.payload, 42..86);
    assert_eq!(f.udp_checksum_at, Some(40));
    roundtrip(&b);
    let t = Transport::udp4_multicast(MAC, Ipv4Addr::new(192, 168, 1, 10), MessageType::DelayReq);
    assert_eq!(frame::build(&t, &delay_req_repr()).unwrap(), b);
}

#[test]
fn udp6() {
    let b = udp6_frame();
    let f = frame::parse(&b).unwrap();
    let src: Ipv6Addr = "fe80::211:22ff:fe33:4455".parse().unwrap();
    assert_eq!(
        f.transport.network,
        NetworkRepr::Udp6 {
            src,
            dst: frame::IPV6_PRIMARY,
            src_port: 320,
            dst_port: 320,
            traffic_class: 0,
            flow_label: 0,
            hop_limit: 1
        }
    );
    assert_eq!(f.payload, 62..126);
    let r = roundtrip(&b);
    assert_eq!(r.message, announce_repr());
    let t = Transport::udp6_multicast(MAC, src, MessageType::Announce);
    assert_eq!(frame::build(&t, &announce_repr()).unwrap(), b);
}

#[test]
fn udp4_8021ad_with_ethernet_padding() {
    let mut b = udp4_qinq_frame();
    let f = frame::parse(&b).unwrap();
    assert_eq!(
        f.transport.ethernet.vlan.map(|v| (v.tpid, v.vid)),
        Some((0x88a8, 5))
    );
    assert!(matches!(
        f.transport.network,
        NetworkRepr::Udp4 { dst, tos: 0xb8, identification: 0x1234, dont_fragment: true, .. }
            if dst == frame::IPV4_PDELAY
    ));
    roundtrip(&b);
    // Octets after the IP datagram are Ethernet padding: kept on re-emit, not in the payload.
    b.extend_from_slice(&[0xaa; 4]);
    let f2 = frame::parse(&b).unwrap();
    assert_eq!(f2.payload, f.payload);
    assert_eq!(f2.datagram_end, b.len() - 4);
    assert_eq!(roundtrip(&b).padding, vec![0xaa; 4]);
}

#[test]
fn not_ptp_and_malformed_frames() {
    let mut arp = l2_frame();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let e = frame::parse(&arp).unwrap_err();
    assert_eq!(e, WireError::NotPtpEthertype(0x0806));
    assert!(e.is_not_ptp());

    let mut dns = udp4_frame();
    dns[36..38].copy_from_slice(&[0x00, 0x35]);
    assert_eq!(frame::parse(&dns), Err(WireError::WrongUdpPort(53)));

    let mut tcp = udp4_frame();
    tcp[23] = 6;
    assert_eq!(frame::parse(&tcp), Err(WireError::NotUdp(6)));

    let mut frag = udp4_frame();
    frag[20] = 0x20; // MF
    assert_eq!(frame::parse(&frag), Err(WireError::Ipv4Fragment(0x2000)));
    assert_eq!(WireError::Ipv4Fragment(0x2000).reason(), "ipv4_fragment");

    let mut ihl = udp4_frame();
    ihl[14] = 0x44;
    assert_eq!(frame::parse(&ihl), Err(WireError::BadIpHeaderLength(4)));

    let mut ver = udp4_frame();
    ver[14] = 0x65;
    assert_eq!(frame::parse(&ver), Err(WireError::BadIpVersion(6)));

    let mut ulen = udp4_frame();
    ulen[38..40].copy_from_slice(&[0x00, 0x40]);
    assert!(matches!(
        frame::parse(&ulen),
        Err(WireError::BadUdpLength {
            length: 0x40,
            available: 52
        })
    ));

    let b = udp6_frame();
    assert!(matches!(
        frame::parse(&b[..50]),
        Err(WireError::Truncated {
            what: "IPv6 header",
            ..
        })
    ));
    let mut bad = udp6_frame();
    bad[70] ^= 1;
    let f = frame::parse(&bad).unwrap();
    assert!(matches!(
        f.verify_udp_checksum(&bad),
        Err(WireError::BadUdpChecksum(_))
    ));
    let mut zero = udp6_frame();
    zero[60..62].copy_from_slice(&[0, 0]);
    let f = frame::parse(&zero).unwrap();
    assert_eq!(
        f.verify_udp_checksum(&zero),
        Err(WireError::ZeroUdpChecksumIpv6)
    );
}

#[test]
fn custom_transport_fields_emit() {
    let t = Transport {
        ethernet: EthernetRepr {
            dst: [0x01, 0x00, 0x5e, 0x00, 0x01, 0x81],
            src: MAC,
            vlan: Some(VlanTag {
                tpid: frame::TPID_8021AD,
                pcp: 0,
                dei: false,
                vid: 5,
            }),
        },
        network: NetworkRepr::Udp4 {
            src: Ipv4Addr::new(192, 168, 1, 10),
            dst: frame::IPV4_PDELAY,
            src_port: 319,
            dst_port: 319,
            tos: 0xb8,
            identification: 0x1234,
            dont_fragment: true,
            ttl: 1,
        },
    };
    let mut t = t;
    t.ethernet.dst = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x6b];
    let m = MessageRepr::parse(&pdelay_req_bytes()).unwrap();
    assert_eq!(frame::build(&t, &m).unwrap(), udp4_qinq_frame());
}

/// Frame 1 of the golden capture `tests/fixtures/ptp4l-udp4-e2e.pcapng`: ptp4l 3.1.1's first
/// Announce over UDPv4, captured on a veth. Its UDP checksum field holds 0xec28, the partial
/// (pseudo-header) sum that checksum offload leaves for the NIC to finish; the full checksum
/// is 0x7999. tshark does not check UDP checksums by default and shows it as unverified.
fn ptp4l_udp4_announce_offloaded_checksum() -> Vec<u8> {
    cat(&[
        &[
            0x01, 0x00, 0x5e, 0x00, 0x01, 0x81, 0x46, 0x7a, 0x0f, 0x26, 0x8b, 0x8b,
        ],
        &[
            0x08, 0x00, 0x45, 0x00, 0x00, 0x5c, 0x07, 0x50, 0x40, 0x00, 0x01, 0x11,
        ],
        &[0x86, 0x72, 0x0a, 0x4d, 0x00, 0x01, 0xe0, 0x00, 0x01, 0x81],
        &[0x01, 0x40, 0x01, 0x40, 0x00, 0x48, 0xec, 0x28],
        &[
            0x0b, 0x02, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
        ],
        &[
            0, 0, 0, 0, 0x46, 0x7a, 0x0f, 0xff, 0xfe, 0x26, 0x8b, 0x8b, 0x00, 0x01,
        ],
        &[
            0x00, 0x00, 0x05, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x25,
        ],
        &[0x00, 0x64, 0xf8, 0xfe, 0xff, 0xff, 0x80],
        &[
            0x46, 0x7a, 0x0f, 0xff, 0xfe, 0x26, 0x8b, 0x8b, 0x00, 0x00, 0xa0,
        ],
    ])
}

/// Regression (golden captures): FrameRepr re-emitted a captured UDP frame with the computed
/// checksum instead of the one it carried, so real ptp4l traffic captured on the sending host
/// (checksum offload) or sent without a checksum did not round-trip byte for byte.
#[test]
fn udp_checksum_field_round_trips_verbatim_when_not_the_computed_one() {
    let b = ptp4l_udp4_announce_offloaded_checksum();
    let f = frame::parse(&b).unwrap();
    assert_eq!(f.udp_checksum_at, Some(40));
    assert_eq!(
        f.verify_udp_checksum(&b),
        Err(WireError::BadUdpChecksum(0xec28))
    );
    let mut r = FrameRepr::parse(&b).unwrap();
    assert_eq!(r.udp_checksum, Some(0xec28));
    assert_eq!(r.emit().unwrap(), b);
    // Asking for a computed checksum gives the valid one, and only those two octets change.
    r.udp_checksum = None;
    let fixed = r.emit().unwrap();
    assert_eq!(fixed[40..42], [0x79, 0x99]);
    assert_eq!(fixed[..40], b[..40]);
    assert_eq!(fixed[42..], b[42..]);
    frame::parse(&fixed)
        .unwrap()
        .verify_udp_checksum(&fixed)
        .unwrap();
    assert_eq!(FrameRepr::parse(&fixed).unwrap().udp_checksum, None);

    // IPv4 "no checksum" (0) stays 0.
    let mut none = b.clone();
    none[40..42].copy_from_slice(&[0, 0]);
    let r = FrameRepr::parse(&none).unwrap();
    assert_eq!(r.udp_checksum, Some(0));
    assert_eq!(r.emit().unwrap(), none);

    // A valid checksum is recomputed (so a changed message gets a valid one); IPv6 too.
    for valid in [udp4_frame(), udp6_frame(), udp4_qinq_frame()] {
        let r = FrameRepr::parse(&valid).unwrap();
        assert_eq!(r.udp_checksum, None);
        assert_eq!(r.emit().unwrap(), valid);
    }
    let mut v6 = udp6_frame();
    v6[60..62].copy_from_slice(&[0x12, 0x34]);
    let r = FrameRepr::parse(&v6).unwrap();
    assert_eq!(r.udp_checksum, Some(0x1234));
    assert_eq!(r.emit().unwrap(), v6);
    // L2 frames have no UDP checksum.
    assert_eq!(FrameRepr::parse(&l2_frame()).unwrap().udp_checksum, None);
}

/// Regression (wire_frame fuzz target): a UDPv4 Announce whose reserved octets are non-zero and
/// whose stored checksum is wrong for the received octets but right once emit has zeroed them.
/// parse used to keep the checksum (it did not verify) and the re-parse of the emitted frame
/// dropped it (now it verified), so parse(emit(parse(x))) != parse(x).
#[test]
fn udp_checksum_decision_is_stable_across_normalising_emit() {
    let x: &[u8] = &[
        1, 0, 94, 0, 1, 129, 70, 122, 15, 38, 139, 139, 8, 0, 69, 0, 0, 92, 7, 108, 64, 0, 1, 17,
        134, 86, 10, 76, 0, 1, 224, 2, 1, 129, 1, 64, 1, 64, 0, 72, 236, 40, 11, 2, 0, 64, 0, 0, 0,
        0, 0, 0, 0, 0, 161, 161, 161, 161, 161, 161, 161, 161, 161, 161, 161, 161, 161, 0, 0, 0, 0,
        0, 0, 0, 0, 70, 122, 15, 255, 254, 1, 0, 38, 138, 133, 0, 1, 0, 5, 0, 254, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 37, 0, 100, 248, 254, 255, 255, 128, 70, 122, 15, 255, 254, 38, 139, 139, 0, 0,
        160,
    ];
    let r = FrameRepr::parse(x).unwrap();
    let again = FrameRepr::parse(&r.emit().unwrap()).unwrap();
    assert_eq!(again, r);
    assert_eq!(again.emit().unwrap(), r.emit().unwrap());
}
