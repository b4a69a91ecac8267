//! Framings of PTP messages (IEEE 1588-2019 Annex C, D, E, F): Ethernet II with at most one
//! 802.1Q (0x8100) or 802.1ad (0x88A8) tag, carrying PTP directly (ethertype 0x88F7), or UDP
//! over IPv4 / IPv6 on ports 319 (event) and 320 (general).
//!
//! * [`parse`] reads a frame's headers zero-copy and returns a [`Frame`]: the [`Transport`]
//!   (addresses, ports, VLAN) and where the PTP payload lies. It never looks into the payload.
//! * [`Transport`] constructors build the standard multicast transports; [`build`] emits a full
//!   frame from a transport and a [`MessageRepr`]; [`FrameRepr`] parses and re-emits a frame
//!   byte-identically, padding included.
//! * [`add_correction`] / [`Frame::add_correction`] add to correctionField in place and fix the
//!   UDP checksum incrementally (RFC 1624), without allocation: the transparent-clock path.
//!
//! Not supported: IPv4 options on emit (accepted on parse), IPv6 extension headers (reported
//! as [`WireError::NotUdp`]), stacked VLAN tags (reported as [`WireError::NotPtpEthertype`]).

pub(crate) mod checksum;

use core::net::{Ipv4Addr, Ipv6Addr};
use core::ops::Range;

pub use checksum::checksum;
use checksum::Pseudo;

use super::bytes::{arr, put, put_u16, u16_at, u32_at, u8_at};
use super::error::{need, WireError};
use super::header::{field as hfield, MessageType};
use super::message::MessageRepr;
use super::time::TimeInterval;

/// Ethertype of PTP over Ethernet (IEEE 1588-2019 Annex E).
pub const ETHERTYPE_PTP: u16 = 0x88F7;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
/// IEEE 802.1Q customer VLAN tag.
pub const TPID_8021Q: u16 = 0x8100;
/// IEEE 802.1ad service VLAN tag.
pub const TPID_8021AD: u16 = 0x88A8;
/// Destination MAC for all PTP messages except peer delay (Annex E.3).
pub const MAC_PRIMARY: [u8; 6] = [0x01, 0x1B, 0x19, 0x00, 0x00, 0x00];
/// Destination MAC for peer-delay messages (Annex E.3).
pub const MAC_PDELAY: [u8; 6] = [0x01, 0x80, 0xC2, 0x00, 0x00, 0x0E];
/// IPv4 primary multicast address (Annex C.3).
pub const IPV4_PRIMARY: Ipv4Addr = Ipv4Addr::new(224, 0, 1, 129);
/// IPv4 peer-delay multicast address (Annex C.3).
pub const IPV4_PDELAY: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 107);
/// IPv6 primary multicast address, global scope (Annex D.3).
pub const IPV6_PRIMARY: Ipv6Addr = Ipv6Addr::new(0xff0e, 0, 0, 0, 0, 0, 0, 0x181);
/// IPv6 peer-delay multicast address, link-local scope (Annex D.3).
pub const IPV6_PDELAY: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x6b);
/// UDP port of event messages.
pub const PORT_EVENT: u16 = 319;
/// UDP port of general messages.
pub const PORT_GENERAL: u16 = 320;
/// Minimum Ethernet frame length without FCS.
pub const ETH_MIN_LEN: usize = 60;

const ETH_HDR: usize = 14;
const VLAN_HDR: usize = 4;
const IPV4_HDR: usize = 20;
const IPV6_HDR: usize = 40;
const UDP_HDR: usize = 8;

/// One 802.1Q / 802.1ad tag.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct VlanTag {
    /// 0x8100 or 0x88A8.
    pub tpid: u16,
    /// Priority code point (3 bits).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier (12 bits).
    pub vid: u16,
}

