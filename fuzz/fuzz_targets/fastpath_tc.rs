//! The transparent clock and the whole fast-path engine as the worker drives it: a sequence of
//! arbitrary frames on arbitrary ports through `FastPath::decide`, with the frames it sends
//! patched (`before_kick`) and completed or dropped (`tx_done`), table expiry (`tick`), and
//! `frame::add_correction` on each frame. Never panics; every frame it sends parses; a
//! correction update keeps a valid UDP checksum valid.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use xptp_datapath::fastpath::FastPath;
use xptp_datapath::handoff::{RxTimestamps, Transport, TxDropReason, TxOutcome};
use xptp_datapath::wire::frame;
use xptp_datapath::wire::{Message, TimeInterval};
use xptp_datapath::worker::{Decide, Outbox, RxInfo};

fuzz_target!(|data: &[u8]| {
    let input = common::Input::new(data);
    let cfg = common::config(input.knobs[0]);
    let (mut fp, _handles) = FastPath::new(cfg);
    let mut out = Outbox::new(64);
    let mut now: u64 = 1_700_000_000_000_000_000 ^ (input.u64() & 0xffff_ffff);
    let mut rest = input.frame;
    while let [op, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (bytes, next) = tail.split_at(n);
        rest = next;
        now = now.wrapping_add(u64::from(*op) << 12);
        let info = RxInfo {
            port: u16::from(op & 3),
            queue_id: 0,
            transport: Transport::Unknown,
            vlan: false,
            udp_event: op & 4 != 0,
            ts: RxTimestamps {
                xdp_tai_ns: (op & 8 == 0).then_some(now),
                hw_ns: None,
                user_tai_ns: now,
            },
        };
        let _ = fp.decide(bytes, &info, &mut out);
        // The worker's part: kick, complete (or drop) what the hook sent, in order.
        for _round in 0..3 {
            let items: Vec<_> = out.items().to_vec();
            out.clear();
            if items.is_empty() {
                break;
            }
            for mut o in items {
                let kick = now.wrapping_add(20_000);
                fp.before_kick(o.port, o.token, o.frame.as_mut_slice(), kick);
                let sent = o.frame.as_slice();
                let f = frame::parse(sent).expect("a frame the fast path sends parses");
                Message::new_checked(f.payload(sent)).expect("and carries a valid message");
                let outcome = if op & 0x10 != 0 {
                    TxOutcome::Dropped(TxDropReason::NoFreeFrame)
                } else {
                    TxOutcome::Sent {
                        sw_tai_ns: kick,
                        hw_ns: None,
                    }
                };
                fp.tx_done(o.port, o.token, outcome, &mut out);
            }
        }
        out.clear();
        if op & 0x20 != 0 {
            fp.tick(now, &mut out);
            out.clear();
        }
        // In-place correction update on a copy.
        let mut copy = bytes.to_vec();
        let before_ok = frame::parse(&copy)
            .ok()
            .filter(|f| f.udp_checksum_at.is_some())
            .is_some_and(|f| f.verify_udp_checksum(&copy).is_ok());
        let delta = TimeInterval(i64::from(*op) << 24 | i64::from(*len));
        if frame::add_correction(&mut copy, delta).is_ok() && before_ok {
            let f = frame::parse(&copy).expect("still parses");
            f.verify_udp_checksum(&copy)
                .expect("add_correction keeps a valid UDP checksum valid");
        }
    }
});
