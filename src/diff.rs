//! `mlops-ci diff`: the metrics files of two revisions, read from git trees with git2 (no
//! checkout) or from the workspace, compared and printed as `dvc metrics diff` prints them.
//! Joins `config`, `results::metrics` and `report::dvc`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use indexmap::IndexSet;

use crate::cli::DiffArgs;
use crate::report::dvc::{DiffFormat, DiffOptions, metrics_diff};
use crate::results::metrics::{self, MetricFiles, MetricsError};
use crate::{Context, ExitStatus};

/// The revision name that means the files on disk, as in DVC.
const WORKSPACE: &str = "workspace";

pub(crate) fn diff(ctx: &Context, args: &DiffArgs) -> anyhow::Result<ExitStatus> {
    let (targets, root) = if args.targets.is_empty() {
        let loaded = crate::load(ctx)?;
        let mut targets = IndexSet::new();
        for stage in loaded.config.stages.values() {
            targets.extend(stage.metrics.iter().map(|m| normalize(m)));
        }
        if targets.is_empty() {
            return Err(anyhow!(
                "no metrics files to compare: no stage in `{}` lists `metrics:`; pass `--targets FILE...`",
                loaded.source.name()
            ));
        }
        (targets, crate::workspace(ctx, Some(&loaded)))
    } else {
        let loaded = crate::load(ctx).ok();
        let targets = args.targets.iter().map(|t| normalize(t)).collect();
        (targets, crate::workspace(ctx, loaded.as_ref()))
    };

    let (a_name, old) = match &args.a_rev {
        Some(rev) => (rev.clone(), read_revision(&root, rev, &targets)?),
        None => baseline_side(ctx, &root, &targets)?,
    };
    let (b_name, new) = match &args.run {
        Some(path) => ("run".to_owned(), run_side(&ctx.dir.join(path), &targets)?),
        None => (
            args.b_rev.clone(),
            read_revision(&root, &args.b_rev, &targets)?,
        ),
    };
    let opts = DiffOptions {
        all: args.all,
        precision: args.precision,
        format: if args.json {
            DiffFormat::Json
        } else if args.md {
            DiffFormat::Markdown
        } else {
            DiffFormat::Plain
        },
        a_rev: a_name,
        b_rev: b_name,
        no_path: args.no_path,
    };
    let text = metrics_diff(&old, &new, &opts);
    write!(std::io::stdout(), "{text}").context("while printing the metrics diff")?;
    Ok(ExitStatus::Success)
}

/// Flattened JSON metrics (a note's, a run record's) as metric files, for `targets` only.
fn from_flat(
    files: &indexmap::IndexMap<String, crate::results::Flat>,
    targets: &IndexSet<String>,
) -> anyhow::Result<MetricFiles> {
    let mut out = MetricFiles::new();
    for (path, flat) in files {
        if !targets.contains(&normalize(path)) {
            continue;
        }
        let mut m = metrics::Metrics::new();
        for (k, v) in flat {
            let value = serde_json::from_value(v.clone())
                .with_context(|| format!("`{path}`: `{k}` is not a metric value"))?;
            m.insert(k.clone(), value);
        }
        out.insert(normalize(path), m);
    }
    Ok(out)
}

/// The baseline's metrics, named by its branch: from its note, or its tree (`baseline.store`).
fn baseline_side(
    ctx: &Context,
    root: &Path,
    targets: &IndexSet<String>,
) -> anyhow::Result<(String, MetricFiles)> {
    let loaded = crate::load(ctx).context("the baseline comes from mlops.yaml's `baseline:`")?;
    let found = crate::measure::find_baseline(&loaded.config, root, |n| std::env::var(n).ok())?;
    let Some(used) = found.used else {
        return Err(anyhow!(
            "{}; name the revisions to compare, such as `mlops-ci diff main HEAD`",
            found.message
        ));
    };
    if !ctx.quiet {
        eprintln!("{}", found.message);
    }
    Ok((used.branch.clone(), from_flat(&used.metrics, targets)?))
}

