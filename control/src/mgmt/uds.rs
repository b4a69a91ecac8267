//! The local management transport: `SOCK_DGRAM` UNIX sockets that `pmc -u` talks to.
//!
//! [`UdsServer`] binds the read-write socket at `uds_address` (default `/var/run/xptp`, mode
//! 0600) and, unless disabled, a read-only socket at `uds_ro_address` (default
//! `/var/run/xptp.ro`, mode 0666) that answers GET and refuses SET and COMMAND with
//! NOT_SETABLE. linuxptp 3.1.1 has no read-only socket (later linuxptp has `uds_ro_address`,
//! which refuses with NOT_SUPPORTED); xptp's follows the same idea so unprivileged monitoring
//! tools can read the clock's state without being able to change it.
//!
//! Each datagram is one PTP management message; each answer goes back to the datagram's
//! source address (pmc binds its own socket, `/var/run/pmc.<pid>` or `-i PATH`). The sockets
//! are non-blocking: the daemon calls [`UdsServer::poll`] from its control loop (when
//! [`UdsServer::fds`] are readable, or on each turn) and applies the commands it returns. An
//! answer that finds the client's receive queue full (UNIX datagram queues hold 10 messages by
//! default and pmc does not wait between commands) is kept and sent on a later poll, for up to
//! a second; [`UdsServer::has_pending`] tells the daemon to poll again soon. Sending never
//! blocks the control loop. This module does not forward requests to PTP ports (boundaryHops
//! is answered locally only).

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::handler::{handle_management, Access};
use super::{ManagementCommand, ManagementView};

/// linuxptp's `uds_address` for xptp.
pub const DEFAULT_UDS_ADDRESS: &str = "/var/run/xptp";
/// xptp's read-only management socket.
pub const DEFAULT_UDS_RO_ADDRESS: &str = "/var/run/xptp.ro";
/// ptp4l's `uds_address` default: a ptp4l.conf may name it, and `xptp status` looks there
/// when nothing listens at xptp's default.
pub const PTP4L_UDS_ADDRESS: &str = "/var/run/ptp4l";

/// The read-only socket beside the management socket `uds` when `uds_ro_address` is not
/// set: `<uds_address>.ro` (`/var/run/xptp.ro` for the default).
pub fn default_ro_address(uds: &Path) -> PathBuf {
    let mut s = uds.as_os_str().to_owned();
    s.push(".ro");
    PathBuf::from(s)
}

/// Largest datagram read; a management message never comes near it, and a longer datagram is
/// counted as malformed.
const MAX_DATAGRAM: usize = 4096;
/// Datagrams handled per [`UdsServer::poll`] call, so that a flood cannot starve the control
/// loop.
const MAX_PER_POLL: usize = 64;
/// Answers waiting for room in a client's receive queue (a UNIX datagram socket holds only
/// `net.unix.max_dgram_qlen`, 10 by default, and pmc sends its commands without waiting).
const MAX_PENDING: usize = 256;
/// How long an answer waits for room before it is dropped.
const PENDING_TIMEOUT: Duration = Duration::from_secs(1);

/// Where and how to bind the management sockets.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UdsConfig {
    /// `uds_address`: the read-write socket.
    pub address: PathBuf,
    /// `uds_ro_address`: the read-only socket; `None` (an empty value in the configuration)
    /// disables it.
    pub ro_address: Option<PathBuf>,
    /// File mode of the read-write socket (default 0600: only its owner, root, may SET).
    pub mode: u32,
    /// File mode of the read-only socket (default 0666).
    pub ro_mode: u32,
}

impl Default for UdsConfig {
    fn default() -> Self {
        UdsConfig {
            address: PathBuf::from(DEFAULT_UDS_ADDRESS),
            ro_address: Some(PathBuf::from(DEFAULT_UDS_RO_ADDRESS)),
            mode: 0o600,
            ro_mode: 0o666,
        }
    }
}

