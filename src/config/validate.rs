//! Checks that need more than the types: `needs` naming real stages and forming no cycle,
//! unique step ids, steps and stages with something to do, `${{` closed, sound `if:` values,
//! gates that say what they check. Runs on the node tree so every problem has its span, and
//! tolerates what the schema check already reported.

use std::collections::HashMap;

use serde_json::Value;

use super::model::Regression;
use super::yaml::{Node, NodeKind, Resolved};
use crate::diagnostic::{Diagnostic, Span, backticked, did_you_mean};
use crate::expr::interpolate::has_expressions;
use crate::expr::{
    BUILTINS, CONTEXT_NAMES, Condition, ExprError, RUN_FUNCTIONS, Template, run_scope,
};

const KNOWN_SHELLS: [&str; 4] = ["bash", "sh", "python", "pwsh"];
/// Stage keys that give a stage something to do.
const STAGE_WORK: [&str; 5] = ["data", "steps", "metrics", "gates", "image"];

pub fn check(root: &Node, schema: &Value, text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some(v) = root.get("version") {
        if let NodeKind::Scalar(s) = &v.kind {
            if matches!(s.resolved, Resolved::Int(n) if n != 1) {
                out.push(
                    Diagnostic::error(format!("unsupported `version: {}`", s.text))
                        .at(v.span, "only version 1 exists")
                        .hint("write `version: 1`; a newer mlops-ci may read newer versions"),
                );
            }
        }
    }
    names(root.get("secrets"), "secret", &mut out);
    env_names(root.get("env"), &mut out);
    if let Some(stages) = root.get("stages") {
        stages_check(stages, schema, &mut out);
    }
    expressions(root, "", text, &mut out);
    out
}

fn entries(node: Option<&Node>) -> &[super::yaml::Entry] {
    match node.map(|n| &n.kind) {
        Some(NodeKind::Map(entries)) => entries,
        _ => &[],
    }
}

