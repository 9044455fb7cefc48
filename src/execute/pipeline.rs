//! Runs the stages of a config: in `needs` order, independent stages concurrently (bounded),
//! each stage's `if`, env, steps, outcomes and outputs as GitHub runs a job's, cancellation on
//! request, and every step's masked log kept in the run folder.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;
use tokio::sync::{Semaphore, watch};

use super::console::Console;
use super::contexts::{self, RunBasics};
use super::host::{RunHost, Status};
use super::mask::Masker;
use super::stage::StageState;
use super::step::{self, StepShared};
use crate::config::Config;
use crate::config::model::Stage;
use crate::expr::{Condition, Value, run_scope};
use crate::results::{Flat, GateVerdict, GitInfo, Outcome, RunRecord, StageRecord, utc_timestamp};

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
    /// The engine and tag context for stages with an `image`.
    pub images: Option<Arc<super::image::ImageSetup>>,
}

/// What a stage's metrics and gates came to, after its steps.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub metrics: IndexMap<String, Flat>,
    pub gates: Vec<GateVerdict>,
    /// Why the stage fails, if its metrics could not be read or a gate failed.
    pub failure: Option<String>,
}

/// Reads a stage's metrics and judges its gates once its steps succeeded. Provided by the
/// caller, which owns metrics files and comparison; `so_far` holds every metrics file read
/// before, by earlier stages.
pub trait AfterSteps {
    fn after_steps(&self, stage: &str, config: &Stage, so_far: &IndexMap<String, Flat>)
    -> Measured;

    /// The baseline's data profiles by file, for drift; `None` when there is no baseline.
    fn baseline_profiles(&self) -> Option<IndexMap<String, crate::results::data::Profile>> {
        None
    }
}

/// Shared by every stage of a run.
pub(super) struct Run<'a> {
    pub(super) after: &'a dyn AfterSteps,
    pub(super) metrics: std::cell::RefCell<IndexMap<String, Flat>>,
    pub(super) config: &'a Config,
    pub(super) basics: &'a RunBasics,
    pub(super) options: &'a RunOptions,
    pub(super) shared: StepShared,
    pub(super) cancel: watch::Receiver<bool>,
    pub(super) jobs: Semaphore,
    pub(super) event_path: PathBuf,
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
    after: &dyn AfterSteps,
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
        after,
        metrics: std::cell::RefCell::new(IndexMap::new()),
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
        baseline: None,
        params: IndexMap::new(),
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

