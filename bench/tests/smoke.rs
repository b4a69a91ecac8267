//! CI smoke test of `xptp-bench --quick`: the run completes against ptp4l and the kernel bound,
//! both output files parse, and every target answered something. No assertion on speed.

use std::process::Command;

/// Runs `xptp-bench run --quick ARGS` with JSON and Markdown output; returns both, parsed /
/// read, and stderr.
fn quick_run(args: &[&str]) -> (serde_json::Value, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let md = dir.path().join("r.md");
    let out = Command::new(env!("CARGO_BIN_EXE_xptp-bench"))
        .args(["run", "--quick"])
        .args(args)
        .arg("--json")
        .arg(&json)
        .arg("--markdown")
        .arg(&md)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "xptp-bench failed: {stderr}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (v, std::fs::read_to_string(&md).unwrap(), stderr)
}

#[test]
fn quick_run_completes_and_every_target_answers() {
    if !xptp_tests::require_root() {
        return;
    }
    let (v, md, stderr) = quick_run(&[
        "--scenario",
        "capacity,latency",
        "--target",
        "ptp4l,kernel",
        "--wire",
        "l2",
        "--window",
        "0.5",
    ]);
    assert!(md.contains("## Delay_Req capacity"), "{md}");
    assert!(v["machine"]["kernel"]
        .as_str()
        .is_some_and(|k| !k.is_empty()));
    for target in ["ptp4l", "kernel"] {
        let cap = v["capacity"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["target"] == target)
            .unwrap_or_else(|| panic!("no capacity result for {target}: {stderr}"));
        let answered: u64 = cap["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["answered_rate"].as_f64().unwrap() as u64)
            .sum();
        assert!(answered > 0, "{target} answered nothing: {cap}");
        let lat = v["latency"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["target"] == target)
            .unwrap_or_else(|| panic!("no latency result for {target}"));
        assert!(
            lat["delay"]["acc"]["answered"].as_u64().unwrap() > 0,
            "{lat}"
        );
        assert!(
            lat["pdelay"]["acc"]["answered"].as_u64().unwrap() > 0,
            "{lat}"
        );
    }
}

/// The stall scenario, quick, against ptp4l and the `xptp run` daemon back to back: both
/// appear in the JSON and the Markdown with a flood that was sent and Syncs expected. Needs the
/// `xptp` binary next to this test (`cargo build -p xptp-control --bin xptp`, which
/// `cargo test --workspace` does). No assertion on numbers.
#[test]
fn quick_stall_runs_against_ptp4l_and_xptp_run() {
    if !xptp_tests::require_root() {
        return;
    }
    let (v, md, stderr) = quick_run(&[
        "--scenario",
        "stall",
        "--target",
        "ptp4l,xptp-run",
        "--wire",
        "l2",
        "--stall-rate",
        "100000",
    ]);
    assert!(md.contains("## Stall test"), "{md}");
    for target in ["ptp4l", "xptp-run"] {
        let st = v["stall"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["target"] == target)
            .unwrap_or_else(|| panic!("no stall result for {target}: {md}\n{stderr}"));
        assert!(st["flood"]["acc"]["sent"].as_u64().unwrap() > 0, "{st}");
        assert!(st["expected_syncs"].as_u64().unwrap() > 0, "{st}");
        assert!(st["expected_announces"].as_u64().unwrap() > 0, "{st}");
    }
}
