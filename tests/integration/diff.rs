//! `mlops-ci diff` against real temporary git repositories, and differentially against DVC's
//! own `dvc metrics diff` on the same repositories.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::common::{code, git, run, stderr, stdout};

type Files<'a> = &'a [(&'a str, &'a str)];

/// A repository whose `mlops.yaml` (and, with `dvc`, `dvc.yaml`) lists `tracked` as metrics,
/// with one commit of `old` and one of `new` (files absent from `new` are deleted). With `dvc`,
/// `dvc init` runs first and its files are committed too.
fn repo(tracked: &[&str], old: Files<'_>, new: Files<'_>, dvc: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    if dvc {
        let out = dvc_command(root, &["init", "-q"]).output().unwrap();
        assert!(
            out.status.success(),
            "dvc init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list: String = if tracked.is_empty() {
        " []\n".to_owned()
    } else {
        let items: String = tracked.iter().fold(String::new(), |mut acc, t| {
            let _ = writeln!(acc, "      - {t}");
            acc
        });
        format!("\n{items}")
    };
    let mlops = format!(
        "version: 1\nname: t\nstages:\n  evaluate:\n    steps:\n      - run: \"true\"\n    metrics:{list}"
    );
    std::fs::write(root.join("mlops.yaml"), mlops).unwrap();
    if dvc {
        let list: String = tracked.iter().fold(String::new(), |mut acc, t| {
            let _ = writeln!(acc, "  - {t}");
            acc
        });
        std::fs::write(root.join("dvc.yaml"), format!("metrics:\n{list}")).unwrap();
    }
    for (commit, files) in [("old", old), ("new", new)] {
        for t in tracked {
            let _ = std::fs::remove_file(root.join(t));
        }
        for (path, text) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "--allow-empty", "-m", commit]);
    }
    dir
}

fn dvc_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("MLOPS_CI_DVC").unwrap_or_else(|_| "dvc".into()));
    cmd.args(args)
        .current_dir(dir)
        .env("DVC_NO_ANALYTICS", "1")
        .env("NO_COLOR", "1");
    cmd
}

