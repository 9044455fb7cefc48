//! The plan as data: serialisable, so `mlops-ci plan --format json` prints exactly what a run
//! will do.

use serde::Serialize;

use crate::ci::EventKind;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Format of this JSON; bumped on incompatible changes.
    pub plan_version: u32,
    pub name: String,
    pub config: String,
    pub event: PlannedEvent,
    pub stages: Vec<PlannedStage>,
    pub publish: Vec<Publish>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedEvent {
    pub name: EventKind,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedStage {
    pub name: String,
    pub needs: Vec<String>,
    pub decision: Decision,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_minutes: Option<f64>,
    pub parts: Vec<Part>,
}

/// Whether a stage runs, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub runs: Runs,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Runs {
    /// Runs whenever the stages it needs succeed.
    Yes,
    /// Runs if its `if:` condition holds when the run reaches it.
    Conditional,
    /// Skipped: its `if:` is false for this event, or a stage it needs is skipped.
    No,
}

/// One part of a stage, in the order the stage runs them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Part {
    Data {
        path: String,
        checks: Vec<String>,
    },
    Step {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        run: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        shell: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        uses: Option<String>,
        #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
        condition: Option<String>,
        continue_on_error: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        timeout_minutes: Option<f64>,
    },
    Metrics {
        files: Vec<String>,
    },
    Gate {
        description: String,
    },
    Image {
        name: String,
        context: String,
        dockerfile: String,
        push: String,
    },
}

/// A side effect the run would have on the outside world, after the stages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Publish {
    pub action: PublishAction,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PublishAction {
    PrComment,
    CommitStatus,
    JobSummary,
    BaselineNote,
    ImagePush,
    Release,
}
