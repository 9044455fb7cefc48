//! The exact `unique` check: 128-bit hashes of the values (a false duplicate has a chance below
//! 10^-20 at a billion rows) in memory up to a cap of keys, then sorted runs spilled to temporary
//! files and merged at the end. The one check whose memory grows with the data.

use std::collections::hash_map::Entry;
use std::io::{BufReader, BufWriter, Read as _, Write as _};

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::sketch::hasher;

/// Keys held in memory before a run is spilled: 3.5 M keys fill a table of 4 M slots, about
/// 100 MB (16 bytes of hash, 8 of row number and 1 of control each).
pub const DEFAULT_CAP: usize = 3_500_000;
/// Overrides [`DEFAULT_CAP`] (for tests of the spill, or a small machine).
pub const CAP_ENV: &str = "MLOPS_CI_DATA_UNIQUE_KEYS";

/// The keys are hashes already: the table uses their low 64 bits as they are.
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    #[allow(clippy::cast_possible_truncation)]
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

type Seen = HashMap<u128, u64, BuildHasherDefault<KeyHasher>>;

#[derive(Debug)]
pub struct Unique {
    seen: Seen,
    cap: usize,
    runs: Vec<std::fs::File>,
    low: ahash::RandomState,
    high: ahash::RandomState,
}

/// A repeated value: its row, and the value when it was still at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    pub row: u64,
    pub value: Option<String>,
}

impl Unique {
    /// A set whose cap is [`CAP_ENV`], else [`DEFAULT_CAP`].
    pub fn new() -> Self {
        Self::with_cap(
            std::env::var(CAP_ENV)
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|c: &usize| *c > 0)
                .unwrap_or(DEFAULT_CAP),
        )
    }

    pub fn with_cap(cap: usize) -> Self {
        Self {
            seen: Seen::with_capacity_and_hasher(cap.min(1 << 20), BuildHasherDefault::default()),
            cap,
            runs: Vec::new(),
            low: hasher(1),
            high: hasher(2),
        }
    }

    /// Records `value` at `row`; `true` when it was seen before (in memory).
    #[inline]
    pub fn insert(&mut self, value: &[u8], row: u64) -> std::io::Result<bool> {
        let key =
            (u128::from(self.high.hash_one(value)) << 64) | u128::from(self.low.hash_one(value));
        match self.seen.entry(key) {
            Entry::Occupied(_) => return Ok(true),
            Entry::Vacant(v) => {
                v.insert(row);
            }
        }
        if self.seen.len() >= self.cap {
            self.spill()?;
        }
        Ok(false)
    }

    fn spill(&mut self) -> std::io::Result<()> {
        let mut keys: Vec<(u128, u64)> = self.seen.drain().collect();
        keys.sort_unstable();
        let file = tempfile::tempfile()?;
        let mut out = BufWriter::new(file);
        for (key, row) in keys {
            out.write_all(&key.to_le_bytes())?;
            out.write_all(&row.to_le_bytes())?;
        }
        let mut file = out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        std::io::Seek::rewind(&mut file)?;
        self.runs.push(file);
        Ok(())
    }

    /// Repeats found only by merging spilled runs (values seen in different runs): every
    /// occurrence after the first, with its row. Empty when nothing was spilled.
    pub fn finish(mut self) -> std::io::Result<(u64, Vec<Repeat>)> {
        if self.runs.is_empty() {
            return Ok((0, Vec::new()));
        }
        self.spill()?;
        let mut readers: Vec<BufReader<std::fs::File>> =
            self.runs.drain(..).map(BufReader::new).collect();
        let mut heads: Vec<Option<(u128, u64)>> = readers
            .iter_mut()
            .map(next_entry)
            .collect::<std::io::Result<_>>()?;
        let mut count = 0u64;
        let mut first: Vec<Repeat> = Vec::new();
        let mut rows = Vec::new();
        while let Some(min) = heads.iter().flatten().map(|h| h.0).min() {
            rows.clear();
            for (i, head) in heads.iter_mut().enumerate() {
                while let Some((key, row)) = *head {
                    if key != min {
                        break;
                    }
                    rows.push(row);
                    *head = next_entry(&mut readers[i])?;
                }
            }
            if rows.len() > 1 {
                rows.sort_unstable();
                count += rows.len() as u64 - 1;
                first.extend(rows[1..].iter().map(|row| Repeat {
                    row: *row,
                    value: None,
                }));
                if first.len() > super::columns::SAMPLES {
                    first.sort_unstable_by_key(|r| r.row);
                    first.truncate(super::columns::SAMPLES);
                }
            }
        }
        first.sort_unstable_by_key(|r| r.row);
        first.truncate(super::columns::SAMPLES);
        Ok((count, first))
    }
}

fn next_entry(reader: &mut BufReader<std::fs::File>) -> std::io::Result<Option<(u128, u64)>> {
    let mut buf = [0u8; 24];
    match reader.read_exact(&mut buf) {
        Ok(()) => {
            let mut key = [0u8; 16];
            key.copy_from_slice(&buf[..16]);
            let mut row = [0u8; 8];
            row.copy_from_slice(&buf[16..]);
            Ok(Some((u128::from_le_bytes(key), u64::from_le_bytes(row))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_found_in_memory_and_across_spilled_runs() {
        let mut set = Unique::with_cap(3);
        let values = ["a", "b", "a", "c", "d", "e", "b", "f", "c"];
        let mut in_memory = Vec::new();
        for (row, v) in values.iter().enumerate() {
            if set.insert(v.as_bytes(), row as u64 + 2).unwrap() {
                in_memory.push(row as u64 + 2);
            }
        }
        // "a" repeats before the first spill; "b" and "c" only across runs.
        assert_eq!(in_memory, vec![4]);
        let (count, first) = set.finish().unwrap();
        assert_eq!(count, 2);
        assert_eq!(first.iter().map(|r| r.row).collect::<Vec<_>>(), vec![8, 10]);
    }
}
