// A data file truncated by another program while mlpc has it mapped: the reads past its new end
// would raise SIGBUS; they are an error that says what happened instead, for prediction and for
// the checker's reader alike.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct TruncatedFileTests {
  static func bigCSV(_ path: String) throws {
    var text = "x,y\n"
    for i in 0..<200_000 { text += "\(i % 7),\(i % 3)\n" }
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  }

  @Test func predictionSaysTheFileChanged() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Self.bigCSV(dir + "/d.csv")
    var diagnostics: [Diagnostic] = []
    let reader = try #require(
      CSVReader(path: dir + "/d.csv", diagnostics: &diagnostics, reference: nil))
    let header = reader.header(diagnostics: &diagnostics)
    #expect(truncate(dir + "/d.csv", 4096) == 0)
    let predictor = Predictor(try Model.decode(ModelBytes().data, file: "m.safetensors"))
    var rows = 0
    let ok = predictor.stream(
      reader, features: [0, 1], width: header.count, diagnostics: &diagnostics
    ) { _, _ in rows += 1 }
    #expect(!ok)
    #expect(diagnostics.count == 1)
    #expect(diagnostics.first?.message.contains("became shorter while it was read") == true)
  }

  @Test func theCheckersReaderSaysTheFileChanged() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Self.bigCSV(dir + "/d.csv")
    var diagnostics: [Diagnostic] = []
    let reader = try #require(
      CSVReader(path: dir + "/d.csv", diagnostics: &diagnostics, reference: nil))
    _ = reader.header(diagnostics: &diagnostics)
    #expect(truncate(dir + "/d.csv", 4096) == 0)
    _ = reader.rows(CSVColumns(features: [0], label: 1), width: 2, diagnostics: &diagnostics)
    #expect(reader.changedWhileRead)
    #expect(!reader.stillIntact(diagnostics: &diagnostics))
  }
}
