//! One column's pass: its checks (type, nulls, bounds, allowed values, regex, length, unique),
//! each counting violations and keeping the first rows, and its profile's accumulators (left
//! alone when the file keeps no profile); a worker's copy of a column (`spawn`) merges back
//! into it (`merge`).

mod allowed;
mod batch;
mod dense;

use std::sync::Arc;

use self::allowed::Allowed;
use self::dense::Dense;
use super::DataError;
use super::pattern::Pattern;
use super::sketch::{Hll, Moments, Reservoir, TopValues, hash_bits, hash_text};
use super::unique::Unique;
use super::value::{Cell, parse_bool, parse_date, parse_datetime, parse_f64, parse_i64};
use crate::config::model::{Bound, ColumnRule, ColumnType, NullLimit};
use crate::results::data::{BadRow, CheckResult, ColumnProfile, Histogram, TopValue};

pub use self::batch::{Cells, Number};

/// Rows kept per failing check.
pub const SAMPLES: usize = 5;
/// Distinct values counted exactly for `top` before a column counts as high-cardinality.
const TOP_CAP: usize = 10_000;
/// Values kept in a profile's `top`.
const TOP_KEPT: usize = 100;
/// Bins of a profile's histogram.
const BINS: usize = 20;
/// Exact counting of values stops when the first `EARLY_ROWS` values of a worker hold more
/// than `EARLY_DISTINCT` distinct ones: the column is an id, not a category.
const EARLY_ROWS: u64 = 100_000;
const EARLY_DISTINCT: usize = 50_000;

/// Keeps `item`, at `row`, among the [`SAMPLES`] first of `kept` by row (`row_of`), whatever
/// order they come in (the typed loops meet a chunk's rows in more than one pass); `item` is
/// made only when kept.
pub(super) fn keep_first<T>(
    kept: &mut Vec<T>,
    row_of: impl Fn(&T) -> u64,
    row: u64,
    item: impl FnOnce() -> T,
) {
    if kept.len() < SAMPLES {
        kept.push(item());
    } else if let Some(last) = kept.iter_mut().max_by_key(|k| row_of(k)) {
        if row_of(last) > row {
            *last = item();
        }
    }
}

/// A check's violations and the first [`SAMPLES`] rows that broke it.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) violations: u64,
    first: Vec<BadRow>,
}

/// The tally of a check a column does not have.
static NONE: Tally = Tally {
    violations: 0,
    first: Vec::new(),
};

impl Tally {
    /// Takes in another worker's tally of other chunks (the first rows are kept by row).
    pub(super) fn merge(&mut self, other: Self) {
        self.violations += other.violations;
        self.first.extend(other.first);
        self.first.sort_by_key(|r| r.row);
        self.first.truncate(SAMPLES);
    }

    /// One more violation, at `row`, kept while among the first rows.
    #[inline]
    pub(super) fn hit(&mut self, row: u64, value: &str) {
        self.violations += 1;
        keep_first(
            &mut self.first,
            |r| r.row,
            row,
            || BadRow {
                row,
                value: value.chars().take(200).collect(),
            },
        );
    }

    /// The first rows kept, by row.
    pub(super) fn first_rows(&self) -> Vec<BadRow> {
        let mut first = self.first.clone();
        first.sort_by_key(|r| r.row);
        first
    }
}

/// A UTF-8 text's length in characters; `ascii`: it is known to be ASCII (then it is its bytes).
#[inline]
fn char_len(text: &[u8], ascii: bool) -> u64 {
    (if ascii || text.is_ascii() {
        text.len()
    } else {
        // UTF-8: every character has one byte that is not a continuation byte (`10xxxxxx`)
        #[allow(clippy::cast_possible_wrap)]
        text.iter().filter(|&&b| b as i8 >= -0x40).count()
    }) as u64
}

