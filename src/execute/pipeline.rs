//! Runs the stages of a config: in `needs` order, independent stages concurrently (bounded),
//! each stage's `if`, env, steps, outcomes and outputs as GitHub runs a job's, cancellation on
//! request, and every step's masked log kept in the run folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;
use tokio::sync::{Semaphore, watch};

use super::console::Console;
use super::contexts::{self, RunBasics};
use super::host::{RunHost, Status};
use super::mask::Masker;
use super::shell::{Shell, on_path};
use super::step::{self, Exit, StepShared, StepSpec};
use crate::config::Config;
use crate::config::model::{Stage, Step};
use crate::expr::{Condition, Template, Value, run_scope};
use crate::results::{GitInfo, Outcome, RunRecord, StageRecord, StepRecord, utc_timestamp};

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_id: String,
    pub workspace: PathBuf,
    /// `.mlops/runs/<id>`: the record and the logs.
    pub run_dir: PathBuf,
    /// Scripts and file-command files (`RUNNER_TEMP`).
    pub temp_dir: PathBuf,
    pub jobs: usize,
    pub debug: bool,
    /// Set `CI=true` for steps (a run inside CI).
    pub ci: bool,
}

/// Shared by every stage of a run.
struct Run<'a> {
    config: &'a Config,
    basics: &'a RunBasics,
    options: &'a RunOptions,
    shared: StepShared,
    cancel: watch::Receiver<bool>,
    jobs: Semaphore,
    event_path: PathBuf,
}

/// What a finished stage leaves for the stages after it.
#[derive(Debug, Clone)]
struct Finished {
    record: StageRecord,
}

