//! The real protocol core in the simulator: grandmaster selection and failover (IEEE
//! 1588-2019 9.3, 9.2.6.12), a boundary-clock chain (stepsRemoved, parentDS), and a ring of
//! boundary clocks in which exactly one port must go PASSIVE (9.3.3 decision P2) so that
//! Announce and Sync do not circulate.

use xptp_control::bmca::FOREIGN_MASTER_THRESHOLD;
use xptp_control::datasets::{ClockConfig, DelayMechanism, PortConfig};
use xptp_control::port::state::PortState;
use xptp_control::ptp::PtpInstance;
use xptp_control::servo::{ServoKind, TimeStamping};
use xptp_datapath::wire::{ClockIdentity, ClockQuality, MessageType, PortIdentity};
use xptp_tests::sim::report::WindowStats;
use xptp_tests::sim::scenarios::{gm_clock, hw_node, instance, port, servo, slave_clock};
use xptp_tests::sim::{
    add_ptp_node, clock_identity, LinkConfig, NodeConfig, NodeId, Noise, OscillatorConfig, PtpNode,
    Reference, Simulator, TcMode, TransparentClock, SEC, US,
};

const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

fn core(sim: &Simulator, n: NodeId) -> &PtpInstance {
    sim.node::<PtpNode>(n).expect("a PtpNode").instance()
}

fn quality(class: u8, accuracy: u8, variance: u16) -> ClockQuality {
    ClockQuality {
        clock_class: class,
        clock_accuracy: accuracy,
        offset_scaled_log_variance: variance,
    }
}

/// An oscillator drawn from the run's randomness: offset within ±1 ms, frequency error
/// within ±50 ppm, 0.02 ppb/√s wander.
fn random_osc(sim: &Simulator, label: u64) -> OscillatorConfig {
    let mut r = sim.user_rng(label);
    let off = (r.uniform() * 2.0 - 1.0) * 1e6;
    let ppb = (r.uniform() * 2.0 - 1.0) * 50_000.0;
    OscillatorConfig::with_error(off as i64, ppb).wander(0.02)
}

// ---- two grandmaster candidates --------------------------------------------------------------

/// Two candidates that differ in one field of the 9.3.4 comparison (the first is better).
struct Variant {
    name: &'static str,
    better: ClockConfig,
    worse: ClockConfig,
    /// The better clock gets the larger identity, unless identity is what decides.
    identity_decides: bool,
    /// The state of the worse clock's port while the better one is up (P1 when its class
    /// is ≤ 127, S1 otherwise).
    worse_state: PortState,
}

fn variants() -> Vec<Variant> {
    let q = quality(248, 0xFE, 0xFFFF);
    let with = |p1: u8, p2: u8, q: ClockQuality| ClockConfig {
        priority2: p2,
        ..gm_clock(p1, q)
    };
    vec![
        Variant {
            name: "priority1",
            better: with(100, 128, q),
            worse: with(128, 128, q),
            identity_decides: false,
            worse_state: PortState::Slave,
        },
        Variant {
            name: "clockClass (6 vs 7: the loser is PASSIVE)",
            better: with(128, 128, quality(6, 0x21, 0x4E5D)),
            worse: with(128, 128, quality(7, 0x21, 0x4E5D)),
            identity_decides: false,
            worse_state: PortState::Passive,
        },
        Variant {
            name: "clockAccuracy",
            better: with(128, 128, quality(248, 0x21, 0xFFFF)),
            worse: with(128, 128, quality(248, 0x22, 0xFFFF)),
            identity_decides: false,
            worse_state: PortState::Slave,
        },
        Variant {
            name: "offsetScaledLogVariance",
            better: with(128, 128, quality(248, 0xFE, 0x4000)),
            worse: with(128, 128, quality(248, 0xFE, 0x4E5D)),
            identity_decides: false,
            worse_state: PortState::Slave,
        },
        Variant {
            name: "priority2",
            better: with(128, 100, q),
            worse: with(128, 128, q),
            identity_decides: false,
            worse_state: PortState::Slave,
        },
        Variant {
            name: "clockIdentity",
            better: with(128, 128, q),
            worse: with(128, 128, q),
            identity_decides: true,
            worse_state: PortState::Slave,
        },
    ]
}

struct Star {
    sim: Simulator,
    better: NodeId,
    worse: NodeId,
    slaves: [NodeId; 2],
}

