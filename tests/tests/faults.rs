//! Faults and privilege of `xptp run`, in network namespaces against real ptp4l peers:
//!
//! - `link_flap_faults_and_recovers`: the xptp slave's link goes down → its port is FAULTY
//!   within a second; link up → it is SLAVE again by itself.
//! - `grandmaster_kill_fails_over`: two ptp4l masters (priority1 100 and 110), an xptp slave
//!   and a ptp4l slave; the better master is SIGKILLed; both slaves' failover times are
//!   measured and printed side by side and xptp's is checked against the standard's bound.
//! - `privileges_dropped_and_sigkill_leaves_no_xdp`: a running xptp master (serving a ptp4l
//!   slave) has no capability left in any thread, its management sockets are 0600 / 0666;
//!   after SIGKILL no XDP program remains on the interface and ping gets through.
//! - `worker_stall_and_death_exit_3`: the hidden test aids stall / end the datapath worker;
//!   the heartbeat turns the port FAULTY, and the daemon exits with status 3 (and leaves no
//!   XDP program).
//!
//! Needs root and the `xptp` binary (skips without root, fails under XPTP_REQUIRE_ROOT=1).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use xptp_tests::golden::xptp_binary;
use xptp_tests::linuxptp::{DelayMechanism, PortState, Ptp4l, Ptp4lConfig, Transport};
use xptp_tests::netns::{require_root, Lab, Netns};
use xptp_tests::xptp_run::XptpRun;

fn bin() -> PathBuf {
    xptp_binary().expect(
        "the xptp binary is not built: run `cargo build -p xptp-control --bin xptp` (or set XPTP_BIN)",
    )
}

