//! `xptp run`, the real daemon, as a target: the `xptp` binary started in the target namespace
//! as a grandmaster (virtual clock, software timestamps: the host clock is never touched),
//! its Delay_Req / Pdelay_Req answered by the AF_XDP fast path on its datapath worker and its
//! Sync / Announce sent by the protocol core through the same worker. Two variants:
//!
//! - `xptp-run`: the daemon's default without `--cores`: the worker sleeps in epoll when idle
//!   and runs SCHED_FIFO 40; the worker thread (`xptp-dp0`) is pinned to the target core, the
//!   control thread is left to the scheduler (as with `--cores`).
//! - `xptp-run-1core`: the same with every thread of the process pinned to the target core
//!   (ptp4l's whole process is): worker and control share one core.
//! - `xptp-run-busy`: `--cores <target core>`: the worker busy-polls pinned to the target core,
//!   the control thread is left to the scheduler.
//!
//! Flood protection is switched off (`delay_req_rate_limit 0` and friends), as for the `xptp`
//! fast-path target, so that both measure the responder and not its token buckets; the
//! description in the report says so.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use xptp_tests::xptp_run::{parse_port_state, XptpRun};

use super::{pin_pid, Role, Target, TargetEnv, TargetEvents};
use crate::loadgen::Wire;
use crate::Error;

/// Environment variable naming the `xptp` binary (else: next to `xptp-bench`).
pub const XPTP_BIN_ENV: &str = "XPTP_BIN";

/// The `xptp` binary: `$XPTP_BIN`, else `xptp` next to the running executable (or one level
/// up, for test executables in `deps/`).
pub fn xptp_binary() -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os(XPTP_BIN_ENV) {
        return Ok(p.into());
    }
    let exe = std::env::current_exe().map_err(|e| Error::Setup(format!("current_exe: {e}")))?;
    let mut dir = exe.parent();
    for _ in 0..2 {
        let Some(d) = dir else { break };
        let bin = d.join("xptp");
        if bin.is_file() {
            return Ok(bin);
        }
        dir = d.parent();
    }
    Err(Error::Setup(format!(
        "no xptp binary next to {}: build it (`cargo build [--release] -p xptp-control --bin xptp`) or set {XPTP_BIN_ENV}",
        exe.display()
    )))
}

/// Worker scheduling of an [`XptpRunTarget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worker {
    /// No `--cores`: sleeps in epoll when idle, SCHED_FIFO 40 (the daemon's default); the
    /// worker thread pinned to the target core.
    Sleep,
    /// [`Worker::Sleep`] with every thread pinned to the target core.
    SleepOneCore,
    /// `--cores N`: busy-polls pinned to the target core.
    Busy,
}

/// The `xptp run` daemon as a grandmaster.
#[derive(Debug)]
pub struct XptpRunTarget {
    worker: Worker,
    run: Option<XptpRun>,
    core: Option<usize>,
    /// Running as a transparent clock (no MASTER state to wait for).
    tc: bool,
}

impl XptpRunTarget {
    pub fn new(worker: Worker) -> Self {
        XptpRunTarget {
            worker,
            run: None,
            core: None,
            tc: false,
        }
    }

    /// The state of port 1 by the last state-change line of the log.
    fn port_state(&self) -> Option<String> {
        let r = self.run.as_ref()?;
        r.log_text()
            .lines()
            .rev()
            .filter_map(parse_port_state)
            .find(|(p, _)| *p == 1)
            .map(|(_, s)| s)
    }
}

/// Sets the threads of `pid` whose name starts with `prefix` (all: `""`) to `core`.
fn pin_threads(pid: u32, prefix: &str, core: usize) {
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for tid in rd
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|tid| {
            std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
                .is_ok_and(|c| c.starts_with(prefix))
        })
    {
        pin_pid(tid, core);
    }
}

