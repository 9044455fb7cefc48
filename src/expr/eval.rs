//! Evaluates a syntax tree over contexts: operators, `*` filters and the functions, with the
//! runner's memory limit on the strings an evaluation builds.

use std::rc::Rc;

use indexmap::IndexMap;

use super::parser::{Node, NodeKind};
use super::value::{
    Value, contains_ignore_case, ends_with_ignore_case, eq_ignore_case, loose_cmp, loose_eq,
    starts_with_ignore_case,
};

/// Most bytes (counted as UTF-16, as the runner does) that one evaluation's strings may take.
pub const MAX_MEMORY: usize = 1024 * 1024;

/// Functions whose answer depends on the run: status functions, `hashFiles`.
pub trait Host {
    /// Calls `name` (its canonical spelling) with evaluated arguments.
    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String>;
}

pub struct Evaluator<'a> {
    contexts: &'a IndexMap<String, Value>,
    host: Option<&'a dyn Host>,
    memory: usize,
}

impl<'a> Evaluator<'a> {
    pub fn new(contexts: &'a IndexMap<String, Value>, host: Option<&'a dyn Host>) -> Self {
        Self {
            contexts,
            host,
            memory: 0,
        }
    }

    fn count(&mut self, s: &str) -> Result<(), String> {
        self.memory += s.encode_utf16().count() * 2;
        if self.memory > MAX_MEMORY {
            return Err("The maximum allowed memory size was exceeded".to_owned());
        }
        Ok(())
    }

    fn string(&mut self, s: String) -> Result<Value, String> {
        self.count(&s)?;
        Ok(Value::String(s))
    }

    pub fn eval(&mut self, node: &Node) -> Result<Value, String> {
        match &node.kind {
            NodeKind::Literal(v) => Ok(v.clone()),
            NodeKind::Named(name) => Ok(self
                .contexts
                .iter()
                .find(|(k, _)| eq_ignore_case(k, name))
                .map_or(Value::Null, |(_, v)| v.clone())),
            NodeKind::Not(inner) => Ok(Value::Bool(!self.eval(inner)?.truthy())),
            NodeKind::And(items) => {
                let mut last = Value::Null;
                for item in items {
                    last = self.eval(item)?;
                    if !last.truthy() {
                        break;
                    }
                }
                Ok(last)
            }
            NodeKind::Or(items) => {
                let mut last = Value::Null;
                for item in items {
                    last = self.eval(item)?;
                    if last.truthy() {
                        break;
                    }
                }
                Ok(last)
            }
            NodeKind::Compare { op, left, right } => {
                let l = self.eval(left)?;
                let r = self.eval(right)?;
                let ord = loose_cmp(&l, &r);
                Ok(Value::Bool(match *op {
                    "==" => loose_eq(&l, &r),
                    "!=" => !loose_eq(&l, &r),
                    "<" => ord.is_some_and(std::cmp::Ordering::is_lt),
                    ">" => ord.is_some_and(std::cmp::Ordering::is_gt),
                    "<=" => loose_eq(&l, &r) || ord.is_some_and(std::cmp::Ordering::is_lt),
                    ">=" => loose_eq(&l, &r) || ord.is_some_and(std::cmp::Ordering::is_gt),
                    _ => false,
                }))
            }
            NodeKind::Index { left, index } => {
                let target = self.eval(left)?;
                let key = match index {
                    Some(i) => Some(self.eval(i)?),
                    None => None,
                };
                Ok(if left.is_filtered() {
                    filtered_index(&target, key.as_ref())
                } else {
                    index_value(&target, key.as_ref())
                })
            }
            NodeKind::Call { name, args } => self.call(name, args),
        }
    }

    fn call(&mut self, name: &str, args: &[Node]) -> Result<Value, String> {
        match name {
            "contains" => {
                let left = self.eval(&args[0])?;
                Ok(Value::Bool(match &left {
                    Value::Array(items) if !items.is_empty() => {
                        let right = self.eval(&args[1])?;
                        items.iter().any(|item| loose_eq(&right, item))
                    }
                    l if l.is_primitive() => {
                        let right = self.eval(&args[1])?;
                        right.is_primitive() && contains_ignore_case(&l.to_text(), &right.to_text())
                    }
                    _ => false,
                }))
            }
            "startsWith" | "endsWith" => {
                let left = self.eval(&args[0])?;
                let right = self.eval(&args[1])?;
                let ok = left.is_primitive()
                    && right.is_primitive()
                    && if name == "startsWith" {
                        starts_with_ignore_case(&left.to_text(), &right.to_text())
                    } else {
                        ends_with_ignore_case(&left.to_text(), &right.to_text())
                    };
                Ok(Value::Bool(ok))
            }
            "format" => {
                let fmt = self.eval(&args[0])?.to_text();
                let mut cache: Vec<Option<Value>> = vec![None; args.len() - 1];
                let text = format(&fmt, args.len() - 1, |i| {
                    if cache[i].is_none() {
                        cache[i] = Some(self.eval(&args[i + 1])?);
                    }
                    Ok(cache[i].clone().unwrap_or(Value::Null))
                })?;
                self.string(text)
            }
            "join" => {
                let items = self.eval(&args[0])?;
                let sep = match args.get(1) {
                    Some(a) => match self.eval(a)? {
                        v if v.is_primitive() => v.to_text(),
                        _ => ",".to_owned(),
                    },
                    None => ",".to_owned(),
                };
                let text = match &items {
                    Value::Array(a) => a.iter().map(Value::to_text).collect::<Vec<_>>().join(&sep),
                    v if v.is_primitive() => v.to_text(),
                    _ => String::new(),
                };
                self.string(text)
            }
            "toJSON" => {
                let v = self.eval(&args[0])?;
                let text = serde_json::to_string_pretty(&v.to_json()).map_err(|e| e.to_string())?;
                self.string(text)
            }
            "fromJSON" => {
                let text = self.eval(&args[0])?.to_text();
                let json: serde_json::Value = serde_json::from_str(text.trim())
                    .map_err(|e| format!("Error parsing fromJson: {e}"))?;
                Ok(Value::from_json(&json))
            }
            "case" => {
                for pair in args[..args.len() - 1].chunks(2) {
                    match self.eval(&pair[0])? {
                        Value::Bool(true) => return self.eval(&pair[1]),
                        Value::Bool(false) => {}
                        _ => {
                            return Err(
                                "case predicate must evaluate to a boolean value".to_owned()
                            );
                        }
                    }
                }
                self.eval(&args[args.len() - 1])
            }
            _ => {
                let values = args
                    .iter()
                    .map(|a| self.eval(a))
                    .collect::<Result<Vec<_>, _>>()?;
                match self.host {
                    Some(host) => host.call(name, &values),
                    None => Err(format!("the function `{name}` is not available here")),
                }
            }
        }
    }
}

