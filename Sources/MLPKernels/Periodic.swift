// Periodic embeddings of numeric columns (PLR: Gorishniy et al. 2022, `rtdl_num_embeddings`'
// PeriodicEmbeddings), forward and backward side by side. A numeric column's value x (scaled,
// in a loaded row) becomes D columns of x^0:
//   v = [cos(2π f_1 x), …, cos(2π f_K x), sin(2π f_1 x), …, sin(2π f_K x)]   (2K)
//   e = ReLU(W v + b)                                                         W (D, 2K), b (D)
// f (K) are trained frequencies; with `lite`, every column shares one W and b. v is kept in a
// features buffer (B, Σ 2K), so the backward pass needs no sines: ∂v_i/∂f_i is −2πx·v_{K+i} and
// ∂v_{K+i}/∂f_i is 2πx·v_i.
// R = rows in the batch, I = columns of a loaded row, O = n^0, S = the features buffer's width.

import Foundation

/// One periodic column: the value in column `column` of a loaded row, its frequencies (K), its
/// linear layer's weight (D, 2K) and bias (D), its v at columns at..<at + 2K of the features
/// buffer and its e at columns offset..<offset + D of x^0. Several lookups may name the same
/// weight and bias (lite).
public struct PeriodicLookup<Ref> {
  public var column: Int
  public var frequencies: Ref
  public var weight: Ref
  public var bias: Ref
  public var count: Int
  public var dim: Int
  public var at: Int
  public var offset: Int

  public init(
    column: Int, frequencies: Ref, weight: Ref, bias: Ref, count: Int, dim: Int, at: Int,
    offset: Int
  ) {
    (self.column, self.frequencies, self.weight, self.bias) = (column, frequencies, weight, bias)
    (self.count, self.dim, self.at, self.offset) = (count, dim, at, offset)
  }

  /// The same lookup with other references to its tensors.
  public func map<T>(_ f: (Ref) -> T) -> PeriodicLookup<T> {
    PeriodicLookup<T>(
      column: column, frequencies: f(frequencies), weight: f(weight), bias: f(bias), count: count,
      dim: dim, at: at, offset: offset)
  }
}

extension PeriodicLookup: Sendable where Ref: Sendable {}
extension PeriodicLookup: Equatable where Ref: Equatable {}

/// cos(2πt) and sin(2πt) of an angle given in turns t, to float precision: t is reduced to a
/// fraction r of a turn (exact: t − round(t), by adding and subtracting 1.5·2^23, whose ulp is
/// 1; t − 2·round(t/2) from 2^22 on; 0 from 2^23 on, where t is a whole number), then to a
/// quarter turn n and φ = (4r − n)·π/2 ∈ [−π/4, π/4], whose sine and cosine are Taylor polynomials
/// of degree 9 and 10 (remainders below 2e-9), rotated by n quarter turns (q = n mod 4 read from
/// the low bits of n + 1.5·2^23). Branch-free arithmetic, so loops over it vectorise.
@inline(__always)
func cosSinTurns(_ t: Float) -> (cos: Float, sin: Float) {
  let magic: Float = 12_582_912
  let size = Swift.abs(t)
  let near = t - ((t + magic) - magic)
  let far = t - 2 * ((0.5 * t + magic) - magic)
  let r = size < 4_194_304 ? near : size < 8_388_608 ? far : 0
  let u = 4 * r
  let shifted = u + magic
  let phi = (u - (shifted - magic)) * (Float.pi / 2)
  let p2 = phi * phi
  var sinPhi = p2 * (1 / 362_880) - 1 / 5040
  sinPhi = sinPhi * p2 + 1 / 120
  sinPhi = sinPhi * p2 - 1 / 6
  sinPhi = (sinPhi * p2 + 1) * phi
  var cosPhi = p2 * (-1 / 3_628_800) + 1 / 40320
  cosPhi = cosPhi * p2 - 1 / 720
  cosPhi = cosPhi * p2 + 1 / 24
  cosPhi = cosPhi * p2 - 1 / 2
  cosPhi = cosPhi * p2 + 1
  // cos(φ + qπ/2) = cos φ, −sin φ, −cos φ, sin φ; sin(φ + qπ/2) = sin φ, cos φ, −sin φ, −cos φ.
  let q = shifted.bitPattern & 3
  let odd = Float(q & 1)
  let c = cosPhi + (sinPhi - cosPhi) * odd
  let s = sinPhi + (cosPhi - sinPhi) * odd
  let cosSign = 1 - 2 * Float(((q + 1) >> 1) & 1)
  let sinSign = 1 - 2 * Float((q >> 1) & 1)
  return (c * cosSign, s * sinSign)
}

