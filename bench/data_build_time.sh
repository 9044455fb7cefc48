#!/usr/bin/env bash
# What the data crates add to a clean release build: two scratch crates with the
# `[dependencies]` of Cargo.toml, one without the data crates, each built from clean with
# `cargo build --release` one after the other (run it on an idle machine).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
DATA='regex|regex-automata|glob|parquet|ahash|foldhash|memchr|bytecount|flate2|safe_arch'
deps="$(sed -n '/^\[dependencies\]/,/^\[dev-dependencies\]/p' "$ROOT/Cargo.toml" |
    grep -v -E '^\[|^#|^$')"
make_crate() { # name, dependencies
    mkdir -p "$WORK/$1/src"
    echo 'fn main() {}' >"$WORK/$1/src/main.rs"
    printf '[package]\nname = "build-%s"\nversion = "0.1.0"\nedition = "2024"\n\n[dependencies]\n%s\n' \
        "$1" "$2" >"$WORK/$1/Cargo.toml"
    cp "$ROOT/Cargo.lock" "$WORK/$1/"
}
make_crate with "$deps"
make_crate without "$(echo "$deps" | grep -v -E "^($DATA) ")"
declare -A took
for name in without with; do
    (cd "$WORK/$name" && cargo fetch --quiet)
    start=$(date +%s.%N)
    (cd "$WORK/$name" && CARGO_TARGET_DIR="$WORK/target-$name" cargo build --release --quiet)
    took[$name]=$(echo "$(date +%s.%N) - $start" | bc)
    printf '%-8s %6.1f s\n' "$name" "${took[$name]}"
done
printf 'the data crates add %.1f s (goal: at most 120 s)\n' "$(echo "${took[with]} - ${took[without]}" | bc)"