/// Runs every stage and returns the record. `cancel` turning `true` cancels the run.
pub async fn run(
    config: &Config,
    basics: &RunBasics,
    options: &RunOptions,
    console: Arc<Console>,
    cancel: watch::Receiver<bool>,
) -> RunRecord {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let mut masker = Masker::new();
    for (name, value) in &basics.secrets {
        if !value.is_empty() && matches!(masker.add(value), super::mask::MaskOutcome::Registered) {
            console.command(&format!("::add-mask::{value}"));
        } else if !value.is_empty() {
            console.note(
                "mlops-ci",
                &format!("warning: secret `{name}` is under 4 characters and cannot be masked"),
            );
        }
    }
    let _ = std::fs::create_dir_all(&options.temp_dir);
    let event_path = options.temp_dir.join("event.json");
    let _ = std::fs::write(
        &event_path,
        basics
            .github
            .get("event")
            .map_or_else(|| "{}".to_owned(), ToString::to_string),
    );
    let run = Run {
        config,
        basics,
        options,
        shared: StepShared {
            masker: Arc::new(RwLock::new(masker)),
            console,
        },
        cancel,
        jobs: Semaphore::new(options.jobs.max(1)),
        event_path,
    };
    let stages = schedule(&run).await;
    let result = if stages.iter().any(|s| s.result == Outcome::Cancelled) {
        Outcome::Cancelled
    } else if stages.iter().any(|s| s.result == Outcome::Failure) {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    RunRecord {
        version: crate::results::RUN_RECORD_VERSION,
        id: options.run_id.clone(),
        mode: basics.mode.to_owned(),
        event: basics
            .github
            .get("event_name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned(),
        git: GitInfo {
            sha: basics
                .github
                .get("sha")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
            git_ref: basics
                .github
                .get("ref")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
        },
        started_at: utc_timestamp(started_at),
        duration_ms: millis(started.elapsed()),
        result,
        stages,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Starts each stage when the stages it needs have finished; records them in file order.
async fn schedule(run: &Run<'_>) -> Vec<StageRecord> {
    let names: Vec<&String> = run.config.stages.keys().collect();
    let mut done: HashMap<String, Finished> = HashMap::new();
    let mut started: Vec<&str> = Vec::new();
    let mut running = futures_unordered();
    loop {
        for name in &names {
            let stage = &run.config.stages[name.as_str()];
            if started.contains(&name.as_str()) || !stage.needs.iter().all(|n| done.contains_key(n))
            {
                continue;
            }
            started.push(name);
            let needs: Vec<(String, StageRecord)> = stage
                .needs
                .iter()
                .filter_map(|n| done.get(n).map(|f| (n.clone(), f.record.clone())))
                .collect();
            let finished: Vec<StageRecord> = done.values().map(|f| f.record.clone()).collect();
            let ancestors = ancestors_status(run.config, name, &done);
            running.push(Box::pin(run_stage(
                run, name, stage, needs, finished, ancestors,
            )));
        }
        let Some(record) = next(&mut running).await else {
            break;
        };
        done.insert(record.name.clone(), Finished { record });
    }
    names
        .iter()
        .filter_map(|n| done.remove(n.as_str()).map(|f| f.record))
        .collect()
}

type StageFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = StageRecord> + 'a>>;

fn futures_unordered<'a>() -> Vec<StageFuture<'a>> {
    Vec::new()
}

/// Waits for whichever running stage finishes first.
async fn next(running: &mut Vec<StageFuture<'_>>) -> Option<StageRecord> {
    if running.is_empty() {
        return None;
    }
    let (record, index) = std::future::poll_fn(|cx| {
        for (i, f) in running.iter_mut().enumerate() {
            if let std::task::Poll::Ready(r) = f.as_mut().poll(cx) {
                return std::task::Poll::Ready((r, i));
            }
        }
        std::task::Poll::Pending
    })
    .await;
    drop(running.swap_remove(index));
    Some(record)
}

/// The status functions' view for a stage: failure if an ancestor failed.
fn ancestors_status(config: &Config, name: &str, done: &HashMap<String, Finished>) -> Status {
    let mut stack: Vec<&str> = config.stages[name]
        .needs
        .iter()
        .map(String::as_str)
        .collect();
    let mut seen = Vec::new();
    let mut status = Status::Success;
    while let Some(n) = stack.pop() {
        if seen.contains(&n) {
            continue;
        }
        seen.push(n);
        match done.get(n).map(|f| f.record.result) {
            Some(Outcome::Failure) => status = Status::Failure,
            Some(Outcome::Cancelled) => return Status::Cancelled,
            Some(Outcome::Skipped) if status == Status::Success => status = Status::Incomplete,
            _ => {}
        }
        if let Some(stage) = config.stages.get(n) {
            stack.extend(stage.needs.iter().map(String::as_str));
        }
    }
    status
}

fn skipped(name: &str, reason: String) -> StageRecord {
    StageRecord {
        name: name.to_owned(),
        result: Outcome::Skipped,
        reason: Some(reason),
        duration_ms: 0,
        steps: Vec::new(),
        outputs: IndexMap::new(),
    }
}

fn stage_object(record: &StageRecord) -> serde_json::Value {
    serde_json::json!({ "result": record.result.as_str(), "outputs": record.outputs })
}

/// Contexts for a stage: the run's, plus `needs` and `stages` from the finished ones.
fn stage_contexts(
    run: &Run<'_>,
    needs: &[(String, StageRecord)],
    finished: &[StageRecord],
) -> IndexMap<String, Value> {
    let mut ctx = contexts::initial(run.basics);
    let needs_json: serde_json::Map<String, serde_json::Value> = needs
        .iter()
        .map(|(n, r)| (n.clone(), stage_object(r)))
        .collect();
    ctx.insert(
        "needs".to_owned(),
        Value::from_json(&serde_json::Value::Object(needs_json)),
    );
    let stages_json: serde_json::Map<String, serde_json::Value> = finished
        .iter()
        .map(|r| (r.name.clone(), stage_object(r)))
        .collect();
    ctx.insert(
        "stages".to_owned(),
        Value::from_json(&serde_json::Value::Object(stages_json)),
    );
    ctx
}

/// `None` when the stage runs; otherwise its record, skipped, cancelled or failed.
fn stage_gate(
    run: &Run<'_>,
    name: &str,
    stage: &Stage,
    ctx: &IndexMap<String, Value>,
    ancestors: Status,
) -> Option<StageRecord> {
    let cancelled = *run.cancel.borrow();
    let status = if cancelled {
        Status::Cancelled
    } else {
        ancestors
    };
    let host = RunHost {
        status,
        workspace: run.options.workspace.clone(),
    };
    let condition = stage.condition.as_ref().map_or("", |c| c.as_str());
    let decided = Condition::parse(condition, run_scope())
        .map_err(|(_, e)| e)
        .and_then(|c| c.holds(ctx, Some(&host)));
    let record = match decided {
        Ok(true) => return None,
        Ok(false) if cancelled => StageRecord {
            result: Outcome::Cancelled,
            ..skipped(name, "the run was cancelled".to_owned())
        },
        Ok(false) if stage.condition.is_some() => {
            skipped(name, format!("`if: {condition}` is false"))
        }
        Ok(false) => skipped(name, "a stage it needs did not succeed".to_owned()),
        Err(e) => StageRecord {
            result: Outcome::Failure,
            ..skipped(name, format!("its `if` failed: {e}"))
        },
    };
    run.shared.console.note(
        name,
        &format!(
            "{} ({})",
            record.result.as_str(),
            record.reason.clone().unwrap_or_default()
        ),
    );
    run.shared.console.finished(name);
    Some(record)
}

async fn run_stage(
    run: &Run<'_>,
    name: &str,
    stage: &Stage,
    needs: Vec<(String, StageRecord)>,
    finished: Vec<StageRecord>,
    ancestors: Status,
) -> StageRecord {
    let ctx = stage_contexts(run, &needs, &finished);
    if let Some(record) = stage_gate(run, name, stage, &ctx, ancestors) {
        return record;
    }
    let _permit = run.jobs.acquire().await;
    let started = Instant::now();
    let deadline = stage
        .timeout_minutes
        .map(|m| Instant::now() + Duration::from_secs_f64(m * 60.0));
    let mut progress = StageState::new(run, name, ctx);
    let mut reason = None;
    for (index, step) in stage.steps.iter().enumerate() {
        let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if remaining == Some(Duration::ZERO) && reason.is_none() {
            reason = Some(format!(
                "stage timed out after {} min",
                stage.timeout_minutes.unwrap_or_default()
            ));
            progress.status = Status::Failure;
        }
        let record = progress.step(stage, step, index, remaining).await;
        progress.records.push(record);
    }
    let outputs = progress.outputs(stage, &mut reason);
    let result = match progress.status {
        Status::Success | Status::Incomplete => Outcome::Success,
        Status::Failure => Outcome::Failure,
        Status::Cancelled => Outcome::Cancelled,
    };
    if reason.is_none() && result == Outcome::Failure {
        reason = progress
            .records
            .iter()
            .find(|r| r.conclusion == Outcome::Failure)
            .map(|r| {
                format!(
                    "step `{}` {}",
                    r.name,
                    r.error.clone().unwrap_or_else(|| "failed".to_owned())
                )
            });
    }
    let elapsed = started.elapsed();
    let record = StageRecord {
        name: name.to_owned(),
        result,
        reason,
        duration_ms: millis(elapsed),
        steps: progress.records,
        outputs,
    };
    let summary = match &record.reason {
        Some(r) => format!(
            "{} in {} ({r})",
            record.result.as_str(),
            step::human_duration(elapsed)
        ),
        None => format!(
            "{} in {}",
            record.result.as_str(),
            step::human_duration(elapsed)
        ),
    };
    run.shared.console.note(name, &summary);
    run.shared.console.finished(name);
    record
}

/// A stage's running state: contexts, env from `GITHUB_ENV`, `PATH` additions, status.
struct StageState<'r, 'a> {
    run: &'r Run<'a>,
    name: String,
    ctx: IndexMap<String, Value>,
    steps: serde_json::Map<String, serde_json::Value>,
    github_env: IndexMap<String, String>,
    path: Vec<String>,
    status: Status,
    records: Vec<StepRecord>,
}

impl<'r, 'a> StageState<'r, 'a> {
    fn new(run: &'r Run<'a>, name: &str, ctx: IndexMap<String, Value>) -> Self {
        Self {
            run,
            name: name.to_owned(),
            ctx,
            steps: serde_json::Map::new(),
            github_env: IndexMap::new(),
            path: Vec::new(),
            status: Status::Success,
            records: Vec::new(),
        }
    }

    /// The stage's `outputs`, rendered after its steps; a failure to render fails the stage.
    fn outputs(&mut self, stage: &Stage, reason: &mut Option<String>) -> IndexMap<String, String> {
        let mut outputs = IndexMap::new();
        for (key, template) in &stage.outputs {
            match self.render(template.as_str()) {
                Ok(v) => {
                    let masker = self
                        .run
                        .shared
                        .masker
                        .read()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    outputs.insert(key.clone(), masker.mask(&v).into_owned());
                }
                Err(e) => {
                    self.status = Status::Failure;
                    reason.get_or_insert(format!("output `{key}`: {e}"));
                }
            }
        }
        outputs
    }

    fn host(&self) -> RunHost {
        let status = if *self.run.cancel.borrow() {
            Status::Cancelled
        } else {
            self.status
        };
        RunHost {
            status,
            workspace: self.run.options.workspace.clone(),
        }
    }

    fn render(&self, text: &str) -> Result<String, String> {
        Template::parse(text, run_scope())
            .map_err(|(_, e)| e)
            .and_then(|t| t.render(&self.ctx, Some(&self.host())))
            .map_err(|e| e.to_string())
    }

    /// Env for a step: the config's, the stage's, `GITHUB_ENV`'s, then the step's own.
    fn env_for(&mut self, stage: &Stage, step: &Step) -> Result<IndexMap<String, String>, String> {
        let mut env = self.run.basics.env.clone();
        self.ctx.insert("env".to_owned(), contexts::strings(&env));
        for (layer, values) in [("stage", &stage.env), ("step", &IndexMap::new())] {
            let _ = layer;
            for (k, v) in values {
                let value = self
                    .render(v.as_str())
                    .map_err(|e| format!("env `{k}`: {e}"))?;
                env.insert(k.clone(), value);
            }
            self.ctx.insert("env".to_owned(), contexts::strings(&env));
        }
        env.extend(self.github_env.clone());
        self.ctx.insert("env".to_owned(), contexts::strings(&env));
        for (k, v) in &step.env {
            let value = self
                .render(v.as_str())
                .map_err(|e| format!("env `{k}`: {e}"))?;
            env.insert(k.clone(), value);
        }
        self.ctx.insert("env".to_owned(), contexts::strings(&env));
        Ok(env)
    }

    async fn step(
        &mut self,
        stage: &Stage,
        step: &Step,
        index: usize,
        remaining: Option<Duration>,
    ) -> StepRecord {
        let name = step_name(step, index);
        let shown = self.render(&name).unwrap_or(name);
        let mut record = StepRecord {
            name: shown.clone(),
            id: step.id.clone(),
            outcome: Outcome::Skipped,
            conclusion: Outcome::Skipped,
            exit_code: None,
            duration_ms: 0,
            error: None,
            log: None,
            outputs: IndexMap::new(),
            annotations: Vec::new(),
            summary: None,
        };
        let env = match self.env_for(stage, step) {
            Ok(env) => env,
            Err(e) => return self.fail(record, e),
        };
        let condition = step.condition.as_ref().map_or("", |c| c.as_str());
        match Condition::parse(condition, run_scope())
            .map_err(|(_, e)| e)
            .and_then(|c| c.holds(&self.ctx, Some(&self.host())))
        {
            Ok(true) => {}
            Ok(false) => {
                self.remember_record(&record);
                return record;
            }
            Err(e) => return self.fail(record, format!("its `if` failed: {e}")),
        }
        if remaining == Some(Duration::ZERO) {
            return self.fail(record, "the stage's time limit was reached".to_owned());
        }
        let Some(script) = &step.run else {
            return self.fail(record, "`uses:` steps are not supported yet".to_owned());
        };
        let script = match self.render(script.as_str()) {
            Ok(s) => s,
            Err(e) => return self.fail(record, format!("`run`: {e}")),
        };
        let spec = match self.spec(stage, step, index, script, env, remaining) {
            Ok(spec) => spec,
            Err(e) => return self.fail(record, e),
        };
        self.run
            .shared
            .console
            .note(&self.name, &format!("▶ {shown}"));
        let result = step::run(&spec, &self.run.shared, self.run.cancel.clone()).await;
        record.log = spec
            .log_path
            .strip_prefix(&self.run.options.run_dir)
            .ok()
            .map(|p| p.display().to_string());
        self.absorb(step, record, &result)
    }

    /// Records what a finished step did and carries its outputs, env and path forward.
    fn absorb(
        &mut self,
        step: &Step,
        mut record: StepRecord,
        result: &step::StepRun,
    ) -> StepRecord {
        record.duration_ms = millis(result.duration);
        record.annotations.clone_from(&result.annotations);
        record.summary.clone_from(&result.summary);
        record.exit_code = match result.exit {
            Exit::Code(c) => Some(c),
            _ => None,
        };
        let masker = self
            .run
            .shared
            .masker
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        record.outputs = result
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), masker.mask(v).into_owned()))
            .collect();
        for (k, v) in &result.env {
            self.github_env.insert(k.clone(), v.clone());
        }
        for p in result.path.iter().rev() {
            self.path.insert(0, p.clone());
        }
        record.outcome = if result.exit == Exit::Cancelled {
            Outcome::Cancelled
        } else if result.succeeded() {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        record.error = result.failure();
        record.conclusion = match record.outcome {
            Outcome::Failure if step.continue_on_error == Some(true) => Outcome::Success,
            other => other,
        };
        match record.conclusion {
            Outcome::Failure => self.status = Status::Failure,
            Outcome::Cancelled => self.status = Status::Cancelled,
            _ => {}
        }
        if let Some(e) = &record.error {
            self.run
                .shared
                .console
                .note(&self.name, &format!("✗ {}: {e}", record.name));
        }
        // Later expressions see the raw output values, as in Actions; the record keeps them masked.
        let mut raw = record.clone();
        raw.outputs.clone_from(&result.outputs);
        self.remember_record(&raw);
        record
    }

    fn spec(
        &self,
        stage: &Stage,
        step: &Step,
        index: usize,
        script: String,
        env: IndexMap<String, String>,
        remaining: Option<Duration>,
    ) -> Result<StepSpec, String> {
        let options = self.run.options;
        let defaults = &self.run.config.defaults.run;
        let base_path = std::env::var("PATH").unwrap_or_default();
        let path = if self.path.is_empty() {
            base_path
        } else {
            format!("{}:{base_path}", self.path.join(":"))
        };
        let shell_name = step.shell.clone().or_else(|| defaults.shell.clone());
        let shell = Shell::resolve(shell_name.as_deref(), |p| on_path(p, &path))?;
        let wd = match step
            .working_directory
            .as_ref()
            .map(|w| self.render(w.as_str()))
            .transpose()?
        {
            Some(w) => w,
            None => defaults
                .working_directory
                .clone()
                .unwrap_or_else(|| ".".to_owned()),
        };
        let working_directory = options.workspace.join(wd);
        let step_timeout = step
            .timeout_minutes
            .map(|m| Duration::from_secs_f64(m * 60.0));
        let timeout = match (step_timeout, remaining) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let _ = stage;
        let slug: String = step_name(step, index)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .split('-')
            .filter(|s| !s.is_empty())
            .take(6)
            .collect::<Vec<_>>()
            .join("-");
        let github = &self.run.basics.github;
        let text = |k: &str| {
            github
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let mut full_env = IndexMap::new();
        if options.ci {
            full_env.insert("CI".to_owned(), "true".to_owned());
        }
        for (k, v) in [
            ("GITHUB_WORKSPACE", options.workspace.display().to_string()),
            ("GITHUB_SHA", text("sha")),
            ("GITHUB_REF", text("ref")),
            ("GITHUB_REF_NAME", text("ref_name")),
            ("GITHUB_EVENT_NAME", text("event_name")),
            (
                "GITHUB_EVENT_PATH",
                self.run.event_path.display().to_string(),
            ),
            ("RUNNER_TEMP", options.temp_dir.display().to_string()),
            ("RUNNER_OS", "Linux".to_owned()),
            ("MLOPS_STAGE", self.name.clone()),
            ("MLOPS_RUN_DIR", options.run_dir.display().to_string()),
            ("MLOPS_CI_RUN_ID", options.run_id.clone()),
            ("PATH", path),
        ] {
            full_env.insert(k.to_owned(), v);
        }
        full_env.extend(env);
        Ok(StepSpec {
            stage: self.name.clone(),
            script,
            shell,
            working_directory,
            env: full_env,
            timeout,
            step_dir: options
                .temp_dir
                .join(&self.name)
                .join(format!("{:02}", index + 1)),
            log_path: options
                .run_dir
                .join("logs")
                .join(&self.name)
                .join(format!("{:02}-{slug}.log", index + 1)),
            debug: options.debug,
        })
    }

    fn fail(&mut self, mut record: StepRecord, error: String) -> StepRecord {
        self.run
            .shared
            .console
            .note(&self.name, &format!("✗ {}: {error}", record.name));
        record.outcome = Outcome::Failure;
        record.conclusion = Outcome::Failure;
        record.error = Some(error);
        self.status = Status::Failure;
        self.remember_record(&record);
        record
    }

    fn remember_record(&mut self, record: &StepRecord) {
        if let Some(id) = &record.id {
            self.steps.insert(
                id.clone(),
                serde_json::json!({
                    "outcome": record.outcome.as_str(),
                    "conclusion": record.conclusion.as_str(),
                    "outputs": record.outputs,
                }),
            );
            self.ctx.insert(
                "steps".to_owned(),
                Value::from_json(&serde_json::Value::Object(self.steps.clone())),
            );
        }
    }
}

fn step_name(step: &Step, index: usize) -> String {
    match (&step.name, &step.run, &step.uses) {
        (Some(n), _, _) => n.as_str().to_owned(),
        (None, Some(r), _) => format!(
            "Run {}",
            r.as_str().lines().next().unwrap_or_default().trim()
        ),
        (None, None, Some(u)) => format!("Run {u}"),
        _ => format!("step {}", index + 1),
    }
}

/// Kills every process still tagged with this run's id (daemons a step left behind).
pub fn reap(run_id: &str) -> usize {
    let tag = format!("MLOPS_CI_RUN_ID={run_id}");
    let me = std::process::id();
    let mut killed = 0;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|b| *b == 0).any(|var| var == tag.as_bytes()) {
            if let Ok(raw) = i32::try_from(pid) {
                if nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(raw),
                    nix::sys::signal::Signal::SIGKILL,
                )
                .is_ok()
                {
                    killed += 1;
                }
            }
        }
    }
    killed
}

/// Rc-based values stay on one thread: the pipeline runs on a local task set.
pub fn _assert_local(_: Rc<()>, _: &Path) {}
