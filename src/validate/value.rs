//! Values as the checks see them: a cell from any reader, and the parsing of numbers, booleans,
//! dates and date-times (days and seconds since 1970-01-01, UTC), and their formatting.

use std::fmt::Write as _;

/// One cell of a row, as a reader found it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Text(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i64),
    /// Seconds since 1970-01-01T00:00:00Z.
    Timestamp(f64),
}

impl<'a> Cell<'a> {
    /// The cell's text: borrowed for text, written into `buf` otherwise.
    pub fn text<'b>(&self, buf: &'b mut String) -> &'b str
    where
        'a: 'b,
    {
        match self {
            Self::Text(s) => s,
            other => {
                buf.clear();
                let _ = match other {
                    Self::Int(v) => write!(buf, "{v}"),
                    Self::Float(v) => write!(buf, "{v}"),
                    Self::Bool(v) => write!(buf, "{v}"),
                    Self::Date(d) => {
                        buf.push_str(&format_date(*d));
                        Ok(())
                    }
                    Self::Timestamp(t) => {
                        buf.push_str(&format_datetime(*t));
                        Ok(())
                    }
                    Self::Null | Self::Text(_) => Ok(()),
                };
                buf.as_str()
            }
        }
    }
}

/// Exact powers of ten as `f64`.
pub(super) const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A number as `str::parse::<f64>` reads it. Plain decimals of up to 15 digits (most data) take
/// Clinger's fast path: the digits and the power of ten are both exact as `f64`, so one
/// division rounds correctly; anything else goes to the standard parser.
#[inline]
pub fn parse_f64(s: &str) -> Option<f64> {
    parse_f64_bytes(s.as_bytes())
}

/// A number's sign and the bytes after it.
#[inline]
fn sign(b: &[u8]) -> (bool, &[u8]) {
    match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    }
}

/// Reads the decimal digits of `b` from `*at` on into `value`; `*at` ends at the first byte
/// that is not one.
#[inline]
fn read_digits(b: &[u8], at: &mut usize, value: &mut u64) {
    while let Some(d) = b.get(*at).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9) {
        *value = value.wrapping_mul(10).wrapping_add(u64::from(d));
        *at += 1;
    }
}

/// A number the fast paths leave to the standard parser: rare, so out of line (the fast paths
/// are then small enough to inline).
#[cold]
fn standard<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// [`parse_f64`] of a field's bytes (not UTF-8: `None`).
#[inline]
pub fn parse_f64_bytes(b: &[u8]) -> Option<f64> {
    let (negative, digits) = sign(b);
    let mut mantissa = 0u64;
    let mut i = 0;
    read_digits(digits, &mut i, &mut mantissa);
    let whole = i;
    if digits.get(i) == Some(&b'.') {
        i += 1;
        read_digits(digits, &mut i, &mut mantissa);
    }
    let count = i - usize::from(i > whole);
    let scale = count - whole;
    if i != digits.len() || count == 0 || count > 15 {
        return standard(b);
    }
    // at most 15 digits: as `i64` (one instruction to convert, where a `u64` takes six)
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_wrap)]
    let x = mantissa as i64 as f64 / POW10[scale];
    Some(if negative { -x } else { x })
}

/// A whole number as `str::parse::<i64>` reads it: a sign, then digits. Up to 18 digits cannot
/// overflow and are read here; longer ones go to the standard parser.
#[inline]
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    let (negative, digits) = sign(b);
    if digits.is_empty() || digits.len() > 18 {
        return standard(b);
    }
    let (mut v, mut at) = (0u64, 0);
    read_digits(digits, &mut at, &mut v);
    if at != digits.len() {
        return None;
    }
    // below 10^18: it fits
    let v = i64::try_from(v).ok()?;
    Some(if negative { -v } else { v })
}