impl VlanTag {
    /// An 802.1Q tag with priority `pcp` on VLAN `vid`.
    pub const fn dot1q(vid: u16, pcp: u8) -> Self {
        VlanTag {
            tpid: TPID_8021Q,
            pcp,
            dei: false,
            vid,
        }
    }
    fn tci(&self) -> u16 {
        (u16::from(self.pcp & 7) << 13) | (u16::from(self.dei) << 12) | (self.vid & 0x0fff)
    }
}

/// The Ethernet II header fields.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct EthernetRepr {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    pub vlan: Option<VlanTag>,
}

/// The layer above Ethernet.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum NetworkRepr {
    /// PTP directly over Ethernet (Annex E).
    L2,
    /// UDP over IPv4 (Annex C).
    Udp4 {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        src_port: u16,
        dst_port: u16,
        /// Type of service (DSCP + ECN) octet.
        tos: u8,
        identification: u16,
        dont_fragment: bool,
        ttl: u8,
    },
    /// UDP over IPv6 (Annex D).
    Udp6 {
        src: Ipv6Addr,
        dst: Ipv6Addr,
        src_port: u16,
        dst_port: u16,
        traffic_class: u8,
        /// 20 bits.
        flow_label: u32,
        hop_limit: u8,
    },
}

/// Which framing, for display and counters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TransportKind {
    L2,
    Udp4,
    Udp6,
}

impl TransportKind {
    pub const fn name(self) -> &'static str {
        match self {
            TransportKind::L2 => "L2",
            TransportKind::Udp4 => "UDPv4",
            TransportKind::Udp6 => "UDPv6",
        }
    }
}

/// Everything about a frame except its PTP payload.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Transport {
    pub ethernet: EthernetRepr,
    pub network: NetworkRepr,
}

fn is_pdelay(mtype: MessageType) -> bool {
    matches!(
        mtype,
        MessageType::PdelayReq | MessageType::PdelayResp | MessageType::PdelayRespFollowUp
    )
}

fn udp_port(mtype: MessageType) -> u16 {
    if mtype.is_event() {
        PORT_EVENT
    } else {
        PORT_GENERAL
    }
}

impl Transport {
    pub fn kind(&self) -> TransportKind {
        match self.network {
            NetworkRepr::L2 => TransportKind::L2,
            NetworkRepr::Udp4 { .. } => TransportKind::Udp4,
            NetworkRepr::Udp6 { .. } => TransportKind::Udp6,
        }
    }

    /// Ethernet multicast transport for `mtype` (peer-delay messages to 01-80-C2-00-00-0E,
    /// all others to 01-1B-19-00-00-00).
    pub fn l2_multicast(src: [u8; 6], mtype: MessageType) -> Self {
        Transport {
            ethernet: EthernetRepr {
                dst: if is_pdelay(mtype) {
                    MAC_PDELAY
                } else {
                    MAC_PRIMARY
                },
                src,
                vlan: None,
            },
            network: NetworkRepr::L2,
        }
    }

