//! Configuration in ptp4l.conf syntax: a file written for linuxptp 3.1.1's ptp4l means the same
//! to xptp, or is refused with a message naming the line, the key and the fix.
//!
//! [`Config::load`] builds the typed configuration in the order the daemon uses:
//! 1. linuxptp's defaults, then the `--profile` preset ([`crate::profile`]);
//! 2. the configuration file: `[global]` values, then each `[IFNAME]` section's values for that
//!    port (an interface section wins over `[global]` whatever the order of the sections);
//! 3. command-line overrides (`--key value` and ptp4l's short flags via [`flag_overrides`]),
//!    which replace `[global]` values. As in ptp4l, a value set in an interface section
//!    still wins for that port.
//!
//! Then the cross-key rules ptp4l applies at start-up run (one-step versus twoStepFlag,
//! slaveOnly and clockClass 255, TC/BC port counts, description formats), and, when a profile
//! was chosen, every value is checked against the profile's ranges.
//!
//! The modules: [`syntax`] splits lines, [`keys`] is the key table (scope, type, range,
//! default, and whether xptp implements, ignores or refuses the key), [`value`] parses values
//! with ptp4l's number rules, `apply` moves values into fields, [`flags`] maps ptp4l's
//! command line, [`dump`] writes the effective configuration back as a ptp4l.conf, [`cli`]
//! is `xptp config check`. Nothing here opens a socket or touches a clock.

pub mod cli;
pub mod dump;
mod error;
pub mod flags;
pub mod keys;
pub mod syntax;
pub mod value;

mod apply;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{ConfigError, ConfigWarning, Diagnostic, Origin, Problem};
pub use flags::{flag_overrides, parse_ptp4l_args, Ptp4lArgs};

use crate::clock::ClockSource;
use crate::datasets::{ClockConfig, DelayMechanism, PortConfig};
use crate::profile::Profile;
use crate::security::sa_file::SaFileError;
use crate::security::{parse_acceptable_masters, AlarmConfig, SecurityAssociations};
use crate::servo::{ClockClassLadder, HoldoverConfig, ServoConfig, ServoKind, TimeStamping};

use keys::{KeyDef, Scope, Status};
use syntax::{Document, Section};
use value::Value;

/// linuxptp `clock_type`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum ClockType {
    /// `OC`: ordinary clock (one port).
    #[default]
    Ordinary,
    /// `BC`: boundary clock.
    Boundary,
    /// `P2P_TC`: peer-to-peer transparent clock (IEEE 1588-2019 10.3).
    P2pTransparent,
    /// `E2E_TC`: end-to-end transparent clock (IEEE 1588-2019 10.2).
    E2eTransparent,
}

impl ClockType {
    pub fn from_linuxptp(s: &str) -> Option<Self> {
        [
            Self::Ordinary,
            Self::Boundary,
            Self::P2pTransparent,
            Self::E2eTransparent,
        ]
        .into_iter()
        .find(|t| t.as_linuxptp().eq_ignore_ascii_case(s))
    }

    pub const fn as_linuxptp(self) -> &'static str {
        match self {
            Self::Ordinary => "OC",
            Self::Boundary => "BC",
            Self::P2pTransparent => "P2P_TC",
            Self::E2eTransparent => "E2E_TC",
        }
    }

    pub const fn is_transparent(self) -> bool {
        matches!(self, Self::P2pTransparent | Self::E2eTransparent)
    }
}

/// linuxptp `time_stamping` (`legacy` is refused).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum TimeStampingMode {
    /// `hardware`: two-step with NIC timestamps.
    #[default]
    Hardware,
    /// `software`: kernel/XDP software timestamps.
    Software,
    /// `onestep`: one-step Sync (the NIC writes originTimestamp); implies twoStepFlag 0.
    OneStep,
    /// `p2p1step`: one-step Sync and one-step Pdelay_Resp; implies twoStepFlag 0.
    P2p1Step,
}

impl TimeStampingMode {
    pub fn from_linuxptp(s: &str) -> Option<Self> {
        [
            Self::Hardware,
            Self::Software,
            Self::OneStep,
            Self::P2p1Step,
        ]
        .into_iter()
        .find(|t| t.as_linuxptp().eq_ignore_ascii_case(s))
    }

    pub const fn as_linuxptp(self) -> &'static str {
        match self {
            Self::Hardware => "hardware",
            Self::Software => "software",
            Self::OneStep => "onestep",
            Self::P2p1Step => "p2p1step",
        }
    }

    pub const fn is_one_step(self) -> bool {
        matches!(self, Self::OneStep | Self::P2p1Step)
    }
}

