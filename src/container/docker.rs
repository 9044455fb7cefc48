//! [`ContainerEngine`] on bollard: connects through `DOCKER_HOST` (unix, tcp) or the default
//! socket and negotiates the API version (so Debian's engine 20.10, API 1.41, works as current
//! ones do); every stream has an idle timeout; the registry auth header is re-encoded as the
//! engine decodes it (base64url), so every password works.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::container::LogOutput;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    LogsOptionsBuilder, PushImageOptionsBuilder, RemoveContainerOptionsBuilder,
    TagImageOptionsBuilder,
};
use futures_util::{Stream, StreamExt as _};

use super::{
    BuildSpec, ContainerEngine, Credentials, EngineError, ImageInfo, RunSpec, Stream as Out,
    context,
};

/// The Docker engine, connected and version-negotiated.
#[derive(Debug, Clone)]
pub struct DockerEngine {
    docker: Docker,
    host: String,
    idle: Duration,
}

/// Where `DOCKER_HOST` (or the default) points, for messages.
pub fn host_of(var: &impl Fn(&str) -> Option<String>) -> String {
    var("DOCKER_HOST")
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned())
}

/// bollard encodes `X-Registry-Auth` with standard base64; the engine decodes base64url and
/// silently drops credentials it cannot decode, so a password whose JSON encodes with `+` or
/// `/` would fail. Re-encode the header before it leaves.
fn reencode_auth(mut req: bollard::BollardRequest) -> bollard::BollardRequest {
    if let Some(value) = req.headers().get("X-Registry-Auth").cloned() {
        if let Ok(raw) = STANDARD.decode(value.as_bytes()) {
            if let Ok(v) = http::HeaderValue::from_str(&URL_SAFE.encode(raw)) {
                req.headers_mut().insert("X-Registry-Auth", v);
            }
        }
    }
    req
}

