//! The steps of one stage, run in order as GitHub runs a job's: env layers, `if`, outcomes
//! and conclusions, outputs, `GITHUB_ENV` and `GITHUB_PATH` carried forward, and `uses:`
//! actions (composite and Node.js) run in their own frame of `steps` and `inputs`.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::{Map, Value as Json, json};

use super::action::{ActionDef, ActionRef, Kind};
use super::contexts;
use super::host::{RunHost, Status};
use super::pipeline::{Run, millis};
use super::shell::{Shell, on_path};
use super::step::{self, Exit, Launch, StepRun, StepSpec};
use crate::config::model::{Stage, Step};
use crate::expr::{Condition, Template, Value, run_scope};
use crate::results::{Outcome, StepRecord};

/// Deepest nesting of composite actions.
const MAX_ACTION_DEPTH: usize = 10;

/// One level of `steps`: the stage's own, or a composite action's.
#[derive(Debug, Default)]
struct Frame {
    steps: Map<String, Json>,
    status: Status,
    inputs: Map<String, Json>,
    /// The env a composite's steps start from: its caller's.
    base_env: Option<IndexMap<String, String>>,
    action_path: Option<PathBuf>,
}

/// A Node.js action's `post` script, run when the stage ends.
#[derive(Debug)]
struct Post {
    name: String,
    program: String,
    args: Vec<String>,
    env: IndexMap<String, String>,
    condition: String,
    action_path: PathBuf,
}

/// A stage's running state: contexts, env from `GITHUB_ENV`, `PATH` additions, frames, records.
pub(super) struct StageState<'r, 'a> {
    run: &'r Run<'a>,
    name: String,
    ctx: IndexMap<String, Value>,
    github_env: IndexMap<String, String>,
    path: Vec<String>,
    frames: Vec<Frame>,
    posts: Vec<Post>,
    counter: usize,
    pub records: Vec<StepRecord>,
}

fn blank_record(name: String, id: Option<String>) -> StepRecord {
    StepRecord {
        name,
        id,
        outcome: Outcome::Skipped,
        conclusion: Outcome::Skipped,
        exit_code: None,
        duration_ms: 0,
        error: None,
        log: None,
        outputs: IndexMap::new(),
        annotations: Vec::new(),
        summary: None,
        steps: Vec::new(),
    }
}

impl std::fmt::Debug for StageState<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageState")
            .field("name", &self.name)
            .field("steps", &self.records.len())
            .finish_non_exhaustive()
    }
}

impl<'r, 'a> StageState<'r, 'a> {
    pub(super) fn new(run: &'r Run<'a>, name: &str, ctx: IndexMap<String, Value>) -> Self {
        Self {
            run,
            name: name.to_owned(),
            ctx,
            github_env: IndexMap::new(),
            path: Vec::new(),
            frames: vec![Frame::default()],
            posts: Vec::new(),
            counter: 0,
            records: Vec::new(),
        }
    }

    fn frame(&mut self) -> &mut Frame {
        self.frames
            .last_mut()
            .expect("the stage frame is never popped")
    }

    /// The stage's status so far.
    pub fn status(&self) -> Status {
        self.frames[0].status
    }

    pub fn fail_stage(&mut self) {
        self.frames[0].status = Status::Failure;
    }

    /// The stage's `outputs`, rendered after its steps; a failure to render fails the stage.
    pub fn outputs(
        &mut self,
        stage: &Stage,
        reason: &mut Option<String>,
    ) -> IndexMap<String, String> {
        let mut outputs = IndexMap::new();
        for (key, template) in &stage.outputs {
            match self.render(template.as_str()) {
                Ok(v) => {
                    outputs.insert(key.clone(), self.mask(&v));
                }
                Err(e) => {
                    self.fail_stage();
                    reason.get_or_insert(format!("output `{key}`: {e}"));
                }
            }
        }
        outputs
    }

    fn mask(&self, text: &str) -> String {
        self.run
            .shared
            .masker
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .mask(text)
            .into_owned()
    }

