//! The ptp4l.conf line syntax, as ptp4l 3.1.1's `config_read()` reads it:
//!
//! * Leading and trailing whitespace of a line is removed; an empty line or one whose first
//!   non-blank character is `#` is skipped. There are no trailing comments: in
//!   `logSyncInterval 0 # fast` the value is `0 # fast` (ptp4l then rejects it as malformed;
//!   a string key would keep the comment as part of its value).
//! * `[global]` (any case) opens the global section; `[NAME]` opens the section of interface
//!   NAME (the same name twice continues one section); `[unicast_master_table]` opens a
//!   unicast master table, which xptp reports as not supported yet.
//! * Otherwise the line is `KEY WHITESPACE VALUE`: the key is everything up to the first blank,
//!   the value everything after the blanks that follow (it may contain spaces). A key alone is
//!   an error, as is a setting before the first section.
//! * A later setting of the same key in the same section replaces the earlier one.
//!
//! Stricter than ptp4l (which takes the first word inside any brackets as an interface name):
//! a section name must be a valid Linux interface name, so `[eth 0]` is an error, not `eth`.
//! This module only splits lines; it knows nothing about keys.

use super::error::{Diagnostic, Origin, Problem};

/// Which section a setting is in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Section {
    Global,
    /// Index into [`Document::ports`].
    Port(usize),
}

/// One `KEY VALUE` line.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Entry {
    pub section: Section,
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// A file split into settings.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Document {
    pub entries: Vec<Entry>,
    /// Interface sections in order of first appearance (this is ptp4l's port order).
    pub ports: Vec<String>,
}

/// C's `isspace` (includes vertical tab and form feed).
fn c_isspace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Linux `dev_valid_name`: 1..=15 bytes, not `.`/`..`, no `/`, `:` or whitespace.
pub fn valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 16
        && s != "."
        && s != ".."
        && !s
            .chars()
            .any(|c| c == '/' || c == ':' || c_isspace(c) || c == '[' || c == ']')
}

/// ptp4l reads lines into a 1024-byte buffer (1023 characters and the NUL).
const MAX_LINE: usize = 1022;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    None,
    In(Section),
    /// After a bad or unsupported section header: skip its lines (already reported).
    Skip,
}

/// Splits `text` into settings. Problems are collected (all of them), not fatal.
pub fn parse(text: &str) -> (Document, Vec<Diagnostic>) {
    let mut doc = Document::default();
    let mut errs = Vec::new();
    let mut state = State::None;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let err = |problem| Diagnostic {
            origin: Origin::Line(line_no),
            problem,
        };
        let line = raw.trim_matches(c_isspace);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if raw.len() > MAX_LINE {
            errs.push(err(Problem::LineTooLong { len: raw.len() }));
            continue;
        }
        if line.starts_with('[') {
            let inner = line
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .map(|l| l.trim_matches(c_isspace));
            state = match inner {
                Some(n) if n.eq_ignore_ascii_case("global") => State::In(Section::Global),
                Some(n) if n.eq_ignore_ascii_case("unicast_master_table") => {
                    errs.push(err(Problem::UnicastMasterTable));
                    State::Skip
                }
                Some(n) if valid_ifname(n) => {
                    let idx = match doc.ports.iter().position(|p| p == n) {
                        Some(idx) => idx,
                        None => {
                            doc.ports.push(n.to_owned());
                            doc.ports.len() - 1
                        }
                    };
                    State::In(Section::Port(idx))
                }
                _ => {
                    errs.push(err(Problem::UnknownSection {
                        header: line.to_owned(),
                    }));
                    State::Skip
                }
            };
            continue;
        }
        let section = match state {
            State::In(s) => s,
            State::Skip => continue,
            State::None => {
                errs.push(err(Problem::NotInSection {
                    text: line.to_owned(),
                }));
                continue;
            }
        };
        let Some(split) = line.find(c_isspace) else {
            errs.push(err(Problem::MissingValue {
                key: line.to_owned(),
            }));
            continue;
        };
        let (key, rest) = line.split_at(split);
        doc.entries.push(Entry {
            section,
            key: key.to_owned(),
            value: rest.trim_start_matches(c_isspace).to_owned(),
            line: line_no,
        });
    }
    (doc, errs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<(Section, String, String, usize)> {
        let (d, e) = parse(text);
        assert!(e.is_empty(), "{e:?}");
        d.entries
            .into_iter()
            .map(|e| (e.section, e.key, e.value, e.line))
            .collect()
    }

    #[test]
    fn whitespace_comments_and_values() {
        let t = "# head\n\n  [global]  \n\tpriority1\t\t100 \r\n  # indented comment\nuserDescription  my  clock \nlogSyncInterval 0 # not a comment\n";
        assert_eq!(
            entries(t),
            vec![
                (Section::Global, "priority1".into(), "100".into(), 4),
                (
                    Section::Global,
                    "userDescription".into(),
                    "my  clock".into(),
                    6
                ),
                (
                    Section::Global,
                    "logSyncInterval".into(),
                    "0 # not a comment".into(),
                    7
                ),
            ]
        );
    }

    #[test]
    fn sections() {
        let (d, e) = parse("[GLOBAL]\na 1\n[eth0]\nb 2\n[ eth1 ]\nc 3\n[eth0]\nd 4\n");
        assert!(e.is_empty());
        assert_eq!(d.ports, vec!["eth0", "eth1"]);
        let s: Vec<Section> = d.entries.iter().map(|e| e.section).collect();
        assert_eq!(
            s,
            vec![
                Section::Global,
                Section::Port(0),
                Section::Port(1),
                Section::Port(0)
            ]
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let (d, e) = parse("priority1 1\n[global]\npriority1\n[eth 0]\nx 1\n[]\n[unicast_master_table]\ntable_id 1\n[waytoolonginterfacename]\n");
        assert!(d.entries.is_empty());
        let msgs: Vec<String> = e.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 6, "{msgs:#?}");
        assert!(msgs[0].starts_with("line 1: 'priority1 1' is not in a section"));
        assert!(msgs[1].starts_with("line 3: 'priority1' has no value"));
        assert!(msgs[2].starts_with("line 4: unknown section '[eth 0]'"));
        assert!(msgs[3].starts_with("line 6: unknown section '[]'"));
        assert!(msgs[4].starts_with("line 7: [unicast_master_table] is not supported"));
        assert!(msgs[5].starts_with("line 9: unknown section"));
    }

    #[test]
    fn long_lines_are_refused() {
        let t = format!("[global]\nuserDescription {}\n", "x".repeat(1100));
        let (_, e) = parse(&t);
        assert_eq!(e.len(), 1);
        assert!(e[0]
            .to_string()
            .starts_with("line 2: line is 1116 characters long"));
    }
}
