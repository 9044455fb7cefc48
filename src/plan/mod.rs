//! (`Config`, invocation) → [`Plan`]: stage order from `needs`, what runs and why, and what
//! would be published. Pure: no process, no network. May use `config` and `ci`.

mod decide;
mod graph;
mod human;
pub mod model;

pub use human::render as render_human;
pub use model::{Decision, Part, Plan, PlannedEvent, PlannedStage, Publish, PublishAction, Runs};

use crate::ci::{EventKind, Invocation};
use crate::config::model::{
    BaselineStore, CommentMode, Config, DataCheck, Gate, Image, Stage, Step, Switch,
};

/// The plan's JSON format version.
pub const PLAN_VERSION: u32 = 1;

/// Builds the plan of `config` for `invocation`. `config_name` is how the file is shown and
/// `repo_name` names the pipeline when the config does not.
pub fn build(config: &Config, invocation: &Invocation, config_name: &str, repo_name: &str) -> Plan {
    let mut stages: Vec<PlannedStage> = Vec::new();
    for name in graph::order(&config.stages) {
        let stage = &config.stages[name];
        let skipped: Vec<&str> = stage
            .needs
            .iter()
            .filter(|n| {
                stages
                    .iter()
                    .any(|p| &p.name == *n && p.decision.runs == Runs::No)
            })
            .map(String::as_str)
            .collect();
        let decision = decide::decide(stage, invocation, &skipped);
        stages.push(plan_stage(name, stage, config, decision));
    }
    Plan {
        plan_version: PLAN_VERSION,
        name: config.name.clone().unwrap_or_else(|| repo_name.to_owned()),
        config: config_name.to_owned(),
        event: PlannedEvent {
            name: invocation.event,
            git_ref: invocation.git_ref.clone(),
        },
        stages,
        publish: publish(config, invocation),
    }
}

fn plan_stage(name: &str, stage: &Stage, config: &Config, decision: Decision) -> PlannedStage {
    let mut parts: Vec<Part> = stage.data.iter().map(data_part).collect();
    parts.extend(
        stage
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| step_part(i, s, config)),
    );
    if !stage.metrics.is_empty() {
        parts.push(Part::Metrics {
            files: stage.metrics.clone(),
        });
    }
    parts.extend(stage.gates.iter().map(|g| Part::Gate {
        description: gate_description(g),
    }));
    parts.extend(stage.image.iter().map(image_part));
    PlannedStage {
        name: name.to_owned(),
        needs: stage.needs.clone(),
        decision,
        timeout_minutes: stage.timeout_minutes,
        parts,
    }
}

