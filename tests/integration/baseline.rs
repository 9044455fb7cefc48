//! `baseline`: notes and trees read through git2 on real repositories made with the `git` CLI,
//! with a bare repository in a temp folder as `origin`.

use crate::common::git;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};

use mlops_ci::baseline::{self, BaselineError, Lookup, Note, Settings};

/// A bare `origin` and clones of it, in one temp folder.
struct World {
    tmp: tempfile::TempDir,
    origin: PathBuf,
}

impl World {
    /// `origin` with `main` holding `commits` commits, pushed from a clone called `seed`.
    fn new(commits: usize) -> (Self, Vec<String>) {
        let tmp = tempfile::tempdir().expect("temp dir");
        let origin = tmp.path().join("origin.git");
        git(tmp.path(), &["init", "--bare", "-b", "main", "origin.git"]);
        let world = Self { tmp, origin };
        let seed = world.clone_of("seed", &[]);
        let shas = (0..commits)
            .map(|i| commit(&seed, &format!("m{i}")))
            .collect();
        if commits > 0 {
            git(&seed, &["push", "-q", "origin", "main"]);
        }
        (world, shas)
    }

    fn url(&self) -> String {
        format!("file://{}", self.origin.display())
    }

    fn clone_of(&self, name: &str, args: &[&str]) -> PathBuf {
        let mut all = vec!["clone", "-q"];
        all.extend_from_slice(args);
        let url = self.url();
        all.extend([url.as_str(), name]);
        git(self.tmp.path(), &all);
        self.tmp.path().join(name)
    }

    /// What `origin` has for commit `sha`, read by the real `git notes`.
    fn origin_note(&self, sha: &str) -> serde_json::Value {
        let text = git(&self.origin, &["notes", "--ref=mlops-ci", "show", sha]);
        serde_json::from_str(&text).expect("the note is JSON")
    }

    fn origin_notes(&self) -> usize {
        git(&self.origin, &["notes", "--ref=mlops-ci", "list"])
            .lines()
            .count()
    }
}

fn commit(dir: &Path, name: &str) -> String {
    std::fs::write(dir.join(format!("{name}.txt")), name).expect("write a file");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", name]);
    git(dir, &["rev-parse", "HEAD"])
}

fn note(value: u64, recorded_at: &str) -> Note {
    Note {
        version: baseline::NOTE_VERSION,
        metrics: serde_json::json!({ "accuracy": value }),
        params: serde_json::json!({ "lr": 0.1 }),
        profiles: serde_json::json!({}),
        image_digest: Some("sha256:abc".to_owned()),
        run_url: None,
        run_id: Some(value.to_string()),
        recorded_at: recorded_at.to_owned(),
    }
}

const T: &str = "2026-01-01T00:00:00Z";

fn no_env(_: &str) -> Option<String> {
    None
}

fn settings(walk: u32) -> Settings {
    Settings {
        branch: None,
        tip: false,
        walk,
    }
}

fn found(lookup: Lookup) -> baseline::Found {
    match lookup {
        Lookup::Found(found) => found,
        Lookup::NoBaseline { .. } => panic!("expected a baseline, got {lookup:?}"),
    }
}

fn accuracy(found: &baseline::Found) -> u64 {
    found.note.metrics["accuracy"].as_u64().expect("a number")
}

/// Records a note on `sha` in `dir` and pushes it to `origin`.
fn record_and_push(dir: &Path, sha: &str, note: &Note) -> baseline::PushOutcome {
    baseline::record(dir, sha, note).expect("record");
    baseline::push(dir, "origin", None).expect("push")
}

