//! Data contracts and profiles for CSV, JSON Lines and Parquet files, streamed in one pass with
//! bounded memory (exact `unique` keeps its keys in a temporary file past a cap; a CSV file is
//! shared by workers chunk by chunk): the checks of a `data:` entry, each file's profile
//! (unless the entry keeps none), and drift against the baseline's profile. Reads files; uses
//! `config` for the rules and `results` for the plain data it returns.

mod columns;
mod delimited;
mod dfa_table;
pub mod drift;
mod parquet;
mod pattern;
mod read;
mod records;
mod sketch;
mod split;
pub mod text;
mod unique;
pub(crate) mod value;
mod word;

use std::path::{Path, PathBuf};

use ahash::{HashMap, HashMapExt as _};
use indexmap::IndexMap;

use self::columns::{Column, SAMPLES, Tally};
use self::read::{Progress, Source};
use crate::config::model::{DataCheck, DataFormat, ExtraColumns};
use crate::results::data::{BadRow, CheckResult, DataReport, Profile};

pub use self::unique::CAP_ENV as UNIQUE_CAP_ENV;
pub use self::value::{parse_date, parse_datetime};

/// Why a file could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("`{0}` does not exist")]
    Missing(String),
    #[error("no file matches `{0}`")]
    NoMatch(String),
    #[error("cannot read `{path}`: {message}")]
    Read { path: String, message: String },
    #[error("`{path}` is not valid UTF-8 at line {line}{}", column.as_ref().map(|c| format!(", column `{c}`")).unwrap_or_default())]
    Encoding {
        path: String,
        line: u64,
        column: Option<String>,
    },
    #[error("`{path}` is not valid UTF-8 in row {row}, column `{column}`")]
    EncodingInRow {
        path: String,
        row: u64,
        column: String,
    },
    #[error(
        "cannot tell the format of `{0}` from its extension; set `format:` to `csv`, `jsonl` or `parquet`"
    )]
    Format(String),
    #[error(
        "`{path}`: column `{column}` has the Parquet type `{kind}`, which is not supported yet"
    )]
    Unsupported {
        path: String,
        column: String,
        kind: String,
    },
    #[error("column `{column}`: {message}")]
    Rule { column: String, message: String },
    #[error("while keeping the `unique` keys on disk: {0}")]
    Spill(std::io::Error),
}

/// How to run the checks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Show a progress line on stderr when it is a terminal.
    pub progress: bool,
    /// Workers that each read, check and profile a share of a CSV file's chunks or of a
    /// Parquet file's row groups; 0 or 1: all on this thread.
    pub threads: usize,
}

