//! Golden-capture checks shared by the fixture tests and the live lab tests: a frame parses and
//! re-emits byte for byte, and `xptp decode --json` agrees field by field with tshark's
//! `-T fields` table of the same capture.
//!
//! Wireshark's PTP dissector is written independently of xptp, so agreement with it on every
//! field of every frame of real ptp4l traffic is evidence that both read the octets the same
//! way. This module only compares values; it runs neither tshark nor the decoder.

use serde_json::Value;
use xptp_datapath::wire::frame::{self, FrameRepr};
use xptp_datapath::wire::tlv::management::id as mgmt_id;
use xptp_datapath::wire::{FlagField, MessageRepr, MessageType};

use crate::fixtures::{parse_int, FieldsTable};

/// Parses `data` (an Ethernet frame) at both levels and re-emits it:
/// [`FrameRepr`] must reproduce the whole frame (headers, checksums, padding) and
/// [`MessageRepr`] the PTP message (`messageLength` octets of the payload). Returns the parsed
/// frame, or what differs.
pub fn roundtrip(data: &[u8]) -> Result<FrameRepr, String> {
    let f = frame::parse(data).map_err(|e| format!("frame::parse: {e}"))?;
    let payload = f.payload(data);
    let msg = MessageRepr::parse(payload).map_err(|e| format!("MessageRepr::parse: {e}"))?;
    let again = msg
        .to_vec()
        .map_err(|e| format!("MessageRepr::to_vec: {e}"))?;
    let original = payload.get(..again.len()).unwrap_or(payload);
    if again != original {
        return Err(format!(
            "MessageRepr re-emit differs at octet {:?} of the {} message\n  got  {}\n  want {}",
            first_difference(&again, original),
            msg.message_type(),
            hex(&again),
            hex(original)
        ));
    }
    if again.len() != msg.buffer_len() {
        return Err(format!(
            "buffer_len {} but emitted {} octets",
            msg.buffer_len(),
            again.len()
        ));
    }
    let repr = FrameRepr::parse(data).map_err(|e| format!("FrameRepr::parse: {e}"))?;
    let out = repr.emit().map_err(|e| format!("FrameRepr::emit: {e}"))?;
    if out != data {
        return Err(format!(
            "FrameRepr re-emit differs at octet {:?} of the frame\n  got  {}\n  want {}",
            first_difference(&out, data),
            hex(&out),
            hex(data)
        ));
    }
    Ok(repr)
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Lowercase hex, octets separated by spaces.
pub fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits `xptp decode --json` output into the per-frame objects and the final summary object.
pub fn split_decode_json(output: &str) -> Result<(Vec<Value>, Value), String> {
    let mut objs = output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).map_err(|e| format!("{e}: {l}")))
        .collect::<Result<Vec<_>, _>>()?;
    let summary = objs
        .pop()
        .and_then(|mut s| s.get_mut("summary").map(Value::take))
        .ok_or("no summary line at the end of the decode output")?;
    Ok((objs, summary))
}

/// Environment variable naming the `xptp` binary to run (overrides discovery).
pub const XPTP_BIN_ENV: &str = "XPTP_BIN";

/// The `xptp` binary built next to the running test: `$XPTP_BIN` if set, else `xptp` in the
/// cargo profile directory (a test executable lives in `<target>/<profile>/deps/`, the binaries
/// of the workspace in `<target>/<profile>/`). `None` if there is none (e.g. only
/// `cargo test -p xptp-tests` was built): callers fall back to the library.
pub fn xptp_binary() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os(XPTP_BIN_ENV) {
        return Some(p.into());
    }
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let bin = profile_dir.join("xptp");
    bin.is_file().then_some(bin)
}

/// Which implementation produced a decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodedBy {
    /// The `xptp` binary at this path.
    Binary(std::path::PathBuf),
    /// [`xptp_control::decode`] in process (no binary, or the binary is stale; see the note).
    Library { note: String },
}

