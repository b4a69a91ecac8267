//! Transport mapping: what a port's `network_transport`, `ptp_dst_mac`, `p2p_dst_mac`,
//! `udp_ttl`, `udp6_scope` and `dscp_*` keys mean for the frames `xptp run` sends, and which
//! received frames a port accepts. PTP over Ethernet (IEEE 1588-2019 Annex E), UDP/IPv4
//! (Annex C) and UDP/IPv6 (Annex D); event messages to port 319, general to 320; peer-delay
//! messages to the peer-delay address, all others to the primary one.
//!
//! Also reads an interface's MAC and IP addresses. It must not touch rings or clocks.

use std::net::{Ipv4Addr, Ipv6Addr};

use xptp_datapath::handoff::FrameBuf;
use xptp_datapath::wire::frame::{self, NetworkRepr, Transport, TransportKind, ETH_MIN_LEN};
use xptp_datapath::wire::{MessageType, WireError};

use crate::datasets::PortConfig;
use crate::profile::Transport as NetTransport;
use crate::security::SourceAddress;

/// Why a message could not be framed.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    /// The core produced bytes that are not a PTP message.
    #[error("not a PTP message: {0}")]
    Message(#[source] WireError),
    /// Encoding the headers failed.
    #[error("framing: {0}")]
    Wire(#[source] WireError),
    /// The frame is longer than a datapath frame buffer.
    #[error("frame of {0} bytes is longer than a datapath frame buffer")]
    TooLong(usize),
}

/// Why an interface cannot carry the configured transport.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// `/sys/class/net/IF/address` could not be read or parsed.
    #[error("reading the MAC address of {ifname} (/sys/class/net/{ifname}/address): {detail}; check the interface name (`ip link`)")]
    Mac { ifname: String, detail: String },
    /// UDPv4 without an IPv4 address.
    #[error("{ifname} has no IPv4 address, which network_transport UDPv4 needs as the source of PTP datagrams: add one (`ip addr add 192.0.2.1/24 dev {ifname}`) or use L2 (-2)")]
    NoIpv4 { ifname: String },
    /// UDPv6 without an IPv6 address.
    #[error("{ifname} has no IPv6 address, which network_transport UDPv6 needs: enable IPv6 on it (a link-local address is enough) or use L2 (-2)")]
    NoIpv6 { ifname: String },
}

/// How one port frames what it sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortNet {
    /// Interface name.
    pub ifname: String,
    /// Its MAC address (Ethernet source).
    pub mac: [u8; 6],
    /// `network_transport`.
    pub transport: NetTransport,
    /// IPv4 source (UDPv4).
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 source (UDPv6).
    pub ipv6: Option<Ipv6Addr>,
    /// `ptp_dst_mac`.
    pub ptp_dst_mac: [u8; 6],
    /// `p2p_dst_mac`.
    pub p2p_dst_mac: [u8; 6],
    /// `udp_ttl`.
    pub udp_ttl: u8,
    /// `udp6_scope`.
    pub udp6_scope: u8,
    /// `dscp_event`.
    pub dscp_event: u8,
    /// `dscp_general`.
    pub dscp_general: u8,
}

fn is_pdelay(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::PdelayReq | MessageType::PdelayResp | MessageType::PdelayRespFollowUp
    )
}

impl PortNet {
    /// The port `ifname` with configuration `pc`, addresses read from the system.
    pub fn discover(
        ifname: &str,
        pc: &PortConfig,
        dscp_event: u8,
        dscp_general: u8,
    ) -> Result<Self, AddressError> {
        let mac = read_mac(ifname)?;
        let (v4, v6) = interface_addresses(ifname);
        let n = PortNet {
            ifname: ifname.to_owned(),
            mac,
            transport: pc.network_transport,
            ipv4: v4,
            ipv6: v6,
            ptp_dst_mac: pc.ptp_dst_mac,
            p2p_dst_mac: pc.p2p_dst_mac,
            udp_ttl: pc.udp_ttl,
            udp6_scope: pc.udp6_scope,
            dscp_event,
            dscp_general,
        };
        match n.transport {
            NetTransport::UdpIpv4 if n.ipv4.is_none() => Err(AddressError::NoIpv4 {
                ifname: ifname.into(),
            }),
            NetTransport::UdpIpv6 if n.ipv6.is_none() => Err(AddressError::NoIpv6 {
                ifname: ifname.into(),
            }),
            _ => Ok(n),
        }
    }

    /// The framing kind received frames must have.
    pub fn kind(&self) -> TransportKind {
        match self.transport {
            NetTransport::L2 => TransportKind::L2,
            NetTransport::UdpIpv4 => TransportKind::Udp4,
            NetTransport::UdpIpv6 => TransportKind::Udp6,
        }
    }

