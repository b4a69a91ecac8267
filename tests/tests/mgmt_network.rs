//! Management over the network: the real linuxptp `pmc -2` / `-4` / `-6` in one namespace against
//! `xptp run` in another, over the veth between them. With `network_management 1` xptp
//! answers GETs (from its PTP port's identity), refuses SET with MANAGEMENT_ERROR_STATUS (and
//! the value stays), and counts both; with the switch at its default (off) pmc gets no answer at all
//! and xptp counts the request as ignored (`disabled`). Needs root and the `xptp` binary
//! (skips without root, fails under XPTP_REQUIRE_ROOT=1).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use xptp_tests::golden::xptp_binary;
use xptp_tests::linuxptp::{parse_pmc_output, PmcResponse};
use xptp_tests::netns::{leftover_namespaces_of_this_process, require_root, Lab, Netns};
use xptp_tests::xptp_run::{clock_identity_of, XptpRun};

/// `pmc FLAG -i eth0 -b 0 CMDS...` inside `ns`: (parsed answers, raw stdout).
fn pmc_net(ns: &Netns, flag: &str, ifname: &str, cmds: &[&str]) -> (Vec<PmcResponse>, String) {
    let mut args = vec![flag, "-i", ifname, "-b", "0", "-d", "0"];
    args.extend_from_slice(cmds);
    let out = ns.output("pmc", &args).expect("run pmc");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (parse_pmc_output(&text), text)
}

