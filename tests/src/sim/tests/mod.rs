//! The simulator's own tests: determinism, link and oscillator models, transparent clock
//! accounting, a servo closing the loop end to end, and the report helpers.

mod determinism;
mod links;
mod oscillator;
mod report;
mod servo;
mod tc;

use super::testnodes::{Sink, SyncSource};
use super::{LinkConfig, NodeConfig, NodeId, Simulator};

/// A sync source on node "src" port 1 linked to a sink on node "dst" port 1.
pub(super) fn source_to_sink(
    seed: u64,
    link: LinkConfig,
    log_interval: i8,
) -> (Simulator, NodeId, NodeId) {
    let mut sim = Simulator::new(seed);
    let a = sim.add_node(NodeConfig::new("src", 1), SyncSource::new(1, log_interval));
    let b = sim.add_node(NodeConfig::new("dst", 1), Sink::default());
    sim.connect((a, 1), (b, 1), link);
    (sim, a, b)
}

/// Mean and standard deviation.
pub(super) fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}