/// Logging keys.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LogConfig {
    /// `logging_level` (syslog levels 0..=7, default 6 = info).
    pub logging_level: u8,
    /// `verbose` (default 0): log to stdout.
    pub verbose: bool,
    /// `use_syslog` (default 1).
    pub use_syslog: bool,
    /// `message_tag` (default empty): a tag in every log line.
    pub message_tag: String,
    /// `summary_interval` (default 0): log2 seconds between offset/delay summaries.
    pub summary_interval: i32,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            logging_level: 6,
            verbose: false,
            use_syslog: true,
            message_tag: String::new(),
            summary_interval: 0,
        }
    }
}

/// Clock description for management CLOCK_DESCRIPTION / USER_DESCRIPTION (IEEE 1588-2019
/// 15.5.3.1.2).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ClockDescription {
    /// `productDescription` (`manufacturer;model;instance`, at most 64 characters).
    pub product_description: String,
    /// `revisionData` (`hardware;firmware;software`, at most 32 characters).
    pub revision_data: String,
    /// `userDescription` (at most 128 characters).
    pub user_description: String,
    /// `manufacturerIdentity` (OUI).
    pub manufacturer_identity: [u8; 3],
}

impl Default for ClockDescription {
    fn default() -> Self {
        ClockDescription {
            product_description: ";;".into(),
            revision_data: ";;".into(),
            user_description: String::new(),
            manufacturer_identity: [0; 3],
        }
    }
}

/// The effective configuration.
#[derive(Clone, PartialEq, Debug)]
pub struct Config {
    /// The `--profile` preset, if any (values were checked against it).
    pub profile: Option<&'static Profile>,
    /// defaultDS / timePropertiesDS seeds.
    pub clock: ClockConfig,
    /// Servo keys (`delay_filter*` are clock-wide in xptp).
    pub servo: ServoConfig,
    /// `clock_type`.
    pub clock_type: ClockType,
    /// `time_stamping`.
    pub time_stamping: TimeStampingMode,
    /// `clock_source` (xptp): which clock is disciplined.
    pub clock_source: ClockSource,
    /// `free_running`: never adjust the clock.
    pub free_running: bool,
    /// `tc_spanning_tree`: a TC forwards only between ports the BMCA left unblocked.
    pub tc_spanning_tree: bool,
    /// `tx_timestamp_timeout` in ms.
    pub tx_timestamp_timeout_ms: u32,
    /// `dscp_event`: DSCP of event messages over UDP.
    pub dscp_event: u8,
    /// `dscp_general`: DSCP of general messages over UDP.
    pub dscp_general: u8,
    /// Fast-path flood protection (`delay_req_rate_limit`, `delay_req_burst`,
    /// `*_per_requester_*`, `pdelay_req_*`, `management_*`), handed to the datapath as
    /// `FastPathConfig::rate_limits`.
    pub rate_limits: xptp_datapath::fastpath::RateLimits,
    /// `uds_address`: the management socket (read-write). xptp's default is `/var/run/xptp`
    /// (ptp4l's is `/var/run/ptp4l`, which a ptp4l.conf may name).
    pub uds_address: PathBuf,
    /// `uds_ro_address`: the read-only management socket; when not set, `<uds_address>.ro`
    /// (`/var/run/xptp.ro` by default); empty disables it.
    pub uds_ro_address: PathBuf,
    /// `network_management` (xptp): answer management messages that arrive on PTP ports
    /// (`pmc -2/-4/-6`, GET only). Off by default.
    pub network_management: crate::mgmt::network::NetworkManagementConfig,
    /// Logging keys.
    pub log: LogConfig,
    /// Description keys.
    pub description: ClockDescription,
    /// `sa_file` (linuxptp 4.x): the security association file ports with an `spp` use.
    pub sa_file: Option<PathBuf>,
    /// The parsed `sa_file` (loaded by [`Config::load`]; give it to
    /// `InstanceConfig::security`).
    pub security: Option<Arc<SecurityAssociations>>,
    /// `time_jump_threshold` (xptp) and other alarm settings (give to
    /// `InstanceConfig::alarms`).
    pub alarms: AlarmConfig,
    /// The `holdover_*` keys (xptp); [`HoldoverKeys::instance`] gives what
    /// `InstanceConfig::holdover` / `holdover_clock_class` take.
    pub holdover: HoldoverKeys,
    /// The `phc2sys*` keys (xptp): the phc2sys task.
    pub phc2sys: Phc2SysKeys,
    /// `phc_set_from_system` (xptp): a grandmaster-capable clock sets its PHC from
    /// CLOCK_REALTIME + `utc_offset` once at start.
    pub phc_set_from_system: bool,
    /// Port keys from `[global]` (and the profile): what a port without its own section gets.
    pub port_defaults: PortConfig,
    /// The ports, in ptp4l's order (command-line interfaces, then file sections).
    pub ports: Vec<(String, PortConfig)>,
    /// Accepted values that have no effect, and deprecated spellings.
    pub warnings: Vec<ConfigWarning>,
    /// Where each value set by the profile, the file or the command line came from, keyed by
    /// (`"global"` or the interface name, key).
    pub origins: BTreeMap<(String, &'static str), Origin>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            profile: None,
            clock: ClockConfig::default(),
            servo: ServoConfig::default(),
            clock_type: ClockType::Ordinary,
            time_stamping: TimeStampingMode::Hardware,
            clock_source: ClockSource::Phc,
            free_running: false,
            tc_spanning_tree: false,
            tx_timestamp_timeout_ms: 1,
            dscp_event: 0,
            dscp_general: 0,
            rate_limits: xptp_datapath::fastpath::RateLimits::DEFAULT,
            uds_address: PathBuf::from(crate::mgmt::uds::DEFAULT_UDS_ADDRESS),
            uds_ro_address: PathBuf::from(crate::mgmt::uds::DEFAULT_UDS_RO_ADDRESS),
            network_management: crate::mgmt::network::NetworkManagementConfig::default(),
            log: LogConfig::default(),
            description: ClockDescription::default(),
            sa_file: None,
            security: None,
            alarms: AlarmConfig::default(),
            holdover: HoldoverKeys::default(),
            phc2sys: Phc2SysKeys::default(),
            phc_set_from_system: false,
            port_defaults: PortConfig::default(),
            ports: Vec::new(),
            warnings: Vec::new(),
            origins: BTreeMap::new(),
        }
    }
}

