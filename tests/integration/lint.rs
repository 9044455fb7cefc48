//! `mlops-ci lint` over every fixture: the exact output users read, snapshotted.

use crate::common::{code, config_dir, fixtures, run, stderr};

#[test]
fn every_config_error_fixture_points_at_its_mistake() {
    insta::glob!("../../fixtures/config-errors", "*.yaml", |path| {
        let dir = path.parent().unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let out = run(dir, &["lint", "-c", name]);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{name} must be refused:\n{err}");
        assert!(
            err.contains(&format!("--> {name}:")),
            "{name} must name file:line:col:\n{err}"
        );
        assert!(err.contains('^'), "{name} must show a caret:\n{err}");
        assert!(!err.contains("panicked"), "{name}:\n{err}");
        insta::assert_snapshot!(err);
    });
}

#[test]
fn there_are_at_least_thirty_error_fixtures() {
    let count = std::fs::read_dir(fixtures().join("config-errors"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert!(count >= 30, "only {count} fixtures");
}

#[test]
fn valid_fixtures_pass() {
    let dir = fixtures().join("config-valid");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let out = run(&dir, &["lint", "-c", &name]);
        assert_eq!(code(&out), 0, "{name}:\n{}", stderr(&out));
        assert!(stderr(&out).contains("is valid"), "{name}");
    }
}

#[test]
fn all_problems_are_reported_in_one_pass() {
    let dir = config_dir(
        b"version: 2\nstagse: {}\nstages:\n  a:\n    needs: [b]\n    steps:\n      - id: x\n        run: echo\n      - id: x\n        run: echo ${{ oops\n",
    );
    let out = run(dir.path(), &["lint"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 2);
    for expected in [
        "unsupported `version: 2`",
        "unknown key `stagse`",
        "`needs` names unknown stage `b`",
        "duplicate step id `x`",
        "`${{` without a closing `}}`",
        "has 5 problems",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}

#[test]
fn yaml_1_1_words_stay_strings() {
    let dir = fixtures().join("config-valid");
    let loaded = mlops_ci::config::load(&dir.join("norway.yaml"), "norway.yaml").unwrap();
    let env = &loaded.config.stages["on"].steps[0].env;
    let value = |k: &str| {
        env.get(k)
            .or_else(|| loaded.config.env.get(k))
            .map(|t| t.as_str().to_owned())
    };
    for (k, v) in [
        ("A", "yes"),
        ("B", "on"),
        ("C", "3.10"),
        ("D", "0755"),
        ("E", "1e3"),
        ("G", "NO"),
    ] {
        assert_eq!(value(k).as_deref(), Some(v), "env {k}");
    }
    assert_eq!(
        value("F").as_deref(),
        Some("0123456789abcdef0123456789abcdef01234567")
    );
    assert_eq!(loaded.config.name.as_deref(), Some("no"));
}

#[test]
fn anchors_and_aliases_are_read() {
    let dir = fixtures().join("config-valid");
    let loaded = mlops_ci::config::load(&dir.join("anchors.yaml"), "anchors.yaml").unwrap();
    let steps: Vec<_> = loaded
        .config
        .stages
        .values()
        .flat_map(|s| &s.steps)
        .collect();
    let with_env: Vec<_> = steps.iter().filter(|s| !s.env.is_empty()).collect();
    assert!(with_env.len() >= 2);
    assert_eq!(with_env[0].env, with_env[1].env);
}
