"""Known answers for periodic embeddings computed with rtdl_num_embeddings' PeriodicEmbeddings
itself (PyTorch, float64): three training steps of a network whose x^0 is
[PeriodicEmbeddings(1, 4, n_frequencies=3, lite=False)(a), the lite embedding of b, number c,
the lite embedding of d], where b and d share one PeriodicEmbeddings(2, 3, n_frequencies=2,
lite=True) (one linear layer for both), then tanh(5) and softmax(3) under cross-entropy, trained
by Adam (L2 weight decay inside the optimizer) and by AdamW, with the frequencies undecayed (a
parameter group of their own) as mlpc leaves them. Writes Tests/Fixtures/periodic_torch.json.
Needs torch and rtdl-num-embeddings: bench/.venv/bin/python scripts/periodic_torch.py"""
import json
import pathlib

import numpy as np
import torch
from rtdl_num_embeddings import PeriodicEmbeddings

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "periodic_torch.json"


def f32(a):
    return a.astype(np.float32).astype(np.float64)


def main():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(23)
    rows = 6
    out = []
    for optimizer_name, lr, wd in [("adam", 0.05, 0.05), ("adamw", 0.05, 0.2)]:
        single = PeriodicEmbeddings(1, 4, n_frequencies=3, frequency_init_scale=0.5, lite=False)
        shared = PeriodicEmbeddings(2, 3, n_frequencies=2, frequency_init_scale=0.5, lite=True)
        # mlpc's layout: W (D, 2K) as nn.Linear; _NLinear keeps (n, 2K, D).
        wa, ba = f32(rng.uniform(-0.4, 0.4, (4, 6))), f32(rng.uniform(-0.4, 0.4, 4))
        wl, bl = f32(rng.uniform(-0.5, 0.5, (3, 4))), f32(rng.uniform(-0.5, 0.5, 3))
        fa, fb, fd = f32(rng.normal(0, 0.5, 3)), f32(rng.normal(0, 0.5, 2)), f32(rng.normal(0, 0.5, 2))
        with torch.no_grad():
            single.periodic.weight.copy_(torch.tensor(fa[None, :]))
            single.linear.weight.copy_(torch.tensor(wa.T[None, :, :]))
            single.linear.bias.copy_(torch.tensor(ba[None, :]))
            shared.periodic.weight.copy_(torch.tensor(np.stack([fb, fd])))
            shared.linear.weight.copy_(torch.tensor(wl))
            shared.linear.bias.copy_(torch.tensor(bl))
        layers = [f32(rng.uniform(-1, 1, (5, 11))), f32(rng.uniform(-0.5, 0.5, 5)),
                  f32(rng.uniform(-1, 1, (3, 5))), f32(rng.uniform(-0.5, 0.5, 3))]
        loaded = f32(rng.uniform(-2, 2, (rows, 4)))
        y = np.eye(3)[rng.integers(0, 3, rows)]
        params = [torch.tensor(p, requires_grad=True) for p in layers]
        # mlpc's parameter order: layers, then each distinct periodic linear layer's weight and
        # bias in column order, then every column's frequencies.
        linear = [single.linear.weight, single.linear.bias, shared.linear.weight, shared.linear.bias]
        frequencies = [single.periodic.weight, shared.periodic.weight]
        groups = [{"params": params + linear}, {"params": frequencies, "weight_decay": 0.0}]
        if optimizer_name == "adam":
            optimizer = torch.optim.Adam(groups, lr=lr, weight_decay=wd)
        else:
            optimizer = torch.optim.AdamW(groups, lr=lr, weight_decay=wd)
        x, yt = torch.tensor(loaded), torch.tensor(y)

        def ours():
            """mlpc's tensors in its order and layout, from the torch modules."""
            return [p.detach().numpy().ravel().tolist() for p in params] + [
                single.linear.weight.detach()[0].T.numpy().ravel().tolist(),
                single.linear.bias.detach()[0].numpy().ravel().tolist(),
                shared.linear.weight.detach().numpy().ravel().tolist(),
                shared.linear.bias.detach().numpy().ravel().tolist(),
                single.periodic.weight.detach()[0].numpy().ravel().tolist(),
                shared.periodic.weight.detach()[0].numpy().ravel().tolist(),
                shared.periodic.weight.detach()[1].numpy().ravel().tolist()]

        def grads():
            return [p.grad.numpy().ravel().tolist() for p in params] + [
                single.linear.weight.grad[0].T.numpy().ravel().tolist(),
                single.linear.bias.grad[0].numpy().ravel().tolist(),
                shared.linear.weight.grad.numpy().ravel().tolist(),
                shared.linear.bias.grad.numpy().ravel().tolist(),
                single.periodic.weight.grad[0].numpy().ravel().tolist(),
                shared.periodic.weight.grad[0].numpy().ravel().tolist(),
                shared.periodic.weight.grad[1].numpy().ravel().tolist()]

        record = {"optimizer": optimizer_name, "learning_rate": lr, "weight_decay": wd,
                  "rows": rows, "loaded": loaded.ravel().tolist(), "y": y.ravel().tolist(),
                  "initial": ours(), "steps": []}
        for _ in range(3):
            optimizer.zero_grad()
            W1, b1, W2, b2 = params
            ea = single(x[:, 0:1])[:, 0, :]
            ebd = shared(x[:, [1, 3]])
            x0 = torch.cat([ea, ebd[:, 0, :], x[:, 2:3], ebd[:, 1, :]], dim=1)
            z2 = torch.tanh(x0 @ W1.T + b1) @ W2.T + b2
            loss = -(yt * torch.log_softmax(z2, dim=1)).sum() / rows
            loss.backward()
            gradients = grads()
            optimizer.step()
            record["steps"].append({"loss": loss.item(), "gradients": gradients, "parameters": ours()})
        out.append(record)
    OUT.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
