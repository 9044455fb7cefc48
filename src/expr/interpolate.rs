//! `${{ }}` inside text: splitting a template into text and expressions, interpolating it, and
//! the `if:` rules (a bare expression, a whole-value `${{ }}`, the implicit `success() &&`).

use super::{ErrorKind, ExprError};

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    /// An expression's text and its byte offset in the template (just after `${{`).
    Expr {
        text: String,
        offset: usize,
    },
}

/// Splits `template` at each `${{ … }}`; a `}}` inside a quoted string does not close it.
pub fn split(template: &str) -> Result<Vec<Segment>, ExprError> {
    let mut out = Vec::new();
    let mut rest = 0;
    while let Some(found) = template[rest..].find("${{") {
        let open = rest + found;
        if open > rest {
            out.push(Segment::Text(template[rest..open].to_owned()));
        }
        let start = open + 3;
        let close = find_close(&template[start..]).ok_or_else(|| {
            ExprError::new(
                ErrorKind::Parsing,
                "The expression is not closed. An unescaped ${{ sequence was found, but the closing }} sequence was not found".to_owned(),
                Some(template[..open].chars().count()),
                template,
            )
        })?;
        out.push(Segment::Expr {
            text: template[start..start + close].to_owned(),
            offset: start,
        });
        rest = start + close + 2;
    }
    if rest < template.len() {
        out.push(Segment::Text(template[rest..].to_owned()));
    }
    Ok(out)
}

fn find_close(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_string = !in_string,
            b'}' if !in_string && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Whether `text` holds any `${{`.
pub fn has_expressions(text: &str) -> bool {
    text.contains("${{")
}

/// How an `if:` value reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionForm {
    /// Empty: `success()`.
    Default,
    /// A bare expression, or one whole-value `${{ }}`: its text and byte offset in the value.
    Expression { text: String, offset: usize },
    /// Text around `${{ }}`: a string, so truthy whenever it is not empty.
    Template(Vec<Segment>),
}

/// Reads an `if:` value as GitHub does.
pub fn condition_form(value: &str) -> Result<ConditionForm, ExprError> {
    if value.trim().is_empty() {
        return Ok(ConditionForm::Default);
    }
    if !has_expressions(value) {
        return Ok(ConditionForm::Expression {
            text: value.to_owned(),
            offset: 0,
        });
    }
    let segments = split(value)?;
    match segments.as_slice() {
        [Segment::Expr { text, offset }] => Ok(ConditionForm::Expression {
            text: text.clone(),
            offset: *offset,
        }),
        _ => Ok(ConditionForm::Template(segments)),
    }
}

/// The status functions; a condition calling none of them gets `success() &&` in front.
pub const STATUS_FUNCTIONS: [&str; 4] = ["success", "failure", "always", "cancelled"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_expressions() {
        let s = split("a ${{ x }} b ${{ '}}' }}").unwrap();
        assert_eq!(
            s,
            vec![
                Segment::Text("a ".into()),
                Segment::Expr {
                    text: " x ".into(),
                    offset: 5
                },
                Segment::Text(" b ".into()),
                Segment::Expr {
                    text: " '}}' ".into(),
                    offset: 16
                },
            ]
        );
        assert!(split("${{ x").is_err());
        assert_eq!(split("plain").unwrap(), vec![Segment::Text("plain".into())]);
    }

    #[test]
    fn condition_forms() {
        assert_eq!(condition_form("").unwrap(), ConditionForm::Default);
        assert_eq!(
            condition_form("github.ref == 'x'").unwrap(),
            ConditionForm::Expression {
                text: "github.ref == 'x'".into(),
                offset: 0
            }
        );
        assert_eq!(
            condition_form("${{ false }}").unwrap(),
            ConditionForm::Expression {
                text: " false ".into(),
                offset: 3
            }
        );
        assert!(matches!(
            condition_form("true && ${{ false }}").unwrap(),
            ConditionForm::Template(_)
        ));
        assert!(matches!(
            condition_form("${{ false }}\n").unwrap(),
            ConditionForm::Template(_)
        ));
    }
}
