#!/usr/bin/env bash
# Benchmarks what `mlops-ci check` adds per `run:` step, against plain bash running the same
# scripts in the same run.
#
# Cases (each a temp dir holding `mlops.yaml`: one stage of STEPS steps, `shell: bash`):
#   true    every step is `run: "true"`
#   work    every step is `echo x > /dev/null; printf '%s\n' a b c | wc -l > /dev/null`
#   *@tmpfs the same two with the workspace and TMPDIR on /dev/shm (skipped if there is none):
#           the difference to the on-disk rows is what the files mlops-ci creates per step
#           cost on this machine's filesystem
#
# Method, per case and per round (RUNS rounds; the three measurements are interleaved within a
# round so that load from other work on the machine hits all of them alike):
#   mlops-ci  T_N = `mlops-ci check -q` on the STEPS-step pipeline, T_1 = the same on a 1-step
#             pipeline (start-up, config load, run record, reaping); per step = (T_N - T_1)/(N - 1).
#             `.mlops/` is removed between runs, outside the timed region.
#   bash      the same STEPS scripts, written to files beforehand, each run as
#             `bash --noprofile --norc -eo pipefail script.sh` (what `shell: bash` runs) from a
#             loop in this script; per step = loop time / N.
# Both per-step figures are means within a round, so an outlier step counts the same way on
# both sides; the table shows the median over rounds. overhead = mlops-ci - bash (ms per step),
# ratio = mlops-ci / bash; the aim is an overhead under AIM_MS (2 ms). The median of the single
# bash runs (EPOCHREALTIME around each) is printed too, for reference.
#
# Where the time goes (cheap, printed after the table):
#   - the cost of creating an empty file and a directory in the work dir, measured with bash;
#   - if strace is installed (and STRACE is not 0): per step, the files and directories
#     created, execve calls (failed ones are a PATH walk) and full forks, counted with
#     `strace -f` as (STRACE_STEPS-step run - 1-step run) / (STRACE_STEPS - 1); counts only,
#     strace's own slowdown makes its times useless here.
#
# Wall time comes from bash's EPOCHREALTIME (microseconds); run.json's `duration_ms` is whole
# milliseconds, too coarse for this. Needs bash >= 5, cargo; strace is optional.
#
# Environment:
#   RUNS=N          rounds per case (default 7)
#   STEPS=N         steps in the big pipeline (default 200)
#   AIM_MS=X        the overhead aim in ms per step (default 2)
#   BENCH_DIR=D     where the on-disk cases live (default: $TMPDIR or /tmp)
#   TMPFS=0         skip the @tmpfs cases
#   STRACE=0        skip the strace section; STRACE_STEPS=N its pipeline size (default 50)
#   MLOPS_CI=PATH   time this binary instead of building target/release/mlops-ci
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-7}"
STEPS="${STEPS:-200}"
AIM_MS="${AIM_MS:-2}"
BENCH_DIR="${BENCH_DIR:-${TMPDIR:-/tmp}}"
TMPFS="${TMPFS:-1}"
STRACE="${STRACE:-1}"
STRACE_STEPS="${STRACE_STEPS:-50}"

if ((STEPS < 2 || RUNS < 1)); then
    echo "error: need STEPS >= 2 and RUNS >= 1" >&2
    exit 1
fi

TMP="$(mktemp -d "$BENCH_DIR/mlops-step-bench.XXXXXX")"
SHM=""
trap 'rm -rf "$TMP" ${SHM:+"$SHM"}' EXIT
if [[ "$TMPFS" != 0 && -d /dev/shm && -w /dev/shm ]]; then
    SHM="$(mktemp -d /dev/shm/mlops-step-bench.XXXXXX)"
fi

if [[ -n "${MLOPS_CI:-}" ]]; then
    BIN="$MLOPS_CI"
else
    echo "==> cargo build --release --locked" >&2
    (cd "$ROOT" && cargo build --release --locked --quiet)
    BIN="$ROOT/target/release/mlops-ci"
