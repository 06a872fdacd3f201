// Register tiles of the GEMM: a micro-kernel C[MR, NR] (+)= Σ_p A[:, p] ⊗ B[p, :] whose
// accumulators stay in vector registers for the whole depth. Each tile fits one register file:
// 6×16 in SIMD8 is twelve ymm accumulators (AVX2 has 16 registers), 8×32 in SIMD16 is sixteen
// zmm accumulators (AVX-512 has 32). Everything here is @inlinable so that each kernel module
// compiles its own copy for its own instruction set (MLPKernels for the x86-64-v3 baseline,
// MLPKernelsAVX512 for x86-64-v4); this module's own object code is never on a hot path.

/// A marker type naming the module (and so the instruction set) an instance is compiled for.
/// Every generic function here takes one, so that the specialisations two kernel modules make
/// have different symbol names: identical names would be merged by the linker, and one
/// module's AVX-512 copy could then run where the baseline copy was meant to.
public protocol InstructionSet {}

/// A register tile: its shape, its depth block and its micro-kernel.
public protocol GemmTile {
  /// Rows of C per micro-kernel call.
  static var mr: Int { get }
  /// Columns of C per micro-kernel call (a whole number of vectors).
  static var nr: Int { get }
  /// Depth per block: one packed B panel (kc × nr floats) stays in L1 across a block's rows.
  static var kc: Int { get }
  /// C[0..<mr, 0..<nr] = [C +] Σ_p op(A)[0..<mr, p] ⊗ op(B)[p, 0..<nr], where op(A)[i, p] is
  /// a[i·aRow + p·aStep] and op(B)[p, j] is b[p·bStep + j]; C rows are ldc apart.
  static func kernel<ISA: InstructionSet>(
    _: ISA.Type, kc: Int, _ a: UnsafePointer<Float>, aRow: Int, aStep: Int,
    _ b: UnsafePointer<Float>,
    bStep: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool)
}

/// 6×16 with twelve SIMD8 accumulators: the AVX2 tile.
public enum Tile6x16: GemmTile {
  @inlinable public static var mr: Int { 6 }
  @inlinable public static var nr: Int { 16 }
  @inlinable public static var kc: Int { 256 }

  @inlinable @inline(__always)
  public static func kernel<ISA: InstructionSet>(
    _: ISA.Type, kc: Int, _ a: UnsafePointer<Float>, aRow: Int, aStep: Int,
    _ b: UnsafePointer<Float>,
    bStep: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
  ) {
    typealias V = SIMD8<Float>
    var c00 = V()
    var c01 = V()
    var c10 = V()
    var c11 = V()
    var c20 = V()
    var c21 = V()
    var c30 = V()
    var c31 = V()
    var c40 = V()
    var c41 = V()
    var c50 = V()
    var c51 = V()
    var ap = a
    var bp = b
    let (r1, r2, r3, r4, r5) = (aRow, 2 * aRow, 3 * aRow, 4 * aRow, 5 * aRow)
    for _ in 0..<kc {
      let b0 = loadVector(ISA.self, V.self, bp)
      let b1 = loadVector(ISA.self, V.self, bp + 8)
      var s = V(repeating: ap[0])
      c00 = c00.addingProduct(s, b0)
      c01 = c01.addingProduct(s, b1)
      s = V(repeating: ap[r1])
      c10 = c10.addingProduct(s, b0)
      c11 = c11.addingProduct(s, b1)
      s = V(repeating: ap[r2])
      c20 = c20.addingProduct(s, b0)
      c21 = c21.addingProduct(s, b1)
      s = V(repeating: ap[r3])
      c30 = c30.addingProduct(s, b0)
      c31 = c31.addingProduct(s, b1)
      s = V(repeating: ap[r4])
      c40 = c40.addingProduct(s, b0)
      c41 = c41.addingProduct(s, b1)
      s = V(repeating: ap[r5])
      c50 = c50.addingProduct(s, b0)
      c51 = c51.addingProduct(s, b1)
      ap += aStep
      bp += bStep
    }
    storeRow(ISA.self, c00, c01, c, accumulate)
    storeRow(ISA.self, c10, c11, c + ldc, accumulate)
    storeRow(ISA.self, c20, c21, c + 2 * ldc, accumulate)
    storeRow(ISA.self, c30, c31, c + 3 * ldc, accumulate)
    storeRow(ISA.self, c40, c41, c + 4 * ldc, accumulate)
    storeRow(ISA.self, c50, c51, c + 5 * ldc, accumulate)
  }
}