/// For every lookup: v (R, 2K) into `v` (R, S) from the loaded rows x (R, I), then its columns
/// of x^0 y (R, O) = ReLU(v · Wᵀ + b).
func periodicForward(
  x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
  rows: Int, inputs: Int, outputs: Int, width: Int,
  lookups: [PeriodicLookup<UnsafeMutablePointer<Float>>]
) {
  for p in lookups {
    let k = p.count
    for r in 0..<rows {
      let t = x[r * inputs + p.column]
      let out = v + r * width + p.at
      for i in 0..<k {
        let (c, s) = cosSinTurns(t * p.frequencies[i])
        out[i] = c
        out[k + i] = s
      }
    }
    gemm(
      .nt, m: rows, n: p.dim, k: 2 * k, v + p.at, lda: width, p.weight, ldb: 2 * k, y + p.offset,
      ldc: outputs, accumulate: false, abandonable: true)
    for r in 0..<rows {
      let e = y + r * outputs + p.offset
      for j in 0..<p.dim { e[j] = max(0, e[j] + p.bias[j]) }
    }
  }
}

/// Every lookup's gradients (`gradients`: the lookups over the gradient tensors; shared ones are
/// summed over their columns) from delta = ∂L/∂x^0 (R, O), whose embedded columns are multiplied by ReLU'
/// (from y = x^0) in place; dv (R, S) is scratch. ∂L/∂W = gᵀ·v, ∂L/∂b = Σ_rows g, and
/// ∂L/∂f_i = Σ_rows 2πx (v_i·dv_{K+i} − v_{K+i}·dv_i) with dv = g·W.
func periodicBackward(
  delta: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
  v: UnsafePointer<Float>, dv: UnsafeMutablePointer<Float>, rows: Int, inputs: Int, outputs: Int,
  width: Int, lookups: [PeriodicLookup<UnsafeMutablePointer<Float>>],
  gradients: [PeriodicLookup<UnsafeMutablePointer<Float>>]
) {
  for p in gradients {
    p.frequencies.update(repeating: 0, count: p.count)
    p.weight.update(repeating: 0, count: p.dim * 2 * p.count)
    p.bias.update(repeating: 0, count: p.dim)
  }
  for (q, p) in zip(lookups, gradients) {
    let w = q.weight
    let k = p.count
    for r in 0..<rows {
      let (g, e) = (delta + r * outputs + p.offset, y + r * outputs + p.offset)
      for j in 0..<p.dim {
        if !(e[j] > 0) { g[j] = 0 }
        p.bias[j] += g[j]
      }
    }
    gemm(
      .tn, m: p.dim, n: 2 * k, k: rows, delta + p.offset, lda: outputs, v + p.at, ldb: width,
      p.weight, ldc: 2 * k, accumulate: true, abandonable: true)
    gemm(
      .nn, m: rows, n: 2 * k, k: p.dim, delta + p.offset, lda: outputs, w, ldb: 2 * k, dv + p.at,
      ldc: width, accumulate: false, abandonable: true)
    for r in 0..<rows {
      let t = 2 * Float.pi * x[r * inputs + p.column]
      let (a, d) = (v + r * width + p.at, dv + r * width + p.at)
      for i in 0..<k { p.frequencies[i] += t * (a[i] * d[k + i] - a[k + i] * d[i]) }
    }
  }
}
