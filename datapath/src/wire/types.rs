//! The small fixed-size data types that appear inside PTP messages and data sets
//! (IEEE 1588-2019 clause 5.3): ClockIdentity, PortIdentity, ClockQuality and Timestamp.
//!
//! They are plain values: encoding into and out of byte slices lives beside them, but this module
//! knows nothing of messages.

use core::fmt;

/// IEEE 1588-2019 5.3.4: an 8-octet identity, conventionally EUI-64 derived from a MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClockIdentity(pub [u8; 8]);

impl ClockIdentity {
    /// Wire length in octets.
    pub const LEN: usize = 8;

    /// The all-ones identity: in a PortIdentity, together with port number 0xFFFF, it addresses all
    /// ports of all clocks (IEEE 1588-2019 15.3.1, management targetPortIdentity).
    pub const ALL: ClockIdentity = ClockIdentity([0xff; 8]);

    /// Builds the identity from a 48-bit MAC address by inserting 0xFF 0xFE in the middle, as
    /// linuxptp and most implementations do (IEEE 1588-2019 7.5.2.2.2).
    pub const fn from_mac(mac: [u8; 6]) -> Self {
        ClockIdentity([mac[0], mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]])
    }

    /// Reads an identity from the first 8 bytes of `b`, or `None` if `b` is shorter.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        let arr: [u8; 8] = b.get(..8)?.try_into().ok()?;
        Some(ClockIdentity(arr))
    }
}

/// Printed the way linuxptp prints it: `001122.fffe.334455`.
impl fmt::Display for ClockIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
        )
    }
}

impl fmt::Debug for ClockIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClockIdentity({self})")
    }
}

/// IEEE 1588-2019 5.3.5: a clock identity plus a port number (1-based; 0xFFFF means all ports).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PortIdentity {
    pub clock_identity: ClockIdentity,
    pub port_number: u16,
}

impl PortIdentity {
    /// Wire length in octets.
    pub const LEN: usize = 10;

    /// All ports of all clocks (IEEE 1588-2019 15.3.1).
    pub const ALL: PortIdentity = PortIdentity {
        clock_identity: ClockIdentity::ALL,
        port_number: 0xffff,
    };

    pub const fn new(clock_identity: ClockIdentity, port_number: u16) -> Self {
        PortIdentity {
            clock_identity,
            port_number,
        }
    }

    /// Reads a port identity from the first 10 bytes of `b`, or `None` if `b` is shorter.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        let clock_identity = ClockIdentity::from_slice(b)?;
        let pn = b.get(8..10)?;
        Some(PortIdentity {
            clock_identity,
            port_number: u16::from_be_bytes([*pn.first()?, *pn.get(1)?]),
        })
    }

    /// Writes the 10-byte wire form.
    pub fn to_bytes(&self) -> [u8; 10] {
        let mut out = [0u8; 10];
        out[..8].copy_from_slice(&self.clock_identity.0);
        out[8..].copy_from_slice(&self.port_number.to_be_bytes());
        out
    }
}

/// Printed as linuxptp prints it: `001122.fffe.334455-1`.
impl fmt::Display for PortIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.clock_identity, self.port_number)
    }
}

impl fmt::Debug for PortIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PortIdentity({self})")
    }
}

/// IEEE 1588-2019 5.3.7: clockClass, clockAccuracy (7.6.2.6, Table 5) and
/// offsetScaledLogVariance (7.6.3.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ClockQuality {
    pub clock_class: u8,
    pub clock_accuracy: u8,
    pub offset_scaled_log_variance: u16,
}

impl ClockQuality {
    /// Wire length in octets.
    pub const LEN: usize = 4;

    /// Reads from the first 4 bytes of `b`.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        let q = b.get(..4)?;
        Some(ClockQuality {
            clock_class: *q.first()?,
            clock_accuracy: *q.get(1)?,
            offset_scaled_log_variance: u16::from_be_bytes([*q.get(2)?, *q.get(3)?]),
        })
    }

    /// Writes the 4-byte wire form.
    pub fn to_bytes(&self) -> [u8; 4] {
        let v = self.offset_scaled_log_variance.to_be_bytes();
        [self.clock_class, self.clock_accuracy, v[0], v[1]]
    }
}

/// A value that cannot be a PTP Timestamp.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum TimestampError {
    /// nanoseconds must be below 10^9 (IEEE 1588-2019 5.3.3).
    #[error("timestamp nanoseconds field {0} is not below 1000000000")]
    NanosecondsOutOfRange(u32),
    /// secondsField is 48 bits wide; the value does not fit, or is negative.
    #[error("time {0} ns is outside the 48-bit seconds range of a PTP timestamp")]
    OutOfRange(i128),
}

