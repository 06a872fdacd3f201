// Single-precision matrix products in the three forms training needs, row-major, with an
// `accumulate` flag (β = 1) so gradients can be summed in place:
//   gemm(.nt): C = A·Bᵀ   A (M, K), B (N, K)   — forward  Z = X·Wᵀ
//   gemm(.nn): C = A·B    A (M, K), B (K, N)   — backward dX = Δ·W
//   gemm(.tn): C = Aᵀ·B   A (K, M), B (K, N)   — backward dW = Δᵀ·X
// BLIS structure: loops jc (NC) → pc (KC) → pack B → ic (MC) → jr (NR) → ir (MR) → a 6×16
// micro-kernel of twelve SIMD8 accumulators (fits the 16 ymm registers of AVX2; on AVX-512
// machines it runs the same ymm code). A is read where it lies (BLIS's "sup" way), B is packed.
// Large products split their columns over the worker pool; tiny ones use plain loops.

import Foundation

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

/// Floats per FMA in the micro-kernel (its accumulators are SIMD8: ymm registers).
public let gemmVectorFloats = 8

let gemmMR = 6
let gemmNR = 16
let gemmKC = 256
let gemmMC = 96
let gemmNC = 1024

/// C (M, N) = [C +] op(A) · op(B), all row-major with row strides lda, ldb, ldc.
public func gemm(
  _ form: GemmForm, m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int,
  _ b: UnsafePointer<Float>, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
  threads: WorkerPool? = .shared, backend: GemmBackend = .selected
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
  if m * n * k <= 2048 || (form == .nt && n < 8 && k >= 8) || (form != .nt && min(m, k) <= 2) {
    gemmSmall(form, m: m, n: n, k: k, a, lda: lda, b, ldb: ldb, c, ldc: ldc, accumulate: accumulate)
    return
  }
  let operands = GemmOperands(
    form: form, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
  // Below 2^20 multiply-adds the product stays on this thread: splitting W3's 64³ products made
  // its isolated steps ~15 % faster but its epochs slower and noisier (inputs and results then
  // cross between cores every step).
  let workers = threads.map { m * n * k >= 1 << 20 ? $0.count : 1 } ?? 1
  // Split N into `workers` ranges of whole NR tiles.
  let tiles = (n + gemmNR - 1) / gemmNR
  let parts = min(workers, tiles)
  if parts <= 1 {
    gemmBlocked(operands, m: m, columns: 0..<n, k: k, workspace: GemmWorkspace.current)
    return
  }
  threads!.run(parts) { part in
    let first = tiles * part / parts * gemmNR
    let last = min(n, tiles * (part + 1) / parts * gemmNR)
    gemmBlocked(operands, m: m, columns: first..<last, k: k, workspace: GemmWorkspace.current)
  }
}

/// The pointers and strides of one product, shareable with workers.
struct GemmOperands: @unchecked Sendable {
  let form: GemmForm
  let a: UnsafePointer<Float>
  let lda: Int
  let b: UnsafePointer<Float>
  let ldb: Int
  let c: UnsafeMutablePointer<Float>
  let ldc: Int
  let accumulate: Bool

  /// Element (i, p) of op(A) is a[i * aRow + p * aCol].
  var aStrides: (row: Int, col: Int) { form == .tn ? (1, lda) : (lda, 1) }
  /// Element (p, j) of op(B) is b[p * bRow + j * bCol].
  var bStrides: (row: Int, col: Int) { form == .nt ? (1, ldb) : (ldb, 1) }
}

/// Columns `columns` of C, all rows, blocked. The micro-kernel reads A where it lies, as BLIS's
/// small/skinny ("sup") path does, and B from NR-column panels (packed, or in place for short
/// products, see below). Partial tiles read zero-padded copies of their rows or columns.
func gemmBlocked(_ o: GemmOperands, m: Int, columns: Range<Int>, k: Int, workspace w: GemmWorkspace)
{
  let (aRow, aCol) = o.aStrides
  let (bRow, bCol) = o.bStrides
  // A is read in place, either form (measured: packing it, even as a contiguous copy, costs
  // more than it saves at these sizes, and each thread would pack all of it). B is packed when
  // transposed, and when row-major too unless there are only a few rows to reuse it for: its
  // rows are `ldb` apart, and a power-of-two stride maps a panel's rows onto a few L1 sets.
  let packsB = bCol != 1 || m > 4 * gemmMR
  var jc = columns.lowerBound
  while jc < columns.upperBound {
    let nc = min(gemmNC, columns.upperBound - jc)
    var pc = 0
    while pc < k {
      let kc = min(gemmKC, k - pc)
      let beta = o.accumulate || pc > 0
      let bBlock = o.b + pc * bRow + jc * bCol
      let fullColumns = nc / gemmNR * gemmNR
      if packsB {
        packB(bBlock, rowStride: bRow, colStride: bCol, kc: kc, nc: nc, into: w.packedB)
      } else if fullColumns < nc {
        packB(
          bBlock + fullColumns, rowStride: bRow, colStride: 1, kc: kc, nc: nc - fullColumns,
          into: w.packedB)
      }
      var ic = 0
      while ic < m {
        let mc = min(gemmMC, m - ic)
        let aBlock = o.a + ic * aRow + pc * aCol
        let fullRows = mc / gemmMR * gemmMR
        if fullRows < mc {
          packA(
            aBlock + fullRows * aRow, rowStride: aRow, colStride: aCol, mc: mc - fullRows, kc: kc,
            into: w.packedA)
        }
        var jr = 0
        while jr < nc {
          let nr = min(gemmNR, nc - jr)
          // The B panel: packed (k-major, NR wide) or in place (row stride bRow).
          let (bPanel, bStep) =
            packsB
            ? (UnsafePointer(w.packedB + jr * kc), gemmNR)
            : nr == gemmNR ? (bBlock + jr, bRow) : (UnsafePointer(w.packedB), gemmNR)
          var ir = 0
          while ir < mc {
            let mr = min(gemmMR, mc - ir)
            let cTile = o.c + (ic + ir) * o.ldc + jc + jr
            let full = mr == gemmMR && nr == gemmNR
            let target = full ? cTile : w.edge
            let ldc = full ? o.ldc : gemmNR
            let accumulate = full && beta
            // Constant strides where they are known, so each inlined copy is specialised.
            @inline(__always)
            func kernel(_ aTile: UnsafePointer<Float>, aRow: Int, aStep: Int) {
              if bStep == gemmNR {
                microKernel(
                  kc: kc, aTile, aRow: aRow, aStep: aStep, bPanel, bStep: gemmNR, target,
                  ldc: ldc, accumulate: accumulate)
              } else {
                microKernel(
                  kc: kc, aTile, aRow: aRow, aStep: aStep, bPanel, bStep: bStep, target,
                  ldc: ldc, accumulate: accumulate)
              }
            }
            if ir < fullRows {
              kernel(aBlock + ir * aRow, aRow: aRow, aStep: aCol)
            } else {
              kernel(UnsafePointer(w.packedA + (ir - fullRows) * kc), aRow: 1, aStep: gemmMR)
            }
            if !full {
              for i in 0..<mr {
                for j in 0..<nr {
                  let v = w.edge[i * gemmNR + j]
                  cTile[i * o.ldc + j] = beta ? cTile[i * o.ldc + j] + v : v
                }
              }
            }
            ir += gemmMR
          }
          jr += gemmNR
        }
        ic += gemmMC
      }
      pc += kc
    }
    jc += nc
  }
}

/// Packs op(A)[0..<mc, 0..<kc] into MR-row panels, k-major within a panel, zero-padded rows
/// (only the last few rows of a block are packed, so one plain loop serves both forms).
@inline(__always)
func packA(
  _ a: UnsafePointer<Float>, rowStride: Int, colStride: Int, mc: Int, kc: Int,
  into out: UnsafeMutablePointer<Float>
) {
  var ir = 0
  var dst = out
  while ir < mc {
    let mr = min(gemmMR, mc - ir)
    for p in 0..<kc {
      let src = a + p * colStride + ir * rowStride
      for i in 0..<mr { dst[p * gemmMR + i] = src[i * rowStride] }
      for i in mr..<gemmMR { dst[p * gemmMR + i] = 0 }
    }
    dst += gemmMR * kc
    ir += gemmMR
  }
}

/// Packs op(B)[0..<kc, 0..<nc] into NR-column panels, k-major within a panel, zero-padded.
@inline(__always)
func packB(
  _ b: UnsafePointer<Float>, rowStride: Int, colStride: Int, kc: Int, nc: Int,
  into out: UnsafeMutablePointer<Float>
) {
  var jr = 0
  var dst = out
  while jr < nc {
    let nr = min(gemmNR, nc - jr)
    if colStride == 1 && nr == gemmNR {
      for p in 0..<kc {
        let src = b + p * rowStride + jr
        (dst + p * gemmNR).update(from: src, count: gemmNR)
      }
    } else if rowStride == 1 && nr == gemmNR {
      packTransposedPanel(b + jr * colStride, ldb: colStride, kc: kc, into: dst)
    } else {  // a partial panel, or any other strides
      for j in 0..<gemmNR {
        if j < nr {
          let src = b + (jr + j) * colStride
          for p in 0..<kc { dst[p * gemmNR + j] = src[p * rowStride] }
        } else {
          for p in 0..<kc { dst[p * gemmNR + j] = 0 }
        }
      }
    }
    dst += gemmNR * kc
    jr += gemmNR
  }
}

/// dst[p·16 + j] = b[j·ldb + p] for j < 16, p < kc: eight values of each of eight rows are
/// loaded as vectors and written as eight transposed vectors (8×8 blocks), instead of one
/// scalar move per value.
@inline(__always)
func packTransposedPanel(
  _ b: UnsafePointer<Float>, ldb: Int, kc: Int, into dst: UnsafeMutablePointer<Float>
) {
  var p = 0
  while p + 8 <= kc {
    for half in 0..<2 {
      let r = b + half * 8 * ldb + p
      let v0 = load8(r)
      let v1 = load8(r + ldb)
      let v2 = load8(r + 2 * ldb)
      let v3 = load8(r + 3 * ldb)
      let v4 = load8(r + 4 * ldb)
      let v5 = load8(r + 5 * ldb)
      let v6 = load8(r + 6 * ldb)
      let v7 = load8(r + 7 * ldb)
      let out = UnsafeMutableRawPointer(dst + p * gemmNR + half * 8)
      for q in 0..<8 {
        let column = SIMD8<Float>(v0[q], v1[q], v2[q], v3[q], v4[q], v5[q], v6[q], v7[q])
        (out + q * gemmNR * 4).storeBytes(of: column, as: SIMD8<Float>.self)
      }
    }
    p += 8
  }
  while p < kc {
    for j in 0..<gemmNR { dst[p * gemmNR + j] = b[j * ldb + p] }
    p += 1
  }
}

/// C[0..<6, 0..<16] = [C +] Σ_p op(A)[0..<6, p] ⊗ op(B)[p, 0..<16], where op(A)[i, p] is
/// a[i·aRow + p·aStep] (a packed panel has aRow 1, aStep 6) and op(B)[p, j] is b[p·bStep + j].
@inline(__always)
func microKernel(
  kc: Int, _ a: UnsafePointer<Float>, aRow: Int, aStep: Int, _ b: UnsafePointer<Float>,
  bStep: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
  var c00 = SIMD8<Float>()
  var c01 = SIMD8<Float>()
  var c10 = SIMD8<Float>()
  var c11 = SIMD8<Float>()
  var c20 = SIMD8<Float>()
  var c21 = SIMD8<Float>()
  var c30 = SIMD8<Float>()
  var c31 = SIMD8<Float>()
  var c40 = SIMD8<Float>()
  var c41 = SIMD8<Float>()
  var c50 = SIMD8<Float>()
  var c51 = SIMD8<Float>()
  var ap = a
  var bp = b
  let (r1, r2, r3, r4, r5) = (aRow, 2 * aRow, 3 * aRow, 4 * aRow, 5 * aRow)
  for _ in 0..<kc {
    let b0 = load8(bp)
    let b1 = load8(bp + 8)
    var s = SIMD8<Float>(repeating: ap[0])
    c00 = c00.addingProduct(s, b0)
    c01 = c01.addingProduct(s, b1)
    s = SIMD8<Float>(repeating: ap[r1])
    c10 = c10.addingProduct(s, b0)
    c11 = c11.addingProduct(s, b1)
    s = SIMD8<Float>(repeating: ap[r2])
    c20 = c20.addingProduct(s, b0)
    c21 = c21.addingProduct(s, b1)
    s = SIMD8<Float>(repeating: ap[r3])
    c30 = c30.addingProduct(s, b0)
    c31 = c31.addingProduct(s, b1)
    s = SIMD8<Float>(repeating: ap[r4])
    c40 = c40.addingProduct(s, b0)
    c41 = c41.addingProduct(s, b1)
    s = SIMD8<Float>(repeating: ap[r5])
    c50 = c50.addingProduct(s, b0)
    c51 = c51.addingProduct(s, b1)
    ap += aStep
    bp += bStep
  }
  store(c00, c01, c, accumulate)
  store(c10, c11, c + ldc, accumulate)
  store(c20, c21, c + 2 * ldc, accumulate)
  store(c30, c31, c + 3 * ldc, accumulate)
  store(c40, c41, c + 4 * ldc, accumulate)
  store(c50, c51, c + 5 * ldc, accumulate)
}

@inline(__always)
private func store(
  _ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ c: UnsafeMutablePointer<Float>, _ accumulate: Bool
) {
  let raw = UnsafeMutableRawPointer(c)
  if accumulate {
    raw.storeBytes(of: lo + load8(c), as: SIMD8<Float>.self)
    (raw + 32).storeBytes(of: hi + load8(c + 8), as: SIMD8<Float>.self)
  } else {
    raw.storeBytes(of: lo, as: SIMD8<Float>.self)
    (raw + 32).storeBytes(of: hi, as: SIMD8<Float>.self)
  }
}

/// Plain loops for products too small to pay for packing.
func gemmSmall(
  _ form: GemmForm, m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int,
  _ b: UnsafePointer<Float>,
  ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
  if form == .nt && k >= 8 {  // both operands contiguous along k: dot products
    for i in 0..<m {
      for j in 0..<n {
        let sum = dot(a + i * lda, b + j * ldb, count: k)
        c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum
      }
    }
    return
  }
  let (aRow, aCol) = form == .tn ? (1, lda) : (lda, 1)
  let (bRow, bCol) = form == .nt ? (1, ldb) : (ldb, 1)
  for i in 0..<m {
    let ci = c + i * ldc
    if !accumulate { ci.update(repeating: 0, count: n) }
    for p in 0..<k {
      let aip = a[i * aRow + p * aCol]
      let bp = b + p * bRow
      if bCol == 1 {  // a contiguous row of B: the loop vectorises
        for j in 0..<n { ci[j] = ci[j].addingProduct(aip, bp[j]) }
      } else {
        for j in 0..<n { ci[j] += aip * bp[j * bCol] }
      }
    }
  }
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