impl Target for XptpRunTarget {
    fn name(&self) -> &'static str {
        match self.worker {
            Worker::Sleep => "xptp-run",
            Worker::SleepOneCore => "xptp-run-1core",
            Worker::Busy => "xptp-run-busy",
        }
    }
    fn supports(&self, role: Role) -> bool {
        // As a TC (`clock_type E2E_TC` / `P2P_TC`) the daemon forwards on its worker like the
        // fast-path target, with control alongside (link delays, management, status).
        matches!(
            role,
            Role::E2eMaster | Role::P2pMaster | Role::E2eTc | Role::P2pTc
        )
    }
    fn start(&mut self, env: &TargetEnv<'_>) -> Result<(), Error> {
        let bin = xptp_binary()?;
        let tc = matches!(env.role, Role::E2eTc | Role::P2pTc);
        let mut args: Vec<String> = Vec::new();
        let ifnames: Vec<String> = if env.ifnames.is_empty() {
            vec!["eth0".into()]
        } else {
            env.ifnames.clone()
        };
        for i in ifnames.into_iter().take(if tc { 2 } else { 1 }) {
            args.push("-i".into());
            args.push(i);
        }
        args.extend([
            match env.wire {
                Wire::L2 => "-2",
                Wire::Udp4 => "-4",
            }
            .into(),
            if matches!(env.role, Role::P2pMaster | Role::P2pTc) {
                "-P"
            } else {
                "-E"
            }
            .into(),
            "-S".into(),
            "-m".into(),
            "--clock".into(),
            "virtual".into(),
        ]);
        self.tc = tc;
        match env.role {
            Role::E2eTc => args.extend(["--set".into(), "clock_type=E2E_TC".into()]),
            Role::P2pTc => args.extend(["--set".into(), "clock_type=P2P_TC".into()]),
            _ => {}
        }
        // The intervals of the ptp4l target (Ptp4lConfig::master with logSyncInterval -3);
        // flood protection off (see the module comment).
        let sets = [
            "priority1=100".to_string(),
            format!("domainNumber={}", env.domain),
            "logAnnounceInterval=-2".into(),
            "announceReceiptTimeout=3".into(),
            "logSyncInterval=-3".into(),
            "logMinDelayReqInterval=-2".into(),
            "logMinPdelayReqInterval=-2".into(),
            "delay_req_rate_limit=0".into(),
            "delay_req_per_requester_rate_limit=0".into(),
            "pdelay_req_rate_limit=0".into(),
            "pdelay_req_per_requester_rate_limit=0".into(),
        ];
        for s in sets {
            args.push("--set".into());
            args.push(s);
        }
        if let (Worker::Busy, Some(c)) = (self.worker, env.core) {
            args.push("--cores".into());
            args.push(c.to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // The state-change lines are INFO: the bench's own RUST_LOG must not silence them.
        self.run = Some(XptpRun::spawn_in_env(
            env.ns,
            &bin,
            &args,
            &std::env::temp_dir(),
            &[("RUST_LOG", "info")],
        )?);
        self.core = env.core;
        Ok(())
    }
    fn wait_ready(&mut self, timeout: Duration) -> Result<(), Error> {
        let Some(r) = &mut self.run else {
            return Err(Error::Setup("xptp run not started".into()));
        };
        if self.tc {
            r.wait_for_line("fast path forwarding on the worker core", timeout)?;
        } else {
            r.wait_for_line("to MASTER on", timeout)?;
        }
        if let (Some(r), Some(c)) = (&self.run, self.core) {
            match self.worker {
                Worker::Sleep => pin_threads(r.pid(), "xptp-dp", c),
                Worker::SleepOneCore => pin_threads(r.pid(), "", c),
                Worker::Busy => {}
            }
        }
        Ok(())
    }
    fn healthy(&mut self) -> bool {
        let running = self.run.as_mut().is_some_and(XptpRun::is_running);
        running && (self.tc || self.port_state().as_deref() == Some("MASTER"))
    }
    fn stop(&mut self) -> Result<TargetEvents, Error> {
        let mut ev = TargetEvents::default();
        let Some(mut r) = self.run.take() else {
            return Ok(ev);
        };
        match xptp_binary().and_then(|b| Ok(r.status_json(&b)?)) {
            Ok(st) => {
                ev.notes.push(format!("workers {}", st["workers"]));
                let p = &st["ports"][0];
                for k in ["tx", "fast_path_tx", "rejected", "xdp"] {
                    ev.notes.push(format!("port 1 {k} {}", p[k]));
                }
            }
            Err(e) => ev.notes.push(format!("xptp status failed: {e}")),
        }
        let t0 = Instant::now();
        let status = r.stop();
        ev.notes.push(format!(
            "SIGTERM: {status} after {} ms",
            t0.elapsed().as_millis()
        ));
        for l in r.log_text().lines() {
            if let Some((port, to)) = parse_port_state(l) {
                let from = l
                    .split(" from=")
                    .nth(1)
                    .and_then(|s| s.split(' ').next())
                    .unwrap_or("?");
                ev.state_changes.push(format!("port {port} {from}->{to}"));
            }
        }
        Ok(ev)
    }
    fn describe(&self) -> String {
        match self.worker {
            Worker::Sleep => "xptp run (daemon) grandmaster, virtual clock, -S, AF_XDP copy mode; worker sleeps in epoll when idle (SCHED_FIFO 40, no --cores), worker thread pinned to the target core, control thread unpinned; flood protection off".into(),
            Worker::SleepOneCore => "xptp run (daemon) grandmaster, virtual clock, -S, AF_XDP copy mode; worker sleeps in epoll when idle (SCHED_FIFO 40, no --cores), every thread pinned to the target core; flood protection off".into(),
            Worker::Busy => "xptp run (daemon) grandmaster, virtual clock, -S, AF_XDP copy mode; --cores <target core>: worker busy-polls pinned, control thread unpinned; flood protection off".into(),
        }
    }
}
