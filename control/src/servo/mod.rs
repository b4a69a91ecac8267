//! Clock servos: turn a stream of offset measurements into frequency adjustments and steps.
//!
//! Three servos share the [`Servo`] trait: [`pi::PiServo`] (linuxptp's PI, same keys and
//! defaults), [`linreg::LinregServo`] (linuxptp-style adaptive linear regression) and
//! [`kalman::KalmanServo`] (xptp's own: a two-state Kalman filter with innovation gating, built
//! for packet delay variation). [`build`] makes any of them by name, for the daemon and for the
//! simulator. Around them: the path-delay filter ([`filter`]), the clock sanity check
//! ([`clockcheck`], `sanity_freq_limit`) and holdover with clockClass degradation
//! ([`holdover`]).
//!
//! Conventions: `offset_ns` is IEEE 1588-2019 offsetFromMaster (11.2: local time minus master
//! time); actions are what to do to the *local* clock: a positive frequency speeds it up, a
//! step is added to it. Servos never touch a clock; the caller applies the action.

pub mod clockcheck;
pub mod filter;
pub mod holdover;
pub mod kalman;
pub mod linreg;
pub mod pi;

#[cfg(test)]
mod sim_tests;

use std::fmt;
use std::str::FromStr;

pub use clockcheck::ClockCheck;
pub use filter::{DelayFilter, DelayFilterKind};
pub use holdover::{ClockClassLadder, Holdover, HoldoverConfig, HoldoverState, HoldoverStatus};
pub use kalman::KalmanServo;
pub use linreg::LinregServo;
pub use pi::PiServo;

/// What the servo believes about its lock (linuxptp's servo states; `Jump` means "step now").
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ServoState {
    /// Not yet tracking (collecting samples, or reset).
    Unlocked,
    /// The clock must be stepped by the action's step, then it is tracking.
    Jump,
    /// Tracking: apply the frequency.
    Locked,
}

/// What to do to the local clock.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum ServoAction {
    /// Nothing (leave the clock as it is).
    None,
    /// Set the clock's frequency adjustment (ppb, positive = faster).
    AdjustFrequency(f64),
    /// Step the clock by `step_ns` (added to its time), then set the frequency.
    Step { step_ns: i64, freq_ppb: f64 },
}

/// A servo's answer to one sample.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct ServoOutput {
    pub action: ServoAction,
    pub state: ServoState,
}

impl ServoOutput {
    fn unlocked() -> Self {
        ServoOutput {
            action: ServoAction::None,
            state: ServoState::Unlocked,
        }
    }
}

/// Which servo (linuxptp's `clock_servo` key; `kalman` is xptp's own).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum ServoKind {
    /// Proportional-integral (linuxptp `pi`).
    #[default]
    Pi,
    /// Adaptive linear regression (linuxptp `linreg`).
    Linreg,
    /// Two-state Kalman filter with outlier gating (xptp).
    Kalman,
}

impl ServoKind {
    /// Every servo, for tables and simulators.
    pub const ALL: [ServoKind; 3] = [ServoKind::Pi, ServoKind::Linreg, ServoKind::Kalman];

    /// The configuration-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ServoKind::Pi => "pi",
            ServoKind::Linreg => "linreg",
            ServoKind::Kalman => "kalman",
        }
    }
}

impl fmt::Display for ServoKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown `clock_servo` value.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("unknown clock_servo {0:?}: use pi, linreg or kalman")]
pub struct UnknownServo(pub String);

impl FromStr for ServoKind {
    type Err = UnknownServo;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pi" => Ok(ServoKind::Pi),
            "linreg" => Ok(ServoKind::Linreg),
            "kalman" => Ok(ServoKind::Kalman),
            other => Err(UnknownServo(other.to_string())),
        }
    }
}

/// Hardware or software timestamps: linuxptp's `time_stamping`, which selects the PI defaults.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum TimeStamping {
    #[default]
    Hardware,
    Software,
}

