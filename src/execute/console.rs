//! The live output of a run on stderr: each line tagged with its stage. In a terminal, lines
//! stream as they come, prefixed; elsewhere one stage owns the output at a time and the others
//! are held back until it finishes, so logs never interleave. Inside GitHub Actions, children's
//! lines are wrapped in a `::stop-commands::` envelope so only mlops-ci's own commands reach the
//! host runner.

use std::io::Write as _;
use std::sync::Mutex;

use indexmap::IndexMap;

/// How the console prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleMode {
    pub terminal: bool,
    pub github_actions: bool,
    pub quiet: bool,
}

#[derive(Debug)]
pub struct Console {
    mode: ConsoleMode,
    state: Mutex<State>,
    token: String,
}

#[derive(Debug, Default)]
struct State {
    owner: Option<String>,
    /// Held-back lines of stages that do not own the output, and whether each has finished.
    held: IndexMap<String, (Vec<String>, bool)>,
    stopped: bool,
    out: Vec<String>,
}

impl Console {
    pub fn new(mode: ConsoleMode, token: String) -> Self {
        Self {
            mode,
            state: Mutex::new(State::default()),
            token,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let r = f(&mut state);
        let lines = std::mem::take(&mut state.out);
        drop(state);
        if !lines.is_empty() {
            let mut err = std::io::stderr().lock();
            for l in lines {
                let _ = writeln!(err, "{l}");
            }
        }
        r
    }

    /// A line a stage's step printed (already masked).
    pub fn line(&self, stage: &str, text: &str) {
        if self.mode.quiet {
            return;
        }
        self.with(|s| {
            if self.mode.terminal {
                self.child_line(s, format!("[{stage}] {text}"));
                return;
            }
            if s.owner.is_none() {
                self.take_ownership(s, stage);
            }
            if s.owner.as_deref() == Some(stage) {
                self.child_line(s, text.to_owned());
            } else {
                s.held
                    .entry(stage.to_owned())
                    .or_default()
                    .0
                    .push(text.to_owned());
            }
        });
    }

    /// mlops-ci's own message about a stage, such as its result.
    pub fn note(&self, stage: &str, text: &str) {
        if self.mode.quiet {
            return;
        }
        self.with(|s| {
            let text = format!("[{stage}] {text}");
            if self.mode.terminal {
                self.own_line(s, text);
                return;
            }
            if s.owner.is_none() {
                self.take_ownership(s, stage);
            }
            if s.owner.as_deref() == Some(stage) {
                self.own_line(s, text);
            } else {
                s.held.entry(stage.to_owned()).or_default().0.push(text);
            }
        });
    }

    /// A workflow command of mlops-ci's own for the host runner (`::error …`, `::add-mask::…`).
    pub fn command(&self, text: &str) {
        if self.mode.github_actions {
            self.with(|s| self.own_line(s, text.to_owned()));
        }
    }

    /// A stage is done: its held lines are printed, and the next stage may own the output.
    pub fn finished(&self, stage: &str) {
        self.with(|s| {
            if let Some(entry) = s.held.get_mut(stage) {
                entry.1 = true;
            }
            if s.owner.as_deref() == Some(stage) {
                if self.mode.github_actions {
                    self.own_line(s, "::endgroup::".to_owned());
                }
                s.owner = None;
                while let Some(next) = s.held.keys().next().cloned() {
                    let done = s.held.get(&next).is_some_and(|e| e.1);
                    self.take_ownership(s, &next);
                    if !done {
                        break;
                    }
                    if self.mode.github_actions {
                        self.own_line(s, "::endgroup::".to_owned());
                    }
                    s.owner = None;
                }
            } else {
                s.held.entry(stage.to_owned()).or_default().1 = true;
            }
        });
    }

    fn take_ownership(&self, s: &mut State, stage: &str) {
        s.owner = Some(stage.to_owned());
        if self.mode.github_actions {
            self.own_line(s, format!("::group::{stage}"));
        } else if !self.mode.terminal {
            self.own_line(s, format!("── {stage} ──"));
        }
        if let Some((lines, _)) = s.held.shift_remove(stage) {
            for l in lines {
                self.child_line(s, l);
            }
        }
    }

    fn child_line(&self, s: &mut State, text: String) {
        if self.mode.github_actions && !s.stopped {
            s.out.push(format!("::stop-commands::{}", self.token));
            s.stopped = true;
        }
        s.out.push(text);
    }

    fn own_line(&self, s: &mut State, text: String) {
        if s.stopped {
            s.out.push(format!("::{}::", self.token));
            s.stopped = false;
        }
        s.out.push(text);
    }

    /// Ends the envelope, if open, before mlops-ci prints its report.
    pub fn close(&self) {
        self.with(|s| {
            if s.stopped {
                s.out.push(format!("::{}::", self.token));
                s.stopped = false;
            }
        });
    }
}
