//! Authentication on the fast path (IEEE 1588-2019 16.14, Annex P): an xptp master whose
//! port requires the AUTHENTICATION TLV (`sa_file`, `spp`, `active_key_id`) answers Delay_Req
//! in its datapath worker, signing each Delay_Resp, and verifies every request first.
//!
//! Lab: a bridged segment with the master M, an xptp slave S with the same key, and an
//! intruder I sending raw Delay_Req. Asserted: S reaches SLAVE and computes a path delay
//! from M's signed fast-path Delay_Resps (M's fast-path counter shows they were answered
//! there); I's unsigned, wrong-key and replayed requests get no answer, and M's datapath
//! counts each by reason (auth_missing, auth_bad_icv, auth_replay). Needs root and the
//! `xptp` binary.

#[path = "../../datapath/tests/support/mod.rs"]
mod support;

#[path = "hostile/mod.rs"]
mod hostile;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use hostile::{build, delay_req, status_of, Carriage, Packet};
use support::in_netns;
use xptp_control::status::Status;
use xptp_datapath::wire::auth::KeyRef;
use xptp_datapath::wire::frame;
use xptp_datapath::wire::{ClockIdentity, Message, MessageType, PortIdentity};
use xptp_tests::golden::xptp_binary;
use xptp_tests::netns::{require_root, Lab};
use xptp_tests::xptp_run::XptpRun;

const SA_FILE: &str = "[security_association]\nspp 1\nseqid_window 3\n\
                       1 SHA256 ASCII:xptp-lab-shared-secret-0123456789\n";
const WRONG_SECRET: &[u8] = b"not-the-shared-secret";

fn config_with(sa: &str, master: bool, delay_mechanism: &str) -> String {
    format!(
        "[global]\nnetwork_transport L2\ndelay_mechanism {delay_mechanism}\ntime_stamping software\n\
         logAnnounceInterval -2\nlogSyncInterval -2\nlogMinDelayReqInterval -2\n\
         logMinPdelayReqInterval -2\n\
         sa_file {sa}\nspp 1\nactive_key_id 1\n{}\n[eth0]\n",
        if master {
            "priority1 100"
        } else {
            "slaveOnly 1\npi_proportional_scale 0.7\npi_integral_scale 0.3"
        }
    )
}

fn fast_path_drops(s: &Status, reason: &str) -> u64 {
    s.workers
        .iter()
        .flat_map(|w| &w.dropped)
        .filter(|d| d.stage == "fastpath" && d.reason == reason)
        .map(|d| d.count)
        .sum()
}

fn delay_resp_sent(s: &Status) -> u64 {
    s.workers
        .iter()
        .filter_map(|w| w.fast_path.get("delay_resp_sent"))
        .sum()
}

/// `frame_bytes` (an L2 Delay_Req from [`build`]) with its message signed with `secret`.
fn signed(frame_bytes: &[u8], secret: &[u8]) -> Vec<u8> {
    signed_as(frame_bytes, secret)
}

/// `frame_bytes` (an L2 frame) with its message signed with `secret` (SPP 1, keyID 1).
fn signed_as(frame_bytes: &[u8], secret: &[u8]) -> Vec<u8> {
    let key = KeyRef {
        key_id: 1,
        icv_len: 32,
        secret,
    };
    frame::signed(frame_bytes, 1, key, false).unwrap()
}

/// A master in `mns` and a slave in `sns` sharing the key of [`SA_FILE`], with
/// `delay_mechanism`; returns once the slave is SLAVE (the directory holds their files).
fn keyed_pair(
    bin: &std::path::Path,
    mns: &xptp_tests::netns::Netns,
    sns: &xptp_tests::netns::Netns,
    delay_mechanism: &str,
) -> (tempfile::TempDir, XptpRun, XptpRun) {
    let dir = tempfile::tempdir().unwrap();
    let sa = dir.path().join("sa.conf");
    std::fs::write(&sa, SA_FILE).unwrap();
    let sa = sa.to_string_lossy().into_owned();
    let (mc, sc) = (dir.path().join("m.conf"), dir.path().join("s.conf"));
    std::fs::write(&mc, config_with(&sa, true, delay_mechanism)).unwrap();
    std::fs::write(&sc, config_with(&sa, false, delay_mechanism)).unwrap();
    let (mc, sc) = (
        mc.to_string_lossy().into_owned(),
        sc.to_string_lossy().into_owned(),
    );
    let mut master = XptpRun::spawn(mns, bin, &["-f", &mc, "-m", "--clock", "virtual"]).unwrap();
    master
        .wait_for_line("to MASTER on", Duration::from_secs(10))
        .unwrap();
    let virt = ["--clock", "virtual", "--virtual-truth", "realtime"];
    let mut args = vec!["-f", sc.as_str(), "-m"];
    args.extend_from_slice(&virt);
    let mut slave = XptpRun::spawn(sns, bin, &args).unwrap();
    slave
        .wait_for_line("to SLAVE on", Duration::from_secs(20))
        .unwrap();
    (dir, master, slave)
}

