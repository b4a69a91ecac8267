//! Unit tests of the management core and the UNIX socket server.

use xptp_datapath::wire::tlv::management::{error_id, id, ManagementData, ManagementTlv};
use xptp_datapath::wire::tlv::ManagementErrorStatusTlv;
use xptp_datapath::wire::{
    Body, ClockIdentity, HeaderRepr, ManagementAction, ManagementBody, MessageRepr, PortIdentity,
    TimeInterval, TlvRepr,
};

use super::handler::{handle_management, Access, Ignored};
use super::network::{handle_network_management, IngressPort, NetworkManagementConfig};
use super::*;
use crate::datasets::{ClockConfig, PortConfig, PortDs};
use crate::port::state::PortState;

const CLOCK: ClockIdentity = ClockIdentity([1, 2, 3, 0xff, 0xfe, 4, 5, 6]);
const GM: ClockIdentity = ClockIdentity([9, 9, 9, 0xff, 0xfe, 9, 9, 9]);
const PMC: PortIdentity = PortIdentity {
    clock_identity: ClockIdentity([0x77; 8]),
    port_number: 4242,
};

fn view() -> ManagementSnapshot {
    let cfg = ClockConfig {
        priority1: 120,
        domain_number: 3,
        ..ClockConfig::default()
    };
    let dds = DefaultDs::new(&cfg, CLOCK, 2);
    let port = |n: u16, st: PortState, name: &str| {
        let mut ds = PortDs::new(&PortConfig::default(), CLOCK, n);
        ds.port_state = st;
        PortView {
            ds,
            interface: name.into(),
            timestamping: Timestamping::Software,
            as_capable: n == 1,
            neighbor_prop_delay_thresh_ns: 20_000_000,
            stats: None,
        }
    };
    let mut parent = ParentDs::own(&dds);
    parent.grandmaster_identity = GM;
    parent.parent_port_identity = PortIdentity::new(GM, 1);
    ManagementSnapshot {
        default_ds: dds,
        current_ds: CurrentDs {
            steps_removed: 2,
            offset_from_master: -5 << 16,
            mean_delay: 700 << 16,
        },
        parent_ds: parent,
        time_properties_ds: TimePropertiesDs::own(&cfg),
        ports: vec![
            port(1, PortState::Slave, "eth0"),
            port(2, PortState::Master, "eth1"),
        ],
        time_status: TimeStatus {
            master_offset_ns: -5,
            ingress_time_ns: 123,
            ..TimeStatus::default()
        },
        sync_uncertain: SyncUncertain::DontCare,
        grandmaster_settings: None,
    }
}

/// A request as pmc builds it.
fn request(
    action: ManagementAction,
    target: PortIdentity,
    mid: u16,
    data: ManagementData,
) -> Vec<u8> {
    MessageRepr {
        header: HeaderRepr {
            minor_version: 0,
            domain_number: 3,
            source_port_identity: PMC,
            sequence_id: 77,
            log_message_interval: 0x7f,
            ..HeaderRepr::default()
        },
        body: Body::Management(ManagementBody {
            target_port_identity: target,
            starting_boundary_hops: 3,
            boundary_hops: 1,
            action,
        }),
        tlvs: vec![TlvRepr::Management(ManagementTlv {
            management_id: mid,
            data,
        })],
    }
    .to_vec()
    .unwrap()
}

fn get(mid: u16) -> Vec<u8> {
    request(
        ManagementAction::Get,
        PortIdentity::ALL,
        mid,
        ManagementData::Empty,
    )
}

fn set(mid: u16, data: ManagementData) -> Vec<u8> {
    request(ManagementAction::Set, PortIdentity::ALL, mid, data)
}

