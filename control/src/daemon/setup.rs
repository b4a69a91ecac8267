//! Start-up of `xptp run`: the configuration (ptp4l flags, `--set`, `--clock`, profile,
//! file), the host checks (capabilities, memlock, AF_XDP, interfaces), the clock, the port
//! addresses, the datapath workers (XDP steering + one AF_XDP socket per port on queue 0,
//! pinned per `--cores`, the fast path as their hook) and the protocol instance. Everything
//! that can fail fails here, with the cause and the fix, before the control loop starts.

use std::time::Duration;

use rand::SeedableRng;
use xptp_datapath::fastpath::config::{
    FastPathConfig, PdelayMode, PortConfig as FpPort, TcMode, MAX_PORTS,
};
use xptp_datapath::fastpath::run::{self as fprun, Datapath, DatapathOptions, PortIface, Running};
use xptp_datapath::handoff::PortId;
use xptp_datapath::wire::ClockIdentity;
use xptp_datapath::xsk::{self, XskConfig};
use xptp_ebpf::{preflight, AttachMode};

use super::clock::{DaemonClock, VirtualOptions};
use super::transport::PortNet;
use super::{DaemonError, RunArgs, XdpModeArg};
use crate::clock::ClockSource;
use crate::config::{flag_overrides, ClockType, Config, LoadOptions, TimeStampingMode};
use crate::datasets::DelayMechanism;
use crate::mgmt::uds::{UdsConfig, UdsServer};
use crate::ptp::{InstanceConfig, PtpInstance};

/// The smallest TX timestamp timeout used: the datapath reports software TX timestamps from
/// the worker, and VM scheduling stalls of over a millisecond were measured here.
pub const MIN_TX_TIMESTAMP_TIMEOUT: Duration = Duration::from_millis(10);

/// Loads the configuration the way ptp4l does: profile, file, then the command line.
pub fn load_config(args: &RunArgs) -> Result<Config, DaemonError> {
    let mut flags: Vec<String> = Vec::new();
    for (on, f) in [
        (args.l2, "-2"),
        (args.udp4, "-4"),
        (args.udp6, "-6"),
        (args.e2e, "-E"),
        (args.p2p, "-P"),
        (args.software, "-S"),
        (args.hardware, "-H"),
        (args.slave_only, "-s"),
        (args.verbose, "-m"),
        (args.quiet, "-q"),
    ] {
        if on {
            flags.push(f.into());
        }
    }
    if let Some(l) = args.level {
        flags.push("-l".into());
        flags.push(l.to_string());
    }
    let mut overrides = flag_overrides(&flags)?;
    if let Some(c) = args.clock {
        overrides.push(("clock_source".into(), ClockSource::from(c).as_str().into()));
    }
    for s in &args.set {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| DaemonError::BadSet(s.clone()))?;
        overrides.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    Ok(Config::load_with(&LoadOptions {
        profile: args.profile.as_deref(),
        file: args.config_file.as_deref(),
        overrides: &overrides,
        interfaces: &args.interfaces,
        text: None,
    })?)
}

/// What runs: the protocol instance over datapath workers, or a transparent clock.
#[derive(Debug)]
pub enum Mode {
    /// Ordinary / boundary clock.
    Instance {
        /// The workers.
        dps: Vec<Datapath>,
        /// Port index → index into `dps`.
        port_dp: Vec<usize>,
        /// The protocol core.
        instance: Box<PtpInstance>,
        /// The pmc-compatible management sockets.
        uds: Box<UdsServer>,
    },
    /// E2E or P2P transparent clock on the fast path.
    Transparent {
        /// The running fast path (worker + link-delay control thread).
        running: Box<Running>,
        /// Its mode.
        mode: TcMode,
    },
}

/// Everything the control loop needs.
#[derive(Debug)]
pub struct Plan {
    /// The effective configuration.
    pub cfg: Config,
    /// The disciplined clock.
    pub clock: DaemonClock,
    /// Per port (index = portNumber − 1): framing.
    pub nets: Vec<PortNet>,
    /// Which timestamps feed the core (for logs and status).
    pub timestamp_source: String,
    /// What runs.
    pub mode: Mode,
}

fn umem_bytes(x: &XskConfig) -> u64 {
    u64::from(x.frame_count) * u64::from(x.frame_size)
}

