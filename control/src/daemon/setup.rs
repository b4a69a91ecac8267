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

/// The smallest TX timestamp timeout used. The datapath worker reports every TX request,
/// sent (with its software timestamp) or dropped, so waiting costs nothing but a pending
/// entry, while giving up costs the Follow_Up: a slave then has a Sync it cannot use. Under
/// a 30 s Delay_Req flood on these 2-vCPU VMs (tests/tests/flood_watchers.rs) the control
/// thread picked up 10-15 % of the Sync reports more than 10 ms late (scheduling waits of
/// tens of ms), and lost those Follow_Ups; a late Follow_Up is still matched by sequenceId
/// (IEEE 1588-2019 9.5.10 sets no deadline for it).
pub const MIN_TX_TIMESTAMP_TIMEOUT: Duration = Duration::from_millis(100);

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
    for (on, key) in [
        (args.phc2sys, "phc2sys"),
        (args.phc_set_from_system, "phc_set_from_system"),
    ] {
        if on {
            overrides.push((key.into(), "1".into()));
        }
    }
    for (key, val) in [
        ("phc2sys_target", args.phc2sys_target.clone()),
        ("phc2sys_offset", args.phc2sys_offset.clone()),
        ("phc2sys_rate", args.phc2sys_rate.map(|v| v.to_string())),
        (
            "phc2sys_readings",
            args.phc2sys_readings.map(|v| v.to_string()),
        ),
        (
            "phc2sys_step_threshold",
            args.phc2sys_step_threshold.map(|v| v.to_string()),
        ),
        (
            "phc2sys_first_step_threshold",
            args.phc2sys_first_step_threshold.map(|v| v.to_string()),
        ),
        ("phc2sys_servo", args.phc2sys_servo.clone()),
    ] {
        if let Some(v) = val {
            overrides.push((key.into(), v));
        }
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
        /// The pmc-compatible management sockets, answered from the TC's state.
        uds: Box<UdsServer>,
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
    /// The phc2sys task, when configured (started by the control loop).
    pub phc2sys: Option<super::phc2sys::Phc2SysPlan>,
}

fn umem_bytes(x: &XskConfig) -> u64 {
    u64::from(x.frame_count) * u64::from(x.frame_size)
}

