//! `Plan` → `RunRecord`: the only module that spawns processes; stages, steps, shells, actions,
//! file and workflow commands, masking, timeouts, cancellation, data checks (`data`, through
//! `validate`) before a stage's steps. Metrics and gates come through
//! the caller's `AfterSteps`.
pub mod action;
pub mod commands;
pub mod console;
pub mod contexts;
pub mod data;
pub mod docker_step;
pub mod file_commands;
pub mod hash_files;
pub mod host;
pub mod image;
pub mod mask;
pub mod pipeline;
pub mod shell;
mod stage;
pub mod step;
