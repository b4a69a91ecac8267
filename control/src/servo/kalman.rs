//! xptp's own servo, built for packet delay variation: a two-state Kalman filter on
//! (phase offset, oscillator frequency error) with a robust, self-estimated measurement noise
//! and innovation gating that discards delay outliers.
//!
//! Model, per sample interval `dt` (seconds, from the local timestamps):
//! `θ' = θ + (f + u)·dt`, `f' = f + w`, where θ is local − master (ns), f the free-running
//! frequency error (ppb = ns/s), u the frequency adjustment in force (known: we asked for it),
//! w the oscillator's random-walk frequency noise (`kalman_frequency_wander`), plus white
//! frequency noise (`kalman_phase_wander`). A measurement is θ plus noise of variance R.
//!
//! * R is estimated from the data, robustly and independently of how well the filter tracks:
//!   from the second differences of the *free-running phase* (each offset minus the phase the
//!   servo itself added through its frequency adjustments and steps), whose spread is the
//!   measurement noise alone (≈ 6 R for equal intervals) whatever the oscillator's phase and
//!   frequency error; σ = 1.4826 × the median of the last 31 normalised second differences
//!   (a median, so the outliers the gate rejects do not inflate it). Estimating R from the
//!   innovations instead lets a tracking error pass for noise: R grows, the gain shrinks,
//!   the error persists (seen with the port core's start-up, where the path-delay estimate
//!   settles over the first seconds).
//! * An innovation beyond `kalman_outlier_gate` σ is discarded (queueing delay only ever adds);
//!   after [`MAX_CONSECUTIVE_REJECTS`] discards in a row the filter accepts the change as real
//!   (a path change or a frequency jump) and widens its uncertainty so it re-converges.
//! * The control removes the estimated frequency error and the estimated phase over
//!   `kalman_time_constant` sync intervals: `u = −f̂ − θ̂/τ`. Because the filter predicts with
//!   the exact `u` it applied, this does not bias the estimate.
//!
//! Start-up: two samples give a first frequency estimate (with the variance that two noisy
//! samples deserve); the first-step and step thresholds apply exactly as for the PI servo.

use super::{
    clamp, Servo, ServoAction, ServoConfig, ServoKind, ServoOutput, ServoState, StepRules,
    TimeStamping,
};

/// Second differences kept for the robust noise estimate.
const NOISE_WINDOW: usize = 31;
/// Consecutive rejected samples after which the filter accepts a change as real.
pub const MAX_CONSECUTIVE_REJECTS: u32 = 4;
/// Floor on the measurement variance (ns²): timestamp granularity.
const MIN_R: f64 = 1.0;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    /// No sample yet.
    Empty,
    /// One sample: (offset, local timestamp).
    One(i64, i64),
    /// Filtering.
    Tracking,
}

/// The Kalman servo.
#[derive(Clone, Debug)]
pub struct KalmanServo {
    phase: Phase,
    /// Estimated phase offset (ns) at `last_ts`.
    theta: f64,
    /// Estimated free-running frequency error (ppb).
    f: f64,
    /// Covariance [[θθ, θf], [θf, ff]].
    p: [[f64; 2]; 2],
    /// Frequency adjustment in force (ppb), i.e. the last one we asked for.
    u: f64,
    last_ts: i64,
    r: f64,
    noise_window: [f64; NOISE_WINDOW],
    n_noise: usize,
    next_noise: usize,
    rejects: u32,
    /// Phase the servo added to the local clock since the start (ns): Σ u·dt plus steps.
    added_phase: f64,
    /// The last two (free-running phase, local timestamp) points.
    history: [Option<(f64, i64)>; 2],
    q_phase: f64,
    q_freq: f64,
    gate: f64,
    tau_intervals: f64,
    interval: f64,
    max_frequency: f64,
    rules: StepRules,
    /// Samples rejected as outliers since creation.
    pub outliers: u64,
}

