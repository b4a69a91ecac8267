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

/// One captured frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Capture time since the Unix epoch.
    pub timestamp: std::time::Duration,
    /// The frame from its Ethernet header on.
    pub data: Vec<u8>,
}

/// Reads every packet of a pcapng or pcap file (format from its magic number).
pub fn read_capture(path: &Path) -> Result<Vec<Frame>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let bad = |e: pcap_file::PcapError| Error::Parse {
        tool: "pcap reader",
        detail: format!("{}: {e}", path.display()),
    };
    let mut frames = Vec::new();
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        let mut r = pcap_file::pcapng::PcapNgReader::new(&bytes[..]).map_err(bad)?;
        while let Some(block) = r.next_block() {
            match block.map_err(bad)? {
                pcap_file::pcapng::Block::EnhancedPacket(p) => frames.push(Frame {
                    timestamp: p.timestamp,
                    data: p.data.into_owned(),
                }),
                pcap_file::pcapng::Block::SimplePacket(p) => frames.push(Frame {
                    timestamp: std::time::Duration::ZERO,
                    data: p.data.into_owned(),
                }),
                _ => {}
            }
        }
    } else {
        let mut r = pcap_file::pcap::PcapReader::new(&bytes[..]).map_err(bad)?;
        while let Some(p) = r.next_packet() {
            let p = p.map_err(bad)?;
            frames.push(Frame {
                timestamp: p.timestamp,
                data: p.data.into_owned(),
            });
        }
    }
    Ok(frames)
}

/// Writes `frames` (Ethernet frames) to a classic pcap file, one microsecond apart.
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let bad = |e: pcap_file::PcapError| Error::Parse {
        tool: "pcap writer",
        detail: format!("{}: {e}", path.display()),
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = pcap_file::pcap::PcapWriter::new(std::io::BufWriter::new(file)).map_err(bad)?;
    for (i, f) in frames.iter().enumerate() {
        let len = u32::try_from(f.len()).map_err(|_| Error::Invalid("frame too long".into()))?;
        let ts = std::time::Duration::from_micros(i as u64);
        w.write_packet(&pcap_file::pcap::PcapPacket::new(ts, len, f))
            .map_err(bad)?;
    }
    let mut inner = w.into_writer();
    std::io::Write::flush(&mut inner).map_err(io)?;
    Ok(())
}

/// The frames of fixture `name` (every frame is PTP: row i of its table is frame i).
pub fn fixture_frames(name: &str) -> Result<Vec<Frame>> {
    read_capture(&capture_path(name))
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
    fn every_fixture_has_its_frames_and_a_matching_table() {
        for name in PTP4L_FIXTURES {
            let frames = fixture_frames(name).unwrap();
            let table = FieldsTable::fixture(name).unwrap();
            assert_eq!(frames.len(), table.rows.len(), "{name}");
            for (i, f) in frames.iter().enumerate() {
                assert_eq!(
                    table.get(i, "frame.number"),
                    Some((i + 1).to_string().as_str())
                );
                assert_eq!(
                    table.get(i, "frame.len"),
                    Some(f.data.len().to_string().as_str()),
                    "{name} frame {}",
                    i + 1
                );
            }
            let types = table.values("ptp.v2.messagetype");
            for t in ["0x00", "0x08", "0x0b", "0x0d"] {
                assert!(types.contains(&t), "{name} has no messageType {t}");
            }
            let (e2e, p2p) = (types.contains(&"0x01"), types.contains(&"0x02"));
            assert!(e2e != p2p, "{name}: exactly one delay mechanism expected");
        }
    }

    #[test]
    fn fixture_tables_match_what_tshark_reads_from_the_captures() {
        // The tables are what unit tests without tshark compare against; prove they are current.
        for name in PTP4L_FIXTURES {
            let table = FieldsTable::fixture(name).unwrap();
            let cols: Vec<&str> = table.columns.iter().map(String::as_str).collect();
            let fresh =
                crate::tshark::fields_filtered(&capture_path(name), Some("ptp"), &cols).unwrap();
            assert_eq!(
                fresh, table.rows,
                "{name}.tsv is stale: rerun capture-fixtures"
            );
            assert_eq!(
                crate::tshark::dissector_errors(&capture_path(name)).unwrap(),
                Vec::<String>::new()
            );
        }
    }

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
