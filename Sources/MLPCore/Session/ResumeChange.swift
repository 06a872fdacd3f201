// What `mlpc run --resume RUN --set PATH=VALUE` may change: settings that only decide how long
// training goes on or how often it saves. Everything else shaped the optimizer state, the
// schedule, the data split or the network the checkpoint holds, so continuing under another
// value would be a different run pretending to be this one: a new run from the trained weights
// (`--init-from`) is the way to change those.

import Foundation

/// The overrides a resumed run accepts.
public enum ResumeChange {
  /// Paths a resume may set (early stopping only off, as `training.early_stopping=null`).
  public static let safePaths: Set<String> = [
    "training.epochs", "training.early_stopping.patience", "training.early_stopping.min_delta",
    "training.checkpoint.every", "training.checkpoint.keep",
  ]

  /// Why `override` (PATH=VALUE) cannot change a resumed run, or nil when it can.
  public static func problem(_ override: String) -> String? {
    let parts = override.split(separator: "=", maxSplits: 1).map(String.init)
    let path = parts.first?.trimmingCharacters(in: .whitespaces) ?? ""
    let value = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
    if safePaths.contains(path) { return nil }
    if path == "training.early_stopping", ["null", "~", ""].contains(value) { return nil }
    return
      "--resume cannot change '\(path)': the run's checkpoint (weights, optimizer state, schedule, data split) was made under its value; resume may change the epochs, early stopping's patience and min_delta or turn it off (training.early_stopping=null), and checkpointing; start a new run from the trained weights with --init-from to change the rest"
  }
}
