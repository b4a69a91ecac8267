//! linuxptp-compatible proportional-integral servo: same configuration keys, same defaults
//! (which depend on hardware versus software timestamping), same two-sample frequency
//! estimate before the loop closes, same step and reset rules, so a user moving from ptp4l gets
//! the behaviour they tuned for.
//!
//! Internally the loop works in linuxptp's sign (a frequency that *follows* the offset) and the
//! output is negated into "what to do to the local clock".

use super::Servo;
use super::{
    clamp, ServoAction, ServoConfig, ServoKind, ServoOutput, ServoState, StepRules, TimeStamping,
};

/// Proportional scale with hardware timestamps.
pub const HWTS_KP_SCALE: f64 = 0.7;
/// Integral scale with hardware timestamps.
pub const HWTS_KI_SCALE: f64 = 0.3;
/// Proportional scale with software timestamps.
pub const SWTS_KP_SCALE: f64 = 0.1;
/// Integral scale with software timestamps.
pub const SWTS_KI_SCALE: f64 = 0.001;
/// Upper bound of kp·interval when both constants are given explicitly.
pub const MAX_KP_NORM_MAX: f64 = 1.0;
/// Upper bound of ki·interval when both constants are given explicitly.
pub const MAX_KI_NORM_MAX: f64 = 2.0;
/// Margin on the interval the first frequency estimate needs.
const FREQ_EST_MARGIN: f64 = 0.001;

/// The PI servo.
#[derive(Clone, Debug)]
pub struct PiServo {
    offset: [i64; 2],
    local: [i64; 2],
    /// Integral term (linuxptp sign: the negative of the clock frequency to set).
    drift: f64,
    kp: f64,
    ki: f64,
    last_freq: f64,
    count: u8,
    kp_scale: f64,
    kp_exponent: f64,
    kp_norm_max: f64,
    ki_scale: f64,
    ki_exponent: f64,
    ki_norm_max: f64,
    max_frequency: f64,
    rules: StepRules,
}

impl PiServo {
    /// Creates the servo with the clock's current frequency adjustment `initial_freq_ppb`.
    pub fn new(cfg: &ServoConfig, initial_freq_ppb: f64) -> Self {
        let (mut kp_scale, mut kp_exponent, mut kp_norm_max) = (
            cfg.pi_proportional_scale,
            cfg.pi_proportional_exponent,
            cfg.pi_proportional_norm_max,
        );
        let (mut ki_scale, mut ki_exponent, mut ki_norm_max) = (
            cfg.pi_integral_scale,
            cfg.pi_integral_exponent,
            cfg.pi_integral_norm_max,
        );
        if cfg.pi_proportional_const != 0.0 && cfg.pi_integral_const != 0.0 {
            // Explicit constants: used as given, independent of the sync interval, unless they
            // would make the loop unstable.
            kp_scale = cfg.pi_proportional_const;
            ki_scale = cfg.pi_integral_const;
            kp_exponent = 0.0;
            ki_exponent = 0.0;
            kp_norm_max = MAX_KP_NORM_MAX;
            ki_norm_max = MAX_KI_NORM_MAX;
        } else if kp_scale == 0.0 || ki_scale == 0.0 {
            match cfg.time_stamping {
                TimeStamping::Software => {
                    kp_scale = SWTS_KP_SCALE;
                    ki_scale = SWTS_KI_SCALE;
                }
                TimeStamping::Hardware => {
                    kp_scale = HWTS_KP_SCALE;
                    ki_scale = HWTS_KI_SCALE;
                }
            }
        }
        let internal = -initial_freq_ppb;
        let mut s = PiServo {
            offset: [0; 2],
            local: [0; 2],
            drift: internal,
            kp: 0.0,
            ki: 0.0,
            last_freq: internal,
            count: 0,
            kp_scale,
            kp_exponent,
            kp_norm_max,
            ki_scale,
            ki_exponent,
            ki_norm_max,
            max_frequency: cfg.max_frequency,
            rules: StepRules::new(cfg),
        };
        s.set_sync_interval(1.0);
        s
    }

    /// Current proportional constant.
    pub fn kp(&self) -> f64 {
        self.kp
    }

    /// Current integral constant.
    pub fn ki(&self) -> f64 {
        self.ki
    }

