//! The phc2sys task's clock side: a source clock (a PHC, or anything readable such as the
//! daemon's virtual clock), a target clock (CLOCK_REALTIME, another PHC, or any [`Clock`]),
//! the best measurement method between them, and one update (measure, servo, apply), as
//! linuxptp's `phc2sys -s SOURCE -c TARGET -O OFFSET -N READINGS` does.
//!
//! Method choice ([`Phc2SysMethod`]): a PHC source against CLOCK_REALTIME (or against another
//! PHC, both through the system clock) uses the best PTP_SYS_OFFSET* ioctl the driver
//! implements, probed once (PRECISE, then EXTENDED, then plain PTP_SYS_OFFSET, as linuxptp's
//! `sysoff_probe`); any other pair is read as `target, source, target` with `clock_gettime`
//! (linuxptp's `read_phc`), `readings` times, keeping the narrowest bracket.
//!
//! Sign conventions: `offset_ns` is phc2sys's `-O` in nanoseconds, *target = source +
//! offset* when in sync (−37 s from a TAI PHC to UTC CLOCK_REALTIME); the servo is fed
//! `target − (source + offset)`, positive meaning the target is ahead.
//!
//! This module decides nothing about timing or threads (the daemon's `phc2sys` task does) and
//! holds no `unsafe`: every syscall goes through [`PhcClock`] and [`SystemClock`].

use std::fmt;

use super::phc::{PhcClock, SysOffsetMethod};
use super::sync::{apply_action, phc_to_phc_offset, phc_to_sys_offset, OffsetMeasurement, Phc2Sys};
use super::syscalls::{ClockSyscalls, LinuxSyscalls};
use super::system::SystemClock;
use super::virtual_clock::{TimeSource, VirtualClockReader};
use super::{Clock, ClockError};
use crate::servo::{Servo, ServoState};

/// A clock that can only be read (a phc2sys source that xptp does not own).
pub trait ReadClock: Send + fmt::Debug {
    /// A name for logs (`virtual`, `/dev/ptp0`).
    fn name(&self) -> &str;
    /// The current time (ns).
    fn read_ns(&self) -> Result<i64, ClockError>;
}

/// A read-only view of a [`super::VirtualClock`] owned by another thread: its reader over the
/// same reference time source.
#[derive(Debug)]
pub struct VirtualReadClock<T: TimeSource> {
    reader: VirtualClockReader,
    source: T,
    name: String,
}

impl<T: TimeSource> VirtualReadClock<T> {
    /// Reads `reader` (published by the clock's owner) against `source`, which must be the
    /// reference the clock runs on.
    pub fn new(reader: VirtualClockReader, source: T, name: &str) -> Self {
        VirtualReadClock {
            reader,
            source,
            name: name.to_string(),
        }
    }

    /// The underlying reader (for true-error computations).
    pub fn reader(&self) -> &VirtualClockReader {
        &self.reader
    }
}

impl<T: TimeSource> ReadClock for VirtualReadClock<T> {
    fn name(&self) -> &str {
        &self.name
    }
    fn read_ns(&self) -> Result<i64, ClockError> {
        Ok(self.reader.to_virtual(self.source.now_ns()))
    }
}

/// Where phc2sys reads the time it follows (`-s`).
#[derive(Debug)]
pub enum Phc2SysSource<S: ClockSyscalls = LinuxSyscalls> {
    /// A PTP hardware clock.
    Phc(PhcClock<S>),
    /// Any readable clock (the daemon's virtual clock in labs).
    Read(Box<dyn ReadClock>),
}

impl<S: ClockSyscalls> Phc2SysSource<S> {
    /// The source's name.
    pub fn name(&self) -> &str {
        match self {
            Phc2SysSource::Phc(p) => p.name(),
            Phc2SysSource::Read(r) => r.name(),
        }
    }

    fn read_ns(&self) -> Result<i64, ClockError> {
        match self {
            Phc2SysSource::Phc(p) => p.now(),
            Phc2SysSource::Read(r) => r.read_ns(),
        }
    }
}

