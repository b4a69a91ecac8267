//! TLV byte tables (IEEE 1588-2019 clause 14–16, linuxptp tlv.h for the `_NP` IDs).

use super::*;
use crate::wire::tlv::management::{
    id, CurrentDataSet, DefaultDataSet, ParentDataSet, PortDataSet, PortPropertiesNp, PortStatsNp,
    ScaledNs, TimePropertiesDataSet, TimeStatusNp,
};
use crate::wire::tlv::{
    AlternateTimeOffsetIndicatorTlv, AuthenticationTlv, C37238Tlv, ManagementData,
    ManagementErrorStatusTlv, ManagementTlv, OrganizationExtensionTlv, PtpText,
};

/// Checks a whole TLV (type + length + value octets) against its Repr both ways.
fn check(tlv: &[u8], expect: TlvRepr) {
    let mut it = TlvIter::new(tlv);
    let t = it.next().unwrap().unwrap();
    assert!(it.next().is_none());
    assert_eq!(t.to_repr().unwrap(), expect);
    let mut out = Vec::new();
    expect.emit(&mut out).unwrap();
    assert_eq!(out, tlv);
    assert_eq!(expect.buffer_len(), tlv.len());
}

fn mgmt(mid: u16, data: ManagementData) -> TlvRepr {
    TlvRepr::Management(ManagementTlv {
        management_id: mid,
        data,
    })
}

#[test]
fn default_data_set() {
    let b = cat(&[
        &[0x00, 0x01, 0x00, 0x16, 0x20, 0x00], // MANAGEMENT, length 22, DEFAULT_DATA_SET
        &[0x03, 0x00, 0x00, 0x01],             // flags TSC|SO, reserved, numberPorts 1
        &[0x80, 0xf8, 0xfe, 0xff, 0xff, 0x80], // priority1, quality, priority2
        &CID,
        &[0x18, 0x00], // domain 24, reserved
    ]);
    check(
        &b,
        mgmt(
            id::DEFAULT_DATA_SET,
            ManagementData::DefaultDataSet(DefaultDataSet {
                two_step: true,
                slave_only: true,
                number_ports: 1,
                priority1: 128,
                clock_quality: ClockQuality {
                    clock_class: 248,
                    clock_accuracy: 0xfe,
                    offset_scaled_log_variance: 0xffff,
                },
                priority2: 128,
                clock_identity: ClockIdentity(CID),
                domain_number: 24,
            }),
        ),
    );
}

#[test]
fn current_data_set() {
    let b = cat(&[
        &[0x00, 0x01, 0x00, 0x14, 0x20, 0x01],
        &[0x00, 0x01],
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xf6, 0x00, 0x00], // -10 ns
        &[0x00, 0x00, 0x00, 0x00, 0x00, 0x64, 0x80, 0x00], // 100.5 ns
    ]);
    check(
        &b,
        mgmt(
            id::CURRENT_DATA_SET,
            ManagementData::CurrentDataSet(CurrentDataSet {
                steps_removed: 1,
                offset_from_master: TimeInterval::from_nanos(-10).unwrap(),
                mean_path_delay: TimeInterval(100 * 65536 + 32768),
            }),
        ),
    );
}

#[test]
fn parent_data_set() {
    let b = cat(&[
        &[0x00, 0x01, 0x00, 0x22, 0x20, 0x02],
        &[0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, 0x00, 0x01],
        &[0x00, 0x00],             // parentStats, reserved
        &[0xff, 0xff],             // observedParentOffsetScaledLogVariance
        &[0x7f, 0xff, 0xff, 0xff], // observedParentClockPhaseChangeRate
        &[0x80, 0x06, 0x21, 0x4e, 0x5d, 0x7f],
        &CID,
    ]);
    check(
        &b,
        mgmt(
            id::PARENT_DATA_SET,
            ManagementData::ParentDataSet(ParentDataSet {
                parent_port_identity: port(1),
                parent_stats: false,
                observed_parent_offset_scaled_log_variance: 0xffff,
                observed_parent_clock_phase_change_rate: 0x7fff_ffff,
                grandmaster_priority1: 128,
                grandmaster_clock_quality: ClockQuality {
                    clock_class: 6,
                    clock_accuracy: 0x21,
                    offset_scaled_log_variance: 0x4e5d,
                },
                grandmaster_priority2: 127,
                grandmaster_identity: ClockIdentity(CID),
            }),
        ),
    );
}

