//! The contents of a step's file commands (`GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_STATE`,
//! `GITHUB_PATH`) as the GitHub runner parses them (`FileCommandManager.cs`), and which names
//! `GITHUB_ENV` may set. Pure: the caller reads the files.

use thiserror::Error;

/// A file-command file that cannot be parsed. Messages carry line numbers and names, never
/// values (a value may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FileCommandError {
    #[error("line {line}: expected `NAME=value` or `NAME<<DELIMITER`")]
    InvalidFormat { line: usize },
    #[error("line {line}: the name before `{separator}` is empty")]
    EmptyName {
        line: usize,
        separator: &'static str,
    },
    #[error("line {line}: the delimiter after `{name}<<` is empty")]
    EmptyDelimiter { line: usize, name: String },
    #[error("line {line}: no line `{delimiter}` ends the value of `{name}`")]
    UnterminatedHeredoc {
        line: usize,
        name: String,
        delimiter: String,
    },
}

/// Parses `GITHUB_OUTPUT`, `GITHUB_ENV` or `GITHUB_STATE`: `NAME=value` lines (split at the
/// first `=`) and `NAME<<DELIM` … `DELIM` blocks, whichever of `=` and `<<` comes first on the
/// line. Empty lines between entries are skipped. Lines may end in `\n` or `\r\n`; a heredoc
/// value's lines are joined with `\n`, without the newline before the delimiter. The first line
/// exactly equal to the delimiter ends the value. Pairs come in file order (later ones win).
pub fn parse_key_values(text: &str) -> Result<Vec<(String, String)>, FileCommandError> {
    let mut pairs = Vec::new();
    let mut lines = text
        .split_terminator('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l));
    while let Some((number, line)) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(eq), h) if h.is_none_or(|h| eq < h) => {
                let (name, value) = (&line[..eq], &line[eq + 1..]);
                if name.is_empty() {
                    return Err(FileCommandError::EmptyName {
                        line: number,
                        separator: "=",
                    });
                }
                pairs.push((name.to_owned(), value.to_owned()));
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                if name.is_empty() {
                    return Err(FileCommandError::EmptyName {
                        line: number,
                        separator: "<<",
                    });
                }
                if delimiter.is_empty() {
                    return Err(FileCommandError::EmptyDelimiter {
                        line: number,
                        name: name.to_owned(),
                    });
                }
                let mut value: Vec<&str> = Vec::new();
                loop {
                    match lines.next() {
                        Some((_, l)) if l == delimiter => break,
                        Some((_, l)) => value.push(l),
                        None => {
                            return Err(FileCommandError::UnterminatedHeredoc {
                                line: number,
                                name: name.to_owned(),
                                delimiter: delimiter.to_owned(),
                            });
                        }
                    }
                }
                pairs.push((name.to_owned(), value.join("\n")));
            }
            _ => return Err(FileCommandError::InvalidFormat { line: number }),
        }
    }
    Ok(pairs)
}

