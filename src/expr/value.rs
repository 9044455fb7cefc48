//! Values of the expression language and GitHub's coercions: truthiness, number and string
//! conversion, loose equality and ordering, case-insensitive text.

use std::cmp::Ordering;
use std::rc::Rc;

use indexmap::IndexMap;

/// A value: JSON's kinds, where arrays and objects are equal only to themselves.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Rc<Vec<Value>>),
    Object(Rc<IndexMap<String, Value>>),
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "Null",
            Self::Bool(_) => "Boolean",
            Self::Number(_) => "Number",
            Self::String(_) => "String",
            Self::Array(_) => "Array",
            Self::Object(_) => "Object",
        }
    }

    pub fn is_primitive(&self) -> bool {
        !matches!(self, Self::Array(_) | Self::Object(_))
    }

    pub fn truthy(&self) -> bool {
        match self {
            Self::Null => false,
            Self::Bool(b) => *b,
            Self::Number(n) => *n != 0.0 && !n.is_nan(),
            Self::String(s) => !s.is_empty(),
            Self::Array(_) | Self::Object(_) => true,
        }
    }

    pub fn to_number(&self) -> f64 {
        match self {
            Self::Null => 0.0,
            Self::Bool(b) => f64::from(u8::from(*b)),
            Self::Number(n) => *n,
            Self::String(s) => parse_number(s),
            Self::Array(_) | Self::Object(_) => f64::NAN,
        }
    }

    /// The text of a value as `format` and interpolation show it.
    pub fn to_text(&self) -> String {
        match self {
            Self::Null => String::new(),
            Self::Bool(b) => b.to_string(),
            Self::Number(n) => number_to_string(*n),
            Self::String(s) => s.clone(),
            Self::Array(_) => "Array".to_owned(),
            Self::Object(_) => "Object".to_owned(),
        }
    }

    /// The text used as an object key; `None` for arrays and objects.
    pub fn to_key(&self) -> Option<String> {
        self.is_primitive().then(|| self.to_text())
    }

    /// Property lookup, ignoring case as GitHub does.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Self::Object(map) => map.get(key).or_else(|| {
                map.iter()
                    .find(|(k, _)| eq_ignore_case(k, key))
                    .map(|(_, v)| v)
            }),
            _ => None,
        }
    }

    pub fn from_json(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Self::Null,
            serde_json::Value::Bool(b) => Self::Bool(*b),
            serde_json::Value::Number(n) => Self::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Self::String(s.clone()),
            serde_json::Value::Array(a) => {
                Self::Array(Rc::new(a.iter().map(Self::from_json).collect()))
            }
            serde_json::Value::Object(o) => Self::Object(Rc::new(
                o.iter()
                    .map(|(k, v)| (k.clone(), Self::from_json(v)))
                    .collect(),
            )),
        }
    }

    /// As JSON: integral numbers without a fraction, NaN and infinities as null.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Null => serde_json::Value::Null,
            Self::Bool(b) => serde_json::Value::Bool(*b),
            Self::Number(n) => json_number(*n),
            Self::String(s) => serde_json::Value::String(s.clone()),
            Self::Array(a) => serde_json::Value::Array(a.iter().map(Self::to_json).collect()),
            Self::Object(o) => {
                serde_json::Value::Object(o.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }
}

