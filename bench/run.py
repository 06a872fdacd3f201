"""Runs mlpc and its peers on W1-W3 alternately and prints the table of ratios, with the spread
over rounds; `--contention` runs everything beside one busy process pinned to the last CPU.
mlpc is timed as a user sees it, `mlpc run` end to end (see mlpc_run), next to its step bench. Then, with `--load`, CSV loading against pandas, and with `--sweep`, a sweep of hidden
width and batch size (plot in bench/scaling.png). Run through bench/run.sh."""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
MLPC = os.environ.get("MLPC_BIN", str(ROOT / ".build" / "release" / "mlpc"))  # MLPC_BIN: another build to time
PY = sys.executable
# Epoch counts of the two `mlpc run`s per workload: the difference is timed.
RUN_EPOCHS = {"w1": (1, 4), "w2": (1000, 11000), "w3": (2, 22)}  # W1: only the second run counts


def sh(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def mlpc_bench(workload):
    out = json.loads(sh([MLPC, "bench", str(HERE / f"{workload}.yaml"), "--format", "json"]))
    return {"us_per_step_bench": out["step"]["median_s"] * 1e6, "gflops": out["gflops"],
            "peak": out["peak_gflops"], "percent_of_peak": out["percent_of_peak"], "cpu": out["cpu"],
            "isa": out["isa"], "kernel_isa": out["kernel_isa"], "flops_per_step": out["flops_per_step"]}


def mlpc_run(workload, tmp):
    """Seconds per epoch and µs per step of `mlpc run`. W2 and W3: the difference of two runs of
    different lengths, so loading and start-up cancel and everything `mlpc run` does per epoch
    counts. W1: the median of the epochs after the first as metrics.jsonl records them (each
    epoch's whole loop: shuffling, gathering, steps, evaluation), since loading its 180 MB CSV
    varies by a second from run to run here, more than the difference of a few epochs."""
    spec = str(HERE / f"{workload}.yaml")
    steps = json.loads(sh([MLPC, "plan", spec, "--format", "json"]))["steps_per_epoch"]
    short, long = RUN_EPOCHS[workload]
    times = {}
    for epochs in ((long,) if workload == "w1" else (short, long)):
        out = pathlib.Path(tmp) / f"{workload}-{epochs}-{time.monotonic_ns()}"
        t = time.perf_counter()
        sh([MLPC, "run", spec, "--epochs", str(epochs), "--quiet", "--out", str(out)])
        times[epochs] = time.perf_counter() - t
    if workload == "w1":
        lines = (out / "metrics.jsonl").read_text().splitlines()
        epoch = statistics.median(json.loads(line)["seconds"] for line in lines[1:])
    else:
        epoch = (times[long] - times[short]) / (long - short)
    return {"s_per_epoch": epoch, "us_per_step": 1e6 * epoch / steps, "steps_per_epoch": steps}


def peer(name, workload, threads):
    return json.loads(sh([PY, str(HERE / "peers.py"), name, workload, str(threads)]))


def timed(args):
    """Wall seconds and peak resident MiB of a command, from GNU time."""
    err = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + args, check=True, capture_output=True, text=True).stderr
    seconds, kib = err.strip().splitlines()[-1].split()
    return float(seconds), int(kib) / 1024


def spread(values, digits=4):
    lo, hi = min(values), max(values)
    return f"{lo:.{digits}g}" if f"{lo:.{digits}g}" == f"{hi:.{digits}g}" else f"{lo:.{digits}g}–{hi:.{digits}g}"


def start_busy():
    """One busy process pinned to the last CPU."""
    busy = subprocess.Popen(["taskset", "-c", str(os.cpu_count() - 1), PY, "-c", "while True: pass"])
    time.sleep(0.5)
    return busy


