//! Whether a stage runs for an event, decided before anything runs when its `if:` reads only
//! what the event fixes (`github.event_name`, `github.ref`, …); otherwise left to the run.

use indexmap::IndexMap;
use serde_json::json;

use super::model::{Decision, Runs};
use crate::ci::{EventKind, Invocation};
use crate::config::model::Stage;
use crate::diagnostic::backticked;
use crate::expr::{Condition, Host, Value, run_scope};

/// The `github` fields a plan knows for an event.
const STATIC_PATHS: [&str; 5] = [
    "github.event_name",
    "github.ref",
    "github.ref_name",
    "github.ref_type",
    "github.base_ref",
];

/// Status functions as they stand when every stage before has succeeded.
struct AllSucceeded;

impl Host for AllSucceeded {
    fn call(&self, name: &str, _: &[Value]) -> Result<Value, String> {
        match name {
            "success" | "always" => Ok(Value::Bool(true)),
            "failure" | "cancelled" => Ok(Value::Bool(false)),
            other => Err(format!(
                "`{other}()` is known only when the run reaches the stage"
            )),
        }
    }
}

fn github(invocation: &Invocation) -> IndexMap<String, Value> {
    let event_name = match invocation.event {
        EventKind::PullRequest => "pull_request",
        EventKind::Push | EventKind::Tag => "push",
        EventKind::Local => "local",
    };
    let git_ref = invocation.git_ref.clone().unwrap_or_default();
    let (ref_type, ref_name) = match git_ref.strip_prefix("refs/tags/") {
        Some(tag) => ("tag", tag.to_owned()),
        None => (
            "branch",
            git_ref
                .strip_prefix("refs/heads/")
                .unwrap_or(&git_ref)
                .to_owned(),
        ),
    };
    let mut ctx = IndexMap::new();
    ctx.insert(
        "github".to_owned(),
        Value::from_json(&json!({ "event_name": event_name, "ref": git_ref, "ref_name": ref_name, "ref_type": ref_type, "base_ref": "" })),
    );
    ctx
}

/// Decides a stage; `skipped_needs` are the stages it needs that the plan already skips.
pub fn decide(stage: &Stage, invocation: &Invocation, skipped_needs: &[&str]) -> Decision {
    let after = if stage.needs.is_empty() {
        String::new()
    } else {
        let verb = if stage.needs.len() == 1 {
            "succeeds"
        } else {
            "succeed"
        };
        format!(", after {} {verb}", backticked(&stage.needs))
    };
    let Some(text) = stage
        .condition
        .as_ref()
        .map(super::super::config::model::Condition::as_str)
    else {
        if !skipped_needs.is_empty() {
            return Decision {
                runs: Runs::No,
                reason: format!(
                    "skipped: it needs {}, which is skipped",
                    backticked(skipped_needs)
                ),
            };
        }
        return Decision {
            runs: Runs::Yes,
            reason: format!("always (no `if:`){after}"),
        };
    };
    let later = Decision {
        runs: Runs::Conditional,
        reason: format!("if `{text}` holds when the run reaches the stage{after}"),
    };
    let Ok(condition) = Condition::parse(text, run_scope()) else {
        return later;
    };
    let reads_only_static = condition
        .expressions()
        .iter()
        .all(|e| e.paths().iter().all(|p| STATIC_PATHS.contains(&p.as_str())));
    if !reads_only_static {
        return later;
    }
    let implicit_success = matches!(
        condition,
        Condition::Expression {
            implicit_success: true,
            ..
        }
    );
    if implicit_success && !skipped_needs.is_empty() {
        return Decision {
            runs: Runs::No,
            reason: format!(
                "skipped: it needs {}, which is skipped",
                backticked(skipped_needs)
            ),
        };
    }
    let event = invocation.event.as_str();
    match condition.holds(&github(invocation), Some(&AllSucceeded)) {
        Ok(true) => Decision {
            runs: Runs::Yes,
            reason: format!("`{text}` is true for event `{event}`{after}"),
        },
        Ok(false) => Decision {
            runs: Runs::No,
            reason: format!("skipped: `{text}` is false for event `{event}`"),
        },
        Err(_) => later,
    }
}
