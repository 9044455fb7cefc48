//! `mlops-ci`: continuous integration and delivery for machine-learning repositories. This file is the only
//! place that strings the stages together; each module's first line says what it owns.

pub mod baseline;
mod check;
pub mod ci;
pub mod cli;
pub mod compare;
pub mod config;
pub mod container;
mod data;
pub mod diagnostic;
mod diff;
pub mod execute;
pub mod exit;
pub mod expr;
pub mod forge;
mod image_setup;
pub mod init;
mod measure;
pub mod plan;
pub mod publish;
pub mod release;
pub mod report;
mod reporting;
pub mod results;
pub mod validate;

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};

use crate::ci::{EventKind, Invocation};
use crate::cli::{Cli, ColorChoice, Command, EventArg, ExprArgs, Format, Global, PlanArgs};
use crate::config::ConfigError;
pub use crate::exit::ExitStatus;

/// The version and the commit it was built from, as `--version` prints them.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("MLOPS_CI_GIT_SHA"),
    ")"
);

/// Settings every command shares.
#[derive(Debug, Clone)]
pub struct Context {
    /// The directory the command acts in (`-C`).
    pub dir: PathBuf,
    pub config: Option<PathBuf>,
    pub color: bool,
    pub verbose: bool,
    pub quiet: bool,
}

impl Context {
    pub fn new(global: &Global, no_color: bool, stderr_is_terminal: bool) -> anyhow::Result<Self> {
        let cwd = std::env::current_dir().context("while reading the current directory")?;
        let dir = match &global.directory {
            Some(d) => {
                let dir = cwd.join(d);
                if !dir.is_dir() {
                    return Err(anyhow!(
                        "cannot act in `{}`: no such directory",
                        d.display()
                    ));
                }
                dir
            }
            None => cwd,
        };
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && stderr_is_terminal,
        };
        Ok(Self {
            dir,
            config: global.config.clone(),
            color,
            verbose: global.verbose,
            quiet: global.quiet,
        })
    }

    /// Builds the context from the process environment.
    pub fn from_env(global: &Global) -> anyhow::Result<Self> {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self::new(global, no_color, std::io::stderr().is_terminal())
    }

    fn message(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }
}

/// Runs one command. Data goes to stdout, messages to stderr.
pub async fn run(cli: &Cli, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Lint => lint(ctx),
        Command::Schema(args) => schema(args.run),
        Command::Expr(args) => expr_command(ctx, args),
        Command::Plan(args) => plan(ctx, args),
        Command::Check(args) => check::check(ctx, args).await,
        Command::Run(args) => check::run(ctx, args).await,
        Command::Diff(args) => diff::diff(ctx, args),
        Command::Comment(args) => publish::bundle::comment_from(ctx, &args.from).await,
        Command::Release(args) => release::release(ctx, args).await,
        Command::Init(args) => init::init(ctx, args),
        Command::ContainerStep(args) => execute::docker_step::run(args).await,
        Command::Data(cli::DataCommand::Profile(args)) => data::profile(ctx, args),
        Command::Data(cli::DataCommand::Check(args)) => data::check(ctx, args),
    }
}

