//! nektos/act's self-checking workflows, translated to `fixtures/act/<name>/mlops.yaml` (origin,
//! licence and what was left out: `fixtures/act/SOURCE.md`), run by the real `mlops-ci check`
//! in a temp copy; each test asserts the outcome act expects, read back from `run.json`.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::{code, fixtures, mlops_ci, stderr, stdout};

/// One finished `mlops-ci check` of a fixture.
struct Run {
    out: Output,
    record: Value,
    folder: PathBuf,
    workspace: tempfile::TempDir,
}

/// Copies `fixtures/act/<name>/mlops.yaml` into a fresh temp folder (so `.mlops/` never lands
/// in the repository) and runs `mlops-ci check` there. `SHELL` is removed as well: act runs
/// steps in a container where it is unset, and `defaults-run` reads it.
fn check(name: &str) -> Run {
    let workspace = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        fixtures().join("act").join(name).join("mlops.yaml"),
        workspace.path().join("mlops.yaml"),
    )
    .unwrap_or_else(|e| panic!("copy fixture `{name}`: {e}"));
    let out = mlops_ci(workspace.path())
        .env_remove("SHELL")
        .arg("check")
        .output()
        .expect("the mlops-ci binary runs");
    let runs = workspace.path().join(".mlops/runs");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
        .unwrap_or_else(|e| {
            panic!(
                "{name}: no {} ({e}); stderr:\n{}",
                runs.display(),
                stderr(&out)
            )
        })
        .map(|e| e.expect("dir entry").path())
        .collect();
    assert_eq!(dirs.len(), 1, "{name}: one run folder expected: {dirs:?}");
    let folder = dirs.pop().expect("one run");
    let text = std::fs::read_to_string(folder.join("run.json")).expect("run.json");
    let record = serde_json::from_str(&text).expect("run.json is JSON");
    Run {
        out,
        record,
        folder,
        workspace,
    }
}

impl Run {
    fn code(&self) -> i32 {
        code(&self.out)
    }

    /// Everything a failed assertion should show.
    fn why(&self) -> String {
        format!(
            "stderr:\n{}\nrun.json:\n{:#}",
            stderr(&self.out),
            self.record
        )
    }

    fn assert_exit(&self, expected: i32) {
        assert_eq!(self.code(), expected, "exit code; {}", self.why());
    }

    fn stage(&self, name: &str) -> &Value {
        self.record["stages"]
            .as_array()
            .expect("stages")
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no stage `{name}`; {}", self.why()))
    }

    /// `(stage, result)` for every stage, in record order.
    fn stage_results(&self) -> Vec<(String, String)> {
        self.record["stages"]
            .as_array()
            .expect("stages")
            .iter()
            .map(|s| (text(&s["name"]), text(&s["result"])))
            .collect()
    }

    fn steps(&self, stage: &str) -> &[Value] {
        self.stage(stage)["steps"].as_array().expect("steps")
    }

    /// Each step's `outcome/conclusion`, in order.
    fn step_results(&self, stage: &str) -> Vec<String> {
        self.steps(stage)
            .iter()
            .map(|s| format!("{}/{}", text(&s["outcome"]), text(&s["conclusion"])))
            .collect()
    }

    fn step(&self, stage: &str, index: usize) -> &Value {
        self.steps(stage)
            .get(index)
            .unwrap_or_else(|| panic!("no step {index} in `{stage}`; {}", self.why()))
    }

    /// The masked log of one step; a step that printed nothing has none.
    fn log(&self, stage: &str, index: usize) -> String {
        let rel = text(&self.step(stage, index)["log"]);
        if rel.is_empty() {
            return String::new();
        }
        std::fs::read_to_string(self.folder.join(rel)).expect("step log")
    }

    /// A workflow that must pass: exit 0, and every stage and step succeeded or was skipped
    /// on purpose (the callers assert which).
    fn assert_passed(&self) {
        self.assert_exit(0);
        assert_eq!(text(&self.record["result"]), "success", "{}", self.why());
    }

