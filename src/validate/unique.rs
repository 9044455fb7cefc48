//! The exact `unique` check with bounded memory: each value's 128-bit hash (a false duplicate
//! has a chance below 10^-20 at a billion rows; whole numbers of an `int` column are keyed by
//! value) and row go to one of [`PARTS`] partitions by the hash's top bits; past a cap of keys
//! the partitions are appended to a temporary file. At the end each partition, a small slice of
//! the keys, is sorted on its own, in place (a radix pass on one byte, then comparisons; a
//! table of them would hold as much again): equal neighbours are the repeats. A small table of
//! the first keys finds early repeats while their text is at hand, so the report can show it;
//! a text repeat found only at the end shows the row it repeats (a number's key gives its
//! value back). Whole numbers that come as runs of consecutive values at consecutive rows (ids)
//! are kept as runs, not a key per row.

use std::collections::HashSet;
use std::fs::File;
use std::hash::BuildHasherDefault;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;

use self::runs::{FirstSeen, RunRepeat, Runs};
use super::columns::{SAMPLES, keep_first};
use super::sketch::{hash_bits, unhash_bits};

mod runs;

/// Keys held in memory (by all workers together) before they are appended to disk: 640 K keys
/// of 24 bytes, 15 MB.
pub const DEFAULT_CAP: usize = 640_000;
/// Overrides [`DEFAULT_CAP`] (for tests of the spill, or a small machine).
pub const CAP_ENV: &str = "MLOPS_CI_DATA_UNIQUE_KEYS";
/// Partitions of the keys: at the end one is sorted at a time, 1/256 of the keys.
const PARTS: usize = 256;
/// Keys of the table that finds repeats while their text is at hand (about 1.5 MB).
const EARLY: usize = 1 << 16;

/// Fixed seeds, so a file's keys are the same on every run.
fn hasher(seed: u64) -> ahash::RandomState {
    ahash::RandomState::with_seeds(
        0x243f_6a88_85a3_08d3 ^ seed,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
        0x082e_fa98_ec4e_6c89,
    )
}

/// The hasher of tables whose keys are hashes already (the early table): it uses their
/// low 64 bits as they are.
#[derive(Debug, Default, Clone, Copy)]
struct HashKey(u64);

impl std::hash::Hasher for HashKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }

    #[allow(clippy::cast_possible_truncation)]
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

/// A key (the hash's two halves) and its row.
type Entry3 = [u64; 3];

type Early = HashSet<u128, BuildHasherDefault<HashKey>>;

/// Partitions appended to a temporary file: for each append, where each partition's keys are.
#[derive(Debug)]
struct Spill {
    file: File,
    len: u64,
    appends: Vec<Vec<(u64, usize)>>,
}

#[derive(Debug)]
pub struct Unique {
    parts: Vec<Vec<Entry3>>,
    held: usize,
    cap: usize,
    spills: Vec<Spill>,
    early: Early,
    /// Whole numbers in runs, not yet keys.
    runs: Runs,
    /// Repeats the early table found, with their value: the first [`SAMPLES`] by row.
    seen_values: Vec<(u64, String)>,
    low: ahash::RandomState,
    high: ahash::RandomState,
}

/// A repeated value: its row, the row it repeats, and the value when it was at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    pub row: u64,
    pub first: u64,
    pub value: Option<String>,
}

/// The cap of keys in memory: [`CAP_ENV`], else [`DEFAULT_CAP`].
pub fn cap() -> usize {
    std::env::var(CAP_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|c: &usize| *c > 0)
        .unwrap_or(DEFAULT_CAP)
}

impl Unique {
    /// A set that holds up to `cap` keys in memory.
    pub fn with_cap(cap: usize) -> Self {
        Self {
            // no room until a partition's first key (`hold`)
            parts: (0..PARTS).map(|_| Vec::new()).collect(),
            held: 0,
            cap: cap.max(1),
            spills: Vec::new(),
            early: Early::default(),
            runs: Runs::default(),
            seen_values: Vec::new(),
            low: hasher(1),
            high: hasher(2),
        }
    }

