//! Packet captures in a namespace (dumpcap) and Wireshark's dissector as a second opinion
//! (tshark): field extraction and malformed/error checks.
//!
//! tshark's PTP field names (Wireshark 4.0): the header is `ptp.v2.messagetype` (there is no
//! `messageid`), `ptp.v2.sequenceid`, `ptp.v2.domainnumber`, `ptp.v2.flags`,
//! `ptp.v2.correction.ns` / `ptp.v2.correction.subns`, `ptp.v2.clockidentity`,
//! `ptp.v2.sourceportid`, `ptp.v2.controlfield`, `ptp.v2.logmessageperiod`; bodies use a prefix per
//! message: `ptp.v2.sdr.origintimestamp.*` (Sync, Delay_Req), `ptp.v2.fu.preciseorigintimestamp.*`,
//! `ptp.v2.dr.receivetimestamp.*`, `ptp.v2.pdrq.*`, `ptp.v2.pdrs.*`, `ptp.v2.pdfu.*`,
//! `ptp.v2.an.*` (Announce), `ptp.v2.sig.*`, `ptp.v2.mm.*` (Management). See [`FIXTURE_FIELDS`].
//!
//! This module only reads capture files and captures inside a namespace it is given.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::netns::{run, Netns, Proc};
use crate::{Error, Result};

/// Capture filter (BPF) that keeps PTP over Ethernet, UDP/IPv4 and UDP/IPv6.
pub const PTP_CAPTURE_FILTER: &str = "ether proto 0x88f7 or udp port 319 or udp port 320";

/// Display filter for frames Wireshark considers malformed or carrying error-level expert info.
pub const DISSECTOR_ERROR_FILTER: &str = "_ws.malformed || _ws.expert.severity >= error";

/// PTP messageType values (IEEE 1588-2019 13.3.2.2, Table 36) as tshark prints
/// `ptp.v2.messagetype`.
pub mod message_type {
    pub const SYNC: &str = "0x00";
    pub const DELAY_REQ: &str = "0x01";
    pub const PDELAY_REQ: &str = "0x02";
    pub const PDELAY_RESP: &str = "0x03";
    pub const FOLLOW_UP: &str = "0x08";
    pub const DELAY_RESP: &str = "0x09";
    pub const PDELAY_RESP_FOLLOW_UP: &str = "0x0a";
    pub const ANNOUNCE: &str = "0x0b";
    pub const SIGNALING: &str = "0x0c";
    pub const MANAGEMENT: &str = "0x0d";
}

