//! BPF_PROG_TEST_RUN of the portable XDP build on hand-built golden frames: the verdict, the
//! metadata written in front of steered frames, and the per-CPU decision counters.
//!
//! With an AF_XDP socket registered for queue 0 (bound in a namespace of the test's own), a
//! steered frame comes back as XDP_REDIRECT with `struct xptp_meta` in front of it; with the
//! XSKMAP empty it falls back to the kernel (XDP_PASS) exactly as it came, the block taken off
//! again, and counts NO_SOCKET. Passed frames come back unchanged either way.

mod common;

use xptp_ebpf::{
    abi::{
        cnt, XptpMeta, META_F_EVENT, META_F_L2, META_F_TAI_VALID, META_F_UDP4, META_F_UDP6,
        META_F_VLAN, META_LEN,
    },
    Counters, SteeringProgram,
};

use libbpf_sys::{XDP_PASS, XDP_REDIRECT};

/// IEEE 1588-2019 Sync (13.6), 44 bytes: two-step, sequenceId 1, port 02:00:00:ff:fe:00:00:01/1.
const SYNC: [u8; 44] = [
    0x00, 0x02, 0x00, 0x2c, // messageType Sync, versionPTP 2, messageLength 44
    0x00, 0x00, 0x02, 0x00, // domain 0, minorSdoId 0, flags: twoStepFlag
    0, 0, 0, 0, 0, 0, 0, 0, // correctionField
    0, 0, 0, 0, // messageTypeSpecific
    0x02, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x01, 0x00, 0x01, // sourcePortIdentity
    0x00, 0x01, // sequenceId
    0x00, 0x00, // controlField, logMessageInterval
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // originTimestamp
];

const ETH_PTP: [u8; 14] = [
    0x01, 0x1b, 0x19, 0x00, 0x00, 0x00, // dst: PTP primary L2 multicast (Annex E)
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src
    0x88, 0xf7, // Ethertype PTP
];
const ETH_VLAN_PTP: [u8; 18] = [
    0x01, 0x1b, 0x19, 0x00, 0x00, 0x00, //
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, //
    0x81, 0x00, 0x60, 0x64, // 802.1Q, PCP 3, VID 100
    0x88, 0xf7,
];
const ETH_V4: [u8; 14] = [
    0x01, 0x00, 0x5e, 0x00, 0x01, 0x81, // 224.0.1.129
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, //
    0x08, 0x00,
];
const ETH_V6: [u8; 14] = [
    0x33, 0x33, 0x00, 0x00, 0x00, 0x6b, // ff02::6b
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, //
    0x86, 0xdd,
];
/// IPv4, UDP, 192.0.2.1 -> 224.0.1.129, DF, TTL 1, total 72.
const IP4_UDP: [u8; 20] = [
    0x45, 0x00, 0x00, 0x48, 0x12, 0x34, 0x40, 0x00, 0x01, 0x11, 0xc3, 0xee, //
    0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00, 0x01, 0x81,
];
/// Same with IHL 6 (one 4-byte option: NOP NOP NOP EOL), total 76.
const IP4_UDP_OPTS: [u8; 24] = [
    0x46, 0x00, 0x00, 0x4c, 0x12, 0x34, 0x40, 0x00, 0x01, 0x11, 0xc0, 0xe9, //
    0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00, 0x01, 0x81, 0x01, 0x01, 0x01, 0x00,
];
/// First fragment (MF set, offset 0).
const IP4_UDP_MF: [u8; 20] = [
    0x45, 0x00, 0x00, 0x48, 0x12, 0x34, 0x20, 0x00, 0x01, 0x11, 0xe3, 0xee, //
    0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00, 0x01, 0x81,
];
/// Non-first fragment (offset 5 * 8 bytes, MF clear).
const IP4_UDP_OFF: [u8; 20] = [
    0x45, 0x00, 0x00, 0x48, 0x12, 0x34, 0x00, 0x05, 0x01, 0x11, 0x03, 0xea, //
    0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00, 0x01, 0x81,
];
/// IPv4 ICMP 192.0.2.1 -> 192.0.2.2, total 36.
const IP4_ICMP: [u8; 20] = [
    0x45, 0x00, 0x00, 0x24, 0x12, 0x34, 0x40, 0x00, 0x01, 0x01, 0xe3, 0xa1, //
    0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02,
];
const ICMP_ECHO: [u8; 16] = [
    0x08, 0x00, 0xf7, 0xfe, 0x00, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
];
/// UDP 319 -> 319, length 52, checksum 0 (none; XDP does not verify it).
const UDP_319: [u8; 8] = [0x01, 0x3f, 0x01, 0x3f, 0x00, 0x34, 0x00, 0x00];
const UDP_320: [u8; 8] = [0x01, 0x40, 0x01, 0x40, 0x00, 0x34, 0x00, 0x00];
const UDP_5555: [u8; 8] = [0x15, 0xb3, 0x15, 0xb3, 0x00, 0x34, 0x00, 0x00];
/// IPv6 fixed header, next header UDP, hop limit 1, fe80::1 -> ff02::6b, payload 52.
const IP6_UDP: [u8; 40] = [
    0x60, 0x00, 0x00, 0x00, 0x00, 0x34, 0x11, 0x01, //
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, //
    0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x6b,
];
/// ARP request who-has 192.0.2.2 tell 192.0.2.1.
const ARP: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, //
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, //
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x01, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x02,
];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `ip6` with its next-header byte replaced.
fn ip6_nh(nh: u8) -> [u8; 40] {
    let mut h = IP6_UDP;
    h[6] = nh;
    h
}

