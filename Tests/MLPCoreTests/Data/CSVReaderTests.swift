// CSV reading: RFC 4180 quoting, CRLF line ends, blank lines, located errors, number parsing.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct CSVReaderTests {
  func read(_ text: String, _ columns: CSVColumns, width: Int) throws -> (
    CSVContents, [Diagnostic], [String]
  ) {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/d.csv"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    var diagnostics: [Diagnostic] = []
    let reader = try #require(CSVReader(path: path, diagnostics: &diagnostics, reference: nil))
    let header = reader.header(diagnostics: &diagnostics)
    let rows = reader.rows(columns, width: width, diagnostics: &diagnostics)
    return (
      rows,
      diagnostics.map {
        var d = $0
        d.location?.file = "d.csv"
        return d
      }, header
    )
  }

  @Test func quotingCRLFAndBlankLines() throws {
    let text =
      "\"a\",\"b, with comma\",label\r\n1.5,\"2\",\"x \"\"quoted\"\"\"\r\n\r\n\n-3e2,  4 ,\"multi\nline\"\r\n"
    let (rows, diagnostics, header) = try read(
      text, CSVColumns(features: [0, 1], label: 2), width: 3)
    #expect(diagnostics.isEmpty, "\(diagnostics)")
    #expect(header == ["a", "b, with comma", "label"])
    #expect(rows.rows == 2)
    #expect(rows.features == [1.5, 2, -300, 4])
    #expect(rows.labels == ["x \"quoted\"", "multi\nline"])
    #expect((0..<2).map { rows.labelLocation($0)?.line } == [2, 5])
  }

  @Test func badCellsAreLocated() throws {
    let text = "a,b\n1,2\n3,abc\n,5\n7\n"
    let (_, diagnostics, _) = try read(
      text, CSVColumns(features: [0], numericTargets: [1]), width: 2)
    let found = diagnostics.map { "\($0.location!.line):\($0.location!.column) \($0.message)" }
    #expect(
      found == [
        "3:3 'abc' is not a number in a numeric column",
        "4:1 empty cell in a numeric column",
        "5:1 row has 1 fields but the header has 2",
      ])
  }

  /// A file over 1 MiB is parsed in one piece per core: rows, values, labels, line numbers and
  /// diagnostics must come out as if read in one go, whatever lands on which side of a cut. The
  /// same file with one quoted field is read in one piece (quotes may hide line breaks).
  @Test(arguments: [false, true]) func largeFilesReadLikeSmallOnes(quoted: Bool) throws {
    var text = "id,a,b,c,target,label\n"
    var line = 1
    var expectedFeatures: [Float] = []
    var expectedTargets: [Float] = []
    var expectedLabels: [String] = []
    var labelLines: [Int] = []
    var problems: [String] = []
    for r in 0..<30_000 {
      let end = r % 5 == 0 ? "\r\n" : "\n"
      line += 1
      if r % 997 == 0 {  // a blank line first
        text += end
        line += 1
      }
      if r == 20_000 {  // a short row: reported, skipped
        text += "x,1,2\n"
        problems.append("\(line):1 row has 3 fields but the header has 6")
        line += 1
      }
      let a = "\(r).25"
      let b = r % 1000 == 1 ? " -\(r).5 " : "-\(r).5"  // spaces: the field-by-field path
      let c = r % 1000 == 2 ? "1234567890123456789012e-20" : "\(r % 7)e-3"  // > 18 digits
      let t = r == 15_000 ? "oops" : "\(r * 3)"
      let label = quoted && r == 100 ? "\"class \(r % 3)\"" : "class \(r % 3)"
      text += "id\(r),\(a),\(b),\(c),\(t),\(label)\(end)"
      expectedFeatures += [Float(a)!, Float(b.trimmingCharacters(in: .whitespaces))!, Float(c)!]
      expectedTargets.append(r == 15_000 ? .nan : Float(t)!)
      expectedLabels.append("class \(r % 3)")
      labelLines.append(line)
      if r == 15_000 {
        let column = "id\(r),\(a),\(b),\(c),".count + 1
        problems.append("\(line):\(column) 'oops' is not a number in a numeric column")
      }
    }
    #expect(text.utf8.count > 1 << 20)
    let (rows, diagnostics, _) = try read(
      text, CSVColumns(features: [1, 2, 3], numericTargets: [4], label: 5), width: 6)
    // First mismatches, not whole arrays, so a failure stays readable.
    func firstDifference<T>(_ a: [T], _ b: [T], _ same: (T, T) -> Bool) -> Int? {
      a.count != b.count ? -1 : a.indices.first { !same(a[$0], b[$0]) }
    }
    #expect(rows.rows == 30_000)
    #expect(firstDifference(rows.features, expectedFeatures, ==) == nil)
    #expect(
      firstDifference(rows.targets, expectedTargets) { $0 == $1 || ($0.isNaN && $1.isNaN) } == nil)
    #expect(firstDifference(rows.labels, expectedLabels, ==) == nil)
    let lines = (0..<30_000).map { rows.labelLocation($0)!.line }
    #expect(firstDifference(lines, labelLines, ==) == nil)
    let found = diagnostics.map { "\($0.location!.line):\($0.location!.column) \($0.message)" }
    #expect(found == problems.sorted { $0.prefix(5) < $1.prefix(5) })
  }

  @Test func columnsCountUnicodeScalars() throws {
    let (_, diagnostics, _) = try read("é,b\n\"é\",x\n", CSVColumns(features: [0, 1]), width: 2)
    #expect(diagnostics.map { $0.location!.column } == [1, 5])
  }

  @Test func numbersParseLikeDouble() throws {
    let values = [
      "0", "-0.5", "+12", "1e-3", "3.25E+2", ".5", "5.", "123456789012345678901234",
      "1.7976931348623157e308", "0.1",
    ]
    let text = "v\n" + values.joined(separator: "\n") + "\n"
    let (rows, diagnostics, _) = try read(text, CSVColumns(features: [0]), width: 1)
    #expect(diagnostics.count == 1, "1.79e308 overflows Float: \(diagnostics)")
    for (value, parsed) in zip(values, rows.features) where value != "1.7976931348623157e308" {
      #expect(parsed == Float(Double(value)!), "\(value)")
    }
  }

  @Test func datasetSplitIsSeededAndDisjoint() {
    let data = Dataset(
      features: (0..<20).map(Float.init), targets: [Float](repeating: 0, count: 20), inputs: 1,
      outputs: 1, labels: nil)
    let (a, b) = data.split(validationFraction: 0.25, seed: 4)
    #expect(a.count == 15 && b.count == 5)
    #expect(Set(a.features + b.features) == Set(data.features))
    #expect(data.split(validationFraction: 0.25, seed: 4).validation.features == b.features)
  }

  @Test func standardizerUsesTrainingStatistics() {
    var data = Dataset(
      features: [1, 10, 3, 10, 5, 10], targets: [0, 0, 0], inputs: 2, outputs: 1, labels: nil)
    let s = Standardizer(fitting: data)
    #expect(s.mean == [3, 10])
    #expect(abs(s.std[0] - (8.0 / 3).squareRoot()) < 1e-6)
    #expect(s.std[1] == 1, "a constant column is left unscaled")
    s.apply(&data)
    #expect(abs(data.features[0] + data.features[4]) < 1e-6)
  }
}

@Suite struct CSVByteOrderMarkTests {
  @Test func byteOrderMarkIsSkipped() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/bom.csv"
    try Data([0xEF, 0xBB, 0xBF] + Array("label,x\n1,2.5\n".utf8)).write(
      to: URL(fileURLWithPath: path))
    var diagnostics: [Diagnostic] = []
    let reader = try #require(CSVReader(path: path, diagnostics: &diagnostics, reference: nil))
    #expect(reader.header(diagnostics: &diagnostics) == ["label", "x"])
    let rows = reader.rows(CSVColumns(features: [1], label: 0), width: 2, diagnostics: &diagnostics)
    #expect(rows.features == [2.5] && rows.labels == ["1"])
    #expect(rows.labelLocation(0)?.column == 1)
    #expect(diagnostics.isEmpty)
  }
}
