//! A column down one chunk's rows at a time, by its declared type: `int`, `float` and `string`
//! columns take in every cell first, as bytes (a number parsed, eight bytes at a time where it
//! can be, or taken as the reader typed it; a text hashed when the profile's counts or `in`
//! need it, only its nullness taken when nothing does), into buffers reused from chunk
//! to chunk, in a loop made for the column's case that also asks `in` of each value; then they
//! run each other check and statistic over the values in its own loop. Cells that break the
//! type, and columns of other types, go through [`Column::cell`], so the results are the
//! same.

use super::allowed::Allowed;
use super::{Column, char_len, is_integral};
use crate::config::model::ColumnType;
use crate::validate::DataError;
use crate::validate::sketch::{hash_bits, hash_text};
use crate::validate::value::{Cell, parse_f64_bytes, parse_i64};
use crate::validate::word::{float_in_word, int_in_word};

/// A cell's value as a reader typed it (a Parquet number): nothing to parse.
#[derive(Debug, Clone, Copy)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// One column's cells of a chunk, row after row.
pub trait Cells {
    fn len(&self) -> usize;
    /// Row `row`'s bytes.
    fn bytes(&self, row: usize) -> &[u8];
    /// Row `row`'s first eight bytes as a little-endian word (with what follows the cell
    /// in the rest) and its length, when the cells lie in a buffer that has them.
    fn word(&self, _row: usize) -> Option<(u64, usize)> {
        None
    }
    /// Row `row`'s value when the reader typed it (then its text is only made when asked
    /// for); `None` for a null, and for cells that are text.
    fn number(&self, _row: usize) -> Option<Number> {
        None
    }
    /// Row `row`'s text, `None` when it is not UTF-8.
    fn text(&self, row: usize) -> Option<&str>;
    /// Whether every cell is ASCII (then a cell's length is its bytes).
    fn ascii(&self) -> bool;
    /// Whether every cell is known to be UTF-8 (then [`Self::text`] is never `None`).
    fn utf8(&self) -> bool;
    /// The line row `row` is on.
    fn line(&self, row: usize) -> u64;
    /// The error for row `row` of column `column` not being UTF-8.
    fn encoding(&self, row: usize, column: &str) -> DataError;
}

/// The parsed values of a chunk's cells, reused from chunk to chunk: buffers that only grow
/// and are written by index (a push reloads the length after every call the loop makes), of
/// which the first `len` hold this chunk's values.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    values: Vec<f64>,
    ints: Vec<i64>,
    /// A text column's hashes ([`hash_text`]).
    keys: Vec<u64>,
    /// The rows of the values (not null, of the type).
    rows: Vec<u32>,
    /// The rows of the values that `in` does not allow, found as the values were taken in
    /// (their bytes at hand).
    misses: Vec<u32>,
    len: usize,
    /// Whether this chunk's texts were hashed into `keys`.
    hashed: bool,
}

/// `buffer` with room for at least `len` values; none when it is not `used`.
fn room<T: Copy + Default>(buffer: &mut Vec<T>, len: usize, used: bool) -> &mut [T] {
    if !used {
        return &mut [];
    }
    if buffer.len() < len {
        buffer.resize(len, T::default());
    }
    buffer
}

impl Parsed {
    fn rows(&self) -> &[u32] {
        &self.rows[..self.len]
    }

    /// A number column's values.
    fn values(&self) -> &[f64] {
        &self.values[..self.len]
    }

    /// An `int` column's values.
    fn ints(&self) -> &[i64] {
        &self.ints[..self.len]
    }

    /// A text column's hashes, empty when this chunk's texts were not hashed.
    fn keys(&self) -> &[u64] {
        if self.hashed {
            &self.keys[..self.len]
        } else {
            &[]
        }
    }
}