/// Parses `GITHUB_PATH`: one directory per line (`\n` or `\r\n`), blank lines ignored, in file
/// order. Each later entry goes in front of `PATH`, and a directory added again moves to the
/// front.
pub fn parse_path_file(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Names that would run code in, or redirect, every later step.
const BLOCKED_ENV_NAMES: &[&str] = &[
    "NODE_OPTIONS",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "DYLD_INSERT_LIBRARIES",
    "DYLD_LIBRARY_PATH",
    "BASH_ENV",
    "ENV",
];

/// Prefixes reserved for the runner's own variables (`BASH_FUNC_` defines shell functions
/// that replace commands in bash).
const RESERVED_ENV_PREFIXES: &[&str] = &["GITHUB_", "RUNNER_", "MLOPS_", "BASH_FUNC_"];

/// Whether `GITHUB_ENV` may set `name` for later steps. Compared case-insensitively, as on
/// Windows and as the runner compares `NODE_OPTIONS`.
pub fn check_env_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an environment variable name must not be empty".to_owned());
    }
    if name.contains(['=', '\0']) {
        return Err(
            "an environment variable name must not contain `=` or a NUL character".to_owned(),
        );
    }
    let upper = name.to_ascii_uppercase();
    if upper == "PATH" {
        return Err(
            "`PATH` cannot be set through `GITHUB_ENV`; write the directory to `GITHUB_PATH`"
                .to_owned(),
        );
    }
    if let Some(blocked) = BLOCKED_ENV_NAMES.iter().find(|b| **b == upper) {
        return Err(format!(
            "`{blocked}` cannot be set through `GITHUB_ENV`: it would change how every later step runs"
        ));
    }
    if let Some(prefix) = RESERVED_ENV_PREFIXES
        .iter()
        .find(|p| upper.starts_with(**p))
    {
        return Err(format!(
            "`{name}` cannot be set through `GITHUB_ENV`: names starting with `{prefix}` are reserved"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The act `environment-files` vector, as the file its steps write.
    #[test]
    fn act_environment_files_vector() {
        let text = "KEY=value\n\
                    KEY=value=anothervalue\n\
                    KEY2<<EOF\n\
                    value2\n\
                    EOF\n\
                    KEY3<<ghadelimiter_b8273c6d-d535-419a-a010-b0aaac240e36\n\
                    value3\n\
                    ghadelimiter_b8273c6d-d535-419a-a010-b0aaac240e36\n";
        assert_eq!(
            parse_key_values(text).unwrap(),
            pairs(&[
                ("KEY", "value"),
                ("KEY", "value=anothervalue"),
                ("KEY2", "value2"),
                ("KEY3", "value3"),
            ])
        );
    }

    /// The act `environment-files-parser-bug` vector: a line with `=` inside a heredoc is part
    /// of the value, not another variable.
    #[test]
    fn act_parser_bug_vector() {
        let text = "test<<World\nx=Thats really Weird\nWorld\n";
        assert_eq!(
            parse_key_values(text).unwrap(),
            pairs(&[("test", "x=Thats really Weird")])
        );
    }

    #[test]
    fn vectors_on_disk_are_the_ones_tested() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/conformance/actions-workflow/act-runner-testdata");
        let Ok(bug) = std::fs::read_to_string(root.join("environment-files-parser-bug/push.yaml"))
        else {
            return; // The shared corpus is not part of the crate.
        };
        assert!(bug.contains(r#"echo "test<<World" > $GITHUB_ENV"#));
        assert!(bug.contains(r#"echo "x=Thats really Weird" >> $GITHUB_ENV"#));
        let files = std::fs::read_to_string(root.join("environment-files/push.yaml")).unwrap();
        assert!(files.contains(r#"echo "KEY=value=anothervalue" >> $GITHUB_ENV"#));
        assert!(files.contains("echo 'KEY3<<ghadelimiter_b8273c6d-d535-419a-a010-b0aaac240e36'"));
    }

    #[test]
    fn whichever_separator_comes_first_decides() {
        assert_eq!(
            parse_key_values("A=x<<y\nB<<=\nq\n=\n").unwrap(),
            pairs(&[("A", "x<<y"), ("B", "q")])
        );
    }

    #[test]
    fn heredoc_values() {
        assert_eq!(
            parse_key_values("M<<EOF\nline 1\n\nline 3\nEOF\nE<<EOF\nEOF\n").unwrap(),
            pairs(&[("M", "line 1\n\nline 3"), ("E", "")])
        );
        // The delimiter must be the whole line: ` EOF` and `EOF ` are value lines.
        assert_eq!(
            parse_key_values("M<<EOF\n EOF\nEOF \nEOF").unwrap(),
            pairs(&[("M", " EOF\nEOF ")])
        );
    }

    #[test]
    fn crlf_is_tolerated() {
        assert_eq!(
            parse_key_values("A=1\r\n\r\nM<<EOF\r\nx\r\ny\r\nEOF\r\nB=2").unwrap(),
            pairs(&[("A", "1"), ("M", "x\ny"), ("B", "2")])
        );
    }

    #[test]
    fn empty_file_and_empty_values() {
        assert_eq!(parse_key_values("").unwrap(), pairs(&[]));
        assert_eq!(parse_key_values("\n\n").unwrap(), pairs(&[]));
        assert_eq!(parse_key_values("A=\n").unwrap(), pairs(&[("A", "")]));
    }

    #[test]
    fn errors_carry_line_numbers_and_no_values() {
        assert_eq!(
            parse_key_values("A=1\nM<<EOF\nsecret\n"),
            Err(FileCommandError::UnterminatedHeredoc {
                line: 2,
                name: "M".to_owned(),
                delimiter: "EOF".to_owned()
            })
        );
        let err = parse_key_values("A=1\n\njust-a-secret-value\n").unwrap_err();
        assert_eq!(err, FileCommandError::InvalidFormat { line: 3 });
        assert!(!err.to_string().contains("secret"));
        assert_eq!(
            err.to_string(),
            "line 3: expected `NAME=value` or `NAME<<DELIMITER`"
        );
        assert_eq!(
            parse_key_values("=v"),
            Err(FileCommandError::EmptyName {
                line: 1,
                separator: "="
            })
        );
        assert_eq!(
            parse_key_values("<<EOF\nx\nEOF"),
            Err(FileCommandError::EmptyName {
                line: 1,
                separator: "<<"
            })
        );
        assert_eq!(
            parse_key_values("M<<\nx\n"),
            Err(FileCommandError::EmptyDelimiter {
                line: 1,
                name: "M".to_owned()
            })
        );
        // A whitespace-only line is not an empty line.
        assert_eq!(
            parse_key_values("  \n"),
            Err(FileCommandError::InvalidFormat { line: 1 })
        );
    }

    /// E2: a value carrying a newline and a forged delimiter cannot smuggle a variable past
    /// the name check: every name that comes out is checked.
    #[test]
    fn injected_lines_come_out_as_checked_names() {
        // `echo "X<<EOF\n$UNTRUSTED\nEOF"` with UNTRUSTED = "a\nEOF\nLD_PRELOAD=/x".
        let parsed = parse_key_values("X<<EOF\na\nEOF\nLD_PRELOAD=/x\nEOF\n");
        // The stray closing delimiter is not `NAME=value`: the whole file is refused.
        assert_eq!(parsed, Err(FileCommandError::InvalidFormat { line: 5 }));
        let parsed = parse_key_values("X=a\nLD_PRELOAD=/x\n").unwrap();
        let refused: Vec<&str> = parsed
            .iter()
            .filter(|(name, _)| check_env_name(name).is_err())
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(refused, ["LD_PRELOAD"]);
    }

    #[test]
    fn path_file() {
        assert_eq!(
            parse_path_file("/home/u/someFolder\n\n  \r\n/tmp/x\r\n/opt/bin"),
            ["/home/u/someFolder", "/tmp/x", "/opt/bin"]
        );
        assert!(parse_path_file("").is_empty());
    }

    #[test]
    fn hijacking_env_names_are_refused() {
        for name in [
            "NODE_OPTIONS",
            "node_options",
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "BASH_ENV",
            "ENV",
            "PATH",
            "Path",
            "GITHUB_TOKEN",
            "GITHUB_ENV",
            "github_path",
            "RUNNER_TEMP",
            "MLOPS_CI_SECRET",
            "BASH_FUNC_ls%%",
            "A=B",
            "A\0B",
            "",
        ] {
            assert!(check_env_name(name).is_err(), "{name:?} accepted");
        }
        let path = check_env_name("PATH").unwrap_err();
        assert!(path.contains("`GITHUB_PATH`"), "{path}");
        assert_eq!(
            check_env_name("LD_PRELOAD").unwrap_err(),
            "`LD_PRELOAD` cannot be set through `GITHUB_ENV`: it would change how every later step runs"
        );
    }

    #[test]
    fn ordinary_env_names_are_accepted() {
        for name in [
            "KEY",
            "KEY2",
            "test",
            "x",
            "PYTHONPATH",
            "CUDA_VISIBLE_DEVICES",
            "HF_HOME",
            "MY_GITHUB_TOKEN",
            "ENVIRONMENT",
            "PATHS",
        ] {
            assert_eq!(check_env_name(name), Ok(()), "{name}");
        }
    }
}
