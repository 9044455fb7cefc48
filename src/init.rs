//! `mlops-ci init`: looks at the files of a repository and writes a starter `mlops.yaml` fitted
//! to them, with the two GitHub workflows that run it (the run, and the fork-safe comment), never
//! over an existing file. Uses `cli` and `git2` (to read the `origin` remote) only.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::InitArgs;
use crate::{Context, ExitStatus};

/// Where the project's GitHub Action lives; `--action` names another (a fork or a mirror).
pub const ACTION_REPOSITORY: &str = "mlops-ci/mlops-ci";

/// The full commit this binary was built from: the action's pin unless `--action` says otherwise.
const BUILD_COMMIT: &str = env!("MLOPS_CI_GIT_COMMIT");

const CHECKOUT: &str = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2";
const SETUP_PYTHON: &str = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0";
const UPLOAD_ARTIFACT: &str =
    "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2";
const DOWNLOAD_ARTIFACT: &str =
    "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093 # v4.3.0";

/// The files `init` writes, relative to the folder it acts in and to the repository root.
pub const CONFIG_FILE: &str = "mlops.yaml";
pub const WORKFLOW_FILE: &str = ".github/workflows/mlops.yml";
pub const COMMENT_WORKFLOW_FILE: &str = ".github/workflows/mlops-comment.yml";

/// How deep below the folder `init` looks for files.
const DEPTH: usize = 2;
/// Folders never looked into: tools' caches and environments, not the project's files.
const SKIPPED: &[&str] = &[
    "node_modules",
    "target",
    "venv",
    "env",
    "__pycache__",
    "site-packages",
    "build",
    "dist",
];
const METRICS_NAMES: &[&str] = &[
    "metrics.json",
    "metrics.yaml",
    "metrics.yml",
    "metrics.toml",
    "scores.json",
];

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(
        "{} already, and `mlops-ci init` never overwrites a file: move {} away, or print what it would write with `mlops-ci init --stdout`",
        exists_list(.0),
        if .0.len() == 1 { "it" } else { "them" }
    )]
    Exists(Vec<String>),
    #[error(
        "`--action {0}` is not OWNER/REPO@SHA: the workflows pin the action by its full 40-character commit SHA"
    )]
    BadAction(String),
    #[error(
        "this build of mlops-ci does not know the commit it was built from, so it cannot pin the action: pass `--action OWNER/REPO@SHA`"
    )]
    NoCommit,
}

fn exists_list(paths: &[String]) -> String {
    let names: Vec<String> = paths.iter().map(|p| format!("`{p}`")).collect();
    format!(
        "{} {}",
        names.join(", "),
        if paths.len() == 1 { "exists" } else { "exist" }
    )
}

/// What `init` found in the folder: paths relative to it, with `/` separators.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Found {
    pub train: Option<String>,
    pub evaluate: Option<String>,
    pub params: Option<String>,
    pub dockerfile: Option<String>,
    pub requirements: Option<String>,
    pub metrics: Vec<String>,
    pub data_dir: bool,
}

impl Found {
    fn python(&self) -> bool {
        self.train.is_some() || self.evaluate.is_some() || self.requirements.is_some()
    }

