//! Who may steer time, in virtual time over the tiny wire of `common`: authentication
//! (matching keys sync; wrong key, missing TLV, replays and forgers are dropped and counted),
//! the grandmaster block (a rogue with a better priority1 is reported, the slaves keep their
//! grandmaster), the acceptable master table, and the grandmaster-change and time-jump alarms.

mod common;

use std::sync::Arc;

use common::*;
use xptp_control::datasets::PortConfig;
use xptp_control::port::counters::RejectReason;
use xptp_control::port::state::PortState;
use xptp_control::ptp::InstanceConfig;
use xptp_control::security::{
    parse_acceptable_masters, AlarmKind, AllowUnauth, IcvAlgorithm, PortSecurity, SaKey,
    SecurityAssociation, SecurityAssociations, SourceAddress,
};
use xptp_control::time::Instant;
use xptp_datapath::wire::{MessageRepr, MessageType, TlvRepr};

fn sad(secret: &[u8]) -> Arc<SecurityAssociations> {
    let mut sa = SecurityAssociation::new(1);
    sa.keys
        .push(SaKey::new(7, IcvAlgorithm::HmacSha256_128, secret.to_vec()));
    Arc::new(SecurityAssociations {
        associations: vec![sa],
    })
}

fn secured(mut cfg: InstanceConfig, secret: &[u8]) -> InstanceConfig {
    cfg.security = Some(sad(secret));
    cfg
}

fn auth_port(allow: AllowUnauth) -> PortConfig {
    PortConfig {
        security: PortSecurity {
            spp: Some(1),
            active_key_id: 7,
            allow_unauth: allow,
            ..PortSecurity::default()
        },
        ..fast_port()
    }
}

const KEY: &[u8] = b"substation-7-shared-secret";

/// GM and slave, each with its own key and port settings.
fn auth_pair(gm_key: Option<&[u8]>, sl_key: &[u8], sl_allow: AllowUnauth) -> (Net, usize, usize) {
    let mut net = Net::new(10_000);
    let (gcfg, gport) = match gm_key {
        Some(k) => (secured(gm_cfg(128), k), auth_port(AllowUnauth::None)),
        None => (gm_cfg(128), fast_port()),
    };
    let gm = net.add(gcfg, vec![gport], 1, TestClock::perfect());
    let sl = net.add(
        secured(slave_cfg(), sl_key),
        vec![auth_port(sl_allow)],
        2,
        TestClock::new(2_000_000, 15_000.0),
    );
    net.link((gm, 1), (sl, 1));
    (net, gm, sl)
}

fn rejected(net: &Net, n: usize, r: RejectReason) -> u64 {
    net.nodes[n].inst.port_counters(1).unwrap().rejected(r)
}