impl DockerEngine {
    /// Connects and negotiates the API version; an unreachable engine is an error naming it.
    /// `MLOPS_CI_ENGINE_IDLE_TIMEOUT` (seconds) bounds the silence of every stream.
    pub async fn connect(var: &impl Fn(&str) -> Option<String>) -> Result<Self, EngineError> {
        let host = host_of(var);
        let unreachable = |reason: String| EngineError::Unreachable {
            host: host.clone(),
            reason,
        };
        let docker = Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?;
        let docker = docker
            .with_timeout(Duration::from_secs(3600))
            .with_request_modifier(reencode_auth);
        let docker = tokio::time::timeout(Duration::from_secs(30), docker.negotiate_version())
            .await
            .map_err(|_| unreachable("no answer within 30s".to_owned()))?
            .map_err(|e| unreachable(e.to_string()))?;
        docker
            .ping()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let idle = var("MLOPS_CI_ENGINE_IDLE_TIMEOUT")
            .and_then(|s| s.parse::<u64>().ok())
            .map_or(super::DEFAULT_IDLE_TIMEOUT, Duration::from_secs);
        Ok(Self { docker, host, idle })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The next item of `stream`, or an error when the engine stays silent too long.
    async fn next<S: Stream + Unpin>(
        &self,
        stream: &mut S,
        doing: &str,
    ) -> Result<Option<S::Item>, EngineError> {
        tokio::time::timeout(self.idle, stream.next())
            .await
            .map_err(|_| EngineError::Idle {
                secs: self.idle.as_secs(),
                doing: doing.to_owned(),
            })
    }

    fn engine_error(&self, doing: &str, e: &bollard::errors::Error) -> EngineError {
        use bollard::errors::Error as E;
        match e {
            E::HyperLegacyError { .. } | E::IOError { .. } | E::SocketNotFoundError(_) => {
                EngineError::Engine(format!(
                    "lost the container engine at `{}` while {doing} ({e}); did it restart?",
                    self.host
                ))
            }
            _ => EngineError::Engine(format!("while {doing}: {e}")),
        }
    }
}

fn bollard_credentials(c: Option<&Credentials>) -> Option<DockerCredentials> {
    c.map(|c| DockerCredentials {
        username: Some(c.username.clone()),
        password: Some(c.password.clone()),
        serveraddress: Some(c.registry.clone()),
        ..DockerCredentials::default()
    })
}

/// A registry's refusal, by its words: credentials (never retried) or anything else (retried
/// when it looks passing: a 5xx, a dropped connection).
fn registry_error(message: &str, registry: &str, credentials: Option<&Credentials>) -> EngineError {
    let lower = message.to_lowercase();
    let auth = [
        "unauthorized",
        "no basic auth credentials",
        "authentication required",
        "denied",
        "incorrect username or password",
    ];
    if auth.iter().any(|a| lower.contains(a)) {
        let hint = match credentials {
            Some(c) => format!("check {} for `{registry}`", c.source),
            None => "set `MLOPS_REGISTRY_USER` and `MLOPS_REGISTRY_PASSWORD`, or add the registry to `auths` in Docker's `config.json`".to_owned(),
        };
        return EngineError::Auth {
            registry: registry.to_owned(),
            source_name: credentials.map_or_else(
                || "none were found".to_owned(),
                |c| format!("from {}", c.source),
            ),
            reason: message.to_owned(),
            hint,
        };
    }
    let transient = [
        "500",
        "502",
        "503",
        "504",
        "unavailable",
        "timeout",
        "timed out",
        "eof",
        "reset",
        "refused",
        "broken pipe",
    ];
    EngineError::Registry {
        message: format!("the registry `{registry}` failed: {message}"),
        transient: transient.iter().any(|t| lower.contains(t)),
    }
}

/// `1.2.0: digest: sha256:… size: 525` → `sha256:…`.
fn digest_in(status: &str) -> Option<String> {
    let rest = status.split_once("digest: ")?.1;
    let digest = rest.split_whitespace().next()?;
    digest.starts_with("sha256:").then(|| digest.to_owned())
}

impl ContainerEngine for DockerEngine {
    async fn build(
        &self,
        spec: &BuildSpec,
        log: &mut dyn FnMut(&str),
    ) -> Result<String, EngineError> {
        // Labels go into the Dockerfile as one instruction (one step), unless a `target`
        // stage is built: then the engine adds them to that stage.
        let instruction = context::label_instruction(&spec.labels);
        let append = spec.target.is_none().then_some(instruction.as_str());
        let tar = context::pack(&spec.context, &spec.dockerfile, spec.mtime, append)?;
        let args: HashMap<String, String> = spec.build_args.clone().into_iter().collect();
        let labels: HashMap<String, String> = if append.is_some() {
            HashMap::new()
        } else {
            spec.labels.clone().into_iter().collect()
        };
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(&spec.dockerfile)
            .t(&spec.reference)
            .buildargs(&args)
            .labels(&labels)
            .networkmode(&spec.network)
            .rm(true)
            .forcerm(true);
        if let Some(target) = &spec.target {
            options = options.target(target);
        }
        let mut stream = Box::pin(self.docker.build_image(
            options.build(),
            None,
            Some(bollard::body_full(tar.into())),
        ));
        let mut id = None;
        while let Some(item) = self.next(&mut stream, "building the image").await? {
            match item {
                Ok(info) => {
                    for text in [info.stream, info.status].into_iter().flatten() {
                        for line in text.lines().filter(|l| !l.trim().is_empty()) {
                            log(line);
                        }
                    }
                    if let Some(aux) = info.aux.and_then(|a| a.id) {
                        id = Some(aux);
                    }
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(EngineError::Build(format!("the build failed: {error}")));
                }
                Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                    return Err(EngineError::Build(format!("the build failed: {message}")));
                }
                Err(e) => return Err(self.engine_error("building the image", &e)),
            }
        }
        let Some(id) = id else {
            return Err(EngineError::Engine(
                "the engine's build stream ended without an image id (did the engine restart?)"
                    .to_owned(),
            ));
        };
        let info = self.inspect(&spec.reference).await?;
        if info.id != id {
            return Err(EngineError::Engine(format!(
                "the build reported image {id}, but `{}` is {}",
                spec.reference, info.id
            )));
        }
        Ok(id)
    }

    async fn inspect(&self, reference: &str) -> Result<ImageInfo, EngineError> {
        let found = self
            .docker
            .inspect_image(reference)
            .await
            .map_err(|e| self.engine_error(&format!("inspecting `{reference}`"), &e))?;
        let mut labels: Vec<(String, String)> = found
            .config
            .and_then(|c| c.labels)
            .unwrap_or_default()
            .into_iter()
            .collect();
        labels.sort();
        Ok(ImageInfo {
            id: found.id.unwrap_or_default(),
            labels: labels.into_iter().collect(),
            repo_digests: found.repo_digests.unwrap_or_default(),
        })
    }