/// Parses each response with the codec and checks the fields every answer shares.
fn parsed(out: &ManagementOutcome) -> Vec<MessageRepr> {
    assert_eq!(out.ignored, None);
    out.responses
        .iter()
        .map(|b| {
            let m = MessageRepr::parse(b).unwrap();
            assert_eq!(m.header.sequence_id, 77);
            assert_eq!(m.header.domain_number, 3);
            assert_eq!(m.header.minor_version, 0, "version octet copied from pmc");
            assert_eq!(m.header.log_message_interval, 0x7f);
            let Body::Management(b) = m.body else {
                panic!("not management")
            };
            assert_eq!(b.target_port_identity, PMC);
            assert_eq!((b.starting_boundary_hops, b.boundary_hops), (2, 2));
            m
        })
        .collect()
}

fn action(m: &MessageRepr) -> ManagementAction {
    match m.body {
        Body::Management(b) => b.action,
        _ => panic!("not management"),
    }
}

fn data(m: &MessageRepr) -> &ManagementData {
    &m.management_tlv().expect("a MANAGEMENT TLV").data
}

fn error(m: &MessageRepr) -> (u16, u16) {
    match m.tlvs.first() {
        Some(TlvRepr::ManagementErrorStatus(e)) => (e.management_error_id, e.management_id),
        other => panic!("expected MANAGEMENT_ERROR_STATUS, got {other:?}"),
    }
}

fn rw(req: &[u8]) -> ManagementOutcome {
    handle_management(req, &view(), Access::UdsReadWrite)
}

#[test]
fn get_default_data_set_bytes() {
    let out = rw(&get(id::DEFAULT_DATA_SET));
    let r = parsed(&out);
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].header.source_port_identity,
        PortIdentity::new(CLOCK, 0)
    );
    assert_eq!(action(&r[0]), ManagementAction::Response);
    // managementId 0x2000, then Table 69's 20 octets.
    let tlv = &out.responses[0][48..];
    assert_eq!(&tlv[..6], &[0, 1, 0, 22, 0x20, 0x00]);
    assert_eq!(
        &tlv[6..],
        &[0x01, 0, 0, 2, 120, 248, 0xfe, 0xff, 0xff, 128, 1, 2, 3, 0xff, 0xfe, 4, 5, 6, 3, 0]
    );
    assert!(out.command.is_none());
}

#[test]
fn get_current_parent_time_properties() {
    let r = parsed(&rw(&get(id::CURRENT_DATA_SET)));
    match data(&r[0]) {
        ManagementData::CurrentDataSet(c) => {
            assert_eq!(c.steps_removed, 2);
            assert_eq!(c.offset_from_master, TimeInterval(-5 << 16));
            assert_eq!(c.mean_path_delay, TimeInterval(700 << 16));
        }
        d => panic!("{d:?}"),
    }
    let r = parsed(&rw(&get(id::PARENT_DATA_SET)));
    match data(&r[0]) {
        ManagementData::ParentDataSet(p) => {
            assert_eq!(p.grandmaster_identity, GM);
            assert_eq!(p.parent_port_identity, PortIdentity::new(GM, 1));
            assert_eq!(p.grandmaster_priority1, 120);
        }
        d => panic!("{d:?}"),
    }
    let r = parsed(&rw(&get(id::TIME_PROPERTIES_DATA_SET)));
    match data(&r[0]) {
        ManagementData::TimePropertiesDataSet(t) => {
            assert_eq!(t.current_utc_offset, 37);
            assert!(t.ptp_timescale);
            assert_eq!(t.time_source, 0xA0);
        }
        d => panic!("{d:?}"),
    }
}

#[test]
fn get_time_status_np_reports_the_grandmaster() {
    let r = parsed(&rw(&get(id::TIME_STATUS_NP)));
    match data(&r[0]) {
        ManagementData::TimeStatusNp(t) => {
            assert_eq!((t.master_offset, t.ingress_time), (-5, 123));
            assert_eq!(t.gm_present, 1);
            assert_eq!(t.gm_identity, GM);
        }
        d => panic!("{d:?}"),
    }
    // Our own grandmaster: gmPresent false.
    let mut v = view();
    v.parent_ds = ParentDs::own(&v.default_ds);
    let out = handle_management(&get(id::TIME_STATUS_NP), &v, Access::UdsReadWrite);
    match data(&parsed(&out)[0]) {
        ManagementData::TimeStatusNp(t) => {
            assert_eq!(t.gm_present, 0);
            assert_eq!(t.gm_identity, CLOCK);
        }
        d => panic!("{d:?}"),
    }
}

