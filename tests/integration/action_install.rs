//! The GitHub Action (`action.yml`, `scripts/install-mlops-ci`): a release asset is used only
//! when SHA256SUMS vouches for it and, for an action pinned by SHA, when the binary was built
//! from that commit; otherwise the action's source is built. Releases are served from
//! 127.0.0.1; the composite action itself runs under `mlops-ci check`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::Digest as _;

use crate::common::{code, mlops_ci, repo, stderr};

/// The release asset for this machine, as the script names it.
fn asset() -> String {
    format!(
        "mlops-ci-{}-unknown-linux-musl.tar.gz",
        std::env::consts::ARCH
    )
}

/// The real binary under test, packed as the release packs it (made once per test run).
fn tarball() -> &'static Vec<u8> {
    static TARBALL: OnceLock<Vec<u8>> = OnceLock::new();
    TARBALL.get_or_init(|| {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_mlops-ci"));
        let out = Command::new("sh")
            .arg("-c")
            .arg(r#"tar -cf - -C "$1" mlops-ci | gzip -1"#)
            .arg("sh")
            .arg(bin.parent().unwrap())
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    })
}

fn sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Serves `files` (path → body) over HTTP on 127.0.0.1 and records the paths asked for.
fn serve(files: HashMap<String, Vec<u8>>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&asked);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) <= 2 {
                    break;
                }
            }
            seen.lock().unwrap().push(path.clone());
            let (status, body) = match files.get(&path) {
                Some(body) => ("200 OK", body.as_slice()),
                None => ("404 Not Found", &b"not found"[..]),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    (url, asked)
}

/// A folder of links to the tools the script needs, and no `cargo`.
fn tools_without_cargo(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in [
        "bash",
        "sh",
        "curl",
        "tar",
        "gzip",
        "sha256sum",
        "awk",
        "sed",
        "mktemp",
        "head",
        "cut",
        "rm",
        "mkdir",
        "mv",
        "uname",
        "cat",
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let path = String::from_utf8(found.stdout).unwrap();
        std::os::unix::fs::symlink(path.trim(), bin.join(tool)).unwrap();
    }
    bin
}

fn install(url: &str, temp: &Path, action_ref: &str) -> (Output, String) {
    let output = temp.join("github_output");
    let out = Command::new("bash")
        .arg(repo().join("scripts/install-mlops-ci"))
        .env("PATH", tools_without_cargo(temp))
        .env("GITHUB_ACTION_PATH", repo())
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", std::env::consts::ARCH)
        .env("RUNNER_TEMP", temp)
        .env("GITHUB_OUTPUT", &output)
        .env("MLOPS_CI_RELEASES_URL", url)
        .env("MLOPS_CI_ACTION_REF", action_ref)
        .env_remove("MLOPS_CI_VERSION")
        .output()
        .unwrap();
    (out, std::fs::read_to_string(output).unwrap_or_default())
}

fn release(sums: &str) -> HashMap<String, Vec<u8>> {
    let v = env!("CARGO_PKG_VERSION");
    HashMap::from([
        (format!("/v{v}/{}", asset()), tarball().clone()),
        (format!("/v{v}/SHA256SUMS"), sums.as_bytes().to_vec()),
    ])
}

#[test]
fn a_release_asset_is_installed_when_its_checksum_and_commit_match() {
    let sums = format!("{}  {}\n", sha256(tarball()), asset());
    let (url, asked) = serve(release(&sums));
    let temp = tempfile::tempdir().unwrap();
    let (out, outputs) = install(&url, temp.path(), env!("MLOPS_CI_GIT_COMMIT"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let path = outputs.strip_prefix("path=").unwrap().trim();
    let version = Command::new(path).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("MLOPS_CI_GIT_SHA")));
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(
        *asked.lock().unwrap(),
        [format!("/v{v}/{}", asset()), format!("/v{v}/SHA256SUMS")]
    );
}

#[test]
fn a_wrong_checksum_stops_the_install() {
    let sums = format!("{}  {}\n", sha256(b"another file"), asset());
    let (url, _) = serve(release(&sums));
    let temp = tempfile::tempdir().unwrap();
    let (out, outputs) = install(&url, temp.path(), "");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not installing it"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("building"),
        "a bad asset is not replaced by a build"
    );
    assert_eq!(outputs, "");
}

#[test]
fn without_a_matching_release_the_source_is_built() {
    // The asset exists but was built from another commit than the action's pin.
    let sums = format!("{}  {}\n", sha256(tarball()), asset());
    let (url, _) = serve(release(&sums));
    let temp = tempfile::tempdir().unwrap();
    let (out, _) = install(&url, temp.path(), &"f".repeat(40));
    let err = stderr(&out);
    assert!(err.contains("built from another commit"), "{err}");
    assert!(
        err.contains("no `cargo` to build the action's source"),
        "{err}"
    );
    assert_eq!(code(&out), 2);

    // No release at all.
    let (url, _) = serve(HashMap::new());
    let temp = tempfile::tempdir().unwrap();
    let (out, _) = install(&url, temp.path(), "");
    assert!(
        stderr(&out).contains("no release asset"),
        "{}",
        stderr(&out)
    );
    assert_eq!(code(&out), 2);
}

/// The composite action, run by mlops-ci's own runner: it installs from the release and runs
/// the command with the inputs as arguments, never as shell text.
#[test]
fn the_composite_action_installs_and_runs_the_command() {
    let sums = format!("{}  {}\n", sha256(tarball()), asset());
    let (url, _) = serve(release(&sums));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let action = d.join("action");
    std::fs::create_dir_all(action.join("scripts")).unwrap();
    for file in ["action.yml", "scripts/install-mlops-ci", "Cargo.toml"] {
        std::fs::copy(repo().join(file), action.join(file)).unwrap();
    }
    std::fs::create_dir_all(d.join("model")).unwrap();
    std::fs::write(
        d.join("model/pipeline.yaml"),
        "version: 1\nstages:\n  only:\n    steps: [{run: echo}]\n",
    )
    .unwrap();
    std::fs::write(
        d.join("mlops.yaml"),
        format!(
            r#"version: 1
stages:
  act:
    env: {{ MLOPS_CI_RELEASES_URL: "{url}" }}
    steps:
      - uses: ./action
        with:
          command: lint
          working-directory: model
          config: pipeline.yaml
      - id: injected
        uses: ./action
        continue-on-error: true
        with:
          command: lint
          args: $(touch pwned) ;touch pwned2
"#
        ),
    )
    .unwrap();
    let out = mlops_ci(d).arg("check").output().unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(err.contains("`pipeline.yaml` is valid: 1 stage"), "{err}");
    assert!(
        err.contains("unexpected argument '$(touch'"),
        "the args reach mlops-ci as words: {err}"
    );
    assert!(!d.join("pwned").exists() && !d.join("pwned2").exists());
}