def paired(rounds, peers, workloads):
    """Each round measures every program quiet and then beside one busy process, back to back,
    so that each slowdown compares two runs close in time (on a VM the host's placement of the
    virtual CPUs, and so the cost of moving data between them, changes over minutes)."""
    field = lambda w: "s_per_epoch" if w == "w1" else "us_per_step"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for workload in workloads:
                row = {"workload": workload}
                for load in ("quiet", "busy"):
                    busy = start_busy() if load == "busy" else None
                    try:
                        row[("mlpc", load)] = mlpc_run(workload, tmp)[field(workload)]
                        for name in peers:
                            both = [peer(name, workload, threads) for threads in (1, 2)]
                            row[(name, load)] = min(b[field(workload)] for b in both if field(workload) in b)
                    finally:
                        if busy:
                            busy.kill()
                            busy.wait()
                rows.append(row)
                print(f"round {r + 1}: {workload} done", file=sys.stderr)
    info = mlpc_bench(workloads[0])
    print(f"{info['cpu']} ({info['isa']}), kernels {info['kernel_isa']}, {os.cpu_count()} CPUs, "
          f"quiet then beside one busy process pinned to the last CPU, {rounds} rounds\n")
    names = ["mlpc"] + peers
    print("| round | workload | " + " | ".join(f"{n} quiet → busy (slowdown)" for n in names)
          + " | " + " | ".join(f"mlpc ÷ {p} busy" for p in peers) + " |")
    print("|---|---|" + "---|" * (len(names) + len(peers)))
    for i, row in enumerate(rows):
        cells = [f"{row[(n, 'quiet')]:.4g} → {row[(n, 'busy')]:.4g} ({row[(n, 'busy')] / row[(n, 'quiet')]:.2f}×)"
                 for n in names]
        cells += [f"{row[('mlpc', 'busy')] / row[(p, 'busy')]:.2f}" for p in peers]
        print(f"| {i // len(workloads) + 1} | {row['workload'].upper()} | " + " | ".join(cells) + " |")
    dump = [{f"{k[0]}/{k[1]}" if isinstance(k, tuple) else k: v for k, v in row.items()} for row in rows]
    (HERE / "out" / "results-paired.json").write_text(json.dumps(dump, indent=1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--contention", action="store_true", help="one busy process pinned to the last CPU")
    parser.add_argument("--paired", action="store_true",
                        help="each round quiet, then beside one busy process: slowdowns per round")
    parser.add_argument("--peers", default="numpy,torch", help="from numpy,torch,jax,sklearn")
    parser.add_argument("--workloads", default="w1,w2,w3")
    parser.add_argument("--load", action="store_true", help="also time CSV loading against pandas")
    parser.add_argument("--sweep", action="store_true", help="also sweep width and batch size")
    args = parser.parse_args()
    peers = args.peers.split(",")
    workloads = args.workloads.split(",")
    sh([PY, str(HERE / "make_data.py")])
    if args.paired:
        return paired(args.rounds, peers, workloads)
    busy = None
    if args.contention:
        cpu = os.cpu_count() - 1
        busy = subprocess.Popen(["taskset", "-c", str(cpu), PY, "-c", "while True: pass"])
        time.sleep(0.5)
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):
                for workload in workloads:
                    ours = mlpc_run(workload, tmp) | mlpc_bench(workload)
                    results.setdefault(("mlpc", workload), []).append(ours)
                    for name in peers:
                        # Best of 1 and 2 threads, as a user would pick.
                        both = [peer(name, workload, threads) for threads in (1, 2)]
                        results.setdefault((name, workload), []).append(
                            {k: min(b[k] for b in both if k in b) for k in ("us_per_step", "s_per_epoch") if any(k in b for b in both)})
                    print(f"round {r + 1}: {workload} done", file=sys.stderr)
    finally:
        if busy:
            busy.kill()
            busy.wait()

    first = results[("mlpc", workloads[0])][0]
    mode = "beside one busy process pinned to the last CPU" if args.contention else "quiet machine"
    print(f"{first['cpu']} ({first['isa']}), kernels {first['kernel_isa']}, {os.cpu_count()} CPUs, {mode}, "
          f"{args.rounds} rounds; ranges are min–max over rounds, ratios per round\n")
    print("| workload | mlpc run | mlpc step bench | " + " | ".join(f"{p} (mlpc ÷ {p})" for p in peers) + " |")
    print("|---|---|---|" + "---|" * len(peers))
    for workload in workloads:
        field, unit, scale = ("s_per_epoch", "s/epoch", 1) if workload == "w1" else ("us_per_step", "µs/step", 1)
        ours = [x[field] for x in results[("mlpc", workload)]]
        bench = [x["us_per_step_bench"] for x in results[("mlpc", workload)]]
        cells = [f"{spread(ours)} {unit}", f"{spread(bench)} µs/step"]
        for name in peers:
            theirs = [x.get(field) for x in results[(name, workload)]]
            if None in theirs:
                cells.append("—")
                continue
            ratios = [o / t for o, t in zip(ours, theirs)]
            cells.append(f"{spread(theirs)} ({spread(ratios, 2)}×)")
        print(f"| {workload.upper()} | " + " | ".join(cells) + " |")
    if "w1" in workloads:
        w1 = results[("mlpc", "w1")]
        print(f"\nW1 step: {spread([x['gflops'] for x in w1], 3)} GFLOP/s = {spread([x['percent_of_peak'] for x in w1], 3)} % "
              f"of the measured {spread([x['peak'] for x in w1], 3)} GFLOP/s FMA peak (widest vectors, all threads)")
        epoch_flops = [x["flops_per_step"] * x["steps_per_epoch"] / x["s_per_epoch"] / 1e9 for x in w1]
        print(f"W1 mlpc run epoch: {spread(epoch_flops, 3)} GFLOP/s")
    for workload in ("w2", "w3"):
        if workload in workloads:
            rows = results[("mlpc", workload)]
            print(f"{workload.upper()} mlpc run ÷ step bench: {spread([x['us_per_step'] / x['us_per_step_bench'] for x in rows], 2)}")
    dump = {f"{k[0]}/{k[1]}": v for k, v in results.items()}
    name = "results-contention.json" if args.contention else "results.json"
    (HERE / "out" / name).write_text(json.dumps(dump, indent=1))

    if args.load:
        csv = str(HERE / "out" / "w1.csv")
        loads = [(timed([MLPC, "check", str(HERE / "w1.yaml")]),
                  timed([PY, "-c", f"import pandas; pandas.read_csv({csv!r}, engine='c')"])) for _ in range(3)]
        ours = statistics.median(l[0][0] for l in loads)
        theirs = statistics.median(l[1][0] for l in loads)
        print(f"\nW1 CSV load: mlpc {ours:.2f} s (peak {max(l[0][1] for l in loads):.0f} MiB), pandas {theirs:.2f} s "
              f"(peak {max(l[1][1] for l in loads):.0f} MiB): ratio {ours / theirs:.2f}; dataset 60000×785 float32 = "
              f"{60000 * 785 * 4 / 2**20:.0f} MiB")
    if args.sweep:
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
    main()
