//! Replies built straight into a TX buffer from the received request: Delay_Resp for a
//! Delay_Req on a MASTER port (IEEE 1588-2019 11.3.2), Pdelay_Resp and Pdelay_Resp_Follow_Up
//! for a Pdelay_Req (11.4.2). Pure functions of the request bytes, the ingress timestamp and the
//! configuration; no allocation, no panic, a [`FastPathError`] per refusal.
//!
//! Framing follows the request (Annex C/D/E): same VLAN tag; Ethernet source = our port MAC.
//! A request sent to a multicast group is answered to the same group (Ethernet and IP
//! destination copied); a unicast request is answered to its sender, from the address it was
//! sent to, with unicastFlag set. UDP replies go to port 319 (event: Pdelay_Resp) or 320
//! (general) with IPv4 header checksum and UDP checksum computed (mandatory on IPv6).
//!
//! Timestamps: the XDP-ingress CLOCK_TAI reading is integer nanoseconds, converted to PTP time
//! with [`FastPathConfig::to_ptp_ns`]. Because t4 / t2 have no sub-nanosecond part, nothing has
//! to be moved between receiveTimestamp and correctionField (11.3.2 c allows the fractional
//! nanoseconds of t4 to be subtracted from correctionField; ours are zero).

use core::net::{Ipv4Addr, Ipv6Addr};

use super::config::{FastPathConfig, PdelayMode, PortConfig};
use super::error::FastPathError;
use crate::handoff::PortId;
use crate::wire::auth;
use crate::wire::bytes::{put, put_u16, put_u8, u16_at};
use crate::wire::frame::checksum::{checksum, udp_checksum, Pseudo};
use crate::wire::frame::{self, Frame, NetworkRepr, PORT_EVENT, PORT_GENERAL};
use crate::wire::{
    FlagField, Message, MessageType, PortIdentity, TimeInterval, Timestamp, HEADER_LEN,
};

/// messageLength of Delay_Resp, Pdelay_Resp and Pdelay_Resp_Follow_Up (13.8, 13.10, 13.11).
pub const RESP_LEN: usize = 54;

const ETH_HDR: usize = 14;
const VLAN_HDR: usize = 4;
const IPV4_HDR: usize = 20;
const IPV6_HDR: usize = 40;
const UDP_HDR: usize = 8;
const TTL_MULTICAST: u8 = 1;
const TTL_UNICAST: u8 = 64;

/// Where the headers put the PTP payload and how to finish the checksums.
#[derive(Clone, Copy, Debug)]
pub struct Framing {
    /// Offset of the PTP message.
    pub payload_at: usize,
    /// The request was unicast (so is the reply).
    pub unicast: bool,
    /// IPv4 header offset (UDPv4) — its checksum is computed by [`finish`].
    ip4_at: Option<usize>,
    /// UDP header offset and pseudo-header.
    udp: Option<(usize, Pseudo)>,
}

fn is_unicast(f: &Frame) -> bool {
    match f.transport.network {
        NetworkRepr::L2 => f.transport.ethernet.dst[0] & 1 == 0,
        NetworkRepr::Udp4 { dst, .. } => !dst.is_multicast() && !dst.is_broadcast(),
        NetworkRepr::Udp6 { dst, .. } => !dst.is_multicast(),
    }
}

