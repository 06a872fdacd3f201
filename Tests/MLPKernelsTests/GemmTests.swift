// The packed GEMM against a naive double-precision product, for all three forms, both β, edge
// sizes around the register tiles (6×16 and 8×32) and the cache blocks (KC = 256 and 192,
// MC = 96), single-threaded and split over the worker pool, on every kernel ISA (avx512 runs
// its baseline build on a CPU without AVX-512); in builds with the OpenBLAS trait, OpenBLAS
// too, against the same reference and against the Swift kernels of each ISA.

import MLPCore
import Testing

@testable import MLPKernels

struct GemmCase: CustomTestStringConvertible, Sendable {
  var form: GemmForm
  var m: Int
  var n: Int
  var k: Int
  var testDescription: String { "\(form) \(m)×\(n)×\(k)" }

  static let sizes = [1, 7, 8, 16, 31, 33, 97, 257]
  static let all: [GemmCase] =
    GemmForm.allCases.flatMap { form in
      [
        (1, 1, 1), (7, 8, 31), (33, 31, 7), (8, 257, 33), (257, 33, 8), (97, 97, 257),
        (128, 784, 256), (31, 17, 513), (6, 16, 300), (8, 32, 192), (9, 33, 193),
        (17, 65, 385), (16, 96, 200), (100, 47, 64), (16, 4, 16), (16, 16, 4), (97, 3, 2),
        (9, 1, 200), (64, 7, 30), (40, 50, 1), (33, 5, 12), (2, 60, 17),
      ]
      .map { GemmCase(form: form, m: $0.0, n: $0.1, k: $0.2) }
    } + sizes.flatMap { m in sizes.map { GemmCase(form: .nn, m: m, n: $0, k: 33) } }
}

@Suite struct GemmTests {
  @Test(arguments: GemmCase.all)
  func matchesReference(_ c: GemmCase) {
    var rng = SeededGenerator(seed: UInt64(c.m * 1_000_003 + c.n * 1009 + c.k))
    let (aRows, aCols) = c.form == .tn ? (c.k, c.m) : (c.m, c.k)
    let (bRows, bCols) = c.form == .nt ? (c.n, c.k) : (c.k, c.n)
    let a = (0..<aRows * aCols).map { _ in Float(rng.uniform(-1, 1)) }
    let b = (0..<bRows * bCols).map { _ in Float(rng.uniform(-1, 1)) }
    let start = (0..<c.m * c.n).map { _ in Float(rng.uniform(-1, 1)) }
    var expected = [Double](repeating: 0, count: c.m * c.n)
    for i in 0..<c.m {
      for j in 0..<c.n {
        var sum = 0.0
        for p in 0..<c.k {
          let x = c.form == .tn ? a[p * c.m + i] : a[i * c.k + p]
          let y = c.form == .nt ? b[j * c.k + p] : b[p * c.n + j]
          sum += Double(x) * Double(y)
        }
        expected[i * c.n + j] = sum
      }
    }
    // Every backend in this build against the double-precision loop; with the OpenBLAS trait,
    // the Swift kernels against OpenBLAS as well.
    func product(
      _ backend: GemmBackend, _ accumulate: Bool, _ pool: WorkerPool?, _ isa: KernelISA = .avx2
    ) -> [Float] {
      var out = start
      a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
          out.withUnsafeMutableBufferPointer { o in
            gemm(
              c.form, m: c.m, n: c.n, k: c.k, a.baseAddress!, lda: aCols, b.baseAddress!,
              ldb: bCols, o.baseAddress!, ldc: c.n, accumulate: accumulate, threads: pool,
              backend: backend, isa: isa)
          }
        }
      }
      return out
    }
    for accumulate in [false, true] {
      let runs =
        KernelISA.allCases.map { (GemmBackend.swift, $0) }
        + GemmBackend.available.filter { $0 != .swift }.map { ($0, KernelISA.avx2) }
      for (backend, isa) in runs {
        for pool in [nil, WorkerPool.shared] {
          let out = product(backend, accumulate, pool, isa)
          var worst = 0.0
          for i in 0..<out.count {
            let want = expected[i] + (accumulate ? Double(start[i]) : 0)
            worst = max(worst, abs(Double(out[i]) - want))
          }
          // Float accumulation over k terms of size ≤ 1: error ≲ k·ε·√k in the worst case.
          #expect(
            worst <= 2e-6 * Double(c.k),
            "\(backend) \(isa), accumulate \(accumulate), pool \(pool != nil): \(worst)")
        }
      }
      if GemmBackend.available.contains(.openBLAS) {
        let oracle = product(.openBLAS, accumulate, nil)
        for isa in KernelISA.allCases {
          let ours = product(.swift, accumulate, WorkerPool.shared, isa)
          let worst = zip(ours, oracle).map { abs($0 - $1) }.max() ?? 0
          #expect(
            worst <= 2e-6 * Float(c.k),
            "swift \(isa) vs openblas, accumulate \(accumulate): \(worst)"
          )
        }
      }
    }
  }
}

