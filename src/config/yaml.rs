//! YAML text → a tree of spanned nodes, for diagnostics that point at the user's text.
//! Refuses what a config file never needs: several documents, duplicate keys, custom tags,
//! merge keys, deep nesting and alias expansion past a small budget. Uses the parser that
//! serde-saphyr is built on, so both read the same YAML.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError};

use crate::diagnostic::{Diagnostic, Span};

/// Most nodes a config may expand to, aliases included.
pub const MAX_NODES: usize = 100_000;
/// Deepest nesting of mappings and sequences.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

/// A scalar with its text as written and what YAML 1.2's core schema resolves it to.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub text: String,
    pub style: Style,
    pub resolved: Resolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    Block,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    pub fn index(&self, i: usize) -> Option<&Node> {
        match &self.kind {
            NodeKind::Seq(items) => items.get(i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    /// What the node is, in words, for messages such as "found a mapping".
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Map(_) => "a mapping",
            NodeKind::Seq(_) => "a list",
            NodeKind::Scalar(s) => match s.resolved {
                Resolved::Null => "nothing (null)",
                Resolved::Bool(_) => "a boolean",
                Resolved::Int(_) => "an integer",
                Resolved::Float(_) => "a number",
                Resolved::Str => "a string",
            },
        }
    }

    fn size(&self) -> usize {
        match &self.kind {
            NodeKind::Scalar(_) => 1,
            NodeKind::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            NodeKind::Map(entries) => 1 + entries.iter().map(|e| 1 + e.value.size()).sum::<usize>(),
        }
    }
}

/// Parses one YAML document. `Ok(None)` is an empty document.
pub fn parse(text: &str) -> Result<Option<Node>, Diagnostic> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        text,
        anchors: HashMap::new(),
        nodes: 0,
    };
    builder.document()
}

struct Builder<'a> {
    parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
    text: &'a str,
    anchors: HashMap<usize, Node>,
    nodes: usize,
}

enum Next {
    Node(Node),
    End,
}

impl<'a> Builder<'a> {
    /// The next event that carries data: comments and anchor names are presentation only.
    fn next(&mut self) -> Result<Option<(Event<'a>, Span)>, Diagnostic> {
        loop {
            match self.parser.next_event() {
                None => return Ok(None),
                Some(Ok((Event::Comment(..) | Event::Anchor(..), _))) => {}
                Some(Ok((event, span))) => return Ok(Some((event, self.span(span)))),
                Some(Err(e)) => return Err(self.scan_error(&e)),
            }
        }
    }

    fn span(&self, span: serde_saphyr::granit_parser::Span) -> Span {
        let start = self.byte(span.start);
        let end = self.byte(span.end);
        Span::new(start, end)
    }

    fn byte(&self, marker: serde_saphyr::granit_parser::Marker) -> usize {
        marker.byte_offset().unwrap_or_else(|| {
            self.text
                .char_indices()
                .nth(marker.index())
                .map_or(self.text.len(), |(b, _)| b)
        })
    }

    fn scan_error(&self, e: &ScanError) -> Diagnostic {
        let at = self.byte(*e.marker());
        let kind = e.kind().to_string();
        let message = format!("this is not valid YAML: {}", kind.trim_end_matches('.'));
        let mut d = Diagnostic::error(message).at(Span::new(at, at + 1), "here");
        if self
            .text
            .lines()
            .any(|l| l.trim_start_matches(' ').starts_with('\t'))
        {
            d = d.hint("YAML does not allow tabs for indentation: indent with spaces");
        } else if let Some(open) = unclosed_bracket(&self.text[..line_end(self.text, at)]) {
            d = d
                .also(Span::new(open, open + 1), "this bracket is never closed")
                .hint("close the bracket on the same line, such as `[a, b]`");
        }
        d
    }