    /// UDP/IPv4 multicast transport for `mtype`: 224.0.0.107 for peer delay, else 224.0.1.129;
    /// port 319 for event messages, else 320 (both source and destination); TTL 1, DF clear.
    pub fn udp4_multicast(src_mac: [u8; 6], src: Ipv4Addr, mtype: MessageType) -> Self {
        let dst = if is_pdelay(mtype) {
            IPV4_PDELAY
        } else {
            IPV4_PRIMARY
        };
        let o = dst.octets();
        Transport {
            ethernet: EthernetRepr {
                dst: [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]],
                src: src_mac,
                vlan: None,
            },
            network: NetworkRepr::Udp4 {
                src,
                dst,
                src_port: udp_port(mtype),
                dst_port: udp_port(mtype),
                tos: 0,
                identification: 0,
                dont_fragment: false,
                ttl: 1,
            },
        }
    }

    /// UDP/IPv6 multicast transport for `mtype`: FF02::6B for peer delay, else FF0E::181;
    /// ports as for IPv4; hop limit 1.
    pub fn udp6_multicast(src_mac: [u8; 6], src: Ipv6Addr, mtype: MessageType) -> Self {
        let dst = if is_pdelay(mtype) {
            IPV6_PDELAY
        } else {
            IPV6_PRIMARY
        };
        let o = dst.octets();
        Transport {
            ethernet: EthernetRepr {
                dst: [0x33, 0x33, o[12], o[13], o[14], o[15]],
                src: src_mac,
                vlan: None,
            },
            network: NetworkRepr::Udp6 {
                src,
                dst,
                src_port: udp_port(mtype),
                dst_port: udp_port(mtype),
                traffic_class: 0,
                flow_label: 0,
                hop_limit: 1,
            },
        }
    }

    /// The same transport with a VLAN tag.
    #[must_use]
    pub fn with_vlan(mut self, tag: VlanTag) -> Self {
        self.ethernet.vlan = Some(tag);
        self
    }

    /// Length of all headers before the PTP payload.
    pub fn header_len(&self) -> usize {
        let l2 = ETH_HDR
            + if self.ethernet.vlan.is_some() {
                VLAN_HDR
            } else {
                0
            };
        l2 + match self.network {
            NetworkRepr::L2 => 0,
            NetworkRepr::Udp4 { .. } => IPV4_HDR + UDP_HDR,
            NetworkRepr::Udp6 { .. } => IPV6_HDR + UDP_HDR,
        }
    }

    /// Appends the headers and `payload` to `out`, with the IPv4 header checksum and the UDP
    /// checksum computed.
    pub fn emit(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len();
        out.extend_from_slice(&self.ethernet.dst);
        out.extend_from_slice(&self.ethernet.src);
        if let Some(tag) = self.ethernet.vlan {
            out.extend_from_slice(&tag.tpid.to_be_bytes());
            out.extend_from_slice(&tag.tci().to_be_bytes());
        }
        let too_long = WireError::FieldOverflow { what: "UDP length" };
        let udp_len = u16::try_from(UDP_HDR + payload.len()).map_err(|_| too_long)?;
        match self.network {
            NetworkRepr::L2 => {
                out.extend_from_slice(&ETHERTYPE_PTP.to_be_bytes());
                out.extend_from_slice(payload);
            }
            NetworkRepr::Udp4 {
                src,
                dst,
                src_port,
                dst_port,
                tos,
                identification,
                dont_fragment,
                ttl,
            } => {
                let total = u16::try_from(IPV4_HDR + UDP_HDR + payload.len()).map_err(|_| {
                    WireError::FieldOverflow {
                        what: "IPv4 total length",
                    }
                })?;
                out.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
                let ip = out.len();
                out.extend_from_slice(&[0x45, tos]);
                out.extend_from_slice(&total.to_be_bytes());
                out.extend_from_slice(&identification.to_be_bytes());
                out.extend_from_slice(&(if dont_fragment { 0x4000u16 } else { 0 }).to_be_bytes());
                out.extend_from_slice(&[ttl, 17, 0, 0]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
                let c = checksum(out.get(ip..).unwrap_or(&[]));
                put_u16(out, ip + 10, c);
                emit_udp(
                    out,
                    Pseudo::V4(src, dst),
                    src_port,
                    dst_port,
                    udp_len,
                    payload,
                );
            }
            NetworkRepr::Udp6 {
                src,
                dst,
                src_port,
                dst_port,
                traffic_class,
                flow_label,
                hop_limit,
            } => {
                out.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
                let w = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0xfffff);
                out.extend_from_slice(&w.to_be_bytes());
                out.extend_from_slice(&udp_len.to_be_bytes());
                out.extend_from_slice(&[17, hop_limit]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
                emit_udp(
                    out,
                    Pseudo::V6(src, dst),
                    src_port,
                    dst_port,
                    udp_len,
                    payload,
                );
            }
        }
        debug_assert_eq!(out.len() - start, self.header_len() + payload.len());
        Ok(())
    }
}

