"""Known answers computed with PyTorch itself (float64): three training steps of tiny networks
with gradient clipping (torch.nn.utils.clip_grad_value_ and clip_grad_norm_ over all parameters
after backward and before the optimizer step, value first when both are set) and with the
optimizers whose exact update is PyTorch's: SGD, SGD(momentum), SGD(momentum, nesterov=True),
Adam (L2 weight decay inside the optimizer), AdamW (decoupled decay) and RMSprop (plain, and
centred with momentum and weight decay). Writes
Tests/Fixtures/known_answer_torch.json in the format of known_answer.json (the gradients are
those the optimizer used, after clipping). Needs torch: bench/.venv/bin/python scripts/..."""
import json
import pathlib

import numpy as np
import torch

from known_answer import case_data

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "known_answer_torch.json"

ACT = {"tanh": torch.tanh, "relu": torch.relu, "elu": torch.nn.functional.elu,
       "identity": lambda z: z, "sigmoid": torch.sigmoid,
       "gelu": torch.nn.functional.gelu,
       "gelu_tanh": lambda z: torch.nn.functional.gelu(z, approximate="tanh"),
       "silu": torch.nn.functional.silu}


def main():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(7)
    cases = [
        {"name": "tanh-softmax-ce-sgd-clip-norm", "hidden": "tanh", "output": "softmax",
         "loss": "cross_entropy", "optimizer": "sgd", "learning_rate": 0.5, "clip_norm": 0.05,
         "inputs": 3, "hidden_units": 4, "outputs": 3},
        {"name": "relu-identity-mse-momentum-clip-value", "hidden": "relu", "output": "identity",
         "loss": "mse", "optimizer": "momentum", "learning_rate": 0.1, "clip_value": 0.02,
         "inputs": 3, "hidden_units": 5, "outputs": 1},
        {"name": "elu-sigmoid-bce-adam-decay-clip-both", "hidden": "elu", "output": "sigmoid",
         "loss": "binary_cross_entropy", "optimizer": "adam", "learning_rate": 0.05,
         "weight_decay": 0.1, "clip_value": 0.05, "clip_norm": 0.08,
         "inputs": 3, "hidden_units": 4, "outputs": 1},
        {"name": "tanh-softmax-ce-nesterov-decay", "hidden": "tanh", "output": "softmax",
         "loss": "cross_entropy", "optimizer": "nesterov", "learning_rate": 0.2,
         "weight_decay": 0.05, "inputs": 3, "hidden_units": 4, "outputs": 3},
        {"name": "relu-sigmoid-bce-adamw-decay", "hidden": "relu", "output": "sigmoid",
         "loss": "binary_cross_entropy", "optimizer": "adamw", "learning_rate": 0.05,
         "weight_decay": 0.3, "inputs": 3, "hidden_units": 4, "outputs": 1},
        {"name": "tanh-softmax-ce-rmsprop", "hidden": "tanh", "output": "softmax",
         "loss": "cross_entropy", "optimizer": "rmsprop", "learning_rate": 0.01,
         "inputs": 3, "hidden_units": 4, "outputs": 3},
        {"name": "relu-identity-mse-rmsprop-centered-momentum-decay", "hidden": "relu",
         "output": "identity", "loss": "mse", "optimizer": "rmsprop", "learning_rate": 0.02,
         "weight_decay": 0.1, "momentum": 0.5, "alpha": 0.9, "centered": True,
         "inputs": 3, "hidden_units": 5, "outputs": 1},
        # gelu (exact and tanh) and silu, hidden and (under mse) on the output layer.
        {"name": "gelu-softmax-ce-adam", "hidden": "gelu", "output": "softmax",
         "loss": "cross_entropy", "optimizer": "adam", "learning_rate": 0.05,
         "inputs": 3, "hidden_units": 4, "outputs": 3},
        {"name": "gelu_tanh-identity-mse-adamw-decay", "hidden": "gelu_tanh", "output": "identity",
         "loss": "mse", "optimizer": "adamw", "learning_rate": 0.05, "weight_decay": 0.1,
         "inputs": 3, "hidden_units": 5, "outputs": 1},
        {"name": "silu-silu-mse-sgd", "hidden": "silu", "output": "silu", "loss": "mse",
         "optimizer": "sgd", "learning_rate": 0.5, "inputs": 3, "hidden_units": 4, "outputs": 1},
        {"name": "silu-gelu-mse-momentum", "hidden": "silu", "output": "gelu", "loss": "mse",
         "optimizer": "momentum", "learning_rate": 0.2, "inputs": 3, "hidden_units": 4,
         "outputs": 1},
        {"name": "gelu_tanh-sigmoid-bce-sgd", "hidden": "gelu_tanh", "output": "sigmoid",
         "loss": "binary_cross_entropy", "optimizer": "sgd", "learning_rate": 0.5,
         "inputs": 3, "hidden_units": 4, "outputs": 1},
        # Label smoothing: PyTorch's cross_entropy(label_smoothing=ε); for one sigmoid unit,
        # Keras' definition y(1 − ε) + ε/2 (PyTorch's BCE has none).
        {"name": "tanh-softmax-ce-adam-smoothing", "hidden": "tanh", "output": "softmax",
         "loss": "cross_entropy", "optimizer": "adam", "learning_rate": 0.05,
         "label_smoothing": 0.1, "inputs": 3, "hidden_units": 4, "outputs": 3},
        {"name": "relu-sigmoid-bce-sgd-smoothing", "hidden": "relu", "output": "sigmoid",
         "loss": "binary_cross_entropy", "optimizer": "sgd", "learning_rate": 0.5,
         "label_smoothing": 0.2, "inputs": 3, "hidden_units": 4, "outputs": 1},
        # Averaged weights: torch.optim.swa_utils.AveragedModel with get_ema_multi_avg_fn(d),
        # updated after every optimizer step.
        {"name": "tanh-softmax-ce-adam-ema", "hidden": "tanh", "output": "softmax",
         "loss": "cross_entropy", "optimizer": "adam", "learning_rate": 0.05, "ema": 0.9,
         "inputs": 3, "hidden_units": 4, "outputs": 3},
        {"name": "relu-identity-mse-momentum-ema", "hidden": "relu", "output": "identity",
         "loss": "mse", "optimizer": "momentum", "learning_rate": 0.05, "ema": 0.3,
         "inputs": 3, "hidden_units": 5, "outputs": 1},
        # A learned front scale s (starting at 1): the first layer reads x ⊙ s; s is the last
        # parameter (its gradient and value follow b2's).
        {"name": "tanh-softmax-ce-adam-front-scale", "hidden": "tanh", "output": "softmax",
         "loss": "cross_entropy", "optimizer": "adam", "learning_rate": 0.05,
         "front_scale": True, "inputs": 3, "hidden_units": 4, "outputs": 3},
        {"name": "gelu-identity-mse-sgd-front-scale", "hidden": "gelu", "output": "identity",
         "loss": "mse", "optimizer": "sgd", "learning_rate": 0.3, "front_scale": True,
         "inputs": 3, "hidden_units": 5, "outputs": 1},
        # Weight decay leaves the front scale alone (a parameter group with weight_decay 0).
        {"name": "relu-softmax-ce-adam-decay-front-scale", "hidden": "relu", "output": "softmax",
         "loss": "cross_entropy", "optimizer": "adam", "learning_rate": 0.05,
         "weight_decay": 0.2, "front_scale": True, "inputs": 3, "hidden_units": 4, "outputs": 3},
    ]
    out = []
    for case in cases:
        initial, x, y = case_data(rng, case)
        holder = torch.nn.Module()
        holder.params = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(p)) for p in initial])
        if case.get("front_scale"):
            holder.params.append(torch.nn.Parameter(torch.ones(case["inputs"])))
        params = list(holder.params)
        # Weight decay for the weights and biases, none for the front scale.
        groups = [{"params": params[:4]}, {"params": params[4:], "weight_decay": 0.0}]
        averaged = None
        if "ema" in case:
            averaged = torch.optim.swa_utils.AveragedModel(
                holder, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(case["ema"]))
        wd = case.get("weight_decay", 0.0)
        lr = case["learning_rate"]
        if case["optimizer"] == "sgd":
            optimizer = torch.optim.SGD(groups, lr=lr, weight_decay=wd)
        elif case["optimizer"] == "momentum":
            optimizer = torch.optim.SGD(groups, lr=lr, momentum=0.9, weight_decay=wd)
        elif case["optimizer"] == "nesterov":
            optimizer = torch.optim.SGD(groups, lr=lr, momentum=0.9, weight_decay=wd, nesterov=True)
        elif case["optimizer"] == "rmsprop":
            optimizer = torch.optim.RMSprop(groups, lr=lr, alpha=case.get("alpha", 0.99), eps=1e-8,
                                            weight_decay=wd, momentum=case.get("momentum", 0.0),
                                            centered=case.get("centered", False))
        elif case["optimizer"] == "adamw":
            optimizer = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
        else:
            optimizer = torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
        xt, yt = torch.tensor(x), torch.tensor(y)
        record = dict(case, weight_decay=wd, x=x.ravel().tolist(), y=y.ravel().tolist(),
                      initial=[p.ravel().tolist() for p in initial], steps=[])
        for _ in range(3):
            optimizer.zero_grad()
            W1, b1, W2, b2 = params[:4]
            x0 = xt * params[4] if case.get("front_scale") else xt
            z2 = ACT[case["hidden"]](x0 @ W1.T + b1) @ W2.T + b2
            ls = case.get("label_smoothing", 0.0)
            if case["loss"] == "cross_entropy" and ls > 0:
                loss = torch.nn.functional.cross_entropy(z2, yt.argmax(1), label_smoothing=ls)
            elif case["loss"] == "cross_entropy":
                loss = -(yt * torch.log_softmax(z2, dim=1)).sum() / 5
            elif case["loss"] == "binary_cross_entropy":
                smoothed = yt * (1 - ls) + ls / 2
                loss = torch.nn.functional.binary_cross_entropy_with_logits(z2, smoothed, reduction="sum") / 5
            else:
                loss = 0.5 * ((ACT[case["output"]](z2) - yt) ** 2).sum() / 5
            loss.backward()
            if "clip_value" in case:
                torch.nn.utils.clip_grad_value_(params, case["clip_value"])
            if "clip_norm" in case:
                torch.nn.utils.clip_grad_norm_(params, case["clip_norm"])
            gradients = [p.grad.detach().numpy().ravel().tolist() for p in params]
            optimizer.step()
            step = {"loss": loss.item(), "gradients": gradients,
                    "parameters": [p.detach().numpy().ravel().tolist() for p in params]}
            if averaged is not None:
                averaged.update_parameters(holder)
                step["averaged"] = [p.detach().numpy().ravel().tolist()
                                    for p in averaged.module.params]
            record["steps"].append(step)
        out.append(record)
    OUT.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
