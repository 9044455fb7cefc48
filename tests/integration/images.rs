//! Model images against the real Docker engine and a real registry on 127.0.0.1 (started by
//! `scripts/test`, which exports `MLOPS_CI_TEST_REGISTRY` and its user and password): build,
//! labels, tags and pushes for each event, digests read back over the registry's HTTP API,
//! `latest` with a hotfix, promotion by digest, bad credentials, a registry failing in passing
//! (a fault proxy on loopback), an unreachable engine, and `uses: docker://` steps.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{code, git, mlops_ci, run_json, stderr};

/// The test registry and its credentials.
pub(crate) struct Registry {
    pub(crate) addr: String,
    pub(crate) user: String,
    pub(crate) password: String,
}

/// The registry and a working engine, or `None` (with the reason printed) outside CI. Under
/// `CI=true` their absence fails the test.
pub(crate) fn services() -> Option<Registry> {
    let registry = std::env::var("MLOPS_CI_TEST_REGISTRY").ok();
    let engine = Command::new("docker")
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    let why = match (&registry, engine) {
        (Some(_), true) => None,
        (None, _) => Some("MLOPS_CI_TEST_REGISTRY is not set (scripts/test starts the registry)"),
        (_, false) => Some("no Docker engine answers (scripts/test starts dockerd)"),
    };
    if let Some(why) = why {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the image tests need the engine and the registry under CI: {why}"
        );
        eprintln!("skipped: {why}");
        return None;
    }
    Some(Registry {
        addr: registry.unwrap_or_default(),
        user: std::env::var("MLOPS_CI_TEST_REGISTRY_USER").unwrap_or_else(|_| "mlops".into()),
        password: std::env::var("MLOPS_CI_TEST_REGISTRY_PASSWORD").unwrap_or_default(),
    })
}

/// A repository name no other test (or run) uses.
pub(crate) fn unique(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("mlops-it/{test}-{}-{nanos}", std::process::id())
}

/// One HTTP/1.1 GET to the registry with basic auth: status, headers (lower-cased), body.
fn http_get(
    addr: &str,
    reg: &Registry,
    path: &str,
    accept: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use base64::Engine as _;
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", reg.user, reg.password));
    let mut stream = TcpStream::connect(addr).expect("the registry answers");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    (status, headers, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 4 + size..];
    }
    out
}

const MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// The digest the registry serves for `repo:tag`, `None` when it has no such tag.
pub(crate) fn registry_digest(reg: &Registry, repo: &str, tag: &str) -> Option<String> {
    let (status, headers, _) = http_get(
        &reg.addr,
        reg,
        &format!("/v2/{repo}/manifests/{tag}"),
        MANIFEST,
    );
    if status == 404 {
        return None;
    }
    assert_eq!(status, 200, "GET manifest {repo}:{tag}");
    headers
        .into_iter()
        .find(|(k, _)| k == "docker-content-digest")
        .map(|(_, v)| v)
}

/// The tags the registry lists for `repo` (none when it does not know it).
pub(crate) fn registry_tags(reg: &Registry, repo: &str) -> Vec<String> {
    let (status, _, body) = http_get(&reg.addr, reg, &format!("/v2/{repo}/tags/list"), "*/*");
    if status == 404 {
        return Vec::new();
    }
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut tags: Vec<String> = json["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    tags
}

/// The labels in the image config the registry holds for `repo:tag`.
fn registry_labels(reg: &Registry, repo: &str, tag: &str) -> serde_json::Value {
    let (status, _, body) = http_get(
        &reg.addr,
        reg,
        &format!("/v2/{repo}/manifests/{tag}"),
        MANIFEST,
    );
    assert_eq!(status, 200);
    let manifest: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let config = manifest["config"]["digest"].as_str().unwrap();
    let (status, _, body) = http_get(&reg.addr, reg, &format!("/v2/{repo}/blobs/{config}"), "*/*");
    assert_eq!(status, 200);
    let config: serde_json::Value = serde_json::from_slice(&body).unwrap();
    config["config"]["Labels"].clone()
}

/// A git repository (with a bare `origin`) holding a model, a `FROM scratch` Dockerfile and an
/// mlops.yaml whose `package` stage builds `image` with `push`.
struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    image: String,
}

