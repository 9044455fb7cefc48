//! `uses:` actions: reading `owner/repo[/path]@ref` and `./path`, loading `action.yml`, and
//! fetching a remote action with git2 from `GITHUB_SERVER_URL` into a cache. Returns plain
//! data; running an action is the stage's business.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

use crate::config::model::Step;

/// Where an action comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionRef {
    /// `./path` in the workspace.
    Local(String),
    /// `owner/repo[/path]@ref`.
    Remote {
        owner: String,
        repo: String,
        path: Option<String>,
        git_ref: String,
    },
    /// `docker://image`.
    Docker(String),
}

impl ActionRef {
    pub fn parse(uses: &str) -> Result<Self, String> {
        let uses = uses.trim();
        if let Some(image) = uses.strip_prefix("docker://") {
            return Ok(Self::Docker(image.to_owned()));
        }
        if uses.starts_with("./") || uses.starts_with("../") {
            return Ok(Self::Local(uses.to_owned()));
        }
        let (target, git_ref) = uses.rsplit_once('@').ok_or_else(|| {
            format!("`uses: {uses}` names no ref: write `owner/repo@v1` (a tag, branch or commit)")
        })?;
        let mut parts = target.splitn(3, '/');
        let (Some(owner), Some(repo)) = (parts.next(), parts.next()) else {
            return Err(format!(
                "`uses: {uses}` is not `owner/repo@ref` or `./path`"
            ));
        };
        if owner.is_empty() || repo.is_empty() || git_ref.is_empty() {
            return Err(format!(
                "`uses: {uses}` is not `owner/repo@ref` or `./path`"
            ));
        }
        Ok(Self::Remote {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            path: parts.next().map(str::to_owned),
            git_ref: git_ref.to_owned(),
        })
    }
}

/// `action.yml`, the parts a run needs.
#[derive(Debug, Clone, Deserialize)]
pub struct ActionDef {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub inputs: IndexMap<String, InputDef>,
    #[serde(default)]
    pub outputs: IndexMap<String, OutputDef>,
    pub runs: Runs,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct InputDef {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OutputDef {
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Runs {
    pub using: String,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub main: Option<String>,
    #[serde(default)]
    pub pre: Option<String>,
    #[serde(default)]
    pub post: Option<String>,
    #[serde(default)]
    pub pre_if: Option<String>,
    #[serde(default)]
    pub post_if: Option<String>,
}

/// How an action runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Composite,
    Node,
    Docker,
}

impl ActionDef {
    /// Reads `action.yml` (or `action.yaml`) in `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let file = ["action.yml", "action.yaml"]
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("no `action.yml` in `{}`", dir.display()))?;
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("could not read `{}`: {e}", file.display()))?;
        serde_saphyr::from_str(&text)
            .map_err(|e| format!("`{}` is not a valid action: {e}", file.display()))
    }

    pub fn kind(&self) -> Result<Kind, String> {
        match self.runs.using.as_str() {
            "composite" => Ok(Kind::Composite),
            "node20" | "node24" | "node16" => Ok(Kind::Node),
            "docker" => Ok(Kind::Docker),
            other => Err(format!(
                "actions that run `using: {other}` are not supported; use composite, node20 or node24"
            )),
        }
    }
}

/// The cache folder of fetched actions.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("MLOPS_CI_ACTIONS_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("mlops-ci/actions"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/mlops-ci/actions"))
        })
        .unwrap_or_else(|| std::env::temp_dir().join("mlops-ci-actions"))
}

/// Fetches `owner/repo@ref` from `server` (a URL or a folder holding `owner/repo[.git]`) into
/// the cache, once, and returns the checked-out folder.
pub fn fetch(
    server: &str,
    owner: &str,
    repo: &str,
    git_ref: &str,
    cache: &Path,
) -> Result<PathBuf, String> {
    let safe = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !s.starts_with('.')
    };
    if !safe(owner) || !safe(repo) {
        return Err(format!("`{owner}/{repo}` is not a repository name"));
    }
    let ref_dir: String = git_ref
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let target = cache.join(owner).join(repo).join(ref_dir);
    if target.join(".mlops-ci-complete").is_file() {
        return Ok(target);
    }
    let url = remote_url(server, owner, repo);
    let partial = target.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(partial.parent().unwrap_or(cache))
        .map_err(|e| format!("could not create the action cache: {e}"))?;
    let repository = git2::Repository::clone(&url, &partial).map_err(|e| {
        format!(
            "could not fetch `{owner}/{repo}` from `{url}`: {}",
            e.message()
        )
    })?;
    let object = ["refs/tags/", "refs/remotes/origin/", ""]
        .iter()
        .find_map(|prefix| {
            repository
                .revparse_single(&format!("{prefix}{git_ref}"))
                .ok()
        })
        .ok_or_else(|| format!("`{owner}/{repo}` has no tag, branch or commit `{git_ref}`"))?;
    let commit = object
        .peel_to_commit()
        .map_err(|e| format!("`{git_ref}` is not a commit: {}", e.message()))?;
    repository
        .checkout_tree(
            commit.as_object(),
            Some(git2::build::CheckoutBuilder::new().force()),
        )
        .and_then(|()| repository.set_head_detached(commit.id()))
        .map_err(|e| {
            format!(
                "could not check out `{git_ref}` of `{owner}/{repo}`: {}",
                e.message()
            )
        })?;
    std::fs::write(partial.join(".mlops-ci-complete"), commit.id().to_string())
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&target);
    std::fs::rename(&partial, &target)
        .map_err(|e| format!("could not store the action in the cache: {e}"))?;
    Ok(target)
}

fn remote_url(server: &str, owner: &str, repo: &str) -> String {
    let server = server.trim_end_matches('/');
    let local = Path::new(server.strip_prefix("file://").unwrap_or(server));
    if !server.contains("://") || server.starts_with("file://") {
        let bare = local.join(owner).join(format!("{repo}.git"));
        let plain = local.join(owner).join(repo);
        let path = if bare.exists() { bare } else { plain };
        return path.display().to_string();
    }
    format!("{server}/{owner}/{repo}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uses() {
        assert_eq!(
            ActionRef::parse("./actions/x").unwrap(),
            ActionRef::Local("./actions/x".into())
        );
        assert_eq!(
            ActionRef::parse("acme/tools/setup@v1.2").unwrap(),
            ActionRef::Remote {
                owner: "acme".into(),
                repo: "tools".into(),
                path: Some("setup".into()),
                git_ref: "v1.2".into()
            }
        );
        assert_eq!(
            ActionRef::parse("docker://alpine:3").unwrap(),
            ActionRef::Docker("alpine:3".into())
        );
        assert!(ActionRef::parse("acme/tools").is_err());
        assert!(ActionRef::parse("acme@v1").is_err());
    }
}