fn json_number(n: f64) -> serde_json::Value {
    if n == n.trunc() && n.abs() < 9.007_199_254_740_992e15 {
        #[allow(clippy::cast_possible_truncation)]
        let i = n as i64;
        serde_json::Value::from(i)
    } else {
        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// GitHub's number parsing: trimmed; empty is 0; decimal with sign, point and exponent;
/// `0x` hex and `0o` octal (Int32); `Infinity`, `-Infinity`; anything else NaN.
pub fn parse_number(text: &str) -> f64 {
    let s = text.trim();
    if s.is_empty() {
        return 0.0;
    }
    if let Some(v) = parse_decimal(s) {
        return v;
    }
    let bytes = s.as_bytes();
    if bytes.len() > 2
        && bytes[0] == b'0'
        && bytes[1] == b'x'
        && bytes[2..].iter().all(u8::is_ascii_hexdigit)
    {
        #[allow(clippy::cast_possible_wrap)]
        return u32::from_str_radix(&s[2..], 16).map_or(f64::NAN, |v| f64::from(v as i32));
    }
    if bytes.len() > 2
        && bytes[0] == b'0'
        && bytes[1] == b'o'
        && bytes[2..].iter().all(|b| (b'0'..=b'7').contains(b))
    {
        #[allow(clippy::cast_possible_wrap)]
        return u32::from_str_radix(&s[2..], 8).map_or(f64::NAN, |v| f64::from(v as i32));
    }
    match s {
        "Infinity" | "+Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        _ => f64::NAN,
    }
}

/// `[+-]digits[.digits][(e|E)[+-]digits]`, at least one digit before or after the point.
fn parse_decimal(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    s.parse::<f64>().ok()
}

/// .NET's `G15`: 15 significant digits, exponent form below 1e-5 and from 1e15.
pub fn number_to_string(n: f64) -> String {
    if n.is_nan() {
        return "NaN".to_owned();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if n == 0.0 {
        return "0".to_owned();
    }
    let sci = format!("{:.14e}", n.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if n < 0.0 { "-" } else { "" };
    if !(-4..15).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}E{esign}{:02}", exp.abs());
    }
    let exp = usize::try_from(exp).ok();
    let text = match exp {
        Some(e) if digits.len() > e + 1 => format!("{}.{}", &digits[..=e], &digits[e + 1..]),
        Some(e) => format!("{digits}{}", "0".repeat(e + 1 - digits.len())),
        None => {
            let zeros = usize::try_from(
                -(sci
                    .split_once('e')
                    .map_or(0, |(_, e)| e.parse::<i32>().unwrap_or(0)))
                    - 1,
            )
            .unwrap_or(0);
            format!("0.{}{digits}", "0".repeat(zeros))
        }
    };
    format!("{sign}{text}")
}

/// A character as .NET's `OrdinalIgnoreCase` compares it: simple upper-casing, except the
/// Turkish dotted and dotless i.
fn fold(c: char) -> char {
    if matches!(c, '\u{130}' | '\u{131}') {
        return c;
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn folded_units(s: &str) -> Vec<u16> {
    let mut out = Vec::with_capacity(s.len());
    let mut buf = [0u16; 2];
    for c in s.chars() {
        out.extend_from_slice(fold(c).encode_utf16(&mut buf));
    }
    out
}

pub fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    folded_units(a).cmp(&folded_units(b))
}

pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    a == b || cmp_ignore_case(a, b) == Ordering::Equal
}

pub fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let h = folded_units(haystack);
    let n = folded_units(needle);
    n.is_empty() || h.windows(n.len()).any(|w| w == n.as_slice())
}

pub fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    folded_units(s).starts_with(&folded_units(prefix))
}

pub fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    folded_units(s).ends_with(&folded_units(suffix))
}

/// Converts null and booleans to numbers, and a string compared with a number to a number.
fn coerce(left: &Value, right: &Value) -> (Value, Value) {
    match (left, right) {
        (Value::Number(_), Value::String(s)) => (left.clone(), Value::Number(parse_number(s))),
        (Value::String(s), Value::Number(_)) => (Value::Number(parse_number(s)), right.clone()),
        (l, r) if std::mem::discriminant(l) == std::mem::discriminant(r) => (l.clone(), r.clone()),
        (Value::Null | Value::Bool(_), _) => coerce(&Value::Number(left.to_number()), right),
        (_, Value::Null | Value::Bool(_)) => coerce(left, &Value::Number(right.to_number())),
        _ => (left.clone(), right.clone()),
    }
}

pub fn loose_eq(left: &Value, right: &Value) -> bool {
    match coerce(left, right) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Number(a), Value::Number(b)) => a == b,
        (Value::String(a), Value::String(b)) => eq_ignore_case(&a, &b),
        (Value::Array(a), Value::Array(b)) => Rc::ptr_eq(&a, &b),
        (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(&a, &b),
        _ => false,
    }
}

/// `Some(ordering)` when the two can be ordered after coercion.
pub fn loose_cmp(left: &Value, right: &Value) -> Option<Ordering> {
    match coerce(left, right) {
        (Value::Number(a), Value::Number(b)) => a.partial_cmp(&b),
        (Value::String(a), Value::String(b)) => Some(cmp_ignore_case(&a, &b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(&b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::excessive_precision)]
    fn numbers_print_like_dotnet_g15() {
        for (n, s) in [
            (1.0, "1"),
            (-0.5, "-0.5"),
            (123_456.789, "123456.789"),
            (0.845_512_408_225_570_06, "0.84551240822557"),
            (0.012, "0.012"),
            (1e15, "1E+15"),
            (1.5e-5, "1.5E-05"),
            (0.0001, "0.0001"),
            (1e14, "100000000000000"),
        ] {
            assert_eq!(number_to_string(n), s, "{n}");
        }
    }

    #[test]
    fn parses_numbers_like_github() {
        assert_eq!(parse_number(" 0x01 "), 1.0);
        assert_eq!(parse_number("0o10"), 8.0);
        assert_eq!(parse_number(""), 0.0);
        assert!(parse_number("inf").is_nan());
        assert!(parse_number("1e").is_nan());
        assert_eq!(parse_number("-Infinity"), f64::NEG_INFINITY);
    }

    #[test]
    fn case_folding_keeps_turkish_i_apart() {
        assert!(eq_ignore_case("ς", "Σ"));
        assert!(!eq_ignore_case("i", "İ"));
        assert!(cmp_ignore_case("a", "[") == Ordering::Less);
    }
}
