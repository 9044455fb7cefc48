//! Joins results, baseline and compare for a run: finds the baseline (notes or tree), reads a
//! stage's metrics files after its steps, and judges its gates against the baseline.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use indexmap::IndexMap;

use crate::baseline::{self, Lookup, Settings};
use crate::compare::evaluate_gates;
use crate::config::Config;
use crate::config::model::{BaselineCommit, BaselineStore, Stage};
use crate::execute::pipeline::{AfterSteps, Measured};
use crate::results::metrics;
use crate::results::{BaselineUsed, Flat};

/// Every params file the stages name, and `params.yaml` when it exists, read and flattened;
/// a named file that is missing or unparsable is an error naming the stage and the file.
pub fn read_params(config: &Config, workspace: &Path) -> anyhow::Result<IndexMap<String, Flat>> {
    let mut out = IndexMap::new();
    for (name, stage) in &config.stages {
        for path in &stage.params {
            if out.contains_key(path) {
                continue;
            }
            let parsed = metrics::read(workspace, path)
                .map_err(|e| anyhow!("stage `{name}` names params file `{path}`: {e}"))?;
            out.insert(path.clone(), flat(&parsed));
        }
    }
    if !out.contains_key("params.yaml") && workspace.join("params.yaml").is_file() {
        let parsed =
            metrics::read(workspace, "params.yaml").map_err(|e| anyhow!("`params.yaml`: {e}"))?;
        out.insert("params.yaml".to_owned(), flat(&parsed));
    }
    Ok(out)
}

/// Every metrics file a config names, in stage order.
pub fn metrics_files(config: &Config) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for stage in config.stages.values() {
        for f in &stage.metrics {
            if !files.contains(f) {
                files.push(f.clone());
            }
        }
    }
    files
}

fn flat(m: &metrics::Metrics) -> Flat {
    m.iter()
        .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
        .collect()
}

pub use crate::results::merged;

/// What the baseline lookup found, and what to tell the user about it.
#[derive(Debug)]
pub struct BaselineFound {
    pub used: Option<BaselineUsed>,
    pub message: String,
    /// The baseline's data profiles by file (from its note); empty when it has none.
    pub profiles: IndexMap<String, crate::results::data::Profile>,
}