impl Options {
    /// No progress line; as many workers as the machine has cores.
    pub fn threaded() -> Self {
        Self {
            progress: false,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// The state of one pass over one file.
#[derive(Debug)]
pub struct Pass<'c> {
    check: &'c DataCheck,
    columns: Vec<Column>,
    index: HashMap<String, usize>,
    rows: u64,
    /// Rows with the wrong number of fields, or lines that are not objects.
    malformed: Tally,
}

impl<'c> Pass<'c> {
    fn new(check: &'c DataCheck) -> Self {
        Self {
            check,
            columns: Vec::new(),
            index: HashMap::new(),
            rows: 0,
            malformed: Tally::default(),
        }
    }

    /// The file's columns, in order.
    fn header(&mut self, names: Vec<String>) -> Result<(), DataError> {
        for name in names {
            self.column(&name)?;
        }
        Ok(())
    }

    /// The index of column `name`, added (with the rows so far as nulls) when new.
    fn column(&mut self, name: &str) -> Result<usize, DataError> {
        if let Some(i) = self.index.get(name) {
            return Ok(*i);
        }
        let mut column = match self.check.columns.get(name) {
            Some(rule) => Column::with_rule(name, rule)?,
            None => Column::plain(name),
        };
        if !self.check.keeps_profile() {
            column.checks_only();
        }
        column.nulls_before(self.rows.saturating_sub(self.malformed.violations + 1));
        self.columns.push(column);
        self.index.insert(name.to_owned(), self.columns.len() - 1);
        Ok(self.columns.len() - 1)
    }

    fn malformed(&mut self, line: u64, what: &str) {
        self.malformed.hit(line, what);
    }

    /// The file-level checks, then each column's.
    fn results(&mut self, format: DataFormat) -> Result<Vec<CheckResult>, DataError> {
        let mut out = Vec::new();
        let file_check =
            |name: String, violations: u64, detail: String, first: Vec<BadRow>| CheckResult {
                name,
                column: None,
                passed: violations == 0,
                violations,
                detail: (violations > 0).then_some(detail),
                first,
            };
        let well_formed = match format {
            DataFormat::Csv => "every row has the header's number of fields",
            DataFormat::Jsonl => "every line is a JSON object",
            DataFormat::Parquet => "every row is readable",
        };
        out.push(file_check(
            well_formed.to_owned(),
            self.malformed.violations,
            format!(
                "{} malformed row(s), left out of the column checks",
                self.malformed.violations
            ),
            self.malformed.first_rows(),
        ));
        if let Some(rows) = self.check.rows {
            let low = rows.min.is_some_and(|m| self.rows < m);
            let high = rows.max.is_some_and(|m| self.rows > m);
            let what = match (rows.min, rows.max) {
                (Some(a), Some(b)) => format!("rows between {a} and {b}"),
                (Some(a), None) => format!("at least {a} rows"),
                (None, Some(b)) => format!("at most {b} rows"),
                (None, None) => "rows".to_owned(),
            };
            out.push(file_check(
                what,
                u64::from(low || high),
                format!("{} rows", self.rows),
                Vec::new(),
            ));
        }
        for (name, rule) in &self.check.columns {
            if rule.required != Some(false) && !self.index.contains_key(name) {
                out.push(file_check(
                    format!("column `{name}` exists"),
                    1,
                    format!("the file has no column `{name}`"),
                    Vec::new(),
                ));
            }
        }
        if self.check.extra_columns == Some(ExtraColumns::Deny) {
            let extra: Vec<BadRow> = self
                .columns
                .iter()
                .filter(|c| !self.check.columns.contains_key(&c.name))
                .map(|c| BadRow {
                    row: 1,
                    value: c.name.clone(),
                })
                .collect();
            out.push(file_check(
                "no columns beyond `columns`".to_owned(),
                extra.len() as u64,
                format!("{} column(s) not listed in `columns`", extra.len()),
                extra.into_iter().take(SAMPLES).collect(),
            ));
        }
        let rows = self.rows - self.malformed.violations;
        for column in &mut self.columns {
            out.extend(column.results(rows)?);
        }
        Ok(out)
    }

    /// The file's profile; `None` when its entry keeps none (`profile: false`).
    fn profile(&self) -> Option<Profile> {
        if !self.check.keeps_profile() {
            return None;
        }
        Some(Profile {
            rows: self.rows,
            columns: self
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.profile()))
                .collect(),
        })
    }
}

/// The files `pattern` names under `root`: a file, a glob, or a folder's files (sorted).
pub fn expand(root: &Path, pattern: &str) -> Result<Vec<PathBuf>, DataError> {
    let full = root.join(pattern);
    if pattern.contains(['*', '?', '[']) {
        let text = full.to_string_lossy().into_owned();
        let mut files: Vec<PathBuf> = glob::glob(&text)
            .map_err(|e| DataError::Read {
                path: pattern.to_owned(),
                message: format!("not a valid glob: {e}"),
            })?
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(DataError::NoMatch(pattern.to_owned()));
        }
        return Ok(files);
    }
    if full.is_dir() {
        let entries = std::fs::read_dir(&full).map_err(|e| DataError::Read {
            path: pattern.to_owned(),
            message: e.to_string(),
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(DataError::NoMatch(format!("{pattern}/*")));
        }
        return Ok(files);
    }
    if !full.exists() {
        return Err(DataError::Missing(pattern.to_owned()));
    }
    Ok(vec![full])
}

/// What one pass over a file found.
struct Passed {
    format: DataFormat,
    checks: Vec<CheckResult>,
    rows: u64,
    /// `None` when the entry keeps no profile.
    profile: Option<Profile>,
    /// Bytes read.
    bytes: u64,
}

