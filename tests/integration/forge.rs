//! The GitHub forge and the sticky PR comment against the emulator: retries, faults,
//! pagination, ownership and secrets.

use std::time::{Duration, Instant};

use mlops_ci::forge::github::{GitHubForge, Settings};
use mlops_ci::forge::{Forge, ForgeError, Repo, Token};
use mlops_ci::publish::comment::{CommentOutcome, post_new, upsert_sticky};

use crate::github_emulator::{Emulator, EmulatorConfig, Fault, FaultKind};

const MARKER: &str = "<!-- mlops-ci:v1 key=ci/train -->";
const ME: &str = "github-actions[bot]";

fn emulator(faults: Vec<Fault>) -> Emulator {
    Emulator::start(EmulatorConfig {
        faults,
        ..EmulatorConfig::default()
    })
}

fn forge(emu: &Emulator) -> GitHubForge {
    let config = emu.config();
    let mut settings = Settings::new(emu.base_url(), Token::new(config.token), config.login);
    settings.timeout = Duration::from_secs(10);
    settings.backoff = Duration::from_millis(20);
    settings.max_wait = Duration::from_secs(5);
    GitHubForge::new(settings).expect("a client")
}

fn repo(emu: &Emulator) -> Repo {
    let config = emu.config();
    Repo::new(config.owner, config.repo)
}

fn body(text: &str) -> String {
    format!("## mlops-ci\n\n{text}\n\n{MARKER}")
}

/// Comments on `issue` by `author` containing the marker.
fn marked(emu: &Emulator, issue: u64) -> Vec<serde_json::Value> {
    emu.comments(issue)
        .into_iter()
        .filter(|c| c["body"].as_str().unwrap_or_default().contains(MARKER))
        .collect()
}

/// Every test ends here: no contract violation, the token never in a body, header or URL.
fn finish(emu: &Emulator) {
    emu.assert_no_violations();
    emu.assert_no_body_contains(&emu.config().token);
}

async fn upsert(emu: &Emulator, issue: u64, text: &str) -> Result<CommentOutcome, ForgeError> {
    let forge = forge(emu);
    let me = forge.whoami().await?;
    upsert_sticky(&forge, &repo(emu), issue, MARKER, &me, &body(text)).await
}

#[tokio::test]
async fn five_upserts_leave_one_comment_and_identical_is_unchanged() {
    let emu = emulator(Vec::new());
    let issue = emu.load_pull_request_fixture("opened");
    emu.seed_comments(issue, 3, "octocat");
    let first = upsert(&emu, issue, "run 1").await.unwrap();
    let CommentOutcome::Created(id) = first else {
        panic!("{first:?}")
    };
    for run in 2..=4 {
        let outcome = upsert(&emu, issue, &format!("run {run}")).await.unwrap();
        assert_eq!(outcome, CommentOutcome::Updated(id));
    }
    assert_eq!(
        upsert(&emu, issue, "run 4").await.unwrap(),
        CommentOutcome::Unchanged(id)
    );
    let ours = marked(&emu, issue);
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0]["id"], id);
    assert_eq!(ours[0]["body"], body("run 4"));
    assert_eq!(ours[0]["user"]["login"], ME);
    assert_eq!(emu.comments(issue).len(), 4, "the others are untouched");
    assert_eq!(emu.count("POST", "/comments"), 1);
    assert_eq!(emu.count("DELETE", "/comments"), 0);
    finish(&emu);
}

#[tokio::test]
async fn a_typical_upsert_is_two_api_calls() {
    let emu = emulator(Vec::new());
    emu.seed_comments(42, 5, "octocat");
    let id = emu.seed_comment(42, &body("old"), ME);
    let before = emu.requests().len();
    assert_eq!(
        upsert(&emu, 42, "new").await.unwrap(),
        CommentOutcome::Updated(id)
    );
    let calls: Vec<_> = emu.requests()[before..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.operation.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        calls,
        ["GET issues/list-comments", "PATCH issues/update-comment"]
    );
    finish(&emu);
}

#[tokio::test]
async fn requests_carry_githubs_headers() {
    let emu = emulator(Vec::new());
    upsert(&emu, 1, "x").await.unwrap();
    for r in emu.requests() {
        assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
        assert!(r.header("user-agent").unwrap().starts_with("mlops-ci/"));
    }
    finish(&emu);
}