fn emit_udp(
    out: &mut Vec<u8>,
    pseudo: Pseudo,
    src_port: u16,
    dst_port: u16,
    udp_len: u16,
    payload: &[u8],
) {
    let udp = out.len();
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&udp_len.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    let c = checksum::udp_checksum(pseudo, out.get(udp..).unwrap_or(&[]));
    // RFC 768: a computed zero is sent as all ones (zero means "no checksum" on IPv4).
    put_u16(out, udp + 6, if c == 0 { 0xffff } else { c });
}

/// The result of [`parse`]: the transport and the offsets of the PTP payload and of the UDP
/// checksum within the frame. Plain offsets, so the fast path can rewrite fields without
/// parsing again.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Frame {
    pub transport: Transport,
    /// The PTP payload: the UDP payload (per the UDP length), or for L2 everything after the
    /// ethertype (which includes Ethernet padding).
    pub payload: Range<usize>,
    /// End of the IP datagram (per its length field); octets from here to the frame's end are
    /// Ethernet padding. Equal to `payload.end` for L2.
    pub datagram_end: usize,
    /// Offset of the UDP checksum field; `None` for L2.
    pub udp_checksum_at: Option<usize>,
    /// Offset of the UDP header; `None` for L2.
    pub udp_at: Option<usize>,
}

/// Parses the headers of an Ethernet frame (without FCS) carrying PTP.
///
/// Non-PTP frames give [`WireError::NotPtpEthertype`], [`WireError::NotUdp`] or
/// [`WireError::WrongUdpPort`] ([`WireError::is_not_ptp`]); anything else is a malformed frame.
pub fn parse(buf: &[u8]) -> Result<Frame, WireError> {
    need(buf, ETH_HDR, "Ethernet header")?;
    let dst = arr::<6>(buf, 0);
    let src = arr::<6>(buf, 6);
    let mut ethertype = u16_at(buf, 12);
    let mut off = ETH_HDR;
    let mut vlan = None;
    if ethertype == TPID_8021Q || ethertype == TPID_8021AD {
        need(buf, ETH_HDR + VLAN_HDR, "VLAN tag")?;
        let tci = u16_at(buf, 14);
        vlan = Some(VlanTag {
            tpid: ethertype,
            pcp: (tci >> 13) as u8,
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0fff,
        });
        ethertype = u16_at(buf, 16);
        off += VLAN_HDR;
    }
    let ethernet = EthernetRepr { dst, src, vlan };
    match ethertype {
        ETHERTYPE_PTP => Ok(Frame {
            transport: Transport {
                ethernet,
                network: NetworkRepr::L2,
            },
            payload: off..buf.len(),
            datagram_end: buf.len(),
            udp_checksum_at: None,
            udp_at: None,
        }),
        ETHERTYPE_IPV4 => parse_ipv4(buf, off, ethernet),
        ETHERTYPE_IPV6 => parse_ipv6(buf, off, ethernet),
        other => Err(WireError::NotPtpEthertype(other)),
    }
}

