//! A rogue grandmaster on a `grandmaster_block` port of an xptp boundary clock.
//!
//! Segment S1 (a bridge): ptp4l grandmaster A (priority1 100), a free-running ptp4l slave P and
//! port 1 of the xptp BC. Port 2 of the BC is a veth to R, a ptp4l master with a better
//! priority1 (50). Port 2 has `grandmaster_block 1`: R's Announce/Sync/Follow_Up are dropped
//! and reported. Without the block the BC would select R and, as master on S1, hand it to P.
//! Asserted: the BC and P keep A; the BC logs a `rogue_master` alarm naming R's identity and
//! MAC, shows R in `xptp status` (JSON: identity, MAC, port, counts, first/last seen, the
//! alarm; and the table) and in its metrics (parsed: `xptp_rogue_frames_total`,
//! `xptp_rogue_master_info`, `xptp_alarms_raised_total`), and lists R at exit. Needs root and
//! the `xptp` binary.

use std::time::{Duration, Instant};

use xptp_tests::golden::xptp_binary;
use xptp_tests::linuxptp::{DelayMechanism, PortState, Ptp4l, Ptp4lConfig, Transport};
use xptp_tests::netns::{require_root, veth, Lab, Netns};
use xptp_tests::scrape::{scrape, try_value, value};
use xptp_tests::xptp_run::XptpRun;

const METRICS: &str = "127.0.0.1:19187";

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
            "--metrics",
            METRICS,
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

    // Status: the rogue with its identity, address, port and counts, and the alarm.
    let v = xptp.status_json(&bin).unwrap();
    let sec = &v["security"];
    println!("{sec:#}");
    let rogues = sec["rogue_masters"].as_array().unwrap();
    assert_eq!(rogues.len(), 1, "{sec:#}");
    let r = &rogues[0];
    let r_port_id = r["identity"].as_str().unwrap();
    assert!(r_port_id.starts_with(&format!("{id_r}-")), "{r:#}");
    assert_eq!(r["port"], 2);
    assert_eq!(r["interface"], "eth1");
    assert_eq!(r["address"], r_mac.as_str());
    assert_eq!(r["grandmaster_identity"], id_r.as_str());
    assert_eq!(r["priority1"], 50);
    let (ann, total) = (
        r["frames"]["Announce"].as_u64().unwrap(),
        r["total"].as_u64().unwrap(),
    );
    assert!(ann >= 4 && total >= ann, "{r:#}");
    assert!(r["frames"]["Sync"].as_u64().unwrap() > 0, "{r:#}");
    let (first, last) = (
        r["first_seen_ago_s"].as_f64().unwrap(),
        r["last_seen_ago_s"].as_f64().unwrap(),
    );
    assert!(
        first >= 3.0 && first >= last && last < 2.0,
        "first {first} s, last {last} s ago"
    );
    assert_eq!(sec["alarm_counts"]["rogue_master"], 1);
    assert!(
        sec["recent_alarms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "rogue_master" && a["port"] == 2),
        "{sec:#}"
    );
    assert!(
        v["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().contains(r_port_id)),
        "{:#}",
        v["alarms"]
    );
    let out = std::process::Command::new(&bin)
        .args(["status", "-s"])
        .arg(xptp.uds())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    println!("{table}");
    for want in ["Rogue masters", r_port_id, r_mac.as_str(), "Recent alarms"] {
        assert!(table.contains(want), "table lacks {want:?}:\n{table}");
    }

    // Metrics, parsed.
    let m = scrape(&x.ns, METRICS);
    let who = [("port", "2"), ("identity", r_port_id)];
    let frames = |t: &str| {
        let mut l = who.to_vec();
        l.push(("type", t));
        value(&m, "xptp_rogue_frames", &l)
    };
    assert!(frames("Announce") >= ann as f64, "metrics behind status");
    assert!(frames("Sync") > 0.0);
    let mut info = who.to_vec();
    info.push(("address", r_mac.as_str()));
    assert_eq!(value(&m, "xptp_rogue_master_info", &info), 1.0);
    assert_eq!(value(&m, "xptp_rogue_masters", &[]), 1.0);
    assert_eq!(
        value(&m, "xptp_alarms_raised", &[("kind", "rogue_master")]),
        1.0
    );
    assert_eq!(try_value(&m, "xptp_rogue_frames", &[("port", "1")]), None);

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
