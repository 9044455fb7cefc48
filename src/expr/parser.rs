//! Tokens → syntax tree, with GitHub's precedence, n-ary `&&`/`||`, parse-time checks of
//! names, functions and argument counts, and the depth limit of 50.

use super::lexer::{Token, TokenKind, lex};
use super::value::{Value, eq_ignore_case};
use super::{ErrorKind, ExprError};

/// Deepest syntax tree allowed, as in GitHub's runner.
pub const MAX_DEPTH: usize = 50;
/// Longest expression allowed, in characters.
pub const MAX_LENGTH: usize = 21_000;

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub depth: usize,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Literal(Value),
    Named(String),
    Index {
        left: Box<Node>,
        index: Option<Box<Node>>,
    },
    Not(Box<Node>),
    Compare {
        op: &'static str,
        left: Box<Node>,
        right: Box<Node>,
    },
    And(Vec<Node>),
    Or(Vec<Node>),
    Call {
        name: &'static str,
        args: Vec<Node>,
    },
}

impl Node {
    /// Whether this is a `*` filter (or an access on one): later accesses map over it.
    pub fn is_filtered(&self) -> bool {
        match &self.kind {
            NodeKind::Index { index: None, .. } => true,
            NodeKind::Index { left, .. } => left.is_filtered(),
            _ => false,
        }
    }
}

/// A function: its canonical name and how many arguments it takes.
#[derive(Debug, Clone, Copy)]
pub struct FunctionSpec {
    pub name: &'static str,
    pub min: usize,
    pub max: usize,
}

/// Functions every expression may call.
pub const BUILTINS: [FunctionSpec; 8] = [
    FunctionSpec {
        name: "contains",
        min: 2,
        max: 2,
    },
    FunctionSpec {
        name: "startsWith",
        min: 2,
        max: 2,
    },
    FunctionSpec {
        name: "endsWith",
        min: 2,
        max: 2,
    },
    FunctionSpec {
        name: "format",
        min: 1,
        max: usize::MAX,
    },
    FunctionSpec {
        name: "join",
        min: 1,
        max: 2,
    },
    FunctionSpec {
        name: "toJSON",
        min: 1,
        max: 1,
    },
    FunctionSpec {
        name: "fromJSON",
        min: 1,
        max: 1,
    },
    FunctionSpec {
        name: "case",
        min: 3,
        max: usize::MAX,
    },
];

/// What names and extra functions an expression may use.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub names: &'a [&'a str],
    pub functions: &'a [FunctionSpec],
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    expr: &'a str,
    scope: Scope<'a>,
    nesting: usize,
}

/// Parses `expr`; `Ok(None)` for an empty expression.
pub fn parse(expr: &str, scope: Scope<'_>) -> Result<Option<Node>, ExprError> {
    if expr.chars().count() > MAX_LENGTH {
        return Err(ExprError::new(
            ErrorKind::Parsing,
            format!("Exceeded max expression length {MAX_LENGTH}"),
            None,
            expr,
        ));
    }
    let tokens = lex(expr);
    if let Some(bad) = tokens.iter().find(|t| t.kind == TokenKind::Unexpected) {
        return Err(ExprError::new(
            ErrorKind::Lexing,
            format!("Unexpected symbol: '{}'", bad.raw),
            Some(bad.position),
            expr,
        ));
    }
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        expr,
        scope,
        nesting: 0,
    };
    let node = p.or()?;
    if let Some(t) = p.peek() {
        return Err(p.unexpected(t));
    }
    Ok(Some(node))
}

