//! What `xptp lab` measured and how it says so: the time series of both slaves, the lock
//! decision, percentiles, the live table's rows and the final summary (text and JSON).
//!
//! Pure: no clock, no process, no file. The orchestration in [`super`] feeds samples in; the
//! plot in [`super::plot`] reads them out.

use std::fmt::Write as _;

use serde::Serialize;

/// One `master offset …` summary of an `xptp run` slave.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct XptpSample {
    /// Seconds since the lab started.
    pub t: f64,
    /// offsetFromMaster as the slave measured it (ns).
    pub offset_ns: i64,
    /// Servo state: 0 unlocked, 1 jump, 2 locked.
    pub servo: u8,
    /// meanPathDelay (ns).
    pub path_delay_ns: i64,
    /// Frequency adjustment (ppb).
    pub freq_ppb: i64,
    /// Virtual clock minus the truth (ns): what a perfect reference would measure.
    pub true_error_ns: i64,
}

/// One measurement of the free-running ptp4l slave (pmc `TIME_STATUS_NP`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Ptp4lSample {
    /// Seconds since the lab started (from the Sync's ingress time).
    pub t: f64,
    /// offsetFromMaster (ns). All namespaces share the host clock, so its truth is 0: this is
    /// ptp4l's measurement error.
    pub offset_ns: i64,
    /// meanPathDelay (E2E) or peerMeanPathDelay (P2P) (ns).
    pub path_delay_ns: i64,
}

/// p50 / p99 / max of absolute values (ns), nearest-rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    /// Number of values.
    pub n: usize,
    /// Median of |x|.
    pub p50_ns: i64,
    /// 99th percentile of |x|.
    pub p99_ns: i64,
    /// Largest |x|.
    pub max_ns: i64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `|v|`; `None` when empty.
    pub fn of_abs(v: impl IntoIterator<Item = i64>) -> Option<Self> {
        let mut a: Vec<i64> = v.into_iter().map(|x| x.saturating_abs()).collect();
        if a.is_empty() {
            return None;
        }
        a.sort_unstable();
        let rank = |p: f64| {
            let r = (p * a.len() as f64).ceil() as usize;
            a.get(r.clamp(1, a.len()) - 1).copied().unwrap_or(0)
        };
        Some(Percentiles {
            n: a.len(),
            p50_ns: rank(0.50),
            p99_ns: rank(0.99),
            max_ns: a.last().copied().unwrap_or(0),
        })
    }
}

/// Mean and standard deviation (ns).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MeanStdev {
    /// Number of values.
    pub n: usize,
    /// Mean (ns).
    pub mean_ns: f64,
    /// Population standard deviation (ns).
    pub stdev_ns: f64,
}

impl MeanStdev {
    /// `None` when empty.
    pub fn of(v: impl IntoIterator<Item = i64>) -> Option<Self> {
        let v: Vec<f64> = v.into_iter().map(|x| x as f64).collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        Some(MeanStdev {
            n: v.len(),
            mean_ns: mean,
            stdev_ns: var.sqrt(),
        })
    }
}

/// Index of the first sample of the final uninterrupted run of locked (s2) summaries, if the
/// run has at least `min_len` samples. A slave that unlocks again later is locked only from its
/// last re-lock on.
pub fn lock_index(samples: &[XptpSample], min_len: usize) -> Option<usize> {
    let tail = samples.iter().rev().take_while(|s| s.servo == 2).count();
    (tail >= min_len.max(1)).then(|| samples.len() - tail)
}

/// Fewest locked summaries (4 per second) that count as "locked".
pub const MIN_LOCKED_SAMPLES: usize = 8;

/// Seconds after the lock that the statistics leave out: the servo reports s2 right after its
/// step, while its frequency estimate still settles (tens of µs for a second or two with
/// software timestamps). The plot shows them; [`Summary::xptp_settling_max_ns`] reports them.
pub const SETTLE_S: f64 = 5.0;

