//! mlops.yaml text → a validated [`Config`]. The sole reader of mlops.yaml: every problem is
//! reported at once, each pointing at the user's text. May use `diagnostic` (and `expr`).

pub mod model;
mod schema_check;
mod validate;
pub mod yaml;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

pub use model::Config;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, SourceFile, Span};

/// Files larger than this are refused before they are parsed.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// The names looked for at the repository root, in order.
pub const FILE_NAMES: [&str; 2] = ["mlops.yaml", ".mlops.yaml"];

/// Why no config could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no `mlops.yaml` or `.mlops.yaml` in `{}`", dir.display())]
    NotFound { dir: PathBuf },
    #[error("config file `{}` does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("could not read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(#[from] crate::diagnostic::Report),
}

impl ConfigError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NotFound { .. } => Some(
                "create one (see the README's first mlops.yaml), or pass `-c FILE` or `-C DIR`"
                    .to_owned(),
            ),
            Self::Missing { .. } => Some("check the path given to `-c`".to_owned()),
            Self::Read { .. } | Self::Invalid(_) => None,
        }
    }
}

/// The problems found in one config file.
pub use crate::diagnostic::Report as ConfigErrors;

/// A config and the file it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub source: SourceFile,
    pub config: Config,
}

/// The JSON Schema of mlops.yaml, generated from the types in [`model`].
pub fn schema() -> &'static Value {
    static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
        let mut schema = serde_json::to_value(schemars::schema_for!(Config)).unwrap_or_default();
        if let Some(obj) = schema.as_object_mut() {
            obj.insert(
                "$id".to_owned(),
                Value::String("https://mlops-ci.dev/schema/mlops.schema.json".to_owned()),
            );
        }
        schema
    });
    &SCHEMA
}

/// Finds the config: `explicit` if given, else `mlops.yaml` then `.mlops.yaml` in `start` and
/// each folder above it, up to the root of the repository that holds `start`.
pub fn locate(start: &Path, explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(path) = explicit {
        let path = start.join(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(ConfigError::Missing { path })
        };
    }
    let root = start.ancestors().find(|dir| dir.join(".git").exists());
    let searched: Vec<&Path> = match root {
        Some(root) => start
            .ancestors()
            .take_while(|d| d.starts_with(root))
            .collect(),
        None => vec![start],
    };
    searched
        .iter()
        .flat_map(|dir| FILE_NAMES.iter().map(move |name| dir.join(name)))
        .find(|p| p.is_file())
        .ok_or_else(|| ConfigError::NotFound {
            dir: root.unwrap_or(start).to_path_buf(),
        })
}

/// Reads, parses and validates the config at `path`, shown to the user as `display_name`.
pub fn load(path: &Path, display_name: &str) -> Result<Loaded, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let size = fs::metadata(path).map_err(read_err)?.len();
    if size > MAX_FILE_BYTES {
        return Err(too_large(display_name, size).into());
    }
    let bytes = fs::read(path).map_err(read_err)?;
    let (source, config) = load_source(display_name, &bytes)?;
    Ok(Loaded {
        path: path.to_path_buf(),
        source,
        config,
    })
}

/// Parses and validates config bytes named `name`; never panics, whatever the bytes.
pub fn load_bytes(name: &str, bytes: &[u8]) -> Result<Config, ConfigErrors> {
    load_source(name, bytes).map(|(_, config)| config)
}

fn too_large(name: &str, size: u64) -> ConfigErrors {
    ConfigErrors::new(
        SourceFile::new(name, ""),
        Diagnostic::error(format!(
            "`{name}` is {size} bytes; mlops.yaml may be at most {MAX_FILE_BYTES} bytes (1 MiB)"
        ))
        .hint("move data out of the config: reference files by path instead"),
    )
}

fn load_source(name: &str, bytes: &[u8]) -> Result<(SourceFile, Config), ConfigErrors> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(name, bytes.len() as u64));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let source = SourceFile::new(name, String::from_utf8_lossy(bytes).into_owned());
            let at = e.valid_up_to();
            let d = Diagnostic::error("mlops.yaml is not valid UTF-8")
                .at(Span::new(at, at + 1), "invalid bytes here")
                .hint("save the file as UTF-8");
            return Err(ConfigErrors::new(source, d));
        }
    };
    let source = SourceFile::new(name, text);
    let fail = |diagnostics: Vec<Diagnostic>| ConfigErrors {
        source_file: source.clone(),
        diagnostics,
    };
    let root = match yaml::parse(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(fail(vec![
                Diagnostic::error(format!("`{name}` is empty"))
                    .hint("start with `version: 1` and a `stages:` mapping; see the README"),
            ]));
        }
        Err(d) => return Err(fail(vec![d])),
    };
    let schema = schema();
    let mut diagnostics = schema_check::check(&root, schema);
    diagnostics.extend(validate::check(&root, schema, text));
    if !diagnostics.is_empty() {
        diagnostics.sort_by_key(|d| d.span.map_or(0, |s| s.start));
        diagnostics.dedup();
        return Err(fail(diagnostics));
    }
    serde_saphyr::from_str::<Config>(text)
        .map(|config| (source.clone(), config))
        .map_err(|e| fail(vec![deserialize_error(text, &e)]))
}

/// A problem the typed read found that the checks above did not: still pointed, never a panic.
fn deserialize_error(text: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let message = e.to_string();
    let first = message
        .lines()
        .next()
        .unwrap_or("invalid value")
        .trim_end_matches('.')
        .to_owned();
    let d = Diagnostic::error(format!("invalid mlops.yaml: {first}"));
    match e.location() {
        Some(loc) => {
            let offset = offset_of(text, loc.line(), loc.column());
            d.at(Span::new(offset, offset + 1), "here")
        }
        None => d,
    }
}

fn offset_of(text: &str, line: u64, column: u64) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(usize::try_from(line.saturating_sub(1)).unwrap_or(usize::MAX))
        .map(str::len)
        .sum();
    let col = usize::try_from(column.saturating_sub(1)).unwrap_or(0);
    text[line_start.min(text.len())..]
        .char_indices()
        .nth(col)
        .map_or(text.len(), |(i, _)| line_start + i)
}
