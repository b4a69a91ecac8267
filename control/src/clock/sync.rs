//! The phc2sys function: keep a target clock (CLOCK_REALTIME or another PHC) disciplined to a
//! source PHC, from PTP_SYS_OFFSET* readings, through any servo; and, for a grandmaster, set
//! the PHC from the system clock at start (what `phc_ctl <if> set` does, but by a precise
//! step rather than a coarse settime).
//!
//! The measurement and decision ([`phc_to_sys_offset`], [`phc_to_phc_offset`],
//! [`Phc2Sys::step`]) are pure; [`Phc2Sys::sync_system_once`] and friends only read the clocks
//! and apply the servo's action.

use super::phc::{best_sample, PhcClock, SysOffsetSample};
use super::syscalls::ClockSyscalls;
use super::{Clock, ClockError, NS_PER_SEC};
use crate::servo::{Servo, ServoAction, ServoOutput};

/// One offset measurement between a source and a target clock.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OffsetMeasurement {
    /// Target minus source, after moving the source into the target's timescale (ns).
    pub offset_ns: i64,
    /// The target clock's time of the measurement (ns).
    pub target_ts_ns: i64,
    /// Width of the read window that bounds the measurement's error (ns).
    pub window_ns: i64,
}

/// Offset of the system clock (target) from a PHC (source), from PTP_SYS_OFFSET* samples: the
/// sample with the shortest system-read window, compared at its midpoint.
/// `source_minus_target_scale_ns` is the timescale difference (37 s when the PHC keeps TAI and
/// the system clock keeps UTC; 0 when both use the same timescale).
pub fn phc_to_sys_offset(
    samples: &[SysOffsetSample],
    source_minus_target_scale_ns: i64,
) -> Option<OffsetMeasurement> {
    let b = best_sample(samples)?;
    let mid = b.sys_midpoint();
    Some(OffsetMeasurement {
        offset_ns: mid - (b.phc - source_minus_target_scale_ns),
        target_ts_ns: mid,
        window_ns: b.window(),
    })
}

/// Offset of a target PHC from a source PHC (same timescale), each measured against the system
/// clock; the system clock's own error cancels out.
pub fn phc_to_phc_offset(
    source: &[SysOffsetSample],
    target: &[SysOffsetSample],
) -> Option<OffsetMeasurement> {
    let s = best_sample(source)?;
    let t = best_sample(target)?;
    Some(OffsetMeasurement {
        offset_ns: t.phc_minus_sys() - s.phc_minus_sys(),
        target_ts_ns: t.phc,
        window_ns: s.window() + t.window(),
    })
}

/// Applies a servo action to a clock.
pub fn apply_action(clock: &mut dyn Clock, action: ServoAction) -> Result<(), ClockError> {
    match action {
        ServoAction::None => Ok(()),
        ServoAction::AdjustFrequency(f) => clock.adjust_frequency(f).map(|_| ()),
        ServoAction::Step { step_ns, freq_ppb } => {
            clock.step(step_ns)?;
            clock.adjust_frequency(freq_ppb).map(|_| ())
        }
    }
}

/// The phc2sys loop state: a servo and the last measurement.
#[derive(Debug)]
pub struct Phc2Sys {
    servo: Box<dyn Servo>,
    /// PTP_SYS_OFFSET* readings per measurement (phc2sys `-N`).
    pub readings: u32,
    /// The last measurement and what the servo did with it.
    pub last: Option<(OffsetMeasurement, ServoOutput)>,
}

impl Phc2Sys {
    /// A loop driving `servo`, taking `readings` samples per measurement.
    pub fn new(servo: Box<dyn Servo>, readings: u32) -> Self {
        Phc2Sys {
            servo,
            readings: readings.max(1),
            last: None,
        }
    }

    /// Sets the servo's sample interval (s).
    pub fn set_interval(&mut self, interval_s: f64) {
        self.servo.set_sync_interval(interval_s);
    }

    /// The servo's current frequency estimate (ppb).
    pub fn servo_frequency(&self) -> f64 {
        self.servo.frequency()
    }

    /// Pure: feeds one measurement to the servo.
    pub fn step(&mut self, m: OffsetMeasurement) -> ServoOutput {
        let out = self.servo.sample(m.offset_ns, m.target_ts_ns, 1.0);
        self.last = Some((m, out));
        out
    }

