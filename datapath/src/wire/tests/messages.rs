//! One byte table per message type (IEEE 1588-2019 Tables 35, 43–50, 56): parse, view,
//! emit, round trip.

use super::*;

fn check(bytes: &[u8], expect: &MessageRepr) {
    let parsed = MessageRepr::parse(bytes).unwrap();
    assert_eq!(&parsed, expect);
    assert_eq!(expect.buffer_len(), bytes.len());
    assert_eq!(expect.to_vec().unwrap(), bytes);
    let mut buf = vec![0u8; bytes.len()];
    assert_eq!(expect.emit(&mut buf).unwrap(), bytes.len());
    assert_eq!(buf, bytes);
    // The view agrees with the Repr.
    let v = Message::new_checked(bytes).unwrap();
    assert_eq!(v.message_type(), expect.message_type());
    assert_eq!(v.sequence_id(), expect.header.sequence_id);
    assert_eq!(v.correction_field(), expect.header.correction);
    assert_eq!(v.flags(), expect.header.flags);
    assert_eq!(v.domain_number(), expect.header.domain_number);
    assert_eq!(v.source_port_identity(), expect.header.source_port_identity);
    assert_eq!(v.timestamp(), expect.body.timestamp());
    assert_eq!(
        v.requesting_port_identity(),
        expect.body.requesting_port_identity()
    );
    assert_eq!(usize::from(v.message_length()), bytes.len());
}

fn hdr(seq: u16) -> HeaderRepr {
    HeaderRepr {
        source_port_identity: port(1),
        sequence_id: seq,
        ..HeaderRepr::default()
    }
}

const TS: [u8; 10] = [0x00, 0x00, 0x65, 0x00, 0x00, 0x01, 0x3b, 0x9a, 0xc9, 0xff];
fn ts() -> Timestamp {
    Timestamp {
        seconds: 0x6500_0001,
        nanoseconds: 999_999_999,
    }
}
const SRC: [u8; 10] = [0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, 0x00, 0x01];
const REQ: [u8; 10] = [0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, 0x00, 0x02];

#[test]
fn sync_two_step_with_correction() {
    let bytes = cat(&[
        &[0x10, 0x12, 0x00, 0x2c], // majorSdoId 1 | Sync, minor 1 | v2, length 44
        &[0x18, 0x00, 0x02, 0x08], // domain 24, minorSdoId 0, twoStep | ptpTimescale
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 0x80, 0x00], // correction -2.5 ns
        &[0, 0, 0, 0],             // messageTypeSpecific
        &SRC,
        &[0x12, 0x34, 0x00, 0xfd], // sequenceId, controlField Sync, logMessageInterval -3
        &TS,
    ]);
    let mut h = hdr(0x1234);
    h.major_sdo_id = 1;
    h.domain_number = 24;
    h.flags = FlagField(FlagField::TWO_STEP | FlagField::PTP_TIMESCALE);
    h.correction = TimeInterval(-0x2_8000);
    h.log_message_interval = -3;
    let m = MessageRepr::new(
        h,
        Body::Sync {
            origin_timestamp: ts(),
        },
    );
    check(&bytes, &m);
    assert!(m.header.flags.two_step() && m.header.flags.ptp_timescale());
    assert_eq!(m.header.correction.to_string(), "-2.5");
}

#[test]
fn delay_req() {
    let bytes = cat(&[
        &[0x01, 0x12, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00],
        &[0; 8],
        &[0; 4],
        &SRC,
        &[0x00, 0x05, 0x01, 0x7f],
        &TS,
    ]);
    let mut h = hdr(5);
    h.log_message_interval = 0x7f;
    check(
        &bytes,
        &MessageRepr::new(
            h,
            Body::DelayReq {
                origin_timestamp: ts(),
            },
        ),
    );
}

#[test]
fn pdelay_req_reserved_octets() {
    let bytes = cat(&[
        &[0x02, 0x12, 0x00, 0x36, 0x00, 0x00, 0x00, 0x00],
        &[0; 8],
        &[0; 4],
        &SRC,
        &[0x00, 0x06, 0x05, 0x00],
        &TS,
        &[0; 10],
    ]);
    let mut h = hdr(6);
    h.log_message_interval = 0;
    check(
        &bytes,
        &MessageRepr::new(
            h,
            Body::PdelayReq {
                origin_timestamp: ts(),
            },
        ),
    );
}

