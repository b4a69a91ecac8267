//! Test layer 2, emitted side: every frame the codec builds — each message type, with the TLVs
//! xptp sends (PATH_TRACE, the C37.238 ORGANIZATION_EXTENSION, MANAGEMENT data sets,
//! MANAGEMENT_ERROR_STATUS), over each framing (L2, L2 + 802.1Q, UDPv4, UDPv6) — passes
//! Wireshark's dissectors with no malformed frame and no error (checksum validation on), and
//! tshark reads back the values xptp decodes. Positive controls prove the check can fail.
//! Needs tshark, not root.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use xptp_control::decode::{decode_file, Format};
use xptp_datapath::wire::frame::{self, Transport, VlanTag};
use xptp_datapath::wire::tlv::management::{
    self, id as mgmt, CurrentDataSet, DefaultDataSet, ManagementData, ManagementErrorStatusTlv,
    ManagementTlv, ParentDataSet, PortDataSet, TimePropertiesDataSet,
};
use xptp_datapath::wire::tlv::{tlv_type, OrganizationExtensionTlv, PtpText, C37_238_OUI};
use xptp_datapath::wire::{
    AnnounceBody, Body, ClockIdentity, ClockQuality, FlagField, HeaderRepr, ManagementAction,
    ManagementBody, MessageRepr, MessageType, PortIdentity, TimeInterval, Timestamp, TlvRepr,
};
use xptp_tests::fixtures::{write_pcap, FieldsTable};
use xptp_tests::golden::{compare_with_tshark, roundtrip, split_decode_json};
use xptp_tests::tshark::{self, CHECKSUM_PREFS, FIXTURE_FIELDS};

const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];
const GM: ClockIdentity = ClockIdentity([0x02, 0x00, 0x5e, 0xff, 0xfe, 0x10, 0x20, 0x30]);
const OTHER: ClockIdentity = ClockIdentity([0xec, 0x46, 0x70, 0xff, 0xfe, 0x00, 0x11, 0x22]);

fn me() -> PortIdentity {
    PortIdentity::new(GM, 1)
}

fn ts(seconds: u64, nanoseconds: u32) -> Timestamp {
    Timestamp {
        seconds,
        nanoseconds,
    }
}

fn quality() -> ClockQuality {
    ClockQuality {
        clock_class: 6,
        clock_accuracy: 0x21,
        offset_scaled_log_variance: 0x4e5d,
    }
}

/// C37.238-2011 profile TLV (ORGANIZATION_EXTENSION, OUI 1C-12-9D, subtype 1):
/// grandmasterID, grandmasterTimeInaccuracy, networkTimeInaccuracy, 2 reserved octets.
fn c37_238_2011(gm_id: u16, gm_inacc: u32, net_inacc: u32) -> TlvRepr {
    let mut data = gm_id.to_be_bytes().to_vec();
    data.extend_from_slice(&gm_inacc.to_be_bytes());
    data.extend_from_slice(&net_inacc.to_be_bytes());
    data.extend_from_slice(&[0, 0]);
    TlvRepr::OrganizationExtension(OrganizationExtensionTlv {
        tlv_type: tlv_type::ORGANIZATION_EXTENSION,
        organization_id: C37_238_OUI,
        organization_sub_type: [0, 0, 1],
        data,
    })
}

fn mgmt_msg(action: ManagementAction, tlv: TlvRepr) -> (HeaderRepr, Body, Vec<TlvRepr>) {
    let body = Body::Management(ManagementBody {
        target_port_identity: PortIdentity::new(ClockIdentity([0xff; 8]), 0xffff),
        starting_boundary_hops: 1,
        boundary_hops: 1,
        action,
    });
    let h = HeaderRepr {
        log_message_interval: 0x7f,
        ..HeaderRepr::default()
    };
    (h, body, vec![tlv])
}

fn response(data: ManagementData, management_id: u16) -> (HeaderRepr, Body, Vec<TlvRepr>) {
    mgmt_msg(
        ManagementAction::Response,
        TlvRepr::Management(ManagementTlv {
            management_id,
            data,
        }),
    )
}

