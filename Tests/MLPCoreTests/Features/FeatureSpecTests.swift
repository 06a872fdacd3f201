// Declared feature columns through the checker: transforms fitted on the training split only
// (validation and test rows never move a statistic), n^0 checked against the encoded width,
// rows with a missing target dropped with a warning, bad treatments located, and the fitted
// transforms stored in the model file and applied to raw rows.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct FeatureSpecTests {
  /// A table whose `x` is the row number (so a split can be recovered from the encoded values),
  /// with a category, missing cells and a label.
  static func folder(rows: Int = 200, extremeTest: Bool = false) throws -> String {
    let dir = Repository.temporaryDirectory()
    var csv = "x,city,size,label\n"
    for i in 0..<rows {
      let city = ["paris", "rome", "oslo", "lima"][i % 4]
      let size = i % 10 == 3 ? "?" : "\(Double(i % 7) + 0.5)"
      csv += "\(i),\(city),\(size),\(i % 3 == 0 ? "a" : "b")\n"
    }
    try csv.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    let test = "x,city,size,label\n" + (extremeTest ? "1000000,paris,1e6,a\n" : "5,tokyo,1,a\n")
    try test.write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
    return dir
  }

  static func spec(input: Int = 7, extra: String = "") -> String {
    """
    task: classification
    input: \(input)
    layers: [{units: 4, activation: tanh}, {units: 2, activation: softmax}]
    data:
      train: d.csv
      test: t.csv
      target: label
      validation_split: 0.25
      missing_values: ['?']
      features:
        x: numeric
        city: categorical
        size: {type: numeric, missing: mean, indicator: true, scale: minmax}\(extra)
    training: {epochs: 2}
    """
  }

  @Test func statisticsComeFromTheTrainingRowsOnly() throws {
    let dir = try Self.folder(extremeTest: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = Checker.check(text: Self.spec(), file: dir + "/s.yaml")
    let spec = try #require(result.spec, "\(result.diagnostics)")
    let encoder = try #require(spec.data.encoder)
    #expect(encoder.width == 7)  // x 1, city 4, size 1 and its indicator
    #expect(
      encoder.encodedNames == [
        "x", "city=lima", "city=oslo", "city=paris", "city=rome", "size", "size_missing",
      ])
    let x = try #require(encoder.columns[0].numeric)
    let validation = try #require(spec.data.validation)
    // The validation rows' x, recovered from their encoded values.
    let held = (0..<validation.count).map {
      Int((Double(validation.features[$0 * 7]) * x.scale + x.center).rounded())
    }
    #expect(held.count == 50 && Set(held).count == 50)
    let trained = (0..<200).filter { !held.contains($0) }.map(Double.init)
    let mean = trained.reduce(0, +) / Double(trained.count)
    let std = (trained.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(trained.count))
      .squareRoot()
    #expect(abs(x.center - mean) < 1e-9 && abs(x.scale - std) < 1e-9)
    // The test file's 1e6 moved nothing: minmax of size is over the training rows' 0.5 … 6.5.
    let size = try #require(encoder.columns[2].numeric)
    #expect(size.center == 0.5 && size.scale == 6)
    #expect(spec.data.test?.features[5] == Float((Double(Float(1e6)) - 0.5) / 6))
  }

  @Test func theEncodedWidthIsNZero() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = Checker.check(text: Self.spec(input: 5), file: dir + "/s.yaml")
    let e011 = try #require(result.diagnostics.first { $0.code == .inputMismatch })
    #expect(e011.message.contains("has 7 features"), "\(e011.message)")
    #expect(e011.notes.first?.message.contains("'city' 4") == true)
    #expect(e011.help == "set 'input: 7'")
  }

  @Test func unseenTestLevelsAndMissingTargetsAreReported() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try
      "x,city,size,label\n1,paris,2,a\n2,rome,3,?\n3,oslo,1,b\n4,lima,2, ?\n5,rome,1,a\n6,oslo,2,b\n"
      .write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    let result = Checker.check(
      text: Self.spec(input: 6).replacingOccurrences(of: "  validation_split: 0.25\n", with: ""),
      file: dir + "/s.yaml")
    let spec = try #require(result.spec, "\(result.diagnostics)")
    #expect(spec.data.train.count == 4)
    let warnings = result.diagnostics.filter { $0.code == .dataWarning }.map(\.message)
    #expect(
      warnings.contains {
        $0.contains("2 rows") && $0.contains("missing target") && $0.contains("lines 3, 5")
      }, "\(warnings)")
    #expect(warnings.contains { $0.contains("'city'") && $0.contains("'tokyo'") }, "\(warnings)")
  }

  @Test func badTreatmentsAreLocatedAndStopTheDataCheck() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let text = Self.spec(extra: "\n    label2: {type: categorical, scale: robust}")
    let result = Checker.check(text: text, file: dir + "/s.yaml")
    #expect(result.spec == nil)
    let codes = result.diagnostics.map(\.code)
    #expect(codes == [.unknownKey], "\(result.diagnostics)")
    #expect(result.diagnostics.first?.location?.line == 14)
    // A numeric column with text: the error says how to declare it.
    let wrong = Checker.check(
      text: Self.spec().replacingOccurrences(of: "city: categorical", with: "city: numeric"),
      file: dir + "/s.yaml")
    let e019 = try #require(wrong.diagnostics.first { $0.code == .badData })
    #expect(e019.help?.contains("type: categorical") == true)
  }

  @Test func typesAreInferredWithoutFeatures() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var csv = "id,colour,width,size,flat,label\n"
    for i in 0..<60 {
      let size = i == 7 ? "?" : i % 9 == 0 ? "" : "\(i % 5)"
      csv += "u\(i),\(["red", "blue"][i % 2]),\(i % 4),\(size),1,\(i % 2)\n"
    }
    try csv.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    // id 60 levels, colour 2, width 1, size 5 levels, "?" and a missing level (7), flat 1.
    let text = """
      task: classification
      input: 71
      layers: [{units: 2, activation: softmax}]
      data: {train: d.csv, target: label}
      """
    let result = Checker.check(text: text, file: dir + "/s.yaml")
    let spec = try #require(result.spec, "\(result.diagnostics)")
    let note = try #require(result.diagnostics.first { $0.code == .inferredFeatures })
    #expect(note.severity == .note)
    #expect(
      note.message.contains(
        "'id' categorical (60 levels), 'colour' categorical (2 levels), 'width' numeric, 'size' categorical (6 levels, 7 missing), 'flat' numeric"
      ), "\(note.message)")
    let warnings = result.diagnostics.filter { $0.code == .dataWarning }.map(\.message)
    #expect(warnings.contains { $0.contains("'id'") && $0.contains("identifier") }, "\(warnings)")
    #expect(
      warnings.contains { $0.contains("'size'") && $0.contains("'?' (line 9)") }, "\(warnings)")
    #expect(warnings.contains { $0.contains("'flat'") && $0.contains("one value") }, "\(warnings)")
    #expect(spec.data.encoder?.width == 71)
    // The fix the warning suggests reads 'size' as numbers.
    let fixed = Checker.check(
      text: text.replacingOccurrences(of: "input: 71", with: "input: 65")
        .replacingOccurrences(
          of: "target: label}", with: "target: label, missing_values: ['', '?']}"),
      file: dir + "/s.yaml")
    #expect(fixed.spec != nil, "\(fixed.diagnostics)")
    #expect(
      fixed.diagnostics.first { $0.code == .inferredFeatures }?.message.contains(
        "'size' numeric (8 missing") == true)
  }

  @Test func anEmptyColumnIsIgnoredAndOneClassIsRefused() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var csv = "a,b,c,label,same\n"
    for i in 0..<30 { csv += "\(i % 4),NA,\(["x", "y"][i % 2]),\(i % 2 == 0 ? "k" : "j"),k\n" }
    try csv.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    let text = """
      task: classification
      layers: [{units: 2, activation: softmax}]
      data: {train: d.csv, target: label}
      """
    let result = Checker.check(text: text + "\n", file: dir + "/s.yaml")
    let spec = try #require(result.spec, "\(result.diagnostics)")
    #expect(spec.data.encoder?.columns.map(\.name) == ["a", "c", "same"])
    #expect(
      result.diagnostics.contains {
        $0.code == .dataWarning && $0.message == "column 'b' has no value in any row; it is ignored"
      })
    // Declared with a fill, the empty column is an error that says to ignore it.
    let declared = Checker.check(
      text: text.replacingOccurrences(
        of: "target: label}",
        with: "target: label, features: {a: numeric, b: {type: numeric, missing: mean}}}"),
      file: dir + "/s.yaml")
    let empty = try #require(declared.diagnostics.first { $0.code == .badData })
    #expect(
      empty.message.hasSuffix("every cell is missing") && empty.help == "declare it 'b: ignore'")
    // A target with one class: located at the target, whatever the output width.
    let one = Checker.check(
      text: text.replacingOccurrences(of: "target: label", with: "target: same"),
      file: dir + "/s.yaml")
    let refused = try #require(one.diagnostics.first { $0.code == .outputClassMismatch })
    #expect(
      refused.message == "the training rows hold one class only; a classifier needs at least two")
    #expect(refused.location?.line == 3 && one.spec == nil)
  }

  @Test func numericTablesAreReadAsBefore() throws {
    // Every column numbers, nothing missing: no inference, no transforms, nothing to note.
    let result = Checker.check(file: Repository.path("specs/iris.yaml"))
    #expect(result.diagnostics.isEmpty)
    #expect(result.spec?.data.encoder == nil)
  }

  @Test func missingTargetsFollowTheDeclaredRule() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "x,city,size,label\n1,paris,2,a\n2,rome,3,?\n3,oslo,1,b\n4,lima,2,a\n"
      .write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    let base = Self.spec(input: 6).replacingOccurrences(of: "  validation_split: 0.25\n", with: "")
      .replacingOccurrences(of: "t.csv", with: "d.csv")
    let asked = Checker.check(
      text: base.replacingOccurrences(
        of: "  target: label\n", with: "  target: label\n  missing_target: drop\n"),
      file: dir + "/s.yaml")
    #expect(asked.spec?.data.train.count == 3, "\(asked.diagnostics)")
    #expect(!asked.diagnostics.contains { $0.message.contains("missing target") })
    let strict = Checker.check(
      text: base.replacingOccurrences(
        of: "  target: label\n", with: "  target: label\n  missing_target: error\n"),
      file: dir + "/s.yaml")
    let error = try #require(strict.diagnostics.first { $0.severity == .error })
    #expect(error.message.contains("target cell is missing"))
    #expect(error.location == SourceLocation(file: dir + "/d.csv", line: 3, column: 10))
  }
}