/// Removes the test's images from the engine (the registry keeps its copies in its temp store).
impl Drop for Repo {
    fn drop(&mut self) {
        let listed = docker(&[
            "image",
            "ls",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            &format!("reference={}", self.image),
        ]);
        for reference in String::from_utf8_lossy(&listed.stdout).lines() {
            let _ = docker(&["rmi", "-f", reference]);
        }
    }
}

const CONFIG: &str = r#"version: 1
name: iris
report:
  comment: off
stages:
  evaluate:
    steps:
      - run: |
          echo '{"accuracy": 0.94}' > metrics.json
          touch ran.marker
    metrics: [metrics.json]
    gates:
      - metric: accuracy
        min: 0.9
  package:
    needs: [evaluate]
    image:
      name: IMAGE
      push: PUSH
"#;

impl Repo {
    fn new(image: &str, push: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        git(
            tmp.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        let dir = tmp.path().join("work");
        std::fs::create_dir_all(dir.join("model")).unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        git(&dir, &["remote", "add", "origin", "../origin.git"]);
        std::fs::write(dir.join("model/model.json"), r#"{"weights": [0.1, 0.2]}"#).unwrap();
        std::fs::write(
            dir.join("Dockerfile"),
            "FROM scratch\nCOPY model/ /model/\n",
        )
        .unwrap();
        std::fs::write(
            dir.join(".gitignore"),
            ".mlops/\nmetrics.json\nran.marker\n",
        )
        .unwrap();
        std::fs::write(dir.join("LICENSE"), "MIT License\n\nCopyright (c) Ada\n").unwrap();
        let config = CONFIG.replace("IMAGE", image).replace("PUSH", push);
        std::fs::write(dir.join("mlops.yaml"), config).unwrap();
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-q", "-m", "model"]);
        git(&dir, &["push", "-q", "origin", "main"]);
        Self {
            _tmp: tmp,
            dir,
            image: image.to_owned(),
        }
    }

    fn head(&self) -> String {
        git(&self.dir, &["rev-parse", "HEAD"])
    }

    /// `mlops-ci run` as CI runs it for `event` on `git_ref`, with the registry's credentials.
    fn run(&self, reg: &Registry, event: &str, git_ref: &str, extra: &[(&str, &str)]) -> Output {
        let mut cmd = mlops_ci(&self.dir);
        cmd.arg("run")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_REF", git_ref)
            .env("MLOPS_REGISTRY_USER", &reg.user)
            .env("MLOPS_REGISTRY_PASSWORD", &reg.password)
            .env_remove("GITHUB_TOKEN")
            .env("DOCKER_CONFIG", self.dir.join(".mlops-no-docker-config"));
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

fn image_of(record: &serde_json::Value) -> serde_json::Value {
    record["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "package")
        .map(|s| s["image"].clone())
        .unwrap()
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().unwrap()
}

#[test]
fn a_push_to_main_builds_labels_tags_pushes_and_records_the_digest() {
    let Some(reg) = services() else { return };
    let repo_name = unique("main");
    let image = format!("{}/{repo_name}", reg.addr);
    let repo = Repo::new(&image, "true");
    let sha = repo.head();
    let out = repo.run(&reg, "push", "refs/heads/main", &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    let record = image_of(&run_json(&repo.dir));
    let short = &sha[..7];
    assert_eq!(
        record["tags"],
        serde_json::json!(["main", format!("sha-{short}")])
    );
    assert_eq!(record["pushed"], true);
    let digest = record["digest"].as_str().unwrap().to_owned();
    assert!(digest.starts_with("sha256:"), "{digest}");
    assert_eq!(
        registry_tags(&reg, &repo_name),
        ["main", format!("sha-{short}").as_str()]
    );
    for tag in ["main", &format!("sha-{short}")] {
        assert_eq!(
            registry_digest(&reg, &repo_name, tag).as_deref(),
            Some(digest.as_str())
        );
    }
    let labels = registry_labels(&reg, &repo_name, "main");
    let commit_time = git(&repo.dir, &["show", "-s", "--format=%cI", "HEAD"]);
    let created = labels["org.opencontainers.image.created"].as_str().unwrap();
    assert_eq!(
        created.trim_end_matches('Z'),
        commit_time.split('+').next().unwrap().trim_end_matches('Z'),
        "created is the commit's time"
    );
    assert_eq!(labels["org.opencontainers.image.revision"], sha.as_str());
    assert_eq!(labels["org.opencontainers.image.version"], "main");
    assert_eq!(labels["org.opencontainers.image.title"], "iris");
    assert_eq!(labels["org.opencontainers.image.licenses"], "MIT");
    assert_eq!(labels["io.mlops-ci.model.name"], "iris");
    assert_eq!(labels["io.mlops-ci.metrics.accuracy"], "0.94");
    assert_eq!(labels["io.mlops-ci.gate.status"], "passed");
    // The baseline note pushed to origin carries the digest, for a later release to promote.
    let note = git(
        &repo.dir.join("../origin.git"),
        &["notes", "--ref=mlops-ci", "show", &sha],
    );
    let note: serde_json::Value = serde_json::from_str(&note).unwrap();
    assert_eq!(note["image_digest"], format!("{image}@{digest}"));

    // Another branch: its name, made a valid tag, and no `sha-` tag.
    let out = repo.run(&reg, "push", "refs/heads/feature/New Model", &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let record = image_of(&run_json(&repo.dir));
    assert_eq!(record["tags"], serde_json::json!(["feature-New-Model"]));
    assert_eq!(
        registry_digest(&reg, &repo_name, "feature-New-Model").as_deref(),
        record["digest"].as_str()
    );
}

#[test]
fn a_pull_request_is_tagged_pr_n_and_pushed_only_when_push_allows() {
    let Some(reg) = services() else { return };
    let repo_name = unique("pr");
    let image = format!("{}/{repo_name}", reg.addr);
    let repo = Repo::new(&image, "${{ github.event_name != 'pull_request' }}");
    let event = repo.dir.join("../event.json");
    std::fs::write(&event, r#"{"number": 7, "pull_request": {"number": 7}}"#).unwrap();
    let event = event.display().to_string();
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_PATH", event.as_str()),
        ("GITHUB_REPOSITORY", "acme/iris"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_RUN_ID", "99"),
    ];
    let out = repo.run(&reg, "pull_request", "refs/pull/7/merge", &env);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let record = image_of(&run_json(&repo.dir));
    assert_eq!(record["tags"], serde_json::json!(["pr-7"]));
    assert_eq!(record["pushed"], false);
    assert!(registry_tags(&reg, &repo_name).is_empty());
    let inspect = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Labels}}",
        &format!("{image}:pr-7"),
    ]);
    let labels: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        labels["io.mlops-ci.run.url"],
        "https://github.com/acme/iris/actions/runs/99"
    );
    assert_eq!(
        labels["org.opencontainers.image.source"],
        "https://github.com/acme/iris"
    );

    let config = std::fs::read_to_string(repo.dir.join("mlops.yaml")).unwrap();
    let config = config.replace("${{ github.event_name != 'pull_request' }}", "true");
    std::fs::write(repo.dir.join("mlops.yaml"), config).unwrap();
    let out = repo.run(&reg, "pull_request", "refs/pull/7/merge", &env);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(registry_tags(&reg, &repo_name), ["pr-7"]);
}

#[test]
fn releases_get_semver_tags_and_a_hotfix_never_moves_latest() {
    let Some(reg) = services() else { return };
    let repo_name = unique("release");
    let image = format!("{}/{repo_name}", reg.addr);
    let repo = Repo::new(&image, "true");
    git(&repo.dir, &["tag", "-a", "v1.2.0", "-m", "v1.2.0"]);
    let out = repo.run(&reg, "push", "refs/tags/v1.2.0", &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let first = image_of(&run_json(&repo.dir));
    assert_eq!(
        first["tags"],
        serde_json::json!(["1.2.0", "1.2", "1", "latest"])
    );
    let latest = first["digest"].as_str().unwrap().to_owned();

    // A hotfix of the 1.1 line, released after 1.2.0, from another commit.
    git(&repo.dir, &["checkout", "-q", "-b", "hotfix"]);
    std::fs::write(repo.dir.join("model/model.json"), r#"{"weights": [0.3]}"#).unwrap();
    git(&repo.dir, &["commit", "-q", "-am", "hotfix"]);
    git(&repo.dir, &["tag", "-a", "v1.1.5", "-m", "v1.1.5"]);
    let out = repo.run(&reg, "push", "refs/tags/v1.1.5", &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let hotfix = image_of(&run_json(&repo.dir));
    assert_eq!(hotfix["tags"], serde_json::json!(["1.1.5", "1.1"]));
    let hotfix_digest = hotfix["digest"].as_str().unwrap();
    assert_ne!(hotfix_digest, latest);
    assert_eq!(
        registry_digest(&reg, &repo_name, "latest").as_deref(),
        Some(latest.as_str())
    );
    assert_eq!(
        registry_digest(&reg, &repo_name, "1").as_deref(),
        Some(latest.as_str())
    );
    assert_eq!(
        registry_digest(&reg, &repo_name, "1.1").as_deref(),
        Some(hotfix_digest)
    );
    let labels = registry_labels(&reg, &repo_name, "1.1.5");
    assert_eq!(labels["org.opencontainers.image.version"], "1.1.5");
    assert_eq!(labels["io.mlops-ci.model.version"], "1.1.5");

    // A pre-release gets its full version only.
    git(&repo.dir, &["tag", "-a", "v2.0.0-rc.1", "-m", "rc"]);
    let out = repo.run(&reg, "push", "refs/tags/v2.0.0-rc.1", &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        image_of(&run_json(&repo.dir))["tags"],
        serde_json::json!(["2.0.0-rc.1"])
    );
    assert_eq!(
        registry_digest(&reg, &repo_name, "latest").as_deref(),
        Some(latest.as_str())
    );
}

#[test]
fn a_release_of_a_commit_with_an_image_retags_its_digest_without_a_build() {
    let Some(reg) = services() else { return };
    let repo_name = unique("promote");
    let image = format!("{}/{repo_name}", reg.addr);
    let repo = Repo::new(&image, "true");
    let out = repo.run(&reg, "push", "refs/heads/main", &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let built = image_of(&run_json(&repo.dir));
    let digest = built["digest"].as_str().unwrap().to_owned();
    // The engine forgets the image: promotion must pull it by digest, not rebuild it.
    let short = &repo.head()[..7];
    for tag in ["main", &format!("sha-{short}")] {
        assert!(docker(&["rmi", &format!("{image}:{tag}")]).status.success());
    }
    git(&repo.dir, &["tag", "-a", "v3.0.0", "-m", "v3.0.0"]);
    let out = repo.run(&reg, "push", "refs/tags/v3.0.0", &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(err.contains("re-tagging it without a build"), "{err}");
    assert!(!err.contains("Step 1/"), "no build ran: {err}");
    let promoted = image_of(&run_json(&repo.dir));
    assert_eq!(promoted["promoted"], true);
    assert_eq!(promoted["digest"].as_str(), Some(digest.as_str()));
    assert_eq!(promoted["id"], built["id"]);
    for tag in ["3.0.0", "3.0", "3", "latest"] {
        assert_eq!(
            registry_digest(&reg, &repo_name, tag).as_deref(),
            Some(digest.as_str()),
            "{tag}"
        );
    }
}

#[test]
fn a_wrong_password_is_a_clear_error_with_exit_2() {
    let Some(reg) = services() else { return };
    let repo_name = unique("badauth");
    let image = format!("{}/{repo_name}", reg.addr);
    let repo = Repo::new(&image, "true");
    let out = repo.run(
        &reg,
        "push",
        "refs/heads/feature/x",
        &[("MLOPS_REGISTRY_PASSWORD", "not-the-password")],
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains(&format!("the registry `{}` refused the credentials (from `MLOPS_REGISTRY_USER` and `MLOPS_REGISTRY_PASSWORD`)", reg.addr)),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
    assert!(registry_tags(&reg, &repo_name).is_empty());
    let last = err.lines().last().unwrap_or_default();
    insta::with_settings!({filters => vec![
        (reg.addr.as_str(), "[registry]"),
        (r"mlops-it/badauth-[0-9-]+", "[repo]"),
    ]}, {
        insta::assert_snapshot!(last);
    });
}

/// A TCP proxy on 127.0.0.1 in front of the registry that answers 503 to the first `faults`
/// manifest uploads (the engine retries blob uploads itself, but not a manifest's), one request
/// per connection. Counts what it refused.
struct FaultProxy {
    pub(crate) addr: String,
    refused: Arc<AtomicUsize>,
}

impl FaultProxy {
    fn start(upstream: &str, faults: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let refused = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&refused);
        let upstream = upstream.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let count = Arc::clone(&count);
                let upstream = upstream.clone();
                std::thread::spawn(move || proxy_one(client, &upstream, &count, faults));
            }
        });
        Self { addr, refused }
    }
}

fn proxy_one(mut client: TcpStream, upstream: &str, refused: &AtomicUsize, faults: usize) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        // The engine tries TLS first: a handshake (0x16) is refused at once, as the registry
        // refuses it, so the engine falls back to plain HTTP without waiting.
        if head.is_empty() && byte[0] == 0x16 {
            return;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut first = text.lines().next().unwrap_or_default().split_whitespace();
    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    if method == "PUT"
        && path.contains("/manifests/")
        && refused
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < faults).then_some(n + 1)
            })
            .is_ok()
    {
        let _ = client.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    }
    // One request per connection: ask the registry to close after answering.
    let mut rewritten = String::new();
    for line in text.lines() {
        if !line.to_lowercase().starts_with("connection:") && !line.is_empty() {
            rewritten.push_str(line);
            rewritten.push_str("\r\n");
        }
    }
    rewritten.push_str("Connection: close\r\n\r\n");
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    if server.write_all(rewritten.as_bytes()).is_err() {
        return;
    }
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
    });
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Both);
}

