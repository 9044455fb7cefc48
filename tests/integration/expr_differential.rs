//! Differential test of our `${{ }}` engine (`mlops_ci::expr`) against GitHub's own TypeScript
//! evaluator, `@actions/expressions` (pinned in `tests/differential/package.json`), run through
//! `tests/differential/eval.mjs` under node. Uses only std, `serde_json` and `indexmap`.
//!
//! A seeded generator writes `MLOPS_CI_DIFF_CASES` (default 12,000) expressions, well-formed
//! and ill-formed, over random contexts; one node process evaluates them all, streamed as JSON
//! lines. Every case must give the same kind and JSON value (numbers compared as f64), or an
//! error of the same phase (lexing, parsing, evaluation) on both sides. Messages and positions
//! are not compared; `tests/integration/expr_vectors.rs` checks those.
//!
//! The TS port is not GitHub's runner (C#), which is the reference we follow. Where they are
//! known to differ, the *generator* never produces the input (nothing is filtered after the
//! results are in). Each avoided divergence, and where the generator avoids it:
//!
//! 1. Number → string. TS uses `(+n.toFixed(15)).toString()`, the runner .NET `G15`; they
//!    differ for magnitudes below 1e-4 or from 1e15, and for more than 15 significant digits
//!    (SOURCE.md "Quirks"). Every number we generate (literal, context, fromJSON text, numeric
//!    string) is 0 or has at most 9 significant digits and a magnitude in [1e-4, 1e14]; the
//!    non-finite values (`NaN`, `Infinity`) print the same in both.
//! 2. The 5 `skip: typescript` vectors: positions in multi-line expressions (we compare no
//!    positions) and the runner's ~1 MB result memory limit, which TS lacks: contexts and
//!    expressions stay small (results are a few KB at most).
//! 3. String literal escapes: the TS lexer un-escapes `''` with `String.replace("''", "'")`,
//!    which replaces only the FIRST occurrence (`'a''b''c'` is `a'b''c` in TS, `a'b'c` in the
//!    runner and in the vectors' spirit). `fits_ts_lexer` rejects any text in which one string
//!    literal holds more than one `''`, before it is sent anywhere.
//! 4. String → number: TS uses JS `Number()`, which also accepts `0b` binary, upper-case `0X`
//!    `0O` `0B` prefixes and hex/octal beyond Int32, and trims U+FEFF. The runner takes only
//!    `0x`/`0o` within Int32 (`0xFFFFFFFF` wraps to -1, larger is NaN). Numeric-looking strings
//!    and number literals use lower-case `0x`/`0o` below 2^31 and no `0b`; whitespace is ASCII.
//! 5. Case-insensitivity: TS folds with `toUpperCase` (`==`, `<`, startsWith/endsWith) and
//!    `toLowerCase` (contains, object keys, context names), the runner with .NET
//!    `ToUpperInvariant` code unit by code unit. They differ for characters whose JS mapping
//!    changes length or is not simple (`ß`→`SS`, `ﬁ`→`FI`, `İ`→`i̇`), for final sigma `ς` under
//!    lower-casing, and for dotless `ı`. All text uses ASCII plus a few letters with simple
//!    1:1 mappings (`é É ü Ü ö Ö ж Ж ａ Ａ`) and caseless ones (`日本`, `～`, `😀`).
//! 6. Object keys: JS objects list array-index-like keys (`"0"`, `"12"`) first, so the TS
//!    harness's `JSON.parse` and TS `fromJSON` reorder them; TS `Dictionary` also keeps only the
//!    first of keys equal ignoring case, and its key set is a plain `{}`, so `"constructor"`,
//!    `"toString"` or `"__proto__"` are wrongly taken as already present. Generated objects
//!    (contexts and fromJSON text) never have index-like keys, keys equal ignoring case, or
//!    names of `Object.prototype` members.
//! 7. fromJSON parsers: the runner uses Newtonsoft.Json (lenient: single quotes, comments,
//!    trailing commas, `NaN`, leading-zero octal), TS `JSON.parse` (strict). Invalid JSON
//!    texts are limited to ones both reject (truncated, unbalanced, bare words).
//! 8. Expression length (21,000) and depth (50) limits hold in both; generated texts stay far
//!    below the length limit, and nesting of `!` goes around 50 (as in the vectors).
//! 9. Parentheses: TS counts each `( )` group toward the depth limit (51 nested groups are a
//!    parsing error); the runner and our engine count expression nodes only, so a group adds
//!    none. No vector covers this. Nested groups are generated up to 48 deep only.
//! 10. Lazy arguments: the runner's `case` evaluates only up to the first true predicate and its
//!     value, and `contains`/`startsWith`/`endsWith` evaluate the second argument only when the
//!     first needs it; TS evaluates every argument first, so an error in an argument the runner
//!     never looks at fails only in TS. Inside those arguments the generator calls no function
//!     that can fail at evaluation (`format`, `fromJSON`, `case`). `format` is lazy in the
//!     runner (and our engine) too: it evaluates only the arguments its format string names,
//!     so its arguments after the first follow the same rule.
//! 11. `.` after a `.`, a literal or a keyword: the TS lexer reads a number (lexing error), the
//!     runner a dereference (parsing error). `dots_fit_ts_lexer` rejects such token lists.
//! 12. Trailing comma: TS accepts `join(x,)` as `join(x)`; the runner and our engine reject it.
//!     `dots_fit_ts_lexer` rejects `,` before `)`.
//! 13. format specifiers: TS ignores anything between `{N` and `}` (`{0:x}`, `{0 }` work); the
//!     runner reads `:spec` and fails for non-dates, and rejects `{0 }`. Those format strings are
//!     not generated. (The runner and our engine accept the empty specifier `{0:}`; TS reads
//!     it too, so it could be generated, but is not yet.)