#[test]
fn matching_keys_sync_and_every_message_is_signed() {
    let (mut net, gm, sl) = auth_pair(Some(KEY), KEY, AllowUnauth::None);
    net.nodes[sl].capture = true;
    net.nodes[gm].capture = true;
    net.run_for(40 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    assert_eq!(net.nodes[gm].inst.port_state(1), Some(PortState::Master));
    let err = net.clock_diff(sl, gm);
    assert!(
        err.abs() < 100,
        "slave follows the authenticated master: {err} ns"
    );
    for n in [gm, sl] {
        let c = net.nodes[n].inst.port_counters(1).unwrap();
        assert!(c.authenticated > 10, "node {n}: {c:?}");
        for r in [
            RejectReason::AuthMissing,
            RejectReason::AuthBadIcv,
            RejectReason::AuthUnknownKey,
            RejectReason::AuthReplay,
        ] {
            assert_eq!(c.rejected(r), 0, "node {n}: {r}");
        }
    }
    // Announce, Sync, Follow_Up, Delay_Req and Delay_Resp all carry the TLV, last.
    let mut seen = std::collections::BTreeSet::new();
    for (_, f) in net.nodes[sl].captured.iter().chain(&net.nodes[gm].captured) {
        let m = MessageRepr::parse(f).unwrap();
        assert!(
            matches!(m.tlvs.last(), Some(TlvRepr::Authentication(a)) if a.spp == 1 && a.key_id == 7 && a.rest.len() == 16),
            "{:?} unsigned",
            m.message_type()
        );
        seen.insert(m.message_type() as u8);
    }
    for t in [
        MessageType::Announce,
        MessageType::Sync,
        MessageType::FollowUp,
        MessageType::DelayReq,
        MessageType::DelayResp,
    ] {
        assert!(seen.contains(&(t as u8)), "{t:?} never seen");
    }
}

#[test]
fn wrong_key_is_dropped_counted_and_never_followed() {
    let (mut net, _gm, sl) = auth_pair(Some(b"another-key"), KEY, AllowUnauth::None);
    net.run_for(30 * S);
    assert_eq!(
        net.nodes[sl].inst.port_state(1),
        Some(PortState::Listening),
        "no qualified master"
    );
    assert!(rejected(&net, sl, RejectReason::AuthBadIcv) > 100);
    assert_eq!(net.nodes[sl].clock.steps, 0, "the clock was never touched");
    assert!(net.nodes[sl].inst.port_counters(1).unwrap().authenticated == 0);
}

#[test]
fn missing_tlv_is_dropped_unless_allow_unauth_admits_it() {
    let (mut net, _gm, sl) = auth_pair(None, KEY, AllowUnauth::None);
    net.run_for(30 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Listening));
    assert!(rejected(&net, sl, RejectReason::AuthMissing) > 100);

    // allow_unauth 1: Sync passes without the TLV, Announce and Follow_Up do not.
    let (mut net, _gm, sl) = auth_pair(None, KEY, AllowUnauth::Event);
    net.run_for(30 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Listening));
    let c = net.nodes[sl].inst.port_counters(1).unwrap();
    assert!(c.unauthenticated_accepted > 100, "{c:?}");
    assert!(c.rejected(RejectReason::AuthMissing) > 100);

    // allow_unauth 2 (migration): everything passes, and it syncs.
    let (mut net, gm, sl) = auth_pair(None, KEY, AllowUnauth::All);
    net.run_for(40 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    assert!(net.clock_diff(sl, gm).abs() < 100);
    assert_eq!(rejected(&net, sl, RejectReason::AuthMissing), 0);
}

