//! Fault detection in `xptp run`: link state and the datapath workers' heartbeat.
//!
//! - **Link.** An rtnetlink socket subscribed to `RTMGRP_LINK` tells when any interface
//!   changes; the flags of the PTP interfaces are then read (SIOCGIFFLAGS), and also every
//!   [`LINK_POLL`] in case a notification was lost. A port whose interface is not
//!   `IFF_UP | IFF_RUNNING` (down, or no carrier) is faulty: FAULT_DETECTED (IEEE 1588-2019
//!   9.2.6.6); when the link returns, FAULT_CLEARED at once (9.2.6.7), as linuxptp does on a
//!   link-up notification. The XDP program and the AF_XDP socket stay attached and bound
//!   across a link flap, so nothing is re-created.
//! - **Heartbeat.** Each worker counts its passes (`loops`), idle or not. When the count of a
//!   worker has not moved for [`FaultConfig::stall_after`] while the control thread itself
//!   kept running, its ports go FAULTY and an error is logged; when it moves again they are
//!   cleared. A worker whose thread has ended, or that stays stalled for
//!   [`FaultConfig::exit_after`], is fatal: the daemon shuts down cleanly and exits with
//!   [`super::EXIT_DATAPATH_FAILED`] so that the service manager restarts it.
//!
//! A port stays FAULTY while any of its faults lasts: if the core's fault_reset_interval
//! re-initialises it meanwhile, the fault is raised again.
//!
//! Everything here is non-blocking and needs no capability once the sockets are open.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use xptp_datapath::fastpath::run::Datapath;

/// How often the interfaces' flags are read without a notification.
pub const LINK_POLL: Duration = Duration::from_millis(250);
/// How often the heartbeat is checked.
pub const HEARTBEAT_CHECK: Duration = Duration::from_millis(50);

/// Heartbeat limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultConfig {
    /// A worker that made no pass for this long is stalled: its ports go FAULTY.
    pub stall_after: Duration,
    /// A worker stalled this long is given up on: the daemon exits
    /// [`super::EXIT_DATAPATH_FAILED`].
    pub exit_after: Duration,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            stall_after: Duration::from_millis(500),
            exit_after: Duration::from_secs(5),
        }
    }
}

/// Test aids (`xptp run --test-stall-worker-after` / `--test-kill-worker-after`): make the
/// first worker stall or end after a delay, to exercise the heartbeat. Not for production.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestFault {
    Stall(Duration),
    Kill(Duration),
}

/// What the control loop must do for the faults seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Raise FAULT_DETECTED on the port (1-based) unless it is already FAULTY.
    Fault { port: u16 },
    /// Raise FAULT_CLEARED on the port (its last fault went away).
    Clear { port: u16 },
    /// A worker cannot recover: shut down and exit non-zero.
    Fatal(String),
}

#[derive(Debug)]
struct PortWatch {
    ifname: String,
    /// Worker index serving the port.
    dp: usize,
    link_up: bool,
}

#[derive(Debug)]
struct WorkerWatch {
    loops: u64,
    last_progress: Instant,
    stalled: bool,
    /// The worker thread's id (found by its name `xptp-dpN`), for its CPU time.
    tid: Option<u32>,
    /// Its CPU time (clock ticks) at the last progress.
    cpu_at_progress: Option<u64>,
    starved_logged: bool,
}

/// A thread's scheduler state letter and CPU time (utime + stime, clock ticks) from
/// /proc/self/task/TID/stat.
fn thread_sched(tid: u32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // After the parenthesised name: state, then fields 4.. (utime is field 14, stime 15).
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let state = f.first()?.chars().next()?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((state, utime + stime))
}

/// The id of this process's thread named `name`.
fn find_thread(name: &str) -> Option<u32> {
    for e in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            return e.file_name().to_str()?.parse().ok();
        }
    }
    None
}

