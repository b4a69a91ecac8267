//! Seeded randomness for the simulator: [`SimRng`] (one independent, reproducible stream per
//! simulated component, derived from the run's seed and a stream label) and [`Noise`], the
//! distributions used for link jitter, timestamp noise and transmit latency.
//!
//! Nothing here reads OS entropy: a run is a pure function of its seed. Streams are derived
//! per component (node oscillator, node timestamper, link direction, ...) so that adding a
//! component or drawing more numbers in one place does not shift the numbers another
//! component sees; the same seed then gives every servo in a comparison the same noise.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// SplitMix64 finaliser: spreads a 64-bit value over all bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a random stream belongs to; with the run seed it determines the stream.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Stream {
    /// A node's oscillator wander.
    Oscillator(usize),
    /// A node's timestamping unit (RX and TX timestamp noise).
    Timestamper(usize),
    /// A node's transmit latency (queueing between the Send action and the wire).
    TxLatency(usize),
    /// One direction of a link: (link index, 0 = a→b, 1 = b→a).
    Link(usize, u8),
    /// Randomness handed to scenario code and test nodes.
    User(u64),
    /// The protocol core running on a node: (node index, incarnation: 0 for the first start,
    /// n after the n-th restart).
    Protocol(usize, u64),
}

impl Stream {
    fn code(self) -> u64 {
        let (tag, a, b) = match self {
            Stream::Oscillator(n) => (1u64, n as u64, 0u64),
            Stream::Timestamper(n) => (2, n as u64, 0),
            Stream::TxLatency(n) => (3, n as u64, 0),
            Stream::Link(l, d) => (4, l as u64, u64::from(d)),
            Stream::User(u) => (5, u, 0),
            Stream::Protocol(n, i) => (6, n as u64, i),
        };
        mix(mix(tag) ^ mix(a.wrapping_add(0x1234_5678)) ^ b.rotate_left(17))
    }
}

/// A reproducible random stream.
#[derive(Clone, Debug)]
pub struct SimRng {
    rng: Xoshiro256PlusPlus,
}

impl SimRng {
    /// The stream of `stream` under the run seed `seed`.
    pub fn derive(seed: u64, stream: Stream) -> Self {
        SimRng {
            rng: Xoshiro256PlusPlus::seed_from_u64(mix(seed) ^ stream.code()),
        }
    }

    /// A stream seeded directly (for tests of the distributions).
    pub fn from_seed(seed: u64) -> Self {
        SimRng {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    /// A uniformly drawn `u32` (e.g. for the announce receipt timeout's random extension).
    pub fn u32(&mut self) -> u32 {
        self.rng.random::<u32>()
    }

    /// The underlying generator (for code that takes a `rand::Rng`, such as the protocol
    /// core).
    pub fn into_inner(self) -> Xoshiro256PlusPlus {
        self.rng
    }

    /// A uniformly drawn `u64`.
    pub fn u64(&mut self) -> u64 {
        self.rng.random::<u64>()
    }

    /// True with probability `p` (p ≤ 0: never, p ≥ 1: always; one draw either way, so
    /// the stream advances identically whatever `p` is).
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal (Box–Muller; two uniforms per draw, no cached second value, so every
    /// draw consumes the same amount of the stream).
    pub fn gaussian(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Exponential with mean 1.
    pub fn exponential(&mut self) -> f64 {
        -(1.0 - self.uniform()).ln()
    }
}

/// A noise distribution in nanoseconds.
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub enum Noise {
    /// Always 0.
    #[default]
    None,
    /// Zero-mean Gaussian.
    Gaussian { sigma_ns: f64 },
    /// One-sided exponential (queueing): mean `mean_ns`, never negative.
    Exponential { mean_ns: f64 },
    /// Uniform in [lo_ns, hi_ns).
    Uniform { lo_ns: f64, hi_ns: f64 },
    /// Zero-mean Gaussian plus, with probability `spike_probability`, a positive spike of
    /// `spike_ns` (a software timestamp taken after an interrupt or a scheduling delay).
    GaussianSpikes {
        sigma_ns: f64,
        spike_probability: f64,
        spike_ns: f64,
    },
    /// Exponential queueing (mean `mean_ns`) plus, with probability `spike_probability`, an
    /// exponential outlier of mean `spike_mean_ns` (a software path's long tail).
    ExponentialTail {
        mean_ns: f64,
        spike_probability: f64,
        spike_mean_ns: f64,
    },
}

impl Noise {
    /// Hardware timestamping: 8 ns Gaussian.
    pub const fn hardware() -> Self {
        Noise::Gaussian { sigma_ns: 8.0 }
    }

    /// Software timestamping: 1 µs Gaussian with 1 % of samples late by 50 µs.
    pub const fn software() -> Self {
        Noise::GaussianSpikes {
            sigma_ns: 1_000.0,
            spike_probability: 0.01,
            spike_ns: 50_000.0,
        }
    }

    /// One sample, ns.
    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        match *self {
            Noise::None => 0.0,
            Noise::Gaussian { sigma_ns } => sigma_ns * rng.gaussian(),
            Noise::Exponential { mean_ns } => mean_ns * rng.exponential(),
            Noise::Uniform { lo_ns, hi_ns } => lo_ns + (hi_ns - lo_ns) * rng.uniform(),
            Noise::GaussianSpikes {
                sigma_ns,
                spike_probability,
                spike_ns,
            } => {
                let g = sigma_ns * rng.gaussian();
                if rng.chance(spike_probability) {
                    g + spike_ns
                } else {
                    g
                }
            }
            Noise::ExponentialTail {
                mean_ns,
                spike_probability,
                spike_mean_ns,
            } => {
                let base = mean_ns * rng.exponential();
                let spike = rng.chance(spike_probability);
                let tail = spike_mean_ns * rng.exponential();
                if spike {
                    base + tail
                } else {
                    base
                }
            }
        }
    }

    /// One sample rounded to whole nanoseconds.
    pub fn sample_ns(&self, rng: &mut SimRng) -> i64 {
        self.sample(rng).round() as i64
    }

    /// The distribution's mean, ns.
    pub fn mean(&self) -> f64 {
        match *self {
            Noise::None | Noise::Gaussian { .. } => 0.0,
            Noise::Exponential { mean_ns } => mean_ns,
            Noise::Uniform { lo_ns, hi_ns } => (lo_ns + hi_ns) / 2.0,
            Noise::GaussianSpikes {
                spike_probability,
                spike_ns,
                ..
            } => spike_probability * spike_ns,
            Noise::ExponentialTail {
                mean_ns,
                spike_probability,
                spike_mean_ns,
            } => mean_ns + spike_probability * spike_mean_ns,
        }
    }
}
