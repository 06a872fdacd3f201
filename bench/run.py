"""Runs mlpc and its peers on W1-W3 alternately and prints the table of ratios, with the spread
over rounds; `--contention` runs everything beside one busy process pinned to the last CPU.
mlpc is timed as a user sees it, `mlpc run` end to end (see mlpc_run), next to its step bench. Then, with `--load`, CSV loading against pandas, and with `--sweep`, a sweep of hidden
width and batch size (plot in bench/scaling.png). Run through bench/run.sh."""
import argparse
import json
import os
import pathlib
import signal
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
# W1: one run of 6 epochs, the median of the last 5 (the peers: one warm-up epoch, then 5).
RUN_EPOCHS = {"w1": (1, 6), "w2": (1000, 11000), "w3": (2, 22), "w4": (1, 6)}
EPOCHS = ("w1", "w4")  # timed by whole epochs (W4: W1 with gelu and silu, torch only)
RUN_PAIRS = 5  # W2 and W3: pairs of runs per round, the median difference counts
BENCH_REPEATS = 3  # step benches per workload and round


def sh(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def mlpc_bench(workload):
    """The step bench, three times: the median of their median steps against the highest of
    their peaks (each bench times steps for a quarter of a second, so one slow moment of the host
    would otherwise decide a round)."""
    outs = [json.loads(sh([MLPC, "bench", str(HERE / f"{workload}.yaml"), "--format", "json"]))
            for _ in range(BENCH_REPEATS)]
    out = outs[0]
    step = statistics.median(o["step"]["median_s"] for o in outs)
    peak = max(o["peak_gflops"] for o in outs)
    gflops = out["flops_per_step"] / step / 1e9
    return {"us_per_step_bench": step * 1e6, "gflops": gflops, "peak": peak,
            "percent_of_peak": 100 * gflops / peak, "cpu": out["cpu"], "isa": out["isa"],
            "kernel_isa": out["kernel_isa"], "flops_per_step": out["flops_per_step"]}


def mlpc_run(workload, tmp):
    """Seconds per epoch and µs per step of `mlpc run`. W2 and W3: the difference of two runs of
    different lengths, so loading and start-up cancel and everything `mlpc run` does per epoch
    counts; the median of RUN_PAIRS such differences, as the peers' steps are medians of
    repeats (a pair lasts under half a second, so one slow moment of the host would otherwise
    decide a round). W1: the median of the epochs after the first as metrics.jsonl records them
    (each epoch's whole loop: shuffling, gathering, steps, evaluation), since loading its 180 MB
    CSV varies by a second from run to run here, more than the difference of a few epochs."""
    spec = str(HERE / f"{workload}.yaml")
    steps = json.loads(sh([MLPC, "plan", spec, "--format", "json"]))["steps_per_epoch"]
    short, long = RUN_EPOCHS[workload]

    def run(epochs):
        out = pathlib.Path(tmp) / f"{workload}-{epochs}-{time.monotonic_ns()}"
        t = time.perf_counter()
        sh([MLPC, "run", spec, "--epochs", str(epochs), "--quiet", "--out", str(out)])
        return time.perf_counter() - t, out

    if workload in EPOCHS:
        lines = (run(long)[1] / "metrics.jsonl").read_text().splitlines()
        epoch = statistics.median(json.loads(line)["seconds"] for line in lines[1:])
    else:
        epoch = statistics.median((run(long)[0] - run(short)[0]) / (long - short) for _ in range(RUN_PAIRS))
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
    field = lambda w: "s_per_epoch" if w in EPOCHS else "us_per_step"
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


class Switched:
    """A busy process pinned to the last CPU, stopped and continued on demand (SIGSTOP/SIGCONT)."""

    def __init__(self):
        self.process = start_busy()
        self.set(False)

    def set(self, on):
        os.kill(self.process.pid, signal.SIGCONT if on else signal.SIGSTOP)

    def close(self):
        self.process.kill()
        self.process.wait()


def phase_of(epoch):
    """For mlpc's epochs in --alternating: epoch 0 warms up; then phases of two epochs, quiet
    ones even and busy ones odd; the second epoch of each phase is measured (the first covers
    the switch and mlpc's adapting to it)."""
    return None if epoch == 0 else (epoch - 1) // 2


def mlpc_alternating(phases, busy, tmp):
    """Seconds of mlpc's measured W1 epoch in each phase, switching the busy process as each
    epoch line of `mlpc run` arrives."""
    epochs = 1 + 2 * phases
    out = pathlib.Path(tmp) / f"alt-{time.monotonic_ns()}"
    run = subprocess.Popen([MLPC, "run", str(HERE / "w1.yaml"), "--epochs", str(epochs), "--out", str(out)],
                           stdout=subprocess.PIPE, text=True)
    seconds = {}
    for line in run.stdout:
        if not line.startswith("epoch "):
            continue
        done = int(line.split()[1].split("/")[0])  # epochs finished; epoch `done` (from 0) starts
        if done < epochs:
            busy.set(phase_of(done) % 2 == 1)
        finished = done - 1
        if finished > 0 and (finished - 1) % 2 == 1:
            seconds[phase_of(finished)] = float(line.split()[-1].rstrip("s"))
    busy.set(False)
    if run.wait() != 0:
        raise SystemExit("mlpc run failed in --alternating")
    return [seconds[p] for p in range(phases)]


def torch_alternating(phases, busy):
    """Seconds of PyTorch's W1 epoch in each phase, the best of 1 and 2 threads (peers.py
    alternate)."""
    peer_run = subprocess.Popen([PY, str(HERE / "peers.py"), "torch", "w1", "alternate", str(phases)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    seconds = {}
    for line in peer_run.stdout:
        record = json.loads(line)
        if "ready" in record:
            busy.set(record["ready"] % 2 == 1)
            peer_run.stdin.write("go\n")
            peer_run.stdin.flush()
        else:
            phase = record["phase"]
            seconds[phase] = min(seconds.get(phase, float("inf")), record["seconds"])
    busy.set(False)
    if peer_run.wait() != 0:
        raise SystemExit("peers.py alternate failed")
    return [seconds[p] for p in range(phases)]


def slowdowns(seconds):
    """Each busy phase's epoch over the mean of the quiet phases on either side."""
    return [seconds[p] / ((seconds[p - 1] + seconds[p + 1]) / 2) for p in range(1, len(seconds) - 1, 2)]


def alternating(rounds, busy_phases):
    """W1 slowdowns beside a busy process measured within one run of each program: the busy
    process is switched on and off between phases of epochs seconds apart, so that a slowdown
    compares epochs close in time (on a VM the host's placement of the virtual CPUs, and with it
    a two-thread epoch, changes over minutes: back-to-back runs a minute apart each way often
    caught two different placements)."""
    phases = 2 * busy_phases + 1
    rows = []
    busy = Switched()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(rounds):
                ours = mlpc_alternating(phases, busy, tmp)
                theirs = torch_alternating(phases, busy)
                rows.append({"mlpc": ours, "torch": theirs})
                print(f"round {r + 1} done", file=sys.stderr)
    finally:
        busy.close()
    info = mlpc_bench("w1")
    print(f"{info['cpu']} ({info['isa']}), kernels {info['kernel_isa']}, {os.cpu_count()} CPUs, W1 epochs "
          f"in phases alternately quiet and beside one busy process pinned to the last CPU, {rounds} rounds "
          f"of {busy_phases} busy phases; a slowdown is a busy phase's epoch over the mean of the quiet "
          f"phases on either side; PyTorch's epoch is the best of 1 and 2 threads in each phase\n")
    print("| round | mlpc quiet epochs (s) | mlpc slowdowns | PyTorch quiet epochs (s) | PyTorch slowdowns "
          "| mlpc ÷ PyTorch busy | busy phases where mlpc slowed less |")
    print("|---|---|---|---|---|---|---|")
    all_ours, all_theirs, wins = [], [], 0
    for i, row in enumerate(rows):
        ours, theirs = slowdowns(row["mlpc"]), slowdowns(row["torch"])
        all_ours += ours
        all_theirs += theirs
        won = sum(a <= b for a, b in zip(ours, theirs))
        wins += won
        ratio = [row["mlpc"][p] / row["torch"][p] for p in range(1, phases, 2)]
        print(f"| {i + 1} | {spread(row['mlpc'][0::2], 3)} | {', '.join(f'{x:.2f}' for x in ours)} "
              f"| {spread(row['torch'][0::2], 3)} | {', '.join(f'{x:.2f}' for x in theirs)} "
              f"| {spread(ratio, 2)} | {won} of {len(ours)} |")
    print(f"\nmedian slowdown: mlpc {statistics.median(all_ours):.2f}×, PyTorch {statistics.median(all_theirs):.2f}×; "
          f"mlpc slowed less in {wins} of {len(all_ours)} busy phases")
    (HERE / "out" / "results-alternating.json").write_text(json.dumps(rows, indent=1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--contention", action="store_true", help="one busy process pinned to the last CPU")
    parser.add_argument("--paired", action="store_true",
                        help="each round quiet, then beside one busy process: slowdowns per round")
    parser.add_argument("--alternating", type=int, metavar="PHASES", default=0,
                        help="W1 slowdowns within runs, with PHASES busy phases each (mlpc and PyTorch)")
    parser.add_argument("--peers", default="numpy,torch", help="from numpy,torch,jax,sklearn")
    parser.add_argument("--workloads", default="w1,w2,w3")
    parser.add_argument("--load", action="store_true", help="also time CSV loading against pandas")
    parser.add_argument("--sweep", action="store_true", help="also sweep width and batch size")
    args = parser.parse_args()
    peers = args.peers.split(",")
    workloads = args.workloads.split(",")
    sh([PY, str(HERE / "make_data.py")])
    if args.alternating:
        return alternating(args.rounds, args.alternating)
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
        field, unit, scale = ("s_per_epoch", "s/epoch", 1) if workload in EPOCHS else ("us_per_step", "µs/step", 1)
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