    fn host(&self) -> RunHost {
        let status = if *self.run.cancel.borrow() {
            Status::Cancelled
        } else {
            self.frames.last().map_or(Status::Success, |f| f.status)
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

    /// Renders `text` in the stage's contexts as they are now (after its steps).
    pub(super) fn render_text(&self, text: &str) -> Result<String, String> {
        self.render(text)
    }

    /// Whether condition `text` holds in the stage's contexts as they are now.
    pub(super) fn condition_holds(&self, text: &str) -> Result<bool, String> {
        Condition::parse(text, run_scope())
            .map_err(|(_, e)| e)
            .and_then(|c| c.holds(&self.ctx, Some(&self.host())))
            .map_err(|e| e.to_string())
    }

    fn sync_contexts(&mut self) {
        let frame = self.frames.last().expect("a frame");
        let steps = Value::from_json(&Json::Object(frame.steps.clone()));
        let inputs = Value::from_json(&Json::Object(frame.inputs.clone()));
        self.ctx.insert("steps".to_owned(), steps);
        self.ctx.insert("inputs".to_owned(), inputs);
    }

    fn set_env_context(&mut self, env: &IndexMap<String, String>) {
        self.ctx.insert("env".to_owned(), contexts::strings(env));
    }

    /// Env for a step: the config's, the stage's (or a composite caller's), `GITHUB_ENV`'s,
    /// then the step's own, each layer seeing the ones before it.
    fn env_for(&mut self, stage: &Stage, step: &Step) -> Result<IndexMap<String, String>, String> {
        let base = self.frames.last().and_then(|f| f.base_env.clone());
        let mut env = if let Some(base) = base {
            base
        } else {
            let mut env = self.run.basics.env.clone();
            self.set_env_context(&env);
            for (k, v) in &stage.env {
                let value = self
                    .render(v.as_str())
                    .map_err(|e| format!("env `{k}`: {e}"))?;
                env.insert(k.clone(), value);
            }
            env
        };
        env.extend(self.github_env.clone());
        self.set_env_context(&env);
        for (k, v) in &step.env {
            let value = self
                .render(v.as_str())
                .map_err(|e| format!("env `{k}`: {e}"))?;
            env.insert(k.clone(), value);
        }
        self.set_env_context(&env);
        Ok(env)
    }

    /// Runs one step (boxed: a composite action's steps come back here).
    pub fn step<'s>(
        &'s mut self,
        stage: &'s Stage,
        step: &'s Step,
        index: usize,
        remaining: Option<Duration>,
    ) -> Pin<Box<dyn Future<Output = StepRecord> + 's>> {
        Box::pin(async move {
            self.sync_contexts();
            let name = step_name(step, index);
            let shown = self.mask(&self.render(&name).unwrap_or(name));
            let record = blank_record(shown, step.id.clone());
            let env = match self.env_for(stage, step) {
                Ok(env) => env,
                Err(e) => return self.fail(record, e),
            };
            let condition = step.condition.as_ref().map_or("", |c| c.as_str());
            let holds = Condition::parse(condition, run_scope())
                .map_err(|(_, e)| e)
                .and_then(|c| c.holds(&self.ctx, Some(&self.host())));
            match holds {
                Ok(true) => {}
                Ok(false) => {
                    self.remember(&record, &IndexMap::new());
                    return record;
                }
                Err(e) => return self.fail(record, format!("its `if` failed: {e}")),
            }
            if remaining == Some(Duration::ZERO) {
                return self.fail(record, "the stage's time limit was reached".to_owned());
            }
            match (&step.run, &step.uses) {
                (Some(script), _) => {
                    self.run_script(step, script.as_str(), env, remaining, record)
                        .await
                }
                (None, Some(uses)) => self.uses(stage, step, uses, env, remaining, record).await,
                (None, None) => {
                    self.fail(record, "the step has neither `run` nor `uses`".to_owned())
                }
            }
        })
    }

    async fn run_script(
        &mut self,
        step: &Step,
        script: &str,
        env: IndexMap<String, String>,
        remaining: Option<Duration>,
        record: StepRecord,
    ) -> StepRecord {
        let script = match self.render(script) {
            Ok(s) => s,
            Err(e) => return self.fail(record, format!("`run`: {e}")),
        };
        let path = self.path_var();
        let defaults = &self.run.config.defaults.run;
        let shell_name = step.shell.clone().or_else(|| defaults.shell.clone());
        let shell = match Shell::resolve(shell_name.as_deref(), |p| on_path(p, &path)) {
            Ok(s) => s.located(&path),
            Err(e) => return self.fail(record, e),
        };
        let wd = match step
            .working_directory
            .as_ref()
            .map(|w| self.render(w.as_str()))
            .transpose()
        {
            Ok(w) => w,
            Err(e) => return self.fail(record, format!("`working-directory`: {e}")),
        };
        let launch = Launch::Script { shell, script };
        let spec = self.spec(step, launch, wd, env, remaining);
        self.execute(step, record, &spec).await
    }