fn parse_ipv4(buf: &[u8], ip: usize, ethernet: EthernetRepr) -> Result<Frame, WireError> {
    let avail = buf.len() - ip;
    need(buf, ip + IPV4_HDR, "IPv4 header")?;
    let vihl = u8_at(buf, ip);
    if vihl >> 4 != 4 {
        return Err(WireError::BadIpVersion(vihl >> 4));
    }
    let ihl = usize::from(vihl & 0x0f) * 4;
    if ihl < IPV4_HDR || ihl > avail {
        return Err(WireError::BadIpHeaderLength(vihl & 0x0f));
    }
    let total = u16_at(buf, ip + 2);
    if usize::from(total) < ihl || usize::from(total) > avail {
        return Err(WireError::BadIpLength {
            length: total,
            available: avail,
        });
    }
    let frag = u16_at(buf, ip + 6);
    if frag & 0x3fff != 0 {
        return Err(WireError::Ipv4Fragment(frag));
    }
    let proto = u8_at(buf, ip + 9);
    if proto != 17 {
        return Err(WireError::NotUdp(proto));
    }
    let src = Ipv4Addr::from(arr::<4>(buf, ip + 12));
    let dst = Ipv4Addr::from(arr::<4>(buf, ip + 16));
    let end = ip + usize::from(total);
    let udp = ip + ihl;
    let (src_port, dst_port, payload) = parse_udp(buf, udp, end)?;
    Ok(Frame {
        transport: Transport {
            ethernet,
            network: NetworkRepr::Udp4 {
                src,
                dst,
                src_port,
                dst_port,
                tos: u8_at(buf, ip + 1),
                identification: u16_at(buf, ip + 4),
                dont_fragment: frag & 0x4000 != 0,
                ttl: u8_at(buf, ip + 8),
            },
        },
        payload,
        datagram_end: end,
        udp_checksum_at: Some(udp + 6),
        udp_at: Some(udp),
    })
}

fn parse_ipv6(buf: &[u8], ip: usize, ethernet: EthernetRepr) -> Result<Frame, WireError> {
    need(buf, ip + IPV6_HDR, "IPv6 header")?;
    let w = u32_at(buf, ip);
    if w >> 28 != 6 {
        return Err(WireError::BadIpVersion((w >> 28) as u8));
    }
    let plen = u16_at(buf, ip + 4);
    let avail = buf.len() - ip - IPV6_HDR;
    if usize::from(plen) > avail {
        return Err(WireError::BadIpLength {
            length: plen,
            available: avail,
        });
    }
    let nh = u8_at(buf, ip + 6);
    if nh != 17 {
        return Err(WireError::NotUdp(nh));
    }
    let udp = ip + IPV6_HDR;
    let end = udp + usize::from(plen);
    let (src_port, dst_port, payload) = parse_udp(buf, udp, end)?;
    Ok(Frame {
        transport: Transport {
            ethernet,
            network: NetworkRepr::Udp6 {
                src: Ipv6Addr::from(arr::<16>(buf, ip + 8)),
                dst: Ipv6Addr::from(arr::<16>(buf, ip + 24)),
                src_port,
                dst_port,
                traffic_class: (w >> 20) as u8,
                flow_label: w & 0xfffff,
                hop_limit: u8_at(buf, ip + 7),
            },
        },
        payload,
        datagram_end: end,
        udp_checksum_at: Some(udp + 6),
        udp_at: Some(udp),
    })
}

/// Parses the UDP header at `udp` inside an IP payload ending at `end`.
fn parse_udp(buf: &[u8], udp: usize, end: usize) -> Result<(u16, u16, Range<usize>), WireError> {
    let avail = end.saturating_sub(udp);
    if avail < UDP_HDR {
        return Err(WireError::Truncated {
            what: "UDP header",
            need: UDP_HDR,
            have: avail,
        });
    }
    let src_port = u16_at(buf, udp);
    let dst_port = u16_at(buf, udp + 2);
    if dst_port != PORT_EVENT && dst_port != PORT_GENERAL {
        return Err(WireError::WrongUdpPort(dst_port));
    }
    let len = u16_at(buf, udp + 4);
    if usize::from(len) < UDP_HDR || usize::from(len) > avail {
        return Err(WireError::BadUdpLength {
            length: len,
            available: avail,
        });
    }
    Ok((src_port, dst_port, udp + UDP_HDR..udp + usize::from(len)))
}

