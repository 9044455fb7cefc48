//! `mlops-ci schema` and the committed copy it must match.

use crate::common::{code, repo, run, stdout};

#[test]
fn committed_schema_is_current() {
    let out = run(&repo(), &["schema"]);
    assert_eq!(code(&out), 0);
    let printed = stdout(&out);
    let path = repo().join("schema/mlops.schema.json");
    if std::env::var_os("MLOPS_CI_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &printed).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == printed,
        "schema/mlops.schema.json is stale: run `MLOPS_CI_UPDATE_SCHEMA=1 cargo test --test integration schema`"
    );
}

#[test]
fn schema_forbids_unknown_keys_and_requires_version() {
    let schema: serde_json::Value =
        serde_json::from_str(&stdout(&run(&repo(), &["schema"]))).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .contains(&"version".into())
    );
    assert_eq!(schema["$defs"]["Stage"]["additionalProperties"], false);
}

#[test]
fn committed_run_record_schema_is_current() {
    let out = run(&repo(), &["schema", "--run"]);
    assert_eq!(code(&out), 0);
    let printed = stdout(&out);
    let path = repo().join("schema/run.schema.json");
    if std::env::var_os("MLOPS_CI_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &printed).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == printed,
        "schema/run.schema.json is stale: run `MLOPS_CI_UPDATE_SCHEMA=1 cargo test --test integration schema`"
    );
    let schema: serde_json::Value = serde_json::from_str(&printed).unwrap();
    for key in ["version", "id", "result", "stages"] {
        assert!(
            schema["required"].as_array().unwrap().contains(&key.into()),
            "{key}"
        );
    }
}
