//! Streaming sketches for profiles: moments (shifted sums), a uniform sample for quantiles, a
//! `HyperLogLog` distinct count and exact frequent values with a cap, each with memory bounded by
//! its settings and each mergeable (the workers of a file merge theirs at the end); and the
//! hashes they share (the number hash with its inverse, which `unique` reads numbers back by).

/// Count, mean, variance, min and max in one pass: sums of the values and their squares,
/// shifted by the first value so that a large mean does not cancel the variance away.
#[derive(Debug, Clone, Default)]
pub struct Moments {
    pub n: u64,
    shift: f64,
    sum: f64,
    squares: f64,
    pub min: f64,
    pub max: f64,
}

impl Moments {
    #[inline]
    pub fn add(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        if self.n == 0 {
            self.min = x;
            self.max = x;
            self.shift = x;
        } else {
            if x < self.min {
                self.min = x;
            }
            if x > self.max {
                self.max = x;
            }
        }
        self.n += 1;
        let d = x - self.shift;
        self.sum += d;
        self.squares += d * d;
    }

    /// Adds values in order, as [`Self::add`] does one by one, in one tight loop.
    pub fn add_all(&mut self, values: &[f64]) {
        self.add_each::<true>(values);
    }

    /// [`Self::add_all`] of values none of which is NaN (an `int` column's): no value is
    /// asked whether it is one, nor counted one by one.
    pub fn add_all_numbers(&mut self, values: &[f64]) {
        debug_assert!(!values.iter().any(|x| x.is_nan()));
        self.add_each::<false>(values);
    }

    /// [`Self::add_all`]; `MAY_BE_NAN`: whether a value may be NaN (then skipped).
    #[inline]
    fn add_each<const MAY_BE_NAN: bool>(&mut self, values: &[f64]) {
        let mut rest = values;
        while self.n == 0 {
            match rest.split_first() {
                Some((x, tail)) => {
                    self.add(*x);
                    rest = tail;
                }
                None => return,
            }
        }
        let (mut min, mut max, mut sum, mut squares, mut n) =
            (self.min, self.max, self.sum, self.squares, self.n);
        let shift = self.shift;
        if !MAY_BE_NAN {
            n += rest.len() as u64;
        }
        for &x in rest {
            if MAY_BE_NAN {
                if x.is_nan() {
                    continue;
                }
                n += 1;
            }
            // plain compares: NaN is skipped above, so `f64::min`'s NaN handling is not needed
            if x < min {
                min = x;
            }
            if x > max {
                max = x;
            }
            let d = x - shift;
            sum += d;
            squares += d * d;
        }
        (self.min, self.max, self.sum, self.squares, self.n) = (min, max, sum, squares, n);
    }

    /// Takes in the moments of other values.
    #[allow(clippy::cast_precision_loss)]
    pub fn merge(&mut self, other: &Self) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = other.clone();
            return;
        }
        // other's sums are shifted by its first value: shift them to ours
        let delta = other.shift - self.shift;
        let n = other.n as f64;
        self.squares += other.squares + 2.0 * delta * other.sum + n * delta * delta;
        self.sum += other.sum + n * delta;
        self.n += other.n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    #[allow(clippy::cast_precision_loss)]
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.shift + self.sum / self.n as f64
        }
    }

    /// The sample standard deviation.
    #[allow(clippy::cast_precision_loss)]
    pub fn std(&self) -> Option<f64> {
        (self.n > 1).then(|| {
            let n = self.n as f64;
            ((self.squares - self.sum * self.sum / n) / (n - 1.0))
                .max(0.0)
                .sqrt()
        })
    }
}

/// A uniform random sample of a column's values (reservoir sampling, Li's algorithm L): after
/// it fills, a value costs a counter compare, and only the values that enter it cost a random
/// draw. Its quantiles have a rank error of about 0.5% (one standard deviation) at the median.
#[derive(Debug, Clone)]
pub struct Reservoir {
    cap: usize,
    items: Vec<f64>,
    n: u64,
    next: u64,
    w: f64,
    rng: fastrand::Rng,
}

impl Default for Reservoir {
    fn default() -> Self {
        Self::new(8192)
    }
}

