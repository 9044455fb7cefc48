//! The verdict on the commit: a check run `mlops-ci` with the report as its summary, or, when
//! the token may not create check runs, a commit status. Uses only `forge`.

use crate::forge::{
    CHECK_TEXT_LIMIT, CheckRun, CommitStatus, Conclusion, Forge, ForgeError, Repo,
    STATUS_DESCRIPTION_LIMIT,
};

/// The name of the check run and the status context.
pub const CHECK_NAME: &str = "mlops-ci";

/// What [`post_verdict`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// A check run, and where people see it.
    CheckRun(String),
    /// A commit status: check runs were not permitted.
    Status,
}

/// The verdict for the head commit of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub head_sha: String,
    pub conclusion: Conclusion,
    /// One line: `all 2 gates passed`.
    pub title: String,
    /// The report, as Markdown (the PR comment's body).
    pub report: String,
    pub details_url: Option<String>,
}

/// Creates the check run; when the token may not (403 not accessible, as with a token that has
/// `statuses: write` but not `checks: write`), sets a commit status instead. A check run whose
/// creation was ambiguous is not created again: a second one would show twice.
pub async fn post_verdict(
    forge: &dyn Forge,
    repo: &Repo,
    verdict: &Verdict,
) -> Result<Posted, ForgeError> {
    let run = CheckRun {
        name: CHECK_NAME.to_owned(),
        head_sha: verdict.head_sha.clone(),
        conclusion: verdict.conclusion,
        title: verdict.title.clone(),
        summary: fit(&verdict.report, CHECK_TEXT_LIMIT),
        text: None,
        details_url: verdict.details_url.clone(),
    };
    match forge.create_check_run(repo, &run).await {
        Ok(url) => Ok(Posted::CheckRun(url)),
        Err(ForgeError::NotAccessible { .. }) => {
            let status = CommitStatus {
                sha: verdict.head_sha.clone(),
                context: CHECK_NAME.to_owned(),
                conclusion: verdict.conclusion,
                description: fit(&verdict.title, STATUS_DESCRIPTION_LIMIT),
                target_url: verdict.details_url.clone(),
            };
            forge.create_status(repo, &status).await?;
            Ok(Posted::Status)
        }
        Err(e) => Err(e),
    }
}

/// `text` in at most `limit` characters: whole lines, then a line saying the rest is in the
/// job summary.
fn fit(text: &str, limit: usize) -> String {
    const NOTE: &str = "\n… cut to fit; the job summary has the whole report\n";
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let room = limit.saturating_sub(NOTE.chars().count());
    let mut kept = String::new();
    let mut size = 0;
    for line in text.split_inclusive('\n') {
        let n = line.chars().count();
        if size + n > room {
            break;
        }
        kept.push_str(line);
        size += n;
    }
    if kept.is_empty() {
        kept = text.chars().take(room).collect();
    }
    kept.push_str(NOTE);
    kept
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn fit_keeps_whole_lines_and_says_so() {
        let text = "one\ntwo\nthree\n".repeat(10);
        let cut = fit(&text, 70);
        assert!(cut.chars().count() <= 70, "{cut}");
        assert!(cut.starts_with("one\ntwo\n"));
        assert!(cut.ends_with("job summary has the whole report\n"));
        assert_eq!(fit("short", 70), "short");
    }
}
