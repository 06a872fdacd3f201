// Element-wise activations: the forward epilogue (bias add then σ, in place on a GEMM's output)
// next to the backward (multiply an incoming gradient by σ', taken from the output x = σ(z)).
// R = rows, C = columns; row-major, leading dimension C.

import Foundation

/// y[r, c] = σ(y[r, c] + bias[c]) for every row r.
@inline(__always)
func biasActivationForward(
  _ y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int,
  _ activation: Activation, slope: Float
) {
  // One pass per row for the element-wise activations, each a loop of its own (a switch inside
  // the loop would keep it from vectorising).
  switch activation {
  case .identity: mapRows(y, bias, rows, cols) { $0 }
  case .sigmoid: mapRows(y, bias, rows, cols) { fastSigmoid($0) }
  case .tanh: mapRows(y, bias, rows, cols) { fastTanh($0) }
  case .relu: mapRows(y, bias, rows, cols) { max($0, 0) }
  case .leakyRelu: mapRows(y, bias, rows, cols) { $0 > 0 ? $0 : slope * $0 }
  case .softplus, .softmax:
    for r in 0..<rows {
      let row = y + r * cols
      for c in 0..<cols { row[c] += bias[c] }
      activationForward(row, count: cols, activation, slope: slope)
    }
  }
}

/// row[c] = f(row[c] + bias[c]) for every row.
@inline(__always)
private func mapRows(
  _ y: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, _ rows: Int, _ cols: Int,
  _ f: (Float) -> Float
) {
  for r in 0..<rows {
    let row = y + r * cols
    for c in 0..<cols { row[c] = f(row[c] + bias[c]) }
  }
}

/// x = σ(x) over one row of `count` values (softmax normalises the row).
@inline(__always)
func activationForward(
  _ x: UnsafeMutablePointer<Float>, count: Int, _ activation: Activation, slope: Float
) {
  switch activation {
  case .identity: break
  case .sigmoid: for i in 0..<count { x[i] = fastSigmoid(x[i]) }
  case .tanh: for i in 0..<count { x[i] = fastTanh(x[i]) }
  case .relu: for i in 0..<count { x[i] = max(x[i], 0) }
  case .leakyRelu: for i in 0..<count { x[i] = x[i] > 0 ? x[i] : slope * x[i] }
  case .softplus: for i in 0..<count { x[i] = softplus(x[i]) }
  case .softmax: softmaxRow(x, count: count)
  }
}

/// g[r, c] *= σ'(z[r, c]) where σ' is written in terms of x = σ(z); softmax applies its Jacobian
/// row by row: g_i ← x_i (g_i − Σ_j x_j g_j).
@inline(__always)
func activationBackward(
  _ g: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, rows: Int, cols: Int,
  _ activation: Activation, slope: Float
) {
  let n = rows * cols
  switch activation {
  case .identity: break
  case .sigmoid: for i in 0..<n { g[i] *= x[i] * (1 - x[i]) }
  case .tanh: for i in 0..<n { g[i] *= 1 - x[i] * x[i] }
  case .relu: for i in 0..<n { g[i] = x[i] > 0 ? g[i] : 0 }
  case .leakyRelu: for i in 0..<n { g[i] = x[i] > 0 ? g[i] : slope * g[i] }
  case .softplus: for i in 0..<n { g[i] *= -expm1f(-x[i]) }  // σ(z) = 1 − e^{−softplus(z)}
  case .softmax:
    for r in 0..<rows {
      let (gr, xr) = (g + r * cols, x + r * cols)
      var dot: Float = 0
      for c in 0..<cols { dot += gr[c] * xr[c] }
      for c in 0..<cols { gr[c] = xr[c] * (gr[c] - dot) }
    }
  }
}

@inline(__always) func sigmoid(_ z: Float) -> Float {
  z >= 0 ? 1 / (1 + expf(-z)) : expf(z) / (1 + expf(z))
}

/// log(1 + e^z) without overflow.
@inline(__always) func softplus(_ z: Float) -> Float {
  max(z, 0) + log1pf(expf(-abs(z)))
}

/// Numerically stable softmax in place: subtract the row maximum first.
@inline(__always) func softmaxRow(_ x: UnsafeMutablePointer<Float>, count: Int) {
  var top = -Float.infinity
  for i in 0..<count { top = max(top, x[i]) }
  for i in 0..<count { x[i] = fastExp(x[i] - top) }
  var sum: Float = 0
  for i in 0..<count { sum += x[i] }
  let scale = 1 / sum
  for i in 0..<count { x[i] *= scale }
}
