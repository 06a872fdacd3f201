// Every shipped example spec is valid; every spec in specs/invalid/ fails with the code its file
// name starts with (and warnings-only files pass without errors).

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct ShippedSpecTests {
  @Test(arguments: Repository.specs(in: "specs"))
  func shippedSpecIsValid(_ path: String) {
    let result = Checker.check(file: Repository.path(path))
    #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
    #expect(result.spec != nil)
  }

  @Test(arguments: Repository.specs(in: "specs/invalid"))
  func invalidSpecReportsItsCode(_ path: String) {
    let file = path.split(separator: "/").last!
    let code = String(file.prefix(4))
    let result = Checker.check(file: Repository.path(path))
    #expect(result.diagnostics.map(\.code.rawValue).contains(code), "\(result.diagnostics)")
    #expect(
      result.diagnostics.allSatisfy { $0.code.rawValue == code },
      "only \(code) expected: \(result.diagnostics)")
    #expect((result.spec == nil) == code.hasPrefix("E"))
  }

  @Test func thereIsAnInvalidSpecPerCode() {
    let codes = Set(
      Repository.specs(in: "specs/invalid").map { String($0.split(separator: "/").last!.prefix(4)) }
    )
    // Notes say what mlpc decided; they make no spec invalid.
    #expect(codes == Set(DiagnosticCode.allCases.filter { $0.severity != .note }.map(\.rawValue)))
  }
}

@Suite struct UserMistakeTests {
  @Test func directoryIsNotASpec() {
    let result = Checker.check(file: Repository.path("specs"))
    #expect(result.diagnostics.map(\.code.rawValue) == ["E018"])
    #expect(result.diagnostics[0].message.contains("is a directory"))
  }

  @Test func semicolonSeparatedFileGetsADelimiterHint() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "a;b;label\n1;2;x\n3;4;y\n".write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    try
      "task: classification\ninput: 2\nlayers: [{units: 2, activation: softmax}]\ndata: {train: d.csv, target: label}\n"
      .write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
    let result = Checker.check(file: dir + "/s.yaml")
    #expect(result.diagnostics.map(\.code.rawValue) == ["E012"])
    #expect(
      result.diagnostics[0].help
        == "the header looks ';'-separated; set 'delimiter: \";\"' in 'data'")
  }

  @Test func oneBasedLabelsGetAHint() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "a,label\n1,1\n2,2\n3,3\n".write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    try
      "task: classification\ninput: 1\nlayers: [{units: 3, activation: softmax}]\ndata: {train: d.csv, target: label}\n"
      .write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
    let result = Checker.check(file: dir + "/s.yaml")
    #expect(result.diagnostics.map(\.code.rawValue) == ["E013"])
    #expect(result.diagnostics[0].location?.line == 4)
    #expect(
      result.diagnostics[0].help
        == "the labels run from 1 to 3: class ids start at 0, so subtract 1 from each, or read them as names with 'labels: names' under 'data'"
    )
  }

  /// With `labels: names`, whole-number labels are names like any others, numbered in numeric
  /// order (ties by their text), and the model predicts them as written.
  @Test func wholeNumberLabelsCanBeNames() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "a,label\n1,10\n2,3\n3,4\n4,10\n5,03\n".write(
      toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    for (labels, units) in [("names", 4), ("ids", 11)] {
      try
        "task: classification\ninput: 1\nlayers: [{units: \(units), activation: softmax}]\ndata: {train: d.csv, target: label, labels: \(labels)}\n"
        .write(toFile: dir + "/s.yaml", atomically: true, encoding: .utf8)
      let result = Checker.check(file: dir + "/s.yaml")
      #expect(!result.diagnostics.contains { $0.severity == .error }, "\(result.diagnostics)")
      let spec = try #require(result.spec)
      if labels == "names" {
        #expect(spec.data.classNames == ["03", "3", "4", "10"])
        // Rows 10, 3, 4, 10, 03: classes 3, 1, 2, 3, 0.
        #expect(spec.data.train.labels == [3, 1, 2, 3, 0])
      } else {
        // As ids, 3 and 03 are one class and the classes are 0 … 10.
        #expect(spec.data.classNames == (0...10).map(String.init))
        #expect(spec.data.train.labels == [10, 3, 4, 10, 3])
      }
    }
  }
}
