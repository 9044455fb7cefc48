//! What happened, as data: the run record (`run.json`), its stages and steps. Versioned: a
//! stored run can be read back by later commands. Uses nothing else.

pub mod data;
pub mod metrics;

use std::time::{SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of `run.json`'s format.
pub const RUN_RECORD_VERSION: u32 = 1;

/// How a stage, a step or the run ended, as GitHub names job and step results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Skipped,
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One run of the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunRecord {
    pub version: u32,
    pub id: String,
    /// `check` (local) or `run` (CI).
    pub mode: String,
    pub event: String,
    pub git: GitInfo,
    pub started_at: String,
    pub duration_ms: u64,
    pub result: Outcome,
    /// The baseline this run was compared with; `None` when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineUsed>,
    /// The params files the stages name (and `params.yaml`), each flattened.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub params: IndexMap<String, Flat>,
    pub stages: Vec<StageRecord>,
}

/// Flattened metric (or param) keys to scalar values.
pub type Flat = IndexMap<String, serde_json::Value>;

/// Every file's keys in one map (a later file wins on a clash), as gates and reports see them.
pub fn merged(files: &IndexMap<String, Flat>) -> Flat {
    let mut out = Flat::new();
    for file in files.values() {
        out.extend(file.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out
}

impl RunRecord {
    /// The digest of the first image a stage pushed, `name@sha256:…`.
    pub fn image_digest(&self) -> Option<String> {
        self.stages.iter().find_map(|s| {
            let image = s.image.as_ref()?;
            Some(format!("{}@{}", image.name, image.digest.as_ref()?))
        })
    }

    /// Every file's profile from the stages' data checks, by path (what a baseline note keeps).
    pub fn profiles(&self) -> IndexMap<String, data::Profile> {
        self.stages
            .iter()
            .flat_map(|s| &s.data)
            .filter_map(|d| d.profile.clone().map(|p| (d.file.clone(), p)))
            .collect()
    }

    /// The metrics files every stage read, by path.
    pub fn metrics_files(&self) -> IndexMap<String, Flat> {
        let mut files = IndexMap::new();
        for stage in &self.stages {
            files.extend(stage.metrics.clone());
        }
        files
    }
}

/// Which baseline a run was compared with, and how it was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BaselineUsed {
    pub branch: String,
    /// The commit whose results were used.
    pub sha: String,
    /// `notes` or `tree`.
    pub source: String,
    /// First-parent steps back from the merge-base to `sha`.
    pub distance: u32,
    /// The baseline's metrics, by file.
    pub metrics: IndexMap<String, Flat>,
    /// The baseline's params, by file.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub params: IndexMap<String, Flat>,
}

/// One gate's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GateVerdict {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    pub passed: bool,
    /// Why, in words: what was checked against what.
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GitInfo {
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StageRecord {
    pub name: String,
    pub result: Outcome,
    /// Why the stage was skipped, failed or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub duration_ms: u64,
    pub steps: Vec<StepRecord>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub outputs: IndexMap<String, String>,
    /// The stage's metrics files, each flattened.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub metrics: IndexMap<String, Flat>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<GateVerdict>,
    /// The image the stage built (or re-tagged), when it has an `image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRecord>,
    /// The stage's data checks: per file, the checks, the profile and the drift.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<data::DataReport>,
}

/// A stage's image: its repository, the tags it got, and what the registry holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImageRecord {
    /// The repository, such as `ghcr.io/acme/iris`.
    pub name: String,
    pub tags: Vec<String>,
    /// The engine's image id (`sha256:…` of the config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The manifest digest the registry holds, once pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub pushed: bool,
    /// Re-tagged from the image an earlier run built for this commit, without a build.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promoted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StepRecord {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The result before `continue-on-error`.
    pub outcome: Outcome,
    /// The result after `continue-on-error`.
    pub conclusion: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// Why the step failed, when not by its exit code alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The step's masked log, relative to the run folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub outputs: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
    /// What the step wrote to `GITHUB_STEP_SUMMARY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// A composite action's own steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepRecord>,
}

/// An `::error`, `::warning` or `::notice` a step printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Annotation {
    pub level: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub col: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// `2026-11-26T05:27:12Z` for a moment (the calendar arithmetic is the data checks' own).
pub fn utc_timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    #[allow(clippy::cast_precision_loss)] // exact below 2^53 s
    crate::validate::value::format_datetime(secs as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_rfc3339() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            utc_timestamp(UNIX_EPOCH + Duration::from_secs(1_795_671_632)),
            "2026-11-26T05:40:32Z"
        );
        assert_eq!(
            utc_timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }
}
