//! The baseline's metrics and profiles via git2, read from the object database without a checkout;
//! writes notes. A boundary module: it returns plain data, no git2 type leaks out, and it uses no
//! other module of the crate.
//!
//! Results of runs on the baseline branch are kept as JSON notes on their commits under
//! [`NOTES_REF`], pushed to the remote so that pull-request runs can fetch and read them. Nothing
//! here runs a hook, a filter driver or `core.fsmonitor`: git2 reads objects, it does not check out.
//!
//! Fetching and pushing go two ways. A remote whose URL is a path or a `file://` URL is opened
//! directly and objects are copied between the two object databases, with the notes ref updated by
//! compare-and-swap, because libgit2's local transport neither deepens a shallow clone nor updates
//! a pushed ref atomically. Any other remote (HTTPS on GitHub) goes through libgit2's smart
//! transport, with `GITHUB_TOKEN` as `x-access-token` basic auth.

mod history;
mod notes;
mod transfer;

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Where baseline notes live, locally and on the remote.
pub const NOTES_REF: &str = "refs/notes/mlops-ci";
/// Where the remote's notes are fetched to before they are merged into [`NOTES_REF`], so that
/// a fetch never clobbers notes recorded here and not yet pushed.
pub const REMOTE_NOTES_REF: &str = "refs/notes/mlops-ci-remote";
/// The remote a baseline is fetched from.
pub const REMOTE: &str = "origin";
/// The note format this version writes and the newest it reads.
pub const NOTE_VERSION: u32 = 1;
/// How many times [`push`] fetches, merges and pushes again when another run pushed first.
pub const PUSH_ATTEMPTS: u32 = 5;
/// What to do when history is missing in a CI checkout.
pub const FETCH_DEPTH_HINT: &str = "use `fetch-depth: 0` in actions/checkout";

/// One run's results, as a JSON note on the commit it ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// The note format; [`NOTE_VERSION`] when written by this version.
    pub version: u32,
    #[serde(default)]
    pub metrics: serde_json::Value,
    #[serde(default)]
    pub params: serde_json::Value,
    #[serde(default)]
    pub profiles: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// When the run recorded it, RFC 3339 in UTC (`2026-11-26T05:27:12Z`). When two runs
    /// recorded a note on the same commit, the later `recorded_at` wins the merge.
    pub recorded_at: String,
}

/// How to find the baseline: `config.baseline` without the parts this module does not need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `baseline.branch`; `None`: `GITHUB_BASE_REF`, else `origin/HEAD`, else `main`.
    pub branch: Option<String>,
    /// `commit: tip`: the branch's tip rather than its merge-base with `HEAD`.
    pub tip: bool,
    /// How many first-parent commits to walk back from the baseline commit to find a note.
    pub walk: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            branch: None,
            tip: false,
            walk: 50,
        }
    }
}

/// A baseline note was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The baseline branch.
    pub branch: String,
    /// The baseline commit: the merge-base of `HEAD` and the branch, or the branch's tip.
    pub merge_base: String,
    /// The commit the note is on.
    pub sha: String,
    /// First-parent steps from `merge_base` back to `sha`; 0 when the note is on `merge_base`.
    pub distance: u32,
    pub note: Note,
}

/// The outcome of [`find`].
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per run; unboxed so callers can match on it
pub enum Lookup {
    Found(Found),
    /// No note on the baseline commit nor within `walk` first-parent commits of it; on a first
    /// run there are no notes anywhere. A reported state, not an error.
    NoBaseline {
        branch: String,
        /// `None` when no note exists at all and the baseline commit could not be resolved.
        merge_base: Option<String>,
        /// How many commits were looked at.
        searched: u32,
    },
}

/// What [`push`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// Push attempts made; 0 when there was nothing to push, more than 1 when another run
    /// pushed first and the notes were merged.
    pub attempts: u32,
    /// The remote's notes commit afterwards; `None` when there are no notes here at all.
    pub remote_tip: Option<String>,
}

