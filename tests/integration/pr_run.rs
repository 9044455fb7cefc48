//! `mlops-ci run` on a pull request inside a simulated GitHub Actions environment: a real
//! `pull_request` payload, the GitHub API emulator on 127.0.0.1, the real binary.

use crate::common::{code, mlops_ci, stderr};
use crate::github_emulator::{Emulator, EmulatorConfig, events_dir};

const CONFIG: &str = r#"version: 1
name: iris
secrets: [MLFLOW_TOKEN]
stages:
  evaluate:
    steps:
      - run: |
          echo "token $MLFLOW_TOKEN"
          echo '{"accuracy": 0.94, "loss": 0.2}' > metrics.json
    metrics: [metrics.json]
    gates:
      - metric: accuracy
        min: 0.9
"#;

fn run_pr(
    dir: &std::path::Path,
    emulator: &Emulator,
    summary: &std::path::Path,
) -> std::process::Output {
    let config = emulator.config();
    mlops_ci(dir)
        .arg("run")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env(
            "GITHUB_EVENT_PATH",
            events_dir().join("pull_request/opened.payload.json"),
        )
        .env(
            "GITHUB_REPOSITORY",
            format!("{}/{}", config.owner, config.repo),
        )
        .env("GITHUB_API_URL", emulator.base_url())
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_RUN_ID", "4242")
        .env("GITHUB_TOKEN", &config.token)
        .env("GITHUB_STEP_SUMMARY", summary)
        .env("MLFLOW_TOKEN", "mlflow-secret-value-123")
        .output()
        .unwrap()
}

#[test]
fn a_pull_request_run_posts_one_sticky_comment_and_updates_it() {
    let emulator = Emulator::start(EmulatorConfig {
        owner: "Codertocat".into(),
        repo: "Hello-World".into(),
        ..EmulatorConfig::default()
    });
    let pr = emulator.load_pull_request_fixture("opened");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mlops.yaml"), CONFIG).unwrap();
    let summary = dir.path().join("summary.md");

    let out = run_pr(dir.path(), &emulator, &summary);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains(&format!("posted the report comment on #{pr}")),
        "{err}"
    );
    let first_calls = emulator.requests().len();
    let comments = emulator.comments(pr);
    assert_eq!(comments.len(), 1);
    let body = comments[0]["body"].as_str().unwrap().to_owned();
    assert!(
        body.starts_with("<!-- mlops-ci:report name=iris -->"),
        "{body}"
    );
    assert!(body.contains("accuracy"), "{body}");
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains("accuracy")
    );

    let out = run_pr(dir.path(), &emulator, &summary);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(err.contains("report comment on #2"), "{err}");
    assert_eq!(emulator.comments(pr).len(), 1, "still exactly one comment");
    let second_calls = emulator.requests().len() - first_calls;
    eprintln!("API calls: first run {first_calls} (no comment yet), second run {second_calls}");
    assert!(
        first_calls <= 4 && second_calls <= 4,
        "API calls: first run {first_calls}, second {second_calls}"
    );
    emulator.assert_no_violations();
    emulator.assert_no_body_contains("mlflow-secret-value-123");
    emulator.assert_no_body_contains(&emulator.config().token);
}
