//! Table tests for the BMCA: data set comparison (IEEE 1588-2019 Figures 34/35 and G.8275.1),
//! foreign master qualification (9.3.2.4.5, 9.3.2.5) and the state decision (Figure 33) with its
//! data set updates (Tables 30-33).

use xptp_datapath::wire::{ClockIdentity, ClockQuality, PortIdentity};

use super::*;
use crate::datasets::{
    ClockConfig, CurrentDs, DatasetComparison, DefaultDs, ParentDs, TimePropertiesDs,
};
use crate::port::state::{PortState, RecommendedState};
use crate::time::Instant;

fn cid(b: u8) -> ClockIdentity {
    ClockIdentity([b, 0, 0, 0xff, 0xfe, 0, 0, b])
}

fn pid(b: u8, port: u16) -> PortIdentity {
    PortIdentity::new(cid(b), port)
}

fn q(class: u8, acc: u8, var: u16) -> ClockQuality {
    ClockQuality {
        clock_class: class,
        clock_accuracy: acc,
        offset_scaled_log_variance: var,
    }
}

/// A comparison data set: (priority1, quality, priority2, gm, steps, sender, receiver, localPriority).
#[allow(clippy::too_many_arguments)]
fn ds(
    p1: u8,
    quality: ClockQuality,
    p2: u8,
    gm: u8,
    steps: u16,
    sender: PortIdentity,
    receiver: PortIdentity,
    lp: u8,
) -> ComparisonDataset {
    ComparisonDataset {
        gm_priority1: p1,
        gm_identity: cid(gm),
        gm_clock_quality: quality,
        gm_priority2: p2,
        steps_removed: steps,
        sender,
        receiver,
        local_priority: lp,
    }
}

const Q: ClockQuality = ClockQuality {
    clock_class: 248,
    clock_accuracy: 0xFE,
    offset_scaled_log_variance: 0xFFFF,
};

/// A baseline data set; rows change one field at a time.
fn base(gm: u8) -> ComparisonDataset {
    ds(128, Q, 128, gm, 1, pid(gm, 1), pid(0x50, 1), 128)
}

use DatasetOrdering as O;

