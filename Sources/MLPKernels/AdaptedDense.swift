// TabM-mini's first layer with the members' adapters folded into its weight, forward and
// backward side by side. Member m computes z_m = (x ⊙ r_m) · Wᵀ + b = x · (W ⊙ r_m)ᵀ + b, so the
// batch is multiplied by each member's scaled weight instead of being copied k times, scaled,
// and multiplied as k·R rows; and the backward pass needs no product for ∂L/∂(x ⊙ r_m): with
// G_m = δ_mᵀ · x, ∂L/∂W = Σ_m G_m ⊙ r_m and ∂L/∂r_m = Σ_o G_m ⊙ W (one product per member
// instead of two over all rows). R = rows in the batch, I = inputs, O = outputs, K = members;
// member-major buffers hold member m's rows at m·R..<(m + 1)·R.
// The products are abandonable (Gemm.swift): these run on the executor's arena, which is freed
// only after WorkerPool.quiesce().

import MLPThreads

/// wm (K, O, I) = W ⊙ r_m; y (K·R, O) member-major = σ(x (R, I) · wm_mᵀ + b), with z kept in `z`
/// (K·R, O) when given.
func adaptedDenseForward(
  x: UnsafePointer<Float>, r: UnsafePointer<Float>, wm: UnsafeMutablePointer<Float>,
  w: UnsafePointer<Float>, b: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
  z: UnsafeMutablePointer<Float>?, rows: Int, members: Int, inputs: Int, outputs: Int,
  _ activation: Activation, parameter: Float
) {
  eachMember(members, work: rows * inputs * outputs) { m, threads in
    let wmm = wm + m * outputs * inputs
    scaleColumns(w, by: r + m * inputs, into: wmm, rows: outputs, cols: inputs)
    gemm(
      .nt, m: rows, n: outputs, k: inputs, x, lda: inputs, wmm, ldb: inputs,
      y + m * rows * outputs, ldc: outputs, accumulate: false, threads: threads,
      abandonable: true)
  }
  biasActivationForward(
    y, bias: b, preActivation: z, rows: members * rows, cols: outputs, activation,
    parameter: parameter)
}

/// From delta (K·R, O) = ∂L/∂z: g (K, O, I) = G_m = delta_mᵀ · x (scratch), dW (O, I) =
/// Σ_m G_m ⊙ r_m, dr (K, I) = Σ_o G_m ⊙ W, db (O) = Σ_rows delta; dx (R, I) = Σ_m delta_m · wm_m
/// when given (x^0 has no activation below it). wm is the forward pass's. Gradients are
/// overwritten.
func adaptedDenseBackward(
  delta: UnsafePointer<Float>, x: UnsafePointer<Float>, r: UnsafePointer<Float>,
  w: UnsafePointer<Float>, wm: UnsafePointer<Float>, dW: UnsafeMutablePointer<Float>,
  db: UnsafeMutablePointer<Float>, dr: UnsafeMutablePointer<Float>,
  g: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int, members: Int,
  inputs: Int, outputs: Int
) {
  eachMember(members, work: rows * inputs * outputs) { m, threads in
    let gm = g + m * outputs * inputs
    gemm(
      .tn, m: outputs, n: inputs, k: rows, delta + m * rows * outputs, lda: outputs, x,
      ldb: inputs, gm, ldc: inputs, accumulate: false, threads: threads, abandonable: true)
    // ∂L/∂r_m = Σ_o G_m[o] ⊙ W[o].
    let drm = dr + m * inputs
    drm.update(repeating: 0, count: inputs)
    for o in 0..<outputs {
      multiplyAdd(gm + o * inputs, w + o * inputs, into: drm, count: inputs)
    }
  }
  columnSums(delta, rows: members * rows, cols: outputs, into: db)
  // ∂L/∂W[o] = Σ_m G_m[o] ⊙ r_m, in whole rows per part.
  let parts = outputs * inputs * members >= 1 << 16 ? min(WorkerPool.shared.count, outputs) : 1
  let sum = { (part: Int) in
    for o in outputs * part / parts..<outputs * (part + 1) / parts {
      let row = dW + o * inputs
      row.update(repeating: 0, count: inputs)
      for m in 0..<members {
        multiplyAdd(g + (m * outputs + o) * inputs, r + m * inputs, into: row, count: inputs)
      }
    }
  }
  if parts > 1 { WorkerPool.shared.run(parts, sum) } else { sum(0) }
  guard let dx else { return }
  for m in 0..<members {
    gemm(
      .nn, m: rows, n: inputs, k: outputs, delta + m * rows * outputs, lda: outputs,
      wm + m * outputs * inputs, ldb: inputs, dx, ldc: inputs, accumulate: m > 0,
      abandonable: true)
  }
}

/// Runs `body(m, threads)` for every member: the members spread over the pool (each product on
/// its thread alone) when they have `work` multiply-adds each and together reach 2^20 (Gemm.swift's
/// bound for splitting a product), else one after another on this thread.
private func eachMember(
  _ members: Int, work: Int, _ body: (Int, WorkerPool?) -> Void
) {
  let pool = WorkerPool.shared
  if pool.count > 1, members > 1, work * members >= 1 << 20 {
    pool.run(members) { body($0, nil) }
  } else {
    for m in 0..<members { body(m, pool) }
  }
}

/// out (R, C) = a (R, C) with column c × s[c].
@inline(__always)
private func scaleColumns(
  _ a: UnsafePointer<Float>, by s: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
  rows: Int, cols: Int
) {
  for i in 0..<rows {
    let (ai, oi) = (a + i * cols, out + i * cols)
    var c = 0
    while c + 8 <= cols {
      UnsafeMutableRawPointer(oi + c).storeBytes(
        of: load8(ai + c) * load8(s + c), as: SIMD8<Float>.self)
      c += 8
    }
    while c < cols {
      oi[c] = ai[c] * s[c]
      c += 1
    }
  }
}

/// out += a ⊙ b, `count` values.
@inline(__always)
private func multiplyAdd(
  _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
  count: Int
) {
  var c = 0
  while c + 8 <= count {
    UnsafeMutableRawPointer(out + c).storeBytes(
      of: load8(out + c) + load8(a + c) * load8(b + c), as: SIMD8<Float>.self)
    c += 8
  }
  while c < count {
    out[c] += a[c] * b[c]
    c += 1
  }
}
