//! The real linuxptp `pmc -u` against a running `xptp run` that is the slave of a ptp4l master
//! (L2, E2E, netns lab): every data set it answers (DEFAULT, CURRENT, PARENT,
//! TIME_PROPERTIES, PORT, TIME_STATUS_NP, PORT_PROPERTIES_NP) checked against xptp's own
//! state (`xptp status --json`) and against the master (its pmc answers); then SET
//! SYNCHRONIZATION_UNCERTAIN_NP, SET PRIORITY2 and SET PRIORITY1: GET shows the new values,
//! status shows them, and the BMCA uses them: with priority1 better than the master's, xptp
//! becomes MASTER and the ptp4l instance names xptp its grandmaster with the new priorities
//! (they reached it in xptp's Announce). A GET of IDs xptp does not support is answered with
//! MANAGEMENT_ERROR_STATUS. Needs root and the `xptp` binary (skips without root, fails under
//! XPTP_REQUIRE_ROOT=1).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use xptp_tests::golden::xptp_binary;
use xptp_tests::linuxptp::{
    parse_pmc_output, DelayMechanism, PmcResponse, PortState, Ptp4l, Ptp4lConfig, Transport,
};
use xptp_tests::netns::{leftover_namespaces_of_this_process, require_root, Lab};
use xptp_tests::tc_chain::wait_until;
use xptp_tests::xptp_run::{clock_identity_of, XptpRun, VIRTUAL_SLAVE_ARGS};

/// `pmc -u -b 0 -s SOCK -i CLIENT CMDS...` on the host (the socket is a file).
fn pmc(xptp: &XptpRun, cmds: &[&str]) -> (Vec<PmcResponse>, String) {
    let out = Command::new("pmc")
        .args(["-u", "-b", "0", "-s"])
        .arg(xptp.uds())
        .arg("-i")
        .arg(xptp.dir().join("pmc.sock"))
        .args(cmds)
        .output()
        .expect("run pmc");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (parse_pmc_output(&text), text)
}

/// The one data answer to `id` in `r`.
fn answer<'a>(r: &'a [PmcResponse], id: &str, text: &str) -> &'a PmcResponse {
    let v: Vec<&PmcResponse> = r
        .iter()
        .filter(|a| a.tlv == id && a.kind == "MANAGEMENT")
        .collect();
    assert_eq!(v.len(), 1, "want one {id} answer:\n{text}");
    v[0]
}

fn field<'a>(a: &'a PmcResponse, key: &str) -> &'a str {
    a.get(key)
        .unwrap_or_else(|| panic!("{} has no {key}: {:?}", a.tlv, a.fields))
}

/// Whole nanoseconds of a TimeInterval pmc prints as `-1234.0`.
fn ns(v: &str) -> i64 {
    v.split('.').next().unwrap().parse().unwrap()
}

