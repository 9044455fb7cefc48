//! One `run:` step as a process: the script in a temp file, its own process group, output
//! streamed through masking and the workflow-command parser into the console and a log, a
//! timeout and cancellation that reach every process of the group, then the file commands.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt as _;
use tokio::sync::{mpsc, watch};

use super::commands::{Command, CommandState};
use super::console::Console;
use super::file_commands::{check_env_name, parse_key_values, parse_path_file};
use super::mask::{MaskedStream, Masker};
use super::shell::{Shell, ShellCommand};
use crate::results::Annotation;

/// Time a process group gets after SIGINT, then after SIGTERM, before SIGKILL (as the runner).
pub const GRACE_INT: Duration = Duration::from_millis(7500);
pub const GRACE_TERM: Duration = Duration::from_millis(2500);

/// Everything one step needs, resolved.
#[derive(Debug, Clone)]
pub struct StepSpec {
    pub stage: String,
    pub launch: Launch,
    pub working_directory: PathBuf,
    /// Variables set on top of the inherited environment.
    pub env: IndexMap<String, String>,
    pub timeout: Option<Duration>,
    /// Folder for this step's script and file-command files.
    pub step_dir: PathBuf,
    pub log_path: PathBuf,
    pub debug: bool,
}

/// What a step runs.
#[derive(Debug, Clone)]
pub enum Launch {
    /// A `run:` script, written to a file and run by a shell.
    Script { shell: Shell, script: String },
    /// A program with arguments (a Node.js action).
    Program { program: String, args: Vec<String> },
}

/// What shared state a step reads and updates.
#[derive(Debug, Clone)]
pub struct StepShared {
    pub masker: Arc<RwLock<Masker>>,
    pub console: Arc<Console>,
}

/// How the process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    TimedOut(Duration),
    Cancelled,
    NotStarted(String),
}

/// What a step did.
#[derive(Debug, Clone)]
pub struct StepRun {
    pub exit: Exit,
    pub duration: Duration,
    pub annotations: Vec<Annotation>,
    pub outputs: IndexMap<String, String>,
    pub env: Vec<(String, String)>,
    pub path: Vec<String>,
    pub state: IndexMap<String, String>,
    pub summary: Option<String>,
    /// A problem with the step's file commands; it fails the step.
    pub file_error: Option<String>,
}

impl StepRun {
    pub fn succeeded(&self) -> bool {
        self.exit == Exit::Code(0) && self.file_error.is_none()
    }

    /// Why the step failed, in words.
    pub fn failure(&self) -> Option<String> {
        let exit = match &self.exit {
            Exit::Code(0) => None,
            Exit::Code(c) => Some(format!("exited with code {c}")),
            Exit::Signal(s) => Some(format!("killed by signal {s}")),
            Exit::TimedOut(d) => Some(format!("timed out after {}", human_duration(*d))),
            Exit::Cancelled => Some("cancelled".to_owned()),
            Exit::NotStarted(why) => Some(why.clone()),
        };
        exit.or_else(|| self.file_error.clone())
    }
}

pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{:.1} min", secs / 60.0)
    }
}

/// The file-command files of a step.
struct Files {
    output: PathBuf,
    env: PathBuf,
    path: PathBuf,
    summary: PathBuf,
    state: PathBuf,
}

impl Files {
    /// Empties (or creates) the files in `dir`: a stage's steps run one at a time, so they
    /// share one folder, and truncating a file costs far less than creating one.
    fn create(dir: &Path) -> std::io::Result<Self> {
        if !dir.is_dir() {
            fs::create_dir_all(dir)?;
        }
        let files = Self {
            output: dir.join("output"),
            env: dir.join("env"),
            path: dir.join("path"),
            summary: dir.join("summary.md"),
            state: dir.join("state"),
        };
        for f in [
            &files.output,
            &files.env,
            &files.path,
            &files.summary,
            &files.state,
        ] {
            fs::write(f, "")?;
        }
        Ok(files)
    }
}

