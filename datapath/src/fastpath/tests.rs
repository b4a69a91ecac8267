//! Byte-table and property tests of the fast-path functions.

use core::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::config::{FastPathConfig, PdelayMode, PortConfig, TcMode};
use super::engine::{EventKind, FastPath};
use super::error::FastPathError;
use super::reply::{add_turnaround, delay_resp, pdelay_resp, pdelay_resp_follow_up};
use super::sketch::SpaceSaving;
use super::tc::{rate_ratio_offset, residence, tc_action, tc_correction, TcAction};
use crate::handoff::{RxTimestamps, Transport as HTransport, TxOutcome, TxToken};
use crate::wire::frame::{self, Transport, VlanTag};
use crate::wire::{
    Body, ClockIdentity, FlagField, HeaderRepr, Message, MessageRepr, MessageType, PortIdentity,
    TimeInterval, Timestamp,
};
use crate::worker::{Decide, Decision, Outbox, RxInfo};

pub(super) const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xaa];
pub(super) const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xbb];
pub(super) const OUR_ID: ClockIdentity = ClockIdentity([0x02, 0, 0, 0xff, 0xfe, 0, 0, 0xaa]);
pub(super) const PEER: PortIdentity = PortIdentity::new(ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]), 3);
/// 2023-11-14T22:13:20.123456789 TAI as CLOCK_TAI ns.
pub(super) const T_IN: u64 = 1_700_000_000_123_456_789;

pub(super) fn cfg() -> FastPathConfig {
    let mut c = FastPathConfig {
        clock_identity: OUR_ID,
        domain_number: 0,
        log_min_delay_req_interval: -3,
        tai_to_ptp_ns: -37_000_000_000,
        ..FastPathConfig::default()
    };
    c.ports[0] = PortConfig {
        master: true,
        p2p: true,
        ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
        ipv6: Some(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
        ..PortConfig::new(1, OUR_MAC)
    };
    c
}

fn msg(mtype: MessageType, body: Body, correction: i64, flags: u16) -> MessageRepr {
    let _ = mtype;
    MessageRepr::new(
        HeaderRepr {
            source_port_identity: PEER,
            sequence_id: 0x1234,
            correction: TimeInterval(correction),
            flags: FlagField(flags),
            log_message_interval: 0x7f,
            ..HeaderRepr::default()
        },
        body,
    )
}

pub(super) fn delay_req(t: &Transport, correction: i64) -> Vec<u8> {
    frame::build(
        t,
        &msg(
            MessageType::DelayReq,
            Body::DelayReq {
                origin_timestamp: Timestamp::default(),
            },
            correction,
            0,
        ),
    )
    .unwrap()
}

/// Hand-written L2 Delay_Req (Annex E) with correctionField 1.5 ns.
pub(super) const L2_DELAY_REQ: &str = "011b19000000 02000000 00bb 88f7 \
     01 12 002c 00 00 0000 0000000000018000 00000000 0102030405060708 0003 1234 01 7f \
     00000000000000000000 0000";

pub(super) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn delay_resp_l2_byte_table() {
    let rx = hex(L2_DELAY_REQ);
    let mut out = [0u8; 256];
    let n = delay_resp(&rx, 0, Some(T_IN), &cfg(), &mut out).unwrap();
    // t4 = T_IN − 37 s = 1699999963.123456789.
    let want = hex("011b19000000 0200000000aa 88f7 \
         09 12 0036 00 00 0000 0000000000018000 00000000 020000fffe0000aa 0001 1234 03 fd \
         00006553f0db 075bcd15 0102030405060708 0003");
    assert_eq!(&out[..n], &want[..], "{:02x?}", &out[..n]);
}

#[test]
fn delay_resp_vlan_udp4_udp6_and_unicast() {
    let c = cfg();
    let v4 = Transport::udp4_multicast(PEER_MAC, Ipv4Addr::new(10, 0, 0, 2), MessageType::DelayReq);
    let v6 = Transport::udp6_multicast(
        PEER_MAC,
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2),
        MessageType::DelayReq,
    );
    let l2v =
        Transport::l2_multicast(PEER_MAC, MessageType::DelayReq).with_vlan(VlanTag::dot1q(7, 5));
    let mut uni4 = v4;
    if let frame::NetworkRepr::Udp4 { ref mut dst, .. } = uni4.network {
        *dst = Ipv4Addr::new(10, 0, 0, 1);
    }
    uni4.ethernet.dst = OUR_MAC;
    for (t, unicast) in [
        (v4, false),
        (v6, false),
        (l2v.with_vlan(VlanTag::dot1q(7, 5)), false),
        (uni4, true),
    ] {
        let rx = delay_req(&t, -0x10000);
        let mut out = [0u8; 256];
        let n = delay_resp(&rx, 0, Some(T_IN), &c, &mut out).unwrap();
        let f = frame::parse(&out[..n]).unwrap();
        f.verify_udp_checksum(&out[..n]).unwrap();
        assert_eq!(f.transport.ethernet.vlan, t.ethernet.vlan);
        assert_eq!(f.transport.ethernet.src, OUR_MAC);
        let m = MessageRepr::parse(f.payload(&out[..n])).unwrap();
        assert_eq!(
            m.header.correction,
            TimeInterval(-0x10000),
            "negative correction carried"
        );
        assert_eq!(m.header.flags.unicast(), unicast);
        assert_eq!(m.header.log_message_interval, -3);
        match m.body {
            Body::DelayResp {
                receive_timestamp,
                requesting_port_identity,
            } => {
                assert_eq!(requesting_port_identity, PEER);
                assert_eq!(
                    receive_timestamp.to_nanos(),
                    i128::from(T_IN) - 37_000_000_000
                );
            }
            other => panic!("{other:?}"),
        }
        match (f.transport.network, unicast) {
            (
                frame::NetworkRepr::Udp4 {
                    src, dst, dst_port, ..
                },
                true,
            ) => {
                assert_eq!(
                    (src, dst, dst_port),
                    (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2), 320)
                );
                assert_eq!(f.transport.ethernet.dst, PEER_MAC);
            }
            (frame::NetworkRepr::Udp4 { src, dst, .. }, false) => {
                assert_eq!(
                    (src, dst),
                    (Ipv4Addr::new(10, 0, 0, 1), frame::IPV4_PRIMARY)
                );
            }
            (frame::NetworkRepr::Udp6 { src, dst, .. }, _) => {
                assert_eq!(
                    (src, dst),
                    (
                        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1),
                        frame::IPV6_PRIMARY
                    )
                );
            }
            _ => {}
        }
    }
}