/// Clock ticks per second (for /proc CPU times).
fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// Link and heartbeat monitor; see the module documentation.
#[derive(Debug)]
pub struct FaultMonitor {
    cfg: FaultConfig,
    netlink: Option<OwnedFd>,
    ioctl_sock: Option<OwnedFd>,
    ports: Vec<PortWatch>,
    workers: Vec<WorkerWatch>,
    next_link_poll: Instant,
    last_heartbeat_check: Instant,
    test: Option<(TestFault, Instant)>,
    fatal: bool,
}

impl FaultMonitor {
    /// Watches the interfaces `ifnames` (port order; `port_dp[i]` = worker of port i + 1) and
    /// `workers` datapath workers. Socket failures are logged and leave the link watch to
    /// polling (or off).
    pub fn new(
        cfg: FaultConfig,
        ifnames: &[String],
        port_dp: &[usize],
        workers: usize,
        test: Option<TestFault>,
    ) -> Self {
        let netlink = match open_link_notifications() {
            Ok(fd) => Some(fd),
            Err(e) => {
                tracing::warn!(
                    "link monitor: no rtnetlink notifications ({e}); polling the interfaces every {} ms",
                    LINK_POLL.as_millis()
                );
                None
            }
        };
        // SAFETY: plain socket(2); the descriptor is owned by the OwnedFd below.
        let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        let ioctl_sock = if s >= 0 {
            // SAFETY: `s` is a fresh descriptor nobody else owns.
            Some(unsafe { OwnedFd::from_raw_fd(s) })
        } else {
            tracing::warn!(
                "link monitor: cannot open a socket to read interface flags ({}); link faults are not detected",
                std::io::Error::last_os_error()
            );
            None
        };
        let now = Instant::now();
        let mut m = FaultMonitor {
            cfg,
            netlink,
            ioctl_sock,
            ports: ifnames
                .iter()
                .enumerate()
                .map(|(i, n)| PortWatch {
                    ifname: n.clone(),
                    dp: port_dp.get(i).copied().unwrap_or(0),
                    link_up: true,
                })
                .collect(),
            workers: (0..workers)
                .map(|g| WorkerWatch {
                    loops: 0,
                    last_progress: now,
                    stalled: false,
                    tid: find_thread(&format!("xptp-dp{g}")),
                    cpu_at_progress: None,
                    starved_logged: false,
                })
                .collect(),
            next_link_poll: now,
            last_heartbeat_check: now,
            test: test.map(|t| (t, now)),
            fatal: false,
        };
        if let Some(t) = test {
            tracing::warn!("TEST AID active: {t:?} of datapath worker 0 (never use in production)");
        }
        // Start from the real link state.
        for p in &mut m.ports {
            if let Some(sock) = &m.ioctl_sock {
                p.link_up = link_running(sock, &p.ifname).unwrap_or(true);
            }
        }
        m
    }

    /// A monitor that watches nothing (placeholder until the ports are known).
    pub fn disabled() -> Self {
        let now = Instant::now();
        FaultMonitor {
            cfg: FaultConfig::default(),
            netlink: None,
            ioctl_sock: None,
            ports: Vec::new(),
            workers: Vec::new(),
            next_link_poll: now,
            last_heartbeat_check: now,
            test: None,
            fatal: false,
        }
    }

    /// The heartbeat limits.
    pub fn config(&self) -> FaultConfig {
        self.cfg
    }

    /// Whether port `port` (1-based) has a fault now.
    pub fn is_faulty(&self, port: u16) -> bool {
        let Some(p) = usize::from(port)
            .checked_sub(1)
            .and_then(|i| self.ports.get(i))
        else {
            return false;
        };
        !p.link_up || self.workers.get(p.dp).is_some_and(|w| w.stalled)
    }

