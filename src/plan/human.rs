//! The plan as people read it in a terminal.

use std::fmt::Write as _;

use super::model::{Part, Plan};

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "plan for `{}` ({}), event `{}`",
        plan.name,
        plan.config,
        plan.event.name.as_str()
    );
    if let Some(r) = &plan.event.git_ref {
        let _ = write!(out, " on `{r}`");
    }
    out.push_str("\n\n");
    for (i, stage) in plan.stages.iter().enumerate() {
        let _ = writeln!(out, "{}. {}", i + 1, stage.name);
        let _ = writeln!(out, "   when: {}", stage.decision.reason);
        if let Some(t) = stage.timeout_minutes {
            let _ = writeln!(out, "   timeout: {t} min");
        }
        for part in &stage.parts {
            let _ = writeln!(out, "   {}", part_line(part));
        }
    }
    out.push('\n');
    if plan.publish.is_empty() {
        out.push_str("then: a terminal report only; nothing leaves the machine\n");
    } else {
        out.push_str("then publish:\n");
        for p in &plan.publish {
            let _ = writeln!(out, "   - {}", p.detail);
        }
    }
    out
}

fn part_line(part: &Part) -> String {
    match part {
        Part::Data { path, checks } => format!("data    {path}: {}", checks.join("; ")),
        Part::Step {
            name,
            id,
            run,
            uses,
            condition,
            continue_on_error,
            ..
        } => {
            let mut line = format!("step    {name}");
            if let Some(id) = id {
                let _ = write!(line, " [id: {id}]");
            }
            if let Some(run) = run {
                let first = run.lines().next().unwrap_or_default();
                let more = if run.lines().count() > 1 { " …" } else { "" };
                let _ = write!(line, ": `{first}`{more}");
            }
            if let Some(uses) = uses {
                let _ = write!(line, ": uses `{uses}`");
            }
            if let Some(c) = condition {
                let _ = write!(line, " (if `{c}`)");
            }
            if *continue_on_error {
                line.push_str(" (continues on error)");
            }
            line
        }
        Part::Metrics { files } => format!("metrics {}", files.join(", ")),
        Part::Gate { description } => format!("gate    {description}"),
        Part::Image {
            name,
            context,
            dockerfile,
            push,
        } => {
            format!("image   {name} from {context}/{dockerfile}, push: {push}")
        }
    }
}
