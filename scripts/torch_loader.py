"""Loads a model.safetensors written by mlpc into PyTorch as an nn.Sequential: the
standardisation first when the model has one (as mlpc applies it; leaving it out gives wrong
outputs without an error), then each layer as nn.Linear and its activation. Raw-table models
(format 4) read their rows through mlpc_reader.encode, which applies the feature transforms.
docs/run-output.md shows this file, and a test compares it with `mlpc predict`.
Usage: torch_loader.py MODEL_OR_RUN DATA.csv  (prints the outputs: probabilities or targets)"""
import csv
import sys

import numpy as np
import torch
from torch import nn

import mlpc_reader


class FrontScale(nn.Module):
    """x ↦ x ⊙ s, the learned scale in front of the first layer (`front_scale: true`)."""

    def __init__(self, scale):
        super().__init__()
        self.scale = nn.Parameter(scale)

    def forward(self, x):
        return x * self.scale


class EnsembleInput(nn.Module):
    """x (B, d) ↦ (k, B, d): member m's copy of the rows times its adapter r_m (`ensemble: k`)."""

    def __init__(self, adapter):
        super().__init__()
        self.adapter = nn.Parameter(adapter)

    def forward(self, x):
        return x[None] * self.adapter[:, None, :]


class EnsembleLinear(nn.Module):
    """(k, B, in) ↦ (k, B, out): each member's own layer, weight (k, out, in)."""

    def __init__(self, weight, bias):
        super().__init__()
        self.weight, self.bias = nn.Parameter(weight), nn.Parameter(bias)

    def forward(self, x):
        return torch.einsum("kri,koi->kro", x, self.weight) + self.bias[:, None, :]


class BatchEnsembleLinear(nn.Module):
    """(k, B, in) ↦ (k, B, out): TabM's layer (x ⊙ r_m) Wᵀ ⊙ s_m + b_m, W shared, r (k, in)
    (all ones for the first layer, whose r is the adapter in front), s and b (k, out)."""

    def __init__(self, weight, r, s, bias):
        super().__init__()
        self.weight, self.r, self.s = nn.Parameter(weight), nn.Parameter(r), nn.Parameter(s)
        self.bias = nn.Parameter(bias)

    def forward(self, x):
        return (x * self.r[:, None, :]) @ self.weight.T * self.s[:, None, :] + self.bias[:, None, :]


class MemberMean(nn.Module):
    """The members' mean of probabilities or values: (k, B, C) ↦ (B, C)."""

    def forward(self, x):
        return x.mean(dim=0)


class Standardize(nn.Module):
    """x ↦ (x − mean) / std, the inputs as mlpc trained on them."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x):
        return (x - self.mean) / self.std


ACTIVATIONS = {
    "identity": lambda p: nn.Identity(),
    "sigmoid": lambda p: nn.Sigmoid(),
    "tanh": lambda p: nn.Tanh(),
    "relu": lambda p: nn.ReLU(),
    "leaky_relu": lambda p: nn.LeakyReLU(p["negative_slope"]),
    "elu": lambda p: nn.ELU(p["alpha"]),
    "softplus": lambda p: nn.Softplus(),
    "softmax": lambda p: nn.Softmax(dim=-1),
    "gelu": lambda p: nn.GELU(),
    "gelu_tanh": lambda p: nn.GELU(approximate="tanh"),
    "silu": lambda p: nn.SiLU(),
}


def load(path):
    """The model's description and its network as a torch module (float32)."""
    meta, arrays = mlpc_reader.load(path)
    tensors = {name: torch.from_numpy(np.array(a, dtype=np.float32)) for name, a in arrays.items()}
    modules = []
    if meta["standardized"]:
        modules.append(Standardize(tensors["input.mean"], tensors["input.std"]))
    if meta.get("front_scale"):
        modules.append(FrontScale(tensors["front.scale"]))
    members = meta.get("ensemble", 1)
    if members > 1:  # independent members (no adapters) read the rows as they are
        modules.append(EnsembleInput(tensors.get("ensemble.adapter", torch.ones(members, 1))))
    inputs = meta["input"]
    for layer in meta["layers"]:
        weight, bias = tensors[layer["name"] + ".weight"], tensors[layer["name"] + ".bias"]
        if weight.dim() == 3:  # the members' own layers
            linear = EnsembleLinear(weight, bias)
        elif layer["name"] + ".output_scale" in tensors:  # TabM's BatchEnsemble layers
            s = tensors[layer["name"] + ".output_scale"]
            r = tensors.get(layer["name"] + ".input_scale", torch.ones(s.shape[0], inputs))
            linear = BatchEnsembleLinear(weight, r, s, bias)
        else:
            linear = nn.Linear(inputs, layer["units"])
            with torch.no_grad():
                linear.weight.copy_(weight)
                linear.bias.copy_(bias)
        modules += [linear, ACTIVATIONS[layer["activation"]](layer["parameters"])]
        inputs = layer["units"]
    if meta.get("ensemble", 1) > 1:
        modules.append(MemberMean())
    return meta, arrays, nn.Sequential(*modules).eval()


def main(model, data):
    meta, arrays, network = load(model)
    with open(data, newline="") as f:
        rows = list(csv.DictReader(f))
    x = torch.tensor(mlpc_reader.encode(meta, rows, arrays), dtype=torch.float32)
    with torch.no_grad():
        out = network(x).double().numpy()
    if meta["task"] == "classification":
        out = mlpc_reader.probabilities(out)
    else:
        out = mlpc_reader.targets(meta, out)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    for values in out:
        writer.writerow([repr(float(v)) for v in values])


if __name__ == "__main__":
    main(*sys.argv[1:])
