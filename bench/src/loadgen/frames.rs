//! Request frame templates: one valid frame per (message, framing), built once with the wire
//! codec, then stamped per send with the identity index and sequenceId by writing a few octets.
//! UDP templates carry a zero UDP checksum (allowed over IPv4) so stamping needs no fix-up.

use std::net::Ipv4Addr;

use xptp_datapath::wire::{
    frame::{self, NetworkRepr, Transport},
    Body, ClockIdentity, HeaderRepr, MessageRepr, PortIdentity, Timestamp,
};

/// Fixed first five octets of every generated clockIdentity; the last three carry the identity
/// index (so up to 2^24 identities). `02` marks a locally administered EUI.
pub const ID_PREFIX: [u8; 5] = [0x02, 0xbe, 0x4c, 0xff, 0xfe];

/// The clockIdentity of generated identity `i` (portNumber is always 1).
pub fn identity(i: u32) -> PortIdentity {
    let b = i.to_be_bytes();
    let mut c = [0u8; 8];
    c[..5].copy_from_slice(&ID_PREFIX);
    c[5..].copy_from_slice(&b[1..]);
    PortIdentity::new(ClockIdentity(c), 1)
}

/// The identity index of a port identity (octets as on the wire), if it is one of ours.
#[inline]
pub fn identity_index(pid: &[u8]) -> Option<u32> {
    let p = pid.get(..10)?;
    if p.get(..5)? != ID_PREFIX || p.get(8..10)? != [0, 1] {
        return None;
    }
    Some(u32::from_be_bytes([0, *p.get(5)?, *p.get(6)?, *p.get(7)?]))
}

/// The message a generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
pub enum Request {
    /// Delay_Req (IEEE 1588-2019 13.6), answered by Delay_Resp.
    DelayReq,
    /// Pdelay_Req (13.9), answered by Pdelay_Resp (+ Pdelay_Resp_Follow_Up when two-step).
    PdelayReq,
    /// Two-step Sync (13.6) and its Follow_Up (13.7), for transparent clocks to forward.
    Sync,
}

/// The framing of generated frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
pub enum Wire {
    /// Ethernet, ethertype 0x88F7 (Annex E).
    L2,
    /// UDP over IPv4 (Annex C).
    Udp4,
}

impl Wire {
    /// Name as in ptp4l's `network_transport`.
    pub fn name(self) -> &'static str {
        match self {
            Wire::L2 => "L2",
            Wire::Udp4 => "UDPv4",
        }
    }
}

/// A frame to copy and stamp.
#[derive(Debug, Clone)]
pub struct Template {
    /// The whole frame.
    pub bytes: Vec<u8>,
    /// Offset of the PTP message in `bytes`.
    pub ptp_at: usize,
}

impl Template {
    /// Builds the template of `body` sent from `src_mac` / `src_ip` on `wire` in `domain`.
    pub fn new(
        wire: Wire,
        src_mac: [u8; 6],
        src_ip: Ipv4Addr,
        domain: u8,
        body: Body,
        log_interval: i8,
    ) -> Result<Self, xptp_datapath::wire::WireError> {
        let msg = MessageRepr::new(
            HeaderRepr {
                domain_number: domain,
                source_port_identity: identity(0),
                log_message_interval: log_interval,
                flags: if matches!(body, Body::Sync { .. }) {
                    xptp_datapath::wire::FlagField(0x0200)
                } else {
                    xptp_datapath::wire::FlagField(0)
                },
                ..HeaderRepr::default()
            },
            body,
        );
        let mtype = msg.message_type();
        let transport = match wire {
            Wire::L2 => Transport::l2_multicast(src_mac, mtype),
            Wire::Udp4 => Transport::udp4_multicast(src_mac, src_ip, mtype),
        };
        let mut bytes = frame::build(&transport, &msg)?;
        let f = frame::parse(&bytes)?;
        if let (NetworkRepr::Udp4 { .. }, Some(at)) = (f.transport.network, f.udp_checksum_at) {
            if let Some(c) = bytes.get_mut(at..at + 2) {
                c.copy_from_slice(&[0, 0]);
            }
        }
        Ok(Template {
            ptp_at: f.payload.start,
            bytes,
        })
    }

    /// The request template for `req` (for [`Request::Sync`]: the Sync; see
    /// [`Template::follow_up`]).
    pub fn request(
        req: Request,
        wire: Wire,
        src_mac: [u8; 6],
        src_ip: Ipv4Addr,
        domain: u8,
    ) -> Result<Self, xptp_datapath::wire::WireError> {
        let ts = Timestamp::default();
        let (body, interval) = match req {
            Request::DelayReq => (
                Body::DelayReq {
                    origin_timestamp: ts,
                },
                0x7f,
            ),
            Request::PdelayReq => (
                Body::PdelayReq {
                    origin_timestamp: ts,
                },
                0x7f,
            ),
            Request::Sync => (
                Body::Sync {
                    origin_timestamp: ts,
                },
                -7,
            ),
        };
        Self::new(wire, src_mac, src_ip, domain, body, interval)
    }

