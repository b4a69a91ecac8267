//! Hand-made malformed and hostile frames through the real datapath (XDP steering, AF_XDP,
//! worker with the fast path as master responder, a `PtpInstance` behind the up-lane) in a
//! netns pair. For every frame: exactly one counter moves, and it is the one the standard's
//! handling calls for (the XDP program's `passed_malformed` for broken headers, the fast path's
//! drop reasons, the instance's RejectReasons, or a normal answer for valid oddities such as
//! minorVersionPTP 1). Then the whole corpus 1000 times: nothing panics, RSS stays flat, and
//! valid traffic is still answered. Needs root.

#[path = "../../datapath/tests/support/mod.rs"]
mod support;

#[path = "hostile/mod.rs"]
mod hostile;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hostile::{
    announce, announce_from, build, build_raw, delay_req, delay_resp, follow_up, payload_at,
    pdelay_req, rss_kb, spawn_in_netns, sync, Carriage, Control, Packet,
};
use support::{in_netns, require_root, Lab, MAC_A};
use xptp_control::port::counters::RejectReason;
use xptp_control::port::state::PortState;
use xptp_datapath::fastpath::run::{self, RunOptions};
use xptp_datapath::fastpath::{FastPathConfig, FastPathError, PortConfig, RateLimits};
use xptp_datapath::wire::frame;
use xptp_datapath::wire::{ClockIdentity, Message, MessageRepr, MessageType, PortIdentity};

/// What must happen to a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// The XDP program hands it to the kernel as malformed (headers too short for PTP).
    XdpMalformed,
    /// The fast path drops it for this reason.
    Fp(FastPathError),
    /// The fast path answers it (Delay_Resp).
    Answered,
    /// Control's instance rejects it for this reason.
    Reject(RejectReason),
    /// Control's instance takes it.
    Accepted,
    /// A valid message (e.g. truncated only in its Ethernet padding): anything but a
    /// malformed/version/type drop.
    Valid,
}

struct Case {
    name: String,
    frame: Vec<u8>,
    want: Want,
}

fn case(name: impl Into<String>, frame: Vec<u8>, want: Want) -> Case {
    Case {
        name: name.into(),
        frame,
        want,
    }
}

fn malformed() -> Want {
    Want::Fp(FastPathError::Malformed(
        xptp_datapath::wire::WireError::UnsupportedVersion(0),
    ))
}

const PEER: PortIdentity = PortIdentity::new(ClockIdentity([0xaa, 0, 0, 0, 0, 0, 0, 1]), 1);
const SYNC_SEQ: u16 = 64000;

