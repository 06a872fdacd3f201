#!/usr/bin/env bash
# `mlpc serve` against FastAPI + uvicorn + ONNX Runtime serving the same model (exported by
# `mlpc export`), measured with wrk on loopback in one run: requests/s and p50/p99 latency for
# single-row and 64-row requests at 1, 16 and 64 connections; mlpc's p99 at 80 % of its own
# highest rate (wrk paced by a per-connection delay) and at rates held by bench/rate_load.c
# (open loop, as wrk2); the in-process forward pass of one row.
# Both servers are pinned to the same CPUs (CPUS, default all) with as many worker processes as
# CPUs for the peer; both get the same request bodies, and their answers are checked equal first.
# wrk and the rate generator run on LOAD_CPUS (default all; on a larger machine give them CPUs of
# their own, e.g. CPUS=0-3 LOAD_CPUS=4-7).
# Usage: bench/serve.sh            (DURATION=5 seconds per run, REPEAT=3 runs per point, alternated;
#                                   SPEC=specs/iris.yaml)
# Needs wrk (Debian), a C compiler (cc, for bench/rate_load.c) and a Python venv it makes in
# $VENV (fastapi, uvicorn[standard], onnxruntime, onnx, numpy, pinned below).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-5}
repeat=${REPEAT:-3}
spec=${SPEC:-specs/iris.yaml}
cpus=${CPUS:-0-$(($(nproc) - 1))}
workers=$(taskset -c "$cpus" nproc)
load_cpus=${LOAD_CPUS:-0-$(($(nproc) - 1))}
load_threads=$(taskset -c "$load_cpus" nproc)
venv=${VENV:-/tmp/mlpc-serve-peer}
command -v wrk > /dev/null || { echo "needs wrk: apt-get install wrk"; exit 1; }
if [ ! -x "$venv/bin/uvicorn" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check fastapi==0.165.0 \
    "uvicorn[standard]==0.55.0" onnxruntime==1.32.0 onnx numpy==2.4.6
fi
swift build -c release --product mlpc > /dev/null
mlpc=$PWD/.build/release/mlpc
work=$(mktemp -d)
# uvicorn's worker processes outlive a killed master (and then spin): stop them first.
trap 'pkill -P "${peer_pid:-0}" 2> /dev/null; kill $mlpc_pid $peer_pid 2> /dev/null || true
  wait 2> /dev/null; rm -rf "$work"' EXIT
"$mlpc" run "$spec" --quiet --out "$work/model" > /dev/null
"$mlpc" export "$work/model" > /dev/null
name=$(sed -n 's/^name: *//p' "$spec")
test_csv=$(python3 -c "import yaml,os,sys; s=yaml.safe_load(open(sys.argv[1])); d=s['data']; print(os.path.join(os.path.dirname(sys.argv[1]), d.get('test') or d['train']))" "$spec")
python3 - "$work" "$test_csv" "$work/model/model.onnx" << 'PY'
import csv, json, sys
import onnx
work, data, model = sys.argv[1:4]
meta = {p.key: p.value for p in onnx.load(model).metadata_props}
features = json.loads(meta["feature_names"])
rows = [{f: float(r[f]) for f in features} for r in csv.DictReader(open(data))]
json.dump({"instances": rows[:1]}, open(f"{work}/one.json", "w"))
json.dump({"instances": [rows[i % len(rows)] for i in range(64)]}, open(f"{work}/b64.json", "w"))
PY
cat > "$work/post.lua" << 'LUA'
local f = io.open(os.getenv("BODY"), "r")
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local pause = tonumber(os.getenv("PAUSE_MS") or "0")
if pause > 0 then
  function delay() return pause end
end
LUA
taskset -c "$cpus" "$mlpc" serve "$work/model" --port 18471 --quiet 2> "$work/mlpc.log" &
mlpc_pid=$!
(cd bench && PEER_MODEL="$work/model/model.onnx" taskset -c "$cpus" "$venv/bin/uvicorn" \
  serve_peer:app --port 18472 --workers "$workers" --log-level warning --no-access-log \
  2> "$work/peer.log") &
peer_pid=$!
for port in 18471 18472; do
  for _ in $(seq 100); do
    curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d @"$work/one.json" \
      "http://127.0.0.1:$port/v1/models/$name:predict" && break
    sleep 0.2
  done
done
# The same answers from both, on the 64-row body.
for port in 18471 18472; do
  curl -sf -X POST -H 'Content-Type: application/json' -d @"$work/b64.json" \
    "http://127.0.0.1:$port/v1/models/$name:predict" > "$work/answer-$port.json"
done
python3 - "$work" << 'PY'
import json, sys
a, b = (json.load(open(f"{sys.argv[1]}/answer-{p}.json"))["predictions"] for p in (18471, 18472))
ok = all(x == y if isinstance(x, str) else abs(x - y) <= 1e-5 * max(1, abs(x)) for x, y in zip(a, b))
assert len(a) == len(b) == 64 and ok, f"the servers disagree: {a} vs {b}"
PY
run() {  # server port body connections repetition [pause_ms] -> wrk output file
  local out="$work/wrk-$1-$3-$4-$5${6:+-paced}"
  local threads=$(($4 < load_threads ? $4 : load_threads))
  BODY="$work/$3.json" PAUSE_MS=${6:-0} taskset -c "$load_cpus" wrk -t"$threads" -c"$4" -d1s -s "$work/post.lua" \
    "http://127.0.0.1:$2/v1/models/$name:predict" > /dev/null
  BODY="$work/$3.json" PAUSE_MS=${6:-0} taskset -c "$load_cpus" wrk -t"$threads" -c"$4" -d"${duration}s" --latency \
    -s "$work/post.lua" "http://127.0.0.1:$2/v1/models/$name:predict" > "$out"
}
# Each point REPEAT times, mlpc and the peer alternated (this guest's speed drifts within
# minutes): the tables give the medians, and each ratio is of the medians.
for body in one b64; do
  for c in 1 16 64; do
    for k in $(seq "$repeat"); do
      run mlpc 18471 "$body" "$c" "$k"
      run peer 18472 "$body" "$c" "$k"
    done
  done
done
# mlpc's highest single-row rate: the highest median over the connection counts.
best=$(python3 - "$work" "$repeat" << 'PY'
import re, statistics, sys
work, repeat = sys.argv[1], int(sys.argv[2])
rate = lambda c, k: float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"{work}/wrk-mlpc-one-{c}-{k}").read()).group(1))
print(max(statistics.median(rate(c, k) for k in range(1, repeat + 1)) for c in (1, 16, 64)))
PY
)
# mlpc at 80 % of it: connections each pausing 1 ms between requests (wrk's delay() counts
# whole milliseconds; a request takes about 0.2 ms more).
paced=$(python3 -c "print(max(1, round(0.8 * $best * 0.0012)))")
run mlpc 18471 one "$paced" 1 1
# A rate held exactly (bench/rate_load.c, open loop as wrk2: latency from when a request was due):
# 20, 40, 60 and 80 % of the highest single-row rate, 16 connections, 10 s after 2 s, REPEAT
# times each.
cc -O2 -o "$work/rate_load" bench/rate_load.c
for k in $(seq "$repeat"); do
  for share in 20 40 60 80; do
    taskset -c "$load_cpus" "$work/rate_load" 18471 "/v1/models/$name:predict" "$work/one.json" \
      "$(python3 -c "print(round($best * $share / 100))")" 16 10 2 > "$work/held-$share-$k" || true
  done
