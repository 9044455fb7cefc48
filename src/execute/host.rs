//! The run-dependent functions of expressions: `success()`, `failure()`, `always()`,
//! `cancelled()` from the status so far, and `hashFiles()` over the workspace.

use std::path::PathBuf;

use crate::expr::{Host, Value};

/// How the steps (or stages) so far have gone, as the status functions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Success,
    /// Not all succeeded (something was skipped), and nothing failed.
    Incomplete,
    Failure,
    Cancelled,
}

/// Answers the status functions and `hashFiles` for one point of a run.
#[derive(Debug, Clone)]
pub struct RunHost {
    pub status: Status,
    pub workspace: PathBuf,
}

impl Host for RunHost {
    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        Ok(Value::Bool(match name {
            "success" => self.status == Status::Success,
            "failure" => self.status == Status::Failure,
            "cancelled" => self.status == Status::Cancelled,
            "always" => true,
            "hashFiles" => {
                let patterns: Vec<String> = args.iter().map(Value::to_text).collect();
                return super::hash_files::hash_files(&self.workspace, &patterns)
                    .map(Value::String);
            }
            other => return Err(format!("the function `{other}` is not available here")),
        }))
    }
}