#[test]
fn a_pr_finds_the_note_of_its_merge_base_and_git_reads_it() {
    let (world, main) = World::new(2);
    let a = world.clone_of("a", &[]);
    let outcome = record_and_push(&a, &main[1], &note(2, T));
    assert_eq!(outcome.attempts, 1);

    let b = world.clone_of("b", &[]);
    git(&b, &["checkout", "-q", "-b", "pr"]);
    commit(&b, "p1");
    let head = commit(&b, "p2");
    // main moves on, with a note of its own, after the PR branched off
    git(&a, &["pull", "-q", "origin", "main"]);
    let m2 = commit(&a, "m2");
    git(&a, &["push", "-q", "origin", "main"]);
    record_and_push(&a, &m2, &note(3, T));

    assert_eq!(
        baseline::head(&b).expect("head"),
        (head, Some("pr".to_owned()))
    );
    let found = found(baseline::find(&b, &settings(50), no_env).expect("find"));
    assert_eq!(found.branch, "main");
    assert_eq!(found.merge_base, main[1]);
    assert_eq!(found.sha, main[1]);
    assert_eq!(found.distance, 0);
    assert_eq!(found.note, note(2, T));

    // the real git reads what git2 wrote, on the remote and in the PR's clone after the fetch
    assert_eq!(world.origin_note(&main[1])["metrics"]["accuracy"], 2);
    assert_eq!(world.origin_note(&m2)["metrics"]["accuracy"], 3);
    let text = git(&b, &["notes", "--ref=mlops-ci", "show", &main[1]]);
    let parsed: Note = serde_json::from_str(&text).expect("git shows our JSON");
    assert_eq!(parsed, note(2, T));
}

#[test]
fn notes_written_by_git_are_read_and_record_replaces() {
    let (world, main) = World::new(1);
    let a = world.clone_of("a", &[]);
    let json = serde_json::to_string(&note(7, T)).expect("json");
    git(
        &a,
        &["notes", "--ref=mlops-ci", "add", "-m", &json, &main[0]],
    );
    assert_eq!(
        baseline::read_note(&a, &main[0]).expect("read"),
        Some(note(7, T))
    );
    baseline::record(&a, &main[0], &note(8, T)).expect("record");
    assert_eq!(
        baseline::read_note(&a, &main[0]).expect("read"),
        Some(note(8, T))
    );

    // a note from a newer format, or not ours at all, is an error that names the commit
    git(
        &a,
        &[
            "notes",
            "--ref=mlops-ci",
            "add",
            "-f",
            "-m",
            r#"{"version": 99, "recorded_at": "x"}"#,
            &main[0],
        ],
    );
    let err = baseline::read_note(&a, &main[0]).expect_err("newer version");
    assert!(matches!(err, BaselineError::BadNote { .. }), "{err}");
    assert!(err.to_string().contains("newer mlops-ci"), "{err}");
    assert!(err.to_string().contains(&main[0]), "{err}");
}

#[test]
fn the_walk_back_reports_the_distance_and_stops_at_its_bound() {
    let (world, main) = World::new(4);
    let a = world.clone_of("a", &[]);
    record_and_push(&a, &main[0], &note(1, T));
    let b = world.clone_of("b", &[]);
    git(&b, &["checkout", "-q", "-b", "pr"]);
    commit(&b, "p1");

    let found = found(baseline::find(&b, &settings(50), no_env).expect("find"));
    assert_eq!(
        (found.merge_base.as_str(), found.sha.as_str()),
        (main[3].as_str(), main[0].as_str())
    );
    assert_eq!(found.distance, 3);
    let found3 = self::found(baseline::find(&b, &settings(3), no_env).expect("find"));
    assert_eq!(found3.distance, 3);

    assert_eq!(
        baseline::find(&b, &settings(2), no_env).expect("find"),
        Lookup::NoBaseline {
            branch: "main".to_owned(),
            merge_base: Some(main[3].clone()),
            searched: 3,
        }
    );
}

#[test]
fn a_first_run_has_no_baseline_and_that_is_no_error() {
    let (world, main) = World::new(2);
    let b = world.clone_of("b", &[]);
    git(&b, &["checkout", "-q", "-b", "pr"]);
    commit(&b, "p1");
    assert_eq!(
        baseline::find(&b, &settings(50), no_env).expect("find"),
        Lookup::NoBaseline {
            branch: "main".to_owned(),
            merge_base: Some(main[1].clone()),
            searched: 0,
        }
    );
    // nothing recorded: nothing to push
    let outcome = baseline::push(&b, "origin", None).expect("push");
    assert_eq!((outcome.attempts, outcome.remote_tip), (0, None));

    // but a remote that cannot be reached is no first run
    let gone = world.tmp.path().join("gone.git");
    git(
        &b,
        &[
            "remote",
            "set-url",
            "origin",
            &format!("file://{}", gone.display()),
        ],
    );
    let err = baseline::find(&b, &settings(50), no_env).expect_err("cannot fetch");
    assert!(
        err.to_string()
            .contains("while fetching `refs/notes/mlops-ci` from `origin`"),
        "{err}"
    );
}

