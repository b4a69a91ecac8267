//! Key rotation without a restart: what `xptp run` does with a re-read `sa_file` (on
//! SIGHUP). IEEE 1588-2019 Annex P leaves key distribution to the operator (P.2.1: a
//! security association is configured out of band); this module decides whether a new
//! association database may replace the one in force and says what changed.
//!
//! Pure: [`reload`] takes the database in force, the ports' `spp` / `active_key_id` (those
//! stay as the configuration set them at start) and the new file's text, and returns the new
//! database with the list of changes, or why it is refused. A refused file changes nothing:
//! the keys in force stay (never "no keys"). The shell reads the file, logs, and hands the
//! result to control's ports and the fast path.
//!
//! Replay state is not touched here: both replay tables (control's [`super::replay`] and the
//! fast path's) are keyed by sender and message type, not by keyID, so a reload keeps every
//! stream's last sequenceId (IEEE 1588-2019 P.2.2) whichever keys stay.

use core::fmt;
use std::path::{Path, PathBuf};

use super::sa_file::{SaDiagnostic, SaFileError, SecurityAssociation, SecurityAssociations};
use super::PortSecurity;

/// One difference between the database in force and the new one. Never carries a secret.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SaChange {
    /// A new association.
    SppAdded { spp: u8, key_ids: Vec<u32> },
    /// An association that is gone (no port uses it: [`reload`] refuses that otherwise).
    SppRemoved { spp: u8, key_ids: Vec<u32> },
    /// A new keyID in an association.
    KeyAdded { spp: u8, key_id: u32 },
    /// A keyID that is gone from an association.
    KeyRemoved { spp: u8, key_id: u32 },
    /// The same keyID with another secret or algorithm.
    KeyReplaced { spp: u8, key_id: u32 },
    /// `seqid_window` or `allow_mutable` of an association changed.
    Settings {
        spp: u8,
        seqid_window: (u16, u16),
        allow_mutable: (bool, bool),
    },
}

fn ids(ids: &[u32]) -> String {
    ids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for SaChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SppAdded { spp, key_ids } => {
                write!(f, "spp {spp} added (key ids {})", ids(key_ids))
            }
            Self::SppRemoved { spp, key_ids } => {
                write!(f, "spp {spp} removed (key ids {})", ids(key_ids))
            }
            Self::KeyAdded { spp, key_id } => write!(f, "spp {spp}: key id {key_id} added"),
            Self::KeyRemoved { spp, key_id } => write!(f, "spp {spp}: key id {key_id} removed"),
            Self::KeyReplaced { spp, key_id } => {
                write!(f, "spp {spp}: key id {key_id} has a new key")
            }
            Self::Settings {
                spp,
                seqid_window: (w0, w1),
                allow_mutable: (m0, m1),
            } => {
                write!(f, "spp {spp}:")?;
                if w0 != w1 {
                    write!(f, " seqid_window {w0} -> {w1}")?;
                }
                if m0 != m1 {
                    write!(f, " allow_mutable {} -> {}", u8::from(*m0), u8::from(*m1))?;
                }
                Ok(())
            }
        }
    }
}

/// A database that may replace the one in force.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Reloaded {
    pub db: SecurityAssociations,
    /// What changed, by SPP then keyID; empty when the file says the same as before.
    pub changes: Vec<SaChange>,
}

/// Why a re-read sa_file is refused (the keys in force stay).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("cannot read sa_file {}: {source}; fix it and send SIGHUP again", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Lines that do not parse (every one, in file order).
    #[error("{}", invalid_lines(path, lines))]
    Invalid {
        path: PathBuf,
        lines: Vec<SaDiagnostic>,
    },
    /// A port's `spp` is no longer in the file.
    #[error("sa_file {}: spp {spp}, the spp of port {port}, is no longer defined; put its [security_association] back (a port's spp comes from the configuration and changes only with a restart)", path.display())]
    SppMissing {
        path: PathBuf,
        port: String,
        spp: u8,
    },
    /// A port's `active_key_id` is no longer a key of its association.
    #[error("sa_file {} line {line}: the association of spp {spp} has no key id {key_id}, the active_key_id of port {port}; add a line '{key_id} ALGORITHM KEY' to it (active_key_id comes from the configuration and changes only with a restart)", path.display())]
    ActiveKeyMissing {
        path: PathBuf,
        /// The association's `spp` line.
        line: usize,
        port: String,
        spp: u8,
        key_id: u32,
    },
}

