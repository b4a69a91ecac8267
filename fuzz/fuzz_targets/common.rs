//! Shared by the fast-path targets: a configuration with every port kind (optionally
//! requiring authentication with a fixed key), the checks every frame the fast path emits
//! must pass, and the engine driven on a frame the target may sign itself so that the
//! ICV-valid path is reached, not only rejection.
#![allow(dead_code)]

use core::net::{Ipv4Addr, Ipv6Addr};

use xptp_datapath::fastpath::{
    AuthKey, FastPath, FastPathConfig, FastPathError, PdelayMode, PortAuth, PortConfig, TcMode,
};
use xptp_datapath::handoff::{RxTimestamps, Transport};
use xptp_datapath::wire::auth::{self, AuthFailure};
use xptp_datapath::wire::frame;
use xptp_datapath::wire::{ClockIdentity, Message, MessageRepr, MessageType};
use xptp_datapath::worker::{Decide, Outbox, RxInfo};

/// Splits `data` into a few parameter octets and the frame.
pub struct Input<'a> {
    pub knobs: [u8; 8],
    pub frame: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        let mut knobs = [0u8; 8];
        let n = data.len().min(8);
        knobs[..n].copy_from_slice(&data[..n]);
        Input {
            knobs,
            frame: &data[n..],
        }
    }

    pub fn u64(&self) -> u64 {
        u64::from_le_bytes(self.knobs)
    }
}

/// Three enabled ports (MASTER + P2P + TC, addresses set) of clock 02:..:01, domain from
/// `knob`, TC mode and Pdelay mode from its bits.
pub fn config(knob: u8) -> FastPathConfig {
    let mut cfg = FastPathConfig {
        clock_identity: ClockIdentity([2, 0, 0, 0xff, 0xfe, 0, 0, 1]),
        domain_number: if knob & 0x80 != 0 { knob & 0x7f } else { 0 },
        log_min_delay_req_interval: -4,
        pdelay_mode: if knob & 1 != 0 {
            PdelayMode::OneStep
        } else {
            PdelayMode::TwoStep
        },
        tc_mode: match (knob >> 1) & 3 {
            0 => TcMode::Off,
            1 => TcMode::E2e,
            _ => TcMode::P2p,
        },
        tai_to_ptp_ns: if knob & 8 != 0 { -37_000_000_000 } else { 0 },
        syntonize: knob & 16 != 0,
        ..FastPathConfig::default()
    };
    for i in 0..3u8 {
        cfg.ports[usize::from(i)] = PortConfig {
            master: true,
            p2p: true,
            tc: true,
            ipv4: Some(Ipv4Addr::new(10, 0, 0, i + 1)),
            ipv6: Some(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(i) + 1)),
            ..PortConfig::new(u16::from(i) + 1, [2, 0, 0, 0, 0, i + 1])
        };
    }
    cfg
}

/// A frame the fast path emits parses completely, as the expected type, and for UDP carries a
/// valid checksum.
pub fn check_emitted(bytes: &[u8], want: MessageType) {
    let f = frame::parse(bytes).expect("emitted frame parses");
    let payload = f.payload(bytes);
    let m = Message::new_checked(payload).expect("emitted message checks");
    assert_eq!(m.message_type(), want);
    MessageRepr::parse(payload).expect("emitted message parses in full");
    if f.udp_checksum_at.is_some() {
        f.verify_udp_checksum(bytes)
            .expect("emitted UDP checksum verifies");
    }
}

/// SPP of the authenticated ports' security association.
pub const AUTH_SPP: u8 = 1;
/// keyID of its key.
pub const AUTH_KEY_ID: u32 = 7;
/// The pre-shared secret.
pub const AUTH_SECRET: &[u8] = b"xptp-fuzz-pre-shared-key";

/// The knob bits of the authentication octet (`Input::knobs[5]`).
pub mod auth_knob {
    /// Ports require authentication (IEEE 1588-2019 16.14).
    pub const ON: u8 = 0x01;
    /// The target signs the fuzzed frame with the key before the fast path sees it.
    pub const SIGN: u8 = 0x02;
    /// SHA256-128 (16-octet ICV) instead of SHA256.
    pub const SHORT_ICV: u8 = 0x04;
    /// allow_unauth 1: event messages may come unsigned.
    pub const ALLOW_UNAUTH_EVENT: u8 = 0x08;
    /// allow_mutable 1: correctionField is left out of the ICV.
    pub const ALLOW_MUTABLE: u8 = 0x10;
    /// seqid_window 0 (no replay check).
    pub const NO_REPLAY_CHECK: u8 = 0x20;
}

