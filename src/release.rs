//! Releases of a model: the next version from the repository's tags, the annotated tag
//! (`vX.Y.Z`, or `NAME@vX.Y.Z` as GTO writes them), and the GitHub release whose notes compare the
//! tagged commit's recorded run with the previous release's. Uses `baseline` (notes), `compare`,
//! `report`, `forge`, and `container::tags` for versions.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, anyhow};
use indexmap::IndexMap;

use crate::baseline::{self, Note};
use crate::cli::{Bump, ReleaseArgs};
use crate::config::Config;
use crate::container::tags::{Version, highest_stable, release_version};
use crate::forge::{Forge, ForgeError, NewRelease, Repo};
use crate::report::input::ReportInput;
use crate::results::{BaselineUsed, GitInfo, Outcome, RunRecord, StageRecord};
use crate::{Context, ExitStatus};

/// The tag of `version`: `NAME@vX.Y.Z` with a model, else `vX.Y.Z`.
pub fn tag_name(model: Option<&str>, version: &Version) -> String {
    match model {
        Some(m) => format!("{m}@v{version}"),
        None => format!("v{version}"),
    }
}

/// The version to release: `--version` as given, or `--bump` applied to the highest stable
/// version of the line among `tags` (`0.0.0` when there is none).
pub fn next_version(
    args: &ReleaseArgs,
    model: Option<&str>,
    tags: &[String],
) -> anyhow::Result<Version> {
    if let Some(text) = &args.version {
        return Version::parse(text.trim_start_matches('v')).ok_or_else(|| {
            anyhow!("`--version {text}` is not a version such as `1.2.0` or `2.0.0-rc.1`")
        });
    }
    let sample = tag_name(model, &Version::parse("0.0.0").expect("a version"));
    let current = highest_stable(&sample, tags).unwrap_or_else(|| Version {
        major: 0,
        minor: 0,
        patch: 0,
        pre: String::new(),
        build: String::new(),
    });
    let (major, minor, patch) = match args.bump.unwrap_or(Bump::Patch) {
        Bump::Major => (current.major + 1, 0, 0),
        Bump::Minor => (current.major, current.minor + 1, 0),
        Bump::Patch => (current.major, current.minor, current.patch + 1),
    };
    Ok(Version {
        major,
        minor,
        patch,
        pre: String::new(),
        build: String::new(),
    })
}

/// The release before `version` in its line: the highest stable version below it.
fn previous(model: Option<&str>, version: &Version, tags: &[String]) -> Option<String> {
    let below: Vec<String> = tags
        .iter()
        .filter(|t| {
            release_version(t, model).is_some_and(|v| {
                v.is_stable()
                    && (v.major, v.minor, v.patch) < (version.major, version.minor, version.patch)
            })
        })
        .cloned()
        .collect();
    let sample = tag_name(model, version);
    let best = highest_stable(&sample, &below)?;
    Some(tag_name(model, &best))
}

/// The repository's tag names.
fn git_tags(workspace: &Path) -> anyhow::Result<Vec<String>> {
    let repo = git2::Repository::discover(workspace)
        .with_context(|| format!("`{}` is not in a git repository", workspace.display()))?;
    let names = repo.tag_names(None).context("while listing the tags")?;
    Ok(names
        .iter()
        .filter_map(|n| n.ok().flatten().map(str::to_owned))
        .collect())
}

/// The commit a tag or revision names.
fn commit_of(workspace: &Path, rev: &str) -> anyhow::Result<String> {
    let repo = git2::Repository::discover(workspace)?;
    let commit = repo
        .revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .with_context(|| format!("`{rev}` is not a commit here"))?;
    Ok(commit.id().to_string())
}

/// Writes the annotated tag `tag` on `sha` in the local repository.
fn tag_locally(workspace: &Path, tag: &str, sha: &str, message: &str) -> anyhow::Result<()> {
    let repo = git2::Repository::discover(workspace)?;
    let target = repo.find_object(git2::Oid::from_str(sha)?, None)?;
    let signature = repo
        .signature()
        .or_else(|_| git2::Signature::now("mlops-ci", "mlops-ci@localhost"))?;
    repo.tag(tag, &target, &signature, message, false)
        .with_context(|| format!("while creating the tag `{tag}`"))?;
    Ok(())
}

