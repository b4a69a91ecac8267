//! A node's time base: a free-running oscillator (initial offset, frequency error, random-walk
//! frequency wander) and the PTP clock disciplined on top of it.
//!
//! Two time scales come out of one oscillator:
//! - the **monotonic** time (`CLOCK_MONOTONIC_RAW`-like): the oscillator's own count, never
//!   adjusted, which the sans-IO core receives as its `now: Instant` and arms timers on;
//! - the **PTP clock**: a [`VirtualClock`] over the simulator's true time, whose oscillator
//!   error follows the same wander and which the servo steers with frequency adjustments and
//!   steps (applied at the simulated instant the action is executed). It implements the
//!   control crate's [`Clock`](xptp_control::clock::Clock) trait, so the real servo code
//!   runs unmodified.
//!
//! True time is the simulator's integer nanosecond count. The true time error of the PTP clock
//! ([`Oscillator::true_error_at`]) is exact at every instant.
//!
//! Wander is a random walk of the frequency error: every `wander_step_ns` of true time the
//! error moves by a Gaussian step of `wander_ppb_per_sqrt_s × √(step in s)`. Steps happen on a
//! fixed grid and draw from the oscillator's own stream, so the wander does not depend on when
//! the oscillator is read. Must not be read backwards in time: the engine only moves forward.

use xptp_control::clock::{ManualTimeSource, VirtualClock, VirtualClockConfig};
use xptp_control::time::Instant;

use super::rng::SimRng;

/// One second in nanoseconds.
const SEC: i64 = 1_000_000_000;

/// How a node's oscillator and PTP clock start and behave.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct OscillatorConfig {
    /// PTP clock minus true time at the start (ns).
    pub initial_offset_ns: i64,
    /// Free-running frequency error at the start (ppb, positive = fast).
    pub frequency_error_ppb: f64,
    /// Random-walk frequency wander (ppb per √s); 0 = a perfectly stable oscillator.
    pub wander_ppb_per_sqrt_s: f64,
    /// Grid of the wander's steps (ns of true time).
    pub wander_step_ns: i64,
    /// Largest frequency adjustment the PTP clock accepts (ppb), like a PHC's `max_adj`.
    pub max_frequency_ppb: f64,
    /// The monotonic clock's reading at the start (ns).
    pub monotonic_origin_ns: u64,
}

impl Default for OscillatorConfig {
    fn default() -> Self {
        OscillatorConfig {
            initial_offset_ns: 0,
            frequency_error_ppb: 0.0,
            wander_ppb_per_sqrt_s: 0.0,
            wander_step_ns: SEC,
            max_frequency_ppb: 62_499_999.0,
            monotonic_origin_ns: 1_000 * SEC as u64,
        }
    }
}

impl OscillatorConfig {
    /// A perfect oscillator: no offset, no error, no wander.
    pub fn perfect() -> Self {
        Self::default()
    }

    /// Offset and frequency error, no wander.
    pub fn with_error(initial_offset_ns: i64, frequency_error_ppb: f64) -> Self {
        OscillatorConfig {
            initial_offset_ns,
            frequency_error_ppb,
            ..Self::default()
        }
    }

    /// The same with random-walk wander.
    pub fn wander(mut self, ppb_per_sqrt_s: f64) -> Self {
        self.wander_ppb_per_sqrt_s = ppb_per_sqrt_s;
        self
    }
}

/// A linear piece of the monotonic time scale.
#[derive(Clone, Copy, Debug)]
struct MonoSegment {
    t0: i64,
    mono0: i64,
    /// Sub-ns part of the monotonic reading at `t0`, in [0, 1).
    frac0: f64,
    rate_ppb: f64,
}

impl MonoSegment {
    fn eval(&self, t: i64) -> (i64, f64) {
        let dt = t - self.t0;
        let corr = dt as f64 * self.rate_ppb * 1e-9 + self.frac0;
        let whole = corr.floor();
        (self.mono0 + dt + whole as i64, corr - whole)
    }
}

/// A node's oscillator and disciplined PTP clock. See the module docs.
#[derive(Debug)]
pub struct Oscillator {
    cfg: OscillatorConfig,
    rng: SimRng,
    /// Current free-running frequency error, ppb.
    freq_error_ppb: f64,
    mono: MonoSegment,
    next_wander_ns: i64,
    /// The last instant the oscillator was brought to.
    last_ns: i64,
    source: ManualTimeSource,
    clock: VirtualClock<ManualTimeSource>,
}

