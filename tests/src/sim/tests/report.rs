//! Report helpers and the servo table driven by a scenario builder.

use xptp_control::servo::ServoKind;

use super::servo::pair;
use crate::sim::report::{
    convergence_time, ScenarioRun, ServoTable, ServoTableSpec, TeSeries, WindowStats,
};
use crate::sim::{NodeId, Noise, SEC};

fn series(v: &[i64]) -> TeSeries {
    let mut s = TeSeries::new(NodeId(0));
    for (i, &te) in v.iter().enumerate() {
        s.push(i as i64 * SEC, te);
    }
    s
}

#[test]
fn convergence_is_the_start_of_the_final_stretch_below_the_limit() {
    assert_eq!(
        convergence_time(&series(&[500, 50, 200, 40, 30, -20]), 100),
        Some(3 * SEC)
    );
    assert_eq!(convergence_time(&series(&[5, 5]), 100), Some(0));
    assert_eq!(convergence_time(&series(&[5, 500]), 100), None);
    assert_eq!(convergence_time(&series(&[]), 100), None);
    // The limit is on |TE|, and exactly the limit is not below it.
    assert_eq!(convergence_time(&series(&[-100, 99]), 100), Some(SEC));
}

#[test]
fn window_statistics() {
    let s = series(
        &(1..=100)
            .map(|i| if i % 2 == 0 { i } else { -i })
            .collect::<Vec<_>>(),
    );
    let w = WindowStats::of(&s, 0, 1_000 * SEC);
    assert_eq!(w.samples, 100);
    assert_eq!(w.max_ns, 100.0);
    assert_eq!(w.p99_ns, 99.0);
    assert!((w.mean_ns - 0.5).abs() < 1e-9);
    let rms = ((1..=100).map(|i| (i * i) as f64).sum::<f64>() / 100.0).sqrt();
    assert!((w.rms_ns - rms).abs() < 1e-9);
    // The window is half-open.
    assert_eq!(WindowStats::of(&s, 10 * SEC, 20 * SEC).samples, 10);
    assert_eq!(
        WindowStats::of(&s, 500 * SEC, 600 * SEC),
        WindowStats::default()
    );
}

#[test]
fn servo_table_runs_a_builder_and_renders_ratios() {
    let spec = ServoTableSpec {
        servos: ServoKind::ALL.to_vec(),
        seeds: vec![1, 2],
        duration_ns: 400 * SEC,
        measure_ns: 200 * SEC,
        converge_limit_ns: 1_000,
    };
    let columns = ["8 ns, one hop", "1 µs + outliers, one hop"];
    let mut calls = 0;
    let table = ServoTable::run(spec, &columns, |col, kind, seed| {
        calls += 1;
        let noise = if col.starts_with("8 ns") {
            Noise::hardware()
        } else {
            Noise::software()
        };
        let (sim, observed) = pair(seed, kind, 0, noise);
        ScenarioRun { sim, observed }
    })
    .unwrap();
    assert_eq!(calls, 2 * 3 * 2);
    let hw = table.get(columns[0], ServoKind::Pi).unwrap();
    let sw = table.get(columns[1], ServoKind::Pi).unwrap();
    assert!(hw.convergence_s.is_some());
    assert!(
        sw.rms_ns > 5.0 * hw.rms_ns,
        "software timestamps are worse: {hw:?} {sw:?}"
    );
    let md = table.to_markdown();
    println!("{md}");
    assert!(md.contains("**8 ns, one hop**"));
    assert!(md.contains("| pi |") && md.contains("| linreg |") && md.contains("| kalman |"));
    for line in md
        .lines()
        .filter(|l| l.starts_with('|') && l.contains(" | "))
    {
        if line.contains("| pi |") {
            assert!(
                !line.contains("(×"),
                "the baseline row carries no ratio: {line}"
            );
        } else if line.contains("| linreg |") || line.contains("| kalman |") {
            assert!(line.contains(" (×"), "the other rows do: {line}");
        }
    }
}
