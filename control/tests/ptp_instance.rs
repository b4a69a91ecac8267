//! Two- and three-instance PtpInstance tests in virtual time over the tiny wire of
//! `common`: state machines, exact E2E/P2P arithmetic, asymmetry, failover, boundary clock
//! chains, profiles, and every rejection counter.

mod common;

use common::*;
use xptp_control::datasets::{DelayMechanism, FaultResetInterval, PortConfig};
use xptp_control::port::counters::RejectReason;
use xptp_control::port::state::PortState;
use xptp_control::profile;
use xptp_control::ptp::InstanceConfig;
use xptp_control::time::Instant;
use xptp_datapath::wire::{
    AnnounceBody, Body, ClockQuality, FlagField, HeaderRepr, MessageRepr, MessageType,
    PortIdentity, TimeInterval, Timestamp, TlvRepr,
};

fn ns(v: i64) -> TimeInterval {
    TimeInterval::from_nanos(v).unwrap()
}

/// GM and slave-only OC on one link, `d` ns each way, perfect clocks.
fn pair(port: PortConfig, d: u64) -> (Net, usize, usize) {
    let mut net = Net::new(d);
    let gm = net.add(gm_cfg(128), vec![port.clone()], 1, TestClock::perfect());
    let sl = net.add(slave_cfg(), vec![port], 2, TestClock::perfect());
    net.link((gm, 1), (sl, 1));
    (net, gm, sl)
}

#[test]
fn master_and_slave_reach_master_and_slave_and_e2e_delay_is_exact() {
    let (mut net, gm, sl) = pair(fast_port(), 10_000);
    net.run_for(20 * S);
    assert_eq!(net.nodes[gm].inst.port_state(1), Some(PortState::Master));
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    let log = &net.nodes[sl].log;
    assert!(log.contains(&"port 1: INITIALIZING to LISTENING on INIT_COMPLETE".to_string()));
    assert!(log
        .iter()
        .any(|l| l.starts_with("port 1: LISTENING to UNCALIBRATED on RS_SLAVE")));
    assert!(log.contains(&"port 1: UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED".to_string()));
    assert!(net.nodes[gm]
        .log
        .contains(&"port 1: LISTENING to MASTER on ANNOUNCE_RECEIPT_TIMEOUT_EXPIRES".to_string()));
    let m = net.nodes[sl].inst.last_measurement(1).unwrap();
    assert_eq!(m.mean_delay, ns(10_000), "meanPathDelay exact");
    assert_eq!(m.offset_from_master, TimeInterval::ZERO);
    assert_eq!(m.t2 - m.t1, 10_000);
    assert_eq!(m.t4.unwrap() - m.t3.unwrap(), 10_000);
    let s = &net.nodes[sl].inst;
    assert_eq!(s.parent_ds().grandmaster_identity, identity(1));
    assert_eq!(s.current_ds().steps_removed, 1);
    assert_eq!(s.current_ds().mean_delay, ns(10_000).0);
    assert_eq!(net.clock_diff(sl, gm), 0);
    let c = s.port_counters(1).unwrap();
    for r in [
        RejectReason::DuplicateSequence,
        RejectReason::OutOfOrderSequence,
        RejectReason::FollowUpWithoutSync,
        RejectReason::SyncWithoutFollowUp,
        RejectReason::NotFromMaster,
        RejectReason::Malformed,
    ] {
        assert_eq!(c.rejected(r), 0, "{r}");
    }
    assert!(c.rx(MessageType::DelayResp) > 10);
}