/// `xptp decode --json FILE`: runs the real binary when [`xptp_binary`] finds one, and checks
/// it against the library it is built from. A binary whose output differs is stale (built
/// before the last change to the decoder, e.g. by an earlier `cargo test --workspace`); then
/// the library's output is returned with a note saying how to rebuild.
pub fn decode_json(file: &std::path::Path) -> Result<(String, DecodedBy), String> {
    let mut lib = Vec::new();
    xptp_control::decode::decode_file(file, xptp_control::decode::Format::Json, &mut lib)
        .map_err(|e| format!("decode {}: {e}", file.display()))?;
    let lib = String::from_utf8(lib).map_err(|e| e.to_string())?;
    let Some(bin) = xptp_binary() else {
        let note = "no xptp binary next to the test executable; build it with                     `cargo build -p xptp-control --bin xptp` to test the CLI too"
            .to_owned();
        return Ok((lib, DecodedBy::Library { note }));
    };
    let out = std::process::Command::new(&bin)
        .arg("decode")
        .arg("--json")
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} decode --json {} failed ({}): {}",
            bin.display(),
            file.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8(out.stdout).map_err(|e| e.to_string())?;
    if text == lib {
        Ok((text, DecodedBy::Binary(bin)))
    } else {
        let note = format!(
            "{} prints something else than the decoder library: stale binary? rebuild it              (cargo build -p xptp-control --bin xptp)",
            bin.display()
        );
        Ok((lib, DecodedBy::Library { note }))
    }
}

/// tshark's correctionField columns back to the 2^-16 ns value: `ptp.v2.correction.ns` is
/// `scaled >> 16` (floor), `ptp.v2.correction.subns` the fraction of a nanosecond printed as a
/// decimal (`0.5`), always non-negative. tshark 4.0 `-T fields` prints a negative `ns` as its
/// 64-bit two's complement (-2.25 ns is `18446744073709551613` and `0.75`; `-V` shows -3).
pub fn tshark_correction_scaled(ns: &str, subns: &str) -> Option<i128> {
    let mut whole = ns.parse::<i128>().ok()?;
    if whole > i128::from(i64::MAX) {
        whole -= 1 << 64;
    }
    let frac: f64 = if subns.is_empty() {
        0.0
    } else {
        subns.parse().ok()?
    };
    // The fraction is k/65536, printed with enough digits to recover k exactly.
    let k = (frac * 65536.0).round() as i128;
    Some(whole * 65536 + k)
}

/// `0x62c4b5fffeb71345` + port `1` as xptp prints a PortIdentity (`62c4b5.fffe.b71345-1`).
fn tshark_port_identity(clock: &str, port: &str) -> Option<String> {
    let h = clock.strip_prefix("0x")?;
    if h.len() != 16 {
        return None;
    }
    Some(format!(
        "{}.{}.{}-{}",
        &h[..6],
        &h[6..10],
        &h[10..],
        port.parse::<u16>().ok()?
    ))
}

/// `0x62c4b5fffeb71345` as xptp prints a ClockIdentity.
fn tshark_clock_identity(clock: &str) -> Option<String> {
    let s = tshark_port_identity(clock, "0")?;
    Some(s.trim_end_matches("-0").to_owned())
}

/// The tshark field prefix of the body timestamp of each message type.
fn timestamp_prefix(t: MessageType) -> Option<&'static str> {
    Some(match t {
        MessageType::Sync | MessageType::DelayReq => "ptp.v2.sdr.origintimestamp",
        MessageType::FollowUp => "ptp.v2.fu.preciseorigintimestamp",
        MessageType::DelayResp => "ptp.v2.dr.receivetimestamp",
        MessageType::PdelayReq => "ptp.v2.pdrq.origintimestamp",
        MessageType::PdelayResp => "ptp.v2.pdrs.requestreceipttimestamp",
        MessageType::PdelayRespFollowUp => "ptp.v2.pdfu.responseorigintimestamp",
        MessageType::Announce => "ptp.v2.an.origintimestamp",
        MessageType::Signaling | MessageType::Management => return None,
    })
}