#[test]
fn a_registry_failing_in_passing_gets_the_push_after_retries() {
    let Some(reg) = services() else { return };
    let proxy = FaultProxy::start(&reg.addr, 2);
    let repo_name = unique("retry");
    let image = format!("{}/{repo_name}", proxy.addr);
    let repo = Repo::new(&image, "true");
    let out = repo.run(&reg, "push", "refs/heads/main", &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert_eq!(
        proxy.refused.load(Ordering::SeqCst),
        2,
        "the proxy refused the first manifest uploads"
    );
    assert!(
        err.contains("trying again in 1.0s (attempt 2 of 5)"),
        "{err}"
    );
    let record = image_of(&run_json(&repo.dir));
    let digest = record["digest"].as_str().unwrap();
    // Read back from the registry itself, past the proxy.
    assert_eq!(
        registry_digest(&reg, &repo_name, "main").as_deref(),
        Some(digest)
    );
}

#[test]
fn an_unreachable_engine_stops_run_with_exit_2_and_check_skips_the_image() {
    let Some(reg) = services() else { return };
    let repo_name = unique("noengine");
    let image = format!("{}/{repo_name}", reg.addr);
    let repo = Repo::new(&image, "true");
    let dead = repo.dir.join("../dead.sock");
    let host = format!("unix://{}", dead.display());
    let out = repo.run(
        &reg,
        "push",
        "refs/heads/main",
        &[("DOCKER_HOST", host.as_str())],
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains(&format!("the container engine at `{host}` is unreachable")),
        "{err}"
    );
    assert!(err.contains("nothing was built, tagged or pushed"), "{err}");
    let last = err.lines().last().unwrap_or_default();
    insta::with_settings!({filters => vec![(host.as_str(), "unix://[dead socket]"), (dead.to_str().unwrap(), "[dead socket]")]}, {
        insta::assert_snapshot!(last);
    });
    assert!(!repo.dir.join("ran.marker").exists(), "no step ran");
    assert!(registry_tags(&reg, &repo_name).is_empty());

    let out = mlops_ci(&repo.dir)
        .arg("check")
        .env("DOCKER_HOST", &host)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    let record = run_json(&repo.dir);
    let package = &record["stages"][1];
    assert_eq!(package["result"], "skipped", "{err}");
    assert!(
        package["reason"]
            .as_str()
            .unwrap()
            .contains("is unreachable"),
        "{package}"
    );
    assert!(repo.dir.join("ran.marker").exists(), "the other stages ran");
}

#[test]
fn check_tags_the_image_local_and_never_pushes() {
    let Some(reg) = services() else { return };
    let repo_name = unique("local");
    let image = format!("{}/{repo_name}", reg.addr);
    let repo = Repo::new(&image, "true");
    let out = mlops_ci(&repo.dir).arg("check").output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let short = &repo.head()[..7];
    assert_eq!(
        image_of(&run_json(&repo.dir))["tags"],
        serde_json::json!([format!("local-{short}")])
    );
    std::fs::write(repo.dir.join("model/model.json"), "{}").unwrap();
    let out = mlops_ci(&repo.dir).arg("check").output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let record = image_of(&run_json(&repo.dir));
    assert_eq!(
        record["tags"],
        serde_json::json!([format!("local-{short}-dirty")])
    );
    assert_eq!(record["pushed"], false);
    assert!(registry_tags(&reg, &repo_name).is_empty());
}

/// A `docker import`ed image holding a static busybox, named `name`.
fn busybox_image(name: &str) -> bool {
    let busybox = Path::new("/bin/busybox");
    if !busybox.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the docker:// tests need /bin/busybox (Debian's busybox-static)"
        );
        eprintln!("skipped: no /bin/busybox (apt-get install busybox-static)");
        return false;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("bin")).unwrap();
    std::fs::create_dir_all(root.path().join("tmp")).unwrap();
    std::fs::copy(busybox, root.path().join("bin/busybox")).unwrap();
    for applet in ["sh", "echo", "cat", "sleep", "pwd", "env"] {
        std::os::unix::fs::symlink("busybox", root.path().join("bin").join(applet)).unwrap();
    }
    let tar = root.path().join("../rootfs.tar");
    let ok = Command::new("tar")
        .args(["-C"])
        .arg(root.path())
        .args(["-cf"])
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let out = docker(&[
        "import",
        "-c",
        "ENV PATH=/bin",
        &tar.display().to_string(),
        name,
    ]);
    let _ = std::fs::remove_file(&tar);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[test]
