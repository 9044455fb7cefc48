//! `mlops-ci release` and a tag push's `mlops-ci run`: versions from real git tags, annotated
//! tags, and the GitHub release (the API emulator) with notes against the previous release.

use std::path::Path;

use crate::common::{code, git, mlops_ci, stderr};
use crate::github_emulator::{Emulator, EmulatorConfig};

const CONFIG: &str = r#"version: 1
name: iris
stages:
  evaluate:
    steps:
      - run: |
          echo "{\"accuracy\": $ACC}" > metrics.json
    metrics: [metrics.json]
    gates:
      - metric: accuracy
        min: 0.5
release:
  model: iris
"#;

/// A clone with an `origin`, the config committed on `main`.
fn repo() -> (tempfile::TempDir, tempfile::TempDir) {
    let origin = tempfile::tempdir().unwrap();
    git(origin.path(), &["init", "--bare", "-q"]);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    git(dir, &["init", "-q"]);
    git(
        dir,
        &["remote", "add", "origin", origin.path().to_str().unwrap()],
    );
    std::fs::write(dir.join("mlops.yaml"), CONFIG).unwrap();
    std::fs::write(dir.join(".gitignore"), ".mlops/\nmetrics.json\n").unwrap();
    (origin, work)
}

/// Commits a change and records its run on `main` (a push's `mlops-ci run`).
fn commit_and_record(dir: &Path, round: &str, acc: &str) {
    std::fs::write(dir.join("round.txt"), round).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", round]);
    git(dir, &["push", "-q", "origin", "main"]);
    let out = crate::common::ci_push(dir, "refs/heads/main")
        .env("ACC", acc)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn release_tags_the_next_version_with_notes_against_the_previous_release() {
    let (_origin, work) = repo();
    let dir = work.path();
    commit_and_record(dir, "one", "0.90");
    let out = mlops_ci(dir)
        .args(["release", "--bump", "minor"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("as `iris@v0.1.0`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        git(dir, &["cat-file", "-t", "iris@v0.1.0"]),
        "tag",
        "annotated"
    );
    let first = std::fs::read_to_string(dir.join(".mlops/release-iris-v0.1.0.md")).unwrap();
    assert!(first.contains("The first release of this line"), "{first}");
    assert!(first.contains("| `accuracy` ↑ | — | 0.9000 |"), "{first}");

    commit_and_record(dir, "two", "0.93");
    let out = mlops_ci(dir)
        .args(["release", "--bump", "patch"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let second = std::fs::read_to_string(dir.join(".mlops/release-iris-v0.1.1.md")).unwrap();
    assert!(
        second.contains("Compared with the previous release, `iris@v0.1.0`"),
        "{second}"
    );
    assert!(
        second.contains("| `accuracy` ↑ | 0.9000 | 0.9300 | +0.0300 |"),
        "{second}"
    );

    let again = mlops_ci(dir)
        .args(["release", "--version", "0.1.1"])
        .output()
        .unwrap();
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("the tag `iris@v0.1.1` exists already"));

    std::fs::write(dir.join("round.txt"), "three").unwrap();
    git(dir, &["commit", "-qam", "not recorded"]);
    let out = mlops_ci(dir)
        .args(["release", "--bump", "patch"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("has no recorded run to release"),
        "{}",
        stderr(&out)
    );
    assert!(
        !git(dir, &["tag", "-l"]).contains("iris@v0.1.2"),
        "nothing tagged"
    );
}

#[test]
fn in_ci_release_makes_the_tag_and_the_github_release_and_a_tag_push_updates_it() {
    let (_origin, work) = repo();
    let dir = work.path();
    commit_and_record(dir, "one", "0.91");
    let emulator = Emulator::start(EmulatorConfig::default());
    let config = emulator.config();
    let ci = |cmd: &mut std::process::Command| {
        cmd.env("GITHUB_ACTIONS", "true")
            .env(
                "GITHUB_REPOSITORY",
                format!("{}/{}", config.owner, config.repo),
            )
            .env("GITHUB_API_URL", emulator.base_url())
            .env("GITHUB_TOKEN", &config.token)
            .env("ACC", "0.91");
    };
    let mut cmd = mlops_ci(dir);
    cmd.args(["release", "--version", "1.0.0"]);
    ci(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let head = git(dir, &["rev-parse", "HEAD"]);
    let refs = emulator.refs();
    let tag_ref = &refs["refs/tags/iris@v1.0.0"];
    assert_eq!(tag_ref["object"]["type"], "tag");
    let releases = emulator.releases();
    assert_eq!(releases.len(), 1);
    assert_eq!(releases[0]["tag_name"], "iris@v1.0.0");
    assert_eq!(releases[0]["prerelease"], false);
    let body = releases[0]["body"].as_str().unwrap().to_owned();
    assert!(body.contains("| `accuracy` ↑ | — | 0.9100 |"), "{body}");
    assert!(body.contains(&head[..7]), "{body}");

    // The tag push runs the pipeline and finds the release made: it is updated, not doubled.
    git(dir, &["tag", "-a", "iris@v1.0.0", "-m", "iris@v1.0.0"]);
    let mut cmd = mlops_ci(dir);
    cmd.arg("run")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_REF", "refs/tags/iris@v1.0.0");
    ci(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("released `iris@v1.0.0`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(emulator.releases().len(), 1);
    emulator.assert_no_violations();
}