/// Writes Ethernet (+VLAN) (+IP+UDP) headers for a reply to the request `f` on port `pc`,
/// carrying `payload_len` octets; the UDP ports are 319 when `event`, else 320.
pub fn write_framing(
    f: &Frame,
    pc: &PortConfig,
    event: bool,
    payload_len: usize,
    out: &mut [u8],
) -> Result<Framing, FastPathError> {
    let unicast = is_unicast(f);
    let eth = &f.transport.ethernet;
    let l2_len = ETH_HDR + if eth.vlan.is_some() { VLAN_HDR } else { 0 };
    let total = l2_len
        + payload_len
        + match f.transport.network {
            NetworkRepr::L2 => 0,
            NetworkRepr::Udp4 { .. } => IPV4_HDR + UDP_HDR,
            NetworkRepr::Udp6 { .. } => IPV6_HDR + UDP_HDR,
        };
    if out.len() < total.max(frame::ETH_MIN_LEN) {
        return Err(FastPathError::BufferTooSmall);
    }
    put(out, 0, if unicast { &eth.src } else { &eth.dst });
    put(out, 6, &pc.mac);
    let mut off = 12;
    if let Some(tag) = eth.vlan {
        put_u16(out, 12, tag.tpid);
        let tci = (u16::from(tag.pcp & 7) << 13) | (u16::from(tag.dei) << 12) | (tag.vid & 0xfff);
        put_u16(out, 14, tci);
        off += VLAN_HDR;
    }
    let port = if event { PORT_EVENT } else { PORT_GENERAL };
    let udp_len = (UDP_HDR + payload_len) as u16;
    let ttl = if unicast { TTL_UNICAST } else { TTL_MULTICAST };
    match f.transport.network {
        NetworkRepr::L2 => {
            put_u16(out, off, frame::ETHERTYPE_PTP);
            Ok(Framing {
                payload_at: off + 2,
                unicast,
                ip4_at: None,
                udp: None,
            })
        }
        NetworkRepr::Udp4 { src, dst, tos, .. } => {
            let (s, d): (Ipv4Addr, Ipv4Addr) = if unicast {
                (dst, src)
            } else {
                (pc.ipv4.ok_or(FastPathError::NoSourceAddress)?, dst)
            };
            put_u16(out, off, frame::ETHERTYPE_IPV4);
            let ip = off + 2;
            put(out, ip, &[0x45, tos]);
            put_u16(out, ip + 2, (IPV4_HDR + UDP_HDR + payload_len) as u16);
            put(out, ip + 4, &[0, 0, 0, 0, ttl, 17, 0, 0]);
            put(out, ip + 12, &s.octets());
            put(out, ip + 16, &d.octets());
            let udp = ip + IPV4_HDR;
            write_udp(out, udp, port, udp_len);
            Ok(Framing {
                payload_at: udp + UDP_HDR,
                unicast,
                ip4_at: Some(ip),
                udp: Some((udp, Pseudo::V4(s, d))),
            })
        }
        NetworkRepr::Udp6 {
            src,
            dst,
            traffic_class,
            ..
        } => {
            let (s, d): (Ipv6Addr, Ipv6Addr) = if unicast {
                (dst, src)
            } else {
                (pc.ipv6.ok_or(FastPathError::NoSourceAddress)?, dst)
            };
            put_u16(out, off, frame::ETHERTYPE_IPV6);
            let ip = off + 2;
            let w = (6u32 << 28) | (u32::from(traffic_class) << 20);
            put(out, ip, &w.to_be_bytes());
            put_u16(out, ip + 4, udp_len);
            put(out, ip + 6, &[17, ttl]);
            put(out, ip + 8, &s.octets());
            put(out, ip + 24, &d.octets());
            let udp = ip + IPV6_HDR;
            write_udp(out, udp, port, udp_len);
            Ok(Framing {
                payload_at: udp + UDP_HDR,
                unicast,
                ip4_at: None,
                udp: Some((udp, Pseudo::V6(s, d))),
            })
        }
    }
}

fn write_udp(out: &mut [u8], udp: usize, port: u16, len: u16) {
    put_u16(out, udp, port);
    put_u16(out, udp + 2, port);
    put_u16(out, udp + 4, len);
    put_u16(out, udp + 6, 0);
}

/// Computes the IPv4 header checksum and the UDP checksum of a frame laid out by
/// [`write_framing`] once its payload is written, and returns the frame length.
pub fn finish(out: &mut [u8], fr: &Framing, payload_len: usize) -> usize {
    let end = fr.payload_at + payload_len;
    if let Some(ip) = fr.ip4_at {
        put_u16(out, ip + 10, 0);
        let c = checksum(out.get(ip..ip + IPV4_HDR).unwrap_or(&[]));
        put_u16(out, ip + 10, c);
    }
    if let Some((udp, pseudo)) = fr.udp {
        put_u16(out, udp + 6, 0);
        let c = udp_checksum(pseudo, out.get(udp..end).unwrap_or(&[]));
        // RFC 768: a computed zero goes out as all ones.
        put_u16(out, udp + 6, if c == 0 { 0xffff } else { c });
    }
    // Pad to the Ethernet minimum (never needed for 54-octet messages, kept for safety).
    let len = end.max(frame::ETH_MIN_LEN);
    if let Some(pad) = out.get_mut(end..len) {
        pad.fill(0);
    }
    len
}

