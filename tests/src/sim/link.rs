//! Point-to-point links between node ports: per direction a propagation delay (so forward and
//! backward may differ: asymmetry), a jitter distribution, a loss probability, and a FIFO
//! option (a frame never overtakes the one before it, as on a real cable or queue).
//!
//! The link only computes when a frame arrives, or that it is lost; the engine owns the
//! events. Counters per direction record what happened to every frame.

use super::rng::{Noise, SimRng};

/// A node in the simulation (index in the order nodes were added).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct NodeId(pub usize);

/// One port of one node (ports are numbered from 1, like PTP port numbers).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct PortRef {
    pub node: NodeId,
    pub port: u16,
}

impl PortRef {
    pub const fn new(node: NodeId, port: u16) -> Self {
        PortRef { node, port }
    }
}

/// A link in the simulation (index in the order links were added).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct LinkId(pub usize);

/// One direction of a link.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Direction {
    /// Fixed propagation and serialisation delay (ns).
    pub delay_ns: i64,
    /// Added to the delay per frame; the total never goes below 0.
    pub jitter: Noise,
    /// Probability that a frame is lost.
    pub loss: f64,
}

impl Direction {
    /// A fixed delay, no jitter, no loss.
    pub const fn fixed(delay_ns: i64) -> Self {
        Direction {
            delay_ns,
            jitter: Noise::None,
            loss: 0.0,
        }
    }
}

/// A link's configuration: `a_to_b` carries frames from the first endpoint given to
/// `connect` to the second.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct LinkConfig {
    pub a_to_b: Direction,
    pub b_to_a: Direction,
    /// Keep frames in order per direction (default true).
    pub fifo: bool,
}

impl LinkConfig {
    /// Symmetric, fixed delay, lossless.
    pub const fn fixed(delay_ns: i64) -> Self {
        LinkConfig {
            a_to_b: Direction::fixed(delay_ns),
            b_to_a: Direction::fixed(delay_ns),
            fifo: true,
        }
    }

    /// Fixed delays that differ per direction.
    pub const fn asymmetric(a_to_b_ns: i64, b_to_a_ns: i64) -> Self {
        LinkConfig {
            a_to_b: Direction::fixed(a_to_b_ns),
            b_to_a: Direction::fixed(b_to_a_ns),
            fifo: true,
        }
    }

    /// The same jitter in both directions.
    pub fn jitter(mut self, jitter: Noise) -> Self {
        self.a_to_b.jitter = jitter;
        self.b_to_a.jitter = jitter;
        self
    }

    /// The same loss probability in both directions.
    pub fn loss(mut self, p: f64) -> Self {
        self.a_to_b.loss = p;
        self.b_to_a.loss = p;
        self
    }

    /// Allow reordering under jitter.
    pub fn unordered(mut self) -> Self {
        self.fifo = false;
        self
    }
}

/// What happened to the frames of one direction.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct DirectionStats {
    /// Frames put on the link.
    pub sent: u64,
    /// Frames lost (by the loss probability or because the link was down).
    pub lost: u64,
    /// Frames delivered (scheduled for arrival).
    pub delivered: u64,
}

/// The state of one direction.
#[derive(Debug)]
pub(crate) struct DirectionState {
    pub cfg: Direction,
    pub rng: SimRng,
    pub last_arrival_ns: i64,
    pub stats: DirectionStats,
}

impl DirectionState {
    /// The arrival time of a frame put on the wire at `depart_ns`, or `None` when it is lost.
    pub fn transit(&mut self, depart_ns: i64, fifo: bool, up: bool) -> Option<i64> {
        self.stats.sent += 1;
        // Draw both numbers always so the stream advances the same way whatever happens.
        let lost = self.rng.chance(self.cfg.loss);
        let jitter = self.cfg.jitter.sample_ns(&mut self.rng);
        if lost || !up {
            self.stats.lost += 1;
            return None;
        }
        let mut arrival = depart_ns.saturating_add(self.cfg.delay_ns.saturating_add(jitter).max(0));
        if fifo {
            arrival = arrival.max(self.last_arrival_ns);
        }
        self.last_arrival_ns = arrival;
        self.stats.delivered += 1;
        Some(arrival)
    }
}

/// A link between two ports.
#[derive(Debug)]
pub(crate) struct Link {
    pub a: PortRef,
    pub b: PortRef,
    pub fifo: bool,
    pub up: bool,
    /// [0]: a→b, [1]: b→a.
    pub dirs: [DirectionState; 2],
}

impl Link {
    /// The direction index and far end for a frame sent from `from`.
    pub fn route(&self, from: PortRef) -> Option<(usize, PortRef)> {
        if from == self.a {
            Some((0, self.b))
        } else if from == self.b {
            Some((1, self.a))
        } else {
            None
        }
    }
}