#[test]
fn delay_resp_refusals() {
    let rx = hex(L2_DELAY_REQ);
    let mut out = [0u8; 256];
    let mut c = cfg();
    assert_eq!(
        delay_resp(&rx, 0, None, &c, &mut out),
        Err(FastPathError::NoIngressTimestamp)
    );
    assert_eq!(
        delay_resp(&rx, 5, Some(T_IN), &c, &mut out),
        Err(FastPathError::UnknownPort(5))
    );
    assert_eq!(
        delay_resp(&rx, 0, Some(T_IN), &c, &mut out[..40]),
        Err(FastPathError::BufferTooSmall)
    );
    c.domain_number = 4;
    assert_eq!(
        delay_resp(&rx, 0, Some(T_IN), &c, &mut out),
        Err(FastPathError::WrongDomain(0))
    );
    c.domain_number = 0;
    c.ports[0].master = false;
    assert_eq!(
        delay_resp(&rx, 0, Some(T_IN), &c, &mut out),
        Err(FastPathError::NotMaster)
    );
    c.ports[0].master = true;
    c.tai_to_ptp_ns = -(T_IN as i64) - 1;
    assert_eq!(
        delay_resp(&rx, 0, Some(T_IN), &c, &mut out),
        Err(FastPathError::TimestampRange)
    );
    let v4 = Transport::udp4_multicast(PEER_MAC, Ipv4Addr::new(10, 0, 0, 2), MessageType::DelayReq);
    let mut c = cfg();
    c.ports[0].ipv4 = None;
    assert_eq!(
        delay_resp(&delay_req(&v4, 0), 0, Some(T_IN), &c, &mut out),
        Err(FastPathError::NoSourceAddress)
    );
}

pub(super) fn pdelay_req(t: &Transport, correction: i64) -> Vec<u8> {
    frame::build(
        t,
        &msg(
            MessageType::PdelayReq,
            Body::PdelayReq {
                origin_timestamp: Timestamp::default(),
            },
            correction,
            0,
        ),
    )
    .unwrap()
}