impl StepRun {
    /// A run that ended with `exit`, before its output and file commands are gathered.
    fn ended(exit: Exit, started: Instant) -> Self {
        Self {
            exit,
            duration: started.elapsed(),
            annotations: Vec::new(),
            outputs: IndexMap::new(),
            env: Vec::new(),
            path: Vec::new(),
            state: IndexMap::new(),
            summary: None,
            file_error: None,
        }
    }
}

fn not_started(why: String, started: Instant) -> StepRun {
    StepRun::ended(Exit::NotStarted(why), started)
}

/// Runs the step to its end, timeout or cancellation.
pub async fn run(
    spec: &StepSpec,
    shared: &StepShared,
    mut cancel: watch::Receiver<bool>,
) -> StepRun {
    let started = Instant::now();
    let (files, command) = match prepare(spec) {
        Ok(prepared) => prepared,
        Err(why) => return not_started(why, started),
    };
    let (mut child, pgid, mut rx) = match start(spec, &files, &command) {
        Ok(started) => started,
        Err(why) => return not_started(why, started),
    };
    let mut out = Output::new(spec, shared);
    let deadline = spec.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut status = None;
    let mut stopped: Option<Exit> = None;
    let mut open = true;
    loop {
        let sleep_until = deadline
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400 * 365));
        tokio::select! {
            chunk = rx.recv(), if open => match chunk {
                Some((n, bytes)) => out.feed(n, &bytes),
                None => open = false,
            },
            s = child.wait(), if status.is_none() => {
                status = Some(s);
                if !open { break; }
                // Let late output drain, but never wait on a daemon that kept the pipes.
                let drain_until = tokio::time::Instant::now() + Duration::from_millis(500);
                while let Ok(Some((n, bytes))) = tokio::time::timeout_at(drain_until, rx.recv()).await {
                    out.feed(n, &bytes);
                }
                break;
            },
            () = tokio::time::sleep_until(sleep_until), if deadline.is_some() && stopped.is_none() => {
                stopped = Some(Exit::TimedOut(spec.timeout.unwrap_or_default()));
                status = Some(terminate(&mut child, pgid).await);
                break;
            },
            changed = cancel.changed(), if stopped.is_none() => {
                if changed.is_err() || *cancel.borrow() {
                    stopped = Some(Exit::Cancelled);
                    status = Some(terminate(&mut child, pgid).await);
                    break;
                }
            },
        }
        if status.is_some() && !open {
            break;
        }
    }
    if stopped.is_some() {
        while let Ok(Some((n, bytes))) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
        {
            out.feed(n, &bytes);
        }
    }
    out.finish();
    let exit = stopped.unwrap_or_else(|| match status {
        Some(Ok(s)) => {
            use std::os::unix::process::ExitStatusExt as _;
            s.code()
                .map_or_else(|| Exit::Signal(s.signal().unwrap_or(0)), Exit::Code)
        }
        Some(Err(e)) => Exit::NotStarted(format!("lost the step's process: {e}")),
        None => Exit::NotStarted("the step's process ended unseen".to_owned()),
    });
    let masker = shared
        .masker
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut run = StepRun::ended(exit, started);
    run.annotations = out.annotations;
    run.outputs.extend(out.legacy_outputs);
    run.state.extend(out.legacy_state);
    run.env.extend(out.legacy_env);
    run.path.extend(out.legacy_path);
    read_file_commands(&files, &masker, &mut run);
    if !out.errors.is_empty() {
        let mut errors = out.errors;
        errors.extend(run.file_error.take());
        run.file_error = Some(errors.join("; "));
    }
    run
}

