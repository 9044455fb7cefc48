//! The allowed values of a column's `in`, compared as texts: a few in a small table by hash,
//! then bytes compared in line (a call to `memcmp` costs more than a short text's compare);
//! many in a hash set. In an `int` column whose allowed values are all written as `i64` writes
//! them, a cell is compared by its parsed value and its length instead of its text (a table
//! look-up when the values are near one another).

use ahash::HashSet;

use crate::validate::sketch::hash_text;

/// The allowed values of `in`.
#[derive(Debug, Clone)]
pub(super) struct Allowed {
    texts: Texts,
    /// The values as whole numbers, when every one is written as `i64` writes it (no sign but
    /// `-`, no leading zero).
    ints: Option<Ints>,
}

/// `in`'s values as whole numbers, each with the length of its text.
#[derive(Debug, Clone)]
enum Ints {
    /// Values less than 64 apart (the least at most `i64::MAX - 64`, so that a value's
    /// distance from it, wrapped to `u64`, is under 64 only when it is truly): entry `v -
    /// least` is the length of `v`'s text, 0 for a value not allowed. A look-up is a compare
    /// and a load.
    Near { least: i64, lengths: [u8; 64] },
    /// Each value and its length, compared one by one.
    List(Vec<(i64, usize)>),
}

impl Ints {
    fn new(list: Vec<(i64, usize)>) -> Self {
        let least = list.iter().map(|(v, _)| *v).min().unwrap_or(0);
        let near = least <= i64::MAX - 64 && list.iter().all(|(v, _)| v.abs_diff(least) < 64);
        if !near {
            return Self::List(list);
        }
        let mut lengths = [0u8; 64];
        for (v, n) in list {
            #[allow(clippy::cast_possible_truncation)]
            {
                // at most 20 characters
                lengths[v.abs_diff(least) as usize] = n as u8;
            }
        }
        Self::Near { least, lengths }
    }

    /// Whether a cell of length `len` read as `value` is allowed.
    #[inline]
    fn contains(&self, value: i64, len: usize) -> bool {
        match self {
            #[allow(clippy::cast_sign_loss)]
            Self::Near { least, lengths } => {
                let at = value.wrapping_sub(*least) as u64;
                at < 64 && usize::from(lengths[(at & 63) as usize]) == len
            }
            Self::List(ints) => ints.iter().any(|&(v, n)| v == value && n == len),
        }
    }

    /// Whether `value`, written as `i64` writes it, is allowed.
    #[inline]
    fn contains_value(&self, value: i64) -> bool {
        match self {
            #[allow(clippy::cast_sign_loss)]
            Self::Near { least, lengths } => {
                let at = value.wrapping_sub(*least) as u64;
                at < 64 && lengths[(at & 63) as usize] != 0
            }
            Self::List(ints) => ints.iter().any(|&(v, _)| v == value),
        }
    }
}

#[derive(Debug, Clone)]
enum Texts {
    /// A few values, each with its [`hash_text`], in a table where bits `shift..` of a value's
    /// hash (masked by `mask`) are its slot and no two values share one: a look-up is one slot,
    /// with no branch on which value a text is (a scan of a list mispredicts about once a
    /// text when the values come in no order).
    Few {
        slots: Vec<Option<(u64, Box<str>)>>,
        shift: u32,
        mask: u64,
    },
    Many(HashSet<Box<[u8]>>),
}

/// The most values kept in a [`Texts::Few`] table.
const FEW: usize = 16;

impl Texts {
    fn new(mut list: Vec<String>) -> Self {
        // a value listed twice takes one slot
        list.sort_unstable();
        list.dedup();
        if list.len() <= FEW {
            let hashes: Vec<u64> = list.iter().map(|v| hash_text(v.as_bytes())).collect();
            // two slots a value or more; a shift that leaves no two in one slot
            for bits in list.len().max(1).ilog2() + 1..=10 {
                let mask = (1u64 << bits) - 1;
                for shift in 0..=64 - bits {
                    let mut taken = vec![false; 1 << bits];
                    let apart = hashes.iter().all(|h| {
                        let i = slot(*h, shift, mask);
                        !std::mem::replace(&mut taken[i], true)
                    });
                    if apart {
                        let mut slots = vec![None; 1 << bits];
                        for (v, h) in list.into_iter().zip(hashes) {
                            slots[slot(h, shift, mask)] = Some((h, v.into_boxed_str()));
                        }
                        return Self::Few { slots, shift, mask };
                    }
                }
            }
        }
        // many values, or a few of which two share a hash
        Self::Many(list.into_iter().map(|v| v.into_bytes().into()).collect())
    }
}