#[test]
fn pmc_reads_and_sets_a_running_slave() {
    if !require_root() {
        return;
    }
    let Some(bin) = xptp_binary() else {
        panic!("the xptp binary is not built: run `cargo build -p xptp-control --bin xptp` (or set XPTP_BIN)");
    };
    let started = Instant::now();
    let lab = Lab::pair("pmcd").expect("build lab");
    let names = lab.namespace_names();
    let (m, x) = (lab.node(0), lab.node(1));
    let mcfg = Ptp4lConfig::master(Transport::L2, DelayMechanism::E2E);
    let master = Ptp4l::spawn(&m.ns, &m.ifname, &mcfg).unwrap();
    master
        .wait_for_state(PortState::Master, Duration::from_secs(10))
        .unwrap();
    let mut args = vec!["-i", &x.ifname, "-2", "-E", "-S", "-m"];
    args.extend_from_slice(VIRTUAL_SLAVE_ARGS);
    args.extend_from_slice(&["--set", "logAnnounceInterval=-2"]);
    let mut xptp = XptpRun::spawn(&x.ns, &bin, &args).unwrap();
    xptp.wait_for_line("to SLAVE on", Duration::from_secs(15))
        .unwrap();
    let ours = clock_identity_of(&x.mac);
    let mdds = master.pmc_get("DEFAULT_DATA_SET").unwrap();
    let mid = field(&mdds, "clockIdentity").to_owned();
    let mtp = master.pmc_get("TIME_PROPERTIES_DATA_SET").unwrap();
    let st = wait_until(
        "a locked, settled servo in xptp status",
        Duration::from_secs(30),
        || {
            // s2 comes one sample after the step; the first locked offsets still carry the
            // error of the two-sample frequency estimate (hundreds of µs when one of those
            // Syncs was stamped late on a loaded machine), so wait for the servo to settle.
            let v = xptp.status_json(&bin).unwrap();
            let settled = v["clock"]["offset_from_master_ns"]
                .as_i64()
                .is_some_and(|o| o.abs() < 10_000);
            (v["clock"]["servo_state"] == "s2" && settled).then_some(v)
        },
    );
    let c = &st["clock"];

    let (r, text) = pmc(
        &xptp,
        &[
            "GET DEFAULT_DATA_SET",
            "GET CURRENT_DATA_SET",
            "GET PARENT_DATA_SET",
            "GET TIME_PROPERTIES_DATA_SET",
            "GET PORT_DATA_SET",
            "GET TIME_STATUS_NP",
            "GET PORT_PROPERTIES_NP",
            "GET GRANDMASTER_SETTINGS_NP",
        ],
    );
    println!("{text}");
    let dds = answer(&r, "DEFAULT_DATA_SET", &text);
    assert_eq!(field(dds, "clockIdentity"), ours);
    assert_eq!(field(dds, "clockIdentity"), c["clock_identity"]);
    assert_eq!(field(dds, "priority1"), "128");
    assert_eq!(field(dds, "priority2"), c["priority2"].to_string());
    assert_eq!(field(dds, "numberPorts"), "1");
    assert_eq!(field(dds, "slaveOnly"), "0");
    assert_eq!(field(dds, "domainNumber"), c["domain"].to_string());
    assert_eq!(field(dds, "clockClass"), c["clock_class"].to_string());

    let cur = answer(&r, "CURRENT_DATA_SET", &text);
    assert_eq!(field(cur, "stepsRemoved"), "1");
    assert_eq!(field(cur, "stepsRemoved"), c["steps_removed"].to_string());
    let off = ns(field(cur, "offsetFromMaster"));
    let delay = ns(field(cur, "meanPathDelay"));
    assert!(off.abs() < 50_000, "offsetFromMaster {off} ns once locked");
    assert!(delay > 0 && delay < 1_000_000, "meanPathDelay {delay} ns");
    let st_delay = c["mean_path_delay_ns"].as_i64().unwrap();
    assert!(
        (delay - st_delay).abs() < 50_000,
        "pmc meanPathDelay {delay} vs status {st_delay}"
    );

    let par = answer(&r, "PARENT_DATA_SET", &text);
    assert_eq!(field(par, "grandmasterIdentity"), mid);
    assert_eq!(field(par, "grandmasterIdentity"), c["grandmaster_identity"]);
    assert_eq!(field(par, "parentPortIdentity"), format!("{mid}-1"));
    assert_eq!(field(par, "parentPortIdentity"), c["parent_port_identity"]);
    assert_eq!(
        field(par, "grandmasterPriority1"),
        mcfg.priority1.to_string()
    );
    assert_eq!(
        field(par, "grandmasterPriority1"),
        c["grandmaster_priority1"].to_string()
    );
    assert_eq!(field(par, "gm.ClockClass"), field(&mdds, "clockClass"));

    // A slave takes its time properties from the grandmaster's Announce.
    let tp = answer(&r, "TIME_PROPERTIES_DATA_SET", &text);
    assert_eq!(tp.fields, mtp.fields, "xptp vs the master's own");
    assert_eq!(
        field(tp, "currentUtcOffset"),
        c["current_utc_offset"].to_string()
    );
    assert_eq!(
        field(tp, "ptpTimescale"),
        u8::from(c["ptp_timescale"] == true).to_string()
    );

    let pds = answer(&r, "PORT_DATA_SET", &text);
    assert_eq!(field(pds, "portIdentity"), format!("{ours}-1"));
    assert_eq!(field(pds, "portIdentity"), st["ports"][0]["port_identity"]);
    assert_eq!(field(pds, "portState"), "SLAVE");
    assert_eq!(field(pds, "portState"), st["ports"][0]["state"]);
    assert_eq!(field(pds, "delayMechanism"), "1");
    assert_eq!(field(pds, "logAnnounceInterval"), "-2");

    let ts = answer(&r, "TIME_STATUS_NP", &text);
    assert_eq!(field(ts, "gmPresent"), "true");
    assert_eq!(field(ts, "gmIdentity"), mid);
    let mo = ns(field(ts, "master_offset"));
    assert!(mo.abs() < 50_000, "master_offset {mo} ns once locked");
    assert!(field(ts, "ingress_time").parse::<i64>().unwrap() > 0);

    let pp = answer(&r, "PORT_PROPERTIES_NP", &text);
    assert_eq!(field(pp, "portIdentity"), format!("{ours}-1"));
    assert_eq!(field(pp, "portState"), "SLAVE");
    assert_eq!(field(pp, "timestamping"), "SOFTWARE");
    assert_eq!(field(pp, "interface"), x.ifname);

    // An ID xptp does not implement (GRANDMASTER_SETTINGS_NP: xptp has no settable
    // grandmaster settings): an error status, no data. (pmc 3.1.1 refuses to send most other
    // unimplemented IDs itself: "not supported yet".)
    let errors: Vec<u16> = r
        .iter()
        .filter(|a| a.kind == "MANAGEMENT_ERROR_STATUS")
        .map(|a| a.sequence_id)
        .collect();
    assert_eq!(errors, vec![7], "GRANDMASTER_SETTINGS_NP:\n{text}");
    assert!(
        !r.iter().any(|a| a.tlv == "GRANDMASTER_SETTINGS_NP"),
        "{text}"
    );

    // SET SYNCHRONIZATION_UNCERTAIN_NP, then SET PRIORITY2: answered with the new value,
    // read back, shown by status.
    let (r, text) = pmc(
        &xptp,
        &[
            "GET SYNCHRONIZATION_UNCERTAIN_NP",
            "SET SYNCHRONIZATION_UNCERTAIN_NP 0",
            "GET SYNCHRONIZATION_UNCERTAIN_NP",
            "SET PRIORITY2 77",
            "GET PRIORITY2",
        ],
    );
    println!("{text}");
    let su: Vec<&str> = r
        .iter()
        .filter(|a| a.tlv == "SYNCHRONIZATION_UNCERTAIN_NP")
        .map(|a| field(a, "uncertain"))
        .collect();
    assert_eq!(su.len(), 3, "{text}");
    assert_ne!(
        su[0], "0",
        "linuxptp's default is 0xFF (no opinion):\n{text}"
    );
    assert_eq!(su[1..], ["0", "0"], "{text}");
    let p2: Vec<&str> = r
        .iter()
        .filter(|a| a.tlv == "PRIORITY2")
        .map(|a| field(a, "priority2"))
        .collect();
    assert_eq!(p2, vec!["77", "77"], "{text}");
    wait_until("priority2 77 in status", Duration::from_secs(5), || {
        (xptp.status_json(&bin).unwrap()["clock"]["priority2"] == 77).then_some(())
    });

    // SET PRIORITY1 better than the master's (100): the BMCA makes xptp the grandmaster and
    // the ptp4l instance follows its Announce, which carries both new priorities.
    let (r, text) = pmc(&xptp, &["SET PRIORITY1 50", "GET PRIORITY1"]);
    let p1: Vec<&str> = r
        .iter()
        .filter(|a| a.tlv == "PRIORITY1")
        .map(|a| field(a, "priority1"))
        .collect();
    assert_eq!(p1, vec!["50", "50"], "{text}");
    xptp.wait_for_line("to MASTER on", Duration::from_secs(10))
        .unwrap();
    let gm = wait_until(
        "ptp4l to name xptp its grandmaster",
        Duration::from_secs(10),
        || {
            master
                .pmc_get("PARENT_DATA_SET")
                .ok()
                .filter(|p| p.get("grandmasterIdentity") == Some(ours.as_str()))
        },
    );
    assert_eq!(field(&gm, "grandmasterPriority1"), "50", "{gm:?}");
    assert_eq!(field(&gm, "grandmasterPriority2"), "77", "{gm:?}");
    let (r, text) = pmc(&xptp, &["GET PORT_DATA_SET", "GET PARENT_DATA_SET"]);
    assert_eq!(
        field(answer(&r, "PORT_DATA_SET", &text), "portState"),
        "MASTER"
    );
    assert_eq!(
        field(answer(&r, "PARENT_DATA_SET", &text), "grandmasterIdentity"),
        ours
    );
    let v = wait_until(
        "status to show the new grandmaster",
        Duration::from_secs(5),
        || {
            let v = xptp.status_json(&bin).unwrap();
            (v["clock"]["is_grandmaster"] == true).then_some(v)
        },
    );
    assert_eq!(v["clock"]["priority1"], 50);
    assert_eq!(v["ports"][0]["state"], "MASTER");
    assert_eq!(v["control"]["management_commands"], 3);

    let st = xptp.stop();
    assert!(
        st.success(),
        "xptp run exited with {st}:\n{}",
        xptp.log_text()
    );
    drop(master);
    drop(lab);
    let left = leftover_namespaces_of_this_process().unwrap();
    assert!(
        !left.iter().any(|n| names.contains(n)),
        "namespaces left behind: {left:?}"
    );
    println!("wall time {:?}", started.elapsed());
}

