//! The forge edge: `trait Forge` and the plain types it speaks (tokens, repos, comments,
//! errors); `github` implements it over GitHub's REST API. Uses nothing else of the crate, and no
//! HTTP-client type leaks past this module.

pub mod github;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// The environment variables a token is read from, in order.
pub const TOKEN_VARS: [&str; 2] = ["GITHUB_TOKEN", "MLOPS_GITHUB_TOKEN"];
/// The environment variable naming the token's login (see [`Forge::whoami`]).
pub const LOGIN_VAR: &str = "MLOPS_GITHUB_LOGIN";
/// The login of the `GITHUB_TOKEN` of GitHub Actions.
pub const ACTIONS_LOGIN: &str = "github-actions[bot]";

/// A secret API token: `Debug` and `Display` print `***`, so it cannot end up in a log or an
/// error message by accident; [`Token::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The first non-empty of `GITHUB_TOKEN` and `MLOPS_GITHUB_TOKEN`.
    pub fn from_env() -> Option<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Token::from_env`], reading variables through `env`.
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Option<Self> {
        TOKEN_VARS
            .iter()
            .filter_map(|name| env(name))
            .map(|t| t.trim().to_owned())
            .find(|t| !t.is_empty())
            .map(Self)
    }

    /// The secret itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A repository, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            name: name.into(),
        }
    }

    /// Parses `owner/name` (as in `GITHUB_REPOSITORY`).
    pub fn parse(full: &str) -> Option<Self> {
        let (owner, name) = full.split_once('/')?;
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (valid(owner) && valid(name)).then(|| Self::new(owner, name))
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    /// The login of its author (`""` for a deleted user).
    pub author: String,
    /// ISO 8601, UTC, as the forge sent it.
    pub created_at: String,
    /// Where people see it (`html_url`); empty when the forge did not say.
    pub url: String,
}

/// How a check run or commit status concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    Success,
    Failure,
}

/// A finished check run: the verdict with a title, a summary and the detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRun {
    /// The check's name on the commit (`mlops-ci`).
    pub name: String,
    /// The commit it is about: a pull request's head, never its merge commit.
    pub head_sha: String,
    pub conclusion: Conclusion,
    /// One line: the verdict.
    pub title: String,
    /// Markdown, at most [`CHECK_TEXT_LIMIT`] characters.
    pub summary: String,
    /// Markdown detail below the summary, at most [`CHECK_TEXT_LIMIT`] characters.
    pub text: Option<String>,
    /// The CI run it came from.
    pub details_url: Option<String>,
}

/// The most characters GitHub takes in a check run's `summary` or `text`.
pub const CHECK_TEXT_LIMIT: usize = 65_535;
/// The most characters GitHub takes in a commit status's `description`.
pub const STATUS_DESCRIPTION_LIMIT: usize = 140;

/// A commit status: the fallback when the token may not create check runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    pub sha: String,
    /// The status's name on the commit (`mlops-ci`).
    pub context: String,
    pub conclusion: Conclusion,
    /// One line, at most [`STATUS_DESCRIPTION_LIMIT`] characters.
    pub description: String,
    pub target_url: Option<String>,
}

/// A GitHub release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub id: u64,
    pub tag: String,
    /// Where people see it.
    pub url: String,
    pub body: String,
}

/// A release to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelease {
    pub tag: String,
    pub name: String,
    /// Markdown, at most [`RELEASE_BODY_LIMIT`] characters.
    pub body: String,
    pub prerelease: bool,
}

/// The most characters GitHub takes in a release's body.
pub const RELEASE_BODY_LIMIT: usize = 125_000;

/// What mlops-ci needs to know of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    /// The head commit (the PR's own, not the merge commit).
    pub head_sha: String,
    /// `owner/name` of the head's repository; differs from the base's for a fork.
    pub head_repo: String,
    pub state: String,
}

/// What went wrong talking to the forge.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// 403 "Resource not accessible by integration": the token lacks a permission. Never retried.
    #[error(
        "the token may not do this: {message} (give the workflow the permission it needs, e.g. `pull-requests: write`)"
    )]
    NotAccessible { message: String },
    /// Still rate limited after waiting as long as allowed.
    #[error("rate limited by the forge after {attempts} attempts: {message}")]
    RateLimited { attempts: u32, message: String },
    /// 401: missing, expired or wrong token.
    #[error("the forge rejected the token (401): {message}")]
    Unauthorized { message: String },
    /// 404: gone, or not visible to this token.
    #[error("not found (404): {what}")]
    NotFound { what: String },
    /// 5xx answers or network failures, still failing after the retries.
    #[error("the forge is unavailable after {attempts} attempts: {message}")]
    Unavailable { attempts: u32, message: String },
    /// A create whose outcome is unknown (5xx, dropped connection, timeout): it may or may not
    /// have been applied. Never retried blindly: look for the object before creating it again.
    #[error("unknown whether the forge applied the create: {message}")]
    Ambiguous { message: String },
    /// Any other refusal (403 without a known reason, 422, ...). Not retried.
    #[error("the forge refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// An answer we could not understand.
    #[error("unexpected answer from the forge: {0}")]
    BadResponse(String),
    /// Could not even set up the client (bad base URL, TLS, ...).
    #[error("cannot set up the forge client: {0}")]
    Setup(String),
}

/// The future every [`Forge`] method returns: boxed so `&dyn Forge` works.
pub type ForgeFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ForgeError>> + Send + 'a>>;

/// The operations mlops-ci needs from a forge. Implementations own their retry policy.
pub trait Forge: Send + Sync {
    /// Every comment on `issue`, oldest first, following pagination to the end.
    fn list_comments<'a>(&'a self, repo: &'a Repo, issue: u64) -> ForgeFuture<'a, Vec<Comment>>;

    /// Creates a comment. On an ambiguous failure returns [`ForgeError::Ambiguous`], never a
    /// second comment.
    fn create_comment<'a>(
        &'a self,
        repo: &'a Repo,
        issue: u64,
        body: &'a str,
    ) -> ForgeFuture<'a, Comment>;

    fn update_comment<'a>(
        &'a self,
        repo: &'a Repo,
        id: u64,
        body: &'a str,
    ) -> ForgeFuture<'a, Comment>;

    /// Deletes a comment; one already gone after a retried delete counts as deleted.
    fn delete_comment<'a>(&'a self, repo: &'a Repo, id: u64) -> ForgeFuture<'a, ()>;

    /// The login comments created with this token are authored by.
    fn whoami(&self) -> ForgeFuture<'_, String>;

    /// Creates a completed check run; returns where people see it. An ambiguous failure is
    /// [`ForgeError::Ambiguous`], never a second check run.
    fn create_check_run<'a>(&'a self, repo: &'a Repo, run: &'a CheckRun)
    -> ForgeFuture<'a, String>;

    /// Sets a commit status (the newest per context wins, so repeating it is harmless).
    fn create_status<'a>(&'a self, repo: &'a Repo, status: &'a CommitStatus)
    -> ForgeFuture<'a, ()>;

    /// A pull request's head and state.
    fn pull_request<'a>(&'a self, repo: &'a Repo, number: u64) -> ForgeFuture<'a, PullRequest>;

    /// Creates an annotated tag `tag` on commit `sha` (a tag object, then its ref); returns the
    /// tag object's SHA. A ref that already points at that object counts as done.
    fn create_tag<'a>(
        &'a self,
        repo: &'a Repo,
        tag: &'a str,
        message: &'a str,
        sha: &'a str,
    ) -> ForgeFuture<'a, String>;

    /// The release of `tag`, if there is one.
    fn release_by_tag<'a>(
        &'a self,
        repo: &'a Repo,
        tag: &'a str,
    ) -> ForgeFuture<'a, Option<Release>>;

    /// Creates a release. An ambiguous failure is [`ForgeError::Ambiguous`]: look it up by tag
    /// before creating again.
    fn create_release<'a>(
        &'a self,
        repo: &'a Repo,
        release: &'a NewRelease,
    ) -> ForgeFuture<'a, Release>;

    /// Replaces a release's body.
    fn update_release<'a>(
        &'a self,
        repo: &'a Repo,
        id: u64,
        body: &'a str,
    ) -> ForgeFuture<'a, Release>;
}

/// The configured login: `MLOPS_GITHUB_LOGIN`, else `github-actions[bot]`.
///
/// No API call: GitHub answers `GET /user` with 403 "Resource not accessible by integration"
/// for the `GITHUB_TOKEN` of Actions (it is an installation token, not a user), and that token
/// always authors as `github-actions[bot]`. With a personal token, set `MLOPS_GITHUB_LOGIN` to its
/// user's login.
pub fn configured_login(env: impl Fn(&str) -> Option<String>) -> String {
    env(LOGIN_VAR)
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| ACTIONS_LOGIN.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_never_prints() {
        let token = Token::new("ghs_secret");
        assert_eq!(format!("{token:?} {token}"), "*** ***");
        assert_eq!(token.expose(), "ghs_secret");
    }

    #[test]
    fn token_and_login_from_env() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            Token::from_lookup(env(&[("MLOPS_GITHUB_TOKEN", "b")])),
            Some(Token::new("b"))
        );
        assert_eq!(
            Token::from_lookup(env(&[("GITHUB_TOKEN", "a"), ("MLOPS_GITHUB_TOKEN", "b")])),
            Some(Token::new("a"))
        );
        assert_eq!(
            Token::from_lookup(env(&[("GITHUB_TOKEN", " "), ("MLOPS_GITHUB_TOKEN", "b")])),
            Some(Token::new("b"))
        );
        assert_eq!(Token::from_lookup(env(&[])), None);
        assert_eq!(configured_login(env(&[])), "github-actions[bot]");
        assert_eq!(configured_login(env(&[("MLOPS_GITHUB_LOGIN", "me")])), "me");
    }

    #[test]
    fn repo_parses() {
        assert_eq!(Repo::parse("o/r"), Some(Repo::new("o", "r")));
        assert_eq!(Repo::parse("o/r").unwrap().to_string(), "o/r");
        assert_eq!(Repo::parse("o"), None);
        assert_eq!(Repo::parse("o/r/x"), None);
        assert_eq!(Repo::parse("/r"), None);
    }
}
