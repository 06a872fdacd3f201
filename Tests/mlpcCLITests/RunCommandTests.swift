// `mlpc run`, `plan`, `gradcheck` and `schema` end to end.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct RunCommandTests {
  @Test func runWritesModelMetricsAndSummary() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = dir + "/run"
    let result = try CommandRunner.mlpc(["run", "specs/xor.yaml", "--out", out, "--epochs", "300"])
    #expect(result.status == 0, "\(result.stderr)")
    let lines = result.stdout.split(separator: "\n")
    #expect(lines.filter { $0.hasPrefix("epoch ") }.count == 300)
    #expect(lines.contains { $0.hasPrefix("300 epochs, train loss") })
    let metrics = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(
      separator: "\n")
    #expect(metrics.count == 300)
    let summary =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any]
    #expect(summary?["epochs_completed"] as? Int == 300)
    #expect(summary?["status"] as? String == "completed")
    let model = try #require(
      Safetensors.decode(try Data(contentsOf: URL(fileURLWithPath: out + "/model.safetensors"))))
    #expect(
      model.tensors.map(\.name) == ["layer1.bias", "layer1.weight", "layer2.bias", "layer2.weight"])
    #expect(model.tensors.first { $0.name == "layer1.weight" }?.shape == [8, 2])
    #expect(model.metadata["format"] == "mlpc-3")
    let loaded = try Model.load(out)
    #expect(loaded.description.classes == ["0", "1"])
    #expect(loaded.network.layers.map(\.units) == [8, 2])
  }

  @Test func sameSeedTwiceGivesByteIdenticalModels() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (a, b) = (dir + "/a", dir + "/b")
    #expect(try CommandRunner.mlpc(["run", "specs/iris.yaml", "--quiet", "--out", a]).status == 0)
    #expect(try CommandRunner.mlpc(["run", "specs/iris.yaml", "--quiet", "--out", b]).status == 0)
    let modelA = try Data(contentsOf: URL(fileURLWithPath: a + "/model.safetensors"))
    let modelB = try Data(contentsOf: URL(fileURLWithPath: b + "/model.safetensors"))
    #expect(modelA == modelB)
    #expect(modelA.count > 100)
  }

  @Test func invalidSpecDoesNotRun() throws {
    let result = try CommandRunner.mlpc([
      "run", "specs/invalid/E011-input-mismatch.yaml", "--out", "/nonexistent/x",
    ])
    #expect(result.status == 1)
    #expect(result.stderr.contains("error[E011]"))
  }

  @Test func divergenceNamesEpochAndStep() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec =
      "task: regression\ninput: 1\nlayers: [{units: 8, activation: relu}, {units: 1}]\ndata: {generator: sine}\ntraining: {learning_rate: 1e30}\n"
    try spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    let result = try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--quiet"])
    #expect(result.status == 1)
    // The second update sends a weight to infinity; the guard after each update names it.
    #expect(
      result.stderr.contains(
        "parameter 'layer1.weight' became NaN or infinite at epoch 1, step 2; training stopped, no model written"
      ), "\(result.stderr)")
  }

  @Test func planTable() throws {
    let result = try CommandRunner.mlpc(["plan", "specs/iris.yaml"])
    #expect(result.status == 0)
    #expect(
      result.stdout.hasPrefix(
        "plan 'iris': 4 → 16 → 3, batch 16, loss cross_entropy, optimizer sgd\n"))
    #expect(result.stdout.contains("hidden  16×4  16  tanh            80      2,560      2,304\n"))
    #expect(result.stdout.contains("total                            131\n"))
    let json = try CommandRunner.mlpc(["plan", "--format", "json", "specs/iris.yaml"])
    let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
    #expect(object?["parameters"] as? Int == 131)
    #expect(object?["widths"] as? [Int] == [4, 16, 3])
  }

  @Test func gradcheckPasses() throws {
    let result = try CommandRunner.mlpc(["gradcheck", "specs/spirals.yaml"])
    #expect(result.status == 0, "\(result.stdout)")
    #expect(result.stdout.hasSuffix("gradient check passed (tolerance 0.001)\n"))
    let strict = try CommandRunner.mlpc(["gradcheck", "specs/spirals.yaml", "--tolerance", "1e-12"])
    #expect(strict.status == 1)
  }

  @Test func schemaIsJSON() throws {
    let result = try CommandRunner.mlpc(["schema"])
    #expect(result.status == 0)
    let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    #expect(object?["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
  }

  /// Every shipped spec validates against `mlpc schema` with an independent validator
  /// (check-jsonschema, installed by .ci/run); in CI a missing validator is a failure.
  @Test func shippedSpecsValidateAgainstSchema() throws {
    guard let validator = CommandRunner.which("check-jsonschema") else {
      #expect(ProcessInfo.processInfo.environment["CI"] == nil, "check-jsonschema is not installed")
      return
    }
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try CommandRunner.mlpc(["schema"]).stdout.write(
      toFile: dir + "/schema.json", atomically: true, encoding: .utf8)
    let specs = Repository.specs(in: "specs")
    let valid = try CommandRunner.run(validator, ["--schemafile", dir + "/schema.json"] + specs)
    #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")
    let invalid = try CommandRunner.run(
      validator, ["--schemafile", dir + "/schema.json", "specs/invalid/E003-unknown-key.yaml"])
    #expect(invalid.status != 0)
  }
}