/// Slot of `hash` in a [`Texts::Few`] table.
#[inline]
#[allow(clippy::cast_possible_truncation)]
fn slot(hash: u64, shift: u32, mask: u64) -> usize {
    ((hash >> shift) & mask) as usize
}

impl Allowed {
    pub(super) fn new(values: impl Iterator<Item = String>) -> Self {
        let list: Vec<String> = values.collect();
        let ints = list
            .iter()
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .filter(|i| i.to_string() == *v)
                    .map(|i| (i, v.len()))
            })
            .collect::<Option<Vec<_>>>();
        Self {
            texts: Texts::new(list),
            ints: ints.map(Ints::new),
        }
    }

    /// Whether the text of bytes `text` is allowed; `hash`: its [`hash_text`], when at hand.
    #[inline]
    pub(super) fn contains(&self, text: &[u8], hash: Option<u64>) -> bool {
        match hash {
            Some(h) => self.contains_hashed(text, h),
            None => self.contains_hashed(text, hash_text(text)),
        }
    }

    /// [`Self::contains`] of a text whose [`hash_text`] is `hash`: a few values' look-up in
    /// line (it is a slot and a compare), many values' out of line.
    // measured: left to itself the compiler calls it out of line, once a cell
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub(super) fn contains_hashed(&self, text: &[u8], hash: u64) -> bool {
        match &self.texts {
            Texts::Few { slots, shift, mask } => matches!(&slots[slot(hash, *shift, *mask)],
                    Some((k, a)) if *k == hash && same(a.as_bytes(), text)),
            Texts::Many(set) => many_contains(set, text),
        }
    }

    /// Whether the text of bytes `text` is allowed: by [`Self::contains_int`] when it is a
    /// cell of an `int` column (`int`: its value), else by [`Self::contains`].
    // measured: left to itself the compiler calls it out of line, once a cell
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub(super) fn allows(&self, text: &[u8], int: Option<i64>, hash: Option<u64>) -> bool {
        match int {
            Some(value) => self.contains_int(text, value),
            None => self.contains(text, hash),
        }
    }

    /// Whether `text`, read as the whole number `value`, is allowed. With every allowed value
    /// written as `i64` writes it, the text is one of them when it has the value and the
    /// length of one: any other text of a number (`+7`, `07`, `-0`) is longer than the
    /// number's own.
    #[inline]
    pub(super) fn contains_int(&self, text: &[u8], value: i64) -> bool {
        match &self.ints {
            Some(ints) => ints.contains(value, text.len()),
            None => self.contains(text, None),
        }
    }

    /// Whether a whole number that a reader typed (its text is the one `i64` writes) is
    /// allowed, with no text made; `None` when a value of `in` is written otherwise, and only
    /// the texts can be compared.
    #[inline]
    pub(super) fn contains_typed_int(&self, value: i64) -> Option<bool> {
        self.ints.as_ref().map(|ints| ints.contains_value(value))
    }
}

#[inline(never)]
fn many_contains(set: &HashSet<Box<[u8]>>, text: &[u8]) -> bool {
    set.contains(text)
}

