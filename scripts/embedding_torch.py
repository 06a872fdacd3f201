"""Known answers for embedding tables computed with PyTorch itself (float64): three training
steps of a network whose x^0 is [number, nn.Embedding(4, 2)(code a), number,
nn.Embedding(3, 3)(code b)], then tanh(5) and softmax(3) under cross-entropy, trained by Adam
(L2 weight decay inside the optimizer) and by AdamW. Codes repeat across rows (the scatter-add
sums them) and one table row is selected by no row (its gradient is 0, but weight decay still
moves it). Writes Tests/Fixtures/embedding_torch.json.
Needs torch: bench/.venv/bin/python scripts/embedding_torch.py"""
import json
import pathlib

import numpy as np
import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "embedding_torch.json"


def f32(a):
    return a.astype(np.float32).astype(np.float64)


def main():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(11)
    rows = 6
    out = []
    for optimizer_name, lr, wd in [("adam", 0.05, 0.05), ("adamw", 0.05, 0.2)]:
        tables = [f32(rng.normal(size=(4, 2))), f32(rng.normal(size=(3, 3)))]
        layers = [f32(rng.uniform(-1, 1, (5, 7))), f32(rng.uniform(-0.5, 0.5, 5)),
                  f32(rng.uniform(-1, 1, (3, 5))), f32(rng.uniform(-0.5, 0.5, 3))]
        numbers = f32(rng.uniform(-1, 1, (rows, 2)))
        codes_a = np.array([0, 2, 2, 1, 0, 2])  # row 3 of table a is never selected
        codes_b = np.array([1, 0, 2, 1, 1, 0])
        loaded = np.column_stack([numbers[:, 0], codes_a, numbers[:, 1], codes_b])
        y = np.eye(3)[rng.integers(0, 3, rows)]
        params = [torch.tensor(p, requires_grad=True) for p in layers]
        embeddings = [torch.nn.Embedding(t.shape[0], t.shape[1]) for t in tables]
        for e, t in zip(embeddings, tables):
            with torch.no_grad():
                e.weight.copy_(torch.tensor(t))
        everything = params + [e.weight for e in embeddings]
        if optimizer_name == "adam":
            optimizer = torch.optim.Adam(everything, lr=lr, weight_decay=wd)
        else:
            optimizer = torch.optim.AdamW(everything, lr=lr, weight_decay=wd)
        xn, yt = torch.tensor(numbers), torch.tensor(y)
        ia, ib = torch.tensor(codes_a), torch.tensor(codes_b)
        record = {"optimizer": optimizer_name, "learning_rate": lr, "weight_decay": wd,
                  "rows": rows, "loaded": loaded.ravel().tolist(), "y": y.ravel().tolist(),
                  "initial": [p.ravel().tolist() for p in layers + tables], "steps": []}
        for _ in range(3):
            optimizer.zero_grad()
            W1, b1, W2, b2 = params
            x0 = torch.cat([xn[:, 0:1], embeddings[0](ia), xn[:, 1:2], embeddings[1](ib)], dim=1)
            z2 = torch.tanh(x0 @ W1.T + b1) @ W2.T + b2
            loss = -(yt * torch.log_softmax(z2, dim=1)).sum() / rows
            loss.backward()
            gradients = [p.grad.detach().numpy().ravel().tolist() for p in everything]
            optimizer.step()
            record["steps"].append({
                "loss": loss.item(), "gradients": gradients,
                "parameters": [p.detach().numpy().ravel().tolist() for p in everything]})
        out.append(record)
    OUT.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