    /// The link-layer and network headers for a message of type `mtype`.
    pub fn transport_for(&self, mtype: MessageType) -> Transport {
        let tos = |event: bool| {
            (if event {
                self.dscp_event
            } else {
                self.dscp_general
            }) << 2
        };
        match self.transport {
            NetTransport::L2 => {
                let mut t = Transport::l2_multicast(self.mac, mtype);
                t.ethernet.dst = if is_pdelay(mtype) {
                    self.p2p_dst_mac
                } else {
                    self.ptp_dst_mac
                };
                t
            }
            NetTransport::UdpIpv4 => {
                let mut t = Transport::udp4_multicast(
                    self.mac,
                    self.ipv4.unwrap_or(Ipv4Addr::UNSPECIFIED),
                    mtype,
                );
                if let NetworkRepr::Udp4 { tos: q, ttl, .. } = &mut t.network {
                    *q = tos(mtype.is_event());
                    *ttl = self.udp_ttl;
                }
                t
            }
            NetTransport::UdpIpv6 => {
                let mut t = Transport::udp6_multicast(
                    self.mac,
                    self.ipv6.unwrap_or(Ipv6Addr::UNSPECIFIED),
                    mtype,
                );
                if let NetworkRepr::Udp6 {
                    dst,
                    traffic_class,
                    hop_limit,
                    ..
                } = &mut t.network
                {
                    if !is_pdelay(mtype) {
                        // FF0X::181 with X = udp6_scope (D.3); the MAC (33-33 + low 32 bits)
                        // does not depend on the scope.
                        let mut o = dst.octets();
                        o[1] = self.udp6_scope & 0x0f;
                        *dst = Ipv6Addr::from(o);
                    }
                    *traffic_class = tos(mtype.is_event());
                    *hop_limit = self.udp_ttl;
                }
                t
            }
        }
    }

    /// Frames a PTP message (`payload`, as the core produced it) for this port.
    pub fn frame(&self, payload: &[u8]) -> Result<FrameBuf, FramingError> {
        let first = payload
            .first()
            .ok_or(FramingError::Message(WireError::Truncated {
                what: "PTP header",
                need: 34,
                have: 0,
            }))?;
        let mtype = MessageType::from_nibble(first & 0x0f).map_err(FramingError::Message)?;
        let t = self.transport_for(mtype);
        let mut out = Vec::with_capacity(t.header_len() + payload.len());
        t.emit(payload, &mut out).map_err(FramingError::Wire)?;
        if out.len() < ETH_MIN_LEN {
            out.resize(ETH_MIN_LEN, 0);
        }
        FrameBuf::from_slice(&out).map_err(|_| FramingError::TooLong(out.len()))
    }
}

/// Why a received frame is not for the core.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RxReject {
    /// Not parseable as Ethernet/IP/UDP carrying PTP.
    Unparseable,
    /// Carried on a transport the port is not configured for (ptp4l does not listen there
    /// either).
    WrongTransport,
}

/// The PTP payload of a received frame if it arrived on the port's transport.
pub fn accept<'a>(net: &PortNet, bytes: &'a [u8]) -> Result<&'a [u8], RxReject> {
    accept_from(net, bytes).map(|(p, _)| p)
}

/// [`accept`], with the sender's address: the IP source for UDP transports (Annexes C, D),
/// the Ethernet source for L2 (Annex E). The core records it for rogue masters.
pub fn accept_from<'a>(
    net: &PortNet,
    bytes: &'a [u8],
) -> Result<(&'a [u8], SourceAddress), RxReject> {
    let f = frame::parse(bytes).map_err(|_| RxReject::Unparseable)?;
    if f.transport.kind() != net.kind() {
        return Err(RxReject::WrongTransport);
    }
    let src = match f.transport.network {
        NetworkRepr::L2 => SourceAddress::Mac(f.transport.ethernet.src),
        NetworkRepr::Udp4 { src, .. } => SourceAddress::Ip(src.into()),
        NetworkRepr::Udp6 { src, .. } => SourceAddress::Ip(src.into()),
    };
    Ok((f.payload(bytes), src))
}

/// Reads an interface's MAC address from sysfs.
pub fn read_mac(ifname: &str) -> Result<[u8; 6], AddressError> {
    let err = |detail: String| AddressError::Mac {
        ifname: ifname.to_owned(),
        detail,
    };
    let s = std::fs::read_to_string(format!("/sys/class/net/{ifname}/address"))
        .map_err(|e| err(e.to_string()))?;
    let parts: Vec<u8> = s
        .trim()
        .split(':')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<Result<_, _>>()
        .map_err(|e| err(format!("{s:?}: {e}")))?;
    <[u8; 6]>::try_from(parts.as_slice()).map_err(|_| err(format!("not a MAC address: {s:?}")))
}

