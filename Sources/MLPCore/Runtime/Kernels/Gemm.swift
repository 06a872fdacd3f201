// Single-precision matrix products in the three forms training needs, row-major, with an
// `accumulate` flag (β = 1) so gradients can be summed in place:
//   gemmNN: C = A·B      A (M, K), B (K, N)   — dX = Δ·W
//   gemmNT: C = A·Bᵀ     A (M, K), B (N, K)   — Z = X·Wᵀ
//   gemmTN: C = Aᵀ·B     A (K, M), B (K, N)   — dW = Δᵀ·X
// M, N, K as in BLAS; lda, ldb, ldc are row strides in floats.

/// C (M, N) = [C +] A (M, K) · B (K, N)
func gemmNN(
  m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
  _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
  for i in 0..<m {
    let ci = c + i * ldc
    if !accumulate { ci.update(repeating: 0, count: n) }
    for p in 0..<k {
      let aip = a[i * lda + p]
      let bp = b + p * ldb
      for j in 0..<n { ci[j] += aip * bp[j] }
    }
  }
}

/// C (M, N) = [C +] Aᵀ · B with A (K, M), B (K, N)
func gemmTN(
  m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
  _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
  if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
  for p in 0..<k {
    let bp = b + p * ldb
    for i in 0..<m {
      let api = a[p * lda + i]
      let ci = c + i * ldc
      for j in 0..<n { ci[j] += api * bp[j] }
    }
  }
}

/// C (M, N) = [C +] A · Bᵀ with A (M, K), B (N, K)
func gemmNT(
  m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
  _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
  for i in 0..<m {
    let ai = a + i * lda
    for j in 0..<n {
      let sum = dot(ai, b + j * ldb, count: k)
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum
    }
  }
}

/// Σ x[i]·y[i] with four SIMD8 accumulators.
@inline(__always)
func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
  var s0 = SIMD8<Float>()
  var s1 = SIMD8<Float>()
  var i = 0
  while i + 16 <= count {
    s0.addProduct(load8(x + i), load8(y + i))
    s1.addProduct(load8(x + i + 8), load8(y + i + 8))
    i += 16
  }
  if i + 8 <= count {
    s0.addProduct(load8(x + i), load8(y + i))
    i += 8
  }
  var sum = (s0 + s1).sum()
  while i < count {
    sum += x[i] * y[i]
    i += 1
  }
  return sum
}

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

extension SIMD8 where Scalar == Float {
  @inline(__always) mutating func addProduct(_ a: SIMD8<Float>, _ b: SIMD8<Float>) {
    self = self.addingProduct(a, b)
  }
}
