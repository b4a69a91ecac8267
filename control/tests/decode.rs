//! `xptp decode` on captures written here: every message type on every framing, plus a
//! truncated PTP frame and a non-PTP frame, in pcap and pcapng.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, TsResolution};
use xptp_control::decode::{decode_file, decode_reader, DecodeError, Format};
use xptp_datapath::wire::frame::{self, Transport, VlanTag};
use xptp_datapath::wire::tlv::{management::id, ManagementData, ManagementTlv};
use xptp_datapath::wire::*;

const MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

fn port(n: u16) -> PortIdentity {
    PortIdentity::new(ClockIdentity::from_mac(MAC), n)
}

fn ts() -> Timestamp {
    Timestamp {
        seconds: 1_700_000_000,
        nanoseconds: 123_456_789,
    }
}

fn bodies() -> Vec<Body> {
    vec![
        Body::Sync {
            origin_timestamp: ts(),
        },
        Body::DelayReq {
            origin_timestamp: ts(),
        },
        Body::PdelayReq {
            origin_timestamp: ts(),
        },
        Body::PdelayResp {
            request_receipt_timestamp: ts(),
            requesting_port_identity: port(7),
        },
        Body::FollowUp {
            precise_origin_timestamp: ts(),
        },
        Body::DelayResp {
            receive_timestamp: ts(),
            requesting_port_identity: port(7),
        },
        Body::PdelayRespFollowUp {
            response_origin_timestamp: ts(),
            requesting_port_identity: port(7),
        },
        Body::Announce(AnnounceBody {
            origin_timestamp: ts(),
            current_utc_offset: 37,
            grandmaster_priority1: 100,
            grandmaster_clock_quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: 0x21,
                offset_scaled_log_variance: 0x4e5d,
            },
            grandmaster_priority2: 128,
            grandmaster_identity: ClockIdentity([0xaa, 0xbb, 0xcc, 0xff, 0xfe, 0xdd, 0xee, 0x01]),
            steps_removed: 3,
            time_source: 0x20,
        }),
        Body::Signaling {
            target_port_identity: PortIdentity::ALL,
        },
        Body::Management(ManagementBody {
            target_port_identity: PortIdentity::ALL,
            starting_boundary_hops: 1,
            boundary_hops: 1,
            action: ManagementAction::Get,
        }),
    ]
}

fn message(body: Body, seq: u16) -> MessageRepr {
    let mut m = MessageRepr::new(
        HeaderRepr {
            domain_number: 24,
            source_port_identity: port(1),
            sequence_id: seq,
            correction: TimeInterval(-0x2_8000), // -2.5 ns
            ..HeaderRepr::default()
        },
        body,
    );
    if m.message_type() == MessageType::Management {
        m.tlvs.push(TlvRepr::Management(ManagementTlv {
            management_id: id::TIME_STATUS_NP,
            data: ManagementData::Empty,
        }));
    }
    m
}

fn transports(mtype: MessageType) -> Vec<Transport> {
    let v4 = Ipv4Addr::new(192, 168, 1, 10);
    let v6: Ipv6Addr = "fe80::11:22ff:fe33:4455".parse().unwrap();
    vec![
        Transport::l2_multicast(MAC, mtype),
        Transport::l2_multicast(MAC, mtype).with_vlan(VlanTag::dot1q(100, 7)),
        Transport::udp4_multicast(MAC, v4, mtype),
        Transport::udp6_multicast(MAC, v6, mtype).with_vlan(VlanTag {
            tpid: frame::TPID_8021AD,
            pcp: 0,
            dei: false,
            vid: 5,
        }),
    ]
}