    /// One line naming what was found, for the message after writing.
    pub fn summary(&self) -> String {
        let mut names: Vec<&str> = [
            &self.train,
            &self.evaluate,
            &self.params,
            &self.dockerfile,
            &self.requirements,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
        names.extend(self.metrics.iter().map(String::as_str));
        if self.data_dir {
            names.push("data/");
        }
        if names.is_empty() {
            "nothing it knows".to_owned()
        } else {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// Looks at the files up to [`DEPTH`] folders down, shallowest first, in name order.
pub fn survey(dir: &Path) -> Found {
    let mut found = Found {
        data_dir: dir.join("data").is_dir(),
        ..Found::default()
    };
    let mut queue = VecDeque::from([(dir.to_path_buf(), 0)]);
    let mut files = Vec::new();
    while let Some((folder, depth)) = queue.pop_front() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if depth < DEPTH && !name.starts_with('.') && !SKIPPED.contains(&name.as_str()) {
                    queue.push_back((entry.path(), depth + 1));
                }
            } else if usable(&name) {
                let rel = entry.path();
                let rel = rel.strip_prefix(dir).unwrap_or(&rel);
                files.push((name, slashed(rel)));
            }
        }
    }
    let first = |names: &[&str]| {
        files
            .iter()
            .find(|(n, _)| names.contains(&n.as_str()))
            .map(|(_, p)| p.clone())
    };
    found.train = first(&["train.py"]);
    found.evaluate = first(&["evaluate.py", "eval.py"]);
    found.params = first(&["params.yaml"]);
    found.dockerfile = first(&["Dockerfile"]);
    found.requirements = first(&["requirements.txt"]);
    for (name, path) in &files {
        if METRICS_NAMES.contains(&name.as_str()) && !found.metrics.contains(path) {
            found.metrics.push(path.clone());
        }
    }
    for script in [&found.evaluate, &found.train].into_iter().flatten() {
        if let Ok(text) = std::fs::read_to_string(dir.join(script)) {
            for name in metrics_literals(&text) {
                if !found.metrics.contains(&name) {
                    found.metrics.push(name);
                }
            }
        }
    }
    found
}

/// A file name `init` may write into YAML and shell text: none that holds an expression.
fn usable(name: &str) -> bool {
    !name.contains("${{") && !name.contains('\n')
}

fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// String literals in a script that look like the name of a metrics file it writes, such as
/// `"metrics.json"` or `'reports/scores.yaml'`.
pub fn metrics_literals(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for quote in ['"', '\''] {
        for (i, piece) in text.split(quote).enumerate() {
            if i % 2 == 0 {
                continue;
            }
            let lower = piece.to_ascii_lowercase();
            let named = lower.contains("metric") || lower.contains("score");
            let data = [".json", ".yaml", ".yml", ".toml"]
                .iter()
                .any(|e| lower.ends_with(e));
            let plain = !piece.is_empty()
                && !piece.starts_with(['/', '-', '.'])
                && piece
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c));
            if named && data && plain && !out.iter().any(|o| o == piece) {
                out.push(piece.to_owned());
            }
        }
    }
    out
}

/// A YAML scalar for `text`: plain when that is safe, else single-quoted.
fn yaml(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.starts_with(['-', ' '])
        && !text.ends_with(' ')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-@ ".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "''"))
    }
}