/// `holdover_clock_class_ladder`: which clockClass ladder a grandmaster-capable clock
/// follows in holdover after losing a grandmaster of `holdover_locked_clock_class` or better.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum LadderKind {
    /// The clockClass never changes (the default).
    #[default]
    Off,
    /// 7 within the budget, 187 after it, 248 after `holdover_free_run`.
    Default,
    /// ITU-T G.8275.1: 7, then 140 (category 1 out of specification), then 248.
    G8275_1,
}

impl LadderKind {
    /// From the key's value.
    pub fn from_key(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "off" => Some(LadderKind::Off),
            "default" => Some(LadderKind::Default),
            "g8275.1" => Some(LadderKind::G8275_1),
            _ => None,
        }
    }

    /// The key's spelling.
    pub fn as_key(self) -> &'static str {
        match self {
            LadderKind::Off => "off",
            LadderKind::Default => "default",
            LadderKind::G8275_1 => "g8275.1",
        }
    }
}

/// The phc2sys task's `-O`: a fixed offset or the automatic one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phc2SysOffset {
    /// −currentUtcOffset (timePropertiesDS) when the source keeps the PTP timescale and the
    /// target keeps UTC; 0 otherwise.
    Auto,
    /// Target − source, seconds.
    Seconds(i32),
}

/// The `phc2sys*` keys (see the key table for their linuxptp phc2sys equivalents).
#[derive(Clone, PartialEq, Debug)]
pub struct Phc2SysKeys {
    /// `phc2sys`: run the task.
    pub enabled: bool,
    /// `phc2sys_target` [-c]: `CLOCK_REALTIME`, `/dev/ptpN` or `virtual`.
    pub target: String,
    /// `phc2sys_offset` [-O] as written (`auto` or whole seconds); see [`Self::offset`].
    pub offset_text: String,
    /// `phc2sys_rate` [-R]: updates per second.
    pub rate_hz: f64,
    /// `phc2sys_readings` [-N]: PHC readings per update (1..=25).
    pub readings: u32,
    /// `phc2sys_step_threshold` [-S] (s, 0 = never step after the first).
    pub step_threshold: f64,
    /// `phc2sys_first_step_threshold` [-F] (s).
    pub first_step_threshold: f64,
    /// `phc2sys_servo`.
    pub servo: ServoKind,
    /// `phc2sys_wait_sync` [-w]: start updating only once the PTP clock is synchronized.
    pub wait_sync: bool,
}

