//! White-box checks of the instance's calling convention.

use rand::SeedableRng;
use xptp_datapath::wire::{ClockIdentity, MessageRepr, MessageType};

use super::*;
use crate::port::state::PortState;
use crate::port::MessageClass;

fn instance(cfg: InstanceConfig, ports: usize) -> PtpInstance {
    let rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(7);
    PtpInstance::new(
        cfg,
        vec![PortConfig::default(); ports],
        ClockIdentity([7; 8]),
        Box::new(rng),
    )
}

#[test]
fn initialisation_happens_on_the_first_call() {
    let mut i = instance(InstanceConfig::default(), 2);
    assert_eq!(i.poll_timeout(), Some(Instant::ZERO));
    assert_eq!(i.port_state(1), Some(PortState::Initializing));
    i.handle_timer(Instant(5));
    assert_eq!(i.port_state(2), Some(PortState::Listening));
    let changes: Vec<String> = std::iter::from_fn(|| i.poll_action())
        .map(|a| match a {
            Action::PortStateChanged(c) => c.to_string(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        changes,
        [
            "port 1: INITIALIZING to LISTENING on INIT_COMPLETE",
            "port 2: INITIALIZING to LISTENING on INIT_COMPLETE"
        ]
    );
    // Next deadline: the state decision after one announce interval (2 s) or earlier.
    let next = i.poll_timeout().unwrap();
    assert!(
        next > Instant(5) && next <= Instant(5 + 2_000_000_000),
        "{next:?}"
    );
    assert_eq!(i.port_state(3), None);
}

#[test]
fn lone_clock_becomes_master_and_announces_itself() {
    let mut i = instance(InstanceConfig::default(), 1);
    let mut t = Instant::ZERO;
    let mut sent = Vec::new();
    while t < Instant(12_000_000_000) {
        i.handle_timer(t);
        while let Some(a) = i.poll_action() {
            if let Action::Send {
                class, data, token, ..
            } = a
            {
                let m = MessageRepr::parse(&data).unwrap();
                assert_eq!(class == MessageClass::Event, m.message_type().is_event());
                // Hand back every TX timestamp at once.
                if let Some(tok) = token {
                    i.handle_tx_timestamp(tok, 1_000_000_000 + i128::from(t.as_nanos()));
                }
                sent.push(m);
            }
        }
        t = i.poll_timeout().unwrap();
    }
    assert_eq!(i.port_state(1), Some(PortState::Master));
    let ann = sent
        .iter()
        .find(|m| m.message_type() == MessageType::Announce)
        .unwrap();
    let xptp_datapath::wire::Body::Announce(a) = ann.body else {
        unreachable!()
    };
    assert_eq!(a.grandmaster_identity, ClockIdentity([7; 8]));
    assert_eq!((a.steps_removed, a.grandmaster_priority1), (0, 128));
    assert_eq!(ann.header.log_message_interval, 1);
    // Two-step: every Sync is followed by a Follow_Up with the same sequenceId.
    let syncs: Vec<u16> = sent
        .iter()
        .filter(|m| m.message_type() == MessageType::Sync)
        .map(|m| m.header.sequence_id)
        .collect();
    let fups: Vec<u16> = sent
        .iter()
        .filter(|m| m.message_type() == MessageType::FollowUp)
        .map(|m| m.header.sequence_id)
        .collect();
    assert!(syncs.len() >= 4);
    assert_eq!(syncs, fups);
    assert_eq!(syncs, (0..syncs.len() as u16).collect::<Vec<_>>());
}

#[test]
fn unknown_and_late_tx_tokens_are_counted() {
    let mut i = instance(InstanceConfig::default(), 1);
    i.handle_timer(Instant::ZERO);
    i.handle_tx_timestamp(TxToken::new(12345), 1);
    assert_eq!(i.instance_counters().unknown_tx_token, 1);
}