/// A golden frame: bytes, the counter its decision increments, the metadata flags when steered,
/// and where the headers end (the first byte of the PTP message) for truncation tests.
struct Golden {
    name: &'static str,
    bytes: Vec<u8>,
    decision: u32,
    steer_flags: Option<u16>,
    vlan: bool,
}

fn goldens() -> Vec<Golden> {
    let g = |name, bytes, decision, steer_flags, vlan| Golden {
        name,
        bytes,
        decision,
        steer_flags,
        vlan,
    };
    vec![
        g(
            "L2 PTP",
            cat(&[&ETH_PTP, &SYNC]),
            cnt::STEER_L2,
            Some(META_F_L2),
            false,
        ),
        g(
            "802.1Q L2 PTP",
            cat(&[&ETH_VLAN_PTP, &SYNC]),
            cnt::STEER_L2,
            Some(META_F_L2 | META_F_VLAN),
            true,
        ),
        g(
            "UDPv4 319",
            cat(&[&ETH_V4, &IP4_UDP, &UDP_319, &SYNC]),
            cnt::STEER_UDP4,
            Some(META_F_UDP4 | META_F_EVENT),
            false,
        ),
        g(
            "UDPv4 320",
            cat(&[&ETH_V4, &IP4_UDP, &UDP_320, &SYNC]),
            cnt::STEER_UDP4,
            Some(META_F_UDP4),
            false,
        ),
        g(
            "UDPv4 319 with IP options",
            cat(&[&ETH_V4, &IP4_UDP_OPTS, &UDP_319, &SYNC]),
            cnt::STEER_UDP4,
            Some(META_F_UDP4 | META_F_EVENT),
            false,
        ),
        g(
            "UDPv6 319",
            cat(&[&ETH_V6, &IP6_UDP, &UDP_319, &SYNC]),
            cnt::STEER_UDP6,
            Some(META_F_UDP6 | META_F_EVENT),
            false,
        ),
        g(
            "UDPv6 320",
            cat(&[&ETH_V6, &IP6_UDP, &UDP_320, &SYNC]),
            cnt::STEER_UDP6,
            Some(META_F_UDP6),
            false,
        ),
        g(
            "UDPv4 5555",
            cat(&[&ETH_V4, &IP4_UDP, &UDP_5555, &SYNC]),
            cnt::PASS_NON_PTP,
            None,
            false,
        ),
        g(
            "UDPv6 5555",
            cat(&[&ETH_V6, &IP6_UDP, &UDP_5555, &SYNC]),
            cnt::PASS_NON_PTP,
            None,
            false,
        ),
        g(
            "ICMP echo",
            cat(&[&ETH_V4, &IP4_ICMP, &ICMP_ECHO]),
            cnt::PASS_NON_PTP,
            None,
            false,
        ),
        g("ARP", ARP.to_vec(), cnt::PASS_NON_PTP, None, false),
        g(
            "IPv4 first fragment to 319",
            cat(&[&ETH_V4, &IP4_UDP_MF, &UDP_319, &SYNC]),
            cnt::PASS_IP_FRAGMENT,
            None,
            false,
        ),
        g(
            "IPv4 later fragment",
            cat(&[&ETH_V4, &IP4_UDP_OFF, &SYNC]),
            cnt::PASS_IP_FRAGMENT,
            None,
            false,
        ),
        g(
            "IPv6 hop-by-hop then UDP 319",
            cat(&[
                &ETH_V6,
                &ip6_nh(0),
                &[17, 0, 1, 4, 0, 0, 0, 0],
                &UDP_319,
                &SYNC,
            ]),
            cnt::PASS_IPV6_EXT,
            None,
            false,
        ),
        g(
            "IPv6 fragment header",
            cat(&[
                &ETH_V6,
                &ip6_nh(44),
                &[17, 0, 0, 1, 0, 0, 0, 1],
                &UDP_319,
                &SYNC,
            ]),
            cnt::PASS_IP_FRAGMENT,
            None,
            false,
        ),
        g(
            "802.1Q-tagged IPv4 UDP 5555",
            cat(&[
                &ETH_VLAN_PTP[..12],
                &[0x81, 0x00, 0x00, 0x64, 0x08, 0x00],
                &IP4_UDP,
                &UDP_5555,
                &SYNC,
            ]),
            cnt::PASS_NON_PTP,
            None,
            true,
        ),
        g(
            "IPv4 with IHL 4",
            cat(&[&ETH_V4, &[0x44], &IP4_UDP[1..], &UDP_319, &SYNC]),
            cnt::PASS_MALFORMED,
            None,
            false,
        ),
    ]
}

