//! Measures the AF_XDP datapath on a veth pair between two fresh namespaces: frames/s steered by
//! XDP and handed to control, and the XDP-ingress → worker latency distribution (CLOCK_TAI
//! written by the XDP program vs CLOCK_TAI read by the worker when it takes the batch).
//!
//! Run as root:
//!   cargo run --release -p xptp-datapath --example xsk_bench -- [--seconds 5] [--rate 0]
//!       [--core N] [--yield]
//! `--rate 0` floods (one AF_PACKET sender thread); `--rate R` paces R frames/s, which gives
//! the unloaded latency. Prints a table; asserts nothing.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use support::*;
use xptp_datapath::handoff::{Link, LinkConfig};
use xptp_datapath::worker::{self, IdlePolicy, ToControl, WorkerConfig};
use xptp_datapath::xsk::{XskConfig, XskSocket};

struct Args {
    seconds: u64,
    rate: u64,
    core: Option<usize>,
    yield_idle: bool,
}

fn args() -> Args {
    let mut a = Args {
        seconds: 5,
        rate: 0,
        core: None,
        yield_idle: false,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let next = || v.get(i + 1).and_then(|s| s.parse::<u64>().ok());
        match v[i].as_str() {
            "--seconds" => a.seconds = next().unwrap_or(5),
            "--rate" => a.rate = next().unwrap_or(0),
            "--core" => a.core = next().map(|c| c as usize),
            "--yield" => {
                a.yield_idle = true;
                i -= 1;
            }
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    a
}

fn main() {
    let a = args();
    if !require_root("xsk_bench") {
        return;
    }
    let lab = Lab::new("bench");
    in_netns(&lab.a, || {
        let steering = attach_steering(&lab.va);
        let sock = XskSocket::open(0, &lab.va, 0, &XskConfig::default()).expect("bind");
        println!(
            "loadavg {}XDP {:?} ({}) mode, AF_XDP {:?}, sender {}, worker core {:?}, idle {}",
            std::fs::read_to_string("/proc/loadavg").unwrap_or_default(),
            steering.status().mode,
            steering.status().build,
            sock.status().mode,
            if a.rate == 0 {
                "flood".to_string()
            } else {
                format!("{} fps", a.rate)
            },
            a.core,
            if a.yield_idle { "yield" } else { "busy-poll" }
        );
        steering
            .register_xsk(0, sock.as_fd())
            .expect("register the socket in the XSKMAP");
        let link = Arc::new(Link::new(LinkConfig {
            rx_up: 4096,
            ..LinkConfig::default()
        }));
        let w = worker::spawn(
            "xsk-bench",
            WorkerConfig {
                core: a.core,
                idle: if a.yield_idle {
                    IdlePolicy::YieldAfter(256)
                } else {
                    IdlePolicy::BusyPoll
                },
                drop_capabilities: false,
                rt_priority: None,
            },
            vec![sock],
            link.clone(),
            ToControl,
        )
        .expect("spawn worker");

        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).unwrap();
        let mut received = 0u64;
        let dur = Duration::from_secs(a.seconds);
        let start = Instant::now();
        std::thread::scope(|s| {
            let stop_s = stop.clone();
            let sent_s = sent.clone();
            let vb = lab.vb.clone();
            let b = lab.b.clone();
            s.spawn(move || {
                in_netns(&b, || {
                    let raw = RawSock::open(&vb);
                    let f = l2_frame(PTP_MCAST_MAC, MAC_B, None, &ptp_payload(0, 0, 1));
                    let t0 = Instant::now();
                    let mut n = 0u64;
                    while !stop_s.load(Ordering::Relaxed) {
                        if let Some(gap) = (n * 1_000_000_000).checked_div(a.rate) {
                            let due = t0 + Duration::from_nanos(gap);
                            // Sleep through most of a long gap so the sender leaves the CPU
                            // to the worker; spin the last stretch.
                            let now = Instant::now();
                            if due > now + Duration::from_micros(200) {
                                std::thread::sleep(due - now - Duration::from_micros(100));
                            }
                            while Instant::now() < due {
                                std::hint::spin_loop();
                            }
                        }
                        raw.send(&f);
                        n += 1;
                    }
                    sent_s.store(n, Ordering::Relaxed);
                })
            });
            while start.elapsed() < dur {
                match link.rx_up.pop() {
                    Some(m) => {
                        received += 1;
                        if let Some(x) = m.ts.xdp_tai_ns {
                            let _ = hist.record(m.ts.user_tai_ns.saturating_sub(x).max(1));
                        }
                    }
                    None => std::thread::yield_now(),
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
        // Let in-flight frames drain.
        std::thread::sleep(Duration::from_millis(100));
        while link.rx_up.pop().is_some() {
            received += 1;
        }
        let secs = start.elapsed().as_secs_f64();
        let c = w.counters().snapshot();
        let sent = sent.load(Ordering::Relaxed);
        println!("| metric | value |\n|---|---|");
        println!(
            "| frames sent (AF_PACKET) | {sent} ({:.0}/s) |",
            sent as f64 / secs
        );
        println!(
            "| frames steered to AF_XDP (worker rx) | {} ({:.0}/s) |",
            c.rx_frames,
            c.rx_frames as f64 / secs
        );
        println!(
            "| frames handled by control | {received} ({:.0}/s) |",
            received as f64 / secs
        );
        println!("| dropped: up-queue full | {} |", c.rx_queue_full);
        println!("| fill-ring shortfall passes | {} |", c.fill_ring_shortfall);
        let socks = w.stop();
        if let Some(k) = socks.first().and_then(|s| s.kernel_stats().ok()) {
            println!(
                "| kernel: rx_dropped / rx_ring_full / fill_ring_empty | {} / {} / {} |",
                k.rx_dropped(),
                k.rx_ring_full(),
                k.rx_fill_ring_empty_descs()
            );
        }
        println!(
            "| XDP ingress → worker latency p50 / p90 / p99 / p99.9 / max (ns) | {} / {} / {} / {} / {} |",
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.9),
            hist.value_at_quantile(0.99),
            hist.value_at_quantile(0.999),
            hist.max()
        );
    });
}
