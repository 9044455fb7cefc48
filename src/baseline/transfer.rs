//! Fetching refs and history from the remote, and pushing the notes ref with fetch-merge-retry.
//!
//! A remote that is a path or a `file://` URL is opened as a repository and objects are copied
//! between the object databases: libgit2's local transport refuses shallow fetches, forgets a
//! clone is shallow after any fetch, and overwrites the pushed ref without checking it is still
//! the one it saw. Other remotes use libgit2's smart transport, where the server checks the old
//! value of every pushed ref.

use std::cell::RefCell;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use git2::{
    AutotagOption, Cred, CredentialType, ErrorCode, FetchOptions, Oid, PushOptions,
    RemoteCallbacks, Repository,
};

use super::{BaselineError, Doing as _, NOTES_REF, PUSH_ATTEMPTS, PushOutcome, REMOTE_NOTES_REF};

/// libgit2's `GIT_FETCH_DEPTH_UNSHALLOW`.
const UNSHALLOW: i32 = i32::MAX;

/// How a remote is reached.
pub(super) enum Origin {
    /// A repository on this machine, opened directly.
    Local(PathBuf),
    /// Anything else, through libgit2's smart transport.
    Smart(String),
}

/// The remote called `name`, or `None` when there is none.
pub(super) fn origin(repo: &Repository, name: &str) -> Result<Option<Origin>, BaselineError> {
    let remote = match repo.find_remote(name) {
        Ok(remote) => remote,
        Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => {
            return Ok(None);
        }
        Err(e) => return Err(e).doing(|| format!("while reading remote `{name}`")),
    };
    let url = remote
        .url()
        .doing(|| format!("while reading the URL of remote `{name}`"))?;
    let base = repo.workdir().unwrap_or_else(|| repo.path());
    Ok(Some(match local_path(url, base) {
        Some(path) => Origin::Local(path),
        None => Origin::Smart(name.to_owned()),
    }))
}

/// The path of a remote URL that names a repository on this machine.
fn local_path(url: &str, base: &Path) -> Option<PathBuf> {
    if let Some(rest) = url.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    if url.contains("://") {
        return None;
    }
    // `host:path` is scp-like ssh; a colon after a slash is part of a path.
    if let Some(colon) = url.find(':') {
        if !url[..colon].contains('/') {
            return None;
        }
    }
    Some(base.join(url))
}

fn open_remote(path: &Path) -> Result<Repository, BaselineError> {
    Repository::open(path).doing(|| format!("while opening the remote at `{}`", path.display()))
}

/// The commits where a shallow clone's history is cut.
fn shallow_roots(repo: &Repository) -> Vec<Oid> {
    std::fs::read_to_string(repo.commondir().join("shallow"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| Oid::from_str(line.trim()).ok())
        .collect()
}

/// The tips of `to`'s refs under `prefix`, for hiding what `to` already has.
fn tips(to: &Repository, prefix: &str) -> Vec<Oid> {
    let Ok(refs) = to.references_glob(&format!("{prefix}*")) else {
        return Vec::new();
    };
    refs.filter_map(|r| r.ok()?.peel_to_commit().ok().map(|c| c.id()))
        .collect()
}

/// Copies the commits reachable from `wants` (with their trees and blobs), except those
/// reachable from `hides`, from `from`'s object database into `to`'s.
fn copy(
    from: &Repository,
    to: &Repository,
    wants: &[Oid],
    hides: &[Oid],
) -> Result<(), git2::Error> {
    let mut walk = from.revwalk()?;
    for want in wants {
        walk.push(*want)?;
    }
    let odb = from.odb()?;
    for hide in hides {
        if odb.exists(*hide) {
            walk.hide(*hide)?;
        }
    }
    let mut pack = from.packbuilder()?;
    pack.insert_walk(&mut walk)?;
    if pack.object_count() == 0 {
        return Ok(());
    }
    let target = to.odb()?;
    let mut writer = target.packwriter()?;
    let mut failed = None;
    pack.foreach(|buf| match writer.write_all(buf) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    })?;
    if let Some(e) = failed {
        return Err(git2::Error::from_str(&format!("writing the pack: {e}")));
    }
    writer.commit()?;
    Ok(())
}