    /// Records `value` at `row`.
    #[inline]
    pub fn insert(&mut self, value: &[u8], row: u64) -> std::io::Result<()> {
        let high = self.high.hash_one(value);
        let low = self.low.hash_one(value);
        let key = (u128::from(high) << 64) | u128::from(low);
        // only while it fills: a full table missed by most values costs more than it finds
        if self.early.len() < EARLY.min(self.cap) && !self.early.insert(key) {
            keep_first(
                &mut self.seen_values,
                |(r, _)| *r,
                row,
                || {
                    let shown = String::from_utf8_lossy(value).chars().take(200).collect();
                    (row, shown)
                },
            );
        }
        self.insert_key(high, low, row)
    }

    /// Records the whole number `value` at `row`: whole numbers are compared by value, which
    /// makes `1` and `+1` one value of an `int` column, and a repeat shows the number. A value
    /// that extends the open run costs two compares; a short run is spelled out when it ends.
    #[inline]
    pub fn insert_int(&mut self, value: i64, row: u64) -> std::io::Result<()> {
        if let Some(short) = self.runs.push(value, row) {
            self.spell(short)?;
        }
        if self.runs.full() {
            for run in self.runs.stop() {
                self.spell(run)?;
            }
        }
        Ok(())
    }

    /// [`Self::insert_int`] of `values` in order, the `k`-th at row `row(k)`: the values that
    /// extend the open run are taken in one tight loop.
    pub fn insert_ints(
        &mut self,
        values: &[i64],
        row: impl Fn(usize) -> u64,
    ) -> std::io::Result<()> {
        let mut k = 0;
        while k < values.len() {
            k += self.runs.extend(&values[k..], |i| row(k + i));
            if let Some(&value) = values.get(k) {
                self.insert_int(value, row(k))?;
                k += 1;
            }
        }
        Ok(())
    }

    /// Keys each value of `run` by value ([`int_key`]).
    fn spell(&mut self, run: runs::Run) -> std::io::Result<()> {
        for (value, row) in run.values() {
            let (high, low) = int_key(value);
            self.insert_key(high, low, row)?;
        }
        Ok(())
    }

    /// Closes the open run; a short one is keyed and held in memory whatever the cap (it has
    /// fewer than 16 values).
    fn close_run(&mut self) {
        if let Some(short) = self.runs.close() {
            for (value, row) in short.values() {
                let (high, low) = int_key(value);
                self.hold(high, low, row);
            }
        }
    }

    #[inline]
    fn hold(&mut self, high: u64, low: u64, row: u64) {
        #[allow(clippy::cast_possible_truncation)]
        let part = &mut self.parts[(high >> 56) as usize];
        if part.capacity() == 0 {
            // the partition's first key: room for a fair share and a quarter more, so that it
            // does not grow by doubling (a page is only taken when written to). Room made when
            // the set is, instead, cost a page a partition (its allocation's header), 1 MB a
            // set, though most sets hold runs only
            part.reserve_exact(self.cap / PARTS + self.cap / PARTS / 4 + 8);
        }
        part.push([high, low, row]);
        self.held += 1;
    }

    #[inline]
    fn insert_key(&mut self, high: u64, low: u64, row: u64) -> std::io::Result<()> {
        self.hold(high, low, row);
        if self.held >= self.cap {
            self.spill()?;
        }
        Ok(())
    }

