"""Known answers for ensembles (`ensemble: k`) from the `tabm` package itself (float64): a
TabM-mini made by `tabm.TabM.make(arch_type='tabm-mini', n_blocks=1, ...)` (its input adapter
`ElementwiseAffine`, one shared block, and `LinearEnsemble` output layers), a TabM
(`arch_type='tabm'`: a `LinearBatchEnsemble` block, whose r is mlpc's adapters, and
`LinearEnsemble` output layers; mlpc's `kind: batch_ensemble`) and a TabM-packed
(`arch_type='tabm-packed'`: k separate MLPs; mlpc's `kind: independent`) with given parameters,
trained for three steps as the package's examples train it (the loss over all k·B member
predictions at once, `y_pred.flatten(0, 1)` against the repeated targets), and its prediction
afterwards (the members' mean of probabilities or values). Writes Tests/Fixtures/ensemble_tabm.json
in the format of known_answer_torch.json, with the mlpc parameter order W1, b1, W2 (k, O, H),
b2 (k, O), adapters (k, I), then TabM's s (k, H), and `prediction` (TabM: b1 is (k, H); packed:
W1 (k, H, I) and b1 (k, H), no adapters). Needs torch and tabm:
bench/.venv-tabular/bin/python scripts/tabm_oracle.py"""
import json
import pathlib

import numpy as np
import tabm
import torch
import torch.nn.functional as F

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "ensemble_tabm.json"
MODULES = {"tanh": "Tanh", "relu": "ReLU", "gelu": "GELU", "silu": "SiLU"}