use crate::common::json_eq;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use mlops_ci::expr::{Expr, Scope, Value};
use serde_json::json;

use crate::common::repo;

const DEFAULT_CASES: usize = 12_000;
const SEED: u64 = 0x6d6c_6f70_735f_6369; // "mlops_ci"
const BUDGET: Duration = Duration::from_secs(120);
/// A new random context every this many cases.
const CASES_PER_CONTEXT: usize = 40;

/// splitmix64: tiny, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("fits")
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

// ---------------------------------------------------------------------------------------------
// Random data (contexts, fromJSON texts)

/// Object keys. No index-like keys, no `Object.prototype` names (divergence 6). Keys equal
/// ignoring case are dropped per object when generated.
const KEYS: &[&str] = &[
    "a",
    "b",
    "c",
    "name",
    "Value",
    "items",
    "my-key",
    "under_score",
    "x1",
    "nested",
    "List",
    "true",
    "null",
    "é",
    "Ü-key",
    "日本",
    "with space",
    "dot.key",
    "",
    "A_b-C",
    "jobs",
    "_",
];

/// String values: mixed case, Unicode (divergence 5), numeric-looking (divergence 4), format
/// and JSON look-alikes.
const STRINGS: &[&str] = &[
    "",
    "abc",
    "ABC",
    "aBc",
    "Hello World",
    "hello",
    "0",
    "1",
    "-1",
    " 42 ",
    "\t7\n",
    "-0",
    "+5",
    "1.5",
    ".5",
    "5.",
    "0.25",
    "1e3",
    "1E-2",
    "0x1F",
    "0xff",
    "0x",
    "0o17",
    "0o8",
    "0xZZ",
    "-0x1F",
    "1_000",
    "Infinity",
    "-Infinity",
    "infinity",
    "NaN",
    "true",
    "false",
    "null",
    "é",
    "É",
    "Ünïcödé",
    "üÜ",
    "жЖж",
    "日本語",
    "😀",
    "a😀b",
    "～",
    "ａＡ",
    "{0}",
    "{{x}}",
    "{1}",
    "[1,2]",
    "{\"a\":1}",
    " ",
    "\n",
    "a,b",
    "main",
    "MAIN",
    "refs/heads/main",
    "it's",
    "Z",
    "[",
    "_",
    "~",
    "a'b",
];

