//! Actions-compatible shells: which program runs a `run:` script, with what arguments, and
//! the script file's extension.

use std::path::Path;

/// How to run a script file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellCommand {
    pub program: String,
    pub args: Vec<String>,
}

/// A resolved `shell:`: the command template (with `{0}` for the script) and the extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shell {
    pub template: Vec<String>,
    pub extension: &'static str,
}

impl Shell {
    /// Resolves `shell` (`None` is the default: `bash -e {0}`, else `sh -e {0}`).
    pub fn resolve(shell: Option<&str>, on_path: impl Fn(&str) -> bool) -> Result<Self, String> {
        let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        let (template, extension) = match shell.map(str::trim) {
            None | Some("") => {
                if on_path("bash") {
                    (words("bash -e {0}"), "sh")
                } else {
                    (words("sh -e {0}"), "sh")
                }
            }
            Some("bash") => (words("bash --noprofile --norc -eo pipefail {0}"), "sh"),
            Some("sh") => (words("sh -e {0}"), "sh"),
            Some("python") => (words("python {0}"), "py"),
            Some("pwsh") => {
                if !on_path("pwsh") {
                    return Err("`shell: pwsh` needs PowerShell (`pwsh`) on PATH; install it or pick another shell".to_owned());
                }
                (
                    vec![
                        "pwsh".to_owned(),
                        "-command".to_owned(),
                        ". '{0}'".to_owned(),
                    ],
                    "ps1",
                )
            }
            Some(custom) if custom.contains("{0}") => (words(custom), "sh"),
            Some(other) => {
                return Err(format!(
                    "unknown shell `{other}`: use `bash`, `sh`, `python`, `pwsh`, or a command with `{{0}}`"
                ));
            }
        };
        if shell == Some("python") && !on_path("python") && on_path("python3") {
            return Ok(Self {
                template: words("python3 {0}"),
                extension,
            });
        }
        Ok(Self {
            template,
            extension,
        })
    }

    /// The same shell with its program given by full path, found on `path`.
    #[must_use]
    pub fn located(mut self, path: &str) -> Self {
        if let Some(full) = self.template.first().and_then(|p| find(p, path)) {
            self.template[0] = full.display().to_string();
        }
        self
    }

    /// The command for a script at `script`.
    pub fn command(&self, script: &Path) -> ShellCommand {
        let path = script.display().to_string();
        let mut parts = self.template.iter().map(|p| p.replace("{0}", &path));
        ShellCommand {
            program: parts.next().unwrap_or_default(),
            args: parts.collect(),
        }
    }
}

/// Whether `program` is an executable on `path` (a `PATH`-style list).
pub fn on_path(program: &str, path: &str) -> bool {
    find(program, path).is_some()
}

/// The full path of `program` on `path`, so the spawn need not search `PATH` itself.
pub fn find(program: &str, path: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    if program.contains('/') {
        return None;
    }
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_as_github_runs_them() {
        let all = |_: &str| true;
        let bash = Shell::resolve(Some("bash"), all).unwrap();
        assert_eq!(
            bash.command(Path::new("/t/s.sh")).args,
            ["--noprofile", "--norc", "-eo", "pipefail", "/t/s.sh"]
        );
        assert_eq!(
            Shell::resolve(None, all).unwrap().template,
            ["bash", "-e", "{0}"]
        );
        assert_eq!(
            Shell::resolve(None, |p| p != "bash").unwrap().template,
            ["sh", "-e", "{0}"]
        );
        let custom = Shell::resolve(Some("perl -w {0}"), all).unwrap();
        assert_eq!(custom.command(Path::new("x")).program, "perl");
        assert!(Shell::resolve(Some("fish"), all).is_err());
        assert!(Shell::resolve(Some("pwsh"), |p| p != "pwsh").is_err());
        assert_eq!(
            Shell::resolve(Some("python"), |p| p == "python3")
                .unwrap()
                .template[0],
            "python3"
        );
    }
}
