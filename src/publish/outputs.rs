//! The step's outputs for the workflow: `verdict`, `report-path`, `comment-url`, `bundle-path`
//! and `image-digest`, appended to `GITHUB_OUTPUT` in the heredoc form, which holds any value.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

/// What a run tells the workflow, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    /// `pass`, `fail` or `cancelled`.
    pub verdict: String,
    /// The rendered report (Markdown), when one was written.
    pub report_path: Option<String>,
    /// The PR comment, when one was posted or updated.
    pub comment_url: Option<String>,
    /// A fork's publishable bundle, when one was written.
    pub bundle_path: Option<String>,
    /// The pushed image's digest, when an image was pushed.
    pub image_digest: Option<String>,
}

impl Outputs {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![("verdict", self.verdict.as_str())];
        let optional = [
            ("report-path", &self.report_path),
            ("comment-url", &self.comment_url),
            ("bundle-path", &self.bundle_path),
            ("image-digest", &self.image_digest),
        ];
        out.extend(
            optional
                .into_iter()
                .map(|(k, v)| (k, v.as_deref().unwrap_or(""))),
        );
        out
    }

    /// The text appended to `GITHUB_OUTPUT`; `delimiter` must not occur in any value.
    pub fn render(&self, delimiter: &str) -> String {
        let mut out = String::new();
        for (k, v) in self.pairs() {
            let _ = write!(out, "{k}<<{delimiter}\n{v}\n{delimiter}\n");
        }
        out
    }

    /// Appends the outputs to the file `GITHUB_OUTPUT` names; nothing when it is not set.
    pub fn write(&self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let Some(path) = env("GITHUB_OUTPUT").filter(|p| !p.is_empty()) else {
            return Ok(());
        };
        let mut delimiter = format!("mlops_ci_{:016x}", fastrand::u64(..));
        while self.pairs().iter().any(|(_, v)| v.contains(&delimiter)) {
            delimiter = format!("mlops_ci_{:016x}", fastrand::u64(..));
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(Path::new(&path))
            .with_context(|| format!("while opening `GITHUB_OUTPUT` (`{path}`)"))?;
        file.write_all(self.render(&delimiter).as_bytes())
            .with_context(|| format!("while writing the step's outputs to `{path}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_output_is_a_heredoc() {
        let outputs = Outputs {
            verdict: "pass".into(),
            comment_url: Some("https://github.com/o/r/pull/1#issuecomment-2".into()),
            ..Outputs::default()
        };
        assert_eq!(
            outputs.render("EOF"),
            "verdict<<EOF\npass\nEOF\nreport-path<<EOF\n\nEOF\n\
             comment-url<<EOF\nhttps://github.com/o/r/pull/1#issuecomment-2\nEOF\n\
             bundle-path<<EOF\n\nEOF\nimage-digest<<EOF\n\nEOF\n"
        );
    }
}