impl Oscillator {
    /// An oscillator starting at true time `t0`, drawing its wander from `rng`.
    pub fn new(cfg: OscillatorConfig, t0: i64, rng: SimRng) -> Self {
        let source = ManualTimeSource::new(t0);
        let clock = VirtualClock::new(
            source.clone(),
            VirtualClockConfig {
                initial_offset_ns: cfg.initial_offset_ns,
                frequency_error_ppb: cfg.frequency_error_ppb,
                max_frequency_ppb: cfg.max_frequency_ppb,
            },
        );
        Oscillator {
            rng,
            freq_error_ppb: cfg.frequency_error_ppb,
            mono: MonoSegment {
                t0,
                mono0: i64::try_from(cfg.monotonic_origin_ns).unwrap_or(i64::MAX / 2),
                frac0: 0.0,
                rate_ppb: cfg.frequency_error_ppb,
            },
            next_wander_ns: t0.saturating_add(cfg.wander_step_ns.max(1)),
            last_ns: t0,
            cfg,
            source,
            clock,
        }
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &OscillatorConfig {
        &self.cfg
    }

    /// Brings the oscillator to true time `t`: applies every wander step due by then and
    /// moves the clock's time source. Earlier times than the last one are ignored.
    pub fn advance_to(&mut self, t: i64) {
        if t < self.last_ns {
            return;
        }
        if self.cfg.wander_ppb_per_sqrt_s != 0.0 {
            let step = self.cfg.wander_step_ns.max(1);
            let sigma = self.cfg.wander_ppb_per_sqrt_s * (step as f64 / SEC as f64).sqrt();
            while self.next_wander_ns <= t {
                let at = self.next_wander_ns;
                let y = self.freq_error_ppb + sigma * self.rng.gaussian();
                self.set_frequency_error_at(at, y);
                self.next_wander_ns = at.saturating_add(step);
            }
        }
        self.last_ns = t;
        self.source.set(t);
    }

    /// Changes the free-running frequency error as of true time `t` (temperature steps,
    /// scripted events). The servo's adjustment stays in effect.
    pub fn set_frequency_error_at(&mut self, t: i64, ppb: f64) {
        let (m, f) = self.mono.eval(t);
        self.mono = MonoSegment {
            t0: t,
            mono0: m,
            frac0: f,
            rate_ppb: ppb,
        };
        self.freq_error_ppb = ppb;
        self.clock.set_oscillator_error_at(t, ppb);
    }

    /// The current free-running frequency error (ppb).
    pub fn frequency_error_ppb(&self) -> f64 {
        self.freq_error_ppb
    }

    /// The monotonic reading at true time `t` (call [`Oscillator::advance_to`] first).
    pub fn monotonic_at(&self, t: i64) -> Instant {
        Instant(u64::try_from(self.mono.eval(t).0).unwrap_or(0))
    }

    /// The earliest true time at or after `after` at which the monotonic clock reads at least
    /// `deadline`, assuming the current frequency error holds (wander may move the actual
    /// instant by a few ns; the engine re-checks when the timer fires).
    pub fn true_time_of_monotonic(&self, deadline: Instant, after: i64) -> i64 {
        let target = i64::try_from(deadline.0).unwrap_or(i64::MAX);
        let (now_m, now_f) = self.mono.eval(after);
        if target <= now_m {
            return after;
        }
        let dm = (target - now_m) as f64 - now_f;
        let dt = (dm / (1.0 + self.mono.rate_ppb * 1e-9)).ceil();
        if dt >= (i64::MAX - after) as f64 {
            i64::MAX
        } else {
            after + (dt as i64).max(1)
        }
    }

    /// The PTP clock's reading at true time `t`, without timestamp noise.
    pub fn clock_at(&self, t: i64) -> i64 {
        self.clock.to_virtual(t)
    }

    /// PTP clock minus true time at `t`.
    pub fn true_error_at(&self, t: i64) -> i64 {
        self.clock.true_error_at(t)
    }

    /// The PTP clock's total rate error now (oscillator and adjustment combined), ppb.
    pub fn clock_rate_error_ppb(&self) -> f64 {
        self.clock.true_rate_error_ppb()
    }

    /// Sets the PTP clock's frequency adjustment as of `t`; returns the clamped value.
    pub fn adjust_frequency_at(&mut self, t: i64, ppb: f64) -> f64 {
        self.clock.adjust_frequency_at(t, ppb)
    }

    /// Steps the PTP clock by `delta_ns` as of `t`.
    pub fn step_at(&mut self, t: i64, delta_ns: i64) {
        self.clock.step_at(t, delta_ns);
    }

    /// The PTP clock, as the control crate's [`Clock`](xptp_control::clock::Clock) (its
    /// `now()` reads the instant the oscillator was last advanced to).
    pub fn clock(&self) -> &VirtualClock<ManualTimeSource> {
        &self.clock
    }

    /// Mutable access to the PTP clock.
    pub fn clock_mut(&mut self) -> &mut VirtualClock<ManualTimeSource> {
        &mut self.clock
    }
}
