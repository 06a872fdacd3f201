"""Runs mlpc and its peers (numpy, PyTorch, JAX, scikit-learn) on W1-W3 alternately, with 1 and
2 threads, and prints the table of ratios; then times CSV loading against pandas and sweeps
hidden width and batch size for mlpc (plot in bench/scaling.png). Run through bench/run.sh."""
import json
import pathlib
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
MLPC = str(ROOT / ".build" / "release" / "mlpc")
PY = sys.executable
PEERS = ["numpy", "jax", "torch", "sklearn"]


def sh(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def mlpc(workload, epochs):
    out = json.loads(sh([MLPC, "bench", str(HERE / f"{workload}.yaml"), "--format", "json", "--epochs", str(epochs)]))
    r = {"us_per_step": out["step"]["median_s"] * 1e6, "gflops": out["gflops"], "peak": out["peak_gflops"]}
    if epochs:
        r["s_per_epoch"] = out["epoch"]["median_s"]
        r["epoch_gflops"] = out["epoch_gflops"]
    return r


def peer(name, workload, threads):
    return json.loads(sh([PY, str(HERE / "peers.py"), name, workload, str(threads)]))


def timed(args):
    """Wall seconds and peak resident MiB of a command, from GNU time."""
    err = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + args, check=True, capture_output=True, text=True).stderr
    seconds, kib = err.strip().splitlines()[-1].split()
    return float(seconds), int(kib) / 1024


def main(rounds=2):
    sh([PY, str(HERE / "make_data.py")])
    results = {}
    for r in range(rounds):
        for workload in ["w2", "w3", "w1"]:
            results.setdefault(("mlpc", workload), []).append(mlpc(workload, 3 if workload == "w1" else 0))
            for name in PEERS:
                for threads in (1, 2):
                    res = peer(name, workload, threads)
                    results.setdefault((name, workload), []).append(res)
            print(f"round {r + 1}: {workload} done", file=sys.stderr)

    def best(key, field):
        values = [x[field] for x in results[key] if field in x]
        return min(values) if values else None  # best of 1 or 2 threads, over rounds

    rows = []
    for workload, field, unit in [("w1", "s_per_epoch", "s/epoch"), ("w2", "us_per_step", "µs/step"), ("w3", "us_per_step", "µs/step")]:
        ours = best(("mlpc", workload), field)
        cells = [f"{ours:.4g} {unit}"]
        for name in PEERS:
            theirs = best((name, workload), field)
            cells.append(f"{theirs:.4g} ({ours / theirs:.2f}×)" if theirs else "—")
        rows.append(f"| {workload.upper()} | " + " | ".join(cells) + " |")
    w1 = results[("mlpc", "w1")][-1]
    print("| workload | mlpc | " + " | ".join(f"{p} (mlpc ÷ {p})" for p in PEERS) + " |")
    print("|---|---|" + "---|" * len(PEERS))
    print("\n".join(rows))
    print(f"\nW1 epoch: {w1['epoch_gflops']:.1f} GFLOP/s = {100 * w1['epoch_gflops'] / w1['peak']:.0f} % of the measured "
          f"{w1['peak']:.0f} GFLOP/s two-core FMA peak")

    csv = str(HERE / "out" / "w1.csv")
    loads = [(timed([MLPC, "check", str(HERE / "w1.yaml")]),
              timed([PY, "-c", f"import pandas; pandas.read_csv({csv!r}, engine='c')"])) for _ in range(3)]
    ours = statistics.median(l[0][0] for l in loads)
    theirs = statistics.median(l[1][0] for l in loads)
    print(f"\nW1 CSV load: mlpc {ours:.2f} s (peak {max(l[0][1] for l in loads):.0f} MiB), pandas {theirs:.2f} s "
          f"(peak {max(l[1][1] for l in loads):.0f} MiB): ratio {ours / theirs:.2f}; dataset 60000×785 float32 = "
          f"{60000 * 785 * 4 / 2**20:.0f} MiB")
    sweep()


def sweep():
    import tempfile
    widths = [64, 128, 256, 512, 1024, 2048, 4096]
    batches = [1, 4, 16, 64, 256, 1024]
    by_width, by_batch = [], []
    with tempfile.TemporaryDirectory() as tmp:
        def run(units, batch, inputs):
            spec = pathlib.Path(tmp) / "s.yaml"
            spec.write_text(f"task: classification\ninput: {inputs}\nlayers: [{{units: {units}, activation: relu}}, "
                            f"{{units: {units}, activation: relu}}, {{units: 10, activation: softmax}}]\n"
                            f"data: {{generator: blobs, classes: 10, dimensions: {inputs}, samples: {max(batch, 10)}}}\n"
                            f"training: {{batch_size: {batch}}}\n")
            # Best of three: one measurement per point lets host noise draw dips into the curve.
            return max(json.loads(sh([MLPC, "bench", str(spec), "--format", "json"]))["gflops"]
                       for _ in range(3))
        for w in widths:
            by_width.append(run(w, 128, 256))
        for b in batches:
            by_batch.append(run(256, b, 784))
    print("\nhidden width (256-w-w-10, batch 128): " + ", ".join(f"{w}: {g:.1f}" for w, g in zip(widths, by_width)) + " GFLOP/s")
    print("batch size (784-256-256-10): " + ", ".join(f"{b}: {g:.1f}" for b, g in zip(batches, by_batch)) + " GFLOP/s")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].semilogx(widths, by_width, "o-", base=2)
    axes[0].set(xlabel="hidden width", ylabel="GFLOP/s (training step)", title="256-w-w-10, batch 128")
    axes[1].semilogx(batches, by_batch, "o-", base=2)
    axes[1].set(xlabel="batch size", title="784-256-256-10")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(HERE / "scaling.png", dpi=100)


if __name__ == "__main__":
    sweep() if sys.argv[1:] == ["--sweep"] else main()
