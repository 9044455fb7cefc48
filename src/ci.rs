//! The environment a run is in: GitHub Actions (`GITHUB_*` variables) or a local shell.
//! Returns plain values; knows nothing of mlops.yaml.

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value, json};

/// What started the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    PullRequest,
    Push,
    Tag,
    Local,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PullRequest => "pull_request",
            Self::Push => "push",
            Self::Tag => "tag",
            Self::Local => "local",
        }
    }
}

/// The event and ref as the environment tells them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub event: EventKind,
    pub git_ref: Option<String>,
}

impl Invocation {
    /// Reads `GITHUB_EVENT_NAME` and `GITHUB_REF` through `var`; a run outside Actions is local.
    pub fn detect(var: impl Fn(&str) -> Option<String>) -> Self {
        let git_ref = var("GITHUB_REF").filter(|r| !r.is_empty());
        let event = match var("GITHUB_EVENT_NAME").as_deref() {
            Some("pull_request" | "pull_request_target") => EventKind::PullRequest,
            Some(_)
                if git_ref
                    .as_deref()
                    .is_some_and(|r| r.starts_with("refs/tags/")) =>
            {
                EventKind::Tag
            }
            Some("push") => EventKind::Push,
            _ => EventKind::Local,
        };
        Self { event, git_ref }
    }

    /// From the process environment.
    pub fn from_env() -> Self {
        Self::detect(|name| std::env::var(name).ok())
    }
}

/// The `github` context: in GitHub Actions from `GITHUB_*` and the event payload; elsewhere
/// made from the repository in `dir` (sha and ref from `.git`, `event_name` `local`).
pub fn github_context(var: impl Fn(&str) -> Option<String>, dir: &Path) -> Value {
    if var("GITHUB_ACTIONS").as_deref() == Some("true") {
        return actions_github(&var);
    }
    let head = read_head(dir);
    let (git_ref, sha) = head.unwrap_or_default();
    let ref_name = git_ref
        .rsplit_once('/')
        .map_or(git_ref.as_str(), |(_, n)| n)
        .to_owned();
    let ref_name = git_ref
        .strip_prefix("refs/heads/")
        .map_or(ref_name, str::to_owned);
    json!({
        "event_name": "local",
        "event": {},
        "sha": sha,
        "ref": git_ref,
        "ref_name": ref_name,
        "ref_type": "branch",
        "workspace": dir.display().to_string(),
        "repository": dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        "actor": var("USER").unwrap_or_default(),
        "server_url": "https://github.com",
        "api_url": "https://api.github.com",
        "run_id": "",
        "run_number": "",
        "run_attempt": "1",
        "job": "check",
        "workflow": "mlops-ci",
    })
}

fn actions_github(var: &impl Fn(&str) -> Option<String>) -> Value {
    const FIELDS: [&str; 22] = [
        "action",
        "actor",
        "api_url",
        "base_ref",
        "event_name",
        "event_path",
        "graphql_url",
        "head_ref",
        "job",
        "ref",
        "ref_name",
        "ref_protected",
        "ref_type",
        "repository",
        "repository_id",
        "repository_owner",
        "run_attempt",
        "run_id",
        "run_number",
        "server_url",
        "sha",
        "workspace",
    ];
    let mut github = Map::new();
    for field in FIELDS {
        let value = var(&format!("GITHUB_{}", field.to_uppercase())).unwrap_or_default();
        github.insert(field.to_owned(), Value::String(value));
    }
    for (field, name) in [
        ("triggering_actor", "GITHUB_TRIGGERING_ACTOR"),
        ("workflow", "GITHUB_WORKFLOW"),
    ] {
        github.insert(
            field.to_owned(),
            Value::String(var(name).unwrap_or_default()),
        );
    }
    let event = var("GITHUB_EVENT_PATH")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| json!({}));
    github.insert("event".to_owned(), event);
    Value::Object(github)
}

/// The ref and commit checked out in `dir`'s repository, read from `.git` without running git.
pub fn read_head(dir: &Path) -> Option<(String, String)> {
    let root = dir.ancestors().find(|d| d.join(".git").exists())?;
    let mut git_dir = root.join(".git");
    if git_dir.is_file() {
        let text = std::fs::read_to_string(&git_dir).ok()?;
        git_dir = root.join(text.trim().strip_prefix("gitdir:")?.trim());
    }
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(name) = head.strip_prefix("ref:").map(str::trim) else {
        return Some((String::new(), head.to_owned()));
    };
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .map_or_else(|_| git_dir.clone(), |c| git_dir.join(c.trim()));
    let sha = std::fs::read_to_string(git_dir.join(name))
        .or_else(|_| std::fs::read_to_string(common.join(name)))
        .ok()
        .map(|s| s.trim().to_owned())
        .or_else(|| {
            let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
            packed
                .lines()
                .find_map(|l| l.strip_suffix(name).map(|sha| sha.trim().to_owned()))
        })
        .unwrap_or_default();
    Some((name.to_owned(), sha))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(vars: &[(&str, &str)]) -> Invocation {
        Invocation::detect(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn events_from_the_environment() {
        assert_eq!(detect(&[]).event, EventKind::Local);
        assert_eq!(
            detect(&[("GITHUB_EVENT_NAME", "pull_request")]).event,
            EventKind::PullRequest
        );
        assert_eq!(
            detect(&[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF", "refs/heads/main")
            ])
            .event,
            EventKind::Push
        );
        assert_eq!(
            detect(&[
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_REF", "refs/tags/v1.2.0")
            ])
            .event,
            EventKind::Tag
        );
    }
}
