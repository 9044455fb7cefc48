//! Side effects on the outside world, always last: so far, recording a run on the baseline
//! branch as the baseline (a note on its commit, pushed to `origin`).

pub mod comment;

use std::path::Path;

use anyhow::{Context as _, anyhow};
use serde_json::{Map, Value};

use crate::Context;
use crate::baseline::{self, Note, Settings};
use crate::ci::Invocation;
use crate::config::Config;
use crate::config::model::{BaselineCommit, BaselineStore};
use crate::results::{Flat, RunRecord};

fn files_json(files: &indexmap::IndexMap<String, Flat>) -> Value {
    Value::Object(
        files
            .iter()
            .map(|(path, flat)| {
                (
                    path.clone(),
                    Value::Object(
                        flat.iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect::<Map<_, _>>(),
                    ),
                )
            })
            .collect(),
    )
}

/// On a push to the baseline branch with `store: notes`, writes the run's metrics and params
/// as a note on the pushed commit and pushes `refs/notes/mlops-ci` to `origin`.
pub fn baseline_note(
    ctx: &Context,
    config: &Config,
    workspace: &Path,
    record: &RunRecord,
    invocation: &Invocation,
) -> anyhow::Result<()> {
    if config.baseline.store != BaselineStore::Notes {
        return Ok(());
    }
    let pushed = invocation
        .git_ref
        .as_deref()
        .and_then(|r| r.strip_prefix("refs/heads/"));
    let env = |name: &str| std::env::var(name).ok();
    let settings = Settings {
        branch: config.baseline.branch.clone(),
        tip: config.baseline.commit == BaselineCommit::Tip,
        walk: config.baseline.walk,
    };
    let branch = match &config.baseline.branch {
        Some(b) => b.clone(),
        None => baseline::baseline_commit(
            workspace,
            &Settings {
                tip: true,
                ..settings
            },
            env,
        )
        .map_or_else(|_| "main".to_owned(), |(b, _)| b),
    };
    if pushed != Some(branch.as_str()) {
        if !ctx.quiet {
            eprintln!("not the baseline branch (`{branch}`): no baseline recorded");
        }
        return Ok(());
    }
    let (sha, _) =
        baseline::head(workspace).context("while reading HEAD to record the baseline")?;
    let mut metrics = indexmap::IndexMap::new();
    for stage in &record.stages {
        metrics.extend(stage.metrics.clone());
    }
    let run_url = match (
        env("GITHUB_SERVER_URL"),
        env("GITHUB_REPOSITORY"),
        env("GITHUB_RUN_ID"),
    ) {
        (Some(server), Some(repo), Some(id)) => Some(format!("{server}/{repo}/actions/runs/{id}")),
        _ => None,
    };
    let note = Note {
        version: baseline::NOTE_VERSION,
        metrics: files_json(&metrics),
        params: files_json(&record.params),
        profiles: Value::Object(Map::new()),
        image_digest: None,
        run_url,
        run_id: Some(record.id.clone()),
        recorded_at: crate::results::utc_timestamp(std::time::SystemTime::now()),
    };
    baseline::record(workspace, &sha, &note).context("while recording the baseline note")?;
    let token = env("GITHUB_TOKEN").filter(|t| !t.is_empty());
    let outcome = baseline::push(workspace, baseline::REMOTE, token.as_deref())
        .map_err(|e| anyhow!("{e}"))
        .context(
            "while pushing the baseline note to `origin` (the token needs `contents: write`)",
        )?;
    if !ctx.quiet {
        eprintln!(
            "recorded this run as `{branch}`'s baseline on {} and pushed `{}` ({} attempt{})",
            &sha[..sha.len().min(12)],
            baseline::NOTES_REF,
            outcome.attempts,
            if outcome.attempts == 1 { "" } else { "s" }
        );
    }
    Ok(())
}
