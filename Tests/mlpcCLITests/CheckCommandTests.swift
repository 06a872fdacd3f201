// `mlpc check` end to end: exact text output and exit codes, JSON and GitHub formats, usage errors.

import Foundation
import MLPCTestSupport
import Testing

@Suite struct CheckCommandTests {
  @Test func validSpecsExitZero() throws {
    let specs = Repository.specs(in: "specs")
    let result = try CommandRunner.mlpc(["check"] + specs)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout == "\(specs.count) specs checked, no problems\n")
  }

  @Test func exactTextOutput() throws {
    let result = try CommandRunner.mlpc(
      ["check", "specs/invalid/E012-unknown-column.yaml"], environment: ["NO_COLOR": "1"])
    #expect(result.status == 1)
    #expect(
      result.stdout == """
        specs/invalid/E012-unknown-column.yaml:6:47: error[E012]: no column 'specie' in the data file
          |
        6 | data: {train: ../data/iris-train.csv, target: specie}
          |                                               ^
          note: specs/data/iris-train.csv:1:1: the header has columns 'sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species'
          |
        1 | sepal_length,sepal_width,petal_length,petal_width,species
          | ^
          help: did you mean 'species'?
        1 spec checked: 1 error, 0 warnings

        """)
  }

  @Test func warningsPassUnlessStrict() throws {
    let spec = "specs/invalid/W002-ignored-setting.yaml"
    #expect(try CommandRunner.mlpc(["check", spec]).status == 0)
    #expect(try CommandRunner.mlpc(["check", "--strict", spec]).status == 1)
  }

  @Test func jsonFormat() throws {
    let result = try CommandRunner.mlpc([
      "check", "--format", "json", "specs/xor.yaml", "specs/invalid/E007-bad-size.yaml",
    ])
    #expect(result.status == 1)
    let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    let report = try #require(object)
    #expect(report["version"] as? Int == 1)
    let files = try #require(report["files"] as? [[String: Any]])
    #expect(files.map { $0["valid"] as? Bool } == [true, false])
    let diagnostics = try #require(report["diagnostics"] as? [[String: Any]])
    #expect(diagnostics.count == 1)
    #expect(diagnostics[0]["code"] as? String == "E007")
    let location = try #require(diagnostics[0]["location"] as? [String: Any])
    #expect(location["line"] as? Int == 4 && location["column"] as? Int == 13)
    #expect((report["summary"] as? [String: Int]) == ["errors": 1, "warnings": 0])
  }

  /// Validity comes from the check result, not from where diagnostics point: a missing spec, a
  /// directory and a spec whose CSV has errors are all invalid.
  @Test func jsonValidityFollowsTheCheck() throws {
    let result = try CommandRunner.mlpc([
      "check", "--format", "json", "specs/no-such-spec.yaml", "specs",
      "specs/invalid/E019-bad-data.yaml", "specs/iris.yaml",
    ])
    #expect(result.status == 1)
    let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    let files = try #require(object?["files"] as? [[String: Any]])
    #expect(files.map { $0["valid"] as? Bool } == [false, false, false, true])
  }

  /// `run --format json` writes one document to standard error, with several diagnostics or
  /// with an error that happened while training.
  @Test func runWritesOneJSONDocument() throws {
    let dir = NSTemporaryDirectory() + "mlpc-json-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let invalid = """
      task: classification
      input: 0
      layers: [{units: 0}]
      data: {generator: xor}
      """
    for (name, text, diagnostics, errors) in [
      ("invalid", invalid, 2, 0), ("diverging", divergingSpec, 0, 1),
    ] {
      try text.write(toFile: "\(dir)/\(name).yaml", atomically: true, encoding: .utf8)
      let result = try CommandRunner.mlpc([
        "run", "--format", "json", "--quiet", "\(dir)/\(name).yaml", "--out", "\(dir)/run",
      ])
      #expect(result.status == 1)
      let object = try JSONSerialization.jsonObject(with: Data(result.stderr.utf8))
      let report = try #require(object as? [String: Any], "\(name): \(result.stderr)")
      #expect((report["diagnostics"] as? [Any])?.count == diagnostics, "\(name)")
      #expect((report["errors"] as? [Any])?.count == errors, "\(name)")
    }
  }

  @Test func githubFormat() throws {
    let result = try CommandRunner.mlpc([
      "check", "--format", "github", "specs/invalid/E017-hyperparameter.yaml",
    ])
    #expect(result.status == 1)
    #expect(
      result.stdout
        == "::error file=specs/invalid/E017-hyperparameter.yaml,line=7,col=27,title=mlpc E017::'training.learning_rate' must be a finite number greater than 0, found -0.1%0Ahelp: try 0.01\n"
        + "1 spec checked: 1 error, 0 warnings\n"
    )
    // Success says so in the log too.
    let good = try CommandRunner.mlpc([
      "check", "--format", "github", "--strict", "specs/iris.yaml", "specs/xor.yaml",
    ])
    #expect(good.status == 0 && good.stdout == "2 specs checked, no problems\n", "\(good.stdout)")
  }

  @Test func usageErrorsExitTwo() throws {
    #expect(try CommandRunner.mlpc(["check"]).status == 2)
    #expect(try CommandRunner.mlpc(["check", "--format", "xml", "specs/xor.yaml"]).status == 2)
    #expect(try CommandRunner.mlpc(["frobnicate"]).status == 2)
  }

  @Test func missingSpecFileIsAnError() throws {
    let result = try CommandRunner.mlpc(["check", "specs/nope.yaml"])
    #expect(result.status == 1)
    #expect(result.stdout.contains("error[E018]: spec file 'specs/nope.yaml' does not exist"))
  }

  @Test func colourOnlyWhenAsked() throws {
    let plain = try CommandRunner.mlpc(["check", "specs/invalid/E007-bad-size.yaml"])
    #expect(!plain.stdout.contains("\u{1B}["))
    let coloured = try CommandRunner.mlpc(["check", "--color", "specs/invalid/E007-bad-size.yaml"])
    #expect(coloured.stdout.contains("\u{1B}[1;31merror[E007]"))
  }
}
