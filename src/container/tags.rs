//! The image tags of a run, as pure functions: by event (pull request, branch, release tag,
//! local check), semantic versions from `v1.2.0` or `model@v1.2.0` tags, and the rule that
//! floating tags (`1.2`, `1`, `latest`) move only to the highest stable version of their line.
//! `release` reuses [`version_tags`] and [`highest_stable`].

use std::cmp::Ordering;
use std::fmt;

/// A semantic version as a release tag carries it (`1.2.0`, `2.0.0-rc.1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// The pre-release part after `-`, empty for a stable version.
    pub pre: String,
    /// Build metadata after `+`, ignored when comparing.
    pub build: String,
}

impl Version {
    /// Parses `1.2.3`, `1.2.3-rc.1`, `1.2.3+build` (no leading `v`).
    pub fn parse(text: &str) -> Option<Self> {
        let (rest, build) = text.split_once('+').unwrap_or((text, ""));
        let (core, pre) = rest.split_once('-').unwrap_or((rest, ""));
        let mut parts = core.split('.');
        let mut number = || -> Option<u64> {
            let p = parts.next()?;
            if p.is_empty() || (p.len() > 1 && p.starts_with('0')) {
                return None;
            }
            p.parse().ok()
        };
        let (major, minor, patch) = (number()?, number()?, number()?);
        if parts.next().is_some() {
            return None;
        }
        let ident_ok = |s: &str| {
            s.split('.').all(|id| {
                !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
        };
        if (!pre.is_empty() && !ident_ok(pre))
            || (!build.is_empty() && !ident_ok(build))
            || (rest.contains('-') && pre.is_empty())
        {
            return None;
        }
        Some(Self {
            major,
            minor,
            patch,
            pre: pre.to_owned(),
            build: build.to_owned(),
        })
    }

    pub fn is_stable(&self) -> bool {
        self.pre.is_empty()
    }

    fn core(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

/// The version a release tag names: `v1.2.0`, or `model@v1.2.0` (GTO) when `model` is that
/// model (any model when `model` is `None`). `None` for any other tag.
pub fn release_version(tag: &str, model: Option<&str>) -> Option<Version> {
    let version = match tag.split_once('@') {
        Some((name, v)) => {
            if model.is_some_and(|m| m != name) {
                return None;
            }
            v
        }
        None => tag,
    };
    Version::parse(version.strip_prefix('v')?)
}

/// The release tags of one line: those of the same form as `tag` (`v…` alone, or the same
/// `model@v…`), so one model's releases never move another's `latest`.
fn same_line<'a>(tag: &str, tags: &'a [String]) -> impl Iterator<Item = Version> + 'a {
    let prefix = tag.split_once('@').map(|(m, _)| m.to_owned());
    tags.iter()
        .filter_map(move |t| match (&prefix, t.split_once('@')) {
            (Some(p), Some((m, _))) if m == p => release_version(t, Some(p)),
            (None, None) => release_version(t, None),
            _ => None,
        })
}

/// The highest stable version among `tags` (git tag names) of the same form as `tag`.
pub fn highest_stable(tag: &str, tags: &[String]) -> Option<Version> {
    same_line(tag, tags)
        .filter(Version::is_stable)
        .max_by(|a, b| a.core().cmp(&b.core()))
}

/// The image tags of release `version`, given every release tag of the repository (`tags`,
/// which should include `tag` itself): `1.2.0`; `1.2` when no higher stable `1.2.x` exists;
/// `1` (not for `0.x`) when no higher stable `1.x` exists; `latest` when it is the highest stable
/// version of all. A pre-release gets its full version only.
pub fn version_tags(tag: &str, version: &Version, tags: &[String]) -> Vec<String> {
    let full = sanitize(&version.to_string());
    if !version.is_stable() {
        return vec![full];
    }
    let others: Vec<Version> = same_line(tag, tags).filter(Version::is_stable).collect();
    let beaten = |same: &dyn Fn(&Version) -> bool| {
        others
            .iter()
            .any(|o| same(o) && o.core().cmp(&version.core()) == Ordering::Greater)
    };
    let mut out = vec![full];
    if !beaten(&|o| o.major == version.major && o.minor == version.minor) {
        out.push(format!("{}.{}", version.major, version.minor));
    }
    if version.major > 0 && !beaten(&|o| o.major == version.major) {
        out.push(version.major.to_string());
    }
    if !beaten(&|_| true) {
        out.push("latest".to_owned());
    }
    out
}

/// What a run's tags depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagEvent {
    PullRequest {
        number: u64,
    },
    /// A push to a branch; `baseline` when it is the baseline branch.
    Branch {
        name: String,
        baseline: bool,
    },
    /// A pushed git tag and every release tag of the repository.
    Release {
        tag: String,
        all: Vec<String>,
    },
    /// `mlops-ci check`: never pushed.
    Local {
        dirty: bool,
    },
}

/// The tags of a run and the version its image says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags {
    pub tags: Vec<String>,
    /// For `org.opencontainers.image.version`: the first tag, or the release's version.
    pub version: String,
}

