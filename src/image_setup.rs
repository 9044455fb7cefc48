//! What a run's images share, worked out before the run starts: the engine (an unreachable
//! one stops `run` at once, and makes `check` skip images), the event's tag context from
//! `ci`, the commit from git, the digest an earlier run recorded in the commit's baseline note,
//! and the labels known up front.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::anyhow;
use indexmap::IndexMap;
use sha2::{Digest as _, Sha256};

use crate::ci::{EventKind, Invocation};
use crate::config::Config;
use crate::container::DockerEngine;
use crate::container::tags::TagEvent;
use crate::execute::image::ImageSetup;

/// The commit a workspace is at, from git.
#[derive(Debug, Default)]
struct Commit {
    sha: String,
    time: u64,
    dirty: bool,
    tags: Vec<String>,
    origin: Option<String>,
}

fn commit(workspace: &Path) -> Commit {
    let Ok(repo) = git2::Repository::discover(workspace) else {
        return Commit::default();
    };
    let Ok(head) = repo.head().and_then(|h| h.peel_to_commit()) else {
        return Commit::default();
    };
    let mut options = git2::StatusOptions::new();
    options.include_untracked(false).include_ignored(false);
    let dirty = repo
        .statuses(Some(&mut options))
        .is_ok_and(|s| !s.is_empty());
    let tags = repo
        .tag_names(None)
        .map(|t| t.iter().flatten().flatten().map(str::to_owned).collect())
        .unwrap_or_default();
    let origin = repo
        .find_remote("origin")
        .ok()
        .and_then(|r| r.url().ok().map(str::to_owned));
    Commit {
        sha: head.id().to_string(),
        time: u64::try_from(head.time().seconds()).unwrap_or(0),
        dirty,
        tags,
        origin,
    }
}

/// The pull request's number and head commit, from the event payload or `refs/pull/N/merge`.
fn pull_request(
    var: &impl Fn(&str) -> Option<String>,
    git_ref: Option<&str>,
) -> (u64, Option<String>) {
    let payload: serde_json::Value = var("GITHUB_EVENT_PATH")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let number = payload
        .get("number")
        .or_else(|| payload.pointer("/pull_request/number"))
        .and_then(serde_json::Value::as_u64)
        .or_else(|| {
            git_ref?
                .strip_prefix("refs/pull/")?
                .split('/')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    let head = payload
        .pointer("/pull_request/head/sha")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    (number, head)
}

/// The SPDX id of the repository's licence, from the first lines of its `LICENSE` file.
fn license(workspace: &Path) -> Option<String> {
    let text = ["LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING"]
        .iter()
        .find_map(|f| std::fs::read_to_string(workspace.join(f)).ok())?;
    let head: String = text.lines().take(5).collect::<Vec<_>>().join(" ");
    let id = if head.contains("MIT License") || head.trim() == "MIT" {
        "MIT"
    } else if head.contains("Apache License") {
        "Apache-2.0"
    } else if head.contains("BSD 3-Clause") {
        "BSD-3-Clause"
    } else {
        "NOASSERTION"
    };
    Some(id.to_owned())
}

/// The sha256 of the data the stages name (`data` checks and `deps`), each file's path and
/// bytes in path order; `None` when they name none that exists.
fn data_hash(config: &Config, workspace: &Path) -> Option<String> {
    let mut files = Vec::new();
    for stage in config.stages.values() {
        for path in stage.data.iter().map(|d| &d.path).chain(&stage.deps) {
            collect(&workspace.join(path), &mut files);
        }
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        return None;
    }
    let mut hasher = Sha256::new();
    for f in &files {
        hasher.update(
            f.strip_prefix(workspace)
                .unwrap_or(f)
                .to_string_lossy()
                .as_bytes(),
        );
        hasher.update([0]);
        hasher.update(std::fs::read(f).unwrap_or_default());
    }
    let hex = hasher.finalize().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    Some(format!("sha256:{hex}"))
}

fn collect(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
    } else if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            collect(&e.path(), out);
        }
    }
}

/// `https://github.com/o/r` from `GITHUB_SERVER_URL`/`GITHUB_REPOSITORY`, else `origin`'s URL.
fn source_url(var: &impl Fn(&str) -> Option<String>, origin: Option<&str>) -> String {
    if let (Some(server), Some(repo)) = (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY")) {
        if !repo.is_empty() {
            return format!("{server}/{repo}");
        }
    }
    let Some(url) = origin else {
        return String::new();
    };
    let url = url.trim_end_matches(".git");
    match url.strip_prefix("git@").and_then(|r| r.split_once(':')) {
        Some((host, path)) => format!("https://{host}/{path}"),
        None => url.to_owned(),
    }
}

