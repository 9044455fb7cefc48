//! What users read: DVC-compatible metric tables for now. Pure; uses `results`.

pub mod dvc;