/// A word for bash: as is when that is safe, else single-quoted.
fn shell(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-@".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// A name for the pipeline from the folder's: lowercase, `-` for anything else.
pub fn pipeline_name(dir: &Path) -> String {
    let raw = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_owned();
    if name.is_empty() {
        "model".to_owned()
    } else {
        name
    }
}

/// `owner/name` of a GitHub remote URL, lowercased (as ghcr.io wants it).
pub fn github_slug(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("git@github.com:")
        .or_else(|| url.split_once("github.com/").map(|(_, r)| r))?;
    let rest = rest.trim_end_matches('/').trim_end_matches(".git");
    let (owner, name) = rest.split_once('/')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    (ok(owner) && ok(name)).then(|| format!("{owner}/{name}").to_lowercase())
}

fn origin_slug(dir: &Path) -> Option<String> {
    let repo = git2::Repository::discover(dir).ok()?;
    let remote = repo.find_remote("origin").ok()?;
    github_slug(remote.url().ok()?)
}

/// Renders `mlops.yaml` for what was found. `image` is the model image's name.
pub fn render_config(name: &str, found: &Found, image: &str) -> String {
    let mut out = format!(
        "# The pipeline mlops-ci runs on every pull request, push to main and release tag.\n\
         # Written by `mlops-ci init` from the files it found here: {found}.\n\
         # `mlops-ci lint` checks it, `mlops-ci plan` shows what a run does, `mlops-ci check`\n\
         # runs it here; `mlops-ci schema` prints every key.\n\
         version: 1\n\
         name: {name}\n\
         \n\
         env:\n  PYTHONHASHSEED: \"0\" # the same hashes in every run\n\
         \n\
         baseline:\n  branch: main # pull requests are compared with main's last recorded run\n  \
         store: notes # runs on main record their metrics as git notes\n\
         \n\
         stages:\n",
        found = found.summary(),
        name = yaml(name),
    );
    let last = render_stages(&mut out, found);
    if let Some(dockerfile) = &found.dockerfile {
        let context = dockerfile.rsplit_once('/').map_or(".", |(d, _)| d);
        let _ = write!(
            out,
            "\n  package:\n    needs: [{last}]\n    image: # built with the Docker engine\n      \
             name: {image}\n      context: {}\n      dockerfile: {}\n      \
             # pull requests build the image; pushes to main and tags push it\n      \
             push: ${{{{ github.event_name != 'pull_request' }}}}\n",
            yaml(context),
            yaml(dockerfile),
        );
    }
    let _ = write!(
        out,
        "\nrelease: # a tag `v1.2.0` or `{name}@v1.2.0` releases the model\n  model: {}\n\
         \nreport:\n  comment: sticky # one PR comment, updated in place\n",
        yaml(name)
    );
    out
}

/// Writes the `train` (and `evaluate`) stages; returns the name of the last.
fn render_stages(out: &mut String, found: &Found) -> &'static str {
    let mut deps: Vec<String> = found.train.iter().cloned().collect();
    if found.data_dir {
        deps.push("data/".to_owned());
    }
    out.push_str("  train:\n");
    if !deps.is_empty() {
        let deps: Vec<String> = deps.iter().map(|d| yaml(d)).collect();
        let _ = writeln!(
            out,
            "    deps: [{}] # what the training reads",
            deps.join(", ")
        );
    }
    if let Some(params) = &found.params {
        let _ = writeln!(
            out,
            "    params: [{}] # changed params show in the PR report",
            yaml(params)
        );
    }
    out.push_str("    timeout-minutes: 60\n    steps:\n      - name: Train\n");
    match &found.train {
        Some(train) => {
            let _ = writeln!(
                out,
                "        run: {}",
                yaml(&format!("python3 {}", shell(train)))
            );
        }
        None => {
            let _ = writeln!(
                out,
                "        # No `train.py` was found: put the training command here.\n        run: {}",
                yaml(
                    "echo 'mlops-ci init found no train.py: put the training command in mlops.yaml' >&2; exit 1"
                )
            );
        }
    }
    let Some(evaluate) = &found.evaluate else {
        render_metrics(out, found);
        return "train";
    };
    let _ = writeln!(
        out,
        "\n  evaluate:\n    needs: [train]\n    steps:\n      - name: Evaluate\n        run: {}",
        yaml(&format!("python3 {}", shell(evaluate)))
    );
    render_metrics(out, found);
    "evaluate"
}

fn render_metrics(out: &mut String, found: &Found) {
    if found.metrics.is_empty() {
        out.push_str(
            "    # The metrics file the step writes (json, yaml or toml), diffed against main:\n    \
             # metrics: [metrics.json]\n",
        );
    } else {
        let files: Vec<String> = found.metrics.iter().map(|m| yaml(m)).collect();
        let _ = writeln!(
            out,
            "    metrics: [{}] # nested keys join with '.'",
            files.join(", ")
        );
    }
    out.push_str(
        "    # Gates fail the run when a metric is below a floor or worse than main's:\n    \
         # gates:\n    #   - metric: accuracy\n    #     min: 0.9\n    \
         #     regression: 0.01 # or \"2%\"\n",
    );
}

/// What the workflows need to know beyond [`Found`].
#[derive(Debug, Clone)]
pub struct WorkflowSettings {
    /// `owner/repo@sha` of the action.
    pub action: String,
    /// The folder of `mlops.yaml` relative to the repository root, when it is not the root.
    pub working_directory: Option<String>,
    /// Whether the model image goes to ghcr.io (the push job then needs `packages: write`).
    pub ghcr: bool,
}

fn setup_steps(found: &Found, settings: &WorkflowSettings) -> String {
    if !found.python() {
        return String::new();
    }
    let mut out = format!(
        "      - uses: {SETUP_PYTHON}\n        with:\n          python-version: \"3.12\"\n"
    );
    if let Some(req) = &found.requirements {
        let path = match &settings.working_directory {
            Some(wd) => format!("{wd}/{req}"),
            None => req.clone(),
        };
        let _ = write!(
            out,
            "      - name: Install the Python requirements\n        run: {}\n",
            yaml(&format!("python -m pip install -r {}", shell(&path)))
        );
    }
    out
}

