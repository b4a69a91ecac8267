//! Link delay, asymmetry, jitter and loss statistics, measured through timestamps the nodes
//! see (perfect clocks, so a one-way delay is RX timestamp − TX timestamp).

use xptp_datapath::wire::MessageType;

use super::{mean_std, source_to_sink};
use crate::sim::testnodes::{Reflector, Sink, SyncSource};
use crate::sim::{LinkConfig, LinkId, NodeConfig, Noise, Simulator, SEC, US};

/// One-way delays of the Syncs a sink received (sink RX − source TX).
fn one_way(sim: &Simulator, src: crate::sim::NodeId, dst: crate::sim::NodeId) -> Vec<f64> {
    let tx = &sim.node::<SyncSource>(src).unwrap().sent;
    sim.node::<Sink>(dst)
        .unwrap()
        .received
        .iter()
        .filter(|r| r.message_type == MessageType::Sync)
        .filter_map(|r| {
            tx.iter()
                .find(|s| s.0 == r.sequence_id)
                .map(|s| (r.rx_timestamp_ns - s.1) as f64)
        })
        .collect()
}

#[test]
fn fixed_delay_is_exact_in_both_directions_and_asymmetry_shows() {
    // Source is endpoint a: it sees the a→b delay.
    let (mut sim, a, b) = source_to_sink(1, LinkConfig::asymmetric(1_000, 3_000), 0);
    sim.run_until(20 * SEC + US).unwrap();
    let d = one_way(&sim, a, b);
    assert_eq!(d.len(), 21, "one Sync per second from t = 0 to 20 s");
    assert!(d.iter().all(|&x| x == 1_000.0), "{d:?}");

    // Same link, source on the b side: the b→a delay.
    let mut sim = Simulator::new(1);
    let dst = sim.add_node(NodeConfig::new("dst", 1), Sink::default());
    let src = sim.add_node(NodeConfig::new("src", 1), SyncSource::new(1, 0));
    sim.connect((dst, 1), (src, 1), LinkConfig::asymmetric(1_000, 3_000));
    sim.run_until(5 * SEC).unwrap();
    assert!(one_way(&sim, src, dst).iter().all(|&x| x == 3_000.0));

    // Round trip through a reflector: the sum of both directions.
    let mut sim = Simulator::new(1);
    let src = sim.add_node(NodeConfig::new("src", 1), SyncSource::new(1, 0));
    let refl = sim.add_node(NodeConfig::new("refl", 1), Reflector::default());
    sim.connect((src, 1), (refl, 1), LinkConfig::asymmetric(1_000, 3_000));
    sim.run_until(5 * SEC + 10 * US).unwrap();
    let echoes = &sim.node::<SyncSource>(src).unwrap().echoes;
    assert_eq!(echoes.len(), 6);
    assert!(echoes.iter().all(|(_, tx, rx)| rx - tx == 4_000));
}

#[test]
fn gaussian_jitter_has_the_configured_mean_and_spread() {
    let link = LinkConfig::fixed(100 * US)
        .jitter(Noise::Gaussian { sigma_ns: 500.0 })
        .unordered();
    let (mut sim, a, b) = source_to_sink(7, link, -4);
    sim.run_until(1_000 * SEC).unwrap();
    let d = one_way(&sim, a, b);
    assert!(d.len() > 15_000);
    let (m, s) = mean_std(&d);
    // Standard error of the mean: 500 / √16000 ≈ 4 ns.
    assert!((m - 100_000.0).abs() < 20.0, "mean {m}");
    assert!((s - 500.0).abs() < 25.0, "std {s}");
}

