//! GitHub's cross-language expression vectors (fixtures/expr-kat, MIT, see its SOURCE.md):
//! every case must pass; none is skipped.

use indexmap::IndexMap;
use mlops_ci::expr::{Expr, Scope, Value};

use crate::common::{fixtures, json_eq};

/// Runs one case; `Err` says how it failed.
fn run_case(case: &serde_json::Value) -> Result<(), String> {
    let text = case["expr"].as_str().ok_or("no expr")?;
    let contexts: IndexMap<String, Value> = case["contexts"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), Value::from_json(v)))
                .collect()
        })
        .unwrap_or_default();
    let names: Vec<&str> = contexts.keys().map(String::as_str).collect();
    let outcome = Expr::parse(
        text,
        Scope {
            names: &names,
            functions: &[],
        },
    )
    .and_then(|e| e.eval(&contexts, None));
    match (outcome, case.get("err"), case.get("result")) {
        (Err(e), Some(want), _) => {
            let kind = want["kind"].as_str().unwrap_or_default();
            let message = want["value"].as_str().unwrap_or_default();
            let full = e.to_string();
            if e.kind.as_str() != kind || !full.contains(message) {
                return Err(format!(
                    "want {kind} error containing {message:?}, got {} error {full:?}",
                    e.kind.as_str()
                ));
            }
            Ok(())
        }
        (Err(e), None, _) => Err(format!("unexpected {} error: {e}", e.kind.as_str())),
        (Ok(v), Some(want), _) => Err(format!(
            "want error {want}, got {} {}",
            v.kind(),
            v.to_json()
        )),
        (Ok(v), None, Some(want)) => {
            let kind = want["kind"].as_str().unwrap_or_default();
            if v.kind() != kind || !json_eq(&v.to_json(), &want["value"]) {
                return Err(format!(
                    "want {kind} {}, got {} {}",
                    want["value"],
                    v.kind(),
                    v.to_json()
                ));
            }
            Ok(())
        }
        (Ok(_), None, None) => Err("case has neither result nor err".to_owned()),
    }
}

#[test]
fn all_github_expression_vectors_pass() {
    let dir = fixtures().join("expr-kat");
    let mut total = 0;
    let mut failures = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
    {
        let groups: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (group, cases) in groups.as_object().unwrap() {
            let Some(cases) = cases.as_array() else {
                continue;
            };
            for case in cases {
                total += 1;
                if let Err(why) = run_case(case) {
                    let file = path.file_name().unwrap().to_string_lossy();
                    failures.push(format!(
                        "{file} / {group} / {:?}: {why}",
                        case["expr"].as_str().unwrap_or_default()
                    ));
                }
            }
        }
    }
    assert_eq!(total, 1020, "the suite has 1020 cases");
    assert!(
        failures.is_empty(),
        "{} of {total} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_harness_catches_wrong_answers() {
    let wrong_value =
        serde_json::json!({"expr": "1 == 1", "result": {"kind": "Boolean", "value": false}});
    let wrong_kind = serde_json::json!({"expr": "'1'", "result": {"kind": "Number", "value": 1}});
    let wrong_error =
        serde_json::json!({"expr": "1 <", "err": {"kind": "lexing", "value": "Unexpected"}});
    let missing_error = serde_json::json!({"expr": "1", "err": {"kind": "parsing", "value": "x"}});
    for case in [wrong_value, wrong_kind, wrong_error, missing_error] {
        assert!(run_case(&case).is_err(), "{case}");
    }
    let right = serde_json::json!({"expr": "format('{0}', 1.2e2)", "result": {"kind": "String", "value": "120"}});
    assert_eq!(run_case(&right), Ok(()));
}