/// Waits until the text returned by `log` has more than `after` lines containing `needle`;
/// returns the time it took.
fn wait_count(
    log: &dyn Fn() -> String,
    needle: &str,
    after: usize,
    timeout: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if count(&log(), needle) > after {
            return Some(start.elapsed());
        }
        if start.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The grandmaster a log last reported: `selected best master clock X` (xptp and ptp4l) or
/// xptp's `grandmaster changed from Y to X` alarm.
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

fn count(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

/// Whether an XDP program is attached to `ifname` in `ns` (`ip -d link show`).
fn xdp_attached(ns: &Netns, ifname: &str) -> bool {
    let out = ns.ip(&["-d", "link", "show", "dev", ifname]).unwrap();
    out.contains("prog/xdp") || out.contains(" xdp")
}

fn ping(ns: &Netns, to: &str) -> bool {
    ns.output("ping", &["-c", "1", "-W", "2", to])
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn xptp_slave_args(ifname: &str) -> Vec<String> {
    [
        "-i",
        ifname,
        "-2",
        "-E",
        "-S",
        "-s",
        "-m",
        "--clock",
        "virtual",
        "--virtual-truth",
        "realtime",
        // ptp4l's software-timestamping PI constants wait ~30 s before the first frequency
        // estimate; these reach SLAVE within seconds (as in interop_slave).
        "--set",
        "pi_proportional_scale=0.7",
        "--set",
        "pi_integral_scale=0.3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn link_flap_faults_and_recovers() {
    if !require_root() {
        return;
    }
    let bin = bin();
    let lab = Lab::star("flt", 2).expect("build lab");
    let (m, x) = (lab.node(0), lab.node(1));
    let master = Ptp4l::spawn(
        &m.ns,
        &m.ifname,
        &Ptp4lConfig::master(Transport::L2, DelayMechanism::E2E),
    )
    .unwrap();
    let args = xptp_slave_args(&x.ifname);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut xptp = XptpRun::spawn(&x.ns, &bin, &args).unwrap();
    master
        .wait_for_state(PortState::Master, Duration::from_secs(10))
        .unwrap();
    xptp.wait_for_line("to SLAVE on MASTER_CLOCK_SELECTED", Duration::from_secs(15))
        .unwrap();
    let slaves_before = count(&xptp.log_text(), "to SLAVE on");

    x.ns.ip(&["link", "set", &x.ifname, "down"]).unwrap();
    let log = || xptp.log_text();
    let down = wait_count(
        &log,
        "to FAULTY on FAULT_DETECTED",
        0,
        Duration::from_secs(3),
    );
    let text = xptp.log_text();
    let down = down.unwrap_or_else(|| panic!("no FAULTY within 3 s of link down; log:\n{text}"));
    println!("link down → port FAULTY after {} ms", down.as_millis());
    assert!(
        down <= Duration::from_secs(1),
        "port FAULTY {} ms after link down (bound 1 s)",
        down.as_millis()
    );
    assert!(text.contains("port 1: link down"), "log:\n{text}");
    // It stays FAULTY while the link is down.
    std::thread::sleep(Duration::from_secs(2));
    let text = xptp.log_text();
    assert_eq!(
        count(&text, "to SLAVE on"),
        slaves_before,
        "SLAVE while the link was down; log:\n{text}"
    );

    x.ns.ip(&["link", "set", &x.ifname, "up"]).unwrap();
    let log = || xptp.log_text();
    // Bound: link-up detection (≤ 250 ms) + LISTENING → foreign master qualified (2
    // Announces at 4/s) + UNCALIBRATED → SLAVE after a few Syncs; 10 s leaves room for a
    // loaded VM.
    let up = wait_count(&log, "to SLAVE on", slaves_before, Duration::from_secs(10));
    let text = xptp.log_text();
    let up = up.unwrap_or_else(|| panic!("not SLAVE again within 10 s of link up; log:\n{text}"));
    println!("link up → port SLAVE again after {} ms", up.as_millis());
    assert!(text.contains("port 1: link up"), "log:\n{text}");
    assert!(
        text.contains("FAULTY to INITIALIZING on FAULT_CLEARED"),
        "log:\n{text}"
    );
    let st = xptp.stop();
    assert!(
        st.success(),
        "xptp run exit {st:?}; log:\n{}",
        xptp.log_text()
    );
}

#[test]
fn grandmaster_kill_fails_over() {
    if !require_root() {
        return;
    }
    let bin = bin();
    let lab = Lab::star("fgm", 4).expect("build lab");
    let (a, b, x, p) = (lab.node(0), lab.node(1), lab.node(2), lab.node(3));
    // The same announce settings everywhere: 2^-1 s, timeout 3.
    let (log_ai, timeout) = (-1i8, 3u8);
    let cfg = |prio: u8| {
        let mut c = Ptp4lConfig::master(Transport::L2, DelayMechanism::E2E);
        c.priority1 = prio;
        c.log_announce_interval = log_ai;
        c.announce_receipt_timeout = timeout;
        c
    };
    let gm_a = Ptp4l::spawn(&a.ns, &a.ifname, &cfg(100)).unwrap();
    let gm_b = Ptp4l::spawn(&b.ns, &b.ifname, &cfg(110)).unwrap();
    let mut scfg = Ptp4lConfig::slave(Transport::L2, DelayMechanism::E2E);
    scfg.log_announce_interval = log_ai;
    scfg.announce_receipt_timeout = timeout;
    let ptp4l_slave = Ptp4l::spawn(&p.ns, &p.ifname, &scfg).unwrap();
    let mut args = xptp_slave_args(&x.ifname);
    for s in [
        format!("logAnnounceInterval={log_ai}"),
        format!("announceReceiptTimeout={timeout}"),
    ] {
        args.push("--set".into());
        args.push(s);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut xptp = XptpRun::spawn(&x.ns, &bin, &args).unwrap();

    gm_a.wait_for_state(PortState::Master, Duration::from_secs(10))
        .unwrap();
    let id = |p: &Ptp4l| {
        p.pmc_get("DEFAULT_DATA_SET")
            .unwrap()
            .get("clockIdentity")
            .unwrap()
            .to_owned()
    };
    let (id_a, id_b) = (id(&gm_a), id(&gm_b));
    ptp4l_slave.wait_for_slave(Duration::from_secs(10)).unwrap();
    let t = Instant::now();
    while current_gm(&xptp.log_text()).as_deref() != Some(id_a.as_str()) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "xptp did not select A {id_a}; log:\n{}",
            xptp.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        current_gm(&ptp4l_slave.log_text()).as_deref(),
        Some(id_a.as_str())
    );

    // Kill A abruptly.
    let t0 = Instant::now();
    let pid = rustix::process::Pid::from_raw(gm_a.pid() as i32).unwrap();
    rustix::process::kill_process(pid, Signal::KILL).unwrap();
    let want = Some(id_b.clone());
    let (mut ours, mut theirs) = (None, None);
    while t0.elapsed() < Duration::from_secs(20) && (ours.is_none() || theirs.is_none()) {
        if ours.is_none() && current_gm(&xptp.log_text()) == want {
            ours = Some(t0.elapsed());
        }
        if theirs.is_none() && current_gm(&ptp4l_slave.log_text()) == want {
            theirs = Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let interval = 2f64.powi(i32::from(log_ai));
    // announceReceiptTimeout intervals until A is declared gone (9.2.6.12), B's first
    // Announce as master (≤ 1 interval), qualification of B as foreign master (9.3.2.5:
    // FOREIGN_MASTER_THRESHOLD = 2 Announces), plus 1 s for scheduling and log polling.
    let bound = Duration::from_secs_f64((f64::from(timeout) + 1.0 + 2.0) * interval + 1.0);
    println!(
        "grandmaster failover (announce interval {interval} s, announceReceiptTimeout {timeout}): \
         xptp {} ms, ptp4l slave {} ms (bound {} ms)",
        ours.map_or("none".into(), |d| d.as_millis().to_string()),
        theirs.map_or("none".into(), |d| d.as_millis().to_string()),
        bound.as_millis()
    );
    let ours = ours.unwrap_or_else(|| panic!("xptp never selected B; log:\n{}", xptp.log_text()));
    assert!(
        ours <= bound,
        "xptp failover {} ms > bound {} ms",
        ours.as_millis(),
        bound.as_millis()
    );
    let st = xptp.stop();
    assert!(st.success(), "xptp run exit {st:?}");
}

#[test]
fn privileges_dropped_and_sigkill_leaves_no_xdp() {
    if !require_root() {
        return;
    }
    let bin = bin();
    let lab = Lab::pair("fpr").expect("build lab");
    let (x, p) = (lab.node(0), lab.node(1));
    let mut xptp = XptpRun::spawn(
        &x.ns,
        &bin,
        &[
            "-i",
            &x.ifname,
            "-2",
            "-E",
            "-S",
            "-m",
            "--clock",
            "virtual",
            "--virtual-truth",
            "realtime",
            "--set",
            "priority1=90",
            "--set",
            "logAnnounceInterval=-2",
            "--set",
            "logSyncInterval=-2",
        ],
    )
    .unwrap();
    let line = xptp
        .wait_for_line("privileges dropped after setup", Duration::from_secs(10))
        .unwrap();
    println!("xptp: {line}");
    // Every thread: no capability left (virtual clock: nothing is needed after setup).
    let pid = xptp.pid();
    let mut threads = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let t = t.unwrap().path();
        let status = std::fs::read_to_string(t.join("status")).unwrap();
        let comm = std::fs::read_to_string(t.join("comm")).unwrap();
        for key in ["CapEff:", "CapPrm:", "CapAmb:"] {
            let v = status
                .lines()
                .find(|l| l.starts_with(key))
                .map(|l| l.trim_start_matches(key).trim().to_owned())
                .unwrap();
            assert_eq!(v, "0000000000000000", "thread {} {key} {v}", comm.trim());
        }
        threads += 1;
    }
    println!("{threads} threads of xptp run, CapEff/CapPrm/CapAmb all 0");
    assert!(threads >= 2, "expected the control thread and a worker");
    // Management sockets: read-write root-only, read-only world-accessible.
    let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(xptp.uds()), 0o600);
    assert_eq!(mode(xptp.uds_ro()), 0o666);

    // It still serves: a ptp4l slave locks onto it without any capability left.
    let slave = Ptp4l::spawn(
        &p.ns,
        &p.ifname,
        &Ptp4lConfig::slave(Transport::L2, DelayMechanism::E2E),
    )
    .unwrap();
    slave.wait_for_slave(Duration::from_secs(15)).unwrap();
    assert!(
        xdp_attached(&x.ns, &x.ifname),
        "XDP not attached while running"
    );

    xptp.signal(Signal::KILL);
    let st = xptp.wait_exit(Duration::from_secs(5)).unwrap();
    println!("xptp run after SIGKILL: {st:?}");
    // The bpf_link goes with the last descriptor; give the kernel a moment.
    let t0 = Instant::now();
    while xdp_attached(&x.ns, &x.ifname) && t0.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let show = x.ns.ip(&["-d", "link", "show", "dev", &x.ifname]).unwrap();
    assert!(
        !xdp_attached(&x.ns, &x.ifname),
        "XDP left after SIGKILL:\n{show}"
    );
    assert!(
        ping(&p.ns, &x.ipv4.to_string()),
        "ping to the killed daemon's host fails"
    );
}

#[test]
fn worker_stall_and_death_exit_3() {
    if !require_root() {
        return;
    }
    let bin = bin();
    let lab = Lab::pair("fws").expect("build lab");
    let (x, p) = (lab.node(0), lab.node(1));
    for (aid, needle) in [
        ("--test-stall-worker-after", "made no pass for"),
        ("--test-kill-worker-after", "has ended"),
    ] {
        let started = Instant::now();
        let mut xptp = XptpRun::spawn(
            &x.ns,
            &bin,
            &[
                "-i",
                &x.ifname,
                "-2",
                "-E",
                "-S",
                "-m",
                "--clock",
                "virtual",
                "--heartbeat-timeout-ms",
                "300",
                "--heartbeat-exit-ms",
                "2000",
                aid,
                "2",
            ],
        )
        .unwrap();
        let st = xptp.wait_exit(Duration::from_secs(15)).unwrap();
        let text = xptp.log_text();
        println!(
            "{aid}: exit {:?} after {} ms",
            st.code(),
            started.elapsed().as_millis()
        );
        assert_eq!(st.code(), Some(3), "exit status; log:\n{text}");
        assert!(text.contains(needle), "log:\n{text}");
        if aid == "--test-stall-worker-after" {
            assert!(
                text.contains("to FAULTY on FAULT_DETECTED"),
                "a stalled worker's port must go FAULTY; log:\n{text}"
            );
        }
        assert!(text.contains("datapath failed"), "log:\n{text}");
        assert!(!xdp_attached(&x.ns, &x.ifname), "XDP left after exit 3");
        assert!(ping(&p.ns, &x.ipv4.to_string()));
    }
}