fn a_docker_step_passes_outputs_env_and_its_exit_code_and_is_masked() {
    if services().is_none() {
        return;
    }
    let name = format!("{}:1", unique("busybox"));
    if !busybox_image(&name) {
        return;
    }
    let config = format!(
        r#"version: 1
secrets: [API_KEY]
stages:
  s:
    steps:
      - id: c
        uses: docker://{name}
        env:
          GREETING: hello
          API_KEY: ${{{{ secrets.API_KEY }}}}
        with:
          entrypoint: /bin/sh
          args: -c "echo $GREETING from $(pwd); echo key=$API_KEY; echo answer=42 >> $GITHUB_OUTPUT; echo made > made.txt; exit 3"
      - if: always()
        run: echo "answer=${{{{ steps.c.outputs.answer }}}} outcome=${{{{ steps.c.outcome }}}}" > seen.txt
"#
    );
    let dir = crate::common::config_dir(config.as_bytes());
    let out = mlops_ci(dir.path())
        .arg("check")
        .env("API_KEY", "s3cret-value-123")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains(&format!("hello from {}", dir.path().display())),
        "{err}"
    );
    assert!(err.contains("key=***"), "{err}");
    assert!(!err.contains("s3cret-value-123"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("seen.txt"))
            .unwrap()
            .trim(),
        "answer=42 outcome=failure"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("made.txt"))
            .unwrap()
            .trim(),
        "made"
    );
    let record = run_json(dir.path());
    assert_eq!(record["stages"][0]["steps"][0]["exit_code"], 3);
    let run_id = record["id"].as_str().unwrap();
    let left = docker(&["ps", "-aq", "--filter", &format!("name=mlops-ci-{run_id}")]);
    assert!(left.stdout.is_empty(), "the container was removed");
    let _ = docker(&["rmi", "-f", &name]);
}