/// The corpus, in sending order (Sync sequenceIds only move forward, in serial arithmetic).
fn corpus(ours: ClockIdentity) -> Vec<Case> {
    let mut v = Vec::new();
    // Syncs that reach the instance's sequence check, in increasing order.
    let mut next_seq = SYNC_SEQ;
    let mut seq = || {
        next_seq += 1;
        next_seq
    };
    let carriages = [Carriage::L2, Carriage::Udp4];
    // Truncated at every offset from the end of the Ethernet header.
    for c in carriages {
        let msgs: [(&str, MessageRepr, Want); 4] = [
            ("Sync", sync(SYNC_SEQ), Want::Valid),
            ("Announce", announce(1), Want::Valid),
            ("Delay_Req", delay_req(PEER, 1), Want::Answered),
            ("Pdelay_Req", pdelay_req(PEER, 1), Want::Valid),
        ];
        for (name, m, complete) in msgs {
            let f = build(c, &m);
            let at = payload_at(c);
            let msg_end = at + m.buffer_len();
            for k in 14..f.len() {
                let want = if k < at + 34 {
                    Want::XdpMalformed
                } else if k < msg_end || c == Carriage::Udp4 {
                    // UDP: the IP/UDP lengths no longer fit the frame.
                    malformed()
                } else {
                    complete
                };
                v.push(case(
                    format!("{name} {c:?} truncated at {k}"),
                    f[..k].to_vec(),
                    want,
                ));
            }
        }
    }
    for c in carriages {
        let at = payload_at(c);
        let sync_bytes = sync(seq()).to_vec().unwrap();
        // messageLength larger than the frame, smaller than the fixed part, smaller than the
        // frame (trailing octets are ignored, 13.3.2.4 / Annex C padding).
        let mut long = sync_bytes.clone();
        long[2..4].copy_from_slice(&100u16.to_be_bytes());
        v.push(case(
            format!("messageLength > frame {c:?}"),
            build_raw(c, MessageType::Sync, &long),
            malformed(),
        ));
        let mut short = sync_bytes.clone();
        short[2..4].copy_from_slice(&40u16.to_be_bytes());
        v.push(case(
            format!("messageLength < fixed part {c:?}"),
            build_raw(c, MessageType::Sync, &short),
            malformed(),
        ));
        let mut trailing = sync_bytes.clone();
        trailing.extend_from_slice(&[0xee; 20]);
        v.push(case(
            format!("messageLength < frame {c:?}"),
            build_raw(c, MessageType::Sync, &trailing),
            Want::Accepted,
        ));
        // versionPTP 1 and 3; minorVersionPTP 1 (IEEE 1588-2019 itself: accepted).
        for (ver, want) in [
            (0x01u8, Want::Fp(FastPathError::UnsupportedVersion(1))),
            (0x03, Want::Fp(FastPathError::UnsupportedVersion(3))),
        ] {
            let mut f = build(c, &delay_req(PEER, 2));
            f[at + 1] = ver;
            fix_udp(&mut f);
            v.push(case(format!("Delay_Req versionPTP {ver} {c:?}"), f, want));
            let mut f = build(c, &sync(SYNC_SEQ + 2));
            f[at + 1] = ver;
            fix_udp(&mut f);
            v.push(case(format!("Sync versionPTP {ver} {c:?}"), f, want));
        }
        let mut f = build(c, &delay_req(PEER, 3));
        f[at + 1] = 0x12;
        fix_udp(&mut f);
        v.push(case(
            format!("Delay_Req minorVersionPTP 1 {c:?}"),
            f,
            Want::Answered,
        ));
        let mut f = build(c, &sync(seq()));
        f[at + 1] = 0x12;
        fix_udp(&mut f);
        v.push(case(
            format!("Sync minorVersionPTP 1 {c:?}"),
            f,
            Want::Accepted,
        ));
        // Reserved messageType values (Table 36).
        for t in [4u8, 5, 6, 7, 0xe, 0xf] {
            let mut f = build(c, &sync(SYNC_SEQ + 3));
            f[at] = t;
            fix_udp(&mut f);
            v.push(case(
                format!("messageType {t:#x} {c:?}"),
                f,
                Want::Fp(FastPathError::ReservedMessageType(t)),
            ));
        }
        // TLV lengthField running past the message: control's full parse refuses it.
        for (name, m) in [("Announce", announce(2)), ("Management", management())] {
            let mut p = m.to_vec().unwrap();
            p.extend_from_slice(&[0x00, 0x08, 0x00, 0x64, 1, 2, 3, 4, 5, 6, 7, 8]);
            let len = p.len() as u16;
            p[2..4].copy_from_slice(&len.to_be_bytes());
            v.push(case(
                format!("{name} TLV overrun {c:?}"),
                build_raw(c, m.message_type(), &p),
                Want::Reject(RejectReason::Malformed),
            ));
        }
        // Another domain: the fast path passes it up (Delay_Req too), control refuses it.
        let mut s = sync(SYNC_SEQ + 4);
        s.header.domain_number = 7;
        v.push(case(
            format!("Sync domain 7 {c:?}"),
            build(c, &s),
            Want::Reject(RejectReason::WrongDomain),
        ));
        let mut d = delay_req(PEER, 4);
        d.header.domain_number = 7;
        v.push(case(
            format!("Delay_Req domain 7 {c:?}"),
            build(c, &d),
            Want::Reject(RejectReason::WrongDomain),
        ));
        // Zero and garbage identities.
        let zero = PortIdentity::default();
        let ones = PortIdentity::new(ClockIdentity([0xff; 8]), 0xffff);
        for (n, id) in [("zero", zero), ("all-ones", ones)] {
            v.push(case(
                format!("Delay_Req from {n} identity {c:?}"),
                build(c, &delay_req(id, 5)),
                Want::Answered,
            ));
            let mut s = sync(SYNC_SEQ + 5);
            s.header.source_port_identity = id;
            v.push(case(
                format!("Sync from {n} identity {c:?}"),
                build(c, &s),
                Want::Reject(RejectReason::NotFromMaster),
            ));
            // A worse foreign master: recorded, not chosen.
            v.push(case(
                format!("Announce from {n} identity {c:?}"),
                build(c, &announce_from(id, id.clock_identity, 255, 5)),
                Want::Valid,
            ));
        }
        v.push(case(
            format!("Announce from our own identity {c:?}"),
            build(c, &announce_from(PortIdentity::new(ours, 1), ours, 1, 5)),
            Want::Reject(RejectReason::OwnMessage),
        ));
        // Delay_Resp for another requester.
        v.push(case(
            format!("Delay_Resp for someone else {c:?}"),
            build(c, &delay_resp(PEER, 6)),
            Want::Fp(FastPathError::NotForUs),
        ));
        v.push(case(
            format!("keep-alive Announce {c:?}"),
            build(c, &announce(1000 + c as u16)),
            Want::Accepted,
        ));
    }
    // Follow_Up without Sync: the instance holds a Follow_Up for a Sync that may still come
    // (as linuxptp does); the next unmatched one replaces it and the first is counted.
    v.push(case(
        "Follow_Up without Sync (held)",
        build(Carriage::L2, &follow_up(12345)),
        Want::Accepted,
    ));
    v.push(case(
        "Follow_Up without Sync (replaces the held one)",
        build(Carriage::Udp4, &follow_up(12346)),
        Want::Reject(RejectReason::FollowUpWithoutSync),
    ));
    // sequenceId wrap-around: 65534, 65535, 0, 1 are consecutive Syncs.
    for seq in [65534u16, 65535, 0, 1] {
        v.push(case(
            format!("Sync sequenceId {seq} (wrap)"),
            build(Carriage::L2, &sync(seq)),
            Want::Accepted,
        ));
    }
    v
}