/// The clock phc2sys steers (`-c`).
#[derive(Debug)]
pub enum Phc2SysTarget<S: ClockSyscalls = LinuxSyscalls> {
    /// CLOCK_REALTIME (UTC).
    Realtime(SystemClock<S>),
    /// Another PTP hardware clock (same timescale as the source).
    Phc(PhcClock<S>),
    /// Any other clock; `utc` says whether it keeps UTC (as CLOCK_REALTIME does), which
    /// decides the automatic `-O`.
    Other { clock: Box<dyn Clock>, utc: bool },
}

impl<S: ClockSyscalls> Phc2SysTarget<S> {
    /// The target as a [`Clock`].
    pub fn clock(&self) -> &dyn Clock {
        match self {
            Phc2SysTarget::Realtime(c) => c,
            Phc2SysTarget::Phc(c) => c,
            Phc2SysTarget::Other { clock, .. } => clock.as_ref(),
        }
    }

    fn clock_mut(&mut self) -> &mut dyn Clock {
        match self {
            Phc2SysTarget::Realtime(c) => c,
            Phc2SysTarget::Phc(c) => c,
            Phc2SysTarget::Other { clock, .. } => clock.as_mut(),
        }
    }

    /// Whether the target keeps UTC (CLOCK_REALTIME): then a TAI source needs `-O` = −UTC
    /// offset.
    pub fn keeps_utc(&self) -> bool {
        match self {
            Phc2SysTarget::Realtime(_) => true,
            Phc2SysTarget::Phc(_) => false,
            Phc2SysTarget::Other { utc, .. } => *utc,
        }
    }

    /// Whether steering the target needs CAP_SYS_TIME (it is CLOCK_REALTIME).
    pub fn needs_sys_time(&self) -> bool {
        matches!(self, Phc2SysTarget::Realtime(_))
    }
}

/// How source and target are compared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phc2SysMethod {
    /// A PTP_SYS_OFFSET* ioctl against CLOCK_REALTIME (for a PHC target: on both PHCs).
    SysOffset(SysOffsetMethod),
    /// `clock_gettime` on target, source, target (linuxptp's `read_phc`).
    ClockGettime,
}

impl Phc2SysMethod {
    /// For logs and status.
    pub fn as_str(self) -> &'static str {
        match self {
            Phc2SysMethod::SysOffset(m) => m.as_str(),
            Phc2SysMethod::ClockGettime => "clock_gettime",
        }
    }
}

/// What one update did.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Phc2SysUpdate {
    /// The measurement.
    pub measurement: OffsetMeasurement,
    /// The servo's state after it.
    pub state: ServoState,
    /// The frequency adjustment the servo asks for (ppb).
    pub freq_ppb: f64,
    /// Whether the target was stepped.
    pub stepped: bool,
}

/// A source, a target, the chosen method and the servo loop.
#[derive(Debug)]
pub struct Phc2SysTask<S: ClockSyscalls = LinuxSyscalls> {
    source: Phc2SysSource<S>,
    target: Phc2SysTarget<S>,
    method: Phc2SysMethod,
    /// The target PHC's own method (PHC targets only).
    target_method: Option<SysOffsetMethod>,
    /// Better methods skipped, with the driver's answer (for the start-up log).
    skipped: Vec<(SysOffsetMethod, String)>,
    servo: Phc2Sys,
}

impl<S: ClockSyscalls> Phc2SysTask<S> {
    /// Probes the best method between `source` and `target` and sets the servo up.
    /// `readings` is phc2sys's `-N` (1..=25 for the ioctls).
    pub fn new(
        source: Phc2SysSource<S>,
        target: Phc2SysTarget<S>,
        servo: Box<dyn Servo>,
        readings: u32,
    ) -> Result<Self, ClockError> {
        let mut skipped = Vec::new();
        let mut target_method = None;
        let method = match (&source, &target) {
            (Phc2SysSource::Phc(p), Phc2SysTarget::Realtime(_)) => {
                let (m, s) = p.probe_sys_offset(readings)?;
                skipped = s;
                Phc2SysMethod::SysOffset(m)
            }
            (Phc2SysSource::Phc(p), Phc2SysTarget::Phc(t)) => {
                let (m, s) = p.probe_sys_offset(readings)?;
                skipped = s;
                target_method = Some(t.probe_sys_offset(readings)?.0);
                Phc2SysMethod::SysOffset(m)
            }
            _ => Phc2SysMethod::ClockGettime,
        };
        Ok(Phc2SysTask {
            source,
            target,
            method,
            target_method,
            skipped,
            servo: Phc2Sys::new(servo, readings),
        })
    }