/// Numbers within divergence 1's safe range.
fn number(rng: &mut Rng) -> f64 {
    match rng.below(10) {
        0 => 0.0,
        1 => -0.0,
        2 => f64::from(i32::try_from(rng.below(2001)).expect("small") - 1000),
        3 => f64::from(i32::try_from(rng.below(41)).expect("small") - 20) / 4.0,
        4 => f64::from(i32::try_from(rng.below(20001)).expect("small") - 10000) / 100.0,
        5 => rng.pick(&[
            1e-4,
            2.5e-4,
            0.001,
            0.0123,
            123_456_789.0,
            1e14,
            -1e14,
            99_999.5,
        ]),
        6 => rng.pick(&[1.0, 2.0, 3.0, -1.0, 0.5]),
        _ => f64::from(i32::try_from(rng.below(10)).expect("small")),
    }
}

fn string(rng: &mut Rng) -> String {
    let mut s = rng.pick(STRINGS).to_owned();
    if rng.chance(15) {
        s.push_str(rng.pick(STRINGS));
    }
    if rng.chance(15) {
        // Keep `0x`/`0o` lower-case (divergence 4).
        s = flip_case(rng, &s).replace("0X", "0x").replace("0O", "0o");
    }
    s
}

/// Randomly flips the case of ASCII letters.
fn flip_case(rng: &mut Rng, s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() && rng.chance(50) {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            }
        })
        .collect()
}

fn json_number(n: f64) -> serde_json::Value {
    if n == n.trunc() && !(n == 0.0 && n.is_sign_negative()) {
        #[allow(clippy::cast_possible_truncation)]
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

fn data(rng: &mut Rng, depth: usize) -> serde_json::Value {
    let top = if depth == 0 { 4 } else { 6 };
    match rng.below(top) {
        0 => serde_json::Value::Null,
        1 => serde_json::Value::Bool(rng.chance(50)),
        2 => json_number(number(rng)),
        3 => serde_json::Value::String(string(rng)),
        4 => serde_json::Value::Array((0..rng.below(5)).map(|_| data(rng, depth - 1)).collect()),
        _ => serde_json::Value::Object(object(rng, depth - 1)),
    }
}

fn object(rng: &mut Rng, depth: usize) -> serde_json::Map<String, serde_json::Value> {
    let mut map = serde_json::Map::new();
    let mut seen = HashSet::new();
    for _ in 0..rng.below(6) {
        let key = rng.pick(KEYS);
        let key = flip_case(rng, key);
        if seen.insert(key.to_lowercase()) {
            map.insert(key, data(rng, depth));
        }
    }
    map
}

/// Context names (valid identifiers) and a random context over them.
const CONTEXT_NAMES: &[&str] = &[
    "github", "env", "matrix", "foo", "my_ctx", "Steps-1", "inputs",
];

fn contexts(rng: &mut Rng) -> serde_json::Map<String, serde_json::Value> {
    let mut map = serde_json::Map::new();
    for _ in 0..=rng.below(4) {
        let name = rng.pick(CONTEXT_NAMES);
        let value = if rng.chance(80) {
            serde_json::Value::Object(object(rng, 3))
        } else {
            data(rng, 3)
        };
        map.insert(name.to_owned(), value);
    }
    map
}

// ---------------------------------------------------------------------------------------------
// Expressions, as token lists

struct Gen<'a> {
    rng: Rng,
    ctx: &'a serde_json::Map<String, serde_json::Value>,
    /// Inside `case(...)`: no function that can fail at evaluation (divergence 10).
    no_failing_calls: bool,
}

type Toks = Vec<String>;

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

const NUMBER_LITERALS: &[&str] = &[
    "0",
    "1",
    "-1",
    "42",
    "-0",
    "0.5",
    "1.25",
    "-3.75",
    ".5",
    "-.5",
    "+1",
    "1.",
    "1e3",
    "1E+2",
    "2.5e-3",
    "1e-4",
    "0x1F",
    "0xff",
    "0x0",
    "0x7FFFFFFF",
    "0o17",
    "0o0",
    "0o777",
    "Infinity",
    "-Infinity",
    "NaN",
    "1e400",
    "123456789",
    "0.0",
];

const BAD_NUMBER_LITERALS: &[&str] = &[
    "0x", "0xZZ", "-0xFF", "0o8", "1_000", "1e", "1.2.3", "0x01p2", "-Inf", "1e+", "--1",
];

const FORMATS: &[&str] = &[
    "{0}",
    "{0} and {1}",
    "x{0}y{0}z",
    "{1}{0}",
    "{{0}}",
    "{{{0}}}",
    "plain",
    "",
    "{0",
    "0}",
    "{}",
    "{a}",
    "}{",
    "{ 0}",
    "{00}",
    "{-1}",
    "{2}",
    "{{",
    "}}",
    "{0}}",
    "{{0}",
    "é{0}日本",
];

const BAD_JSON: &[&str] = &[
    "",
    " ",
    "{",
    "[1,",
    "tru",
    "{\"a\":}",
    "\"open",
    "[1 2]",
    "{\"a\" 1}",
    "}",
    "abc",
    "[[]",
];

const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("contains", 2, 2),
    ("startsWith", 2, 2),
    ("endsWith", 2, 2),
    ("join", 1, 2),
    ("toJSON", 1, 1),
    ("format", 1, 4),
    ("fromJSON", 1, 1),
    ("case", 3, 7),
];

