// The trained parameters as named tensors for the model file (names in docs/run-output.md:
// `<layer>.weight` (n^k, n^{k-1}) and `<layer>.bias` (n^k), as PyTorch's nn.Linear names them,
// plus `input.mean` / `input.std` when inputs were standardised).

import Foundation

extension Executor {
  /// Parameters (and the standardisation statistics of `data`) as named tensors.
  public func tensors(data: PreparedData) -> [NamedTensor] {
    var out: [NamedTensor] = []
    for id in plan.parameterTensors {
      out.append(NamedTensor(name: plan[id].name, shape: plan[id].shape, values: values(id)))
    }
    if let s = data.standardizer {
      out.append(NamedTensor(name: "input.mean", shape: [s.mean.count], values: s.mean))
      out.append(NamedTensor(name: "input.std", shape: [s.std.count], values: s.std))
    }
    return out
  }
}
