"""Load and encode a raw table: mlpc (`mlpc check`, which reads the CSV, infers or applies the
declared feature types, fits the transforms on the training rows and encodes every row into the
input matrix) against pandas `read_csv` + scikit-learn `ColumnTransformer.fit_transform`
(median imputation + StandardScaler, OneHotEncoder), on a generated table of ROWS rows (default
1,000,000) with 10 numeric columns (5 % missing) and 5 categorical ones of 3 to 1,000 levels.
Medians of three runs each; peak memory (max RSS) of each.
Usage: python bench/load_encode.py [MLPC_BINARY] [ROWS]"""
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLPC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/release/mlpc")
ROWS = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
OUT = os.path.join(ROOT, "bench/out")


def table(path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"n{i}": rng.normal(i, 1 + i, ROWS).round(4) for i in range(10)})
    for i in range(10):
        frame.loc[rng.random(ROWS) < 0.05, f"n{i}"] = np.nan
    for i, levels in enumerate([3, 10, 50, 200, 1000]):
        frame[f"c{i}"] = np.array([f"l{k}" for k in range(levels)])[rng.integers(0, levels, ROWS)]
    frame["y"] = rng.integers(0, 2, ROWS)
    frame.to_csv(path, index=False)


def sklearn_child(path):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    start = time.perf_counter()
    frame = pd.read_csv(path)
    numeric = [f"n{i}" for i in range(10)]
    categorical = [f"c{i}" for i in range(5)]
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                              dtype=np.float32), categorical)])
    x = pre.fit_transform(frame.drop(columns=["y"]))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{seconds} {peak} {x.shape[1]}")


def main():
    if len(sys.argv) > 3 and sys.argv[3] == "--sklearn-child":
        sklearn_child(sys.argv[4])
        return
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"raw-{ROWS}.csv")
    if not os.path.exists(path):
        table(path)
    spec = os.path.join(OUT, f"raw-{ROWS}.yaml")
    with open(spec, "w") as f:
        f.write(f"task: classification\nlayers: [{{units: 2, activation: softmax}}]\n"
                f"data: {{train: raw-{ROWS}.csv, target: y}}\n")
    mlpc, sk = [], []
    for _ in range(3):
        start = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-f", "%M", MLPC, "check", spec],
                                capture_output=True, text=True)
        mlpc.append((time.perf_counter() - start, int(result.stderr.strip().split()[-1]) / 1024))
        out = subprocess.run([sys.executable, __file__, MLPC, str(ROWS), "--sklearn-child", path],
                             capture_output=True, text=True, check=True).stdout.split()
        sk.append((float(out[0]), float(out[1])))
        width = int(out[2])
    m = np.median([t for t, _ in mlpc]), max(p for _, p in mlpc)
    s = np.median([t for t, _ in sk]), max(p for _, p in sk)
    matrix = ROWS * width * 4 / 2**20
    print(f"{ROWS} rows, encoded width {width} ({matrix:.0f} MB as float32)")
    print(f"mlpc check: {m[0]:.2f} s, peak {m[1]:.0f} MB")
    print(f"pandas + scikit-learn: {s[0]:.2f} s, peak {s[1]:.0f} MB")
    print(f"ratio mlpc / peer: {m[0] / s[0]:.2f}")


if __name__ == "__main__":
    main()
