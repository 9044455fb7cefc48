//! A fork's publishable bundle: what a pull request's run from a fork (whose read-only token
//! cannot comment) leaves for a trusted `workflow_run` workflow to post, and the checks that
//! workflow makes before it trusts the bundle. Uses `forge`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::forge::{Forge, ForgeError, Repo};

/// The bundle format; a bundle of another version is refused.
pub const BUNDLE_VERSION: u32 = 1;
/// The bundle's description of the pull request and the report.
pub const META_FILE: &str = "bundle.json";
/// The PR comment, rendered and masked.
pub const REPORT_FILE: &str = "report.md";
/// The run record.
pub const RUN_FILE: &str = "run.json";

/// What the bundle says of itself. Written by an untrusted run: every field is checked before
/// use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub version: u32,
    /// The base repository, `owner/name`.
    pub repository: String,
    pub pull_request: u64,
    /// The PR head the run tested.
    pub head_sha: String,
    /// The config's name: the report's marker.
    pub name: String,
    /// `sticky`, `new` or `off`, from the config the run used.
    pub comment: String,
    /// `pass`, `fail` or `cancelled`.
    pub verdict: String,
    /// The fork's run, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
}

/// Why a bundle is not published.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read the bundle `{}`: {message}", path.display())]
    Unreadable { path: PathBuf, message: String },
    #[error("the bundle `{}` is not a bundle of this version: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Mismatch(String),
    /// The pull request moved on since the run: not an error, a newer run reports.
    #[error("{0}")]
    Stale(String),
    #[error(transparent)]
    Forge(#[from] ForgeError),
}

/// Writes `dir` (created) with the meta, the report and the run record.
pub fn write(dir: &Path, meta: &Meta, report: &str, run_json: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let meta = serde_json::to_string_pretty(meta).map_err(std::io::Error::other)?;
    std::fs::write(dir.join(META_FILE), meta + "\n")?;
    std::fs::write(dir.join(REPORT_FILE), report)?;
    std::fs::write(dir.join(RUN_FILE), run_json)
}

/// A bundle, read and checked for shape.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub meta: Meta,
    pub report: String,
}

/// Reads the bundle in `dir`: the meta must parse and be of [`BUNDLE_VERSION`], the report must
/// be UTF-8 and carry the marker of the meta's name, and fit a comment.
pub fn read(dir: &Path) -> Result<Bundle, BundleError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| BundleError::Unreadable {
            path,
            message: e.to_string(),
        })
    };
    let invalid = |message: String| BundleError::Invalid {
        path: dir.to_path_buf(),
        message,
    };
    let meta: Meta = serde_json::from_str(&read(META_FILE)?)
        .map_err(|e| invalid(format!("`{META_FILE}`: {e}")))?;
    if meta.version != BUNDLE_VERSION {
        return Err(invalid(format!(
            "version {}, this mlops-ci reads version {BUNDLE_VERSION}",
            meta.version
        )));
    }
    if Repo::parse(&meta.repository).is_none() {
        return Err(invalid(format!(
            "`repository` is `{}`, not `owner/name`",
            meta.repository
        )));
    }
    if meta.head_sha.len() != 40 || !meta.head_sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(invalid("`head_sha` is not a commit SHA".to_owned()));
    }
    let report = read(REPORT_FILE)?;
    let marker = crate::report::view::marker(&meta.name);
    if !report.starts_with(&marker) {
        return Err(invalid(format!(
            "`{REPORT_FILE}` does not start with `{marker}`"
        )));
    }
    if report.chars().count() > crate::report::render::COMMENT_LIMIT {
        return Err(invalid(format!(
            "`{REPORT_FILE}` is longer than a comment may be"
        )));
    }
    Ok(Bundle { meta, report })
}

/// Checks that the bundle is about the pull request the trusted workflow was woken for:
/// the same repository, the `workflow_run` event's head commit, and the pull request's head on
/// the forge right now (one API call). A bundle that names another PR, or a PR that moved on
/// since, is refused.
pub async fn verify(
    forge: &dyn Forge,
    bundle: &Bundle,
    repository: &str,
    event: Option<&serde_json::Value>,
) -> Result<Repo, BundleError> {
    let meta = &bundle.meta;
    if !meta.repository.eq_ignore_ascii_case(repository) {
        return Err(BundleError::Mismatch(format!(
            "the bundle is for `{}`, this workflow runs in `{repository}`",
            meta.repository
        )));
    }
    if let Some(run) = event.map(|e| &e["workflow_run"]).filter(|r| r.is_object()) {
        let head = run["head_sha"].as_str().unwrap_or_default();
        if head != meta.head_sha {
            return Err(BundleError::Mismatch(format!(
                "the bundle tested {}, but the workflow run that made it was for {head}",
                meta.head_sha
            )));
        }
    }
    let repo = Repo::parse(repository).ok_or_else(|| {
        BundleError::Mismatch(format!(
            "`GITHUB_REPOSITORY` is `{repository}`, not `owner/name`"
        ))
    })?;
    let pull = forge.pull_request(&repo, meta.pull_request).await?;
    if pull.head_sha != meta.head_sha {
        return Err(BundleError::Stale(format!(
            "pull request #{} is at {} now, the bundle tested {}: a newer run will post its own report",
            meta.pull_request, pull.head_sha, meta.head_sha
        )));
    }
    Ok(repo)
}

/// `mlops-ci comment --from DIR`: posts a fork's report from its bundle, in a trusted
/// `workflow_run` workflow, after [`verify`]. Only the comment: a check run saying "pass" would
/// rest on the untrusted run's word, so the fork's own run status stays the verdict.
pub async fn comment_from(ctx: &crate::Context, dir: &Path) -> anyhow::Result<crate::ExitStatus> {
    use anyhow::{Context as _, anyhow};
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let dir = ctx.dir.join(dir);
    let bundle = read(&dir)?;
    let repository = env("GITHUB_REPOSITORY").ok_or_else(|| {
        anyhow!("`GITHUB_REPOSITORY` is not set: run `mlops-ci comment --from` in a GitHub Actions `workflow_run` workflow")
    })?;
    let event = match env("GITHUB_EVENT_PATH") {
        Some(path) => Some(
            serde_json::from_str::<serde_json::Value>(
                &std::fs::read_to_string(&path)
                    .with_context(|| format!("while reading `{path}`"))?,
            )
            .with_context(|| format!("`{path}` is not a JSON event"))?,
        ),
        None => None,
    };
    let forge = crate::forge::github::GitHubForge::from_env().map_err(|e| anyhow!("{e}"))?;
    let repo = match verify(&forge, &bundle, &repository, event.as_ref()).await {
        Ok(repo) => repo,
        Err(BundleError::Stale(why)) => {
            eprintln!("::notice::{why}; nothing posted");
            return Ok(crate::ExitStatus::Success);
        }
        Err(e) => return Err(e.into()),
    };
    let mode = match bundle.meta.comment.as_str() {
        "off" => crate::config::model::CommentMode::Off,
        "new" => crate::config::model::CommentMode::New,
        _ => crate::config::model::CommentMode::Sticky,
    };
    let target = super::Target {
        repo: &repo,
        number: bundle.meta.pull_request,
        name: &bundle.meta.name,
    };
    let url = super::post_comment(ctx, &forge, mode, &target, &bundle.report).await?;
    super::outputs::Outputs {
        verdict: bundle.meta.verdict.clone(),
        report_path: Some(dir.join(REPORT_FILE).display().to_string()),
        comment_url: url,
        ..super::outputs::Outputs::default()
    }
    .write(env)?;
    Ok(crate::ExitStatus::Success)
}
