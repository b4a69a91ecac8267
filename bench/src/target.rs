//! Benchmark targets: the systems under test, each started fresh inside a lab namespace and
//! stopped after the scenario. A target is anything that implements [`Target`]; ptp4l 3.1.1
//! ([`Ptp4lTarget`]), the kernel bound ([`KernelTarget`]), xptp's fast path alone
//! ([`XptpTarget`]) and the `xptp run` daemon ([`daemon::XptpRunTarget`], two worker variants).
//!
//! Targets never touch the host clock: ptp4l always runs `free_running 1` with software
//! timestamping (the harness enforces it).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use xptp_datapath::wire::{ClockIdentity, PortIdentity};
use xptp_tests::linuxptp::{
    DelayMechanism, LogEvent, PortState, Ptp4l, Ptp4lConfig, Transport as PtpTransport,
};
use xptp_tests::netns::Netns;

use crate::kernel_bound::{KbConfig, KernelBound};
use crate::loadgen::{self, Wire};
use crate::Error;

pub mod daemon;

/// What a target must be while the scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Role {
    /// A master answering Delay_Req (E2E) and sending Sync/Announce.
    E2eMaster,
    /// A port answering Pdelay_Req (P2P) (and a master).
    P2pMaster,
    /// An end-to-end transparent clock between `ifnames[0]` and `ifnames[1]`.
    E2eTc,
    /// A peer-to-peer transparent clock between `ifnames[0]` and `ifnames[1]`.
    P2pTc,
}

/// Where and how a target runs.
#[derive(Debug)]
pub struct TargetEnv<'a> {
    /// The namespace (created fresh by the scenario; deleted after it).
    pub ns: &'a Netns,
    /// Interfaces: one for masters, two for transparent clocks.
    pub ifnames: Vec<String>,
    /// MAC and IPv4 address of `ifnames[0]`.
    pub mac: [u8; 6],
    /// MAC of every interface of `ifnames`, in order.
    pub macs: Vec<[u8; 6]>,
    pub ipv4: Ipv4Addr,
    pub wire: Wire,
    pub role: Role,
    pub domain: u8,
    /// Core to pin the target's busy thread/process to.
    pub core: Option<usize>,
}

/// Events a target reports after a run (stall test).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TargetEvents {
    /// Port state changes seen (from, to, at ms of the target's own log clock).
    pub state_changes: Vec<String>,
    /// Free-form facts (mode, program id, counters).
    pub notes: Vec<String>,
}

/// A system under test.
///
/// Life cycle per scenario: `start` in a fresh namespace → `wait_ready` → load (the scenario
/// polls `healthy` between steps and calls `restart` when it is not) → `stop`.
pub trait Target {
    /// Short name used in tables and JSON (`ptp4l`, `kernel`, `xptp`).
    fn name(&self) -> &'static str;
    /// Whether the target can play `role` at all (the kernel bound sends no Sync, for example).
    fn supports(&self, role: Role) -> bool;
    /// Whether, as a master, it also sends Sync and Announce (what the stall test watches).
    fn sends_sync(&self) -> bool {
        true
    }
    /// Starts serving in `env`.
    fn start(&mut self, env: &TargetEnv<'_>) -> Result<(), Error>;
    /// Blocks until the target serves (e.g. ptp4l reached MASTER), up to `timeout`.
    fn wait_ready(&mut self, timeout: Duration) -> Result<(), Error>;
    /// True while the target serves normally.
    fn healthy(&mut self) -> bool;
    /// Stops it and returns what it reported.
    fn stop(&mut self) -> Result<TargetEvents, Error>;
    /// One line describing the configuration (for the report).
    fn describe(&self) -> String;
}

/// The target named `name`.
pub fn by_name(name: &str) -> Result<Box<dyn Target>, Error> {
    match name {
        "ptp4l" => Ok(Box::new(Ptp4lTarget::default())),
        "kernel" => Ok(Box::new(KernelTarget::default())),
        "xptp" => Ok(Box::new(XptpTarget::default())),
        "xptp-run" => Ok(Box::new(daemon::XptpRunTarget::new(daemon::Worker::Sleep))),
        "xptp-run-1core" => Ok(Box::new(daemon::XptpRunTarget::new(
            daemon::Worker::SleepOneCore,
        ))),
        "xptp-run-busy" => Ok(Box::new(daemon::XptpRunTarget::new(daemon::Worker::Busy))),
        other => Err(Error::Setup(format!(
            "unknown target {other:?}: available are ptp4l, kernel, xptp, xptp-run, xptp-run-1core, xptp-run-busy"
        ))),
    }
}

fn pin_pid(pid: u32, core: usize) {
    // SAFETY: cpu_set_t is plain data; CPU_SET writes within it; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        let _ = libc::sched_setaffinity(
            pid as libc::pid_t,
            std::mem::size_of::<libc::cpu_set_t>(),
            &set,
        );
    }
}