#[test]
fn wildcard_port_gets_one_answer_per_port() {
    let r = parsed(&rw(&get(id::PORT_DATA_SET)));
    assert_eq!(r.len(), 2);
    for (m, (n, st)) in r
        .iter()
        .zip([(1, PortState::Slave), (2, PortState::Master)])
    {
        assert_eq!(m.header.source_port_identity, PortIdentity::new(CLOCK, n));
        match data(m) {
            ManagementData::PortDataSet(p) => {
                assert_eq!(p.port_identity.port_number, n);
                assert_eq!(p.port_state, st.to_wire());
                assert_eq!(p.delay_mechanism, 1);
                assert_eq!(p.log_announce_interval, 1);
                assert_eq!(p.version_number, 0x12);
            }
            d => panic!("{d:?}"),
        }
    }
    let r = parsed(&rw(&get(id::PORT_PROPERTIES_NP)));
    assert_eq!(r.len(), 2);
    match data(&r[1]) {
        ManagementData::PortPropertiesNp(p) => {
            assert_eq!(p.interface.as_bytes(), b"eth1");
            assert_eq!(p.port_state, PortState::Master.to_wire());
            assert_eq!(p.timestamping, 0);
        }
        d => panic!("{d:?}"),
    }
    let r = parsed(&rw(&get(id::PORT_DATA_SET_NP)));
    assert_eq!(
        data(&r[0]),
        &ManagementData::Raw(vec![0x01, 0x31, 0x2d, 0, 0, 0, 0, 1])
    );
    assert_eq!(
        data(&r[1]),
        &ManagementData::Raw(vec![0x01, 0x31, 0x2d, 0, 0, 0, 0, 0])
    );
}

#[test]
fn addressed_port_and_missing_port() {
    let req = request(
        ManagementAction::Get,
        PortIdentity::new(CLOCK, 2),
        id::PORT_DATA_SET,
        ManagementData::Empty,
    );
    let r = parsed(&rw(&req));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].header.source_port_identity.port_number, 2);
    // Port 9 does not exist: WRONG_VALUE from the clock (IEEE 1588 interpretation 21).
    let req = request(
        ManagementAction::Get,
        PortIdentity::new(ClockIdentity::ALL, 9),
        id::PORT_DATA_SET,
        ManagementData::Empty,
    );
    let r = parsed(&rw(&req));
    assert_eq!(r.len(), 1);
    assert_eq!(error(&r[0]), (error_id::WRONG_VALUE, id::PORT_DATA_SET));
    // A clock-scoped ID ignores the port number.
    let req = request(
        ManagementAction::Get,
        PortIdentity::new(CLOCK, 9),
        id::PRIORITY1,
        ManagementData::Empty,
    );
    assert_eq!(data(&parsed(&rw(&req))[0]), &ManagementData::Priority1(120));
}

#[test]
fn other_clock_domain_and_answers_are_ignored() {
    let req = request(
        ManagementAction::Get,
        PortIdentity::new(GM, 0xffff),
        id::PORT_DATA_SET,
        ManagementData::Empty,
    );
    assert_eq!(rw(&req).ignored, Some(Ignored::NotForThisClock));
    let mut v = view();
    v.default_ds.domain_number = 0;
    let out = handle_management(&get(id::PRIORITY1), &v, Access::UdsReadWrite);
    assert_eq!(out.ignored, Some(Ignored::WrongDomain { domain: 3 }));
    let resp = request(
        ManagementAction::Response,
        PortIdentity::ALL,
        id::PRIORITY1,
        ManagementData::Priority1(1),
    );
    assert_eq!(rw(&resp).ignored, Some(Ignored::NotARequest));
    assert!(matches!(
        rw(&[0u8; 20]).ignored,
        Some(Ignored::Malformed(_))
    ));
    assert!(rw(&get(id::PRIORITY1)[..50]).ignored.is_some());
}

