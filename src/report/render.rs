//! [`ReportInput`] → Markdown: the PR comment, the job summary and release notes, rendered with
//! minijinja from the templates embedded from `templates/` (or the user's `report.template`),
//! kept under GitHub's size limits. Pure: the only file read is at compile time.
//!
//! Templates see the variables of [`View`] (strict: a name that does not exist is an error) and
//! may `{% import "macros.md.j2" as r %}` or `{% include "pr-comment.md.j2" %}` the built-ins.
//! A user template runs with a fuel limit, so a runaway loop fails instead of hanging.
//!
//! The input must already be masked: nothing here masks.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::input::{ReportError, ReportInput};
use super::view::View;

/// GitHub's limit on an issue or PR comment body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;
/// GitHub's limit on a job's step summary, in bytes.
pub const SUMMARY_LIMIT: usize = 1024 * 1024;
/// GitHub's limit on a release body, in characters.
pub const RELEASE_NOTES_LIMIT: usize = 125_000;
/// How many template instructions a render may run.
pub const FUEL: u64 = 10_000_000;

const BUILTINS: [(&str, &str); 5] = [
    ("macros.md.j2", include_str!("../../templates/macros.md.j2")),
    (
        "data-checks.md.j2",
        include_str!("../../templates/data-checks.md.j2"),
    ),
    (
        "pr-comment.md.j2",
        include_str!("../../templates/pr-comment.md.j2"),
    ),
    (
        "step-summary.md.j2",
        include_str!("../../templates/step-summary.md.j2"),
    ),
    (
        "release-notes.md.j2",
        include_str!("../../templates/release-notes.md.j2"),
    ),
];

/// The three documents, each with its template, limit and what it says when cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Document {
    Comment,
    Summary,
    ReleaseNotes,
}

impl Document {
    fn template(self) -> &'static str {
        match self {
            Self::Comment => "pr-comment.md.j2",
            Self::Summary => "step-summary.md.j2",
            Self::ReleaseNotes => "release-notes.md.j2",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Comment => "comment",
            Self::Summary => "summary",
            Self::ReleaseNotes => "release-notes",
        }
    }

    /// The size of `text` as GitHub counts it for this document.
    fn size(self, text: &str) -> usize {
        match self {
            Self::Summary => text.len(),
            Self::Comment | Self::ReleaseNotes => text.chars().count(),
        }
    }

    fn limit(self) -> usize {
        match self {
            Self::Comment => COMMENT_LIMIT,
            Self::Summary => SUMMARY_LIMIT,
            Self::ReleaseNotes => RELEASE_NOTES_LIMIT,
        }
    }

    fn truncation_note(self, run_url: Option<&str>) -> String {
        let summary = run_url.map_or_else(
            || "the run's job summary".to_owned(),
            |url| format!("the [job summary]({url})"),
        );
        match self {
            Self::Comment => format!(
                "> ⚠️ **Report truncated** to fit GitHub's 65,536-character limit for comments: \
                 the full report is in {summary}."
            ),
            Self::Summary => "> ⚠️ **Report truncated** to fit GitHub's 1 MiB limit for job \
                              summaries: the full results are in the run's `run.json`."
                .to_owned(),
            Self::ReleaseNotes => format!(
                "> ⚠️ **Notes truncated** to fit GitHub's 125,000-character limit for releases: \
                 the full report is in {summary}."
            ),
        }
    }
}

/// The PR comment: `<!-- mlops-ci:report name=… -->` on the first line (added if an override
/// leaves it out), at most [`COMMENT_LIMIT`] characters.
pub fn render_comment(
    input: &ReportInput,
    template_override: Option<&str>,
) -> Result<String, ReportError> {
    render_comment_masked(input, template_override, &unmasked)
}

/// Masks what a report shows: the run's secrets replaced, on the whole text, before any cut.
pub type Mask<'a> = &'a dyn Fn(&str) -> String;

fn unmasked(text: &str) -> String {
    text.to_owned()
}

/// [`render_comment`], with `mask` applied to the rendered text before it is cut to size, so a
/// secret can never be cut in two and half of it shown.
pub fn render_comment_masked(
    input: &ReportInput,
    template_override: Option<&str>,
    mask: Mask<'_>,
) -> Result<String, ReportError> {
    let text = render(input, template_override, Document::Comment, mask)?;
    let marker = super::view::marker(&input.name);
    if text.starts_with(&marker) {
        return Ok(text);
    }
    // The marker is how the sticky comment is found again: never leave it out.
    let with_marker = format!("{marker}\n{text}");
    if Document::Comment.size(&with_marker) <= COMMENT_LIMIT {
        Ok(with_marker)
    } else {
        let note = Document::Comment.truncation_note(input.run_url.as_deref());
        let room = COMMENT_LIMIT - marker.chars().count() - 1;
        Ok(format!(
            "{marker}\n{}",
            truncate(&text, room, &note, Document::Comment)
        ))
    }
}

/// The job summary (`GITHUB_STEP_SUMMARY`): the comment's content and every step, at most
/// [`SUMMARY_LIMIT`] bytes.
pub fn render_summary(
    input: &ReportInput,
    template_override: Option<&str>,
) -> Result<String, ReportError> {
    render(input, template_override, Document::Summary, &unmasked)
}

/// [`render_summary`], masked before any cut (see [`render_comment_masked`]).
pub fn render_summary_masked(
    input: &ReportInput,
    template_override: Option<&str>,
    mask: Mask<'_>,
) -> Result<String, ReportError> {
    render(input, template_override, Document::Summary, mask)
}

