// Signals and resume, end to end: a run stopped by SIGINT, a double SIGINT, SIGTERM or SIGHUP at
// a random point saves a checkpoint, the model and a summary and exits 128 + the signal; resumed,
// it ends with a model.safetensors byte-identical to an uninterrupted run's, with sgd, momentum
// and adam, with and without shuffling, and with a moving average of the weights.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

struct InterruptCase: CustomTestStringConvertible, Sendable {
  var signals: [Int32]
  var optimizer: String
  var shuffle: Bool
  var ema: Double? = nil
  var testDescription: String {
    "\(signals.map { $0 == SIGINT ? "INT" : $0 == SIGTERM ? "TERM" : "HUP" }.joined(separator: "+")) \(optimizer) shuffle \(shuffle)\(ema.map { " ema \($0)" } ?? "")"
  }

  static let all = [
    InterruptCase(signals: [SIGINT], optimizer: "sgd", shuffle: true),
    InterruptCase(signals: [SIGINT, SIGINT], optimizer: "momentum", shuffle: false),
    InterruptCase(signals: [SIGTERM], optimizer: "adam", shuffle: true),
    InterruptCase(signals: [SIGHUP], optimizer: "adam", shuffle: false),
    InterruptCase(signals: [SIGTERM], optimizer: "momentum", shuffle: true),
    InterruptCase(signals: [SIGINT], optimizer: "adam", shuffle: true, ema: 0.99),
  ]

  var spec: String {
    """
    task: classification
    input: 4
    layers: [{units: 16, activation: relu}, {units: 3, activation: softmax}]
    data: {generator: blobs, samples: 20000, dimensions: 4, validation_split: 0.1}
    training: {epochs: 12, batch_size: 8, optimizer: \(optimizer), learning_rate: 0.01, shuffle: \(shuffle), seed: 5\(ema.map { ", ema: \($0)" } ?? "")}
    """
  }
}

@Suite(.serialized) struct InterruptTests {
  @Test(arguments: InterruptCase.all)
  func interruptedAndResumedEqualsUninterrupted(_ c: InterruptCase) throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try c.spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    let full = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--quiet", "--out", dir + "/full",
    ])
    try #require(full.status == 0, "\(full.stderr)")

    // Wait for the first finished epoch in the staging directory, then signal at a random point.
    let process = try startRun(dir, until: 1)
    Thread.sleep(forTimeInterval: Double.random(in: 0...0.2))
    for s in c.signals { kill(process.processIdentifier, s) }
    process.waitUntilExit()
    let status = process.terminationStatus
    let summary =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: dir + "/cut/summary.json"))) as? [String: Any]
    if status == 0 {
      Issue.record("the run ended before the signal; nothing was interrupted")
      return
    }
    #expect(status == 128 + c.signals[0])
    #expect((summary?["status"] as? String)?.hasPrefix("interrupted at epoch") == true)
    #expect(FileManager.default.fileExists(atPath: dir + "/cut/model.safetensors"))

    let resumed = try CommandRunner.mlpc(["run", "--resume", dir + "/cut", "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/full/model.safetensors"))
    let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/cut/model.safetensors"))
    #expect(a == b, "\(summary?["status"] ?? "")")
    let lines = EpochReport.lines(ofFile: dir + "/cut/metrics.jsonl").map(\.epoch)
    #expect(lines == Array(1...12))
    // The TensorBoard series goes on from the interruption: each epoch once, equal to its line.
    try expectTensorBoardEqualsMetrics(dir + "/cut", status: "success")
  }

  /// A run killed outright (SIGKILL: no chance to save) leaves its staging directory with the
  /// checkpoints it wrote; `--resume` finds it, says so, and ends with the uninterrupted model.
  @Test func aKilledRunIsResumedFromItsCheckpoints() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec = InterruptCase(signals: [], optimizer: "adam", shuffle: true).spec
      .replacingOccurrences(of: "seed: 5}", with: "seed: 5, checkpoint: {every: 1}}")
    try spec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    let full = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--quiet", "--out", dir + "/full",
    ])
    try #require(full.status == 0, "\(full.stderr)")
    let process = try startRun(dir, until: 2)
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    try #require(process.terminationReason == .uncaughtSignal, "the run ended before the kill")
    #expect(!FileManager.default.fileExists(atPath: dir + "/cut"))
    let resumed = try CommandRunner.mlpc(["run", "--resume", dir + "/cut", "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("left by a run that was killed"))
    let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/full/model.safetensors"))
    let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/cut/model.safetensors"))
    #expect(a == b)
    // Epochs trained after the last checkpoint were written by the killed run and again by the
    // resumed one: the event file holds each once.
    try expectTensorBoardEqualsMetrics(dir + "/cut", status: "success")
    let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
      $0.contains(".staging-")
    }
    #expect(left.isEmpty, "\(left)")
  }

  /// Starts `mlpc run dir/spec.yaml --out dir/cut` and returns once `epochs` epochs are written
  /// in its staging directory (or after a minute).
  private func startRun(_ dir: String, until epochs: Int) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandRunner.mlpc)
    process.arguments = ["run", dir + "/spec.yaml", "--quiet", "--out", dir + "/cut"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline, stagedEpochs(dir, "cut") < epochs {
      Thread.sleep(forTimeInterval: 0.01)
    }
    return process
  }

  /// Lines in the metrics.jsonl of `name`'s staging directory (a run in progress).
  private func stagedEpochs(_ dir: String, _ name: String) -> Int {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    guard let staging = entries.first(where: { $0.hasPrefix(".\(name).staging-") }) else {
      return 0
    }
    return EpochReport.lines(ofFile: dir + "/" + staging + "/metrics.jsonl").count
  }
}
