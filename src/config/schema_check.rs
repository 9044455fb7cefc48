//! Checks a YAML node tree against the JSON Schema generated from the config types, reporting
//! every mismatch with its span: unknown keys (with a did-you-mean), wrong types, missing keys,
//! values outside an enumeration. The schema is the single source of what the file may hold.

use serde_json::{Map, Value};

use super::yaml::{Node, NodeKind, Resolved, Style};
use crate::diagnostic::{Diagnostic, backticked, did_you_mean};

/// Collects the problems of `node` against `schema` (a generated root schema with `$defs`).
pub fn check(node: &Node, schema: &Value) -> Vec<Diagnostic> {
    let mut checker = Checker {
        root: schema,
        out: Vec::new(),
    };
    checker.node(node, schema, &Path::root());
    checker.out
}

/// Where a value sits, as people write it: `stages.train.steps[1].run`.
#[derive(Debug, Clone)]
pub struct Path(String);

impl Path {
    pub fn root() -> Self {
        Self(String::new())
    }

    pub fn key(&self, key: &str) -> Self {
        if self.0.is_empty() {
            Self(key.to_owned())
        } else {
            Self(format!("{}.{key}", self.0))
        }
    }

    pub fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }

    /// `the top level` or `` `stages.train` ``.
    pub fn place(&self) -> String {
        if self.0.is_empty() {
            "the top level".to_owned()
        } else {
            format!("`{}`", self.0)
        }
    }

    pub fn name(&self) -> &str {
        &self.0
    }
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

struct Checker<'s> {
    root: &'s Value,
    out: Vec<Diagnostic>,
}

