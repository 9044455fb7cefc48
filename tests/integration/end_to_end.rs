//! The product end to end, with real parts only and the GitHub API from the emulator: the
//! digits example (scikit-learn) in a clone of a bare origin, the Docker engine and the loopback
//! registry. A push to `main` records the baseline and pushes `main` and `sha-…`; a pull request
//! that changes a hyperparameter gets one comment whose metric table holds the deltas this test
//! computes from the two metrics files, updated by a second run; a regression fails with exit 1;
//! the tag `digits@v1.0.0` puts `1.0.0`, `1.0`, `1` and `latest` in the registry and makes the
//! release with the report.

use std::path::Path;

use crate::common::{code, git, mlops_ci, stderr};
use crate::examples::{example_repo, python_has};
use crate::github_emulator::{Emulator, EmulatorConfig, events_dir};
use crate::images::{Registry, registry_digest, registry_tags, services, unique};

struct World {
    emulator: Emulator,
    registry: Registry,
    image_repo: String,
    _origin: tempfile::TempDir,
    clone: tempfile::TempDir,
    event: tempfile::NamedTempFile,
}

impl World {
    fn dir(&self) -> &Path {
        self.clone.path()
    }

    /// `mlops-ci run` as GitHub Actions runs it for `event` on `git_ref`.
    fn run(&self, event: &str, git_ref: &str) -> std::process::Output {
        let config = self.emulator.config();
        let mut cmd = mlops_ci(self.dir());
        cmd.arg("run")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_REF", git_ref)
            .env("GITHUB_EVENT_PATH", self.event.path())
            .env(
                "GITHUB_REPOSITORY",
                format!("{}/{}", config.owner, config.repo),
            )
            .env("GITHUB_API_URL", self.emulator.base_url())
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", "77")
            .env("GITHUB_TOKEN", &config.token)
            .env("MLOPS_REGISTRY_USER", &self.registry.user)
            .env("MLOPS_REGISTRY_PASSWORD", &self.registry.password)
            .env("DOCKER_CONFIG", self.dir().join(".mlops-no-docker-config"));
        if event == "pull_request" {
            cmd.env("GITHUB_BASE_REF", "main")
                .env("GITHUB_HEAD_REF", "pr");
        }
        cmd.output().unwrap()
    }

    /// A real `pull_request` payload rewritten for this repository and the branch's head.
    fn open_pull_request(&self) -> u64 {
        let config = self.emulator.config();
        let full = format!("{}/{}", config.owner, config.repo);
        let mut payload: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(events_dir().join("pull_request/opened.payload.json"))
                .unwrap(),
        )
        .unwrap();
        let pr = &mut payload["pull_request"];
        pr["head"]["sha"] = git(self.dir(), &["rev-parse", "HEAD"]).into();
        pr["head"]["ref"] = "pr".into();
        pr["head"]["repo"]["full_name"] = full.clone().into();
        pr["base"]["ref"] = "main".into();
        pr["base"]["repo"]["full_name"] = full.clone().into();
        payload["repository"]["full_name"] = full.into();
        std::fs::write(self.event.path(), payload.to_string()).unwrap();
        self.emulator.load_pull_request(self.event.path())
    }

    fn metrics(&self) -> serde_json::Value {
        let mut flat = serde_json::Map::new();
        let written: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.dir().join("metrics.json")).unwrap(),
        )
        .unwrap();
        crate::examples::flatten("", &written, &mut flat);
        serde_json::Value::Object(flat)
    }

    fn set_params(&self, from: &str, to: &str, message: &str) {
        let path = self.dir().join("params.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{text}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
        git(self.dir(), &["commit", "-q", "-am", message]);
    }
}

fn world() -> Option<World> {
    let registry = services()?;
    python_has("sklearn, yaml", "scikit-learn pyyaml");
    let image_repo = unique("e2e-digits");
    let image = format!("{}/{image_repo}", registry.addr);
    let (origin, clone) = example_repo("digits", |c| c.replace("127.0.0.1:5000/digits", &image));
    Some(World {
        emulator: Emulator::start(EmulatorConfig {
            owner: "acme".into(),
            repo: "digits".into(),
            ..EmulatorConfig::default()
        }),
        registry,
        image_repo,
        _origin: origin,
        clone,
        event: tempfile::NamedTempFile::new().unwrap(),
    })
}

