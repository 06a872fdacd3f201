"""Changes to `mlpc init`'s spec, one at a time, on bench/recipe.py's development tables (not the
benchmark's): for each table and seed 1-5, `mlpc init` writes its spec for a 75/25 split's
training part (its own validation split and early stopping inside), the change is applied, and
the test score is the run's. Prints each table's mean per change and a Markdown row per change.
Usage: python bench/init_variants.py [--mlpc BINARY] [--skewed] CHANGE ...   ("" is the spec as written;
plr, plr-lite, plr-s0.1, plr-k16-d8 … put `embedding: periodic` with those options on every
numeric column; tabm and independent the other kinds of ensemble; ple, ple16, rsc, front,
smooth, nosplit, nosplit100, refit (the epoch count early stopping
chose, then every training row; refit1.25 for 1.25 times as many epochs), patience50, split10, wide, three, dropout, k16 as below;
cosine adds a cosine schedule (over the epochs early stopping chose, for the refit); batch128 and
the like change the batch size; ema10 (ema5, ema20 …) averages the weights over a horizon of
ten (five, twenty …) epochs' steps; pick:A/B runs A and B and keeps the one whose best epoch had the
lower validation loss ("pick:/ple": as written or piecewise-linear numbers); log scales a regression target by ln(1 + y) (`data.target_scale: log`).)
--skewed runs recipe.SKEWED's tables (positive, skewed regression targets) instead; --numeric
recipe.NUMERIC's (numbers with a smooth, strong signal)."""
import sys, tempfile, json, os, re, subprocess, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recipe
from sklearn.model_selection import train_test_split
MLPC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "mlpc")
if len(sys.argv) > 2 and sys.argv[1] == "--mlpc":
    MLPC = sys.argv[2]
    del sys.argv[1:3]
TABLES = recipe.DEVELOPMENT
if len(sys.argv) > 1 and sys.argv[1] == "--skewed":
    TABLES = recipe.SKEWED
    del sys.argv[1]
if len(sys.argv) > 1 and sys.argv[1] == "--numeric":
    TABLES = recipe.NUMERIC
    del sys.argv[1]


