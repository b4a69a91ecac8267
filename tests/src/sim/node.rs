//! The interface between the engine and what runs on a simulated node ([`SimNode`]), which
//! mirrors the sans-IO protocol core: bytes and timestamps in, [`Action`]s out, timers through
//! `poll_timeout`. The engine owns the node's oscillator and timestamping; the node sees only
//! what a real shell would hand the core: its monotonic time, timestamps in its own PTP clock,
//! and (for nodes that need it, such as a grandmaster filling originTimestamp) a read of its
//! PTP clock. It never sees true time.
//!
//! Actions are the control crate's own [`Action`] ([`Action::Send`] with an optional
//! [`TxToken`](xptp_control::port::TxToken), [`Action::AdjustClock`],
//! [`Action::PortStateChanged`]), so the real core plugs in without translation.

use std::any::Any;
use std::fmt;

use xptp_control::port::{Action, TxToken};
use xptp_control::time::Instant;

use super::oscillator::OscillatorConfig;
use super::rng::Noise;

/// What a node is told with every call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NodeCtx {
    /// The node's monotonic time (its free-running oscillator): the core's `now`.
    pub now: Instant,
    /// The node's PTP clock at this instant, without timestamp noise.
    pub clock_ns: i64,
}

/// Something that runs on a simulated node. See the module docs.
///
/// Every handler returns the actions to execute, in order. After every call the engine asks
/// [`SimNode::poll_timeout`] and calls [`SimNode::handle_timer`] once the node's monotonic
/// clock reaches it.
pub trait SimNode: Any + fmt::Debug {
    /// Called once when the simulation starts (at the node's start time).
    fn start(&mut self, _ctx: &NodeCtx) -> Vec<Action> {
        Vec::new()
    }

    /// A frame arrived on `port`, timestamped `rx_timestamp_ns` by the node's timestamper
    /// (PTP clock at arrival, plus timestamp noise).
    fn handle_message(
        &mut self,
        ctx: &NodeCtx,
        port: u16,
        data: &[u8],
        rx_timestamp_ns: i64,
    ) -> Vec<Action>;

    /// The egress timestamp of a frame sent with `token`.
    fn handle_tx_timestamp(
        &mut self,
        ctx: &NodeCtx,
        token: TxToken,
        tx_timestamp_ns: i64,
    ) -> Vec<Action>;

    /// The deadline returned by [`SimNode::poll_timeout`] has passed.
    fn handle_timer(&mut self, ctx: &NodeCtx) -> Vec<Action>;

    /// The earliest deadline, in the node's monotonic time.
    fn poll_timeout(&self) -> Option<Instant>;

    /// One-step egress hook: called as a frame leaves `port`, with the egress timestamp the
    /// node's timestamper takes at that instant, so that hardware that edits frames on the fly
    /// (a one-step clock, a transparent clock adding residence time) can patch `data`. The
    /// default leaves the frame alone.
    fn on_egress(&mut self, _port: u16, _data: &mut [u8], _egress_timestamp_ns: i64) {}
}

/// How a node's hardware behaves.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// A name for traces and tables.
    pub name: String,
    /// Number of ports (numbered 1..=ports).
    pub ports: u16,
    /// Oscillator and PTP clock.
    pub oscillator: OscillatorConfig,
    /// Noise added to every RX and TX timestamp.
    pub timestamp_noise: Noise,
    /// Time between a Send action and the frame leaving the port (queueing, processing);
    /// negative samples count as 0. Frames of one port leave in order.
    pub tx_latency: Noise,
    /// Fixed part of the transmit latency (ns).
    pub tx_latency_ns: i64,
    /// Time between a frame leaving and its TX timestamp reaching the node (ns).
    pub tx_timestamp_delay_ns: i64,
    /// True time at which the node starts (its `start` is called), ns after the run's epoch.
    pub start_after_ns: i64,
}

impl NodeConfig {
    /// A node with perfect hardware: perfect oscillator, no noise, no latency.
    pub fn new(name: impl Into<String>, ports: u16) -> Self {
        NodeConfig {
            name: name.into(),
            ports,
            oscillator: OscillatorConfig::perfect(),
            timestamp_noise: Noise::None,
            tx_latency: Noise::None,
            tx_latency_ns: 0,
            tx_timestamp_delay_ns: 0,
            start_after_ns: 0,
        }
    }

    /// With this oscillator.
    pub fn oscillator(mut self, osc: OscillatorConfig) -> Self {
        self.oscillator = osc;
        self
    }

    /// With this timestamp noise.
    pub fn timestamp_noise(mut self, noise: Noise) -> Self {
        self.timestamp_noise = noise;
        self
    }

    /// With this transmit latency (fixed part plus noise).
    pub fn tx_latency(mut self, fixed_ns: i64, noise: Noise) -> Self {
        self.tx_latency_ns = fixed_ns;
        self.tx_latency = noise;
        self
    }

    /// Starting `ns` after the epoch.
    pub fn start_after(mut self, ns: i64) -> Self {
        self.start_after_ns = ns;
        self
    }
}
