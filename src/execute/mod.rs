//! `Plan` → `RunRecord`: the only module that spawns processes; steps, shells, file commands,
//! masking, timeouts, cancellation.
pub mod action;
pub mod commands;
pub mod console;
pub mod contexts;
pub mod file_commands;
pub mod hash_files;
pub mod host;
pub mod mask;
pub mod pipeline;
pub mod shell;
mod stage;
pub mod step;
