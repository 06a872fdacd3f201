#!/usr/bin/env bash
# Runs the README's loop as a new user would: installs mlpc with scripts/install.sh into a scratch
# prefix put on PATH, copies `specs/` into a scratch folder, and runs there every ```sh block that
# follows a `<!-- ci: readme-loop -->` line of README.md, in order, as written (stopping at the
# first command that fails). Then ONNX Runtime checks the raw-table export against mlpc predict.
# Usage: scripts/readme_loop.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/install.sh "$work/prefix"
export PATH="$work/prefix/bin:$PATH"
cp -r specs "$work/"
python3 - "$root/README.md" > "$work/loop.sh" << 'PY'
import re
import sys

text = open(sys.argv[1]).read()
blocks = re.findall(r"<!-- ci: readme-loop -->\n```sh\n(.*?)```", text, re.S)
if len(blocks) < 2:
    sys.exit("README.md: expected the loop and the raw-table blocks after <!-- ci: readme-loop -->")
print("set -euxo pipefail")
for block in blocks:
    print(block)
PY
(cd "$work" && bash loop.sh)
# What the loop wrote is what it says it writes.
for f in runs/iris/model.safetensors runs/iris/model.onnx runs/iris-2/model.safetensors \
  compare.svg predictions.csv runs/iris-sweep/sweep.csv runs/penguins/model.onnx; do
  [ -s "$work/$f" ] || { echo "the loop did not write $f"; exit 1; }
done
grep -q "^flower-1," "$work/predictions.csv" || { echo "predictions.csv lacks the kept ids"; exit 1; }
mlpc predict "$work/runs/penguins" specs/data/penguins.csv --probabilities --out "$work/prob.csv"
python3 scripts/check_onnx.py "$work/runs/penguins/model.onnx" specs/data/penguins.csv "$work/prob.csv"
echo "the README's loop ran as written"
