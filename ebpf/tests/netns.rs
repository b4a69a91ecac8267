//! Root-only tests on a veth pair between two namespaces the test creates: the attached program
//! leaves ordinary traffic alone, counts what it sees, falls back to the kernel for queues
//! without a socket, and disappears when its process dies, SIGKILL included.

mod common;

use std::{
    io::{BufRead, BufReader},
    net::{SocketAddrV4, UdpSocket},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{in_netns, VethPair};
use xptp_ebpf::{ActiveMode, AttachMode, Build, XdpSteering};

/// A 44-byte PTP Sync (IEEE 1588-2019 13.6) as UDP payload.
const SYNC: [u8; 44] = {
    let mut s = [0u8; 44];
    s[1] = 0x02;
    s[3] = 44;
    s
};

fn udp(ns: &str, addr: std::net::Ipv4Addr, port: u16) -> UdpSocket {
    in_netns(ns, || {
        let s = UdpSocket::bind(SocketAddrV4::new(addr, port)).expect("bind");
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s
    })
}

fn ping(v: &VethPair, count: &str) -> bool {
    Command::new("ip")
        .args([
            "netns", "exec", &v.ns_b, "ping", "-c", count, "-i", "0.2", "-W", "2",
        ])
        .arg(v.addr_a.to_string())
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Waits (bounded) until side a shows no XDP program. Not immediate in general: a child forked
/// by a concurrently running test holds a copy of our link descriptor until it execs.
fn wait_detached(v: &VethPair, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let link = v.link_a();
        if !link.contains("prog/xdp") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "program still attached {what}:\n{link}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ordinary_traffic_flows_and_ptp_falls_back_without_a_socket() {
    if !common::require_root("ordinary_traffic_flows_and_ptp_falls_back_without_a_socket") {
        return;
    }
    let v = VethPair::new("t");
    let steering = in_netns(&v.ns_a, || {
        XdpSteering::attach(&v.if_a, AttachMode::Native, false)
    })
    .unwrap_or_else(|e| panic!("attach: {e}"));
    assert_eq!(steering.status().build, Build::Portable);
    assert_eq!(steering.status().mode, ActiveMode::Native);
    assert!(steering.status().prog_id != 0);
    let link = v.link_a();
    assert!(
        link.contains(&format!("prog/xdp id {}", steering.status().prog_id)),
        "ip -d link does not show our program:\n{link}"
    );

    // ICMP through the interface.
    assert!(
        ping(&v, "3"),
        "ping across the veth failed with the program attached"
    );

    // A non-PTP UDP exchange, both directions.
    let a = udp(&v.ns_a, v.addr_a, 5555);
    let b = udp(&v.ns_b, v.addr_b, 0);
    b.send_to(b"hello", SocketAddrV4::new(v.addr_a, 5555))
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = a
        .recv_from(&mut buf)
        .expect("UDP 5555 did not reach side a");
    assert_eq!(&buf[..n], b"hello");
    a.send_to(b"olleh", from).unwrap();
    let (n, _) = b.recv_from(&mut buf).expect("reply did not reach side b");
    assert_eq!(&buf[..n], b"olleh");

    // PTP event messages with no AF_XDP socket registered: steered, then handed to the kernel.
    let before = steering.counters().unwrap();
    let a319 = udp(&v.ns_a, v.addr_a, 319);
    for _ in 0..3 {
        b.send_to(&SYNC, SocketAddrV4::new(v.addr_a, 319)).unwrap();
        let (n, _) = a319
            .recv_from(&mut buf)
            .expect("PTP frame was lost instead of falling back");
        assert_eq!(&buf[..n], &SYNC);
    }
    let c = steering.counters().unwrap();
    eprintln!("counters after traffic: {c:?}");
    assert_eq!(c.steered_udp4() - before.steered_udp4(), 3);
    assert_eq!(c.no_socket() - before.no_socket(), 3);
    assert_eq!(c.meta_failed(), 0);
    assert_eq!(c.steered_l2() + c.steered_udp6(), 0);
    assert_eq!(c.passed_malformed(), 0);
    // 3 echo requests + 1 UDP datagram at least (plus ARP).
    assert!(c.passed_non_ptp() >= 4, "{c:?}");
    assert_eq!(
        c.seen(),
        c.steered() + c.passed_non_ptp() + c.passed_ip_fragment() + c.passed_ipv6_ext()
    );

    drop(steering);
    let link = v.link_a();
    assert!(
        !link.contains("prog/xdp"),
        "program still attached after drop:\n{link}"
    );
    assert!(ping(&v, "1"), "ping after detach");
}

#[test]
fn sigkill_of_the_loader_detaches_the_program() {
    if !common::require_root("sigkill_of_the_loader_detaches_the_program") {
        return;
    }
    let v = VethPair::new("k");
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &v.ns_a,
            env!("CARGO_BIN_EXE_xptp-xdp-attach"),
            &v.if_a,
            "native",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning xptp-xdp-attach");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("no output").expect("reading output");
    assert!(first.starts_with("ATTACHED "), "unexpected: {first}");
    let prog_id = first
        .split_whitespace()
        .find_map(|w| w.strip_prefix("prog_id="))
        .unwrap()
        .to_string();
    let link = v.link_a();
    assert!(
        link.contains(&format!("prog/xdp id {prog_id}")),
        "not attached:\n{link}"
    );

    // `ip netns exec` execs the command, so the child pid is the loader itself.
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGKILL) }, 0);
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    // Link release runs as the dead process's files are closed; allow the kernel a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let link = v.link_a();
        if !link.contains("prog/xdp") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "program still attached after SIGKILL:\n{link}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(ping(&v, "1"), "ping after the loader died");
}

