#!/usr/bin/env bash
# Benchmarks `mlops-ci lint` on hostile YAML against the bundled example, in the same run.
#
# Cases (each linted RUNS times; files live in a temp dir removed on exit):
#   bomb     billion laughs: a0 = 10 scalars, a1..a8 = 10 aliases of the previous (10^9 leaves)
#   deep     `stages:` followed by 10,000 nested flow sequences
#   big      a 2 MiB file (over the 1 MiB limit)
#   sparse   a 1 GiB sparse file (`truncate -s 1G`)
#   normal   examples/iris/mlops.yaml, the peer every hazard is compared with
# The hazards must be refused with exit code 2 and the example accepted with 0.
#
# Prints, per case: exit code, median wall time in ms, max peak RSS in MiB, and the ratio of its
# median time to the normal file's. If PyYAML is importable, also times `yaml.safe_load` on the
# same bomb (bounded by `timeout 20`) as an outside peer.
#
# Wall time comes from bash's EPOCHREALTIME (microseconds; GNU time's %e has 10 ms resolution),
# peak RSS from GNU time's %M. Needs bash >= 5, GNU time (Debian package `time`), cargo.
#
# Environment:
#   RUNS=N     runs per case (default 5)
#   PYTHON=P   interpreter for the PyYAML peer (default: the real binary behind `python3`, so a
#              pyenv shim's own start-up is not counted)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-5}"
PYTHON="${PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)}"
TIME=/usr/bin/time

if [[ ! -x "$TIME" ]]; then
    echo "error: \`$TIME\` not found; install Debian's \`time\` package (apt-get install time)" >&2
    exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "==> cargo build --release --locked" >&2
(cd "$ROOT" && cargo build --release --locked --quiet)
BIN="$ROOT/target/release/mlops-ci"

# --- generate the inputs ------------------------------------------------------------------------

make_bomb() {
    local i j out="$1"
    {
        echo "version: 1"
        printf 'a0: &a0 [lol'
        for ((j = 1; j < 10; j++)); do printf ', lol'; done
        echo "]"
        for ((i = 1; i <= 8; i++)); do
            printf 'a%d: &a%d [*a%d' "$i" "$i" "$((i - 1))"
            for ((j = 1; j < 10; j++)); do printf ', *a%d' "$((i - 1))"; done
            echo "]"
        done
        echo "stages: {}"
    } >"$out"
}

make_deep() {
    local depth=10000 out="$1" open close
    open="$(printf '%*s' "$depth" '')"
    close="${open// /]}"
    open="${open// /[}"
    printf 'version: 1\nstages: %s%s\n' "$open" "$close" >"$out"
}

make_big() {
    local out="$1" line
    line="# $(printf '%*s' 77 '' | tr ' ' 'x')"
    {
        echo "version: 1"
        echo "stages: {}"
        # 80-byte comment lines until the file passes 2 MiB.
        awk -v l="$line" -v n=$((2 * 1024 * 1024 / 80 + 1)) 'BEGIN { for (i = 0; i < n; i++) print l }'
    } >"$out"
}

make_bomb "$TMP/bomb.yaml"
make_deep "$TMP/deep.yaml"
make_big "$TMP/big.yaml"
truncate -s 1G "$TMP/sparse.yaml"
cp "$ROOT/examples/iris/mlops.yaml" "$TMP/normal.yaml"

# --- measure ------------------------------------------------------------------------------------

# measure NAME CMD...: runs CMD RUNS times; sets MEDIAN_MS, MAX_RSS_MIB and EXIT (of the last run;
# EXIT is "mixed" if runs disagree).
measure() {
    local name="$1" i start end rc rss ms times=() max_kib=0 first_rc=""
    shift
    EXIT=""
    for ((i = 0; i < RUNS; i++)); do
        start="${EPOCHREALTIME/[.,]/}"
        rc=0
        "$TIME" -f '%M' -o "$TMP/$name.time" "$@" >/dev/null 2>"$TMP/$name.stderr" || rc=$?
        end="${EPOCHREALTIME/[.,]/}"
        ms="$(((end - start) / 1000)).$(printf '%03d' $(((end - start) % 1000)))"
        times+=("$ms")
        # GNU time appends "Command exited with non-zero status N" before the format line.
        rss="$(tail -n 1 "$TMP/$name.time")"
        [[ "$rss" =~ ^[0-9]+$ ]] || rss=0
        ((rss > max_kib)) && max_kib="$rss"
        [[ -z "$first_rc" ]] && first_rc="$rc"
        if [[ "$rc" != "$first_rc" ]]; then EXIT="mixed"; fi
    done
    [[ -z "$EXIT" ]] && EXIT="$first_rc"
    MEDIAN_MS="$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p")"
    MAX_RSS_MIB="$(awk -v k="$max_kib" 'BEGIN { printf "%.1f", k / 1024 }')"
}

