#!/usr/bin/env bash
# Benchmarks `mlops-ci diff` against `dvc metrics diff` on the same repository, in the same run.
#
# The repository (a temp dir removed on exit) has 200 metrics files (`metrics/mNNN.json`, nested
# keys, ints and floats) listed in both mlops.yaml and dvc.yaml, and 5,000 commits of history
# built with `git fast-import`: commit k rewrites file k mod 200. `main` is commit 4,000, the
# checked-out branch `work` is commit 5,000, so 1,000 commits touch every file and all 200 differ.
#
# Timed, RUNS times each (median wall time, max peak RSS):
#   mlops-ci diff main HEAD        (both sides read from git trees with git2)
#   dvc metrics diff main          (main against the workspace, which equals HEAD)
# The two outputs are checked to hold the same rows (DVC orders files from a Python set, so the
# rows are compared sorted), then the ratio dvc / mlops-ci is printed.
#
# Wall time comes from bash's EPOCHREALTIME, peak RSS from GNU time's %M. Needs bash >= 5, git,
# python3, GNU time (Debian package `time`), cargo and `dvc` (python3 -m pip install dvc).
#
# Environment:
#   RUNS=N      runs per command (default 5)
#   FILES=N     metrics files (default 200)
#   COMMITS=N   commits of history (default 5000)
#   DVC=P       the dvc executable (default: `dvc` on PATH)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-5}"
FILES="${FILES:-200}"
COMMITS="${COMMITS:-5000}"
DVC="${DVC:-dvc}"
TIME=/usr/bin/time

if [[ ! -x "$TIME" ]]; then
    echo "error: \`$TIME\` not found; install Debian's \`time\` package (apt-get install time)" >&2
    exit 1
fi
if ! command -v "$DVC" >/dev/null 2>&1; then
    echo "error: \`$DVC\` not found; install it with \`python3 -m pip install dvc\`" >&2
    exit 1
fi
export DVC_NO_ANALYTICS=1 NO_COLOR=1

TMP="$(mktemp -d)"
[[ -n "${KEEP:-}" ]] || trap 'rm -rf "$TMP"' EXIT

echo "==> cargo build --release --locked" >&2
(cd "$ROOT" && cargo build --release --locked --quiet)
BIN="$ROOT/target/release/mlops-ci"

# --- generate the repository --------------------------------------------------------------------

REPO="$TMP/repo"
mkdir "$REPO"
git -C "$REPO" init -q -b work
echo "==> git fast-import: $FILES files, $COMMITS commits" >&2
start="${EPOCHREALTIME/[.,]/}"
python3 - "$FILES" "$COMMITS" <<'PY' | git -C "$REPO" fast-import --quiet
import sys

files, commits = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
main_at = commits * 4 // 5


def blob(text):
    data = text.encode()
    out.write(b"data %d\n" % len(data) + data + b"\n")


def metrics(i, k):
    return (
        '{"train": {"acc": %r, "loss": %r}, "eval": {"acc": %r, "f1": %r}, "epoch": %d, "model": "m%d"}\n'
        % (0.5 + (k % 997) / 2000, 1 / (k + 2), 0.4 + (k % 991) / 2100, (i * 7 + k) % 1000 / 1000, k, i % 3)
    )


listing = "".join("      - metrics/m%03d.json\n" % i for i in range(files))
mlops = "version: 1\nname: bench\nstages:\n  evaluate:\n    steps:\n      - run: \"true\"\n    metrics:\n" + listing
dvc_yaml = "metrics:\n" + "".join("  - metrics/m%03d.json\n" % i for i in range(files))
for k in range(1, commits + 1):
    msg = b"commit %d\n" % k
    out.write(b"commit refs/heads/work\nmark :%d\n" % k)
    out.write(b"committer b <b@example.invalid> %d +0000\n" % (1_600_000_000 + k))
    out.write(b"data %d\n" % len(msg) + msg)
    if k > 1:
        out.write(b"from :%d\n" % (k - 1))
    if k == 1:
        out.write(b"M 100644 inline mlops.yaml\n")
        blob(mlops)
        out.write(b"M 100644 inline dvc.yaml\n")
        blob(dvc_yaml)
        for i in range(files):
            out.write(b"M 100644 inline metrics/m%03d.json\n" % i)
            blob(metrics(i, k))
    else:
        i = k % files
        out.write(b"M 100644 inline metrics/m%03d.json\n" % i)
        blob(metrics(i, k))
    out.write(b"\n")
    if k == main_at:
        out.write(b"reset refs/heads/main\nfrom :%d\n\n" % k)