fn data_part(check: &DataCheck) -> Part {
    let mut checks = Vec::new();
    if let Some(rows) = check.rows {
        match (rows.min, rows.max) {
            (Some(min), Some(max)) => checks.push(format!("rows between {min} and {max}")),
            (Some(min), None) => checks.push(format!("at least {min} rows")),
            (None, Some(max)) => checks.push(format!("at most {max} rows")),
            (None, None) => {}
        }
    }
    for (column, rule) in &check.columns {
        let mut r = Vec::new();
        if let Some(kind) = rule.kind {
            r.push(
                serde_json::to_value(kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            );
        }
        if let Some(min) = &rule.min {
            r.push(format!(">= {min}"));
        }
        if let Some(max) = &rule.max {
            r.push(format!("<= {max}"));
        }
        if let Some(nulls) = rule.nulls {
            r.push(format!("at most {nulls} nulls"));
        }
        if rule.unique == Some(true) {
            r.push("unique".to_owned());
        }
        if let Some(allowed) = &rule.allowed {
            let values: Vec<&str> = allowed.iter().map(|v| v.0.as_str()).collect();
            r.push(format!("in [{}]", values.join(", ")));
        }
        if let Some(regex) = &rule.regex {
            r.push(format!("matches `{regex}`"));
        }
        checks.push(format!("column `{column}`: {}", r.join(", ")));
    }
    if let Some(drift) = check.drift {
        let method = drift
            .method
            .unwrap_or(crate::config::model::DriftMethod::Psi);
        let name = serde_json::to_value(method)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        checks.push(format!(
            "drift ({name}) at most {} against the baseline",
            drift.max.unwrap_or_else(|| method.default_max())
        ));
    }
    Part::Data {
        path: check.path.clone(),
        checks,
    }
}

fn step_part(index: usize, step: &Step, config: &Config) -> Part {
    let name = match (&step.name, &step.run, &step.uses) {
        (Some(name), _, _) => name.as_str().to_owned(),
        (None, Some(run), _) => format!("Run {}", run.as_str().lines().next().unwrap_or_default()),
        (None, None, Some(uses)) => format!("Run {uses}"),
        (None, None, None) => format!("step {}", index + 1),
    };
    let shell = step.run.as_ref().map(|_| {
        step.shell
            .clone()
            .or_else(|| config.defaults.run.shell.clone())
            .unwrap_or_else(|| "default".to_owned())
    });
    Part::Step {
        name,
        id: step.id.clone(),
        run: step.run.as_ref().map(|r| r.as_str().to_owned()),
        shell,
        uses: step.uses.clone(),
        condition: step.condition.as_ref().map(|c| c.as_str().to_owned()),
        continue_on_error: step.continue_on_error.unwrap_or(false),
        timeout_minutes: step.timeout_minutes,
    }
}

/// A gate in words, as the report shows it.
pub fn gate_description(gate: &Gate) -> String {
    if let Some(name) = &gate.name {
        return name.clone();
    }
    let Some(metric) = &gate.metric else {
        return gate
            .condition
            .as_ref()
            .map_or_else(String::new, |c| c.as_str().to_owned());
    };
    let mut bounds = Vec::new();
    if let Some(min) = gate.min {
        bounds.push(format!(">= {min}"));
    }
    if let Some(max) = gate.max {
        bounds.push(format!("<= {max}"));
    }
    if let Some(r) = gate.regression {
        bounds.push(format!("within {r} of the baseline"));
    }
    if gate.better == Some(crate::config::model::Better::Lower) {
        bounds.push("lower is better".to_owned());
    }
    format!("{metric} {}", bounds.join(", "))
}

fn image_part(image: &Image) -> Part {
    Part::Image {
        name: image.name.as_str().to_owned(),
        context: image.context.clone().unwrap_or_else(|| ".".to_owned()),
        dockerfile: image
            .dockerfile
            .clone()
            .unwrap_or_else(|| "Dockerfile".to_owned()),
        push: push_text(image.push.as_ref()),
    }
}

fn push_text(push: Option<&Switch>) -> String {
    match push {
        None | Some(Switch::Fixed(false)) => "no".to_owned(),
        Some(Switch::Fixed(true)) => "yes".to_owned(),
        Some(Switch::Expression(c)) => format!("if `{}` holds", c.as_str()),
    }
}

fn publish(config: &Config, invocation: &Invocation) -> Vec<Publish> {
    let pushed: Vec<&Image> = config
        .stages
        .values()
        .filter_map(|s| s.image.as_ref())
        .filter(|image| !matches!(image.push, None | Some(Switch::Fixed(false))))
        .collect();
    match invocation.event {
        EventKind::Local => Vec::new(),
        EventKind::PullRequest => publish_pull_request(config, &pushed),
        EventKind::Push => publish_push(config, invocation, &pushed),
        EventKind::Tag => publish_tag(config, invocation, &pushed),
    }
}

fn item(action: PublishAction, detail: impl Into<String>) -> Publish {
    Publish {
        action,
        detail: detail.into(),
    }
}

fn summary() -> Publish {
    item(
        PublishAction::JobSummary,
        "write the report to the job summary",
    )
}

fn publish_pull_request(config: &Config, pushed: &[&Image]) -> Vec<Publish> {
    let mut out = Vec::new();
    match config.report.comment {
        CommentMode::Sticky => out.push(item(
            PublishAction::PrComment,
            "update the one sticky PR comment with the metric diff",
        )),
        CommentMode::New => out.push(item(
            PublishAction::PrComment,
            "post a new PR comment with the metric diff",
        )),
        CommentMode::Off => {}
    }
    out.push(item(
        PublishAction::CommitStatus,
        "set the commit status from the gates",
    ));
    out.push(summary());
    out.extend(pushed.iter().map(|image| {
        item(
            PublishAction::ImagePush,
            format!(
                "push `{}` {}",
                image.name.as_str(),
                push_text(image.push.as_ref())
            ),
        )
    }));
    out
}

fn publish_push(config: &Config, invocation: &Invocation, pushed: &[&Image]) -> Vec<Publish> {
    let mut out = Vec::new();
    let branch = config.baseline.branch.as_deref().unwrap_or("main");
    let on_branch = invocation
        .git_ref
        .as_deref()
        .and_then(|r| r.strip_prefix("refs/heads/"));
    let recording = on_branch.is_none_or(|b| b == branch);
    let when = if on_branch.is_some() {
        String::new()
    } else {
        format!(" (when the push is to `{branch}`)")
    };
    if recording && config.baseline.store == BaselineStore::Notes {
        out.push(item(
            PublishAction::BaselineNote,
            format!("record this run as the baseline in `refs/notes/mlops-ci` and push it{when}"),
        ));
    }
    out.push(summary());
    let tags = if recording {
        format!("`{branch}` and `sha-<short sha>`")
    } else {
        format!(
            "with the branch's name (`{}`, made a valid tag)",
            on_branch.unwrap_or_default()
        )
    };
    out.extend(pushed.iter().map(|image| {
        item(
            PublishAction::ImagePush,
            format!("push `{}` tagged {tags}{when}", image.name.as_str()),
        )
    }));
    out
}

fn publish_tag(config: &Config, invocation: &Invocation, pushed: &[&Image]) -> Vec<Publish> {
    let tag = invocation
        .git_ref
        .as_deref()
        .and_then(|r| r.strip_prefix("refs/tags/"));
    let tag_text = tag.map_or_else(|| "the pushed tag".to_owned(), |t| format!("`{t}`"));
    let mut out: Vec<Publish> = pushed
        .iter()
        .map(|image| {
            item(
                PublishAction::ImagePush,
                format!(
                    "push `{}` with semver tags from {tag_text}",
                    image.name.as_str()
                ),
            )
        })
        .collect();
    if config.release.is_some() {
        out.push(item(
            PublishAction::Release,
            format!("create the GitHub release for {tag_text} with the report"),
        ));
    }
    out.push(summary());
    out
}
