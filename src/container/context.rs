//! A build context as the Docker CLI sends it: a tar of the context folder without what
//! `.dockerignore` excludes (its patterns as Docker reads them: `*`, `?`, `**`, `!` exceptions,
//! the last match wins, a match on a folder covers what is inside), with the Dockerfile and
//! `.dockerignore` always included, and nothing from outside the context.

use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

use super::EngineError;

/// `.dockerignore`'s patterns, in order.
#[derive(Debug, Default)]
pub struct Ignore {
    patterns: Vec<(GlobMatcher, bool)>,
}

impl Ignore {
    /// Parses `.dockerignore` text.
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        let mut patterns = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exclude, pattern) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            let cleaned = clean(pattern);
            if cleaned.is_empty() {
                continue;
            }
            let glob = GlobBuilder::new(&cleaned)
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    EngineError::Context(format!(
                        "`.dockerignore` line {}: `{line}` is not a valid pattern: {e}",
                        n + 1
                    ))
                })?;
            patterns.push((glob.compile_matcher(), exclude));
        }
        Ok(Self { patterns })
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out.
    pub fn ignores(&self, path: &str) -> bool {
        let mut ignored = false;
        for (glob, exclude) in &self.patterns {
            let hit = glob.is_match(path)
                || path
                    .match_indices('/')
                    .any(|(i, _)| glob.is_match(&path[..i]));
            if hit {
                ignored = !exclude;
            }
        }
        ignored
    }

    fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|(_, exclude)| *exclude)
    }
}

/// A pattern as Docker cleans it: no leading `/` or `./`, no `.` parts, `..` resolved.
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Refuses a path that leaves its base (`..`, absolute): the Dockerfile's, the context's.
pub fn inside(base: &Path, relative: &str, what: &str) -> Result<PathBuf, EngineError> {
    let rel = Path::new(relative);
    let mut depth = 0i32;
    for c in rel.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => depth -= 1,
            Component::RootDir | Component::Prefix(_) => depth = -1,
        }
        if depth < 0 {
            return Err(EngineError::Context(format!(
                "{what} `{relative}` is outside `{}`; keep it inside",
                base.display()
            )));
        }
    }
    Ok(base.join(rel))
}

/// One `LABEL` instruction for every label, quoted so the builder takes each value as it is
/// (no `$` expansion, no line breaks).
pub fn label_instruction(labels: &indexmap::IndexMap<String, String>) -> String {
    let quote = |s: &str| {
        let mut out = String::from('"');
        for c in s.chars() {
            match c {
                '\\' | '"' | '$' => {
                    out.push('\\');
                    out.push(c);
                }
                '\n' | '\r' => out.push(' '),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    };
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}={}", quote(k), quote(v)))
        .collect();
    format!("LABEL {}", pairs.join(" "))
}

/// The context folder as a tar: every file not ignored, each with modification time `mtime`,
/// owner 0, in name order so the same files give the same bytes. `append` goes at the end of
/// the Dockerfile (one `LABEL` instruction: one build step instead of one per label).
pub fn pack(
    context: &Path,
    dockerfile: &str,
    mtime: u64,
    append: Option<&str>,
) -> Result<Vec<u8>, EngineError> {
    let io = |what: &str, e: std::io::Error| EngineError::Context(format!("{what}: {e}"));
    let dockerfile_path = inside(context, dockerfile, "the Dockerfile")?;
    if !dockerfile_path.is_file() {
        return Err(EngineError::Context(format!(
            "no Dockerfile at `{}`; set `dockerfile:` in the stage's `image`",
            dockerfile_path.display()
        )));
    }
    let ignore = match std::fs::read_to_string(context.join(".dockerignore")) {
        Ok(text) => Ignore::parse(&text)?,
        Err(_) => Ignore::default(),
    };
    let keep_always = [clean(dockerfile), ".dockerignore".to_owned()];
    let mut files = Vec::new();
    walk(context, context, &ignore, &keep_always, &mut files)
        .map_err(|e| io("while reading the build context", e))?;
    files.sort();
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.mode(tar::HeaderMode::Deterministic);
    for rel in &files {
        let path = context.join(rel);
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| io(&format!("while reading `{}`", path.display()), e))?;
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(&meta, tar::HeaderMode::Deterministic);
        header.set_mtime(mtime);
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path)
                .map_err(|e| io(&format!("while reading `{}`", path.display()), e))?;
            header.set_size(0);
            builder
                .append_link(&mut header, rel, target)
                .map_err(|e| io("while packing the build context", e))?;
        } else if meta.is_dir() {
            builder
                .append_data(&mut header, rel, std::io::empty())
                .map_err(|e| io("while packing the build context", e))?;
        } else if let (Some(extra), true) = (append, *rel == keep_always[0]) {
            let mut text = std::fs::read(&path)
                .map_err(|e| io(&format!("while reading `{}`", path.display()), e))?;
            text.extend_from_slice(format!("\n{extra}\n").as_bytes());
            header.set_size(text.len() as u64);
            builder
                .append_data(&mut header, rel, text.as_slice())
                .map_err(|e| io("while packing the build context", e))?;
        } else {
            let file = std::fs::File::open(&path)
                .map_err(|e| io(&format!("while reading `{}`", path.display()), e))?;
            builder
                .append_data(&mut header, rel, file)
                .map_err(|e| io("while packing the build context", e))?;
        }
    }
    builder
        .into_inner()
        .map_err(|e| io("while packing the build context", e))
}