fn management() -> MessageRepr {
    // GET DEFAULT_DATA_SET to all clocks.
    let bytes = [
        0x0d, 0x02, 0x00, 0x36, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa,
        0, 0, 0, 0, 0, 0, 1, 0x00, 0x01, 0x00, 0x07, 0x04, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x20, 0x00,
    ];
    MessageRepr::parse(&bytes).expect("management GET")
}

/// Recomputes the UDP checksum after a byte was changed (L2: nothing to do).
fn fix_udp(f: &mut [u8]) {
    if let Ok(mut r) = frame::FrameRepr::parse(f) {
        r.udp_checksum = None;
        if let Ok(b) = r.emit() {
            if b.len() == f.len() {
                f.copy_from_slice(&b);
            }
        }
    } else if f.len() > 42 && f[12..14] == [0x08, 0x00] {
        // Not parseable as PTP (bad version/type): zero the UDP checksum (IPv4 allows "none").
        f[40] = 0;
        f[41] = 0;
    }
}

/// Every counter a frame can end in.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Snap {
    xdp_malformed: u64,
    fp_drops: Vec<u64>,
    answered: u64,
    verdicts: u64,
    lane_full: u64,
    too_long: u64,
}

impl Snap {
    fn total(&self) -> u64 {
        self.xdp_malformed
            + self.fp_drops.iter().sum::<u64>()
            + self.answered
            + self.verdicts
            + self.lane_full
            + self.too_long
    }
}

fn snap(r: &run::Running, ctl: &Control) -> Snap {
    let c = &r.handles().counters;
    let w = r.worker_counters();
    Snap {
        xdp_malformed: r
            .steering_counters()
            .iter()
            .map(|c| c.passed_malformed())
            .sum(),
        fp_drops: c.drops.iter().map(|d| d.get()).collect(),
        answered: c.delay_resp_sent.get(),
        verdicts: ctl.verdicts,
        lane_full: w.rx_queue_full,
        too_long: w.rx_too_long,
    }
}