/// ptp4l 3.1.1, software timestamping, free running.
#[derive(Debug, Default)]
pub struct Ptp4lTarget {
    p: Option<Ptp4l>,
    role: Option<Role>,
    core: Option<usize>,
}

impl Ptp4lTarget {
    /// The running instance, if any.
    pub fn instance(&self) -> Option<&Ptp4l> {
        self.p.as_ref()
    }
}

impl Target for Ptp4lTarget {
    fn name(&self) -> &'static str {
        "ptp4l"
    }
    fn supports(&self, _role: Role) -> bool {
        true
    }
    fn start(&mut self, env: &TargetEnv<'_>) -> Result<(), Error> {
        let transport = match env.wire {
            Wire::L2 => PtpTransport::L2,
            Wire::Udp4 => PtpTransport::UdpV4,
        };
        let mech = match env.role {
            Role::E2eMaster | Role::E2eTc => DelayMechanism::E2E,
            Role::P2pMaster | Role::P2pTc => DelayMechanism::P2P,
        };
        let mut cfg = Ptp4lConfig::master(transport, mech);
        cfg.domain_number = env.domain;
        // Sync and Announce at 8/s: the stall test counts them.
        cfg.log_sync_interval = -3;
        match env.role {
            Role::E2eTc | Role::P2pTc => {
                let ct = if env.role == Role::E2eTc {
                    "E2E_TC"
                } else {
                    "P2P_TC"
                };
                cfg.extra.push(("clock_type".into(), ct.into()));
                for ifname in env.ifnames.iter().skip(1) {
                    // A `[ifname]` section adds a port (ptp4l config syntax).
                    cfg.extra.push((format!("[{ifname}]"), String::new()));
                }
            }
            Role::E2eMaster | Role::P2pMaster => {}
        }
        let ifname = env.ifnames.first().map(String::as_str).unwrap_or("eth0");
        let p = Ptp4l::spawn(env.ns, ifname, &cfg)?;
        if let Some(c) = env.core {
            pin_pid(p.pid(), c);
        }
        self.p = Some(p);
        self.role = Some(env.role);
        self.core = env.core;
        Ok(())
    }
    fn wait_ready(&mut self, timeout: Duration) -> Result<(), Error> {
        let Some(p) = &self.p else {
            return Err(Error::Setup("ptp4l not started".into()));
        };
        match self.role {
            Some(Role::E2eTc | Role::P2pTc) => {
                std::thread::sleep(Duration::from_millis(500));
                Ok(())
            }
            _ => Ok(p.wait_for_state(PortState::Master, timeout)?),
        }
    }
    fn healthy(&mut self) -> bool {
        let Some(p) = &mut self.p else { return false };
        if !p.is_running() {
            return false;
        }
        match self.role {
            Some(Role::E2eTc | Role::P2pTc) => true,
            _ => matches!(
                p.port_state(),
                Ok(PortState::Master | PortState::GrandMaster)
            ),
        }
    }
    fn stop(&mut self) -> Result<TargetEvents, Error> {
        let mut ev = TargetEvents::default();
        if let Some(p) = self.p.take() {
            for l in p.log_events() {
                if let LogEvent::PortState {
                    from, to, event, ..
                } = l.event
                {
                    ev.state_changes.push(format!(
                        "{:.3}s {from:?}->{to:?} ({event})",
                        l.uptime_ms as f64 / 1000.0
                    ));
                }
            }
            drop(p);
        }
        Ok(ev)
    }
    fn describe(&self) -> String {
        "ptp4l 3.1.1, time_stamping software, free_running 1, logSyncInterval -3".into()
    }
}

/// The kernel bound: `kernel_bound.bpf.c` answering in XDP with XDP_TX (native mode).
#[derive(Debug, Default)]
pub struct KernelTarget {
    kb: Option<KernelBound>,
    last: Option<crate::kernel_bound::KbCounters>,
}

impl Target for KernelTarget {
    fn name(&self) -> &'static str {
        "kernel"
    }
    fn supports(&self, role: Role) -> bool {
        matches!(role, Role::E2eMaster | Role::P2pMaster)
    }
    fn sends_sync(&self) -> bool {
        false
    }
    fn start(&mut self, env: &TargetEnv<'_>) -> Result<(), Error> {
        let ifname = env
            .ifnames
            .first()
            .cloned()
            .unwrap_or_else(|| "eth0".into());
        let cfg = KbConfig {
            mac: env.mac,
            ipv4: env.ipv4,
            port_identity: PortIdentity::new(ClockIdentity::from_mac(env.mac), 1),
        };
        let ns = env.ns.name().to_string();
        let kb = loadgen::in_netns(Some(&ns), || Ok(KernelBound::attach(&ifname, &cfg)?))?;
        self.kb = Some(kb);
        Ok(())
    }
    fn wait_ready(&mut self, _timeout: Duration) -> Result<(), Error> {
        Ok(())
    }
    fn healthy(&mut self) -> bool {
        self.kb.is_some()
    }
    fn stop(&mut self) -> Result<TargetEvents, Error> {
        let mut ev = TargetEvents::default();
        if let Some(kb) = self.kb.take() {
            ev.notes.push(format!(
                "XDP {:?} mode, prog id {}",
                kb.link().mode,
                kb.link().prog_id
            ));
            if let Ok(c) = kb.counters() {
                ev.notes.push(format!("{c:?}"));
                self.last = Some(c);
            }
        }
        Ok(ev)
    }
    fn describe(&self) -> String {
        "XDP program answering in the driver with XDP_TX (native mode on veth)".into()
    }
}

