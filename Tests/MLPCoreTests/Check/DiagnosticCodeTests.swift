// One marked spec per diagnostic code: the diagnostic must carry that code and point exactly at
// the `↓` marker (in the spec, or in the CSV file beside it).

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

/// A spec (and optionally a CSV file `data.csv` beside it) with one `↓` marker.
struct DiagnosticCase: CustomTestStringConvertible, Sendable {
  var code: String
  var spec: String
  var csv: String? = nil
  var testDescription: String { code }
}

let xorLayers = """
  layers:
    - {units: 4, activation: tanh}
    - {units: 2, activation: softmax}
  """

let diagnosticCases: [DiagnosticCase] = [
  .init(code: "E001", spec: "task: classification\ninput: 2\nlayers: [{units: 2}\n↓"),
  .init(
    code: "E002",
    spec: "task: classification\ninput: 2\n\(xorLayers)\n↓input: 2\ndata: {generator: xor}\n"),
  .init(
    code: "E003",
    spec: "task: classification\ninput: 2\n\(xorLayers)\ndata: {generator: xor}\n↓epochs: 3\n"),
  .init(
    code: "E004", spec: "task: classification\ninput: ↓two\n\(xorLayers)\ndata: {generator: xor}\n"),
  .init(code: "E005", spec: "↓task: classification\ninput: 2\ndata: {generator: xor}\n"),
  .init(
    code: "E006",
    spec:
      "task: classification\ninput: 2\nlayers:\n  - {units: 4, activation: ↓rleu}\n  - {units: 2, activation: softmax}\ndata: {generator: xor}\n"
  ),
  .init(
    code: "E007",
    spec:
      "task: classification\ninput: 2\nlayers:\n  - {units: ↓0, activation: relu}\n  - {units: 2, activation: softmax}\ndata: {generator: xor}\n"
  ),
  .init(
    code: "E008",
    spec:
      "task: classification\ninput: 2\nlayers:\n  ↓- {units: 4000000, activation: relu}\n  - {units: 4000000, activation: relu}\n  - {units: 2, activation: softmax}\ndata: {generator: xor}\n"
  ),
  .init(
    code: "E009",
    spec:
      "task: classification\ninput: 2\nlayers:\n  - {units: 4, activation: tanh}\n  - {units: ↓3, activation: softmax}\ndata: {generator: xor}\n"
  ),
  .init(
    code: "E010",
    spec:
      "task: regression\ninput: 1\nlayers:\n  - {units: 4, activation: tanh}\n  - {units: ↓2}\ndata: {generator: sine}\n"
  ),
  .init(
    code: "E011", spec: "task: classification\ninput: ↓3\n\(xorLayers)\ndata: {generator: xor}\n"),
  .init(
    code: "E012",
    spec: "task: classification\ninput: 2\n\(xorLayers)\ndata: {train: data.csv, target: ↓lable}\n",
    csv: "a,b,label\n1,2,0\n"),
  .init(
    code: "E013",
    spec: "task: classification\ninput: 2\n\(xorLayers)\ndata: {train: data.csv, target: label}\n",
    csv: "a,b,label\n1,2,0\n3,4,↓2\n"),
  .init(
    code: "E014",
    spec:
      "task: classification\ninput: 2\nlayers:\n  - {units: 4, activation: ↓softmax}\n  - {units: 2, activation: softmax}\ndata: {generator: xor}\n"
  ),
  .init(
    code: "E015",
    spec:
      "task: regression\ninput: 1\nlayers:\n  - {units: 1}\nloss: ↓cross_entropy\ndata: {generator: sine}\n"
  ),
  .init(
    code: "E016",
    spec:
      "task: classification\ninput: 2\n\(xorLayers)\nloss: ↓binary_cross_entropy\ndata: {generator: xor}\n"
  ),
  .init(
    code: "E017",
    spec:
      "task: classification\ninput: 2\n\(xorLayers)\ndata: {generator: xor}\ntraining:\n  batch_size: ↓0\n"
  ),
  .init(
    code: "E018",
    spec:
      "task: classification\ninput: 2\n\(xorLayers)\ndata: {train: ↓missing.csv, target: label}\n"),
  .init(
    code: "E019",
    spec:
      "task: classification\ninput: 2\n\(xorLayers)\ndata: {train: data.csv, target: label, features: [a, b]}\n",
    csv: "a,b,label\n1,2,0\n3,↓x4,1\n"),
  .init(
    code: "E020",
    spec: "version: ↓2\ntask: classification\ninput: 2\n\(xorLayers)\ndata: {generator: xor}\n"),
  .init(code: "E021", spec: "↓- task\n- input\n"),
  .init(
    code: "E022",
    spec: "task: classification\ninput: 2\n\(xorLayers)\ndata: {train: data.csv, target: label}\n",
    csv: "↓a,b,label\n"),
  .init(
    code: "E024",
    spec:
      "task: classification\ninput: 2\nlayers:\n  - {name: ↓\"\", units: 4}\n  - {units: 2, activation: softmax}\ndata: {generator: xor}\n"
  ),
  .init(
    code: "E025",
    spec:
      "task: classification\ninput: 2\nlayers:\n  - {name: ↓layer2, units: 4}\n  - {units: 2, activation: softmax}\ndata: {generator: xor}\n"
  ),
  .init(
    code: "E023",
    spec:
      "task: classification\ninput: 2\n\(xorLayers)\ndata: {train: data.csv, target: label, generator: ↓xor}\n",
    csv: "a,b,label\n1,2,0\n"),
  .init(
    code: "W001",
    spec: "task: classification\ninput: 2\n\(xorLayers)\nloss: ↓mse\ndata: {generator: xor}\n"),
  .init(
    code: "W002",
    spec:
      "task: classification\ninput: 2\n\(xorLayers)\ndata: {generator: xor}\ntraining: {optimizer: sgd, momentum: ↓0.5}\n"
  ),
  .init(
    code: "W003",
    spec:
      "task: classification\ninput: 2\nlayers:\n  - {units: 4, activation: tanh}\n  - {units: ↓3, activation: softmax}\ndata: {train: data.csv, target: label}\n",
    csv: "a,b,label\n1,2,0\n3,4,1\n"),
  .init(
    code: "W004",
    spec:
      "task: classification\ninput: 2\n\(xorLayers)\ndata: {train: data.csv, test: data.csv, target: label}\ntraining:\n  early_stopping: {monitor: ↓test_loss}\n",
    csv: "a,b,label\n1,2,0\n3,4,1\n"),

  .init(
    code: "N001",
    spec:
      "task: classification\ninput: 3\n\(xorLayers)\ndata: {train: ↓data.csv, target: label}\n",
    csv: "a,colour,label\n1,red,0\n3,blue,1\n"),
]

