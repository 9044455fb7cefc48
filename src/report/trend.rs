//! Pictures of a metric's history: a Unicode sparkline for a table cell and a Mermaid
//! `xychart-beta` block GitHub draws as a line chart. Pure; uses nothing else.

use std::fmt::Write as _;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `▁▃▅█`: each value as one of eight bar heights between the series' least and greatest.
/// A flat series is drawn at mid height; non-finite values are left out.
pub fn sparkline(values: &[f64]) -> String {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let Some((lo, hi)) = bounds(&finite) else {
        return String::new();
    };
    finite
        .iter()
        .map(|&v| {
            if hi == lo {
                BARS[3]
            } else {
                let scaled = ((v - lo) / (hi - lo) * 7.0).round();
                // `scaled` is in 0..=7 by construction.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                BARS[(scaled as usize).min(7)]
            }
        })
        .collect()
}

fn bounds(values: &[f64]) -> Option<(f64, f64)> {
    let first = *values.first()?;
    Some(
        values
            .iter()
            .fold((first, first), |(lo, hi), &v| (lo.min(v), hi.max(v))),
    )
}

/// A Mermaid `xychart-beta` line chart of `points` (label, value), titled `title`, with values
/// and axis bounds shown to `precision` decimals. `None` when there is nothing to draw.
pub fn mermaid_chart(title: &str, points: &[(String, f64)], precision: usize) -> Option<String> {
    let points: Vec<&(String, f64)> = points.iter().filter(|(_, v)| v.is_finite()).collect();
    let values: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
    let (lo, hi) = bounds(&values)?;
    // A little room above and below so the line does not sit on the frame.
    let pad = if hi > lo {
        (hi - lo) * 0.1
    } else if lo == 0.0 {
        1.0
    } else {
        lo.abs() * 0.05
    };
    let step = 10f64.powi(-i32::try_from(precision.min(12)).unwrap_or(12));
    let floor = ((lo - pad) / step).floor() * step;
    let ceil = ((hi + pad) / step).ceil() * step;
    let labels: Vec<String> = points.iter().map(|(l, _)| quoted(l)).collect();
    let line: Vec<String> = values.iter().map(|v| fixed(*v, precision)).collect();
    let mut out = String::from("xychart-beta\n");
    let _ = writeln!(out, "    title {}", quoted(title));
    let _ = writeln!(out, "    x-axis [{}]", labels.join(", "));
    let _ = writeln!(
        out,
        "    y-axis {} {} --> {}",
        quoted(title),
        fixed(floor, precision),
        fixed(ceil, precision)
    );
    let _ = writeln!(out, "    line [{}]", line.join(", "));
    Some(out)
}

fn fixed(v: f64, precision: usize) -> String {
    let text = format!("{v:.precision$}");
    if text.starts_with('-') && text.trim_start_matches(['-', '0', '.']).is_empty() {
        text[1..].to_owned()
    } else {
        text
    }
}

/// A Mermaid string: double quotes, which it cannot escape, become single ones.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "'").replace('\n', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_spans_the_range() {
        assert_eq!(sparkline(&[0.0, 1.0, 2.0, 7.0]), "▁▂▃█");
        assert_eq!(sparkline(&[3.0, 3.0]), "▄▄");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&[f64::NAN, 1.0, 2.0]), "▁█");
    }

    #[test]
    fn chart_has_padded_bounds() {
        let chart = mermaid_chart(
            "acc",
            &[("a1".to_owned(), 0.5), ("this PR".to_owned(), 1.0)],
            2,
        )
        .unwrap();
        assert_eq!(
            chart,
            "xychart-beta\n    title \"acc\"\n    x-axis [\"a1\", \"this PR\"]\n    \
             y-axis \"acc\" 0.45 --> 1.05\n    line [0.50, 1.00]\n"
        );
        assert_eq!(mermaid_chart("x", &[], 2), None);
    }
}