#[test]
fn time_properties_data_set() {
    let b = [0x00, 0x01, 0x00, 0x06, 0x20, 0x03, 0x00, 0x25, 0x0c, 0xa0];
    check(
        &b,
        mgmt(
            id::TIME_PROPERTIES_DATA_SET,
            ManagementData::TimePropertiesDataSet(TimePropertiesDataSet {
                current_utc_offset: 37,
                leap61: false,
                leap59: false,
                current_utc_offset_valid: true,
                ptp_timescale: true,
                time_traceable: false,
                frequency_traceable: false,
                time_source: 0xa0,
            }),
        ),
    );
}

#[test]
fn port_data_set() {
    let b = cat(&[
        &[0x00, 0x01, 0x00, 0x1c, 0x20, 0x04],
        &[0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, 0x00, 0x01],
        &[0x09, 0x00],                         // SLAVE, logMinDelayReqInterval 0
        &[0, 0, 0, 0, 0, 0, 0, 0],             // peerMeanPathDelay
        &[0x01, 0x03, 0x00, 0x01, 0x00, 0x12], // ann 1, timeout 3, sync 0, E2E, pdelay 0, v2.1
    ]);
    check(
        &b,
        mgmt(
            id::PORT_DATA_SET,
            ManagementData::PortDataSet(PortDataSet {
                port_identity: port(1),
                port_state: 9,
                log_min_delay_req_interval: 0,
                peer_mean_path_delay: TimeInterval::ZERO,
                log_announce_interval: 1,
                announce_receipt_timeout: 3,
                log_sync_interval: 0,
                delay_mechanism: 1,
                log_min_pdelay_req_interval: 0,
                version_number: 0x12,
            }),
        ),
    );
}

#[test]
fn one_octet_data_sets() {
    for (mid, byte, data) in [
        (id::PRIORITY1, 0x05u8, ManagementData::Priority1(0x80)),
        (id::PRIORITY2, 0x06, ManagementData::Priority2(0x7f)),
        (id::DOMAIN, 0x07, ManagementData::Domain(24)),
        (id::SLAVE_ONLY, 0x08, ManagementData::SlaveOnly(true)),
    ] {
        let v = match &data {
            ManagementData::Priority1(v)
            | ManagementData::Priority2(v)
            | ManagementData::Domain(v) => *v,
            _ => 1,
        };
        check(
            &[0x00, 0x01, 0x00, 0x04, 0x20, byte, v, 0x00],
            mgmt(mid, data),
        );
    }
    check(
        &[0x00, 0x01, 0x00, 0x04, 0xc0, 0x06, 0xff, 0x00],
        mgmt(
            id::SYNCHRONIZATION_UNCERTAIN_NP,
            ManagementData::SynchronizationUncertainNp(0xff),
        ),
    );
}