    /// The Follow_Up template of the Sync stream.
    pub fn follow_up(
        wire: Wire,
        src_mac: [u8; 6],
        src_ip: Ipv4Addr,
        domain: u8,
    ) -> Result<Self, xptp_datapath::wire::WireError> {
        Self::new(
            wire,
            src_mac,
            src_ip,
            domain,
            Body::FollowUp {
                precise_origin_timestamp: Timestamp::default(),
            },
            -7,
        )
    }

    /// Readdresses the frame to unicast `mac` (and `ip` for UDP; the IPv4 header checksum is
    /// recomputed).
    pub fn set_unicast(&mut self, mac: [u8; 6], ip: Ipv4Addr) {
        if let Some(d) = self.bytes.get_mut(..6) {
            d.copy_from_slice(&mac);
        }
        let is_ip = self.bytes.get(12..14) == Some(&[0x08, 0x00][..]);
        if is_ip {
            if let Some(d) = self.bytes.get_mut(30..34) {
                d.copy_from_slice(&ip.octets());
            }
            if let Some(h) = self.bytes.get_mut(14..34) {
                h[10] = 0;
                h[11] = 0;
                let c = frame::checksum(h);
                h[10..12].copy_from_slice(&c.to_be_bytes());
            }
        }
    }

    /// Copies the template into `out` (which must be at least as long), stamped with identity
    /// `idx`, `seq` and originTimestamp `origin_ns` (CLOCK_TAI); returns the frame length.
    #[inline]
    pub fn stamp(&self, out: &mut [u8], idx: u32, seq: u16, origin_ns: u64) -> usize {
        let n = self.bytes.len();
        let Some(dst) = out.get_mut(..n) else {
            return 0;
        };
        dst.copy_from_slice(&self.bytes);
        let p = self.ptp_at;
        let id = idx.to_be_bytes();
        if let Some(d) = dst.get_mut(p + 25..p + 28) {
            d.copy_from_slice(&id[1..]);
        }
        if let Some(d) = dst.get_mut(p + 30..p + 32) {
            d.copy_from_slice(&seq.to_be_bytes());
        }
        if origin_ns != 0 {
            let s = (origin_ns / 1_000_000_000).to_be_bytes();
            let ns = ((origin_ns % 1_000_000_000) as u32).to_be_bytes();
            if let Some(d) = dst.get_mut(p + 34..p + 40) {
                d.copy_from_slice(&s[2..]);
            }
            if let Some(d) = dst.get_mut(p + 40..p + 44) {
                d.copy_from_slice(&ns);
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xptp_datapath::wire::{frame, Message, MessageType};

    #[test]
    fn stamped_frames_parse_with_identity_and_sequence() {
        for wire in [Wire::L2, Wire::Udp4] {
            for req in [Request::DelayReq, Request::PdelayReq, Request::Sync] {
                let t =
                    Template::request(req, wire, [2, 0, 0, 0, 0, 9], Ipv4Addr::new(10, 0, 0, 9), 0)
                        .unwrap();
                let mut buf = [0u8; 256];
                let n = t.stamp(&mut buf, 0x01_02_03, 0xbeef, 1_700_000_000_123_456_789);
                let f = frame::parse(&buf[..n]).unwrap();
                let m = Message::new_checked(f.payload(&buf[..n])).unwrap();
                let want = match req {
                    Request::DelayReq => MessageType::DelayReq,
                    Request::PdelayReq => MessageType::PdelayReq,
                    Request::Sync => MessageType::Sync,
                };
                assert_eq!(m.message_type(), want);
                assert_eq!(m.sequence_id(), 0xbeef);
                assert_eq!(m.source_port_identity(), identity(0x01_02_03));
                assert_eq!(
                    identity_index(&m.source_port_identity().to_bytes()),
                    Some(0x01_02_03)
                );
                assert_eq!(m.timestamp().unwrap().to_nanos(), 1_700_000_000_123_456_789);
                if wire == Wire::Udp4 {
                    // Checksum 0: "not computed", valid over IPv4.
                    assert_eq!(&buf[f.udp_checksum_at.unwrap()..][..2], &[0, 0]);
                }
            }
        }
    }

    #[test]
    fn unicast_readdressing_keeps_a_valid_ipv4_header() {
        let mut t = Template::request(
            Request::DelayReq,
            Wire::Udp4,
            [2, 0, 0, 0, 0, 9],
            Ipv4Addr::new(10, 0, 0, 9),
            0,
        )
        .unwrap();
        t.set_unicast([2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 0, 0, 1));
        let f = frame::parse(&t.bytes).unwrap();
        match f.transport.network {
            frame::NetworkRepr::Udp4 { dst, .. } => assert_eq!(dst, Ipv4Addr::new(10, 0, 0, 1)),
            other => panic!("{other:?}"),
        }
        assert_eq!(f.transport.ethernet.dst, [2, 0, 0, 0, 0, 1]);
        assert_eq!(frame::checksum(&t.bytes[14..34]), 0);
    }

    #[test]
    fn foreign_identities_are_not_ours() {
        let mut p = identity(7).to_bytes();
        assert_eq!(identity_index(&p), Some(7));
        p[9] = 2;
        assert_eq!(identity_index(&p), None);
        p = identity(7).to_bytes();
        p[0] = 0;
        assert_eq!(identity_index(&p), None);
        assert_eq!(identity_index(&p[..4]), None);
    }
}
