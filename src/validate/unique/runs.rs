//! Runs of consecutive whole numbers at consecutive rows (ids, counters), which `unique` keeps
//! as a first value, a first row and a length instead of a key per row; at the end, the
//! repeats among the runs and the row where each of their values was first seen.

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Included};

use super::super::columns::SAMPLES;

/// Shorter runs are spelled out, a hashed key per value.
const MIN_RUN: u64 = 16;
/// Runs kept by one set (24 bytes each, 1.5 MB); past them every value is spelled out.
const MAX_RUNS: usize = 1 << 16;

/// The values `start`, `start + 1`, … at rows `row`, `row + 1`, …: `len` of them (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub start: i64,
    pub row: u64,
    pub len: u64,
}

impl Run {
    fn one(value: i64, row: u64) -> Self {
        Self {
            start: value,
            row,
            len: 1,
        }
    }

    #[allow(clippy::cast_possible_wrap)]
    fn last(&self) -> i64 {
        // a run only grows while its next value fits
        self.start + (self.len - 1) as i64
    }

    fn row_of(&self, value: i64) -> u64 {
        self.row + value.abs_diff(self.start)
    }

    /// Its values with their rows.
    pub fn values(self) -> impl Iterator<Item = (i64, u64)> {
        (self.start..=self.last()).map(move |v| (v, self.row_of(v)))
    }

    /// Whether `value` at `row` comes next.
    fn extends(&self, value: i64, row: u64) -> bool {
        row == self.row + self.len && self.last().checked_add(1) == Some(value)
    }
}

/// The runs of one set: the open one and those closed at [`MIN_RUN`] or longer.
#[derive(Debug, Default)]
pub struct Runs {
    open: Option<Run>,
    kept: Vec<Run>,
    /// Past [`MAX_RUNS`]: every value is handed back to be spelled out.
    off: bool,
}

impl Runs {
    /// Takes `value` at `row`: it extends the open run or opens one. Returns what the caller
    /// spells out: the run it closed when that one is short, or `value` itself once runs are off.
    #[inline]
    pub fn push(&mut self, value: i64, row: u64) -> Option<Run> {
        if self.off {
            return Some(Run::one(value, row));
        }
        match &mut self.open {
            Some(open) if open.extends(value, row) => {
                open.len += 1;
                None
            }
            open => {
                let closed = open.replace(Run::one(value, row))?;
                if closed.len < MIN_RUN {
                    return Some(closed);
                }
                self.kept.push(closed);
                None
            }
        }
    }

    /// Takes the first of `values` (the `k`-th at row `row(k)`) while each extends the open
    /// run, as [`Self::push`] would; how many it took.
    #[inline]
    pub fn extend(&mut self, values: &[i64], row: impl Fn(usize) -> u64) -> usize {
        let Some(open) = self.open.as_mut().filter(|_| !self.off) else {
            return 0;
        };
        let mut taken = 0;
        while let Some(&value) = values.get(taken) {
            if !open.extends(value, row(taken)) {
                break;
            }
            open.len += 1;
            taken += 1;
        }
        taken
    }

    /// Whether the kept runs reached [`MAX_RUNS`], so [`Self::stop`] is due.
    pub fn full(&self) -> bool {
        self.kept.len() >= MAX_RUNS
    }

    /// Turns runs off and returns every run, for the caller to spell out.
    pub fn stop(&mut self) -> Vec<Run> {
        self.off = true;
        let mut all = std::mem::take(&mut self.kept);
        all.extend(self.open.take());
        all
    }

    /// Closes the open run: kept when long, else returned to be spelled out (so that a set
    /// with no long run has none, and its keys need no look-up in runs at the end).
    pub fn close(&mut self) -> Option<Run> {
        let open = self.open.take()?;
        if open.len < MIN_RUN {
            return Some(open);
        }
        self.kept.push(open);
        None
    }