impl Default for Phc2SysKeys {
    fn default() -> Self {
        Phc2SysKeys {
            enabled: false,
            target: "CLOCK_REALTIME".into(),
            offset_text: "auto".into(),
            rate_hz: 1.0,
            readings: 5,
            step_threshold: 0.0,
            first_step_threshold: 0.00002,
            servo: ServoKind::Pi,
            wait_sync: true,
        }
    }
}

impl Phc2SysKeys {
    /// `phc2sys_offset` parsed: `auto` or an integer number of seconds.
    pub fn offset(&self) -> Result<Phc2SysOffset, String> {
        let t = self.offset_text.trim();
        if t.eq_ignore_ascii_case("auto") {
            return Ok(Phc2SysOffset::Auto);
        }
        t.parse::<i32>().map(Phc2SysOffset::Seconds).map_err(|_| {
            format!(
                "phc2sys_offset '{t}' is neither `auto` nor whole seconds (e.g. -37 from a TAI PHC to UTC); write auto or an integer"
            )
        })
    }
}

/// The `holdover_*` keys.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HoldoverKeys {
    /// `holdover_budget` (s): how long holdover stays within specification.
    pub budget_s: u32,
    /// `holdover_free_run` (s, ≥ the budget): from then on the free-running class (248).
    pub free_run_s: u32,
    /// `holdover_averaging`: locked servo outputs averaged into the held frequency.
    pub averaging: usize,
    /// `holdover_clock_class_ladder`.
    pub ladder: LadderKind,
    /// `holdover_locked_clock_class`: the grandmaster clockClass that counts as a primary
    /// reference (losing such a grandmaster engages the ladder).
    pub locked_class: u8,
}

impl Default for HoldoverKeys {
    fn default() -> Self {
        HoldoverKeys {
            budget_s: 3600,
            free_run_s: 86_400,
            averaging: 64,
            ladder: LadderKind::Off,
            locked_class: 6,
        }
    }
}

impl HoldoverKeys {
    /// `(InstanceConfig::holdover, InstanceConfig::holdover_clock_class)`.
    pub fn instance(&self) -> (HoldoverConfig, bool) {
        let budget = i64::from(self.budget_s) * 1_000_000_000;
        let free = i64::from(self.free_run_s.max(self.budget_s)) * 1_000_000_000;
        let mut ladder = match self.ladder {
            LadderKind::G8275_1 => ClockClassLadder::g8275_1(budget, free),
            LadderKind::Off | LadderKind::Default => {
                ClockClassLadder::default_profile(budget, free)
            }
        };
        ladder.locked = self.locked_class;
        let cfg = HoldoverConfig {
            budget_ns: budget,
            averaging_samples: self.averaging.max(1),
            ladder,
        };
        (cfg, self.ladder != LadderKind::Off)
    }
}

/// Everything [`Config::load_with`] reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadOptions<'a> {
    /// `--profile NAME`.
    pub profile: Option<&'a str>,
    /// The file's text (already read) ...
    pub text: Option<&'a str>,
    /// ... or its path.
    pub file: Option<&'a Path>,
    /// `(key, value)` overrides in command-line order (later wins).
    pub overrides: &'a [(String, String)],
    /// Interfaces named on the command line (`-i`); they come first in port order.
    pub interfaces: &'a [String],
}

/// A validated value with its origin.
#[derive(Clone, Debug)]
struct Setting {
    def: &'static KeyDef,
    value: Value,
    origin: Origin,
}

type Settings = BTreeMap<&'static str, Setting>;

const GLOBAL: &str = "global";

impl Config {
    /// Loads a configuration: profile preset, then `file`, then `overrides` (see the module
    /// documentation for the precedence). All problems are reported together.
    pub fn load<K: AsRef<str>, V: AsRef<str>>(
        profile: Option<&str>,
        file: Option<&Path>,
        overrides: &[(K, V)],
    ) -> Result<Config, ConfigError> {
        let ov = own(overrides);
        Config::load_with(&LoadOptions {
            profile,
            file,
            overrides: &ov,
            ..LoadOptions::default()
        })
    }