/// The Pdelay_Resp_Follow_Up of `resp` on port 0 with t3 = T_IN + 2.5 µs, UDP checksum
/// checked.
pub(super) fn follow_up_for(
    resp: &[u8],
    req_correction: TimeInterval,
    c: &FastPathConfig,
) -> Vec<u8> {
    let mut fu = [0u8; 256];
    let n =
        pdelay_resp_follow_up(resp, T_IN + 2_500, req_correction, c, &c.ports[0], &mut fu).unwrap();
    frame::parse(&fu[..n])
        .unwrap()
        .verify_udp_checksum(&fu[..n])
        .unwrap();
    fu[..n].to_vec()
}

#[test]
fn pdelay_two_step_resp_and_follow_up() {
    let c = cfg();
    for t in [
        Transport::l2_multicast(PEER_MAC, MessageType::PdelayReq),
        Transport::udp4_multicast(PEER_MAC, Ipv4Addr::new(10, 0, 0, 2), MessageType::PdelayReq),
        Transport::udp6_multicast(
            PEER_MAC,
            Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2),
            MessageType::PdelayReq,
        ),
    ] {
        let rx = pdelay_req(&t, 0x28000);
        let mut out = [0u8; 256];
        let p = pdelay_resp(&rx, 0, Some(T_IN), &c, &mut out).unwrap();
        let f = frame::parse(&out[..p.len]).unwrap();
        f.verify_udp_checksum(&out[..p.len]).unwrap();
        assert_eq!(
            f.transport.ethernet.dst, t.ethernet.dst,
            "same group as the request"
        );
        let m = MessageRepr::parse(f.payload(&out[..p.len])).unwrap();
        assert!(m.header.flags.two_step());
        assert_eq!(m.header.correction, TimeInterval::ZERO);
        assert_eq!(m.header.sequence_id, 0x1234);
        assert_eq!(m.header.source_port_identity, PortIdentity::new(OUR_ID, 1));
        assert_eq!(
            m.body,
            Body::PdelayResp {
                request_receipt_timestamp: Timestamp::from_nanos(i128::from(T_IN) - 37_000_000_000)
                    .unwrap(),
                requesting_port_identity: PEER
            }
        );
        assert_eq!(p.req_correction, TimeInterval(0x28000));
        let fu = follow_up_for(&out[..p.len], p.req_correction, &c);
        let n = fu.len();
        let f2 = frame::parse(&fu).unwrap();
        if let frame::NetworkRepr::Udp4 {
            dst_port, src_port, ..
        } = f2.transport.network
        {
            assert_eq!((src_port, dst_port), (320, 320));
        }
        let m2 = MessageRepr::parse(f2.payload(&fu[..n])).unwrap();
        assert_eq!(m2.message_type(), MessageType::PdelayRespFollowUp);
        assert_eq!(m2.header.correction, TimeInterval(0x28000));
        assert_eq!(
            m2.body,
            Body::PdelayRespFollowUp {
                response_origin_timestamp: Timestamp::from_nanos(
                    i128::from(T_IN) + 2_500 - 37_000_000_000
                )
                .unwrap(),
                requesting_port_identity: PEER
            }
        );
    }
}

#[test]
fn pdelay_one_step_turnaround_in_correction() {
    let mut c = cfg();
    c.pdelay_mode = PdelayMode::OneStep;
    let t = Transport::udp6_multicast(
        PEER_MAC,
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2),
        MessageType::PdelayReq,
    );
    let rx = pdelay_req(&t, -0x8000);
    let mut out = [0u8; 256];
    let p = pdelay_resp(&rx, 0, Some(T_IN), &c, &mut out).unwrap();
    let turn = add_turnaround(&mut out[..p.len], T_IN, T_IN + 1_234).unwrap();
    assert_eq!(turn, TimeInterval(1_234 << 16));
    let f = frame::parse(&out[..p.len]).unwrap();
    f.verify_udp_checksum(&out[..p.len]).unwrap();
    let m = MessageRepr::parse(f.payload(&out[..p.len])).unwrap();
    assert!(!m.header.flags.two_step());
    // 11.4.2 c: Pdelay_Req correction + (t3 − t2); requestReceiptTimestamp zero.
    assert_eq!(m.header.correction, TimeInterval((1_234 << 16) - 0x8000));
    assert!(
        matches!(m.body, Body::PdelayResp { request_receipt_timestamp, .. } if request_receipt_timestamp == Timestamp::default())
    );
}

