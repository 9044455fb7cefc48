//! Side effects on the outside world, always last: recording a run on the baseline branch as
//! the baseline (a note on its commit, pushed to `origin`); on a pull request the report as the
//! job summary, the one sticky PR comment and a check run (or commit status), or a fork's bundle
//! (`bundle`) that `mlops-ci comment --from` publishes; the step's outputs (`outputs`). Uses
//! `report`, `reporting`, `forge`, `baseline`.

pub mod bundle;
pub mod checks;
pub mod comment;
pub mod outputs;

use std::path::Path;

use anyhow::{Context as _, anyhow};
use serde_json::{Map, Value};

use crate::Context;
use crate::baseline::{self, Note, Settings};
use crate::ci::Invocation;
use crate::config::Config;
use crate::config::model::{BaselineCommit, BaselineStore, CommentMode};
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

/// A finished run as a baseline note: its metrics and params by file, its image's digest, and
/// where it ran.
pub fn note_of(record: &RunRecord) -> Note {
    let env = |name: &str| std::env::var(name).ok();
    let run_url = match (
        env("GITHUB_SERVER_URL"),
        env("GITHUB_REPOSITORY"),
        env("GITHUB_RUN_ID"),
    ) {
        (Some(server), Some(repo), Some(id)) => Some(format!("{server}/{repo}/actions/runs/{id}")),
        _ => None,
    };
    Note {
        version: baseline::NOTE_VERSION,
        metrics: files_json(&record.metrics_files()),
        params: files_json(&record.params),
        profiles: serde_json::to_value(record.profiles())
            .unwrap_or_else(|_| Value::Object(Map::new())),
        image_digest: record.image_digest(),
        run_url,
        run_id: Some(record.id.clone()),
        recorded_at: crate::results::utc_timestamp(std::time::SystemTime::now()),
    }
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
    let note = note_of(record);
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

/// What publishing a pull request's run did, for the step's outputs.
#[derive(Debug, Clone, Default)]
pub struct Published {
    pub report_path: Option<String>,
    pub comment_url: Option<String>,
    pub bundle_path: Option<String>,
}

/// The pull request an event is about.
struct PullEvent {
    number: u64,
    /// The PR head (not the merge commit the workflow checked out).
    head_sha: String,
    /// `owner/name` of the head's repository.
    head_repo: String,
}

fn read_event(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<PullEvent> {
    let event_path = env("GITHUB_EVENT_PATH")
        .ok_or_else(|| anyhow!("`GITHUB_EVENT_PATH` is not set: no pull request to report on"))?;
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(&event_path)
            .with_context(|| format!("while reading `{event_path}`"))?,
    )
    .with_context(|| format!("`{event_path}` is not a JSON event"))?;
    let pr = &event["pull_request"];
    let number = pr["number"]
        .as_u64()
        .or_else(|| event["number"].as_u64())
        .ok_or_else(|| anyhow!("the event at `{event_path}` has no pull request number"))?;
    Ok(PullEvent {
        number,
        head_sha: pr["head"]["sha"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| env("GITHUB_SHA"))
            .unwrap_or_default(),
        head_repo: pr["head"]["repo"]["full_name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    })
}

/// `pass`, `fail` or `cancelled`.
pub fn verdict(record: &RunRecord) -> &'static str {
    match record.result {
        crate::results::Outcome::Success | crate::results::Outcome::Skipped => "pass",
        crate::results::Outcome::Failure => "fail",
        crate::results::Outcome::Cancelled => "cancelled",
    }
}

/// The check run's title: the verdict in one line.
fn headline(record: &RunRecord, comparison: &crate::compare::Comparison) -> String {
    let failed = comparison.gates.iter().filter(|g| !g.passed).count();
    let total = comparison.gates.len();
    match (verdict(record), total) {
        ("pass", 0) => "the pipeline passed".to_owned(),
        ("pass", n) => format!("all {n} gate(s) passed"),
        ("fail", n) if failed > 0 => format!("{failed} of {n} gate(s) failed"),
        ("fail", _) => "the pipeline failed".to_owned(),
        _ => "the run was cancelled".to_owned(),
    }
}

/// On a pull request: the report in the job summary and in `report.md` in the run folder, the
/// one sticky PR comment (unless `report.comment: off`) and the verdict as a check run (or a
/// commit status). From a fork, whose token cannot write, a bundle for `mlops-ci comment --from`
/// instead.
pub async fn pull_request(
    ctx: &Context,
    config: &Config,
    workspace: &Path,
    run_dir: &Path,
    record: &RunRecord,
) -> anyhow::Result<Published> {
    use crate::forge::Repo;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let event = read_event(&env)?;
    let repo_name =
        env("GITHUB_REPOSITORY").ok_or_else(|| anyhow!("`GITHUB_REPOSITORY` is not set"))?;
    let repo = Repo::parse(&repo_name)
        .ok_or_else(|| anyhow!("`GITHUB_REPOSITORY` is `{repo_name}`, not `owner/name`"))?;
    let mut input = crate::reporting::assemble(
        crate::reporting::Sources {
            config,
            workspace,
            run_dir,
        },
        record,
    );
    if config.name.is_none() {
        input.name.clone_from(&repo.name);
    }
    input.run_url = crate::reporting::run_url(env);
    let template = match &config.report.template {
        Some(path) => Some(
            std::fs::read_to_string(workspace.join(path))
                .with_context(|| format!("while reading the report template `{path}`"))?,
        ),
        None => None,
    };
    let masker = crate::reporting::masker(config, env);
    let mask = |text: &str| masker.mask(text).into_owned();
    let body = crate::report::render::render_comment_masked(&input, template.as_deref(), &mask)?;
    let report_path = run_dir.join("report.md");
    std::fs::write(&report_path, &body)
        .with_context(|| format!("while writing `{}`", report_path.display()))?;
    let mut published = Published {
        report_path: Some(report_path.display().to_string()),
        ..Published::default()
    };
    if let Some(summary_path) = env("GITHUB_STEP_SUMMARY") {
        let summary =
            crate::report::render::render_summary_masked(&input, template.as_deref(), &mask)?;
        append(&summary_path, &summary).context("while writing the job summary")?;
    }
    if !event.head_repo.is_empty() && !event.head_repo.eq_ignore_ascii_case(&repo_name) {
        let dir = run_dir.join("bundle");
        let meta = bundle::Meta {
            version: bundle::BUNDLE_VERSION,
            repository: repo_name.clone(),
            pull_request: event.number,
            head_sha: event.head_sha.clone(),
            name: input.name.clone(),
            comment: comment_mode(config).to_owned(),
            verdict: verdict(record).to_owned(),
            run_url: input.run_url.clone(),
        };
        let run_json = serde_json::to_string_pretty(record)? + "\n";
        bundle::write(&dir, &meta, &body, &masker.mask(&run_json))
            .with_context(|| format!("while writing the bundle `{}`", dir.display()))?;
        eprintln!(
            "::notice::this pull request comes from the fork `{}`, whose token cannot comment: the report is in the job summary, and the bundle `{}` holds it for `mlops-ci comment --from` in a `workflow_run` workflow (the README shows both workflows)",
            event.head_repo,
            crate::display_path(&dir, &ctx.dir)
        );
        published.bundle_path = Some(dir.display().to_string());
        return Ok(published);
    }
    if config.report.comment == CommentMode::Off && crate::forge::Token::from_env().is_none() {
        eprintln!(
            "::notice::no `GITHUB_TOKEN`: no check run is set (`report.comment: off`, so no comment either); the report is in the job summary"
        );
        return Ok(published);
    }
    let forge = crate::forge::github::GitHubForge::from_env().map_err(|e| {
        anyhow!("{e} (give the step `GITHUB_TOKEN: ${{{{ github.token }}}}`, with `pull-requests: write` and `checks: write`)")
    })?;
    let target = Target {
        repo: &repo,
        number: event.number,
        name: &input.name,
    };
    published.comment_url =
        post_comment(ctx, &forge, config.report.comment, &target, &body).await?;
    let verdict = checks::Verdict {
        head_sha: event.head_sha,
        conclusion: if verdict(record) == "pass" {
            crate::forge::Conclusion::Success
        } else {
            crate::forge::Conclusion::Failure
        },
        title: headline(record, &input.comparison),
        report: body,
        details_url: input.run_url.clone(),
    };
    post_check(ctx, &forge, &repo, &verdict).await?;
    Ok(published)
}

fn comment_mode(config: &Config) -> &'static str {
    match config.report.comment {
        CommentMode::Sticky => "sticky",
        CommentMode::New => "new",
        CommentMode::Off => "off",
    }
}

fn append(path: &str, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("while opening `{path}`"))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("while writing `{path}`"))
}