#[test]
fn set_priority1_answers_new_value_and_emits_command() {
    let out = rw(&set(id::PRIORITY1, ManagementData::Priority1(100)));
    let r = parsed(&out);
    assert_eq!(r.len(), 1);
    assert_eq!(action(&r[0]), ManagementAction::Response);
    assert_eq!(data(&r[0]), &ManagementData::Priority1(100));
    assert_eq!(out.command, Some(ManagementCommand::SetPriority1(100)));
    assert!(ManagementCommand::SetPriority1(100).needs_state_decision());
    let out = rw(&set(id::PRIORITY2, ManagementData::Priority2(7)));
    assert_eq!(out.command, Some(ManagementCommand::SetPriority2(7)));
}

#[test]
fn set_sync_uncertain_values() {
    let out = rw(&set(
        id::SYNCHRONIZATION_UNCERTAIN_NP,
        ManagementData::SynchronizationUncertainNp(0),
    ));
    assert_eq!(
        data(&parsed(&out)[0]),
        &ManagementData::SynchronizationUncertainNp(0)
    );
    assert_eq!(
        out.command,
        Some(ManagementCommand::SetSyncUncertain(SyncUncertain::False))
    );
    assert!(!ManagementCommand::SetSyncUncertain(SyncUncertain::False).needs_state_decision());
    let out = rw(&set(
        id::SYNCHRONIZATION_UNCERTAIN_NP,
        ManagementData::SynchronizationUncertainNp(0xff),
    ));
    assert_eq!(
        out.command,
        Some(ManagementCommand::SetSyncUncertain(SyncUncertain::DontCare))
    );
    let out = rw(&set(
        id::SYNCHRONIZATION_UNCERTAIN_NP,
        ManagementData::SynchronizationUncertainNp(7),
    ));
    assert_eq!(
        error(&parsed(&out)[0]),
        (error_id::WRONG_VALUE, id::SYNCHRONIZATION_UNCERTAIN_NP)
    );
    assert_eq!(out.command, None);
}

#[test]
fn wrong_length_errors() {
    // SET without data (ptp4l's check) and with data of the wrong size.
    let out = rw(&set(id::PRIORITY1, ManagementData::Empty));
    assert_eq!(
        error(&parsed(&out)[0]),
        (error_id::WRONG_LENGTH, id::PRIORITY1)
    );
    let out = rw(&set(id::PRIORITY1, ManagementData::Raw(vec![1, 0, 0, 0])));
    assert_eq!(
        error(&parsed(&out)[0]),
        (error_id::WRONG_LENGTH, id::PRIORITY1)
    );
    assert_eq!(out.command, None);
    // GET ignores its data, whatever its length (pmc sends zeros; pmc -z none).
    let req = request(
        ManagementAction::Get,
        PortIdentity::ALL,
        id::PRIORITY1,
        ManagementData::Raw(vec![0; 6]),
    );
    assert_eq!(data(&parsed(&rw(&req))[0]), &ManagementData::Priority1(120));
}