#[test]
fn residence_arithmetic() {
    assert_eq!(residence(1_000, 1_500, 0), Ok(TimeInterval(500 << 16)));
    assert_eq!(residence(1_500, 1_000, 0), Ok(TimeInterval(-500 << 16)));
    // Rate ratio 1 + 1000 ppm: 500 ns → 500.5 ns = 0x1f48000.
    assert_eq!(
        residence(0, 500, (1i64 << 41) / 1000),
        Ok(TimeInterval(0x01f4_7fff))
    );
    assert_eq!(
        residence(0, 500, -(1i64 << 41) / 1000),
        Ok(TimeInterval(0x01f3_8000))
    );
    assert_eq!(
        residence(0, u64::MAX, 0),
        Err(FastPathError::CorrectionOverflow)
    );
    assert_eq!(
        tc_correction(TimeInterval(500 << 16), TimeInterval(-0x18000)),
        Ok(TimeInterval((500 << 16) - 0x18000))
    );
    assert_eq!(
        tc_correction(TimeInterval::MAX, TimeInterval(1)),
        Err(FastPathError::CorrectionOverflow)
    );
    assert_eq!(
        rate_ratio_offset((0, 0), (1_000_001_000, 1_000_000_000)),
        Some((1i64 << 41) / 1_000_000)
    );
    assert_eq!(rate_ratio_offset((0, 5), (10, 5)), None);
    assert_eq!(
        tc_action(TcMode::P2p, MessageType::DelayReq, false),
        TcAction::Drop
    );
    assert_eq!(
        tc_action(TcMode::E2e, MessageType::Sync, true),
        TcAction::SyncTwoStep
    );
    assert_eq!(
        tc_action(TcMode::P2p, MessageType::PdelayReq, false),
        TcAction::ToControl
    );
}

fn tc_cfg(mode: TcMode) -> FastPathConfig {
    let mut c = cfg();
    c.tc_mode = mode;
    for i in 0..3 {
        c.ports[i] = PortConfig {
            tc: true,
            p2p: mode == TcMode::P2p,
            mean_link_delay: TimeInterval(if i == 0 { 0x18000 } else { 0 }),
            ..PortConfig::new(i as u16 + 1, [2, 0, 0, 0, 0, i as u8])
        };
    }
    c
}

pub(super) fn info(port: u16, t: u64) -> RxInfo {
    RxInfo {
        port,
        queue_id: 0,
        transport: HTransport::Ethernet,
        vlan: false,
        udp_event: false,
        ts: RxTimestamps {
            xdp_tai_ns: Some(t),
            hw_ns: None,
            user_tai_ns: t,
        },
    }
}

pub(super) fn sent(t: u64) -> TxOutcome {
    TxOutcome::Sent {
        sw_tai_ns: t,
        hw_ns: None,
    }
}

