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

/// A JSON object with sorted keys, for metrics lines and the summary.
public func jsonLine(_ object: [String: Any]) -> String {
  let data =
    (try? JSONSerialization.data(
      withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
  return String(decoding: data, as: UTF8.self)
}

/// A pretty-printed JSON document with sorted keys.
public func jsonDocument(_ object: [String: Any]) -> String {
  let data =
    (try? JSONSerialization.data(
      withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]))
    ?? Data()
  return String(decoding: data, as: UTF8.self)
}

extension Evaluation {
  /// Non-nil metrics as a dictionary.
  public var dictionary: [String: Any] {
    var d: [String: Any] = ["loss": loss]
    if let accuracy { d["accuracy"] = accuracy }
    if let mse { d["mse"] = mse }
    if let mae { d["mae"] = mae }
    if let r2 { d["r2"] = r2 }
    return d
  }
}

extension EpochReport {
  /// One `metrics.jsonl` line.
  public var dictionary: [String: Any] {
    var d: [String: Any] = [
      "epoch": epoch, "train_loss": trainLoss, "seconds": seconds, "steps": steps,
    ]
    if let validation { d["validation"] = validation.dictionary }
    if let test { d["test"] = test.dictionary }
    return d
  }
}
