// predict and evaluate read their CSV file by the checker's rules and with its diagnostics:
// duplicate columns, NUL bytes, unterminated quotes, ragged rows, text that is not UTF-8 and
// files without rows are located errors with exit status 1 and no output, never a silent
// prediction; kept columns are copied as written.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct PredictReadingTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var bytes: [UInt8]
    var expected: String
    var line: Int?
    var arguments: [String] = []
    var testDescription: String { name }
  }

  static func text(_ s: String) -> [UInt8] { Array(s.utf8) }

  static let cases: [Case] = [
    Case(
      name: "a feature column named twice", bytes: text("a,b,a\n1,2,3\n"),
      expected: "column name 'a' appears twice", line: 1),
    Case(
      name: "a NUL byte inside a number", bytes: text("a,b\n1,5.1") + [0] + text("xyz\n"),
      expected: "NUL byte", line: 2),
    Case(
      name: "an unterminated quote", bytes: text("a,b\n1,2\n\"3,4\n5,6\n"),
      expected: "unterminated quote", line: 3),
    Case(
      name: "a row with more fields than the header", bytes: text("a,b\n1,2\n1,2,3\n"),
      expected: "fields but the header has", line: 3),
    Case(
      name: "a row with fewer fields than the header", bytes: text("a,b,c\n1,2,3\n1,2\n"),
      expected: "fields but the header has", line: 3),
    Case(
      name: "Latin-1 bytes in a kept column",
      bytes: text("a,b,city\n1,2,M") + [0xFC] + text("nchen\n"),
      expected: "not valid UTF-8", line: 2, arguments: ["--keep", "city"]),
    Case(
      name: "a header and no rows", bytes: text("a,b\n"), expected: "has a header but no rows",
      line: 1),
    Case(name: "an empty file", bytes: [], expected: "is empty"),
    Case(
      name: "a number beyond single precision", bytes: text("a,b\n1,1e39\n"),
      expected: "outside single precision's range", line: 2),
  ]

  static func trainedRun() throws -> String {
    let dir = Repository.temporaryDirectory()
    try "a,b,label\n0,0,x\n0,1,y\n1,0,y\n1,1,x\n".write(
      toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    try """
    task: classification
    input: 2
    layers: [{units: 4, activation: tanh}, {units: 2, activation: softmax}]
    data: {train: d.csv, target: label}
    training: {epochs: 2}
    """.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    let result = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--quiet", "--out", dir + "/run",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    return dir
  }

  @Test func badFilesAreLocatedErrors() throws {
    let dir = try Self.trainedRun()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for c in Self.cases {
      try Data(c.bytes).write(to: URL(fileURLWithPath: dir + "/in.csv"))
      for command in ["predict", "evaluate"] {
        if command == "evaluate" && !c.arguments.isEmpty { continue }
        // evaluate needs the label column: append it to every line that has content.
        if command == "evaluate" {
          let lines = String(decoding: c.bytes, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false)
          guard !c.bytes.contains(0), c.name != "a feature column named twice" else { continue }
          let labelled = lines.enumerated().map { i, line in
            line.isEmpty ? "" : line + (i == 0 ? ",label" : ",x")
          }.joined(separator: "\n")
          try Data(labelled.utf8).write(to: URL(fileURLWithPath: dir + "/in.csv"))
        }
        let result = try CommandRunner.mlpc(
          [command, dir + "/run", dir + "/in.csv"] + c.arguments)
        #expect(result.status == 1, "\(c.name), \(command): \(result.stderr)")
        #expect(result.stderr.contains(c.expected), "\(c.name), \(command): \(result.stderr)")
        if let line = c.line {
          #expect(
            result.stderr.contains("in.csv:\(line):"), "\(c.name), \(command): \(result.stderr)")
        }
        #expect(result.stdout.isEmpty, "\(c.name), \(command): \(result.stdout)")
      }
    }
  }

  @Test func keptColumnsAreCopiedAsWritten() throws {
    let dir = try Self.trainedRun()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "a,b,note\n0,1,\"Zürich, \"\"old\"\" town\"\n1,1,  spaced  \n".write(
      toFile: dir + "/in.csv", atomically: true, encoding: .utf8)
    let result = try CommandRunner.mlpc([
      "predict", dir + "/run", dir + "/in.csv", "--keep", "note", "--format", "jsonl",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let notes = result.stdout.split(separator: "\n").compactMap {
      (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: String]
    }.compactMap { $0["note"] }
    #expect(notes == ["Zürich, \"old\" town", "  spaced  "])
  }
}
