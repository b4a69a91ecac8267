//! Run reports: machine facts, every scenario's numbers, ratios between targets, as JSON
//! (one object per run) and as a Markdown summary.

use std::fmt::Write as _;

use crate::loadgen::{LoadReport, Percentiles};
use crate::scenario::{CapacityResult, LatencyResult, StallResult, TcResult};

/// Facts about the machine and the run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub loadavg_start: String,
    pub loadavg_end: String,
    pub xdp_mode: String,
    pub af_xdp_mode: String,
    pub generator_tx: String,
    pub ptp4l_version: String,
    pub command: String,
    pub unix_time: u64,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl Machine {
    /// Collects the facts now.
    pub fn collect(generator_tx: &str) -> Self {
        let cpu_model = read("/proc/cpuinfo")
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        let ptp4l_version = std::process::Command::new("ptp4l")
            .arg("-v")
            .output()
            .map(|o| {
                let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
                if s.is_empty() {
                    String::from_utf8_lossy(&o.stderr).trim().to_string()
                } else {
                    s
                }
            })
            .unwrap_or_default();
        Machine {
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            cpu_model,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            loadavg_start: read("/proc/loadavg").trim().to_string(),
            loadavg_end: String::new(),
            xdp_mode: "native (veth)".into(),
            af_xdp_mode: "copy (veth has no zero-copy)".into(),
            generator_tx: generator_tx.to_string(),
            ptp4l_version,
            command: std::env::args().collect::<Vec<_>>().join(" "),
            unix_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }
}

/// A ratio between two targets' results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ratio {
    pub what: String,
    pub value: f64,
}

/// Everything one invocation measured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub machine: Option<Machine>,
    pub quick: bool,
    pub capacity: Vec<CapacityResult>,
    pub latency: Vec<LatencyResult>,
    pub stall: Vec<StallResult>,
    pub tc: Vec<TcResult>,
    pub ratios: Vec<Ratio>,
    /// Scenario/target pairs that failed or were skipped, with the reason.
    pub skipped: Vec<String>,
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

/// The Delay_Req round trip split at the target's own RX stamp (p50 of each leg), with the
/// replies whose stamp could not be placed.
fn legs(r: &LoadReport) -> String {
    if r.leg_to_stamp.count == 0 {
        return "–".into();
    }
    let unplaced = if r.legs_unplaced > 0 {
        format!(" ({} unplaced)", r.legs_unplaced)
    } else {
        String::new()
    };
    format!(
        "{} / {}{unplaced}",
        us(r.leg_to_stamp.p50),
        us(r.leg_from_stamp.p50)
    )
}

fn pct(p: &Percentiles) -> String {
    if p.count == 0 {
        return "–".into();
    }
    format!(
        "{} / {} / {} / {}",
        us(p.p50),
        us(p.p99),
        us(p.p999),
        us(p.max)
    )
}

fn k(rate: f64) -> String {
    format!("{:.0} k", rate / 1000.0)
}

impl Report {
    /// Computes the ratios between targets (capacity per wire, median latency).
    pub fn compute_ratios(&mut self) {
        let mut out = Vec::new();
        let cap = |t: &str, w: crate::loadgen::Wire| {
            self.capacity
                .iter()
                .find(|c| c.target == t && c.wire == w)
                .map(|c| c.capacity as f64)
                .filter(|&c| c > 0.0)
        };
        for w in [crate::loadgen::Wire::L2, crate::loadgen::Wire::Udp4] {
            for (a, b) in [("xptp", "ptp4l"), ("xptp", "kernel"), ("kernel", "ptp4l")] {
                if let (Some(x), Some(y)) = (cap(a, w), cap(b, w)) {
                    out.push(Ratio {
                        what: format!("Delay_Req capacity {} {a}/{b}", w.name()),
                        value: x / y,
                    });
                }
            }
        }
        self.ratios = out;
    }