    /// Appends the partitions held in memory to this set's temporary file.
    fn spill(&mut self) -> std::io::Result<()> {
        if self.spills.is_empty() {
            self.spills.push(Spill {
                file: tempfile::tempfile()?,
                len: 0,
                appends: Vec::new(),
            });
        }
        let spill = &mut self.spills[0];
        let mut index = Vec::with_capacity(PARTS);
        // a partition at a time, in one write: a fair share is about 60 KB
        let mut bytes = Vec::new();
        for part in &mut self.parts {
            index.push((spill.len, part.len()));
            bytes.clear();
            bytes.extend(part.iter().flatten().flat_map(|w| w.to_le_bytes()));
            (&spill.file).write_all(&bytes)?;
            spill.len += bytes.len() as u64;
            part.clear();
        }
        spill.appends.push(index);
        self.held = 0;
        Ok(())
    }

    /// Takes in another worker's keys (of other rows of the same file).
    pub fn merge(&mut self, mut other: Self) {
        self.close_run();
        other.close_run();
        for (mine, theirs) in self.parts.iter_mut().zip(other.parts) {
            mine.extend(theirs);
        }
        self.held += other.held;
        self.runs.merge(other.runs);
        self.spills.extend(other.spills);
        self.seen_values.extend(other.seen_values);
    }

    /// Every occurrence of a value after its first: the count and the first [`SAMPLES`] by row,
    /// with their value when it is a whole number or the early table saw it. `threads` share
    /// the partitions.
    pub fn finish(mut self, threads: usize) -> std::io::Result<(u64, Vec<Repeat>)> {
        self.close_run();
        let (mut count, in_runs, seen) = runs::resolve(std::mem::take(&mut self.runs).into_kept());
        let step = PARTS.div_ceil(threads.clamp(1, 8));
        let mut parts = std::mem::take(&mut self.parts);
        let spills = &self.spills;
        let ctx = FromRuns {
            seen: &seen,
            shown: &in_runs,
        };
        let found: Vec<std::io::Result<Found>> = std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .chunks_mut(step)
                .enumerate()
                .map(|(t, share)| scope.spawn(move || repeats_in(spills, t * step, share, ctx)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(std::io::Error::other("a merge thread stopped")))
                })
                .collect()
        });
        let mut first = Vec::new();
        let mut earlier = Vec::new();
        for part in found {
            let part = part?;
            count += part.count;
            first.extend(part.first);
            earlier.extend(part.earlier);
        }
        first.extend(in_runs.iter().map(|r| {
            Repeat {
                row: r.row,
                // a hashed occurrence before the runs' first one
                first: earlier
                    .iter()
                    .filter(|(v, _)| *v == r.value)
                    .map(|(_, row)| *row)
                    .fold(r.first, u64::min),
                value: Some(r.value.to_string()),
            }
        }));
        first.sort_unstable_by_key(|r| r.row);
        first.truncate(SAMPLES);
        for repeat in first.iter_mut().filter(|r| r.value.is_none()) {
            repeat.value = self
                .seen_values
                .iter()
                .find(|(row, _)| *row == repeat.row)
                .map(|(_, v)| v.clone());
        }
        Ok((count, first))
    }
}

/// Partition `p`'s keys: those held in memory (`held`, taken) and those of every append on disk.
fn part(spills: &[Spill], p: usize, held: &mut Vec<Entry3>) -> std::io::Result<Vec<Entry3>> {
    let mut keys = std::mem::take(held);
    let mut buf = Vec::new();
    for spill in spills {
        for append in &spill.appends {
            let (offset, n) = append[p];
            buf.resize(n * 24, 0);
            spill.file.read_exact_at(&mut buf, offset)?;
            keys.extend(buf.chunks_exact(24).map(|c| {
                let word = |i: usize| {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(&c[i * 8..i * 8 + 8]);
                    u64::from_le_bytes(w)
                };
                [word(0), word(1), word(2)]
            }));
        }
    }
    Ok(keys)
}

/// Partitions shorter than this are sorted by comparisons alone.
const RADIX_MIN: usize = 1024;