/// The ports' association selected by `knob` (None unless [`auth_knob::ON`]): one fixed key
/// (IEEE 1588-2019 P.3.2, HMAC-SHA256).
pub fn port_auth(knob: u8) -> Option<PortAuth> {
    if knob & auth_knob::ON == 0 {
        return None;
    }
    let icv = if knob & auth_knob::SHORT_ICV != 0 {
        16
    } else {
        32
    };
    let mut a = PortAuth::new(
        AUTH_SPP,
        AUTH_KEY_ID,
        &[AuthKey::new(AUTH_KEY_ID, icv, AUTH_SECRET)],
    );
    a.allow_unauth_event = knob & auth_knob::ALLOW_UNAUTH_EVENT != 0;
    a.allow_mutable = knob & auth_knob::ALLOW_MUTABLE != 0;
    a.seqid_window = if knob & auth_knob::NO_REPLAY_CHECK != 0 {
        0
    } else {
        3
    };
    Some(a)
}

/// [`config`] with the enabled ports authenticating as `auth_knob` says.
pub fn config_with_auth(knob: u8, auth_knob: u8) -> FastPathConfig {
    let mut cfg = config(knob);
    let a = port_auth(auth_knob);
    for p in cfg.ports.iter_mut().filter(|p| p.enabled) {
        p.auth = a;
    }
    cfg
}

/// `frame` with its message signed with the key of `a` (see `frame::signed`).
pub fn sign_frame(bytes: &[u8], a: &PortAuth) -> Option<Vec<u8>> {
    let key = a.active_key()?;
    frame::signed(bytes, a.spp, key.key_ref(), a.allow_mutable)
}

/// The message of `bytes` (a frame) verified under `a`.
pub fn verify_frame(bytes: &[u8], mtype: MessageType, a: &PortAuth) -> Result<u32, AuthFailure> {
    let f = frame::parse(bytes).map_err(|_| AuthFailure::Missing)?;
    auth::verify(
        f.payload(bytes),
        mtype,
        a.spp,
        |id| a.key(id).map(AuthKey::key_ref),
        a.allow_mutable,
    )
}

/// A frame a signing port emitted: valid (see [`check_emitted`]) and carrying an ICV that
/// verifies with the port's active key (IEEE 1588-2019 16.14).
pub fn check_signed(bytes: &[u8], want: MessageType, a: Option<&PortAuth>) {
    check_emitted(bytes, want);
    if let Some(a) = a {
        assert_eq!(
            verify_frame(bytes, want, a),
            Ok(a.active_key_id),
            "a reply of a signing port verifies"
        );
    }
}

/// The whole engine (`FastPath::decide`, as the worker calls it) on `bytes` arriving on
/// `port` with the authentication of `auth_knob`, the frame signed first when
/// [`auth_knob::SIGN`] is set. Every frame sent must be valid and, when the port signs,
/// verify; a request whose ICV verifies is never refused as missing, unknown key or bad ICV.
pub fn drive_engine(bytes: &[u8], knob: u8, auth_knob: u8, port: u16, now: u64) {
    let cfg = config_with_auth(knob, auth_knob);
    let a = port_auth(auth_knob);
    let signed = match a {
        Some(a) if auth_knob & auth_knob::SIGN != 0 => sign_frame(bytes, &a),
        _ => None,
    };
    let bytes = signed.as_deref().unwrap_or(bytes);
    let mtype = frame::parse(bytes)
        .ok()
        .and_then(|f| Message::new_checked(f.payload(bytes)).ok())
        .map(|m| m.message_type());
    let (mut fp, h) = FastPath::new(cfg);
    let mut out = Outbox::new(8);
    let info = RxInfo {
        port,
        queue_id: 0,
        transport: Transport::Unknown,
        vlan: false,
        udp_event: knob & 0x40 != 0,
        ts: RxTimestamps {
            xdp_tai_ns: Some(now),
            hw_ns: None,
            user_tai_ns: now,
        },
    };
    let _ = fp.decide(bytes, &info, &mut out);
    if let (Some(a), Some(t)) = (a, mtype) {
        if verify_frame(bytes, t, &a).is_ok() {
            for e in [
                FastPathError::AuthMissing,
                FastPathError::AuthUnknownKey,
                FastPathError::AuthBadIcv,
            ] {
                assert_eq!(h.counters.drops_of(e), 0, "a valid ICV refused as {e:?}");
            }
        }
    }
    let pa = cfg.port(port).and_then(|p| p.auth);
    for o in out.items() {
        let sent = o.frame.as_slice();
        let f = frame::parse(sent).expect("a frame the fast path sends parses");
        let m = Message::new_checked(f.payload(sent)).expect("and carries a valid message");
        // Our replies (a forwarding TC sends the fuzzed frames on as they are).
        let reply = matches!(
            (mtype, m.message_type()),
            (Some(MessageType::DelayReq), MessageType::DelayResp)
                | (Some(MessageType::PdelayReq), MessageType::PdelayResp)
        );
        if reply && o.port == port {
            check_signed(sent, m.message_type(), pa.as_ref());
        }
    }
}
