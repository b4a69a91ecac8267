//! Monotonic time as the protocol core sees it: an [`Instant`] is an integer count of nanoseconds
//! on whatever monotonic clock the shell drives the core with (simulated time in the simulator,
//! `CLOCK_MONOTONIC` on a box). The core never reads a clock itself; it only compares and adds
//! the instants it is given.
//!
//! Also here: the `2^logInterval` seconds arithmetic of IEEE 1588-2019 7.7.2, in integers.

use core::fmt;
use core::time::Duration;

/// A point on the core's monotonic timeline, in nanoseconds from an arbitrary origin.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    /// The origin of the timeline.
    pub const ZERO: Instant = Instant(0);
    /// The farthest instant; adding past it saturates here.
    pub const MAX: Instant = Instant(u64::MAX);

    /// Builds an instant from nanoseconds since the origin.
    pub const fn from_nanos(ns: u64) -> Self {
        Instant(ns)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at [`Instant::MAX`] (a deadline that far away never fires).
    pub fn saturating_add(self, d: Duration) -> Instant {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ns))
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Instant({}.{:09})",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// `2^log_interval` seconds as a [`Duration`] (IEEE 1588-2019 7.7.2.1: message intervals are
/// carried as their base-2 logarithm in seconds). Exact for every `i8`: negative values shift
/// the nanosecond count right (2^-30 s and below round down to 0 ns, then to 1 ns so that a
/// timer can never be armed for "now" in a loop); positive values above 2^33 s saturate.
pub fn log_interval(log_interval: i8) -> Duration {
    let ns = if log_interval >= 0 {
        let shift = u32::from(log_interval.unsigned_abs());
        NANOS_PER_SEC
            .checked_shl(shift)
            .filter(|v| v >> shift == NANOS_PER_SEC)
    } else {
        Some(NANOS_PER_SEC >> log_interval.unsigned_abs().min(63))
    };
    Duration::from_nanos(ns.unwrap_or(u64::MAX).max(1))
}

/// `n × 2^log_interval` seconds, saturating.
pub fn log_interval_times(n: u32, log: i8) -> Duration {
    log_interval(log).saturating_mul(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_intervals() {
        assert_eq!(log_interval(0), Duration::from_secs(1));
        assert_eq!(log_interval(1), Duration::from_secs(2));
        assert_eq!(log_interval(4), Duration::from_secs(16));
        assert_eq!(log_interval(-3), Duration::from_millis(125));
        assert_eq!(log_interval(-4), Duration::from_nanos(62_500_000));
        assert_eq!(log_interval(-7), Duration::from_nanos(7_812_500));
        assert_eq!(log_interval(-128), Duration::from_nanos(1));
        assert_eq!(log_interval(127), Duration::from_nanos(u64::MAX));
        assert_eq!(log_interval_times(3, 1), Duration::from_secs(6));
    }

    #[test]
    fn instant_arithmetic_saturates() {
        let t = Instant::from_nanos(5);
        assert_eq!(t + Duration::from_nanos(7), Instant(12));
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(
            Instant(3).saturating_duration_since(Instant(10)),
            Duration::ZERO
        );
    }
}