#[test]
fn unknown_unsupported_and_read_only_ids() {
    let out = rw(&get(0x7abc));
    let r = parsed(&out);
    assert_eq!(r.len(), 1, "NO_SUCH_ID once, not per port");
    assert_eq!(error(&r[0]), (error_id::NO_SUCH_ID, 0x7abc));
    assert_eq!(r[0].header.source_port_identity.port_number, 1);
    // Known but not implemented: clock-scoped once, port-scoped per port.
    assert_eq!(
        error(&parsed(&rw(&get(id::TIME)))[0]),
        (error_id::NOT_SUPPORTED, id::TIME)
    );
    let r = parsed(&rw(&get(id::CLOCK_DESCRIPTION)));
    assert_eq!(r.len(), 2);
    assert_eq!(error(&r[1]).0, error_id::NOT_SUPPORTED);
    // PORT_STATS_NP without counters, GRANDMASTER_SETTINGS_NP without settings.
    assert_eq!(
        error(&parsed(&rw(&get(id::PORT_STATS_NP)))[0]).0,
        error_id::NOT_SUPPORTED
    );
    assert_eq!(
        error(&parsed(&rw(&get(id::GRANDMASTER_SETTINGS_NP)))[0]).0,
        error_id::NOT_SUPPORTED
    );
    // SET of a GET-only data set: NOT_SETABLE; of a settable one xptp lacks: NOT_SUPPORTED.
    let out = rw(&set(id::CURRENT_DATA_SET, ManagementData::Raw(vec![0; 18])));
    assert_eq!(
        error(&parsed(&out)[0]),
        (error_id::NOT_SETABLE, id::CURRENT_DATA_SET)
    );
    let out = rw(&set(id::DOMAIN, ManagementData::Domain(4)));
    assert_eq!(
        error(&parsed(&out)[0]),
        (error_id::NOT_SUPPORTED, id::DOMAIN)
    );
    assert_eq!(out.command, None);
}

#[test]
fn null_management_get_and_command() {
    let r = parsed(&rw(&get(id::NULL_MANAGEMENT)));
    assert_eq!(r.len(), 2);
    assert_eq!(data(&r[0]), &ManagementData::Empty);
    let req = request(
        ManagementAction::Command,
        PortIdentity::ALL,
        id::NULL_MANAGEMENT,
        ManagementData::Empty,
    );
    let r = parsed(&rw(&req));
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|m| action(m) == ManagementAction::Acknowledge));
    let req = request(
        ManagementAction::Command,
        PortIdentity::ALL,
        id::ENABLE_PORT,
        ManagementData::Empty,
    );
    let r = parsed(&rw(&req));
    assert_eq!(action(&r[0]), ManagementAction::Acknowledge);
    assert_eq!(error(&r[0]).0, error_id::NOT_SUPPORTED);
}

#[test]
fn read_only_and_network_access_refuse_set() {
    let req = set(id::PRIORITY1, ManagementData::Priority1(1));
    let out = handle_management(&req, &view(), Access::UdsReadOnly);
    let r = parsed(&out);
    assert_eq!(out.command, None);
    assert!(out.refused);
    match r[0].tlvs.first() {
        Some(TlvRepr::ManagementErrorStatus(ManagementErrorStatusTlv {
            management_error_id,
            display_data: Some(t),
            ..
        })) => {
            assert_eq!(*management_error_id, error_id::NOT_SETABLE);
            assert_eq!(t.as_bytes(), b"read-only management socket");
        }
        other => panic!("{other:?}"),
    }
    let out = handle_management(&req, &view(), Access::Network { port_number: 2 });
    let r = parsed(&out);
    assert!(out.refused && out.command.is_none());
    assert_eq!(error(&r[0]).0, error_id::NOT_SUPPORTED);
    assert_eq!(
        r[0].header.source_port_identity,
        PortIdentity::new(CLOCK, 2)
    );
    // GET is fine on both.
    let out = handle_management(&get(id::PRIORITY1), &view(), Access::UdsReadOnly);
    assert!(!out.refused);
    assert_eq!(data(&parsed(&out)[0]), &ManagementData::Priority1(120));
    assert!(!handle_management(&req, &view(), Access::UdsReadWrite).refused);
}

