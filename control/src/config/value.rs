//! Value parsing with ptp4l's rules: integers as `strtol(s, _, 0)` (decimal, `0x` hex, leading
//! `0` octal, optional sign, nothing after the number), reals as `strtod` (NaN refused), words
//! compared case-insensitively, strings taken verbatim (the rest of the line).

use std::fmt;

use xptp_datapath::wire::ClockIdentity;

use super::error::Problem;
use super::keys::{KeyDef, Ty, UNSUPPORTED_VALUES};

/// A parsed value.
#[derive(Clone, PartialEq, Debug)]
pub enum Value {
    Int(i64),
    Double(f64),
    /// The canonical spelling of an enum word.
    Enum(&'static str),
    Str(String),
    Mac([u8; 6]),
    Oui([u8; 3]),
    /// `None`: `000000.0000.000000`, derive from the interface.
    ClockId(Option<ClockIdentity>),
    /// `fault_reset_interval ASAP`.
    Asap,
}

impl Value {
    pub fn as_i64(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            _ => 0,
        }
    }

    pub fn as_f64(&self) -> f64 {
        match self {
            Value::Double(d) => *d,
            Value::Int(i) => *i as f64,
            _ => 0.0,
        }
    }

    pub fn as_bool(&self) -> bool {
        self.as_i64() != 0
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Double(d) => write!(f, "{d}"),
            Value::Enum(s) => f.write_str(s),
            Value::Str(s) => f.write_str(s),
            Value::Mac(m) => write!(f, "{}", hex_colon(m)),
            Value::Oui(m) => write!(f, "{}", hex_colon(m)),
            Value::ClockId(None) => f.write_str("000000.0000.000000"),
            Value::ClockId(Some(c)) => {
                let b = c.0;
                write!(
                    f,
                    "{:02x}{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}{:02x}",
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
                )
            }
            Value::Asap => f.write_str("ASAP"),
        }
    }
}

