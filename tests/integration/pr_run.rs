//! `mlops-ci run` on a pull request inside a simulated GitHub Actions environment: a real
//! `pull_request` payload (rewritten for a fork where a test says so), the GitHub API emulator
//! on 127.0.0.1, the real binary; and `mlops-ci comment --from` publishing a fork's bundle.

use std::path::{Path, PathBuf};

use crate::common::{code, git, mlops_ci, stderr, stdout};
use crate::github_emulator::{Emulator, EmulatorConfig, Fault, FaultKind, events_dir};

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

/// The head commit of the `opened` payload.
const HEAD_SHA: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

struct Pr {
    emulator: Emulator,
    number: u64,
    dir: tempfile::TempDir,
    summary: PathBuf,
    output: PathBuf,
    event: PathBuf,
}

fn setup(config: &str, fork: bool) -> Pr {
    let emulator = Emulator::start(EmulatorConfig {
        owner: "Codertocat".into(),
        repo: "Hello-World".into(),
        ..EmulatorConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mlops.yaml"), config).unwrap();
    let mut payload: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(events_dir().join("pull_request/opened.payload.json")).unwrap(),
    )
    .unwrap();
    if fork {
        payload["pull_request"]["head"]["repo"]["full_name"] = "forker/Hello-World".into();
    }
    let event = dir.path().join("event.json");
    std::fs::write(&event, payload.to_string()).unwrap();
    let number = emulator.load_pull_request(&event);
    Pr {
        emulator,
        number,
        summary: dir.path().join("summary.md"),
        output: dir.path().join("output.txt"),
        event,
        dir,
    }
}

fn actions_env(cmd: &mut std::process::Command, pr: &Pr, event_name: &str, event: &Path) {
    let config = pr.emulator.config();
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", event_name)
        .env("GITHUB_EVENT_PATH", event)
        .env(
            "GITHUB_REPOSITORY",
            format!("{}/{}", config.owner, config.repo),
        )
        .env("GITHUB_API_URL", pr.emulator.base_url())
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_RUN_ID", "4242")
        .env("GITHUB_TOKEN", &config.token)
        .env("GITHUB_STEP_SUMMARY", &pr.summary)
        .env("GITHUB_OUTPUT", &pr.output)
        .env("MLFLOW_TOKEN", "mlflow-secret-value-123");
}

fn run_pr(pr: &Pr) -> std::process::Output {
    let mut cmd = mlops_ci(pr.dir.path());
    cmd.arg("run");
    actions_env(&mut cmd, pr, "pull_request", &pr.event);
    cmd.output().unwrap()
}

/// `GITHUB_OUTPUT`'s heredocs as name → value (the last one wins).
fn outputs(path: &Path) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = std::collections::HashMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delimiter) = line.split_once("<<").expect("heredoc form");
        let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
        out.insert(name.to_owned(), value.join("\n"));
    }
    out
}

#[test]
fn a_pull_request_run_posts_one_sticky_comment_a_check_run_and_outputs() {
    let pr = setup(CONFIG, false);
    let out = run_pr(&pr);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains(&format!("posted the report comment on #{}", pr.number)),
        "{err}"
    );
    let first_calls = pr.emulator.requests().len();
    let comments = pr.emulator.comments(pr.number);
    assert_eq!(comments.len(), 1);
    let body = comments[0]["body"].as_str().unwrap().to_owned();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\b\d+(\.\d+)? ?(ms|s)\b", "[duration]");
    settings.add_filter(r"\d{8}T\d{6}Z-\d+", "[run-id]");
    settings.bind(|| insta::assert_snapshot!("pr_comment_first_run", body));
    assert!(body.contains("https://github.com/Codertocat/Hello-World/actions/runs/4242"));

    // The check run is on the PR's head commit, not the merge commit, with the verdict.
    let checks = pr.emulator.check_runs();
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0]["head_sha"], HEAD_SHA);
    assert_eq!(checks[0]["name"], "mlops-ci");
    assert_eq!(checks[0]["conclusion"], "success");
    assert!(
        checks[0]["output"]["summary"]
            .as_str()
            .unwrap()
            .contains("accuracy")
    );

    let outs = outputs(&pr.output);
    assert_eq!(outs["verdict"], "pass");
    let comment_id = comments[0]["id"].as_u64().unwrap();
    assert_eq!(
        outs["comment-url"],
        format!(
            "https://github.com/Codertocat/Hello-World/pull/{}#issuecomment-{comment_id}",
            pr.number
        )
    );
    let report = std::fs::read_to_string(&outs["report-path"]).unwrap();
    assert_eq!(report, body, "report-path holds the posted comment");
    assert!(
        std::fs::read_to_string(&pr.summary)
            .unwrap()
            .contains("accuracy")
    );

    let out = run_pr(&pr);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains(&format!("report comment on #{}", pr.number)),
        "{err}"
    );
    let comments = pr.emulator.comments(pr.number);
    assert_eq!(comments.len(), 1, "still exactly one comment");
    assert_eq!(comments[0]["id"].as_u64().unwrap(), comment_id);
    let second_calls = pr.emulator.requests().len() - first_calls;
    eprintln!("API calls: first run {first_calls} (no comment yet), second run {second_calls}");
    assert!(
        first_calls <= 4 && second_calls <= 4,
        "API calls: first run {first_calls}, second {second_calls}"
    );
    pr.emulator.assert_no_violations();
    pr.emulator
        .assert_no_body_contains("mlflow-secret-value-123");
    pr.emulator
        .assert_no_body_contains(&pr.emulator.config().token);
}

