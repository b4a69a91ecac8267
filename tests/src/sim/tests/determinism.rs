//! Same seed → identical trace; different seed → different trace.

use xptp_control::servo::{ServoConfig, ServoKind};

use crate::sim::testnodes::{ServoSink, SyncSource};
use crate::sim::{
    LinkConfig, NodeConfig, Noise, OscillatorConfig, Reference, Simulator, TransparentClock, MS,
    SEC, US,
};

/// A noisy network exercising every random stream: wander, timestamp noise, TX latency,
/// link jitter and loss, a TC, and a servo acting on the clock.
fn noisy(seed: u64) -> Simulator {
    let mut sim = Simulator::new(seed);
    let gm = sim.add_node(
        NodeConfig::new("gm", 1)
            .oscillator(OscillatorConfig::with_error(0, 3_000.0).wander(0.5))
            .timestamp_noise(Noise::hardware()),
        SyncSource::new(1, -3),
    );
    let tc = sim.add_node(
        NodeConfig::new("tc", 2)
            .oscillator(OscillatorConfig::with_error(0, -20_000.0).wander(1.0))
            .timestamp_noise(Noise::hardware())
            .tx_latency(2 * US, Noise::Exponential { mean_ns: 3_000.0 }),
        TransparentClock::e2e_two_port(),
    );
    let slave = sim.add_node(
        NodeConfig::new("slave", 1)
            .oscillator(OscillatorConfig::with_error(MS, 50_000.0).wander(1.0))
            .timestamp_noise(Noise::software()),
        ServoSink::new(20 * US, ServoKind::Pi, &ServoConfig::default(), -3),
    );
    let jittery = LinkConfig::fixed(10 * US)
        .jitter(Noise::Gaussian { sigma_ns: 200.0 })
        .loss(0.02);
    sim.connect((gm, 1), (tc, 1), jittery);
    sim.connect((tc, 2), (slave, 1), jittery);
    sim.sample_time_error(SEC, Reference::TrueTime);
    sim.keep_trace(true);
    sim.run_until(60 * SEC).unwrap();
    sim
}

#[test]
fn same_seed_gives_an_identical_run() {
    let (a, b) = (noisy(42), noisy(42));
    assert!(a.trace().len() > 1_000, "the run did something");
    assert_eq!(a.trace().digest(), b.trace().digest());
    assert_eq!(a.trace().events(), b.trace().events());
    let slave = a.node_by_name("slave").unwrap();
    assert_eq!(
        a.time_error_series(slave).unwrap(),
        b.time_error_series(slave).unwrap()
    );
}

#[test]
fn different_seeds_give_different_runs() {
    let (a, b) = (noisy(1), noisy(2));
    assert_ne!(a.trace().digest(), b.trace().digest());
    let slave = a.node_by_name("slave").unwrap();
    assert_ne!(
        a.time_error_series(slave).unwrap().samples,
        b.time_error_series(slave).unwrap().samples
    );
}

/// A node that never consumes its expired timer.
#[derive(Debug)]
struct Stuck;

impl crate::sim::SimNode for Stuck {
    fn handle_message(
        &mut self,
        _: &crate::sim::NodeCtx,
        _: u16,
        _: &[u8],
        _: i64,
    ) -> Vec<xptp_control::port::Action> {
        Vec::new()
    }
    fn handle_tx_timestamp(
        &mut self,
        _: &crate::sim::NodeCtx,
        _: xptp_control::port::TxToken,
        _: i64,
    ) -> Vec<xptp_control::port::Action> {
        Vec::new()
    }
    fn handle_timer(&mut self, _: &crate::sim::NodeCtx) -> Vec<xptp_control::port::Action> {
        Vec::new()
    }
    fn poll_timeout(&self) -> Option<xptp_control::time::Instant> {
        Some(xptp_control::time::Instant(0))
    }
}

#[test]
fn a_node_that_never_consumes_its_timer_is_reported_not_spun_forever() {
    let mut sim = Simulator::new(1);
    sim.add_node(NodeConfig::new("stuck", 1), Stuck);
    match sim.run_until(SEC) {
        Err(crate::sim::SimError::Livelock { node, at_ns }) => {
            assert_eq!(node, "stuck");
            assert_eq!(at_ns, 0);
        }
        other => panic!("expected a livelock, got {other:?}"),
    }
}
