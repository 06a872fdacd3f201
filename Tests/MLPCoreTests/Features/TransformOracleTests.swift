// Feature transforms against scikit-learn as the oracle (scripts/transform_oracle.py): every
// imputation with every scaling (SimpleImputer + StandardScaler, RobustScaler, MinMaxScaler,
// QuantileTransformer, log1p) on columns with missing cells, repeated values and probes beyond
// the training range, and OneHotEncoder's levels and rows with min_frequency, max_categories,
// missing cells and unseen levels.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct TransformOracleTests {
  struct NumericCase: Encodable {
    var cells: [Double?]
    var missing: String
    var fill: Double?
    var scaling: String
    var probe: [Double?]
  }

  struct CategoricalCase: Encodable {
    var cells: [String?]
    var minFrequency: Double?
    var maxCategories: Int?
    var probe: [String?]

    enum CodingKeys: String, CodingKey {
      case cells, probe
      case minFrequency = "min_frequency"
      case maxCategories = "max_categories"
    }
  }

  struct BooleanCase: Encodable {
    var cells: [String]
    var probe: [String]
  }

  struct Request: Encodable {
    var numeric: [NumericCase]
    var categorical: [CategoricalCase]
    var boolean: [BooleanCase]
  }

  struct Answer: Decodable {
    struct Numeric: Decodable { var values: [Double] }
    struct Categorical: Decodable {
      var levels: [String?]
      var infrequent: [String?]
      var rows: [[Double]]
    }
    struct Boolean: Decodable { var rows: [[Double]] }
    var numeric: [Numeric]
    var categorical: [Categorical]
    var boolean: [Boolean]
  }

  /// A column with repeats, a long tail, about 5 % missing cells, and `n` rows.
  static func column(_ n: Int, seed: UInt64) -> [Double?] {
    var g = SeededGenerator(seed: seed)
    return (0..<n).map { _ in
      let u = Double(g.next() % 10_000) / 10_000
      if u < 0.05 { return nil }
      if u < 0.3 { return Double(g.next() % 5) }  // repeats
      return (u * 10).rounded(.down) + Double(g.next() % 1000) / 1000 + (u > 0.95 ? 50 : 0)
    }
  }

  static func request() -> Request {
    var numeric: [NumericCase] = []
    for (n, seed) in [(200, UInt64(1)), (1500, 2)] {
      let cells = column(n, seed: seed)
      let probe: [Double?] = [nil, -3, 0, 0.5, 1, 2, 4, 5.25, 9.999, 60, 1e6] + cells.prefix(20)
      for missing in ["mean", "median", "constant"] {
        for scaling in ["standard", "robust", "minmax", "quantile", "log", "none"] {
          numeric.append(
            NumericCase(
              cells: cells, missing: missing, fill: missing == "constant" ? 2.5 : nil,
              scaling: scaling,
              probe: scaling == "log" ? probe.map { $0.map { abs($0) } } : probe))
        }
      }
    }
    // A constant column: every scale is 0 and taken as 1.
    for scaling in ["standard", "robust", "minmax", "quantile"] {
      numeric.append(
        NumericCase(
          cells: [3, 3, 3, nil], missing: "mean", fill: nil, scaling: scaling,
          probe: [3, 2, 4, nil]))
    }
    var g = SeededGenerator(seed: 7)
    let levels = ["b", "a", "c", "Z", "é", "d", "e", "f"]
    // Skewed: level k appears about 1/(k+1) as often as the first.
    let cells: [String?] = (0..<300).map { _ in
      let u = Double(g.next() % 10_000) / 10_000
      if u < 0.04 { return nil }
      return levels[min(levels.count - 1, Int(1 / (u * u + 0.12)) % levels.count)]
    }
    let probe: [String?] = levels + [nil, "unseen", ""]
    let settings: [(Double?, Int?)] = [
      (nil, nil), (5, nil), (0.1, nil), (nil, 3), (nil, 1), (12, 4), (0.02, 6),
    ]
    let categorical = settings.map {
      CategoricalCase(cells: cells, minFrequency: $0.0, maxCategories: $0.1, probe: probe)
    }
    let boolean = [
      BooleanCase(cells: ["yes", "no", "yes"], probe: ["yes", "no", "maybe"]),
      BooleanCase(cells: ["True", "False", "False"], probe: ["True", "False", "true"]),
      BooleanCase(cells: ["Yes", "no"], probe: ["Yes", "no"]),
      BooleanCase(cells: ["1", "0", "1"], probe: ["0", "1", "2"]),
    ]
    return Request(numeric: numeric, categorical: categorical, boolean: boolean)
  }

  @Test func transformsEqualScikitLearn() throws {
    guard let python = CommandRunner.pythonWith(["sklearn", "numpy"]) else { return }
    let request = Self.request()
    let input = Repository.temporaryDirectory() + "/request.json"
    defer {
      try? FileManager.default.removeItem(atPath: (input as NSString).deletingLastPathComponent)
    }
    try JSONEncoder().encode(request).write(to: URL(fileURLWithPath: input))
    let result = try CommandRunner.run(
      "/bin/sh", ["-c", "\"$0\" scripts/transform_oracle.py < \"$1\"", python, input])
    #expect(result.status == 0, "\(result.stderr)")
    let answer = try JSONDecoder().decode(Answer.self, from: Data(result.stdout.utf8))
    #expect(answer.numeric.count == request.numeric.count)
    for (c, expected) in zip(request.numeric, answer.numeric) {
      let t = try NumericTransform.fit(
        c.cells, missing: Imputation(rawValue: c.missing)!, fill: c.fill,
        scaling: Scaling(rawValue: c.scaling)!
      ).get()
      for (x, want) in zip(c.probe, expected.values) {
        let got = try t.apply(x).get().value
        #expect(
          abs(got - want) <= 1e-9 * max(1, abs(want)),
          "\(c.missing)/\(c.scaling), n = \(c.cells.count): \(String(describing: x)) → \(got), scikit-learn \(want)"
        )
      }
    }
    #expect(answer.categorical.count == request.categorical.count)
    for (c, expected) in zip(request.categorical, answer.categorical) {
      let name =
        "min_frequency \(String(describing: c.minFrequency)), max_categories \(String(describing: c.maxCategories))"
      let t = try CategoricalTransform.fit(
        c.cells, minFrequency: c.minFrequency, maxCategories: c.maxCategories
      ).get()
      let shown = { (level: String) in level == CategoricalTransform.missingLevel ? nil : level }
      #expect(t.levels.map(shown) == expected.levels, "\(name)")
      #expect(t.infrequent.map(shown) == expected.infrequent, "\(name)")
      var row = [Float](repeating: 0, count: t.width)
      for (cell, want) in zip(c.probe, expected.rows) {
        row.withUnsafeMutableBufferPointer { _ = t.encode(cell, into: $0) }
        #expect(row.map(Double.init) == want, "\(name): \(String(describing: cell))")
      }
    }
    #expect(answer.boolean.count == request.boolean.count)
    for (c, expected) in zip(request.boolean, answer.boolean) {
      let t = try CategoricalTransform.fitBoolean(c.cells).get()
      var row: [Float] = [0]
      for (cell, want) in zip(c.probe, expected.rows) {
        row.withUnsafeMutableBufferPointer { _ = t.encode(cell, into: $0) }
        #expect(row.map(Double.init) == want, "\(c.cells): \(cell)")
      }
    }
  }

  @Test func unseenLevelsAreReportedAsSuch() throws {
    let flag = try CategoricalTransform.fitBoolean(["no", "yes", "no"]).get()
    #expect(flag.width == 1 && flag.slot("maybe") == .unseen(intoOther: false))
    guard case .failure = CategoricalTransform.fitBoolean(["a", "b", "c"]),
      case .failure = CategoricalTransform.fitBoolean(["a", nil])
    else {
      Issue.record("a boolean column of three values or a missing cell was fitted")
      return
    }
    let plain = try CategoricalTransform.fit(["a", "b", "a"]).get()
    #expect(plain.slot("c") == .unseen(intoOther: false))
    #expect(plain.slot(nil) == .unseen(intoOther: false))
    let rare = try CategoricalTransform.fit(["a", "a", "a", "b"], minFrequency: 2).get()
    #expect(rare.slot("b") == .other)
    #expect(rare.slot("c") == .unseen(intoOther: true))
    #expect(rare.width == 2)
  }

  @Test func missingCellsFollowTheDeclaredRule() {
    guard case .failure(let p) = NumericTransform.fit([1, nil], missing: .error, scaling: .none)
    else {
      Issue.record("a missing cell was accepted")
      return
    }
    #expect(p.description.contains("1 cells are missing"))
    guard case .failure = NumericTransform.fit([nil, nil], missing: .mean, scaling: .none) else {
      Issue.record("an all-missing column was fitted")
      return
    }
    guard case .failure = NumericTransform.fit([1, -2], missing: .mean, scaling: .log) else {
      Issue.record("log of a negative value was fitted")
      return
    }
    guard case .failure = CategoricalTransform.fit(["a", nil], missing: .error) else {
      Issue.record("a missing category was accepted")
      return
    }
  }
}
