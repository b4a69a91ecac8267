//! [`VirtualClock`]: a software clock laid over a reference time source (CLOCK_TAI in the lab,
//! simulated time in tests) with a configurable initial offset and oscillator error, steered in
//! frequency and phase like a PHC, so a servo can be measured on real packets without touching
//! the machine's clock.
//!
//! The clock is a sequence of linear segments: each adjustment starts a new segment at the
//! reference instant it is made, `virtual(r) = v0 + (r - r0) * (1 + rate)`, where `rate` combines
//! the oscillator error and the frequency adjustment multiplicatively, as a PHC's adjustment
//! scales its own oscillator. Because the reference *is* the truth, the clock can report its
//! true time error at any instant ([`VirtualClock::true_error_at`]).
//!
//! Sharing: the single writer ([`VirtualClock`], not `Clone`) publishes each segment through a
//! seqlock; any number of [`VirtualClockReader`]s (e.g. the datapath thread converting XDP
//! CLOCK_TAI timestamps) read it without locks or allocation. A reader retries only while a
//! write of five words is in flight.

use std::fmt;
use std::sync::atomic::{fence, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use super::syscalls::{ClockId, ClockSyscalls, LinuxSyscalls};
use super::{clamp_ppb, Clock, ClockError};

/// A source of reference time in nanoseconds.
pub trait TimeSource: Send + Sync + fmt::Debug {
    /// The reference's current time.
    fn now_ns(&self) -> i64;
}

/// CLOCK_TAI: the timescale of XDP ingress timestamps; the lab's truth.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaiSource;

impl TimeSource for TaiSource {
    fn now_ns(&self) -> i64 {
        // clock_gettime on a static clock id cannot fail on Linux; 0 would be an obvious outlier.
        LinuxSyscalls.clock_gettime(ClockId::TAI).unwrap_or(0)
    }
}

/// CLOCK_MONOTONIC_RAW: the undisciplined oscillator (its timescale starts at boot).
#[derive(Clone, Copy, Debug, Default)]
pub struct MonotonicRawSource;

impl TimeSource for MonotonicRawSource {
    fn now_ns(&self) -> i64 {
        LinuxSyscalls
            .clock_gettime(ClockId::MONOTONIC_RAW)
            .unwrap_or(0)
    }
}

/// Simulated time, set by the test or simulator. Clones share the same time.
#[derive(Clone, Debug, Default)]
pub struct ManualTimeSource(Arc<AtomicI64>);

impl ManualTimeSource {
    /// Starts at `ns`.
    pub fn new(ns: i64) -> Self {
        ManualTimeSource(Arc::new(AtomicI64::new(ns)))
    }
    /// Sets the time.
    pub fn set(&self, ns: i64) {
        // Relaxed: a single value with no other data published alongside it.
        self.0.store(ns, Ordering::Relaxed);
    }
    /// Advances the time by `ns`.
    pub fn advance(&self, ns: i64) {
        self.0.fetch_add(ns, Ordering::Relaxed);
    }
}

impl TimeSource for ManualTimeSource {
    fn now_ns(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// How a virtual clock starts.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct VirtualClockConfig {
    /// Virtual minus reference time at creation (ns).
    pub initial_offset_ns: i64,
    /// Free-running frequency error of the simulated oscillator (ppb, positive = fast).
    pub frequency_error_ppb: f64,
    /// Largest frequency adjustment accepted (ppb).
    pub max_frequency_ppb: f64,
}

impl Default for VirtualClockConfig {
    fn default() -> Self {
        VirtualClockConfig {
            initial_offset_ns: 0,
            frequency_error_ppb: 0.0,
            // A typical PHC's max_adj.
            max_frequency_ppb: 62_499_999.0,
        }
    }
}

/// One linear piece of the virtual time scale.
#[derive(Clone, Copy, PartialEq, Debug)]
struct Segment {
    ref0: i64,
    val0: i64,
    /// Sub-nanosecond part of the virtual time at `ref0`, in [0, 1).
    frac0: f64,
    /// Total rate error (oscillator and adjustment combined), ppb.
    rate_ppb: f64,
}

impl Segment {
    fn eval(&self, r: i64) -> (i64, f64) {
        let dr = r.wrapping_sub(self.ref0);
        let corr = dr as f64 * self.rate_ppb * 1e-9 + self.frac0;
        let whole = corr.floor();
        (
            self.val0.wrapping_add(dr).wrapping_add(whole as i64),
            corr - whole,
        )
    }

    /// Inverse: the reference instant at which the virtual clock reads `v`.
    fn invert(&self, v: i64) -> i64 {
        let dv = v.wrapping_sub(self.val0) as f64 - self.frac0;
        let dr = dv / (1.0 + self.rate_ppb * 1e-9);
        self.ref0.wrapping_add(dr.round() as i64)
    }
}

/// The seqlock-protected segment shared between the writer and the readers.
#[derive(Debug, Default)]
struct Shared {
    /// Even: stable; odd: a write is in progress.
    seq: AtomicU64,
    ref0: AtomicI64,
    val0: AtomicI64,
    frac0: AtomicU64,
    rate: AtomicU64,
}

impl Shared {
    /// Only the single writer calls this.
    fn publish(&self, s: &Segment) {
        // Relaxed: only this writer stores `seq`.
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // Release fence: the odd sequence is visible before any of the field stores below.
        fence(Ordering::Release);
        // Relaxed: ordered by the fence above and the Release store below.
        self.ref0.store(s.ref0, Ordering::Relaxed);
        self.val0.store(s.val0, Ordering::Relaxed);
        self.frac0.store(s.frac0.to_bits(), Ordering::Relaxed);
        self.rate.store(s.rate_ppb.to_bits(), Ordering::Relaxed);
        // Release: a reader that sees this even value also sees the field stores above.
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    fn load(&self) -> Segment {
        loop {
            // Acquire: pairs with the Release store ending a write.
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 0 {
                // Relaxed: validated by the sequence re-check after the Acquire fence.
                let seg = Segment {
                    ref0: self.ref0.load(Ordering::Relaxed),
                    val0: self.val0.load(Ordering::Relaxed),
                    frac0: f64::from_bits(self.frac0.load(Ordering::Relaxed)),
                    rate_ppb: f64::from_bits(self.rate.load(Ordering::Relaxed)),
                };
                // Acquire fence: the field loads above happen before the re-read of `seq`.
                fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == s1 {
                    return seg;
                }
            }
            std::hint::spin_loop();
        }
    }
}

/// Combines an oscillator error and an adjustment (both ppb) the way a PHC does: the
/// adjustment scales the oscillator's own rate.
fn combine_ppb(native: f64, adj: f64) -> f64 {
    ((1.0 + native * 1e-9) * (1.0 + adj * 1e-9) - 1.0) * 1e9
}

/// A steerable software clock over a reference [`TimeSource`]. See the module docs.
#[derive(Debug)]
pub struct VirtualClock<T: TimeSource = TaiSource> {
    source: T,
    cfg: VirtualClockConfig,
    adj_ppb: f64,
    seg: Segment,
    shared: Arc<Shared>,
}

/// A cheap, cloneable, lock-free read handle on a [`VirtualClock`]'s time scale, for the
/// datapath thread.
#[derive(Clone, Debug)]
pub struct VirtualClockReader {
    shared: Arc<Shared>,
}

impl VirtualClockReader {
    /// Converts a reference-timescale timestamp (CLOCK_TAI ns from XDP when the reference is
    /// [`TaiSource`]) to the virtual clock's time scale.
    pub fn to_virtual(&self, reference_ns: i64) -> i64 {
        self.shared.load().eval(reference_ns).0
    }

    /// The virtual clock's true error (virtual minus reference) at a reference instant.
    pub fn true_error_at(&self, reference_ns: i64) -> i64 {
        self.to_virtual(reference_ns).wrapping_sub(reference_ns)
    }
}

impl<T: TimeSource> VirtualClock<T> {
    /// Creates the clock at the source's current time.
    pub fn new(source: T, cfg: VirtualClockConfig) -> Self {
        let r = source.now_ns();
        let seg = Segment {
            ref0: r,
            val0: r.wrapping_add(cfg.initial_offset_ns),
            frac0: 0.0,
            rate_ppb: cfg.frequency_error_ppb,
        };
        let shared = Arc::new(Shared::default());
        shared.publish(&seg);
        VirtualClock {
            source,
            cfg,
            adj_ppb: 0.0,
            seg,
            shared,
        }
    }

    /// A read handle for other threads.
    pub fn reader(&self) -> VirtualClockReader {
        VirtualClockReader {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The reference time source.
    pub fn source(&self) -> &T {
        &self.source
    }

    /// The configuration it was created with.
    pub fn config(&self) -> VirtualClockConfig {
        self.cfg
    }

    /// Converts a reference-timescale timestamp to virtual time.
    pub fn to_virtual(&self, reference_ns: i64) -> i64 {
        self.seg.eval(reference_ns).0
    }

    /// Converts a virtual time back to the reference timescale (within a nanosecond), e.g. to
    /// schedule a transmission at a virtual instant.
    pub fn to_reference(&self, virtual_ns: i64) -> i64 {
        self.seg.invert(virtual_ns)
    }

    /// True error (virtual minus reference) at a reference instant.
    pub fn true_error_at(&self, reference_ns: i64) -> i64 {
        self.to_virtual(reference_ns).wrapping_sub(reference_ns)
    }

    /// True error now.
    pub fn true_error_now(&self) -> i64 {
        self.true_error_at(self.source.now_ns())
    }

    /// The current total rate error (oscillator and adjustment), ppb.
    pub fn true_rate_error_ppb(&self) -> f64 {
        self.seg.rate_ppb
    }

    fn rebase(&mut self, r: i64) {
        let (v, f) = self.seg.eval(r);
        self.seg.ref0 = r;
        self.seg.val0 = v;
        self.seg.frac0 = f;
    }

    /// Sets the frequency adjustment as of reference instant `r` (for simulations that drive
    /// time explicitly). Returns the clamped value applied.
    pub fn adjust_frequency_at(&mut self, r: i64, ppb: f64) -> f64 {
        let ppb = clamp_ppb(ppb, self.cfg.max_frequency_ppb);
        self.rebase(r);
        self.adj_ppb = ppb;
        self.seg.rate_ppb = combine_ppb(self.cfg.frequency_error_ppb, ppb);
        self.shared.publish(&self.seg);
        ppb
    }

    /// Changes the simulated oscillator's free-running error as of reference instant `r`
    /// (temperature wander, ageing in simulations). The frequency adjustment is kept.
    pub fn set_oscillator_error_at(&mut self, r: i64, ppb: f64) {
        self.rebase(r);
        self.cfg.frequency_error_ppb = ppb;
        self.seg.rate_ppb = combine_ppb(ppb, self.adj_ppb);
        self.shared.publish(&self.seg);
    }

    /// Steps the clock by `delta_ns` as of reference instant `r`.
    pub fn step_at(&mut self, r: i64, delta_ns: i64) {
        self.rebase(r);
        self.seg.val0 = self.seg.val0.wrapping_add(delta_ns);
        self.shared.publish(&self.seg);
    }
}

impl<T: TimeSource> Clock for VirtualClock<T> {
    fn name(&self) -> &str {
        "virtual"
    }

    fn now(&self) -> Result<i64, ClockError> {
        Ok(self.to_virtual(self.source.now_ns()))
    }

    fn adjust_frequency(&mut self, ppb: f64) -> Result<f64, ClockError> {
        let r = self.source.now_ns();
        Ok(self.adjust_frequency_at(r, ppb))
    }

    fn step(&mut self, delta_ns: i64) -> Result<(), ClockError> {
        let r = self.source.now_ns();
        self.step_at(r, delta_ns);
        Ok(())
    }

    fn frequency(&self) -> Result<f64, ClockError> {
        Ok(self.adj_ppb)
    }

    fn max_frequency_ppb(&self) -> f64 {
        self.cfg.max_frequency_ppb
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::{RngExt, SeedableRng};

    const S: i64 = 1_000_000_000;

    /// Replays a random sequence of frequency adjustments, oscillator changes and steps with an
    /// independent model (error rate integrated in f64, rates combined from scratch) and checks
    /// the clock's own error report against it at every event and in between.
    #[test]
    fn reported_error_matches_an_independent_replay() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let src = ManualTimeSource::new(1_700_000_000 * S);
        let cfg = VirtualClockConfig {
            initial_offset_ns: 1_000_000,
            frequency_error_ppb: 50_000.0,
            max_frequency_ppb: 500_000.0,
        };
        let mut clock = VirtualClock::new(src.clone(), cfg);
        let mut model_err = 1_000_000.0f64;
        let (mut native, mut adj) = (50_000.0f64, 0.0f64);
        let mut r_last = src.now_ns();
        for _ in 0..5_000 {
            let dt = rng.random_range(1..3 * S);
            src.advance(dt);
            let r = src.now_ns();
            let rate = (1.0 + native / 1e9) * (1.0 + adj / 1e9) - 1.0;
            model_err += (r - r_last) as f64 * rate;
            r_last = r;
            let got = clock.true_error_at(r) as f64;
            assert!(
                (got - model_err).abs() <= 1.0,
                "at {r}: clock {got} model {model_err}"
            );
            assert_eq!(clock.reader().true_error_at(r), clock.true_error_at(r));
            match rng.random_range(0..3) {
                0 => {
                    let f = rng.random_range(-600_000.0..600_000.0);
                    let applied = clock.adjust_frequency_at(r, f);
                    assert_eq!(applied, f.clamp(-500_000.0, 500_000.0));
                    adj = applied;
                }
                1 => {
                    let d = rng.random_range(-1_000_000..1_000_000);
                    clock.step_at(r, d);
                    model_err += d as f64;
                }
                _ => {
                    native = rng.random_range(-100_000.0..100_000.0);
                    clock.set_oscillator_error_at(r, native);
                }
            }
            // The inverse conversion lands within a nanosecond.
            let v = clock.to_virtual(r);
            assert!((clock.to_reference(v) - r).abs() <= 1);
        }
        assert_eq!(clock.frequency().unwrap(), adj);
    }

    #[test]
    fn readers_never_see_a_torn_segment() {
        // Two segments differing in every field; any mix of their fields reads differently.
        let sa = Segment {
            ref0: 0,
            val0: 0,
            frac0: 0.0,
            rate_ppb: 0.0,
        };
        let sb = Segment {
            ref0: 1_000_000,
            val0: 9_000_000,
            frac0: 0.5,
            rate_ppb: 1e6,
        };
        let r = 2_000_000;
        let (a, b) = (sa.eval(r).0, sb.eval(r).0);
        assert_eq!((a, b), (2_000_000, 10_001_000));
        let shared = Arc::new(Shared::default());
        shared.publish(&sa);
        let reader = VirtualClockReader {
            shared: Arc::clone(&shared),
        };
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reads = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (stop2, reads2) = (Arc::clone(&stop), Arc::clone(&reads));
        let t = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let v = reader.to_virtual(r);
                assert!(v == a || v == b, "torn read: {v} not in {{{a}, {b}}}");
                reads2.fetch_add(1, Ordering::Relaxed);
            }
        });
        // At least 200 000 rounds, and on until the reader has overlapped a good many of them
        // (on a busy 2-core machine it may start only after the first rounds are done).
        let mut rounds = 0u64;
        while rounds < 200_000 || (reads.load(Ordering::Relaxed) < 100_000 && rounds < 50_000_000) {
            shared.publish(&sb);
            shared.publish(&sa);
            rounds += 1;
        }
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap();
        assert!(reads.load(Ordering::Relaxed) > 0);
    }

    #[test]
    fn converts_real_tai_timestamps() {
        let mut clock = VirtualClock::new(
            TaiSource,
            VirtualClockConfig {
                initial_offset_ns: -5_000,
                ..Default::default()
            },
        );
        let tai = TaiSource.now_ns();
        assert_eq!(clock.reader().to_virtual(tai) - tai, -5_000);
        clock.step(5_000).unwrap();
        assert_eq!(clock.true_error_now(), 0);
        let n = clock.now().unwrap();
        assert!((n - TaiSource.now_ns()).abs() < S);
    }
}