/// Columns of the committed `*.tsv` fixture tables (header line = these names).
pub const FIXTURE_FIELDS: &[&str] = &[
    "frame.number",
    "frame.len",
    "eth.dst",
    "eth.src",
    "eth.type",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "udp.srcport",
    "udp.dstport",
    "ptp.v2.majorsdoid",
    "ptp.v2.messagetype",
    "ptp.v2.versionptp",
    "ptp.v2.minorversionptp",
    "ptp.v2.messagelength",
    "ptp.v2.domainnumber",
    "ptp.v2.minorsdoid",
    "ptp.v2.flags",
    "ptp.v2.correction.ns",
    "ptp.v2.correction.subns",
    "ptp.v2.messagetypespecific",
    "ptp.v2.clockidentity",
    "ptp.v2.sourceportid",
    "ptp.v2.sequenceid",
    "ptp.v2.controlfield",
    "ptp.v2.logmessageperiod",
    "ptp.v2.sdr.origintimestamp.seconds",
    "ptp.v2.sdr.origintimestamp.nanoseconds",
    "ptp.v2.fu.preciseorigintimestamp.seconds",
    "ptp.v2.fu.preciseorigintimestamp.nanoseconds",
    "ptp.v2.dr.receivetimestamp.seconds",
    "ptp.v2.dr.receivetimestamp.nanoseconds",
    "ptp.v2.dr.requestingsourceportidentity",
    "ptp.v2.dr.requestingsourceportid",
    "ptp.v2.pdrq.origintimestamp.seconds",
    "ptp.v2.pdrq.origintimestamp.nanoseconds",
    "ptp.v2.pdrs.requestreceipttimestamp.seconds",
    "ptp.v2.pdrs.requestreceipttimestamp.nanoseconds",
    "ptp.v2.pdrs.requestingportidentity",
    "ptp.v2.pdrs.requestingsourceportid",
    "ptp.v2.pdfu.responseorigintimestamp.seconds",
    "ptp.v2.pdfu.responseorigintimestamp.nanoseconds",
    "ptp.v2.pdfu.requestingportidentity",
    "ptp.v2.pdfu.requestingsourceportid",
    "ptp.v2.an.origintimestamp.seconds",
    "ptp.v2.an.origintimestamp.nanoseconds",
    "ptp.v2.an.origincurrentutcoffset",
    "ptp.v2.an.priority1",
    "ptp.v2.an.grandmasterclockclass",
    "ptp.v2.an.grandmasterclockaccuracy",
    "ptp.v2.an.grandmasterclockvariance",
    "ptp.v2.an.priority2",
    "ptp.v2.an.grandmasterclockidentity",
    "ptp.v2.an.localstepsremoved",
    "ptp.v2.timesource",
    "ptp.v2.mm.targetportidentity",
    "ptp.v2.mm.targetportid",
    "ptp.v2.mm.startingboundaryhops",
    "ptp.v2.mm.boundaryhops",
    "ptp.v2.mm.action",
    "ptp.v2.mm.tlvType",
    "ptp.v2.mm.lengthField",
    "ptp.v2.mm.managementId",
];

/// How long [`Capture::stop`] lets dumpcap drain the kernel's packet ring before stopping it.
pub const STOP_DRAIN: Duration = Duration::from_millis(500);

/// File format of a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CaptureFormat {
    #[default]
    Pcapng,
    /// Classic libpcap.
    Pcap,
}

/// Options of [`Capture::start`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureOptions {
    /// BPF capture filter; [`PTP_CAPTURE_FILTER`] by default, `None` for everything.
    pub filter: Option<String>,
    /// Stop by itself after this many packets.
    pub max_packets: Option<u32>,
    pub format: CaptureFormat,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            filter: Some(PTP_CAPTURE_FILTER.to_owned()),
            max_packets: None,
            format: CaptureFormat::Pcapng,
        }
    }
}

/// A running dumpcap writing one interface of a namespace to a file.
#[derive(Debug)]
pub struct Capture {
    proc: Proc,
    path: PathBuf,
    log: PathBuf,
}

