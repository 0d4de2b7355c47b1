//! The anti-entropy figures as SVG, with the paper's axes: simulated time in seconds across,
//! a measure (maximum staleness in seconds, or the number of stale mappings) up, one line per
//! run.

use std::path::Path;

use plotters::prelude::*;

fn plot_err<E: std::fmt::Display>(e: E) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

/// One line: a label and (seconds, value) points.
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// Draws `lines` against time into an SVG at `path`; `marks` are vertical lines (time, label)
/// for the scenario's steps (MTU set, rate doubled, ...).
pub fn plot(
    path: &Path,
    title: &str,
    y_label: &str,
    lines: &[Line],
    marks: &[(f64, String)],
) -> std::io::Result<()> {
    let root = SVGBackend::new(path, (800, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let max_x = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let max_y = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..max_x, 0.0..max_y * 1.08)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc(y_label)
        .draw()
        .map_err(plot_err)?;
    for (t, label) in marks {
        chart
            .draw_series(LineSeries::new([(*t, 0.0), (*t, max_y * 1.08)], BLACK.mix(0.25)))
            .map_err(plot_err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (*t, max_y * 1.05),
                ("sans-serif", 11),
            )))
            .map_err(plot_err)?;
    }
    for (i, l) in lines.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(l.points.iter().copied(), c.stroke_width(2)))
            .map_err(plot_err)?
            .label(l.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}
