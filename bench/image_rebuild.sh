#!/usr/bin/env bash
# Rebuilds the example image (examples/iris/Dockerfile and its context) after changing only the
# model file, with `mlops-ci check` (the image stage through the Engine API), with `docker build`
# (classic builder, DOCKER_BUILDKIT=0) of the same context, and with `docker build` given the same
# labels mlops-ci sets (`--label` for each, as a workflow would pass them), in the same run.
#
# A temp git repository holds a copy of the example's context with a synthetic model file
# (MODEL_MB MiB) and an mlops.yaml whose only stage builds the image. Each round writes new model
# bytes, then times one rebuild by each tool. Prints per tool: the median wall time in ms, the
# layer cache hits (`Using cache` among the build's steps) of the last round, and the ratio of
# mlops-ci's median to docker build's.
#
# Needs a running Docker engine (scripts/test starts one), bash >= 5, cargo, the docker CLI.
#
# Environment:
#   ROUNDS=N     rebuilds per tool (default 5)
#   MODEL_MB=N   size of the model file in MiB (default 8)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-5}"
MODEL_MB="${MODEL_MB:-8}"

if ! docker version >/dev/null 2>&1; then
    echo "error: no Docker engine answers; start one (scripts/test does: source scripts/test && start_docker_engine)" >&2
    exit 1
fi

TMP="$(mktemp -d)"
REPO_NAME="mlops-bench/iris-$$"
cleanup() {
    docker image ls --format '{{.Repository}}:{{.Tag}}' | grep "^$REPO_NAME:" | xargs -r docker rmi -f >/dev/null 2>&1 || true
    docker rmi -f "$REPO_NAME-docker:bench" "$REPO_NAME-labels:bench" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT

echo "==> cargo build --release --locked" >&2
(cd "$ROOT" && cargo build --release --locked --quiet)
BIN="$ROOT/target/release/mlops-ci"

cd "$TMP"
cp -r "$ROOT/examples/iris/scripts" "$ROOT/examples/iris/params.yaml" "$ROOT/examples/iris/Dockerfile" .
mkdir -p model
cat >mlops.yaml <<YAML
version: 1
name: iris
stages:
  package:
    image:
      name: $REPO_NAME
YAML
printf '.mlops/\n' >.gitignore
new_model() {
    head -c "$((MODEL_MB * 1024 * 1024))" /dev/urandom >model/model.bin
}
new_model
git -c init.defaultBranch=main init -q
git add -A
git -c user.name=bench -c user.email=bench@example.com commit -q -m bench

now_us() { echo "${EPOCHREALTIME/./}"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Warm both caches once.
"$BIN" -q check >/dev/null 2>&1
DOCKER_BUILDKIT=0 docker build -q -t "$REPO_NAME-docker:bench" . >/dev/null 2>&1

# The labels of mlops-ci's image, as `--label k=v` arguments.
ref="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep "^$REPO_NAME:" | head -n 1)"
mapfile -t label_args < <(docker image inspect --format '{{range $k, $v := .Config.Labels}}--label={{$k}}={{$v}}{{"\n"}}{{end}}' "$ref" | grep -v '^$')
DOCKER_BUILDKIT=0 docker build -q "${label_args[@]}" -t "$REPO_NAME-labels:bench" . >/dev/null 2>&1

ours=() theirs=() labelled=()
for _ in $(seq "$ROUNDS"); do
    new_model
    start=$(now_us)
    "$BIN" -q check >/dev/null 2>&1
    ours+=($(( ($(now_us) - start) / 1000 )))
    new_model
    start=$(now_us)
    DOCKER_BUILDKIT=0 docker build -t "$REPO_NAME-docker:bench" . >"$TMP/docker.log" 2>&1
    theirs+=($(( ($(now_us) - start) / 1000 )))
    new_model
    start=$(now_us)
    DOCKER_BUILDKIT=0 docker build "${label_args[@]}" -t "$REPO_NAME-labels:bench" . >"$TMP/labels.log" 2>&1
    labelled+=($(( ($(now_us) - start) / 1000 )))
done

log="$(ls -d .mlops/runs/*/ | sort | tail -n 1)logs/package/image.log"
our_steps=$(grep -c '^Step ' "$log" || true)
our_hits=$(grep -c 'Using cache' "$log" || true)
their_steps=$(grep -c '^Step ' "$TMP/docker.log" || true)
their_hits=$(grep -c 'Using cache' "$TMP/docker.log" || true)
labels_steps=$(grep -c '^Step ' "$TMP/labels.log" || true)
labels_hits=$(grep -c 'Using cache' "$TMP/labels.log" || true)
labels_ms=$(printf '%s\n' "${labelled[@]}" | median)
ours_ms=$(printf '%s\n' "${ours[@]}" | median)
theirs_ms=$(printf '%s\n' "${theirs[@]}" | median)

printf '%-14s %10s %22s\n' tool "median ms" "cache hits / steps"
printf '%-14s %10s %22s\n' "mlops-ci" "$ours_ms" "$our_hits / $our_steps"
printf '%-14s %10s %22s\n' "docker build" "$theirs_ms" "$their_hits / $their_steps"
printf '%-14s %10s %22s\n' "  + labels" "$labels_ms" "$labels_hits / $labels_steps"
awk -v a="$ours_ms" -v b="$theirs_ms" -v c="$labels_ms" 'BEGIN { printf "ratio mlops-ci / docker build: %.2f; mlops-ci / docker build with the same labels: %.2f (model %s MiB, %s rounds)\n", a / b, a / c, "'"$MODEL_MB"'", "'"$ROUNDS"'" }'
