//! The environment a run is in: GitHub Actions (`GITHUB_*` variables) or a local shell.
//! Returns plain values; knows nothing of mlops.yaml.

use serde::Serialize;

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
