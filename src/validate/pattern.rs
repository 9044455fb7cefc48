//! A column's `regex`, matched by a lazy DFA with a cache of its own: the `regex` crate checks
//! a cache out of a pool on every call, which on short values costs more than the match. When
//! the DFA gives up (say, a Unicode word boundary on non-ASCII text), `regex` answers.

use regex_automata::Input;
use regex_automata::hybrid::dfa::{Cache, DFA};

#[derive(Debug)]
pub struct Pattern {
    regex: regex::Regex,
    dfa: Option<(DFA, Cache)>,
}

impl Clone for Pattern {
    fn clone(&self) -> Self {
        Self {
            regex: self.regex.clone(),
            dfa: self
                .dfa
                .as_ref()
                .map(|(dfa, _)| (dfa.clone(), dfa.create_cache())),
        }
    }
}

impl Pattern {
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        let regex = regex::Regex::new(pattern)?;
        let dfa = DFA::new(pattern).ok().map(|dfa| {
            let cache = dfa.create_cache();
            (dfa, cache)
        });
        Ok(Self { regex, dfa })
    }

    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether `text` has a match anywhere, as `regex::Regex::is_match`.
    #[inline]
    pub fn is_match(&mut self, text: &str) -> bool {
        if let Some((dfa, cache)) = &mut self.dfa {
            if let Ok(found) = dfa.try_search_fwd(cache, &Input::new(text).earliest(true)) {
                return found.is_some();
            }
        }
        self.regex.is_match(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // the lazy DFA, not the fallback, answers for a plain pattern
        assert!(Pattern::new(r"^[^@]+@[^@]+\.[^@]+$").unwrap().dfa.is_some());
    }
}
