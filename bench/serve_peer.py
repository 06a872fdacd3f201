"""The peer of `mlpc serve` in bench/serve.sh: the same model, exported by `mlpc export`, behind
FastAPI + uvicorn + ONNX Runtime, answering the same route and body as mlpc
(`POST /v1/models/NAME:predict` with `{"instances": [{feature: value, ...}, ...]}`) with the same
answer (`{"predictions": [class name or target value, ...]}`), as a Python team would write it.
Run: PEER_MODEL=model.onnx uvicorn serve_peer:app --workers N
Features, classes and the model's name come from the ONNX model's metadata (written by mlpc)."""
import json
import os

import numpy as np
import onnx
import onnxruntime
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

path = os.environ["PEER_MODEL"]
meta = {p.key: p.value for p in onnx.load(path).metadata_props}
features = json.loads(meta["feature_names"])
classes = json.loads(meta["class_names"]) if "class_names" in meta else None
options = onnxruntime.SessionOptions()
# One thread per worker process: the workers, not the threads, use the CPUs.
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
input_name = session.get_inputs()[0].name
app = FastAPI()


class Body(BaseModel):
    instances: list[dict[str, float]]


@app.post("/v1/models/{name}:predict")
def predict(name: str, body: Body):
    try:
        x = np.array([[row[f] for f in features] for row in body.instances], dtype=np.float32)
    except KeyError as missing:
        raise HTTPException(status_code=400, detail=f"missing feature {missing}")
    out = session.run(None, {input_name: x})[0]
    if classes is None:
        return {"predictions": out[:, 0].tolist() if out.shape[1] == 1 else out.tolist()}
    best = (out[:, 0] >= 0.5).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
    return {"predictions": [classes[i] for i in best]}