/// One message of every kind xptp sends, with distinct, non-trivial field values.
fn messages() -> Vec<MessageRepr> {
    let two_step = FlagField::default().with(FlagField::TWO_STEP, true);
    let announce_flags = FlagField::default()
        .with(FlagField::PTP_TIMESCALE, true)
        .with(FlagField::CURRENT_UTC_OFFSET_VALID, true)
        .with(FlagField::TIME_TRACEABLE, true);
    let req = PortIdentity::new(OTHER, 2);
    let announce = |tlvs: Vec<TlvRepr>| -> (HeaderRepr, Body, Vec<TlvRepr>) {
        (
            HeaderRepr {
                flags: announce_flags,
                log_message_interval: 0,
                ..HeaderRepr::default()
            },
            Body::Announce(AnnounceBody {
                origin_timestamp: ts(0, 0),
                current_utc_offset: 37,
                grandmaster_priority1: 128,
                grandmaster_clock_quality: quality(),
                grandmaster_priority2: 127,
                grandmaster_identity: GM,
                steps_removed: 1,
                time_source: 0x20,
            }),
            tlvs,
        )
    };
    let h = |flags: FlagField, correction: i64, log: i8| HeaderRepr {
        flags,
        correction: TimeInterval(correction),
        log_message_interval: log,
        ..HeaderRepr::default()
    };
    let list: Vec<(HeaderRepr, Body, Vec<TlvRepr>)> = vec![
        (
            // 1.5 ns of correction.
            h(two_step, 0x1_8000, -3),
            Body::Sync {
                origin_timestamp: ts(0, 0),
            },
            vec![],
        ),
        (
            // A negative correction (-2.25 ns): tshark's ns/sub-ns split must agree.
            h(FlagField::default(), -0x2_4000, 0x7f),
            Body::DelayReq {
                origin_timestamp: ts(1_700_000_000, 123_456_789),
            },
            vec![],
        ),
        (
            h(FlagField::default(), 0, 0x7f),
            Body::PdelayReq {
                origin_timestamp: ts(1_700_000_001, 999_999_999),
            },
            vec![],
        ),
        (
            h(two_step, 0x7_0000_0001, 0x7f),
            Body::PdelayResp {
                request_receipt_timestamp: ts(1_700_000_002, 1),
                requesting_port_identity: req,
            },
            vec![],
        ),
        (
            h(FlagField::default(), 12_345 << 16, -3),
            Body::FollowUp {
                precise_origin_timestamp: ts(0xffff_ffff_ffff, 500_000_000),
            },
            vec![],
        ),
        (
            h(FlagField::default(), 0, -4),
            Body::DelayResp {
                receive_timestamp: ts(1_700_000_003, 42),
                requesting_port_identity: req,
            },
            vec![],
        ),
        (
            h(FlagField::default(), 68_000 << 16, 0x7f),
            Body::PdelayRespFollowUp {
                response_origin_timestamp: ts(1_700_000_004, 314_159_265),
                requesting_port_identity: req,
            },
            vec![],
        ),
        announce(vec![
            TlvRepr::PathTrace(vec![GM, OTHER]),
            c37_238_2011(3, 50, 200),
        ]),
        announce(vec![]),
        (
            h(FlagField::default(), 0, 0x7f),
            Body::Signaling {
                target_port_identity: PortIdentity::new(ClockIdentity([0xff; 8]), 0xffff),
            },
            // REQUEST_UNICAST_TRANSMISSION (16.1.4.1): Announce, logInterMessagePeriod 1, 300 s.
            vec![TlvRepr::Unknown {
                tlv_type: tlv_type::REQUEST_UNICAST_TRANSMISSION,
                value: vec![0xb0, 0x01, 0x00, 0x00, 0x01, 0x2c],
            }],
        ),
        mgmt_msg(
            ManagementAction::Get,
            TlvRepr::Management(ManagementTlv {
                management_id: mgmt::DEFAULT_DATA_SET,
                data: ManagementData::Empty,
            }),
        ),
        response(
            ManagementData::DefaultDataSet(DefaultDataSet {
                two_step: true,
                slave_only: false,
                number_ports: 1,
                priority1: 128,
                clock_quality: quality(),
                priority2: 127,
                clock_identity: GM,
                domain_number: 0,
            }),
            mgmt::DEFAULT_DATA_SET,
        ),
        response(
            ManagementData::CurrentDataSet(CurrentDataSet {
                steps_removed: 1,
                offset_from_master: TimeInterval(-(1_234 << 16)),
                mean_path_delay: TimeInterval(5_678 << 16 | 0x8000),
            }),
            mgmt::CURRENT_DATA_SET,
        ),
        response(
            ManagementData::ParentDataSet(ParentDataSet {
                parent_port_identity: req,
                parent_stats: false,
                observed_parent_offset_scaled_log_variance: 0xffff,
                observed_parent_clock_phase_change_rate: 0x7fff_ffff,
                grandmaster_priority1: 128,
                grandmaster_clock_quality: quality(),
                grandmaster_priority2: 127,
                grandmaster_identity: OTHER,
            }),
            mgmt::PARENT_DATA_SET,
        ),
        response(
            ManagementData::TimePropertiesDataSet(TimePropertiesDataSet {
                current_utc_offset: 37,
                leap61: false,
                leap59: false,
                current_utc_offset_valid: true,
                ptp_timescale: true,
                time_traceable: true,
                frequency_traceable: true,
                time_source: 0x20,
            }),
            mgmt::TIME_PROPERTIES_DATA_SET,
        ),
        response(
            ManagementData::PortDataSet(PortDataSet {
                port_identity: me(),
                port_state: 6,
                log_min_delay_req_interval: 0,
                peer_mean_path_delay: TimeInterval(0),
                log_announce_interval: 1,
                announce_receipt_timeout: 3,
                log_sync_interval: 0,
                delay_mechanism: 1,
                log_min_pdelay_req_interval: 0,
                version_number: 0x12,
            }),
            mgmt::PORT_DATA_SET,
        ),
        response(ManagementData::Priority1(100), mgmt::PRIORITY1),
        response(ManagementData::Domain(24), mgmt::DOMAIN),
        mgmt_msg(
            ManagementAction::Response,
            TlvRepr::ManagementErrorStatus(ManagementErrorStatusTlv {
                management_error_id: management::error_id::NOT_SUPPORTED,
                management_id: mgmt::TIME,
                display_data: Some(PtpText::new("not supported").unwrap()),
            }),
        ),
    ];
    list.into_iter()
        .map(|(mut header, body, tlvs)| {
            header.source_port_identity = me();
            header.domain_number = 0;
            MessageRepr { header, body, tlvs }
        })
        .collect()
}