/// The first IPv4 address and the preferred IPv6 address (global before link-local) of
/// `ifname`, from getifaddrs(3).
pub fn interface_addresses(ifname: &str) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    let mut v4 = None;
    let mut v6: Option<Ipv6Addr> = None;
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `head`; on success it is freed below with
    // freeifaddrs and not used afterwards.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return (None, None);
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, alive until freeifaddrs.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
        if name.to_bytes() != ifname.as_bytes() {
            continue;
        }
        // SAFETY: ifa_addr is non-null and points at a sockaddr whose family tells its type.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        if family == libc::AF_INET && v4.is_none() {
            // SAFETY: AF_INET addresses are sockaddr_in.
            let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
            v4 = Some(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
        } else if family == libc::AF_INET6 {
            // SAFETY: AF_INET6 addresses are sockaddr_in6.
            let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
            let a = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            let link_local = a.segments()[0] & 0xffc0 == 0xfe80;
            if v6.is_none()
                || (!link_local && v6.is_some_and(|o| o.segments()[0] & 0xffc0 == 0xfe80))
            {
                v6 = Some(a);
            }
        }
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed exactly once.
    unsafe { libc::freeifaddrs(head) };
    (v4, v6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xptp_datapath::wire::frame::{IPV4_PDELAY, IPV4_PRIMARY, MAC_PDELAY, MAC_PRIMARY};

    fn net(t: NetTransport) -> PortNet {
        let pc = PortConfig::default();
        PortNet {
            ifname: "x".into(),
            mac: [2, 0, 0, 0, 0, 1],
            transport: t,
            ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            ipv6: Some("fe80::1".parse().unwrap()),
            ptp_dst_mac: pc.ptp_dst_mac,
            p2p_dst_mac: pc.p2p_dst_mac,
            udp_ttl: 1,
            udp6_scope: 0x0e,
            dscp_event: 46,
            dscp_general: 0,
        }
    }

    fn msg(t: MessageType) -> Vec<u8> {
        let mut m = vec![0u8; 44];
        m[0] = t as u8;
        m[1] = 2;
        m[3] = 44;
        m
    }

    #[test]
    fn l2_uses_primary_and_peer_delay_macs() {
        let n = net(NetTransport::L2);
        let f = n.frame(&msg(MessageType::Sync)).unwrap();
        assert_eq!(&f.as_slice()[..6], &MAC_PRIMARY);
        assert_eq!(&f.as_slice()[6..12], &n.mac);
        assert_eq!(&f.as_slice()[12..14], &[0x88, 0xf7]);
        assert_eq!(f.len(), 60);
        let f = n.frame(&msg(MessageType::PdelayReq)).unwrap();
        assert_eq!(&f.as_slice()[..6], &MAC_PDELAY);
        assert_eq!(accept(&n, f.as_slice()).unwrap().len(), 46);
        assert_eq!(
            accept_from(&n, f.as_slice()).unwrap().1,
            SourceAddress::Mac(n.mac)
        );
        let n4 = net(NetTransport::UdpIpv4);
        let f4 = n4.frame(&msg(MessageType::Sync)).unwrap();
        assert_eq!(
            accept_from(&n4, f4.as_slice()).unwrap().1,
            SourceAddress::Ip(Ipv4Addr::new(10, 0, 0, 1).into())
        );
        let u = net(NetTransport::UdpIpv4)
            .frame(&msg(MessageType::Sync))
            .unwrap();
        assert_eq!(accept(&n, u.as_slice()), Err(RxReject::WrongTransport));
    }

    #[test]
    fn udp4_ports_addresses_and_dscp() {
        let n = net(NetTransport::UdpIpv4);
        let f = n.frame(&msg(MessageType::DelayReq)).unwrap();
        let p = frame::parse(f.as_slice()).unwrap();
        match p.transport.network {
            NetworkRepr::Udp4 {
                dst, dst_port, tos, ..
            } => assert_eq!((dst, dst_port, tos), (IPV4_PRIMARY, 319, 46 << 2)),
            o => panic!("{o:?}"),
        }
        p.verify_udp_checksum(f.as_slice()).unwrap();
        let f = n.frame(&msg(MessageType::PdelayRespFollowUp)).unwrap();
        match frame::parse(f.as_slice()).unwrap().transport.network {
            NetworkRepr::Udp4 { dst, dst_port, .. } => {
                assert_eq!((dst, dst_port), (IPV4_PDELAY, 320))
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn udp6_scope_applies_to_primary_only() {
        let mut n = net(NetTransport::UdpIpv6);
        n.udp6_scope = 2;
        let f = n.frame(&msg(MessageType::Announce)).unwrap();
        match frame::parse(f.as_slice()).unwrap().transport.network {
            NetworkRepr::Udp6 { dst, .. } => {
                assert_eq!(dst, "ff02::181".parse::<Ipv6Addr>().unwrap())
            }
            o => panic!("{o:?}"),
        }
        assert!(n.frame(&[]).is_err());
        assert!(n.frame(&[0x0f]).is_err());
    }

    #[test]
    fn loopback_has_an_ipv4_address() {
        assert_eq!(interface_addresses("lo").0, Some(Ipv4Addr::LOCALHOST));
        assert!(read_mac("no-such-if0").is_err());
    }
}
