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

/// `mlops-ci run` as GitHub Actions runs it on a push of `git_ref` (a branch or a tag).
pub fn ci_push(dir: &Path, git_ref: &str) -> Command {
    let mut cmd = mlops_ci(dir);
    cmd.arg("run")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_REF", git_ref);
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

/// Runs real `git` in `dir`, isolated from the user's and system's config, and returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "protocol.file.allow=always",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The record of the latest run in `dir`.
pub fn run_json(dir: &Path) -> serde_json::Value {
    let runs = dir.join(".mlops/runs");
    let mut ids: Vec<_> = std::fs::read_dir(&runs)
        .expect("a run folder")
        .map(|e| e.unwrap().path())
        .collect();
    ids.sort();
    let text = std::fs::read_to_string(ids.last().unwrap().join("run.json")).expect("run.json");
    serde_json::from_str(&text).unwrap()
}

/// JSON equality with numbers compared as `f64` (`2.0 == 2`), keys in order.
pub fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a, b) {
        (serde_json::Value::Number(x), serde_json::Value::Number(y)) => x.as_f64() == y.as_f64(),
        (serde_json::Value::Array(x), serde_json::Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && json_eq(va, vb))
        }
        _ => a == b,
    }
}