/// Whether `in` allows row `row`'s number (`int`: its value, in an `int` column): a whole
/// number the reader `typed` by its value (its text, which would have to be made, is the one
/// `i64` writes), else by its text.
#[inline]
fn allows_number<C: Cells>(
    allowed: &Allowed,
    cells: &C,
    row: usize,
    int: Option<i64>,
    typed: bool,
) -> bool {
    let by_value = match int {
        Some(v) if typed => allowed.contains_typed_int(v),
        _ => None,
    };
    by_value.unwrap_or_else(|| allowed.allows(cells.bytes(row), int, None))
}

#[inline]
fn text<'c, C: Cells>(cells: &'c C, row: usize, column: &str) -> Result<&'c str, DataError> {
    cells.text(row).ok_or_else(|| cells.encoding(row, column))
}

/// Row `row`'s bytes, known to be UTF-8: a chunk found to be UTF-8 as a whole gives them with
/// no check of its own (and no `str` to slice, whose ends would each be checked).
// measured: left to itself the compiler calls it out of line, once a cell
#[allow(clippy::inline_always)]
#[inline(always)]
fn utf8<'c, C: Cells>(cells: &'c C, row: usize, column: &str) -> Result<&'c [u8], DataError> {
    if cells.utf8() {
        Ok(cells.bytes(row))
    } else {
        text(cells, row, column).map(str::as_bytes)
    }
}

impl Column {
    /// The type the contract declares.
    pub fn declared(&self) -> Option<ColumnType> {
        self.rules.kind
    }

    /// Whether [`Self::feed`] reads the cells as bytes (`int`, `float` and `string`), asking
    /// for the text of a few only; the other types read each cell's text.
    pub fn reads_bytes(&self) -> bool {
        matches!(
            self.rules.kind,
            Some(ColumnType::Int | ColumnType::Float | ColumnType::String)
        )
    }

    /// Checks and profiles a chunk's cells of this column.
    pub fn feed<C: Cells>(&mut self, cells: &C) -> Result<(), DataError> {
        match self.rules.kind {
            Some(ColumnType::Int) => self.feed_numbers(cells, true),
            Some(ColumnType::Float) => self.feed_numbers(cells, false),
            Some(ColumnType::String) => self.feed_text(cells),
            _ => {
                for row in 0..cells.len() {
                    self.cell(cells.line(row), Cell::Text(text(cells, row, &self.name)?))?;
                }
                Ok(())
            }
        }
    }

    fn feed_numbers<C: Cells>(&mut self, cells: &C, int: bool) -> Result<(), DataError> {
        let mut p = std::mem::take(&mut self.parsed);
        p.misses.clear();
        // one loop for each case, so that none asks on every cell what it is
        let allowed = self.rules.allowed.clone();
        let taken = match (int, allowed.as_deref()) {
            (true, None) => self.take_numbers::<C, true, false>(cells, &mut p, None),
            (true, allowed) => self.take_numbers::<C, true, true>(cells, &mut p, allowed),
            (false, None) => self.take_numbers::<C, false, false>(cells, &mut p, None),
            (false, allowed) => self.take_numbers::<C, false, true>(cells, &mut p, allowed),
        };
        let result = taken.and_then(|len| {
            (p.len, p.hashed) = (len, false);
            self.numbers(cells, &p, int)
        });
        self.parsed = p;
        result
    }

