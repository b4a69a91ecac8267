//! Adaptive linear-regression servo, after linuxptp's `linreg`: it keeps the last 64
//! (uncorrected local time, master time) points, fits lines over the newest 4, 8, 16, 32 and 64
//! of them, tracks each fit's running prediction error and uses the largest window whose error
//! is (within 5 %) the smallest. The slope sets the frequency; the intercept (the predicted
//! phase error now) is removed over one or a few update intervals.

use super::{
    clamp, Servo, ServoAction, ServoConfig, ServoKind, ServoOutput, ServoState, StepRules,
};

/// Largest window: 2^6 points.
const MAX_SIZE: usize = 6;
/// Smallest window: 2^2 points.
const MIN_SIZE: usize = 2;
const MAX_POINTS: usize = 1 << MAX_SIZE;
const N_SIZES: usize = MAX_SIZE - MIN_SIZE + 1;
/// Smoothing of the long-term prediction error.
const ERR_SMOOTH: f64 = 0.02;
/// Updates averaged plainly before smoothing starts.
const ERR_INITIAL_UPDATES: u32 = 10;
/// Two errors within this ratio are considered equal (the larger window wins).
const ERR_EQUALS: f64 = 1.05;

#[derive(Clone, Copy, Debug, Default)]
struct Point {
    /// Uncorrected local time (the clock's time with our frequency corrections removed).
    x: i64,
    /// Master time.
    y: i64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Fit {
    valid: bool,
    slope: f64,
    intercept: f64,
    err: f64,
    err_updates: u32,
}

/// The linear-regression servo.
#[derive(Clone, Debug)]
pub struct LinregServo {
    points: [Point; MAX_POINTS],
    reference: Point,
    num_points: usize,
    last_point: usize,
    x_remainder: f64,
    last_update: Option<i64>,
    fits: [Fit; N_SIZES],
    /// Frequency currently asked of the clock (ppb, positive = faster).
    clock_freq: f64,
    /// Frequency from the slope alone (no phase-correction term).
    slope_freq: f64,
    update_interval: f64,
    frequency_ratio: f64,
    max_frequency: f64,
    rules: StepRules,
}

impl LinregServo {
    /// Creates the servo with the clock's current frequency adjustment.
    pub fn new(cfg: &ServoConfig, initial_freq_ppb: f64) -> Self {
        LinregServo {
            points: [Point::default(); MAX_POINTS],
            reference: Point::default(),
            num_points: 0,
            last_point: 0,
            x_remainder: 0.0,
            last_update: None,
            fits: [Fit::default(); N_SIZES],
            clock_freq: initial_freq_ppb,
            slope_freq: initial_freq_ppb,
            update_interval: 1.0,
            frequency_ratio: 1.0,
            max_frequency: cfg.max_frequency,
            rules: StepRules::new(cfg),
        }
    }

    /// Estimated master/local frequency ratio.
    pub fn rate_ratio(&self) -> f64 {
        self.frequency_ratio
    }

    fn move_reference(&mut self, x: i64, y: i64) {
        self.reference.x = self.reference.x.wrapping_add(x);
        self.reference.y = self.reference.y.wrapping_add(y);
        for f in &mut self.fits {
            f.intercept += x as f64 * f.slope - y as f64;
        }
    }

    fn update_reference(&mut self, local_ts: i64) {
        if let Some(last) = self.last_update {
            let y_interval = local_ts.wrapping_sub(last);
            // Remove our own frequency correction from the local interval.
            let x_interval = y_interval as f64 / (1.0 + self.clock_freq / 1e9) + self.x_remainder;
            let whole = x_interval.trunc();
            self.x_remainder = x_interval - whole;
            self.move_reference(whole as i64, y_interval);
        }
        self.last_update = Some(local_ts);
    }

    fn add_sample(&mut self, offset: i64) {
        self.last_point = (self.last_point + 1) % MAX_POINTS;
        let p = Point {
            x: self.reference.x,
            y: self.reference.y.wrapping_sub(offset),
        };
        if let Some(slot) = self.points.get_mut(self.last_point) {
            *slot = p;
        }
        if self.num_points < MAX_POINTS {
            self.num_points += 1;
        }
    }

    fn point(&self, age: usize) -> Point {
        let idx = (MAX_POINTS + self.last_point - age) % MAX_POINTS;
        self.points.get(idx).copied().unwrap_or_default()
    }

    fn regress(&mut self) {
        let (mut xs, mut ys, mut xys, mut x2s) = (0.0, 0.0, 0.0, 0.0);
        let mut i = 0;
        let y0 = self.point(0).y.wrapping_sub(self.reference.y) as f64;
        for size in MIN_SIZE..=MAX_SIZE {
            let n = 1usize << size;
            if n > self.num_points {
                break;
            }
            // Accumulate the points the smaller windows did not include.
            while i < n {
                let p = self.point(i);
                let x = p.x.wrapping_sub(self.reference.x) as f64;
                let y = p.y.wrapping_sub(self.reference.y) as f64;
                xs += x;
                ys += y;
                xys += x * y;
                x2s += x * x;
                i += 1;
            }
            let Some(fit) = self.fits.get_mut(size - MIN_SIZE) else {
                break;
            };
            if fit.valid {
                // How well did the previous fit predict the newest point?
                let e = (fit.intercept - y0).abs();
                if fit.err_updates < ERR_INITIAL_UPDATES {
                    fit.err =
                        (fit.err * f64::from(fit.err_updates) + e) / f64::from(fit.err_updates + 1);
                    fit.err_updates += 1;
                } else {
                    fit.err += ERR_SMOOTH * (e - fit.err);
                }
            }
            let nf = n as f64;
            let denom = x2s - xs * xs / nf;
            if denom > 0.0 {
                fit.slope = (xys - xs * ys / nf) / denom;
                fit.intercept = (ys - fit.slope * xs) / nf;
                fit.valid = true;
            }
        }
    }

