//! The params diff: changed keys, old → new, and a unified diff of a params file that changed
//! as text.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::Flat;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamChange {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Json>,
}

/// Keys whose value differs (added and removed keys included), in the new file's order.
pub fn params_diff(old: &Flat, new: &Flat) -> Vec<ParamChange> {
    let mut out: Vec<ParamChange> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| ParamChange {
            key: k.clone(),
            old: old.get(k).cloned(),
            new: Some(v.clone()),
        })
        .collect();
    out.extend(
        old.iter()
            .filter(|(k, _)| !new.contains_key(*k))
            .map(|(k, v)| ParamChange {
                key: k.clone(),
                old: Some(v.clone()),
                new: None,
            }),
    );
    out
}

/// A unified diff of two texts, `None` when they are the same.
pub fn text_diff(path: &str, old: &str, new: &str) -> Option<String> {
    if old == new {
        return None;
    }
    let diff = similar::TextDiff::from_lines(old, new);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changed_added_and_removed_keys() {
        let old: Flat = [
            ("lr".to_owned(), json!(0.1)),
            ("epochs".to_owned(), json!(10)),
            ("gone".to_owned(), json!(1)),
        ]
        .into_iter()
        .collect();
        let new: Flat = [
            ("lr".to_owned(), json!(0.01)),
            ("epochs".to_owned(), json!(10)),
            ("seed".to_owned(), json!(42)),
        ]
        .into_iter()
        .collect();
        let d = params_diff(&old, &new);
        let keys: Vec<&str> = d.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["lr", "seed", "gone"]);
        assert_eq!(d[0].old, Some(json!(0.1)));
        assert_eq!(d[1].old, None);
        assert_eq!(d[2].new, None);
    }

    #[test]
    fn unified_diff_of_changed_text() {
        let d = text_diff(
            "params.yaml",
            "lr: 0.1\nepochs: 10\n",
            "lr: 0.01\nepochs: 10\n",
        )
        .unwrap();
        assert!(d.contains("--- a/params.yaml"), "{d}");
        assert!(d.contains("-lr: 0.1\n+lr: 0.01"), "{d}");
        assert_eq!(text_diff("p", "same", "same"), None);
    }
}