fn load() -> SteeringProgram {
    SteeringProgram::load_portable().unwrap_or_else(|e| panic!("loading the XDP program: {e}"))
}

/// The program with an AF_XDP socket registered for queue 0, so that steered frames are
/// redirected; the socket and its namespace live as long as the returned guard.
fn load_with_socket(tag: &str) -> (SteeringProgram, common::VethPair, common::RawXsk) {
    let prog = load();
    let v = common::VethPair::new(tag);
    let xsk = common::in_netns(&v.ns_a, || {
        common::RawXsk::bind(&v.if_a, 0).expect("binding an AF_XDP socket (copy mode)")
    });
    prog.register_xsk(0, std::os::fd::AsFd::as_fd(&xsk.fd))
        .expect("register_xsk");
    (prog, v, xsk)
}

fn delta(after: &Counters, before: &Counters) -> [u64; cnt::MAX as usize] {
    let mut d = [0u64; cnt::MAX as usize];
    for (i, v) in d.iter_mut().enumerate() {
        *v = after.raw[i] - before.raw[i];
    }
    d
}

#[test]
fn golden_frames_get_the_right_verdict_metadata_and_counter() {
    if !common::require_root("golden_frames_get_the_right_verdict_metadata_and_counter") {
        return;
    }
    let (prog, _veth, _xsk) = load_with_socket("tg");
    for g in goldens() {
        let before = prog.counters().unwrap();
        let t0 = common::tai_now_ns();
        let out = prog
            .test_run(&g.bytes, 0)
            .unwrap_or_else(|e| panic!("{}: {e}", g.name));
        let t1 = common::tai_now_ns();
        let after = prog.counters().unwrap();
        let want_action = if g.steer_flags.is_some() {
            XDP_REDIRECT
        } else {
            XDP_PASS
        };
        assert_eq!(out.action, want_action, "{}", g.name);
        assert_eq!(
            out.frame, g.bytes,
            "{}: the program must not modify frames",
            g.name
        );

        let mut want = [0u64; cnt::MAX as usize];
        want[g.decision as usize] = 1;
        if g.vlan {
            want[cnt::VLAN as usize] = 1;
        }
        match g.steer_flags {
            Some(flags) => {
                assert_eq!(out.meta.len(), META_LEN, "{}: metadata length", g.name);
                let m = XptpMeta::from_bytes(&out.meta)
                    .unwrap_or_else(|| panic!("{}: bad magic/version in {:?}", g.name, out.meta));
                assert_eq!(m.flags, flags | META_F_TAI_VALID, "{}: flags", g.name);
                let tai = m.tai_ns().unwrap();
                assert!(
                    (t0..=t1).contains(&tai),
                    "{}: xdp_tai_ns {tai} not CLOCK_TAI within [{t0}, {t1}]",
                    g.name
                );
                assert_eq!(
                    m.hw_ns(),
                    None,
                    "{}: portable build has no HW stamp",
                    g.name
                );
                assert_eq!(m.hw_rx_ns, 0);
            }
            None => assert!(out.meta.is_empty(), "{}: passed frame got metadata", g.name),
        }
        assert_eq!(delta(&after, &before), want, "{}: counters", g.name);
    }
}

