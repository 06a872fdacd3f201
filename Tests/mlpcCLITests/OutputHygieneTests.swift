// Names from a spec reach the terminal and CI logs escaped: a spec name with terminal escapes or
// a newline followed by `::error` prints no escape character and starts no annotation line from
// `run`, `plan` or `sweep`; the learning curves stay well-formed XML with finite coordinates for
// extreme values.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

@Suite struct OutputHygieneTests {
  static let spec = """
    name: "evil\\e[31m\\n::error::injected\\u202e"
    task: classification
    input: 2
    layers: [{units: 4, activation: tanh}, {units: 2, activation: softmax}]
    data: {generator: xor, samples: 40}
    training: {epochs: 2}
    """

  static func clean(_ output: String) -> Bool {
    !output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E }
      && !output.split(separator: "\n").contains { $0.hasPrefix("::error") }
  }

  @Test(arguments: ["run", "plan", "sweep"])
  func aHostileNameIsPrintedEscaped(_ command: String) throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Self.spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    let arguments =
      switch command {
      case "run": ["run", dir + "/spec.yaml"]
      case "plan": ["plan", dir + "/spec.yaml"]
      default: ["sweep", dir + "/spec.yaml", "--grid", "training.seed=1,2", "--epochs", "1"]
      }
    let result = try CommandRunner.mlpc(arguments)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(Self.clean(result.stdout + result.stderr), "\(result.stdout)")
    #expect(result.stdout.contains("\\u{1b}"), "the name is shown, escaped")
  }

  @Test func curvesStayWellFormedWithExtremeValues() throws {
    var lines: [EpochReport] = []
    for (epoch, loss) in [(1, 1e308), (2, -1e308), (3, 0.5)] {
      lines.append(
        EpochReport(
          epoch: epoch, trainLoss: loss, validation: Evaluation(loss: loss, accuracy: 0.5),
          test: nil, seconds: 0, steps: 1))
    }
    let svg = Curves.svg([("run\u{1}\u{1B}<x>", lines)])
    #expect(!svg.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
    #expect(!svg.contains("nan") && !svg.contains("inf"))
    let parser = XMLParser(data: Data(svg.utf8))
    #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
  }
}
