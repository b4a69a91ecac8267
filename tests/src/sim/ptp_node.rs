//! The real protocol core on a simulated node: [`PtpNode`] wraps a
//! [`PtpInstance`](xptp_control::ptp::PtpInstance) (ordinary clock, boundary clock or
//! grandmaster) and implements [`SimNode`] by forwarding every engine call to the core's
//! sans-IO handlers and returning the actions the core queued, unchanged. One-step messages
//! (`Action::Send { one_step: Some(..) }`) are completed by the engine at egress
//! ([`onestep`](super::onestep)).
//!
//! What a node needs besides its configuration is an identity and randomness:
//! [`clock_identity`] derives an EUI-64-style identity from a small number (the lower the
//! number, the better the identity in the BMCA tie-break), and the core's random generator
//! is derived from the run seed and the node ([`Stream::Protocol`]), so runs stay
//! reproducible. A node that is stopped and restarted ([`Simulator::set_node_running`])
//! reboots: its `start` builds a fresh instance (new random stream, empty data sets), as a
//! power-cycled box would.
//!
//! The adapter owns no protocol logic: no timers, no filtering, no clock reads.

use xptp_control::datasets::PortConfig;
use xptp_control::port::{Action, TxToken};
use xptp_control::ptp::{InstanceConfig, PtpInstance};
use xptp_control::time::Instant;
use xptp_datapath::wire::ClockIdentity;

use super::engine::Simulator;
use super::link::NodeId;
use super::node::{NodeConfig, NodeCtx, SimNode};
use super::rng::{SimRng, Stream};

/// An EUI-64-style clock identity `n0:00:00:ff:fe:00:hi:lo` built from `n`: identities
/// compare in the order of `n` (IEEE 1588-2019 9.3.4 uses the identity as the last
/// tie-break, lower is better).
pub fn clock_identity(n: u16) -> ClockIdentity {
    let [hi, lo] = n.to_be_bytes();
    ClockIdentity([0x02, 0x00, 0x00, 0xff, 0xfe, 0x00, hi, lo])
}

/// A [`PtpInstance`] as a simulated node. See the module docs.
pub struct PtpNode {
    config: InstanceConfig,
    ports: Vec<PortConfig>,
    identity: ClockIdentity,
    /// Run seed and node index: the core's random stream.
    seed: u64,
    index: usize,
    /// How many times `start` ran (restarts build a fresh instance).
    starts: u64,
    inst: PtpInstance,
}

impl std::fmt::Debug for PtpNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PtpNode")
            .field("identity", &self.identity)
            .field("starts", &self.starts)
            .field("inst", &self.inst)
            .finish()
    }
}

fn build(
    config: &InstanceConfig,
    ports: &[PortConfig],
    identity: ClockIdentity,
    seed: u64,
    index: usize,
    incarnation: u64,
) -> PtpInstance {
    let rng = SimRng::derive(seed, Stream::Protocol(index, incarnation)).into_inner();
    PtpInstance::new(config.clone(), ports.to_vec(), identity, Box::new(rng))
}

impl PtpNode {
    /// A node running the core with `config`, one port per entry of `ports`, identified by
    /// `identity`; its randomness is the stream of node `index` under the run `seed`.
    /// [`add_ptp_node`] fills `seed` and `index` from the simulator.
    pub fn new(
        config: InstanceConfig,
        ports: Vec<PortConfig>,
        identity: ClockIdentity,
        seed: u64,
        index: usize,
    ) -> Self {
        let inst = build(&config, &ports, identity, seed, index, 0);
        PtpNode {
            config,
            ports,
            identity,
            seed,
            index,
            starts: 0,
            inst,
        }
    }

    /// The core, for assertions (port states, data sets, measurements, counters).
    pub fn instance(&self) -> &PtpInstance {
        &self.inst
    }

    /// The clock identity.
    pub fn identity(&self) -> ClockIdentity {
        self.identity
    }

    fn drain(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.inst.poll_action()).collect()
    }
}

/// Adds a node running the core: hardware from `hw` (its port count is the number of
/// `ports`), the core's randomness derived from the run seed and the node's index.
pub fn add_ptp_node(
    sim: &mut Simulator,
    mut hw: NodeConfig,
    config: InstanceConfig,
    ports: Vec<PortConfig>,
    identity: ClockIdentity,
) -> NodeId {
    hw.ports = u16::try_from(ports.len()).unwrap_or(u16::MAX);
    let node = PtpNode::new(config, ports, identity, sim.seed(), sim.node_count());
    sim.add_node(hw, node)
}

/// The simulator's i64 timestamps as the core's i128.
fn wide(ns: i64) -> i128 {
    i128::from(ns)
}

impl SimNode for PtpNode {
    fn start(&mut self, ctx: &NodeCtx) -> Vec<Action> {
        if self.starts > 0 {
            self.inst = build(
                &self.config,
                &self.ports,
                self.identity,
                self.seed,
                self.index,
                self.starts,
            );
        }
        self.starts += 1;
        // The first call initialises the ports (INITIALIZING → LISTENING).
        self.inst.handle_timer(ctx.now);
        self.drain()
    }

    fn handle_message(
        &mut self,
        ctx: &NodeCtx,
        port: u16,
        data: &[u8],
        rx_timestamp_ns: i64,
    ) -> Vec<Action> {
        self.inst
            .handle_message(ctx.now, port, data, wide(rx_timestamp_ns));
        self.drain()
    }

    fn handle_tx_timestamp(
        &mut self,
        _ctx: &NodeCtx,
        token: TxToken,
        tx_timestamp_ns: i64,
    ) -> Vec<Action> {
        self.inst.handle_tx_timestamp(token, wide(tx_timestamp_ns));
        self.drain()
    }

    fn handle_timer(&mut self, ctx: &NodeCtx) -> Vec<Action> {
        self.inst.handle_timer(ctx.now);
        self.drain()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.inst.poll_timeout()
    }
}
