//! Reporting: per-node time-error series ([`TeSeries`]), the summary statistics that tables
//! and assertions use ([`convergence_time`], [`WindowStats`]) and the servo comparison table
//! ([`ServoTable`]).
//!
//! # The servo table and the port core
//!
//! [`ServoTable::run`] does not know any protocol. It takes a *scenario builder*: a closure
//! that, given a column (e.g. "8 ns timestamps, one hop"), a servo kind and a seed, returns a
//! ready [`Simulator`] and the node whose time error is judged. The table runs every
//! (column, servo, seed) for the same duration, computes convergence and steady-state
//! statistics from the sampled time error, and renders Markdown with every servo as a ratio
//! to the first (the linuxptp PI baseline).
//!
//! With the real port core, a grandmaster → slave scenario is a few lines: add a node running
//! the core as master and one running it as slave (servo kind from the closure's argument),
//! connect them (or chain transparent clocks between them with
//! [`TransparentClock`](super::tc::TransparentClock)), enable sampling against the
//! grandmaster, return. The tests in `sim::tests::servo` drive the same table with the
//! simulator's own measurement pair ([`SyncSource`](super::testnodes::SyncSource) /
//! [`ServoSink`](super::testnodes::ServoSink)), which feeds the servo ideal one-way
//! measurements, so the table machinery is proven before the core exists.

use std::fmt::Write as _;

use xptp_control::servo::ServoKind;

use super::engine::{SimError, Simulator};
use super::link::NodeId;

/// What time error is measured against.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Reference {
    /// The simulator's true time.
    TrueTime,
    /// Another node's PTP clock (normally the grandmaster).
    Node(NodeId),
}

/// A node's time error over time: (simulated time since the start, TE) in ns.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TeSeries {
    pub node: NodeId,
    pub samples: Vec<(i64, i64)>,
}

impl TeSeries {
    pub fn new(node: NodeId) -> Self {
        TeSeries {
            node,
            samples: Vec::new(),
        }
    }

    pub fn push(&mut self, t_ns: i64, te_ns: i64) {
        self.samples.push((t_ns, te_ns));
    }

    /// Samples with `from_ns <= t < to_ns`.
    pub fn window(&self, from_ns: i64, to_ns: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.samples
            .iter()
            .copied()
            .filter(move |(t, _)| *t >= from_ns && *t < to_ns)
    }

    /// The last sample's TE.
    pub fn last(&self) -> Option<i64> {
        self.samples.last().map(|s| s.1)
    }
}

/// The first time after which |TE| stays below `limit_ns` until the end of the series
/// (`None` if it is not below the limit at the end). A series that starts and stays below
/// the limit converges at its first sample.
pub fn convergence_time(series: &TeSeries, limit_ns: i64) -> Option<i64> {
    let limit = limit_ns.unsigned_abs();
    let last_bad = series
        .samples
        .iter()
        .rposition(|(_, te)| te.unsigned_abs() >= limit);
    match last_bad {
        None => series.samples.first().map(|s| s.0),
        Some(i) => series.samples.get(i + 1).map(|s| s.0),
    }
}

/// Statistics of |TE| (and signed mean) over a window.
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub struct WindowStats {
    pub samples: usize,
    /// Mean of TE (signed): a constant bias shows here.
    pub mean_ns: f64,
    /// Root mean square of TE.
    pub rms_ns: f64,
    /// 99th percentile of |TE| (nearest rank).
    pub p99_ns: f64,
    /// Largest |TE|.
    pub max_ns: f64,
}

impl WindowStats {
    /// The statistics of `series` over `[from_ns, to_ns)`.
    pub fn of(series: &TeSeries, from_ns: i64, to_ns: i64) -> Self {
        Self::of_values(series.window(from_ns, to_ns).map(|s| s.1 as f64))
    }

