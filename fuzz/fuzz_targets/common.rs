//! Shared by the fast-path targets: a configuration with every port kind, and the checks every
//! frame the fast path emits must pass.
#![allow(dead_code)]

use core::net::{Ipv4Addr, Ipv6Addr};

use xptp_datapath::fastpath::{FastPathConfig, PdelayMode, PortConfig, TcMode};
use xptp_datapath::wire::frame;
use xptp_datapath::wire::{ClockIdentity, Message, MessageRepr, MessageType};

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