/// The header fields of a reply.
struct ReplyHeader {
    mtype: MessageType,
    flags: FlagField,
    correction: TimeInterval,
    source: PortIdentity,
    log_interval: i8,
}

/// Writes the 34-octet header of a reply to `req` at `at`, copying majorSdoId,
/// minorVersionPTP, domainNumber, minorSdoId and sequenceId from the request.
fn write_header(out: &mut [u8], at: usize, req: &Message<&[u8]>, h: &ReplyHeader) {
    put_u8(out, at, (req.major_sdo_id() << 4) | h.mtype as u8);
    put_u8(out, at + 1, (req.minor_version() << 4) | 2);
    put_u16(out, at + 2, RESP_LEN as u16);
    put_u8(out, at + 4, req.domain_number());
    put_u8(out, at + 5, req.minor_sdo_id());
    put_u16(out, at + 6, h.flags.0);
    put(out, at + 8, &h.correction.0.to_be_bytes());
    put(out, at + 16, &[0, 0, 0, 0]);
    put(out, at + 20, &h.source.to_bytes());
    put_u16(out, at + 30, req.sequence_id());
    put_u8(out, at + 32, h.mtype.control_field());
    put_u8(out, at + 33, h.log_interval as u8);
}

/// Parses a request frame and checks type and domain.
fn request<'a>(
    rx: &'a [u8],
    want: MessageType,
    cfg: &FastPathConfig,
) -> Result<(Frame, Message<&'a [u8]>), FastPathError> {
    let f = frame::parse(rx)?;
    let msg = Message::new_checked(f.payload(rx))?;
    if msg.message_type() != want {
        return Err(FastPathError::WrongMessageType);
    }
    if msg.domain_number() != cfg.domain_number {
        return Err(FastPathError::WrongDomain(msg.domain_number()));
    }
    Ok((f, msg))
}

fn ptp_timestamp(cfg: &FastPathConfig, tai_ns: u64) -> Result<Timestamp, FastPathError> {
    Timestamp::from_nanos(cfg.to_ptp_ns(tai_ns)).map_err(|_| FastPathError::TimestampRange)
}

fn unicast_flag(unicast: bool) -> FlagField {
    FlagField::default().with(FlagField::UNICAST, unicast)
}

/// Delay_Req → Delay_Resp (IEEE 1588-2019 11.3.2, 13.8) on MASTER port `port`.
///
/// receiveTimestamp = t4 = the XDP-ingress time in PTP time; correctionField = the
/// Delay_Req's correctionField (t4 has no fractional nanoseconds to subtract);
/// requestingPortIdentity = the Delay_Req's sourcePortIdentity; logMessageInterval =
/// logMinDelayReqInterval; unicastFlag when the request was unicast. Returns the frame length.
pub fn delay_resp(
    rx: &[u8],
    port: PortId,
    ingress_tai_ns: Option<u64>,
    cfg: &FastPathConfig,
    out: &mut [u8],
) -> Result<usize, FastPathError> {
    let (f, req) = request(rx, MessageType::DelayReq, cfg)?;
    let pc = cfg.port(port).ok_or(FastPathError::UnknownPort(port))?;
    if !pc.master {
        return Err(FastPathError::NotMaster);
    }
    let t4 = ptp_timestamp(
        cfg,
        ingress_tai_ns.ok_or(FastPathError::NoIngressTimestamp)?,
    )?;
    let fr = write_framing(&f, pc, false, reply_len(pc), out)?;
    let at = fr.payload_at;
    write_header(
        out,
        at,
        &req,
        &ReplyHeader {
            mtype: MessageType::DelayResp,
            flags: unicast_flag(fr.unicast),
            correction: req.correction_field(),
            source: cfg.port_identity(pc),
            log_interval: cfg.log_min_delay_req_interval,
        },
    );
    put(out, at + HEADER_LEN, &t4.to_bytes());
    put(
        out,
        at + HEADER_LEN + 10,
        &req.source_port_identity().to_bytes(),
    );
    let len = sign(out, at, pc)?;
    Ok(finish(out, &fr, len))
}

