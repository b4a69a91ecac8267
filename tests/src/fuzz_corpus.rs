//! Seed inputs for the cargo-fuzz targets in `fuzz/`, derived from the golden ptp4l captures
//! (`tests/fixtures/*.pcapng`) and linuxptp's default configuration. The seeds are checked in
//! under `fuzz/corpus/<target>/seed-*`; `cargo run -p xptp-tests --bin fuzz-corpus` rewrites
//! them and the `fuzz_corpus` test checks that the checked-in seeds are current.
//!
//! Each target gets a few frames per (capture, messageType, flags) so the corpus stays small
//! (well under 1 MB) while covering every message kind and transport the captures hold. The
//! input layouts follow the targets: the fast-path targets take 8 parameter octets first, the
//! sequence targets (`fastpath_tc`, `ptp_instance`) take `[op, len, bytes...]` records. The
//! first Delay_Req / Pdelay_Req of each (capture, flags) also seeds the authenticated path
//! (IEEE 1588-2019 16.14) of `fastpath_delay_resp` / `fastpath_pdelay`: `...-auth-sign` and
//! `...-auth-signed`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use xptp_datapath::wire::auth::KeyRef;
use xptp_datapath::wire::frame;
use xptp_datapath::wire::{Message, MessageType};

use crate::fixtures::{capture_path, read_capture, PTP4L_FIXTURES};
use crate::Result;

/// Frames kept per (capture, messageType, flags).
const PER_KIND: usize = 2;

/// `fuzz/` at the workspace root.
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Every seed: (target, file name, contents).
pub fn seeds() -> Result<Vec<(&'static str, String, Vec<u8>)>> {
    let mut out = Vec::new();
    for name in PTP4L_FIXTURES {
        let frames = read_capture(&capture_path(name))?;
        let mut kinds: BTreeMap<(u8, u16), usize> = BTreeMap::new();
        let mut seq_tc = Vec::new();
        let mut seq_inst = Vec::new();
        let mut in_seq = 0;
        for (i, f) in frames.iter().enumerate() {
            let data = &f.data;
            let Ok(p) = frame::parse(data) else { continue };
            let payload = p.payload(data);
            let Ok(m) = Message::new_checked(payload) else {
                continue;
            };
            // The first 24 frames of each capture go into the sequence seeds.
            if in_seq < 24 && data.len() <= 255 && payload.len() <= 255 {
                in_seq += 1;
                seq_tc.extend_from_slice(&[(i as u8) & 0x03, data.len() as u8]);
                seq_tc.extend_from_slice(data);
                seq_inst.extend_from_slice(&[1 + (i as u8 & 1), payload.len() as u8]);
                seq_inst.extend_from_slice(payload);
            }
            let n = kinds
                .entry((m.message_type() as u8, m.flags().0))
                .or_insert(0);
            if *n >= PER_KIND {
                continue;
            }
            *n += 1;
            let stem = format!("seed-{name}-{i:03}");
            out.push(("wire_frame", stem.clone(), data.clone()));
            out.push(("wire_view", stem.clone(), payload.to_vec()));
            // Parameters: port 0, ingress timestamp present (0x17 << 48 ns), E2E/P2P TC off.
            let mut fp = vec![0, 0, 1, 0, 0, 0, 0, 0x17];
            fp.extend_from_slice(data);
            out.push(("fastpath_delay_resp", stem.clone(), fp.clone()));
            out.push(("fastpath_pdelay", stem.clone(), fp));
            if *n == 1 {
                if let Some(target) = auth_target(m.message_type()) {
                    for seed in ["auth-sign", "auth-signed"] {
                        out.push((target, format!("{stem}-{seed}"), auth_seed(seed, data)));
                    }
                }
            }
        }
        let tc_mode = if name.contains("p2p") { 4 } else { 2 };
        let mut tc = vec![tc_mode, 0, 0, 0, 0, 0, 0, 0];
        tc.extend_from_slice(&seq_tc);
        out.push(("fastpath_tc", format!("seed-{name}-sequence"), tc));
        out.push(("ptp_instance", format!("seed-{name}-sequence"), seq_inst));
    }
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../control/tests/fixtures/linuxptp-3.1.1/default.cfg");
    let text = std::fs::read(&cfg).map_err(|source| crate::Error::Io { path: cfg, source })?;
    out.push(("config_parse", "seed-linuxptp-default.cfg".into(), text));
    out.push((
        "config_parse",
        "seed-xptp-keys.cfg".into(),
        b"[global]\nclock_source virtual\ndelay_req_rate_limit 5000\ndelay_req_burst 100\n\
          management_per_requester_rate_limit 10\n[eth0]\ndelay_mechanism P2P\n"
            .to_vec(),
    ));
    Ok(out)
}

/// The fixed association of the fast-path targets' authenticated ports
/// (`fuzz/fuzz_targets/common.rs`: AUTH_SPP, AUTH_KEY_ID, AUTH_SECRET, `auth_knob`).
const AUTH_SPP: u8 = 1;
const AUTH_KEY_ID: u32 = 7;
const AUTH_SECRET: &[u8] = b"xptp-fuzz-pre-shared-key";
/// `auth_knob` bits: ON (the ports require authentication), SIGN (the target signs first).
const AUTH_ON: u8 = 0x01;
const AUTH_SIGN: u8 = 0x02;

/// The target whose authenticated engine path answers `mtype` requests.
fn auth_target(mtype: MessageType) -> Option<&'static str> {
    match mtype {
        MessageType::DelayReq => Some("fastpath_delay_resp"),
        MessageType::PdelayReq => Some("fastpath_pdelay"),
        _ => None,
    }
}

/// The input of authentication seed `seed` for a request frame: `auth-sign` (the frame as
/// captured; the target signs it before deciding) or `auth-signed` (signed here with the
/// targets' key, verified as it comes). Parameters (port 0, ingress timestamp, the auth
/// knob in octet 5) then the frame.
fn auth_seed(seed: &str, data: &[u8]) -> Vec<u8> {
    let key = KeyRef {
        key_id: AUTH_KEY_ID,
        icv_len: 32,
        secret: AUTH_SECRET,
    };
    let (knob, frame) = match seed {
        "auth-sign" => (AUTH_ON | AUTH_SIGN, data.to_vec()),
        _ => (
            AUTH_ON,
            frame::signed(data, AUTH_SPP, key, false).unwrap_or_else(|| data.to_vec()),
        ),
    };
    let mut fp = vec![0, 0, 1, 0, 0, knob, 0, 0x17];
    fp.extend_from_slice(&frame);
    fp
}

/// Writes every seed under `fuzz/corpus/<target>/`, replacing older `seed-*` files.
pub fn write_seeds(root: &Path) -> Result<usize> {
    let seeds = seeds()?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| crate::Error::Io { path, source }
    };
    for (target, _, _) in &seeds {
        let dir = root.join("corpus").join(target);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        for e in std::fs::read_dir(&dir).map_err(io(&dir))?.flatten() {
            if e.file_name().to_string_lossy().starts_with("seed-") {
                std::fs::remove_file(e.path()).map_err(io(&e.path()))?;
            }
        }
    }
    for (target, name, data) in &seeds {
        let p = root.join("corpus").join(target).join(name);
        std::fs::write(&p, data).map_err(io(&p))?;
    }
    Ok(seeds.len())
}
