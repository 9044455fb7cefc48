//! `dvc metrics diff` output, byte for byte: the diff of two metric sets rendered as DVC's
//! plain table, GitHub Markdown table or JSON. Pure; uses `results`.
//!
//! One deliberate change: DVC iterates files (and, in `--json`, metric keys) from a Python
//! `set`, so their order varies between runs; here files and keys are sorted.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::results::metrics::{
    MetricFiles, MetricValue, Metrics, Number, python_float, python_round,
};

/// How the diff is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffFormat {
    /// tabulate's `plain` table; nothing at all when no metric changed.
    #[default]
    Plain,
    /// tabulate's `github` table and a blank line; the header even when no metric changed.
    Markdown,
    /// `{"path": {"key": {"old": …, "new": …, "diff": …}}}`, unrounded, on one line.
    Json,
}

/// What `dvc metrics diff` takes from its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffOptions {
    /// Show unchanged metrics too (`--all`).
    pub all: bool,
    /// Digits after the point for floats in tables (`--precision`); 0 means the default, 5, as
    /// in DVC (`args.precision or DEFAULT_PRECISION`).
    pub precision: u32,
    pub format: DiffFormat,
    /// The header of the old column: the revision as the user wrote it.
    pub a_rev: String,
    /// The header of the new column.
    pub b_rev: String,
    /// Leave out the `Path` column (`--no-path`).
    pub no_path: bool,
}

/// DVC's default `--precision`.
pub const DEFAULT_PRECISION: u32 = 5;

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            all: false,
            precision: DEFAULT_PRECISION,
            format: DiffFormat::Plain,
            a_rev: "HEAD".to_owned(),
            b_rev: "workspace".to_owned(),
            no_path: false,
        }
    }
}

/// One changed (or, with `all`, unchanged) metric.
#[derive(Debug, Clone, PartialEq)]
struct Row<'a> {
    path: &'a str,
    key: &'a str,
    old: Option<&'a MetricValue>,
    new: Option<&'a MetricValue>,
    /// `new - old`, only when both are numbers.
    diff: Option<Number>,
}

fn rows<'a>(
    old: &'a MetricFiles,
    new: &'a MetricFiles,
    empty: &'a Metrics,
    all: bool,
) -> Vec<Row<'a>> {
    let paths: BTreeSet<&str> = old.keys().chain(new.keys()).map(String::as_str).collect();
    let mut out = Vec::new();
    for path in paths {
        let o = old.get(path).unwrap_or(empty);
        let n = new.get(path).unwrap_or(empty);
        let keys: BTreeSet<&str> = o.keys().chain(n.keys()).map(String::as_str).collect();
        for key in keys {
            let (ov, nv) = (o.get(key), n.get(key));
            let same = match (ov, nv) {
                (Some(a), Some(b)) => a.py_eq(b),
                _ => false,
            };
            if same && !all {
                continue;
            }
            let diff = match (
                ov.and_then(MetricValue::as_number),
                nv.and_then(MetricValue::as_number),
            ) {
                (Some(a), Some(b)) => Some(b.minus(a)),
                _ => None,
            };
            out.push(Row {
                path,
                key,
                old: ov,
                new: nv,
                diff,
            });
        }
    }
    out
}

/// The diff of `old` and `new` as `dvc metrics diff` prints it, trailing newline included.
/// Empty when there is nothing to print in the plain format.
pub fn metrics_diff(old: &MetricFiles, new: &MetricFiles, opts: &DiffOptions) -> String {
    let empty = Metrics::new();
    let rows = rows(old, new, &empty, opts.all);
    match opts.format {
        DiffFormat::Json => json(&rows),
        DiffFormat::Plain | DiffFormat::Markdown => table(&rows, opts),
    }
}

