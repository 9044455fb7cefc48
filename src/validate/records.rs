//! The CSV tokenizer of one chunk: each record's fields as spans of the chunk, appended to one
//! [`Fields`]. A chunk without quotes is read in one pass that finds its delimiters and
//! newlines 64 bytes at a time (when it is a table of well-formed lines, each of them ends a
//! field with no question of which it is, and the records are checked after); one with
//! quotes record by record, with `memchr` inside quotes.
//! As RFC 4180 and the `csv` crate read them: a quote opens a quoted field only at its start,
//! `""` in one is a quote, a quoted field may hold delimiters and newlines, text after its
//! closing quote is kept, `\r\n` ends a record as `\n` does, and empty lines are skipped.

/// Where a field is: in the chunk, or (a quoted field with `""` in it) in the record's scratch,
/// as if the scratch followed the chunk: a span that ends past the chunk is in the scratch,
/// from the chunk's length on. Eight bytes: a chunk is at most 256 MB, and so is its scratch.
/// The common case costs one compare, which is also the bounds check of its end.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    #[allow(clippy::cast_possible_truncation)]
    #[inline]
    fn new(start: usize, end: usize) -> Self {
        Self {
            start: start as u32,
            end: end as u32,
        }
    }
}

/// The fields of the records read into it, one after another.
#[derive(Debug, Default)]
pub struct Fields {
    spans: Vec<Span>,
    scratch: Vec<u8>,
    /// `Some(n)` when [`Records::plain_table`] read them: the fields are the first `n` spans,
    /// written by index into a buffer that keeps the length it grew to.
    filled: Option<usize>,
}

impl Fields {
    /// The number of fields read into it.
    pub fn len(&self) -> usize {
        self.filled.unwrap_or(self.spans.len())
    }

    pub fn clear(&mut self) {
        self.spans.clear();
        self.scratch.clear();
        self.filled = None;
    }

    /// Forgets the fields from `len` on (a record set aside).
    pub fn truncate(&mut self, len: usize) {
        debug_assert!(self.filled.is_none());
        self.spans.truncate(len);
    }

    /// Field `i`'s bytes; `data` is the chunk the record was read from.
    #[inline]
    pub fn field<'a>(&'a self, data: &'a [u8], i: usize) -> &'a [u8] {
        let s = self.spans[i];
        let (start, end) = (s.start as usize, s.end as usize);
        if end <= data.len() {
            &data[start..end]
        } else {
            self.scratch_field(data.len(), start, end)
        }
    }

    /// Field `i`'s first eight bytes as a little-endian word (what follows the field in the
    /// rest) and its length, when the chunk `data` has eight bytes from its start on.
    #[inline]
    pub fn word(&self, data: &[u8], i: usize) -> Option<(u64, usize)> {
        let s = self.spans[i];
        let (start, end) = (s.start as usize, s.end as usize);
        let bytes: [u8; 8] = data.get(start..start + 8)?.try_into().ok()?;
        (end <= data.len()).then(|| (u64::from_le_bytes(bytes), end - start))
    }

    /// A field of the scratch (spans past a chunk of `len` bytes): rare, so out of line.
    #[cold]
    fn scratch_field(&self, len: usize, start: usize, end: usize) -> &[u8] {
        &self.scratch[start - len..end - len]
    }