#[tokio::test]
async fn two_bad_gateways_on_create_still_make_one_comment() {
    let emu = emulator(vec![Fault::matching(
        FaultKind::BadGateway,
        2,
        "POST",
        "/comments",
    )]);
    let outcome = upsert(&emu, 7, "x").await.unwrap();
    assert!(matches!(outcome, CommentOutcome::Created(_)), "{outcome:?}");
    assert_eq!(marked(&emu, 7).len(), 1);
    assert_eq!(marked(&emu, 7)[0]["id"], outcome.id());
    // Each ambiguous create is followed by a look, never by a blind second POST.
    assert_eq!(emu.count("POST", "/comments"), 3);
    assert_eq!(emu.count("PATCH", "/comments"), 0);
    finish(&emu);
}

#[tokio::test]
async fn a_lost_create_response_is_found_not_repeated() {
    let emu = emulator(vec![Fault::matching(
        FaultKind::LostResponse,
        1,
        "POST",
        "/comments",
    )]);
    let outcome = upsert(&emu, 7, "x").await.unwrap();
    let ours = marked(&emu, 7);
    assert_eq!(ours.len(), 1);
    assert_eq!(
        outcome,
        CommentOutcome::Created(ours[0]["id"].as_u64().unwrap())
    );
    assert_eq!(emu.count("POST", "/comments"), 1, "no duplicate POST");
    assert_eq!(
        emu.count("PATCH", "/comments"),
        0,
        "the body was already right"
    );
    finish(&emu);
}

#[tokio::test]
async fn a_secondary_rate_limit_is_waited_out() {
    let emu = emulator(vec![Fault::matching(
        FaultKind::SecondaryRateLimit {
            retry_after_secs: 1,
        },
        1,
        "GET",
        "/comments",
    )]);
    let start = Instant::now();
    let outcome = upsert(&emu, 7, "x").await.unwrap();
    let elapsed = start.elapsed();
    assert!(matches!(outcome, CommentOutcome::Created(_)));
    assert!(elapsed >= Duration::from_secs(1), "waited only {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "waited {elapsed:?}");
    let statuses: Vec<_> = emu.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses[..2], [Some(403), Some(200)]);
    assert_eq!(marked(&emu, 7).len(), 1);
    finish(&emu);
}

#[tokio::test]
async fn a_rate_limit_longer_than_allowed_gives_up_without_waiting() {
    let emu = emulator(vec![Fault::next(
        FaultKind::SecondaryRateLimit {
            retry_after_secs: 3600,
        },
        1,
    )]);
    let start = Instant::now();
    let error = upsert(&emu, 7, "x").await.unwrap_err();
    assert!(
        matches!(error, ForgeError::RateLimited { attempts: 1, .. }),
        "{error}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(emu.requests().len(), 1);
    finish(&emu);
}

#[tokio::test]
async fn not_accessible_is_never_retried() {
    let emu = emulator(vec![Fault::matching(
        FaultKind::NotAccessible,
        1,
        "POST",
        "/comments",
    )]);
    let error = upsert(&emu, 7, "x").await.unwrap_err();
    assert!(matches!(error, ForgeError::NotAccessible { .. }), "{error}");
    assert!(error.to_string().contains("pull-requests: write"));
    assert_eq!(emu.count("POST", "/comments"), 1);
    assert_eq!(emu.requests().len(), 2, "list, then the one refused create");
    assert!(emu.comments(7).is_empty());
    finish(&emu);
}

#[tokio::test]
async fn bad_gateways_on_reads_are_retried_with_backoff_then_given_up() {
    let emu = emulator(vec![Fault::matching(
        FaultKind::BadGateway,
        2,
        "GET",
        "/comments",
    )]);
    assert!(matches!(
        upsert(&emu, 7, "x").await.unwrap(),
        CommentOutcome::Created(_)
    ));
    emu.inject(Fault::matching(
        FaultKind::BadGateway,
        10,
        "GET",
        "/comments",
    ));
    let error = upsert(&emu, 7, "y").await.unwrap_err();
    assert!(
        matches!(error, ForgeError::Unavailable { attempts: 4, .. }),
        "{error}"
    );
    assert_eq!(marked(&emu, 7).len(), 1);
    finish(&emu);
}

#[tokio::test]
async fn duplicates_are_deleted_keeping_the_oldest() {
    let emu = emulator(Vec::new());
    emu.seed_comments(9, 2, "octocat");
    let oldest = emu.seed_comment(9, &body("a"), ME);
    emu.seed_comment(9, "a human reply", "octocat");
    let newer = emu.seed_comment(9, &body("b"), ME);
    let newest = emu.seed_comment(9, &body("c"), ME);
    assert_eq!(
        upsert(&emu, 9, "d").await.unwrap(),
        CommentOutcome::Updated(oldest)
    );
    let ours = marked(&emu, 9);
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0]["id"], oldest);
    assert_eq!(ours[0]["body"], body("d"));
    assert_eq!(emu.count("DELETE", &format!("/comments/{newer}")), 1);
    assert_eq!(emu.count("DELETE", &format!("/comments/{newest}")), 1);
    assert_eq!(emu.comments(9).len(), 4);
    finish(&emu);
}