    /// Measures `source` against the system clock and steers `target` (the system clock, or
    /// anything keeping the system clock's timescale).
    pub fn sync_system_once<S: ClockSyscalls>(
        &mut self,
        source: &PhcClock<S>,
        target: &mut dyn Clock,
        source_minus_target_scale_ns: i64,
    ) -> Result<ServoOutput, ClockError> {
        let samples = source.sys_offset(self.readings)?;
        let m = phc_to_sys_offset(&samples, source_minus_target_scale_ns).ok_or(
            ClockError::NoOffsetSample {
                clock: source.name().to_string(),
                n: self.readings,
            },
        )?;
        let out = self.step(m);
        apply_action(target, out.action)?;
        Ok(out)
    }

    /// Measures both PHCs against the system clock and steers `target` to `source`.
    pub fn sync_phc_once<S: ClockSyscalls, T: ClockSyscalls>(
        &mut self,
        source: &PhcClock<S>,
        target: &mut PhcClock<T>,
    ) -> Result<ServoOutput, ClockError> {
        let s = source.sys_offset(self.readings)?;
        let t = target.sys_offset(self.readings)?;
        let m = phc_to_phc_offset(&s, &t).ok_or(ClockError::NoOffsetSample {
            clock: target.name().to_string(),
            n: self.readings,
        })?;
        let out = self.step(m);
        apply_action(target, out.action)?;
        Ok(out)
    }
}

/// What [`set_phc_from_system`] did (all nanoseconds).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PhcSetReport {
    /// The PHC's reading just before it was set.
    pub before_ns: i64,
    /// The value written with `clock_settime` (CLOCK_REALTIME + UTC offset).
    pub set_to_ns: i64,
    /// The fine step applied afterwards from a PTP_SYS_OFFSET* comparison (0 if none).
    pub refine_ns: i64,
}

impl PhcSetReport {
    /// How far the PHC jumped in total.
    pub fn step_ns(&self) -> i64 {
        self.set_to_ns
            .saturating_sub(self.before_ns)
            .saturating_add(self.refine_ns)
    }
}