/// `target[key]` on an object (by text, ignoring case), or an array (by whole number);
/// `key` `None` is `*`.
fn index_value(target: &Value, key: Option<&Value>) -> Value {
    match (target, key) {
        (Value::Object(map), None) => Value::Array(Rc::new(map.values().cloned().collect())),
        // A new array, as the runner's `FilteredArray`: `a[*] == a` is false.
        (Value::Array(items), None) => Value::Array(Rc::new(items.as_ref().clone())),
        (_, None) => Value::Array(Rc::new(Vec::new())),
        (Value::Object(_), Some(k)) => k
            .to_key()
            .and_then(|k| target.get(&k).cloned())
            .unwrap_or(Value::Null),
        (Value::Array(items), Some(k)) => array_index(k)
            .and_then(|i| items.get(i).cloned())
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// The runner's `IndexHelper`: NaN and negatives miss; fractions are floored (`[1.9]` is `[1]`);
/// above Int32 range misses.
fn array_index(key: &Value) -> Option<usize> {
    let n = key.to_number();
    if n.is_nan() || n < 0.0 {
        return None;
    }
    let n = n.floor();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (n <= f64::from(i32::MAX)).then_some(n as usize)
}

/// An access on the result of a `*` filter: maps over its items, dropping the missing ones,
/// and flattens one level for a further `*`.
fn filtered_index(target: &Value, key: Option<&Value>) -> Value {
    let Value::Array(items) = target else {
        return Value::Array(Rc::new(Vec::new()));
    };
    let mut out = Vec::new();
    for item in items.iter() {
        match (item, key) {
            (Value::Object(map), None) => out.extend(map.values().cloned()),
            (Value::Array(inner), None) => out.extend(inner.iter().cloned()),
            (Value::Object(_), Some(k)) => {
                out.extend(k.to_key().and_then(|k| item.get(&k)).cloned());
            }
            (Value::Array(inner), Some(k)) => {
                out.extend(array_index(k).and_then(|i| inner.get(i)).cloned());
            }
            _ => {}
        }
    }
    Value::Array(Rc::new(out))
}

/// `format`: `{N}` takes argument N (evaluated only when referenced, as the runner does);
/// `{{` and `}}` are literal braces; `{N:}` is allowed, other format specifiers are not.
fn format(
    fmt: &str,
    count: usize,
    mut arg: impl FnMut(usize) -> Result<Value, String>,
) -> Result<String, String> {
    let invalid = || format!("The following format string is invalid: {fmt}");
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut pos = 0;
    while pos < chars.len() {
        let lbrace = chars[pos..].iter().position(|c| *c == '{').map(|p| p + pos);
        let rbrace = chars[pos..].iter().position(|c| *c == '}').map(|p| p + pos);
        match (lbrace, rbrace) {
            (Some(open), close) if close.is_none_or(|close| close > open) => {
                if chars.get(open + 1) == Some(&'{') {
                    out.extend(&chars[pos..=open]);
                    pos = open + 2;
                    continue;
                }
                let mut end = open + 1;
                while end < chars.len() && chars[end].is_ascii_digit() {
                    end += 1;
                }
                let mut spec = String::new();
                if end > open + 1 && chars.get(end) == Some(&':') {
                    end += 1;
                    while end < chars.len() {
                        match (chars[end], chars.get(end + 1)) {
                            ('}', Some('}')) => {
                                spec.push('}');
                                end += 2;
                            }
                            ('}', _) => break,
                            (c, _) => {
                                spec.push(c);
                                end += 1;
                            }
                        }
                    }
                }
                if end == open + 1 || chars.get(end) != Some(&'}') {
                    return Err(invalid());
                }
                let digits: String = chars[open + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                let index: usize = digits.parse().map_err(|_| invalid())?;
                if index >= count {
                    return Err(format!(
                        "The following format string references more arguments than were supplied: {fmt}"
                    ));
                }
                let value = arg(index)?;
                if !spec.is_empty() {
                    return Err(format!(
                        "The format specifiers '{spec}' are not valid for objects of type '{}'",
                        value.kind()
                    ));
                }
                out.extend(&chars[pos..open]);
                out.push_str(&value.to_text());
                pos = end + 1;
            }
            (_, Some(close)) => {
                if chars.get(close + 1) != Some(&'}') {
                    return Err(invalid());
                }
                out.extend(&chars[pos..=close]);
                pos = close + 2;
            }
            _ => {
                out.extend(&chars[pos..]);
                break;
            }
        }
    }
    Ok(out)
}