#[test]
fn ieee1588_comparison_figure_34_35_table() {
    let b = base(2);
    // (row name, A, B, expected)
    #[rustfmt::skip]
    let rows: Vec<(&str, ComparisonDataset, ComparisonDataset, O)> = vec![
        // Figure 34, one row per attribute in order; B = baseline from GM 2, A from GM 1
        // differs in exactly the attribute named (identity would favour A in every row,
        // so each row shows that the named attribute decides before the identity).
        ("priority1 lower wins", ComparisonDataset { gm_priority1: 127, ..base(3) }, b, O::ABetter),
        ("priority1 higher loses", ComparisonDataset { gm_priority1: 129, ..base(1) }, b, O::BBetter),
        ("clockClass lower wins", ComparisonDataset { gm_clock_quality: q(6, 0xFE, 0xFFFF), ..base(3) }, b, O::ABetter),
        ("clockClass higher loses", ComparisonDataset { gm_clock_quality: q(255, 0xFE, 0xFFFF), ..base(1) }, b, O::BBetter),
        ("clockAccuracy lower wins", ComparisonDataset { gm_clock_quality: q(248, 0x21, 0xFFFF), ..base(3) }, b, O::ABetter),
        ("clockAccuracy higher loses", ComparisonDataset { gm_clock_quality: q(248, 0xFF, 0xFFFF), ..base(1) }, ComparisonDataset { gm_clock_quality: q(248, 0xFE, 0xFFFF), ..b }, O::BBetter),
        ("variance lower wins", ComparisonDataset { gm_clock_quality: q(248, 0xFE, 0x4E5D), ..base(3) }, b, O::ABetter),
        ("variance higher loses", ComparisonDataset { gm_clock_quality: q(248, 0xFE, 0xFFFF), ..base(1) }, ComparisonDataset { gm_clock_quality: q(248, 0xFE, 0x4E5D), ..b }, O::BBetter),
        ("priority2 lower wins", ComparisonDataset { gm_priority2: 127, ..base(3) }, b, O::ABetter),
        ("priority2 higher loses", ComparisonDataset { gm_priority2: 129, ..base(1) }, b, O::BBetter),
        ("identity lower wins", base(1), b, O::ABetter),
        ("identity higher loses", base(3), b, O::BBetter),
        // Order: priority1 beats a better clockClass; clockClass beats accuracy, etc.
        ("priority1 before clockClass", ComparisonDataset { gm_priority1: 127, gm_clock_quality: q(255, 0xFE, 0xFFFF), ..base(3) }, ComparisonDataset { gm_clock_quality: q(6, 0x20, 0x4000), ..b }, O::ABetter),
        ("clockClass before accuracy", ComparisonDataset { gm_clock_quality: q(6, 0xFE, 0xFFFF), ..base(3) }, ComparisonDataset { gm_clock_quality: q(7, 0x20, 0x4000), ..b }, O::ABetter),
        ("accuracy before variance", ComparisonDataset { gm_clock_quality: q(248, 0x20, 0xFFFF), ..base(3) }, ComparisonDataset { gm_clock_quality: q(248, 0x21, 0x4000), ..b }, O::ABetter),
        ("variance before priority2", ComparisonDataset { gm_clock_quality: q(248, 0xFE, 0x4000), gm_priority2: 255, ..base(3) }, ComparisonDataset { gm_clock_quality: q(248, 0xFE, 0x4001), gm_priority2: 0, ..b }, O::ABetter),
        ("GM attributes before stepsRemoved", ComparisonDataset { gm_priority2: 127, steps_removed: 9, ..base(3) }, ComparisonDataset { steps_removed: 0, ..b }, O::ABetter),
        // Figure 35: same grandmaster (GM 2), topology decides.
        ("steps A+1 < B", ComparisonDataset { steps_removed: 1, ..b }, ComparisonDataset { steps_removed: 3, ..b }, O::ABetter),
        ("steps B+1 < A", ComparisonDataset { steps_removed: 4, ..b }, ComparisonDataset { steps_removed: 2, ..b }, O::BBetter),
        ("steps A = B-1, receiver(B) < sender(B)", ComparisonDataset { steps_removed: 1, ..b }, ComparisonDataset { steps_removed: 2, sender: pid(0x60, 1), receiver: pid(0x50, 2), ..b }, O::ABetter),
        ("steps A = B-1, receiver(B) > sender(B)", ComparisonDataset { steps_removed: 1, ..b }, ComparisonDataset { steps_removed: 2, sender: pid(0x40, 1), receiver: pid(0x50, 2), ..b }, O::ABetterByTopology),
        ("steps A = B-1, same clock, receiver port < sender port", ComparisonDataset { steps_removed: 1, ..b }, ComparisonDataset { steps_removed: 2, sender: pid(0x50, 3), receiver: pid(0x50, 2), ..b }, O::ABetter),
        ("steps A = B-1, receiver(B) = sender(B): error-1", ComparisonDataset { steps_removed: 1, ..b }, ComparisonDataset { steps_removed: 2, sender: pid(0x50, 2), receiver: pid(0x50, 2), ..b }, O::Error1),
        ("steps A = B+1, receiver(A) < sender(A)", ComparisonDataset { steps_removed: 2, sender: pid(0x60, 1), receiver: pid(0x50, 1), ..b }, ComparisonDataset { steps_removed: 1, ..b }, O::BBetter),
        ("steps A = B+1, receiver(A) > sender(A)", ComparisonDataset { steps_removed: 2, sender: pid(0x40, 1), receiver: pid(0x50, 1), ..b }, ComparisonDataset { steps_removed: 1, ..b }, O::BBetterByTopology),
        ("steps A = B+1, receiver(A) = sender(A): error-1", ComparisonDataset { steps_removed: 2, sender: pid(0x50, 1), receiver: pid(0x50, 1), ..b }, ComparisonDataset { steps_removed: 1, ..b }, O::Error1),
        ("steps equal, sender(A) < sender(B)", ComparisonDataset { sender: pid(0x30, 1), ..b }, ComparisonDataset { sender: pid(0x31, 1), ..b }, O::ABetterByTopology),
        ("steps equal, sender(A) > sender(B)", ComparisonDataset { sender: pid(0x32, 1), ..b }, ComparisonDataset { sender: pid(0x31, 1), ..b }, O::BBetterByTopology),
        ("steps equal, same sender clock, sender port A < B", ComparisonDataset { sender: pid(0x30, 1), ..b }, ComparisonDataset { sender: pid(0x30, 2), ..b }, O::ABetterByTopology),
        ("steps equal, same sender, receiver port A < B", ComparisonDataset { receiver: pid(0x50, 1), ..b }, ComparisonDataset { receiver: pid(0x50, 2), ..b }, O::ABetterByTopology),
        ("steps equal, same sender, receiver port A > B", ComparisonDataset { receiver: pid(0x50, 3), ..b }, ComparisonDataset { receiver: pid(0x50, 2), ..b }, O::BBetterByTopology),
        ("indistinguishable: error-2", b, b, O::Error2),
        // localPriority is not part of the IEEE 1588 comparison.
        ("localPriority ignored", ComparisonDataset { local_priority: 1, ..base(3) }, b, O::BBetter),
    ];
    for (name, a, bb, want) in &rows {
        assert_eq!(compare_ieee1588(a, bb), *want, "{name}");
        assert_eq!(compare_ieee1588(bb, a), want.reverse(), "{name} (reversed)");
        assert_eq!(compare(a, bb, DatasetComparison::Ieee1588), *want, "{name}");
    }
}