#[test]
fn without_check_run_permission_the_verdict_is_a_commit_status() {
    let pr = setup(CONFIG, false);
    pr.emulator.inject(Fault::matching(
        FaultKind::NotAccessible,
        10,
        "POST",
        "/check-runs",
    ));
    let out = run_pr(&pr);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(err.contains("set the commit status `mlops-ci`"), "{err}");
    let statuses = pr.emulator.statuses();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0]["state"], "success");
    assert_eq!(statuses[0]["context"], "mlops-ci");
    assert!(pr.emulator.check_runs().is_empty());
    assert_eq!(
        pr.emulator.count("POST", "/check-runs"),
        1,
        "a 403 is not retried"
    );
    pr.emulator.assert_no_violations();
}

#[test]
fn a_failing_gate_fails_the_check_run() {
    let pr = setup(&CONFIG.replace("min: 0.9", "min: 0.95"), false);
    let out = run_pr(&pr);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let checks = pr.emulator.check_runs();
    assert_eq!(checks[0]["conclusion"], "failure");
    assert_eq!(checks[0]["output"]["title"], "1 of 1 gate(s) failed");
    assert_eq!(outputs(&pr.output)["verdict"], "fail");
    let body = pr.emulator.comments(pr.number)[0]["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(body.contains("accuracy"), "{body}");
    pr.emulator.assert_no_violations();
}

#[test]
fn new_comment_mode_posts_each_run_and_folds_the_older_reports() {
    let config = format!("{CONFIG}report:\n  comment: new\n");
    let pr = setup(&config, false);
    for _ in 0..3 {
        let out = run_pr(&pr);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let comments = pr.emulator.comments(pr.number);
    assert_eq!(comments.len(), 3);
    let bodies: Vec<&str> = comments
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    let newest_id = comments[2]["id"].as_u64().unwrap();
    for older in &bodies[..2] {
        assert!(older.contains("<!-- mlops-ci:superseded -->"), "{older}");
        assert!(
            older.contains(&format!("#issuecomment-{newest_id}"))
                || older.contains("#issuecomment-"),
            "{older}"
        );
        assert!(older.contains("<details><summary>Earlier report</summary>"));
    }
    assert!(!bodies[2].contains("superseded"));
    pr.emulator.assert_no_violations();
}

#[test]
fn a_fork_run_leaves_a_bundle_that_comment_from_publishes_after_checking_it() {
    let pr = setup(CONFIG, true);
    let out = run_pr(&pr);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains("comes from the fork `forker/Hello-World`"),
        "{err}"
    );
    assert!(pr.emulator.comments(pr.number).is_empty());
    assert!(
        pr.emulator.requests().is_empty(),
        "a fork's run calls no API"
    );
    let bundle = PathBuf::from(&outputs(&pr.output)["bundle-path"]);
    assert!(bundle.join("bundle.json").is_file() && bundle.join("run.json").is_file());
    let run_json = std::fs::read_to_string(bundle.join("run.json")).unwrap();
    assert!(!run_json.contains("mlflow-secret-value-123"));

    // The trusted workflow: a `workflow_run` event for the fork's run of the PR head.
    let trusted = tempfile::tempdir().unwrap();
    let event = trusted.path().join("workflow_run.json");
    let comment_from = |head_sha: &str| {
        std::fs::write(
            &event,
            serde_json::json!({
                "action": "completed",
                "workflow_run": { "head_sha": head_sha, "event": "pull_request" },
            })
            .to_string(),
        )
        .unwrap();
        let mut cmd = mlops_ci(trusted.path());
        cmd.args(["comment", "--from"]).arg(&bundle);
        actions_env(&mut cmd, &pr, "workflow_run", &event);
        cmd.output().unwrap()
    };
    let wrong = comment_from("0000000000000000000000000000000000000000");
    assert_eq!(code(&wrong), 2, "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("the workflow run that made it was for"));
    assert!(pr.emulator.comments(pr.number).is_empty());

    let out = comment_from(HEAD_SHA);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let comments = pr.emulator.comments(pr.number);
    assert_eq!(comments.len(), 1);
    let body = comments[0]["body"].as_str().unwrap();
    assert_eq!(
        body,
        std::fs::read_to_string(bundle.join("report.md")).unwrap()
    );
    assert!(
        pr.emulator.check_runs().is_empty(),
        "no check run rests on an untrusted bundle"
    );
    // Again: still one comment.
    let out = comment_from(HEAD_SHA);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(pr.emulator.comments(pr.number).len(), 1);
    pr.emulator.assert_no_violations();
}

#[test]
fn a_tampered_bundle_is_refused() {
    let pr = setup(CONFIG, true);
    assert_eq!(code(&run_pr(&pr)), 0);
    let bundle = PathBuf::from(&outputs(&pr.output)["bundle-path"]);
    let meta_path = bundle.join("bundle.json");
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    meta["repository"] = "someone/else".into();
    std::fs::write(&meta_path, meta.to_string()).unwrap();
    let mut cmd = mlops_ci(pr.dir.path());
    cmd.args(["comment", "--from"]).arg(&bundle);
    actions_env(&mut cmd, &pr, "workflow_run", &pr.event);
    let out = cmd.output().unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the bundle is for `someone/else`"),
        "{}",
        stderr(&out)
    );
    assert!(pr.emulator.comments(pr.number).is_empty());
}

#[test]
fn check_prints_the_report_as_json_or_markdown() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mlops.yaml"), CONFIG).unwrap();
    let out = mlops_ci(dir.path())
        .args(["check", "--format", "json"])
        .env("MLFLOW_TOKEN", "mlflow-secret-value-123")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["verdict"], "pass");
    assert_eq!(json["metrics"][0]["key"], "accuracy");
    assert_eq!(json["gates"][0]["passed"], true);
    assert_eq!(json["stages"][0]["result"], "success");

    let out = mlops_ci(dir.path())
        .args(["check", "--format", "md"])
        .env("MLFLOW_TOKEN", "mlflow-secret-value-123")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let md = stdout(&out);
    assert!(md.starts_with("<!-- mlops-ci:report name=iris -->"), "{md}");
    assert!(md.contains("| accuracy"), "{md}");
    assert!(!md.contains("mlflow-secret-value-123"));
}

