//! `check` reading metrics after a stage's steps and judging its gates against the baseline,
//! in real repositories: no repository, a baseline in git notes, a baseline in the tree.

use crate::common::{code, git, mlops_ci, run_json, stderr};

fn config(store: &str, accuracy_script: &str) -> String {
    format!(
        r#"version: 1
baseline: {{ store: {store} }}
stages:
  evaluate:
    steps:
      - run: |
          {accuracy_script}
    metrics: [metrics.json]
    gates:
      - metric: accuracy
        min: 0.5
        regression: 0.01
      - metric: loss
        better: lower
        regression: "10%"
  package:
    needs: [evaluate]
    steps:
      - run: touch packaged
"#
    )
}

/// A repository with `main` holding `metrics.json` and a PR branch checked out.
fn repo(store: &str, script: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    std::fs::write(d.join("mlops.yaml"), config(store, script)).unwrap();
    std::fs::write(
        d.join("metrics.json"),
        r#"{"accuracy": 0.93, "loss": 0.20}"#,
    )
    .unwrap();
    std::fs::write(d.join(".gitignore"), ".mlops/\npackaged\n").unwrap();
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "main"]);
    git(d, &["checkout", "-q", "-b", "pr"]);
    git(d, &["commit", "-q", "--allow-empty", "-m", "pr work"]);
    dir
}

#[test]
fn no_repository_means_no_baseline_and_bounds_still_hold() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mlops.yaml"),
        config(
            "notes",
            r#"echo '{"accuracy": 0.4, "loss": 0.1}' > metrics.json"#,
        ),
    )
    .unwrap();
    let out = mlops_ci(dir.path()).arg("check").output().unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("not a git repository: no baseline"), "{err}");
    let run = run_json(dir.path());
    let evaluate = &run["stages"][0];
    assert_eq!(evaluate["result"], "failure");
    assert_eq!(
        evaluate["gates"][0]["reason"],
        "accuracy 0.4 is below the floor 0.5"
    );
    assert!(
        evaluate["gates"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("no baseline to compare with")
    );
    assert_eq!(evaluate["metrics"]["metrics.json"]["accuracy"], 0.4);
    assert_eq!(
        run["stages"][1]["result"], "skipped",
        "a stage after a failed gate does not run"
    );
    assert!(!dir.path().join("packaged").exists());
}

#[test]
fn notes_baseline_catches_a_regression_and_names_it() {
    let dir = repo(
        "notes",
        r#"echo '{"accuracy": 0.91, "loss": 0.21}' > metrics.json"#,
    );
    let d = dir.path();
    let main = git(d, &["rev-parse", "main"]);
    let note = r#"{"version": 1, "metrics": {"metrics.json": {"accuracy": 0.933, "loss": 0.2}}, "params": {}, "profiles": {}, "recorded_at": "2026-11-26T00:00:00Z"}"#;
    git(d, &["notes", "--ref=mlops-ci", "add", "-m", note, &main]);
    let out = mlops_ci(d).arg("check").output().unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("baseline: `main` at"), "{err}");
    let run = run_json(d);
    assert_eq!(run["baseline"]["sha"], main);
    assert_eq!(run["baseline"]["source"], "notes");
    assert_eq!(run["baseline"]["distance"], 0);
    let gates = &run["stages"][0]["gates"];
    assert_eq!(gates[0]["passed"], false);
    assert_eq!(
        gates[0]["reason"],
        "accuracy 0.91 fell 0.023 below main's 0.933; allowed 0.01"
    );
    assert_eq!(gates[1]["passed"], true, "{}", gates[1]);
    assert!(err.contains("✗ gate accuracy"), "{err}");
}

#[test]
fn tree_baseline_passes_within_the_allowance() {
    let dir = repo(
        "tree",
        r#"echo '{"accuracy": 0.925, "loss": 0.215}' > metrics.json"#,
    );
    let d = dir.path();
    let out = mlops_ci(d).arg("check").output().unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(err.contains("(files in its tree)"), "{err}");
    let run = run_json(d);
    assert_eq!(run["baseline"]["source"], "tree");
    assert_eq!(run["baseline"]["metrics"]["metrics.json"]["accuracy"], 0.93);
    let gates = &run["stages"][0]["gates"];
    assert!(
        gates
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["passed"] == true),
        "{gates}"
    );
    assert!(d.join("packaged").exists());
}

#[test]
fn a_missing_metrics_file_is_a_pointed_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mlops.yaml"),
        config("notes", "echo no metrics written"),
    )
    .unwrap();
    let out = mlops_ci(dir.path()).arg("check").output().unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("stage `evaluate`") && err.contains("metrics.json"),
        "{err}"
    );
}

