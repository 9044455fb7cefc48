//! Numbers of up to eight bytes read from one 64-bit word (four to eight bytes by SWAR: a few
//! shifts, masks and multiplies instead of a loop over the digits; up to three digits one by
//! one), as [`parse_i64`](super::value::parse_i64)
//! and [`parse_f64_bytes`](super::value::parse_f64_bytes) read them. A field's word is its
//! first eight bytes, little-endian (the first byte lowest), with whatever follows the field
//! in the rest; a `None` here means "not read this way", and the caller then asks the byte
//! parser, which has the last word. Uses nothing else of the crate but the powers of ten.

use super::value::POW10;

/// A `0` in each byte.
const ZEROS: u64 = 0x3030_3030_3030_3030;
/// A `.` in each byte.
const DOTS: u64 = 0x2e2e_2e2e_2e2e_2e2e;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// A field's sign, taken off: whether it is `-`, and the word and length after it. `len` is
/// at least 1.
#[inline]
fn unsigned(word: u64, len: usize) -> (bool, u64, usize) {
    let first = word.to_le_bytes()[0];
    let negative = first == b'-';
    let skip = usize::from(negative || first == b'+');
    (negative, word >> (8 * skip), len - skip)
}

/// The `n` bytes (1 to 8) of `word` moved to its top, after as many `0`s as make eight digits
/// (leading zeros: the first byte is the highest digit).
#[inline]
fn aligned(word: u64, n: usize) -> u64 {
    // the second shift of the zeros keeps each shift under 64 when `n` is 8
    (word << (64 - 8 * n)) | ((ZEROS >> (8 * n - 1)) >> 1)
}

/// A field of `len` bytes in `word`: whether it is negative, its bytes after the sign
/// [`aligned`], and how many they are; `None` when they are none or the field is longer than
/// the word.
#[inline]
fn text(word: u64, len: usize) -> Option<(bool, u64, usize)> {
    if len == 0 || len > 8 {
        return None;
    }
    let (negative, word, n) = unsigned(word, len);
    (n > 0).then(|| (negative, aligned(word, n), n))
}

/// The high bit of each byte of `word` that is zero, and nothing else (no carry crosses bytes).
#[inline]
fn zero_bytes(word: u64) -> u64 {
    !(((word & LOW7) + LOW7) | word) & HIGH
}

/// Whether each of the eight bytes is an ASCII digit.
#[inline]
fn all_digits(word: u64) -> bool {
    // a digit's high half is 3, and stays 3 with 6 added; a carry out of a byte can only come
    // from one that already failed the first test
    (word & 0xf0f0_f0f0_f0f0_f0f0)
        | ((word.wrapping_add(0x0606_0606_0606_0606) & 0xf0f0_f0f0_f0f0_f0f0) >> 4)
        == 0x3333_3333_3333_3333
}

/// The value of eight ASCII digits, the first byte the highest: pairs, then fours, then all.
#[inline]
fn eight_digits(word: u64) -> u64 {
    const PAIRS: u64 = 0x0000_00ff_0000_00ff;
    const HUNDREDS: u64 = 100 + (1_000_000 << 32);
    const ONES: u64 = 1 + (10_000 << 32);
    let v = word - ZEROS;
    let v = v * 10 + (v >> 8);
    ((v & PAIRS).wrapping_mul(HUNDREDS)).wrapping_add(((v >> 16) & PAIRS).wrapping_mul(ONES)) >> 32
}

/// A whole number in `word`, of `len` bytes: one of up to three digits digit by digit, one of
/// four to eight bytes (sign included) by masks and multiplies, which cost more than they save
/// on so short a number (1.055 G instructions on the benchmark's 40 MB slice, against 1.012 G).
#[inline]
pub fn int_in_word(word: u64, len: usize) -> Option<i64> {
    if len < 4 {
        short_int_in_word(word, len)
    } else {
        long_int_in_word(word, len)
    }
}

/// A decimal in `word`, of `len` bytes: one of up to three bytes only when it is a whole
/// number of digits (others go to the byte parser), one of four to eight bytes by masks.
#[inline]
pub fn float_in_word(word: u64, len: usize) -> Option<f64> {
    if len < 4 {
        #[allow(clippy::cast_precision_loss)]
        short_int_in_word(word, len).map(|v| v as f64)
    } else {
        long_float_in_word(word, len)
    }
}

/// A whole number of at most eight bytes (sign included) in `word`, of `len` bytes.
#[inline]
fn long_int_in_word(word: u64, len: usize) -> Option<i64> {
    let (negative, digits, _) = text(word, len)?;
    if !all_digits(digits) {
        return None;
    }
    // below 10^8: it fits
    #[allow(clippy::cast_possible_wrap)]
    let v = eight_digits(digits) as i64;
    Some(if negative { -v } else { v })
}

/// A whole number of one to three digits, no sign, in `word`, of `len` bytes: each digit on its
/// own.
#[inline]
fn short_int_in_word(word: u64, len: usize) -> Option<i64> {
    // a byte under `0` borrows from the next, which is then not looked at: the check stops
    // at the first byte that is not a digit
    let d = word.wrapping_sub(ZEROS).to_le_bytes();
    let digit = |i: usize| (d[i] <= 9).then(|| i64::from(d[i]));
    match len {
        1 => digit(0),
        2 => Some(digit(0)? * 10 + digit(1)?),
        3 => Some(digit(0)? * 100 + digit(1)? * 10 + digit(2)?),
        _ => None,
    }
}