    /// Like [`Config::load`], from text instead of a file.
    pub fn load_str<K: AsRef<str>, V: AsRef<str>>(
        profile: Option<&str>,
        text: &str,
        overrides: &[(K, V)],
    ) -> Result<Config, ConfigError> {
        let ov = own(overrides);
        Config::load_with(&LoadOptions {
            profile,
            text: Some(text),
            overrides: &ov,
            ..LoadOptions::default()
        })
    }

    /// The general form: also takes command-line interfaces.
    pub fn load_with(opts: &LoadOptions<'_>) -> Result<Config, ConfigError> {
        let read;
        let text = match (opts.text, opts.file) {
            (Some(t), _) => Some(t),
            (None, Some(p)) => {
                read = std::fs::read(p).map_err(|source| ConfigError::Io {
                    path: p.to_path_buf(),
                    source,
                })?;
                Some(std::str::from_utf8(&read).map_err(|e| ConfigError::Io {
                    path: p.to_path_buf(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                })?)
            }
            (None, None) => None,
        };
        let (doc, mut errs) = text.map(syntax::parse).unwrap_or_default();
        Builder::default().run(opts, doc, &mut errs)
    }

    /// The origin of `key` for port `port` (`None`: the global value).
    pub fn origin(&self, port: Option<&str>, key: &str) -> Origin {
        port.and_then(|p| self.origins.get(&(p.to_owned(), canon(key))))
            .or_else(|| self.origins.get(&(GLOBAL.to_owned(), canon(key))))
            .copied()
            .unwrap_or(Origin::Default)
    }

    /// The configuration of port `name`, if configured.
    pub fn port(&self, name: &str) -> Option<&PortConfig> {
        self.ports.iter().find(|(n, _)| n == name).map(|(_, p)| p)
    }
}

fn own<K: AsRef<str>, V: AsRef<str>>(o: &[(K, V)]) -> Vec<(String, String)> {
    o.iter()
        .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
        .collect()
}

fn canon(key: &str) -> &'static str {
    keys::lookup(key).map(|(d, _)| d.name).unwrap_or("")
}

#[derive(Default)]
struct Builder {
    warnings: Vec<ConfigWarning>,
}

impl Builder {
    /// Validates one `key value`: known key, allowed in this section, value parses, and
    /// what xptp does with it.
    fn setting(
        &mut self,
        key: &str,
        raw: &str,
        origin: Origin,
        section: Option<&str>,
    ) -> Result<Setting, Problem> {
        let Some((def, alias)) = keys::lookup(key) else {
            return Err(Problem::UnknownKey {
                key: key.to_owned(),
                suggestion: keys::suggest(key),
            });
        };
        if let Some((alias, true)) = alias {
            self.warnings.push(ConfigWarning {
                origin,
                message: format!("{alias} is deprecated, use {} instead", def.name),
            });
        }
        if let (Some(s), Scope::Global) = (section, def.scope) {
            return Err(Problem::GlobalKeyInPort {
                key: def.name,
                section: s.to_owned(),
            });
        }
        let value = value::parse(def, raw)?;
        if def.name == "acceptable_master_table" {
            if let Err(e) = parse_acceptable_masters(raw) {
                return Err(Problem::BadFormat {
                    key: def.name,
                    value: e.0,
                    expected: "an acceptable master CLOCKID[-PORT][:ALTPRIO1], e.g. 001122.fffe.334455-1:64",
                });
            }
        }
        let is_default = value::parse(def, def.default).is_ok_and(|d| d == value);
        match def.status {
            Status::Unsupported(reason) if !is_default => {
                return Err(Problem::UnsupportedKey {
                    key: def.name,
                    value: raw.to_owned(),
                    reason,
                    default: def.default,
                })
            }
            Status::Ignored(reason) if !is_default => self.warnings.push(ConfigWarning {
                origin,
                message: format!("{} {raw} has no effect in xptp: {reason}", def.name),
            }),
            _ => {}
        }
        Ok(Setting { def, value, origin })
    }

