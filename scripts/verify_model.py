"""Runs a model.safetensors written by `mlpc run` in numpy (scripts/mlpc_reader.py, from the file
alone) and checks that its test accuracy equals summary.json's.
Usage: verify_model.py RUN_DIR TEST_CSV TARGET_COLUMN"""
import csv
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import mlpc_reader  # noqa: E402


def main(run, test_csv, target):
    meta, tensors = mlpc_reader.load(run)
    with open(test_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    x = [[float(r[c]) for c in meta["features"]] for r in rows]
    predicted = mlpc_reader.predicted_classes(meta, mlpc_reader.forward(meta, tensors, x))
    accuracy = sum(p == r[target] for p, r in zip(predicted, rows)) / len(rows)
    with open(f"{run}/summary.json") as f:
        reported = json.load(f)["test"]["accuracy"]
    print(f"numpy accuracy {accuracy:.4f}, mlpc reported {reported:.4f}")
    if abs(accuracy - reported) > 1e-9:
        sys.exit("model file and summary disagree")


if __name__ == "__main__":
    main(*sys.argv[1:])