#[test]
fn pdelay_resp() {
    let bytes = cat(&[
        &[0x03, 0x12, 0x00, 0x36, 0x00, 0x00, 0x02, 0x00],
        &[0; 8],
        &[0; 4],
        &SRC,
        &[0x00, 0x06, 0x05, 0x7f],
        &TS,
        &REQ,
    ]);
    let mut h = hdr(6);
    h.flags = FlagField(FlagField::TWO_STEP);
    check(
        &bytes,
        &MessageRepr::new(
            h,
            Body::PdelayResp {
                request_receipt_timestamp: ts(),
                requesting_port_identity: port(2),
            },
        ),
    );
}

#[test]
fn follow_up() {
    let bytes = cat(&[
        &[0x08, 0x12, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00],
        &[0, 0, 0, 0, 0, 0x01, 0x00, 0x00], // 1 ns
        &[0; 4],
        &SRC,
        &[0x12, 0x34, 0x02, 0x00],
        &TS,
    ]);
    let mut h = hdr(0x1234);
    h.correction = TimeInterval::from_nanos(1).unwrap();
    h.log_message_interval = 0;
    check(
        &bytes,
        &MessageRepr::new(
            h,
            Body::FollowUp {
                precise_origin_timestamp: ts(),
            },
        ),
    );
}

#[test]
fn delay_resp() {
    let bytes = cat(&[
        &[0x09, 0x12, 0x00, 0x36, 0x00, 0x00, 0x00, 0x00],
        &[0; 8],
        &[0; 4],
        &SRC,
        &[0x00, 0x05, 0x03, 0xfe],
        &TS,
        &REQ,
    ]);
    let mut h = hdr(5);
    h.log_message_interval = -2;
    check(
        &bytes,
        &MessageRepr::new(
            h,
            Body::DelayResp {
                receive_timestamp: ts(),
                requesting_port_identity: port(2),
            },
        ),
    );
}

#[test]
fn pdelay_resp_follow_up() {
    let bytes = cat(&[
        &[0x0a, 0x12, 0x00, 0x36, 0x00, 0x00, 0x00, 0x00],
        &[0; 8],
        &[0; 4],
        &SRC,
        &[0x00, 0x06, 0x05, 0x7f],
        &TS,
        &REQ,
    ]);
    check(
        &bytes,
        &MessageRepr::new(
            hdr(6),
            Body::PdelayRespFollowUp {
                response_origin_timestamp: ts(),
                requesting_port_identity: port(2),
            },
        ),
    );
}

pub(super) fn announce_bytes() -> Vec<u8> {
    cat(&[
        &[0x0b, 0x12, 0x00, 0x40, 0x00, 0x00, 0x00, 0x3c], // flags: utcValid|ptp|timeTr|freqTr
        &[0; 8],
        &[0; 4],
        &SRC,
        &[0x00, 0x09, 0x05, 0x01],
        &TS,
        &[0x00, 0x25, 0x00],       // currentUtcOffset 37, reserved
        &[0x80],                   // grandmasterPriority1 128
        &[0x06, 0x21, 0x4e, 0x5d], // clockClass 6, accuracy 0x21, variance 0x4e5d
        &[0x7f],                   // grandmasterPriority2 127
        &[0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55], // grandmasterIdentity
        &[0x00, 0x02],             // stepsRemoved
        &[0x20],                   // timeSource GNSS
    ])
}

pub(super) fn announce_repr() -> MessageRepr {
    let mut h = hdr(9);
    h.flags = FlagField(
        FlagField::CURRENT_UTC_OFFSET_VALID
            | FlagField::PTP_TIMESCALE
            | FlagField::TIME_TRACEABLE
            | FlagField::FREQUENCY_TRACEABLE,
    );
    h.log_message_interval = 1;
    MessageRepr::new(
        h,
        Body::Announce(AnnounceBody {
            origin_timestamp: ts(),
            current_utc_offset: 37,
            grandmaster_priority1: 128,
            grandmaster_clock_quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: 0x21,
                offset_scaled_log_variance: 0x4e5d,
            },
            grandmaster_priority2: 127,
            grandmaster_identity: ClockIdentity(CID),
            steps_removed: 2,
            time_source: 0x20,
        }),
    )
}

