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

#[test]
fn plain_scalars_in_string_fields_keep_their_text() {
    let config = mlops_ci::config::load_bytes(
        "mlops.yaml",
        b"version: 1\nname: true\nbaseline: {branch: 0x1F}\nenv: {A: 1, B: .inf, C: ~x}\nstages:\n  a:\n    steps: [{run: echo}]\n",
    )
    .expect("valid");
    assert_eq!(config.name.as_deref(), Some("true"));
    assert_eq!(config.baseline.branch.as_deref(), Some("0x1F"));
    let env: Vec<&str> = config
        .env
        .values()
        .map(mlops_ci::config::model::Template::as_str)
        .collect();
    assert_eq!(env, ["1", ".inf", "~x"]);
}

#[test]
fn null_where_text_is_needed_is_an_error() {
    let err = mlops_ci::config::load_bytes(
        "mlops.yaml",
        b"version: 1\nname: ~\nenv: {C: }\nstages:\n  a:\n    steps: [{run: echo}]\n",
    )
    .expect_err("env value must not be null");
    let text = err.render(false);
    assert!(
        text.contains("`env.C` must be a string; found nothing (null)"),
        "{text}"
    );
}
