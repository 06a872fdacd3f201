// Inverted dropout, forward and backward side by side. The mask of a step is a pure function of
// (seed, optimizer step, layer, element): counter-based, so a run is byte-identical for a seed and
// a resumed run draws the same masks as an uninterrupted one, without saving any generator state.

/// SplitMix64's output function: a well-mixed 64-bit hash of `x`.
@inline(__always)
func mix64(_ x: UInt64) -> UInt64 {
  var z = x &+ 0x9E37_79B9_7F4A_7C15
  z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
  z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
  return z ^ (z >> 31)
}

/// Draws the mask of `count` values (0 with probability `rate`, else 1/(1 − rate)) for `layer` at
/// optimizer step `step`, and multiplies `x` by it. `first` is the index of x[0] in the whole
/// batch (a rank's rows start inside it), so a value's mask is the same however the batch is split.
func dropoutForward(
  _ x: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, count: Int, rate: Float,
  seed: UInt64, layer: Int, step: Int, first: Int = 0
) {
  let keep = 1 / (1 - rate)
  // Uniform u in [0, 1) from the top 24 bits; dropped when u < rate.
  let threshold = UInt64((Double(rate) * 16_777_216).rounded(.up))
  let stream = mix64(seed ^ 0xD809_0F7E) ^ mix64(UInt64(step) &* 0x1000_0001 &+ UInt64(layer))
  for i in 0..<count {
    let u = mix64(stream &+ UInt64(first + i)) >> 40
    mask[i] = u < threshold ? 0 : keep
  }
  for i in 0..<count { x[i] *= mask[i] }
}

/// delta ← delta ⊙ mask ⊙ σ'. With σ' taken from z (`preActivation`), z is untouched by the mask;
/// otherwise the output x is divided back by the mask where it was kept (the dropped values'
/// delta is 0 whatever σ' is). Then σ' is applied by the activation kernel.
func dropoutBackward(
  delta: UnsafeMutablePointer<Float>, x: UnsafeMutablePointer<Float>,
  preActivation: UnsafePointer<Float>?, mask: UnsafePointer<Float>, rows: Int, cols: Int,
  _ activation: Activation, parameter: Float
) {
  if let preActivation {
    for i in 0..<rows * cols { delta[i] *= mask[i] }
    activationBackward(
      delta, saved: preActivation, rows: rows, cols: cols, activation, parameter: parameter)
    return
  }
  for i in 0..<rows * cols {
    let m = mask[i]
    x[i] = m == 0 ? 0 : x[i] / m
    delta[i] *= m
  }
  activationBackward(delta, saved: x, rows: rows, cols: cols, activation, parameter: parameter)
}