#[test]
fn announce() {
    let bytes = announce_bytes();
    check(&bytes, &announce_repr());
    let v = Message::new_checked(&bytes[..]).unwrap();
    let a = v.announce().unwrap();
    assert_eq!(a.grandmaster_priority1, 128);
    assert_eq!(a.grandmaster_clock_quality.clock_class, 6);
    assert_eq!(a.steps_removed, 2);
    assert_eq!(a.grandmaster_identity, ClockIdentity(CID));
    assert_eq!(v.log_message_interval(), 1);
}

#[test]
fn announce_with_path_trace() {
    let bytes = cat(&[
        &[0x0b, 0x12, 0x00, 0x4c], // length 64 + 4 + 8 = 76
        &announce_bytes()[4..],
        &[0x00, 0x08, 0x00, 0x08],
        &[0xaa, 0xbb, 0xcc, 0xff, 0xfe, 0xdd, 0xee, 0x01],
    ]);
    let mut m = announce_repr();
    m.tlvs.push(TlvRepr::PathTrace(vec![ClockIdentity([
        0xaa, 0xbb, 0xcc, 0xff, 0xfe, 0xdd, 0xee, 0x01,
    ])]));
    check(&bytes, &m);
}

#[test]
fn signaling_with_unknown_tlv_kept_verbatim() {
    let bytes = cat(&[
        &[0x0c, 0x12, 0x00, 0x3a, 0x00, 0x00, 0x04, 0x00], // length 58, unicast
        &[0; 8],
        &[0; 4],
        &SRC,
        &[0x00, 0x03, 0x05, 0x7f],
        &[0xff; 10], // targetPortIdentity all
        // REQUEST_UNICAST_TRANSMISSION: Announce, logInterMessagePeriod 1, duration 300
        &[0x00, 0x04, 0x00, 0x06, 0xb0, 0x01, 0x00, 0x00, 0x01, 0x2c],
        // an unassigned type with odd length, kept as is
        &[0x7e, 0x01, 0x00, 0x00],
    ]);
    let mut h = hdr(3);
    h.flags = FlagField(FlagField::UNICAST);
    let mut m = MessageRepr::new(
        h,
        Body::Signaling {
            target_port_identity: PortIdentity::ALL,
        },
    );
    m.tlvs.push(TlvRepr::Unknown {
        tlv_type: tlv::tlv_type::REQUEST_UNICAST_TRANSMISSION,
        value: vec![0xb0, 0x01, 0x00, 0x00, 0x01, 0x2c],
    });
    m.tlvs.push(TlvRepr::Unknown {
        tlv_type: 0x7e01,
        value: vec![],
    });
    check(&bytes, &m);
    let v = Message::new_checked(&bytes[..]).unwrap();
    assert_eq!(v.target_port_identity(), Some(PortIdentity::ALL));
    assert_eq!(v.tlvs().count(), 2);
}

#[test]
fn management_get_default_data_set() {
    // pmc 'GET DEFAULT_DATA_SET': header, target all, hops 0/0, GET, then TLV id only.
    let bytes = cat(&[
        &[0x0d, 0x12, 0x00, 0x36, 0x00, 0x00, 0x00, 0x00], // length 54
        &[0; 8],
        &[0; 4],
        &SRC,
        &[0x00, 0x01, 0x04, 0x7f],
        &[0xff; 10],
        &[0x00, 0x00, 0x00, 0x00], // startingBoundaryHops, boundaryHops, GET, reserved
        &[0x00, 0x01, 0x00, 0x02, 0x20, 0x00],
    ]);
    let mut m = MessageRepr::new(
        hdr(1),
        Body::Management(ManagementBody {
            target_port_identity: PortIdentity::ALL,
            starting_boundary_hops: 0,
            boundary_hops: 0,
            action: ManagementAction::Get,
        }),
    );
    m.tlvs.push(TlvRepr::Management(tlv::ManagementTlv {
        management_id: tlv::management::id::DEFAULT_DATA_SET,
        data: tlv::ManagementData::Empty,
    }));
    check(&bytes, &m);
    assert_eq!(m.management_tlv().unwrap().management_id, 0x2000);
}