fi

# --- generate the inputs ------------------------------------------------------------------------

declare -A SCRIPT=(
    [true]='true'
    [work]='echo x > /dev/null; printf '"'"'%s\n'"'"' a b c | wc -l > /dev/null'
)

# make_pipeline FILE N SCRIPT: a config with one stage of N identical bash steps.
make_pipeline() {
    local out="$1" n="$2" script="$3" i quoted
    # A YAML double-quoted scalar: escape backslashes and double quotes.
    quoted="${script//\\/\\\\}"
    quoted="${quoted//\"/\\\"}"
    {
        echo "version: 1"
        echo "stages:"
        echo "  bench:"
        echo "    steps:"
        for ((i = 1; i <= n; i++)); do
            printf '      - run: "%s"\n        shell: bash\n' "$quoted"
        done
    } >"$out"
}

# make_case NAME BASE VARIANT: BASE/NAME/{big,one}/mlops.yaml, BASE/NAME/scripts/NNN.sh, BASE/NAME/tmp.
make_case() {
    local name="$1" base="$2" variant="$3" dir i
    dir="$base/$name"
    mkdir -p "$dir/big" "$dir/one" "$dir/scripts" "$dir/tmp"
    make_pipeline "$dir/big/mlops.yaml" "$STEPS" "${SCRIPT[$variant]}"
    make_pipeline "$dir/one/mlops.yaml" 1 "${SCRIPT[$variant]}"
    for ((i = 1; i <= STEPS; i++)); do
        printf '%s' "${SCRIPT[$variant]}" >"$dir/scripts/$(printf '%03d' "$i").sh"
    done
    CASE_DIR[$name]="$dir"
}

declare -A CASE_DIR
CASES=(true work)
make_case true "$TMP" true
make_case work "$TMP" work
if [[ -n "$SHM" ]]; then
    CASES+=(true@tmpfs work@tmpfs)
    make_case true@tmpfs "$SHM" true
    make_case work@tmpfs "$SHM" work
fi

# --- measure ------------------------------------------------------------------------------------

# time_check DIR CONFIG_DIR: one timed `mlops-ci check -q`; sets US (wall microseconds).
time_check() {
    local dir="$1" conf="$2" start end rc=0
    rm -rf "$conf/.mlops"
    start="${EPOCHREALTIME/[.,]/}"
    TMPDIR="$dir/tmp" "$BIN" check -q -c "$conf/mlops.yaml" >"$dir/check.out" 2>&1 || rc=$?
    end="${EPOCHREALTIME/[.,]/}"
    if ((rc != 0)); then
        echo "error: \`mlops-ci check\` exited with $rc on $conf/mlops.yaml:" >&2
        cat "$dir/check.out" >&2
        exit 1
    fi
    rm -rf "$conf/.mlops"
    US=$((end - start))
}