@Suite struct SchemaFileTests {
  @Test func checkedInSchemaMatchesCommand() throws {
    let printed = try CommandRunner.mlpc(["schema"]).stdout
    let file = try String(
      contentsOfFile: Repository.path("docs/spec-v1.schema.json"), encoding: .utf8)
    #expect(printed == file, "run: mlpc schema > docs/spec-v1.schema.json")
  }
}

@Suite struct RunDirectoryTests {
  @Test func specNameStaysInsideTheRunsFolder() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec =
      "name: ../../escape\ntask: classification\ninput: 2\nlayers: [{units: 2, activation: softmax}]\ndata: {generator: xor}\ntraining: {epochs: 1}\n"
    try spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    let result = try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--quiet"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(FileManager.default.fileExists(atPath: dir + "/runs/_.._escape/model.safetensors"))
  }

  /// The default directory is never reused: a second run goes to runs/<name>-2; an explicit
  /// --out that exists is refused (the first run untouched) unless --force replaces it.
  @Test func repeatedRunsNeverMix() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec =
      "name: xor\ntask: classification\ninput: 2\nlayers: [{units: 4, activation: tanh}, {units: 2, activation: softmax}]\ndata: {generator: xor}\ntraining: {epochs: 3}\n"
    try spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    for _ in 0..<2 {
      #expect(try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--quiet"]).status == 0)
    }
    #expect(FileManager.default.fileExists(atPath: dir + "/runs/xor/model.safetensors"))
    #expect(FileManager.default.fileExists(atPath: dir + "/runs/xor-2/model.safetensors"))
    let out = dir + "/runs/xor"
    let before = try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.jsonl"))
    let refused = try CommandRunner.mlpc(["run", dir + "/spec.yaml", "--out", out, "--epochs", "5"])
    #expect(refused.status == 1 && refused.stderr.contains("exists; use --force"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.jsonl")) == before)
    let forced = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--out", out, "--epochs", "5", "--force", "--quiet",
    ])
    #expect(forced.status == 0)
    #expect(EpochReport.lines(ofFile: out + "/metrics.jsonl").count == 5)
  }

  /// A second run into a directory being written fails at once; the first finishes untouched.
  @Test func concurrentRunIntoOneDirectoryFails() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let first = Process()
    first.executableURL = URL(fileURLWithPath: CommandRunner.mlpc)
    first.arguments = [
      "run", "specs/digits.yaml", "--epochs", "40", "--quiet", "--out", dir + "/run",
    ]
    first.currentDirectoryURL = URL(fileURLWithPath: Repository.root)
    first.standardOutput = FileHandle.nullDevice
    try first.run()
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline,
      !FileManager.default.fileExists(atPath: dir + "/.run.lock")
    {
      Thread.sleep(forTimeInterval: 0.01)
    }
    let second = try CommandRunner.mlpc(["run", "specs/iris.yaml", "--out", dir + "/run"])
    #expect(second.status == 1 && second.stderr.contains("another mlpc run is writing"))
    first.waitUntilExit()
    #expect(first.terminationStatus == 0)
    let summary =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: dir + "/run/summary.json"))) as? [String: Any]
    #expect(summary?["name"] as? String == "digits")
    #expect(EpochReport.lines(ofFile: dir + "/run/metrics.jsonl").count == 40)
  }

  /// A diverged run keeps its metrics and says why, and writes no model of non-finite weights.
  @Test func divergedRunWritesNoModel() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try divergingSpec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    let result = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--out", dir + "/run", "--quiet",
    ])
    #expect(result.status == 1)
    let summary =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: dir + "/run/summary.json"))) as? [String: Any]
    #expect(summary?["status"] as? String == "diverged at epoch 1 step 2")
    #expect(!FileManager.default.fileExists(atPath: dir + "/run/model.safetensors"))
    #expect(FileManager.default.fileExists(atPath: dir + "/run/spec.yaml"))
  }
}
