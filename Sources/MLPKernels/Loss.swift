// Losses, forward and backward in one pass: each returns Σ_rows l and writes
// delta = ∂L/∂z^N with L the mean over `rows`. softmax + cross_entropy and sigmoid +
// binary_cross_entropy are fused and work from the logits z^N (stable for any z), turning the
// output buffer into probabilities as they go. mse works on x^N = σ(z^N) and multiplies by σ'.
// Label smoothing ε replaces each target y by (1 − ε)·y + ε/K with K the classes (PyTorch's
// CrossEntropyLoss(label_smoothing=ε); K = 2 for one sigmoid unit, as Keras'
// BinaryCrossentropy(label_smoothing=ε)); the loss and its gradient are those of the new targets.

import Foundation

/// Per-sample loss l(x^N, y), averaged over the batch.
public enum LossKind: String, CaseIterable, Sendable {
  /// l = ½‖y − x^N‖²
  case mse
  /// l = −Σ y log x^N, on softmax outputs
  case crossEntropy = "cross_entropy"
  /// l = −y log p − (1 − y) log(1 − p), on one sigmoid output
  case binaryCrossEntropy = "binary_cross_entropy"

  /// Whether the loss computes the output activation itself from the logits.
  public var fusesActivation: Bool { self != .mse }
}

/// Loss sum over rows; `out` holds z^N for fused losses (x^N after) or x^N for mse, whose σ' is
/// taken from `preActivation` (z^N) when the output activation saves its input.
func lossForwardBackward(
  _ kind: LossKind, out: UnsafeMutablePointer<Float>, target: UnsafePointer<Float>,
  delta: UnsafeMutablePointer<Float>, preActivation: UnsafePointer<Float>? = nil, rows: Int,
  cols: Int, activation: Activation, parameter: Float, labelSmoothing smoothing: Float = 0
) -> Double {
  let scale = 1 / Float(rows)
  var total = 0.0
  // y ↦ keep·y + spread (exactly y when ε = 0).
  let keep = 1 - smoothing
  let spread = smoothing / Float(kind == .binaryCrossEntropy ? 2 : cols)
  switch kind {
  case .crossEntropy:  // l = −Σ y log softmax(z); ∂l/∂z = p − y
    // l = −Σ y (z − top − log Σ e^{z − top}). Three passes: each row's top logit subtracted
    // (−Σ y (z − top) summed on the way), then e^· over the whole block in one vector loop (rows
    // of a few classes are too short to vectorise one by one), then each row normalised.
    for r in 0..<rows {
      let (z, y) = (out + r * cols, target + r * cols)
      var top = -Float.infinity
      for c in 0..<cols { top = max(top, z[c]) }
      var l: Float = 0
      for c in 0..<cols {
        z[c] -= top
        l -= (keep * y[c] + spread) * z[c]
      }
      total += Double(l)
    }
    for i in 0..<rows * cols { out[i] = fastExp(out[i]) }
    // Σ_rows log Σ e^{z − top} for rows whose targets sum to 1 (one-hot) is taken as the log of
    // a product of up to eight sums in double precision (each sum is at most `cols` < 2^31, so
    // eight of them stay below 2^248): one log call per eight rows instead of one per row.
    var product = 1.0
    var factors = 0
    for r in 0..<rows {
      let (z, y, d) = (out + r * cols, target + r * cols, delta + r * cols)
      var sum: Float = 0
      var ySum: Float = 0
      for c in 0..<cols {
        sum += z[c]
        ySum += keep * y[c] + spread
      }
      if ySum == 1 {
        product *= Double(sum)
        factors += 1
        if factors == 8 {
          total += log(product)
          (product, factors) = (1, 0)
        }
      } else {
        total += Double(ySum * logf(sum))
      }
      let inverse = 1 / sum
      for c in 0..<cols {
        z[c] *= inverse
        d[c] = (z[c] - (keep * y[c] + spread)) * scale
      }
    }
    if factors > 0 { total += log(product) }
  case .binaryCrossEntropy:  // l = max(z,0) − z y + log(1 + e^{−|z|}); ∂l/∂z = σ(z) − y
    for i in 0..<rows * cols {
      let (z, y) = (out[i], keep * target[i] + spread)
      total += Double(max(z, 0) - z * y + log1pf(expf(-abs(z))))
      out[i] = sigmoid(z)
      delta[i] = (out[i] - y) * scale
    }
  case .mse:  // l = ½‖y − x‖²; ∂l/∂x = x − y, then ⊙ σ'
    for i in 0..<rows * cols {
      let diff = out[i] - target[i]
      total += Double(0.5 * diff * diff)
      delta[i] = diff * scale
    }
    activationBackward(
      delta, saved: preActivation ?? UnsafePointer(out), rows: rows, cols: cols, activation,
      parameter: parameter)
  }
  return total
}
