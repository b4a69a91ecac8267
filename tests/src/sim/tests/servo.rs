//! End to end: a real servo from `xptp_control::servo`, fed by the measurement pair, steers a
//! simulated clock with a 1 ms / +50 ppm start to the grandmaster, directly and through 15 TCs.

use xptp_control::servo::{ServoConfig, ServoKind};

use crate::sim::report::{convergence_time, WindowStats};
use crate::sim::testnodes::{ServoSink, SyncSource};
use crate::sim::{
    LinkConfig, NodeConfig, NodeId, Noise, OscillatorConfig, Reference, Simulator,
    TransparentClock, MS, SEC, US,
};

/// GM → (n TCs) → slave with `kind`, hardware timestamps, 1 Sync/s; returns (sim, slave).
pub(super) fn pair(seed: u64, kind: ServoKind, tcs: usize, ts: Noise) -> (Simulator, NodeId) {
    let mut sim = Simulator::new(seed);
    let gm = sim.add_node(
        NodeConfig::new("gm", 1).timestamp_noise(ts),
        SyncSource::new(1, 0),
    );
    let mut prev = (gm, 1);
    for i in 0..tcs {
        let tc = sim.add_node(
            NodeConfig::new(format!("tc{i}"), 2)
                .oscillator(OscillatorConfig::with_error(0, 10_000.0))
                .timestamp_noise(ts)
                .tx_latency(2 * US, Noise::Exponential { mean_ns: 3_000.0 }),
            TransparentClock::e2e_two_port(),
        );
        sim.connect(prev, (tc, 1), LinkConfig::fixed(5 * US));
        prev = (tc, 2);
    }
    let path = 5 * US * (tcs as i64 + 1);
    let cfg = match ts {
        Noise::Gaussian { .. } | Noise::None => ServoConfig::default(),
        _ => ServoConfig::software(),
    };
    let slave = sim.add_node(
        NodeConfig::new("slave", 1)
            .oscillator(OscillatorConfig::with_error(MS, 50_000.0).wander(0.02))
            .timestamp_noise(ts),
        ServoSink::new(path, kind, &cfg, 0),
    );
    sim.connect(prev, (slave, 1), LinkConfig::fixed(5 * US));
    sim.sample_time_error(SEC, Reference::Node(gm));
    (sim, slave)
}

#[test]
fn every_servo_locks_a_simulated_clock_from_ideal_measurements() {
    for kind in ServoKind::ALL {
        let (mut sim, slave) = pair(3, kind, 0, Noise::None);
        sim.run_until(600 * SEC).unwrap();
        let te = sim.time_error_series(slave).unwrap();
        let conv = convergence_time(te, 100).unwrap_or(i64::MAX);
        assert!(conv < 300 * SEC, "{kind}: converged at {conv}");
        let w = WindowStats::of(te, 400 * SEC, 600 * SEC);
        assert!(w.max_ns < 20.0, "{kind}: {w:?}");
        let st = sim.node_stats(slave);
        assert!(
            st.steps >= 1,
            "{kind}: 1 ms is above first_step_threshold, so it steps"
        );
        assert!(st.frequency_adjustments > 100);
        // The servo found the oscillator: -50 ppm (within the wander).
        assert!(
            (st.last_frequency_ppb + 50_000.0).abs() < 100.0,
            "{kind}: {st:?}"
        );
    }
}

#[test]
fn pi_locks_through_fifteen_transparent_clocks_with_hardware_noise() {
    let (mut sim, slave) = pair(4, ServoKind::Pi, 15, Noise::hardware());
    sim.run_until(900 * SEC).unwrap();
    let te = sim.time_error_series(slave).unwrap();
    let w = WindowStats::of(te, 300 * SEC, 900 * SEC);
    // 16 TC residences, each from two 8 ns stamps plus a 10 ppm × ~5 µs bias (0.05 ns):
    // per-sample noise ≈ 8 × √(2 × 16 + 2) ≈ 47 ns, filtered by the PI loop.
    assert!(w.rms_ns < 60.0 && w.rms_ns > 2.0, "{w:?}");
    assert!(w.max_ns < 250.0, "{w:?}");
    assert!(w.mean_ns.abs() < 15.0, "no bias: {w:?}");
}

/// Not a test of speed (nothing asserted on wall-clock time): prints how long 10 000 s of a
/// 15-TC chain take, for the report. Run with `--ignored --nocapture`.
#[test]
#[ignore]
fn print_speed_of_a_long_run() {
    let started = std::time::Instant::now();
    let (mut sim, slave) = pair(1, ServoKind::Kalman, 15, Noise::software());
    sim.run_until(10_000 * SEC).unwrap();
    let w = WindowStats::of(
        sim.time_error_series(slave).unwrap(),
        1_000 * SEC,
        10_000 * SEC,
    );
    println!(
        "10 000 s, 15 TCs: {} trace events in {:?}; {w:?}",
        sim.trace().len(),
        started.elapsed()
    );
}
