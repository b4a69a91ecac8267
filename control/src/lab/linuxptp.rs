//! linuxptp peers for the lab: ptp4l instances started from generated configs inside a
//! namespace, parsers for their `-m` log lines, and pmc management queries over ptp4l's UNIX
//! domain socket.
//!
//! Written against linuxptp 3.1.1 (Debian 12). Every instance runs with `free_running 1` and
//! `time_stamping software`, so it never adjusts the host clock (all namespaces share it) and works
//! on veth, which has no hardware timestamping. A free-running slave stays UNCALIBRATED until
//! `SET SYNCHRONIZATION_UNCERTAIN_NP 0`; [`Ptp4l::wait_for_slave`] sends it.
//!
//! This module must not start anything that can step or slew a clock (no phc2sys, no ptp4l
//! without `free_running 1`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use super::netns::{Netns, Proc};
use super::{Error, Result};

/// `network_transport` (linuxptp config key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// IEEE 802.3 / Ethernet, ethertype 0x88F7 (IEEE 1588-2019 Annex E).
    L2,
    /// UDP over IPv4, ports 319/320 (Annex C).
    UdpV4,
    /// UDP over IPv6 (Annex D).
    UdpV6,
}

impl Transport {
    /// The value ptp4l's config expects.
    pub fn config_value(self) -> &'static str {
        match self {
            Transport::L2 => "L2",
            Transport::UdpV4 => "UDPv4",
            Transport::UdpV6 => "UDPv6",
        }
    }

    /// pmc's transport flag (`-2`, `-4`, `-6`).
    pub fn pmc_flag(self) -> &'static str {
        match self {
            Transport::L2 => "-2",
            Transport::UdpV4 => "-4",
            Transport::UdpV6 => "-6",
        }
    }
}

/// `delay_mechanism` (IEEE 1588-2019 11.3 delay request-response, 11.4 peer-to-peer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DelayMechanism {
    /// End to end (Delay_Req / Delay_Resp).
    E2E,
    /// Peer to peer (Pdelay_Req / Pdelay_Resp / Pdelay_Resp_Follow_Up).
    P2P,
}

impl DelayMechanism {
    /// The value ptp4l's config expects.
    pub fn config_value(self) -> &'static str {
        match self {
            DelayMechanism::E2E => "E2E",
            DelayMechanism::P2P => "P2P",
        }
    }
}

/// What the instance is meant to become.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Better priority1 (100) than the default, so it wins the BMCA.
    Master,
    /// `slaveOnly 1` (clockClass 255): never becomes master.
    Slave,
}

/// A ptp4l configuration. Rendered to a `[global]` section by [`Ptp4lConfig::render`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ptp4lConfig {
    pub role: Role,
    pub transport: Transport,
    pub delay_mechanism: DelayMechanism,
    pub domain_number: u8,
    pub priority1: u8,
    pub log_announce_interval: i8,
    pub announce_receipt_timeout: u8,
    pub log_sync_interval: i8,
    pub log_min_delay_req_interval: i8,
    pub log_min_pdelay_req_interval: i8,
    /// More `key value` lines for `[global]`. `free_running`, `time_stamping` and `uds_address`
    /// are refused: the harness owns them.
    pub extra: Vec<(String, String)>,
}

impl Ptp4lConfig {
    /// Lab defaults: intervals shortened (Announce 4/s, Sync 4/s, delay requests 4/s) so a slave
    /// is reached within a few seconds.
    pub fn new(role: Role, transport: Transport, delay_mechanism: DelayMechanism) -> Self {
        Ptp4lConfig {
            role,
            transport,
            delay_mechanism,
            domain_number: 0,
            priority1: match role {
                Role::Master => 100,
                Role::Slave => 128,
            },
            log_announce_interval: -2,
            announce_receipt_timeout: 3,
            log_sync_interval: -2,
            log_min_delay_req_interval: -2,
            log_min_pdelay_req_interval: -2,
            extra: Vec::new(),
        }
    }

    /// A master ([`Ptp4lConfig::new`] with [`Role::Master`]).
    pub fn master(transport: Transport, delay_mechanism: DelayMechanism) -> Self {
        Self::new(Role::Master, transport, delay_mechanism)
    }

    /// A free-running, slave-only instance.
    pub fn slave(transport: Transport, delay_mechanism: DelayMechanism) -> Self {
        Self::new(Role::Slave, transport, delay_mechanism)
    }