#[test]
fn time_status_np() {
    let b = cat(&[
        &[0x00, 0x01, 0x00, 0x34, 0xc0, 0x00],
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xd6], // master_offset -42
        &[0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01], // ingress_time
        &[0x00, 0x00, 0x00, 0x10],                         // cumulativeScaledRateOffset
        &[0x00, 0x00, 0x00, 0x00],                         // scaledLastGmPhaseChange
        &[0x00, 0x00],                                     // gmTimeBaseIndicator
        &[0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x05, 0x00, 0x00], // lastGmPhaseChange
        &[0x00, 0x00, 0x00, 0x01],                         // gmPresent
        &CID,
    ]);
    check(
        &b,
        mgmt(
            id::TIME_STATUS_NP,
            ManagementData::TimeStatusNp(TimeStatusNp {
                master_offset: -42,
                ingress_time: 0x1700_0000_0000_0001,
                cumulative_scaled_rate_offset: 16,
                scaled_last_gm_phase_change: 0,
                gm_time_base_indicator: 0,
                last_gm_phase_change: ScaledNs {
                    nanoseconds_msb: 0,
                    nanoseconds_lsb: 5,
                    fractional_nanoseconds: 0,
                },
                gm_present: 1,
                gm_identity: ClockIdentity(CID),
            }),
        ),
    );
}

#[test]
fn port_properties_np_pads_odd_text() {
    let b = cat(&[
        &[0x00, 0x01, 0x00, 0x14, 0xc0, 0x04], // length 2 + 10 + 2 + 1 + 4 + pad 1 = 20
        &[0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, 0x00, 0x01],
        &[0x08, 0x00], // MASTER, software timestamping
        &[0x04, b'e', b't', b'h', b'0'],
        &[0x00],
    ]);
    check(
        &b,
        mgmt(
            id::PORT_PROPERTIES_NP,
            ManagementData::PortPropertiesNp(PortPropertiesNp {
                port_identity: port(1),
                port_state: 8,
                timestamping: 0,
                interface: PtpText::new("eth0").unwrap(),
            }),
        ),
    );
}

#[test]
fn port_stats_np_counters_are_little_endian() {
    let mut b = cat(&[
        &[0x00, 0x01, 0x01, 0x0c, 0xc0, 0x05], // length 268
        &[0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55, 0x00, 0x01],
    ]);
    b.extend_from_slice(&[0u8; 256]);
    b[16] = 0x10; // rx Sync = 0x0110 (little-endian)
    b[17] = 0x01;
    b[16 + 128 + 8 * 11] = 7; // tx Announce = 7
    let mut rx = [0u64; 16];
    rx[0] = 0x0110;
    let mut tx = [0u64; 16];
    tx[11] = 7;
    check(
        &b,
        mgmt(
            id::PORT_STATS_NP,
            ManagementData::PortStatsNp(Box::new(PortStatsNp {
                port_identity: port(1),
                rx_msg_type: rx,
                tx_msg_type: tx,
            })),
        ),
    );
}

#[test]
fn unknown_management_id_kept_raw_and_bad_length_rejected() {
    check(
        &[0x00, 0x01, 0x00, 0x04, 0x20, 0x09, 0x01, 0x00],
        mgmt(id::LOG_ANNOUNCE_INTERVAL, ManagementData::Raw(vec![1, 0])),
    );
    assert_eq!(
        TlvRepr::parse(1, &[0x20, 0x00, 1, 2, 3]),
        Err(WireError::BadManagementLength {
            id: 0x2000,
            length: 3
        })
    );
}

#[test]
fn management_error_status() {
    let b = cat(&[
        &[0x00, 0x02, 0x00, 0x0e],
        &[0x00, 0x02, 0x20, 0x05, 0, 0, 0, 0], // NO_SUCH_ID for PRIORITY1
        &[0x04, b'n', b'o', b'p', b'e', 0x00], // displayData "nope" + pad
    ]);
    check(
        &b,
        TlvRepr::ManagementErrorStatus(ManagementErrorStatusTlv {
            management_error_id: tlv::management::error_id::NO_SUCH_ID,
            management_id: id::PRIORITY1,
            display_data: Some(PtpText::new("nope").unwrap()),
        }),
    );
    check(
        &[0x00, 0x02, 0x00, 0x08, 0x00, 0x06, 0x20, 0x05, 0, 0, 0, 0],
        TlvRepr::ManagementErrorStatus(ManagementErrorStatusTlv {
            management_error_id: 6,
            management_id: 0x2005,
            display_data: None,
        }),
    );
}

