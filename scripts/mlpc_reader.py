"""Reads a model.safetensors written by mlpc (format 2) and runs it on rows in numpy, from the
file alone: docs/run-output.md shows this file, and a test compares it with `mlpc predict`.
Usage: mlpc_reader.py MODEL_OR_RUN DATA.csv  (prints the predicted class and the outputs)"""
import csv
import json
import os
import sys

import numpy as np
from safetensors import safe_open


def load(path):
    """The model's description (a dict) and its tensors (name -> array)."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors")
    with safe_open(path, "np") as f:
        meta = json.loads(f.metadata()["mlpc"])
        tensors = {name: f.get_tensor(name) for name in f.keys()}
    return meta, tensors


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ACTIVATIONS = {
    "identity": lambda z, p: z,
    "sigmoid": lambda z, p: 1 / (1 + np.exp(-z)),
    "tanh": lambda z, p: np.tanh(z),
    "relu": lambda z, p: np.maximum(z, 0),
    "leaky_relu": lambda z, p: np.where(z > 0, z, p["negative_slope"] * z),
    "elu": lambda z, p: np.where(z > 0, z, p["alpha"] * np.expm1(np.minimum(z, 0))),
    "softplus": lambda z, p: np.logaddexp(0, z),
    "softmax": lambda z, p: softmax(z),
}


def forward(meta, tensors, x):
    """x^N for rows x (rows, features), features in meta["features"] order."""
    x = np.asarray(x, dtype=np.float64)
    if meta["standardized"]:
        x = (x - tensors["input.mean"]) / tensors["input.std"]
    for layer in meta["layers"]:
        z = x @ tensors[layer["name"] + ".weight"].T + tensors[layer["name"] + ".bias"]
        x = ACTIVATIONS[layer["activation"]](z, layer["parameters"])
    return x


def probabilities(out):
    """Class probabilities: softmax outputs as they are; one sigmoid unit p gives (1 - p, p)."""
    return np.hstack([1 - out, out]) if out.shape[1] == 1 else out


def predicted_classes(meta, out):
    """Class names: the most probable class (one sigmoid unit: class 1 when p >= 0.5)."""
    index = (out[:, 0] >= 0.5).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
    return [meta["classes"][i] for i in index]


def main(model, data):
    meta, tensors = load(model)
    with open(data, newline="") as f:
        rows = list(csv.DictReader(f))
    x = [[float(row[name]) for name in meta["features"]] for row in rows]
    out = forward(meta, tensors, x)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if meta["task"] == "classification":
        writer.writerow(["predicted"] + ["p_" + c for c in meta["classes"]])
        for name, p in zip(predicted_classes(meta, out), probabilities(out)):
            writer.writerow([name] + [repr(float(v)) for v in p])
    else:
        writer.writerow(meta["targets"])
        for values in out:
            writer.writerow([repr(float(v)) for v in values])


if __name__ == "__main__":
    main(*sys.argv[1:])