/// `01:1B:19:00:00:00`.
pub fn hex_colon(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `raw` as the value of `def`. Unsupported enum words are reported here too.
pub fn parse(def: &KeyDef, raw: &str) -> Result<Value, Problem> {
    let key = def.name;
    match def.ty {
        Ty::Int { min, max } => {
            let v = strtol(raw).ok_or_else(|| Problem::NotInteger {
                key,
                value: raw.to_owned(),
            })?;
            check_int(key, raw, v, min, max)
        }
        Ty::FaultInterval { min, max } => {
            if raw.eq_ignore_ascii_case("ASAP") {
                return Ok(Value::Asap);
            }
            let v = strtol(raw).ok_or_else(|| Problem::NotInteger {
                key,
                value: raw.to_owned(),
            })?;
            check_int(key, raw, v, min, max)
        }
        Ty::Double { min, max, min_open } => {
            let v: f64 = raw
                .parse()
                .ok()
                .filter(|v: &f64| !v.is_nan())
                .ok_or_else(|| Problem::NotNumber {
                    key,
                    value: raw.to_owned(),
                })?;
            let below = if min_open { v <= min } else { v < min };
            if below || v > max {
                return Err(Problem::OutOfRange {
                    key,
                    value: raw.to_owned(),
                    range: real_range(min, max, min_open),
                });
            }
            Ok(Value::Double(v))
        }
        Ty::Enum(words) => {
            let Some(w) = words.iter().find(|w| w.eq_ignore_ascii_case(raw)) else {
                return Err(Problem::BadEnum {
                    key,
                    value: raw.to_owned(),
                    allowed: words
                        .iter()
                        .filter(|w| !is_unsupported(key, w))
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            if let Some((_, _, reason)) = UNSUPPORTED_VALUES
                .iter()
                .find(|(k, v, _)| *k == key && v == w)
            {
                return Err(Problem::UnsupportedValue {
                    key,
                    value: (*w).to_owned(),
                    reason,
                });
            }
            Ok(Value::Enum(w))
        }
        Ty::Str => Ok(Value::Str(raw.to_owned())),
        Ty::Mac => hex_bytes::<6>(raw)
            .map(Value::Mac)
            .ok_or(Problem::BadFormat {
                key,
                value: raw.to_owned(),
                expected: "a MAC address (six hex bytes separated by ':', like 01:1B:19:00:00:00)",
            }),
        Ty::Oui => hex_bytes::<3>(raw)
            .map(Value::Oui)
            .ok_or(Problem::BadFormat {
                key,
                value: raw.to_owned(),
                expected: "an OUI (three hex bytes separated by ':', like 00:1B:19)",
            }),
        Ty::ClockId => clock_id(raw).map(Value::ClockId).ok_or(Problem::BadFormat {
            key,
            value: raw.to_owned(),
            expected: "a clock identity (16 hex digits as xxxxxx.xxxx.xxxxxx)",
        }),
    }
}

fn is_unsupported(key: &str, word: &str) -> bool {
    UNSUPPORTED_VALUES
        .iter()
        .any(|(k, v, _)| *k == key && *v == word)
}

fn check_int(key: &'static str, raw: &str, v: i64, min: i64, max: i64) -> Result<Value, Problem> {
    if v < min || v > max {
        return Err(Problem::OutOfRange {
            key,
            value: raw.to_owned(),
            range: format!("[{min}, {max}]"),
        });
    }
    Ok(Value::Int(v))
}

/// `[0, inf)`, `(0, 2]`.
pub fn real_range(min: f64, max: f64, min_open: bool) -> String {
    let lo = if min == f64::MIN {
        "(-inf".to_owned()
    } else if min_open {
        format!("({min}")
    } else {
        format!("[{min}")
    };
    let hi = if max == f64::MAX {
        "inf)".to_owned()
    } else {
        format!("{max}]")
    };
    format!("{lo}, {hi}")
}

/// C `strtol(s, &end, 0)` requiring `*end == '\0'`: optional sign, then `0x`/`0X` hex, `0`
/// octal or decimal. Values beyond i64 are returned saturated (they are out of every range).
pub fn strtol(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) =
        if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, h)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mut v: i128 = 0;
    for c in digits.chars() {
        v = (v * i128::from(radix) + i128::from(c.to_digit(radix)?)).min(i128::from(u64::MAX));
    }
    let v = if neg { -v } else { v };
    Some(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

fn hex_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    let mut parts = s.split(':');
    for b in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

fn clock_id(s: &str) -> Option<Option<ClockIdentity>> {
    let groups: Vec<&str> = s.split('.').collect();
    if groups.len() != 3
        || groups[0].len() != 6
        || groups[1].len() != 4
        || groups[2].len() != 6
        || !groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return None;
    }
    let hex: String = groups.concat();
    let mut id = [0u8; 8];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some((id != [0; 8]).then_some(ClockIdentity(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like_c() {
        assert_eq!(strtol("42"), Some(42));
        assert_eq!(strtol("-7"), Some(-7));
        assert_eq!(strtol("+7"), Some(7));
        assert_eq!(strtol("0xFE"), Some(254));
        assert_eq!(strtol("0x0"), Some(0));
        assert_eq!(strtol("010"), Some(8));
        assert_eq!(strtol("0"), Some(0));
        assert_eq!(strtol("-0"), Some(0));
        assert_eq!(strtol("09"), None);
        assert_eq!(strtol("1.0"), None);
        assert_eq!(strtol(""), None);
        assert_eq!(strtol("0x"), None);
        assert_eq!(strtol("5 # c"), None);
        assert_eq!(strtol("99999999999999999999999"), Some(i64::MAX));
    }

    #[test]
    fn structured_strings() {
        assert_eq!(
            hex_bytes::<6>("01:1b:19:0:00:00"),
            Some([1, 0x1B, 0x19, 0, 0, 0])
        );
        assert_eq!(hex_bytes::<6>("01:1B:19:00:00"), None);
        assert_eq!(hex_bytes::<6>("01:1B:19:00:00:00:00"), None);
        assert_eq!(hex_bytes::<3>("00:0g:00"), None);
        assert_eq!(clock_id("000000.0000.000000"), Some(None));
        assert_eq!(
            clock_id("001122.3344.556677"),
            Some(Some(ClockIdentity([
                0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77
            ])))
        );
        assert_eq!(clock_id("0011223344556677"), None);
        let v = Value::ClockId(Some(ClockIdentity([
            0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
        ])));
        assert_eq!(v.to_string(), "001122.3344.556677");
    }

    #[test]
    fn real_ranges_read_well() {
        assert_eq!(real_range(0.0, f64::MAX, false), "[0, inf)");
        assert_eq!(real_range(0.0, 2.0, true), "(0, 2]");
        assert_eq!(real_range(f64::MIN, f64::MAX, false), "(-inf, inf)");
    }
}
