//! Property tests: every Repr round-trips through its bytes, and nothing panics on arbitrary
//! input.

use core::net::{Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;

use super::frames::{l2_frame, l2_vlan_frame, udp4_frame, udp4_qinq_frame, udp6_frame};
use super::*;
use crate::wire::frame::{self, EthernetRepr, FrameRepr, NetworkRepr, Transport, VlanTag};
use crate::wire::tlv::management::{
    id, CurrentDataSet, DefaultDataSet, PortDataSet, PortPropertiesNp, TimePropertiesDataSet,
};
use crate::wire::tlv::{
    tlv_type, AlternateTimeOffsetIndicatorTlv, AuthenticationTlv, ManagementData,
    ManagementErrorStatusTlv, ManagementTlv, OrganizationExtensionTlv, PtpText,
};

fn ts() -> impl Strategy<Value = Timestamp> {
    (0..=Timestamp::MAX_SECONDS, 0u32..1_000_000_000).prop_map(|(seconds, nanoseconds)| Timestamp {
        seconds,
        nanoseconds,
    })
}

fn cid() -> impl Strategy<Value = ClockIdentity> {
    any::<[u8; 8]>().prop_map(ClockIdentity)
}

fn pid() -> impl Strategy<Value = PortIdentity> {
    (cid(), any::<u16>()).prop_map(|(c, n)| PortIdentity::new(c, n))
}

fn quality() -> impl Strategy<Value = ClockQuality> {
    any::<(u8, u8, u16)>().prop_map(|(a, b, c)| ClockQuality {
        clock_class: a,
        clock_accuracy: b,
        offset_scaled_log_variance: c,
    })
}

fn text() -> impl Strategy<Value = PtpText> {
    vec(any::<u8>(), 0..40).prop_map(|v| PtpText::new(v).unwrap())
}

fn header() -> impl Strategy<Value = HeaderRepr> {
    (
        (0u8..16, 0u8..16, any::<u8>(), any::<u8>(), any::<u16>()),
        (any::<i64>(), any::<u32>(), pid(), any::<u16>()),
        (proptest::option::of(any::<u8>()), any::<i8>()),
    )
        .prop_map(
            |((sdo, minor, dom, msdo, flags), (corr, mts, spi, seq), (cf, lmi))| HeaderRepr {
                major_sdo_id: sdo,
                minor_version: minor,
                domain_number: dom,
                minor_sdo_id: msdo,
                flags: FlagField(flags),
                correction: TimeInterval(corr),
                message_type_specific: mts,
                source_port_identity: spi,
                sequence_id: seq,
                control_field: cf,
                log_message_interval: lmi,
            },
        )
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        ts().prop_map(|t| Body::Sync {
            origin_timestamp: t
        }),
        ts().prop_map(|t| Body::DelayReq {
            origin_timestamp: t
        }),
        ts().prop_map(|t| Body::PdelayReq {
            origin_timestamp: t
        }),
        ts().prop_map(|t| Body::FollowUp {
            precise_origin_timestamp: t
        }),
        (ts(), pid()).prop_map(|(t, p)| Body::PdelayResp {
            request_receipt_timestamp: t,
            requesting_port_identity: p
        }),
        (ts(), pid()).prop_map(|(t, p)| Body::DelayResp {
            receive_timestamp: t,
            requesting_port_identity: p
        }),
        (ts(), pid()).prop_map(|(t, p)| Body::PdelayRespFollowUp {
            response_origin_timestamp: t,
            requesting_port_identity: p
        }),
        (
            ts(),
            any::<i16>(),
            any::<u8>(),
            quality(),
            any::<u8>(),
            cid(),
            any::<u16>(),
            any::<u8>()
        )
            .prop_map(
                |(t, utc, p1, q, p2, gm, sr, src)| Body::Announce(AnnounceBody {
                    origin_timestamp: t,
                    current_utc_offset: utc,
                    grandmaster_priority1: p1,
                    grandmaster_clock_quality: q,
                    grandmaster_priority2: p2,
                    grandmaster_identity: gm,
                    steps_removed: sr,
                    time_source: src,
                })
            ),
        pid().prop_map(|p| Body::Signaling {
            target_port_identity: p
        }),
        (pid(), any::<u8>(), any::<u8>(), 0u8..5).prop_map(|(p, s, h, a)| Body::Management(
            ManagementBody {
                target_port_identity: p,
                starting_boundary_hops: s,
                boundary_hops: h,
                action: ManagementAction::from_u8(a).unwrap(),
            }
        )),
    ]
}

