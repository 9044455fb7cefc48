//! `GitHubForge`: [`Forge`] over GitHub's REST API with reqwest, and our own retry policy.
//!
//! Why reqwest and not octocrab: octocrab's built-in retry (on by default) retries every method,
//! POST included, immediately and without reading `retry-after`, so a create whose response was
//! lost becomes two comments; and we need our own policy anyway (the rules of
//! `reliability-security.md` §3.2):
//! - `retry-after`, or `x-ratelimit-remaining: 0` until `x-ratelimit-reset`, is honoured, with a
//!   bounded total wait per call ([`Settings::max_wait`]); a secondary limit without either waits
//!   a minute, if the bound allows;
//! - 5xx and network errors are retried with jittered exponential backoff, at most
//!   [`Settings::max_attempts`] attempts;
//! - 403 "Resource not accessible by integration" is never retried;
//! - a create is never retried blindly: after an ambiguous failure (5xx, dropped connection,
//!   timeout) it returns [`ForgeError::Ambiguous`] so the caller looks before creating again.
//!   Only failures that prove the request was not applied (connect errors, rate limits) are
//!   retried for a create;
//! - every request has a timeout ([`Settings::timeout`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    CHECK_TEXT_LIMIT, CheckRun, Comment, CommitStatus, Conclusion, Forge, ForgeError, ForgeFuture,
    NewRelease, PullRequest, RELEASE_BODY_LIMIT, Release, Repo, STATUS_DESCRIPTION_LIMIT, Token,
    configured_login,
};

/// The API root when `GITHUB_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
const API_VERSION: &str = "2022-11-28";
const PER_PAGE: u32 = 100;
/// The wait for a secondary rate limit that says neither `retry-after` nor a reset.
const SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// How [`GitHubForge`] connects and retries.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The API root, without a trailing `/`.
    pub base_url: String,
    pub token: Token,
    /// The login our comments are authored by (see [`Forge::whoami`]).
    pub login: String,
    /// The timeout of one request, from sending to the end of the answer's body.
    pub timeout: Duration,
    /// Attempts per call on 5xx and network errors.
    pub max_attempts: u32,
    /// The most one call waits in total for rate limits; past it, [`ForgeError::RateLimited`].
    pub max_wait: Duration,
    /// The first backoff after a 5xx or network error; doubled each time, with jitter.
    pub backoff: Duration,
}

impl Settings {
    /// Defaults: 30 s per request, 4 attempts, 60 s of rate-limit waiting, 500 ms first backoff.
    pub fn new(base_url: impl Into<String>, token: Token, login: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            token,
            login: login.into(),
            timeout: Duration::from_secs(30),
            max_attempts: 4,
            max_wait: Duration::from_secs(60),
            backoff: Duration::from_millis(500),
        }
    }

    /// From `GITHUB_API_URL`, `GITHUB_TOKEN`/`MLOPS_GITHUB_TOKEN` and `MLOPS_GITHUB_LOGIN`.
    pub fn from_env() -> Result<Self, ForgeError> {
        let env = |name: &str| std::env::var(name).ok();
        let token = Token::from_lookup(env).ok_or_else(|| {
            ForgeError::Setup("no token: set `GITHUB_TOKEN` or `MLOPS_GITHUB_TOKEN`".into())
        })?;
        let base = env("GITHUB_API_URL")
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        Ok(Self::new(base.trim(), token, configured_login(env)))
    }
}

/// [`Forge`] over GitHub's REST API.
#[derive(Debug)]
pub struct GitHubForge {
    http: reqwest::Client,
    settings: Settings,
}

/// What a request is, for the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Safe to repeat (GET, PATCH to a fixed body, DELETE).
    Idempotent,
    /// Applied twice means two objects: retried only when it surely was not applied.
    Create,
    /// A DELETE: 404 after an earlier, possibly applied attempt means done.
    Delete,
}

/// A successful answer.
#[derive(Debug)]
struct Answer {
    body: String,
    next: Option<String>,
}