    /// One check (cheap; call every pass). `port_is_faulty(port)` tells whether the core
    /// already has the port FAULTY, so that a fault that outlived the core's
    /// fault_reset_interval is raised again.
    pub fn poll(
        &mut self,
        dps: &[Datapath],
        port_is_faulty: impl Fn(u16) -> bool,
    ) -> Vec<FaultAction> {
        let mut out = Vec::new();
        if self.fatal {
            return out;
        }
        let now = Instant::now();
        let before: Vec<bool> = (1..=self.ports.len() as u16)
            .map(|p| self.is_faulty(p))
            .collect();

        self.test_aid(dps, now);
        let notified = self.drain_notifications();
        if notified || now >= self.next_link_poll {
            self.next_link_poll = now + LINK_POLL;
            self.read_links();
        }
        if now.duration_since(self.last_heartbeat_check) >= HEARTBEAT_CHECK {
            if let Some(f) = self.heartbeat(dps, now) {
                self.fatal = true;
                out.push(FaultAction::Fatal(f));
                return out;
            }
        }

        for (i, was) in before.into_iter().enumerate() {
            let port = i as u16 + 1;
            let is = self.is_faulty(port);
            if is && (!was || !port_is_faulty(port)) {
                out.push(FaultAction::Fault { port });
            } else if was && !is {
                out.push(FaultAction::Clear { port });
            }
        }
        out
    }

    fn test_aid(&mut self, dps: &[Datapath], now: Instant) {
        let Some((t, since)) = self.test else { return };
        let (after, stall) = match t {
            TestFault::Stall(d) => (d, true),
            TestFault::Kill(d) => (d, false),
        };
        if now.duration_since(since) < after {
            return;
        }
        self.test = None;
        if let Some(dp) = dps.first() {
            if stall {
                tracing::warn!("TEST AID: stalling datapath worker 0");
                dp.test_stall_worker();
            } else {
                tracing::warn!("TEST AID: ending datapath worker 0's thread");
                dp.test_exit_worker();
            }
        }
    }

