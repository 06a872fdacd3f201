// `scale: robust_smooth_clip` against pytabkit's RealMLP preprocessing itself
// (scripts/realmlp_oracle.py → Tests/Fixtures/robust_smooth_clip_pytabkit.json, float64): median
// centring, the interquartile scale (half the range where the quartiles coincide) and the smooth
// clip v/√(1 + v²/9), on normal, skewed, sparse and integer columns, probed far beyond them.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct RobustSmoothClipTests {
  struct Case: Decodable, CustomTestStringConvertible, Sendable {
    var name: String
    var train: [Double]
    var probe: [Double]
    var expected: [Double]
    var testDescription: String { name }

    static func all() -> [Case] {
      let path = Repository.path("Tests/Fixtures/robust_smooth_clip_pytabkit.json")
      let data = FileManager.default.contents(atPath: path) ?? Data()
      return (try? JSONDecoder().decode([Case].self, from: data)) ?? []
    }
  }

  @Test func fixtureCoversTheCases() {
    #expect(Case.all().map(\.name) == ["normal", "skewed", "sparse", "integers"])
  }

  @Test(arguments: Case.all())
  func equalsRealMLPsPreprocessing(_ c: Case) throws {
    let t = try NumericTransform.fit(
      c.train.map { $0 }, missing: .error, scaling: .robustSmoothClip
    ).get()
    #expect(t.width == 1)
    for (x, want) in zip(c.probe, c.expected) {
      let got = try t.apply(x).get().value
      #expect(abs(got - want) <= 1e-12 * max(1, abs(want)), "x = \(x): \(got) vs \(want)")
      #expect(abs(got) < 3, "the smooth clip bounds every value by 3")
    }
  }
}
