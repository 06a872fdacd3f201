"""Known answers for `scale: robust_smooth_clip` from pytabkit's RealMLP preprocessing itself
(MedianCenterFactory, RobustScaleFactory, smooth_clip_func), in float64: each column fitted on
its training values and applied to probes inside and far beyond them. Writes
Tests/Fixtures/robust_smooth_clip_pytabkit.json. Needs torch and pytabkit from PyPI:
python3 scripts/realmlp_oracle.py"""
import json
import pathlib

import numpy as np
import torch
from pytabkit.models.data.data import DictDataset, TensorInfo
from pytabkit.models.nn_models.models import smooth_clip_func
from pytabkit.models.nn_models.pipeline import MedianCenterFactory, RobustScaleFactory

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "robust_smooth_clip_pytabkit.json"


def main():
    rng = np.random.default_rng(9)
    n = 201
    sparse = np.zeros(n)
    sparse[:7] = rng.normal(0, 50, 7)  # interquartile range 0, range not: half the range
    columns = {
        "normal": rng.normal(-4, 3, n),
        "skewed": np.concatenate([rng.exponential(2, n - 3), [250.0, 900.0, -300.0]]),
        "sparse": rng.permutation(sparse),
        "integers": rng.integers(0, 4, n).astype(np.float64),
    }
    cases = []
    for name, train in columns.items():
        train = train.astype(np.float32).astype(np.float64)
        probe = np.concatenate([train[:25], np.linspace(train.min() - 100, train.max() + 100, 31)])
        x = torch.tensor(train[:, None])
        ds = DictDataset({"x_cont": x}, {"x_cont": TensorInfo(feat_shape=[1])})
        center = MedianCenterFactory()._fit(ds)
        centred = center(ds)
        scale = RobustScaleFactory()._fit(centred)
        p = DictDataset({"x_cont": torch.tensor(probe[:, None])}, {"x_cont": TensorInfo(feat_shape=[1])})
        out = smooth_clip_func(scale(center(p)).tensors["x_cont"]).numpy()[:, 0]
        cases.append({"name": name, "train": train.tolist(), "probe": probe.tolist(),
                      "expected": out.tolist()})
    OUT.write_text(json.dumps(cases) + "\n")


if __name__ == "__main__":
    main()
