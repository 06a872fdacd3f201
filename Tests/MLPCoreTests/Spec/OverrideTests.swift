// `--set PATH=VALUE` overrides: applied to the spec tree before the checker reads it, new keys and
// sections created, list entries addressed by index, and every problem located in its argument.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct OverrideTests {
  let text = """
    task: classification
    input: 2
    layers:
      - {units: 8, activation: tanh}
      - {units: 3, activation: softmax}
    data: {generator: blobs, classes: 3, samples: 60}
    training:
      epochs: 5
    """

  func check(_ overrides: [String]) -> CheckResult {
    Checker.check(
      text: text, file: Repository.path("specs/o.yaml"), overrides: SpecOverride.list(overrides))
  }

  @Test func valuesAreReplacedAndAdded() throws {
    let result = check([
      "training.epochs=7", "training.learning_rate=0.3", "layers[0].units=32",
      "layers[0].activation=relu", "training.schedule.type=cosine", "data.validation_split=0.25",
      "layers[1]={units: 3, activation: softmax, name: out}",
    ])
    let spec = try #require(result.spec, "\(result.diagnostics)")
    #expect(spec.training.epochs == 7 && spec.training.learningRate == 0.3)
    #expect(spec.layers[0].units == 32 && spec.layers[0].activation == .relu)
    #expect(spec.layers[1].name == "out")
    #expect(spec.training.schedule.kind == .cosine)
    #expect(spec.data.validation != nil)
  }

  @Test func overrideValuesHaveTheSpecFilesAliasAndSizeLimits() throws {
    // Seventeen doubling aliases would describe 2^17 copies; the spec file's limit (16) applies.
    var bomb = "training.extra={a0: &a0 [x, x]"
    for i in 1...17 { bomb += ", a\(i): &a\(i) [*a\(i - 1), *a\(i - 1)]" }
    bomb += "}"
    let aliased = check([bomb])
    #expect(aliased.spec == nil)
    #expect(
      aliased.diagnostics.contains { $0.message.contains("aliases") }, "\(aliased.diagnostics)")
    #expect(aliased.diagnostics.first?.location?.file == "--set #1")
    // The limit counts all overrides together.
    let spread = check((0..<17).map { "training.k\($0)=*a" })
    #expect(spread.diagnostics.contains { $0.message.contains("aliases") })
    let huge = check(["training.extra=" + String(repeating: "x", count: 70_000)])
    #expect(huge.diagnostics.contains { $0.code == .tooLarge }, "\(huge.diagnostics)")
  }

  @Test func tenThousandOverridesAreAppliedAndLocated() throws {
    // Linear in their number: each value is composed on its own and moved to its line, not
    // composed below a copy of every line before it (that took minutes for 10,000).
    let started = Date()
    let overrides = (1...10_000).map { "training.epochs=\($0)" } + ["layers[0].units=0"]
    let result = check(overrides)
    #expect(Date().timeIntervalSince(started) < 60)
    let bad = try #require(
      result.diagnostics.first { $0.code == .badSize }, "\(result.diagnostics)")
    #expect(bad.location == SourceLocation(file: "--set #10001", line: 1, column: 17))
  }

  @Test func theLastOverrideOfAPathWins() throws {
    let spec = try #require(check(["training.epochs=7", "training.epochs=9"]).spec)
    #expect(spec.training.epochs == 9)
  }

  @Test func problemsPointIntoTheArgument() throws {
    let result = check([
      "training.epochs=3", "training.learnin_rate=0.1", "layers[4].units=2", "input=-1",
      "no-equals-sign", "training.epochs.x=1",
    ])
    #expect(result.spec == nil)
    let d = result.diagnostics
    let typo = try #require(d.first { $0.message == "unknown key 'training.learnin_rate'" })
    #expect(typo.location == SourceLocation(file: "--set #2", line: 1, column: 10))
    #expect(typo.help == "did you mean 'learning_rate'?")
    let index = try #require(d.first { $0.message.contains("'layers[4]' does not exist") })
    #expect(index.location == SourceLocation(file: "--set #3", line: 1, column: 8))
    let range = try #require(d.first { $0.message.hasPrefix("'input' must be") })
    #expect(range.location == SourceLocation(file: "--set #4", line: 1, column: 7))
    #expect(
      d.contains { $0.message.contains("needs PATH=VALUE") && $0.location?.file == "--set #5" })
    #expect(d.contains { $0.message.contains("not a mapping") && $0.location?.file == "--set #6" })
  }

  @Test func grammarErrorsInValuesAreLocated() {
    let result = check(["layers[0]={units: 3"])
    #expect(result.spec == nil)
    #expect(
      result.diagnostics.contains {
        $0.message.contains("not valid YAML") && $0.location?.file == "--set #1"
      })
  }
}
