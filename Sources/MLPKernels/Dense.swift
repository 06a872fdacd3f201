// The dense layer, forward and backward side by side.
// R = rows in the batch, I = input features, O = output features.
// The products are abandonable (Gemm.swift): these run on the executor's arena, which is freed
// only after WorkerPool.quiesce().

/// y (R, O) = σ(x (R, I) · wᵀ + b), w (O, I), b (O).
func denseForward(
  x: UnsafePointer<Float>, w: UnsafePointer<Float>, b: UnsafePointer<Float>,
  y: UnsafeMutablePointer<Float>,
  rows: Int, inputs: Int, outputs: Int, _ activation: Activation, parameter: Float
) {
  gemm(
    .nt,
    m: rows, n: outputs, k: inputs, x, lda: inputs, w, ldb: inputs, y, ldc: outputs,
    accumulate: false, abandonable: true)
  biasActivationForward(y, bias: b, rows: rows, cols: outputs, activation, parameter: parameter)
}

/// dW (O, I) = deltaᵀ · x; db (O) = Σ_rows delta; dx (R, I) = (delta · w) ⊙ σ'(x) when given,
/// with σ the activation that produced x. Gradients are overwritten, so nothing needs zeroing.
func denseBackward(
  delta: UnsafePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
  dW: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
  dx: UnsafeMutablePointer<Float>?,
  rows: Int, inputs: Int, outputs: Int, _ activation: Activation, parameter: Float
) {
  gemm(
    .tn,
    m: outputs, n: inputs, k: rows, delta, lda: outputs, x, ldb: inputs, dW, ldc: inputs,
    accumulate: false, abandonable: true)
  db.update(repeating: 0, count: outputs)
  for r in 0..<rows {
    let d = delta + r * outputs
    for o in 0..<outputs { db[o] += d[o] }
  }
  guard let dx else { return }
  gemm(
    .nn,
    m: rows, n: inputs, k: outputs, delta, lda: outputs, w, ldb: inputs, dx, ldc: inputs,
    accumulate: false, abandonable: true)
  activationBackward(dx, x: x, rows: rows, cols: inputs, activation, parameter: parameter)
}