#[test]
fn required_baseline_missing_is_an_error() {
    let dir = repo(
        "notes",
        r#"echo '{"accuracy": 0.9, "loss": 0.2}' > metrics.json"#,
    );
    let d = dir.path();
    let text = std::fs::read_to_string(d.join("mlops.yaml"))
        .unwrap()
        .replace("store: notes", "store: notes, required: true");
    std::fs::write(d.join("mlops.yaml"), text).unwrap();
    let out = mlops_ci(d).arg("check").output().unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`baseline.required` is true"),
        "{}",
        stderr(&out)
    );
}

/// `run` on a push to main records the baseline and pushes it; a PR clone's `check` reads it.
#[test]
fn a_push_to_main_records_the_baseline_a_pr_is_judged_against() {
    let origin = tempfile::tempdir().unwrap();
    git(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    let url = format!("file://{}", origin.path().display());
    let main = tempfile::tempdir().unwrap();
    let m = main.path();
    git(m, &["clone", "-q", &url, "."]);
    std::fs::write(
        m.join("mlops.yaml"),
        config(
            "notes",
            r#"echo '{"accuracy": 0.93, "loss": 0.2}' > metrics.json"#,
        ),
    )
    .unwrap();
    std::fs::write(m.join("params.yaml"), "lr: 0.1\n").unwrap();
    std::fs::write(m.join(".gitignore"), ".mlops/\npackaged\nmetrics.json\n").unwrap();
    git(m, &["add", "."]);
    git(m, &["commit", "-q", "-m", "first"]);
    git(m, &["push", "-q", "origin", "main"]);
    let out = crate::common::ci_push(m, "refs/heads/main")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains("recorded this run as `main`'s baseline"),
        "{err}"
    );
    let sha = git(m, &["rev-parse", "HEAD"]);
    let note = git(origin.path(), &["notes", "--ref=mlops-ci", "show", &sha]);
    let note: serde_json::Value = serde_json::from_str(&note).unwrap();
    assert_eq!(note["metrics"]["metrics.json"]["accuracy"], 0.93);
    assert_eq!(note["params"]["params.yaml"]["lr"], 0.1);

    let pr = tempfile::tempdir().unwrap();
    let p = pr.path();
    git(p, &["clone", "-q", &url, "."]);
    git(p, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(
        p.join("mlops.yaml"),
        config(
            "notes",
            r#"echo '{"accuracy": 0.90, "loss": 0.2}' > metrics.json"#,
        ),
    )
    .unwrap();
    git(p, &["commit", "-q", "-am", "worse model"]);
    let out = mlops_ci(p).arg("check").output().unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("accuracy 0.9 fell 0.03 below main's 0.93; allowed 0.01"),
        "{err}"
    );
    let run = run_json(p);
    assert_eq!(run["baseline"]["sha"], sha);
    assert_eq!(run["baseline"]["params"]["params.yaml"]["lr"], 0.1);
}

#[test]
fn diff_without_revisions_compares_the_baseline_with_the_workspace_or_a_run() {
    let dir = repo(
        "notes",
        r#"echo '{"accuracy": 0.91, "loss": 0.2}' > metrics.json"#,
    );
    let d = dir.path();
    let main = git(d, &["rev-parse", "main"]);
    let note = r#"{"version": 1, "metrics": {"metrics.json": {"accuracy": 0.933, "loss": 0.2}}, "recorded_at": "2026-11-26T00:00:00Z"}"#;
    git(d, &["notes", "--ref=mlops-ci", "add", "-m", note, &main]);
    let out = mlops_ci(d).arg("diff").output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        crate::common::stdout(&out),
        "Path          Metric    main    workspace    Change\nmetrics.json  accuracy  0.933   0.93         -0.003\n"
    );
    let _ = mlops_ci(d).arg("check").output().unwrap();
    let runs = d.join(".mlops/runs");
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("run.json");
    let out = mlops_ci(d)
        .args(["diff", "--md", "--run", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        crate::common::stdout(&out),
        "| Path         | Metric   | main   | run   | Change   |\n|--------------|----------|--------|-------|----------|\n| metrics.json | accuracy | 0.933  | 0.91  | -0.023   |\n\n"
    );
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("mlops.yaml"), config("notes", "true")).unwrap();
    let out = mlops_ci(empty.path()).arg("diff").output().unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("name the revisions to compare"),
        "{}",
        stderr(&out)
    );
}
