//! `mlops-ci check`: the whole pipeline, locally, exactly as CI runs it; the run record and
//! every step's log kept under `.mlops/runs/<id>/`. Strings config → execute → results.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context as _, anyhow};
use tokio::sync::watch;

use crate::cli::CheckArgs;
use crate::config::Config;
use crate::execute::console::{Console, ConsoleMode};
use crate::execute::contexts::{self, RunBasics};
use crate::execute::pipeline::{self, RunOptions};
use crate::expr::{Template, run_scope};
use crate::results::{Outcome, RunRecord};
use crate::{Context, ExitStatus, ci};

/// What this version cannot run yet, by stage, so a run refuses before it starts.
fn unsupported(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (name, stage) in &config.stages {
        let mut parts = Vec::new();
        if !stage.data.is_empty() {
            parts.push("data checks");
        }
        if !stage.metrics.is_empty() || !stage.gates.is_empty() {
            parts.push("metrics and gates");
        }
        if stage.image.is_some() {
            parts.push("an image build");
        }
        if !parts.is_empty() {
            out.push(format!("stage `{name}` has {}", parts.join(", ")));
        }
    }
    out
}

/// A run id that sorts by time: `20261126T054000Z-4242`.
fn run_id() -> String {
    let stamp = crate::results::utc_timestamp(SystemTime::now()).replace([':', '-'], "");
    format!("{stamp}-{}", std::process::id())
}

pub async fn check(ctx: &Context, args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let loaded = crate::load(ctx)?;
    let config = &loaded.config;
    let missing = unsupported(config);
    if !missing.is_empty() {
        return Err(anyhow!(
            "this pipeline uses parts that `mlops-ci check` does not support yet: {}; the README's limits list what works",
            missing.join("; ")
        ));
    }
    let workspace = crate::workspace(ctx, Some(&loaded));
    let env_var = |name: &str| std::env::var(name).ok();
    let github_actions = env_var("GITHUB_ACTIONS").as_deref() == Some("true");
    let id = run_id();
    let run_dir = workspace.join(".mlops").join("runs").join(&id);
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("while creating `{}`", run_dir.display()))?;
    // Steps' scripts and file-command files live in memory where a tmpfs is at hand: files
    // there cost microseconds to make, against milliseconds on disk.
    let shm = std::path::Path::new("/dev/shm");
    let temp_base = match std::env::var_os("TMPDIR") {
        None if shm.is_dir() && tempfile::tempdir_in(shm).is_ok() => shm.to_path_buf(),
        _ => std::env::temp_dir(),
    };
    let temp = tempfile::Builder::new()
        .prefix("mlops-ci-")
        .tempdir_in(&temp_base)
        .context("while creating the run's temp folder")?;
    let mut basics = RunBasics {
        github: ci::github_context(env_var, &workspace),
        env: indexmap::IndexMap::new(),
        secrets: config
            .secrets
            .iter()
            .map(|n| (n.clone(), std::env::var(n).unwrap_or_default()))
            .collect(),
        mode: "check",
        temp: temp.path().display().to_string(),
    };
    let initial = contexts::initial(&basics);
    for (name, value) in &config.env {
        let rendered = Template::parse(value.as_str(), run_scope())
            .map_err(|(_, e)| e)
            .and_then(|t| t.render(&initial, None))
            .map_err(|e| anyhow!("top-level env `{name}`: {e}"))?;
        basics.env.insert(name.clone(), rendered);
    }
    let options = RunOptions {
        run_id: id.clone(),
        workspace: workspace.clone(),
        run_dir: run_dir.clone(),
        temp_dir: temp.path().to_path_buf(),
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from)),
        debug: ctx.verbose || env_var("RUNNER_DEBUG").as_deref() == Some("1"),
        ci: github_actions,
    };
    let token = format!("mlops-ci-{}", uuid_like());
    let console = Arc::new(Console::new(
        ConsoleMode {
            terminal: std::io::stderr().is_terminal(),
            github_actions,
            quiet: ctx.quiet,
        },
        token,
    ));
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let signals = tokio::spawn(cancel_on_signals(cancel_tx, id.clone()));
    let record = pipeline::run(config, &basics, &options, Arc::clone(&console), cancel_rx).await;
    signals.abort();
    console.close();
    let reaped = pipeline::reap(&id);
    let path = run_dir.join("run.json");
    let json = serde_json::to_string_pretty(&record).context("while writing the run record")?;
    std::fs::write(&path, json + "\n")
        .with_context(|| format!("while writing `{}`", path.display()))?;
    if !ctx.quiet {
        eprint!(
            "{}",
            summary(
                &record,
                &path
                    .strip_prefix(&ctx.dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string()
            )
        );
        if reaped > 0 {
            eprintln!("stopped {reaped} process(es) that steps left running");
        }
    }
    Ok(match record.result {
        Outcome::Success | Outcome::Skipped => ExitStatus::Success,
        Outcome::Failure | Outcome::Cancelled => ExitStatus::Failed,
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
fn summary(record: &RunRecord, path: &str) -> String {
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
            "{:<width$}  {:<9}  {secs:.1}s",
            stage.name,
            stage.result.as_str()
        );
        if let Some(reason) = &stage.reason {
            let _ = write!(out, "  {reason}");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "\n{}: run record in {path}", record.result.as_str());
    out
}
