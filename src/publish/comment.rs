//! The PR comment: the sticky upsert (one comment per marker, found, updated, deduplicated) and
//! the plain "new comment each run"; uses only `forge`.

use std::time::Duration;

use crate::forge::{Comment, Forge, ForgeError, Repo};

/// How many creates one upsert may attempt when each one's outcome was ambiguous.
const CREATE_ATTEMPTS: u32 = 4;
/// The pause before creating again after an ambiguous create (GitHub asks for ≥ 1 s between
/// mutating requests).
const MUTATION_GAP: Duration = Duration::from_secs(1);

/// What [`upsert_sticky`] did, with the id of the comment that now holds the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentOutcome {
    Created(u64),
    Updated(u64),
    /// Our comment already had this body: nothing written.
    Unchanged(u64),
}

impl CommentOutcome {
    pub fn id(self) -> u64 {
        match self {
            Self::Created(id) | Self::Updated(id) | Self::Unchanged(id) => id,
        }
    }
}

/// Our comments: authored by `me` and containing `marker`, oldest first. A comment by anyone
/// else is never ours, whatever it contains (anyone can paste the marker).
fn ours(comments: Vec<Comment>, marker: &str, me: &str) -> Vec<Comment> {
    let mut ours: Vec<Comment> = comments
        .into_iter()
        .filter(|c| c.author == me && c.body.contains(marker))
        .collect();
    ours.sort_by(|a, b| (&a.created_at, a.id).cmp(&(&b.created_at, b.id)));
    ours
}

/// Makes the oldest of `ours` (not empty) hold `body` and deletes the others.
async fn converge(
    forge: &dyn Forge,
    repo: &Repo,
    ours: &[Comment],
    body: &str,
) -> Result<CommentOutcome, ForgeError> {
    let (keep, duplicates) = ours.split_first().expect("at least one comment");
    let outcome = if keep.body == body {
        CommentOutcome::Unchanged(keep.id)
    } else {
        forge.update_comment(repo, keep.id, body).await?;
        CommentOutcome::Updated(keep.id)
    };
    for duplicate in duplicates {
        forge.delete_comment(repo, duplicate.id).await?;
    }
    Ok(outcome)
}

/// Puts `body` in our one comment on `issue` that carries `marker`: lists every comment, then
/// updates the oldest of ours if its body differs and deletes newer duplicates, or creates it.
///
/// `body` must contain `marker` (appended on a line of its own when it does not), so the next run
/// finds the comment. A create whose outcome is ambiguous is never repeated blindly: the comments
/// are listed again and the one found is updated; only if none is found is it created again.
/// After a create the comments are listed once more, so that two runs racing on one PR converge
/// on the oldest comment.
///
/// A typical run on a PR that already has our comment costs two API calls: list and update (one
/// list per 100 comments).
pub async fn upsert_sticky(
    forge: &dyn Forge,
    repo: &Repo,
    issue: u64,
    marker: &str,
    me: &str,
    body: &str,
) -> Result<CommentOutcome, ForgeError> {
    let with_marker;
    let body = if body.contains(marker) {
        body
    } else {
        with_marker = format!("{body}\n\n{marker}");
        &with_marker
    };
    let found = ours(forge.list_comments(repo, issue).await?, marker, me);
    if !found.is_empty() {
        return converge(forge, repo, &found, body).await;
    }
    let mut attempt = 0;
    let created = loop {
        attempt += 1;
        match forge.create_comment(repo, issue, body).await {
            Ok(created) => break created,
            Err(ForgeError::Ambiguous { message }) => {
                let found = ours(forge.list_comments(repo, issue).await?, marker, me);
                if let Some(first) = found.first() {
                    // Our create was applied after all (or a concurrent run's was).
                    let id = first.id;
                    return match converge(forge, repo, &found, body).await? {
                        CommentOutcome::Unchanged(_) => Ok(CommentOutcome::Created(id)),
                        other => Ok(other),
                    };
                }
                if attempt >= CREATE_ATTEMPTS {
                    return Err(ForgeError::Ambiguous { message });
                }
                tokio::time::sleep(MUTATION_GAP).await;
            }
            Err(e) => return Err(e),
        }
    };
    // Another run may have created one at the same time: the oldest wins.
    let found = ours(forge.list_comments(repo, issue).await?, marker, me);
    match found.first() {
        Some(first) if first.id != created.id => converge(forge, repo, &found, body).await,
        Some(_) => converge(forge, repo, &found, body)
            .await
            .map(|_| CommentOutcome::Created(created.id)),
        // Not listed yet (eventual consistency): ours is the only one we know of.
        None => Ok(CommentOutcome::Created(created.id)),
    }
}