    /// The statistics of a list of TE values.
    pub fn of_values(values: impl IntoIterator<Item = f64>) -> Self {
        let v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return WindowStats::default();
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let rms = (v.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
        let mut abs: Vec<f64> = v.iter().map(|x| x.abs()).collect();
        abs.sort_by(f64::total_cmp);
        let rank = ((0.99 * n).ceil() as usize).clamp(1, abs.len());
        WindowStats {
            samples: v.len(),
            mean_ns: mean,
            rms_ns: rms,
            p99_ns: abs.get(rank - 1).copied().unwrap_or(0.0),
            max_ns: abs.last().copied().unwrap_or(0.0),
        }
    }
}

/// A ready scenario: the simulator (sampling enabled) and the node whose TE is judged.
#[derive(Debug)]
pub struct ScenarioRun {
    pub sim: Simulator,
    pub observed: NodeId,
}

/// How the servo table runs each scenario.
#[derive(Clone, Debug)]
pub struct ServoTableSpec {
    /// Rows, first = baseline for the ratios.
    pub servos: Vec<ServoKind>,
    /// Each cell is averaged over these seeds (max and convergence: worst over seeds).
    pub seeds: Vec<u64>,
    /// Total simulated time per run (ns).
    pub duration_ns: i64,
    /// Steady-state statistics are taken over `[duration - measure_ns, duration)`.
    pub measure_ns: i64,
    /// Convergence = |TE| below this for good (ns).
    pub converge_limit_ns: i64,
}

impl ServoTableSpec {
    /// The README table: PI (linuxptp defaults, the baseline), linreg, Kalman; 10 000 s per
    /// run with statistics over the last 9 000 s; convergence to |TE| < 1 µs; three seeds.
    pub fn readme() -> Self {
        ServoTableSpec {
            servos: ServoKind::ALL.to_vec(),
            seeds: vec![1, 2, 3],
            duration_ns: 10_000 * 1_000_000_000,
            measure_ns: 9_000 * 1_000_000_000,
            converge_limit_ns: 1_000,
        }
    }
}

/// The README table's columns: timestamp noise (8 ns hardware, 1 µs + 1 % 50 µs outliers
/// software) × path (one hop, 15 E2E TCs). The slave starts 1 ms off at +50 ppm.
pub const README_COLUMNS: [&str; 4] = [
    "hardware timestamps (8 ns), one hop",
    "hardware timestamps (8 ns), 15 transparent clocks",
    "software timestamps (1 µs + 1 % 50 µs outliers), one hop",
    "software timestamps (1 µs + 1 % 50 µs outliers), 15 transparent clocks",
];

/// One cell of the table.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct ServoResult {
    /// Worst convergence time over the seeds (s); `None` if some seed never converged.
    pub convergence_s: Option<f64>,
    pub rms_ns: f64,
    pub p99_ns: f64,
    pub max_ns: f64,
}

/// The results of one column (scenario variant) for every servo.
#[derive(Clone, Debug)]
pub struct ServoColumn {
    pub name: String,
    /// Convergence = |TE| below this for good (ns).
    pub converge_limit_ns: i64,
    pub rows: Vec<(ServoKind, ServoResult)>,
}

/// The servo comparison table. See the module docs.
#[derive(Clone, Debug)]
pub struct ServoTable {
    pub spec: ServoTableSpec,
    pub columns: Vec<ServoColumn>,
}

impl ServoTable {
    /// Runs `build(column, servo, seed)` for every combination and collects the results;
    /// convergence is judged against `spec.converge_limit_ns` in every column.
    pub fn run<C, F>(spec: ServoTableSpec, columns: &[C], build: F) -> Result<Self, SimError>
    where
        C: AsRef<str>,
        F: FnMut(&str, ServoKind, u64) -> ScenarioRun,
    {
        let limit = spec.converge_limit_ns;
        let cols: Vec<(&str, i64)> = columns.iter().map(|c| (c.as_ref(), limit)).collect();
        Self::run_with_limits(spec, &cols, build)
    }

