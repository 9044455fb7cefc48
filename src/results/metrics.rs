//! Metrics files → flat metric sets, by DVC's reading rules (`.json`, `.toml`, anything else
//! YAML; scalars kept, lists and nulls dropped, nested keys joined with `.`). Uses nothing else.

use std::fmt;
use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One metric's value, as DVC keeps it: a number, a string or a boolean.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
}

/// The metrics of one file: flattened keys in file order.
pub type Metrics = IndexMap<String, MetricValue>;
/// Metrics by file, keyed by the path as written.
pub type MetricFiles = IndexMap<String, Metrics>;

/// Why a metrics file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics file `{path}` does not exist")]
    Missing { path: String },
    #[error("could not read metrics file `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("metrics file `{path}` is not valid {format}: {message}")]
    Parse {
        path: String,
        format: &'static str,
        message: String,
    },
    #[error("metrics file `{path}` is a Python module; reading `.py` metrics is not supported yet")]
    Python { path: String },
}

impl MetricValue {
    /// The value as a number, when it is one (booleans count as 0 and 1, as in Python).
    pub fn as_number(&self) -> Option<Number> {
        match self {
            Self::Int(i) => Some(Number::Int(i128::from(*i))),
            Self::Bool(b) => Some(Number::Int(i128::from(*b))),
            Self::Float(f) => Some(Number::Float(*f)),
            Self::Str(_) => None,
        }
    }

    /// Equality as Python's `==` sees it: `1 == 1.0 == True`, `nan != nan`.
    pub fn py_eq(&self, other: &Self) -> bool {
        match (self.as_number(), other.as_number()) {
            (Some(a), Some(b)) => a.py_eq(b),
            (None, None) => self == other,
            _ => false,
        }
    }
}

/// A number as Python computes with it: ints exact, floats IEEE.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    #[allow(clippy::cast_precision_loss)]
    fn as_f64(self) -> f64 {
        match self {
            Self::Int(i) => i as f64,
            Self::Float(f) => f,
        }
    }

    fn py_eq(self, other: Self) -> bool {
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => a == b,
            (Self::Int(i), Self::Float(f)) | (Self::Float(f), Self::Int(i)) => int_eq_float(i, f),
            (Self::Float(a), Self::Float(b)) => a == b,
        }
    }

    /// `new - old` with Python's types: int − int is an int, anything with a float a float.
    #[must_use]
    pub fn minus(self, old: Self) -> Self {
        match (self, old) {
            (Self::Int(a), Self::Int(b)) => Self::Int(a - b),
            (a, b) => Self::Float(a.as_f64() - b.as_f64()),
        }
    }
}

/// Python compares an int with a float exactly, not by converting the int.
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
fn int_eq_float(i: i128, f: f64) -> bool {
    if !f.is_finite() || f.fract() != 0.0 || f.abs() >= 1e38 {
        return false;
    }
    f as i128 == i
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => f.write_str(&python_float(*x)),
        }
    }
}

/// As Python's `str()` prints it: `1`, `0.1`, `1e-05`, `1.0`, `True`, the string itself.
impl fmt::Display for MetricValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => f.write_str(&python_float(*x)),
            Self::Str(s) => f.write_str(s),
            Self::Bool(true) => f.write_str("True"),
            Self::Bool(false) => f.write_str("False"),
        }
    }
}

impl Serialize for MetricValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Int(i) => serializer.serialize_i64(*i),
            Self::Float(x) => serializer.serialize_f64(*x),
            Self::Str(s) => serializer.serialize_str(s),
            Self::Bool(b) => serializer.serialize_bool(*b),
        }
    }
}

impl<'de> Deserialize<'de> for MetricValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        scalar(&value).ok_or_else(|| {
            serde::de::Error::custom("a metric value must be a number, a string or a boolean")
        })
    }
}

