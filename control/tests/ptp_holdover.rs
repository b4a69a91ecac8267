//! Holdover of the PtpInstance in virtual time: a slave that loses its master keeps the
//! frequency it learned (not the servo's last, noisy output), reports holdover and relocks
//! when the master returns; a grandmaster-capable boundary clock that loses its grandmaster
//! becomes grandmaster with a clockClass that degrades along its ladder, which a downstream
//! slave sees in the Announces, and which lets a better standby grandmaster take over
//! without the boundary clock flapping back.

mod common;

use common::*;
use xptp_control::port::state::PortState;
use xptp_control::ptp::InstanceConfig;
use xptp_control::servo::{ClockClassLadder, HoldoverConfig, HoldoverState};

/// Slave oscillator error, ppb.
const OSC_PPB: f64 = 10_000.0;

struct HoldoverRun {
    /// Clock error growth (ns) over the 60 s after the master died.
    growth: i128,
    /// osc + adjustment after the loss: the residual frequency error (ppb).
    residual_ppb: f64,
    /// The adjustment in force after the loss equals the held frequency.
    held_matches: bool,
    entered: u64,
}

/// GM and slave over a link with 2 µs of event-message jitter (so the servo's output is
/// noisy); the slave averages `averaging` locked outputs. Locks for 120 s, kills the GM,
/// runs 60 s, revives it and runs 60 s more, asserting holdover and the relock.
fn holdover_run(averaging: usize) -> HoldoverRun {
    let mut net = Net::new(10_000);
    net.jitter = 2_000;
    let gm = net.add(gm_cfg(128), vec![fast_port()], 1, TestClock::perfect());
    let mut cfg = slave_cfg();
    cfg.holdover = HoldoverConfig {
        averaging_samples: averaging,
        ..HoldoverConfig::default()
    };
    let sl = net.add(cfg, vec![fast_port()], 2, TestClock::new(5_000, OSC_PPB));
    net.link((gm, 1), (sl, 1));
    net.run_for(120 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    assert_eq!(
        net.nodes[sl].inst.holdover_status().state,
        HoldoverState::Locked
    );
    let before = net.clock_diff(sl, gm);
    assert!(before.abs() < 3_000, "locked: {before} ns");

    net.nodes[gm].alive = false;
    let t_kill = net.t;
    let err_kill = net.nodes[sl].clock.error_at(t_kill);
    net.run_for(60 * S);
    let s = &net.nodes[sl];
    assert_eq!(s.inst.port_state(1), Some(PortState::Listening));
    let st = s.inst.holdover_status();
    let HoldoverState::Holdover {
        since_ns,
        frequency_ppb,
    } = st.state
    else {
        panic!("not in holdover: {st:?}");
    };
    // Announce receipt timeout: 3 announce intervals (+ up to one more) after the last Announce.
    let lost_after = since_ns - t_kill as i64;
    assert!(
        (2 * S as i64..=5 * S as i64).contains(&lost_after),
        "{lost_after}"
    );
    assert!(st.within_budget && st.elapsed_ns.is_some_and(|e| e > 50 * S as i64));
    assert_eq!(
        st.clock_class, 248,
        "slaveOnly: the advertised class is unchanged"
    );
    let growth = s.clock.error_at(net.t) - err_kill;
    let out = HoldoverRun {
        growth,
        residual_ppb: OSC_PPB + s.clock.adj_ppb,
        held_matches: s.clock.adj_ppb == frequency_ppb,
        entered: s.inst.instance_counters().holdover_entered,
    };

    net.nodes[gm].alive = true;
    net.run_for(60 * S);
    let s = &net.nodes[sl];
    assert_eq!(s.inst.port_state(1), Some(PortState::Slave));
    assert_eq!(s.inst.holdover_status().state, HoldoverState::Locked);
    assert_eq!(s.inst.instance_counters().holdover_exited, 1);
    let after = net.clock_diff(sl, gm);
    assert!(after.abs() < 3_000, "relocked: {after} ns");
    out
}

#[test]
fn slave_holds_the_learned_frequency_and_relocks() {
    let held = holdover_run(64);
    let last = holdover_run(1);
    eprintln!(
        "holdover 60 s: averaged {} ns ({:.2} ppb), last servo output {} ns ({:.2} ppb)",
        held.growth, held.residual_ppb, last.growth, last.residual_ppb
    );
    assert!(held.held_matches && last.held_matches);
    assert_eq!((held.entered, last.entered), (1, 1));
    assert!(
        held.residual_ppb.abs() < 60.0,
        "averaged frequency off by {} ppb",
        held.residual_ppb
    );
    assert!(
        held.growth.abs() * 4 < last.growth.abs(),
        "averaging must beat the last output: {} vs {} ns",
        held.growth,
        last.growth
    );
}

const BUDGET: u64 = 20 * S;
const FREE_RUN: u64 = 40 * S;

fn ladder_bc_cfg() -> InstanceConfig {
    // Configured class: the default 248 (a class-6 clock would never be a slave, 9.3.3).
    // priority1 as the others: classes decide.
    let mut c = gm_cfg(128);
    c.holdover_clock_class = true;
    c.holdover = HoldoverConfig {
        budget_ns: BUDGET as i64,
        averaging_samples: 16,
        ladder: ClockClassLadder::default_profile(BUDGET as i64, FREE_RUN as i64),
    };
    c
}

fn class_gm_cfg(class: u8) -> InstanceConfig {
    let mut c = gm_cfg(128);
    c.clock.clock_quality.clock_class = class;
    c
}

#[test]
fn boundary_clock_in_holdover_degrades_its_clock_class() {
    let mut net = Net::new(5_000);
    let gm = net.add(class_gm_cfg(6), vec![fast_port()], 1, TestClock::perfect());
    let bc = net.add(
        ladder_bc_cfg(),
        vec![fast_port(), fast_port()],
        2,
        TestClock::new(0, 3_000.0),
    );
    let sl = net.add(slave_cfg(), vec![fast_port()], 3, TestClock::perfect());
    net.link((gm, 1), (bc, 1));
    net.link((bc, 2), (sl, 1));
    net.run_for(60 * S);
    assert_eq!(net.nodes[bc].inst.port_state(1), Some(PortState::Slave));
    assert_eq!(net.nodes[bc].inst.port_state(2), Some(PortState::Master));
    let seen = |net: &Net| {
        let p = net.nodes[sl].inst.parent_ds();
        (
            p.grandmaster_identity,
            p.grandmaster_clock_quality.clock_class,
        )
    };
    assert_eq!(seen(&net), (identity(1), 6));
    assert_eq!(
        net.nodes[bc].inst.default_ds().clock_quality.clock_class,
        248
    );

    net.nodes[gm].alive = false;
    let t_kill = net.t;
    net.run_for(8 * S);
    let b = &net.nodes[bc].inst;
    assert!(matches!(
        b.holdover_status().state,
        HoldoverState::Holdover { .. }
    ));
    assert_eq!(b.default_ds().clock_quality.clock_class, 7);
    assert_eq!(b.parent_ds().grandmaster_identity, identity(2), "BC is GM");
    assert_eq!(b.port_state(2), Some(PortState::Master));
    assert_eq!(seen(&net), (identity(2), 7), "in holdover, within budget");

    // Past the budget (holdover began ~3-4 s after the kill; rungs apply within 1 s).
    net.run_until(t_kill + 5 * S + BUDGET + 2 * S);
    assert!(!net.nodes[bc].inst.holdover_status().within_budget);
    assert_eq!(seen(&net), (identity(2), 187), "out of budget");
    net.run_until(t_kill + 5 * S + FREE_RUN + 2 * S);
    assert_eq!(seen(&net), (identity(2), 248), "free-running");
    let c = net.nodes[bc].inst.instance_counters();
    assert_eq!((c.holdover_entered, c.clock_class_changes), (1, 3));
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));

    // The grandmaster returns: the BC follows it and is back at its configured class.
    net.nodes[gm].alive = true;
    net.run_for(30 * S);
    let b = &net.nodes[bc].inst;
    assert_eq!(b.port_state(1), Some(PortState::Slave));
    assert_eq!(b.holdover_status().state, HoldoverState::Locked);
    assert_eq!(b.default_ds().clock_quality.clock_class, 248);
    assert_eq!(b.instance_counters().holdover_exited, 1);
    assert_eq!(seen(&net), (identity(1), 6));
}

