//! UTC and TAI: the currentUtcOffset (IEEE 1588-2019 7.2.3, 8.2.4.2), its valid flag and the
//! leap61 / leap59 announcements (8.2.4.3), as pure functions usable by a grandmaster (which
//! announces them) and a slave (which learns them from Announce).
//!
//! A pending leap second takes effect at the end of the UTC day in which it is announced:
//! with leap61 the day ends with 23:59:60 and the offset then grows by one; with leap59 the
//! second 23:59:59 is skipped and the offset shrinks by one. All instants are TAI nanoseconds
//! since the PTP epoch (1970-01-01 TAI); UTC values are POSIX nanoseconds.

/// The UTC offset since 2017-01-01 (TAI − UTC = 37 s).
pub const DEFAULT_CURRENT_UTC_OFFSET: i16 = 37;

const NS: i64 = 1_000_000_000;
const DAY_NS: i64 = 86_400 * NS;

/// A UTC time; during an inserted leap second POSIX time repeats 23:59:59 and `leap_second`
/// says so.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct UtcTime {
    /// POSIX nanoseconds.
    pub unix_ns: i64,
    /// True during an inserted second (23:59:60).
    pub leap_second: bool,
}

/// What the timePropertiesDS says about UTC, plus when the pending leap happens.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct UtcOffset {
    /// currentUtcOffset in seconds (TAI − UTC).
    pub current_utc_offset: i16,
    /// currentUtcOffsetValid.
    pub current_utc_offset_valid: bool,
    /// leap61: the last minute of the current UTC day has 61 seconds.
    pub leap61: bool,
    /// leap59: the last minute of the current UTC day has 59 seconds.
    pub leap59: bool,
    /// TAI instant at which the pending leap changes the offset (set by [`UtcOffset::set_leap`]).
    pub leap_at_tai_ns: Option<i64>,
}

impl Default for UtcOffset {
    fn default() -> Self {
        UtcOffset {
            current_utc_offset: DEFAULT_CURRENT_UTC_OFFSET,
            current_utc_offset_valid: false,
            leap61: false,
            leap59: false,
            leap_at_tai_ns: None,
        }
    }
}

impl UtcOffset {
    /// A known offset, valid, no leap pending.
    pub fn valid(current_utc_offset: i16) -> Self {
        UtcOffset {
            current_utc_offset,
            current_utc_offset_valid: true,
            ..Default::default()
        }
    }

    fn offset_ns(&self) -> i64 {
        i64::from(self.current_utc_offset) * NS
    }

    /// End (next midnight) of the UTC day containing TAI instant `tai_ns`, in UTC ns.
    fn utc_day_end(&self, tai_ns: i64) -> i64 {
        let utc = tai_ns - self.offset_ns();
        (utc.div_euclid(DAY_NS) + 1) * DAY_NS
    }

    /// Records the leap flags as announced at `now_tai_ns` (both set is invalid and treated as
    /// none). Re-announcing the same leap keeps the same instant.
    pub fn set_leap(&mut self, now_tai_ns: i64, leap61: bool, leap59: bool) {
        let (leap61, leap59) = if leap61 && leap59 {
            (false, false)
        } else {
            (leap61, leap59)
        };
        if (leap61, leap59) == (self.leap61, self.leap59) && self.leap_at_tai_ns.is_some() {
            return;
        }
        self.leap61 = leap61;
        self.leap59 = leap59;
        let end = self.utc_day_end(now_tai_ns);
        self.leap_at_tai_ns = if leap61 {
            // After 23:59:60, i.e. one second past midnight in the old offset.
            Some(end + self.offset_ns() + NS)
        } else if leap59 {
            // When UTC would reach 23:59:59.
            Some(end - NS + self.offset_ns())
        } else {
            None
        };
    }

    /// Applies the pending leap if its instant has passed; returns true if it did.
    pub fn update(&mut self, now_tai_ns: i64) -> bool {
        match self.leap_at_tai_ns {
            Some(at) if now_tai_ns >= at => {
                if self.leap61 {
                    self.current_utc_offset += 1;
                } else if self.leap59 {
                    self.current_utc_offset -= 1;
                }
                self.leap61 = false;
                self.leap59 = false;
                self.leap_at_tai_ns = None;
                true
            }
            _ => false,
        }
    }

