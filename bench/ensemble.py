"""Ensemble step time against k: mlpc's `ensemble: k` (TabM-mini) and the `tabm` package's
TabM-mini in PyTorch, same network (20 inputs, 3 hidden layers of 256 relu units, 2 classes),
batch 256, Adam, float32, in one run. mlpc's step is `mlpc bench`'s median (after its warm-up);
PyTorch's the median of 60 steps (forward, loss over the k·B member rows, backward, Adam) after
10 warm-up steps, with as many threads as mlpc's pool. Prints a markdown table: step time,
its growth over k = 1, and mlpc / PyTorch. `--kind batch_ensemble` compares mlpc's TabM with the
package's `arch_type='tabm'`, `--kind independent` its k separate networks with 'tabm-packed'.
Usage: bench/.venv-tabular/bin/python bench/ensemble.py [--kind KIND] [path/to/release/mlpc]"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import tabm
import torch
import torch.nn.functional as F

MEMBERS = [1, 2, 4, 8, 16, 32]
KIND = "mini"
ARCH = {"mini": "tabm-mini", "batch_ensemble": "tabm", "independent": "tabm-packed"}
INPUTS, WIDTH, BLOCKS, BATCH, CLASSES = 20, 256, 3, 256, 2


def spec(k):
    layers = ", ".join(["{units: %d, activation: relu}" % WIDTH] * BLOCKS)
    return f"""task: classification
input: {INPUTS}
ensemble: {{members: {k}, kind: {KIND}}}
layers: [{layers}, {{units: {CLASSES}, activation: softmax}}]
loss: cross_entropy
data: {{generator: blobs, classes: {CLASSES}, dimensions: {INPUTS}, samples: 4096}}
training: {{batch_size: {BATCH}, optimizer: adam, learning_rate: 0.001}}
"""


def mlpc_step(binary, k, folder):
    path = os.path.join(folder, f"k{k}.yaml")
    with open(path, "w") as f:
        f.write(spec(k))
    out = subprocess.run([binary, "bench", path, "--format", "json"], capture_output=True,
                         text=True, check=True).stdout
    record = json.loads(out.splitlines()[0])
    return record["step"]["median_s"], record


def torch_step(k, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = tabm.TabM.make(n_num_features=INPUTS, d_out=CLASSES, k=k, arch_type=ARCH[KIND],
                           n_blocks=BLOCKS, d_block=WIDTH, dropout=0.0, activation="ReLU")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(BATCH, INPUTS)
    y = torch.randint(0, CLASSES, (BATCH,))
    times = []
    for i in range(70):
        start = time.perf_counter()
        optimizer.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out.flatten(0, 1), y.repeat_interleave(k))
        loss.backward()
        optimizer.step()
        if i >= 10:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    global KIND
    args = sys.argv[1:]
    if args[:1] == ["--kind"]:
        KIND = args[1]
        args = args[2:]
    binary = args[0] if args else ".build/release/mlpc"
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for k in MEMBERS:
            ours, record = mlpc_step(binary, k, folder)
            theirs = torch_step(k, record["threads"])
            rows.append((k, ours, theirs))
            print(f"k={k}: mlpc {ours * 1e3:.3f} ms, PyTorch tabm {theirs * 1e3:.3f} ms", flush=True)
    print(f"\nkind {KIND} (tabm arch_type {ARCH[KIND]!r});"
          f" CPU: {record['cpu']}, kernels {record['kernel_isa']}, {record['threads']} threads;"
          f" torch {torch.__version__}, tabm {getattr(tabm, '__version__', '?')}\n")
    print("| k | mlpc step (ms) | × k=1 | tabm (PyTorch) step (ms) | × k=1 | mlpc / PyTorch |")
    print("|---|---|---|---|---|---|")
    for k, ours, theirs in rows:
        print(f"| {k} | {ours * 1e3:.3f} | {ours / rows[0][1]:.2f} | {theirs * 1e3:.3f} |"
              f" {theirs / rows[0][2]:.2f} | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()
