//! Clock sanity check (`sanity_freq_limit`, like linuxptp's clockcheck): compares how fast the
//! disciplined clock really advanced against CLOCK_MONOTONIC with the frequency the servo asked
//! for. A clock that runs far faster or slower than commanded, or goes backwards, means someone
//! else is steering it (or the hardware misbehaves); the servo's state is then worthless and is
//! reset. [`CheckedServo`] wires the check in front of any servo.

use super::{Servo, ServoAction, ServoOutput};

/// Shortest monotonic interval over which a frequency is measured (ns).
const MIN_INTERVAL_NS: i64 = 100_000_000;

/// What the check found.
#[derive(Clone, Copy, PartialEq, Debug, thiserror::Error)]
pub enum SanityViolation {
    /// The clock went backwards (or stood still) while the monotonic clock advanced.
    #[error("clock jumped backward or stopped: {clock_delta_ns} ns in {mono_delta_ns} ns of CLOCK_MONOTONIC; another process may be stepping it")]
    Backward {
        clock_delta_ns: i64,
        mono_delta_ns: i64,
    },
    /// The measured frequency is outside the commanded range widened by the limit.
    #[error("clock frequency {measured_ppb:.0} ppb is outside {min_ppb:.0}..{max_ppb:.0} ppb (sanity_freq_limit); another process may be adjusting it")]
    Frequency {
        measured_ppb: f64,
        min_ppb: f64,
        max_ppb: f64,
    },
}

/// The check's state.
#[derive(Clone, Debug)]
pub struct ClockCheck {
    limit_ppb: f64,
    last: Option<(i64, i64)>,
    freq: f64,
    freq_min: f64,
    freq_max: f64,
}

impl ClockCheck {
    /// A check with `sanity_freq_limit` ppb, starting with the clock's current adjustment.
    pub fn new(limit_ppb: f64, current_freq_ppb: f64) -> Self {
        ClockCheck {
            limit_ppb,
            last: None,
            freq: current_freq_ppb,
            freq_min: current_freq_ppb,
            freq_max: current_freq_ppb,
        }
    }

    /// Feeds a (disciplined clock, CLOCK_MONOTONIC) pair of readings taken together.
    pub fn sample(&mut self, clock_ns: i64, mono_ns: i64) -> Result<(), SanityViolation> {
        let Some((lc, lm)) = self.last else {
            self.last = Some((clock_ns, mono_ns));
            return Ok(());
        };
        let dm = mono_ns.saturating_sub(lm);
        if dm < MIN_INTERVAL_NS {
            return Ok(());
        }
        let dc = clock_ns.saturating_sub(lc);
        self.last = Some((clock_ns, mono_ns));
        let (min, max) = (
            self.freq_min - self.limit_ppb,
            self.freq_max + self.limit_ppb,
        );
        self.freq_min = self.freq;
        self.freq_max = self.freq;
        if dc <= 0 {
            return Err(SanityViolation::Backward {
                clock_delta_ns: dc,
                mono_delta_ns: dm,
            });
        }
        let measured = (dc as f64 / dm as f64 - 1.0) * 1e9;
        if measured < min || measured > max {
            return Err(SanityViolation::Frequency {
                measured_ppb: measured,
                min_ppb: min,
                max_ppb: max,
            });
        }
        Ok(())
    }

    /// The commanded frequency changed.
    pub fn set_frequency(&mut self, ppb: f64) {
        self.freq = ppb;
        self.freq_min = self.freq_min.min(ppb);
        self.freq_max = self.freq_max.max(ppb);
    }

    /// The clock was stepped: the next interval is not a frequency measurement.
    pub fn stepped(&mut self) {
        self.last = None;
    }
}

/// A servo with the sanity check in front of it. A violation resets the servo and is returned
/// for the caller to log and count.
#[derive(Debug)]
pub struct CheckedServo {
    servo: Box<dyn Servo>,
    check: Option<ClockCheck>,
}

