//! `reply::pdelay_resp`, `reply::add_turnaround` and `reply::pdelay_resp_follow_up` on
//! arbitrary frames: never panic, and every frame built is a valid Pdelay_Resp /
//! Pdelay_Resp_Follow_Up.
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
    let t2 = (input.knobs[2] != 0).then(|| input.u64() >> 8);
    let mut out = [0u8; 2048];
    let Ok(p) = reply::pdelay_resp(input.frame, port, t2, &cfg, &mut out) else {
        return;
    };
    let resp = &mut out[..p.len];
    common::check_emitted(resp, MessageType::PdelayResp);
    let t3 = p.t2_tai_ns.wrapping_add(u64::from(input.knobs[4]) << 20);
    if reply::add_turnaround(resp, p.t2_tai_ns, t3).is_ok() {
        common::check_emitted(resp, MessageType::PdelayResp);
    }
    let mut fup = [0u8; 2048];
    let pc = cfg.ports[usize::from(port)];
    if let Ok(len) = reply::pdelay_resp_follow_up(resp, t3, p.req_correction, &cfg, &pc, &mut fup) {
        common::check_emitted(&fup[..len], MessageType::PdelayRespFollowUp);
    }
    // The follow-up builder also takes arbitrary "responses".
    let _ = reply::pdelay_resp_follow_up(input.frame, t3, p.req_correction, &cfg, &pc, &mut fup);
});
