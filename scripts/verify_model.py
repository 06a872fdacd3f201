"""Reads a model.safetensors written by `mlpc run` with the safetensors package, runs the
network in numpy from its metadata, and checks that its test accuracy equals summary.json's.
Usage: verify_model.py RUN_DIR TEST_CSV TARGET_COLUMN"""
import csv
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

ACT = {
    "identity": lambda z: z, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "softplus": lambda z: np.logaddexp(0, z),
    "softmax": lambda z: np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True),
}


def main(run, test_csv, target):
    tensors = load_file(f"{run}/model.safetensors")
    with safe_open(f"{run}/model.safetensors", "np") as f:
        meta = f.metadata()
    with open(test_csv) as f:
        rows = list(csv.DictReader(f))
    features = meta["features"].split(",")
    classes = meta["classes"].split(",")
    x = np.array([[float(r[c]) for c in features] for r in rows], dtype=np.float32)
    if "input.mean" in tensors:
        x = (x - tensors["input.mean"]) / tensors["input.std"]
    for name, act in zip(meta["layers"].split(","), meta["activations"].split(",")):
        x = ACT[act](x @ tensors[f"{name}.weight"].T + tensors[f"{name}.bias"])
    labels = np.array([classes.index(r[target]) for r in rows])
    accuracy = float((x.argmax(1) == labels).mean())
    with open(f"{run}/summary.json") as f:
        reported = json.load(f)["test"]["accuracy"]
    print(f"numpy accuracy {accuracy:.4f}, mlpc reported {reported:.4f}")
    if abs(accuracy - reported) > 1e-9:
        sys.exit("model file and summary disagree")


if __name__ == "__main__":
    main(*sys.argv[1:])