impl KalmanServo {
    /// Creates the servo with the clock's current frequency adjustment.
    pub fn new(cfg: &ServoConfig, initial_freq_ppb: f64) -> Self {
        let sigma = if cfg.kalman_measurement_noise > 0.0 {
            cfg.kalman_measurement_noise
        } else {
            match cfg.time_stamping {
                TimeStamping::Hardware => 20.0,
                TimeStamping::Software => 1000.0,
            }
        };
        KalmanServo {
            phase: Phase::Empty,
            theta: 0.0,
            f: -initial_freq_ppb,
            p: [[0.0; 2]; 2],
            u: initial_freq_ppb,
            last_ts: 0,
            r: (sigma * sigma).max(MIN_R),
            noise_window: [0.0; NOISE_WINDOW],
            n_noise: 0,
            next_noise: 0,
            rejects: 0,
            added_phase: 0.0,
            history: [None; 2],
            q_phase: cfg.kalman_phase_wander * cfg.kalman_phase_wander,
            q_freq: cfg.kalman_frequency_wander * cfg.kalman_frequency_wander,
            gate: if cfg.kalman_outlier_gate > 0.0 {
                cfg.kalman_outlier_gate
            } else {
                5.0
            },
            tau_intervals: cfg.kalman_time_constant.max(1.0),
            interval: 1.0,
            max_frequency: cfg.max_frequency,
            rules: StepRules::new(cfg),
            outliers: 0,
        }
    }

    /// Estimated measurement noise (ns, 1σ).
    pub fn measurement_noise(&self) -> f64 {
        self.r.sqrt()
    }

    /// Estimated free-running frequency error of the local oscillator (ppb).
    pub fn frequency_error(&self) -> f64 {
        self.f
    }

    /// Feeds the noise estimate with a sample: `u` was in force since the previous one.
    fn record_phase(&mut self, offset: i64, ts: i64) {
        if let [_, Some((_, t1))] = self.history {
            self.added_phase += self.u * (ts - t1) as f64 / 1e9;
        }
        let x = offset as f64 - self.added_phase;
        if let [Some((x0, t0)), Some((x1, t1))] = self.history {
            let (d0, d1) = ((t1 - t0) as f64, (ts - t1) as f64);
            if d0 > 0.0 && d1 > 0.0 {
                // e = (x2 − x1) − (x1 − x0)·d1/d0 has variance R·(1 + (1 + r)² + r²).
                let r = d1 / d0;
                let e = (x - x1) - (x1 - x0) * r;
                self.record_noise(e / (1.0 + (1.0 + r) * (1.0 + r) + r * r).sqrt());
            }
        }
        self.history = [self.history[1], Some((x, ts))];
    }

    fn record_noise(&mut self, e: f64) {
        if let Some(slot) = self.noise_window.get_mut(self.next_noise) {
            *slot = e.abs();
        }
        self.next_noise = (self.next_noise + 1) % NOISE_WINDOW;
        self.n_noise = (self.n_noise + 1).min(NOISE_WINDOW);
        if self.n_noise >= 7 {
            let mut v: Vec<f64> = self
                .noise_window
                .iter()
                .take(self.n_noise)
                .copied()
                .collect();
            v.sort_by(f64::total_cmp);
            let med = v.get(v.len() / 2).copied().unwrap_or(0.0);
            let sigma = 1.4826 * med;
            self.r = (sigma * sigma).max(MIN_R);
        }
    }

    /// The clock was stepped by `step_ns`: later offsets and local timestamps move with it.
    fn note_step(&mut self, step_ns: i64) {
        self.added_phase += step_ns as f64;
        for (_, t) in self.history.iter_mut().flatten() {
            *t = t.saturating_add(step_ns);
        }
    }

    fn control(&mut self) -> f64 {
        let tau = self.tau_intervals * self.interval;
        self.u = clamp(-(self.f + self.theta / tau), self.max_frequency);
        self.u
    }

    fn start_tracking(&mut self, o0: i64, t0: i64, o1: i64, t1: i64) -> ServoState {
        let dt = (t1 - t0) as f64 / 1e9;
        // Offsets moved by (f + u)·dt between the two samples.
        self.f = clamp((o1 - o0) as f64 / dt - self.u, self.max_frequency);
        self.theta = o1 as f64;
        let r = self.r;
        self.p = [[r, r / dt], [r / dt, 2.0 * r / (dt * dt)]];
        self.last_ts = t1;
        self.rejects = 0;
        self.phase = Phase::Tracking;
        if self.rules.wants_step(o1) {
            self.theta = 0.0;
            ServoState::Jump
        } else {
            ServoState::Locked
        }
    }