/// Finds the baseline of the repository holding `workspace`, as `config.baseline` says.
pub fn find_baseline(
    config: &Config,
    workspace: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<BaselineFound> {
    if !workspace.ancestors().any(|d| d.join(".git").exists()) {
        return Ok(BaselineFound {
            used: None,
            message: "not a git repository: no baseline to compare with".to_owned(),
            profiles: IndexMap::new(),
        });
    }
    let settings = Settings {
        branch: config.baseline.branch.clone(),
        tip: config.baseline.commit == BaselineCommit::Tip,
        walk: config.baseline.walk,
    };
    let found = match config.baseline.store {
        BaselineStore::Notes => match baseline::find(workspace, &settings, &env)
            .context("while looking for the baseline")?
        {
            Lookup::Found(f) => {
                let metrics = by_file(&f.note.metrics);
                let back = if f.distance == 0 {
                    String::new()
                } else {
                    format!(", {} commit(s) before the merge-base", f.distance)
                };
                BaselineFound {
                    profiles: profiles_of(&f.note.profiles),
                    message: format!(
                        "baseline: `{}` at {}{back} (notes)",
                        f.branch,
                        short(&f.sha)
                    ),
                    used: Some(BaselineUsed {
                        branch: f.branch,
                        sha: f.sha,
                        source: "notes".to_owned(),
                        distance: f.distance,
                        params: by_file(&f.note.params),
                        metrics,
                    }),
                }
            }
            Lookup::NoBaseline {
                branch, searched, ..
            } => BaselineFound {
                profiles: IndexMap::new(),
                used: None,
                message: format!(
                    "no baseline: no results recorded on `{branch}` (looked at {searched} commit(s)), so every metric is new and regressions are not checked; a `mlops-ci run` on a push to `{branch}` records them (a git note under `refs/notes/mlops-ci`)"
                ),
            },
        },
        BaselineStore::Tree => {
            let (branch, sha) = baseline::baseline_commit(workspace, &settings, &env)
                .context("while looking for the baseline")?;
            let files = metrics_files(config);
            let blobs = baseline::read_files(workspace, &sha, &files)
                .context("while reading the baseline's metrics")?;
            let mut metrics = IndexMap::new();
            for (path, blob) in blobs {
                let Some(bytes) = blob else { continue };
                let text = String::from_utf8_lossy(&bytes);
                let parsed = metrics::parse(&path, &text)
                    .map_err(|e| anyhow!("the baseline's `{path}` at {}: {e}", short(&sha)))?;
                metrics.insert(path, flat(&parsed));
            }
            BaselineFound {
                profiles: IndexMap::new(),
                message: format!(
                    "baseline: `{branch}` at {} (files in its tree)",
                    short(&sha)
                ),
                used: Some(BaselineUsed {
                    branch,
                    sha,
                    source: "tree".to_owned(),
                    distance: 0,
                    metrics,
                    params: IndexMap::new(),
                }),
            }
        }
    };
    if found.used.is_none() && config.baseline.required {
        return Err(anyhow!("{}; `baseline.required` is true", found.message));
    }
    Ok(found)
}

/// A note's `profiles` (`{path: profile}`); a profile this version cannot read is left out, so
/// its file gets no drift rather than a failed run.
fn profiles_of(json: &serde_json::Value) -> IndexMap<String, crate::results::data::Profile> {
    json.as_object()
        .map(|files| {
            files
                .iter()
                .filter_map(|(path, p)| {
                    serde_json::from_value(p.clone())
                        .ok()
                        .map(|p| (path.clone(), p))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `{path: {key: value}}` JSON as files of flattened values.
pub(crate) fn by_file(json: &serde_json::Value) -> IndexMap<String, Flat> {
    json.as_object()
        .map(|files| {
            files
                .iter()
                .map(|(path, m)| {
                    (
                        path.clone(),
                        m.as_object()
                            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                            .unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// Reads metrics and judges gates for the run.
#[derive(Debug)]
pub struct Judge {
    pub workspace: PathBuf,
    pub baseline: Option<BaselineUsed>,
    /// Set when a metrics file could not be read: the run ends with exit 2.
    pub input_error: std::cell::Cell<bool>,
    /// The baseline's data profiles by file; `None` when there is no baseline.
    pub profiles: Option<IndexMap<String, crate::results::data::Profile>>,
}

impl AfterSteps for Judge {
    fn after_steps(
        &self,
        stage_name: &str,
        stage: &Stage,
        so_far: &IndexMap<String, Flat>,
    ) -> Measured {
        let mut measured = Measured::default();
        for path in &stage.metrics {
            match metrics::read(&self.workspace, path) {
                Ok(m) => {
                    measured.metrics.insert(path.clone(), flat(&m));
                }
                Err(e) => {
                    self.input_error.set(true);
                    measured.failure = Some(format!("stage `{stage_name}`: {e}"));
                    return measured;
                }
            }
        }
        let mut all = so_far.clone();
        all.extend(measured.metrics.clone());
        let current = merged(&all);
        let baseline = self.baseline.as_ref().map(|b| merged(&b.metrics));
        let branch = self
            .baseline
            .as_ref()
            .map_or("the baseline", |b| b.branch.as_str());
        measured.gates = evaluate_gates(&stage.gates, &current, baseline.as_ref(), branch);
        let failed: Vec<&str> = measured
            .gates
            .iter()
            .filter(|g| !g.passed)
            .map(|g| g.name.as_str())
            .collect();
        if !failed.is_empty() {
            measured.failure = Some(format!("gate failed: {}", failed.join("; ")));
        }
        measured
    }

    fn baseline_profiles(&self) -> Option<IndexMap<String, crate::results::data::Profile>> {
        self.profiles.clone()
    }
}