pub(super) fn millis(d: Duration) -> u64 {
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

/// The status functions' view for a stage: failure if an ancestor failed; with the first
/// ancestor (nearest first) that did not succeed.
fn ancestors_status(
    config: &Config,
    name: &str,
    done: &HashMap<String, Finished>,
) -> (Status, Option<String>) {
    let mut queue: std::collections::VecDeque<&str> = config.stages[name]
        .needs
        .iter()
        .map(String::as_str)
        .collect();
    let mut seen = Vec::new();
    let mut status = Status::Success;
    let mut blocker = None;
    while let Some(n) = queue.pop_front() {
        if seen.contains(&n) {
            continue;
        }
        seen.push(n);
        let result = done.get(n).map(|f| f.record.result);
        if matches!(
            result,
            Some(Outcome::Failure | Outcome::Cancelled | Outcome::Skipped)
        ) && blocker.is_none()
        {
            blocker = Some(n.to_owned());
        }
        match result {
            Some(Outcome::Failure) => status = Status::Failure,
            Some(Outcome::Cancelled) => return (Status::Cancelled, blocker),
            Some(Outcome::Skipped) if status == Status::Success => status = Status::Incomplete,
            _ => {}
        }
        if let Some(stage) = config.stages.get(n) {
            queue.extend(stage.needs.iter().map(String::as_str));
        }
    }
    (status, blocker)
}

pub(super) fn skipped(name: &str, reason: String) -> StageRecord {
    StageRecord {
        name: name.to_owned(),
        result: Outcome::Skipped,
        reason: Some(reason),
        duration_ms: 0,
        steps: Vec::new(),
        outputs: IndexMap::new(),
        metrics: IndexMap::new(),
        gates: Vec::new(),
        image: None,
        data: Vec::new(),
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
    let mut metrics = Flat::new();
    for file in run.metrics.borrow().values() {
        metrics.extend(file.clone());
    }
    ctx.insert(
        "metrics".to_owned(),
        Value::from_json(&serde_json::Value::Object(metrics.into_iter().collect())),
    );
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
    (ancestors, blocker): (Status, Option<String>),
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
        Ok(false) => skipped(
            name,
            match &blocker {
                Some(b) if stage.needs.contains(b) => {
                    format!("`{b}`, which it needs, did not succeed")
                }
                Some(b) => format!("`{b}`, which it needs through other stages, did not succeed"),
                None => "a stage it needs did not succeed".to_owned(),
            },
        ),
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
    ancestors: (Status, Option<String>),
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
    let mut data = super::data::run_stage_checks(run, name, stage).await;
    if let Some(record) = super::data::failed_stage(run, name, &mut data, started) {
        return record;
    }
    let mut progress = StageState::new(run, name, ctx);
    let mut reason = None;
    for (index, step) in stage.steps.iter().enumerate() {
        let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if remaining == Some(Duration::ZERO) && reason.is_none() {
            reason = Some(format!(
                "stage timed out after {} min",
                stage.timeout_minutes.unwrap_or_default()
            ));
            progress.fail_stage();
        }
        let record = progress.step(stage, step, index, remaining).await;
        progress.records.push(record);
    }
    progress.finish().await;
    let outputs = progress.outputs(stage, &mut reason);
    let result = match progress.status() {
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
    let (measured, mut result) = measure(run, name, stage, result, &mut reason);
    let image = match (&stage.image, result) {
        (Some(image), Outcome::Success) => {
            let mut part = ImagePart::new(&progress, &measured, &finished);
            let record = part.run(run, name, stage, image).await;
            (result, reason) = part.verdict(result, reason);
            record
        }
        _ => None,
    };
    let elapsed = started.elapsed();
    let record = StageRecord {
        name: name.to_owned(),
        result,
        reason,
        duration_ms: millis(elapsed),
        steps: progress.records,
        outputs,
        metrics: measured.metrics,
        gates: measured.gates,
        image,
        data: data.reports,
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

/// Reads the stage's metrics and judges its gates after its steps succeeded; a metrics file
/// that cannot be read or a failed gate fails the stage, with `reason` saying why.
fn measure(
    run: &Run<'_>,
    name: &str,
    stage: &Stage,
    result: Outcome,
    reason: &mut Option<String>,
) -> (Measured, Outcome) {
    let mut measured = Measured::default();
    if result != Outcome::Success || (stage.metrics.is_empty() && stage.gates.is_empty()) {
        return (measured, result);
    }
    let so_far = run.metrics.borrow().clone();
    measured = run.after.after_steps(name, stage, &so_far);
    run.metrics.borrow_mut().extend(measured.metrics.clone());
    for gate in &measured.gates {
        let mark = if gate.passed { "✓" } else { "✗" };
        run.shared
            .console
            .note(name, &format!("{mark} gate {}: {}", gate.name, gate.reason));
    }
    match measured.failure.take() {
        Some(why) => {
            *reason = Some(why);
            (measured, Outcome::Failure)
        }
        None => (measured, result),
    }
}

/// The stage's image part, with its expressions read in the stage's contexts, every metric so
/// far, and the gates of the stages before it and its own.
struct ImagePart<'p, 'r, 'a> {
    progress: &'p StageState<'r, 'a>,
    gates: Vec<GateVerdict>,
    failure: Option<String>,
    skipped: Option<String>,
    image_only: bool,
}

impl<'p, 'r, 'a> ImagePart<'p, 'r, 'a> {
    fn new(
        progress: &'p StageState<'r, 'a>,
        measured: &Measured,
        finished: &[StageRecord],
    ) -> Self {
        let mut gates: Vec<GateVerdict> = finished.iter().flat_map(|s| s.gates.clone()).collect();
        gates.extend(measured.gates.iter().cloned());
        Self {
            progress,
            gates,
            failure: None,
            skipped: None,
            image_only: false,
        }
    }

    async fn run(
        &mut self,
        run: &Run<'_>,
        name: &str,
        stage: &Stage,
        config: &crate::config::model::Image,
    ) -> Option<crate::results::ImageRecord> {
        self.image_only =
            stage.steps.is_empty() && stage.metrics.is_empty() && stage.gates.is_empty();
        let metrics = crate::results::merged(&run.metrics.borrow());
        let render = |text: &str| self.progress.render_text(text);
        let holds = |text: &str| self.progress.condition_holds(text);
        let view = super::image::StageView {
            render: &render,
            holds: &holds,
            metrics: &metrics,
            gates: &self.gates,
        };
        let outcome = super::image::stage_image(run, name, config, &view).await;
        self.failure = outcome.failure;
        self.skipped = outcome.skipped;
        outcome.record
    }

    /// The stage's result and reason after its image: failed, skipped (an image-only stage
    /// whose engine is unreachable under `check`), or as they were.
    fn verdict(&mut self, result: Outcome, reason: Option<String>) -> (Outcome, Option<String>) {
        if let Some(why) = self.failure.take() {
            (Outcome::Failure, Some(why))
        } else if let Some(why) = self.skipped.take() {
            let result = if self.image_only {
                Outcome::Skipped
            } else {
                result
            };
            (result, Some(why))
        } else {
            (result, reason)
        }
    }
}

/// Kills every process still tagged with this run's id (daemons a step left behind). Scans
/// until a few scans in a row find none: a process caught mid-fork or mid-exec can be missed by
/// one scan.
pub fn reap(run_id: &str) -> usize {
    let mut killed = 0;
    let mut quiet = 0;
    for _ in 0..40 {
        let found = reap_once(run_id);
        killed += found;
        quiet = if found == 0 { quiet + 1 } else { 0 };
        if quiet >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    killed
}

fn reap_once(run_id: &str) -> usize {
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
