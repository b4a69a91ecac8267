//! Signed fast-path replies and authenticated requests (IEEE 1588-2019 16.14, Annex P).

use core::net::Ipv4Addr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::config::{AuthKey, FastPathConfig, PdelayMode, PortAuth};
use super::engine::FastPath;
use super::error::FastPathError;
use super::reply::{delay_resp, pdelay_resp};
use super::tests::{
    cfg, delay_req, follow_up_for, hex, info, pdelay_req, sent, L2_DELAY_REQ, PEER_MAC, T_IN,
};
use crate::wire::auth::{self, AuthFailure, KeyRef};
use crate::wire::frame::{self, Transport};
use crate::wire::{Message, MessageType};
use crate::worker::{Decide, Decision, Outbox};

const SPP: u8 = 7;
const KEY_ID: u32 = 2;
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn key() -> AuthKey {
    AuthKey::new(KEY_ID, 32, SECRET)
}

fn signed_cfg() -> FastPathConfig {
    let mut c = cfg();
    c.ports[0].auth = Some(PortAuth::new(SPP, KEY_ID, &[key()]));
    c
}

/// HMAC-SHA256 of `data` with `secret`, computed here without the code under test.
fn hmac(secret: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// `frame` (built by `frame::build`) with its message signed by (`spp`, `k`).
fn signed(frame_bytes: &[u8], spp: u8, k: KeyRef<'_>) -> Vec<u8> {
    frame::signed(frame_bytes, spp, k, false).unwrap()
}

#[test]
fn signed_delay_resp_l2_byte_table() {
    let rx = hex(L2_DELAY_REQ);
    let mut out = [0u8; 256];
    let n = delay_resp(&rx, 0, Some(T_IN), &signed_cfg(), &mut out).unwrap();
    // The unsigned reply of `delay_resp_l2_byte_table` with messageLength 54 + 42 = 96
    // (0x60) and the TLV: type 0x8009, length 38, SPP 7, secParamIndicator 0, keyID 2.
    let head = hex("011b19000000 0200000000aa 88f7 \
         09 12 0060 00 00 0000 0000000000018000 00000000 020000fffe0000aa 0001 1234 03 fd \
         00006553f0db 075bcd15 0102030405060708 0003 \
         8009 0026 07 00 00000002");
    assert_eq!(n, head.len() + 32);
    assert_eq!(&out[..head.len()], &head[..], "{:02x?}", &out[..n]);
    // ICV: HMAC over the message from its first octet up to the ICV (14 .. 14 + 64).
    assert_eq!(&out[head.len()..n], &hmac(SECRET, &out[14..14 + 64])[..]);
    let m = &out[14..n];
    let k_ = key();
    assert_eq!(
        auth::verify(
            m,
            MessageType::DelayResp,
            SPP,
            |_| Some(k_.key_ref()),
            false
        ),
        Ok(KEY_ID)
    );
    let mut bad = m.to_vec();
    bad[44] ^= 1; // receiveTimestamp
    assert_eq!(
        auth::verify(
            &bad,
            MessageType::DelayResp,
            SPP,
            |_| Some(k_.key_ref()),
            false
        ),
        Err(AuthFailure::BadIcv)
    );
}

#[test]
fn signed_delay_resp_udp4_lengths_and_checksum() {
    let t = Transport::udp4_multicast(PEER_MAC, Ipv4Addr::new(10, 0, 0, 2), MessageType::DelayReq);
    let rx = delay_req(&t, 0);
    let mut out = [0u8; 256];
    let n = delay_resp(&rx, 0, Some(T_IN), &signed_cfg(), &mut out).unwrap();
    let f = frame::parse(&out[..n]).unwrap();
    f.verify_udp_checksum(&out[..n]).unwrap();
    // IPv4 total length 20 + 8 + 96, UDP length 8 + 96, messageLength 96.
    assert_eq!(&out[16..18], &124u16.to_be_bytes());
    assert_eq!(&out[38..40], &104u16.to_be_bytes());
    assert_eq!(&out[42 + 2..42 + 4], &96u16.to_be_bytes());
    assert_eq!(n, 42 + 96);
    assert_eq!(&out[42 + 54..42 + 64], &hex("8009 0026 07 00 00000002")[..]);
    assert_eq!(&out[42 + 64..n], &hmac(SECRET, &out[42..42 + 64])[..]);
    // The IPv4 header checksum still sums to zero.
    let mut sum = 0u32;
    for w in out[14..34].chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    assert_eq!(sum, 0xffff);
}

#[test]
fn signed_pdelay_resp_and_follow_up_verify() {
    let mut c = signed_cfg();
    c.pdelay_mode = PdelayMode::TwoStep;
    let t = Transport::udp4_multicast(PEER_MAC, Ipv4Addr::new(10, 0, 0, 2), MessageType::PdelayReq);
    let rx = pdelay_req(&t, 0x28000);
    let mut out = [0u8; 256];
    let p = pdelay_resp(&rx, 0, Some(T_IN), &c, &mut out).unwrap();
    let f = frame::parse(&out[..p.len]).unwrap();
    f.verify_udp_checksum(&out[..p.len]).unwrap();
    let kk = key();
    let k = |_| Some(kk.key_ref());
    assert_eq!(
        auth::verify(
            f.payload(&out[..p.len]),
            MessageType::PdelayResp,
            SPP,
            k,
            false
        ),
        Ok(KEY_ID)
    );
    let fu = follow_up_for(&out[..p.len], p.req_correction, &c);
    let f2 = frame::parse(&fu).unwrap();
    let m2 = f2.payload(&fu);
    assert_eq!(
        Message::new_checked(m2).unwrap().message_type(),
        MessageType::PdelayRespFollowUp
    );
    assert_eq!(
        auth::verify(m2, MessageType::PdelayRespFollowUp, SPP, k, false),
        Ok(KEY_ID)
    );
}

#[test]
fn authenticated_port_answers_signed_requests_only() {
    let (mut fp, h) = FastPath::new(signed_cfg());
    let t = Transport::l2_multicast(PEER_MAC, MessageType::DelayReq);
    let plain = delay_req(&t, 0);
    let good = signed(&plain, SPP, key().key_ref());
    let wrong_secret = AuthKey::new(KEY_ID, 32, b"not the key");
    let wrong = signed(&plain, SPP, wrong_secret.key_ref());
    let unknown = signed(&plain, SPP, AuthKey::new(9, 32, SECRET).key_ref());
    let drops = |e: FastPathError| h.counters.drops_of(e);

    let mut out = Outbox::new(8);
    assert_eq!(fp.decide(&plain, &info(0, T_IN), &mut out), Decision::Drop);
    assert_eq!(drops(FastPathError::AuthMissing), 1);
    assert_eq!(fp.decide(&wrong, &info(0, T_IN), &mut out), Decision::Drop);
    assert_eq!(drops(FastPathError::AuthBadIcv), 1);
    assert_eq!(
        fp.decide(&unknown, &info(0, T_IN), &mut out),
        Decision::Drop
    );
    assert_eq!(drops(FastPathError::AuthUnknownKey), 1);
    assert!(out.items().is_empty(), "nothing answered so far");

    assert_eq!(
        fp.decide(&good, &info(0, T_IN), &mut out),
        Decision::Handled
    );
    let reply = out.items()[0].frame.as_slice().to_vec();
    let f = frame::parse(&reply).unwrap();
    let kk = key();
    let k = |_| Some(kk.key_ref());
    assert_eq!(
        auth::verify(f.payload(&reply), MessageType::DelayResp, SPP, k, false),
        Ok(KEY_ID),
        "the Delay_Resp is signed"
    );
    let tok = out.items()[0].token;
    fp.tx_done(0, tok, sent(T_IN + 1_000), &mut out);
    // The same signed frame again: a replay.
    assert_eq!(
        fp.decide(&good, &info(0, T_IN + 10), &mut out),
        Decision::Drop
    );
    assert_eq!(drops(FastPathError::AuthReplay), 1);
    assert_eq!(h.counters.delay_resp_sent.get(), 1);

    // allow_unauth 1: unsigned event messages pass, a bad ICV still does not.
    let mut c = signed_cfg();
    if let Some(a) = c.ports[0].auth.as_mut() {
        a.allow_unauth_event = true;
    }
    let (mut fp, h) = FastPath::new(c);
    let mut out = Outbox::new(8);
    assert_eq!(
        fp.decide(&plain, &info(0, T_IN), &mut out),
        Decision::Handled
    );
    assert_eq!(fp.decide(&wrong, &info(0, T_IN), &mut out), Decision::Drop);
    assert_eq!(h.counters.drops_of(FastPathError::AuthBadIcv), 1);
}

/// `frame_bytes` (an L2 frame) with sequenceId `seq`.
fn with_seq(frame_bytes: &[u8], seq: u16) -> Vec<u8> {
    let mut f = frame_bytes.to_vec();
    f[14 + 30..14 + 32].copy_from_slice(&seq.to_be_bytes());
    f
}

/// Key rotation (what control sends after a SIGHUP re-read of the sa_file): a
/// `ConfigUpdate::Auth` with a new secret under the same keyID. Afterwards the old key is
/// refused (auth_bad_icv), the new one is answered and signs the reply, and the requester's
/// replay slot survived the switch (IEEE 1588-2019 16.14, P.2.2).
#[test]
fn rotated_key_applies_between_batches_and_keeps_replay_state() {
    use super::config::ConfigUpdate;
    const NEW: &[u8] = b"the-rotated-secret-for-keyid-two";
    let (mut fp, h) = FastPath::new(signed_cfg());
    let t = Transport::l2_multicast(PEER_MAC, MessageType::DelayReq);
    let plain = delay_req(&t, 0);
    let new_key = AuthKey::new(KEY_ID, 32, NEW);
    let by = |k: &AuthKey, seq| signed(&with_seq(&plain, seq), SPP, k.key_ref());
    let mut out = Outbox::new(8);
    assert_eq!(
        fp.decide(&by(&key(), 0x1234), &info(0, T_IN), &mut out),
        Decision::Handled
    );
    let tok = out.items()[0].token;
    fp.tx_done(0, tok, sent(T_IN + 1_000), &mut out);
    out.clear();

    assert!(h.updates.push(ConfigUpdate::Auth {
        port: 0,
        auth: Some(PortAuth::new(SPP, KEY_ID, &[new_key])),
    }));
    fp.tick(T_IN + 2_000, &mut out);
    let drops = |e: FastPathError| h.counters.drops_of(e);
    assert_eq!(
        fp.decide(&by(&key(), 0x1235), &info(0, T_IN + 3_000), &mut out),
        Decision::Drop,
        "the old key after the rotation"
    );
    assert_eq!(drops(FastPathError::AuthBadIcv), 1);
    assert_eq!(
        fp.decide(&by(&new_key, 0x1234), &info(0, T_IN + 4_000), &mut out),
        Decision::Drop,
        "the last accepted sequenceId, re-signed with the new key"
    );
    assert_eq!(drops(FastPathError::AuthReplay), 1);
    assert_eq!(
        fp.decide(&by(&new_key, 0x1235), &info(0, T_IN + 5_000), &mut out),
        Decision::Handled
    );
    let reply = out.items()[0].frame.as_slice().to_vec();
    let f = frame::parse(&reply).unwrap();
    assert_eq!(
        auth::verify(
            f.payload(&reply),
            MessageType::DelayResp,
            SPP,
            |_| Some(new_key.key_ref()),
            false
        ),
        Ok(KEY_ID),
        "the reply is signed with the new key"
    );
}