/// Both candidates and two slave-only clocks on a 4-port E2E transparent clock (a PTP-aware
/// switch), 5 µs links, hardware timestamping. The node order alternates with the seed.
fn star(seed: u64, v: &Variant) -> Star {
    let mut sim = Simulator::new(seed);
    let (id_better, id_worse) = if v.identity_decides {
        (clock_identity(1), clock_identity(2))
    } else {
        (clock_identity(2), clock_identity(1))
    };
    let stamping = servo(ServoKind::Pi, TimeStamping::Hardware);
    let add_candidate = |sim: &mut Simulator, name: &str, c: &ClockConfig, id| {
        let osc = random_osc(sim, sim.node_count() as u64);
        add_ptp_node(
            sim,
            hw_node(name, osc),
            instance(c.clone(), stamping),
            vec![port(DelayMechanism::E2E)],
            id,
        )
    };
    let (better, worse) = if seed.is_multiple_of(2) {
        let b = add_candidate(&mut sim, "better", &v.better, id_better);
        let w = add_candidate(&mut sim, "worse", &v.worse, id_worse);
        (b, w)
    } else {
        let w = add_candidate(&mut sim, "worse", &v.worse, id_worse);
        let b = add_candidate(&mut sim, "better", &v.better, id_better);
        (b, w)
    };
    let slaves = [3u16, 4].map(|i| {
        let osc = random_osc(&sim, u64::from(i));
        add_ptp_node(
            &mut sim,
            hw_node(format!("slave{i}"), osc),
            instance(slave_clock(), stamping),
            vec![port(DelayMechanism::E2E)],
            clock_identity(i),
        )
    });
    let sw = sim.add_node(
        NodeConfig::new("switch", 4)
            .timestamp_noise(Noise::hardware())
            .tx_latency(2 * US, Noise::Exponential { mean_ns: 1_000.0 }),
        TransparentClock::new(4, TcMode::EndToEnd),
    );
    for (i, n) in [better, worse, slaves[0], slaves[1]]
        .into_iter()
        .enumerate()
    {
        sim.connect((n, 1), (sw, i as u16 + 1), LinkConfig::fixed(5 * US));
    }
    Star {
        sim,
        better,
        worse,
        slaves,
    }
}

/// The first time at or after `from` when `n`'s port 1 entered `state`.
fn entered(sim: &Simulator, n: NodeId, state: PortState, from: i64) -> Option<i64> {
    sim.state_changes()
        .iter()
        .find(|c| c.node == n && c.port == 1 && c.to == state && c.t_ns >= from)
        .map(|c| c.t_ns)
}