    /// Field `i` as text when `text` is the whole chunk, already checked to be UTF-8.
    #[inline]
    pub fn field_text<'a>(&'a self, text: &'a str, i: usize) -> Option<&'a str> {
        let s = self.spans[i];
        let (start, end) = (s.start as usize, s.end as usize);
        if end <= text.len() {
            text.get(start..end)
        } else {
            std::str::from_utf8(self.scratch_field(text.len(), start, end)).ok()
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
    /// The chunk has no quote at all: every record is a line split at its delimiters, which
    /// [`Self::for_each`] reads in one pass.
    plain: bool,
}

/// Where `delimiter` and the newlines are in a 64-byte `block` (bit `i` for byte `i`), sixteen
/// bytes at a time: SSE2 compares (in every x86-64 processor) through `safe_arch`'s safe
/// wrappers.
#[cfg(target_arch = "x86_64")]
#[inline]
fn masks(block: &[u8], delimiter: u8) -> (u64, u64) {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };
    #[allow(clippy::cast_possible_wrap)]
    let (d, n) = (
        set_splat_i8_m128i(delimiter as i8),
        set_splat_i8_m128i(b'\n' as i8),
    );
    // a mask of 16 bits, in the low half of the i32
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
    let bits = |m| u64::from(move_mask_i8_m128i(m) as u16);
    let (mut delimiters, mut newlines) = (0u64, 0u64);
    for (i, lane) in block.chunks_exact(16).enumerate() {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(lane);
        let v = load_unaligned_m128i(&bytes);
        delimiters |= bits(cmp_eq_mask_i8_m128i(v, d)) << (16 * i);
        newlines |= bits(cmp_eq_mask_i8_m128i(v, n)) << (16 * i);
    }
    (delimiters, newlines)
}

/// [`masks`] without SSE2, eight bytes at a time.
#[cfg(any(not(target_arch = "x86_64"), test))]
fn swar_masks(block: &[u8], delimiter: u8) -> (u64, u64) {
    (mask(block, delimiter), mask(block, b'\n'))
}

/// Where `byte` is in a 64-byte `block`, eight bytes at a time: a byte equal to `byte` is a
/// zero byte of the word XOR `byte` repeated, whose high bit the carry-free test below sets;
/// one multiplication gathers a word's eight high bits into a byte.
#[cfg(any(not(target_arch = "x86_64"), test))]
fn mask(block: &[u8], byte: u8) -> u64 {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const SEVEN: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // bit 8i+7 goes to bit 56+i, and no two bits of the product meet
    const GATHER: u64 = 0x0002_0408_1020_4081;
    let pattern = LOW * u64::from(byte);
    let mut m = 0;
    for (i, word) in block.chunks_exact(8).enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let w = u64::from_le_bytes(bytes) ^ pattern;
        let zeros = !(((w & SEVEN) + SEVEN) | w) & HIGH;
        m |= (zeros.wrapping_mul(GATHER) >> 56) << (8 * i);
    }
    m
}

#[cfg(not(target_arch = "x86_64"))]
use swar_masks as masks;

/// The delimiters and newlines of up to 64 bytes (bit `i` for byte `i`), and the newlines
/// among them; a short block (a chunk's tail) is padded, and the padding's bits dropped.
#[inline]
fn hits(block: &[u8], delimiter: u8) -> (u64, u64) {
    let mut padded: [u8; 64];
    let (bytes, inside) = if block.len() == 64 {
        (block, u64::MAX)
    } else {
        padded = [0; 64];
        padded[..block.len()].copy_from_slice(block);
        (&padded[..], (1u64 << block.len()) - 1)
    };
    let (delimiters, newlines) = masks(bytes, delimiter);
    let newlines = newlines & inside;
    ((delimiters & inside) | newlines, newlines)
}

/// Where [`Records::plain_records`] is: the spans so far, the line, and where the field and
/// the record being read start.
struct Plain<'s> {
    spans: &'s mut Vec<Span>,
    line: u64,
    /// The current field's first byte.
    start: usize,
    /// The current record's first span.
    first: usize,
}