impl Frame {
    /// The PTP payload octets of `buf` (the frame this was parsed from).
    pub fn payload<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.payload.clone()).unwrap_or(&[])
    }

    /// Checks the UDP checksum of the frame `buf` this was parsed from. L2 frames and IPv4
    /// datagrams without a checksum (0) pass; IPv6 with zero checksum is an error.
    pub fn verify_udp_checksum(&self, buf: &[u8]) -> Result<(), WireError> {
        let (Some(udp), Some(at)) = (self.udp_at, self.udp_checksum_at) else {
            return Ok(());
        };
        let stored = u16_at(buf, at);
        let pseudo = match self.transport.network {
            NetworkRepr::L2 => return Ok(()),
            NetworkRepr::Udp4 { src, dst, .. } => {
                if stored == 0 {
                    return Ok(());
                }
                Pseudo::V4(src, dst)
            }
            NetworkRepr::Udp6 { src, dst, .. } => {
                if stored == 0 {
                    return Err(WireError::ZeroUdpChecksumIpv6);
                }
                Pseudo::V6(src, dst)
            }
        };
        let dgram = buf.get(udp..self.payload.end).unwrap_or(&[]);
        match checksum::udp_checksum(pseudo, dgram) {
            0 => Ok(()),
            _ => Err(WireError::BadUdpChecksum(stored)),
        }
    }

    /// Adds `delta` to the correctionField of the PTP message in `buf` (the frame this was
    /// parsed from) and updates the UDP checksum incrementally (RFC 1624). An IPv4 checksum of
    /// zero (none) stays zero. No allocation.
    pub fn add_correction(&self, buf: &mut [u8], delta: TimeInterval) -> Result<(), WireError> {
        let at = self.payload.start + hfield::CORRECTION.start;
        let have = self.payload.len();
        let old: [u8; 8] = buf
            .get(at..at + 8)
            .and_then(|s| s.try_into().ok())
            .filter(|_| have >= hfield::CORRECTION.end)
            .ok_or(WireError::Truncated {
                what: "correctionField",
                need: hfield::CORRECTION.end,
                have,
            })?;
        let new = TimeInterval(i64::from_be_bytes(old))
            .checked_add(delta)
            .ok_or(WireError::CorrectionOverflow)?
            .0
            .to_be_bytes();
        put(buf, at, &new);
        if let Some(c) = self.udp_checksum_at {
            let hc = u16_at(buf, c);
            if hc != 0 {
                let n = checksum::update(hc, &old, &new);
                put_u16(buf, c, if n == 0 { 0xffff } else { n });
            }
        }
        Ok(())
    }
}

/// Parses `buf` and adds `delta` to its correctionField in place, fixing the UDP checksum.
pub fn add_correction(buf: &mut [u8], delta: TimeInterval) -> Result<(), WireError> {
    parse(buf)?.add_correction(buf, delta)
}

/// A whole frame as an owned value: transport, message, and the octets around the message that
/// are not part of it, so that [`FrameRepr::emit`] reproduces a parsed frame exactly.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FrameRepr {
    pub transport: Transport,
    pub message: MessageRepr,
    /// Octets after messageLength inside the PTP payload (L2: Ethernet padding; UDP: rare).
    pub trailer: Vec<u8>,
    /// Octets after the IP datagram (Ethernet padding of UDP frames); empty for L2.
    pub padding: Vec<u8>,
    /// `None`: emit the computed UDP checksum. `Some(v)`: emit `v` verbatim. [`FrameRepr::parse`]
    /// sets it only when the frame's checksum field is not the one [`FrameRepr::emit`] would
    /// compute: zero on IPv4 ("no checksum", RFC 768), or the partial pseudo-header sum that
    /// checksum offload leaves in frames captured on the sending host (every UDP frame captured
    /// on a veth). Set it to `None` after changing the message to get a valid checksum.
    pub udp_checksum: Option<u16>,
}

