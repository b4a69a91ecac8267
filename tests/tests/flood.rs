//! A Delay_Req flood (raw AF_PACKET sendmmsg from the peer namespace, as fast as the sender
//! goes, for 5 s, from 256 rotating requester identities) at xptp's fast-path master
//! responder with rate limits on, while the test's control loop sends a Sync every 125 ms
//! through the worker's TX lane. The rate limiter sheds the excess (counted by reason), every
//! Sync still leaves and reaches the peer, RSS stays flat, and a new requester is answered as
//! soon as the flood stops. Needs root.

#[path = "../../datapath/tests/support/mod.rs"]
mod support;

#[path = "hostile/mod.rs"]
mod hostile;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hostile::{build, delay_req, rss_kb, spawn_in_netns, Carriage, Packet};
use support::{in_netns, require_root, Lab, MAC_A};
use xptp_datapath::fastpath::run::{self, RunOptions};
use xptp_datapath::fastpath::{
    ClassLimits, FastPathConfig, FastPathError, PortConfig, RateLimit, RateLimits,
};
use xptp_datapath::handoff::{FrameBuf, TxOutcome, TxRequest, TxToken};
use xptp_datapath::wire::frame::{self, Transport};
use xptp_datapath::wire::{
    Body, ClockIdentity, HeaderRepr, Message, MessageRepr, MessageType, PortIdentity, Timestamp,
};

const FLOOD: Duration = Duration::from_secs(5);
const SYNC_PERIOD: Duration = Duration::from_millis(125);
const REQUESTERS: u16 = 256;

fn our_sync(ours: ClockIdentity, seq: u16) -> FrameBuf {
    let m = MessageRepr::new(
        HeaderRepr {
            source_port_identity: PortIdentity::new(ours, 1),
            sequence_id: seq,
            log_message_interval: -3,
            ..HeaderRepr::default()
        },
        Body::Sync {
            origin_timestamp: Timestamp::default(),
        },
    );
    let f = frame::build(&Transport::l2_multicast(MAC_A, MessageType::Sync), &m).unwrap();
    FrameBuf::from_slice(&f).unwrap()
}

#[derive(Default)]
struct PeerSeen {
    syncs: BTreeSet<u16>,
    delay_resps: u64,
    fresh_answers: BTreeSet<u16>,
    first_fresh_answer: Option<Instant>,
}

/// 10 000 Delay_Req/s per port (burst 1 000), 200/s per requester (burst 50).
const LIMITS: RateLimits = RateLimits {
    delay_req: ClassLimits {
        port: RateLimit::new(10_000, 1_000),
        requester: RateLimit::new(200, 50),
    },
    ..RateLimits::DEFAULT
};

#[test]
fn delay_req_flood_is_shed_and_does_not_starve_sync() {
    if !require_root("delay_req_flood_is_shed_and_does_not_starve_sync") {
        return;
    }
    flood(LIMITS, "flood");
}

/// Without rate limits every request the worker sees is answered: the replies contend with
/// the Syncs for the TX ring, and control's requests still go first.
#[test]
fn unlimited_delay_req_flood_does_not_starve_sync() {
    if !require_root("unlimited_delay_req_flood_does_not_starve_sync") {
        return;
    }
    flood(RateLimits::UNLIMITED, "floodu");
}