/// Three runs on `main` record three notes with rising accuracy; the PR's report draws them.
#[test]
fn the_report_draws_the_trend_of_mains_recorded_runs() {
    let origin = tempfile::tempdir().unwrap();
    git(origin.path(), &["init", "--bare", "-q"]);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    git(dir, &["init", "-q"]);
    git(
        dir,
        &["remote", "add", "origin", origin.path().to_str().unwrap()],
    );
    let config = CONFIG.replace(
        r#"echo '{"accuracy": 0.94, "loss": 0.2}'"#,
        r#"echo "{\"accuracy\": $ACC, \"loss\": 0.2}""#,
    );
    std::fs::write(dir.join("mlops.yaml"), &config).unwrap();
    std::fs::write(dir.join(".gitignore"), ".mlops/\nmetrics.json\n").unwrap();
    for (i, acc) in ["0.91", "0.92", "0.93"].iter().enumerate() {
        std::fs::write(dir.join("round.txt"), i.to_string()).unwrap();
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", &format!("round {i}")]);
        git(dir, &["push", "-q", "origin", "main"]);
        let out = crate::common::ci_push(dir, "refs/heads/main")
            .env("ACC", acc)
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    git(dir, &["checkout", "-q", "-b", "pr"]);
    let out = mlops_ci(dir)
        .args(["check", "--format", "md"])
        .env("ACC", "0.95")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let md = stdout(&out);
    assert!(md.contains("xychart-beta"), "{md}");
    assert!(md.contains("line [0.9100, 0.9200, 0.9300, 0.9500]"), "{md}");
    assert!(md.contains("▁▃▅█"), "{md}");
}

#[test]
fn the_terminal_report_is_colored_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mlops.yaml"), CONFIG).unwrap();
    let colored = mlops_ci(dir.path())
        .args(["--color", "always", "check"])
        .output()
        .unwrap();
    assert_eq!(code(&colored), 0, "{}", stderr(&colored));
    assert!(
        stderr(&colored).contains("\x1b[32msuccess  \x1b[0m"),
        "{}",
        stderr(&colored)
    );
    assert!(stderr(&colored).contains("\x1b[33mnew\x1b[0m"));
    // `mlops_ci` sets `NO_COLOR`, and stderr is not a terminal.
    let plain = mlops_ci(dir.path()).arg("check").output().unwrap();
    assert!(!stderr(&plain).contains('\x1b'), "{}", stderr(&plain));
}