#[test]
fn two_step_p2p_tc_follow_up_gets_residence_and_link_delay() {
    let (mut fp, h) = FastPath::new(tc_cfg(TcMode::P2p));
    let mut out = Outbox::new(16);
    let t = Transport::udp4_multicast(PEER_MAC, Ipv4Addr::new(10, 0, 0, 2), MessageType::Sync);
    let sync = frame::build(
        &t,
        &msg(
            MessageType::Sync,
            Body::Sync {
                origin_timestamp: Timestamp::default(),
            },
            0,
            FlagField::TWO_STEP,
        ),
    )
    .unwrap();
    assert_eq!(
        fp.decide(&sync, &info(0, 10_000), &mut out),
        Decision::Handled
    );
    // Forwarded unchanged to ports 1 and 2.
    let fwd: Vec<_> = out.items().to_vec();
    assert_eq!(fwd.len(), 2);
    assert!(fwd.iter().all(|o| o.frame.as_slice() == &sync[..]));
    out.clear();
    // Follow_Up arrives before the TX timestamps: held.
    let tf = Transport::udp4_multicast(PEER_MAC, Ipv4Addr::new(10, 0, 0, 2), MessageType::FollowUp);
    let fup = frame::build(
        &tf,
        &msg(
            MessageType::FollowUp,
            Body::FollowUp {
                precise_origin_timestamp: Timestamp::default(),
            },
            -0x10000,
            0,
        ),
    )
    .unwrap();
    assert_eq!(
        fp.decide(&fup, &info(0, 20_000), &mut out),
        Decision::Handled
    );
    assert!(out.is_empty());
    // Port 1's Sync left at 12_345: residence 2_345 ns + link delay 1.5 ns − 1 ns already there.
    fp.tx_done(fwd[0].port, fwd[0].token, sent(12_345), &mut out);
    assert_eq!(out.len(), 1);
    let o = out.items()[0];
    assert_eq!(o.port, fwd[0].port);
    let f = frame::parse(o.frame.as_slice()).unwrap();
    f.verify_udp_checksum(o.frame.as_slice()).unwrap();
    let m = Message::new_checked(f.payload(o.frame.as_slice())).unwrap();
    assert_eq!(
        m.correction_field(),
        TimeInterval((2_345 << 16) + 0x18000 - 0x10000)
    );
    // Everything but the correction and checksum is byte-identical.
    let mut a = o.frame.as_slice().to_vec();
    let mut b = fup.clone();
    a[f.payload.start + 8..f.payload.start + 16].fill(0);
    b[f.payload.start + 8..f.payload.start + 16].fill(0);
    let ck = f.udp_checksum_at.unwrap();
    a[ck..ck + 2].fill(0);
    b[ck..ck + 2].fill(0);
    assert_eq!(a, b);
    out.clear();
    fp.tx_done(
        fwd[1].port,
        fwd[1].token,
        TxOutcome::Dropped(crate::handoff::TxDropReason::RingFull),
        &mut out,
    );
    assert!(out.is_empty(), "no Follow_Up where the Sync failed");
    let evs: Vec<_> = std::iter::from_fn(|| h.events.pop()).collect();
    assert!(evs
        .iter()
        .any(|e| e.kind == EventKind::FollowUp && e.value_ns == 2_345));
    // A Follow_Up without its Sync is dropped and counted.
    let mut other = fup.clone();
    let seq_at = f.payload.start + 30;
    other[seq_at] ^= 0xff;
    assert_eq!(
        fp.decide(&other, &info(0, 30_000), &mut out),
        Decision::Drop
    );
    assert_eq!(
        h.counters.drops[FastPathError::UnmatchedFollowUp.index()].get(),
        1
    );
    // Per port and type: the Sync in on port 0 and out on 1 and 2, both Follow_Ups in on 0
    // (one unmatched), one Follow_Up out on port 1 (port 2's Sync failed).
    let c = &h.counters;
    assert_eq!(c.tc_port_counts(0, MessageType::Sync), (1, 0));
    assert_eq!(c.tc_port_counts(1, MessageType::Sync), (0, 1));
    assert_eq!(c.tc_port_counts(2, MessageType::Sync), (0, 1));
    assert_eq!(c.tc_port_counts(0, MessageType::FollowUp), (2, 0));
    assert_eq!(c.tc_port_counts(1, MessageType::FollowUp), (0, 1));
    assert_eq!(c.tc_port_counts(2, MessageType::FollowUp), (0, 0));
    assert_eq!(
        c.tc_port_counts(9, MessageType::Sync),
        (0, 0),
        "no such port"
    );
}

