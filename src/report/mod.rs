//! What users read: the PR comment, job summary and release notes from embedded minijinja
//! templates, and DVC-compatible metric tables. Pure; uses `results` and `compare`.

pub mod dvc;
pub mod input;
pub mod render;
pub mod trend;
pub mod view;
