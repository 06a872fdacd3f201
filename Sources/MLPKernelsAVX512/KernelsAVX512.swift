// The AVX-512 instances of the GEMM tiles, the activation epilogues and the peak probe, compiled
// for x86-64-v4 with 512-bit vectors preferred (Package
// swift). Nothing here may run unless the CPU has AVX-512 F/BW/DQ/VL: MLPKernels checks that
// before calling in.

import MLPKernelsGeneric

/// Names this module's instances of the MLPKernelsGeneric generics.
enum AVX512: InstructionSet {}

/// Columns `columns` of C with the 8×32 SIMD16 tile, in zmm registers.
public func gemmBlockedAVX512(
  _ o: GemmOperands, m: Int, columns: Range<Int>, k: Int, buffers: GemmBuffers
) {
  gemmBlocked(Tile8x32.self, AVX512.self, o, m: m, columns: columns, k: k, buffers: buffers)
}

/// Columns `columns` of C with the 6×16 SIMD8 tile (for products with few columns), compiled
/// with AVX-512's 32 registers available.
public func gemmBlockedNarrowAVX512(
  _ o: GemmOperands, m: Int, columns: Range<Int>, k: Int, buffers: GemmBuffers
) {
  gemmBlocked(Tile6x16.self, AVX512.self, o, m: m, columns: columns, k: k, buffers: buffers)
}

/// Ten independent chains of 16-wide FMAs for `iterations` rounds (the peak probe).
@inline(never)
public func fmaChainsAVX512(_ iterations: Int) -> Float {
  fmaChains(AVX512.self, SIMD16<Float>.self, iterations)
}

/// The forward epilogue y ← σ(y + bias) (z = y + bias kept in `preActivation` when given) in
/// 16-wide vectors.
public func biasActivationForwardAVX512(
  _ y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
  preActivation: UnsafeMutablePointer<Float>? = nil, rows: Int, cols: Int,
  _ activation: Activation, parameter: Float
) {
  biasActivationForward(
    AVX512.self, y, bias: bias, preActivation: preActivation, rows: rows, cols: cols, activation,
    parameter: parameter)
}

/// The backward epilogue g ← g ⊙ σ' (from the saved x or z) in 16-wide vectors.
public func activationBackwardAVX512(
  _ g: UnsafeMutablePointer<Float>, saved: UnsafePointer<Float>, rows: Int, cols: Int,
  _ activation: Activation, parameter: Float
) {
  activationBackward(
    AVX512.self, g, saved: saved, rows: rows, cols: cols, activation, parameter: parameter)
}