/// The four framings, for a message of type `t`.
fn framings(t: MessageType) -> [(&'static str, Transport); 4] {
    [
        ("L2", Transport::l2_multicast(MAC, t)),
        (
            "L2+802.1Q",
            Transport::l2_multicast(MAC, t).with_vlan(VlanTag::dot1q(100, 4)),
        ),
        (
            "UDPv4",
            Transport::udp4_multicast(MAC, Ipv4Addr::new(10, 0, 0, 1), t),
        ),
        (
            "UDPv6",
            Transport::udp6_multicast(MAC, "fd00::1".parse::<Ipv6Addr>().unwrap(), t),
        ),
    ]
}

/// Every message on every framing, each with its own sequenceId (the frame's index) so a
/// misread frame cannot pass as another. Returns (description, frame).
fn all_frames() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for m in messages() {
        for (name, t) in framings(m.message_type()) {
            let mut m = m.clone();
            m.header.sequence_id = 1000 + out.len() as u16;
            let desc = format!("{} over {name}", m.message_type());
            let bytes = frame::build(&t, &m).unwrap_or_else(|e| panic!("{desc}: {e}"));
            out.push((desc, bytes));
        }
    }
    out
}

fn write(dir: &Path, name: &str, frames: &[Vec<u8>]) -> std::path::PathBuf {
    let p = dir.join(name);
    write_pcap(&p, frames).unwrap();
    p
}

