//! Transparent clock residence accounting: the correctionField makes up for the time spent
//! inside each TC, measured with the TC's own (free-running, noisy) timestamper.

use xptp_datapath::wire::MessageType;

use crate::sim::testnodes::{Received, Sink, SyncSource};
use crate::sim::{
    LinkConfig, NodeConfig, NodeId, Noise, OscillatorConfig, Simulator, TcMode, TransparentClock,
    SEC, US,
};

/// Sync arrivals as (rx, t1, correction) joined with the source's TX timestamps.
fn syncs(sim: &Simulator, src: NodeId, dst: NodeId) -> Vec<(Received, i64)> {
    let sent = &sim.node::<SyncSource>(src).unwrap().sent;
    sim.node::<Sink>(dst)
        .unwrap()
        .received
        .iter()
        .filter(|r| r.message_type == MessageType::Sync)
        .filter_map(|r| {
            sent.iter()
                .find(|s| s.0 == r.sequence_id)
                .map(|s| (*r, s.1))
        })
        .collect()
}

/// A chain src — TC × n — dst with link delays 10 µs, 11 µs, ...
fn chain(
    n: usize,
    tc_cfg: impl Fn(usize) -> NodeConfig,
    mode: TcMode,
) -> (Simulator, NodeId, NodeId, i64) {
    let mut sim = Simulator::new(21);
    let src = sim.add_node(NodeConfig::new("src", 1), SyncSource::new(1, -2));
    let mut prev = (src, 1);
    let mut links = 0;
    for i in 0..n {
        let tc = sim.add_node(tc_cfg(i), TransparentClock::new(2, mode.clone()));
        let d = (10 + i as i64) * US;
        links += d;
        sim.connect(prev, (tc, 1), LinkConfig::fixed(d));
        prev = (tc, 2);
    }
    let dst = sim.add_node(NodeConfig::new("dst", 1), Sink::default());
    let d = (10 + n as i64) * US;
    links += d;
    sim.connect(prev, (dst, 1), LinkConfig::fixed(d));
    (sim, src, dst, links)
}

#[test]
fn e2e_tc_chain_corrects_exactly_the_residence_time() {
    // 15 TCs holding frames 2 µs + exponential(5 µs); perfect clocks: exact accounting.
    let (mut sim, src, dst, links) = chain(
        15,
        |i| {
            NodeConfig::new(format!("tc{i}"), 2)
                .tx_latency(2 * US, Noise::Exponential { mean_ns: 5_000.0 })
        },
        TcMode::EndToEnd,
    );
    sim.run_until(100 * SEC + 10 * crate::sim::MS).unwrap();
    let s = syncs(&sim, src, dst);
    assert_eq!(s.len(), 401);
    let mut total_residence = 0;
    for (r, t1) in &s {
        let transit = r.rx_timestamp_ns - t1;
        assert!(
            transit > links + 15 * 2 * US,
            "frames do stay inside the TCs"
        );
        assert_eq!(transit - r.correction_ns, links, "seq {}", r.sequence_id);
        total_residence += r.correction_ns;
    }
    // Mean residence per TC ≈ 7 µs.
    let mean = total_residence as f64 / (s.len() * 15) as f64;
    assert!((mean - 7_000.0).abs() < 300.0, "mean residence {mean}");
    // General messages are forwarded untouched.
    let fu = sim
        .node::<Sink>(dst)
        .unwrap()
        .received
        .iter()
        .filter(|r| r.message_type == MessageType::FollowUp)
        .collect::<Vec<_>>();
    assert_eq!(fu.len(), 401);
    assert!(fu.iter().all(|r| r.correction_ns == 0));
    let tc0 = sim.node::<TransparentClock>(NodeId(1)).unwrap();
    assert_eq!(tc0.counters().corrected, 401);
    assert_eq!(tc0.counters().forwarded, 802);
}

#[test]
fn tc_oscillator_error_and_timestamp_noise_show_in_the_correction() {
    // A +100 ppm TC holding frames 1 ms measures residence 100 ns too long (unsyntonized),
    // plus its timestamp noise (8 ns σ per stamp, two stamps per residence).
    let (mut sim, src, dst, links) = chain(
        1,
        |_| {
            NodeConfig::new("tc", 2)
                .oscillator(OscillatorConfig::with_error(5_000, 100_000.0))
                .timestamp_noise(Noise::hardware())
                .tx_latency(1_000 * US, Noise::None)
        },
        TcMode::EndToEnd,
    );
    sim.run_until(250 * SEC).unwrap();
    let errs: Vec<f64> = syncs(&sim, src, dst)
        .iter()
        .map(|(r, t1)| (r.correction_ns - (r.rx_timestamp_ns - t1 - links)) as f64)
        .collect();
    let (m, s) = super::mean_std(&errs);
    assert!((m - 100.0).abs() < 2.0, "bias {m}");
    assert!((s - 8.0 * 2f64.sqrt()).abs() < 1.5, "spread {s}");
}

#[test]
fn p2p_tc_adds_the_ingress_link_delay_and_keeps_peer_delay_local() {
    let (mut sim, src, dst, _) = chain(
        1,
        |_| NodeConfig::new("tc", 2).tx_latency(3 * US, Noise::None),
        TcMode::PeerToPeer {
            link_delay_ns: vec![10 * US, 11 * US],
        },
    );
    sim.run_until(10 * SEC).unwrap();
    for (r, t1) in syncs(&sim, src, dst) {
        // Only the last link (the slave's own, which it measures itself) is left.
        assert_eq!(r.rx_timestamp_ns - t1 - r.correction_ns, 11 * US);
    }
    // A Pdelay_Req towards the TC is not forwarded.
    let pdelay = crate::sim::testnodes::ptp_message(MessageType::PdelayReq, 1, 0, 0);
    let tc = sim.node_mut::<TransparentClock>(NodeId(1)).unwrap();
    let ctx = crate::sim::NodeCtx {
        now: xptp_control::time::Instant(0),
        clock_ns: 0,
    };
    use crate::sim::SimNode;
    assert!(tc.handle_message(&ctx, 1, &pdelay, 0).is_empty());
    assert_eq!(tc.counters().peer_delay_dropped, 1);
}