/// Where a report comment goes.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub repo: &'a crate::forge::Repo,
    pub number: u64,
    /// The config's name, which makes the marker.
    pub name: &'a str,
}

/// Upserts (sticky), posts and folds the older ones (new), or leaves out (off) the PR comment;
/// returns its URL. A token that may not comment is a notice, not a failure: the job summary has
/// the report.
pub async fn post_comment(
    ctx: &Context,
    forge: &dyn crate::forge::Forge,
    mode: CommentMode,
    target: &Target<'_>,
    body: &str,
) -> anyhow::Result<Option<String>> {
    use crate::forge::ForgeError;
    let Target { repo, number, name } = *target;
    if mode == CommentMode::Off {
        return Ok(None);
    }
    let login = forge.whoami().await.map_err(|e| anyhow!("{e}"))?;
    let marker = crate::report::view::marker(name);
    let server = std::env::var("GITHUB_SERVER_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "https://github.com".to_owned());
    let posted = match mode {
        CommentMode::New => match comment::post_new(forge, repo, number, &login, body).await {
            Ok(id) => {
                let url = comment::comment_url(&server, repo, number, id);
                comment::supersede(forge, repo, number, &marker, &login, (id, &url))
                    .await
                    .map(|_| comment::CommentOutcome::Created(id))
            }
            Err(e) => Err(e),
        },
        _ => comment::upsert_sticky(forge, repo, number, &marker, &login, body).await,
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
            Ok(Some(comment::comment_url(&server, repo, number, done.id())))
        }
        Err(ForgeError::NotAccessible { .. }) => {
            eprintln!(
                "::notice::the token may not comment on #{number} (403, not accessible by integration); the report is in the job summary"
            );
            Ok(None)
        }
        Err(e) => Err(anyhow!("{e}"))
            .with_context(|| format!("while updating the PR comment on #{number}")),
    }
}