/// Servo configuration. Field names are the linuxptp configuration keys (and the future
/// configuration file's), with linuxptp's defaults; the `kalman_*` keys are xptp's.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct ServoConfig {
    /// `clock_servo`.
    pub clock_servo: ServoKind,
    /// `time_stamping` (only hardware/software matter to the servo).
    pub time_stamping: TimeStamping,
    /// `pi_proportional_const`: if both consts are non-zero they are used as-is.
    pub pi_proportional_const: f64,
    /// `pi_integral_const`.
    pub pi_integral_const: f64,
    /// `pi_proportional_scale` (0 = 0.7 with hardware, 0.1 with software timestamping).
    pub pi_proportional_scale: f64,
    /// `pi_proportional_exponent`.
    pub pi_proportional_exponent: f64,
    /// `pi_proportional_norm_max`.
    pub pi_proportional_norm_max: f64,
    /// `pi_integral_scale` (0 = 0.3 with hardware, 0.001 with software timestamping).
    pub pi_integral_scale: f64,
    /// `pi_integral_exponent`.
    pub pi_integral_exponent: f64,
    /// `pi_integral_norm_max`.
    pub pi_integral_norm_max: f64,
    /// `step_threshold` in seconds (0 = never step after the first update).
    pub step_threshold: f64,
    /// `first_step_threshold` in seconds (0 = never step on the first update).
    pub first_step_threshold: f64,
    /// `max_frequency` in ppb (the clock's own maximum also applies).
    pub max_frequency: f64,
    /// `sanity_freq_limit` in ppb (0 = no check).
    pub sanity_freq_limit: f64,
    /// `delay_filter`.
    pub delay_filter: DelayFilterKind,
    /// `delay_filter_length`.
    pub delay_filter_length: usize,
    /// `kalman_measurement_noise` (ns, 1σ) as a starting point; 0 = estimate from the data.
    pub kalman_measurement_noise: f64,
    /// `kalman_frequency_wander` (ppb/√s): random-walk frequency noise of the local oscillator.
    pub kalman_frequency_wander: f64,
    /// `kalman_phase_wander` (ns/√s): white frequency noise of the local oscillator.
    pub kalman_phase_wander: f64,
    /// `kalman_outlier_gate`: innovations beyond this many σ are rejected.
    pub kalman_outlier_gate: f64,
    /// `kalman_time_constant` in sync intervals: how fast residual phase error is removed.
    pub kalman_time_constant: f64,
}

impl Default for ServoConfig {
    fn default() -> Self {
        ServoConfig {
            clock_servo: ServoKind::Pi,
            time_stamping: TimeStamping::Hardware,
            pi_proportional_const: 0.0,
            pi_integral_const: 0.0,
            pi_proportional_scale: 0.0,
            pi_proportional_exponent: -0.3,
            pi_proportional_norm_max: 0.7,
            pi_integral_scale: 0.0,
            pi_integral_exponent: 0.4,
            pi_integral_norm_max: 0.3,
            step_threshold: 0.0,
            first_step_threshold: 0.000_02,
            max_frequency: 900_000_000.0,
            sanity_freq_limit: 200_000_000.0,
            delay_filter: DelayFilterKind::MovingMedian,
            delay_filter_length: 10,
            kalman_measurement_noise: 0.0,
            kalman_frequency_wander: 0.1,
            kalman_phase_wander: 1.0,
            kalman_outlier_gate: 5.0,
            kalman_time_constant: 4.0,
        }
    }
}

impl ServoConfig {
    /// linuxptp's defaults for software timestamping.
    pub fn software() -> Self {
        ServoConfig {
            time_stamping: TimeStamping::Software,
            ..Default::default()
        }
    }

    /// `max_frequency` limited by what the clock accepts (`max_adj` of a PHC).
    pub fn limited_to_clock(mut self, clock_max_ppb: f64) -> Self {
        if clock_max_ppb > 0.0 && clock_max_ppb < self.max_frequency {
            self.max_frequency = clock_max_ppb;
        }
        self
    }

    /// `first_step_threshold` in ns (0 = disabled).
    pub fn first_step_threshold_ns(&self) -> i64 {
        secs_to_ns(self.first_step_threshold)
    }