impl Capture {
    /// Starts `dumpcap -i <ifname> -w <path>` inside `ns` and returns once it is capturing
    /// (its output file has its header), so traffic sent afterwards is in the file.
    pub fn start(ns: &Netns, ifname: &str, path: &Path, opts: &CaptureOptions) -> Result<Capture> {
        let _ = std::fs::remove_file(path);
        let log = path.with_extension("dumpcap.log");
        let _ = std::fs::remove_file(&log);
        let path_s = path.to_string_lossy();
        let mut args: Vec<String> = ["-q", "-i", ifname, "-w", &path_s]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        if let Some(f) = &opts.filter {
            args.extend(["-f".to_owned(), f.clone()]);
        }
        if let Some(n) = opts.max_packets {
            args.extend(["-c".to_owned(), n.to_string()]);
        }
        if opts.format == CaptureFormat::Pcap {
            args.push("-P".to_owned());
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut proc = ns.spawn_logged("dumpcap", &argv, &log)?;
        let start = Instant::now();
        loop {
            let header_written = std::fs::metadata(path)
                .map(|m| m.len() > 0)
                .unwrap_or(false);
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            if header_written && log_text.contains("Capturing on") {
                break;
            }
            if let Some(st) = proc.try_wait()? {
                return Err(Error::StartFailed {
                    command: proc.command().to_owned(),
                    status: st,
                    output: log_text.trim().to_owned(),
                });
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Err(Error::Timeout {
                    what: format!("dumpcap to start capturing on {ifname} in {}", ns.name()),
                    waited_ms: start.elapsed().as_millis(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The header is written once the socket is open and filtered; a short grace covers
        // the remaining setup before packets flow into the file.
        std::thread::sleep(Duration::from_millis(100));
        Ok(Capture {
            proc,
            path: path.to_owned(),
            log,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True once dumpcap has exited by itself (e.g. `max_packets` reached).
    pub fn finished(&mut self) -> bool {
        !self.proc.is_running()
    }

    /// Stops the capture (SIGINT, so dumpcap flushes and closes the file) and returns its path.
    pub fn stop(mut self) -> Result<PathBuf> {
        // dumpcap reads the kernel's packet ring in blocks that are handed over when full or
        // after a timeout; on SIGINT it exits without the partial block, losing the last
        // frames. Waiting past the block timeout first keeps them.
        if !self.finished() {
            std::thread::sleep(STOP_DRAIN);
        }
        self.proc.stop_with(Signal::INT, Duration::from_secs(5));
        let _ = std::fs::remove_file(&self.log);
        Ok(self.path.clone())
    }
}

fn tshark(args: &[&str]) -> Result<String> {
    // -n: no name resolution; stderr carries only the "running as root" warning.
    let out = run(Command::new("tshark").arg("-n").args(args))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One row per frame of `file`, one column per field (empty when the frame lacks it; several
/// occurrences joined by `,`).
pub fn fields(file: &Path, fields: &[&str]) -> Result<Vec<Vec<String>>> {
    fields_filtered(file, None, fields)
}

/// Like [`fields`] but only for frames matching the display filter (e.g. `"ptp"`).
pub fn fields_filtered(
    file: &Path,
    display_filter: Option<&str>,
    fields: &[&str],
) -> Result<Vec<Vec<String>>> {
    let file_s = file.to_string_lossy();
    let mut args = vec![
        "-r",
        &file_s,
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
        "-E",
        "quote=n",
    ];
    if let Some(f) = display_filter {
        args.extend(["-Y", f]);
    }
    for f in fields {
        args.extend(["-e", f]);
    }
    let out = tshark(&args)?;
    out.lines()
        .map(|l| {
            let row: Vec<String> = l.split('\t').map(str::to_owned).collect();
            if row.len() == fields.len() {
                Ok(row)
            } else {
                Err(Error::Parse {
                    tool: "tshark -T fields",
                    detail: format!("{} columns for {} fields in {l:?}", row.len(), fields.len()),
                })
            }
        })
        .collect()
}

/// Summary lines of frames Wireshark's dissectors flag as malformed or with error-level expert
/// info ([`DISSECTOR_ERROR_FILTER`]). Empty means clean.
pub fn dissector_errors(file: &Path) -> Result<Vec<String>> {
    dissector_errors_with(file, &[])
}

/// Preferences that make Wireshark verify the IPv4 header and UDP checksums (off by default),
/// so a wrong checksum becomes an error-level expert item: pass to
/// [`dissector_errors_with`].
pub const CHECKSUM_PREFS: &[&str] = &["ip.check_checksum:TRUE", "udp.check_checksum:TRUE"];

/// Like [`dissector_errors`] with Wireshark preferences set (`-o name:value` each).
pub fn dissector_errors_with(file: &Path, prefs: &[&str]) -> Result<Vec<String>> {
    let file_s = file.to_string_lossy();
    let mut args: Vec<&str> = Vec::new();
    for p in prefs {
        args.extend(["-o", p]);
    }
    args.extend(["-r", &file_s, "-Y", DISSECTOR_ERROR_FILTER]);
    let out = tshark(&args)?;
    Ok(out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect())
}

/// The `ptp.v2.messagetype` of every PTP frame in `file`, in order.
pub fn message_types(file: &Path) -> Result<Vec<String>> {
    Ok(fields_filtered(file, Some("ptp"), &["ptp.v2.messagetype"])?
        .into_iter()
        .filter_map(|r| r.into_iter().next())
        .collect())
}

/// Number of frames in `file` matching `display_filter`.
pub fn count(file: &Path, display_filter: &str) -> Result<usize> {
    Ok(fields_filtered(file, Some(display_filter), &["frame.number"])?.len())
}

/// Writes a tab-separated table: a header line with the field names, then one line per PTP
/// frame (the format of the committed `*.tsv` fixtures).
pub fn write_fields_tsv(capture: &Path, fields: &[&str], dest: &Path) -> Result<usize> {
    let rows = fields_filtered(capture, Some("ptp"), fields)?;
    let mut s = fields.join("\t");
    s.push('\n');
    for r in &rows {
        s.push_str(&r.join("\t"));
        s.push('\n');
    }
    std::fs::write(dest, s).map_err(|source| Error::Io {
        path: dest.to_owned(),
        source,
    })?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `hex` (one frame, bytes separated by spaces) to a pcap with text2pcap.
    fn pcap_from_hex(dir: &Path, hex: &str) -> PathBuf {
        let txt = dir.join("frame.txt");
        let pcap = dir.join("frame.pcap");
        std::fs::write(&txt, format!("0000 {hex}\n")).unwrap();
        run(Command::new("text2pcap").args(["-q"]).arg(&txt).arg(&pcap)).unwrap();
        pcap
    }

    #[test]
    fn dissector_errors_flags_a_truncated_sync_and_passes_a_good_one() {
        let dir = tempfile::tempdir().unwrap();
        // Ethernet to 01:1b:19:00:00:00, ethertype 0x88f7, then only 8 of Sync's 44 bytes.
        let eth = "01 1b 19 00 00 00 02 00 00 00 00 01 88 f7";
        let bad = pcap_from_hex(dir.path(), &format!("{eth} 00 02 00 2c 00 00 00 00"));
        let errs = dissector_errors(&bad).unwrap();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("Malformed"), "{errs:?}");

        // A complete two-step Sync, sequenceId 0x1234, correction 1.5 ns.
        let good = format!(
            "{eth} 00 02 00 2c 00 00 02 00 00 00 00 00 00 01 80 00 00 00 00 00 \
             02 00 00 ff fe 00 00 01 00 01 12 34 00 00 00 00 00 00 00 00 00 00 00 00"
        );
        let good = pcap_from_hex(dir.path(), &good);
        assert!(dissector_errors(&good).unwrap().is_empty());
        let rows = fields(
            &good,
            &[
                "ptp.v2.messagetype",
                "ptp.v2.sequenceid",
                "ptp.v2.correction.ns",
                "ptp.v2.correction.subns",
                "ptp.v2.flags.twostep",
            ],
        )
        .unwrap();
        // tshark prints correctionField's sub-ns part as a fraction of a ns, not in 2^-16 units.
        assert_eq!(rows, vec![vec!["0x00", "4660", "1", "0.5", "1"]]);
        assert_eq!(message_types(&good).unwrap(), vec![message_type::SYNC]);
        assert_eq!(count(&good, "ptp.v2.messagetype == 0x0b").unwrap(), 0);
    }

    #[test]
    fn capture_records_traffic_sent_after_start() {
        if !crate::require_root() {
            return;
        }
        let lab = crate::netns::Lab::pair("cap").unwrap();
        let (a, b) = (lab.node(0), lab.node(1));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("icmp.pcap");
        let opts = CaptureOptions {
            filter: Some("icmp".into()),
            max_packets: None,
            format: CaptureFormat::Pcap,
        };
        let cap = Capture::start(&b.ns, &b.ifname, &file, &opts).unwrap();
        a.ns.run("ping", &["-c2", "-i0.2", "-W2", &b.ipv4.to_string()])
            .unwrap();
        let file = cap.stop().unwrap();
        // Two echo requests and two replies, and nothing but ICMP.
        assert_eq!(count(&file, "icmp").unwrap(), 4);
        assert_eq!(fields(&file, &["frame.number"]).unwrap().len(), 4);
    }
}
