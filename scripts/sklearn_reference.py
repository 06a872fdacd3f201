"""The R² that scikit-learn's MLPRegressor reaches on the diabetes example with the same layers,
optimizer, learning rate, batch size, epochs and standardisation as specs/diabetes.yaml, on the
same train/test split. Median over 5 seeds. Writes Tests/Fixtures/sklearn_reference.json."""
import csv
import json
import pathlib

import numpy as np
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load(name):
    with open(ROOT / "specs" / "data" / name) as f:
        rows = list(csv.reader(f))[1:]
    a = np.array(rows, dtype=np.float64)
    return a[:, :-1], a[:, -1]


def main():
    xtr, ytr = load("diabetes-train.csv")
    xte, yte = load("diabetes-test.csv")
    scaler = StandardScaler().fit(xtr)
    scores = []
    for seed in range(5):
        model = MLPRegressor(hidden_layer_sizes=(32,), activation="relu", solver="adam",
                             learning_rate_init=0.001, batch_size=32, max_iter=200, alpha=0.0,
                             tol=0.0, n_iter_no_change=10**9, random_state=seed)
        model.fit(scaler.transform(xtr), ytr)
        scores.append(model.score(scaler.transform(xte), yte))
    out = {"diabetes_test_r2": float(np.median(scores)), "diabetes_test_r2_all_seeds": scores}
    (ROOT / "Tests" / "Fixtures" / "sklearn_reference.json").write_text(json.dumps(out, indent=1) + "\n")
    print(out)


if __name__ == "__main__":
    main()