    /// `step_threshold` in ns (0 = disabled).
    pub fn step_threshold_ns(&self) -> i64 {
        secs_to_ns(self.step_threshold)
    }
}

fn secs_to_ns(s: f64) -> i64 {
    if s > 0.0 {
        (s * 1e9).min(i64::MAX as f64) as i64
    } else {
        0
    }
}

/// The step rules shared by all servos (linuxptp servo.c): on the first update, step if
/// `first_step_threshold` is set and exceeded; afterwards step if `step_threshold` is set and
/// exceeded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepRules {
    pub first_step_ns: i64,
    pub step_ns: i64,
    pub first_update: bool,
}

impl StepRules {
    pub fn new(cfg: &ServoConfig) -> Self {
        StepRules {
            first_step_ns: cfg.first_step_threshold_ns(),
            step_ns: cfg.step_threshold_ns(),
            first_update: true,
        }
    }

    /// Whether an offset of `offset` calls for a step now.
    pub fn wants_step(&self, offset: i64) -> bool {
        let a = offset.unsigned_abs();
        (self.first_update && self.first_step_ns > 0 && a > self.first_step_ns as u64)
            || self.exceeds_step_threshold(offset)
    }

    /// Whether `step_threshold` is set and exceeded.
    pub fn exceeds_step_threshold(&self, offset: i64) -> bool {
        self.step_ns > 0 && offset.unsigned_abs() > self.step_ns as u64
    }

    /// Records the state the servo reported (the first update ends at the first non-Unlocked).
    pub fn note(&mut self, state: ServoState) {
        if state != ServoState::Unlocked {
            self.first_update = false;
        }
    }
}

/// A clock servo. See the module docs for sign conventions.
pub trait Servo: Send + fmt::Debug {
    /// Feeds one offset measurement: `offset_ns` = local − master (offsetFromMaster),
    /// `local_ts_ns` = the local clock's time of the measurement (e.g. the Sync ingress
    /// timestamp), `weight` in (0, 1] (1 for a normal sample).
    fn sample(&mut self, offset_ns: i64, local_ts_ns: i64, weight: f64) -> ServoOutput;
    /// Forgets all measurements (keeps the current frequency as the starting point).
    fn reset(&mut self);
    /// Tells the servo the nominal interval between samples (seconds; linuxptp's
    /// `logSyncInterval` as 2^n).
    fn set_sync_interval(&mut self, interval_s: f64);
    /// The frequency (ppb) last asked of the clock.
    fn frequency(&self) -> f64;
    /// The master is gone: returns the frequency to hold (the servo's best estimate of the
    /// oscillator's correction, without the phase-correction term) and prepares to relock
    /// without stepping unless a step threshold says otherwise.
    fn enter_holdover(&mut self) -> f64;
    /// Which servo this is.
    fn kind(&self) -> ServoKind;
}

/// Builds a servo by kind with the clock's current frequency adjustment as its starting
/// frequency (linuxptp's `fadj`).
pub fn build_with_frequency(
    kind: ServoKind,
    cfg: &ServoConfig,
    initial_freq_ppb: f64,
) -> Box<dyn Servo> {
    match kind {
        ServoKind::Pi => Box::new(PiServo::new(cfg, initial_freq_ppb)),
        ServoKind::Linreg => Box::new(LinregServo::new(cfg, initial_freq_ppb)),
        ServoKind::Kalman => Box::new(KalmanServo::new(cfg, initial_freq_ppb)),
    }
}

/// Builds a servo by kind, starting from zero frequency adjustment, with a 1 s sync interval.
pub fn build(kind: ServoKind, cfg: &ServoConfig) -> Box<dyn Servo> {
    build_with_frequency(kind, cfg, 0.0)
}

/// Clamps a frequency to ±`max`.
pub(crate) fn clamp(ppb: f64, max: f64) -> f64 {
    if ppb.is_nan() {
        0.0
    } else {
        ppb.clamp(-max, max)
    }
}
