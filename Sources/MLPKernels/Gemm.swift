// Single-precision matrix products in the three forms training needs, row-major, with an
// `accumulate` flag (β = 1) so gradients can be summed in place:
//   gemm(.nt): C = A·Bᵀ   A (M, K), B (N, K)   — forward  Z = X·Wᵀ
//   gemm(.nn): C = A·B    A (M, K), B (K, N)   — backward dX = Δ·W
//   gemm(.tn): C = Aᵀ·B   A (K, M), B (K, N)   — backward dW = Δᵀ·X
// The blocked driver and its register tiles live in MLPKernelsGeneric; this file picks the tile for the
// instruction set in use (KernelISA: 6×16 SIMD8 for AVX2, 8×32 SIMD16 compiled for AVX-512 in
// MLPKernelsAVX512), splits large products over the worker pool (by columns of C; a weight
// gradient by rows), and runs tiny ones as plain loops.

import Foundation
import MLPKernelsAVX512
import MLPKernelsGeneric
import MLPThreads

#if OpenBLAS
  import COpenBLAS
#endif

/// Which operands are transposed: `.nt` is A·Bᵀ, `.nn` is A·B, `.tn` is Aᵀ·B.
public enum GemmForm: Sendable, CaseIterable {
  case nn, nt, tn
}

/// Where matrix products run: the kernels in this file, or the system OpenBLAS in builds with
/// the `OpenBLAS` package trait (`swift build --traits OpenBLAS`), as a second backend to compare
/// against and a test oracle. `MLPC_GEMM_BACKEND=swift|openblas` picks one for a process; a
/// build with the trait uses OpenBLAS unless told otherwise.
public enum GemmBackend: String, Sendable, CaseIterable {
  case swift
  case openBLAS = "openblas"

  /// The backends compiled into this build.
  public static var available: [GemmBackend] {
    #if OpenBLAS
      [.swift, .openBLAS]
    #else
      [.swift]
    #endif
  }

  /// The backend products use unless a call names one.
  public static let selected: GemmBackend = {
    if let name = ProcessInfo.processInfo.environment["MLPC_GEMM_BACKEND"],
      let backend = GemmBackend(rawValue: name.lowercased()), available.contains(backend)
    {
      return backend
    }
    return available.last!
  }()

  /// Why `MLPC_GEMM_BACKEND` cannot be honoured, if it is set to something unusable.
  public static var environmentProblem: String? {
    guard let name = ProcessInfo.processInfo.environment["MLPC_GEMM_BACKEND"] else { return nil }
    guard let backend = GemmBackend(rawValue: name.lowercased()) else {
      return "MLPC_GEMM_BACKEND is '\(name)'; use 'swift' or 'openblas'"
    }
    guard available.contains(backend) else {
      return "MLPC_GEMM_BACKEND=openblas needs a build with the OpenBLAS trait "
        + "(apt-get install libopenblas-dev; swift build -c release --traits OpenBLAS)"
    }
    return nil
  }

  /// Threads OpenBLAS may use (it keeps its own pool); no effect on the Swift backend.
  public static func setOpenBLASThreads(_ count: Int) {
    #if OpenBLAS
      openblas_set_num_threads(Int32(count))
    #endif
  }
}

/// C (M, N) = [C +] op(A) · op(B), all row-major with row strides lda, ldb, ldc.
/// `abandonable`: A and B stay mapped until `threads.quiesce()` returns, so while the pool is
/// sharing a busy core, a late helper's part may be taken over (SharedCore.swift).
public func gemm(
  _ form: GemmForm, m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int,
  _ b: UnsafePointer<Float>, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
  threads: WorkerPool? = .shared, abandonable: Bool = false, backend: GemmBackend = .selected,
  isa: KernelISA = .selected
) {
  if m == 0 || n == 0 { return }
  if k == 0 {
    if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
    return
  }
  #if OpenBLAS
    if backend == .openBLAS {
      cblas_sgemm(
        CblasRowMajor, form == .tn ? CblasTrans : CblasNoTrans,
        form == .nt ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b,
        Int32(ldb), accumulate ? 1 : 0, c, Int32(ldc))
      return
    }
  #endif
  // Tiny products, A·Bᵀ with a few output columns, and A·B or Aᵀ·B with one or two rows or a
  // depth of one or two (the register tile would be mostly zeros or mostly loads and stores).
  // A·Bᵀ (every forward pass) gives each row of C the same bits whatever the other rows: its
  // paths differ with M only where they compute alike (`oneDepthBlock`), so a prediction
  // never depends on the rows batched with it (with these kernels; the OpenBLAS build, which
  // has no server, makes no such promise).
  let small =
    form == .nt
    ? (n < 8 && k >= 8) || (m * n * k <= 2048 && k <= oneDepthBlock)
    : m * n * k <= 2048 || min(m, k) <= 2
  if small {
    gemmSmall(form, m: m, n: n, k: k, a, lda: lda, b, ldb: ldb, c, ldc: ldc, accumulate: accumulate)
    return
  }
  gemmBlocked(
    form, m: m, n: n, k: k, a, lda: lda, b, ldb: ldb, c, ldc: ldc, accumulate: accumulate,
    threads: threads, abandonable: abandonable, isa: isa)
}