/// `phc_set_from_system 1` only makes sense on a grandmaster-capable clock whose disciplined
/// clock is a PHC: anything else is refused with the reason.
pub fn check_phc_set_from_system(cfg: &Config) -> Result<(), DaemonError> {
    if !cfg.phc_set_from_system {
        return Ok(());
    }
    let why = if cfg.clock.slave_only {
        "this clock is slaveOnly: it never becomes grandmaster and its PHC takes its time from \
         the master; drop phc_set_from_system (or slaveOnly)"
    } else if !cfg.clock.gm_capable {
        "gmCapable 0: this clock never becomes grandmaster; drop phc_set_from_system (or set \
         gmCapable 1)"
    } else if cfg.clock_type.is_transparent() {
        "a transparent clock is never grandmaster and does not set its PHC; drop \
         phc_set_from_system"
    } else if cfg.clock_source != ClockSource::Phc {
        match cfg.clock_source {
            ClockSource::Virtual => {
                "clock_source virtual has no PHC to set (the virtual clock starts from \
                 CLOCK_TAI + --virtual-offset-ns); use clock_source phc or drop \
                 phc_set_from_system"
            }
            _ => {
                "clock_source system disciplines CLOCK_REALTIME itself, which is the time \
                 phc_set_from_system would copy; use clock_source phc or drop \
                 phc_set_from_system"
            }
        }
    } else {
        return Ok(());
    };
    Err(DaemonError::Unsupported(format!(
        "phc_set_from_system refused: {why}"
    )))
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
    check_phc_set_from_system(&cfg)?;
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
    let mut clock = DaemonClock::open(
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
    if cfg.phc_set_from_system {
        if let Some(r) = clock.set_phc_from_system(cfg.clock.utc_offset)? {
            tracing::info!(
                phc = clock.name(),
                step_ns = r.step_ns(),
                "phc_set_from_system: {} set to CLOCK_REALTIME + {} s (utc_offset) with clock_settime, \
                 then refined by {:+} ns: stepped by {:+.9} s (it read {:.9} s)",
                clock.name(),
                cfg.clock.utc_offset,
                r.refine_ns,
                r.step_ns() as f64 * 1e-9,
                r.before_ns as f64 * 1e-9
            );
        }
    }
    let phc2sys = super::phc2sys::plan(
        &cfg,
        &clock,
        super::phc2sys::VirtualTargetOptions {
            offset_ns: args.phc2sys_virtual_offset_ns,
            freq_ppb: args.phc2sys_virtual_freq_ppb,
        },
    )?;
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

    let mut fp = fast_path_config(&cfg, &nets, clock_identity, clock.minus_tai_now());
    let ifaces: Vec<String> = cfg.ports.iter().map(|(n, _)| n.clone()).collect();
    let cores = args.cores.as_ref().map(|c| c.0.clone()).unwrap_or_default();

    let mode = if tc {
        let mode = if cfg.clock_type == ClockType::P2pTransparent {
            TcMode::P2p
        } else {
            TcMode::E2e
        };
        fp.tc_mode = mode;
        fp.tc_management_to_control = cfg.network_management.enabled;
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
            o.delay_filter = cfg.servo.delay_filter;
            o.delay_filter_length = cfg.servo.delay_filter_length;
        }
        let uds = bind_management(&cfg)?;
        let running = fprun::start(o)?;
        if let Some(dp) = running.datapath() {
            log_datapath(0, dp);
        }
        Mode::Transparent {
            running: Box::new(running),
            mode,
            uds: Box::new(uds),
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
        Mode::Instance {
            dps,
            port_dp,
            instance: Box::new(instance),
            uds: Box::new(bind_management(&cfg)?),
        }
    };
    Ok(Plan {
        cfg,
        clock,
        nets,
        timestamp_source,
        mode,
        phc2sys,
    })
}

/// Binds the pmc-compatible management sockets (`uds_address`, `uds_ro_address`).
fn bind_management(cfg: &Config) -> Result<UdsServer, DaemonError> {
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
    Ok(uds)
}

/// The fast path's configuration from the daemon's: identity, domain, Delay_Req interval,
/// timescale, the flood-protection keys (`delay_req_rate_limit`, `..._per_requester_rate_limit`,
/// `..._burst`, the Pdelay_Req and management ones) and one enabled slot per port with its
/// addresses, delay mechanism and authentication.
fn fast_path_config(
    cfg: &Config,
    nets: &[PortNet],
    clock_identity: ClockIdentity,
    tai_to_ptp_ns: i64,
) -> FastPathConfig {
    let mut fp = FastPathConfig {
        clock_identity,
        domain_number: cfg.clock.domain_number,
        log_min_delay_req_interval: cfg
            .ports
            .first()
            .map(|(_, p)| p.log_min_delay_req_interval)
            .unwrap_or(0),
        pdelay_mode: PdelayMode::TwoStep,
        tai_to_ptp_ns,
        // The flood-protection keys (delay_req_rate_limit, ..._per_requester_rate_limit, ...).
        rate_limits: cfg.rate_limits,
        ..FastPathConfig::default()
    };
    for (i, ((_, pc), net)) in cfg.ports.iter().zip(nets).enumerate() {
        if let Some(slot) = fp.ports.get_mut(i) {
            *slot = FpPort {
                ipv4: net.ipv4,
                ipv6: net.ipv6,
                p2p: pc.delay_mechanism == DelayMechanism::P2P,
                auth: crate::security::fast_path_auth(&pc.security, cfg.security.as_deref()),
                ..FpPort::new(i as u16 + 1, net.mac)
            };
        }
    }
    fp
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
            (xsk::TxHwTs::Unavailable(why), xsk::TxSwTs::Kernel | xsk::TxSwTs::Wire { .. }) => {
                tracing::info!(
                    ifname = %a.ifname,
                    "TX timestamps of event messages: {} (no NIC stamp: {why})",
                    s.tx_sw_ts.describe()
                )
            }
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
        if a.wire_stamps {
            tracing::info!(
                ifname = %a.ifname,
                "veth wire stamps: event frames are timed at the sender's net_dev_start_xmit \
                 (RX and TX), not at XDP ingress"
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClockType;

    #[test]
    fn flood_protection_keys_reach_the_fast_path() {
        // A regression: the fast path was built from the default limits whatever the file said.
        let text = "[global]\ndelay_req_rate_limit 5000\ndelay_req_per_requester_rate_limit 0\n\
                    pdelay_req_rate_limit 77\nmanagement_per_requester_rate_limit 9\n[eth0]\n";
        let c = Config::load_str::<&str, &str>(None, text, &[]).unwrap();
        assert_ne!(c.rate_limits, FastPathConfig::default().rate_limits);
        let net = PortNet {
            ifname: "eth0".into(),
            mac: [2, 0, 0, 0, 0, 1],
            transport: crate::profile::Transport::L2,
            ipv4: None,
            ipv6: None,
            ptp_dst_mac: [0x01, 0x1b, 0x19, 0, 0, 0],
            p2p_dst_mac: [0x01, 0x80, 0xc2, 0, 0, 0x0e],
            udp_ttl: 1,
            udp6_scope: 0x0e,
            dscp_event: 0,
            dscp_general: 0,
        };
        let fp = fast_path_config(&c, &[net], ClockIdentity([1; 8]), -37_000_000_000);
        assert_eq!(
            fp.rate_limits, c.rate_limits,
            "the configured limits are the fast path's"
        );
        assert_eq!(fp.tai_to_ptp_ns, -37_000_000_000);
        assert!(fp.ports[0].enabled && !fp.ports[1].enabled);
        assert_eq!(fp.ports[0].mac, [2, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn phc2sys_flags_become_the_keys() {
        let args = RunArgs {
            interfaces: vec!["eth0".into()],
            phc2sys: true,
            phc2sys_target: Some("/dev/ptp1".into()),
            phc2sys_offset: Some("-37".into()),
            phc2sys_rate: Some(8.0),
            phc2sys_readings: Some(9),
            phc2sys_step_threshold: Some(0.5),
            phc2sys_first_step_threshold: Some(0.001),
            phc2sys_servo: Some("linreg".into()),
            phc_set_from_system: true,
            ..RunArgs::default()
        };
        let c = load_config(&args).unwrap();
        let k = &c.phc2sys;
        assert!(k.enabled && c.phc_set_from_system);
        assert_eq!(k.target, "/dev/ptp1");
        assert_eq!(k.offset(), Ok(crate::config::Phc2SysOffset::Seconds(-37)));
        assert_eq!((k.rate_hz, k.readings), (8.0, 9));
        assert_eq!((k.step_threshold, k.first_step_threshold), (0.5, 0.001));
        assert_eq!(k.servo, crate::servo::ServoKind::Linreg);
        let bad = RunArgs {
            phc2sys_readings: Some(40),
            ..args
        };
        let e = load_config(&bad).unwrap_err().to_string();
        assert!(e.contains("phc2sys_readings 40 out of range"), "{e}");
    }

    #[test]
    fn phc_set_from_system_only_for_a_grandmaster_capable_phc_clock() {
        let mut c = Config {
            phc_set_from_system: true,
            ..Config::default()
        };
        assert!(
            check_phc_set_from_system(&c).is_ok(),
            "OC on a PHC: allowed"
        );
        let refused = |c: &Config| check_phc_set_from_system(c).unwrap_err().to_string();
        c.clock.slave_only = true;
        assert!(refused(&c).contains("slaveOnly"), "{}", refused(&c));
        c.clock.slave_only = false;
        c.clock.gm_capable = false;
        assert!(refused(&c).contains("gmCapable 0"), "{}", refused(&c));
        c.clock.gm_capable = true;
        c.clock_type = ClockType::E2eTransparent;
        assert!(refused(&c).contains("transparent clock"), "{}", refused(&c));
        c.clock_type = ClockType::Ordinary;
        c.clock_source = ClockSource::Virtual;
        let m = refused(&c);
        assert!(
            m.starts_with("phc_set_from_system refused: clock_source virtual has no PHC"),
            "{m}"
        );
        c.clock_source = ClockSource::System;
        assert!(
            refused(&c).contains("clock_source system"),
            "{}",
            refused(&c)
        );
        c.phc_set_from_system = false;
        assert!(
            check_phc_set_from_system(&c).is_ok(),
            "off: nothing to check"
        );
    }
}
