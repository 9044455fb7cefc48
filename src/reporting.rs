//! A finished run's report, assembled for `report` to render: the comparison, the params diff,
//! the key metrics' trends from the baseline branch's notes, the failed steps' log tails and the
//! link to the CI run; and the mask of the run's secrets, applied before any cut. Reads the run
//! folder and git (through `baseline`); uses `report`, `compare`, `results`, `execute::mask`.

use std::path::Path;

use crate::compare::{self, params_diff, text_diff};
use crate::config::Config;
use crate::execute::mask::Masker;
use crate::report::input::{LogTail, ParamsFileDiff, ReportInput, Trend, TrendPoint};
use crate::results::{Outcome, RunRecord, StepRecord};

/// How many baseline notes a trend chart shows, before this run's point.
pub const TREND_POINTS: usize = 10;
/// How many commits back the trend walk looks, at least.
const TREND_WALK: u32 = 50;
/// How many metrics get a trend: the gated ones first, then the others in order.
const TREND_METRICS: usize = 3;
/// The last lines of a failed step's log that the report shows.
const LOG_TAIL_LINES: usize = 30;

/// Where the pieces of a report come from.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub config: &'a Config,
    /// The repository's work tree (params files, git history).
    pub workspace: &'a Path,
    /// `.mlops/runs/<id>`: the step logs.
    pub run_dir: &'a Path,
}

/// The report of `record`, with everything but a run link filled in.
pub fn assemble(sources: Sources<'_>, record: &RunRecord) -> ReportInput {
    let config = sources.config;
    let name = config.name.clone().unwrap_or_else(|| {
        sources
            .workspace
            .file_name()
            .map_or_else(|| "mlops".to_owned(), |n| n.to_string_lossy().into_owned())
    });
    let mut input = ReportInput::new(
        &name,
        config.report.clone(),
        record.clone(),
        compare::of_run(config, record),
    );
    if record.baseline.is_none() {
        input.baseline_name = config
            .baseline
            .branch
            .clone()
            .or_else(|| {
                std::env::var("GITHUB_BASE_REF")
                    .ok()
                    .filter(|b| !b.is_empty())
            })
            .unwrap_or_else(|| "main".to_owned());
    }
    input.params = params(sources.workspace, record);
    input.trends = trends(sources, record, &input);
    input.log_tails = log_tails(sources.run_dir, record);
    input
}

/// The link to a GitHub Actions run, from `GITHUB_SERVER_URL`, `GITHUB_REPOSITORY` and
/// `GITHUB_RUN_ID`.
pub fn run_url(env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let server = env("GITHUB_SERVER_URL")?;
    let repo = env("GITHUB_REPOSITORY")?;
    let id = env("GITHUB_RUN_ID")?;
    Some(format!(
        "{}/{repo}/actions/runs/{id}",
        server.trim_end_matches('/')
    ))
}

/// A masker of the config's `secrets` and the tokens mlops-ci itself holds.
pub fn masker(config: &Config, env: impl Fn(&str) -> Option<String>) -> Masker {
    let mut masker = Masker::new();
    let names = config
        .secrets
        .iter()
        .map(String::as_str)
        .chain(crate::forge::TOKEN_VARS)
        .chain(["MLOPS_REGISTRY_PASSWORD"]);
    for name in names {
        if let Some(value) = env(name).filter(|v| !v.is_empty()) {
            masker.add(&value);
        }
    }
    masker
}

/// The params files' changes against the baseline, with a text diff when the baseline commit's
/// copy of the file can be read.
fn params(workspace: &Path, record: &RunRecord) -> Vec<ParamsFileDiff> {
    let Some(baseline) = &record.baseline else {
        return Vec::new();
    };
    let empty = crate::results::Flat::new();
    let paths: Vec<String> = record.params.keys().cloned().collect();
    let old_texts = crate::baseline::read_files(workspace, &baseline.sha, &paths).ok();
    record
        .params
        .iter()
        .filter_map(|(file, new)| {
            let changes = params_diff(baseline.params.get(file).unwrap_or(&empty), new);
            if changes.is_empty() {
                return None;
            }
            let old = old_texts
                .as_ref()
                .and_then(|t| t.get(file).cloned().flatten())
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            let new_text = std::fs::read_to_string(workspace.join(file)).ok();
            let text_diff = match (old, new_text) {
                (Some(old), Some(new)) => text_diff(file, &old, &new),
                _ => None,
            };
            Some(ParamsFileDiff {
                file: file.clone(),
                changes,
                text_diff,
            })
        })
        .collect()
}

/// The metrics worth a chart: the gated ones, then the rest, numbers only.
fn key_metrics(config: &Config, input: &ReportInput) -> Vec<String> {
    let mut keys: Vec<String> = config
        .stages
        .values()
        .flat_map(|s| &s.gates)
        .filter_map(|g| g.metric.clone())
        .collect();
    keys.extend(input.comparison.metrics.iter().map(|m| m.key.clone()));
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    keys.retain(|k| {
        input
            .comparison
            .metrics
            .iter()
            .any(|m| &m.key == k && m.current.as_ref().is_some_and(serde_json::Value::is_number))
    });
    keys.truncate(TREND_METRICS);
    keys
}

/// Each key metric's values in the last [`TREND_POINTS`] notes on the baseline branch, from the
/// baseline commit back.
fn trends(sources: Sources<'_>, record: &RunRecord, input: &ReportInput) -> Vec<Trend> {
    let Some(baseline) = record.baseline.as_ref().filter(|b| b.source == "notes") else {
        return Vec::new();
    };
    let walk = sources.config.baseline.walk.max(TREND_WALK);
    let Ok(notes) =
        crate::baseline::recent_notes(sources.workspace, &baseline.sha, TREND_POINTS, walk)
    else {
        return Vec::new();
    };
    let values: Vec<(String, crate::results::Flat)> = notes
        .iter()
        .map(|(sha, note)| {
            (
                sha[..sha.len().min(7)].to_owned(),
                crate::results::merged(&crate::measure::by_file(&note.metrics)),
            )
        })
        .collect();
    key_metrics(sources.config, input)
        .into_iter()
        .map(|metric| Trend {
            points: values
                .iter()
                .filter_map(|(label, flat)| {
                    Some(TrendPoint {
                        label: label.clone(),
                        value: flat.get(&metric).and_then(compare::number)?,
                    })
                })
                .collect(),
            metric,
        })
        .filter(|t| !t.points.is_empty())
        .collect()
}

/// The end of each failed step's log (composite actions' own steps included).
fn log_tails(run_dir: &Path, record: &RunRecord) -> Vec<LogTail> {
    fn visit(run_dir: &Path, stage: &str, steps: &[StepRecord], out: &mut Vec<LogTail>) {
        for step in steps {
            if !step.steps.is_empty() {
                visit(run_dir, stage, &step.steps, out);
            }
            if step.outcome != Outcome::Failure {
                continue;
            }
            let Some(text) = step
                .log
                .as_ref()
                .and_then(|l| std::fs::read_to_string(run_dir.join(l)).ok())
            else {
                continue;
            };
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(LOG_TAIL_LINES);
            out.push(LogTail {
                stage: stage.to_owned(),
                step: step.name.clone(),
                lines: lines[start..].iter().map(|l| (*l).to_owned()).collect(),
                truncated: start > 0,
            });
        }
    }
    let mut out = Vec::new();
    for stage in &record.stages {
        visit(run_dir, &stage.name, &stage.steps, &mut out);
    }
    out
}
