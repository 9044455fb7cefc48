//! The contexts expressions read during a run, as a local run first sets them; the runner
//! fills `steps`, `needs`, `stages`, `env` and `job` as it goes.

use indexmap::IndexMap;
use serde_json::{Value as Json, json};

use crate::expr::Value;

/// What a run starts from.
#[derive(Debug, Clone)]
pub struct RunBasics {
    /// The `github` context.
    pub github: Json,
    /// The config's top-level `env`, already interpolated.
    pub env: IndexMap<String, String>,
    /// The secrets' values by name (missing secrets are empty strings, as in Actions).
    pub secrets: IndexMap<String, String>,
    /// `check` or `run`.
    pub mode: &'static str,
    /// `RUNNER_TEMP`.
    pub temp: String,
    /// The baseline's metrics, flattened (the `baseline` context); `None` without a baseline.
    pub baseline: Option<crate::results::Flat>,
}

/// The contexts at the start of a run.
pub fn initial(basics: &RunBasics) -> IndexMap<String, Value> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "X64",
        "aarch64" => "ARM64",
        "x86" => "X86",
        "arm" => "ARM",
        other => other,
    };
    let mut out = IndexMap::new();
    out.insert("github".to_owned(), Value::from_json(&basics.github));
    out.insert("env".to_owned(), strings(&basics.env));
    out.insert("secrets".to_owned(), strings(&basics.secrets));
    out.insert(
        "runner".to_owned(),
        Value::from_json(&json!({
            "os": "Linux",
            "arch": arch,
            "name": "mlops-ci",
            "temp": basics.temp,
            "tool_cache": basics.temp,
            "debug": "",
            "environment": if basics.mode == "run" { "github-hosted" } else { "local" },
        })),
    );
    for name in ["steps", "needs", "stages", "metrics", "inputs", "vars"] {
        out.insert(name.to_owned(), Value::from_json(&json!({})));
    }
    out.insert(
        "baseline".to_owned(),
        basics.baseline.as_ref().map_or(Value::Null, |b| {
            Value::from_json(&serde_json::Value::Object(
                b.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ))
        }),
    );
    out.insert(
        "mlops".to_owned(),
        Value::from_json(&json!({ "mode": basics.mode, "baseline_sha": null })),
    );
    out.insert(
        "job".to_owned(),
        Value::from_json(&json!({ "status": "success" })),
    );
    out
}

/// An object of strings.
pub fn strings(map: &IndexMap<String, String>) -> Value {
    Value::Object(std::rc::Rc::new(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    ))
}
