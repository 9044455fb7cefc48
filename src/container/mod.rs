//! `trait ContainerEngine` and the plain types that cross it: builds, tags, pushes, registry
//! digests and step containers. `docker` implements it on bollard; `context` packs a build
//! context, `auth` finds registry credentials, `tags` holds the pure tag rules. No bollard type
//! leaves this module.

pub mod auth;
pub mod context;
pub mod docker;
pub mod tags;

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;

pub use auth::Credentials;
pub use docker::DockerEngine;

/// How long a stream from the engine may stay silent before we give up on it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// One image build: the context folder (already checked to be inside the workspace) and what
/// the engine is asked to do with it.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    pub context: PathBuf,
    /// Relative to the context.
    pub dockerfile: String,
    /// The one reference the build is tagged with (`repo:tag`).
    pub reference: String,
    pub build_args: IndexMap<String, String>,
    pub labels: IndexMap<String, String>,
    pub target: Option<String>,
    /// `none` unless the config says otherwise.
    pub network: String,
    /// Modification time given to every file of the context (the commit's time), so a fresh
    /// checkout of the same commit hits the same cache.
    pub mtime: u64,
}

/// What the engine knows of a local image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageInfo {
    pub id: String,
    pub labels: IndexMap<String, String>,
    pub repo_digests: Vec<String>,
}

/// A container run for a `uses: docker://` step: the workspace and other folders mounted at
/// the same paths, its env passed through.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub image: String,
    pub name: String,
    pub entrypoint: Option<Vec<String>>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Bind-mounted read-write at the same path inside.
    pub mounts: Vec<PathBuf>,
    pub working_dir: PathBuf,
    /// `none` unless the step says otherwise.
    pub network: String,
}

/// Which stream a line of a container's output came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// What went wrong at the engine or registry. Every variant but `Build` and `Context` means
/// mlops-ci could not do its job (exit 2); those two are the user's Dockerfile or context.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "the container engine at `{host}` is unreachable: {reason}; start it or point `DOCKER_HOST` at one"
    )]
    Unreachable { host: String, reason: String },
    #[error("{0}")]
    Build(String),
    #[error("{0}")]
    Context(String),
    #[error("the registry `{registry}` refused the credentials ({source_name}): {reason}; {hint}")]
    Auth {
        registry: String,
        source_name: String,
        reason: String,
        hint: String,
    },
    #[error("{message}")]
    Registry { message: String, transient: bool },
    #[error("the container engine sent nothing for {secs}s while {doing}")]
    Idle { secs: u64, doing: String },
    #[error("{0}")]
    Engine(String),
}

impl EngineError {
    /// Whether the error is the user's (a failing Dockerfile): the stage fails with exit 1.
    pub fn is_users(&self) -> bool {
        matches!(self, Self::Build(_) | Self::Context(_))
    }

    /// Whether trying again may help (a registry's 5xx, a dropped connection).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Registry {
                transient: true,
                ..
            }
        )
    }
}

/// A container engine: what mlops-ci asks of Docker. Implemented by [`DockerEngine`].
#[allow(async_fn_in_trait)]
pub trait ContainerEngine {
    /// Builds, streaming the engine's progress lines to `log`; the image id, confirmed by
    /// inspecting it.
    async fn build(
        &self,
        spec: &BuildSpec,
        log: &mut dyn FnMut(&str),
    ) -> Result<String, EngineError>;
    async fn inspect(&self, reference: &str) -> Result<ImageInfo, EngineError>;
    /// Tags `image` (an id or reference) as `repo:tag`.
    async fn tag(&self, image: &str, repo: &str, tag: &str) -> Result<(), EngineError>;
    /// Pushes `repo:tag`; the manifest digest the registry took.
    async fn push(
        &self,
        repo: &str,
        tag: &str,
        credentials: Option<&Credentials>,
        log: &mut dyn FnMut(&str),
    ) -> Result<String, EngineError>;
    /// Pulls `reference` (such as `repo@sha256:…`) from its registry.
    async fn pull(
        &self,
        reference: &str,
        credentials: Option<&Credentials>,
        log: &mut dyn FnMut(&str),
    ) -> Result<(), EngineError>;
    /// The digest the registry serves for `reference`, asked through the engine.
    async fn registry_digest(
        &self,
        reference: &str,
        credentials: Option<&Credentials>,
    ) -> Result<String, EngineError>;
    /// Runs a container to its end, streaming its output; its exit code. The container is
    /// removed however this ends, also when the future is dropped (cancel, timeout).
    async fn run(
        &self,
        spec: &RunSpec,
        output: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<i64, EngineError>;
    /// Removes a container by name, if it exists.
    async fn remove_container(&self, name: &str) -> Result<(), EngineError>;
}

/// The registry host of an image name: its first component when it looks like a host
/// (`ghcr.io/acme/iris`, `127.0.0.1:5000/iris`, `localhost/x`), else Docker Hub.
pub fn registry_of(name: &str) -> String {
    match name.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_owned()
        }
        _ => "docker.io".to_owned(),
    }
}

/// Checks an image name (`[host[:port]/]path`, lower case, no tag or digest) and says what is
/// wrong with it.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the image name is empty".to_owned());
    }
    if name.contains('@') {
        return Err(format!(
            "image name `{name}` has a digest; name the repository only"
        ));
    }
    let registry = registry_of(name);
    let path = if registry == "docker.io" && !name.starts_with("docker.io/") {
        name
    } else {
        &name[registry.len() + 1..]
    };
    if path.contains(':') {
        return Err(format!(
            "image name `{name}` has a tag; mlops-ci chooses the tags (see the README's images section)"
        ));
    }
    let ok = path.split('/').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "image name `{name}` is not a valid repository: use lower-case letters, digits, `.`, `_`, `-` and `/`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_of_names() {
        assert_eq!(registry_of("ghcr.io/acme/iris"), "ghcr.io");
        assert_eq!(registry_of("127.0.0.1:5000/iris"), "127.0.0.1:5000");
        assert_eq!(registry_of("localhost/iris"), "localhost");
        assert_eq!(registry_of("acme/iris"), "docker.io");
        assert_eq!(registry_of("iris"), "docker.io");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("127.0.0.1:5000/acme/iris").is_ok());
        assert!(check_name("ghcr.io/acme/iris").is_ok());
        assert!(
            check_name("ghcr.io/acme/iris:1")
                .unwrap_err()
                .contains("has a tag")
        );
        assert!(check_name("Acme/Iris").unwrap_err().contains("not a valid"));
        assert!(check_name("x@sha256:00").unwrap_err().contains("digest"));
    }
}
