//! `xptp run` as a lab peer: the real binary started inside a namespace with its log (stdout
//! and stderr, `-m`) in a temporary directory, and parsers for the lines it prints: port state
//! changes and the once-per-second `master offset … path delay …` summary with its structured
//! fields.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::netns::{Netns, Proc};
use crate::{Error, Result};

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
        let dir = tempfile::Builder::new()
            .prefix("xptp-run-")
            .tempdir()
            .map_err(|source| Error::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        let log = dir.path().join("xptp.log");
        // Management sockets in the temporary directory: the default /var/run/ptp4l is shared
        // by every namespace (and by any ptp4l on the host).
        let uds = format!("uds_address={}", dir.path().join("xptp.sock").display());
        let uds_ro = format!(
            "uds_ro_address={}",
            dir.path().join("xptp-ro.sock").display()
        );
        let mut all = vec!["run", "--set", &uds, "--set", &uds_ro];
        all.extend_from_slice(args);
        let proc = ns.spawn_logged(&binary.to_string_lossy(), &all, &log)?;
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

    /// The temporary directory (log, management sockets).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