fn flood(limits: RateLimits, tag: &str) {
    let lab = Lab::new(tag);
    let ours = ClockIdentity::from_mac(MAC_A);
    let mut cfg = FastPathConfig {
        clock_identity: ours,
        tai_to_ptp_ns: run::realtime_minus_tai_ns(),
        rate_limits: limits,
        ..FastPathConfig::default()
    };
    cfg.ports[0] = PortConfig {
        master: true,
        ..PortConfig::new(1, MAC_A)
    };
    let mut opts = RunOptions::new(&[lab.va.as_str()], cfg);
    opts.control_thread = false;
    let running = in_netns(&lab.a, || run::start(opts)).expect("start the datapath");
    let link = running.link().clone();
    let fresh = PortIdentity::new(ClockIdentity([0xbb, 0, 0, 0, 0, 0, 0, 1]), 1);

    // Peer receiver: Syncs from us, Delay_Resps (all, and to the fresh requester).
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(PeerSeen::default()));
    let receiver = {
        let (stop, seen, vb) = (stop.clone(), seen.clone(), lab.vb.clone());
        spawn_in_netns(&lab.b, move || {
            let s = Packet::open(&vb);
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Acquire) {
                let Some(n) = s.recv(&mut buf) else { continue };
                let f = &buf[..n];
                let Ok(p) = frame::parse(f) else { continue };
                let Ok(m) = Message::new_checked(p.payload(f)) else {
                    continue;
                };
                let mut g = seen.lock().unwrap();
                match m.message_type() {
                    MessageType::Sync if m.source_port_identity().clock_identity == ours => {
                        g.syncs.insert(m.sequence_id());
                    }
                    MessageType::DelayResp => {
                        g.delay_resps += 1;
                        if m.requesting_port_identity() == Some(fresh) {
                            g.fresh_answers.insert(m.sequence_id());
                            g.first_fresh_answer.get_or_insert_with(Instant::now);
                        }
                    }
                    _ => {}
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));

    // The flood, started once the control loop runs.
    let go = Arc::new(AtomicBool::new(false));
    let flood_done = Arc::new(AtomicBool::new(false));
    let offered = Arc::new(AtomicU64::new(0));
    let flooder = {
        let (go, done, offered, vb) = (
            go.clone(),
            flood_done.clone(),
            offered.clone(),
            lab.vb.clone(),
        );
        spawn_in_netns(&lab.b, move || {
            let s = Packet::open(&vb);
            let frames: Vec<Vec<u8>> = (0..1024u16)
                .map(|k| {
                    let r = k % REQUESTERS;
                    let id = PortIdentity::new(
                        ClockIdentity([0xaa, 0, 0, 0, 0, 0, (r >> 8) as u8, r as u8]),
                        1,
                    );
                    build(Carriage::L2, &delay_req(id, k / REQUESTERS))
                })
                .collect();
            while !go.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let end = Instant::now() + FLOOD;
            let mut k = 0;
            while Instant::now() < end {
                let batch = &frames[k..k + 64];
                k = (k + 64) % frames.len();
                offered.fetch_add(s.send_batch(batch) as u64, Ordering::Relaxed);
            }
            done.store(true, Ordering::Release);
        })
    };

    // The test's control loop: a Sync every 125 ms, TX reports counted, the up-lane drained.
    let mut syncs_pushed = BTreeSet::new();
    let mut syncs_sent = BTreeSet::new();
    let mut syncs_dropped = Vec::new();
    let mut to_control = 0u64;
    let mut seq: u16 = 0;
    let mut next_sync = Instant::now();
    let mut rss_before = 0;
    let mut flood_end: Option<Instant> = None;
    let mut fresh_sent = 0u16;
    let start = Instant::now();
    let mut last_fresh = start;
    loop {
        let now = Instant::now();
        if now >= next_sync {
            next_sync += SYNC_PERIOD;
            let req = TxRequest {
                port: 0,
                token: TxToken(u64::from(seq)),
                frame: our_sync(ours, seq),
            };
            if link.tx_down.push(req) {
                syncs_pushed.insert(seq);
            }
            seq += 1;
        }
        while let Some(r) = link.tx_reports_up.pop() {
            match r.outcome {
                TxOutcome::Sent { .. } => {
                    syncs_sent.insert(r.token.0 as u16);
                }
                TxOutcome::Dropped(d) => syncs_dropped.push((r.token.0, d)),
            }
        }
        while link.rx_up.pop().is_some() {
            to_control += 1;
        }
        let elapsed = now - start;
        if elapsed >= Duration::from_millis(500) && !go.load(Ordering::Relaxed) {
            rss_before = rss_kb();
            go.store(true, Ordering::Release);
        }
        if flood_end.is_none() && flood_done.load(Ordering::Acquire) {
            flood_end = Some(now);
        }
        // After the flood: a new requester, 20 Delay_Req 10 ms apart. It starts 150 ms after
        // the flooder stops: frames of the flood still queued in the kernel keep draining the
        // port bucket until then, and a full port bucket (burst 1 000 at 10 000/s) refills in
        // 100 ms; what arrives while it is empty is shed by design, not a service failure.
        if let Some(fe) = flood_end {
            if fresh_sent < 20
                && now - fe >= Duration::from_millis(150)
                && now - last_fresh >= Duration::from_millis(10)
            {
                last_fresh = now;
                let f = build(Carriage::L2, &delay_req(fresh, fresh_sent));
                let vb = lab.vb.clone();
                in_netns(&lab.b, move || assert!(Packet::open(&vb).send(&f)));
                fresh_sent += 1;
            }
            if now - fe >= Duration::from_millis(1150) {
                break;
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    flooder.join().expect("flooder");
    let rss_after = rss_kb();
    std::thread::sleep(Duration::from_millis(200));
    while let Some(r) = link.tx_reports_up.pop() {
        if let TxOutcome::Sent { .. } = r.outcome {
            syncs_sent.insert(r.token.0 as u16);
        }
    }
    stop.store(true, Ordering::Release);
    receiver.join().expect("receiver");
    let seen = std::mem::take(&mut *seen.lock().unwrap());

    let c = &running.handles().counters;
    let w = running.worker_counters();
    let xdp = running.steering_counters();
    let shed_port = c.drops_of(FastPathError::RateLimitedPort);
    let shed_req = c.drops_of(FastPathError::RateLimitedRequester);
    let offered = offered.load(Ordering::Relaxed);
    let first_answer = match (seen.first_fresh_answer, flood_end) {
        (Some(a), Some(e)) => format!("{:?}", a.saturating_duration_since(e)),
        _ => "never".into(),
    };
    println!(
        "[{tag}] Delay_Req flood {FLOOD:?} from {REQUESTERS} requesters: offered {offered} frames \
         ({:.0}/s); XDP steered {}; worker rx {}; answered {} (peer saw {}); shed: port {shed_port}, \
         requester {shed_req}; requester evictions {}; fast-path replies refused for TX frames (reserve for control) {}; \
         to control {to_control}; Syncs pushed {} sent {} seen by peer {}; dropped {syncs_dropped:?}; \
         VmRSS {rss_before} -> {rss_after} kB; new requester answered {}/20, first {first_answer} \
         after the flood; drops {:?}",
        offered as f64 / FLOOD.as_secs_f64(),
        xdp.iter().map(|c| c.steered()).sum::<u64>(),
        w.rx_frames,
        c.delay_resp_sent.get(),
        seen.delay_resps,
        c.requester_evictions.get(),
        w.fast_tx_dropped,
        syncs_pushed.len(),
        syncs_sent.len(),
        seen.syncs.len(),
        seen.fresh_answers.len(),
        c.drop_summary(),
    );
    assert_eq!(
        c.shed[0].get(),
        shed_port + shed_req,
        "shed frames counted per class and per reason alike"
    );
    if limits.delay_req.port.is_limited() {
        assert!(shed_port + shed_req > 0, "the flood was not rate limited");
        // 10 000/s sustained, 1 000 burst per port: nothing beyond that was answered.
        let window = (Instant::now() - start).as_secs_f64();
        assert!(
            (c.delay_resp_sent.get() as f64) <= 1_000.0 + 10_000.0 * window + 50.0,
            "answered {} Delay_Req in {window:.1} s, above the configured limit",
            c.delay_resp_sent.get()
        );
    } else {
        assert_eq!(shed_port + shed_req, 0);
    }
    assert!(syncs_dropped.is_empty(), "Syncs dropped: {syncs_dropped:?}");
    let missing: Vec<_> = syncs_pushed.difference(&seen.syncs).collect();
    assert!(
        missing.is_empty(),
        "{} of {} Syncs did not reach the peer under the flood: {missing:?}",
        missing.len(),
        syncs_pushed.len()
    );
    assert!(
        syncs_pushed.len() >= 40,
        "only {} Syncs pushed",
        syncs_pushed.len()
    );
    assert_eq!(
        seen.fresh_answers.len(),
        20,
        "the new requester was not answered after the flood"
    );
    assert!(
        rss_after <= rss_before + 4096,
        "RSS grew from {rss_before} kB to {rss_after} kB during the flood"
    );
    drop(running);
}