    /// Takes in another set's runs (of other rows); both are closed.
    pub fn merge(&mut self, other: Self) {
        debug_assert!(self.open.is_none() && other.open.is_none());
        self.kept.extend(other.kept);
    }

    /// The runs of a closed set.
    pub fn into_kept(self) -> Vec<Run> {
        debug_assert!(self.open.is_none());
        self.kept
    }
}

/// A repeat among runs: its row, the row its value was first seen at, and the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunRepeat {
    pub row: u64,
    pub first: u64,
    pub value: i64,
}

/// The values of a set of runs and where each was first seen: disjoint pieces, each a stretch
/// of values first seen at consecutive rows.
#[derive(Debug, Default)]
pub struct FirstSeen {
    /// First value → (last value, row of the first).
    pieces: BTreeMap<i64, (i64, u64)>,
}

impl FirstSeen {
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The row where `value` was first seen in a run, if one holds it.
    pub fn row(&self, value: i64) -> Option<u64> {
        let (&start, &(last, row)) = self.pieces.range(..=value).next_back()?;
        (value <= last).then(|| row + value.abs_diff(start))
    }
}

/// The repeats among `runs` (of one column, in any order): their count, the first [`SAMPLES`]
/// by row, and where each value was first seen. Runs are taken in row order, so a run's
/// values that an earlier run covered are its repeats; the covered values are kept as merged
/// stretches, so each run costs a lookup and the stretches it joins.
pub fn resolve(mut runs: Vec<Run>) -> (u64, Vec<RunRepeat>, FirstSeen) {
    runs.sort_unstable_by_key(|r| r.row);
    // first value → last value of the merged stretches seen so far
    let mut covered: BTreeMap<i64, i64> = BTreeMap::new();
    let mut seen = FirstSeen::default();
    let mut count = 0u64;
    let mut first = Vec::new();
    for run in runs {
        let (s, t) = (run.start, run.last());
        let mut hits: Vec<(i64, i64)> = covered
            .range(..=s)
            .next_back()
            .filter(|(_, last)| **last >= s)
            .map(|(a, b)| (*a, *b))
            .into_iter()
            .collect();
        hits.extend(
            covered
                .range((Excluded(s), Included(t)))
                .map(|(a, b)| (*a, *b)),
        );
        // the next value of the run not yet looked at; `None` past `i64::MAX`
        let mut next = Some(s);
        for &(a, b) in &hits {
            let (lo, hi) = (a.max(s), b.min(t));
            if let Some(n) = next.filter(|n| *n < lo) {
                seen.pieces.insert(n, (lo - 1, run.row_of(n)));
            }
            count += hi.abs_diff(lo) + 1;
            for v in (lo..=hi).take(SAMPLES.saturating_sub(first.len())) {
                first.push(RunRepeat {
                    row: run.row_of(v),
                    first: seen
                        .row(v)
                        .expect("a covered value was first seen in an earlier run"),
                    value: v,
                });
            }
            next = hi.checked_add(1);
        }
        if let Some(n) = next.filter(|n| *n <= t) {
            seen.pieces.insert(n, (t, run.row_of(n)));
        }
        for (a, _) in &hits {
            covered.remove(a);
        }
        let start = hits.first().map_or(s, |h| h.0.min(s));
        let last = hits.last().map_or(t, |h| h.1.max(t));
        covered.insert(start, last);
    }
    (count, first, seen)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Every value's rows in row order, the way a plain map finds repeats.
    fn expected(values: &[(i64, u64)]) -> (u64, Vec<RunRepeat>) {
        let mut sorted = values.to_vec();
        sorted.sort_unstable_by_key(|(_, row)| *row);
        let mut first_row: HashMap<i64, u64> = HashMap::new();
        let mut repeats = Vec::new();
        for (value, row) in sorted {
            match first_row.get(&value) {
                Some(&first) => repeats.push(RunRepeat { row, first, value }),
                None => {
                    first_row.insert(value, row);
                }
            }
        }
        let count = repeats.len() as u64;
        repeats.truncate(SAMPLES);
        (count, repeats)
    }

    #[test]
    fn runs_repeat_as_their_values_would_one_by_one() {
        let mut rng = fastrand::Rng::with_seed(5);
        for case in 0..300 {
            // runs in a small range of values so that they overlap, at disjoint rows in any order
            let n = rng.usize(1..12);
            let mut rows: Vec<u64> = (0..n as u64).map(|i| 2 + i * 1_000).collect();
            rng.shuffle(&mut rows);
            let runs: Vec<Run> = rows
                .iter()
                .map(|&row| Run {
                    start: rng.i64(-50..50) + if case % 7 == 0 { i64::MAX - 60 } else { 0 },
                    row,
                    len: rng.u64(1..40),
                })
                .map(|mut r| {
                    r.len = r.len.min(r.start.abs_diff(i64::MAX) + 1);
                    r
                })
                .collect();
            let values: Vec<(i64, u64)> = runs.iter().flat_map(|r| r.values()).collect();
            let (count, first, seen) = resolve(runs.clone());
            assert_eq!((count, first), expected(&values), "case {case}: {runs:?}");
            // every value's first row, and none for values no run holds
            let mut firsts: HashMap<i64, u64> = HashMap::new();
            for (v, row) in &values {
                let f = firsts.entry(*v).or_insert(*row);
                *f = (*f).min(*row);
            }
            for v in -60i64..100 {
                for v in [v, v.saturating_add(i64::MAX - 60)] {
                    assert_eq!(
                        seen.row(v),
                        firsts.get(&v).copied(),
                        "case {case}, value {v}"
                    );
                }
            }
        }
    }

    #[test]
    fn values_at_consecutive_rows_make_one_run_and_short_runs_are_handed_back() {
        let mut runs = Runs::default();
        let mut back = Vec::new();
        // 0..20 at rows 2..22, then 100..104, then 5 at a row that skips one
        let pushes = (0..20u64).map(|i| (i.cast_signed(), 2 + i)).chain([
            (100, 22),
            (101, 23),
            (102, 24),
            (103, 25),
            (5, 27),
        ]);
        for (v, row) in pushes {
            back.extend(runs.push(v, row));
        }
        assert_eq!(
            back,
            vec![Run {
                start: 100,
                row: 22,
                len: 4
            }]
        );
        // closing hands back the short open run, keeps a long one
        assert_eq!(runs.close(), Some(Run::one(5, 27)));
        assert_eq!(runs.push(6, 28), None);
        assert_eq!(runs.close(), Some(Run::one(6, 28)));
        assert_eq!(
            runs.into_kept(),
            vec![Run {
                start: 0,
                row: 2,
                len: 20
            }]
        );
        let mut runs = Runs::default();
        for v in 0..MIN_RUN {
            assert_eq!(runs.push(v.cast_signed(), 2 + v), None);
        }
        assert_eq!(runs.close(), None);
        assert_eq!(runs.into_kept().len(), 1);
        // at i64::MAX a run ends instead of wrapping
        let mut runs = Runs::default();
        assert_eq!(runs.push(i64::MAX, 2), None);
        assert_eq!(runs.push(i64::MIN, 3), Some(Run::one(i64::MAX, 2)));
        assert_eq!(runs.close(), Some(Run::one(i64::MIN, 3)));
    }

    #[test]
    fn past_the_cap_every_run_is_handed_back() {
        let mut runs = Runs::default();
        let mut row = 2;
        while !runs.full() {
            for v in 0..MIN_RUN {
                assert_eq!(runs.push(v.cast_signed(), row), None);
                row += 1;
            }
            row += 1;
        }
        let all = runs.stop();
        // the kept runs and the open one, whole
        assert_eq!(all.len(), MAX_RUNS + 1);
        assert!(all.iter().all(|r| r.len == MIN_RUN));
        assert_eq!(runs.push(7, row), Some(Run::one(7, row)));
    }
}