/// The labels known before the run: OCI title, description, source, revision, created and
/// licence; the baseline, the data's hash and the run's URL.
fn labels(
    config: &Config,
    workspace: &Path,
    model: &str,
    sha: &str,
    time: u64,
    origin: Option<&str>,
    found: &crate::measure::BaselineFound,
) -> IndexMap<String, String> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let source = source_url(&var, origin);
    let mut labels = IndexMap::new();
    let mut put = |k: &str, v: String| {
        labels.insert(k.to_owned(), v);
    };
    let oci = "org.opencontainers.image";
    put(&format!("{oci}.title"), model.to_owned());
    put(
        &format!("{oci}.description"),
        format!("the `{model}` model, built and gated by mlops-ci"),
    );
    put(&format!("{oci}.url"), source.clone());
    put(&format!("{oci}.source"), source);
    put(&format!("{oci}.revision"), sha.to_owned());
    put(
        &format!("{oci}.created"),
        crate::results::utc_timestamp(UNIX_EPOCH + Duration::from_secs(time)),
    );
    if let Some(l) = license(workspace) {
        put(&format!("{oci}.licenses"), l);
    }
    if let Some(b) = &found.used {
        put("io.mlops-ci.baseline.sha", b.sha.clone());
    }
    if let Some(h) = data_hash(config, workspace) {
        put("io.mlops-ci.data.hash", h);
    }
    if let (Some(server), Some(repo), Some(id)) = (
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_RUN_ID"),
    ) {
        put(
            "io.mlops-ci.run.url",
            format!("{server}/{repo}/actions/runs/{id}"),
        );
    }
    labels.retain(|_, v| !v.is_empty());
    labels
}

/// The image setup of a run, or `None` when no stage has an `image`. Under `run` an
/// unreachable engine is an error, before anything runs; under `check` images are skipped.
pub async fn setup(
    config: &Config,
    workspace: &Path,
    check: bool,
    found: &crate::measure::BaselineFound,
) -> anyhow::Result<Option<Arc<ImageSetup>>> {
    if config.stages.values().all(|s| s.image.is_none()) {
        return Ok(None);
    }
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let engine = DockerEngine::connect(&var).await.map_err(|e| e.to_string());
    if let (false, Err(why)) = (check, &engine) {
        return Err(anyhow!("{why}; nothing was built, tagged or pushed"));
    }
    let head = commit(workspace);
    let invocation = Invocation::from_env();
    let mut sha = if head.sha.is_empty() {
        "unknown".to_owned()
    } else {
        head.sha.clone()
    };
    let event = match (check, invocation.event) {
        (true, _) | (false, EventKind::Local) => TagEvent::Local { dirty: head.dirty },
        (false, EventKind::PullRequest) => {
            let (number, pr_head) = pull_request(&var, invocation.git_ref.as_deref());
            if let Some(h) = pr_head {
                sha = h;
            }
            TagEvent::PullRequest { number }
        }
        (false, EventKind::Push) => {
            let name = invocation
                .git_ref
                .as_deref()
                .map(|r| r.strip_prefix("refs/heads/").unwrap_or(r).to_owned())
                .unwrap_or_default();
            let baseline = config.baseline.branch.as_deref().unwrap_or("main") == name;
            TagEvent::Branch { name, baseline }
        }
        (false, EventKind::Tag) => {
            let tag = invocation
                .git_ref
                .as_deref()
                .and_then(|r| r.strip_prefix("refs/tags/"))
                .unwrap_or_default()
                .to_owned();
            let mut all = head.tags.clone();
            if !all.contains(&tag) {
                all.push(tag.clone());
            }
            TagEvent::Release { tag, all }
        }
    };
    let promote_from = match &event {
        TagEvent::Release { .. } => crate::baseline::read_note(workspace, &head.sha)
            .ok()
            .flatten()
            .and_then(|n| n.image_digest),
        _ => None,
    };
    let time = if head.time > 0 {
        head.time
    } else {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let model = config
        .release
        .as_ref()
        .and_then(|r| r.model.clone())
        .or_else(|| config.name.clone())
        .unwrap_or_else(|| {
            workspace
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let labels = labels(
        config,
        workspace,
        &model,
        &sha,
        time,
        head.origin.as_deref(),
        found,
    );
    Ok(Some(Arc::new(ImageSetup {
        engine,
        event,
        sha,
        commit_time: time,
        promote_from,
        labels,
        model,
        fatal: Mutex::new(None),
        retry_delay: Duration::from_secs(1),
    })))
}