fn management_tlv() -> impl Strategy<Value = TlvRepr> {
    let data = prop_oneof![
        Just((id::DEFAULT_DATA_SET, ManagementData::Empty)),
        (any::<(bool, bool, u16, u8, u8, u8)>(), quality(), cid()).prop_map(
            |((ts, so, np, p1, p2, d), q, c)| (
                id::DEFAULT_DATA_SET,
                ManagementData::DefaultDataSet(DefaultDataSet {
                    two_step: ts,
                    slave_only: so,
                    number_ports: np,
                    priority1: p1,
                    clock_quality: q,
                    priority2: p2,
                    clock_identity: c,
                    domain_number: d,
                })
            )
        ),
        any::<(u16, i64, i64)>().prop_map(|(s, o, m)| (
            id::CURRENT_DATA_SET,
            ManagementData::CurrentDataSet(CurrentDataSet {
                steps_removed: s,
                offset_from_master: TimeInterval(o),
                mean_path_delay: TimeInterval(m),
            })
        )),
        (any::<i16>(), any::<[bool; 6]>(), any::<u8>()).prop_map(|(u, f, s)| (
            id::TIME_PROPERTIES_DATA_SET,
            ManagementData::TimePropertiesDataSet(TimePropertiesDataSet {
                current_utc_offset: u,
                leap61: f[0],
                leap59: f[1],
                current_utc_offset_valid: f[2],
                ptp_timescale: f[3],
                time_traceable: f[4],
                frequency_traceable: f[5],
                time_source: s,
            })
        )),
        (pid(), any::<(u8, i8, i64, i8, u8, i8, u8, i8, u8)>()).prop_map(|(p, f)| (
            id::PORT_DATA_SET,
            ManagementData::PortDataSet(PortDataSet {
                port_identity: p,
                port_state: f.0,
                log_min_delay_req_interval: f.1,
                peer_mean_path_delay: TimeInterval(f.2),
                log_announce_interval: f.3,
                announce_receipt_timeout: f.4,
                log_sync_interval: f.5,
                delay_mechanism: f.6,
                log_min_pdelay_req_interval: f.7,
                version_number: f.8,
            })
        )),
        any::<u8>().prop_map(|v| (id::PRIORITY1, ManagementData::Priority1(v))),
        any::<u8>().prop_map(|v| (id::DOMAIN, ManagementData::Domain(v))),
        any::<bool>().prop_map(|v| (id::SLAVE_ONLY, ManagementData::SlaveOnly(v))),
        (pid(), any::<u8>(), any::<u8>(), text()).prop_map(|(p, s, t, i)| (
            id::PORT_PROPERTIES_NP,
            ManagementData::PortPropertiesNp(PortPropertiesNp {
                port_identity: p,
                port_state: s,
                timestamping: t,
                interface: i,
            })
        )),
        vec(any::<u8>(), 1..30).prop_map(|v| (0x1234, ManagementData::Raw(v))),
    ];
    data.prop_map(|(mid, data)| {
        TlvRepr::Management(ManagementTlv {
            management_id: mid,
            data,
        })
    })
}