/// The 16-wide tile built for the x86-64-v3 baseline (what `MLPC_ISA=avx512` runs on a CPU
/// without AVX-512) on every machine, including those that would pick the AVX-512 build.
@Test(arguments: [(8, 32, 192), (9, 33, 193), (128, 256, 100), (17, 65, 385), (100, 47, 64)])
func baselineBuildOfTheWideTileMatchesReference(_ shape: (Int, Int, Int)) {
  let (m, n, k) = shape
  var rng = SeededGenerator(seed: UInt64(m * 7 + n * 3 + k))
  for form in GemmForm.allCases {
    let (aRows, aCols) = form == .tn ? (k, m) : (m, k)
    let (bRows, bCols) = form == .nt ? (n, k) : (k, n)
    let a = (0..<aRows * aCols).map { _ in Float(rng.uniform(-1, 1)) }
    let b = (0..<bRows * bCols).map { _ in Float(rng.uniform(-1, 1)) }
    var c = [Float](repeating: 0, count: m * n)
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        c.withUnsafeMutableBufferPointer { c in
          let operands = GemmOperands(
            a: a.baseAddress!, aRow: form == .tn ? 1 : aCols, aCol: form == .tn ? aCols : 1,
            b: b.baseAddress!, bRow: form == .nt ? 1 : bCols, bCol: form == .nt ? bCols : 1,
            c: c.baseAddress!, ldc: n, accumulate: false)
          BlockedKernel.tile8x32Baseline(operands, m, 0..<n, k, GemmWorkspace.current.buffers)
        }
      }
    }
    var worst = 0.0
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for p in 0..<k {
          let x = form == .tn ? a[p * m + i] : a[i * k + p]
          let y = form == .nt ? b[j * k + p] : b[p * n + j]
          sum += Double(x) * Double(y)
        }
        worst = max(worst, abs(Double(c[i * n + j]) - sum))
      }
    }
    #expect(worst <= 2e-6 * Double(k), "\(form) \(m)×\(n)×\(k): \(worst)")
  }
}

/// The bias gradient's column sums against a double-precision loop, for widths that use each
/// of their paths (16 and 8 columns in registers, single columns by four rows) and row counts
/// that leave a remainder.
@Test(arguments: [1, 3, 8, 15, 16, 17, 25, 40])
func columnSumsMatchReference(_ cols: Int) {
  var rng = SeededGenerator(seed: UInt64(cols))
  for rows in [1, 3, 4, 7, 16, 129] {
    let x = (0..<rows * cols).map { _ in Float(rng.uniform(-1, 1)) }
    var sums = [Float](repeating: .nan, count: cols)
    x.withUnsafeBufferPointer { x in
      sums.withUnsafeMutableBufferPointer {
        columnSums(x.baseAddress!, rows: rows, cols: cols, into: $0.baseAddress!)
      }
    }
    for j in 0..<cols {
      let want = (0..<rows).reduce(0.0) { $0 + Double(x[$1 * cols + j]) }
      #expect(abs(Double(sums[j]) - want) <= 1e-6 * Double(rows), "\(rows)×\(cols), column \(j)")
    }
  }
}

/// A·Bᵀ (every forward pass) gives a row of C the same bits whether the product has that row
/// alone or many others besides (so a prediction never depends on the rows batched with it):
/// shapes on either side of every bound between the paths (N < 8 with K ≥ 8, M·N·K ≤ 2048, a
/// depth block of 192 or 256, N ≤ 16 or wider tiles), each ISA, alone and over the pool. The
/// Swift kernels only: OpenBLAS (the opt-in trait's backend) makes no such promise.
@Test(
  arguments: [
    (1, 1), (4, 3), (16, 3), (2, 4), (8, 8), (16, 16), (64, 16), (4, 16), (32, 64), (64, 64),
    (100, 40), (192, 10), (193, 10), (200, 8), (256, 17), (300, 33), (7, 100), (64, 300),
  ])
func aRowOfAForwardProductDoesNotDependOnTheOtherRows(_ shape: (Int, Int)) {
  let (k, n) = shape
  var rng = SeededGenerator(seed: UInt64(k * 131 + n))
  let rows = 130
  let a = (0..<rows * k).map { _ in Float(rng.uniform(-1, 1)) }
  let b = (0..<n * k).map { _ in Float(rng.uniform(-1, 1)) }
  func product(_ from: Int, _ m: Int, _ isa: KernelISA, _ pool: WorkerPool?) -> [Float] {
    var c = [Float](repeating: .nan, count: m * n)
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        c.withUnsafeMutableBufferPointer { c in
          gemm(
            .nt, m: m, n: n, k: k, a.baseAddress! + from * k, lda: k, b.baseAddress!, ldb: k,
            c.baseAddress!, ldc: n, accumulate: false, threads: pool, backend: .swift, isa: isa)
        }
      }
    }
    return c
  }
  for isa in KernelISA.allCases {
    for pool in [nil, WorkerPool.shared] {
      let all = product(0, rows, isa, pool)
      for (from, m) in [(0, 1), (5, 1), (129, 1), (3, 2), (7, 5), (60, 64), (0, 9)] {
        let part = product(from, m, isa, pool)
        let same = part.map(\.bitPattern) == all[from * n..<(from + m) * n].map(\.bitPattern)
        #expect(
          same, "\(isa), pool \(pool != nil): rows \(from)..<\(from + m) of \(rows), K \(k), N \(n)"
        )
      }
    }
  }
}
