//! End to end on a veth pair between two namespaces the test creates: the XDP program steers
//! PTP frames (L2, VLAN L2, UDPv4 319/320, UDPv6 319) into the datapath's AF_XDP socket with an
//! XDP-ingress CLOCK_TAI timestamp, ping and ordinary UDP still reach the kernel, frames sent
//! through the TX ring arrive intact at the peer with a TX timestamp report, and the worker's
//! counters match what was sent. Needs root (skips otherwise unless XPTP_REQUIRE_ROOT=1).

mod support;

use std::net::UdpSocket;
use std::process::Command;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;
use xptp_datapath::handoff::{
    FrameBuf, Link, LinkConfig, RxMessage, Transport, TxOutcome, TxReport, TxRequest, TxToken,
};
use xptp_datapath::worker::{self, IdlePolicy, ToControl, WorkerConfig};
use xptp_datapath::xsk::{
    clock_tai_ns, rx_queue_count, BindMode, QueueCoverage, TxHwTs, TxSwTs, XskConfig, XskSocket,
};

/// Upper bound for XDP ingress minus sender's CLOCK_TAI: a few ms, generous for VM stalls.
const MAX_INGRESS_DELAY_NS: u64 = 10_000_000;

fn wait_rx(link: &Link, marker: u32, timeout: Duration) -> Option<RxMessage> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match link.rx_up.pop() {
            Some(m) if marker_of(m.frame.as_slice()) == Some(marker) => return Some(m),
            Some(m) => panic!(
                "unexpected frame reached the AF_XDP socket: {:02x?}",
                m.frame.as_slice()
            ),
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    None
}