def variant(text, v):
    if v.startswith("plr"):
        options = "embedding: periodic"
        for part in v.split("-")[1:]:
            if part == "lite":
                options += ", lite: true"
            elif part[0] in "skd":
                key = {"s": "sigma", "k": "frequencies", "d": "dim"}[part[0]]
                options += f", {key}: {part[1:]}"
        return re.sub(r"\{type: numeric", "{type: numeric, " + options, text)
    if v == "ple":
        return re.sub(r"\{type: numeric", "{type: numeric, scale: piecewise_linear", text)
    if v == "rsc":
        return re.sub(r"\{type: numeric", "{type: numeric, scale: robust_smooth_clip", text)
    if v == "front":
        return text.replace("ensemble: 8", "front_scale: true\nensemble: 8")
    if v == "ple16":
        return re.sub(r"\{type: numeric", "{type: numeric, scale: piecewise_linear, bins: 16", text)
    if v == "smooth":
        return text.replace("\nlayers:", "\nloss: {type: cross_entropy, label_smoothing: 0.1}\nlayers:") if "classification" in text else text
    if v == "nosplit":
        text = re.sub(r"  validation_split: 0.2\n(  stratify: true\n)?", "", text)
        return re.sub(r"  early_stopping: .*\n", "", text)
    if v == "nosplit100":
        return variant(text, "nosplit").replace("epochs: 200", "epochs: 100")
    if v == "patience50":
        return text.replace("patience: 20", "patience: 50")
    if v == "split10":
        return text.replace("validation_split: 0.2", "validation_split: 0.1")
    if v == "wide":
        def dbl(m): return "{units: %d, activation: relu}" % (2 * int(m.group(1)))
        return re.sub(r"\{units: (\d+), activation: relu\}", dbl, text)
    if v == "three":
        m = re.search(r"  - \{units: (\d+), activation: relu\}\n", text)
        return text.replace(m.group(0), m.group(0) * 2, 1)
    if v == "dropout":
        return text.replace("activation: relu}", "activation: relu, dropout: 0.1}")
    if v == "tabm":
        return text.replace("ensemble: 8", "ensemble: {members: 8, kind: batch_ensemble}")
    if v == "independent":
        return text.replace("ensemble: 8", "ensemble: {members: 8, kind: independent}")
    if v == "cosine":
        return re.sub(r"(  batch_size: \d+\n)", r"\1  schedule: {type: cosine}\n", text)
    if v.startswith("batch"):
        return re.sub(r"  batch_size: \d+\n", f"  batch_size: {v[5:]}\n", text)
    if v == "log" and "task: regression" in text:
        return text.replace("  target:", "  target_scale: log\n  target:", 1)
    if v.startswith("ema") and v[3:]:
        # Averaged weights over a horizon of N epochs' steps: d = 1 - 1/(N * steps per epoch),
        # the steps counted on the rows that train (the validation split held out).
        rows = ROWS[0]
        split = float(re.search(r"validation_split: ([0-9.]+)", text).group(1)) if "validation_split" in text else 0.0
        batch = int(re.search(r"batch_size: (\d+)", text).group(1))
        steps = -(-round(rows * (1 - split)) // batch)
        decay = round(1 - 1 / (float(v[3:]) * steps), 6)
        return re.sub(r"(  batch_size: \d+\n)", rf"\1  ema: {decay}\n", text)
    if v == "k16":
        return text.replace("ensemble: 8", "ensemble: 16")
    return text


ROWS = [0]  # the training file's rows, for the variants that depend on them
vs = sys.argv[1:]
picks = {}
means = {v: [] for v in vs}
for name, target, task, drop in TABLES:
    frame = recipe.table(name, target, drop)
    res = {v: [] for v in vs}
    for seed in [1, 2, 3, 4, 5]:
        train, test = train_test_split(frame, test_size=0.25, random_state=seed, stratify=frame[target] if task == "classification" else None)
        with tempfile.TemporaryDirectory() as folder:
            train.to_csv(os.path.join(folder, "train.csv"), index=False)
            ROWS[0] = len(train)
            test.to_csv(os.path.join(folder, "test.csv"), index=False)
            text = subprocess.run([MLPC, "init", os.path.join(folder, "train.csv"), "--target", target, "--task", task], capture_output=True, text=True, check=True).stdout
            text = text.replace("  target:", f"  test: {os.path.join(folder, 'test.csv')}\n  target:", 1)
            text = text.replace("  epochs: 200", f"  epochs: 200\n  seed: {seed}")
            for v in vs:
                written = variant(text, v)
                if v.startswith("refit"):
                    # Early stopping on the validation split picks the epoch count, then a new
                    # network trains on every training row (validation split included) for it.
                    open(os.path.join(folder, "s.yaml"), "w").write(text)
                    subprocess.run([MLPC, "run", os.path.join(folder, "s.yaml"), "--quiet", "--force", "--out", os.path.join(folder, "run")], capture_output=True, text=True, check=True)
                    best = json.load(open(os.path.join(folder, "run", "summary.json")))["best_epoch"]
                    scale = float(v[5:]) if len(v) > 5 else 1.0
                    written = variant(text, "nosplit").replace("epochs: 200", f"epochs: {max(1, round(best * scale))}")
                if v.startswith("pick:"):
                    # Both changes as written, then the one whose best epoch had the lower
                    # validation loss (what a trial on the validation split would choose).
                    scores = []
                    for w in v[5:].split("/"):
                        open(os.path.join(folder, "s.yaml"), "w").write(variant(text, w))
                        subprocess.run([MLPC, "run", os.path.join(folder, "s.yaml"), "--quiet", "--force", "--out", os.path.join(folder, "run")], capture_output=True, text=True, check=True)
                        summary = json.load(open(os.path.join(folder, "run", "summary.json")))
                        t = summary["test"]
                        scores.append((summary["validation"]["loss"], t["accuracy"] if task == "classification" else t["r2"], w))
                    best = min(scores)
                    picks.setdefault(v, []).append(best[2] or "as written")
                    res[v].append(best[1])
                    continue
                open(os.path.join(folder, "s.yaml"), "w").write(written)
                r = subprocess.run([MLPC, "run", os.path.join(folder, "s.yaml"), "--quiet", "--force", "--out", os.path.join(folder, "run")], capture_output=True, text=True)
                if r.returncode != 0:
                    print(name, v, "FAILED", r.stderr[:300]); res[v].append(np.nan); continue
                t = json.load(open(os.path.join(folder, "run", "summary.json")))["test"]
                res[v].append(t["accuracy"] if task == "classification" else t["r2"])
    for v in vs: means[v].append(np.nanmean(res[v]))
    print(name, " | ".join(f"{v} {np.nanmean(res[v]):.4f}±{np.nanstd(res[v]):.4f}" for v in vs), flush=True)
    for v, chosen in picks.items():
        print(f"  {v} chose: {', '.join(chosen)}", flush=True)
    picks.clear()
print()
for v in vs:
    print(f"| {v} | " + " | ".join(f"{m:.4f}" for m in means[v]) + f" | {np.mean(means[v]):.4f} |")