    /// Parses a chunk's cells into `p` (`INT`: as whole numbers), asking `allowed` of each
    /// when `IN`; how many values it took.
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    fn take_numbers<C: Cells, const INT: bool, const IN: bool>(
        &mut self,
        cells: &C,
        p: &mut Parsed,
        allowed: Option<&Allowed>,
    ) -> Result<usize, DataError> {
        let cells_len = cells.len();
        let values = room(&mut p.values, cells_len, true);
        let ints = room(&mut p.ints, cells_len, INT);
        let rows = room(&mut p.rows, cells_len, true);
        let mut len = 0;
        for row in 0..cells_len {
            // a value the reader typed as it is; a cell of up to eight bytes read from one
            // word; longer ones, and what that way does not read, byte by byte
            let number = cells.number(row);
            let quick = match (number, cells.word(row)) {
                (Some(Number::Int(v)), _) => Some((v as f64, INT.then_some(v))),
                (Some(Number::Float(x)), _) if !INT => Some((x, None)),
                (_, None) => None,
                (_, Some((w, n))) if INT => int_in_word(w, n).map(|v| (v as f64, Some(v))),
                (_, Some((w, n))) => float_in_word(w, n).map(|x| (x, None)),
            };
            let parsed = if quick.is_some() {
                quick
            } else {
                let bytes = cells.bytes(row);
                if bytes.is_empty() {
                    self.null(cells.line(row));
                    continue;
                }
                if INT {
                    parse_i64(bytes).map(|v| (v as f64, Some(v)))
                } else {
                    parse_f64_bytes(bytes).map(|x| (x, None))
                }
            };
            match parsed {
                Some((x, int_value)) => {
                    if let Some(v) = int_value {
                        ints[len] = v;
                    }
                    values[len] = x;
                    rows[len] = row as u32;
                    if IN
                        && allowed.is_some_and(|a| {
                            !allows_number(a, cells, row, int_value, number.is_some())
                        })
                    {
                        p.misses.push(row as u32);
                    }
                    len += 1;
                }
                // not of the type: the whole per-cell path, which counts it
                None => self.cell(cells.line(row), Cell::Text(text(cells, row, &self.name)?))?,
            }
        }
        Ok(len)
    }

    /// The checks and statistics of a chunk's parsed numbers.
    fn numbers<C: Cells>(&mut self, cells: &C, p: &Parsed, int: bool) -> Result<(), DataError> {
        let before = self.count;
        let (values, rows) = (p.values(), p.rows());
        self.count += values.len() as u64;
        let profiled = !self.rules.checks_only;
        if profiled {
            if int {
                self.moments.add_all_numbers(values);
                self.sample.add_all_numbers(values);
            } else {
                self.moments.add_all(values);
                self.sample.add_all(values);
            }
            if !int && self.all_int && values.iter().any(|x| !is_integral(*x)) {
                self.all_int = false;
            }
        }
        let (min, max) = (self.rules.min, self.rules.max);
        if min.is_some() || max.is_some() {
            for (&x, &row) in values.iter().zip(rows) {
                let row = row as usize;
                if min.is_some_and(|m| x < m) {
                    self.min_tally
                        .hit(cells.line(row), text(cells, row, &self.name)?);
                }
                if max.is_some_and(|m| x > m) {
                    self.max_tally
                        .hit(cells.line(row), text(cells, row, &self.name)?);
                }
            }
        }
        self.value_checks(cells, p, int)?;
        if profiled {
            // an `int` column's values counted by value while they stay near the first
            let mut by_value = 0;
            if let Some(dense) = &mut self.dense {
                let name = &self.name;
                by_value = dense.add_all(p.ints(), |k| {
                    text(cells, rows[k] as usize, name).map(Box::from)
                })?;
            }
            if by_value < rows.len() {
                self.hand_over_dense();
            }
            // the rest by hash (none when `unique` counts the distinct values)
            let by_hash = if self.distinct_left_to_unique() {
                values.len()
            } else {
                by_value
            };
            if self.top.given_up {
                // past the top values, each value only goes to the HLL
                for &x in &values[by_hash..] {
                    self.hll.add_hash(hash_bits(x.to_bits()));
                }
            } else {
                for (&x, &row) in values[by_hash..].iter().zip(&rows[by_hash..]) {
                    let key = hash_bits(x.to_bits());
                    if !self.count_seen(key) {
                        self.count_new(key, text(cells, row as usize, &self.name)?);
                    }
                }
            }
            self.stop_early_top(before);
        }
        Ok(())
    }