/// The deepest A·Bᵀ the small path takes beside the tiles: within one depth block of every
/// tile (Tiles.swift's kc), a tile sums a value from zero, one fused multiply-add per k in
/// order, as `rowsOfC` does; deeper, the tiles add the blocks' sums, so deeper small products
/// go to the tiles too.
let oneDepthBlock = min(Tile6x16.kc, Tile8x32.kc)

/// The blocked product, on this thread or split over the pool's.
@inline(never)
private func gemmBlocked(
  _ form: GemmForm, m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int,
  _ b: UnsafePointer<Float>, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
  threads: WorkerPool?, abandonable: Bool, isa: KernelISA
) {
  let (aRow, aCol) = form == .tn ? (1, lda) : (lda, 1)
  let (bRow, bCol) = form == .nt ? (1, ldb) : (ldb, 1)
  let operands = GemmOperands(
    a: a, aRow: aRow, aCol: aCol, b: b, bRow: bRow, bCol: bCol, c: c, ldc: ldc,
    accumulate: accumulate)
  let (kernel, nr) = isa.blocked(columns: n)
  // Below 2^20 multiply-adds the product stays on this thread: splitting W3's 64³ products made
  // its isolated steps ~15 % faster but its epochs slower and noisier (inputs and results then
  // cross between cores every step).
  let workers = threads.map { m * n * k >= 1 << 20 ? $0.count : 1 } ?? 1
  let tiles = (n + nr - 1) / nr
  var split = SplitGemm(operands: operands, m: m, n: n, k: k, nr: nr, parts: 1, kernel: kernel)
  if abandonable, workers > 1, let pool = threads, pool.sharesBusyCore {
    split.parts = min(tiles, WorkerPool.splitPerThread * workers, WorkerPool.maxSplitParts)
    pool.runShared(split)
    return
  }
  // Split N into one range of whole NR tiles per thread. Parts are claimed, so a helper that
  // has not woken yet loses its part to the caller. More, smaller parts would also bound what
  // a helper that loses its core mid-part holds back, but on W1 (Zen 4, quiet) two or four per
  // thread cost 1–3 % a step; the pool cuts them finer only while it shares a busy core.
  split.parts = min(workers, tiles)
  if split.parts <= 1 {
    kernel(operands, m, 0..<n, k, GemmWorkspace.current.buffers)
    return
  }
  let forwardNR = isa.blocked(columns: m).nr
  if form == .tn, m >= 2 * forwardNR {
    // A weight gradient dW = Δᵀ·X: split its rows (the layer's outputs) in the same whole-NR
    // ranges as the forward product X·Wᵀ splits W's rows, so each thread computes the gradient
    // of the rows it reads; split by columns, half of each thread's part of dW was computed on
    // the other core.
    let rowTiles = (m + forwardNR - 1) / forwardNR
    let parts = min(workers, rowTiles)
    threads!.run(parts) { part in
      let rows =
        rowTiles * part / parts * forwardNR..<min(m, rowTiles * (part + 1) / parts * forwardNR)
      let o = GemmOperands(
        a: a + rows.lowerBound * aRow, aRow: aRow, aCol: aCol, b: b, bRow: bRow, bCol: bCol,
        c: c + rows.lowerBound * ldc, ldc: ldc, accumulate: accumulate)
      kernel(o, rows.count, 0..<n, k, GemmWorkspace.current.buffers)
    }
    return
  }
  let job = split
  threads!.run(job.parts) { job.run($0, into: nil) }
}

