"""Peer implementations of the benchmark workloads: hand-written numpy, PyTorch, JAX and
scikit-learn, all float32, same data, same layers, same SGD settings as w1–w4.yaml (W4 is W1
with gelu and silu hidden layers, on W1's data; numpy, JAX and scikit-learn do not run it).
Usage: peers.py PEER WORKLOAD THREADS  → prints one JSON line:
  {"peer", "workload", "threads", "us_per_step" (fixed batch, median), "s_per_epoch" (W1 only)}
or peers.py torch w1 alternate PHASES: W1 epochs in phases, for run.py --alternating (which
switches a busy process on and off between phases); before each phase it prints {"ready": p}
and waits for a line on standard input, then runs one epoch on 1 thread and one on 2, printing
{"phase", "threads", "seconds"} for each."""
import json
import os
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
SPECS = {  # widths, activations, loss, batch, learning rate
    "w1": ([784, 256, 128, 10], ["relu", "relu", "softmax"], "ce", 128, 0.1),
    "w2": ([4, 16, 3], ["tanh", "softmax"], "ce", 16, 0.05),
    "w3": ([8, 64, 64, 1], ["tanh", "tanh", "identity"], "mse", 64, 0.01),
    "w4": ([784, 256, 128, 10], ["gelu", "silu", "softmax"], "ce", 128, 0.1),
}
DATA = {"w4": "w1"}  # workloads that share another's data
EPOCHS = ("w1", "w4")  # workloads timed by whole epochs over shuffled batches


def set_threads(n):
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS"):
        os.environ.pop(v, None)
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(n)
    if n == 1:
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def load(workload):
    import numpy as np
    import pandas as pd
    frame = pd.read_csv(HERE / "out" / f"{DATA.get(workload, workload)}.csv")
    x = frame.iloc[:, :-1].to_numpy(np.float32)
    y = frame.iloc[:, -1].to_numpy()
    return x, y