#[test]
fn g8275_comparison_table() {
    let b = base(2);
    #[rustfmt::skip]
    let rows: Vec<(&str, ComparisonDataset, ComparisonDataset, O)> = vec![
        ("priority1 is not used", ComparisonDataset { gm_priority1: 0, ..base(1) }, ComparisonDataset { gm_priority1: 255, gm_clock_quality: q(6, 0xFE, 0xFFFF), ..b }, O::BBetter),
        ("clockClass lower wins", ComparisonDataset { gm_clock_quality: q(6, 0x21, 0x4E5D), ..base(3) }, ComparisonDataset { gm_clock_quality: q(7, 0x20, 0x4000), ..b }, O::ABetter),
        ("clockAccuracy next", ComparisonDataset { gm_clock_quality: q(6, 0x20, 0xFFFF), ..base(3) }, ComparisonDataset { gm_clock_quality: q(6, 0x21, 0x4000), ..b }, O::ABetter),
        ("variance next", ComparisonDataset { gm_clock_quality: q(6, 0x21, 0x4000), gm_priority2: 200, ..base(3) }, ComparisonDataset { gm_clock_quality: q(6, 0x21, 0x4E5D), gm_priority2: 1, ..b }, O::ABetter),
        ("priority2 before localPriority", ComparisonDataset { gm_priority2: 127, local_priority: 200, ..base(3) }, ComparisonDataset { gm_priority2: 128, local_priority: 1, ..b }, O::ABetter),
        ("localPriority lower wins", ComparisonDataset { local_priority: 100, ..base(3) }, ComparisonDataset { local_priority: 128, ..b }, O::ABetter),
        ("localPriority higher loses", ComparisonDataset { local_priority: 129, ..base(1) }, b, O::BBetter),
        ("localPriority before identity and steps", ComparisonDataset { local_priority: 127, steps_removed: 7, ..base(3) }, b, O::ABetter),
        ("class <= 127 tie: topology, not identity (A nearer)", ComparisonDataset { gm_clock_quality: q(6, 0x21, 0x4E5D), steps_removed: 1, ..base(9) }, ComparisonDataset { gm_clock_quality: q(6, 0x21, 0x4E5D), steps_removed: 3, ..base(1) }, O::ABetter),
        ("class <= 127 tie: equal steps, sender decides", ComparisonDataset { gm_clock_quality: q(6, 0x21, 0x4E5D), sender: pid(0x30, 1), ..base(9) }, ComparisonDataset { gm_clock_quality: q(6, 0x21, 0x4E5D), sender: pid(0x31, 1), ..base(1) }, O::ABetterByTopology),
        ("class > 127 tie: identity decides before steps", ComparisonDataset { steps_removed: 5, ..base(1) }, ComparisonDataset { steps_removed: 1, ..base(2) }, O::ABetter),
        ("class > 127, same GM: topology", ComparisonDataset { steps_removed: 3, ..b }, ComparisonDataset { steps_removed: 1, ..b }, O::BBetter),
        ("indistinguishable: error-2", b, b, O::Error2),
    ];
    for (name, a, bb, want) in &rows {
        assert_eq!(compare_g8275(a, bb), *want, "{name}");
        assert_eq!(compare_g8275(bb, a), want.reverse(), "{name} (reversed)");
        assert_eq!(compare(a, bb, DatasetComparison::G8275), *want, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Foreign master qualification

const SEC: u64 = 1_000_000_000;
const OWN: u8 = 0x50;

fn ann(sender: PortIdentity, gm: u8, seq: u16) -> AnnounceInfo {
    AnnounceInfo {
        source_port_identity: sender,
        sequence_id: seq,
        log_message_interval: 1,
        current_utc_offset: 37,
        grandmaster_priority1: 128,
        grandmaster_clock_quality: Q,
        grandmaster_priority2: 128,
        grandmaster_identity: cid(gm),
        steps_removed: 0,
        time_source: 0xA0,
        flags: TimeFlags::default(),
    }
}

fn t(s: u64) -> Instant {
    Instant(s * SEC)
}

#[test]
fn foreign_master_needs_two_announces_in_four_intervals() {
    // logAnnounceInterval 1: window = 4 × 2 s = 8 s.
    let mut l = ForeignMasterList::default();
    let s = pid(1, 1);
    let r = l.record(t(100), ann(s, 1, 1), cid(OWN), 255, 1).unwrap();
    assert_eq!(
        r,
        AnnounceRecorded {
            qualified: false,
            bmca_relevant_change: false
        }
    );
    assert_eq!(l.qualified(t(100), 1).count(), 0);
    let r = l.record(t(108), ann(s, 1, 2), cid(OWN), 255, 1).unwrap();
    assert!(
        r.qualified && r.bmca_relevant_change,
        "2nd within 8 s qualifies"
    );
    // 2 s later: the first arrival (t=100) has left the window, so the record had lapsed
    // between 108 and 110; this message re-qualifies it, which the BMCA must hear about.
    let r = l.record(t(110), ann(s, 1, 3), cid(OWN), 255, 1).unwrap();
    assert!(r.qualified && r.bmca_relevant_change);
    // Same content while continuously qualified: nothing new for the BMCA.
    let r = l.record(t(112), ann(s, 1, 4), cid(OWN), 255, 1).unwrap();
    assert!(r.qualified && !r.bmca_relevant_change);
    // Changed content (priority2) while qualified: relevant.
    let mut a = ann(s, 1, 5);
    a.grandmaster_priority2 = 1;
    let r = l.record(t(113), a, cid(OWN), 255, 1).unwrap();
    assert!(r.qualified && r.bmca_relevant_change);
    // Silence: the record disqualifies once fewer than 2 arrivals lie in the window (112 + 8),
    // and is pruned once its last arrival (113) has left it.
    assert_eq!(l.qualified(t(120), 1).count(), 1);
    assert_eq!(l.qualified(t(121), 1).count(), 0);
    assert_eq!(l.prune(t(121), 1), 0);
    assert_eq!(l.prune(t(122), 1), 1);
    assert!(l.records().is_empty());
}

#[test]
fn foreign_master_announces_too_far_apart_do_not_qualify() {
    let mut l = ForeignMasterList::default();
    let s = pid(1, 1);
    l.record(t(0), ann(s, 1, 1), cid(OWN), 255, 1).unwrap();
    let r = l.record(t(9), ann(s, 1, 2), cid(OWN), 255, 1).unwrap();
    assert!(!r.qualified, "9 s apart with an 8 s window");
    let r = l.record(t(10), ann(s, 1, 3), cid(OWN), 255, 1).unwrap();
    assert!(r.qualified);
    // G.8275.1 rates: window = 4 × 125 ms.
    let mut g = ForeignMasterList::default();
    g.record(Instant(0), ann(s, 1, 1), cid(OWN), 255, -3)
        .unwrap();
    let r = g
        .record(Instant(500_000_001), ann(s, 1, 2), cid(OWN), 255, -3)
        .unwrap();
    assert!(!r.qualified);
}

#[test]
fn announce_rejections_9_3_2_5() {
    let mut l = ForeignMasterList::new(2);
    let s = pid(1, 1);
    // a) from this clock, whatever port.
    assert_eq!(
        l.record(t(0), ann(pid(OWN, 2), 1, 1), cid(OWN), 255, 1),
        Err(AnnounceRejected::FromOwnClock)
    );
    // d) stepsRemoved at the maximum.
    let mut far = ann(s, 1, 1);
    far.steps_removed = 255;
    assert_eq!(
        l.record(t(0), far, cid(OWN), 255, 1),
        Err(AnnounceRejected::StepsRemovedTooLarge(255))
    );
    far.steps_removed = 254;
    assert!(l.record(t(0), far, cid(OWN), 255, 1).is_ok());
    // b) only the most recent message: repeats and older sequence numbers are refused;
    // sequence numbers wrap.
    assert_eq!(
        l.record(t(1), ann(s, 1, 1), cid(OWN), 255, 1),
        Err(AnnounceRejected::NotMostRecent)
    );
    assert_eq!(
        l.record(t(1), ann(s, 1, 0), cid(OWN), 255, 1),
        Err(AnnounceRejected::NotMostRecent)
    );
    let mut w = ForeignMasterList::default();
    w.record(t(0), ann(s, 1, 65535), cid(OWN), 255, 1).unwrap();
    assert!(w.record(t(1), ann(s, 1, 0), cid(OWN), 255, 1).is_ok());
    // Capacity: a third live sender is refused, accepted once the others have aged out.
    l.record(t(1), ann(pid(2, 1), 2, 1), cid(OWN), 255, 1)
        .unwrap();
    assert_eq!(
        l.record(t(2), ann(pid(3, 1), 3, 1), cid(OWN), 255, 1),
        Err(AnnounceRejected::TableFull)
    );
    assert!(l
        .record(t(20), ann(pid(3, 1), 3, 1), cid(OWN), 255, 1)
        .is_ok());
}

#[test]
fn erbest_considers_only_qualified_records() {
    let mut l = ForeignMasterList::default();
    let good = pid(1, 1);
    let better = pid(0, 1);
    l.record(t(0), ann(good, 1, 1), cid(OWN), 255, 1).unwrap();
    l.record(t(2), ann(good, 1, 2), cid(OWN), 255, 1).unwrap();
    // A better GM heard once only.
    l.record(t(2), ann(better, 0, 1), cid(OWN), 255, 1).unwrap();
    let me = pid(OWN, 1);
    let e = l.erbest(t(3), 1, me, 128, DatasetComparison::Ieee1588);
    assert_eq!(e.map(|a| a.grandmaster_identity), Some(cid(1)));
    l.record(t(4), ann(better, 0, 2), cid(OWN), 255, 1).unwrap();
    let e = l.erbest(t(5), 1, me, 128, DatasetComparison::Ieee1588);
    assert_eq!(e.map(|a| a.grandmaster_identity), Some(cid(0)));
}

// ---------------------------------------------------------------------------------------------
// State decision

fn d0(class: u8, p1: u8) -> DefaultDs {
    let cfg = ClockConfig {
        priority1: p1,
        clock_quality: q(class, 0xFE, 0xFFFF),
        ..ClockConfig::default()
    };
    DefaultDs::new(&cfg, cid(OWN), 3)
}

fn port(n: u16, state: PortState, erbest: Option<AnnounceInfo>) -> PortInput {
    PortInput {
        identity: pid(OWN, n),
        state,
        master_only: false,
        local_priority: 128,
        erbest,
    }
}

/// GM `gm` heard through sender `sender` at `steps` from the GM.
fn via(gm: u8, sender: PortIdentity, steps: u16) -> AnnounceInfo {
    AnnounceInfo {
        steps_removed: steps,
        ..ann(sender, gm, 1)
    }
}

fn codes(sd: &StateDecision) -> Vec<(u16, DecisionCode, RecommendedState)> {
    sd.decisions
        .iter()
        .map(|d| (d.port_number, d.code, d.recommended))
        .collect()
}

use DecisionCode as C;
use PortState as S;
use RecommendedState as R;

#[test]
fn state_decision_figure_33_table() {
    let gm1 = via(1, pid(1, 1), 0);
    let gm1_class7 = AnnounceInfo {
        grandmaster_clock_quality: q(7, 0xFE, 0xFFFF),
        ..gm1
    };
    let gm1_class6 = AnnounceInfo {
        grandmaster_clock_quality: q(6, 0xFE, 0xFFFF),
        ..gm1
    };
    let gm2 = via(2, pid(2, 1), 0);
    let slave_only = DefaultDs {
        slave_only: true,
        clock_quality: q(255, 0xFE, 0xFFFF),
        ..d0(248, 0)
    };
    let not_gm_capable = DefaultDs {
        gm_capable: false,
        ..d0(248, 0)
    };
    let mut master_only_port = port(1, S::Listening, Some(gm1));
    master_only_port.master_only = true;
    // A BC's own announcements back through a neighbour: grandmasterIdentity is ours.
    let own_looped = via(OWN, pid(0x60, 1), 1);
    let own_looped_far = via(OWN, pid(0x40, 2), 3);

    type Row = (
        &'static str,
        DefaultDs,
        Vec<PortInput>,
        Vec<(u16, C, R)>,
        Option<usize>,
    );
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("M1: GM-class D0 beats Erbest", d0(6, 128),
            vec![port(1, S::Listening, Some(gm1_class7)), port(2, S::Master, None)],
            vec![(1, C::M1, R::GrandMaster), (2, C::M1, R::GrandMaster)], Some(0)),
        ("P1: GM-class D0 loses to Erbest on one port", d0(6, 128),
            vec![port(1, S::Master, Some(gm1_class6)), port(2, S::Master, None)],
            vec![(1, C::P1, R::Passive), (2, C::M1, R::GrandMaster)], Some(0)),
        ("M2: D0 beats Ebest", d0(248, 127),
            vec![port(1, S::Slave, Some(gm1)), port(2, S::Listening, Some(gm2))],
            vec![(1, C::M2, R::GrandMaster), (2, C::M2, R::GrandMaster)], Some(0)),
        ("M2: no foreign master at all, port not listening", d0(248, 128),
            vec![port(1, S::Master, None)],
            vec![(1, C::M2, R::GrandMaster)], None),
        ("S1: Ebest on this port", d0(248, 128),
            vec![port(1, S::Listening, Some(gm1))],
            vec![(1, C::S1, R::Slave)], Some(0)),
        ("S1 + M3: worse GM on the other port", d0(248, 128),
            vec![port(1, S::Listening, Some(gm2)), port(2, S::Listening, Some(gm1))],
            vec![(1, C::M3, R::Master), (2, C::S1, R::Slave)], Some(1)),
        ("M3: port with no Erbest, not listening", d0(248, 128),
            vec![port(1, S::Slave, Some(gm1)), port(2, S::Master, None)],
            vec![(1, C::S1, R::Slave), (2, C::M3, R::Master)], Some(0)),
        ("P2: same GM through a worse sender on the other port", d0(248, 128),
            vec![port(1, S::Slave, Some(via(1, pid(0x30, 1), 1))), port(2, S::Master, Some(via(1, pid(0x31, 1), 1)))],
            vec![(1, C::S1, R::Slave), (2, C::P2, R::Passive)], Some(0)),
        ("P2: same GM and sender heard on two ports, higher port number passive", d0(248, 128),
            vec![port(1, S::Slave, Some(via(1, pid(0x30, 1), 1))), port(2, S::Master, Some(via(1, pid(0x30, 1), 1)))],
            vec![(1, C::S1, R::Slave), (2, C::P2, R::Passive)], Some(0)),
        ("M3 not P2: same GM one step farther, receiver below sender (A better, not topo)", d0(248, 128),
            vec![port(1, S::Slave, Some(via(1, pid(0x30, 1), 1))), port(2, S::Master, Some(via(1, pid(0x60, 1), 2)))],
            vec![(1, C::S1, R::Slave), (2, C::M3, R::Master)], Some(0)),
        ("P2: same GM one step farther, receiver above sender", d0(248, 128),
            vec![port(1, S::Slave, Some(via(1, pid(0x30, 1), 1))), port(2, S::Master, Some(via(1, pid(0x40, 1), 2)))],
            vec![(1, C::S1, R::Slave), (2, C::P2, R::Passive)], Some(0)),
        ("LISTENING without Erbest: no decision", d0(248, 128),
            vec![port(1, S::Listening, Some(gm1)), port(2, S::Listening, None)],
            vec![(1, C::S1, R::Slave)], Some(0)),
        ("FAULTY/DISABLED/INITIALIZING ports take no part", d0(248, 128),
            vec![port(1, S::Faulty, Some(gm1)), port(2, S::Disabled, Some(gm1)), port(3, S::Initializing, Some(gm1))],
            vec![], None),
        ("Erbest naming this clock as GM (looped back): D0 wins by topology, M2", d0(248, 128),
            vec![port(1, S::Passive, Some(own_looped)), port(2, S::Master, Some(own_looped_far))],
            vec![(1, C::M2, R::GrandMaster), (2, C::M2, R::GrandMaster)], Some(0)),
        ("slaveOnly: S1 even with priority1 0, others M3", slave_only,
            vec![port(1, S::Listening, Some(gm2)), port(2, S::Uncalibrated, Some(gm1))],
            vec![(1, C::M3, R::Master), (2, C::S1, R::Slave)], Some(1)),
        ("slaveOnly: nothing heard, no decision", slave_only,
            vec![port(1, S::Slave, None)],
            vec![], None),
        ("gmCapable 0: follows Ebest although D0 is better", not_gm_capable,
            vec![port(1, S::Listening, Some(gm1))],
            vec![(1, C::S1, R::Slave)], Some(0)),
        ("gmCapable 0: nothing heard, no decision", not_gm_capable,
            vec![port(1, S::Master, None)],
            vec![], None),
        ("masterOnly port's Erbest is not Ebest", d0(248, 128),
            vec![master_only_port, port(2, S::Listening, Some(gm2))],
            vec![(1, C::M3, R::Master), (2, C::S1, R::Slave)], Some(1)),
        ("masterOnly port where it would be PASSIVE (P2): MASTER (M3)", d0(248, 128),
            vec![PortInput { erbest: Some(via(1, pid(5, 1), 1)), ..master_only_port }, port(2, S::Listening, Some(gm1))],
            vec![(1, C::M3, R::Master), (2, C::S1, R::Slave)], Some(1)),
        ("masterOnly port of a class-7 GM facing a class-6 GM (P1): MASTER (M1)", d0(7, 128),
            vec![PortInput { erbest: Some(gm1_class6), ..master_only_port }],
            vec![(1, C::M1, R::GrandMaster)], None),
    ];
    for (name, d, ports, want, want_ebest) in rows {
        let sd = state_decision(&d, DatasetComparison::Ieee1588, &ports);
        assert_eq!(codes(&sd), want, "{name}");
        assert_eq!(sd.ebest_index, want_ebest, "{name}: Ebest");
    }
}

#[test]
fn state_decision_g8275_uses_local_priority() {
    // Two T-GMs of equal class seen on two ports; the port with the lower localPriority wins.
    let gm_a = AnnounceInfo {
        grandmaster_clock_quality: q(6, 0x21, 0x4E5D),
        ..via(1, pid(1, 1), 0)
    };
    let gm_b = AnnounceInfo {
        grandmaster_clock_quality: q(6, 0x21, 0x4E5D),
        ..via(2, pid(2, 1), 0)
    };
    let d = DefaultDs {
        priority1: 128,
        clock_quality: q(248, 0xFE, 0xFFFF),
        ..d0(248, 128)
    };
    let mut p1 = port(1, S::Listening, Some(gm_a));
    let mut p2 = port(2, S::Listening, Some(gm_b));
    p1.local_priority = 200;
    p2.local_priority = 100;
    let sd = state_decision(&d, DatasetComparison::G8275, &[p1, p2]);
    assert_eq!(
        codes(&sd),
        vec![(1, C::M3, R::Master), (2, C::S1, R::Slave)]
    );
    // The IEEE comparison ignores localPriority: the lower GM identity wins.
    let sd = state_decision(&d, DatasetComparison::Ieee1588, &[p1, p2]);
    assert_eq!(
        codes(&sd),
        vec![(1, C::S1, R::Slave), (2, C::M3, R::Master)]
    );
}

#[test]
fn data_set_updates_tables_30_and_33() {
    let d = d0(248, 128);
    let local = TimePropertiesDs::own(&ClockConfig::default());
    let mut cur = CurrentDs::default();
    let mut par = ParentDs::own(&d);
    let mut tp = local;
    let mut a = via(1, pid(0x30, 4), 2);
    a.grandmaster_priority1 = 100;
    a.grandmaster_priority2 = 90;
    a.current_utc_offset = 37;
    a.time_source = 0x20;
    a.flags = TimeFlags::from_octet(0x3C);

    // S1 (Table 33).
    let changed = apply_update(
        &DataSetUpdate::FromMaster(a),
        &d,
        &local,
        &mut cur,
        &mut par,
        &mut tp,
    );
    assert!(changed);
    assert_eq!(cur.steps_removed, 3);
    assert_eq!(par.parent_port_identity, pid(0x30, 4));
    assert_eq!(par.grandmaster_identity, cid(1));
    assert_eq!(
        (par.grandmaster_priority1, par.grandmaster_priority2),
        (100, 90)
    );
    assert_eq!(par.grandmaster_clock_quality, Q);
    assert!(tp.current_utc_offset_valid && tp.ptp_timescale && tp.time_traceable);
    assert_eq!((tp.current_utc_offset, tp.time_source), (37, 0x20));
    // The same master again: no parent change.
    assert!(!apply_update(
        &DataSetUpdate::FromMaster(a),
        &d,
        &local,
        &mut cur,
        &mut par,
        &mut tp
    ));
    // M3/P2 (Tables 31, 32): nothing changes.
    cur.offset_from_master = 42;
    assert!(!apply_update(
        &DataSetUpdate::Unchanged,
        &d,
        &local,
        &mut cur,
        &mut par,
        &mut tp
    ));
    assert_eq!(cur.offset_from_master, 42);
    assert_eq!(cur.steps_removed, 3);
    // M1/M2 (Table 30): back to our own grandmaster.
    assert!(apply_update(
        &DataSetUpdate::OwnGrandmaster,
        &d,
        &local,
        &mut cur,
        &mut par,
        &mut tp
    ));
    assert_eq!(cur, CurrentDs::default());
    assert_eq!(par, ParentDs::own(&d));
    assert_eq!(tp, local);
}

#[test]
fn state_decision_reports_the_update() {
    let gm1 = via(1, pid(1, 1), 4);
    let sd = state_decision(
        &d0(248, 128),
        DatasetComparison::Ieee1588,
        &[port(1, S::Listening, Some(gm1))],
    );
    assert_eq!(sd.update, DataSetUpdate::FromMaster(gm1));
    let sd = state_decision(
        &d0(248, 1),
        DatasetComparison::Ieee1588,
        &[port(1, S::Listening, Some(gm1))],
    );
    assert_eq!(sd.update, DataSetUpdate::OwnGrandmaster);
}
