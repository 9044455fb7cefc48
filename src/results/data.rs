//! What a data check found, as data: per file the checks with their first failing rows, the
//! profile (kept with the run record and in the baseline note) and the drift verdicts.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One data file's checks, profile and drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DataReport {
    /// The file, relative to the workspace.
    pub file: String,
    /// `csv`, `jsonl` or `parquet`.
    pub format: String,
    pub rows: u64,
    /// Bytes read (compressed size for `.gz`).
    pub bytes: u64,
    /// Every check held (drift included, where `drift:` asks for it).
    pub passed: bool,
    /// Why the file could not be checked at all (missing, unreadable, bad encoding); the stage
    /// fails and the run stops with exit code 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// Drift per column against the baseline's profile, most drifted first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<ColumnDrift>,
    /// Why drift was not computed (no baseline, or no profile of this file in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_note: Option<String>,
}

/// One check of a file: what was checked, how many rows broke it and the first of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// What was checked, such as ``column `age`: min 18``.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub passed: bool,
    /// Rows (or, for file-level checks, items) that broke it.
    pub violations: u64,
    /// What was found, in words, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The first rows that broke it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first: Vec<BadRow>,
}

/// A row that broke a check: its line in a CSV or JSON Lines file (the header is line 1), or
/// its 1-based row number in a Parquet file, and the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BadRow {
    pub row: u64,
    pub value: String,
}

/// A file's profile: what the data looks like, small enough to keep in a git note.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Profile {
    pub rows: u64,
    pub columns: IndexMap<String, ColumnProfile>,
}

/// One column's profile. Numbers (`int`, `float`, and `date`/`datetime` as days/seconds since
/// 1970) have moments, quantiles and a histogram; every column has a distinct-count estimate and,
/// unless it has too many distinct values, its most frequent values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ColumnProfile {
    /// `int`, `float`, `string`, `bool`, `date` or `datetime`: as declared, else inferred.
    pub kind: String,
    /// Non-null values.
    pub count: u64,
    pub nulls: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    /// 101 quantiles, q0 (min) to q100 (max), from a uniform sample of 8,192 values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quantiles: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
    /// Distinct values, estimated with a `HyperLogLog` sketch (about 1.6% error).
    pub distinct: u64,
    /// The most frequent values, most frequent first (at most 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top: Vec<TopValue>,
    /// `top` holds every distinct value, with exact counts.
    #[serde(default)]
    pub top_exact: bool,
    /// Shortest and longest value, in characters (text columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<(u64, u64)>,
}

/// Counts in equal-width bins between the column's min and max.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Histogram {
    /// Bin edges: one more than `counts`.
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TopValue {
    pub value: String,
    pub count: u64,
}

/// One column's drift against the baseline's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ColumnDrift {
    pub column: String,
    /// `psi`, `ks` or `js`: the method the verdict uses.
    pub method: String,
    pub score: f64,
    pub max: f64,
    /// `ok`, `warn` (over half of `max`), `drift` (over `max`) or `skipped`.
    pub verdict: String,
    /// The verdict fails the check (`drift:` is set for the file or the column).
    pub enforced: bool,
    /// PSI, KS D and JS distance, where they apply.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub scores: IndexMap<String, f64>,
    /// Why it was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