/// A column's rules, compiled.
#[derive(Debug, Default, Clone)]
struct Rules {
    kind: Option<ColumnType>,
    min: Option<f64>,
    max: Option<f64>,
    nulls: Option<NullLimit>,
    /// Shared, so that a chunk's loop can hold it while it tallies into the column.
    allowed: Option<Arc<Allowed>>,
    allowed_text: String,
    regex: Option<Pattern>,
    length: (Option<u64>, Option<u64>),
    /// The file keeps no profile (`profile: false`): the checks alone.
    checks_only: bool,
}

impl Rules {
    /// Whether the column has a `length` check.
    fn checks_length(&self) -> bool {
        self.length != (None, None)
    }
}

/// A column's state during the pass.
#[derive(Debug)]
pub struct Column {
    pub name: String,
    rules: Rules,
    kind_tally: Tally,
    min_tally: Tally,
    max_tally: Tally,
    in_tally: Tally,
    regex_tally: Tally,
    length_tally: Tally,
    unique: Option<Unique>,
    /// Null cells: their count and first rows (a check only with `nulls:`).
    nulls: Tally,
    count: u64,
    moments: Moments,
    sample: Reservoir,
    all_int: bool,
    non_numeric: u64,
    /// What the cells that came typed (Parquet, JSON) were: dates, timestamps or booleans
    /// alone name the kind of a column declared without a type.
    typed: Typed,
    hll: Hll,
    top: TopValues,
    /// The distinct values of an `int` or `string` column with `unique`, counted exactly by
    /// it (known after [`Self::results`]): the profile's distinct count once the top values
    /// give up, and the HLL is then not fed.
    distinct: Option<u64>,
    /// An `int` column's counts by value, before the top values take over ([`Dense`]).
    dense: Option<Dense>,
    /// The shortest and longest value in characters (`u64::MAX`, 0 before any).
    length: (u64, u64),
    buf: String,
    parsed: batch::Parsed,
}

fn bound(
    b: Option<&Bound>,
    kind: Option<ColumnType>,
    column: &str,
) -> Result<Option<f64>, DataError> {
    match b {
        None => Ok(None),
        Some(Bound::Number(n)) => Ok(Some(*n)),
        Some(Bound::Text(t)) => {
            #[allow(clippy::cast_precision_loss)]
            let parsed = match kind {
                Some(ColumnType::Date) => parse_date(t).map(|d| d as f64),
                Some(ColumnType::Datetime) => parse_datetime(t),
                _ => None,
            };
            parsed.map(Some).ok_or_else(|| DataError::Rule {
                column: column.to_owned(),
                message: format!(
                    "bound `{t}` is not a number, nor a date of a `date` or `datetime` column"
                ),
            })
        }
    }
}

/// A whole number (within `i64`), without the `trunc` call `fract` makes.
#[inline]
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn is_integral(x: f64) -> bool {
    (x as i64) as f64 == x
}

/// What a column's cells that came typed have been.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Typed {
    #[default]
    Nothing,
    Dates,
    Timestamps,
    Bools,
    /// Cells of more than one type, or of another type.
    Mixed,
}

impl Typed {
    fn of(cell: Cell<'_>) -> Self {
        match cell {
            Cell::Date(_) => Self::Dates,
            Cell::Timestamp(_) => Self::Timestamps,
            Cell::Bool(_) => Self::Bools,
            _ => Self::Mixed,
        }
    }

    /// The cells of both.
    fn and(self, other: Self) -> Self {
        match (self, other) {
            (Self::Nothing, x) | (x, Self::Nothing) => x,
            (a, b) if a == b => a,
            _ => Self::Mixed,
        }
    }

    /// The kind that cells of this type alone name.
    fn kind(self) -> Option<&'static str> {
        match self {
            Self::Dates => Some("date"),
            Self::Timestamps => Some("datetime"),
            Self::Bools => Some("bool"),
            Self::Nothing | Self::Mixed => None,
        }
    }
}