    /// Runs a prepared process and records what it did.
    async fn execute(
        &mut self,
        step: &Step,
        mut record: StepRecord,
        spec: &StepSpec,
    ) -> StepRecord {
        self.run
            .shared
            .console
            .note(&self.name, &format!("▶ {}", record.name));
        let result = step::run(spec, &self.run.shared, self.run.cancel.clone()).await;
        record.log = log_name(spec, &self.run.options.run_dir);
        self.absorb(step.continue_on_error == Some(true), record, &result)
    }

    /// Records what a finished process did and carries its outputs, env and path forward.
    fn absorb(
        &mut self,
        continue_on_error: bool,
        mut record: StepRecord,
        result: &StepRun,
    ) -> StepRecord {
        record.duration_ms = millis(result.duration);
        record.annotations.clone_from(&result.annotations);
        record.summary.clone_from(&result.summary);
        record.exit_code = match result.exit {
            Exit::Code(c) => Some(c),
            _ => None,
        };
        record.outputs = result
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), self.mask(v)))
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
        self.conclude(continue_on_error, &mut record);
        self.remember(&record, &result.outputs);
        record
    }

    fn conclude(&mut self, continue_on_error: bool, record: &mut StepRecord) {
        record.conclusion = match record.outcome {
            Outcome::Failure if continue_on_error => Outcome::Success,
            other => other,
        };
        match record.conclusion {
            Outcome::Failure => self.frame().status = Status::Failure,
            Outcome::Cancelled => self.frame().status = Status::Cancelled,
            _ => {}
        }
        if let Some(e) = &record.error {
            self.run
                .shared
                .console
                .note(&self.name, &format!("✗ {}: {e}", record.name));
        }
    }

    fn path_var(&self) -> String {
        let base = std::env::var("PATH").unwrap_or_default();
        if self.path.is_empty() {
            base
        } else {
            format!("{}:{base}", self.path.join(":"))
        }
    }

    fn spec(
        &mut self,
        step: &Step,
        launch: Launch,
        working_directory: Option<String>,
        env: IndexMap<String, String>,
        remaining: Option<Duration>,
    ) -> StepSpec {
        let options = self.run.options;
        let wd = working_directory
            .or_else(|| self.run.config.defaults.run.working_directory.clone())
            .unwrap_or_else(|| ".".to_owned());
        let step_timeout = step
            .timeout_minutes
            .map(|m| Duration::from_secs_f64(m * 60.0));
        let timeout = match (step_timeout, remaining) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.counter += 1;
        let number = self.counter;
        let slug = slug(&step_name(step, number - 1));
        let mut full_env = self.actions_env();
        if let Some(path) = self.frames.last().and_then(|f| f.action_path.clone()) {
            full_env.insert("GITHUB_ACTION_PATH".to_owned(), path.display().to_string());
        }
        full_env.extend(env);
        StepSpec {
            stage: self.name.clone(),
            launch,
            working_directory: options.workspace.join(wd),
            env: full_env,
            timeout,
            step_dir: options.temp_dir.join(&self.name),
            log_path: options
                .run_dir
                .join("logs")
                .join(&self.name)
                .join(format!("{number:02}-{slug}.log")),
            debug: options.debug,
        }
    }

    /// The variables every step gets, as GitHub's runner sets them.
    fn actions_env(&self) -> IndexMap<String, String> {
        let options = self.run.options;
        let github = &self.run.basics.github;
        let text = |k: &str| {
            github
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let mut env = IndexMap::new();
        if options.ci {
            env.insert("CI".to_owned(), "true".to_owned());
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
            ("PATH", self.path_var()),
        ] {
            env.insert(k.to_owned(), v);
        }
        env
    }

    fn fail(&mut self, mut record: StepRecord, error: String) -> StepRecord {
        record.outcome = Outcome::Failure;
        record.error = Some(error);
        self.conclude(false, &mut record);
        self.remember(&record, &IndexMap::new());
        record
    }

    /// Makes a step visible as `steps.<id>` to later expressions, with its raw outputs.
    fn remember(&mut self, record: &StepRecord, raw_outputs: &IndexMap<String, String>) {
        if let Some(id) = &record.id {
            let entry = json!({
                "outcome": record.outcome.as_str(),
                "conclusion": record.conclusion.as_str(),
                "outputs": raw_outputs,
            });
            self.frame().steps.insert(id.clone(), entry);
            self.sync_contexts();
        }
    }

    /// A `uses:` step: a composite or Node.js action, from the workspace or fetched.
    async fn uses(
        &mut self,
        stage: &Stage,
        step: &Step,
        uses: &str,
        env: IndexMap<String, String>,
        remaining: Option<Duration>,
        record: StepRecord,
    ) -> StepRecord {
        if let Some(image) = uses.strip_prefix("docker://") {
            return self.docker(step, image, env, remaining, record).await;
        }
        let (dir, def) = match self.resolve_action(uses) {
            Ok(found) => found,
            Err(e) => return self.fail(record, e),
        };
        let inputs = match self.inputs(step, &def) {
            Ok(i) => i,
            Err(e) => return self.fail(record, e),
        };
        match def.kind() {
            Ok(Kind::Composite) => {
                self.composite(stage, step, &def, dir, inputs, env, remaining, record)
                    .await
            }
            Ok(Kind::Node) => {
                self.node(step, &def, dir, &inputs, env, remaining, record)
                    .await
            }
            Ok(Kind::Docker) => self.fail(
                record,
                "Docker container actions are not supported yet".to_owned(),
            ),
            Err(e) => self.fail(record, e),
        }
    }

    /// A `uses: docker://IMAGE` step: a process like any step's, which runs the container
    /// (`super::docker_step`) with the workspace and the run's temp folder mounted.
    async fn docker(
        &mut self,
        step: &Step,
        image: &str,
        env: IndexMap<String, String>,
        remaining: Option<Duration>,
        record: StepRecord,
    ) -> StepRecord {
        let mut with = IndexMap::new();
        for (k, v) in &step.with {
            if !["args", "entrypoint", "network"].contains(&k.to_lowercase().as_str()) {
                self.run.shared.console.note(
                    &self.name,
                    &format!("warning: `docker://` steps take `args`, `entrypoint` and `network`; `{k}` is ignored"),
                );
            }
            match self.render(v.as_str()) {
                Ok(v) => with.insert(k.to_lowercase(), v),
                Err(e) => return self.fail(record, format!("input `{k}`: {e}")),
            };
        }
        let program = match std::env::current_exe() {
            Ok(p) => p.display().to_string(),
            Err(e) => return self.fail(record, format!("could not find mlops-ci itself: {e}")),
        };
        let wd = match step
            .working_directory
            .as_ref()
            .map(|w| self.render(w.as_str()))
            .transpose()
        {
            Ok(w) => w,
            Err(e) => return self.fail(record, format!("`working-directory`: {e}")),
        };
        let placeholder = Launch::Program {
            program: program.clone(),
            args: Vec::new(),
        };
        let mut spec = self.spec(step, placeholder, wd, env, remaining);
        spec.working_directory = spec.working_directory.components().collect();
        let mounts = [
            self.run.options.workspace.clone(),
            self.run.options.temp_dir.clone(),
        ];
        let args = super::docker_step::arguments(
            image,
            &with,
            &spec.working_directory,
            &mounts,
            &spec.env,
        );
        spec.launch = Launch::Program { program, args };
        self.execute(step, record, &spec).await
    }

    fn resolve_action(&self, uses: &str) -> Result<(PathBuf, ActionDef), String> {
        if self.frames.len() > MAX_ACTION_DEPTH {
            return Err(format!(
                "composite actions nest deeper than {MAX_ACTION_DEPTH} levels"
            ));
        }
        let dir = match ActionRef::parse(uses)? {
            ActionRef::Local(path) => self.run.options.workspace.join(path),
            ActionRef::Remote {
                owner,
                repo,
                path,
                git_ref,
            } => {
                let server = self
                    .run
                    .basics
                    .github
                    .get("server_url")
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
                    .map_or_else(
                        || {
                            std::env::var("GITHUB_SERVER_URL")
                                .unwrap_or_else(|_| "https://github.com".to_owned())
                        },
                        str::to_owned,
                    );
                let server = std::env::var("GITHUB_SERVER_URL").unwrap_or(server);
                let root = super::action::fetch(
                    &server,
                    &owner,
                    &repo,
                    &git_ref,
                    &super::action::cache_dir(),
                )?;
                path.map_or(root.clone(), |p| root.join(p))
            }
            ActionRef::Docker(image) => {
                return Err(format!(
                    "`uses: docker://{image}` steps are not supported yet"
                ));
            }
        };
        let def = ActionDef::load(&dir)?;
        Ok((dir, def))
    }

    /// The action's inputs: `with:` rendered, defaults for the rest.
    fn inputs(&self, step: &Step, def: &ActionDef) -> Result<Map<String, Json>, String> {
        let mut inputs = Map::new();
        for (name, input) in &def.inputs {
            let given = step
                .with
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str().to_owned());
            let value = if let Some(v) = given.or_else(|| input.default.clone()) {
                self.render(&v)
                    .map_err(|e| format!("input `{name}`: {e}"))?
            } else {
                if input.required == Some(true) {
                    self.run.shared.console.note(
                        &self.name,
                        &format!("warning: input `{name}` is required but not given"),
                    );
                }
                String::new()
            };
            inputs.insert(name.clone(), Json::String(value));
        }
        for (name, value) in &step.with {
            if !inputs.keys().any(|k| k.eq_ignore_ascii_case(name)) {
                let value = self
                    .render(value.as_str())
                    .map_err(|e| format!("input `{name}`: {e}"))?;
                self.run.shared.console.note(
                    &self.name,
                    &format!("warning: the action has no input `{name}`"),
                );
                inputs.insert(name.clone(), Json::String(value));
            }
        }
        Ok(inputs)
    }

    #[allow(clippy::too_many_arguments)]
    async fn composite(
        &mut self,
        stage: &Stage,
        step: &Step,
        def: &ActionDef,
        dir: PathBuf,
        inputs: Map<String, Json>,
        env: IndexMap<String, String>,
        remaining: Option<Duration>,
        mut record: StepRecord,
    ) -> StepRecord {
        self.run
            .shared
            .console
            .note(&self.name, &format!("▶ {}", record.name));
        let started = std::time::Instant::now();
        self.frames.push(Frame {
            inputs,
            base_env: Some(env),
            action_path: Some(dir),
            ..Frame::default()
        });
        for (i, inner) in def.runs.steps.iter().enumerate() {
            let child = self.step(stage, inner, i, remaining).await;
            record.steps.push(child);
        }
        self.sync_contexts();
        let mut outputs = IndexMap::new();
        let mut error = None;
        for (name, output) in &def.outputs {
            match output.value.as_deref().map(|v| self.render(v)).transpose() {
                Ok(v) => {
                    outputs.insert(name.clone(), v.unwrap_or_default());
                }
                Err(e) => error = Some(format!("output `{name}`: {e}")),
            }
        }
        let frame = self.frames.pop().expect("pushed above");
        self.sync_contexts();
        record.duration_ms = millis(started.elapsed());
        record.outcome = match (frame.status, &error) {
            (Status::Cancelled, _) => Outcome::Cancelled,
            (Status::Failure, _) | (_, Some(_)) => Outcome::Failure,
            _ => Outcome::Success,
        };
        record.error = error.or_else(|| {
            record
                .steps
                .iter()
                .find(|s| s.conclusion == Outcome::Failure)
                .map(|s| {
                    format!(
                        "step `{}` {}",
                        s.name,
                        s.error.clone().unwrap_or_else(|| "failed".to_owned())
                    )
                })
        });
        record.outputs = outputs
            .iter()
            .map(|(k, v)| (k.clone(), self.mask(v)))
            .collect();
        self.conclude(step.continue_on_error == Some(true), &mut record);
        self.remember(&record, &outputs);
        record
    }

    #[allow(clippy::too_many_arguments)]
    async fn node(
        &mut self,
        step: &Step,
        def: &ActionDef,
        dir: PathBuf,
        inputs: &Map<String, Json>,
        mut env: IndexMap<String, String>,
        remaining: Option<Duration>,
        record: StepRecord,
    ) -> StepRecord {
        if !on_path("node", &self.path_var()) {
            return self.fail(
                record,
                "this action runs on Node.js: install `node` (20 or newer) on PATH".to_owned(),
            );
        }
        let Some(main) = def.runs.main.clone() else {
            return self.fail(record, "the action's `runs` has no `main`".to_owned());
        };
        for (name, value) in inputs {
            let key = format!("INPUT_{}", name.replace(' ', "_").to_uppercase());
            env.insert(key, value.as_str().unwrap_or_default().to_owned());
        }
        self.frames.push(Frame {
            action_path: Some(dir.clone()),
            ..Frame::default()
        });
        if let Some(pre) = &def.runs.pre {
            let pre_if = def
                .runs
                .pre_if
                .clone()
                .unwrap_or_else(|| "always()".to_owned());
            if Condition::parse(&pre_if, run_scope())
                .map_err(|(_, e)| e)
                .and_then(|c| c.holds(&self.ctx, Some(&self.host())))
                .unwrap_or(false)
            {
                let launch = Launch::Program {
                    program: "node".to_owned(),
                    args: vec![dir.join(pre).display().to_string()],
                };
                let spec = self.spec(step, launch, None, env.clone(), remaining);
                let pre_record = blank_record(format!("Pre {}", record.name), None);
                self.run
                    .shared
                    .console
                    .note(&self.name, &format!("▶ {}", pre_record.name));
                let result = step::run(&spec, &self.run.shared, self.run.cancel.clone()).await;
                for (k, v) in &result.state {
                    env.insert(format!("STATE_{k}"), v.clone());
                }
            }
        }
        let launch = Launch::Program {
            program: "node".to_owned(),
            args: vec![dir.join(&main).display().to_string()],
        };
        let spec = self.spec(step, launch, None, env.clone(), remaining);
        self.frames.pop();
        self.frames.push(Frame {
            action_path: Some(dir.clone()),
            ..Frame::default()
        });
        self.run
            .shared
            .console
            .note(&self.name, &format!("▶ {}", record.name));
        let result = step::run(&spec, &self.run.shared, self.run.cancel.clone()).await;
        self.frames.pop();
        if let Some(post) = &def.runs.post {
            let mut post_env = env.clone();
            for (k, v) in &result.state {
                post_env.insert(format!("STATE_{k}"), v.clone());
            }
            self.posts.push(Post {
                name: format!("Post {}", record.name),
                program: "node".to_owned(),
                args: vec![dir.join(post).display().to_string()],
                env: post_env,
                condition: def
                    .runs
                    .post_if
                    .clone()
                    .unwrap_or_else(|| "always()".to_owned()),
                action_path: dir,
            });
        }
        let mut record = record;
        record.log = log_name(&spec, &self.run.options.run_dir);
        self.absorb(step.continue_on_error == Some(true), record, &result)
    }

    /// Runs the Node.js actions' `post` scripts, last first, after the stage's steps.
    pub async fn finish(&mut self) {
        let empty = Step::default();
        while let Some(post) = self.posts.pop() {
            self.sync_contexts();
            let record = blank_record(post.name.clone(), None);
            let holds = Condition::parse(&post.condition, run_scope())
                .map_err(|(_, e)| e)
                .and_then(|c| c.holds(&self.ctx, Some(&self.host())))
                .unwrap_or(false);
            if !holds {
                self.records.push(record);
                continue;
            }
            self.frames.push(Frame {
                action_path: Some(post.action_path.clone()),
                ..Frame::default()
            });
            let launch = Launch::Program {
                program: post.program.clone(),
                args: post.args.clone(),
            };
            let spec = self.spec(&empty, launch, None, post.env.clone(), None);
            let record = self.execute(&empty, record, &spec).await;
            let failed = record.conclusion == Outcome::Failure;
            self.frames.pop();
            if failed {
                self.fail_stage();
            }
            self.records.push(record);
        }
    }
}

/// The step's log, relative to the run folder, if the step printed anything.
fn log_name(spec: &StepSpec, run_dir: &std::path::Path) -> Option<String> {
    spec.log_path
        .is_file()
        .then(|| {
            spec.log_path
                .strip_prefix(run_dir)
                .ok()
                .map(|p| p.display().to_string())
        })
        .flatten()
}

fn slug(name: &str) -> String {
    name.chars()
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
        .join("-")
}

pub fn step_name(step: &Step, index: usize) -> String {
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