fn wait_report(link: &Link, timeout: Duration) -> Option<TxReport> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(r) = link.tx_reports_up.pop() {
            return Some(r);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

#[test]
fn veth_steering_rx_timestamps_tx_and_kernel_traffic() {
    if !require_root("veth_steering_rx_timestamps_tx_and_kernel_traffic") {
        return;
    }
    let lab = Lab::new("xsk");

    in_netns(&lab.a, || {
        let steering = attach_steering(&lab.va);
        let cfg = XskConfig {
            frame_count: 256,
            ring_size: 128,
            ..XskConfig::default()
        };
        let sock = XskSocket::open(7, &lab.va, 0, &cfg).expect("bind AF_XDP socket");
        let st = sock.status().clone();
        println!(
            "XDP {:?} ({}) mode; AF_XDP {:?} (zero-copy: {:?}); TX HW timestamps: {:?}",
            steering.status().mode,
            steering.status().build,
            st.mode,
            st.zero_copy_error,
            st.tx_hw_ts
        );
        assert_eq!(st.mode, BindMode::Copy, "veth binds in copy mode only");
        assert!(
            st.zero_copy_error.is_some(),
            "the zero-copy attempt's failure is reported"
        );
        assert!(matches!(st.tx_hw_ts, TxHwTs::Unavailable(_)));
        // veth has no NIC TX timestamps: event messages are stamped by the kernel at the
        // driver's transmit, through the port's AF_PACKET stamp socket.
        assert_eq!(
            st.tx_sw_ts,
            xptp_datapath::xsk::TxSwTs::Kernel,
            "kernel software TX timestamps in use on veth"
        );
        steering
            .register_xsk(0, sock.as_fd())
            .expect("register the socket in the XSKMAP");
        let coverage = QueueCoverage {
            ifname: lab.va.clone(),
            rx_queues: rx_queue_count(&lab.va).expect("queue count"),
            bound: vec![0],
        };
        assert_eq!(coverage.warning(), None, "veth has one active queue");

        let link = Arc::new(Link::new(LinkConfig::default()));
        let w = worker::spawn(
            "xsk-test",
            WorkerConfig {
                core: None,
                // The shared-core policy of `xptp run`: sleep in epoll when idle, woken by
                // frames and by the doorbell that `Link::send_down` rings.
                idle: IdlePolicy::SleepAfter(64),
                drop_capabilities: false,
                rt_priority: Some(40),
            },
            vec![sock],
            link.clone(),
            ToControl,
        )
        .expect("spawn worker");
        assert_eq!(w.realtime(), Some(&Ok(40)), "root gets SCHED_FIFO");

        // A non-PTP UDP echo service in namespace a.
        let echo = UdpSocket::bind("10.77.0.1:7777").unwrap();
        echo.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let echo_thread = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let (n, from) = echo.recv_from(&mut buf).expect("echo request");
            echo.send_to(&buf[..n], from).unwrap();
        });

        // ---- RX: each framing, sent from namespace b with its CLOCK_TAI send time.
        struct Case {
            name: &'static str,
            transport: Transport,
            vlan: bool,
            event: bool,
        }
        let cases = [
            Case {
                name: "L2",
                transport: Transport::Ethernet,
                vlan: false,
                event: false,
            },
            Case {
                name: "VLAN L2",
                transport: Transport::Ethernet,
                vlan: true,
                event: false,
            },
            Case {
                name: "UDPv4 319",
                transport: Transport::Udp4,
                vlan: false,
                event: true,
            },
            Case {
                name: "UDPv4 320",
                transport: Transport::Udp4,
                vlan: false,
                event: false,
            },
            Case {
                name: "UDPv6 319",
                transport: Transport::Udp6,
                vlan: false,
                event: true,
            },
        ];
        // Warm ARP/ND so the UDP sends below go out at once.
        let ping = |args: &[&str]| {
            Command::new("ip")
                .args(["netns", "exec", &lab.b, "ping"])
                .args(args)
                .output()
                .unwrap()
        };
        let out = ping(&["-c", "2", "-W", "2", "10.77.0.1"]);
        assert!(
            out.status.success(),
            "IPv4 ping through the XDP interface: {out:?}"
        );
        let out = ping(&["-6", "-c", "2", "-W", "2", "fd77::1"]);
        assert!(
            out.status.success(),
            "IPv6 ping through the XDP interface: {out:?}"
        );

        for (i, c) in cases.iter().enumerate() {
            let marker = 0xC0DE_0000 + i as u32;
            let payload = ptp_payload(0, i as u16, marker);
            let sent_tai = in_netns(&lab.b, || match c.name {
                "L2" | "VLAN L2" => {
                    let raw = RawSock::open(&lab.vb);
                    let f = l2_frame(PTP_MCAST_MAC, MAC_B, c.vlan.then_some(10), &payload);
                    let t = clock_tai_ns();
                    raw.send(&f);
                    t
                }
                "UDPv4 319" | "UDPv4 320" => {
                    let s = UdpSocket::bind("10.77.0.2:0").unwrap();
                    let port = if c.event { 319 } else { 320 };
                    let t = clock_tai_ns();
                    s.send_to(&payload, ("10.77.0.1", port)).unwrap();
                    t
                }
                _ => {
                    let s = UdpSocket::bind("[fd77::2]:0").unwrap();
                    let t = clock_tai_ns();
                    s.send_to(&payload, "[fd77::1]:319").unwrap();
                    t
                }
            });
            let m = wait_rx(&link, marker, Duration::from_secs(3))
                .unwrap_or_else(|| panic!("{} frame never reached the AF_XDP socket", c.name));
            assert_eq!(m.port, 7);
            assert_eq!(m.transport, c.transport, "{}", c.name);
            assert_eq!(m.vlan, c.vlan, "{}", c.name);
            assert_eq!(m.udp_event, c.event, "{}", c.name);
            let xdp =
                m.ts.xdp_tai_ns
                    .unwrap_or_else(|| panic!("{}: no XDP timestamp", c.name));
            let delay = xdp.wrapping_sub(sent_tai);
            println!(
                "{:10} send→XDP {:>7} ns, XDP→worker {:>7} ns",
                c.name,
                delay,
                m.ts.user_tai_ns.saturating_sub(xdp)
            );
            assert!(xdp >= sent_tai, "{}: XDP ingress before the send", c.name);
            assert!(
                delay < MAX_INGRESS_DELAY_NS,
                "{}: XDP stamp {delay} ns after send",
                c.name
            );
            assert!(m.ts.user_tai_ns >= xdp);
            assert!(
                m.frame.as_slice().ends_with(&payload),
                "{}: payload intact",
                c.name
            );
        }

        // ---- Ordinary UDP through the same interface.
        let reply = in_netns(&lab.b, || {
            let s = UdpSocket::bind("10.77.0.2:0").unwrap();
            s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            s.send_to(b"not ptp", "10.77.0.1:7777").unwrap();
            let mut buf = [0u8; 64];
            let (n, _) = s.recv_from(&mut buf).expect("UDP echo reply");
            buf[..n].to_vec()
        });
        assert_eq!(reply, b"not ptp");
        echo_thread.join().unwrap();

        // ---- TX, captured in namespace b: three general messages (Follow_Up) through the
        // ring, then two event messages (Sync, Delay_Req) through the kernel-timestamp socket.
        let (ready_tx, ready_rx) = mpsc::channel();
        let frames: Vec<Vec<u8>> = (0..5u32)
            .map(|i| {
                let msg_type = match i {
                    3 => 0x0, // Sync
                    4 => 0x1, // Delay_Req
                    _ => 0x8, // Follow_Up
                };
                let mut payload = ptp_payload(msg_type, i as u16, 0x7E57_0000 + i);
                if i == 2 {
                    // A longer frame: a TLV-sized tail before the marker.
                    let tail = payload.split_off(40);
                    payload.extend_from_slice(&[0xAB; 200]);
                    payload.extend_from_slice(&tail);
                }
                l2_frame(
                    PTP_MCAST_MAC,
                    MAC_A,
                    (i == 1 || i == 4).then_some(10),
                    &payload,
                )
            })
            .collect();
        let expected = frames.clone();
        let captured = std::thread::scope(|s| {
            let cap = s.spawn(|| {
                in_netns(&lab.b, || {
                    let raw = RawSock::open(&lab.vb);
                    ready_tx.send(()).unwrap();
                    let mut got = Vec::new();
                    let deadline = Instant::now() + Duration::from_secs(3);
                    while got.len() < expected.len() && Instant::now() < deadline {
                        if let Some(f) = raw.recv(Duration::from_millis(100)) {
                            if f[6..12] == MAC_A && f.len() >= 14 {
                                got.push(f);
                            }
                        }
                    }
                    got
                })
            });
            ready_rx.recv().unwrap();
            let t0 = clock_tai_ns();
            for (i, f) in frames.iter().enumerate() {
                assert!(link.send_down(TxRequest {
                    port: 7,
                    token: TxToken(100 + i as u64),
                    frame: FrameBuf::from_slice(f).unwrap(),
                }));
            }
            let mut reports = Vec::new();
            while reports.len() < frames.len() {
                reports.push(wait_report(&link, Duration::from_secs(3)).expect("TX report"));
            }
            let t1 = clock_tai_ns();
            reports.sort_by_key(|r| r.token);
            for (i, r) in reports.iter().enumerate() {
                assert_eq!(r.token, TxToken(100 + i as u64));
                assert_eq!(r.port, 7);
                match r.outcome {
                    TxOutcome::Sent { sw_tai_ns, hw_ns } => {
                        assert!(
                            (t0..=t1).contains(&sw_tai_ns),
                            "TX stamp {sw_tai_ns} outside [{t0}, {t1}]"
                        );
                        assert_eq!(hw_ns, None, "veth has no NIC TX timestamps");
                    }
                    other => panic!("TX {i} not sent: {other:?}"),
                }
            }
            // A request for a port this worker does not serve is answered, not lost.
            link.send_down(TxRequest {
                port: 99,
                token: TxToken(999),
                frame: FrameBuf::from_slice(&frames[0]).unwrap(),
            });
            let r = wait_report(&link, Duration::from_secs(3)).expect("report for bad port");
            assert_eq!(r.token, TxToken(999));
            assert!(matches!(r.outcome, TxOutcome::Dropped(_)));
            cap.join().unwrap()
        });
        assert_eq!(
            captured.len(),
            frames.len(),
            "every TX frame reached the peer"
        );
        for f in &frames {
            assert!(captured.contains(f), "frame not captured intact: {f:02x?}");
        }

        // ---- Counters match what was sent.
        let c = w.counters().snapshot();
        println!("{c:#?}");
        assert_eq!(c.rx_frames, cases.len() as u64);
        assert_eq!(c.rx_l2, 2);
        assert_eq!(c.rx_vlan, 1);
        assert_eq!(c.rx_udp4, 2);
        assert_eq!(c.rx_udp6, 1);
        assert_eq!(c.rx_no_metadata, 0);
        assert_eq!(c.rx_to_control, cases.len() as u64);
        assert_eq!(c.rx_queue_full, 0);
        assert_eq!(c.tx_requests, frames.len() as u64 + 1);
        assert_eq!(c.tx_frames, frames.len() as u64);
        assert_eq!(c.tx_completed, frames.len() as u64);
        // veth has no NIC TX timestamps: the two event messages were stamped by the kernel
        // at the driver's transmit, none fell back to the pre-send reading.
        assert!(
            c.sleeps > 0,
            "the idle worker slept between the test's steps"
        );
        assert!(
            link.doorbell.rung() > 0,
            "TX requests rang the sleeping worker's doorbell"
        );
        assert_eq!(
            c.tx_kernel_stamped, 2,
            "Sync and Delay_Req went through the stamp socket"
        );
        assert_eq!(c.tx_stamp_send_errors, 0);
        assert_eq!(c.tx_stamp_fallbacks, 0);
        assert_eq!(c.tx_unknown_port, 1);
        assert_eq!(link.rx_up.dropped() + link.tx_reports_up.dropped(), 0);
        let k = steering.counters().expect("XDP program counters");
        println!("{k:?}");
        assert_eq!(k.steered_l2(), 2, "XDP program steered both L2 frames");
        assert_eq!(k.steered_udp4(), 2);
        assert_eq!(k.steered_udp6(), 1);
        assert_eq!(
            k.steered(),
            c.rx_frames,
            "every steered frame reached the worker"
        );
        assert_eq!(k.no_socket(), 0);
        let socks = w.stop();
        assert_eq!(socks.len(), 1, "the worker hands its sockets back on stop");
        if let Ok(k) = socks[0].kernel_stats() {
            assert_eq!(k.rx_dropped(), 0, "kernel dropped nothing on the socket");
        }
        drop(socks);
        drop(steering);
    });
}