/// What [`pdelay_resp`] built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdelayResp {
    /// Frame length.
    pub len: usize,
    /// The Pdelay_Req's correctionField: goes into the Pdelay_Resp_Follow_Up (two-step) or
    /// is already in the Pdelay_Resp (one-step).
    pub req_correction: TimeInterval,
    /// t2, CLOCK_TAI.
    pub t2_tai_ns: u64,
}

/// Pdelay_Req → Pdelay_Resp (IEEE 1588-2019 11.4.2 c, 13.10), on any port that runs P2P, in
/// any port state.
///
/// * Two-step: twoStepFlag set, requestReceiptTimestamp = t2, correctionField 0; the
///   Pdelay_Req's correctionField goes to the Pdelay_Resp_Follow_Up together with t3
///   ([`pdelay_resp_follow_up`]).
/// * One-step: requestReceiptTimestamp 0, correctionField = the Pdelay_Req's correctionField;
///   the turnaround t3 − t2 is added just before the kick ([`add_turnaround`]).
pub fn pdelay_resp(
    rx: &[u8],
    port: PortId,
    ingress_tai_ns: Option<u64>,
    cfg: &FastPathConfig,
    out: &mut [u8],
) -> Result<PdelayResp, FastPathError> {
    let (f, req) = request(rx, MessageType::PdelayReq, cfg)?;
    let pc = cfg.port(port).ok_or(FastPathError::UnknownPort(port))?;
    if !pc.p2p {
        return Err(FastPathError::WrongMessageType);
    }
    let t2_tai_ns = ingress_tai_ns.ok_or(FastPathError::NoIngressTimestamp)?;
    let t2 = ptp_timestamp(cfg, t2_tai_ns)?;
    let fr = write_framing(&f, pc, true, reply_len(pc), out)?;
    let two_step = cfg.pdelay_mode == PdelayMode::TwoStep;
    let at = fr.payload_at;
    write_header(
        out,
        at,
        &req,
        &ReplyHeader {
            mtype: MessageType::PdelayResp,
            flags: unicast_flag(fr.unicast).with(FlagField::TWO_STEP, two_step),
            correction: if two_step {
                TimeInterval::ZERO
            } else {
                req.correction_field()
            },
            source: cfg.port_identity(pc),
            log_interval: 0x7f,
        },
    );
    let ts = if two_step { t2 } else { Timestamp::default() };
    put(out, at + HEADER_LEN, &ts.to_bytes());
    put(
        out,
        at + HEADER_LEN + 10,
        &req.source_port_identity().to_bytes(),
    );
    let len = sign(out, at, pc)?;
    Ok(PdelayResp {
        len: finish(out, &fr, len),
        req_correction: req.correction_field(),
        t2_tai_ns,
    })
}

/// One-step Pdelay_Resp: adds the turnaround `kick_tai_ns − t2_tai_ns` to the correctionField
/// of the built frame in place (UDP checksum fixed up), just before it is handed to the NIC.
pub fn add_turnaround(
    frame_buf: &mut [u8],
    t2_tai_ns: u64,
    kick_tai_ns: u64,
) -> Result<TimeInterval, FastPathError> {
    let turn = TimeInterval::from_nanos(kick_tai_ns.wrapping_sub(t2_tai_ns) as i64)
        .ok_or(FastPathError::CorrectionOverflow)?;
    frame::add_correction(frame_buf, turn)?;
    Ok(turn)
}