/// The step's file-command files and the command that runs it (a script written to a file).
fn prepare(spec: &StepSpec) -> Result<(Files, ShellCommand), String> {
    let files = Files::create(&spec.step_dir)
        .map_err(|e| format!("could not prepare `{}`: {e}", spec.step_dir.display()))?;
    let command = match &spec.launch {
        Launch::Script { shell, script } => {
            let path = spec.step_dir.join(format!("script.{}", shell.extension));
            fs::write(&path, script).map_err(|e| format!("could not write the script: {e}"))?;
            shell.command(&path)
        }
        Launch::Program { program, args } => ShellCommand {
            program: program.clone(),
            args: args.clone(),
        },
    };
    Ok((files, command))
}

type Chunks = mpsc::Receiver<(usize, Vec<u8>)>;

/// Spawns the step's shell in its own process group, with readers for its output.
fn start(
    spec: &StepSpec,
    files: &Files,
    shell: &ShellCommand,
) -> Result<(tokio::process::Child, Option<Pid>, Chunks), String> {
    let mut command = tokio::process::Command::new(&shell.program);
    command
        .args(&shell.args)
        .current_dir(&spec.working_directory)
        .envs(&spec.env)
        .env("GITHUB_OUTPUT", &files.output)
        .env("GITHUB_ENV", &files.env)
        .env("GITHUB_PATH", &files.path)
        .env("GITHUB_STEP_SUMMARY", &files.summary)
        .env("GITHUB_STATE", &files.state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| {
        if spec.working_directory.is_dir() {
            format!("could not start `{}`: {e}", shell.program)
        } else {
            format!(
                "working directory `{}` does not exist",
                spec.working_directory.display()
            )
        }
    })?;
    let pgid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    let (tx, rx) = mpsc::channel::<(usize, Vec<u8>)>(64);
    let pipes: [Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>; 2] = [
        child.stdout.take().map(|p| Box::new(p) as _),
        child.stderr.take().map(|p| Box::new(p) as _),
    ];
    for (n, pipe) in pipes.into_iter().enumerate() {
        if let Some(mut pipe) = pipe {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(read) = pipe.read(&mut buf).await {
                    if read == 0 || tx.send((n, buf[..read].to_vec())).await.is_err() {
                        break;
                    }
                }
            });
        }
    }
    Ok((child, pgid, rx))
}

/// SIGINT, then SIGTERM, then SIGKILL to the whole process group, as the runner cancels.
async fn terminate(
    child: &mut tokio::process::Child,
    pgid: Option<Pid>,
) -> std::io::Result<std::process::ExitStatus> {
    if let Some(pgid) = pgid {
        for (signal, grace) in [(Signal::SIGINT, GRACE_INT), (Signal::SIGTERM, GRACE_TERM)] {
            let _ = killpg(pgid, signal);
            if let Ok(status) = tokio::time::timeout(grace, child.wait()).await {
                let _ = killpg(pgid, Signal::SIGKILL);
                return status;
            }
        }
        let _ = killpg(pgid, Signal::SIGKILL);
    }
    let _ = child.start_kill();
    child.wait().await
}

fn read_file_commands(files: &Files, masker: &Masker, run: &mut StepRun) {
    let mut errors = Vec::new();
    let mut read = |p: &Path| match fs::read(p) {
        Ok(bytes) => String::from_utf8(bytes).unwrap_or_else(|_| {
            errors.push(format!(
                "`{}` is not UTF-8",
                p.file_name().unwrap_or_default().to_string_lossy()
            ));
            String::new()
        }),
        Err(_) => String::new(),
    };
    let output = read(&files.output);
    let state = read(&files.state);
    let env = read(&files.env);
    let path = read(&files.path);
    let summary = read(&files.summary);
    match parse_key_values(&output) {
        Ok(pairs) => run.outputs.extend(pairs),
        Err(e) => errors.push(format!("GITHUB_OUTPUT {e}")),
    }
    match parse_key_values(&state) {
        Ok(pairs) => run.state.extend(pairs),
        Err(e) => errors.push(format!("GITHUB_STATE {e}")),
    }
    match parse_key_values(&env) {
        Ok(pairs) => {
            for (name, value) in pairs {
                match check_env_name(&name) {
                    Ok(()) => run.env.push((name, value)),
                    Err(e) => errors.push(format!("GITHUB_ENV: {e}")),
                }
            }
        }
        Err(e) => errors.push(format!("GITHUB_ENV {e}")),
    }
    run.path.extend(parse_path_file(&path));
    if !summary.trim().is_empty() {
        run.summary = Some(masker.mask(&summary).into_owned());
    }
    if !errors.is_empty() {
        run.file_error = Some(errors.join("; "));
    }
}