/// Python's `repr()` of a float: the shortest digits that read back the same, fixed notation
/// for exponents from -4 to 15, `.0` on whole numbers, `e-05`-style exponents otherwise.
pub fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x < 0.0 { "-" } else { "" };
    let decpt = exp + 1;
    let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let body = if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
            format!("0.{}{digits}", "0".repeat(decpt.unsigned_abs() as usize))
        } else if decpt >= n {
            format!(
                "{digits}{}.0",
                "0".repeat((decpt - n).unsigned_abs() as usize)
            )
        } else {
            let (int, frac) = digits.split_at(decpt.unsigned_abs() as usize);
            format!("{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{first}{dot}{rest}e{esign}{:02}", exp.unsigned_abs())
    };
    format!("{sign}{body}")
}

/// Python's `round(x, ndigits)`: the float nearest to `x` correctly rounded to `ndigits`
/// decimal places (exact ties go to even).
pub fn python_round(x: f64, ndigits: u32) -> f64 {
    if !x.is_finite() || ndigits > 400 {
        return x;
    }
    // Rust formats the exact binary value and breaks exact ties to even, as Python's dtoa does.
    let text = format!("{x:.prec$}", prec = ndigits as usize);
    text.parse().unwrap_or(x)
}

/// The format DVC picks from the extension (case-insensitive): `.json`, `.toml`, `.py`, else
/// YAML (including `.yaml`, `.yml` and no extension).
fn format_of(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    // As Python's `PurePath.suffix`: a leading dot does not start a suffix.
    let suffix = name
        .char_indices()
        .skip(1)
        .filter(|(_, c)| *c == '.')
        .last()
        .map_or("", |(i, _)| &name[i..]);
    match suffix.to_ascii_lowercase().as_str() {
        ".json" => "JSON",
        ".toml" => "TOML",
        ".py" => "Python",
        _ => "YAML",
    }
}

/// Parses one metrics file's text; `path` picks the format and names the file in errors.
pub fn parse(path: &str, text: &str) -> Result<Metrics, MetricsError> {
    let format = format_of(path);
    let parse_error = |message: String| MetricsError::Parse {
        path: path.to_owned(),
        format,
        message,
    };
    let value: serde_json::Value = match format {
        "JSON" => serde_json::from_str(text).map_err(|e| parse_error(e.to_string()))?,
        "TOML" => {
            let table: toml::Table =
                toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
            toml_to_json(toml::Value::Table(table))
        }
        "Python" => {
            return Err(MetricsError::Python {
                path: path.to_owned(),
            });
        }
        _ => parse_yaml(text).map_err(parse_error)?,
    };
    let mut out = Metrics::new();
    match &value {
        serde_json::Value::Object(map) => flatten_into(&mut out, "", map),
        other => {
            if let Some(v) = scalar(other) {
                out.insert(String::new(), v);
            }
        }
    }
    Ok(out)
}

/// Reads and parses `path` (relative to `root`).
pub fn read(root: &Path, path: &str) -> Result<Metrics, MetricsError> {
    let text = match std::fs::read_to_string(root.join(path)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(MetricsError::Missing {
                path: path.to_owned(),
            });
        }
        Err(source) => {
            return Err(MetricsError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    parse(path, &text)
}

fn parse_yaml(text: &str) -> Result<serde_json::Value, String> {
    // An empty document (or only comments) is an empty mapping to DVC (`yaml.load(...) or {}`).
    let has_content = text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#') && l != "---" && l != "..."
    });
    if !has_content {
        return Ok(serde_json::Value::Object(serde_json::Map::new()));
    }
    // DVC's ruamel.yaml follows YAML 1.2: `yes`, `no`, `on` and `off` are strings.
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    serde_saphyr::from_str_with_options::<serde_json::Value>(text, options)
        .map_err(|e| e.to_string())
}

