//! The security association database, read from linuxptp 4.x's `sa_file` format (IEEE
//! 1588-2019 Annex P, "prong A": pre-shared keys, immediate security processing).
//!
//! ```text
//! # comment
//! [security_association]
//! spp 1                    # Security Parameter Pointer, 0..=255, starts an association
//! seqid_window 3           # anti-replay: how far a sequenceId may jump ahead (0: off)
//! allow_mutable 0          # 1: correctionField is left out of the ICV (for TCs)
//! seqnum_length 0          # the optional sequenceNo field: only 0 is supported
//! res_length 0             # the optional RES field: only 0 is supported
//! 1 SHA256-128 HEX:00112233445566778899aabbccddeeff   # key_id algorithm [length] key
//! 2 SHA256 32 B64:...
//! 3 SHA256-128 ASCII:a-shared-secret
//! ```
//!
//! Algorithms are linuxptp's labels: `SHA256-128` (HMAC-SHA256, ICV truncated to 128 bits) and
//! `SHA256` (full 256-bit ICV); `HMAC-SHA256-128`/`HMAC-SHA256` are accepted as spellings.
//! linuxptp's CMAC labels (`AES128`, `AES256`) are refused. Keys are `HEX:`, `B64:`, `ASCII:`
//! or, without a prefix, the ASCII text itself; the optional length is checked against the
//! decoded key.
//!
//! Where ptp4l logs a bad line and drops the association, xptp refuses the whole file and
//! names every bad line, so a typo never silently turns authentication off. Key bytes never
//! appear in `Debug` output or in error messages.

use core::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;

/// linuxptp's default `seqid_window`.
pub const DEFAULT_SEQID_WINDOW: u16 = 3;

/// An ICV algorithm (IEEE 1588-2019 P.3.2: HMAC-SHA256 with a 128- or 256-bit ICV).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum IcvAlgorithm {
    /// HMAC-SHA256 truncated to its leftmost 128 bits (linuxptp `SHA256-128`).
    HmacSha256_128,
    /// HMAC-SHA256, 256-bit ICV (linuxptp `SHA256`).
    HmacSha256,
}

impl IcvAlgorithm {
    /// The label in the sa_file.
    pub const fn label(self) -> &'static str {
        match self {
            Self::HmacSha256_128 => "SHA256-128",
            Self::HmacSha256 => "SHA256",
        }
    }

    /// Octets of the ICV field.
    pub const fn icv_len(self) -> usize {
        match self {
            Self::HmacSha256_128 => 16,
            Self::HmacSha256 => 32,
        }
    }

    fn from_label(s: &str) -> Result<Self, SaProblem> {
        let up = s.to_ascii_uppercase();
        match up.trim_start_matches("HMAC-") {
            "SHA256-128" => Ok(Self::HmacSha256_128),
            "SHA256" => Ok(Self::HmacSha256),
            "AES128" | "AES256" => Err(SaProblem::UnsupportedAlgorithm(s.to_owned())),
            _ => Err(SaProblem::UnknownAlgorithm(s.to_owned())),
        }
    }
}

/// One pre-shared key of an association.
#[derive(Clone, PartialEq, Eq)]
pub struct SaKey {
    /// keyID of the AUTHENTICATION TLV (1..=2^32-1).
    pub key_id: u32,
    pub algorithm: IcvAlgorithm,
    key: Vec<u8>,
}

impl SaKey {
    /// A key (for tests and programmatic set-up).
    pub fn new(key_id: u32, algorithm: IcvAlgorithm, key: Vec<u8>) -> Self {
        SaKey {
            key_id,
            algorithm,
            key,
        }
    }

    /// The secret octets.
    pub fn secret(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for SaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaKey")
            .field("key_id", &self.key_id)
            .field("algorithm", &self.algorithm)
            .field("key", &format_args!("<{} octets redacted>", self.key.len()))
            .finish()
    }
}

/// One security association (IEEE 1588-2019 P.2.1): what an SPP points at.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SecurityAssociation {
    /// Security Parameter Pointer.
    pub spp: u8,
    /// Anti-replay window: a sequenceId may be at most this far ahead of the last accepted one
    /// from the same sender and message type (0 disables the check).
    pub seqid_window: u16,
    /// `allow_mutable 1`: correctionField is zeroed for the ICV, so transparent clocks may
    /// change it (it is then not protected).
    pub allow_mutable: bool,
    pub keys: Vec<SaKey>,
}

impl SecurityAssociation {
    /// An association with linuxptp's defaults and no keys.
    pub fn new(spp: u8) -> Self {
        SecurityAssociation {
            spp,
            seqid_window: DEFAULT_SEQID_WINDOW,
            allow_mutable: false,
            keys: Vec::new(),
        }
    }

    /// The key with `key_id`.
    pub fn key(&self, key_id: u32) -> Option<&SaKey> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }
}