#[test]
fn one_step_sync_patched_before_kick_and_e2e_delay_resp() {
    let (mut fp, _h) = FastPath::new(tc_cfg(TcMode::E2e));
    let mut out = Outbox::new(16);
    let t = Transport::l2_multicast(PEER_MAC, MessageType::Sync);
    let sync = frame::build(
        &t,
        &msg(
            MessageType::Sync,
            Body::Sync {
                origin_timestamp: Timestamp::default(),
            },
            0,
            0,
        ),
    )
    .unwrap();
    assert_eq!(
        fp.decide(&sync, &info(1, 5_000), &mut out),
        Decision::Handled
    );
    let o = out.items()[0];
    let mut frame_bytes = o.frame.as_slice().to_vec();
    fp.before_kick(o.port, o.token, &mut frame_bytes, 5_700);
    let m = Message::new_checked(&frame_bytes[14..]).unwrap();
    assert_eq!(
        m.correction_field(),
        TimeInterval(700 << 16),
        "E2E: no link delay"
    );
    out.clear();
    // E2E Delay_Req from port 2 to ports 0 and 1; Delay_Resp back on port 0.
    let dreq = delay_req(&Transport::l2_multicast(PEER_MAC, MessageType::DelayReq), 0);
    assert_eq!(fp.decide(&dreq, &info(2, 100), &mut out), Decision::Handled);
    let fwd: Vec<_> = out.items().to_vec();
    out.clear();
    let to0 = fwd.iter().find(|o| o.port == 0).unwrap();
    fp.tx_done(0, to0.token, sent(350), &mut out);
    let dresp = frame::build(
        &Transport::l2_multicast([2, 0, 0, 0, 0, 9], MessageType::DelayResp),
        &MessageRepr::new(
            HeaderRepr {
                source_port_identity: PortIdentity::new(ClockIdentity([9; 8]), 1),
                sequence_id: 0x1234,
                ..HeaderRepr::default()
            },
            Body::DelayResp {
                receive_timestamp: Timestamp::default(),
                requesting_port_identity: PEER,
            },
        ),
    )
    .unwrap();
    assert_eq!(
        fp.decide(&dresp, &info(0, 1_000), &mut out),
        Decision::Handled
    );
    for o in out.items() {
        let m = Message::new_checked(&o.frame.as_slice()[14..]).unwrap();
        assert_eq!(m.correction_field(), TimeInterval(250 << 16));
    }
}

#[test]
fn delay_req_answered_by_engine_and_sketched() {
    let (mut fp, h) = FastPath::new(cfg());
    let mut out = Outbox::new(4);
    let rx = hex(L2_DELAY_REQ);
    assert_eq!(fp.decide(&rx, &info(0, T_IN), &mut out), Decision::Handled);
    let tok = out.items()[0].token;
    fp.tx_done(0, tok, sent(T_IN + 1_100), &mut out);
    let e = h.events.pop().unwrap();
    assert_eq!((e.kind, e.value_ns), (EventKind::DelayResp, 1_100));
    let mut full = Outbox::new(1);
    assert_eq!(fp.decide(&rx, &info(0, T_IN), &mut full), Decision::Handled);
    assert_eq!(fp.decide(&rx, &info(0, T_IN), &mut full), Decision::Drop);
    assert_eq!(h.counters.drops[FastPathError::OutboxFull.index()].get(), 1);
}

#[test]
fn space_saving_keeps_heavy_hitters() {
    let mut s = SpaceSaving::<4>::default();
    let id = |n: u16| PortIdentity::new(ClockIdentity([0; 8]), n);
    for i in 0..1000u16 {
        s.record(id(1));
        if i % 2 == 0 {
            s.record(id(2));
        }
        s.record(id(100 + i)); // one-off noise
    }
    let top = s.top();
    assert_eq!(top[0].port_identity, id(1));
    assert!(top[0].count >= 1000 && top[0].count - top[0].error <= 1000);
    assert!(top.iter().any(|t| t.port_identity == id(2)));
    assert_eq!(s.total(), 2500);
}

proptest! {
    #[test]
    fn no_panic_on_random_frames(bytes in proptest::collection::vec(any::<u8>(), 0..200), t in any::<u64>(), k in any::<u64>()) {
        let c = cfg();
        let mut out = [0u8; 256];
        let _ = delay_resp(&bytes, 0, Some(t), &c, &mut out);
        let _ = pdelay_resp(&bytes, 0, Some(t), &c, &mut out);
        let _ = pdelay_resp_follow_up(&bytes, t, TimeInterval(0), &c, &c.ports[0], &mut out);
        let mut b = bytes.clone();
        let _ = add_turnaround(&mut b, t, k);
        let _ = residence(t, k, 0);
        for mode in [TcMode::E2e, TcMode::P2p] {
            let (mut fp, _h) = FastPath::new(tc_cfg(mode));
            let mut ob = Outbox::new(8);
            let _ = fp.decide(&bytes, &info(0, t), &mut ob);
            let items: Vec<_> = ob.items().to_vec();
            for o in items {
                let mut f = o.frame.as_slice().to_vec();
                fp.before_kick(o.port, o.token, &mut f, k);
                fp.tx_done(o.port, o.token, sent(k), &mut ob);
            }
            fp.tx_done(1, TxToken(k), sent(t), &mut ob);
        }
    }

    #[test]
    fn no_panic_on_mutated_requests(pos in 0usize..120, val in any::<u8>(), t in any::<u64>()) {
        let c = cfg();
        for t0 in [Transport::udp4_multicast(PEER_MAC, Ipv4Addr::new(10, 0, 0, 2), MessageType::PdelayReq), Transport::l2_multicast(PEER_MAC, MessageType::PdelayReq)] {
            let mut rx = pdelay_req(&t0, 0);
            if let Some(b) = rx.get_mut(pos) { *b = val; }
            let mut out = [0u8; 256];
            if let Ok(p) = pdelay_resp(&rx, 0, Some(t), &c, &mut out) {
                let resp = out[..p.len].to_vec();
                let _ = pdelay_resp_follow_up(&resp, t, p.req_correction, &c, &c.ports[0], &mut out);
            }
            let _ = delay_resp(&rx, 0, Some(t), &c, &mut out);
        }
    }
}

