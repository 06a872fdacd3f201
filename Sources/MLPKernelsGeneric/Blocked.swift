// The blocked GEMM driver over one register tile, BLIS-structured: loops jc (NC) → pc (KC) →
// pack B → ic (MC) → jr (NR) → ir (MR) → micro-kernel. A is read where it lies (BLIS's
// small/skinny "sup" way), B is packed into NR-column panels. Generic over the tile and
// @inlinable, so each kernel module instantiates it for its own instruction set.

/// The pointers and strides of one product C (M, N) = [C +] op(A) · op(B), shareable with
/// worker threads. Element (i, p) of op(A) is a[i·aRow + p·aCol]; (p, j) of op(B) is
/// b[p·bRow + j·bCol].
public struct GemmOperands: @unchecked Sendable {
  public let a: UnsafePointer<Float>
  public let aRow: Int
  public let aCol: Int
  public let b: UnsafePointer<Float>
  public let bRow: Int
  public let bCol: Int
  public let c: UnsafeMutablePointer<Float>
  public let ldc: Int
  public let accumulate: Bool

  @inlinable
  public init(
    a: UnsafePointer<Float>, aRow: Int, aCol: Int, b: UnsafePointer<Float>, bRow: Int,
    bCol: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
  ) {
    (self.a, self.aRow, self.aCol, self.b, self.bRow, self.bCol) = (a, aRow, aCol, b, bRow, bCol)
    (self.c, self.ldc, self.accumulate) = (c, ldc, accumulate)
  }
}

/// One thread's packing buffers, sized by `GemmBuffers.counts` for every tile.
public struct GemmBuffers: @unchecked Sendable {
  public let packedA: UnsafeMutablePointer<Float>
  public let packedB: UnsafeMutablePointer<Float>
  public let edge: UnsafeMutablePointer<Float>

  /// Rows of A per block.
  @inlinable public static var mc: Int { 96 }
  /// Columns of B per block.
  @inlinable public static var nc: Int { 1024 }
  /// Floats each buffer needs for the largest tile (MR ≤ 8, NR ≤ 32, KC ≤ 256).
  public static let counts = (packedA: (96 + 8) * 256, packedB: (1024 + 32) * 256, edge: 8 * 32)

  public init(
    packedA: UnsafeMutablePointer<Float>, packedB: UnsafeMutablePointer<Float>,
    edge: UnsafeMutablePointer<Float>
  ) {
    (self.packedA, self.packedB, self.edge) = (packedA, packedB, edge)
  }
}

/// Columns `columns` of C, all rows, with tile `T`. Partial tiles read zero-padded copies of
/// their rows or columns and write through the edge buffer.
@inlinable
public func gemmBlocked<T: GemmTile, ISA: InstructionSet>(
  _: T.Type, _: ISA.Type, _ o: GemmOperands, m: Int, columns: Range<Int>, k: Int,
  buffers w: GemmBuffers
) {
  let (mr, nr, kcMax, mcMax, ncMax) = (T.mr, T.nr, T.kc, GemmBuffers.mc, GemmBuffers.nc)
  // A is read in place, either form (measured: packing it, even as a contiguous copy, costs
  // more than it saves at these sizes, and each thread would pack all of it). B is packed when
  // transposed, and when row-major too unless there are only a few rows to reuse it for: its
  // rows are `ldb` apart, and a power-of-two stride maps a panel's rows onto a few L1 sets.
  let packsB = o.bCol != 1 || m > 4 * mr
  var jc = columns.lowerBound
  while jc < columns.upperBound {
    let nc = min(ncMax, columns.upperBound - jc)
    var pc = 0
    while pc < k {
      let kc = min(kcMax, k - pc)
      let beta = o.accumulate || pc > 0
      let bBlock = o.b + pc * o.bRow + jc * o.bCol
      let fullColumns = nc / nr * nr
      if packsB {
        packB(
          T.self, ISA.self, bBlock, rowStride: o.bRow, colStride: o.bCol, kc: kc, nc: nc,
          into: w.packedB)
      } else if fullColumns < nc {
        packB(
          T.self, ISA.self, bBlock + fullColumns, rowStride: o.bRow, colStride: 1, kc: kc,
          nc: nc - fullColumns, into: w.packedB)
      }
      var ic = 0
      while ic < m {
        let mc = min(mcMax, m - ic)
        let aBlock = o.a + ic * o.aRow + pc * o.aCol
        let fullRows = mc / mr * mr
        if fullRows < mc {
          packA(
            T.self, ISA.self, aBlock + fullRows * o.aRow, rowStride: o.aRow, colStride: o.aCol,
            mc: mc - fullRows, kc: kc, into: w.packedA)
        }
        var jr = 0
        while jr < nc {
          let nrHere = min(nr, nc - jr)
          // The B panel: packed (k-major, NR wide) or in place (row stride bRow).
          let (bPanel, bStep) =
            packsB
            ? (UnsafePointer(w.packedB + jr * kc), nr)
            : nrHere == nr ? (bBlock + jr, o.bRow) : (UnsafePointer(w.packedB), nr)
          var ir = 0
          while ir < mc {
            let mrHere = min(mr, mc - ir)
            let cTile = o.c + (ic + ir) * o.ldc + jc + jr
            let full = mrHere == mr && nrHere == nr
            let target = full ? cTile : w.edge
            let ldc = full ? o.ldc : nr
            let accumulate = full && beta
            // Constant strides where they are known, so each inlined copy is specialised.
            @inline(__always)
            func kernel(_ aTile: UnsafePointer<Float>, aRow: Int, aStep: Int) {
              if bStep == nr {
                T.kernel(
                  ISA.self, kc: kc, aTile, aRow: aRow, aStep: aStep, bPanel, bStep: T.nr, target,
                  ldc: ldc, accumulate: accumulate)
              } else {
                T.kernel(
                  ISA.self, kc: kc, aTile, aRow: aRow, aStep: aStep, bPanel, bStep: bStep, target,
                  ldc: ldc, accumulate: accumulate)
              }
            }
            if ir < fullRows {
              kernel(aBlock + ir * o.aRow, aRow: o.aRow, aStep: o.aCol)
            } else {
              kernel(UnsafePointer(w.packedA + (ir - fullRows) * kc), aRow: 1, aStep: T.mr)
            }
            if !full {
              for i in 0..<mrHere {
                for j in 0..<nrHere {
                  let v = w.edge[i * nr + j]
                  cTile[i * o.ldc + j] = beta ? cTile[i * o.ldc + j] + v : v
                }
              }
            }
            ir += mr
          }
          jr += nr
        }
        ic += mcMax
      }
      pc += kc
    }
    jc += nc
  }
}

