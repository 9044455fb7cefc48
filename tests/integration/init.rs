//! `mlops-ci init`: the files it writes for what it finds, that they lint and run, and that it
//! never overwrites a file.

use std::path::Path;

use crate::common::{code, git, mlops_ci, run, run_json, stderr, stdout};

const WRITTEN: [&str; 3] = [
    "mlops.yaml",
    ".github/workflows/mlops.yml",
    ".github/workflows/mlops-comment.yml",
];

fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A repository such as an ML team keeps: scripts under `src/`, params, data, an image.
fn ml_repo() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("churn").tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    git(
        d,
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/Acme/Churn.git",
        ],
    );
    write(d, "src/train.py", "print('training')\n");
    write(
        d,
        "src/evaluate.py",
        "import json\njson.dump({'auc': 0.8}, open('reports/metrics.json', 'w'))\n",
    );
    write(d, "params.yaml", "lr: 0.1\n");
    write(d, "data/train.csv", "a,b\n1,2\n");
    write(d, "Dockerfile", "FROM scratch\n");
    write(d, "requirements.txt", "numpy\n");
    write(d, "node_modules/x/train.py", "not this one\n");
    dir
}

fn scrubbed(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.split_once("/mlops-ci@") {
            Some((head, tail)) if tail.len() >= 40 => format!(
                "{head}/mlops-ci@[SHA]{}",
                tail[40..].replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
            ),
            _ => line.to_owned(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn init_fits_the_files_it_finds_and_the_config_lints() {
    let dir = ml_repo();
    let d = dir.path();
    let out = run(d, &["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wrote `mlops.yaml`"),
        "{}",
        stderr(&out)
    );
    for file in WRITTEN {
        let text = std::fs::read_to_string(d.join(file)).unwrap();
        insta::assert_snapshot!(
            format!("init_{}", file.rsplit('/').next().unwrap()),
            scrubbed(&text)
        );
    }
    let config = std::fs::read_to_string(d.join("mlops.yaml")).unwrap();
    assert!(config.contains("name: ghcr.io/acme/churn"), "{config}");
    assert!(
        config.contains("metrics: [reports/metrics.json]"),
        "{config}"
    );
    assert!(!config.contains("node_modules"), "{config}");
    let lint = run(d, &["lint"]);
    assert_eq!(code(&lint), 0, "{}", stderr(&lint));
    let plan = run(d, &["plan", "--event", "pull_request", "--format", "json"]);
    assert_eq!(code(&plan), 0, "{}", stderr(&plan));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&plan)).unwrap();
    let stages: Vec<&str> = plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["train", "evaluate", "package"]);
}

/// What `init` writes for a bare training script runs as it stands: `check` trains, reads the
/// metrics the evaluation wrote, and passes.
#[test]
fn the_config_init_writes_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "train.py",
        "open('model.txt', 'w').write('w=0.5')\nprint('trained')\n",
    );
    write(
        d,
        "evaluate.py",
        "import json\nw = float(open('model.txt').read().split('=')[1])\n\
         json.dump({'accuracy': w + 0.4, 'loss': 0.1}, open('metrics.json', 'w'))\n",
    );
    let out = run(d, &["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = mlops_ci(d).arg("check").output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let record = run_json(d);
    assert_eq!(record["result"], "success");
    let evaluate = record["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "evaluate")
        .unwrap();
    assert_eq!(evaluate["metrics"]["metrics.json"]["accuracy"], 0.9);
}

/// With nothing to go on, the training step says what to do and fails: never a silent pass.
#[test]
fn an_empty_folder_gets_a_config_that_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&run(d, &["init"])), 0);
    let config = std::fs::read_to_string(d.join("mlops.yaml")).unwrap();
    assert!(config.contains("# metrics: [metrics.json]"), "{config}");
    assert!(
        !config.contains("package:"),
        "no Dockerfile, no image: {config}"
    );
    let workflow = std::fs::read_to_string(d.join(".github/workflows/mlops.yml")).unwrap();
    assert!(!workflow.contains("setup-python"), "{workflow}");
    assert!(!workflow.contains("packages: write"), "{workflow}");
    assert_eq!(code(&run(d, &["lint"])), 0);
    let out = mlops_ci(d).arg("check").output().unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("mlops-ci init found no train.py"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn init_never_overwrites_a_file_and_writes_nothing_then() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, ".github/workflows/mlops.yml", "mine\n");
    let out = run(d, &["init"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("`.github/workflows/mlops.yml` exists already")
            && err.contains("never overwrites")
            && err.contains("mlops-ci init --stdout"),
        "{err}"
    );
    assert!(!d.join("mlops.yaml").exists(), "nothing is written");
    assert!(!d.join(".github/workflows/mlops-comment.yml").exists());
    assert_eq!(
        std::fs::read_to_string(d.join(".github/workflows/mlops.yml")).unwrap(),
        "mine\n"
    );

    let out = run(d, &["init", "--stdout"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    for file in WRITTEN {
        assert!(text.contains(&format!("# ==> {file} <==\n")), "{text}");
    }
    assert!(!d.join("mlops.yaml").exists(), "--stdout writes nothing");
}

#[test]
fn in_a_subfolder_the_workflows_go_to_the_repository_root() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    write(d, "models/iris/train.py", "print(1)\n");
    let out = run(d, &["-C", "models/iris", "init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`../../.github/workflows/mlops.yml`"),
        "{}",
        stderr(&out)
    );
    assert!(d.join("models/iris/mlops.yaml").exists());
    let workflow = std::fs::read_to_string(d.join(".github/workflows/mlops.yml")).unwrap();
    assert_eq!(
        workflow.matches("working-directory: models/iris").count(),
        2,
        "{workflow}"
    );
}

#[test]
fn the_action_must_be_pinned_by_a_commit_sha() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["init", "--action", "acme/mlops-ci@v1"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("full 40-character commit SHA"));
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let out = run(
        dir.path(),
        &[
            "init",
            "--stdout",
            "--action",
            &format!("acme/mlops-ci@{sha}"),
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out)
            .matches(&format!("uses: acme/mlops-ci@{sha} # mlops-ci"))
            .count(),
        3
    );
}
