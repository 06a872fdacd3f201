"""Wall time of whole fits at the same number of epochs: mlpc's `init` recipe (TabM-mini of 8
members) against the same network in PyTorch built from the `tabm` package, and against
pytabkit's TabM-D and RealMLP-TD run for the same epochs, on bench/tabular.py's tables (seed 1's
75/25 split), 2 threads each.

  mlpc        `mlpc init TRAIN.csv --target T`, its two hidden layers set to 64 and 64 (tabm's
              blocks share one width), early stopping and the validation split removed,
              `training.epochs` E (the recipe's averaged weights kept: work the peer's loop does
              not do); the wall time of `mlpc run` (process start, CSV reading and
              the transforms' fitting, the E epochs, the model file written), and its E
              epochs alone (summary.json's `seconds`: the steps and each epoch's evaluation)
  torch-tabm  tabm.TabM.make(arch_type='tabm-mini', k=8, n_blocks=2, d_block=64) on the same
              n^0 (from `mlpc plan`), AdamW 0.002 with weight decay 0.1, the spec's batch size
              (`mlpc init` picks 32 for small tables, more for large ones), E epochs of
              shuffled mini-batches, the loss over the k·B member rows; the training loop alone
              (no data reading or preprocessing: random inputs of the encoded width)
  tabm-d      pytabkit TabM_D (its default network, batch 256 and PLR-free numerics), n_epochs E,
              patience E: the wall time of fit()
  realmlp-td  pytabkit RealMLP_TD (3×256 with PLR embeddings), n_epochs E: fit()
Prints a Markdown table with the seconds and each peer's time over mlpc's.
With --repeat N each table's fits run N times, mlpc and the peers alternated, and the table
gives the medians (each ratio of the medians) beside every run's own ratios.
Usage: bench/.venv-tabular/bin/python bench/fit_speed.py [--epochs E] [--tables a,b]
       [--methods a,b] [--repeat N] [--mlpc BINARY]"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

import tabular

warnings.filterwarnings("ignore")


def mlpc_fit(binary, train, target, epochs, folder):
    path = os.path.join(folder, "train.csv")
    train.to_csv(path, index=False)
    text = subprocess.run([binary, "init", path, "--target", target], check=True,
                          capture_output=True, text=True).stdout
    lines = []
    batch = 32
    for line in text.splitlines():
        if line.startswith("  batch_size:"):
            batch = int(line.split(":")[1].split("#")[0])
        if line.startswith("  validation_split:") or line.startswith("  stratify:") \
                or line.startswith("  early_stopping:"):
            continue
        if line.strip().startswith("- {units:") and "relu" in line:
            line = "  - {units: 64, activation: relu}"
        if line.startswith("  epochs:"):
            line = f"  epochs: {epochs}"
        lines.append(line)
    spec = os.path.join(folder, "spec.yaml")
    with open(spec, "w") as f:
        f.write("\n".join(lines) + "\n")
    plan = subprocess.run([binary, "plan", spec, "--format", "json"], check=True,
                          capture_output=True, text=True).stdout
    widths = json.loads(plan.split("\n}\n")[0] + "\n}")["widths"]
    start = time.perf_counter()
    subprocess.run([binary, "run", spec, "--quiet", "--force", "--out",
                    os.path.join(folder, "run")], check=True, capture_output=True)
    whole = time.perf_counter() - start
    with open(os.path.join(folder, "run", "summary.json")) as f:
        loop = json.load(f)["seconds"]
    return whole, loop, widths, batch


def torch_fit(widths, rows, task, epochs, size):
    import tabm
    torch.manual_seed(0)
    n0, hidden, out = widths[0], widths[1:-1], widths[-1]
    model = tabm.TabM.make(n_num_features=n0, d_out=out, k=8, arch_type="tabm-mini",
                           n_blocks=len(hidden), d_block=hidden[0], dropout=0.0,
                           activation="ReLU")
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.002, weight_decay=0.1)
    x = torch.randn(rows, n0)
    y = torch.randint(0, out, (rows,)) if task == "classification" else torch.randn(rows, out)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(rows)
        for i in range(0, rows, size):
            batch = order[i:i + size]
            optimizer.zero_grad()
            z = model(x[batch]).flatten(0, 1)  # (B·k, out)
            if task == "classification":
                loss = F.cross_entropy(z, y[batch].repeat_interleave(8))
            else:
                loss = F.mse_loss(z, y[batch].repeat_interleave(8, 0))
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def pytabkit_fit(method, train, test, target, task, epochs):
    from pytabkit import (RealMLP_TD_Classifier, RealMLP_TD_Regressor, TabM_D_Classifier,
                          TabM_D_Regressor)
    x, _, names = tabular.categorical(train, test, target)
    for c in x.columns:
        if c not in names and x[c].isna().any():
            x[c] = x[c].fillna(x[c].median())
    classify = task == "classification"
    if method == "tabm-d":
        kind = TabM_D_Classifier if classify else TabM_D_Regressor
        model = kind(random_state=1, device="cpu", n_epochs=epochs, patience=epochs,
                     n_threads=2)
    else:
        kind = RealMLP_TD_Classifier if classify else RealMLP_TD_Regressor
        model = kind(random_state=1, device="cpu", n_epochs=epochs, n_threads=2)
    start = time.perf_counter()
    model.fit(x, train[target])
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--tables", default="titanic,diamonds")
    parser.add_argument("--methods", default="torch-tabm,tabm-d,realmlp-td")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--mlpc", default=os.path.join(tabular.ROOT, ".build/release/mlpc"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    methods = args.methods.split(",")
    rows = []
    for name, loader, target, task, drop in tabular.TABLES:
        if name not in args.tables.split(","):
            continue
        frame = tabular.table(loader, target, drop)
        train, test = tabular.train_test_split(
            frame, test_size=0.25, random_state=1,
            stratify=frame[target] if task == "classification" else None)
        # mlpc and the peers alternated --repeat times (this guest's speed drifts within
        # minutes): medians, and each run's ratios.
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as folder:
                ours, loop, widths, batch = mlpc_fit(args.mlpc, train, target, args.epochs,
                                                     folder)
            times = {}
            for method in methods:
                if method == "torch-tabm":
                    times[method] = torch_fit(widths, len(train), task, args.epochs, batch)
                else:
                    times[method] = pytabkit_fit(method, train, test, target, task, args.epochs)
            print(f"{name}: {len(train)} rows, widths {widths}, batch {batch}, mlpc {ours:.2f} s "
                  f"(its epochs {loop:.3f} s), "
                  + ", ".join(f"{m} {t:.2f} s" for m, t in times.items()), flush=True)
            runs.append((ours, loop, times))
        rows.append((name, len(train), runs))
    print(f"\n{args.epochs} epochs; {platform.processor() or platform.machine()}, torch "
          f"{torch.__version__}; medians of {args.repeat} alternated runs\n")
    print("| table | rows | mlpc run (s) | mlpc epochs (s) | "
          + " | ".join(f"{m} (s) | × mlpc run | × mlpc epochs | each run: × run, × epochs"
                       for m in methods) + " |")
    print("|---|---|---|---|" + "---|---|---|---|" * len(methods))
    for name, n, runs in rows:
        ours = statistics.median(r[0] for r in runs)
        loop = statistics.median(r[1] for r in runs)
        cells = []
        for m in methods:
            theirs = statistics.median(r[2][m] for r in runs)
            each = " / ".join(f"{r[2][m] / r[0]:.1f}, {r[2][m] / r[1]:.1f}" for r in runs)
            cells.append(f"{theirs:.2f} | {theirs / ours:.1f} | {theirs / loop:.1f} | {each}")
        print(f"| {name} | {n} | {ours:.2f} | {loop:.3f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
