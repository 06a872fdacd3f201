#!/usr/bin/env bash
# MLflow tracking against a real server: starts `mlflow server` on loopback (SQLite backend,
# artifacts served), runs a spec, a two-combination sweep (in-process and with --jobs 2), a run
# stopped by SIGTERM and resumed, a run whose server stops mid-run, and an ONNX export, and reads
# everything back with the mlflow client (scripts/check_mlflow.py): status, params, per-epoch
# metrics equal to metrics.jsonl, artifacts byte-identical, parents.
#
# usage: scripts/mlflow_check.sh MLPC   (needs `pip install mlflow`)
set -euo pipefail
cd "$(dirname "$0")/.."
mlpc=$(realpath "$1")
work=$(mktemp -d /tmp/mlpc-mlflow.XXXXXX)
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
uri="http://127.0.0.1:$port"
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -- -"$server_pid" 2> /dev/null || kill "$server_pid" 2> /dev/null || true
    wait "$server_pid" 2> /dev/null || true
    server_pid=""
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT
start_server() {
  setsid mlflow server --backend-store-uri "sqlite:///$work/mlflow.db" \
    --artifacts-destination "$work/artifacts" --host 127.0.0.1 --port "$port" --workers 1 \
    > "$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do
    if curl -sf "$uri/health" > /dev/null; then return 0; fi
    sleep 0.5
  done
  echo "mlflow server did not start:"; tail -20 "$work/server.log"; exit 1
}
check() { python3 scripts/check_mlflow.py "$uri" "$@"; }
# Waits until the run being written into DIR (its staging directory) has N epochs.
wait_epochs() {
  local dir=$1 n=$2
  for _ in $(seq 1 600); do
    local staged
    staged=$(ls -d "$(dirname "$dir")"/."$(basename "$dir")".staging-* 2> /dev/null | head -1 || true)
    if [ -n "$staged" ] && [ -f "$staged/metrics.jsonl" ] && [ "$(wc -l < "$staged/metrics.jsonl")" -ge "$n" ]; then
      return 0
    fi
    sleep 0.05
  done
  echo "the run in $dir did not reach $n epochs"; exit 1
}
start_server
export MLFLOW_TRACKING_URI="$uri"
export MLFLOW_EXPERIMENT_NAME=mlpc-ci

echo "-- a run, then its ONNX export uploaded to the same MLflow run"
"$mlpc" run specs/iris.yaml --quiet --out "$work/iris" > /dev/null
check "$work/iris" FINISHED
"$mlpc" export "$work/iris" | grep -q "uploaded model.onnx"
check "$work/iris" FINISHED

echo "-- a two-combination sweep: a parent run and two children, in this process and with --jobs 2"
"$mlpc" sweep specs/xor.yaml --grid training.learning_rate=0.5,0.1 --out "$work/sweep" > /dev/null
check "$work/sweep" FINISHED --no-metrics
for run in "$work"/sweep/0*; do check "$run" FINISHED --parent "$work/sweep"; done
"$mlpc" sweep specs/xor.yaml --grid training.learning_rate=0.5,0.1 --jobs 2 --out "$work/sweep2" > /dev/null
check "$work/sweep2" FINISHED --no-metrics
for run in "$work"/sweep2/0*; do check "$run" FINISHED --parent "$work/sweep2"; done

echo "-- SIGTERM: KILLED with what was trained; --resume continues the same MLflow run"
"$mlpc" run specs/digits.yaml --quiet --epochs 100000 --out "$work/cut" > /dev/null 2>&1 &
pid=$!
wait_epochs "$work/cut" 3
kill -TERM "$pid"
set +e; wait "$pid"; status=$?; set -e
[ "$status" -eq 143 ] || { echo "expected exit 143 after SIGTERM, got $status"; exit 1; }
check "$work/cut" KILLED
first=$(python3 -c "import json; print(json.load(open('$work/cut/mlflow.json'))['run_id'])")
trained=$(wc -l < "$work/cut/metrics.jsonl")
"$mlpc" run --resume "$work/cut" --quiet --epochs $((trained + 3)) > /dev/null
second=$(python3 -c "import json; print(json.load(open('$work/cut/mlflow.json'))['run_id'])")
[ "$first" = "$second" ] || { echo "resume started another MLflow run"; exit 1; }
check "$work/cut" FINISHED

echo "-- SIGKILL: the MLflow run stays RUNNING; --resume finishes it, each epoch logged once"
"$mlpc" run specs/digits.yaml --quiet --epochs 100000 --set "training.checkpoint={every: 2}" \
  --out "$work/killed" > /dev/null 2>&1 &
pid=$!
wait_epochs "$work/killed" 5
kill -KILL "$pid"
wait "$pid" 2> /dev/null || true
staged=$(ls -d "$work"/.killed.staging-* | head -1)
trained=$(wc -l < "$staged/metrics.jsonl")
"$mlpc" run --resume "$work/killed" --quiet --epochs $((trained + 3)) > /dev/null 2>&1
check "$work/killed" FINISHED

echo "-- a diverged run: FAILED"
"$mlpc" run specs/sine.yaml --quiet --set training.learning_rate=1e30 --out "$work/diverged" > /dev/null 2>&1 \
  && { echo "the run did not diverge"; exit 1; }
check "$work/diverged" FAILED

echo "-- the server stops mid-run: training completes and warns"
"$mlpc" run specs/digits.yaml --quiet --epochs 300 --out "$work/down" > /dev/null 2> "$work/down.err" &
pid=$!
wait_epochs "$work/down" 2
stop_server
set +e; wait "$pid"; status=$?; set -e
[ "$status" -eq 0 ] || { echo "the run failed when the server stopped:"; cat "$work/down.err"; exit 1; }
grep -q "warning: MLflow at $uri" "$work/down.err" || { echo "no warning:"; cat "$work/down.err"; exit 1; }
[ "$(wc -l < "$work/down/metrics.jsonl")" -eq 300 ] || { echo "epochs lost"; exit 1; }
echo "completed 300 epochs and warned: $(head -c 200 "$work/down.err")"
echo "MLflow tracking checks passed"
