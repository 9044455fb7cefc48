//! A stage's image, after its metrics and gates passed: the tags of this event, the labels
//! (OCI and `io.mlops-ci.*`), the build through `crate::container`, then every tag pushed with
//! retries and its digest checked in the registry; or, on a release tag whose commit already
//! has an image, that digest re-tagged without a build. Progress goes to the stage log.

use std::io::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use indexmap::IndexMap;

use super::pipeline::Run;
use crate::config::model::{Image, Switch};
use crate::container::tags::{TagEvent, Tags, tags_for};
use crate::container::{
    BuildSpec, ContainerEngine, Credentials, DockerEngine, EngineError, auth, check_name,
    registry_of,
};
use crate::results::{Flat, GateVerdict, ImageRecord};

/// How many times a push is tried when the registry fails in passing.
pub const PUSH_ATTEMPTS: u32 = 5;

/// What every image of a run shares, decided before the run starts.
#[derive(Debug)]
pub struct ImageSetup {
    /// The engine, or why it cannot be reached (`check` then skips images).
    pub engine: Result<DockerEngine, String>,
    pub event: TagEvent,
    /// The commit built (a pull request's head).
    pub sha: String,
    /// The commit's time, seconds since the epoch: `created` and the context's file times.
    pub commit_time: u64,
    /// `name@sha256:…` an earlier run recorded for this commit, to re-tag on a release.
    pub promote_from: Option<String>,
    /// Labels known before the run: OCI source, revision, created, run URL, baseline, data.
    pub labels: IndexMap<String, String>,
    /// The model's name for `io.mlops-ci.model.name` and the title.
    pub model: String,
    /// Set when the engine or registry failed: the run then exits 2.
    pub fatal: Mutex<Option<String>>,
    /// Backoff before the first retry of a push; doubled each time.
    pub retry_delay: Duration,
}

impl ImageSetup {
    fn set_fatal(&self, why: &str) {
        let mut fatal = self
            .fatal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        fatal.get_or_insert_with(|| why.to_owned());
    }

    /// The first engine or registry failure of the run, if any.
    pub fn fatal(&self) -> Option<String> {
        self.fatal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// What the image part of a stage came to.
#[derive(Debug, Default)]
pub(super) struct ImageOutcome {
    pub record: Option<ImageRecord>,
    /// Why the stage fails.
    pub failure: Option<String>,
    /// Why the image was not built (an unreachable engine under `check`).
    pub skipped: Option<String>,
}

/// How the image part reads the stage's expressions.
pub(super) struct StageView<'a> {
    pub render: &'a dyn Fn(&str) -> Result<String, String>,
    pub holds: &'a dyn Fn(&str) -> Result<bool, String>,
    pub metrics: &'a Flat,
    pub gates: &'a [GateVerdict],
}

/// Writes the engine's progress to the console and the stage's `image.log`, masked.
struct ImageLog<'r, 'a> {
    run: &'r Run<'a>,
    stage: String,
    file: Option<std::fs::File>,
}

impl ImageLog<'_, '_> {
    fn line(&mut self, text: &str) {
        let masked = self
            .run
            .shared
            .masker
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .mask(text)
            .into_owned();
        self.run.shared.console.line(&self.stage, &masked);
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{masked}");
        }
    }
}

