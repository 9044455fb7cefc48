//! What a report is made from: [`ReportInput`], plain data the caller gathers (the run record,
//! the comparison, the params diff, trends, log tails), and [`ReportError`]. Uses `results`,
//! `compare` and `config` types only.
//!
//! **Everything in a `ReportInput` must already be masked.** The report is published where
//! anyone who can read the pull request sees it; rendering does no masking of its own, so the
//! caller passes log lines, params and reasons through the run's masker first.

use std::fmt::Write as _;

use crate::compare::{Comparison, ParamChange};
use crate::config::model::{Report, Show};
use crate::results::RunRecord;

/// Everything one report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInput {
    /// The config's `name`, used in the headline and the hidden marker that finds the sticky
    /// comment again.
    pub name: String,
    /// The config's `report:` settings: `show`, `precision` and `template` (the path named in
    /// template errors).
    pub settings: Report,
    /// The run, as recorded.
    pub run: RunRecord,
    /// This run against the baseline: metric deltas and gate verdicts.
    pub comparison: Comparison,
    /// The branch the run was compared with (`main`), named even when it had no baseline yet.
    pub baseline_name: String,
    /// Params that changed, by file.
    pub params: Vec<ParamsFileDiff>,
    /// A link to the CI run, when there is one.
    pub run_url: Option<String>,
    /// Each key metric's recent history on the baseline branch, oldest first; this run's
    /// value is taken from the comparison and added at the end.
    pub trends: Vec<Trend>,
    /// The last lines of each failed step's log, already masked.
    pub log_tails: Vec<LogTail>,
}

impl ReportInput {
    /// An input with nothing but the run and its comparison; the rest starts empty.
    pub fn new(name: &str, settings: Report, run: RunRecord, comparison: Comparison) -> Self {
        let baseline_name = run
            .baseline
            .as_ref()
            .map_or_else(|| "baseline".to_owned(), |b| b.branch.clone());
        Self {
            name: name.to_owned(),
            settings,
            run,
            comparison,
            baseline_name,
            params: Vec::new(),
            run_url: None,
            trends: Vec::new(),
            log_tails: Vec::new(),
        }
    }

    /// Whether the report lists unchanged metrics too.
    pub fn shows_all(&self) -> bool {
        self.settings.show == Show::All
    }
}

/// One params file's changes against the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamsFileDiff {
    /// The file, as the config names it (`params.yaml`).
    pub file: String,
    /// Changed, added and removed keys (`compare::params_diff`).
    pub changes: Vec<ParamChange>,
    /// A unified diff of the file's text (`compare::text_diff`), when it changed as text.
    pub text_diff: Option<String>,
}

/// A key metric's values on the baseline branch, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// The metric's key, as in the comparison.
    pub metric: String,
    pub points: Vec<TrendPoint>,
}

/// One earlier value of a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// What the chart's x-axis shows for it: a short SHA, a tag, a date.
    pub label: String,
    pub value: f64,
}

/// The end of a failed step's log. The lines must be masked.
#[derive(Debug, Clone, PartialEq)]
pub struct LogTail {
    pub stage: String,
    pub step: String,
    /// The last lines, oldest first, without line endings.
    pub lines: Vec<String>,
    /// Whether the log had more lines than these.
    pub truncated: bool,
}

/// Why a report could not be rendered: a template that does not parse or fails at run time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ReportError {
    /// The template's file: the `report.template` path for an override, else the built-in's.
    pub file: String,
    /// The 1-based line the problem is on, when known.
    pub line: Option<usize>,
    /// What went wrong, in words.
    pub message: String,
    /// The template's text on that line.
    pub source_line: Option<String>,
}

impl ReportError {
    fn render(&self) -> String {
        let mut out = match self.line {
            Some(line) => format!("in template `{}` line {line}: {}", self.file, self.message),
            None => format!("in template `{}`: {}", self.file, self.message),
        };
        if let (Some(line), Some(text)) = (self.line, &self.source_line) {
            let _ = write!(out, "\n{line:>4} | {text}");
        }
        out
    }
}