fn node(kind: NodeKind, children_depth: usize) -> Node {
    Node {
        kind,
        depth: children_depth + 1,
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn error(&self, message: String, position: Option<usize>) -> ExprError {
        ExprError::new(ErrorKind::Parsing, message, position, self.expr)
    }

    fn unexpected(&self, t: &Token) -> ExprError {
        self.error(format!("Unexpected symbol: '{}'", t.raw), Some(t.position))
    }

    fn end(&self) -> ExprError {
        let last = self.tokens.last().expect("called with tokens");
        self.error(
            format!("Unexpected end of expression: '{}'", last.raw),
            Some(last.position),
        )
    }

    fn next(&mut self) -> Result<Token, ExprError> {
        let t = self.peek().cloned().ok_or_else(|| self.end())?;
        self.pos += 1;
        Ok(t)
    }

    fn check_depth(&self, n: Node) -> Result<Node, ExprError> {
        if n.depth > MAX_DEPTH {
            return Err(self.error(format!("Exceeded max expression depth {MAX_DEPTH}"), None));
        }
        Ok(n)
    }

    fn is_op(&self, ops: &[&str]) -> Option<&'static str> {
        match self.peek().map(|t| &t.kind) {
            Some(TokenKind::Operator(op)) if ops.contains(op) => Some(op),
            _ => None,
        }
    }

    fn chain(
        &mut self,
        op: &str,
        next: fn(&mut Self) -> Result<Node, ExprError>,
    ) -> Result<Node, ExprError> {
        let first = next(self)?;
        if self.is_op(&[op]).is_none() {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_op(&[op]).is_some() {
            self.pos += 1;
            items.push(next(self)?);
        }
        let depth = items.iter().map(|n| n.depth).max().unwrap_or(0);
        let kind = if op == "&&" {
            NodeKind::And(items)
        } else {
            NodeKind::Or(items)
        };
        self.check_depth(node(kind, depth))
    }

    fn or(&mut self) -> Result<Node, ExprError> {
        self.chain("||", Self::and)
    }

    fn and(&mut self) -> Result<Node, ExprError> {
        self.chain("&&", Self::equality)
    }

    fn binary(
        &mut self,
        ops: &[&str],
        next: fn(&mut Self) -> Result<Node, ExprError>,
    ) -> Result<Node, ExprError> {
        let mut left = next(self)?;
        while let Some(op) = self.is_op(ops) {
            self.pos += 1;
            let right = next(self)?;
            let depth = left.depth.max(right.depth);
            left = self.check_depth(node(
                NodeKind::Compare {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                depth,
            ))?;
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Node, ExprError> {
        self.binary(&["==", "!="], Self::comparison)
    }

    fn comparison(&mut self) -> Result<Node, ExprError> {
        self.binary(&["<", "<=", ">", ">="], Self::unary)
    }

    fn nest(&mut self) -> Result<(), ExprError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH * 4 {
            return Err(self.error(format!("Exceeded max expression depth {MAX_DEPTH}"), None));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        if self.is_op(&["!"]).is_some() {
            self.pos += 1;
            self.nest()?;
            let inner = self.unary()?;
            self.nesting -= 1;
            let depth = inner.depth;
            return self.check_depth(node(NodeKind::Not(Box::new(inner)), depth));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Node, ExprError> {
        let mut left = self.primary()?;
        loop {
            match self.peek().map(|t| t.kind.clone()) {
                Some(TokenKind::Dereference) => {
                    self.pos += 1;
                    let t = self.next()?;
                    let index = match t.kind {
                        TokenKind::PropertyName(name) => {
                            Some(Box::new(node(NodeKind::Literal(Value::String(name)), 0)))
                        }
                        TokenKind::Wildcard => None,
                        _ => return Err(self.unexpected(&t)),
                    };
                    let depth = left.depth.max(1);
                    left = self.check_depth(node(
                        NodeKind::Index {
                            left: Box::new(left),
                            index,
                        },
                        depth,
                    ))?;
                }
                Some(TokenKind::StartIndex) => {
                    self.pos += 1;
                    let index = if matches!(self.peek().map(|t| &t.kind), Some(TokenKind::Wildcard))
                    {
                        self.pos += 1;
                        None
                    } else {
                        self.nest()?;
                        let inner = self.or()?;
                        self.nesting -= 1;
                        Some(Box::new(inner))
                    };
                    let t = self.next()?;
                    if t.kind != TokenKind::EndIndex {
                        return Err(self.unexpected(&t));
                    }
                    let depth = left.depth.max(index.as_ref().map_or(1, |i| i.depth));
                    left = self.check_depth(node(
                        NodeKind::Index {
                            left: Box::new(left),
                            index,
                        },
                        depth,
                    ))?;
                }
                _ => return Ok(left),
            }
        }
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let t = self.next()?;
        let literal = |v| Ok(node(NodeKind::Literal(v), 0));
        match t.kind {
            TokenKind::Null => literal(Value::Null),
            TokenKind::Boolean(b) => literal(Value::Bool(b)),
            TokenKind::Number(n) => literal(Value::Number(n)),
            TokenKind::String(ref s) => literal(Value::String(s.clone())),
            TokenKind::NamedValue(ref name) => {
                if !self.scope.names.iter().any(|n| eq_ignore_case(n, name)) {
                    return Err(self.error(
                        format!("Unrecognized named-value: '{name}'"),
                        Some(t.position),
                    ));
                }
                Ok(node(NodeKind::Named(name.clone()), 0))
            }
            TokenKind::Function(ref name) => self.call(name, &t),
            TokenKind::StartGroup => {
                self.nest()?;
                let inner = self.or()?;
                self.nesting -= 1;
                let close = self.next()?;
                if close.kind != TokenKind::EndGroup {
                    return Err(self.unexpected(&close));
                }
                Ok(inner)
            }
            _ => Err(self.unexpected(&t)),
        }
    }

    fn call(&mut self, name: &str, t: &Token) -> Result<Node, ExprError> {
        let spec = BUILTINS
            .iter()
            .chain(self.scope.functions)
            .find(|f| eq_ignore_case(f.name, name))
            .copied()
            .ok_or_else(|| {
                self.error(format!("Unrecognized function: '{name}'"), Some(t.position))
            })?;
        let open = self.next()?;
        if open.kind != TokenKind::StartParameters {
            return Err(self.unexpected(&open));
        }
        self.nest()?;
        let mut args = Vec::new();
        if matches!(self.peek().map(|t| &t.kind), Some(TokenKind::EndParameters)) {
            self.pos += 1;
        } else {
            loop {
                args.push(self.or()?);
                let sep = self.next()?;
                match sep.kind {
                    TokenKind::Separator => {}
                    TokenKind::EndParameters => break,
                    _ => return Err(self.unexpected(&sep)),
                }
            }
        }
        self.nesting -= 1;
        if args.len() < spec.min {
            return Err(self.error(
                format!("Too few parameters supplied: '{name}'"),
                Some(t.position),
            ));
        }
        if args.len() > spec.max {
            return Err(self.error(
                format!("Too many parameters supplied: '{name}'"),
                Some(t.position),
            ));
        }
        if spec.name == "case" && args.len() % 2 == 0 {
            return Err(self.error(
                format!("Even number of parameters supplied, requires an odd number of parameters: '{name}'"),
                Some(t.position),
            ));
        }
        let depth = args.iter().map(|a| a.depth).max().unwrap_or(0);
        self.check_depth(node(
            NodeKind::Call {
                name: spec.name,
                args,
            },
            depth,
        ))
    }
}