#[test]
fn better_grandmaster_wins_and_the_other_takes_over_within_the_standard_bound() {
    // Port defaults: logAnnounceInterval 1 (2 s), announceReceiptTimeout 3.
    let pc = PortConfig::default();
    let interval = (1i64 << pc.log_announce_interval) * SEC;
    // The dead master's Announces stop. Its foreign-master record stops being qualified
    // FOREIGN_MASTER_TIME_WINDOW intervals after the second-to-last one (9.3.2.5), i.e.
    // announceReceiptTimeout intervals after the last one, and the announce receipt timeout
    // (9.2.6.12) expires announceReceiptTimeout intervals plus a random extension of up to one
    // interval after it: whichever comes first (the timeout, or the next state decision at
    // most one interval later), the survivor is MASTER by announceReceiptTimeout + 1
    // intervals and announces at once. The slaves select it once FOREIGN_MASTER_THRESHOLD of
    // its Announces arrived (9.3.2.5), threshold − 1 more intervals.
    let select_bound = i64::from(pc.announce_receipt_timeout) * interval
        + interval
        + (FOREIGN_MASTER_THRESHOLD as i64 - 1) * interval;
    // SLAVE also needs a path delay (first Delay_Req within 2^(logMinDelayReqInterval+1) s
    // of the new master) and two Syncs for the servo to lock.
    let lock_allowance = (2i64 << pc.log_min_delay_req_interval) * SEC + 3 * SEC;
    let mut worst = (0i64, 0i64);
    for v in variants() {
        for seed in SEEDS {
            let mut s = star(seed, &v);
            s.sim.run_for(40 * SEC).unwrap();
            let (b, w) = (
                clock_identity_of(&s.sim, s.better),
                clock_identity_of(&s.sim, s.worse),
            );
            assert_eq!(
                core(&s.sim, s.better).port_state(1),
                Some(PortState::Master),
                "{}: seed {seed}",
                v.name
            );
            assert_eq!(
                core(&s.sim, s.worse).port_state(1),
                Some(v.worse_state),
                "{}: seed {seed}",
                v.name
            );
            // A PASSIVE clock (decision P1) keeps its own parentDS (9.3.5, Table 30).
            let followers: &[NodeId] = if v.worse_state == PortState::Passive {
                &s.slaves
            } else {
                &[s.worse, s.slaves[0], s.slaves[1]]
            };
            for &n in followers {
                assert_eq!(
                    core(&s.sim, n).parent_ds().grandmaster_identity,
                    b,
                    "{}: seed {seed}",
                    v.name
                );
            }
            for n in s.slaves {
                assert_eq!(core(&s.sim, n).port_state(1), Some(PortState::Slave));
            }
            // Kill the grandmaster.
            let killed = s.sim.now();
            s.sim.set_node_running(s.better, false);
            s.sim.run_for(40 * SEC).unwrap();
            assert_eq!(
                core(&s.sim, s.worse).port_state(1),
                Some(PortState::Master),
                "{}: seed {seed}",
                v.name
            );
            let takeover = entered(&s.sim, s.worse, PortState::Master, killed).unwrap() - killed;
            for n in s.slaves {
                let c = core(&s.sim, n);
                assert_eq!(
                    c.parent_ds().grandmaster_identity,
                    w,
                    "{}: seed {seed}",
                    v.name
                );
                assert_eq!(c.port_state(1), Some(PortState::Slave));
                assert_eq!(c.parent_ds().parent_port_identity, PortIdentity::new(w, 1));
                let selected =
                    entered(&s.sim, n, PortState::Uncalibrated, killed).unwrap() - killed;
                let slave = entered(&s.sim, n, PortState::Slave, killed).unwrap() - killed;
                assert!(
                    takeover <= select_bound && selected <= select_bound,
                    "{}: seed {seed}: takeover {takeover} ns, selected {selected} ns, bound {select_bound} ns",
                    v.name
                );
                assert!(
                    slave <= select_bound + lock_allowance,
                    "{}: seed {seed}: SLAVE after {slave} ns",
                    v.name
                );
                // Following the new grandmaster closely (hardware timestamps).
                let te = s.sim.true_error(n) - s.sim.true_error(s.worse);
                assert!(te.abs() < 1_000, "{}: seed {seed}: TE {te} ns", v.name);
                worst = (worst.0.max(selected), worst.1.max(slave));
                println!(
                    "{:<44} seed {seed}: survivor MASTER after {:>6.3} s, {} selects it after {:>6.3} s, SLAVE after {:>6.3} s",
                    v.name,
                    takeover as f64 / 1e9,
                    s.sim.node_config(n).map_or("?", |c| c.name.as_str()),
                    selected as f64 / 1e9,
                    slave as f64 / 1e9
                );
            }
        }
    }
    println!(
        "worst: new grandmaster selected after {:.3} s (bound {:.0} s), SLAVE after {:.3} s (bound {:.0} s)",
        worst.0 as f64 / 1e9,
        select_bound as f64 / 1e9,
        worst.1 as f64 / 1e9,
        (select_bound + lock_allowance) as f64 / 1e9
    );
}

fn clock_identity_of(sim: &Simulator, n: NodeId) -> ClockIdentity {
    core(sim, n).default_ds().clock_identity
}

// ---- chain and ring of boundary clocks -------------------------------------------------------

fn gm_node(sim: &mut Simulator, ports: usize) -> NodeId {
    let osc = random_osc(sim, 100);
    add_ptp_node(
        sim,
        hw_node("gm", osc),
        instance(
            gm_clock(128, xptp_tests::sim::scenarios::GNSS_QUALITY),
            servo(ServoKind::Pi, TimeStamping::Hardware),
        ),
        vec![port(DelayMechanism::E2E); ports],
        clock_identity(1),
    )
}

fn bc_node(sim: &mut Simulator, name: &str, ports: usize, id: ClockIdentity) -> NodeId {
    let osc = random_osc(sim, 200 + sim.node_count() as u64);
    add_ptp_node(
        sim,
        hw_node(name, osc),
        instance(
            ClockConfig::default(),
            servo(ServoKind::Pi, TimeStamping::Hardware),
        ),
        vec![port(DelayMechanism::E2E); ports],
        id,
    )
}

