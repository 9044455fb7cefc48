//! The command line: clap types only, no logic.
// Doc comments here are the `--help` text, where backticks would show.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// GitOps CI/CD for machine-learning repositories: data checks, training, evaluation gates
/// and model images, run the same way locally and in CI.
#[derive(Debug, Parser)]
#[command(name = "mlops-ci", version = crate::VERSION, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Act as if started in DIR
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub directory: Option<PathBuf>,
    /// The config file [default: mlops.yaml, then .mlops.yaml, at the repository root]
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// When to color messages
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Say more about what is happening
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print only errors and the data asked for
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline locally and report against the baseline
    Check(CheckArgs),
    /// Run the pipeline in CI and publish its results
    Run(CheckArgs),
    /// Print what a run would do, without doing it
    Plan(PlanArgs),
    /// Validate mlops.yaml and report every problem
    Lint,
    /// Compare the metrics of two revisions, printed as `dvc metrics diff` prints them
    Diff(DiffArgs),
    /// Post the PR comment of a fork's run from its bundle, in a trusted `workflow_run` workflow
    Comment(CommentArgs),
    /// Tag a release of the model (an annotated `vX.Y.Z` or `NAME@vX.Y.Z`) and, in CI, make the
    /// GitHub release with its notes
    Release(ReleaseArgs),
    /// Print the JSON Schema of mlops.yaml (or, with --run, of run.json)
    Schema(SchemaArgs),
    /// Evaluate a `${{ }}` expression and print the result as JSON
    Expr(ExprArgs),
    /// Write a starter mlops.yaml and the GitHub workflows that run it, fitted to the files here
    Init(InitArgs),
    /// Run one `uses: docker://` step's container (started by `check` and `run`)
    #[command(hide = true)]
    ContainerStep(ContainerStepArgs),
    /// Data checks and profiles of CSV, JSON Lines and Parquet files
    #[command(subcommand)]
    Data(DataCommand),
}

/// A `uses: docker://` step: the container, its mounts and the env names passed in.
#[derive(Debug, Args)]
pub struct ContainerStepArgs {
    #[arg(long)]
    pub image: String,
    #[arg(long, default_value = "none")]
    pub network: String,
    #[arg(long)]
    pub entrypoint: Option<String>,
    #[arg(long)]
    pub workdir: PathBuf,
    /// Bind-mounted at the same path inside
    #[arg(long = "mount")]
    pub mounts: Vec<PathBuf>,
    /// Variables passed in with their values from this process's environment
    #[arg(long = "env")]
    pub env: Vec<String>,
    /// The container's arguments
    #[arg(last = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Print the profile of a data file: rows, and per column nulls, min, max, mean, standard
    /// deviation, quantiles, histogram, distinct values and the most frequent ones
    Profile(DataProfileArgs),
    /// Run only the data checks of mlops.yaml, with drift against the baseline's profiles
    Check(DataCheckArgs),
}

#[derive(Debug, Args)]
pub struct DataProfileArgs {
    /// The file: .csv, .tsv, .jsonl, .ndjson (each optionally .gz) or .parquet
    pub file: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// The file's format, when its extension does not tell
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input: Option<DataInput>,
    /// Workers that each read, check and profile a share of a CSV file's chunks or of a
    /// Parquet file's row groups [default: the number of CPUs; 1: one thread does all]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Debug, Args)]
pub struct DataCheckArgs {
    /// Only this stage's data checks
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,
    /// Workers that each read, check and profile a share of a CSV file's chunks or of a
    /// Parquet file's row groups [default: the number of CPUs; 1: one thread does all]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataInput {
    Csv,
    Jsonl,
    Parquet,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Print the files to stdout instead of writing them
    #[arg(long)]
    pub stdout: bool,
    /// The action the workflows use, as OWNER/REPO@SHA [default: this build's own commit]
    #[arg(long, value_name = "OWNER/REPO@SHA")]
    pub action: Option<String>,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of the run record (`.mlops/runs/<id>/run.json`) instead
    #[arg(long)]
    pub run: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Most stages to run at once [default: the number of CPUs]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// The closing report: `human` tables on stderr, or the report as `json` or Markdown (`md`,
    /// the PR comment) on stdout
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// Run only this stage and the stages it needs
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Human,
    Json,
    Md,
}

#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["version", "bump"])))]
pub struct ReleaseArgs {
    /// The model, for `NAME@vX.Y.Z` tags [default: mlops.yaml's `release.model`; none: `vX.Y.Z`]
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// The version to release, such as `1.2.0` or `2.0.0-rc.1`
    #[arg(long, value_name = "X.Y.Z")]
    pub version: Option<String>,
    /// The next version after the highest stable release of the line
    #[arg(long, value_enum)]
    pub bump: Option<Bump>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Bump {
    Major,
    Minor,
    Patch,
}

#[derive(Debug, Args)]
pub struct CommentArgs {
    /// The bundle folder a pull request's run wrote (`.mlops/runs/<id>/bundle`), as downloaded
    /// from its artifact
    #[arg(long, value_name = "DIR")]
    pub from: std::path::PathBuf,
}

/// The flags mirror `dvc metrics diff`'s.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)]
pub struct DiffArgs {
    /// The old revision: a commit, branch, tag or `HEAD~1` [default: the baseline, as mlops.yaml's
    /// `baseline:` finds it, from its note or its tree]
    pub a_rev: Option<String>,
    /// The new revision; `workspace` means the files on disk
    #[arg(default_value = "workspace")]
    pub b_rev: String,
    /// Take the new side's metrics from a stored run record instead of B
    #[arg(long, value_name = "RUN.json", conflicts_with = "b_rev")]
    pub run: Option<PathBuf>,
    /// Metrics files to compare [default: every stage's `metrics:` in mlops.yaml]
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub targets: Vec<String>,
    /// Show unchanged metrics too
    #[arg(short, long)]
    pub all: bool,
    /// Print a Markdown table
    #[arg(long, conflicts_with = "json")]
    pub md: bool,
    /// Print JSON, unrounded
    #[arg(long)]
    pub json: bool,
    /// Digits after the point for floats in tables (0 means the default)
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub precision: u32,
    /// Leave out the Path column
    #[arg(long)]
    pub no_path: bool,
}

#[derive(Debug, Args)]
pub struct ExprArgs {
    /// The expression, bare (`github.sha`) or in `${{ }}`
    pub expression: String,
    /// A JSON object whose keys replace contexts (`github`, `env`, `steps`, …)
    #[arg(long, value_name = "FILE.json")]
    pub context: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The event to plan for [default: from GITHUB_EVENT_NAME and GITHUB_REF, else local]
    #[arg(long, value_enum)]
    pub event: Option<EventArg>,
    /// The git ref the run is for, such as `refs/tags/v1.2.0` [default: GITHUB_REF]
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventArg {
    #[value(name = "pull_request")]
    PullRequest,
    Push,
    Tag,
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}
