// Regression targets scaled for training and back for everything a user sees: `standard`
// ((y − mean) / std per target, fitted on the training split; the default), `log` (ln(1 + y), for
// targets ≥ 0, such as prices and counts) or `none`. The network learns the scaled targets (its
// loss is on them); predictions, the metrics mse, mae and R², and the ONNX export are in the
// target's own units.

import Foundation

/// How regression targets are scaled for training.
public enum TargetScaling: String, Codable, Sendable, CaseIterable {
  case standard, log, none
}

/// A fitted target scaling.
public struct TargetScaler: Codable, Sendable, Equatable {
  public var scaling: TargetScaling
  /// Per target: y ↦ (y − center) / scale (standard).
  public var center: [Double]
  public var scale: [Double]

  /// Fits the scaling on `data`'s targets (count × outputs).
  public static func fit(_ scaling: TargetScaling, _ data: Dataset) -> Result<
    TargetScaler, FeatureProblem
  > {
    let n = data.outputs
    var center = [Double](repeating: 0, count: n)
    var scale = [Double](repeating: 1, count: n)
    switch scaling {
    case .none: break
    case .log:
      if let bad = data.targets.firstIndex(where: { !($0 >= 0) }) {
        return .failure(
          FeatureProblem(
            "'log' scaling needs targets ≥ 0; row \(bad / n + 1) holds \(data.targets[bad])",
            column: bad % n, row: bad / n))
      }
    case .standard:
      for t in 0..<n {
        let values = (0..<data.count).map { Double(data.targets[$0 * n + t]) }
        let mean = NumericTransform.mean(values)
        let variance =
          values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, values.count))
        center[t] = mean
        scale[t] = variance > 0 && variance.isFinite ? variance.squareRoot() : 1
      }
    }
    return .success(TargetScaler(scaling: scaling, center: center, scale: scale))
  }

  /// `data` with its targets scaled.
  public func apply(_ data: Dataset) -> Dataset {
    var out = data
    let n = data.outputs
    for i in out.targets.indices { out.targets[i] = Float(forward(Double(out.targets[i]), i % n)) }
    return out
  }

  public func forward(_ y: Double, _ t: Int) -> Double {
    switch scaling {
    case .none: y
    case .log: Foundation.log1p(y)
    case .standard: (y - center[t]) / scale[t]
    }
  }

  /// A network output back in the target's units.
  public func inverse(_ x: Double, _ t: Int) -> Double {
    switch scaling {
    case .none: x
    case .log: Foundation.expm1(x)
    case .standard: x * scale[t] + center[t]
    }
  }
}