/// The tshark fields of requestingPortIdentity (clock identity, port number).
fn requesting_port_fields(t: MessageType) -> Option<(&'static str, &'static str)> {
    Some(match t {
        MessageType::DelayResp => (
            "ptp.v2.dr.requestingsourceportidentity",
            "ptp.v2.dr.requestingsourceportid",
        ),
        MessageType::PdelayResp => (
            "ptp.v2.pdrs.requestingportidentity",
            "ptp.v2.pdrs.requestingsourceportid",
        ),
        MessageType::PdelayRespFollowUp => (
            "ptp.v2.pdfu.requestingportidentity",
            "ptp.v2.pdfu.requestingsourceportid",
        ),
        _ => return None,
    })
}

/// What was compared, for the caller to assert on (a comparison that compared nothing proves
/// nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Frames compared.
    pub frames: usize,
    /// Individual field values that agreed.
    pub fields: usize,
    /// Disagreements, one line each (frame number, field, xptp's value, tshark's value).
    pub mismatches: Vec<String>,
}

/// Compares decoded messages (one JSON object per frame, in capture order) with tshark's table
/// of the same capture (row i = frame i, columns from [`crate::tshark::FIXTURE_FIELDS`]) on
/// messageType, sequenceId, domainNumber, sourcePortIdentity, correctionField (ns and sub-ns),
/// flagField, logMessageInterval, the body timestamp, requestingPortIdentity, the Announce
/// grandmaster fields and the Management header and TLV ids.
pub fn compare_with_tshark(decoded: &[Value], table: &FieldsTable) -> Comparison {
    let mut c = Comparison {
        frames: decoded.len().min(table.rows.len()),
        ..Comparison::default()
    };
    if decoded.len() != table.rows.len() {
        c.mismatches.push(format!(
            "xptp decoded {} frames, tshark {}",
            decoded.len(),
            table.rows.len()
        ));
    }
    for (i, d) in decoded.iter().enumerate().take(c.frames) {
        compare_frame(i, d, table, &mut c);
    }
    c
}