/// Frames with their capture times: 10 types x 4 framings, then an ARP frame and a truncated
/// Announce.
fn frames() -> Vec<(Duration, Vec<u8>)> {
    let mut out = Vec::new();
    let mut seq = 0;
    for body in bodies() {
        for t in transports(body.message_type()) {
            seq += 1;
            let f = frame::build(&t, &message(body, seq)).unwrap();
            out.push((Duration::new(1_700_000_000, u32::from(seq) * 1000), f));
        }
    }
    let mut arp =
        frame::build(&transports(MessageType::Sync)[0], &message(bodies()[0], 0)).unwrap();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    out.push((Duration::new(1_700_000_001, 0), arp));
    let ann = frame::build(
        &transports(MessageType::Announce)[0],
        &message(bodies()[7], 999),
    )
    .unwrap();
    out.push((Duration::new(1_700_000_002, 0), ann[..14 + 50].to_vec()));
    out
}

fn pcap_bytes() -> Vec<u8> {
    let header = PcapHeader {
        ts_resolution: TsResolution::NanoSecond,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(Vec::new(), header).unwrap();
    for (t, f) in frames() {
        w.write_packet(&PcapPacket::new(t, f.len() as u32, &f))
            .unwrap();
    }
    w.into_writer()
}

fn decode(bytes: &[u8], format: Format) -> (xptp_control::decode::Summary, Vec<String>) {
    let mut out = Vec::new();
    let s = decode_reader(bytes, format, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    (s, text.lines().map(str::to_string).collect())
}

#[test]
fn text_lines_for_every_message_and_framing() {
    let (s, lines) = decode(&pcap_bytes(), Format::Text);
    assert_eq!(lines.len(), 40 + 1 + 1, "{lines:#?}");
    assert_eq!(s.ptp, 40);
    assert_eq!(s.non_ptp, 1);
    assert_eq!(s.malformed, 1);
    assert_eq!(s.frames, 42);
    for name in [
        "Sync",
        "Delay_Req",
        "Pdelay_Req",
        "Pdelay_Resp",
        "Follow_Up",
        "Delay_Resp",
        "Pdelay_Resp_Follow_Up",
        "Announce",
        "Signaling",
        "Management",
    ] {
        assert_eq!(s.by_type.get(name), Some(&4), "{name}");
    }
    // First Sync on plain L2.
    assert_eq!(
        lines[0],
        "1700000000.000001000 02:11:22:33:44:55 -> 01:1b:19:00:00:00 L2 domain 24 Sync seq 1 \
         src 021122.fffe.334455-1 corr -2.5 ns ts 1700000000.123456789"
    );
    assert!(
        lines[1].contains(" L2 vlan 100 domain 24 Sync seq 2 "),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("192.168.1.10:319 -> 224.0.1.129:319 UDPv4 domain 24 Sync"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].contains("[fe80::11:22ff:fe33:4455]:319 -> [ff0e::181]:319 UDPv6 vlan 5"),
        "{}",
        lines[3]
    );
    // Pdelay goes to the peer-delay addresses.
    assert!(lines[8].contains("-> 01:80:c2:00:00:0e L2"), "{}", lines[8]);
    assert!(lines[10].contains("-> 224.0.0.107:319"), "{}", lines[10]);
    // Delay_Resp carries the requesting port, on the general port.
    let dresp = &lines[20];
    assert!(dresp.contains("Delay_Resp seq 21"), "{dresp}");
    assert!(dresp.contains("req 021122.fffe.334455-7"), "{dresp}");
    assert!(
        lines[22].contains(":320 -> 224.0.1.129:320"),
        "{}",
        lines[22]
    );
    let ann = &lines[28];
    assert!(
        ann.contains("Announce seq 29")
            && ann.contains("gm aabbcc.fffe.ddee01 p1 100 class 6 steps 3"),
        "{ann}"
    );
    assert!(lines[36].contains("Management seq 37") && lines[36].contains("GET TIME_STATUS_NP"));
    // The truncated Announce names the field at fault.
    let bad = &lines[40];
    assert!(bad.starts_with("1700000002.000000000"), "{bad}");
    assert!(bad.contains("MALFORMED: bad messageLength 64"), "{bad}");
    assert!(lines[41].starts_with("summary: 42 frames, 40 PTP messages (Announce 4,"));
    assert!(
        lines[41].ends_with("1 non-PTP skipped, 1 malformed"),
        "{}",
        lines[41]
    );
}

#[test]
fn json_lines() {
    let (_, lines) = decode(&pcap_bytes(), Format::Json);
    let v: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sync = &v[3];
    assert_eq!(sync["message_type"], "Sync");
    assert_eq!(sync["transport"], "UDPv6");
    assert_eq!(sync["vlan"], 5);
    assert_eq!(sync["domain"], 24);
    assert_eq!(sync["sequence_id"], 4);
    assert_eq!(sync["src"], "[fe80::11:22ff:fe33:4455]:319");
    assert_eq!(sync["source_port_identity"], "021122.fffe.334455-1");
    assert_eq!(sync["correction_ns"], -2.5);
    assert_eq!(sync["correction"], "-2.5");
    assert_eq!(sync["timestamp"], "1700000000.123456789");
    assert_eq!(sync["time"], "1700000000.000004000");
    let ann = &v[28];
    assert_eq!(ann["grandmaster_identity"], "aabbcc.fffe.ddee01");
    assert_eq!(ann["priority1"], 100);
    assert_eq!(ann["clock_class"], 6);
    assert_eq!(ann["steps_removed"], 3);
    assert_eq!(v[4]["message_type"], "Delay_Req");
    assert_eq!(v[4]["vlan"], serde_json::Value::Null);
    assert_eq!(v[12]["requesting_port_identity"], "021122.fffe.334455-7");
    assert_eq!(v[36]["management_id"], "TIME_STATUS_NP");
    assert_eq!(v[40]["reason"], "bad_message_length");
    assert!(v[40]["malformed"]
        .as_str()
        .unwrap()
        .contains("messageLength"));
    let s = &v[41]["summary"];
    assert_eq!(s["ptp"], 40);
    assert_eq!(s["malformed"], 1);
    assert_eq!(s["non_ptp"], 1);
    assert_eq!(s["by_type"]["Pdelay_Resp_Follow_Up"], 4);
}

#[test]
fn pcapng_timestamps_follow_if_tsresol() {
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: 0xffff,
        options: vec![],
    })
    .unwrap();
    let f = frame::build(&transports(MessageType::Sync)[2], &message(bodies()[0], 9)).unwrap();
    // Default resolution is microseconds: raw 1_500_000 units = 1.5 s. (pcap-file 2 stores
    // the raw units in the Duration's nanoseconds.)
    w.write_pcapng_block(EnhancedPacketBlock {
        interface_id: 0,
        timestamp: Duration::from_nanos(1_500_000),
        original_len: f.len() as u32,
        data: f.clone().into(),
        options: vec![],
    })
    .unwrap();
    let (s, lines) = decode(&w.into_inner(), Format::Text);
    assert_eq!(s.ptp, 1);
    assert!(
        lines[0].starts_with("1.500000000 192.168.1.10:319 -> 224.0.1.129:319 UDPv4"),
        "{}",
        lines[0]
    );
}

#[test]
fn missing_and_non_capture_files_are_clear_errors() {
    let mut out = Vec::new();
    let e = decode_file("/nonexistent/x.pcap".as_ref(), Format::Text, &mut out).unwrap_err();
    assert!(matches!(e, DecodeError::Open { .. }));
    assert!(e.to_string().contains("cannot open /nonexistent/x.pcap"));
    let dir = std::env::temp_dir().join(format!("xptp-decode-test-{}", std::process::id()));
    std::fs::write(&dir, b"hello, this is not a capture").unwrap();
    let e = decode_file(&dir, Format::Text, &mut out).unwrap_err();
    std::fs::remove_file(&dir).unwrap();
    assert!(matches!(e, DecodeError::NotCapture { .. }), "{e}");
    assert!(
        e.to_string().contains("is not a pcap or pcapng capture"),
        "{e}"
    );
    let e = decode_reader(&b"ab"[..], Format::Text, &mut out).unwrap_err();
    assert!(matches!(e, DecodeError::NotCapture { .. }));
}

#[test]
fn binary_exits_non_zero_on_bad_file() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xptp"))
        .args(["decode", "/nonexistent/x.pcap"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open /nonexistent/x.pcap"), "{err}");
}