/// Why a baseline could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("`{}` is not a git repository: {message}", dir.display())]
    NotARepository { dir: PathBuf, message: String },
    #[error("the repository has no commits yet")]
    NoCommits,
    #[error("`{0}` is not a commit in this repository")]
    UnknownCommit(String),
    #[error("no remote `{0}` in this repository")]
    NoRemote(String),
    #[error(
        "the baseline branch `{branch}` is not in this clone, and {reason}; {FETCH_DEPTH_HINT}, or set `baseline.branch`"
    )]
    BranchNotFound { branch: String, reason: String },
    #[error("{what}; {FETCH_DEPTH_HINT}")]
    MissingHistory { what: String },
    #[error("the note on {sha} is not a baseline note: {reason}")]
    BadNote { sha: String, reason: String },
    #[error("`{path}` in {sha} is {reason}")]
    BadPath {
        sha: String,
        path: String,
        reason: String,
    },
    #[error("could not push `{NOTES_REF}` to `{remote}` after {attempts} attempts: {reason}")]
    PushRejected {
        remote: String,
        attempts: u32,
        reason: String,
    },
    #[error("{doing}: {message}")]
    Git { doing: String, message: String },
}

/// Turns a git2 error into a [`BaselineError::Git`] saying what we were doing.
trait Doing<T> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, BaselineError>;
}

impl<T> Doing<T> for Result<T, git2::Error> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, BaselineError> {
        self.map_err(|e| BaselineError::Git {
            doing: what(),
            message: e.message().to_owned(),
        })
    }
}

fn open(repo_dir: &Path) -> Result<Repository, BaselineError> {
    Repository::discover(repo_dir).map_err(|e| BaselineError::NotARepository {
        dir: repo_dir.to_path_buf(),
        message: e.message().to_owned(),
    })
}

fn commit_id(repo: &Repository, sha: &str) -> Result<Oid, BaselineError> {
    repo.revparse_single(sha)
        .and_then(|o| o.peel_to_commit())
        .map(|c| c.id())
        .map_err(|_| BaselineError::UnknownCommit(sha.to_owned()))
}

