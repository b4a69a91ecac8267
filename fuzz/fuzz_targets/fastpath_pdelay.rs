//! `reply::pdelay_resp`, `reply::add_turnaround` and `reply::pdelay_resp_follow_up` on
//! arbitrary frames: never panic, and every frame built is a valid Pdelay_Resp /
//! Pdelay_Resp_Follow_Up. `knobs[5]` (see `common::auth_knob`) makes the ports sign
//! (IEEE 1588-2019 16.14): every reply then verifies, also after the one-step turnaround
//! re-sign; and it drives the whole engine on the frame, signed first for half of those
//! inputs, so that verified Pdelay_Req are answered, not only refused.
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
    let t2 = (input.knobs[2] != 0).then(|| input.u64() >> 8);
    let now = 1_700_000_000_000_000_000 ^ (input.u64() & 0xffff_ffff);
    common::drive_engine(input.frame, input.knobs[0], auth_knob, port, now);
    let mut out = [0u8; 2048];
    let Ok(p) = reply::pdelay_resp(input.frame, port, t2, &cfg, &mut out) else {
        return;
    };
    let pc = cfg.ports[usize::from(port)];
    let resp = &mut out[..p.len];
    common::check_signed(resp, MessageType::PdelayResp, pc.auth.as_ref());
    let t3 = p.t2_tai_ns.wrapping_add(u64::from(input.knobs[4]) << 20);
    if reply::add_turnaround(resp, p.t2_tai_ns, t3).is_ok() {
        common::check_emitted(resp, MessageType::PdelayResp);
        if pc.auth.is_some() && reply::resign(resp, &pc).is_ok() {
            common::check_signed(resp, MessageType::PdelayResp, pc.auth.as_ref());
        }
    }
    let mut fup = [0u8; 2048];
    if let Ok(len) = reply::pdelay_resp_follow_up(resp, t3, p.req_correction, &cfg, &pc, &mut fup) {
        common::check_signed(
            &fup[..len],
            MessageType::PdelayRespFollowUp,
            pc.auth.as_ref(),
        );
    }
    // The follow-up builder also takes arbitrary "responses".
    let _ = reply::pdelay_resp_follow_up(input.frame, t3, p.req_correction, &cfg, &pc, &mut fup);
});