fn table(rows: &[Row<'_>], opts: &DiffOptions) -> String {
    let markdown = opts.format == DiffFormat::Markdown;
    if rows.is_empty() && !markdown {
        return String::new();
    }
    let precision = if opts.precision == 0 {
        DEFAULT_PRECISION
    } else {
        opts.precision
    };
    let mut headers = vec![
        "Path",
        "Metric",
        opts.a_rev.as_str(),
        opts.b_rev.as_str(),
        "Change",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.path.to_owned(),
                r.key.to_owned(),
                cell(r.old.map(Cellable::Value), precision),
                cell(r.new.map(Cellable::Value), precision),
                cell(r.diff.map(Cellable::Number), precision),
            ];
            if opts.no_path {
                row.remove(0);
            }
            row
        })
        .collect();
    if opts.no_path {
        headers.remove(0);
    }
    let mut text = tabulate(&headers, &cells, markdown);
    text.push('\n');
    if markdown {
        text.push('\n');
    }
    text
}

#[derive(Clone, Copy)]
enum Cellable<'a> {
    Value(&'a MetricValue),
    Number(Number),
}

/// DVC's `_format_field(..., round_digits=True)`: floats `round()`ed, then `str()`; `-` for
/// nothing. tabulate then strips the text.
fn cell(value: Option<Cellable<'_>>, precision: u32) -> String {
    let text = match value {
        None => "-".to_owned(),
        Some(Cellable::Value(MetricValue::Float(f))) => python_float(python_round(*f, precision)),
        Some(Cellable::Number(Number::Float(f))) => python_float(python_round(f, precision)),
        Some(Cellable::Value(v)) => v.to_string(),
        Some(Cellable::Number(n)) => n.to_string(),
    };
    text.trim().to_owned()
}

/// `tabulate(rows, headers, tablefmt="plain" | "github", disable_numparse=True)`: every cell a
/// left-aligned string, each column as wide as its widest cell or its header plus two.
fn tabulate(headers: &[&str], rows: &[Vec<String>], github: bool) -> String {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| width(&r[i]))
                .max()
                .unwrap_or(0)
                .max(width(h) + 2)
        })
        .collect();
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(width(s))));
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let padded: Vec<String> = cells.zip(&widths).map(|(c, w)| pad(c, *w)).collect();
        if github {
            format!("| {} |", padded.join(" | "))
        } else {
            padded.join("  ").trim_end().to_owned()
        }
    };
    let mut lines = vec![line(&mut headers.iter().copied())];
    if github {
        let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        lines.push(format!("|{}|", dashes.join("|")));
    }
    for row in rows {
        lines.push(line(&mut row.iter().map(String::as_str)));
    }
    lines.join("\n")
}

