//! Logging for `xptp run`, with ptp4l's knobs: `logging_level` / `-l N` (syslog levels 0–7),
//! `verbose` / `-m` (print to stdout) and `use_syslog` / `-q`. xptp has no syslog writer:
//! without `-m` lines go to stderr, which systemd's journal collects; `-q` is accepted.
//! `RUST_LOG` overrides the level.
//!
//! Lines are written by a thread of their own (`xptp-log`) from a bounded queue: the control
//! thread formats a line and hands it over, it never waits on write(2). A log file on a disk
//! under writeback pressure (or a slow pipe) blocked the control thread for 0.2-1 s at a time
//! in the 30 s flood test (tests/tests/flood_watchers.rs), and every Sync, Announce and
//! Follow_Up of that time left late. When the queue is full the line is dropped and counted;
//! the count is logged as soon as the writer catches up. [`flush`] waits for what is queued
//! (the daemon calls it before it returns).

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::LogConfig;

/// Maps a syslog level (ptp4l's `logging_level`) to the most verbose tracing level shown:
/// 0–3 (emerg…err) → ERROR, 4 (warning) → WARN, 5–6 (notice, info) → INFO, 7 (debug) →
/// DEBUG.
pub fn tracing_level(logging_level: u8) -> tracing::Level {
    match logging_level {
        0..=3 => tracing::Level::ERROR,
        4 => tracing::Level::WARN,
        5 | 6 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    }
}

/// Lines queued for the writer thread at most.
pub const LOG_QUEUE: usize = 4096;

/// Where the writer thread puts lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dest {
    Stdout,
    Stderr,
}

/// Lines handed over, written and dropped; the writer signals `done` after each line.
#[derive(Default)]
struct Progress {
    sent: AtomicU64,
    dropped: AtomicU64,
    written: Mutex<u64>,
    done: Condvar,
}

fn progress() -> &'static Progress {
    static P: OnceLock<Progress> = OnceLock::new();
    P.get_or_init(Progress::default)
}

/// The subscriber's writer: hands each formatted line to the writer thread.
#[derive(Clone)]
struct QueueWriter {
    tx: SyncSender<Vec<u8>>,
}

impl Write for QueueWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let p = progress();
        match self.tx.try_send(buf.to_vec()) {
            Ok(()) => {
                p.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                p.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for QueueWriter {
    type Writer = QueueWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn write_lines(rx: Receiver<Vec<u8>>, dest: Dest) {
    // It writes to descriptors it inherited and needs no capability: give them all up, as
    // the datapath workers do (capabilities are per thread; this one starts before the
    // daemon's own drop after setup).
    xptp_datapath::worker::drop_thread_capabilities();
    let p = progress();
    let mut reported = 0u64;
    for line in rx {
        let dropped = p.dropped.load(Ordering::Relaxed);
        let mut out: Box<dyn Write> = match dest {
            Dest::Stdout => Box::new(io::stdout().lock()),
            Dest::Stderr => Box::new(io::stderr().lock()),
        };
        if dropped > reported {
            let _ = writeln!(
                out,
                "xptp: {} log lines dropped: the log writer could not keep up",
                dropped - reported
            );
            reported = dropped;
        }
        let _ = out.write_all(&line);
        let _ = out.flush();
        drop(out);
        if let Ok(mut w) = p.written.lock() {
            *w += 1;
        }
        p.done.notify_all();
    }
}

/// Installs the global subscriber. Returns false when one was already installed (tests).
pub fn init(log: &LogConfig) -> bool {
    let level = tracing_level(log.logging_level);
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(level.as_str().to_ascii_lowercase()));
    let dest = if log.verbose {
        Dest::Stdout
    } else {
        Dest::Stderr
    };
    let (tx, rx) = sync_channel(LOG_QUEUE);
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .with_writer(QueueWriter { tx })
        .try_init()
        .is_ok();
    if installed {
        let spawned = std::thread::Builder::new()
            .name("xptp-log".into())
            .spawn(move || write_lines(rx, dest));
        if let Err(e) = spawned {
            eprintln!("xptp: cannot start the log writer thread: {e}");
        }
    }
    installed
}

/// Waits (at most `timeout`) until every line handed over so far is written.
pub fn flush(timeout: Duration) {
    let p = progress();
    let want = p.sent.load(Ordering::Relaxed);
    let Ok(w) = p.written.lock() else { return };
    let _ = p.done.wait_timeout_while(w, timeout, |w| *w < want);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_levels_map_like_ptp4l() {
        use tracing::Level;
        let got: Vec<Level> = (0..=7).map(tracing_level).collect();
        assert_eq!(
            got,
            [
                Level::ERROR,
                Level::ERROR,
                Level::ERROR,
                Level::ERROR,
                Level::WARN,
                Level::INFO,
                Level::INFO,
                Level::DEBUG
            ]
        );
    }
}
