// `mlpc run --set` and `mlpc sweep`: overrides checked like the spec and kept for resume; a sweep
// of four combinations trains four runs and ranks them by the validation metric.

import Foundation
import MLPCTestSupport
import MLPCore
import Testing

@Suite struct SweepCommandTests {
  @Test func aSweepOfFourCombinationsRanksFourRuns() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = dir + "/sweep"
    let result = try CommandRunner.mlpc([
      "sweep", "specs/iris.yaml", "--grid", "training.learning_rate=0.2, 0.005",
      "--grid", "layers[0].units=4,16", "--set", "data.validation_split=0.25", "--epochs", "15",
      "--out", out,
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let runs = try FileManager.default.contentsOfDirectory(atPath: out).filter {
      $0.hasPrefix("0")
    }.sorted()
    #expect(
      runs == [
        "01-learning_rate=0.2-units=4", "02-learning_rate=0.2-units=16",
        "03-learning_rate=0.005-units=4", "04-learning_rate=0.005-units=16",
      ])
    for run in runs {
      let config =
        try JSONSerialization.jsonObject(
          with: Data(contentsOf: URL(fileURLWithPath: "\(out)/\(run)/config.json")))
        as? [String: Any]
      let overrides = config?["overrides"] as? [String] ?? []
      // --epochs N is recorded as training.epochs=N, as mlpc run records it.
      #expect(overrides.first == "data.validation_split=0.25" && overrides.count == 4)
      #expect(overrides.contains("training.epochs=15"))
      #expect(FileManager.default.fileExists(atPath: "\(out)/\(run)/model.safetensors"))
    }
    let json =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: out + "/sweep.json"))) as? [String: Any]
    #expect(json?["sorted_by"] as? String == "validation_accuracy")
    let ranked = try #require(json?["runs"] as? [[String: Any]])
    #expect(ranked.count == 4)
    let accuracies = ranked.compactMap {
      ($0["metrics"] as? [String: Double])?["validation_accuracy"]
    }
    #expect(accuracies.count == 4 && accuracies == accuracies.sorted(by: >), "\(accuracies)")
    let csv = try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8)
    #expect(csv.split(separator: "\n").count == 5)
    #expect(csv.hasPrefix("rank,training.learning_rate,layers[0].units,validation_loss"))
    #expect(result.stdout.contains("sorted by validation_accuracy (highest first)"))
  }

  @Test func aTypoInAGridOrSetKeyIsCaughtBeforeTraining() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let sweep = try CommandRunner.mlpc([
      "sweep", "specs/iris.yaml", "--grid", "training.learnin_rate=0.1,0.01", "--out",
      dir + "/s",
    ])
    #expect(sweep.status == 1)
    #expect(
      sweep.stderr.contains("--grid #1:1:10: error[E003]: unknown key 'training.learnin_rate'"))
    #expect(sweep.stderr.contains("did you mean 'learning_rate'?"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/s"))
    let run = try CommandRunner.mlpc([
      "run", "specs/iris.yaml", "--set", "training.epochs=2", "--set", "trainig.seed=3",
      "--out", dir + "/r",
    ])
    #expect(run.status == 1)
    #expect(run.stderr.contains("--set #2:1:1: error[E003]: unknown key 'trainig'"))
    #expect(run.stderr.contains("1 | trainig.seed=3"))
    #expect(run.stderr.contains("did you mean 'training'?"))
  }

  /// Ctrl-C during a sweep saves the run in progress, skips the rest and still writes the table.
  @Test func anInterruptedSweepWritesItsTable() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandRunner.mlpc)
    process.arguments = [
      "sweep", Repository.path("specs/iris.yaml"), "--grid", "training.seed=1,2,3",
      "--epochs", "1000000", "--out", dir + "/s",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(60)
    let staging = { (try? FileManager.default.contentsOfDirectory(atPath: dir + "/s")) ?? [] }
    while Date() < deadline, !staging().contains(where: { $0.contains(".staging-") }) {
      Thread.sleep(forTimeInterval: 0.01)
    }
    Thread.sleep(forTimeInterval: 0.3)
    kill(process.processIdentifier, SIGINT)
    process.waitUntilExit()
    #expect(process.terminationStatus == 130)
    let csv = try String(contentsOfFile: dir + "/s/sweep.csv", encoding: .utf8)
    let rows = csv.split(separator: "\n").dropFirst()
    #expect(rows.count == 1 && rows.first?.contains("interrupted") == true, "\(csv)")
    #expect(FileManager.default.fileExists(atPath: dir + "/s/01-seed=1/model.safetensors"))
  }

  @Test func checkTakesOverridesToo() throws {
    let good = try CommandRunner.mlpc(["check", "specs/iris.yaml", "--set", "training.epochs=3"])
    #expect(good.status == 0, "\(good.stdout)")
    let bad = try CommandRunner.mlpc([
      "check", "specs/iris.yaml", "--set", "training.epochs=0", "--format", "github",
    ])
    #expect(bad.status == 1)
    #expect(bad.stdout.contains("--set #1"), "\(bad.stdout)")
  }

  @Test func aResumedRunKeepsItsOverrides() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = dir + "/run"
    let first = try CommandRunner.mlpc([
      "run", "specs/iris.yaml", "--set", "layers[0].units=5", "--epochs", "3", "--quiet",
      "--out", out,
    ])
    #expect(first.status == 0, "\(first.stderr)")
    let resumed = try CommandRunner.mlpc(["run", "--resume", out, "--epochs", "6", "--quiet"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try Model.load(out).network.layers.map(\.units) == [5, 3])
    let refused = try CommandRunner.mlpc(["run", "--resume", out, "--set", "training.seed=2"])
    #expect(refused.status == 2)
  }

  /// A grid of more combinations than --max-runs is refused before any is checked.
  @Test func aHugeGridIsRefusedUpFront() throws {
    let values = (1...11).map { "0.0\($0)" }.joined(separator: ",")
    let start = Date()
    let result = try CommandRunner.mlpc([
      "sweep", "specs/xor.yaml", "--grid", "training.learning_rate=\(values)",
      "--grid", "training.momentum=\(values)", "--grid",
      "training.seed=\((1...10).map(String.init).joined(separator: ","))",
      "--out", Repository.temporaryDirectory() + "/never",
    ])
    #expect(result.status == 2 && result.stderr.contains("1210 combinations"), "\(result.stderr)")
    #expect(Date().timeIntervalSince(start) < 10)
  }

  /// A grid value too long for a folder name gives a shortened, still distinct, run folder.
  @Test func longValuesGiveShortFolderNames() throws {
    let dir = Repository.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let long = "0.1" + String(repeating: "0", count: 300)
    let result = try CommandRunner.mlpc([
      "sweep", "specs/xor.yaml", "--grid", "training.learning_rate=\(long)1,\(long)2",
      "--epochs", "1", "--out", dir + "/sweep",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let runs = try FileManager.default.contentsOfDirectory(atPath: dir + "/sweep").filter {
      $0.hasPrefix("0")
    }
    #expect(runs.count == 2 && Set(runs).count == 2 && runs.allSatisfy { $0.utf8.count <= 200 })
  }

  @Test func tenThousandSetFlagsAreRefusedAtOnce() throws {
    let flags = (1...10_000).flatMap { ["--set", "training.epochs=\($0)"] }
    let started = Date()
    let result = try CommandRunner.mlpc(["check", "specs/iris.yaml"] + flags)
    #expect(Date().timeIntervalSince(started) < 10)
    #expect(result.status == 2)
    #expect(result.stderr.contains("at most 2048"), "\(result.stderr)")
  }
}