/// Fetches the remote's `src` into the local `dst` (forced). With `unshallow`, a shallow clone
/// gets its whole history. Returns whether the remote has `src`. After an unshallowing fetch the
/// caller must open the repository again: libgit2 caches where history is cut.
pub(super) fn fetch(
    repo: &Repository,
    name: &str,
    src: &str,
    dst: &str,
    unshallow: bool,
    token: Option<&str>,
) -> Result<bool, BaselineError> {
    let doing = || format!("while fetching `{src}` from `{name}`");
    let Some(origin) = origin(repo, name)? else {
        return Err(BaselineError::NoRemote(name.to_owned()));
    };
    match origin {
        Origin::Local(path) => {
            let remote = Repository::open(&path).doing(|| {
                format!(
                    "while fetching `{src}` from `{name}` (`{}`)",
                    path.display()
                )
            })?;
            let tip = match remote.find_reference(src) {
                Ok(r) => r.peel_to_commit().doing(doing)?.id(),
                Err(e) if e.code() == ErrorCode::NotFound => return Ok(false),
                Err(e) => return Err(e).doing(doing),
            };
            let shallow = repo.is_shallow();
            let mut wants = vec![tip];
            if shallow && unshallow {
                wants.extend(shallow_roots(repo));
            }
            // In a shallow clone only notes history is known to be complete.
            let hides = tips(repo, if shallow { "refs/notes/" } else { "refs/" });
            copy(&remote, repo, &wants, &hides).doing(doing)?;
            repo.reference(dst, tip, true, "mlops-ci: fetch")
                .doing(doing)?;
            if shallow && unshallow {
                std::fs::remove_file(repo.commondir().join("shallow")).map_err(|e| {
                    BaselineError::Git {
                        doing: doing(),
                        message: format!("could not remove the `shallow` file: {e}"),
                    }
                })?;
            }
            Ok(true)
        }
        Origin::Smart(name) => {
            let mut remote = repo.find_remote(&name).doing(doing)?;
            let mut options = FetchOptions::new();
            options
                .remote_callbacks(callbacks(token))
                .download_tags(AutotagOption::None)
                .update_fetchhead(false);
            if unshallow && repo.is_shallow() {
                options.depth(UNSHALLOW);
            }
            // A stale copy of the remote's notes must not pass for a fetched one.
            if dst == REMOTE_NOTES_REF {
                if let Ok(mut old) = repo.find_reference(dst) {
                    old.delete().doing(doing)?;
                }
            }
            remote
                .fetch(
                    &[format!("+{src}:{dst}")],
                    Some(&mut options),
                    Some("mlops-ci: fetch"),
                )
                .doing(doing)?;
            Ok(repo.refname_to_id(dst).is_ok())
        }
    }
}

pub(super) fn callbacks(token: Option<&str>) -> RemoteCallbacks<'_> {
    let mut callbacks = RemoteCallbacks::new();
    let mut tried = false;
    callbacks.credentials(move |url, _user, allowed| match token {
        Some(token)
            if !tried
                && url.starts_with("https://")
                && allowed.contains(CredentialType::USER_PASS_PLAINTEXT) =>
        {
            tried = true;
            Cred::userpass_plaintext("x-access-token", token)
        }
        Some(_) if tried => Err(git2::Error::from_str(
            "the remote refused `GITHUB_TOKEN`; it needs `contents: write` to push notes",
        )),
        _ => Err(git2::Error::from_str(
            "the remote asks for credentials; set `GITHUB_TOKEN` (sent only over HTTPS)",
        )),
    });
    callbacks
}

enum Attempt {
    Pushed,
    Rejected(String),
}

pub(super) fn push_notes(
    repo: &Repository,
    name: &str,
    token: Option<&str>,
) -> Result<PushOutcome, BaselineError> {
    let Some(origin) = origin(repo, name)? else {
        return Err(BaselineError::NoRemote(name.to_owned()));
    };
    let mut attempts = 0;
    let mut reason = String::new();
    while attempts < PUSH_ATTEMPTS {
        let Ok(local) = repo.refname_to_id(NOTES_REF) else {
            return Ok(PushOutcome {
                attempts,
                remote_tip: None,
            });
        };
        attempts += 1;
        let attempt = match &origin {
            Origin::Local(path) => push_local(repo, path, local)?,
            Origin::Smart(name) => push_smart(repo, name, token)?,
        };
        match attempt {
            Attempt::Pushed => {
                repo.reference(REMOTE_NOTES_REF, local, true, "mlops-ci: pushed notes")
                    .doing(|| format!("while updating `{REMOTE_NOTES_REF}`"))?;
                return Ok(PushOutcome {
                    attempts,
                    remote_tip: Some(local.to_string()),
                });
            }
            Attempt::Rejected(why) => {
                reason = why;
                if attempts < PUSH_ATTEMPTS {
                    std::thread::sleep(Duration::from_millis(20 * u64::from(attempts)));
                    if fetch(repo, name, NOTES_REF, REMOTE_NOTES_REF, false, token)? {
                        let theirs = repo
                            .refname_to_id(REMOTE_NOTES_REF)
                            .doing(|| format!("while reading `{REMOTE_NOTES_REF}`"))?;
                        super::notes::merge_into_local(repo, theirs)?;
                    }
                }
            }
        }
    }
    Err(BaselineError::PushRejected {
        remote: name.to_owned(),
        attempts,
        reason,
    })
}