/// Sorts keys with their rows: first in place by the high half's second byte (a partition
/// shares its first), then each of those buckets by the high half alone (a plain integer
/// compare), then each run of equal high halves (a repeat, or one chance in 2^56 per pair) by
/// key and row.
fn sort(keys: &mut [Entry3]) {
    if keys.len() < RADIX_MIN {
        keys.sort_unstable_by_key(|e| e[0]);
    } else {
        for bucket in by_second_byte(keys) {
            bucket.sort_unstable_by_key(|e| e[0]);
        }
    }
    for run in keys.chunk_by_mut(|a, b| a[0] == b[0]) {
        if run.len() > 1 {
            run.sort_unstable();
        }
    }
}

/// Orders keys by the second byte of their high half, in place (each key moves straight to
/// its bucket, swapping out the one there), and returns the 256 buckets.
fn by_second_byte(keys: &mut [Entry3]) -> impl Iterator<Item = &mut [Entry3]> {
    #[allow(clippy::cast_possible_truncation)]
    let digit = |e: &Entry3| (e[0] >> 48) as u8 as usize;
    let mut ends = [0usize; 256];
    for e in keys.iter() {
        ends[digit(e)] += 1;
    }
    let mut sum = 0;
    for end in &mut ends {
        sum += *end;
        *end = sum;
    }
    let mut next = [0usize; 256];
    next[1..].copy_from_slice(&ends[..255]);
    let starts = next;
    for b in 0..256 {
        while next[b] < ends[b] {
            let mut e = keys[next[b]];
            let mut d = digit(&e);
            while d != b {
                std::mem::swap(&mut e, &mut keys[next[d]]);
                next[d] += 1;
                d = digit(&e);
            }
            keys[next[b]] = e;
            next[b] += 1;
        }
    }
    let mut rest = keys;
    (0..256).map(move |b| {
        let (bucket, tail) = std::mem::take(&mut rest).split_at_mut(ends[b] - starts[b]);
        rest = tail;
        bucket
    })
}

/// The key of the whole number `value`, its high and low halves: the high half a bijective
/// mix of it, so two keys are equal only for equal numbers and [`int_of`] finds the number
/// again; the low half the high one turned by 32 bits (the tables hash by the low half: a
/// mixed one).
#[allow(clippy::cast_sign_loss)]
fn int_key(value: i64) -> (u64, u64) {
    let high = hash_bits(value as u64);
    (high, high.rotate_left(32))
}

/// The whole number of a key made by [`int_key`] (a text's key is one too with a chance of
/// 2^-64).
#[allow(clippy::cast_possible_wrap)]
fn int_of(key: &Entry3) -> Option<i64> {
    let value = unhash_bits(key[0]) as i64;
    (int_key(value).1 == key[1]).then_some(value)
}

/// What the partitions' pass reads of the runs: where each run value was first seen, and the
/// repeats among runs that will be shown.
#[derive(Debug, Clone, Copy)]
struct FromRuns<'a> {
    seen: &'a FirstSeen,
    shown: &'a [RunRepeat],
}

/// What a share of the partitions found.
#[derive(Debug, Default)]
struct Found {
    count: u64,
    /// The first [`SAMPLES`] by row.
    first: Vec<Repeat>,
    /// For a value of [`FromRuns::shown`] also keyed before its first run: that earlier row.
    earlier: Vec<(i64, u64)>,
}