impl FrameRepr {
    /// A frame for `message` on `transport`, zero-padded to the Ethernet minimum of 60 octets.
    pub fn new(transport: Transport, message: MessageRepr) -> Self {
        let len = transport.header_len() + message.buffer_len();
        let pad = vec![0; ETH_MIN_LEN.saturating_sub(len)];
        let (trailer, padding) = match transport.network {
            NetworkRepr::L2 => (pad, Vec::new()),
            _ => (Vec::new(), pad),
        };
        FrameRepr {
            transport,
            message,
            trailer,
            padding,
            udp_checksum: None,
        }
    }

    /// Parses a whole frame.
    pub fn parse(buf: &[u8]) -> Result<Self, WireError> {
        let f = parse(buf)?;
        let payload = f.payload(buf);
        let message = MessageRepr::parse(payload)?;
        let mlen = usize::from(u16_at(payload, hfield::LENGTH.start));
        let mut repr = FrameRepr {
            transport: f.transport,
            message,
            trailer: payload.get(mlen..).unwrap_or(&[]).to_vec(),
            padding: buf.get(f.datagram_end..).unwrap_or(&[]).to_vec(),
            udp_checksum: None,
        };
        // Keep a checksum field that emit would not reproduce (see `udp_checksum`). "Would
        // reproduce" is decided against what emit computes for the parsed message, not by
        // verifying the received octets: emit normalises (reserved octets become zero), and a
        // stored value that was wrong for the received octets can be right for the normalised
        // ones, which would make parse(emit(parse(x))) differ from parse(x) (found by the
        // wire_frame fuzz target). Emit never writes 0, so a stored 0 is always kept.
        if let Some(at) = f.udp_checksum_at {
            let stored = u16_at(buf, at);
            let emitted = repr.emit()?;
            let computed = u16_at(&emitted, repr.transport.header_len() - 2);
            repr.udp_checksum = (stored != computed).then_some(stored);
        }
        Ok(repr)
    }

    /// Emits the frame.
    pub fn emit(&self) -> Result<Vec<u8>, WireError> {
        let mut payload = self.message.to_vec()?;
        payload.extend_from_slice(&self.trailer);
        let mut out = Vec::with_capacity(self.transport.header_len() + payload.len() + 64);
        self.transport.emit(&payload, &mut out)?;
        if let (Some(c), NetworkRepr::Udp4 { .. } | NetworkRepr::Udp6 { .. }) =
            (self.udp_checksum, self.transport.network)
        {
            // The UDP header ends the transport headers; its checksum is their last two octets.
            put_u16(&mut out, self.transport.header_len() - 2, c);
        }
        out.extend_from_slice(&self.padding);
        Ok(out)
    }
}

/// Builds a complete frame for `message` on `transport` (padded to 60 octets).
pub fn build(transport: &Transport, message: &MessageRepr) -> Result<Vec<u8>, WireError> {
    FrameRepr::new(*transport, message.clone()).emit()
}

/// The frame `buf` with its message (up to messageLength; later octets dropped) signed with
/// an AUTHENTICATION TLV of `key` under `spp` (IEEE 1588-2019 16.14, see
/// [`super::auth::append_signed`]), re-framed on the same transport and padded to 60 octets.
/// `None` when the frame or the message header does not parse far enough. Allocates: for
/// tests, tools and fuzzing, not the fast path.
pub fn signed(buf: &[u8], spp: u8, key: super::auth::KeyRef<'_>, mutable: bool) -> Option<Vec<u8>> {
    let f = parse(buf).ok()?;
    let payload = f.payload(buf);
    let len = usize::from(u16_at(payload, hfield::LENGTH.start));
    let mut msg = payload.get(..len)?.to_vec();
    msg.resize(len + super::auth::tlv_len(key.icv_len), 0);
    let n = super::auth::append_signed(&mut msg, len, spp, key, mutable).ok()?;
    msg.truncate(n);
    let mut out = Vec::new();
    f.transport.emit(&msg, &mut out).ok()?;
    out.resize(out.len().max(ETH_MIN_LEN), 0);
    Some(out)
}
