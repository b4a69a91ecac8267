//! `xptp status` and `xptp run --metrics` against a running daemon in the netns lab, with a
//! real ptp4l peer: xptp as grandmaster of a ptp4l slave (port MASTER, Delay_Req answered on
//! the fast path) and xptp as slave of a ptp4l master (port SLAVE, grandmaster = the master's
//! clockIdentity per pmc, offset and servo). `xptp status --json` is checked field by field
//! against what pmc and the lab say; the table against its key columns; the metrics endpoint
//! (scraped from inside the namespace, where it listens on loopback) is parsed by a strict
//! OpenMetrics parser and checked for the expected series, counters that grow between two
//! scrapes and monotonic histogram buckets. Needs root and the `xptp` binary (skips without
//! root, fails under XPTP_REQUIRE_ROOT=1).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use xptp_tests::golden::xptp_binary;
use xptp_tests::linuxptp::{DelayMechanism, PortState, Ptp4l, Ptp4lConfig, Transport};
use xptp_tests::netns::{leftover_namespaces_of_this_process, require_root, Lab};
use xptp_tests::scrape::{family, histogram_total, scrape, value, Exposition};
use xptp_tests::xptp_run::{XptpRun, VIRTUAL_SLAVE_ARGS};

/// `xptp run --metrics` without a value.
const DEFAULT_METRICS: &str = "127.0.0.1:9184";

fn clock_identity_of(mac: &str) -> String {
    let h: Vec<&str> = mac.split(':').collect();
    format!("{}{}{}.fffe.{}{}{}", h[0], h[1], h[2], h[3], h[4], h[5]).to_lowercase()
}

fn status(bin: &Path, socket: &Path, json: bool) -> std::process::Output {
    let mut c = Command::new(bin);
    c.args(["status", "-s"]).arg(socket);
    if json {
        c.arg("--json");
    }
    c.output().expect("run xptp status")
}