    fn document(&mut self) -> Result<Option<Node>, Diagnostic> {
        let mut root = None;
        let mut documents = 0;
        while let Some((event, span)) = self.next()? {
            match event {
                Event::DocumentStart(..) => {
                    documents += 1;
                    if documents > 1 {
                        return Err(Diagnostic::error("mlops.yaml must hold one YAML document")
                            .at(span, "a second document starts here")
                            .hint("remove the `---` line and merge the documents into one"));
                    }
                }
                Event::StreamStart | Event::DocumentEnd | Event::StreamEnd => {}
                _ => match self.node(event, span, 0)? {
                    Next::Node(node) => root = Some(node),
                    Next::End => {}
                },
            }
        }
        Ok(root.filter(|n| {
            !matches!(&n.kind, NodeKind::Scalar(s) if s.resolved == Resolved::Null && s.style == Style::Plain)
        }))
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), Diagnostic> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::error(format!(
                "mlops.yaml expands to more than {MAX_NODES} values; refusing to read it"
            ))
            .at(span, "expansion limit reached here")
            .hint("aliases (`*name`) repeat what their anchor holds: a config needs only a few"));
        }
        Ok(())
    }

    fn node(&mut self, event: Event<'a>, span: Span, depth: usize) -> Result<Next, Diagnostic> {
        if depth > MAX_DEPTH {
            return Err(Diagnostic::error(format!(
                "mlops.yaml nests deeper than {MAX_DEPTH} levels"
            ))
            .at(span, "too deep"));
        }
        let (node, anchor) = match event {
            Event::Scalar(value, style, anchor, tag) => {
                self.count(1, span)?;
                let core = match tag.as_deref() {
                    None => None,
                    Some(tag) if tag.handle() == "tag:yaml.org,2002:" || tag.handle() == "!!" => {
                        Some(tag.suffix().to_owned())
                    }
                    Some(tag) => {
                        return Err(unsupported_tag(
                            span,
                            &format!("{}{}", tag.handle(), tag.suffix()),
                        ));
                    }
                };
                let scalar = scalar(&value, style, core.as_deref(), span)?;
                (
                    Node {
                        span,
                        kind: NodeKind::Scalar(scalar),
                    },
                    anchor,
                )
            }
            Event::SequenceStart(_, anchor, tag) => {
                check_collection_tag(tag.as_deref(), span)?;
                self.count(1, span)?;
                let mut items = Vec::new();
                let mut end = span.end;
                while let Some((event, ev_span)) = self.next()? {
                    if matches!(event, Event::SequenceEnd) {
                        end = ev_span.end.max(end);
                        break;
                    }
                    if let Next::Node(n) = self.node(event, ev_span, depth + 1)? {
                        end = n.span.end.max(end);
                        items.push(n);
                    }
                }
                (
                    Node {
                        span: Span::new(span.start, end),
                        kind: NodeKind::Seq(items),
                    },
                    anchor,
                )
            }
            Event::MappingStart(_, anchor, tag) => {
                check_collection_tag(tag.as_deref(), span)?;
                self.count(1, span)?;
                let entries = self.mapping(depth)?;
                let end = entries.last().map_or(span.end, |e| e.value.span.end);
                (
                    Node {
                        span: Span::new(span.start, end),
                        kind: NodeKind::Map(entries),
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(
                        Diagnostic::error("this alias names no anchor").at(span, "unknown alias")
                    );
                };
                let target = target.clone();
                self.count(target.size(), span)?;
                return Ok(Next::Node(Node {
                    span,
                    kind: target.kind,
                }));
            }
            Event::UnresolvedAlias(name) => {
                return Err(Diagnostic::error(format!(
                    "alias `*{name}` names no anchor defined before it"
                ))
                .at(span, "unknown alias")
                .hint("define the anchor (`&name`) on a value above this line"));
            }
            _ => return Ok(Next::End),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(Next::Node(node))
    }

    fn mapping(&mut self, depth: usize) -> Result<Vec<Entry>, Diagnostic> {
        let mut entries: Vec<Entry> = Vec::new();
        while let Some((event, key_span)) = self.next()? {
            if matches!(event, Event::MappingEnd) {
                break;
            }
            let key_node = match self.node(event, key_span, depth + 1)? {
                Next::Node(n) => n,
                Next::End => break,
            };
            let key = match &key_node.kind {
                NodeKind::Scalar(s) => s.text.clone(),
                _ => {
                    return Err(Diagnostic::error("a mapping key must be a plain name")
                        .at(key_node.span, "complex key")
                        .hint("write keys as plain text, such as `name:`"));
                }
            };
            if key == "<<" {
                return Err(Diagnostic::error("merge keys (`<<`) are not supported")
                    .at(key_node.span, "merge key")
                    .hint("write the keys out, or alias a whole value with `*name`"));
            }
            let Some((event, span)) = self.next()? else {
                break;
            };
            let Next::Node(value) = self.node(event, span, depth + 1)? else {
                break;
            };
            if let Some(first) = entries.iter().find(|e| e.key == key) {
                return Err(Diagnostic::error(format!("duplicate key `{key}`"))
                    .at(key_node.span, "defined again here")
                    .also(first.key_span, "first defined here")
                    .hint("a key may appear once in a mapping: remove or rename one of them"));
            }
            entries.push(Entry {
                key,
                key_span: key_node.span,
                value,
            });
        }
        Ok(entries)
    }
}

fn line_end(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text[at..].find('\n').map_or(text.len(), |i| at + i)
}

/// The offset of the last `[` or `{` before `text`'s end whose line does not close it.
fn unclosed_bracket(text: &str) -> Option<usize> {
    let mut found = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let code = line.split(" #").next().unwrap_or(line);
        let mut depth: Vec<usize> = Vec::new();
        let mut quote = None;
        for (i, c) in code.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (None, '\'' | '"') => quote = Some(c),
                (None, '[' | '{') => depth.push(offset + i),
                (None, ']' | '}') => {
                    depth.pop();
                }
                _ => {}
            }
        }
        if let Some(&open) = depth.first() {
            found = Some(open);
        }
        offset += line.len();
    }
    found
}

