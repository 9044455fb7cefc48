//! Stage order from `needs`: a stable topological sort that keeps the file's order among
//! stages that are ready together.

use indexmap::IndexMap;

use crate::config::model::Stage;

/// Stage names in run order. The config was validated, so every need names a stage and there
/// is no cycle; a stage caught in one anyway is placed last rather than lost.
pub fn order(stages: &IndexMap<String, Stage>) -> Vec<&str> {
    let names: Vec<&str> = stages.keys().map(String::as_str).collect();
    let mut done = vec![false; names.len()];
    let mut out = Vec::with_capacity(names.len());
    while out.len() < names.len() {
        let ready = (0..names.len()).find(|&i| {
            !done[i]
                && stages[i]
                    .needs
                    .iter()
                    .all(|n| names.iter().position(|m| m == n).is_none_or(|j| done[j]))
        });
        let next = ready.unwrap_or_else(|| (0..names.len()).find(|&i| !done[i]).unwrap_or(0));
        done[next] = true;
        out.push(names[next]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(spec: &[(&str, &[&str])]) -> IndexMap<String, Stage> {
        spec.iter()
            .map(|(name, needs)| {
                let stage = Stage {
                    needs: needs.iter().map(|s| (*s).to_owned()).collect(),
                    ..Stage::default()
                };
                ((*name).to_owned(), stage)
            })
            .collect()
    }

    #[test]
    fn keeps_file_order_among_ready_stages() {
        let s = stages(&[
            ("package", &["evaluate"]),
            ("lint", &[]),
            ("evaluate", &["train"]),
            ("train", &[]),
        ]);
        assert_eq!(order(&s), ["lint", "train", "evaluate", "package"]);
    }

    #[test]
    fn independent_stages_stay_in_file_order() {
        let s = stages(&[("b", &[]), ("a", &[]), ("c", &["a", "b"])]);
        assert_eq!(order(&s), ["b", "a", "c"]);
    }
}