/// Asserts `n` is SLAVE on `port` to `parent` (and nothing else is SLAVE), `steps` removed
/// from the grandmaster.
fn assert_follows(sim: &Simulator, n: NodeId, port: u16, parent: PortIdentity, steps: u16) {
    let c = core(sim, n);
    let name = &sim.node_config(n).unwrap().name;
    for p in 1..=c.number_ports() {
        let s = c.port_state(p).unwrap();
        if p == port {
            assert_eq!(s, PortState::Slave, "{name} port {p}");
        } else {
            assert_ne!(s, PortState::Slave, "{name} port {p}");
            assert_ne!(s, PortState::Uncalibrated, "{name} port {p}");
        }
    }
    assert_eq!(c.parent_ds().parent_port_identity, parent, "{name}");
    assert_eq!(
        c.parent_ds().grandmaster_identity,
        clock_identity(1),
        "{name}"
    );
    assert_eq!(c.current_ds().steps_removed, steps, "{name}");
}

#[test]
fn boundary_clock_chain_follows_the_grandmaster_hop_by_hop() {
    for seed in [1, 2, 3] {
        let mut sim = Simulator::new(seed);
        let gm = gm_node(&mut sim, 1);
        let bc1 = bc_node(&mut sim, "bc1", 2, clock_identity(11));
        let bc2 = bc_node(&mut sim, "bc2", 2, clock_identity(12));
        let osc = random_osc(&sim, 300);
        let oc = add_ptp_node(
            &mut sim,
            hw_node("oc", osc),
            instance(slave_clock(), servo(ServoKind::Pi, TimeStamping::Hardware)),
            vec![port(DelayMechanism::E2E)],
            clock_identity(20),
        );
        sim.connect((gm, 1), (bc1, 1), LinkConfig::fixed(5 * US));
        sim.connect((bc1, 2), (bc2, 1), LinkConfig::fixed(5 * US));
        sim.connect((bc2, 2), (oc, 1), LinkConfig::fixed(5 * US));
        sim.sample_time_error(SEC, Reference::Node(gm));
        sim.run_for(600 * SEC).unwrap();
        assert_eq!(core(&sim, gm).port_state(1), Some(PortState::Master));
        assert_follows(&sim, bc1, 1, PortIdentity::new(clock_identity(1), 1), 1);
        assert_eq!(core(&sim, bc1).port_state(2), Some(PortState::Master));
        assert_follows(&sim, bc2, 1, PortIdentity::new(clock_identity(11), 2), 2);
        assert_eq!(core(&sim, bc2).port_state(2), Some(PortState::Master));
        assert_follows(&sim, oc, 1, PortIdentity::new(clock_identity(12), 2), 3);
        // Each hop: a servo on 8 ns hardware timestamps. Bound for the end of the chain:
        // |TE| < 100 ns at every sample of the last 300 s.
        for (n, name) in [(bc1, "bc1"), (bc2, "bc2"), (oc, "oc")] {
            let w = WindowStats::of(sim.time_error_series(n).unwrap(), 300 * SEC, 600 * SEC + 1);
            println!("seed {seed} {name}: {w:?}");
            assert!(w.max_ns < 100.0, "seed {seed} {name}: {w:?}");
        }
    }
}

/// GM on BC1's port 3; ring BC1 → BC2 → BC3 → BC4 → BC1 (BCi port 1 to BCi+1 port 2).
/// `ids[i]` is the identity number of BC(i+1).
fn ring(seed: u64, ids: [u16; 4]) -> (Simulator, NodeId, [NodeId; 4]) {
    let mut sim = Simulator::new(seed);
    let gm = gm_node(&mut sim, 1);
    let bcs: [NodeId; 4] = std::array::from_fn(|i| {
        let ports = if i == 0 { 3 } else { 2 };
        bc_node(
            &mut sim,
            &format!("bc{}", i + 1),
            ports,
            clock_identity(ids[i]),
        )
    });
    sim.connect((gm, 1), (bcs[0], 3), LinkConfig::fixed(5 * US));
    for i in 0..4 {
        sim.connect(
            (bcs[i], 1),
            (bcs[(i + 1) % 4], 2),
            LinkConfig::fixed(5 * US),
        );
    }
    (sim, gm, bcs)
}

