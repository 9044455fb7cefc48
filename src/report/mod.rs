//! What users read: DVC-compatible metric tables for now. Pure; uses `results`.

pub mod dvc;
pub mod input;
pub mod render;
pub mod trend;
pub mod view;
