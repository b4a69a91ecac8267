//! `scripts/lab`, the README's first command, end to end: it exits 0, ends with xptp's decode
//! summary (Sync, Follow_Up, Announce, Delay_Req counted, nothing malformed), and leaves none
//! of its namespaces behind — also when interrupted with Ctrl-C. Needs root (skips otherwise,
//! fails under XPTP_REQUIRE_ROOT=1).
//!
//! The script normally builds a release xptp; here it gets the debug binary the test run
//! already built (`XPTP_BIN`), or builds the debug profile (`XPTP_LAB_PROFILE=dev`) when there is
//! none, so the test adds no release build to CI.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};
use xptp_tests::golden::{xptp_binary, XPTP_BIN_ENV};
use xptp_tests::netns::leftover_namespaces;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/lab")
}

/// Starts `scripts/lab args` with stdout and stderr piped; returns the child and a channel of
/// its stdout lines.
fn start_lab(
    args: &[&str],
) -> (
    Child,
    mpsc::Receiver<String>,
    std::thread::JoinHandle<String>,
) {
    let mut cmd = Command::new("bash");
    cmd.arg(script()).args(args);
    match xptp_binary() {
        Some(bin) => {
            cmd.env(XPTP_BIN_ENV, bin);
        }
        None => {
            cmd.env_remove(XPTP_BIN_ENV).env("XPTP_LAB_PROFILE", "dev");
        }
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run scripts/lab");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    (child, rx, err)
}

/// Waits up to `timeout` for the script to exit; on timeout it is terminated (its trap cleans
/// up) and the test fails.
fn wait(child: &mut Child, timeout: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > timeout {
            signal(child, Signal::TERM);
            let st = child.wait().unwrap();
            panic!("scripts/lab still running after {timeout:?}; terminated ({st})");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: Signal) {
    let pid = Pid::from_raw(child.id() as i32).unwrap();
    let _ = kill_process(pid, sig);
}

/// The namespaces scripts/lab names after its own pid.
fn lab_namespaces(pid: u32) -> [String; 2] {
    [
        format!("xptp-lab-{pid}-master"),
        format!("xptp-lab-{pid}-slave"),
    ]
}

fn assert_gone(names: &[String]) {
    let left = leftover_namespaces().unwrap();
    for n in names {
        assert!(!left.contains(n), "scripts/lab left namespace {n} behind");
    }
}

/// `summary: 87 frames, 87 PTP messages (Announce 17, Delay_Req 16, ...), 0 non-PTP skipped,
/// 0 malformed` → (count per type, malformed).
fn parse_summary(line: &str) -> Option<(Vec<(String, u64)>, u64)> {
    let rest = line.strip_prefix("summary: ")?;
    let open = rest.find('(')?;
    let close = rest.rfind(')')?;
    let counts = rest[open + 1..close]
        .split(", ")
        .filter_map(|kv| {
            let (k, v) = kv.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect();
    let malformed = rest[close..]
        .split(", ")
        .find_map(|p| p.strip_suffix(" malformed"))?
        .trim()
        .parse()
        .ok()?;
    Some((counts, malformed))
}

#[test]
fn summary_parser() {
    let (c, m) = parse_summary(
        "summary: 9 frames, 9 PTP messages (Announce 3, Sync 4, Follow_Up 2), 0 non-PTP \
         skipped, 1 malformed",
    )
    .unwrap();
    assert_eq!(c[1], ("Sync".to_owned(), 4));
    assert_eq!(m, 1);
    assert_eq!(parse_summary("lab: nothing"), None);
}

#[test]
fn lab_script_runs_end_to_end_and_cleans_up() {
    if !xptp_tests::require_root() {
        return;
    }
    let (mut child, rx, err) = start_lab(&["--seconds", "4"]);
    let names = lab_namespaces(child.id());
    // A debug build from scratch, when there is no binary yet, can take minutes on 2 cores.
    let status = wait(&mut child, Duration::from_secs(600));
    let stdout: Vec<String> = rx.try_iter().collect();
    let stderr = err.join().unwrap();
    let all = stdout.join("\n");
    assert!(
        status.success(),
        "scripts/lab failed ({status}):\n{all}\nstderr:\n{stderr}"
    );
    // It used the namespaces we check for.
    assert!(
        stdout
            .iter()
            .any(|l| l.contains(&names[0]) && l.contains(&names[1])),
        "{all}"
    );
    assert!(
        stdout
            .iter()
            .any(|l| l == "lab: tshark: 0 malformed/error frames"),
        "{all}"
    );
    // It ends with the decoder's per-message summary.
    let last = stdout.last().map(String::as_str).unwrap_or("");
    let (counts, malformed) =
        parse_summary(last).unwrap_or_else(|| panic!("last line is not a summary: {last:?}"));
    assert_eq!(malformed, 0, "{last}");
    for t in ["Sync", "Follow_Up", "Announce", "Delay_Req", "Delay_Resp"] {
        let n = counts.iter().find(|(k, _)| k == t).map_or(0, |(_, n)| *n);
        assert!(n > 0, "no {t} in the decode summary: {last}");
    }
    assert_gone(&names);
}

#[test]
fn lab_script_cleans_up_when_interrupted() {
    if !xptp_tests::require_root() {
        return;
    }
    let (mut child, rx, err) = start_lab(&["--seconds", "30", "--transport", "UDPv4"]);
    let names = lab_namespaces(child.id());
    // Interrupt once both daemons run and the capture is under way.
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) => {
                let up = l.starts_with("lab: slave reached SLAVE");
                seen.push(l);
                if up {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("scripts/lab ended early:\n{}", seen.join("\n"))
            }
        }
        assert!(
            Instant::now() < deadline,
            "no SLAVE line:\n{}",
            seen.join("\n")
        );
    }
    let live = leftover_namespaces().unwrap();
    assert!(
        names.iter().all(|n| live.contains(n)),
        "lab namespaces {names:?} not found while running: {live:?}"
    );
    signal(&child, Signal::INT);
    let status = wait(&mut child, Duration::from_secs(20));
    let stderr = err.join().unwrap();
    assert_eq!(status.code(), Some(130), "{status}; stderr:\n{stderr}");
    assert!(stderr.contains("interrupted, cleaning up"), "{stderr}");
    assert_gone(&names);
}