fn display_path(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

pub(crate) fn load(ctx: &Context) -> Result<config::Loaded, ConfigError> {
    let path = config::locate(&ctx.dir, ctx.config.as_deref())?;
    let name = display_path(&path, &ctx.dir);
    if ctx.verbose {
        eprintln!("using config `{}`", path.display());
    }
    config::load(&path, &name)
}

fn lint(ctx: &Context) -> anyhow::Result<ExitStatus> {
    let loaded = load(ctx)?;
    let stages = loaded.config.stages.len();
    ctx.message(&format!(
        "`{}` is valid: {stages} stage{}",
        loaded.source.name(),
        if stages == 1 { "" } else { "s" }
    ));
    Ok(ExitStatus::Success)
}

fn schema(run_record: bool) -> anyhow::Result<ExitStatus> {
    let value = if run_record {
        let mut schema = serde_json::to_value(schemars::schema_for!(results::RunRecord))
            .context("while printing the schema")?;
        if let Some(obj) = schema.as_object_mut() {
            obj.insert(
                "$id".to_owned(),
                "https://mlops-ci.dev/schema/run.schema.json".into(),
            );
        }
        schema
    } else {
        config::schema().clone()
    };
    let text = serde_json::to_string_pretty(&value).context("while printing the schema")?;
    writeln!(std::io::stdout(), "{text}").context("while printing the schema")?;
    Ok(ExitStatus::Success)
}

fn plan(ctx: &Context, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let loaded = load(ctx)?;
    let mut invocation = Invocation::from_env();
    if let Some(event) = args.event {
        invocation.event = match event {
            EventArg::PullRequest => EventKind::PullRequest,
            EventArg::Push => EventKind::Push,
            EventArg::Tag => EventKind::Tag,
            EventArg::Local => EventKind::Local,
        };
    }
    if let Some(r) = &args.git_ref {
        invocation.git_ref = Some(r.clone());
    }
    let root = loaded.path.parent().unwrap_or(&ctx.dir);
    let repo_name = root.file_name().map_or_else(
        || "pipeline".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let plan = plan::build(
        &loaded.config,
        &invocation,
        loaded.source.name(),
        &repo_name,
    );
    let text = match args.format {
        Format::Json => {
            serde_json::to_string_pretty(&plan).context("while printing the plan")? + "\n"
        }
        Format::Human => plan::render_human(&plan),
    };
    write!(std::io::stdout(), "{text}").context("while printing the plan")?;
    Ok(ExitStatus::Success)
}

/// The folder a run works in: the config's, else the repository root, else `-C`.
pub(crate) fn workspace(ctx: &Context, loaded: Option<&config::Loaded>) -> PathBuf {
    loaded
        .and_then(|l| l.path.parent().map(Path::to_path_buf))
        .or_else(|| {
            ctx.dir
                .ancestors()
                .find(|d| d.join(".git").exists())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| ctx.dir.clone())
}

fn expr_command(ctx: &Context, args: &ExprArgs) -> anyhow::Result<ExitStatus> {
    use crate::diagnostic::{Diagnostic, Report, SourceFile, Span};
    use crate::expr::{Template, run_scope};

    let loaded = load(ctx).ok();
    let workspace = workspace(ctx, loaded.as_ref());
    let env_var = |name: &str| std::env::var(name).ok();
    let basics = execute::contexts::RunBasics {
        github: ci::github_context(env_var, &workspace),
        env: loaded
            .as_ref()
            .map(|l| {
                l.config
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        secrets: loaded
            .as_ref()
            .map(|l| {
                l.config
                    .secrets
                    .iter()
                    .map(|n| (n.clone(), std::env::var(n).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default(),
        mode: "check",
        temp: std::env::temp_dir().display().to_string(),
        baseline: None,
    };
    let mut contexts = execute::contexts::initial(&basics);
    if let Some(file) = &args.context {
        let path = ctx.dir.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("while reading `{}`", file.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("`{}` is not valid JSON", file.display()))?;
        let Some(object) = json.as_object() else {
            return Err(anyhow!(
                "`{}` must hold a JSON object whose keys are context names",
                file.display()
            ));
        };
        for (name, value) in object {
            let existing = contexts
                .keys()
                .find(|k| k.eq_ignore_ascii_case(name))
                .cloned();
            contexts.insert(
                existing.unwrap_or_else(|| name.clone()),
                expr::Value::from_json(value),
            );
        }
    }
    let text = args.expression.as_str();
    let host = execute::host::RunHost {
        status: execute::host::Status::Success,
        workspace,
    };
    let names: Vec<&str> = contexts.keys().map(String::as_str).collect();
    let scope = expr::Scope {
        names: &names,
        functions: run_scope().functions,
    };
    let pointed = |offset: usize, e: &expr::ExprError| {
        let at = offset + e.byte_position().unwrap_or(0);
        Report::new(
            SourceFile::new("expression", text),
            Diagnostic::error(e.summary()).at(Span::new(at, at + e.token_len()), "here"),
        )
    };
    let result = match expr::interpolate::condition_form(text) {
        Ok(expr::interpolate::ConditionForm::Template(_)) => {
            let template = Template::parse(text, scope).map_err(|(o, e)| pointed(o, &e))?;
            template
                .render(&contexts, Some(&host))
                .map(expr::Value::String)
                .map_err(|e| pointed(0, &e))?
        }
        Ok(expr::interpolate::ConditionForm::Expression {
            text: inner,
            offset,
        }) => {
            let parsed = expr::Expr::parse(&inner, scope).map_err(|e| pointed(offset, &e))?;
            parsed
                .eval(&contexts, Some(&host))
                .map_err(|e| pointed(offset, &e))?
        }
        Ok(expr::interpolate::ConditionForm::Default) => expr::Value::Null,
        Err(e) => return Err(pointed(0, &e).into()),
    };
    writeln!(std::io::stdout(), "{}", result.to_json()).context("while printing the result")?;
    Ok(ExitStatus::Success)
}

/// Renders an error for stderr: diagnostics that point into mlops.yaml, or one `error:` line
/// with its causes and a hint.
pub fn render_error(err: &anyhow::Error, color: bool) -> String {
    if let Some(ConfigError::Invalid(errors)) = err.downcast_ref::<ConfigError>() {
        return format!("{}\n\nerror: {errors}\n", errors.render(color));
    }
    if let Some(report) = err.downcast_ref::<diagnostic::Report>() {
        return format!("{}\n", report.render(color));
    }
    let mut out = format!("error: {err}");
    for cause in err.chain().skip(1) {
        let _ = write!(out, "\n  caused by: {cause}");
    }
    if let Some(hint) = err
        .downcast_ref::<ConfigError>()
        .and_then(ConfigError::hint)
    {
        let _ = write!(out, "\n  hint: {hint}");
    }
    out.push('\n');
    out
}
