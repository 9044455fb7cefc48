//! One integration test binary: drives the real `mlops-ci` binary.

mod act_workflows;
mod action_install;
mod actions;
mod baseline;
mod check;
mod cli;
mod common;
mod data;
mod diff;
mod end_to_end;
mod examples;
mod expr_differential;
mod expr_vectors;
mod forge;
mod gates;
mod github_emulator;
mod hazards;
mod images;
mod init;
mod lint;
mod parquet_files;
mod plan;
mod pr_run;
mod release;
mod report;
mod schema;