fn items(node: Option<&Node>) -> &[Node] {
    match node.map(|n| &n.kind) {
        Some(NodeKind::Seq(items)) => items,
        _ => &[],
    }
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn names(node: Option<&Node>, what: &str, out: &mut Vec<Diagnostic>) {
    for item in items(node) {
        if let Some(name) = item.as_str().filter(|n| !is_env_name(n)) {
            out.push(
                Diagnostic::error(format!("`{name}` is not a valid {what} name"))
                    .at(item.span, "not an environment variable name")
                    .hint("use letters, digits and `_`, not starting with a digit"),
            );
        }
    }
}

fn env_names(node: Option<&Node>, out: &mut Vec<Diagnostic>) {
    for entry in entries(node) {
        if !is_env_name(&entry.key) {
            out.push(
                Diagnostic::error(format!(
                    "`{}` is not a valid environment variable name",
                    entry.key
                ))
                .at(entry.key_span, "invalid name")
                .hint("use letters, digits and `_`, not starting with a digit"),
            );
        }
    }
}

fn stages_check(stages: &Node, schema: &Value, out: &mut Vec<Diagnostic>) {
    let list = entries(Some(stages));
    let stage_names: Vec<&str> = list.iter().map(|e| e.key.as_str()).collect();
    let stage_keys: Vec<&str> = schema
        .pointer("/$defs/Stage/properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut graph: Vec<Vec<(usize, Span)>> = vec![Vec::new(); list.len()];
    for (i, stage) in list.iter().enumerate() {
        let node = &stage.value;
        for need in items(node.get("needs")) {
            let Some(name) = need.as_str() else { continue };
            if name == stage.key {
                out.push(
                    Diagnostic::error(format!("stage `{name}` needs itself"))
                        .at(need.span, "a stage cannot wait for itself")
                        .hint("remove it from `needs`"),
                );
            } else if let Some(j) = stage_names.iter().position(|s| *s == name) {
                graph[i].push((j, need.span));
            } else {
                let d = Diagnostic::error(format!("`needs` names unknown stage `{name}`"))
                    .at(need.span, "no such stage");
                out.push(match did_you_mean(name, stage_names.iter().copied()) {
                    Some(s) => d.hint(format!("did you mean `{s}`?")),
                    None => d.hint(format!("the stages are {}", backticked(&stage_names))),
                });
            }
        }
        let NodeKind::Map(keys) = &node.kind else {
            continue;
        };
        let has_unknown = keys.iter().any(|e| !stage_keys.contains(&e.key.as_str()));
        let has_work = STAGE_WORK
            .iter()
            .any(|k| match node.get(k).map(|n| &n.kind) {
                Some(NodeKind::Seq(v)) => !v.is_empty(),
                Some(NodeKind::Map(_)) => true,
                Some(NodeKind::Scalar(s)) => s.resolved != Resolved::Null,
                None => false,
            });
        if !has_work && !has_unknown {
            out.push(
                Diagnostic::error(format!("stage `{}` has nothing to do", stage.key))
                    .at(
                        stage.key_span,
                        "no steps, data checks, metrics, gates or image",
                    )
                    .hint("add `steps:` with a `run:`, or remove the stage"),
            );
        }
        timeout(node, out);
        steps_check(node, out);
        gates_check(node, out);
        data_check(node, out);
    }
    cycles(&stage_names, &graph, out);
}

fn timeout(node: &Node, out: &mut Vec<Diagnostic>) {
    if let Some(t) = node.get("timeout-minutes") {
        if let NodeKind::Scalar(s) = &t.kind {
            let value = match s.resolved {
                #[allow(clippy::cast_precision_loss)]
                Resolved::Int(i) => i as f64,
                Resolved::Float(f) => f,
                _ => return,
            };
            if value.is_nan() || value <= 0.0 {
                out.push(
                    Diagnostic::error(format!(
                        "`timeout-minutes` must be more than 0; found {}",
                        s.text
                    ))
                    .at(t.span, "not a time limit")
                    .hint("write the limit in minutes, such as `timeout-minutes: 30` or `0.5`"),
                );
            }
        }
    }
}

fn steps_check(stage: &Node, out: &mut Vec<Diagnostic>) {
    let mut ids: HashMap<&str, Span> = HashMap::new();
    for step in items(stage.get("steps")) {
        if !matches!(step.kind, NodeKind::Map(_)) {
            continue;
        }
        if let Some(id) = step.get("id") {
            if let Some(name) = id.as_str() {
                if let Some(first) = ids.get(name) {
                    out.push(
                        Diagnostic::error(format!("duplicate step id `{name}`"))
                            .at(id.span, "used again here")
                            .also(*first, "first used here")
                            .hint("step ids must be unique within a stage: rename one"),
                    );
                } else {
                    ids.insert(name, id.span);
                }
            }
        }
        match (step.entry("run"), step.entry("uses")) {
            (None, None) => out.push(
                Diagnostic::error("step has neither `run` nor `uses`")
                    .at(step.span, "this step does nothing")
                    .hint("add `run:` with a command, or `uses:` with an action"),
            ),
            (Some(_), Some(uses)) => out.push(
                Diagnostic::error("step has both `run` and `uses`")
                    .at(uses.key_span, "remove this or `run`")
                    .hint("split it into two steps"),
            ),
            _ => {}
        }
        if let Some(shell) = step.get("shell") {
            shell_check(shell, out);
        }
        timeout(step, out);
    }
}

fn shell_check(shell: &Node, out: &mut Vec<Diagnostic>) {
    let Some(name) = shell.as_str() else { return };
    if KNOWN_SHELLS.contains(&name) || name.contains("{0}") {
        return;
    }
    let d =
        Diagnostic::error(format!("unknown shell `{name}`")).at(shell.span, "not a known shell");
    out.push(match did_you_mean(name, KNOWN_SHELLS) {
        Some(s) => d.hint(format!("did you mean `{s}`? A custom shell is a command with `{{0}}`, such as `perl {{0}}`")),
        None => d.hint("use `bash`, `sh`, `python`, `pwsh`, or a command with `{0}` for the script, such as `perl {0}`"),
    });
}

fn gates_check(stage: &Node, out: &mut Vec<Diagnostic>) {
    for gate in items(stage.get("gates")) {
        if !matches!(gate.kind, NodeKind::Map(_)) {
            continue;
        }
        let has = |k: &str| gate.entry(k).is_some();
        if !has("metric") && !has("if") {
            out.push(
                Diagnostic::error("gate checks nothing: it has neither `metric` nor `if`")
                    .at(gate.span, "this gate")
                    .hint("add `metric:` with `min`, `max` or `regression`, or an `if:` condition"),
            );
        } else if has("metric") && !has("min") && !has("max") && !has("regression") && !has("if") {
            out.push(
                Diagnostic::error("gate names a metric but no bound")
                    .at(gate.span, "this gate")
                    .hint("add `min:`, `max:` or `regression:`"),
            );
        }
        if let Some(r) = gate.get("regression") {
            if let NodeKind::Scalar(s) = &r.kind {
                if s.resolved == Resolved::Str && Regression::parse(&s.text).is_none() {
                    out.push(
                        Diagnostic::error(format!("`regression` must be a number or a percentage; found `{}`", s.text))
                            .at(r.span, "not an amount")
                            .hint("write an absolute amount such as `0.01`, or a relative one such as `\"2%\"`"),
                    );
                }
            }
        }
    }
}

/// Each `data:` column's regex compiles, and a text bound belongs to a date column and parses.
fn data_check(stage: &Node, out: &mut Vec<Diagnostic>) {
    for check in items(stage.get("data")) {
        if let Some(profile) = check.get("profile") {
            let off =
                matches!(&profile.kind, NodeKind::Scalar(s) if s.resolved == Resolved::Bool(false));
            let drift = check.get("drift").is_some()
                || entries(check.get("columns"))
                    .iter()
                    .any(|c| c.value.get("drift").is_some());
            if off && drift {
                out.push(
                    Diagnostic::error("`profile: false` leaves no profile for `drift` to compare")
                        .at(profile.span, "no profile kept")
                        .hint("remove `profile: false`, or remove the file's and its columns' `drift:`"),
                );
            }
        }
        for column in entries(check.get("columns")) {
            let rule = &column.value;
            if let Some(re) = rule.get("regex") {
                if let Some(text) = re.as_str() {
                    if let Err(e) = regex::Regex::new(text) {
                        let why = e.to_string();
                        let last = why.lines().last().unwrap_or_default().trim().to_owned();
                        out.push(
                            Diagnostic::error(format!(
                                "the `regex` of column `{}` does not compile",
                                column.key
                            ))
                            .at(re.span, last)
                            .hint("write a regular expression in Rust's `regex` syntax, such as `^[a-z]+$`"),
                        );
                    }
                }
            }
            let kind = rule.get("type").and_then(Node::as_str);
            for key in ["min", "max"] {
                let Some(bound) = rule.get(key) else { continue };
                let NodeKind::Scalar(s) = &bound.kind else {
                    continue;
                };
                if s.resolved != Resolved::Str {
                    continue;
                }
                let parses = match kind {
                    Some("date") => crate::validate::parse_date(&s.text).is_some(),
                    Some("datetime") => crate::validate::parse_datetime(&s.text).is_some(),
                    _ => false,
                };
                if !parses {
                    out.push(
                        Diagnostic::error(format!(
                            "`{key}: {}` of column `{}` is neither a number nor a date of a date column",
                            s.text, column.key
                        ))
                        .at(bound.span, "not a bound")
                        .hint("write a number, or set `type: date` (`2024-01-31`) or `type: datetime` (`2024-01-31T12:00:00Z`)"),
                    );
                }
            }
        }
    }
}

fn cycles(names: &[&str], graph: &[Vec<(usize, Span)>], out: &mut Vec<Diagnostic>) {
    // 0 = unvisited, 1 = on the stack, 2 = done
    fn visit(
        i: usize,
        graph: &[Vec<(usize, Span)>],
        state: &mut [u8],
        stack: &mut Vec<(usize, Span)>,
        found: &mut Vec<Vec<(usize, Span)>>,
    ) {
        state[i] = 1;
        for &(j, span) in &graph[i] {
            stack.push((i, span));
            if state[j] == 1 {
                let start = stack.iter().position(|(s, _)| *s == j).unwrap_or(0);
                found.push(stack[start..].to_vec());
            } else if state[j] == 0 {
                visit(j, graph, state, stack, found);
            }
            stack.pop();
        }
        state[i] = 2;
    }
    let mut state = vec![0u8; names.len()];
    let mut found = Vec::new();
    for i in 0..names.len() {
        if state[i] == 0 {
            visit(i, graph, &mut state, &mut Vec::new(), &mut found);
        }
    }
    for cycle in found {
        let mut path: Vec<&str> = cycle.iter().map(|(i, _)| names[*i]).collect();
        path.push(names[cycle[0].0]);
        let mut d = Diagnostic::error(format!("`needs` forms a cycle: {}", path.join(" → ")))
            .at(cycle[0].1, "this need closes the cycle");
        for (_, span) in &cycle[1..] {
            d = d.also(*span, "part of the cycle");
        }
        out.push(d.hint(
            "a stage can only need stages that do not need it back: remove one of these needs",
        ));
    }
}

/// Checks every `${{ }}` (and every `if:`) parses, `if:` values that are always true, secrets
/// read in `if:`, and untrusted event text spliced into `run:` scripts.
fn expressions(node: &Node, key: &str, text: &str, out: &mut Vec<Diagnostic>) {
    match &node.kind {
        NodeKind::Map(entries) => {
            for e in entries {
                expressions(&e.value, &e.key, text, out);
            }
        }
        NodeKind::Seq(items) => {
            for item in items {
                expressions(item, key, text, out);
            }
        }
        NodeKind::Scalar(s) if key == "if" && s.resolved != Resolved::Null => {
            condition_check(node, &s.text, text, out);
        }
        NodeKind::Scalar(s) if s.resolved == Resolved::Str && has_expressions(&s.text) => {
            if let Some(at) = unclosed_expression(&s.text) {
                out.push(unclosed(node, &s.text, at, text));
                return;
            }
            match Template::parse(&s.text, run_scope()) {
                Err((offset, e)) => out.push(expression_error(node, &s.text, offset, &e, text)),
                Ok(t) if key == "run" => injection_check(node, &t, out),
                Ok(_) => {}
            }
        }
        NodeKind::Scalar(_) => {}
    }
}

fn condition_check(node: &Node, value: &str, text: &str, out: &mut Vec<Diagnostic>) {
    if let Some(at) = unclosed_expression(value) {
        out.push(unclosed(node, value, at, text));
        return;
    }
    match Condition::parse(value, run_scope()) {
        Err((offset, e)) => out.push(expression_error(node, value, offset, &e, text)),
        Ok(Condition::Template(_)) => out.push(
            Diagnostic::error("this `if:` is always true: text around `${{ }}` makes it a non-empty string")
                .at(node.span, "not a condition")
                .hint("write the whole condition inside one `${{ }}` on one line, or leave `${{ }}` out: `if: a && b`"),
        ),
        Ok(c) => {
            let reads_secrets = c.expressions().iter().any(|e| e.paths().iter().any(|p| p.starts_with("secrets")));
            if reads_secrets {
                out.push(
                    Diagnostic::error("`if:` cannot read `secrets`")
                        .at(node.span, "reads a secret")
                        .hint("as in GitHub Actions, map the secret to `env:` and test `env.NAME` instead"),
                );
            }
        }
    }
}

/// Where, in the source, byte `offset` of a scalar's value lies, for an offset just after its
/// `n`-th `${{` (the raw text of a quoted or block scalar differs from its value).
fn source_offset(node: &Node, value: &str, offset: usize, text: &str) -> usize {
    let raw = text.get(node.span.start..node.span.end).unwrap_or_default();
    if raw == value {
        return node.span.start + offset;
    }
    let before = &value[..offset.min(value.len())];
    let n = before.matches("${{").count();
    let after_open = before.rfind("${{").map_or(0, |i| offset - (i + 3));
    raw.match_indices("${{")
        .nth(n.saturating_sub(1))
        .map_or(node.span.start, |(i, _)| {
            node.span.start + i + 3 + after_open
        })
}

fn unclosed(node: &Node, value: &str, at: usize, text: &str) -> Diagnostic {
    let start = source_offset(node, value, at + 3, text).saturating_sub(3);
    Diagnostic::error("`${{` without a closing `}}`")
        .at(
            Span::new(start, start + 3),
            "this expression is never closed",
        )
        .hint("close it with `}}`; to write `${{` as text, use `${{ '${{' }}`")
}

fn expression_error(
    node: &Node,
    value: &str,
    offset: usize,
    e: &ExprError,
    text: &str,
) -> Diagnostic {
    let inner = e.byte_position().unwrap_or(0);
    let expr_start = source_offset(node, value, offset, text);
    let at = expr_start + inner;
    let token_len = e.token_len();
    let label = if e.message.starts_with("Unrecognized named-value") {
        "unknown context"
    } else if e.message.starts_with("Unrecognized function") {
        "unknown function"
    } else {
        "here"
    };
    let d = Diagnostic::error(e.summary()).at(Span::new(at, at + token_len), label);
    if e.message.starts_with("Unrecognized named-value") {
        d.hint(format!("the contexts are {}", backticked(&CONTEXT_NAMES)))
    } else if e.message.starts_with("Unrecognized function") {
        let names: Vec<&str> = BUILTINS
            .iter()
            .chain(&RUN_FUNCTIONS)
            .map(|f| f.name)
            .collect();
        d.hint(format!("the functions are {}", backticked(&names)))
    } else if e.message.starts_with("Unexpected symbol: '-")
        || e.message.starts_with("Unexpected symbol: '+")
    {
        d.hint("expressions have no arithmetic, as in GitHub Actions; for a tolerance against the baseline, use a gate with `metric:` and `regression:`")
    } else {
        d
    }
}

/// Event fields whose text whoever opens a PR, issue or comment chooses.
const UNTRUSTED_FIELDS: [&str; 11] = [
    "body",
    "title",
    "message",
    "name",
    "email",
    "head_ref",
    "label",
    "ref",
    "default_branch",
    "page_name",
    "description",
];
/// Event objects that hold such fields.
const UNTRUSTED_OBJECTS: [&str; 9] = [
    "pull_request",
    "issue",
    "comment",
    "head_commit",
    "commits",
    "review",
    "discussion",
    "pages",
    "head",
];

fn is_untrusted(path: &str) -> bool {
    if path == "github" || path == "github.head_ref" || path == "github.event" || path == "github.*"
    {
        return true;
    }
    let Some(rest) = path.strip_prefix("github.event.") else {
        return false;
    };
    let segments: Vec<&str> = rest.split('.').collect();
    segments
        .iter()
        .any(|s| UNTRUSTED_FIELDS.contains(s) || *s == "*" || s.ends_with("[]"))
        || segments
            .last()
            .is_some_and(|s| UNTRUSTED_OBJECTS.contains(s))
}

fn injection_check(node: &Node, template: &Template, out: &mut Vec<Diagnostic>) {
    for expr in template.expressions() {
        if let Some(path) = expr.paths().into_iter().find(|p| is_untrusted(p)) {
            let var = path
                .rsplit('.')
                .next()
                .unwrap_or("VALUE")
                .to_uppercase()
                .replace(['*', '[', ']', '-'], "");
            let var = if var.is_empty() {
                "VALUE".to_owned()
            } else {
                var
            };
            out.push(
                Diagnostic::error(format!("`{path}` is spliced into a `run:` script: whoever writes it can run code"))
                    .at(node.span, "expression injection")
                    .hint(format!(
                        "pass it through the environment: `env: {{ {var}: ${{{{ {} }}}} }}` on the step, then use \"${var}\" in the script",
                        expr.text().trim()
                    )),
            );
        }
    }
}

/// The byte offset of the first `${{` that has no `}}` after it, outside quoted strings.
pub fn unclosed_expression(s: &str) -> Option<usize> {
    let mut rest = 0;
    while let Some(found) = s[rest..].find("${{") {
        let open = rest + found;
        let mut i = open + 3;
        let bytes = s.as_bytes();
        let mut in_string = false;
        let mut closed = None;
        while i < bytes.len() {
            match bytes[i] {
                b'\'' if in_string && bytes.get(i + 1) == Some(&b'\'') => i += 1,
                b'\'' => in_string = !in_string,
                b'}' if !in_string && bytes.get(i + 1) == Some(&b'}') => {
                    closed = Some(i + 2);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        match closed {
            Some(end) => rest = end,
            None => return Some(open),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::unclosed_expression;

    #[test]
    fn finds_unclosed_expressions() {
        assert_eq!(unclosed_expression("a ${{ b }} c"), None);
        assert_eq!(unclosed_expression("a ${{ b "), Some(2));
        assert_eq!(unclosed_expression("${{ '}}' "), Some(0));
        assert_eq!(unclosed_expression("${{ x }} and ${{ y"), Some(13));
    }
}