/// Release notes for the model a run produced, at most [`RELEASE_NOTES_LIMIT`] characters.
pub fn render_release_notes(
    input: &ReportInput,
    template_override: Option<&str>,
) -> Result<String, ReportError> {
    render(input, template_override, Document::ReleaseNotes, &unmasked)
}

/// Renders, then leaves out detail until it fits: the failed steps' logs, then the params
/// files' text diffs, then the trend charts; what still does not fit is cut, with a note.
fn render(
    input: &ReportInput,
    template_override: Option<&str>,
    document: Document,
    mask: Mask<'_>,
) -> Result<String, ReportError> {
    let override_name = input
        .settings
        .template
        .clone()
        .unwrap_or_else(|| "report.template".to_owned());
    let env = environment(template_override.map(|source| (override_name.as_str(), source)))
        .map_err(|e| template_error(&e, template_override, &override_name))?;
    let name = if template_override.is_some() {
        override_name.as_str()
    } else {
        document.template()
    };
    let mut view = View::new(input, document.name());
    let render_view = |view: &View| {
        env.get_template(name)
            .and_then(|t| t.render(Value::from(Serde(view))))
            .map(|text| mask(&text))
            .map_err(|e| template_error(&e, template_override, &override_name))
    };
    let mut text = render_view(&view)?;
    for shrink in [drop_logs, drop_text_diffs, drop_charts] {
        if document.size(&text) <= document.limit() {
            return Ok(text);
        }
        if shrink(&mut view) {
            text = render_view(&view)?;
        }
    }
    if document.size(&text) <= document.limit() {
        return Ok(text);
    }
    let note = document.truncation_note(input.run_url.as_deref());
    Ok(truncate(&text, document.limit(), &note, document))
}

fn drop_logs(view: &mut View) -> bool {
    if view.logs.is_empty() {
        return false;
    }
    view.logs.clear();
    view.omitted.push("failed step logs".to_owned());
    true
}

fn drop_text_diffs(view: &mut View) -> bool {
    let mut dropped = false;
    for params in &mut view.params {
        dropped |= params.text_diff.take().is_some();
    }
    if dropped {
        view.omitted.push("params file diffs".to_owned());
    }
    dropped
}

fn drop_charts(view: &mut View) -> bool {
    if view.charts.is_empty() {
        return false;
    }
    view.charts.clear();
    view.omitted.push("trend charts".to_owned());
    true
}

/// Whole lines of `text` up to `limit` with `note` after them, closing a code block or
/// `<details>` the cut leaves open.
fn truncate(text: &str, limit: usize, note: &str, document: Document) -> String {
    let mut kept = String::new();
    let mut fence: Option<String> = None;
    let mut open_details = 0usize;
    // Room for the closers, the note and the blank lines around it.
    let reserve = |fence: &Option<String>, details: usize| {
        document.size(note) + fence.as_ref().map_or(0, |f| f.len() + 1) + details * 12 + 4
    };
    for line in text.split_inclusive('\n') {
        let mut next_fence = fence.clone();
        let mut next_details = open_details;
        let trimmed = line.trim();
        let ticks = trimmed.chars().take_while(|&c| c == '`').count();
        match &fence {
            None if ticks >= 3 => next_fence = Some("`".repeat(ticks)),
            Some(open) if ticks >= open.len() && trimmed.len() == ticks => next_fence = None,
            _ => {}
        }
        if fence.is_none() {
            next_details += trimmed.matches("<details").count();
            next_details = next_details.saturating_sub(trimmed.matches("</details>").count());
        }
        let size = document.size(&kept) + document.size(line);
        if size + reserve(&next_fence, next_details) > limit {
            break;
        }
        kept.push_str(line);
        fence = next_fence;
        open_details = next_details;
    }
    if !kept.ends_with('\n') && !kept.is_empty() {
        kept.push('\n');
    }
    if let Some(open) = fence {
        kept.push_str(&open);
        kept.push('\n');
    }
    for _ in 0..open_details {
        kept.push_str("\n</details>\n");
    }
    kept.push('\n');
    kept.push_str(note);
    kept.push('\n');
    kept
}

fn environment<'s>(user: Option<(&'s str, &'s str)>) -> Result<Environment<'s>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()?,
    );
    for (name, source) in BUILTINS {
        env.add_template(name, source)?;
    }
    if let Some((name, source)) = user {
        env.add_template(name, source)?;
    }
    Ok(env)
}

fn template_error(e: &minijinja::Error, user_source: Option<&str>, user_name: &str) -> ReportError {
    let name = e.name().unwrap_or(user_name);
    let (file, source) = match BUILTINS.iter().find(|(n, _)| *n == name) {
        Some((n, s)) if !(user_source.is_some() && name == user_name) => {
            (format!("templates/{n}"), Some(*s))
        }
        _ => (user_name.to_owned(), user_source),
    };
    let mut message = e.kind().to_string();
    if let Some(detail) = e.detail() {
        message = format!("{message}: {detail}");
    }
    let line = e.line();
    ReportError {
        source_line: line
            .and_then(|l| source?.lines().nth(l.checked_sub(1)?))
            .map(str::to_owned),
        file,
        line,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_closes_what_it_cuts_open() {
        let text = format!("head\n```\n{}```\nafter\n", "line\n".repeat(100));
        let out = truncate(&text, 200, "> cut", Document::Comment);
        assert!(out.chars().count() <= 200, "{out}");
        assert!(out.ends_with("```\n\n> cut\n"), "{out}");
        let text = format!("<details>\n\n{}</details>\n", "row\n".repeat(100));
        let out = truncate(&text, 120, "> cut", Document::Comment);
        assert!(out.contains("</details>\n\n> cut"), "{out}");
        assert!(out.chars().count() <= 120);
    }

    #[test]
    fn builtin_templates_parse() {
        environment(None).unwrap();
    }
}