fn compare_frame(row: usize, d: &Value, table: &FieldsTable, c: &mut Comparison) {
    let n = row + 1;
    let t = |field: &str| table.get(row, field).unwrap_or("");
    let mut check = |what: &str, xptp: Option<String>, tshark: Option<String>| {
        if xptp.is_some() && xptp == tshark {
            c.fields += 1;
        } else {
            c.mismatches.push(format!(
                "frame {n} {what}: xptp {xptp:?}, tshark {tshark:?}"
            ));
        }
    };
    let s = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    };
    let int = |f: &str| parse_int(t(f)).map(|v| v.to_string());

    if let Some(m) = d.get("malformed") {
        check("decode", Some(format!("malformed: {m}")), Some("ok".into()));
        return;
    }
    let mtype = parse_int(t("ptp.v2.messagetype"))
        .and_then(|v| u8::try_from(v).ok())
        .and_then(|v| MessageType::from_nibble(v).ok());
    check(
        "messageType",
        s(&d["message_type"]),
        mtype.map(|m| m.name().to_owned()),
    );
    let Some(mtype) = mtype else { return };
    check("sequenceId", s(&d["sequence_id"]), int("ptp.v2.sequenceid"));
    check("domainNumber", s(&d["domain"]), int("ptp.v2.domainnumber"));
    check(
        "sourcePortIdentity",
        s(&d["source_port_identity"]),
        tshark_port_identity(t("ptp.v2.clockidentity"), t("ptp.v2.sourceportid")),
    );
    check(
        "correctionField",
        s(&d["correction_scaled"]),
        tshark_correction_scaled(t("ptp.v2.correction.ns"), t("ptp.v2.correction.subns"))
            .map(|v| v.to_string()),
    );
    let flags = |v: &Value| {
        v.as_array().map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    check(
        "flagField",
        flags(&d["flags"]),
        parse_int(t("ptp.v2.flags"))
            .and_then(|v| u16::try_from(v).ok())
            .map(|v| FlagField(v).names().collect::<Vec<_>>().join(",")),
    );
    check(
        "logMessageInterval",
        s(&d["log_message_interval"]),
        int("ptp.v2.logmessageperiod"),
    );
    if let Some(p) = timestamp_prefix(mtype) {
        let secs = t(&format!("{p}.seconds")).to_owned();
        let nanos = t(&format!("{p}.nanoseconds")).parse::<u32>().ok();
        check(
            "body timestamp",
            s(&d["timestamp"]),
            nanos.map(|ns| format!("{secs}.{ns:09}")),
        );
    }
    if let Some((clock, port)) = requesting_port_fields(mtype) {
        check(
            "requestingPortIdentity",
            s(&d["requesting_port_identity"]),
            tshark_port_identity(t(clock), t(port)),
        );
    }
    match mtype {
        MessageType::Announce => {
            for (key, field) in [
                ("priority1", "ptp.v2.an.priority1"),
                ("priority2", "ptp.v2.an.priority2"),
                ("clock_class", "ptp.v2.an.grandmasterclockclass"),
                ("clock_accuracy", "ptp.v2.an.grandmasterclockaccuracy"),
                (
                    "offset_scaled_log_variance",
                    "ptp.v2.an.grandmasterclockvariance",
                ),
                ("current_utc_offset", "ptp.v2.an.origincurrentutcoffset"),
                ("steps_removed", "ptp.v2.an.localstepsremoved"),
                ("time_source", "ptp.v2.timesource"),
            ] {
                check(key, s(&d[key]), int(field));
            }
            check(
                "grandmasterIdentity",
                s(&d["grandmaster_identity"]),
                tshark_clock_identity(t("ptp.v2.an.grandmasterclockidentity")),
            );
        }
        MessageType::Management => {
            check(
                "targetPortIdentity",
                s(&d["target_port_identity"]),
                tshark_port_identity(
                    t("ptp.v2.mm.targetportidentity"),
                    t("ptp.v2.mm.targetportid"),
                ),
            );
            check(
                "startingBoundaryHops",
                s(&d["starting_boundary_hops"]),
                int("ptp.v2.mm.startingboundaryhops"),
            );
            check(
                "boundaryHops",
                s(&d["boundary_hops"]),
                int("ptp.v2.mm.boundaryhops"),
            );
            let action = parse_int(t("ptp.v2.mm.action"))
                .and_then(|a| u8::try_from(a).ok())
                .and_then(|a| xptp_datapath::wire::ManagementAction::from_u8(a).ok());
            check(
                "actionField",
                s(&d["action"]),
                action.map(|a| a.name().to_owned()),
            );
            let id = parse_int(t("ptp.v2.mm.managementId"))
                .and_then(|v| u16::try_from(v).ok())
                .map(|v| mgmt_id::name(v).map_or_else(|| format!("{v:#06x}"), str::to_owned));
            check("managementId", s(&d["management_id"]), id);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tshark_value_conversions() {
        assert_eq!(tshark_correction_scaled("0", "0"), Some(0));
        assert_eq!(tshark_correction_scaled("1", "0.5"), Some(0x1_8000));
        assert_eq!(tshark_correction_scaled("-2", "0.5"), Some(-0x1_8000));
        assert_eq!(
            tshark_correction_scaled("18446744073709551613", "0.75"),
            Some(-0x2_4000)
        );
        assert_eq!(tshark_correction_scaled("x", "0"), None);
        assert_eq!(
            tshark_port_identity("0x62c4b5fffeb71345", "1").as_deref(),
            Some("62c4b5.fffe.b71345-1")
        );
        assert_eq!(
            tshark_clock_identity("0x62c4b5fffeb71345").as_deref(),
            Some("62c4b5.fffe.b71345")
        );
        assert_eq!(tshark_port_identity("0x12", "1"), None);
    }

    #[test]
    fn comparison_reports_a_disagreement() {
        let table = FieldsTable::parse("ptp.v2.messagetype\tptp.v2.sequenceid\n0x00\t7\n").unwrap();
        let good = serde_json::json!({"message_type": "Sync", "sequence_id": 7});
        let c = compare_with_tshark(&[good], &table);
        assert_eq!(c.frames, 1);
        assert!(c.fields >= 2);
        let bad = serde_json::json!({"message_type": "Sync", "sequence_id": 8});
        let c = compare_with_tshark(&[bad], &table);
        assert!(
            c.mismatches.iter().any(|m| m.contains("sequenceId")),
            "{:?}",
            c.mismatches
        );
        let c = compare_with_tshark(&[], &table);
        assert_eq!(c.mismatches.len(), 1);
    }
}
