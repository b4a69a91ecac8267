//! `xptp run` as a grandmaster for a real ptp4l slave: the xptp master (virtual clock) and a
//! free-running ptp4l slave in two namespaces. ptp4l must reach SLAVE on xptp's Announce and
//! Sync (Delay_Req / Pdelay_Req answered by xptp's fast path on the worker core) and name
//! xptp's clock identity as its grandmaster, for L2/E2E, L2/P2P and UDPv4/E2E. Needs root and
//! the `xptp` binary (skips without root, fails under XPTP_REQUIRE_ROOT=1).

use std::time::Duration;

use xptp_tests::golden::xptp_binary;
use xptp_tests::linuxptp::{parse_pmc_output, DelayMechanism, Ptp4l, Ptp4lConfig, Transport};
use xptp_tests::netns::{leftover_namespaces_of_this_process, require_root, Lab};
use xptp_tests::xptp_run::XptpRun;

/// linuxptp's spelling of the EUI-64 xptp derives from a MAC (`aabbcc.fffe.ddeeff`).
fn clock_identity_of(mac: &str) -> String {
    let h: Vec<&str> = mac.split(':').collect();
    format!("{}{}{}.fffe.{}{}{}", h[0], h[1], h[2], h[3], h[4], h[5]).to_lowercase()
}

fn xptp_master_ptp4l_slave(transport: Transport, delay: DelayMechanism, tag: &str) {
    if !require_root() {
        return;
    }
    let Some(bin) = xptp_binary() else {
        panic!("the xptp binary is not built: run `cargo build -p xptp-control --bin xptp` (or set XPTP_BIN)");
    };
    let lab = Lab::pair(tag).expect("build lab");
    let names = lab.namespace_names();
    let (m, s) = (lab.node(0), lab.node(1));
    let t = match transport {
        Transport::L2 => "-2",
        Transport::UdpV4 => "-4",
        Transport::UdpV6 => "-6",
    };
    let d = match delay {
        DelayMechanism::E2E => "-E",
        DelayMechanism::P2P => "-P",
    };
    let mut xptp = XptpRun::spawn(
        &m.ns,
        &bin,
        &[
            "-i",
            &m.ifname,
            t,
            d,
            "-S",
            "-m",
            "--clock",
            "virtual",
            "--virtual-offset-ns",
            "-30000",
            "--virtual-freq-ppb",
            "5000",
            "--set",
            "priority1=100",
            "--set",
            "logAnnounceInterval=-2",
            "--set",
            "logSyncInterval=-2",
            "--set",
            "logMinDelayReqInterval=-2",
            "--set",
            "logMinPdelayReqInterval=-2",
        ],
    )
    .unwrap();
    let slave = Ptp4l::spawn(&s.ns, &s.ifname, &Ptp4lConfig::slave(transport, delay)).unwrap();
    xptp.wait_for_line("to MASTER on", Duration::from_secs(10))
        .unwrap();
    if let Err(e) = slave.wait_for_slave(Duration::from_secs(15)) {
        panic!("{e}\nxptp log:\n{}", xptp.log_text());
    }
    let ours = clock_identity_of(&m.mac);
    let parent = slave.pmc_get("PARENT_DATA_SET").unwrap();
    assert_eq!(
        parent.get("grandmasterIdentity"),
        Some(ours.as_str()),
        "ptp4l's grandmaster is not xptp: {parent:?}"
    );
    assert_eq!(
        parent.get("grandmasterPriority1"),
        Some("100"),
        "{parent:?}"
    );
    let current = slave.pmc_get("CURRENT_DATA_SET").unwrap();
    assert_eq!(current.get("stepsRemoved"), Some("1"), "{current:?}");
    // The delay mechanism works through xptp's fast path: ptp4l measures a path delay.
    // For P2P ptp4l reports the link delay as PORT_DATA_SET.peerMeanPathDelay.
    let offsets = slave.wait_for_offsets(4, Duration::from_secs(6)).unwrap();
    let last = offsets.last().copied().unwrap();
    let delay_ns = match delay {
        DelayMechanism::E2E => last.mean_path_delay_ns,
        DelayMechanism::P2P => {
            let p = slave.pmc_get("PORT_DATA_SET").unwrap();
            p.get("peerMeanPathDelay")
                .and_then(|v| v.split('.').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(i64::MIN)
        }
    };
    // The offset includes the UTC offset: xptp announces the PTP timescale, ptp4l's
    // CLOCK_REALTIME is UTC.
    println!(
        "{}/{}: ptp4l slave of {ours}: path delay {delay_ns} ns, offset {} ns (xptp's virtual clock runs -30 µs, +5 ppm)",
        transport.config_value(),
        delay.config_value(),
        last.master_offset_ns
    );
    // A veth has no propagation delay, and xptp's side of each exchange is wire-stamped where
    // ptp4l takes its own TX stamp: the estimate is ptp4l's RX stamping delay (halved on P2P),
    // a few hundred ns, and noise can take it slightly below zero (seen -47 ns).
    assert!(
        delay_ns > -2_000 && delay_ns < 1_000_000,
        "path delay {delay_ns} ns from {last:?}"
    );
    // pmc against xptp's own management socket.
    let uds = xptp.uds();
    let out =
        m.ns.output(
            "pmc",
            &[
                "-u",
                "-b",
                "0",
                "-s",
                &uds.to_string_lossy(),
                "GET DEFAULT_DATA_SET",
                "GET PORT_DATA_SET",
            ],
        )
        .unwrap();
    let r = parse_pmc_output(&String::from_utf8_lossy(&out.stdout));
    let dds = r.iter().find(|r| r.tlv == "DEFAULT_DATA_SET");
    assert_eq!(
        dds.and_then(|d| d.get("clockIdentity")),
        Some(ours.as_str()),
        "pmc GET DEFAULT_DATA_SET from xptp: {r:?}\n{}",
        xptp.log_text()
    );
    let pds = r.iter().find(|r| r.tlv == "PORT_DATA_SET");
    assert_eq!(
        pds.and_then(|d| d.get("portState")),
        Some("MASTER"),
        "{r:?}"
    );
    let st = xptp.stop();
    let log = xptp.log_text();
    assert!(st.success(), "xptp run exited with {st}; log:\n{log}");
    assert!(log.contains("XDP detached"), "no shutdown report:\n{log}");
    drop(slave);
    drop(lab);
    let left = leftover_namespaces_of_this_process().unwrap();
    assert!(
        !left.iter().any(|n| names.contains(n)),
        "namespaces left behind: {left:?}"
    );
}

#[test]
fn l2_e2e() {
    xptp_master_ptp4l_slave(Transport::L2, DelayMechanism::E2E, "ime2");
}

#[test]
fn l2_p2p() {
    xptp_master_ptp4l_slave(Transport::L2, DelayMechanism::P2P, "imp2");
}

#[test]
fn udpv4_e2e() {
    xptp_master_ptp4l_slave(Transport::UdpV4, DelayMechanism::E2E, "imu4");
}