@Suite struct DiagnosticCodeTests {
  @Test(arguments: diagnosticCases)
  func reportsCodeAtMarker(_ c: DiagnosticCase) throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec = MarkedSpec(c.spec)
    let specPath = dir + "/spec.yaml"
    try spec.text.write(toFile: specPath, atomically: true, encoding: .utf8)
    var expected = spec.markers.first.map {
      SourceLocation(file: specPath, line: $0.line, column: $0.column)
    }
    if let csv = c.csv {
      let marked = MarkedSpec(csv)
      try marked.text.write(toFile: dir + "/data.csv", atomically: true, encoding: .utf8)
      if let m = marked.markers.first {
        expected = SourceLocation(file: dir + "/data.csv", line: m.line, column: m.column)
      }
    }
    let result = Checker.check(file: specPath)
    let found = result.diagnostics.filter { $0.code.rawValue == c.code }
    #expect(!found.isEmpty, "no \(c.code) in \(result.diagnostics)")
    #expect(
      found.contains { $0.location == expected },
      "\(c.code) at \(found.map(\.location)) not \(String(describing: expected))")
    if !c.code.hasPrefix("E") { #expect(!result.diagnostics.hasErrors, "\(result.diagnostics)") }
  }

  /// docs/diagnostics.md lists every code with the enum's title, and nothing else.
  @Test func docsTableMatchesTheCodes() throws {
    let docs = try String(contentsOfFile: Repository.path("docs/diagnostics.md"), encoding: .utf8)
    let rows = docs.split(separator: "\n").filter {
      $0.hasPrefix("| E") || $0.hasPrefix("| W") || $0.hasPrefix("| N")
    }
    let documented = rows.map { row in
      row.split(separator: "|").prefix(2).map { $0.trimmingCharacters(in: .whitespaces) }
    }
    #expect(documented.map { $0[0] } == DiagnosticCode.allCases.map(\.rawValue).sorted())
    for pair in documented {
      let code = try #require(DiagnosticCode(rawValue: pair[0]))
      #expect(code.title == pair[1], "\(code.rawValue)")
      #expect(
        code.severity
          == (pair[0].hasPrefix("W") ? .warning : pair[0].hasPrefix("N") ? .note : .error))
    }
  }

  @Test func everyCodeHasACase() {
    let tested = Set(diagnosticCases.map(\.code))
    let all = Set(DiagnosticCode.allCases.map(\.rawValue))
    #expect(all.subtracting(tested).isEmpty, "untested codes: \(all.subtracting(tested).sorted())")
  }
}