    fn feed_text<C: Cells>(&mut self, cells: &C) -> Result<(), DataError> {
        let profiled = !self.rules.checks_only;
        // the profile counts the values by hash, unless `unique` counts the distinct ones;
        // `in` looks them up by hash
        let counted = profiled && !self.distinct_left_to_unique();
        let hashed = counted || self.rules.allowed.is_some();
        let looked_at = profiled
            || hashed
            || self.rules.regex.is_some()
            || self.unique.is_some()
            || self.rules.checks_length();
        if !looked_at && cells.utf8() {
            // no check and no profile takes the values: only whether each is null
            let mut filled = 0;
            for row in 0..cells.len() {
                if cells.bytes(row).is_empty() {
                    self.null(cells.line(row));
                } else {
                    filled += 1;
                }
            }
            self.count += filled;
            return Ok(());
        }
        let before = self.count;
        let mut p = std::mem::take(&mut self.parsed);
        p.misses.clear();
        // one loop for each case, so that none asks on every cell what it is
        let allowed = self.rules.allowed.clone();
        let taken = match (hashed, allowed.as_deref(), profiled) {
            (false, _, false) => self.take_texts::<C, false, false, false>(cells, &mut p, None),
            (false, _, true) => self.take_texts::<C, false, false, true>(cells, &mut p, None),
            (true, None, false) => self.take_texts::<C, true, false, false>(cells, &mut p, None),
            (true, None, true) => self.take_texts::<C, true, false, true>(cells, &mut p, None),
            (true, a, false) => self.take_texts::<C, true, true, false>(cells, &mut p, a),
            (true, a, true) => self.take_texts::<C, true, true, true>(cells, &mut p, a),
        };
        let len = match taken {
            Ok(len) => len,
            Err(e) => {
                self.parsed = p;
                return Err(e);
            }
        };
        (p.len, p.hashed) = (len, hashed);
        if counted {
            // in a loop of its own: a look-up that mispredicts holds up no hashing
            if self.top.given_up {
                for &key in p.keys() {
                    self.hll.add_hash(key);
                }
            } else {
                for (&key, &row) in p.keys().iter().zip(p.rows()) {
                    if !self.count_seen(key) {
                        self.count_new(key, text(cells, row as usize, &self.name)?);
                    }
                }
            }
        }
        self.count += len as u64;
        let result = self.value_checks(cells, &p, false);
        self.parsed = p;
        self.stop_early_top(before);
        result
    }

    /// Takes a chunk's texts into `p`: each one's hash when `HASH`, asking `allowed` of it
    /// when `IN`, and their length range when `PROFILED`; how many it took (not null).
    #[allow(clippy::cast_possible_truncation)]
    fn take_texts<C: Cells, const HASH: bool, const IN: bool, const PROFILED: bool>(
        &mut self,
        cells: &C,
        p: &mut Parsed,
        allowed: Option<&Allowed>,
    ) -> Result<usize, DataError> {
        let ascii = cells.ascii();
        let cells_len = cells.len();
        let rows = room(&mut p.rows, cells_len, true);
        let keys = room(&mut p.keys, cells_len, HASH);
        let mut len = 0;
        let (mut shortest, mut longest) = self.length;
        for row in 0..cells_len {
            let text = utf8(cells, row, &self.name)?;
            if text.is_empty() {
                self.null(cells.line(row));
                continue;
            }
            rows[len] = row as u32;
            if HASH {
                let key = hash_text(text);
                keys[len] = key;
                if IN && allowed.is_some_and(|a| !a.contains_hashed(text, key)) {
                    p.misses.push(row as u32);
                }
            }
            if PROFILED {
                let n = char_len(text, ascii);
                shortest = shortest.min(n);
                longest = longest.max(n);
            }
            len += 1;
        }
        self.length = (shortest, longest);
        Ok(len)
    }

