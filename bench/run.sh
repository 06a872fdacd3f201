#!/usr/bin/env bash
# Installs the peers into bench/.venv, builds mlpc in release mode and runs the comparison.
# Options go to run.py: --contention, --rounds N, --peers numpy,torch,jax,sklearn, --load, --sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
bench/.venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
swift build -c release --product mlpc
bench/.venv/bin/python bench/run.py "$@"