#[test]
fn network_management_frames() {
    use std::net::Ipv4Addr;
    use xptp_datapath::wire::frame::{self, NetworkRepr, Transport};
    use xptp_datapath::wire::MessageType;
    let msg = MessageRepr::parse(&get(id::CURRENT_DATA_SET)).unwrap();
    let t = Transport::udp4_multicast(
        [2, 0, 0, 0, 0, 9],
        Ipv4Addr::new(10, 0, 0, 9),
        MessageType::Management,
    );
    let req = frame::build(&t, &msg).unwrap();
    let ingress = IngressPort {
        port_number: 1,
        mac: [2, 0, 0, 0, 0, 1],
        ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
        ipv6: None,
    };
    let off =
        handle_network_management(&req, &ingress, &view(), NetworkManagementConfig::default());
    assert!(off.frames.is_empty());
    assert_eq!(off.ignored.map(|i| i.reason()), Some("disabled"));
    let on = NetworkManagementConfig { enabled: true };
    let out = handle_network_management(&req, &ingress, &view(), on);
    assert_eq!(out.frames.len(), 1);
    let f = frame::FrameRepr::parse(&out.frames[0]).unwrap();
    assert_eq!(f.transport.ethernet.src, ingress.mac);
    match f.transport.network {
        NetworkRepr::Udp4 { src, dst, .. } => {
            assert_eq!(src, Ipv4Addr::new(10, 0, 0, 1));
            assert_eq!(dst, Ipv4Addr::new(224, 0, 1, 129));
        }
        n => panic!("{n:?}"),
    }
    assert_eq!(
        f.message.header.source_port_identity,
        PortIdentity::new(CLOCK, 1)
    );
    assert!(matches!(
        data(&f.message),
        ManagementData::CurrentDataSet(_)
    ));
    assert!(!out.refused);
    // A SET over the network is answered NOT_SUPPORTED and reported as refused.
    let set_msg = MessageRepr::parse(&set(id::PRIORITY1, ManagementData::Priority1(1))).unwrap();
    let out =
        handle_network_management(&frame::build(&t, &set_msg).unwrap(), &ingress, &view(), on);
    assert!(out.refused && out.ignored.is_none());
    let f = frame::FrameRepr::parse(&out.frames[0]).unwrap();
    assert_eq!(error(&f.message).0, error_id::NOT_SUPPORTED);
    // UDP request on a port without an IPv4 address cannot be answered.
    let no_ip = IngressPort {
        ipv4: None,
        ..ingress
    };
    let out = handle_network_management(&req, &no_ip, &view(), on);
    assert_eq!(out.ignored.map(|i| i.reason()), Some("no_source_address"));
    // PORT_PROPERTIES_NP is UDS only (ptp4l).
    let msg = MessageRepr::parse(&get(id::PORT_PROPERTIES_NP)).unwrap();
    let out = handle_network_management(&frame::build(&t, &msg).unwrap(), &ingress, &view(), on);
    let f = frame::FrameRepr::parse(&out.frames[0]).unwrap();
    assert_eq!(error(&f.message).0, error_id::NOT_SUPPORTED);
}

mod uds_server {
    use std::os::unix::net::UnixDatagram;
    use std::time::Duration;

    use super::*;
    use crate::mgmt::uds::{UdsConfig, UdsError, UdsServer};

