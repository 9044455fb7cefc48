#![no_main]
use libfuzzer_sys::fuzz_target;
fuzz_target!(|data: &[u8]| {
    // Whatever the bytes, loading must return Ok or Err and never panic.
    let _ = mlops_ci::config::load_bytes("fuzz.yaml", data);
});