#[test]
fn malformed_and_foreign_version_frames_are_dropped_by_reason() {
    let (mut fp, h) = FastPath::new(cfg());
    let mut out = Outbox::new(4);
    let good = hex(L2_DELAY_REQ);
    let mut v1 = good.clone();
    v1[15] = 0x01;
    let mut reserved = good.clone();
    reserved[14] = 0x05;
    let mut long = good.clone();
    long[16..18].copy_from_slice(&200u16.to_be_bytes());
    for (f, e) in [
        (&v1, FastPathError::UnsupportedVersion(1)),
        (&reserved, FastPathError::ReservedMessageType(5)),
    ] {
        assert_eq!(fp.decide(f, &info(0, T_IN), &mut out), Decision::Drop);
        assert_eq!(h.counters.drops_of(e), 1, "{e:?}");
    }
    assert_eq!(fp.decide(&long, &info(0, T_IN), &mut out), Decision::Drop);
    assert_eq!(
        h.counters.drops[0].get(),
        1,
        "messageLength beyond the frame: malformed"
    );
    // minorVersionPTP 1 (IEEE 1588-2019) is version 2.1: answered.
    let mut minor1 = good.clone();
    minor1[15] = 0x12;
    assert_eq!(
        fp.decide(&minor1, &info(0, T_IN), &mut out),
        Decision::Handled
    );
    assert_eq!(out.len(), 1);
    assert_eq!(h.counters.delay_resp_sent.get(), 1);
}

#[test]
fn delay_req_flood_is_shed_per_requester_then_per_port() {
    use crate::fastpath::{ClassLimits, RateLimit, RateLimits};
    let mut c = cfg();
    c.rate_limits = RateLimits {
        delay_req: ClassLimits {
            port: RateLimit::new(100, 10),
            requester: RateLimit::new(10, 3),
        },
        ..RateLimits::UNLIMITED
    };
    let (mut fp, h) = FastPath::new(c);
    let mut out = Outbox::new(256);
    let rx = hex(L2_DELAY_REQ);
    // One requester: its burst of 3, then shed.
    let handled = (0..10)
        .filter(|_| fp.decide(&rx, &info(0, T_IN), &mut out) == Decision::Handled)
        .count();
    assert_eq!(handled, 3);
    assert_eq!(h.counters.drops_of(FastPathError::RateLimitedRequester), 7);
    // Many requesters: the port's burst of 10 (3 already taken) holds them.
    let mut handled = 0;
    for n in 0..20u8 {
        let mut f = rx.clone();
        f[14 + 20 + 7] = n.wrapping_add(100);
        if fp.decide(&f, &info(0, T_IN), &mut out) == Decision::Handled {
            handled += 1;
        }
    }
    assert_eq!(handled, 7);
    assert_eq!(h.counters.drops_of(FastPathError::RateLimitedPort), 13);
    assert_eq!(h.counters.shed[0].get(), 20);
    assert_eq!(h.counters.delay_resp_sent.get(), 10);
    // A second later the port bucket has refilled (100/s, burst 10).
    let later = T_IN + 1_000_000_000;
    let mut f = rx.clone();
    f[14 + 20 + 7] = 1;
    assert_eq!(fp.decide(&f, &info(0, later), &mut out), Decision::Handled);
}

/// A pmc GET DEFAULT_DATA_SET (targetPortIdentity all ones) on L2.
fn management_get_frame() -> Vec<u8> {
    let m = MessageRepr::parse(&hex(
        "0d 02 0036 00 00 0000 0000000000000000 00000000 0102030405060708 0003 0001 04 7f \
         ffffffffffffffff ffff 01 01 01 00 \
         0001 0002 2000",
    ));
    let m = m.expect("management GET parses");
    frame::build(
        &Transport::l2_multicast(PEER_MAC, MessageType::Management),
        &m,
    )
    .unwrap()
}

