// The one pseudo-random source of mlpc: SplitMix64 (Steele, Lea & Flood 2014), documented so a
// run can be reproduced anywhere: same seed, same numbers, on every platform.

import Foundation

/// SplitMix64: state += 0x9E3779B97F4A7C15, then two xor-shift-multiply rounds.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [0, 1), 53 random bits.
  public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

  /// Uniform in [low, high).
  public mutating func uniform(_ low: Double, _ high: Double) -> Double {
    low + (high - low) * uniform()
  }

  /// Standard normal by Box–Muller (one value per call, the second is dropped for simplicity).
  public mutating func normal() -> Double {
    let u1 = max(uniform(), 0x1p-60)
    let u2 = uniform()
    return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
  }

  /// Uniform integer in 0..<bound by rejection (no modulo bias).
  public mutating func index(below bound: Int) -> Int {
    Int(truncatingIfNeeded: next(upperBound: UInt64(bound)))
  }

  /// Fisher–Yates shuffle of `values` driven by this generator.
  public mutating func shuffle(_ values: inout [Int]) {
    guard values.count > 1 else { return }
    for i in stride(from: values.count - 1, to: 0, by: -1) {
      values.swapAt(i, index(below: i + 1))
    }
  }
}