/// Posts `body` as a new comment (`report.comment: new`); returns its id. [`supersede`] then
/// folds the earlier ones away.
///
/// After an ambiguous
/// create, the comments are listed: if the newest by `me` has this exact body it is taken as
/// ours, else [`ForgeError::Ambiguous`] is returned rather than risking a second copy.
pub async fn post_new(
    forge: &dyn Forge,
    repo: &Repo,
    issue: u64,
    me: &str,
    body: &str,
) -> Result<u64, ForgeError> {
    match forge.create_comment(repo, issue, body).await {
        Ok(created) => Ok(created.id),
        Err(ForgeError::Ambiguous { message }) => forge
            .list_comments(repo, issue)
            .await?
            .into_iter()
            .filter(|c| c.author == me)
            .max_by(|a, b| (&a.created_at, a.id).cmp(&(&b.created_at, b.id)))
            .filter(|c| c.body == body)
            .map(|c| c.id)
            .ok_or(ForgeError::Ambiguous { message }),
        Err(e) => Err(e),
    }
}

/// The line that marks a report folded away by a newer one.
pub const SUPERSEDED: &str = "<!-- mlops-ci:superseded -->";

/// Folds our earlier reports (authored by `me`, with `marker`, other than `newest`) into a
/// collapsed `<details>` under a line linking the newest one, so a PR that posts a report per
/// run shows one open report. Returns how many were folded.
///
/// GitHub's "minimize" exists only in its GraphQL API, which a workflow token on GitHub
/// Enterprise may not reach; an edit through REST folds the comment the same way for readers and
/// keeps its text.
pub async fn supersede(
    forge: &dyn Forge,
    repo: &Repo,
    issue: u64,
    marker: &str,
    me: &str,
    newest: (u64, &str),
) -> Result<usize, ForgeError> {
    let (newest_id, newest_url) = newest;
    let older: Vec<Comment> = ours(forge.list_comments(repo, issue).await?, marker, me)
        .into_iter()
        .filter(|c| c.id != newest_id && !c.body.contains(SUPERSEDED))
        .collect();
    for comment in &older {
        forge
            .update_comment(repo, comment.id, &folded(&comment.body, marker, newest_url))
            .await?;
    }
    Ok(older.len())
}

/// An earlier report, folded: the marker, a line linking the newer report, the old text in a
/// closed `<details>` (left out when it would not fit a comment).
fn folded(body: &str, marker: &str, newer: &str) -> String {
    let head = format!("{marker}\n{SUPERSEDED}\n> Superseded by [a newer report]({newer}).\n");
    let old: String = body
        .lines()
        .filter(|l| l.trim() != marker)
        .collect::<Vec<_>>()
        .join("\n");
    let full =
        format!("{head}\n<details><summary>Earlier report</summary>\n\n{old}\n\n</details>\n");
    if full.chars().count() <= crate::report::render::COMMENT_LIMIT {
        full
    } else {
        head
    }
}

/// Where people see a comment: `https://github.com/o/r/pull/7#issuecomment-42`.
pub fn comment_url(server: &str, repo: &Repo, issue: u64, id: u64) -> String {
    format!(
        "{}/{repo}/pull/{issue}#issuecomment-{id}",
        server.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folded_report_keeps_its_marker_and_text() {
        let marker = "<!-- mlops-ci:report name=iris -->";
        let out = folded(
            &format!("{marker}\n## ✅ iris\nbody"),
            marker,
            "https://x/1",
        );
        assert!(
            out.starts_with(&format!("{marker}\n{SUPERSEDED}\n")),
            "{out}"
        );
        assert!(out.contains("[a newer report](https://x/1)"));
        assert!(out.contains("<details><summary>Earlier report</summary>\n\n## ✅ iris\nbody"));
        assert_eq!(out.matches(marker).count(), 1);
        let long = format!("{marker}\n{}", "x".repeat(70_000));
        assert!(!folded(&long, marker, "u").contains("<details>"));
    }
}
