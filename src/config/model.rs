//! The types of mlops.yaml, mirroring the file one to one. No logic beyond (de)serialising;
//! `deny_unknown_fields` everywhere, and the JSON Schema (`mlops-ci schema`) comes from here.
//! Values that take an expression keep their text for the expression engine.

use std::borrow::Cow;
use std::fmt;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An mlops.yaml file: the pipeline of one machine-learning repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(title = "mlops.yaml")]
pub struct Config {
    /// Format version; only `1` exists.
    pub version: u32,
    /// Shown in reports; defaults to the repository's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Environment variables every step sees (like a workflow's `env`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, Template>,
    /// Environment variables whose values are masked everywhere and exposed as `secrets.*`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Defaults for every `run` step.
    #[serde(default)]
    pub defaults: Defaults,
    /// Where the main branch's metrics come from.
    #[serde(default)]
    pub baseline: Baseline,
    /// The stages; key order is the display order, `needs` decides the run order.
    pub stages: IndexMap<String, Stage>,
    /// Releases on a tag push (`v1.2.0` or `model@v1.2.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<Release>,
    /// The PR comment and the terminal report.
    #[serde(default)]
    pub report: Report,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Defaults {
    /// Defaults for `run` steps.
    #[serde(default)]
    pub run: RunDefaults,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RunDefaults {
    /// Shell for `run` steps: `bash`, `sh`, `python`, `pwsh`, or a command with `{0}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// Directory `run` steps start in, relative to the repository root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Baseline {
    /// Branch to compare with; default: `GITHUB_BASE_REF` on a PR, else the remote's default
    /// branch, else `main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Which commit of the branch: the merge-base with HEAD, or the branch's tip.
    #[serde(default)]
    pub commit: BaselineCommit,
    /// Where baseline results are kept.
    #[serde(default)]
    pub store: BaselineStore,
    /// Fail the run when no baseline is found (default: report "no baseline" and pass
    /// regression gates).
    #[serde(default)]
    pub required: bool,
    /// How many first-parent commits to walk back from the merge-base to find one with a
    /// recorded baseline.
    #[serde(default = "default_walk")]
    pub walk: u32,
}

fn default_walk() -> u32 {
    50
}

impl Default for Baseline {
    fn default() -> Self {
        Self {
            branch: None,
            commit: BaselineCommit::default(),
            store: BaselineStore::default(),
            required: false,
            walk: default_walk(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineCommit {
    #[default]
    MergeBase,
    Tip,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineStore {
    /// `refs/notes/mlops-ci`, written by runs on the baseline branch.
    #[default]
    Notes,
    /// Metrics and profile files tracked in the branch's tree (DVC style).
    Tree,
}

/// One stage: cache restore → data checks → steps → metrics → gates → image build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Stage {
    /// Stages that must succeed before this one runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// Condition, Actions syntax; the stage is skipped when it does not hold.
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// Inputs: files and folders that make the stage's cache key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<String>,
    /// DVC-style params files, diffed in the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
    /// Files and folders the stage produces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outs: Vec<String>,
    /// Time limit for the whole stage, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_minutes: Option<f64>,
    /// Environment variables for every step of the stage (over the top-level `env`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, Template>,
    /// Built-in data checks, run before the steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<DataCheck>,
    /// Steps, run in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Values for later stages: `${{ needs.<stage>.outputs.<name> }}`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub outputs: IndexMap<String, Template>,
    /// Metrics files the stage writes (json, yaml, toml; nested keys joined with `.`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
    /// Checks on the metrics, each one line in the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<Gate>,
    /// A container image built after the steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
}

/// One step, as in GitHub Actions: `run` a script or `uses` an action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Step {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Template>,
    /// Identifier for `steps.<id>.outputs`; unique within the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Script to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Template>,
    /// Shell for `run`: `bash`, `sh`, `python`, `pwsh`, or a command with `{0}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<Template>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, Template>,
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// Let the stage go on when this step fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_on_error: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_minutes: Option<f64>,
    /// An action to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<String>,
    /// Inputs of the action.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub with: IndexMap<String, Template>,
}

/// A built-in check of one data file (or of every file a glob or a folder names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DataCheck {
    /// The file, relative to the repository root; a glob or a folder means each of its files.
    pub path: String,
    /// Format; default from the extension (`.csv`, `.tsv`, `.jsonl`, `.ndjson`, `.parquet`,
    /// each optionally `.gz` except Parquet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<DataFormat>,
    /// CSV: the field delimiter; default `,` (tab for `.tsv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// CSV: the first line names the columns; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// CSV: the quote character; default `"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<char>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowCount>,
    /// Columns that are not listed in `columns`: `allow` (default) or `deny`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_columns: Option<ExtraColumns>,
    /// Rules per column; a listed column must exist unless `required: false`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub columns: IndexMap<String, ColumnRule>,
    /// Drift against the baseline's recorded profile of this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    /// Keep a profile of each file (moments, quantiles, histogram, distinct count, top values)
    /// for the report and for drift; default true. `false` runs the checks alone, in less
    /// time, and leaves nothing for `drift` to compare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<bool>,
}

impl DataCheck {
    /// Whether the entry keeps a profile of each file (`profile:` is not `false`).
    pub fn keeps_profile(&self) -> bool {
        self.profile != Some(false)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DataFormat {
    Csv,
    Parquet,
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExtraColumns {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RowCount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ColumnRule {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ColumnType>,
    /// The column must exist; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Smallest value allowed: a number, or for `date`/`datetime` columns an ISO date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Bound>,
    /// Largest value allowed: a number, or for `date`/`datetime` columns an ISO date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Bound>,
    /// Most null (empty) values allowed: a count (`0`) or a fraction of the rows (`"1%"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nulls: Option<NullLimit>,
    /// No value appears twice (nulls aside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique: Option<bool>,
    /// Allowed values.
    #[serde(rename = "in", default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<DataValue>>,
    /// A regular expression every value must match (whole value: anchor it yourself, as in
    /// `^[a-z]+$`, to require a full match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Bounds on the length of the value's text, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<Length>,
    /// Drift of this column against the baseline's profile (over the file's `drift`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnType {
    Int,
    Float,
    String,
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 / ISO 8601: `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` (a space for `T` is allowed).
    Datetime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Length {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Drift {
    /// Default: `psi` for numbers, `js` for categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<DriftMethod>,
    /// Largest drift score allowed; default per method: `psi` 0.2, `ks` 0.2, `js` 0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DriftMethod {
    /// Population stability index over the baseline's decile bins (numbers) or its categories.
    Psi,
    /// Kolmogorov–Smirnov D statistic from the two quantile sketches (numbers only).
    Ks,
    /// Jensen–Shannon distance (base 2, 0 to 1) over the bins or categories.
    Js,
}

impl DriftMethod {
    /// The default `max` of each method: PSI 0.2 (the industry's "significant shift" band,
    /// 0.1 warns), KS D 0.2 (deepchecks), JS distance 0.1 (Evidently).
    pub fn default_max(self) -> f64 {
        match self {
            Self::Psi | Self::Ks => 0.2,
            Self::Js => 0.1,
        }
    }
}

/// Most nulls allowed: a count, or a fraction of the rows written as a percentage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NullLimit {
    Count(u64),
    Percent(f64),
}

impl NullLimit {
    /// Parses `0`, `12` or `1%` / `0.5 %`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        match text.strip_suffix('%') {
            Some(p) => p
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && (0.0..=100.0).contains(v))
                .map(Self::Percent),
            None => text.parse::<u64>().ok().map(Self::Count),
        }
    }

    /// The most nulls allowed among `rows` rows.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub fn allowed(self, rows: u64) -> u64 {
        match self {
            Self::Count(n) => n,
            Self::Percent(p) => (rows as f64 * p / 100.0).floor() as u64,
        }
    }
}

impl fmt::Display for NullLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            Self::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for NullLimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Count(n) => s.serialize_u64(*n),
            Self::Percent(_) => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for NullLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = NullLimit;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count such as 0 or a percentage of the rows such as \"1%\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NullLimit, E> {
                Ok(NullLimit::Count(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NullLimit, E> {
                u64::try_from(v)
                    .map(NullLimit::Count)
                    .map_err(|_| E::custom("nulls must be 0 or more"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NullLimit, E> {
                NullLimit::parse(v)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for NullLimit {
    fn schema_name() -> Cow<'static, str> {
        "NullLimit".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Most nulls allowed: a count (0) or a percentage of the rows (\"1%\").",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*%$" }
            ]
        })
    }
}

/// A bound on a column's values: a number, or an ISO date or date-time for date columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Number(f64),
    Text(String),
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

impl Serialize for Bound {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(n) => s.serialize_f64(*n),
            Self::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Bound {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Bound;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, or an ISO date such as \"2024-01-31\"")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Bound, E> {
                Ok(Bound::Number(v))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Bound, E> {
                Ok(Bound::Number(v as f64))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Bound, E> {
                Ok(Bound::Number(v as f64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Bound, E> {
                Ok(Bound::Text(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Bound {
    fn schema_name() -> Cow<'static, str> {
        "Bound".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A number, or an ISO date or date-time for `date` and `datetime` columns.",
            "anyOf": [ { "type": "number" }, { "type": "string" } ]
        })
    }
}

/// One allowed value of `in`, written as YAML scalar: a string, a number or a boolean. Compared
/// with the value's text as the file holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataValue(pub String);

impl Serialize for DataValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DataValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = DataValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or a boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DataValue, E> {
                Ok(DataValue(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DataValue, E> {
                Ok(DataValue(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DataValue, E> {
                Ok(DataValue(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<DataValue, E> {
                Ok(DataValue(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<DataValue, E> {
                Ok(DataValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for DataValue {
    fn schema_name() -> Cow<'static, str> {
        "DataValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A value as the file holds it: a string, a number or a boolean.",
            "type": ["string", "number", "boolean"]
        })
    }
}

/// A check on the metrics: bounds and allowed regression for one metric, or a condition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Gate {
    /// Shown in the report; default: made from the metric and bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The metric's flattened key, such as `accuracy` or `f1.virginica`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Absolute floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Absolute ceiling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Which direction is better; default `higher`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub better: Option<Better>,
    /// Allowed worsening against the baseline: absolute (`0.01`) or relative (`"2%"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<Regression>,
    /// A condition over `metrics` and `baseline` that must hold.
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Better {
    Higher,
    Lower,
}

/// Allowed worsening: an absolute amount, or a percentage of the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Regression {
    Absolute(f64),
    Percent(f64),
}

impl Regression {
    /// Parses `0.01`, `2%` or `2.5 %`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        match text.strip_suffix('%') {
            Some(p) => p
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(Self::Percent),
            None => text
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(Self::Absolute),
        }
    }
}

impl fmt::Display for Regression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absolute(v) => write!(f, "{v}"),
            Self::Percent(v) => write!(f, "{v}%"),
        }
    }
}

impl Serialize for Regression {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Absolute(v) => s.serialize_f64(*v),
            Self::Percent(_) => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Regression {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Regression;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number such as 0.01 or a percentage such as \"2%\"")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Regression, E> {
                Regression::parse(&v.to_string())
                    .ok_or_else(|| E::custom("regression must be 0 or more"))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Regression, E> {
                self.visit_f64(v as f64)
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Regression, E> {
                self.visit_f64(v as f64)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Regression, E> {
                Regression::parse(v)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Regression {
    fn schema_name() -> Cow<'static, str> {
        "Regression".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Allowed worsening: an absolute amount (0.01) or a percentage of the baseline (\"2%\").",
            "anyOf": [
                { "type": "number", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*%$" }
            ]
        })
    }
}

/// A container image built through the Docker Engine API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Image {
    /// Repository name, such as `ghcr.io/acme/iris`.
    pub name: Template,
    /// Build context, relative to the repository root; default `.`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Dockerfile, relative to the context; default `Dockerfile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub build_args: IndexMap<String, Template>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, Template>,
    /// Push the image: `true`, `false`, or an expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<Switch>,
    /// The Dockerfile stage to build (`--target`); default the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Network for `RUN` instructions: `none` (default), `host`, or an engine network's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

/// `true`, `false`, or an expression deciding at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Switch {
    Fixed(bool),
    Expression(Condition),
}

impl Serialize for Switch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Fixed(b) => s.serialize_bool(*b),
            Self::Expression(c) => c.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Switch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Switch;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or an expression")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Switch, E> {
                Ok(Switch::Fixed(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Switch, E> {
                Ok(Switch::Expression(Condition(v.to_owned())))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Switch {
    fn schema_name() -> Cow<'static, str> {
        "Switch".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "true, false, or an expression such as ${{ github.event_name != 'pull_request' }}.",
            "anyOf": [ { "type": "boolean" }, { "type": "string" } ]
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Release {
    /// Model name in `model@v1.2.0` tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Template for the release notes, overriding the built-in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Report {
    /// How the PR comment is posted.
    #[serde(default)]
    pub comment: CommentMode,
    /// Template for the PR comment, overriding the built-in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Which metrics the report lists.
    #[serde(default)]
    pub show: Show,
    /// Decimal places shown.
    #[serde(default = "default_precision")]
    pub precision: u8,
}

impl Default for Report {
    fn default() -> Self {
        Self {
            comment: CommentMode::default(),
            template: None,
            show: Show::default(),
            precision: default_precision(),
        }
    }
}

fn default_precision() -> u8 {
    4
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CommentMode {
    /// One comment, updated in place.
    #[default]
    Sticky,
    /// A new comment on every run.
    New,
    /// No comment.
    Off,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Show {
    #[default]
    Changed,
    All,
}

/// Text that may hold `${{ }}` expressions, interpolated when the run reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Template(pub String);

/// An `if:` condition: a bare expression or one in `${{ }}`, with Actions' rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Condition(pub String);

impl Template {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Condition {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