#[test]
fn management_without_tlv_is_rejected() {
    let bytes = cat(&[
        &[0x0d, 0x12, 0x00, 0x30, 0x00, 0x00, 0x00, 0x00],
        &[0; 8],
        &[0; 4],
        &SRC,
        &[0x00, 0x01, 0x04, 0x7f],
        &[0xff; 10],
        &[0x00, 0x00, 0x02, 0x00],
    ]);
    assert_eq!(
        MessageRepr::parse(&bytes),
        Err(WireError::MissingManagementTlv)
    );
}

#[test]
fn rejections_name_the_field() {
    let good = announce_bytes();
    let mut b = good.clone();
    b[1] = 0x11; // versionPTP 1
    assert_eq!(
        MessageRepr::parse(&b),
        Err(WireError::UnsupportedVersion(1))
    );
    assert_eq!(
        Message::new_checked(&b[..]).unwrap_err().reason(),
        "unsupported_version"
    );
    let mut b = good.clone();
    b[0] = 0x05;
    assert_eq!(
        MessageRepr::parse(&b),
        Err(WireError::UnknownMessageType(5))
    );
    let mut b = good.clone();
    b[3] = 0x30; // 48 < 64
    assert!(matches!(
        MessageRepr::parse(&b),
        Err(WireError::BadMessageLength {
            length: 48,
            min: 64,
            ..
        })
    ));
    let mut b = good.clone();
    b[3] = 0x50; // longer than the buffer
    assert!(matches!(
        Message::new_checked(&b[..]),
        Err(WireError::BadMessageLength { length: 80, .. })
    ));
    let mut b = good.clone();
    b[40..44].copy_from_slice(&[0x3b, 0x9a, 0xca, 0x00]);
    assert_eq!(
        MessageRepr::parse(&b),
        Err(WireError::BadNanoseconds {
            what: "originTimestamp",
            value: 1_000_000_000
        })
    );
    assert!(matches!(
        MessageRepr::parse(&good[..20]),
        Err(WireError::Truncated {
            what: "PTP header",
            need: 34,
            have: 20
        })
    ));
    // A TLV that claims more than the message holds.
    let b = cat(&[
        &[0x0b, 0x12, 0x00, 0x48],
        &good[4..],
        &[0x00, 0x08, 0x00, 0x10, 1, 2, 3, 4],
    ]);
    assert_eq!(
        MessageRepr::parse(&b),
        Err(WireError::TlvOverrun {
            tlv_type: 8,
            length: 16,
            remaining: 4
        })
    );
    assert!(WireError::TlvOverrun {
        tlv_type: 8,
        length: 16,
        remaining: 4
    }
    .to_string()
    .contains("lengthField 16"));
}

#[test]
fn padding_after_message_length_is_ignored_and_control_field_kept() {
    let mut b = announce_bytes();
    b[32] = 0x00; // non-legacy controlField for Announce
    b.extend_from_slice(&[0u8; 6]);
    let m = MessageRepr::parse(&b).unwrap();
    assert_eq!(m.header.control_field, Some(0));
    assert_eq!(m.to_vec().unwrap(), b[..64]);
}

#[test]
fn view_setters() {
    let mut b = announce_bytes();
    let mut v = Message::new_checked(&mut b[..]).unwrap();
    v.set_sequence_id(0xbeef);
    v.add_correction(TimeInterval(-5)).unwrap();
    v.set_timestamp(Timestamp {
        seconds: 1,
        nanoseconds: 2,
    });
    assert_eq!(v.sequence_id(), 0xbeef);
    assert_eq!(v.correction_field(), TimeInterval(-5));
    assert_eq!(&b[30..32], &[0xbe, 0xef]);
    assert_eq!(&b[8..16], &(-5i64).to_be_bytes());
    assert_eq!(&b[34..44], &[0, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
}
