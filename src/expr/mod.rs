//! The `${{ }}` language of GitHub Actions: lexer, parser, values and coercions, functions,
//! interpolation. Pure: no I/O, knows nothing of mlops.yaml; run-dependent functions come
//! through [`Host`].

mod eval;
pub mod interpolate;
mod lexer;
mod parser;
mod value;

use std::fmt;

use indexmap::IndexMap;

pub use eval::{Host, MAX_MEMORY};
pub use parser::{BUILTINS, FunctionSpec, MAX_DEPTH, Scope};
pub use value::{Value, number_to_string};

/// The phase an expression failed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Lexing,
    Parsing,
    Evaluation,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lexing => "lexing",
            Self::Parsing => "parsing",
            Self::Evaluation => "evaluation",
        }
    }
}

/// An expression error, worded as GitHub's runner words it, with the position (0-based, in
/// characters) inside the expression where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub kind: ErrorKind,
    pub message: String,
    pub position: Option<usize>,
    pub expr: String,
}

impl ExprError {
    pub fn new(kind: ErrorKind, message: String, position: Option<usize>, expr: &str) -> Self {
        Self {
            kind,
            message,
            position,
            expr: expr.to_owned(),
        }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(
                f,
                "{}. Located at position {} within expression: {}",
                self.message,
                p + 1,
                self.expr
            ),
            None => write!(
                f,
                "{}. Located within expression: {}",
                self.message, self.expr
            ),
        }
    }
}

impl std::error::Error for ExprError {}

impl ExprError {
    /// The length in bytes of the token the error points at (at least 1).
    pub fn token_len(&self) -> usize {
        let at = self.byte_position().unwrap_or(0).min(self.expr.len());
        self.expr[at..]
            .find(|c: char| c.is_whitespace() || "()[],".contains(c))
            .unwrap_or(self.expr.len() - at)
            .max(1)
    }

    /// A one-line summary for messages: what went wrong, without the position suffix.
    pub fn summary(&self) -> String {
        match self.kind {
            ErrorKind::Evaluation => format!("expression failed: {}", self.message),
            ErrorKind::Lexing | ErrorKind::Parsing => {
                format!("invalid expression: {}", self.message)
            }
        }
    }

    /// The error's byte offset inside its expression text, where it has a position.
    pub fn byte_position(&self) -> Option<usize> {
        let chars = self.position?;
        Some(
            self.expr
                .char_indices()
                .nth(chars)
                .map_or(self.expr.len(), |(b, _)| b),
        )
    }
}

/// A parsed expression, ready to evaluate any number of times.
#[derive(Debug, Clone)]
pub struct Expr {
    text: String,
    root: Option<parser::Node>,
}

