"""Writes the small real data sets that scikit-learn ships (iris, 8x8 digits, diabetes) as CSV
files with a header into specs/data/, split 80/20 into train and test with a fixed seed.
Run once; the CSV files are committed, so neither mlpc nor its tests need scikit-learn."""
import csv
import pathlib

import numpy as np
from sklearn import datasets

OUT = pathlib.Path(__file__).resolve().parent.parent / "specs" / "data"


def write(name, header, rows):
    with open(OUT / name, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def split(n, seed):
    order = np.random.default_rng(seed).permutation(n)
    cut = int(round(n * 0.8))
    return np.sort(order[:cut]), np.sort(order[cut:])


def fmt(x):
    return f"{x:.6g}"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    iris = datasets.load_iris()
    header = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    names = iris.target_names
    tr, te = split(len(iris.target), 1)
    for part, idx in (("train", tr), ("test", te)):
        write(f"iris-{part}.csv", header,
              [[fmt(v) for v in iris.data[i]] + [names[iris.target[i]]] for i in idx])

    digits = datasets.load_digits()
    header = [f"p{i}" for i in range(64)] + ["digit"]
    tr, te = split(len(digits.target), 2)
    for part, idx in (("train", tr), ("test", te)):
        write(f"digits-{part}.csv", header,
              [[str(int(v)) for v in digits.data[i]] + [int(digits.target[i])] for i in idx])

    diabetes = datasets.load_diabetes(scaled=False)
    header = list(diabetes.feature_names) + ["progression"]
    tr, te = split(len(diabetes.target), 3)
    for part, idx in (("train", tr), ("test", te)):
        write(f"diabetes-{part}.csv", header,
              [[fmt(v) for v in diabetes.data[i]] + [fmt(diabetes.target[i])] for i in idx])


if __name__ == "__main__":
    main()