    fn cfg(dir: &std::path::Path) -> UdsConfig {
        UdsConfig {
            address: dir.join("xptp"),
            ro_address: Some(dir.join("xptp.ro")),
            ..UdsConfig::default()
        }
    }

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("xptp-uds-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn answers_to_the_sender_and_queues_for_a_full_client() {
        let d = tmpdir("queue");
        let mut s = UdsServer::bind(&cfg(&d)).unwrap();
        let client = UnixDatagram::bind(d.join("client")).unwrap();
        // 40 requests answered twice each while the client does not read: far more than a
        // UNIX datagram queue holds (10 by default). The server reads each request at once
        // (its own queue must not fill either, or the client's send would block).
        let v = view();
        for _ in 0..40 {
            client
                .send_to(&get(id::PORT_DATA_SET), d.join("xptp"))
                .unwrap();
            assert!(s.poll(&v).is_empty());
        }
        assert!(s.has_pending(), "{:?}", s.counters());
        client
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let mut got = 0;
        let mut buf = [0u8; 512];
        for _ in 0..2_000 {
            s.poll(&v);
            match client.recv(&mut buf) {
                Ok(n) => {
                    let m = MessageRepr::parse(&buf[..n]).unwrap();
                    assert!(matches!(data(&m), ManagementData::PortDataSet(_)));
                    got += 1;
                }
                Err(_) if !s.has_pending() => break,
                Err(_) => {}
            }
            if got == 80 {
                break;
            }
        }
        assert_eq!(got, 80, "two answers per request: {:?}", s.counters());
        assert_eq!(s.counters().send_failed, 0);
        assert!(s.counters().send_deferred > 0, "the queue was exercised");
        drop(s);
        assert!(!d.join("xptp").exists(), "socket removed on drop");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn set_returns_the_command_and_stops_the_batch() {
        let d = tmpdir("set");
        let mut s = UdsServer::bind(&cfg(&d)).unwrap();
        let client = UnixDatagram::bind(d.join("c")).unwrap();
        client
            .send_to(
                &set(id::PRIORITY1, ManagementData::Priority1(99)),
                d.join("xptp"),
            )
            .unwrap();
        client.send_to(&get(id::PRIORITY1), d.join("xptp")).unwrap();
        let mut v = view();
        let cmds = s.poll(&v);
        assert_eq!(cmds, vec![ManagementCommand::SetPriority1(99)]);
        for c in cmds {
            v.apply(c);
        }
        assert!(s.poll(&v).is_empty());
        let mut buf = [0u8; 256];
        let mut seen = Vec::new();
        for _ in 0..2 {
            let n = client.recv(&mut buf).unwrap();
            seen.push(data(&MessageRepr::parse(&buf[..n]).unwrap()).clone());
        }
        assert_eq!(
            seen,
            vec![ManagementData::Priority1(99), ManagementData::Priority1(99)],
            "the GET behind the SET sees the applied value"
        );
        // The same SET on the read-only socket changes nothing.
        client
            .send_to(
                &set(id::PRIORITY1, ManagementData::Priority1(1)),
                d.join("xptp.ro"),
            )
            .unwrap();
        assert!(s.poll(&v).is_empty());
        let n = client.recv(&mut buf).unwrap();
        assert_eq!(
            error(&MessageRepr::parse(&buf[..n]).unwrap()).0,
            error_id::NOT_SETABLE
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn bind_errors_name_the_cause() {
        let d = tmpdir("errors");
        let missing = UdsConfig {
            address: d.join("no/such/dir/xptp"),
            ro_address: None,
            ..UdsConfig::default()
        };
        let e = UdsServer::bind(&missing).unwrap_err();
        assert!(matches!(e, UdsError::DirectoryMissing { .. }), "{e}");
        assert!(e.to_string().contains("does not exist"));
        // A regular file in the way is not removed.
        std::fs::write(d.join("xptp"), b"keep me").unwrap();
        let e = UdsServer::bind(&cfg(&d)).unwrap_err();
        assert!(matches!(e, UdsError::NotASocket { .. }), "{e}");
        assert_eq!(std::fs::read(d.join("xptp")).unwrap(), b"keep me");
        std::fs::remove_file(d.join("xptp")).unwrap();
        // A live server is not replaced; a stale socket file is.
        let live = UdsServer::bind(&cfg(&d)).unwrap();
        let e = UdsServer::bind(&cfg(&d)).unwrap_err();
        assert!(matches!(e, UdsError::InUse { .. }), "{e}");
        drop(live);
        let stale = UnixDatagram::bind(d.join("xptp")).unwrap();
        drop(stale);
        assert!(d.join("xptp").exists());
        let s = UdsServer::bind(&cfg(&d)).unwrap();
        assert_eq!(s.paths().len(), 2);
        drop(s);
        let _ = std::fs::remove_dir_all(&d);
    }
}

#[test]
fn snapshot_apply() {
    let mut v = view();
    v.apply(ManagementCommand::SetPriority2(5));
    v.apply(ManagementCommand::SetSyncUncertain(SyncUncertain::True));
    assert_eq!(v.default_ds().priority2, 5);
    assert_eq!(v.sync_uncertain(), SyncUncertain::True);
    assert_eq!(SyncUncertain::from_wire(2), None);
}