    /// `in` (its misses, found as the values were taken in), `regex`, `unique` and `length`
    /// of a chunk's values (of `p`), each check in a loop of its own. `int`: the column is
    /// of whole numbers (`p.ints`), which `unique` compares by value.
    fn value_checks<C: Cells>(
        &mut self,
        cells: &C,
        p: &Parsed,
        int: bool,
    ) -> Result<(), DataError> {
        let ints = if int { p.ints() } else { &[] };
        // `in` was asked as the values were taken in: its misses' texts (UTF-8, checked then)
        for &row in &p.misses {
            let row = row as usize;
            self.in_tally
                .hit(cells.line(row), text(cells, row, &self.name)?);
        }
        if let Some(re) = &mut self.rules.regex {
            // four at a time: the pattern walks them in step
            let mut rows = p.rows().chunks_exact(4);
            for group in rows.by_ref() {
                let mut texts: [&[u8]; 4] = [&[]; 4];
                for (t, &row) in texts.iter_mut().zip(group) {
                    *t = utf8(cells, row as usize, &self.name)?;
                }
                for (matched, &row) in re.are_matches(texts).into_iter().zip(group) {
                    if !matched {
                        let row = row as usize;
                        self.regex_tally
                            .hit(cells.line(row), text(cells, row, &self.name)?);
                    }
                }
            }
            for &row in rows.remainder() {
                let row = row as usize;
                let text = text(cells, row, &self.name)?;
                if !re.is_match(text) {
                    self.regex_tally.hit(cells.line(row), text);
                }
            }
        }
        if let Some(set) = &mut self.unique {
            let rows = p.rows();
            if int {
                set.insert_ints(ints, |k| cells.line(rows[k] as usize))
                    .map_err(DataError::Spill)?;
            } else {
                for &row in rows {
                    let row = row as usize;
                    set.insert(utf8(cells, row, &self.name)?, cells.line(row))
                        .map_err(DataError::Spill)?;
                }
            }
        }
        if self.rules.checks_length() {
            for &row in p.rows() {
                let row = row as usize;
                self.length(
                    cells.line(row),
                    text(cells, row, &self.name)?,
                    cells.ascii(),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::ColumnRule;

    /// A chunk's cells as texts, row `r` on line `first + r`.
    struct Texts {
        texts: Vec<String>,
        first: u64,
    }

    impl Cells for Texts {
        fn len(&self) -> usize {
            self.texts.len()
        }
        fn bytes(&self, row: usize) -> &[u8] {
            self.texts[row].as_bytes()
        }
        fn text(&self, row: usize) -> Option<&str> {
            Some(&self.texts[row])
        }
        fn ascii(&self) -> bool {
            self.texts.iter().all(|t| t.is_ascii())
        }
        fn utf8(&self) -> bool {
            true
        }
        fn line(&self, row: usize) -> u64 {
            self.first + row as u64
        }
        fn encoding(&self, row: usize, column: &str) -> DataError {
            DataError::Rule {
                column: column.to_owned(),
                message: format!("row {row} is not UTF-8"),
            }
        }
    }

    /// Numbers in and out of bounds and written in other ways, wrong types, nulls, text.
    fn value(rng: &mut fastrand::Rng) -> String {
        match rng.usize(0..20) {
            0 => String::new(),
            1 => [
                "x",
                "1.5",
                "NaN",
                "1e3",
                "+7",
                "07",
                "-0",
                "é",
                "ab",
                "99999999999999999999",
            ][rng.usize(0..10)]
            .to_owned(),
            2 => ["a", "b", "c", "é", "zz"][rng.usize(0..5)].to_owned(),
            3..=6 => format!("{:.2}", rng.f64() * 30.0 - 5.0),
            7 => rng.u64(0..1_000_000).to_string(),
            _ => rng.i64(-3..60).to_string(),
        }
    }

    /// Past its top values, a `string` column with `unique` takes its distinct count from it,
    /// and its texts are hashed no more (no `in` reads them): the count is exact, and the
    /// length range goes on.
    #[test]
    fn a_unique_text_column_past_its_top_values_counts_exactly() {
        let parsed: ColumnRule =
            serde_json::from_str(r#"{"type": "string", "unique": true}"#).unwrap();
        let mut typed = Column::with_rule("c", &parsed).unwrap();
        let mut per_cell = Column::with_rule("c", &parsed).unwrap();
        let mut rows = 0;
        // 150,000 cells: every 15th `again`, the others distinct (`v1` the shortest, the last the longest)
        for chunk in 0..50u64 {
            let texts: Vec<String> = (0..3_000)
                .map(|i| match i % 15 {
                    0 => "again".to_owned(),
                    _ if chunk == 49 && i == 2_999 => "the last and longest".to_owned(),
                    _ => format!("v{}", chunk * 3_000 + i),
                })
                .collect();
            let cells = Texts {
                texts,
                first: rows + 2,
            };
            typed.feed(&cells).unwrap();
            for (r, t) in cells.texts.iter().enumerate() {
                per_cell.cell(cells.line(r), Cell::Text(t)).unwrap();
            }
            rows += cells.len() as u64;
        }
        assert!(typed.top.given_up);
        let results = typed.results(rows).unwrap();
        assert_eq!(results, per_cell.results(rows).unwrap());
        let profile = typed.profile();
        assert_eq!(profile.distinct, 140_001);
        assert_eq!(profile.length, Some((2, 20)));
        assert_eq!(
            serde_json::to_value(&profile).unwrap(),
            serde_json::to_value(per_cell.profile()).unwrap()
        );
    }

    #[test]
    fn the_typed_loops_find_what_the_per_cell_path_finds() {
        let rules = [
            r#"{"type": "int", "min": 0, "max": 50, "nulls": 0, "unique": true, "in": [1, 2, "+7", "07"]}"#,
            r#"{"type": "int", "length": {"min": 1, "max": 2}}"#,
            // `in` of whole numbers near one another (a table), of numbers as texts
            r#"{"type": "int", "in": [0, 1, 5, 7, -3], "nulls": 0}"#,
            r#"{"type": "float", "in": ["1.5", "-0", 7]}"#,
            r#"{"type": "float", "min": -1.5, "max": 20, "regex": "^[0-9]", "unique": true}"#,
            r#"{"type": "string", "in": ["a", "b", "é"], "regex": "^[a-z]", "length": {"max": 1}}"#,
            r#"{"type": "string", "unique": true}"#,
            // checks alone, nothing but nulls looked at: the values are not taken
            r#"{"type": "string", "nulls": "1%"}"#,
            r#"{"type": "date"}"#,
        ];
        for rule in rules {
            let parsed: ColumnRule = serde_json::from_str(rule).unwrap();
            let mut typed = Column::with_rule("c", &parsed).unwrap();
            let mut per_cell = Column::with_rule("c", &parsed).unwrap();
            // the checks alone (`profile: false`), by both paths
            let mut alone = Column::with_rule("c", &parsed).unwrap();
            alone.checks_only();
            let mut alone_per_cell = alone.spawn(1);
            let mut rng = fastrand::Rng::with_seed(8);
            let mut rows = 0;
            for _ in 0..60 {
                let texts: Vec<String> =
                    (0..rng.usize(0..4_000)).map(|_| value(&mut rng)).collect();
                let cells = Texts {
                    texts,
                    first: rows + 2,
                };
                typed.feed(&cells).unwrap();
                alone.feed(&cells).unwrap();
                for (r, t) in cells.texts.iter().enumerate() {
                    per_cell.cell(cells.line(r), Cell::Text(t)).unwrap();
                    alone_per_cell.cell(cells.line(r), Cell::Text(t)).unwrap();
                }
                rows += cells.len() as u64;
            }
            let typed_results = typed.results(rows).unwrap();
            assert!(typed_results.iter().any(|r| r.violations > 0), "{rule}");
            assert_eq!(typed_results, per_cell.results(rows).unwrap(), "{rule}");
            assert_eq!(typed_results, alone.results(rows).unwrap(), "{rule}");
            assert_eq!(
                typed_results,
                alone_per_cell.results(rows).unwrap(),
                "{rule}"
            );
            assert_eq!(
                serde_json::to_value(typed.profile()).unwrap(),
                serde_json::to_value(per_cell.profile()).unwrap(),
                "{rule}"
            );
        }
    }
}
