//! `xptp config …`: checks a ptp4l.conf-style file and prints the effective configuration.
//! The binary only dispatches here; output goes to the given writers so tests can read it.

use std::io::Write;
use std::path::PathBuf;

use super::{dump, Config, ConfigError, LoadOptions};

/// `xptp config` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file (ptp4l.conf syntax); errors are listed one per line with
    /// their line numbers and the exit status is 1.
    Check(CheckArgs),
}

/// `xptp config check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The configuration file.
    pub file: PathBuf,
    /// Apply this profile first and check the values against it (default-e2e, default-p2p,
    /// iec61850-9-3, c37.238-2011, c37.238-2017, g8275.1).
    #[arg(long)]
    pub profile: Option<String>,
    /// Print the effective configuration (ptp4l.conf syntax; it loads back to the same).
    #[arg(long)]
    pub dump: bool,
    /// A command-line override KEY=VALUE, applied after the file (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// An interface given on the command line (like ptp4l -i; repeatable).
    #[arg(short = 'i', long = "interface", value_name = "IFNAME")]
    pub interfaces: Vec<String>,
}

/// Runs a `config` subcommand; returns the process exit status.
pub fn run(cmd: &ConfigCommand, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match cmd {
        ConfigCommand::Check(a) => check(a, out, err),
    }
}

fn check(a: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let path = a.file.display().to_string();
    let mut overrides = Vec::new();
    for s in &a.set {
        match s.split_once('=') {
            Some((k, v)) => overrides.push((k.trim().to_owned(), v.trim().to_owned())),
            None => {
                let _ = writeln!(err, "--set {s}: expected KEY=VALUE");
                return 2;
            }
        }
    }
    let res = Config::load_with(&LoadOptions {
        profile: a.profile.as_deref(),
        file: Some(&a.file),
        overrides: &overrides,
        interfaces: &a.interfaces,
        text: None,
    });
    match res {
        Ok(c) => {
            for w in &c.warnings {
                let _ = writeln!(err, "{path}: warning: {w}");
            }
            if a.dump {
                let _ = write!(out, "{}", dump::dump(&c));
            } else {
                let names: Vec<&str> = c.ports.iter().map(|(n, _)| n.as_str()).collect();
                let _ = writeln!(
                    out,
                    "{path}: ok ({} {}, {} port{}{}{})",
                    c.clock_type.as_linuxptp(),
                    c.time_stamping.as_linuxptp(),
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    if names.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", names.join(", "))
                    },
                    c.profile
                        .map(|p| format!(", profile {}", p.name))
                        .unwrap_or_default()
                );
            }
            0
        }
        Err(e @ ConfigError::Io { .. }) => {
            let _ = writeln!(err, "{e}");
            1
        }
        Err(ConfigError::Invalid(diags)) => {
            for d in diags {
                let _ = writeln!(err, "{path}: {d}");
            }
            1
        }
    }
}
