//! `reply::delay_resp` on arbitrary frames: never panics, and every reply it builds is a valid
//! Delay_Resp frame (parses, correct type, UDP checksum valid). `knobs[5]` (see
//! `common::auth_knob`) makes the ports require authentication with a fixed key and, for half
//! of those inputs, signs the fuzzed frame first: replies then carry an AUTHENTICATION TLV
//! that must verify (IEEE 1588-2019 16.14), and the whole engine (`FastPath::decide`) is
//! driven through verification, replay check and signing.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use xptp_datapath::fastpath::reply;
use xptp_datapath::wire::MessageType;

fuzz_target!(|data: &[u8]| {
    let input = common::Input::new(data);
    let auth_knob = input.knobs[5];
    let cfg = common::config_with_auth(input.knobs[0], auth_knob);
    let port = u16::from(input.knobs[1] & 3);
    let pa = cfg.ports[usize::from(port)].auth;
    let ts = (input.knobs[2] != 0).then(|| input.u64() >> 8);
    let mut out = [0u8; 2048];
    if let Ok(len) = reply::delay_resp(input.frame, port, ts, &cfg, &mut out) {
        common::check_signed(&out[..len], MessageType::DelayResp, pa.as_ref());
    }
    // A short output buffer is an error, not a panic.
    let _ = reply::delay_resp(
        input.frame,
        port,
        ts,
        &cfg,
        &mut out[..usize::from(input.knobs[3])],
    );
    let now = 1_700_000_000_000_000_000 ^ (input.u64() & 0xffff_ffff);
    common::drive_engine(input.frame, input.knobs[0], auth_knob, port, now);
});