#[test]
fn signed_fast_path_replies_and_rejected_requesters() {
    if !require_root() {
        return;
    }
    let bin = xptp_binary().expect("build the xptp binary: cargo build -p xptp-control --bin xptp");
    let lab = Lab::star("auth", 3).expect("build lab");
    let (m, s, i) = (lab.node(0), lab.node(1), lab.node(2));
    let (_dir, mut master, mut slave) = keyed_pair(&bin, &m.ns, &s.ns, "E2E");
    // A few more Delay_Req intervals, then the slave's path delay and where it was served.
    let t = Instant::now();
    let delay = loop {
        let st = status_of(&slave);
        if let Some(d) = st.clock.mean_path_delay_ns.filter(|d| *d > 0) {
            break d;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the slave computed no path delay; its log:\n{}",
            slave.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let before = status_of(&master);
    let answered = delay_resp_sent(&before);
    println!(
        "slave: SLAVE, meanPathDelay {delay} ns; master fast path answered {answered} Delay_Req"
    );
    assert!(answered > 0, "the master's fast path answered no Delay_Req");
    for r in [
        "auth_missing",
        "auth_bad_icv",
        "auth_unknown_key",
        "auth_replay",
    ] {
        assert_eq!(
            fast_path_drops(&before, r),
            0,
            "{r} before the intruder spoke: the genuine slave was refused"
        );
    }

    // The intruder: 10 unsigned and 10 wrong-key Delay_Req from its own identities, then
    // one of the slave's genuine signed Delay_Reqs replayed 3 times.
    let ours: Vec<PortIdentity> = (0..20u8)
        .map(|k| PortIdentity::new(ClockIdentity([0xcc, 0, 0, 0, 0, 0, 0, k]), 1))
        .collect();
    let (iname, ifname) = (i.ns.name().to_owned(), i.ifname.clone());
    let ids = ours.clone();
    let (seen_by_intruder, genuine) = in_netns(&iname, move || {
        let ours = ids;
        let p = Packet::open(&ifname);
        // A genuine signed Delay_Req from the slave (multicast: the bridge floods it here).
        let end = Instant::now() + Duration::from_secs(3);
        let mut buf = [0u8; 2048];
        let mut genuine = None;
        while genuine.is_none() && Instant::now() < end {
            let Some(n) = p.recv(&mut buf) else { continue };
            let f = &buf[..n];
            let Ok(fr) = frame::parse(f) else { continue };
            let Ok(msg) = Message::new_checked(fr.payload(f)) else {
                continue;
            };
            if msg.message_type() == MessageType::DelayReq {
                genuine = Some(f.to_vec());
            }
        }
        let genuine = genuine.expect("no Delay_Req from the slave seen");
        for (k, id) in ours.iter().enumerate() {
            let plain = build(Carriage::L2, &delay_req(*id, 1));
            let f = if k < 10 {
                plain
            } else {
                signed(&plain, WRONG_SECRET)
            };
            assert!(p.send(&f));
            std::thread::sleep(Duration::from_millis(5));
        }
        for _ in 0..3 {
            assert!(p.send(&genuine));
            std::thread::sleep(Duration::from_millis(5));
        }
        // Any Delay_Resp for the intruder's identities?
        let mut answered = BTreeSet::new();
        let end = Instant::now() + Duration::from_secs(1);
        while Instant::now() < end {
            let Some(n) = p.recv(&mut buf) else { continue };
            let f = &buf[..n];
            let Ok(fr) = frame::parse(f) else { continue };
            let Ok(msg) = Message::new_checked(fr.payload(f)) else {
                continue;
            };
            if let Some(r) = msg.requesting_port_identity() {
                if msg.message_type() == MessageType::DelayResp && ours.contains(&r) {
                    answered.insert(r);
                }
            }
        }
        (answered, genuine)
    });
    let after = status_of(&master);
    let drops = |r| fast_path_drops(&after, r) - fast_path_drops(&before, r);
    println!(
        "intruder: 10 unsigned, 10 wrong-key, 3 replayed ({} octets) Delay_Req; answered {:?}; \
         master fast path dropped auth_missing {}, auth_bad_icv {}, auth_replay {}",
        genuine.len(),
        seen_by_intruder,
        drops("auth_missing"),
        drops("auth_bad_icv"),
        drops("auth_replay")
    );
    assert!(
        seen_by_intruder.is_empty(),
        "the master answered unauthenticated requesters: {seen_by_intruder:?}"
    );
    assert_eq!(drops("auth_missing"), 10, "unsigned Delay_Req not counted");
    assert_eq!(drops("auth_bad_icv"), 10, "wrong-key Delay_Req not counted");
    assert_eq!(drops("auth_replay"), 3, "replayed Delay_Req not counted");
    // Refused requesters are reported one by one, with the reason.
    let alarm_of = |id: PortIdentity| {
        after
            .alarms
            .iter()
            .find(|a| a.contains(&id.to_string()) && a.contains("refused by authentication"))
            .cloned()
            .unwrap_or_else(|| panic!("no alarm for {id}; alarms: {:?}", after.alarms))
    };
    let a = alarm_of(ours[0]);
    println!("master: {a}");
    assert!(a.contains("auth_missing 1"), "{a}");
    assert!(alarm_of(ours[10]).contains("auth_bad_icv 1"));
    let replayed = Message::new_checked(frame::parse(&genuine).unwrap().payload(&genuine))
        .unwrap()
        .source_port_identity();
    let a = alarm_of(replayed);
    println!("master: {a}");
    assert!(a.contains("auth_replay 3"), "{a}");
    // The genuine slave is still served.
    assert!(delay_resp_sent(&after) > answered);
    assert!(master.is_running() && slave.is_running());
}

/// P2P: both ends answer Pdelay_Req on their fast path with a signed Pdelay_Resp and a
/// re-signed Pdelay_Resp_Follow_Up; each side's control verifies them, so the slave reaches
/// SLAVE only if both are right. A wrong-key Pdelay_Req from an intruder gets no answer.
#[test]
fn signed_fast_path_pdelay_replies() {
    if !require_root() {
        return;
    }
    let bin = xptp_binary().expect("build the xptp binary: cargo build -p xptp-control --bin xptp");
    let lab = Lab::pair("authp").expect("build lab");
    let (m, s) = (lab.node(0), lab.node(1));
    let (_dir, mut master, mut slave) = keyed_pair(&bin, &m.ns, &s.ns, "P2P");
    std::thread::sleep(Duration::from_secs(1));
    let (ms, ss) = (status_of(&master), status_of(&slave));
    let sent = |st: &Status, k: &str| -> u64 {
        st.workers.iter().filter_map(|w| w.fast_path.get(k)).sum()
    };
    let delay = ss.ports.first().and_then(|p| p.mean_delay_ns);
    println!(
        "P2P: slave meanLinkDelay {delay:?} ns; master fast path Pdelay_Resp {} / Follow_Up {}, \
         slave's {} / {}",
        sent(&ms, "pdelay_resp_sent"),
        sent(&ms, "pdelay_resp_follow_up_sent"),
        sent(&ss, "pdelay_resp_sent"),
        sent(&ss, "pdelay_resp_follow_up_sent"),
    );
    // Back to back on a veth, both ends wire-stamped: the true link delay is ~0, and each xptp
    // process runs its own stamper, the later-attached one stamping a little later (seen -406
    // ns). A measured value is what counts here.
    assert!(
        delay.is_some_and(|d| d > -2_000 && d < 1_000_000),
        "no plausible link delay at the slave: {delay:?}"
    );
    assert!(sent(&ms, "pdelay_resp_follow_up_sent") > 0);
    for st in [&ms, &ss] {
        assert_eq!(fast_path_drops(st, "auth_bad_icv"), 0);
        assert_eq!(fast_path_drops(st, "auth_missing"), 0);
    }
    // A wrong-key Pdelay_Req from the slave's namespace: not answered, counted.
    let intruder = PortIdentity::new(ClockIdentity([0xdd, 0, 0, 0, 0, 0, 0, 1]), 1);
    let plain = build(Carriage::L2, &hostile::pdelay_req(intruder, 1));
    let forged = signed_as(&plain, WRONG_SECRET);
    let (sname, ifname) = (s.ns.name().to_owned(), s.ifname.clone());
    in_netns(&sname, move || assert!(Packet::open(&ifname).send(&forged)));
    std::thread::sleep(Duration::from_millis(300));
    let after = status_of(&master);
    assert_eq!(
        fast_path_drops(&after, "auth_bad_icv") - fast_path_drops(&ms, "auth_bad_icv"),
        1
    );
    assert!(master.is_running() && slave.is_running());
}

const SA_FILE_B: &str = "[security_association]\nspp 1\nseqid_window 3\n\
                         1 SHA256 ASCII:xptp-lab-rotated-secret-B-987654\n";
const OLD_SECRET: &[u8] = b"xptp-lab-shared-secret-0123456789";

fn rejected_by_control(s: &Status, reason: &str) -> u64 {
    s.ports.iter().filter_map(|p| p.rejected.get(reason)).sum()
}

/// Key rotation without a restart: a broken sa_file is refused on SIGHUP (file and line
/// logged, old key kept, counted); then the file holds a new secret under the same keyID
/// and both ends get SIGHUP: the slave stays SLAVE, the master's fast path answers with the
/// new key, and a Delay_Req signed with the old key is dropped and counted.
#[test]
fn keys_rotate_on_sighup() {
    use rustix::process::Signal;
    if !require_root() {
        return;
    }
    let bin = xptp_binary().expect("build the xptp binary: cargo build -p xptp-control --bin xptp");
    let lab = Lab::pair("authk").expect("build lab");
    let (m, s) = (lab.node(0), lab.node(1));
    let (dir, mut master, mut slave) = keyed_pair(&bin, &m.ns, &s.ns, "E2E");
    let sa = dir.path().join("sa.conf");

    // A file with a bad key line: refused, the keys in force stay.
    std::fs::write(&sa, "[security_association]\nspp 1\n1 SHA256 HEX:abc\n").unwrap();
    slave.signal(Signal::HUP);
    let line = slave
        .wait_for_line("the file is refused", Duration::from_secs(5))
        .unwrap();
    println!("refused: {line}");
    assert!(
        line.contains(&format!("sa_file {} line 3", sa.display())),
        "{line}"
    );
    std::thread::sleep(Duration::from_millis(1_200));
    let st = status_of(&slave);
    assert_eq!(st.control.get("sa_file_reloads_failed"), Some(&1));
    assert_eq!(st.ports[0].state, "SLAVE", "a refused file changes nothing");
    assert!(
        st.alarms.iter().any(|a| a.contains("refused")),
        "{:?}",
        st.alarms
    );

    // Key B under the same keyID, SIGHUP to both.
    std::fs::write(&sa, SA_FILE_B).unwrap();
    let (m0, s0) = (status_of(&master), status_of(&slave));
    let t0 = Instant::now();
    master.signal(Signal::HUP);
    slave.signal(Signal::HUP);
    for x in [&mut master, &mut slave] {
        x.wait_for_line("spp 1: key id 1 has a new key", Duration::from_secs(5))
            .unwrap();
    }
    let applied = t0.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    let (m1, s1) = (status_of(&master), status_of(&slave));
    let answered = delay_resp_sent(&m1) - delay_resp_sent(&m0);
    let lost_at_slave =
        rejected_by_control(&s1, "auth_bad_icv") - rejected_by_control(&s0, "auth_bad_icv");
    let lost_at_master = rejected_by_control(&m1, "auth_bad_icv")
        - rejected_by_control(&m0, "auth_bad_icv")
        + fast_path_drops(&m1, "auth_bad_icv")
        - fast_path_drops(&m0, "auth_bad_icv");
    println!(
        "rotation: both logged the new key {} ms after the SIGHUPs; frames lost to the switch: \
         slave {lost_at_slave}, master {lost_at_master}; in the 3 s after: slave {}, offset {:?} ns, \
         master fast path answered {answered} Delay_Req",
        applied.as_millis(),
        s1.ports[0].state,
        s1.clock.offset_from_master_ns,
    );
    assert_eq!(s1.ports[0].state, "SLAVE", "the slave lost its master");
    assert!(answered >= 6, "Delay_Req not answered with the new key");
    assert!(
        lost_at_slave + lost_at_master <= 10,
        "more than the frames in flight at the switch were lost"
    );
    for x in [&m1, &s1] {
        assert_eq!(x.control.get("sa_file_reloads_ok"), Some(&1));
    }
    assert!(
        !s1.alarms.iter().any(|a| a.contains("refused")),
        "{:?}",
        s1.alarms
    );

    // A Delay_Req signed with the old key after the reload: not answered, counted.
    let intruder = PortIdentity::new(ClockIdentity([0xee, 0, 0, 0, 0, 0, 0, 1]), 1);
    let stale = signed(&build(Carriage::L2, &delay_req(intruder, 1)), OLD_SECRET);
    let (sname, ifname) = (s.ns.name().to_owned(), s.ifname.clone());
    in_netns(&sname, move || assert!(Packet::open(&ifname).send(&stale)));
    std::thread::sleep(Duration::from_millis(1_200));
    let m2 = status_of(&master);
    assert_eq!(
        fast_path_drops(&m2, "auth_bad_icv") - fast_path_drops(&m1, "auth_bad_icv"),
        1,
        "the old key's Delay_Req was not dropped as auth_bad_icv"
    );
    assert!(master.is_running() && slave.is_running());
}
