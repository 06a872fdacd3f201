"""Compares the weights of two trained models (model.safetensors in two run directories):
--exact requires equal bytes of every tensor, --tolerance T the largest relative difference
|a − b| / max(|a|, 1e-3) over all weights to be at most T. Prints the largest difference.
Usage: compare_models.py RUN_A RUN_B (--exact | --tolerance T)"""
import json
import struct
import sys

import numpy as np


def tensors(run):
    data = open(run + "/model.safetensors", "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    return {k: np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]], dtype=np.float32)
            for k, v in header.items() if k != "__metadata__"}


def main():
    a, b, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    ta, tb = tensors(a), tensors(b)
    if ta.keys() != tb.keys():
        sys.exit(f"different tensors: {sorted(ta)} vs {sorted(tb)}")
    worst = max(float(np.max(np.abs(ta[k].astype(np.float64) - tb[k])
                             / np.maximum(np.abs(ta[k].astype(np.float64)), 1e-3))) for k in ta)
    print(f"{a} vs {b}: largest relative difference {worst:.3g}")
    if mode == "--exact":
        if any(ta[k].tobytes() != tb[k].tobytes() for k in ta):
            sys.exit("the weights are not byte-identical")
    elif not worst <= float(sys.argv[4]):
        sys.exit(f"larger than {sys.argv[4]}")


if __name__ == "__main__":
    main()