    /// The Markdown summary.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# xptp-bench results{}\n",
            if self.quick { " (quick)" } else { "" }
        );
        if let Some(m) = &self.machine {
            let _ = writeln!(
                s,
                "Machine: {} cores ({}), kernel {}, XDP {}, AF_XDP {}, generator TX {}, {}.  \n\
                 Load average at start: {}; at end: {}.  \nCommand: `{}`\n",
                m.cores,
                m.cpu_model,
                m.kernel,
                m.xdp_mode,
                m.af_xdp_mode,
                m.generator_tx,
                m.ptp4l_version
                    .lines()
                    .next()
                    .map(|v| format!("ptp4l {v}"))
                    .unwrap_or_default(),
                m.loadavg_start,
                m.loadavg_end,
                m.command
            );
        }
        if !self.capacity.is_empty() {
            let _ = writeln!(s, "## Delay_Req capacity (< 0.1 % loss)\n");
            let _ = writeln!(
                s,
                "| target | transport | capacity (req/s) | RTT p50/p99/p99.9/max at capacity (µs) | at 2×: offered → answered (loss) | RTT p50 at 2× (µs) | steps |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|---|");
            for c in &self.capacity {
                let cap = if c.generator_limited {
                    format!("≥ {} (generator limit)", k(c.capacity as f64))
                } else {
                    k(c.capacity as f64)
                };
                let (dbl, dbl_p50) = match &c.at_double {
                    Some(r) => (
                        format!(
                            "{} → {} ({:.1} %)",
                            k(r.sent_rate),
                            k(r.answered_rate),
                            r.loss * 100.0
                        ),
                        us(r.rtt.p50),
                    ),
                    None => ("–".into(), "–".into()),
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    c.target,
                    c.wire.name(),
                    cap,
                    c.at_capacity
                        .as_ref()
                        .map(|r| pct(&r.rtt))
                        .unwrap_or_else(|| "–".into()),
                    dbl,
                    dbl_p50,
                    c.steps.len()
                );
            }
            s.push('\n');
        }
        if !self.ratios.is_empty() {
            let _ = writeln!(s, "| ratio | value |\n|---|---|");
            for r in &self.ratios {
                let _ = writeln!(s, "| {} | {:.2} |", r.what, r.value);
            }
            s.push('\n');
        }
        if !self.latency.is_empty() {
            let _ = writeln!(
                s,
                "## Handling latency (round trip at the generator, fixed rate)\n"
            );
            let _ = writeln!(
                s,
                "| target | transport | rate | Delay_Req→Resp p50/p99/p99.9/max (µs) | split at the target's RX stamp t4: request→t4 / t4→reply p50 (µs) | loss | Pdelay_Req→Resp p50/p99/p99.9/max (µs) | Pdelay turnaround t3−t2 p50/p99/p99.9/max (µs) |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
            for l in &self.latency {
                let _ = writeln!(
                    s,
                    "| {} | {} | {}/s | {} | {} | {:.3} % | {} | {} |",
                    l.target,
                    l.wire.name(),
                    l.rate,
                    pct(&l.delay.rtt),
                    legs(&l.delay),
                    l.delay.loss * 100.0,
                    l.pdelay
                        .as_ref()
                        .map(|p| pct(&p.rtt))
                        .unwrap_or_else(|| "–".into()),
                    l.pdelay
                        .as_ref()
                        .map(|p| pct(&p.turnaround))
                        .unwrap_or_else(|| "–".into()),
                );
            }
            s.push('\n');
        }
        if !self.stall.is_empty() {
            let _ = writeln!(s, "## Stall test (Delay_Req flood while a slave listens)\n");
            let _ = writeln!(
                s,
                "| target | transport | flood offered → answered | Syncs expected / missed | longest Sync gap in flood (ms) | Announce intervals expected / missed | longest Announce gap in flood (ms) | slave state changes | back to full service (ms) |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
            for st in &self.stall {
                let f: &LoadReport = &st.flood;
                let _ = writeln!(
                    s,
                    "| {} | {} | {} → {} | {} / {} | {:.1} | {} / {} | {:.1} | {} | {} |",
                    st.target,
                    st.wire.name(),
                    k(f.sent_rate),
                    k(f.answered_rate),
                    st.expected_syncs,
                    st.missed_syncs,
                    f.master.max_sync_gap_during_load_ns as f64 / 1e6,
                    st.expected_announces,
                    st.missed_announce_intervals,
                    f.master.max_announce_gap_during_load_ns as f64 / 1e6,
                    st.slave_state_changes.len(),
                    st.recovery_ms
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "not within 60 s".into())
                );
            }
            s.push('\n');
            let mut seen = Vec::new();
            for st in &self.stall {
                if !seen.contains(&&st.target) {
                    seen.push(&st.target);
                    let _ = writeln!(s, "- {}: {}", st.target, st.target_description);
                }
            }
            for st in &self.stall {
                if !st.slave_state_changes.is_empty() {
                    let _ = writeln!(
                        s,
                        "- slave of {} on {}: {}",
                        st.target,
                        st.wire.name(),
                        st.slave_state_changes.join(", ")
                    );
                }
            }
            s.push('\n');
        }
        if !self.tc.is_empty() {
            let _ = writeln!(
                s,
                "## Transparent clock residence (Sync/Follow_Up stream)\n"
            );
            let _ = writeln!(
                s,
                "| target | role | transport | Syncs | residence p50/p99/p99.9/max (µs) | Sync transit p50/p99/p99.9/max (µs) | loss |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|---|");
            for t in &self.tc {
                let _ = writeln!(
                    s,
                    "| {} | {:?} | {} | {} | {} | {} | {:.3} % |",
                    t.target,
                    t.role,
                    t.wire.name(),
                    t.stream.acc.sent,
                    pct(&t.stream.residence),
                    pct(&t.stream.rtt),
                    t.stream.loss * 100.0
                );
            }
            s.push('\n');
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(s, "Skipped / failed:\n");
            for x in &self.skipped {
                let _ = writeln!(s, "- {x}");
            }
        }
        s
    }
}
