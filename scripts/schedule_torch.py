"""The learning rate of every epoch from PyTorch's own schedulers (torch.optim.lr_scheduler),
stepped once after each epoch, for the settings of `training.schedule`: step, exponential,
cosine annealing, each with and without linear warm-up (SequentialLR of LinearLR and the
schedule, milestone at the warm-up's end), and ReduceLROnPlateau fed a fixed metric sequence
(after warm-up, when there is one: ReduceLROnPlateau cannot sit inside SequentialLR, so the
warm-up's LinearLR is stepped first and the plateau scheduler is created when it ends).
Writes Tests/Fixtures/schedules_torch.json. Needs torch: bench/.venv/bin/python scripts/..."""
import json
import math
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "schedules_torch.json"

# A metric that improves, stalls, wobbles below the relative threshold, then improves again.
METRIC = [1.0, 0.8, 0.7, 0.7, 0.69995, 0.71, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.5, 0.5, 0.5,
          0.5, 0.5, 0.5, 0.5, 0.5, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49]
ACCURACY = [0.5, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7, 0.70001, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8,
            0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]


def rates(case):
    lr = case["learning_rate"]
    epochs = case["epochs"]
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    s = torch.optim.lr_scheduler
    warmup = case.get("warmup_epochs", 0)
    kind = case["type"]
    main = None
    if kind == "step":
        main = s.StepLR(optimizer, step_size=case["step_size"], gamma=case["gamma"])
    elif kind == "exponential":
        main = s.ExponentialLR(optimizer, gamma=case["gamma"])
    elif kind == "cosine":
        main = s.CosineAnnealingLR(optimizer, T_max=max(1, epochs - warmup),
                                   eta_min=case.get("min_learning_rate", 0.0))
    elif kind == "constant":
        main = s.ConstantLR(optimizer, factor=1.0, total_iters=0)
    if kind != "plateau":
        if warmup > 0:
            linear = s.LinearLR(optimizer, start_factor=case["warmup_start_factor"],
                                end_factor=1.0, total_iters=warmup)
            scheduler = s.SequentialLR(optimizer, [linear, main], milestones=[warmup])
        else:
            scheduler = main
        out = []
        for _ in range(epochs):
            out.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return out
    # plateau
    metric = ACCURACY if case["monitor"] == "validation_accuracy" else METRIC
    mode = "max" if case["monitor"] == "validation_accuracy" else "min"
    linear = (s.LinearLR(optimizer, start_factor=case["warmup_start_factor"], end_factor=1.0,
                         total_iters=warmup) if warmup > 0 else None)
    plateau = None
    out = []
    for e in range(epochs):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if e < warmup:
            linear.step()
            continue
        if plateau is None:
            plateau = s.ReduceLROnPlateau(
                optimizer, mode=mode, factor=case["factor"], patience=case["patience"],
                threshold=case["threshold"], threshold_mode="rel", cooldown=case["cooldown"],
                min_lr=case["min_learning_rate"])
        plateau.step(metric[e])
    return out


def main():
    torch.set_default_dtype(torch.float64)
    cases = [
        {"name": "constant", "type": "constant", "learning_rate": 0.1, "epochs": 5},
        {"name": "step", "type": "step", "learning_rate": 0.1, "epochs": 12, "step_size": 3,
         "gamma": 0.5},
        {"name": "step-warmup", "type": "step", "learning_rate": 0.1, "epochs": 14,
         "step_size": 4, "gamma": 0.3, "warmup_epochs": 3, "warmup_start_factor": 0.1},
        {"name": "exponential", "type": "exponential", "learning_rate": 0.05, "epochs": 10,
         "gamma": 0.9},
        {"name": "cosine", "type": "cosine", "learning_rate": 0.1, "epochs": 20,
         "min_learning_rate": 0.001},
        {"name": "cosine-warmup", "type": "cosine", "learning_rate": 0.01, "epochs": 25,
         "min_learning_rate": 0.0, "warmup_epochs": 5, "warmup_start_factor": 0.2},
        {"name": "constant-warmup", "type": "constant", "learning_rate": 0.3, "epochs": 8,
         "warmup_epochs": 4, "warmup_start_factor": 0.25},
        {"name": "plateau-loss", "type": "plateau", "learning_rate": 0.1, "epochs": 30,
         "monitor": "validation_loss", "factor": 0.5, "patience": 2, "threshold": 1e-4,
         "cooldown": 0, "min_learning_rate": 0.01},
        {"name": "plateau-loss-cooldown-warmup", "type": "plateau", "learning_rate": 0.1,
         "epochs": 30, "monitor": "validation_loss", "factor": 0.3, "patience": 1,
         "threshold": 1e-3, "cooldown": 2, "min_learning_rate": 0.0, "warmup_epochs": 2,
         "warmup_start_factor": 0.5},
        {"name": "plateau-accuracy", "type": "plateau", "learning_rate": 0.2, "epochs": 30,
         "monitor": "validation_accuracy", "factor": 0.1, "patience": 3, "threshold": 1e-4,
         "cooldown": 1, "min_learning_rate": 0.0001},
    ]
    out = {"metric_validation_loss": METRIC, "metric_validation_accuracy": ACCURACY, "cases": []}
    for case in cases:
        out["cases"].append(dict(case, rates=rates(case)))
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases, torch {torch.__version__})")


if __name__ == "__main__":
    main()
