"""Quality on raw tables: mlpc with a spec that declares only the target (feature types inferred:
N001) and mlpc's raw-table recipe (weight decay 0.01, what `mlpc init` writes) against
scikit-learn's MLP pipeline (ColumnTransformer of median imputation + StandardScaler
and OneHotEncoder(handle_unknown='ignore'), then MLPClassifier/MLPRegressor with the same hidden
sizes, batch and optimizer) and HistGradientBoosting with native categorical support, over five
seeds of a 75/25 split (stratified for classification). Identifier columns are dropped for all
three (mlpc's checker warns about them); rows without a target are dropped first.
Usage: python bench/quality.py [MLPC_BINARY]   (prints a markdown table; bench/README.md has one)"""
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLPC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/release/mlpc")
DATASETS = [
    ("penguins", "specs/data/penguins.csv", "species", "classification", []),
    ("cars", "specs/data/cars.csv", "Miles_per_Gallon", "regression", ["Name"]),
]
SEEDS = [1, 2, 3, 4, 5]
HIDDEN = (64, 32)
EPOCHS = 200
# mlpc's raw-table recipe, as `mlpc init` writes it: weight decay 0.01, chosen by bench/recipe.py
# on development tables (not these). MLPC_QUALITY_TRAINING replaces it (e.g. "" for none).
EXTRA = os.environ.get("MLPC_QUALITY_TRAINING", ", weight_decay: 0.01")


def mlpc_score(train, test, target, task, classes, seed, folder, extra=None):
    train.to_csv(os.path.join(folder, "train.csv"), index=False)
    test.to_csv(os.path.join(folder, "test.csv"), index=False)
    output = (f"{{units: {classes}, activation: softmax}}" if task == "classification"
              else "{units: 1, activation: identity}")
    extra = EXTRA if extra is None else extra
    # "TOP||TRAINING": top-level lines (e.g. front_scale: true), then the training settings.
    top, _, extra = extra.rpartition("||")
    spec = f"""task: {task}
{top}
layers: [{{units: {HIDDEN[0]}, activation: relu}}, {{units: {HIDDEN[1]}, activation: relu}}, {output}]
data: {{train: train.csv, test: test.csv, target: {target}}}
training: {{epochs: {EPOCHS}, batch_size: 32, optimizer: adam, learning_rate: 0.001, seed: {seed}{extra}}}
"""
    with open(os.path.join(folder, "spec.yaml"), "w") as f:
        f.write(spec)
    run = os.path.join(folder, "run")
    subprocess.run([MLPC, "run", os.path.join(folder, "spec.yaml"), "--quiet", "--force",
                    "--out", run], check=True, capture_output=True)
    with open(os.path.join(run, "summary.json")) as f:
        summary = json.load(f)
    test_metrics = summary["test"]
    return test_metrics["accuracy"] if task == "classification" else test_metrics["r2"]


def sklearn_scores(train, test, target, task, seed):
    x, y = train.drop(columns=[target]), train[target]
    xt, yt = test.drop(columns=[target]), test[target]
    numeric = make_column_selector(dtype_include=np.number)
    categorical = make_column_selector(dtype_exclude=np.number)
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                              OneHotEncoder(handle_unknown="ignore")), categorical),
    ])
    settings = dict(hidden_layer_sizes=HIDDEN, batch_size=32, max_iter=EPOCHS, random_state=seed)
    mlp = make_pipeline(pre, MLPClassifier(**settings) if task == "classification"
                        else MLPRegressor(**settings))
    xc, xtc = x.copy(), xt.copy()
    for c in x.columns:
        if not pd.api.types.is_numeric_dtype(x[c]):
            kinds = pd.CategoricalDtype(sorted(set(x[c].dropna()) | set(xt[c].dropna())))
            xc[c], xtc[c] = x[c].astype(kinds), xt[c].astype(kinds)
    hgb = (HistGradientBoostingClassifier if task == "classification"
           else HistGradientBoostingRegressor)(categorical_features="from_dtype", random_state=seed)
    score = accuracy_score if task == "classification" else r2_score
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(x, y)
        hgb.fit(xc, y)
    return score(yt, mlp.predict(xt)), score(yt, hgb.predict(xtc))


def main():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), platform.processor())
    print(f"CPU: {cpu}; {len(SEEDS)} seeds; hidden {HIDDEN}, batch 32, Adam 0.001, {EPOCHS} epochs\n")
    print("| table | metric | mlpc (inferred features) | scikit-learn MLP pipeline | HistGradientBoosting |")
    print("|---|---|---|---|---|")
    for name, path, target, task, drop in DATASETS:
        frame = pd.read_csv(os.path.join(ROOT, path)).drop(columns=drop)
        frame = frame[frame[target].notna()]
        classes = frame[target].nunique()
        results = {"mlpc": [], "mlp": [], "hgb": []}
        for seed in SEEDS:
            train, test = train_test_split(
                frame, test_size=0.25, random_state=seed,
                stratify=frame[target] if task == "classification" else None)
            with tempfile.TemporaryDirectory() as folder:
                results["mlpc"].append(mlpc_score(train, test, target, task, classes, seed, folder))
            mlp, hgb = sklearn_scores(train, test, target, task, seed)
            results["mlp"].append(mlp)
            results["hgb"].append(hgb)
        cell = lambda v: f"{np.mean(v):.4f} ± {np.std(v):.4f}"
        metric = "test accuracy" if task == "classification" else "test R²"
        print(f"| {name} | {metric} | {cell(results['mlpc'])} | {cell(results['mlp'])} | {cell(results['hgb'])} |")


if __name__ == "__main__":
    main()
