//! Helpers: run the binary, find the repository's folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    repo().join("fixtures")
}

/// The binary, with no color and no CI environment leaking in.
pub fn mlops_ci(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlops-ci"));
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_EVENT_NAME")
        .env_remove("GITHUB_REF")
        .env_remove("GITHUB_ACTIONS");
    cmd
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    mlops_ci(dir)
        .args(args)
        .output()
        .expect("the mlops-ci binary runs")
}

pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A temp folder holding `mlops.yaml` with `text`.
pub fn config_dir(text: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("mlops.yaml"), text).expect("write config");
    dir
}