/// Builds (or re-tags), tags and pushes the stage's image.
pub(super) async fn stage_image(
    run: &Run<'_>,
    stage: &str,
    image: &Image,
    view: &StageView<'_>,
) -> ImageOutcome {
    let Some(setup) = run.options.images.as_deref() else {
        return ImageOutcome {
            failure: Some("no container engine was set up for this run".to_owned()),
            ..ImageOutcome::default()
        };
    };
    let engine = match &setup.engine {
        Ok(engine) => engine,
        Err(why) => {
            run.shared
                .console
                .note(stage, &format!("image skipped: {why}"));
            return ImageOutcome {
                skipped: Some(format!("image skipped: {why}")),
                ..ImageOutcome::default()
            };
        }
    };
    let dir = run.options.run_dir.join("logs").join(stage);
    let _ = std::fs::create_dir_all(&dir);
    let mut log = ImageLog {
        run,
        stage: stage.to_owned(),
        file: std::fs::File::create(dir.join("image.log")).ok(),
    };
    let prepared = match prepare(run, setup, image, view) {
        Ok(p) => p,
        Err(why) => {
            // A name, tag or credential mlops-ci cannot use: bad input, exit 2.
            setup.set_fatal(&why);
            return ImageOutcome {
                failure: Some(why),
                ..ImageOutcome::default()
            };
        }
    };
    let result = produce(run, setup, engine, &prepared, &mut log).await;
    match result {
        Ok(record) => {
            let shown = if record.pushed {
                format!(
                    "pushed `{}` tagged {} ({})",
                    record.name,
                    record.tags.join(", "),
                    record.digest.clone().unwrap_or_default()
                )
            } else {
                format!("built `{}` tagged {}", record.name, record.tags.join(", "))
            };
            run.shared.console.note(stage, &shown);
            ImageOutcome {
                record: Some(record),
                ..ImageOutcome::default()
            }
        }
        Err(e) => {
            let why = format!("image `{}`: {e}", prepared.name);
            if !e.is_users() {
                setup.set_fatal(&why);
            }
            ImageOutcome {
                failure: Some(why),
                ..ImageOutcome::default()
            }
        }
    }
}

/// Everything about one image, rendered and checked before the engine is asked anything.
#[derive(Debug)]
struct Prepared {
    name: String,
    tags: Tags,
    push: bool,
    spec: BuildSpec,
    credentials: Option<Credentials>,
}

fn prepare(
    run: &Run<'_>,
    setup: &ImageSetup,
    image: &Image,
    view: &StageView<'_>,
) -> Result<Prepared, String> {
    let name = (view.render)(image.name.as_str())
        .map_err(|e| format!("image `name`: {e}"))?
        .trim()
        .to_owned();
    check_name(&name)?;
    let tags = tags_for(&setup.event, &setup.sha)?;
    let push = match (&setup.event, &image.push) {
        (TagEvent::Local { .. }, _) | (_, None | Some(Switch::Fixed(false))) => false,
        (_, Some(Switch::Fixed(true))) => true,
        (_, Some(Switch::Expression(c))) => {
            (view.holds)(c.as_str()).map_err(|e| format!("image `push`: {e}"))?
        }
    };
    let mut build_args = IndexMap::new();
    for (k, v) in &image.build_args {
        build_args.insert(
            k.clone(),
            (view.render)(v.as_str()).map_err(|e| format!("image `build-args.{k}`: {e}"))?,
        );
    }
    let mut labels = labels(setup, &tags, view);
    for (k, v) in &image.labels {
        labels.insert(
            k.clone(),
            (view.render)(v.as_str()).map_err(|e| format!("image `labels.{k}`: {e}"))?,
        );
    }
    let workspace = &run.options.workspace;
    let context_dir = image.context.as_deref().unwrap_or(".");
    let context = crate::container::context::inside(workspace, context_dir, "the image context")
        .map_err(|e| e.to_string())?;
    if !context.is_dir() {
        return Err(format!(
            "the image context `{context_dir}` is not a folder in the repository"
        ));
    }
    let credentials = if push {
        auth::find(&registry_of(&name), &|n: &str| std::env::var(n).ok())?
    } else {
        None
    };
    let reference = format!("{name}:{}", tags.tags[0]);
    Ok(Prepared {
        spec: BuildSpec {
            context,
            dockerfile: image
                .dockerfile
                .clone()
                .unwrap_or_else(|| "Dockerfile".to_owned()),
            reference,
            build_args,
            labels,
            target: image.target.clone(),
            network: image.network.clone().unwrap_or_else(|| "none".to_owned()),
            mtime: setup.commit_time,
        },
        name,
        tags,
        push,
        credentials,
    })
}

