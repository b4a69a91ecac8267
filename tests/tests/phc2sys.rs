//! The phc2sys task of `xptp run` for real, without touching the machine's clock: the
//! daemon's virtual clock (a free-running grandmaster clock with a 20 ppm oscillator error)
//! is the source, and a second virtual clock keeping UTC (`--phc2sys-target virtual`,
//! started 1 ms off with a 50 ppm oscillator error) is the target. The task runs on its own
//! thread at 4 Hz once the clock is grandmaster (phc2sys_wait_sync); `xptp status --json` reports the target's true error against the source
//! (minus the automatic −37 s), which must converge and stay below a bound; the log must
//! carry phc2sys's line and the metrics endpoint the phc2sys gauges. A second test checks
//! that `--phc2sys` with the virtual clock and a real target is refused at start-up with the
//! fix, and that `--phc-set-from-system` is refused for the virtual clock and for a
//! slaveOnly clock, each with its reason. Needs root and the `xptp` binary (skips without root, fails under
//! XPTP_REQUIRE_ROOT=1).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use xptp_tests::golden::xptp_binary;
use xptp_tests::netns::{require_root, Lab};
use xptp_tests::xptp_run::XptpRun;

/// Bound on |true error| once locked (ns). Measured on 2 busy vCPUs: p50 6 ns, max 11 ns (the
/// test prints its figures); the bound leaves room for a read bracket stretched by
/// preemption (the narrowest of 5 readings is kept).
const LOCKED_BOUND_NS: i64 = 1_000;
/// How long the locked error is sampled.
const SAMPLE_FOR: Duration = Duration::from_secs(20);

