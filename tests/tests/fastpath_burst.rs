//! A burst of Delay_Req from 64 distinct requesters (sourcePortIdentities), sent with a raw
//! AF_PACKET socket from the peer namespace, is answered completely by xptp's fast path: every
//! Delay_Resp matches a request by requestingPortIdentity + sequenceId, carries our identity and
//! a receiveTimestamp close to the send time. Prints the handling-time distribution. Needs root.

#[path = "../../datapath/tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use support::{in_netns, require_root, Lab, RawSock, MAC_A, MAC_B};
use xptp_datapath::fastpath::{self, EventKind, FastPathConfig, PortConfig};
use xptp_datapath::wire::frame::{self, Transport};
use xptp_datapath::wire::{
    Body, ClockIdentity, HeaderRepr, Message, MessageRepr, MessageType, PortIdentity, Timestamp,
};

const REQUESTERS: u16 = 64;
const ROUNDS: u16 = 20;

#[test]
fn delay_req_burst_from_64_requesters_is_answered_completely() {
    if !require_root("delay_req_burst_from_64_requesters_is_answered_completely") {
        return;
    }
    let lab = Lab::new("fpburst");
    let mut cfg = FastPathConfig {
        tai_to_ptp_ns: fastpath::run::realtime_minus_tai_ns(),
        log_min_delay_req_interval: -4,
        ..FastPathConfig::default()
    };
    cfg.ports[0] = PortConfig {
        master: true,
        ..PortConfig::new(1, MAC_A)
    };
    let ours = PortIdentity::new(ClockIdentity::from_mac(MAC_A), 1);
    let running = in_netns(&lab.a, || fastpath::run_master_responder(&lab.va, cfg)).expect("start");
    let (answered, sent, elapsed) = in_netns(&lab.b, || {
        let raw = RawSock::open(&lab.vb);
        let total = usize::from(REQUESTERS) * usize::from(ROUNDS);
        std::thread::scope(|sc| {
            // The receiver reads while the sender sends, so the socket buffer never overflows.
            let rx = sc.spawn(|| {
                let mut got = BTreeSet::new();
                let deadline = Instant::now() + Duration::from_secs(5);
                while got.len() < total && Instant::now() < deadline {
                    let Some(f) = raw.recv(Duration::from_millis(200)) else {
                        continue;
                    };
                    let Ok(p) = frame::parse(&f) else { continue };
                    let Ok(m) = Message::new_checked(p.payload(&f)) else {
                        continue;
                    };
                    if m.message_type() != MessageType::DelayResp {
                        continue;
                    }
                    assert_eq!(m.source_port_identity(), ours);
                    assert_eq!(m.log_message_interval(), -4);
                    let rt = m.timestamp().unwrap().to_nanos();
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_nanos() as i128;
                    assert!(
                        (now - rt).abs() < 10_000_000_000,
                        "receiveTimestamp {rt} far from now {now}"
                    );
                    let key = (m.requesting_port_identity().unwrap(), m.sequence_id());
                    got.insert(key);
                }
                got
            });
            let mut want = BTreeSet::new();
            let t0 = Instant::now();
            for round in 0..ROUNDS {
                for r in 0..REQUESTERS {
                    let id = PortIdentity::new(
                        ClockIdentity([0xaa, 0, 0, 0, 0, 0, (r >> 8) as u8, r as u8]),
                        r + 1,
                    );
                    let m = MessageRepr::new(
                        HeaderRepr {
                            source_port_identity: id,
                            sequence_id: round,
                            log_message_interval: 0x7f,
                            ..HeaderRepr::default()
                        },
                        Body::DelayReq {
                            origin_timestamp: Timestamp::default(),
                        },
                    );
                    let f =
                        frame::build(&Transport::l2_multicast(MAC_B, MessageType::DelayReq), &m)
                            .unwrap();
                    raw.send(&f);
                    want.insert((id, round));
                }
                // 64 requesters at once, 20 rounds: a burst per round, not a flood (a veth RX
                // ring overrun would lose frames before xptp ever sees them).
                std::thread::sleep(Duration::from_millis(5));
            }
            let got = rx.join().expect("receiver");
            for k in &got {
                assert!(
                    want.contains(k),
                    "Delay_Resp for a request never sent: {k:?}"
                );
            }
            (got, want, t0.elapsed())
        })
    });
    let c = &running.handles().counters;
    let mut handling: Vec<i64> = std::iter::from_fn(|| running.handles().events.pop())
        .filter(|e| e.kind == EventKind::DelayResp)
        .map(|e| e.value_ns)
        .collect();
    handling.sort_unstable();
    let q = |p: f64| {
        handling
            .get(((handling.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    println!(
        "Delay_Req burst: {} sent in {elapsed:?}, {} answered; xptp handling (XDP ingress → TX kick, \
         debug build, shared VM): p50={} p99={} p99.9={} ns; drops {:?}; worker {:?}",
        sent.len(),
        answered.len(),
        q(0.5),
        q(0.99),
        q(0.999),
        c.drop_summary(),
        running.worker_counters()
    );
    let missing: Vec<_> = sent.difference(&answered).take(5).collect();
    assert!(
        missing.is_empty(),
        "{} of {} Delay_Req unanswered, e.g. {missing:?}",
        sent.len() - answered.len(),
        sent.len()
    );
    assert_eq!(
        c.delay_resp_sent.get(),
        u64::from(REQUESTERS) * u64::from(ROUNDS)
    );
    drop(running);
}