/// A standby grandmaster (class 150) sits on the BC's downstream segment. In holdover the BC
/// (class 7) still beats it; once out of budget (187) the standby wins, the BC follows it,
/// and since the standby is not as good as the ladder's locked class (6) the BC stays in
/// holdover on its ladder rather than counting the standby as a regained reference.
#[test]
fn degraded_boundary_clock_yields_to_a_better_standby_without_flapping() {
    let mut net = Net::new(5_000);
    let gm = net.add(class_gm_cfg(6), vec![fast_port()], 1, TestClock::perfect());
    let bc = net.add(
        ladder_bc_cfg(),
        vec![fast_port(), fast_port()],
        2,
        TestClock::new(0, 3_000.0),
    );
    let sl = net.add(slave_cfg(), vec![fast_port()], 3, TestClock::perfect());
    let sb = net.add(
        class_gm_cfg(150),
        vec![fast_port()],
        4,
        TestClock::perfect(),
    );
    net.link((gm, 1), (bc, 1));
    net.segment(&[(bc, 2), (sl, 1), (sb, 1)]);
    net.run_for(60 * S);
    let gm_of = |net: &Net, n: usize| {
        let p = net.nodes[n].inst.parent_ds();
        (
            p.grandmaster_identity,
            p.grandmaster_clock_quality.clock_class,
        )
    };
    assert_eq!(gm_of(&net, sl), (identity(1), 6));

    net.nodes[gm].alive = false;
    let t_kill = net.t;
    net.run_for(8 * S);
    assert_eq!(
        gm_of(&net, sl),
        (identity(2), 7),
        "the BC in holdover leads"
    );
    assert_eq!(gm_of(&net, sb), (identity(2), 7));

    net.run_until(t_kill + 5 * S + BUDGET + 5 * S);
    assert_eq!(gm_of(&net, sl), (identity(4), 150), "the standby took over");
    let b = &net.nodes[bc].inst;
    assert_eq!(b.port_state(2), Some(PortState::Slave));
    assert_eq!(b.default_ds().clock_quality.clock_class, 187);
    let changes = b.instance_counters().clock_class_changes;

    net.run_until(t_kill + 5 * S + FREE_RUN + 10 * S);
    let b = &net.nodes[bc].inst;
    assert_eq!(b.port_state(2), Some(PortState::Slave), "no flapping");
    assert!(matches!(
        b.holdover_status().state,
        HoldoverState::Holdover { .. }
    ));
    assert_eq!(b.default_ds().clock_quality.clock_class, 248);
    let c = b.instance_counters();
    assert_eq!((c.holdover_entered, c.holdover_exited), (1, 0));
    assert_eq!(
        c.clock_class_changes,
        changes + 1,
        "only the 248 rung since"
    );
    // Back at the configured 248 (not the ladder) would be worse than the standby too; the
    // ladder being kept shows holdover did not end on a lesser grandmaster.
    assert_eq!(c.holdover_exited, 0);
    assert_eq!(gm_of(&net, sl), (identity(4), 150));
}
