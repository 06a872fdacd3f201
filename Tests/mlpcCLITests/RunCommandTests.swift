// `mlpc run`, `plan`, `gradcheck` and `schema` end to end.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct RunCommandTests {
  @Test func runWritesModelMetricsAndSummary() throws {
    let out = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: out) }
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
    #expect(model.metadata["format"] == "mlpc-2")
    let loaded = try Model.load(out)
    #expect(loaded.description.classes == ["0", "1"])
    #expect(loaded.network.layers.map(\.units) == [8, 2])
  }

  @Test func sameSeedTwiceGivesByteIdenticalModels() throws {
    let (a, b) = (Repository.temporaryDirectory(), Repository.temporaryDirectory())
    defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
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
    #expect(result.stderr.contains("loss became NaN or infinite at epoch 1, step"))
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

@Suite struct InterruptTests {
  @Test func ctrlCSavesWhatWasTrained() throws {
    let out = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: out) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandRunner.mlpc)
    process.arguments = ["run", "specs/digits.yaml", "--epochs", "100000", "--quiet", "--out", out]
    process.currentDirectoryURL = URL(fileURLWithPath: Repository.root)
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let metrics = out + "/metrics.jsonl"
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline, ((try? String(contentsOfFile: metrics, encoding: .utf8)) ?? "").isEmpty
    {
      Thread.sleep(forTimeInterval: 0.05)
    }
    process.interrupt()
    let stopBy = Date().addingTimeInterval(30)
    while process.isRunning, Date() < stopBy { Thread.sleep(forTimeInterval: 0.05) }
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      Issue.record("mlpc did not stop within 30 s of SIGINT")
    }
    process.waitUntilExit()
    #expect(process.terminationStatus == 130)
    let summary =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any]
    #expect((summary?["status"] as? String)?.hasPrefix("interrupted at epoch") == true)
    #expect(FileManager.default.fileExists(atPath: out + "/model.safetensors"))
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
}