fn push_local(repo: &Repository, path: &Path, local: Oid) -> Result<Attempt, BaselineError> {
    let doing = || format!("while pushing `{NOTES_REF}` to `{}`", path.display());
    let remote = open_remote(path)?;
    let theirs = match remote.refname_to_id(NOTES_REF) {
        Ok(id) => Some(id),
        Err(e) if e.code() == ErrorCode::NotFound => None,
        Err(e) => return Err(e).doing(doing),
    };
    if theirs == Some(local) {
        return Ok(Attempt::Pushed);
    }
    if let Some(theirs) = theirs {
        let known = repo.odb().doing(doing)?.exists(theirs);
        if !known || !repo.graph_descendant_of(local, theirs).doing(doing)? {
            return Ok(Attempt::Rejected(
                "the remote has notes this clone has not merged".to_owned(),
            ));
        }
    }
    let hides: Vec<Oid> = theirs.into_iter().collect();
    copy(repo, &remote, &[local], &hides).doing(doing)?;
    let updated = match theirs {
        Some(theirs) => {
            remote.reference_matching(NOTES_REF, local, true, theirs, "mlops-ci: push notes")
        }
        None => remote.reference(NOTES_REF, local, false, "mlops-ci: push notes"),
    };
    match updated {
        Ok(_) => Ok(Attempt::Pushed),
        Err(e)
            if matches!(
                e.code(),
                ErrorCode::Modified | ErrorCode::Exists | ErrorCode::Locked
            ) =>
        {
            Ok(Attempt::Rejected(format!(
                "another run pushed first ({})",
                e.message()
            )))
        }
        Err(e) => Err(e).doing(doing),
    }
}

fn push_smart(
    repo: &Repository,
    name: &str,
    token: Option<&str>,
) -> Result<Attempt, BaselineError> {
    let doing = || format!("while pushing `{NOTES_REF}` to `{name}`");
    let mut remote = repo.find_remote(name).doing(doing)?;
    let rejected = RefCell::new(None::<String>);
    let pushed = {
        let mut callbacks = callbacks(token);
        callbacks.push_update_reference(|_, status| {
            if let Some(status) = status {
                *rejected.borrow_mut() = Some(status.to_owned());
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        remote.push(&[format!("{NOTES_REF}:{NOTES_REF}")], Some(&mut options))
    };
    match pushed {
        Ok(()) => Ok(match rejected.into_inner() {
            Some(status) => Attempt::Rejected(format!("the remote refused it ({status})")),
            None => Attempt::Pushed,
        }),
        Err(e) if e.code() == ErrorCode::NotFastForward || e.message().contains("fastforward") => {
            Ok(Attempt::Rejected(e.message().to_owned()))
        }
        Err(e) => Err(e).doing(doing),
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;
    use std::path::{Path, PathBuf};

    #[test]
    fn local_remotes_are_paths_and_file_urls() {
        let base = Path::new("/work/repo");
        assert_eq!(
            local_path("file:///srv/origin.git", base),
            Some(PathBuf::from("/srv/origin.git"))
        );
        assert_eq!(
            local_path("/srv/origin.git", base),
            Some(PathBuf::from("/srv/origin.git"))
        );
        assert_eq!(
            local_path("../origin.git", base),
            Some(PathBuf::from("/work/repo/../origin.git"))
        );
        assert_eq!(local_path("https://github.com/o/r.git", base), None);
        assert_eq!(local_path("git@github.com:o/r.git", base), None);
        assert_eq!(local_path("ssh://git@github.com/o/r.git", base), None);
    }
}