done
"$mlpc" bench --predict "$work/model" --rows 1,64 > "$work/inprocess.txt"
"$venv/bin/python" - "$work/model/model.onnx" > "$work/ort.txt" << 'PY'
import sys, timeit, json
import numpy as np, onnx, onnxruntime
o = onnxruntime.SessionOptions(); o.intra_op_num_threads = 1
s = onnxruntime.InferenceSession(sys.argv[1], o, providers=["CPUExecutionProvider"])
n = len(json.loads({p.key: p.value for p in onnx.load(sys.argv[1]).metadata_props}["feature_names"]))
x = np.random.rand(1, n).astype(np.float32); name = s.get_inputs()[0].name
for _ in range(1000): s.run(None, {name: x})
t = sorted(timeit.repeat(lambda: s.run(None, {name: x}), number=2000, repeat=15))[7] / 2000
print(f"ONNX Runtime session.run, 1 row: {t * 1e6:.2f} µs")
PY
python3 - "$work" "$paced" "$repeat" << 'PY'
import re, statistics, sys, subprocess
work, paced, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
def read(name):
    t = open(f"{work}/{name}").read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    def pct(p):
        v, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", t, re.M).groups()
        return float(v) * {"us": 1e-3, "ms": 1, "s": 1e3}[unit]
    return rps, pct(50), pct(99)
def median(server, body, c):
    runs = [read(f"wrk-{server}-{body}-{c}-{k}") for k in range(1, repeat + 1)]
    return tuple(statistics.median(r[i] for r in runs) for i in range(3)), [r[0] for r in runs]
cpu = re.search(r"model name\s+:\s+(.*)", open("/proc/cpuinfo").read()).group(1)
flags = open("/proc/cpuinfo").read()
isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "baseline"
print(f"CPU: {cpu} ({isa}), {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} CPUs; medians of {repeat} alternated runs per point")
print("| rows per request | connections | mlpc req/s | mlpc p50 / p99 ms | peer req/s | peer p50 / p99 ms | mlpc ÷ peer | each run's ratio |")
print("|---|---|---|---|---|---|---|---|")
for body, rows in (("one", 1), ("b64", 64)):
    for c in (1, 16, 64):
        (m, mr), (p, pr) = median("mlpc", body, c), median("peer", body, c)
        each = " / ".join(f"{a / b:.1f}" for a, b in zip(mr, pr))
        print(f"| {rows} | {c} | {m[0]:,.0f} | {m[1]:.2f} / {m[2]:.2f} | {p[0]:,.0f} | {p[1]:.2f} / {p[2]:.2f} | {m[0] / p[0]:.1f}× | {each} |")
r = read(f"wrk-mlpc-one-{paced}-1-paced")
print(f"\nmlpc paced toward 80 % of its highest single-row rate ({paced} connections, 1 ms apart): {r[0]:,.0f} req/s, p50 {r[1]:.2f} ms, p99 {r[2]:.2f} ms")
for share in (20, 40, 60, 80):
    lines = [open(f"{work}/held-{share}-{k}").read().strip() for k in range(1, repeat + 1)]
    p99 = [float(m.group(1)) for m in (re.search(r"p99 ([\d.]+)", l) for l in lines) if m]
    print(f"held at {share} % of it (bench/rate_load.c, 16 connections): p99 " + " / ".join(f"{x:.2f}" for x in p99) + f" ms, median {statistics.median(p99):.2f} ms" if p99 else f"held at {share} %: no answers")
    for l in lines:
        print(f"  {l}")
print(open(f"{work}/inprocess.txt").read().rstrip())
print(open(f"{work}/ort.txt").read().rstrip())
PY