    /// Like [`ServoTable::run`], with a convergence limit per column (`(name, limit_ns)`):
    /// software timestamps never get within 100 ns, so their columns judge convergence
    /// against a wider band.
    pub fn run_with_limits<F>(
        spec: ServoTableSpec,
        columns: &[(&str, i64)],
        mut build: F,
    ) -> Result<Self, SimError>
    where
        F: FnMut(&str, ServoKind, u64) -> ScenarioRun,
    {
        let mut out = Vec::new();
        for &(col, limit) in columns {
            let mut rows = Vec::new();
            for &servo in &spec.servos {
                let mut conv: Option<f64> = Some(0.0);
                let (mut rms, mut p99, mut max) = (0.0f64, 0.0f64, 0.0f64);
                for &seed in &spec.seeds {
                    let mut run = build(col, servo, seed);
                    run.sim.run_until(spec.duration_ns)?;
                    let empty = TeSeries::new(run.observed);
                    let series = run.sim.time_error_series(run.observed).unwrap_or(&empty);
                    let c = convergence_time(series, limit);
                    conv = match (conv, c) {
                        (Some(a), Some(b)) => Some(a.max(b as f64 / 1e9)),
                        _ => None,
                    };
                    let w = WindowStats::of(
                        series,
                        spec.duration_ns - spec.measure_ns,
                        spec.duration_ns + 1,
                    );
                    rms += w.rms_ns;
                    p99 += w.p99_ns;
                    max = max.max(w.max_ns);
                }
                let n = spec.seeds.len().max(1) as f64;
                rows.push((
                    servo,
                    ServoResult {
                        convergence_s: conv,
                        rms_ns: rms / n,
                        p99_ns: p99 / n,
                        max_ns: max,
                    },
                ));
            }
            out.push(ServoColumn {
                name: col.to_string(),
                converge_limit_ns: limit,
                rows,
            });
        }
        Ok(ServoTable { spec, columns: out })
    }

    /// The result of `servo` in column `column`.
    pub fn get(&self, column: &str, servo: ServoKind) -> Option<ServoResult> {
        self.columns
            .iter()
            .find(|c| c.name == column)?
            .rows
            .iter()
            .find(|r| r.0 == servo)
            .map(|r| r.1)
    }

    /// Markdown: one table; a group of rows per column (scenario), one row per servo, every
    /// figure of a non-baseline servo followed by its ratio to the first servo (the baseline)
    /// in the same scenario.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let limits: Vec<String> = self
            .columns
            .iter()
            .map(|c| fmt_ns(c.converge_limit_ns as f64))
            .collect();
        let mut distinct = limits.clone();
        distinct.dedup();
        let _ = writeln!(
            s,
            "Servo comparison: {} s of simulated time per run, steady-state statistics over the last {} s, convergence = |TE| below the scenario's limit ({}) for good; {} seed(s), the same for every servo (RMS and p99: mean over seeds; max and convergence: worst). Ratios (×) are to the first row of each scenario.\n",
            self.spec.duration_ns / 1_000_000_000,
            self.spec.measure_ns / 1_000_000_000,
            distinct.join(" / "),
            self.spec.seeds.len()
        );
        let _ = writeln!(
            s,
            "| scenario | servo | convergence | RMS \\|TE\\| | p99 \\|TE\\| | max \\|TE\\| |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|");
        for (col, limit) in self.columns.iter().zip(&limits) {
            let base = col.rows.first().map(|r| r.1);
            for (i, (kind, r)) in col.rows.iter().enumerate() {
                let ratio = |v: f64, b: Option<f64>| match b {
                    Some(b) if b > 0.0 && i > 0 => format!(" (×{:.2})", v / b),
                    _ => String::new(),
                };
                let conv = match r.convergence_s {
                    Some(c) => format!("{c:.0} s{}", ratio(c, base.and_then(|b| b.convergence_s))),
                    None => "never".to_string(),
                };
                let scenario = if i == 0 {
                    format!("**{}** (converged: < {limit})", col.name)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {}{} | {}{} | {}{} |",
                    scenario,
                    kind,
                    conv,
                    fmt_ns(r.rms_ns),
                    ratio(r.rms_ns, base.map(|b| b.rms_ns)),
                    fmt_ns(r.p99_ns),
                    ratio(r.p99_ns, base.map(|b| b.p99_ns)),
                    fmt_ns(r.max_ns),
                    ratio(r.max_ns, base.map(|b| b.max_ns)),
                );
            }
        }
        s
    }
}

impl ServoTable {
    /// Writes [`ServoTable::to_markdown`] to `path` (for the README).
    pub fn write_markdown(&self, path: &std::path::Path) -> std::io::Result<()> {
        std::fs::write(path, self.to_markdown())
    }
}

/// `812 ns`, `3.4 µs`, `1.20 ms`.
pub fn fmt_ns(ns: f64) -> String {
    let a = ns.abs();
    if a < 1e3 {
        format!("{ns:.1} ns")
    } else if a < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if a < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}