fn invalid_lines(path: &Path, lines: &[SaDiagnostic]) -> String {
    lines
        .iter()
        .map(|d| format!("sa_file {} line {}: {}", path.display(), d.line, d.problem))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Decides whether `text`, the new content of the sa_file at `path`, may replace `old`, for
/// ports with the settings `ports` (name, security). Every port with an `spp` must still find
/// its association and, in it, its `active_key_id` (IEEE 1588-2019 16.14: it signs
/// everything it sends with that key). Other associations and keys may come and go.
pub fn reload(
    old: &SecurityAssociations,
    ports: &[(&str, &PortSecurity)],
    path: &Path,
    text: &str,
) -> Result<Reloaded, ReloadError> {
    let (db, spp_lines) = match SecurityAssociations::parse_located(text) {
        Ok(d) => d,
        Err(SaFileError::Invalid(lines)) => {
            return Err(ReloadError::Invalid {
                path: path.to_path_buf(),
                lines,
            })
        }
        Err(SaFileError::Io { path, source }) => {
            return Err(ReloadError::Unreadable { path, source })
        }
    };
    for (port, sec) in ports {
        let Some(spp) = sec.spp else { continue };
        let Some((i, sa)) = db
            .associations
            .iter()
            .enumerate()
            .find(|(_, a)| a.spp == spp)
        else {
            return Err(ReloadError::SppMissing {
                path: path.to_path_buf(),
                port: (*port).to_owned(),
                spp,
            });
        };
        if sa.key(sec.active_key_id).is_none() {
            return Err(ReloadError::ActiveKeyMissing {
                path: path.to_path_buf(),
                line: spp_lines.get(i).copied().unwrap_or(0),
                port: (*port).to_owned(),
                spp,
                key_id: sec.active_key_id,
            });
        }
    }
    let changes = changes(old, &db);
    Ok(Reloaded { db, changes })
}

fn key_ids(sa: &SecurityAssociation) -> Vec<u32> {
    sa.keys.iter().map(|k| k.key_id).collect()
}

/// The differences from `old` to `new`, in SPP order, keys in keyID order.
pub fn changes(old: &SecurityAssociations, new: &SecurityAssociations) -> Vec<SaChange> {
    let mut spps: Vec<u8> = old
        .associations
        .iter()
        .chain(&new.associations)
        .map(|a| a.spp)
        .collect();
    spps.sort_unstable();
    spps.dedup();
    let mut out = Vec::new();
    for spp in spps {
        let (a, b) = match (old.get(spp), new.get(spp)) {
            (None, Some(b)) => {
                out.push(SaChange::SppAdded {
                    spp,
                    key_ids: key_ids(b),
                });
                continue;
            }
            (Some(a), None) => {
                out.push(SaChange::SppRemoved {
                    spp,
                    key_ids: key_ids(a),
                });
                continue;
            }
            (Some(a), Some(b)) => (a, b),
            (None, None) => continue,
        };
        if (a.seqid_window, a.allow_mutable) != (b.seqid_window, b.allow_mutable) {
            out.push(SaChange::Settings {
                spp,
                seqid_window: (a.seqid_window, b.seqid_window),
                allow_mutable: (a.allow_mutable, b.allow_mutable),
            });
        }
        let mut ids: Vec<u32> = key_ids(a).into_iter().chain(key_ids(b)).collect();
        ids.sort_unstable();
        ids.dedup();
        for key_id in ids {
            match (a.key(key_id), b.key(key_id)) {
                (None, Some(_)) => out.push(SaChange::KeyAdded { spp, key_id }),
                (Some(_), None) => out.push(SaChange::KeyRemoved { spp, key_id }),
                (Some(x), Some(y)) if x != y => out.push(SaChange::KeyReplaced { spp, key_id }),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "[security_association]\nspp 1\n1 SHA256-128 ASCII:key-a\n";

    fn port(spp: u8, active_key_id: u32) -> PortSecurity {
        PortSecurity {
            spp: Some(spp),
            active_key_id,
            ..PortSecurity::default()
        }
    }

    fn old() -> SecurityAssociations {
        SecurityAssociations::parse(A).unwrap()
    }

    fn run(text: &str, ports: &[(&str, &PortSecurity)]) -> Result<Reloaded, ReloadError> {
        reload(&old(), ports, Path::new("/etc/xptp/sa.conf"), text)
    }

    #[test]
    fn same_file_is_no_change() {
        let p = port(1, 1);
        let r = run(A, &[("eth0", &p)]).unwrap();
        assert_eq!(r.db, old());
        assert!(r.changes.is_empty());
    }

    #[test]
    fn new_secret_under_the_same_key_id() {
        let p = port(1, 1);
        let r = run(
            "[security_association]\nspp 1\n1 SHA256-128 ASCII:key-b\n",
            &[("eth0", &p)],
        )
        .unwrap();
        assert_eq!(r.db.get(1).unwrap().key(1).unwrap().secret(), b"key-b");
        assert_eq!(r.changes, vec![SaChange::KeyReplaced { spp: 1, key_id: 1 }]);
        let text = r.changes[0].to_string();
        assert_eq!(text, "spp 1: key id 1 has a new key");
        assert!(!text.contains("key-b") && !format!("{r:?}").contains("key-b"));
    }

    #[test]
    fn every_kind_of_change_in_order() {
        let p = port(1, 1);
        let r = run(
            "[security_association]\nspp 3\n5 SHA256 ASCII:x\n\
             [security_association]\nspp 1\nseqid_window 5\nallow_mutable 1\n\
             2 SHA256 ASCII:second\n1 SHA256-128 ASCII:key-a\n",
            &[("eth0", &p)],
        )
        .unwrap();
        let want = vec![
            SaChange::Settings {
                spp: 1,
                seqid_window: (3, 5),
                allow_mutable: (false, true),
            },
            SaChange::KeyAdded { spp: 1, key_id: 2 },
            SaChange::SppAdded {
                spp: 3,
                key_ids: vec![5],
            },
        ];
        assert_eq!(r.changes, want);
        let shown: Vec<String> = r.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "spp 1: seqid_window 3 -> 5 allow_mutable 0 -> 1",
                "spp 1: key id 2 added",
                "spp 3 added (key ids 5)"
            ]
        );
        // And back: key 2 and spp 3 go; an association no port uses may be removed.
        let back = changes(&r.db, &old());
        assert!(back.contains(&SaChange::KeyRemoved { spp: 1, key_id: 2 }));
        assert!(back.contains(&SaChange::SppRemoved {
            spp: 3,
            key_ids: vec![5]
        }));
    }

    #[test]
    fn a_parse_error_is_refused_with_file_and_line() {
        let p = port(1, 1);
        let e = run(
            "[security_association]\nspp 1\n1 SHA256-128 HEX:abc\n",
            &[("eth0", &p)],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "sa_file /etc/xptp/sa.conf line 3: HEX: key has an odd number of digits or a character that is not a hex digit"
        );
    }

    #[test]
    fn the_active_key_must_stay() {
        let (p, q) = (port(1, 1), PortSecurity::default());
        let e = run(
            "# rotated\n[security_association]\nspp 1\n2 SHA256-128 ASCII:key-b\n",
            &[("eth1", &q), ("eth0", &p)],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "sa_file /etc/xptp/sa.conf line 3: the association of spp 1 has no key id 1, the active_key_id of port eth0; add a line '1 ALGORITHM KEY' to it (active_key_id comes from the configuration and changes only with a restart)"
        );
        // An empty association is the same refusal: never "no keys".
        let e = run("[security_association]\nspp 1\n", &[("eth0", &p)]).unwrap_err();
        assert!(matches!(e, ReloadError::ActiveKeyMissing { line: 2, .. }));
    }

    #[test]
    fn the_ports_spp_must_stay() {
        let p = port(1, 1);
        let e = run(
            "[security_association]\nspp 2\n1 SHA256-128 ASCII:key-a\n",
            &[("eth0", &p)],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "sa_file /etc/xptp/sa.conf: spp 1, the spp of port eth0, is no longer defined; put its [security_association] back (a port's spp comes from the configuration and changes only with a restart)"
        );
        // With no port using it, spp 1 may go.
        let r = run(
            "[security_association]\nspp 2\n1 SHA256-128 ASCII:key-a\n",
            &[],
        )
        .unwrap();
        assert_eq!(r.changes.len(), 2);
    }
}
