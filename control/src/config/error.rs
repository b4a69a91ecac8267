//! Configuration errors and warnings. Every problem carries where the offending value came
//! from ([`Origin`]: a file line, the command line or the profile), so a message points at the
//! line to change: `line 7: logSyncInterval -200 out of range [-128, 127]`.

use std::fmt;
use std::path::PathBuf;

use crate::profile::ProfileError;

/// Where a configuration value came from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Origin {
    /// Built-in default (linuxptp's).
    Default,
    /// The `--profile` preset.
    Profile(&'static str),
    /// A line of the configuration file (1-based).
    Line(usize),
    /// A command-line flag or `--key value` override.
    CommandLine,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::Profile(p) => write!(f, "profile {p}"),
            Origin::Line(n) => write!(f, "line {n}"),
            Origin::CommandLine => f.write_str("command line"),
        }
    }
}

/// What is wrong with one line or value.
#[derive(Clone, PartialEq, Debug, thiserror::Error)]
pub enum Problem {
    /// A key neither linuxptp nor xptp knows.
    #[error("unknown key '{key}'{}", did_you_mean(*.suggestion))]
    UnknownKey {
        key: String,
        suggestion: Option<&'static str>,
    },
    /// A linuxptp key whose feature xptp does not implement, set to a value that asks for it.
    #[error(
        "{key} {value} is not supported by xptp yet: {reason}; {}",
        remedy(key, default)
    )]
    UnsupportedKey {
        key: &'static str,
        value: String,
        reason: &'static str,
        default: &'static str,
    },
    /// A value linuxptp accepts for this key but xptp does not implement.
    #[error("{key} {value} is not supported by xptp yet: {reason}")]
    UnsupportedValue {
        key: &'static str,
        value: String,
        reason: &'static str,
    },
    /// A number outside the key's range (linuxptp's ranges).
    #[error("{key} {value} out of range {range}")]
    OutOfRange {
        key: &'static str,
        value: String,
        range: String,
    },
    /// Not an integer (linuxptp reads integers with strtol: decimal, 0x hex or 0 octal).
    #[error("{key} '{value}' is not an integer{}", comment_hint(value))]
    NotInteger { key: &'static str, value: String },
    /// Not a number.
    #[error("{key} '{value}' is not a number{}", comment_hint(value))]
    NotNumber { key: &'static str, value: String },
    /// Not one of the key's words.
    #[error("{key} '{value}' is not one of {allowed}{}", comment_hint(value))]
    BadEnum {
        key: &'static str,
        value: String,
        allowed: String,
    },
    /// A structured string (MAC address, clock identity, description) in the wrong form.
    #[error("{key} '{value}' is not {expected}")]
    BadFormat {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A clock-wide key in an interface section (ptp4l rejects these too).
    #[error("{key} is a global key and cannot be set in interface section [{section}]; move it to [global]")]
    GlobalKeyInPort { key: &'static str, section: String },
    /// A per-port key that xptp holds clock-wide, set per port to a different value.
    #[error("{key} {value} in [{section}] differs from the [global] value {global}: xptp uses one {key} for all ports; set it in [global]")]
    PerPortNotSupported {
        key: &'static str,
        value: String,
        section: String,
        global: String,
    },
    /// A key without a value.
    #[error("'{key}' has no value (write '{key} VALUE')")]
    MissingValue { key: String },
    /// A section header that is neither `[global]` nor an interface name.
    #[error("unknown section '{header}': use [global] or [IFNAME] (an interface name of 1 to 15 characters without '/', ':' or whitespace)")]
    UnknownSection { header: String },
    /// A setting before the first section header.
    #[error("'{text}' is not in a section; put [global] or [IFNAME] before it")]
    NotInSection { text: String },
    /// `[unicast_master_table]`.
    #[error("[unicast_master_table] is not supported by xptp yet (unicast negotiation is not implemented); remove the section")]
    UnicastMasterTable,
    /// Longer than ptp4l's 1023-character line buffer.
    #[error("line is {len} characters long; ptp4l reads at most 1023 per line")]
    LineTooLong { len: usize },
    /// A value outside the selected profile.
    #[error("{0}")]
    Profile(ProfileError),
    /// Keys that contradict each other.
    #[error("{0}")]
    Inconsistent(String),
    /// A command-line flag that is not a ptp4l option.
    #[error("unknown ptp4l option '{0}'")]
    UnknownFlag(String),
    /// The sa_file cannot be read, or one of its lines is wrong (the text names the line).
    #[error("{0}")]
    SaFile(String),
}

fn remedy(key: &str, default: &str) -> String {
    if default.is_empty() {
        "remove the line".to_owned()
    } else {
        format!("remove the line or set {key} {default}")
    }
}

fn did_you_mean(s: Option<&'static str>) -> String {
    s.map(|k| format!(" (did you mean '{k}'?)"))
        .unwrap_or_default()
}

fn comment_hint(value: &str) -> &'static str {
    if value.contains('#') {
        " (ptp4l does not allow a comment after a value: put it on its own line)"
    } else {
        ""
    }
}

/// One error, with where it came from.
#[derive(Clone, PartialEq, Debug)]
pub struct Diagnostic {
    pub origin: Origin,
    pub problem: Problem,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.problem)
    }
}

/// A value xptp accepts but does not act on, or a deprecated spelling.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ConfigWarning {
    pub origin: Origin,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// One or more invalid lines or values (all of them, in file order).
    #[error("{}", join(.0))]
    Invalid(Vec<Diagnostic>),
}

impl ConfigError {
    /// The individual problems (empty for an I/O error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Io { .. } => &[],
            ConfigError::Invalid(d) => d,
        }
    }
}

fn join(d: &[Diagnostic]) -> String {
    d.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
