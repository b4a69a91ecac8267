//! The committed golden captures of real ptp4l 3.1.1 traffic (`tests/fixtures/*.pcapng`) and the
//! tshark field tables extracted from them (`*.tsv`), loadable without tshark or root.
//!
//! Regenerate (as root, takes about a minute):
//! `cargo run -p xptp-tests --bin capture-fixtures` (optionally `-- <out dir>`). It rewrites
//! every capture and its table; see `tests/fixtures/README.md`.
//!
//! This module only reads files.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Names (without extension) of the committed ptp4l captures.
pub const PTP4L_FIXTURES: &[&str] = &[
    "ptp4l-l2-e2e",
    "ptp4l-l2-p2p",
    "ptp4l-udp4-e2e",
    "ptp4l-udp6-e2e",
];

/// `tests/fixtures` of this crate.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Path of fixture `name`'s capture (`<name>.pcapng`).
pub fn capture_path(name: &str) -> PathBuf {
    fixtures_dir().join(format!("{name}.pcapng"))
}

/// Path of fixture `name`'s tshark table (`<name>.tsv`).
pub fn fields_path(name: &str) -> PathBuf {
    fixtures_dir().join(format!("{name}.tsv"))
}

/// A tshark field table: one row per PTP frame of a capture, one column per tshark field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldsTable {
    /// tshark field names, e.g. `ptp.v2.sequenceid`.
    pub columns: Vec<String>,
    /// Values as tshark printed them (empty when the frame lacks the field).
    pub rows: Vec<Vec<String>>,
}

impl FieldsTable {
    /// Parses the tab-separated text (header line, then rows).
    pub fn parse(text: &str) -> Result<FieldsTable> {
        let mut lines = text.lines();
        let columns: Vec<String> = lines
            .next()
            .ok_or_else(|| Error::Parse {
                tool: "fields table",
                detail: "empty file, expected a header line".into(),
            })?
            .split('\t')
            .map(str::to_owned)
            .collect();
        let rows = lines
            .enumerate()
            .map(|(i, l)| {
                let r: Vec<String> = l.split('\t').map(str::to_owned).collect();
                if r.len() == columns.len() {
                    Ok(r)
                } else {
                    Err(Error::Parse {
                        tool: "fields table",
                        detail: format!(
                            "row {}: {} columns, header has {}",
                            i + 1,
                            r.len(),
                            columns.len()
                        ),
                    })
                }
            })
            .collect::<Result<_>>()?;
        Ok(FieldsTable { columns, rows })
    }

    /// Reads and parses a `.tsv` file.
    pub fn load(path: &Path) -> Result<FieldsTable> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// The table of fixture `name`.
    pub fn fixture(name: &str) -> Result<FieldsTable> {
        Self::load(&fields_path(name))
    }

    /// Index of column `field`.
    pub fn column(&self, field: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == field)
    }

    /// Value of `field` in row `row` (`None` if the row or column does not exist; `Some("")`
    /// when the frame lacks the field).
    pub fn get(&self, row: usize, field: &str) -> Option<&str> {
        let c = self.column(field)?;
        self.rows.get(row)?.get(c).map(String::as_str)
    }

    /// The whole column `field`.
    pub fn values(&self, field: &str) -> Vec<&str> {
        match self.column(field) {
            Some(c) => self
                .rows
                .iter()
                .filter_map(|r| r.get(c).map(String::as_str))
                .collect(),
            None => Vec::new(),
        }
    }
}

/// Parses a tshark integer as printed in the tables: decimal or `0x` hex.
pub fn parse_int(s: &str) -> Option<i128> {
    match s.strip_prefix("0x") {
        Some(h) => i128::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_table_and_rejects_ragged_rows() {
        let t = FieldsTable::parse("a\tb\n1\t\n0x0b\t7\n").unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.get(0, "b"), Some(""));
        assert_eq!(t.get(1, "a").and_then(parse_int), Some(11));
        assert_eq!(t.values("b"), vec!["", "7"]);
        assert_eq!(t.get(2, "a"), None);
        assert!(FieldsTable::parse("a\tb\n1\n").is_err());
        assert!(FieldsTable::parse("").is_err());
    }
}