#[test]
fn second_attach_is_refused_with_the_holders_id() {
    if !common::require_root("second_attach_is_refused_with_the_holders_id") {
        return;
    }
    let v = VethPair::new("b");
    let first = in_netns(&v.ns_a, || {
        XdpSteering::attach(&v.if_a, AttachMode::Auto, false)
    })
    .unwrap();
    let err = in_netns(&v.ns_a, || {
        XdpSteering::attach(&v.if_a, AttachMode::Auto, false)
    })
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("id {}", first.status().prog_id)),
        "{msg}"
    );
    assert!(msg.contains("xdp off"), "{msg}");
    let err = in_netns(&v.ns_a, || {
        XdpSteering::attach("xptp-nosuch0", AttachMode::Auto, false)
    })
    .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn mtu_above_the_native_limit_names_the_fix() {
    if !common::require_root("mtu_above_the_native_limit_names_the_fix") {
        return;
    }
    let v = VethPair::new("m");
    common::ip(&["-n", &v.ns_b, "link", "set", &v.if_b, "mtu", "9000"]);
    common::ip(&["-n", &v.ns_a, "link", "set", &v.if_a, "mtu", "9000"]);
    let err = in_netns(&v.ns_a, || {
        XdpSteering::attach(&v.if_a, AttachMode::Native, false)
    })
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("MTU 9000") && msg.contains("mtu 1500"),
        "{msg}"
    );
    // Generic mode has no such limit.
    let s = in_netns(&v.ns_a, || {
        XdpSteering::attach(&v.if_a, AttachMode::Skb, false)
    })
    .unwrap();
    assert_eq!(s.status().mode, ActiveMode::Skb);
}

