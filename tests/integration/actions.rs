//! `uses:` steps: composite and Node.js actions from the workspace, and a remote action
//! fetched from a local bare repository standing in for the server.

use std::path::Path;

use crate::common::{code, config_dir, git, mlops_ci, run_json, stderr};

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const COMPOSITE: &str = r#"name: greet
inputs:
  who: { required: true }
  punctuation: { default: "!" }
outputs:
  greeting:
    value: ${{ steps.make.outputs.text }}
runs:
  using: composite
  steps:
    - id: make
      shell: bash
      run: |
        test -f "$GITHUB_ACTION_PATH/action.yml"
        test "$CALLER" = yes
        echo "text=hello ${{ inputs.who }}${{ inputs.punctuation }}" >> "$GITHUB_OUTPUT"
    - shell: bash
      run: echo "inner steps see ${{ steps.make.outputs.text }}"
"#;

#[test]
fn composite_action_with_inputs_outputs_and_its_own_steps() {
    let dir = config_dir(
        br#"version: 1
stages:
  a:
    steps:
      - id: hi
        uses: ./actions/greet
        with: { who: world }
        env: { CALLER: "yes" }
      - run: test "${{ steps.hi.outputs.greeting }}" = "hello world!"
      - id: broken
        uses: ./actions/fail
        continue-on-error: true
      - run: test "${{ steps.broken.outcome }}" = failure
"#,
    );
    write(dir.path(), "actions/greet/action.yml", COMPOSITE);
    write(
        dir.path(),
        "actions/fail/action.yml",
        "runs:\n  using: composite\n  steps:\n    - shell: bash\n      run: exit 4\n",
    );
    let out = mlops_ci(dir.path()).arg("check").output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let run = run_json(dir.path());
    let hi = &run["stages"][0]["steps"][0];
    assert_eq!(hi["outputs"]["greeting"], "hello world!");
    assert_eq!(hi["steps"].as_array().unwrap().len(), 2);
    let broken = &run["stages"][0]["steps"][2];
    assert_eq!(
        (broken["outcome"].as_str(), broken["conclusion"].as_str()),
        (Some("failure"), Some("success"))
    );
    assert!(
        broken["error"]
            .as_str()
            .unwrap()
            .contains("exited with code 4"),
        "{broken}"
    );
}

#[test]
fn node_action_runs_pre_main_and_post_with_inputs_and_state() {
    let dir = config_dir(
        br#"version: 1
stages:
  a:
    steps:
      - id: js
        uses: ./actions/js
        with: { Model Name: iris }
      - run: test "${{ steps.js.outputs.seen }}" = iris && test -e pre.ran && ! test -e post.ran
"#,
    );
    write(
        dir.path(),
        "actions/js/action.yml",
        "inputs:\n  Model Name: { required: true }\nruns:\n  using: node20\n  pre: pre.js\n  main: main.js\n  post: post.js\n",
    );
    let js = |body: &str| format!("const fs = require('fs');\n{body}\n");
    write(
        dir.path(),
        "actions/js/pre.js",
        &js(
            "fs.writeFileSync('pre.ran', ''); fs.appendFileSync(process.env.GITHUB_STATE, 'from_pre=1\\n');",
        ),
    );
    write(
        dir.path(),
        "actions/js/main.js",
        &js(
            "if (process.env.STATE_from_pre !== '1') process.exit(9);\nfs.appendFileSync(process.env.GITHUB_OUTPUT, 'seen=' + process.env['INPUT_MODEL_NAME'] + '\\n');\nfs.appendFileSync(process.env.GITHUB_STATE, 'from_main=2\\n');",
        ),
    );
    write(
        dir.path(),
        "actions/js/post.js",
        &js(
            "if (process.env.STATE_from_main !== '2') process.exit(8);\nfs.writeFileSync('post.ran', '');",
        ),
    );
    let out = mlops_ci(dir.path()).arg("check").output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        dir.path().join("post.ran").exists(),
        "post ran after the stage's steps"
    );
    let run = run_json(dir.path());
    let steps = run["stages"][0]["steps"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["name"], "Post Run ./actions/js");
    assert_eq!(steps.last().unwrap()["conclusion"], "success");
}

#[test]
fn remote_action_is_fetched_from_the_server_once_and_cached() {
    let server = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    write(work.path(), "action.yml", COMPOSITE);
    git(work.path(), &["init", "-q", "-b", "main"]);
    git(work.path(), &["add", "."]);
    git(work.path(), &["commit", "-q", "-m", "v1"]);
    git(work.path(), &["tag", "v1"]);
    std::fs::create_dir_all(server.path().join("acme")).unwrap();
    git(
        server.path().join("acme").as_path(),
        &[
            "clone",
            "-q",
            "--bare",
            work.path().to_str().unwrap(),
            "greet.git",
        ],
    );
    let cache = tempfile::tempdir().unwrap();
    let dir = config_dir(
        br#"version: 1
stages:
  a:
    steps:
      - id: hi
        uses: acme/greet@v1
        with: { who: remote }
        env: { CALLER: "yes" }
      - run: test "${{ steps.hi.outputs.greeting }}" = "hello remote!"
"#,
    );
    let server_url = format!("file://{}", server.path().display());
    for round in 0..2 {
        let out = mlops_ci(dir.path())
            .arg("check")
            .env("GITHUB_SERVER_URL", &server_url)
            .env("MLOPS_CI_ACTIONS_CACHE", cache.path())
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "round {round}: {}", stderr(&out));
        if round == 0 {
            // The second run must not need the server.
            std::fs::remove_dir_all(server.path().join("acme")).unwrap();
        }
    }
    assert!(cache.path().join("acme/greet/v1/action.yml").is_file());
    let missing =
        config_dir(b"version: 1\nstages:\n  a:\n    steps:\n      - uses: acme/nothing@v1\n");
    let out = mlops_ci(missing.path())
        .arg("check")
        .env("GITHUB_SERVER_URL", &server_url)
        .env("MLOPS_CI_ACTIONS_CACHE", cache.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let run = run_json(missing.path());
    assert!(
        run["stages"][0]["steps"][0]["error"]
            .as_str()
            .unwrap()
            .contains("could not fetch `acme/nothing`"),
        "{run}"
    );
}

#[test]
fn a_docker_step_whose_image_cannot_be_had_fails_naming_it() {
    // A registry on a loopback port nobody listens on: the pull fails at once, offline.
    let dir = config_dir(
        b"version: 1\nstages:\n  a:\n    steps:\n      - uses: docker://127.0.0.1:9/none/x:1\n",
    );
    let out = mlops_ci(dir.path()).arg("check").output().unwrap();
    let err = crate::common::stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    let run = run_json(dir.path());
    assert_eq!(run["stages"][0]["steps"][0]["exit_code"], 2, "{run}");
    assert!(
        err.contains("while running the step's container `docker://127.0.0.1:9/none/x:1`"),
        "{err}"
    );
}