/// The end-of-run summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// `e2e-tc`, `p2p-tc` or `bc`.
    pub topology: String,
    /// How long the lab ran (s).
    pub duration_s: f64,
    /// Whether it ran to the end (false: interrupted).
    pub completed: bool,
    /// The xptp slave's servo stayed locked (s2) for the rest of the run.
    pub xptp_locked: bool,
    /// Seconds from the lab's start to that lock.
    pub xptp_time_to_lock_s: Option<f64>,
    /// |true error| of the xptp slave over the locked part, after [`SETTLE_S`].
    pub xptp_true_error: Option<Percentiles>,
    /// Largest |true error| during the first [`SETTLE_S`] seconds of the lock.
    pub xptp_settling_max_ns: Option<i64>,
    /// The xptp slave's own measured offset over the locked part, after [`SETTLE_S`].
    pub xptp_offset: Option<MeanStdev>,
    /// The ptp4l slave's measured offset while SLAVE, over the same window as the xptp
    /// statistics (its truth is 0 behind a TC).
    pub ptp4l_offset: Option<MeanStdev>,
    /// |true error| of the boundary clock's own virtual clock over its locked part, after
    /// [`SETTLE_S`] (bc only).
    pub bc_true_error: Option<Percentiles>,
    /// Frames the transparent clock forwarded (tc only).
    pub tc_forwarded: Option<u64>,
    /// Number of summaries / samples collected.
    pub xptp_samples: usize,
    /// Number of ptp4l samples collected.
    pub ptp4l_samples: usize,
}

impl Summary {
    /// Computes the summary from the collected series.
    pub fn compute(
        topology: &str,
        duration_s: f64,
        completed: bool,
        xptp: &[XptpSample],
        ptp4l: &[Ptp4lSample],
        bc: &[XptpSample],
        tc_forwarded: Option<u64>,
    ) -> Self {
        let lock = lock_index(xptp, MIN_LOCKED_SAMPLES);
        let lock_t = lock.and_then(|i| xptp.get(i)).map(|s| s.t);
        let locked = lock.and_then(|i| xptp.get(i..)).unwrap_or(&[]);
        let from = lock_t.map_or(f64::INFINITY, |t| t + SETTLE_S);
        let settled: Vec<&XptpSample> = locked.iter().filter(|s| s.t >= from).collect();
        let settling = locked.iter().filter(|s| s.t < from);
        let bc_settled: Vec<&XptpSample> = lock_index(bc, MIN_LOCKED_SAMPLES)
            .and_then(|i| bc.get(i..))
            .map(|l| {
                let from = l.first().map_or(f64::INFINITY, |s| s.t + SETTLE_S);
                l.iter().filter(|s| s.t >= from).collect()
            })
            .unwrap_or_default();
        // Without a lock, ptp4l's whole SLAVE time is the window.
        let pfrom = if lock.is_some() { from } else { f64::MIN };
        Summary {
            topology: topology.to_owned(),
            duration_s,
            completed,
            xptp_locked: lock.is_some(),
            xptp_time_to_lock_s: lock_t,
            xptp_true_error: Percentiles::of_abs(settled.iter().map(|s| s.true_error_ns)),
            xptp_settling_max_ns: settling.map(|s| s.true_error_ns.saturating_abs()).max(),
            xptp_offset: MeanStdev::of(settled.iter().map(|s| s.offset_ns)),
            ptp4l_offset: MeanStdev::of(ptp4l.iter().filter(|s| s.t >= pfrom).map(|s| s.offset_ns)),
            bc_true_error: Percentiles::of_abs(bc_settled.iter().map(|s| s.true_error_ns)),
            tc_forwarded,
            xptp_samples: xptp.len(),
            ptp4l_samples: ptp4l.len(),
        }
    }

