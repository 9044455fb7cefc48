//! Secret masking: which values are secret (with their encoded forms), replacing them with `***`
//! in text, and in child output streamed in arbitrary chunks. Pure: no I/O, no processes.
//!
//! What is registered for a secret, after the GitHub runner (`Worker.cs`, `HostContext.cs`,
//! `ValueEncoders.cs`, ADR 0297):
//! - the value trimmed of whitespace, and each of its lines (split on CR/LF, trimmed, lines
//!   shorter than [`MIN_SECRET_LEN`] dropped), because output is masked line by line;
//! - for each of those: its standard base64 encoding, and base64 of the value shifted by 0, 1
//!   and 2 bytes with the padding and the last (suffix-dependent) character trimmed, so that
//!   `base64("user:" + S)` and `base64(S + "\n")` are caught whatever the prefix length;
//! - its URL-encoded forms (RFC 3986, `application/x-www-form-urlencoded`, JavaScript
//!   `encodeURIComponent`), JSON-escaped forms (plain, ASCII-only as Python writes it, `\/`),
//!   the body of a bash `set -x` single-quoted word and of a Python `repr`, whenever they differ.
//!
//! Known gaps (documented, not claimed masked): base64 that wraps lines (GNU `base64` at 76
//! columns), hex, compression, reversed text, and a secret split by a line break.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::fmt::Write as _;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Values (and lines, and encoded forms) shorter than this many characters are not registered:
/// masking `{` or `abc` everywhere hides the log without protecting anything.
pub const MIN_SECRET_LEN: usize = 4;

/// A line longer than this is emitted in pieces by [`MaskedStream`].
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How often a long line's cut point may move back out of an occurrence before giving up.
const MAX_CUT_MOVES: usize = 16;

/// Whether [`Masker::add`] registered a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskOutcome {
    /// The value and its forms are masked from now on.
    Registered,
    /// The value is empty or shorter than [`MIN_SECRET_LEN`] after trimming and is not masked;
    /// the caller should warn.
    TooShort,
}

/// The set of secret strings to hide. `Debug` never shows them.
#[derive(Clone, Default)]
pub struct Masker {
    patterns: BTreeSet<String>,
    longest: usize,
}

impl fmt::Debug for Masker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Masker")
            .field("patterns", &self.patterns.len())
            .field("longest", &self.longest)
            .finish()
    }
}

