"""Checks an exported model against mlpc itself: onnx.checker (full check, with shape inference)
must accept MODEL.onnx, every initializer must be read by a node (ONNX Runtime warns of the
others), and ONNX Runtime's outputs on the feature columns of DATA.csv must equal
the columns of PREDICTIONS.csv (written by `mlpc predict MODEL DATA.csv --probabilities`) within
TOLERANCE (default 1e-5; relative to the value's size above 1, where float32 itself rounds
more): the class probabilities `p_<class>` for classification, the target
columns for regression. Feature, class and target names come from the model's metadata_props;
a model with feature transforms takes one input per raw column (strings for categories, NaN
for the cells its `missing_values` names).
Usage: check_onnx.py MODEL.onnx DATA.csv PREDICTIONS.csv [TOLERANCE]
Needs onnx, onnxruntime and numpy."""
import csv
import json
import sys

import numpy as np
import onnx
import onnxruntime


def main():
    model_path, data_path, predictions_path = sys.argv[1:4]
    tolerance = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-5
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    read = {name for node in model.graph.node for name in node.input}
    unread = [t.name for t in model.graph.initializer if t.name not in read]
    assert not unread, f"initializers no node reads: {unread}"
    meta = {p.key: p.value for p in model.metadata_props}
    features = json.loads(meta["feature_names"])
    classes = json.loads(meta["class_names"]) if "class_names" in meta else None
    with open(data_path, newline="") as f:
        rows = list(csv.DictReader(f))
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    if "missing_values" in meta:
        # Raw columns, one input each: strings for categories, float32 with NaN for missing.
        missing = set(json.loads(meta["missing_values"]))
        feed = {}
        for arg in session.get_inputs():
            cells = [r[arg.name].strip() for r in rows]
            if arg.type == "tensor(string)":
                feed[arg.name] = np.array(cells, dtype=object).reshape(-1, 1)
            else:
                feed[arg.name] = np.array(
                    [np.nan if c in missing else float(c) for c in cells], dtype=np.float32
                ).reshape(-1, 1)
        (output,) = session.run(None, feed)
    else:
        x = np.array([[float(r[c]) for c in features] for r in rows], dtype=np.float32)
        (output,) = session.run(None, {"input": x})
    with open(predictions_path, newline="") as f:
        predicted = list(csv.DictReader(f))
    columns = [f"p_{c}" for c in classes] if classes else json.loads(meta["target_names"])
    expected = np.array([[float(r[c]) for c in columns] for r in predicted], dtype=np.float64)
    if output.shape != expected.shape:
        sys.exit(f"shape {output.shape} from ONNX Runtime, {expected.shape} from mlpc predict")
    scale = np.maximum(1.0, np.abs(expected))
    worst = float(np.max(np.abs(output.astype(np.float64) - expected) / scale))
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{model_path}: onnx.checker ok, {len(rows)} rows, ops {' '.join(ops)}, "
          f"max |onnxruntime - mlpc predict| / max(1, |predict|) = {worst:.3g}")
    if not worst <= tolerance:
        sys.exit(f"outputs differ by {worst} > {tolerance}")


if __name__ == "__main__":
    main()