/// Whether two texts are the same, compared in line up to 16 bytes: two loads of each that
/// overlap in the middle cover every byte.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word4 = |t: &[u8], at: usize| {
        t.get(at..at + 4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
    };
    let word8 = |t: &[u8], at: usize| {
        t.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes)
    };
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=8 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        9..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_compare_as_equal_slices_do() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..20_000 {
            let n = rng.usize(0..24);
            let a: Vec<u8> = (0..n).map(|_| rng.u8(b'a'..b'd')).collect();
            let mut b = a.clone();
            match rng.usize(0..3) {
                0 => {}
                1 if n > 0 => b[rng.usize(0..n)] = rng.u8(b'a'..b'e'),
                _ => b.truncate(rng.usize(0..=n)),
            }
            assert_eq!(same(&a, &b), a == b, "{a:?} {b:?}");
        }
    }

    #[test]
    fn texts_are_allowed_as_the_list_says() {
        let mut rng = fastrand::Rng::with_seed(5);
        let word = |rng: &mut fastrand::Rng| -> String {
            (0..rng.usize(0..12)).map(|_| rng.char('a'..'e')).collect()
        };
        for _ in 0..2_000 {
            let list: Vec<String> = (0..rng.usize(0..=20)).map(|_| word(&mut rng)).collect();
            let allowed = Allowed::new(list.iter().cloned());
            let distinct: HashSet<&String> = list.iter().collect();
            assert_eq!(
                matches!(allowed.texts, Texts::Few { .. }),
                distinct.len() <= FEW,
                "{list:?}"
            );
            for _ in 0..20 {
                let text = if rng.bool() && !list.is_empty() {
                    list[rng.usize(..list.len())].clone()
                } else {
                    word(&mut rng)
                };
                let listed = distinct.contains(&text);
                let hash = hash_text(text.as_bytes());
                assert_eq!(
                    allowed.contains(text.as_bytes(), Some(hash)),
                    listed,
                    "{list:?} {text}"
                );
                assert_eq!(
                    allowed.contains(text.as_bytes(), None),
                    listed,
                    "{list:?} {text}"
                );
            }
        }
    }

    #[test]
    fn whole_numbers_are_allowed_as_their_texts_are() {
        // the first four compared one by one, the next three near one another (a table), the
        // last three not whole numbers as `i64` writes them (compared as texts)
        let lists: [&[&str]; 10] = [
            &[
                "0",
                "1",
                "-5",
                "9223372036854775807",
                "-9223372036854775808",
            ],
            &["0", "64"],
            &["9223372036854775807"],
            &["9223372036854775744", "9223372036854775745"],
            &["0", "1"],
            &["-5", "7", "58", "12", "2"],
            &["-9223372036854775808", "-9223372036854775800"],
            &["0", "07", "+7"],
            &["1", "x", "2"],
            &["-0", "12"],
        ];
        let cells = [
            "0",
            "-0",
            "+0",
            "00",
            "1",
            "01",
            "+1",
            "-5",
            "-05",
            "7",
            "07",
            "+7",
            "12",
            "012",
            "9223372036854775807",
            "+9223372036854775807",
            "-9223372036854775808",
            "-9223372036854775800",
            "9223372036854775744",
            "9223372036854775745",
            "2",
            "58",
            "64",
            "-64",
        ];
        for (i, list) in lists.into_iter().enumerate() {
            let allowed = Allowed::new(list.iter().map(|v| (*v).to_owned()));
            match (&allowed.ints, i) {
                (Some(Ints::List(_)), 0..4) | (Some(Ints::Near { .. }), 4..7) | (None, 7..) => {}
                (ints, _) => panic!("{list:?}: {ints:?}"),
            }
            let many = Allowed::new(
                list.iter()
                    .map(|v| (*v).to_owned())
                    .chain((100..120).map(|i| i.to_string())),
            );
            for cell in cells {
                let value = crate::validate::value::parse_i64(cell.as_bytes()).unwrap();
                let listed = list.contains(&cell);
                assert_eq!(
                    allowed.contains_int(cell.as_bytes(), value),
                    listed,
                    "{list:?} {cell}"
                );
                assert_eq!(
                    many.contains_int(cell.as_bytes(), value),
                    listed,
                    "{list:?} {cell}"
                );
                let hash = Some(hash_text(cell.as_bytes()));
                assert_eq!(
                    allowed.contains(cell.as_bytes(), hash),
                    listed,
                    "{list:?} {cell}"
                );
                // a value a reader typed: its text is the one `i64` writes
                let written = list.contains(&value.to_string().as_str());
                for a in [&allowed, &many] {
                    match (a.contains_typed_int(value), i) {
                        (Some(yes), 0..7) => assert_eq!(yes, written, "{list:?} {value}"),
                        // a value not written as `i64` writes it: the texts are compared
                        (None, 7..) => {}
                        (got, _) => panic!("{list:?} {value}: {got:?}"),
                    }
                }
            }
        }
    }
}