# time_bash DIR: runs the STEPS scripts with bash; sets US (the whole loop) and appends each
# run's microseconds to DIR/single.us.
time_bash() {
    local dir="$1" f start end s e singles=()
    # Run from the workspace, as mlops-ci does, without a subshell (one fork per step, as there).
    cd "$dir/big"
    start="${EPOCHREALTIME/[.,]/}"
    for f in "$dir"/scripts/*.sh; do
        s="${EPOCHREALTIME/[.,]/}"
        bash --noprofile --norc -eo pipefail "$f" </dev/null >/dev/null 2>&1
        e="${EPOCHREALTIME/[.,]/}"
        singles+=("$((e - s))")
    done
    end="${EPOCHREALTIME/[.,]/}"
    cd "$ROOT"
    printf '%s\n' "${singles[@]}" >>"$dir/single.us"
    US=$((end - start))
}

# median: the median of the numbers on stdin.
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A ML_STEP BASH_STEP
for ((round = 1; round <= RUNS; round++)); do
    echo "==> round $round/$RUNS" >&2
    for name in "${CASES[@]}"; do
        dir="${CASE_DIR[$name]}"
        time_check "$dir" "$dir/big"
        big="$US"
        time_check "$dir" "$dir/one"
        one="$US"
        time_bash "$dir"
        loop="$US"
        # Per step, in microseconds (integer division loses under 1 us).
        ML_STEP[$name]+="$(((big - one) / (STEPS - 1))) "
        BASH_STEP[$name]+="$((loop / STEPS)) "
    done
done

# --- report -------------------------------------------------------------------------------------

ms() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1000 }'; }

printf '\nmlops-ci %s, %s steps per pipeline, %s rounds, load average %s\n' \
    "$("$BIN" --version | awk '{ print $2 }')" "$STEPS" "$RUNS" \
    "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
printf '%-11s %13s %13s %13s %8s %21s  %s\n' case "mlops-ci ms" "bash ms" "overhead ms" ratio \
    "overhead min..max" "aim: overhead < ${AIM_MS} ms"
status=0
for name in "${CASES[@]}"; do
    read -r -a ml <<<"${ML_STEP[$name]}"
    read -r -a sh <<<"${BASH_STEP[$name]}"
    ml_med="$(printf '%s\n' "${ml[@]}" | median)"
    sh_med="$(printf '%s\n' "${sh[@]}" | median)"
    diffs=()
    for ((i = 0; i < ${#ml[@]}; i++)); do diffs+=("$((ml[i] - sh[i]))"); done
    lo="$(printf '%s\n' "${diffs[@]}" | sort -g | head -n 1)"
    hi="$(printf '%s\n' "${diffs[@]}" | sort -g | tail -n 1)"
    over="$(awk -v a="$ml_med" -v b="$sh_med" 'BEGIN { print a - b }')"
    ratio="$(awk -v a="$ml_med" -v b="$sh_med" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')"
    verdict="$(awk -v o="$over" -v aim="$AIM_MS" 'BEGIN { print (o / 1000 < aim ? "holds" : "MISSED") }')"
    [[ "$verdict" == holds || "$name" == *@tmpfs ]] || status=1
    printf '%-11s %13s %13s %13s %8s %21s  %s\n' "$name" "$(ms "$ml_med")" "$(ms "$sh_med")" \
        "$(ms "$over")" "$ratio" "$(ms "$lo")..$(ms "$hi")" "$verdict"
done
printf '(ms per step, median over rounds; overhead min..max is mlops-ci - bash within each round)\n'
for name in "${CASES[@]}"; do
    printf 'bash, median of the %s single runs of %s: %s ms\n' "$((RUNS * STEPS))" "$name" \
        "$(ms "$(median <"${CASE_DIR[$name]}/single.us")")"
done
for name in true work; do
    read -r -a ml <<<"${ML_STEP[$name]}"
    read -r -a sh <<<"${BASH_STEP[$name]}"
    printf 'ratio: a %s step under mlops-ci takes %s the time of plain bash\n' "$name" \
        "$(awk -v a="$(printf '%s\n' "${ml[@]}" | median)" -v b="$(printf '%s\n' "${sh[@]}" | median)" \
            'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')"
done

# --- where the time goes ------------------------------------------------------------------------

# fs_cost DIR: microseconds to create an empty file (FILE_US) and a directory (DIR_US) in DIR.
fs_cost() {
    local d="$1/fsprobe" i n=200 start end
    mkdir -p "$d"
    start="${EPOCHREALTIME/[.,]/}"
    for ((i = 0; i < n; i++)); do : >"$d/f$i"; done
    end="${EPOCHREALTIME/[.,]/}"
    FILE_US=$(((end - start) / n))
    # mkdir is not a builtin: make all of them with one process, whose start-up then counts 1/n.
    local dirs=()
    for ((i = 0; i < n; i++)); do dirs+=("$d/d$i"); done
    start="${EPOCHREALTIME/[.,]/}"
    mkdir "${dirs[@]}"
    end="${EPOCHREALTIME/[.,]/}"
    DIR_US=$(((end - start) / n))
    rm -rf "$d"
}

printf '\nwhere the time goes\n'
fs_cost "$TMP"
DISK_FILE_US="$FILE_US"
DISK_DIR_US="$DIR_US"
printf 'filesystem of %s: creating an empty file takes %s ms, a directory %s ms\n' \
    "$BENCH_DIR" "$(ms "$FILE_US")" "$(ms "$DIR_US")"
if [[ -n "$SHM" ]]; then
    fs_cost "$SHM"
    printf 'filesystem of /dev/shm (tmpfs): an empty file %s ms, a directory %s ms\n' \
        "$(ms "$FILE_US")" "$(ms "$DIR_US")"
fi

if [[ "$STRACE" != 0 ]] && command -v strace >/dev/null 2>&1; then
    # trace_counts N: strace -f of a N-step `true` run; sets CREATED (files opened with O_CREAT),
    # MADE (directories made), EXECS (execve calls), FAILED (failed execve), FORKS (clone without
    # CLONE_VM, i.e. a full fork rather than vfork/posix_spawn).
    trace_counts() {
        local dir="$TMP/strace$1" t
        mkdir -p "$dir/tmp"
        make_pipeline "$dir/mlops.yaml" "$1" "${SCRIPT[true]}"
        t="$dir/files.trace"
        TMPDIR="$dir/tmp" strace -f -qq -e trace=openat,mkdir,mkdirat,execve,clone,clone3 -o "$t" \
            "$BIN" check -q -c "$dir/mlops.yaml" >/dev/null 2>&1
        # strace -f splits a call that another process interrupts into `call(... <unfinished ...>`
        # and `<... call resumed>) = result`; the patterns count either form once.
        CREATED="$(grep 'O_CREAT' "$t" | grep -c -v '= -1' || true)"
        MADE="$(grep -E -c 'mkdir(at)?[( ].*= 0$' "$t" || true)"
        EXECS="$(grep -c 'execve(' "$t" || true)"
        FAILED="$(grep -E -c 'execve[( ].*= -1' "$t" || true)"
        FORKS="$(grep -E 'clone3?\(' "$t" | grep -c -v CLONE_VM || true)"
        rm -rf "$dir"
    }
    per_step() { awk -v a="$1" -v b="$2" -v n="$STRACE_STEPS" 'BEGIN { printf "%.1f", (a - b) / (n - 1) }'; }
    trace_counts 1
    one=("$CREATED" "$MADE" "$EXECS" "$FAILED" "$FORKS")
    trace_counts "$STRACE_STEPS"
    printf 'per step, mlops-ci and its bash (strace -f, %s-step run minus 1-step run):\n' "$STRACE_STEPS"
    nfiles="$(per_step "$CREATED" "${one[0]}")"
    ndirs="$(per_step "$MADE" "${one[1]}")"
    printf '  %s files created, %s directories made' "$nfiles" "$ndirs"
    printf ' (about %s ms at the probed costs on %s)\n' \
        "$(awk -v f="$nfiles" -v d="$ndirs" -v fu="$DISK_FILE_US" -v du="$DISK_DIR_US" \
            'BEGIN { printf "%.3f", (f * fu + d * du) / 1000 }')" "$BENCH_DIR"
    printf '  %s execve calls, %s of them failed (a PATH walk), %s full forks (clone without CLONE_VM)\n' \
        "$(per_step "$EXECS" "${one[2]}")" "$(per_step "$FAILED" "${one[3]}")" \
        "$(per_step "$FORKS" "${one[4]}")"
    printf '  (plain bash from this script: 1 execve, 0 failed, 1 fork, no files)\n'
else
    echo "strace not installed or STRACE=0: syscall counts skipped"
fi

exit "$status"