    /// The human summary, several lines, each starting with `lab: `.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let us = |ns: i64| ns as f64 / 1000.0;
        let _ = writeln!(
            s,
            "lab: summary ({}, {:.0} s{})",
            self.topology,
            self.duration_s,
            if self.completed { "" } else { ", interrupted" }
        );
        match (self.xptp_locked, self.xptp_time_to_lock_s) {
            (true, Some(t)) => {
                let _ = writeln!(s, "lab:   xptp slave   locked: yes, after {t:.1} s");
            }
            _ => {
                let _ = writeln!(
                    s,
                    "lab:   xptp slave   locked: NO ({} summaries, fewer than {MIN_LOCKED_SAMPLES} locked at the end)",
                    self.xptp_samples
                );
            }
        }
        if let Some(p) = self.xptp_true_error {
            let _ = writeln!(
                s,
                "lab:   xptp slave   true time error |virtual clock - truth|: p50 {:.1} us, p99 {:.1} us, max {:.1} us ({} samples, from {SETTLE_S:.0} s after the lock on)",
                us(p.p50_ns),
                us(p.p99_ns),
                us(p.max_ns),
                p.n
            );
        }
        if let Some(m) = self.xptp_settling_max_ns {
            let _ = writeln!(
                s,
                "lab:   xptp slave   largest true time error in the first {SETTLE_S:.0} s after the lock: {:.1} us",
                us(m)
            );
        }
        if let Some(m) = self.xptp_offset {
            let _ = writeln!(
                s,
                "lab:   xptp slave   measured offset: mean {:+.1} us, stdev {:.1} us",
                m.mean_ns / 1000.0,
                m.stdev_ns / 1000.0
            );
        }
        match self.ptp4l_offset {
            Some(m) => {
                let truth = if self.topology == "bc" {
                    "its true offset is minus the BC's time error: it shares the host clock"
                } else {
                    "its true offset is 0: it shares the host clock"
                };
                let _ = writeln!(
                    s,
                    "lab:   ptp4l slave  measured offset: mean {:+.1} us, stdev {:.1} us ({} samples; {truth})",
                    m.mean_ns / 1000.0,
                    m.stdev_ns / 1000.0,
                    m.n
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "lab:   ptp4l slave  no measurement (never reached SLAVE)"
                );
            }
        }
        if let Some(p) = self.bc_true_error {
            let _ = writeln!(
                s,
                "lab:   xptp BC      true time error: p50 {:.1} us, p99 {:.1} us, max {:.1} us",
                us(p.p50_ns),
                us(p.p99_ns),
                us(p.max_ns)
            );
        }
        if let Some(f) = self.tc_forwarded {
            let _ = writeln!(s, "lab:   xptp TC      {f} frames forwarded");
        }
        s
    }
}

/// One line of the live table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Seconds since the lab started.
    pub t: f64,
    /// The xptp slave's port state (`LISTENING`, `UNCALIBRATED`, `SLAVE`, …).
    pub xptp_state: String,
    /// Its newest summary, if any.
    pub xptp: Option<XptpSample>,
    /// The ptp4l slave's port state.
    pub ptp4l_state: String,
    /// Its newest measurement, if any.
    pub ptp4l: Option<Ptp4lSample>,
}

/// The table header (two lines).
pub fn header() -> String {
    format!(
        "{:>5}  {:<12} {:>3} {:>11} {:>11} {:>9} | {:<12} {:>11} {:>9}\n{:>5}  {:<12} {:>3} {:>11} {:>11} {:>9} | {:<12} {:>11} {:>9}",
        "time", "xptp slave", "", "offset", "true error", "delay", "ptp4l slave", "offset", "delay",
        "s", "state", "", "ns", "ns", "ns", "state", "ns", "ns",
    )
}