/// Turns a step's output into console lines, log lines and annotations.
struct Output<'a> {
    spec: &'a StepSpec,
    shared: &'a StepShared,
    streams: [MaskedStream; 2],
    commands: CommandState,
    log: Option<fs::File>,
    annotations: Vec<Annotation>,
    legacy_outputs: Vec<(String, String)>,
    legacy_state: Vec<(String, String)>,
    legacy_env: Vec<(String, String)>,
    legacy_path: Vec<String>,
    errors: Vec<String>,
}

impl<'a> Output<'a> {
    fn new(spec: &'a StepSpec, shared: &'a StepShared) -> Self {
        Self {
            spec,
            shared,
            streams: [MaskedStream::new(), MaskedStream::new()],
            commands: CommandState::new(),
            log: None,
            annotations: Vec::new(),
            legacy_outputs: Vec::new(),
            legacy_state: Vec::new(),
            legacy_env: Vec::new(),
            legacy_path: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn feed(&mut self, stream: usize, bytes: &[u8]) {
        self.streams[stream].feed(bytes);
        loop {
            let line = {
                let masker = self
                    .shared
                    .masker
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                self.streams[stream].next_line(&masker)
            };
            let Some(line) = line else { break };
            let command = if line.is_fragment() {
                None
            } else {
                self.commands.process(line.raw())
            };
            self.handle(line.masked(), command);
        }
    }

    fn finish(&mut self) {
        for i in 0..self.streams.len() {
            let stream = std::mem::take(&mut self.streams[i]);
            let last = {
                let masker = self
                    .shared
                    .masker
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                stream.finish_line(&masker)
            };
            if let Some(line) = last {
                let command = if line.is_fragment() {
                    None
                } else {
                    self.commands.process(line.raw())
                };
                self.handle(line.masked(), command);
            }
        }
    }

    fn print(&mut self, text: &str) {
        self.shared.console.line(&self.spec.stage, text);
        if self.log.is_none() {
            // Opened on the first line: a step that prints nothing costs no file.
            let dir_ready = self
                .spec
                .log_path
                .parent()
                .is_some_and(|d| d.is_dir() || fs::create_dir_all(d).is_ok());
            self.log = dir_ready
                .then(|| fs::File::create(&self.spec.log_path).ok())
                .flatten();
        }
        if let Some(log) = &mut self.log {
            let _ = writeln!(log, "{text}");
        }
    }

    fn handle(&mut self, masked: &str, command: Option<Command>) {
        let console = &self.shared.console;
        match command {
            None => self.print(masked),
            Some(Command::AddMask(value)) => {
                let outcome = self
                    .shared
                    .masker
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .add(&value);
                if matches!(outcome, super::mask::MaskOutcome::Registered) {
                    console.command(&format!("::add-mask::{value}"));
                } else {
                    self.print("warning: `::add-mask::` value too short to mask (under 4 characters); not masked");
                }
            }
            Some(Command::Error(a)) => self.annotate("error", &a),
            Some(Command::Warning(a)) => self.annotate("warning", &a),
            Some(Command::Notice(a)) => self.annotate("notice", &a),
            Some(Command::Debug(text)) => {
                if self.spec.debug {
                    let text = self.mask(&text);
                    self.print(&format!("debug: {text}"));
                }
            }
            Some(Command::Group(title)) => {
                let title = self.mask(&title);
                self.print(&format!("▸ {title}"));
            }
            Some(Command::Deprecated {
                command,
                name,
                value,
            }) => self.legacy(&command, name, value),
            Some(Command::Unsupported(name)) => self.print(&format!(
                "warning: `::{name}::` is not supported yet; ignored"
            )),
            Some(Command::Invalid { name, message }) => {
                self.print(&format!("warning: invalid `::{name}::` command: {message}"));
            }
            Some(Command::StopCommands(token)) => {
                // The runner masks long stop tokens so a later step cannot guess them.
                if token.chars().count() > 6 {
                    self.shared
                        .masker
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .add(&token);
                }
                if self.commands.echo() {
                    self.print(masked);
                }
            }
            Some(Command::EndGroup | Command::ResumeCommands(_) | Command::Echo(_)) => {
                if self.commands.echo() {
                    self.print(masked);
                }
            }
        }
    }

    /// `::set-output`, `::save-state` (honoured, with a warning, as GitHub still does) and
    /// `::set-env`, `::add-path` (honoured only under `ACTIONS_ALLOW_UNSECURE_COMMANDS=true`,
    /// else they fail the step, as on GitHub).
    fn legacy(&mut self, command: &str, name: Option<String>, value: String) {
        let allowed = self
            .spec
            .env
            .get("ACTIONS_ALLOW_UNSECURE_COMMANDS")
            .is_some_and(|v| v == "true");
        let file = match command {
            "set-output" => "GITHUB_OUTPUT",
            "save-state" => "GITHUB_STATE",
            "set-env" => "GITHUB_ENV",
            _ => "GITHUB_PATH",
        };
        match (command, name) {
            ("set-output" | "save-state" | "set-env", None) => {
                self.errors
                    .push(format!("`::{command}::` needs a `name=` property"));
                return;
            }
            ("set-output", Some(name)) => {
                self.legacy_outputs.push((name, value));
            }
            ("save-state", Some(name)) => {
                self.legacy_state.push((name, value));
            }
            ("set-env", Some(name)) if allowed => match check_env_name(&name) {
                Ok(()) => self.legacy_env.push((name, value)),
                Err(e) => self.errors.push(format!("`::set-env::`: {e}")),
            },
            ("add-path", _) if allowed => self.legacy_path.push(value),
            _ => {
                self.errors.push(format!(
                    "the `{command}` command is disabled: write to `${file}`, or set `ACTIONS_ALLOW_UNSECURE_COMMANDS: true` in the step's env"
                ));
                return;
            }
        }
        self.print(&format!(
            "warning: the `{command}` command is deprecated; write to `${file}` instead"
        ));
    }

    fn mask(&self, text: &str) -> String {
        self.shared
            .masker
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .mask(text)
            .into_owned()
    }

    fn annotate(&mut self, level: &str, a: &super::commands::Annotation) {
        let message = self.mask(&a.message);
        let title = a.title.as_deref().map(|t| self.mask(t));
        let file = a.file.as_deref().map(|f| self.mask(f));
        let place = match (&file, a.line) {
            (Some(f), Some(l)) => format!(" ({f}:{l})"),
            (Some(f), None) => format!(" ({f})"),
            _ => String::new(),
        };
        self.print(&format!("{level}: {message}{place}"));
        let annotation = Annotation {
            level: level.to_owned(),
            message,
            file: a.file.as_deref().map(|f| self.mask(f)),
            line: a.line.map(u64::from),
            col: a.col.map(u64::from),
            title,
        };
        let mut props = Vec::new();
        if let Some(f) = &annotation.file {
            props.push(format!("file={f}"));
        }
        if let Some(l) = annotation.line {
            props.push(format!("line={l}"));
        }
        if let Some(c) = annotation.col {
            props.push(format!("col={c}"));
        }
        if let Some(t) = &annotation.title {
            props.push(format!("title={}", escape_property(t)));
        }
        let props = if props.is_empty() {
            String::new()
        } else {
            format!(" {}", props.join(","))
        };
        self.shared.console.command(&format!(
            "::{level}{props}::{}",
            escape_data(&annotation.message)
        ));
        self.annotations.push(annotation);
    }
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