    fn inner(&mut self, offset: i64, local_ts: i64, weight: f64) -> (f64, ServoState) {
        let mut ppb = self.last_freq;
        let state;
        match self.count {
            0 => {
                self.offset[0] = offset;
                self.local[0] = local_ts;
                self.count = 1;
                state = ServoState::Unlocked;
            }
            1 => {
                self.offset[1] = offset;
                self.local[1] = local_ts;
                if self.local[0] >= self.local[1] {
                    // Samples out of order: start over.
                    self.count = 0;
                    return (ppb, ServoState::Unlocked);
                }
                let dt = (self.local[1] - self.local[0]) as f64;
                let localdiff = dt / 1e9 * (1.0 + FREQ_EST_MARGIN);
                let freq_est_interval = (0.016 / self.ki).min(1000.0);
                if localdiff < freq_est_interval {
                    // Keep the first sample; wait until the samples are far enough apart.
                    return (ppb, ServoState::Unlocked);
                }
                self.drift += (1e9 - self.drift) * (self.offset[1] - self.offset[0]) as f64 / dt;
                self.drift = clamp(self.drift, self.max_frequency);
                state = if self.rules.wants_step(offset) {
                    ServoState::Jump
                } else {
                    ServoState::Locked
                };
                ppb = self.drift;
                self.count = 2;
            }
            _ => {
                if self.rules.exceeds_step_threshold(offset) {
                    // Re-estimate the frequency from scratch; the step happens at sample 2.
                    self.count = 0;
                    return (ppb, ServoState::Unlocked);
                }
                let ki_term = self.ki * offset as f64 * weight;
                let raw = self.kp * offset as f64 * weight + self.drift + ki_term;
                if raw.abs() > self.max_frequency || raw.is_nan() {
                    // Anti-windup: saturate and do not integrate.
                    ppb = clamp(raw, self.max_frequency);
                } else {
                    ppb = raw;
                    self.drift += ki_term;
                }
                state = ServoState::Locked;
            }
        }
        self.last_freq = ppb;
        (ppb, state)
    }
}

impl Servo for PiServo {
    fn sample(&mut self, offset_ns: i64, local_ts_ns: i64, weight: f64) -> ServoOutput {
        let (ppb, state) = self.inner(offset_ns, local_ts_ns, weight);
        self.rules.note(state);
        let action = match state {
            ServoState::Unlocked => ServoAction::None,
            ServoState::Jump => ServoAction::Step {
                step_ns: offset_ns.saturating_neg(),
                freq_ppb: -ppb,
            },
            ServoState::Locked => ServoAction::AdjustFrequency(-ppb),
        };
        ServoOutput { action, state }
    }

    fn reset(&mut self) {
        self.count = 0;
    }

    fn set_sync_interval(&mut self, interval_s: f64) {
        let i = if interval_s > 0.0 && interval_s.is_finite() {
            interval_s
        } else {
            1.0
        };
        self.kp = (self.kp_scale * i.powf(self.kp_exponent)).min(self.kp_norm_max / i);
        self.ki = (self.ki_scale * i.powf(self.ki_exponent)).min(self.ki_norm_max / i);
    }

    fn frequency(&self) -> f64 {
        -self.last_freq
    }

    fn enter_holdover(&mut self) -> f64 {
        self.count = 0;
        self.last_freq = self.drift;
        -self.drift
    }

