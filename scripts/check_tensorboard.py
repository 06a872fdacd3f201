#!/usr/bin/env python3
"""Reads a run's TensorBoard event files back with TensorBoard's own EventAccumulator and checks
them against the run: every number of every metrics.jsonl line is the scalar of its tag at its
epoch (to float precision), each step once, the settings are the resolved spec, and the HParams
session start holds the settings (and, when the run ended, the session end its status).

usage: check_tensorboard.py RUN_DIR [--status success|failure|running]
Prints one line per run; exits 1 with the first difference."""
import json
import math
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import plugin_data_pb2


def fail(message):
    print("check_tensorboard: " + message, file=sys.stderr)
    sys.exit(1)


def expected_scalars(line):
    out = {"train/loss": line.get("train_loss")}
    for split in ("validation", "test"):
        for metric, value in (line.get(split) or {}).items():
            out[split + "/" + metric] = value
    out["learning_rate"] = line.get("learning_rate")
    out["seconds"] = line.get("seconds")
    return {k: v for k, v in out.items() if v is not None}


def main():
    run = sys.argv[1]
    status = sys.argv[sys.argv.index("--status") + 1] if "--status" in sys.argv else None
    acc = event_accumulator.EventAccumulator(
        run, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0})
    acc.Reload()
    lines = [json.loads(x) for x in open(run + "/metrics.jsonl") if x.strip()]
    scalars = {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}
    seen = 0
    for line in lines:
        for tag, value in expected_scalars(line).items():
            events = [e for e in scalars.get(tag, []) if e.step == line["epoch"]]
            if len(events) != 1:
                fail(f"{run}: tag {tag} has {len(events)} events at epoch {line['epoch']}")
            got = events[0].value
            if not math.isclose(got, value, rel_tol=2e-7, abs_tol=1e-38):
                fail(f"{run}: {tag} at epoch {line['epoch']} is {got}, metrics.jsonl {value}")
            seen += 1
    epochs = {line["epoch"] for line in lines}
    for tag, events in scalars.items():
        steps = [e.step for e in events]
        if len(steps) != len(set(steps)) or set(steps) - epochs:
            fail(f"{run}: tag {tag} has steps {steps}, metrics.jsonl epochs {sorted(epochs)}")
    tensors = acc.Tags()["tensors"]
    if "settings" not in tensors:
        fail(f"{run}: no settings text")
    text = acc.Tensors("settings")[-1].tensor_proto.string_val[0].decode()
    if text != open(run + "/spec.resolved.yaml").read():
        fail(f"{run}: the settings text is not spec.resolved.yaml")
    starts = acc.SummaryMetadata("_hparams_/session_start_info").plugin_data
    data = plugin_data_pb2.HParamsPluginData.FromString(starts.content)
    if starts.plugin_name != "hparams" or not data.HasField("session_start_info"):
        fail(f"{run}: no HParams session start")
    hparams = data.session_start_info.hparams
    config = json.load(open(run + "/config.json"))
    training = config["model"]["training"]["training"]
    for key in ("learning_rate", "batch_size", "epochs"):
        if hparams["training." + key].number_value != training[key]:
            fail(f"{run}: hparam training.{key} {hparams['training.' + key]} != {training[key]}")
    ended = "_hparams_/session_end_info" in tensors
    if status is not None:
        if status == "running":
            if ended:
                fail(f"{run}: a session end in a run that goes on")
        else:
            if not ended:
                fail(f"{run}: no HParams session end")
            end = plugin_data_pb2.HParamsPluginData.FromString(
                acc.SummaryMetadata("_hparams_/session_end_info").plugin_data.content)
            want = {"success": 1, "failure": 2}[status]
            if end.session_end_info.status != want:
                fail(f"{run}: session end status {end.session_end_info.status}, expected {want}")
    print(f"{run}: {len(lines)} epochs, {seen} scalars equal to metrics.jsonl, "
          f"{len(hparams)} hyperparameters, session {'ended' if ended else 'open'}")


main()
