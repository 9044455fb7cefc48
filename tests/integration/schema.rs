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

/// The README's mlops.yaml reference: one row per key, made from the committed schema, so the
/// README cannot drift from the types. `MLOPS_CI_UPDATE_SCHEMA=1` rewrites it.
#[test]
fn readme_reference_lists_every_key_of_the_schema() {
    const START: &str = "<!-- mlops-yaml-reference:start -->\n";
    const END: &str = "<!-- mlops-yaml-reference:end -->";
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("schema/mlops.schema.json")).unwrap(),
    )
    .unwrap();
    let mut rows = Vec::new();
    reference_rows(&schema, &schema, "", &mut rows);
    let mut table =
        String::from("| key | type | default | what it is |\n| --- | --- | --- | --- |\n");
    for row in rows {
        table.push_str(&row);
        table.push('\n');
    }
    let path = repo().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (Some(start), Some(end)) = (readme.find(START), readme.find(END)) else {
        panic!("README.md has no {START:?} … {END:?} section");
    };
    let current = &readme[start + START.len()..end];
    if std::env::var_os("MLOPS_CI_UPDATE_SCHEMA").is_some() && current != table {
        let updated = format!(
            "{}{table}{}",
            &readme[..start + START.len()],
            &readme[end..]
        );
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        current == table,
        "README.md's mlops.yaml reference is stale: run `MLOPS_CI_UPDATE_SCHEMA=1 cargo test --test integration schema`"
    );
}

fn resolve<'a>(root: &'a serde_json::Value, node: &'a serde_json::Value) -> &'a serde_json::Value {
    match node["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/$defs/");
            resolve(root, &root["$defs"][name])
        }
        None => match node["anyOf"].as_array() {
            // `X or null`: X.
            Some(options) if options.len() == 2 && options[1]["type"] == "null" => {
                resolve(root, &options[0])
            }
            _ => node,
        },
    }
}

fn type_text(root: &serde_json::Value, node: &serde_json::Value) -> String {
    let target = resolve(root, node);
    if let Some(values) = target["enum"].as_array() {
        return values
            .iter()
            .map(|v| format!("`{}`", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(" | ");
    }
    if let Some(options) = target["oneOf"].as_array() {
        return options
            .iter()
            .map(|o| format!("`{}`", o["const"].as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(" | ");
    }
    if let Some(options) = target["anyOf"].as_array() {
        return options
            .iter()
            .map(|o| type_text(root, o))
            .collect::<Vec<_>>()
            .join(" or ");
    }
    match &target["type"] {
        serde_json::Value::String(t) if t == "array" => {
            format!("list of {}", type_text(root, &target["items"]))
        }
        serde_json::Value::String(t) if t == "object" => {
            if target["properties"].is_object() {
                "mapping".to_owned()
            } else {
                format!(
                    "map of {}",
                    type_text(root, &target["additionalProperties"])
                )
            }
        }
        serde_json::Value::String(t) => t.replace("integer", "int"),
        serde_json::Value::Array(types) => {
            let types: Vec<&str> = types
                .iter()
                .filter_map(|t| t.as_str())
                .filter(|t| *t != "null")
                .collect();
            if types == ["array"] {
                format!("list of {}", type_text(root, &target["items"]))
            } else {
                types.join(" or ").replace("integer", "int")
            }
        }
        _ => "any".to_owned(),
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn reference_rows(
    root: &serde_json::Value,
    node: &serde_json::Value,
    prefix: &str,
    rows: &mut Vec<String>,
) {
    let target = resolve(root, node);
    let Some(properties) = target["properties"].as_object() else {
        return;
    };
    let required: Vec<&str> = target["required"]
        .as_array()
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    for (key, property) in properties {
        let path = format!("{prefix}{key}");
        let resolved = resolve(root, property);
        let description = property["description"]
            .as_str()
            .or_else(|| resolved["description"].as_str())
            .unwrap_or_default();
        let default = if required.contains(&key.as_str()) {
            "required".to_owned()
        } else {
            match &property["default"] {
                serde_json::Value::Null | serde_json::Value::Object(_) => String::new(),
                v => format!("`{v}`"),
            }
        };
        rows.push(format!(
            "| `{path}` | {} | {default} | {} |",
            cell(&type_text(root, property)),
            cell(description)
        ));
        // Mappings nest; maps of mappings and lists of mappings get a placeholder segment.
        if resolved["properties"].is_object() {
            reference_rows(root, resolved, &format!("{path}."), rows);
        } else if resolved["type"] == "array" {
            reference_rows(root, &resolved["items"], &format!("{path}[]."), rows);
        } else if resolved["additionalProperties"].is_object() {
            let item = resolve(root, &resolved["additionalProperties"]);
            if item["properties"].is_object() {
                let placeholder = if key == "stages" { "<stage>" } else { "<name>" };
                reference_rows(root, item, &format!("{path}.{placeholder}."), rows);
            }
        }
    }
}