fn action_step(settings: &WorkflowSettings) -> String {
    let mut out = format!(
        "      - name: mlops-ci run\n        id: mlops\n        uses: {} # mlops-ci {}\n        \
         with:\n          command: run\n          github-token: ${{{{ github.token }}}}\n",
        settings.action,
        env!("CARGO_PKG_VERSION")
    );
    if let Some(wd) = &settings.working_directory {
        let _ = writeln!(out, "          working-directory: {}", yaml(wd));
    }
    out
}

/// Renders `.github/workflows/mlops.yml`: the run on pull requests, and on pushes to main and
/// tags, each job with the permissions it needs and no more.
pub fn render_workflow(found: &Found, settings: &WorkflowSettings) -> String {
    let checkout = format!(
        "      - uses: {CHECKOUT}\n        with:\n          \
         fetch-depth: 0 # the baseline is an ancestor commit: keep the history\n          \
         persist-credentials: false\n"
    );
    let setup = setup_steps(found, settings);
    let run = action_step(settings);
    let packages = if settings.ghcr {
        "      packages: write # push the model image to ghcr.io\n"
    } else {
        ""
    };
    format!(
        "# Runs mlops-ci: on a pull request it posts the report; on main it records the baseline;\n\
         # on a tag it releases the model. Written by `mlops-ci init`.\n\
         name: mlops\n\
         \n\
         on:\n  pull_request:\n  push:\n    branches: [main]\n    tags: [\"v*\", \"*@v*\"]\n\
         \n\
         permissions: {{}}\n\
         \n\
         concurrency:\n  group: mlops-${{{{ github.ref }}}}\n  \
         cancel-in-progress: ${{{{ github.event_name == 'pull_request' }}}}\n\
         \n\
         jobs:\n  \
         pull-request:\n    name: mlops-ci on the pull request\n    \
         if: github.event_name == 'pull_request'\n    runs-on: ubuntu-latest\n    \
         timeout-minutes: 60\n    permissions:\n      \
         contents: read # check out the code; read main's baseline\n      \
         pull-requests: write # the sticky report comment\n      \
         checks: write # the check run with the verdict\n      \
         statuses: write # a commit status where a check run cannot be made\n    \
         steps:\n{checkout}{setup}{run}      \
         # A fork's token cannot comment: its run leaves a bundle, which mlops-comment.yml\n      \
         # posts from a trusted workflow_run.\n      \
         - name: Upload the report bundle\n        \
         if: always() && steps.mlops.outputs.bundle-path != ''\n        \
         uses: {UPLOAD_ARTIFACT}\n        with:\n          name: mlops-ci-bundle\n          \
         path: ${{{{ steps.mlops.outputs.bundle-path }}}}\n          retention-days: 7\n\
         \n  \
         main:\n    name: mlops-ci on main and tags\n    if: github.event_name == 'push'\n    \
         runs-on: ubuntu-latest\n    timeout-minutes: 60\n    permissions:\n      \
         contents: write # push the baseline note on main; make the release on a tag\n\
         {packages}    steps:\n{checkout}{setup}{run}"
    )
}