fn other_tlv() -> impl Strategy<Value = TlvRepr> {
    prop_oneof![
        vec(cid(), 0..5).prop_map(TlvRepr::PathTrace),
        (
            prop_oneof![Just(3u16), Just(0x4000), Just(0x8000)],
            any::<[u8; 3]>(),
            any::<[u8; 3]>(),
            vec(any::<u8>(), 0..20)
        )
            .prop_map(|(t, o, s, d)| TlvRepr::OrganizationExtension(
                OrganizationExtensionTlv {
                    tlv_type: t,
                    organization_id: o,
                    organization_sub_type: s,
                    data: d,
                }
            )),
        (any::<(u8, i32, i32)>(), 0u64..(1 << 48), text()).prop_map(|(a, j, n)| {
            TlvRepr::AlternateTimeOffsetIndicator(AlternateTimeOffsetIndicatorTlv {
                key_field: a.0,
                current_offset: a.1,
                jump_seconds: a.2,
                time_of_next_jump: j,
                display_name: n,
            })
        }),
        (any::<(u8, u8, u32)>(), vec(any::<u8>(), 0..32)).prop_map(|(a, r)| {
            TlvRepr::Authentication(AuthenticationTlv {
                spp: a.0,
                sec_param_indicator: a.1,
                key_id: a.2,
                rest: r,
            })
        }),
        (any::<u16>(), vec(any::<u8>(), 0..20)).prop_filter_map("known type", |(t, v)| {
            (tlv_type::name(t).is_none() || matches!(t, 4..=7 | 0x8001..=0x8008 | 0x4001))
                .then_some(TlvRepr::Unknown {
                    tlv_type: t,
                    value: v,
                })
        }),
    ]
}

fn error_status() -> impl Strategy<Value = TlvRepr> {
    (any::<u16>(), any::<u16>(), proptest::option::of(text())).prop_map(|(e, m, d)| {
        TlvRepr::ManagementErrorStatus(ManagementErrorStatusTlv {
            management_error_id: e,
            management_id: m,
            display_data: d,
        })
    })
}

fn message() -> impl Strategy<Value = MessageRepr> {
    (
        header(),
        body(),
        prop_oneof![management_tlv(), error_status()],
        vec(prop_oneof![management_tlv(), other_tlv()], 0..3),
    )
        .prop_map(|(mut header, body, first, mut rest)| {
            let mtype = body.message_type();
            // Parsing normalises the legacy controlField value to None.
            if header.control_field == Some(mtype.control_field()) {
                header.control_field = None;
            }
            if mtype == MessageType::Management {
                rest.insert(0, first);
            }
            MessageRepr {
                header,
                body,
                tlvs: rest,
            }
        })
}

fn transport() -> impl Strategy<Value = Transport> {
    let vlan = proptest::option::of(
        (
            prop_oneof![Just(0x8100u16), Just(0x88a8)],
            0u8..8,
            any::<bool>(),
            0u16..4096,
        )
            .prop_map(|(tpid, pcp, dei, vid)| VlanTag {
                tpid,
                pcp,
                dei,
                vid,
            }),
    );
    let port = prop_oneof![Just(319u16), Just(320)];
    let net = prop_oneof![
        Just(NetworkRepr::L2),
        (
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
            any::<u16>(),
            port.clone(),
            any::<(u8, u16, bool, u8)>()
        )
            .prop_map(|(s, d, sp, dp, x)| NetworkRepr::Udp4 {
                src: Ipv4Addr::from(s),
                dst: Ipv4Addr::from(d),
                src_port: sp,
                dst_port: dp,
                tos: x.0,
                identification: x.1,
                dont_fragment: x.2,
                ttl: x.3,
            }),
        (
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<u16>(),
            port,
            any::<u8>(),
            0u32..(1 << 20),
            any::<u8>()
        )
            .prop_map(|(s, d, sp, dp, tc, fl, hl)| NetworkRepr::Udp6 {
                src: Ipv6Addr::from(s),
                dst: Ipv6Addr::from(d),
                src_port: sp,
                dst_port: dp,
                traffic_class: tc,
                flow_label: fl,
                hop_limit: hl,
            }),
    ];
    (any::<[u8; 6]>(), any::<[u8; 6]>(), vlan, net).prop_map(|(dst, src, vlan, network)| {
        Transport {
            ethernet: EthernetRepr { dst, src, vlan },
            network,
        }
    })
}