impl Expr {
    /// Parses `text` (without `${{ }}`), allowing the names and extra functions of `scope`.
    pub fn parse(text: &str, scope: Scope<'_>) -> Result<Self, ExprError> {
        Ok(Self {
            text: text.to_owned(),
            root: parser::parse(text, scope)?,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the expression calls any of `names` (canonical spellings), anywhere.
    pub fn calls_any(&self, names: &[&str]) -> bool {
        fn walk(n: &parser::Node, names: &[&str]) -> bool {
            use parser::NodeKind as K;
            match &n.kind {
                K::Call { name, args } => {
                    names.contains(name) || args.iter().any(|a| walk(a, names))
                }
                K::Literal(_) | K::Named(_) => false,
                K::Index { left, index } => {
                    walk(left, names) || index.as_deref().is_some_and(|i| walk(i, names))
                }
                K::Not(a) => walk(a, names),
                K::Compare { left, right, .. } => walk(left, names) || walk(right, names),
                K::And(v) | K::Or(v) => v.iter().any(|a| walk(a, names)),
            }
        }
        self.root.as_ref().is_some_and(|r| walk(r, names))
    }

    /// The context paths the expression reads, such as `github.event.pull_request.title`;
    /// `*` stands for a filter and `[]` for a computed index.
    pub fn paths(&self) -> Vec<String> {
        fn path_of(n: &parser::Node) -> Option<String> {
            use parser::NodeKind as K;
            match &n.kind {
                K::Named(name) => Some(name.to_lowercase()),
                K::Index { left, index } => {
                    let base = path_of(left)?;
                    Some(match index.as_deref().map(|i| &i.kind) {
                        None => format!("{base}.*"),
                        Some(K::Literal(Value::String(s))) => format!("{base}.{s}"),
                        Some(_) => format!("{base}[]"),
                    })
                }
                _ => None,
            }
        }
        fn walk(n: &parser::Node, out: &mut Vec<String>) {
            use parser::NodeKind as K;
            if let Some(p) = path_of(n) {
                out.push(p);
            }
            match &n.kind {
                K::Index { left, index } => {
                    if path_of(n).is_none() {
                        walk(left, out);
                    }
                    if let Some(i) = index {
                        walk(i, out);
                    }
                }
                K::Call { args, .. } => args.iter().for_each(|a| walk(a, out)),
                K::Not(a) => walk(a, out),
                K::Compare { left, right, .. } => {
                    walk(left, out);
                    walk(right, out);
                }
                K::And(v) | K::Or(v) => v.iter().for_each(|a| walk(a, out)),
                K::Literal(_) | K::Named(_) => {}
            }
        }
        let mut out = Vec::new();
        if let Some(r) = &self.root {
            walk(r, &mut out);
        }
        out
    }

    /// Evaluates over `contexts` (names matched ignoring case).
    pub fn eval(
        &self,
        contexts: &IndexMap<String, Value>,
        host: Option<&dyn Host>,
    ) -> Result<Value, ExprError> {
        match &self.root {
            None => Ok(Value::Null),
            Some(root) => eval::Evaluator::new(contexts, host)
                .eval(root)
                .map_err(|m| ExprError::new(ErrorKind::Evaluation, m, None, &self.text)),
        }
    }
}

/// A string that may hold `${{ }}` expressions, parsed once.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<(interpolate::Segment, Option<Expr>)>,
}

impl Template {
    /// Parses every expression in `text`; an error's position is inside that expression.
    pub fn parse(text: &str, scope: Scope<'_>) -> Result<Self, (usize, ExprError)> {
        let segments = interpolate::split(text).map_err(|e| (0, e))?;
        let parts = segments
            .into_iter()
            .map(|s| match &s {
                interpolate::Segment::Expr { text, offset } => {
                    let e = Expr::parse(text, scope).map_err(|e| (*offset, e))?;
                    Ok((s, Some(e)))
                }
                interpolate::Segment::Text(_) => Ok((s, None)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { parts })
    }

    /// The expressions, in order.
    pub fn expressions(&self) -> impl Iterator<Item = &Expr> {
        self.parts.iter().filter_map(|(_, e)| e.as_ref())
    }

    pub fn render(
        &self,
        contexts: &IndexMap<String, Value>,
        host: Option<&dyn Host>,
    ) -> Result<String, ExprError> {
        let mut out = String::new();
        for (segment, expr) in &self.parts {
            match (segment, expr) {
                (_, Some(e)) => out.push_str(&e.eval(contexts, host)?.to_text()),
                (interpolate::Segment::Text(t), None) => out.push_str(t),
                (interpolate::Segment::Expr { .. }, None) => {}
            }
        }
        Ok(out)
    }
}

/// An `if:` condition, parsed once, with GitHub's rules.
#[derive(Debug, Clone)]
pub enum Condition {
    /// An expression; `implicit_success` when it calls no status function.
    Expression { expr: Expr, implicit_success: bool },
    /// Text around `${{ }}`: true whenever the rendered text is not empty.
    Template(Template),
}

impl Condition {
    /// Parses an `if:` value; an error comes with the byte offset of its expression.
    pub fn parse(value: &str, scope: Scope<'_>) -> Result<Self, (usize, ExprError)> {
        use interpolate::ConditionForm;
        match interpolate::condition_form(value).map_err(|e| (0, e))? {
            ConditionForm::Default => Ok(Self::Expression {
                expr: Expr::parse("success()", scope).map_err(|e| (0, e))?,
                implicit_success: false,
            }),
            ConditionForm::Expression { text, offset } => {
                let expr = Expr::parse(&text, scope).map_err(|e| (offset, e))?;
                let implicit_success = !expr.calls_any(&interpolate::STATUS_FUNCTIONS);
                Ok(Self::Expression {
                    expr,
                    implicit_success,
                })
            }
            ConditionForm::Template(_) => Ok(Self::Template(Template::parse(value, scope)?)),
        }
    }

    /// Whether the condition holds. `success()` comes from `host`.
    pub fn holds(
        &self,
        contexts: &IndexMap<String, Value>,
        host: Option<&dyn Host>,
    ) -> Result<bool, ExprError> {
        match self {
            Self::Expression {
                expr,
                implicit_success,
            } => {
                if *implicit_success {
                    let success = match host {
                        Some(h) => h.call("success", &[]).map_err(|m| {
                            ExprError::new(ErrorKind::Evaluation, m, None, expr.text())
                        })?,
                        None => Value::Bool(true),
                    };
                    if !success.truthy() {
                        return Ok(false);
                    }
                }
                Ok(expr.eval(contexts, host)?.truthy())
            }
            Self::Template(t) => Ok(!t.render(contexts, host)?.is_empty()),
        }
    }

    /// The expressions the condition evaluates.
    pub fn expressions(&self) -> Vec<&Expr> {
        match self {
            Self::Expression { expr, .. } => vec![expr],
            Self::Template(t) => t.expressions().collect(),
        }
    }
}

/// The contexts mlops.yaml expressions may read.
pub const CONTEXT_NAMES: [&str; 13] = [
    "github", "env", "secrets", "runner", "steps", "needs", "stages", "metrics", "baseline",
    "mlops", "inputs", "vars", "job",
];

/// The functions a run provides beyond the built-ins.
pub const RUN_FUNCTIONS: [FunctionSpec; 5] = [
    FunctionSpec {
        name: "success",
        min: 0,
        max: 0,
    },
    FunctionSpec {
        name: "failure",
        min: 0,
        max: 0,
    },
    FunctionSpec {
        name: "always",
        min: 0,
        max: 0,
    },
    FunctionSpec {
        name: "cancelled",
        min: 0,
        max: 0,
    },
    FunctionSpec {
        name: "hashFiles",
        min: 1,
        max: usize::MAX,
    },
];

/// The scope of every expression in mlops.yaml.
pub fn run_scope() -> Scope<'static> {
    Scope {
        names: &CONTEXT_NAMES,
        functions: &RUN_FUNCTIONS,
    }
}