/// pmc gives up on an answer quickly; the daemon may still be starting its port. Retries a
/// GET until it is answered (or `timeout`).
fn pmc_until_answered(
    ns: &Netns,
    flag: &str,
    ifname: &str,
    cmd: &str,
    id: &str,
    timeout: Duration,
) -> PmcResponse {
    let start = Instant::now();
    loop {
        let (r, text) = pmc_net(ns, flag, ifname, &[cmd]);
        if let Some(a) = r.into_iter().find(|a| a.tlv == id) {
            return a;
        }
        assert!(
            start.elapsed() < timeout,
            "pmc {flag} never got an answer to {cmd:?}; last output:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// GET CURRENT_DATA_SET over `flag` until answered; the answer must come from port 1 of the
/// clock `ours`.
fn current_ds_from_port_1(ns: &Netns, flag: &str, ifname: &str, ours: &str) -> PmcResponse {
    let cur = pmc_until_answered(
        ns,
        flag,
        ifname,
        "GET CURRENT_DATA_SET",
        "CURRENT_DATA_SET",
        Duration::from_secs(10),
    );
    assert_eq!(cur.source, format!("{ours}-1"), "{cur:?}");
    cur
}

/// Waits until the status document's control counter `name` reaches `at_least`.
fn wait_counter(bin: &Path, xptp: &XptpRun, name: &str, at_least: u64) -> Value {
    let start = Instant::now();
    loop {
        let v = xptp.status_json(bin).unwrap();
        if v["control"][name].as_u64().unwrap_or(0) >= at_least {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "control counter {name} never reached {at_least}:\n{:#}",
            v["control"]
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn spawn(bin: &Path, ns: &Netns, ifname: &str, transport: &str, on: bool) -> XptpRun {
    let mut args = vec![
        "-i",
        ifname,
        transport,
        "-E",
        "-S",
        "-m",
        "--clock",
        "virtual",
        "--set",
        "logAnnounceInterval=-2",
    ];
    if on {
        args.extend_from_slice(&["--set", "network_management=1"]);
    }
    let mut x = XptpRun::spawn(ns, bin, &args).unwrap();
    x.wait_for_line("status (xptp status", Duration::from_secs(10))
        .unwrap();
    x
}

#[test]
fn pmc_over_the_network_is_answered_only_when_switched_on() {
    if !require_root() {
        return;
    }
    let Some(bin) = xptp_binary() else {
        panic!("the xptp binary is not built: run `cargo build -p xptp-control --bin xptp` (or set XPTP_BIN)");
    };
    let lab = Lab::pair("mgnet").expect("build lab");
    let names = lab.namespace_names();
    let (x, c) = (lab.node(0), lab.node(1));
    let ours = clock_identity_of(&x.mac);

    // L2, switched on: GETs answered from port 1, SET refused.
    let mut xptp = spawn(&bin, &x.ns, &x.ifname, "-2", true);
    let cur = current_ds_from_port_1(&c.ns, "-2", &c.ifname, &ours);
    assert_eq!(cur.get("stepsRemoved"), Some("0"), "{cur:?}");
    let (r, text) = pmc_net(
        &c.ns,
        "-2",
        &c.ifname,
        &["GET DEFAULT_DATA_SET", "SET PRIORITY1 1", "GET PRIORITY1"],
    );
    let dds = r
        .iter()
        .find(|a| a.tlv == "DEFAULT_DATA_SET")
        .unwrap_or_else(|| panic!("no DEFAULT_DATA_SET:\n{text}"));
    assert_eq!(dds.get("clockIdentity"), Some(ours.as_str()), "{text}");
    // pmc 3.1.1 prints no error id for MANAGEMENT_ERROR_STATUS (the unit tests check it is
    // NOT_SUPPORTED): the SET (sequenceId 1) got one, and no data.
    let refused = r
        .iter()
        .find(|a| a.sequence_id == 1)
        .unwrap_or_else(|| panic!("SET PRIORITY1 over the network not answered:\n{text}"));
    assert_eq!(refused.kind, "MANAGEMENT_ERROR_STATUS", "{text}");
    let p1 = r
        .iter()
        .find(|a| a.tlv == "PRIORITY1" && a.kind == "MANAGEMENT")
        .unwrap_or_else(|| panic!("no PRIORITY1 answer:\n{text}"));
    assert_eq!(
        p1.get("priority1"),
        Some("128"),
        "SET must not apply:\n{text}"
    );
    let v = wait_counter(&bin, &xptp, "network_management_refused", 1);
    println!("{:#}", v["control"]);
    assert_eq!(v["clock"]["priority1"], 128);
    assert!(
        v["control"]["network_management_answered"]
            .as_u64()
            .unwrap()
            >= 4
    );
    assert!(
        v["control"]["network_management_responses_sent"]
            .as_u64()
            .unwrap()
            >= 4
    );
    assert!(xptp.stop().success(), "{}", xptp.log_text());

    // UDPv4 and UDPv6, switched on.
    for flag in ["-4", "-6"] {
        let mut xptp = spawn(&bin, &x.ns, &x.ifname, flag, true);
        current_ds_from_port_1(&c.ns, flag, &c.ifname, &ours);
        assert!(xptp.stop().success(), "{}", xptp.log_text());
    }

    // L2, switch at its default: no answer (pmc times out), counted as ignored.
    let mut xptp = spawn(&bin, &x.ns, &x.ifname, "-2", false);
    // The port is up once it announces; from then on requests reach control.
    xptp.wait_for_line("to MASTER on", Duration::from_secs(10))
        .unwrap();
    let (r, text) = pmc_net(
        &c.ns,
        "-2",
        &c.ifname,
        &["GET CURRENT_DATA_SET", "GET DEFAULT_DATA_SET"],
    );
    assert!(
        r.is_empty(),
        "answered with network_management off:\n{text}"
    );
    let v = wait_counter(&bin, &xptp, "network_management_ignored_disabled", 2);
    assert_eq!(v["control"]["network_management_answered"], 0);
    assert!(
        xptp.log_text().contains("network_management is off"),
        "the first ignored request is logged with the fix"
    );
    assert!(xptp.stop().success(), "{}", xptp.log_text());

    drop(lab);
    let left = leftover_namespaces_of_this_process().unwrap();
    assert!(
        !left.iter().any(|n| names.contains(n)),
        "namespaces left behind: {left:?}"
    );
}
