//! Regenerates the golden captures in `tests/fixtures/`: for each transport / delay mechanism, a
//! ptp4l master and a free-running ptp4l slave run in two namespaces over veth while dumpcap
//! records the slave's interface from before either starts. pmc management GETs go over the wire
//! (pmc -2/-4/-6 from the slave's namespace) so Management messages are in the captures too.
//! Next to each `<name>.pcapng` it writes `<name>.tsv`: the tshark fields of every PTP frame.
//!
//! Run as root: `cargo run -p xptp-tests --bin capture-fixtures [-- [--seconds N] [OUT_DIR]]`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use xptp_tests::fixtures::fixtures_dir;
use xptp_tests::linuxptp::{pmc_wire, DelayMechanism, Ptp4l, Ptp4lConfig, Transport};
use xptp_tests::netns::{is_root, Lab};
use xptp_tests::tshark::{self, Capture, CaptureOptions, FIXTURE_FIELDS};

/// Keep every fixture small enough to commit: stop capturing after this many frames.
const MAX_PACKETS: u32 = 300;
/// Refuse to write a fixture larger than this.
const MAX_BYTES: u64 = 50 * 1024;

const CASES: &[(&str, Transport, DelayMechanism)] = &[
    ("ptp4l-l2-e2e", Transport::L2, DelayMechanism::E2E),
    ("ptp4l-l2-p2p", Transport::L2, DelayMechanism::P2P),
    ("ptp4l-udp4-e2e", Transport::UdpV4, DelayMechanism::E2E),
    ("ptp4l-udp6-e2e", Transport::UdpV6, DelayMechanism::E2E),
];

const MGMT_GETS: &[&str] = &[
    "GET DEFAULT_DATA_SET",
    "GET CURRENT_DATA_SET",
    "GET PARENT_DATA_SET",
    "GET TIME_PROPERTIES_DATA_SET",
    "GET PORT_DATA_SET",
];

fn capture_one(
    name: &str,
    transport: Transport,
    delay: DelayMechanism,
    seconds: u64,
    out: &std::path::Path,
) -> xptp_tests::Result<()> {
    let lab = Lab::pair(&format!("fx-{name}"))?;
    let (m, s) = (lab.node(0), lab.node(1));
    let pcap = out.join(format!("{name}.pcapng"));
    let opts = CaptureOptions {
        max_packets: Some(MAX_PACKETS),
        ..CaptureOptions::default()
    };
    let start = Instant::now();
    let mut cap = Capture::start(&s.ns, &s.ifname, &pcap, &opts)?;
    let master = Ptp4l::spawn(&m.ns, &m.ifname, &Ptp4lConfig::master(transport, delay))?;
    let slave = Ptp4l::spawn(&s.ns, &s.ifname, &Ptp4lConfig::slave(transport, delay))?;
    slave.wait_for_slave(Duration::from_secs(20))?;
    let mgmt = match pmc_wire(&s.ns, transport, &s.ifname, 0, MGMT_GETS) {
        Ok(r) => format!("{} management responses over the wire", r.len()),
        Err(e) => format!("no management over the wire ({e})"),
    };
    while start.elapsed() < Duration::from_secs(seconds) && !cap.finished() {
        std::thread::sleep(Duration::from_millis(100));
    }
    let pcap = cap.stop()?;
    // dumpcap creates its file 0600; fixtures are for everyone to read.
    let _ = std::fs::set_permissions(&pcap, std::os::unix::fs::PermissionsExt::from_mode(0o644));
    drop((master, slave, lab));

    let errors = tshark::dissector_errors(&pcap)?;
    if !errors.is_empty() {
        return Err(xptp_tests::Error::Invalid(format!(
            "tshark flags frames of {name}: {errors:?}"
        )));
    }
    let size = std::fs::metadata(&pcap)
        .map_err(|source| xptp_tests::Error::Io {
            path: pcap.clone(),
            source,
        })?
        .len();
    if size > MAX_BYTES {
        return Err(xptp_tests::Error::Invalid(format!(
            "{name}: {size} bytes is more than {MAX_BYTES}; lower --seconds or MAX_PACKETS"
        )));
    }
    let tsv = out.join(format!("{name}.tsv"));
    let rows = tshark::write_fields_tsv(&pcap, FIXTURE_FIELDS, &tsv)?;
    let mut counts = std::collections::BTreeMap::new();
    for t in tshark::message_types(&pcap)? {
        *counts.entry(t).or_insert(0u32) += 1;
    }
    println!("{name}: {size} bytes, {rows} PTP frames {counts:?}; {mgmt}");
    Ok(())
}

fn main() -> ExitCode {
    let mut seconds = 8;
    let mut out: PathBuf = fixtures_dir();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => match args.next().and_then(|v| v.parse().ok()) {
                Some(v) => seconds = v,
                None => {
                    eprintln!("--seconds needs a whole number");
                    return ExitCode::FAILURE;
                }
            },
            "-h" | "--help" => {
                println!("usage: capture-fixtures [--seconds N] [OUT_DIR]  (as root)");
                return ExitCode::SUCCESS;
            }
            dir => out = PathBuf::from(dir),
        }
    }
    if !is_root() {
        eprintln!("capture-fixtures needs root (network namespaces): sudo -E cargo run ...");
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("{}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let mut failed = false;
    for (name, transport, delay) in CASES {
        if let Err(e) = capture_one(name, *transport, *delay, seconds, &out) {
            eprintln!("{name}: {e}");
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