#[test]
fn commit_tip_reads_the_branch_tip_from_the_remote_tracking_ref() {
    let (world, main) = World::new(1);
    let a = world.clone_of("a", &[]);
    record_and_push(&a, &main[0], &note(1, T));
    let b = world.clone_of("b", &[]);
    git(&b, &["checkout", "-q", "-b", "pr"]);
    commit(&b, "p1");
    git(&b, &["branch", "-q", "-D", "main"]);

    let m1 = commit(&a, "m1");
    git(&a, &["push", "-q", "origin", "main"]);
    record_and_push(&a, &m1, &note(2, T));
    git(&b, &["fetch", "-q", "origin"]);

    let tip = Settings {
        tip: true,
        ..settings(50)
    };
    let at_tip = found(baseline::find(&b, &tip, no_env).expect("find"));
    assert_eq!(
        (at_tip.merge_base.as_str(), at_tip.sha.as_str()),
        (m1.as_str(), m1.as_str())
    );
    assert_eq!(accuracy(&at_tip), 2);
    assert_eq!(
        baseline::baseline_commit(&b, &tip, no_env).expect("commit"),
        ("main".to_owned(), m1.clone())
    );
    let at_base = found(baseline::find(&b, &settings(50), no_env).expect("find"));
    assert_eq!(at_base.sha, main[0]);
    assert_eq!(accuracy(&at_base), 1);
}

#[test]
fn the_branch_comes_from_config_then_base_ref_then_origin_head() {
    let (world, main) = World::new(1);
    let a = world.clone_of("a", &[]);
    git(&a, &["checkout", "-q", "-b", "develop"]);
    let dev = commit(&a, "d1");
    git(&a, &["push", "-q", "origin", "develop"]);
    record_and_push(&a, &main[0], &note(1, T));
    record_and_push(&a, &dev, &note(2, T));

    let b = world.clone_of("b", &["--branch", "develop"]);
    git(&b, &["checkout", "-q", "-b", "pr"]);
    commit(&b, "p1");
    let branch_and_accuracy = |settings: &Settings, env: &HashMap<&str, &str>| {
        let f = found(
            baseline::find(&b, settings, |k: &str| env.get(k).map(|v| (*v).to_owned()))
                .expect("find"),
        );
        (f.branch.clone(), accuracy(&f))
    };
    let none = HashMap::new();
    let base_ref = HashMap::from([("GITHUB_BASE_REF", "develop")]);
    let empty_base_ref = HashMap::from([("GITHUB_BASE_REF", "")]);

    // origin/HEAD, as `git clone` sets it
    assert_eq!(
        branch_and_accuracy(&settings(50), &none),
        ("main".to_owned(), 1)
    );
    assert_eq!(
        branch_and_accuracy(&settings(50), &empty_base_ref),
        ("main".to_owned(), 1)
    );
    assert_eq!(
        branch_and_accuracy(&settings(50), &base_ref),
        ("develop".to_owned(), 2)
    );
    let configured = Settings {
        branch: Some("main".to_owned()),
        ..settings(50)
    };
    assert_eq!(
        branch_and_accuracy(&configured, &base_ref),
        ("main".to_owned(), 1)
    );

    git(&b, &["remote", "set-head", "origin", "develop"]);
    assert_eq!(
        branch_and_accuracy(&settings(50), &none),
        ("develop".to_owned(), 2)
    );
    // no origin/HEAD here (as after actions/checkout): the remote's own HEAD
    git(&b, &["remote", "set-head", "origin", "-d"]);
    assert_eq!(
        branch_and_accuracy(&settings(50), &none),
        ("main".to_owned(), 1)
    );
    git(
        &world.origin,
        &["symbolic-ref", "HEAD", "refs/heads/develop"],
    );
    assert_eq!(
        branch_and_accuracy(&settings(50), &none),
        ("develop".to_owned(), 2)
    );

    // a branch nowhere to be found is an error with the hint
    let missing = Settings {
        branch: Some("nope".to_owned()),
        ..settings(50)
    };
    let err = baseline::find(&b, &missing, no_env).expect_err("no such branch");
    assert!(matches!(err, BaselineError::BranchNotFound { .. }), "{err}");
    assert!(err.to_string().contains("fetch-depth: 0"), "{err}");
}

