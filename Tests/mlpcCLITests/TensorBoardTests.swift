// TensorBoard event files of runs, read back by TensorBoard's own EventAccumulator
// (scripts/check_tensorboard.py): every metric of metrics.jsonl at its epoch, the settings, the
// HParams session and how it ended; after interruptions and resumes (InterruptTests) too.

import Foundation
import MLPCTestSupport
import Testing

@testable import MLPCore

/// Checks the event files of `run` against its metrics.jsonl with TensorBoard's reader; `status`
/// is the HParams session's end (success, failure) or `running`.
func expectTensorBoardEqualsMetrics(
  _ run: String, status: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
) throws {
  guard let python = CommandRunner.pythonWith(["tensorboard"]) else { return }
  let result = try CommandRunner.run(
    python, [Repository.path("scripts/check_tensorboard.py"), run, "--status", status])
  #expect(result.status == 0, "\(result.stderr)", sourceLocation: sourceLocation)
}

private func eventFiles(_ run: String) -> [String] {
  ((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? [])
    .filter { $0.hasPrefix("events.out.tfevents.") }
}

@Suite struct TensorBoardTests {
  @Test func aRunWritesEveryMetricOnce() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let run = try CommandRunner.mlpc([
      "run", "specs/iris.yaml", "--quiet", "--out", dir + "/run", "--epochs", "30",
    ])
    try #require(run.status == 0, "\(run.stderr)")
    #expect(eventFiles(dir + "/run").count == 1)
    try expectTensorBoardEqualsMetrics(dir + "/run", status: "success")
    // Continued past its end: the first session's end is dropped, epochs 31-40 follow.
    let more = try CommandRunner.mlpc([
      "run", "--resume", dir + "/run", "--epochs", "40", "--quiet",
    ])
    try #require(more.status == 0, "\(more.stderr)")
    #expect(EpochReport.lines(ofFile: dir + "/run/metrics.jsonl").map(\.epoch) == Array(1...40))
    #expect(eventFiles(dir + "/run").count == 1)
    try expectTensorBoardEqualsMetrics(dir + "/run", status: "success")
  }

  @Test func aDivergedRunEndsItsSessionAsFailed() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try divergingSpec.write(toFile: dir + "/spec.yaml", atomically: true, encoding: .utf8)
    let result = try CommandRunner.mlpc([
      "run", dir + "/spec.yaml", "--out", dir + "/run", "--quiet",
    ])
    #expect(result.status == 1)
    try expectTensorBoardEqualsMetrics(dir + "/run", status: "failure")
  }

  @Test func theSpecCanTurnItOff() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = try CommandRunner.mlpc([
      "run", "specs/xor.yaml", "--quiet", "--out", dir + "/run", "--set",
      "training.tensorboard=false",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(eventFiles(dir + "/run").isEmpty)
    #expect(!result.stdout.contains("tfevents"))
  }

  /// Each combination of a sweep is a run with its own event file and HParams session, so
  /// TensorBoard pointed at the sweep lists them with their settings.
  @Test func aSweepsRunsAreSessions() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let sweep = try CommandRunner.mlpc([
      "sweep", "specs/xor.yaml", "--grid", "training.learning_rate=0.5,0.1", "--out",
      dir + "/sweep",
    ])
    try #require(sweep.status == 0, "\(sweep.stderr)")
    let runs = try FileManager.default.contentsOfDirectory(atPath: dir + "/sweep").filter {
      FileManager.default.fileExists(atPath: dir + "/sweep/\($0)/metrics.jsonl")
    }
    #expect(runs.count == 2)
    for run in runs { try expectTensorBoardEqualsMetrics(dir + "/sweep/" + run, status: "success") }
    // TensorBoard itself, asked through its HParams plugin's API (what the HParams tab shows).
    guard let python = CommandRunner.pythonWith(["tensorboard"]) else { return }
    let tab = try CommandRunner.run(
      python, [Repository.path("scripts/check_hparams.py"), dir + "/sweep"])
    #expect(tab.status == 0, "\(tab.stderr)")
    #expect(tab.stdout.contains("lists 2 sessions"))
  }
}

@Suite struct EventFramingTests {
  /// CRC-32C's check value (RFC 3720's "123456789") and a frame's masked CRCs, as TensorFlow's
  /// record writer computes them.
  @Test func crcAndFraming() {
    #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    let frame = TFRecord.frame(Array("abc".utf8))
    #expect(frame.count == 8 + 4 + 3 + 4)
    #expect(TFRecord.records(frame + frame).count == 2)
    // A torn or corrupted last record is dropped, the ones before it kept.
    #expect(TFRecord.records(frame + frame.dropLast(2)).count == 1)
    var corrupt = frame + frame
    corrupt[frame.count + 13] ^= 1
    #expect(TFRecord.records(corrupt).count == 1)
  }
}