    /// The config file text, with `uds` as the management socket.
    pub fn render(&self, uds: &Path) -> Result<String> {
        const OWNED: [&str; 3] = ["free_running", "time_stamping", "uds_address"];
        if let Some((k, _)) = self.extra.iter().find(|(k, _)| OWNED.contains(&k.as_str())) {
            return Err(Error::Invalid(format!(
                "ptp4l option `{k}` is set by the harness (free_running 1, software \
                 timestamping, per-instance uds_address) and cannot be overridden"
            )));
        }
        let mut s = String::from("[global]\n");
        let mut kv = |k: &str, v: &dyn fmt::Display| s.push_str(&format!("{k} {v}\n"));
        // Never adjust the host clock: every namespace shares it.
        kv("free_running", &1);
        kv("time_stamping", &"software");
        kv("uds_address", &uds.display());
        kv("network_transport", &self.transport.config_value());
        kv("delay_mechanism", &self.delay_mechanism.config_value());
        kv("domainNumber", &self.domain_number);
        kv("priority1", &self.priority1);
        kv("logAnnounceInterval", &self.log_announce_interval);
        kv("announceReceiptTimeout", &self.announce_receipt_timeout);
        kv("logSyncInterval", &self.log_sync_interval);
        kv("logMinDelayReqInterval", &self.log_min_delay_req_interval);
        kv("logMinPdelayReqInterval", &self.log_min_pdelay_req_interval);
        if self.role == Role::Slave {
            kv("slaveOnly", &1);
        }
        for (k, v) in &self.extra {
            kv(k, v);
        }
        Ok(s)
    }
}

/// ptp4l's port states as it prints them (IEEE 1588-2019 9.2.5, plus linuxptp's GRAND_MASTER).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortState {
    Initializing,
    Faulty,
    Disabled,
    Listening,
    PreMaster,
    Master,
    Passive,
    Uncalibrated,
    Slave,
    GrandMaster,
}

impl FromStr for PortState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "INITIALIZING" => PortState::Initializing,
            "FAULTY" => PortState::Faulty,
            "DISABLED" => PortState::Disabled,
            "LISTENING" => PortState::Listening,
            "PRE_MASTER" => PortState::PreMaster,
            "MASTER" => PortState::Master,
            "PASSIVE" => PortState::Passive,
            "UNCALIBRATED" => PortState::Uncalibrated,
            "SLAVE" => PortState::Slave,
            "GRAND_MASTER" => PortState::GrandMaster,
            other => {
                return Err(Error::Parse {
                    tool: "ptp4l",
                    detail: format!("unknown port state {other:?}"),
                })
            }
        })
    }
}

/// One interesting ptp4l log line.
#[derive(Clone, Debug, PartialEq)]
pub enum LogEvent {
    /// `port 1: LISTENING to UNCALIBRATED on RS_SLAVE`
    PortState {
        port: u16,
        from: PortState,
        to: PortState,
        event: String,
    },
    /// `master offset -12 s2 freq +0 path delay 5678` (offset and delay in ns, freq in ppb).
    /// ptp4l 3.1.1 does not print these with `free_running 1`; see [`Ptp4l::offset_sample`].
    Offset {
        master_offset_ns: i64,
        /// Servo state: 0 unlocked, 1 jump, 2 locked.
        servo_state: u8,
        freq_ppb: f64,
        path_delay_ns: i64,
    },
    /// `selected best master clock 2a4de1.fffe.9926b7`
    BestMaster { clock: String },
}

/// A parsed log line with ptp4l's timestamp (`ptp4l[516.952]`, monotonic, in ms).
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub uptime_ms: u64,
    pub event: LogEvent,
}

/// Parses one line of `ptp4l -m` output; `None` for lines the harness does not interpret.
pub fn parse_log_line(line: &str) -> Option<LogLine> {
    let rest = line.trim().strip_prefix("ptp4l[")?;
    let (stamp, msg) = rest.split_once("]: ")?;
    let (secs, millis) = stamp.split_once('.').unwrap_or((stamp, "0"));
    let millis = format!("{millis:0<3}");
    let uptime_ms = secs.parse::<u64>().ok()? * 1000 + millis.get(..3)?.parse::<u64>().ok()?;
    let event = parse_log_message(msg)?;
    Some(LogLine { uptime_ms, event })
}

