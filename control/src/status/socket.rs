//! The status socket: a UNIX stream socket next to the management socket
//! (`<uds_address>.status`, mode 0666 like ptp4l's read-only socket: it can only be read).
//!
//! Protocol (one exchange per connection): the client sends the line `status\n`; the daemon
//! answers with one JSON [`Status`] document followed by `\n` and closes. Any other request
//! gets `{"error": "..."}`. `socat - UNIX-CONNECT:/var/run/xptp.status <<< status` works
//! as a client. The server runs on its own thread, reads only the [`StatusHub`] (asking the
//! control loop for a fresh snapshot, waiting at most [`FRESH_WAIT`]) and never blocks the
//! control loop.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{default_status_path, Status, StatusHub};
use crate::mgmt::uds::{DEFAULT_UDS_ADDRESS, PTP4L_UDS_ADDRESS};

/// How long a request waits for the control loop to publish a fresh snapshot.
pub const FRESH_WAIT: Duration = Duration::from_millis(300);
/// Per-connection read/write timeout.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Accept-poll period of the server thread (it also checks the stop flag then).
const POLL: Duration = Duration::from_millis(50);
/// Longest request line accepted.
const MAX_REQUEST: u64 = 256;
/// The request.
pub const REQUEST: &str = "status";

/// Why the status socket could not be served.
#[derive(Debug, thiserror::Error)]
pub enum StatusServerError {
    /// Another daemon answers on the path.
    #[error("status socket {0}: another xptp daemon is answering there; stop it or give this one another uds_address / --status-socket")]
    InUse(PathBuf),
    /// Socket or thread set-up failed.
    #[error("status socket {path}: {op}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// The running status server; dropping it stops the thread and removes the socket file.
#[derive(Debug)]
pub struct StatusServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StatusServer {
    /// Binds `path` (replacing a stale socket file) and serves `hub` on a thread.
    pub fn spawn(path: &Path, hub: Arc<StatusHub>) -> Result<Self, StatusServerError> {
        let io_err = |op, source| StatusServerError::Io {
            path: path.to_owned(),
            op,
            source,
        };
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                return Err(StatusServerError::InUse(path.to_owned()));
            }
            std::fs::remove_file(path).map_err(|e| io_err("removing a stale socket file", e))?;
        }
        let listener = UnixListener::bind(path).map_err(|e| io_err("bind", e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
            .map_err(|e| io_err("chmod 0666", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| io_err("set_nonblocking", e))?;
        let (stop, thread) =
            super::spawn_server("xptp-status", move |stop| serve(&listener, &hub, stop))
                .map_err(|e| io_err("spawning the thread", e))?;
        Ok(StatusServer {
            path: path.to_owned(),
            stop,
            thread: Some(thread),
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StatusServer {
    fn drop(&mut self) {
        // Release: pairs with the thread's Acquire load.
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(listener: &UnixListener, hub: &StatusHub, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((s, _)) => {
                if let Err(e) = answer(s, hub) {
                    tracing::debug!("status socket client: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) => {
                tracing::warn!("status socket accept: {e}");
                std::thread::sleep(POLL);
            }
        }
    }
}

fn answer(s: UnixStream, hub: &StatusHub) -> io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut line = String::new();
    BufReader::new((&s).take(MAX_REQUEST)).read_line(&mut line)?;
    let body = match line.trim() {
        REQUEST => match hub.fresh(FRESH_WAIT) {
            Some(st) => serde_json::to_string(&*st).map_err(io::Error::other)?,
            None => error_json("no status yet: the daemon is still starting"),
        },
        other => error_json(&format!(
            "unknown request {other:?}: send the line {REQUEST:?}"
        )),
    };
    let mut w = &s;
    w.write_all(body.as_bytes())?;
    w.write_all(b"\n")?;
    w.flush()
}

fn error_json(msg: &str) -> String {
    serde_json::json!({ "error": msg }).to_string()
}

/// Why `xptp status` got no status.
#[derive(Debug, thiserror::Error)]
pub enum StatusClientError {
    /// Nothing listens at the path.
    #[error("no xptp daemon at {path}: is `xptp run` running? (its status socket is <uds_address>.status, /var/run/xptp.status by default; pass -s PATH) ({source})")]
    NotRunning {
        /// Path tried.
        path: PathBuf,
        /// The connect error.
        #[source]
        source: io::Error,
    },
    /// Not allowed to connect.
    #[error("{path}: permission denied (the status socket is mode 0666; check the directory's permissions)")]
    Permission {
        /// Path tried.
        path: PathBuf,
    },
    /// The exchange failed.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The daemon answered with an error.
    #[error("the daemon at {path} answered: {msg}")]
    Daemon {
        /// Path.
        path: PathBuf,
        /// Its message.
        msg: String,
    },
    /// The answer is not a status document this client understands.
    #[error("{path}: unreadable answer ({source}); is this xptp the same version as the daemon?")]
    Decode {
        /// Path.
        path: PathBuf,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
}

/// `default` when it exists or `ptp4l` does not; else `ptp4l`.
fn default_or_ptp4l(default: PathBuf, ptp4l: PathBuf) -> PathBuf {
    if !default.exists() && ptp4l.exists() {
        ptp4l
    } else {
        default
    }
}

/// The status socket for `-s PATH`: PATH itself when it ends in `.status`; PATH.status when
/// PATH is a management socket (`uds_address`) with a status socket beside it. Without `-s`:
/// `/var/run/xptp.status` (beside xptp's default `uds_address`), or, when that does not
/// exist but `/var/run/ptp4l.status` does, that one (a daemon whose ptp4l.conf names ptp4l's
/// `uds_address`).
pub fn resolve_path(given: Option<&Path>) -> PathBuf {
    match given {
        None => default_or_ptp4l(
            default_status_path(Path::new(DEFAULT_UDS_ADDRESS)),
            default_status_path(Path::new(PTP4L_UDS_ADDRESS)),
        ),
        Some(p) if p.extension().is_some_and(|e| e == "status") => p.to_owned(),
        Some(p) => {
            let beside = default_status_path(p);
            if beside.exists() {
                beside
            } else {
                p.to_owned()
            }
        }
    }
}

/// Asks the daemon at `path` and returns its raw JSON answer (one line, checked to be a
/// status document rather than an error).
pub fn query_raw(path: &Path, timeout: Duration) -> Result<String, StatusClientError> {
    let s = UnixStream::connect(path).map_err(|source| match source.kind() {
        io::ErrorKind::PermissionDenied => StatusClientError::Permission {
            path: path.to_owned(),
        },
        _ => StatusClientError::NotRunning {
            path: path.to_owned(),
            source,
        },
    })?;
    let io_err = |source| StatusClientError::Io {
        path: path.to_owned(),
        source,
    };
    s.set_read_timeout(Some(timeout)).map_err(io_err)?;
    s.set_write_timeout(Some(timeout)).map_err(io_err)?;
    (&s).write_all(format!("{REQUEST}\n").as_bytes())
        .map_err(io_err)?;
    let mut body = String::new();
    (&s).read_to_string(&mut body).map_err(io_err)?;
    let v: serde_json::Value =
        serde_json::from_str(body.trim()).map_err(|source| StatusClientError::Decode {
            path: path.to_owned(),
            source,
        })?;
    if let Some(msg) = v.get("error").and_then(|m| m.as_str()) {
        return Err(StatusClientError::Daemon {
            path: path.to_owned(),
            msg: msg.to_owned(),
        });
    }
    Ok(body.trim().to_owned())
}

/// Asks the daemon at `path` for its status.
pub fn query(path: &Path, timeout: Duration) -> Result<Status, StatusClientError> {
    let raw = query_raw(path, timeout)?;
    serde_json::from_str(&raw).map_err(|source| StatusClientError::Decode {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_snapshots_and_refuses_a_second_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.status");
        let hub = StatusHub::new();
        let srv = StatusServer::spawn(&path, hub.clone()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666);
        // Nothing published yet: a clear error, not a hang.
        match query(&path, Duration::from_secs(5)) {
            Err(StatusClientError::Daemon { msg, .. }) => assert!(msg.contains("starting")),
            o => panic!("{o:?}"),
        }
        hub.publish(Status {
            pid: 42,
            format: 1,
            ..Status::default()
        });
        assert_eq!(query(&path, Duration::from_secs(5)).unwrap().pid, 42);
        // An unknown request is answered with an error document.
        let mut s = UnixStream::connect(&path).unwrap();
        s.write_all(b"reboot\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.contains("unknown request"), "{out}");
        assert!(matches!(
            StatusServer::spawn(&path, hub.clone()),
            Err(StatusServerError::InUse(_))
        ));
        drop(srv);
        assert!(!path.exists(), "socket file left behind");
        match query(&path, Duration::from_secs(1)) {
            Err(e @ StatusClientError::NotRunning { .. }) => {
                assert!(e.to_string().contains("is `xptp run` running?"), "{e}")
            }
            o => panic!("{o:?}"),
        }
        // A stale file (daemon killed) is replaced.
        std::fs::write(&path, b"").unwrap();
        let _srv = StatusServer::spawn(&path, hub).unwrap();
        assert_eq!(query(&path, Duration::from_secs(5)).unwrap().pid, 42);
    }

    #[test]
    fn paths_resolve_from_the_management_socket() {
        let dir = tempfile::tempdir().unwrap();
        let uds = dir.path().join("xptp");
        assert_eq!(resolve_path(Some(&uds)), uds);
        std::fs::write(default_status_path(&uds), b"").unwrap();
        assert_eq!(resolve_path(Some(&uds)), default_status_path(&uds));
        let st = dir.path().join("a.status");
        assert_eq!(resolve_path(Some(&st)), st);
        let ptp4l = dir.path().join("ptp4l.status");
        std::fs::write(&st, b"").unwrap();
        assert_eq!(default_or_ptp4l(st.clone(), ptp4l.clone()), st);
        let gone = dir.path().join("none.status");
        assert_eq!(default_or_ptp4l(gone.clone(), ptp4l.clone()), gone);
        std::fs::write(&ptp4l, b"").unwrap();
        assert_eq!(default_or_ptp4l(gone, ptp4l.clone()), ptp4l);
        assert_eq!(default_or_ptp4l(st.clone(), ptp4l), st);
        if !Path::new("/var/run/xptp.status").exists()
            && !Path::new("/var/run/ptp4l.status").exists()
        {
            assert_eq!(resolve_path(None), PathBuf::from("/var/run/xptp.status"));
        }
    }
}
