//! Global options and exit codes.

use crate::common::{code, config_dir, fixtures, mlops_ci, repo, run, stderr, stdout};

#[test]
fn version_names_the_commit() {
    let out = run(&repo(), &["--version"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("mlops-ci {} (", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

#[test]
fn exit_codes_zero_and_two() {
    let valid = fixtures().join("config-valid");
    assert_eq!(code(&run(&valid, &["lint", "-c", "minimal.yaml"])), 0);
    assert_eq!(code(&run(&valid, &["lint", "-c", "missing.yaml"])), 2);
    assert_eq!(code(&run(&valid, &["no-such-command"])), 2);
}

#[test]
fn commands_not_built_yet_say_so() {
    for command in ["comment", "release", "init"] {
        let out = run(&repo().join("examples/iris"), &[command]);
        assert_eq!(code(&out), 2, "{command}");
        assert!(
            stderr(&out).contains("is not supported yet"),
            "{command}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn dash_c_dir_acts_elsewhere_and_finds_the_config() {
    let out = run(
        &std::env::temp_dir(),
        &["-C", repo().join("examples/iris").to_str().unwrap(), "lint"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&repo(), &["-C", "no/such/dir", "lint"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("no such directory"));
}

#[test]
fn config_is_searched_up_to_the_repository_root() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::create_dir_all(dir.path().join("src/deep")).unwrap();
    std::fs::write(
        dir.path().join(".mlops.yaml"),
        "version: 1\nstages:\n  a:\n    steps: [{run: echo}]\n",
    )
    .unwrap();
    let out = run(&dir.path().join("src/deep"), &["lint"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::remove_file(dir.path().join(".mlops.yaml")).unwrap();
    let out = run(&dir.path().join("src/deep"), &["lint"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no `mlops.yaml` or `.mlops.yaml`"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let dir = config_dir(b"version: 1\nstagse: {}\n");
    let plain = stderr(&run(dir.path(), &["lint"]));
    assert!(!plain.contains('\u{1b}'), "NO_COLOR set: {plain}");
    let colored = stderr(&run(dir.path(), &["--color", "always", "lint"]));
    assert!(colored.contains('\u{1b}'), "--color always: {colored}");
    let out = mlops_ci(dir.path())
        .args(["--color", "never", "lint"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!stderr(&out).contains('\u{1b}'));
}

#[test]
fn quiet_lint_prints_nothing_on_success() {
    let valid = fixtures().join("config-valid");
    let out = run(&valid, &["-q", "lint", "-c", "minimal.yaml"]);
    assert_eq!(code(&out), 0);
    assert_eq!(stderr(&out), "");
    assert_eq!(stdout(&out), "");
}

#[test]
fn check_refuses_parts_it_cannot_run_yet_before_running_anything() {
    let out = run(&repo().join("examples/iris"), &["check"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("does not support yet"), "{err}");
    assert!(err.contains("stage `package` has an image build"), "{err}");
    assert!(!repo().join("examples/iris/data").exists(), "nothing ran");
}
