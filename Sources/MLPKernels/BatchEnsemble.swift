// A BatchEnsemble layer (Wen et al. 2020; TabM's hidden layers), forward and backward side by
// side: k members share W, and member m scales its input by r_m, the product by s_m, and adds
// its own bias b_m:
//   u = x ⊙ r_m,  p = u·Wᵀ,  z = p ⊙ s_m + b_m,  y = σ(z)
// over K·R member-major rows, so the product is one tall matrix product. The first layer has no
// r here (the ensemble's adapters in front of it are its r). u and p are kept in buffers of their
// own for the backward pass, which reuses them as scratch once they have been read.
// R = rows per member, K = members, I = inputs, O = outputs.

/// y (K·R, O) = σ((x ⊙ r_m)·wᵀ ⊙ s_m + b_m); u (K·R, I) receives x ⊙ r_m (unused without r),
/// p (K·R, O) the product; z kept in `z` when given.
func batchEnsembleForward(
  x: UnsafePointer<Float>, r: UnsafePointer<Float>?, u: UnsafeMutablePointer<Float>,
  w: UnsafePointer<Float>, p: UnsafeMutablePointer<Float>, s: UnsafePointer<Float>,
  b: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, z: UnsafeMutablePointer<Float>?,
  rows: Int, members: Int, inputs: Int, outputs: Int, _ activation: Activation, parameter: Float
) {
  var input = x
  if let r {
    for m in 0..<members {
      let rm = r + m * inputs
      for i in m * rows..<(m + 1) * rows {
        let (xi, ui) = (x + i * inputs, u + i * inputs)
        for c in 0..<inputs { ui[c] = xi[c] * rm[c] }
      }
    }
    input = UnsafePointer(u)
  }
  gemm(
    .nt, m: members * rows, n: outputs, k: inputs, input, lda: inputs, w, ldb: inputs, p,
    ldc: outputs, accumulate: false, abandonable: true)
  for m in 0..<members {
    let sm = s + m * outputs
    for i in m * rows..<(m + 1) * rows {
      let (pi, yi) = (p + i * outputs, y + i * outputs)
      for c in 0..<outputs { yi[c] = pi[c] * sm[c] }
    }
    let at = m * rows * outputs
    biasActivationForward(
      y + at, bias: b + m * outputs, preActivation: z.map { $0 + at }, rows: rows, cols: outputs,
      activation, parameter: parameter)
  }
}

/// From delta = ∂L/∂z (K·R, O): db_m = Σ delta, ds_m = Σ delta ⊙ p, then g = delta ⊙ s_m (into
/// p), dW = gᵀ·u (x without r), and when r or dx is given ∂L/∂u = g·W (into u); dr_m =
/// Σ ∂L/∂u ⊙ x, and dx = ∂L/∂u ⊙ r_m ⊙ σ'(x's layer) from `saved`. Gradients are overwritten.
func batchEnsembleBackward(
  delta: UnsafePointer<Float>, x: UnsafePointer<Float>, saved: UnsafePointer<Float>,
  r: UnsafePointer<Float>?, u: UnsafeMutablePointer<Float>, w: UnsafePointer<Float>,
  p: UnsafeMutablePointer<Float>, s: UnsafePointer<Float>, dr: UnsafeMutablePointer<Float>?,
  dW: UnsafeMutablePointer<Float>, ds: UnsafeMutablePointer<Float>,
  db: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int, members: Int,
  inputs: Int, outputs: Int, _ activation: Activation, parameter: Float
) {
  ds.update(repeating: 0, count: members * outputs)
  for m in 0..<members {
    let (sm, dsm) = (s + m * outputs, ds + m * outputs)
    columnSums(delta + m * rows * outputs, rows: rows, cols: outputs, into: db + m * outputs)
    for i in m * rows..<(m + 1) * rows {
      let (di, pi) = (delta + i * outputs, p + i * outputs)
      for c in 0..<outputs {
        dsm[c] += di[c] * pi[c]
        pi[c] = di[c] * sm[c]
      }
    }
  }
  let input = r == nil ? x : UnsafePointer(u)
  gemm(
    .tn, m: outputs, n: inputs, k: members * rows, p, lda: outputs, input, ldb: inputs, dW,
    ldc: inputs, accumulate: false, abandonable: true)
  guard r != nil || dx != nil else { return }
  gemm(
    .nn, m: members * rows, n: inputs, k: outputs, p, lda: outputs, w, ldb: inputs, u,
    ldc: inputs, accumulate: false, abandonable: true)
  if let r, let dr {
    dr.update(repeating: 0, count: members * inputs)
    for m in 0..<members {
      let drm = dr + m * inputs
      for i in m * rows..<(m + 1) * rows {
        let (gi, xi) = (u + i * inputs, x + i * inputs)
        for c in 0..<inputs { drm[c] += gi[c] * xi[c] }
      }
      let rm = r + m * inputs
      for i in m * rows..<(m + 1) * rows {
        let gi = u + i * inputs
        for c in 0..<inputs { gi[c] *= rm[c] }
      }
    }
  }
  guard let dx else { return }
  dx.update(from: u, count: members * rows * inputs)
  activationBackward(
    dx, saved: saved, rows: members * rows, cols: inputs, activation, parameter: parameter)
}