fn require_dvc() {
    let found = dvc_command(Path::new("."), &["--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "the differential tests need DVC: install it with `python3 -m pip install 'dvc>=3,<4'` \
         (scripts/test does), or point MLOPS_CI_DVC at a `dvc` executable"
    );
}

/// Runs `dvc metrics diff ARGS` and `mlops-ci diff ARGS` on a fresh repository and requires
/// the same stdout. DVC orders files (and JSON keys) from a Python set, so for several files
/// the table's rows are compared as a sorted list under the same header, and JSON as values.
fn same_as_dvc(tracked: &[&str], old: Files<'_>, new: Files<'_>, args: &[&str]) -> String {
    require_dvc();
    let dir = repo(tracked, old, new, true);
    let theirs = dvc_command(dir.path(), &[&["metrics", "diff"], args].concat())
        .output()
        .unwrap();
    assert!(
        theirs.status.success(),
        "dvc metrics diff {args:?}: {}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let theirs = String::from_utf8(theirs.stdout).unwrap();
    let ours = run(dir.path(), &[&["diff"], args].concat());
    assert_eq!(code(&ours), 0, "mlops-ci diff {args:?}: {}", stderr(&ours));
    let ours = stdout(&ours);
    if args.contains(&"--json") {
        let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(
            parse(&ours),
            parse(&theirs),
            "ours:\n{ours}\ntheirs:\n{theirs}"
        );
        if tracked.len() == 1
            && parse(&ours)
                .as_object()
                .unwrap()
                .values()
                .all(|f| f.as_object().unwrap().len() <= 1)
        {
            assert_eq!(ours, theirs);
        }
    } else if tracked.len() > 1 {
        let sorted = |s: &str| {
            let mut lines: Vec<String> = s.lines().map(str::to_owned).collect();
            let head = if args.contains(&"--md") { 2 } else { 1 }.min(lines.len());
            lines[head..].sort();
            lines.join("\n")
        };
        assert_eq!(
            sorted(&ours),
            sorted(&theirs),
            "ours:\n{ours}\ntheirs:\n{theirs}"
        );
    } else {
        assert_eq!(ours, theirs, "ours:\n{ours}\ntheirs:\n{theirs}");
    }
    ours
}

const HEAD2: [&str; 2] = ["HEAD~1", "HEAD"];

#[test]
fn dvc_nested_json() {
    let out = same_as_dvc(
        &["metrics.json"],
        &[(
            "metrics.json",
            r#"{"train": {"acc": 0.9, "loss": {"l1": 0.31, "l2": 0.1}}, "epoch": 5}"#,
        )],
        &[(
            "metrics.json",
            r#"{"train": {"acc": 0.95, "loss": {"l1": 0.25, "l2": 0.1}}, "epoch": 6}"#,
        )],
        &HEAD2,
    );
    assert!(out.contains("train.loss.l1"), "{out}");
}

#[test]
fn dvc_yaml_nested_with_exponents_and_strings() {
    same_as_dvc(
        &["eval/metrics.yaml"],
        &[(
            "eval/metrics.yaml",
            "eval:\n  lr: 1.0e-05\n  auc: 0.812345678\n  model: resnet\nsteps: 100\n",
        )],
        &[(
            "eval/metrics.yaml",
            "eval:\n  lr: 3.0e-07\n  auc: 0.8123499\n  model: convnext\nsteps: 120\n",
        )],
        &HEAD2,
    );
}

#[test]
fn dvc_toml_tables_and_dropped_arrays() {
    same_as_dvc(
        &["metrics.toml"],
        &[(
            "metrics.toml",
            "acc = 0.5\nhist = [1, 2]\n[loss]\ntrain = 1.25\nval = 2\n",
        )],
        &[(
            "metrics.toml",
            "acc = 0.75\nhist = [3]\n[loss]\ntrain = 1.0\nval = 3\n",
        )],
        &HEAD2,
    );
}

#[test]
fn dvc_top_level_scalar() {
    same_as_dvc(
        &["score"],
        &[("score", "0.93\n")],
        &[("score", "0.95\n")],
        &HEAD2,
    );
}

#[test]
fn dvc_lists_and_nulls_dropped() {
    same_as_dvc(
        &["m.json"],
        &[(
            "m.json",
            r#"{"a": [1, 2], "b": null, "c": {"d": [], "e": null}, "f": 1}"#,
        )],
        &[(
            "m.json",
            r#"{"a": [3], "b": 2, "c": {"d": [1], "e": null}, "f": 2}"#,
        )],
        &HEAD2,
    );
}

#[test]
fn dvc_bools_and_strings() {
    same_as_dvc(
        &["m.yaml"],
        &[(
            "m.yaml",
            "passed: true\nbest: false\nname: a\nsame: x\nflip: 1\n",
        )],
        &[(
            "m.yaml",
            "passed: false\nbest: false\nname: b\nsame: x\nflip: true\n",
        )],
        &HEAD2,
    );
}

#[test]
fn dvc_ints_versus_floats() {
    same_as_dvc(
        &["m.json"],
        &[("m.json", r#"{"a": 1, "b": 2, "c": 3.0, "d": 10, "e": 0.1}"#)],
        &[(
            "m.json",
            r#"{"a": 1.0, "b": 2.5, "c": 4, "d": 7, "e": 0.30000000000000004}"#,
        )],
        &HEAD2,
    );
}

#[test]
fn dvc_new_and_removed_metrics() {
    same_as_dvc(
        &["m.json"],
        &[("m.json", r#"{"gone": 0.5, "kept": 1, "old_str": "x"}"#)],
        &[("m.json", r#"{"kept": 2, "added": 0.25, "new_str": "y"}"#)],
        &HEAD2,
    );
}

#[test]
fn dvc_removed_file() {
    same_as_dvc(
        &["a.json", "b.yaml"],
        &[
            ("a.json", r#"{"acc": 0.5, "n": 3}"#),
            ("b.yaml", "loss: 1.5\n"),
        ],
        &[("b.yaml", "loss: 1.25\n")],
        &HEAD2,
    );
}

#[test]
fn dvc_all_shows_unchanged_rows() {
    same_as_dvc(
        &["m.json"],
        &[(
            "m.json",
            r#"{"a": 1, "b": 0.5, "c": "s", "d": true, "e": 2}"#,
        )],
        &[(
            "m.json",
            r#"{"a": 1, "b": 0.5, "c": "s", "d": true, "e": 3}"#,
        )],
        &["--all", "HEAD~1", "HEAD"],
    );
}

#[test]
fn dvc_precision_2() {
    same_as_dvc(
        &["m.json"],
        &[(
            "m.json",
            r#"{"a": 0.123456, "b": 0.125, "c": 2.675, "d": 1e-07, "e": 123456.789}"#,
        )],
        &[(
            "m.json",
            r#"{"a": 0.2, "b": 0.375, "c": 3.0, "d": 3e-07, "e": 1e+17}"#,
        )],
        &["--precision", "2", "HEAD~1", "HEAD"],
    );
}

#[test]
fn dvc_default_precision_rounding() {
    same_as_dvc(
        &["m.json"],
        &[(
            "m.json",
            r#"{"a": 0.1234567, "b": 1e-05, "c": 0.000012345678, "d": -0.000001, "e": 1e16}"#,
        )],
        &[(
            "m.json",
            r#"{"a": 0.1234561, "b": 2e-05, "c": 0.0, "d": 0.5, "e": 2e16}"#,
        )],
        &HEAD2,
    );
}

#[test]
fn dvc_markdown() {
    same_as_dvc(
        &["metrics.yaml"],
        &[(
            "metrics.yaml",
            "a:\n  b:\n    c: 1\n  d:\n    e: 3\nx:\n  b: 5\n",
        )],
        &[(
            "metrics.yaml",
            "a:\n  b:\n    c: 2\n  d:\n    e: 4\nx:\n  b: '6'\n",
        )],
        &["--md", "HEAD~1", "HEAD"],
    );
}

#[test]
fn dvc_markdown_with_no_changes_prints_the_header() {
    let out = same_as_dvc(
        &["m.json"],
        &[("m.json", r#"{"a": 1}"#)],
        &[("m.json", r#"{"a": 1.0}"#)],
        &["--md", "HEAD~1", "HEAD"],
    );
    assert!(out.starts_with("| Path"), "{out}");
}

#[test]
fn dvc_plain_with_no_changes_prints_nothing() {
    let out = same_as_dvc(
        &["m.json"],
        &[("m.json", r#"{"a": 1}"#)],
        &[("m.json", r#"{"a": 1}"#)],
        &HEAD2,
    );
    assert_eq!(out, "");
}

#[test]
fn dvc_json() {
    same_as_dvc(
        &["m.json", "n.yaml"],
        &[
            ("m.json", r#"{"a": 0.1, "s": "é", "b": true}"#),
            ("n.yaml", "x: 1\n"),
        ],
        &[
            (
                "m.json",
                r#"{"a": 0.30000000000000004, "s": "ü", "b": false}"#,
            ),
            ("n.yaml", "y: 2\n"),
        ],
        &["--json", "HEAD~1", "HEAD"],
    );
}

#[test]
fn dvc_json_one_metric_is_byte_identical() {
    same_as_dvc(
        &["m.json"],
        &[("m.json", r#"{"a": {"b": 1e-05}}"#)],
        &[("m.json", r#"{"a": {"b": 1.5}}"#)],
        &["--json", "HEAD~1", "HEAD"],
    );
}

#[test]
fn dvc_no_path_with_all() {
    same_as_dvc(
        &["m.toml"],
        &[("m.toml", "a = 1\nb = 2.5\n")],
        &[("m.toml", "a = 1\nb = 3.5\n")],
        &["--no-path", "--all", "HEAD~1", "HEAD"],
    );
}

#[test]
fn dvc_branch_names_as_headers() {
    same_as_dvc(
        &["m.json"],
        &[("m.json", r#"{"a": 1}"#)],
        &[("m.json", r#"{"a": 2}"#)],
        &["main~1", "main"],
    );
}

#[test]
fn dvc_defaults_head_against_the_workspace() {
    require_dvc();
    let dir = repo(
        &["m.json"],
        &[("m.json", "{}")],
        &[("m.json", r#"{"a": 1, "b": 2}"#)],
        true,
    );
    std::fs::write(
        dir.path().join("m.json"),
        r#"{"a": 1.5, "b": 2, "c": "new"}"#,
    )
    .unwrap();
    let theirs = dvc_command(dir.path(), &["metrics", "diff"])
        .output()
        .unwrap();
    // DVC's defaults are `HEAD` and the workspace; ours compares with the baseline when no
    // revision is named, so name `HEAD`.
    let ours = run(dir.path(), &["diff", "HEAD"]);
    assert_eq!(code(&ours), 0, "{}", stderr(&ours));
    assert_eq!(stdout(&ours), String::from_utf8(theirs.stdout).unwrap());
    assert!(stdout(&ours).starts_with("Path    Metric    HEAD    workspace    Change\n"));
}

#[test]
fn dvc_yaml_scalar_spellings() {
    same_as_dvc(
        &["m.yaml"],
        &[(
            "m.yaml",
            "a: 1e3\nb: 0x10\nc: yes\nd: 1_000\ne: .5\nf: '7'\nh: ~\n",
        )],
        &[(
            "m.yaml",
            "a: 2e3\nb: 0x11\nc: no\nd: 2_000\ne: .25\nf: '8'\nh: 1\n",
        )],
        &HEAD2,
    );
}

// --- our own output, snapshotted -------------------------------------------------------------

fn snapshot_repo() -> tempfile::TempDir {
    repo(
        &["metrics.json", "eval/scores.yaml"],
        &[
            (
                "metrics.json",
                r#"{"train": {"acc": 0.91234567, "loss": 0.5}, "epochs": 10, "model": "a"}"#,
            ),
            ("eval/scores.yaml", "f1: 0.7\nrecall: 0.65\n"),
        ],
        &[
            (
                "metrics.json",
                r#"{"train": {"acc": 0.93, "loss": 0.5}, "epochs": 12, "model": "b", "new": 1}"#,
            ),
            ("eval/scores.yaml", "f1: 0.72\n"),
        ],
        false,
    )
}

#[test]
fn plain_table() {
    let dir = snapshot_repo();
    let out = run(dir.path(), &["diff", "HEAD~1", "HEAD"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn markdown_table_with_all_and_precision() {
    let dir = snapshot_repo();
    let out = run(
        dir.path(),
        &[
            "diff",
            "main~1",
            "main",
            "--md",
            "--all",
            "--precision",
            "2",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn json_output() {
    let dir = snapshot_repo();
    let out = run(dir.path(), &["diff", "HEAD~1", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn targets_replace_the_config_list_and_no_path_drops_the_column() {
    let dir = snapshot_repo();
    let out = run(
        dir.path(),
        &[
            "diff",
            "HEAD~1",
            "HEAD",
            "--no-path",
            "--targets",
            "eval/scores.yaml",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn unknown_revision_exits_2_with_a_pointed_message() {
    let dir = snapshot_repo();
    let out = run(dir.path(), &["diff", "no-such-branch"]);
    assert_eq!(code(&out), 2);
    insta::assert_snapshot!(stderr(&out));
}

#[test]
fn unparsable_file_at_a_revision_exits_2_naming_it() {
    let dir = repo(
        &["m.json"],
        &[("m.json", "{oops")],
        &[("m.json", r#"{"a": 1}"#)],
        false,
    );
    let out = run(dir.path(), &["diff", "HEAD~1", "HEAD"]);
    assert_eq!(code(&out), 2);
    insta::assert_snapshot!(stderr(&out));
}

#[test]
fn config_without_metrics_and_no_targets_exits_2() {
    let dir = repo(&[], &[], &[], false);
    let out = run(dir.path(), &["diff"]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    insta::assert_snapshot!(stderr(&out));
}
