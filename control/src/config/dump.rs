//! The effective configuration written back in ptp4l.conf syntax (`xptp config check --dump`).
//! Loading the dump gives the same configuration again: `[global]` lists every key xptp
//! implements, each interface section the port keys that differ from `[global]`.

use std::fmt::Write as _;

use super::apply::{get_global, get_port};
use super::keys::{Scope, Status, KEYS};
use super::Config;

/// Renders `c` as a ptp4l.conf file.
pub fn dump(c: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# xptp effective configuration");
    if let Some(p) = c.profile {
        let _ = writeln!(out, "# profile {} (values checked against it)", p.name);
    }
    let _ = writeln!(out, "[global]");
    let implemented = KEYS
        .iter()
        .filter(|d| matches!(d.status, Status::Implemented | Status::ClockWide));
    for d in implemented.clone() {
        let v = match d.scope {
            Scope::Global => get_global(c, d.name),
            Scope::Port => get_port(&c.port_defaults, d.name).or_else(|| get_global(c, d.name)),
        };
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            let _ = writeln!(out, "{:<31} {v}", d.name);
        }
    }
    for (name, p) in &c.ports {
        let _ = writeln!(out, "[{name}]");
        for d in implemented.clone().filter(|d| d.scope == Scope::Port) {
            let (Some(mine), Some(global)) =
                (get_port(p, d.name), get_port(&c.port_defaults, d.name))
            else {
                continue;
            };
            if mine != global {
                let _ = writeln!(out, "{:<31} {mine}", d.name);
            }
        }
    }
    out
}
