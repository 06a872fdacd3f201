#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/) with the fuzzer and address sanitizers (linked with lld:
# gold fails on the sanitizer objects) and runs each for
# SECONDS (default 60) on a seed corpus made from specs/, specs/invalid/, the CSV files,
# Fuzz/seeds/ (model files and checkpoints, written by scripts/fuzz_seeds.sh) and
# Fuzz/regressions/ (inputs that once crashed a target).
# Crashes are written to fuzz/crashes/ and make the script fail.
# With FUZZ_RUNS=N each target instead runs N inputs from a fixed seed, the same inputs on any
# machine (CI uses this, so its result does not depend on the machine's speed).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ $# -gt 0 ] || targets=(FuzzSpec FuzzCSV FuzzModel)
build=.build-fuzz
for target in "${targets[@]}"; do
  MLPC_FUZZ=1 swift build -c release --scratch-path "$build" --product "$target" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld > /dev/null
done
mkdir -p fuzz/crashes
status=0
for target in "${targets[@]}"; do
  corpus=$(mktemp -d)
  case "$target" in
    FuzzSpec) cp specs/*.yaml specs/invalid/*.yaml "$corpus"/ ;;
    FuzzCSV) cp specs/data/*.csv Tests/Fixtures/*.csv "$corpus"/ ;;
    *) cp Fuzz/seeds/"$target"/* "$corpus"/ ;;
  esac
  # Inputs that once crashed a target stay in its corpus.
  cp Fuzz/regressions/"$target"/* "$corpus"/ 2> /dev/null || true
  if [ -n "${FUZZ_RUNS:-}" ]; then echo "== $target: $FUZZ_RUNS inputs"; else echo "== $target: $seconds s"; fi
  if [ -n "${FUZZ_RUNS:-}" ]; then limit=(-runs="$FUZZ_RUNS" -seed=1); else limit=(-max_total_time="$seconds"); fi
  if ! "$build/release/$target" "$corpus" "${limit[@]}" -timeout=10 \
    -rss_limit_mb=4096 -max_len=65536 -artifact_prefix=fuzz/crashes/ -print_final_stats=1 \
    2>&1 | grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|artifact)"; then
    :
  fi
  if ls fuzz/crashes/ 2> /dev/null | grep -q .; then status=1; fi
  rm -rf "$corpus"
done
exit $status
