"""PyTorch's gelu (exact and tanh approximation) and silu in float32, with their derivatives by
autograd, on a grid of pre-activations: Tests/Fixtures/activations_torch.json, which
ElementwiseISATests compares every instruction set's kernels with. Needs torch (pinned in
.ci/run): python3 scripts/activation_torch.py"""
import json
import pathlib

import numpy as np
import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "activations_torch.json"

FUNCTIONS = {
    "gelu": torch.nn.functional.gelu,
    "gelu_tanh": lambda z: torch.nn.functional.gelu(z, approximate="tanh"),
    "silu": torch.nn.functional.silu,
}


def main():
    # −12…12 in steps of 1/64 (exact in float32), and wide values.
    grid = np.arange(-12 * 64, 12 * 64 + 1) / 64.0
    wide = np.array([-100.0, -50.0, -30.0, -20.0, -15.0, 15.0, 20.0, 30.0, 50.0, 100.0])
    z = np.concatenate([grid, wide]).astype(np.float32)
    out = {"z": z.astype(np.float64).tolist()}
    for name, f in FUNCTIONS.items():
        t = torch.tensor(z, dtype=torch.float32, requires_grad=True)
        x = f(t)
        x.sum().backward()
        out[name] = {"value": x.detach().double().tolist(), "derivative": t.grad.double().tolist()}
    OUT.write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