declare -A MS RSS RC
for name in normal bomb deep big sparse; do
    echo "==> lint $name ($RUNS runs)" >&2
    measure "$name" "$BIN" lint -c "$TMP/$name.yaml"
    MS[$name]="$MEDIAN_MS"
    RSS[$name]="$MAX_RSS_MIB"
    RC[$name]="$EXIT"
done

# --- report -------------------------------------------------------------------------------------

status=0
printf '\n%-8s %-34s %5s %4s %10s %9s %10s\n' case file exit want "median ms" "max MiB" "vs normal"
for name in bomb deep big sparse normal; do
    want=2
    [[ "$name" == normal ]] && want=0
    ok=""
    if [[ "${RC[$name]}" != "$want" ]]; then
        ok="  UNEXPECTED EXIT"
        status=1
    fi
    ratio="$(awk -v a="${MS[$name]}" -v b="${MS[normal]}" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')"
    case "$name" in
    bomb) what="billion laughs (10^9 leaves)" ;;
    deep) what="10,000-deep [[[...]]]" ;;
    big) what="2 MiB of comments" ;;
    sparse) what="1 GiB sparse" ;;
    normal) what="examples/iris/mlops.yaml" ;;
    esac
    printf '%-8s %-34s %5s %4s %10s %9s %10s%s\n' \
        "$name" "$what" "${RC[$name]}" "$want" "${MS[$name]}" "${RSS[$name]}" "$ratio" "$ok"
done
for name in bomb deep big sparse; do
    printf 'ratio: %s takes %s the time of linting the normal file\n' "$name" \
        "$(awk -v a="${MS[$name]}" -v b="${MS[normal]}" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')"
done

# --- outside peer: PyYAML -----------------------------------------------------------------------

if "$PYTHON" -c 'import yaml' >/dev/null 2>&1; then
    echo "==> PyYAML safe_load ($RUNS runs)" >&2
    load='import sys, yaml; yaml.safe_load(open(sys.argv[1], encoding="utf-8"))'
    measure py_bomb timeout 20 "$PYTHON" -c "$load" "$TMP/bomb.yaml"
    py_bomb=("$MEDIAN_MS" "$MAX_RSS_MIB" "$EXIT")
    measure py_normal timeout 20 "$PYTHON" -c "$load" "$TMP/normal.yaml"
    py_normal=("$MEDIAN_MS" "$MAX_RSS_MIB" "$EXIT")
    printf '\npeer: PyYAML %s yaml.safe_load (interpreter start included; exit 124 = killed at 20 s)\n' \
        "$("$PYTHON" -c 'import yaml; print(yaml.__version__)')"
    printf '%-8s %-34s %5s %10s %9s\n' case file exit "median ms" "max MiB"
    printf '%-8s %-34s %5s %10s %9s\n' bomb "billion laughs (10^9 leaves)" "${py_bomb[2]}" "${py_bomb[0]}" "${py_bomb[1]}"
    printf '%-8s %-34s %5s %10s %9s\n' normal "examples/iris/mlops.yaml" "${py_normal[2]}" "${py_normal[0]}" "${py_normal[1]}"
    printf 'ratio: mlops-ci lint on the bomb takes %s the time of PyYAML safe_load on it\n' \
        "$(awk -v a="${MS[bomb]}" -v b="${py_bomb[0]}" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')"
else
    echo "peer: PyYAML not importable by \`$PYTHON\`; skipped (pip install pyyaml)"
fi

exit "$status"