/// The hardware-timestamp build on veth. What kernel 6.18 does (measured): the device-bound load
/// with the `bpf_xdp_metadata_rx_timestamp` kfunc succeeds and attaches natively, because veth
/// implements `xmo_rx_timestamp`; but veth has no clock, so for skb-backed frames the kfunc
/// returns 0 with a zero stamp (and -ENODATA for xdp_frame-backed ones). The program must not
/// mark such frames HW_VALID: it counts them in HW_TS_MISSING instead.
#[test]
fn hw_timestamp_build_on_veth_attaches_but_reports_no_stamp() {
    if !common::require_root("hw_timestamp_build_on_veth_attaches_but_reports_no_stamp") {
        return;
    }
    let v = VethPair::new("h");
    let steering = in_netns(&v.ns_a, || {
        XdpSteering::attach(&v.if_a, AttachMode::Auto, true)
    })
    .unwrap();
    let st = steering.status().clone();
    eprintln!("hw-ts attach on veth: {st:?}");
    match st.build {
        Build::HwTimestamp => {
            assert_eq!(st.mode, ActiveMode::Native);
            assert_eq!(st.hw_ts_fallback, None);
            let a319 = udp(&v.ns_a, v.addr_a, 319);
            let b = udp(&v.ns_b, v.addr_b, 0);
            let mut buf = [0u8; 64];
            for _ in 0..3 {
                b.send_to(&SYNC, SocketAddrV4::new(v.addr_a, 319)).unwrap();
                a319.recv_from(&mut buf).expect("PTP frame lost");
            }
            let c = steering.counters().unwrap();
            eprintln!("counters: {c:?}");
            assert_eq!(c.steered_udp4(), 3);
            assert_eq!(c.hw_ts_missing(), 3, "veth must not yield hardware stamps");
        }
        // A kernel without veth's xmo_rx_timestamp: the fallback must say why.
        Build::Portable => assert!(st.hw_ts_fallback.is_some_and(|r| !r.is_empty())),
    }
    // Skb mode can never carry the device-bound build, and says so.
    drop(steering);
    wait_detached(&v, "after drop");
    let s = in_netns(&v.ns_a, || {
        XdpSteering::attach(&v.if_a, AttachMode::Skb, true)
    })
    .unwrap();
    assert_eq!(s.status().build, Build::Portable);
    assert!(s
        .status()
        .hw_ts_fallback
        .as_deref()
        .unwrap_or("")
        .contains("native mode only"));
}

/// With a bound AF_XDP socket registered for queue 0, PTP frames are redirected to it (the
/// kernel's UDP socket on 319 no longer sees them, NO_SOCKET stays 0) while other UDP still
/// reaches the kernel; BPF_PROG_TEST_RUN then returns XDP_REDIRECT for a steered golden frame.
/// Unregistering restores the kernel fallback.
#[test]
fn registered_xsk_receives_ptp_and_the_kernel_keeps_the_rest() {
    if !common::require_root("registered_xsk_receives_ptp_and_the_kernel_keeps_the_rest") {
        return;
    }
    let v = VethPair::new("x");
    let (steering, xsk) = in_netns(&v.ns_a, || {
        let s = XdpSteering::attach(&v.if_a, AttachMode::Native, false).expect("attach");
        let x = common::RawXsk::bind(&v.if_a, 0).expect("binding an AF_XDP socket (copy mode)");
        (s, x)
    });
    steering
        .register_xsk(0, std::os::fd::AsFd::as_fd(&xsk.fd))
        .expect("register_xsk");

    let a319 = udp(&v.ns_a, v.addr_a, 319);
    a319.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let a5555 = udp(&v.ns_a, v.addr_a, 5555);
    let b = udp(&v.ns_b, v.addr_b, 0);
    let mut buf = [0u8; 64];
    // Resolve ARP first so the PTP frames are the only UDP 319 traffic.
    b.send_to(b"x", SocketAddrV4::new(v.addr_a, 5555)).unwrap();
    a5555
        .recv_from(&mut buf)
        .expect("non-PTP UDP must still reach the kernel");
    for _ in 0..4 {
        b.send_to(&SYNC, SocketAddrV4::new(v.addr_a, 319)).unwrap();
    }
    assert!(
        a319.recv_from(&mut buf).is_err(),
        "a PTP frame reached the kernel although an AF_XDP socket serves queue 0"
    );
    let c = steering.counters().unwrap();
    assert_eq!(c.steered_udp4(), 4, "{c:?}");
    assert_eq!(c.no_socket(), 0, "{c:?}");

    // Test-run sees the registered socket too: the redirect verdict itself.
    let mut frame = vec![0x01, 0x1b, 0x19, 0, 0, 0, 0x02, 0, 0, 0, 0, 1, 0x88, 0xf7];
    frame.extend_from_slice(&SYNC);
    let out = steering.program().test_run(&frame, 0).unwrap();
    assert_eq!(
        out.action, 4,
        "XDP_REDIRECT expected with a socket on queue 0"
    );

    steering.unregister_xsk(0).unwrap();
    a319.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    b.send_to(&SYNC, SocketAddrV4::new(v.addr_a, 319)).unwrap();
    a319.recv_from(&mut buf)
        .expect("after unregister, PTP falls back to the kernel");
    // Only the frame sent after unregistering fell back (the test-run above was redirected).
    assert_eq!(steering.counters().unwrap().no_socket(), 1);
}

