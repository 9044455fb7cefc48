//! `mlops-ci plan` on the bundled example: the JSON and the human text, snapshotted per event.

use crate::common::{code, config_dir, repo, run, stderr, stdout};

#[test]
fn example_plan_json_per_event() {
    let dir = repo().join("examples/iris");
    for event in ["pull_request", "push", "tag", "local"] {
        let out = run(&dir, &["plan", "--event", event, "--format", "json"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        insta::assert_json_snapshot!(format!("example_plan_{event}"), plan);
    }
}

#[test]
fn example_plan_human() {
    let out = run(
        &repo().join("examples/iris"),
        &["plan", "--event", "pull_request"],
    );
    assert_eq!(code(&out), 0);
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn stages_run_in_dependency_order_keeping_file_order() {
    let dir = config_dir(
        b"version: 1\nstages:\n  report:\n    needs: [b, a]\n    steps: [{run: echo}]\n  b:\n    steps: [{run: echo}]\n  a:\n    needs: [b]\n    steps: [{run: echo}]\n  z:\n    steps: [{run: echo}]\n",
    );
    let plan = plan_json(dir.path(), &[]);
    let names: Vec<&str> = plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b", "a", "report", "z"]);
}

fn plan_json(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = run(dir, &[&["plan", "--format", "json"], args].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn actions(plan: &serde_json::Value) -> Vec<String> {
    plan["publish"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["action"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn tag_ref_and_push_branch_shape_the_publish_list() {
    let dir = repo().join("examples/iris");
    let tag = actions(&plan_json(
        &dir,
        &["--event", "tag", "--ref", "refs/tags/iris@v1.2.0"],
    ));
    assert!(
        tag.contains(&"release".to_owned()) && tag.contains(&"image-push".to_owned()),
        "{tag:?}"
    );
    let feature = actions(&plan_json(
        &dir,
        &["--event", "push", "--ref", "refs/heads/feature"],
    ));
    assert!(
        !feature.contains(&"baseline-note".to_owned()),
        "a feature branch records no baseline: {feature:?}"
    );
    let main = actions(&plan_json(
        &dir,
        &["--event", "push", "--ref", "refs/heads/main"],
    ));
    assert!(main.contains(&"baseline-note".to_owned()), "{main:?}");
}

#[test]
fn event_comes_from_the_github_environment() {
    let dir = repo().join("examples/iris");
    let out = crate::common::mlops_ci(&dir)
        .args(["plan", "--format", "json"])
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_REF", "refs/tags/v2.0.0")
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(plan["event"]["name"], "tag");
    assert_eq!(plan["event"]["ref"], "refs/tags/v2.0.0");
}
