"""Writes the three benchmark data sets as CSV files into bench/out/ (seeded):
W1 60 000 × 784 inputs uniform in [-0.5, 0.5), labels = argmax of a fixed random linear teacher;
W2 150 × 4 Gaussian inputs, labels = argmax of a random linear map plus bias;
W3 20 000 × 8 inputs uniform in [-1, 1], y = sin(sum x) + 0.1 noise."""
import pathlib
import sys

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent / "out"


def write(name, x, y, ycol):
    path = OUT / name
    if path.exists():
        return
    header = ",".join([f"x{i}" for i in range(x.shape[1])] + [ycol])
    fmt = ["%.6g"] * x.shape[1] + (["%d"] if y.dtype.kind == "i" else ["%.6g"])
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="", fmt=fmt)


def main():
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, (60000, 784)).astype(np.float32)
    teacher = rng.normal(size=(784, 10)).astype(np.float32)
    write("w1.csv", x, (x @ teacher).argmax(1), "label")
    x = rng.normal(size=(150, 4)).astype(np.float32)
    w, b = rng.normal(size=(4, 3)), rng.normal(size=3)
    write("w2.csv", x, (x @ w + b).argmax(1), "label")
    x = rng.uniform(-1, 1, (20000, 8)).astype(np.float32)
    write("w3.csv", x, np.sin(x.sum(1)) + 0.1 * rng.normal(size=20000), "y")


if __name__ == "__main__":
    sys.exit(main())