/// Finds the baseline note for `HEAD`: resolves the branch and its commit, fetches the remote's
/// notes (and the branch or more history when the clone lacks them), then reads the note of the
/// baseline commit or of the nearest first-parent ancestor within `settings.walk` that has one.
/// `env` reads `GITHUB_BASE_REF` and `GITHUB_TOKEN`.
#[allow(clippy::needless_pass_by_value)]
pub fn find(
    repo_dir: &Path,
    settings: &Settings,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Lookup, BaselineError> {
    history::find(repo_dir, settings, &env)
}

/// The baseline branch and commit (for `store: tree`), fetching the branch or more history when
/// the clone lacks them.
#[allow(clippy::needless_pass_by_value)]
pub fn baseline_commit(
    repo_dir: &Path,
    settings: &Settings,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(String, String), BaselineError> {
    let mut repo = open(repo_dir)?;
    let token = env("GITHUB_TOKEN");
    let branch = history::branch_name(&repo, settings, &env);
    let sha = history::resolve_commit(&mut repo, &branch, settings.tip, token.as_deref())?;
    Ok((branch, sha.to_string()))
}

/// Reads files from the tree of commit `sha`, straight from the object database: no checkout,
/// no filters (a Git LFS file reads as its pointer). `None`: no such file in that tree.
pub fn read_files(
    repo_dir: &Path,
    sha: &str,
    paths: &[String],
) -> Result<IndexMap<String, Option<Vec<u8>>>, BaselineError> {
    let repo = open(repo_dir)?;
    let id = commit_id(&repo, sha)?;
    let tree = repo
        .find_commit(id)
        .and_then(|c| c.tree())
        .doing(|| format!("while reading the tree of {sha}"))?;
    let mut out = IndexMap::new();
    for path in paths {
        let clean = path.trim_start_matches("./").trim_end_matches('/');
        if clean.is_empty() || clean.split('/').any(|part| part == ".." || part == ".") {
            return Err(BaselineError::BadPath {
                sha: sha.to_owned(),
                path: path.clone(),
                reason: "not a plain relative path".to_owned(),
            });
        }
        let entry = match tree.get_path(Path::new(clean)) {
            Ok(entry) => entry,
            Err(e) if e.code() == git2::ErrorCode::NotFound => {
                out.insert(path.clone(), None);
                continue;
            }
            Err(e) => return Err(e).doing(|| format!("while looking up `{path}` in {sha}")),
        };
        let object = entry
            .to_object(&repo)
            .doing(|| format!("while reading `{path}` in {sha}"))?;
        let Some(blob) = object.as_blob() else {
            return Err(BaselineError::BadPath {
                sha: sha.to_owned(),
                path: path.clone(),
                reason: "a directory or submodule, not a file".to_owned(),
            });
        };
        out.insert(path.clone(), Some(blob.content().to_vec()));
    }
    Ok(out)
}

/// Writes `note` on commit `sha` under [`NOTES_REF`], replacing a note already there. Local only:
/// [`push`] sends it.
pub fn record(repo_dir: &Path, sha: &str, note: &Note) -> Result<(), BaselineError> {
    let repo = open(repo_dir)?;
    let id = commit_id(&repo, sha)?;
    notes::write(&repo, id, note)
}

/// Up to `count` notes of commit `sha` and its first-parent ancestors, at most `walk` commits
/// back, oldest first, each with its commit: the branch's recent history for trend charts. Local
/// only: it stops where the clone's history does and fetches nothing.
pub fn recent_notes(
    repo_dir: &Path,
    sha: &str,
    count: usize,
    walk: u32,
) -> Result<Vec<(String, Note)>, BaselineError> {
    let repo = open(repo_dir)?;
    let mut current = Some(commit_id(&repo, sha)?);
    let mut found = Vec::new();
    let mut looked = 0;
    while let Some(id) = current {
        if found.len() >= count || looked > walk {
            break;
        }
        looked += 1;
        if let Some(note) = notes::read(&repo, id)? {
            found.push((id.to_string(), note));
        }
        current = repo
            .find_commit(id)
            .ok()
            .and_then(|c| c.parent_ids().next())
            .filter(|p| repo.find_commit(*p).is_ok());
    }
    found.reverse();
    Ok(found)
}

/// Fetches `origin`'s notes and merges them into the local ones (the later `recorded_at` wins on
/// one commit). `false` when there is no `origin` or it has no notes.
pub fn fetch_notes(repo_dir: &Path, token: Option<&str>) -> Result<bool, BaselineError> {
    let repo = open(repo_dir)?;
    if transfer::origin(&repo, REMOTE)?.is_none() {
        return Ok(false);
    }
    if !transfer::fetch(&repo, REMOTE, NOTES_REF, REMOTE_NOTES_REF, false, token)? {
        return Ok(false);
    }
    let theirs = repo
        .refname_to_id(REMOTE_NOTES_REF)
        .doing(|| format!("while reading `{REMOTE_NOTES_REF}`"))?;
    notes::merge_into_local(&repo, theirs)?;
    Ok(true)
}

/// Reads the note on commit `sha` from the local [`NOTES_REF`], without fetching.
pub fn read_note(repo_dir: &Path, sha: &str) -> Result<Option<Note>, BaselineError> {
    let repo = open(repo_dir)?;
    let id = commit_id(&repo, sha)?;
    notes::read(&repo, id)
}

/// Pushes [`NOTES_REF`] to `remote`. When another run pushed first, fetches the remote's notes,
/// merges them (notes on different commits: both kept; on the same commit: the later
/// `recorded_at` wins, a tie keeps this run's) and tries again, up to [`PUSH_ATTEMPTS`] times.
/// `token` is sent as `x-access-token` basic auth to HTTPS remotes.
pub fn push(
    repo_dir: &Path,
    remote: &str,
    token: Option<&str>,
) -> Result<PushOutcome, BaselineError> {
    let repo = open(repo_dir)?;
    transfer::push_notes(&repo, remote, token)
}

/// `HEAD`'s commit, and its branch unless detached.
pub fn head(repo_dir: &Path) -> Result<(String, Option<String>), BaselineError> {
    let repo = open(repo_dir)?;
    let head = match repo.head() {
        Ok(head) => head,
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => {
            return Err(BaselineError::NoCommits);
        }
        Err(e) => return Err(e).doing(|| "while reading `HEAD`".to_owned()),
    };
    let commit = head
        .peel_to_commit()
        .doing(|| "while reading `HEAD`".to_owned())?;
    let branch = head
        .is_branch()
        .then(|| head.shorthand().ok().map(str::to_owned))
        .flatten();
    Ok((commit.id().to_string(), branch))
}
