//! `reply::delay_resp` on arbitrary frames: never panics, and every reply it builds is a valid
//! Delay_Resp frame (parses, correct type, UDP checksum valid).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use xptp_datapath::fastpath::reply;
use xptp_datapath::wire::MessageType;

fuzz_target!(|data: &[u8]| {
    let input = common::Input::new(data);
    let cfg = common::config(input.knobs[0]);
    let port = u16::from(input.knobs[1] & 3);
    let ts = (input.knobs[2] != 0).then(|| input.u64() >> 8);
    let mut out = [0u8; 2048];
    if let Ok(len) = reply::delay_resp(input.frame, port, ts, &cfg, &mut out) {
        common::check_emitted(&out[..len], MessageType::DelayResp);
    }
    // A short output buffer is an error, not a panic.
    let _ = reply::delay_resp(
        input.frame,
        port,
        ts,
        &cfg,
        &mut out[..usize::from(input.knobs[3])],
    );
});
