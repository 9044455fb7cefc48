//! Expression text → tokens, with GitHub's rules for numbers, keywords and strings.

use super::value::parse_number;

#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    StartGroup,
    StartIndex,
    StartParameters,
    EndGroup,
    EndIndex,
    EndParameters,
    Separator,
    Dereference,
    Wildcard,
    /// `!`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||`
    Operator(&'static str),
    Number(f64),
    Boolean(bool),
    Null,
    String(String),
    PropertyName(String),
    Function(String),
    NamedValue(String),
    Unexpected,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    /// The text as written.
    pub raw: String,
    /// 0-based index in characters.
    pub position: usize,
}

/// Splits `expr` into tokens. An `Unexpected` token marks text that is not part of the language.
pub fn lex(expr: &str) -> Vec<Token> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens: Vec<Token> = Vec::new();
    let mut groups: Vec<bool> = Vec::new(); // true = parameters, false = group
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let last = tokens.last().map(|t| &t.kind);
        let (kind, end) = match c {
            '[' => (TokenKind::StartIndex, i + 1),
            ']' => (TokenKind::EndIndex, i + 1),
            '(' => {
                let params = matches!(last, Some(TokenKind::Function(_)));
                groups.push(params);
                (
                    if params {
                        TokenKind::StartParameters
                    } else {
                        TokenKind::StartGroup
                    },
                    i + 1,
                )
            }
            ')' => {
                let params = groups.pop().unwrap_or(false);
                (
                    if params {
                        TokenKind::EndParameters
                    } else {
                        TokenKind::EndGroup
                    },
                    i + 1,
                )
            }
            ',' => (TokenKind::Separator, i + 1),
            '*' => (TokenKind::Wildcard, i + 1),
            '\'' => string(&chars, i),
            '!' | '>' | '<' | '=' | '&' | '|' => operator(&chars, i),
            '.' if !starts_operand(last) => (TokenKind::Dereference, i + 1),
            '.' | '-' | '+' | '0'..='9' => number(&chars, i),
            _ => keyword(&chars, i, last),
        };
        tokens.push(Token {
            kind,
            raw: chars[start..end].iter().collect(),
            position: start,
        });
        i = end;
    }
    tokens
}

/// Whether a `.` here starts a number (`.5`) rather than a property access.
fn starts_operand(last: Option<&TokenKind>) -> bool {
    matches!(
        last,
        None | Some(
            TokenKind::Separator
                | TokenKind::StartGroup
                | TokenKind::StartIndex
                | TokenKind::StartParameters
                | TokenKind::Operator(_)
        )
    )
}

fn is_boundary(c: char) -> bool {
    matches!(
        c,
        '(' | ')' | '[' | ']' | ',' | '.' | '!' | '>' | '<' | '=' | '&' | '|'
    ) || c.is_whitespace()
}

fn read_to_boundary(chars: &[char], start: usize, allow_dot: bool) -> usize {
    let mut i = start + 1;
    while i < chars.len() && (!is_boundary(chars[i]) || (allow_dot && chars[i] == '.')) {
        i += 1;
    }
    i
}

fn number(chars: &[char], start: usize) -> (TokenKind, usize) {
    let end = read_to_boundary(chars, start, true);
    let text: String = chars[start..end].iter().collect();
    let value = parse_number(&text);
    if value.is_nan() {
        (TokenKind::Unexpected, end)
    } else {
        (TokenKind::Number(value), end)
    }
}

fn string(chars: &[char], start: usize) -> (TokenKind, usize) {
    let mut i = start + 1;
    let mut value = String::new();
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c == '\'' {
            if chars.get(i) != Some(&'\'') {
                return (TokenKind::String(value), i);
            }
            i += 1;
        }
        value.push(c);
    }
    (TokenKind::Unexpected, chars.len())
}

fn operator(chars: &[char], start: usize) -> (TokenKind, usize) {
    let next = chars.get(start + 1).copied();
    let two = |op: &'static str| (TokenKind::Operator(op), start + 2);
    match (chars[start], next) {
        ('!', Some('=')) => two("!="),
        ('!', _) => (TokenKind::Operator("!"), start + 1),
        ('>', Some('=')) => two(">="),
        ('>', _) => (TokenKind::Operator(">"), start + 1),
        ('<', Some('=')) => two("<="),
        ('<', _) => (TokenKind::Operator("<"), start + 1),
        ('=', Some('=')) => two("=="),
        ('&', Some('&')) => two("&&"),
        ('|', Some('|')) => two("||"),
        _ => (TokenKind::Unexpected, read_to_boundary(chars, start, false)),
    }
}

fn is_legal_keyword(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn keyword(chars: &[char], start: usize, last: Option<&TokenKind>) -> (TokenKind, usize) {
    let end = read_to_boundary(chars, start, false);
    let text: String = chars[start..end].iter().collect();
    if !is_legal_keyword(&text) {
        return (TokenKind::Unexpected, end);
    }
    if matches!(last, Some(TokenKind::Dereference)) {
        return (TokenKind::PropertyName(text), end);
    }
    let kind = match text.as_str() {
        "true" => TokenKind::Boolean(true),
        "false" => TokenKind::Boolean(false),
        "null" => TokenKind::Null,
        "NaN" => TokenKind::Number(f64::NAN),
        "Infinity" => TokenKind::Number(f64::INFINITY),
        _ => {
            let mut j = end;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            if chars.get(j) == Some(&'(') {
                TokenKind::Function(text)
            } else {
                TokenKind::NamedValue(text)
            }
        }
    };
    (kind, end)
}
