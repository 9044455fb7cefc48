#!/usr/bin/env bash
# Benchmarks `mlops-ci data check` against pandera (polars backend) and Great Expectations on the
# same CSV and the same contract, in the same run, and prints wall time, peak RSS and ratios.
#
# Data: a seeded generator (bench/data/generate.rs) writes 10 M rows × 8 columns (~0.8 GB); with
# BIG=1 also a 4× concatenation (~3 GB, ids repeat so `unique` fails there). The contract, the
# same for every tool: id unique; age int in [18, 90]; income float >= 0, nulls allowed; score
# float, no nulls; category in 8 values; label in {0, 1}; email matches a regex; the column set
# (no extra columns); at least 1 row. mlops-ci also profiles every column (moments, quantiles,
# histogram, distinct count, top values) in the same pass; the peers only validate, but for
# one row, where pandera's run is followed by a polars profile of every column.
#
# Timed in RUNS rounds, each running every tool once in turn (GX in rounds of its own, last),
# median and best wall, max peak RSS, warm page cache, GNU time; and each tool's time against
# mlops-ci's in the same round (the median of the rounds' ratios), which a slow spell of the
# machine moves less than a ratio of medians taken from different rounds:
#   mlops-ci data check                       (release build; one worker per core, taking
#                                              turns to read the next 256 KB chunk of whole
#                                              records, then parsing and checking it)
#   mlops-ci data check --threads 1           (everything on one thread)
#   mlops-ci data check without `unique`      (the one check whose memory grows with the data)
#   mlops-ci data check, `profile: false`     (the checks alone, as the peers run them, on
#                                              2 workers and on one thread: no
#                                              moments, quantiles, distinct count, top values)
#   mlops-ci data check, ids scattered        (0.8 GB file only: the same file but for its ids,
#                                              unique and in no runs, so `unique` keys each one
#                                              instead of keeping runs of consecutive ids)
#   wc -l                                     (coreutils: the file read once, no check)
#   gzip -1 of data.csv's first 64 MB        (the machine's pace: fixed work on one core,
#                                              no part of any tool; this VM runs up to 1.6×
#                                              slower in spells that last minutes, and every
#                                              tool's time then grows with it)
#   pandera 0.35 polars backend               (pl.read_csv, then schema.validate(lazy=True))
#   pandera, then a polars profile            (the same, then what mlops-ci's profile holds
#                                              but its top values: describe(), approx_n_unique(),
#                                              a histogram of each number column; the peer
#                                              for the same work as mlops-ci's default)
#   great-expectations 1.24 (pandas)          (read_csv, then a 9-expectation suite)
# With PARQUET=1, the same table as a Parquet file (written by polars: snappy, row groups of
# 1 M rows) is timed too: mlops-ci on 2 workers (sharing its row groups) and on one thread,
# against pandera-polars reading it with pl.read_parquet.
# The peers are installed from PyPI in a venv (VENV, default /tmp/mlops-ci-bench-venv).
# Generated files live in WORK (default a temp dir) and are deleted on exit.
#
# Environment: RUNS=N (default 3), ROWS=N (default 10000000), BIG=1 (add the 3 GB file; GX is
# skipped there: it needs ~20 GB of RAM), PEERS=0 (mlops-ci only), GX=0 (no Great Expectations),
# PARQUET=1 (add the Parquet file; needs the peers' venv, whose polars writes it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
ROWS="${ROWS:-10000000}"
BIG="${BIG:-0}"
PEERS="${PEERS:-1}"
GX="${GX:-1}"
PARQUET="${PARQUET:-0}"
VENV="${VENV:-/tmp/mlops-ci-bench-venv}"
TIME=/usr/bin/time
if [[ ! -x "$TIME" ]]; then
    echo "error: \`$TIME\` not found; install Debian's \`time\` package (apt-get install time)" >&2
    exit 1
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export GX_ANALYTICS_ENABLED=false NO_COLOR=1 POLARS_MAX_THREADS="${POLARS_MAX_THREADS:-2}"

echo "building (release)…" >&2
(cd "$ROOT" && cargo build --release --quiet --bin mlops-ci --example data_bench_generate)
BIN="$ROOT/target/release/mlops-ci"
GEN="$ROOT/target/release/examples/data_bench_generate"

if [[ ("$PEERS" == 1 || "$PARQUET" == 1) && ! -x "$VENV/bin/python" ]]; then
    echo "installing pandera[polars] 0.35.0 and great-expectations 1.24.1 in $VENV…" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "pandera[polars]==0.35.0" "polars==2.1.0" \
        "great-expectations==1.24.1" "pandas==3.1.1"
