#!/usr/bin/env bash
# Distributed training measurements for docs/distributed.md (release build with the MPI trait,
# root for the namespaces): W1 (784-256-128-10, batch 128) on the first 6000 rows of
# bench/out/w1.csv (bench/run.sh makes it), ms per step as the median of epochs 2-4 in
# metrics.jsonl; three runs each.
#   1 rank x 2 threads, 1 rank x 1 thread, 2 ranks x 1 thread (shared memory);
#   2 ranks x 1 thread in two network namespaces over veth (scripts/emulated_network.sh),
#   unshaped and shaped to each bandwidth in RATES.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --traits MPI --scratch-path .build-mpi --product mlpc > /dev/null
mlpc=$PWD/.build-mpi/release/mlpc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -6001 bench/out/w1.csv > "$work/w1-small.csv"
sed -e "s#out/w1.csv#$work/w1-small.csv#" -e 's/epochs: 3/epochs: 4/' bench/w1.yaml > "$work/w1.yaml"
grep -m1 "model name" /proc/cpuinfo
grep -o -m1 "avx512f" /proc/cpuinfo > /dev/null && echo "AVX-512" || echo "AVX2"
per_step() {
  python3 -c "
import json, statistics, sys
lines = [json.loads(l) for l in open(sys.argv[1] + '/metrics.jsonl')]
print(f'{statistics.median(l[\"seconds\"] for l in lines[1:]) * 1000 / lines[0][\"steps\"]:.3f}')" "$1"
}
# Runs "$@" (writing to $work/run) until it succeeds (a namespace start can fail to connect back
# to mpirun), then prints ms per step.
measure() {
  for _ in 1 2 3 4 5; do
    rm -rf "$work/run"
    if "$@" > /dev/null 2>&1; then per_step "$work/run"; return; fi
  done
  echo "failed"
}
train=(run "$work/w1.yaml" --quiet --out "$work/run")
row() {
  local name=$1
  shift
  local values=()
  for _ in 1 2 3; do values+=("$(measure "$@")"); done
  echo "| $name | ${values[*]} |"
}
echo "| configuration | ms per step (3 runs) |"
echo "|---|---|"
row "1 rank × 2 threads" "$mlpc" "${train[@]}"
row "1 rank × 1 thread" env MLPC_THREADS=1 "$mlpc" "${train[@]}"
row "2 ranks × 1 thread, shared memory" env MLPC_THREADS=1 mpirun --allow-run-as-root -n 2 \
  --bind-to core -x MLPC_THREADS "$mlpc" "${train[@]}"
for rate in ${RATES:-none 10gbit 5gbit 2gbit 1gbit 500mbit 100mbit}; do
  row "2 ranks × 1 thread, veth, $rate" env MLPC_THREADS=1 scripts/emulated_network.sh run 2 \
    "$rate" 0 -- -x MLPC_THREADS "$mlpc" "${train[@]}"
done