#[test]
fn ring_of_boundary_clocks_blocks_one_port_and_announce_does_not_circulate() {
    // Which of BC3's neighbours is the better path depends only on the senders' identities
    // (same grandmaster, same stepsRemoved): BC3's port towards the worse one goes PASSIVE.
    for (seed, ids) in [
        (1, [11, 12, 13, 14]),
        (2, [11, 14, 13, 12]),
        (3, [14, 12, 11, 13]),
    ] {
        let (mut sim, gm, bcs) = ring(seed, ids);
        sim.run_for(120 * SEC).unwrap();
        let id = |i: usize| clock_identity(ids[i]);
        assert_eq!(core(&sim, gm).port_state(1), Some(PortState::Master));
        assert_follows(&sim, bcs[0], 3, PortIdentity::new(clock_identity(1), 1), 1);
        assert_follows(&sim, bcs[1], 2, PortIdentity::new(id(0), 1), 2);
        assert_follows(&sim, bcs[3], 1, PortIdentity::new(id(0), 2), 2);
        // BC3 hears BC2 on its port 2 and BC4 on its port 1.
        let (slave_port, parent, passive_port) = if ids[1] < ids[3] {
            (2, PortIdentity::new(id(1), 1), 1)
        } else {
            (1, PortIdentity::new(id(3), 2), 2)
        };
        assert_follows(&sim, bcs[2], slave_port, parent, 3);
        let states: Vec<(usize, u16, PortState)> = bcs
            .iter()
            .enumerate()
            .flat_map(|(i, &n)| {
                let c = core(&sim, n);
                (1..=c.number_ports()).map(move |p| (i, p, c.port_state(p).unwrap()))
            })
            .collect();
        let passive: Vec<_> = states
            .iter()
            .filter(|s| s.2 == PortState::Passive)
            .collect();
        assert_eq!(
            passive,
            [&(2, passive_port, PortState::Passive)],
            "{states:?}"
        );
        // Everything else not SLAVE is MASTER.
        let masters = states.iter().filter(|s| s.2 == PortState::Master).count();
        assert_eq!(masters, 9 - 4 - 1, "{states:?}");

        // Stable: no state change and no Announce out of the PASSIVE port in the next minute,
        // while it keeps hearing its neighbour's Announces.
        let changes = sim.state_changes().len();
        let bc3 = core(&sim, bcs[2]).port_counters(passive_port).unwrap();
        let (tx0, rx0) = (bc3.tx(MessageType::Announce), bc3.rx(MessageType::Announce));
        sim.run_for(60 * SEC).unwrap();
        assert_eq!(
            sim.state_changes().len(),
            changes,
            "{:?}",
            &sim.state_changes()[changes..]
        );
        let bc3 = core(&sim, bcs[2]).port_counters(passive_port).unwrap();
        assert_eq!(bc3.tx(MessageType::Announce), tx0);
        assert!(bc3.rx(MessageType::Announce) >= rx0 + 25, "{bc3:?}");
        for (i, &n) in bcs.iter().enumerate() {
            let steps = core(&sim, n).current_ds().steps_removed;
            assert!(
                steps <= 3,
                "bc{} stepsRemoved {steps}: Announce circulates",
                i + 1
            );
        }
    }
}

#[test]
fn ring_heals_through_the_passive_port_when_a_link_breaks() {
    let (mut sim, _gm, bcs) = ring(7, [11, 12, 13, 14]);
    sim.run_for(120 * SEC).unwrap();
    // BC3 follows BC2 (port 2); its port 1 (towards BC4) is PASSIVE. Cut BC1 — BC2.
    assert_eq!(core(&sim, bcs[2]).port_state(1), Some(PortState::Passive));
    sim.set_link_up(xptp_tests::sim::LinkId(1), false);
    sim.run_for(60 * SEC).unwrap();
    let id = |n: u16| clock_identity(n);
    // Now time flows BC1 → BC4 → BC3 → BC2.
    assert_follows(&sim, bcs[3], 1, PortIdentity::new(id(11), 2), 2);
    assert_follows(&sim, bcs[2], 1, PortIdentity::new(id(14), 2), 3);
    assert_follows(&sim, bcs[1], 1, PortIdentity::new(id(13), 2), 4);
}
