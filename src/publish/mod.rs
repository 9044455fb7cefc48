//! Side effects on the outside world, always last: recording a run on the baseline branch as
//! the baseline (a note on its commit, pushed to `origin`), and a pull request's report as the
//! job summary and the one sticky PR comment. Uses `report`, `forge`, `baseline`.

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
    let metrics = record.metrics_files();
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
        profiles: serde_json::to_value(record.profiles())
            .unwrap_or_else(|_| Value::Object(Map::new())),
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

/// On a pull request: the report as the one sticky PR comment (unless `report.comment: off`)
/// and in the job summary. A fork's read-only token cannot comment: the summary still gets it.
pub async fn pull_request(
    ctx: &Context,
    config: &Config,
    workspace: &Path,
    record: &RunRecord,
) -> anyhow::Result<()> {
    use crate::forge::Repo;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let event_path = env("GITHUB_EVENT_PATH")
        .ok_or_else(|| anyhow!("`GITHUB_EVENT_PATH` is not set: no pull request to report on"))?;
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(&event_path)
            .with_context(|| format!("while reading `{event_path}`"))?,
    )
    .with_context(|| format!("`{event_path}` is not a JSON event"))?;
    let number = event["pull_request"]["number"]
        .as_u64()
        .or_else(|| event["number"].as_u64())
        .ok_or_else(|| anyhow!("the event at `{event_path}` has no pull request number"))?;
    let repo_name =
        env("GITHUB_REPOSITORY").ok_or_else(|| anyhow!("`GITHUB_REPOSITORY` is not set"))?;
    let repo = Repo::parse(&repo_name)
        .ok_or_else(|| anyhow!("`GITHUB_REPOSITORY` is `{repo_name}`, not `owner/name`"))?;
    let name = config.name.clone().unwrap_or_else(|| repo.name.clone());
    let mut input = crate::report::input::ReportInput::new(
        &name,
        config.report.clone(),
        record.clone(),
        crate::compare::of_run(config, record),
    );
    input.run_url = match (env("GITHUB_SERVER_URL"), env("GITHUB_RUN_ID")) {
        (Some(server), Some(id)) => Some(format!("{server}/{repo_name}/actions/runs/{id}")),
        _ => None,
    };
    let template = match &config.report.template {
        Some(path) => Some(
            std::fs::read_to_string(workspace.join(path))
                .with_context(|| format!("while reading the report template `{path}`"))?,
        ),
        None => None,
    };
    let mut masker = crate::execute::mask::Masker::new();
    for secret in &config.secrets {
        if let Some(value) = env(secret) {
            masker.add(&value);
        }
    }
    let body = masker
        .mask(&crate::report::render::render_comment(
            &input,
            template.as_deref(),
        )?)
        .into_owned();
    if let Some(summary_path) = env("GITHUB_STEP_SUMMARY") {
        let summary = masker
            .mask(&crate::report::render::render_summary(
                &input,
                template.as_deref(),
            )?)
            .into_owned();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary_path)
            .with_context(|| format!("while opening `{summary_path}`"))?;
        std::io::Write::write_all(&mut file, summary.as_bytes())
            .context("while writing the job summary")?;
    }
    let head_repo = event["pull_request"]["head"]["repo"]["full_name"]
        .as_str()
        .unwrap_or_default();
    if !head_repo.is_empty() && !head_repo.eq_ignore_ascii_case(&repo_name) {
        eprintln!(
            "this pull request comes from the fork `{head_repo}`: its token cannot comment, so the report is in the job summary only"
        );
        return Ok(());
    }
    if config.report.comment == crate::config::model::CommentMode::Off {
        return Ok(());
    }
    post_comment(ctx, config, &repo, number, &name, &body).await
}

/// Upserts (or, with `report.comment: new`, posts) the PR comment; a token that may not
/// comment is a notice, not a failure: the job summary has the report.
async fn post_comment(
    ctx: &Context,
    config: &Config,
    repo: &crate::forge::Repo,
    number: u64,
    name: &str,
    body: &str,
) -> anyhow::Result<()> {
    use crate::forge::{Forge as _, ForgeError};
    let forge = crate::forge::github::GitHubForge::from_env().map_err(|e| anyhow!("{e}"))?;
    let login = forge.whoami().await.map_err(|e| anyhow!("{e}"))?;
    let marker = crate::report::view::marker(name);
    let posted = match config.report.comment {
        crate::config::model::CommentMode::New => {
            comment::post_new(&forge, repo, number, &login, body)
                .await
                .map(comment::CommentOutcome::Created)
        }
        _ => comment::upsert_sticky(&forge, repo, number, &marker, &login, body).await,
    };
    match posted {
        Ok(done) => {
            if !ctx.quiet {
                let verb = match done {
                    comment::CommentOutcome::Created(_) => "posted",
                    comment::CommentOutcome::Updated(_) => "updated",
                    comment::CommentOutcome::Unchanged(_) => "left unchanged",
                };
                eprintln!(
                    "{verb} the report comment on #{number} (comment {})",
                    done.id()
                );
            }
            Ok(())
        }
        Err(ForgeError::NotAccessible { .. }) => {
            eprintln!(
                "::notice::the token may not comment on #{number} (403, not accessible by integration); the report is in the job summary"
            );
            Ok(())
        }
        Err(e) => Err(anyhow!("{e}"))
            .with_context(|| format!("while updating the PR comment on #{number}")),
    }
}