/// Cuts every steered golden frame at every length short of "headers + 34-byte PTP header":
/// each must pass untouched and count as malformed (plus VLAN when the tag is complete). At
/// and beyond that length it is steered.
#[test]
fn every_truncation_point_passes_and_counts_malformed() {
    if !common::require_root("every_truncation_point_passes_and_counts_malformed") {
        return;
    }
    let (prog, _veth, _xsk) = load_with_socket("tt");
    let mut runs = 0;
    for g in goldens().into_iter().filter(|g| g.steer_flags.is_some()) {
        let headers = g.bytes.len() - SYNC.len();
        for len in 0..g.bytes.len() {
            let frame = &g.bytes[..len];
            let before = prog.counters().unwrap();
            let out = match prog.test_run(frame, 0) {
                Ok(o) => o,
                // The kernel refuses test input shorter than an Ethernet header.
                Err(e) if len < 14 => {
                    assert!(
                        e.to_string().contains("Invalid argument"),
                        "{} len {len}: {e}",
                        g.name
                    );
                    continue;
                }
                Err(e) => panic!("{} len {len}: {e}", g.name),
            };
            runs += 1;
            let after = prog.counters().unwrap();
            let d = delta(&after, &before);
            let steered = len >= headers + 34;
            let want_action = if steered { XDP_REDIRECT } else { XDP_PASS };
            assert_eq!(out.action, want_action, "{} len {len}", g.name);
            assert_eq!(out.frame, frame, "{} len {len}", g.name);
            if steered {
                assert_eq!(d[g.decision as usize], 1, "{} len {len}: steered", g.name);
                assert_eq!(out.meta.len(), META_LEN, "{} len {len}", g.name);
            } else {
                assert_eq!(
                    d[cnt::PASS_MALFORMED as usize],
                    1,
                    "{} len {len}: {d:?}",
                    g.name
                );
                assert!(out.meta.is_empty(), "{} len {len}", g.name);
                let tag_complete = g.vlan && len >= 18;
                assert_eq!(
                    d[cnt::VLAN as usize],
                    u64::from(tag_complete),
                    "{} len {len}",
                    g.name
                );
                let decisions: u64 = d[..=cnt::STEER_UDP6 as usize].iter().sum();
                assert_eq!(decisions, 1, "{} len {len}: exactly one decision", g.name);
            }
        }
    }
    assert!(runs > 300, "only {runs} truncated frames ran");
}

/// Counters accumulate across runs exactly as the decisions say, and the decision counters sum
/// to the number of frames seen. No socket is registered: every frame, steered or not, goes to
/// the kernel exactly as it came (the metadata block taken off again).
#[test]
fn counters_sum_over_a_mixed_batch() {
    if !common::require_root("counters_sum_over_a_mixed_batch") {
        return;
    }
    let prog = load();
    let gs = goldens();
    let before = prog.counters().unwrap();
    let rounds = 3u64;
    for _ in 0..rounds {
        for g in &gs {
            let out = prog.test_run(&g.bytes, 0).unwrap();
            assert_eq!(out.action, XDP_PASS, "{}", g.name);
            assert_eq!(out.frame, g.bytes, "{}: frame changed", g.name);
            assert!(out.meta.is_empty(), "{}", g.name);
        }
    }
    let after = prog.counters().unwrap();
    let d = delta(&after, &before);
    let steered = gs.iter().filter(|g| g.steer_flags.is_some()).count() as u64;
    assert_eq!(d[cnt::STEER_L2 as usize], 2 * rounds);
    assert_eq!(d[cnt::STEER_UDP4 as usize], 3 * rounds);
    assert_eq!(d[cnt::STEER_UDP6 as usize], 2 * rounds);
    assert_eq!(d[cnt::PASS_NON_PTP as usize], 5 * rounds);
    assert_eq!(d[cnt::PASS_IP_FRAGMENT as usize], 3 * rounds);
    assert_eq!(d[cnt::PASS_IPV6_EXT as usize], rounds);
    assert_eq!(d[cnt::PASS_MALFORMED as usize], rounds);
    assert_eq!(d[cnt::VLAN as usize], 2 * rounds);
    assert_eq!(d[cnt::NO_SOCKET as usize], steered * rounds);
    assert_eq!(d[cnt::META_FAILED as usize], 0);
    assert_eq!(after.seen() - before.seen(), gs.len() as u64 * rounds);
}

/// A queue id beyond the XSKMAP and a descriptor that is not an AF_XDP socket are refused with
/// errors that say so.
#[test]
fn register_xsk_rejects_bad_input() {
    if !common::require_root("register_xsk_rejects_bad_input") {
        return;
    }
    let prog = load();
    let f = std::fs::File::open("/dev/null").unwrap();
    let e = prog
        .register_xsk(0, std::os::fd::AsFd::as_fd(&f))
        .unwrap_err();
    assert!(e.to_string().contains("AF_XDP socket"), "{e}");
    let e = prog
        .register_xsk(xptp_ebpf::MAX_QUEUES, std::os::fd::AsFd::as_fd(&f))
        .unwrap_err();
    assert!(e.to_string().contains("beyond"), "{e}");
    prog.unregister_xsk(3).unwrap();
}
