//! Terminal text for data checks: a profile as a table, and a file's checks and drift.

use std::fmt::Write as _;

use super::value::{format_date, format_datetime};
use crate::results::data::{ColumnProfile, DataReport, Profile};

/// A number as a profile shows it: dates and date-times as such, others short.
#[allow(clippy::cast_possible_truncation)]
pub fn number(kind: &str, v: f64) -> String {
    match kind {
        "date" => format_date(v.round() as i64),
        "datetime" => format_datetime(v),
        _ if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        _ => {
            let s = format!("{v:.4}");
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
    }
}

fn top(c: &ColumnProfile, n: usize) -> String {
    c.top
        .iter()
        .take(n)
        .map(|t| format!("{} ({})", t.value, t.count))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A profile as a table, one row a column.
pub fn profile(name: &str, p: &Profile) -> String {
    let width = p.columns.keys().map(String::len).max().unwrap_or(6).max(6);
    let mut out = format!("{name}: {} rows, {} columns\n\n", p.rows, p.columns.len());
    let _ = writeln!(
        out,
        "{:<width$}  {:<8}  {:>8}  {:>12}  {:>12}  {:>12}  {:>12}  {:>9}  top",
        "column", "type", "nulls", "min", "max", "mean", "std", "distinct"
    );
    for (col, c) in &p.columns {
        let show =
            |v: Option<f64>, kind: &str| v.map_or_else(|| "-".to_owned(), |v| number(kind, v));
        let std_kind = if c.kind == "date" || c.kind == "datetime" {
            "float"
        } else {
            &c.kind
        };
        let _ = writeln!(
            out,
            "{col:<width$}  {:<8}  {:>8}  {:>12}  {:>12}  {:>12}  {:>12}  {:>9}  {}",
            c.kind,
            c.nulls,
            show(c.min, &c.kind),
            show(c.max, &c.kind),
            show(c.mean, &c.kind),
            show(c.std, std_kind),
            c.distinct,
            top(c, 3)
        );
    }
    out
}

/// One file's checks (failures with their first rows) and its drift.
pub fn report(r: &DataReport) -> String {
    let mut out = String::new();
    if let Some(e) = &r.error {
        let _ = writeln!(out, "✗ {}: {e}", r.file);
        return out;
    }
    let failed = r.checks.iter().filter(|c| !c.passed).count();
    let mark = if r.passed { "✓" } else { "✗" };
    let _ = writeln!(
        out,
        "{mark} {}: {} rows, {} checks passed, {failed} failed",
        r.file,
        r.rows,
        r.checks.len() - failed
    );
    for c in r.checks.iter().filter(|c| !c.passed) {
        let _ = writeln!(
            out,
            "  ✗ {}: {}",
            c.name,
            c.detail.clone().unwrap_or_default()
        );
        for row in &c.first {
            if row.value.is_empty() {
                let _ = writeln!(out, "      row {}: null", row.row);
            } else {
                let _ = writeln!(out, "      row {}: {}", row.row, row.value);
            }
        }
    }
    if let Some(note) = &r.drift_note {
        let _ = writeln!(out, "  drift: {note}");
    }
    let shown: Vec<_> = r.drift.iter().filter(|d| d.verdict != "skipped").collect();
    if !shown.is_empty() {
        let _ = writeln!(out, "  drift against the baseline (most drifted first):");
        for d in shown.iter().take(10) {
            let mark = match d.verdict.as_str() {
                "drift" if d.enforced => "✗",
                "drift" | "warn" => "!",
                _ => "✓",
            };
            let _ = writeln!(
                out,
                "    {mark} {}: {} {:.4} (max {}) {}",
                d.column, d.method, d.score, d.max, d.verdict
            );
        }
    }
    out
}