impl Masker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret, each of its lines, and their encoded forms.
    pub fn add(&mut self, secret: &str) -> MaskOutcome {
        let value = secret.trim();
        if char_len(value) < MIN_SECRET_LEN {
            return MaskOutcome::TooShort;
        }
        self.add_with_encodings(value);
        if value.contains(['\r', '\n']) {
            for line in value.split(['\r', '\n']) {
                let line = line.trim();
                if char_len(line) >= MIN_SECRET_LEN {
                    self.add_with_encodings(line);
                }
            }
        }
        MaskOutcome::Registered
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The number of registered strings, encoded forms included.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// The length in bytes of the longest registered string (0 when empty).
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// Replaces every occurrence of every registered string with `***`. Overlapping and
    /// adjacent occurrences become a single `***`.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let spans = self.spans(text.as_bytes());
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in spans {
            // Spans of valid UTF-8 patterns in valid UTF-8 text lie on char boundaries.
            out.push_str(&text[at..start]);
            out.push_str(MASK);
            at = end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    /// Whether `text` contains a registered string.
    pub fn contains_secret(&self, text: &str) -> bool {
        !self.spans(text.as_bytes()).is_empty()
    }

    fn add_with_encodings(&mut self, value: &str) {
        self.insert(value.to_owned());
        for form in encodings(value) {
            if form != value && char_len(&form) >= MIN_SECRET_LEN {
                self.insert(form);
            }
        }
    }

    fn insert(&mut self, pattern: String) {
        self.longest = self.longest.max(pattern.len());
        self.patterns.insert(pattern);
    }

    /// Byte ranges of all occurrences, sorted, overlapping and adjacent ones merged.
    fn spans(&self, hay: &[u8]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        for pattern in &self.patterns {
            let needle = pattern.as_bytes();
            let Some((&first, _)) = needle.split_first() else {
                continue;
            };
            if needle.len() > hay.len() {
                continue;
            }
            let last_start = hay.len() - needle.len();
            let mut from = 0;
            while from <= last_start {
                let Some(offset) = hay[from..=last_start].iter().position(|&b| b == first) else {
                    break;
                };
                let start = from + offset;
                if &hay[start..start + needle.len()] == needle {
                    found.push((start, start + needle.len()));
                }
                from = start + 1;
            }
        }
        found.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(found.len());
        for (start, end) in found {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Every encoded form of `value` worth masking (may contain `value` itself and duplicates).
fn encodings(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    let mut forms = vec![base64(bytes)];
    forms.extend((0..3).filter_map(|shift| base64_partial(bytes, shift)));
    forms.push(percent_encode(value, b"-._~", false));
    forms.push(percent_encode(value, b"-._~", true));
    forms.push(percent_encode(value, b"-._~!*'()", false));
    forms.push(json_escape(value, false));
    forms.push(json_escape(value, true));
    forms.push(json_escape(value, false).replace('/', "\\/"));
    forms.push(value.replace('\'', r"'\''"));
    forms.push(python_repr_body(value));
    forms
}

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(chunk[0]) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        let sextet = |shift: u32| char::from(BASE64_ALPHABET[((n >> shift) & 63) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

/// Base64 of `bytes[shift..]` without the characters that depend on what follows: with one
/// byte left over the last three characters (`X==`), with two the last two (`Z=`).
fn base64_partial(bytes: &[u8], shift: usize) -> Option<String> {
    let tail = bytes.get(shift..).filter(|t| !t.is_empty())?;
    let mut encoded = base64(tail);
    let drop = match tail.len() % 3 {
        1 => 3,
        2 => 2,
        _ => 0,
    };
    encoded.truncate(encoded.len() - drop);
    Some(encoded)
}

/// Percent-encodes every byte except ASCII alphanumerics and `keep`; `plus` writes space as `+`.
fn percent_encode(value: &str, keep: &[u8], plus: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(char::from(b));
        } else if plus && b == b' ' {
            out.push('+');
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The inside of a JSON string; `ascii` escapes non-ASCII as `\uXXXX` (Python's default).
fn json_escape(value: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' || (ascii && !c.is_ascii()) => {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The inside of Python's `repr()` of a printable string (as in tracebacks and `KeyError`).
fn python_repr_body(value: &str) -> String {
    let escape_single = value.contains('\'') && value.contains('"');
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\'' if escape_single => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out
}

/// One line (or one piece of a very long line) of streamed output.
///
/// `Debug` shows only the masked text.
#[derive(Clone, PartialEq, Eq)]
pub struct StreamLine {
    raw: String,
    masked: String,
    fragment: bool,
}

impl fmt::Debug for StreamLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamLine")
            .field("masked", &self.masked)
            .field("fragment", &self.fragment)
            .finish_non_exhaustive()
    }
}

impl StreamLine {
    fn new(bytes: &[u8], secrets: &Masker, fragment: bool) -> Self {
        let raw = String::from_utf8_lossy(bytes).into_owned();
        let masked = secrets.mask(&raw).into_owned();
        Self {
            raw,
            masked,
            fragment,
        }
    }

    /// The text to print, store, or send anywhere.
    pub fn masked(&self) -> &str {
        &self.masked
    }

    pub fn into_masked(self) -> String {
        self.masked
    }

    /// The unmasked text, for the workflow-command parser only (so that `::add-mask::` and
    /// stop tokens see real values). Never print it.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Whether this is a piece of a line longer than [`MAX_LINE_BYTES`] rather than a whole
    /// line; a piece is never a workflow command.
    pub fn is_fragment(&self) -> bool {
        self.fragment
    }
}

/// Splits a child's output, written in chunks with arbitrary split points (mid-secret,
/// mid-UTF-8 character), into masked lines.
///
/// Lines end at `\n`, `\r\n` or a lone `\r` (as .NET's `ReadLine`, which the GitHub runner
/// uses); terminators are not included. Invalid UTF-8 becomes U+FFFD. A line longer than
/// [`MAX_LINE_BYTES`] is emitted in pieces, always keeping back the last
/// ([`Masker::longest`] − 1) bytes and never cutting inside an occurrence, so a secret split
/// across writes is still masked.
///
/// The masker is passed to each call rather than owned, so that `::add-mask::` seen on one line
/// applies to the next: use [`MaskedStream::feed`] then [`MaskedStream::next_line`] in a loop,
/// registering masks between lines.
#[derive(Debug, Default)]
pub struct MaskedStream {
    buf: Vec<u8>,
    /// Bytes at the start of `buf` known to hold no line terminator.
    scanned: usize,
    /// The previous line ended with `\r` at the end of a chunk: a leading `\n` belongs to it.
    skip_lf: bool,
}

impl MaskedStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Buffers a chunk; nothing is emitted until [`MaskedStream::next_line`].
    pub fn feed(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Feeds a chunk and returns every complete line (or long-line piece) masked with `masker`.
    pub fn push(&mut self, masker: &Masker, chunk: &[u8]) -> Vec<String> {
        self.feed(chunk);
        std::iter::from_fn(|| self.next_line(masker))
            .map(StreamLine::into_masked)
            .collect()
    }

    /// The next complete line, or piece of an over-long line, if there is one.
    pub fn next_line(&mut self, masker: &Masker) -> Option<StreamLine> {
        if self.skip_lf && !self.buf.is_empty() {
            self.skip_lf = false;
            if self.buf[0] == b'\n' {
                self.buf.drain(..1);
            }
        }
        if let Some(offset) = self.buf[self.scanned..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            let end = self.scanned + offset;
            let line = StreamLine::new(&self.buf[..end], masker, false);
            let mut consumed = end + 1;
            if self.buf[end] == b'\r' {
                match self.buf.get(end + 1) {
                    Some(b'\n') => consumed += 1,
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            self.buf.drain(..consumed);
            self.scanned = 0;
            return Some(line);
        }
        self.scanned = self.buf.len();
        if self.buf.len() <= MAX_LINE_BYTES {
            return None;
        }
        let cut = self.safe_cut(masker);
        if cut == 0 {
            return None;
        }
        let piece = StreamLine::new(&self.buf[..cut], masker, true);
        self.buf.drain(..cut);
        self.scanned = self.buf.len();
        Some(piece)
    }

    /// The last line if the output did not end with a line terminator.
    pub fn finish_line(self, masker: &Masker) -> Option<StreamLine> {
        (!self.buf.is_empty()).then(|| StreamLine::new(&self.buf, masker, false))
    }

    /// The last partial line, masked.
    pub fn finish(self, masker: &Masker) -> Option<String> {
        self.finish_line(masker).map(StreamLine::into_masked)
    }

    /// How many leading bytes of an unterminated buffer can be emitted now: all but the last
    /// (longest − 1) bytes, moved back out of any occurrence and any UTF-8 character.
    fn safe_cut(&self, masker: &Masker) -> usize {
        let buf = &self.buf;
        let longest = masker.longest();
        let first = buf.len().saturating_sub(longest.saturating_sub(1));
        let mut cut = first;
        for _ in 0..MAX_CUT_MOVES {
            let before = cut;
            // Only an occurrence within `longest` bytes of the cut can straddle it.
            let lo = cut.saturating_sub(longest);
            let hi = (cut + longest).min(buf.len());
            if let Some(&(start, _)) = masker
                .spans(&buf[lo..hi])
                .iter()
                .find(|&&(s, e)| lo + s < cut && cut < lo + e)
            {
                cut = lo + start;
            }
            let mut steps = 0;
            while cut > 0 && cut < buf.len() && buf[cut] & 0xC0 == 0x80 && steps < 3 {
                cut -= 1;
                steps += 1;
            }
            if cut == before {
                return cut;
            }
        }
        // Occurrences overlap back and back (a secret repeated with no line break): emit up to
        // the end of the run of occurrences, masked, rather than buffer without bound.
        masker
            .spans(buf)
            .iter()
            .find(|&&(s, e)| s < first && first < e)
            .map_or(first, |&(_, end)| end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 40-character secret with symbols, as in test plan row D1.
    const S: &str = r#"s3cR3t/+=%&"quote'\back:slash;é|~@!x#Q1"#;

    fn masker() -> Masker {
        let mut m = Masker::new();
        assert_eq!(m.add(S), MaskOutcome::Registered);
        m
    }

    fn assert_masked(m: &Masker, printed: &str) {
        let out = m.mask(printed);
        assert!(out.contains(MASK), "not masked: {printed:?} -> {out:?}");
        assert!(!out.contains(S), "secret left in {out:?}");
    }

    fn stream_all(m: &Masker, chunks: &[&[u8]]) -> Vec<String> {
        let mut stream = MaskedStream::new();
        let mut lines = Vec::new();
        for chunk in chunks {
            lines.extend(stream.push(m, chunk));
        }
        lines.extend(stream.finish(m));
        lines
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"abc\n"), "YWJjCg==");
    }

    #[test]
    fn echo_is_masked() {
        let m = masker();
        assert_eq!(m.mask(S), MASK);
        assert_eq!(m.mask(&format!("token: {S} end")), "token: *** end");
        assert_eq!(stream_all(&m, &[format!("{S}\n").as_bytes()]), ["***"]);
    }

    #[test]
    fn printf_without_newline_is_masked_at_finish() {
        let m = masker();
        let mut stream = MaskedStream::new();
        assert!(stream.push(&m, format!("x{S}").as_bytes()).is_empty());
        assert_eq!(stream.finish(&m).as_deref(), Some("x***"));
    }

    #[test]
    fn secret_split_across_writes_is_masked_at_every_split_point() {
        let m = masker();
        let line = format!("before {S} after\n");
        let bytes = line.as_bytes();
        for split in 0..=bytes.len() {
            let lines = stream_all(&m, &[&bytes[..split], &bytes[split..]]);
            assert_eq!(lines, ["before *** after"], "split at {split}");
        }
    }

    #[test]
    fn byte_by_byte_writes_are_masked() {
        let m = masker();
        let text = format!("a{S}b\r\nc{S}\rd");
        let chunks: Vec<&[u8]> = text.as_bytes().chunks(1).collect();
        assert_eq!(stream_all(&m, &chunks), ["a***b", "c***", "d"]);
    }

    #[test]
    fn multi_line_pem_secret_is_masked_line_by_line() {
        let pem = "-----BEGIN PRIVATE KEY-----\r\n\
                   MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\r\n\
                   VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu\n\
                   ab\n\
                   -----END PRIVATE KEY-----\n";
        let mut m = Masker::new();
        assert_eq!(m.add(pem), MaskOutcome::Registered);
        let lines = stream_all(&m, &[pem.as_bytes()]);
        assert_eq!(lines, ["***", "***", "***", "ab", "***"]);
        // Each line also when printed alone, inside other text.
        assert_eq!(
            m.mask("key VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu."),
            "key ***."
        );
        // Lines shorter than the minimum are not registered (no over-masking).
        assert_eq!(m.mask("ab"), "ab");
    }

    #[test]
    fn base64_of_secret_is_masked() {
        let m = masker();
        assert_masked(&m, &base64(S.as_bytes()));
        // `base64 -w0 <<< "$S"`: the secret followed by a newline.
        assert_masked(&m, &base64(format!("{S}\n").as_bytes()));
    }

    #[test]
    fn base64_with_any_prefix_and_suffix_is_masked() {
        let m = masker();
        for prefix in ["", "u", "us", "user:", "a:", "ab:", "x\n"] {
            for suffix in ["", "\n", "!", "!!", "and more"] {
                let encoded = base64(format!("{prefix}{S}{suffix}").as_bytes());
                let out = m.mask(&encoded);
                assert!(
                    out.contains(MASK),
                    "base64 of {prefix:?}+S+{suffix:?} not masked"
                );
                // What is left visible is at most the prefix's and suffix's own characters
                // plus the boundary characters.
                let visible = out.replace(MASK, "");
                assert!(
                    visible.len() <= 4 + 4 + (prefix.len() + suffix.len()) * 4 / 3 + 4,
                    "too much left: {out:?}"
                );
            }
        }
    }

    #[test]
    fn base64_of_user_colon_secret_is_masked() {
        let m = masker();
        let header = format!(
            "Authorization: Basic {}",
            base64(format!("user:{S}").as_bytes())
        );
        assert_masked(&m, &header);
    }

    #[test]
    fn url_encoded_secret_is_masked() {
        let m = masker();
        assert_masked(&m, &percent_encode(S, b"-._~", false));
        assert_masked(
            &m,
            &format!(
                "https://x/?token={}&a=1",
                percent_encode(S, b"-._~!*'()", false)
            ),
        );
        let mut spaced = Masker::new();
        spaced.add("pass word&more");
        assert_eq!(spaced.mask("q=pass+word%26more"), "q=***");
        assert_eq!(spaced.mask("q=pass%20word%26more"), "q=***");
    }

    #[test]
    fn json_escaped_secret_is_masked() {
        let m = masker();
        let json = serde_json::to_string(&serde_json::json!({ "token": S })).unwrap();
        assert_masked(&m, &json);
        // Python's json.dumps escapes non-ASCII.
        assert_masked(&m, &json_escape(S, true));
        assert!(json_escape(S, true).contains("\\u00e9"));
    }

    #[test]
    fn shell_trace_and_python_repr_are_masked() {
        let m = masker();
        // bash `set -x` prints `+ echo 'a'\''b'` for a word containing a quote.
        assert_masked(&m, &format!("+ echo '{}'", S.replace('\'', r"'\''")));
        // Python repr in a traceback: `KeyError('...')` with backslashes doubled.
        assert_masked(&m, &format!("KeyError('{}')", python_repr_body(S)));
    }

    #[test]
    fn short_values_are_refused() {
        let mut m = Masker::new();
        for short in ["", "   ", "abc", " ab \n", "{", "é€£"] {
            assert_eq!(m.add(short), MaskOutcome::TooShort, "{short:?}");
        }
        assert!(m.is_empty());
        assert_eq!(m.mask("abc { é€£"), "abc { é€£");
        assert_eq!(m.add("abcd"), MaskOutcome::Registered);
        assert_eq!(m.mask("xabcdx abc"), "x***x abc");
    }

    #[test]
    fn short_encoded_forms_are_not_registered() {
        let mut m = Masker::new();
        m.add("abcd");
        assert!(
            m.patterns
                .iter()
                .all(|p| p.chars().count() >= MIN_SECRET_LEN)
        );
    }

    #[test]
    fn overlapping_and_adjacent_occurrences_become_one_mask() {
        let mut m = Masker::new();
        m.add("abcdef");
        m.add("defghi");
        assert_eq!(m.mask("xabcdefghiy"), "x***y");
        assert_eq!(m.mask("abcdefabcdef"), "***");
        let mut a = Masker::new();
        a.add("aaaa");
        assert_eq!(a.mask("aaaaaab"), "***b");
    }

    #[test]
    fn longest_pattern_wins() {
        let mut m = Masker::new();
        m.add("secret");
        m.add("secret-longer");
        assert_eq!(m.mask("a secret-longer b secret"), "a *** b ***");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let m = masker();
        assert!(!format!("{m:?}").contains("s3cR3t"));
        let mut stream = MaskedStream::new();
        stream.feed(format!("{S}\n").as_bytes());
        let line = stream.next_line(&m).unwrap();
        assert_eq!(line.raw(), S);
        assert!(!format!("{line:?}").contains("s3cR3t"));
    }

    #[test]
    fn mask_added_between_lines_applies_to_the_next_line() {
        let mut m = Masker::new();
        let mut stream = MaskedStream::new();
        stream.feed(b"::add-mask::hunter22\nhunter22\n");
        let first = stream.next_line(&m).unwrap();
        let value = first.raw().strip_prefix("::add-mask::").unwrap();
        assert_eq!(m.add(value), MaskOutcome::Registered);
        assert_eq!(stream.next_line(&m).unwrap().masked(), "***");
        assert!(stream.next_line(&m).is_none());
    }

    #[test]
    fn utf8_split_mid_character_is_reassembled() {
        let m = Masker::new();
        let text = "héllo €\n".as_bytes();
        let lines = stream_all(&m, &[&text[..2], &text[2..8], &text[8..]]);
        assert_eq!(lines, ["héllo €"]);
    }

    #[test]
    fn crlf_split_across_chunks_is_one_terminator() {
        let m = Masker::new();
        assert_eq!(
            stream_all(&m, &[b"a\r", b"\nb\r", b"c\n\n"]),
            ["a", "b", "c", ""]
        );
    }

    #[test]
    fn long_line_is_emitted_in_pieces_without_leaking_a_secret() {
        let m = masker();
        let mut line = "x".repeat(MAX_LINE_BYTES - 10);
        line.push_str(S);
        line.push_str(&"y".repeat(MAX_LINE_BYTES));
        line.push_str(S);
        line.push('\n');
        let bytes = line.as_bytes();
        for step in [1000, 4096, 65_521, MAX_LINE_BYTES + 7] {
            let chunks: Vec<&[u8]> = bytes.chunks(step).collect();
            let pieces = stream_all(&m, &chunks);
            assert!(pieces.len() > 1, "step {step}: not split");
            let joined = pieces.concat();
            assert!(!joined.contains(S), "step {step}");
            for (i, _) in S.char_indices().skip(1) {
                // No piece ends with a proper prefix of the secret.
                assert!(
                    pieces.iter().all(|p| !p.ends_with(&S[..i])),
                    "step {step}: a piece ends with part of the secret"
                );
            }
            assert_eq!(joined.matches(MASK).count(), 2, "step {step}");
            assert_eq!(joined.len(), line.len() - 1 - 2 * S.len() + 2 * MASK.len());
        }
    }

    #[test]
    fn long_line_of_repeated_secret_is_bounded() {
        let mut m = Masker::new();
        m.add("aaaa");
        let mut stream = MaskedStream::new();
        let mut out = Vec::new();
        for _ in 0..(4 * MAX_LINE_BYTES / 1024) {
            out.extend(stream.push(&m, &[b'a'; 1024]));
        }
        assert!(!out.is_empty());
        assert!(out.iter().all(|p| p.chars().all(|c| c == '*')));
    }
}