impl Reservoir {
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            items: Vec::new(),
            n: 0,
            next: 0,
            w: 1.0,
            rng: fastrand::Rng::with_seed(0x5eed),
        }
    }

    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn skip(&mut self) {
        self.w *= (self.rng.f64().max(f64::MIN_POSITIVE).ln() / self.cap as f64).exp();
        let gap = (self.rng.f64().max(f64::MIN_POSITIVE).ln() / (1.0 - self.w).ln()).floor();
        self.next = self.n
            + 1
            + if gap.is_finite() {
                gap as u64
            } else {
                u64::MAX / 2
            };
    }

    #[inline]
    pub fn add(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        self.n += 1;
        if self.items.len() < self.cap {
            self.items.push(x);
            if self.items.len() == self.cap {
                self.skip();
            }
        } else if self.n == self.next {
            let i = self.rng.usize(0..self.cap);
            self.items[i] = x;
            self.skip();
        }
    }

    /// Adds values in order, as [`Self::add`] does one by one: once the sample is full, only
    /// the values at the drawn positions are looked at.
    pub fn add_all(&mut self, values: &[f64]) {
        self.add_each::<true>(values);
    }

    /// [`Self::add_all`] of values none of which is NaN (an `int` column's): they are not
    /// looked over for one.
    pub fn add_all_numbers(&mut self, values: &[f64]) {
        debug_assert!(!values.iter().any(|x| x.is_nan()));
        self.add_each::<false>(values);
    }

    /// [`Self::add_all`]; `MAY_BE_NAN`: whether a value may be NaN (then skipped).
    #[allow(clippy::cast_possible_truncation)]
    fn add_each<const MAY_BE_NAN: bool>(&mut self, values: &[f64]) {
        let mut rest = values;
        while self.items.len() < self.cap {
            match rest.split_first() {
                Some((x, tail)) => {
                    self.add(*x);
                    rest = tail;
                }
                None => return,
            }
        }
        if MAY_BE_NAN && rest.iter().any(|x| x.is_nan()) {
            for &x in rest {
                self.add(x);
            }
            return;
        }
        // value `i` of `rest` is the sample's value number `start + 1 + i`
        let start = self.n;
        let end = start + rest.len() as u64;
        while self.next <= end {
            self.items[self.rng.usize(0..self.cap)] = rest[(self.next - start - 1) as usize];
            self.n = self.next;
            self.skip();
        }
        self.n = end;
    }

    /// Takes in a sample of other values: a share of each sample by the values each saw.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub fn merge(&mut self, mut other: Self) {
        let total = self.n + other.n;
        if self.items.len() + other.items.len() <= self.cap {
            self.items.append(&mut other.items);
        } else {
            let mine = ((self.cap as f64 * self.n as f64 / total as f64).round() as usize)
                .min(self.items.len());
            let theirs = (self.cap - mine).min(other.items.len());
            self.rng.shuffle(&mut self.items);
            self.items.truncate(mine);
            self.rng.shuffle(&mut other.items);
            self.items.extend_from_slice(&other.items[..theirs]);
        }
        self.n = total;
        if self.items.len() >= self.cap {
            self.skip();
        }
    }

    fn sorted(&self) -> Vec<f64> {
        let mut items = self.items.clone();
        items.sort_unstable_by(f64::total_cmp);
        items
    }

    /// `points + 1` evenly spaced quantiles from q0 (`min`) to q100 (`max`).
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub fn quantiles(&self, points: usize, min: f64, max: f64) -> Vec<f64> {
        let items = self.sorted();
        if items.is_empty() {
            return Vec::new();
        }
        let last = items.len() - 1;
        let mut out: Vec<f64> = (0..=points)
            .map(|p| items[(p as f64 / points as f64 * last as f64).round() as usize])
            .collect();
        out[0] = min;
        out[points] = max;
        out
    }

    /// Counts in `bins` equal-width bins from `min` to `max`, scaled from the sample to all
    /// values.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub fn histogram(&self, bins: usize, min: f64, max: f64) -> (Vec<f64>, Vec<u64>) {
        let width = (max - min) / bins as f64;
        let edges: Vec<f64> = (0..=bins).map(|i| min + width * i as f64).collect();
        let mut counts = vec![0u64; bins];
        for x in &self.items {
            let i = if width > 0.0 {
                (((x - min) / width) as usize).min(bins - 1)
            } else {
                0
            };
            counts[i] += 1;
        }
        if self.items.len() as u64 != self.n && !self.items.is_empty() {
            let scale = self.n as f64 / self.items.len() as f64;
            for c in &mut counts {
                *c = (*c as f64 * scale).round() as u64;
            }
        }
        (edges, counts)
    }
}

/// `HyperLogLog` with 2^12 registers: about 1.6% standard error, 4 KB.
#[derive(Debug, Clone)]
pub struct Hll {
    registers: Vec<u8>,
}