    /// Reads every pending link notification; true if there was any (or an overflow).
    fn drain_notifications(&mut self) -> bool {
        let Some(fd) = &self.netlink else {
            return false;
        };
        let mut any = false;
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: recv into a buffer we own, of the length given.
            let n = unsafe {
                libc::recv(
                    fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n > 0 {
                any = true;
                continue;
            }
            if n < 0 {
                match std::io::Error::last_os_error().raw_os_error() {
                    Some(libc::EAGAIN) => {}
                    Some(libc::EINTR) => continue,
                    // ENOBUFS: notifications were lost; re-read every interface.
                    Some(libc::ENOBUFS) => any = true,
                    _ => {}
                }
            }
            return any;
        }
    }

    fn read_links(&mut self) {
        let Some(sock) = &self.ioctl_sock else { return };
        for (i, p) in self.ports.iter_mut().enumerate() {
            let up = match link_running(sock, &p.ifname) {
                Ok(up) => up,
                Err(e) => {
                    if p.link_up {
                        tracing::error!(port = i + 1, "port {}: {}: {e}", i + 1, p.ifname);
                    }
                    false
                }
            };
            if up != p.link_up {
                p.link_up = up;
                if up {
                    tracing::info!(port = i + 1, ifname = %p.ifname, "port {}: link up", i + 1);
                } else {
                    tracing::warn!(port = i + 1, ifname = %p.ifname, "port {}: link down", i + 1);
                }
            }
        }
    }

    fn heartbeat(&mut self, dps: &[Datapath], now: Instant) -> Option<String> {
        let since_last = now.duration_since(self.last_heartbeat_check);
        self.last_heartbeat_check = now;
        // The control thread itself was not running (VM pause, SIGSTOP, overload): the
        // workers cannot be judged over that gap.
        let control_late = since_last > self.cfg.stall_after / 2;
        for (g, (w, dp)) in self.workers.iter_mut().zip(dps).enumerate() {
            let ports: Vec<String> = self
                .ports
                .iter()
                .enumerate()
                .filter(|(_, p)| p.dp == g)
                .map(|(i, _)| (i + 1).to_string())
                .collect();
            if dp.worker_finished() {
                let why = format!(
                    "datapath worker {g} (ports {}) has ended: its thread is gone",
                    ports.join(",")
                );
                tracing::error!("{why}; shutting down");
                return Some(why);
            }
            let loops = dp.worker_loops();
            let sched = w.tid.and_then(thread_sched);
            if loops != w.loops || control_late {
                w.loops = loops;
                w.last_progress = now;
                w.cpu_at_progress = sched.map(|(_, c)| c);
                w.starved_logged = false;
                if w.stalled {
                    w.stalled = false;
                    tracing::warn!(
                        "datapath worker {g} (ports {}) is making progress again",
                        ports.join(",")
                    );
                }
                continue;
            }
            let idle = now.duration_since(w.last_progress);
            // A runnable worker that got (almost) no CPU is starved by the scheduler (an
            // overloaded host), not stuck: a stuck one either spins (and burns CPU) or
            // sleeps / blocks. Starvation is judged only up to the exit limit.
            let starved = match (sched, w.cpu_at_progress) {
                (Some((state, cpu)), Some(c0)) => {
                    let ran_ms = cpu.saturating_sub(c0) * 1000 / ticks_per_second();
                    state == 'R' && u128::from(ran_ms) * 4 < self.cfg.stall_after.as_millis()
                }
                _ => false,
            };
            if starved && !w.stalled && idle >= self.cfg.stall_after {
                if !w.starved_logged {
                    w.starved_logged = true;
                    tracing::warn!(
                        "datapath worker {g} (ports {}) made no pass for {} ms but is waiting for a CPU (host overloaded; pin it with --cores)",
                        ports.join(","),
                        idle.as_millis()
                    );
                }
            } else if !w.stalled && idle >= self.cfg.stall_after {
                w.stalled = true;
                tracing::error!(
                    "datapath worker {g} (ports {}) made no pass for {} ms: its ports go FAULTY",
                    ports.join(","),
                    idle.as_millis()
                );
            }
            if idle >= self.cfg.exit_after {
                let why = format!(
                    "datapath worker {g} (ports {}) stalled for {} ms",
                    ports.join(","),
                    idle.as_millis()
                );
                tracing::error!("{why}; giving up: shutting down");
                return Some(why);
            }
        }
        None
    }
}

/// An rtnetlink socket subscribed to link notifications, non-blocking.
fn open_link_notifications() -> std::io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned by the OwnedFd below.
    let s = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if s < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `s` is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(s) };
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    sa.nl_groups = libc::RTMGRP_LINK as u32;
    // SAFETY: binds our socket to a sockaddr_nl of the size given.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}

/// Whether `ifname` is administratively up with carrier (IFF_UP and IFF_RUNNING).
pub fn link_running(sock: &OwnedFd, ifname: &str) -> std::io::Result<bool> {
    // SAFETY: ifreq is plain data; all-zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    let name = ifname.as_bytes();
    if name.len() >= ifr.ifr_name.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "interface name too long",
        ));
    }
    for (d, s) in ifr.ifr_name.iter_mut().zip(name) {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the NUL-terminated name and writes ifru_flags of our ifreq.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel filled the flags member of the union.
    let flags = i32::from(unsafe { ifr.ifr_ifru.ifru_flags });
    Ok(flags & libc::IFF_UP != 0 && flags & libc::IFF_RUNNING != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_running_and_unknown_interfaces_fail() {
        // SAFETY: plain socket(2).
        let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        assert!(s >= 0);
        // SAFETY: fresh descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(s) };
        assert!(link_running(&fd, "lo").unwrap());
        assert!(link_running(&fd, "no-such-if0").is_err());
        assert!(link_running(&fd, "a-name-longer-than-16").is_err());
    }

    #[test]
    fn link_notifications_socket_opens() {
        assert!(open_link_notifications().is_ok());
    }
}