/// Without any socket setting, `xptp run` listens at xptp's defaults (`/var/run/xptp`, the
/// read-only `/var/run/xptp.ro`, the status socket `/var/run/xptp.status`), `xptp status`
/// finds it without `-s`, `pmc -u -s /var/run/xptp` reads it, and everything is removed at
/// exit. Skipped when another xptp daemon already answers there (the paths are shared by
/// every namespace).
#[test]
fn default_socket_paths_are_found_without_flags() {
    use std::os::unix::fs::PermissionsExt;
    if !require_root() {
        return;
    }
    let Some(bin) = xptp_binary() else {
        panic!("the xptp binary is not built: run `cargo build -p xptp-control --bin xptp` (or set XPTP_BIN)");
    };
    let (rw, ro, status) = (
        Path::new("/var/run/xptp"),
        Path::new("/var/run/xptp.ro"),
        Path::new("/var/run/xptp.status"),
    );
    let probe = std::os::unix::net::UnixDatagram::unbound().unwrap();
    if probe.connect(rw).is_ok() {
        eprintln!(
            "skipping: an xptp daemon already listens at {}",
            rw.display()
        );
        return;
    }
    let lab = Lab::pair("pmcdef").expect("build lab");
    let x = lab.node(0);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("xptp.log");
    let mut proc =
        x.ns.spawn_logged(
            &bin.to_string_lossy(),
            &[
                "run", "-i", &x.ifname, "-2", "-S", "-m", "--clock", "virtual",
            ],
            &log,
        )
        .unwrap();
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until(
        "xptp run to open its status socket",
        Duration::from_secs(10),
        || text().contains("status (xptp status").then_some(()),
    );
    let out = Command::new(&bin)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xptp status without -s: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        text()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = clock_identity_of(&x.mac);
    assert_eq!(v["clock"]["clock_identity"], ours.as_str());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(rw), mode(ro), mode(status)), (0o600, 0o666, 0o666));
    let out = Command::new("pmc")
        .args(["-u", "-b", "0", "-s", "/var/run/xptp", "-i"])
        .arg(dir.path().join("pmc.sock"))
        .arg("GET DEFAULT_DATA_SET")
        .output()
        .unwrap();
    let r = parse_pmc_output(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        r.first().and_then(|a| a.get("clockIdentity")),
        Some(ours.as_str()),
        "{r:?}"
    );
    let st = proc.stop_with(rustix::process::Signal::TERM, Duration::from_secs(5));
    assert!(st.success(), "{st}\n{}", text());
    for p in [rw, ro, status] {
        assert!(!p.exists(), "{} left behind", p.display());
    }
}