impl Default for Hll {
    fn default() -> Self {
        Self {
            registers: vec![0; 1 << Self::P],
        }
    }
}

impl Hll {
    const P: u32 = 12;

    #[inline]
    pub fn add_hash(&mut self, hash: u64) {
        let index = usize::try_from(hash >> (64 - Self::P)).unwrap_or(0);
        let rest = (hash << Self::P) | (1 << (Self::P - 1));
        #[allow(clippy::cast_possible_truncation)]
        let rank = rest.leading_zeros() as u8 + 1;
        if rank > self.registers[index] {
            self.registers[index] = rank;
        }
    }

    /// Takes in the registers of other values.
    pub fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.registers.iter_mut().zip(&other.registers) {
            *mine = (*mine).max(*theirs);
        }
    }

    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub fn estimate(&self) -> u64 {
        let m = self.registers.len() as f64;
        let sum: f64 = self
            .registers
            .iter()
            .map(|r| 2f64.powi(-i32::from(*r)))
            .sum();
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        #[allow(clippy::naive_bytecount)]
        let zeros = self.registers.iter().filter(|r| **r == 0).count();
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }
}

/// Exact counts of the values seen (by their 64-bit hash, numbers by value; two of 10 000 texts
/// share a hash with a chance of about 3 in 10^12), until there are more than `cap` distinct
/// ones; then it stops (the column has too many values for "most frequent" to mean much).
///
/// An open-addressing table of its own: a hash's low bits pick its slot, the next slots follow
/// when that one is taken, and at most three quarters of the slots are used (10 000 values take
/// 16 384 slots of 32 bytes, as a general hash map's buckets would). A value seen before costs
/// one or two compares of a 16-byte slot, where a general hash map's group probe costs about
/// twice as many instructions.
#[derive(Debug, Clone)]
pub struct TopValues {
    /// `(hash, count)`, a power of two of them (or none); a count of 0 marks a free slot.
    slots: Vec<(u64, u64)>,
    /// The text of each used slot's first occurrence.
    texts: Vec<Box<str>>,
    used: usize,
    cap: usize,
    pub given_up: bool,
}

/// Slots of a new table (grown by doubling).
const FIRST_SLOTS: usize = 16;
/// Below this many slots a table is kept at most an eighth full: a value is then almost always
/// in its own slot, so a look-up takes one probe and its branch is predicted (a column of a few
/// dozen values in random order, three quarters full, would mispredict on about every other
/// look-up). The table stays within 32 KB.
const SPARSE_SLOTS: usize = 1024;

impl TopValues {
    pub fn new(cap: usize) -> Self {
        Self {
            slots: Vec::new(),
            texts: Vec::new(),
            used: 0,
            cap,
            given_up: false,
        }
    }