/// Grandmaster start-up, like `phc_ctl <if> set` but on the TAI timescale: sets the PHC to
/// CLOCK_REALTIME + `utc_offset_s` (TAI − UTC, normally 37) with `clock_settime`, then
/// removes what that coarse set missed (the time between the two calls) with a step measured
/// through PTP_SYS_OFFSET* (`readings` samples, shortest window).
pub fn set_phc_from_system<S: ClockSyscalls>(
    phc: &mut PhcClock<S>,
    utc_offset_s: i16,
    readings: u32,
) -> Result<PhcSetReport, ClockError> {
    let utc = i64::from(utc_offset_s) * NS_PER_SEC;
    let before_ns = phc.now()?;
    let realtime = phc
        .syscalls()
        .clock_gettime(super::ClockId::REALTIME)
        .map_err(|e| super::syscall_error("clock_gettime", "CLOCK_REALTIME", e))?;
    let set_to_ns = realtime.saturating_add(utc);
    phc.set_time(set_to_ns)?;
    let b = phc.best_sys_offset(readings)?;
    let refine_ns = b.sys_midpoint().saturating_add(utc).saturating_sub(b.phc);
    if refine_ns != 0 {
        phc.step(refine_ns)?;
    }
    Ok(PhcSetReport {
        before_ns,
        set_to_ns,
        refine_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::fake::{FakeCall, FakeSyscalls};
    use crate::clock::{ClockId, SystemClock};
    use crate::servo::{build, ServoConfig, ServoKind, ServoState};

    const S: i64 = NS_PER_SEC;
    const T0: i64 = 1_700_000_000 * S;

    #[test]
    fn shortest_window_wins() {
        let s = [
            SysOffsetSample {
                sys_before: 0,
                phc: 4_000,
                sys_after: 5_000,
            },
            SysOffsetSample {
                sys_before: 10_000,
                phc: 10_090,
                sys_after: 10_100,
            },
            SysOffsetSample {
                sys_before: 20_000,
                phc: 22_900,
                sys_after: 23_000,
            },
        ];
        let m = phc_to_sys_offset(&s, 0).unwrap();
        assert_eq!(
            (m.offset_ns, m.target_ts_ns, m.window_ns),
            (10_050 - 10_090, 10_050, 100)
        );
        // A negative window (system clock stepped mid-read) is never chosen.
        let bad = [SysOffsetSample {
            sys_before: 10,
            phc: 0,
            sys_after: 5,
        }];
        assert_eq!(phc_to_sys_offset(&bad, 0), None);
    }

    #[test]
    fn system_clock_follows_the_phc_with_utc_offset() {
        let fake = FakeSyscalls::new(T0);
        // PHC keeps TAI exactly; the system clock is 2 ms ahead and 30 ppm fast.
        fake.add_phc("/dev/ptp0", T0 + 37 * S, 0.0, 1_000_000, true);
        fake.set_native_ppb(ClockId::REALTIME, 30_000.0);
        fake.set_sys_offset_windows(vec![3_000, 200, 2_000], 0.5);
        let phc = PhcClock::open_with(fake.clone(), "/dev/ptp0").unwrap();
        let mut sys = SystemClock::discipline_realtime_explicitly(fake.clone()).unwrap();
        sys.step(2_000_000).unwrap();
        let mut p2s = Phc2Sys::new(build(ServoKind::Pi, &ServoConfig::default()), 5);
        let mut states = vec![];
        for _ in 0..120 {
            fake.advance(S);
            states.push(p2s.sync_system_once(&phc, &mut sys, 37 * S).unwrap().state);
        }
        assert!(states.contains(&ServoState::Jump));
        assert_eq!(*states.last().unwrap(), ServoState::Locked);
        let err = fake.read(ClockId::REALTIME).unwrap()
            - (fake.read(fake.phc_clock_id("/dev/ptp0").unwrap()).unwrap() - 37 * S);
        assert!(err.abs() < 50, "system clock error {err} ns");
        // Only CLOCK_REALTIME was touched; the PHC was only read.
        assert!(fake.calls().iter().all(|c| match c {
            FakeCall::SetFrequency(id, _) | FakeCall::Step(id, _) | FakeCall::SetTime(id, _) =>
                id.is_realtime(),
        }));
    }

    #[test]
    fn phc_set_from_system_refines_the_coarse_set_by_a_measured_step() {
        let fake = FakeSyscalls::new(T0);
        fake.add_phc("/dev/ptp0", 0, 0.0, 500_000, true);
        // The driver latches the PHC at the start of a 400 ns window: the midpoint
        // comparison sees the PHC 200 ns behind CLOCK_REALTIME + 37 s and steps it.
        fake.set_sys_offset_windows(vec![400], 0.0);
        let mut phc = PhcClock::open_with(fake.clone(), "/dev/ptp0").unwrap();
        let id = fake.phc_clock_id("/dev/ptp0").unwrap();
        let r = set_phc_from_system(&mut phc, 37, 3).unwrap();
        assert_eq!(r.refine_ns, 200);
        assert_eq!(
            fake.calls(),
            vec![FakeCall::SetTime(id, T0 + 37 * S), FakeCall::Step(id, 200)]
        );
        assert_eq!(r.step_ns(), T0 + 37 * S + 200);
    }

    #[test]
    fn phc_follows_phc_and_grandmaster_sets_phc_from_system() {
        let fake = FakeSyscalls::new(T0);
        fake.add_phc("/dev/ptp0", 0, 0.0, 500_000, true);
        fake.add_phc("/dev/ptp1", 5 * S, 10_000.0, 500_000, false);
        let mut src = PhcClock::open_with(fake.clone(), "/dev/ptp0").unwrap();
        let mut dst = PhcClock::open_with(fake.clone(), "/dev/ptp1").unwrap();
        // The fresh PHC reads 0: set it to system time + 37 s, with clock_settime on the PHC's
        // own clock id (never on CLOCK_REALTIME).
        let r = set_phc_from_system(&mut src, 37, 5).unwrap();
        let id0 = fake.phc_clock_id("/dev/ptp0").unwrap();
        assert_eq!(r.before_ns, 0);
        assert_eq!(r.set_to_ns, T0 + 37 * S);
        assert_eq!(
            fake.calls().first(),
            Some(&FakeCall::SetTime(id0, T0 + 37 * S))
        );
        assert!(r.refine_ns.abs() < 1_000 && (r.step_ns() - (T0 + 37 * S)).abs() < 1_000);
        assert!(fake.calls().iter().all(|c| matches!(c,
            FakeCall::SetTime(id, _) | FakeCall::Step(id, _) if *id == id0)));
        let tai = fake.read(ClockId::REALTIME).unwrap() + 37 * S;
        assert!((src.now().unwrap() - tai).abs() < 1_000);
        let mut p2p = Phc2Sys::new(build(ServoKind::Pi, &ServoConfig::default()), 5);
        for _ in 0..60 {
            fake.advance(S);
            p2p.sync_phc_once(&src, &mut dst).unwrap();
        }
        let diff = dst.now().unwrap() - src.now().unwrap();
        assert!(diff.abs() < 50, "PHC difference {diff} ns");
        assert!((dst.frequency().unwrap() + 10_000.0).abs() < 5.0);
    }
}