fn toml_to_json(value: toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(f).map_or_else(|| J::String(python_float(f)), J::Number)
        }
        toml::Value::Boolean(b) => J::Bool(b),
        // Dates are neither numbers nor strings to DVC: dropped, like lists.
        toml::Value::Datetime(_) | toml::Value::Array(_) => J::Null,
        toml::Value::Table(t) => {
            J::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

fn scalar(value: &serde_json::Value) -> Option<MetricValue> {
    use serde_json::Value as J;
    match value {
        J::Bool(b) => Some(MetricValue::Bool(*b)),
        J::String(s) => Some(MetricValue::Str(s.clone())),
        J::Number(n) => Some(n.as_i64().map_or_else(
            || MetricValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            MetricValue::Int,
        )),
        J::Null | J::Array(_) | J::Object(_) => None,
    }
}

/// DVC's `_extract_metrics` then `flatten_dict(reducer="dot")`: scalars kept, lists, nulls and
/// (after dropping those) empty mappings left out.
fn flatten_into(out: &mut Metrics, prefix: &str, map: &serde_json::Map<String, serde_json::Value>) {
    for (key, value) in map {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            serde_json::Value::Object(inner) => flatten_into(out, &full, inner),
            other => {
                if let Some(v) = scalar(other) {
                    out.insert(full, v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(m: &Metrics) -> Vec<&str> {
        m.keys().map(String::as_str).collect()
    }

    #[test]
    fn json_nested_keys_join_with_dots_in_file_order() {
        let m = parse(
            "m.json",
            r#"{"z": 1, "train": {"acc": 0.9, "loss": {"l1": 2}}, "a": "x"}"#,
        )
        .unwrap();
        assert_eq!(keys(&m), ["z", "train.acc", "train.loss.l1", "a"]);
        assert_eq!(m["train.acc"], MetricValue::Float(0.9));
        assert_eq!(m["z"], MetricValue::Int(1));
        assert_eq!(m["a"], MetricValue::Str("x".into()));
    }

    #[test]
    fn lists_nulls_and_empty_mappings_are_dropped() {
        let m = parse(
            "m.json",
            r#"{"l": [1, 2], "n": null, "e": {}, "d": {"only_list": [1], "only_null": null}, "k": true}"#,
        )
        .unwrap();
        assert_eq!(keys(&m), ["k"]);
        assert_eq!(m["k"], MetricValue::Bool(true));
    }

    #[test]
    fn yaml_is_the_default_for_any_other_extension() {
        for path in ["m.yaml", "m.yml", "metrics", "m.txt", "dir.json/m"] {
            let m = parse(path, "a:\n  b: 1.5\nc: 2\n").unwrap();
            assert_eq!(keys(&m), ["a.b", "c"], "{path}");
        }
    }

    #[test]
    fn extension_is_case_insensitive_and_a_leading_dot_is_not_one() {
        assert_eq!(
            parse("M.JSON", r#"{"a": 1}"#).unwrap()["a"],
            MetricValue::Int(1)
        );
        assert_eq!(parse("m.Toml", "a = 1").unwrap()["a"], MetricValue::Int(1));
        // `.json` alone has no suffix in Python's eyes: YAML (which reads this JSON too).
        assert_eq!(format_of("dir/.json"), "YAML");
        assert_eq!(format_of("dir/x.tar.json"), "JSON");
    }

    #[test]
    fn toml_tables_scalars_and_dropped_arrays_and_dates() {
        let m = parse(
            "m.toml",
            "acc = 0.5\nok = false\nname = \"x\"\nlist = [1]\nwhen = 1979-05-27\n[train]\nloss = 3\n",
        )
        .unwrap();
        assert_eq!(keys(&m), ["acc", "ok", "name", "train.loss"]);
        assert_eq!(m["ok"], MetricValue::Bool(false));
    }

    #[test]
    fn top_level_scalar_is_one_metric_with_an_empty_key() {
        assert_eq!(keys(&parse("m", "0.93\n").unwrap()), [""]);
        assert_eq!(parse("m", "0.93\n").unwrap()[""], MetricValue::Float(0.93));
        assert_eq!(parse("m.json", "7").unwrap()[""], MetricValue::Int(7));
        assert_eq!(
            parse("m.json", "\"hi\"").unwrap()[""],
            MetricValue::Str("hi".into())
        );
    }

    #[test]
    fn top_level_list_null_or_empty_file_has_no_metrics() {
        assert!(parse("m.yaml", "- 1\n- 2\n").unwrap().is_empty());
        assert!(parse("m.yaml", "").unwrap().is_empty());
        assert!(parse("m.yaml", "# nothing\n").unwrap().is_empty());
        assert!(parse("m.json", "null").unwrap().is_empty());
        assert!(parse("m.json", "{}").unwrap().is_empty());
    }

    #[test]
    fn ints_and_floats_stay_apart() {
        let m = parse(
            "m.yaml",
            "i: 1\nf: 1.0\ne: 1.0e-5\ns: '1'\ny: yes\nt: true\n",
        )
        .unwrap();
        assert_eq!(m["y"], MetricValue::Str("yes".into()));
        assert_eq!(m["t"], MetricValue::Bool(true));
        assert_eq!(m["i"], MetricValue::Int(1));
        assert_eq!(m["f"], MetricValue::Float(1.0));
        assert_eq!(m["e"], MetricValue::Float(1e-5));
        assert_eq!(m["s"], MetricValue::Str("1".into()));
    }

    #[test]
    fn unparsable_and_missing_files_are_errors_naming_the_file() {
        let e = parse("m.json", "{").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("metrics file `m.json` is not valid JSON"),
            "{e}"
        );
        let e = parse("m.toml", "a = ").unwrap_err();
        assert!(e.to_string().contains("`m.toml` is not valid TOML"), "{e}");
        let e = parse("m.yaml", "a: [1").unwrap_err();
        assert!(e.to_string().contains("`m.yaml` is not valid YAML"), "{e}");
        let e = parse("m.py", "A = 1").unwrap_err();
        assert!(e.to_string().contains("not supported yet"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = read(dir.path(), "gone.json").unwrap_err();
        assert_eq!(e.to_string(), "metrics file `gone.json` does not exist");
        std::fs::write(dir.path().join("ok.json"), r#"{"a": 1}"#).unwrap();
        assert_eq!(
            read(dir.path(), "ok.json").unwrap()["a"],
            MetricValue::Int(1)
        );
    }

    #[test]
    fn display_is_python_str() {
        let cases: [(f64, &str); 14] = [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123_456_789.123_46, "123456789.12346"),
            (-0.0, "-0.0"),
            (-2.5, "-2.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.234e300, "1.234e+300"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
        ];
        for (x, want) in cases {
            assert_eq!(MetricValue::Float(x).to_string(), want);
        }
        assert_eq!(MetricValue::Int(-3).to_string(), "-3");
        assert_eq!(MetricValue::Bool(true).to_string(), "True");
        assert_eq!(MetricValue::Bool(false).to_string(), "False");
    }

    #[test]
    fn round_is_pythons() {
        // Exact binary ties go to even; 2.675 is really 2.67499999…
        assert_eq!(python_round(0.125, 2), 0.12);
        assert_eq!(python_round(0.375, 2), 0.38);
        assert_eq!(python_round(2.675, 2), 2.67);
        assert_eq!(python_round(0.5, 0), 0.0);
        assert_eq!(python_round(1.5, 0), 2.0);
        assert_eq!(python_round(123_456_789.123_456_78, 5), 123_456_789.123_46);
        assert_eq!(python_float(python_round(-0.000_001, 5)), "-0.0");
        assert_eq!(python_round(1e20, 5), 1e20);
        assert_eq!(python_float(python_round(0.1 + 0.2, 5)), "0.3");
    }

    #[test]
    fn python_equality() {
        let (i, f, b) = (
            MetricValue::Int(1),
            MetricValue::Float(1.0),
            MetricValue::Bool(true),
        );
        assert!(i.py_eq(&f) && f.py_eq(&b) && b.py_eq(&i));
        assert!(!MetricValue::Str("1".into()).py_eq(&i));
        assert!(!MetricValue::Float(f64::NAN).py_eq(&MetricValue::Float(f64::NAN)));
        assert!(!MetricValue::Int(1 << 53 | 1).py_eq(&MetricValue::Float(9_007_199_254_740_992.0)));
    }

    #[test]
    fn serde_is_the_plain_scalar() {
        let m = parse("m.json", r#"{"a": 1, "b": 0.5, "c": "x", "d": false}"#).unwrap();
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(text, r#"{"a":1,"b":0.5,"c":"x","d":false}"#);
        let back: Metrics = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        assert!(serde_json::from_str::<MetricValue>("[1]").is_err());
    }
}
