// The branch-free approximations used by the kernels, against Foundation's double-precision
// functions over their whole useful range.

import Foundation
import Testing

@testable import MLPKernels

struct VectorMathTests {
  /// Evenly spaced points from `low` to `high`, both included.
  private func points(_ low: Double, _ high: Double, count: Int = 200_001) -> [Double] {
    (0..<count).map { low + (high - low) * Double($0) / Double(count - 1) }
  }

  @Test func expMatchesWithinTwoUlps() {
    var worst = 0.0
    for x in points(-87, 88) {
      let exact = Foundation.exp(Double(Float(x)))
      let relative = abs(Double(fastExp(Float(x))) - exact) / exact
      worst = max(worst, relative)
    }
    #expect(worst < 2.5e-7, "worst relative error \(worst)")
    #expect(fastExp(0) == 1)
    #expect(fastExp(-1000) > 0 && fastExp(-1000) < 1.3e-38)
    #expect(fastExp(1000).isFinite)
  }

  @Test func tanhMatchesWithinAFewUlps() {
    var worst = 0.0
    for x in points(-12, 12) {
      let exact = Foundation.tanh(Double(Float(x)))
      let error = abs(Double(fastTanh(Float(x))) - exact) / max(abs(exact), 1e-30)
      worst = max(worst, error)
    }
    #expect(worst < 5e-7, "worst relative error \(worst)")
    #expect(fastTanh(0) == 0)
    // Saturates within an ulp or two of ±1, symmetrically, and never beyond.
    #expect(abs(fastTanh(20) - 1) < 3e-7 && fastTanh(-20) == -fastTanh(20))
    #expect(points(-50, 50, count: 10_001).allSatisfy { abs(fastTanh(Float($0))) <= 1 })
  }

  @Test func sigmoidMatches() {
    var worst = 0.0
    for x in points(-30, 30) {
      let exact = 1 / (1 + Foundation.exp(-Double(Float(x))))
      worst = max(worst, abs(Double(fastSigmoid(Float(x))) - exact))
    }
    #expect(worst < 3e-7, "worst absolute error \(worst)")
  }

  /// The periodic embeddings' cos(2πt), sin(2πt) of turns t, against Foundation's double
  /// precision at the same float t: near 0, across quarter-turn boundaries, and up to a thousand
  /// turns (where the float t itself has few fractional bits, but its fraction is exact).
  @Test func cosSinOfTurnsMatchWithinAFewUlps() {
    var worst = 0.0
    for x in points(-2, 2) + points(-1000, 1000) + points(-1e-3, 1e-3, count: 2001) {
      let t = Float(x)
      let (c, s) = cosSinTurns(t)
      let angle = 2 * Double.pi * Double(t)
      worst = max(
        worst, abs(Double(c) - Foundation.cos(angle)), abs(Double(s) - Foundation.sin(angle)))
    }
    #expect(worst < 3e-7, "worst absolute error \(worst)")
    #expect(cosSinTurns(0) == (1, 0) && cosSinTurns(1) == (1, 0) && cosSinTurns(3) == (1, 0))
    for (t, c, s): (Float, Float, Float) in [
      (0.25, 0, 1), (0.5, -1, 0), (0.75, 0, -1), (-0.25, 0, -1), (-7.5, -1, 0),
    ] {
      #expect(abs(cosSinTurns(t).cos - c) < 1e-7 && abs(cosSinTurns(t).sin - s) < 1e-7, "\(t)")
    }
    // Beyond 2^22 turns a float is a multiple of ½ (cos ±1, sin 0), beyond 2^23 a whole number.
    for (t, c): (Float, Float) in [
      (4_194_304.5, -1), (4_194_305, 1), (-6_000_000.5, -1), (8_388_608, 1), (1e9, 1), (-3e10, 1),
    ] {
      #expect(cosSinTurns(t).cos == c && abs(cosSinTurns(t).sin) < 1e-7, "\(t)")
    }
  }
}