/// Calls every accessor of a checked view.
fn touch<T: AsRef<[u8]>>(m: &Message<T>) {
    let _ = (
        m.message_type(),
        m.major_sdo_id(),
        m.minor_version(),
        m.message_length(),
        m.domain_number(),
        m.minor_sdo_id(),
        m.flags(),
        m.correction_field(),
        m.message_type_specific(),
        m.source_port_identity(),
        m.sequence_id(),
        m.control_field(),
        m.log_message_interval(),
        m.timestamp(),
        m.requesting_port_identity(),
        m.target_port_identity(),
        m.announce(),
        m.suffix(),
        m.message_bytes(),
    );
    for t in m.tlvs().flatten() {
        let _ = t.to_repr();
    }
}

fn seeds() -> Vec<Vec<u8>> {
    vec![
        l2_frame(),
        l2_vlan_frame(),
        udp4_frame(),
        udp6_frame(),
        udp4_qinq_frame(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn message_repr_round_trips(m in message()) {
        let bytes = m.to_vec().unwrap();
        prop_assert_eq!(bytes.len(), m.buffer_len());
        let back = MessageRepr::parse(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_vec().unwrap(), bytes.clone());
        let v = Message::new_checked(&bytes[..]).unwrap();
        touch(&v);
        prop_assert_eq!(v.timestamp(), m.body.timestamp());
    }

    #[test]
    fn frame_repr_round_trips(t in transport(), m in message(), trailer in vec(any::<u8>(), 0..8), pad in vec(any::<u8>(), 0..8)) {
        let mut f = FrameRepr::new(t, m);
        f.trailer = trailer;
        if t.network != NetworkRepr::L2 {
            f.padding = pad;
        }
        let bytes = f.emit().unwrap();
        let back = FrameRepr::parse(&bytes).unwrap();
        prop_assert_eq!(&back, &f);
        prop_assert_eq!(back.emit().unwrap(), bytes.clone());
        let parsed = frame::parse(&bytes).unwrap();
        prop_assert!(parsed.verify_udp_checksum(&bytes).is_ok());
    }

    #[test]
    fn correction_add_keeps_checksum(t in transport(), m in message(), d in any::<i64>()) {
        let mut bytes = frame::build(&t, &m).unwrap();
        let before = m.header.correction.0;
        match frame::add_correction(&mut bytes, TimeInterval(d)) {
            Ok(()) => {
                let f = frame::parse(&bytes).unwrap();
                prop_assert!(f.verify_udp_checksum(&bytes).is_ok());
                let v = Message::new_checked(f.payload(&bytes)).unwrap();
                prop_assert_eq!(v.correction_field().0, before + d);
            }
            Err(e) => {
                prop_assert_eq!(e, WireError::CorrectionOverflow);
                prop_assert!(before.checked_add(d).is_none());
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(b in vec(any::<u8>(), 0..300)) {
        if let Ok(m) = Message::new_checked(&b[..]) {
            touch(&m);
        }
        let _ = MessageRepr::parse(&b);
        let _ = frame::parse(&b).map(|f| { let _ = f.verify_udp_checksum(&b); f.payload(&b).len() });
        let _ = FrameRepr::parse(&b);
        let mut c = b.clone();
        let _ = frame::add_correction(&mut c, TimeInterval(12345));
        let mut d = b.clone();
        if let Ok(mut m) = Message::new_checked(&mut d[..]) {
            m.set_timestamp(Timestamp::default());
            m.set_requesting_port_identity(PortIdentity::ALL);
            m.set_sequence_id(1);
            touch(&m);
        }
    }

    #[test]
    fn mutated_frames_never_panic(which in 0usize..5, edits in vec((any::<u16>(), any::<u8>()), 1..6), cut in any::<u16>()) {
        let mut b = seeds().swap_remove(which);
        for (pos, val) in edits {
            let i = usize::from(pos) % b.len();
            b[i] = val;
        }
        b.truncate(usize::from(cut) % (b.len() + 1));
        if let Ok(f) = frame::parse(&b) {
            let _ = f.verify_udp_checksum(&b);
            if let Ok(m) = Message::new_checked(f.payload(&b)) {
                touch(&m);
            }
        }
        let _ = FrameRepr::parse(&b);
        let _ = frame::add_correction(&mut b, TimeInterval(-1));
    }
}