def median_step(step, repeats=11, min_seconds=0.05):
    for _ in range(5):
        step()
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            step()
        if time.perf_counter() - t >= min_seconds or n >= 1 << 16:
            break
        n *= 2
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            step()
        samples.append((time.perf_counter() - t) / n)
    samples.sort()
    return samples[len(samples) // 2]


def median_epochs(epoch, count=5):
    epoch()
    samples = []
    for _ in range(count):
        t = time.perf_counter()
        epoch()
        samples.append(time.perf_counter() - t)
    samples.sort()
    return samples[len(samples) // 2]


def numpy_peer(workload, x, y):
    import numpy as np
    widths, acts, loss, batch, lr = SPECS[workload]
    rng = np.random.default_rng(0)
    W = [rng.uniform(-1, 1, (o, i)).astype(np.float32) / np.sqrt(i) for i, o in zip(widths, widths[1:])]
    b = [np.zeros(o, np.float32) for o in widths[1:]]
    n_out = widths[-1]
    targets = np.eye(n_out, dtype=np.float32)[y] if loss == "ce" else y.astype(np.float32).reshape(-1, 1)

    def step(xb, yb):
        hs = [xb]
        for k, act in enumerate(acts):
            z = hs[-1] @ W[k].T + b[k]
            if act == "relu":
                z = np.maximum(z, 0)
            elif act == "tanh":
                z = np.tanh(z)
            elif act == "softmax":
                z = np.exp(z - z.max(1, keepdims=True))
                z /= z.sum(1, keepdims=True)
            hs.append(z)
        d = (hs[-1] - yb) / len(xb)
        for k in reversed(range(len(W))):
            gW, gb = d.T @ hs[k], d.sum(0)
            if k > 0:
                d = d @ W[k]
                d *= (hs[k] > 0) if acts[k - 1] == "relu" else (1 - hs[k] * hs[k])
            W[k] -= lr * gW
            b[k] -= lr * gb
    return step, targets


def torch_peer(workload, x, y, threads):
    import torch
    torch.set_num_threads(threads)
    widths, acts, loss, batch, lr = SPECS[workload]
    layers = []
    for k, act in enumerate(acts):
        layers.append(torch.nn.Linear(widths[k], widths[k + 1]))
        if act == "relu":
            layers.append(torch.nn.ReLU())
        elif act == "tanh":
            layers.append(torch.nn.Tanh())
        elif act == "gelu":
            layers.append(torch.nn.GELU())
        elif act == "silu":
            layers.append(torch.nn.SiLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lossf = torch.nn.CrossEntropyLoss() if loss == "ce" else torch.nn.MSELoss()
    targets = torch.from_numpy(y.astype("int64")) if loss == "ce" else torch.from_numpy(y.astype("float32")).reshape(-1, 1)
    xs = torch.from_numpy(x)

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        lossf(model(xb), yb).backward()
        opt.step()
    return step, xs, targets, torch


def jax_peer(workload, x, y):
    import jax
    import jax.numpy as jnp
    widths, acts, loss, batch, lr = SPECS[workload]
    key = jax.random.PRNGKey(0)
    params = []
    for i, o in zip(widths, widths[1:]):
        key, sub = jax.random.split(key)
        params.append((jax.random.uniform(sub, (o, i), minval=-1, maxval=1) / jnp.sqrt(i), jnp.zeros(o)))

    def forward(params, xb):
        h = xb
        for (Wk, bk), act in zip(params, acts):
            h = h @ Wk.T + bk
            if act == "relu":
                h = jax.nn.relu(h)
            elif act == "tanh":
                h = jnp.tanh(h)
        return h

    def objective(params, xb, yb):
        out = forward(params, xb)
        if loss == "ce":
            return -jnp.mean(jnp.sum(jax.nn.log_softmax(out) * yb, axis=1))
        return 0.5 * jnp.mean(jnp.sum((out - yb) ** 2, axis=1))

    @jax.jit
    def step(params, xb, yb):
        grads = jax.grad(objective)(params, xb, yb)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    import numpy as np
    targets = np.eye(widths[-1], dtype=np.float32)[y] if loss == "ce" else y.astype(np.float32).reshape(-1, 1)
    return step, params, jnp.asarray(x), jnp.asarray(targets)


def sklearn_peer(workload, x, y):
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    widths, acts, loss, batch, lr = SPECS[workload]
    kw = dict(hidden_layer_sizes=tuple(widths[1:-1]), activation=acts[0], solver="sgd", batch_size=batch,
              learning_rate_init=lr, momentum=0.0, nesterovs_momentum=False, alpha=0.0, random_state=0)
    model = (MLPClassifier if loss == "ce" else MLPRegressor)(**kw)
    return model


def alternate(workload, phases):
    """W1 epochs of PyTorch in `phases` phases, one epoch per thread count in each (see the
    module's text), after one unreported warm-up epoch per thread count."""
    set_threads(2)
    x, y = load(workload)
    batch = SPECS[workload][3]
    step, xs, targets, torch = torch_peer(workload, x, y, 2)

    def epoch(threads):
        torch.set_num_threads(threads)
        t = time.perf_counter()
        idx = torch.randperm(len(xs))
        for s in range(0, len(xs), batch):
            i = idx[s:s + batch]
            step(xs[i], targets[i])
        return time.perf_counter() - t
    for threads in (2, 1):
        epoch(threads)
    for phase in range(int(phases)):
        print(json.dumps({"ready": phase}), flush=True)
        sys.stdin.readline()
        for threads in (1, 2):
            print(json.dumps({"phase": phase, "threads": threads, "seconds": epoch(threads)}), flush=True)


def main(peer, workload, threads, phases=None):
    if threads == "alternate":
        if peer != "torch":
            raise SystemExit("alternate: only the torch peer")
        return alternate(workload, phases)
    if workload == "w4" and peer != "torch":
        raise SystemExit("w4 (gelu, silu): only the torch peer")
    threads = int(threads)
    set_threads(threads)
    import numpy as np
    x, y = load(workload)
    widths, acts, loss, batch, lr = SPECS[workload]
    rng = np.random.default_rng(1)
    result = {"peer": peer, "workload": workload, "threads": threads}
    order = lambda: rng.permutation(len(x))
    if peer == "numpy":
        step, targets = numpy_peer(workload, x, y)
        xb, yb = x[:batch], targets[:batch]
        result["us_per_step"] = 1e6 * median_step(lambda: step(xb, yb))
        if workload in EPOCHS:
            def epoch():
                idx = order()
                for s in range(0, len(x), batch):
                    i = idx[s:s + batch]
                    step(x[i], targets[i])
            result["s_per_epoch"] = median_epochs(epoch)
    elif peer == "torch":
        step, xs, targets, torch = torch_peer(workload, x, y, threads)
        xb, yb = xs[:batch], targets[:batch]
        result["us_per_step"] = 1e6 * median_step(lambda: step(xb, yb))
        if workload in EPOCHS:
            def epoch():
                idx = torch.randperm(len(xs))
                for s in range(0, len(xs), batch):
                    i = idx[s:s + batch]
                    step(xs[i], targets[i])
            result["s_per_epoch"] = median_epochs(epoch)
    elif peer == "jax":
        step, params, xs, targets = jax_peer(workload, x, y)
        state = {"p": params}
        xb, yb = xs[:batch], targets[:batch]

        def one():
            state["p"] = step(state["p"], xb, yb)
            state["p"][0][0].block_until_ready()
        result["us_per_step"] = 1e6 * median_step(one)
        if workload in EPOCHS:
            def epoch():
                idx = order()
                for s in range(0, len(x) - batch + 1, batch):
                    i = idx[s:s + batch]
                    state["p"] = step(state["p"], xs[i], targets[i])
                state["p"][0][0].block_until_ready()
            result["s_per_epoch"] = median_epochs(epoch)
    elif peer == "sklearn":
        model = sklearn_peer(workload, x, y)
        classes = np.unique(y) if loss == "ce" else None
        fit = (lambda: model.partial_fit(x, y, classes=classes)) if loss == "ce" else (lambda: model.partial_fit(x, y))
        seconds = median_epochs(fit)
        steps = (len(x) + batch - 1) // batch
        result["us_per_step"] = 1e6 * seconds / steps
        if workload in EPOCHS:
            result["s_per_epoch"] = seconds
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