PY
git -C "$REPO" checkout -q work
(cd "$REPO" && "$DVC" init -q)
end="${EPOCHREALTIME/[.,]/}"
echo "    built in $(((end - start) / 1000)) ms: $(git -C "$REPO" rev-list --count HEAD) commits on work, main at $(git -C "$REPO" rev-list --count main)" >&2

# --- measure ------------------------------------------------------------------------------------

# measure NAME CMD...: runs CMD RUNS times in the repo; sets MEDIAN_MS and MAX_RSS_MIB; keeps
# the last stdout in $TMP/NAME.out. Fails if any run fails.
measure() {
    local name="$1" i start end rss ms times=() max_kib=0
    shift
    for ((i = 0; i < RUNS; i++)); do
        start="${EPOCHREALTIME/[.,]/}"
        if ! (cd "$REPO" && "$TIME" -f '%M' -o "$TMP/$name.time" "$@" >"$TMP/$name.out" 2>"$TMP/$name.stderr"); then
            echo "error: \`$*\` failed:" >&2
            cat "$TMP/$name.stderr" >&2
            exit 1
        fi
        end="${EPOCHREALTIME/[.,]/}"
        ms="$(((end - start) / 1000)).$(printf '%03d' $(((end - start) % 1000)))"
        times+=("$ms")
        rss="$(tail -n 1 "$TMP/$name.time")"
        [[ "$rss" =~ ^[0-9]+$ ]] || rss=0
        ((rss > max_kib)) && max_kib="$rss"
    done
    MEDIAN_MS="$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p")"
    MAX_RSS_MIB="$(awk -v k="$max_kib" 'BEGIN { printf "%.1f", k / 1024 }')"
}

echo "==> mlops-ci diff main HEAD ($RUNS runs)" >&2
measure ours "$BIN" diff main HEAD
ours=("$MEDIAN_MS" "$MAX_RSS_MIB")
echo "==> dvc metrics diff main ($RUNS runs)" >&2
measure theirs "$DVC" metrics diff main
theirs=("$MEDIAN_MS" "$MAX_RSS_MIB")

# Same rows? The headers differ in the new column's name (HEAD vs workspace), and so the column
# widths, so rows are compared with runs of spaces squeezed.
rows() { tail -n +2 "$1" | tr -s ' ' | sort; }
if ! diff <(rows "$TMP/ours.out") <(rows "$TMP/theirs.out") >"$TMP/rows.diff"; then
    echo "error: the outputs differ (< mlops-ci, > dvc):" >&2
    head -n 20 "$TMP/rows.diff" >&2
    exit 1
fi

# --- report -------------------------------------------------------------------------------------

printf '\nrepo: %s metrics files, %s commits; main..HEAD differs in every file (%s rows, same rows from both)\n' \
    "$FILES" "$COMMITS" "$(($(wc -l <"$TMP/ours.out") - 1))"
printf '%-28s %10s %9s\n' command "median ms" "max MiB"
printf '%-28s %10s %9s\n' "mlops-ci diff main HEAD" "${ours[0]}" "${ours[1]}"
printf '%-28s %10s %9s\n' "dvc metrics diff main" "${theirs[0]}" "${theirs[1]}"
printf 'peer: dvc %s\n' "$("$DVC" --version)"
printf 'ratio: dvc metrics diff takes %s the time of mlops-ci diff\n' \
    "$(awk -v a="${theirs[0]}" -v b="${ours[0]}" 'BEGIN { printf "%.1fx", (b > 0 ? a / b : 0) }')"
