//! Source files, spans, and rendering of errors that point into the user's text with hints.
//! A leaf module: it knows nothing of mlops.yaml or of the other modules.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// A named text the diagnostics point into.
#[derive(Debug, Clone)]
pub struct SourceFile {
    inner: Arc<SourceInner>,
}

#[derive(Debug)]
struct SourceInner {
    name: String,
    text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(SourceInner {
                name: name.into(),
                text: text.into(),
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub fn text(&self) -> &str {
        &self.inner.text
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = self.text();
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = text[line_start..offset].chars().count() + 1;
        (line, col)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A byte range in a [`SourceFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self {
            start,
            end: end.max(start),
        }
    }

    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

/// One problem, pointing at the user's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub span: Option<Span>,
    pub label: String,
    pub secondary: Vec<(Span, String)>,
    pub hints: Vec<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            span: None,
            label: String::new(),
            secondary: Vec::new(),
            hints: Vec::new(),
        }
    }

    #[must_use]
    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.span = Some(span);
        self.label = label.into();
        self
    }

    #[must_use]
    pub fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push((span, label.into()));
        self
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Renders as `error: …`, ` --> FILE:LINE:COL`, the source line, a caret and `= hint: …`.
    pub fn render(&self, source: &SourceFile, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let title = Level::ERROR.primary_title(self.message.as_str());
        let group = match self.span {
            Some(span) => {
                let text = source.text();
                let mut snippet = Snippet::source(text)
                    .path(source.name())
                    .line_start(1)
                    .annotation(
                        AnnotationKind::Primary
                            .span(caret_range(text, span))
                            .label(non_empty(&self.label)),
                    );
                for (span, label) in &self.secondary {
                    snippet = snippet.annotation(
                        AnnotationKind::Context
                            .span(caret_range(text, *span))
                            .label(non_empty(label)),
                    );
                }
                Group::with_title(title).element(snippet)
            }
            None => Group::with_title(title),
        };
        let group = self.hints.iter().fold(group, |group, hint| {
            group.element(Level::HELP.with_name(Some("hint")).message(hint.as_str()))
        });
        renderer.render(&[group])
    }
}

fn non_empty(label: &str) -> Option<&str> {
    (!label.is_empty()).then_some(label)
}

/// A span clipped to valid character boundaries and to its first line, never empty where the
/// text has a character to point at.
fn caret_range(text: &str, span: Span) -> Range<usize> {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let mut end = floor_char_boundary(text, span.end.min(line_end));
    if end <= start {
        end = text[start..line_end]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8());
    }
    start..end
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every problem found in one source, reported together.
#[derive(Debug, thiserror::Error)]
#[error("`{}` has {} problem{}", source_file.name(), diagnostics.len(), if diagnostics.len() == 1 { "" } else { "s" })]
pub struct Report {
    pub source_file: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn new(source_file: SourceFile, diagnostic: Diagnostic) -> Self {
        Self {
            source_file,
            diagnostics: vec![diagnostic],
        }
    }

    /// Every problem, rendered in order, separated by blank lines.
    pub fn render(&self, color: bool) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render(&self.source_file, color))
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

/// `a`, `b`, `c`: names as messages quote them.
pub fn backticked<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|i| format!("`{}`", i.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest candidate by edit distance, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let input_lower = input.to_lowercase().replace('_', "-");
    candidates
        .into_iter()
        .map(|c| (levenshtein(&input_lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(input.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let src = SourceFile::new("f", "ab\nçd: x\n");
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(3), (2, 1));
        assert_eq!(src.line_col(6), (2, 3));
    }

    #[test]
    fn suggestions_are_close_matches_only() {
        let keys = ["stages", "steps", "version"];
        assert_eq!(did_you_mean("stagse", keys), Some("stages"));
        assert_eq!(did_you_mean("step", keys), Some("steps"));
        assert_eq!(did_you_mean("banana", keys), None);
    }

    #[test]
    fn renders_location_caret_and_hint() {
        let src = SourceFile::new("mlops.yaml", "version: 1\nstagse: {}\n");
        let out = Diagnostic::error("unknown key `stagse`")
            .at(Span::new(11, 17), "unknown key")
            .hint("did you mean `stages`?")
            .render(&src, false);
        assert!(out.contains("mlops.yaml:2:1"), "{out}");
        assert!(out.contains("^^^^^^ unknown key"), "{out}");
        assert!(out.contains("= hint: did you mean `stages`?"), "{out}");
    }
}
