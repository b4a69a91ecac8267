//! `xptp watch` end to end (root): the real binary attaches XDP + AF_XDP to one end of a veth
//! pair in a namespace; the other namespace sends PTP over UDPv4 (event and general ports) and a
//! non-PTP datagram. Every PTP message must come out decoded, in order, with an XDP-ingress
//! timestamp, while the non-PTP datagram still reaches the kernel; the summary must count exactly
//! what was sent, and no XDP program may stay attached after the watch exits.

use std::net::{SocketAddrV4, UdpSocket};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use xptp_datapath::wire::{
    Body, ClockIdentity, HeaderRepr, MessageRepr, PortIdentity, TimeInterval, Timestamp,
};
use xptp_tests::netns::{require_root, Lab, Netns};

/// The `xptp` binary built next to this test binary by `cargo test --workspace`.
fn xptp_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("xptp");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build -p xptp-control --bin xptp` (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

/// Runs `f` on a thread that has entered `ns`'s network namespace.
fn in_ns<T: Send + 'static>(ns: &Netns, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{}", ns.name());
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).expect("open netns");
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&fd),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .expect("setns");
        f()
    })
    .join()
    .expect("sender thread")
}

fn message(body: Body, seq: u16, correction_ns: i64) -> Vec<u8> {
    let header = HeaderRepr {
        domain_number: 0,
        sequence_id: seq,
        correction: TimeInterval::from_nanos(correction_ns).expect("correction in range"),
        source_port_identity: PortIdentity::new(ClockIdentity::from_mac([2, 0, 0, 0, 0, 0xbb]), 1),
        log_message_interval: 0,
        ..HeaderRepr::default()
    };
    MessageRepr::new(header, body).to_vec().expect("emit")
}

#[test]
fn watch_prints_every_steered_ptp_frame_and_leaves_other_traffic_alone() {
    if !require_root() {
        return;
    }
    let bin = xptp_bin();
    let lab = Lab::pair("watch").expect("lab");
    let (a, b) = (lab.node(0), lab.node(1));
    const N: u16 = 6;

    let mut cmd = a.ns.command(&bin);
    cmd.args(["watch", "-i", &a.ifname, "--json", "-c"])
        .arg((2 * N).to_string())
        .args(["-t", "20", "--mode", "native"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn xptp watch");

    // Wait until the program is attached (ip link shows it), then send.
    let mut attached = false;
    for _ in 0..100 {
        let out =
            a.ns.ip(&["-d", "link", "show", &a.ifname])
                .unwrap_or_default();
        if out.contains("prog/xdp") {
            attached = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        attached,
        "xptp watch did not attach an XDP program within 10 s"
    );
    // The socket is registered right after attach; give it a moment.
    std::thread::sleep(Duration::from_millis(500));

    let dst = a.ipv4;
    // A kernel UDP socket in A on a non-PTP port must still receive while watch runs.
    let kernel_rx = {
        let port = 5555;
        in_ns(&a.ns, move || {
            let s = UdpSocket::bind(("0.0.0.0", port)).expect("bind 5555");
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s
        })
    };
    in_ns(&b.ns, move || {
        let s = UdpSocket::bind("0.0.0.0:0").expect("bind");
        for seq in 0..N {
            let sync = message(
                Body::Sync {
                    origin_timestamp: Timestamp::default(),
                },
                seq,
                0,
            );
            s.send_to(&sync, SocketAddrV4::new(dst, 319))
                .expect("send sync");
            let fup = message(
                Body::FollowUp {
                    precise_origin_timestamp: Timestamp {
                        seconds: 1_700_000_000,
                        nanoseconds: u32::from(seq) * 1000,
                    },
                },
                seq,
                -1500,
            );
            s.send_to(&fup, SocketAddrV4::new(dst, 320))
                .expect("send fup");
            std::thread::sleep(Duration::from_millis(20));
        }
        s.send_to(b"not ptp", SocketAddrV4::new(dst, 5555))
            .expect("send non-ptp");
    });
    let mut buf = [0u8; 64];
    let (n, _) = kernel_rx
        .recv_from(&mut buf)
        .expect("the kernel socket on 5555 must still get non-PTP traffic while watch runs");
    assert_eq!(&buf[..n], b"not ptp");

    let out = child.wait_with_output().expect("wait xptp watch");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "xptp watch failed: {stderr}");

    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    let msgs: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|v| v.get("message_type").is_some())
        .collect();
    assert_eq!(
        msgs.len(),
        2 * N as usize,
        "every PTP frame printed once:\n{stdout}"
    );
    for (i, m) in msgs.iter().enumerate() {
        let seq = (i / 2) as u64;
        let (ty, transport) = (
            m["message_type"].as_str().unwrap(),
            m["transport"].as_str().unwrap(),
        );
        assert_eq!(ty, if i % 2 == 0 { "Sync" } else { "Follow_Up" }, "{m}");
        assert_eq!(m["sequence_id"].as_u64(), Some(seq), "{m}");
        assert_eq!(transport, "UDPv4", "{m}");
        // The line's time is the XDP-ingress CLOCK_TAI stamp: within a minute of now.
        let t: f64 = m["time"].as_str().unwrap().parse().unwrap();
        let tai_now = xptp_datapath::xsk::clock_tai_ns() as f64 / 1e9;
        assert!(
            (tai_now - t).abs() < 60.0,
            "ingress time {t} vs TAI now {tai_now}"
        );
    }
    assert_eq!(
        msgs[1]["correction_ns"].as_f64(),
        Some(-1500.0),
        "{}",
        msgs[1]
    );
    let summary = lines
        .iter()
        .find_map(|v| v.get("summary"))
        .expect("summary line");
    assert_eq!(summary["ptp"].as_u64(), Some(2 * N as u64));
    assert_eq!(summary["malformed"].as_u64(), Some(0));
    assert!(
        stderr.contains(&format!("steered {} (L2 0, UDPv4 {}", 2 * N, 2 * N)),
        "report must count exactly what was steered:\n{stderr}"
    );
    assert!(
        stderr.contains("XDP ingress -> control thread: p50"),
        "{stderr}"
    );

    let link = a.ns.ip(&["-d", "link", "show", &a.ifname]).unwrap();
    assert!(
        !link.contains("prog/xdp"),
        "XDP program left attached after watch exited:\n{link}"
    );
}