/// `origin` with `main` (a note on its first commit) and a pushed PR branch off its last commit.
fn world_with_pr() -> (World, Vec<String>, String) {
    let (world, main) = World::new(3);
    let a = world.clone_of("a", &[]);
    record_and_push(&a, &main[0], &note(1, T));
    git(&a, &["checkout", "-q", "-b", "pr"]);
    commit(&a, "p1");
    let pr = commit(&a, "p2");
    git(&a, &["push", "-q", "origin", "pr"]);
    (world, main, pr)
}

fn is_shallow(dir: &Path) -> bool {
    git(dir, &["rev-parse", "--is-shallow-repository"]) == "true"
}

#[test]
fn a_shallow_clone_without_main_fetches_main_and_its_history() {
    let (world, main, pr) = world_with_pr();
    let b = world.clone_of("b", &["--depth", "1", "--branch", "pr", "--single-branch"]);
    assert!(is_shallow(&b));
    assert!(
        Command::new("git")
            .current_dir(&b)
            .args(["rev-parse", "--verify", "-q", "origin/main"])
            .output()
            .expect("git")
            .stdout
            .is_empty()
    );

    let found = found(baseline::find(&b, &settings(50), no_env).expect("find"));
    assert_eq!(found.merge_base, main[2]);
    assert_eq!(found.sha, main[0]);
    assert_eq!(found.distance, 2);
    // the clone is now whole, and consistent as far as the real git can tell
    assert!(!is_shallow(&b));
    git(&b, &["fsck", "--no-progress", "--no-dangling"]);
    assert_eq!(git(&b, &["rev-parse", "HEAD"]), pr);
    assert_eq!(git(&b, &["rev-parse", "origin/main"]), main[2]);
}

#[test]
fn a_shallow_clone_of_main_deepens_to_walk_back() {
    let (world, main, _) = world_with_pr();
    let b = world.clone_of("b", &["--depth", "1"]);
    assert!(is_shallow(&b));
    let found = found(baseline::find(&b, &settings(50), no_env).expect("find"));
    assert_eq!(
        (found.merge_base.as_str(), found.sha.as_str()),
        (main[2].as_str(), main[0].as_str())
    );
    assert_eq!(found.distance, 2);
    assert!(!is_shallow(&b));
    git(&b, &["fsck", "--no-progress", "--no-dangling"]);
}

#[test]
fn a_shallow_clone_that_cannot_fetch_says_to_use_fetch_depth_0() {
    let (world, _, _) = world_with_pr();
    let b = world.clone_of("b", &["--depth", "1", "--branch", "pr", "--single-branch"]);
    // the notes are here, but `origin` cannot be reached any more
    git(
        &b,
        &[
            "fetch",
            "-q",
            "origin",
            "refs/notes/mlops-ci:refs/notes/mlops-ci",
        ],
    );
    let gone = world.tmp.path().join("gone.git");
    git(
        &b,
        &[
            "remote",
            "set-url",
            "origin",
            &format!("file://{}", gone.display()),
        ],
    );
    let err = baseline::find(&b, &settings(50), no_env).expect_err("cannot fetch");
    assert!(
        err.to_string()
            .contains("use `fetch-depth: 0` in actions/checkout"),
        "{err}"
    );

    // without a remote at all
    git(&b, &["remote", "remove", "origin"]);
    let err = baseline::find(&b, &settings(50), no_env).expect_err("no origin");
    assert!(matches!(err, BaselineError::BranchNotFound { .. }), "{err}");
    assert!(err.to_string().contains("fetch-depth: 0"), "{err}");
    let with_branch = Settings {
        branch: Some("pr".to_owned()),
        ..settings(50)
    };
    // `pr` is here, but its history stops at the shallow cut: the walk cannot go on
    let err = baseline::find(&b, &with_branch, no_env).expect_err("shallow walk");
    assert!(matches!(err, BaselineError::MissingHistory { .. }), "{err}");
    assert!(err.to_string().contains("fetch-depth: 0"), "{err}");
    assert!(is_shallow(&b));
}