fn status_json(bin: &Path, socket: &Path) -> Option<Value> {
    let out = Command::new(bin)
        .args(["status", "--json", "-s"])
        .arg(socket)
        .output()
        .expect("run xptp status");
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// A lab pair and `xptp run -i IFACE -2 -S -m --clock virtual EXTRA...` on its first node
/// (None without root).
fn start(tag: &str, extra: &[&str]) -> Option<(std::path::PathBuf, Lab, XptpRun)> {
    if !require_root() {
        return None;
    }
    let bin = xptp_binary().unwrap_or_else(|| {
        panic!("the xptp binary is not built: run `cargo build -p xptp-control --bin xptp` (or set XPTP_BIN)")
    });
    let lab = Lab::pair(tag).expect("build lab");
    let m = lab.node(0);
    let mut args = vec!["-i", &m.ifname, "-2", "-S", "-m", "--clock", "virtual"];
    args.extend_from_slice(extra);
    let xptp = XptpRun::spawn(&m.ns, &bin, &args).unwrap();
    Some((bin, lab, xptp))
}

#[test]
fn phc2sys_disciplines_a_virtual_target_to_the_virtual_clock() {
    let Some((bin, lab, mut xptp)) = start(
        "p2s",
        &[
            "--virtual-freq-ppb",
            "20000",
            "--phc2sys",
            "--phc2sys-target",
            "virtual",
            "--phc2sys-rate",
            "4",
            "--phc2sys-virtual-offset-ns",
            "1000000",
            "--phc2sys-virtual-freq-ppb",
            "50000",
            "--metrics",
        ],
    ) else {
        return;
    };
    let line = xptp
        .wait_for_line("phc2sys: virtual follows virtual", Duration::from_secs(15))
        .unwrap();
    assert!(
        line.contains("clock_gettime") && line.contains("4 Hz"),
        "{line}"
    );
    let sock = xptp.uds();

    // Convergence: from the first update to |true error| < 1 µs.
    let start = Instant::now();
    let mut first_update = None;
    let converged = loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "phc2sys never converged; log:\n{}",
            xptp.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
        let Some(v) = status_json(&bin, &sock) else {
            continue;
        };
        let p = &v["phc2sys"];
        if p["updates"].as_u64().unwrap_or(0) > 0 && first_update.is_none() {
            first_update = Some(Instant::now());
        }
        let te = p["true_error_ns"].as_i64();
        if p["state"] == "s2" && te.is_some_and(|e| e.abs() < 1_000) {
            break first_update.map(|t| t.elapsed()).unwrap_or_default();
        }
    };

    // Locked: sample every update's true error for SAMPLE_FOR.
    let mut errs = Vec::new();
    let mut last_updates = 0;
    let mut last = Value::Null;
    let t0 = Instant::now();
    while t0.elapsed() < SAMPLE_FOR {
        std::thread::sleep(Duration::from_millis(125));
        let Some(v) = status_json(&bin, &sock) else {
            continue;
        };
        let p = &v["phc2sys"];
        let n = p["updates"].as_u64().unwrap_or(0);
        if n != last_updates {
            last_updates = n;
            if let Some(te) = p["true_error_ns"].as_i64() {
                errs.push(te);
            }
        }
        last = v;
    }
    let p = &last["phc2sys"];
    assert_eq!(p["source"], "virtual");
    assert_eq!(p["target"], "virtual");
    assert_eq!(p["method"], "clock_gettime");
    assert_eq!(p["sync_offset_s"], -37);
    assert_eq!(p["state"], "s2", "{p:#}");
    assert_eq!(p["errors"], 0, "{p:#}");
    // Target 50 ppm fast, source 20 ppm fast: the target must run (1+20e-6)/(1+50e-6) − 1.
    let want_ppb = ((1.0 + 20e-6) / (1.0 + 50e-6) - 1.0) * 1e9;
    let freq = p["freq_ppb"].as_f64().unwrap();
    assert!(
        (freq - want_ppb).abs() < 500.0,
        "freq {freq} ppb, want {want_ppb:.0}"
    );

    let mut abs: Vec<i64> = errs.iter().map(|e| e.abs()).collect();
    abs.sort_unstable();
    assert!(abs.len() >= 40, "only {} locked samples", abs.len());
    let max = *abs.last().unwrap();
    let p99 = abs[(abs.len() * 99 / 100).min(abs.len() - 1)];
    let p50 = abs[abs.len() / 2];
    let rms = (errs.iter().map(|e| (*e as f64).powi(2)).sum::<f64>() / errs.len() as f64).sqrt();
    println!(
        "phc2sys virtual->virtual: converged to <1 us {:.1} s after the first update; locked {} samples: |TE| p50 {p50} ns, p99 {p99} ns, max {max} ns, rms {rms:.0} ns; freq {freq:+.0} ppb (want {want_ppb:+.0})",
        converged.as_secs_f64(),
        errs.len()
    );
    assert!(
        max < LOCKED_BOUND_NS,
        "locked |true error| reached {max} ns (p99 {p99}): {errs:?}"
    );

    // phc2sys's log line, and the step it made from 1 ms.
    let log = xptp.log_text();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("virtual phc offset"))
        .collect();
    assert!(
        lines.iter().any(|l| l.contains(" s1 freq ")),
        "no step line:\n{log}"
    );
    assert!(
        lines.iter().filter(|l| l.contains(" s2 freq ")).count() >= 40,
        "too few locked lines:\n{log}"
    );
    assert!(lines.iter().all(|l| l.contains(" delay ")), "{lines:?}");
    println!("last phc2sys line: {}", lines.last().unwrap_or(&""));

    // The metrics endpoint (loopback inside the namespace) carries the phc2sys gauges.
    let text = lab
        .node(0)
        .ns
        .run("curl", &["-sS", "http://127.0.0.1:9184/metrics"])
        .expect("curl the metrics endpoint (apt-get install curl)");
    let labels = r#"{source="virtual",target="virtual"}"#;
    for want in [
        format!("xptp_phc2sys_state{labels} 2"),
        format!("xptp_phc2sys_offset_ns{labels} "),
        format!("xptp_phc2sys_frequency_ppb{labels} "),
        format!("xptp_phc2sys_true_error_ns{labels} "),
    ] {
        assert!(text.contains(&want), "no {want:?} in:\n{text}");
    }

    // The table shows the block.
    let out = Command::new(&bin)
        .args(["status", "-s"])
        .arg(&sock)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("phc2sys: virtual follows virtual") && table.contains("s2 (locked)"),
        "{table}"
    );
    let st = xptp.stop();
    assert!(
        st.success(),
        "xptp run exited with {st}; log:\n{}",
        xptp.log_text()
    );
    assert!(xptp.log_text().contains("phc2sys stopped:"));
}

#[test]
fn phc2sys_from_the_virtual_clock_to_a_real_clock_is_refused() {
    let Some((_bin, _lab, mut xptp)) = start("p2r", &["--phc2sys"]) else {
        return;
    };
    let st = xptp.wait_exit(Duration::from_secs(20)).unwrap();
    let log = xptp.log_text();
    assert_eq!(st.code(), Some(1), "{log}");
    assert!(
        log.contains("phc2sys: the source would be the virtual clock")
            && log.contains("phc2sys_target CLOCK_REALTIME is not steered")
            && log.contains("use clock_source phc"),
        "{log}"
    );
}

#[test]
fn phc_set_from_system_is_refused_without_a_grandmaster_capable_phc() {
    for (tag, extra, want) in [
        (
            "psv",
            &["--phc-set-from-system"][..],
            "phc_set_from_system refused: clock_source virtual has no PHC to set",
        ),
        (
            "pss",
            &["--phc-set-from-system", "-s"][..],
            "phc_set_from_system refused: this clock is slaveOnly",
        ),
    ] {
        let Some((_bin, _lab, mut xptp)) = start(tag, extra) else {
            return;
        };
        let st = xptp.wait_exit(Duration::from_secs(20)).unwrap();
        let log = xptp.log_text();
        assert_eq!(st.code(), Some(1), "{log}");
        assert!(log.contains(want), "want {want:?} in:\n{log}");
    }
}