    fn track(&mut self, offset: i64, ts: i64, weight: f64) -> ServoState {
        let dt = ((ts - self.last_ts) as f64 / 1e9).max(1e-6);
        self.last_ts = ts;
        // Predict.
        self.theta += (self.f + self.u) * dt;
        let [[p00, p01], [_, p11]] = self.p;
        let qf = self.q_freq;
        let qp = self.q_phase;
        let n00 = p00 + 2.0 * dt * p01 + dt * dt * p11 + qp * dt + qf * dt * dt * dt / 3.0;
        let n01 = p01 + dt * p11 + qf * dt * dt / 2.0;
        let n11 = p11 + qf * dt;
        self.p = [[n00, n01], [n01, n11]];
        // Update.
        let r = self.r / weight.clamp(1e-3, 1.0);
        let nu = offset as f64 - self.theta;
        let s = n00 + r;
        if nu * nu > self.gate * self.gate * s {
            self.rejects += 1;
            self.outliers += 1;
            if self.rejects < MAX_CONSECUTIVE_REJECTS {
                return ServoState::Locked;
            }
            // Persistent: a real change. Widen the uncertainty so the filter follows it.
            let span = f64::from(self.rejects) * dt;
            self.p[0][0] += nu * nu;
            self.p[1][1] += (nu / span) * (nu / span);
        }
        self.rejects = 0;
        let [[p00, p01], [_, p11]] = self.p;
        let s = p00 + r;
        let k0 = p00 / s;
        let k1 = p01 / s;
        self.theta += k0 * nu;
        self.f = clamp(self.f + k1 * nu, self.max_frequency);
        self.p = [
            [(1.0 - k0) * p00, (1.0 - k0) * p01],
            [(1.0 - k0) * p01, p11 - k1 * p01],
        ];
        ServoState::Locked
    }
}

impl Servo for KalmanServo {
    fn sample(&mut self, offset_ns: i64, local_ts_ns: i64, weight: f64) -> ServoOutput {
        if self.history[1].is_some_and(|(_, t)| local_ts_ns <= t) {
            // Time went backwards (a step we did not make): the phase history is void.
            self.history = [None; 2];
        }
        self.record_phase(offset_ns, local_ts_ns);
        let state = match self.phase {
            Phase::Empty => {
                self.phase = Phase::One(offset_ns, local_ts_ns);
                ServoState::Unlocked
            }
            Phase::One(o0, t0) => {
                if local_ts_ns <= t0 {
                    self.phase = Phase::One(offset_ns, local_ts_ns);
                    ServoState::Unlocked
                } else {
                    self.start_tracking(o0, t0, offset_ns, local_ts_ns)
                }
            }
            Phase::Tracking => {
                if self.rules.exceeds_step_threshold(offset_ns) {
                    self.reset();
                    ServoState::Unlocked
                } else {
                    self.track(offset_ns, local_ts_ns, weight)
                }
            }
        };
        self.rules.note(state);
        let action = match state {
            ServoState::Unlocked => ServoAction::None,
            ServoState::Jump => {
                let freq_ppb = self.control();
                // The step moves the next timestamps too.
                self.last_ts = self.last_ts.saturating_sub(offset_ns);
                self.note_step(offset_ns.saturating_neg());
                ServoAction::Step {
                    step_ns: offset_ns.saturating_neg(),
                    freq_ppb,
                }
            }
            ServoState::Locked => ServoAction::AdjustFrequency(self.control()),
        };
        ServoOutput { action, state }
    }

    fn reset(&mut self) {
        self.phase = Phase::Empty;
        self.rejects = 0;
        // A new master or path: its phase is not comparable with the old one's. The noise
        // window is kept (timestamping noise belongs to this clock's hardware).
        self.history = [None; 2];
    }

    fn set_sync_interval(&mut self, interval_s: f64) {
        if interval_s > 0.0 && interval_s.is_finite() {
            self.interval = interval_s;
        }
    }

    fn frequency(&self) -> f64 {
        self.u
    }

    fn enter_holdover(&mut self) -> f64 {
        self.u = clamp(-self.f, self.max_frequency);
        self.reset();
        self.u
    }