    /// The stage ran every step and all of them succeeded.
    fn assert_all_steps_succeeded(&self, stage: &str, count: usize) {
        assert_eq!(
            self.step_results(stage),
            vec!["success/success"; count],
            "stage `{stage}`; {}",
            self.why()
        );
        assert_eq!(text(&self.stage(stage)["result"]), "success");
    }

    /// The stage failed, and the step that failed it is the one named, with this exit code.
    fn assert_failed_at(&self, stage: &str, index: usize, step_name: &str, exit_code: i64) {
        let s = self.stage(stage);
        assert_eq!(text(&s["result"]), "failure", "{}", self.why());
        let step = self.step(stage, index);
        assert_eq!(text(&step["name"]), step_name, "{}", self.why());
        assert_eq!(text(&step["outcome"]), "failure", "{}", self.why());
        assert_eq!(text(&step["conclusion"]), "failure", "{}", self.why());
        assert_eq!(
            step["exit_code"].as_i64(),
            Some(exit_code),
            "{}",
            self.why()
        );
        let reason = text(&s["reason"]);
        assert!(
            reason.contains(&format!("`{step_name}`")),
            "the stage's reason names the failed step: {reason}"
        );
    }

    fn workspace(&self) -> &Path {
        self.workspace.path()
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]

fn commands() {
    let run = check("commands");
    run.assert_passed();
    run.assert_all_steps_succeeded("build", 10);
    let set_output = run.step("build", 2);
    assert_eq!(text(&set_output["outputs"]["zoo"]), "zar", "{}", run.why());
    let annotations = &run.step("build", 7)["annotations"];
    assert_eq!(annotations[0]["level"], "warning");
    assert_eq!(annotations[0]["message"], "Hello warning!");
    assert_eq!(annotations[1]["level"], "error");
    assert_eq!(annotations[1]["file"], "app.js");
    assert_eq!(annotations[1]["line"], 100);
    assert_eq!(annotations[1]["col"], 30);
}

#[test]
fn defaults_run_workflow_shell_sh() {
    let run = check("defaults-run");
    run.assert_passed();
    run.assert_all_steps_succeeded("without-defaults", 1);
}

#[test]
fn defaults_run_bash_and_working_directory() {
    let run = check("defaults-run-with-defaults");
    run.assert_passed();
    run.assert_all_steps_succeeded("with-defaults", 1);
}

#[test]
fn defaults_run_step_shell_overrides_default() {
    let run = check("defaults-run-override-in-step");
    run.assert_passed();
    run.assert_all_steps_succeeded("override-in-step", 1);
}

#[test]
fn env_and_path() {
    let run = check("env-and-path");
    run.assert_passed();
    run.assert_all_steps_succeeded("build", 13);
}

#[test]
fn environment_files() {
    let run = check("environment-files");
    run.assert_passed();
    run.assert_all_steps_succeeded("build", 17);
    assert_eq!(run.step("build", 13)["outputs"]["KEY"], "value");
    assert_eq!(run.step("build", 15)["outputs"]["KEY2"], "value2");
}

#[test]
fn environment_files_heredoc_is_not_split() {
    let run = check("environment-files-parser-bug");
    run.assert_passed();
    // Both `exit 1` guards must be skipped: `env.test` holds the whole heredoc line.
    assert_eq!(
        run.step_results("_"),
        ["success/success", "skipped/skipped", "skipped/skipped"],
        "{}",
        run.why()
    );
}

#[test]
fn environment_variables_are_case_sensitive() {
    let run = check("environment-variables");
    run.assert_passed();
    run.assert_all_steps_succeeded("test", 2);
}

#[test]
fn evalenv_github_workspace_in_env() {
    let run = check("evalenv");
    run.assert_passed();
    run.assert_all_steps_succeeded("test", 2);
    let dump = run.log("test", 0);
    let expected = format!("{}/build", run.workspace().display());
    assert!(dump.contains(&expected), "{dump}");
}

#[test]
fn fail_fails_in_its_job() {
    let run = check("fail");
    run.assert_exit(1);
    assert_eq!(text(&run.record["result"]), "failure");
    run.assert_failed_at("build", 0, "Run echo ${TEST_ENV} | grep bazooka", 1);
}

#[test]
fn github_env_values_in_env_context() {
    let run = check("GITHUB_ENV-use-in-env-ctx");
    run.assert_passed();
    run.assert_all_steps_succeeded("_", 2);
    // The script's own `[[ a = b ]]` checks pass trivially when both sides are empty, so read
    // the `env` dump too.
    let dump = run.log("_", 1);
    for line in [
        "MYGLOBALENV1=myglobalval1",
        "MYGLOBALENV1ALIAS=myglobalval1",
        "MYGLOBALENV3=myglobalval3",
        "MYGLOBALENV3ALIAS=myglobalval3",
    ] {
        assert!(dump.lines().any(|l| l == line), "{line} in:\n{dump}");
    }
}

#[test]

fn github_env_legacy_set_env_in_env_context() {
    let run = check("GITHUB_ENV-use-in-env-ctx");
    run.assert_passed();
    let dump = run.log("_", 1);
    for line in [
        "MYGLOBALENV2=myglobalval2",
        "MYGLOBALENV2ALIAS=myglobalval2",
    ] {
        assert!(dump.lines().any(|l| l == line), "{line} in:\n{dump}");
    }
}

#[test]
fn if_env_truthiness() {
    let run = check("if-env-act");
    run.assert_passed();
    assert_eq!(
        run.step_results("if_env_test"),
        ["success/success", "skipped/skipped"],
        "{}",
        run.why()
    );
}

#[test]
fn if_expressions_after_a_failed_step() {
    let run = check("if-expressions");
    run.assert_exit(1);
    assert_eq!(
        run.stage_results(),
        pairs(&[("mytest", "failure"), ("next", "skipped")]),
        "{}",
        run.why()
    );
    assert_eq!(
        run.step_results("mytest"),
        [
            "success/success",
            "success/success",
            "failure/failure",
            "skipped/skipped",
            "skipped/skipped",
            "success/success",
        ],
        "{}",
        run.why()
    );
    run.assert_failed_at("mytest", 2, "Run exit 1", 1);
    assert!(run.log("mytest", 5).contains("expected to run"));
    assert!(run.steps("next").is_empty(), "{}", run.why());
}

#[test]
fn job_needs_context_contains_result() {
    let run = check("job-needs-context-contains-result");
    run.assert_passed();
    assert_eq!(
        run.stage_results(),
        pairs(&[("test", "success"), ("assert", "skipped")]),
        "{}",
        run.why()
    );
    assert!(run.steps("assert").is_empty());
}

#[test]
fn job_status_check() {
    let run = check("job-status-check");
    run.assert_exit(1);
    assert_eq!(
        run.stage_results(),
        pairs(&[
            ("fail", "failure"),
            ("suc1", "success"),
            ("suc2", "success"),
            ("next", "skipped"),
        ]),
        "{}",
        run.why()
    );
    run.assert_failed_at("fail", 0, "Run exit 1", 1);
    assert!(
        run.steps("next").is_empty(),
        "`next` never runs: {}",
        run.why()
    );
}

const MASKED: [&str; 2] = ["secret value", "YWJjCg=="];

#[test]
fn mask_values_in_step_logs() {
    let run = check("mask-values");
    run.assert_passed();
    run.assert_all_steps_succeeded("test", 6);
    for index in 0..6 {
        let log = run.log("test", index);
        for value in MASKED {
            assert!(
                !log.contains(value),
                "step {index} log shows `{value}`: {log}"
            );
        }
    }
    // Steps 2, 3 print `secret value`; 5 and 6 print its base64-registered mask.
    for index in [1, 2, 4, 5] {
        assert_eq!(run.log("test", index).trim(), "***", "step {index}");
    }
    let out = stdout(&run.out);
    for value in MASKED {
        assert!(!out.contains(value), "stdout: {out}");
    }
}

#[test]

fn mask_values_in_step_names_after_add_mask() {
    let run = check("mask-values");
    run.assert_passed();
    // Step 1's own header is printed before its `::add-mask::` runs (as in Actions); every
    // later step's must be masked.
    let err = stderr(&run.out);
    let after_first = err
        .split_once("secret value")
        .map_or(err.as_str(), |(_, rest)| rest);
    for value in MASKED {
        assert!(
            !after_first.contains(value),
            "terminal shows `{value}` after it was masked:\n{err}"
        );
    }
    for index in [1, 2, 5] {
        let name = text(&run.step("test", index)["name"]);
        for value in MASKED {
            assert!(!name.contains(value), "step {index} name: {name}");
        }
    }
}

#[test]

fn outputs_through_needs() {
    let run = check("outputs");
    run.assert_passed();
    let outputs = &run.stage("build_output")["outputs"];
    for (name, value) in [
        ("variable_1", "var1"),
        ("variable_2", "var2"),
        ("variable_3", "var3"),
        ("variable_4", "var4"),
    ] {
        assert_eq!(outputs[name], value, "{}", run.why());
    }
    run.assert_all_steps_succeeded("build", 4);
}

#[test]
fn set_env_new_env_file_per_step() {
    let run = check("set-env-new-env-file-per-step");
    run.assert_passed();
    assert_eq!(
        run.step_results("_"),
        [
            "skipped/skipped",
            "success/success",
            "skipped/skipped",
            "success/success",
            "skipped/skipped",
        ],
        "{}",
        run.why()
    );
}

#[test]
fn shells_bash() {
    let run = check("shells-bash");
    run.assert_passed();
    run.assert_all_steps_succeeded("check", 1);
    assert!(run.log("check", 0).starts_with("I'm /"), "{}", run.why());
}

#[test]
fn shells_sh() {
    let run = check("shells-sh");
    run.assert_passed();
    run.assert_all_steps_succeeded("check", 1);
    assert_eq!(run.log("check", 0).trim(), "I'm sh!");
}

#[test]
fn shells_python() {
    let run = check("shells-python");
    run.assert_passed();
    run.assert_all_steps_succeeded("check", 1);
    let version = run.log("check", 0);
    assert!(
        version.trim().starts_with("3."),
        "python version: {version}"
    );
}

#[test]
fn shells_default_is_bash_on_the_host() {
    let run = check("shells-defaults");
    run.assert_passed();
    run.assert_all_steps_succeeded("check", 1);
    assert!(run.log("check", 0).contains("bash!"), "{}", run.why());
}

/// Asserts the `second` step failed with exit 1 and `continue-on-error` made it a success.
fn assert_continued(run: &Run) {
    let second = run.step("check", 1);
    assert_eq!(second["id"], "second");
    assert_eq!(second["outcome"], "failure", "{}", run.why());
    assert_eq!(second["conclusion"], "success", "{}", run.why());
    assert_eq!(second["exit_code"], 1);
}

#[test]
fn steps_context_conclusion() {
    let run = check("steps-context-conclusion");
    run.assert_passed();
    assert_continued(&run);
    assert_eq!(
        run.step_results("check"),
        [
            "success/success",
            "failure/success",
            "success/success",
            "success/success",
        ],
        "{}",
        run.why()
    );
}

#[test]
fn steps_context_outcome() {
    let run = check("steps-context-outcome");
    run.assert_passed();
    assert_continued(&run);
    assert_eq!(
        run.step_results("check"),
        [
            "success/success",
            "failure/success",
            "success/success",
            "success/success",
        ],
        "{}",
        run.why()
    );
    assert_eq!(run.log("check", 3).trim(), "failure");
}

#[test]
fn workdir_defaults_and_relative_step_directory() {
    let run = check("workdir");
    run.assert_passed();
    run.assert_all_steps_succeeded("workdir", 3);
    assert!(run.workspace().join("workdir").is_dir());
}

#[test]
fn workdir_top_level_default() {
    let run = check("workdir-top-level");
    run.assert_passed();
    run.assert_all_steps_succeeded("top-level-workdir", 1);
}
