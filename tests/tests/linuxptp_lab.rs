//! Proves the lab harness against real linuxptp: a ptp4l master and a free-running ptp4l slave in
//! two namespaces joined by veth reach MASTER/SLAVE, their traffic is captured and dissected,
//! and nothing is left behind. Needs root (skips otherwise, fails under XPTP_REQUIRE_ROOT=1).

use std::time::{Duration, Instant};

use xptp_tests::linuxptp::{DelayMechanism, LogEvent, PortState, Ptp4l, Ptp4lConfig, Transport};
use xptp_tests::netns::{leftover_namespaces_of_this_process, Lab};
use xptp_tests::tshark::{self, message_type as mt, Capture, CaptureOptions};

/// Runs master + slave over `transport`/`delay`, waits for SLAVE, captures `extra` more seconds
/// of traffic, and returns the PTP message types seen plus the slave's offset lines.
fn master_slave(transport: Transport, delay: DelayMechanism, tag: &str) -> Vec<String> {
    let started = Instant::now();
    let lab = Lab::pair(tag).expect("build lab");
    let names = lab.namespace_names();
    let (m, s) = (lab.node(0), lab.node(1));
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("lab.pcapng");
    let cap = Capture::start(&s.ns, &s.ifname, &pcap, &CaptureOptions::default()).unwrap();

    let master = Ptp4l::spawn(&m.ns, &m.ifname, &Ptp4lConfig::master(transport, delay)).unwrap();
    let slave = Ptp4l::spawn(&s.ns, &s.ifname, &Ptp4lConfig::slave(transport, delay)).unwrap();

    master
        .wait_for_state(PortState::Master, Duration::from_secs(10))
        .unwrap();
    // A free-running slave only leaves UNCALIBRATED after SET SYNCHRONIZATION_UNCERTAIN_NP 0.
    slave.wait_for_slave(Duration::from_secs(15)).unwrap();
    let log = slave.log_events();
    assert!(
        log.iter().any(|l| matches!(
            l.event,
            LogEvent::PortState {
                to: PortState::Slave,
                ..
            }
        )),
        "pmc says SLAVE but the log has no transition to SLAVE:\n{}",
        slave.log_text()
    );
    // Offsets are measured (free running: the servo never adjusts; the clock is shared, so the
    // true offset is 0 and software timestamps on veth are off by microseconds, not more).
    let offsets = slave.wait_for_offsets(3, Duration::from_secs(5)).unwrap();
    for o in &offsets {
        assert!(o.gm_present, "{o:?}");
        assert!(o.master_offset_ns.abs() < 1_000_000, "offset {o:?}");
        assert!(
            (0..1_000_000).contains(&o.mean_path_delay_ns),
            "path delay {o:?}"
        );
    }
    let parent = slave.pmc_get("PARENT_DATA_SET").unwrap();
    let master_id = master.pmc_get("DEFAULT_DATA_SET").unwrap();
    assert_eq!(
        parent.get("grandmasterIdentity"),
        master_id.get("clockIdentity"),
        "slave's grandmaster is not the master"
    );

    std::thread::sleep(Duration::from_secs(1));
    let file = cap.stop().unwrap();
    let types = tshark::message_types(&file).unwrap();
    assert_eq!(
        tshark::dissector_errors(&file).unwrap(),
        Vec::<String>::new(),
        "tshark flags ptp4l traffic"
    );
    drop((master, slave));
    drop(lab);
    let left = leftover_namespaces_of_this_process().unwrap();
    for n in &names {
        assert!(!left.contains(n), "namespace {n} left behind");
    }
    eprintln!("{tag}: {:?} for {} frames", started.elapsed(), types.len());
    types
}

fn has(types: &[String], t: &str) -> bool {
    types.iter().any(|x| x == t)
}

#[test]
fn l2_e2e_master_and_free_running_slave_reach_slave() {
    if !xptp_tests::require_root() {
        return;
    }
    let t = master_slave(Transport::L2, DelayMechanism::E2E, "l2e2e");
    for (name, ty) in [
        ("Sync", mt::SYNC),
        ("Follow_Up", mt::FOLLOW_UP),
        ("Delay_Req", mt::DELAY_REQ),
        ("Delay_Resp", mt::DELAY_RESP),
        ("Announce", mt::ANNOUNCE),
    ] {
        assert!(has(&t, ty), "no {name} in capture: {t:?}");
    }
    assert!(!has(&t, mt::PDELAY_REQ), "P2P traffic in an E2E lab");
}

#[test]
fn l2_p2p_master_and_free_running_slave_reach_slave() {
    if !xptp_tests::require_root() {
        return;
    }
    let t = master_slave(Transport::L2, DelayMechanism::P2P, "l2p2p");
    for (name, ty) in [
        ("Sync", mt::SYNC),
        ("Follow_Up", mt::FOLLOW_UP),
        ("Pdelay_Req", mt::PDELAY_REQ),
        ("Pdelay_Resp", mt::PDELAY_RESP),
        ("Pdelay_Resp_Follow_Up", mt::PDELAY_RESP_FOLLOW_UP),
        ("Announce", mt::ANNOUNCE),
    ] {
        assert!(has(&t, ty), "no {name} in capture: {t:?}");
    }
    assert!(!has(&t, mt::DELAY_REQ), "E2E traffic in a P2P lab");
}

#[test]
fn udp4_e2e_master_and_free_running_slave_reach_slave() {
    if !xptp_tests::require_root() {
        return;
    }
    let t = master_slave(Transport::UdpV4, DelayMechanism::E2E, "u4e2e");
    for ty in [
        mt::SYNC,
        mt::FOLLOW_UP,
        mt::DELAY_REQ,
        mt::DELAY_RESP,
        mt::ANNOUNCE,
    ] {
        assert!(has(&t, ty), "no {ty} in capture: {t:?}");
    }
}

#[test]
fn udp6_e2e_master_and_free_running_slave_reach_slave() {
    if !xptp_tests::require_root() {
        return;
    }
    let t = master_slave(Transport::UdpV6, DelayMechanism::E2E, "u6e2e");
    for ty in [
        mt::SYNC,
        mt::FOLLOW_UP,
        mt::DELAY_REQ,
        mt::DELAY_RESP,
        mt::ANNOUNCE,
    ] {
        assert!(has(&t, ty), "no {ty} in capture: {t:?}");
    }
}

#[test]
fn ptp4l_start_failure_names_the_cause() {
    if !xptp_tests::require_root() {
        return;
    }
    let lab = Lab::pair("badif").expect("build lab");
    let n = lab.node(0);
    let cfg = Ptp4lConfig::master(Transport::L2, DelayMechanism::E2E);
    let err = Ptp4l::spawn(&n.ns, "nosuchif0", &cfg)
        .unwrap_err()
        .to_string();
    // The command line (with the interface) and ptp4l's own complaint.
    assert!(
        err.contains("exited at start") && err.contains("-i nosuchif0"),
        "{err}"
    );
    assert!(
        err.contains("No such device"),
        "error should quote ptp4l's log: {err}"
    );
}