impl Column {
    /// A column with no rules: profiled only.
    pub fn plain(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            rules: Rules::default(),
            kind_tally: Tally::default(),
            min_tally: Tally::default(),
            max_tally: Tally::default(),
            in_tally: Tally::default(),
            regex_tally: Tally::default(),
            length_tally: Tally::default(),
            unique: None,
            nulls: Tally::default(),
            count: 0,
            moments: Moments::default(),
            sample: Reservoir::default(),
            all_int: true,
            non_numeric: 0,
            typed: Typed::Nothing,
            hll: Hll::default(),
            distinct: None,
            top: TopValues::new(TOP_CAP),
            dense: None,
            length: (u64::MAX, 0),
            buf: String::new(),
            parsed: batch::Parsed::default(),
        }
    }

    /// A column with the rules of `rule`.
    pub fn with_rule(name: &str, rule: &ColumnRule) -> Result<Self, DataError> {
        let mut c = Self::plain(name);
        let kind = rule.kind;
        c.rules = Rules {
            kind,
            min: bound(rule.min.as_ref(), kind, name)?,
            max: bound(rule.max.as_ref(), kind, name)?,
            nulls: rule.nulls,
            allowed: rule
                .allowed
                .as_ref()
                .map(|a| Arc::new(Allowed::new(a.iter().map(|v| v.0.clone())))),
            allowed_text: rule
                .allowed
                .as_ref()
                .map(|a| {
                    a.iter()
                        .map(|v| format!("`{}`", v.0))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            regex: match &rule.regex {
                Some(r) => Some(Pattern::new(r).map_err(|e| DataError::Rule {
                    column: name.to_owned(),
                    message: format!("`regex` does not compile: {e}"),
                })?),
                None => None,
            },
            length: rule.length.map_or((None, None), |l| (l.min, l.max)),
            checks_only: false,
        };
        if rule.unique == Some(true) {
            c.unique = Some(Unique::with_cap(super::unique::cap()));
        }
        if matches!(kind, Some(ColumnType::Float | ColumnType::Datetime)) {
            c.top.give_up();
        }
        if kind == Some(ColumnType::Int) {
            c.dense = Some(Dense::default());
        }
        Ok(c)
    }

    /// Runs the checks alone, with no profile (`profile: false`).
    pub fn checks_only(&mut self) {
        self.rules.checks_only = true;
    }

    /// An empty column with the same rules, for one of `workers` workers that each read a share
    /// of the file's chunks.
    pub fn spawn(&self, workers: usize) -> Self {
        let mut c = Self::plain(&self.name);
        c.rules = self.rules.clone();
        if self.unique.is_some() {
            c.unique = Some(Unique::with_cap(super::unique::cap() / workers.max(1)));
        }
        if self.top.given_up {
            c.top.give_up();
        }
        c.dense = self.dense.as_ref().map(|_| Dense::default());
        c
    }

    /// Takes in what a worker found in its chunks, which are all after the ones merged before
    /// or interleaved with them (the first rows are kept by row number).
    pub fn merge(&mut self, mut other: Self) {
        self.hand_over_dense();
        other.hand_over_dense();
        if self.top.given_up || other.top.given_up || self.top.overflows_with(&other.top) {
            self.stop_top();
            other.stop_top();
        } else {
            self.top
                .merge(std::mem::replace(&mut other.top, TopValues::new(0)));
        }
        self.hll.merge(&other.hll);
        self.kind_tally.merge(other.kind_tally);
        self.min_tally.merge(other.min_tally);
        self.max_tally.merge(other.max_tally);
        self.in_tally.merge(other.in_tally);
        self.regex_tally.merge(other.regex_tally);
        self.length_tally.merge(other.length_tally);
        self.nulls.merge(other.nulls);
        match (&mut self.unique, other.unique.take()) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        self.count += other.count;
        self.moments.merge(&other.moments);
        self.sample.merge(std::mem::take(&mut other.sample));
        self.all_int &= other.all_int;
        self.non_numeric += other.non_numeric;
        self.typed = self.typed.and(other.typed);
        self.length = (
            self.length.0.min(other.length.0),
            self.length.1.max(other.length.1),
        );
    }

    /// Whether the column's `unique` counts its distinct values as the profile means them: a
    /// `string` column's by text, an `int` column's by value (a `float` column's `unique`
    /// compares texts, where the profile compares values).
    fn unique_counts_distinct(&self) -> bool {
        matches!(self.rules.kind, Some(ColumnType::Int | ColumnType::String))
    }

    /// Whether the distinct count is left to `unique` now: the top values gave up, and the
    /// column's `unique` counts its distinct values (the HLL need not be fed).
    pub(super) fn distinct_left_to_unique(&self) -> bool {
        self.top.given_up && self.unique.is_some() && self.unique_counts_distinct()
    }

    /// Counts a value by its hash: exactly among the top values while they last (their hashes
    /// go to the HLL only on giving up), then in the HLL. `false` when the top values have not
    /// seen it yet: then [`Self::count_new`] it, with its text.
    #[inline]
    fn count_seen(&mut self, key: u64) -> bool {
        if self.top.given_up {
            self.hll.add_hash(key);
            true
        } else {
            self.top.bump(key)
        }
    }

    /// The counts by value go to the top values, which count every value from now on.
    fn hand_over_dense(&mut self) {
        if let Some(dense) = self.dense.take() {
            dense.hand_over(&mut self.top);
        }
    }

    /// The top values with the counts by value in them.
    fn counted(&self) -> std::borrow::Cow<'_, TopValues> {
        match &self.dense {
            Some(dense) => {
                let mut top = self.top.clone();
                dense.clone().hand_over(&mut top);
                std::borrow::Cow::Owned(top)
            }
            None => std::borrow::Cow::Borrowed(&self.top),
        }
    }

    /// Counts a value the top values have not seen yet; a full table gives up.
    fn count_new(&mut self, key: u64, text: &str) {
        if !self.top.add(key, text) {
            self.stop_top();
            self.hll.add_hash(key);
        }
    }

    /// Stops counting values exactly once the first [`EARLY_ROWS`] values, passed since
    /// `before` of them, held more than [`EARLY_DISTINCT`] distinct ones.
    fn stop_early_top(&mut self, before: u64) {
        if before < EARLY_ROWS
            && self.count >= EARLY_ROWS
            && !self.top.given_up
            && self.top.distinct() > EARLY_DISTINCT
        {
            self.stop_top();
        }
    }

    /// Stops counting values exactly: the distinct count goes on in the HLL.
    fn stop_top(&mut self) {
        self.hand_over_dense();
        if !self.top.given_up {
            for hash in self.top.hashes() {
                self.hll.add_hash(hash);
            }
            self.top.give_up();
        }
    }

    /// A null cell, or one missing from its row.
    #[inline]
    pub fn null(&mut self, row: u64) {
        self.nulls.hit(row, "");
    }

    /// Rows read before the column first appeared (JSON Lines), each a null.
    pub fn nulls_before(&mut self, rows: u64) {
        self.nulls.violations += rows;
    }

    /// One cell; `Err` only for I/O errors of the `unique` spill.
    pub fn cell(&mut self, row: u64, cell: Cell<'_>) -> Result<(), DataError> {
        if cell == Cell::Null {
            self.null(row);
            return Ok(());
        }
        if let Cell::Text("") = cell {
            self.null(row);
            return Ok(());
        }
        self.count += 1;
        self.typed = self.typed.and(Typed::of(cell));
        let mut buf = String::new();
        let text = match cell {
            Cell::Text(t) => t,
            other => {
                buf = std::mem::take(&mut self.buf);
                other.text(&mut buf)
            }
        };
        let number = self.number(row, cell, text);
        if let Some(x) = number {
            self.bounds(row, x, text);
        }
        let int = match (self.rules.kind, cell) {
            (Some(ColumnType::Int), Cell::Int(v)) => Some(v),
            (Some(ColumnType::Int), Cell::Text(t)) if number.is_some() => parse_i64(t.as_bytes()),
            #[allow(clippy::cast_possible_truncation)]
            (Some(ColumnType::Int), Cell::Float(v)) if number.is_some() => Some(v as i64),
            _ => None,
        };
        self.text_checks(row, text, int, None)?;
        if !self.rules.checks_only {
            // the counts by value go on by hash
            self.hand_over_dense();
            // numbers by value, so `1.0` in a CSV and `1` in JSON count as one
            let key = number.map_or_else(|| hash_text(text.as_bytes()), |x| hash_bits(x.to_bits()));
            if !self.count_seen(key) {
                self.count_new(key, text);
            }
            self.stop_early_top(self.count - 1);
        }
        // the profile keeps a text column's length range
        let profiled_text = !self.rules.checks_only && !self.numeric_kind();
        if self.rules.checks_length() || profiled_text {
            self.length(row, text, false);
        }
        if buf.capacity() > 0 {
            self.buf = buf;
        }
        Ok(())
    }

    /// A cell's length in characters: the profile's range and the `length` check; `ascii`:
    /// the cell is known to be ASCII.
    #[inline]
    fn length(&mut self, row: u64, text: &str, ascii: bool) {
        let n = char_len(text.as_bytes(), ascii);
        self.length = (self.length.0.min(n), self.length.1.max(n));
        let (lo, hi) = self.rules.length;
        if lo.is_some_and(|lo| n < lo) || hi.is_some_and(|hi| n > hi) {
            self.length_tally.hit(row, text);
        }
    }

    fn numeric_kind(&self) -> bool {
        matches!(
            self.rules.kind,
            Some(ColumnType::Int | ColumnType::Float | ColumnType::Date | ColumnType::Datetime)
        )
    }

    /// The cell as a number for the profile and the bounds, checking the declared type.
    #[allow(clippy::cast_precision_loss)]
    fn number(&mut self, row: u64, cell: Cell<'_>, text: &str) -> Option<f64> {
        let parsed = match (self.rules.kind, cell) {
            (Some(ColumnType::String), _) => return None,
            (Some(ColumnType::Bool), c) => {
                let ok = matches!(c, Cell::Bool(_)) || parse_bool(text).is_some();
                if !ok {
                    self.kind_tally.hit(row, text);
                }
                return None;
            }
            (Some(ColumnType::Float | ColumnType::Int) | None, Cell::Int(v)) => Some(v as f64),
            (Some(ColumnType::Int), Cell::Float(v)) => Some(v).filter(|v| is_integral(*v)),
            (Some(ColumnType::Float) | None, Cell::Float(v)) => Some(v),
            (Some(ColumnType::Date) | None, Cell::Date(d)) => Some(d as f64),
            (Some(ColumnType::Datetime) | None, Cell::Timestamp(t)) => Some(t),
            (Some(ColumnType::Datetime), Cell::Date(d)) => Some(d as f64 * 86_400.0),
            (Some(ColumnType::Int), _) => parse_i64(text.as_bytes()).map(|v| v as f64),
            (Some(ColumnType::Float), _) => parse_f64(text),
            (Some(ColumnType::Date), _) => parse_date(text).map(|d| d as f64),
            (Some(ColumnType::Datetime), _) => parse_datetime(text),
            (None, Cell::Text(_)) => {
                let first = text.as_bytes()[0];
                if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.') {
                    if let Ok(i) = text.parse::<i64>() {
                        Some(i as f64)
                    } else {
                        self.all_int = false;
                        parse_f64(text)
                    }
                } else {
                    None
                }
            }
            (None, Cell::Bool(_) | Cell::Null) => None,
        };
        match parsed {
            Some(x) if !self.rules.checks_only => {
                if self.all_int
                    && matches!(self.rules.kind, Some(ColumnType::Float) | None)
                    && !is_integral(x)
                {
                    self.all_int = false;
                }
                self.moments.add(x);
                self.sample.add(x);
            }
            Some(_) => {}
            None if self.rules.kind.is_some() => self.kind_tally.hit(row, text),
            None => {
                self.non_numeric += 1;
                if self.rules.min.is_some() || self.rules.max.is_some() {
                    self.kind_tally.hit(row, text);
                }
            }
        }
        parsed
    }

    #[inline]
    fn bounds(&mut self, row: u64, x: f64, text: &str) {
        if self.rules.min.is_some_and(|m| x < m) {
            self.min_tally.hit(row, text);
        }
        if self.rules.max.is_some_and(|m| x > m) {
            self.max_tally.hit(row, text);
        }
    }

    /// `allowed`, `regex` and `unique` of a cell; `int` is its value in an `int` column, which
    /// `unique` compares by value; `hash` its text's [`hash_text`] when at hand.
    #[inline]
    fn text_checks(
        &mut self,
        row: u64,
        text: &str,
        int: Option<i64>,
        hash: Option<u64>,
    ) -> Result<(), DataError> {
        if let Some(allowed) = &self.rules.allowed {
            if !allowed.allows(text.as_bytes(), int, hash) {
                self.in_tally.hit(row, text);
            }
        }
        if let Some(re) = &mut self.rules.regex {
            if !re.is_match(text) {
                self.regex_tally.hit(row, text);
            }
        }
        if let Some(set) = &mut self.unique {
            match int {
                Some(v) => set.insert_int(v, row),
                None => set.insert(text.as_bytes(), row),
            }
            .map_err(DataError::Spill)?;
        }
        Ok(())
    }

    /// The kind a profile shows: the declared one, else inferred from the values.
    fn kind(&self) -> &'static str {
        if let (None, Some(typed)) = (self.rules.kind, self.typed.kind()) {
            return typed;
        }
        match self.rules.kind {
            Some(ColumnType::Int) => "int",
            Some(ColumnType::Float) => "float",
            Some(ColumnType::Bool) => "bool",
            Some(ColumnType::Date) => "date",
            Some(ColumnType::Datetime) => "datetime",
            None if self.count > 0 && self.non_numeric == 0 && self.moments.n == self.count => {
                if self.all_int {
                    "int"
                } else {
                    "float"
                }
            }
            Some(ColumnType::String) | None => "string",
        }
    }

    /// The `unique` tally with the repeats found by merging spilled keys.
    fn finish_unique(&mut self) -> Result<Option<Tally>, DataError> {
        let Some(set) = self.unique.take() else {
            return Ok(None);
        };
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let (violations, repeats) = set.finish(threads).map_err(DataError::Spill)?;
        Ok(Some(Tally {
            violations,
            first: repeats
                .into_iter()
                .map(|r| BadRow {
                    row: r.row,
                    value: r
                        .value
                        .unwrap_or_else(|| format!("(the value of row {})", r.first)),
                })
                .collect(),
        }))
    }

    /// The `nulls` check: every null counts once the limit is passed.
    fn null_tally(&self, rows: u64) -> Option<(String, Tally, String)> {
        self.rules.nulls.map(|limit| {
            let allowed = limit.allowed(rows);
            let tally = if self.nulls.violations > allowed {
                Tally {
                    violations: self.nulls.violations,
                    first: self.nulls.first_rows(),
                }
            } else {
                Tally::default()
            };
            (
                format!("at most {limit} nulls"),
                tally,
                format!("are null, {allowed} allowed"),
            )
        })
    }

    /// The check results of this column's rules, after the pass over `rows` rows.
    pub fn results(&mut self, rows: u64) -> Result<Vec<CheckResult>, DataError> {
        let unique = self.finish_unique()?;
        if let Some(repeats) = unique.as_ref().filter(|_| self.unique_counts_distinct()) {
            // every value went to `unique`: those that repeat none are the distinct ones
            self.distinct = Some(self.count - repeats.violations);
        }
        let nulls = self.null_tally(rows);
        let r = &self.rules;
        let kind = r.kind.map(|k| {
            serde_json::to_value(k)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        });
        // a date or date-time bound as the contract writes it, not as days or seconds
        let bound = |m: f64| match kind.as_deref() {
            Some(k @ ("date" | "datetime")) => super::text::number(k, m),
            _ => m.to_string(),
        };
        let length = match r.length {
            (None, None) => None,
            (l, h) => Some(format!(
                "length {} to {}",
                l.unwrap_or(0),
                h.map_or_else(|| "any".to_owned(), |h| h.to_string())
            )),
        };
        let checks: Vec<(Option<String>, &Tally, String)> = vec![
            (
                kind.as_ref().map(|k| format!("type {k}")),
                &self.kind_tally,
                format!("are not of type `{}`", kind.clone().unwrap_or_default()),
            ),
            (
                (kind.is_none() && self.kind_tally.violations > 0).then(|| "a number".to_owned()),
                &self.kind_tally,
                "are not numbers".to_owned(),
            ),
            (
                nulls.as_ref().map(|n| n.0.clone()),
                nulls.as_ref().map_or(&NONE, |n| &n.1),
                nulls.as_ref().map(|n| n.2.clone()).unwrap_or_default(),
            ),
            (
                r.min.map(|m| format!("min {}", bound(m))),
                &self.min_tally,
                format!("are below {}", bound(r.min.unwrap_or_default())),
            ),
            (
                r.max.map(|m| format!("max {}", bound(m))),
                &self.max_tally,
                format!("are above {}", bound(r.max.unwrap_or_default())),
            ),
            (
                r.allowed
                    .as_ref()
                    .map(|_| format!("in [{}]", r.allowed_text)),
                &self.in_tally,
                "are not allowed".to_owned(),
            ),
            (
                r.regex
                    .as_ref()
                    .map(|re| format!("matches `{}`", re.as_str())),
                &self.regex_tally,
                "do not match".to_owned(),
            ),
            (
                length,
                &self.length_tally,
                "have the wrong length".to_owned(),
            ),
            (
                unique.as_ref().map(|_| "unique".to_owned()),
                unique.as_ref().unwrap_or(&NONE),
                "repeat an earlier value".to_owned(),
            ),
        ];
        Ok(checks
            .into_iter()
            .filter_map(|(what, tally, detail)| {
                let what = what?;
                Some(CheckResult {
                    name: format!("column `{}`: {what}", self.name),
                    column: Some(self.name.clone()),
                    passed: tally.violations == 0,
                    violations: tally.violations,
                    detail: (tally.violations > 0)
                        .then(|| format!("{} value(s) {detail}", tally.violations)),
                    first: tally.first_rows(),
                })
            })
            .collect())
    }

    /// The column's profile, after the pass.
    pub fn profile(&self) -> ColumnProfile {
        let kind = self.kind();
        let top = self.counted();
        let numeric = matches!(kind, "int" | "float" | "date" | "datetime") && self.moments.n > 0;
        let m = &self.moments;
        let (quantiles, histogram) = if numeric {
            let (edges, counts) = self.sample.histogram(BINS, m.min, m.max);
            (
                self.sample.quantiles(100, m.min, m.max),
                Some(Histogram { edges, counts }),
            )
        } else {
            (Vec::new(), None)
        };
        ColumnProfile {
            kind: kind.to_owned(),
            count: self.count,
            nulls: self.nulls.violations,
            min: numeric.then_some(m.min),
            max: numeric.then_some(m.max),
            mean: numeric.then(|| m.mean()),
            std: if numeric { m.std() } else { None },
            quantiles,
            histogram,
            distinct: if top.given_up {
                self.distinct.unwrap_or_else(|| self.hll.estimate())
            } else {
                top.distinct() as u64
            },
            top: top
                .top(TOP_KEPT)
                .into_iter()
                .map(|(value, count)| TopValue { value, count })
                .collect(),
            top_exact: !top.given_up && top.distinct() <= TOP_KEPT,
            length: (!numeric && self.length.0 <= self.length.1).then_some(self.length),
        }
    }
}