/// IEEE 1588-2019 5.3.3: a 48-bit seconds field and a 32-bit nanoseconds field (< 10^9),
/// 10 octets on the wire.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct Timestamp {
    /// Seconds, only the low 48 bits are valid.
    pub seconds: u64,
    /// Nanoseconds, always below 10^9 when the value came from a checked constructor.
    pub nanoseconds: u32,
}

impl Timestamp {
    /// Wire length in octets.
    pub const LEN: usize = 10;
    /// Largest representable seconds value.
    pub const MAX_SECONDS: u64 = (1 << 48) - 1;

    /// Builds a timestamp from whole nanoseconds since the PTP epoch.
    pub fn from_nanos(ns: i128) -> Result<Self, TimestampError> {
        if ns < 0 {
            return Err(TimestampError::OutOfRange(ns));
        }
        let seconds = ns / 1_000_000_000;
        if seconds > Self::MAX_SECONDS as i128 {
            return Err(TimestampError::OutOfRange(ns));
        }
        Ok(Timestamp {
            seconds: seconds as u64,
            nanoseconds: (ns % 1_000_000_000) as u32,
        })
    }

    /// Whole nanoseconds since the PTP epoch.
    pub const fn to_nanos(&self) -> i128 {
        self.seconds as i128 * 1_000_000_000 + self.nanoseconds as i128
    }

    /// Reads the 10-byte wire form. Rejects nanoseconds ≥ 10^9.
    pub fn from_slice(b: &[u8]) -> Option<Result<Self, TimestampError>> {
        let t = b.get(..10)?;
        let mut s = [0u8; 8];
        s.get_mut(2..)?.copy_from_slice(t.get(..6)?);
        let seconds = u64::from_be_bytes(s);
        let nanoseconds = u32::from_be_bytes(t.get(6..10)?.try_into().ok()?);
        Some(if nanoseconds >= 1_000_000_000 {
            Err(TimestampError::NanosecondsOutOfRange(nanoseconds))
        } else {
            Ok(Timestamp {
                seconds,
                nanoseconds,
            })
        })
    }

    /// Writes the 10-byte wire form (the seconds are truncated to 48 bits).
    pub fn to_bytes(&self) -> [u8; 10] {
        let mut out = [0u8; 10];
        let s = (self.seconds & Self::MAX_SECONDS).to_be_bytes();
        out[..6].copy_from_slice(&s[2..]);
        out[6..].copy_from_slice(&self.nanoseconds.to_be_bytes());
        out
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.seconds, self.nanoseconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_identity_from_mac_and_display_match_linuxptp() {
        let id = ClockIdentity::from_mac([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
        assert_eq!(id.0, [0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]);
        assert_eq!(id.to_string(), "021122.fffe.334455");
        assert_eq!(PortIdentity::new(id, 1).to_string(), "021122.fffe.334455-1");
    }

    #[test]
    fn port_identity_round_trip() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8, 0x12, 0x34];
        let p = PortIdentity::from_slice(&b).unwrap();
        assert_eq!(p.port_number, 0x1234);
        assert_eq!(p.to_bytes(), b);
        assert!(PortIdentity::from_slice(&b[..9]).is_none());
    }

    #[test]
    fn clock_quality_round_trip() {
        let b = [248, 0xfe, 0xff, 0xff];
        let q = ClockQuality::from_slice(&b).unwrap();
        assert_eq!(q.clock_class, 248);
        assert_eq!(q.offset_scaled_log_variance, 0xffff);
        assert_eq!(q.to_bytes(), b);
    }

    #[test]
    fn timestamp_bytes_and_nanos() {
        let b = [0x00, 0x00, 0x65, 0x00, 0x00, 0x01, 0x3b, 0x9a, 0xc9, 0xff];
        let t = Timestamp::from_slice(&b).unwrap().unwrap();
        assert_eq!(t.seconds, 0x6500_0001);
        assert_eq!(t.nanoseconds, 999_999_999);
        assert_eq!(t.to_bytes(), b);
        assert_eq!(Timestamp::from_nanos(t.to_nanos()).unwrap(), t);
        let bad = [0, 0, 0, 0, 0, 0, 0x3b, 0x9a, 0xca, 0x00];
        assert_eq!(
            Timestamp::from_slice(&bad).unwrap(),
            Err(TimestampError::NanosecondsOutOfRange(1_000_000_000))
        );
        assert!(Timestamp::from_nanos(-1).is_err());
        assert!(Timestamp::from_nanos(((1i128 << 48) + 1) * 1_000_000_000).is_err());
    }
}