fn parse_log_message(msg: &str) -> Option<LogEvent> {
    if let Some(rest) = msg.strip_prefix("master offset") {
        // "  -12 s2 freq   +0 path delay   5678"
        let t: Vec<&str> = rest.split_whitespace().collect();
        if t.len() == 7 && t[2] == "freq" && t[4] == "path" && t[5] == "delay" {
            return Some(LogEvent::Offset {
                master_offset_ns: t[0].parse().ok()?,
                servo_state: t[1].strip_prefix('s')?.parse().ok()?,
                freq_ppb: t[3].parse().ok()?,
                path_delay_ns: t[6].parse().ok()?,
            });
        }
        return None;
    }
    if let Some(clock) = msg.strip_prefix("selected best master clock ") {
        return Some(LogEvent::BestMaster {
            clock: clock.trim().to_owned(),
        });
    }
    // "port 1: LISTENING to UNCALIBRATED on RS_SLAVE" (4.x adds " (eth0)" after the number).
    let rest = msg.strip_prefix("port ")?;
    let (head, tail) = rest.split_once(": ")?;
    let port = head.split_whitespace().next()?.parse().ok()?;
    let t: Vec<&str> = tail.split_whitespace().collect();
    if t.len() >= 5 && t[1] == "to" && t[3] == "on" {
        return Some(LogEvent::PortState {
            port,
            from: t[0].parse().ok()?,
            to: t[2].parse().ok()?,
            event: t[4..].join(" "),
        });
    }
    None
}

/// A slave's measurement as reported over management.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetSample {
    /// Receive time of the Sync it was computed from (ns, `TIME_STATUS_NP.ingress_time`).
    pub ingress_time_ns: i128,
    /// offsetFromMaster in whole ns (`TIME_STATUS_NP.master_offset`).
    pub master_offset_ns: i64,
    /// meanPathDelay in whole ns (`CURRENT_DATA_SET.meanPathDelay`).
    pub mean_path_delay_ns: i64,
    /// Whether the slave has a grandmaster (`TIME_STATUS_NP.gmPresent`).
    pub gm_present: bool,
}

/// One management response printed by pmc:
/// `\t<port identity> seq <n> RESPONSE MANAGEMENT <TLV>` followed by `\t\t<key> <value>` lines.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PmcResponse {
    /// Responding port identity (`d6ec38.fffe.611ec9-1`).
    pub source: String,
    pub sequence_id: u16,
    /// `RESPONSE`, `ACKNOWLEDGE`, ...
    pub action: String,
    /// `MANAGEMENT` or `MANAGEMENT_ERROR_STATUS`.
    pub kind: String,
    /// The managementId name (`PORT_DATA_SET`), or for an error status, the id and error text.
    pub tlv: String,
    /// `key -> value` lines, in pmc's spelling (`portState -> SLAVE`).
    pub fields: BTreeMap<String, String>,
}

impl PmcResponse {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
}

/// Parses pmc's batch output into its responses (the `sending:` lines are skipped).
pub fn parse_pmc_output(out: &str) -> Vec<PmcResponse> {
    let mut responses: Vec<PmcResponse> = Vec::new();
    for line in out.lines() {
        if line.starts_with("\t\t") {
            if let Some(r) = responses.last_mut() {
                let body = line.trim();
                let (k, v) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
                r.fields.insert(k.to_owned(), v.trim().to_owned());
            }
        } else if let Some(body) = line.strip_prefix('\t') {
            let t: Vec<&str> = body.split_whitespace().collect();
            if t.len() >= 5 && t[1] == "seq" {
                responses.push(PmcResponse {
                    source: t[0].to_owned(),
                    sequence_id: t[2].parse().unwrap_or(0),
                    action: t[3].to_owned(),
                    kind: t[4].to_owned(),
                    tlv: t[5..].join(" "),
                    fields: BTreeMap::new(),
                });
            }
        }
    }
    responses
}

/// A running ptp4l. Dropping it kills the process and removes its config, socket and log
/// (call [`Ptp4l::keep_log`] first to keep the log).
#[derive(Debug)]
pub struct Ptp4l {
    // Field order is drop order: stop the process before removing its directory.
    proc: Proc,
    ns_name: String,
    ifname: String,
    config: Ptp4lConfig,
    dir: tempfile::TempDir,
    uds: PathBuf,
    log: PathBuf,
}

impl Ptp4l {
    /// Starts `ptp4l -f <cfg> -i <ifname> -m -q` inside `ns`, logging to a file.
    pub fn spawn(ns: &Netns, ifname: &str, config: &Ptp4lConfig) -> Result<Ptp4l> {
        Self::spawn_in(ns, ifname, config, &std::env::temp_dir())
    }

