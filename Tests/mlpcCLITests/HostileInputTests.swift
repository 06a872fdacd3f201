// Hostile inputs and faults, end to end through the `mlpc` binary: each case gives a spec (and
// data files) meant to break mlpc and asserts the exit status, the diagnostic code and line, that
// it ends within a bound, and that nothing is echoed raw. Categories: hangs, crashes, silent
// wrong results, leaked content and terminal injection, poor messages.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

struct HostileCase: CustomTestStringConvertible, Sendable {
  var name: String
  var spec: String
  /// Data files written beside the spec: name → bytes.
  var files: [String: [UInt8]] = [:]
  var command = "check"
  var status: Int32 = 1
  /// The code expected in the output, and the line it points at (nil: any).
  var code: String
  var line: Int? = nil
  var seconds = 5.0
  var testDescription: String { name }

  static let layers =
    "task: classification\ninput: 2\nlayers: [{units: 4, activation: tanh}, {units: 2, activation: softmax}]\n"

  static func csv(_ text: String) -> [UInt8] { Array(text.utf8) }

  static let all: [HostileCase] = [
    // Hangs.
    HostileCase(
      name: "alias bomb",
      spec: "a: &a [x, x, x, x, x, x, x, x]\n"
        + (1..<12).map {
          "a\($0): &a\($0) [*a\($0 - 1 == 0 ? "" : String($0 - 1)), *a\($0 - 1 == 0 ? "" : String($0 - 1))]"
        }.joined(separator: "\n") + "\n",
      code: "E021", seconds: 2),
    HostileCase(
      name: "alias as a key", spec: "x: &k task\n*k : classification\n", code: "E021", line: 2),
    HostileCase(
      name: "duplicate-key flood", spec: layers + String(repeating: "k: 1\n", count: 10_000),
      code: "E002", seconds: 5),
    // Silent wrong results.
    HostileCase(
      name: "beta2 that is 1 in Float",
      spec: layers + "data: {generator: xor}\ntraining: {optimizer: adam, beta2: 0.99999999999}\n",
      code: "E017", line: 5),
    HostileCase(
      name: "epsilon that is 0 in Float",
      spec: layers + "data: {generator: xor}\ntraining: {optimizer: adam, epsilon: 1e-50}\n",
      code: "E017", line: 5),
    HostileCase(
      name: "learning rate that is 0 in Float",
      spec: layers + "data: {generator: xor}\ntraining: {learning_rate: 1e-46}\n", code: "E017",
      line: 5),
    HostileCase(
      name: "weight decay that overflows Float",
      spec: layers + "data: {generator: xor}\ntraining: {weight_decay: 1e300}\n", code: "E017",
      line: 5),
    HostileCase(
      name: "learning rate that diverges: no model",
      spec: layers
        + "data: {generator: xor}\ntraining: {learning_rate: 1e38, epochs: 5}\n",
      command: "run", code: "diverged_because"),
    HostileCase(
      name: "NUL inside a number", spec: layers + "data: {train: d.csv, target: y}\n",
      files: ["d.csv": csv("a,b,y\n1") + [0] + csv("xyz,2,0\n3,4,1\n")], code: "E019", line: 2),
    HostileCase(
      name: "unterminated quote", spec: layers + "data: {train: d.csv, target: y}\n",
      files: ["d.csv": csv("a,b,y\n1,2,\"0\n3,4,1\n5,6,0\n")], code: "E019", line: 2),
    HostileCase(
      name: "number beyond Float", spec: layers + "data: {train: d.csv, target: y}\n",
      files: ["d.csv": csv("a,b,y\n4e38,2,0\n3,4,1\n")], code: "E019", line: 2),
    HostileCase(
      name: "duplicate header names", spec: layers + "data: {train: d.csv, target: y}\n",
      files: ["d.csv": csv("a,a,y\n1,2,0\n3,4,1\n")], code: "E019", line: 1),
    HostileCase(
      name: "labels that are not UTF-8", spec: layers + "data: {train: d.csv, target: y}\n",
      files: ["d.csv": csv("a,b,y\n1,2,") + [0xFF] + csv("\n3,4,") + [0xFE] + csv("\n")],
      code: "E019", line: 2),
    HostileCase(
      name: "target among the features",
      spec: layers + "data: {train: d.csv, target: y, features: [a, y]}\n",
      files: ["d.csv": csv("a,b,y\n1,2,0\n3,4,1\n")], code: "E023", line: 4),
    HostileCase(
      name: "one-unit softmax",
      spec:
        "task: classification\ninput: 2\nlayers: [{units: 1, activation: softmax}]\ndata: {generator: xor}\n",
      code: "E015", line: 3),
    HostileCase(
      name: "test class never seen in training",
      spec:
        "task: classification\ninput: 2\nlayers: [{units: 3, activation: softmax}]\ndata: {train: d.csv, test: t.csv, target: y}\n",
      files: ["d.csv": csv("a,b,y\n1,2,0\n3,4,1\n"), "t.csv": csv("a,b,y\n1,2,2\n")],
      code: "E013", line: 2),
    // Crashes instead of errors.
    HostileCase(
      name: "blank-line flood", spec: layers + "data: {train: d.csv, target: y}\n",
      files: ["d.csv": csv("a,b,y\n" + String(repeating: "\n", count: 2_000_000))],
      code: "E022"),
    HostileCase(
      name: "generator too large for memory",
      spec:
        "task: classification\ninput: 16777216\nlayers: [{units: 2, activation: softmax}]\ndata: {generator: blobs, samples: 16777216, dimensions: 16777216, classes: 2}\n",
      code: "E008", line: 4),
    // Leaked content and terminal injection.
    HostileCase(
      name: "a /proc file as data",
      spec: layers + "data: {train: /proc/self/environ, target: y}\n", code: "E022"),
    HostileCase(
      name: "escape sequences in a key",
      spec: layers + "data: {generator: xor}\n\"\\e]0;owned\\a\\e[2J\": 1\n", code: "E003", line: 5),
    // Messages.
    HostileCase(
      name: "byte-order mark", spec: "\u{FEFF}" + layers + "data: {generator: xor}\n",
      status: 0, code: ""),
  ]
}