/// The repeats of the partitions `parts`, the first of which is partition `start`, with those
/// whose value a run holds too.
fn repeats_in(
    spills: &[Spill],
    start: usize,
    parts: &mut [Vec<Entry3>],
    runs: FromRuns<'_>,
) -> std::io::Result<Found> {
    let mut found = Found::default();
    for (i, held) in parts.iter_mut().enumerate() {
        let mut keys = part(spills, start + i, held)?;
        sort(&mut keys);
        for group in keys.chunk_by(|a, b| a[0] == b[0] && a[1] == b[1]) {
            // a value seen once repeats only when a run holds it too
            if group.len() < 2 && runs.seen.is_empty() {
                continue;
            }
            // a whole number is at hand: its key is the number
            let number = int_of(&group[0]);
            let in_run = number.and_then(|v| Some((v, runs.seen.row(v)?)));
            let first_row = group[0][2];
            match in_run {
                None if group.len() < 2 => continue,
                None => {
                    found.count += group.len() as u64 - 1;
                    found
                        .first
                        .extend(group[1..].iter().take(SAMPLES).map(|e| Repeat {
                            row: e[2],
                            first: first_row,
                            value: number.map(|v| v.to_string()),
                        }));
                }
                Some((v, run_row)) => {
                    found.count += group.len() as u64;
                    let mut rows: Vec<u64> = group.iter().take(SAMPLES + 1).map(|e| e[2]).collect();
                    rows.push(run_row);
                    rows.sort_unstable();
                    found
                        .first
                        .extend(rows[1..].iter().take(SAMPLES).map(|&row| Repeat {
                            row,
                            first: rows[0],
                            value: Some(v.to_string()),
                        }));
                    if first_row < run_row && runs.shown.iter().any(|r| r.value == v) {
                        found.earlier.push((v, first_row));
                    }
                }
            }
            if found.first.len() > 4 * SAMPLES {
                found.first.sort_unstable_by_key(|r| r.row);
                found.first.truncate(SAMPLES);
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::super::value::parse_i64;
    use super::*;

    fn run(cap: usize, values: &[&str], workers: usize) -> (u64, Vec<Repeat>) {
        // rows 2.. split in `workers` consecutive runs, as the chunks of a file are
        let per = values.len().div_ceil(workers);
        let mut sets: Vec<Unique> = (0..workers).map(|_| Unique::with_cap(cap)).collect();
        for (i, v) in values.iter().enumerate() {
            sets[i / per].insert(v.as_bytes(), i as u64 + 2).unwrap();
        }
        let mut all = sets.remove(0);
        for s in sets {
            all.merge(s);
        }
        all.finish(2).unwrap()
    }

    #[test]
    fn repeats_are_found_in_memory_across_spills_and_across_workers() {
        let values = ["a", "b", "a", "c", "d", "e", "b", "f", "c", "a"];
        for (cap, workers) in [(100, 1), (3, 1), (1, 1), (100, 2), (2, 3)] {
            let (count, first) = run(cap, &values, workers);
            assert_eq!(count, 4, "cap {cap}, {workers} workers");
            let rows: Vec<(u64, u64)> = first.iter().map(|r| (r.row, r.first)).collect();
            assert_eq!(rows, vec![(4, 2), (8, 3), (10, 5), (11, 2)], "cap {cap}");
        }
        // the early table saw "a" again at row 4 with the value at hand
        let (_, first) = run(100, &values, 1);
        assert_eq!(first[0].value.as_deref(), Some("a"));
    }

    /// A set takes room for a partition only when a key goes there: ids in runs take none, and
    /// the first key of a partition takes its fair share at once.
    #[test]
    fn partitions_take_room_when_their_first_key_comes() {
        let mut set = Unique::with_cap(PARTS * 100);
        for id in 0..10_000 {
            set.insert_int(id, id.unsigned_abs() + 2).unwrap();
        }
        assert!(set.parts.iter().all(|p| p.capacity() == 0));
        set.insert(b"a text", 10_002).unwrap();
        let taken: Vec<usize> = set
            .parts
            .iter()
            .map(Vec::capacity)
            .filter(|c| *c > 0)
            .collect();
        assert_eq!(taken.len(), 1);
        assert!(taken[0] >= 125, "{taken:?}");
        let (count, _) = set.finish(1).unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn keys_sort_as_a_full_sort_would_when_high_halves_tie() {
        let mut rng = fastrand::Rng::with_seed(11);
        // few high halves, so that runs of ties with other low halves and rows are common;
        // then high halves whose second byte varies (the radix pass), with ties still
        let shapes: [fn(&mut fastrand::Rng) -> u64; 2] = [
            |rng| rng.u64(0..40),
            |rng| rng.u64(..256) << 48 | rng.u64(0..60) << 20,
        ];
        for high in shapes {
            for n in [5, 900, 5_000] {
                let mut keys: Vec<Entry3> = (0..n)
                    .map(|_| [high(&mut rng), rng.u64(0..3), rng.u64(..)])
                    .collect();
                let mut expected = keys.clone();
                expected.sort_unstable();
                sort(&mut keys);
                assert_eq!(keys, expected, "{n} keys");
            }
        }
    }

    #[test]
    fn whole_numbers_repeat_by_value_across_spills() {
        for cap in [100, 2] {
            let mut set = Unique::with_cap(cap);
            for (row, (v, text)) in [(1, "1"), (2, "2"), (-1, "-1"), (1, "+1"), (2, "02")]
                .into_iter()
                .enumerate()
            {
                // as an `int` column reads its cells
                assert_eq!(parse_i64(text.as_bytes()), Some(v));
                set.insert_int(v, row as u64 + 2).unwrap();
            }
            let (count, first) = set.finish(2).unwrap();
            assert_eq!(count, 2, "cap {cap}");
            let rows: Vec<(u64, u64)> = first.iter().map(|r| (r.row, r.first)).collect();
            assert_eq!(rows, vec![(5, 2), (6, 3)], "cap {cap}");
            // a repeat shows the number, however it was written
            let shown: Vec<Option<&str>> = first.iter().map(|r| r.value.as_deref()).collect();
            assert_eq!(shown, vec![Some("1"), Some("2")], "cap {cap}");
        }
    }

    #[test]
    fn a_chunk_of_whole_numbers_is_inserted_as_one_by_one() {
        let mut rng = fastrand::Rng::with_seed(21);
        for cap in [3, 1_000] {
            // runs of ids with gaps in rows (nulls), jumps back (repeats) and forward
            let (mut values, mut rows) = (Vec::new(), Vec::new());
            let (mut v, mut row) = (0i64, 2u64);
            for _ in 0..400 {
                for _ in 0..rng.usize(1..40) {
                    values.push(v);
                    rows.push(row);
                    v += 1;
                    row += 1;
                }
                match rng.usize(0..4) {
                    0 => row += rng.u64(1..3),
                    1 => v -= rng.i64(1..60),
                    2 => v += rng.i64(2..10_000),
                    _ => {}
                }
            }
            let mut one = Unique::with_cap(cap);
            for (&v, &row) in values.iter().zip(&rows) {
                one.insert_int(v, row).unwrap();
            }
            let mut chunks = Unique::with_cap(cap);
            let mut at = 0;
            while at < values.len() {
                let end = (at + rng.usize(0..300)).min(values.len());
                chunks
                    .insert_ints(&values[at..end], |k| rows[at + k])
                    .unwrap();
                at = end;
            }
            let (count, first) = one.finish(2).unwrap();
            assert!(
                count > 0 && count < values.len() as u64 / 2,
                "cap {cap}: {count}"
            );
            assert_eq!(chunks.finish(2).unwrap(), (count, first), "cap {cap}");
        }
    }

    #[test]
    fn a_number_keyed_before_the_runs_that_repeat_it_is_their_first() {
        for cap in [2, 100] {
            let mut set = Unique::with_cap(cap);
            // 5 at row 2, then 0..20 at rows 3..=22, then 5..25 at rows 23..=42
            set.insert_int(5, 2).unwrap();
            for (i, v) in (0..20).chain(5..25).enumerate() {
                set.insert_int(v, i as u64 + 3).unwrap();
            }
            let (count, first) = set.finish(2).unwrap();
            // 5 twice more, 6..20 once more
            assert_eq!(count, 2 + 14, "cap {cap}");
            let rows: Vec<(u64, u64)> = first.iter().map(|r| (r.row, r.first)).collect();
            assert_eq!(
                rows,
                vec![(8, 2), (23, 2), (24, 9), (25, 10), (26, 11)],
                "cap {cap}"
            );
        }
    }

    #[test]
    fn keys_undo_to_their_whole_numbers() {
        let mut rng = fastrand::Rng::with_seed(2);
        for v in [0, 1, -1, i64::MIN, i64::MAX]
            .into_iter()
            .chain((0..1000).map(|_| rng.i64(..)))
        {
            let (high, low) = int_key(v);
            assert_eq!(int_of(&[high, low, 9]), Some(v));
            assert_eq!(int_of(&[high, high.rotate_left(31), 9]), None);
        }
    }

    /// A cell of the property test: a whole number or a text (a cell of an `int` column that
    /// is not one), at its row.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    enum Cell {
        Int(i64),
        Text(String),
    }

    #[test]
    fn runs_of_ids_repeat_as_values_keyed_one_by_one_do() {
        let mut rng = fastrand::Rng::with_seed(3);
        for case in 0..400 {
            // runs of ids (some at rows that skip one, as a null or a bad row would), repeated
            // stretches, stray numbers and texts
            let mut cells: Vec<(Cell, u64)> = Vec::new();
            let mut row = 2;
            while cells.len() < 300 {
                let start = rng.i64(-100..100);
                match rng.u8(0..10) {
                    0..=5 => {
                        for v in start..start + rng.i64(1..60) {
                            cells.push((Cell::Int(v), row));
                            row += if rng.u8(0..50) == 0 { 2 } else { 1 };
                        }
                    }
                    6..=8 => {
                        cells.push((Cell::Int(start), row));
                        row += 1;
                    }
                    _ => {
                        cells.push((Cell::Text(format!("t{}", start % 5)), row));
                        row += 1;
                    }
                }
            }
            // the expected repeats, by a map of each value's first row
            let mut first_row = std::collections::HashMap::new();
            let mut expected = Vec::new();
            for (cell, row) in &cells {
                match first_row.get(cell) {
                    Some(first) => expected.push((*row, *first)),
                    None => {
                        first_row.insert(cell.clone(), *row);
                    }
                }
            }
            let count = expected.len() as u64;
            expected.truncate(SAMPLES);
            // chunks of a few rows, dealt to the workers in turn
            let workers = 1 + case % 3;
            let chunk = rng.usize(1..80);
            let cap = if case % 2 == 0 { 7 } else { 10_000 };
            let mut sets: Vec<Unique> = (0..workers).map(|_| Unique::with_cap(cap)).collect();
            for (i, (cell, row)) in cells.iter().enumerate() {
                let set = &mut sets[i / chunk % workers];
                match cell {
                    Cell::Int(v) => set.insert_int(*v, *row),
                    Cell::Text(t) => set.insert(t.as_bytes(), *row),
                }
                .unwrap();
            }
            let mut all = sets.remove(0);
            for s in sets {
                all.merge(s);
            }
            let (got, first) = all.finish(2).unwrap();
            assert_eq!(got, count, "case {case}");
            let rows: Vec<(u64, u64)> = first.iter().map(|r| (r.row, r.first)).collect();
            assert_eq!(rows, expected, "case {case}");
            for r in &first {
                let cell = &cells.iter().find(|(_, row)| *row == r.row).unwrap().0;
                let text = match cell {
                    Cell::Int(v) => v.to_string(),
                    Cell::Text(t) => t.clone(),
                };
                // shown when at hand, which numbers always are
                match (cell, &r.value) {
                    (_, Some(shown)) => assert_eq!(shown, &text, "case {case}"),
                    (Cell::Int(_), None) => panic!("case {case}: no value for row {}", r.row),
                    (Cell::Text(_), None) => {}
                }
            }
        }
    }
}
