"""Known answers for two training steps of tiny networks, computed independently with numpy in
float64 from the definitions (z = x W^T + b, x' = act(z), mean loss over the batch, backprop by
hand, PyTorch's SGD/momentum/Adam update rules with L2 weight decay g + λp). Writes
Tests/Fixtures/known_answer.json, which the Swift tests compare against."""
import json
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "known_answer.json"

ACT = {
    "tanh": (np.tanh, lambda x: 1 - x * x),
    "relu": (lambda z: np.maximum(z, 0), lambda x: (x > 0).astype(float)),
    "softplus": (lambda z: np.logaddexp(0, z), lambda x: 1 - np.exp(-x)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda x: x * (1 - x)),
    "identity": (lambda z: z, lambda x: np.ones_like(x)),
    # elu with alpha 1; derivative written from the output, as mlpc does: 1 or x + 1
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
            lambda x: np.where(x > 0, 1.0, x + 1.0)),
}


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def step(params, x, y, case, state, t):
    W1, b1, W2, b2 = params
    a1 = ACT[case["hidden"]][0](x @ W1.T + b1)
    z2 = a1 @ W2.T + b2
    B = x.shape[0]
    if case["loss"] == "cross_entropy":
        p = softmax(z2)
        loss = -(y * np.log(p)).sum() / B
        d2 = (p - y) / B
    elif case["loss"] == "binary_cross_entropy":
        p = 1 / (1 + np.exp(-z2))
        loss = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum() / B
        d2 = (p - y) / B
    else:
        out = ACT[case["output"]][0](z2)
        loss = 0.5 * ((out - y) ** 2).sum() / B
        d2 = (out - y) / B * ACT[case["output"]][1](out)
    gW2, gb2 = d2.T @ a1, d2.sum(axis=0)
    d1 = (d2 @ W2) * ACT[case["hidden"]][1](a1)
    gW1, gb1 = d1.T @ x, d1.sum(axis=0)
    grads = [gW1, gb1, gW2, gb2]
    lr = case["learning_rate"]
    wd = case.get("weight_decay", 0.0)
    new = []
    for i, (p_, raw) in enumerate(zip(params, grads)):
        g = raw + wd * p_
        if case["optimizer"] == "sgd":
            new.append(p_ - lr * g)
        elif case["optimizer"] == "momentum":
            state[i] = 0.9 * state[i] + g
            new.append(p_ - lr * state[i])
        else:  # adam, beta1 0.9, beta2 0.999, eps 1e-8
            m, v = state[i]
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            state[i] = (m, v)
            mhat, vhat = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)
            new.append(p_ - lr * mhat / (np.sqrt(vhat) + 1e-8))
    return new, grads, loss


def case_data(rng, case):
    """Initial parameters (float32 values), a batch of five inputs and its targets for `case`."""
    n0, n1, n2 = case["inputs"], case["hidden_units"], case["outputs"]
    params = [rng.uniform(-1, 1, (n1, n0)), rng.uniform(-0.5, 0.5, n1),
              rng.uniform(-1, 1, (n2, n1)), rng.uniform(-0.5, 0.5, n2)]
    params = [p.astype(np.float32).astype(np.float64) for p in params]
    x = rng.uniform(-1, 1, (5, n0)).astype(np.float32).astype(np.float64)
    if case["loss"] == "cross_entropy":
        y = np.eye(n2)[rng.integers(0, n2, 5)]
    elif case["loss"] == "binary_cross_entropy":
        y = rng.integers(0, 2, (5, 1)).astype(np.float64)
    else:
        y = rng.uniform(0, 1, (5, n2)).astype(np.float32).astype(np.float64)
    return params, x, y


def main():
    rng = np.random.default_rng(42)
    cases = [
        {"name": "tanh-softmax-ce-sgd", "hidden": "tanh", "output": "softmax", "loss": "cross_entropy",
         "optimizer": "sgd", "learning_rate": 0.1, "inputs": 3, "hidden_units": 4, "outputs": 2},
        {"name": "softplus-sigmoid-mse-adam", "hidden": "softplus", "output": "sigmoid", "loss": "mse",
         "optimizer": "adam", "learning_rate": 0.01, "inputs": 3, "hidden_units": 4, "outputs": 1},
        {"name": "relu-identity-mse-momentum", "hidden": "relu", "output": "identity", "loss": "mse",
         "optimizer": "momentum", "learning_rate": 0.05, "inputs": 3, "hidden_units": 5, "outputs": 1},
        {"name": "tanh-softmax-ce-sgd-decay", "hidden": "tanh", "output": "softmax",
         "loss": "cross_entropy", "optimizer": "sgd", "learning_rate": 0.1, "weight_decay": 0.3,
         "inputs": 3, "hidden_units": 4, "outputs": 2},
        {"name": "relu-identity-mse-momentum-decay", "hidden": "relu", "output": "identity",
         "loss": "mse", "optimizer": "momentum", "learning_rate": 0.05, "weight_decay": 0.2,
         "inputs": 3, "hidden_units": 5, "outputs": 1},
        {"name": "elu-sigmoid-bce-adam-decay", "hidden": "elu", "output": "sigmoid",
         "loss": "binary_cross_entropy", "optimizer": "adam", "learning_rate": 0.05,
         "weight_decay": 0.1, "inputs": 3, "hidden_units": 4, "outputs": 1},
    ]
    out = []
    for case in cases:
        params, x, y = case_data(rng, case)
        state = [0.0 * p for p in params] if case["optimizer"] == "momentum" else \
            [(0.0 * p, 0.0 * p) for p in params]
        record = dict(case, weight_decay=case.get("weight_decay", 0.0), x=x.ravel().tolist(), y=y.ravel().tolist(),
                      initial=[p.ravel().tolist() for p in params], steps=[])
        for t in (1, 2):
            params, grads, loss = step(params, x, y, case, state, t)
            record["steps"].append({"loss": loss, "gradients": [g.ravel().tolist() for g in grads],
                                    "parameters": [p.ravel().tolist() for p in params]})
        out.append(record)
    OUT.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
