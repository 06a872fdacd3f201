#!/usr/bin/env bash
# Writes the seed corpus of the FuzzModel target (Fuzz/seeds/FuzzModel/): the model files and
# latest checkpoints of small shipped specs (a softmax classifier, a sigmoid one, a standardised
# regression, raw tables with feature transforms and with embedding tables: format 4; one with a
# front scale and averaged weights; an ensemble; TabM over a periodic embedding), so the fuzzer
# starts from files mlpc really writes.
# Usage: scripts/fuzz_seeds.sh [MLPC_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
mlpc=${1:-.build/debug/mlpc}
out=Fuzz/seeds/FuzzModel
rm -rf "$out" && mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for spec in xor blobs-binary sine penguins mpg; do
  "$mlpc" run "specs/$spec.yaml" --quiet --epochs 2 --out "$tmp/$spec"
  cp "$tmp/$spec/model.safetensors" "$out/$spec-model.safetensors"
  cp "$(ls "$tmp/$spec"/checkpoints/*.safetensors | tail -1)" "$out/$spec-checkpoint.safetensors"
done
"$mlpc" run specs/penguins.yaml --quiet --epochs 2 --out "$tmp/front" \
  --set front_scale=true --set training.ema=0.99
cp "$tmp/front/model.safetensors" "$out/penguins-front-ema-model.safetensors"
cp "$(ls "$tmp/front"/checkpoints/*.safetensors | tail -1)" "$out/penguins-front-ema-checkpoint.safetensors"
"$mlpc" run specs/penguins.yaml --quiet --epochs 2 --out "$tmp/ensemble" --set ensemble=4
cp "$tmp/ensemble/model.safetensors" "$out/penguins-ensemble-model.safetensors"
cp "$(ls "$tmp/ensemble"/checkpoints/*.safetensors | tail -1)" "$out/penguins-ensemble-checkpoint.safetensors"
sed -e 's/^input: 11$/ensemble: {members: 3, kind: batch_ensemble}/' \
  -e 's/    bill_length_mm: {type: numeric, missing: median}/    bill_length_mm: {type: numeric, missing: median, embedding: periodic, frequencies: 4, dim: 3}/' \
  -e 's|data/penguins.csv|'"$PWD"'/specs/data/penguins.csv|' specs/penguins.yaml > "$tmp/tabm.yaml"
"$mlpc" run "$tmp/tabm.yaml" --quiet --epochs 2 --out "$tmp/tabm"
cp "$tmp/tabm/model.safetensors" "$out/penguins-tabm-periodic-model.safetensors"
cp "$(ls "$tmp/tabm"/checkpoints/*.safetensors | tail -1)" "$out/penguins-tabm-periodic-checkpoint.safetensors"
ls -l "$out"