/// The outcome of one frame, from the counter deltas.
fn outcome(a: &Snap, b: &Snap, verdict: Option<&hostile::Verdict>) -> Result<Want, String> {
    if b.total() != a.total() + 1 {
        return Err(format!(
            "{} counters moved: {a:?} -> {b:?}",
            b.total() - a.total()
        ));
    }
    if b.xdp_malformed > a.xdp_malformed {
        return Ok(Want::XdpMalformed);
    }
    if b.answered > a.answered {
        return Ok(Want::Answered);
    }
    if let Some(i) = (0..a.fp_drops.len()).find(|i| b.fp_drops[*i] > a.fp_drops[*i]) {
        return Ok(Want::Fp(reason_of(i)));
    }
    if b.verdicts > a.verdicts {
        return Ok(match verdict.and_then(|v| v.reject) {
            Some(r) => Want::Reject(r),
            None => Want::Accepted,
        });
    }
    Err(format!("lost on a lane: {a:?} -> {b:?}"))
}

fn reason_of(i: usize) -> FastPathError {
    FastPathError::ALL
        .get(i)
        .copied()
        .unwrap_or(FastPathError::WrongMessageType)
}

fn matches(want: Want, got: Want) -> bool {
    match (want, got) {
        (Want::Fp(a), Want::Fp(b)) => a.index() == b.index(),
        (Want::Valid, Want::XdpMalformed) => false,
        (Want::Valid, Want::Fp(e)) => !matches!(e.index(), 0 | 15 | 16),
        (Want::Valid, Want::Reject(r)) => {
            !matches!(r, RejectReason::Malformed | RejectReason::WrongVersion)
        }
        (Want::Valid, _) => true,
        (a, b) => a == b,
    }
}

