//! `mlops-ci check` and `mlops-ci run`: the whole pipeline, locally or in CI, with the run record
//! and every step's log kept under `.mlops/runs/<id>/`, then (for `run`) publishing. Strings
//! config → baseline → execute (metrics and gates through `measure`) → results → publish.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context as _, anyhow};
use tokio::sync::watch;

use crate::cli::{CheckArgs, ReportFormat};
use crate::config::Config;
use crate::execute::console::{Console, ConsoleMode};
use crate::execute::contexts::{self, RunBasics};
use crate::execute::pipeline::{self, RunOptions};
use crate::expr::{Template, run_scope};
use crate::results::{Outcome, RunRecord};
use crate::{Context, ExitStatus, ci, image_setup};

/// Keeps `stage` and the stages it needs, directly or not, in the config's order.
fn only_stage(config: &mut Config, stage: &str) -> anyhow::Result<()> {
    if !config.stages.contains_key(stage) {
        let names: Vec<&str> = config.stages.keys().map(String::as_str).collect();
        let hint = crate::diagnostic::did_you_mean(stage, names.iter().copied())
            .map_or_else(String::new, |s| format!("; did you mean `{s}`?"));
        return Err(anyhow!(
            "`--stage {stage}`: no such stage (the stages are {}){hint}",
            crate::diagnostic::backticked(&names)
        ));
    }
    let mut keep = std::collections::HashSet::new();
    let mut todo = vec![stage.to_owned()];
    while let Some(name) = todo.pop() {
        if keep.insert(name.clone()) {
            if let Some(s) = config.stages.get(&name) {
                todo.extend(s.needs.iter().cloned());
            }
        }
    }
    config.stages.retain(|name, _| keep.contains(name));
    Ok(())
}

/// A data check could not read its file: the run ends with exit 2, as for a metrics file.
fn data_unreadable(record: &RunRecord) -> bool {
    record
        .stages
        .iter()
        .any(|s| s.data.iter().any(|d| d.error.is_some()))
}

/// Stops what steps left running, writes `run.json`, and prints the closing report.
fn write_record(
    ctx: &Context,
    config: &Config,
    record: &RunRecord,
    run_dir: &std::path::Path,
    id: &str,
) -> anyhow::Result<()> {
    let reaped = pipeline::reap(id);
    let path = run_dir.join("run.json");
    let json = serde_json::to_string_pretty(record).context("while writing the run record")?;
    std::fs::write(&path, json + "\n")
        .with_context(|| format!("while writing `{}`", path.display()))?;
    if !ctx.quiet {
        let shown = path
            .strip_prefix(&ctx.dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        eprint!("{}", summary(record, &shown, config, ctx.color));
        if reaped > 0 {
            eprintln!("stopped {reaped} process(es) that steps left running");
        }
    }
    Ok(())
}

/// Steps' scripts and file-command files live in memory where a tmpfs is at hand: files there
/// cost microseconds to make, against milliseconds on disk.
fn run_temp_dir() -> anyhow::Result<tempfile::TempDir> {
    let shm = std::path::Path::new("/dev/shm");
    let base = match std::env::var_os("TMPDIR") {
        None if shm.is_dir() && tempfile::tempdir_in(shm).is_ok() => shm.to_path_buf(),
        _ => std::env::temp_dir(),
    };
    tempfile::Builder::new()
        .prefix("mlops-ci-")
        .tempdir_in(&base)
        .context("while creating the run's temp folder")
}

/// The config's top-level `env`, its expressions rendered with the run's first contexts.
fn top_level_env(
    config: &Config,
    basics: &RunBasics,
) -> anyhow::Result<indexmap::IndexMap<String, String>> {
    let initial = contexts::initial(basics);
    let mut env = indexmap::IndexMap::new();
    for (name, value) in &config.env {
        let rendered = Template::parse(value.as_str(), run_scope())
            .map_err(|(_, e)| e)
            .and_then(|t| t.render(&initial, None))
            .map_err(|e| anyhow!("top-level env `{name}`: {e}"))?;
        env.insert(name.clone(), rendered);
    }
    Ok(env)
}

/// A run id that sorts by time: `20261126T054000Z-4242`.
fn run_id() -> String {
    let stamp = crate::results::utc_timestamp(SystemTime::now()).replace([':', '-'], "");
    format!("{stamp}-{}", std::process::id())
}

/// How a run is made: locally (`check`), or in CI with its results published (`run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Check,
    Run,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::Run => "run",
        }
    }
}