/// Plain loops for products too small to pay for packing.
func gemmSmall(
  _ form: GemmForm, m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int,
  _ b: UnsafePointer<Float>,
  ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
  if form == .nt && k >= 8 && n < 8 {  // both operands contiguous along k: dot products
    for i in 0..<m {
      for j in 0..<n {
        let sum = dot(a + i * lda, b + j * ldb, count: k)
        c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum
      }
    }
    return
  }
  if form == .nt {
    // A small A·Bᵀ (`gemm` sends A·Bᵀ with N ≥ 8 here only when M·N·K ≤ 2048 and K is within
    // one depth block of the tiles): B transposed into scratch first, so the rows of op(B) are
    // contiguous and the loop over C's columns vectorises. Each value is then the tiles' sum:
    // from zero, one fused multiply-add per k in order, so a row gets the same bits here as
    // in a product of more rows.
    withUnsafeTemporaryAllocation(of: Float.self, capacity: n * k) { scratch in
      let bt = scratch.baseAddress!
      for j in 0..<n {
        for p in 0..<k { bt[p * n + j] = b[j * ldb + p] }
      }
      rowsOfC(m: m, n: n, k: k, a, aRow: lda, aCol: 1, bt, ldb: n, c, ldc: ldc, accumulate)
    }
    return
  }
  if form == .tn && n < 8 && m >= 8 {
    // Aᵀ·B with a few columns (the weight gradient of a layer with a few inputs): a column of C
    // at a time, its rows (contiguous in each row of A) summed in registers over all of k.
    for j in 0..<n {
      var i = 0
      while i < m {
        let width = min(16, m - i)
        var sum = SIMD16<Float>()
        if width == 16 {
          for p in 0..<k { sum = sum.addingProduct(b[p * ldb + j], load16(a + p * lda + i)) }
        } else {
          for p in 0..<k {
            let (bpj, ap) = (b[p * ldb + j], a + p * lda + i)
            for t in 0..<width { sum[t] = sum[t].addingProduct(bpj, ap[t]) }
          }
        }
        for t in 0..<width {
          let at = (i + t) * ldc + j
          c[at] = accumulate ? c[at] + sum[t] : sum[t]
        }
        i += width
      }
    }
    return
  }
  let (aRow, aCol) = form == .tn ? (1, lda) : (lda, 1)
  rowsOfC(m: m, n: n, k: k, a, aRow: aRow, aCol: aCol, b, ldb: ldb, c, ldc: ldc, accumulate)
}

/// C = [C +] op(A)·B with B's rows contiguous (ldb apart): a row of C at a time, each a
/// vector loop over its columns; rows of up to 64 columns are summed in registers, 16 or 8
/// columns at a time, over all of k (else each step of k would load and store the row, behind
/// the vectoriser's run-time check that C and B do not overlap).
@inline(__always)
private func rowsOfC(
  m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, aRow: Int, aCol: Int,
  _ b: UnsafePointer<Float>, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int,
  _ accumulate: Bool
) {
  if n <= 64 {
    for i in 0..<m {
      let (ai, ci) = (a + i * aRow, c + i * ldc)
      var j = 0
      while j + 16 <= n {
        var sum = accumulate ? load16(ci + j) : SIMD16()
        for p in 0..<k { sum = sum.addingProduct(ai[p * aCol], load16(b + p * ldb + j)) }
        UnsafeMutableRawPointer(ci + j).storeBytes(of: sum, as: SIMD16<Float>.self)
        j += 16
      }
      if j + 8 <= n {
        var sum = accumulate ? load8(ci + j) : SIMD8()
        for p in 0..<k { sum = sum.addingProduct(ai[p * aCol], load8(b + p * ldb + j)) }
        UnsafeMutableRawPointer(ci + j).storeBytes(of: sum, as: SIMD8<Float>.self)
        j += 8
      }
      while j < n {
        var sum: Float = accumulate ? ci[j] : 0
        for p in 0..<k { sum = sum.addingProduct(ai[p * aCol], b[p * ldb + j]) }
        ci[j] = sum
        j += 1
      }
    }
    return
  }
  for i in 0..<m {
    let ci = c + i * ldc
    if !accumulate { ci.update(repeating: 0, count: n) }
    for p in 0..<k {
      let aip = a[i * aRow + p * aCol]
      let bp = b + p * ldb
      for j in 0..<n { ci[j] = ci[j].addingProduct(aip, bp[j]) }
    }
  }
}

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always) func load16(_ p: UnsafeMutablePointer<Float>) -> SIMD16<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) func load8(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Σ x[i]·y[i] with two SIMD8 accumulators.
@inline(__always)
func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
  var s0 = SIMD8<Float>()
  var s1 = SIMD8<Float>()
  var i = 0
  while i + 16 <= count {
    s0 = s0.addingProduct(load8(x + i), load8(y + i))
    s1 = s1.addingProduct(load8(x + i + 8), load8(y + i + 8))
    i += 16
  }
  if i + 8 <= count {
    s0 = s0.addingProduct(load8(x + i), load8(y + i))
    i += 8
  }
  var sum = (s0 + s1).sum()
  while i < count {
    sum += x[i] * y[i]
    i += 1
  }
  return sum
}