    async fn tag(&self, image: &str, repo: &str, tag: &str) -> Result<(), EngineError> {
        let options = TagImageOptionsBuilder::default()
            .repo(repo)
            .tag(tag)
            .build();
        self.docker
            .tag_image(image, Some(options))
            .await
            .map_err(|e| self.engine_error(&format!("tagging `{repo}:{tag}`"), &e))
    }

    async fn push(
        &self,
        repo: &str,
        tag: &str,
        credentials: Option<&Credentials>,
        log: &mut dyn FnMut(&str),
    ) -> Result<String, EngineError> {
        let registry = super::registry_of(repo);
        let options = PushImageOptionsBuilder::default().tag(tag).build();
        let mut stream = Box::pin(self.docker.push_image(
            repo,
            Some(options),
            bollard_credentials(credentials),
        ));
        let mut digest = None;
        let doing = format!("pushing `{repo}:{tag}`");
        while let Some(item) = self.next(&mut stream, &doing).await? {
            match item {
                Ok(info) => {
                    if let Some(status) = info.status {
                        if let Some(d) = digest_in(&status) {
                            digest = Some(d);
                            log(&status);
                        }
                    }
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(registry_error(&error, &registry, credentials));
                }
                Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                    return Err(registry_error(&message, &registry, credentials));
                }
                Err(e) => return Err(self.engine_error(&doing, &e)),
            }
        }
        digest.ok_or_else(|| EngineError::Registry {
            message: format!("{doing}: the engine's stream ended without a digest"),
            transient: true,
        })
    }

    async fn pull(
        &self,
        reference: &str,
        credentials: Option<&Credentials>,
        log: &mut dyn FnMut(&str),
    ) -> Result<(), EngineError> {
        let registry = super::registry_of(reference);
        let options = CreateImageOptionsBuilder::default()
            .from_image(reference)
            .build();
        let mut stream = Box::pin(self.docker.create_image(
            Some(options),
            None,
            bollard_credentials(credentials),
        ));
        let doing = format!("pulling `{reference}`");
        while let Some(item) = self.next(&mut stream, &doing).await? {
            match item {
                Ok(info) => {
                    if let Some(status) = info
                        .status
                        .filter(|s| s.starts_with("Digest") || s.starts_with("Status"))
                    {
                        log(&status);
                    }
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(registry_error(&error, &registry, credentials));
                }
                Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                    return Err(registry_error(&message, &registry, credentials));
                }
                Err(e) => return Err(self.engine_error(&doing, &e)),
            }
        }
        Ok(())
    }

    async fn registry_digest(
        &self,
        reference: &str,
        credentials: Option<&Credentials>,
    ) -> Result<String, EngineError> {
        let registry = super::registry_of(reference);
        let found = self
            .docker
            .inspect_registry_image(reference, bollard_credentials(credentials))
            .await
            .map_err(|e| match e {
                bollard::errors::Error::DockerResponseServerError { message, .. } => {
                    registry_error(&message, &registry, credentials)
                }
                other => {
                    self.engine_error(&format!("asking the registry for `{reference}`"), &other)
                }
            })?;
        found
            .descriptor
            .digest
            .ok_or_else(|| EngineError::Registry {
                message: format!("the registry `{registry}` gave no digest for `{reference}`"),
                transient: false,
            })
    }

    async fn run(
        &self,
        spec: &RunSpec,
        output: &mut dyn FnMut(Out, &[u8]),
    ) -> Result<i64, EngineError> {
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: (!spec.args.is_empty()).then(|| spec.args.clone()),
            entrypoint: spec.entrypoint.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: Some(spec.working_dir.display().to_string()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            host_config: Some(HostConfig {
                binds: Some(
                    spec.mounts
                        .iter()
                        .map(|m| format!("{0}:{0}", m.display()))
                        .collect(),
                ),
                network_mode: Some(spec.network.clone()),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        let options = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        let doing = format!("creating a container of `{}`", spec.image);
        self.docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| match e {
                bollard::errors::Error::DockerResponseServerError {
                    message,
                    status_code: 404,
                } => EngineError::Build(format!(
                    "no image `{}` in the engine ({message}); build or load it first",
                    spec.image
                )),
                other => self.engine_error(&doing, &other),
            })?;
        let guard = Removal {
            docker: self.docker.clone(),
            name: Some(spec.name.clone()),
        };
        let result = self.follow(spec, output).await;
        guard.now().await;
        result
    }

    async fn remove_container(&self, name: &str) -> Result<(), EngineError> {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(name, Some(options)).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(self.engine_error(&format!("removing container `{name}`"), &e)),
        }
    }
}

