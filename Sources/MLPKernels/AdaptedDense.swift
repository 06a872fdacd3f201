// The backward pass of TabM-mini's first layer, whose members read x ⊙ r_m (the adapters r_m,
// spread by ensembleSpreadForward) through one shared W. Written out as the dense layer's
// backward over the k·R member rows and then the spread's, it takes two products of k·R rows
// (∂L/∂W and ∂L/∂(x ⊙ r_m)), the second only to reduce it to ∂L/∂r. Here one product's worth
// does both: with G_m = δ_mᵀ · x per member (O, I), ∂L/∂W = Σ_m G_m ⊙ r_m and
// ∂L/∂r_m = Σ_o G_m ⊙ W, each a pass over k·O·I values.
// R = rows in the batch, I = inputs, O = outputs, K = members; member-major buffers hold member
// m's rows at m·R..<(m + 1)·R.
// The products are abandonable (Gemm.swift): these run on the executor's arena, which is freed
// only after WorkerPool.quiesce().

import MLPThreads

/// From delta (K·R, O) = ∂L/∂z and x (R, I), the rows before the adapters: g (K, O, I) = G_m
/// (scratch), dW (O, I) = Σ_m G_m ⊙ r_m, dr (K, I) = Σ_o G_m ⊙ W, db (O) = Σ_rows delta; with dx
/// (R, I), ∂L/∂x = Σ_m (delta_m · W) ⊙ r_m = Σ_m delta_m · wm_m, wm (K, O, I) = W ⊙ r_m built in
/// its scratch (x has no activation below it). Gradients are overwritten.
func adaptedDenseBackward(
  delta: UnsafePointer<Float>, x: UnsafePointer<Float>, r: UnsafePointer<Float>,
  w: UnsafePointer<Float>, dW: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
  dr: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>,
  wm: UnsafeMutablePointer<Float>?, dx: UnsafeMutablePointer<Float>?, rows: Int, members: Int,
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
    if let wm {
      scaleColumns(
        w, by: r + m * inputs, into: wm + m * outputs * inputs, rows: outputs, cols: inputs)
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
  guard let dx, let wm else { return }
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