@Suite struct HostileInputTests {
  @Test(arguments: HostileCase.all)
  func endsInALocatedErrorQuickly(_ c: HostileCase) throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try c.spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    for (name, bytes) in c.files {
      try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
    }
    let arguments =
      c.command == "run"
      ? ["run", dir + "/spec.yaml", "--quiet", "--out", dir + "/run"]
      : ["check", "--format", "json", dir + "/spec.yaml"]
    let start = Date()
    let result = try CommandRunner.mlpc(arguments)
    let seconds = Date().timeIntervalSince(start)
    #expect(result.status == c.status, "\(result.stderr)")
    #expect(seconds < c.seconds, "took \(seconds) s")
    let output = result.stdout + result.stderr
    #expect(!output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 })
    #expect(!output.contains("PATH="), "environment leaked")
    if c.command == "run" {
      let summary = try String(contentsOfFile: dir + "/run/summary.json", encoding: .utf8)
      #expect(summary.contains(c.code))
      #expect(!FileManager.default.fileExists(atPath: dir + "/run/model.safetensors"))
      return
    }
    guard !c.code.isEmpty else { return }
    let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    let diagnostics = report?["diagnostics"] as? [[String: Any]] ?? []
    let matching = diagnostics.filter { $0["code"] as? String == c.code }
    #expect(!matching.isEmpty, "\(result.stdout)")
    if let line = c.line {
      let lines = matching.compactMap { ($0["location"] as? [String: Any])?["line"] as? Int }
      #expect(lines.contains(line), "\(lines)")
    }
  }

  @Test func fifoIsNotReadForever() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    #expect(mkfifo(dir + "/spec.yaml", 0o644) == 0)
    let start = Date()
    let result = try CommandRunner.mlpc(["check", dir + "/spec.yaml"])
    #expect(result.status == 1 && result.stdout.contains("named pipe"))
    #expect(Date().timeIntervalSince(start) < 5)
  }

  @Test func negativeNumericOptionSaysWhatIsWrong() throws {
    let result = try CommandRunner.mlpc(["run", "specs/xor.yaml", "--epochs", "-5"])
    #expect(result.status == 2 && result.stderr.contains("--epochs must be between 1 and"))
  }
}

/// Under an address-space limit (ulimit -v) too small for the data, the run ends in an E008
/// naming the limit, not in a crash while allocating; and the run directory is not touched.
@Test func addressSpaceLimitIsAnE008() throws {
  let dir = Repository.temporaryDirectory()
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let spec =
    "task: classification\ninput: 10\nlayers: [{units: 3, activation: softmax}]\ndata: {generator: blobs, samples: 16000000, dimensions: 10}\n"
  try spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
  let result = try CommandRunner.run(
    "/bin/sh",
    [
      "-c", "ulimit -v 600000; exec \"$0\" run \"$1\" --quiet --out \"$2\"", CommandRunner.mlpc,
      dir + "/spec.yaml", dir + "/run",
    ])
  #expect(result.status == 1, "\(result.stderr)")
  #expect(result.stderr.contains("error[E008]") && result.stderr.contains("ulimit -v"))
  #expect(!FileManager.default.fileExists(atPath: dir + "/run"))
}

/// A test target of 1e30 makes the test loss infinite: training goes on, and the metrics line
/// holds null with the key listed under `non_finite` instead of an empty file.
@Test func nonFiniteMetricsAreWrittenAsNull() throws {
  let dir = Repository.temporaryDirectory()
  defer { try? FileManager.default.removeItem(atPath: dir) }
  try "a,y\n1,1\n2,2\n3,3\n".write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
  try "a,y\n1,1e30\n".write(toFile: dir + "/t.csv", atomically: true, encoding: .utf8)
  let spec =
    "task: regression\ninput: 1\nlayers: [{units: 1}]\ndata: {train: d.csv, test: t.csv, target: y}\ntraining: {epochs: 2}\n"
  try spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
  let result = try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--quiet", "--out", dir + "/run"])
  #expect(result.status == 0, "\(result.stderr)")
  let lines = EpochReport.lines(ofFile: dir + "/run/metrics.jsonl")
  #expect(lines.count == 2)
  #expect(lines.first?.test?.loss.isNaN == true)
  let text = try String(contentsOfFile: dir + "/run/metrics.jsonl", encoding: .utf8)
  let first = try JSONSerialization.jsonObject(with: Data(text.prefix { $0 != "\n" }.utf8))
  #expect(((first as? [String: Any])?["non_finite"] as? [String]) == ["test.loss"])
}

/// A header cell of a megabyte is not echoed whole.
@Test func hugeHeaderCellIsCut() throws {
  let dir = Repository.temporaryDirectory()
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let cell = String(repeating: "x", count: 1 << 20)
  try "a,\(cell)\n1,2\n".write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
  try (HostileCase.layers + "data: {train: d.csv, target: y}\n").write(
    toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
  let result = try CommandRunner.mlpc(["check", dir + "/spec.yaml"])
  #expect(result.status == 1)
  #expect(result.stdout.count + result.stderr.count < 20_000)
}