/// Packs op(A)[0..<mc, 0..<kc] into MR-row panels, k-major within a panel, zero-padded rows
/// (only the last few rows of a block are packed, so one plain loop serves both forms).
@inlinable @inline(__always)
func packA<T: GemmTile, ISA: InstructionSet>(
  _: T.Type, _: ISA.Type, _ a: UnsafePointer<Float>, rowStride: Int, colStride: Int, mc: Int,
  kc: Int,
  into out: UnsafeMutablePointer<Float>
) {
  let mrMax = T.mr
  var ir = 0
  var dst = out
  while ir < mc {
    let mr = min(mrMax, mc - ir)
    for p in 0..<kc {
      let src = a + p * colStride + ir * rowStride
      for i in 0..<mr { dst[p * mrMax + i] = src[i * rowStride] }
      for i in mr..<mrMax { dst[p * mrMax + i] = 0 }
    }
    dst += mrMax * kc
    ir += mrMax
  }
}

/// Packs op(B)[0..<kc, 0..<nc] into NR-column panels, k-major within a panel, zero-padded.
@inlinable @inline(__always)
func packB<T: GemmTile, ISA: InstructionSet>(
  _: T.Type, _: ISA.Type, _ b: UnsafePointer<Float>, rowStride: Int, colStride: Int, kc: Int,
  nc: Int,
  into out: UnsafeMutablePointer<Float>
) {
  let nrMax = T.nr
  var jr = 0
  var dst = out
  while jr < nc {
    let nr = min(nrMax, nc - jr)
    if colStride == 1 && nr == nrMax {
      for p in 0..<kc {
        let src = b + p * rowStride + jr
        (dst + p * nrMax).update(from: src, count: nrMax)
      }
    } else if rowStride == 1 && nr == nrMax {
      packTransposedPanel(T.self, ISA.self, b + jr * colStride, ldb: colStride, kc: kc, into: dst)
    } else {  // a partial panel, or any other strides
      for j in 0..<nrMax {
        if j < nr {
          let src = b + (jr + j) * colStride
          for p in 0..<kc { dst[p * nrMax + j] = src[p * rowStride] }
        } else {
          for p in 0..<kc { dst[p * nrMax + j] = 0 }
        }
      }
    }
    dst += nrMax * kc
    jr += nrMax
  }
}

/// dst[p·NR + j] = b[j·ldb + p] for j < NR, p < kc: eight values of each of eight rows are
/// loaded as vectors and written as eight transposed vectors (8×8 blocks), instead of one
/// scalar move per value.
@inlinable @inline(__always)
func packTransposedPanel<T: GemmTile, ISA: InstructionSet>(
  _: T.Type, _: ISA.Type, _ b: UnsafePointer<Float>, ldb: Int, kc: Int,
  into dst: UnsafeMutablePointer<Float>
) {
  let nr = T.nr
  typealias V = SIMD8<Float>
  var p = 0
  while p + 8 <= kc {
    for block in 0..<nr / 8 {
      let r = b + block * 8 * ldb + p
      let v0 = loadVector(ISA.self, V.self, r)
      let v1 = loadVector(ISA.self, V.self, r + ldb)
      let v2 = loadVector(ISA.self, V.self, r + 2 * ldb)
      let v3 = loadVector(ISA.self, V.self, r + 3 * ldb)
      let v4 = loadVector(ISA.self, V.self, r + 4 * ldb)
      let v5 = loadVector(ISA.self, V.self, r + 5 * ldb)
      let v6 = loadVector(ISA.self, V.self, r + 6 * ldb)
      let v7 = loadVector(ISA.self, V.self, r + 7 * ldb)
      let out = UnsafeMutableRawPointer(dst + p * nr + block * 8)
      for q in 0..<8 {
        let column = V(v0[q], v1[q], v2[q], v3[q], v4[q], v5[q], v6[q], v7[q])
        (out + q * nr * 4).storeBytes(of: column, as: V.self)
      }
    }
    p += 8
  }
  while p < kc {
    for j in 0..<nr { dst[p * nr + j] = b[j * ldb + p] }
    p += 1
  }
}