    fn run(
        mut self,
        opts: &LoadOptions<'_>,
        doc: Document,
        errs: &mut Vec<Diagnostic>,
    ) -> Result<Config, ConfigError> {
        let profile = match opts.profile.map(Profile::by_name).transpose() {
            Ok(p) => p,
            Err(e) => {
                errs.push(Diagnostic {
                    origin: Origin::CommandLine,
                    problem: Problem::Profile(e),
                });
                None
            }
        };

        // Port order: command-line interfaces, then new names from the file.
        let mut port_names: Vec<String> = Vec::new();
        for n in opts.interfaces.iter().chain(doc.ports.iter()) {
            if !port_names.contains(n) {
                port_names.push(n.clone());
            }
        }
        let mut global = Settings::new();
        let mut ports: Vec<Settings> = vec![Settings::new(); port_names.len()];

        for e in &doc.entries {
            let origin = Origin::Line(e.line);
            let (section, target) = match e.section {
                Section::Global => (None, &mut global),
                Section::Port(i) => {
                    let name = doc.ports.get(i).map(String::as_str).unwrap_or("");
                    let idx = port_names.iter().position(|n| n == name).unwrap_or(0);
                    match ports.get_mut(idx) {
                        Some(t) => (Some(name), t),
                        None => continue,
                    }
                }
            };
            match self.setting(&e.key, &e.value, origin, section) {
                Ok(s) => insert_setting(target, s),
                Err(problem) => errs.push(Diagnostic { origin, problem }),
            }
        }
        for (k, v) in opts.overrides {
            match self.setting(k, v, Origin::CommandLine, None) {
                Ok(s) => {
                    global.insert(s.def.name, s);
                }
                Err(problem) => errs.push(Diagnostic {
                    origin: Origin::CommandLine,
                    problem,
                }),
            }
        }
        if !errs.is_empty() {
            return Err(invalid(errs));
        }

        let mut c = Config {
            profile,
            ..Config::default()
        };
        if let Some(p) = profile {
            p.apply(&mut c.clock, &mut c.port_defaults);
        }
        for s in global.values() {
            let applied = match s.def.scope {
                Scope::Global => apply::set_global(&mut c, s.def.name, &s.value),
                Scope::Port => {
                    apply::set_port(&mut c.port_defaults, s.def.name, &s.value)
                        || apply::set_global(&mut c, s.def.name, &s.value)
                }
            };
            if applied {
                c.origins.insert((GLOBAL.to_owned(), s.def.name), s.origin);
            }
        }
        for (name, settings) in port_names.iter().zip(&ports) {
            let mut pc = c.port_defaults.clone();
            for s in settings.values() {
                if s.def.status == Status::ClockWide {
                    let global_value = apply::get_global(&c, s.def.name).unwrap_or_default();
                    let mine = match &s.value {
                        Value::Enum(e) => (*e).to_owned(),
                        v => v.to_string(),
                    };
                    if mine != global_value {
                        errs.push(Diagnostic {
                            origin: s.origin,
                            problem: Problem::PerPortNotSupported {
                                key: s.def.name,
                                value: mine,
                                section: name.clone(),
                                global: global_value,
                            },
                        });
                    }
                    continue;
                }
                if apply::set_port(&mut pc, s.def.name, &s.value) {
                    c.origins.insert((name.clone(), s.def.name), s.origin);
                }
            }
            c.ports.push((name.clone(), pc));
        }
        c.warnings = self.warnings;
        if !c
            .origins
            .contains_key(&(GLOBAL.to_owned(), "uds_ro_address"))
        {
            c.uds_ro_address = crate::mgmt::uds::default_ro_address(&c.uds_address);
        }
        c.harmonize(errs);
        c.load_security(errs);
        if let Some(p) = profile {
            c.check_profile(p, errs);
        }
        if errs.is_empty() {
            Ok(c)
        } else {
            Err(invalid(errs))
        }
    }
}

/// Records a setting; `acceptable_master_table` lines of one section add up (one entry or a
/// list per line), every other key's later line wins.
fn insert_setting(target: &mut Settings, s: Setting) {
    if s.def.name == "acceptable_master_table" {
        if let (Some(old), Value::Str(new)) = (target.get_mut(s.def.name), &s.value) {
            if let Value::Str(prev) = &mut old.value {
                prev.push(' ');
                prev.push_str(new);
                return;
            }
        }
    }
    target.insert(s.def.name, s);
}

/// The collected problems in file order, command-line ones last.
fn invalid(errs: &mut Vec<Diagnostic>) -> ConfigError {
    let mut errs = std::mem::take(errs);
    errs.sort_by_key(|d| match d.origin {
        Origin::Default | Origin::Profile(_) => 0,
        Origin::Line(n) => n,
        Origin::CommandLine => usize::MAX,
    });
    ConfigError::Invalid(errs)
}

impl Config {
    fn err(&self, errs: &mut Vec<Diagnostic>, port: Option<&str>, key: &str, problem: Problem) {
        errs.push(Diagnostic {
            origin: self.origin(port, key),
            problem,
        });
    }