impl GitHubForge {
    pub fn new(settings: Settings) -> Result<Self, ForgeError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/vnd.github+json"),
        );
        headers.insert(
            "x-github-api-version",
            HeaderValue::from_static(API_VERSION),
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("mlops-ci/", env!("CARGO_PKG_VERSION"))),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10).min(settings.timeout))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ForgeError::Setup(e.to_string()))?;
        Ok(Self { http, settings })
    }

    /// [`GitHubForge::new`] with [`Settings::from_env`].
    pub fn from_env() -> Result<Self, ForgeError> {
        Self::new(Settings::from_env()?)
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn repo_url(&self, repo: &Repo, rest: &str) -> String {
        format!(
            "{}/repos/{}/{}/{rest}",
            self.settings.base_url, repo.owner, repo.name
        )
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let full = self
            .settings
            .backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(10));
        let half = full / 2;
        let jitter = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(fastrand::u64(0..=jitter))
    }

    /// One request and its whole answer. The inner `Err` is a network failure worth retrying;
    /// for a create, any failure after connecting is [`ForgeError::Ambiguous`] instead, since
    /// the request may have been applied.
    async fn exchange(
        &self,
        method: &Method,
        url: &str,
        body: Option<&Value>,
        kind: Kind,
    ) -> Result<Result<(StatusCode, HeaderMap, String), String>, ForgeError> {
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(
                AUTHORIZATION,
                format!("Bearer {}", self.settings.token.expose()),
            )
            .timeout(self.settings.timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        let failed = |e: &reqwest::Error| {
            // A failure to connect means nothing was sent; anything later may have been applied.
            if kind == Kind::Create && !e.is_connect() {
                Err(ForgeError::Ambiguous {
                    message: describe(e),
                })
            } else {
                Ok(Err(describe(e)))
            }
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return failed(&e),
        };
        let status = response.status();
        let headers = response.headers().clone();
        match response.text().await {
            Ok(text) => Ok(Ok((status, headers, text))),
            Err(e) => failed(&e),
        }
    }

    /// Sends one API request under the retry policy.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        kind: Kind,
    ) -> Result<Answer, ForgeError> {
        let mut attempt = 0;
        let mut waited = Duration::ZERO;
        let mut secondary_waits = 0;
        loop {
            attempt += 1;
            let (status, headers, text) = match self.exchange(&method, url, body, kind).await? {
                Ok(answer) => answer,
                Err(message) => {
                    self.retry_or(attempt, message).await?;
                    continue;
                }
            };
            if status.is_success() {
                let next = headers
                    .get("link")
                    .and_then(|v| v.to_str().ok())
                    .and_then(next_link);
                return Ok(Answer { body: text, next });
            }
            let message = error_message(&text, status);
            match status.as_u16() {
                403 | 429 => {
                    if message.contains("not accessible by integration")
                        || headers.contains_key("x-accepted-github-permissions")
                    {
                        return Err(ForgeError::NotAccessible { message });
                    }
                    let Some(wait) = rate_limit_wait(&headers, &message, status, secondary_waits)
                    else {
                        return Err(ForgeError::Rejected {
                            status: status.as_u16(),
                            message,
                        });
                    };
                    secondary_waits += 1;
                    if waited + wait > self.settings.max_wait {
                        return Err(ForgeError::RateLimited {
                            attempts: attempt,
                            message: format!(
                                "{message} (asked to wait {} s; at most {} s allowed per call)",
                                wait.as_secs(),
                                self.settings.max_wait.as_secs()
                            ),
                        });
                    }
                    waited += wait;
                    tokio::time::sleep(wait).await;
                }
                401 => return Err(ForgeError::Unauthorized { message }),
                404 if kind == Kind::Delete && attempt > 1 => {
                    return Ok(Answer {
                        body: String::new(),
                        next: None,
                    });
                }
                404 => {
                    return Err(ForgeError::NotFound {
                        what: format!("{method} {}", strip_query(url)),
                    });
                }
                500..=599 if kind == Kind::Create => {
                    return Err(ForgeError::Ambiguous {
                        message: format!("{status}: {message}"),
                    });
                }
                500..=599 => {
                    self.retry_or(attempt, format!("{status}: {message}"))
                        .await?;
                }
                code => {
                    return Err(ForgeError::Rejected {
                        status: code,
                        message,
                    });
                }
            }
        }
    }

    /// Sleeps before the next attempt, or gives up after the last one.
    async fn retry_or(&self, attempt: u32, message: String) -> Result<(), ForgeError> {
        if attempt >= self.settings.max_attempts {
            return Err(ForgeError::Unavailable {
                attempts: attempt,
                message,
            });
        }
        tokio::time::sleep(self.backoff(attempt)).await;
        Ok(())
    }
}

