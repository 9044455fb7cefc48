//! A small lazy DFA written out in full: every state reachable from the unanchored start of a
//! haystack, and each one's move on every byte and at the end of the text, in one flat
//! table. A match then costs a table load per byte, and none of the lazy DFA's
//! per-search set-up; several texts walked in step overlap their loads. Built only when the
//! DFA has few states; the lazy DFA answers otherwise.

use std::collections::{HashMap, HashSet};

use regex_automata::Anchored;
use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::DFA;
use regex_automata::util::start;

/// The most states written out: a row of 256 moves each, `u16` indices into [`Moves`].
const MAX_STATES: usize = 256;
/// Row of the dead state: no match can follow.
const DEAD: usize = 0;
/// Row of the quit state: the DFA cannot decide (say, a Unicode word boundary on non-ASCII).
const QUIT: usize = 1;
/// Bytes walked between looks at whether the search has ended.
const STEP: usize = 8;

/// `moves[row << 8 | byte]` is the next state's row `<< 8`: any such index is in bounds.
type Moves = Box<[u16; MAX_STATES * 256]>;

#[derive(Debug, Clone)]
pub struct DfaTable {
    moves: Moves,
    /// Each row's move at the end of the text (a row `<< 8`).
    eoi: Vec<u16>,
    /// The start state's row `<< 8`.
    start: u16,
    /// Rows below this one (`<< 8`) end the search: dead, quit, then the match states. Each of
    /// them moves to itself, so a walk can look only now and then.
    special: u16,
}

impl DfaTable {
    /// The table of `dfa`, or `None` when it has more than [`MAX_STATES`] states.
    pub fn new(dfa: &DFA) -> Option<Self> {
        let mut cache = dfa.create_cache();
        let config = start::Config::new().anchored(Anchored::No);
        let first = dfa.start_state(&mut cache, &config).ok()?;
        // every state reached, once, in the order found; those that go on with their moves (on
        // each byte, then at the end of the text)
        let mut found = vec![first];
        let mut seen = HashSet::from([first]);
        let mut plain: Vec<(LazyStateID, Vec<LazyStateID>)> = Vec::new();
        let mut at = 0;
        while let Some(&id) = found.get(at) {
            at += 1;
            if ends(id) {
                continue;
            }
            let mut row = Vec::with_capacity(257);
            for b in 0..=255u8 {
                row.push(dfa.next_state(&mut cache, id, b).ok()?);
            }
            row.push(dfa.next_eoi_state(&mut cache, id).ok()?);
            found.extend(row.iter().copied().filter(|n| seen.insert(*n)));
            plain.push((id, row));
            if plain.len() > MAX_STATES {
                return None;
            }
        }
        // a cleared cache renumbers states mid-walk
        if cache.clear_count() > 0 {
            return None;
        }
        // rows: dead, quit, the match states, then the states that go on
        let matches = found.iter().copied().filter(LazyStateID::is_match);
        let rows: HashMap<LazyStateID, usize> = matches
            .chain(plain.iter().map(|(id, _)| *id))
            .zip(2..)
            .collect();
        let special = rows.len() - plain.len() + 2;
        if rows.len() + 2 > MAX_STATES {
            return None;
        }
        // a row `<< 8`: below MAX_STATES << 8, so it fits
        let row_of = |id: LazyStateID| -> u16 {
            let row = if id.is_dead() {
                DEAD
            } else if id.is_quit() {
                QUIT
            } else {
                rows[&id]
            };
            u16::try_from(row << 8).unwrap_or(u16::MAX)
        };
        let mut table: Moves = vec![0u16; MAX_STATES * 256]
            .into_boxed_slice()
            .try_into()
            .ok()?;
        let mut eoi = vec![0u16; rows.len() + 2];
        // the states that end a search move to themselves
        for row in 0..special {
            let here = u16::try_from(row << 8).ok()?;
            table[row << 8..(row + 1) << 8].fill(here);
            eoi[row] = here;
        }
        for (id, to) in &plain {
            let row = rows[id];
            for (b, next) in to[..256].iter().enumerate() {
                table[row << 8 | b] = row_of(*next);
            }
            eoi[row] = row_of(to[256]);
        }
        Some(Self {
            moves: table,
            eoi,
            start: row_of(first),
            special: u16::try_from(special << 8).ok()?,
        })
    }

    /// Whether `text` has a match anywhere; `None` when the DFA quits on it.
    #[inline]
    pub fn is_match(&self, text: &[u8]) -> Option<bool> {
        self.walk(self.start, text)
    }

    /// [`Self::is_match`] of `N` texts at once: their walks go in step over the bytes they all
    /// have, so the table loads of one text wait on its own last load only and the others'
    /// overlap them (one walk is a chain of dependent loads); each text's rest is walked alone.
    #[inline]
    pub fn are_matches<const N: usize>(&self, texts: [&[u8]; N]) -> [Option<bool>; N] {
        // states as `usize`: the loads widen them, and no instruction a byte re-widens a `u16`
        let mut s = [usize::from(self.start); N];
        let common = texts.iter().map(|t| t.len()).min().unwrap_or(0);
        let mut at = 0;
        let special = usize::from(self.special);
        while at < common && s.iter().all(|&x| x >= special) {
            let end = (at + STEP).min(common);
            let steps: [&[u8]; N] = std::array::from_fn(|k| &texts[k][at..end]);
            // byte `i` of every text, in turn
            #[allow(clippy::needless_range_loop)]
            for i in 0..end - at {
                for k in 0..N {
                    s[k] = usize::from(self.moves[s[k] | usize::from(steps[k][i])]);
                }
            }
            at = end;
        }
        #[allow(clippy::cast_possible_truncation)]
        std::array::from_fn(|k| self.walk(s[k] as u16, &texts[k][at..]))
    }

    /// The end of a search that is in state `s` with `text` left to walk.
    #[inline]
    fn walk(&self, mut s: u16, text: &[u8]) -> Option<bool> {
        for step in text.chunks(STEP) {
            if s < self.special {
                return Self::end(s);
            }
            for &b in step {
                s = self.moves[usize::from(s) | usize::from(b)];
            }
        }
        if s < self.special {
            return Self::end(s);
        }
        s = self.eoi[usize::from(s >> 8)];
        if s < self.special {
            return Self::end(s);
        }
        Some(false)
    }

    fn end(s: u16) -> Option<bool> {
        match usize::from(s >> 8) {
            DEAD => Some(false),
            QUIT => None,
            _ => Some(true),
        }
    }
}

/// Whether a search ends on reaching `id`.
fn ends(id: LazyStateID) -> bool {
    id.is_dead() || id.is_quit() || id.is_match()
}