fn unsupported_tag(span: Span, tag: &str) -> Diagnostic {
    Diagnostic::error(format!("YAML tag `{tag}` is not supported"))
        .at(span, "tagged value")
        .hint("mlops.yaml holds plain data: remove the tag")
}

fn check_collection_tag(
    tag: Option<&serde_saphyr::granit_parser::Tag>,
    span: Span,
) -> Result<(), Diagnostic> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle() == "tag:yaml.org,2002:" && matches!(t.suffix(), "map" | "seq") => {
            Ok(())
        }
        Some(t) => Err(unsupported_tag(
            span,
            &format!("{}{}", t.handle(), t.suffix()),
        )),
    }
}

fn scalar(
    value: &str,
    style: ScalarStyle,
    core_tag: Option<&str>,
    span: Span,
) -> Result<Scalar, Diagnostic> {
    let style = match style {
        ScalarStyle::Plain => Style::Plain,
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
        _ => Style::Block,
    };
    let resolved = match core_tag {
        Some("str") => Resolved::Str,
        Some(tag) => resolve_plain(value)
            .filter(|r| tag_matches(tag, *r))
            .ok_or_else(|| {
                Diagnostic::error(format!("`{value}` is not a valid `!!{tag}`"))
                    .at(span, "tagged value")
            })?,
        None if style == Style::Plain => resolve_plain(value).unwrap_or(Resolved::Str),
        None => Resolved::Str,
    };
    Ok(Scalar {
        text: value.to_owned(),
        style,
        resolved,
    })
}

fn tag_matches(tag: &str, r: Resolved) -> bool {
    matches!(
        (tag, r),
        ("null", Resolved::Null)
            | ("bool", Resolved::Bool(_))
            | ("int", Resolved::Int(_))
            | ("float", Resolved::Float(_) | Resolved::Int(_))
    )
}

/// YAML 1.2 core schema resolution of a plain scalar; `None` means a string.
fn resolve_plain(v: &str) -> Option<Resolved> {
    match v {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Resolved::Null),
        "true" | "True" | "TRUE" => return Some(Resolved::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Resolved::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Resolved::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Resolved::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(Resolved::Float(f64::NAN)),
        _ => {}
    }
    if let Some(hex) = v.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(Resolved::Int);
    }
    if let Some(oct) = v.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(Resolved::Int);
    }
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<i64>().ok().map(Resolved::Int);
    }
    let is_float_text = !digits.is_empty()
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if is_float_text {
        return v.parse::<f64>().ok().map(Resolved::Float);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    fn root(text: &str) -> Node {
        parse(text).unwrap().unwrap()
    }

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let n = root("a: yes\nb: on\nc: NO\nd: true\ne: 3.10\nf: 0755\n");
        let r = |k: &str| match &n.get(k).unwrap().kind {
            NodeKind::Scalar(s) => (s.text.clone(), s.resolved),
            _ => unreachable!(),
        };
        assert_eq!(r("a"), ("yes".into(), Resolved::Str));
        assert_eq!(r("b"), ("on".into(), Resolved::Str));
        assert_eq!(r("c"), ("NO".into(), Resolved::Str));
        assert_eq!(r("d"), ("true".into(), Resolved::Bool(true)));
        assert_eq!(r("e"), ("3.10".into(), Resolved::Float(3.1)));
        assert_eq!(r("f"), ("0755".into(), Resolved::Int(755)));
    }

    #[test]
    fn duplicate_keys_name_both_places() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.message, "duplicate key `a`");
        assert_eq!(err.span, Some(Span::new(10, 11)));
        assert_eq!(err.secondary[0].0, Span::new(0, 1));
    }

    #[test]
    fn aliases_expand_and_keep_the_alias_span() {
        let n = root("a: &x {k: v}\nb: *x\n");
        assert_eq!(n.get("b").unwrap().get("k").unwrap().as_str(), Some("v"));
        assert_eq!(n.get("b").unwrap().span, Span::new(16, 18));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            let _ = writeln!(text, "a{i}: &a{i} [{refs}]");
        }
        let err = parse(&text).unwrap_err();
        assert!(
            err.message.contains("expands to more than"),
            "{}",
            err.message
        );
    }

    #[test]
    fn empty_document_is_none() {
        assert_eq!(parse("# only a comment\n").unwrap(), None);
    }
}