/// How long a 403/429 asks us to wait, or `None` when it is no rate limit.
fn rate_limit_wait(
    headers: &HeaderMap,
    message: &str,
    status: StatusCode,
    earlier: u32,
) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(secs) = header("retry-after") {
        return Some(Duration::from_secs(secs));
    }
    if header("x-ratelimit-remaining") == Some(0) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let reset = header("x-ratelimit-reset").unwrap_or(now + 60);
        return Some(Duration::from_secs(reset.saturating_sub(now) + 1));
    }
    let secondary = message.to_ascii_lowercase().contains("rate limit");
    (secondary || status == StatusCode::TOO_MANY_REQUESTS)
        .then(|| SECONDARY_WAIT.saturating_mul(1 << earlier.min(4)))
}

/// The `rel="next"` target of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

fn error_message(text: &str, status: StatusCode) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| status.to_string())
}

fn strip_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(path, _)| path)
}

/// A reqwest error as text, without the URL (which can carry a query).
fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "the connection failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(e) = source {
        detail = e.to_string();
        source = e.source();
    }
    if detail.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {detail}")
    }
}

fn parse_comment(value: &Value) -> Result<Comment, ForgeError> {
    let id = value["id"]
        .as_u64()
        .ok_or_else(|| ForgeError::BadResponse("a comment without an `id`".into()))?;
    Ok(Comment {
        id,
        body: value["body"].as_str().unwrap_or_default().to_owned(),
        author: value["user"]["login"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        created_at: value["created_at"].as_str().unwrap_or_default().to_owned(),
        url: value["html_url"].as_str().unwrap_or_default().to_owned(),
    })
}

/// `text` cut to at most `limit` characters, ending with `…` when cut.
fn at_most(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn conclusion_text(conclusion: Conclusion) -> &'static str {
    match conclusion {
        Conclusion::Success => "success",
        Conclusion::Failure => "failure",
    }
}

fn check_run_body(run: &CheckRun) -> Value {
    let mut output = json!({
        "title": at_most(&run.title, 1000),
        "summary": at_most(&run.summary, CHECK_TEXT_LIMIT),
    });
    if let Some(text) = &run.text {
        output["text"] = Value::String(at_most(text, CHECK_TEXT_LIMIT));
    }
    let mut body = json!({
        "name": run.name,
        "head_sha": run.head_sha,
        "status": "completed",
        "conclusion": conclusion_text(run.conclusion),
        "output": output,
    });
    if let Some(url) = &run.details_url {
        body["details_url"] = Value::String(url.clone());
    }
    body
}

fn status_body(status: &CommitStatus) -> Value {
    let mut body = json!({
        "state": conclusion_text(status.conclusion),
        "context": status.context,
        "description": at_most(&status.description, STATUS_DESCRIPTION_LIMIT),
    });
    if let Some(url) = &status.target_url {
        body["target_url"] = Value::String(url.clone());
    }
    body
}

fn parse_release(value: &Value) -> Result<Release, ForgeError> {
    Ok(Release {
        id: value["id"]
            .as_u64()
            .ok_or_else(|| ForgeError::BadResponse("a release without an `id`".into()))?,
        tag: value["tag_name"].as_str().unwrap_or_default().to_owned(),
        url: value["html_url"].as_str().unwrap_or_default().to_owned(),
        body: value["body"].as_str().unwrap_or_default().to_owned(),
    })
}

fn parse_pull(value: &Value) -> Result<PullRequest, ForgeError> {
    let number = value["number"]
        .as_u64()
        .ok_or_else(|| ForgeError::BadResponse("a pull request without a `number`".into()))?;
    let head_sha = value["head"]["sha"]
        .as_str()
        .ok_or_else(|| ForgeError::BadResponse("a pull request without `head.sha`".into()))?;
    Ok(PullRequest {
        number,
        head_sha: head_sha.to_owned(),
        head_repo: value["head"]["repo"]["full_name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        state: value["state"].as_str().unwrap_or_default().to_owned(),
    })
}

fn parse_json(answer: &Answer) -> Result<Value, ForgeError> {
    serde_json::from_str(&answer.body)
        .map_err(|e| ForgeError::BadResponse(format!("not JSON: {e}")))
}

impl Forge for GitHubForge {
    fn list_comments<'a>(&'a self, repo: &'a Repo, issue: u64) -> ForgeFuture<'a, Vec<Comment>> {
        Box::pin(async move {
            let mut url = self.repo_url(
                repo,
                &format!("issues/{issue}/comments?per_page={PER_PAGE}"),
            );
            let mut comments = Vec::new();
            loop {
                let answer = self.send(Method::GET, &url, None, Kind::Idempotent).await?;
                let page = parse_json(&answer)?;
                let items = page
                    .as_array()
                    .ok_or_else(|| ForgeError::BadResponse("comments are not a list".into()))?;
                for item in items {
                    comments.push(parse_comment(item)?);
                }
                match answer.next {
                    // Never send the token to another host than the API's.
                    Some(next) if next.starts_with(&format!("{}/", self.settings.base_url)) => {
                        url = next;
                    }
                    Some(next) => {
                        return Err(ForgeError::BadResponse(format!(
                            "a next page outside the API: {}",
                            strip_query(&next)
                        )));
                    }
                    None => return Ok(comments),
                }
            }
        })
    }

    fn create_comment<'a>(
        &'a self,
        repo: &'a Repo,
        issue: u64,
        body: &'a str,
    ) -> ForgeFuture<'a, Comment> {
        Box::pin(async move {
            let url = self.repo_url(repo, &format!("issues/{issue}/comments"));
            let answer = self
                .send(
                    Method::POST,
                    &url,
                    Some(&json!({ "body": body })),
                    Kind::Create,
                )
                .await?;
            parse_comment(&parse_json(&answer)?)
        })
    }

    fn update_comment<'a>(
        &'a self,
        repo: &'a Repo,
        id: u64,
        body: &'a str,
    ) -> ForgeFuture<'a, Comment> {
        Box::pin(async move {
            let url = self.repo_url(repo, &format!("issues/comments/{id}"));
            let answer = self
                .send(
                    Method::PATCH,
                    &url,
                    Some(&json!({ "body": body })),
                    Kind::Idempotent,
                )
                .await?;
            parse_comment(&parse_json(&answer)?)
        })
    }

    fn delete_comment<'a>(&'a self, repo: &'a Repo, id: u64) -> ForgeFuture<'a, ()> {
        Box::pin(async move {
            let url = self.repo_url(repo, &format!("issues/comments/{id}"));
            self.send(Method::DELETE, &url, None, Kind::Delete).await?;
            Ok(())
        })
    }

    /// The configured login, without an API call: `GET /user` is 403 for an Actions token.
    fn whoami(&self) -> ForgeFuture<'_, String> {
        Box::pin(async move { Ok(self.settings.login.clone()) })
    }

    fn create_check_run<'a>(
        &'a self,
        repo: &'a Repo,
        run: &'a CheckRun,
    ) -> ForgeFuture<'a, String> {
        Box::pin(async move {
            let url = self.repo_url(repo, "check-runs");
            let body = check_run_body(run);
            let answer = self
                .send(Method::POST, &url, Some(&body), Kind::Create)
                .await?;
            let value = parse_json(&answer)?;
            Ok(value["html_url"].as_str().unwrap_or_default().to_owned())
        })
    }

    fn create_status<'a>(
        &'a self,
        repo: &'a Repo,
        status: &'a CommitStatus,
    ) -> ForgeFuture<'a, ()> {
        Box::pin(async move {
            let url = self.repo_url(repo, &format!("statuses/{}", status.sha));
            let body = status_body(status);
            // The newest status of a context wins: sending it twice changes nothing.
            self.send(Method::POST, &url, Some(&body), Kind::Idempotent)
                .await?;
            Ok(())
        })
    }

    fn create_tag<'a>(
        &'a self,
        repo: &'a Repo,
        tag: &'a str,
        message: &'a str,
        sha: &'a str,
    ) -> ForgeFuture<'a, String> {
        Box::pin(async move {
            // A tag object alone is invisible until a ref points at it: making a second one
            // after an ambiguous failure costs nothing.
            let object = json!({ "tag": tag, "message": message, "object": sha, "type": "commit" });
            let url = self.repo_url(repo, "git/tags");
            let answer = self
                .send(Method::POST, &url, Some(&object), Kind::Idempotent)
                .await?;
            let tag_sha = parse_json(&answer)?["sha"]
                .as_str()
                .ok_or_else(|| ForgeError::BadResponse("a tag without a `sha`".into()))?
                .to_owned();
            let reference = json!({ "ref": format!("refs/tags/{tag}"), "sha": tag_sha });
            let url = self.repo_url(repo, "git/refs");
            match self
                .send(Method::POST, &url, Some(&reference), Kind::Create)
                .await
            {
                Ok(_) => Ok(tag_sha),
                Err(ForgeError::Rejected { status: 422, .. } | ForgeError::Ambiguous { .. }) => {
                    // Already there (or our create landed): it must point at a tag of `sha`.
                    let url = self.repo_url(repo, &format!("git/ref/tags/{tag}"));
                    let answer = self.send(Method::GET, &url, None, Kind::Idempotent).await?;
                    let found = parse_json(&answer)?;
                    let points_at = found["object"]["sha"].as_str().unwrap_or_default();
                    if points_at == tag_sha || points_at == sha {
                        Ok(points_at.to_owned())
                    } else {
                        Err(ForgeError::Rejected {
                            status: 422,
                            message: format!(
                                "the tag `{tag}` already exists and points at {points_at}, not {sha}"
                            ),
                        })
                    }
                }
                Err(e) => Err(e),
            }
        })
    }

    fn release_by_tag<'a>(
        &'a self,
        repo: &'a Repo,
        tag: &'a str,
    ) -> ForgeFuture<'a, Option<Release>> {
        Box::pin(async move {
            let url = self.repo_url(repo, &format!("releases/tags/{tag}"));
            match self.send(Method::GET, &url, None, Kind::Idempotent).await {
                Ok(answer) => parse_release(&parse_json(&answer)?).map(Some),
                Err(ForgeError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn create_release<'a>(
        &'a self,
        repo: &'a Repo,
        release: &'a NewRelease,
    ) -> ForgeFuture<'a, Release> {
        Box::pin(async move {
            let url = self.repo_url(repo, "releases");
            let body = json!({
                "tag_name": release.tag,
                "name": release.name,
                "body": at_most(&release.body, RELEASE_BODY_LIMIT),
                "prerelease": release.prerelease,
            });
            let answer = self
                .send(Method::POST, &url, Some(&body), Kind::Create)
                .await?;
            parse_release(&parse_json(&answer)?)
        })
    }

    fn update_release<'a>(
        &'a self,
        repo: &'a Repo,
        id: u64,
        body: &'a str,
    ) -> ForgeFuture<'a, Release> {
        Box::pin(async move {
            let url = self.repo_url(repo, &format!("releases/{id}"));
            let body = json!({ "body": at_most(body, RELEASE_BODY_LIMIT) });
            let answer = self
                .send(Method::PATCH, &url, Some(&body), Kind::Idempotent)
                .await?;
            parse_release(&parse_json(&answer)?)
        })
    }

    fn pull_request<'a>(&'a self, repo: &'a Repo, number: u64) -> ForgeFuture<'a, PullRequest> {
        Box::pin(async move {
            let url = self.repo_url(repo, &format!("pulls/{number}"));
            let answer = self.send(Method::GET, &url, None, Kind::Idempotent).await?;
            parse_pull(&parse_json(&answer)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_found_among_others() {
        let link = "<https://api.github.com/x?page=1>; rel=\"prev\", \
                    <https://api.github.com/x?page=3>; rel=\"next\", \
                    <https://api.github.com/x?page=5>; rel=\"last\"";
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/x?page=3")
        );
        assert_eq!(next_link("<https://a/x?page=1>; rel=\"first\""), None);
    }

    #[test]
    fn rate_limits_are_classified() {
        let mut headers = HeaderMap::new();
        let forbidden = StatusCode::FORBIDDEN;
        assert_eq!(rate_limit_wait(&headers, "Forbidden", forbidden, 0), None);
        assert_eq!(
            rate_limit_wait(
                &headers,
                "You have exceeded a secondary rate limit",
                forbidden,
                1
            ),
            Some(Duration::from_secs(120))
        );
        headers.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(
            rate_limit_wait(&headers, "x", forbidden, 0),
            Some(Duration::from_secs(3))
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        headers.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&(now + 10).to_string()).unwrap(),
        );
        let wait = rate_limit_wait(&headers, "x", forbidden, 0).unwrap();
        assert!((10..=12).contains(&wait.as_secs()), "{wait:?}");
    }

    #[test]
    fn settings_debug_hides_the_token() {
        let settings = Settings::new("http://x/", Token::new("ghs_secret"), "me");
        assert_eq!(settings.base_url, "http://x");
        let forge = GitHubForge::new(settings).unwrap();
        assert!(!format!("{forge:?}").contains("ghs_secret"));
    }
}
