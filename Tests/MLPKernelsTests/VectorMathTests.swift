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
}
