//! Which branch and commit the baseline is, fetching the branch or more history when the clone
//! lacks them, and the first-parent walk back to the nearest commit with a note.

use git2::{Direction, ErrorCode, Oid, Repository};

use super::transfer::{self, Origin};
use super::{
    BaselineError, Doing as _, Found, Lookup, NOTES_REF, REMOTE, REMOTE_NOTES_REF, Settings, notes,
};

pub(super) fn find(
    repo_dir: &std::path::Path,
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Lookup, BaselineError> {
    let mut repo = super::open(repo_dir)?;
    let token = env("GITHUB_TOKEN");
    let token = token.as_deref();
    let branch = branch_name(&repo, settings, env);
    let has_origin = transfer::origin(&repo, REMOTE)?.is_some();
    if has_origin {
        match transfer::fetch(&repo, REMOTE, NOTES_REF, REMOTE_NOTES_REF, false, token) {
            Ok(true) => {
                let theirs = repo
                    .refname_to_id(REMOTE_NOTES_REF)
                    .doing(|| format!("while reading `{REMOTE_NOTES_REF}`"))?;
                notes::merge_into_local(&repo, theirs)?;
            }
            Ok(false) => {}
            Err(e) => {
                // Say first what the clone lacks, if anything: that is what the user can fix.
                resolve_commit(&mut repo, &branch, settings.tip, token)?;
                return Err(e);
            }
        }
    }
    if !notes::any(&repo) {
        // A first run: no baseline anywhere, which is no reason to fail on missing history.
        let merge_base = resolve_commit(&mut repo, &branch, settings.tip, token).ok();
        return Ok(Lookup::NoBaseline {
            branch,
            merge_base: merge_base.map(|id| id.to_string()),
            searched: 0,
        });
    }
    let base = resolve_commit(&mut repo, &branch, settings.tip, token)?;
    let mut current = base;
    let mut distance = 0;
    let mut searched = 0;
    loop {
        searched += 1;
        if let Some(note) = notes::read(&repo, current)? {
            return Ok(Lookup::Found(Found {
                branch,
                merge_base: base.to_string(),
                sha: current.to_string(),
                distance,
                note,
            }));
        }
        if distance >= settings.walk {
            break;
        }
        let Some(parent) = first_parent(&mut repo, current, &branch, has_origin, token)? else {
            break;
        };
        current = parent;
        distance += 1;
    }
    Ok(Lookup::NoBaseline {
        branch,
        merge_base: Some(base.to_string()),
        searched,
    })
}

/// The first parent of `id`; at a shallow clone's cut, fetches the rest of the history first.
/// `None` at a root commit.
fn first_parent(
    repo: &mut Repository,
    id: Oid,
    branch: &str,
    has_origin: bool,
    token: Option<&str>,
) -> Result<Option<Oid>, BaselineError> {
    let parent = |repo: &Repository| {
        let commit = repo
            .find_commit(id)
            .doing(|| format!("while reading commit {id}"))?;
        Ok::<_, BaselineError>(commit.parent_ids().next())
    };
    if let Some(p) = parent(repo)? {
        if repo.find_commit(p).is_ok() {
            return Ok(Some(p));
        }
    } else if !repo.is_shallow() {
        return Ok(None);
    }
    // The history stops here only because the clone is shallow.
    if !has_origin {
        return Err(BaselineError::MissingHistory {
            what: format!(
                "this clone is shallow: history stops at {id}, and there is no remote `{REMOTE}` to fetch more from"
            ),
        });
    }
    deepen(repo, branch, token)?;
    match parent(repo)? {
        Some(p) if repo.find_commit(p).is_ok() => Ok(Some(p)),
        Some(_) => Err(BaselineError::MissingHistory {
            what: format!("the parent of {id} is missing even after fetching from `{REMOTE}`"),
        }),
        None => Ok(None),
    }
}

/// `baseline.branch`, else `GITHUB_BASE_REF`, else the remote's default branch, else `main`.
pub(super) fn branch_name(
    repo: &Repository,
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
) -> String {
    let named = |s: String| {
        let s = s.trim();
        let s = s.strip_prefix("refs/heads/").unwrap_or(s);
        (!s.is_empty()).then(|| s.to_owned())
    };
    settings
        .branch
        .clone()
        .and_then(named)
        .or_else(|| env("GITHUB_BASE_REF").and_then(named))
        .or_else(|| default_branch(repo, env("GITHUB_TOKEN").as_deref()))
        .unwrap_or_else(|| "main".to_owned())
}

/// The branch `refs/remotes/origin/HEAD` points to, else the one the remote's `HEAD` does.
fn default_branch(repo: &Repository, token: Option<&str>) -> Option<String> {
    let tracking = format!("refs/remotes/{REMOTE}/");
    if let Ok(head) = repo.find_reference(&format!("{tracking}HEAD")) {
        if let Some(b) = head
            .symbolic_target()
            .ok()
            .flatten()
            .and_then(|t| t.strip_prefix(&tracking))
        {
            return Some(b.to_owned());
        }
    }
    let target = match transfer::origin(repo, REMOTE).ok()?? {
        Origin::Local(path) => Repository::open(path)
            .ok()?
            .find_reference("HEAD")
            .ok()?
            .symbolic_target()
            .ok()??
            .to_owned(),
        Origin::Smart(name) => {
            let mut remote = repo.find_remote(&name).ok()?;
            remote
                .connect_auth(Direction::Fetch, Some(transfer::callbacks(token)), None)
                .ok()?;
            let branch = remote.default_branch().ok()?;
            branch.as_str().ok()?.to_owned()
        }
    };
    target.strip_prefix("refs/heads/").map(str::to_owned)
}

/// The baseline commit: the branch's tip, or its merge-base with `HEAD`.
pub(super) fn resolve_commit(
    repo: &mut Repository,
    branch: &str,
    tip: bool,
    token: Option<&str>,
) -> Result<Oid, BaselineError> {
    let branch_tip = branch_tip(repo, branch, token)?;
    if tip {
        return Ok(branch_tip);
    }
    let head = head_commit(repo)?;
    if let Some(base) = merge_base(repo, head, branch_tip)? {
        return Ok(base);
    }
    if !repo.is_shallow() {
        return Err(BaselineError::MissingHistory {
            what: format!("`HEAD` and `{branch}` have no commit in common in this clone"),
        });
    }
    if transfer::origin(repo, REMOTE)?.is_none() {
        return Err(BaselineError::MissingHistory {
            what: format!(
                "this clone is shallow, so `HEAD` and `{branch}` have no commit in common in it, and there is no remote `{REMOTE}` to fetch more from"
            ),
        });
    }
    deepen(repo, branch, token)?;
    let branch_tip = branch_tip_here(repo, branch)?.unwrap_or(branch_tip);
    merge_base(repo, head, branch_tip)?.ok_or_else(|| BaselineError::MissingHistory {
        what: format!(
            "`HEAD` and `{branch}` have no commit in common, even with the whole history from `{REMOTE}`"
        ),
    })
}

fn head_commit(repo: &Repository) -> Result<Oid, BaselineError> {
    match repo.head() {
        Ok(head) => head
            .peel_to_commit()
            .map(|c| c.id())
            .doing(|| "while reading `HEAD`".to_owned()),
        Err(e) if e.code() == ErrorCode::UnbornBranch => Err(BaselineError::NoCommits),
        Err(e) => Err(e).doing(|| "while reading `HEAD`".to_owned()),
    }
}

fn merge_base(repo: &Repository, a: Oid, b: Oid) -> Result<Option<Oid>, BaselineError> {
    match repo.merge_base(a, b) {
        Ok(base) => Ok(Some(base)),
        // In a shallow clone a missing object is missing history, not a broken repository.
        Err(e) if e.code() == ErrorCode::NotFound || repo.is_shallow() => Ok(None),
        Err(e) => Err(e).doing(|| format!("while finding the merge-base of {a} and {b}")),
    }
}

/// The branch's tip from the local branch, else the remote-tracking one.
fn branch_tip_here(repo: &Repository, branch: &str) -> Result<Option<Oid>, BaselineError> {
    for name in [
        format!("refs/heads/{branch}"),
        format!("refs/remotes/{REMOTE}/{branch}"),
    ] {
        match repo.find_reference(&name) {
            Ok(r) => {
                return r
                    .peel_to_commit()
                    .map(|c| Some(c.id()))
                    .doing(|| format!("while reading `{name}`"));
            }
            Err(e) if matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => {}
            Err(e) => return Err(e).doing(|| format!("while reading `{name}`")),
        }
    }
    Ok(None)
}

/// The branch's tip; when the clone lacks the branch, fetches it from the remote (with the whole
/// history when the clone is shallow).
fn branch_tip(
    repo: &mut Repository,
    branch: &str,
    token: Option<&str>,
) -> Result<Oid, BaselineError> {
    if let Some(id) = branch_tip_here(repo, branch)? {
        return Ok(id);
    }
    if transfer::origin(repo, REMOTE)?.is_none() {
        return Err(BaselineError::BranchNotFound {
            branch: branch.to_owned(),
            reason: format!("there is no remote `{REMOTE}` to fetch it from"),
        });
    }
    let shallow = repo.is_shallow();
    let fetched = transfer::fetch(
        repo,
        REMOTE,
        &format!("refs/heads/{branch}"),
        &format!("refs/remotes/{REMOTE}/{branch}"),
        shallow,
        token,
    )
    .map_err(|e| BaselineError::BranchNotFound {
        branch: branch.to_owned(),
        reason: format!("fetching it from `{REMOTE}` failed: {e}"),
    })?;
    if !fetched {
        return Err(BaselineError::BranchNotFound {
            branch: branch.to_owned(),
            reason: format!("`{REMOTE}` has no such branch"),
        });
    }
    if shallow {
        reopen(repo)?;
    }
    branch_tip_here(repo, branch)?.ok_or_else(|| BaselineError::BranchNotFound {
        branch: branch.to_owned(),
        reason: format!(
            "fetching it from `{REMOTE}` did not create `refs/remotes/{REMOTE}/{branch}`"
        ),
    })
}

/// Fetches the branch with the whole history, turning a shallow clone into a full one.
fn deepen(repo: &mut Repository, branch: &str, token: Option<&str>) -> Result<(), BaselineError> {
    let fetched = transfer::fetch(
        repo,
        REMOTE,
        &format!("refs/heads/{branch}"),
        &format!("refs/remotes/{REMOTE}/{branch}"),
        true,
        token,
    )
    .map_err(|e| BaselineError::MissingHistory {
        what: format!(
            "this clone is shallow, and fetching the history of `{branch}` from `{REMOTE}` failed: {e}"
        ),
    })?;
    if !fetched {
        return Err(BaselineError::MissingHistory {
            what: format!(
                "this clone is shallow, and `{REMOTE}` has no branch `{branch}` to fetch history from"
            ),
        });
    }
    reopen(repo)
}

/// Opens the repository again, so libgit2 sees that it is no longer shallow.
fn reopen(repo: &mut Repository) -> Result<(), BaselineError> {
    *repo = Repository::open(repo.path())
        .doing(|| format!("while opening `{}` again", repo.path().display()))?;
    Ok(())
}