#[test]
fn a_docker_step_that_times_out_leaves_no_container() {
    if services().is_none() {
        return;
    }
    let name = format!("{}:1", unique("busybox-timeout"));
    if !busybox_image(&name) {
        return;
    }
    let config = format!(
        r#"version: 1
stages:
  s:
    steps:
      - uses: docker://{name}
        timeout-minutes: 0.05
        with:
          entrypoint: /bin/sh
          args: -c "echo started; sleep 60"
"#
    );
    let dir = crate::common::config_dir(config.as_bytes());
    let started = std::time::Instant::now();
    let out = mlops_ci(dir.path()).arg("check").output().unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("timed out"), "{err}");
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    let record = run_json(dir.path());
    let run_id = record["id"].as_str().unwrap();
    let left = docker(&["ps", "-aq", "--filter", &format!("name=mlops-ci-{run_id}")]);
    assert!(left.stdout.is_empty(), "the container was removed");
    let _ = docker(&["rmi", "-f", &name]);
}

/// What the engine proxy does to `POST /build`: holds the answer back, cuts it short, or ends
/// it cleanly without the message naming the image id.
#[derive(Clone, Copy)]
enum BuildFault {
    Stall,
    Cut,
    NoId,
}

/// A TCP proxy on 127.0.0.1 in front of the real engine's unix socket (`DOCKER_HOST=tcp://…`),
/// one request per connection, that passes everything but a build's answer through.
fn engine_proxy(fault: BuildFault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            std::thread::spawn(move || engine_proxy_one(client, fault));
        }
    });
    addr
}