/// A finished run: its record, and what it ran on.
struct Done {
    status: ExitStatus,
    record: RunRecord,
    workspace: std::path::PathBuf,
    run_dir: std::path::PathBuf,
    config: Config,
}

/// `mlops-ci check`: the pipeline here; nothing leaves the machine.
pub async fn check(ctx: &Context, args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let done = execute(ctx, args, Mode::Check).await?;
    print_report(ctx, args.format, &done)?;
    Ok(done.status)
}

/// The report on stdout for `--format json|md`; `human` leaves it to the tables on stderr.
fn print_report(ctx: &Context, format: ReportFormat, done: &Done) -> anyhow::Result<()> {
    if format == ReportFormat::Human {
        return Ok(());
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut input = crate::reporting::assemble(
        crate::reporting::Sources {
            config: &done.config,
            workspace: &done.workspace,
            run_dir: &done.run_dir,
        },
        &done.record,
    );
    input.run_url = crate::reporting::run_url(env);
    let masker = crate::reporting::masker(&done.config, env);
    let text = if format == ReportFormat::Md {
        crate::report::render::render_comment_masked(&input, None, &|t| {
            masker.mask(t).into_owned()
        })?
    } else {
        {
            let json = serde_json::json!({
                "name": input.name,
                "verdict": crate::publish::verdict(&done.record),
                "run": done.record.id,
                "run_dir": crate::display_path(&done.run_dir, &ctx.dir),
                "baseline": done.record.baseline.as_ref().map(|b| serde_json::json!({
                    "branch": b.branch, "sha": b.sha, "source": b.source, "distance": b.distance,
                })),
                "metrics": input.comparison.metrics,
                "gates": input.comparison.gates,
                "params": input.params.iter().map(|p| serde_json::json!({
                    "file": p.file, "changes": p.changes,
                })).collect::<Vec<_>>(),
                "stages": done.record.stages.iter().map(|s| serde_json::json!({
                    "name": s.name, "result": s.result, "reason": s.reason,
                    "duration_ms": s.duration_ms,
                })).collect::<Vec<_>>(),
            });
            masker
                .mask(&serde_json::to_string_pretty(&json)?)
                .into_owned()
                + "\n"
        }
    };
    print!("{text}");
    Ok(())
}

/// `mlops-ci run`: the pipeline in CI; on a push to the baseline branch, its results become the
/// baseline (a note on the commit, pushed to `origin`); on a pull request, the report becomes the
/// one sticky PR comment and the job summary.
pub async fn run(ctx: &Context, args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    if std::env::var("GITHUB_ACTIONS").as_deref() != Ok("true") {
        return Err(anyhow!(
            "`mlops-ci run` is the CI run: it reads GitHub Actions' environment (`GITHUB_ACTIONS=true`, `GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH`, `GITHUB_REPOSITORY`, `GITHUB_TOKEN`) and publishes; on your machine run `mlops-ci check`, which runs the same pipeline and publishes nothing"
        ));
    }
    let invocation = ci::Invocation::from_env();
    let done = execute(ctx, args, Mode::Run).await?;
    print_report(ctx, args.format, &done)?;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut outputs = crate::publish::outputs::Outputs {
        verdict: crate::publish::verdict(&done.record).to_owned(),
        image_digest: done.record.image_digest(),
        ..Default::default()
    };
    match invocation.event {
        ci::EventKind::Push if done.status == ExitStatus::Success => {
            crate::publish::baseline_note(
                ctx,
                &done.config,
                &done.workspace,
                &done.record,
                &invocation,
            )?;
        }
        ci::EventKind::Tag if done.status == ExitStatus::Success => {
            if let Some(git_ref) = invocation.git_ref.as_deref() {
                crate::release::on_tag_push(
                    ctx,
                    &done.config,
                    &done.workspace,
                    &done.record,
                    git_ref,
                )
                .await?;
            }
        }
        ci::EventKind::PullRequest => {
            let published = crate::publish::pull_request(
                ctx,
                &done.config,
                &done.workspace,
                &done.run_dir,
                &done.record,
            )
            .await?;
            outputs.report_path = published.report_path;
            outputs.comment_url = published.comment_url;
            outputs.bundle_path = published.bundle_path;
        }
        _ => {}
    }
    outputs.write(env)?;
    Ok(done.status)
}

/// The config, cut to `--stage`'s stages.
fn load_for(ctx: &Context, args: &CheckArgs) -> anyhow::Result<crate::config::Loaded> {
    let mut loaded = crate::load(ctx)?;
    if let Some(stage) = &args.stage {
        only_stage(&mut loaded.config, stage)?;
    }
    Ok(loaded)
}

async fn execute(ctx: &Context, args: &CheckArgs, mode: Mode) -> anyhow::Result<Done> {
    let loaded = load_for(ctx, args)?;
    let config = &loaded.config;
    let workspace = crate::workspace(ctx, Some(&loaded));
    let env_var = |name: &str| std::env::var(name).ok();
    let github_actions = env_var("GITHUB_ACTIONS").as_deref() == Some("true");
    let params = crate::measure::read_params(config, &workspace)?;
    let found = crate::measure::find_baseline(config, &workspace, env_var)?;
    if !ctx.quiet {
        eprintln!("{}", found.message);
    }
    let id = run_id();
    let run_dir = workspace.join(".mlops").join("runs").join(&id);
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("while creating `{}`", run_dir.display()))?;
    let temp = run_temp_dir()?;
    let mut basics = RunBasics {
        github: ci::github_context(env_var, &workspace),
        env: indexmap::IndexMap::new(),
        secrets: config
            .secrets
            .iter()
            .map(|n| (n.clone(), std::env::var(n).unwrap_or_default()))
            .collect(),
        mode: mode.as_str(),
        temp: temp.path().display().to_string(),
        baseline: found
            .used
            .as_ref()
            .map(|b| crate::measure::merged(&b.metrics)),
    };
    basics.env = top_level_env(config, &basics)?;
    let options = RunOptions {
        run_id: id.clone(),
        workspace: workspace.clone(),
        run_dir: run_dir.clone(),
        temp_dir: temp.path().to_path_buf(),
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from)),
        debug: ctx.verbose || env_var("RUNNER_DEBUG").as_deref() == Some("1"),
        ci: github_actions || mode == Mode::Run,
        images: image_setup::setup(config, &workspace, mode == Mode::Check, &found).await?,
    };
    let console = Arc::new(Console::new(
        ConsoleMode {
            terminal: std::io::stderr().is_terminal(),
            github_actions,
            quiet: ctx.quiet,
        },
        format!("mlops-ci-{}", uuid_like()),
    ));
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let signals = tokio::spawn(cancel_on_signals(cancel_tx, id.clone()));
    let judge = crate::measure::Judge {
        workspace: workspace.clone(),
        baseline: found.used.clone(),
        input_error: std::cell::Cell::new(false),
        profiles: found.used.as_ref().map(|_| found.profiles.clone()),
    };
    let mut record = pipeline::run(
        config,
        &basics,
        &options,
        Arc::clone(&console),
        cancel_rx,
        &judge,
    )
    .await;
    record.baseline = found.used;
    record.params = params;
    signals.abort();
    console.close();
    write_record(ctx, config, &record, &run_dir, &id)?;
    if let Some(why) = job_error(&judge, &record, options.images.as_deref()) {
        return Err(anyhow!("{why}"));
    }
    let status = match record.result {
        Outcome::Success | Outcome::Skipped => ExitStatus::Success,
        Outcome::Failure | Outcome::Cancelled => ExitStatus::Failed,
    };
    Ok(Done {
        status,
        record,
        workspace,
        run_dir,
        config: loaded.config,
    })
}