/// The check run (or status) with the verdict; a token that may do neither is a notice.
async fn post_check(
    ctx: &Context,
    forge: &dyn crate::forge::Forge,
    repo: &crate::forge::Repo,
    verdict: &checks::Verdict,
) -> anyhow::Result<()> {
    use crate::forge::ForgeError;
    let short = &verdict.head_sha[..verdict.head_sha.len().min(12)];
    match checks::post_verdict(forge, repo, verdict).await {
        Ok(posted) => {
            if !ctx.quiet {
                match posted {
                    checks::Posted::CheckRun(_) => {
                        eprintln!("set the check run `{}` on {short}", checks::CHECK_NAME);
                    }
                    checks::Posted::Status => eprintln!(
                        "set the commit status `{}` on {short} (check runs are not permitted to this token)",
                        checks::CHECK_NAME
                    ),
                }
            }
            Ok(())
        }
        Err(ForgeError::NotAccessible { .. }) => {
            eprintln!(
                "::notice::the token may set neither a check run nor a commit status on {short} (give the job `checks: write` or `statuses: write`)"
            );
            Ok(())
        }
        Err(ForgeError::Ambiguous { message }) => {
            eprintln!(
                "::warning::unknown whether the check run on {short} was created ({message}); not created again"
            );
            Ok(())
        }
        Err(e) => {
            Err(anyhow!("{e}")).with_context(|| format!("while setting the check run on {short}"))
        }
    }
}