/// Checks the host, opens the clock and stands the datapath and the instance up.
pub fn prepare(args: &RunArgs, cfg: Config) -> Result<Plan, DaemonError> {
    if cfg.ports.is_empty() {
        return Err(DaemonError::NoInterface);
    }
    if cfg.ports.len() > MAX_PORTS {
        return Err(DaemonError::Unsupported(format!(
            "{} ports configured; xptp run serves at most {MAX_PORTS}",
            cfg.ports.len()
        )));
    }
    let tc = cfg.clock_type.is_transparent();
    if !tc && cfg.time_stamping.is_one_step() {
        return Err(DaemonError::Unsupported(format!(
            "time_stamping {}: one-step Sync needs originTimestamp written at egress, which xptp \
             run does not do for Sync yet; use time_stamping software or hardware (two-step)",
            cfg.time_stamping.as_linuxptp()
        )));
    }
    let attach_mode = match args.xdp_mode {
        XdpModeArg::Auto => AttachMode::Auto,
        XdpModeArg::Native => AttachMode::Native,
        XdpModeArg::Skb => AttachMode::Skb,
    };
    let xsk_cfg = DatapathOptions::new(&[], FastPathConfig::default()).xsk;

    // Host checks, all at once.
    let mut problems = Vec::new();
    for (ifname, _) in &cfg.ports {
        for e in preflight::check_all(
            ifname,
            umem_bytes(&xsk_cfg),
            attach_mode == AttachMode::Native,
            false,
        ) {
            problems.push(format!("{ifname}: {e}"));
        }
    }
    problems.dedup();
    if problems.is_empty() {
        if let Err(e) = preflight::ensure_memlock(umem_bytes(&xsk_cfg) * cfg.ports.len() as u64) {
            problems.push(e.to_string());
        }
    }
    if !problems.is_empty() {
        return Err(DaemonError::Preflight(problems));
    }

    let first_if = cfg
        .ports
        .first()
        .map(|(n, _)| n.clone())
        .unwrap_or_default();
    let clock = DaemonClock::open(
        cfg.clock_source,
        &first_if,
        VirtualOptions {
            offset_ns: args.virtual_offset_ns,
            freq_ppb: args.virtual_freq_ppb,
            truth: args.virtual_truth,
        },
    )?;
    if cfg.clock_source == ClockSource::System {
        tracing::warn!(
            "clock_source system: xptp disciplines CLOCK_REALTIME, the machine's own time; \
             every step and frequency change below changes the system clock"
        );
    }
    let mut nets = Vec::with_capacity(cfg.ports.len());
    for (ifname, pc) in &cfg.ports {
        nets.push(PortNet::discover(
            ifname,
            pc,
            cfg.dscp_event,
            cfg.dscp_general,
        )?);
    }
    let want_hw = cfg.time_stamping == TimeStampingMode::Hardware;
    let timestamp_source = clock.timestamp_source(want_hw);
    let clock_identity = cfg
        .clock
        .clock_identity
        .unwrap_or_else(|| ClockIdentity::from_mac(nets.first().map(|n| n.mac).unwrap_or([0; 6])));

    let mut fp = FastPathConfig {
        clock_identity,
        domain_number: cfg.clock.domain_number,
        log_min_delay_req_interval: cfg
            .ports
            .first()
            .map(|(_, p)| p.log_min_delay_req_interval)
            .unwrap_or(0),
        pdelay_mode: PdelayMode::TwoStep,
        tai_to_ptp_ns: clock.minus_tai_now(),
        // The flood-protection keys (delay_req_rate_limit, ..._per_requester_rate_limit, ...).
        rate_limits: cfg.rate_limits,
        ..FastPathConfig::default()
    };
    for (i, ((_, pc), net)) in cfg.ports.iter().zip(&nets).enumerate() {
        if let Some(slot) = fp.ports.get_mut(i) {
            *slot = FpPort {
                ipv4: net.ipv4,
                ipv6: net.ipv6,
                p2p: pc.delay_mechanism == DelayMechanism::P2P,
                ..FpPort::new(i as u16 + 1, net.mac)
            };
        }
    }
    let ifaces: Vec<String> = cfg.ports.iter().map(|(n, _)| n.clone()).collect();
    let cores = args.cores.as_ref().map(|c| c.0.clone()).unwrap_or_default();

    let mode = if tc {
        let mode = if cfg.clock_type == ClockType::P2pTransparent {
            TcMode::P2p
        } else {
            TcMode::E2e
        };
        fp.tc_mode = mode;
        for p in fp.ports.iter_mut().filter(|p| p.enabled) {
            p.tc = true;
            p.p2p = mode == TcMode::P2p;
        }
        if cores.len() > 1 {
            tracing::warn!(
                "--cores: a transparent clock forwards between all its ports on one worker; using core {} only",
                cores.first().copied().unwrap_or(0)
            );
        }
        let mut o =
            fprun::RunOptions::new(&ifaces.iter().map(String::as_str).collect::<Vec<_>>(), fp);
        o.core = cores.first().copied();
        (o.idle, o.rt_priority) = args.worker_sched();
        if mode == TcMode::P2p {
            o.log_min_pdelay_req_interval = cfg
                .ports
                .first()
                .map(|(_, p)| p.log_min_pdelay_req_interval);
        }
        let running = fprun::start(o)?;
        Mode::Transparent {
            running: Box::new(running),
            mode,
        }
    } else {
        let n = cfg.ports.len();
        let groups = if cores.is_empty() {
            1
        } else {
            cores.len().min(n)
        };
        let mut dps = Vec::with_capacity(groups);
        let mut port_dp = vec![0usize; n];
        for g in 0..groups {
            let members: Vec<usize> = (0..n).filter(|i| i % groups == g).collect();
            let mut gcfg = fp;
            for (i, p) in gcfg.ports.iter_mut().enumerate() {
                if !members.contains(&i) {
                    *p = FpPort::DISABLED;
                }
            }
            for &i in &members {
                if let Some(s) = port_dp.get_mut(i) {
                    *s = g;
                }
            }
            let mut o = DatapathOptions::new(&[], gcfg);
            o.ports = members
                .iter()
                .map(|&i| PortIface {
                    port: i as PortId,
                    ifname: ifaces.get(i).cloned().unwrap_or_default(),
                })
                .collect();
            o.core = cores.get(g).copied();
            (o.idle, o.rt_priority) = args.worker_sched();
            o.attach_mode = attach_mode;
            o.want_hw_ts = want_hw;
            o.name = format!("xptp-dp{g}");
            o.drop_worker_capabilities = !args.keep_privileges;
            let dp = fprun::stand_up(o)?;
            log_datapath(g, &dp);
            dps.push(dp);
        }
        let mut ic = InstanceConfig::new(cfg.clock.clone());
        ic.servo = cfg.servo;
        ic.free_running = cfg.free_running;
        ic.c37_238 = cfg.profile.and_then(|p| p.c37_238);
        ic.tx_timestamp_timeout = Duration::from_millis(u64::from(cfg.tx_timestamp_timeout_ms))
            .max(MIN_TX_TIMESTAMP_TIMEOUT);
        ic.security = cfg.security.clone();
        ic.alarms = cfg.alarms;
        let (holdover, holdover_clock_class) = cfg.holdover.instance();
        ic.holdover = holdover;
        ic.holdover_clock_class = holdover_clock_class;
        let seed = (std::process::id() as u64) << 32 ^ xsk::clock_tai_ns();
        let instance = PtpInstance::new(
            ic,
            cfg.ports.iter().map(|(_, p)| p.clone()).collect(),
            clock_identity,
            Box::new(rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed)),
        );
        let ro = cfg.uds_ro_address.clone();
        let uds = UdsServer::bind(&UdsConfig {
            address: cfg.uds_address.clone(),
            ro_address: (!ro.as_os_str().is_empty()).then_some(ro),
            ..UdsConfig::default()
        })?;
        tracing::info!(
            sockets = ?uds.paths(),
            "management (pmc -u -s PATH) listening"
        );
        Mode::Instance {
            dps,
            port_dp,
            instance: Box::new(instance),
            uds: Box::new(uds),
        }
    };
    Ok(Plan {
        cfg,
        clock,
        nets,
        timestamp_source,
        mode,
    })
}