#[test]
fn malformed_frames_are_dropped_or_handled_and_counted_by_reason() {
    if !require_root("malformed_frames_are_dropped_or_handled_and_counted_by_reason") {
        return;
    }
    let lab = Lab::new("malf");
    let ours = ClockIdentity::from_mac(MAC_A);
    let mut cfg = FastPathConfig {
        clock_identity: ours,
        tai_to_ptp_ns: run::realtime_minus_tai_ns(),
        rate_limits: RateLimits::UNLIMITED,
        ..FastPathConfig::default()
    };
    cfg.ports[0] = PortConfig {
        master: true,
        ipv4: Some(std::net::Ipv4Addr::new(10, 77, 0, 1)),
        ..PortConfig::new(1, MAC_A)
    };
    let mut opts = RunOptions::new(&[lab.va.as_str()], cfg);
    opts.control_thread = false;
    let running = in_netns(&lab.a, || run::start(opts)).expect("start the datapath");
    let mut ctl = Control::new(running.link().clone(), ours);

    // The peer: a sender thread in namespace b fed through a channel.
    let (tx, rx) = std::sync::mpsc::channel::<Vec<Vec<u8>>>();
    let vb = lab.vb.clone();
    let sent_all = Arc::new(AtomicBool::new(false));
    let sent_flag = sent_all.clone();
    let sender = spawn_in_netns(&lab.b, move || {
        let s = Packet::open(&vb);
        let mut refused = 0u64;
        while let Ok(batch) = rx.recv() {
            for f in &batch {
                if !s.send(f) {
                    refused += 1;
                }
            }
            sent_flag.store(true, Ordering::Release);
        }
        refused
    });

    // Make the instance a slave of the peer GM: Announces until UNCALIBRATED/SLAVE.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seq = 10;
    while !ctl.inst.port_state(1).is_some_and(|s| s.is_slave_side()) {
        assert!(
            Instant::now() < deadline,
            "instance never chose the peer GM: {:?}",
            ctl.inst.port_state(1)
        );
        tx.send(vec![build(Carriage::L2, &announce(seq))]).unwrap();
        seq += 1;
        ctl.pump_for(Duration::from_millis(250));
    }
    ctl.pump_for(Duration::from_millis(100));

    let cases = corpus(ours);
    let mut failures = Vec::new();
    let mut by_outcome = std::collections::BTreeMap::<String, usize>::new();
    for c in &cases {
        let before = snap(&running, &ctl);
        let log_len = ctl.log.as_ref().map_or(0, Vec::len);
        tx.send(vec![c.frame.clone()]).unwrap();
        let end = Instant::now() + Duration::from_secs(2);
        let mut after = snap(&running, &ctl);
        while after.total() == before.total() && Instant::now() < end {
            if ctl.pump() == 0 {
                std::thread::sleep(Duration::from_micros(100));
            }
            after = snap(&running, &ctl);
        }
        // Anything else it could still cause (a second counter) shows up within a few ms.
        ctl.pump_for(Duration::from_millis(3));
        let after = snap(&running, &ctl);
        let verdict = ctl.log.as_ref().and_then(|l| l.get(log_len));
        match outcome(&before, &after, verdict) {
            Ok(got) if matches(c.want, got) => {
                *by_outcome.entry(format!("{got:?}")).or_default() += 1;
            }
            Ok(got) => failures.push(format!("{}: want {:?}, got {got:?}", c.name, c.want)),
            Err(e) => failures.push(format!("{}: want {:?}: {e}", c.name, c.want)),
        }
    }
    println!(
        "{} malformed/hostile frames; outcomes: {by_outcome:?}",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} frames not handled as expected:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // The whole corpus 1000 times: nothing panics, memory stays flat.
    ctl.log = None;
    let frames: Vec<Vec<u8>> = cases.iter().map(|c| c.frame.clone()).collect();
    let round = |ctl: &mut Control, n: usize| {
        for _ in 0..n {
            sent_all.store(false, Ordering::Release);
            tx.send(frames.clone()).unwrap();
            while !sent_all.load(Ordering::Acquire) {
                ctl.pump();
            }
            ctl.pump();
        }
        ctl.pump_for(Duration::from_millis(200));
    };
    round(&mut ctl, 20);
    let rss0 = rss_kb();
    let t0 = Instant::now();
    round(&mut ctl, 1000);
    let rss1 = rss_kb();
    let w = running.worker_counters();
    println!(
        "corpus x1000 ({} frames) in {:?}: VmRSS {rss0} -> {rss1} kB; worker {w:?}; fast-path drops {:?}; \
         instance verdicts {}",
        frames.len() * 1000,
        t0.elapsed(),
        running.handles().counters.drop_summary(),
        ctl.verdicts
    );
    assert!(
        rss1 <= rss0 + 4096,
        "RSS grew from {rss0} kB to {rss1} kB over 1000 corpus rounds"
    );

    // Valid traffic is still served: a Delay_Req is answered, a Sync is taken by control.
    let fresh = PortIdentity::new(ClockIdentity([0xbb, 0, 0, 0, 0, 0, 0, 9]), 1);
    let answered = in_netns(&lab.b, || {
        let s = Packet::open(&lab.vb);
        let mut buf = [0u8; 2048];
        let end = Instant::now() + Duration::from_secs(3);
        let mut sent = false;
        while Instant::now() < end {
            if !sent {
                assert!(s.send(&build(Carriage::L2, &delay_req(fresh, 777))));
                sent = true;
            }
            let Some(n) = s.recv(&mut buf) else { continue };
            let f = &buf[..n];
            let Ok(p) = frame::parse(f) else { continue };
            let Ok(m) = Message::new_checked(p.payload(f)) else {
                continue;
            };
            if m.message_type() == MessageType::DelayResp
                && m.requesting_port_identity() == Some(fresh)
                && m.sequence_id() == 777
            {
                return true;
            }
        }
        false
    });
    assert!(
        answered,
        "no Delay_Resp to a valid Delay_Req after the corpus"
    );
    // The GM's Announces in the corpus were stale: it may have timed out meanwhile.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seq = 60000;
    while !ctl.inst.port_state(1).is_some_and(|s| s.is_slave_side()) {
        assert!(
            Instant::now() < deadline,
            "instance never chose the peer GM again"
        );
        tx.send(vec![build(Carriage::L2, &announce(seq))]).unwrap();
        seq += 1;
        ctl.pump_for(Duration::from_millis(250));
    }
    ctl.log = Some(Vec::new());
    tx.send(vec![build(Carriage::L2, &sync(20))]).unwrap();
    ctl.pump_for(Duration::from_millis(300));
    let log = ctl.log.take().unwrap_or_default();
    assert!(
        log.iter().any(|v| v.mtype == Some(MessageType::Sync)
            && v.sequence_id == 20
            && v.reject.is_none()),
        "control did not take a valid Sync after the corpus: {log:?}"
    );
    assert!(matches!(
        ctl.inst.port_state(1),
        Some(PortState::Uncalibrated | PortState::Slave)
    ));
    drop(tx);
    let refused = sender.join().expect("sender");
    println!("frames the kernel refused to send: {refused}");
    drop(running);
}
