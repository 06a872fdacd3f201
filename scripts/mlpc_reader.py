"""Reads a model.safetensors written by mlpc (formats 2 to 4) and runs it on raw CSV rows in numpy,
from the file alone: feature transforms, network, target scaling. docs/run-output.md shows this
file, and a test compares it with `mlpc predict`.
Usage: mlpc_reader.py MODEL_OR_RUN DATA.csv  (prints the predicted class and the outputs)"""
import csv
import json
import math
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
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATIONS = {
    "identity": lambda z, p: z,
    "sigmoid": lambda z, p: 1 / (1 + np.exp(-z)),
    "tanh": lambda z, p: np.tanh(z),
    "relu": lambda z, p: np.maximum(z, 0),
    "leaky_relu": lambda z, p: np.where(z > 0, z, p["negative_slope"] * z),
    "elu": lambda z, p: np.where(z > 0, z, p["alpha"] * np.expm1(np.minimum(z, 0))),
    "softplus": lambda z, p: np.logaddexp(0, z),
    "softmax": lambda z, p: softmax(z),
    "gelu": lambda z, p: 0.5 * z * (1 + np.vectorize(math.erf)(z / math.sqrt(2))),
    "gelu_tanh": lambda z, p: 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z**3))),
    "silu": lambda z, p: z / (1 + np.exp(-z)),
}


def piecewise_linear(v, edges):
    """One column per bin: (v − left edge) / width, clipped to [0, 1] (the first bin only above,
    the last only below, a single bin not at all)."""
    last = len(edges) - 2
    out = []
    for t in range(last + 1):
        u = (v - edges[t]) / (edges[t + 1] - edges[t])
        if last > 0:
            u = max(u, 0.0) if t > 0 else u
            u = min(u, 1.0) if t < last else u
        out.append(u)
    return out


def uniform(v, quantiles):
    """QuantileTransformer's forward map: the mean of interpolating upwards and downwards."""
    q = np.asarray(quantiles)
    if v == q[0]:
        return 0.0
    if v == q[-1]:
        return 1.0
    refs = np.linspace(0, 1, len(q))
    return 0.5 * (np.interp(v, q, refs) - np.interp(-v, -q[::-1], -refs[::-1]))


def periodic(v, name, settings, tensors):
    """A periodic embedding of the scaled value v: ReLU(W [cos 2πf·v, sin 2πf·v] + b)."""
    prefix = "periodic.lite" if settings["lite"] else name + ".periodic"
    angles = 2 * math.pi * v * np.asarray(tensors[name + ".periodic.frequencies"], dtype=float)
    features = np.concatenate([np.cos(angles), np.sin(angles)])
    z = np.asarray(tensors[prefix + ".weight"]) @ features + np.asarray(tensors[prefix + ".bias"])
    return list(np.maximum(z, 0))


def encode(meta, rows, tensors):
    """The input matrix of raw rows (dicts by column name): the model's feature transforms
    (format 4, embedding tables and periodic embeddings from tensors), or the feature columns as numbers."""
    t = meta.get("transforms")
    if t is None:
        return np.array([[float(row[name]) for name in meta["features"]] for row in rows])
    missing = set(t["missing_values"])
    matrix = []
    for row in rows:
        x = []
        for column in t["columns"]:
            cell = row[column["name"]].strip()
            if "numeric" in column:
                n = column["numeric"]
                value = n.get("fill") if cell in missing else float(cell)
                if value is None:
                    raise ValueError(f"missing cell in column {column['name']!r}")
                scaling = n["scaling"]
                if scaling in ("standard", "robust", "minmax"):
                    x.append((value - n["center"]) / n["scale"])
                elif scaling == "log":
                    x.append(np.log1p(value))
                elif scaling == "quantile":
                    x.append(uniform(value, n["quantiles"]))
                elif scaling == "robust_smooth_clip":
                    v = (value - n["center"]) / n["scale"]
                    x.append(v / math.sqrt(1 + v * v / 9))
                elif scaling == "piecewise_linear":
                    x.extend(piecewise_linear(value, n["edges"]))
                else:
                    x.append(value)
                if n.get("periodic"):
                    x.extend(periodic(x.pop(), column["name"], n["periodic"], tensors))
                if n["indicator"]:
                    x.append(1.0 if cell in missing else 0.0)
            else:
                k = column["categorical"]
                if k.get("binary"):
                    x.append(1.0 if cell == k["levels"][1] else 0.0)  # a boolean column
                    continue
                level = "\u0000missing" if cell in missing else cell
                if "embedding_dim" in k:
                    # The level's row of the learned table; the last row: "other" or unseen.
                    i = k["levels"].index(level) if level in k["levels"] else len(k["levels"])
                    x.extend(tensors[column["name"] + ".embedding"][i])
                    continue
                onehot = [0.0] * (len(k["levels"]) + (1 if k["infrequent"] else 0))
                if level in k["levels"]:
                    onehot[k["levels"].index(level)] = 1.0
                elif k["infrequent"]:
                    onehot[-1] = 1.0  # an infrequent or unseen level
                x.extend(onehot)
        matrix.append(x)
    return np.array(matrix)


def targets(meta, out):
    """Regression outputs in the targets' own units (format 4's target scaling inverted)."""
    t = meta.get("target_scale")
    if t is None or t["scaling"] == "none":
        return out
    if t["scaling"] == "log":
        return np.expm1(out)
    return out * np.array(t["scale"]) + np.array(t["center"])


def forward(meta, tensors, x):
    """x^N for rows x (rows, features), features in meta["features"] order."""
    x = np.asarray(x, dtype=np.float64)
    if meta["standardized"]:
        x = (x - tensors["input.mean"]) / tensors["input.std"]
    if meta.get("front_scale"):
        x = x * tensors["front.scale"]  # the learned scale in front of layer 1
    members = meta.get("ensemble", 1)
    if members > 1:  # (k, rows, features): member m reads x ⊙ its adapter r_m (TabM-mini)
        x = x[None] * tensors.get("ensemble.adapter", np.ones((members, 1)))[:, None, :]
    for layer in meta["layers"]:
        name = layer["name"]
        w, b = tensors[name + ".weight"], tensors[name + ".bias"]
        if w.ndim == 3:  # the members' own layers, one (out, in) per member
            z = np.einsum("kri,koi->kro", x, w) + b[:, None, :]
        elif name + ".output_scale" in tensors:  # TabM: (x ⊙ r_m) Wᵀ ⊙ s_m + b_m
            if name + ".input_scale" in tensors:
                x = x * tensors[name + ".input_scale"][:, None, :]
            z = (x @ w.T) * tensors[name + ".output_scale"][:, None, :] + b[:, None, :]
        else:
            z = x @ w.T + b
        x = ACTIVATIONS[layer["activation"]](z, layer["parameters"])
    return x.mean(axis=0) if members > 1 else x  # the members' mean


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
    out = forward(meta, tensors, encode(meta, rows, tensors))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if meta["task"] == "classification":
        writer.writerow(["predicted"] + ["p_" + c for c in meta["classes"]])
        for name, p in zip(predicted_classes(meta, out), probabilities(out)):
            writer.writerow([name] + [repr(float(v)) for v in p])
    else:
        writer.writerow(meta["targets"])
        for values in targets(meta, out):
            writer.writerow([repr(float(v)) for v in values])


if __name__ == "__main__":
    main(*sys.argv[1:])