#[test]
fn two_writers_racing_lose_no_note() {
    const ROUNDS: usize = 20;
    let (world, main) = World::new(2 * ROUNDS);
    let main = Arc::new(main);
    let barrier = Arc::new(Barrier::new(2));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let dir = world.clone_of(&format!("w{w}"), &[]);
            let (main, barrier) = (Arc::clone(&main), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut most = 0;
                for round in 0..ROUNDS {
                    let sha = &main[2 * round + w];
                    baseline::record(&dir, sha, &note((2 * round + w) as u64, T)).expect("record");
                    barrier.wait();
                    let outcome = baseline::push(&dir, "origin", None).expect("push");
                    most = most.max(outcome.attempts);
                }
                most
            })
        })
        .collect();
    let attempts: Vec<u32> = writers
        .into_iter()
        .map(|w| w.join().expect("the writer finishes"))
        .collect();
    eprintln!("most push attempts per writer: {attempts:?}");
    assert_eq!(world.origin_notes(), 2 * ROUNDS, "attempts: {attempts:?}");
    for (i, sha) in main.iter().enumerate() {
        assert_eq!(world.origin_note(sha)["metrics"]["accuracy"], i);
    }
    git(&world.origin, &["fsck", "--no-progress", "--no-dangling"]);
}

#[test]
fn on_the_same_commit_the_later_run_wins_and_other_notes_are_kept() {
    let (world, main) = World::new(3);
    let old = "2026-01-01T00:00:00Z";
    let new = "2026-01-01T00:00:01.5Z";
    let a = world.clone_of("a", &[]);
    let b = world.clone_of("b", &[]);
    let c = world.clone_of("c", &[]);

    // the later run pushes second: it wins
    record_and_push(&a, &main[0], &note(1, old));
    baseline::record(&b, &main[1], &note(20, T)).expect("record");
    let outcome = record_and_push(&b, &main[0], &note(2, new));
    assert_eq!(outcome.attempts, 2, "rejected once, merged, pushed");
    assert_eq!(world.origin_note(&main[0])["metrics"]["accuracy"], 2);

    // the earlier run pushes last (a slow runner): the later note stays
    baseline::record(&c, &main[2], &note(30, T)).expect("record");
    let outcome = record_and_push(&c, &main[0], &note(3, old));
    assert_eq!(outcome.attempts, 2);
    assert_eq!(world.origin_note(&main[0])["metrics"]["accuracy"], 2);
    assert_eq!(world.origin_note(&main[1])["metrics"]["accuracy"], 20);
    assert_eq!(world.origin_note(&main[2])["metrics"]["accuracy"], 30);
    assert_eq!(world.origin_notes(), 3);

    // and a note unchanged since the last fetch never overrides a newer one on the remote
    record_and_push(&a, &main[2], &note(31, new));
    record_and_push(&b, &main[1], &note(21, new));
    assert_eq!(world.origin_note(&main[0])["metrics"]["accuracy"], 2);
    assert_eq!(world.origin_note(&main[2])["metrics"]["accuracy"], 31);
    assert_eq!(world.origin_note(&main[1])["metrics"]["accuracy"], 21);
    git(&world.origin, &["fsck", "--no-progress", "--no-dangling"]);
}