    fn kind(&self) -> ServoKind {
        ServoKind::Kalman
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn learns_frequency_and_removes_offset_without_noise() {
        let mut s = KalmanServo::new(&ServoConfig::default(), 0.0);
        let mut offset: f64 = 3_000.0; // below first_step_threshold
        let mut u = 0.0;
        let err = 4_000.0;
        let mut states = vec![];
        for k in 0..300 {
            let o = s.sample(offset.round() as i64, (k + 1) * S, 1.0);
            states.push(o.state);
            match o.action {
                ServoAction::AdjustFrequency(f) => u = f,
                ServoAction::Step { step_ns, freq_ppb } => {
                    offset += step_ns as f64;
                    u = freq_ppb;
                }
                ServoAction::None => {}
            }
            offset += err + u;
        }
        assert_eq!(states[0], ServoState::Unlocked);
        assert!(states[1..].iter().all(|s| *s == ServoState::Locked));
        assert!(offset.abs() < 2.0, "offset {offset}");
        assert!((u + err).abs() < 0.5, "u {u}");
    }

    #[test]
    fn isolated_outliers_are_rejected_persistent_change_is_followed() {
        let mut s = KalmanServo::new(&ServoConfig::default(), 0.0);
        let mut u = 0.0;
        let mut theta: f64 = 0.0;
        let mut seen_during_outlier = 0.0f64;
        for k in 0..400i64 {
            // +50 µs outlier every 50 samples; a real +10 µs phase jump at k = 300.
            if k == 300 {
                theta += 10_000.0;
            }
            let meas = theta + if k % 50 == 25 { 50_000.0 } else { 0.0 };
            let o = s.sample(meas.round() as i64, (k + 1) * S, 1.0);
            if let ServoAction::AdjustFrequency(f) = o.action {
                u = f;
            }
            if (100..300).contains(&k) {
                seen_during_outlier = seen_during_outlier.max(u.abs());
            }
            theta += u;
        }
        assert!(s.outliers >= 4, "outliers {}", s.outliers);
        // The outliers did not move the frequency by more than a few ppb.
        assert!(seen_during_outlier < 5.0, "{seen_during_outlier}");
        // The persistent jump was followed and removed.
        assert!(theta.abs() < 50.0, "theta {theta}");
    }

    /// Seen with the real port core in the simulator: the first path-delay samples were
    /// measured before the frequency was known, so the two start-up offsets gave a frequency
    /// 1.5 ppm off. The filter must leave that wrong start within a minute, not get stuck
    /// believing the resulting drift is measurement noise.
    #[test]
    fn recovers_from_a_wrong_start_up_frequency() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(5);
        let mut s = KalmanServo::new(&ServoConfig::default(), 0.0);
        let err = 48_000.0;
        let mut theta: f64 = 1_500.0;
        let mut u = 0.0;
        let mut worst_late = 0.0f64;
        for k in 0..400i64 {
            // Start-up samples biased by the path-delay estimate settling as its median filter
            // fills (the sequence the core produced in the simulator).
            const BIAS: [f64; 13] = [
                4463.0, 2944.0, 2944.0, 1424.0, 955.0, 486.0, 486.0, 295.0, 103.0, 67.0, 31.0,
                15.0, 0.0,
            ];
            let bias = BIAS.get(k as usize).copied().unwrap_or(0.0);
            let noise = 8.0 * (rng.random::<f64>() - 0.5) * 3.46;
            let o = s.sample((theta + bias + noise).round() as i64, (k + 1) * S, 1.0);
            match o.action {
                ServoAction::AdjustFrequency(f) => u = f,
                ServoAction::Step { step_ns, freq_ppb } => {
                    theta += step_ns as f64;
                    u = freq_ppb;
                }
                ServoAction::None => {}
            }
            if k >= 100 {
                worst_late = worst_late.max(theta.abs());
            }
            theta += err + u;
        }
        assert!(worst_late < 50.0, "|θ| after 100 s up to {worst_late} ns");
        assert!(s.measurement_noise() < 30.0, "R: {}", s.measurement_noise());
    }

    #[test]
    fn first_step_and_clamp() {
        let cfg = ServoConfig {
            max_frequency: 1_000.0,
            ..Default::default()
        };
        let mut s = KalmanServo::new(&cfg, 0.0);
        assert_eq!(s.sample(1_000_000, S, 1.0).state, ServoState::Unlocked);
        let o = s.sample(1_050_000, 2 * S, 1.0);
        assert_eq!(o.state, ServoState::Jump);
        match o.action {
            ServoAction::Step { step_ns, freq_ppb } => {
                assert_eq!(step_ns, -1_050_000);
                assert_eq!(freq_ppb, -1_000.0);
            }
            a => panic!("{a:?}"),
        }
    }
}