fn engine_proxy_one(mut client: TcpStream, fault: BuildFault) {
    use std::os::unix::net::UnixStream;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let build = text
        .lines()
        .next()
        .is_some_and(|l| l.starts_with("POST") && l.contains("/build"));
    let mut rewritten = String::new();
    for line in text.lines() {
        if !line.to_lowercase().starts_with("connection:") && !line.is_empty() {
            rewritten.push_str(line);
            rewritten.push_str("\r\n");
        }
    }
    rewritten.push_str("Connection: close\r\n\r\n");
    let Ok(mut server) = UnixStream::connect("/var/run/docker.sock") else {
        return;
    };
    if server.write_all(rewritten.as_bytes()).is_err() {
        return;
    }
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
    });
    match (build, fault) {
        (false, _) => {
            let _ = std::io::copy(&mut server, &mut client);
        }
        (true, BuildFault::Stall) => std::thread::sleep(std::time::Duration::from_secs(20)),
        (true, BuildFault::Cut) => {
            // The head and the first bytes of the progress stream, then the connection drops,
            // as when the engine restarts mid-build.
            let mut seen = Vec::new();
            let mut chunk = [0u8; 256];
            while !String::from_utf8_lossy(&seen).contains("Step 1/") {
                let n = server.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&chunk[..n]);
            }
            let _ = client.write_all(&seen);
        }
        (true, BuildFault::NoId) => {
            let mut all = Vec::new();
            let _ = server.read_to_end(&mut all);
            let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0);
            let body = String::from_utf8_lossy(&dechunk(&all[split + 4..])).into_owned();
            let kept: String = body
                .split_inclusive('\n')
                .filter(|m| !m.contains("\"aux\""))
                .collect();
            let _ = client.write_all(&all[..split + 4]);
            let _ = write!(client, "{:x}\r\n{kept}\r\n0\r\n\r\n", kept.len());
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
}

