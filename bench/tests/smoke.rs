//! CI smoke test of `xptp-bench --quick`: the run completes against ptp4l and the kernel bound,
//! both output files parse, and every target answered something. No assertion on speed.

use std::process::Command;

#[test]
fn quick_run_completes_and_every_target_answers() {
    if !xptp_tests::require_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let md = dir.path().join("r.md");
    let out = Command::new(env!("CARGO_BIN_EXE_xptp-bench"))
        .args([
            "run",
            "--quick",
            "--scenario",
            "capacity,latency",
            "--target",
            "ptp4l,kernel",
            "--wire",
            "l2",
            "--window",
            "0.5",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--markdown")
        .arg(&md)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "xptp-bench failed: {stderr}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let md = std::fs::read_to_string(&md).unwrap();
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
