//! Exit statuses and the rule for which outcome yields which code.

use std::process::ExitCode;

/// How a command ended, as the shell sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything passed: 0.
    Success,
    /// The pipeline ran and a step or gate failed, the user's problem: 1.
    Failed,
    /// mlops-ci could not do its job (bad config, git, forge, engine, or a bug): 2.
    Error,
    /// A step container's own exit code, passed through by the hidden `container-step`.
    Code(u8),
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failed => 1,
            Self::Error => 2,
            Self::Code(c) => c,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}