/// Why mlops-ci could not do its job (exit 2) though the run ended: a metrics file it could
/// not read, an engine or registry that failed.
fn job_error(
    judge: &crate::measure::Judge,
    record: &RunRecord,
    images: Option<&crate::execute::image::ImageSetup>,
) -> Option<String> {
    if let Some(why) = images.and_then(crate::execute::image::ImageSetup::fatal) {
        return Some(why);
    }
    (judge.input_error.get() || data_unreadable(record)).then(|| {
        record
            .stages
            .iter()
            .filter_map(|s| s.reason.clone())
            .find(|r| r.starts_with("stage `"))
            .unwrap_or_default()
    })
}

fn uuid_like() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}", nanos, std::process::id())
}

/// First SIGINT or SIGTERM cancels the run (steps get the runner's grace period); a second
/// one kills every process the run started, at once.
async fn cancel_on_signals(cancel: watch::Sender<bool>, run_id: String) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    for round in 0.. {
        tokio::select! {
            _ = int.recv() => {},
            _ = term.recv() => {},
        }
        if round == 0 {
            eprintln!("mlops-ci: cancelling the run (again to stop at once)");
            let _ = cancel.send(true);
        } else {
            pipeline::reap(&run_id);
        }
    }
}

/// The closing table: each stage's result and time, then where the record is.
/// This run's metrics against the baseline's, one row a metric, with the gates' tally.
fn metrics_table(record: &RunRecord, config: &Config, color: bool) -> String {
    use std::fmt::Write as _;
    if record.metrics_files().is_empty() {
        return String::new();
    }
    let deltas = crate::compare::of_run(config, record).metrics;
    let precision = usize::from(config.report.precision);
    let shown = |v: Option<&serde_json::Value>| match v {
        None => "-".to_owned(),
        Some(serde_json::Value::Number(n)) if n.is_f64() => {
            format!("{:.precision$}", n.as_f64().unwrap_or_default())
        }
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let base_name = record
        .baseline
        .as_ref()
        .map_or("baseline", |b| b.branch.as_str());
    let width = deltas.iter().map(|d| d.key.len()).max().unwrap_or(6).max(6);
    let mut out = format!(
        "\n{:<width$}  {:>12}  {:>12}  {:>12}  status\n",
        "metric", base_name, "this run", "change"
    );
    for d in &deltas {
        let change = d
            .change
            .map_or_else(|| "-".to_owned(), |c| format!("{c:+.precision$}"));
        let status = serde_json::to_value(d.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<width$}  {:>12}  {:>12}  {:>12}  {}",
            d.key,
            shown(d.baseline.as_ref()),
            shown(d.current.as_ref()),
            change,
            paint(color, status_color(&status), &status)
        );
    }
    let verdicts: Vec<&crate::results::GateVerdict> =
        record.stages.iter().flat_map(|s| &s.gates).collect();
    if !verdicts.is_empty() {
        let failed = verdicts.iter().filter(|g| !g.passed).count();
        let _ = writeln!(
            out,
            "gates: {} passed, {failed} failed",
            verdicts.len() - failed
        );
        for g in verdicts.iter().filter(|g| !g.passed) {
            let _ = writeln!(out, "  {} {}: {}", paint(color, RED, "✗"), g.name, g.reason);
        }
    }
    out
}

