#!/usr/bin/env python3
"""scikit-learn as the oracle of mlpc's feature transforms (Tests/MLPCoreTests/Features).

Reads {"numeric": [...], "categorical": [...]} as JSON on stdin; each numeric case has training
`cells` (null: missing), `missing` (mean | median | constant), `fill`, `scaling` and `probe`
values; each categorical case has `cells`, `min_frequency`, `max_categories` and `probe` cells.
Writes, per case, the probe values transformed by SimpleImputer + the scaler (numeric), the
one-hot rows of OneHotEncoder(handle_unknown='infrequent_if_exist') with its levels (categorical),
and the rows of OneHotEncoder(drop='if_binary', handle_unknown='ignore') for `boolean` cases.
"""
import json
import sys

import numpy as np
from sklearn.compose import make_column_transformer  # noqa: F401  (import check)
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (FunctionTransformer, MinMaxScaler, OneHotEncoder,
                                   QuantileTransformer, RobustScaler, StandardScaler)


def column(values):
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64).reshape(-1, 1)


def numeric(case):
    x = column(case["cells"])
    n = x.shape[0]
    scalers = {
        "standard": StandardScaler(),
        "robust": RobustScaler(),
        "minmax": MinMaxScaler(),
        "quantile": QuantileTransformer(n_quantiles=min(1000, n), subsample=None),
        "log": FunctionTransformer(np.log1p),
        "none": FunctionTransformer(None),
    }
    imputer = SimpleImputer(strategy=case["missing"], fill_value=case.get("fill"))
    pipeline = make_pipeline(imputer, scalers[case["scaling"]])
    pipeline.fit(x)
    return {"values": pipeline.transform(column(case["probe"])).ravel().tolist()}


def categorical(case):
    def cells(values):
        return np.array([None if v is None else v for v in values], dtype=object).reshape(-1, 1)

    encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                            min_frequency=case.get("min_frequency"),
                            max_categories=case.get("max_categories"))
    encoder.fit(cells(case["cells"]))
    infrequent = encoder.infrequent_categories_[0] if encoder._infrequent_enabled else None
    frequent = [c for c in encoder.categories_[0] if infrequent is None or c not in set(infrequent)]
    name = lambda c: None if c is None else str(c)
    return {
        "levels": [name(c) for c in frequent],
        "infrequent": [] if infrequent is None else [name(c) for c in infrequent],
        "rows": encoder.transform(cells(case["probe"])).tolist(),
    }


def boolean(case):
    def cells(values):
        return np.array(values, dtype=object).reshape(-1, 1)

    encoder = OneHotEncoder(drop="if_binary", handle_unknown="ignore", sparse_output=False)
    encoder.fit(cells(case["cells"]))
    return {"rows": encoder.transform(cells(case["probe"])).tolist()}


request = json.load(sys.stdin)
json.dump({"numeric": [numeric(c) for c in request["numeric"]],
           "categorical": [categorical(c) for c in request["categorical"]],
           "boolean": [boolean(c) for c in request.get("boolean", [])]}, sys.stdout)
