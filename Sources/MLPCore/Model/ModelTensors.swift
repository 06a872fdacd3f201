// What a run writes: the trained parameters as safetensors (tensor names in docs/run-output.md:
// `<layer>.weight` (n^k, n^{k-1}) and `<layer>.bias` (n^k), as PyTorch's nn.Linear names them,
// plus `input.mean` / `input.std` when inputs were standardised), per-epoch metrics as JSON lines
// and a summary.

import Foundation

extension Executor {
  /// Parameters (and the standardisation statistics of `data`) as named tensors.
  public func tensors(data: PreparedData) -> [NamedTensor] {
    var out: [NamedTensor] = []
    for id in plan.weights + plan.biases {
      out.append(NamedTensor(name: plan[id].name, shape: plan[id].shape, values: values(id)))
    }
    if let s = data.standardizer {
      out.append(NamedTensor(name: "input.mean", shape: [s.mean.count], values: s.mean))
      out.append(NamedTensor(name: "input.std", shape: [s.std.count], values: s.std))
    }
    return out
  }
}

extension EpochReport {
  /// The `metrics.jsonl` line of `dictionary`, written directly (JSONSerialization costs about
  /// 45 µs a line, more than a W2 epoch of ten steps): keys sorted, non-finite numbers as null
  /// listed under `non_finite`, as `JSONRecord.line` writes them.
  public var metricsLine: String {
    // Built by appending to two strings (the fields before and after `non_finite`, which lists
    // what the later ones hold): arrays of parts joined cost about 1.5 µs a line, a tenth of a
    // W2 epoch.
    var nonFinite: [String] = []
    func append(_ key: String, _ x: Double, path: String, to line: inout String) {
      line += "\"" + key + "\":"
      if x.isFinite {
        line += x.description
      } else {
        nonFinite.append(path)
        line += "null"
      }
    }
    func append(_ e: Evaluation, _ split: String, to line: inout String) {
      line += "\"" + split + "\":{"
      var first = true
      for (key, value) in [
        ("accuracy", e.accuracy), ("loss", e.loss), ("mae", e.mae), ("mse", e.mse), ("r2", e.r2),
      ] {
        guard let value else { continue }
        if !first { line += "," }
        first = false
        append(key, value, path: split + "." + key, to: &line)
      }
      line += "}"
    }
    var rest = ""
    rest.reserveCapacity(128)
    append("seconds", seconds, path: "seconds", to: &rest)
    rest += ",\"steps\":" + String(steps)
    if let test {
      rest += ","
      append(test, "test", to: &rest)
    }
    rest += ","
    append("train_loss", trainLoss, path: "train_loss", to: &rest)
    if let validation {
      rest += ","
      append(validation, "validation", to: &rest)
    }
    var line = "{\"epoch\":" + String(epoch)
    line.reserveCapacity(rest.utf8.count + 64)
    if let learningRate {
      line += ","
      append("learning_rate", learningRate, path: "learning_rate", to: &line)
    }
    if !nonFinite.isEmpty {
      line += ",\"non_finite\":[" + nonFinite.sorted().map { "\"\($0)\"" }.joined(separator: ",")
      line += "]"
    }
    return line + "," + rest + "}"
  }
}
