//! `xptp run` as a lab peer: the real binary started inside a namespace with its log (stdout
//! and stderr, `-m`) in a temporary directory, and parsers for the lines it prints: port state
//! changes and the once-per-second `master offset … path delay …` summary with its structured
//! fields.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::netns::{Netns, Proc};
use super::{Error, Result};

/// One summary line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// offsetFromMaster (ns).
    pub offset_ns: i64,
    /// Servo state: 0 unlocked, 1 jump, 2 locked.
    pub servo: u8,
    /// Frequency adjustment (ppb).
    pub freq_ppb: i64,
    /// meanPathDelay (ns).
    pub path_delay_ns: i64,
    /// The virtual clock's true error (ns), when the clock is virtual.
    pub true_error_ns: Option<i64>,
}

fn field(line: &str, key: &str) -> Option<i64> {
    let pat = format!(" {key}=");
    let at = line.find(&pat)? + pat.len();
    let rest = &line[at..];
    let end = rest.find(' ').unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Parses a summary line (`master offset -12 s2 freq -19800 path delay 9700 port=1
/// offset_ns=-12 ...`).
pub fn parse_summary(line: &str) -> Option<Summary> {
    if !line.contains("master offset ") {
        return None;
    }
    Some(Summary {
        offset_ns: field(line, "offset_ns")?,
        servo: u8::try_from(field(line, "servo")?).ok()?,
        freq_ppb: field(line, "freq_ppb")?,
        path_delay_ns: field(line, "path_delay_ns")?,
        true_error_ns: field(line, "true_error_ns"),
    })
}

/// Arguments of `xptp run` for a slave on a virtual clock that starts 50 µs off the host
/// clock (its truth) and locks within seconds (PI gains raised for the lab's short runs).
pub const VIRTUAL_SLAVE_ARGS: &[&str] = &[
    "--clock",
    "virtual",
    "--virtual-offset-ns",
    "50000",
    "--virtual-truth",
    "realtime",
    "--set",
    "pi_proportional_scale=0.7",
    "--set",
    "pi_integral_scale=0.3",
];

/// linuxptp's spelling of the EUI-64 clock identity xptp derives from a MAC
/// (`aa:bb:cc:dd:ee:ff` → `aabbcc.fffe.ddeeff`).
pub fn clock_identity_of(mac: &str) -> String {
    let h: String = mac.split(':').collect::<String>().to_lowercase();
    match (h.get(..6), h.get(6..12)) {
        (Some(a), Some(b)) => format!("{a}.fffe.{b}"),
        _ => format!("{h}?"),
    }
}

/// A running `xptp run`. Dropping it kills the process (SIGKILL); [`XptpRun::stop`] ends it
/// with SIGTERM as a user would.
#[derive(Debug)]
pub struct XptpRun {
    proc: Proc,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl XptpRun {
    /// Starts `xptp run ARGS` inside `ns`.
    pub fn spawn(ns: &Netns, binary: &Path, args: &[&str]) -> Result<XptpRun> {
        Self::spawn_in(ns, binary, args, &std::env::temp_dir())
    }

    /// [`XptpRun::spawn`] with its directory (log, sockets) created under `parent`.
    pub fn spawn_in(ns: &Netns, binary: &Path, args: &[&str], parent: &Path) -> Result<XptpRun> {
        Self::spawn_in_env(ns, binary, args, parent, &[])
    }

    /// [`XptpRun::spawn_in`] with environment variables for the daemon (e.g. `RUST_LOG`, when
    /// the caller's own would silence the lines this harness parses).
    pub fn spawn_in_env(
        ns: &Netns,
        binary: &Path,
        args: &[&str],
        parent: &Path,
        envs: &[(&str, &str)],
    ) -> Result<XptpRun> {
        let dir = tempfile::Builder::new()
            .prefix("xptp-run-")
            .tempdir_in(parent)
            .map_err(|source| Error::Io {
                path: parent.to_owned(),
                source,
            })?;
        let log = dir.path().join("xptp.log");
        // Management sockets in the temporary directory: the default /var/run/xptp is shared
        // by every namespace (and by any ptp4l on the host).
        let uds = format!("uds_address={}", dir.path().join("xptp.sock").display());
        let uds_ro = format!(
            "uds_ro_address={}",
            dir.path().join("xptp-ro.sock").display()
        );
        let mut all = vec!["run", "--set", &uds, "--set", &uds_ro];
        all.extend_from_slice(args);
        let proc = ns.spawn_logged_env(&binary.to_string_lossy(), &all, envs, &log)?;
        Ok(XptpRun { proc, dir, log })
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The summary lines so far.
    pub fn summaries(&self) -> Vec<Summary> {
        self.log_text().lines().filter_map(parse_summary).collect()
    }

    /// Waits until a log line contains `needle`; fails early if the process exits.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> Result<String> {
        let start = Instant::now();
        loop {
            if let Some(l) = self.log_text().lines().find(|l| l.contains(needle)) {
                return Ok(l.to_owned());
            }
            if let Some(st) = self.proc.try_wait()? {
                return Err(Error::StartFailed {
                    command: self.proc.command().to_owned(),
                    status: st,
                    output: self.log_text(),
                });
            }
            if start.elapsed() >= timeout {
                return Err(Error::Timeout {
                    what: format!("xptp run to log {needle:?}; its log:\n{}", self.log_text()),
                    waited_ms: start.elapsed().as_millis(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops it with SIGTERM and returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.proc
            .stop_with(rustix::process::Signal::TERM, Duration::from_secs(5))
    }

    /// The process id (of `ip netns exec`'s child: the `xptp` process itself).
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Sends `sig` (e.g. SIGKILL to test what an abrupt end leaves behind).
    pub fn signal(&self, sig: rustix::process::Signal) {
        self.proc.signal(sig)
    }

    /// Waits up to `timeout` for the process to exit by itself; its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        self.proc.wait_timeout(timeout)
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.proc.is_running()
    }

    /// The read-only management socket.
    pub fn uds_ro(&self) -> PathBuf {
        self.dir.path().join("xptp-ro.sock")
    }

    /// The read-write management socket (`pmc -u -s PATH`).
    pub fn uds(&self) -> PathBuf {
        self.dir.path().join("xptp.sock")
    }

    /// `xptp status --json` of this daemon, run with the `xptp` binary `bin`, parsed.
    pub fn status_json(&self, bin: &Path) -> Result<serde_json::Value> {
        let mut cmd = std::process::Command::new(bin);
        cmd.args(["status", "--json", "-s"]).arg(self.uds());
        let out = super::netns::run(&mut cmd)?;
        serde_json::from_slice(&out.stdout).map_err(|e| Error::Parse {
            tool: "xptp status --json",
            detail: format!("{e}: {}", String::from_utf8_lossy(&out.stdout)),
        })
    }

    /// The temporary directory (log, management sockets).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Path of the log (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The exit status, once it has exited.
    pub fn try_wait(&mut self) -> Result<Option<std::process::ExitStatus>> {
        self.proc.try_wait()
    }

    /// Lets it run on and keeps its directory after this value is gone (`xptp lab --keep`).
    /// Returns (pid, directory).
    pub fn keep(self) -> (u32, PathBuf) {
        let XptpRun { proc, dir, .. } = self;
        (proc.detach(), dir.keep())
    }
}

/// A port state change line (`port 1: LISTENING to SLAVE on … port=1 from=LISTENING
/// to=SLAVE`) → (port, new state).
pub fn parse_port_state(line: &str) -> Option<(u16, String)> {
    if !line.contains(" from=") {
        return None;
    }
    let port = u16::try_from(field(line, "port")?).ok()?;
    let at = line.find(" to=")? + 4;
    let state: String = line[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!state.is_empty()).then_some((port, state))
}

/// The frame count of a transparent clock's once-per-second line (`tc E2e: 2206 frames
/// forwarded forwarded=2206 …`).
pub fn parse_tc_forwarded(line: &str) -> Option<u64> {
    if !line.contains(" tc ") {
        return None;
    }
    u64::try_from(field(line, "forwarded")?).ok()
}

/// The UTC time of day of a log line (`2026-11-21T13:16:33.480455Z  INFO …`), in seconds since
/// midnight.
pub fn parse_time_of_day(line: &str) -> Option<f64> {
    let (_, rest) = line.split_once('T')?;
    let stamp = rest.split(['Z', ' ']).next()?;
    let mut it = stamp.split(':');
    let h: f64 = it.next()?.parse().ok()?;
    let m: f64 = it.next()?.parse().ok()?;
    let s: f64 = it.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_identities_from_macs() {
        assert_eq!(clock_identity_of("0A:f6:ad:30:d6:77"), "0af6ad.fffe.30d677");
        assert_eq!(clock_identity_of("0a:f6"), "0af6?");
    }

    #[test]
    fn summary_lines_parse() {
        let l = "2026-11-21T12:52:32Z  INFO master offset -770 s2 freq -17567 path delay 13142 \
                 port=1 offset_ns=-770 servo=2 freq_ppb=-17567 path_delay_ns=13142 true_error_ns=4358";
        assert_eq!(
            parse_summary(l),
            Some(Summary {
                offset_ns: -770,
                servo: 2,
                freq_ppb: -17567,
                path_delay_ns: 13142,
                true_error_ns: Some(4358)
            })
        );
        assert_eq!(parse_summary("port 1: LISTENING to MASTER"), None);
        assert_eq!(
            parse_time_of_day(l),
            Some(12.0 * 3600.0 + 52.0 * 60.0 + 32.0)
        );
    }

    #[test]
    fn state_tc_and_time_lines_parse() {
        let l = "2026-11-21T13:14:24.275938Z  INFO port 1: INITIALIZING to LISTENING on \
                 INIT_COMPLETE port=1 from=INITIALIZING to=LISTENING";
        assert_eq!(parse_port_state(l), Some((1, "LISTENING".to_owned())));
        assert_eq!(parse_port_state("master offset 5 s2 port=1"), None);
        let t = parse_time_of_day(l).unwrap();
        assert!((t - (13.0 * 3600.0 + 14.0 * 60.0 + 24.275938)).abs() < 1e-6);
        let tc = "2026-11-21T13:16:33.480455Z  INFO tc E2e: 2206 frames forwarded \
                  forwarded=2206 follow_ups=372 pdelay_resp=0";
        assert_eq!(parse_tc_forwarded(tc), Some(2206));
        assert_eq!(parse_tc_forwarded(l), None);
    }
}
