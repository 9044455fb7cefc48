//! The CSV tokenizer of one chunk: each record's fields as spans of the chunk, appended to one
//! [`Fields`], found eight bytes at a time in a chunk without quotes, else with `memchr`.
//! As RFC 4180 and the `csv` crate read them: a quote opens a quoted field only at its start,
//! `""` in one is a quote, a quoted field may hold delimiters and newlines, text after its
//! closing quote is kept, `\r\n` ends a record as `\n` does, and empty lines are skipped.

/// Where a field is: in the chunk, or (a quoted field with `""` in it) in the record's scratch.
/// Eight bytes: a chunk is at most 256 MB, so the top bit of `start` can say which.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

const OWNED: u32 = 1 << 31;

impl Span {
    #[allow(clippy::cast_possible_truncation)]
    #[inline]
    fn new(start: usize, end: usize, owned: bool) -> Self {
        Self {
            start: start as u32 | if owned { OWNED } else { 0 },
            end: end as u32,
        }
    }

    #[inline]
    fn owned(self) -> bool {
        self.start & OWNED != 0
    }

    #[inline]
    fn range(self) -> std::ops::Range<usize> {
        (self.start & !OWNED) as usize..self.end as usize
    }
}

/// The fields of the records read into it, one after another.
#[derive(Debug, Default)]
pub struct Fields {
    spans: Vec<Span>,
    scratch: Vec<u8>,
}

impl Fields {
    /// The number of fields read into it.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn clear(&mut self) {
        self.spans.clear();
        self.scratch.clear();
    }

    /// Forgets the fields from `len` on (a record set aside).
    pub fn truncate(&mut self, len: usize) {
        self.spans.truncate(len);
    }

    /// Field `i`'s bytes; `data` is the chunk the record was read from.
    #[inline]
    pub fn field<'a>(&'a self, data: &'a [u8], i: usize) -> &'a [u8] {
        let s = self.spans[i];
        if s.owned() {
            &self.scratch[s.range()]
        } else {
            &data[s.range()]
        }
    }

    /// Field `i` as text when `text` is the whole chunk, already checked to be UTF-8.
    #[inline]
    pub fn field_text<'a>(&'a self, text: &'a str, i: usize) -> Option<&'a str> {
        let s = self.spans[i];
        if s.owned() {
            std::str::from_utf8(&self.scratch[s.range()]).ok()
        } else {
            text.get(s.range())
        }
    }
}

/// The records of one chunk, in order, each with the line it starts on.
#[derive(Debug)]
pub struct Records<'a> {
    data: &'a [u8],
    pos: usize,
    line: u64,
    delimiter: u8,
    quote: u8,
    /// The chunk has no quote at all: every record is a line split at its delimiters.
    plain: bool,
}

/// Splits `line` (at `base` in the chunk, no quotes in it) at each `delimiter` into `spans`,
/// eight bytes at a time: a byte equal to the delimiter is a zero byte of the word XOR the
/// delimiter repeated, found exactly by the carry-free test below.
fn split_plain(line: &[u8], base: usize, delimiter: u8, spans: &mut Vec<Span>) {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const SEVEN: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let pattern = LOW * u64::from(delimiter);
    let mut start = 0;
    let mut push = |from: usize, to: usize| {
        spans.push(Span::new(base + from, base + to, false));
    };
    let mut words = line.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let w = u64::from_le_bytes(bytes) ^ pattern;
        // the high bit of each byte of `w` that is zero
        let mut hits = !(((w & SEVEN) + SEVEN) | w) & HIGH;
        while hits != 0 {
            let k = at + (hits.trailing_zeros() / 8) as usize;
            push(start, k);
            start = k + 1;
            hits &= hits - 1;
        }
        at += 8;
    }
    for (j, b) in words.remainder().iter().enumerate() {
        if *b == delimiter {
            push(start, at + j);
            start = at + j + 1;
        }
    }
    push(start, line.len());
}

impl<'a> Records<'a> {
    /// The records of `data`, whose first byte is on line `line`; `quoted`: whether `data` may
    /// hold a quote (the splitter has looked).
    pub fn new(data: &'a [u8], line: u64, delimiter: u8, quote: u8, quoted: bool) -> Self {
        Self {
            data,
            pos: 0,
            line,
            delimiter,
            quote,
            plain: !quoted,
        }
    }

    /// Where reading stopped, and the line there.
    pub fn position(&self) -> (usize, u64) {
        (self.pos, self.line)
    }

    /// Skips newlines; `false` at the end.
    fn skip_empty(&mut self) -> bool {
        let d = self.data;
        while self.pos < d.len() {
            match d[self.pos] {
                b'\n' => self.line += 1,
                b'\r' if d.get(self.pos + 1).is_none_or(|b| *b == b'\n') => {}
                _ => return true,
            }
            self.pos += 1;
        }
        false
    }

