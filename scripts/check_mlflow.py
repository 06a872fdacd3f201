#!/usr/bin/env python3
"""Reads an mlpc run back from an MLflow tracking server with the mlflow client and checks it
against the run directory: the status, the params (every training setting of config.json), the
metrics per epoch equal to metrics.jsonl, and every artifact byte-identical to the run's file.

usage: check_mlflow.py TRACKING_URI RUN_DIR STATUS [--parent PARENT_RUN_DIR_OR_SWEEP]
Prints one line; exits 1 with the first difference."""
import filecmp
import json
import math
import os
import sys
import tempfile

import mlflow
from mlflow.tracking import MlflowClient


def fail(message):
    print("check_mlflow: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    uri, run_dir, status = sys.argv[1:4]
    parent = sys.argv[sys.argv.index("--parent") + 1] if "--parent" in sys.argv else None
    # A sweep's run holds its axes as params and the sweep's table as artifacts, no metrics.
    sweep = "--no-metrics" in sys.argv
    client = MlflowClient(tracking_uri=uri)
    record = json.load(open(os.path.join(run_dir, "mlflow.json")))
    run = client.get_run(record["run_id"])
    if run.info.status != status:
        fail(f"{run_dir}: status {run.info.status}, expected {status}")
    if run.data.tags.get("mlflow.runName") != os.path.basename(os.path.normpath(run_dir)):
        fail(f"{run_dir}: run name {run.data.tags.get('mlflow.runName')}")
    for tag in ("mlpc.version", "mlpc.cpu", "mlpc.isa", "mlflow.source.name"):
        if not run.data.tags.get(tag):
            fail(f"{run_dir}: no tag {tag}")
    if parent is not None:
        want = json.load(open(os.path.join(parent, "mlflow.json")))["run_id"] \
            if os.path.exists(os.path.join(parent, "mlflow.json")) else parent
        if run.data.tags.get("mlflow.parentRunId") != want:
            fail(f"{run_dir}: parent {run.data.tags.get('mlflow.parentRunId')}, expected {want}")
    config = {"model": {"training": {}}} if sweep else \
        json.load(open(os.path.join(run_dir, "config.json")))
    for section, settings in config["model"]["training"].items():
        prefix = "training." if section == "training" else f"training.{section}."
        for key, value in settings.items():
            if value is None:
                continue
            got = run.data.params.get(prefix + key)
            text = ("true" if value else "false") if isinstance(value, bool) else None
            if got is None or (text is not None and got != text) or \
                    (text is None and isinstance(value, (int, float)) and float(got) != value):
                fail(f"{run_dir}: param {prefix + key} = {got}, config.json {value}")
    metrics_file = os.path.join(run_dir, "metrics.jsonl")
    lines = [] if sweep else [json.loads(x) for x in open(metrics_file) if x.strip()]
    expected = {}
    for line in lines:
        e = line["epoch"]
        values = {"train/loss": line.get("train_loss"), "learning_rate": line.get("learning_rate"),
                  "seconds": line.get("seconds")}
        for split in ("validation", "test"):
            for metric, value in (line.get(split) or {}).items():
                values[f"{split}/{metric}"] = value
        for key, value in values.items():
            if value is not None:
                expected.setdefault(key, {})[e] = value
    count = 0
    for key, by_epoch in expected.items():
        history = client.get_metric_history(record["run_id"], key)
        got = {}
        for m in history:
            if m.step in got:
                fail(f"{run_dir}: {key} logged twice at epoch {m.step}")
            got[m.step] = m.value
        if set(got) != set(by_epoch):
            extra = sorted(set(got) - set(by_epoch))[:10]
            missing = sorted(set(by_epoch) - set(got))[:10]
            fail(f"{run_dir}: {key} in MLflow at epochs not in metrics.jsonl {extra}, "
                 f"missing at {missing}")
        for e, value in by_epoch.items():
            if not math.isclose(got[e], value, rel_tol=1e-12, abs_tol=0):
                fail(f"{run_dir}: {key} at epoch {e} is {got[e]}, metrics.jsonl {value}")
            count += 1
    names = sorted(f for f in os.listdir(run_dir)
                   if not f.startswith(".") and os.path.isfile(os.path.join(run_dir, f)))
    listed = sorted(a.path for a in client.list_artifacts(record["run_id"]) if not a.is_dir)
    if listed != names:
        fail(f"{run_dir}: artifacts {listed}, run files {names}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in listed:
            local = client.download_artifacts(record["run_id"], name, tmp)
            if not filecmp.cmp(local, os.path.join(run_dir, name), shallow=False):
                fail(f"{run_dir}: artifact {name} differs from the run's file")
    print(f"{run_dir}: {status}, {len(run.data.params)} params, {count} metric values equal to "
          f"metrics.jsonl, {len(listed)} artifacts byte-identical")


main()
