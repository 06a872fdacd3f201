#!/usr/bin/env python3
"""Starts TensorBoard on a sweep's directory and asks its HParams plugin (the API behind the
HParams tab) for the sessions: one per run of the sweep, each with the run's training settings
as hyperparameters, its final train/loss as a metric (equal to the last metrics.jsonl line, to
float precision) and a successful status.

usage: check_hparams.py SWEEP_DIR
Prints one line; exits 1 with the first difference."""
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request


def fail(message):
    print("check_hparams: " + message, file=sys.stderr)
    sys.exit(1)


def post(port, path, body):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/data/plugin/hparams/{path}", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"})
    return json.load(urllib.request.urlopen(request, timeout=10))


def main():
    sweep = sys.argv[1]
    runs = sorted(d for d in os.listdir(sweep)
                  if os.path.exists(os.path.join(sweep, d, "metrics.jsonl")))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    board = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", sweep, "--host", "127.0.0.1",
         "--port", str(port), "--reload_interval", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        groups = None
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                groups = post(port, "session_groups", {
                    "experimentName": "", "startIndex": 0, "sliceSize": 100, "colParams": [],
                    "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE",
                                        "STATUS_RUNNING"]})["sessionGroups"]
                if len(groups) >= len(runs):
                    break
            except Exception:
                pass
            time.sleep(1)
        if not groups:
            fail(f"{sweep}: TensorBoard's HParams plugin lists no sessions")
        by_name = {g["name"]: g for g in groups}
        if sorted(by_name) != runs:
            fail(f"{sweep}: sessions {sorted(by_name)}, runs {runs}")
        for run in runs:
            group = by_name[run]
            config = json.load(open(os.path.join(sweep, run, "config.json")))
            rate = config["model"]["training"]["training"]["learning_rate"]
            if group["hparams"].get("training.learning_rate") != rate:
                fail(f"{run}: hparam training.learning_rate {group['hparams'].get('training.learning_rate')}, config.json {rate}")
            last = [json.loads(x) for x in open(os.path.join(sweep, run, "metrics.jsonl"))][-1]
            metrics = {m["name"]["tag"]: m["value"] for m in group.get("metricValues", [])}
            if not math.isclose(metrics.get("train/loss", math.nan), last["train_loss"],
                                rel_tol=2e-7):
                fail(f"{run}: final train/loss {metrics.get('train/loss')}, metrics.jsonl {last['train_loss']}")
            status = group["sessions"][0].get("status")
            if status != "STATUS_SUCCESS":
                fail(f"{run}: status {status}")
        print(f"{sweep}: the HParams tab lists {len(runs)} sessions with their settings, final "
              "metrics and status")
    finally:
        # SIGKILL: a SIGTERM ignored by the caller stays ignored in TensorBoard too.
        board.kill()
        board.wait(timeout=30)


main()
