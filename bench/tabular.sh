#!/usr/bin/env bash
# Installs the tabular peers (scikit-learn, LightGBM, XGBoost, CatBoost, pytabkit's TabM and
# RealMLP on PyTorch CPU) and the offline tables into bench/.venv-tabular, builds mlpc in
# release mode and runs bench/tabular.py with the given options.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x bench/.venv-tabular/bin/python ] || python3 -m venv bench/.venv-tabular
bench/.venv-tabular/bin/pip install --quiet --disable-pip-version-check -r bench/requirements-tabular.txt
swift build -c release --product mlpc
bench/.venv-tabular/bin/python bench/tabular.py "$@"