/// The whole database.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SecurityAssociations {
    pub associations: Vec<SecurityAssociation>,
}

/// What is wrong with one line of an sa_file.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum SaProblem {
    #[error(
        "'{0}' is outside a [security_association] section; put [security_association] before it"
    )]
    OutsideSection(String),
    #[error("'{0}' comes before the association's spp line; start each [security_association] with 'spp N'")]
    MissingSpp(String),
    #[error("spp {0} out of range [0, 255]")]
    SppRange(String),
    #[error("spp {0} is already defined on line {1}; each association needs its own spp")]
    DuplicateSpp(u8, usize),
    #[error("{key} '{value}' is not an integer")]
    NotInteger { key: &'static str, value: String },
    #[error("seqid_window {0} out of range [0, 32767]")]
    WindowRange(i64),
    #[error("{key} {value} is not supported: the optional {field} field of the AUTHENTICATION TLV is not implemented (linuxptp does not implement it either); remove the line or set {key} 0")]
    OptionalField {
        key: &'static str,
        field: &'static str,
        value: i64,
    },
    #[error("allow_mutable {0} must be 0 or 1")]
    MutableRange(i64),
    #[error("'{0}' is not a key line: expected 'KEY_ID ALGORITHM [LENGTH] KEY'")]
    BadKeyLine(String),
    #[error("key_id '{0}' is not in [1, 4294967295]")]
    KeyIdRange(String),
    #[error("key_id {0} is already defined on line {1} of this association")]
    DuplicateKeyId(u32, usize),
    #[error("algorithm '{0}' is not supported: xptp implements HMAC-SHA256 only; use SHA256-128 or SHA256")]
    UnsupportedAlgorithm(String),
    #[error("unknown algorithm '{0}': use SHA256-128 or SHA256")]
    UnknownAlgorithm(String),
    #[error("key length '{0}' is not a number")]
    BadLength(String),
    #[error("HEX: key has an odd number of digits or a character that is not a hex digit")]
    BadHex,
    #[error("B64: key is not valid Base64")]
    BadBase64,
    #[error("the key is empty")]
    EmptyKey,
    #[error("the key has {actual} octets but the line says {declared}")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("'{0}' is not a known sa_file line")]
    Unknown(String),
}

/// One bad line.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SaDiagnostic {
    /// 1-based line number.
    pub line: usize,
    pub problem: SaProblem,
}

impl fmt::Display for SaDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sa_file line {}: {}", self.line, self.problem)
    }
}

/// Why an sa_file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SaFileError {
    #[error("cannot read sa_file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Every bad line, in file order.
    #[error("{}", join(.0))]
    Invalid(Vec<SaDiagnostic>),
}

fn join(d: &[SaDiagnostic]) -> String {
    d.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl SecurityAssociations {
    /// Reads and parses an sa_file.
    pub fn load(path: &Path) -> Result<Self, SaFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| SaFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text)
    }

    /// The association with `spp`.
    pub fn get(&self, spp: u8) -> Option<&SecurityAssociation> {
        self.associations.iter().find(|a| a.spp == spp)
    }

    /// Parses sa_file text; all bad lines are reported together.
    pub fn parse(text: &str) -> Result<Self, SaFileError> {
        Self::parse_located(text).map(|(db, _)| db)
    }

    /// Like [`Self::parse`], also returning the 1-based line of each association's `spp`
    /// line, in the order of `associations` (for messages that point into the file).
    pub fn parse_located(text: &str) -> Result<(Self, Vec<usize>), SaFileError> {
        let mut p = Parser::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Err(problem) = p.line(i + 1, line) {
                p.errors.push(SaDiagnostic {
                    line: i + 1,
                    problem,
                });
            }
        }
        if p.errors.is_empty() {
            let (lines, associations) = p.done.into_iter().map(|(l, sa, _)| (l, sa)).unzip();
            Ok((SecurityAssociations { associations }, lines))
        } else {
            Err(SaFileError::Invalid(p.errors))
        }
    }
}

#[derive(Default)]
struct Parser {
    in_section: bool,
    /// Index into `done` of the association being filled.
    current: Option<usize>,
    /// (line of spp, association, line of each key).
    done: Vec<(usize, SecurityAssociation, Vec<usize>)>,
    errors: Vec<SaDiagnostic>,
}

fn int(key: &'static str, v: &str) -> Result<i64, SaProblem> {
    v.parse::<i64>().map_err(|_| SaProblem::NotInteger {
        key,
        value: v.to_owned(),
    })
}