/// A recorded run (a baseline note) as a run record for the release notes, compared with the
/// previous release's note.
fn record_of(
    config: &Config,
    note: &Note,
    sha: &str,
    tag: &str,
    previous: Option<(&str, &str, &Note)>,
) -> RunRecord {
    let metrics = crate::measure::by_file(&note.metrics);
    let baseline = previous.map(|(tag, sha, note)| BaselineUsed {
        branch: tag.to_owned(),
        sha: sha.to_owned(),
        source: "notes".to_owned(),
        distance: 0,
        metrics: crate::measure::by_file(&note.metrics),
        params: crate::measure::by_file(&note.params),
    });
    let gates: Vec<crate::config::model::Gate> = config
        .stages
        .values()
        .flat_map(|s| s.gates.clone())
        .collect();
    let verdicts = crate::compare::evaluate_gates(
        &gates,
        &crate::results::merged(&metrics),
        baseline
            .as_ref()
            .map(|b| crate::results::merged(&b.metrics))
            .as_ref(),
        previous.map_or("the previous release", |(t, _, _)| t),
    );
    let result = if verdicts.iter().all(|g| g.passed) {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    RunRecord {
        version: crate::results::RUN_RECORD_VERSION,
        id: note.run_id.clone().unwrap_or_else(|| tag.to_owned()),
        mode: "release".to_owned(),
        event: "tag".to_owned(),
        git: GitInfo {
            sha: sha.to_owned(),
            git_ref: format!("refs/tags/{tag}"),
        },
        started_at: note.recorded_at.clone(),
        duration_ms: 0,
        result,
        baseline,
        params: crate::measure::by_file(&note.params),
        stages: vec![StageRecord {
            name: "recorded run".to_owned(),
            result,
            reason: None,
            duration_ms: 0,
            steps: Vec::new(),
            outputs: IndexMap::new(),
            metrics,
            gates: verdicts,
            image: None,
            data: Vec::new(),
        }],
    }
}

/// The note recorded on `sha`, if any (local notes; fetch them first).
fn note_on(workspace: &Path, sha: &str) -> anyhow::Result<Option<Note>> {
    Ok(baseline::read_note(workspace, sha)?)
}

/// The release notes of `tag`: `note` (the tagged commit's recorded run) against the previous
/// release's note, rendered from the release template and masked.
pub fn notes_for(
    config: &Config,
    workspace: &Path,
    tag: &str,
    sha: &str,
    note: &Note,
    previous: Option<&str>,
) -> anyhow::Result<String> {
    let before = match previous {
        Some(prev) => {
            let prev_sha = commit_of(workspace, prev)?;
            note_on(workspace, &prev_sha)?.map(|n| (prev.to_owned(), prev_sha, n))
        }
        None => None,
    };
    let record = record_of(
        config,
        note,
        sha,
        tag,
        before.as_ref().map(|(t, s, n)| (t.as_str(), s.as_str(), n)),
    );
    let name = config.name.clone().unwrap_or_else(|| tag.to_owned());
    let mut input = ReportInput::new(
        &name,
        config.report.clone(),
        record.clone(),
        crate::compare::of_run(config, &record),
    );
    input.run_url.clone_from(&note.run_url);
    if before.is_none() {
        "the previous release".clone_into(&mut input.baseline_name);
    }
    let template = match &config.release.as_ref().and_then(|r| r.notes.clone()) {
        Some(path) => Some(
            std::fs::read_to_string(workspace.join(path))
                .with_context(|| format!("while reading the release notes template `{path}`"))?,
        ),
        None => None,
    };
    let masker = crate::reporting::masker(config, |n| std::env::var(n).ok());
    let mut notes = crate::report::render::render_release_notes(&input, template.as_deref())?;
    notes = masker.mask(&notes).into_owned();
    if let Some(digest) = &note.image_digest {
        let _ = write!(notes, "\n### Image\n\n`{digest}`\n");
    }
    Ok(notes)
}

/// On a tag push: the GitHub release of the pushed tag, with notes from the commit's recorded
/// run (or, when it has none, this run's).
pub async fn on_tag_push(
    ctx: &Context,
    config: &Config,
    workspace: &Path,
    record: &RunRecord,
    git_ref: &str,
) -> anyhow::Result<Option<String>> {
    let tag = git_ref.strip_prefix("refs/tags/").unwrap_or(git_ref);
    let model = config.release.as_ref().and_then(|r| r.model.clone());
    let Some(version) = release_version(tag, model.as_deref()) else {
        if !ctx.quiet {
            eprintln!(
                "the tag `{tag}` is not a release tag (`vX.Y.Z` or `MODEL@vX.Y.Z`): no release made"
            );
        }
        return Ok(None);
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if crate::forge::Token::from_lookup(env).is_none() || env("GITHUB_REPOSITORY").is_none() {
        eprintln!(
            "::notice::no `GITHUB_TOKEN` or `GITHUB_REPOSITORY`: the GitHub release of `{tag}` is not made (give the job `GITHUB_TOKEN: ${{{{ github.token }}}}` with `contents: write`)"
        );
        return Ok(None);
    }
    baseline::fetch_notes(workspace, env("GITHUB_TOKEN").as_deref())
        .context("while fetching the recorded runs (notes) from `origin`")?;
    let sha = commit_of(workspace, git_ref)?;
    let note = match note_on(workspace, &sha)? {
        Some(note) => note,
        None => crate::publish::note_of(record),
    };
    let tags = git_tags(workspace)?;
    let previous = previous(model.as_deref(), &version, &tags);
    let notes = notes_for(config, workspace, tag, &sha, &note, previous.as_deref())?;
    let repo_name =
        env("GITHUB_REPOSITORY").ok_or_else(|| anyhow!("`GITHUB_REPOSITORY` is not set"))?;
    let repo = Repo::parse(&repo_name)
        .ok_or_else(|| anyhow!("`GITHUB_REPOSITORY` is `{repo_name}`, not `owner/name`"))?;
    let forge = crate::forge::github::GitHubForge::from_env().map_err(|e| anyhow!("{e}"))?;
    let url = publish(&forge, &repo, tag, &version, &notes)
        .await
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| {
            format!("while creating the release `{tag}` (the token needs `contents: write`)")
        })?;
    if !ctx.quiet {
        eprintln!("released `{tag}`: {url}");
    }
    Ok(Some(url))
}

/// Creates the GitHub release of `tag`, or updates its notes when it exists (a re-run).
pub async fn publish(
    forge: &dyn Forge,
    repo: &Repo,
    tag: &str,
    version: &Version,
    notes: &str,
) -> Result<String, ForgeError> {
    if let Some(existing) = forge.release_by_tag(repo, tag).await? {
        if existing.body != notes {
            forge.update_release(repo, existing.id, notes).await?;
        }
        return Ok(existing.url);
    }
    let release = NewRelease {
        tag: tag.to_owned(),
        name: tag.to_owned(),
        body: notes.to_owned(),
        prerelease: !version.is_stable(),
    };
    match forge.create_release(repo, &release).await {
        Ok(made) => Ok(made.url),
        Err(ForgeError::Ambiguous { message }) => forge
            .release_by_tag(repo, tag)
            .await?
            .map(|r| r.url)
            .ok_or(ForgeError::Ambiguous { message }),
        Err(e) => Err(e),
    }
}

/// `mlops-ci release`: the next version's annotated tag on `HEAD`; in GitHub Actions, the tag
/// through the API and the GitHub release with its notes.
pub async fn release(ctx: &Context, args: &ReleaseArgs) -> anyhow::Result<ExitStatus> {
    let loaded = crate::load(ctx)?;
    let config = &loaded.config;
    let workspace = crate::workspace(ctx, Some(&loaded));
    let model = args
        .model
        .clone()
        .or_else(|| config.release.as_ref().and_then(|r| r.model.clone()));
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let in_ci = env("GITHUB_ACTIONS").as_deref() == Some("true");
    let token = env("GITHUB_TOKEN");
    baseline::fetch_notes(&workspace, token.as_deref())
        .context("while fetching the recorded runs (notes) from `origin`")?;
    let tags = git_tags(&workspace)?;
    let version = next_version(args, model.as_deref(), &tags)?;
    let tag = tag_name(model.as_deref(), &version);
    if tags.contains(&tag) {
        return Err(anyhow!(
            "the tag `{tag}` exists already; pick another `--version` or `--bump`"
        ));
    }
    let (sha, _) = baseline::head(&workspace)?;
    let previous = previous(model.as_deref(), &version, &tags);
    let note = note_on(&workspace, &sha)?.ok_or_else(|| {
        anyhow!(
            "commit {} has no recorded run to release: a `mlops-ci run` on a push to the baseline branch records one (its note under `{}`)",
            &sha[..sha.len().min(12)],
            baseline::NOTES_REF
        )
    })?;
    let notes = notes_for(config, &workspace, &tag, &sha, &note, previous.as_deref())?;
    let message = format!("{tag}\n\nReleased by mlops-ci.");
    if !in_ci {
        tag_locally(&workspace, &tag, &sha, &message)?;
        let path = workspace
            .join(".mlops")
            .join(format!("release-{tag}.md").replace('@', "-"));
        std::fs::create_dir_all(workspace.join(".mlops"))?;
        std::fs::write(&path, &notes)?;
        if !ctx.quiet {
            eprintln!(
                "tagged {} as `{tag}` (previous release: {}); its notes are in `{}`\npush it with `git push origin {tag}`: the tag push's `mlops-ci run` makes the GitHub release",
                &sha[..12],
                previous
                    .as_deref()
                    .map_or("none".to_owned(), |p| format!("`{p}`")),
                crate::display_path(&path, &ctx.dir)
            );
        }
        return Ok(ExitStatus::Success);
    }
    let repo_name =
        env("GITHUB_REPOSITORY").ok_or_else(|| anyhow!("`GITHUB_REPOSITORY` is not set"))?;
    let repo = Repo::parse(&repo_name)
        .ok_or_else(|| anyhow!("`GITHUB_REPOSITORY` is `{repo_name}`, not `owner/name`"))?;
    let forge = crate::forge::github::GitHubForge::from_env().map_err(|e| anyhow!("{e}"))?;
    forge
        .create_tag(&repo, &tag, &message, &sha)
        .await
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| {
            format!("while creating the tag `{tag}` (the token needs `contents: write`)")
        })?;
    let url = publish(&forge, &repo, &tag, &version, &notes)
        .await
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("while creating the release `{tag}`"))?;
    if !ctx.quiet {
        eprintln!("released `{tag}`: {url}");
    }
    Ok(ExitStatus::Success)
}
