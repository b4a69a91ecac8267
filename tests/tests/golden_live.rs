//! Test layer 2, live: fresh ptp4l 3.1.1 traffic (a master and a `free_running 1` slave,
//! software timestamping, two namespaces over veth) for L2/E2E, L2/P2P, UDPv4/E2E and
//! UDPv6/E2E, plus pmc Management over the wire, is captured; every frame parses and re-emits
//! byte for byte, and `xptp decode --json` (the real binary when it is built, see
//! `golden::decode_json`) agrees field by field with `tshark -T fields` on the same capture.
//! Needs root (skips otherwise, fails under XPTP_REQUIRE_ROOT=1). Each case takes ~6 s; the
//! cases are separate tests so the harness runs them in parallel.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use xptp_tests::fixtures::{read_capture, FieldsTable};
use xptp_tests::golden::{compare_with_tshark, decode_json, roundtrip, split_decode_json};
use xptp_tests::linuxptp::{pmc_wire, DelayMechanism, Ptp4l, Ptp4lConfig, Transport};
use xptp_tests::netns::{leftover_namespaces_of_this_process, Lab};
use xptp_tests::tshark::{self, Capture, CaptureOptions, FIXTURE_FIELDS};

/// Seconds of traffic captured after the slave is SLAVE and pmc has run.
const EXTRA: Duration = Duration::from_millis(1500);

fn golden_live(transport: Transport, delay: DelayMechanism, tag: &str) {
    if !xptp_tests::require_root() {
        return;
    }
    let started = Instant::now();
    let lab = Lab::pair(tag).expect("build lab");
    let names = lab.namespace_names();
    let (m, s) = (lab.node(0), lab.node(1));
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join(format!("{tag}.pcapng"));
    let cap = Capture::start(&s.ns, &s.ifname, &pcap, &CaptureOptions::default()).unwrap();
    let master = Ptp4l::spawn(&m.ns, &m.ifname, &Ptp4lConfig::master(transport, delay)).unwrap();
    let slave = Ptp4l::spawn(&s.ns, &s.ifname, &Ptp4lConfig::slave(transport, delay)).unwrap();
    slave.wait_for_slave(Duration::from_secs(15)).unwrap();
    let responses = pmc_wire(
        &s.ns,
        transport,
        &s.ifname,
        0,
        &[
            "GET DEFAULT_DATA_SET",
            "GET PARENT_DATA_SET",
            "GET PORT_DATA_SET",
        ],
    )
    .unwrap();
    assert!(
        !responses.is_empty(),
        "pmc over the wire got no responses ({transport:?})"
    );
    std::thread::sleep(EXTRA);
    let file = cap.stop().unwrap();
    drop((master, slave, lab));

    // 1. Every captured frame parses and re-emits byte for byte (frame and message level).
    let frames = read_capture(&file).unwrap();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, f) in frames.iter().enumerate() {
        let repr = roundtrip(&f.data).unwrap_or_else(|e| panic!("{tag} frame {}: {e}", i + 1));
        *counts
            .entry(repr.message.message_type().name())
            .or_default() += 1;
    }
    let mut expected = vec!["Sync", "Follow_Up", "Announce", "Management"];
    expected.extend(match delay {
        DelayMechanism::E2E => ["Delay_Req", "Delay_Resp"].as_slice(),
        DelayMechanism::P2P => ["Pdelay_Req", "Pdelay_Resp", "Pdelay_Resp_Follow_Up"].as_slice(),
    });
    for t in expected {
        assert!(counts.contains_key(t), "{tag}: no {t} captured: {counts:?}");
    }

    // 2. xptp decode agrees with tshark on every field of every frame.
    let (out, by) = decode_json(&file).unwrap();
    let (decoded, summary) = split_decode_json(&out).unwrap();
    assert_eq!(summary["malformed"], 0, "{tag}: {summary}");
    assert_eq!(summary["ptp"], frames.len(), "{tag}: {summary}");
    let table = FieldsTable {
        columns: FIXTURE_FIELDS.iter().map(|s| (*s).to_owned()).collect(),
        rows: tshark::fields_filtered(&file, Some("ptp"), FIXTURE_FIELDS).unwrap(),
    };
    let c = compare_with_tshark(&decoded, &table);
    assert!(
        c.mismatches.is_empty(),
        "{tag}: {} disagreements between xptp decode ({by:?}) and tshark:\n{}",
        c.mismatches.len(),
        c.mismatches.join("\n")
    );
    assert_eq!(c.frames, frames.len());
    assert_eq!(
        tshark::dissector_errors(&file).unwrap(),
        Vec::<String>::new(),
        "{tag}: tshark flags ptp4l traffic"
    );

    let left = leftover_namespaces_of_this_process().unwrap();
    for n in &names {
        assert!(!left.contains(n), "namespace {n} left behind");
    }
    eprintln!(
        "{tag}: {} frames {counts:?}, {} fields agree, decoded by {by:?}, {:?}",
        frames.len(),
        c.fields,
        started.elapsed()
    );
}

#[test]
fn golden_live_l2_e2e() {
    golden_live(Transport::L2, DelayMechanism::E2E, "gl-l2e2e");
}

#[test]
fn golden_live_l2_p2p() {
    golden_live(Transport::L2, DelayMechanism::P2P, "gl-l2p2p");
}

#[test]
fn golden_live_udp4_e2e() {
    golden_live(Transport::UdpV4, DelayMechanism::E2E, "gl-u4e2e");
}

#[test]
fn golden_live_udp6_e2e() {
    golden_live(Transport::UdpV6, DelayMechanism::E2E, "gl-u6e2e");
}