    /// The offset (s) in effect at `tai_ns`, taking the pending leap into account.
    pub fn offset_at(&self, tai_ns: i64) -> i16 {
        match self.leap_at_tai_ns {
            Some(at) if tai_ns >= at && self.leap61 => self.current_utc_offset + 1,
            Some(at) if tai_ns >= at && self.leap59 => self.current_utc_offset - 1,
            _ => self.current_utc_offset,
        }
    }

    /// Converts TAI to UTC, marking the inserted second.
    pub fn tai_to_utc(&self, tai_ns: i64) -> UtcTime {
        if let (true, Some(at)) = (self.leap61, self.leap_at_tai_ns) {
            if tai_ns >= at - NS && tai_ns < at {
                // 23:59:60.x, shown as a repeated 23:59:59.x.
                return UtcTime {
                    unix_ns: tai_ns - self.offset_ns() - NS,
                    leap_second: true,
                };
            }
        }
        UtcTime {
            unix_ns: tai_ns - i64::from(self.offset_at(tai_ns)) * NS,
            leap_second: false,
        }
    }

    /// Converts UTC (POSIX ns, not during an inserted second) to TAI.
    pub fn utc_to_tai(&self, unix_ns: i64) -> i64 {
        let guess = unix_ns + self.offset_ns();
        unix_ns + i64::from(self.offset_at(guess)) * NS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2016-12-31 12:00:00 UTC in POSIX seconds (the last leap second ended that day).
    const NOON: i64 = 1_483_185_600;
    /// 2017-01-01 00:00:00 UTC.
    const MIDNIGHT: i64 = 1_483_228_800;

    #[test]
    fn leap61_inserts_23_59_60_at_the_end_of_the_utc_day() {
        let mut u = UtcOffset::valid(36);
        let now = (NOON + 36) * NS;
        u.set_leap(now, true, false);
        assert_eq!(u.leap_at_tai_ns, Some((MIDNIGHT + 36 + 1) * NS));
        // 23:59:59.5 UTC: normal.
        let t = (MIDNIGHT - 1 + 36) * NS + NS / 2;
        assert_eq!(
            u.tai_to_utc(t),
            UtcTime {
                unix_ns: (MIDNIGHT - 1) * NS + NS / 2,
                leap_second: false
            }
        );
        // One TAI second later: 23:59:60.5.
        let t = (MIDNIGHT + 36) * NS + NS / 2;
        assert_eq!(
            u.tai_to_utc(t),
            UtcTime {
                unix_ns: (MIDNIGHT - 1) * NS + NS / 2,
                leap_second: true
            }
        );
        // One more: 00:00:00.5 with offset 37.
        let t = (MIDNIGHT + 37) * NS + NS / 2;
        assert_eq!(u.offset_at(t), 37);
        assert_eq!(u.tai_to_utc(t).unix_ns, MIDNIGHT * NS + NS / 2);
        assert!(!u.update(t - NS));
        assert!(u.update(t));
        assert_eq!(
            (u.current_utc_offset, u.leap61, u.leap_at_tai_ns),
            (37, false, None)
        );
        assert_eq!(u.utc_to_tai(MIDNIGHT * NS), (MIDNIGHT + 37) * NS);
    }

    #[test]
    fn leap59_skips_23_59_59() {
        let mut u = UtcOffset::valid(37);
        u.set_leap((NOON + 37) * NS, false, true);
        // 23:59:58.5 → next TAI second is 00:00:00.5.
        let t = (MIDNIGHT - 2 + 37) * NS + NS / 2;
        assert_eq!(u.tai_to_utc(t).unix_ns, (MIDNIGHT - 2) * NS + NS / 2);
        assert_eq!(u.tai_to_utc(t + NS).unix_ns, MIDNIGHT * NS + NS / 2);
        assert!(u.update(t + NS));
        assert_eq!(u.current_utc_offset, 36);
    }

    #[test]
    fn defaults_and_reannouncement() {
        let d = UtcOffset::default();
        assert_eq!(
            (d.current_utc_offset, d.current_utc_offset_valid),
            (37, false)
        );
        let mut u = UtcOffset::valid(37);
        u.set_leap((NOON + 37) * NS, true, false);
        let at = u.leap_at_tai_ns;
        // The same announcement later the same day does not move the instant.
        u.set_leap((NOON + 37 + 3600) * NS, true, false);
        assert_eq!(u.leap_at_tai_ns, at);
        // Both flags: contradictory, ignored.
        u.set_leap((NOON + 37) * NS, true, true);
        assert_eq!((u.leap61, u.leap59, u.leap_at_tai_ns), (false, false, None));
    }
}