/// Reads one file through `check`'s rules: its checks, its rows, its profile (unless the entry
/// keeps none) and the bytes read.
fn pass_file(
    path: &Path,
    name: &str,
    check: &DataCheck,
    options: Options,
) -> Result<Passed, DataError> {
    let (format, gzip, tsv) = Source::detect(path, name, check.format)?;
    let ascii = |c: Option<char>, default: u8, what: &str| match c {
        None => Ok(default),
        Some(c) => u8::try_from(c)
            .ok()
            .filter(u8::is_ascii)
            .ok_or_else(|| DataError::Read {
                path: name.to_owned(),
                message: format!("the {what} `{c}` is not an ASCII character"),
            }),
    };
    let source = Source {
        name: name.to_owned(),
        gzip,
        delimiter: ascii(check.delimiter, if tsv { b'\t' } else { b',' }, "delimiter")?,
        quote: ascii(check.quote, b'"', "quote")?,
        header: check.header.unwrap_or(true),
    };
    let total = std::fs::metadata(path).map_or(0, |m| m.len());
    let mut progress = Progress::new(options.progress, name, total);
    let mut pass = Pass::new(check);
    let bytes = match format {
        DataFormat::Csv => delimited::csv(path, &source, &mut pass, &mut progress, options.threads),
        DataFormat::Jsonl => read::jsonl(path, &source, &mut pass, &mut progress),
        DataFormat::Parquet => {
            self::parquet::read(path, &source, &mut pass, &mut progress, options.threads)
        }
    };
    progress.done();
    let bytes = bytes?;
    let results = pass.results(format)?;
    Ok(Passed {
        format,
        checks: results,
        rows: pass.rows,
        profile: pass.profile(),
        bytes,
    })
}

fn format_name(format: DataFormat) -> &'static str {
    match format {
        DataFormat::Csv => "csv",
        DataFormat::Jsonl => "jsonl",
        DataFormat::Parquet => "parquet",
    }
}

/// A report for a file that could not be checked.
fn failed(file: &str, format: Option<DataFormat>, error: &DataError) -> DataReport {
    let message = match error {
        DataError::Rule { .. } | DataError::Spill(_) => format!("`{file}`: {error}"),
        _ => error.to_string(),
    };
    DataReport {
        file: file.to_owned(),
        format: format.map(format_name).unwrap_or_default().to_owned(),
        rows: 0,
        bytes: 0,
        passed: false,
        error: Some(message),
        checks: Vec::new(),
        profile: None,
        drift: Vec::new(),
        drift_note: None,
    }
}

/// Finds the baseline's profile of a file, by its path relative to the workspace.
pub type Baseline<'a> = dyn Fn(&str) -> Option<Profile> + 'a;

/// Runs one `data:` entry: a report per file it names. `baseline` finds the baseline's profile
/// of a file (by its path relative to `root`); `None` when there is no baseline at all.
pub fn check(
    check: &DataCheck,
    root: &Path,
    baseline: Option<&Baseline<'_>>,
    options: Options,
) -> Vec<DataReport> {
    let files = match expand(root, &check.path) {
        Ok(f) => f,
        Err(e) => return vec![failed(&check.path, check.format, &e)],
    };
    let mut out = Vec::new();
    for path in files {
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let Passed {
            format,
            checks,
            rows,
            profile,
            bytes,
        } = match pass_file(&path, &name, check, options) {
            Ok(done) => done,
            Err(e) => {
                out.push(failed(&name, check.format, &e));
                continue;
            }
        };
        let (drift, drift_note) = match (&profile, baseline.map(|find| find(&name))) {
            (None, _) => (
                Vec::new(),
                Some("`profile: false`: no profile to compare".to_owned()),
            ),
            (_, None) => (Vec::new(), Some("no baseline to compare with".to_owned())),
            (_, Some(None)) => (
                Vec::new(),
                Some("the baseline has no profile of this file".to_owned()),
            ),
            (Some(profile), Some(Some(base))) => (drift::file(check, &base, profile), None),
        };
        let passed = checks.iter().all(|c| c.passed)
            && drift.iter().all(|d| !(d.enforced && d.verdict == "drift"));
        out.push(DataReport {
            file: name,
            format: format_name(format).to_owned(),
            rows,
            bytes,
            passed,
            error: None,
            checks,
            profile,
            drift,
            drift_note,
        });
    }
    out
}

/// The profile of one file, with no rules (`mlops-ci data profile`).
pub fn profile(
    path: &Path,
    name: &str,
    format: Option<DataFormat>,
    options: Options,
) -> Result<(Profile, u64), DataError> {
    let check = DataCheck {
        path: name.to_owned(),
        format,
        delimiter: None,
        header: None,
        quote: None,
        rows: None,
        extra_columns: None,
        columns: IndexMap::new(),
        drift: None,
        profile: None,
    };
    if !path.is_file() {
        return Err(DataError::Missing(name.to_owned()));
    }
    let passed = pass_file(path, name, &check, options)?;
    let profile = passed
        .profile
        .expect("an entry with no `profile:` keeps a profile");
    Ok((profile, passed.bytes))
}