/// Renders `.github/workflows/mlops-comment.yml`: posts a fork's report from its bundle. It
/// never checks out or runs the pull request's code: the bundle is data, which `mlops-ci
/// comment` checks against the pull request before it posts.
pub fn render_comment_workflow(settings: &WorkflowSettings) -> String {
    format!(
        "# Posts the report of a pull request from a fork, whose own token cannot comment.\n\
         # It runs trusted, so it never checks out or runs the pull request's code: it downloads\n\
         # the bundle the `mlops` run uploaded, as data, and `mlops-ci comment` checks that the\n\
         # bundle is about that pull request and its head commit before posting it.\n\
         # Written by `mlops-ci init`.\n\
         name: mlops-comment\n\
         \n\
         on:\n  \
         workflow_run: # zizmor: ignore[dangerous-triggers] no code of the pull request runs here\n    \
         workflows: [mlops]\n    types: [completed]\n\
         \n\
         permissions: {{}}\n\
         \n\
         # One at a time per branch of the fork, the newest last.\n\
         concurrency:\n  \
         group: mlops-comment-${{{{ github.event.workflow_run.head_repository.full_name }}}}-${{{{ github.event.workflow_run.head_branch }}}}\n  \
         cancel-in-progress: false\n\
         \n\
         jobs:\n  comment:\n    name: post the report of a fork's pull request\n    \
         if: github.event.workflow_run.event == 'pull_request' && \
         github.event.workflow_run.head_repository.full_name != github.repository\n    \
         runs-on: ubuntu-latest\n    timeout-minutes: 10\n    permissions:\n      \
         actions: read # download the bundle of the other run\n      \
         pull-requests: write # the sticky report comment\n      \
         checks: write # the check run with the verdict\n      \
         statuses: write # a commit status where a check run cannot be made\n    \
         steps:\n      - name: Download the report bundle\n        uses: {DOWNLOAD_ARTIFACT}\n        \
         with:\n          name: mlops-ci-bundle\n          \
         path: ${{{{ runner.temp }}}}/mlops-ci-bundle\n          \
         run-id: ${{{{ github.event.workflow_run.id }}}}\n          \
         github-token: ${{{{ github.token }}}}\n      \
         - name: mlops-ci comment\n        uses: {action} # mlops-ci {version}\n        with:\n          \
         command: comment\n          args: --from ${{{{ runner.temp }}}}/mlops-ci-bundle\n          \
         github-token: ${{{{ github.token }}}}\n",
        action = settings.action,
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// `owner/repo@sha`, checked: the SHA must be a full commit SHA.
pub fn action_ref(given: Option<&str>) -> Result<String, InitError> {
    let Some(given) = given else {
        if BUILD_COMMIT.len() == 40 {
            return Ok(format!("{ACTION_REPOSITORY}@{BUILD_COMMIT}"));
        }
        return Err(InitError::NoCommit);
    };
    let ok = given.split_once('@').is_some_and(|(repo, sha)| {
        let mut parts = repo.split('/');
        parts.clone().count() >= 2
            && parts.all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            })
            && sha.len() == 40
            && sha.chars().all(|c| c.is_ascii_hexdigit())
    });
    if ok {
        Ok(given.to_owned())
    } else {
        Err(InitError::BadAction(given.to_owned()))
    }
}

/// The files `init` would write: (path relative to `dir`, absolute path, text).
fn files(ctx: &Context, args: &InitArgs) -> anyhow::Result<Vec<(String, PathBuf, String)>> {
    let dir = &ctx.dir;
    let action = action_ref(args.action.as_deref())?;
    let root = dir
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(dir);
    let working_directory = dir
        .strip_prefix(root)
        .ok()
        .filter(|rel| !rel.as_os_str().is_empty())
        .map(slashed);
    let found = survey(dir);
    let slug = origin_slug(dir);
    // At the root, the repository's name; in a subfolder (a monorepo), the folder's.
    let name = match slug.as_deref().and_then(|s| s.split_once('/')) {
        Some((_, repo)) if working_directory.is_none() => pipeline_name(Path::new(repo)),
        _ => pipeline_name(dir),
    };
    let image = match &slug {
        Some(slug) if working_directory.is_none() => format!("ghcr.io/{slug}"),
        Some(slug) => format!("ghcr.io/{slug}/{name}"),
        None => format!("ghcr.io/${{{{ github.repository_owner }}}}/{name}"),
    };
    let settings = WorkflowSettings {
        action,
        ghcr: found.dockerfile.is_some(),
        working_directory,
    };
    let rel_root = |file: &str| {
        let abs = root.join(file);
        let shown = pathdiff(&abs, dir);
        (shown, abs)
    };
    let (wf, wf_abs) = rel_root(WORKFLOW_FILE);
    let (cwf, cwf_abs) = rel_root(COMMENT_WORKFLOW_FILE);
    if ctx.verbose {
        eprintln!("found {}", found.summary());
    }
    Ok(vec![
        (
            CONFIG_FILE.to_owned(),
            dir.join(CONFIG_FILE),
            render_config(&name, &found, &yaml(&image)),
        ),
        (wf, wf_abs, render_workflow(&found, &settings)),
        (cwf, cwf_abs, render_comment_workflow(&settings)),
    ])
}

