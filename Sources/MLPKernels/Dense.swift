// The dense layer, forward and backward side by side.
// R = rows in the batch, I = input features, O = output features.
// The products are abandonable (Gemm.swift): these run on the executor's arena, which is freed
// only after WorkerPool.quiesce().

import MLPThreads

/// y (R, O) = σ(x (R, I) · wᵀ + b), w (O, I), b (O); z = x · wᵀ + b is kept in `z` (R, O) when
/// given (activations that take σ' from z).
func denseForward(
  x: UnsafePointer<Float>, w: UnsafePointer<Float>, b: UnsafePointer<Float>,
  y: UnsafeMutablePointer<Float>, z: UnsafeMutablePointer<Float>? = nil,
  rows: Int, inputs: Int, outputs: Int, _ activation: Activation, parameter: Float
) {
  gemm(
    .nt,
    m: rows, n: outputs, k: inputs, x, lda: inputs, w, ldb: inputs, y, ldc: outputs,
    accumulate: false, abandonable: true)
  biasActivationForward(
    y, bias: b, preActivation: z, rows: rows, cols: outputs, activation, parameter: parameter)
}

/// dW (O, I) = deltaᵀ · x; db (O) = Σ_rows delta; dx (R, I) = (delta · w) ⊙ σ' when given,
/// with σ the activation that produced x and σ' taken from `saved` (x itself, or the z that
/// produced it). Gradients are overwritten, so nothing needs zeroing.
func denseBackward(
  delta: UnsafePointer<Float>, x: UnsafePointer<Float>, saved: UnsafePointer<Float>,
  w: UnsafePointer<Float>,
  dW: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
  dx: UnsafeMutablePointer<Float>?,
  rows: Int, inputs: Int, outputs: Int, _ activation: Activation, parameter: Float
) {
  gemm(
    .tn,
    m: outputs, n: inputs, k: rows, delta, lda: outputs, x, ldb: inputs, dW, ldc: inputs,
    accumulate: false, abandonable: true)
  columnSums(delta, rows: rows, cols: outputs, into: db)
  guard let dx else { return }
  gemm(
    .nn,
    m: rows, n: inputs, k: outputs, delta, lda: outputs, w, ldb: inputs, dx, ldc: inputs,
    accumulate: false, abandonable: true)
  activationBackward(dx, saved: saved, rows: rows, cols: inputs, activation, parameter: parameter)
}

/// sums (C) = Σ_rows x (R, C): 16 or 8 columns at a time summed in registers down all rows,
/// the last few columns each with four partial sums (a running sum in memory would wait on its
/// own store every row). From 2^14 values the columns split over the pool in runs of whole
/// groups of 8, the last few with the last run, so every column's sum is the same bits.
func columnSums(
  _ x: UnsafePointer<Float>, rows: Int, cols: Int, into sums: UnsafeMutablePointer<Float>
) {
  let groups = cols / 8
  let pool = WorkerPool.shared
  let parts = rows * cols >= rowSplitValues ? min(pool.count, groups) : 1
  guard parts > 1 else {
    return columnSums(x, rows: rows, columns: 0..<cols, stride: cols, into: sums)
  }
  pool.run(parts) { part in
    let first = groups * part / parts * 8
    let end = part == parts - 1 ? cols : groups * (part + 1) / parts * 8
    columnSums(x, rows: rows, columns: first..<end, stride: cols, into: sums)
  }
}

/// columnSums over the columns `columns` of rows `stride` apart.
private func columnSums(
  _ x: UnsafePointer<Float>, rows: Int, columns: Range<Int>, stride cols: Int,
  into sums: UnsafeMutablePointer<Float>
) {
  let (x, sums) = (x + columns.lowerBound, sums + columns.lowerBound)
  let width = columns.count
  var j = 0
  while j + 16 <= width {
    var s = SIMD16<Float>()
    for r in 0..<rows { s += load16(x + r * cols + j) }
    UnsafeMutableRawPointer(sums + j).storeBytes(of: s, as: SIMD16<Float>.self)
    j += 16
  }
  if j + 8 <= width {
    var s = SIMD8<Float>()
    for r in 0..<rows { s += load8(x + r * cols + j) }
    UnsafeMutableRawPointer(sums + j).storeBytes(of: s, as: SIMD8<Float>.self)
    j += 8
  }
  while j < width {
    var s = SIMD4<Float>()
    var r = 0
    while r + 4 <= rows {
      s += SIMD4(
        x[r * cols + j], x[(r + 1) * cols + j], x[(r + 2) * cols + j], x[(r + 3) * cols + j])
      r += 4
    }
    var sum = s.sum()
    while r < rows {
      sum += x[r * cols + j]
      r += 1
    }
    sums[j] = sum
    j += 1
  }
}