fn log_datapath(g: usize, dp: &Datapath) {
    for (a, s) in dp.attach_status().iter().zip(dp.socket_status()) {
        tracing::info!(
            worker = g,
            ifname = %a.ifname,
            build = %a.build,
            xdp_mode = ?a.mode,
            prog_id = a.prog_id,
            port = s.port + 1,
            bind = ?s.mode,
            "datapath: XDP steering attached, AF_XDP socket on queue {}",
            s.queue_id
        );
        match (&s.tx_hw_ts, &s.tx_sw_ts) {
            (xsk::TxHwTs::Enabled { .. }, _) => {
                tracing::info!(ifname = %a.ifname, "TX timestamps: NIC (AF_XDP TX metadata)")
            }
            (xsk::TxHwTs::Unavailable(why), xsk::TxSwTs::Kernel) => tracing::info!(
                ifname = %a.ifname,
                "TX timestamps of event messages: {} (no NIC stamp: {why})",
                s.tx_sw_ts.describe()
            ),
            (xsk::TxHwTs::Unavailable(why), sw) => tracing::warn!(
                ifname = %a.ifname,
                "TX timestamps of event messages: {} (no NIC stamp: {why}); measured delays carry the kick's latency",
                sw.describe()
            ),
        }
        if let Some(why) = &a.hw_ts_fallback {
            tracing::warn!(
                ifname = %a.ifname,
                "hardware RX timestamps not in use: {why}; using XDP-ingress CLOCK_TAI"
            );
        }
        match xsk::queue_coverage(&a.ifname, &[s.queue_id]) {
            Ok(c) => {
                if let Some(w) = c.warning() {
                    tracing::warn!(ifname = %a.ifname, "{w}");
                }
            }
            Err(e) => tracing::warn!(ifname = %a.ifname, "cannot read the RX queue count: {e}"),
        }
    }
    match dp.realtime() {
        Some(Ok(p)) => tracing::info!(
            worker = g,
            pinned = dp.pinned(),
            "datapath worker running (SCHED_FIFO {p})"
        ),
        Some(Err(why)) => {
            tracing::warn!(worker = g, pinned = dp.pinned(), "datapath worker: {why}")
        }
        None => tracing::info!(worker = g, pinned = dp.pinned(), "datapath worker running"),
    }
}