/// A decimal of at most eight bytes (sign and point included) in `word`, of `len` bytes: the
/// digits are exact as `f64`, and so is the power of ten, so one division rounds correctly.
#[inline]
fn long_float_in_word(word: u64, len: usize) -> Option<f64> {
    let (negative, text, n) = text(word, len)?;
    let dots = zero_bytes(text ^ DOTS);
    let (digits, scale) = if dots == 0 {
        (text, 0)
    } else {
        // one point, and a digit besides it
        if dots & (dots - 1) != 0 || n == 1 {
            return None;
        }
        // the point's byte: the digits above it are the fraction's
        let at = dots.trailing_zeros() / 8;
        let below = (1u64 << (8 * at)) - 1;
        let above = (u64::MAX << (8 * at)) << 8;
        // the point taken out, the bytes below it moved up, a leading `0` in their place
        (
            (text & above) | ((text & below) << 8) | 0x30,
            7 - at as usize,
        )
    };
    if !all_digits(digits) {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let x = eight_digits(digits) as f64 / POW10[scale];
    Some(if negative { -x } else { x })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::value::{parse_f64_bytes, parse_i64};

    /// `text`'s word as a field of a chunk, with `after` past its end.
    fn word(text: &[u8], after: u8) -> u64 {
        let mut bytes = [after; 8];
        let n = text.len().min(8);
        bytes[..n].copy_from_slice(&text[..n]);
        u64::from_le_bytes(bytes)
    }

    #[test]
    fn eight_digits_and_their_checks() {
        assert_eq!(eight_digits(u64::from_le_bytes(*b"12345678")), 12_345_678);
        assert_eq!(eight_digits(u64::from_le_bytes(*b"00000009")), 9);
        assert!(all_digits(u64::from_le_bytes(*b"09876543")));
        for bad in [
            b"1234567/",
            b"1234567:",
            b"a2345678",
            b"\xff2345678",
            b" 1234567",
        ] {
            assert!(!all_digits(u64::from_le_bytes(*bad)), "{bad:?}");
        }
        assert_eq!(
            zero_bytes(u64::from_le_bytes(*b"12.45\x006\x80") ^ DOTS),
            0x80 << 16
        );
    }

    /// Every text the word way reads, it reads as the byte parsers do; and it reads the plain
    /// numbers of up to eight bytes, the case it is for.
    #[test]
    fn words_read_as_the_byte_parsers() {
        let mut rng = fastrand::Rng::with_seed(8);
        let alphabet = b"0123456789.-+e ,\"x\x80";
        let mut texts: Vec<Vec<u8>> = [
            "0",
            "-0",
            "+0",
            "-",
            "+",
            ".",
            "-.",
            "+.",
            "1.",
            ".5",
            "-.5",
            "+2.25",
            "1..2",
            "1.2.3",
            "99999999",
            "-9999999",
            "9999999.",
            ".9999999",
            "-.999999",
            "123456789",
            "1e5",
            "00000000",
            "-0.0",
            "--1",
            "+-1",
            "1-",
            "1 ",
            " 1",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for _ in 0..200_000 {
            let len = rng.usize(0..=10);
            let text = if rng.bool() {
                // a number, maybe signed, maybe with a point
                let mut t = rng.u64(0..100_000_000).to_string();
                t.truncate(len.max(1));
                if rng.bool() {
                    t.insert(rng.usize(0..=t.len()), '.');
                }
                if rng.bool() {
                    t.insert(0, ['-', '+'][rng.usize(0..2)]);
                }
                t.into_bytes()
            } else {
                (0..len)
                    .map(|_| alphabet[rng.usize(0..alphabet.len())])
                    .collect()
            };
            texts.push(text);
        }
        let mut read = (0, 0, 0);
        for t in &texts {
            for after in [b'0', b'.', b'-', b'\n', b'9'] {
                let w = word(t, after);
                if let Some(v) = short_int_in_word(w, t.len()) {
                    assert_eq!(Some(v), parse_i64(t), "{:?}", String::from_utf8_lossy(t));
                    read.2 += 1;
                }
                if let Some(v) = long_int_in_word(w, t.len()) {
                    assert_eq!(Some(v), parse_i64(t), "{:?}", String::from_utf8_lossy(t));
                    read.0 += 1;
                }
                // the readers the loops call, which pick one of those by length
                if let Some(v) = int_in_word(w, t.len()) {
                    assert_eq!(Some(v), parse_i64(t), "{:?}", String::from_utf8_lossy(t));
                }
                if let Some(x) = float_in_word(w, t.len()) {
                    let bytes = parse_f64_bytes(t).map(f64::to_bits);
                    assert_eq!(Some(x.to_bits()), bytes, "{:?}", String::from_utf8_lossy(t));
                }
                if let Some(x) = long_float_in_word(w, t.len()) {
                    let bytes = parse_f64_bytes(t).map(f64::to_bits);
                    assert_eq!(Some(x.to_bits()), bytes, "{:?}", String::from_utf8_lossy(t));
                    read.1 += 1;
                }
            }
            // a plain number of up to eight bytes is read this way
            let plain = t.len() <= 8
                && bytecount::count(t, b'.') <= 1
                && t.iter().any(u8::is_ascii_digit)
                && t.iter()
                    .skip(usize::from(matches!(t.first(), Some(b'-' | b'+'))))
                    .all(|b| b.is_ascii_digit() || *b == b'.');
            if plain {
                assert!(
                    long_float_in_word(word(t, b'x'), t.len()).is_some(),
                    "{t:?}"
                );
            }
            if (1..=3).contains(&t.len()) && t.iter().all(u8::is_ascii_digit) {
                assert!(short_int_in_word(word(t, b'x'), t.len()).is_some(), "{t:?}");
            }
        }
        assert!(
            read.0 > 100_000 && read.1 > 200_000 && read.2 > 10_000,
            "{read:?}"
        );
    }
}
