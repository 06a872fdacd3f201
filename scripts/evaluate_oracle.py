"""scikit-learn's metrics of predictions, as `mlpc evaluate --format json` reports them: the test
compares the two. Reads the predictions written by `mlpc predict --probabilities` and the true
values from the data file.
Usage: evaluate_oracle.py classification|regression PREDICTIONS.csv DATA.csv TARGET..."""
import json
import sys

import numpy as np
import pandas as pd
from sklearn import metrics


def classification(pred, data, target):
    classes = [c[2:] for c in pred.columns if c.startswith("p_")]
    y_true = data[target].astype(str).map(classes.index).to_numpy()
    y_pred = pred["predicted"].astype(str).map(classes.index).to_numpy()
    p = pred[["p_" + c for c in classes]].astype(float).to_numpy()
    labels = list(range(len(classes)))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    out = {
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "per_class": [{"precision": a, "recall": b, "f1": c, "support": int(d)}
                      for a, b, c, d in zip(precision, recall, f1, support)],
        "loss": metrics.log_loss(y_true, p, labels=labels),
    }
    for average in ("macro", "weighted"):
        a, b, c, _ = metrics.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0)
        out[average + "_avg"] = {"precision": a, "recall": b, "f1": c}
    if len(classes) == 2:
        out["roc_auc"] = metrics.roc_auc_score(y_true, p[:, 1])
    return out


def regression(pred, data, targets):
    y, x = data[targets].astype(float).to_numpy(), pred[targets].astype(float).to_numpy()
    mse = metrics.mean_squared_error(y, x, multioutput="raw_values")
    mae = metrics.mean_absolute_error(y, x, multioutput="raw_values")
    r2 = metrics.r2_score(y, x, multioutput="raw_values")
    return {
        "loss": float(((y - x) ** 2).sum(axis=1).mean() / 2),
        "targets": [{"mse": a, "mae": b, "r2": c} for a, b, c in zip(mse, mae, r2)],
        "average": {"mse": mse.mean(), "mae": mae.mean(), "r2": r2.mean()},
    }


def main(task, predictions, data, *targets):
    pred = pd.read_csv(predictions, dtype=str, keep_default_na=False)
    frame = pd.read_csv(data, dtype=str, keep_default_na=False)
    if task == "classification":
        result = classification(pred, frame, targets[0])
    else:
        result = regression(pred, frame, list(targets))
    print(json.dumps(result, default=float))


if __name__ == "__main__":
    main(*sys.argv[1:])
