//! `xptp decode`: prints the PTP messages of a pcap or pcapng capture, one line (or one JSON
//! object) per message, and a summary.
//!
//! This module reads captures and formats text; all PTP parsing is the datapath's
//! [`xptp_datapath::wire`] codec. Frames that are not PTP are counted and skipped; PTP frames
//! that the codec rejects print the codec's error (which names the field) and are counted as
//! malformed. Supported link types: Ethernet, Linux cooked capture v1 and v2 (`tcpdump -i any`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{DataLink, PcapError};
use serde_json::{json, Value};
use xptp_datapath::wire::frame::{self, Frame, NetworkRepr, Transport};
use xptp_datapath::wire::tlv::management::id as mgmt_id;
use xptp_datapath::wire::{Body, MessageRepr, TlvRepr, WireError};

/// Why a capture could not be decoded (individual bad frames are not errors: they are counted).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path} is not a pcap or pcapng capture ({reason}); write one with tcpdump -w or tshark -w"
    )]
    NotCapture { path: PathBuf, reason: String },
    #[error("reading the capture failed: {0}")]
    Capture(#[source] PcapError),
    #[error("writing the output failed: {0}")]
    Output(#[source] io::Error),
}

/// Output format.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Format {
    /// One human-readable line per message.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Counts over a whole capture.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub frames: u64,
    pub ptp: u64,
    pub non_ptp: u64,
    pub malformed: u64,
    /// Messages per messageType name (`Sync`, `Delay_Req`, …).
    pub by_type: BTreeMap<&'static str, u64>,
    /// Malformed frames per [`WireError::reason`].
    pub malformed_by_reason: BTreeMap<&'static str, u64>,
}

/// Decodes the capture at `path` into `out`.
pub fn decode_file(
    path: &Path,
    format: Format,
    out: &mut dyn Write,
) -> Result<Summary, DecodeError> {
    let file = File::open(path).map_err(|source| DecodeError::Open {
        path: path.to_owned(),
        source,
    })?;
    decode_reader(BufReader::new(file), format, out).map_err(|e| match e {
        DecodeError::NotCapture { reason, .. } => DecodeError::NotCapture {
            path: path.to_owned(),
            reason,
        },
        other => other,
    })
}

/// Decodes a pcap or pcapng stream into `out`.
pub fn decode_reader<R: Read>(
    mut reader: R,
    format: Format,
    out: &mut dyn Write,
) -> Result<Summary, DecodeError> {
    let mut magic = [0u8; 4];
    let not_capture = |reason: String| DecodeError::NotCapture {
        path: PathBuf::from("input"),
        reason,
    };
    reader
        .read_exact(&mut magic)
        .map_err(|e| not_capture(format!("cannot read the file magic: {e}")))?;
    let chained = io::Cursor::new(magic).chain(reader);
    let mut dec = Decoder::new(format, out);
    match magic {
        [0x0a, 0x0d, 0x0d, 0x0a] => {
            let mut r = PcapNgReader::new(chained).map_err(|e| not_capture(e.to_string()))?;
            while let Some(block) = r.next_block() {
                let block = block.map_err(DecodeError::Capture)?;
                let (iface, ts, data) = match block {
                    Block::EnhancedPacket(p) => (p.interface_id, p.timestamp, p.data.into_owned()),
                    Block::SimplePacket(p) => (0, Duration::ZERO, p.data.into_owned()),
                    _ => continue,
                };
                let idb = r.interfaces().get(iface as usize);
                let link = idb.map_or(DataLink::ETHERNET, |i| i.linktype);
                let resol = idb
                    .and_then(|i| {
                        i.options.iter().find_map(|o| match o {
                            InterfaceDescriptionOption::IfTsResol(v) => Some(*v),
                            _ => None,
                        })
                    })
                    .unwrap_or(6);
                dec.packet(pcapng_time(ts, resol), link, &data)?;
            }
        }
        [0xa1, 0xb2, 0xc3, 0xd4]
        | [0xd4, 0xc3, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0x3c, 0x4d]
        | [0x4d, 0x3c, 0xb2, 0xa1] => {
            let mut r = PcapReader::new(chained).map_err(|e| not_capture(e.to_string()))?;
            let link = r.header().datalink;
            while let Some(p) = r.next_packet() {
                let p = p.map_err(DecodeError::Capture)?;
                dec.packet(p.timestamp, link, &p.data)?;
            }
        }
        other => return Err(not_capture(format!("unknown magic {other:02x?}"))),
    }
    dec.finish()
}