/// Display width as `wcwidth.wcswidth` counts it, for the common cases: East Asian wide and
/// fullwidth characters take two columns, combining marks and zero-width spaces none.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match u32::from(c) {
            0x0300..=0x036F | 0x200B..=0x200F | 0xFE00..=0xFE0F => 0,
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1F64F
            | 0x1F900..=0x1F9FF
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// Python's `json.dumps` (default separators, `ensure_ascii`), on one line.
fn json(rows: &[Row<'_>]) -> String {
    let mut out = String::from("{");
    let mut current: Option<&str> = None;
    for row in rows {
        if current == Some(row.path) {
            out.push_str(", ");
        } else {
            if current.is_some() {
                out.push_str("}, ");
            }
            json_str(&mut out, row.path);
            out.push_str(": {");
            current = Some(row.path);
        }
        json_str(&mut out, row.key);
        out.push_str(": {\"old\": ");
        json_value(&mut out, row.old);
        out.push_str(", \"new\": ");
        json_value(&mut out, row.new);
        if let Some(d) = row.diff {
            out.push_str(", \"diff\": ");
            json_number(&mut out, d);
        }
        out.push('}');
    }
    if current.is_some() {
        out.push('}');
    }
    out.push_str("}\n");
    out
}

fn json_value(out: &mut String, value: Option<&MetricValue>) {
    match value {
        None => out.push_str("null"),
        Some(MetricValue::Str(s)) => json_str(out, s),
        Some(MetricValue::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(MetricValue::Int(i)) => json_number(out, Number::Int(i128::from(*i))),
        Some(MetricValue::Float(f)) => json_number(out, Number::Float(*f)),
    }
}

fn json_number(out: &mut String, n: Number) {
    match n {
        Number::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Number::Float(f) if f.is_nan() => out.push_str("NaN"),
        Number::Float(f) if f.is_infinite() => {
            out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        }
        Number::Float(f) => out.push_str(&python_float(f)),
    }
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entries: &[(&str, &[(&str, MetricValue)])]) -> MetricFiles {
        entries
            .iter()
            .map(|(p, ms)| {
                (
                    (*p).to_owned(),
                    ms.iter()
                        .map(|(k, v)| ((*k).to_owned(), v.clone()))
                        .collect(),
                )
            })
            .collect()
    }

    fn opts(format: DiffFormat) -> DiffOptions {
        DiffOptions {
            format,
            ..DiffOptions::default()
        }
    }

    use MetricValue::{Bool, Float, Int, Str};

    /// DVC's `tests/unit/test_compare.py::test_metrics_diff_md` and `test_diff_table`.
    fn dvc_example() -> (MetricFiles, MetricFiles) {
        let old = files(&[(
            "metrics.yaml",
            &[("x.b", Int(5)), ("a.d.e", Int(3)), ("a.b.c", Int(1))],
        )]);
        let new = files(&[(
            "metrics.yaml",
            &[
                ("x.b", Str("6".into())),
                ("a.d.e", Int(4)),
                ("a.b.c", Int(2)),
            ],
        )]);
        (old, new)
    }

    #[test]
    fn dvc_markdown_example() {
        let (old, new) = dvc_example();
        assert_eq!(
            metrics_diff(&old, &new, &opts(DiffFormat::Markdown)),
            "| Path         | Metric   | HEAD   | workspace   | Change   |\n\
             |--------------|----------|--------|-------------|----------|\n\
             | metrics.yaml | a.b.c    | 1      | 2           | 1        |\n\
             | metrics.yaml | a.d.e    | 3      | 4           | 1        |\n\
             | metrics.yaml | x.b      | 5      | 6           | -        |\n\n"
        );
    }

    #[test]
    fn dvc_plain_example() {
        let (old, new) = dvc_example();
        assert_eq!(
            metrics_diff(&old, &new, &opts(DiffFormat::Plain)),
            "Path          Metric    HEAD    workspace    Change\n\
             metrics.yaml  a.b.c     1       2            1\n\
             metrics.yaml  a.d.e     3       4            1\n\
             metrics.yaml  x.b       5       6            -\n"
        );
    }

    /// `test_compare.py::test_diff_new` / `test_diff_old_deleted`-style: one side missing.
    #[test]
    fn missing_side_is_a_dash() {
        let old = files(&[("m.json", &[("gone", Float(0.5))])]);
        let new = files(&[("m.json", &[("added", Int(1))])]);
        assert_eq!(
            metrics_diff(&old, &new, &opts(DiffFormat::Plain)),
            "Path    Metric    HEAD    workspace    Change\n\
             m.json  added     -       1            -\n\
             m.json  gone      0.5     -            -\n"
        );
    }

    #[test]
    fn no_rows_plain_prints_nothing_markdown_prints_the_header() {
        let (old, _) = dvc_example();
        assert_eq!(metrics_diff(&old, &old, &opts(DiffFormat::Plain)), "");
        assert_eq!(
            metrics_diff(&old, &old, &opts(DiffFormat::Markdown)),
            "| Path   | Metric   | HEAD   | workspace   | Change   |\n\
             |--------|----------|--------|-------------|----------|\n\n"
        );
        assert_eq!(metrics_diff(&old, &old, &opts(DiffFormat::Json)), "{}\n");
    }

    #[test]
    fn all_shows_unchanged_rows_with_zero_change() {
        let old = files(&[(
            "m",
            &[("a", Int(1)), ("b", Float(0.5)), ("s", Str("x".into()))],
        )]);
        let o = DiffOptions {
            all: true,
            no_path: true,
            ..DiffOptions::default()
        };
        assert_eq!(
            metrics_diff(&old, &old, &o),
            "Metric    HEAD    workspace    Change\n\
             a         1       1            0\n\
             b         0.5     0.5          0.0\n\
             s         x       x            -\n"
        );
    }

    #[test]
    fn rounding_applies_to_old_new_and_change() {
        let old = files(&[("m", &[("f", Float(0.123_456_789)), ("i", Int(10))])]);
        let new = files(&[("m", &[("f", Float(0.2)), ("i", Float(10.000_001))])]);
        let mut o = opts(DiffFormat::Plain);
        o.precision = 2;
        o.a_rev = "main".into();
        o.b_rev = "HEAD".into();
        assert_eq!(
            metrics_diff(&old, &new, &o),
            "Path    Metric    main    HEAD    Change\n\
             m       f         0.12    0.2     0.08\n\
             m       i         10      10.0    0.0\n"
        );
        o.precision = 0; // DVC: `precision or 5`
        assert!(metrics_diff(&old, &new, &o).contains("0.12346"));
    }

    #[test]
    fn python_equality_hides_int_float_bool_ties_and_bools_subtract() {
        let old = files(&[("m", &[("a", Int(1)), ("b", Bool(false)), ("c", Bool(true))])]);
        let new = files(&[("m", &[("a", Float(1.0)), ("b", Bool(true)), ("c", Int(1))])]);
        assert_eq!(
            metrics_diff(&old, &new, &opts(DiffFormat::Plain)),
            "Path    Metric    HEAD    workspace    Change\n\
             m       b         False   True         1\n"
        );
    }

    #[test]
    fn json_is_unrounded_sorted_and_python_formatted() {
        let old = files(&[
            ("z.json", &[("a", Float(0.1))]),
            ("b.yaml", &[("k", Str("é\"".into())), ("n", Int(1))]),
        ]);
        let new = files(&[
            ("z.json", &[("a", Float(0.300_000_000_000_000_04))]),
            ("b.yaml", &[("k", Str("x".into()))]),
        ]);
        assert_eq!(
            metrics_diff(&old, &new, &opts(DiffFormat::Json)),
            "{\"b.yaml\": {\"k\": {\"old\": \"\\u00e9\\\"\", \"new\": \"x\"}, \
             \"n\": {\"old\": 1, \"new\": null}}, \
             \"z.json\": {\"a\": {\"old\": 0.1, \"new\": 0.30000000000000004, \"diff\": 0.20000000000000004}}}\n"
        );
    }

    #[test]
    fn rows_sort_by_key_as_python_sorts_strings() {
        let new = files(&[(
            "m",
            &[
                ("b", Int(1)),
                ("B", Int(1)),
                ("a.z", Int(1)),
                ("a", Int(1)),
                ("", Int(0)),
            ],
        )]);
        let out = metrics_diff(&MetricFiles::new(), &new, &opts(DiffFormat::Json));
        assert_eq!(
            out,
            "{\"m\": {\"\": {\"old\": null, \"new\": 0}, \"B\": {\"old\": null, \"new\": 1}, \
             \"a\": {\"old\": null, \"new\": 1}, \"a.z\": {\"old\": null, \"new\": 1}, \
             \"b\": {\"old\": null, \"new\": 1}}}\n"
        );
    }

    #[test]
    fn cells_are_stripped_and_wide_characters_count_double() {
        let new = files(&[("m", &[("日本", Str(" v ".into()))])]);
        assert_eq!(
            metrics_diff(&MetricFiles::new(), &new, &opts(DiffFormat::Markdown)),
            "| Path   | Metric   | HEAD   | workspace   | Change   |\n\
             |--------|----------|--------|-------------|----------|\n\
             | m      | 日本     | -      | v           | -        |\n\n"
        );
    }
}