/// Pdelay_Resp_Follow_Up (IEEE 1588-2019 11.4.2 c, 13.11) for the two-step Pdelay_Resp
/// `resp` (a frame built by [`pdelay_resp`]): same framing on the general port 320,
/// responseOriginTimestamp = t3 (the Pdelay_Resp's TX timestamp in PTP time), correctionField
/// = the Pdelay_Req's correctionField, sequenceId and requestingPortIdentity as in the
/// Pdelay_Resp.
pub fn pdelay_resp_follow_up(
    resp: &[u8],
    t3_tai_ns: u64,
    req_correction: TimeInterval,
    cfg: &FastPathConfig,
    pc: &PortConfig,
    out: &mut [u8],
) -> Result<usize, FastPathError> {
    let f = frame::parse(resp)?;
    let len = resp.len();
    let dst = out.get_mut(..len).ok_or(FastPathError::BufferTooSmall)?;
    dst.copy_from_slice(resp);
    let at = f.payload.start;
    let msg = Message::new_checked(f.payload(resp))?;
    if msg.message_type() != MessageType::PdelayResp {
        return Err(FastPathError::WrongMessageType);
    }
    let t3 = ptp_timestamp(cfg, t3_tai_ns)?;
    put_u8(
        out,
        at,
        (msg.major_sdo_id() << 4) | MessageType::PdelayRespFollowUp as u8,
    );
    put_u16(out, at + 6, msg.flags().with(FlagField::TWO_STEP, false).0);
    put(out, at + 8, &req_correction.0.to_be_bytes());
    put_u8(
        out,
        at + 32,
        MessageType::PdelayRespFollowUp.control_field(),
    );
    put(out, at + HEADER_LEN, &t3.to_bytes());
    if let Some(udp) = f.udp_at {
        put_u16(out, udp, PORT_GENERAL);
        put_u16(out, udp + 2, PORT_GENERAL);
    }
    resign(out.get_mut(..len).ok_or(FastPathError::BufferTooSmall)?, pc)?;
    Ok(len)
}

/// messageLength of a reply on `pc`: [`RESP_LEN`], plus the AUTHENTICATION TLV when the port
/// signs.
pub fn reply_len(pc: &PortConfig) -> usize {
    RESP_LEN
        + pc.auth
            .and_then(|a| {
                a.active_key()
                    .map(|k| auth::tlv_len(usize::from(k.icv_len)))
            })
            .unwrap_or(0)
}

/// Appends the port's AUTHENTICATION TLV (IEEE 1588-2019 16.14) to the [`RESP_LEN`]-octet
/// reply at `out[at..]` when `pc` signs; returns the message length.
fn sign(out: &mut [u8], at: usize, pc: &PortConfig) -> Result<usize, FastPathError> {
    let Some(a) = pc.auth else {
        return Ok(RESP_LEN);
    };
    let key = a.active_key().ok_or(FastPathError::AuthUnknownKey)?;
    let msg = out.get_mut(at..).ok_or(FastPathError::BufferTooSmall)?;
    auth::append_signed(msg, RESP_LEN, a.spp, key.key_ref(), a.allow_mutable)
        .map_err(|_| FastPathError::BufferTooSmall)
}

/// After fields of a built reply frame changed in place (Pdelay_Resp_Follow_Up from its
/// Pdelay_Resp, a one-step turnaround): recomputes the ICV when `pc` signs, then the UDP
/// checksum (UDP frames).
pub fn resign(frame_buf: &mut [u8], pc: &PortConfig) -> Result<(), FastPathError> {
    let f = frame::parse(frame_buf)?;
    if let Some(a) = pc.auth {
        let key = a.active_key().ok_or(FastPathError::AuthUnknownKey)?;
        let at = f.payload.start;
        let mlen = usize::from(u16_at(frame_buf, at + 2));
        let msg = frame_buf
            .get_mut(at..at + mlen)
            .ok_or(FastPathError::BufferTooSmall)?;
        auth::resign(msg, key.key_ref(), a.allow_mutable)
            .map_err(|_| FastPathError::BufferTooSmall)?;
    }
    if let Some(udp) = f.udp_at {
        let pseudo = match f.transport.network {
            NetworkRepr::Udp4 { src, dst, .. } => Pseudo::V4(src, dst),
            NetworkRepr::Udp6 { src, dst, .. } => Pseudo::V6(src, dst),
            NetworkRepr::L2 => return Ok(()),
        };
        put_u16(frame_buf, udp + 6, 0);
        let end = udp + usize::from(u16_at(frame_buf, udp + 4));
        let c = udp_checksum(pseudo, frame_buf.get(udp..end).unwrap_or(&[]));
        put_u16(frame_buf, udp + 6, if c == 0 { 0xffff } else { c });
    }
    Ok(())
}