fn status_json(bin: &Path, socket: &Path) -> Value {
    let out = status(bin, socket, true);
    assert!(
        out.status.success(),
        "xptp status --json: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("xptp status --json prints JSON")
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// Waits until `f` holds for the status document (the daemon publishes every second).
fn wait_status(bin: &Path, socket: &Path, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let v = status_json(bin, socket);
        if f(&v) {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "status never showed {what}:\n{v:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn finish(mut xptp: XptpRun, socket: &Path, names: Vec<String>, rest: impl FnOnce()) {
    let st = xptp.stop();
    let log = xptp.log_text();
    assert!(st.success(), "xptp run exited with {st}; log:\n{log}");
    assert!(
        !xptp_control::status::default_status_path(socket).exists(),
        "status socket left behind"
    );
    rest();
    let left = leftover_namespaces_of_this_process().unwrap();
    assert!(
        !left.iter().any(|n| names.contains(n)),
        "namespaces left behind: {left:?}"
    );
}

#[test]
fn status_and_metrics_of_a_grandmaster() {
    if !require_root() {
        return;
    }
    let Some(bin) = xptp_binary() else {
        panic!("the xptp binary is not built: run `cargo build -p xptp-control --bin xptp` (or set XPTP_BIN)");
    };
    let lab = Lab::pair("stm").expect("build lab");
    let names = lab.namespace_names();
    let (m, s) = (lab.node(0), lab.node(1));
    let mut xptp = XptpRun::spawn(
        &m.ns,
        &bin,
        &[
            "-i",
            &m.ifname,
            "-2",
            "-E",
            "-S",
            "-m",
            "--clock",
            "virtual",
            "--metrics",
            "--set",
            "priority1=100",
            "--set",
            "logSyncInterval=-3",
            "--set",
            "logAnnounceInterval=-2",
            "--set",
            "logMinDelayReqInterval=-3",
        ],
    )
    .unwrap();
    let slave = Ptp4l::spawn(
        &s.ns,
        &s.ifname,
        &Ptp4lConfig::slave(Transport::L2, DelayMechanism::E2E),
    )
    .unwrap();
    xptp.wait_for_line("to MASTER on", Duration::from_secs(10))
        .unwrap();
    let metrics_line = xptp
        .wait_for_line("metrics (GET", Duration::from_secs(1))
        .unwrap();
    assert!(metrics_line.contains(DEFAULT_METRICS), "{metrics_line}");
    if let Err(e) = slave.wait_for_slave(Duration::from_secs(15)) {
        panic!("{e}\nxptp log:\n{}", xptp.log_text());
    }
    let ours = clock_identity_of(&m.mac);
    let parent = slave.pmc_get("PARENT_DATA_SET").unwrap();
    let gm = parent.get("grandmasterIdentity").unwrap().to_owned();
    assert_eq!(gm, ours);
    let sock = xptp.uds();

    // JSON against reality.
    let v = wait_status(&bin, &sock, "Delay_Req answered on the fast path", |v| {
        u(&v["workers"][0]["fast_path"]["delay_resp_sent"]) >= 5
    });
    println!("{v:#}");
    assert_eq!(v["clock"]["clock_identity"], ours.as_str());
    assert_eq!(v["clock"]["grandmaster_identity"], gm.as_str());
    assert_eq!(v["clock"]["is_grandmaster"], true);
    assert_eq!(v["clock"]["clock_type"], "OC");
    assert_eq!(v["clock"]["priority1"], 100);
    assert_eq!(v["clock"]["clock_source"], "virtual");
    assert!(v["clock"]["true_error_ns"].is_i64(), "{v:#}");
    assert_eq!(v["clock"]["timestamp_source"], "XDP-ingress software");
    let p = &v["ports"][0];
    assert_eq!(p["state"], "MASTER");
    assert_eq!(p["state_code"], 6);
    assert_eq!(p["interface"], m.ifname.as_str());
    assert_eq!(p["port_identity"], format!("{ours}-1").as_str());
    assert_eq!(p["delay_mechanism"], "E2E");
    assert_eq!(p["transport"], "L2");
    assert!(
        u(&p["tx"]["Sync"]) > 0 && u(&p["tx"]["Follow_Up"]) > 0,
        "{p:#}"
    );
    assert!(u(&p["tx"]["Announce"]) > 0, "{p:#}");
    assert!(u(&p["xdp"]["steered_l2"]) >= 5, "{p:#}");
    assert_eq!(p["timestamp_source"], "XDP-ingress software");
    assert_eq!(p["datapath"]["mode"], "copy");
    assert_eq!(p["datapath"]["xdp_mode"], "native");
    assert_eq!(p["datapath"]["xdp_build"], "portable");
    assert!(
        u(&p["fast_path_tx"]["Delay_Resp"]) >= 5,
        "the port's own worker answered Delay_Req: {p:#}"
    );
    let handled: u64 = v["histograms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["name"] == "xptp_delay_req_handling_seconds" && h["port"] == 1)
        .map(|h| h["counts"].as_array().unwrap().iter().map(u).sum::<u64>())
        .sum();
    assert!(handled >= 5, "Delay_Req handling histogram: {handled}");

    // The table.
    let out = status(&bin, &sock, false);
    let table = String::from_utf8_lossy(&out.stdout);
    println!("{table}");
    assert!(out.status.success());
    for want in [
        "Clock identity",
        ours.as_str(),
        "(this clock)",
        "Port  Interface  State",
        "MASTER",
        "copy q0",
        "XDP-ingress software",
        "Delay_Resp",
        "xptp_delay_req_handling_seconds",
    ] {
        assert!(table.contains(want), "table lacks {want:?}:\n{table}");
    }

    // Metrics, twice.
    let a = scrape(&m.ns, DEFAULT_METRICS);
    std::thread::sleep(Duration::from_millis(2500));
    let b = scrape(&m.ns, DEFAULT_METRICS);
    let port = [("port", "1"), ("interface", m.ifname.as_str())];
    assert_eq!(value(&b, "xptp_port_state", &port), 6.0);
    let sync = |e: &Exposition| value(e, "xptp_tx", &[("port", "1"), ("type", "Sync")]);
    assert!(
        sync(&b) > sync(&a) && sync(&a) > 0.0,
        "Sync counter did not grow: {} -> {}",
        sync(&a),
        sync(&b)
    );
    let resp = |e: &Exposition| {
        value(
            e,
            "xptp_fast_path",
            &[("worker", "0"), ("event", "delay_resp_sent")],
        )
    };
    assert!(resp(&b) > resp(&a), "{} -> {}", resp(&a), resp(&b));
    assert!(value(&b, "xptp_xdp_frames", &[("decision", "steered_l2")]) > 0.0);
    assert_eq!(
        value(
            &b,
            "xptp_dropped",
            &[("port", "1"), ("stage", "port"), ("reason", "malformed")]
        ),
        0.0
    );
    assert_eq!(value(&b, "xptp_servo_state", &[]), 0.0);
    assert!(value(&b, "xptp_uptime_seconds", &[]) > value(&a, "xptp_uptime_seconds", &[]));
    assert_eq!(
        value(
            &b,
            "xptp_grandmaster_info",
            &[("grandmaster_identity", gm.as_str()), ("self", "1")]
        ),
        1.0
    );
    let (ha, hb) = (
        histogram_total(&a, "xptp_delay_req_handling_seconds"),
        histogram_total(&b, "xptp_delay_req_handling_seconds"),
    );
    assert!(
        hb > ha && ha > 0,
        "Delay_Req handling histogram {ha} -> {hb}"
    );
    histogram_total(&b, "xptp_residence_time_seconds");
    assert!(
        !family(&b, "xptp_rx").help.is_empty(),
        "metric families carry HELP"
    );

    finish(xptp, &sock, names, move || {
        drop(slave);
        drop(lab);
    });
}

#[test]
fn status_and_metrics_of_a_slave() {
    if !require_root() {
        return;
    }
    let Some(bin) = xptp_binary() else {
        panic!("the xptp binary is not built: run `cargo build -p xptp-control --bin xptp` (or set XPTP_BIN)");
    };
    let lab = Lab::pair("sts").expect("build lab");
    let names = lab.namespace_names();
    let (m, x) = (lab.node(0), lab.node(1));
    let master = Ptp4l::spawn(
        &m.ns,
        &m.ifname,
        &Ptp4lConfig::master(Transport::L2, DelayMechanism::E2E),
    )
    .unwrap();
    master
        .wait_for_state(PortState::Master, Duration::from_secs(10))
        .unwrap();
    let metrics_addr = "127.0.0.1:19185";
    let mut args = vec!["-i", &x.ifname, "-2", "-E", "-S", "-s", "-m"];
    args.extend_from_slice(VIRTUAL_SLAVE_ARGS);
    args.extend_from_slice(&["--metrics", metrics_addr]);
    let mut xptp = XptpRun::spawn(&x.ns, &bin, &args).unwrap();
    xptp.wait_for_line("to SLAVE on", Duration::from_secs(15))
        .unwrap();
    let mid = master
        .pmc_get("DEFAULT_DATA_SET")
        .unwrap()
        .get("clockIdentity")
        .unwrap()
        .to_owned();
    let sock = xptp.uds();
    let v = wait_status(&bin, &sock, "a locked servo", |v| {
        v["clock"]["servo_state"] == "s2" && v["clock"]["offset_from_master_ns"].is_i64()
    });
    println!("{v:#}");
    let c = &v["clock"];
    assert_eq!(c["grandmaster_identity"], mid.as_str());
    assert_eq!(c["is_grandmaster"], false);
    assert_eq!(c["steps_removed"], 1);
    assert_eq!(c["slave_only"], true);
    assert!(
        c["parent_port_identity"]
            .as_str()
            .unwrap()
            .starts_with(&mid),
        "{c:#}"
    );
    let delay = c["mean_path_delay_ns"].as_i64().unwrap();
    // Back to back on a veth: no propagation delay, and xptp's stamps are taken where ptp4l
    // takes its own TX stamps (veth wire stamps), so the true figure is a few hundred ns of
    // ptp4l's RX stamping and noise may take it slightly negative.
    assert!(delay > -2_000 && delay < 1_000_000, "path delay {delay}");
    assert!(c["frequency_ppb"].is_number());
    let p = &v["ports"][0];
    assert_eq!(p["state"], "SLAVE");
    assert!(
        u(&p["rx"]["Sync"]) > 0 && u(&p["rx"]["Announce"]) > 0,
        "{p:#}"
    );
    assert!(
        u(&p["tx"]["Delay_Req"]) > 0 && u(&p["rx"]["Delay_Resp"]) > 0,
        "{p:#}"
    );
    assert_eq!(p["timestamp_source"], "XDP-ingress software");
    assert_eq!(p["datapath"]["mode"], "copy");

    let table = String::from_utf8_lossy(&status(&bin, &sock, false).stdout).into_owned();
    println!("{table}");
    for want in [
        "Grandmaster identity",
        mid.as_str(),
        "SLAVE",
        "s2 (locked)",
        "Offset from master",
    ] {
        assert!(table.contains(want), "table lacks {want:?}:\n{table}");
    }

    let a = scrape(&x.ns, metrics_addr);
    std::thread::sleep(Duration::from_millis(2500));
    let b = scrape(&x.ns, metrics_addr);
    let port = [("port", "1"), ("interface", x.ifname.as_str())];
    assert_eq!(value(&b, "xptp_port_state", &port), 9.0);
    assert_eq!(value(&b, "xptp_servo_state", &[]), 2.0);
    let rx = |e: &Exposition| value(e, "xptp_rx", &[("port", "1"), ("type", "Sync")]);
    assert!(rx(&b) > rx(&a), "rx Sync {} -> {}", rx(&a), rx(&b));
    let d = value(&b, "xptp_path_delay_ns", &[]);
    assert!(d > -2_000.0 && d < 1e6, "path delay {d}");
    value(&b, "xptp_offset_ns", &[]);
    value(&b, "xptp_frequency_ppb", &[]);
    value(&b, "xptp_virtual_clock_true_error_ns", &[]);
    let (oa, ob) = (
        histogram_total(&a, "xptp_offset_abs_ns"),
        histogram_total(&b, "xptp_offset_abs_ns"),
    );
    assert!(ob > oa && oa > 0, "offset histogram {oa} -> {ob}");

    // No daemon: a clear error.
    let none = status(&bin, &xptp.dir().join("nothing.status"), false);
    assert!(!none.status.success());
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(err.contains("no xptp daemon at"), "{err}");

    finish(xptp, &sock, names, move || {
        drop(master);
        drop(lab);
    });
}