    /// The largest window with (nearly) the smallest prediction error.
    fn best_size(&self) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for size in MIN_SIZE..=MAX_SIZE {
            let Some(f) = self.fits.get(size - MIN_SIZE) else {
                continue;
            };
            if !f.valid {
                continue;
            }
            match best {
                None => best = Some((size, f.err)),
                Some((_, be))
                    if be * ERR_EQUALS > f.err && f.err_updates >= ERR_INITIAL_UPDATES =>
                {
                    best = Some((size, f.err))
                }
                _ => {}
            }
        }
        best.map(|(s, _)| s)
    }

    fn inner(&mut self, offset: i64, local_ts: i64) -> ServoState {
        self.update_reference(local_ts);
        self.add_sample(offset);
        self.regress();
        let Some(size) = self.best_size() else {
            return ServoState::Unlocked;
        };
        let fit = self.fits.get(size - MIN_SIZE).copied().unwrap_or_default();
        let state = if self.rules.wants_step(fit.intercept as i64) {
            // The clock is about to be stepped by -offset: move the reference as if it had.
            self.move_reference(0, offset.wrapping_neg());
            self.last_update = self.last_update.map(|l| l.wrapping_sub(offset));
            ServoState::Jump
        } else {
            ServoState::Locked
        };
        self.slope_freq = clamp(1e9 * (fit.slope - 1.0), self.max_frequency);
        // Remove the predicted phase error over one interval for small windows, size/2 for
        // larger ones (less frequency noise).
        let corr_interval = if size <= 4 { 1.0 } else { (size / 2) as f64 };
        self.clock_freq = clamp(
            1e9 * (fit.slope - 1.0) + fit.intercept / self.update_interval / corr_interval,
            self.max_frequency,
        );
        self.frequency_ratio = fit.slope / (1.0 + self.clock_freq / 1e9);
        state
    }
}

impl Servo for LinregServo {
    fn sample(&mut self, offset_ns: i64, local_ts_ns: i64, _weight: f64) -> ServoOutput {
        let state = self.inner(offset_ns, local_ts_ns);
        self.rules.note(state);
        let action = match state {
            ServoState::Unlocked => ServoAction::None,
            ServoState::Jump => ServoAction::Step {
                step_ns: offset_ns.saturating_neg(),
                freq_ppb: self.clock_freq,
            },
            ServoState::Locked => ServoAction::AdjustFrequency(self.clock_freq),
        };
        ServoOutput { action, state }
    }

    fn reset(&mut self) {
        self.num_points = 0;
        self.last_update = None;
        self.frequency_ratio = 1.0;
        for f in &mut self.fits {
            *f = Fit::default();
        }
    }

    fn set_sync_interval(&mut self, interval_s: f64) {
        if interval_s > 0.0 && interval_s.is_finite() {
            self.update_interval = interval_s;
        }
    }

    fn frequency(&self) -> f64 {
        self.clock_freq
    }

    fn enter_holdover(&mut self) -> f64 {
        self.clock_freq = self.slope_freq;
        self.reset();
        self.slope_freq
    }

    fn kind(&self) -> ServoKind {
        ServoKind::Linreg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    /// Runs a clock with `err_ppb` oscillator error against a perfect master, applying the
    /// servo's actions; returns (final true offset, final frequency, states seen).
    fn run(
        err_ppb: f64,
        initial_offset: i64,
        n: usize,
        cfg: &ServoConfig,
    ) -> (f64, f64, Vec<ServoState>) {
        let mut s = LinregServo::new(cfg, 0.0);
        let mut offset = initial_offset as f64;
        let mut freq = 0.0;
        let mut local = 100 * S;
        let mut states = vec![];
        for _ in 0..n {
            let o = s.sample(offset.round() as i64, local, 1.0);
            states.push(o.state);
            match o.action {
                ServoAction::None => {}
                ServoAction::AdjustFrequency(f) => freq = f,
                ServoAction::Step { step_ns, freq_ppb } => {
                    offset += step_ns as f64;
                    local += step_ns;
                    freq = freq_ppb;
                }
            }
            let rate = ((1.0 + err_ppb * 1e-9) * (1.0 + freq * 1e-9) - 1.0) * 1e9;
            offset += rate; // one second
            local += S + rate as i64;
        }
        (offset, freq, states)
    }

    #[test]
    fn constant_frequency_error_is_learned_and_offset_removed() {
        // 2 ppm: the offset stays below first_step_threshold (20 µs) until the servo acts.
        let (offset, freq, states) = run(2_000.0, 5_000, 200, &ServoConfig::default());
        assert_eq!(&states[..3], &[ServoState::Unlocked; 3]);
        assert_eq!(
            states[3],
            ServoState::Locked,
            "5 µs is below first_step_threshold"
        );
        assert!(offset.abs() < 5.0, "offset {offset}");
        assert!((freq + 2_000.0).abs() < 1.0, "freq {freq}");
    }

    #[test]
    fn large_initial_offset_steps_once() {
        let (offset, _, states) = run(-3_000.0, 50_000_000, 100, &ServoConfig::default());
        assert_eq!(states.iter().filter(|s| **s == ServoState::Jump).count(), 1);
        assert!(offset.abs() < 5.0, "offset {offset}");
    }

    #[test]
    fn frequency_is_clamped() {
        let cfg = ServoConfig {
            max_frequency: 10_000.0,
            ..Default::default()
        };
        let (_, freq, _) = run(50_000.0, 0, 20, &cfg);
        assert_eq!(freq, -10_000.0);
    }
}
