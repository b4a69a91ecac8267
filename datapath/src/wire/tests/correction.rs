//! In-place correctionField addition with incremental UDP checksum fix-up, on every framing.

use super::frames::{l2_frame, l2_vlan_frame, udp4_frame, udp4_qinq_frame, udp6_frame};
use super::*;
use crate::wire::frame::{self, FrameRepr};

fn frames() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("l2", l2_frame()),
        ("l2 vlan", l2_vlan_frame()),
        ("udp4", udp4_frame()),
        ("udp6", udp6_frame()),
        ("udp4 802.1ad", udp4_qinq_frame()),
    ]
}

/// After each addition the field holds the sum, the checksum verifies, and the frame equals a
/// full re-emission of the corrected message (so the incremental update equals a recompute).
#[test]
fn add_positive_and_negative_on_every_framing() {
    let deltas = [
        TimeInterval::from_nanos(68_000).unwrap(),
        TimeInterval(-1),
        TimeInterval(-0x7fff_ffff_ffff),
        TimeInterval(0x1_0001),
        TimeInterval::from_nanos(-3).unwrap(),
    ];
    for (name, original) in frames() {
        let mut b = original.clone();
        let mut expect = 0i64;
        for d in deltas {
            frame::add_correction(&mut b, d).unwrap();
            expect += d.0;
            let f = frame::parse(&b).unwrap();
            f.verify_udp_checksum(&b)
                .unwrap_or_else(|e| panic!("{name}: {e} after adding {d}"));
            let m = Message::new_checked(f.payload(&b)).unwrap();
            assert_eq!(m.correction_field(), TimeInterval(expect), "{name}");
            // Everything but correctionField and the UDP checksum is untouched.
            let mut fresh = FrameRepr::parse(&original).unwrap();
            fresh.message.header.correction = TimeInterval(expect);
            let full = fresh.emit().unwrap();
            if let Some(c) = f.udp_checksum_at {
                let ours = u16::from_be_bytes([b[c], b[c + 1]]);
                let theirs = u16::from_be_bytes([full[c], full[c + 1]]);
                // 0x0000 and 0xffff are the same one's-complement value.
                assert!(ours == theirs || (ours | theirs) == 0xffff, "{name}");
                let mut a = b.clone();
                a[c..c + 2].copy_from_slice(&full[c..c + 2]);
                assert_eq!(a, full, "{name}");
            } else {
                assert_eq!(b, full, "{name}");
            }
        }
    }
}

#[test]
fn negative_correction_bytes() {
    let mut b = l2_frame();
    frame::add_correction(&mut b, TimeInterval(-0x2_8000)).unwrap();
    assert_eq!(
        &b[14 + 8..14 + 16],
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 0x80, 0x00]
    );
}

#[test]
fn ipv4_without_checksum_stays_without() {
    let mut b = udp4_frame();
    b[40..42].copy_from_slice(&[0, 0]);
    frame::add_correction(&mut b, TimeInterval::from_nanos(1000).unwrap()).unwrap();
    assert_eq!(&b[40..42], &[0, 0]);
    frame::parse(&b).unwrap().verify_udp_checksum(&b).unwrap();
}

#[test]
fn overflow_and_truncation_are_errors_and_leave_the_frame() {
    let mut b = udp4_frame();
    b[42 + 8..42 + 16].copy_from_slice(&i64::MAX.to_be_bytes());
    let before = b.clone();
    assert_eq!(
        frame::add_correction(&mut b, TimeInterval(1)),
        Err(WireError::CorrectionOverflow)
    );
    assert_eq!(b, before);
    let mut short = l2_frame();
    short.truncate(14 + 10);
    assert!(matches!(
        frame::add_correction(&mut short, TimeInterval(1)),
        Err(WireError::Truncated {
            what: "correctionField",
            ..
        })
    ));
}