/// A PTP message of `msg_type` (IEEE 1588-2019 13.3.2.2), `seq`, domain 0, from clock
/// identity `id`, `len` bytes long.
fn ptp_msg(msg_type: u8, seq: u16, id: u8, len: usize) -> Vec<u8> {
    let mut m = vec![0u8; len];
    m[0] = msg_type;
    m[1] = 0x02;
    m[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    m[20..28].copy_from_slice(&[id, 1, 2, 3, 4, 5, 6, 7]);
    m[28..30].copy_from_slice(&1u16.to_be_bytes());
    m[30..32].copy_from_slice(&seq.to_be_bytes());
    m
}

/// On veth the steering program comes with the wire stamper: event messages the peer sends
/// are counted wire-stamped at XDP (their ingress time is the peer's transmit), general
/// messages are not; and an event message sent from this side leaves its transmit time in
/// the mapped table, under the key and slot the Rust side computes, between the CLOCK_TAI
/// readings before and after the send.
#[test]
fn veth_wire_stamps_time_event_messages_at_the_senders_transmit() {
    if !common::require_root("veth_wire_stamps_time_event_messages_at_the_senders_transmit") {
        return;
    }
    if std::env::var_os(xptp_ebpf::loader::WIRE_ENV).is_some() {
        eprintln!(
            "SKIP: {} is set in the environment",
            xptp_ebpf::loader::WIRE_ENV
        );
        return;
    }
    let v = VethPair::new("w");
    let steering = in_netns(&v.ns_a, || {
        XdpSteering::attach(&v.if_a, AttachMode::Native, false)
    })
    .expect("attach");
    let st = steering.status().clone();
    assert!(
        st.wire_stamps,
        "veth wire stamps must be on by default: {:?}",
        st.wire_fallback
    );
    assert_eq!(st.wire_fallback, None);
    let table = steering.wire_table().expect("wire table mapped");

    let a319 = udp(&v.ns_a, v.addr_a, 319);
    let a320 = udp(&v.ns_a, v.addr_a, 320);
    let b = udp(&v.ns_b, v.addr_b, 0);
    let mut buf = [0u8; 128];
    // ARP first, so that the first event message is not held in the neighbour queue.
    b.send_to(b"x", SocketAddrV4::new(v.addr_a, 5555)).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    for seq in 0..3u16 {
        b.send_to(
            &ptp_msg(0x00, seq, 0xb0, 44),
            SocketAddrV4::new(v.addr_a, 319),
        )
        .unwrap();
        a319.recv_from(&mut buf)
            .expect("Sync lost (no socket: kernel fallback)");
        b.send_to(
            &ptp_msg(0x08, seq, 0xb0, 44),
            SocketAddrV4::new(v.addr_a, 320),
        )
        .unwrap();
        a320.recv_from(&mut buf).expect("Follow_Up lost");
    }
    let c = steering.counters().unwrap();
    assert_eq!(c.steered_udp4(), 6, "{c:?}");
    assert_eq!(
        c.wire_stamped(),
        3,
        "the three Syncs, not the Follow_Ups: {c:?}"
    );
    assert_eq!(c.wire_stale(), 0, "{c:?}");
    // The table is read-only to XDP: the last Sync's slot still holds its transmit time, and
    // this process's second port shares the one stamper and table.
    let k = xptp_ebpf::wire::key_of(&ptp_msg(0x00, 2, 0xb0, 44)).unwrap();
    assert!(table.lookup(&k).is_some_and(|t| t <= common::tai_now_ns()));
    let v2 = VethPair::new("w2");
    let second = in_netns(&v2.ns_a, || {
        XdpSteering::attach(&v2.if_a, AttachMode::Native, false)
    })
    .expect("attach second port");
    assert!(second.status().wire_stamps);
    assert!(
        std::sync::Arc::ptr_eq(&table, &second.wire_table().unwrap()),
        "a second stamper was started for the second port"
    );
    drop(second);

    // TX side: a Delay_Req sent from side a.
    let a = udp(&v.ns_a, v.addr_a, 0);
    let dreq = ptp_msg(0x01, 77, 0xa0, 44);
    let k = xptp_ebpf::wire::key_of(&dreq).unwrap();
    a.send_to(b"x", SocketAddrV4::new(v.addr_b, 5555)).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let before = common::tai_now_ns();
    a.send_to(&dreq, SocketAddrV4::new(v.addr_b, 319)).unwrap();
    let after = common::tai_now_ns();
    let t = table
        .lookup(&k)
        .expect("no wire stamp for the Delay_Req sent");
    assert!(
        before <= t && t <= after,
        "wire stamp {t} outside the send call [{before}, {after}]"
    );
    // A general message leaves no stamp.
    let fup = ptp_msg(0x08, 77, 0xa0, 44);
    assert_eq!(xptp_ebpf::wire::key_of(&fup), None);
    a.send_to(&fup, SocketAddrV4::new(v.addr_b, 320)).unwrap();
}

/// `XPTP_VETH_WIRE_STAMPS=0` turns the stamper off, and the status says so. Runs itself in a
/// child process, so that the variable does not leak into the other tests of this binary.
#[test]
fn veth_wire_stamps_off_by_environment_says_why() {
    if !common::require_root("veth_wire_stamps_off_by_environment_says_why") {
        return;
    }
    const CHILD: &str = "XPTP_TEST_WIRE_CHILD";
    if std::env::var_os(CHILD).is_none() {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "veth_wire_stamps_off_by_environment_says_why",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env(xptp_ebpf::loader::WIRE_ENV, "0")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed:\n{text}");
        assert!(
            text.contains("1 passed"),
            "child did not run the test:\n{text}"
        );
        return;
    }
    let v = VethPair::new("wo");
    let steering = in_netns(&v.ns_a, || {
        XdpSteering::attach(&v.if_a, AttachMode::Native, false)
    })
    .expect("attach");
    let st = steering.status();
    assert!(!st.wire_stamps);
    assert!(
        st.wire_fallback
            .as_deref()
            .is_some_and(|w| w.contains("XPTP_VETH_WIRE_STAMPS=0")),
        "{:?}",
        st.wire_fallback
    );
    assert!(steering.wire_table().is_none());
    let a319 = udp(&v.ns_a, v.addr_a, 319);
    let b = udp(&v.ns_b, v.addr_b, 0);
    b.send_to(b"x", SocketAddrV4::new(v.addr_a, 5555)).unwrap();
    b.send_to(
        &ptp_msg(0x00, 1, 0xb0, 44),
        SocketAddrV4::new(v.addr_a, 319),
    )
    .unwrap();
    let mut buf = [0u8; 64];
    a319.recv_from(&mut buf).expect("Sync lost");
    let c = steering.counters().unwrap();
    assert_eq!(c.steered_udp4(), 1);
    assert_eq!(c.wire_stamped(), 0, "{c:?}");
}
