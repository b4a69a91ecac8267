//! SIGHUP in `xptp run`: key rotation without a restart. The control loop sees the flag the
//! signal handler sets, and this module re-reads the `sa_file`, lets
//! [`crate::security::reload`] decide, logs the outcome (what changed, never a secret; or
//! why the file is refused, with its line and the fix) and builds the fast-path updates
//! that carry the new keys to the workers ([`ConfigUpdate::Auth`], IEEE 1588-2019 16.14).
//! Applying them to the instance is the caller's part.
//!
//! The ports' `spp` / `active_key_id` stay as the configuration set them at start. A refused
//! file changes nothing: the keys in force stay.

use std::path::Path;
use std::sync::Arc;

use xptp_datapath::fastpath::config::ConfigUpdate;
use xptp_datapath::handoff::PortId;

use crate::config::Config;
use crate::security::reload::{self, ReloadError};
use crate::security::{fast_path_auth, SecurityAssociations};

/// Reload outcomes, shown in `xptp status` (control counters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReloadCounters {
    /// Re-read sa_files that were applied (including those with no change).
    pub ok: u64,
    /// Re-read sa_files that were refused (the keys in force stayed).
    pub failed: u64,
    /// The latest re-read was refused.
    pub last_refused: bool,
}

/// Re-reads `cfg.sa_file` and decides against the database in force, `current`. `None`:
/// nothing to do (no sa_file configured, or the file was refused: logged and counted in
/// `counters`).
pub fn reread(
    cfg: &Config,
    current: Option<&SecurityAssociations>,
    counters: &mut ReloadCounters,
) -> Option<Arc<SecurityAssociations>> {
    let Some(path) = cfg.sa_file.as_deref() else {
        tracing::info!("SIGHUP: no sa_file configured, nothing to reload");
        return None;
    };
    let old = current.cloned().unwrap_or_default();
    let ports: Vec<(&str, &crate::security::PortSecurity)> = cfg
        .ports
        .iter()
        .map(|(n, p)| (n.as_str(), &p.security))
        .collect();
    match read(path).and_then(|text| reload::reload(&old, &ports, path, &text)) {
        Ok(r) => {
            counters.ok += 1;
            counters.last_refused = false;
            if r.changes.is_empty() {
                tracing::info!(
                    path = %path.display(),
                    "SIGHUP: sa_file {} re-read: no change",
                    path.display()
                );
            } else {
                let list = r
                    .changes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                tracing::info!(
                    path = %path.display(),
                    changes = %list,
                    "SIGHUP: sa_file {} reloaded: {list}",
                    path.display()
                );
            }
            Some(Arc::new(r.db))
        }
        Err(e) => {
            counters.failed += 1;
            counters.last_refused = true;
            tracing::error!(
                path = %path.display(),
                "SIGHUP: {e}; the file is refused and the keys loaded before stay in force"
            );
            None
        }
    }
}

fn read(path: &Path) -> Result<String, ReloadError> {
    std::fs::read_to_string(path).map_err(|source| ReloadError::Unreadable {
        path: path.to_path_buf(),
        source,
    })
}

/// The fast-path update of every configured port (index into `cfg.ports`) for database `db`.
pub fn fast_path_updates(cfg: &Config, db: &SecurityAssociations) -> Vec<(usize, ConfigUpdate)> {
    cfg.ports
        .iter()
        .enumerate()
        .map(|(i, (_, pc))| {
            let auth = fast_path_auth(&pc.security, Some(db));
            (
                i,
                ConfigUpdate::Auth {
                    port: i as PortId,
                    auth,
                },
            )
        })
        .collect()
}

/// Updates waiting for room on a worker's config lane (retried every pass, in order, so a
/// full lane delays the new keys but never loses them).
#[derive(Debug, Default)]
pub struct PendingUpdates(Vec<(usize, ConfigUpdate)>);

impl PendingUpdates {
    /// Queues `updates` (port index, update), replacing older ones for the same port.
    pub fn replace(&mut self, updates: Vec<(usize, ConfigUpdate)>) {
        self.0.retain(|(i, _)| !updates.iter().any(|(j, _)| j == i));
        self.0.extend(updates);
    }

    /// Pushes what it can with `push(port index, update) -> accepted`; keeps the rest.
    pub fn flush(&mut self, mut push: impl FnMut(usize, &ConfigUpdate) -> bool) {
        self.0.retain(|(i, u)| !push(*i, u));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upd(port: PortId) -> ConfigUpdate {
        ConfigUpdate::Auth { port, auth: None }
    }

    #[test]
    fn pending_updates_are_retried_and_replaced() {
        let mut p = PendingUpdates::default();
        p.replace(vec![(0, upd(0)), (1, upd(1))]);
        let mut seen = Vec::new();
        p.flush(|i, _| {
            seen.push(i);
            i == 0
        });
        assert_eq!(seen, [0, 1]);
        assert!(!p.is_empty(), "port 1 refused: kept");
        p.replace(vec![(1, upd(1))]);
        let mut n = 0;
        p.flush(|_, _| {
            n += 1;
            true
        });
        assert_eq!(n, 1, "a newer update replaced the waiting one");
        assert!(p.is_empty());
    }
}