/// The metrics a stored run record holds.
fn run_side(path: &Path, targets: &IndexSet<String>) -> anyhow::Result<MetricFiles> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("while reading `{}`", path.display()))?;
    let record: crate::results::RunRecord = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not a run record", path.display()))?;
    let mut files = indexmap::IndexMap::new();
    for stage in &record.stages {
        files.extend(stage.metrics.clone());
    }
    from_flat(&files, targets)
}

/// `./a/b.json` → `a/b.json`, the way DVC names files in its output.
fn normalize(path: &str) -> String {
    let mut p = path;
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.to_owned()
}

/// The metrics of `targets` at `rev` (`workspace`: the files on disk). A file missing at the
/// revision is left out, so its metrics show as `-`; a file that is there but unreadable is an
/// error.
fn read_revision(
    root: &Path,
    rev: &str,
    targets: &IndexSet<String>,
) -> anyhow::Result<MetricFiles> {
    let mut files = MetricFiles::new();
    if rev == WORKSPACE {
        for target in targets {
            if root.join(target).is_dir() {
                return Err(directory_target(target));
            }
            match metrics::read(root, target) {
                Ok(m) => {
                    files.insert(target.clone(), m);
                }
                Err(MetricsError::Missing { .. }) => {}
                Err(e) => return Err(anyhow!(e).context("while reading the workspace's metrics")),
            }
        }
        return Ok(files);
    }
    let tree = GitTree::open(root, rev)?;
    for target in targets {
        let Some(text) = tree.read(target)? else {
            continue;
        };
        let m = metrics::parse(target, &text)
            .with_context(|| format!("while reading the metrics of revision `{rev}`"))?;
        files.insert(target.clone(), m);
    }
    Ok(files)
}

fn directory_target(target: &str) -> anyhow::Error {
    anyhow!("`{target}` is a directory; directory targets are not supported yet, name the files")
}

/// One revision's tree, read straight from the object database.
struct GitTree {
    repo: git2::Repository,
    tree_id: git2::Oid,
    /// Where `root` sits inside the repository (empty at the top).
    prefix: PathBuf,
    rev: String,
}

impl GitTree {
    fn open(root: &Path, rev: &str) -> anyhow::Result<Self> {
        let repo = git2::Repository::discover(root).map_err(|e| {
            anyhow!(
                "cannot read revision `{rev}`: `{}` is not in a git repository ({})",
                root.display(),
                e.message()
            )
        })?;
        let object = repo.revparse_single(rev).map_err(|_| {
            anyhow!("revision `{rev}` does not exist in this repository; fetch it (`git fetch origin {rev}`) or check the spelling")
        })?;
        let tree_id = object
            .peel_to_tree()
            .map_err(|e| anyhow!("revision `{rev}` does not name a commit: {}", e.message()))?
            .id();
        drop(object);
        let workdir = repo
            .workdir()
            .map_or_else(|| root.to_path_buf(), Path::to_path_buf);
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let prefix = canon(root)
            .strip_prefix(canon(&workdir))
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Ok(Self {
            repo,
            tree_id,
            prefix,
            rev: rev.to_owned(),
        })
    }

    /// The text of `path` at this revision, or `None` when it is not there.
    fn read(&self, path: &str) -> anyhow::Result<Option<String>> {
        let tree = self.repo.find_tree(self.tree_id)?;
        let entry = match tree.get_path(&self.prefix.join(path)) {
            Ok(e) => e,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => {
                return Err(anyhow!(
                    "could not look up `{path}` at revision `{}`: {}",
                    self.rev,
                    e.message()
                ));
            }
        };
        if entry.kind() == Some(git2::ObjectType::Tree) {
            return Err(directory_target(path));
        }
        let blob = entry
            .to_object(&self.repo)
            .and_then(|o| o.peel_to_blob())
            .map_err(|e| {
                anyhow!(
                    "could not read `{path}` at revision `{}`: {}",
                    self.rev,
                    e.message()
                )
            })?;
        let text = String::from_utf8(blob.content().to_vec()).map_err(|_| {
            anyhow!(
                "metrics file `{path}` at revision `{}` is not UTF-8 text",
                self.rev
            )
        })?;
        Ok(Some(text))
    }
}