/// Why a management socket could not be set up. Each message names the path and the fix.
#[derive(Debug, thiserror::Error)]
pub enum UdsError {
    #[error(
        "management socket {path}: directory {dir} does not exist; create it or set \
         uds_address/uds_ro_address to a path in an existing directory"
    )]
    DirectoryMissing { path: PathBuf, dir: PathBuf },
    #[error(
        "management socket {path}: permission denied; run xptp as root or set \
         uds_address/uds_ro_address to a path this user may create"
    )]
    PermissionDenied {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "management socket {path} is served by a running process (another xptp, or ptp4l); \
         stop it or set uds_address to another path"
    )]
    InUse { path: PathBuf },
    #[error(
        "{path} exists and is not a socket; not removing it: delete it or choose another path"
    )]
    NotASocket { path: PathBuf },
    #[error("management socket {path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
}

/// What the server did, for metrics.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct UdsCounters {
    /// Datagrams read (both sockets).
    pub received: u64,
    /// Answers sent.
    pub responses_sent: u64,
    /// SETs that produced a command.
    pub commands: u64,
    /// Datagrams that got no answer, by [`super::Ignored::reason`] (plus `oversized`).
    pub ignored: BTreeMap<&'static str, u64>,
    /// Answers that could not be sent (the client went away, or its queue stayed full for
    /// a second).
    pub send_failed: u64,
    /// Answers that found the client's queue full and were sent on a later poll.
    pub send_deferred: u64,
    /// Requests from an unbound socket, which cannot be answered.
    pub unaddressed_sender: u64,
}

#[derive(Debug)]
struct Endpoint {
    sock: UnixDatagram,
    path: PathBuf,
    access: Access,
}

