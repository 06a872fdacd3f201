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
/// its scratch (x has no activation below it). With `runs` (the forward pass's), the rows that
/// are runs take their terms and the others the products, over x with the runs' rows zeroed in
/// `u` (the forward pass's copies, free by now). Gradients are overwritten.
func adaptedDenseBackward(
  delta: UnsafePointer<Float>, x: UnsafePointer<Float>, r: UnsafePointer<Float>,
  w: UnsafePointer<Float>, dW: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
  dr: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>,
  wm: UnsafeMutablePointer<Float>?, dx: UnsafeMutablePointer<Float>?,
  runs: RunScratch<UnsafeMutablePointer<Float>>? = nil, u: UnsafeMutablePointer<Float>? = nil,
  rows: Int, members: Int, inputs: Int, outputs: Int
) {
  var structured = 0
  if let runs {
    for i in 0..<rows where runTerms(runs.terms, row: i, inputs: inputs) != nil {
      structured += 1
    }
  }
  var xs = x
  if let runs, let u, structured > 0, structured < rows {
    for i in 0..<rows {
      if runTerms(runs.terms, row: i, inputs: inputs) != nil {
        (u + i * inputs).update(repeating: 0, count: inputs)
      } else {
        (u + i * inputs).update(from: x + i * inputs, count: inputs)
      }
    }
    xs = UnsafePointer(u)
  }
  let products = structured < rows
  eachMember(members, work: rows * inputs * outputs) { m, threads in
    let gm = g + m * outputs * inputs
    let drm = dr + m * inputs
    drm.update(repeating: 0, count: inputs)
    if products {
      gemm(
        .tn, m: outputs, n: inputs, k: rows, delta + m * rows * outputs, lda: outputs, xs,
        ldb: inputs, gm, ldc: inputs, accumulate: false, threads: threads, abandonable: true)
      // ∂L/∂r_m = Σ_o G_m[o] ⊙ W[o].
      for o in 0..<outputs {
        multiplyAdd(gm + o * inputs, w + o * inputs, into: drm, count: inputs)
      }
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
      guard products else { continue }
      for m in 0..<members {
        multiplyAdd(g + (m * outputs + o) * inputs, r + m * inputs, into: row, count: inputs)
      }
    }
  }
  if parts > 1 { WorkerPool.shared.run(parts, sum) } else { sum(0) }
  if let runs, structured > 0 {
    adaptedRunsBackward(
      delta: delta, r: r, runs: runs, dW: dW, dr: dr, rows: rows, members: members,
      inputs: inputs, outputs: outputs)
  }
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

// Inputs made of runs of ones and zeros (piecewise-linear bins, one-hot codes). A row of x^0 is
// then a few terms: a run of ones over columns s...e, or one value v at column s. Member m's
// z = Σ_j x_j · r_m[j] · W[:, j] takes, per run, a difference of two prefix sums P_m[j] =
// Σ_{j' ≤ j} r_m[j'] · Wᵀ[j'] (rows of Wᵀ, (I, O)), and per value v · r_m[s] · Wᵀ[s]: a few
// vector additions per row instead of I. Backward, G_mᵀ[j] = Σ_i x_ij · δ_m[i] is a prefix sum
// of the runs' starts and ends (a difference array) plus the values. Rows with more terms than
// I / 8 stay with the product. Which path a row takes depends on that row alone, and either
// path's result on that row alone, so a row's prediction never depends on the rows batched with
// it.

/// Whether a layer of `inputs` × `outputs` takes the path for runs: wide enough that terms pay,
/// and products wide enough that a row's result from the product never depends on how many
/// rows the product has (Gemm.swift takes its small path only below 2048 multiply-adds).
public func runsPay(inputs: Int, outputs: Int) -> Bool {
  inputs >= 32 && outputs >= 8 && inputs * outputs > 2048
}

/// Writes row i's terms at terms + i·I (word 0: their count, or −1 when the row has more than
/// I / 8 and stays with the product; then (first column, last column, value) each); returns how
/// many rows are runs.
func scanRuns(
  _ x: UnsafePointer<Float>, rows: Int, inputs: Int, into terms: UnsafeMutablePointer<Float>
) -> Int {
  let cap = inputs / 8
  var count = 0
  for i in 0..<rows {
    let row = x + i * inputs
    let t = UnsafeMutableRawPointer(terms + i * inputs)
    var n = 0
    var j = 0
    var fits = true
    while j < inputs {
      let v = row[j]
      if v == 0 {
        j += 1
        continue
      }
      var e = j
      if v == 1 { while e + 1 < inputs && row[e + 1] == 1 { e += 1 } }
      if n == cap {
        fits = false
        break
      }
      t.storeBytes(of: Int32(j), toByteOffset: 4 * (1 + 3 * n), as: Int32.self)
      t.storeBytes(of: Int32(e), toByteOffset: 4 * (2 + 3 * n), as: Int32.self)
      t.storeBytes(of: v, toByteOffset: 4 * (3 + 3 * n), as: Float.self)
      n += 1
      j = e + 1
    }
    t.storeBytes(of: Int32(fits ? n : -1), as: Int32.self)
    if fits { count += 1 }
  }
  return count
}

/// Row i's terms: nil when it stays with the product.
@inline(__always)
func runTerms(_ terms: UnsafePointer<Float>, row i: Int, inputs: Int)
  -> (UnsafeRawPointer, Int)?
{
  let t = UnsafeRawPointer(terms + i * inputs)
  let n = Int(t.load(as: Int32.self))
  return n < 0 ? nil : (t + 4, n)
}

@inline(__always)
func term(_ t: UnsafeRawPointer, _ k: Int) -> (first: Int, last: Int, value: Float) {
  (
    Int(t.load(fromByteOffset: 12 * k, as: Int32.self)),
    Int(t.load(fromByteOffset: 12 * k + 4, as: Int32.self)),
    t.load(fromByteOffset: 12 * k + 8, as: Float.self)
  )
}

/// The scratch of the path for runs: the rows' terms (R, I), Wᵀ (I, O) (in the backward pass
/// Σ_m r_m ⊙ G_mᵀ), and each member's prefix sums P_m (K, 2, I, O: I·O doubles each; in the
/// backward pass G_mᵀ, in doubles too).
public struct RunScratch<Ref> {
  public var terms: Ref
  public var transposed: Ref
  public var prefix: Ref
  public init(terms: Ref, transposed: Ref, prefix: Ref) {
    (self.terms, self.transposed, self.prefix) = (terms, transposed, prefix)
  }
  public func map<T>(_ f: (Ref) -> T) -> RunScratch<T> {
    RunScratch<T>(terms: f(terms), transposed: f(transposed), prefix: f(prefix))
  }
}

extension RunScratch: Sendable where Ref: Sendable {}

/// TabM-mini's layer 1 forward: y (K·R, O) member-major = σ((x ⊙ r_m) · Wᵀ + b), z kept when
/// given. Rows that are runs take their terms; the others are spread into u (K·R, I) as
/// x ⊙ r_m (the runs' rows zero) and multiplied by W in one product of K·R rows.
func adaptedDenseForward(
  x: UnsafePointer<Float>, r: UnsafePointer<Float>, w: UnsafePointer<Float>,
  b: UnsafePointer<Float>, u: UnsafeMutablePointer<Float>,
  runs: RunScratch<UnsafeMutablePointer<Float>>,
  y: UnsafeMutablePointer<Float>, z: UnsafeMutablePointer<Float>?, rows: Int, members: Int,
  inputs: Int, outputs: Int, _ activation: Activation, parameter: Float
) {
  let (I, O) = (inputs, outputs)
  let structured = scanRuns(x, rows: rows, inputs: I, into: runs.terms)
  if structured < rows {
    for m in 0..<members {
      let rm = r + m * I
      for i in 0..<rows {
        let out = u + (m * rows + i) * I
        if runTerms(runs.terms, row: i, inputs: I) != nil {
          out.update(repeating: 0, count: I)
        } else {
          scaleColumns(x + i * I, by: rm, into: out, rows: 1, cols: I)
        }
      }
    }
    gemm(
      .nt, m: members * rows, n: O, k: I, u, lda: I, w, ldb: I, y, ldc: O, accumulate: false,
      abandonable: true)
  }
  if structured > 0 {
    transpose(w, rows: O, cols: I, into: runs.transposed)
    let wt = UnsafePointer(runs.transposed)
    eachMember(members, work: rows * I * O / 8) { m, _ in
      // In double precision: a run's sum is a difference of two sums over every column before
      // it, which in single precision would cost short runs most of their digits.
      let rm = r + m * I
      let p = UnsafeMutableRawPointer(runs.prefix + m * 2 * I * O).bindMemory(
        to: Double.self, capacity: I * O)
      for c in 0..<O { p[c] = Double(wt[c]) * Double(rm[0]) }
      for j in 1..<I {
        let (previous, row, out, f) = (p + (j - 1) * O, wt + j * O, p + j * O, Double(rm[j]))
        for c in 0..<O { out[c] = previous[c] + Double(row[c]) * f }
      }
      for i in 0..<rows {
        guard let (t, n) = runTerms(runs.terms, row: i, inputs: I) else { continue }
        sumTerms(t, n, prefix: p, wt: wt, r: rm, into: y + (m * rows + i) * O, count: O)
      }
    }
  }
  biasActivationForward(
    y, bias: b, preActivation: z, rows: members * rows, cols: O, activation,
    parameter: parameter)
}

/// The runs' rows' share of layer 1's backward, after `adaptedDenseBackward` has taken the
/// other rows' (or zeroed dW and dr when there are none): G_mᵀ (in runs.prefix) from the terms,
/// dr_m += Σ_o G_m ⊙ W, dW += Σ_m G_m ⊙ r_m (through runs.transposed, which held Wᵀ).
func adaptedRunsBackward(
  delta: UnsafePointer<Float>, r: UnsafePointer<Float>,
  runs: RunScratch<UnsafeMutablePointer<Float>>,
  dW: UnsafeMutablePointer<Float>, dr: UnsafeMutablePointer<Float>, rows: Int, members: Int,
  inputs: Int, outputs: Int
) {
  let (I, O) = (inputs, outputs)
  let wt = UnsafePointer(runs.transposed)
  eachMember(members, work: rows * I * O / 8) { m, _ in
    // In double precision: a column's sum is a difference of sums over every run that starts
    // before it, which in single precision leaves columns few rows reach (a number's top bins)
    // with errors as large as their gradient.
    let g = UnsafeMutableRawPointer(runs.prefix + m * 2 * I * O).bindMemory(
      to: Double.self, capacity: I * O)
    let (dm, drm) = (delta + m * rows * O, dr + m * I)
    g.update(repeating: 0, count: I * O)
    // The runs as a difference array, summed; then the single values.
    for i in 0..<rows {
      guard let (t, n) = runTerms(runs.terms, row: i, inputs: I) else { continue }
      for k in 0..<n {
        let (s, e, _) = term(t, k)
        guard s < e else { continue }
        let d = dm + i * O
        for c in 0..<O { g[s * O + c] += Double(d[c]) }
        if e + 1 < I { for c in 0..<O { g[(e + 1) * O + c] -= Double(d[c]) } }
      }
    }
    for j in 1..<I {
      for c in 0..<O { g[j * O + c] += g[(j - 1) * O + c] }
    }
    for i in 0..<rows {
      guard let (t, n) = runTerms(runs.terms, row: i, inputs: I) else { continue }
      for k in 0..<n {
        let (s, e, v) = term(t, k)
        guard s == e else { continue }
        let d = dm + i * O
        for c in 0..<O { g[s * O + c] += Double(v) * Double(d[c]) }
      }
    }
    for j in 0..<I {
      var sum = 0.0
      for c in 0..<O { sum += g[j * O + c] * Double(wt[j * O + c]) }
      drm[j] += Float(sum)
    }
  }
  // Σ_m r_m ⊙ G_mᵀ into the transposed scratch (Wᵀ is no longer needed), then into dW.
  let dWT = runs.transposed
  let parts = I * O * members >= 1 << 16 ? min(WorkerPool.shared.count, I) : 1
  let sum = { (part: Int) in
    for j in I * part / parts..<I * (part + 1) / parts {
      let row = dWT + j * O
      row.update(repeating: 0, count: O)
      for m in 0..<members {
        let g = UnsafeRawPointer(runs.prefix + m * 2 * I * O).assumingMemoryBound(to: Double.self)
        let rj = Double(r[m * I + j])
        for c in 0..<O { row[c] += Float(g[j * O + c] * rj) }
      }
    }
  }
  if parts > 1 { WorkerPool.shared.run(parts, sum) } else { sum(0) }
  for o in 0..<O {
    let row = dW + o * I
    for j in 0..<I { row[j] += dWT[j * O + o] }
  }
}

/// out (O) = Σ of a row's terms: a run s < e adds P[e] − P[s − 1] (P[−1] = 0), a value v at s
/// adds v · r[s] · Wᵀ[s]; summed in double precision, 16 outputs at a time in registers.
@inline(__always)
private func sumTerms(
  _ t: UnsafeRawPointer, _ n: Int, prefix p: UnsafePointer<Double>, wt: UnsafePointer<Float>,
  r: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int
) {
  typealias D = SIMD4<Double>
  @inline(__always) func load(_ q: UnsafePointer<Double>) -> D {
    UnsafeRawPointer(q).loadUnaligned(as: D.self)
  }
  @inline(__always) func widen(_ q: UnsafePointer<Float>) -> D {
    D(UnsafeRawPointer(q).loadUnaligned(as: SIMD4<Float>.self))
  }
  var c = 0
  while c < count {
    if c + 16 <= count {
      var (a0, a1, a2, a3) = (D(), D(), D(), D())
      for k in 0..<n {
        let (s, e, v) = term(t, k)
        if s < e {
          let hi = p + e * count + c
          a0 += load(hi)
          a1 += load(hi + 4)
          a2 += load(hi + 8)
          a3 += load(hi + 12)
          if s > 0 {
            let lo = p + (s - 1) * count + c
            a0 -= load(lo)
            a1 -= load(lo + 4)
            a2 -= load(lo + 8)
            a3 -= load(lo + 12)
          }
        } else {
          let (row, f) = (wt + s * count + c, Double(v) * Double(r[s]))
          a0 += widen(row) * f
          a1 += widen(row + 4) * f
          a2 += widen(row + 8) * f
          a3 += widen(row + 12) * f
        }
      }
      let o = UnsafeMutableRawPointer(out + c)
      o.storeBytes(of: SIMD4<Float>(a0), as: SIMD4<Float>.self)
      o.storeBytes(of: SIMD4<Float>(a1), toByteOffset: 16, as: SIMD4<Float>.self)
      o.storeBytes(of: SIMD4<Float>(a2), toByteOffset: 32, as: SIMD4<Float>.self)
      o.storeBytes(of: SIMD4<Float>(a3), toByteOffset: 48, as: SIMD4<Float>.self)
      c += 16
      continue
    }
    var a = 0.0
    for k in 0..<n {
      let (s, e, v) = term(t, k)
      if s < e {
        a += p[e * count + c] - (s > 0 ? p[(s - 1) * count + c] : 0)
      } else {
        a += Double(wt[s * count + c]) * (Double(v) * Double(r[s]))
      }
    }
    out[c] = Float(a)
    c += 1
  }
}

/// out (C, R) = a (R, C)ᵀ, in 8 × 8 tiles.
private func transpose(
  _ a: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>
) {
  var i = 0
  while i < rows {
    let ie = min(i + 8, rows)
    var j = 0
    while j < cols {
      let je = min(j + 8, cols)
      for ii in i..<ie {
        for jj in j..<je { out[jj * rows + ii] = a[ii * cols + jj] }
      }
      j = je
    }
    i = ie
  }
}