#[test]
fn tc_forwards_management_and_copies_it_up_only_when_asked() {
    let f = management_get_frame();
    for (up, want) in [
        (false, Decision::Handled),
        (true, Decision::HandledAndToControl),
    ] {
        let mut c = tc_cfg(TcMode::E2e);
        c.tc_management_to_control = up;
        let (mut fp, h) = FastPath::new(c);
        let mut out = Outbox::new(4);
        assert_eq!(fp.decide(&f, &info(1, T_IN), &mut out), want);
        let ports: Vec<_> = out.items().iter().map(|o| o.port).collect();
        assert_eq!(ports, [0, 2], "forwarded unchanged to the other ports");
        assert!(out.items().iter().all(|o| o.frame.as_slice() == &f[..]));
        assert_eq!(
            h.counters.tc_port_counts(1, MessageType::Management),
            (1, 0)
        );
    }
}

#[test]
fn management_to_control_is_limited_before_the_lane() {
    use crate::fastpath::{ClassLimits, RateLimit, RateLimits};
    let mut c = cfg();
    c.rate_limits = RateLimits {
        management: ClassLimits {
            port: RateLimit::new(1, 2),
            requester: RateLimit::UNLIMITED,
        },
        ..RateLimits::UNLIMITED
    };
    let (mut fp, h) = FastPath::new(c);
    let mut out = Outbox::new(4);
    let f = management_get_frame();
    let d: Vec<_> = (0..5)
        .map(|_| fp.decide(&f, &info(0, T_IN), &mut out))
        .collect();
    assert_eq!(
        d,
        [
            Decision::ToControl,
            Decision::ToControl,
            Decision::Drop,
            Decision::Drop,
            Decision::Drop
        ]
    );
    assert_eq!(h.counters.shed[2].get(), 3);
    assert_eq!(h.counters.drops_of(FastPathError::RateLimitedPort), 3);
}

/// Answers to other requesters never reach control: on a multicast segment a master's
/// Delay_Resp to every requester (and every Pdelay_Resp on a shared P2P segment) reaches
/// every port, and a flood of them must not fill the lane (IEEE 1588-2019 11.3.2, 11.4.3).
#[test]
fn responses_for_other_requesters_are_dropped_ours_go_up() {
    let mut c = cfg();
    c.ports[0].master = false;
    let (mut fp, h) = FastPath::new(c);
    let mut out = Outbox::new(4);
    let t = Transport::l2_multicast(PEER_MAC, MessageType::DelayResp);
    let ts = Timestamp::default();
    let bodies = |who: PortIdentity| {
        [
            Body::DelayResp {
                receive_timestamp: ts,
                requesting_port_identity: who,
            },
            Body::PdelayResp {
                request_receipt_timestamp: ts,
                requesting_port_identity: who,
            },
            Body::PdelayRespFollowUp {
                response_origin_timestamp: ts,
                requesting_port_identity: who,
            },
        ]
    };
    let ours = PortIdentity::new(OUR_ID, 1);
    let our_other_port = PortIdentity::new(OUR_ID, 2);
    for (who, want) in [
        (ours, Decision::ToControl),
        (PEER, Decision::Drop),
        (our_other_port, Decision::Drop),
    ] {
        for b in bodies(who) {
            let f = frame::build(&t, &msg(b.message_type(), b, 0, 0)).unwrap();
            assert_eq!(
                fp.decide(&f, &info(0, T_IN), &mut out),
                want,
                "{who:?} {b:?}"
            );
        }
    }
    assert_eq!(h.counters.drops_of(FastPathError::NotForUs), 6);
    assert!(out.is_empty());
    // Before control has told the worker our identity, everything goes up.
    let mut c = cfg();
    c.clock_identity = ClockIdentity::default();
    let (mut fp, _) = FastPath::new(c);
    for b in bodies(PEER) {
        let f = frame::build(&t, &msg(b.message_type(), b, 0, 0)).unwrap();
        assert_eq!(fp.decide(&f, &info(0, T_IN), &mut out), Decision::ToControl);
    }
}