#[test]
fn read_files_reads_the_baseline_tree_without_a_checkout() {
    let (world, _) = World::new(0);
    let a = world.clone_of("a", &[]);
    std::fs::create_dir_all(a.join("eval")).expect("mkdir");
    std::fs::write(a.join("eval/metrics.json"), br#"{"accuracy": 0.9}"#).expect("write");
    std::fs::write(a.join("profile.bin"), [0u8, 159, 146, 150]).expect("write");
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-q", "-m", "base"]);
    git(&a, &["push", "-q", "origin", "main"]);
    git(&a, &["checkout", "-q", "-b", "pr"]);
    std::fs::write(a.join("eval/metrics.json"), br#"{"accuracy": 0.5}"#).expect("write");
    git(&a, &["commit", "-q", "-am", "worse"]);

    let (branch, sha) = baseline::baseline_commit(&a, &settings(50), no_env).expect("commit");
    assert_eq!(branch, "main");
    assert_eq!(sha, git(&a, &["rev-parse", "main"]));
    let paths = ["eval/metrics.json", "./profile.bin", "missing.json"].map(str::to_owned);
    let files = baseline::read_files(&a, &sha, &paths).expect("read");
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        paths.iter().collect::<Vec<_>>()
    );
    assert_eq!(
        files["eval/metrics.json"].as_deref(),
        Some(&br#"{"accuracy": 0.9}"#[..])
    );
    assert_eq!(
        files["./profile.bin"].as_deref(),
        Some(&[0u8, 159, 146, 150][..])
    );
    assert_eq!(files["missing.json"], None);

    let err = baseline::read_files(&a, &sha, &["eval".to_owned()]).expect_err("a directory");
    assert!(matches!(err, BaselineError::BadPath { .. }), "{err}");
    let err = baseline::read_files(&a, &sha, &["../x".to_owned()]).expect_err("outside");
    assert!(matches!(err, BaselineError::BadPath { .. }), "{err}");
    let err = baseline::read_files(&a, "0123456789012345678901234567890123456789", &paths)
        .expect_err("unknown commit");
    assert!(matches!(err, BaselineError::UnknownCommit(_)), "{err}");
}

#[test]
fn no_hook_filter_or_fsmonitor_runs() {
    let (world, main) = World::new(1);
    let markers = world.tmp.path().join("markers");
    std::fs::create_dir(&markers).expect("mkdir");
    let a = world.clone_of("a", &[]);
    git(&a, &["checkout", "-q", "-b", "pr"]);
    std::fs::write(a.join(".gitattributes"), "*.json filter=evil\n").expect("write");
    std::fs::write(a.join("m.json"), "{}").expect("write");
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-q", "-m", "p1"]);

    let script = |name: &str| {
        format!(
            "#!/bin/sh\ntouch '{}/{name}'\ncat >/dev/null 2>&1 || true\n",
            markers.display()
        )
    };
    let local = [
        "post-checkout",
        "pre-push",
        "reference-transaction",
        "pre-commit",
        "post-commit",
        "post-merge",
        "post-rewrite",
        "pre-auto-gc",
        "fsmonitor-watchman",
    ];
    let remote = [
        "pre-receive",
        "update",
        "post-receive",
        "post-update",
        "reference-transaction",
    ];
    for (hooks, names) in [
        (a.join(".git/hooks"), &local[..]),
        (world.origin.join("hooks"), &remote[..]),
    ] {
        for name in names {
            let path = hooks.join(name);
            std::fs::write(&path, script(name)).expect("write a hook");
            std::process::Command::new("chmod")
                .arg("+x")
                .arg(&path)
                .status()
                .expect("chmod");
        }
    }
    let fsmonitor = markers.join("..").join("fsmonitor.sh");
    std::fs::write(&fsmonitor, script("fsmonitor")).expect("write");
    Command::new("chmod")
        .arg("+x")
        .arg(&fsmonitor)
        .status()
        .expect("chmod");
    git(
        &a,
        &["config", "core.fsmonitor", &fsmonitor.display().to_string()],
    );
    let filter = format!("touch '{}/filter'; cat", markers.display());
    git(&a, &["config", "filter.evil.smudge", &filter]);
    git(&a, &["config", "filter.evil.clean", &filter]);
    git(&a, &["config", "filter.evil.process", &filter]);

    let head = baseline::head(&a).expect("head").0;
    baseline::record(&a, &main[0], &note(1, T)).expect("record");
    baseline::record(&a, &head, &note(2, T)).expect("record");
    baseline::push(&a, "origin", None).expect("push");
    found(baseline::find(&a, &settings(50), no_env).expect("find"));
    baseline::read_files(&a, &head, &["m.json".to_owned()]).expect("read");
    let seen: Vec<_> = std::fs::read_dir(&markers)
        .expect("read markers")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(seen.is_empty(), "these ran: {seen:?}");

    // the hooks are live: the real git runs them
    git(&a, &["commit", "-q", "--allow-empty", "-m", "p2"]);
    assert!(markers.join("pre-commit").exists());
}
