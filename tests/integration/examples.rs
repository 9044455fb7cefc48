//! The bundled examples, run end to end by `mlops-ci check` and `run` on copies in fresh git
//! repositories with real Python: the metrics mlops-ci records are the ones the scripts wrote,
//! and a worse model fails its gates against the baseline a push to main recorded.
//!
//! Until the image stage lands on this branch (`check` refuses an `image:` and, for now, data
//! checks, before running anything), the copies leave out the `package` stage and iris's
//! `validate` stage; everything else runs as committed.

use std::path::Path;
use std::process::Command;

use crate::common::{code, git, json_eq, mlops_ci, repo, run_json, stderr};

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_dir(&entry.path(), &to);
            }
        } else {
            std::fs::copy(entry.path(), to).unwrap();
        }
    }
}

/// `text` without the stage `name`: its line and the more-indented lines under it.
fn without_stage(text: &str, name: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if line.trim_end() == format!("  {name}:") {
            skipping = true;
            continue;
        }
        if skipping && !line.trim().is_empty() && indent <= 2 {
            skipping = false;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A metrics file flattened as DVC flattens it: nested keys joined with `.`.
pub(crate) fn flatten(
    prefix: &str,
    value: &serde_json::Value,
    out: &mut serde_json::Map<String, serde_json::Value>,
) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::Array(_) | serde_json::Value::Null => {}
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}

pub(crate) fn python_has(modules: &str, packages: &str) {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "this test needs Python 3 with {modules}: `python3 -m pip install {packages}`; \
         `scripts/test` installs them"
    );
}

/// A folder holding `python` (python3) for configs that call `python`, on machines that have
/// only `python3`; it goes first on PATH.
fn python_on_path(dir: &Path) -> String {
    let bin = dir.join("python-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let python3 = Command::new("sh")
        .args(["-c", "command -v python3"])
        .output()
        .unwrap();
    let python3 = String::from_utf8(python3.stdout).unwrap();
    std::os::unix::fs::symlink(python3.trim(), bin.join("python")).unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

/// A clone of a fresh bare `origin` whose `main` holds a copy of the example, its config edited
/// by `edit`. Returns (origin, clone).
pub(crate) fn example_repo(
    example: &str,
    edit: impl Fn(String) -> String,
) -> (tempfile::TempDir, tempfile::TempDir) {
    let origin = tempfile::tempdir().unwrap();
    git(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    let clone = tempfile::tempdir().unwrap();
    let d = clone.path();
    git(
        d,
        &[
            "clone",
            "-q",
            &format!("file://{}", origin.path().display()),
            ".",
        ],
    );
    copy_dir(&repo().join("examples").join(example), d);
    let config = std::fs::read_to_string(d.join("mlops.yaml")).unwrap();
    std::fs::write(d.join("mlops.yaml"), edit(config)).unwrap();
    std::fs::write(
        d.join(".gitignore"),
        ".mlops/\nmodel/\ndata/\nmetrics.json\n__pycache__/\npython-bin/\n",
    )
    .unwrap();
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "the example"]);
    git(d, &["push", "-q", "origin", "main"]);
    (origin, clone)
}

/// The metrics `check` recorded for `stage`, and those of the file the script wrote.
fn recorded_and_written(dir: &Path, stage: &str) -> (serde_json::Value, serde_json::Value) {
    let record = run_json(dir);
    let stage = record["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == stage)
        .unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    let mut flat = serde_json::Map::new();
    flatten("", &written, &mut flat);
    (
        stage["metrics"]["metrics.json"].clone(),
        serde_json::Value::Object(flat),
    )
}

#[test]
fn digits_trains_records_its_metrics_and_a_worse_model_fails_the_gates() {
    python_has("sklearn, yaml", "scikit-learn pyyaml");
    let (_origin, clone) = example_repo("digits", |c| without_stage(&c, "package"));
    let d = clone.path();

    // A push to main: the run records its metrics as main's baseline.
    let out = crate::common::ci_push(d, "refs/heads/main")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains("recorded this run as `main`'s baseline"),
        "{err}"
    );
    let (recorded, written) = recorded_and_written(d, "evaluate");
    assert!(json_eq(&recorded, &written), "{recorded} != {written}");
    assert!(written["accuracy"].as_f64().unwrap() >= 0.95, "{written}");
    assert_eq!(written["test_images"], 450);

    // A pull request that narrows the kernel's reach fivefold: still above the floor, but
    // worse than main's by more than the gate allows.
    git(d, &["checkout", "-q", "-b", "gamma"]);
    let params = std::fs::read_to_string(d.join("params.yaml"))
        .unwrap()
        .replace("gamma: 0.001", "gamma: 0.005");
    std::fs::write(d.join("params.yaml"), params).unwrap();
    git(d, &["commit", "-q", "-am", "gamma 0.005"]);
    let out = mlops_ci(d).arg("check").output().unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    let (recorded, written) = recorded_and_written(d, "evaluate");
    assert!(json_eq(&recorded, &written), "{recorded} != {written}");
    let record = run_json(d);
    assert_eq!(
        record["baseline"]["params"]["params.yaml"]["model.gamma"],
        0.001
    );
    let accuracy = &record["stages"][1]["gates"][0];
    assert_eq!(accuracy["metric"], "accuracy", "{accuracy}");
    assert_eq!(accuracy["passed"], false, "{accuracy}");
    let reason = accuracy["reason"].as_str().unwrap();
    assert!(
        reason.contains("below main's") && reason.ends_with("allowed 0.005"),
        "{reason}"
    );
    assert!(
        written["accuracy"].as_f64().unwrap() >= 0.95,
        "the floor holds; the regression fails: {written}"
    );
}

#[test]
fn iris_trains_in_plain_python_and_records_the_metrics_it_wrote() {
    let (_origin, clone) = example_repo("iris", |c| {
        without_stage(&without_stage(&c, "package"), "validate")
            .replace("needs: [validate]", "needs: [prepare]")
    });
    let d = clone.path();
    let out = mlops_ci(d)
        .arg("check")
        .env("PATH", python_on_path(d))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains(
            "wrote 150 rows to data/iris.csv: {'setosa': 50, 'versicolor': 50, 'virginica': 50}"
        ),
        "{err}"
    );
    let (recorded, written) = recorded_and_written(d, "evaluate");
    assert!(json_eq(&recorded, &written), "{recorded} != {written}");
    assert_eq!(written["test_rows"], 45);
    assert!(written["accuracy"].as_f64().unwrap() >= 0.9, "{written}");
    assert!(written["f1.macro"].as_f64().unwrap() >= 0.85, "{written}");
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("model/model.json")).unwrap())
            .unwrap();
    assert_eq!(model["classes"].as_array().unwrap().len(), 3);
}