#[test]
fn replayed_frames_are_dropped_and_counted() {
    let (mut net, gm, sl) = auth_pair(Some(KEY), KEY, AllowUnauth::None);
    net.nodes[sl].capture = true;
    net.run_for(30 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    let early: Vec<Vec<u8>> = net.nodes[sl]
        .captured
        .iter()
        .filter(|(_, f)| {
            matches!(
                MessageRepr::parse(f).map(|m| m.message_type()),
                Ok(MessageType::Sync | MessageType::FollowUp | MessageType::Announce)
            )
        })
        .take(30)
        .map(|(_, f)| f.clone())
        .collect();
    assert_eq!(early.len(), 30);
    let before = rejected(&net, sl, RejectReason::AuthReplay);
    let offset_before = net.clock_diff(sl, gm);
    for f in &early {
        let rx = net.nodes[sl].clock.local_at(net.t);
        net.nodes[sl].inst.handle_message(Instant(net.t), 1, f, rx);
        net.drain(sl);
    }
    assert_eq!(rejected(&net, sl, RejectReason::AuthReplay) - before, 30);
    // Replaying the latest Sync again (same sequenceId) is a replay too.
    let last_sync = net.nodes[sl]
        .captured
        .iter()
        .rev()
        .find(|(_, f)| MessageRepr::parse(f).is_ok_and(|m| m.message_type() == MessageType::Sync))
        .map(|(_, f)| f.clone())
        .unwrap();
    let rx = net.nodes[sl].clock.local_at(net.t);
    net.nodes[sl]
        .inst
        .handle_message(Instant(net.t), 1, &last_sync, rx);
    assert_eq!(rejected(&net, sl, RejectReason::AuthReplay) - before, 31);
    net.run_for(10 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    assert!(net.clock_diff(sl, gm).abs() < 100, "was {offset_before}");
    assert_eq!(
        rejected(&net, sl, RejectReason::AuthReplay) - before,
        31,
        "the genuine stream is never taken for a replay"
    );
}

/// Key rotation at run time (`set_security`, what SIGHUP applies): both ends switch to a new
/// secret under the same keyID and the slave stays SLAVE; frames signed with the old secret
/// are then dropped (auth_bad_icv); the replay windows survive the switch.
#[test]
fn rotated_keys_keep_sync_old_key_is_dropped_replay_state_kept() {
    const NEW: &[u8] = b"substation-7-rotated-secret";
    let (mut net, gm, sl) = auth_pair(Some(KEY), KEY, AllowUnauth::None);
    net.nodes[sl].capture = true;
    net.run_for(30 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    let old_syncs: Vec<Vec<u8>> = net.nodes[sl]
        .captured
        .iter()
        .filter(|(_, f)| MessageRepr::parse(f).is_ok_and(|m| m.message_type() == MessageType::Sync))
        .map(|(_, f)| f.clone())
        .collect();
    let bad_before = rejected(&net, sl, RejectReason::AuthBadIcv);
    for n in [gm, sl] {
        net.nodes[n].inst.set_security(sad(NEW));
    }
    net.run_for(20 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    assert!(net.clock_diff(sl, gm).abs() < 100);
    assert_eq!(
        rejected(&net, sl, RejectReason::AuthBadIcv),
        bad_before,
        "nothing in flight is lost to a simultaneous switch in virtual time"
    );
    // An old-key Sync (the latest, so its sequenceId is fresh only to a guard that forgot).
    let last = old_syncs.last().unwrap();
    let replays = rejected(&net, sl, RejectReason::AuthReplay);
    let rx = net.nodes[sl].clock.local_at(net.t);
    net.nodes[sl]
        .inst
        .handle_message(Instant(net.t), 1, last, rx);
    assert_eq!(rejected(&net, sl, RejectReason::AuthBadIcv) - bad_before, 1);
    assert_eq!(rejected(&net, sl, RejectReason::AuthReplay), replays);
    // The replay window still holds the stream: re-signing the old Sync with the new key
    // (what a holder of the new key replaying old traffic would do) is a replay.
    let mut m = MessageRepr::parse(last).unwrap();
    m.tlvs.retain(|t| !matches!(t, TlvRepr::Authentication(_)));
    let mut bytes = m.to_vec().unwrap();
    let sa = sad(NEW);
    xptp_control::security::auth::sign(&mut bytes, sa.get(1).unwrap(), 7).unwrap();
    net.nodes[sl]
        .inst
        .handle_message(Instant(net.t), 1, &bytes, rx);
    assert_eq!(rejected(&net, sl, RejectReason::AuthReplay) - replays, 1);
    // Only the master rotates back: the slave now drops everything it sends.
    net.nodes[gm].inst.set_security(sad(KEY));
    net.run_for(5 * S);
    assert!(rejected(&net, sl, RejectReason::AuthBadIcv) - bad_before > 20);
}

#[test]
fn a_forger_with_a_better_priority1_is_not_followed() {
    let mut net = Net::new(10_000);
    let gm = net.add(
        secured(gm_cfg(128), KEY),
        vec![auth_port(AllowUnauth::None)],
        1,
        TestClock::perfect(),
    );
    let sl = net.add(
        secured(slave_cfg(), KEY),
        vec![auth_port(AllowUnauth::None)],
        2,
        TestClock::perfect(),
    );
    // Signs with a key of its own under the same SPP and keyID.
    let forger = net.add(
        secured(gm_cfg(1), b"guessed-key"),
        vec![auth_port(AllowUnauth::None)],
        3,
        TestClock::new(5_000_000_000, 0.0),
    );
    net.segment(&[(gm, 1), (sl, 1), (forger, 1)]);
    net.run_for(40 * S);
    let s = &net.nodes[sl].inst;
    assert_eq!(s.parent_ds().grandmaster_identity, identity(1));
    assert_eq!(s.port_state(1), Some(PortState::Slave));
    assert!(net.clock_diff(sl, gm).abs() < 100);
    assert!(rejected(&net, sl, RejectReason::AuthBadIcv) > 100);
    // The legitimate GM does not yield to it either.
    assert_eq!(net.nodes[gm].inst.port_state(1), Some(PortState::Master));
}

/// A switch-like boundary clock: port 1 towards the grandmaster, port 2 an access port with
/// `grandmaster_block` where a rogue with priority1 1 appears, port 3 towards a slave.
fn rogue_topology(block: bool) -> (Net, usize, usize, usize) {
    let mut net = Net::new(5_000);
    let gm = net.add(gm_cfg(100), vec![fast_port()], 1, TestClock::perfect());
    let blocked = PortConfig {
        security: PortSecurity {
            grandmaster_block: block,
            ..PortSecurity::default()
        },
        ..fast_port()
    };
    let bc = net.add(
        gm_cfg(200),
        vec![fast_port(), blocked, fast_port()],
        2,
        TestClock::perfect(),
    );
    let sl = net.add(slave_cfg(), vec![fast_port()], 3, TestClock::perfect());
    let rogue = net.add(
        gm_cfg(1),
        vec![fast_port()],
        9,
        TestClock::new(1_000_000, 0.0),
    );
    net.link((gm, 1), (bc, 1));
    net.link((bc, 2), (rogue, 1));
    net.link((bc, 3), (sl, 1));
    (net, bc, sl, rogue)
}

#[test]
fn rogue_grandmaster_on_a_blocked_port_is_reported_and_not_followed() {
    let (mut net, bc, sl, _rogue) = rogue_topology(true);
    net.run_for(40 * S);
    let b = &net.nodes[bc].inst;
    assert_eq!(b.parent_ds().grandmaster_identity, identity(1));
    assert_eq!(b.port_state(1), Some(PortState::Slave));
    assert_eq!(
        b.port_state(2),
        Some(PortState::Master),
        "the access port keeps leading"
    );
    assert_eq!(b.port_state(3), Some(PortState::Master));
    assert_eq!(
        net.nodes[sl].inst.parent_ds().grandmaster_identity,
        identity(1)
    );
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    // The rogue is recorded (status) and counted (metrics).
    let rogues = net.nodes[bc].inst.rogue_masters();
    assert_eq!(rogues.len(), 1);
    let r = &rogues[0];
    assert_eq!(r.port, 2);
    assert_eq!(r.source.clock_identity, identity(9));
    assert_eq!(r.grandmaster, Some(identity(9)));
    assert_eq!(r.priority1, Some(1));
    assert!(
        r.announces >= 30 && r.syncs >= 200 && r.follow_ups >= 200,
        "{r:?}"
    );
    let c = net.nodes[bc].inst.port_counters(2).unwrap();
    assert_eq!(c.rejected(RejectReason::GrandmasterBlocked), r.total());
    // One alarm, however many frames.
    let alarms: Vec<_> = std::iter::from_fn(|| net.nodes[bc].inst.poll_alarm()).collect();
    let rogue_alarms: Vec<_> = alarms
        .iter()
        .filter(|a| a.kind == AlarmKind::RogueMaster)
        .collect();
    assert_eq!(rogue_alarms.len(), 1, "{alarms:?}");
    assert_eq!(
        rogue_alarms[0].to_string(),
        "port 2: rogue_master: blocked would-be master 090000.fffe.000009-1 (grandmaster 090000.fffe.000009, priority1 1)"
    );
    assert_eq!(
        net.nodes[bc].inst.instance_counters().alarms_rogue_master,
        1
    );
}

#[test]
fn without_the_block_the_rogue_takes_over() {
    let (mut net, bc, sl, _rogue) = rogue_topology(false);
    net.run_for(40 * S);
    assert_eq!(
        net.nodes[bc].inst.parent_ds().grandmaster_identity,
        identity(9)
    );
    assert_eq!(
        net.nodes[sl].inst.parent_ds().grandmaster_identity,
        identity(9)
    );
    assert!(net.nodes[bc].inst.rogue_masters().is_empty());
}

#[test]
fn the_rogue_source_address_is_recorded() {
    let (mut net, bc, _sl, rogue) = rogue_topology(true);
    net.nodes[bc].capture = true;
    net.run_for(5 * S);
    let from_rogue = net.nodes[bc]
        .captured
        .iter()
        .find(|(p, _)| *p == 2)
        .map(|(_, f)| f.clone())
        .unwrap();
    let addr = SourceAddress::Ip("192.0.2.66".parse().unwrap());
    let rx = net.nodes[bc].clock.local_at(net.t);
    net.nodes[bc]
        .inst
        .handle_message_from(Instant(net.t), 2, &from_rogue, rx, Some(addr));
    let r = &net.nodes[bc].inst.rogue_masters()[0];
    assert_eq!(r.source.clock_identity, net.nodes[rogue].id());
    assert_eq!(r.address, Some(addr));
    assert!(r.last_seen > r.first_seen);
}

#[test]
fn acceptable_master_table_ignores_an_unlisted_better_master() {
    let run = |table: &str| {
        let mut net = Net::new(10_000);
        // A's own port must not yield to B either: masterOnly.
        let lead = PortConfig {
            master_only: true,
            ..fast_port()
        };
        let a = net.add(gm_cfg(128), vec![lead], 1, TestClock::perfect());
        let b = net.add(gm_cfg(10), vec![fast_port()], 5, TestClock::perfect());
        let port = PortConfig {
            security: PortSecurity {
                acceptable_masters: parse_acceptable_masters(table).unwrap(),
                ..PortSecurity::default()
            },
            ..fast_port()
        };
        let sl = net.add(slave_cfg(), vec![port], 2, TestClock::perfect());
        net.segment(&[(a, 1), (b, 1), (sl, 1)]);
        net.run_for(30 * S);
        let s = &net.nodes[sl].inst;
        (
            s.parent_ds().grandmaster_identity,
            s.port_counters(1)
                .unwrap()
                .rejected(RejectReason::NotAcceptableMaster),
        )
    };
    let (gm, n) = run("010000.fffe.000001");
    assert_eq!(gm, identity(1), "only the listed master qualifies");
    assert!(n >= 25, "{n}");
    assert_eq!(
        run("").0,
        identity(5),
        "without a table the better master wins"
    );
    // alternatePriority1 (17.6.4): listed with priority1 5, A now beats B's 10.
    assert_eq!(
        run("010000.fffe.000001:5 050000.fffe.000005").0,
        identity(1)
    );
}

#[test]
fn grandmaster_change_raises_one_alarm() {
    let mut net = Net::new(10_000);
    let a = net.add(gm_cfg(100), vec![fast_port()], 1, TestClock::perfect());
    let b = net.add(gm_cfg(120), vec![fast_port()], 4, TestClock::perfect());
    let sl = net.add(slave_cfg(), vec![fast_port()], 2, TestClock::perfect());
    net.segment(&[(a, 1), (b, 1), (sl, 1)]);
    net.run_for(30 * S);
    assert_eq!(
        net.nodes[sl].inst.parent_ds().grandmaster_identity,
        identity(1)
    );
    let none: Vec<_> = std::iter::from_fn(|| net.nodes[sl].inst.poll_alarm()).collect();
    assert!(
        none.is_empty(),
        "the first selection is not a change: {none:?}"
    );
    net.nodes[a].alive = false;
    net.run_for(30 * S);
    assert_eq!(
        net.nodes[sl].inst.parent_ds().grandmaster_identity,
        identity(4)
    );
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    let alarms: Vec<_> = std::iter::from_fn(|| net.nodes[sl].inst.poll_alarm()).collect();
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(alarms[0].kind, AlarmKind::GrandmasterChanged);
    assert_eq!(
        alarms[0].detail,
        "grandmaster changed from 010000.fffe.000001 to 040000.fffe.000004"
    );
}

#[test]
fn time_jump_raises_one_alarm() {
    let mut net = Net::new(10_000);
    let gm = net.add(gm_cfg(128), vec![fast_port()], 1, TestClock::perfect());
    let sl = net.add(
        slave_cfg(),
        vec![fast_port()],
        2,
        TestClock::new(3_000_000, 10_000.0),
    );
    net.link((gm, 1), (sl, 1));
    net.run_for(60 * S);
    assert_eq!(net.nodes[sl].inst.port_state(1), Some(PortState::Slave));
    assert!(net.nodes[sl].clock.steps >= 1, "the initial step");
    let initial: Vec<_> = std::iter::from_fn(|| net.nodes[sl].inst.poll_alarm()).collect();
    assert!(initial.is_empty(), "acquisition is not a jump: {initial:?}");
    // The grandmaster's time jumps by 1 ms.
    let t = net.t;
    let now = net.nodes[gm].clock.local_at(t) - EPOCH - i128::from(t);
    net.nodes[gm].clock = TestClock::new(now + 1_000_000, 0.0);
    net.run_for(120 * S);
    let alarms: Vec<_> = std::iter::from_fn(|| net.nodes[sl].inst.poll_alarm()).collect();
    let jumps: Vec<_> = alarms
        .iter()
        .filter(|a| a.kind == AlarmKind::TimeJump)
        .collect();
    assert_eq!(jumps.len(), 1, "{alarms:?}");
    assert_eq!(jumps[0].port, Some(1));
    assert!(net.clock_diff(sl, gm).abs() < 1_000, "followed the jump");
}
