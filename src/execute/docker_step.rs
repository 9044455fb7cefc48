//! A `uses: docker://IMAGE` step: the stage runs it as a process like any other step (so its
//! output, masking, workflow and file commands, timeout and cancellation work the same), and
//! that process is this: it runs the container through `crate::container`, with the workspace
//! and the run's temp folder mounted at the same paths, the step's env passed in, network
//! `none` unless set, and exits with the container's code. A signal removes the container.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use indexmap::IndexMap;

use crate::ExitStatus;
use crate::cli::ContainerStepArgs;
use crate::container::{ContainerEngine as _, DockerEngine, RunSpec, Stream, auth, registry_of};

/// The hidden subcommand's arguments for a step: image, mounts, workdir, env names, `with`.
pub fn arguments(
    image: &str,
    with: &IndexMap<String, String>,
    workdir: &Path,
    mounts: &[PathBuf],
    env: &IndexMap<String, String>,
) -> Vec<String> {
    let mut out = vec![
        "container-step".to_owned(),
        "--image".to_owned(),
        image.to_owned(),
        "--network".to_owned(),
        with.get("network")
            .cloned()
            .unwrap_or_else(|| "none".to_owned()),
        "--workdir".to_owned(),
        workdir.display().to_string(),
    ];
    if let Some(e) = with.get("entrypoint").filter(|e| !e.is_empty()) {
        out.extend(["--entrypoint".to_owned(), e.clone()]);
    }
    for m in mounts {
        out.extend(["--mount".to_owned(), m.display().to_string()]);
    }
    let passed = env.keys().filter(|k| *k != "PATH").cloned().chain(
        [
            "GITHUB_OUTPUT",
            "GITHUB_ENV",
            "GITHUB_PATH",
            "GITHUB_STEP_SUMMARY",
            "GITHUB_STATE",
        ]
        .map(str::to_owned),
    );
    for name in passed {
        out.extend(["--env".to_owned(), name]);
    }
    out.push("--".to_owned());
    out.extend(split_args(with.get("args").map_or("", String::as_str)));
    out
}

/// `with: args` split as a shell would split plain words and quoted strings.
fn split_args(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                started = false;
            }
            (_, c) => word.push(c),
        }
    }
    if started || !word.is_empty() {
        out.push(word);
    }
    out
}

/// Runs the step's container to its end; its exit code is this process's.
pub async fn run(args: &ContainerStepArgs) -> anyhow::Result<ExitStatus> {
    use anyhow::Context as _;
    run_container(args).await.with_context(|| {
        format!(
            "while running the step's container `docker://{}`",
            args.image
        )
    })
}

async fn run_container(args: &ContainerStepArgs) -> anyhow::Result<ExitStatus> {
    use tokio::signal::unix::{SignalKind, signal};
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let engine = DockerEngine::connect(&var).await?;
    if engine.inspect(&args.image).await.is_err() {
        let credentials = auth::find(&registry_of(&args.image), &var).map_err(|e| anyhow!(e))?;
        engine
            .pull(&args.image, credentials.as_ref(), &mut |l| eprintln!("{l}"))
            .await?;
    }
    let name = format!(
        "mlops-ci-{}-{}",
        var("MLOPS_CI_RUN_ID").unwrap_or_else(|| "step".to_owned()),
        std::process::id()
    );
    let spec = RunSpec {
        image: args.image.clone(),
        name: name.clone(),
        entrypoint: args.entrypoint.clone().map(|e| vec![e]),
        args: args.args.clone(),
        env: args
            .env
            .iter()
            .filter_map(|n| Some((n.clone(), std::env::var(n).ok()?)))
            .collect(),
        mounts: args.mounts.clone(),
        working_dir: args.workdir.clone(),
        network: args.network.clone(),
    };
    let (mut int, mut term) = (
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
    );
    let mut output = |stream: Stream, bytes: &[u8]| {
        let _ = match stream {
            Stream::Out => std::io::stdout().write_all(bytes),
            Stream::Err => std::io::stderr().write_all(bytes),
        };
    };
    let running = engine.run(&spec, &mut output);
    let mut running = std::pin::pin!(running);
    let stopped = tokio::select! {
        code = &mut running => Err(code?),
        _ = int.recv() => Ok(130),
        _ = term.recv() => Ok(143),
    };
    let code = match stopped {
        Err(code) => code,
        Ok(signal_code) => {
            // The container may still be on its way into being (a create in flight): remove
            // it until the engine's side of the run is over, for a few seconds at most.
            let until = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
            while tokio::time::Instant::now() < until {
                let _ = engine.remove_container(&name).await;
                let pause = tokio::time::sleep(std::time::Duration::from_millis(200));
                tokio::select! {
                    _ = &mut running => break,
                    () = pause => {}
                }
            }
            signal_code
        }
    };
    engine.remove_container(&name).await?;
    let _ = std::io::stdout().flush();
    Ok(ExitStatus::Code(
        u8::try_from(code.clamp(0, 255)).unwrap_or(255),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_split_like_words() {
        assert_eq!(
            split_args(r#"-c "echo hi there" 'a b' c"#),
            ["-c", "echo hi there", "a b", "c"]
        );
        assert_eq!(split_args(r#"x "" y"#), ["x", "", "y"]);
        assert!(split_args("  ").is_empty());
    }
}