/// Waits until `t` is healthy, restarting it in `env` (once) when it does not recover within
/// `grace`. Returns whether a restart happened.
pub fn ensure_healthy(
    t: &mut dyn Target,
    env: &TargetEnv<'_>,
    grace: Duration,
) -> Result<bool, Error> {
    let start = Instant::now();
    while start.elapsed() < grace {
        if t.healthy() {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    tracing::warn!(target = t.name(), "not healthy: restarting it");
    t.stop()?;
    t.start(env)?;
    t.wait_ready(Duration::from_secs(20))?;
    Ok(true)
}

/// xptp's AF_XDP fast path (`xptp_datapath::fastpath::run`): XDP steering and one AF_XDP
/// socket per interface, a busy-polling worker pinned to the target core answering Delay_Req /
/// Pdelay_Req (two-step) or forwarding as a transparent clock. Only the fast path runs (no BMCA,
/// no Sync/Announce), so it takes no part in the stall test: `xptp-run` ([`daemon`]) does.
#[derive(Debug, Default)]
pub struct XptpTarget {
    running: Option<xptp_datapath::fastpath::Running>,
}

impl Target for XptpTarget {
    fn name(&self) -> &'static str {
        "xptp"
    }
    fn supports(&self, _role: Role) -> bool {
        true
    }
    fn sends_sync(&self) -> bool {
        false
    }
    fn start(&mut self, env: &TargetEnv<'_>) -> Result<(), Error> {
        use xptp_datapath::fastpath::{self as fp, FastPathConfig, PortConfig, TcMode};
        use xptp_datapath::worker::IdlePolicy;
        let mut cfg = FastPathConfig {
            clock_identity: ClockIdentity::from_mac(env.mac),
            domain_number: env.domain,
            tai_to_ptp_ns: fp::run::realtime_minus_tai_ns(),
            tc_mode: match env.role {
                Role::E2eTc => TcMode::E2e,
                Role::P2pTc => TcMode::P2p,
                _ => TcMode::Off,
            },
            // Capacity and latency measure the responder itself: the flood protection's token
            // buckets (by default 256 Delay_Req/s per requester, which the generator's 256
            // identities would hit at ~65 k/s) are switched off here, and the report says so.
            rate_limits: fp::RateLimits::UNLIMITED,
            ..FastPathConfig::default()
        };
        for (i, (slot, mac)) in cfg.ports.iter_mut().zip(&env.macs).enumerate() {
            let ipv4 = (i == 0 && !env.ipv4.is_unspecified()).then_some(env.ipv4);
            *slot = PortConfig {
                master: env.role == Role::E2eMaster || env.role == Role::P2pMaster,
                p2p: matches!(env.role, Role::P2pMaster | Role::P2pTc),
                tc: matches!(env.role, Role::E2eTc | Role::P2pTc),
                ipv4,
                ..PortConfig::new(i as u16 + 1, *mac)
            };
        }
        let ifaces: Vec<&str> = env.ifnames.iter().map(String::as_str).collect();
        let mut opts = fp::RunOptions::new(&ifaces, cfg);
        opts.core = env.core;
        opts.idle = IdlePolicy::BusyPoll;
        if env.role == Role::P2pTc {
            opts.log_min_pdelay_req_interval = Some(-2);
        }
        let ns = env.ns.name().to_string();
        let running = loadgen::in_netns(Some(&ns), || {
            fp::run::start(opts)
                .map_err(|e| Error::Setup(format!("starting xptp's fast path: {e}")))
        })?;
        self.running = Some(running);
        Ok(())
    }
    fn wait_ready(&mut self, _timeout: Duration) -> Result<(), Error> {
        Ok(())
    }
    fn healthy(&mut self) -> bool {
        self.running.is_some()
    }
    fn stop(&mut self) -> Result<TargetEvents, Error> {
        let mut ev = TargetEvents::default();
        if let Some(r) = self.running.take() {
            ev.notes.push(format!("worker {:?}", r.worker_counters()));
            r.stop();
        }
        Ok(ev)
    }
    fn describe(&self) -> String {
        "xptp fast path: XDP steering + AF_XDP (copy mode), busy-polling pinned worker, rate limits off".into()
    }
}
