//! Test layer 2, without root or tshark: the committed captures of real ptp4l 3.1.1 traffic
//! (`tests/fixtures`, L2 E2E/P2P, UDPv4, UDPv6, with pmc Management over the wire) parse and
//! re-emit byte for byte, and `xptp decode --json` agrees field by field with the tshark tables
//! committed next to them.

use std::collections::BTreeSet;

use xptp_control::decode::{decode_file, Format};
use xptp_datapath::wire::{MessageType, TlvRepr};
use xptp_tests::fixtures::{capture_path, fixture_frames, FieldsTable, PTP4L_FIXTURES};
use xptp_tests::golden::{compare_with_tshark, roundtrip, split_decode_json};

#[test]
fn every_fixture_frame_parses_and_reemits_byte_identically() {
    let mut total = 0;
    for name in PTP4L_FIXTURES {
        let frames = fixture_frames(name).unwrap();
        assert!(frames.len() > 50, "{name}: only {} frames", frames.len());
        let mut types = BTreeSet::new();
        let mut management_tlvs = 0;
        for (i, f) in frames.iter().enumerate() {
            let repr = roundtrip(&f.data).unwrap_or_else(|e| panic!("{name} frame {}: {e}", i + 1));
            let t = repr.message.message_type();
            types.insert(t);
            if t == MessageType::Management {
                // pmc's GETs and ptp4l's RESPONSEs carry a MANAGEMENT TLV the codec understands.
                assert!(
                    matches!(repr.message.tlvs.first(), Some(TlvRepr::Management(_))),
                    "{name} frame {}: {:?}",
                    i + 1,
                    repr.message.tlvs
                );
                management_tlvs += 1;
            }
            total += 1;
        }
        for t in [
            MessageType::Sync,
            MessageType::FollowUp,
            MessageType::Announce,
            MessageType::Management,
        ] {
            assert!(types.contains(&t), "{name} has no {t}");
        }
        assert!(management_tlvs >= 2, "{name}: {management_tlvs} Management");
    }
    eprintln!("{total} fixture frames round-tripped");
}

#[test]
fn decode_json_agrees_with_the_committed_tshark_tables() {
    for name in PTP4L_FIXTURES {
        let mut out = Vec::new();
        let summary = decode_file(&capture_path(name), Format::Json, &mut out).unwrap();
        let (decoded, json_summary) = split_decode_json(&String::from_utf8(out).unwrap()).unwrap();
        assert_eq!(summary.malformed, 0, "{name}: {summary:?}");
        assert_eq!(summary.non_ptp, 0, "{name}: {summary:?}");
        assert_eq!(json_summary["malformed"], 0, "{name}");
        assert_eq!(json_summary["ptp"], decoded.len(), "{name}");

        let table = FieldsTable::fixture(name).unwrap();
        let c = compare_with_tshark(&decoded, &table);
        assert!(
            c.mismatches.is_empty(),
            "{name}: {} disagreements with tshark:\n{}",
            c.mismatches.len(),
            c.mismatches.join("\n")
        );
        assert_eq!(c.frames, table.rows.len(), "{name}");
        // At least messageType, sequenceId, domain, sourcePortIdentity, correction, flags and
        // logMessageInterval per frame, plus the bodies.
        assert!(c.fields > 7 * c.frames, "{name}: only {} fields", c.fields);
        eprintln!("{name}: {} frames, {} fields agree", c.frames, c.fields);
    }
}
