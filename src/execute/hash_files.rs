//! `hashFiles(...)`: the sha256 of the files that match glob patterns under the workspace,
//! computed as GitHub's runner does (a sha256 over each matched file's sha256).

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Hashes the files under `root` that match `patterns` (`*`, `?`, `**`; a leading `!`
/// excludes). Files are taken in path order; no match gives the empty string.
pub fn hash_files(root: &Path, patterns: &[String]) -> Result<String, String> {
    let rules: Vec<(bool, Vec<String>)> = patterns
        .iter()
        .flat_map(|p| {
            p.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect::<Vec<_>>()
        })
        .map(|p| match p.strip_prefix('!') {
            Some(rest) => (false, segments(rest)),
            None => (true, segments(p)),
        })
        .collect();
    let mut files = Vec::new();
    walk(root, root, &mut files)
        .map_err(|e| format!("hashFiles could not read the workspace: {e}"))?;
    files.sort();
    let mut total = Sha256::new();
    let mut count = 0;
    for (relative, path) in files {
        let parts: Vec<&str> = relative.split('/').collect();
        let mut included = false;
        for (include, pattern) in &rules {
            if glob_match(pattern, &parts) {
                included = *include;
            }
        }
        if included {
            let bytes = fs::read(&path)
                .map_err(|e| format!("hashFiles could not read `{relative}`: {e}"))?;
            total.update(Sha256::digest(&bytes));
            count += 1;
        }
    }
    Ok(if count == 0 {
        String::new()
    } else {
        hex(&total.finalize())
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn segments(pattern: &str) -> Vec<String> {
    pattern
        .trim_start_matches("./")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if entry.file_name() == ".git" {
            continue;
        }
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            out.push((relative, path));
        }
    }
    Ok(())
}

/// Matches path segments against pattern segments; `**` spans any number of segments.
fn glob_match(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|i| glob_match(rest, &path[i..]))
        }
        Some((first, rest)) => path
            .split_first()
            .is_some_and(|(seg, tail)| segment_match(first, seg) && glob_match(rest, tail)),
    }
}

fn segment_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let seg = |p: &str| segments(p);
        assert!(glob_match(&seg("**/*.lock"), &["a", "b", "x.lock"]));
        assert!(glob_match(&seg("**/*.lock"), &["x.lock"]));
        assert!(!glob_match(&seg("*.lock"), &["a", "x.lock"]));
        assert!(glob_match(&seg("src/?.rs"), &["src", "a.rs"]));
    }

    #[test]
    fn hashes_like_the_runner() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a")).unwrap();
        fs::write(dir.path().join("a/one.txt"), "1").unwrap();
        fs::write(dir.path().join("two.txt"), "2").unwrap();
        fs::write(dir.path().join("skip.md"), "3").unwrap();
        let got = hash_files(dir.path(), &["**/*.txt".to_owned()]).unwrap();
        let mut want = Sha256::new();
        want.update(Sha256::digest(b"1"));
        want.update(Sha256::digest(b"2"));
        assert_eq!(got, hex(&want.finalize()));
        let excluded =
            hash_files(dir.path(), &["**/*.txt".to_owned(), "!a/**".to_owned()]).unwrap();
        assert_eq!(excluded, hex(&Sha256::digest(Sha256::digest(b"2"))));
        assert_eq!(hash_files(dir.path(), &["*.none".to_owned()]).unwrap(), "");
    }
}
