//! The PR comment, job summary and release notes, rendered from small hand-built records and
//! compared with the real `compare` functions' output.

use std::fmt::Write as _;

use indexmap::IndexMap;
use mlops_ci::compare::{
    Comparison, compare_metrics, directions, evaluate_gates, params_diff, text_diff,
};
use mlops_ci::config::model::{Gate, Report, Show};
use mlops_ci::report::input::{LogTail, ParamsFileDiff, ReportInput, Trend, TrendPoint};
use mlops_ci::report::render::{
    COMMENT_LIMIT, render_comment, render_comment_masked, render_release_notes, render_summary,
};
use mlops_ci::results::{
    BaselineUsed, Flat, GitInfo, Outcome, RUN_RECORD_VERSION, RunRecord, StageRecord, StepRecord,
};
use serde_json::{Value, json};

const RUN_URL: &str = "https://github.com/acme/iris/actions/runs/42";

fn flat(v: &Value) -> Flat {
    v.as_object()
        .expect("an object")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn gates(v: &Value) -> Vec<Gate> {
    serde_json::from_value(v.clone()).expect("gates parse")
}

fn step(name: &str, conclusion: Outcome, duration_ms: u64) -> StepRecord {
    StepRecord {
        name: name.to_owned(),
        id: None,
        outcome: conclusion,
        conclusion,
        exit_code: match conclusion {
            Outcome::Success => Some(0),
            Outcome::Failure => Some(1),
            _ => None,
        },
        duration_ms,
        error: None,
        log: Some(format!("logs/{name}.log")),
        outputs: IndexMap::new(),
        annotations: Vec::new(),
        summary: None,
        steps: Vec::new(),
    }
}

fn stage(name: &str, result: Outcome, duration_ms: u64, steps: Vec<StepRecord>) -> StageRecord {
    StageRecord {
        name: name.to_owned(),
        result,
        reason: None,
        duration_ms,
        steps,
        outputs: IndexMap::new(),
        metrics: IndexMap::new(),
        gates: Vec::new(),
        image: None,
        data: Vec::new(),
    }
}

/// A run of `prepare` then `train`, which wrote `current` to `metrics.json`.
fn record(current: &Value, baseline: Option<&Value>) -> RunRecord {
    let mut train = stage(
        "train",
        Outcome::Success,
        83_400,
        vec![step("Train model", Outcome::Success, 83_100)],
    );
    train
        .metrics
        .insert("metrics.json".to_owned(), flat(current));
    RunRecord {
        version: RUN_RECORD_VERSION,
        id: "run-7".to_owned(),
        mode: "run".to_owned(),
        event: "pull_request".to_owned(),
        git: GitInfo {
            sha: "3f9c2a1d0b8e7f6a5c4d3e2f1a0b9c8d7e6f5a4b".to_owned(),
            git_ref: "refs/pull/12/merge".to_owned(),
        },
        started_at: "2026-01-01T00:00:00Z".to_owned(),
        duration_ms: 95_000,
        result: Outcome::Success,
        baseline: baseline.map(|b| BaselineUsed {
            branch: "main".to_owned(),
            sha: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678".to_owned(),
            source: "notes".to_owned(),
            distance: 1,
            metrics: [("metrics.json".to_owned(), flat(b))].into_iter().collect(),
            params: IndexMap::new(),
        }),
        params: IndexMap::new(),
        stages: vec![
            stage(
                "prepare",
                Outcome::Success,
                4_200,
                vec![step("Download data", Outcome::Success, 4_100)],
            ),
            train,
        ],
    }
}

/// A report the way `publish` builds one: the comparison from the real `compare` functions.
fn input(current: &Value, baseline: Option<&Value>, gate_spec: &Value, show: Show) -> ReportInput {
    let gate_list = gates(gate_spec);
    let cur = flat(current);
    let base = baseline.map(flat);
    let comparison = Comparison {
        metrics: compare_metrics(&cur, base.as_ref(), &directions(&gate_list)),
        gates: evaluate_gates(&gate_list, &cur, base.as_ref(), "main"),
        has_baseline: base.is_some(),
    };
    let mut run = record(current, baseline);
    if !comparison.passed() {
        run.result = Outcome::Failure;
    }
    let settings = Report {
        show,
        precision: 4,
        ..Report::default()
    };
    let mut input = ReportInput::new("iris-classifier", settings, run, comparison);
    "main".clone_into(&mut input.baseline_name);
    input.run_url = Some(RUN_URL.to_owned());
    input
}

fn standard_gates() -> Value {
    json!([
        {"metric": "accuracy", "min": 0.8, "regression": "2%"},
        {"metric": "loss", "better": "lower", "regression": 0.05}
    ])
}

fn comment(input: &ReportInput) -> String {
    render_comment(input, None).expect("the built-in template renders")
}

#[test]
fn first_run_without_a_baseline() {
    let input = input(
        &json!({"accuracy": 0.91, "loss": 0.31, "epochs": 20}),
        None,
        &standard_gates(),
        Show::Changed,
    );
    let text = comment(&input);
    assert!(text.starts_with("<!-- mlops-ci:report name=iris-classifier -->\n"));
    insta::assert_snapshot!(text);
}

#[test]
fn improvement_with_trend() {
    let mut input = input(
        &json!({"accuracy": 0.9312, "loss": 0.2481, "epochs": 20}),
        Some(&json!({"accuracy": 0.9125, "loss": 0.2734, "epochs": 20})),
        &standard_gates(),
        Show::Changed,
    );
    input.trends = vec![
        Trend {
            metric: "accuracy".to_owned(),
            points: [("c0ffee1", 0.88), ("d00d2b3", 0.895), ("e1e1e15", 0.9125)]
                .iter()
                .map(|(label, value)| TrendPoint {
                    label: (*label).to_owned(),
                    value: *value,
                })
                .collect(),
        },
        Trend {
            metric: "loss".to_owned(),
            points: [("c0ffee1", 0.31), ("d00d2b3", 0.29), ("e1e1e15", 0.2734)]
                .iter()
                .map(|(label, value)| TrendPoint {
                    label: (*label).to_owned(),
                    value: *value,
                })
                .collect(),
        },
    ];
    let text = comment(&input);
    assert!(text.contains("```mermaid\nxychart-beta\n"), "{text}");
    assert!(text.contains("| 🟢 improved | ▁▃▅█ |"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn regression_beyond_tolerance_fails_the_gate() {
    let input = input(
        &json!({"accuracy": 0.87, "loss": 0.29}),
        Some(&json!({"accuracy": 0.93, "loss": 0.27})),
        &standard_gates(),
        Show::Changed,
    );
    assert!(!input.comparison.passed());
    let text = comment(&input);
    assert!(text.contains("## ❌ iris-classifier failed"), "{text}");
    assert!(text.contains("🔴 regressed"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn new_and_removed_metrics() {
    let input = input(
        &json!({"accuracy": 0.93, "f1.macro": 0.91, "confusion.labels": "setosa,versicolor"}),
        Some(&json!({"accuracy": 0.93, "precision": 0.92, "confusion.labels": "setosa"})),
        &json!([{"metric": "accuracy", "min": 0.8}]),
        Show::Changed,
    );
    let text = comment(&input);
    assert!(
        text.contains("🆕 new") && text.contains("➖ removed"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

fn failed_step_input() -> ReportInput {
    let mut input = input(
        &json!({"accuracy": 0.93}),
        Some(&json!({"accuracy": 0.93})),
        &json!([]),
        Show::Changed,
    );
    let evaluate = stage(
        "evaluate",
        Outcome::Failure,
        2_300,
        vec![
            step("Load model", Outcome::Success, 800),
            step("Score test set", Outcome::Failure, 1_500),
        ],
    );
    input.run.stages.push(evaluate);
    let mut publish = stage("publish", Outcome::Skipped, 0, Vec::new());
    publish.reason = Some("`evaluate` failed".to_owned());
    input.run.stages.push(publish);
    input.run.result = Outcome::Failure;
    input.log_tails = vec![LogTail {
        stage: "evaluate".to_owned(),
        step: "Score test set".to_owned(),
        lines: vec![
            "Traceback (most recent call last):".to_owned(),
            "  File \"evaluate.py\", line 12, in <module>".to_owned(),
            "    score = model.score(X, y, token=\"***\")".to_owned(),
            "ValueError: X has 5 features, but the model expects 4 (see ```shape```)".to_owned(),
        ],
        truncated: true,
    }];
    input
}

#[test]
fn failed_step_with_its_log_tail() {
    let input = failed_step_input();
    let text = comment(&input);
    assert!(text.contains("<details><summary>❌ Last 4 lines"), "{text}");
    assert!(
        text.contains("````text\n"),
        "a fence longer than the log's backticks: {text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn step_summary_lists_every_step() {
    let input = failed_step_input();
    let text = render_summary(&input, None).unwrap();
    assert!(!text.contains("<!-- mlops-ci:report"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn release_notes() {
    let input = input(
        &json!({"accuracy": 0.9312, "loss": 0.2481}),
        Some(&json!({"accuracy": 0.9125, "loss": 0.2734})),
        &standard_gates(),
        Show::All,
    );
    insta::assert_snapshot!(render_release_notes(&input, None).unwrap());
}

fn oversized_input() -> ReportInput {
    let mut current = serde_json::Map::new();
    let mut base = serde_json::Map::new();
    for i in 0..3000 {
        current.insert(
            format!("per_class.class_{i:04}.f1"),
            json!(0.5 + f64::from(i) * 1e-4),
        );
        base.insert(format!("per_class.class_{i:04}.f1"), json!(0.5));
    }
    let mut input = input(
        &Value::Object(current),
        Some(&Value::Object(base)),
        &json!([]),
        Show::Changed,
    );
    let old = "lr: 0.1\n";
    let new: String = (0..400).fold(String::new(), |mut text, i| {
        let _ = writeln!(text, "layer_{i}: {i}");
        text
    });
    input.params = vec![ParamsFileDiff {
        file: "params.yaml".to_owned(),
        changes: params_diff(&flat(&json!({"lr": 0.1})), &flat(&json!({"lr": 0.01}))),
        text_diff: text_diff("params.yaml", old, &new),
    }];
    input.log_tails = vec![LogTail {
        stage: "train".to_owned(),
        step: "Train model".to_owned(),
        lines: (0..200)
            .map(|i| format!("epoch {i}: loss 0.{i:03}"))
            .collect(),
        truncated: true,
    }];
    input
}

#[test]
fn oversized_report_is_cut_to_the_comment_limit() {
    let input = oversized_input();
    let text = comment(&input);
    let chars = text.chars().count();
    assert!(chars <= COMMENT_LIMIT, "{chars} characters");
    assert!(text.starts_with("<!-- mlops-ci:report name=iris-classifier -->\n"));
    let note = format!(
        "> ⚠️ **Report truncated** to fit GitHub's 65,536-character limit for comments: the full \
         report is in the [job summary]({RUN_URL}).\n"
    );
    assert!(text.ends_with(&note), "{}", &text[text.len() - 400..]);
    // Detail went first: no log, no params text diff.
    assert!(!text.contains("epoch 199"));
    assert!(!text.contains("Diff of <code>params.yaml"));
    // The summary's limit is larger: it keeps everything.
    let summary = render_summary(&input, None).unwrap();
    assert!(summary.contains("epoch 199") && summary.contains("class_2999"));
    assert!(summary.len() <= 1024 * 1024);
    // The head and the tail of the cut comment.
    let lines: Vec<&str> = text.lines().collect();
    let shown = format!(
        "{}\n[… {} lines …]\n{}",
        lines[..24].join("\n"),
        lines.len() - 30,
        lines[lines.len() - 6..].join("\n")
    );
    insta::assert_snapshot!(shown);
}

#[test]
fn oversized_report_drops_logs_before_cutting() {
    let mut input = oversized_input();
    // Few enough metrics to fit once the log and the params diff are gone.
    input.comparison.metrics.truncate(300);
    input.log_tails[0].lines = (0..3000)
        .map(|i| format!("epoch {i}: loss 0.{i:04}"))
        .collect();
    let text = comment(&input);
    assert!(text.chars().count() <= COMMENT_LIMIT);
    assert!(
        !text.contains("Report truncated"),
        "nothing cut once detail is gone"
    );
    assert!(!text.contains("epoch 2999"));
    assert!(
        text.contains("left out to fit GitHub's size limit: failed step logs"),
        "{}",
        &text[text.len() - 600..]
    );
}

#[test]
fn show_all_lists_unchanged_metrics() {
    let current = json!({"accuracy": 0.95, "loss": 0.25, "epochs": 20, "batch": 32});
    let baseline = json!({"accuracy": 0.93, "loss": 0.25, "epochs": 20, "batch": 32});
    let changed = comment(&input(
        &current,
        Some(&baseline),
        &standard_gates(),
        Show::Changed,
    ));
    let all = comment(&input(
        &current,
        Some(&baseline),
        &standard_gates(),
        Show::All,
    ));
    assert!(!changed.contains("`epochs`") && all.contains("`epochs`"));
    assert!(
        changed.contains("3 unchanged metrics not shown"),
        "{changed}"
    );
    insta::assert_snapshot!("show_changed", changed);
    insta::assert_snapshot!("show_all", all);
}

#[test]
fn precision_is_respected() {
    let mut input = input(
        &json!({"accuracy": 0.931_25}),
        Some(&json!({"accuracy": 0.912_5})),
        &json!([]),
        Show::Changed,
    );
    input.settings.precision = 2;
    let text = comment(&input);
    assert!(
        text.contains("| `accuracy` ↑ | 0.91 | 0.93 | +0.02 | +2.05% |"),
        "{text}"
    );
}

const USER_TEMPLATE: &str = r#"{% import "macros.md.j2" as r %}
# {{ headline.icon }} {{ name }}: {{ metrics.improved }} improved, {{ metrics.regressed }} regressed
{% for m in metrics.rows %}
- {{ m.key }}: {{ m.baseline }} → {{ m.current }} ({{ m.change_pct }}) {{ m.marker }}
{% endfor %}
{{ r.gates(gates) -}}
[run]({{ run.url }})
"#;

#[test]
fn user_template_override() {
    let mut input = input(
        &json!({"accuracy": 0.9312, "loss": 0.2481}),
        Some(&json!({"accuracy": 0.9125, "loss": 0.2734})),
        &standard_gates(),
        Show::Changed,
    );
    input.settings.template = Some(".github/mlops-comment.md.j2".to_owned());
    let text = render_comment(&input, Some(USER_TEMPLATE)).unwrap();
    insta::assert_snapshot!(text);
}

#[test]
fn broken_user_template_says_where() {
    let mut input = input(&json!({"accuracy": 0.9}), None, &json!([]), Show::Changed);
    input.settings.template = Some(".github/mlops-comment.md.j2".to_owned());
    let syntax = "# {{ name }}\n{% for m in metrics.rows %}\n- {{ m.key }\n{% endfor %}\n";
    let err = render_comment(&input, Some(syntax)).unwrap_err();
    assert_eq!(err.file, ".github/mlops-comment.md.j2");
    assert_eq!(err.line, Some(3));
    let undefined = "# {{ name }}\n\n{{ metrics.nope }}\n";
    let err2 = render_comment(&input, Some(undefined)).unwrap_err();
    assert_eq!(err2.line, Some(3));
    let runaway =
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    let err3 = render_comment(&input, Some(runaway)).unwrap_err();
    insta::assert_snapshot!(format!("{err}\n\n{err2}\n\n{err3}"));
}

#[test]
fn masking_comes_before_the_cut() {
    const SECRET: &str = "hunter2-very-secret-value";
    let mut input = oversized_input();
    for tail in &mut input.log_tails {
        for line in &mut tail.lines {
            *line = format!("{line} token={SECRET}");
        }
    }
    input.params[0].text_diff = input.params[0]
        .text_diff
        .as_ref()
        .map(|d| d.replace("layer_", &format!("{SECRET}_")));
    let mask = |text: &str| text.replace(SECRET, "***");
    let text = render_comment_masked(&input, None, &mask).unwrap();
    assert!(text.chars().count() <= COMMENT_LIMIT);
    assert!(!text.contains("hunter2"), "no part of the secret survives");
}

#[test]
fn images_are_named_by_digest_once_pushed() {
    let mut input = input(&json!({"accuracy": 0.91}), None, &json!([]), Show::All);
    input.run.stages[0].image = Some(mlops_ci::results::ImageRecord {
        name: "ghcr.io/acme/iris".to_owned(),
        tags: vec!["main".to_owned(), "sha-3f9c2a1".to_owned()],
        id: Some("sha256:1111".to_owned()),
        digest: Some("sha256:2222".to_owned()),
        pushed: true,
        promoted: false,
    });
    input.run.stages[1].image = Some(mlops_ci::results::ImageRecord {
        name: "ghcr.io/acme/iris".to_owned(),
        tags: vec!["pr-7".to_owned()],
        ..Default::default()
    });
    let text = comment(&input);
    assert!(
        text.contains(
            "### Images\n\n- `ghcr.io/acme/iris@sha256:2222`, tagged `main`, `sha-3f9c2a1`\n\
             - `ghcr.io/acme/iris`, tagged `pr-7` (built, not pushed)\n"
        ),
        "{text}"
    );
    assert!(
        render_summary(&input, None)
            .unwrap()
            .contains("@sha256:2222")
    );
}
