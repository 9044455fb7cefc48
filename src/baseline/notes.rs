//! Reading, writing and merging the JSON notes under `refs/notes/mlops-ci`.

use std::collections::BTreeMap;

use git2::{ErrorCode, Oid, Repository, Signature, TreeWalkMode, TreeWalkResult};

use super::{BaselineError, Doing as _, NOTE_VERSION, NOTES_REF, Note};

/// Who notes commits are by when the repository has no `user.name`/`user.email` (as on CI).
fn signature(repo: &Repository) -> Result<Signature<'static>, BaselineError> {
    repo.signature()
        .or_else(|_| Signature::now("mlops-ci", "mlops-ci@users.noreply.github.com"))
        .doing(|| "while making the notes commit's signature".to_owned())
}

pub(super) fn write(repo: &Repository, id: Oid, note: &Note) -> Result<(), BaselineError> {
    let mut text = serde_json::to_string_pretty(note).map_err(|e| BaselineError::BadNote {
        sha: id.to_string(),
        reason: e.to_string(),
    })?;
    text.push('\n');
    let sig = signature(repo)?;
    repo.note(&sig, &sig, Some(NOTES_REF), id, &text, true)
        .doing(|| format!("while writing the note on {id}"))?;
    Ok(())
}

pub(super) fn read(repo: &Repository, id: Oid) -> Result<Option<Note>, BaselineError> {
    let note = match repo.find_note(Some(NOTES_REF), id) {
        Ok(note) => note,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(e).doing(|| format!("while reading the note on {id}")),
    };
    parse(id, note.message_bytes()).map(Some)
}

pub(super) fn parse(id: Oid, bytes: &[u8]) -> Result<Note, BaselineError> {
    let bad = |reason: String| BaselineError::BadNote {
        sha: id.to_string(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not JSON ({e})")))?;
    let version = value
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| bad("no `version`".to_owned()))?;
    if version > u64::from(NOTE_VERSION) {
        return Err(bad(format!(
            "it has version {version}, written by a newer mlops-ci; this one reads up to {NOTE_VERSION}"
        )));
    }
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}

/// Whether any note exists under `NOTES_REF`.
pub(super) fn any(repo: &Repository) -> bool {
    repo.refname_to_id(NOTES_REF)
        .ok()
        .and_then(|id| map(repo, id).ok())
        .is_some_and(|m| !m.is_empty())
}

/// Annotated commit → note blob, for a notes commit; reads fanned-out trees (`ab/cdef…`) too.
fn map(repo: &Repository, notes_commit: Oid) -> Result<BTreeMap<Oid, Oid>, git2::Error> {
    let tree = repo.find_commit(notes_commit)?.tree()?;
    let mut out = BTreeMap::new();
    tree.walk(TreeWalkMode::PreOrder, |root, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob) {
            let name = format!("{}{}", root.replace('/', ""), entry.name().unwrap_or(""));
            if let Ok(annotated) = Oid::from_str(&name) {
                if name.len() == 40 {
                    out.insert(annotated, entry.id());
                }
            }
        }
        TreeWalkResult::Ok
    })?;
    Ok(out)
}