impl Endpoint {
    fn bind(path: &Path, mode: u32, access: Access) -> Result<Self, UdsError> {
        remove_stale(path)?;
        let sock = UnixDatagram::bind(path).map_err(|e| bind_error(path, e))?;
        // From here on the file is ours: remove it again if anything below fails.
        let ep = Endpoint {
            sock,
            path: path.to_path_buf(),
            access,
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            UdsError::Io {
                path: path.to_path_buf(),
                op: "chmod",
                source: e,
            }
        })?;
        ep.sock.set_nonblocking(true).map_err(|e| UdsError::Io {
            path: path.to_path_buf(),
            op: "set non-blocking",
            source: e,
        })?;
        Ok(ep)
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn bind_error(path: &Path, e: io::Error) -> UdsError {
    match e.kind() {
        io::ErrorKind::NotFound => UdsError::DirectoryMissing {
            path: path.to_path_buf(),
            dir: path.parent().unwrap_or(Path::new("/")).to_path_buf(),
        },
        io::ErrorKind::PermissionDenied => UdsError::PermissionDenied {
            path: path.to_path_buf(),
            source: e,
        },
        io::ErrorKind::AddrInUse => UdsError::InUse {
            path: path.to_path_buf(),
        },
        _ => UdsError::Io {
            path: path.to_path_buf(),
            op: "bind",
            source: e,
        },
    }
}

/// Removes a socket file left by a process that is gone. A socket someone still serves is
/// left alone (connecting to it succeeds), and so is anything that is not a socket.
fn remove_stale(path: &Path) -> Result<(), UdsError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(bind_error(path, e)),
    };
    if !meta.file_type().is_socket() {
        return Err(UdsError::NotASocket {
            path: path.to_path_buf(),
        });
    }
    let probe = UnixDatagram::unbound().map_err(|e| UdsError::Io {
        path: path.to_path_buf(),
        op: "socket",
        source: e,
    })?;
    match probe.connect(path) {
        Ok(()) => Err(UdsError::InUse {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(UdsError::PermissionDenied {
            path: path.to_path_buf(),
            source: e,
        }),
        Err(_) => std::fs::remove_file(path).map_err(|e| bind_error(path, e)),
    }
}

/// The read-write and read-only management sockets (see the module docs).
#[derive(Debug)]
pub struct UdsServer {
    endpoints: Vec<Endpoint>,
    buf: Vec<u8>,
    counters: UdsCounters,
    /// Answers not yet delivered, in order: (endpoint index, client, message, queued at).
    pending: VecDeque<(usize, SocketAddr, Vec<u8>, Instant)>,
}

impl UdsServer {
    /// Binds the sockets of `cfg`, replacing stale socket files. On error nothing stays bound.
    pub fn bind(cfg: &UdsConfig) -> Result<Self, UdsError> {
        let mut endpoints = vec![Endpoint::bind(
            &cfg.address,
            cfg.mode,
            Access::UdsReadWrite,
        )?];
        if let Some(ro) = &cfg.ro_address {
            endpoints.push(Endpoint::bind(ro, cfg.ro_mode, Access::UdsReadOnly)?);
        }
        Ok(UdsServer {
            endpoints,
            buf: vec![0; MAX_DATAGRAM + 1],
            counters: UdsCounters::default(),
            pending: VecDeque::new(),
        })
    }

    /// The socket descriptors, to wait on for readability in the daemon's poll loop.
    pub fn fds(&self) -> Vec<RawFd> {
        self.endpoints.iter().map(|e| e.sock.as_raw_fd()).collect()
    }

    /// The bound paths: read-write first, then read-only if enabled.
    pub fn paths(&self) -> Vec<&Path> {
        self.endpoints.iter().map(|e| e.path.as_path()).collect()
    }

    pub fn counters(&self) -> &UdsCounters {
        &self.counters
    }

    /// True while answers wait for room in a client's queue: the daemon should call
    /// [`UdsServer::poll`] again soon (every few ms) even if no socket is readable.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Answers the datagrams waiting on both sockets from `view`, without blocking, and
    /// returns the commands of successful SETs.
    ///
    /// It stops after the first datagram that produced a command, so that a GET queued behind
    /// a SET is answered from the view after the daemon applied the change: the daemon applies
    /// the returned commands and calls `poll` again while it returns any.
    pub fn poll(&mut self, view: &dyn ManagementView) -> Vec<ManagementCommand> {
        let mut commands = Vec::new();
        let mut handled = 0;
        self.flush();
        for i in 0..self.endpoints.len() {
            while handled < MAX_PER_POLL && commands.is_empty() {
                let Some(ep) = self.endpoints.get(i) else {
                    break;
                };
                let (len, from) = match ep.sock.recv_from(&mut self.buf) {
                    Ok(x) => x,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        tracing::warn!(path = %ep.path.display(), error = %e, "management socket read failed");
                        break;
                    }
                };
                handled += 1;
                self.counters.received += 1;
                if len > MAX_DATAGRAM {
                    *self.counters.ignored.entry("oversized").or_default() += 1;
                    continue;
                }
                let request = self.buf.get(..len).unwrap_or(&[]);
                let out = handle_management(request, view, ep.access);
                if let Some(why) = out.ignored {
                    tracing::debug!(reason = why.reason(), "management request ignored");
                    *self.counters.ignored.entry(why.reason()).or_default() += 1;
                    continue;
                }
                if let Some(c) = out.command {
                    self.counters.commands += 1;
                    commands.push(c);
                }
                if from.is_unnamed() {
                    self.counters.unaddressed_sender += 1;
                    continue;
                }
                let now = Instant::now();
                for m in out.responses {
                    if self.pending.len() >= MAX_PENDING {
                        self.pending.pop_front();
                        self.counters.send_failed += 1;
                    }
                    self.pending.push_back((i, from.clone(), m, now));
                }
                self.flush();
            }
        }
        commands
    }

    /// Sends queued answers in order until one finds its client's queue full.
    fn flush(&mut self) {
        let now = Instant::now();
        while let Some((i, to, msg, since)) = self.pending.front() {
            let Some(ep) = self.endpoints.get(*i) else {
                self.pending.pop_front();
                continue;
            };
            match ep.sock.send_to_addr(msg, to) {
                Ok(_) => self.counters.responses_sent += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if now.duration_since(*since) < PENDING_TIMEOUT {
                        self.counters.send_deferred += 1;
                        return;
                    }
                    tracing::debug!("management answer dropped: client queue full for 1 s");
                    self.counters.send_failed += 1;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "management answer not delivered");
                    self.counters.send_failed += 1;
                }
            }
            self.pending.pop_front();
        }
    }
}