/// `true`/`false` in any case, `1`/`0`, `yes`/`no`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.len() {
        1 => match s {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        },
        2..=5 => {
            if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("yes") {
                Some(true)
            } else if s.eq_ignore_ascii_case("false") || s.eq_ignore_ascii_case("no") {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
#[allow(clippy::many_single_char_names)]
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[allow(clippy::many_single_char_names)]
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DD` → days since 1970-01-01.
#[allow(clippy::many_single_char_names)]
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `YYYY-MM-DD[T| ]HH:MM[:SS[.fff]][Z|±HH:MM]` → seconds since the epoch, UTC (no zone: UTC).
#[allow(clippy::cast_precision_loss)]
pub fn parse_datetime(s: &str) -> Option<f64> {
    let days = parse_date(s.get(..10)?)?;
    let rest = s.get(10..)?;
    if rest.is_empty() {
        return Some(days as f64 * 86_400.0);
    }
    let b = rest.as_bytes();
    if !(b[0] == b'T' || b[0] == b't' || b[0] == b' ') || b.len() < 6 || b[3] != b':' {
        return None;
    }
    let (h, mi) = (digits(&b[1..3])?, digits(&b[4..6])?);
    let mut at = 6;
    let mut secs = 0.0;
    if b.get(at) == Some(&b':') {
        let end = b[at + 1..]
            .iter()
            .position(|c| !(c.is_ascii_digit() || *c == b'.'))
            .map_or(b.len(), |p| at + 1 + p);
        secs = rest.get(at + 1..end)?.parse::<f64>().ok()?;
        at = end;
    }
    let offset = match &b[at..] {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let o = digits(&[*h1, *h2])? * 3600 + digits(&[*m1, *m2])? * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    if h > 23 || mi > 59 || !(0.0..61.0).contains(&secs) {
        return None;
    }
    Some(days as f64 * 86_400.0 + (h * 3600 + mi * 60 - offset) as f64 + secs)
}

pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

#[allow(clippy::cast_possible_truncation)]
pub fn format_datetime(secs: f64) -> String {
    let whole = secs.floor() as i64;
    let days = whole.div_euclid(86_400);
    let rem = whole.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(days),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_read_as_the_standard_parser() {
        let mut rng = fastrand::Rng::with_seed(4);
        // signs, blanks, other forms of numbers, the edges of i64, a non-ASCII digit
        let mut texts: Vec<String> = "0|-0|+0|+|-|| 1|1 |1.0|1e3|--1|+-1|007|999999999999999999|\
             -999999999999999999|9223372036854775807|9223372036854775808|-9223372036854775808|\
             -9223372036854775809|00000000000000000000001|\u{661}"
            .split('|')
            .map(str::to_owned)
            .collect();
        for _ in 0..100_000 {
            let v = rng.i64(..) >> rng.u32(0..63);
            texts.push(v.to_string());
        }
        for t in &texts {
            assert_eq!(parse_i64(t.as_bytes()), t.parse::<i64>().ok(), "{t}");
        }
    }

    #[test]
    fn the_fast_float_path_reads_as_the_standard_parser() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "1.",
            ".5",
            "-.5",
            "+2.25",
            "123456789012345",
            "1234567890123456",
            "0.1",
            "1e5",
            "nan",
            "inf",
            "-",
            ".",
            "1.2.3",
            "",
            "  1",
            "0.30000000000000004",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for _ in 0..100_000 {
            let width = rng.u32(1..16);
            let digits = rng.u64(0..10u64.pow(width));
            let text = digits.to_string();
            let cut = rng.usize(0..=text.len());
            texts.push(format!(
                "{}{}.{}",
                ["", "-"][rng.usize(0..2)],
                &text[..cut],
                &text[cut..]
            ));
        }
        for t in &texts {
            let fast = parse_f64(t);
            let std = t.parse::<f64>().ok();
            assert_eq!(fast.map(f64::to_bits), std.map(f64::to_bits), "{t}");
        }
    }

    #[test]
    fn dates_parse_and_format_round_trip() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-02-29"), Some(11_016));
        assert_eq!(parse_date("2001-02-29"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("24-01-01"), None);
        assert_eq!(format_date(11_016), "2000-02-29");
        assert_eq!(parse_datetime("1970-01-02T00:00:01Z"), Some(86_401.0));
        assert_eq!(parse_datetime("1970-01-01 01:00:00+01:00"), Some(0.0));
        assert_eq!(parse_datetime("1970-01-01T00:00:00.5"), Some(0.5));
        assert_eq!(parse_datetime("1970-01-01T25:00:00"), None);
        assert_eq!(format_datetime(86_401.0), "1970-01-02T00:00:01Z");
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