/// Merges the notes commit `theirs` (the remote's) into the local `NOTES_REF`: a fast-forward
/// when one contains the other, else a merge commit with both as parents. Notes on different
/// commits are all kept; a note changed on one side only takes that side; a note changed on both
/// keeps the one with the later `recorded_at` (a tie, or two unreadable notes, keeps ours).
/// The local ref is updated by compare-and-swap. Returns the new local tip.
pub(super) fn merge_into_local(repo: &Repository, theirs: Oid) -> Result<Oid, BaselineError> {
    let doing = || format!("while merging the remote's notes ({theirs}) into `{NOTES_REF}`");
    let Ok(ours) = repo.refname_to_id(NOTES_REF) else {
        repo.reference(NOTES_REF, theirs, false, "mlops-ci: notes from the remote")
            .doing(doing)?;
        return Ok(theirs);
    };
    if ours == theirs || repo.graph_descendant_of(ours, theirs).doing(doing)? {
        return Ok(ours);
    }
    if repo.graph_descendant_of(theirs, ours).doing(doing)? {
        repo.reference_matching(
            NOTES_REF,
            theirs,
            true,
            ours,
            "mlops-ci: notes from the remote",
        )
        .doing(doing)?;
        return Ok(theirs);
    }
    let base = match repo.merge_base(ours, theirs) {
        Ok(base) => map(repo, base).doing(doing)?,
        Err(e) if e.code() == ErrorCode::NotFound => BTreeMap::new(),
        Err(e) => return Err(e).doing(doing),
    };
    let mine = map(repo, ours).doing(doing)?;
    let mut merged = map(repo, theirs).doing(doing)?;
    let keys: Vec<Oid> = mine.keys().chain(base.keys()).copied().collect();
    for key in keys {
        let (b, o) = (base.get(&key).copied(), mine.get(&key).copied());
        if o == b {
            continue; // we did not change it: theirs stands
        }
        let t = merged.get(&key).copied();
        let take_ours = match (o, t) {
            _ if t == b => true, // only we changed it
            (Some(o), Some(t)) => !newer(repo, key, t, o),
            // one side removed it, the other changed it: keep the note
            (Some(_), None) => true,
            (None, _) => false,
        };
        if take_ours {
            match o {
                Some(o) => merged.insert(key, o),
                None => merged.remove(&key),
            };
        }
    }
    let mut builder = repo.treebuilder(None).doing(doing)?;
    for (annotated, blob) in &merged {
        builder
            .insert(annotated.to_string(), *blob, 0o100_644)
            .doing(doing)?;
    }
    let tree = builder
        .write()
        .and_then(|id| repo.find_tree(id))
        .doing(doing)?;
    let sig = signature(repo)?;
    let parents = [
        repo.find_commit(ours).doing(doing)?,
        repo.find_commit(theirs).doing(doing)?,
    ];
    let commit = repo
        .commit(
            None,
            &sig,
            &sig,
            "Notes merged by mlops-ci",
            &tree,
            &[&parents[0], &parents[1]],
        )
        .doing(doing)?;
    repo.reference_matching(
        NOTES_REF,
        commit,
        true,
        ours,
        "mlops-ci: merged the remote's notes",
    )
    .doing(doing)?;
    Ok(commit)
}

/// Whether note blob `a` was recorded strictly later than note blob `b`.
fn newer(repo: &Repository, annotated: Oid, a: Oid, b: Oid) -> bool {
    let when = |blob: Oid| {
        let blob = repo.find_blob(blob).ok()?;
        let note = parse(annotated, blob.content()).ok()?;
        instant(&note.recorded_at)
    };
    match (when(a), when(b)) {
        (Some(a), Some(b)) => a > b,
        (Some(_), None) => true,
        _ => false,
    }
}

/// An RFC 3339 timestamp as (seconds since the epoch, nanoseconds), for ordering notes.
pub(super) fn instant(text: &str) -> Option<(i64, u32)> {
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let (year, month, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let hms = rest.get(..8)?;
    let mut t = hms.splitn(3, ':');
    let (hour, minute, second) = (num(t.next()?)?, num(t.next()?)?, num(t.next()?)?);
    let mut rest = &rest[8..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let padded = format!("{:0<9}", &frac[..digits.min(9)]);
        nanos = padded.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = rest[1..].split_once(':')?;
            sign * (num(h)? * 3600 + num(m)? * 60)
        }
    };
    // Howard Hinnant's days-from-civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
        nanos,
    ))
}

#[cfg(test)]
mod tests {
    use super::instant;

    #[test]
    fn instants_order_rfc3339_timestamps() {
        assert_eq!(instant("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(instant("2026-11-26T05:27:12Z"), Some((1_795_670_832, 0)));
        assert_eq!(
            instant("2026-11-26T06:27:12.5+01:00"),
            Some((1_795_670_832, 500_000_000))
        );
        assert!(instant("2026-11-26T05:27:12.25Z") > instant("2026-11-26T05:27:12Z"));
        assert!(instant("2024-02-29T00:00:00Z") > instant("2024-02-28T23:59:59Z"));
        assert_eq!(instant("yesterday"), None);
        assert_eq!(instant("2026-11-26T05:27:12"), None);
    }
}