impl CheckedServo {
    /// Wraps `servo`; `sanity_freq_limit` 0 disables the check.
    pub fn new(servo: Box<dyn Servo>, sanity_freq_limit: f64, current_freq_ppb: f64) -> Self {
        let check =
            (sanity_freq_limit > 0.0).then(|| ClockCheck::new(sanity_freq_limit, current_freq_ppb));
        CheckedServo { servo, check }
    }

    /// The wrapped servo.
    pub fn servo_mut(&mut self) -> &mut dyn Servo {
        self.servo.as_mut()
    }

    /// Checks the clock (its time `local_ts_ns` read together with CLOCK_MONOTONIC `mono_ns`),
    /// then feeds the servo. On a violation the servo is reset and the output is Unlocked.
    pub fn sample(
        &mut self,
        offset_ns: i64,
        local_ts_ns: i64,
        mono_ns: i64,
        weight: f64,
    ) -> (ServoOutput, Option<SanityViolation>) {
        if let Some(c) = &mut self.check {
            if let Err(v) = c.sample(local_ts_ns, mono_ns) {
                self.servo.reset();
                return (ServoOutput::unlocked(), Some(v));
            }
        }
        let out = self.servo.sample(offset_ns, local_ts_ns, weight);
        if let Some(c) = &mut self.check {
            match out.action {
                ServoAction::None => {}
                ServoAction::AdjustFrequency(f) => c.set_frequency(f),
                ServoAction::Step { freq_ppb, .. } => {
                    c.stepped();
                    c.set_frequency(freq_ppb);
                }
            }
        }
        (out, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servo::{build, ServoConfig, ServoKind, ServoState};

    const S: i64 = 1_000_000_000;

    #[test]
    fn commanded_frequency_passes_foreign_adjustment_fails() {
        let mut c = ClockCheck::new(200_000_000.0, 0.0);
        assert!(c.sample(0, 0).is_ok());
        c.set_frequency(100_000.0);
        // Runs 100 ppm fast as commanded.
        assert!(c.sample(S + 100_000, S).is_ok());
        // Now 30 % fast: outside ±20 %.
        let e = c.sample(2 * S + 100_000 + 300_000_000, 2 * S).unwrap_err();
        assert!(matches!(e, SanityViolation::Frequency { .. }), "{e}");
        // Backwards.
        let e = c.sample(S, 3 * S).unwrap_err();
        assert!(matches!(e, SanityViolation::Backward { .. }));
    }

    #[test]
    fn violation_resets_the_servo() {
        let cfg = ServoConfig::default();
        let mut s = CheckedServo::new(build(ServoKind::Pi, &cfg), cfg.sanity_freq_limit, 0.0);
        // Two good samples lock the PI servo (10 µs < first_step_threshold).
        s.sample(10_000, S, S, 1.0);
        let (o, v) = s.sample(10_000, 2 * S, 2 * S, 1.0);
        assert_eq!((o.state, v), (ServoState::Locked, None));
        // Someone else slews the clock by 50 %: reset, then the servo starts over.
        let (o, v) = s.sample(10_000, 3 * S + S / 2, 3 * S, 1.0);
        assert_eq!(o.state, ServoState::Unlocked);
        assert!(v.is_some());
        let (o, _) = s.sample(10_000, 4 * S + S / 2, 4 * S, 1.0);
        assert_eq!(
            o.state,
            ServoState::Unlocked,
            "servo restarted its frequency estimate"
        );
        // A disabled check never resets.
        let mut s = CheckedServo::new(build(ServoKind::Pi, &cfg), 0.0, 0.0);
        s.sample(10_000, S, S, 1.0);
        s.sample(10_000, 2 * S, 2 * S, 1.0);
        let (o, v) = s.sample(10_000, 5 * S, 3 * S, 1.0);
        assert_eq!((o.state, v), (ServoState::Locked, None));
    }
}
