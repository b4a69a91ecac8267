//! Runs xptp's fast path on real interfaces until SIGTERM/SIGINT, then prints counters and
//! hdrhistogram summaries of Delay_Req→Delay_Resp handling, Pdelay turnaround and TC residence.
//!
//! ```text
//! xptp_tc e2e IF1 IF2 [...]        # E2E transparent clock over the interfaces
//! xptp_tc p2p IF1 IF2 [...]        # P2P transparent clock (Pdelay answered, link delay measured)
//! xptp_tc master IF                # Delay_Req responder (port MASTER)
//! options: --log-events  print one line per measurement: `EV kind port seq identity ns corr`
//! ```
//! The daemon (`xptp run`) replaces this; it exists for the netns integration tests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use xptp_datapath::fastpath::{self, EventKind, FastPathConfig, FastPathError, TcMode};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let log_events = args.iter().any(|a| a == "--log-events");
    let pos: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let Some((mode, ifaces)) = pos.split_first() else {
        eprintln!("usage: xptp_tc e2e|p2p|master IFACE... [--log-events]");
        std::process::exit(2);
    };
    // SAFETY: `on_signal` only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
    }
    let started = match *mode {
        "e2e" => fastpath::run_tc(ifaces, TcMode::E2e),
        "p2p" => fastpath::run_tc(ifaces, TcMode::P2p),
        "master" => fastpath::run_master_responder(
            ifaces.first().copied().unwrap_or("eth0"),
            FastPathConfig {
                tai_to_ptp_ns: fastpath::run::realtime_minus_tai_ns(),
                log_min_delay_req_interval: -2,
                ..FastPathConfig::default()
            },
        ),
        other => {
            eprintln!("unknown mode {other:?}: e2e, p2p or master");
            std::process::exit(2);
        }
    };
    let mut opts = match started {
        Ok(r) => r,
        Err(e) => {
            eprintln!("xptp_tc: {e}");
            std::process::exit(1);
        }
    };
    println!("xptp_tc: running {mode} on {ifaces:?}");
    let mut hists: BTreeMap<&'static str, Histogram<u64>> = BTreeMap::new();
    let mut reported_requesters = None;
    let drain = |hists: &mut BTreeMap<&'static str, Histogram<u64>>, r: &fastpath::Running| {
        while let Some(e) = r.handles().events.pop() {
            let name = match e.kind {
                EventKind::DelayResp => "delay_req_to_delay_resp",
                EventKind::PdelayTurnaround => "pdelay_turnaround",
                EventKind::SyncOneStep => "tc_residence_sync_one_step",
                EventKind::SyncTwoStep => "tc_residence_sync",
                EventKind::FollowUp => "tc_follow_up_correction",
                EventKind::DelayReq => "tc_residence_delay_req",
                EventKind::DelayResp2 => "tc_delay_resp_correction",
                EventKind::AuthRejected => "auth_rejected",
            };
            if log_events {
                println!(
                    "EV {name} port={} seq={} id={} ns={} corr={}",
                    e.port, e.sequence_id, e.port_identity, e.value_ns, e.correction.0
                );
            }
            let _ = hists
                .entry(name)
                .or_insert_with(|| {
                    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("bounds")
                })
                .record(e.value_ns.max(1) as u64);
        }
    };
    while !STOP.load(Ordering::Relaxed) {
        drain(&mut hists, &opts);
        while let Some(rep) = opts.handles().requesters.pop() {
            reported_requesters = Some(rep);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drain(&mut hists, &opts);
    let wc = opts.worker_counters();
    let fc = &opts.handles().counters;
    println!("== xptp_tc summary ==");
    println!("worker: {wc:?}");
    println!(
        "fastpath: delay_resp_sent={} pdelay_resp_sent={} pdelay_resp_follow_up_sent={} tc_forwarded={} tc_follow_up_sent={} tc_delay_resp_unmatched={} tc_sync_timed_out={} tc_delay_req_timed_out={} tx_failed={} inflight_overwritten={} events_dropped={} config_updates={}",
        fc.delay_resp_sent.get(),
        fc.pdelay_resp_sent.get(),
        fc.pdelay_resp_follow_up_sent.get(),
        fc.tc_forwarded.get(),
        fc.tc_follow_up_sent.get(),
        fc.tc_delay_resp_unmatched.get(),
        fc.tc_sync_timed_out.get(),
        fc.tc_delay_req_timed_out.get(),
        fc.tx_failed.get(),
        fc.inflight_overwritten.get(),
        fc.events_dropped.get(),
        fc.config_updates.get(),
    );
    let drops = fc.drop_summary();
    println!(
        "fastpath drops: {drops:?} (reasons: {:?})",
        FastPathError::NAMES
    );
    for p in 0..ifaces.len() {
        if let Some(d) = opts.mean_link_delay_ns(p as u16) {
            println!("meanLinkDelay port {p}: {d} ns");
        }
    }
    if let Some(r) = reported_requesters {
        println!("top requesters (total {}):", r.total);
        for t in r.top.iter().filter(|t| t.count > 0) {
            println!("  {} count={} error<={}", t.port_identity, t.count, t.error);
        }
    }
    for (name, h) in &hists {
        println!(
            "HIST {name}: n={} p50={} p99={} p99.9={} max={} mean={:.0} ns",
            h.len(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max(),
            h.mean()
        );
    }
    opts.stop_in_place();
}
