//! Oscillator drift, monotonic time, wander statistics and clock actions.

use xptp_control::clock::Clock;
use xptp_datapath::wire::MessageType;

use super::mean_std;
use crate::sim::testnodes::{Sink, SyncSource};
use crate::sim::{
    LinkConfig, NodeConfig, Oscillator, OscillatorConfig, Reference, SimRng, Simulator, MS, SEC,
};

const T0: i64 = 1_700_000_000 * SEC;

#[test]
fn offset_and_frequency_error_integrate_exactly() {
    let mut sim = Simulator::new(5);
    let n = sim.add_node(
        NodeConfig::new("free", 1).oscillator(OscillatorConfig::with_error(MS, 50_000.0)),
        Sink::default(),
    );
    sim.sample_time_error(10 * SEC, Reference::TrueTime);
    sim.run_until(1_000 * SEC).unwrap();
    // TE(t) = 1 ms + 50 ppm × t.
    for &(t, te) in &sim.time_error_series(n).unwrap().samples {
        let expect = MS + t / 20_000;
        assert!((te - expect).abs() <= 1, "t {t}: {te} vs {expect}");
    }
    assert_eq!(sim.time_error_series(n).unwrap().samples.len(), 101);
    assert_eq!(sim.true_error(n), MS + 50 * MS);
}

#[test]
fn relative_reference_subtracts_the_reference_node() {
    let mut sim = Simulator::new(5);
    let gm = sim.add_node(
        NodeConfig::new("gm", 1).oscillator(OscillatorConfig::with_error(-MS, 10_000.0)),
        Sink::default(),
    );
    let n = sim.add_node(
        NodeConfig::new("n", 1).oscillator(OscillatorConfig::with_error(MS, 10_000.0)),
        Sink::default(),
    );
    sim.sample_time_error(SEC, Reference::Node(gm));
    sim.run_until(100 * SEC).unwrap();
    let s = sim.time_error_series(n).unwrap();
    assert!(s.samples.iter().all(|&(_, te)| (te - 2 * MS).abs() <= 1));
    assert!(sim
        .time_error_series(gm)
        .unwrap()
        .samples
        .iter()
        .all(|s| s.1 == 0));
}

/// Timers run on the node's own oscillator: a +100 ppm node sending "every second" sends
/// every 1 s / (1 + 10^-4) of true time, as seen by a perfect receiver.
#[test]
fn timers_run_on_the_local_oscillator() {
    let mut sim = Simulator::new(1);
    let fast = sim.add_node(
        NodeConfig::new("fast", 1).oscillator(OscillatorConfig::with_error(0, 100_000.0)),
        SyncSource::new(1, 0),
    );
    let rx = sim.add_node(NodeConfig::new("rx", 1), Sink::default());
    sim.connect((fast, 1), (rx, 1), LinkConfig::fixed(1_000));
    sim.run_until(100 * SEC).unwrap();
    let t: Vec<i64> = sim
        .node::<Sink>(rx)
        .unwrap()
        .received
        .iter()
        .filter(|r| r.message_type == MessageType::Sync)
        .map(|r| r.rx_timestamp_ns)
        .collect();
    assert_eq!(t.len(), 101, "100 s of true time hold 100.01 local seconds");
    let span = t.last().unwrap() - t.first().unwrap();
    // 100 local seconds = 100 s / 1.0001 true = 99.990001 s.
    assert!((span - 99_990_000_999).abs() <= 2, "span {span}");
    // The sender's own timestamps are 1 s apart in its (unsteered, equally fast) PTP clock.
    let sent = &sim.node::<SyncSource>(fast).unwrap().sent;
    assert!(sent.windows(2).all(|w| (w[1].1 - w[0].1 - SEC).abs() <= 1));
}

#[test]
fn random_walk_wander_grows_with_the_square_root_of_time() {
    // 400 oscillators, 1 ppb/√s, 100 s: frequency error std ≈ 10 ppb, phase keeps integrating.
    let mut finals = Vec::new();
    for i in 0..400 {
        let cfg = OscillatorConfig::with_error(0, 0.0).wander(1.0);
        let mut o = Oscillator::new(cfg, T0, SimRng::from_seed(i));
        o.advance_to(T0 + 100 * SEC);
        finals.push(o.frequency_error_ppb());
    }
    let (m, s) = mean_std(&finals);
    assert!(m.abs() < 1.5, "mean {m}");
    assert!((s - 10.0).abs() < 1.0, "std {s}");

    // Reading the oscillator more often does not change the wander (fixed step grid).
    let cfg = OscillatorConfig::with_error(0, 0.0).wander(1.0);
    let mut coarse = Oscillator::new(cfg, T0, SimRng::from_seed(3));
    let mut fine = Oscillator::new(cfg, T0, SimRng::from_seed(3));
    for k in 0..1_000 {
        fine.advance_to(T0 + k * 97 * MS);
    }
    coarse.advance_to(T0 + 97 * SEC);
    fine.advance_to(T0 + 97 * SEC);
    assert_eq!(
        coarse.true_error_at(T0 + 97 * SEC),
        fine.true_error_at(T0 + 97 * SEC)
    );
}

#[test]
fn adjustments_act_at_their_instant_through_the_clock_trait() {
    let cfg = OscillatorConfig::with_error(MS, 50_000.0);
    let mut o = Oscillator::new(cfg, T0, SimRng::from_seed(1));
    o.advance_to(T0 + 10 * SEC);
    assert_eq!(o.true_error_at(T0 + 10 * SEC), MS + 500_000);
    // Step back by the error and cancel the frequency error (multiplicatively, like a PHC).
    o.step_at(T0 + 10 * SEC, -(MS + 500_000));
    let cancel = (1.0 / (1.0 + 50e-6) - 1.0) * 1e9;
    assert_eq!(o.adjust_frequency_at(T0 + 10 * SEC, cancel), cancel);
    o.advance_to(T0 + 1_010 * SEC);
    assert!(o.true_error_at(T0 + 1_010 * SEC).abs() <= 1);
    // The same clock through the control crate's Clock trait, at the advanced instant.
    let clock = o.clock_mut();
    assert_eq!(clock.frequency().unwrap(), cancel);
    clock.step(1_000).unwrap();
    assert!((clock.now().unwrap() - (T0 + 1_010 * SEC) - 1_000).abs() <= 1);
    // Requests are clamped to max_frequency_ppb.
    assert_eq!(o.adjust_frequency_at(T0 + 1_010 * SEC, 1e12), 62_499_999.0);
}