/// pcap-file 2 returns the raw pcapng timestamp as if it were nanoseconds; rescale it by the
/// interface's if_tsresol (default 10^-6 s).
fn pcapng_time(raw: Duration, tsresol: u8) -> Duration {
    let units = raw.as_nanos();
    let n = u32::from(tsresol & 0x7f);
    let ns = if tsresol & 0x80 != 0 {
        units.saturating_mul(1_000_000_000) >> n.min(127)
    } else if n <= 9 {
        units.saturating_mul(10u128.pow(9 - n))
    } else {
        units / 10u128.saturating_pow(n - 9)
    };
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

/// Rewrites a Linux cooked capture header into an Ethernet header (addresses unknown → zero,
/// the link-layer source address when it is a MAC). `None` if the link type is unsupported.
fn to_ethernet(link: DataLink, data: &[u8]) -> Option<Vec<u8>> {
    let (proto, addr_len, addr, rest) = match link {
        DataLink::ETHERNET => return Some(data.to_vec()),
        // SLL: type(2) arphrd(2) addr_len(2) addr(8) protocol(2)
        DataLink::LINUX_SLL => (
            data.get(14..16)?,
            usize::from(u16::from_be_bytes(data.get(4..6)?.try_into().ok()?)),
            data.get(6..14)?,
            data.get(16..)?,
        ),
        // SLL2: protocol(2) reserved(2) ifindex(4) arphrd(2) type(1) addr_len(1) addr(8)
        DataLink::LINUX_SLL2 => (
            data.get(0..2)?,
            usize::from(*data.get(11)?),
            data.get(12..20)?,
            data.get(20..)?,
        ),
        _ => return None,
    };
    let mut eth = vec![0u8; 12];
    if addr_len == 6 {
        eth.get_mut(6..12)?.copy_from_slice(addr.get(..6)?);
    }
    eth.extend_from_slice(proto);
    eth.extend_from_slice(rest);
    Some(eth)
}

/// Turns frames into lines one at a time: what [`decode_reader`] does for a capture, usable on
/// frames from any other source (the live datapath in `xptp watch`).
pub struct Decoder<'w> {
    format: Format,
    out: &'w mut dyn Write,
    summary: Summary,
}

impl std::fmt::Debug for Decoder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("format", &self.format)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl<'w> Decoder<'w> {
    /// A decoder writing to `out`.
    pub fn new(format: Format, out: &'w mut dyn Write) -> Self {
        Decoder {
            format,
            out,
            summary: Summary::default(),
        }
    }

    /// Decodes one Ethernet frame stamped `time` (any epoch the caller chooses) into a line.
    pub fn ethernet_frame(&mut self, time: Duration, data: &[u8]) -> Result<(), DecodeError> {
        self.packet(time, DataLink::ETHERNET, data)
    }

    /// The counts so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }
}

