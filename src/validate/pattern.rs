//! A column's `regex`, matched by a lazy DFA with a cache of its own: the `regex` crate checks
//! a cache out of a pool on every call, which on short values costs more than the match. A DFA
//! of few states is written out in full ([`DfaTable`]) and walked with no set-up per value.
//! When the DFA gives up (say, a Unicode word boundary on non-ASCII text), `regex` answers.

use regex_automata::Input;
use regex_automata::hybrid::dfa::{Cache, DFA};

use super::dfa_table::DfaTable;

#[derive(Debug)]
pub struct Pattern {
    regex: regex::Regex,
    dfa: Option<Dfa>,
}

/// The DFA that answers before `regex`: written out when small, else lazy.
#[derive(Debug)]
enum Dfa {
    Table(DfaTable),
    Lazy(Box<(DFA, Cache)>),
}

impl Clone for Pattern {
    fn clone(&self) -> Self {
        Self {
            regex: self.regex.clone(),
            dfa: self.dfa.as_ref().map(|dfa| match dfa {
                Dfa::Table(table) => Dfa::Table(table.clone()),
                Dfa::Lazy(lazy) => Dfa::Lazy(Box::new((lazy.0.clone(), lazy.0.create_cache()))),
            }),
        }
    }
}

impl Pattern {
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        let regex = regex::Regex::new(pattern)?;
        // a Unicode word boundary: the DFA quits on non-ASCII bytes, and `regex` answers
        let dfa = DFA::builder()
            .configure(DFA::config().unicode_word_boundary(true))
            .build(pattern)
            .ok()
            .map(|dfa| {
                if let Some(table) = DfaTable::new(&dfa) {
                    Dfa::Table(table)
                } else {
                    let cache = dfa.create_cache();
                    Dfa::Lazy(Box::new((dfa, cache)))
                }
            });
        Ok(Self { regex, dfa })
    }

    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether `text` has a match anywhere, as `regex::Regex::is_match`.
    #[inline]
    pub fn is_match(&mut self, text: &str) -> bool {
        let found = match &mut self.dfa {
            Some(Dfa::Table(table)) => table.is_match(text.as_bytes()),
            Some(Dfa::Lazy(lazy)) => {
                let (dfa, cache) = &mut **lazy;
                dfa.try_search_fwd(cache, &Input::new(text).earliest(true))
                    .ok()
                    .map(|m| m.is_some())
            }
            None => None,
        };
        if let Some(found) = found {
            return found;
        }
        self.regex.is_match(text)
    }

    /// [`Self::is_match`] of `N` texts given as their bytes (cells of a chunk found to be UTF-8;
    /// bytes that are not UTF-8 do not match); a written-out DFA walks them in step.
    #[inline]
    pub fn are_matches<const N: usize>(&mut self, texts: [&[u8]; N]) -> [bool; N] {
        if let Some(Dfa::Table(table)) = &self.dfa {
            let found = table.are_matches(texts);
            return std::array::from_fn(|k| found[k].unwrap_or_else(|| self.by_regex(texts[k])));
        }
        texts.map(|t| std::str::from_utf8(t).is_ok_and(|t| self.is_match(t)))
    }

    /// `regex`'s answer for bytes the written-out DFA gave up on: rare, so out of line.
    #[cold]
    fn by_regex(&self, text: &[u8]) -> bool {
        std::str::from_utf8(text).is_ok_and(|t| self.regex.is_match(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Pattern {
        fn table(&self) -> Option<&DfaTable> {
            match &self.dfa {
                Some(Dfa::Table(table)) => Some(table),
                _ => None,
            }
        }
    }

    #[test]
    fn the_dfa_answers_as_the_regex_crate() {
        let texts = [
            "a@b.c",
            "ab.c",
            "x@y",
            "été@ü.de",
            "",
            "@.",
            "a b",
            "ä",
            "word é",
        ];
        for pattern in [
            r"^[^@]+@[^@]+\.[^@]+$",
            r"\bword\b",
            r"b\.",
            r"^$",
            r"(?i)É",
            r"\d+",
        ] {
            let mut p = Pattern::new(pattern).unwrap();
            let re = regex::Regex::new(pattern).unwrap();
            for t in texts {
                assert_eq!(p.is_match(t), re.is_match(t), "{pattern} on {t:?}");
            }
        }
        assert!(Pattern::new("(").is_err());
        // the lazy DFA, not the fallback, answers for a plain pattern, from its table
        let email = Pattern::new(r"^[^@]+@[^@]+\.[^@]+$").unwrap();
        assert!(email.table().is_some());
    }

    /// Random texts over a small alphabet that the patterns care about, some of them non-ASCII.
    fn text(rng: &mut fastrand::Rng) -> String {
        const PARTS: [&str; 14] = [
            "a", "b", "@", ".", " ", "\n", "x", "0", "9", "é", "ü", "-", "ab", "word",
        ];
        (0..rng.usize(0..12))
            .map(|_| PARTS[rng.usize(..PARTS.len())])
            .collect()
    }

    #[test]
    fn the_written_out_dfa_answers_as_the_regex_crate_on_random_texts() {
        let mut rng = fastrand::Rng::with_seed(7);
        let patterns = [
            (r"^[^@]+@[^@]+\.[^@]+$", true),
            (r"^[a-z]+$", true),
            (r"b\.", true),
            (r"^$", true),
            (r"", true),
            (r"a|", true),
            (r"(?m)^b$", true),
            (r"\d{2,3}", true),
            (r"(?i)WORD", true),
            // Unicode classes: more states than a table holds
            (r"^\w+$", false),
            // a Unicode word boundary: its DFA quits on non-ASCII, and `regex` answers
            (r"\bword\b", true),
            (r"[^\x00-\x7f]", true),
            // 2^13 states: no table, the lazy DFA answers
            (r"(a|b)*a(a|b){12}", false),
        ];
        for (pattern, small) in patterns {
            let mut p = Pattern::new(pattern).unwrap();
            assert_eq!(p.table().is_some(), small, "{pattern}");
            // too many states for a table: the lazy DFA answers
            assert_eq!(matches!(p.dfa, Some(Dfa::Lazy(..))), !small, "{pattern}");
            let re = regex::Regex::new(pattern).unwrap();
            if pattern == r"\bword\b" {
                let table = p.table().unwrap();
                assert_eq!(table.is_match("é word".as_bytes()), None);
                assert_eq!(table.is_match(b"a word"), Some(true));
            }
            for _ in 0..3000 {
                let t = text(&mut rng);
                assert_eq!(p.is_match(&t), re.is_match(&t), "{pattern} on {t:?}");
            }
            // texts in step: as one by one, whatever their lengths and wherever each ends
            for _ in 0..1000 {
                let four: [String; 4] = std::array::from_fn(|_| text(&mut rng));
                let expected = four.each_ref().map(|t| re.is_match(t));
                assert_eq!(
                    p.are_matches(four.each_ref().map(String::as_bytes)),
                    expected
                );
                let three = [&four[1], &four[3], &four[0]].map(String::as_str);
                assert_eq!(
                    p.are_matches(three.map(str::as_bytes)),
                    three.map(|t| re.is_match(t))
                );
            }
        }
    }
}
