//! A stage's data checks, run before its steps: every `data:` entry through `crate::validate`,
//! against the baseline's profiles, off the async threads; a failed check fails the stage.

use std::path::PathBuf;

use indexmap::IndexMap;

use super::pipeline::Run;
use crate::config::model::{DataCheck, Stage};
use crate::results::data::{DataReport, Profile};
use crate::results::{Outcome, StageRecord};
use crate::validate;

/// What a stage's data checks came to.
#[derive(Debug, Default)]
pub(super) struct DataOutcome {
    pub reports: Vec<DataReport>,
    /// Why the stage fails; `None` when every check held.
    pub failure: Option<String>,
}

/// Runs the checks of `checks` under `workspace`; `baseline` is the baseline's profiles by file,
/// `None` when there is no baseline. Blocking: call it off the async threads.
pub fn check_all(
    checks: &[DataCheck],
    workspace: &std::path::Path,
    baseline: Option<&IndexMap<String, Profile>>,
    options: validate::Options,
) -> Vec<DataReport> {
    let find = |file: &str| baseline.and_then(|b| b.get(file).cloned());
    let finder: &dyn Fn(&str) -> Option<Profile> = &find;
    checks
        .iter()
        .flat_map(|c| validate::check(c, workspace, baseline.map(|_| finder), options))
        .collect()
}

/// Why the reports fail a stage, in one line; `None` when they all passed.
pub fn failure(stage: &str, reports: &[DataReport]) -> Option<String> {
    if let Some(r) = reports.iter().find(|r| r.error.is_some()) {
        return Some(format!(
            "stage `{stage}`: data check of `{}` could not run: {}",
            r.file,
            r.error.clone().unwrap_or_default()
        ));
    }
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !r.passed)
        .map(|r| {
            let checks = r.checks.iter().filter(|c| !c.passed).count();
            let drifted = r
                .drift
                .iter()
                .filter(|d| d.enforced && d.verdict == "drift")
                .count();
            let mut parts = Vec::new();
            if checks > 0 {
                parts.push(format!("{checks} check(s) failed"));
            }
            if drifted > 0 {
                parts.push(format!("{drifted} column(s) drifted"));
            }
            format!("`{}`: {}", r.file, parts.join(", "))
        })
        .collect();
    (!failed.is_empty()).then(|| format!("data checks failed: {}", failed.join("; ")))
}

/// The record of a stage whose data checks failed: its steps do not run.
pub(super) fn failed_stage(
    run: &Run<'_>,
    name: &str,
    data: &mut DataOutcome,
    started: std::time::Instant,
) -> Option<StageRecord> {
    let why = data.failure.take()?;
    let record = StageRecord {
        result: Outcome::Failure,
        duration_ms: super::pipeline::millis(started.elapsed()),
        data: std::mem::take(&mut data.reports),
        ..super::pipeline::skipped(name, why)
    };
    run.shared.console.note(
        name,
        &format!("failure ({})", record.reason.clone().unwrap_or_default()),
    );
    run.shared.console.finished(name);
    Some(record)
}

/// Runs the stage's data checks and tells the console how each file did.
pub(super) async fn run_stage_checks(run: &Run<'_>, name: &str, stage: &Stage) -> DataOutcome {
    if stage.data.is_empty() {
        return DataOutcome::default();
    }
    let checks = stage.data.clone();
    let workspace: PathBuf = run.options.workspace.clone();
    let baseline = run.after.baseline_profiles();
    let reports = tokio::task::spawn_blocking(move || {
        check_all(
            &checks,
            &workspace,
            baseline.as_ref(),
            validate::Options::threaded(),
        )
    })
    .await
    .unwrap_or_else(|e| {
        vec![DataReport {
            file: String::new(),
            format: String::new(),
            rows: 0,
            bytes: 0,
            passed: false,
            error: Some(format!("the data checks stopped: {e}")),
            checks: Vec::new(),
            profile: None,
            drift: Vec::new(),
            drift_note: None,
        }]
    });
    for report in &reports {
        for line in validate::text::report(report).lines() {
            run.shared.console.note(name, line);
        }
    }
    DataOutcome {
        failure: failure(name, &reports),
        reports,
    }
}