impl<'s> Checker<'s> {
    fn resolve(&self, mut schema: &'s Value) -> &'s Value {
        for _ in 0..32 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(name) = reference.strip_prefix("#/$defs/") else {
                break;
            };
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn node(&mut self, node: &Node, schema: &'s Value, path: &Path) {
        let schema = self.resolve(schema);
        if let Some(alternatives) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            self.any_of(node, alternatives, path);
            return;
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            self.enumeration(node, values, path);
            return;
        }
        if let Some(constant) = schema.get("const") {
            self.enumeration(node, std::slice::from_ref(constant), path);
            return;
        }
        let types = types_of(schema);
        if !types.is_empty() && !types.iter().any(|t| accepts(t, node)) {
            self.out.push(type_error(node, &types, path));
            return;
        }
        match &node.kind {
            NodeKind::Map(_) => self.mapping(node, schema, path),
            NodeKind::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.node(item, item_schema, &path.index(i));
                    }
                }
            }
            NodeKind::Scalar(_) => self.bounds(node, schema, path),
        }
    }

    fn mapping(&mut self, node: &Node, schema: &'s Value, path: &Path) {
        let NodeKind::Map(entries) = &node.kind else {
            return;
        };
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&EMPTY);
        let additional = schema.get("additionalProperties");
        for entry in entries {
            let child = path.key(&entry.key);
            if let Some(prop) = properties.get(&entry.key) {
                self.node(&entry.value, prop, &child);
            } else if let Some(extra) = additional.filter(|a| a.is_object()) {
                self.node(&entry.value, extra, &child);
            } else if additional == Some(&Value::Bool(false)) {
                let known: Vec<&str> = properties.keys().map(String::as_str).collect();
                let mut d =
                    Diagnostic::error(format!("unknown key `{}` in {}", entry.key, path.place()))
                        .at(entry.key_span, "unknown key");
                d = match did_you_mean(&entry.key, known.iter().copied()) {
                    Some(s) => d.hint(format!("did you mean `{s}`?")),
                    None => d.hint(format!("expected one of {}", backticked(&known))),
                };
                self.out.push(d);
            }
        }
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(key) = required.as_str() else {
                continue;
            };
            if node.entry(key).is_none() {
                let d =
                    Diagnostic::error(format!("missing required key `{key}` in {}", path.place()))
                        .at(node.span, "this mapping needs it")
                        .hint(required_hint(key, properties.get(key)));
                self.out.push(d);
            }
        }
    }

    fn any_of(&mut self, node: &Node, alternatives: &'s [Value], path: &Path) {
        // A documented enum: each variant is its own `const` or `enum` alternative.
        let variants: Option<Vec<Value>> = alternatives
            .iter()
            .map(|a| {
                let a = self.resolve(a);
                a.get("const")
                    .map(|c| vec![c.clone()])
                    .or_else(|| a.get("enum").and_then(Value::as_array).cloned())
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| v.into_iter().flatten().collect());
        if let Some(values) = variants {
            self.enumeration(node, &values, path);
            return;
        }
        let mut best: Option<Vec<Diagnostic>> = None;
        for alternative in alternatives {
            let mut sub = Checker {
                root: self.root,
                out: Vec::new(),
            };
            sub.node(node, alternative, path);
            if sub.out.is_empty() {
                return;
            }
            let alternative = self.resolve(alternative);
            let kind_matches = types_of(alternative).iter().any(|t| accepts(t, node));
            if kind_matches || best.is_none() {
                let replace = best.as_ref().is_none_or(|_| kind_matches);
                if replace {
                    best = Some(sub.out);
                }
            }
        }
        let expected: Vec<&str> = alternatives
            .iter()
            .flat_map(|a| types_of(self.resolve(a)))
            .filter(|t| *t != "null")
            .collect();
        let any_kind_matches = alternatives
            .iter()
            .any(|a| types_of(self.resolve(a)).iter().any(|t| accepts(t, node)));
        match best {
            Some(errors) if any_kind_matches => self.out.extend(errors),
            _ => self.out.push(type_error(node, &expected, path)),
        }
    }

    fn enumeration(&mut self, node: &Node, values: &[Value], path: &Path) {
        let allowed: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        let text = node.as_str().unwrap_or_default();
        if matches!(node.kind, NodeKind::Scalar(_)) && allowed.contains(&text) {
            return;
        }
        let mut d = Diagnostic::error(format!(
            "{} must be one of {}; found {}",
            what(path),
            backticked(&allowed),
            found(node)
        ))
        .at(node.span, "not allowed here");
        if let Some(s) = did_you_mean(text, allowed.iter().copied()).filter(|_| !text.is_empty()) {
            d = d.hint(format!("did you mean `{s}`?"));
        }
        self.out.push(d);
    }

    fn bounds(&mut self, node: &Node, schema: &Value, path: &Path) {
        let NodeKind::Scalar(s) = &node.kind else {
            return;
        };
        #[allow(clippy::cast_precision_loss)]
        let value = match s.resolved {
            Resolved::Int(i) => i as f64,
            Resolved::Float(f) => f,
            _ => return,
        };
        let types = types_of(schema);
        if !types.iter().any(|t| matches!(*t, "number" | "integer")) {
            return;
        }
        if let Some(min) = schema
            .get("minimum")
            .and_then(Value::as_f64)
            .filter(|m| value < *m)
        {
            self.out.push(
                Diagnostic::error(format!(
                    "{} must be {min} or more; found {}",
                    what(path),
                    s.text
                ))
                .at(node.span, "too small"),
            );
        }
        if let Some(max) = schema
            .get("maximum")
            .and_then(Value::as_f64)
            .filter(|m| value > *m)
        {
            self.out.push(
                Diagnostic::error(format!(
                    "{} must be {max} or less; found {}",
                    what(path),
                    s.text
                ))
                .at(node.span, "too large"),
            );
        }
    }
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a node can be read as the JSON type. A plain scalar is text to a string field, as
/// serde-saphyr reads it: `name: 3.10` is the string `3.10`.
fn accepts(json_type: &str, node: &Node) -> bool {
    match (&node.kind, json_type) {
        (NodeKind::Map(_), "object") | (NodeKind::Seq(_), "array") => true,
        (NodeKind::Scalar(s), t) => match (s.resolved, t) {
            (Resolved::Null, "null")
            | (Resolved::Bool(_), "boolean")
            | (Resolved::Int(_), "integer" | "number")
            | (Resolved::Float(_), "number")
            | (Resolved::Str, "string") => true,
            (Resolved::Bool(_) | Resolved::Int(_) | Resolved::Float(_), "string") => {
                s.style == Style::Plain
            }
            _ => false,
        },
        _ => false,
    }
}

fn type_error(node: &Node, expected: &[&str], path: &Path) -> Diagnostic {
    let non_null: Vec<&str> = expected.iter().copied().filter(|t| *t != "null").collect();
    let expected: &[&str] = if non_null.is_empty() {
        expected
    } else {
        &non_null
    };
    let words: Vec<String> = dedup(expected.iter().map(|t| type_word(t)).collect());
    let expected_text = words.join(" or ");
    let mut d = Diagnostic::error(format!(
        "{} must be {expected_text}; found {}",
        what(path),
        found(node)
    ))
    .at(node.span, format!("expected {expected_text}"));
    if let (true, NodeKind::Scalar(s)) = (expected.contains(&"array"), &node.kind) {
        d = d.hint(format!("write a list: `[{}]`", s.text));
    } else if expected.contains(&"integer")
        && matches!(&node.kind, NodeKind::Scalar(s) if s.resolved == Resolved::Str)
    {
        d = d.hint("write a whole number without quotes");
    } else if expected.contains(&"number")
        && matches!(&node.kind, NodeKind::Scalar(s) if s.resolved == Resolved::Str)
    {
        d = d.hint("write a number without quotes");
    } else if expected == ["boolean"] {
        d = d.hint("write `true` or `false`");
    } else if expected.contains(&"object") && matches!(node.kind, NodeKind::Seq(_)) {
        d = d.hint("write `KEY: value` pairs, one per line, not a list");
    } else if expected.contains(&"array") && matches!(node.kind, NodeKind::Map(_)) {
        d = d.hint("start each item with `- `");
    }
    d
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    v.retain(|x| {
        if seen.contains(x) {
            false
        } else {
            seen.push(x.clone());
            true
        }
    });
    v
}

fn type_word(t: &str) -> String {
    match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "`true` or `false`",
        "null" => "empty",
        other => other,
    }
    .to_owned()
}

fn what(path: &Path) -> String {
    if path.name().is_empty() {
        "mlops.yaml".to_owned()
    } else {
        format!("`{}`", path.name())
    }
}

fn found(node: &Node) -> String {
    match &node.kind {
        NodeKind::Scalar(s) if s.resolved != Resolved::Null => {
            format!("{} `{}`", node.describe(), s.text)
        }
        _ => node.describe().to_owned(),
    }
}

fn required_hint(key: &str, schema: Option<&Value>) -> String {
    let about = schema
        .and_then(|s| s.get("description"))
        .and_then(Value::as_str)
        .map(|d| format!(" ({})", d.trim_end_matches('.').to_lowercase()))
        .unwrap_or_default();
    match key {
        "version" => "add `version: 1` at the top of the file".to_owned(),
        "stages" => "add a `stages:` mapping with at least one stage".to_owned(),
        _ => format!("add `{key}:`{about}"),
    }
}