def main():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(11)
    cases = [
        {"name": "tabm-mini-k4-tanh-softmax-ce-adam-decay", "hidden": "tanh", "output": "softmax",
         "loss": "cross_entropy", "optimizer": "adam", "learning_rate": 0.05, "ensemble": 4,
         "weight_decay": 0.05, "inputs": 3, "hidden_units": 4, "outputs": 3},
        {"name": "tabm-mini-k3-relu-identity-mse-sgd", "hidden": "relu", "output": "identity",
         "loss": "mse", "optimizer": "sgd", "learning_rate": 0.2, "ensemble": 3,
         "inputs": 3, "hidden_units": 5, "outputs": 1},
        {"name": "tabm-mini-k2-gelu-sigmoid-bce-adamw", "hidden": "gelu", "output": "sigmoid",
         "loss": "binary_cross_entropy", "optimizer": "adamw", "learning_rate": 0.05,
         "weight_decay": 0.1, "ensemble": 2, "inputs": 3, "hidden_units": 4, "outputs": 1},
        {"name": "tabm-k3-relu-softmax-ce-adam-decay", "arch": "tabm", "hidden": "relu",
         "output": "softmax", "loss": "cross_entropy", "optimizer": "adam", "learning_rate": 0.05,
         "weight_decay": 0.05, "ensemble": 3, "inputs": 3, "hidden_units": 4, "outputs": 3},
        {"name": "tabm-k2-tanh-identity-mse-adamw", "arch": "tabm", "hidden": "tanh",
         "output": "identity", "loss": "mse", "optimizer": "adamw", "learning_rate": 0.05,
         "weight_decay": 0.1, "ensemble": 2, "inputs": 3, "hidden_units": 5, "outputs": 1},
        {"name": "tabm-packed-k3-gelu-sigmoid-bce-sgd-decay", "arch": "tabm-packed",
         "hidden": "gelu", "output": "sigmoid", "loss": "binary_cross_entropy", "optimizer": "sgd",
         "learning_rate": 0.2, "weight_decay": 0.05, "ensemble": 3, "inputs": 3,
         "hidden_units": 4, "outputs": 1},
    ]
    out = []
    for case in cases:
        arch = case.pop("arch", "tabm-mini")
        k, n0, n1, n2 = case["ensemble"], case["inputs"], case["hidden_units"], case["outputs"]
        f32 = lambda a: a.astype(np.float32).astype(np.float64)
        if arch == "tabm-mini":
            initial = [f32(rng.uniform(-1, 1, (n1, n0))), f32(rng.uniform(-0.5, 0.5, n1)),
                       f32(rng.uniform(-1, 1, (k, n2, n1))), f32(rng.uniform(-0.5, 0.5, (k, n2))),
                       rng.choice([-1.0, 1.0], (k, n0))]
        elif arch == "tabm":
            initial = [f32(rng.uniform(-1, 1, (n1, n0))), f32(rng.uniform(-0.5, 0.5, (k, n1))),
                       f32(rng.uniform(-1, 1, (k, n2, n1))), f32(rng.uniform(-0.5, 0.5, (k, n2))),
                       rng.choice([-1.0, 1.0], (k, n0)), f32(rng.uniform(0.5, 1.5, (k, n1)))]
        else:
            initial = [f32(rng.uniform(-1, 1, (k, n1, n0))), f32(rng.uniform(-0.5, 0.5, (k, n1))),
                       f32(rng.uniform(-1, 1, (k, n2, n1))), f32(rng.uniform(-0.5, 0.5, (k, n2)))]
        x = f32(rng.uniform(-1, 1, (5, n0)))
        if case["loss"] == "cross_entropy":
            labels = rng.integers(0, n2, 5)
            y = np.eye(n2)[labels]
        elif case["loss"] == "binary_cross_entropy":
            y = rng.integers(0, 2, (5, 1)).astype(np.float64)
        else:
            y = f32(rng.uniform(0, 1, (5, n2)))
        model = tabm.TabM.make(
            n_num_features=n0, d_out=n2, k=k, arch_type=arch, n_blocks=1, d_block=n1,
            dropout=0.0, activation=MODULES[case["hidden"]])
        linear = model.backbone.blocks[0][0]
        with torch.no_grad():
            if arch == "tabm-packed":
                linear.weight.copy_(torch.tensor(initial[0]).transpose(1, 2))  # (k, I, H)
            else:
                linear.weight.copy_(torch.tensor(initial[0]))
            linear.bias.copy_(torch.tensor(initial[1]))
            model.output.weight.copy_(torch.tensor(initial[2]).transpose(1, 2))  # (k, H, O)
            model.output.bias.copy_(torch.tensor(initial[3]))
            if arch == "tabm-mini":
                model.backbone.affine.weight.copy_(torch.tensor(initial[4]))
            elif arch == "tabm":
                linear.r.copy_(torch.tensor(initial[4]))
                linear.s.copy_(torch.tensor(initial[5]))
        params = [linear.weight, linear.bias, model.output.weight, model.output.bias]
        params += {"tabm-mini": [model.backbone.affine.weight] if arch == "tabm-mini" else [],
                   "tabm": [linear.r, linear.s] if arch == "tabm" else [],
                   "tabm-packed": []}[arch]
        assert {id(p) for p in params} == {id(p) for p in model.parameters()}, "every parameter"
        wd = case.get("weight_decay", 0.0)
        lr = case["learning_rate"]
        # Weight decay for the weights and biases, none for the adapters (mlpc leaves its
        # multiplicative scales undecayed); the ensemble minimises the mean of the members'
        # regularised losses, so a coupled (L2) decay of the members' own output layers is λ/k.
        # TabM's hidden biases are the members' own too (λ/k); its r and s are scales (none);
        # a packed ensemble's every layer is the members' own.
        head = wd if case["optimizer"] == "adamw" else wd / k
        shared = {"tabm-mini": params[:2], "tabm": params[:1], "tabm-packed": []}[arch]
        own = {"tabm-mini": params[2:4], "tabm": params[1:4], "tabm-packed": params[:4]}[arch]
        groups = [{"params": shared}, {"params": own, "weight_decay": head},
                  {"params": params[4:], "weight_decay": 0.0}]
        groups = [g for g in groups if g["params"]]
        if case["optimizer"] == "sgd":
            optimizer = torch.optim.SGD(groups, lr=lr, weight_decay=wd)
        elif case["optimizer"] == "adamw":
            optimizer = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
        else:
            optimizer = torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
        xt, yt = torch.tensor(x), torch.tensor(y)
        mlpc_order = lambda ts: [
            ts[0].transpose(1, 2) if arch == "tabm-packed" else ts[0], ts[1],
            ts[2].transpose(1, 2), ts[3]] + list(ts[4:])
        kind = {"tabm-mini": None, "tabm": "batch_ensemble", "tabm-packed": "independent"}[arch]
        record = dict(case, weight_decay=wd, ensemble_kind=kind, x=x.ravel().tolist(), y=y.ravel().tolist(),
                      initial=[p.ravel().tolist() for p in initial], steps=[])
        model.train()
        for _ in range(3):
            optimizer.zero_grad()
            z = model(xt)  # (B, k, O)
            flat = z.flatten(0, 1)
            if case["loss"] == "cross_entropy":
                loss = F.cross_entropy(flat, torch.tensor(labels).repeat_interleave(k))
            elif case["loss"] == "binary_cross_entropy":
                loss = F.binary_cross_entropy_with_logits(flat, yt.repeat_interleave(k, 0))
            else:  # mlpc's mse: ½‖y − x^N‖² per row, averaged over the k·B rows
                loss = 0.5 * ((flat - yt.repeat_interleave(k, 0)) ** 2).sum(1).mean()
            loss.backward()
            gradients = [g.detach().numpy().ravel().tolist() for g in mlpc_order([p.grad for p in params])]
            optimizer.step()
            record["steps"].append({
                "loss": loss.item(), "gradients": gradients,
                "parameters": [p.detach().numpy().ravel().tolist() for p in mlpc_order(params)]})
        model.eval()
        with torch.no_grad():
            z = model(xt)
            if case["loss"] == "cross_entropy":
                p = torch.softmax(z, -1).mean(1)
            elif case["loss"] == "binary_cross_entropy":
                p = torch.sigmoid(z).mean(1)
            else:
                p = z.mean(1)
        record["prediction"] = p.numpy().ravel().tolist()
        out.append(record)
    OUT.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