impl Row {
    /// The row as printed under [`header`].
    pub fn render(&self) -> String {
        let dash = || "-".to_owned();
        let (servo, off, te, d) = match &self.xptp {
            Some(x) => (
                format!("s{}", x.servo),
                x.offset_ns.to_string(),
                x.true_error_ns.to_string(),
                x.path_delay_ns.to_string(),
            ),
            None => (String::new(), dash(), dash(), dash()),
        };
        let (poff, pd) = match &self.ptp4l {
            Some(p) => (p.offset_ns.to_string(), p.path_delay_ns.to_string()),
            None => (dash(), dash()),
        };
        format!(
            "{:>5.0}  {:<12} {:>3} {:>11} {:>11} {:>9} | {:<12} {:>11} {:>9}",
            self.t, self.xptp_state, servo, off, te, d, self.ptp4l_state, poff, pd
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(t: f64, servo: u8, te: i64) -> XptpSample {
        XptpSample {
            t,
            offset_ns: te / 2,
            servo,
            path_delay_ns: 20_000,
            freq_ppb: -30_000,
            true_error_ns: te,
        }
    }

    #[test]
    fn percentiles_nearest_rank_of_absolute_values() {
        let p = Percentiles::of_abs((1..=100).map(|i| if i % 2 == 0 { -i } else { i })).unwrap();
        assert_eq!((p.n, p.p50_ns, p.p99_ns, p.max_ns), (100, 50, 99, 100));
        let p = Percentiles::of_abs([7]).unwrap();
        assert_eq!((p.p50_ns, p.p99_ns, p.max_ns), (7, 7, 7));
        assert_eq!(Percentiles::of_abs([]), None);
    }

    #[test]
    fn mean_and_stdev() {
        let m = MeanStdev::of([2, 4, 4, 4, 5, 5, 7, 9]).unwrap();
        assert_eq!(m.mean_ns, 5.0);
        assert_eq!(m.stdev_ns, 2.0);
        assert_eq!(MeanStdev::of([]), None);
    }

    #[test]
    fn lock_is_the_final_run_of_locked_summaries() {
        let mut v: Vec<_> = (0..4).map(|i| x(f64::from(i), 0, 100_000)).collect();
        v.extend((4..8).map(|i| x(f64::from(i), 2, 1_000)));
        v.push(x(8.0, 1, 50_000)); // a step: unlocked again
        v.extend((9..20).map(|i| x(f64::from(i), 2, 2_000)));
        assert_eq!(lock_index(&v, 8), Some(9));
        assert_eq!(lock_index(&v, 12), None);
        assert_eq!(lock_index(&[], 1), None);
    }

    #[test]
    fn summary_reports_lock_and_errors_over_the_locked_part_only() {
        // Unlocked for 1 s, locked from 1 s with a 30 µs transient at 2 s, settled after 6 s.
        let mut v: Vec<_> = (0..4).map(|i| x(f64::from(i) * 0.25, 0, 100_000)).collect();
        v.extend((4..80).map(|i| {
            let te = match i {
                8 => 30_000,
                40 => -9_000,
                _ => 1_000,
            };
            x(f64::from(i) * 0.25, 2, te)
        }));
        let p: Vec<_> = (0..20)
            .map(|i| Ptp4lSample {
                t: f64::from(i),
                offset_ns: if i % 2 == 0 { 500 } else { -500 },
                path_delay_ns: 20_000,
            })
            .collect();
        let s = Summary::compute("e2e-tc", 20.0, true, &v, &p, &[], Some(123));
        assert!(s.xptp_locked);
        assert_eq!(s.xptp_time_to_lock_s, Some(1.0));
        let te = s.xptp_true_error.unwrap();
        // From 6 s on: samples 24..80.
        assert_eq!((te.n, te.p50_ns, te.max_ns), (56, 1_000, 9_000));
        assert_eq!(s.xptp_settling_max_ns, Some(30_000));
        let po = s.ptp4l_offset.unwrap();
        assert_eq!((po.n, po.mean_ns, po.stdev_ns), (14, 0.0, 500.0));
        let text = s.render();
        assert!(text.contains("locked: yes, after 1.0 s"), "{text}");
        assert!(
            text.contains("p50 1.0 us, p99 9.0 us, max 9.0 us"),
            "{text}"
        );
        assert!(text.contains("mean +0.0 us, stdev 0.5 us"), "{text}");
        assert!(text.contains("123 frames forwarded"), "{text}");
        assert!(text.lines().all(|l| l.starts_with("lab: ")), "{text}");

        let unlocked = Summary::compute("bc", 3.0, false, &v[..4], &[], &[], None);
        assert!(!unlocked.xptp_locked);
        assert_eq!(unlocked.xptp_true_error, None);
        let text = unlocked.render();
        assert!(
            text.contains("locked: NO") && text.contains("interrupted"),
            "{text}"
        );
        assert!(text.contains("never reached SLAVE"), "{text}");
    }

    #[test]
    fn rows_line_up_with_the_header() {
        let r = Row {
            t: 12.0,
            xptp_state: "SLAVE".into(),
            xptp: Some(x(12.0, 2, -1_234)),
            ptp4l_state: "UNCALIBRATED".into(),
            ptp4l: None,
        };
        let line = r.render();
        let h = header();
        let first = h.lines().next().unwrap();
        assert_eq!(line.find('|'), first.find('|'), "{first}\n{line}");
        assert!(line.contains("s2") && line.contains("-1234"), "{line}");
    }
}