    /// ptp4l's start-up rules between keys.
    fn harmonize(&mut self, errs: &mut Vec<Diagnostic>) {
        // One step: the time_stamping mode and twoStepFlag must agree (ptp4l upgrades or
        // clears as below, and refuses one-step with software timestamps).
        match self.time_stamping {
            TimeStampingMode::Software if !self.clock.two_step_flag => self.err(
                errs,
                None,
                "twoStepFlag",
                Problem::Inconsistent(
                    "twoStepFlag 0 (one-step) needs time_stamping hardware, onestep or p2p1step, not software".into(),
                ),
            ),
            TimeStampingMode::Hardware if !self.clock.two_step_flag => {
                self.time_stamping = TimeStampingMode::OneStep;
            }
            m if m.is_one_step() => self.clock.two_step_flag = false,
            _ => {}
        }
        self.servo.time_stamping = match self.time_stamping {
            TimeStampingMode::Software => TimeStamping::Software,
            _ => TimeStamping::Hardware,
        };
        if self.clock.slave_only {
            if !self.clock.gm_capable {
                self.err(
                    errs,
                    None,
                    "gmCapable",
                    Problem::Inconsistent(
                        "slaveOnly 1 cannot be combined with gmCapable 0 (ptp4l refuses it too); drop gmCapable 0".into(),
                    ),
                );
            }
            // IEEE 1588-2019 7.6.2.5: a slave-only clock's clockClass is 255.
            self.clock.clock_quality.clock_class = 255;
        }
        if let Err(why) = self.phc2sys.offset() {
            self.err(errs, None, "phc2sys_offset", Problem::Inconsistent(why));
        }
        if self.holdover.free_run_s < self.holdover.budget_s {
            self.err(
                errs,
                None,
                "holdover_free_run",
                Problem::Inconsistent(format!(
                    "holdover_free_run {} is shorter than holdover_budget {}: the free-running class follows the out-of-budget one; raise holdover_free_run",
                    self.holdover.free_run_s, self.holdover.budget_s
                )),
            );
        }
        if !self.ports.is_empty() && self.ports.len() < 2 && self.clock_type != ClockType::Ordinary
        {
            self.err(
                errs,
                None,
                "clock_type",
                Problem::Inconsistent(format!(
                    "clock_type {} needs at least two interfaces, but only [{}] is configured",
                    self.clock_type.as_linuxptp(),
                    self.ports.first().map(|p| p.0.as_str()).unwrap_or("")
                )),
            );
        }
        let needed = match self.clock_type {
            ClockType::P2pTransparent => Some(DelayMechanism::P2P),
            ClockType::E2eTransparent => Some(DelayMechanism::E2E),
            _ => None,
        };
        if let Some(dm) = needed {
            let bad: Vec<(String, DelayMechanism)> = std::iter::once((None, &self.port_defaults))
                .chain(self.ports.iter().map(|(n, p)| (Some(n.clone()), p)))
                .filter(|(_, p)| p.delay_mechanism != dm)
                .map(|(n, p)| (n.unwrap_or_default(), p.delay_mechanism))
                .collect();
            for (name, found) in bad {
                let port = (!name.is_empty()).then_some(name.as_str());
                let where_ = port.map(|n| format!(" in [{n}]")).unwrap_or_default();
                self.err(
                    errs,
                    port,
                    "delay_mechanism",
                    Problem::Inconsistent(format!(
                        "clock_type {} needs delay_mechanism {}, found {}{where_}",
                        self.clock_type.as_linuxptp(),
                        dm.as_linuxptp(),
                        found.as_linuxptp()
                    )),
                );
            }
        }
        let d = &self.description;
        let checks: [(&str, &str, Option<usize>, usize); 3] = [
            ("productDescription", &d.product_description, Some(2), 64),
            ("revisionData", &d.revision_data, Some(2), 32),
            ("userDescription", &d.user_description, None, 128),
        ];
        let mut bad = Vec::new();
        for (key, v, semis, max) in checks {
            let semis_ok = semis.is_none_or(|n| v.matches(';').count() == n);
            if !semis_ok || v.len() > max {
                bad.push((key, v.to_owned(), semis.is_some(), max));
            }
        }
        for (key, value, semis, max) in bad {
            let expected: &'static str = match (semis, max) {
                (true, 64) => {
                    "manufacturer;model;instance with exactly two ';' and at most 64 characters"
                }
                (true, _) => {
                    "hardware;firmware;software with exactly two ';' and at most 32 characters"
                }
                _ => "at most 128 characters",
            };
            self.err(
                errs,
                None,
                key,
                Problem::BadFormat {
                    key: canon(key),
                    value,
                    expected,
                },
            );
        }
    }

    /// Loads the sa_file and checks every port's `spp`/`active_key_id` against it
    /// (IEEE 1588-2019 16.14; linuxptp 4.x keys).
    fn load_security(&mut self, errs: &mut Vec<Diagnostic>) {
        if let Some(path) = self.sa_file.clone() {
            let origin = self.origin(None, "sa_file");
            match SecurityAssociations::load(&path) {
                Ok(db) => self.security = Some(Arc::new(db)),
                Err(SaFileError::Invalid(lines)) => {
                    for d in lines {
                        errs.push(Diagnostic {
                            origin,
                            problem: Problem::SaFile(format!(
                                "sa_file {} line {}: {}",
                                path.display(),
                                d.line,
                                d.problem
                            )),
                        });
                    }
                    return;
                }
                Err(e) => {
                    errs.push(Diagnostic {
                        origin,
                        problem: Problem::SaFile(e.to_string()),
                    });
                    return;
                }
            }
        }
        let defaults = self.ports.is_empty().then_some((None, &self.port_defaults));
        let ports: Vec<(Option<String>, crate::security::PortSecurity)> = defaults
            .into_iter()
            .map(|(n, p)| (n, p.security.clone()))
            .chain(
                self.ports
                    .iter()
                    .map(|(n, p)| (Some(n.clone()), p.security.clone())),
            )
            .collect();
        let mut seen = std::collections::HashSet::new();
        for (name, sec) in ports {
            let Some(spp) = sec.spp else { continue };
            let port = name.as_deref();
            let file = self
                .sa_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let problem = if self.sa_file.is_none() {
                Some(("spp", format!("spp {spp} needs an sa_file: set sa_file in [global] to the security association file")))
            } else if let Some(sa) = self.security.as_ref().map(|db| db.get(spp)) {
                match sa {
                    None => Some(("spp", format!("spp {spp} is not defined in sa_file {file}: add a [security_association] with 'spp {spp}' or fix the spp"))),
                    Some(_) if sec.active_key_id == 0 => Some(("active_key_id", format!("spp {spp} needs active_key_id: the keyID of sa_file {file} that outgoing messages are signed with"))),
                    Some(sa) if sa.key(sec.active_key_id).is_none() => Some(("active_key_id", format!("active_key_id {} is not a key of spp {spp} in sa_file {file}", sec.active_key_id))),
                    Some(_) if self.time_stamping.is_one_step() => Some(("spp", format!("spp {spp} (authentication) cannot be combined with time_stamping {}: the NIC rewrites one-step Syncs after they were signed; use time_stamping hardware (two-step)", self.time_stamping.as_linuxptp()))),
                    Some(_) => None,
                }
            } else {
                None
            };
            if let Some((key, text)) = problem {
                let origin = self.origin(port, key);
                if seen.insert((origin, text.clone())) {
                    errs.push(Diagnostic {
                        origin,
                        problem: Problem::Inconsistent(text),
                    });
                }
            }
        }
    }

    fn check_profile(&self, p: &Profile, errs: &mut Vec<Diagnostic>) {
        let mut seen = std::collections::HashSet::new();
        // The [global] port values matter only for ports without their own; with no port
        // configured yet (interfaces to come from the command line) they are what is used.
        let defaults = self.ports.is_empty().then_some((None, &self.port_defaults));
        let ports = defaults
            .into_iter()
            .chain(self.ports.iter().map(|(n, p)| (Some(n.as_str()), p)));
        for (name, port) in ports {
            for e in p.validate(&self.clock, port) {
                let key = match &e {
                    crate::profile::ProfileError::OutOfRange { key, .. } => *key,
                    crate::profile::ProfileError::DelayMechanism { .. } => "delay_mechanism",
                    crate::profile::ProfileError::DatasetComparison { .. } => "dataset_comparison",
                    crate::profile::ProfileError::Transport { .. } => "network_transport",
                    crate::profile::ProfileError::Unknown(_) => "",
                };
                let origin = self.origin(name, key);
                // One report per offending setting (a global value reaches every port).
                if seen.insert((origin, e.to_string())) {
                    errs.push(Diagnostic {
                        origin,
                        problem: Problem::Profile(e),
                    });
                }
            }
        }
    }
}