#[test]
fn every_emitted_frame_passes_the_wireshark_dissector() {
    let frames = all_frames();
    let types: std::collections::BTreeSet<_> =
        messages().iter().map(|m| m.message_type()).collect();
    assert_eq!(
        types.len(),
        MessageType::ALL.len(),
        "a message type is missing"
    );
    // Our own codec reads each one back exactly.
    for (desc, f) in &frames {
        roundtrip(f).unwrap_or_else(|e| panic!("{desc}: {e}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<Vec<u8>> = frames.iter().map(|(_, f)| f.clone()).collect();
    let pcap = write(dir.path(), "emitted.pcap", &bytes);

    let errors = tshark::dissector_errors_with(&pcap, CHECKSUM_PREFS).unwrap();
    assert!(
        errors.is_empty(),
        "tshark flags {} emitted frames:\n{}\n(frame N = {:?}...)",
        errors.len(),
        errors.join("\n"),
        frames.iter().map(|(d, _)| d).take(4).collect::<Vec<_>>()
    );

    // tshark decodes every frame as the PTP message we built: same messageType and sequenceId
    // (and, via the decoder comparison, every other header and body field).
    let rows = tshark::fields(&pcap, &["ptp.v2.messagetype", "ptp.v2.sequenceid"]).unwrap();
    assert_eq!(rows.len(), frames.len());
    for (i, ((desc, f), row)) in frames.iter().zip(&rows).enumerate() {
        let m = roundtrip(f).unwrap().message;
        assert_eq!(
            row[0],
            format!("0x{:02x}", m.message_type() as u8),
            "frame {} ({desc})",
            i + 1
        );
        assert_eq!(
            row[1],
            m.header.sequence_id.to_string(),
            "frame {} ({desc})",
            i + 1
        );
    }

    let table = FieldsTable {
        columns: FIXTURE_FIELDS.iter().map(|s| (*s).to_owned()).collect(),
        rows: tshark::fields_filtered(&pcap, Some("ptp"), FIXTURE_FIELDS).unwrap(),
    };
    let mut out = Vec::new();
    let summary = decode_file(&pcap, Format::Json, &mut out).unwrap();
    assert_eq!(summary.ptp as usize, frames.len(), "{summary:?}");
    let (decoded, _) = split_decode_json(&String::from_utf8(out).unwrap()).unwrap();
    let c = compare_with_tshark(&decoded, &table);
    assert!(
        c.mismatches.is_empty(),
        "{} disagreements with tshark:\n{}",
        c.mismatches.len(),
        c.mismatches.join("\n")
    );
    eprintln!(
        "{} frames ({} message kinds x 4 framings) clean in tshark; {} fields agree",
        frames.len(),
        messages().len(),
        c.fields
    );
}

#[test]
fn tshark_reads_the_announce_tlvs_and_the_management_data() {
    // Beyond "not malformed": the dissector finds the TLVs where we put them.
    let frames: Vec<Vec<u8>> = all_frames()
        .into_iter()
        .filter(|(d, _)| d.ends_with("over L2"))
        .map(|(_, f)| f)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let pcap = write(dir.path(), "l2.pcap", &frames);
    let text = std::process::Command::new("tshark")
        .args(["-n", "-V", "-r"])
        .arg(&pcap)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    // What Wireshark's decode of each TLV says (tshark 4.0 wording).
    for needle in [
        "PathSequence: 0x02005efffe102030",
        "PathSequence: 0xec4670fffe001122",
        "organizationSubType: IEEE_C37_238 TLV (0x000001)",
        "grandmasterID: 3",
        "grandmasterTimeInaccuracy (nanoseconds): 50",
        "networkTimeInaccuracy (nanoseconds): 200",
        "tlvType: Request unicast transmission (4)",
        "durationField: 300 seconds",
        "managementId: DEFAULT_DATA_SET (8192)",
        "Clock variance: 20061",
        "Offset from Master: -1234.000000 nanoseconds",
        "Mean path delay: 5678.500000 nanoseconds",
        "observedParentClockPhaseChangeRate: 2147483647",
        "Grandmaster clock identity: 0xec4670fffe001122",
        "Frequency traceable: True",
        "Port state: MASTER (6)",
        "announceReceiptTimeout: 3",
        "priority1: 100",
        "domain number: 24",
        "managementErrorId: NOT_SUPPORTED (6)",
        "managementId: TIME (8207)",
        "Display data: not supported",
    ] {
        assert!(text.contains(needle), "tshark -V output has no {needle:?}");
    }
}

#[test]
fn positive_controls_truncated_frame_and_bad_udp_checksum_are_flagged() {
    let frames = all_frames();
    let dir = tempfile::tempdir().unwrap();
    let find = |desc: &str| {
        frames
            .iter()
            .find(|(d, _)| d == desc)
            .map(|(_, f)| f.clone())
            .unwrap()
    };

    // A Sync cut 10 octets into its body: the PTP dissector reports it malformed.
    let mut cut = find("Sync over L2");
    cut.truncate(14 + 34 + 4);
    let p = write(dir.path(), "truncated.pcap", &[cut]);
    let errs = tshark::dissector_errors(&p).unwrap();
    assert_eq!(errs.len(), 1, "{errs:?}");

    // A UDPv4 frame whose checksum is off by one: flagged only with checksum validation on,
    // which is how every emitted frame above was checked.
    let mut bad = find("Delay_Req over UDPv4");
    let f = frame::parse(&bad).unwrap();
    let at = f.udp_checksum_at.unwrap();
    bad[at + 1] ^= 0x01;
    let mut bad6 = find("Announce over UDPv6");
    let at6 = frame::parse(&bad6).unwrap().udp_checksum_at.unwrap();
    bad6[at6] ^= 0x80;
    let p = write(dir.path(), "badsum.pcap", &[bad, bad6]);
    assert_eq!(
        tshark::dissector_errors(&p).unwrap(),
        Vec::<String>::new(),
        "without validation tshark does not look at UDP checksums"
    );
    let errs = tshark::dissector_errors_with(&p, CHECKSUM_PREFS).unwrap();
    assert_eq!(errs.len(), 2, "{errs:?}");
}
