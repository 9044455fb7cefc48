//! The `${{ }}` language of GitHub Actions: lexer, parser, values and coercions, functions,
//! interpolation. Pure: no I/O, knows nothing of mlops.yaml; run-dependent functions come
//! through [`Host`].

mod eval;
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