#[test]
fn exponential_and_software_tails() {
    let link = LinkConfig::fixed(10 * US)
        .jitter(Noise::ExponentialTail {
            mean_ns: 2_000.0,
            spike_probability: 0.01,
            spike_mean_ns: 100_000.0,
        })
        .unordered();
    let (mut sim, a, b) = source_to_sink(9, link, -4);
    sim.run_until(1_000 * SEC).unwrap();
    let d = one_way(&sim, a, b);
    let (m, _) = mean_std(&d);
    // Mean = 10 µs + 2 µs + 1 % × 100 µs = 13 µs.
    assert!((m - 13_000.0).abs() < 400.0, "mean {m}");
    assert!(
        d.iter().all(|&x| x >= 10_000.0),
        "never faster than the wire"
    );
    let outliers = d.iter().filter(|&&x| x > 40_000.0).count() as f64 / d.len() as f64;
    // P(spike and spike > ~28 µs) ≈ 1 % × e^-0.28 ≈ 0.75 %.
    assert!(
        (0.004..0.012).contains(&outliers),
        "outlier fraction {outliers}"
    );
}

#[test]
fn fifo_links_never_reorder_and_unordered_ones_do() {
    let jitter = Noise::Gaussian { sigma_ns: 5_000.0 };
    for (link, expect_reordering) in [
        (LinkConfig::fixed(10 * US).jitter(jitter), false),
        (LinkConfig::fixed(10 * US).jitter(jitter).unordered(), true),
    ] {
        // A Sync every 7.6 µs: 5 µs of jitter reorders them unless the link is FIFO.
        let (mut sim, _a, b) = source_to_sink(3, link, -17);
        sim.run_until(SEC / 100).unwrap();
        let seqs: Vec<u16> = sim
            .node::<Sink>(b)
            .unwrap()
            .received
            .iter()
            .filter(|r| r.message_type == MessageType::Sync)
            .map(|r| r.sequence_id)
            .collect();
        assert!(seqs.len() > 500);
        let reordered = seqs.windows(2).any(|w| w[1] < w[0]);
        assert_eq!(reordered, expect_reordering);
    }
}

#[test]
fn loss_matches_its_probability_and_is_counted() {
    let (mut sim, _a, b) = source_to_sink(11, LinkConfig::fixed(US).loss(0.1), -4);
    sim.run_until(1_000 * SEC).unwrap();
    let [ab, ba] = sim.link_stats(LinkId(0));
    assert_eq!(ba.sent, 0);
    assert_eq!(ab.sent, ab.lost + ab.delivered);
    let rate = ab.lost as f64 / ab.sent as f64;
    assert!((rate - 0.1).abs() < 0.01, "loss rate {rate}");
    let got = sim.node::<Sink>(b).unwrap().received.len() as u64;
    // The last frame may still be on the wire.
    assert!(
        got <= ab.delivered && got + 1 >= ab.delivered,
        "{got} {ab:?}"
    );
    assert_eq!(sim.node_stats(b).frames_received, got);
}

#[test]
fn link_down_loses_everything_and_unconnected_ports_count_drops() {
    let (mut sim, a, b) = source_to_sink(1, LinkConfig::fixed(US), 0);
    sim.schedule(10 * SEC + 1, |s| s.set_link_up(LinkId(0), false));
    sim.run_until(20 * SEC).unwrap();
    let syncs = sim
        .node::<Sink>(b)
        .unwrap()
        .received
        .iter()
        .filter(|r| r.message_type == MessageType::Sync)
        .count();
    assert_eq!(syncs, 11, "Syncs at 0..=10 s only");
    assert!(sim.link_stats(LinkId(0))[0].lost >= 20);

    let mut sim = Simulator::new(1);
    let lonely = sim.add_node(NodeConfig::new("lonely", 1), SyncSource::new(1, 0));
    let wrong = sim.add_node(NodeConfig::new("wrong", 1), SyncSource::new(3, 0));
    sim.run_until(4 * SEC).unwrap();
    assert_eq!(sim.node_stats(lonely).dropped_unconnected, 5);
    assert_eq!(sim.node_stats(wrong).dropped_bad_port, 5);
    let _ = a;
}