#[test]
fn multi_queue_interface_with_one_socket_is_reported() {
    if !require_root("multi_queue_interface_with_one_socket_is_reported") {
        return;
    }
    let lab = Lab::new("mq");
    // A second pair with four RX queues inside namespace a.
    let dev = format!("{}q", lab.va);
    let peer = format!("{}p", lab.va);
    let st = Command::new("ip")
        .args([
            "-n",
            &lab.a,
            "link",
            "add",
            &dev,
            "numrxqueues",
            "4",
            "numtxqueues",
            "4",
        ])
        .args([
            "type",
            "veth",
            "peer",
            "name",
            &peer,
            "numrxqueues",
            "4",
            "numtxqueues",
            "4",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    in_netns(&lab.a, || {
        let one = xptp_datapath::xsk::queue_coverage(&lab.va, &[0]).unwrap();
        assert_eq!(one.rx_queues, 1);
        assert_eq!(one.warning(), None);
        let four = xptp_datapath::xsk::queue_coverage(&dev, &[0]).unwrap();
        assert_eq!(four.rx_queues, 4, "veth created with 4 RX queues");
        assert_eq!(four.uncovered(), vec![1, 2, 3]);
        let w = four.warning().expect("a warning for the uncovered queues");
        assert!(w.contains("go to the kernel"), "{w}");
        let all = xptp_datapath::xsk::queue_coverage(&dev, &[0, 1, 2, 3]).unwrap();
        assert_eq!(all.warning(), None);
    });
}

/// On a wire-stamped veth, event messages take their TX time from the wire-stamp table and the
/// kernel is no longer asked for software TX stamps (whose stamping work, done in the veth's
/// transmit before the peer gets the frame, delayed every frame on its way: see
/// `StampSocket::set_wire_table`). Every frame reaches the peer, each report carries exactly
/// the table's time for that frame, taken while it was being sent, and the status says so.
#[test]
fn wire_stamped_veth_reports_tx_times_from_the_table_without_kernel_stamps() {
    if !require_root("wire_stamped_veth_reports_tx_times_from_the_table_without_kernel_stamps") {
        return;
    }
    if std::env::var_os(xptp_ebpf::loader::WIRE_ENV).is_some() {
        eprintln!("SKIP: {} is set", xptp_ebpf::loader::WIRE_ENV);
        return;
    }
    let lab = Lab::new("xsw");
    in_netns(&lab.a, || {
        let steering = attach_steering(&lab.va);
        let table = steering
            .wire_table()
            .expect("veth comes with the wire stamper");
        let cfg = XskConfig {
            frame_count: 256,
            ring_size: 128,
            ..XskConfig::default()
        };
        let mut sock = XskSocket::open(3, &lab.va, 0, &cfg).expect("bind AF_XDP socket");
        // A transparent clock's port: kernel stamping off.
        assert!(sock.set_wire_table(table.clone(), false));
        assert_eq!(
            sock.status().tx_sw_ts,
            TxSwTs::Wire {
                kernel_stamps: false
            },
            "{}",
            sock.status().tx_sw_ts.describe()
        );
        steering
            .register_xsk(0, sock.as_fd())
            .expect("register the socket in the XSKMAP");
        let link = Arc::new(Link::new(LinkConfig::default()));
        let w = worker::spawn(
            "xsk-wire",
            WorkerConfig {
                core: None,
                idle: IdlePolicy::SleepAfter(64),
                drop_capabilities: false,
                rt_priority: None,
            },
            vec![sock],
            link.clone(),
            ToControl,
        )
        .expect("spawn worker");

        // Sync and Delay_Req alternately, sequence ids picked so that no two share a slot of
        // the direct-mapped table (the lookups below come after all the sends).
        let mut payloads = Vec::new();
        let mut slots = std::collections::HashSet::new();
        let mut seq = 0u16;
        while payloads.len() < 12 {
            seq += 1;
            let p = ptp_payload(
                (payloads.len() % 2) as u8,
                seq,
                0x5157_0000 + u32::from(seq),
            );
            let k = xptp_ebpf::wire::key_of(&p).expect("an event message has a key");
            if slots.insert(xptp_ebpf::wire::slot_of(&k)) {
                payloads.push(p);
            }
        }
        let frames: Vec<Vec<u8>> = payloads
            .iter()
            .map(|p| l2_frame(PTP_MCAST_MAC, MAC_A, None, p))
            .collect();
        let (ready_tx, ready_rx) = mpsc::channel();
        let n = frames.len();
        let captured = std::thread::scope(|s| {
            let cap = s.spawn(|| {
                in_netns(&lab.b, || {
                    let raw = RawSock::open(&lab.vb);
                    ready_tx.send(()).unwrap();
                    let mut got = 0;
                    let deadline = Instant::now() + Duration::from_secs(3);
                    while got < n && Instant::now() < deadline {
                        if let Some(f) = raw.recv(Duration::from_millis(100)) {
                            if f.len() >= 14 && f[6..12] == MAC_A {
                                got += 1;
                            }
                        }
                    }
                    got
                })
            });
            ready_rx.recv().unwrap();
            let mut windows = Vec::new();
            for (i, f) in frames.iter().enumerate() {
                let before = clock_tai_ns();
                assert!(link.send_down(TxRequest {
                    port: 3,
                    token: TxToken(i as u64),
                    frame: FrameBuf::from_slice(f).unwrap(),
                }));
                let r = wait_report(&link, Duration::from_secs(3)).expect("TX report");
                windows.push((r, before, clock_tai_ns()));
            }
            for (i, (r, before, after)) in windows.iter().enumerate() {
                assert_eq!(r.token, TxToken(i as u64));
                let TxOutcome::Sent { sw_tai_ns, .. } = r.outcome else {
                    panic!("frame {i} not sent: {:?}", r.outcome);
                };
                let k = xptp_ebpf::wire::key_of(&payloads[i]).unwrap();
                assert_eq!(
                    Some(sw_tai_ns),
                    table.lookup(&k),
                    "frame {i}: reported TX time is not its wire stamp"
                );
                assert!(
                    (*before..=*after).contains(&sw_tai_ns),
                    "frame {i}: wire stamp {sw_tai_ns} outside its send [{before}, {after}]"
                );
            }
            cap.join().unwrap()
        });
        assert_eq!(captured, n, "every event message reached the peer");
        let c = w.counters().snapshot();
        assert_eq!(
            c.tx_kernel_stamped, n as u64,
            "all went through the stamp socket"
        );
        assert_eq!(c.tx_wire_stamped, n as u64, "{c:?}");
        assert_eq!(c.tx_wire_missed, 0, "{c:?}");
        assert_eq!(c.tx_stamp_fallbacks, 0, "{c:?}");
        drop(w.stop());
        drop(steering);
    });
}
