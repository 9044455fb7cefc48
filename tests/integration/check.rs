//! `mlops-ci check` running real shells in temp folders: contexts, file and workflow commands,
//! masking, outcomes, timeouts, cancellation and concurrent stages.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{code, config_dir, mlops_ci, run_json, stderr};

fn check(dir: &Path, args: &[&str]) -> std::process::Output {
    mlops_ci(dir).arg("check").args(args).output().unwrap()
}

fn stage<'a>(run: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    run["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

fn step(run: &serde_json::Value, stage_name: &str, index: usize) -> serde_json::Value {
    stage(run, stage_name)["steps"][index].clone()
}

#[test]
fn outputs_env_and_path_flow_between_steps_and_stages() {
    let dir = config_dir(
        br#"version: 1
env: { TOP: top }
stages:
  a:
    env: { LEVEL: stage }
    steps:
      - id: make
        run: |
          mkdir -p bin && printf '#!/bin/sh\necho tool-ran\n' > bin/mytool && chmod +x bin/mytool
          echo "$PWD/bin" >> "$GITHUB_PATH"
          echo "FROM_ENV=set-by-step" >> "$GITHUB_ENV"
          { echo 'multi<<EOF'; echo 'line one'; echo 'line two'; echo 'EOF'; } >> "$GITHUB_OUTPUT"
          echo "simple=42" >> "$GITHUB_OUTPUT"
          echo '### summary' >> "$GITHUB_STEP_SUMMARY"
      - env: { LEVEL: step }
        run: |
          test "$TOP/$LEVEL/$FROM_ENV" = "top/step/set-by-step"
          test "$(mytool)" = tool-ran
          test "${{ steps.make.outputs.simple }}" = 42
          test "${{ env.LEVEL }}" = step
          echo "out=${{ steps.make.outputs.multi }}" | head -1 > /dev/null
    outputs:
      answer: ${{ steps.make.outputs.simple }}
  b:
    needs: [a]
    steps:
      - run: test "${{ needs.a.outputs.answer }}/${{ needs.a.result }}" = 42/success
"#,
    );
    let out = check(dir.path(), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let run = run_json(dir.path());
    assert_eq!(run["result"], "success");
    assert_eq!(step(&run, "a", 0)["outputs"]["multi"], "line one\nline two");
    assert_eq!(step(&run, "a", 0)["summary"], "### summary\n");
    assert_eq!(stage(&run, "a")["outputs"]["answer"], "42");
    assert_eq!(stage(&run, "b")["result"], "success");
}

#[test]
fn continue_on_error_failure_and_skips_follow_actions() {
    let dir = config_dir(
        br#"version: 1
stages:
  a:
    steps:
      - id: soft
        run: exit 3
        continue-on-error: true
      - id: after
        run: echo "soft=${{ steps.soft.outcome }}/${{ steps.soft.conclusion }}"
      - id: hard
        run: exit 1
      - id: skipped
        run: echo never
      - id: cleanup
        if: failure() && steps.hard.outcome == 'failure'
        run: echo cleaning
      - if: always()
        run: echo always
  b:
    needs: [a]
    steps:
      - run: echo never
  c:
    needs: [a]
    if: failure()
    steps:
      - run: echo "a failed, c runs"
"#,
    );
    let out = check(dir.path(), &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let run = run_json(dir.path());
    let soft = step(&run, "a", 0);
    assert_eq!(
        (soft["outcome"].as_str(), soft["conclusion"].as_str()),
        (Some("failure"), Some("success"))
    );
    assert_eq!(soft["exit_code"], 3);
    assert_eq!(step(&run, "a", 1)["conclusion"], "success");
    assert_eq!(step(&run, "a", 2)["error"], "exited with code 1");
    assert_eq!(step(&run, "a", 3)["conclusion"], "skipped");
    assert_eq!(step(&run, "a", 4)["conclusion"], "success");
    assert_eq!(step(&run, "a", 5)["conclusion"], "success");
    assert_eq!(stage(&run, "a")["result"], "failure");
    assert_eq!(stage(&run, "b")["result"], "skipped");
    assert_eq!(
        stage(&run, "b")["reason"],
        "`a`, which it needs, did not succeed"
    );
    assert_eq!(stage(&run, "c")["result"], "success");
    assert!(
        stderr(&out).contains("soft=failure/success"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn secrets_are_masked_in_console_logs_and_record() {
    let secret = "s3cr3t-V4lue/with+symbols=";
    let dir = config_dir(
        br#"version: 1
secrets: [MY_TOKEN]
stages:
  a:
    steps:
      - id: leak
        run: |
          echo "plain $MY_TOKEN"
          printf '%s' "$MY_TOKEN"; echo
          echo "$MY_TOKEN" >&2
          printf '%s' "$MY_TOKEN" | base64 -w0; echo
          printf 'user:%s' "$MY_TOKEN" | base64 -w0; echo
          python3 -c 'import os,sys; t=os.environ["MY_TOKEN"]; sys.stdout.write(t[:8]); sys.stdout.flush(); import time; time.sleep(0.05); print(t[8:])'
          echo "v=$MY_TOKEN" >> "$GITHUB_OUTPUT"
          echo "::add-mask::runtime-mask-value"
          echo "later runtime-mask-value"
          echo "::warning title=$MY_TOKEN::found $MY_TOKEN"
"#,
    );
    let out = mlops_ci(dir.path())
        .arg("check")
        .env("MY_TOKEN", secret)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    let run = run_json(dir.path());
    let record = serde_json::to_string(&run).unwrap();
    let runs = dir.path().join(".mlops/runs");
    let log_dir = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("logs/a");
    let log = std::fs::read_to_string(
        std::fs::read_dir(log_dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap();
    let b64 = |s: &str| {
        let out = Command::new("base64")
            .arg("-w0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        out.stdin.as_ref().unwrap().write_all(s.as_bytes()).unwrap();
        String::from_utf8(out.wait_with_output().unwrap().stdout).unwrap()
    };
    for (place, text) in [("console", &err), ("log", &log), ("run.json", &record)] {
        assert!(!text.contains(secret), "{place} leaks the secret:\n{text}");
        assert!(!text.contains(&b64(secret)), "{place} leaks its base64");
        assert!(
            !text.contains("runtime-mask-value"),
            "{place} leaks an ::add-mask:: value"
        );
    }
    assert!(log.contains("plain ***"), "{log}");
    assert!(log.contains("later ***"), "{log}");
    assert_eq!(step(&run, "a", 0)["outputs"]["v"], "***");
    assert_eq!(step(&run, "a", 0)["annotations"][0]["message"], "found ***");
}

#[test]
fn github_env_cannot_hijack_later_steps() {
    let dir = config_dir(
        br#"version: 1
stages:
  a:
    steps:
      - run: echo "LD_PRELOAD=/tmp/evil.so" >> "$GITHUB_ENV"
      - run: test -z "$LD_PRELOAD"
        if: always()
"#,
    );
    let out = check(dir.path(), &[]);
    assert_eq!(code(&out), 1);
    let run = run_json(dir.path());
    let first = step(&run, "a", 0);
    assert_eq!(first["conclusion"], "failure");
    assert!(
        first["error"]
            .as_str()
            .unwrap()
            .contains("`LD_PRELOAD` cannot be set through `GITHUB_ENV`"),
        "{first}"
    );
    assert_eq!(step(&run, "a", 1)["conclusion"], "success");
}

#[test]
fn shells_and_working_directories() {
    let dir = config_dir(
        br#"version: 1
defaults:
  run:
    working-directory: sub
stages:
  a:
    steps:
      - run: test "$(basename "$PWD")" = sub
      - shell: sh
        run: test "$(basename "$PWD")" = sub
      - shell: python
        run: |
          import os
          assert os.path.basename(os.getcwd()) == "inner", os.getcwd()
        working-directory: sub/inner
      - shell: perl {0}
        run: exit(0);
      - shell: bash
        id: pipefail
        continue-on-error: true
        run: false | true
      - run: false | true
"#,
    );
    std::fs::create_dir_all(dir.path().join("sub/inner")).unwrap();
    let out = check(dir.path(), &[]);
    let run = run_json(dir.path());
    let conclusions: Vec<&str> = (0..6)
        .map(|i| stage(&run, "a")["steps"][i]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        conclusions,
        [
            "success", "success", "success", "success", "failure", "success"
        ],
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let dir = config_dir(
        br"version: 1
stages:
  a:
    steps:
      - timeout-minutes: 0.02
        run: |
          sleep 300 &
          echo $! > bg.pid
          sleep 300
      - run: echo next
",
    );
    let started = Instant::now();
    let out = check(dir.path(), &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let run = run_json(dir.path());
    let first = step(&run, "a", 0);
    assert!(
        first["error"]
            .as_str()
            .unwrap()
            .starts_with("timed out after"),
        "{first}"
    );
    assert_eq!(step(&run, "a", 1)["conclusion"], "skipped");
    let pid = std::fs::read_to_string(dir.path().join("bg.pid")).unwrap();
    // A killed child whose parent is gone may linger as a zombie until init reaps it.
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap_or_default();
    let alive = status
        .lines()
        .any(|l| l.starts_with("State:") && !l.contains("Z (zombie)"));
    assert!(!alive, "the background sleep survived the timeout");
    // Bounded by the SIGINT grace, not by the 300 s sleeps.
    assert!(started.elapsed() < Duration::from_secs(60));
}

fn wait_for(path: &Path) {
    for _ in 0..200 {
        if path.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

#[test]
fn cancellation_twenty_times_leaves_nothing_behind() {
    let dir = config_dir(
        br"version: 1
stages:
  a:
    steps:
      - run: |
          setsid sleep 300 &
          sleep 300 &
          touch started
          sleep 300
      - run: echo never
  b:
    steps:
      - run: touch b-started; sleep 300
",
    );
    for round in 0..20 {
        let _ = std::fs::remove_file(dir.path().join("started"));
        let _ = std::fs::remove_file(dir.path().join("b-started"));
        let mut child = mlops_ci(dir.path()).args(["check", "-q"]).spawn().unwrap();
        wait_for(&dir.path().join("started"));
        wait_for(&dir.path().join("b-started"));
        let pid = child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(1), "round {round}");
        let run = run_json(dir.path());
        assert_eq!(run["result"], "cancelled", "round {round}");
        let id = run["id"].as_str().unwrap().to_owned();
        let left: Vec<String> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                std::fs::read(e.path().join("environ")).is_ok_and(|env| {
                    env.split(|b| *b == 0)
                        .any(|v| v == format!("MLOPS_CI_RUN_ID={id}").as_bytes())
                })
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            left.is_empty(),
            "round {round}: processes left behind: {left:?}"
        );
        assert_eq!(
            step(&run, "a", 0)["conclusion"],
            "cancelled",
            "round {round}"
        );
        assert_eq!(step(&run, "a", 1)["conclusion"], "skipped", "round {round}");
    }
}

#[test]
fn independent_stages_run_at_the_same_time() {
    // Each stage waits for the other's marker: this passes only if both run at once.
    let dir = config_dir(
        br"version: 1
stages:
  a:
    steps:
      - run: touch a.on; for i in $(seq 100); do test -e b.on && exit 0; sleep 0.1; done; exit 1
  b:
    steps:
      - run: touch b.on; for i in $(seq 100); do test -e a.on && exit 0; sleep 0.1; done; exit 1
",
    );
    let out = check(dir.path(), &["--jobs", "2"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn jobs_one_runs_stages_one_at_a_time() {
    let dir = config_dir(
        br"version: 1
stages:
  a:
    steps:
      - run: test ! -e b.on && touch a.on && sleep 0.3 && rm a.on
  b:
    steps:
      - run: test ! -e a.on && touch b.on && sleep 0.3 && rm b.on
",
    );
    let out = check(dir.path(), &["--jobs", "1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn workflow_commands_annotations_debug_and_stop_commands() {
    let dir = config_dir(
        br#"version: 1
stages:
  a:
    steps:
      - run: |
          echo "::error file=train.py,line=12,col=4,title=Shape::bad shape"
          echo "::debug::only with verbose"
          echo "::stop-commands::pause-token-123"
          echo "::add-mask::not-a-mask-while-stopped"
          echo "::pause-token-123::"
          echo "::notice::done"
"#,
    );
    let out = check(dir.path(), &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(!err.contains("only with verbose"), "{err}");
    assert!(
        err.contains("::add-mask::not-a-mask-while-stopped"),
        "stopped commands print as text: {err}"
    );
    assert!(err.contains("error: bad shape (train.py:12)"), "{err}");
    let run = run_json(dir.path());
    let annotations = &step(&run, "a", 0)["annotations"];
    assert_eq!(annotations[0]["level"], "error");
    assert_eq!(annotations[0]["file"], "train.py");
    assert_eq!(annotations[0]["line"], 12);
    assert_eq!(annotations[0]["title"], "Shape");
    assert_eq!(annotations[1]["level"], "notice");
    let verbose = mlops_ci(dir.path()).args(["-v", "check"]).output().unwrap();
    assert!(
        stderr(&verbose).contains("debug: only with verbose"),
        "{}",
        stderr(&verbose)
    );
}

#[test]
fn inside_github_actions_child_commands_are_enveloped() {
    let dir = config_dir(
        br#"version: 1
secrets: [TOK]
stages:
  a:
    steps:
      - run: |
          echo "::set-env name=X::y"
          echo "::warning::from child"
        continue-on-error: true
"#,
    );
    let out = mlops_ci(dir.path())
        .arg("check")
        .env("GITHUB_ACTIONS", "true")
        .env("TOK", "host-secret-value")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let mask = lines
        .iter()
        .position(|l| *l == "::add-mask::host-secret-value")
        .expect("mask registered");
    let stop = lines
        .iter()
        .position(|l| l.starts_with("::stop-commands::"))
        .expect("envelope opened");
    assert!(mask < stop, "masks come before any child output");
    let token = lines[stop].trim_start_matches("::stop-commands::");
    assert!(token.len() >= 16, "unguessable token: {token}");
    let child_line = lines
        .iter()
        .position(|l| *l == "warning: from child")
        .unwrap();
    let resume = lines
        .iter()
        .position(|l| *l == format!("::{token}::"))
        .expect("envelope closed");
    assert!(stop < child_line && child_line < resume, "{err}");
    assert!(
        !lines.iter().any(|l| l.starts_with("::set-env")),
        "a child's command never reaches the host: {err}"
    );
    assert!(
        lines.contains(&"::warning::from child"),
        "re-emitted as our own annotation: {err}"
    );
}

#[test]
fn injection_is_refused_before_anything_runs() {
    let dir = config_dir(
        br#"version: 1
stages:
  a:
    steps:
      - run: echo "${{ github.event.pull_request.title }}"; touch ran
"#,
    );
    let out = check(dir.path(), &[]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("is spliced into a `run:` script"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("ran").exists());
}

#[test]
fn legacy_commands_follow_github_rules() {
    let dir = config_dir(
        br#"version: 1
stages:
  a:
    steps:
      - id: out
        run: echo "::set-output name=v::legacy"
      - run: test "${{ steps.out.outputs.v }}" = legacy
      - id: env
        continue-on-error: true
        run: echo "::set-env name=X::y"
      - run: test -z "$X"
"#,
    );
    let out = check(dir.path(), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let run = run_json(dir.path());
    let env = step(&run, "a", 2);
    assert_eq!(env["outcome"], "failure");
    assert!(
        env["error"]
            .as_str()
            .unwrap()
            .contains("the `set-env` command is disabled"),
        "{env}"
    );
}

#[test]
fn stage_runs_one_stage_and_what_it_needs() {
    let dir = crate::common::config_dir(
        br#"version: 1
stages:
  prepare:
    steps: [{ run: "echo prepared > prepared.txt" }]
  train:
    needs: [prepare]
    steps: [{ run: "echo trained > trained.txt" }]
  other:
    steps: [{ run: "echo other > other.txt" }]
"#,
    );
    let out = crate::common::run(dir.path(), &["check", "--stage", "train"]);
    assert_eq!(
        crate::common::code(&out),
        0,
        "{}",
        crate::common::stderr(&out)
    );
    assert!(dir.path().join("prepared.txt").is_file());
    assert!(dir.path().join("trained.txt").is_file());
    assert!(
        !dir.path().join("other.txt").exists(),
        "other stages do not run"
    );

    let out = crate::common::run(dir.path(), &["check", "--stage", "trainn"]);
    assert_eq!(crate::common::code(&out), 2);
    let err = crate::common::stderr(&out);
    assert!(
        err.contains("`--stage trainn`: no such stage") && err.contains("did you mean `train`?"),
        "{err}"
    );
}

#[test]
fn run_outside_github_actions_says_to_use_check() {
    let dir =
        crate::common::config_dir(b"version: 1\nstages:\n  a:\n    steps: [{ run: 'true' }]\n");
    let out = crate::common::run(dir.path(), &["run"]);
    assert_eq!(crate::common::code(&out), 2);
    let err = crate::common::stderr(&out);
    assert!(err.contains("run `mlops-ci check`"), "{err}");
    assert!(!dir.path().join(".mlops").exists(), "nothing ran");
}