#[test]
fn a_build_stream_that_stalls_or_breaks_off_fails_with_exit_2() {
    let Some(reg) = services() else { return };
    if !Path::new("/var/run/docker.sock").exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the engine fault test needs /var/run/docker.sock"
        );
        eprintln!("skipped: the engine is not at /var/run/docker.sock");
        return;
    }
    for (fault, expected) in [
        (
            BuildFault::Stall,
            "the container engine sent nothing for 2s while building the image",
        ),
        (BuildFault::Cut, "while building the image"),
        (
            BuildFault::NoId,
            "the engine's build stream ended without an image id (did the engine restart?)",
        ),
    ] {
        let repo_name = unique("enginefault");
        let image = format!("{}/{repo_name}", reg.addr);
        let repo = Repo::new(&image, "true");
        let host = format!("tcp://{}", engine_proxy(fault));
        let out = repo.run(
            &reg,
            "push",
            "refs/heads/main",
            &[
                ("DOCKER_HOST", host.as_str()),
                ("MLOPS_CI_ENGINE_IDLE_TIMEOUT", "2"),
            ],
        );
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{err}");
        assert!(err.contains(expected), "{err}");
        let package = &run_json(&repo.dir)["stages"][1];
        assert_eq!(package["result"], "failure", "{package}");
        assert!(registry_tags(&reg, &repo_name).is_empty());
    }
}
