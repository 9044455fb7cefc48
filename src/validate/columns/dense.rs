//! Counts of an `int` column's values for its profile while they stay near the first one: a
//! value's count is an array slot, with no hash and no probe. A value out of reach hands the
//! counts over to the top values ([`TopValues`]), which go on by hash; so do a merge, giving
//! up exact counts and the per-cell path, and the profile reads both; the table is empty until
//! then, so the counts and first texts are the same as if it had counted every value.

use crate::validate::sketch::{TopValues, hash_bits};

/// Values counted: from [`BELOW`] below the first value on.
const REACH: usize = 1024;
const BELOW: i64 = 512;

#[derive(Debug, Clone, Default)]
pub(super) struct Dense {
    /// The value of slot 0; `None` before the first value.
    base: Option<i64>,
    counts: Vec<u64>,
    /// The text each value was first seen as (`07` and `7` count as one).
    texts: Vec<Box<str>>,
}

impl Dense {
    /// Where the slots start: [`BELOW`] under the first value counted, set by it.
    #[inline]
    fn base(&mut self, first: i64) -> i64 {
        if let Some(base) = self.base {
            return base;
        }
        let base = first.saturating_sub(BELOW);
        self.base = Some(base);
        self.counts = vec![0; REACH];
        self.texts = vec![Box::default(); REACH];
        base
    }

    /// Counts `values` in order up to the first out of reach (not counted: the caller hands
    /// over), value `k`'s text `text(k)` kept when it is new here: how many it counted. Two
    /// compares a value find it in reach, once the first has set where the slots start.
    #[inline]
    pub(super) fn add_all<E>(
        &mut self,
        values: &[i64],
        text: impl Fn(usize) -> Result<Box<str>, E>,
    ) -> Result<usize, E> {
        let Some(&first) = values.first() else {
            return Ok(0);
        };
        let base = self.base(first);
        for (k, &v) in values.iter().enumerate() {
            // `v - base` wrapped to `u64` is its distance when `v` is not below `base`
            #[allow(clippy::cast_sign_loss)]
            let i = v.wrapping_sub(base) as u64;
            if v < base || i >= REACH as u64 {
                return Ok(k);
            }
            #[allow(clippy::cast_possible_truncation)]
            let i = i as usize;
            if self.counts[i] == 0 {
                self.texts[i] = text(k)?;
            }
            self.counts[i] += 1;
        }
        Ok(values.len())
    }

    /// Puts the counts into `top`, as it would have counted the values: numbers by the hash
    /// of their `f64` bits.
    pub(super) fn hand_over(self, top: &mut TopValues) {
        let Some(base) = self.base else {
            return;
        };
        // slot `i` is value `base + i`; the slots past `i64::MAX` (near it) count nothing
        let mut value = base;
        for (count, text) in self.counts.into_iter().zip(self.texts) {
            if count > 0 {
                #[allow(clippy::cast_precision_loss)]
                top.put(hash_bits((value as f64).to_bits()), count, text);
            }
            value = value.wrapping_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts by value (in batches of any size), else by hash, as [`TopValues::add`] counts
    /// every value.
    fn both(values: &[i64], rng: &mut fastrand::Rng) -> (TopValues, TopValues) {
        let (mut by_hash, mut top) = (TopValues::new(10_000), TopValues::new(10_000));
        let text = |n: usize| format!("{}#{n}", values[n]);
        #[allow(clippy::cast_precision_loss)]
        let key = |n: usize| hash_bits((values[n] as f64).to_bits());
        for n in 0..values.len() {
            assert!(by_hash.add(key(n), &text(n)));
        }
        let mut dense = Some(Dense::default());
        let mut n = 0;
        while n < values.len() {
            let batch = &values[n..(n + rng.usize(1..300)).min(values.len())];
            let counted = match &mut dense {
                Some(d) => d
                    .add_all(batch, |k| Ok::<_, ()>(text(n + k).into()))
                    .unwrap(),
                None => 0,
            };
            if counted < batch.len() {
                if let Some(d) = dense.take() {
                    d.hand_over(&mut top);
                }
                for m in n + counted..n + batch.len() {
                    assert!(top.add(key(m), &text(m)));
                }
            }
            n += batch.len();
        }
        if let Some(d) = dense {
            d.hand_over(&mut top);
        }
        (by_hash, top)
    }

    #[test]
    fn counts_and_first_texts_are_the_top_values_own() {
        let mut rng = fastrand::Rng::with_seed(4);
        let lists: Vec<Vec<i64>> = vec![
            (0..5_000).map(|_| rng.i64(18..91)).collect(),
            (0..5_000).map(|_| rng.i64(0..2)).collect(),
            // near the first value, then out of reach below and above
            (0..3_000)
                .map(|i| {
                    if i < 2_000 {
                        rng.i64(-600..600)
                    } else {
                        rng.i64(-3_000..3_000)
                    }
                })
                .collect(),
            vec![i64::MAX, i64::MIN, i64::MAX - 3, 0],
            vec![i64::MIN, i64::MIN + 700, i64::MAX],
            Vec::new(),
        ];
        for values in lists {
            let (by_hash, top) = both(&values, &mut rng);
            assert_eq!(top.distinct(), by_hash.distinct(), "{values:?}");
            assert_eq!(
                top.top(2_000),
                by_hash.top(2_000),
                "{:?}",
                &values[..4.min(values.len())]
            );
        }
    }
}