#[test]
fn slave_with_clock_offset_and_drift_is_stepped_then_locked() {
    let mut net = Net::new(25_000);
    let gm = net.add(gm_cfg(128), vec![fast_port()], 1, TestClock::perfect());
    let sl = net.add(
        slave_cfg(),
        vec![fast_port()],
        2,
        TestClock::new(3_000_000, 20_000.0),
    );
    net.link((gm, 1), (sl, 1));
    net.run_for(60 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    assert!(
        net.nodes[sl].clock.steps >= 1,
        "3 ms is above first_step_threshold"
    );
    let err = net.clock_diff(sl, gm);
    assert!(err.abs() < 50, "residual error {err} ns");
    let m = net.nodes[sl].inst.last_measurement(1).unwrap();
    assert!((m.mean_delay.nanos_round() - 25_000).abs() <= 1, "{m:?}");
}

/// Master→slave 12 µs, slave→master 8 µs: A = 4 µs, the offset reads A/2 = 2 µs; a slave
/// that follows it sits 2 µs behind; delayAsymmetry = 2 µs removes the error.
#[test]
fn asymmetry_shows_up_as_half_the_difference_unless_configured() {
    let run = |free_running: bool, asym: i64| {
        let mut net = Net::new(0);
        let gm = net.add(gm_cfg(128), vec![fast_port()], 1, TestClock::perfect());
        let mut cfg = slave_cfg();
        cfg.free_running = free_running;
        let port = PortConfig {
            delay_asymmetry_ns: asym,
            ..fast_port()
        };
        let sl = net.add(cfg, vec![port], 2, TestClock::perfect());
        net.link((gm, 1), (sl, 1));
        net.delay.insert((gm, sl), 12_000);
        net.delay.insert((sl, gm), 8_000);
        net.run_for(40 * S);
        let m = net.nodes[sl].inst.last_measurement(1).unwrap();
        (m, net.clock_diff(sl, gm), net.nodes[sl].inst.port_state(1))
    };
    let (m, diff, state) = run(true, 0);
    assert_eq!(m.mean_delay, ns(10_000));
    assert_eq!(m.offset_from_master, ns(2_000), "A/2");
    assert_eq!(diff, 0, "free_running never touches the clock");
    assert_eq!(
        state,
        Some(PortState::Uncalibrated),
        "free_running stays UNCALIBRATED"
    );
    let (_, diff, state) = run(false, 0);
    assert!(
        (diff + 2_000).abs() <= 5,
        "servo follows the biased offset: {diff}"
    );
    assert_eq!(state, Some(PortState::Slave));
    let (m, diff, _) = run(false, 2_000);
    assert_eq!(m.mean_delay, ns(10_000));
    assert!(diff.abs() <= 5, "delayAsymmetry corrects it: {diff}");
}

fn p2p_port() -> PortConfig {
    PortConfig {
        delay_mechanism: DelayMechanism::P2P,
        ..fast_port()
    }
}

#[test]
fn p2p_link_delay_is_exact_and_slave_locks() {
    let (mut net, gm, sl) = pair(p2p_port(), 7_000);
    net.run_for(20 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    for n in [gm, sl] {
        assert_eq!(net.nodes[n].inst.mean_delay(1), Some(ns(7_000)));
        assert_eq!(net.nodes[n].inst.neighbor_rate_ratio(1), Some(1.0));
        assert_eq!(
            net.nodes[n].inst.port_ds(1).unwrap().mean_link_delay,
            ns(7_000).0
        );
    }
    let m = net.nodes[sl].inst.last_measurement(1).unwrap();
    assert_eq!(m.offset_from_master, TimeInterval::ZERO);
    assert_eq!(
        net.nodes[gm]
            .inst
            .port_counters(1)
            .unwrap()
            .rejected_total(),
        0
    );
}

#[test]
fn p2p_neighbor_rate_ratio_measures_the_drift() {
    const DRIFT_PPB: f64 = 20_000.0;
    let mut net = Net::new(7_000);
    let gm = net.add(gm_cfg(128), vec![p2p_port()], 1, TestClock::perfect());
    let mut cfg = slave_cfg();
    cfg.free_running = true;
    let sl = net.add(cfg, vec![p2p_port()], 2, TestClock::new(0, DRIFT_PPB));
    net.link((gm, 1), (sl, 1));
    net.run_for(20 * S);
    // The master's neighbor (responder) is the slave, which runs 20 ppm fast.
    let r = net.nodes[gm].inst.neighbor_rate_ratio(1).unwrap();
    assert!((r - (1.0 + DRIFT_PPB * 1e-9)).abs() < 1e-9, "gm nrr {r}");
    let r = net.nodes[sl].inst.neighbor_rate_ratio(1).unwrap();
    assert!(
        (r - 1.0 / (1.0 + DRIFT_PPB * 1e-9)).abs() < 1e-9,
        "slave nrr {r}"
    );
    // Link delay in the responder's timebase: 7000 ns × (1 ± 20 ppm), within a nanosecond.
    for n in [gm, sl] {
        let d = net.nodes[n].inst.mean_delay(1).unwrap().nanos_round();
        assert!((d - 7_000).abs() <= 1, "node {n}: {d}");
    }
}

#[test]
fn one_step_sync_and_one_step_pdelay() {
    let mut net = Net::new(7_000);
    let mut g = gm_cfg(128);
    g.clock.two_step_flag = false;
    g.pdelay_one_step = true;
    let mut s = slave_cfg();
    s.pdelay_one_step = true;
    let gm = net.add(g, vec![p2p_port()], 1, TestClock::perfect());
    let sl = net.add(s, vec![p2p_port()], 2, TestClock::perfect());
    net.link((gm, 1), (sl, 1));
    net.run_for(20 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    assert_eq!(
        net.nodes[gm]
            .inst
            .port_counters(1)
            .unwrap()
            .tx(MessageType::FollowUp),
        0
    );
    assert_eq!(
        net.nodes[gm]
            .inst
            .port_counters(1)
            .unwrap()
            .tx(MessageType::PdelayRespFollowUp),
        0
    );
    assert_eq!(net.nodes[sl].inst.mean_delay(1), Some(ns(7_000)));
    let m = net.nodes[sl].inst.last_measurement(1).unwrap();
    assert_eq!(m.offset_from_master, TimeInterval::ZERO);
}

#[test]
fn better_grandmaster_wins_and_the_other_takes_over_when_it_dies() {
    let mut net = Net::new(5_000);
    let a = net.add(gm_cfg(100), vec![fast_port()], 0xA, TestClock::perfect());
    let b = net.add(
        gm_cfg(110),
        vec![fast_port()],
        0xB,
        TestClock::new(0, 1_000.0),
    );
    let s = net.add(
        slave_cfg(),
        vec![fast_port()],
        0x5,
        TestClock::new(500, -2_000.0),
    );
    net.segment(&[(a, 1), (b, 1), (s, 1)]);
    net.run_for(30 * S);
    assert_eq!(net.nodes[a].inst.port_state(1), Some(PortState::Master));
    assert_eq!(net.nodes[b].inst.port_state(1), Some(PortState::Slave));
    assert_eq!(net.nodes[s].inst.port_state(1), Some(PortState::Slave));
    assert_eq!(
        net.nodes[s].inst.parent_ds().grandmaster_identity,
        identity(0xA)
    );
    assert!(net.clock_diff(s, a).abs() < 100);

    // Kill A. Bound: announceReceiptTimeout (3) + up to 1 random interval, then B's second
    // Announce qualifies it (1 interval): 5 announce intervals of 1 s.
    net.nodes[a].alive = false;
    let t_kill = net.t;
    net.run_until(t_kill + 5 * S + 100 * MS);
    assert_eq!(net.nodes[b].inst.port_state(1), Some(PortState::Master));
    assert_eq!(
        net.nodes[s].inst.parent_ds().grandmaster_identity,
        identity(0xB)
    );
    assert!(net.nodes[s].inst.port_state(1).unwrap().is_slave_side());
    assert_eq!(net.nodes[s].inst.current_ds().steps_removed, 1);
    net.run_for(30 * S);
    assert_eq!(net.nodes[s].inst.port_state(1), Some(PortState::Slave));
    assert!(net.clock_diff(s, b).abs() < 100, "{}", net.clock_diff(s, b));
}

#[test]
fn boundary_clock_chain_counts_steps_removed_and_traces_the_path() {
    let mut net = Net::new(3_000);
    let mut g = gm_cfg(128);
    g.path_trace_enabled = true;
    g.clock.clock_quality.clock_class = 6;
    let gm = net.add(g, vec![fast_port()], 1, TestClock::perfect());
    let bc_cfg = InstanceConfig {
        path_trace_enabled: true,
        ..InstanceConfig::default()
    };
    let bc1 = net.add(
        bc_cfg.clone(),
        vec![fast_port(), fast_port()],
        2,
        TestClock::new(1_000, 5_000.0),
    );
    let bc2 = net.add(
        bc_cfg,
        vec![fast_port(), fast_port()],
        3,
        TestClock::new(-1_000, -5_000.0),
    );
    let mut s = slave_cfg();
    s.path_trace_enabled = true;
    let sl = net.add(s, vec![fast_port()], 4, TestClock::new(2_000, 3_000.0));
    net.link((gm, 1), (bc1, 1));
    net.link((bc1, 2), (bc2, 1));
    net.link((bc2, 2), (sl, 1));
    net.nodes[sl].capture = true;
    net.run_for(60 * S);
    for (n, steps) in [(gm, 0), (bc1, 1), (bc2, 2), (sl, 3)] {
        let i = &net.nodes[n].inst;
        assert_eq!(i.current_ds().steps_removed, steps, "node {n}");
        assert_eq!(i.parent_ds().grandmaster_identity, identity(1));
        assert_eq!(i.parent_ds().grandmaster_clock_quality.clock_class, 6);
    }
    for bc in [bc1, bc2] {
        assert_eq!(net.nodes[bc].inst.port_state(1), Some(PortState::Slave));
        assert_eq!(net.nodes[bc].inst.port_state(2), Some(PortState::Master));
    }
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    assert!(
        net.clock_diff(sl, gm).abs() < 100,
        "{}",
        net.clock_diff(sl, gm)
    );
    let ann = net.nodes[sl]
        .captured
        .iter()
        .rev()
        .filter_map(|(_, b)| MessageRepr::parse(b).ok())
        .find(|m| m.message_type() == MessageType::Announce)
        .unwrap();
    let Body::Announce(a) = ann.body else {
        unreachable!()
    };
    assert_eq!(a.steps_removed, 2, "BC2 announces its own stepsRemoved");
    assert_eq!(a.grandmaster_identity, identity(1));
    assert!(ann.tlvs.contains(&TlvRepr::PathTrace(vec![
        identity(1),
        identity(2),
        identity(3)
    ])));
}

/// Builds a message from the master's port identity (or `src`) for injection.
fn msg(src: PortIdentity, domain: u8, seq: u16, flags: FlagField, body: Body) -> Vec<u8> {
    MessageRepr::new(
        HeaderRepr {
            domain_number: domain,
            source_port_identity: src,
            sequence_id: seq,
            flags,
            ..HeaderRepr::default()
        },
        body,
    )
    .to_vec()
    .unwrap()
}

#[test]
fn every_rejection_reason_is_counted() {
    let (mut net, gm, sl) = pair(fast_port(), 10_000);
    net.run_for(20 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    let master = PortIdentity::new(identity(1), 1);
    let me = PortIdentity::new(identity(2), 1);
    let stranger = PortIdentity::new(identity(9), 1);
    let last_seq = net.nodes[sl].inst.last_measurement(1).unwrap().sequence_id;
    let now = Instant(net.t);
    let rx = net.nodes[sl].clock.local_at(net.t);
    let sync = |origin: i128| Body::Sync {
        origin_timestamp: Timestamp::from_nanos(origin).unwrap(),
    };
    let one_step = FlagField::default();
    let ts0 = Timestamp::from_nanos(rx).unwrap();
    let announce = |steps: u16| {
        Body::Announce(AnnounceBody {
            origin_timestamp: ts0,
            current_utc_offset: 37,
            grandmaster_priority1: 1,
            grandmaster_clock_quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: 0x20,
                offset_scaled_log_variance: 0x4000,
            },
            grandmaster_priority2: 1,
            grandmaster_identity: identity(9),
            steps_removed: steps,
            time_source: 0x20,
        })
    };
    let mut bad_version = msg(master, 0, 1, one_step, sync(rx));
    bad_version[1] = 0x13;
    let fresh = last_seq.wrapping_add(1000);
    let cases: Vec<(RejectReason, Vec<u8>)> = vec![
        (RejectReason::Malformed, vec![0x00, 0x02, 0x00]),
        (RejectReason::WrongVersion, bad_version),
        (
            RejectReason::WrongDomain,
            msg(master, 7, fresh, one_step, sync(rx)),
        ),
        (
            RejectReason::OwnMessage,
            msg(me, 0, fresh, one_step, sync(rx)),
        ),
        (
            RejectReason::NotFromMaster,
            msg(stranger, 0, fresh, one_step, sync(rx)),
        ),
        // An accepted one-step Sync (offset 0), then the same and an older sequence.
        (
            RejectReason::DuplicateSequence,
            msg(master, 0, fresh, one_step, sync(rx - 10_000)),
        ),
        (
            RejectReason::DuplicateSequence,
            msg(master, 0, fresh, one_step, sync(rx - 10_000)),
        ),
        (
            RejectReason::OutOfOrderSequence,
            msg(master, 0, fresh.wrapping_sub(1), one_step, sync(rx)),
        ),
        (
            RejectReason::FollowUpWithoutSync,
            msg(
                master,
                0,
                fresh.wrapping_sub(5),
                one_step,
                Body::FollowUp {
                    precise_origin_timestamp: ts0,
                },
            ),
        ),
        (
            RejectReason::DelayRespNotForUs,
            msg(
                master,
                0,
                3,
                one_step,
                Body::DelayResp {
                    receive_timestamp: ts0,
                    requesting_port_identity: stranger,
                },
            ),
        ),
        (
            RejectReason::UnexpectedResponse,
            msg(
                master,
                0,
                0xBEEF,
                one_step,
                Body::DelayResp {
                    receive_timestamp: ts0,
                    requesting_port_identity: me,
                },
            ),
        ),
        (
            RejectReason::WrongDelayMechanism,
            msg(
                master,
                0,
                1,
                one_step,
                Body::PdelayReq {
                    origin_timestamp: ts0,
                },
            ),
        ),
        (
            RejectReason::WrongState,
            msg(
                master,
                0,
                1,
                one_step,
                Body::DelayReq {
                    origin_timestamp: ts0,
                },
            ),
        ),
        (
            RejectReason::NotHandled,
            msg(
                master,
                0,
                1,
                one_step,
                Body::Signaling {
                    target_port_identity: PortIdentity::ALL,
                },
            ),
        ),
        (
            RejectReason::StepsRemovedTooLarge,
            msg(stranger, 0, 1, one_step, announce(255)),
        ),
        (
            RejectReason::AnnounceNotMostRecent,
            msg(stranger, 0, 9, one_step, announce(0)),
        ),
        (
            RejectReason::AnnounceNotMostRecent,
            msg(stranger, 0, 9, one_step, announce(0)),
        ),
    ];
    for (i, (reason, bytes)) in cases.into_iter().enumerate() {
        let before = net.nodes[sl].inst.port_counters(1).unwrap().clone();
        net.nodes[sl].inst.handle_message(now, 1, &bytes, rx);
        let after = net.nodes[sl].inst.port_counters(1).unwrap();
        let accepted = matches!(i, 5 | 15); // the first fresh Sync and the first Announce
        if accepted {
            assert_eq!(
                after.rejected_total(),
                before.rejected_total(),
                "case {i} accepted"
            );
            continue;
        }
        assert_eq!(
            after.rejected(reason),
            before.rejected(reason) + 1,
            "case {i}: {reason}"
        );
        assert_eq!(
            after.rejected_total(),
            before.rejected_total() + 1,
            "case {i} only {reason}"
        );
    }
    // The injected one-step Sync was measured like any other.
    let m = net.nodes[sl].inst.last_measurement(1).unwrap();
    assert_eq!(
        (m.sequence_id, m.offset_from_master),
        (fresh, TimeInterval::ZERO)
    );
    net.nodes[sl].inst.handle_message(now, 9, &[0; 44], rx);
    assert_eq!(net.nodes[sl].inst.instance_counters().unknown_port, 1);
    let _ = gm;
}

#[test]
fn follow_up_overtaking_its_sync_is_matched() {
    let (mut net, _gm, sl) = pair(fast_port(), 10_000);
    // General messages arrive at once, event messages after 10 µs: every Follow_Up arrives
    // before its Sync.
    net.general_delay = Some(0);
    net.run_for(20 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    let c = net.nodes[sl].inst.port_counters(1).unwrap();
    assert_eq!(c.rejected(RejectReason::FollowUpWithoutSync), 0);
    assert_eq!(c.rejected(RejectReason::SyncWithoutFollowUp), 0);
    let m = net.nodes[sl].inst.last_measurement(1).unwrap();
    assert_eq!(
        (m.mean_delay, m.offset_from_master),
        (ns(10_000), TimeInterval::ZERO)
    );
}

#[test]
fn sync_sequence_wraps_around() {
    let port = PortConfig {
        log_sync_interval: -10,
        ..fast_port()
    };
    let (mut net, gm, sl) = pair(port, 10_000);
    net.run_for(70 * S);
    let sent = net.nodes[gm]
        .inst
        .port_counters(1)
        .unwrap()
        .tx(MessageType::Sync);
    assert!(sent > 65_536 + 1000, "{sent} Syncs");
    let m = net.nodes[sl].inst.last_measurement(1).unwrap();
    assert_eq!(u64::from(m.sequence_id), (sent - 1) % 65_536);
    assert_eq!(m.offset_from_master, TimeInterval::ZERO);
    let c = net.nodes[sl].inst.port_counters(1).unwrap();
    assert_eq!(c.rejected(RejectReason::OutOfOrderSequence), 0);
    assert_eq!(c.rejected(RejectReason::DuplicateSequence), 0);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    assert!(!net.nodes[sl]
        .log
        .iter()
        .any(|l| l.contains("SYNCHRONIZATION_FAULT")));
}

#[test]
fn missing_tx_timestamps_skip_the_follow_up_and_are_counted() {
    let (mut net, gm, sl) = pair(fast_port(), 10_000);
    net.nodes[gm].drop_tx_timestamps = true;
    net.run_for(20 * S);
    let g = net.nodes[gm].inst.port_counters(1).unwrap();
    assert!(g.tx(MessageType::Sync) > 100);
    assert_eq!(g.tx(MessageType::FollowUp), 0);
    assert!(g.tx_timestamp_timeout >= g.tx(MessageType::Sync) - 1);
    let s = &net.nodes[sl].inst;
    assert_eq!(s.port_state(1), Some(PortState::Uncalibrated));
    assert!(s.last_measurement(1).is_none());
    assert!(
        s.port_counters(1)
            .unwrap()
            .rejected(RejectReason::SyncWithoutFollowUp)
            > 50
    );
}

#[test]
fn fault_then_recovery_after_fault_reset_interval() {
    let port = PortConfig {
        fault_reset_interval: FaultResetInterval::Log2Seconds(1),
        ..fast_port()
    };
    let (mut net, _gm, sl) = pair(port, 10_000);
    net.run_for(20 * S);
    net.nodes[sl].inst.handle_fault(Instant(net.t), 1);
    net.drain(sl);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Faulty));
    net.run_for(2 * S + MS);
    let log = &net.nodes[sl].log;
    for l in [
        "port 1: SLAVE to FAULTY on FAULT_DETECTED",
        "port 1: FAULTY to INITIALIZING on FAULT_CLEARED",
    ] {
        assert!(log.contains(&l.to_string()), "{l}: {log:?}");
    }
    net.run_for(20 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
}

#[test]
fn c37_238_requires_its_tlv_unless_configured_to_accept() {
    let (mut cfg, port) = InstanceConfig::from_profile(&profile::C37_238_2011);
    cfg.c37_238_local.grandmaster_id = 3;
    let plain = InstanceConfig::from_profile(&profile::IEC_61850_9_3).0;
    for (gm_cfg, require, expect) in [
        (cfg.clone(), true, PortState::Slave),
        (plain.clone(), true, PortState::Listening),
        (plain, false, PortState::Slave),
    ] {
        let mut net = Net::new(4_000);
        let gm = net.add(gm_cfg, vec![port.clone()], 1, TestClock::perfect());
        let mut s = cfg.clone();
        s.clock.slave_only = true;
        if let Some(c) = s.c37_238.as_mut() {
            c.require_tlv = require;
        }
        let sl = net.add(s, vec![port.clone()], 2, TestClock::perfect());
        net.link((gm, 1), (sl, 1));
        net.nodes[sl].capture = true;
        net.run_for(30 * S);
        assert_eq!(net.nodes[sl].inst.port_state(1), Some(expect));
        let missing = net.nodes[sl]
            .inst
            .port_counters(1)
            .unwrap()
            .rejected(RejectReason::MissingC37238Tlv);
        assert_eq!(missing > 0, expect == PortState::Listening);
        if expect == PortState::Slave && require {
            let ann = net.nodes[sl]
                .captured
                .iter()
                .filter_map(|(_, b)| MessageRepr::parse(b).ok())
                .find(|m| m.message_type() == MessageType::Announce)
                .unwrap();
            let org = ann.tlvs.iter().find_map(|t| match t {
                TlvRepr::OrganizationExtension(o) => o.c37_238(),
                _ => None,
            });
            assert!(org.is_some(), "{:?}", ann.tlvs);
        }
    }
}

/// G.8275.1: two grandmasters of equal quality; the slave's port towards the worse identity
/// has the better localPriority and wins; a notSlave (masterOnly) port is never chosen.
#[test]
fn g8275_1_local_priority_and_not_slave() {
    let (cfg, port) = InstanceConfig::from_profile(&profile::G8275_1);
    let run = |lp: [u8; 2], master_only_2: bool| {
        let mut net = Net::new(2_000);
        let a = net.add(cfg.clone(), vec![port.clone()], 0xA, TestClock::perfect());
        let b = net.add(cfg.clone(), vec![port.clone()], 0xB, TestClock::perfect());
        let mut s = cfg.clone();
        s.clock.slave_only = true;
        let p1 = PortConfig {
            local_priority: lp[0],
            ..port.clone()
        };
        let p2 = PortConfig {
            local_priority: lp[1],
            master_only: master_only_2,
            ..port.clone()
        };
        let sl = net.add(s, vec![p1, p2], 0x5, TestClock::perfect());
        net.link((a, 1), (sl, 1));
        net.link((b, 1), (sl, 2));
        net.run_for(20 * S);
        let i = &net.nodes[sl].inst;
        (
            i.parent_ds().grandmaster_identity,
            i.port_state(1).unwrap(),
            i.port_state(2).unwrap(),
        )
    };
    assert_eq!(
        run([128, 128], false),
        (identity(0xA), PortState::Slave, PortState::Listening)
    );
    assert_eq!(
        run([200, 100], false),
        (identity(0xB), PortState::Listening, PortState::Slave)
    );
    let (gm, p1, _) = run([200, 100], true);
    assert_eq!((gm, p1), (identity(0xA), PortState::Slave));
}

/// A boundary clock with two ports on the grandmaster's segment: one port follows it, the
/// other is the redundant path and goes PASSIVE (P2, 9.3.3).
#[test]
fn redundant_port_goes_passive() {
    let mut net = Net::new(2_000);
    let gm = net.add(gm_cfg(100), vec![fast_port()], 1, TestClock::perfect());
    let bc = net.add(
        InstanceConfig::default(),
        vec![fast_port(), fast_port()],
        2,
        TestClock::perfect(),
    );
    net.segment(&[(gm, 1), (bc, 1), (bc, 2)]);
    net.run_for(20 * S);
    assert_eq!(net.nodes[bc].inst.port_state(1), Some(PortState::Slave));
    assert_eq!(net.nodes[bc].inst.port_state(2), Some(PortState::Passive));
    assert!(net.nodes[bc]
        .log
        .iter()
        .any(|l| l.starts_with("port 2:") && l.contains("to PASSIVE on RS_PASSIVE (P2)")));
    assert_eq!(net.nodes[gm].inst.port_state(1), Some(PortState::Master));
}

/// syncReceiptTimeout: a master that syncs every 4 s while the slave expects 8 Syncs/s with a
/// timeout of 3 intervals: every gap raises SYNCHRONIZATION_FAULT.
#[test]
fn sync_receipt_timeout_raises_synchronization_fault() {
    let mut net = Net::new(10_000);
    let slow = PortConfig {
        log_sync_interval: 2,
        ..fast_port()
    };
    let gm = net.add(gm_cfg(128), vec![slow], 1, TestClock::perfect());
    let port = PortConfig {
        sync_receipt_timeout: 3,
        ..fast_port()
    };
    let sl = net.add(slave_cfg(), vec![port], 2, TestClock::perfect());
    net.link((gm, 1), (sl, 1));
    net.run_for(40 * S);
    let log = &net.nodes[sl].log;
    assert!(
        log.contains(&"port 1: SLAVE to UNCALIBRATED on SYNCHRONIZATION_FAULT".to_string()),
        "{log:?}"
    );
}

/// A boundary clock that boots between a good grandmaster (port 1) and a worse master
/// (port 2): port 2 gets M3, waits in PRE_MASTER for (stepsRemoved + 1) announce intervals
/// (9.2.6.11), then takes over the worse clock's segment, which becomes its slave.
#[test]
fn m3_port_qualifies_through_pre_master() {
    let mut net = Net::new(2_000);
    let gm = net.add(gm_cfg(100), vec![fast_port()], 1, TestClock::perfect());
    let worse = net.add(gm_cfg(200), vec![fast_port()], 9, TestClock::new(700, 0.0));
    let bc = net.add(
        InstanceConfig::default(),
        vec![fast_port(), fast_port()],
        2,
        TestClock::perfect(),
    );
    net.link((gm, 1), (bc, 1));
    net.link((worse, 1), (bc, 2));
    net.nodes[bc].alive = false;
    net.run_for(10 * S);
    assert_eq!(net.nodes[worse].inst.port_state(1), Some(PortState::Master));
    net.nodes[bc].alive = true;
    net.run_for(20 * S);
    let log = &net.nodes[bc].log;
    let pre = log
        .iter()
        .position(|l| l == "port 2: LISTENING to PRE_MASTER on RS_MASTER (M3)")
        .unwrap_or_else(|| panic!("{log:?}"));
    let master = log
        .iter()
        .position(|l| l == "port 2: PRE_MASTER to MASTER on QUALIFICATION_TIMEOUT_EXPIRES")
        .unwrap_or_else(|| panic!("{log:?}"));
    assert!(pre < master);
    assert_eq!(net.nodes[worse].inst.port_state(1), Some(PortState::Slave));
    assert_eq!(net.nodes[worse].inst.current_ds().steps_removed, 2);
    assert!(net.clock_diff(worse, gm).abs() < 100);
}

/// 9.5.11.2: the slave spaces Delay_Req by the master's logMinDelayReqInterval (from the
/// Delay_Resp), uniformly in [0, 2^(n+1)] s: about one per 2^n s on average.
#[test]
fn delay_req_rate_follows_the_masters_log_min_delay_req_interval() {
    let mut net = Net::new(10_000);
    let gm_port = PortConfig {
        log_min_delay_req_interval: 2,
        ..fast_port()
    };
    let gm = net.add(gm_cfg(128), vec![gm_port], 1, TestClock::perfect());
    let sl = net.add(slave_cfg(), vec![fast_port()], 2, TestClock::perfect());
    net.link((gm, 1), (sl, 1));
    net.run_for(10 * S);
    let before = net.nodes[sl]
        .inst
        .port_counters(1)
        .unwrap()
        .tx(MessageType::DelayReq);
    net.run_for(400 * S);
    let sent = net.nodes[sl]
        .inst
        .port_counters(1)
        .unwrap()
        .tx(MessageType::DelayReq)
        - before;
    // 400 s / 4 s = 100 expected (the slave's own setting would give 400).
    assert!((70..=130).contains(&sent), "{sent} Delay_Req in 400 s");
    assert_eq!(
        net.nodes[sl]
            .inst
            .port_counters(1)
            .unwrap()
            .response_missing,
        0
    );
}