    /// The method in use.
    pub fn method(&self) -> Phc2SysMethod {
        self.method
    }

    /// Better methods the source's driver refused, with its answer.
    pub fn skipped(&self) -> &[(SysOffsetMethod, String)] {
        &self.skipped
    }

    /// The source.
    pub fn source(&self) -> &Phc2SysSource<S> {
        &self.source
    }

    /// The target.
    pub fn target(&self) -> &Phc2SysTarget<S> {
        &self.target
    }

    /// Sets the servo's update interval (phc2sys `-R`: 1 / rate).
    pub fn set_interval(&mut self, interval_s: f64) {
        self.servo.set_interval(interval_s);
    }

    /// Measures `target − (source + offset_ns)`.
    pub fn measure(&self, offset_ns: i64) -> Result<OffsetMeasurement, ClockError> {
        let n = self.servo.readings;
        let none = |clock: &str| ClockError::NoOffsetSample {
            clock: clock.to_string(),
            n,
        };
        match (&self.source, &self.target, self.method) {
            (Phc2SysSource::Phc(p), Phc2SysTarget::Realtime(_), Phc2SysMethod::SysOffset(m)) => {
                let s = p.sys_offset_by(m, n)?;
                phc_to_sys_offset(&s, -offset_ns).ok_or_else(|| none(p.name()))
            }
            (Phc2SysSource::Phc(p), Phc2SysTarget::Phc(t), Phc2SysMethod::SysOffset(m)) => {
                let s = p.sys_offset_by(m, n)?;
                let tm = self.target_method.unwrap_or(m);
                let ts = t.sys_offset_by(tm, n)?;
                let mut o = phc_to_phc_offset(&s, &ts).ok_or_else(|| none(t.name()))?;
                o.offset_ns -= offset_ns;
                Ok(o)
            }
            (src, tgt, _) => {
                let target = tgt.clock();
                let mut best: Option<OffsetMeasurement> = None;
                for _ in 0..n {
                    let t1 = target.now()?;
                    let s = src.read_ns()?;
                    let t2 = target.now()?;
                    let window = t2.saturating_sub(t1);
                    if window < 0 || best.is_some_and(|b| b.window_ns <= window) {
                        continue;
                    }
                    let mid = t1.saturating_add(window / 2);
                    best = Some(OffsetMeasurement {
                        offset_ns: mid.saturating_sub(s.saturating_add(offset_ns)),
                        target_ts_ns: mid,
                        window_ns: window,
                    });
                }
                best.ok_or_else(|| none(target.name()))
            }
        }
    }

    /// One phc2sys update: measure, run the servo, apply its action to the target.
    pub fn update(&mut self, offset_ns: i64) -> Result<Phc2SysUpdate, ClockError> {
        let m = self.measure(offset_ns)?;
        let out = self.servo.step(m);
        apply_action(self.target.clock_mut(), out.action)?;
        Ok(Phc2SysUpdate {
            measurement: m,
            state: out.state,
            freq_ppb: self.servo.servo_frequency(),
            stepped: matches!(out.action, crate::servo::ServoAction::Step { .. }),
        })
    }
}

/// phc2sys's log line: `CLOCK_REALTIME phc offset -12 s2 freq +3021 delay 1234`.
pub fn log_line(target: &str, u: &Phc2SysUpdate) -> String {
    format!(
        "{target} phc offset {:>9} {} freq {:+7.0} delay {:>6}",
        u.measurement.offset_ns,
        crate::status::servo_name(u.state),
        u.freq_ppb,
        u.measurement.window_ns
    )
}

#[cfg(test)]
mod tests;