    /// [`Ptp4l::spawn`] with its directory (config, socket, log) created under `parent`.
    pub fn spawn_in(
        ns: &Netns,
        ifname: &str,
        config: &Ptp4lConfig,
        parent: &Path,
    ) -> Result<Ptp4l> {
        let dir = tempfile::Builder::new()
            .prefix("xptp-ptp4l-")
            .tempdir_in(parent)
            .map_err(|source| Error::Io {
                path: parent.to_owned(),
                source,
            })?;
        let uds = dir.path().join("ptp4l.sock");
        let cfg_path = dir.path().join("ptp4l.cfg");
        let log = dir.path().join("ptp4l.log");
        std::fs::write(&cfg_path, config.render(&uds)?).map_err(|source| Error::Io {
            path: cfg_path.clone(),
            source,
        })?;
        let cfg_arg = cfg_path.to_string_lossy();
        let proc = ns.spawn_logged("ptp4l", &["-f", &cfg_arg, "-i", ifname, "-m", "-q"], &log)?;
        let mut p = Ptp4l {
            proc,
            ns_name: ns.name().to_owned(),
            ifname: ifname.to_owned(),
            config: config.clone(),
            dir,
            uds,
            log,
        };
        // It creates its socket right after parsing the config; if it dies instead, say why.
        let start = Instant::now();
        while !p.uds.exists() {
            if let Some(st) = p.proc.try_wait()? {
                return Err(Error::StartFailed {
                    command: p.proc.command().to_owned(),
                    status: st,
                    output: p.log_text().trim().to_owned(),
                });
            }
            if start.elapsed() > Duration::from_secs(5) {
                return Err(Error::Timeout {
                    what: format!("ptp4l to create {}", p.uds.display()),
                    waited_ms: start.elapsed().as_millis(),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(p)
    }

    /// Its management socket (`uds_address`).
    pub fn uds(&self) -> &Path {
        &self.uds
    }

    /// Its configuration.
    pub fn config(&self) -> &Ptp4lConfig {
        &self.config
    }

    /// The interface it runs on.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Path of the `-m` log.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Copies the log to `dest` (e.g. to keep it after a failure).
    pub fn keep_log(&self, dest: &Path) -> Result<()> {
        std::fs::copy(&self.log, dest)
            .map(drop)
            .map_err(|source| Error::Io {
                path: dest.to_owned(),
                source,
            })
    }

    /// The whole log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The parsed log lines so far.
    pub fn log_events(&self) -> Vec<LogLine> {
        self.log_text().lines().filter_map(parse_log_line).collect()
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.proc.is_running()
    }

    /// The exit status, once it has exited.
    pub fn try_wait(&mut self) -> Result<Option<std::process::ExitStatus>> {
        self.proc.try_wait()
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Runs pmc over the management socket: `pmc -u -b 0 -s <uds> <cmd>...`, inside the
    /// instance's namespace, and returns the parsed responses.
    pub fn pmc(&self, commands: &[&str]) -> Result<Vec<PmcResponse>> {
        let uds = self.uds.to_string_lossy();
        let mut args = vec!["-u", "-b", "0", "-s", &uds];
        args.extend_from_slice(commands);
        let out = super::netns::run(
            std::process::Command::new("ip")
                .args(["netns", "exec", &self.ns_name, "pmc"])
                .args(&args),
        )?;
        Ok(parse_pmc_output(&String::from_utf8_lossy(&out.stdout)))
    }

    /// One `GET <id>` response.
    pub fn pmc_get(&self, management_id: &str) -> Result<PmcResponse> {
        let cmd = format!("GET {management_id}");
        self.pmc(&[&cmd])?
            .into_iter()
            .find(|r| r.tlv == management_id)
            .ok_or_else(|| Error::Parse {
                tool: "pmc",
                detail: format!("no {management_id} response from {}", self.uds.display()),
            })
    }

    /// The state of port 1 (`GET PORT_DATA_SET`).
    pub fn port_state(&self) -> Result<PortState> {
        let r = self.pmc_get("PORT_DATA_SET")?;
        r.get("portState")
            .ok_or_else(|| Error::Parse {
                tool: "pmc",
                detail: format!("PORT_DATA_SET without portState: {r:?}"),
            })?
            .parse()
    }

    /// `SET SYNCHRONIZATION_UNCERTAIN_NP <0|1>`; a free-running slave needs 0 to leave
    /// UNCALIBRATED.
    pub fn set_synchronization_uncertain(&self, uncertain: bool) -> Result<()> {
        let cmd = format!("SET SYNCHRONIZATION_UNCERTAIN_NP {}", u8::from(uncertain));
        let r = self.pmc(&[&cmd])?;
        match r.iter().find(|r| r.tlv == "SYNCHRONIZATION_UNCERTAIN_NP") {
            Some(_) => Ok(()),
            None => Err(Error::Parse {
                tool: "pmc",
                detail: format!("no SYNCHRONIZATION_UNCERTAIN_NP acknowledgement: {r:?}"),
            }),
        }
    }

    /// Polls port 1 until it is in `state`.
    pub fn wait_for_state(&self, state: PortState, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        let mut last = None;
        loop {
            // pmc can miss a reply while ptp4l is busy; only the deadline is fatal.
            if let Ok(s) = self.port_state() {
                if s == state {
                    return Ok(());
                }
                last = Some(s);
            }
            if start.elapsed() >= timeout {
                return Err(self.timeout(format!("{state:?} (last seen {last:?})"), start));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until port 1 is SLAVE, sending `SET SYNCHRONIZATION_UNCERTAIN_NP 0` whenever it is
    /// seen UNCALIBRATED (a free-running ptp4l never leaves UNCALIBRATED otherwise).
    pub fn wait_for_slave(&self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        let mut last = None;
        loop {
            match self.port_state() {
                Ok(PortState::Slave) => return Ok(()),
                Ok(PortState::Uncalibrated) => {
                    let _ = self.set_synchronization_uncertain(false);
                    last = Some(PortState::Uncalibrated);
                }
                Ok(s) => last = Some(s),
                Err(_) => {}
            }
            if start.elapsed() >= timeout {
                return Err(self.timeout(format!("SLAVE (last seen {last:?})"), start));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The slave's current measurement from `GET TIME_STATUS_NP` and `GET CURRENT_DATA_SET`.
    /// A free-running ptp4l 3.1.1 logs no `master offset` lines, so this is where its offsets
    /// are read.
    pub fn offset_sample(&self) -> Result<OffsetSample> {
        let r = self.pmc(&["GET TIME_STATUS_NP", "GET CURRENT_DATA_SET"])?;
        let find = |tlv: &str, key: &str| -> Result<String> {
            r.iter()
                .find(|x| x.tlv == tlv)
                .and_then(|x| x.get(key))
                .map(str::to_owned)
                .ok_or_else(|| Error::Parse {
                    tool: "pmc",
                    detail: format!("no {tlv}.{key} in {r:?}"),
                })
        };
        let int = |v: String| -> Result<i64> {
            // "-1181", "1739.0" (TimeInterval printed with a fraction): keep whole ns.
            let whole = v.split('.').next().unwrap_or_default();
            whole.parse().map_err(|_| Error::Parse {
                tool: "pmc",
                detail: format!("not an integer nanosecond value: {v:?}"),
            })
        };
        Ok(OffsetSample {
            ingress_time_ns: find("TIME_STATUS_NP", "ingress_time")?
                .parse()
                .map_err(|_| Error::Parse {
                    tool: "pmc",
                    detail: "ingress_time".into(),
                })?,
            master_offset_ns: int(find("TIME_STATUS_NP", "master_offset")?)?,
            mean_path_delay_ns: int(find("CURRENT_DATA_SET", "meanPathDelay")?)?,
            gm_present: find("TIME_STATUS_NP", "gmPresent")? == "true",
        })
    }

    /// Collects `n` distinct offset samples (distinct Sync ingress times), polling pmc.
    pub fn wait_for_offsets(&self, n: usize, timeout: Duration) -> Result<Vec<OffsetSample>> {
        let start = Instant::now();
        let mut samples: Vec<OffsetSample> = Vec::new();
        loop {
            if let Ok(s) = self.offset_sample() {
                let new = s.ingress_time_ns != 0
                    && samples.last().map(|l| l.ingress_time_ns) != Some(s.ingress_time_ns);
                if new {
                    samples.push(s);
                }
            }
            if samples.len() >= n {
                return Ok(samples);
            }
            if start.elapsed() >= timeout {
                return Err(self.timeout(
                    format!("{n} offset samples (have {})", samples.len()),
                    start,
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn timeout(&self, what: String, start: Instant) -> Error {
        Error::Timeout {
            what: format!(
                "ptp4l in {} to reach {what}; its log:\n{}",
                self.ns_name,
                self.log_text()
            ),
            waited_ms: start.elapsed().as_millis(),
        }
    }

    /// Directory holding config, socket and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Lets ptp4l run on and keeps its directory after this value is gone (`xptp lab
    /// --keep`). Returns (pid, directory).
    pub fn keep(self) -> (u32, PathBuf) {
        let Ptp4l { proc, dir, .. } = self;
        (proc.detach(), dir.keep())
    }
}

/// Runs pmc on the wire instead of the UDS (`pmc -2|-4|-6 -i <ifname> -b 1 <cmd>...`) inside `ns`,
/// so the management messages appear on the link (IEEE 1588-2019 15). Returns the responses.
pub fn pmc_wire(
    ns: &Netns,
    transport: Transport,
    ifname: &str,
    domain: u8,
    commands: &[&str],
) -> Result<Vec<PmcResponse>> {
    let domain = domain.to_string();
    let mut args = vec![transport.pmc_flag(), "-i", ifname, "-b", "1", "-d", &domain];
    args.extend_from_slice(commands);
    let out = ns.output("pmc", &args)?;
    Ok(parse_pmc_output(&String::from_utf8_lossy(&out.stdout)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_port_state_transition() {
        let l = parse_log_line("ptp4l[528.656]: port 1: LISTENING to UNCALIBRATED on RS_SLAVE")
            .unwrap();
        assert_eq!(l.uptime_ms, 528_656);
        assert_eq!(
            l.event,
            LogEvent::PortState {
                port: 1,
                from: PortState::Listening,
                to: PortState::Uncalibrated,
                event: "RS_SLAVE".into()
            }
        );
        let l = parse_log_line(
            "ptp4l[9.5]: port 1 (eth0): UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED",
        )
        .unwrap();
        assert_eq!(l.uptime_ms, 9_500);
        assert!(matches!(
            l.event,
            LogEvent::PortState {
                to: PortState::Slave,
                ..
            }
        ));
    }

    #[test]
    fn parses_offset_line() {
        let l = parse_log_line(
            "ptp4l[531.012]: master offset       -459 s2 freq      +0 path delay      5123",
        )
        .unwrap();
        assert_eq!(
            l.event,
            LogEvent::Offset {
                master_offset_ns: -459,
                servo_state: 2,
                freq_ppb: 0.0,
                path_delay_ns: 5123
            }
        );
    }

    #[test]
    fn ignores_other_lines() {
        assert_eq!(
            parse_log_line("ptp4l[1.0]: port 1: new foreign master x-1"),
            None
        );
        assert_eq!(parse_log_line("random text"), None);
        assert_eq!(parse_log_line("ptp4l[1.0]: master offset garbage"), None);
        assert_eq!(
            parse_log_line("ptp4l[1.000]: port 1: LISTENING to BOGUS on X"),
            None
        );
    }

    #[test]
    fn parses_pmc_batch_output() {
        let out = "sending: GET PORT_DATA_SET\n\
            \td6ec38.fffe.611ec9-1 seq 0 RESPONSE MANAGEMENT PORT_DATA_SET \n\
            \t\tportIdentity            d6ec38.fffe.611ec9-1\n\
            \t\tportState               SLAVE\n\
            \t\tpeerMeanPathDelay       0\n\
            \td6ec38.fffe.611ec9-0 seq 1 RESPONSE MANAGEMENT CURRENT_DATA_SET \n\
            \t\tstepsRemoved     1\n\
            \t\toffsetFromMaster -123.0\n";
        let r = parse_pmc_output(out);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].source, "d6ec38.fffe.611ec9-1");
        assert_eq!(r[0].tlv, "PORT_DATA_SET");
        assert_eq!(r[0].get("portState"), Some("SLAVE"));
        assert_eq!(r[1].sequence_id, 1);
        assert_eq!(r[1].get("offsetFromMaster"), Some("-123.0"));
    }

    #[test]
    fn config_always_free_running_and_refuses_override() {
        let mut c = Ptp4lConfig::slave(Transport::UdpV6, DelayMechanism::P2P);
        let text = c.render(Path::new("/tmp/x.sock")).unwrap();
        for line in [
            "free_running 1",
            "time_stamping software",
            "uds_address /tmp/x.sock",
            "network_transport UDPv6",
            "delay_mechanism P2P",
            "slaveOnly 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        c.extra.push(("free_running".into(), "0".into()));
        assert!(c.render(Path::new("/tmp/x.sock")).is_err());
    }
}