    /// A quoted field from `self.pos` (its opening quote), up to its delimiter or record end.
    fn quoted(&mut self, fields: &mut Fields) -> Span {
        let d = self.data;
        let q = self.quote;
        let start = self.pos + 1;
        let mut at = start;
        let mut escaped = false;
        let end = loop {
            match memchr::memchr(q, &d[at..]) {
                None => break d.len(),
                Some(k) if d.get(at + k + 1) == Some(&q) => {
                    escaped = true;
                    at += k + 2;
                }
                Some(k) => break at + k,
            }
        };
        self.line += memchr::memchr_iter(b'\n', &d[start..end]).count() as u64;
        self.pos = (end + 1).min(d.len());
        // text after the closing quote, up to the delimiter or the record's end, is kept
        let rest_end = memchr::memchr2(self.delimiter, b'\n', &d[self.pos..])
            .map_or(d.len(), |k| self.pos + k);
        let rest_end = if rest_end > self.pos && d[rest_end - 1] == b'\r' {
            rest_end - 1
        } else {
            rest_end
        };
        let rest = &d[self.pos..rest_end];
        if !escaped && rest.is_empty() {
            self.pos = rest_end;
            return Span::new(start, end, false);
        }
        let from = fields.scratch.len();
        let mut inside = &d[start..end];
        while let Some(k) = memchr::memchr(q, inside) {
            fields.scratch.extend_from_slice(&inside[..=k]);
            inside = &inside[(k + 2).min(inside.len())..];
        }
        fields.scratch.extend_from_slice(inside);
        fields.scratch.extend_from_slice(rest);
        self.pos = rest_end;
        Span::new(from, fields.scratch.len(), true)
    }

    /// The next record's fields, added to `record`, and the line it starts on.
    pub fn next_record(&mut self, fields: &mut Fields) -> Option<u64> {
        if !self.skip_empty() {
            return None;
        }
        let first_line = self.line;
        let d = self.data;
        if self.plain {
            let start = self.pos;
            let end = memchr::memchr(b'\n', &d[start..]).map_or(d.len(), |k| start + k);
            let text_end = if end > start && d[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            split_plain(
                &d[start..text_end],
                start,
                self.delimiter,
                &mut fields.spans,
            );
            self.pos = (end + 1).min(d.len());
            self.line += 1;
            return Some(first_line);
        }
        loop {
            let span = if self.pos < d.len() && d[self.pos] == self.quote {
                self.quoted(fields)
            } else {
                // fields are short: a plain loop beats a vectorized search's set-up
                let start = self.pos;
                let mut end = start;
                while end < d.len() && d[end] != self.delimiter && d[end] != b'\n' {
                    end += 1;
                }
                self.pos = end;
                let end =
                    if end > start && d[end - 1] == b'\r' && d.get(end) != Some(&self.delimiter) {
                        end - 1
                    } else {
                        end
                    };
                Span::new(start, end, false)
            };
            fields.spans.push(span);
            match d.get(self.pos) {
                Some(b) if *b == self.delimiter => self.pos += 1,
                Some(_) => {
                    // the newline
                    self.pos += 1;
                    self.line += 1;
                    return Some(first_line);
                }
                None => {
                    self.line += 1;
                    return Some(first_line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<(u64, Vec<String>)> {
        let quoted = text.contains('"');
        let mut records = Records::new(text.as_bytes(), 1, b',', b'"', quoted);
        let mut fields = Fields::default();
        let mut out = Vec::new();
        while let Some(line) = records.next_record(&mut fields) {
            let texts = (0..fields.len())
                .map(|i| String::from_utf8(fields.field(text.as_bytes(), i).to_vec()).unwrap())
                .collect();
            out.push((line, texts));
            fields.clear();
        }
        out
    }

    #[test]
    fn unquoted_chunks_split_eight_bytes_at_a_time_as_byte_by_byte() {
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..2_000 {
            let line: String = (0..rng.usize(0..40))
                .map(|_| ['a', ',', 'b', ';', '\u{e9}'][rng.usize(0..5)])
                .collect();
            let text = format!("{line}\r\n{line}");
            let expected: Vec<String> = line.split(',').map(str::to_owned).collect();
            let got = all(&text);
            assert_eq!(got.len(), 2 * usize::from(!line.is_empty()), "{text:?}");
            for (_, fields) in got {
                assert_eq!(fields, expected, "{text:?}");
            }
        }
    }

    #[test]
    fn fields_as_the_csv_crate_reads_them() {
        let text = "a,b,c\r\n\n1,\"x,\"\"y\"\"\",\r\n2,\"two\nlines\",z\n3,ab\"c,\"q\"r\n,,\n4";
        // the fields as the csv crate reads them; the lines where each record starts (the csv
        // crate's own count stumbles on the blank line after `\r\n`)
        let lines = [1, 3, 4, 6, 7, 8];
        let mut expected = Vec::new();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        for (r, line) in rdr.records().zip(lines) {
            let r = r.unwrap();
            expected.push((line, r.iter().map(str::to_owned).collect::<Vec<_>>()));
        }
        assert_eq!(all(text), expected);
    }
}