fi

echo "generating $ROWS rows…" >&2
"$GEN" "$WORK/data.csv" "$ROWS" 42
"$GEN" "$WORK/scattered.csv" "$ROWS" 42 scattered
if [[ "$PARQUET" == 1 ]]; then
    "$VENV/bin/python" -c 'import sys, polars as pl
pl.read_csv(sys.argv[1]).write_parquet(sys.argv[2], compression="snappy", row_group_size=1_000_000)' \
        "$WORK/data.csv" "$WORK/data.parquet"
fi
if [[ "$BIG" == 1 ]]; then
    { cat "$WORK/data.csv"; for _ in 1 2 3; do tail -n +2 "$WORK/data.csv"; done; } > "$WORK/big.csv"
fi
PACE="$WORK/pace"
head -c 64000000 "$WORK/data.csv" > "$PACE"
# the files just written go to disk now, not while the tools are timed (the kernel's writeback
# of gigabytes would take a core from whichever tool runs then)
sync

cat > "$WORK/mlops.yaml" <<'YAML'
version: 1
stages:
  validate:
    data:
      - path: FILE
        rows: { min: 1 }
        extra-columns: deny
        columns:
          id: { type: int, unique: true }
          age: { type: int, min: 18, max: 90, nulls: 0 }
          income: { type: float, min: 0 }
          score: { type: float, nulls: 0 }
          category: { type: string, in: [alpha, beta, gamma, delta, epsilon, zeta, eta, theta] }
          city: { type: string }
          label: { type: int, in: [0, 1] }
          email: { type: string, regex: '^[^@]+@[^@]+\.[^@]+$' }
YAML

cat > "$WORK/pandera_polars.py" <<'PY'
import sys
import polars as pl
import pandera.polars as pa

schema = pa.DataFrameSchema(
    {
        "id": pa.Column(pl.Int64, unique=True),
        "age": pa.Column(pl.Int64, pa.Check.in_range(18, 90)),
        "income": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
        "score": pa.Column(pl.Float64),
        "category": pa.Column(pl.String, pa.Check.isin(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])),
        "city": pa.Column(pl.String),
        "label": pa.Column(pl.Int64, pa.Check.isin([0, 1])),
        "email": pa.Column(pl.String, pa.Check.str_matches(r"^[^@]+@[^@]+\.[^@]+$")),
    },
    strict=True,
    checks=[pa.Check(lambda df: df.lazyframe.select(pl.len() >= 1))],
)
path = sys.argv[1]
df = pl.read_parquet(path) if path.endswith(".parquet") else pl.read_csv(path)
try:
    schema.validate(df, lazy=True)
    print("pandera: passed")
except pa.errors.SchemaErrors as e:
    print(f"pandera: {len(e.failure_cases)} failure cases")
# `profile`: then a profile of every column with polars, as mlops-ci's is by default, less its
# top values: nulls, mean, std, min, max and quartiles (describe), an approximate distinct
# count, and a 20-bin histogram of each number column
if sys.argv[2:] == ["profile"]:
    described = df.describe()
    distinct = df.select(pl.all().approx_n_unique())
    hists = [df[c].hist(bin_count=20) for c, t in df.schema.items() if t.is_numeric()]
    print(f"polars profile: {described.height} statistics, {distinct.width} distinct counts, {len(hists)} histograms")
PY

cat > "$WORK/gx.py" <<'PY'
import sys
import pandas as pd
import great_expectations as gx
import great_expectations.expectations as gxe