    fn kind(&self) -> ServoKind {
        ServoKind::Pi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn defaults_follow_timestamping() {
        let hw = PiServo::new(&ServoConfig::default(), 0.0);
        assert!((hw.kp() - 0.7).abs() < 1e-12 && (hw.ki() - 0.3).abs() < 1e-12);
        let sw = PiServo::new(&ServoConfig::software(), 0.0);
        assert!((sw.kp() - 0.1).abs() < 1e-12 && (sw.ki() - 0.001).abs() < 1e-12);
        // Sync interval 1/16 s: kp = 0.7 * 16^0.3 capped at 0.7 * 16; ki = 0.3 * (1/16)^0.4.
        let mut hw = hw;
        hw.set_sync_interval(1.0 / 16.0);
        assert!((hw.kp() - 0.7 * 16f64.powf(0.3)).abs() < 1e-9);
        assert!((hw.ki() - 0.3 * (1.0f64 / 16.0).powf(0.4)).abs() < 1e-9);
        // Explicit constants win and are capped by the norm maxima.
        let cfg = ServoConfig {
            pi_proportional_const: 5.0,
            pi_integral_const: 0.01,
            ..Default::default()
        };
        let p = PiServo::new(&cfg, 0.0);
        assert!((p.kp() - 1.0).abs() < 1e-12 && (p.ki() - 0.01).abs() < 1e-12);
    }

    #[test]
    fn first_update_steps_above_first_step_threshold_only() {
        // 1 ms offset, clock 10 ppm fast: offsets grow 10 µs/s.
        let mut s = PiServo::new(&ServoConfig::default(), 0.0);
        let o = s.sample(1_000_000, S, 1.0);
        assert_eq!(o.state, ServoState::Unlocked);
        assert_eq!(o.action, ServoAction::None);
        let o = s.sample(1_010_000, 2 * S, 1.0);
        assert_eq!(o.state, ServoState::Jump);
        match o.action {
            ServoAction::Step { step_ns, freq_ppb } => {
                assert_eq!(step_ns, -1_010_000);
                // Measured +10 ppm fast → slow down by ~10 ppm.
                assert!((freq_ppb + 10_000.0).abs() < 1.0, "{freq_ppb}");
            }
            a => panic!("expected a step, got {a:?}"),
        }
        // After the first update, a large offset does not step (step_threshold 0).
        let o = s.sample(5_000_000, 3 * S, 1.0);
        assert_eq!(o.state, ServoState::Locked);

        // Offset below 20 µs: no step on the first update.
        let mut s = PiServo::new(&ServoConfig::default(), 0.0);
        s.sample(15_000, S, 1.0);
        let o = s.sample(15_000, 2 * S, 1.0);
        assert_eq!(o.state, ServoState::Locked);
        assert!(matches!(o.action, ServoAction::AdjustFrequency(_)));
    }

    #[test]
    fn step_threshold_resets_then_steps() {
        let cfg = ServoConfig {
            step_threshold: 0.001,
            ..Default::default()
        };
        let mut s = PiServo::new(&cfg, 0.0);
        s.sample(0, S, 1.0);
        s.sample(0, 2 * S, 1.0);
        assert_eq!(s.sample(100, 3 * S, 1.0).state, ServoState::Locked);
        // 2 ms > 1 ms: reset, then the next two samples step.
        assert_eq!(s.sample(2_000_000, 4 * S, 1.0).state, ServoState::Unlocked);
        assert_eq!(s.sample(2_000_000, 5 * S, 1.0).state, ServoState::Unlocked);
        let o = s.sample(2_000_000, 6 * S, 1.0);
        assert_eq!(o.state, ServoState::Jump);
    }

    #[test]
    fn frequency_is_clamped_to_max_frequency() {
        let cfg = ServoConfig {
            max_frequency: 100_000.0,
            ..Default::default()
        };
        let mut s = PiServo::new(&cfg, 0.0);
        s.sample(0, S, 1.0);
        // 1 ms/s = 1e6 ppb fast, beyond the 1e5 limit.
        let o = s.sample(1_000_000, 2 * S, 1.0);
        match o.action {
            ServoAction::Step { freq_ppb, .. } => assert_eq!(freq_ppb, -100_000.0),
            a => panic!("{a:?}"),
        }
        let o = s.sample(900_000, 3 * S, 1.0);
        assert_eq!(o.action, ServoAction::AdjustFrequency(-100_000.0));
        assert_eq!(s.frequency(), -100_000.0);
    }

    #[test]
    fn software_defaults_wait_for_the_frequency_estimate_interval() {
        // ki = 0.001 → samples must be 16 s apart before the first estimate.
        let mut s = PiServo::new(&ServoConfig::software(), 0.0);
        s.sample(0, S, 1.0);
        for k in 2..16 {
            assert_eq!(s.sample(0, k * S, 1.0).state, ServoState::Unlocked, "k={k}");
        }
        assert_eq!(s.sample(0, 17 * S, 1.0).state, ServoState::Locked);
    }

    #[test]
    fn holdover_returns_the_integral_without_the_proportional_term() {
        let mut s = PiServo::new(&ServoConfig::default(), 0.0);
        s.sample(0, S, 1.0);
        s.sample(5_000, 2 * S, 1.0); // 5 ppm fast
        s.sample(1_000, 3 * S, 1.0);
        let held = s.enter_holdover();
        assert!((held - (-5_000.0 - 0.3 * 1_000.0)).abs() < 1.0, "{held}");
        assert_eq!(s.sample(0, 4 * S, 1.0).state, ServoState::Unlocked);
    }
}