impl Gen<'_> {
    fn literal(&mut self) -> Toks {
        let r = &mut self.rng;
        let t = match r.below(8) {
            0 => "null".to_owned(),
            1 => "true".to_owned(),
            2 => "false".to_owned(),
            3 | 4 => (r.pick(NUMBER_LITERALS)).to_owned(),
            _ => quote(&string(r)),
        };
        vec![t]
    }

    /// A context name, or sometimes an unknown one.
    fn name(&mut self) -> (String, Option<serde_json::Value>) {
        if self.ctx.is_empty() || self.rng.chance(3) {
            let unknown = self
                .rng
                .pick(&["nosuch", "secrets", "vars", "TRUE", "Null", "x"]);
            return (unknown.to_owned(), None);
        }
        let i = self.rng.below(self.ctx.len());
        let (k, v) = self.ctx.iter().nth(i).expect("in range");
        let k = if self.rng.chance(20) {
            flip_case(&mut self.rng, k)
        } else {
            k.to_owned()
        };
        (k, Some(v.clone()))
    }

    /// A context access, following the data's shape most of the time.
    fn path(&mut self, depth: usize) -> Toks {
        let (name, mut cur) = self.name();
        let mut toks = vec![name];
        for _ in 0..self.rng.below(5) {
            match cur.take() {
                Some(serde_json::Value::Object(o)) if !o.is_empty() && self.rng.chance(75) => {
                    let i = self.rng.below(o.len());
                    let (k, v) = o.iter().nth(i).expect("in range");
                    let k = if self.rng.chance(20) {
                        flip_case(&mut self.rng, k)
                    } else {
                        k.to_owned()
                    };
                    if is_identifier(&k) && self.rng.chance(70) {
                        toks.push(".".into());
                        toks.push(k);
                    } else {
                        toks.extend(["[".into(), quote(&k), "]".into()]);
                    }
                    cur = Some(v.clone());
                }
                Some(serde_json::Value::Array(a)) if !a.is_empty() && self.rng.chance(75) => {
                    let i = self.rng.below(a.len());
                    let index = match self.rng.below(6) {
                        0 => quote(&i.to_string()),
                        1 => format!("{i}.0"),
                        _ => i.to_string(),
                    };
                    toks.extend(["[".into(), index, "]".into()]);
                    cur = Some(a[i].clone());
                }
                _ => match self.rng.below(9) {
                    0 | 1 => toks.extend([".".into(), "*".into()]),
                    2 => toks.extend(["[".into(), "*".into(), "]".into()]),
                    3 => {
                        let key = self.rng.pick(KEYS);
                        if is_identifier(key) {
                            toks.extend([".".into(), key.to_owned()]);
                        } else {
                            toks.extend(["[".into(), quote(key), "]".into()]);
                        }
                    }
                    4 => toks.extend([".".into(), "nosuch".into()]),
                    5 => {
                        let idx = (self.rng.pick(&[
                            "-1", "0.5", "true", "false", "null", "' 0x01 '", "''", "NaN", "99",
                            "'1'",
                        ]))
                        .to_owned();
                        toks.extend(["[".into(), idx, "]".into()]);
                    }
                    _ => {
                        toks.push("[".into());
                        let inner = self.expr(depth.saturating_sub(1));
                        toks.extend(inner);
                        toks.push("]".into());
                    }
                },
            }
        }
        toks
    }

    fn call(&mut self, depth: usize) -> Toks {
        let d = depth.saturating_sub(1);
        let (name, min, max) = if self.no_failing_calls {
            self.rng.pick(&FUNCTIONS[..5])
        } else {
            self.rng.pick(FUNCTIONS)
        };
        let name = match self.rng.below(10) {
            0 => name.to_lowercase(),
            1 => name.to_uppercase(),
            _ => name.to_owned(),
        };
        let mut args: Vec<Toks> = Vec::new();
        match name.to_lowercase().as_str() {
            "format" => {
                args.push(if self.rng.chance(85) {
                    vec![quote(self.rng.pick(FORMATS))]
                } else {
                    self.expr(d)
                });
                // The runner evaluates only the arguments the format string references
                // (divergence 10).
                let outer = std::mem::replace(&mut self.no_failing_calls, true);
                for _ in 0..self.rng.below(max) {
                    args.push(self.expr(d));
                }
                self.no_failing_calls = outer;
            }
            "fromjson" => args.push(match self.rng.below(6) {
                0 | 1 => {
                    let v = data(&mut self.rng, 3);
                    let text = if self.rng.chance(50) {
                        serde_json::to_string(&v)
                    } else {
                        serde_json::to_string_pretty(&v)
                    };
                    vec![quote(&text.expect("serializes"))]
                }
                2 => vec![quote(self.rng.pick(BAD_JSON))],
                3 => {
                    let inner = self.expr(d);
                    let mut t = vec!["toJSON".into(), "(".into()];
                    t.extend(inner);
                    t.push(")".into());
                    t
                }
                _ => self.expr(d),
            }),
            "case" => {
                let outer = std::mem::replace(&mut self.no_failing_calls, true);
                let pairs = 1 + self.rng.below(max / 2); // 1..=3 pairs
                for _ in 0..pairs {
                    args.push(if self.rng.chance(85) {
                        self.comparison(d)
                    } else {
                        self.expr(d)
                    });
                    args.push(self.expr(d));
                }
                args.push(self.expr(d));
                self.no_failing_calls = outer;
            }
            _ => {
                // contains/startsWith/endsWith/join: the runner evaluates the second argument
                // only when the first needs it (divergence 10).
                args.push(self.expr(d));
                let outer = std::mem::replace(&mut self.no_failing_calls, true);
                for _ in 1..min + self.rng.below(max - min + 1) {
                    args.push(self.expr(d));
                }
                self.no_failing_calls = outer;
            }
        }
        let mut toks = vec![name, "(".into()];
        for (i, a) in args.into_iter().enumerate() {
            if i > 0 {
                toks.push(",".into());
            }
            toks.extend(a);
        }
        toks.push(")".into());
        toks
    }

    fn comparison(&mut self, depth: usize) -> Toks {
        let d = depth.saturating_sub(1);
        let mut t = self.operand(d);
        t.push((self.rng.pick(&["==", "!=", "<", "<=", ">", ">="])).to_owned());
        t.extend(self.operand(d));
        t
    }

    fn operand(&mut self, depth: usize) -> Toks {
        if depth == 0 {
            return if self.rng.chance(50) {
                self.literal()
            } else {
                self.path(0)
            };
        }
        match self.rng.below(10) {
            0..=2 => self.literal(),
            3..=5 => self.path(depth),
            6 | 7 => self.call(depth),
            8 => {
                let mut t = vec!["!".to_owned()];
                t.extend(self.operand(depth - 1));
                t
            }
            _ => {
                let mut t = vec!["(".to_owned()];
                t.extend(self.expr(depth - 1));
                t.push(")".into());
                t
            }
        }
    }

    fn expr(&mut self, depth: usize) -> Toks {
        let mut t = self.operand(depth);
        if depth == 0 {
            return t;
        }
        for _ in 0..self.rng.below(3) {
            let op = self
                .rng
                .pick(&["==", "!=", "<", "<=", ">", ">=", "&&", "||", "&&", "||"]);
            t.push(op.to_owned());
            t.extend(self.operand(depth - 1));
        }
        t
    }

    /// Nesting right around the depth limit.
    fn deep(&mut self) -> Toks {
        let n = 45 + self.rng.below(10);
        let mut t = Vec::new();
        if self.rng.chance(50) {
            let n = n.min(48); // divergence 9
            t.extend(std::iter::repeat_n("(".to_owned(), n));
            t.extend(self.literal());
            t.extend(std::iter::repeat_n(")".to_owned(), n));
        } else {
            t.extend(std::iter::repeat_n("!".to_owned(), n));
            t.extend(self.literal());
        }
        t
    }

    /// Breaks a well-formed token list.
    fn mutate(&mut self, mut toks: Toks) -> Toks {
        let n = toks.len();
        match self.rng.below(8) {
            0 if n > 1 => toks.truncate(1 + self.rng.below(n - 1)),
            1 if n > 1 => {
                let i = self.rng.below(n - 1);
                toks.swap(i, i + 1);
            }
            2 if n > 1 => {
                toks.remove(self.rng.below(n));
            }
            3 => {
                let i = self.rng.below(n + 1);
                let stray = self.rng.pick(&[
                    "$", "#", ";", "=", "&", "|", "!", "<", ">", "==", "(", ")", "[", "]", ",",
                    ".", "*", "+", "-", "@", "{", "}", "&&&", "?", ":", "%", "\\", "\"", "`",
                ]);
                toks.insert(i, stray.to_owned());
            }
            4 if n > 0 => {
                let i = self.rng.below(n);
                let dup = toks[i].clone();
                toks.insert(i, dup);
            }
            5 => {
                let i = self.rng.below(n + 1);
                let bad = if self.rng.chance(50) {
                    (self.rng.pick(BAD_NUMBER_LITERALS)).to_owned()
                } else {
                    (self.rng.pick(&["nosuch", "é", "日本", "1abc", "a.b", "-a"])).to_owned()
                };
                toks.insert(i, bad);
            }
            6 => {
                // Unknown function or wrong arity.
                let (name, args) = match self.rng.below(6) {
                    0 => ("foo", 1),
                    1 => ("hashFiles", 1),
                    2 => ("success", 0),
                    3 => (self.rng.pick(FUNCTIONS).0, 0),
                    4 => ("contains", 3),
                    _ => ("case", 2 + 2 * self.rng.below(2)),
                };
                let mut t = vec![name.to_owned(), "(".into()];
                for a in 0..args {
                    if a > 0 {
                        t.push(",".into());
                    }
                    t.extend(self.literal());
                }
                t.push(")".into());
                if self.rng.chance(50) {
                    toks = t;
                } else {
                    toks.push("||".into());
                    toks.extend(t);
                }
            }
            _ => {
                // Text-level truncation happens in `render`.
                toks.push("\u{0}TRUNCATE".into());
            }
        }
        toks
    }

    fn render(&mut self, toks: &[String]) -> String {
        let mut out = String::new();
        let mut truncate = false;
        for t in toks {
            if t == "\u{0}TRUNCATE" {
                truncate = true;
                continue;
            }
            let wordy = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.' | '\'');
            let needs_space =
                out.chars().last().is_some_and(wordy) && t.chars().next().is_some_and(wordy);
            if needs_space || (!out.is_empty() && self.rng.chance(30)) {
                out.push(if self.rng.chance(3) { '\n' } else { ' ' });
            }
            out.push_str(t);
        }
        if truncate {
            let chars: Vec<char> = out.chars().collect();
            if !chars.is_empty() {
                out = chars[..self.rng.below(chars.len())].iter().collect();
            }
        }
        out
    }

    fn case(&mut self) -> String {
        loop {
            let toks = match self.rng.below(100) {
                0 => self.deep(),
                1..=3 => Vec::new(),
                4..=10 => self.literal(),
                11..=25 => self.path(2),
                26..=45 => self.call(2),
                _ => self.expr(3),
            };
            let toks = if self.rng.chance(30) {
                self.mutate(toks)
            } else {
                toks
            };
            if !dots_fit_ts_lexer(&toks) {
                continue;
            }
            let text = self.render(&toks);
            if fits_ts_lexer(&text) {
                return text;
            }
        }
    }
}