/// Params that differ from the baseline's, file by file.
fn params_table(record: &RunRecord) -> String {
    use std::fmt::Write as _;
    let Some(baseline) = &record.baseline else {
        return String::new();
    };
    if baseline.params.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let empty = crate::results::Flat::new();
    for (path, params) in &record.params {
        for change in
            crate::compare::params_diff(baseline.params.get(path).unwrap_or(&empty), params)
        {
            let show = |v: Option<&serde_json::Value>| {
                v.map_or_else(|| "-".to_owned(), ToString::to_string)
            };
            let _ = writeln!(
                out,
                "  {path}  {}: {} → {}",
                change.key,
                show(change.old.as_ref()),
                show(change.new.as_ref())
            );
        }
    }
    if out.is_empty() {
        out
    } else {
        format!("\nparams changed against {}:\n{out}", baseline.branch)
    }
}

fn summary(record: &RunRecord, path: &str, config: &Config, color: bool) -> String {
    use std::fmt::Write as _;
    let width = record
        .stages
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!("\n{:<width$}  {:<9}  time\n", "stage", "result");
    for stage in &record.stages {
        #[allow(clippy::cast_precision_loss)]
        let secs = stage.duration_ms as f64 / 1000.0;
        let _ = write!(
            out,
            "{:<width$}  {}  {secs:.1}s",
            stage.name,
            paint(
                color,
                outcome_color(stage.result),
                &format!("{:<9}", stage.result.as_str())
            )
        );
        if let Some(reason) = &stage.reason {
            let _ = write!(out, "  {reason}");
        }
        out.push('\n');
    }
    out.push_str(&metrics_table(record, config, color));
    out.push_str(&params_table(record));
    let _ = writeln!(
        out,
        "\n{}: run record in {path}",
        paint(color, outcome_color(record.result), record.result.as_str())
    );
    out
}

const RED: &str = "31";
const GREEN: &str = "32";
const YELLOW: &str = "33";

/// `text` in an ANSI color when `color` is on (`--color`, `NO_COLOR` and the terminal decide).
fn paint(color: bool, code: &str, text: &str) -> String {
    if color && !code.is_empty() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn outcome_color(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => GREEN,
        Outcome::Failure => RED,
        Outcome::Skipped | Outcome::Cancelled => YELLOW,
    }
}

fn status_color(status: &str) -> &'static str {
    match status {
        "improved" => GREEN,
        "regressed" => RED,
        "new" | "removed" => YELLOW,
        _ => "",
    }
}
