"""Known answers for the piecewise-linear encoding from rtdl_num_embeddings itself
(compute_bins with quantile bins, PiecewiseLinearEncoding), in float64: the bin edges fitted on
training columns and the encodings of test values (inside, between and beyond the edges). Writes
Tests/Fixtures/piecewise_linear_rtdl.json. Needs torch and rtdl-num-embeddings from PyPI:
python3 scripts/ple_oracle.py"""
import json
import pathlib

import numpy as np
import torch
from rtdl_num_embeddings import PiecewiseLinearEncoding, compute_bins

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "piecewise_linear_rtdl.json"


def main():
    rng = np.random.default_rng(5)
    n = 301
    columns = {
        "normal": rng.normal(3, 2, n),
        "ties": rng.integers(0, 6, n).astype(np.float64),  # six values: many equal quantiles
        "two_values": rng.integers(0, 2, n).astype(np.float64) * 7 - 2,
        "skewed": rng.exponential(10, n),
    }
    # Values stored as float32, as mlpc reads cells.
    columns = {k: v.astype(np.float32).astype(np.float64) for k, v in columns.items()}
    cases = []
    for name, train in columns.items():
        for bins in (2, 8, 48):
            edges = compute_bins(torch.tensor(train[:, None]), n_bins=bins)
            lo, hi = train.min(), train.max()
            test = np.concatenate([
                train[:20], np.linspace(lo - 3, hi + 3, 41), [lo, hi],
                edges[0].numpy(),  # every edge itself
            ]).astype(np.float32).astype(np.float64)
            encoding = PiecewiseLinearEncoding(edges)(torch.tensor(test[:, None])).numpy()
            cases.append({"name": f"{name}-{bins}", "bins": bins, "train": train.tolist(),
                          "edges": edges[0].tolist(), "test": test.tolist(),
                          "encoding": encoding.tolist()})
    OUT.write_text(json.dumps(cases) + "\n")


if __name__ == "__main__":
    main()