df = pd.read_csv(sys.argv[1])
context = gx.get_context(mode="ephemeral")
source = context.data_sources.add_pandas("bench")
asset = source.add_dataframe_asset("data")
batch_def = asset.add_batch_definition_whole_dataframe("all")
suite = context.suites.add(gx.ExpectationSuite(name="contract"))
for e in [
    gxe.ExpectColumnValuesToBeUnique(column="id"),
    gxe.ExpectColumnValuesToBeBetween(column="age", min_value=18, max_value=90),
    gxe.ExpectColumnValuesToBeBetween(column="income", min_value=0),
    gxe.ExpectColumnValuesToNotBeNull(column="score"),
    gxe.ExpectColumnValuesToBeInSet(column="category", value_set=["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]),
    gxe.ExpectColumnValuesToBeInSet(column="label", value_set=[0, 1]),
    gxe.ExpectColumnValuesToMatchRegex(column="email", regex=r"^[^@]+@[^@]+\.[^@]+$"),
    gxe.ExpectTableColumnsToMatchSet(column_set=["id", "age", "income", "score", "category", "city", "label", "email"], exact_match=True),
    gxe.ExpectTableRowCountToBeBetween(min_value=1),
]:
    suite.add_expectation(e)
batch = batch_def.get_batch(batch_parameters={"dataframe": df})
result = batch.validate(suite)
print(f"gx: success={result.success}")
PY

# The tools timed on one file: tool NAME CMD… adds one. Each round runs every tool once, in
# order, and there are RUNS rounds: a slow spell of the machine (its timings drift by up to 2×
# over minutes) then falls on every tool alike, not on whichever ran RUNS times during it.
# Great Expectations has rounds of its own (see run_file).
TOOLS=()
declare -A COMMAND=() PROBE=() VALIDATES=()
tool() {
    local name="$1"
    shift
    TOOLS+=("$name")
    COMMAND[$name]="$(printf '%q ' "$@")"
}

# probe NAME FILE CMD…: a tool that times the machine, not a check: its GB/s is of FILE, it has
# no ratio to mlops-ci, and of its output only the size is shown
probe() {
    PROBE[$1]="$2"
    local name="$1"
    shift 2
    tool "$name" "$@"
}

# validator NAME CMD…: a peer that only validates: its time is also given against mlops-ci's
# checks alone (`profile: false`), the same work
validator() {
    VALIDATES[$1]=1
    tool "$@"
}

# median < LINES: the median of numbers given one a line
median() {
    local sorted
    sorted=$(sort -g | grep .)
    sed -n "$((($(wc -l <<< "$sorted") + 1) / 2))p" <<< "$sorted"
}

# rounds FILE: times TOOLS in RUNS rounds; writes "NAME median_s best_s rss_mb ratio" (the
# median and the best wall, the largest peak RSS, and the median of the rounds' ratios of its
# wall to mlops-ci's, `-` when mlops-ci is not among TOOLS) for each to WORK/results-FILE, then
# empties TOOLS
rounds() {
    local file="$1" round name
    local -A walls=() rss=()
    for round in $(seq "$RUNS"); do
        local line="  round $round ($file):"
        for name in "${TOOLS[@]}"; do
            local start end r wall
            start=$EPOCHREALTIME
            eval "\"\$TIME\" -f '%M' -o \"\$WORK/rss\" ${COMMAND[$name]}" > "$WORK/out" 2>&1 || true
            end=$EPOCHREALTIME
            wall=$(echo "$end - $start" | bc -l)
            walls[$name]="${walls[$name]:-}$wall"$'\n'
            line+=" $name $(printf '%.3f' "$wall")"
            r=$(tail -n 1 "$WORK/rss")
            ((r > ${rss[$name]:-0})) && rss[$name]=$r
            if ((round == 1)); then
                if [[ -n "${PROBE[$name]:-}" ]]; then
                    echo "  $name: $(stat -c %s "$WORK/out") bytes of output" >&2
                else
                    echo "  $name: $(head -c 300 "$WORK/out" | tr '\n' ' ')" >&2
                fi
            fi
        done
        # every wall of the round, in the order run: where a slow spell fell
        echo "$line" >&2
    done
    for name in "${TOOLS[@]}"; do
        local mid best ratio=-
        mid=$(median <<< "${walls[$name]}")
        best=$(sort -g <<< "${walls[$name]}" | grep . | head -n 1)
        # the walls are kept in round order: line r of each is round r's
        if [[ -n "${walls[mlops-ci]:-}" && -z "${PROBE[$name]:-}" ]]; then
            ratio=$(paste -d / <(grep . <<< "${walls[$name]}") <(grep . <<< "${walls[mlops-ci]}") |
                bc -l | median)
            ratio=$(printf '%.2f' "$ratio")
        fi
        printf '%s %.3f %.3f %.0f %s\n' "$name" "$mid" "$best" "$((rss[$name] / 1024))" "$ratio" \
            >> "$WORK/results-$file"
    done
    TOOLS=()
}

run_file() {
    local file="$1" size rows
    size=$(stat -c %s "$WORK/$file")
    if [[ "$file" == *.parquet ]]; then
        rows="$ROWS"
    else
        rows=$(($(wc -l < "$WORK/$file") - 1))
    fi
    sed "s|path: FILE|path: $file|" "$WORK/mlops.yaml" > "$WORK/$file.mlops.yaml"
    : > "$WORK/results-$file"
    # warm the page cache
    cat "$WORK/$file" > /dev/null
    sed 's/id: { type: int, unique: true }/id: { type: int }/' "$WORK/$file.mlops.yaml" > "$WORK/$file.nounique.yaml"
    sed 's/^        rows: { min: 1 }$/        rows: { min: 1 }\n        profile: false/' "$WORK/$file.mlops.yaml" > "$WORK/$file.checks.yaml"
    grep -q 'profile: false' "$WORK/$file.checks.yaml"
    tool mlops-ci "$BIN" -q -C "$WORK" -c "$file.mlops.yaml" data check
    tool mlops-ci-1-thread "$BIN" -q -C "$WORK" -c "$file.mlops.yaml" data check --threads 1
    if [[ "$file" != *.parquet ]]; then
        tool mlops-ci-no-unique "$BIN" -q -C "$WORK" -c "$file.nounique.yaml" data check
        tool mlops-ci-checks-only "$BIN" -q -C "$WORK" -c "$file.checks.yaml" data check
        tool mlops-ci-checks-only-1-thread "$BIN" -q -C "$WORK" -c "$file.checks.yaml" \
            data check --threads 1
    fi
    if [[ "$file" == data.csv ]]; then
        sed "s|path: FILE|path: scattered.csv|" "$WORK/mlops.yaml" > "$WORK/scattered.mlops.yaml"
        cat "$WORK/scattered.csv" > /dev/null
        tool mlops-ci-scattered-ids "$BIN" -q -C "$WORK" -c scattered.mlops.yaml data check
    fi
    # the file read once, no check: what reading it alone costs
    tool wc-l wc -l "$WORK/$file"
    # the machine's pace: the same fixed work on one core in every round and every run
    probe pace-gzip "$PACE" gzip -1 -c "$PACE"
    if [[ "$PEERS" == 1 ]]; then
        validator pandera-polars "$VENV/bin/python" "$WORK/pandera_polars.py" "$WORK/$file"
        tool pandera-polars+profile "$VENV/bin/python" "$WORK/pandera_polars.py" "$WORK/$file" \
            profile
    fi
    rounds "$file"
    # GX in rounds of its own, after the others: its minute of work on 3 GB of memory slowed
    # what ran right after it (in a run with GX between the others, up to 1.5x their time)
    if [[ "$PEERS" == 1 && "$file" == data.csv && "$GX" == 1 ]]; then
        validator great-expectations "$VENV/bin/python" "$WORK/gx.py" "$WORK/$file"
        rounds "$file"
    fi
    local ours
    ours=$(awk '$1 == "mlops-ci" { print $2 }' "$WORK/results-$file")
    printf '\n%s: %.2f GB, %s rows, %s rounds (median and best wall), warm cache\n' "$file" \
        "$(echo "$size / 1000000000" | bc -l)" "$rows" "$RUNS"
    printf '%-30s %10s %8s %10s %8s %11s %10s\n' tool "wall s" "best s" "peak MB" "GB/s" \
        "× mlops-ci" "per round"
    while read -r name wall best rss ratio; do
        local bytes="$size" times
        times=$(printf '%.2f' "$(echo "$wall / $ours" | bc -l)")
        if [[ -n "${PROBE[$name]:-}" ]]; then
            bytes=$(stat -c %s "${PROBE[$name]}")
            times=-
        fi
        printf '%-30s %10s %8s %10s %8.2f %11s %10s\n' "$name" "$wall" "$best" "$rss" \
            "$(echo "$bytes / $wall / 1000000000" | bc -l)" "$times" "$ratio"
    done < "$WORK/results-$file"
    local alone
    alone=$(awk '$1 == "mlops-ci-checks-only" { print $2 }' "$WORK/results-$file")
    [[ -n "$alone" ]] || return 0
    while read -r name wall _; do
        if [[ -n "${VALIDATES[$name]:-}" ]]; then
            printf '%s: %.1f× the checks alone (profile: false)\n' "$name" \
                "$(echo "$wall / $alone" | bc -l)"
        fi
    done < "$WORK/results-$file"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo); $("$BIN" --version)"
run_file data.csv
if [[ "$PARQUET" == 1 ]]; then
    run_file data.parquet
fi
if [[ "$BIG" == 1 ]]; then
    run_file big.csv
fi
(cd "$ROOT" && cargo run --release --quiet --example data_drift_1000)
