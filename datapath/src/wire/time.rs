//! TimeInterval (IEEE 1588-2019 5.3.2): signed nanoseconds scaled by 2^16, the type of
//! correctionField and of the data-set fields offsetFromMaster, meanPathDelay and
//! peerMeanPathDelay.
//!
//! Arithmetic stays in integers; conversions keep the 2^-16 ns fraction.

use core::fmt;

/// IEEE 1588-2019 5.3.2: a time interval in units of 2^-16 ns, as a signed 64-bit integer.
///
/// `TimeInterval(0x0002_8000)` is 2.5 ns.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct TimeInterval(pub i64);

/// correctionField (IEEE 1588-2019 13.3.2.9) is a [`TimeInterval`].
pub type CorrectionField = TimeInterval;

impl TimeInterval {
    /// Wire length in octets.
    pub const LEN: usize = 8;
    /// Zero.
    pub const ZERO: TimeInterval = TimeInterval(0);
    /// The largest value, which the standard uses to mean "too big to represent"
    /// (IEEE 1588-2019 5.3.2).
    pub const MAX: TimeInterval = TimeInterval(i64::MAX);

    /// Whole nanoseconds, or `None` if `ns * 2^16` does not fit 64 bits.
    pub const fn from_nanos(ns: i64) -> Option<Self> {
        match ns.checked_mul(1 << 16) {
            Some(v) => Some(TimeInterval(v)),
            None => None,
        }
    }

    /// Whole nanoseconds, saturating at the ends of the range.
    pub const fn from_nanos_saturating(ns: i64) -> Self {
        TimeInterval(ns.saturating_mul(1 << 16))
    }

    /// The raw scaled value (units of 2^-16 ns).
    pub const fn scaled(self) -> i64 {
        self.0
    }

    /// Nanoseconds rounded toward negative infinity (the fraction is dropped).
    pub const fn nanos_floor(self) -> i64 {
        self.0 >> 16
    }

    /// Nanoseconds rounded to nearest (halves away from zero).
    pub const fn nanos_round(self) -> i64 {
        let v = self.0 as i128;
        let r = if v >= 0 {
            (v + (1 << 15)) >> 16
        } else {
            -((-v + (1 << 15)) >> 16)
        };
        r as i64
    }

    /// The exact value in units of 2^-16 ns, widened so that sums never overflow.
    pub const fn scaled_i128(self) -> i128 {
        self.0 as i128
    }

    /// Checked addition.
    pub const fn checked_add(self, other: TimeInterval) -> Option<TimeInterval> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(TimeInterval(v)),
            None => None,
        }
    }

    /// The value as floating-point nanoseconds, for display and the servo only.
    pub fn as_f64_nanos(self) -> f64 {
        self.0 as f64 / 65536.0
    }
}

/// Exact decimal nanoseconds: `2.5`, `-0.0000152587890625`, `17`.
impl fmt::Display for TimeInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let abs = self.0.unsigned_abs();
        let int = abs >> 16;
        let frac = abs & 0xffff;
        if neg {
            f.write_str("-")?;
        }
        write!(f, "{int}")?;
        if frac != 0 {
            // 10^16 / 2^16 = 152587890625 exactly, so 16 decimal digits are exact.
            let dec = frac * 152_587_890_625;
            let s = format!("{dec:016}");
            write!(f, ".{}", s.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_keep_the_fraction() {
        let t = TimeInterval(0x0002_8000);
        assert_eq!(t.nanos_floor(), 2);
        assert_eq!(t.nanos_round(), 3);
        assert_eq!(t.to_string(), "2.5");
        let n = TimeInterval(-0x0002_8000);
        assert_eq!(n.nanos_floor(), -3);
        assert_eq!(n.nanos_round(), -3);
        assert_eq!(n.to_string(), "-2.5");
        assert_eq!(TimeInterval(1).to_string(), "0.0000152587890625");
        assert_eq!(TimeInterval(-1).to_string(), "-0.0000152587890625");
        assert_eq!(TimeInterval::from_nanos(17).unwrap().to_string(), "17");
        assert_eq!(TimeInterval::from_nanos(-17).unwrap().scaled(), -17 * 65536);
        assert!(TimeInterval::from_nanos(i64::MAX / 1000).is_none());
        assert_eq!(
            TimeInterval::MAX.to_string(),
            "140737488355327.9999847412109375"
        );
        assert_eq!(TimeInterval(i64::MIN).to_string(), "-140737488355328");
    }
}
