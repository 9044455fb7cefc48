//! YAML hazards: bombs, huge files, bad bytes. Each is refused with a pointed error, never a
//! panic; `scripts/bench-config-hazards` measures how fast and how small.

use std::fmt::Write as _;

use crate::common::{code, config_dir, run, stderr};
use mlops_ci::config::load_bytes;

fn refused(bytes: &[u8]) -> String {
    let err = load_bytes("mlops.yaml", bytes).expect_err("must be refused");
    err.render(false)
}

pub fn billion_laughs() -> String {
    let mut text =
        String::from("version: 1\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        let _ = writeln!(text, "a{i}: &a{i} [{refs}]");
    }
    text.push_str("stages: {}\n");
    text
}

#[test]
fn alias_bomb_is_refused() {
    let err = refused(billion_laughs().as_bytes());
    assert!(err.contains("expands to more than 100000 values"), "{err}");
    assert!(err.contains("mlops.yaml:"), "{err}");
}

#[test]
fn deep_nesting_is_refused() {
    let text = format!(
        "version: 1\nstages: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let err = refused(text.as_bytes());
    assert!(
        err.contains("nest") || err.contains("not valid YAML"),
        "{err}"
    );
}

#[test]
fn a_file_over_one_mebibyte_is_refused_before_parsing() {
    let mut text = b"version: 1\nstages: {}\n#".to_vec();
    text.resize(2 * 1024 * 1024, b'x');
    let dir = config_dir(&text);
    let out = run(dir.path(), &["lint"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("may be at most 1048576 bytes"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn invalid_utf8_points_at_the_byte() {
    let err = refused(b"version: 1\nname: caf\xe9\n");
    assert!(err.contains("not valid UTF-8"), "{err}");
    assert!(err.contains("mlops.yaml:2:10"), "{err}");
}

#[test]
fn byte_order_mark_and_crlf_are_fine() {
    let config = load_bytes(
        "mlops.yaml",
        b"\xEF\xBB\xBFversion: 1\r\nstages:\r\n  a:\r\n    steps: [{run: echo}]\r\n",
    )
    .expect("valid");
    assert_eq!(config.stages.len(), 1);
}

#[test]
fn custom_tags_and_merge_keys_are_refused() {
    assert!(refused(b"version: 1\nname: !!python/object x\nstages: {}\n").contains("tag"));
    let merge = b"version: 1\nbase: &b {run: echo}\nstages:\n  a:\n    steps:\n      - <<: *b\n";
    assert!(refused(merge).contains("merge keys"));
}

#[test]
fn empty_and_non_mapping_files_are_refused() {
    assert!(refused(b"").contains("is empty"));
    assert!(refused(b"# nothing\n").contains("is empty"));
    assert!(refused(b"- a\n- b\n").contains("must be a mapping"));
}

#[test]
fn nul_control_bytes_and_broken_aliases_are_refused_with_a_location() {
    for bytes in [
        &b"version: 1\x00\n"[..],
        b"\x01\x02\x03",
        b"version: [\n",
        b"{{{{",
        b"&a *a",
        b"a: *b",
    ] {
        let err = load_bytes("mlops.yaml", bytes).expect_err("an invalid config is refused");
        let text = err.render(false);
        assert!(text.starts_with("error: "), "{text}");
        assert!(!err.diagnostics.is_empty());
    }
}
