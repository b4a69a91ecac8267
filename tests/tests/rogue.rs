//! A rogue grandmaster on a `grandmaster_block` port of an xptp boundary clock.
//!
//! Segment S1 (a bridge): ptp4l grandmaster A (priority1 100), a free-running ptp4l slave P and
//! port 1 of the xptp BC. Port 2 of the BC is a veth to R, a ptp4l master with a better
//! priority1 (50). Port 2 has `grandmaster_block 1`: R's Announce/Sync/Follow_Up are dropped
//! and reported. Without the block the BC would select R and, as master on S1, hand it to P.
//! Asserted: the BC and P keep A; the BC logs a `rogue_master` alarm naming R's identity and
//! MAC, and lists R at exit. Needs root and the `xptp` binary.

use std::time::{Duration, Instant};

use xptp_tests::golden::xptp_binary;
use xptp_tests::linuxptp::{DelayMechanism, PortState, Ptp4l, Ptp4lConfig, Transport};
use xptp_tests::netns::{require_root, veth, Lab, Netns};
use xptp_tests::xptp_run::XptpRun;

fn current_gm(text: &str) -> Option<String> {
    text.lines().rev().find_map(|l| {
        let tail = if let Some(i) = l.find("selected best master clock ") {
            &l[i + "selected best master clock ".len()..]
        } else if let Some(i) = l.find("grandmaster changed from ") {
            let t = &l[i..];
            &t[t.find(" to ")? + 4..]
        } else {
            return None;
        };
        tail.split_whitespace().next().map(str::to_owned)
    })
}

#[test]
fn rogue_grandmaster_on_blocked_port_is_dropped_and_reported() {
    if !require_root() {
        return;
    }
    let bin = xptp_binary().expect("build the xptp binary: cargo build -p xptp-control --bin xptp");
    let lab = Lab::star("rgm", 3).expect("build lab");
    let (a, p, x) = (lab.node(0), lab.node(1), lab.node(2));
    let r_ns = Netns::new("rgm-rogue").expect("rogue namespace");
    veth(&x.ns, "eth1", &r_ns, "eth0").expect("veth to the rogue");
    let r_mac = r_ns.mac("eth0").unwrap().to_lowercase();

    let conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        conf.path(),
        "[global]\nnetwork_transport L2\ndelay_mechanism E2E\ntime_stamping software\n\
         logAnnounceInterval -2\nlogSyncInterval -2\nlogMinDelayReqInterval -2\n\
         pi_proportional_scale 0.7\npi_integral_scale 0.3\n\
         [eth0]\n[eth1]\ngrandmaster_block 1\n",
    )
    .unwrap();
    let conf_path = conf.path().to_string_lossy().into_owned();

    let gm = Ptp4l::spawn(
        &a.ns,
        &a.ifname,
        &Ptp4lConfig::master(Transport::L2, DelayMechanism::E2E),
    )
    .unwrap();
    let slave = Ptp4l::spawn(
        &p.ns,
        &p.ifname,
        &Ptp4lConfig::slave(Transport::L2, DelayMechanism::E2E),
    )
    .unwrap();
    let mut xptp = XptpRun::spawn(
        &x.ns,
        &bin,
        &[
            "-f",
            &conf_path,
            "-m",
            "--clock",
            "virtual",
            "--virtual-truth",
            "realtime",
        ],
    )
    .unwrap();
    gm.wait_for_state(PortState::Master, Duration::from_secs(10))
        .unwrap();
    let id_a = gm
        .pmc_get("DEFAULT_DATA_SET")
        .unwrap()
        .get("clockIdentity")
        .unwrap()
        .to_owned();
    let t = Instant::now();
    while current_gm(&xptp.log_text()).as_deref() != Some(id_a.as_str()) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the BC did not select A {id_a}; log:\n{}",
            xptp.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    slave.wait_for_slave(Duration::from_secs(10)).unwrap();

    // The rogue: a better priority1 than A.
    let mut rcfg = Ptp4lConfig::master(Transport::L2, DelayMechanism::E2E);
    rcfg.priority1 = 50;
    let rogue = Ptp4l::spawn(&r_ns, "eth0", &rcfg).unwrap();
    rogue
        .wait_for_state(PortState::Master, Duration::from_secs(10))
        .unwrap();
    let id_r = rogue
        .pmc_get("DEFAULT_DATA_SET")
        .unwrap()
        .get("clockIdentity")
        .unwrap()
        .to_owned();
    let alarm = xptp
        .wait_for_line("port 2: rogue_master", Duration::from_secs(5))
        .unwrap();
    println!("xptp: {alarm}");
    assert!(alarm.contains(&id_r), "alarm without R's identity {id_r}");
    assert!(alarm.contains(&r_mac), "alarm without R's MAC {r_mac}");
    // Give the rogue many Announce intervals to win if it could.
    std::thread::sleep(Duration::from_secs(4));
    let text = xptp.log_text();
    assert_eq!(
        current_gm(&text).as_deref(),
        Some(id_a.as_str()),
        "the BC left A; log:\n{text}"
    );
    assert!(!text.contains(&format!("best master clock {id_r}")));
    assert_eq!(
        current_gm(&slave.log_text()).as_deref(),
        Some(id_a.as_str()),
        "the downstream slave left A"
    );
    assert_eq!(slave.port_state().unwrap(), PortState::Slave);

    let st = xptp.stop();
    assert!(st.success(), "exit {st:?}");
    let text = xptp.log_text();
    let listed = text
        .lines()
        .find(|l| l.contains("rogue master seen on port 2"))
        .unwrap_or_else(|| panic!("no rogue listed at exit; log:\n{text}"));
    println!("xptp at exit: {listed}");
    assert!(listed.contains(&id_r) && listed.contains("priority1 Some(50)"));
    drop(rogue);
    drop(r_ns);
}
