//! [`ReportInput`] → [`View`], the variables a template sees: every number formatted at
//! `report.precision`, every table cell escaped, markers, sparklines and charts made. Templates
//! only lay out. Pure; uses `compare` and `results`.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value as Json;

use super::input::{LogTail, ReportInput};
use super::trend::{mermaid_chart, sparkline};
use crate::compare::{MetricDelta, Status};
use crate::results::{Outcome, StepRecord};

/// The comment's first line, by which the sticky comment is found again.
pub fn marker(name: &str) -> String {
    format!(
        "<!-- mlops-ci:report name={} -->",
        name.replace("--", "- -")
    )
}

/// The variables of a report template (see `templates/`).
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub name: String,
    pub marker: String,
    pub passed: bool,
    pub headline: Headline,
    pub run: RunView,
    /// The baseline used, or `none` on a first run.
    pub baseline: Option<BaselineView>,
    /// The baseline branch's name, also when it had no baseline yet.
    pub baseline_name: String,
    pub gates: Vec<GateView>,
    pub metrics: MetricsView,
    pub params: Vec<ParamsView>,
    pub stages: Vec<StageView>,
    /// Every data check's file report, without its profile (`templates/data-checks.md.j2`).
    pub data: Vec<crate::results::data::DataReport>,
    /// The images the stages built or re-tagged: name, tags, digest once pushed.
    pub images: Vec<crate::results::ImageRecord>,
    pub logs: Vec<LogView>,
    pub charts: Vec<ChartView>,
    /// What was left out to fit the size limit, in words (`failed step logs`).
    pub omitted: Vec<String>,
    /// Which document is being rendered: `comment`, `summary` or `release-notes`.
    pub document: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    /// `✅` or `❌`.
    pub icon: String,
    /// `passed` or `failed`.
    pub verdict: String,
    /// `3 of 3 gates passed · 4 stages succeeded · 2 metrics improved`.
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub id: String,
    pub url: Option<String>,
    pub sha: String,
    pub short_sha: String,
    pub git_ref: String,
    pub event: String,
    pub result: String,
    pub duration: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaselineView {
    pub branch: String,
    pub sha: String,
    pub short_sha: String,
    /// `notes` or `tree`.
    pub source: String,
    pub distance: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct GateView {
    pub name: String,
    pub metric: Option<String>,
    pub passed: bool,
    pub icon: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricsView {
    /// The rows `report.show` keeps.
    pub rows: Vec<MetricRow>,
    /// `changed` or `all`.
    pub show: String,
    /// Unchanged metrics left out by `show: changed`.
    pub hidden_unchanged: usize,
    /// All metrics, before `show`.
    pub total: usize,
    /// Whether any row has a sparkline.
    pub has_trend: bool,
    pub improved: usize,
    pub regressed: usize,
    pub unchanged: usize,
    pub changed: usize,
    pub new: usize,
    pub removed: usize,
}

/// One metric; every text field is safe in a Markdown table cell.
#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    pub key: String,
    pub baseline: String,
    pub current: String,
    /// `+0.0120`, or `—`.
    pub change: String,
    /// `+1.27%`, or `—`.
    pub change_pct: String,
    /// `improved`, `regressed`, `unchanged`, `changed`, `new` or `removed`.
    pub status: String,
    /// `🟢 improved` and so on, direction-aware.
    pub marker: String,
    /// `higher` or `lower`: which way is better.
    pub better: String,
    /// Whether the metric is a number (here or in the baseline), so `better` means something.
    pub numeric: bool,
    /// The trend and this run as `▁▃▅█`, or empty.
    pub sparkline: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParamsView {
    pub file: String,
    pub changes: Vec<ParamRow>,
    /// The file's unified diff, or `none` (also when left out to fit).
    pub text_diff: Option<String>,
    /// A code fence longer than any backtick run in the diff.
    pub fence: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParamRow {
    pub key: String,
    /// `—` when the key is new.
    pub old: String,
    /// `—` when the key was removed.
    pub new: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageView {
    pub name: String,
    pub result: String,
    pub icon: String,
    pub duration: String,
    /// Why it was skipped, failed or cancelled; empty when it succeeded.
    pub note: String,
    pub steps: Vec<StepView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub name: String,
    pub result: String,
    pub icon: String,
    pub duration: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogView {
    pub stage: String,
    pub step: String,
    /// How many lines `text` holds.
    pub line_count: usize,
    /// Whether the log had more lines than these.
    pub truncated: bool,
    pub text: String,
    /// A code fence longer than any backtick run in `text`.
    pub fence: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    pub metric: String,
    /// The `xychart-beta` source, without the surrounding fence.
    pub mermaid: String,
}

const DASH: &str = "—";

impl View {
    pub fn new(input: &ReportInput, document: &str) -> Self {
        let precision = usize::from(input.settings.precision);
        let run = &input.run;
        let gates: Vec<GateView> = input
            .comparison
            .gates
            .iter()
            .map(|g| GateView {
                name: cell(&g.name),
                metric: g.metric.clone(),
                passed: g.passed,
                icon: if g.passed { "✅" } else { "❌" }.to_owned(),
                reason: cell(&g.reason),
            })
            .collect();
        let metrics = metrics_view(input, precision);
        let stages: Vec<StageView> = run.stages.iter().map(stage_view).collect();
        let passed = run.result == Outcome::Success && input.comparison.passed();
        Self {
            name: input.name.clone(),
            marker: marker(&input.name),
            passed,
            headline: headline(passed, &gates, &stages, &metrics),
            run: RunView {
                id: run.id.clone(),
                url: input.run_url.clone(),
                sha: run.git.sha.clone(),
                short_sha: short(&run.git.sha),
                git_ref: run.git.git_ref.clone(),
                event: run.event.clone(),
                result: run.result.as_str().to_owned(),
                duration: duration(run.duration_ms),
            },
            baseline: run.baseline.as_ref().map(|b| BaselineView {
                branch: b.branch.clone(),
                sha: b.sha.clone(),
                short_sha: short(&b.sha),
                source: b.source.clone(),
                distance: b.distance,
            }),
            baseline_name: input.baseline_name.clone(),
            gates,
            metrics,
            params: input
                .params
                .iter()
                .filter(|p| !p.changes.is_empty() || p.text_diff.is_some())
                .map(|p| ParamsView {
                    file: p.file.clone(),
                    changes: p
                        .changes
                        .iter()
                        .map(|c| ParamRow {
                            key: cell(&c.key),
                            old: c
                                .old
                                .as_ref()
                                .map_or_else(|| DASH.to_owned(), |v| value(v, precision)),
                            new: c
                                .new
                                .as_ref()
                                .map_or_else(|| DASH.to_owned(), |v| value(v, precision)),
                        })
                        .collect(),
                    fence: fence(p.text_diff.as_deref().unwrap_or_default()),
                    text_diff: p.text_diff.as_ref().map(|d| d.trim_end().to_owned()),
                })
                .collect(),
            stages,
            data: crate::report::data_view(run),
            images: run.stages.iter().filter_map(|s| s.image.clone()).collect(),
            logs: input.log_tails.iter().map(log_view).collect(),
            charts: charts(input, precision, document),
            omitted: Vec::new(),
            document: document.to_owned(),
        }
    }
}

fn headline(passed: bool, gates: &[GateView], stages: &[StageView], m: &MetricsView) -> Headline {
    let mut parts = Vec::new();
    let failed_gates = gates.iter().filter(|g| !g.passed).count();
    if !gates.is_empty() {
        parts.push(if failed_gates == 0 {
            format!(
                "{} of {} {} passed",
                gates.len(),
                gates.len(),
                plural(gates.len(), "gate")
            )
        } else {
            format!(
                "{failed_gates} of {} {} failed",
                gates.len(),
                plural(gates.len(), "gate")
            )
        });
    }
    let count = |result: &str| stages.iter().filter(|s| s.result == result).count();
    let (failed, skipped, cancelled) = (count("failure"), count("skipped"), count("cancelled"));
    let mut stage_part = if failed > 0 {
        format!(
            "{failed} of {} {} failed",
            stages.len(),
            plural(stages.len(), "stage")
        )
    } else {
        let ok = count("success");
        format!("{ok} {} succeeded", plural(ok, "stage"))
    };
    for (n, word) in [(cancelled, "cancelled"), (skipped, "skipped")] {
        if n > 0 {
            let _ = write!(stage_part, ", {n} {word}");
        }
    }
    if !stages.is_empty() {
        parts.push(stage_part);
    }
    let moves: Vec<String> = [
        (m.regressed, "regressed"),
        (m.improved, "improved"),
        (m.changed, "changed"),
        (m.new, "new"),
        (m.removed, "removed"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, w)| format!("{n} {w}"))
    .collect();
    if moves.is_empty() {
        if m.total > 0 {
            parts.push(format!(
                "{} {} unchanged",
                m.total,
                plural(m.total, "metric")
            ));
        }
    } else {
        let first = moves.first().cloned().unwrap_or_default();
        let metrics_word = plural(m.total, "metric");
        let rest = &moves[1..];
        if rest.is_empty() {
            parts.push(format!("{metrics_word}: {first}"));
        } else {
            parts.push(format!("{metrics_word}: {first}, {}", rest.join(", ")));
        }
    }
    Headline {
        icon: if passed { "✅" } else { "❌" }.to_owned(),
        verdict: if passed { "passed" } else { "failed" }.to_owned(),
        summary: parts.join(" · "),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

fn metrics_view(input: &ReportInput, precision: usize) -> MetricsView {
    let all = &input.comparison.metrics;
    let count = |s: Status| all.iter().filter(|m| m.status == s).count();
    let show_all = input.shows_all();
    let rows: Vec<MetricRow> = all
        .iter()
        .filter(|m| show_all || m.status != Status::Unchanged)
        .map(|m| metric_row(input, m, precision))
        .collect();
    MetricsView {
        has_trend: rows.iter().any(|r| !r.sparkline.is_empty()),
        hidden_unchanged: all.len() - rows.len(),
        total: all.len(),
        show: if show_all { "all" } else { "changed" }.to_owned(),
        rows,
        improved: count(Status::Improved),
        regressed: count(Status::Regressed),
        unchanged: count(Status::Unchanged),
        changed: count(Status::Changed),
        new: count(Status::New),
        removed: count(Status::Removed),
    }
}

fn metric_row(input: &ReportInput, m: &MetricDelta, precision: usize) -> MetricRow {
    let integers = [&m.current, &m.baseline]
        .iter()
        .all(|v| v.as_ref().is_none_or(|v| v.is_i64() || v.is_u64()));
    let change = match m.change {
        Some(c) if integers && c == 0.0 => "0".to_owned(),
        Some(c) if integers => format!("{c:+.0}"),
        Some(c) => signed(c, precision),
        None => DASH.to_owned(),
    };
    let change_pct = m.relative.map_or_else(
        || DASH.to_owned(),
        |r| format!("{}%", signed(r * 100.0, precision.min(2))),
    );
    let (status, marker) = match m.status {
        Status::Improved => ("improved", "🟢 improved"),
        Status::Regressed => ("regressed", "🔴 regressed"),
        Status::Unchanged => ("unchanged", "⚪ unchanged"),
        Status::Changed => ("changed", "🟡 changed"),
        Status::New => ("new", "🆕 new"),
        Status::Removed => ("removed", "➖ removed"),
    };
    let mut series: Vec<f64> = trend_of(input, &m.key).map(|(_, v)| v).collect();
    let spark = match m.current.as_ref().and_then(Json::as_f64) {
        Some(v) if !series.is_empty() => {
            series.push(v);
            sparkline(&series)
        }
        _ => String::new(),
    };
    MetricRow {
        key: cell(&m.key),
        baseline: m
            .baseline
            .as_ref()
            .map_or_else(|| DASH.to_owned(), |v| value(v, precision)),
        current: m
            .current
            .as_ref()
            .map_or_else(|| DASH.to_owned(), |v| value(v, precision)),
        change,
        change_pct,
        status: status.to_owned(),
        marker: marker.to_owned(),
        better: match m.direction {
            crate::compare::Direction::Higher => "higher",
            crate::compare::Direction::Lower => "lower",
        }
        .to_owned(),
        numeric: [&m.current, &m.baseline]
            .iter()
            .any(|v| v.as_ref().is_some_and(Json::is_number)),
        sparkline: spark,
    }
}

fn trend_of<'a>(input: &'a ReportInput, key: &str) -> impl Iterator<Item = (&'a str, f64)> {
    input
        .trends
        .iter()
        .filter(move |t| t.metric == key)
        .flat_map(|t| t.points.iter().map(|p| (p.label.as_str(), p.value)))
}

fn input_is_release(document: &str) -> bool {
    document == "release-notes"
}

fn charts(input: &ReportInput, precision: usize, document: &str) -> Vec<ChartView> {
    input
        .trends
        .iter()
        .filter_map(|t| {
            let mut points: Vec<(String, f64)> = t
                .points
                .iter()
                .map(|p| (p.label.clone(), p.value))
                .collect();
            let label = if input_is_release(document) {
                "this release"
            } else {
                "this PR"
            };
            let current = input
                .comparison
                .metrics
                .iter()
                .find(|m| m.key == t.metric)
                .and_then(|m| m.current.as_ref())
                .and_then(Json::as_f64);
            if let Some(v) = current {
                points.push((label.to_owned(), v));
            }
            Some(ChartView {
                metric: t.metric.clone(),
                mermaid: mermaid_chart(&t.metric, &points, precision)?,
            })
        })
        .collect()
}

fn stage_view(stage: &crate::results::StageRecord) -> StageView {
    let note = match (&stage.reason, stage.result) {
        (Some(reason), _) => reason.clone(),
        (None, Outcome::Failure) => first_failed(&stage.steps)
            .map(|s| format!("step `{}` failed: {}", s.name, step_failure(s)))
            .unwrap_or_default(),
        _ => String::new(),
    };
    StageView {
        name: cell(&stage.name),
        result: stage.result.as_str().to_owned(),
        icon: icon(stage.result).to_owned(),
        duration: if stage.result == Outcome::Skipped && stage.duration_ms == 0 {
            DASH.to_owned()
        } else {
            duration(stage.duration_ms)
        },
        note: cell(&note),
        steps: stage
            .steps
            .iter()
            .map(|s| StepView {
                name: cell(&s.name),
                result: s.conclusion.as_str().to_owned(),
                icon: icon(s.conclusion).to_owned(),
                duration: duration(s.duration_ms),
                note: if s.outcome == Outcome::Failure {
                    let why = step_failure(s);
                    cell(&if s.conclusion == Outcome::Failure {
                        why
                    } else {
                        format!("{why} (continue-on-error)")
                    })
                } else {
                    String::new()
                },
            })
            .collect(),
    }
}

fn first_failed(steps: &[StepRecord]) -> Option<&StepRecord> {
    steps.iter().find(|s| s.conclusion == Outcome::Failure)
}

fn step_failure(step: &StepRecord) -> String {
    match (&step.error, step.exit_code) {
        (Some(error), _) => error.clone(),
        (None, Some(code)) => format!("exited with code {code}"),
        (None, None) => "failed".to_owned(),
    }
}

fn log_view(tail: &LogTail) -> LogView {
    let text = tail.lines.join("\n");
    LogView {
        stage: tail.stage.clone(),
        step: tail.step.clone(),
        line_count: tail.lines.len(),
        truncated: tail.truncated,
        fence: fence(&text),
        text,
    }
}

fn icon(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => "✅",
        Outcome::Failure => "❌",
        Outcome::Skipped => "⏭️",
        Outcome::Cancelled => "🚫",
    }
}

/// A code fence of backticks longer than any run of them in `text` (at least three).
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

/// A metric or param value: numbers at `precision` (integers as they are), text in backticks.
fn value(v: &Json, precision: usize) -> String {
    match v {
        Json::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Json::Number(n) => n
            .as_f64()
            .map_or_else(|| n.to_string(), |f| fixed(f, precision)),
        Json::String(s) => code(s),
        Json::Null => "`null`".to_owned(),
        other => code(&other.to_string()),
    }
}

fn fixed(v: f64, precision: usize) -> String {
    let text = format!("{v:.precision$}");
    // `-0.0000` reads as a change where there is none.
    if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
        text[1..].to_owned()
    } else {
        text
    }
}

fn signed(v: f64, precision: usize) -> String {
    let text = fixed(v, precision);
    if text.starts_with('-') || text.chars().all(|c| c == '0' || c == '.') {
        text
    } else {
        format!("+{text}")
    }
}

/// Inline code for a table cell: backticks that cannot close it, pipes escaped.
fn code(text: &str) -> String {
    let text = text.replace('\n', " ").replace('|', "\\|");
    let ticks = fence(&text).len() - 2;
    let ticks = "`".repeat(ticks);
    if text.starts_with('`') || text.ends_with('`') {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

/// Text that is safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('\r', "")
        .replace('\n', " ")
        .replace('|', "\\|")
}

fn short(sha: &str) -> String {
    sha.chars().take(7).collect()
}

/// `850ms`, `4.2s`, `1m 23s`, `2h 5m`.
pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if ms < 60_000 {
        let tenths = ms / 100;
        return format!("{}.{}s", tenths / 10, tenths % 10);
    }
    let secs = ms / 1000;
    if secs < 3600 {
        return format!("{}m {}s", secs / 60, secs % 60);
    }
    format!("{}h {}m", secs / 3600, secs % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(4_250), "4.2s");
        assert_eq!(duration(83_000), "1m 23s");
        assert_eq!(duration(7_500_000), "2h 5m");
    }

    #[test]
    fn numbers_and_fences() {
        assert_eq!(signed(-0.000_01, 4), "0.0000");
        assert_eq!(signed(0.0125, 3), "+0.013");
        assert_eq!(fence("a ``` b"), "````");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(value(&serde_json::json!(3), 4), "3");
        assert_eq!(value(&serde_json::json!(0.5), 2), "0.50");
    }
}
