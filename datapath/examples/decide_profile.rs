//! The fast path's per-request work alone, for an instruction-count profile: `N` Delay_Req
//! frames (L2 or UDPv4, 256 rotating requesters, flood protection off) through
//! `FastPath::decide` and the reply's `tx_done`, as the worker calls them, without rings or
//! syscalls. Run under callgrind and compare the two transports:
//!
//! ```sh
//! cargo build --release -p xptp-datapath --example decide_profile
//! valgrind --tool=callgrind target/release/examples/decide_profile l2 200000
//! valgrind --tool=callgrind target/release/examples/decide_profile udp4 200000
//! ```
//!
//! (Instruction counts are repeatable on a loaded machine; the difference between two `N`
//! gives the per-request count without the start-up.)

use std::hint::black_box;
use std::net::Ipv4Addr;

use xptp_datapath::fastpath::{FastPath, FastPathConfig, PortConfig, RateLimits};
use xptp_datapath::handoff::{RxTimestamps, Transport as HTransport, TxOutcome};
use xptp_datapath::wire::frame::{self, Transport};
use xptp_datapath::wire::{
    Body, ClockIdentity, HeaderRepr, MessageRepr, MessageType, PortIdentity, Timestamp,
};
use xptp_datapath::worker::{Decide, Outbox, RxInfo};

const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xaa];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xbb];

fn main() {
    let mut args = std::env::args().skip(1);
    let wire = args.next().unwrap_or_else(|| "l2".into());
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let mut cfg = FastPathConfig {
        clock_identity: ClockIdentity::from_mac(OUR_MAC),
        tai_to_ptp_ns: 0,
        rate_limits: RateLimits::UNLIMITED,
        ..FastPathConfig::default()
    };
    cfg.ports[0] = PortConfig {
        master: true,
        ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
        ..PortConfig::new(1, OUR_MAC)
    };
    let (t, ht) = match wire.as_str() {
        "udp4" => (
            Transport::udp4_multicast(PEER_MAC, Ipv4Addr::new(10, 0, 0, 2), MessageType::DelayReq),
            HTransport::Udp4,
        ),
        _ => (
            Transport::l2_multicast(PEER_MAC, MessageType::DelayReq),
            HTransport::Ethernet,
        ),
    };
    let frames: Vec<Vec<u8>> = (0..256u16)
        .map(|i| {
            let m = MessageRepr::new(
                HeaderRepr {
                    source_port_identity: PortIdentity::new(
                        ClockIdentity([1, 2, 3, 4, 5, 6, (i >> 8) as u8, i as u8]),
                        1,
                    ),
                    sequence_id: i,
                    ..HeaderRepr::default()
                },
                Body::DelayReq {
                    origin_timestamp: Timestamp::default(),
                },
            );
            frame::build(&t, &m).unwrap_or_default()
        })
        .collect();
    let (mut fp, _h) = FastPath::new(cfg);
    let mut out = Outbox::new(16);
    let mut done = Outbox::new(16);
    let mut answered = 0u64;
    for k in 0..n {
        let now = 1_700_000_000_000_000_000 + k * 4_000;
        let info = RxInfo {
            port: 0,
            queue_id: 0,
            transport: ht,
            vlan: false,
            udp_event: true,
            ts: RxTimestamps {
                xdp_tai_ns: Some(now),
                hw_ns: None,
                user_tai_ns: now + 500,
            },
        };
        let f = frames
            .get((k % 256) as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        black_box(fp.decide(black_box(f), &info, &mut out));
        for o in out.items() {
            answered += 1;
            let outcome = TxOutcome::Sent {
                sw_tai_ns: now + 2_000,
                hw_ns: None,
            };
            fp.tx_done(o.port, o.token, outcome, &mut done);
        }
        out.clear();
        done.clear();
    }
    println!("{wire}: {n} Delay_Req, {answered} answered");
}
