//! What users read: the PR comment, job summary and release notes from embedded minijinja
//! templates, and DVC-compatible metric tables. Pure; uses `results` and `compare`.

pub mod dvc;
pub mod input;
pub mod render;
pub mod trend;
pub mod view;

/// The run's data reports for a template: each file's checks and drift, its profile left out
/// (the report shows verdicts; the profile stays in `run.json` and the baseline note).
pub fn data_view(run: &crate::results::RunRecord) -> Vec<crate::results::data::DataReport> {
    run.stages
        .iter()
        .flat_map(|s| &s.data)
        .map(|d| crate::results::data::DataReport {
            profile: None,
            ..d.clone()
        })
        .collect()
}
