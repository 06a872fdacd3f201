// Which instruction set the kernels run with. The package builds MLPKernels for the x86-64-v3
// baseline (AVX2 + FMA, every x86-64 CPU since 2013–2015), so one binary runs on any of them,
// and MLPKernelsAVX512 for x86-64-v4; the AVX-512 code is entered only when the CPU reports
// AVX-512 F/BW/DQ/VL. `MLPC_ISA=avx2|avx512` overrides the choice for a process, so every path
// is tested on any machine: forced onto a CPU without AVX-512, the avx512 path runs the same
// 16-wide tile compiled for the baseline (each SIMD16 as two ymm halves: right, but slower).

import Foundation
import MLPKernelsAVX512
@_exported import MLPKernelsGeneric
import MLPThreads

/// The kernels' instruction set.
public enum KernelISA: String, Sendable, CaseIterable {
  case avx2, avx512

  /// The ISA in use: `MLPC_ISA` when set to a known name, else the widest the CPU has.
  public static let selected: KernelISA = {
    if let name = ProcessInfo.processInfo.environment["MLPC_ISA"],
      let isa = KernelISA(rawValue: name.lowercased())
    {
      return isa
    }
    return CPUFeatures.hasAVX512 ? .avx512 : .avx2
  }()

  /// Why `MLPC_ISA` cannot be honoured, if it is set to something unknown.
  public static var environmentProblem: String? {
    guard let name = ProcessInfo.processInfo.environment["MLPC_ISA"],
      KernelISA(rawValue: name.lowercased()) == nil
    else { return nil }
    return "MLPC_ISA is '\(name)'; use 'avx2' or 'avx512'"
  }

  /// Whether this ISA's code runs in its own registers here (false for avx512 forced onto a
  /// CPU without AVX-512, which runs the baseline build of the 16-wide code).
  public var isNative: Bool { self == .avx2 || CPUFeatures.hasAVX512 }

  /// Whether the element-wise kernels run the AVX-512 build (16-wide vectors).
  static let wideElementwise = selected == .avx512 && selected.isNative

  /// Floats per vector of the GEMM's main tile.
  public var vectorFloats: Int { self == .avx2 ? 8 : 16 }

  /// How `mlpc bench` names it: its name, and for avx512 without AVX-512 which build runs.
  public var description: String {
    isNative ? rawValue : "\(rawValue) (16-wide code built for x86-64-v3; no AVX-512 here)"
  }

  /// The blocked GEMM and its tile width for a product with `columns` columns of C. Products
  /// of at most 16 columns (output layers) use the 6×16 tile on either ISA: a 32-wide tile
  /// would compute mostly padding.
  func blocked(columns: Int) -> (BlockedKernel, nr: Int) {
    let narrow = columns <= 16
    switch (self, isNative, narrow) {
    case (.avx2, _, _), (.avx512, false, true): return (.tile6x16, 16)
    case (.avx512, true, true): return (.tile6x16AVX512, 16)
    case (.avx512, true, false): return (.tile8x32AVX512, 32)
    case (.avx512, false, false): return (.tile8x32Baseline, 32)
    }
  }
}

/// The builds of the blocked GEMM, as plain values (a job handed to the worker pool is
/// described by values only; see WorkerPool.runAbandonable).
enum BlockedKernel: Int, Sendable {
  /// 6×16 SIMD8, x86-64-v3.
  case tile6x16
  /// 6×16 SIMD8 compiled for AVX-512 (its 32 registers).
  case tile6x16AVX512
  /// 8×32 SIMD16 in zmm registers.
  case tile8x32AVX512
  /// 8×32 SIMD16 built for the baseline: what `MLPC_ISA=avx512` runs without AVX-512.
  case tile8x32Baseline

  /// Columns `columns` of C, all rows, with this thread's packing buffers.
  @inline(__always)
  func callAsFunction(
    _ o: GemmOperands, _ m: Int, _ columns: Range<Int>, _ k: Int, _ buffers: GemmBuffers
  ) {
    switch self {
    case .tile6x16:
      gemmBlocked(Tile6x16.self, Baseline.self, o, m: m, columns: columns, k: k, buffers: buffers)
    case .tile6x16AVX512:
      gemmBlockedNarrowAVX512(o, m: m, columns: columns, k: k, buffers: buffers)
    case .tile8x32AVX512:
      gemmBlockedAVX512(o, m: m, columns: columns, k: k, buffers: buffers)
    case .tile8x32Baseline:
      gemmBlocked(Tile8x32.self, Baseline.self, o, m: m, columns: columns, k: k, buffers: buffers)
    }
  }
}

/// Names this module's (x86-64-v3) instances of the MLPKernelsGeneric generics.
enum Baseline: InstructionSet {}

/// Row-wise passes over at least this many values split their rows over the pool (a row's
/// result is the same on any thread).
let rowSplitValues = 1 << 14

/// body(rows) over `rows` rows of `cols` values: in one range, or split among the pool's
/// threads when there are at least `rowSplitValues` values.
@inline(__always)
func splittingRows(_ rows: Int, cols: Int, _ body: (Range<Int>) -> Void) {
  let pool = WorkerPool.shared
  let parts = rows * cols >= rowSplitValues ? min(pool.count, rows) : 1
  guard parts > 1 else { return body(0..<rows) }
  pool.run(parts) { part in body(rows * part / parts..<rows * (part + 1) / parts) }
}

/// y[r, c] = σ(y[r, c] + bias[c]) on the selected ISA, keeping z = y + bias in
/// `preActivation` when given.
@inline(__always)
func biasActivationForward(
  _ y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
  preActivation: UnsafeMutablePointer<Float>?, rows: Int, cols: Int, _ activation: Activation,
  parameter: Float
) {
  splittingRows(rows, cols: cols) { range in
    let (y, z) = (y + range.lowerBound * cols, preActivation.map { $0 + range.lowerBound * cols })
    if KernelISA.wideElementwise {
      biasActivationForwardAVX512(
        y, bias: bias, preActivation: z, rows: range.count, cols: cols, activation,
        parameter: parameter)
    } else {
      biasActivationForward(
        Baseline.self, y, bias: bias, preActivation: z, rows: range.count, cols: cols,
        activation, parameter: parameter)
    }
  }
}

/// g ← g ⊙ σ' on the selected ISA, σ' from `saved` (x = σ(z), or z when the activation saves
/// its input).
@inline(__always)
func activationBackward(
  _ g: UnsafeMutablePointer<Float>, saved: UnsafePointer<Float>, rows: Int, cols: Int,
  _ activation: Activation, parameter: Float
) {
  splittingRows(rows, cols: cols) { range in
    let (g, saved) = (g + range.lowerBound * cols, saved + range.lowerBound * cols)
    if KernelISA.wideElementwise {
      activationBackwardAVX512(
        g, saved: saved, rows: range.count, cols: cols, activation, parameter: parameter)
    } else {
      activationBackward(
        Baseline.self, g, saved: saved, rows: range.count, cols: cols, activation,
        parameter: parameter)
    }
  }
}