fn walk(
    root: &Path,
    dir: &Path,
    ignore: &Ignore,
    keep: &[String],
    out: &mut Vec<String>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let kind = entry.file_type()?;
        let ignored = ignore.ignores(&rel) && !keep.contains(&rel);
        if kind.is_dir() {
            if ignored && !ignore.has_exceptions() {
                continue;
            }
            if !ignored {
                out.push(rel.clone());
            }
            walk(root, &path, ignore, keep, out)?;
        } else if !ignored {
            out.push(rel);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar_bytes: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(tar_bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn dockerignore_patterns_as_docker_reads_them() {
        let ig = Ignore::parse("# c\n*.log\n/data/**\n!data/keep.csv\nbuild\n**/*.tmp\n").unwrap();
        assert!(ig.ignores("x.log"));
        assert!(!ig.ignores("sub/x.log"), "`*` stays in one folder");
        assert!(ig.ignores("data/a.csv"));
        assert!(!ig.ignores("data/keep.csv"));
        assert!(
            ig.ignores("build/out/bin"),
            "a folder's match covers what is inside"
        );
        assert!(ig.ignores("a/b/c.tmp"));
        assert!(!ig.ignores("model/model.json"));
    }

    #[test]
    fn packing_honours_dockerignore_and_keeps_the_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("model")).unwrap();
        std::fs::create_dir_all(d.join("data")).unwrap();
        std::fs::write(d.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(d.join(".dockerignore"), "data\nDockerfile\n*.log\n").unwrap();
        std::fs::write(d.join("model/m.json"), "{}").unwrap();
        std::fs::write(d.join("data/big.csv"), "a").unwrap();
        std::fs::write(d.join("run.log"), "x").unwrap();
        let bytes = pack(d, "Dockerfile", 1_700_000_000, None).unwrap();
        let got = names(&bytes);
        assert_eq!(
            got,
            [".dockerignore", "Dockerfile", "model", "model/m.json"]
        );
        assert_eq!(
            bytes,
            pack(d, "Dockerfile", 1_700_000_000, None).unwrap(),
            "stable bytes"
        );
    }

    #[test]
    fn labels_become_one_quoted_instruction() {
        let mut labels = indexmap::IndexMap::new();
        labels.insert("a.b".to_owned(), "x \"y\" $HOME\nz".to_owned());
        labels.insert("c".to_owned(), String::new());
        assert_eq!(
            label_instruction(&labels),
            r#"LABEL "a.b"="x \"y\" \$HOME z" "c"="""#
        );
    }

    #[test]
    fn paths_escaping_the_context_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = pack(dir.path(), "../Dockerfile", 0, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("outside"), "{err}");
        assert!(inside(dir.path(), "/etc/passwd", "x").is_err());
        assert!(inside(dir.path(), "a/../b", "x").is_ok());
        assert!(inside(dir.path(), "a/../../b", "x").is_err());
    }
}
