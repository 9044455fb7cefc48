//! Registry credentials: `MLOPS_REGISTRY_USER`/`MLOPS_REGISTRY_PASSWORD`, then the `auths` of
//! Docker's `config.json` (`DOCKER_CONFIG` or `~/.docker`), then `GITHUB_TOKEN` for `ghcr.io`.
//! Values never print: `Debug` shows the user and where they came from only.

use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A user and password for one registry, and where they were found (for messages).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub registry: String,
    pub username: String,
    pub password: String,
    pub source: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Credentials for `registry`, read through `var` (the environment); `None` when there are none.
pub fn find(
    registry: &str,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, String> {
    let make = |username: String, password: String, source: &str| Credentials {
        registry: registry.to_owned(),
        username,
        password,
        source: source.to_owned(),
    };
    let non_empty = |name: &str| var(name).filter(|v| !v.is_empty());
    match (
        non_empty("MLOPS_REGISTRY_USER"),
        non_empty("MLOPS_REGISTRY_PASSWORD"),
    ) {
        (Some(u), Some(p)) => {
            return Ok(Some(make(
                u,
                p,
                "`MLOPS_REGISTRY_USER` and `MLOPS_REGISTRY_PASSWORD`",
            )));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(
                "set both `MLOPS_REGISTRY_USER` and `MLOPS_REGISTRY_PASSWORD`, or neither"
                    .to_owned(),
            );
        }
        (None, None) => {}
    }
    if let Some(found) = from_config(registry, var)? {
        return Ok(Some(found));
    }
    if registry == "ghcr.io" {
        if let Some(token) = non_empty("GITHUB_TOKEN") {
            let user = non_empty("GITHUB_ACTOR").unwrap_or_else(|| "x-access-token".to_owned());
            return Ok(Some(make(user, token, "`GITHUB_TOKEN`")));
        }
    }
    Ok(None)
}

fn config_path(var: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(dir) = var("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    var("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// The `auths` entry for `registry` in Docker's `config.json`: `auth` (base64 `user:password`)
/// or `username` and `password`.
fn from_config(
    registry: &str,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, String> {
    let Some(path) = config_path(var) else {
        return Ok(None);
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let shown = path.display();
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("`{shown}` is not valid JSON: {e}"))?;
    let Some(auths) = json.get("auths").and_then(|a| a.as_object()) else {
        return Ok(None);
    };
    let hub = [
        "https://index.docker.io/v1/",
        "index.docker.io",
        "docker.io",
    ];
    let entry = auths.iter().find(|(key, _)| {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default();
        host == registry || (registry == "docker.io" && hub.contains(&key.as_str()))
    });
    let Some((key, entry)) = entry else {
        return Ok(None);
    };
    let source = format!("`auths.{key}` in `{shown}`");
    let text_of = |k: &str| entry.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    if !text_of("auth").is_empty() {
        let decoded = STANDARD
            .decode(text_of("auth").trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| format!("{source}: `auth` is not base64 of `user:password`"))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| format!("{source}: `auth` is not base64 of `user:password`"))?;
        return Ok(Some(Credentials {
            registry: registry.to_owned(),
            username: user.to_owned(),
            password: password.to_owned(),
            source,
        }));
    }
    if !text_of("username").is_empty() {
        return Ok(Some(Credentials {
            registry: registry.to_owned(),
            username: text_of("username").to_owned(),
            password: text_of("password").to_owned(),
            source,
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn explicit_variables_win() {
        let var = env(vec![
            ("MLOPS_REGISTRY_USER", "u".into()),
            ("MLOPS_REGISTRY_PASSWORD", "p".into()),
            ("GITHUB_TOKEN", "t".into()),
        ]);
        let c = find("ghcr.io", &var).unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p"));
        assert!(!format!("{c:?}").contains("\"p\""));
        let half = env(vec![("MLOPS_REGISTRY_USER", "u".into())]);
        assert!(find("ghcr.io", &half).unwrap_err().contains("both"));
    }

    #[test]
    fn docker_config_auths_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let auth = STANDARD.encode("ada:pa?ss>>word");
        std::fs::write(
            dir.path().join("config.json"),
            format!(
                r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{auth}"}}, "https://index.docker.io/v1/": {{"username": "hub", "password": "x"}}}}}}"#
            ),
        )
        .unwrap();
        let var = env(vec![("DOCKER_CONFIG", dir.path().display().to_string())]);
        let c = find("127.0.0.1:5000", &var).unwrap().unwrap();
        assert_eq!(c.username, "ada");
        assert_eq!(c.password, "pa?ss>>word");
        assert!(c.source.contains("auths.127.0.0.1:5000"));
        assert_eq!(find("docker.io", &var).unwrap().unwrap().username, "hub");
        assert!(find("quay.io", &var).unwrap().is_none());
    }

    #[test]
    fn github_token_only_for_ghcr() {
        let var = env(vec![
            ("GITHUB_TOKEN", "ghs_x".into()),
            ("GITHUB_ACTOR", "ada".into()),
            ("HOME", "/nonexistent".into()),
        ]);
        assert_eq!(find("ghcr.io", &var).unwrap().unwrap().username, "ada");
        assert!(find("quay.io", &var).unwrap().is_none());
    }
}