#[tokio::test]
async fn another_users_comment_with_our_marker_is_never_touched() {
    let emu = emulator(Vec::new());
    let theirs = emu.seed_comment(5, &body("pasted by someone"), "mallory");
    let outcome = upsert(&emu, 5, "ours").await.unwrap();
    let CommentOutcome::Created(id) = outcome else {
        panic!("{outcome:?}")
    };
    assert_ne!(id, theirs);
    upsert(&emu, 5, "ours again").await.unwrap();
    let path = format!("/comments/{theirs}");
    assert_eq!(emu.count("PATCH", &path), 0);
    assert_eq!(emu.count("DELETE", &path), 0);
    let all = emu.comments(5);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["body"], body("pasted by someone"));
    assert_eq!(all[1]["body"], body("ours again"));
    finish(&emu);
}

#[tokio::test]
async fn our_comment_on_the_second_page_is_found() {
    let emu = emulator(Vec::new());
    emu.seed_comments(3, 120, "octocat");
    let id = emu.seed_comment(3, &body("same"), ME);
    emu.seed_comments(3, 29, "octocat");
    assert_eq!(emu.comments(3).len(), 150);
    assert_eq!(
        upsert(&emu, 3, "same").await.unwrap(),
        CommentOutcome::Unchanged(id)
    );
    let forge = forge(&emu);
    let all = forge.list_comments(&repo(&emu), 3).await.unwrap();
    assert_eq!(all.len(), 150);
    assert_eq!(all[120].id, id);
    assert_eq!(all[120].author, ME);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    let pages: Vec<_> = emu.requests().iter().map(|r| r.query.clone()).collect();
    assert_eq!(pages[..2], ["per_page=100", "per_page=100&page=2"]);
    assert_eq!(emu.count("GET", "/comments"), 4);
    assert_eq!(emu.count("POST", "/comments"), 0);
    assert_eq!(emu.count("PATCH", "/comments"), 0);
    finish(&emu);
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_and_never_printed() {
    let emu = emulator(Vec::new());
    let config = emu.config();
    let secret = "ghp_wrong_secret_value";
    let forge = GitHubForge::new(Settings::new(
        emu.base_url(),
        Token::new(secret),
        config.login,
    ))
    .unwrap();
    let error = forge.list_comments(&repo(&emu), 1).await.unwrap_err();
    assert!(matches!(error, ForgeError::Unauthorized { .. }), "{error}");
    assert!(!error.to_string().contains(secret));
    assert!(!format!("{forge:?} {error:?}").contains(secret));
    assert_eq!(emu.requests().len(), 1, "401 is not retried");
    emu.assert_no_body_contains(secret);
    finish(&emu);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let emu = emulator(vec![Fault::matching(
        FaultKind::Delay(Duration::from_secs(2)),
        1,
        "GET",
        "/comments",
    )]);
    let config = emu.config();
    let mut settings = Settings::new(emu.base_url(), Token::new(config.token), config.login);
    settings.timeout = Duration::from_millis(500);
    settings.backoff = Duration::from_millis(20);
    let forge = GitHubForge::new(settings).unwrap();
    let start = Instant::now();
    assert!(
        forge
            .list_comments(&repo(&emu), 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(emu.count("GET", "/comments"), 2);
    finish(&emu);
}

#[tokio::test]
async fn post_new_adds_a_comment_each_time_and_survives_a_lost_response() {
    let emu = emulator(Vec::new());
    let forge = forge(&emu);
    let repo = repo(&emu);
    let a = post_new(&forge, &repo, 4, ME, "one").await.unwrap();
    emu.inject(Fault::matching(
        FaultKind::LostResponse,
        1,
        "POST",
        "/comments",
    ));
    let b = post_new(&forge, &repo, 4, ME, "two").await.unwrap();
    assert_ne!(a, b);
    let bodies: Vec<_> = emu.comments(4).iter().map(|c| c["body"].clone()).collect();
    assert_eq!(bodies, ["one", "two"]);
    assert_eq!(emu.count("POST", "/comments"), 2);
    finish(&emu);
}