impl Parser {
    fn line(&mut self, n: usize, line: &str) -> Result<(), SaProblem> {
        if line.eq_ignore_ascii_case("[security_association]") {
            self.in_section = true;
            self.current = None;
            return Ok(());
        }
        if !self.in_section {
            return Err(SaProblem::OutsideSection(line.to_owned()));
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let (first, value) = (words.first().copied().unwrap_or(""), words.get(1).copied());
        let single = words.len() == 2;
        match (first, value) {
            ("spp", Some(v)) if single => {
                let spp = int("spp", v)?;
                let spp = u8::try_from(spp).map_err(|_| SaProblem::SppRange(v.to_owned()))?;
                if let Some((l, _, _)) = self.done.iter().find(|(_, a, _)| a.spp == spp) {
                    self.current = None;
                    return Err(SaProblem::DuplicateSpp(spp, *l));
                }
                self.done
                    .push((n, SecurityAssociation::new(spp), Vec::new()));
                self.current = Some(self.done.len() - 1);
                Ok(())
            }
            (
                key @ ("seqid_window" | "allow_mutable" | "seqnum_length" | "res_length"),
                Some(v),
            ) if single => {
                let key: &'static str = match key {
                    "seqid_window" => "seqid_window",
                    "allow_mutable" => "allow_mutable",
                    "seqnum_length" => "seqnum_length",
                    _ => "res_length",
                };
                let x = int(key, v)?;
                let sa = self.current_sa(line)?;
                match key {
                    "seqid_window" => {
                        sa.seqid_window = u16::try_from(x)
                            .ok()
                            .filter(|w| *w <= i16::MAX as u16)
                            .ok_or(SaProblem::WindowRange(x))?;
                    }
                    "allow_mutable" => {
                        sa.allow_mutable = match x {
                            0 => false,
                            1 => true,
                            _ => return Err(SaProblem::MutableRange(x)),
                        };
                    }
                    _ if x != 0 => {
                        let field = if key == "seqnum_length" {
                            "sequenceNo"
                        } else {
                            "RES"
                        };
                        return Err(SaProblem::OptionalField {
                            key,
                            field,
                            value: x,
                        });
                    }
                    _ => {}
                }
                Ok(())
            }
            _ if first.starts_with(|c: char| c.is_ascii_digit()) => self.key_line(n, line, &words),
            _ => Err(SaProblem::Unknown(line.to_owned())),
        }
    }

    fn current_sa(&mut self, line: &str) -> Result<&mut SecurityAssociation, SaProblem> {
        let i = self
            .current
            .ok_or_else(|| SaProblem::MissingSpp(line.to_owned()))?;
        self.done
            .get_mut(i)
            .map(|(_, sa, _)| sa)
            .ok_or_else(|| SaProblem::MissingSpp(line.to_owned()))
    }

    fn key_line(&mut self, n: usize, line: &str, w: &[&str]) -> Result<(), SaProblem> {
        let (id, alg, len, key) = match w {
            [id, alg, key] => (*id, *alg, None, *key),
            [id, alg, len, key] => (*id, *alg, Some(*len), *key),
            _ => return Err(SaProblem::BadKeyLine(line.to_owned())),
        };
        let key_id = id
            .parse::<u32>()
            .ok()
            .filter(|k| *k >= 1)
            .ok_or_else(|| SaProblem::KeyIdRange(id.to_owned()))?;
        let algorithm = IcvAlgorithm::from_label(alg)?;
        let declared = len
            .map(|l| {
                l.parse::<usize>()
                    .map_err(|_| SaProblem::BadLength(l.to_owned()))
            })
            .transpose()?;
        let secret = decode_key(key)?;
        if secret.is_empty() {
            return Err(SaProblem::EmptyKey);
        }
        if let Some(d) = declared.filter(|d| *d != secret.len()) {
            return Err(SaProblem::LengthMismatch {
                declared: d,
                actual: secret.len(),
            });
        }
        let i = self
            .current
            .ok_or_else(|| SaProblem::MissingSpp(line.to_owned()))?;
        let Some((_, sa, lines)) = self.done.get_mut(i) else {
            return Err(SaProblem::MissingSpp(line.to_owned()));
        };
        if let Some(pos) = sa.keys.iter().position(|k| k.key_id == key_id) {
            return Err(SaProblem::DuplicateKeyId(
                key_id,
                lines.get(pos).copied().unwrap_or(0),
            ));
        }
        sa.keys.push(SaKey::new(key_id, algorithm, secret));
        lines.push(n);
        Ok(())
    }
}

fn decode_key(s: &str) -> Result<Vec<u8>, SaProblem> {
    if let Some(h) = s.strip_prefix("HEX:") {
        if h.len() % 2 != 0 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SaProblem::BadHex);
        }
        return (0..h.len())
            .step_by(2)
            .map(|i| {
                h.get(i..i + 2)
                    .and_then(|p| u8::from_str_radix(p, 16).ok())
                    .ok_or(SaProblem::BadHex)
            })
            .collect();
    }
    if let Some(b) = s.strip_prefix("B64:") {
        return base64::engine::general_purpose::STANDARD
            .decode(b)
            .map_err(|_| SaProblem::BadBase64);
    }
    Ok(s.strip_prefix("ASCII:").unwrap_or(s).as_bytes().to_vec())
}
