//! Arbitrary messages into a two-port `PtpInstance` (E2E port 1, P2P port 2), interleaved with
//! timers and TX timestamps: never panics, and its actions are well-formed (every message it
//! sends parses).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use xptp_control::datasets::{DelayMechanism, PortConfig};
use xptp_control::port::Action;
use xptp_control::ptp::{InstanceConfig, PtpInstance};
use xptp_control::time::Instant;
use xptp_datapath::wire::{ClockIdentity, MessageRepr};

fuzz_target!(|data: &[u8]| {
    let rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
    let p2p = PortConfig {
        delay_mechanism: DelayMechanism::P2P,
        ..PortConfig::default()
    };
    let mut inst = PtpInstance::new(
        InstanceConfig::default(),
        vec![PortConfig::default(), p2p],
        ClockIdentity([2, 0, 0, 0xff, 0xfe, 0, 0, 1]),
        Box::new(rng),
    );
    let mut now = Instant::ZERO;
    let mut local: i128 = 1_700_000_000_000_000_000;
    let mut rest = data;
    while let [op, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (bytes, next) = tail.split_at(n);
        rest = next;
        let step = u64::from(*op) * 10_000_000;
        now = Instant(now.as_nanos() + step);
        local += i128::from(step);
        let port = u16::from(op & 3);
        inst.handle_message(now, port, bytes, local);
        if op & 0x40 != 0 {
            inst.handle_fault(now, port);
        }
        if let Some(t) = inst.poll_timeout() {
            if t <= now || op & 0x80 != 0 {
                inst.handle_timer(now.max(t));
            }
        }
        while let Some(a) = inst.poll_action() {
            if let Action::Send { data, token, .. } = a {
                MessageRepr::parse(&data).expect("the instance sends valid messages");
                if let Some(t) = token {
                    inst.handle_tx_timestamp(t, local + 1000);
                }
            }
        }
    }
});
