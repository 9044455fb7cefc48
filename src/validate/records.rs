//! The CSV tokenizer of one chunk: records as field slices of the chunk, found with `memchr`.
//! As RFC 4180 and the `csv` crate read them: a quote opens a quoted field only at its start,
//! `""` in one is a quote, a quoted field may hold delimiters and newlines, text after its
//! closing quote is kept, `\r\n` ends a record as `\n` does, and empty lines are skipped.

/// Where a field is: in the chunk, or (a quoted field with `""` in it) in the record's scratch.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    owned: bool,
}

/// One record's fields.
#[derive(Debug, Default)]
pub struct Record {
    spans: Vec<Span>,
    scratch: Vec<u8>,
}

impl Record {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Field `i`'s bytes; `data` is the chunk the record was read from.
    #[inline]
    pub fn field<'a>(&'a self, data: &'a [u8], i: usize) -> &'a [u8] {
        let s = self.spans[i];
        if s.owned {
            &self.scratch[s.start..s.end]
        } else {
            &data[s.start..s.end]
        }
    }

    /// Field `i` as text when `text` is the whole chunk, already checked to be UTF-8.
    #[inline]
    pub fn field_text<'a>(&'a self, text: &'a str, i: usize) -> Option<&'a str> {
        let s = self.spans[i];
        if s.owned {
            std::str::from_utf8(&self.scratch[s.start..s.end]).ok()
        } else {
            text.get(s.start..s.end)
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
}

impl<'a> Records<'a> {
    /// The records of `data`, whose first byte is on line `line`.
    pub fn new(data: &'a [u8], line: u64, delimiter: u8, quote: u8) -> Self {
        Self {
            data,
            pos: 0,
            line,
            delimiter,
            quote,
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
    fn quoted(&mut self, record: &mut Record) -> Span {
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
            return Span {
                start,
                end,
                owned: false,
            };
        }
        let from = record.scratch.len();
        let mut inside = &d[start..end];
        while let Some(k) = memchr::memchr(q, inside) {
            record.scratch.extend_from_slice(&inside[..=k]);
            inside = &inside[(k + 2).min(inside.len())..];
        }
        record.scratch.extend_from_slice(inside);
        record.scratch.extend_from_slice(rest);
        self.pos = rest_end;
        Span {
            start: from,
            end: record.scratch.len(),
            owned: true,
        }
    }

    /// The next record into `record`, and the line it starts on.
    pub fn next_record(&mut self, record: &mut Record) -> Option<u64> {
        if !self.skip_empty() {
            return None;
        }
        let first_line = self.line;
        record.spans.clear();
        record.scratch.clear();
        let d = self.data;
        loop {
            let span = if self.pos < d.len() && d[self.pos] == self.quote {
                self.quoted(record)
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
                Span {
                    start,
                    end,
                    owned: false,
                }
            };
            record.spans.push(span);
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
        let mut records = Records::new(text.as_bytes(), 1, b',', b'"');
        let mut record = Record::default();
        let mut out = Vec::new();
        while let Some(line) = records.next_record(&mut record) {
            let fields = (0..record.len())
                .map(|i| String::from_utf8(record.field(text.as_bytes(), i).to_vec()).unwrap())
                .collect();
            out.push((line, fields));
        }
        out
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