/// Tags for `event` at commit `sha`: `pr-N`; the baseline branch's name and `sha-<7>`;
/// another branch's sanitized name; a release's version tags; `local-<7>[-dirty]`.
pub fn tags_for(event: &TagEvent, sha: &str) -> Result<Tags, String> {
    let short = &sha[..sha.len().min(7)];
    let tags = match event {
        TagEvent::PullRequest { number } => vec![format!("pr-{number}")],
        TagEvent::Branch { name, baseline } => {
            let mut t = vec![sanitize(name)];
            if *baseline {
                t.push(format!("sha-{short}"));
            }
            t
        }
        TagEvent::Release { tag, all } => {
            let version = release_version(tag, None).ok_or_else(|| {
                format!("tag `{tag}` is not a release tag: use `v1.2.0` or `model@v1.2.0`")
            })?;
            let tags = version_tags(tag, &version, all);
            return Ok(Tags {
                tags,
                version: version.to_string(),
            });
        }
        TagEvent::Local { dirty } => {
            vec![format!(
                "local-{short}{}",
                if *dirty { "-dirty" } else { "" }
            )]
        }
    };
    let version = tags[0].clone();
    Ok(Tags { tags, version })
}

/// A valid tag from any text: runs of characters outside `[A-Za-z0-9_.-]` become `-`, no
/// leading `.` or `-`, at most 128 characters.
pub fn sanitize(text: &str) -> String {
    let mut out = String::new();
    let mut replaced = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || "_.-".contains(c) {
            out.push(c);
            replaced = false;
        } else if !replaced {
            out.push('-');
            replaced = true;
        }
    }
    let trimmed = out.trim_start_matches(['.', '-']);
    let mut tag: String = trimmed.chars().take(128).collect();
    if tag.is_empty() {
        tag.push_str("untagged");
    }
    tag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn release(tag: &str, all: &[&str]) -> Vec<String> {
        tags_for(
            &TagEvent::Release {
                tag: tag.to_owned(),
                all: strings(all),
            },
            "abcdef0123",
        )
        .unwrap()
        .tags
    }

    #[test]
    fn versions_parse_as_semver() {
        let v = Version::parse("1.2.3-rc.1+b5").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 2, 3));
        assert_eq!(v.pre, "rc.1");
        assert_eq!(v.to_string(), "1.2.3-rc.1+b5");
        for bad in [
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "1.2.x",
            "1.2.3-",
            "1.2.3-a..b",
            "",
        ] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            release_version("iris@v1.2.0", Some("iris"))
                .unwrap()
                .to_string(),
            "1.2.0"
        );
        assert!(release_version("iris@v1.2.0", Some("other")).is_none());
        assert!(release_version("1.2.0", None).is_none());
        assert!(release_version("iris#prod#3", None).is_none());
    }

    #[test]
    fn events_give_their_tags() {
        let t = |e: TagEvent| tags_for(&e, "0123456789abcdef").unwrap().tags;
        assert_eq!(t(TagEvent::PullRequest { number: 42 }), ["pr-42"]);
        assert_eq!(
            t(TagEvent::Branch {
                name: "main".into(),
                baseline: true
            }),
            ["main", "sha-0123456"]
        );
        assert_eq!(
            t(TagEvent::Branch {
                name: "feature/New Model".into(),
                baseline: false
            }),
            ["feature-New-Model"]
        );
        assert_eq!(t(TagEvent::Local { dirty: false }), ["local-0123456"]);
        assert_eq!(t(TagEvent::Local { dirty: true }), ["local-0123456-dirty"]);
    }

    #[test]
    fn a_first_release_takes_every_floating_tag() {
        assert_eq!(
            release("v1.2.0", &["v1.2.0"]),
            ["1.2.0", "1.2", "1", "latest"]
        );
        assert_eq!(
            release("iris@v1.2.0", &["iris@v1.2.0"]),
            ["1.2.0", "1.2", "1", "latest"]
        );
    }

    #[test]
    fn zero_major_gets_no_major_tag() {
        assert_eq!(release("v0.3.1", &["v0.3.1"]), ["0.3.1", "0.3", "latest"]);
    }

    #[test]
    fn a_hotfix_of_an_older_line_never_moves_latest() {
        let all = ["v1.1.4", "v1.2.0", "v1.1.5"];
        assert_eq!(release("v1.1.5", &all), ["1.1.5", "1.1"]);
        let all = ["v1.2.0", "v2.0.0", "v1.3.0"];
        assert_eq!(release("v1.3.0", &all), ["1.3.0", "1.3", "1"]);
    }

    #[test]
    fn pre_releases_get_their_full_version_and_never_beat_stable() {
        assert_eq!(
            release("v2.0.0-rc.1", &["v1.2.0", "v2.0.0-rc.1"]),
            ["2.0.0-rc.1"]
        );
        assert_eq!(
            release("v1.2.1", &["v1.2.1", "v3.0.0-beta.1"]),
            ["1.2.1", "1.2", "1", "latest"]
        );
    }

    #[test]
    fn other_models_do_not_count() {
        let all = ["iris@v1.0.0", "churn@v5.0.0", "v9.0.0"];
        assert_eq!(
            release("iris@v1.0.0", &all),
            ["1.0.0", "1.0", "1", "latest"]
        );
        assert_eq!(
            highest_stable("iris@v1.0.0", &strings(&all))
                .unwrap()
                .to_string(),
            "1.0.0"
        );
        assert_eq!(
            highest_stable("v1.0.0", &strings(&all))
                .unwrap()
                .to_string(),
            "9.0.0"
        );
    }

    #[test]
    fn non_release_tags_are_refused() {
        let err = tags_for(
            &TagEvent::Release {
                tag: "nightly".into(),
                all: vec![],
            },
            "abc",
        )
        .unwrap_err();
        assert!(err.contains("not a release tag"), "{err}");
    }

    #[test]
    fn sanitizing() {
        assert_eq!(sanitize("releases/v1"), "releases-v1");
        assert_eq!(sanitize("-.x"), "x");
        assert_eq!(sanitize("a//b"), "a-b");
        assert_eq!(sanitize(&"x".repeat(200)).len(), 128);
        assert_eq!(sanitize("///"), "untagged");
    }
}
