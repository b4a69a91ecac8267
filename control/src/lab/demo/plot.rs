//! The lab's plot: an SVG with two panels drawn by `plotters` (SVG backend, no system font or
//! image libraries). Top: the whole run — the xptp slave's true time error (line), its own
//! measured offset and the ptp4l slave's measured offset (points), in µs. Bottom: the same
//! from the xptp slave's lock on, zoomed to the locked values.
//!
//! It reads the series; it owns no measurement and no file other than the one it writes.

use std::path::Path;

use plotters::prelude::*;

use super::report::{Ptp4lSample, XptpSample};

const TRUE_ERROR: RGBColor = RGBColor(200, 30, 30);
const XPTP_OFFSET: RGBColor = RGBColor(40, 90, 200);
const PTP4L_OFFSET: RGBColor = RGBColor(30, 150, 60);

/// What to plot.
#[derive(Debug)]
pub struct PlotInput<'a> {
    /// Title line.
    pub title: String,
    /// The xptp slave's summaries.
    pub xptp: &'a [XptpSample],
    /// The ptp4l slave's measurements.
    pub ptp4l: &'a [Ptp4lSample],
    /// What the ptp4l slave's offset should be (legend text).
    pub ptp4l_truth: &'a str,
    /// When the xptp slave locked (s since start), if it did.
    pub lock_t: Option<f64>,
    /// Length of the run (s).
    pub duration_s: f64,
}

fn us(ns: i64) -> f64 {
    ns as f64 / 1000.0
}

/// Symmetric-ish y range (µs) covering `vals` with 10 % headroom, at least ±1 µs.
fn y_range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (-1.0f64, 1.0f64);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let pad = (hi - lo) * 0.1;
    (lo - pad, hi + pad)
}

/// Writes the SVG to `path`.
pub fn write_svg(path: &Path, input: &PlotInput<'_>) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("plotting to {}: {e}", path.display());
    let root = SVGBackend::new(path, (1100, 800)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let root = root
        .titled(&input.title, ("sans-serif", 18))
        .map_err(|e| err(&e))?;
    let (top, bottom) = root.split_vertically(390);
    let t_end = input.duration_s.max(1.0);

    panel(
        &top,
        "whole run",
        input,
        0.0,
        t_end,
        "time error / offset (µs)",
    )
    .map_err(|e| err(&e))?;
    match input.lock_t {
        Some(t0) => panel(
            &bottom,
            &format!("after the xptp slave locked ({t0:.1} s)"),
            input,
            t0,
            t_end,
            "µs",
        )
        .map_err(|e| err(&e))?,
        None => {
            bottom
                .draw_text(
                    "the xptp slave did not lock: no zoomed panel",
                    &("sans-serif", 16).into_text_style(&bottom),
                    (60, 60),
                )
                .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn panel(
    area: &Area<'_>,
    caption: &str,
    input: &PlotInput<'_>,
    t0: f64,
    t1: f64,
    y_desc: &str,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let in_t = |t: f64| t >= t0 && t <= t1;
    let xs: Vec<&XptpSample> = input.xptp.iter().filter(|s| in_t(s.t)).collect();
    let ps: Vec<&Ptp4lSample> = input.ptp4l.iter().filter(|s| in_t(s.t)).collect();
    let (lo, hi) = y_range(
        xs.iter()
            .flat_map(|s| [us(s.true_error_ns), us(s.offset_ns)])
            .chain(ps.iter().map(|s| us(s.offset_ns))),
    );
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 15))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(t0..t1, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("time since the lab started (s)")
        .y_desc(y_desc)
        .max_light_lines(1)
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;
    chart.draw_series(LineSeries::new(
        [(t0, 0.0), (t1, 0.0)],
        BLACK.mix(0.4).stroke_width(1),
    ))?;
    chart
        .draw_series(
            ps.iter()
                .map(|s| Circle::new((s.t, us(s.offset_ns)), 2, PTP4L_OFFSET.filled())),
        )?
        .label(format!(
            "ptp4l slave: measured offset ({})",
            input.ptp4l_truth
        ))
        .legend(|(x, y)| Circle::new((x + 10, y), 3, PTP4L_OFFSET.filled()));
    chart
        .draw_series(
            xs.iter()
                .map(|s| Circle::new((s.t, us(s.offset_ns)), 2, XPTP_OFFSET.filled())),
        )?
        .label("xptp slave: measured offset")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, XPTP_OFFSET.filled()));
    chart
        .draw_series(LineSeries::new(
            xs.iter().map(|s| (s.t, us(s.true_error_ns))),
            TRUE_ERROR.stroke_width(2),
        ))?
        .label("xptp slave: true time error (virtual clock - truth)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], TRUE_ERROR.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg_with_one_polyline_per_line_series() {
        let xptp: Vec<XptpSample> = (0..40)
            .map(|i| XptpSample {
                t: f64::from(i) * 0.25,
                offset_ns: if i < 4 { 100_000 } else { 500 - i64::from(i) },
                servo: if i < 4 { 0 } else { 2 },
                path_delay_ns: 20_000,
                freq_ppb: -30_000,
                true_error_ns: if i < 4 { 100_000 } else { 1_000 },
            })
            .collect();
        let ptp4l: Vec<Ptp4lSample> = (0..10)
            .map(|i| Ptp4lSample {
                t: f64::from(i),
                offset_ns: 300,
                path_delay_ns: 20_000,
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.svg");
        write_svg(
            &path,
            &PlotInput {
                title: "test".into(),
                xptp: &xptp,
                ptp4l: &ptp4l,
                ptp4l_truth: "its truth is 0",
                lock_t: Some(1.0),
                duration_s: 10.0,
            },
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert!(svg.contains("true time error"));
        // Per panel: the zero line, the true-error line (and the legend's path).
        assert!(svg.matches("<polyline").count() >= 4, "{svg}");
        // Whole run: every point; zoomed from t = 1 s: 36 xptp and 9 ptp4l points.
        assert!(svg.matches("<circle").count() >= (40 + 10) + (36 + 9));
    }
}