/// `| `key` ↑ | main | this PR | change |` as the report prints it, to `report.precision` 4.
fn metric_row(key: &str, old: f64, new: f64) -> String {
    let change = new - old;
    let change = if change.abs() < 5e-5 {
        "0.0000".to_owned()
    } else {
        format!("{change:+.4}")
    };
    format!("| `{key}` ↑ | {old:.4} | {new:.4} | {change} |")
}

#[test]
fn digits_from_main_to_pull_request_to_release() {
    let Some(w) = world() else { return };
    let d = w.dir();

    // A push to main: the baseline note, and the image as `main` and `sha-<7>`.
    let out = w.run("push", "refs/heads/main");
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains("recorded this run as `main`'s baseline"),
        "{err}"
    );
    let main_sha = git(d, &["rev-parse", "HEAD"]);
    let main_metrics = w.metrics();
    let tags = registry_tags(&w.registry, &w.image_repo);
    assert!(
        tags.contains(&"main".to_owned()) && tags.contains(&format!("sha-{}", &main_sha[..7])),
        "{tags:?}"
    );
    let main_digest = registry_digest(&w.registry, &w.image_repo, "main").unwrap();

    // A pull request that halves C: one comment with the deltas of the two metrics files.
    git(d, &["checkout", "-q", "-b", "pr"]);
    w.set_params("C: 10.0", "C: 5.0", "C 5");
    let number = w.open_pull_request();
    let out = w.run("pull_request", &format!("refs/pull/{number}/merge"));
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    let pr_metrics = w.metrics();
    let comments = w.emulator.comments(number);
    assert_eq!(comments.len(), 1);
    let body = comments[0]["body"].as_str().unwrap().to_owned();
    for key in ["accuracy", "f1.macro"] {
        let row = metric_row(
            key,
            main_metrics[key].as_f64().unwrap(),
            pr_metrics[key].as_f64().unwrap(),
        );
        assert!(body.contains(&row), "{row} not in:\n{body}");
    }
    assert!(
        body.contains("| `model.C` | 10.0 | 5.0 |") || body.contains("model.C"),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "- `{}/{}`, tagged `pr-{number}` (built, not pushed)",
            w.registry.addr, w.image_repo
        )),
        "{body}"
    );
    let checks = w.emulator.check_runs();
    assert_eq!(checks.last().unwrap()["conclusion"], "success");

    // A second run updates the one comment.
    let out = w.run("pull_request", &format!("refs/pull/{number}/merge"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let again = w.emulator.comments(number);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["id"], comments[0]["id"]);

    // A change that regresses beyond the tolerance fails the check and the run.
    w.set_params("gamma: 0.001", "gamma: 0.005", "gamma 0.005");
    let number = w.open_pull_request();
    let out = w.run("pull_request", &format!("refs/pull/{number}/merge"));
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    let checks = w.emulator.check_runs();
    assert_eq!(checks.last().unwrap()["conclusion"], "failure");
    let body = w.emulator.comments(number)[0]["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(body.contains("below main's"), "{body}");

    // The release: main's image promoted to the version tags, and the GitHub release.
    git(d, &["checkout", "-q", "main"]);
    git(d, &["tag", "-a", "digits@v1.0.0", "-m", "digits 1.0.0"]);
    std::fs::write(w.event.path(), "{}").unwrap();
    let out = w.run("push", "refs/tags/digits@v1.0.0");
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    for tag in ["1.0.0", "1.0", "1", "latest"] {
        assert_eq!(
            registry_digest(&w.registry, &w.image_repo, tag).as_deref(),
            Some(main_digest.as_str()),
            "{tag}"
        );
    }
    let releases = w.emulator.releases();
    assert_eq!(releases.len(), 1);
    assert_eq!(releases[0]["tag_name"], "digits@v1.0.0");
    let notes = releases[0]["body"].as_str().unwrap();
    assert!(notes.contains("| `accuracy` ↑ |"), "{notes}");
    assert!(
        notes.contains(&main_digest),
        "the notes name the image by digest: {notes}"
    );
    w.emulator.assert_no_violations();
    w.emulator.assert_no_body_contains(&w.registry.password);
}