impl Plain<'_> {
    /// The delimiters and newlines `hits` of the bytes of `d` from `offset` on (bit `i` for
    /// byte `offset + i`), `newlines` of them newlines.
    #[inline]
    fn block(
        &mut self,
        d: &[u8],
        offset: usize,
        mut hits: u64,
        newlines: u64,
        record: &mut impl FnMut(u64, usize) -> bool,
    ) {
        while hits != 0 {
            let bit = hits.trailing_zeros();
            let k = offset + bit as usize;
            if newlines >> bit & 1 == 1 {
                self.end_line(d, k, record);
                self.line += 1;
            } else {
                self.spans.push(Span::new(self.start, k));
                self.start = k + 1;
            }
            hits &= hits - 1;
        }
    }

    /// The end of a line at `k` (a newline, or the end of `d`): its record, told to `record`
    /// and dropped when it says `false`, unless the line is empty (or only `\r`). Whether it
    /// held a record.
    #[inline]
    fn end_line(
        &mut self,
        d: &[u8],
        k: usize,
        record: &mut impl FnMut(u64, usize) -> bool,
    ) -> bool {
        let end = if k > self.start && d[k - 1] == b'\r' {
            k - 1
        } else {
            k
        };
        let held = self.spans.len() > self.first || end > self.start;
        if held {
            self.spans.push(Span::new(self.start, end));
            if !record(self.line, self.spans.len() - self.first) {
                self.spans.truncate(self.first);
            }
        }
        self.first = self.spans.len();
        self.start = k + 1;
        held
    }
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
            return Span::new(start, end);
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
        // past the chunk: the scratch follows it
        Span::new(d.len() + from, d.len() + fields.scratch.len())
    }

    /// Every record left, each read as [`Self::next_record`] reads it: `record(line, fields)`
    /// is told the line a record starts on and its number of fields, and the record's fields
    /// are dropped when it says `false`.
    pub fn for_each(&mut self, fields: &mut Fields, mut record: impl FnMut(u64, usize) -> bool) {
        if self.plain {
            self.plain_records(fields, record);
            return;
        }
        loop {
            let before = fields.len();
            let Some(line) = self.next_record(fields) else {
                return;
            };
            if !record(line, fields.len() - before) {
                fields.truncate(before);
            }
        }
    }

    /// [`Self::for_each`] of a chunk without quotes: one pass over its delimiters and newlines,
    /// found 64 bytes at a time.
    fn plain_records(&mut self, fields: &mut Fields, mut record: impl FnMut(u64, usize) -> bool) {
        let d = self.data;
        let first = fields.spans.len();
        let mut at = Plain {
            spans: &mut fields.spans,
            line: self.line,
            start: self.pos,
            first,
        };
        for (i, block) in d[self.pos..].chunks(64).enumerate() {
            let (hits, newlines) = hits(block, self.delimiter);
            at.block(d, self.pos + 64 * i, hits, newlines, &mut record);
        }
        if at.end_line(d, d.len(), &mut record) {
            at.line += 1;
        }
        self.line = at.line;
        self.pos = d.len();
    }

    /// Reads a chunk without quotes that is a table (every line a record of `width` fields,
    /// no empty line, no `\r` at a line's end) into `fields`, in place of what they held. Each delimiter and
    /// newline ends a field, with no question of which it is; the records are checked after:
    /// as many newlines as records, each record's last field ended by one. The number of
    /// records, each on the line after the one before; `None` when the chunk is not such a
    /// table: then nothing is read, and [`Self::for_each`] reads it after `fields` is cleared.
    ///
    /// `newlines`: the number of newlines from where reading is on (the splitter counted them).
    ///
    /// Never inlined: inlined into the chunk's loop, the pass took 8 M more instructions on the
    /// 40 MB benchmark slice (1.066 G → 1.075 G), 13 M more with many codegen units.
    #[inline(never)]
    pub fn plain_table(
        &mut self,
        fields: &mut Fields,
        width: usize,
        newlines: usize,
    ) -> Option<usize> {
        let d = self.data;
        let rest = &d[self.pos..];
        if !self.plain || width == 0 {
            return None;
        }
        fields.scratch.clear();
        fields.filled = None;
        let spans = &mut fields.spans;
        let mut newlines = newlines;
        let (mut n, mut start) = (0, self.pos);
        for (i, block) in rest.chunks(64).enumerate() {
            let (mut hits, _) = hits(block, self.delimiter);
            let offset = self.pos + 64 * i;
            // a span for each hit, and one for a last line without its newline
            if spans.len() < n + 65 {
                spans.resize((n + 65).max(2 * spans.len()), Span::new(0, 0));
            }
            // the block's spans as a slice of their own (the vector's length is not reloaded
            // after each write)
            let out = &mut spans[n..n + 64];
            let mut j = 0;
            while hits != 0 {
                let k = offset + hits.trailing_zeros() as usize;
                out[j] = Span::new(start, k);
                (j, start) = (j + 1, k + 1);
                hits &= hits - 1;
            }
            n += j;
        }
        // a last line without its newline (its last field may be empty)
        if rest.last().is_some_and(|b| *b != b'\n') {
            if spans.len() <= n {
                spans.resize(n + 1, Span::new(0, 0));
            }
            spans[n] = Span::new(start, d.len());
            n += 1;
            newlines += 1;
        }
        let records = newlines;
        let table = n == records * width
            // each record's end a newline (or the chunk's end), with no `\r` before it
            && (1..=records).all(|r| {
                let end = spans[r * width - 1].end as usize;
                (end == d.len() || d[end] == b'\n') && d.get(end.wrapping_sub(1)) != Some(&b'\r')
            })
            // one empty field is an empty line, which holds no record
            && (width > 1 || spans[..n].iter().all(|s| s.start != s.end));
        if !table {
            return None;
        }
        fields.filled = Some(n);
        self.line += records as u64;
        self.pos = d.len();
        Some(records)
    }

    /// The next record's fields, added to `record`, and the line it starts on.
    pub fn next_record(&mut self, fields: &mut Fields) -> Option<u64> {
        if !self.skip_empty() {
            return None;
        }
        let first_line = self.line;
        let d = self.data;
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
                Span::new(start, end)
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

    /// Every record of `text` with its line, as [`Records::for_each`] reads them; `quoted`:
    /// whether the text may hold quotes (else it is read in one pass). Records of exactly
    /// `drop` fields are dropped, as malformed ones are, and come back without their fields.
    fn read(text: &str, quoted: bool, drop: usize) -> (Vec<(u64, Vec<String>)>, u64) {
        let mut records = Records::new(text.as_bytes(), 1, b',', b'"', quoted);
        let mut fields = Fields::default();
        let mut found = Vec::new();
        records.for_each(&mut fields, |line, n| {
            found.push((line, n));
            n != drop
        });
        let mut i = 0;
        let mut out = Vec::new();
        for (line, n) in found {
            let kept = if n == drop { 0 } else { n };
            let record = (i..i + kept)
                .map(|f| {
                    let field = String::from_utf8(fields.field(text.as_bytes(), f).to_vec());
                    let field = field.unwrap();
                    // as text too: a field of the chunk, or of the scratch past it
                    assert_eq!(fields.field_text(text, f), Some(field.as_str()));
                    field
                })
                .collect();
            out.push((line, record));
            i += kept;
        }
        assert_eq!(i, fields.len(), "the dropped records' fields are gone");
        (out, records.position().1)
    }

    fn all(text: &str) -> Vec<(u64, Vec<String>)> {
        read(text, text.contains('"'), usize::MAX).0
    }

    #[test]
    fn the_masks_mark_each_delimiter_and_newline() {
        let mut rng = fastrand::Rng::with_seed(6);
        for _ in 0..2_000 {
            let block: Vec<u8> = (0..64)
                .map(|_| [b'a', b',', b';', b'\n', b'\r', 0, 0x80, 0xff][rng.usize(0..8)])
                .collect();
            for delimiter in [b',', b';', 0xff] {
                let at = |b: u8| {
                    (0..64)
                        .filter(|&i| block[i] == b)
                        .fold(0u64, |m, i| m | 1 << i)
                };
                let expected = (at(delimiter), at(b'\n'));
                assert_eq!(swar_masks(&block, delimiter), expected, "{block:?}");
                assert_eq!(masks(&block, delimiter), expected, "{block:?}");
            }
        }
    }

    #[test]
    fn unquoted_chunks_read_in_one_pass_as_record_by_record() {
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..3_000 {
            let text: String = (0..rng.usize(0..300))
                .map(|_| ['a', ',', 'b', '\n', '\r', '\u{e9}'][rng.usize(0..6)])
                .collect();
            for drop in [usize::MAX, 2] {
                assert_eq!(
                    read(&text, false, drop),
                    read(&text, true, drop),
                    "{text:?}"
                );
            }
        }
        let line = "a,bb,,c\u{e9},".repeat(9);
        let text = format!("{line}\r\n\n\r\n{line}");
        let expected: Vec<String> = line.split(',').map(str::to_owned).collect();
        let (records, lines) = read(&text, false, usize::MAX);
        assert_eq!(records, vec![(1, expected.clone()), (4, expected)]);
        assert_eq!(lines, 5);
    }

    /// A chunk read as a table holds what reading it record by record finds, and every chunk
    /// of well-formed lines is read as one.
    #[test]
    fn tables_read_as_their_records_are() {
        let mut rng = fastrand::Rng::with_seed(11);
        let mut tables = 0;
        for _ in 0..3_000 {
            let width = rng.usize(1..5);
            let mut text = String::new();
            for _ in 0..rng.usize(0..40) {
                // now and then a line that breaks the table
                let fields = match rng.usize(0..30) {
                    0 => width + 1,
                    1 if width > 1 => width - 1,
                    2 => 0,
                    _ => width,
                };
                let line: Vec<String> = (0..fields)
                    .map(|_| "ab\u{e9}"[..rng.usize(0..3)].to_owned())
                    .collect();
                text += &line.join(",");
                text += match rng.usize(0..40) {
                    0 => "\r\n",
                    _ => "\n",
                };
            }
            if rng.bool() {
                text.pop();
            }
            let (by_record, lines) = read(&text, false, usize::MAX);
            let mut records = Records::new(text.as_bytes(), 1, b',', b'"', false);
            let mut fields = Fields::default();
            let well_formed = !text.contains("\r\n")
                && !text.ends_with('\r')
                && by_record.iter().all(|(_, f)| f.len() == width)
                && by_record
                    .iter()
                    .enumerate()
                    .all(|(i, (l, _))| *l == i as u64 + 1)
                && by_record.len() as u64 + 1 == lines;
            let newlines = text.matches('\n').count();
            match records.plain_table(&mut fields, width, newlines) {
                Some(n) => {
                    assert!(well_formed, "{text:?}");
                    assert_eq!(n, by_record.len());
                    assert_eq!(records.position(), (text.len(), lines));
                    for (r, (_, expected)) in by_record.iter().enumerate() {
                        for (c, field) in expected.iter().enumerate() {
                            let i = r * width + c;
                            assert_eq!(fields.field(text.as_bytes(), i), field.as_bytes());
                            assert_eq!(fields.field_text(&text, i), Some(field.as_str()));
                        }
                    }
                    assert_eq!(fields.len(), n * width);
                    tables += 1;
                }
                None => assert!(!well_formed, "{text:?}"),
            }
        }
        assert!(tables > 500, "{tables}");
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