/// 8×32 with sixteen SIMD16 accumulators: the AVX-512 tile (two B vectors and eight broadcasts
/// per step of depth leave half of the 32 zmm registers for loads and the compiler's unrolling).
/// On an AVX2 CPU the same code runs with each SIMD16 split into two ymm halves, which spills.
public enum Tile8x32: GemmTile {
  @inlinable public static var mr: Int { 8 }
  @inlinable public static var nr: Int { 32 }
  @inlinable public static var kc: Int { 192 }

  @inlinable @inline(__always)
  public static func kernel<ISA: InstructionSet>(
    _: ISA.Type, kc: Int, _ a: UnsafePointer<Float>, aRow: Int, aStep: Int,
    _ b: UnsafePointer<Float>,
    bStep: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
  ) {
    typealias V = SIMD16<Float>
    var c00 = V()
    var c01 = V()
    var c10 = V()
    var c11 = V()
    var c20 = V()
    var c21 = V()
    var c30 = V()
    var c31 = V()
    var c40 = V()
    var c41 = V()
    var c50 = V()
    var c51 = V()
    var c60 = V()
    var c61 = V()
    var c70 = V()
    var c71 = V()
    var ap = a
    var bp = b
    let (r1, r2, r3) = (aRow, 2 * aRow, 3 * aRow)
    let r4 = 4 * aRow
    for _ in 0..<kc {
      let b0 = loadVector(ISA.self, V.self, bp)
      let b1 = loadVector(ISA.self, V.self, bp + 16)
      let aq = ap + r4
      var s = V(repeating: ap[0])
      c00 = c00.addingProduct(s, b0)
      c01 = c01.addingProduct(s, b1)
      s = V(repeating: ap[r1])
      c10 = c10.addingProduct(s, b0)
      c11 = c11.addingProduct(s, b1)
      s = V(repeating: ap[r2])
      c20 = c20.addingProduct(s, b0)
      c21 = c21.addingProduct(s, b1)
      s = V(repeating: ap[r3])
      c30 = c30.addingProduct(s, b0)
      c31 = c31.addingProduct(s, b1)
      s = V(repeating: aq[0])
      c40 = c40.addingProduct(s, b0)
      c41 = c41.addingProduct(s, b1)
      s = V(repeating: aq[r1])
      c50 = c50.addingProduct(s, b0)
      c51 = c51.addingProduct(s, b1)
      s = V(repeating: aq[r2])
      c60 = c60.addingProduct(s, b0)
      c61 = c61.addingProduct(s, b1)
      s = V(repeating: aq[r3])
      c70 = c70.addingProduct(s, b0)
      c71 = c71.addingProduct(s, b1)
      ap += aStep
      bp += bStep
    }
    storeRow(ISA.self, c00, c01, c, accumulate)
    storeRow(ISA.self, c10, c11, c + ldc, accumulate)
    storeRow(ISA.self, c20, c21, c + 2 * ldc, accumulate)
    storeRow(ISA.self, c30, c31, c + 3 * ldc, accumulate)
    storeRow(ISA.self, c40, c41, c + 4 * ldc, accumulate)
    storeRow(ISA.self, c50, c51, c + 5 * ldc, accumulate)
    storeRow(ISA.self, c60, c61, c + 6 * ldc, accumulate)
    storeRow(ISA.self, c70, c71, c + 7 * ldc, accumulate)
  }
}

@inlinable @inline(__always)
func loadVector<ISA: InstructionSet, V: SIMD>(_: ISA.Type, _: V.Type, _ p: UnsafePointer<Float>)
  -> V where V.Scalar == Float
{
  UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

/// Stores (or adds into) one tile row of two vectors.
@inlinable @inline(__always)
func storeRow<ISA: InstructionSet, V: SIMD>(
  _: ISA.Type, _ lo: V, _ hi: V, _ c: UnsafeMutablePointer<Float>, _ accumulate: Bool
) where V.Scalar == Float {
  let raw = UnsafeMutableRawPointer(c)
  let width = V.scalarCount * 4
  if accumulate {
    raw.storeBytes(of: lo + loadVector(ISA.self, V.self, c), as: V.self)
    (raw + width).storeBytes(of: hi + loadVector(ISA.self, V.self, c + V.scalarCount), as: V.self)
  } else {
    raw.storeBytes(of: lo, as: V.self)
    (raw + width).storeBytes(of: hi, as: V.self)
  }
}