/// `path` as seen from `base` (an ancestor of it, or a folder below the root it is under).
fn pathdiff(path: &Path, base: &Path) -> String {
    if let Ok(rel) = path.strip_prefix(base) {
        return slashed(rel);
    }
    let mut up = String::new();
    let mut base = base;
    while let Some(parent) = base.parent() {
        up.push_str("../");
        if let Ok(rel) = path.strip_prefix(parent) {
            return format!("{up}{}", slashed(rel));
        }
        base = parent;
    }
    path.display().to_string()
}

/// `mlops-ci init`.
pub fn init(ctx: &Context, args: &InitArgs) -> anyhow::Result<ExitStatus> {
    let files = files(ctx, args)?;
    if args.stdout {
        let mut text = String::new();
        for (i, (shown, _, body)) in files.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            let _ = write!(text, "# ==> {shown} <==\n{body}");
        }
        write!(std::io::stdout(), "{text}").context("while printing the files")?;
        return Ok(ExitStatus::Success);
    }
    let existing: Vec<String> = files
        .iter()
        .filter(|(_, abs, _)| abs.symlink_metadata().is_ok())
        .map(|(shown, _, _)| shown.clone())
        .collect();
    if !existing.is_empty() {
        return Err(InitError::Exists(existing).into());
    }
    for (shown, abs, body) in &files {
        if let Some(parent) = abs.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("while creating the folder of `{shown}`"))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(abs)
            .with_context(|| format!("while creating `{shown}`"))?;
        file.write_all(body.as_bytes())
            .with_context(|| format!("while writing `{shown}`"))?;
    }
    let names: Vec<String> = files.iter().map(|(s, _, _)| format!("`{s}`")).collect();
    ctx.message(&format!(
        "wrote {}\nnext: `mlops-ci lint`, `mlops-ci check`, then commit the three files",
        names.join(", ")
    ));
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_literals_are_names_of_data_files() {
        let text = r#"json.dump(m, open("metrics.json", "w")); p = 'reports/scores.yaml'
            x = "model.json"; y = "/abs/metrics.json"; z = "my metrics.json""#;
        assert_eq!(
            metrics_literals(text),
            ["metrics.json", "reports/scores.yaml"]
        );
    }

    #[test]
    fn quoting_keeps_plain_text_plain() {
        assert_eq!(yaml("src/train.py"), "src/train.py");
        assert_eq!(yaml("python3 src/train.py"), "python3 src/train.py");
        assert_eq!(yaml("a b: c"), "'a b: c'");
        assert_eq!(yaml("-x"), "'-x'");
        assert_eq!(yaml("it's"), "'it''s'");
        assert_eq!(shell("a b"), "'a b'");
        assert_eq!(shell("it's"), r"'it'\''s'");
    }

    #[test]
    fn slugs_of_github_remotes() {
        for url in [
            "https://github.com/Acme/Iris.git",
            "git@github.com:acme/iris.git",
            "ssh://git@github.com/acme/iris",
        ] {
            assert_eq!(github_slug(url).as_deref(), Some("acme/iris"), "{url}");
        }
        assert_eq!(github_slug("https://gitlab.com/acme/iris.git"), None);
    }

    #[test]
    fn names_come_from_the_folder() {
        assert_eq!(pipeline_name(Path::new("/x/My Model")), "my-model");
        assert_eq!(pipeline_name(Path::new("/")), "model");
    }

    #[test]
    fn the_action_is_pinned_by_a_full_sha() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert!(action_ref(Some(&format!("acme/mlops-ci@{sha}"))).is_ok());
        assert!(action_ref(Some("acme/mlops-ci@v1")).is_err());
        assert!(action_ref(Some(&format!("mlops-ci@{sha}"))).is_err());
        assert!(action_ref(Some(&format!("acme/x y@{sha}"))).is_err());
    }
}
