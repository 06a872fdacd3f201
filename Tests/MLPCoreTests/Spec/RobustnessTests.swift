// Hostile input: malformed YAML, binary garbage, empty files, huge files, deep nesting and alias
// bombs must each end in a clear diagnostic (or a result) within seconds, never a crash.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct RobustnessTests {
  func check(_ text: String) -> (result: CheckResult, seconds: Double) {
    let start = Date()
    let result = checkSpec(text)
    return (result, Date().timeIntervalSince(start))
  }

  func checkFile(_ bytes: Data) throws -> (result: CheckResult, seconds: Double) {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try bytes.write(to: URL(fileURLWithPath: dir + "/spec.yaml"))
    let start = Date()
    let result = Checker.check(file: dir + "/spec.yaml")
    return (result, Date().timeIntervalSince(start))
  }

  @Test func malformedYAML() {
    let (result, seconds) = check("task: [classification\ninput: {2\n  - :\n")
    #expect(result.diagnostics.map(\.code.rawValue) == ["E001"])
    #expect(result.diagnostics[0].location != nil)
    #expect(seconds < 5)
  }

  @Test func binaryGarbage() throws {
    var rng = SeededGenerator(seed: 1)
    let bytes = Data((0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    let (result, seconds) = try checkFile(bytes)
    #expect(result.diagnostics.map(\.code.rawValue) == ["E021"])
    #expect(result.spec == nil)
    #expect(seconds < 5)
  }

  @Test func emptyFile() throws {
    let (result, _) = try checkFile(Data())
    #expect(result.diagnostics.map(\.code.rawValue) == ["E021"])
    #expect(result.diagnostics[0].message == "spec file is empty")
  }

  @Test func commentsOnlyFileIsEmpty() {
    #expect(check("# nothing here\n").result.diagnostics.map(\.code.rawValue) == ["E021"])
  }

  @Test func fiftyMegabyteFile() throws {
    let line = Array("# padding padding padding padding padding padding padding padding\n".utf8)
    var bytes = [UInt8]()
    bytes.reserveCapacity(50 << 20)
    while bytes.count < 50 << 20 { bytes += line }
    let (result, seconds) = try checkFile(Data(bytes))
    #expect(result.diagnostics.map(\.code.rawValue) == ["E021"])
    #expect(result.diagnostics[0].message.contains("larger than"))
    #expect(seconds < 5)
  }

  @Test func deepNesting() {
    let deep =
      "task: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    let (result, seconds) = check(deep)
    #expect(result.diagnostics.hasErrors)
    #expect(result.diagnostics.contains { $0.code.rawValue == "E001" })
    #expect(seconds < 5)
  }

  @Test func aliasBomb() {
    var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for i in 1..<30 {
      text +=
        "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ")
        + "]\n"
    }
    text += "task: classification\ninput: *a29\n"
    let (result, seconds) = check(text)
    // Refused before composing: the 17th alias is on line 3.
    #expect(result.diagnostics.map(\.code.rawValue) == ["E021"])
    #expect(result.diagnostics.first?.location?.line == 3)
    #expect(seconds < 1)
  }

  @Test func aliasAsMappingKey() {
    let (result, seconds) = check("x: &k task\n*k : classification\ninput: 2\n")
    #expect(result.diagnostics.map(\.code.rawValue) == ["E021"])
    #expect(result.diagnostics.first?.message.contains("mapping key") == true)
    #expect(seconds < 1)
  }

  @Test func duplicateKeyFloodEndsQuickly() {
    let text = "task: classification\ninput: 2\n" + String(repeating: "k: 1\n", count: 12_000)
    let (result, seconds) = check(text)
    #expect(result.diagnostics.filter { $0.code.rawValue == "E002" }.count == 9)
    #expect(seconds < 5)  // about 0.8 s in a debug build, 0.4 s in release (was 50 s)
  }

  /// Found by the FuzzSpec target: a layer that is not a mapping left an empty network that
  /// the arena layout trapped on.
  @Test func layerThatIsNotAMapping() {
    let (result, _) = check("version: 2\ntask: islafcsication\ninput: 2\nlayers:\n  - r}\n")
    #expect(result.diagnostics.contains { $0.code.rawValue == "E004" && $0.location?.line == 5 })
  }

  @Test func byteOrderMarkIsSkipped() {
    let (result, _) = check(
      "\u{FEFF}task: classification\ninput: 2\nlayers: [{units: 2, activation: softmax}]\ndata: {generator: xor}\n"
    )
    #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
  }

  @Test func tenErrorsInOneRun() {
    let spec = """
      version: 3
      task: clasification
      input: 0
      layers:
        - {units: -1, activation: tanhh}
        - {units: 2.5, activation: softmax, colour: red}
      loss: hinge
      data: {generator: xor, samples: 0}
      training:
        epochs: 0
        batch_size: 0
        learning_rate: .nan
        optimizer: sgdd
        momentum: 2
      """
    let errors = check(spec).result.diagnostics.filter { $0.severity == .error }
    #expect(errors.count >= 10, "\(errors)")
    #expect(Set(errors.map(\.code.rawValue)).count >= 6)
    let lines = errors.compactMap { $0.location?.line }
    #expect(lines == lines.sorted(), "diagnostics are sorted by location")
  }

  @Test func duplicateKeysAreAllReportedWithOtherErrors() {
    let spec = """
      task: classification
      input: 2
      input: 3
      layers:
        - {units: 4, activation: tanh}
        - {units: 2, activation: softmax}
      data: {generator: xor}
      training: {epochs: 2, epochs: 3, batch_size: 0}
      """
    let diagnostics = check(spec).result.diagnostics
    #expect(diagnostics.filter { $0.code.rawValue == "E002" }.count == 2)
    #expect(diagnostics.contains { $0.code.rawValue == "E017" })
  }

  /// Renamed duplicates are skipped by location: a key spelled like the filler is still unknown.
  @Test func keySpelledLikeTheDuplicateFillerIsUnknown() {
    let spec = """
      task: classification
      task: classification
      input: 2
      "\u{A4}bogus": 1
      layers: [{units: 2, activation: softmax}]
      data: {generator: xor}
      """
    let codes = check(spec).result.diagnostics.map(\.code.rawValue)
    #expect(codes == ["E002", "E003"])
  }
}