/// Divergence 11: no `.` right after a `.`, a literal or a keyword, where the TS lexer reads a
/// number and the runner a dereference.
/// Divergence 12: no `,` right before `)` (TS accepts `join(x,)`).
fn dots_fit_ts_lexer(toks: &[String]) -> bool {
    let toks: Vec<&str> = toks
        .iter()
        .map(String::as_str)
        .filter(|t| !t.trim().is_empty())
        .collect();
    toks.windows(2).all(|w| {
        let prev = w[0];
        !(prev == "," && w[1] == ")")
    }) && toks.windows(2).all(|w| {
        let prev = w[0];
        !w[1].starts_with('.')
            || !(prev.starts_with(['.', '\'', '-', '+'])
                || prev.starts_with(|c: char| c.is_ascii_digit())
                || matches!(prev, "true" | "false" | "null" | "NaN" | "Infinity"))
    })
}

/// Divergence 3: no string literal may hold more than one `''` escape. Scans literals the way
/// both lexers do.
fn fits_ts_lexer(text: &str) -> bool {
    let c: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < c.len() {
        if c[i] == '\'' {
            let mut escapes = 0;
            i += 1;
            while i < c.len() {
                if c[i] == '\'' {
                    if c.get(i + 1) == Some(&'\'') {
                        escapes += 1;
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            if escapes > 1 {
                return false;
            }
        }
        i += 1;
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Running and comparing

/// Our engine's answer in eval.mjs's shape.
fn ours(text: &str, contexts: &IndexMap<String, Value>) -> serde_json::Value {
    let names: Vec<&str> = contexts.keys().map(String::as_str).collect();
    let r = Expr::parse(
        text,
        Scope {
            names: &names,
            functions: &[],
        },
    )
    .and_then(|e| e.eval(contexts, None));
    match r {
        Ok(Value::Number(n)) if !n.is_finite() => {
            json!({"ok": true, "kind": "Number", "value": format!("{n}").replace("inf", "Infinity")})
        }
        Ok(v) => json!({"ok": true, "kind": v.kind(), "value": v.to_json()}),
        Err(e) => json!({"ok": false, "kind": e.kind.as_str(), "message": e.to_string()}),
    }
}

fn agree(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    a["ok"] == b["ok"]
        && a["kind"] == b["kind"]
        && (a["ok"] == false || json_eq(&a["value"], &b["value"]))
}

#[test]
#[allow(clippy::too_many_lines)]
fn expr_differential_against_actions_expressions() {
    let dir = repo().join("tests/differential");
    let marker = dir.join("node_modules/@actions/expressions/package.json");
    assert!(
        marker.is_file(),
        "{} is missing: run `npm ci --prefix tests/differential` first (scripts/test does)",
        marker.display()
    );
    let n: usize = std::env::var("MLOPS_CI_DIFF_CASES")
        .ok()
        .map_or(DEFAULT_CASES, |s| {
            s.parse().expect("MLOPS_CI_DIFF_CASES is a number")
        });
    let start = Instant::now();

    // Generate every case first: (expr, index of its context).
    let mut rng = Rng(SEED);
    let mut ctxs = Vec::new();
    let mut cases = Vec::with_capacity(n);
    for i in 0..n {
        if i % CASES_PER_CONTEXT == 0 {
            ctxs.push(contexts(&mut rng));
        }
        let ctx = ctxs.last().expect("pushed");
        let mut g = Gen {
            rng: Rng(rng.next()),
            ctx,
            no_failing_calls: false,
        };
        cases.push((g.case(), ctxs.len() - 1));
    }
    // Debugging aid: MLOPS_CI_DIFF_EXPR (+ MLOPS_CI_DIFF_CONTEXTS, JSON) runs just that case.
    if let Ok(expr) = std::env::var("MLOPS_CI_DIFF_EXPR") {
        let c = std::env::var("MLOPS_CI_DIFF_CONTEXTS").unwrap_or_else(|_| "{}".into());
        ctxs = vec![serde_json::from_str(&c).expect("MLOPS_CI_DIFF_CONTEXTS is a JSON object")];
        cases = vec![(expr, 0)];
    }
    let n = cases.len();
    let lines: Vec<String> = cases
        .iter()
        .map(|(e, c)| json!({"expr": e, "contexts": ctxs[*c]}).to_string() + "\n")
        .collect();

    let mut child = spawn_node(&dir);
    let mut stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let writer = std::thread::spawn(move || {
        for l in &lines {
            if stdin.write_all(l.as_bytes()).is_err() {
                break;
            }
        }
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut agreed = 0;
    let mut disagreements = Vec::new();
    for (i, (text, c)) in cases.iter().enumerate() {
        let left = BUDGET.saturating_sub(start.elapsed());
        let line = match rx.recv_timeout(left) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => panic!("reading eval.mjs output: {e}"),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "differential: over the {}s budget after {i} of {n} cases ({agreed} agree); \
                     lower MLOPS_CI_DIFF_CASES or look for a hang",
                    BUDGET.as_secs()
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait();
                panic!("eval.mjs stopped after {i} of {n} cases ({status:?})");
            }
        };
        let theirs: serde_json::Value = serde_json::from_str(&line).expect("eval.mjs writes JSON");
        assert_ne!(
            theirs["kind"], "harness",
            "eval.mjs failed on case {i}: {theirs}"
        );
        let contexts: IndexMap<String, Value> = ctxs[*c]
            .iter()
            .map(|(k, v)| (k.clone(), Value::from_json(v)))
            .collect();
        let mine = ours(text, &contexts);
        if agree(&mine, &theirs) {
            agreed += 1;
        } else {
            disagreements.push(format!(
                "case {i}: {text:?}\n  contexts: {}\n  ours:   {mine}\n  theirs: {theirs}",
                serde_json::Value::Object(ctxs[*c].clone())
            ));
        }
    }
    writer.join().expect("writer thread");
    let status = child.wait().expect("node exits");
    assert!(status.success(), "eval.mjs exited with {status}");

    for d in disagreements.iter().take(25) {
        eprintln!("{d}");
    }
    println!(
        "differential: {n} cases, {agreed} agree ({:.1}s)",
        start.elapsed().as_secs_f64()
    );
    assert!(
        disagreements.is_empty(),
        "{} of {n} cases disagree with @actions/expressions (first ones above)",
        disagreements.len()
    );
}

fn spawn_node(dir: &Path) -> std::process::Child {
    Command::new("node")
        .arg(dir.join("eval.mjs"))
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `node tests/differential/eval.mjs` ({e}): install node (v18+)")
        })
}