impl DockerEngine {
    /// Starts the created container, streams its output until it ends, and reads its code.
    async fn follow(
        &self,
        spec: &RunSpec,
        output: &mut dyn FnMut(Out, &[u8]),
    ) -> Result<i64, EngineError> {
        let name = spec.name.as_str();
        self.docker
            .start_container(
                name,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(|e| self.engine_error(&format!("starting `{name}`"), &e))?;
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(true)
            .build();
        let mut logs = Box::pin(self.docker.logs(name, Some(options)));
        loop {
            let next = tokio::time::timeout(Duration::from_secs(86_400), logs.next()).await;
            match next {
                Ok(Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message }))) => {
                    output(Out::Out, &message);
                }
                Ok(Some(Ok(LogOutput::StdErr { message }))) => output(Out::Err, &message),
                Ok(Some(Ok(LogOutput::StdIn { .. }))) => {}
                Ok(Some(Err(e))) => {
                    return Err(self.engine_error(&format!("reading `{name}`'s output"), &e));
                }
                Ok(None) | Err(_) => break,
            }
        }
        let mut wait = Box::pin(self.docker.wait_container(
            name,
            None::<bollard::query_parameters::WaitContainerOptions>,
        ));
        match self
            .next(&mut wait, &format!("waiting for `{name}`"))
            .await?
        {
            Some(Ok(r)) => Ok(r.status_code),
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(self.engine_error(&format!("waiting for `{name}`"), &e)),
            None => Err(EngineError::Engine(format!(
                "the engine did not say how `{name}` ended"
            ))),
        }
    }
}

/// Removes a container when dropped (a cancelled or timed-out step), or at once with `now`.
struct Removal {
    docker: Docker,
    name: Option<String>,
}

impl Removal {
    async fn now(mut self) {
        if let Some(name) = self.name.take() {
            let options = RemoveContainerOptionsBuilder::default().force(true).build();
            let _ = self.docker.remove_container(&name, Some(options)).await;
        }
    }
}

impl Drop for Removal {
    fn drop(&mut self) {
        if let Some(name) = self.name.take() {
            let docker = self.docker.clone();
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let options = RemoveContainerOptionsBuilder::default().force(true).build();
                    let _ = docker.remove_container(&name, Some(options)).await;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_from_push_status() {
        assert_eq!(
            digest_in("1.2.0: digest: sha256:abc123 size: 525").as_deref(),
            Some("sha256:abc123")
        );
        assert_eq!(digest_in("Pushed"), None);
    }

    #[test]
    fn registry_errors_are_told_apart() {
        let auth = registry_error("unauthorized: authentication required", "r", None);
        assert!(matches!(auth, EngineError::Auth { .. }));
        assert!(!auth.is_transient());
        let busy = registry_error(
            "received unexpected HTTP status: 503 Service Unavailable",
            "r",
            None,
        );
        assert!(busy.is_transient());
    }

    #[test]
    fn auth_header_is_reencoded_as_base64url() {
        // `{"password":"pa?ss>>word"}` encodes with `/` and `+` in standard base64.
        let json = r#"{"username":"mlops","password":"pa?ss>>word"}"#;
        let standard = STANDARD.encode(json);
        assert!(standard.contains('/') || standard.contains('+'));
        let req = http::Request::builder()
            .header("X-Registry-Auth", standard)
            .body(bollard::body_full(bytes::Bytes::new()))
            .unwrap();
        let out = reencode_auth(req);
        let value = out.headers()["X-Registry-Auth"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(URL_SAFE.decode(value).unwrap(), json.as_bytes());
    }
}