#[test]
fn c37_238_organization_extensions() {
    let b2011 = cat(&[
        &[0x00, 0x03, 0x00, 0x12, 0x1c, 0x12, 0x9d, 0x00, 0x00, 0x01],
        &[
            0x00, 0x03, 0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00,
        ],
    ]);
    let t = OrganizationExtensionTlv {
        tlv_type: 3,
        organization_id: [0x1c, 0x12, 0x9d],
        organization_sub_type: [0, 0, 1],
        data: vec![0x00, 0x03, 0, 0, 0, 0x32, 0, 0, 0, 0x64, 0, 0],
    };
    assert_eq!(
        t.c37_238(),
        Some(C37238Tlv::V2011 {
            grandmaster_id: 3,
            grandmaster_time_inaccuracy: 50,
            network_time_inaccuracy: 100
        })
    );
    check(&b2011, TlvRepr::OrganizationExtension(t));
    let b2017 = cat(&[
        &[0x00, 0x03, 0x00, 0x12, 0x1c, 0x12, 0x9d, 0x00, 0x00, 0x02],
        &[
            0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc8, 0x00, 0x00,
        ],
    ]);
    let t = b2017
        .get(4..)
        .map(|v| OrganizationExtensionTlv::parse(3, v).unwrap())
        .unwrap();
    assert_eq!(
        t.c37_238(),
        Some(C37238Tlv::V2017 {
            grandmaster_id: 7,
            total_time_inaccuracy: 200
        })
    );
    check(&b2017, TlvRepr::OrganizationExtension(t));
}

#[test]
fn alternate_time_offset_indicator() {
    let b = cat(&[
        &[0x00, 0x09, 0x00, 0x14],
        &[0x01],
        &[0x00, 0x00, 0x0e, 0x10], // currentOffset 3600
        &[0xff, 0xff, 0xf1, 0xf0], // jumpSeconds -3600
        &[0x00, 0x00, 0x65, 0x00, 0x00, 0x00],
        &[0x04, b'C', b'E', b'S', b'T'],
    ]);
    check(
        &b,
        TlvRepr::AlternateTimeOffsetIndicator(AlternateTimeOffsetIndicatorTlv {
            key_field: 1,
            current_offset: 3600,
            jump_seconds: -3600,
            time_of_next_jump: 0x6500_0000,
            display_name: PtpText::new("CEST").unwrap(),
        }),
    );
}

#[test]
fn authentication() {
    let b = cat(&[
        &[0x80, 0x09, 0x00, 0x12],
        &[0x01, 0x02, 0x00, 0x00, 0x00, 0x2a], // SPP 1, sequenceNo present, keyID 42
        &[0x00, 0x00, 0x00, 0x07],             // sequenceNo (4 octets in this SPP)
        &[0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04], // ICV
    ]);
    let t = AuthenticationTlv {
        spp: 1,
        sec_param_indicator: AuthenticationTlv::SEQUENCE_NO,
        key_id: 42,
        rest: b[10..].to_vec(),
    };
    let parts = t.split(16, 4, 0).unwrap();
    assert_eq!(parts.disclosed_key, None);
    assert_eq!(parts.sequence_no, Some(&[0u8, 0, 0, 7][..]));
    assert_eq!(parts.icv, &[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
    assert!(t.split(0, 40, 0).is_none());
    check(&b, TlvRepr::Authentication(t));
}

#[test]
fn path_trace_length_must_be_multiple_of_eight() {
    assert_eq!(
        TlvRepr::parse(8, &[0; 12]),
        Err(WireError::BadTlvLength {
            what: "PATH_TRACE",
            length: 12
        })
    );
    let mut it = TlvIter::new(&[0x00, 0x08, 0x00]);
    assert!(matches!(it.next(), Some(Err(WireError::Truncated { .. }))));
    assert!(it.next().is_none());
}