    /// The slot of `hash`: where it is, or the free one where it would go. The table has slots.
    #[inline]
    fn slot(&self, hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        #[allow(clippy::cast_possible_truncation)]
        let mut i = hash as usize & mask;
        loop {
            let (h, count) = self.slots[i];
            if count == 0 || h == hash {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The slot that counts `hash`, `None` when it has not been seen.
    #[inline]
    fn find(&self, hash: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let i = self.slot(hash);
        (self.slots[i].1 > 0).then_some(i)
    }

    /// One value, by its hash; the text of its first occurrence is kept. `false` when the value
    /// is new and the table is full: the caller gives up.
    #[inline]
    pub fn add(&mut self, hash: u64, value: &str) -> bool {
        if self.bump(hash) {
            return true;
        }
        if self.used >= self.cap {
            return false;
        }
        self.insert(hash, 1, value.into());
        true
    }

    /// Counts a value seen before; `false` when it is new (then [`Self::add`] it).
    #[inline]
    pub fn bump(&mut self, hash: u64) -> bool {
        match self.find(hash) {
            Some(i) => {
                self.slots[i].1 += 1;
                true
            }
            None => false,
        }
    }

    /// Puts a value not in the table in, with its count, growing the table to keep it at most
    /// three quarters full, and at most an eighth while it is small (see [`SPARSE_SLOTS`]).
    fn insert(&mut self, hash: u64, count: u64, text: Box<str>) {
        let (used, slots) = (self.used + 1, self.slots.len());
        if used * 4 > slots * 3 || (slots < SPARSE_SLOTS && used * 8 > slots) {
            let n = (self.slots.len() * 2).max(FIRST_SLOTS);
            let slots = std::mem::replace(&mut self.slots, vec![(0, 0); n]);
            let texts = std::mem::replace(&mut self.texts, vec![Box::default(); n]);
            for ((hash, count), text) in slots.into_iter().zip(texts) {
                if count > 0 {
                    self.place(hash, count, text);
                }
            }
        }
        self.place(hash, count, text);
        self.used += 1;
    }

    /// Writes a value into its free slot.
    fn place(&mut self, hash: u64, count: u64, text: Box<str>) {
        let i = self.slot(hash);
        self.slots[i] = (hash, count);
        self.texts[i] = text;
    }

    /// The used slots: hash, count and text.
    fn entries(&self) -> impl Iterator<Item = (u64, u64, &str)> + '_ {
        self.slots
            .iter()
            .zip(&self.texts)
            .filter(|((_, count), _)| *count > 0)
            .map(|((hash, count), text)| (*hash, *count, &**text))
    }

    /// The hashes of the distinct values counted.
    pub fn hashes(&self) -> impl Iterator<Item = u64> + '_ {
        self.entries().map(|(hash, _, _)| hash)
    }

    /// Whether the values of both tables together are more than the cap.
    pub fn overflows_with(&self, other: &Self) -> bool {
        let new = other.hashes().filter(|h| self.find(*h).is_none()).count();
        self.used + new > self.cap
    }

    pub fn give_up(&mut self) {
        *self = Self::new(self.cap);
        self.given_up = true;
    }

    /// Takes in the counts of other values (the caller checks [`Self::overflows_with`] first).
    pub fn merge(&mut self, other: Self) {
        for ((hash, count), text) in other.slots.into_iter().zip(other.texts) {
            if count > 0 {
                self.put(hash, count, text);
            }
        }
    }

    /// Adds `count` to a value's count; `text`, when the value is new, is its first text.
    pub fn put(&mut self, hash: u64, count: u64, text: Box<str>) {
        match self.find(hash) {
            Some(i) => self.slots[i].1 += count,
            None => self.insert(hash, count, text),
        }
    }

    /// The `n` most frequent, most frequent first (ties by value).
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(&str, u64)> = self.entries().map(|(_, c, k)| (k, c)).collect();
        all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        all.into_iter()
            .take(n)
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    pub fn distinct(&self) -> usize {
        self.used
    }
}

/// [`hash_bits`]' seed and multipliers.
const BITS_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const BITS_M1: u64 = 0xff51_afd7_ed55_8ccd;
const BITS_M2: u64 = 0xc4ce_b9fe_1a85_ec53;

/// A 64-bit hash of a number's bits: `MurmurHash3`'s finalizer, seeded (two multiplies; every
/// output bit depends on every input bit, as the HLL needs). It is a bijection:
/// [`unhash_bits`] undoes it.
#[inline]
pub fn hash_bits(bits: u64) -> u64 {
    let mut x = bits ^ BITS_SEED;
    x ^= x >> 33;
    x = x.wrapping_mul(BITS_M1);
    x ^= x >> 33;
    x = x.wrapping_mul(BITS_M2);
    x ^ (x >> 33)
}

/// The bits [`hash_bits`] hashed: each step undone, last first (a shift by 33 undoes itself).
pub fn unhash_bits(hash: u64) -> u64 {
    /// The inverse of odd `m` modulo 2^64 (Newton's iteration doubles the bits that are right).
    const fn inverse(m: u64) -> u64 {
        let mut x = m;
        let mut i = 0;
        while i < 5 {
            x = x.wrapping_mul(2u64.wrapping_sub(m.wrapping_mul(x)));
            i += 1;
        }
        x
    }
    let mut x = hash ^ (hash >> 33);
    x = x.wrapping_mul(const { inverse(BITS_M2) });
    x ^= x >> 33;
    x = x.wrapping_mul(const { inverse(BITS_M1) });
    x ^= x >> 33;
    x ^ BITS_SEED
}

/// The seed of [`hash_text`]: fixed, so a file's sketches are the same on every run.
const TEXT_SEED: u64 = 0x2545_f491_4f6c_dd1d;

/// A 64-bit hash of a value's text (top values, distinct count, `in`): foldhash's quality
/// variant, which reads a text of up to 16 bytes in two loads and mixes it in two folded
/// multiplies.
#[inline]
pub fn hash_text(bytes: &[u8]) -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = foldhash::quality::FixedState::with_seed(TEXT_SEED).build_hasher();
    h.write(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn sample_quantiles_are_close_on_a_million_values() {
        let mut kll = Reservoir::default();
        let mut rng = fastrand::Rng::with_seed(7);
        let mut values: Vec<f64> = (0..1_000_000).map(|_| rng.f64() * 1000.0).collect();
        for v in &values {
            kll.add(*v);
        }
        values.sort_unstable_by(f64::total_cmp);
        let q = kll.quantiles(100, values[0], values[values.len() - 1]);
        assert_eq!(q.len(), 101);
        for (p, got) in q.iter().enumerate() {
            let exact = values[((p as f64 / 100.0) * (values.len() - 1) as f64) as usize];
            assert!((got - exact).abs() < 15.0, "q{p}: {got} vs {exact}");
        }
    }

    #[test]
    fn adding_a_batch_is_adding_its_values_one_by_one() {
        let mut rng = fastrand::Rng::with_seed(11);
        for cap in [1, 7, 64] {
            let (mut one, mut all) = (Reservoir::new(cap), Reservoir::new(cap));
            let (mut m1, mut m2) = (Moments::default(), Moments::default());
            // the values that are not NaN, added as an `int` column's are
            let (mut m3, mut m4) = (Moments::default(), Moments::default());
            let (mut three, mut four) = (Reservoir::new(cap), Reservoir::new(cap));
            for batch in 0..300 {
                let values: Vec<f64> = (0..rng.usize(0..40))
                    .map(|_| match rng.usize(0..50) {
                        0 if batch % 7 == 0 => f64::NAN,
                        _ => rng.f64() * 100.0 - 20.0,
                    })
                    .collect();
                for &x in &values {
                    one.add(x);
                    m1.add(x);
                }
                all.add_all(&values);
                m2.add_all(&values);
                let numbers: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
                for &x in &numbers {
                    m3.add(x);
                }
                m4.add_all_numbers(&numbers);
                for &x in &numbers {
                    three.add(x);
                }
                four.add_all_numbers(&numbers);
                assert_eq!((one.n, one.next), (all.n, all.next), "cap {cap}");
                assert_eq!(one.items, all.items, "cap {cap}");
                assert_eq!((three.n, three.next), (four.n, four.next), "cap {cap}");
                assert_eq!(three.items, four.items, "cap {cap}");
            }
            assert_eq!((m1.n, m3.n), (m2.n, m4.n));
            for (a, b) in [(&m1, &m2), (&m3, &m4)] {
                for (x, y) in [(a.min, b.min), (a.max, b.max), (a.mean(), b.mean())] {
                    assert_eq!(x.to_bits(), y.to_bits());
                }
                assert_eq!(a.std().map(f64::to_bits), b.std().map(f64::to_bits));
            }
        }
    }

    #[test]
    fn merged_moments_and_samples_are_those_of_all_the_values() {
        let mut rng = fastrand::Rng::with_seed(9);
        let values: Vec<f64> = (0..300_000).map(|_| 1e6 + rng.f64() * 100.0).collect();
        let (mut whole, mut whole_sample) = (Moments::default(), Reservoir::default());
        for v in &values {
            whole.add(*v);
            whole_sample.add(*v);
        }
        let mut parts: Vec<(Moments, Reservoir)> = Vec::new();
        for part in values.chunks(70_000) {
            let (mut m, mut r) = (Moments::default(), Reservoir::default());
            for v in part {
                m.add(*v);
                r.add(*v);
            }
            parts.push((m, r));
        }
        let (mut merged, mut sample) = (Moments::default(), Reservoir::default());
        for (m, r) in parts {
            merged.merge(&m);
            sample.merge(r);
        }
        assert_eq!(
            (merged.n, merged.min, merged.max),
            (whole.n, whole.min, whole.max)
        );
        assert!((merged.mean() - whole.mean()).abs() < 1e-6);
        assert!((merged.std().unwrap() - whole.std().unwrap()).abs() < 1e-6);
        let (a, b) = (
            sample.quantiles(10, whole.min, whole.max),
            whole_sample.quantiles(10, whole.min, whole.max),
        );
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 2.0, "{a:?} vs {b:?}");
        }
    }

    #[test]
    #[allow(clippy::cast_precision_loss)]
    fn hll_counts_distinct_values_within_a_few_percent() {
        for n in [10u64, 1_000, 200_000] {
            let mut hll = Hll::default();
            let mut numbers = Hll::default();
            for i in 0..n {
                hll.add_hash(hash_text(i.to_string().as_bytes()));
                hll.add_hash(hash_text(i.to_string().as_bytes()));
                numbers.add_hash(hash_bits((i as f64 * 0.5).to_bits()));
            }
            for est in [hll.estimate(), numbers.estimate()] {
                let err = est.abs_diff(n) as f64 / n as f64;
                assert!(err < 0.05, "{n}: estimated {est}");
            }
        }
    }

    #[test]
    #[allow(clippy::cast_precision_loss)]
    fn the_text_hash_leaves_the_distinct_count_unbiased_on_look_alike_texts() {
        // texts that differ in a few digits, short (one or two loads) and long (the block loop)
        let families: [fn(u64) -> String; 6] = [
            |i| format!("{i}"),
            |i| format!("c{i}"),
            |i| format!("city{}", i * 7),
            |i| format!("user{i}@example.com"),
            |i| format!("{i:016}"),
            |i| format!("2026-11-{:02}T{i:08}", i % 28 + 1),
        ];
        let n = 100_000u64;
        let mut total = 0.0;
        for family in families {
            let mut hll = Hll::default();
            for i in 0..n {
                hll.add_hash(hash_text(family(i).as_bytes()));
            }
            let err = (hll.estimate() as f64 - n as f64) / n as f64;
            assert!(err.abs() < 0.05, "{}: {err}", family(1));
            total += err;
        }
        // six estimates with a standard error of 1.6% each: their mean's is 0.65%
        assert!((total / 6.0).abs() < 0.02, "mean error {}", total / 6.0);
    }

    #[test]
    fn top_values_count_as_a_map_does_through_growth_and_merges() {
        let mut rng = fastrand::Rng::with_seed(5);
        for distinct in [1usize, 7, 300, 5_000] {
            // hashes that share their low bits (one slot, so they probe) and spread ones
            let hashes: Vec<u64> = (0..distinct)
                .map(|i| match i % 3 {
                    0 => rng.u64(..) << 16,
                    _ => rng.u64(..),
                })
                .collect();
            let (mut a, mut b) = (TopValues::new(10_000), TopValues::new(10_000));
            // count, and the first text in `a`, else in `b`
            let mut expected =
                std::collections::HashMap::<u64, (u64, Option<String>, String)>::new();
            for n in 0..20_000 {
                let h = hashes[rng.usize(0..distinct)];
                let text = format!("{h}-{n}");
                let e = expected.entry(h).or_insert((0, None, text.clone()));
                e.0 += 1;
                if n % 2 == 0 {
                    e.1.get_or_insert_with(|| text.clone());
                    assert!(a.add(h, &text));
                } else {
                    assert!(b.add(h, &text));
                }
            }
            assert!(!a.overflows_with(&b));
            a.merge(b);
            assert_eq!(a.distinct(), expected.len());
            // at most three quarters full (an eighth while small), and not sparser than that:
            // the fewest slots, doubling from the first, that hold the values so
            let slots = a.slots.len();
            assert!(a.used * 4 <= slots * 3, "{distinct} distinct");
            assert!(slots >= SPARSE_SLOTS || a.used * 8 <= slots, "{distinct}");
            let mut least = FIRST_SLOTS;
            while a.used * 4 > least * 3 || (least < SPARSE_SLOTS && a.used * 8 > least) {
                least *= 2;
            }
            assert_eq!(slots, least, "{distinct} distinct");
            let mut got: Vec<(u64, u64, String)> =
                a.entries().map(|(h, c, t)| (h, c, t.to_owned())).collect();
            let mut want: Vec<(u64, u64, String)> = expected
                .into_iter()
                .map(|(h, (c, in_a, first))| (h, c, in_a.unwrap_or(first)))
                .collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{distinct} distinct");
        }
    }

    #[test]
    fn top_values_give_up_past_the_cap() {
        let add = |top: &mut TopValues, v: &str| top.add(hash_text(v.as_bytes()), v);
        let mut full = TopValues::new(3);
        let mut top = TopValues::new(3);
        let mut other = TopValues::new(3);
        for v in ["a", "b", "a"] {
            add(&mut top, v);
        }
        for v in ["c", "a", "b"] {
            add(&mut other, v);
        }
        assert!(!top.overflows_with(&other));
        top.merge(other);
        assert_eq!(top.top(2), vec![("a".to_owned(), 3), ("b".to_owned(), 2)]);
        assert!(!add(&mut top, "d"));
        for v in ["x", "y", "z"] {
            assert!(add(&mut full, v));
        }
        assert!(top.overflows_with(&full));
    }
}