/// The OCI and `io.mlops-ci.*` labels: the run's, the version, the model, metrics and gates.
fn labels(setup: &ImageSetup, tags: &Tags, view: &StageView<'_>) -> IndexMap<String, String> {
    let mut labels = setup.labels.clone();
    labels.insert(
        "org.opencontainers.image.version".to_owned(),
        tags.version.clone(),
    );
    labels.insert("io.mlops-ci.model.name".to_owned(), setup.model.clone());
    labels.insert("io.mlops-ci.model.version".to_owned(), tags.version.clone());
    for (key, value) in view.metrics {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        labels.insert(format!("io.mlops-ci.metrics.{key}"), text);
    }
    let status = if view.gates.is_empty() {
        "none"
    } else if view.gates.iter().all(|g| g.passed) {
        "passed"
    } else {
        "failed"
    };
    labels.insert("io.mlops-ci.gate.status".to_owned(), status.to_owned());
    labels
}

/// Builds (or pulls the recorded digest), tags, pushes and checks.
async fn produce(
    run: &Run<'_>,
    setup: &ImageSetup,
    engine: &DockerEngine,
    p: &Prepared,
    log: &mut ImageLog<'_, '_>,
) -> Result<ImageRecord, EngineError> {
    let mut promoted = false;
    let id = match (&setup.event, &setup.promote_from) {
        (TagEvent::Release { .. }, Some(from)) if from.starts_with(&format!("{}@", p.name)) => {
            log.line(&format!(
                "this commit's image is `{from}`: re-tagging it without a build"
            ));
            if engine.inspect(from).await.is_err() {
                engine
                    .pull(from, p.credentials.as_ref(), &mut |l| log.line(l))
                    .await?;
            }
            promoted = true;
            let info = engine.inspect(from).await?;
            info.id
        }
        _ => {
            let mut sink = |l: &str| log.line(l);
            let fut = engine.build(&p.spec, &mut sink);
            let mut fut = std::pin::pin!(fut);
            let mut cancel = run.cancel.clone();
            let built = loop {
                tokio::select! {
                    r = &mut fut => break r,
                    changed = cancel.changed() => {
                        if changed.is_err() || *cancel.borrow() {
                            break Err(EngineError::Engine("the build was cancelled".to_owned()));
                        }
                    }
                }
            };
            built?
        }
    };
    for tag in &p.tags.tags {
        engine.tag(&id, &p.name, tag).await?;
    }
    let mut record = ImageRecord {
        name: p.name.clone(),
        tags: p.tags.tags.clone(),
        id: Some(id),
        digest: None,
        pushed: false,
        promoted,
    };
    if !p.push {
        return Ok(record);
    }
    let mut digest: Option<String> = None;
    for tag in &p.tags.tags {
        let pushed = push_with_retry(setup, engine, p, tag, log).await?;
        if let Some(d) = &digest {
            if *d != pushed {
                return Err(EngineError::Registry {
                    message: format!("`{}:{tag}` was pushed as {pushed}, not {d}", p.name),
                    transient: false,
                });
            }
        }
        digest = Some(pushed);
    }
    let digest = digest.unwrap_or_default();
    let first = format!("{}:{}", p.name, p.tags.tags[0]);
    let served = engine
        .registry_digest(&first, p.credentials.as_ref())
        .await?;
    if served != digest {
        return Err(EngineError::Registry {
            message: format!(
                "the registry serves {served} for `{first}`, but the push said {digest}"
            ),
            transient: false,
        });
    }
    log.line(&format!("verified `{first}` in the registry: {digest}"));
    record.digest = Some(digest);
    record.pushed = true;
    Ok(record)
}

/// Pushes one tag, trying again with a doubling delay while the registry fails in passing.
async fn push_with_retry(
    setup: &ImageSetup,
    engine: &DockerEngine,
    p: &Prepared,
    tag: &str,
    log: &mut ImageLog<'_, '_>,
) -> Result<String, EngineError> {
    let mut delay = setup.retry_delay;
    let mut attempt = 1;
    loop {
        let result = engine
            .push(&p.name, tag, p.credentials.as_ref(), &mut |l| log.line(l))
            .await;
        match result {
            Ok(digest) => return Ok(digest),
            Err(e) if e.is_transient() && attempt < PUSH_ATTEMPTS => {
                log.line(&format!(
                    "push of `{}:{tag}` failed ({e}); trying again in {:.1}s (attempt {} of {PUSH_ATTEMPTS})",
                    p.name,
                    delay.as_secs_f64(),
                    attempt + 1
                ));
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