fn fmt_time(t: Duration) -> String {
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

fn mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// (source, destination) as MAC for L2, IP:port for UDP.
fn endpoints(t: &Transport) -> (String, String) {
    match t.network {
        NetworkRepr::L2 => (mac(t.ethernet.src), mac(t.ethernet.dst)),
        NetworkRepr::Udp4 {
            src,
            dst,
            src_port,
            dst_port,
            ..
        } => (format!("{src}:{src_port}"), format!("{dst}:{dst_port}")),
        NetworkRepr::Udp6 {
            src,
            dst,
            src_port,
            dst_port,
            ..
        } => (format!("[{src}]:{src_port}"), format!("[{dst}]:{dst_port}")),
    }
}

fn transport_name(t: &Transport) -> String {
    match t.ethernet.vlan {
        Some(v) => format!("{} vlan {}", t.kind().name(), v.vid),
        None => t.kind().name().to_string(),
    }
}

impl Decoder<'_> {
    fn emit_line(&mut self, text: String, value: Value) -> Result<(), DecodeError> {
        let line = match self.format {
            Format::Text => text,
            Format::Json => value.to_string(),
        };
        writeln!(self.out, "{line}").map_err(DecodeError::Output)
    }

    fn packet(&mut self, time: Duration, link: DataLink, data: &[u8]) -> Result<(), DecodeError> {
        self.summary.frames += 1;
        let Some(eth) = to_ethernet(link, data) else {
            self.summary.non_ptp += 1;
            return Ok(());
        };
        let frame = match frame::parse(&eth) {
            Ok(f) => f,
            Err(e) if e.is_not_ptp() => {
                self.summary.non_ptp += 1;
                return Ok(());
            }
            Err(e) => return self.malformed(time, None, e),
        };
        match MessageRepr::parse(frame.payload(&eth)) {
            Ok(m) => self.message(time, &frame, &m),
            Err(e) => self.malformed(time, Some(&frame), e),
        }
    }

    fn malformed(
        &mut self,
        time: Duration,
        frame: Option<&Frame>,
        e: WireError,
    ) -> Result<(), DecodeError> {
        self.summary.malformed += 1;
        *self
            .summary
            .malformed_by_reason
            .entry(e.reason())
            .or_default() += 1;
        let t = fmt_time(time);
        let (src, dst) = frame.map(|f| endpoints(&f.transport)).unzip();
        let at = match (&src, &dst) {
            (Some(s), Some(d)) => format!(" {s} -> {d}"),
            _ => String::new(),
        };
        self.emit_line(
            format!("{t}{at} MALFORMED: {e}"),
            json!({
                "time": t,
                "src": src,
                "dst": dst,
                "malformed": e.to_string(),
                "reason": e.reason(),
            }),
        )
    }

    fn message(&mut self, time: Duration, f: &Frame, m: &MessageRepr) -> Result<(), DecodeError> {
        self.summary.ptp += 1;
        let mtype = m.message_type();
        *self.summary.by_type.entry(mtype.name()).or_default() += 1;
        let (src, dst) = endpoints(&f.transport);
        let t = fmt_time(time);
        let h = &m.header;
        let mut text = format!(
            "{t} {src} -> {dst} {} domain {} {} seq {} src {} corr {} ns",
            transport_name(&f.transport),
            h.domain_number,
            mtype.name(),
            h.sequence_id,
            h.source_port_identity,
            h.correction,
        );
        let mut v = json!({
            "time": t,
            "src": src,
            "dst": dst,
            "transport": f.transport.kind().name(),
            "vlan": f.transport.ethernet.vlan.map(|v| v.vid),
            "domain": h.domain_number,
            "message_type": mtype.name(),
            "sequence_id": h.sequence_id,
            "source_port_identity": h.source_port_identity.to_string(),
            "correction_ns": h.correction.as_f64_nanos(),
            "correction": h.correction.to_string(),
            "correction_scaled": h.correction.scaled(),
            "flags": h.flags.names().collect::<Vec<_>>(),
            "log_message_interval": h.log_message_interval,
        });
        if let Some(ts) = m.body.timestamp() {
            text.push_str(&format!(" ts {ts}"));
            v["timestamp"] = json!(ts.to_string());
        }
        if let Some(p) = m.body.requesting_port_identity() {
            text.push_str(&format!(" req {p}"));
            v["requesting_port_identity"] = json!(p.to_string());
        }
        match &m.body {
            Body::Announce(a) => {
                text.push_str(&format!(
                    " gm {} p1 {} class {} steps {}",
                    a.grandmaster_identity,
                    a.grandmaster_priority1,
                    a.grandmaster_clock_quality.clock_class,
                    a.steps_removed
                ));
                v["grandmaster_identity"] = json!(a.grandmaster_identity.to_string());
                v["priority1"] = json!(a.grandmaster_priority1);
                v["priority2"] = json!(a.grandmaster_priority2);
                v["clock_class"] = json!(a.grandmaster_clock_quality.clock_class);
                v["clock_accuracy"] = json!(a.grandmaster_clock_quality.clock_accuracy);
                v["offset_scaled_log_variance"] =
                    json!(a.grandmaster_clock_quality.offset_scaled_log_variance);
                v["current_utc_offset"] = json!(a.current_utc_offset);
                v["steps_removed"] = json!(a.steps_removed);
                v["time_source"] = json!(a.time_source);
            }
            Body::Management(b) => {
                text.push_str(&format!(" {}", b.action.name()));
                v["action"] = json!(b.action.name());
                v["target_port_identity"] = json!(b.target_port_identity.to_string());
                v["starting_boundary_hops"] = json!(b.starting_boundary_hops);
                v["boundary_hops"] = json!(b.boundary_hops);
                match m.tlvs.first() {
                    Some(TlvRepr::Management(t)) => {
                        let name = mgmt_id::name(t.management_id)
                            .map_or_else(|| format!("{:#06x}", t.management_id), str::to_string);
                        text.push_str(&format!(" {name}"));
                        v["management_id"] = json!(name);
                    }
                    Some(TlvRepr::ManagementErrorStatus(e)) => {
                        text.push_str(&format!(" error {:#06x}", e.management_error_id));
                        v["management_error"] = json!(e.management_error_id);
                        v["management_id"] = json!(mgmt_id::name(e.management_id)
                            .map_or_else(|| format!("{:#06x}", e.management_id), str::to_string));
                    }
                    _ => {}
                }
            }
            Body::Signaling {
                target_port_identity,
            } => {
                v["target_port_identity"] = json!(target_port_identity.to_string());
            }
            _ => {}
        }
        if !m.tlvs.is_empty() {
            let names: Vec<String> = m
                .tlvs
                .iter()
                .map(|t| {
                    let ty = t.tlv_type();
                    xptp_datapath::wire::tlv::tlv_type::name(ty)
                        .map_or_else(|| format!("{ty:#06x}"), str::to_string)
                })
                .collect();
            text.push_str(&format!(" tlvs [{}]", names.join(",")));
            v["tlvs"] = json!(names);
        }
        self.emit_line(text, v)
    }

    /// Writes the summary line and returns the counts.
    pub fn finish(mut self) -> Result<Summary, DecodeError> {
        let s = &self.summary;
        let types = s
            .by_type
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!(
            "summary: {} frames, {} PTP messages ({}), {} non-PTP skipped, {} malformed",
            s.frames,
            s.ptp,
            if types.is_empty() {
                "none".into()
            } else {
                types
            },
            s.non_ptp,
            s.malformed
        );
        let v = json!({ "summary": s });
        self.emit_line(text, v)?;
        Ok(self.summary)
    }
}
